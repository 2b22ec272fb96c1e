-- API principals and sign-in sessions, owned by `api.auth`.
-- A principal is who calls the API: an insurer, a clinic, a member or an admin. Its tenant
-- is the insurer id, the clinic_id or the member_id (NULL for admins). Bearer tokens are
-- "wr_<token_id>_<secret>": token_id finds the row, sha256(secret) is compared in constant
-- time, so neither the secret nor its hash is ever a lookup key.
CREATE TABLE api_principals (
    principal_id    bigserial PRIMARY KEY,
    role            text NOT NULL CHECK (role IN ('insurer', 'clinic', 'member', 'admin')),
    tenant_id       text,
    name            text NOT NULL UNIQUE,            -- the sign-in name
    token_id        text NOT NULL UNIQUE,
    token_hash      bytea NOT NULL,                  -- sha256(secret)
    password_hash   text,                            -- scrypt$n$r$p$salt$hash, clinic dashboard
    failed_signins  integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    CHECK ((role = 'admin') = (tenant_id IS NULL))
);

-- Short-lived session tokens issued by password sign-in ("ws_<session_id>_<secret>").
CREATE TABLE api_sessions (
    session_id    text PRIMARY KEY,
    principal_id  bigint NOT NULL REFERENCES api_principals (principal_id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX api_sessions_expiry_idx ON api_sessions (expires_at);
