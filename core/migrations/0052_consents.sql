-- PIPL consent as records (docs/threat-model.md, finding 8; docs/api.md, "Consent").
-- One row per consent given: the member, the purpose, the product (insurer pricing is
-- consented per product; '' for the other purposes), the version of the notice the member
-- was shown, when it was given and, once withdrawn, when. Consents for the same member,
-- purpose and product never overlap; giving again after a withdrawal adds a row.
--
-- The rule every read path applies: a reading taken at t may be served or used for a
-- purpose only if t lies in a consent period for it, [given_at, withdrawn_at). Data taken
-- after a withdrawal (and before a consent) is never served or used; a withdrawal is not
-- retroactive for what was taken while consent was in force.
--   clinic_care       the clinic's views and exports (API, CSV, FHIR), scoring and alerts
--   insurer_pricing   quotes for that product (score windows inside a period; clinic-taken
--                     readings), the insurer's view of a score, enrolment, the risk model
--   research          nothing reads it yet; recorded so a future use has its consent
CREATE TABLE consents (
    consent_id      bigserial PRIMARY KEY,
    member_id       text NOT NULL REFERENCES members (member_id),
    purpose         text NOT NULL CHECK (purpose IN ('clinic_care', 'insurer_pricing', 'research')),
    product_id      text NOT NULL DEFAULT '',
    notice_version  text NOT NULL,
    given_at        timestamptz NOT NULL DEFAULT now(),
    withdrawn_at    timestamptz,
    recorded_by     bigint,                 -- api_principals.principal_id; NULL: migrated
    CHECK ((purpose = 'insurer_pricing') = (product_id <> '')),
    CHECK (withdrawn_at IS NULL OR withdrawn_at >= given_at),
    EXCLUDE USING gist (
        member_id WITH =, purpose WITH =, product_id WITH =,
        tstzrange(given_at, withdrawn_at) WITH &&
    )
);
CREATE INDEX consents_member_idx ON consents (member_id, purpose, product_id);

-- The one predicate every read path calls, in SQL (scoring cannot import the API): the
-- periods in which a member's data may be used for a purpose (and product), as one
-- multirange: `measured_at <@ consent_span(m, 'clinic_care')`. An empty multirange when
-- there is no consent. A NULL product with 'insurer_pricing' means any product.
-- Call it once per member (a LATERAL or a scalar subquery), not once per reading.
CREATE FUNCTION consent_span(p_member text, p_purpose text, p_product text DEFAULT '')
RETURNS tstzmultirange LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(range_agg(tstzrange(given_at, withdrawn_at)), '{}'::tstzmultirange)
      FROM consents
     WHERE member_id = p_member AND purpose = p_purpose
       AND product_id = coalesce(p_product, product_id)
$$;

-- The old column's meaning, as records: until now every member counted as consenting to
-- clinic care, and to pricing for each product they are enrolled in, from when they were
-- registered (or first had a device bound, if earlier), up to consent_withdrawn_at.
WITH since AS (
    SELECT m.member_id, m.consent_withdrawn_at AS withdrawn,
           least(m.created_at, m.consent_withdrawn_at,
                 (SELECT min(b.valid_from) FROM device_bindings b
                   WHERE b.member_id = m.member_id)) AS given
      FROM members m
)
INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at, withdrawn_at)
SELECT member_id, 'clinic_care', '', 'before-consent-records', given, withdrawn FROM since
UNION ALL
SELECT s.member_id, 'insurer_pricing', e.product_id, 'before-consent-records', s.given, s.withdrawn
  FROM since s JOIN (SELECT DISTINCT member_id, product_id FROM enrollments) e USING (member_id);

ALTER TABLE members DROP COLUMN consent_withdrawn_at;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wellrate_reporting') THEN
        GRANT SELECT ON consents TO wellrate_reporting;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wellrate_api') THEN
        GRANT SELECT, INSERT, UPDATE ON consents TO wellrate_api;
        GRANT USAGE, SELECT ON SEQUENCE consents_consent_id_seq TO wellrate_api;
    END IF;
END $$;
