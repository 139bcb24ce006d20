-- No foreign-key constraints: any of the four tables may be a view, and a
-- constraint cannot point at a view; `handoff import` checks every reference.
-- The canonical lead store (DESIGN §2). Each table, with its indexes, is created
-- only when no relation of that name exists yet: an operator who defines `reps`,
-- `leads`, `touches` and `deals` as views over CRM sync tables keeps them.

DO $$
BEGIN
    IF to_regclass('reps') IS NULL THEN
        CREATE TABLE reps (
            id    text PRIMARY KEY,
            name  text NOT NULL,
            email text,
            team  text
        );
    END IF;

    IF to_regclass('leads') IS NULL THEN
        CREATE TABLE leads (
            id           text PRIMARY KEY,
            created_at   timestamptz NOT NULL,
            mql_at       timestamptz,
            owner_id     text,
            channel      text,
            campaign     text,
            segment      text,
            score        double precision,
            accepted_at  timestamptz,
            rejected_at  timestamptz,
            closed_at    timestamptz,
            close_reason text
        );
        CREATE INDEX leads_mql_at ON leads (mql_at);
        CREATE INDEX leads_closed_at ON leads (closed_at);
    END IF;

    IF to_regclass('touches') IS NULL THEN
        CREATE TABLE touches (
            id          text PRIMARY KEY,
            lead_id     text NOT NULL,
            rep_id      text,
            occurred_at timestamptz NOT NULL,
            kind        text NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'sms', 'social', 'other')),
            direction   text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
            outcome     text,
            automated   boolean NOT NULL
        );
        CREATE INDEX touches_lead_occurred ON touches (lead_id, occurred_at);
    END IF;

    IF to_regclass('deals') IS NULL THEN
        CREATE TABLE deals (
            id         text PRIMARY KEY,
            lead_id    text,
            created_at timestamptz NOT NULL,
            closed_at  timestamptz,
            amount     numeric(14, 2) NOT NULL CHECK (amount >= 0),
            won        boolean
        );
        CREATE INDEX deals_lead ON deals (lead_id);
    END IF;
END
$$;
