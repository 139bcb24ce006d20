-- The canonical lead store (DESIGN §2). Timestamps are UTC instants written as
-- fixed-width RFC 3339 text, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', so that text order is
-- time order and the indexes serve range scans. Booleans are 0/1.
-- IF NOT EXISTS leaves alone a table the operator created beforehand.
-- WITHOUT ROWID clusters each table on its text id: one B-tree fewer to write
-- per row, and lookups by id (upserts, reference checks) go straight to the row.
--
-- There are no foreign-key constraints, on any backend: any of the four tables
-- may be a view over CRM sync tables, and a constraint cannot point at a view.
-- `handoff import` checks every reference (owner_id, lead_id, rep_id) itself.

CREATE TABLE IF NOT EXISTS reps (
    id    TEXT NOT NULL PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT,
    team  TEXT
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS leads (
    id           TEXT NOT NULL PRIMARY KEY,
    created_at   TEXT NOT NULL,
    mql_at       TEXT,
    owner_id     TEXT,
    channel      TEXT,
    campaign     TEXT,
    segment      TEXT,
    score        REAL,
    accepted_at  TEXT,
    rejected_at  TEXT,
    closed_at    TEXT,
    close_reason TEXT
) STRICT, WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS leads_mql_at ON leads (mql_at);
CREATE INDEX IF NOT EXISTS leads_closed_at ON leads (closed_at);

CREATE TABLE IF NOT EXISTS touches (
    id          TEXT NOT NULL PRIMARY KEY,
    lead_id     TEXT NOT NULL,
    rep_id      TEXT,
    occurred_at TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'sms', 'social', 'other')),
    direction   TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    outcome     TEXT,
    automated   INTEGER NOT NULL CHECK (automated IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS touches_lead_occurred ON touches (lead_id, occurred_at);

CREATE TABLE IF NOT EXISTS deals (
    id         TEXT NOT NULL PRIMARY KEY,
    lead_id    TEXT,
    created_at TEXT NOT NULL,
    closed_at  TEXT,
    amount     REAL NOT NULL CHECK (amount >= 0),
    won        INTEGER CHECK (won IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS deals_lead ON deals (lead_id);
