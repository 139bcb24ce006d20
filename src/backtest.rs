//! `handoff backtest`: the rules replayed over past instants against the real
//! data, through the daemon's own engine ([`crate::daemon::replay`]). It
//! prints, per objective and group, the statuses over time, the alerts that
//! would have fired and the notices that would have gone; `--against` does
//! the same for a proposed rule set and shows the difference; `--record`
//! writes the results and closed periods into the history. Nothing is sent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::daemon::replay::{Pace, Replay, instants, notices};
use crate::daemon::{Grouping, State};
use crate::eval::Status;
use crate::rules::RuleSet;
use crate::store::Store;

/// What to replay.
#[derive(Clone, Debug)]
pub struct Options {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub every: TimeDelta,
    pub grouping: Grouping,
    /// Write results and closed periods into the history.
    pub record: bool,
}

/// One rule set replayed.
pub struct Run {
    pub label: String,
    pub rules: Arc<RuleSet>,
    pub replay: Replay,
}

/// Replays `rules` over the instants of `options`, with a progress bar on
/// stderr.
///
/// # Errors
///
/// The built-in templates did not load, or `--record` could not write.
pub async fn replay(
    store: &Store,
    rules: Arc<RuleSet>,
    label: &str,
    options: &Options,
    progress: &crate::progress::Progress,
) -> anyhow::Result<Run> {
    let at = instants(options.from, options.to, options.every);
    let mail = notices(options.grouping).map_err(|e| anyhow::anyhow!(e))?;
    let mut replay = Replay::new(
        rules.clone(),
        Some(mail),
        store.describe().to_owned(),
        options.from,
        Pace::Schedule,
    );
    replay.keep_record = options.record;
    let bar = progress.bar(at.len() as u64, label, crate::progress::Unit::Instants);
    for t in &at {
        replay.step(store, *t).await;
        if options.record {
            let journal = std::mem::take(&mut replay.record);
            store.record(&journal).await?;
        }
        bar.inc(1);
    }
    // Mail that grouping would still send after the last instant.
    replay.advance(store, options.to + TimeDelta::days(1)).await;
    bar.finish_and_clear();
    Ok(Run {
        label: label.to_owned(),
        rules,
        replay,
    })
}

/// A status as one character of a timeline.
fn glyph(s: Status) -> char {
    match s {
        Status::Ok => '.',
        Status::AtRisk => '!',
        Status::Breached => 'X',
        Status::NoData => '-',
        Status::Error => 'E',
    }
}

/// Counts of each status of a group's points.
fn counts(points: &[crate::daemon::replay::Point]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for p in points {
        *out.entry(p.status.as_str()).or_insert(0) += 1;
    }
    out
}

/// The table people read.
pub fn table(run: &Run, against: Option<&Run>, options: &Options) -> String {
    let mut out = String::new();
    let n = instants(options.from, options.to, options.every).len();
    let _ = writeln!(
        out,
        "Backtest from {} to {}, every {} ({n} instants). Nothing was sent.",
        options.from.format("%Y-%m-%d %H:%M UTC"),
        options.to.format("%Y-%m-%d %H:%M UTC"),
        crate::mail::render::span(options.every.num_seconds() as f64),
    );
    let _ = writeln!(
        out,
        "Timelines: one character per evaluation: . ok  ! at risk  X breached  - no data  E error\n"
    );
    for o in run.rules.objectives() {
        let _ = writeln!(out, "{} ({})", o.name, o.kind().as_str());
        section(&mut out, run, &o.name, "  ");
        if let Some(other) = against {
            if other.rules.objective(&o.name).is_some() {
                let _ = writeln!(out, "  with {}:", other.label);
                section(&mut out, other, &o.name, "    ");
            } else {
                let _ = writeln!(out, "  with {}: not in those rules", other.label);
            }
        }
        out.push('\n');
    }
    if let Some(other) = against {
        for o in other.rules.objectives() {
            if run.rules.objective(&o.name).is_none() {
                let _ = writeln!(
                    out,
                    "{} ({}), only in {}",
                    o.name,
                    o.kind().as_str(),
                    other.label
                );
                section(&mut out, other, &o.name, "  ");
                out.push('\n');
            }
        }
    }
    notices_table(&mut out, run);
    if let Some(other) = against {
        out.push('\n');
        notices_table(&mut out, other);
    }
    out
}

fn section(out: &mut String, run: &Run, objective: &str, indent: &str) {
    let groups: Vec<(&(String, String), &Vec<crate::daemon::replay::Point>)> = run
        .replay
        .points
        .iter()
        .filter(|((o, _), _)| o == objective)
        .collect();
    if groups.is_empty() {
        let _ = writeln!(out, "{indent}not evaluated");
        return;
    }
    for ((_, g), points) in groups {
        let c = counts(points);
        let summary: Vec<String> = Status::ALL
            .iter()
            .filter_map(|s| c.get(s.as_str()).map(|k| format!("{k} {}", s.as_str())))
            .collect();
        let line: String = points.iter().map(|p| glyph(p.status)).collect();
        let _ = writeln!(out, "{indent}{g}: {}", summary.join(", "));
        for chunk in line.as_bytes().chunks(90) {
            let _ = writeln!(out, "{indent}  {}", String::from_utf8_lossy(chunk));
        }
    }
    let alerts: Vec<_> = run
        .replay
        .alerts()
        .into_iter()
        .filter(|a| a.objective == objective)
        .collect();
    if alerts.is_empty() {
        let _ = writeln!(out, "{indent}alerts: none would have fired");
    } else {
        let _ = writeln!(
            out,
            "{indent}alerts that would have fired: {}",
            alerts.len()
        );
        for a in alerts.iter().take(20) {
            let (g, fired) = (&a.group, a.fired_at);
            let until = a.resolved_at.map_or_else(
                || "still firing at the end".to_owned(),
                |r| format!("resolved {}", r.format("%Y-%m-%d %H:%M")),
            );
            let _ = writeln!(
                out,
                "{indent}  {g}: fired {}, {until}",
                fired.format("%Y-%m-%d %H:%M")
            );
        }
        if alerts.len() > 20 {
            let _ = writeln!(out, "{indent}  … and {} more", alerts.len() - 20);
        }
    }
}

fn notices_table(out: &mut String, run: &Run) {
    let mut by: BTreeMap<&str, Vec<&crate::daemon::engine::Decided>> = BTreeMap::new();
    for d in &run.replay.notices {
        by.entry(d.row.receiver.as_str()).or_default().push(d);
    }
    let _ = writeln!(
        out,
        "Notices that would have gone with {}: {}",
        run.label,
        run.replay.notices.len()
    );
    for (receiver, list) in by {
        let _ = writeln!(out, "  {receiver}: {}", list.len());
        for d in list.iter().take(30) {
            let _ = writeln!(
                out,
                "    {}  {}",
                d.row.created_at.format("%Y-%m-%d %H:%M"),
                d.row.subject
            );
        }
        if list.len() > 30 {
            let _ = writeln!(out, "    … and {} more", list.len() - 30);
        }
    }
}

fn run_json(run: &Run) -> Value {
    let mut objectives = Vec::new();
    for o in run.rules.objectives() {
        let groups: Vec<Value> = run
            .replay
            .points
            .iter()
            .filter(|((n, _), _)| n == &o.name)
            .map(|((_, g), points)| {
                json!({
                    "group": g,
                    "points": points.iter().map(|p| json!({
                        "at": ts(p.at),
                        "status": p.status.as_str(),
                        "value": p.value,
                        "target": p.target,
                        "alert": match p.alert {
                            State::Inactive => "inactive",
                            State::Pending => "pending",
                            State::Firing => "firing",
                        },
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let alerts: Vec<Value> = run
            .replay
            .alerts()
            .into_iter()
            .filter(|a| a.objective == o.name)
            .map(|a| {
                json!({
                    "group": a.group,
                    "fired_at": ts(a.fired_at),
                    "resolved_at": a.resolved_at.map(ts),
                })
            })
            .collect();
        objectives.push(json!({
            "name": o.name,
            "kind": o.kind().as_str(),
            "groups": groups,
            "alerts": alerts,
        }));
    }
    let notices: Vec<Value> = run
        .replay
        .notices
        .iter()
        .map(|d| {
            json!({
                "at": ts(d.row.created_at),
                "caused_at": ts(d.caused_at),
                "receiver": d.row.receiver,
                "objective": d.row.objective,
                "group": d.row.group,
                "kind": d.row.kind,
                "subject": d.row.subject,
            })
        })
        .collect();
    json!({ "rules": run.label, "objectives": objectives, "notices": notices })
}

/// One JSON object: `{"from", "to", "every_seconds", "current": {...},
/// "against": {...} | null}`.
pub fn json(run: &Run, against: Option<&Run>, options: &Options) -> Value {
    json!({
        "from": ts(options.from),
        "to": ts(options.to),
        "every_seconds": options.every.num_seconds(),
        "current": run_json(run),
        "against": against.map(run_json),
    })
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
