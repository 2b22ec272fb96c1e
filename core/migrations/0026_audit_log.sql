-- Access to personal data, owned by `api.audit`. One row per access, written in the same
-- transaction as the access (or, for a refused access, right after its rollback), so the
-- log never claims an access that did not happen nor misses one that did. Tokens are
-- never stored here.
CREATE TABLE audit_log (
    audit_id      bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    principal_id  bigint,                              -- NULL: unauthenticated attempt
    role          text,
    tenant_id     text,
    action        text NOT NULL,                       -- e.g. 'clinic.patient.read'
    member_id     text,                                -- whose data; NULL for bulk actions
    outcome       text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'not_found', 'failed')),
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_member_idx ON audit_log (member_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
