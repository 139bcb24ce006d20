-- Lead notices (docs/LEADS.md): what each receiver was told about each lead
-- while its first-attempt clock ran. One row per (objective, lead, kind,
-- owner, receiver): `kind` is `handoff`, `reminder` or `overdue`; `owner` is
-- the owner rep's id when it was told ('' for none), so that a new owner is
-- told afresh. Written with the mail that told it, so that a restart neither
-- loses nor repeats a notice. Timestamps are timestamptz.

CREATE TABLE IF NOT EXISTS handoff_lead_notices (
    objective  text NOT NULL,
    lead_id    text NOT NULL,
    kind       text NOT NULL,
    owner      text NOT NULL,
    receiver   text NOT NULL,
    mql_at     timestamptz NOT NULL,
    told_at    timestamptz NOT NULL,
    message_id text NOT NULL,
    PRIMARY KEY (objective, lead_id, kind, owner, receiver)
);
CREATE INDEX IF NOT EXISTS handoff_lead_notices_mql_at ON handoff_lead_notices (mql_at);
