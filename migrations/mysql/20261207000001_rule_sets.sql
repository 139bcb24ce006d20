-- The SLA's change log (docs/DAEMON.md, "Alert identity and the SLA's change
-- log"): one row each time the daemon loads the rules, saying when, why
-- (`source`: start, SIGHUP, a rule file changed, POST /-/reload), the content
-- hash of what it loaded and the rules themselves as normalized JSON.
-- Timestamps are DATETIME(6) holding UTC, as in the lead tables.

CREATE TABLE IF NOT EXISTS handoff_rule_sets (
    loaded_at DATETIME(6) NOT NULL PRIMARY KEY,
    hash      VARCHAR(64) NOT NULL,
    source    VARCHAR(255) NOT NULL,
    rules     MEDIUMTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
