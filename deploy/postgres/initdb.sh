#!/bin/sh
# Runs once, on the first start of an empty data volume (the image's
# /docker-entrypoint-initdb.d hook), after the image created the database and TimescaleDB:
# creates Wellrate's roles (roles.sql) with the passwords compose passes in.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v owner_password="$DB_OWNER_PASSWORD" \
    -v api_password="$DB_API_PASSWORD" \
    -v ingest_password="$DB_INGEST_PASSWORD" \
    -v reporting_password="$DB_REPORTING_PASSWORD" \
    -f /wellrate/roles.sql
