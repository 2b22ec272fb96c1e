-- API tokens that expire and can be rotated and revoked (docs/threat-model.md, finding 6).
-- A principal may hold several `wr_` tokens (a rotation issues the new one and revokes the
-- old); each has its own expiry (WELLRATE_API_TOKEN_TTL_S when issued). Revoked tokens
-- stay as history (revoked_at). Sessions (`ws_`, api_sessions) already expire; signing out
-- or revoking one deletes its row.
CREATE TABLE api_tokens (
    token_id      text PRIMARY KEY,
    principal_id  bigint NOT NULL REFERENCES api_principals (principal_id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL,                    -- sha256(secret)
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_principal_idx ON api_tokens (principal_id);
CREATE INDEX api_sessions_principal_idx ON api_sessions (principal_id);

-- The one token each principal had until now: it keeps working for 90 days from this
-- upgrade (it never expired before), then its owner or an admin rotates it.
INSERT INTO api_tokens (token_id, principal_id, token_hash, created_at, expires_at)
SELECT token_id, principal_id, token_hash, created_at, now() + interval '90 days'
  FROM api_principals;
ALTER TABLE api_principals DROP COLUMN token_id, DROP COLUMN token_hash;

-- Credentials: the API role only (the reporting role never reads api_* tables, 0055).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wellrate_api') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON api_tokens TO wellrate_api;
    END IF;
END $$;
