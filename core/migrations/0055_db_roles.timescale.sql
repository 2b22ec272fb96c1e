-- The daily aggregates are (re)created by 0001's TimescaleDB part, which on a database
-- first migrated on plain PostgreSQL runs after 0055's grants: give reporting its read
-- again (the API has it through the migration owner's default privileges).
GRANT SELECT ON daily_bp, daily_glucose, daily_activity, daily_readings TO wellrate_reporting
;
