-- The monthly review (docs/REVIEW.md) counts the mail sent in a period by
-- the instant it was decided: an index on it, so that the count reads the
-- period's mail and not the whole outbox. MySQL has no CREATE INDEX IF NOT
-- EXISTS (MariaDB has), and a migration must run again on a database whose
-- migration history was reset: the index is made only where it is missing.

SET @handoff_missing = (SELECT COUNT(*) = 0 FROM information_schema.statistics
    WHERE table_schema = DATABASE() AND table_name = 'handoff_outbox'
      AND index_name = 'handoff_outbox_created_at');
SET @handoff_sql = IF(@handoff_missing,
    'CREATE INDEX handoff_outbox_created_at ON handoff_outbox (created_at)',
    'DO 0');
PREPARE handoff_stmt FROM @handoff_sql;
EXECUTE handoff_stmt;
DEALLOCATE PREPARE handoff_stmt;
