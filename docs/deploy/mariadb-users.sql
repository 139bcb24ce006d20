-- Two users for handoff on MariaDB or MySQL: docs/DEPLOY.md explains them.
--
--   handoff_admin  owns handoff's schema: runs `handoff migrate` at install and
--                  at each upgrade, and `handoff import` if you load CSV files.
--   handoff        the daemon's user: reads the lead tables, reads and writes
--                  handoff's own (handoff_*), and nothing else.
--
-- Run once, as root, in the database handoff uses (create it first:
-- `CREATE DATABASE crm`), with the two passwords set first:
--
--   { echo "SET @admin_password='…', @password='…';"; cat mariadb-users.sql; } | mariadb crm
--
-- then `handoff migrate` as handoff_admin, then mariadb-grants.sql as root.

SET @db = CONCAT('`', REPLACE(DATABASE(), '`', '``'), '`');

SET @sql = CONCAT('CREATE USER ''handoff_admin''@''%'' IDENTIFIED BY ', QUOTE(@admin_password));
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = CONCAT('CREATE USER ''handoff''@''%'' IDENTIFIED BY ', QUOTE(@password));
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;

-- handoff_admin may do anything inside this database, and nothing outside it.
SET @sql = CONCAT('GRANT ALL PRIVILEGES ON ', @db, '.* TO ''handoff_admin''@''%''');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
