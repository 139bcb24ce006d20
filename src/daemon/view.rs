//! What HTTP shows, drawn from the board: the status page's view and the JSON
//! of `/api/v1/objectives` and `/api/v1/alerts`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Daemon;
use super::alerts::{Series, Severity};
use super::board::{Board, Entry, SOURCE_GROUP, is_ratio};
use super::page::{AlertView, ChartSeries, GroupView, LeadsView, ObjectiveView, PageView, Unit};
use crate::eval::{Details, GroupResult, Status, words};
use crate::rules::Kind;

/// The status page's view of the board.
pub fn page(daemon: &Daemon) -> PageView {
    let now = daemon.now();
    // Before the board: both lock the engine.
    let rules = daemon.rules();
    let board = daemon.board();
    let objectives = board
        .order
        .iter()
        .filter_map(|n| board.entries.get(n))
        .map(|e| {
            let mut v = objective_view(e);
            v.leads = leads_view(&board, &rules, e);
            for g in &mut v.groups {
                if let (Some(a), Some(s)) = (g.alert.as_mut(), e.series.get(&g.group)) {
                    a.held = holds_of(&board, &e.objective.name, &g.group, s, now);
                }
            }
            v
        })
        .collect();
    let silences = board
        .silences
        .iter()
        .map(|s| super::page::SilenceLine {
            id: s.id.clone(),
            state: super::holds::silence_state(s, now),
            matches: super::holds::matchers_text(s),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            created_by: s.created_by.clone(),
            comment: s.comment.clone(),
        })
        .collect();
    PageView {
        now,
        timezone: board.timezone,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: daemon.store().describe().to_owned(),
        rules: board.rules_summary.clone(),
        rules_loaded_at: board.rules_loaded_at,
        reload_error: board.reload_error.clone(),
        source_alert: board.source.is_active().then(|| AlertView {
            state: board.source.state,
            severity: Severity::Critical,
            since: board.source.active_since.unwrap_or(now),
            episode: None,
            summary: source_summary(&board),
            held: Vec::new(),
        }),
        objectives,
        silences,
        leadership: leadership(daemon),
    }
}

fn leadership(daemon: &Daemon) -> Option<super::page::Leadership> {
    let instance = daemon.options.instance.clone();
    match daemon.role() {
        super::lease::Role::Alone => None,
        super::lease::Role::Leader { since, .. } => Some(super::page::Leadership {
            instance,
            leads: true,
            since: Some(since),
            leader: None,
        }),
        super::lease::Role::Follower { leader } => Some(super::page::Leadership {
            instance,
            leads: false,
            since: None,
            leader: leader.map(|l| l.holder),
        }),
    }
}

fn source_summary(board: &Board) -> String {
    let names: Vec<String> = board
        .failing()
        .iter()
        .map(|e| {
            let reason = e.failure.as_ref().map_or("error", |f| f.reason.as_str());
            format!("{} ({reason})", e.objective.name)
        })
        .collect();
    if names.is_empty() {
        "evaluations failing".to_owned()
    } else {
        format!("evaluations failing: {}", names.join(", "))
    }
}

fn unit(kind: Kind) -> Unit {
    match kind {
        Kind::LeadVolume => Unit::Count,
        Kind::Profitability => Unit::Attempts,
        k if is_ratio(k) => Unit::Ratio,
        _ => Unit::Count,
    }
}

fn alert_view(s: &Series, episode: Option<DateTime<Utc>>, summary: &str) -> Option<AlertView> {
    let since = s.fired_at.or(s.active_since).unwrap_or_default();
    s.is_active().then(|| AlertView {
        state: s.state,
        severity: s.severity.unwrap_or(Severity::Warning),
        since,
        episode: episode.filter(|e| *e < since),
        summary: summary.to_owned(),
        held: Vec::new(),
    })
}

/// Why an alert's notices are held: the silence in force that matches it,
/// and the acknowledgement of its episode at its severity.
fn holds_of(
    board: &super::Board,
    objective: &str,
    group: &str,
    s: &Series,
    now: DateTime<Utc>,
) -> Vec<String> {
    let tz = board.timezone;
    let mut out = Vec::new();
    if let Some(x) = board.silence_of(objective, group, s.severity, now) {
        out.push(format!(
            "silenced by {} until {}: {}",
            x.created_by,
            crate::mail::render::when(x.ends_at, tz),
            x.comment
        ));
    }
    if let (Some(fired), Some(sev)) = (s.fired_at, s.severity)
        && let Some(a) = board.ack_of(objective, group, fired)
        && a.severity == sev
    {
        out.push(format!(
            "acknowledged by {} at {}",
            a.acked_by,
            crate::mail::render::when(a.acked_at, tz)
        ));
    }
    out
}

fn objective_view(e: &Entry) -> ObjectiveView {
    let o = &e.objective;
    let mut groups = Vec::new();
    match (&e.failure, &e.last) {
        (None, Some(last)) => {
            for r in &last.results {
                let summary = e.latest.get(&r.group).map_or("", |l| l.summary.as_str());
                let mut slipped: Vec<String> = words::action(o, r).into_iter().collect();
                if !slipped.is_empty() {
                    slipped.extend(words::top_reps(r, 3));
                }
                groups.push(GroupView {
                    group: r.group.clone(),
                    status: r.status,
                    value: r.value,
                    // Profitability's cutoff stands against the minimum the
                    // SLA asks for.
                    target: match &r.details {
                        Details::Profitability(d) => d.required_attempts.map(f64::from),
                        _ => r.target,
                    },
                    numerator: r.numerator,
                    denominator: r.denominator,
                    note: note(r),
                    name: r.group_name.clone(),
                    slipped,
                    alert: e
                        .series
                        .get(&r.group)
                        .and_then(|s| alert_view(s, e.episodes.get(&r.group).copied(), summary)),
                });
            }
        }
        _ => {
            // Failed, or restored from saved state before the first run.
            for (g, l) in &e.latest {
                groups.push(GroupView {
                    group: g.clone(),
                    status: l.status,
                    value: l.value,
                    target: None,
                    numerator: None,
                    denominator: None,
                    note: None,
                    name: None,
                    slipped: Vec::new(),
                    alert: e
                        .series
                        .get(g)
                        .and_then(|s| alert_view(s, e.episodes.get(g).copied(), &l.summary)),
                });
            }
        }
    }
    let chart = e
        .chart
        .iter()
        .map(|(g, points)| ChartSeries {
            group: g.clone(),
            points: points.clone(),
            target: match &o.spec {
                crate::rules::Spec::Profitability { checks, .. } => checks
                    .as_ref()
                    .map(|c| f64::from(c.min_attempts.for_group(g))),
                _ => o.target().and_then(|t| t.for_group(g)),
            },
        })
        .collect();
    ObjectiveView {
        name: o.name.clone(),
        kind: o.kind().as_str().to_owned(),
        description: o.description.clone(),
        owner: o.owner.clone(),
        // Fire times are read in the rule file's time zone; say which.
        schedule: format!("{} ({})", o.schedule, o.timezone),
        window: o.window.to_string(),
        unit: unit(o.kind()),
        last_evaluated: e.evaluated_at,
        next_run: e.next_run,
        duration_seconds: e.duration,
        error: e.failure.as_ref().map(|f| f.message.clone()),
        groups,
        chart,
        leads: None,
    }
}

/// The leads in flight of an objective with `notify_reps`, as its last scan
/// found them.
fn leads_view(board: &Board, rules: &crate::rules::RuleSet, e: &Entry) -> Option<LeadsView> {
    let clock = super::leads::LeadClock::of(&e.objective)?;
    let found = board
        .leads
        .get(&e.objective.name)
        .cloned()
        .unwrap_or_default();
    let urls = found
        .overdue_leads
        .iter()
        .filter_map(|l| Some((l.id.clone(), rules.lead_url(&l.id)?)))
        .collect();
    Some(LeadsView {
        found,
        urls,
        business: clock.business(),
    })
}

/// One short kind-specific line under a group's figures.
fn note(r: &GroupResult) -> Option<String> {
    match &r.details {
        Details::LeadVolume(d) => match (d.pace, d.expected) {
            (Some(p), Some(x)) => Some(format!("pace {p:.2} of expected {x:.0}")),
            _ => None,
        },
        Details::PercentWorked(d) => Some(format!(
            "median first attempt {}, {} never attempted",
            d.p50_seconds.map_or("—".to_owned(), human_seconds),
            d.never_attempted
        )),
        Details::ContactAttempts(d) => Some(format!(
            "{} of {} abandoned leads gave up before {} attempts",
            d.violations, d.abandoned, d.min_attempts
        )),
        Details::Profitability(d) => {
            let mut s = format!(
                "MQL worth {}",
                d.mql_value
                    .map_or("—".to_owned(), |v| words::money(v, d.currency.as_deref()))
            );
            if d.converted < d.min_conversions {
                s.push_str(&format!("; {} sales, too few to judge", d.converted));
            }
            if let Some(leak) = words::leakage(r) {
                s.push_str(&format!("; {leak}"));
            }
            Some(s)
        }
        Details::LeadQuality(d) => Some(match words::reasons(r) {
            Some(why) => format!("{} undecided; close reasons: {why}", d.undecided),
            None => format!("{} undecided", d.undecided),
        }),
        Details::Failed(_) => None,
    }
}

fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0}s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// `GET /api/v1/objectives`: the latest results, as `eval --format json` prints
/// them, with each objective's own evaluation time and schedule.
pub fn objectives_json(daemon: &Daemon) -> Value {
    let board = daemon.board();
    let latest = board.entries.values().filter_map(|e| e.evaluated_at).max();
    let objectives: Vec<Value> = board
        .order
        .iter()
        .filter_map(|n| board.entries.get(n))
        .map(|e| {
            let results: Vec<Value> = match (&e.failure, &e.last) {
                (Some(f), _) => vec![
                    serde_json::to_value(GroupResult::failed(f.clone())).unwrap_or(Value::Null),
                ],
                (None, Some(last)) => last
                    .results
                    .iter()
                    .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                    .collect(),
                (None, None) => Vec::new(),
            };
            json!({
                "name": e.objective.name,
                "kind": e.objective.kind().as_str(),
                "evaluated_at": e.evaluated_at.map(crate_rfc3339),
                "duration_seconds": e.duration,
                "next_run": e.next_run.map(crate_rfc3339),
                "results": results,
            })
        })
        .collect();
    json!({
        "evaluated_at": latest.map(crate_rfc3339),
        "objectives": objectives,
    })
}

fn crate_rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `GET /api/v1/alerts`: every pending and firing alert.
pub fn alerts_json(daemon: &Daemon) -> Value {
    let now = daemon.now();
    let board = daemon.board();
    let source_firing = board.source.state == super::alerts::State::Firing;
    let failing: Vec<&str> = board
        .failing()
        .iter()
        .map(|e| e.objective.name.as_str())
        .collect();
    let mut alerts = Vec::new();
    if board.source.is_active() {
        alerts.push(json!({
            "alertname": "evaluation_failing",
            "source": SOURCE_GROUP,
            "state": board.source.state.as_str(),
            "severity": Severity::Critical.as_str(),
            "active_since": board.source.active_since.map(crate_rfc3339),
            "fired_at": board.source.fired_at.map(crate_rfc3339),
            "summary": source_summary(&board),
            "objectives": failing,
        }));
    }
    for (e, g, s) in board.active_alerts() {
        let latest = e.latest.get(g);
        let name = e.objective.name.as_str();
        alerts.push(json!({
            "alertname": "objective",
            "objective": name,
            "kind": e.objective.kind().as_str(),
            "group": g,
            "state": s.state.as_str(),
            "severity": s.severity.map(|x| x.as_str()),
            "active_since": s.active_since.map(crate_rfc3339),
            "fired_at": s.fired_at.map(crate_rfc3339),
            // The first of the unbroken run of results off target (docs/DAEMON.md).
            "episode_start": e.episodes.get(g).copied().map(crate_rfc3339),
            "status": latest.map_or(Status::Error, |l| l.status).as_str(),
            "value": latest.and_then(|l| l.value),
            "summary": latest.map(|l| l.summary.as_str()),
            "owner": e.objective.owner,
            // While the "evaluation failing" alert fires, the alerts of the
            // objectives it covers are held back: their figures are stale.
            "inhibited": source_firing && failing.contains(&name),
            // Held by a silence in force, and acknowledged (docs/CHANNELS.md).
            "silenced_by": board.silence_of(name, g, s.severity, now).map(|x| x.id.clone()),
            "acknowledged": s.fired_at.and_then(|f| board.ack_of(name, g, f))
                .filter(|a| Some(a.severity) == s.severity)
                .map(|a| json!({ "by": a.acked_by, "at": crate_rfc3339(a.acked_at) })),
        }));
    }
    json!({ "alerts": alerts })
}
