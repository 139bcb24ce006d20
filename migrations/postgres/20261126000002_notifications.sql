-- Alert mail (DESIGN §5, §9). `handoff_notifications` is the notification log:
-- what each receiver was last told about each alert (topic `alert`) and the
-- last closed period it was told was missed (topic `period`), so that a restart
-- neither loses nor repeats a mail. `handoff_outbox` holds every mail from the
-- moment it is decided until the mail server takes it (state `pending`, then
-- `sent`, or `failed` on a permanent refusal).

CREATE TABLE IF NOT EXISTS handoff_notifications (
    receiver     text NOT NULL,
    objective    text NOT NULL,
    grp          text NOT NULL,
    topic        text NOT NULL,
    state        text NOT NULL,
    severity     text,
    episode      timestamptz NOT NULL,
    thread       text NOT NULL,
    last_message text NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (receiver, objective, grp, topic)
);

CREATE TABLE IF NOT EXISTS handoff_outbox (
    id              text NOT NULL PRIMARY KEY,
    receiver        text NOT NULL,
    objective       text NOT NULL,
    grp             text NOT NULL,
    kind            text NOT NULL,
    subject         text NOT NULL,
    message         text NOT NULL,
    created_at      timestamptz NOT NULL,
    state           text NOT NULL,
    attempts        bigint NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX IF NOT EXISTS handoff_outbox_state ON handoff_outbox (state, next_attempt_at);
