-- Scoring runs split across worker processes through the database (no cluster scheduler
-- of our own). A run is one window and algorithm version; its chunks are claimed with
-- FOR UPDATE SKIP LOCKED, and a chunk's scores and its done mark commit together.
CREATE TABLE score_runs (
    run_id            text PRIMARY KEY,
    window_start      date NOT NULL,
    window_end        date NOT NULL,
    algorithm_version text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CHECK (window_end > window_start)
);

CREATE TABLE score_run_chunks (
    run_id     text NOT NULL REFERENCES score_runs (run_id) ON DELETE CASCADE,
    chunk_no   integer NOT NULL,
    member_ids text[] NOT NULL,
    done_at    timestamptz,
    worker     text,
    stats      jsonb,
    PRIMARY KEY (run_id, chunk_no)
);
CREATE INDEX score_run_chunks_todo_idx ON score_run_chunks (run_id, chunk_no)
    WHERE done_at IS NULL;
