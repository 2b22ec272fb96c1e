-- Model registry, owned by `scoring.models`. A model is immutable: its version is derived
-- from the sha256 of its artifact, which is stored here (a few hundred kB at most) so every
-- replica loads the same bytes and a quote's model_version names exactly one artifact.
CREATE TABLE models (
    model_version   text PRIMARY KEY,               -- '<kind>-<sha256[:12]>'
    kind            text NOT NULL CHECK (kind IN ('risk')),
    sha256          text NOT NULL UNIQUE,
    artifact        bytea NOT NULL,
    trained_on_year integer NOT NULL,               -- features from this year, outcomes the next
    manifest        jsonb NOT NULL,                 -- features, coefficients, training counts
    metrics         jsonb NOT NULL DEFAULT '{}',    -- AUC, Brier, calibration, by band
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_current_idx ON models (kind, created_at DESC);
