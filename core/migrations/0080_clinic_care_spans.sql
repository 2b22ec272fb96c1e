-- Every clinic-care consent span of one clinic's members in one pass: consent_span()'s
-- rule (migration 0052) for a whole clinic, for the lists that test every patient (the
-- "no data for 7 days" filter, the follow-up list, the alerts worklist). Called once per
-- member, consent_span() cost ~19 us a call, about 100 ms of a 5,000-patient list
-- (bench/dashboard_bench.py); this one grouped scan is a hash join instead. A member
-- without a clinic-care consent has no row: a LEFT JOIN gives NULL, which contains
-- nothing, as the empty multirange does. LANGUAGE sql and one SELECT, so the planner
-- inlines it into the calling query.
CREATE FUNCTION clinic_care_spans(p_clinic text)
RETURNS TABLE (member_id text, span tstzmultirange) LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT c.member_id, range_agg(tstzrange(c.given_at, c.withdrawn_at))
      FROM consents c JOIN members m ON m.member_id = c.member_id
     WHERE m.clinic_id = p_clinic AND c.purpose = 'clinic_care' AND c.product_id = ''
     GROUP BY c.member_id
$$;
