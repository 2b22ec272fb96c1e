-- Least-privilege database roles (docs/deploy.md, "Database roles").
--
-- The role that runs `wellrate db upgrade` owns every object: the migration owner. No
-- application process connects as it, nor as a superuser. The application roles:
--   wellrate_api        the API and the batch commands (score, pricing, model, integrity,
--                       provision-device): reads everything, writes everything except
--                       readings and dead letters (only ingest writes those); the audit
--                       log append-only (0056)
--   wellrate_ingest     the MQTT ingestor: inserts readings and dead letters, reads the
--                       devices and bindings it attributes readings with; nothing else
--   wellrate_reporting  read-only; never the credential tables (api_*)
-- Roles belong to the whole server, not to one database. They are created here, NOLOGIN,
-- only when missing and only if the migrator may (a superuser on a development machine);
-- production creates them beforehand as login roles with passwords
-- (deploy/postgres/roles.sql), and then this migration needs no role privileges at all.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['wellrate_api', 'wellrate_ingest', 'wellrate_reporting'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                -- another database on this server ran this migration at the same moment
                WHEN duplicate_object OR unique_violation THEN NULL;
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'database role % does not exist and % may not create it', r, current_user
                        USING HINT = 'create the roles first: deploy/postgres/roles.sql, as a superuser';
            END;
        END IF;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO wellrate_api, wellrate_ingest, wellrate_reporting;

-- API and batch commands: every table, minus the writes that belong to ingest and to the
-- migrations. Tables of later migrations get the same by default (they are created by
-- this same migration owner); reporting and ingest get nothing by default.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO wellrate_api;
REVOKE INSERT, UPDATE, DELETE ON bp_readings, glucose_readings, activity_readings, dead_letters,
    schema_migrations FROM wellrate_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO wellrate_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO wellrate_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO wellrate_api;

-- Ingest: exactly what ingest/repository.py does (COPY into its own TEMP tables, then
-- INSERT ... SELECT joined to devices and device_bindings, ON CONFLICT DO NOTHING).
GRANT SELECT ON devices, device_bindings TO wellrate_ingest;
GRANT INSERT ON bp_readings, glucose_readings, activity_readings, dead_letters TO wellrate_ingest;
GRANT USAGE ON SEQUENCE dead_letters_id_seq TO wellrate_ingest;

-- Reporting: read every table and view except the credential tables. A later migration
-- that adds a table grants it here explicitly (there is no default for this role).
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN
        SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')
           AND c.relname NOT LIKE 'api\_%'
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO wellrate_reporting', t);
    END LOOP;
END $$;
