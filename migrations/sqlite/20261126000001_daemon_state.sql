-- The daemon's record (DESIGN §5): every evaluation result, the final figures of
-- each closed calendar period, the state of every alert series, and each alert
-- transition. Timestamps are fixed-width RFC 3339 text in UTC, as in the lead
-- tables; `details` is the result's JSON object.

CREATE TABLE IF NOT EXISTS handoff_results (
    objective    TEXT NOT NULL,
    grp          TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    status       TEXT NOT NULL,
    value        REAL,
    target       REAL,
    numerator    REAL,
    denominator  REAL,
    details      TEXT NOT NULL,
    PRIMARY KEY (objective, evaluated_at, grp)
) STRICT;
CREATE INDEX IF NOT EXISTS handoff_results_evaluated_at ON handoff_results (evaluated_at);

CREATE TABLE IF NOT EXISTS handoff_periods (
    objective    TEXT NOT NULL,
    grp          TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end   TEXT NOT NULL,
    status       TEXT NOT NULL,
    value        REAL,
    target       REAL,
    numerator    REAL,
    denominator  REAL,
    details      TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (objective, period_start, grp)
) STRICT;

CREATE TABLE IF NOT EXISTS handoff_alerts (
    objective     TEXT NOT NULL,
    grp           TEXT NOT NULL,
    state         TEXT NOT NULL,
    severity      TEXT,
    active_since  TEXT,
    fired_at      TEXT,
    clear_since   TEXT,
    error_since   TEXT,
    status        TEXT NOT NULL,
    value         REAL,
    summary       TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (objective, grp)
) STRICT;

CREATE TABLE IF NOT EXISTS handoff_alert_events (
    objective  TEXT NOT NULL,
    grp        TEXT NOT NULL,
    at         TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    severity   TEXT,
    status     TEXT NOT NULL,
    value      REAL,
    summary    TEXT NOT NULL,
    PRIMARY KEY (objective, at, grp, to_state)
) STRICT;
CREATE INDEX IF NOT EXISTS handoff_alert_events_at ON handoff_alert_events (at);
