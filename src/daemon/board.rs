//! The board: what the daemon knows right now, in memory. The latest result of
//! every objective, every alert series, the chart points of the last 90 days and
//! the record not yet written. HTTP reads it; evaluations update it; nothing
//! here touches the database.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::alerts::{Change, Observation, Series, Severity, Timing, Transition};
use crate::codes::Delivery;
use crate::eval::{Failure, GroupResult, ObjectiveResult, Status};
use crate::rules::{Kind, Objective};
use crate::store::{AlertEvent, AlertRow, Journal, PeriodRow, ResultRow};

/// How far back the status page draws.
pub const CHART_DAYS: i64 = 90;

/// The alert row key of the "evaluation failing" alert (objective "", group
/// "database"): one per data source.
pub const SOURCE_GROUP: &str = "database";

/// Results not yet written are kept up to this many bytes (of their details,
/// plus a row's fixed part) while the database is away; the oldest are dropped
/// first. Alert state is always kept whole.
pub const MAX_UNWRITTEN_BYTES: usize = 16 << 20;

/// Alert events not yet written are kept up to this many.
pub const MAX_UNWRITTEN_EVENTS: usize = 50_000;

/// Outbox rows not yet written are kept up to this many (mail still pending
/// always).
pub const MAX_UNWRITTEN_MAIL: usize = 10_000;

/// Missed periods waiting to be told are kept up to this many.
pub const MAX_MISSED: usize = 10_000;

/// What a result row holds in memory, roughly.
fn row_bytes(r: &ResultRow) -> usize {
    256 + r.details.len() + r.objective.len() + r.group.len()
}

/// One objective on the board.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The objective as loaded.
    pub objective: Objective,
    /// Fingerprint of its definition: state is kept across reloads only while it
    /// stays the same.
    pub definition: String,
    /// The latest successful result.
    pub last: Option<ObjectiveResult>,
    /// When the latest evaluation (good or failed) ran, and how long it took.
    pub evaluated_at: Option<DateTime<Utc>>,
    /// When the latest successful evaluation ran.
    pub last_ok: Option<DateTime<Utc>>,
    pub duration: Option<f64>,
    /// The failure of the latest evaluation, if it failed.
    pub failure: Option<Failure>,
    /// When the next run starts.
    pub next_run: Option<DateTime<Utc>>,
    /// Alert series by group.
    pub series: BTreeMap<String, Series>,
    /// The status, value and one-line summary of each group's last evaluation.
    pub latest: BTreeMap<String, Latest>,
    /// Daily chart points by group: the last value of each UTC day.
    pub chart: BTreeMap<String, Vec<(DateTime<Utc>, f64)>>,
    /// The start of the calendar period of the latest evaluation (calendar
    /// windows only): when it moves on, the period closed.
    pub period: Option<DateTime<Utc>>,
    /// The start of each group's episode: the first evaluation of its
    /// unbroken run of `at_risk`/`breached` results (an `ok` or `no_data`
    /// result ends it; an `error` neither starts nor ends one). Restored from
    /// the results history, so it is true across restarts.
    pub episodes: BTreeMap<String, DateTime<Utc>>,
    /// Each group's evaluation that caused its latest alert transition: its
    /// instant and figures, which a notice about that transition shows.
    pub causes: BTreeMap<String, (DateTime<Utc>, GroupResult)>,
    /// The definition changed (an SLA change): the next successful
    /// evaluation judges every group afresh, setting its alert straight to
    /// what the new definition says, without `for` or `keep_firing_for`.
    pub rejudge: bool,
}

/// A group's last evaluation, as alerts and the page show it.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest {
    pub status: Status,
    pub value: Option<f64>,
    pub summary: String,
}

impl Entry {
    /// A fresh entry, not evaluated yet.
    pub fn new(objective: Objective, definition: String) -> Entry {
        Entry {
            objective,
            definition,
            last: None,
            evaluated_at: None,
            last_ok: None,
            duration: None,
            failure: None,
            next_run: None,
            series: BTreeMap::new(),
            latest: BTreeMap::new(),
            chart: BTreeMap::new(),
            period: None,
            episodes: BTreeMap::new(),
            causes: BTreeMap::new(),
            rejudge: false,
        }
    }

    /// Adds a chart point, keeping the last value of each UTC day.
    pub fn chart_point(&mut self, group: &str, at: DateTime<Utc>, value: f64, now: DateTime<Utc>) {
        if !value.is_finite() {
            return;
        }
        let points = self.chart.entry(group.to_owned()).or_default();
        let day = |t: DateTime<Utc>| -> NaiveDate { t.date_naive() };
        match points.last_mut() {
            Some(last) if day(last.0) == day(at) && last.0 <= at => *last = (at, value),
            Some(last) if last.0 > at => return,
            _ => points.push((at, value)),
        }
        let oldest = now - TimeDelta::days(CHART_DAYS);
        let stale = points.iter().take_while(|(t, _)| *t < oldest).count();
        points.drain(..stale);
        // Groups not seen for the whole chart span (a campaign that ended) go.
        self.chart
            .retain(|_, p| p.last().is_some_and(|(t, _)| *t >= oldest));
    }

    /// The groups known for this objective: of its latest result, else of its
    /// alert series.
    fn known_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.latest.keys().cloned().collect();
        for g in self.series.keys() {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        groups
    }
}

/// The whole board.
#[derive(Debug, Default)]
pub struct Board {
    /// Objectives by name.
    pub entries: BTreeMap<String, Entry>,
    /// Rule order, for display.
    pub order: Vec<String>,
    /// The "evaluation failing" alert of the database.
    pub source: Series,
    /// Rule set state.
    pub rules_loaded_at: Option<DateTime<Utc>>,
    pub rules_summary: String,
    /// The rules' time zone, in which the page shows every time.
    pub timezone: chrono_tz::Tz,
    pub reload_error: Option<String>,
    /// Bumped on every change, so that caches of what is derived from the
    /// board (the /metrics body) know to refresh.
    pub generation: u64,
    /// Closed `lead_volume` periods below target, until every receiver has
    /// been told.
    pub missed: Vec<PeriodRow>,
    /// Objectives a reload removed, with their alert state and when they left:
    /// an objective restored unchanged within [`PARKED_FOR`] takes its alerts
    /// back, so nobody is told again of what they already know.
    pub parked: BTreeMap<String, (Entry, DateTime<Utc>)>,
    /// What the last scan of each objective's leads in flight found
    /// (objectives with `notify_reps`).
    pub leads: BTreeMap<String, super::leads::InFlightView>,
    /// Lead notices told since start, by kind.
    pub lead_notices: BTreeMap<super::leads::NoticeKind, u64>,
    /// The review of the last closed period, once worked out
    /// (docs/REVIEW.md): the closed-period metrics and `/review` read it.
    pub review: Option<std::sync::Arc<crate::review::Review>>,
    /// Silences not ended, or ended lately, newest first (docs/CHANNELS.md).
    pub silences: Vec<crate::store::SilenceRow>,
    /// How many of them were in force at the last mail round.
    pub active_silences: usize,
    /// Acknowledged episodes: (objective, group, fired_at).
    pub acks: BTreeMap<(String, String, DateTime<Utc>), crate::store::AckRow>,
}

/// How long a removed objective's alert state is kept for its return.
pub const PARKED_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);

impl Board {
    /// The silence in force at `now` that holds the alert of `objective`,
    /// `group` at `severity`, if any.
    pub fn silence_of(
        &self,
        objective: &str,
        group: &str,
        severity: Option<crate::codes::Severity>,
        now: DateTime<Utc>,
    ) -> Option<&crate::store::SilenceRow> {
        self.silences
            .iter()
            .find(|s| s.active(now) && s.matches(objective, group, severity))
    }

    /// The acknowledgement of the episode of `objective`, `group` that
    /// fired at `fired_at`.
    pub fn ack_of(
        &self,
        objective: &str,
        group: &str,
        fired_at: DateTime<Utc>,
    ) -> Option<&crate::store::AckRow> {
        self.acks
            .get(&(objective.to_owned(), group.to_owned(), fired_at))
    }
}

/// One evaluation to put on the board.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub definition: String,
    pub at: DateTime<Utc>,
    pub duration: f64,
    pub result: ObjectiveResult,
    /// The final figures of a period that closed, evaluated at its end.
    pub closed: Option<(crate::eval::period::Period, ObjectiveResult)>,
    /// The start of the calendar period containing `at`.
    pub period: Option<DateTime<Utc>>,
}

/// An alert transition, for the log.
#[derive(Clone, Debug)]
pub struct Logged {
    pub objective: String,
    pub group: String,
    pub transition: Transition,
    pub summary: String,
}

impl Board {
    /// Applies one evaluation: latest results, alert steps, chart. Returns the
    /// transitions made and the rows to record, or `None` when the
    /// objective's definition changed while it ran (the result is dropped).
    pub fn apply(&mut self, name: &str, outcome: Outcome) -> Option<(Vec<Logged>, Journal)> {
        let entry = self.entries.get_mut(name)?;
        if entry.definition != outcome.definition {
            return None;
        }
        let at = outcome.at;
        let objective = entry.objective.clone();
        let timing = Timing::of(&objective.alert);
        let mut logged = Vec::new();
        let mut journal = Journal::default();

        entry.evaluated_at = Some(at);
        entry.duration = Some(outcome.duration);
        if let Some(p) = outcome.period {
            entry.period = Some(p);
        }
        let failure = outcome.result.failure().cloned();
        for r in &outcome.result.results {
            journal.results.push(result_row(name, at, r));
        }
        if let Some((period, closed)) = &outcome.closed {
            for r in &closed.results {
                let row = period_row(name, *period, at, r);
                if super::notify::missed(objective.kind(), &row) {
                    if self.missed.len() >= MAX_MISSED {
                        self.missed.remove(0);
                    }
                    self.missed.push(row.clone());
                }
                journal.periods.push(row);
            }
        }
        match &failure {
            Some(f) => {
                entry.failure = Some(f.clone());
                for group in entry.known_groups() {
                    let latest = entry.latest.entry(group.clone()).or_insert(Latest {
                        status: Status::Error,
                        value: None,
                        summary: String::new(),
                    });
                    latest.status = Status::Error;
                    latest.value = None;
                    latest.summary = format!("error: {}", f.reason.as_str());
                    let series = entry.series.entry(group.clone()).or_default();
                    series.step(Observation::Error, at, timing);
                }
            }
            None => {
                entry.failure = None;
                entry.latest.clear();
                let rejudge = std::mem::take(&mut entry.rejudge);
                for r in &outcome.result.results {
                    let summary = summarize(&objective, r);
                    entry.latest.insert(
                        r.group.clone(),
                        Latest {
                            status: r.status,
                            value: r.value,
                            summary: summary.clone(),
                        },
                    );
                    match r.status {
                        Status::AtRisk | Status::Breached => {
                            entry.episodes.entry(r.group.clone()).or_insert(at);
                        }
                        Status::Ok | Status::NoData => {
                            entry.episodes.remove(&r.group);
                        }
                        Status::Error => {}
                    }
                    let series = entry.series.entry(r.group.clone()).or_default();
                    let obs = Observation::of(r.status, &objective.alert);
                    let step = if rejudge {
                        series.judge(obs, at)
                    } else {
                        series.step(obs, at, timing)
                    };
                    if let Some(t) = step {
                        let summary = if rejudge {
                            format!("{summary} (judged afresh: the SLA changed)")
                        } else {
                            summary
                        };
                        journal
                            .events
                            .push(event_row(name, &r.group, at, &t, r, &summary));
                        entry.causes.insert(r.group.clone(), (at, r.clone()));
                        logged.push(Logged {
                            objective: name.to_owned(),
                            group: r.group.clone(),
                            transition: t,
                            summary,
                        });
                    }
                    if let Some(v) = r.value {
                        entry.chart_point(&r.group, at, v, at);
                    }
                }
                // Groups that no longer appear (no leads in the window) have
                // nothing to measure: `on_no_data` decides, with the
                // objective's timing; a series back to inactive is forgotten.
                let gone: Vec<String> = entry
                    .series
                    .keys()
                    .filter(|g| !entry.latest.contains_key(*g))
                    .cloned()
                    .collect();
                let absent = Observation::of(Status::NoData, &objective.alert);
                for g in gone {
                    entry.episodes.remove(&g);
                    if let Some(mut s) = entry.series.remove(&g) {
                        let t = if rejudge {
                            s.judge(absent, at)
                        } else {
                            s.step(absent, at, timing)
                        };
                        if t.is_some() {
                            entry.causes.remove(&g);
                        }
                        if s.is_active() {
                            entry.series.insert(g.clone(), s);
                        }
                        if let Some(t) = t {
                            let summary = format!("{g}: no longer measured");
                            journal.events.push(AlertEvent {
                                objective: name.to_owned(),
                                group: g.clone(),
                                at,
                                from_state: t.from,
                                to_state: t.to,
                                severity: Some(t.severity),
                                status: Status::NoData,
                                value: None,
                                summary: summary.clone(),
                            });
                            logged.push(Logged {
                                objective: name.to_owned(),
                                group: g.clone(),
                                transition: t,
                                summary,
                            });
                        }
                        if !entry.series.contains_key(&g) {
                            journal.forget.push((name.to_owned(), g));
                        }
                    }
                }
                entry.last_ok = Some(at);
                entry.last = Some(outcome.result);
            }
        }
        let entry = &self.entries[name];
        for (group, s) in &entry.series {
            journal.alerts.push(alert_row(name, group, s, entry, at));
        }
        logged.extend(self.step_source(at, &mut journal));
        self.generation += 1;
        Some((logged, journal))
    }

    /// Steps the "evaluation failing" alert: a problem while any objective
    /// whose `on_error` is `alert` has its latest evaluation failing, held for
    /// the shortest `for` among them.
    fn step_source(&mut self, at: DateTime<Utc>, journal: &mut Journal) -> Option<Logged> {
        let failing: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| e.failure.is_some() && Timing::counts_errors(&e.objective.alert))
            .collect();
        let (obs, timing) = match failing
            .iter()
            .map(|e| Timing::of(&e.objective.alert))
            .min_by_key(|t| t.pending_for)
        {
            Some(t) => (
                Observation::Problem(Severity::Critical),
                Timing {
                    pending_for: t.pending_for,
                    keep_firing_for: TimeDelta::zero(),
                },
            ),
            None => (Observation::Healthy, Timing::default()),
        };
        let summary = source_summary(&failing);
        let before = self.source.clone();
        let t = self.source.step(obs, at, timing);
        if self.source != before || t.is_some() {
            journal.alerts.push(AlertRow {
                objective: String::new(),
                group: SOURCE_GROUP.to_owned(),
                state: self.source.state,
                severity: self.source.severity,
                active_since: self.source.active_since,
                fired_at: self.source.fired_at,
                clear_since: self.source.clear_since,
                error_since: self.source.error_since,
                status: if failing.is_empty() {
                    Status::Ok
                } else {
                    Status::Error
                },
                value: Some(failing.len() as f64),
                summary: summary.clone(),
                definition: String::new(),
                updated_at: at,
            });
        }
        let t = t?;
        journal.events.push(AlertEvent {
            objective: String::new(),
            group: SOURCE_GROUP.to_owned(),
            at,
            from_state: t.from,
            to_state: t.to,
            severity: Some(t.severity),
            status: if failing.is_empty() {
                Status::Ok
            } else {
                Status::Error
            },
            value: Some(failing.len() as f64),
            summary: summary.clone(),
        });
        Some(Logged {
            objective: String::new(),
            group: SOURCE_GROUP.to_owned(),
            transition: t,
            summary,
        })
    }
}

/// Adds `journal` to the rows not yet written, `u`, bounded: the latest state
/// of a series, log entry or mail replaces an earlier one; results, events
/// and delivered mail are dropped oldest first beyond their bounds.
pub fn merge_journal(u: &mut Journal, journal: Journal) {
    {
        u.results.extend(journal.results);
        let mut bytes: usize = u.results.iter().map(row_bytes).sum();
        if bytes > MAX_UNWRITTEN_BYTES {
            let mut drop = 0;
            while bytes > MAX_UNWRITTEN_BYTES && drop < u.results.len() {
                bytes -= row_bytes(&u.results[drop]);
                drop += 1;
            }
            tracing::warn!(
                rows = drop,
                "The database has been away long enough that the oldest unwritten results are dropped; alert state is kept."
            );
            u.results.drain(..drop);
        }
        u.periods.extend(journal.periods);
        let events = u.events.len() + journal.events.len();
        if events > MAX_UNWRITTEN_EVENTS {
            let drop = (events - MAX_UNWRITTEN_EVENTS).min(u.events.len());
            u.events.drain(..drop);
        }
        // The latest state of a series replaces any earlier unwritten one.
        for a in journal.alerts {
            u.alerts
                .retain(|b| (&b.objective, &b.group) != (&a.objective, &a.group));
            u.forget.retain(|(o, g)| (o, g) != (&a.objective, &a.group));
            u.alerts.push(a);
        }
        for f in journal.forget {
            u.alerts
                .retain(|b| (&b.objective, &b.group) != (&f.0, &f.1));
            if !u.forget.contains(&f) {
                u.forget.push(f);
            }
        }
        u.events.extend(journal.events);
        // Mail state: the latest entry of a log key or an outbox row wins.
        for n in journal.notified {
            let key = (&n.receiver, &n.objective, &n.group, &n.topic);
            u.notified
                .retain(|m| (&m.receiver, &m.objective, &m.group, &m.topic) != key);
            u.unnotify.retain(|k| (&k.0, &k.1, &k.2, &k.3) != key);
            u.notified.push(n);
        }
        for k in journal.unnotify {
            u.notified.retain(|m| {
                (&m.receiver, &m.objective, &m.group, &m.topic) != (&k.0, &k.1, &k.2, &k.3)
            });
            if !u.unnotify.contains(&k) {
                u.unnotify.push(k);
            }
        }
        for m in journal.outbox {
            u.outbox.retain(|o| o.id != m.id);
            u.outbox.push(m);
        }
        // Mail already delivered is only a record: while the database is away
        // long enough, the oldest such rows go first.
        if u.outbox.len() > MAX_UNWRITTEN_MAIL {
            let mut over = u.outbox.len() - MAX_UNWRITTEN_MAIL;
            u.outbox.retain(|o| {
                let drop = over > 0 && o.state != Delivery::Pending;
                over -= usize::from(drop);
                !drop
            });
        }
        // The change log: every rule set loaded, in order.
        u.rule_sets.extend(journal.rule_sets);
        if journal.prune_before.is_some() {
            u.prune_before = journal.prune_before;
        }
        // Lead notices: each (objective, lead, kind, owner, receiver) once.
        u.lead_notices.extend(journal.lead_notices);
        u.lead_notices.sort();
        u.lead_notices.dedup_by(|a, b| {
            (&a.objective, &a.lead_id, &a.kind, &a.owner, &a.receiver)
                == (&b.objective, &b.lead_id, &b.kind, &b.owner, &b.receiver)
        });
        if journal.prune_leads_before.is_some() {
            u.prune_leads_before = journal.prune_leads_before;
        }
    }
}

impl Board {
    /// The firing and pending alerts: (objective, group, series, summary).
    pub fn active_alerts(&self) -> Vec<(&Entry, &str, &Series)> {
        let mut out = Vec::new();
        for name in &self.order {
            let Some(e) = self.entries.get(name) else {
                continue;
            };
            for (g, s) in &e.series {
                if s.is_active() {
                    out.push((e, g.as_str(), s));
                }
            }
        }
        out
    }

    /// Objectives whose latest evaluation failed, counted towards the
    /// "evaluation failing" alert.
    pub fn failing(&self) -> Vec<&Entry> {
        self.entries
            .values()
            .filter(|e| e.failure.is_some() && Timing::counts_errors(&e.objective.alert))
            .collect()
    }

    /// Restores saved alert state: series of objectives whose definition is
    /// unchanged come back as they were; the rest are forgotten (returned,
    /// to delete from the saved state).
    pub fn restore(&mut self, rows: Vec<AlertRow>) -> Vec<(String, String)> {
        let mut forget = Vec::new();
        for row in rows {
            let series = series_of(&row);
            if row.objective.is_empty() && row.group == SOURCE_GROUP {
                self.source = series;
                continue;
            }
            match self.entries.get_mut(&row.objective) {
                Some(e) if e.definition == row.definition => {
                    if let Some(p) = period_of(&e.objective, row.updated_at) {
                        e.period = Some(e.period.map_or(p, |q: DateTime<Utc>| q.max(p)));
                    }
                    e.latest.insert(
                        row.group.clone(),
                        Latest {
                            status: row.status,
                            value: row.value,
                            summary: row.summary.clone(),
                        },
                    );
                    e.evaluated_at = Some(
                        e.evaluated_at
                            .map_or(row.updated_at, |t| t.max(row.updated_at)),
                    );
                    e.last_ok = e.evaluated_at;
                    e.series.insert(row.group, series);
                }
                _ => forget.push((row.objective, row.group)),
            }
        }
        self.generation += 1;
        forget
    }
}

/// The start of the calendar period containing `t`, for calendar windows.
pub fn period_of(objective: &Objective, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    objective.window.is_calendar_period().then(|| {
        crate::eval::period::Period::containing(objective.window, objective.timezone, t).start
    })
}

fn series_of(row: &AlertRow) -> Series {
    Series {
        state: row.state,
        severity: row.severity,
        active_since: row.active_since,
        fired_at: row.fired_at,
        clear_since: row.clear_since,
        error_since: row.error_since,
    }
}

fn alert_row(name: &str, group: &str, s: &Series, entry: &Entry, at: DateTime<Utc>) -> AlertRow {
    let latest = entry.latest.get(group);
    AlertRow {
        objective: name.to_owned(),
        group: group.to_owned(),
        state: s.state,
        severity: s.severity,
        active_since: s.active_since,
        fired_at: s.fired_at,
        clear_since: s.clear_since,
        error_since: s.error_since,
        status: latest.map_or(Status::Error, |l| l.status),
        value: latest.and_then(|l| l.value),
        summary: latest.map(|l| l.summary.clone()).unwrap_or_default(),
        definition: entry.definition.clone(),
        // The last successful evaluation: after a restart, the period it fell
        // in tells which close is still due.
        updated_at: entry.last_ok.unwrap_or(at),
    }
}

pub(super) fn result_row(name: &str, at: DateTime<Utc>, r: &GroupResult) -> ResultRow {
    ResultRow {
        objective: name.to_owned(),
        group: r.group.clone(),
        evaluated_at: at,
        status: r.status,
        value: r.value,
        target: r.target,
        numerator: r.numerator,
        denominator: r.denominator,
        details: r.details_json().to_string(),
    }
}

pub(super) fn period_row(
    name: &str,
    period: crate::eval::period::Period,
    recorded: DateTime<Utc>,
    r: &GroupResult,
) -> PeriodRow {
    PeriodRow {
        objective: name.to_owned(),
        group: r.group.clone(),
        period_start: period.start,
        period_end: period.end,
        status: r.status,
        value: r.value,
        target: r.target,
        numerator: r.numerator,
        denominator: r.denominator,
        details: r.details_json().to_string(),
        recorded_at: recorded,
    }
}

fn event_row(
    name: &str,
    group: &str,
    at: DateTime<Utc>,
    t: &Transition,
    r: &GroupResult,
    summary: &str,
) -> AlertEvent {
    AlertEvent {
        objective: name.to_owned(),
        group: group.to_owned(),
        at,
        from_state: t.from,
        to_state: t.to,
        severity: Some(t.severity),
        status: r.status,
        value: r.value,
        summary: summary.to_owned(),
    }
}

fn source_summary(failing: &[&Entry]) -> String {
    if failing.is_empty() {
        return "every evaluation succeeds".to_owned();
    }
    let names: Vec<String> = failing
        .iter()
        .map(|e| {
            let reason = e.failure.as_ref().map_or("error", |f| f.reason.as_str());
            format!("{} ({reason})", e.objective.name)
        })
        .collect();
    format!("evaluations failing: {}", names.join(", "))
}

/// Whether a kind's value is a ratio (shown as a percentage).
pub fn is_ratio(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::LeadQuality | Kind::PercentWorked | Kind::ContactAttempts
    )
}

/// A value as people read it: ratios as percentages, counts as integers.
pub fn format_value(kind: Kind, v: Option<f64>) -> String {
    match v {
        None => "—".to_owned(),
        Some(v) if is_ratio(kind) => format!("{:.1}%", v * 100.0),
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// One line saying what was measured against what was promised:
/// `breached: 81.0% worked within 4h, target 95.0%`.
pub fn summarize(objective: &Objective, r: &GroupResult) -> String {
    let kind = objective.kind();
    let value = format_value(kind, r.value);
    let target = r.target.map(|t| format_value(kind, Some(t)));
    let what = match kind {
        Kind::LeadVolume => format!("{value} MQLs delivered"),
        Kind::LeadQuality => format!("{value} of decided MQLs accepted"),
        Kind::PercentWorked => match &objective.spec {
            crate::rules::Spec::PercentWorked { respond_within, .. } => {
                format!("{value} worked within {respond_within}")
            }
            _ => format!("{value} worked in time"),
        },
        Kind::ContactAttempts => format!("{value} of abandoned leads tried enough"),
        Kind::Profitability => format!("attempts pay up to attempt {value}"),
    };
    let mut line = format!("{}: {what}", r.status.as_str());
    if let Some(t) = target {
        line.push_str(&format!(", target {t}"));
    }
    if r.group != "all" {
        line = format!("{} — {line}", r.group);
    }
    line
}

/// Marks a transition in the log.
pub fn log_transition(l: &Logged) {
    let Transition { from, to, severity } = l.transition;
    let objective = if l.objective.is_empty() {
        "(database)"
    } else {
        l.objective.as_str()
    };
    match to {
        Change::Firing | Change::Escalated => tracing::warn!(
            objective,
            group = %l.group,
            from = from.as_str(),
            to = to.as_str(),
            severity = severity.as_str(),
            summary = %l.summary,
            "Alert {}.", to.as_str()
        ),
        _ => tracing::info!(
            objective,
            group = %l.group,
            from = from.as_str(),
            to = to.as_str(),
            severity = severity.as_str(),
            summary = %l.summary,
            "Alert {}.", to.as_str()
        ),
    }
}
