-- What the daemon's user (handoff) may do, once `handoff migrate` has made the
-- tables: docs/DEPLOY.md explains it. Run as root in handoff's database after
-- the first migrate and after every upgrade (a release may add a handoff_
-- table); running it again changes nothing.
--
--   mariadb crm < mariadb-grants.sql

SET @db = CONCAT('`', REPLACE(DATABASE(), '`', '``'), '`');

-- The lead data: read only.
SET @sql = CONCAT('GRANT SELECT ON ', @db, '.reps TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT ON ', @db, '.leads TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT ON ', @db, '.touches TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT ON ', @db, '.deals TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

-- Which migrations the schema has: the daemon checks it is up to date on start.
SET @sql = CONCAT('GRANT SELECT ON ', @db, '._sqlx_migrations TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

-- handoff's own record.
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_meta TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_results TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_periods TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_alerts TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_alert_events TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_notifications TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_outbox TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_rule_sets TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_lead_notices TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_silences TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_acks TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('GRANT SELECT, INSERT, UPDATE, DELETE ON ', @db, '.handoff_lease TO ''handoff''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
