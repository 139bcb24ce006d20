-- No foreign-key constraints: any of the four tables may be a view, and a
-- constraint cannot point at a view; `handoff import` checks every reference.
-- The canonical lead store (DESIGN §2) for MySQL/MariaDB. Timestamps are
-- DATETIME(6) holding UTC. utf8mb4_bin keeps CRM ids case-sensitive and groups
-- `Webinar` apart from `webinar`, as SQLite and PostgreSQL do. Indexes are
-- declared inside CREATE TABLE so that IF NOT EXISTS leaves an operator's view
-- of the same name entirely alone. Ids are at most 128 characters and other
-- text at most 255; `handoff import` enforces the same limits on every backend.

CREATE TABLE IF NOT EXISTS reps (
    id    VARCHAR(128) NOT NULL PRIMARY KEY,
    name  VARCHAR(255) NOT NULL,
    email VARCHAR(255),
    team  VARCHAR(255)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS leads (
    id           VARCHAR(128) NOT NULL PRIMARY KEY,
    created_at   DATETIME(6) NOT NULL,
    mql_at       DATETIME(6),
    owner_id     VARCHAR(128),
    channel      VARCHAR(255),
    campaign     VARCHAR(255),
    segment      VARCHAR(255),
    score        DOUBLE,
    accepted_at  DATETIME(6),
    rejected_at  DATETIME(6),
    closed_at    DATETIME(6),
    close_reason VARCHAR(255),
    INDEX leads_mql_at (mql_at),
    INDEX leads_closed_at (closed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS touches (
    id          VARCHAR(128) NOT NULL PRIMARY KEY,
    lead_id     VARCHAR(128) NOT NULL,
    rep_id      VARCHAR(128),
    occurred_at DATETIME(6) NOT NULL,
    kind        VARCHAR(16) NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'sms', 'social', 'other')),
    direction   VARCHAR(16) NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    outcome     VARCHAR(255),
    automated   BOOLEAN NOT NULL,
    INDEX touches_lead_occurred (lead_id, occurred_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS deals (
    id         VARCHAR(128) NOT NULL PRIMARY KEY,
    lead_id    VARCHAR(128),
    created_at DATETIME(6) NOT NULL,
    closed_at  DATETIME(6),
    amount     DECIMAL(14, 2) NOT NULL CHECK (amount >= 0),
    won        BOOLEAN,
    INDEX deals_lead (lead_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
