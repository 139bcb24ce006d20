-- handoff's own facts about the database, such as which demo generated its data.
CREATE TABLE IF NOT EXISTS handoff_meta (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
