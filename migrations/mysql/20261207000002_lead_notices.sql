-- Lead notices (docs/LEADS.md): what each receiver was told about each lead
-- while its first-attempt clock ran. One row per (objective, lead, kind,
-- owner, receiver): `kind` is `handoff`, `reminder` or `overdue`; `owner` is
-- the owner rep's id when it was told ('' for none), so that a new owner is
-- told afresh. Written with the mail that told it, so that a restart neither
-- loses nor repeats a notice. Timestamps are DATETIME(6) holding UTC. The
-- key's columns are sized to fit InnoDB's 3072-byte key in utf8mb4.

CREATE TABLE IF NOT EXISTS handoff_lead_notices (
    objective  VARCHAR(128) NOT NULL,
    lead_id    VARCHAR(128) NOT NULL,
    kind       VARCHAR(16) NOT NULL,
    owner      VARCHAR(128) NOT NULL,
    receiver   VARCHAR(254) NOT NULL,
    mql_at     DATETIME(6) NOT NULL,
    told_at    DATETIME(6) NOT NULL,
    message_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (objective, lead_id, kind, owner, receiver),
    INDEX handoff_lead_notices_mql_at (mql_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
