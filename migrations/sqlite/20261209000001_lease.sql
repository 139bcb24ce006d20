-- The leader's lease (docs/DAEMON.md, "Two daemons, one mailer").
--
-- On PostgreSQL and MySQL/MariaDB several daemons may share one database and
-- this row says which one leads. A SQLite file has one daemon only (it holds
-- a lock on the file beside the database while it runs); the table is here
-- so that every backend has the same schema, and stays empty.

CREATE TABLE IF NOT EXISTS handoff_lease (
    name        TEXT NOT NULL PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
