-- Wellrate's database roles, created once by a superuser (or the managed service's admin
-- user) before the first `wellrate db upgrade`. Compose runs it on the database's first
-- start (deploy/postgres/initdb.sh); elsewhere:
--   psql "postgresql://<admin>@<host>/wellrate" -v ON_ERROR_STOP=1 -v db=wellrate \
--     -v owner_password="$DB_OWNER_PASSWORD" -v api_password="$DB_API_PASSWORD" \
--     -v ingest_password="$DB_INGEST_PASSWORD" -v reporting_password="$DB_REPORTING_PASSWORD" \
--     -f deploy/postgres/roles.sql
-- wellrate_owner runs the migrations and owns every object; no application process logs
-- in as it. The application logs in as the other three, whose privileges migration 0055
-- grants (docs/deploy.md, "Database roles"). None is a superuser, none may create roles or
-- databases, and none but the owner may create objects.
CREATE ROLE wellrate_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE wellrate_api LOGIN PASSWORD :'api_password';
CREATE ROLE wellrate_ingest LOGIN PASSWORD :'ingest_password';
CREATE ROLE wellrate_reporting LOGIN PASSWORD :'reporting_password';

ALTER DATABASE :"db" OWNER TO wellrate_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
-- TEMPORARY: ingest stages each batch, and pricing its ledger, in TEMP tables.
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO wellrate_api, wellrate_ingest;
GRANT CONNECT ON DATABASE :"db" TO wellrate_reporting;

\connect :"db"
-- PostgreSQL 15 and later already give the public schema to the database owner and deny
-- CREATE in it to everyone else; on older servers these two lines do it.
ALTER SCHEMA public OWNER TO wellrate_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
