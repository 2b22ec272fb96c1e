-- Pricing (owned by api.pricing): enrollments, rulebooks, quotes, the smoothing-fund ledger,
-- batch jobs. Money is integer fen (1 yuan = 100 fen) so a premium is exact to the cent.

CREATE TABLE enrollments (
    member_id        text NOT NULL REFERENCES members (member_id),
    product_id       text NOT NULL,
    plan_year        integer NOT NULL CHECK (plan_year BETWEEN 2000 AND 2100),
    enrolled_on      date NOT NULL,
    premium_paid_fen bigint CHECK (premium_paid_fen IS NULL OR premium_paid_fen >= 0),
    received_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, product_id, plan_year)
);
CREATE INDEX enrollments_book_idx ON enrollments (product_id, plan_year, member_id);

-- One rulebook per product and plan year. Once a quote was issued under it (locked_at set),
-- its content can no longer change: the trigger below refuses it, whoever writes.
CREATE TABLE rulebooks (
    product_id  text NOT NULL,
    plan_year   integer NOT NULL,
    version     text NOT NULL,
    sha256      text NOT NULL,
    content     text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    locked_at   timestamptz,
    PRIMARY KEY (product_id, plan_year)
);

CREATE FUNCTION rulebooks_refuse_locked_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.locked_at IS NOT NULL AND (
        NEW.sha256 IS DISTINCT FROM OLD.sha256 OR NEW.content IS DISTINCT FROM OLD.content
        OR NEW.version IS DISTINCT FROM OLD.version OR NEW.locked_at IS NULL
    ) THEN
        RAISE EXCEPTION 'rulebook % % is locked: quotes were issued under it',
            OLD.product_id, OLD.plan_year USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER rulebooks_locked_update BEFORE UPDATE ON rulebooks
    FOR EACH ROW EXECUTE FUNCTION rulebooks_refuse_locked_change();

CREATE FUNCTION rulebooks_refuse_locked_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.locked_at IS NOT NULL THEN
        RAISE EXCEPTION 'rulebook % % is locked: quotes were issued under it',
            OLD.product_id, OLD.plan_year USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER rulebooks_locked_delete BEFORE DELETE ON rulebooks
    FOR EACH ROW EXECUTE FUNCTION rulebooks_refuse_locked_delete();

-- Batch jobs: the book is split into chunks that workers claim with FOR UPDATE SKIP LOCKED.
CREATE TABLE batch_jobs (
    job_id       text PRIMARY KEY,
    product_id   text NOT NULL,
    plan_year    integer NOT NULL,
    status       text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    total        integer NOT NULL DEFAULT 0,
    done         integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);

CREATE TABLE batch_chunks (
    job_id      text NOT NULL REFERENCES batch_jobs (job_id) ON DELETE CASCADE,
    chunk_no    integer NOT NULL,
    member_ids  text[] NOT NULL,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    finished_at timestamptz,
    PRIMARY KEY (job_id, chunk_no)
);
CREATE INDEX batch_chunks_pending_idx ON batch_chunks (job_id, chunk_no) WHERE status = 'pending';

-- Every quote with every input it was computed from (score rows and their algorithm
-- versions, enrollment history, claims, last premium, rulebook hash), so it can be
-- recomputed to the cent. model_version is for a later risk model.
CREATE TABLE quotes (
    quote_id          text PRIMARY KEY,
    member_id         text NOT NULL REFERENCES members (member_id),
    product_id        text NOT NULL,
    plan_year         integer NOT NULL,
    rulebook_version  text NOT NULL,
    rulebook_sha256   text NOT NULL,
    model_version     text,
    job_id            text REFERENCES batch_jobs (job_id) ON DELETE SET NULL,
    base_fen          bigint NOT NULL,
    unsmoothed_fen    bigint NOT NULL,
    premium_fen       bigint NOT NULL,
    discount_fen      bigint NOT NULL,
    components        jsonb NOT NULL,
    smoothing         jsonb NOT NULL,
    inputs            jsonb NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quotes_member_idx ON quotes (member_id, product_id, plan_year, created_at);
CREATE INDEX quotes_job_idx ON quotes (job_id, member_id) WHERE job_id IS NOT NULL;

-- Smoothing fund, one pool per product. amount_fen > 0: the member paid more than the
-- unsmoothed premium (credit to the fund); < 0: the fund paid the difference (debit).
-- One current entry per member and plan year: a re-quote supersedes the earlier entry.
CREATE TABLE smoothing_ledger (
    product_id  text NOT NULL,
    plan_year   integer NOT NULL,
    member_id   text NOT NULL REFERENCES members (member_id),
    quote_id    text NOT NULL REFERENCES quotes (quote_id),
    amount_fen  bigint NOT NULL,
    booked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, plan_year, member_id)
);

-- Members a batch could not quote, with the reason (the quotes themselves are its results).
CREATE TABLE batch_failures (
    job_id     text NOT NULL REFERENCES batch_jobs (job_id) ON DELETE CASCADE,
    member_id  text NOT NULL,
    reason     text NOT NULL,
    PRIMARY KEY (job_id, member_id)
);
