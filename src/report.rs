//! The monthly review as people read it (docs/REVIEW.md): a text report for
//! the terminal and the mail's text part, and one self-contained HTML page
//! (inline CSS and SVG, no script, no external file) that the daemon serves,
//! the mail carries, and that prints on A4 and reads at phone width.
//!
//! Every figure shown comes from [`Review`]; nothing here computes a figure.

use std::fmt::Write as _;

use chrono_tz::Tz;

use crate::codes::Status;
use crate::daemon::page::esc;
use crate::eval::words::{self, money, rep_label, thousands};
use crate::eval::{Details, GroupResult};
use crate::mail::render::{number, percent, promise, span, when};
use crate::review::{self, ObjectiveReview, Review};
use crate::rules::{Kind, RuleSet};

/// A period label as people say it: `November 2026`, `Q4 2026`.
pub fn period_name(label: &str) -> String {
    if let Some((y, q)) = label.split_once("-Q") {
        return format!("Q{q} {y}");
    }
    let month = chrono::NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d");
    month.map_or_else(|_| label.to_owned(), |d| d.format("%B %Y").to_string())
}

/// A short period label for table columns: `Nov 2026`, `Q4 2026`.
fn short_name(label: &str) -> String {
    if let Some((y, q)) = label.split_once("-Q") {
        return format!("Q{q} {y}");
    }
    let month = chrono::NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d");
    month.map_or_else(|_| label.to_owned(), |d| d.format("%b %Y").to_string())
}

/// The figure of one group result, short: `138 of 150`, `81.2%`, `cutoff 6`.
pub fn figure(kind: Kind, r: &GroupResult) -> String {
    if r.status == Status::Error {
        return "error".into();
    }
    match (&r.details, kind) {
        (Details::LeadVolume(d), _) => match r.target {
            Some(t) => format!("{} of {}", thousands(d.delivered), number(t)),
            None => thousands(d.delivered),
        },
        (Details::Profitability(d), _) => match d.cutoff {
            Some(c) => format!("cutoff {c}"),
            None => "no cutoff".into(),
        },
        _ => match (r.value, r.numerator, r.denominator) {
            (Some(v), Some(n), Some(d)) => {
                format!("{} ({} of {})", percent(v), number(n), number(d))
            }
            _ => "no data".into(),
        },
    }
}

/// A lead_volume period without a single MQL in any group: before the lead
/// data begins, most likely, so its figures are shown as "no MQLs" and not
/// judged.
fn empty_volume(kind: Kind, p: &review::PeriodFigures) -> bool {
    kind == Kind::LeadVolume
        && p.results
            .iter()
            .all(|r| matches!(&r.details, Details::LeadVolume(d) if d.delivered == 0))
}

/// The cell of one group in one period: the figure and its verdict mark. A
/// period compared with (`earlier`) without a single MQL reads "no MQLs";
/// the review's own period is judged whatever it holds.
fn cell(
    kind: Kind,
    p: &review::PeriodFigures,
    group: &str,
    earlier: bool,
) -> (String, Option<bool>) {
    if earlier && empty_volume(kind, p) {
        return ("no MQLs".into(), None);
    }
    match p.results.iter().find(|x| x.group == group) {
        Some(x) => (figure(kind, x), verdict(x)),
        None => ("—".into(), None),
    }
}

/// The verdict of one group over a closed period: `met`, `missed`, or
/// nothing when it was not judged.
fn verdict(r: &GroupResult) -> Option<bool> {
    review::verdict(r)
}

fn verdict_word(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not judged",
    }
}

/// A change against the period before: `+5%` for counts, `−3.1 pts` for ratios.
pub fn change_text(kind: Kind, change: Option<f64>) -> String {
    match change {
        None => "—".into(),
        Some(c) if review::is_count(kind) => {
            let p = (c * 1000.0).round() / 10.0;
            format!("{}{}%", if p > 0.0 { "+" } else { "" }, trim(p))
        }
        Some(c) => {
            let p = (c * 1000.0).round() / 10.0;
            format!("{}{} pts", if p > 0.0 { "+" } else { "" }, trim(p))
        }
    }
}

/// How far a trend fell, without a sign: `25.7%`, `5.2 pts`.
fn fall_text(kind: Kind, change: Option<f64>) -> String {
    change_text(kind, change.map(f64::abs))
        .trim_start_matches('+')
        .to_owned()
}

fn growth_text(g: Option<f64>) -> String {
    change_text(Kind::LeadVolume, g)
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

fn share_text(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), percent)
}

fn reasons_text(reasons: &std::collections::BTreeMap<String, u64>) -> String {
    let mut list: Vec<(&String, &u64)> = reasons.iter().collect();
    list.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let shown: Vec<String> = list
        .iter()
        .take(3)
        .map(|(r, n)| format!("{r} {}", thousands(**n)))
        .collect();
    if shown.is_empty() {
        "—".into()
    } else {
        shown.join(", ")
    }
}

/// A rep row's rep: id and name, or `unowned` for the leads nobody owned.
fn rep_who(p: &review::RepReview, unowned: &str) -> String {
    match &p.rep {
        Some(id) => rep_label(Some(id), p.name.as_deref()),
        None => unowned.to_owned(),
    }
}

/// `33 of 34 (97.1%)`, or a dash when none was due.
fn worked_text(p: &review::RepReview) -> String {
    if p.eligible == 0 {
        return "—".into();
    }
    format!(
        "{} of {} ({})",
        p.worked,
        p.eligible,
        share_text(p.worked_share)
    )
}

/// The subject of the review's mail.
pub fn subject(r: &Review) -> String {
    let judged: Vec<Option<bool>> = r.objectives.iter().map(ObjectiveReview::met).collect();
    let met = judged.iter().filter(|m| **m == Some(true)).count();
    let missed = judged.iter().filter(|m| **m == Some(false)).count();
    format!(
        "[handoff] Review of {}: {met} promise{} met, {missed} missed",
        period_name(&r.period.label),
        if met == 1 { "" } else { "s" }
    )
}

/// The objectives met and missed, in one line.
fn summary_line(r: &Review) -> String {
    let mut met = Vec::new();
    let mut missed = Vec::new();
    for o in &r.objectives {
        match o.met() {
            Some(true) => met.push(o.name.as_str()),
            Some(false) => missed.push(o.name.as_str()),
            None => {}
        }
    }
    let list = |v: &[&str]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!("Met: {}. Missed: {}.", list(&met), list(&missed))
}

// ---------------------------------------------------------------------------
// Text.

/// The review as text: `handoff review` and the mail's text part.
pub fn text(r: &Review, rules: &RuleSet) -> String {
    let tz: Tz = r.timezone.parse().unwrap_or(Tz::UTC);
    let cur = r.currency.as_deref();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Review of {} ({} to {}, {})",
        period_name(&r.period.label),
        when(r.period.start, tz),
        when(r.period.end, tz),
        r.timezone
    );
    let _ = writeln!(out, "{}", summary_line(r));
    let _ = writeln!(
        out,
        "Each figure is the objective over the whole period, measured at its end."
    );

    let _ = writeln!(out, "\nPROMISES");
    for o in &r.objectives {
        let rule = rules.objective(&o.name);
        let _ = writeln!(
            out,
            "\n{} ({}, owner {}): {}",
            o.name,
            o.kind,
            o.owner.join(", "),
            verdict_word(o.met()).to_uppercase()
        );
        if let Some(rule) = rule {
            let _ = writeln!(out, "  What was promised: {}", promise(rule));
        }
        if let Some(n) = &o.note {
            let _ = writeln!(out, "  Note: {n}");
        }
        let mut header = format!("  {:<16}", "group");
        for p in &o.periods {
            let _ = write!(header, " {:<24}", short_name(&p.label));
        }
        if !o.change.is_empty() {
            header.push_str(" change");
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for g in &o.periods[0].results {
            let mut line = format!("  {:<16}", g.group);
            for (i, p) in o.periods.iter().enumerate() {
                let (figure, v) = cell(o.kind, p, &g.group, i > 0);
                let mark = match v {
                    Some(true) => " ✓",
                    Some(false) => " ✗",
                    None => "",
                };
                let _ = write!(line, " {:<24}", format!("{figure}{mark}"));
            }
            if let Some(c) = o.change.iter().find(|c| c.group == g.group) {
                line.push(' ');
                line.push_str(&change_text(o.kind, c.change));
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        for t in o.trend.iter().filter(|t| t.dropped) {
            let _ = writeln!(
                out,
                "  Trend: {} fell {} against {} ({}).",
                t.group,
                fall_text(o.kind, t.change),
                if t.compare == "previous" {
                    "the period before"
                } else {
                    "the median of the three before"
                },
                t.baseline.map_or_else(
                    || "—".into(),
                    |b| if review::is_count(o.kind) {
                        number(b)
                    } else {
                        percent(b)
                    }
                )
            );
        }
    }

    let _ = writeln!(out, "\nLEAD FLOW (MQLs by period)");
    for f in &r.flow {
        let _ = writeln!(
            out,
            "  {:<10} {:>8}",
            short_name(&f.label),
            thousands(f.mqls)
        );
    }

    let _ = writeln!(out, "\nCHANNELS");
    let _ = writeln!(
        out,
        "  {:<14} {:>7} {:>8} {:>9} {:>9} {:>10} {:>11} {:>5} {:>14} {:>10}  close reasons",
        "channel",
        "MQLs",
        "growth",
        "accepted",
        "rejected",
        "undecided",
        "acceptance",
        "won",
        "revenue",
        "MQL value"
    );
    for c in &r.channels {
        let _ = writeln!(
            out,
            "  {:<14} {:>7} {:>8} {:>9} {:>9} {:>10} {:>11} {:>5} {:>14} {:>10}  {}",
            c.channel,
            thousands(c.mqls),
            growth_text(c.growth),
            thousands(c.accepted),
            thousands(c.rejected),
            thousands(c.undecided),
            share_text(c.acceptance),
            thousands(c.won),
            money(c.revenue, cur),
            c.mql_value.map_or_else(|| "—".into(), |v| money(v, cur)),
            reasons_text(&c.close_reasons)
        );
    }

    let _ = writeln!(out, "\nREPS");
    let _ = writeln!(
        out,
        "  {:<28} {:>6} {:>18} {:>15} {:>9} {:>14} {:>4}",
        "rep", "MQLs", "worked in time", "median 1st try", "given up", "under minimum", "won"
    );
    for p in &r.reps {
        let (who, worked) = (rep_who(p, "(no owner)"), worked_text(p));
        let _ = writeln!(
            out,
            "  {:<28} {:>6} {:>18} {:>15} {:>9} {:>14} {:>4}",
            who,
            thousands(p.mqls),
            worked,
            p.median_response_seconds.map_or_else(|| "—".into(), span),
            thousands(p.given_up),
            thousands(p.under_minimum),
            thousands(p.won)
        );
    }

    if !r.economics.is_empty() {
        let _ = writeln!(out, "\nECONOMICS");
        for e in &r.economics {
            let _ = writeln!(out, "  {}", economics_line(e, cur));
        }
    }

    let _ = writeln!(out, "\nALERTS");
    if r.alerts.is_empty() {
        let _ = writeln!(out, "  None recorded in the period.");
    }
    for a in &r.alerts {
        let _ = writeln!(out, "  {}", alert_line(a));
    }

    let _ = writeln!(out, "\nSLA CHANGES");
    if r.changes.is_empty() {
        let _ = writeln!(out, "  None in the period.");
    }
    for c in &r.changes {
        let _ = writeln!(
            out,
            "  {} {} {} ({})",
            when(c.at, tz),
            c.objective,
            c.change,
            c.source
        );
        for l in &c.lines {
            let _ = writeln!(out, "    {l}");
        }
    }
    out
}

fn economics_line(e: &review::Economics, cur: Option<&str>) -> String {
    let cutoff = match (e.cutoff, e.required_attempts) {
        (Some(c), Some(req)) if req > c => format!(
            "the SLA demands {} but attempts stop paying after {}",
            words::attempts(req),
            words::attempts(c)
        ),
        (Some(c), Some(req)) => format!(
            "attempts pay up to {} (the SLA demands {})",
            words::attempts(c),
            words::attempts(req)
        ),
        (Some(c), None) => format!("attempts pay up to {}", words::attempts(c)),
        (None, _) if e.converted < e.min_conversions => format!(
            "too few sales to find where attempts stop paying ({} of the {} needed)",
            thousands(e.converted),
            thousands(e.min_conversions)
        ),
        (None, _) => format!(
            "no attempt number with at least {} leads earns back its cost",
            thousands(e.min_sample)
        ),
    };
    // A cutoff found on fewer sales than `min_conversions` is not judged.
    let cutoff = if e.cutoff.is_some() && e.converted < e.min_conversions {
        format!(
            "{cutoff}, on too few sales to judge ({} of the {} needed)",
            thousands(e.converted),
            thousands(e.min_conversions)
        )
    } else {
        cutoff
    };
    let value = e.mql_value.map_or_else(String::new, |v| {
        format!("; an MQL is worth {}", money(v, cur))
    });
    let leak = match e.leakage_value {
        Some(v) if e.leakage > 0 => format!(
            "; {} leads given up before the cutoff, worth {} at that value",
            thousands(e.leakage),
            money(v, cur)
        ),
        _ => String::new(),
    };
    format!("{} ({}): {cutoff}{value}{leak}", e.objective, e.group)
}

fn alert_line(a: &review::AlertReview) -> String {
    let mut parts = Vec::new();
    if a.breached_seconds > 0.0 {
        parts.push(format!("breached {}", span(a.breached_seconds)));
    }
    if a.at_risk_seconds > 0.0 {
        parts.push(format!("at risk {}", span(a.at_risk_seconds)));
    }
    if a.error_seconds > 0.0 {
        parts.push(format!("failing {}", span(a.error_seconds)));
    }
    parts.push(format!("fired {}×", a.fired));
    parts.push(format!(
        "{} mail{}",
        a.notices,
        if a.notices == 1 { "" } else { "s" }
    ));
    format!("{} ({}): {}", a.objective, a.group, parts.join(", "))
}

// ---------------------------------------------------------------------------
// HTML.

/// Links the page shows around the review (the daemon's own pages).
#[derive(Clone, Debug, Default)]
pub struct Links {
    /// The status page, e.g. `/` or `https://handoff.example/`.
    pub home: Option<String>,
    /// The review of another period: the prefix `…/review/` the label is added to.
    pub review_base: Option<String>,
}

/// The review as one self-contained HTML page.
pub fn html(r: &Review, rules: &RuleSet, links: &Links) -> String {
    let tz: Tz = r.timezone.parse().unwrap_or(Tz::UTC);
    let cur = r.currency.as_deref();
    let title = format!("Review of {}", period_name(&r.period.label));
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · handoff</title><style>{CSS}</style></head><body><main>",
        esc(&title)
    );
    let _ = write!(out, "<header><h1>{}</h1>", esc(&title));
    let _ = write!(
        out,
        "<p class=\"sub\">{} to {} ({}). Each figure is the objective over the whole period, measured at its end.</p>",
        esc(&when(r.period.start, tz)),
        esc(&when(r.period.end, tz)),
        esc(&r.timezone)
    );
    let _ = write!(out, "<p class=\"summary\">{}</p>", esc(&summary_line(r)));
    if links.home.is_some() || links.review_base.is_some() {
        out.push_str("<nav>");
        if let Some(h) = &links.home {
            let _ = write!(out, "<a href=\"{}\">Status page</a>", esc(h));
        }
        if let (Some(base), Some(prev)) = (&links.review_base, r.flow.iter().rev().nth(1)) {
            let _ = write!(
                out,
                " · <a href=\"{}{}\">Review of {}</a>",
                esc(base),
                esc(&prev.label),
                esc(&period_name(&prev.label))
            );
        }
        out.push_str("</nav>");
    }
    out.push_str("</header>");

    out.push_str("<section><h2>Promises</h2>");
    for o in &r.objectives {
        objective_html(&mut out, o, rules);
    }
    out.push_str("</section>");

    out.push_str("<section class=\"keep\"><h2>Lead flow</h2>");
    out.push_str(&flow_svg(r));
    out.push_str("</section>");

    out.push_str(
        "<section><h2>Channels</h2><div class=\"scroll\"><table><thead><tr>\
        <th>channel</th><th class=\"n\">MQLs</th><th class=\"n\">vs before</th>\
        <th class=\"n\">accepted</th><th class=\"n\">rejected</th><th class=\"n\">undecided</th>\
        <th class=\"n\">acceptance</th><th>close reasons</th><th class=\"n\">won</th>\
        <th class=\"n\">revenue</th><th class=\"n\">MQL value</th></tr></thead><tbody>",
    );
    for c in &r.channels {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"wrap\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.channel),
            thousands(c.mqls),
            esc(&growth_text(c.growth)),
            thousands(c.accepted),
            thousands(c.rejected),
            thousands(c.undecided),
            esc(&share_text(c.acceptance)),
            esc(&reasons_text(&c.close_reasons)),
            thousands(c.won),
            esc(&money(c.revenue, cur)),
            esc(&c.mql_value.map_or_else(|| "—".into(), |v| money(v, cur)))
        );
    }
    out.push_str("</tbody></table></div></section>");

    out.push_str("<section><h2>Reps</h2><div class=\"scroll\"><table><thead><tr><th>rep</th>\
        <th class=\"n\">MQLs</th><th class=\"n\">worked in time</th><th class=\"n\">median first try</th>\
        <th class=\"n\">given up</th><th class=\"n\">under the minimum</th><th class=\"n\">won</th></tr></thead><tbody>");
    for p in &r.reps {
        let (who, worked) = (rep_who(p, "(no owner: a routing failure)"), worked_text(p));
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&who),
            thousands(p.mqls),
            esc(&worked),
            esc(&p.median_response_seconds.map_or_else(|| "—".into(), span)),
            thousands(p.given_up),
            if p.under_minimum > 0 { " bad" } else { "" },
            thousands(p.under_minimum),
            thousands(p.won)
        );
    }
    out.push_str("</tbody></table></div></section>");

    if !r.economics.is_empty() {
        out.push_str("<section class=\"keep\"><h2>Economics</h2><ul>");
        for e in &r.economics {
            let _ = write!(out, "<li>{}</li>", esc(&economics_line(e, cur)));
        }
        out.push_str("</ul></section>");
    }

    out.push_str("<section><h2>Alerts</h2>");
    if r.alerts.is_empty() {
        out.push_str("<p>None recorded in the period.</p>");
    } else {
        out.push_str("<ul>");
        for a in &r.alerts {
            let _ = write!(out, "<li>{}</li>", esc(&alert_line(a)));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section><section><h2>SLA changes</h2>");
    if r.changes.is_empty() {
        out.push_str("<p>None in the period.</p>");
    } else {
        out.push_str("<ul>");
        for c in &r.changes {
            let _ = write!(
                out,
                "<li><strong>{}</strong> {} ({}, {})",
                esc(&c.objective),
                esc(&c.change),
                esc(&when(c.at, tz)),
                esc(&c.source)
            );
            if !c.lines.is_empty() {
                out.push_str("<ul>");
                for l in &c.lines {
                    let _ = write!(out, "<li><code>{}</code></li>", esc(l));
                }
                out.push_str("</ul>");
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("</section><footer>handoff · computed from the lead data; alerts and changes from the daemon's record</footer></main></body></html>\n");
    out
}

fn objective_html(out: &mut String, o: &ObjectiveReview, rules: &RuleSet) {
    let met = o.met();
    let class = match met {
        Some(true) => "met",
        Some(false) => "missed",
        None => "none",
    };
    let _ = write!(
        out,
        "<article class=\"objective\"><h3><span class=\"badge {class}\">{}</span> {}</h3>",
        verdict_word(met),
        esc(&o.name)
    );
    let promise_text = rules.objective(&o.name).map(promise).unwrap_or_default();
    let _ = write!(
        out,
        "<p class=\"promise\">{} <span class=\"who\">({}, owner {})</span></p>",
        esc(&promise_text),
        esc(o.kind.as_str()),
        esc(&o.owner.join(", "))
    );
    if let Some(n) = &o.note {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr><th>group</th>");
    for (i, p) in o.periods.iter().enumerate() {
        let _ = write!(
            out,
            "<th class=\"n{}\">{}</th>",
            if i == 0 { " now" } else { "" },
            esc(&short_name(&p.label))
        );
    }
    if !o.change.is_empty() {
        out.push_str("<th class=\"n\">vs before</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for g in &o.periods[0].results {
        let _ = write!(out, "<tr><td>{}</td>", esc(&g.group));
        for (i, p) in o.periods.iter().enumerate() {
            let (figure, v) = cell(o.kind, p, &g.group, i > 0);
            let (cls, mark) = match v {
                Some(true) => (" good", " ✓"),
                Some(false) => (" bad", " ✗"),
                None => ("", ""),
            };
            let _ = write!(out, "<td class=\"n{cls}\">{}{mark}</td>", esc(&figure));
        }
        if let Some(c) = o.change.iter().find(|c| c.group == g.group) {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                esc(&change_text(o.kind, c.change))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    for t in o.trend.iter().filter(|t| t.dropped) {
        let _ = write!(
            out,
            "<p class=\"trend\">Trend: {} fell {} against {}.</p>",
            esc(&t.group),
            esc(&fall_text(o.kind, t.change)),
            if t.compare == "previous" {
                "the period before"
            } else {
                "the median of the three before"
            }
        );
    }
    out.push_str("</article>");
}

const CHANNEL_COLOURS: [&str; 8] = [
    "#2f6fb0", "#e08a2c", "#3b9a5a", "#b8463f", "#7d5ba6", "#8c6d4f", "#c7569b", "#5b6472",
];

/// Stacked bars of MQLs per period and channel: the year's lead flow.
fn flow_svg(r: &Review) -> String {
    let (w, h, left, bottom, top) = (640.0_f64, 220.0_f64, 48.0_f64, 186.0_f64, 12.0_f64);
    let max = r.flow.iter().map(|f| f.mqls).max().unwrap_or(0).max(1) as f64;
    let channels: Vec<&String> = {
        let mut set = std::collections::BTreeSet::new();
        for f in &r.flow {
            set.extend(f.by_channel.keys());
        }
        set.into_iter().collect()
    };
    let n = r.flow.len().max(1) as f64;
    let slot = (w - left - 8.0) / n;
    let bar = slot * 0.7;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"MQLs per period by channel\"><title>MQLs per period by channel</title>"
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#5b6472\"/>",
        w - 4.0
    );
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">0</text>",
        left - 6.0,
        top + 10.0,
        thousands(max as u64),
        left - 6.0,
        bottom
    );
    for (i, f) in r.flow.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = bottom;
        for (ci, c) in channels.iter().enumerate() {
            let v = f.by_channel.get(*c).copied().unwrap_or(0) as f64;
            if v == 0.0 {
                continue;
            }
            let hgt = v / max * (bottom - top);
            y -= hgt;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{hgt:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                CHANNEL_COLOURS[ci % CHANNEL_COLOURS.len()],
                esc(&short_name(&f.label)),
                esc(c),
                thousands(v as u64)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"val\" text-anchor=\"middle\">{}</text>",
            x + bar / 2.0,
            y - 3.0,
            thousands(f.mqls)
        );
        let label = short_name(&f.label);
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
            x + bar / 2.0,
            bottom + 14.0,
            esc(label.split(' ').next().unwrap_or(&label))
        );
    }
    svg.push_str("</svg><p class=\"legend\">");
    for (ci, c) in channels.iter().enumerate() {
        let _ = write!(
            svg,
            "<span><i style=\"background:{}\"></i>{}</span> ",
            CHANNEL_COLOURS[ci % CHANNEL_COLOURS.len()],
            esc(c)
        );
    }
    svg.push_str("</p>");
    svg
}

const CSS: &str = r"
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;background:#f6f7f9}
main{max-width:1040px;margin:0 auto;padding:20px 16px 40px;background:#fff}
h1{font-size:1.6rem;margin:0 0 4px}
h2{font-size:1.15rem;margin:28px 0 8px;border-bottom:2px solid #d9dde3;padding-bottom:4px}
h3{font-size:1rem;margin:18px 0 2px}
.sub,.who,.note,footer{color:#5b6472}
.summary{font-weight:600}
nav a{color:#2f6fb0}
.promise{margin:0 0 6px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:4px 8px;border-bottom:1px solid #e6e8ec;text-align:left;white-space:nowrap}
th{background:#f0f2f5;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:12em}
th.now{background:#dfe8f3}
.good{color:#1f6b3a}
.bad{color:#a3271f;font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;vertical-align:1px}
.badge.met{background:#dcefe2;color:#1f6b3a}
.badge.missed{background:#f6dcd9;color:#a3271f}
.badge.none{background:#eceef1;color:#5b6472}
.trend{color:#a3271f;font-weight:600}
.chart{width:100%;max-width:640px;height:auto}
.chart .axis{font-size:11px;fill:#5b6472}
.chart .val{font-size:10px;fill:#1d2330}
.legend span{margin-right:12px;font-size:.85rem;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
footer{margin-top:32px;font-size:.8rem}
@media (max-width:600px){body{font-size:14px}main{padding:12px 10px}th,td{padding:3px 5px}}
@media print{@page{size:A4;margin:14mm}body{background:#fff;font-size:10.5pt}main{max-width:none;padding:0}
 article,.keep{break-inside:avoid}h2{break-after:avoid}.scroll{overflow:visible}table{font-size:8.5pt}th,td{white-space:normal}nav{display:none}}
";

// ---------------------------------------------------------------------------
// Mail.

/// The review's mail: the page itself as the HTML part, the text report as
/// the text part.
pub fn review_mail(r: &Review, rules: &RuleSet, links: &Links) -> crate::mail::render::Rendered {
    let mut text = text(r, rules);
    if let (Some(base), true) = (&links.review_base, links.home.is_some()) {
        text.push_str(&format!(
            "\nThe review on the web: {base}{}\n",
            r.period.label
        ));
    }
    crate::mail::render::Rendered {
        subject: subject(r),
        text,
        html: html(r, rules, links),
    }
}

/// A "trend" notice: the groups of one objective whose closed period
/// dropped against its baseline.
pub fn trend_mail(
    r: &Review,
    o: &ObjectiveReview,
    rules: &RuleSet,
    dropped: &[&review::TrendReading],
    links: &Links,
) -> crate::mail::render::Rendered {
    let period = period_name(&r.period.label);
    let against = |t: &review::TrendReading| {
        if t.compare == "previous" {
            "the period before"
        } else {
            "the median of the three before"
        }
    };
    let fmt = |v: Option<f64>| match v {
        None => "—".to_owned(),
        Some(v) if review::is_count(o.kind) => number(v),
        Some(v) => percent(v),
    };
    let groups: Vec<String> = dropped.iter().map(|t| t.group.clone()).collect();
    let first = dropped.first();
    let subject = match first {
        Some(t) if dropped.len() == 1 => format!(
            "[handoff] TREND {} ({}): {} in {}, {} against {}",
            o.name,
            t.group,
            fmt(t.value),
            period,
            change_text(o.kind, t.change),
            fmt(t.baseline)
        ),
        _ => format!(
            "[handoff] TREND {}: {} groups fell in {} ({})",
            o.name,
            dropped.len(),
            period,
            groups.join(", ")
        ),
    };
    let promise_text = rules.objective(&o.name).map(promise).unwrap_or_default();
    let mut text = format!("{subject}\n\nWhat was promised: {promise_text}\n\n");
    let mut rows = String::new();
    for t in dropped {
        text.push_str(&format!(
            "{}: {} in {}, against {} ({}): {}, on a volume of {}.\n",
            t.group,
            fmt(t.value),
            period,
            fmt(t.baseline),
            against(t),
            change_text(o.kind, t.change),
            thousands(t.volume)
        ));
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n bad\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&t.group),
            esc(&fmt(t.value)),
            esc(&fmt(t.baseline)),
            esc(&change_text(o.kind, t.change)),
            thousands(t.volume)
        );
    }
    text.push_str(
        "\nA trend notice is sent once per period and group when the closed period falls by more than the objective's `trend.drop`.\n",
    );
    let link = links
        .review_base
        .as_ref()
        .map(|b| format!("{b}{}", r.period.label));
    if let Some(l) = &link {
        text.push_str(&format!("The review of {period}: {l}\n"));
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body><main><h1>{}</h1><p>What was promised: {}</p><p>Baseline: {}.</p><div class=\"scroll\"><table><thead><tr><th>group</th><th class=\"n\">{}</th><th class=\"n\">baseline</th><th class=\"n\">change</th><th class=\"n\">volume</th></tr></thead><tbody>{rows}</tbody></table></div><p class=\"sub\">Sent once per period and group when the closed period falls by more than the objective's <code>trend.drop</code>.</p>{}</main></body></html>\n",
        esc(&subject),
        esc(&subject),
        esc(&promise_text),
        esc(first.map_or("the period before", |t| against(t))),
        esc(&short_name(&r.period.label)),
        link.map_or_else(String::new, |l| format!(
            "<p><a href=\"{}\">The review of {}</a></p>",
            esc(&l),
            esc(&period)
        ))
    );
    crate::mail::render::Rendered {
        subject,
        text,
        html,
    }
}
