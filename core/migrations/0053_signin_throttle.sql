-- Per-client throttling of password sign-in (docs/threat-model.md, finding 14), on top of
-- the per-account lockout of migration 0025: after WELLRATE_API_SIGNIN_CLIENT_MAX_FAILURES
-- failed sign-ins within WELLRATE_API_SIGNIN_CLIENT_WINDOW_S from one client address, that
-- address may not try again for WELLRATE_API_SIGNIN_CLIENT_BLOCK_S. The threshold is below
-- the account's, so one address is throttled before it can lock someone's account.
-- An api_* table: client addresses are personal data, the reporting role never reads it.
CREATE TABLE api_signin_clients (
    client         text PRIMARY KEY,
    failures       integer NOT NULL DEFAULT 0,
    window_start   timestamptz NOT NULL DEFAULT now(),
    blocked_until  timestamptz
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wellrate_api') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON api_signin_clients TO wellrate_api;
    END IF;
END $$;
