#!/bin/sh
# First start on an empty data volume only: the owner role (migrations), the application role and the database,
# as docs/audit.md sets them up. Passwords come from the secret files made by deploy/make-secrets.
set -e
secrets="${SECRETS_DIR:-/run/secrets}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
     -v owner_password="$(cat "$secrets/db_owner_password")" \
     -v app_password="$(cat "$secrets/db_app_password")" <<'SQL'
CREATE ROLE creditflow_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE creditflow_app LOGIN PASSWORD :'app_password';
CREATE DATABASE creditflow OWNER creditflow_owner;
REVOKE ALL ON DATABASE creditflow FROM PUBLIC;
SQL
