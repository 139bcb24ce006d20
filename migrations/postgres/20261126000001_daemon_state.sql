-- The daemon's record (DESIGN §5): every evaluation result, the final figures of
-- each closed calendar period, the state of every alert series, and each alert
-- transition. Timestamps are timestamptz; `details` is the result's JSON
-- object.

CREATE TABLE IF NOT EXISTS handoff_results (
    objective    text NOT NULL,
    grp          text NOT NULL,
    evaluated_at timestamptz NOT NULL,
    status       text NOT NULL,
    value        double precision,
    target       double precision,
    numerator    double precision,
    denominator  double precision,
    details      text NOT NULL,
    PRIMARY KEY (objective, evaluated_at, grp)
);
CREATE INDEX IF NOT EXISTS handoff_results_evaluated_at ON handoff_results (evaluated_at);

CREATE TABLE IF NOT EXISTS handoff_periods (
    objective    text NOT NULL,
    grp          text NOT NULL,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    status       text NOT NULL,
    value        double precision,
    target       double precision,
    numerator    double precision,
    denominator  double precision,
    details      text NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (objective, period_start, grp)
);

CREATE TABLE IF NOT EXISTS handoff_alerts (
    objective     text NOT NULL,
    grp           text NOT NULL,
    state         text NOT NULL,
    severity      text,
    active_since  timestamptz,
    fired_at      timestamptz,
    clear_since   timestamptz,
    error_since   timestamptz,
    status        text NOT NULL,
    value         double precision,
    summary       text NOT NULL,
    definition    text NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (objective, grp)
);

CREATE TABLE IF NOT EXISTS handoff_alert_events (
    objective  text NOT NULL,
    grp        text NOT NULL,
    at         timestamptz NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    severity   text,
    status     text NOT NULL,
    value      double precision,
    summary    text NOT NULL,
    PRIMARY KEY (objective, at, grp, to_state)
);
CREATE INDEX IF NOT EXISTS handoff_alert_events_at ON handoff_alert_events (at);
