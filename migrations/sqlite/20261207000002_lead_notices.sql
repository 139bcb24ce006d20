-- Lead notices (docs/LEADS.md): what each receiver was told about each lead
-- while its first-attempt clock ran. One row per (objective, lead, kind,
-- owner, receiver): `kind` is `handoff`, `reminder` or `overdue`; `owner` is
-- the owner rep's id when it was told ('' for none), so that a new owner is
-- told afresh. Written with the mail that told it, so that a restart neither
-- loses nor repeats a notice. Timestamps are fixed-width RFC 3339 text in UTC.

CREATE TABLE IF NOT EXISTS handoff_lead_notices (
    objective  TEXT NOT NULL,
    lead_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    receiver   TEXT NOT NULL,
    mql_at     TEXT NOT NULL,
    told_at    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (objective, lead_id, kind, owner, receiver)
) STRICT;
CREATE INDEX IF NOT EXISTS handoff_lead_notices_mql_at ON handoff_lead_notices (mql_at);
