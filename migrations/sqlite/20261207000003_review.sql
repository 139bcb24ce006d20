-- The monthly review (docs/REVIEW.md) counts the mail sent in a period by
-- the instant it was decided: an index on it, so that the count reads the
-- period's mail and not the whole outbox.

CREATE INDEX IF NOT EXISTS handoff_outbox_created_at ON handoff_outbox (created_at);
