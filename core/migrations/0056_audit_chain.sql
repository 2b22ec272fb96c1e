-- The audit log is append-only for every application role, and a hash chain makes any
-- change by its owner (or a superuser) detectable: `wellrate audit verify`
-- (api/audit/verify.py; docs/threat-model.md).
--
-- Append-only, twice over: the application roles hold no UPDATE, DELETE or TRUNCATE on
-- audit_log or audit_chain, and a trigger refuses UPDATE and DELETE from anyone, owner
-- included. The owner can still disable that trigger or truncate; the chain is what
-- catches it.
--
-- The chains: one audit_chain row (a link) per audit_log row, in the order the rows
-- committed, on one of 16 chains (why several: below).
--   content_hash = sha256 of the audit row's columns (audit_content_hash, below)
--   prev_hash    = the previous link's row_hash on the same chain (32 zero bytes first)
--   row_hash     = sha256(prev_hash || content_hash)
-- Changing a row breaks its content_hash; deleting one leaves its link pointing at
-- nothing; deleting or forging a link breaks the next prev_hash or the seq numbering; a
-- row inserted with the trigger disabled has no link. An owner who rewrites a chain after
-- a change, or cuts links off a chain's end, is caught by comparing the heads recorded
-- earlier (`wellrate audit verify` prints them as `anchor`; `--anchor` checks them).
--
-- Serialisation: a link needs the previous one, so the links of one chain are made one at
-- a time, under a transaction-level advisory lock held until the transaction commits. The
-- trigger is a DEFERRED constraint trigger, so it runs at COMMIT: the lock covers the
-- commit itself (its WAL flush), not the rest of a request that wrote an audit row early.
-- Even so, one chain made every audited commit wait for the previous one's flush: 10
-- concurrent writers went from ~1,200 to ~350 commits/s on the development machine. So a
-- transaction picks a chain by its transaction id (all its rows on that one chain: one
-- lock, no deadlock) and 16 chains let 16 commits flush together (bench/api_bench.py
-- measures the quote path; docs/threat-model.md). Links are made in READ COMMITTED (the
-- default): each statement sees the link the previous holder of the lock committed.
CREATE TABLE audit_chain (
    chain         smallint NOT NULL CHECK (chain BETWEEN 0 AND 15),
    seq           bigint NOT NULL,              -- 1, 2, 3, ... per chain, without gaps
    audit_id      bigint NOT NULL UNIQUE,       -- no foreign key: a deleted audit row must
                                                -- show as a broken link, not be cascaded
    prev_hash     bytea NOT NULL,
    content_hash  bytea NOT NULL,
    row_hash      bytea NOT NULL,
    PRIMARY KEY (chain, seq)
);

-- The columns a link covers, as one canonical text: a JSON array (jsonb renders every
-- value one way; `at` in UTC whatever the session's TimeZone). A column added to
-- audit_log later is not covered until this function and the verifier learn it.
CREATE FUNCTION audit_content_hash(a audit_log) RETURNS bytea
LANGUAGE sql STABLE SET TimeZone = 'UTC' AS $$
    SELECT sha256(convert_to(jsonb_build_array(
        a.audit_id, a.at, a.principal_id, a.role, a.tenant_id, a.action, a.member_id,
        a.outcome, a.detail)::text, 'UTF8'))
$$;

CREATE FUNCTION audit_chain_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    k         smallint := (pg_current_xact_id()::text::bigint % 16)::smallint;
    last_seq  bigint;
    last_hash bytea;
    content   bytea := audit_content_hash(NEW);
BEGIN
    -- (class, chain): the class is the first 4 bytes of sha256('wellrate audit chain')
    PERFORM pg_advisory_xact_lock(2140358828, k);
    SELECT seq, row_hash INTO last_seq, last_hash
      FROM audit_chain WHERE chain = k ORDER BY seq DESC LIMIT 1;
    last_hash := coalesce(last_hash, decode(repeat('00', 32), 'hex'));
    INSERT INTO audit_chain (chain, seq, audit_id, prev_hash, content_hash, row_hash)
    VALUES (k, coalesce(last_seq, 0) + 1, NEW.audit_id, last_hash, content,
            sha256(last_hash || content));
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION audit_chain_append() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_append();

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or deleted (migration 0056)';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

REVOKE ALL ON audit_log, audit_chain FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_chain
    FROM wellrate_api, wellrate_ingest, wellrate_reporting;
REVOKE ALL ON audit_chain FROM wellrate_api;  -- 0055's default privileges gave it DML
GRANT SELECT, INSERT ON audit_log TO wellrate_api;
GRANT SELECT ON audit_chain TO wellrate_api, wellrate_reporting;
GRANT SELECT ON audit_log TO wellrate_reporting;
