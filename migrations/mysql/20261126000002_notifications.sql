-- Alert mail (DESIGN §5, §9). `handoff_notifications` is the notification log:
-- what each receiver was last told about each alert (topic `alert`) and the
-- last closed period it was told was missed (topic `period`), so that a restart
-- neither loses nor repeats a mail. `handoff_outbox` holds every mail from the
-- moment it is decided until the mail server takes it (state `pending`, then
-- `sent`, or `failed` on a permanent refusal). Timestamps are DATETIME(6)
-- holding UTC.

CREATE TABLE IF NOT EXISTS handoff_notifications (
    receiver     VARCHAR(254) NOT NULL,
    objective    VARCHAR(128) NOT NULL,
    grp          VARCHAR(255) NOT NULL,
    topic        VARCHAR(16) NOT NULL,
    state        VARCHAR(16) NOT NULL,
    severity     VARCHAR(16),
    episode      DATETIME(6) NOT NULL,
    thread       VARCHAR(255) NOT NULL,
    last_message VARCHAR(255) NOT NULL,
    sent_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (receiver, objective, grp, topic)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS handoff_outbox (
    id              VARCHAR(255) NOT NULL PRIMARY KEY,
    receiver        VARCHAR(254) NOT NULL,
    objective       VARCHAR(128) NOT NULL,
    grp             VARCHAR(255) NOT NULL,
    kind            VARCHAR(32) NOT NULL,
    subject         TEXT NOT NULL,
    message         MEDIUMTEXT NOT NULL,
    created_at      DATETIME(6) NOT NULL,
    state           VARCHAR(16) NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at DATETIME(6) NOT NULL,
    sent_at         DATETIME(6),
    last_error      TEXT,
    INDEX handoff_outbox_state (state, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
