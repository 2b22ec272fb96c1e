-- Data-integrity flags, owned by `scoring.integrity`. A flag HOLDS its period for review;
-- it never changes a score or a discount by itself. Pricing leaves out the score windows
-- overlapping an UPHELD flag and marks quotes whose experience year has an OPEN one.
CREATE TABLE integrity_flags (
    flag_id       bigserial PRIMARY KEY,
    member_id     text NOT NULL REFERENCES members (member_id),
    kind          text NOT NULL,            -- e.g. 'machine_regular_steps'
    source        text NOT NULL CHECK (source IN ('rule', 'model')),
    period_start  date NOT NULL,
    period_end    date NOT NULL,            -- exclusive
    evidence      jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    reviewed_by   text,
    reviewed_at   timestamptz,
    review_note   text,
    CHECK (period_end > period_start),
    CHECK ((status = 'open') = (reviewed_at IS NULL)),
    UNIQUE (member_id, kind, period_start)   -- rescanning never duplicates a flag
);
CREATE INDEX integrity_flags_member_idx ON integrity_flags (member_id, period_start);
