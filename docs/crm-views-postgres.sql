-- Point handoff at an existing CRM database (PostgreSQL) by defining the four
-- canonical tables as views over the CRM's sync tables. Run this once, then
-- `handoff migrate`: it keeps the views and adds only handoff's own tables.
--
-- The sync tables here are in schema `crm`, as a CRM sync tool typically lands
-- them: users, leads, lead_status_history, tasks, opportunities.

CREATE VIEW reps AS
SELECT u.id,
       u.full_name  AS name,
       u.email,
       u.sales_team AS team
FROM crm.users u;

-- The SLA clock starts at the FIRST hand-off to sales. The CRM's own "MQL date"
-- field is overwritten when a lead is recycled and re-qualified, so take the
-- earliest change to status MQL from the status history instead.
CREATE VIEW leads AS
SELECT l.id,
       l.created_date                 AS created_at,
       (SELECT min(h.changed_at)
          FROM crm.lead_status_history h
         WHERE h.lead_id = l.id AND h.new_status = 'MQL') AS mql_at,
       l.owner_id,
       lower(replace(l.lead_source, ' ', '_')) AS channel,
       l.campaign_name                AS campaign,
       lower(l.company_size_band)     AS segment,
       l.lead_score                   AS score,
       l.sql_date                     AS accepted_at,
       l.disqualified_date            AS rejected_at,
       l.closed_date                  AS closed_at,
       lower(l.closed_reason)         AS close_reason
FROM crm.leads l
WHERE NOT l.is_deleted;

-- Only completed activities are touches. Sequence steps and auto-replies are
-- flagged `automated` so they never count as a human attempt.
CREATE VIEW touches AS
SELECT t.id,
       t.lead_id,
       t.owner_id AS rep_id,
       t.completed_at AS occurred_at,
       CASE t.task_type WHEN 'Call' THEN 'call' WHEN 'Email' THEN 'email'
                        WHEN 'Meeting' THEN 'meeting' WHEN 'SMS' THEN 'sms'
                        ELSE 'other' END AS kind,
       CASE WHEN t.is_inbound THEN 'inbound' ELSE 'outbound' END AS direction,
       lower(replace(t.call_result, ' ', '_')) AS outcome,
       (t.sequence_id IS NOT NULL) AS automated
FROM crm.tasks t
WHERE t.completed_at IS NOT NULL;

CREATE VIEW deals AS
SELECT o.id,
       o.converted_from_lead_id AS lead_id,
       o.created_date AS created_at,
       CASE WHEN o.is_closed THEN o.close_date END AS closed_at,
       coalesce(o.amount, 0) AS amount,
       CASE WHEN o.is_closed THEN o.is_won END AS won
FROM crm.opportunities o;
