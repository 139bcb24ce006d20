//! The decision engine: everything the daemon decides, and nothing it does.
//!
//! ```text
//!  inputs                      Engine (no tokio, no locks, no I/O)         effects
//!  ──────                      ───────────────────────────────────         ───────
//!  Restored  (saved state)  ─►  board: results, alert series, episodes ─►  record   (rows to write)
//!  Evaluated (a result)     ─►  mail:  notification log, outbox        ─►  transitions (to log)
//!  Reloaded  (new rules)    ─►  SLA changes not yet told               ─►  start / stop (schedules)
//!  Tick      (the clock)    ─►                                         ─►  notices  (mail to deliver)
//!  Delivered (a send's end) ─►
//!                              snapshot: `board` (HTTP, /metrics and the page read it)
//! ```
//!
//! The daemon (`super`) is the shell: it runs the schedules and evaluations,
//! feeds their outcomes in as [`Input`]s, and carries out the [`Effects`]
//! (writes the record, delivers mail, starts and stops schedules, logs).
//! `handoff test` and `handoff backtest` drive the same engine on a simulated
//! clock. A new kind of input, effect or notice goes here; a new channel is a
//! new way for the shell to deliver [`Decided`] notices.
//!
//! The notification path follows Alertmanager's pipeline: what should be
//! known (firing alerts, missed periods, SLA changes) → inhibition (breach
//! alerts of objectives whose evaluations fail wait) → dedup against the
//! notification log → grouping per receiver (`group_wait`, `group_interval`)
//! → rendering → delivery by the shell. Silences and acknowledgements would
//! join as stages between inhibition and dedup.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::alerts::{Severity, State};
use super::board::{self, Board, Entry, Logged, Outcome, SOURCE_GROUP};
use super::leads::{self, LeadNotices};
use super::notify::{
    Decision, Known, KnownObjective, Live, MISSED_TOLD_FOR, MailOptions, MailState, Missed,
    SlaNotice, What, message_id, missed, retry_after, status_word, volume_result,
};
use crate::channels::{AlertId, Card};
use crate::codes::{Delivery, Topic};
use crate::mail::render::{self, MailKind, Notice, Thread};
use crate::rules::{Objective, RuleSet};
use crate::store::{AckRow, AlertRow, Journal, NotifyRow, OutboxRow, PeriodRow, SilenceRow};

/// The outbox's and notification log's group of review mail.
pub const REVIEW_GROUP: &str = "review";

/// Something that happened, for the engine to decide on.
#[derive(Debug)]
pub enum Input {
    /// Saved state read back on start.
    Restored(Box<Restored>),
    /// An objective was evaluated.
    Evaluated(Box<Outcome>),
    /// A new rule set was loaded.
    Reloaded {
        rules: Arc<RuleSet>,
        at: DateTime<Utc>,
        /// Why: `SIGHUP`, `a rule file changed`, `POST /-/reload`.
        why: String,
    },
    /// Time passed: decide what mail is due.
    Tick(DateTime<Utc>),
    /// A mail's delivery attempt ended: its new state, and when every
    /// delivery may resume if the server itself could not be reached.
    Delivered {
        row: Box<OutboxRow>,
        pause_until: Option<DateTime<Utc>>,
    },
    /// Drop from memory what the retention setting no longer keeps.
    Prune(DateTime<Utc>),
    /// A scan of an objective's leads in flight (docs/LEADS.md).
    Scanned(Box<super::leads::Scan>),
    /// The review of the last closed period was worked out (docs/REVIEW.md):
    /// its figures for the metrics and the page, its trend notices, and its
    /// mail once due.
    Reviewed {
        review: Arc<crate::review::Review>,
        at: DateTime<Utc>,
    },
    /// The silences as the database holds them now (docs/CHANNELS.md):
    /// those in force hold the notices they match.
    Silences(Vec<SilenceRow>),
    /// An alert episode was acknowledged: no reminders while it stays at
    /// the severity acknowledged.
    Acked(Box<AckRow>),
    /// The acknowledgements as the database holds them now.
    Acks(Vec<AckRow>),
}

/// Saved state, as the shell read it from the database.
#[derive(Debug, Default)]
pub struct Restored {
    pub alerts: Vec<AlertRow>,
    pub log: Vec<NotifyRow>,
    pub pending: Vec<OutboxRow>,
    /// Closed volume periods of the last [`MISSED_TOLD_FOR`].
    pub periods: Vec<PeriodRow>,
    /// (objective, group, start) of every episode still open in the results
    /// history.
    pub episodes: Vec<(String, String, DateTime<Utc>)>,
    /// The definitions recorded with the last rule set the daemon ran,
    /// by objective (none: no rule set was recorded yet).
    pub last_definitions: Option<BTreeMap<String, RecordedDefinition>>,
    /// The content hash of the last rule set recorded.
    pub last_rule_set: Option<String>,
    /// The lead notice log of the last [`leads::LOG_KEPT`].
    pub lead_log: Vec<crate::store::LeadNoticeRow>,
    /// Silences not ended yet, or ended lately.
    pub silences: Vec<SilenceRow>,
    /// Acknowledgements.
    pub acks: Vec<AckRow>,
    pub now: DateTime<Utc>,
}

/// An objective's definition as a recorded rule set holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedDefinition {
    pub key: String,
    pub json: serde_json::Value,
    pub origin: String,
}

/// What the shell is to do.
#[derive(Debug, Default)]
pub struct Effects {
    /// Rows to write.
    pub record: Journal,
    /// Alert transitions, to log.
    pub transitions: Vec<Logged>,
    /// Objectives whose schedule starts, or starts again (new, changed,
    /// back from removal, or with a new schedule): evaluate them now.
    pub start: Vec<Objective>,
    /// Objectives whose schedule stops.
    pub stop: Vec<String>,
    /// Mail decided: deliver it.
    pub notices: Vec<Decided>,
    /// Mails that could not be built (a failed permanent delivery).
    pub unbuildable: u64,
}

/// A mail decided, with the instant of the evaluation (or reload) that
/// caused what it tells.
#[derive(Clone, Debug)]
pub struct Decided {
    pub row: OutboxRow,
    pub caused_at: DateTime<Utc>,
}

/// A change of what an objective measures or of its target, until every
/// receiver has been told.
#[derive(Clone, Debug)]
pub struct SlaChange {
    pub objective: String,
    pub at: DateTime<Utc>,
    /// The lines that say what changed, old → new.
    pub changes: Vec<String>,
    /// Where the old definition was written.
    pub old_origin: String,
}

/// The engine.
pub struct Engine {
    /// What is known now: HTTP, `/metrics` and the status page read it.
    pub board: Board,
    /// The notification log, the outbox not yet delivered, the pause.
    pub mail: MailState,
    rules: Arc<RuleSet>,
    notices: Option<MailOptions>,
    /// The database, as people read it, for "evaluation failing" mail.
    database: String,
    /// SLA changes not yet told, by objective.
    pub sla: BTreeMap<String, SlaChange>,
    /// The content hash of the last rule set recorded in the change log.
    recorded: Option<String>,
    /// Lead notices: what was told, what waits for its digest.
    pub leads: LeadNotices,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("board", &self.board)
            .field("sla", &self.sla)
            .finish_non_exhaustive()
    }
}

/// The identity of what an objective measures: alert series, their saved
/// state and the notification log belong to it (docs/DAEMON.md, "Alert
/// identity and the SLA's change log").
pub fn definition(objective: &Objective) -> String {
    objective.definition_key()
}

impl Engine {
    /// Stops deciding notices and forgets the mail state: this daemon
    /// follows another, which decides and sends (docs/DAEMON.md, "Two
    /// daemons, one mailer"). Evaluations still reach the board.
    pub fn follow(&mut self) {
        self.notices = None;
        self.mail = MailState::default();
        self.board.generation += 1;
    }

    /// Whether this engine decides notices (mail is on and this daemon
    /// leads).
    pub fn decides_notices(&self) -> bool {
        self.notices.is_some()
    }

    /// An engine for `rules` at `now`, with nothing known yet. Without
    /// `notices`, no mail is decided.
    pub fn new(
        rules: Arc<RuleSet>,
        notices: Option<MailOptions>,
        database: String,
        now: DateTime<Utc>,
    ) -> Engine {
        let mut board = Board {
            rules_loaded_at: Some(now),
            rules_summary: rules.summary(),
            timezone: rules.timezone(),
            ..Board::default()
        };
        for o in rules.objectives() {
            board.order.push(o.name.clone());
            board
                .entries
                .insert(o.name.clone(), Entry::new(o.clone(), definition(o)));
        }
        Engine {
            board,
            mail: MailState::default(),
            rules,
            notices,
            database,
            sla: BTreeMap::new(),
            recorded: None,
            leads: LeadNotices::default(),
        }
    }

    /// The change log's row for the rules in force, if they differ from the
    /// last rule set recorded.
    fn record_rules(&mut self, at: DateTime<Utc>, why: &str) -> Option<crate::store::RuleSetRow> {
        let hash = self.rules.content_hash();
        if self.recorded.as_ref() == Some(&hash) {
            return None;
        }
        self.recorded = Some(hash.clone());
        Some(crate::store::RuleSetRow {
            loaded_at: at,
            hash,
            source: why.to_owned(),
            rules: crate::rules::canonical_text(&self.rules.normalized()),
        })
    }

    /// The rule set in force.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Whether mail is decided at all.
    pub fn mails(&self) -> bool {
        self.notices.is_some()
    }

    /// Takes one input and says what to do.
    pub fn handle(&mut self, input: Input) -> Effects {
        match input {
            Input::Restored(r) => self.restored(*r),
            Input::Evaluated(o) => self.evaluated(*o),
            Input::Reloaded { rules, at, why } => self.reloaded(rules, at, &why),
            Input::Tick(now) => self.tick(now),
            Input::Delivered { row, pause_until } => self.delivered(*row, pause_until),
            Input::Prune(before) => {
                self.mail.planner.prune(before);
                // The lead notice log is kept by its leads' hand-off, longer
                // than any scan reaches, whatever the retention.
                let leads_before = self.leads.last_scan.map(|t| t - leads::LOG_KEPT);
                if let Some(b) = leads_before {
                    self.leads.prune(b);
                }
                Effects {
                    record: Journal {
                        prune_before: Some(before),
                        prune_leads_before: leads_before,
                        ..Journal::default()
                    },
                    ..Effects::default()
                }
            }
            Input::Scanned(scan) => self.scanned(*scan),
            Input::Reviewed { review, at } => self.reviewed(review, at),
            Input::Silences(rows) => {
                if self.board.silences != rows {
                    self.board.silences = rows;
                    self.board.generation += 1;
                }
                Effects::default()
            }
            Input::Acked(row) => {
                self.acked(*row);
                Effects::default()
            }
            Input::Acks(rows) => {
                let acks: BTreeMap<_, _> = rows
                    .into_iter()
                    .map(|a| ((a.objective.clone(), a.group.clone(), a.episode), a))
                    .collect();
                if self.board.acks != acks {
                    self.board.acks = acks;
                    self.board.generation += 1;
                }
                Effects::default()
            }
        }
    }

    /// Takes a scan of an objective's leads in flight: the board's view of
    /// them, and the digests whose `group_wait` has passed, rendered into
    /// the outbox with the log of what they tell.
    fn scanned(&mut self, scan: leads::Scan) -> Effects {
        let mut effects = Effects::default();
        let rules = self.rules.clone();
        let Some(o) = rules.objective(&scan.objective) else {
            return effects;
        };
        let at = scan.at;
        let mail = self.notices.clone();
        let Some(view) = self.leads.scanned(&rules, o, scan, mail.is_some()) else {
            return effects;
        };
        match (&view.error, self.board.leads.get_mut(&o.name)) {
            // A failed scan keeps what the last good one found, and says so.
            (Some(e), Some(last)) => last.error = Some(e.clone()),
            _ => {
                self.board.leads.insert(o.name.clone(), view);
            }
        }
        self.board.generation += 1;
        let Some(mail) = mail else {
            return effects;
        };
        let domain = mail.from.email.domain().to_owned();
        for d in self.leads.ready(&o.name, at, mail.grouping.group_wait) {
            let id = leads::message_id(&d, &domain);
            let view = leads::view(&rules, o, &d, at, mail.external_url.as_deref());
            let rows = self.leads.told(&d, &id, at);
            for r in &rows {
                if let Some(k) = leads::NoticeKind::parse(&r.kind) {
                    *self.board.lead_notices.entry(k).or_default() += 1;
                }
            }
            effects.record.lead_notices.extend(rows);
            let built = mail.templates.render_leads(&view).and_then(|rendered| {
                render::message(
                    &mail.from,
                    &d.receiver,
                    &id,
                    &Thread::default(),
                    at,
                    &rendered,
                )
                .map(|m| (rendered, m))
            });
            let (rendered, message) = match built {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(receiver = %d.receiver, objective = %o.name, error = %e, "A lead notice could not be built; it is dropped.");
                    effects.unbuildable += 1;
                    continue;
                }
            };
            tracing::info!(
                receiver = %d.receiver,
                objective = %o.name,
                leads = d.lines.len(),
                subject = %rendered.subject,
                "Lead notice decided."
            );
            let row = OutboxRow {
                id,
                receiver: d.receiver.clone(),
                objective: o.name.clone(),
                group: leads::OUTBOX_GROUP.to_owned(),
                kind: leads::OUTBOX_KIND.to_owned(),
                subject: rendered.subject,
                message,
                ..OutboxRow::pending(at)
            };
            self.queue(&mut effects, row, at);
        }
        effects
    }

    /// A mail decided at `at`: saved with the record, kept for delivery,
    /// handed to the shell.
    fn queue(&mut self, effects: &mut Effects, row: OutboxRow, at: DateTime<Utc>) {
        effects.record.outbox.push(row.clone());
        self.mail.pending.push(row.clone());
        effects.notices.push(Decided { row, caused_at: at });
    }

    /// The review of the last closed period: kept for the metrics and
    /// `/review`; each receiver told once per period of a `trend:` drop
    /// (the objective's owners) and, from `review.send_at` on the first
    /// business day on, of the review (`review.to`). "Once" is the
    /// notification log's: topics `trend` and `review`, episode = the
    /// period's start, saved with the mail.
    fn reviewed(&mut self, review: Arc<crate::review::Review>, at: DateTime<Utc>) -> Effects {
        let mut effects = Effects::default();
        self.board.review = Some(review.clone());
        self.board.generation += 1;
        let Some(mail) = self.notices.clone() else {
            return effects;
        };
        let rules = self.rules.clone();
        let start = review.period.start;
        let links = crate::report::Links {
            home: mail.external_url.clone(),
            review_base: mail
                .external_url
                .as_ref()
                .map(|u| format!("{}/review/", u.trim_end_matches('/'))),
        };
        let domain = mail.from.email.domain().to_owned();
        // What to tell: (receiver, objective, group, topic, kind, mail).
        // One mail per receiver and message (a trend mail lists its groups),
        // and one log entry per group it tells.
        struct Wanted {
            receiver: String,
            objective: String,
            groups: Vec<String>,
            topic: Topic,
            kind: &'static str,
            rendered: render::Rendered,
        }
        let mut wanted = Vec::new();
        for o in &review.objectives {
            let Some(rule) = rules.objective(&o.name) else {
                continue;
            };
            let dropped: Vec<&crate::review::TrendReading> =
                o.trend.iter().filter(|t| t.dropped).collect();
            if dropped.is_empty() {
                continue;
            }
            let owners: Vec<crate::rules::Recipient> = rule
                .owner
                .iter()
                .map(|t| crate::rules::Recipient::Team(t.clone()))
                .collect();
            for receiver in rules.receivers(&owners) {
                if rules.muted(&receiver, at) {
                    continue;
                }
                let untold: Vec<&crate::review::TrendReading> = dropped
                    .iter()
                    .copied()
                    .filter(|t| {
                        self.mail
                            .planner
                            .log
                            .get(&(
                                receiver.clone(),
                                o.name.clone(),
                                t.group.clone(),
                                Topic::Trend,
                            ))
                            .is_none_or(|n| n.episode != start)
                    })
                    .collect();
                if untold.is_empty() {
                    continue;
                }
                wanted.push(Wanted {
                    rendered: crate::report::trend_mail(&review, o, &rules, &untold, &links),
                    receiver,
                    objective: o.name.clone(),
                    groups: untold.iter().map(|t| t.group.clone()).collect(),
                    topic: Topic::Trend,
                    kind: "trend",
                });
            }
        }
        let due = crate::review::mail_due(&rules, &review.period);
        if due.is_some_and(|d| at >= d) {
            let mut rendered = None;
            for receiver in rules.review_receivers() {
                if rules.muted(&receiver, at) {
                    continue;
                }
                let key = (
                    receiver.clone(),
                    String::new(),
                    REVIEW_GROUP.to_owned(),
                    Topic::Review,
                );
                if self
                    .mail
                    .planner
                    .log
                    .get(&key)
                    .is_some_and(|n| n.episode == start)
                {
                    continue;
                }
                let rendered = rendered
                    .get_or_insert_with(|| crate::report::review_mail(&review, &rules, &links))
                    .clone();
                wanted.push(Wanted {
                    receiver,
                    objective: String::new(),
                    groups: vec![REVIEW_GROUP.to_owned()],
                    topic: Topic::Review,
                    kind: "review",
                    rendered,
                });
            }
        }
        for w in wanted {
            let Wanted {
                receiver,
                objective,
                groups,
                topic,
                kind,
                rendered,
            } = w;
            let key = format!(
                "{kind}\0{objective}\0{}\0{receiver}\0{}",
                review.period.label, rendered.subject
            );
            let id = format!(
                "{kind}.{}.{:016x}@{domain}",
                review.period.label,
                xxhash_rust::xxh3::xxh3_64(key.as_bytes())
            );
            let link = links
                .review_base
                .as_ref()
                .map(|b| format!("{b}{}", review.period.label));
            let card = || {
                let alert = AlertId {
                    alertname: if kind == "trend" {
                        "HandoffTrend"
                    } else {
                        "HandoffReview"
                    }
                    .to_owned(),
                    objective: objective.clone(),
                    group: groups.join(","),
                    severity: "info",
                    firing: true,
                    starts_at: review.period.end,
                    ends_at: None,
                };
                Card::of_text(kind, &rendered.subject, &rendered.text, link, alert)
            };
            let message = match compose(
                &rules,
                &mail,
                &receiver,
                &id,
                &Thread::default(),
                at,
                &rendered,
                card,
            ) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(%receiver, kind, error = %e, "A review mail could not be built; it is dropped.");
                    effects.unbuildable += 1;
                    continue;
                }
            };
            tracing::info!(%receiver, kind, period = %review.period.label, subject = %rendered.subject, "Review mail decided.");
            let row = OutboxRow {
                id: id.clone(),
                receiver: receiver.clone(),
                objective: objective.clone(),
                group: groups.first().cloned().unwrap_or_default(),
                kind: kind.to_owned(),
                subject: rendered.subject,
                message,
                ..OutboxRow::pending(at)
            };
            self.queue(&mut effects, row, at);
            for group in groups {
                let row = NotifyRow {
                    receiver: receiver.clone(),
                    objective: objective.clone(),
                    group: group.clone(),
                    topic,
                    state: crate::codes::Told::Told,
                    severity: None,
                    episode: start,
                    thread: id.clone(),
                    last_message: id.clone(),
                    sent_at: at,
                };
                self.mail.planner.log.insert(
                    (receiver.clone(), objective.clone(), group, topic),
                    row.clone(),
                );
                effects.record.notified.push(row);
            }
        }
        effects
    }

    /// Keeps an acknowledgement (the first of its episode stays).
    fn acked(&mut self, row: AckRow) {
        self.board
            .acks
            .entry((row.objective.clone(), row.group.clone(), row.episode))
            .or_insert(row);
        self.board.generation += 1;
    }

    /// The earliest instant after `now` at which a scan of the leads in
    /// flight has something to decide (a digest's wait ends, a reminder or a
    /// deadline falls due).
    pub fn next_lead_scan(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let wait = self
            .notices
            .as_ref()
            .map_or(TimeDelta::zero(), |m| m.grouping.group_wait);
        self.leads.next_wake(now, wait)
    }

    fn evaluated(&mut self, outcome: Outcome) -> Effects {
        let name = outcome.result.name.clone();
        let mut effects = Effects::default();
        let Some((logged, journal)) = self.board.apply(&name, outcome) else {
            return effects;
        };
        effects.transitions = logged;
        effects.record = journal;
        // An alert that changed severity is no longer what was
        // acknowledged: its reminders come again, and a new acknowledgement
        // may be given (docs/CHANNELS.md).
        for l in &effects.transitions {
            if l.transition.to != crate::codes::Change::Escalated {
                continue;
            }
            let stale: Vec<_> = self
                .board
                .acks
                .keys()
                .filter(|(o, g, _)| *o == l.objective && *g == l.group)
                .cloned()
                .collect();
            for k in stale {
                self.board.acks.remove(&k);
                effects.record.unack.push(k);
            }
        }
        effects
    }

    /// Brings back saved state: alert series whose definition is unchanged,
    /// the notification log, the outbox, the missed periods, and the open
    /// episodes. An objective whose definition changed while the daemon was
    /// stopped (against the last recorded rule set) is an SLA change.
    fn restored(&mut self, r: Restored) -> Effects {
        let mut effects = Effects::default();
        let mut alerts = Vec::new();
        for mut row in r.alerts {
            // Saved before rule sets were recorded: the definition is taken
            // as unchanged (its key was computed another way then).
            if r.last_definitions.is_none()
                && let Some(e) = self.board.entries.get(&row.objective)
            {
                row.definition = e.definition.clone();
            }
            alerts.push(row);
        }
        if let Some(last) = &r.last_definitions {
            let rules = self.rules.clone();
            for o in rules.objectives() {
                if let Some(old) = last.get(&o.name)
                    && old.key != definition(o)
                {
                    self.note_sla_change(o, &old.json, &old.origin, r.now);
                }
            }
        }
        effects.record.forget = self.board.restore(alerts);
        self.recorded = r.last_rule_set.clone();
        effects
            .record
            .rule_sets
            .extend(self.record_rules(r.now, "start"));
        for (objective, group, start) in r.episodes {
            if let Some(e) = self.board.entries.get_mut(&objective)
                && !e.rejudge
            {
                e.episodes.insert(group, start);
            }
        }
        let now = r.now;
        self.mail.planner = super::notify::Planner::with_log(r.log);
        self.leads.restore(r.lead_log);
        self.board.silences = r.silences;
        for a in r.acks {
            self.acked(a);
        }
        let mut pending = r.pending;
        // A restart is often the fix (a new --smtp-url): what waits is tried
        // at once, its backoff starting over.
        for m in &mut pending {
            m.next_attempt_at = m.next_attempt_at.min(now);
        }
        self.mail.pending = pending;
        for row in r.periods {
            let Some(o) = self.rules.objective(&row.objective) else {
                continue;
            };
            if missed(o.kind(), &row) && !self.board.missed.contains(&row) {
                self.board.missed.push(row);
            }
        }
        self.board.generation += 1;
        effects
    }

    /// Records an SLA change of `o` from the definition `old`: its series are
    /// judged afresh at the next evaluation, and its receivers are told once.
    fn note_sla_change(
        &mut self,
        o: &Objective,
        old: &serde_json::Value,
        old_origin: &str,
        at: DateTime<Utc>,
    ) {
        let changes = crate::rules::definition_changes(old, &o.definition_json());
        let changes = changes
            .into_iter()
            .map(|line| pretty_change(o, &line))
            .collect();
        if let Some(e) = self.board.entries.get_mut(&o.name) {
            e.rejudge = true;
            e.episodes.clear();
            e.causes.clear();
        }
        tracing::info!(objective = %o.name, at = %o.origin, "The SLA changed: its alerts are judged afresh and its receivers told once.");
        self.sla.insert(
            o.name.clone(),
            SlaChange {
                objective: o.name.clone(),
                at,
                changes,
                old_origin: old_origin.to_owned(),
            },
        );
    }

    /// Takes a new rule set. Objectives whose definition did not change keep
    /// their alert state (a new schedule restarts their timer); changed ones
    /// are an SLA change; removed ones stop, their state parked for their
    /// return.
    fn reloaded(&mut self, rules: Arc<RuleSet>, now: DateTime<Utc>, why: &str) -> Effects {
        let mut effects = Effects::default();
        let mut forget = Vec::new();
        let mut entries = BTreeMap::new();
        let mut changed = Vec::new();
        let board = &mut self.board;
        // Objectives removed long enough ago are forgotten for good.
        board.parked.retain(|name, (old, since)| {
            let keep = now - *since < board::PARKED_FOR;
            if !keep {
                forget.extend(old.series.keys().map(|g| (name.clone(), g.clone())));
            }
            keep
        });
        for o in rules.objectives() {
            let def = definition(o);
            let current = board
                .entries
                .remove(&o.name)
                .map(|e| (e, false))
                .or_else(|| board.parked.remove(&o.name).map(|(e, _)| (e, true)));
            match current {
                Some((mut e, returning)) if e.definition == def => {
                    // Unchanged, or back unchanged after a removal: its alert
                    // state goes on.
                    if returning || e.objective.schedule != o.schedule {
                        effects.start.push(o.clone());
                    }
                    e.objective = o.clone();
                    entries.insert(o.name.clone(), e);
                }
                Some((old, _)) => {
                    forget.extend(old.series.keys().map(|g| (o.name.clone(), g.clone())));
                    let mut fresh = Entry::new(o.clone(), def);
                    fresh.chart = old.chart;
                    entries.insert(o.name.clone(), fresh);
                    changed.push((o.clone(), old.objective));
                    effects.start.push(o.clone());
                }
                None => {
                    entries.insert(o.name.clone(), Entry::new(o.clone(), def));
                    effects.start.push(o.clone());
                }
            }
        }
        // Removed objectives stop, their alert state parked: neither resolved
        // nor forgotten while they may come back.
        for (name, old) in std::mem::take(&mut board.entries) {
            board.parked.insert(name.clone(), (old, now));
            effects.stop.push(name);
        }
        board.entries = entries;
        board.order = rules.objectives().iter().map(|o| o.name.clone()).collect();
        board.rules_loaded_at = Some(now);
        board.rules_summary = rules.summary();
        board.timezone = rules.timezone();
        board.reload_error = None;
        board.generation += 1;
        effects.record.forget = forget;
        self.rules = rules;
        for (new, old) in changed {
            self.note_sla_change(&new, &old.definition_json(), &old.origin.to_string(), now);
        }
        // An SLA change of an objective that left the rules is not told.
        let rules = self.rules.clone();
        self.sla.retain(|name, _| rules.objective(name).is_some());
        self.leads.keep_objectives(&rules);
        self.board.leads.retain(|name, _| {
            rules
                .objective(name)
                .is_some_and(|o| leads::LeadClock::of(o).is_some())
        });
        effects.record.rule_sets.extend(self.record_rules(now, why));
        effects
    }

    /// A mail's delivery ended.
    fn delivered(&mut self, m: OutboxRow, pause_until: Option<DateTime<Utc>>) -> Effects {
        let state = &mut self.mail;
        if let Some(until) = pause_until {
            if crate::channels::is_endpoint(&m.receiver) {
                state.held.insert(m.receiver.clone(), until);
            } else {
                state.pause_until = Some(until);
            }
        }
        if let Some(p) = state.pending.iter_mut().find(|p| p.id == m.id) {
            *p = m.clone();
        }
        state.pending.retain(|p| p.state == Delivery::Pending);
        Effects {
            record: Journal {
                outbox: vec![m],
                ..Journal::default()
            },
            ..Effects::default()
        }
    }

    /// The receivers with mail due at `now` and no delivery under way; each
    /// is marked busy until [`Engine::done_with`].
    pub fn receivers_due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        if self.notices.is_none() {
            return Vec::new();
        }
        let state = &mut self.mail;
        state.held.retain(|_, until| *until > now);
        let due: BTreeSet<String> = state
            .pending
            .iter()
            .filter(|m| {
                m.next_attempt_at <= now
                    && !state.busy.contains(&m.receiver)
                    && !state.waits(&m.receiver, now)
            })
            .map(|m| m.receiver.clone())
            .collect();
        state.busy.extend(due.iter().cloned());
        due.into_iter().collect()
    }

    /// A receiver's delivery pass ended.
    pub fn done_with(&mut self, receiver: &str) {
        self.mail.busy.remove(receiver);
    }

    /// The next mail of `receiver` to hand to the server at `now`: oldest
    /// first, never before an older one of its thread still waiting, and
    /// none of the threads in `failed`.
    pub fn next_mail(
        &self,
        receiver: &str,
        now: DateTime<Utc>,
        failed: &BTreeSet<(String, String)>,
    ) -> Option<OutboxRow> {
        let state = &self.mail;
        if state.waits(receiver, now) {
            return None;
        }
        let mut waiting = BTreeSet::new();
        for m in state.pending.iter().filter(|m| m.receiver == receiver) {
            let thread = (m.objective.clone(), m.group.clone());
            if waiting.contains(&thread) || failed.contains(&thread) {
                continue;
            }
            if m.next_attempt_at <= now {
                return Some(m.clone());
            }
            waiting.insert(thread);
        }
        None
    }

    /// When a mail first fails for the `attempts`th time, its next attempt.
    pub fn retry_at(&self, attempts: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        let first = self
            .notices
            .as_ref()
            .map_or(super::notify::FIRST_RETRY, |m| m.first_retry);
        now + retry_after(attempts, first)
    }

    /// The earliest instant after `now` at which a [`Input::Tick`] may decide
    /// mail: the end of a receiver's group wait or interval, or a retry.
    /// Simulated clocks advance to it.
    pub fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let grouping = self.notices.as_ref()?.grouping;
        self.mail.planner.next_due(grouping).filter(|t| *t > now)
    }

    /// Decides what to tell now.
    fn tick(&mut self, now: DateTime<Utc>) -> Effects {
        let mut effects = Effects::default();
        let Some(mail) = self.notices.clone() else {
            return effects;
        };
        let rules = self.rules.clone();
        let board = &mut self.board;
        let state = &mut self.mail;
        let mut live = Vec::new();
        let mut known = Known::new();
        for name in &board.order {
            let Some(e) = board.entries.get(name) else {
                continue;
            };
            let o = &e.objective;
            known.insert(
                name.clone(),
                KnownObjective {
                    send_resolved: o.alert.send_resolved,
                    measured: e.last_ok.is_some() && !e.rejudge,
                    parked: false,
                    settling: self.sla.contains_key(name),
                },
            );
            let receivers = rules.notify_receivers(o);
            for (g, s) in &e.series {
                match s.state {
                    State::Firing => live.push(Live {
                        objective: name.clone(),
                        group: g.clone(),
                        severity: s.severity.unwrap_or(Severity::Critical),
                        fired_at: s.fired_at.unwrap_or(now),
                        receivers: receivers.clone(),
                        repeat: o.alert.repeat.to_chrono(),
                        pending: false,
                    }),
                    // A problem again before its resolution was told: the
                    // resolution waits, since it would not be true.
                    State::Pending => live.push(Live {
                        objective: name.clone(),
                        group: g.clone(),
                        severity: s.severity.unwrap_or(Severity::Critical),
                        fired_at: s.active_since.unwrap_or(now),
                        receivers: receivers.clone(),
                        repeat: o.alert.repeat.to_chrono(),
                        pending: true,
                    }),
                    State::Inactive => {}
                }
            }
        }
        for (name, (e, _)) in &board.parked {
            known.entry(name.clone()).or_insert(KnownObjective {
                send_resolved: e.objective.alert.send_resolved,
                measured: true,
                parked: true,
                settling: false,
            });
        }
        let mut inhibited = BTreeSet::new();
        if board.source.state == State::Firing {
            let mut receivers = BTreeSet::new();
            for e in board.failing() {
                receivers.extend(rules.notify_receivers(&e.objective));
                inhibited.insert(e.objective.name.clone());
            }
            live.push(Live {
                objective: String::new(),
                group: SOURCE_GROUP.to_owned(),
                severity: Severity::Critical,
                fired_at: board.source.fired_at.unwrap_or(now),
                receivers,
                // Told once, then its end: no reminders.
                repeat: TimeDelta::MAX,
                pending: false,
            });
        }
        board
            .missed
            .retain(|r| known.contains_key(&r.objective) && now - r.period_end < MISSED_TOLD_FOR);
        let missed_now: Vec<Missed> = board
            .missed
            .iter()
            .filter_map(|r| {
                let o = &board.entries.get(&r.objective)?.objective;
                Some(Missed {
                    row: r.clone(),
                    receivers: rules.notify_receivers(o),
                })
            })
            .collect();
        // An SLA change is told once the objective has been judged under its
        // new definition, so that the notice says where it stands.
        let sla: Vec<SlaNotice> = self
            .sla
            .values()
            .filter_map(|c| {
                let e = board.entries.get(&c.objective)?;
                Some(SlaNotice {
                    objective: c.objective.clone(),
                    at: c.at,
                    receivers: rules.notify_receivers(&e.objective),
                    ready: !e.rejudge && e.last_ok.is_some_and(|t| t >= c.at),
                })
            })
            .collect();
        // Silences in force, acknowledged episodes, and the receivers whose
        // teams are all muted now (docs/CHANNELS.md).
        let silences: Vec<SilenceRow> = board
            .silences
            .iter()
            .filter(|s| s.active(now))
            .cloned()
            .collect();
        if silences.len() != board.active_silences {
            board.active_silences = silences.len();
            board.generation += 1;
        }
        let acked: BTreeMap<(String, String, DateTime<Utc>), Severity> = board
            .acks
            .iter()
            .map(|(k, a)| (k.clone(), a.severity))
            .collect();
        let muted: BTreeSet<String> = live
            .iter()
            .flat_map(|l| l.receivers.iter())
            .chain(missed_now.iter().flat_map(|m| m.receivers.iter()))
            .chain(sla.iter().flat_map(|s| s.receivers.iter()))
            .chain(state.planner.log.keys().map(|k| &k.0))
            .filter(|r| rules.muted(r, now))
            .cloned()
            .collect();
        let facts = super::notify::Facts {
            live: &live,
            known: &known,
            inhibited: &inhibited,
            missed: &missed_now,
            sla: &sla,
            silences: &silences,
            acked: &acked,
            muted: &muted,
        };
        let decisions = state.planner.plan(&facts, now, mail.grouping);
        effects.record.unnotify = state.planner.take_forgotten();
        let domain = mail.from.email.domain().to_owned();
        for d in decisions {
            match &d.what {
                What::Resolved { send: false, .. } | What::Continued { .. } => {
                    let last = d.thread.as_ref().map(|t| t.1.clone()).unwrap_or_default();
                    effects
                        .record
                        .notified
                        .push(state.planner.note(&d, &last, now));
                    continue;
                }
                _ => {}
            }
            let id = message_id(&d, &domain);
            let Composed {
                kind,
                rendered,
                caused_at,
                view,
                alert,
            } = render_decision(board, &self.sla, &mail, &self.database, &d, now);
            let thread = Thread {
                root: d.thread.as_ref().map(|t| t.0.clone()),
                parent: d.thread.as_ref().map(|t| t.1.clone()),
            };
            let message = match compose(
                &rules,
                &mail,
                &d.receiver,
                &id,
                &thread,
                now,
                &rendered,
                || {
                    let ack = view.ack.clone();
                    Card::of_view(&view, kind.as_str(), alert, ack)
                },
            ) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(receiver = %d.receiver, error = %e, "A mail could not be built; it is dropped.");
                    effects.unbuildable += 1;
                    effects
                        .record
                        .notified
                        .push(state.planner.note(&d, &id, now));
                    continue;
                }
            };
            let kind = match &d.what {
                What::Firing { repeat: true, .. } => format!("{}:repeat", kind.as_str()),
                _ => kind.as_str().to_owned(),
            };
            tracing::info!(
                receiver = %d.receiver,
                objective = %d.objective,
                group = %d.group,
                kind = %kind,
                subject = %rendered.subject,
                "Mail decided."
            );
            let row = OutboxRow {
                id: id.clone(),
                receiver: d.receiver.clone(),
                objective: d.objective.clone(),
                group: d.group.clone(),
                kind,
                subject: rendered.subject,
                message,
                created_at: now,
                state: Delivery::Pending,
                attempts: 0,
                next_attempt_at: now,
                sent_at: None,
                last_error: None,
            };
            effects
                .record
                .notified
                .push(state.planner.note(&d, &id, now));
            if let What::SlaChanged = d.what {
                // The receiver now knows where the objective stands under
                // its new definition: what it was told of its alerts is set
                // to that, with no mail of its own.
                let firing: Vec<&Live> = live
                    .iter()
                    .filter(|l| l.objective == d.objective && !l.pending)
                    .collect();
                effects.record.notified.extend(state.planner.settle(
                    &d.receiver,
                    &d.objective,
                    &firing,
                    &id,
                    now,
                ));
            }
            effects.record.outbox.push(row.clone());
            state.pending.push(row.clone());
            effects.notices.push(Decided { row, caused_at });
        }
        // Missed periods every receiver has been told of are done.
        let log = &state.planner.log;
        board.missed.retain(|r| {
            missed_now.iter().any(|m| {
                &m.row == r
                    && m.receivers.iter().any(|rcv| {
                        log.get(&(
                            rcv.clone(),
                            r.objective.clone(),
                            r.group.clone(),
                            Topic::Period,
                        ))
                        .is_none_or(|t| t.episode < r.period_start)
                    })
            })
        });
        // SLA changes every receiver has been told of are done.
        self.sla.retain(|name, c| {
            sla.iter().any(|n| {
                &n.objective == name
                    && n.receivers.iter().any(|rcv| {
                        log.get(&(rcv.clone(), name.clone(), String::new(), Topic::Sla))
                            .is_none_or(|t| t.episode < c.at)
                    })
            })
        });
        if !effects.record.is_empty() {
            board.generation += 1;
        }
        effects
    }
}

/// A change line as people read it: numbers of a ratio kind's target as
/// percentages, other whole numbers without a fraction:
/// `target.webinar: 0.95 → 0.9` → `target.webinar: 95% → 90%`.
fn pretty_change(o: &Objective, line: &str) -> String {
    let Some((path, values)) = line.split_once(": ") else {
        return line.to_owned();
    };
    let ratio = board::is_ratio(o.kind()) && path.starts_with("target");
    let show = |v: &str| {
        let v = v.trim();
        match v.parse::<f64>() {
            Ok(x) if ratio => render::percent(x),
            Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
            _ => v.to_owned(),
        }
    };
    match values.split_once(" → ") {
        Some((a, b)) => format!("{path}: {} → {}", show(a), show(b)),
        None => line.to_owned(),
    }
}

/// Shows in `notice` the figures of the evaluation that caused the
/// transition told, and the latest ones beside them when they differ.
fn use_cause<'a>(
    notice: &mut Notice<'a>,
    cause: Option<&'a (DateTime<Utc>, crate::eval::GroupResult)>,
    latest: Option<&'a crate::eval::GroupResult>,
    caused_at: &mut DateTime<Utc>,
) {
    if let Some((at, r)) = cause {
        notice.result = Some(r);
        notice.measured_at = Some(*at);
        *caused_at = *at;
        if latest.is_some_and(|l| l != r) {
            notice.latest = latest;
        }
    }
}

/// What one decision says: its kind, its mail, the instant of the
/// evaluation that caused it, and the view and alert identity chat and
/// webhook receivers are told from.
struct Composed {
    kind: MailKind,
    rendered: render::Rendered,
    caused_at: DateTime<Utc>,
    view: render::View,
    alert: AlertId,
}

/// The message for `receiver`: a webhook, Slack or Teams body (JSON) when
/// the receiver is one of the rules' endpoints, else the whole mail.
#[allow(clippy::too_many_arguments)]
fn compose(
    rules: &RuleSet,
    mail: &MailOptions,
    receiver: &str,
    id: &str,
    thread: &Thread,
    at: DateTime<Utc>,
    rendered: &render::Rendered,
    card: impl FnOnce() -> Card,
) -> Result<String, String> {
    if let Some(endpoint) = rules.endpoint(receiver) {
        let teams = rules.receiver_teams(receiver).join(", ");
        return Ok(card().payload(endpoint.kind, &teams, mail.external_url.as_deref()));
    }
    if crate::channels::is_endpoint(receiver) {
        return Err(format!("{receiver} is no longer in the rules"));
    }
    render::message(&mail.from, receiver, id, thread, at, rendered)
}

/// Writes the mail of one decision, and what chat and webhook receivers
/// are told.
fn render_decision(
    board: &Board,
    sla: &BTreeMap<String, SlaChange>,
    mail: &MailOptions,
    database: &str,
    d: &Decision,
    now: DateTime<Utc>,
) -> Composed {
    let entry = board.entries.get(&d.objective);
    let objective = entry.map(|e| &e.objective);
    let latest = entry
        .and_then(|e| e.last.as_ref())
        .and_then(|r| r.results.iter().find(|g| g.group == d.group));
    let series = entry.and_then(|e| e.series.get(&d.group));
    let cause = entry.and_then(|e| e.causes.get(&d.group));
    let failing: Vec<_> = board
        .failing()
        .into_iter()
        .map(|e| (&e.objective, e.failure.as_ref()))
        .collect();
    let period_result;
    let statuses: Vec<(String, String)>;
    let mut caused_at = entry.and_then(|e| e.last_ok).unwrap_or(now);
    let mut notice = Notice {
        kind: MailKind::Breach,
        repeat: false,
        changed_from: None,
        objective,
        group: &d.group,
        result: latest,
        latest: None,
        held_until: None,
        measured_at: entry.and_then(|e| e.last_ok),
        latest_measured_at: entry.and_then(|e| e.last_ok),
        since: entry
            .and_then(|e| e.episodes.get(&d.group).copied())
            .or_else(|| series.and_then(|s| s.active_since)),
        fired_at: Some(d.episode),
        resolved_at: None,
        resolved_status: None,
        period: None,
        failing: Vec::new(),
        changes: Vec::new(),
        statuses: Vec::new(),
        database,
        receiver: &d.receiver,
        external_url: mail.external_url.as_deref(),
        ack: None,
    };
    let mut alert = AlertId {
        alertname: String::new(),
        objective: d.objective.clone(),
        group: d.group.clone(),
        severity: "info",
        firing: true,
        starts_at: d.episode,
        ends_at: None,
    };
    match &d.what {
        What::Firing {
            severity,
            repeat,
            changed_from,
        } => {
            notice.repeat = *repeat;
            notice.changed_from = changed_from.map(status_word);
            notice.kind = match (d.objective.is_empty(), severity) {
                (true, _) => MailKind::EvaluationFailing,
                (false, Severity::Critical) => MailKind::Breach,
                (false, Severity::Warning) => MailKind::AtRisk,
            };
            alert.alertname = alertname(&d.objective, *severity).to_owned();
            alert.severity = severity.as_str();
            // Reminders can be stopped: the link that acknowledges the
            // episode (the "evaluation failing" alert has no reminders).
            if let (Some(key), Some(base), false) = (
                mail.ack.as_deref(),
                mail.external_url.as_deref(),
                d.objective.is_empty(),
            ) {
                notice.ack = Some(key.link(
                    base,
                    &super::acks::Episode {
                        objective: d.objective.clone(),
                        group: d.group.clone(),
                        fired_at: d.episode,
                    },
                ));
            }
            if d.objective.is_empty() {
                notice.failing = failing;
                notice.since = board.source.active_since;
                notice.measured_at = None;
                caused_at = board.source.fired_at.unwrap_or(now);
            } else if !*repeat {
                use_cause(&mut notice, cause, latest, &mut caused_at);
            }
            // Held by keep_firing_for: the latest figure meets the target.
            if let (Some(s), Some(o)) = (series, objective)
                && let Some(clear) = s.clear_since
            {
                notice.held_until = Some(clear + o.alert.keep_firing_for.to_chrono());
                if notice.latest.is_none()
                    && let Some((_, r)) = cause
                    && latest.is_some_and(|l| l != r)
                {
                    notice.result = Some(r);
                    notice.latest = latest;
                }
            }
        }
        What::Resolved { severity, .. } => {
            alert.alertname = alertname(&d.objective, *severity).to_owned();
            alert.severity = severity.as_str();
            alert.firing = false;
            notice.kind = MailKind::Resolved;
            notice.resolved_at = Some(now);
            notice.resolved_status = Some(status_word(*severity));
            notice.since = None;
            if d.objective.is_empty() {
                caused_at = board.source.fired_at.unwrap_or(now);
            } else {
                use_cause(&mut notice, cause, latest, &mut caused_at);
                if cause.is_some() {
                    notice.resolved_at = notice.measured_at;
                }
            }
        }
        What::PeriodMissed(row) => {
            alert.alertname = "HandoffPeriodMissed".to_owned();
            alert.starts_at = row.period_end;
            notice.kind = MailKind::PeriodMissed;
            period_result = volume_result(row);
            notice.result = Some(&period_result);
            notice.latest = None;
            notice.period = Some((row.period_start, row.period_end));
            notice.measured_at = Some(row.period_end);
            notice.since = None;
            notice.fired_at = None;
            caused_at = row.recorded_at;
        }
        What::SlaChanged => {
            alert.alertname = "HandoffSlaChanged".to_owned();
            notice.kind = MailKind::SlaChanged;
            notice.since = None;
            notice.fired_at = None;
            notice.result = None;
            if let Some(c) = sla.get(&d.objective) {
                notice.changes = c.changes.clone();
                notice
                    .changes
                    .push(format!("was written at {}", c.old_origin));
                notice.measured_at = entry.and_then(|e| e.last_ok);
                caused_at = entry.and_then(|e| e.last_ok).unwrap_or(c.at);
            }
            statuses = entry.map_or_else(Vec::new, |e| {
                e.latest
                    .iter()
                    .map(|(g, l)| (g.clone(), l.summary.clone()))
                    .collect()
            });
            notice.statuses = statuses;
        }
        What::Continued { .. } => {}
    }
    let rendered = mail.templates.render(&notice).unwrap_or_else(|e| {
        tracing::error!(error = %e, "A mail template failed; the mail goes out as plain facts.");
        let v = render::view(&notice);
        // Text only: an empty HTML part would show as a blank mail.
        render::Rendered {
            subject: v.subject.clone(),
            text: format!(
                "{}\n\n{}\n\n(The mail template failed: {e})\n",
                v.subject, v.headline
            ),
            html: String::new(),
        }
    });
    if !alert.firing {
        alert.ends_at = Some(notice.resolved_at.unwrap_or(now));
    }
    Composed {
        kind: notice.kind,
        view: render::view(&notice),
        rendered,
        caused_at,
        alert,
    }
}

/// The webhook's `alertname` of an alert: the names of the shipped
/// Prometheus rules that tell the same.
fn alertname(objective: &str, severity: Severity) -> &'static str {
    match (objective.is_empty(), severity) {
        (true, _) => "HandoffEvaluationFailing",
        (false, Severity::Critical) => "HandoffObjectiveBreached",
        (false, Severity::Warning) => "HandoffObjectiveAtRisk",
    }
}

/// The definitions of a recorded rule set (the `rules` column of
/// `handoff_rule_sets`), by objective.
pub fn recorded_definitions(rules: &serde_json::Value) -> BTreeMap<String, RecordedDefinition> {
    let mut out = BTreeMap::new();
    for (name, o) in crate::rules::recorded_objectives(rules) {
        let Some(json) = o.get("definition") else {
            continue;
        };
        let text = crate::rules::canonical_text(json);
        out.insert(
            name.to_owned(),
            RecordedDefinition {
                // As `Objective::definition_key` computes it.
                key: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes())),
                json: json.clone(),
                origin: o
                    .get("origin")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Grouping;
    use crate::eval::{Details, GroupResult, ObjectiveResult, Status, VolumeDetails};

    /// `s` seconds after 2026-11-10 09:00 UTC.
    fn t(s: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-10T09:00:00Z")
            .unwrap()
            .to_utc()
            + TimeDelta::seconds(s)
    }

    fn rules(target: u32, alert: &str) -> Arc<RuleSet> {
        let text = format!(
            "version: 1\ntimezone: UTC\nteams:\n  mkt: {{ email: [m@acme.example] }}\n\
             objectives:\n  - name: volume\n    kind: lead_volume\n    owner: mkt\n    \
             schedule: '* * * * *'\n    window: month\n    target: {target}\n    alert: {alert}\n"
        );
        Arc::new(crate::rules::load_str("r.yaml", &text).unwrap_or_else(|e| panic!("{e}")))
    }

    fn engine(rules: Arc<RuleSet>) -> Engine {
        let mail = crate::daemon::replay::notices(Grouping::default()).unwrap();
        Engine::new(rules, Some(mail), "sqlite://test.db".to_owned(), t(0))
    }

    /// One evaluation of `volume`: `delivered` MQLs against `target`.
    fn evaluated(e: &Engine, at: i64, delivered: u64, target: f64, status: Status) -> Input {
        let o = &e.rules().objectives()[0];
        let start = t(0) - TimeDelta::days(9);
        Input::Evaluated(Box::new(Outcome {
            definition: definition(o),
            at: t(at),
            duration: 0.0,
            result: ObjectiveResult {
                name: "volume".to_owned(),
                kind: o.kind(),
                results: vec![GroupResult {
                    group: "all".to_owned(),
                    group_name: None,
                    status,
                    value: Some(delivered as f64),
                    target: Some(target),
                    numerator: None,
                    denominator: None,
                    details: Details::LeadVolume(VolumeDetails {
                        attainment: Some(delivered as f64 / target),
                        delivered,
                        elapsed: None,
                        expected: None,
                        pace: None,
                        period_end: start + TimeDelta::days(30),
                        window_start: start,
                    }),
                }],
            },
            closed: None,
            period: None,
        }))
    }

    /// Evaluates as [`evaluated`] says, then ticks at the same instant (the
    /// daemon's mail round runs after every evaluation); returns the subjects
    /// decided.
    fn ev(e: &mut Engine, at: i64, delivered: u64, target: f64, status: Status) -> Vec<String> {
        let input = evaluated(e, at, delivered, target, status);
        e.handle(input);
        tick(e, at)
    }

    /// The subjects of the mail decided at `at`.
    fn tick(e: &mut Engine, at: i64) -> Vec<String> {
        e.handle(Input::Tick(t(at)))
            .notices
            .into_iter()
            .map(|d| d.row.subject)
            .collect()
    }

    fn body(d: &Decided) -> String {
        d.row.message.replace("=\r\n", "").replace("\r\n", "\n")
    }

    /// `volume` owned by `mkt`, whose team is `team` (YAML flow mapping).
    fn rules_with(team: &str, alert: &str) -> Arc<RuleSet> {
        let text = format!(
            "version: 1\ntimezone: UTC\nteams:\n  mkt: {team}\n\
             objectives:\n  - name: volume\n    kind: lead_volume\n    owner: mkt\n    \
             schedule: '* * * * *'\n    window: month\n    target: 10\n    alert: {alert}\n"
        );
        Arc::new(crate::rules::load_str("r.yaml", &text).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn an_acknowledged_breach_gets_no_reminders_until_its_status_changes() {
        let alert = "{ for: 0, repeat: 1h }";
        let mut e = engine(rules(10, alert));
        let mut control = engine(rules(10, alert));
        for x in [&mut e, &mut control] {
            assert!(ev(x, 0, 1, 10.0, Status::Breached).is_empty());
            assert_eq!(
                tick(x, 31),
                ["[handoff] BREACHED volume: 1 MQLs; target 10"]
            );
        }
        let fired = e.board.entries["volume"].series["all"].fired_at.unwrap();
        e.handle(Input::Acked(Box::new(AckRow {
            objective: "volume".into(),
            group: "all".into(),
            episode: fired,
            severity: Severity::Critical,
            acked_by: "Ana".into(),
            acked_at: t(60),
        })));
        // An hour after the mail a reminder is due: the control gets it,
        // the acknowledged one does not, nor an hour later.
        assert_eq!(
            ev(&mut control, 3700, 1, 10.0, Status::Breached),
            ["[handoff] BREACHED volume: 1 MQLs; target 10"]
        );
        assert!(ev(&mut e, 3700, 1, 10.0, Status::Breached).is_empty());
        assert!(ev(&mut e, 7400, 1, 10.0, Status::Breached).is_empty());
        // At risk now: a change of status is told, and its reminders go.
        assert_eq!(
            ev(&mut e, 7500, 8, 10.0, Status::AtRisk),
            ["[handoff] AT RISK volume: 8 MQLs; target 10"]
        );
        assert_eq!(
            ev(&mut e, 7500 + 3700, 8, 10.0, Status::AtRisk),
            ["[handoff] AT RISK volume: 8 MQLs; target 10"]
        );
    }

    #[test]
    fn a_silenced_breach_waits_and_its_resolution_is_told() {
        let mut e = engine(rules(10, "{ for: 0 }"));
        let silence = |until: i64| crate::store::SilenceRow {
            id: "s1".into(),
            objective: Some("volume".into()),
            group: None,
            severity: None,
            starts_at: t(0),
            ends_at: t(until),
            created_by: "Ana".into(),
            comment: "late import".into(),
            created_at: t(0),
            updated_at: t(0),
        };
        e.handle(Input::Silences(vec![silence(600)]));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        assert!(tick(&mut e, 31).is_empty(), "silenced");
        assert!(tick(&mut e, 599).is_empty(), "silenced");
        // The silence ends: what is still true is told, after group_wait
        // (30 s), as anything new.
        assert!(tick(&mut e, 600).is_empty());
        assert_eq!(
            tick(&mut e, 630),
            ["[handoff] BREACHED volume: 1 MQLs; target 10"]
        );
        // Silenced again; the figure recovers: the resolution goes to the
        // receiver that was told, silence or not.
        e.handle(Input::Silences(vec![silence(100_000)]));
        assert_eq!(
            ev(&mut e, 1000, 12, 10.0, Status::Ok),
            ["[handoff] RESOLVED volume: 12 MQLs; target 10"]
        );
    }

    #[test]
    fn a_muted_team_is_told_when_its_mute_ends() {
        // t(0) is Tuesday 09:00 UTC; the team is muted 09:00-10:00.
        let mut e = engine(rules_with(
            "{ email: [m@acme.example], mute: [{ times: '09:00-10:00' }] }",
            "{ for: 0 }",
        ));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        assert!(tick(&mut e, 31).is_empty(), "muted");
        assert!(tick(&mut e, 3599).is_empty(), "muted");
        assert_eq!(
            tick(&mut e, 3600),
            ["[handoff] BREACHED volume: 1 MQLs; target 10"]
        );
    }

    #[test]
    fn chat_and_webhook_receivers_get_json_bodies_in_the_outbox() {
        let mut e = engine(rules_with(
            "{ email: [m@acme.example], slack: 'https://hooks.slack.com/services/T0/B0/SECRET1', webhook: 'https://hooks.acme.example/h/SECRET2', msteams: 'https://acme.webhook.office.com/w/SECRET3' }",
            "{ for: 0 }",
        ));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        let effects = e.handle(Input::Tick(t(31)));
        let mut by: Vec<(String, String)> = effects
            .notices
            .iter()
            .map(|d| (d.row.receiver.clone(), d.row.message.clone()))
            .collect();
        by.sort();
        let kinds: Vec<&str> = by
            .iter()
            .map(|(r, _)| r.split(':').next().unwrap())
            .collect();
        assert_eq!(kinds, ["m@acme.example", "msteams", "slack", "webhook"]);
        for (receiver, message) in &by[1..] {
            assert!(!receiver.contains("SECRET"), "{receiver}");
            let v: serde_json::Value = serde_json::from_str(message).unwrap();
            match receiver.split(':').next().unwrap() {
                "slack" => assert_eq!(v["blocks"][0]["text"]["text"], "BREACHED: volume"),
                "msteams" => assert_eq!(v["type"], "message"),
                _ => {
                    assert_eq!(
                        v["alerts"][0]["labels"]["alertname"],
                        "HandoffObjectiveBreached"
                    );
                    assert_eq!(v["receiver"], "mkt");
                }
            }
        }
        assert!(by[0].1.contains("Subject: [handoff] BREACHED volume"));
    }

    #[test]
    fn a_breach_held_by_keep_firing_for_shows_its_breaching_figure_and_says_so() {
        let mut e = engine(rules(10, "{ for: 0, keep_firing_for: 1h }"));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        // Ten seconds later the figure meets the target; the alert is held.
        assert!(ev(&mut e, 10, 12, 10.0, Status::Ok).is_empty());
        assert!(tick(&mut e, 10).is_empty(), "group_wait");
        let effects = e.handle(Input::Tick(t(31)));
        assert_eq!(effects.notices.len(), 1);
        let d = &effects.notices[0];
        // The subject tells the evaluation that fired it (1 of 10), not the
        // healthy latest figure, and the body says why it still fires.
        assert_eq!(
            d.row.subject,
            "[handoff] BREACHED volume: 1 MQLs; target 10"
        );
        assert_eq!(d.caused_at, t(0));
        let text = body(d);
        assert!(text.contains("Latest: 12 MQLs; target 10"), "{text}");
        assert!(text.contains("held by keep_firing_for"), "{text}");
    }

    #[test]
    fn a_resolution_waits_while_the_series_breaches_again_and_is_not_told_if_it_fires() {
        let mut e = engine(rules(10, "{ for: 10m }"));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        assert!(ev(&mut e, 600, 1, 10.0, Status::Breached).is_empty());
        assert_eq!(
            tick(&mut e, 631),
            ["[handoff] BREACHED volume: 1 MQLs; target 10"]
        );
        // Kept at 12:00 (resolved at once: no keep_firing_for), then broken
        // again at 12:30, before the group interval (5 min after 10:31) ends.
        assert!(ev(&mut e, 720, 12, 10.0, Status::Ok).is_empty());
        assert!(ev(&mut e, 750, 2, 10.0, Status::Breached).is_empty());
        // At the end of the interval the series is pending, not resolved: no
        // RESOLVED mail with a breached figure.
        assert!(tick(&mut e, 932).is_empty());
        // It fires again (10 min after 12:30): for the receiver it never
        // stopped, so neither a resolution nor a new BREACHED thread goes.
        assert!(ev(&mut e, 1350, 2, 10.0, Status::Breached).is_empty());
        assert!(tick(&mut e, 1400).is_empty());
        assert!(tick(&mut e, 1700).is_empty());
        // A real recovery is told, in the old thread.
        // (The interval has passed: it goes at once.)
        assert_eq!(
            ev(&mut e, 1800, 12, 10.0, Status::Ok),
            ["[handoff] RESOLVED volume: 12 MQLs; target 10"]
        );
        assert!(
            e.mail
                .pending
                .last()
                .unwrap()
                .message
                .contains("In-Reply-To:")
        );
    }

    #[test]
    fn a_target_edited_and_reverted_is_told_as_two_sla_changes_and_nothing_else() {
        let mut e = engine(rules(10, "{ for: 10m }"));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        assert!(ev(&mut e, 600, 1, 10.0, Status::Breached).is_empty());
        assert_eq!(
            tick(&mut e, 631),
            ["[handoff] BREACHED volume: 1 MQLs; target 10"]
        );
        // Lowered to 1: kept under the new promise.
        let effects = e.handle(Input::Reloaded {
            rules: rules(1, "{ for: 10m }"),
            at: t(700),
            why: "SIGHUP".to_owned(),
        });
        assert_eq!(effects.start.len(), 1, "evaluated at once");
        assert!(tick(&mut e, 701).is_empty(), "told once judged afresh");
        assert!(ev(&mut e, 702, 1, 1.0, Status::Ok).is_empty());
        let effects = e.handle(Input::Tick(t(1000)));
        let subjects: Vec<&str> = effects
            .notices
            .iter()
            .map(|d| d.row.subject.as_str())
            .collect();
        assert_eq!(subjects, ["[handoff] SLA CHANGED volume: target: 10 → 1"]);
        let text = body(&effects.notices[0]);
        assert!(text.contains("ok: 1 MQLs delivered, target 1"), "{text}");
        assert!(text.contains("was written at r.yaml:"), "{text}");
        assert!(tick(&mut e, 2000).is_empty(), "no RESOLVED for the edit");
        // Reverted to 10: breached again under it, fired at once, told as an
        // SLA change only.
        e.handle(Input::Reloaded {
            rules: rules(10, "{ for: 10m }"),
            at: t(3000),
            why: "SIGHUP".to_owned(),
        });
        assert!(ev(&mut e, 3001, 1, 10.0, Status::Breached).is_empty());
        let effects = e.handle(Input::Tick(t(3400)));
        let subjects: Vec<&str> = effects
            .notices
            .iter()
            .map(|d| d.row.subject.as_str())
            .collect();
        assert_eq!(subjects, ["[handoff] SLA CHANGED volume: target: 1 → 10"]);
        assert!(body(&effects.notices[0]).contains("breached: 1 MQLs delivered, target 10"));
        assert_eq!(
            e.board.entries["volume"].series["all"].state,
            State::Firing,
            "judged afresh: firing without waiting for `for`"
        );
        for at in [3700, 4000, 10_000] {
            assert!(tick(&mut e, at).is_empty(), "no BREACHED for the edit");
        }
        // A real recovery afterwards is news, in the SLA notice's thread.
        let sla_id = e.mail.planner.log[&(
            "m@acme.example".to_owned(),
            "volume".to_owned(),
            "all".to_owned(),
            crate::codes::Topic::Alert,
        )]
            .thread
            .clone();
        assert_eq!(
            ev(&mut e, 10_001, 12, 10.0, Status::Ok),
            ["[handoff] RESOLVED volume: 12 MQLs; target 10"]
        );
        let last = e.mail.pending.last().unwrap();
        assert!(
            last.message.contains(&format!("In-Reply-To: <{sla_id}>")),
            "{}",
            last.message
        );
    }

    #[test]
    fn alert_timing_changes_are_not_sla_changes() {
        let mut e = engine(rules(10, "{ for: 10m }"));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        assert!(ev(&mut e, 600, 1, 10.0, Status::Breached).is_empty());
        assert_eq!(tick(&mut e, 631).len(), 1);
        e.handle(Input::Reloaded {
            rules: rules(10, "{ for: 20m, keep_firing_for: 1h }"),
            at: t(700),
            why: "SIGHUP".to_owned(),
        });
        assert!(ev(&mut e, 701, 1, 10.0, Status::Breached).is_empty());
        assert!(e.sla.is_empty());
        assert_eq!(e.board.entries["volume"].series["all"].state, State::Firing);
        for at in [1000, 1400] {
            assert!(tick(&mut e, at).is_empty());
        }
    }

    #[test]
    fn since_is_the_start_of_the_episode_in_the_history() {
        let mut e = engine(rules(10, "{ for: 0 }"));
        let ninety_days_ago = t(0) - TimeDelta::days(90);
        e.handle(Input::Restored(Box::new(Restored {
            episodes: vec![("volume".to_owned(), "all".to_owned(), ninety_days_ago)],
            now: t(0),
            ..Restored::default()
        })));
        assert!(ev(&mut e, 0, 1, 10.0, Status::Breached).is_empty());
        let effects = e.handle(Input::Tick(t(31)));
        let text = body(&effects.notices[0]);
        assert!(
            text.contains("Broken since: Wed 12 Aug 2026, 09:00 UTC"),
            "{text}"
        );
    }
}
