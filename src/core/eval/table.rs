//! `handoff eval --format table`: what a sales leader reads in the monthly review.

use std::fmt::Write as _;

use chrono::SecondsFormat;

use super::result::{Details, Evaluation, GroupResult, NamedLead};
use super::words::{self, rep_label};
use crate::rules::{RuleSet, Spec, Target};

/// How many leads of each list the table names (all of them, up to 20, are in
/// `--format json`).
const NAMED: usize = 5;

/// A duration in seconds, the way a person says it (`45s`, `12m`, `3h 05m`, `2d 4h`).
fn human_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h {:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn whole(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn value_and_target(r: &GroupResult) -> (String, String) {
    let dash = || "—".to_owned();
    let none = || "none".to_owned();
    match &r.details {
        Details::LeadVolume(_) => (
            r.value.map_or_else(dash, whole),
            r.target.map_or_else(none, whole),
        ),
        Details::Profitability(p) => (
            p.cutoff.map_or_else(dash, |k| format!("cutoff {k}")),
            p.required_attempts
                .map_or_else(dash, |k| format!("SLA asks {k}")),
        ),
        Details::Failed(_) => (dash(), r.target.map_or_else(none, pct)),
        Details::LeadQuality(_) | Details::PercentWorked(_) | Details::ContactAttempts(_) => {
            let value = match (r.value, r.numerator, r.denominator) {
                (Some(v), Some(n), Some(d)) => format!("{} ({}/{})", pct(v), whole(n), whole(d)),
                _ => dash(),
            };
            (value, r.target.map_or_else(none, pct))
        }
    }
}

fn details(r: &GroupResult) -> String {
    let mut parts: Vec<String> = Vec::new();
    match &r.details {
        Details::Failed(f) => return f.message.clone(),
        Details::LeadVolume(d) => {
            if let Some(e) = d.expected {
                parts.push(format!("expected by now {e:.1}"));
            }
            if let Some(p) = d.pace {
                parts.push(format!("pace {}", pct(p)));
            }
            if let Some(a) = d.attainment {
                parts.push(format!("attainment {}", pct(a)));
            }
            if r.target.is_none() {
                parts.push("no target: never alerts".to_owned());
            }
        }
        Details::LeadQuality(d) => {
            parts.push(format!(
                "{} accepted, {} rejected, {} with no decision",
                d.accepted, d.rejected, d.undecided,
            ));
            if let Some(why) = words::reasons(r) {
                parts.push(format!("close reasons: {why}"));
            }
        }
        Details::PercentWorked(d) => {
            if let (Some(p50), Some(p90)) = (d.p50_seconds, d.p90_seconds) {
                parts.push(format!(
                    "first attempt p50 {}, p90 {}",
                    human_secs(p50),
                    human_secs(p90)
                ));
            }
            parts.push(format!(
                "{} of {} missed the deadline ({} of them never attempted, {} still open)",
                d.late, d.eligible, d.never_attempted, d.overdue_open
            ));
        }
        Details::ContactAttempts(d) => {
            parts.push(format!(
                "{} of {} given up with fewer than {}",
                d.violations,
                d.abandoned,
                words::attempts(d.min_attempts),
            ));
        }
        Details::Profitability(d) => {
            let cur = d.currency.as_deref();
            if let Some(v) = d.mql_value {
                parts.push(format!("MQL worth {}", words::money(v, cur)));
            }
            if let Some(a) = d.avg_revenue {
                parts.push(format!("avg deal {}", words::money(a, cur)));
            }
            parts.push(format!("{} converted of {}", d.converted, d.cohort));
            if d.converted < d.min_conversions {
                parts.push(format!(
                    "too few sales to judge (min_conversions {})",
                    d.min_conversions
                ));
            }
            parts.extend(words::leakage(r));
        }
    }
    parts.join("; ")
}

/// The groups an objective's target names that have no result: they are
/// shown as `no_data` rather than left out.
fn missing_groups(
    rules: &RuleSet,
    name: &str,
    results: &[GroupResult],
) -> Vec<(String, Option<f64>)> {
    let Some(o) = rules.objective(name) else {
        return Vec::new();
    };
    let named: Vec<(String, Option<f64>)> = match o.target() {
        Some(Target::PerGroup { groups, .. }) => {
            groups.iter().map(|(g, t)| (g.clone(), Some(*t))).collect()
        }
        Some(Target::Uniform(t)) if o.by.is_none() => vec![("all".to_owned(), Some(*t))],
        None if o.by.is_none() => vec![("all".to_owned(), None)],
        _ if results.is_empty() => vec![("all".to_owned(), None)],
        _ => Vec::new(),
    };
    named
        .into_iter()
        .filter(|(g, _)| !results.iter().any(|r| &r.group == g))
        .collect()
}

/// The leads behind a result, for the "who slipped" part: a heading and
/// lines: what to do, the reps behind the figure, then the first leads.
fn slipped(rules: &RuleSet, name: &str, r: &GroupResult) -> Option<(String, Vec<String>)> {
    let o = rules.objective(name)?;
    let tz = o.timezone;
    let day = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
    };
    let group = if r.group == "all" {
        String::new()
    } else {
        format!(" ({})", group_label(r))
    };
    // A lead given up on: id, owner, attempts, when.
    let given_up = |l: &NamedLead| {
        format!(
            "{}  {}  {}  given up {}",
            l.id,
            rep_label(l.owner.as_deref(), l.owner_name.as_deref()),
            words::attempts(l.attempts),
            day(l.closed_at)
        )
    };
    let mut lines: Vec<String> = words::action(o, r).into_iter().collect();
    lines.extend(words::top_reps(r, 3).into_iter().map(|l| format!("  {l}")));
    let heading = match (&r.details, &o.spec) {
        (Details::PercentWorked(d), Spec::PercentWorked { respond_within, .. }) if d.late > 0 => {
            for l in d.overdue_leads.iter().take(NAMED) {
                lines.push(format!(
                    "{}  {}  due {}, overdue {}, never tried",
                    l.id,
                    rep_label(l.owner.as_deref(), l.owner_name.as_deref()),
                    day(l.deadline),
                    words::overdue(l.overdue_seconds, o.spec.calendar().is_some())
                ));
            }
            for l in d.late_leads.iter().take(NAMED) {
                let first = l.first_attempt_seconds.map_or_else(
                    || "closed, never tried".to_owned(),
                    |s| format!("first attempt {} after the MQL", human_secs(s)),
                );
                lines.push(format!(
                    "{}  {}  MQL {}  {first}",
                    l.id,
                    rep_label(l.owner.as_deref(), l.owner_name.as_deref()),
                    day(l.mql_at)
                ));
            }
            format!(
                "{name}{group}: {} of {} MQLs without an attempt within {respond_within}, {} of them still open and never tried",
                d.late, d.eligible, d.overdue_open
            )
        }
        (Details::ContactAttempts(d), _) if d.violations > 0 => {
            lines.extend(d.violating_leads.iter().take(NAMED).map(given_up));
            format!(
                "{name}{group}: {} of {} leads given up with fewer than {}",
                d.violations,
                d.abandoned,
                words::attempts(d.min_attempts)
            )
        }
        (Details::LeadQuality(d), _) => format!(
            "{name}{group}: {} of {} decided MQLs rejected",
            d.rejected,
            d.accepted + d.rejected
        ),
        (Details::Profitability(d), _) if d.leakage > 0 => {
            lines.extend(d.leakage_leads.iter().take(NAMED).map(given_up));
            format!("{name}{group}: {}", words::leakage(r)?)
        }
        (Details::LeadVolume(_), _) if !lines.is_empty() => format!("{name}{group}"),
        _ => return None,
    };
    Some((heading, lines))
}

/// The group as people read it: with `by: rep`, the rep's id and name.
fn group_label(r: &GroupResult) -> String {
    match &r.group_name {
        Some(name) => rep_label(Some(&r.group), Some(name)),
        None => r.group.clone(),
    }
}

/// Renders the evaluation as an aligned text table, then who slipped: the
/// first leads (with their owners) behind each late, given-up or leaking
/// figure. Every objective of `rules` that was evaluated shows, and every
/// group its target names, as `NO_DATA` when nothing was measured.
pub(super) fn render(e: &Evaluation, rules: &RuleSet) -> String {
    let header = ["OBJECTIVE", "GROUP", "STATUS", "VALUE", "TARGET", "DETAILS"];
    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut lists = Vec::new();
    for o in &e.objectives {
        for r in &o.results {
            let (value, target) = value_and_target(r);
            rows.push([
                o.name.clone(),
                group_label(r),
                r.status.as_str().to_uppercase(),
                value,
                target,
                details(r),
            ]);
            // What to act on: the lists behind figures that are not ok.
            if r.status != super::result::Status::Ok {
                lists.extend(slipped(rules, &o.name, r));
            }
        }
        for (group, target) in missing_groups(rules, &o.name, &o.results) {
            let ratio = rules
                .objective(&o.name)
                .is_some_and(|x| !matches!(x.kind(), crate::rules::Kind::LeadVolume));
            let why = if group == "all" {
                "no leads in the window"
            } else {
                "no leads of this group in the window"
            };
            rows.push([
                o.name.clone(),
                group,
                "NO_DATA".to_owned(),
                "—".to_owned(),
                target.map_or_else(
                    || "none".to_owned(),
                    |t| if ratio { pct(t) } else { whole(t) },
                ),
                why.to_owned(),
            ]);
        }
    }
    let mut width = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let tz = rules.timezone();
    let mut out = format!(
        "SLA at {} ({})\n\n",
        e.evaluated_at
            .with_timezone(&tz)
            .format("%a %-d %b %Y %H:%M %Z"),
        e.evaluated_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    );
    let line = |out: &mut String, cells: [&str; 6]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 5 {
                text.push_str(cell);
            } else {
                let pad = width[i] - cell.chars().count();
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, header);
    for row in &rows {
        line(&mut out, row.each_ref().map(String::as_str));
    }
    if !lists.is_empty() {
        let _ = write!(
            out,
            "\nWhat to do and who slipped, behind each figure not ok (the first {NAMED} leads of each list; up to 20 in --format json):\n"
        );
        for (heading, leads) in lists {
            let _ = writeln!(out, "\n  {heading}");
            for l in leads {
                let _ = writeln!(out, "    {l}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_say_them() {
        assert_eq!(human_secs(45.0), "45s");
        assert_eq!(human_secs(725.0), "12m");
        assert_eq!(human_secs(3.0 * 3600.0 + 300.0), "3h 05m");
        assert_eq!(human_secs(2.0 * 86400.0 + 4.0 * 3600.0), "2d 4h");
        assert_eq!(words::money(1234567.891, Some("USD")), "1,234,567.89 USD");
        assert_eq!(words::money(4.5, None), "4.50");
        assert_eq!(pct(0.875), "87.5%");
    }
}
