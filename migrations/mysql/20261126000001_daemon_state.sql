-- The daemon's record (DESIGN §5): every evaluation result, the final figures of
-- each closed calendar period, the state of every alert series, and each alert
-- transition. Timestamps are DATETIME(6) holding UTC, as in the lead
-- tables; `details` is the result's JSON object.

CREATE TABLE IF NOT EXISTS handoff_results (
    objective    VARCHAR(128) NOT NULL,
    grp          VARCHAR(255) NOT NULL,
    evaluated_at DATETIME(6) NOT NULL,
    status       VARCHAR(16) NOT NULL,
    value        DOUBLE,
    target       DOUBLE,
    numerator    DOUBLE,
    denominator  DOUBLE,
    details      MEDIUMTEXT NOT NULL,
    PRIMARY KEY (objective, evaluated_at, grp),
    INDEX handoff_results_evaluated_at (evaluated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS handoff_periods (
    objective    VARCHAR(128) NOT NULL,
    grp          VARCHAR(255) NOT NULL,
    period_start DATETIME(6) NOT NULL,
    period_end   DATETIME(6) NOT NULL,
    status       VARCHAR(16) NOT NULL,
    value        DOUBLE,
    target       DOUBLE,
    numerator    DOUBLE,
    denominator  DOUBLE,
    details      MEDIUMTEXT NOT NULL,
    recorded_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (objective, period_start, grp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS handoff_alerts (
    objective     VARCHAR(128) NOT NULL,
    grp           VARCHAR(255) NOT NULL,
    state         VARCHAR(16) NOT NULL,
    severity      VARCHAR(16),
    active_since  DATETIME(6),
    fired_at      DATETIME(6),
    clear_since   DATETIME(6),
    error_since   DATETIME(6),
    status        VARCHAR(16) NOT NULL,
    value         DOUBLE,
    summary       TEXT NOT NULL,
    definition    VARCHAR(64) NOT NULL,
    updated_at    DATETIME(6) NOT NULL,
    PRIMARY KEY (objective, grp)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS handoff_alert_events (
    objective  VARCHAR(128) NOT NULL,
    grp        VARCHAR(255) NOT NULL,
    at         DATETIME(6) NOT NULL,
    from_state VARCHAR(16) NOT NULL,
    to_state   VARCHAR(16) NOT NULL,
    severity   VARCHAR(16),
    status     VARCHAR(16) NOT NULL,
    value      DOUBLE,
    summary    TEXT NOT NULL,
    PRIMARY KEY (objective, at, grp, to_state),
    INDEX handoff_alert_events_at (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
