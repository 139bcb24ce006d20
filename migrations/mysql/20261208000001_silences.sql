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
-- DATETIME(6) holding UTC. The key's columns are sized to fit InnoDB's
-- 3072-byte key in utf8mb4.

CREATE TABLE IF NOT EXISTS handoff_silences (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    objective  VARCHAR(128),
    grp        VARCHAR(255),
    severity   VARCHAR(16),
    starts_at  DATETIME(6) NOT NULL,
    ends_at    DATETIME(6) NOT NULL,
    created_by VARCHAR(255) NOT NULL,
    comment    TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    INDEX handoff_silences_ends_at (ends_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS handoff_acks (
    objective VARCHAR(128) NOT NULL,
    grp       VARCHAR(255) NOT NULL,
    episode   DATETIME(6) NOT NULL,
    severity  VARCHAR(16) NOT NULL,
    acked_by  VARCHAR(255) NOT NULL,
    acked_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (objective, grp, episode)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
