-- The leader's lease (docs/DAEMON.md, "Two daemons, one mailer").
--
-- Several daemons may share one database; the one named by `holder` leads
-- until `expires_at`, judged by this database's clock. The leader renews the
-- lease every 5 seconds for 15; once it has expired another daemon takes it
-- and `token` grows by one. Every write of the daemon's record checks the
-- token it holds against this row in the same transaction, so a daemon that
-- lost the lease cannot write after a newer one took it. One row, `leader`.
-- Timestamps are DATETIME(6) holding UTC.

CREATE TABLE IF NOT EXISTS handoff_lease (
    name        VARCHAR(64) NOT NULL PRIMARY KEY,
    holder      VARCHAR(255) NOT NULL,
    token       BIGINT NOT NULL,
    acquired_at DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
