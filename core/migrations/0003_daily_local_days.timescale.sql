-- The continuous aggregates again, bucketed by calendar day in {timezone}
-- (time_bucket with a time zone: the same days as date_trunc on the plain path). Created
-- empty; `wellrate db upgrade` refreshes them over their whole history right after this
-- script, outside any transaction, and then adds the refresh policies with a window that
-- reaches back as far as ingest accepts late readings (core/timescale.py). Dropping an
-- aggregate drops its old 30-day policy with it. Each statement runs on its own and
-- tolerates a re-run.
DROP VIEW IF EXISTS daily_readings
;
DROP MATERIALIZED VIEW IF EXISTS daily_bp
;
DROP MATERIALIZED VIEW IF EXISTS daily_glucose
;
DROP MATERIALIZED VIEW IF EXISTS daily_activity
;
CREATE MATERIALIZED VIEW daily_bp WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT member_id, time_bucket(INTERVAL '1 day', measured_at, '{timezone}') AS day, count(*) AS n,
           avg(systolic)::double precision AS mean_a, avg(diastolic)::double precision AS mean_b
      FROM bp_readings GROUP BY member_id, time_bucket(INTERVAL '1 day', measured_at, '{timezone}')
    WITH NO DATA
;
CREATE MATERIALIZED VIEW daily_glucose WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT member_id, time_bucket(INTERVAL '1 day', measured_at, '{timezone}') AS day, count(*) AS n,
           avg(CASE WHEN unit = 'mg/dL' THEN value ELSE value * 18.01559 END) AS mean_a,
           NULL::double precision AS mean_b
      FROM glucose_readings GROUP BY member_id, time_bucket(INTERVAL '1 day', measured_at, '{timezone}')
    WITH NO DATA
;
CREATE MATERIALIZED VIEW daily_activity WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT member_id, time_bucket(INTERVAL '1 day', start_at, '{timezone}') AS day, count(*) AS n,
           sum(steps)::double precision AS mean_a, sum(active_minutes)::double precision AS mean_b
      FROM activity_readings GROUP BY member_id, time_bucket(INTERVAL '1 day', start_at, '{timezone}')
    WITH NO DATA
;
CREATE OR REPLACE VIEW daily_readings AS
    SELECT member_id, 'bp'::text AS kind, day, n, mean_a, mean_b FROM daily_bp
    UNION ALL SELECT member_id, 'glucose', day, n, mean_a, mean_b FROM daily_glucose
    UNION ALL SELECT member_id, 'activity', day, n, mean_a, mean_b FROM daily_activity
;
COMMENT ON VIEW daily_readings IS 'day: calendar day in {timezone}'
