-- Ingest attributes every reading by the binding whose interval contains its measurement
-- time (ingest/repository.py joins device_bindings on device_id and valid_from); this
-- B-tree serves that join and the unknown/unbound check even when the planner prefers a
-- nested loop over the exclusion constraint's GiST index.
CREATE INDEX IF NOT EXISTS device_bindings_device_from_idx
    ON device_bindings (device_id, valid_from);

-- Operators triage dead letters by device and reason.
CREATE INDEX IF NOT EXISTS dead_letters_device_idx ON dead_letters (device_id, received_at);
