-- Two roles for handoff on PostgreSQL: docs/DEPLOY.md explains them.
--
--   handoff_admin  owns handoff's schema: runs `handoff migrate` at install and
--                  at each upgrade, and `handoff import` if you load CSV files.
--   handoff        the daemon's role: reads the lead tables, reads and writes
--                  handoff's own (handoff_*), and nothing else.
--
-- Run once, as a superuser, in the database handoff uses (create it first:
-- `createdb crm`):
--
--   psql -d crm -v admin_password=… -v password=… -f postgres-roles.sql
--
-- then `handoff migrate` as handoff_admin, then postgres-grants.sql as
-- handoff_admin. Re-running this file fails on the existing roles; nothing
-- else needs it twice.

CREATE ROLE handoff_admin LOGIN PASSWORD :'admin_password';
CREATE ROLE handoff LOGIN PASSWORD :'password';

-- handoff_admin creates tables in the public schema (PostgreSQL 15 and later
-- no longer let every role do that).
GRANT CREATE, USAGE ON SCHEMA public TO handoff_admin;
GRANT USAGE ON SCHEMA public TO handoff;

-- Both connect; nobody else needs to.
SELECT format('GRANT CONNECT ON DATABASE %I TO handoff_admin, handoff', current_database()) \gexec
