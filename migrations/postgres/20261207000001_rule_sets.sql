-- The SLA's change log (docs/DAEMON.md, "Alert identity and the SLA's change
-- log"): one row each time the daemon loads the rules, saying when, why
-- (`source`: start, SIGHUP, a rule file changed, POST /-/reload), the content
-- hash of what it loaded and the rules themselves as normalized JSON.
-- Timestamps are timestamptz.

CREATE TABLE IF NOT EXISTS handoff_rule_sets (
    loaded_at timestamptz NOT NULL PRIMARY KEY,
    hash      text NOT NULL,
    source    text NOT NULL,
    rules     text NOT NULL
);
