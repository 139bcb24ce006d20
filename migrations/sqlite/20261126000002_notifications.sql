-- Alert mail (DESIGN §5, §9). `handoff_notifications` is the notification log:
-- what each receiver was last told about each alert (topic `alert`) and the
-- last closed period it was told was missed (topic `period`), so that a restart
-- neither loses nor repeats a mail. `handoff_outbox` holds every mail from the
-- moment it is decided until the mail server takes it (state `pending`, then
-- `sent`, or `failed` on a permanent refusal). Timestamps are fixed-width
-- RFC 3339 text in UTC.

CREATE TABLE IF NOT EXISTS handoff_notifications (
    receiver     TEXT NOT NULL,
    objective    TEXT NOT NULL,
    grp          TEXT NOT NULL,
    topic        TEXT NOT NULL,
    state        TEXT NOT NULL,
    severity     TEXT,
    episode      TEXT NOT NULL,
    thread       TEXT NOT NULL,
    last_message TEXT NOT NULL,
    sent_at      TEXT NOT NULL,
    PRIMARY KEY (receiver, objective, grp, topic)
) STRICT;

CREATE TABLE IF NOT EXISTS handoff_outbox (
    id              TEXT NOT NULL PRIMARY KEY,
    receiver        TEXT NOT NULL,
    objective       TEXT NOT NULL,
    grp             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    sent_at         TEXT,
    last_error      TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS handoff_outbox_state ON handoff_outbox (state, next_attempt_at);
