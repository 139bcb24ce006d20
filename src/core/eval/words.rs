//! Who slipped, in words: the sentences the table, the mail and the status
//! page share, so that each says the same thing of the same figures. What to
//! do and by when comes first, then the reps behind the figure, then the
//! feedback and money that explain it.

use super::result::{Details, GroupResult, RepAttempts, RepWorked, Status};
use crate::rules::{Objective, Spec, Window};

/// A rep as people know them: `R0003 Priya Okafor`, `R0003` when the rep
/// has no name (or is not in `reps`), `(no owner)` for none.
pub fn rep_label(id: Option<&str>, name: Option<&str>) -> String {
    match (id, name.filter(|n| !n.trim().is_empty())) {
        (Some(id), Some(name)) => format!("{id} {name}"),
        (Some(id), None) => id.to_owned(),
        (None, _) => "(no owner)".to_owned(),
    }
}

/// How long a lead is past its deadline. Business time is told in hours,
/// since a business day is not 24 of them: `116h of business time`, `3h 5m
/// of business time`; calendar time as `4d 20h`.
pub fn overdue(secs: f64, business: bool) -> String {
    let s = secs.max(0.0).round() as u64;
    let (h, m) = (s / 3_600, s % 3_600 / 60);
    let hm = match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) if h < 10 => format!("{h}h {m}m"),
        (h, _) => format!("{h}h"),
    };
    if business {
        format!("{hm} of business time")
    } else if h >= 24 {
        match h % 24 {
            0 => format!("{}d", h / 24),
            r => format!("{}d {r}h", h / 24),
        }
    } else {
        hm
    }
}

/// `1 attempt`, `6 attempts`.
pub fn attempts(n: u32) -> String {
    format!("{n} attempt{}", if n == 1 { "" } else { "s" })
}

/// A whole number with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount with cents and its currency when the rules name one:
/// `1,234.50 USD`; `1,234.50` when they do not.
pub fn money(v: f64, currency: Option<&str>) -> String {
    let cents = (v * 100.0).round();
    let whole = (cents / 100.0).trunc();
    let frac = (cents - whole * 100.0).abs();
    let sign = if v < 0.0 { "-" } else { "" };
    let amount = format!("{sign}{}.{frac:02.0}", thousands(whole.abs() as u64));
    match currency {
        Some(c) => format!("{amount} {c}"),
        None => amount,
    }
}

/// `p` of `whole` as a whole percentage, for shares of a count: `42%`.
fn share(p: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    format!("{:.0}%", p as f64 * 100.0 / whole as f64)
}

/// The reps behind a failing percent_worked or contact_attempts figure, the
/// most failures first: at most `n` lines such as
/// `R0003 Priya Okafor: 34 of 34 given up under 6 attempts, 42% of violations`.
/// Leads no rep owns come last, as the routing failure they are.
pub fn top_reps(r: &GroupResult, n: usize) -> Vec<String> {
    match &r.details {
        Details::PercentWorked(d) => {
            let line = |t: &RepWorked| {
                let mut s = format!(
                    "{}: {} of {} late",
                    rep_label(t.rep.as_deref(), t.name.as_deref()),
                    thousands(t.late),
                    thousands(t.eligible)
                );
                if t.overdue_open > 0 {
                    s.push_str(&format!(
                        " ({} never tried and still open)",
                        thousands(t.overdue_open)
                    ));
                }
                s.push_str(&format!(", {} of the misses", share(t.late, d.late)));
                s
            };
            let mut out: Vec<String> = d
                .by_rep
                .iter()
                .filter(|t| t.late > 0)
                .take(n)
                .map(line)
                .collect();
            if let Some(u) = d.unassigned.as_ref().filter(|u| u.late > 0) {
                out.push(format!(
                    "{}: nobody owns them, so nobody calls them",
                    line(u)
                ));
            }
            out
        }
        Details::ContactAttempts(d) => {
            let line = |t: &RepAttempts| {
                format!(
                    "{}: {} of {} given up under {}, {} of violations",
                    rep_label(t.rep.as_deref(), t.name.as_deref()),
                    thousands(t.violating),
                    thousands(t.abandoned),
                    attempts(d.min_attempts),
                    share(t.violating, d.violations)
                )
            };
            let mut out: Vec<String> = d
                .by_rep
                .iter()
                .filter(|t| t.violating > 0)
                .take(n)
                .map(line)
                .collect();
            if let Some(u) = d.unassigned.as_ref().filter(|u| u.violating > 0) {
                out.push(line(u));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Close reasons, the most frequent first: `no_response 211, unqualified 109`.
pub fn reasons(r: &GroupResult) -> Option<String> {
    let Details::LeadQuality(d) = &r.details else {
        return None;
    };
    let mut all: Vec<(&String, &u64)> = d.close_reasons.iter().collect();
    all.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    (!all.is_empty()).then(|| {
        all.iter()
            .map(|(k, v)| format!("{k} {}", thousands(**v)))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The rep with the most of `count`, and how many, when any has some.
fn most<T>(reps: &[T], count: impl Fn(&T) -> u64) -> Option<(&T, u64)> {
    let mut best: Option<(&T, u64)> = None;
    for t in reps {
        let c = count(t);
        if c > 0 && best.is_none_or(|(_, b)| c > b) {
            best = Some((t, c));
        }
    }
    best
}

/// The leaking leads and what they cost, for profitability:
/// `119 leads given up under 4 attempts, worth 21,200.89 USD`.
pub fn leakage(r: &GroupResult) -> Option<String> {
    let Details::Profitability(d) = &r.details else {
        return None;
    };
    let cutoff = d.cutoff?;
    let mut s = format!(
        "{} {} given up under {}",
        thousands(d.leakage),
        if d.leakage == 1 { "lead" } else { "leads" },
        attempts(cutoff)
    );
    if let Some(v) = d.leakage_value.filter(|_| d.leakage > 0) {
        s.push_str(&format!(", worth {}", money(v, d.currency.as_deref())));
    }
    Some(s)
}

/// What to do about a result that is not ok, and by when: the sentence a
/// notice opens with. `None` for a healthy result or one with nothing to act on.
pub fn action(o: &Objective, r: &GroupResult) -> Option<String> {
    if matches!(r.status, Status::Ok | Status::NoData | Status::Error) {
        return None;
    }
    let group = |prefix: &str| {
        if r.group == "all" {
            String::new()
        } else {
            format!("{prefix}{}", r.group)
        }
    };
    match &r.details {
        Details::PercentWorked(d) => {
            if d.overdue_open > 0 {
                // Said without "these": the page gives no list to point at.
                let mut s = format!(
                    "Call {} today: past the deadline, never tried and still open",
                    if d.overdue_open == 1 {
                        "1 lead".to_owned()
                    } else {
                        format!("{} leads", thousands(d.overdue_open))
                    }
                );
                if let Some((t, k)) = most(&d.by_rep, |t| t.overdue_open) {
                    s.push_str(&format!(
                        "; {} {} {}'s",
                        thousands(k),
                        if k == 1 { "is" } else { "are" },
                        rep_label(t.rep.as_deref(), t.name.as_deref())
                    ));
                }
                if let Some(u) = d.unassigned.as_ref().filter(|u| u.overdue_open > 0) {
                    s.push_str(&format!(
                        "; {} {} no owner: route {} first",
                        thousands(u.overdue_open),
                        if u.overdue_open == 1 { "has" } else { "have" },
                        if u.overdue_open == 1 { "it" } else { "them" }
                    ));
                }
                s.push('.');
                Some(s)
            } else {
                let mut s =
                    "No lead is waiting for a first call: every late one was tried late or closed"
                        .to_owned();
                if let Some((t, k)) = most(&d.by_rep, |t| t.late) {
                    s.push_str(&format!(
                        ". Go over the misses with {} ({} of {}) this week",
                        rep_label(t.rep.as_deref(), t.name.as_deref()),
                        thousands(k),
                        thousands(t.eligible)
                    ));
                }
                s.push('.');
                Some(s)
            }
        }
        Details::ContactAttempts(d) => {
            let mut s = format!(
                "This week: reopen the leads given up too early that can still be reached, and make {} before giving up",
                attempts(d.min_attempts)
            );
            if let Some((t, k)) = most(&d.by_rep, |t| t.violating) {
                s.push_str(&format!(
                    "; talk to {} first ({} of {} given up under {}, {} of violations)",
                    rep_label(t.rep.as_deref(), t.name.as_deref()),
                    thousands(k),
                    thousands(t.abandoned),
                    d.min_attempts,
                    share(k, d.violations)
                ));
            }
            s.push('.');
            Some(s)
        }
        Details::LeadQuality(d) => {
            let mut s = format!(
                "Before the next review, go through the {} rejected MQLs{} with sales",
                thousands(d.rejected),
                group(" of ")
            );
            // The reasons cover every lead sales closed too, accepted or not:
            // say so, or they read as more than the rejected ones.
            if let Some(why) = reasons(r) {
                s.push_str(&format!(
                    "; the reasons sales gave for the MQLs it rejected or closed: {why}"
                ));
            }
            s.push('.');
            Some(s)
        }
        Details::LeadVolume(d) => {
            let target = r.target?;
            let short = (target - d.delivered as f64).ceil().max(0.0);
            if !o.window.is_calendar_period() {
                return Some(format!(
                    "Find {} more MQLs{}: {} arrived in {}, against {}.",
                    thousands(short as u64),
                    group(" for "),
                    thousands(d.delivered),
                    o.window,
                    thousands(target.ceil() as u64)
                ));
            }
            let end = d.period_end - chrono::TimeDelta::seconds(1);
            let by = end.with_timezone(&o.timezone).format("%a %-d %b");
            Some(format!(
                "Find {} more MQLs{} by {by} to make the {} target of {}.",
                thousands(short as u64),
                group(" for "),
                match o.window {
                    Window::Day => "day's",
                    Window::Week => "week's",
                    Window::Month => "month's",
                    Window::Quarter => "quarter's",
                    Window::Rolling(_) => "window's",
                },
                thousands(target.ceil() as u64)
            ))
        }
        Details::Profitability(d) => {
            let (cutoff, required) = (d.cutoff?, d.required_attempts?);
            let checks = match &o.spec {
                Spec::Profitability {
                    checks: Some(c), ..
                } => c.objective.clone(),
                _ => "the SLA".to_owned(),
            };
            Some(format!(
                "Before the next review, lower {checks}'s minimum{} from {required} to {cutoff} attempts, \
                 or make its MQLs worth more: attempt {} onward costs more than it brings.",
                group(" for "),
                cutoff + 1
            ))
        }
        Details::Failed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_business_time_is_told_in_hours() {
        // 116 business hours are 14.5 days of an 8-hour office, not "4d 20h".
        assert_eq!(overdue(116.0 * 3600.0, true), "116h of business time");
        assert_eq!(
            overdue(3.0 * 3600.0 + 300.0, true),
            "3h 5m of business time"
        );
        assert_eq!(overdue(2400.0, true), "40m of business time");
        // Calendar time in days and hours.
        assert_eq!(overdue(116.0 * 3600.0, false), "4d 20h");
        assert_eq!(overdue(48.0 * 3600.0, false), "2d");
        assert_eq!(overdue(3.0 * 3600.0 + 300.0, false), "3h 5m");
    }
}
