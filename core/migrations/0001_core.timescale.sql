-- TimescaleDB: hypertables, member-segmented compression, retention, and the daily
-- continuous aggregates. Each statement runs on its own (continuous aggregates cannot be
-- created inside a transaction). {retention_days} and {compress_after_days} come from
-- Settings. Statements are separated by lines holding only ';'.
-- Also run on a schema first migrated on plain PostgreSQL (extension enabled later): the
-- plain view goes, the tables are converted in place (migrate_data) and the BRIN indexes,
-- redundant once chunks partition by time, are dropped. Every statement tolerates a re-run
-- after a partial failure (if_not_exists).
-- Compression orders by the natural key after time, so ON CONFLICT on a compressed chunk
-- can find the conflicting batch (TimescaleDB warns otherwise). The aggregates are
-- real-time (materialized_only = false): like the plain view, daily_readings includes
-- readings the refresh policy has not materialised yet.
DROP VIEW IF EXISTS daily_readings
;
DROP INDEX IF EXISTS bp_readings_time_brin
;
DROP INDEX IF EXISTS glucose_readings_time_brin
;
DROP INDEX IF EXISTS activity_readings_time_brin
;
SELECT create_hypertable('bp_readings', by_range('measured_at', INTERVAL '7 days'), migrate_data => true, if_not_exists => true)
;
SELECT create_hypertable('glucose_readings', by_range('measured_at', INTERVAL '1 day'), migrate_data => true, if_not_exists => true)
;
SELECT create_hypertable('activity_readings', by_range('start_at', INTERVAL '7 days'), migrate_data => true, if_not_exists => true)
;
CREATE INDEX IF NOT EXISTS bp_readings_member_time_idx ON bp_readings (member_id, measured_at)
;
CREATE INDEX IF NOT EXISTS glucose_readings_member_time_idx ON glucose_readings (member_id, measured_at)
;
CREATE INDEX IF NOT EXISTS activity_readings_member_time_idx ON activity_readings (member_id, start_at)
;
ALTER TABLE bp_readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'member_id', timescaledb.compress_orderby = 'measured_at, device_id')
;
ALTER TABLE glucose_readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'member_id', timescaledb.compress_orderby = 'measured_at, device_id')
;
ALTER TABLE activity_readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'member_id', timescaledb.compress_orderby = 'start_at, device_id, duration_s')
;
SELECT add_compression_policy('bp_readings', INTERVAL '{compress_after_days} days', if_not_exists => true)
;
SELECT add_compression_policy('glucose_readings', INTERVAL '{compress_after_days} days', if_not_exists => true)
;
SELECT add_compression_policy('activity_readings', INTERVAL '{compress_after_days} days', if_not_exists => true)
;
SELECT add_retention_policy('bp_readings', INTERVAL '{retention_days} days', if_not_exists => true)
;
SELECT add_retention_policy('glucose_readings', INTERVAL '{retention_days} days', if_not_exists => true)
;
SELECT add_retention_policy('activity_readings', INTERVAL '{retention_days} days', if_not_exists => true)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS daily_bp WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT member_id, time_bucket(INTERVAL '1 day', measured_at) AS day, count(*) AS n,
           avg(systolic)::double precision AS mean_a, avg(diastolic)::double precision AS mean_b
      FROM bp_readings GROUP BY member_id, time_bucket(INTERVAL '1 day', measured_at)
    WITH NO DATA
;
CREATE MATERIALIZED VIEW IF NOT EXISTS daily_glucose WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT member_id, time_bucket(INTERVAL '1 day', measured_at) AS day, count(*) AS n,
           avg(CASE WHEN unit = 'mg/dL' THEN value ELSE value * 18.01559 END) AS mean_a,
           NULL::double precision AS mean_b
      FROM glucose_readings GROUP BY member_id, time_bucket(INTERVAL '1 day', measured_at)
    WITH NO DATA
;
CREATE MATERIALIZED VIEW IF NOT EXISTS daily_activity WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT member_id, time_bucket(INTERVAL '1 day', start_at) AS day, count(*) AS n,
           sum(steps)::double precision AS mean_a, sum(active_minutes)::double precision AS mean_b
      FROM activity_readings GROUP BY member_id, time_bucket(INTERVAL '1 day', start_at)
    WITH NO DATA
;
SELECT add_continuous_aggregate_policy('daily_bp', start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true)
;
SELECT add_continuous_aggregate_policy('daily_glucose', start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true)
;
SELECT add_continuous_aggregate_policy('daily_activity', start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true)
;
CREATE OR REPLACE VIEW daily_readings AS
    SELECT member_id, 'bp'::text AS kind, day, n, mean_a, mean_b FROM daily_bp
    UNION ALL SELECT member_id, 'glucose', day, n, mean_a, mean_b FROM daily_glucose
    UNION ALL SELECT member_id, 'activity', day, n, mean_a, mean_b FROM daily_activity
