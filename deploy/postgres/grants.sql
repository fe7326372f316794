-- The application role may read every table and append to the audit trail, never rewrite it (docs/audit.md).
-- Run as creditflow_owner after every migration: new tables need grants, and it is idempotent.
GRANT CONNECT ON DATABASE creditflow TO creditflow_app;
GRANT USAGE ON SCHEMA public TO creditflow_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO creditflow_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO creditflow_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_checkpoint, audit_verification FROM creditflow_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM creditflow_app;
