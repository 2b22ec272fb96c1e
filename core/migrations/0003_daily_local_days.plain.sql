-- Same name, columns and types as before (CREATE OR REPLACE keeps dependants valid). `day`
-- is the local midnight as timestamptz, whatever the session's TimeZone.
CREATE OR REPLACE VIEW daily_readings AS
    SELECT member_id, 'bp'::text AS kind, date_trunc('day', measured_at, '{timezone}') AS day,
           count(*) AS n, avg(systolic)::double precision AS mean_a,
           avg(diastolic)::double precision AS mean_b
      FROM bp_readings GROUP BY member_id, date_trunc('day', measured_at, '{timezone}')
    UNION ALL
    SELECT member_id, 'glucose', date_trunc('day', measured_at, '{timezone}'), count(*),
           avg(CASE WHEN unit = 'mg/dL' THEN value ELSE value * 18.01559 END), NULL
      FROM glucose_readings GROUP BY member_id, date_trunc('day', measured_at, '{timezone}')
    UNION ALL
    SELECT member_id, 'activity', date_trunc('day', start_at, '{timezone}'), count(*),
           sum(steps)::double precision, sum(active_minutes)::double precision
      FROM activity_readings GROUP BY member_id, date_trunc('day', start_at, '{timezone}');
COMMENT ON VIEW daily_readings IS 'day: calendar day in {timezone}';
