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
-- timestamptz.

CREATE TABLE IF NOT EXISTS handoff_silences (
    id         text NOT NULL PRIMARY KEY,
    objective  text,
    grp        text,
    severity   text,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    created_by text NOT NULL,
    comment    text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS handoff_silences_ends_at ON handoff_silences (ends_at);

CREATE TABLE IF NOT EXISTS handoff_acks (
    objective text NOT NULL,
    grp       text NOT NULL,
    episode   timestamptz NOT NULL,
    severity  text NOT NULL,
    acked_by  text NOT NULL,
    acked_at  timestamptz NOT NULL,
    PRIMARY KEY (objective, grp, episode)
);
