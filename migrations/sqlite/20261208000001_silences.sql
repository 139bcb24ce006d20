-- Silences and acknowledgements (docs/CHANNELS.md).
--
-- A silence holds the notices of the alerts it matches from `starts_at` until
-- `ends_at`: a NULL matcher matches every value. Expiring a silence sets its
-- `ends_at` to the moment it was expired; the row stays, so that the page can
-- say who silenced what and why.
--
-- An acknowledgement is one per alert episode (objective, group, the
-- instant it fired): who said "we know", when, and at which severity; no
-- reminders go while the episode stays at that severity. Timestamps are
-- fixed-width RFC 3339 text in UTC.

CREATE TABLE IF NOT EXISTS handoff_silences (
    id         TEXT NOT NULL PRIMARY KEY,
    objective  TEXT,
    grp        TEXT,
    severity   TEXT,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    comment    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS handoff_silences_ends_at ON handoff_silences (ends_at);

CREATE TABLE IF NOT EXISTS handoff_acks (
    objective TEXT NOT NULL,
    grp       TEXT NOT NULL,
    episode   TEXT NOT NULL,
    severity  TEXT NOT NULL,
    acked_by  TEXT NOT NULL,
    acked_at  TEXT NOT NULL,
    PRIMARY KEY (objective, grp, episode)
) STRICT;
