-- `wellrate db maintain` runs each TimescaleDB policy job of Wellrate's tables in the
-- foreground (CALL run_job) and records the outcome here, one row per job: run_job leaves
-- TimescaleDB's own job statistics untouched, and the readiness report
-- (core/timescale.py, failing_jobs) shows a job the scheduler fails on next to when it
-- was last run this way. Empty on plain PostgreSQL (no policy jobs there).
CREATE TABLE IF NOT EXISTS db_maintenance (
    job_id          integer PRIMARY KEY,
    proc_name       text NOT NULL,
    target          text NOT NULL,                 -- hypertable or continuous aggregate
    last_started_at timestamptz NOT NULL,
    last_ok         boolean NOT NULL,
    last_error      text,
    last_success_at timestamptz,
    last_duration_s double precision NOT NULL
);
