-- Plain PostgreSQL: member-time indexes for per-member scans, BRIN on time for range scans
-- (readings arrive roughly in time order, so BRIN stays small and useful).
CREATE INDEX bp_readings_member_time_idx ON bp_readings (member_id, measured_at);
CREATE INDEX glucose_readings_member_time_idx ON glucose_readings (member_id, measured_at);
CREATE INDEX activity_readings_member_time_idx ON activity_readings (member_id, start_at);
CREATE INDEX bp_readings_time_brin ON bp_readings USING brin (measured_at);
CREATE INDEX glucose_readings_time_brin ON glucose_readings USING brin (measured_at);
CREATE INDEX activity_readings_time_brin ON activity_readings USING brin (start_at);

-- The daily per-member, per-kind summary. A continuous aggregate under TimescaleDB;
-- here an ordinary view with the same name and columns, so every query works on both.
CREATE VIEW daily_readings AS
    SELECT member_id, 'bp'::text AS kind, date_trunc('day', measured_at) AS day,
           count(*) AS n, avg(systolic)::double precision AS mean_a,
           avg(diastolic)::double precision AS mean_b
      FROM bp_readings GROUP BY member_id, date_trunc('day', measured_at)
    UNION ALL
    SELECT member_id, 'glucose', date_trunc('day', measured_at), count(*),
           avg(CASE WHEN unit = 'mg/dL' THEN value ELSE value * 18.01559 END), NULL
      FROM glucose_readings GROUP BY member_id, date_trunc('day', measured_at)
    UNION ALL
    SELECT member_id, 'activity', date_trunc('day', start_at), count(*),
           sum(steps)::double precision, sum(active_minutes)::double precision
      FROM activity_readings GROUP BY member_id, date_trunc('day', start_at);
