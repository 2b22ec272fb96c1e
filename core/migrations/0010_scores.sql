-- Scores and alerts, owned by `scoring`. Consumed by `api` (pricing, clinic views).
-- A score row is the result of one algorithm version over one window for one member;
-- recomputing the same window and version replaces the row (idempotent).
CREATE TABLE scores (
    member_id          text NOT NULL REFERENCES members (member_id),
    window_start       date NOT NULL,                 -- inclusive, member-local calendar day
    window_end         date NOT NULL,                 -- exclusive
    algorithm_version  text NOT NULL,
    computed_at        timestamptz NOT NULL DEFAULT now(),
    composite          double precision,              -- 0..100; NULL when insufficient data
    improvement        double precision,              -- composite minus baseline composite
    components         jsonb NOT NULL,                -- see docs/scoring.md, "Stored contract"
    indicators         jsonb NOT NULL,
    CHECK (window_end > window_start),
    CHECK (composite IS NULL OR (composite >= 0 AND composite <= 100)),
    PRIMARY KEY (member_id, window_start, window_end, algorithm_version)
);
CREATE INDEX scores_window_idx ON scores (window_end, algorithm_version);

-- Alerts a clinic acts on: grade-3 BP readings, level-2 hypoglycaemia, prolonged silence.
CREATE TABLE alerts (
    alert_id         bigserial PRIMARY KEY,
    member_id        text NOT NULL REFERENCES members (member_id),
    kind             text NOT NULL,                   -- e.g. 'bp_grade3', 'hypo_level2'
    severity         text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    observed_at      timestamptz NOT NULL,            -- the reading that raised it
    detail           jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    UNIQUE (member_id, kind, observed_at)             -- rescoring never duplicates an alert
);
CREATE INDEX alerts_open_idx ON alerts (member_id) WHERE acknowledged_at IS NULL;
