-- What the daemon's role (handoff) may do, once `handoff migrate` has made the
-- tables: docs/DEPLOY.md explains it. Run as handoff_admin, after the first
-- migrate and after every upgrade (a release may add a handoff_ table); running
-- it again changes nothing.
--
--   psql -d crm -U handoff_admin -f postgres-grants.sql

-- The lead data: read only. If the lead tables are views over CRM sync tables
-- (README, "Pointing handoff at an existing CRM database"), grant SELECT on the
-- views and let their owner read the tables beneath.
GRANT SELECT ON reps, leads, touches, deals TO handoff;

-- Which migrations the schema has: the daemon checks it is up to date on start
-- and never migrates itself with this role.
GRANT SELECT ON _sqlx_migrations TO handoff;

-- handoff's own record: results history, closed periods, alert state and
-- transitions, the notification log, the outbox, the SLA's change log, the
-- lead notice log, silences and acknowledgements, and the facts of
-- handoff_meta.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    handoff_meta,
    handoff_results,
    handoff_periods,
    handoff_alerts,
    handoff_alert_events,
    handoff_notifications,
    handoff_outbox,
    handoff_rule_sets,
    handoff_lead_notices,
    handoff_silences,
    handoff_acks,
    handoff_lease
TO handoff;
