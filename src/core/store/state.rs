//! handoff's own tables (`handoff_*`), beside the lead data in the same
//! database, written once for every backend like the rest of the store.
//!
//! `handoff_meta` is a small key–value table of facts about the database
//! (which demo generated its data); [`DAEMON_TABLES`] are the daemon's record:
//! results history, closed periods, alert state and transitions, the
//! notification log, the outbox and the SLA's change log. Each statement is a
//! function generic over [`Dialect`], run on the connection of a read or write
//! transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;

use super::StoreError;
use super::db::{failed, stream_rows};
use super::dialect::{Dialect, Typed};
use crate::codes::{Change, Code, Delivery, Severity, State, Status, Told, Topic};

/// The value of `key` in `handoff_meta`.
pub(super) async fn meta<DB: Dialect>(
    conn: &mut DB::Connection,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let mut qb = QueryBuilder::<DB>::new("SELECT value FROM handoff_meta WHERE name = ");
    <DB as Typed<String>>::bind(&mut qb, key.to_owned());
    let mut value = None;
    stream_rows(conn, &mut qb, &format!("reading metadata {key}"), |row| {
        value = Some(<DB as Typed<String>>::get(row, 0)?);
        Ok(())
    })
    .await?;
    Ok(value)
}

/// Sets `name` to `value` in `handoff_meta`.
pub(super) async fn set_meta<DB: Dialect>(
    conn: &mut DB::Connection,
    name: &str,
    value: &str,
) -> Result<(), StoreError> {
    let mut qb = QueryBuilder::<DB>::new("INSERT INTO handoff_meta (name, value) VALUES (");
    let mut sep = qb.separated(", ");
    <DB as Typed<String>>::bind_sep(&mut sep, name.to_owned());
    <DB as Typed<String>>::bind_sep(&mut sep, value.to_owned());
    qb.push(")");
    DB::push_upsert(&mut qb, "name", &["value"]);
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>(format!("writing metadata {name}")))?;
    Ok(())
}

/// Removes `name` from `handoff_meta`, if present.
pub(super) async fn delete_meta<DB: Dialect>(
    conn: &mut DB::Connection,
    name: &str,
) -> Result<(), StoreError> {
    let mut qb = QueryBuilder::<DB>::new("DELETE FROM handoff_meta WHERE name = ");
    <DB as Typed<String>>::bind(&mut qb, name.to_owned());
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>(format!("removing metadata {name}")))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The daemon's record: results history, closed periods, alert state and events.

/// One evaluation result of one group, as the results history keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultRow {
    /// The objective's name.
    pub objective: String,
    /// The group (`all` without `by`).
    pub group: String,
    /// The instant the result describes (docs/eval.md `t`).
    pub evaluated_at: DateTime<Utc>,
    pub status: Status,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The result's `details`, as a JSON object.
    pub details: String,
}

/// The final figures of one group for one calendar period that has closed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PeriodRow {
    pub objective: String,
    pub group: String,
    /// First instant of the period.
    pub period_start: DateTime<Utc>,
    /// The instant the period closed; the figures were evaluated at it.
    pub period_end: DateTime<Utc>,
    pub status: Status,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The result's `details`, as a JSON object.
    pub details: String,
    /// When the daemon recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// The persisted state of one alert series (objective, group).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub objective: String,
    pub group: String,
    pub state: State,
    /// While pending or firing.
    pub severity: Option<Severity>,
    /// When the current problem began (the start of pending).
    pub active_since: Option<DateTime<Utc>>,
    /// When the alert fired.
    pub fired_at: Option<DateTime<Utc>>,
    /// While firing: when the problem cleared, held by `keep_firing_for`.
    pub clear_since: Option<DateTime<Utc>>,
    /// The first of the current run of failed evaluations.
    pub error_since: Option<DateTime<Utc>>,
    /// The status of the last evaluation.
    pub status: Status,
    /// The value of the last evaluation.
    pub value: Option<f64>,
    /// One line saying what was measured against what was promised.
    pub summary: String,
    /// A fingerprint of the objective's definition the state belongs to.
    pub definition: String,
    /// When the series was last evaluated.
    pub updated_at: DateTime<Utc>,
}

/// One alert transition, as the alert history keeps it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEvent {
    pub objective: String,
    pub group: String,
    pub at: DateTime<Utc>,
    pub from_state: State,
    pub to_state: Change,
    pub severity: Option<Severity>,
    pub status: Status,
    pub value: Option<f64>,
    pub summary: String,
}

/// What one receiver was last told about one alert (topic `alert`), or the
/// last missed period it was told of (topic `period`): the notification log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyRow {
    /// The address the mail went to.
    pub receiver: String,
    /// The objective ("" for the "evaluation failing" alert).
    pub objective: String,
    pub group: String,
    pub topic: Topic,
    /// What the receiver was told last.
    pub state: Told,
    /// The severity told, while firing.
    pub severity: Option<Severity>,
    /// The alert's `fired_at` (one thread per firing), or the start of the
    /// period told.
    pub episode: DateTime<Utc>,
    /// The Message-ID that began the thread.
    pub thread: String,
    /// The Message-ID of the latest mail of the thread.
    pub last_message: String,
    /// When that mail was decided.
    pub sent_at: DateTime<Utc>,
}

/// One mail, from the moment it is decided until the mail server takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its Message-ID, without the angle brackets.
    pub id: String,
    /// The one address it goes to.
    pub receiver: String,
    pub objective: String,
    pub group: String,
    /// `breach`, `at_risk`, `resolved`, `period_missed` or `evaluation_failing`,
    /// with `:repeat` when it repeats a firing alert.
    pub kind: String,
    pub subject: String,
    /// The whole RFC 5322 message, as sent.
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub state: Delivery,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The mail server's last refusal, or the connection error.
    pub last_error: Option<String>,
}

impl OutboxRow {
    /// A mail decided at `at`, not yet tried: fill in what it is
    /// (`OutboxRow { id, receiver, …, ..OutboxRow::pending(at) }`).
    pub fn pending(at: DateTime<Utc>) -> OutboxRow {
        OutboxRow {
            id: String::new(),
            receiver: String::new(),
            objective: String::new(),
            group: String::new(),
            kind: String::new(),
            subject: String::new(),
            message: String::new(),
            created_at: at,
            state: Delivery::Pending,
            attempts: 0,
            next_attempt_at: at,
            sent_at: None,
            last_error: None,
        }
    }
}

/// One notice about one lead told to one receiver (docs/LEADS.md): the lead
/// notice log.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LeadNoticeRow {
    pub objective: String,
    pub lead_id: String,
    /// `handoff`, `reminder` or `overdue`.
    pub kind: String,
    /// The owner rep's id when it was told; "" for none.
    pub owner: String,
    pub receiver: String,
    /// The lead's hand-off: the log is pruned by it.
    pub mql_at: DateTime<Utc>,
    pub told_at: DateTime<Utc>,
    /// The Message-ID of the mail that told it.
    pub message_id: String,
}

/// One load of the rules, as the SLA's change log keeps it
/// (docs/DAEMON.md, "Alert identity and the SLA's change log").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleSetRow {
    /// When the rules were loaded; the log's key.
    pub loaded_at: DateTime<Utc>,
    /// `RuleSet::content_hash` of what was loaded.
    pub hash: String,
    /// Why it was loaded: `start`, `SIGHUP`, `a rule file changed`,
    /// `POST /-/reload`.
    pub source: String,
    /// `RuleSet::normalized`, as compact JSON text.
    pub rules: String,
}

/// A silence (docs/CHANNELS.md): the notices of the alerts it matches are
/// held from `starts_at` until `ends_at`. A matcher that is `None` matches
/// every value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SilenceRow {
    pub id: String,
    pub objective: Option<String>,
    pub group: Option<String>,
    /// `critical` or `warning`.
    pub severity: Option<Severity>,
    pub starts_at: DateTime<Utc>,
    /// Expiring a silence sets this to the moment it was expired.
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SilenceRow {
    /// Whether it holds notices at `at`.
    pub fn active(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    /// Whether it matches the alert of `objective`, `group` at `severity`
    /// ("" objective: the "evaluation failing" alert, which only a silence
    /// without an objective matcher matches).
    pub fn matches(&self, objective: &str, group: &str, severity: Option<Severity>) -> bool {
        self.objective.as_deref().is_none_or(|o| o == objective)
            && self.group.as_deref().is_none_or(|g| g == group)
            && self
                .severity
                .is_none_or(|s| severity.is_some_and(|x| x == s))
    }
}

/// An acknowledged alert episode (docs/CHANNELS.md): no reminders while it
/// stays at `severity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AckRow {
    pub objective: String,
    pub group: String,
    /// The instant the episode fired.
    pub episode: DateTime<Utc>,
    /// The severity it was acknowledged at.
    pub severity: Severity,
    pub acked_by: String,
    pub acked_at: DateTime<Utc>,
}

/// Everything one step of the daemon writes, in one transaction.
#[derive(Clone, Debug, Default)]
pub struct Journal {
    /// New rows of results history.
    pub results: Vec<ResultRow>,
    /// Closed periods (an existing row for the same period is replaced).
    pub periods: Vec<PeriodRow>,
    /// Alert series to save (replacing their previous state).
    pub alerts: Vec<AlertRow>,
    /// Alert series to forget: (objective, group).
    pub forget: Vec<(String, String)>,
    /// Alert transitions.
    pub events: Vec<AlertEvent>,
    /// Notification log entries to save (replacing the previous one of the
    /// same receiver, alert and topic).
    pub notified: Vec<NotifyRow>,
    /// Notification log entries to delete: (receiver, objective, group,
    /// topic).
    pub unnotify: Vec<(String, String, String, Topic)>,
    /// Mails to save (new, or their delivery state updated).
    pub outbox: Vec<OutboxRow>,
    /// Lead notices told (written with the mail that tells them).
    pub lead_notices: Vec<LeadNoticeRow>,
    /// Remove lead notices of leads handed over before this instant.
    pub prune_leads_before: Option<DateTime<Utc>>,
    /// Loads of the rules for the SLA's change log (a row at the same
    /// instant is replaced).
    pub rule_sets: Vec<RuleSetRow>,
    /// Silences made or expired (replacing the row of the same id).
    pub silences: Vec<SilenceRow>,
    /// Acknowledgements (the first of an episode stays).
    pub acks: Vec<AckRow>,
    /// Acknowledgements to delete, (objective, group, episode): the alert
    /// changed severity, so the acknowledgement no longer holds.
    pub unack: Vec<(String, String, DateTime<Utc>)>,
    /// Remove results, alert events, delivered mail, settled notification
    /// log entries and the change log's rule sets from before this instant;
    /// the rule set in force at it (the newest loaded before it) stays, so
    /// the newest row of the change log is never removed.
    pub prune_before: Option<DateTime<Utc>>,
}

impl Journal {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
            && self.periods.is_empty()
            && self.alerts.is_empty()
            && self.forget.is_empty()
            && self.events.is_empty()
            && self.notified.is_empty()
            && self.unnotify.is_empty()
            && self.outbox.is_empty()
            && self.lead_notices.is_empty()
            && self.rule_sets.is_empty()
            && self.silences.is_empty()
            && self.acks.is_empty()
            && self.unack.is_empty()
            && self.prune_before.is_none()
            && self.prune_leads_before.is_none()
    }

    /// Takes out the mail part (notification log and outbox), leaving the
    /// rest (results, periods, alert state and events, rule sets, pruning). The daemon
    /// writes the two in separate transactions, so that rows the database
    /// refuses in one never cost the other.
    pub fn take_mail(&mut self) -> Journal {
        Journal {
            notified: std::mem::take(&mut self.notified),
            unnotify: std::mem::take(&mut self.unnotify),
            outbox: std::mem::take(&mut self.outbox),
            lead_notices: std::mem::take(&mut self.lead_notices),
            ..Journal::default()
        }
    }

    /// How many rows it holds.
    pub fn rows(&self) -> usize {
        self.results.len()
            + self.periods.len()
            + self.alerts.len()
            + self.forget.len()
            + self.events.len()
            + self.notified.len()
            + self.unnotify.len()
            + self.outbox.len()
            + self.lead_notices.len()
            + self.rule_sets.len()
            + self.silences.len()
            + self.acks.len()
            + self.unack.len()
    }
}

/// A read of the daemon's record.
#[derive(Clone, Debug)]
pub(crate) enum StateRead {
    /// Every saved alert series.
    Alerts,
    /// Results with `from <= evaluated_at < to`, of one objective or all, in
    /// time order, at most `limit`.
    Results {
        objective: Option<String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    },
    /// `(objective, group, evaluated_at, value)` of the results with a value
    /// in `[from, to)`, in time order: what charts draw.
    Points {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Closed periods of one objective ending in `[from, to)`.
    Periods {
        objective: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Alert events of one objective in `[from, to)`, at most `limit`.
    Events {
        objective: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    },
    /// The whole notification log.
    Notifications,
    /// Mails still pending, oldest first.
    Outbox,
    /// Rule sets of the change log loaded in `[from, to)`, newest first, at
    /// most `limit`.
    RuleSets {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    },
    /// The newest rule set of the change log.
    LatestRuleSet,
    /// The lead notice log of the leads handed over since `since`.
    LeadNotices { since: DateTime<Utc> },
    /// How many mails of each (objective, group, kind) the mail server took
    /// that were decided in `[from, to)`.
    MailCounts {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// For each group of `objective` whose latest result (errors aside) is a
    /// problem, the first problem result after its latest healthy one.
    EpisodeStarts { objective: String },
    /// Silences that end after `ends_after`, newest first.
    Silences { ends_after: DateTime<Utc> },
    /// Every acknowledgement.
    Acks,
}

/// One row of a [`StateRead`].
#[derive(Clone, Debug)]
pub(crate) enum StateItem {
    Alert(AlertRow),
    Result(ResultRow),
    Period(PeriodRow),
    Event(AlertEvent),
    Notified(NotifyRow),
    Mail(OutboxRow),
    Point(String, String, DateTime<Utc>, f64),
    RuleSet(RuleSetRow),
    LeadNotice(LeadNoticeRow),
    EpisodeStart(String, DateTime<Utc>),
    MailCount(String, String, String, i64),
    Silence(SilenceRow),
    Ack(AckRow),
}

impl StateRead {
    pub(crate) fn doing(&self) -> &'static str {
        match self {
            StateRead::Alerts => "reading alert state",
            StateRead::Results { .. } | StateRead::Points { .. } => "reading results history",
            StateRead::Periods { .. } => "reading closed periods",
            StateRead::Events { .. } => "reading alert history",
            StateRead::Notifications => "reading the notification log",
            StateRead::Outbox => "reading the outbox",
            StateRead::RuleSets { .. } | StateRead::LatestRuleSet => {
                "reading the change log of the rules"
            }
            StateRead::EpisodeStarts { .. } => "reading when problems began",
            StateRead::LeadNotices { .. } => "reading the lead notice log",
            StateRead::MailCounts { .. } => "counting the mail sent",
            StateRead::Silences { .. } => "reading silences",
            StateRead::Acks => "reading acknowledgements",
        }
    }
}

const RESULT_COLUMNS: &str =
    "objective, grp, evaluated_at, status, value, target, numerator, denominator, details";
const PERIOD_COLUMNS: &str = "objective, grp, period_start, period_end, status, value, target, \
                              numerator, denominator, details, recorded_at";
const ALERT_COLUMNS: &str = "objective, grp, state, severity, active_since, fired_at, \
                             clear_since, error_since, status, value, summary, definition, \
                             updated_at";
const EVENT_COLUMNS: &str =
    "objective, grp, at, from_state, to_state, severity, status, value, summary";
const NOTIFY_COLUMNS: &str =
    "receiver, objective, grp, topic, state, severity, episode, thread, last_message, sent_at";
const OUTBOX_COLUMNS: &str = "id, receiver, objective, grp, kind, subject, message, created_at, \
                              state, attempts, next_attempt_at, sent_at, last_error";
const RULE_SET_COLUMNS: &str = "loaded_at, hash, source, rules";
const LEAD_NOTICE_COLUMNS: &str =
    "objective, lead_id, kind, owner, receiver, mql_at, told_at, message_id";
const SILENCE_COLUMNS: &str = "id, objective, grp, severity, starts_at, ends_at, created_by, \
                               comment, created_at, updated_at";
const ACK_COLUMNS: &str = "objective, grp, episode, severity, acked_by, acked_at";

/// Runs a read of the daemon's record, handing each row to `each`.
pub(super) async fn read<DB: Dialect>(
    conn: &mut DB::Connection,
    what: &StateRead,
    each: &mut (dyn FnMut(StateItem) + Send),
) -> Result<(), StoreError> {
    let doing = what.doing();
    let mut qb = QueryBuilder::<DB>::new("SELECT ");
    match what {
        StateRead::Alerts => {
            qb.push(ALERT_COLUMNS);
            qb.push(" FROM handoff_alerts");
        }
        StateRead::Results {
            objective,
            from,
            to,
            limit,
        } => {
            qb.push(RESULT_COLUMNS);
            qb.push(" FROM handoff_results WHERE evaluated_at >= ");
            DB::bind_time(&mut qb, Some(*from));
            qb.push(" AND evaluated_at < ");
            DB::bind_time(&mut qb, Some(*to));
            if let Some(o) = objective {
                qb.push(" AND objective = ");
                <DB as Typed<String>>::bind(&mut qb, o.clone());
            }
            qb.push(format_args!(
                " ORDER BY evaluated_at, objective, {} LIMIT {limit}",
                DB::bytewise("grp")
            ));
        }
        StateRead::Points { from, to } => {
            qb.push(
                "objective, grp, evaluated_at, value FROM handoff_results \
                 WHERE value IS NOT NULL AND evaluated_at >= ",
            );
            DB::bind_time(&mut qb, Some(*from));
            qb.push(" AND evaluated_at < ");
            DB::bind_time(&mut qb, Some(*to));
            qb.push(" ORDER BY evaluated_at");
        }
        StateRead::Periods {
            objective,
            from,
            to,
        } => {
            qb.push(PERIOD_COLUMNS);
            qb.push(" FROM handoff_periods WHERE objective = ");
            <DB as Typed<String>>::bind(&mut qb, objective.clone());
            qb.push(" AND period_end >= ");
            DB::bind_time(&mut qb, Some(*from));
            qb.push(" AND period_end < ");
            DB::bind_time(&mut qb, Some(*to));
            qb.push(format_args!(
                " ORDER BY period_start, {}",
                DB::bytewise("grp")
            ));
        }
        StateRead::Events {
            objective,
            from,
            to,
            limit,
        } => {
            qb.push(EVENT_COLUMNS);
            qb.push(" FROM handoff_alert_events WHERE objective = ");
            <DB as Typed<String>>::bind(&mut qb, objective.clone());
            qb.push(" AND at >= ");
            DB::bind_time(&mut qb, Some(*from));
            qb.push(" AND at < ");
            DB::bind_time(&mut qb, Some(*to));
            qb.push(format_args!(
                " ORDER BY at, {}, to_state LIMIT {limit}",
                DB::bytewise("grp")
            ));
        }
        StateRead::Notifications => {
            qb.push(NOTIFY_COLUMNS);
            qb.push(" FROM handoff_notifications");
        }
        StateRead::Outbox => {
            qb.push(OUTBOX_COLUMNS);
            qb.push(" FROM handoff_outbox WHERE state = 'pending' ORDER BY created_at, id");
        }
        StateRead::RuleSets { from, to, limit } => {
            qb.push(RULE_SET_COLUMNS);
            qb.push(" FROM handoff_rule_sets WHERE loaded_at >= ");
            DB::bind_time(&mut qb, Some(*from));
            qb.push(" AND loaded_at < ");
            DB::bind_time(&mut qb, Some(*to));
            qb.push(format_args!(" ORDER BY loaded_at DESC LIMIT {limit}"));
        }
        StateRead::LatestRuleSet => {
            qb.push(RULE_SET_COLUMNS);
            qb.push(" FROM handoff_rule_sets ORDER BY loaded_at DESC LIMIT 1");
        }
        StateRead::EpisodeStarts { objective } => push_episode_starts(&mut qb, objective),
        StateRead::LeadNotices { since } => {
            qb.push(LEAD_NOTICE_COLUMNS);
            qb.push(" FROM handoff_lead_notices WHERE mql_at >= ");
            DB::bind_time(&mut qb, Some(*since));
        }
        StateRead::MailCounts { from, to } => {
            qb.push(
                "objective, grp, kind, COUNT(*) FROM handoff_outbox \
                 WHERE state = 'sent' AND created_at >= ",
            );
            DB::bind_time(&mut qb, Some(*from));
            qb.push(" AND created_at < ");
            DB::bind_time(&mut qb, Some(*to));
            qb.push(" GROUP BY objective, grp, kind");
        }
        StateRead::Silences { ends_after } => {
            qb.push(SILENCE_COLUMNS);
            qb.push(" FROM handoff_silences WHERE ends_at > ");
            DB::bind_time(&mut qb, Some(*ends_after));
            qb.push(" ORDER BY created_at DESC, id");
        }
        StateRead::Acks => {
            qb.push(ACK_COLUMNS);
            qb.push(" FROM handoff_acks");
        }
    }
    stream_rows(conn, &mut qb, doing, |row| {
        let text = |i| <DB as Typed<String>>::get(row, i);
        let opt_text = |i| <DB as Typed<Option<String>>>::get(row, i);
        let num = |i| <DB as Typed<Option<f64>>>::get(row, i);
        let time = |i| {
            DB::get_time(row, i)?.ok_or_else(|| sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source: "a required timestamp is null".into(),
            })
        };
        let item = match what {
            StateRead::Alerts => StateItem::Alert(AlertRow {
                objective: text(0)?,
                group: text(1)?,
                state: code(text(2)?, 2)?,
                severity: opt_code(opt_text(3)?, 3)?,
                active_since: DB::get_time(row, 4)?,
                fired_at: DB::get_time(row, 5)?,
                clear_since: DB::get_time(row, 6)?,
                error_since: DB::get_time(row, 7)?,
                status: code(text(8)?, 8)?,
                value: num(9)?,
                summary: text(10)?,
                definition: text(11)?,
                updated_at: time(12)?,
            }),
            StateRead::Results { .. } => StateItem::Result(ResultRow {
                objective: text(0)?,
                group: text(1)?,
                evaluated_at: time(2)?,
                status: code(text(3)?, 3)?,
                value: num(4)?,
                target: num(5)?,
                numerator: num(6)?,
                denominator: num(7)?,
                details: text(8)?,
            }),
            StateRead::Points { .. } => StateItem::Point(
                text(0)?,
                text(1)?,
                time(2)?,
                <DB as Typed<f64>>::get(row, 3)?,
            ),
            StateRead::Periods { .. } => StateItem::Period(PeriodRow {
                objective: text(0)?,
                group: text(1)?,
                period_start: time(2)?,
                period_end: time(3)?,
                status: code(text(4)?, 4)?,
                value: num(5)?,
                target: num(6)?,
                numerator: num(7)?,
                denominator: num(8)?,
                details: text(9)?,
                recorded_at: time(10)?,
            }),
            StateRead::Events { .. } => StateItem::Event(AlertEvent {
                objective: text(0)?,
                group: text(1)?,
                at: time(2)?,
                from_state: code(text(3)?, 3)?,
                to_state: code(text(4)?, 4)?,
                severity: opt_code(opt_text(5)?, 5)?,
                status: code(text(6)?, 6)?,
                value: num(7)?,
                summary: text(8)?,
            }),
            StateRead::Notifications => StateItem::Notified(NotifyRow {
                receiver: text(0)?,
                objective: text(1)?,
                group: text(2)?,
                topic: code(text(3)?, 3)?,
                state: code(text(4)?, 4)?,
                severity: opt_code(opt_text(5)?, 5)?,
                episode: time(6)?,
                thread: text(7)?,
                last_message: text(8)?,
                sent_at: time(9)?,
            }),
            StateRead::Outbox => StateItem::Mail(OutboxRow {
                id: text(0)?,
                receiver: text(1)?,
                objective: text(2)?,
                group: text(3)?,
                kind: text(4)?,
                subject: text(5)?,
                message: text(6)?,
                created_at: time(7)?,
                state: code(text(8)?, 8)?,
                attempts: <DB as Typed<i64>>::get(row, 9)?,
                next_attempt_at: time(10)?,
                sent_at: DB::get_time(row, 11)?,
                last_error: opt_text(12)?,
            }),
            StateRead::RuleSets { .. } | StateRead::LatestRuleSet => {
                StateItem::RuleSet(RuleSetRow {
                    loaded_at: time(0)?,
                    hash: text(1)?,
                    source: text(2)?,
                    rules: text(3)?,
                })
            }
            StateRead::EpisodeStarts { .. } => StateItem::EpisodeStart(text(0)?, time(1)?),
            StateRead::MailCounts { .. } => StateItem::MailCount(
                text(0)?,
                text(1)?,
                text(2)?,
                <DB as Typed<i64>>::get(row, 3)?,
            ),
            StateRead::LeadNotices { .. } => StateItem::LeadNotice(LeadNoticeRow {
                objective: text(0)?,
                lead_id: text(1)?,
                kind: text(2)?,
                owner: text(3)?,
                receiver: text(4)?,
                mql_at: time(5)?,
                told_at: time(6)?,
                message_id: text(7)?,
            }),
            StateRead::Silences { .. } => StateItem::Silence(SilenceRow {
                id: text(0)?,
                objective: opt_text(1)?,
                group: opt_text(2)?,
                severity: opt_code(opt_text(3)?, 3)?,
                starts_at: time(4)?,
                ends_at: time(5)?,
                created_by: text(6)?,
                comment: text(7)?,
                created_at: time(8)?,
                updated_at: time(9)?,
            }),
            StateRead::Acks => StateItem::Ack(AckRow {
                objective: text(0)?,
                group: text(1)?,
                episode: time(2)?,
                severity: code(text(3)?, 3)?,
                acked_by: text(4)?,
                acked_at: time(5)?,
            }),
        };
        each(item);
        Ok(())
    })
    .await?;
    Ok(())
}

/// The daemon's tables: what it recorded about the lead data.
pub const DAEMON_TABLES: [&str; 10] = [
    "handoff_results",
    "handoff_periods",
    "handoff_alerts",
    "handoff_alert_events",
    "handoff_notifications",
    "handoff_outbox",
    "handoff_rule_sets",
    "handoff_lead_notices",
    "handoff_silences",
    "handoff_acks",
];

/// Deletes every row of [`DAEMON_TABLES`].
pub(super) async fn delete_daemon_state<DB: Dialect>(
    conn: &mut DB::Connection,
) -> Result<(), StoreError> {
    for table in DAEMON_TABLES {
        let mut qb = QueryBuilder::<DB>::new(format!("DELETE FROM {table}"));
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>(format!("deleting {table}")))?;
    }
    Ok(())
}

/// The stored word of `x`.
fn word<T: Code>(x: T) -> String {
    x.as_str().to_owned()
}

/// Reads the stored word of column `i`: a word its type does not know is a
/// decode error that names the column and quotes the word.
fn code<T: Code>(s: String, i: usize) -> Result<T, sqlx::Error> {
    T::decode(&s).map_err(|e| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: Box::new(e),
    })
}

/// [`code`] of a nullable column.
fn opt_code<T: Code>(s: Option<String>, i: usize) -> Result<Option<T>, sqlx::Error> {
    s.map(|s| code(s, i)).transpose()
}

/// Writes a journal on the connection of a write transaction.
pub(super) async fn record<DB: Dialect>(
    conn: &mut DB::Connection,
    journal: &Journal,
) -> Result<(), StoreError> {
    insert::<DB, _>(
        conn,
        "handoff_results",
        RESULT_COLUMNS,
        "objective, evaluated_at, grp",
        &[
            "status",
            "value",
            "target",
            "numerator",
            "denominator",
            "details",
        ],
        &journal.results,
        |sep, r| {
            <DB as Typed<String>>::bind_sep(sep, r.objective.clone());
            <DB as Typed<String>>::bind_sep(sep, r.group.clone());
            DB::bind_time_sep(sep, Some(r.evaluated_at));
            <DB as Typed<String>>::bind_sep(sep, word(r.status));
            for x in [r.value, r.target, r.numerator, r.denominator] {
                <DB as Typed<Option<f64>>>::bind_sep(sep, x);
            }
            <DB as Typed<String>>::bind_sep(sep, r.details.clone());
        },
        "recording results",
    )
    .await?;
    insert::<DB, _>(
        conn,
        "handoff_periods",
        PERIOD_COLUMNS,
        "objective, period_start, grp",
        &[
            "period_end",
            "status",
            "value",
            "target",
            "numerator",
            "denominator",
            "details",
            "recorded_at",
        ],
        &journal.periods,
        |sep, p| {
            <DB as Typed<String>>::bind_sep(sep, p.objective.clone());
            <DB as Typed<String>>::bind_sep(sep, p.group.clone());
            DB::bind_time_sep(sep, Some(p.period_start));
            DB::bind_time_sep(sep, Some(p.period_end));
            <DB as Typed<String>>::bind_sep(sep, word(p.status));
            for x in [p.value, p.target, p.numerator, p.denominator] {
                <DB as Typed<Option<f64>>>::bind_sep(sep, x);
            }
            <DB as Typed<String>>::bind_sep(sep, p.details.clone());
            DB::bind_time_sep(sep, Some(p.recorded_at));
        },
        "recording closed periods",
    )
    .await?;
    insert::<DB, _>(
        conn,
        "handoff_alerts",
        ALERT_COLUMNS,
        "objective, grp",
        &[
            "state",
            "severity",
            "active_since",
            "fired_at",
            "clear_since",
            "error_since",
            "status",
            "value",
            "summary",
            "definition",
            "updated_at",
        ],
        &journal.alerts,
        |sep, a| {
            <DB as Typed<String>>::bind_sep(sep, a.objective.clone());
            <DB as Typed<String>>::bind_sep(sep, a.group.clone());
            <DB as Typed<String>>::bind_sep(sep, word(a.state));
            <DB as Typed<Option<String>>>::bind_sep(sep, a.severity.map(word));
            for t in [a.active_since, a.fired_at, a.clear_since, a.error_since] {
                DB::bind_time_sep(sep, t);
            }
            <DB as Typed<String>>::bind_sep(sep, word(a.status));
            <DB as Typed<Option<f64>>>::bind_sep(sep, a.value);
            <DB as Typed<String>>::bind_sep(sep, a.summary.clone());
            <DB as Typed<String>>::bind_sep(sep, a.definition.clone());
            DB::bind_time_sep(sep, Some(a.updated_at));
        },
        "saving alert state",
    )
    .await?;
    for (objective, group) in &journal.forget {
        let mut qb = QueryBuilder::<DB>::new("DELETE FROM handoff_alerts WHERE objective = ");
        <DB as Typed<String>>::bind(&mut qb, objective.clone());
        qb.push(" AND grp = ");
        <DB as Typed<String>>::bind(&mut qb, group.clone());
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>("forgetting alert state"))?;
    }
    insert::<DB, _>(
        conn,
        "handoff_alert_events",
        EVENT_COLUMNS,
        "objective, at, grp, to_state",
        &["from_state", "severity", "status", "value", "summary"],
        &journal.events,
        |sep, e| {
            <DB as Typed<String>>::bind_sep(sep, e.objective.clone());
            <DB as Typed<String>>::bind_sep(sep, e.group.clone());
            DB::bind_time_sep(sep, Some(e.at));
            <DB as Typed<String>>::bind_sep(sep, word(e.from_state));
            <DB as Typed<String>>::bind_sep(sep, word(e.to_state));
            <DB as Typed<Option<String>>>::bind_sep(sep, e.severity.map(word));
            <DB as Typed<String>>::bind_sep(sep, word(e.status));
            <DB as Typed<Option<f64>>>::bind_sep(sep, e.value);
            <DB as Typed<String>>::bind_sep(sep, e.summary.clone());
        },
        "recording alert events",
    )
    .await?;
    insert::<DB, _>(
        conn,
        "handoff_notifications",
        NOTIFY_COLUMNS,
        "receiver, objective, grp, topic",
        &[
            "state",
            "severity",
            "episode",
            "thread",
            "last_message",
            "sent_at",
        ],
        &journal.notified,
        |sep, n| {
            for t in [&n.receiver, &n.objective, &n.group] {
                <DB as Typed<String>>::bind_sep(sep, t.clone());
            }
            <DB as Typed<String>>::bind_sep(sep, word(n.topic));
            <DB as Typed<String>>::bind_sep(sep, word(n.state));
            <DB as Typed<Option<String>>>::bind_sep(sep, n.severity.map(word));
            DB::bind_time_sep(sep, Some(n.episode));
            <DB as Typed<String>>::bind_sep(sep, n.thread.clone());
            <DB as Typed<String>>::bind_sep(sep, n.last_message.clone());
            DB::bind_time_sep(sep, Some(n.sent_at));
        },
        "saving the notification log",
    )
    .await?;
    for (receiver, objective, group, topic) in &journal.unnotify {
        let mut qb = QueryBuilder::<DB>::new("DELETE FROM handoff_notifications WHERE receiver = ");
        <DB as Typed<String>>::bind(&mut qb, receiver.clone());
        for (column, value) in [
            ("objective", objective.clone()),
            ("grp", group.clone()),
            ("topic", word(*topic)),
        ] {
            qb.push(format_args!(" AND {column} = "));
            <DB as Typed<String>>::bind(&mut qb, value);
        }
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>("forgetting notification log entries"))?;
    }
    // A mail's content never changes once decided; only its delivery state does.
    insert::<DB, _>(
        conn,
        "handoff_outbox",
        OUTBOX_COLUMNS,
        "id",
        &[
            "state",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "last_error",
        ],
        &journal.outbox,
        |sep, m| {
            for t in [
                &m.id,
                &m.receiver,
                &m.objective,
                &m.group,
                &m.kind,
                &m.subject,
                &m.message,
            ] {
                <DB as Typed<String>>::bind_sep(sep, t.clone());
            }
            DB::bind_time_sep(sep, Some(m.created_at));
            <DB as Typed<String>>::bind_sep(sep, word(m.state));
            <DB as Typed<i64>>::bind_sep(sep, m.attempts);
            DB::bind_time_sep(sep, Some(m.next_attempt_at));
            DB::bind_time_sep(sep, m.sent_at);
            <DB as Typed<Option<String>>>::bind_sep(sep, m.last_error.clone());
        },
        "saving the outbox",
    )
    .await?;
    insert::<DB, _>(
        conn,
        "handoff_lead_notices",
        LEAD_NOTICE_COLUMNS,
        "objective, lead_id, kind, owner, receiver",
        &["mql_at", "told_at", "message_id"],
        &journal.lead_notices,
        |sep, n| {
            for t in [&n.objective, &n.lead_id, &n.kind, &n.owner, &n.receiver] {
                <DB as Typed<String>>::bind_sep(sep, t.clone());
            }
            DB::bind_time_sep(sep, Some(n.mql_at));
            DB::bind_time_sep(sep, Some(n.told_at));
            <DB as Typed<String>>::bind_sep(sep, n.message_id.clone());
        },
        "saving the lead notice log",
    )
    .await?;
    if let Some(before) = journal.prune_leads_before {
        let mut qb = QueryBuilder::<DB>::new("DELETE FROM handoff_lead_notices WHERE mql_at < ");
        DB::bind_time(&mut qb, Some(before));
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>("pruning the lead notice log"))?;
    }
    insert::<DB, _>(
        conn,
        "handoff_rule_sets",
        RULE_SET_COLUMNS,
        "loaded_at",
        &["hash", "source", "rules"],
        &journal.rule_sets,
        |sep, r| {
            DB::bind_time_sep(sep, Some(r.loaded_at));
            <DB as Typed<String>>::bind_sep(sep, r.hash.clone());
            <DB as Typed<String>>::bind_sep(sep, r.source.clone());
            <DB as Typed<String>>::bind_sep(sep, r.rules.clone());
        },
        "recording the change log of the rules",
    )
    .await?;
    insert::<DB, _>(
        conn,
        "handoff_silences",
        SILENCE_COLUMNS,
        "id",
        &["ends_at", "comment", "updated_at"],
        &journal.silences,
        |sep, s| {
            <DB as Typed<String>>::bind_sep(sep, s.id.clone());
            <DB as Typed<Option<String>>>::bind_sep(sep, s.objective.clone());
            <DB as Typed<Option<String>>>::bind_sep(sep, s.group.clone());
            <DB as Typed<Option<String>>>::bind_sep(sep, s.severity.map(word));
            DB::bind_time_sep(sep, Some(s.starts_at));
            DB::bind_time_sep(sep, Some(s.ends_at));
            <DB as Typed<String>>::bind_sep(sep, s.created_by.clone());
            <DB as Typed<String>>::bind_sep(sep, s.comment.clone());
            DB::bind_time_sep(sep, Some(s.created_at));
            DB::bind_time_sep(sep, Some(s.updated_at));
        },
        "saving silences",
    )
    .await?;
    // The first acknowledgement of an episode stays.
    insert::<DB, _>(
        conn,
        "handoff_acks",
        ACK_COLUMNS,
        "objective, grp, episode",
        &[],
        &journal.acks,
        |sep, a| {
            <DB as Typed<String>>::bind_sep(sep, a.objective.clone());
            <DB as Typed<String>>::bind_sep(sep, a.group.clone());
            DB::bind_time_sep(sep, Some(a.episode));
            <DB as Typed<String>>::bind_sep(sep, word(a.severity));
            <DB as Typed<String>>::bind_sep(sep, a.acked_by.clone());
            DB::bind_time_sep(sep, Some(a.acked_at));
        },
        "saving acknowledgements",
    )
    .await?;
    for (objective, group, episode) in &journal.unack {
        let mut qb = QueryBuilder::<DB>::new("DELETE FROM handoff_acks WHERE objective = ");
        <DB as Typed<String>>::bind(&mut qb, objective.clone());
        qb.push(" AND grp = ");
        <DB as Typed<String>>::bind(&mut qb, group.clone());
        qb.push(" AND episode = ");
        DB::bind_time(&mut qb, Some(*episode));
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>("removing acknowledgements"))?;
    }
    if let Some(before) = journal.prune_before {
        for (table, column, also) in [
            ("handoff_results", "evaluated_at", ""),
            ("handoff_alert_events", "at", ""),
            // Mail still to be delivered stays; so do the log entries of
            // alerts still firing and of missed periods (one per receiver and
            // group: they keep a period from being mailed twice).
            ("handoff_outbox", "created_at", " AND state <> 'pending'"),
            (
                "handoff_notifications",
                "sent_at",
                " AND state = 'resolved'",
            ),
            ("handoff_silences", "ends_at", ""),
            ("handoff_acks", "acked_at", ""),
        ] {
            let mut qb = QueryBuilder::<DB>::new(format!("DELETE FROM {table} WHERE {column} < "));
            DB::bind_time(&mut qb, Some(before));
            qb.push(also);
            DB::execute(conn, &mut qb)
                .await
                .map_err(failed::<DB>("pruning history"))?;
        }
        // The rule set in force at `before` (the newest loaded before it)
        // stays: it describes the oldest results kept, and the newest row
        // of the change log is never removed. MySQL reads the table it
        // deletes from only through a derived table, which the aggregate
        // keeps from being merged away.
        let mut qb = QueryBuilder::<DB>::new(
            "DELETE FROM handoff_rule_sets WHERE loaded_at < (SELECT newest FROM \
             (SELECT MAX(loaded_at) AS newest FROM handoff_rule_sets WHERE loaded_at < ",
        );
        DB::bind_time(&mut qb, Some(before));
        qb.push(") in_force)");
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>("pruning the change log of the rules"))?;
    }
    Ok(())
}

/// For each group of `objective` whose latest result, errors aside, is a
/// problem (`at_risk` or `breached`): the group and the `evaluated_at` of its
/// first problem result after its latest healthy one (`ok` or `no_data`), or
/// of its first result if it was never healthy.
///
/// A group whose latest result is healthy has no problem result after its
/// latest healthy one, so it drops out of the join without a test of its
/// own; error rows match neither status list, so they neither start nor
/// break a run. Both halves read only the objective's range of the primary
/// key `(objective, evaluated_at, grp)`, and the database aggregates: one
/// row per group comes back.
fn push_episode_starts<DB: Dialect>(qb: &mut QueryBuilder<DB>, objective: &str) {
    qb.push(
        "p.grp, MIN(p.evaluated_at) FROM handoff_results p \
         LEFT JOIN (SELECT grp, MAX(evaluated_at) AS healthy_at FROM handoff_results \
         WHERE objective = ",
    );
    <DB as Typed<String>>::bind(qb, objective.to_owned());
    qb.push(
        " AND status IN ('ok', 'no_data') GROUP BY grp) h ON h.grp = p.grp \
         WHERE p.objective = ",
    );
    <DB as Typed<String>>::bind(qb, objective.to_owned());
    qb.push(
        " AND p.status IN ('at_risk', 'breached') \
         AND (h.healthy_at IS NULL OR p.evaluated_at > h.healthy_at) GROUP BY p.grp",
    );
    qb.push(format_args!(" ORDER BY {}", DB::bytewise("p.grp")));
}

/// Upserts `rows` into `table` in multi-row statements within the backend's
/// parameter limit.
#[allow(clippy::too_many_arguments)]
async fn insert<DB: Dialect, R>(
    conn: &mut DB::Connection,
    table: &str,
    columns: &str,
    key: &str,
    update: &[&str],
    rows: &[R],
    bind: impl Fn(&mut sqlx::query_builder::Separated<'_, DB, &'static str>, &R),
    doing: &str,
) -> Result<(), StoreError> {
    let width = columns.split(',').count();
    let per_statement = (DB::MAX_PARAMS / width).clamp(1, 500);
    for chunk in rows.chunks(per_statement) {
        let mut qb = QueryBuilder::<DB>::new(format!("INSERT INTO {table} ({columns}) "));
        qb.push_values(chunk, |mut sep, r| bind(&mut sep, r));
        DB::push_upsert(&mut qb, key, update);
        DB::execute(conn, &mut qb)
            .await
            .map_err(failed::<DB>(doing))?;
    }
    Ok(())
}
