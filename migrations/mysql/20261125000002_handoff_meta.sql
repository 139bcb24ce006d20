-- handoff's own facts about the database, such as which demo generated its data.
CREATE TABLE IF NOT EXISTS handoff_meta (
    name  VARCHAR(128) NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
