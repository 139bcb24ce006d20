//! Writing a mail: the facts of one notification ([`Notice`]) become a view of
//! plain, already formatted strings ([`View`]), which minijinja templates turn
//! into a text part and an HTML part; [`message`] wraps both into one RFC 5322
//! message with its threading headers.
//!
//! The templates ship inside the binary (`src/mail/templates/`) and any of
//! them can be replaced by a file of the same name in `--templates-dir`. In
//! `.html.j2` templates every value is HTML-escaped.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::{Mailbox, MultiPart, SinglePart, header};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::eval::{Details, Failure, GroupResult, MAX_NAMED_LEADS};
use crate::rules::{Kind, Objective, Spec};

/// The mails there are, each with its own pair of templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A breached promise is firing (severity critical).
    Breach,
    /// A promise at risk is firing (severity warning).
    AtRisk,
    /// A firing alert resolved.
    Resolved,
    /// A calendar period closed below its volume target.
    PeriodMissed,
    /// Evaluations against the database keep failing.
    EvaluationFailing,
    /// What an objective measures, or its target, changed in the rules.
    SlaChanged,
}

impl MailKind {
    /// Every kind, for checks of the templates.
    pub const ALL: [MailKind; 6] = [
        MailKind::Breach,
        MailKind::AtRisk,
        MailKind::Resolved,
        MailKind::PeriodMissed,
        MailKind::EvaluationFailing,
        MailKind::SlaChanged,
    ];

    /// The stem of its templates and its name in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Breach => "breach",
            MailKind::AtRisk => "at_risk",
            MailKind::Resolved => "resolved",
            MailKind::PeriodMissed => "period_missed",
            MailKind::EvaluationFailing => "evaluation_failing",
            MailKind::SlaChanged => "sla_changed",
        }
    }

    /// The colour HTML gives it.
    fn accent(self) -> &'static str {
        match self {
            MailKind::Breach | MailKind::PeriodMissed => "#b91c1c",
            MailKind::AtRisk => "#b45309",
            MailKind::Resolved => "#15803d",
            MailKind::EvaluationFailing => "#7c3aed",
            MailKind::SlaChanged => "#1d4ed8",
        }
    }

    /// How the subject line names it.
    fn title(self) -> &'static str {
        match self {
            MailKind::Breach => "BREACHED",
            MailKind::AtRisk => "AT RISK",
            MailKind::Resolved => "RESOLVED",
            MailKind::PeriodMissed => "PERIOD MISSED",
            MailKind::EvaluationFailing => "EVALUATION FAILING",
            MailKind::SlaChanged => "SLA CHANGED",
        }
    }
}

/// The facts of one notification, as the daemon knows them.
#[derive(Clone, Debug)]
pub struct Notice<'a> {
    pub kind: MailKind,
    /// A reminder of an alert still firing (`repeat`).
    pub repeat: bool,
    /// For a firing alert whose severity changed: the status it had
    /// (`at_risk` or `breached`).
    pub changed_from: Option<&'static str>,
    /// The objective (none for "evaluation failing").
    pub objective: Option<&'a Objective>,
    /// The group (`all` without `by`).
    pub group: &'a str,
    /// The figures the notice is about: those of the evaluation that caused
    /// the transition it tells (for a missed period, its final ones).
    pub result: Option<&'a GroupResult>,
    /// The latest figures, when they differ from `result`.
    pub latest: Option<&'a GroupResult>,
    /// A firing alert whose latest figure meets the target is held by
    /// `keep_firing_for` until then (unless the promise breaks again).
    pub held_until: Option<DateTime<Utc>>,
    /// For an SLA change: what changed, a line each (`target: 95% → 90%`).
    pub changes: Vec<String>,
    /// For an SLA change: each group's status under the new definition.
    pub statuses: Vec<(String, String)>,
    /// When the figures were measured.
    pub measured_at: Option<DateTime<Utc>>,
    /// When the latest figures were measured.
    pub latest_measured_at: Option<DateTime<Utc>>,
    /// When the problem began (the start of pending).
    pub since: Option<DateTime<Utc>>,
    /// When the alert fired.
    pub fired_at: Option<DateTime<Utc>>,
    /// For a resolved alert: when it resolved, and the status it had.
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_status: Option<&'static str>,
    /// For a missed period: its first instant and its end.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// For "evaluation failing": the objectives failing and why.
    pub failing: Vec<(&'a Objective, Option<&'a Failure>)>,
    /// What the database is, for "evaluation failing" (no password).
    pub database: &'a str,
    /// The address the mail goes to, and why it goes there.
    pub receiver: &'a str,
    /// The status page's base URL (`--external-url`).
    pub external_url: Option<&'a str>,
    /// For a firing alert: the signed link that acknowledges its episode
    /// (`--ack-secret`, docs/CHANNELS.md).
    pub ack: Option<String>,
}

/// One figure: a label and its value, formatted.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub label: String,
    pub value: String,
}

/// The leads (or reps) that make the figure what it is.
#[derive(Clone, Debug, Serialize)]
pub struct Offenders {
    /// What the list is: "Leads not worked within 4h".
    pub title: String,
    /// "the first 20 of 35", or "all 3".
    pub count: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// An objective that is failing, for "evaluation failing".
#[derive(Clone, Debug, Serialize)]
pub struct FailingObjective {
    pub name: String,
    pub owners: String,
    pub error: String,
}

/// What the templates see: every value already formatted for people.
#[derive(Clone, Debug, Serialize)]
pub struct View {
    pub kind: MailKind,
    pub subject: String,
    /// `BREACHED`, `AT RISK`, …
    pub title: String,
    /// The colour of the title in HTML.
    pub accent: String,
    pub repeat: bool,
    /// "was at risk", when a firing alert changed severity.
    pub changed: Option<String>,
    pub objective: String,
    /// The promise in the rule's words, or one made from its settings.
    pub promise: String,
    /// What the objective measures, in words ("speed to lead").
    pub measure: String,
    pub owners: String,
    /// The window, in words ("the rolling 28 days up to now").
    pub window: String,
    /// `None` for the single group `all`.
    pub group: Option<String>,
    /// What to do about it and by when, before anything else: "Call 12
    /// leads today: …; 9 are R0003 Priya Okafor's."
    pub action: Option<String>,
    /// The figure against the target: "81% worked within 4h, target 95%".
    pub headline: String,
    /// The latest figure, when the mail is about an earlier evaluation and
    /// the figure has moved since.
    pub latest: Option<String>,
    /// When the latest figure was measured.
    pub latest_at: Option<String>,
    /// A firing alert held by `keep_firing_for`: until when.
    pub held_until: Option<String>,
    /// For an SLA change: what changed, and each group's status now.
    pub changes: Vec<String>,
    pub statuses: Vec<String>,
    pub figures: Vec<Figure>,
    pub measured_at: Option<String>,
    pub since: Option<String>,
    pub fired_at: Option<String>,
    pub resolved_at: Option<String>,
    /// How long the alert fired, for a resolved one.
    pub lasted: Option<String>,
    /// The status a resolved alert had.
    pub was: Option<String>,
    /// The first of `lists` (kept for templates written before there were two).
    pub offenders: Option<Offenders>,
    /// The lists of leads behind the figure, the one to act on first.
    pub lists: Vec<Offenders>,
    /// The reps behind the figure, the most failures first, a line each.
    pub reps: Vec<String>,
    /// "October 2026", for a missed period.
    pub period: Option<String>,
    pub failing: Vec<FailingObjective>,
    pub database: String,
    /// The status page, at the objective's section.
    pub link: Option<String>,
    /// For a firing alert: the link that acknowledges it (no reminders
    /// while it stays at this status).
    pub ack: Option<String>,
    pub receiver: String,
    /// Where the objective is written (`rules/acme.yaml:40`).
    pub origin: Option<String>,
    /// The time zone times are shown in.
    pub timezone: String,
}

/// What the lead notice templates see (docs/LEADS.md): one digest to one
/// receiver, every value formatted.
#[derive(Clone, Debug, Serialize)]
pub struct LeadView {
    pub subject: String,
    /// `NEW MQL`, `REMINDER`, `OVERDUE`, or `MQLS TO CALL` for a mix.
    pub title: String,
    pub accent: String,
    /// "MQL L123 is yours", "3 MQLs to call".
    pub heading: String,
    /// What to do and by when, in a sentence.
    pub intro: String,
    pub objective: String,
    /// The promise in words.
    pub promise: String,
    pub leads: Vec<LeadLine>,
    /// The status page, at the objective's section.
    pub link: Option<String>,
    pub receiver: String,
    /// Why the receiver gets this mail.
    pub why: String,
    pub timezone: String,
}

/// One lead of a digest.
#[derive(Clone, Debug, Serialize)]
pub struct LeadLine {
    pub id: String,
    /// The lead in the CRM (`lead_url`).
    pub url: Option<String>,
    /// `handoff`, `reminder` or `overdue`.
    pub kind: String,
    /// "New: yours to call", "Reminder: nobody has tried it yet", "Overdue".
    pub what: String,
    pub accent: String,
    pub channel: Option<String>,
    pub score: Option<String>,
    /// The owner, for a manager's overdue list: `R0003 Priya Okafor`.
    pub owner: Option<String>,
    pub handed_off: String,
    pub due_by: String,
    /// "2h 30m of business time left", "overdue by 40m".
    pub left: String,
}

/// A score as people read it: `82`, `82.5`.
pub fn score(v: f64) -> String {
    number(v)
}

/// An instant of a lead notice: `Mon 7 Dec 13:00 EST`.
pub fn lead_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %H:%M %Z")
        .to_string()
}

fn sample_leads() -> LeadView {
    LeadView {
        subject: "[handoff] New MQL L1 (webinar, score 82) is yours: first attempt due by Mon 7 Dec 13:00 EST".into(),
        title: "NEW MQL".into(),
        accent: "#1d4ed8".into(),
        heading: "MQL L1 is yours".into(),
        intro: "Make the first attempt by Mon 7 Dec 13:00 EST.".into(),
        objective: "speed-to-lead".into(),
        promise: "Sales makes a first attempt within 4h.".into(),
        leads: vec![LeadLine {
            id: "L1".into(),
            url: Some("https://crm.example/leads/L1".into()),
            kind: "handoff".into(),
            what: "New: yours to call".into(),
            accent: "#1d4ed8".into(),
            channel: Some("webinar".into()),
            score: Some("82".into()),
            owner: Some("R1 Ana".into()),
            handed_off: "Mon 7 Dec 09:00 EST".into(),
            due_by: "Mon 7 Dec 13:00 EST".into(),
            left: "4h of business time left".into(),
        }],
        link: Some("http://handoff.example/#speed-to-lead".into()),
        receiver: "ana@acme.example".into(),
        why: "You get this mail as the owner of these leads.".into(),
        timezone: "America/New_York".into(),
    }
}

/// A mail written: its subject and both parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The built-in templates, by file name.
const BUILT_IN: &[(&str, &str)] = &[
    ("layout.html.j2", include_str!("templates/layout.html.j2")),
    ("parts.html.j2", include_str!("templates/parts.html.j2")),
    ("parts.txt.j2", include_str!("templates/parts.txt.j2")),
    ("breach.txt.j2", include_str!("templates/breach.txt.j2")),
    ("breach.html.j2", include_str!("templates/breach.html.j2")),
    ("at_risk.txt.j2", include_str!("templates/at_risk.txt.j2")),
    ("at_risk.html.j2", include_str!("templates/at_risk.html.j2")),
    ("resolved.txt.j2", include_str!("templates/resolved.txt.j2")),
    (
        "resolved.html.j2",
        include_str!("templates/resolved.html.j2"),
    ),
    (
        "period_missed.txt.j2",
        include_str!("templates/period_missed.txt.j2"),
    ),
    (
        "period_missed.html.j2",
        include_str!("templates/period_missed.html.j2"),
    ),
    (
        "evaluation_failing.txt.j2",
        include_str!("templates/evaluation_failing.txt.j2"),
    ),
    (
        "evaluation_failing.html.j2",
        include_str!("templates/evaluation_failing.html.j2"),
    ),
    (
        "sla_changed.txt.j2",
        include_str!("templates/sla_changed.txt.j2"),
    ),
    (
        "sla_changed.html.j2",
        include_str!("templates/sla_changed.html.j2"),
    ),
    (
        "lead_notice.txt.j2",
        include_str!("templates/lead_notice.txt.j2"),
    ),
    (
        "lead_notice.html.j2",
        include_str!("templates/lead_notice.html.j2"),
    ),
];

/// The template names, for `--templates-dir` users.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(n, _)| *n)
}

/// The templates, built in or overridden from a directory.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// Loads the templates, those in `dir` (if given) in place of the built-in
    /// ones of the same name, and checks that every mail renders.
    ///
    /// # Errors
    ///
    /// A template in `dir` does not parse, or fails to render a sample mail;
    /// the message names the file and line.
    pub fn load(dir: Option<PathBuf>) -> Result<Templates, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, text) in BUILT_IN {
            let own = match &dir {
                Some(d) if d.join(name).is_file() => {
                    let path = d.join(name);
                    Some(
                        std::fs::read_to_string(&path)
                            .map_err(|e| format!("{}: {e}", path.display()))?,
                    )
                }
                _ => None,
            };
            let source = own.unwrap_or_else(|| (*text).to_owned());
            env.add_template_owned(*name, source).map_err(|e| {
                let place = dir
                    .as_ref()
                    .map(|d| d.join(name).display().to_string())
                    .unwrap_or_else(|| (*name).to_owned());
                format!("{place}: {}", describe(&e))
            })?;
        }
        if let Some(d) = &dir {
            if !d.is_dir() {
                return Err(format!("--templates-dir {}: not a directory", d.display()));
            }
            for entry in std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))? {
                let name = entry
                    .map_err(|e| format!("{}: {e}", d.display()))?
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                if name.ends_with(".j2") && !BUILT_IN.iter().any(|(n, _)| *n == name) {
                    let names: Vec<&str> = template_names().collect();
                    let hint = crate::suggest::hint(&name, names.iter().copied());
                    return Err(format!(
                        "{}: not a template handoff uses{hint} (it uses {})",
                        d.join(&name).display(),
                        names.join(", ")
                    ));
                }
            }
        }
        let templates = Templates { env };
        for kind in MailKind::ALL {
            templates
                .render_view(&sample(kind))
                .map_err(|e| format!("{e} (while rendering a sample {} mail)", kind.as_str()))?;
        }
        templates
            .render_leads(&sample_leads())
            .map_err(|e| format!("{e} (while rendering a sample lead notice)"))?;
        Ok(templates)
    }

    /// Writes one lead digest (docs/LEADS.md).
    ///
    /// # Errors
    ///
    /// A template failed to render (an overridden one that uses a value the
    /// view does not have).
    pub fn render_leads(&self, view: &LeadView) -> Result<Rendered, String> {
        let part = |ext: &str| -> Result<String, String> {
            let name = format!("lead_notice.{ext}.j2");
            self.env
                .get_template(&name)
                .and_then(|t| t.render(view))
                .map_err(|e| format!("{name}: {}", describe(&e)))
        };
        Ok(Rendered {
            subject: view.subject.clone(),
            text: part("txt")?,
            html: part("html")?,
        })
    }

    /// Writes one mail.
    ///
    /// # Errors
    ///
    /// A template failed to render (an overridden one that uses a value the
    /// view does not have).
    pub fn render(&self, notice: &Notice<'_>) -> Result<Rendered, String> {
        self.render_view(&view(notice))
    }

    fn render_view(&self, view: &View) -> Result<Rendered, String> {
        let part = |ext: &str| -> Result<String, String> {
            let name = format!("{}.{ext}.j2", view.kind.as_str());
            self.env
                .get_template(&name)
                .and_then(|t| t.render(view))
                .map_err(|e| format!("{name}: {}", describe(&e)))
        };
        Ok(Rendered {
            subject: view.subject.clone(),
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

/// A minijinja error with its place and cause.
fn describe(e: &minijinja::Error) -> String {
    let mut s = match e.line() {
        Some(line) => format!("line {line}: {e}"),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    s
}

// ---------------------------------------------------------------------------
// Formatting.

/// A ratio as a percentage, without a trailing `.0`: `81%`, `81.3%`.
pub fn percent(v: f64) -> String {
    let s = format!("{:.1}", v * 100.0);
    format!("{}%", s.strip_suffix(".0").unwrap_or(&s))
}

/// A whole number with thousands separators.
pub fn count(n: u64) -> String {
    words::thousands(n)
}

use crate::eval::words::{self, rep_label};

/// A number that may have a fraction: `12`, `12.5`.
pub fn number(v: f64) -> String {
    let tenths = (v * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 && tenths.abs() < 1e15 {
        let sign = if tenths < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(tenths.abs() as u64))
    } else {
        format!("{tenths:.1}")
    }
}

/// Seconds as people say them: `45s`, `12m`, `3h 10m`, `2d 4h`.
pub fn span(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => match (s / 3600, (s % 3600) / 60) {
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h {m}m"),
        },
        s => match (s / 86_400, (s % 86_400) / 3600) {
            (d, 0) => format!("{d}d"),
            (d, h) => format!("{d}d {h}h"),
        },
    }
}

/// An instant in the rule's time zone: `Fri 20 Nov 2026, 09:15 EST`.
pub fn when(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// An instant of a lead list, short enough for a phone's table column:
/// `Fri 20 Nov 09:15`. The mail says its zone once, in the footer, and the
/// year in `Measured`.
fn day_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()
}

/// What a kind measures, in words.
fn measure(kind: Kind) -> &'static str {
    match kind {
        Kind::LeadVolume => "MQL volume",
        Kind::LeadQuality => "MQL acceptance by sales",
        Kind::PercentWorked => "speed to lead",
        Kind::ContactAttempts => "contact attempts before giving up",
        Kind::Profitability => "where more attempts stop paying",
    }
}

/// The window in words.
fn window(o: &Objective) -> String {
    use crate::rules::Window;
    match (&o.spec, o.window) {
        (Spec::Profitability { lookback, .. }, _) => {
            format!("MQLs of the last {lookback}")
        }
        (_, Window::Day) => "today so far".to_owned(),
        (_, Window::Week) => "this week so far".to_owned(),
        (_, Window::Month) => "this month so far".to_owned(),
        (_, Window::Quarter) => "this quarter so far".to_owned(),
        (_, Window::Rolling(d)) => format!("the last {d}"),
    }
}

/// The promise in words, when the rule file gives no description.
pub fn promise(o: &Objective) -> String {
    if let Some(d) = &o.description {
        return d.clone();
    }
    let target = |t: &crate::rules::Target| -> String {
        match t {
            crate::rules::Target::Uniform(v) if o.kind() == Kind::LeadVolume => {
                format!("{} MQLs", number(*v))
            }
            crate::rules::Target::Uniform(v) => percent(*v),
            crate::rules::Target::PerGroup { .. } => "the target of each group".to_owned(),
        }
    };
    match &o.spec {
        Spec::LeadVolume { target: t, .. } => {
            format!("Marketing delivers {} per {}.", target(t), o.window)
        }
        Spec::LeadQuality { target: t, .. } => {
            format!(
                "Sales accepts at least {} of the MQLs it decides on.",
                target(t)
            )
        }
        Spec::PercentWorked {
            target: t,
            respond_within,
            ..
        } => format!(
            "Sales makes a first attempt on at least {} of MQLs within {respond_within}.",
            target(t)
        ),
        Spec::ContactAttempts {
            target: t,
            min_attempts,
            ..
        } => match min_attempts {
            crate::rules::MinAttempts::Uniform(n) => format!(
                "At least {} of the leads sales gives up on got {n} attempts first.",
                target(t)
            ),
            crate::rules::MinAttempts::PerGroup { default, .. } => format!(
                "At least {} of the leads sales gives up on got their group's minimum of \
                 attempts first ({default} where the rules name no other).",
                target(t)
            ),
        },
        Spec::Profitability { .. } => {
            "The minimum number of attempts stays within the attempts that pay.".to_owned()
        }
    }
}

/// The figure against the target, for the subject and the top of the mail.
pub fn headline(o: &Objective, r: &GroupResult) -> String {
    let target = r.target;
    let t_ratio = target
        .map(|t| format!(", target {}", percent(t)))
        .unwrap_or_default();
    match (&r.details, &o.spec) {
        (Details::LeadVolume(d), _) => {
            let mut s = format!("{} MQLs", count(d.delivered));
            if let (Some(p), Some(e)) = (d.pace, d.expected) {
                s.push_str(&format!(
                    ", {} of the {} expected by now",
                    percent(p),
                    number(e)
                ));
            }
            if let Some(t) = target {
                s.push_str(&format!("; target {}", number(t)));
            }
            s
        }
        (Details::LeadQuality(_), _) => match r.value {
            Some(v) => format!("{} accepted{t_ratio}", percent(v)),
            None => format!("no decided MQLs yet{t_ratio}"),
        },
        (Details::PercentWorked(_), Spec::PercentWorked { respond_within, .. }) => match r.value {
            Some(v) => format!("{} worked in {respond_within}{t_ratio}", percent(v)),
            None => format!("no lead due yet{t_ratio}"),
        },
        (Details::ContactAttempts(d), _) => match r.value {
            Some(v) => format!(
                "{} of given-up leads got {}{t_ratio}",
                percent(v),
                words::attempts(d.min_attempts)
            ),
            None => format!("no lead given up yet{t_ratio}"),
        },
        (Details::Profitability(d), _) => {
            let mut s = match (d.cutoff, d.required_attempts) {
                (Some(c), Some(req)) if req > c => {
                    format!("the SLA asks {req} attempts, but only {c} pay")
                }
                (Some(c), Some(req)) => {
                    format!("attempts pay up to attempt {c}; the SLA asks for {req}")
                }
                (Some(c), None) => format!("attempts pay up to attempt {c}"),
                (None, _) => "no attempt pays for itself yet".to_owned(),
            };
            if d.cutoff.is_some() && d.converted < d.min_conversions {
                s.push_str(&format!(
                    "; {} sales are too few to judge by",
                    count(d.converted)
                ));
            } else if let Some(leak) = words::leakage(r).filter(|_| d.leakage > 0) {
                s.push_str(&format!("; {leak}"));
            }
            s
        }
        (Details::Failed(f), _) => format!("evaluation failed: {}", f.reason.as_str()),
        _ => crate::daemon::summarize(o, r),
    }
}

/// The final figure of a closed volume period: `118 of 150 MQLs (78.7%)`.
fn closed_headline(r: &GroupResult) -> String {
    match (&r.details, r.target) {
        (Details::LeadVolume(d), Some(t)) => format!(
            "{} of {} MQLs ({})",
            count(d.delivered),
            number(t),
            percent(d.delivered as f64 / t)
        ),
        (Details::LeadVolume(d), None) => format!("{} MQLs", count(d.delivered)),
        _ => "no figures".to_owned(),
    }
}

/// The figures of a closed volume period: no pace, the period is over.
fn closed_figures(r: &GroupResult) -> Vec<Figure> {
    let Details::LeadVolume(d) = &r.details else {
        return Vec::new();
    };
    let f = |label: &str, value: String| Figure {
        label: label.to_owned(),
        value,
    };
    let mut out = vec![f("MQLs delivered", count(d.delivered))];
    if let Some(t) = r.target {
        out.push(f("Target for the period", number(t)));
        out.push(f(
            "Attainment (delivered ÷ target)",
            percent(d.delivered as f64 / t),
        ));
        out.push(f(
            "Short by",
            number((t - d.delivered as f64).max(0.0).ceil()),
        ));
    }
    out
}

/// The figures of a result, labelled.
fn figures(o: &Objective, r: &GroupResult) -> Vec<Figure> {
    let f = |label: &str, value: String| Figure {
        label: label.to_owned(),
        value,
    };
    let opt = |v: Option<f64>, fmt: fn(f64) -> String| v.map_or_else(|| "—".to_owned(), fmt);
    match &r.details {
        Details::LeadVolume(d) => vec![
            f("MQLs delivered", count(d.delivered)),
            f("Expected by now", opt(d.expected, number)),
            f("Pace (delivered ÷ expected)", opt(d.pace, percent)),
            f("Target for the period", opt(r.target, number)),
            f(
                "Attainment (delivered ÷ target)",
                opt(d.attainment, percent),
            ),
        ],
        Details::LeadQuality(d) => {
            let mut out = vec![
                f("Accepted", opt(r.value, percent)),
                f("Target", opt(r.target, percent)),
                f("MQLs accepted", count(d.accepted)),
                f("MQLs rejected", count(d.rejected)),
                f("Not decided yet", count(d.undecided)),
            ];
            if let Some(why) = words::reasons(r) {
                out.push(f("Why sales rejected or closed them", why));
            }
            out
        }
        Details::PercentWorked(d) => {
            let within = match &o.spec {
                Spec::PercentWorked { respond_within, .. } => respond_within.to_string(),
                _ => "time".to_owned(),
            };
            vec![
                f(&format!("Worked within {within}"), opt(r.value, percent)),
                f("Target", opt(r.target, percent)),
                f(
                    "MQLs due",
                    format!("{} ({} in time)", count(d.eligible), count(d.worked)),
                ),
                f(
                    "Missed the deadline",
                    format!(
                        "{} (of which {} never attempted)",
                        count(d.late),
                        count(d.never_attempted)
                    ),
                ),
                f("Never tried and still open", count(d.overdue_open)),
                f("Median first attempt", opt(d.p50_seconds, span)),
                f("90th percentile", opt(d.p90_seconds, span)),
            ]
        }
        Details::ContactAttempts(d) => vec![
            f(
                &format!("Given up after {}+ attempts", d.min_attempts),
                opt(r.value, percent),
            ),
            f("Target", opt(r.target, percent)),
            f("Leads given up", count(d.abandoned)),
            f(
                &format!("Given up with fewer than {}", d.min_attempts),
                count(d.violations),
            ),
        ],
        Details::Profitability(d) => {
            let cur = d.currency.as_deref();
            let money = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| words::money(v, cur));
            vec![
                f(
                    "Attempts pay up to",
                    d.cutoff
                        .map_or_else(|| "—".to_owned(), |c| format!("attempt {c}")),
                ),
                f(
                    "The SLA asks for",
                    d.required_attempts
                        .map_or_else(|| "—".to_owned(), |c| format!("{c} attempts")),
                ),
                f("Cost of an attempt", money(Some(d.cost_per_attempt))),
                f("Value of an MQL", money(d.mql_value)),
                f("Average deal", money(d.avg_revenue)),
                f(
                    "MQLs converted",
                    format!(
                        "{} of {} (at least {} needed to judge)",
                        count(d.converted),
                        count(d.cohort),
                        count(d.min_conversions)
                    ),
                ),
                f("Given up before the cutoff", count(d.leakage)),
                f(
                    "What they were worth (leads × MQL value)",
                    money(d.leakage_value.filter(|_| d.cutoff.is_some())),
                ),
            ]
        }
        Details::Failed(e) => vec![f("Error", e.message.clone())],
    }
}

/// The lists of leads behind the figure, at most [`MAX_NAMED_LEADS`] each,
/// the one to act on first: for speed to lead, the leads nobody has tried yet
/// and someone can still call, then those called late.
fn lists(o: &Objective, r: &GroupResult) -> Vec<Offenders> {
    let tz = o.timezone;
    let owner =
        |id: &Option<String>, name: &Option<String>| rep_label(id.as_deref(), name.as_deref());
    let of = |shown: usize, total: u64| {
        if total as usize > shown {
            format!("the first {shown} of {}", count(total))
        } else {
            format!("all {}", count(total))
        }
    };
    let business = o.spec.calendar().is_some();
    let mut out = Vec::new();
    match (&r.details, &o.spec) {
        (Details::PercentWorked(d), Spec::PercentWorked { respond_within, .. }) => {
            if !d.overdue_leads.is_empty() {
                out.push(Offenders {
                    title: "Call now: past the deadline, never tried, still open".to_owned(),
                    count: format!(
                        "{}, the longest overdue first",
                        of(d.overdue_leads.len(), d.overdue_open)
                    ),
                    columns: ["Lead", "Owner", "Due", "Overdue"]
                        .map(String::from)
                        .to_vec(),
                    rows: d
                        .overdue_leads
                        .iter()
                        .take(MAX_NAMED_LEADS)
                        .map(|l| {
                            vec![
                                l.id.clone(),
                                owner(&l.owner, &l.owner_name),
                                day_time(l.deadline, tz),
                                words::overdue(l.overdue_seconds, business),
                            ]
                        })
                        .collect(),
                });
            }
            if !d.late_leads.is_empty() {
                out.push(Offenders {
                    title: format!("Not worked within {respond_within}"),
                    count: of(d.late_leads.len(), d.late - d.overdue_open),
                    columns: ["Lead", "Owner", "MQL at", "First attempt"]
                        .map(String::from)
                        .to_vec(),
                    rows: d
                        .late_leads
                        .iter()
                        .take(MAX_NAMED_LEADS)
                        .map(|l| {
                            vec![
                                l.id.clone(),
                                owner(&l.owner, &l.owner_name),
                                day_time(l.mql_at, tz),
                                l.first_attempt_seconds.map_or_else(
                                    || "none (closed)".to_owned(),
                                    |s| format!("{} after", span(s)),
                                ),
                            ]
                        })
                        .collect(),
                });
            }
        }
        (Details::ContactAttempts(d), _) if !d.violating_leads.is_empty() => out.push(Offenders {
            title: format!(
                "Leads given up with fewer than {}",
                words::attempts(d.min_attempts)
            ),
            count: format!(
                "{}, owned leads first",
                of(d.violating_leads.len(), d.violations)
            ),
            columns: ["Lead", "Owner", "Attempts", "Given up"]
                .map(String::from)
                .to_vec(),
            rows: named(&d.violating_leads, tz),
        }),
        (Details::Profitability(d), _) if !d.leakage_leads.is_empty() => out.push(Offenders {
            title: "Leads given up before the attempts stopped paying".to_owned(),
            count: format!(
                "{}, owned leads first",
                of(d.leakage_leads.len(), d.leakage)
            ),
            columns: ["Lead", "Owner", "Attempts", "Given up"]
                .map(String::from)
                .to_vec(),
            rows: named(&d.leakage_leads, tz),
        }),
        _ => {}
    }
    out
}

fn named(leads: &[crate::eval::NamedLead], tz: Tz) -> Vec<Vec<String>> {
    leads
        .iter()
        .take(MAX_NAMED_LEADS)
        .map(|l| {
            vec![
                l.id.clone(),
                rep_label(l.owner.as_deref(), l.owner_name.as_deref()),
                l.attempts.to_string(),
                day_time(l.closed_at, tz),
            ]
        })
        .collect()
}

/// The month, quarter, week or day a period is, in words.
fn period_label(o: &Objective, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    use crate::rules::Window;
    let s = start.with_timezone(&o.timezone);
    let last = (end - chrono::TimeDelta::seconds(1)).with_timezone(&o.timezone);
    match o.window {
        Window::Month => s.format("%B %Y").to_string(),
        Window::Quarter => {
            use chrono::Datelike;
            format!("Q{} {}", s.month0() / 3 + 1, s.year())
        }
        Window::Week => format!(
            "the week of {} to {}",
            s.format("%a %-d %b"),
            last.format("%a %-d %b %Y")
        ),
        Window::Day => s.format("%a %-d %b %Y").to_string(),
        Window::Rolling(_) => format!("{} to {}", s.format("%-d %b"), last.format("%-d %b %Y")),
    }
}

/// Builds what the templates see.
pub fn view(n: &Notice<'_>) -> View {
    let tz = n
        .objective
        .or_else(|| n.failing.first().map(|(o, _)| *o))
        .map_or(Tz::UTC, |o| o.timezone);
    let at = |t: Option<DateTime<Utc>>| t.map(|t| when(t, tz));
    // With `by: rep` the group is a rep's id: shown with the name.
    let group_name = n.result.and_then(|r| r.group_name.as_deref());
    let group = (n.group != "all" && !n.group.is_empty()).then(|| match group_name {
        Some(name) => rep_label(Some(n.group), Some(name)),
        None => n.group.to_owned(),
    });
    let (objective, promise_text, measure_text, owners, window_text, origin) = match n.objective {
        Some(o) => (
            o.name.clone(),
            promise(o),
            measure(o.kind()).to_owned(),
            o.owner.join(", "),
            window(o),
            Some(o.origin.to_string()),
        ),
        None => (
            String::new(),
            "Every objective is measured on its schedule.".to_owned(),
            "evaluations".to_owned(),
            {
                let mut owners: Vec<String> = n
                    .failing
                    .iter()
                    .flat_map(|(o, _)| o.owner.clone())
                    .collect();
                owners.sort();
                owners.dedup();
                owners.join(", ")
            },
            String::new(),
            None,
        ),
    };
    let headline_text = match (n.objective, n.result) {
        (Some(_), Some(r)) if n.kind == MailKind::PeriodMissed => closed_headline(r),
        (Some(o), Some(r)) => headline(o, r),
        (None, _) if n.kind == MailKind::Resolved => "evaluations succeed again".to_owned(),
        (Some(o), None) if n.kind == MailKind::SlaChanged => n
            .changes
            .first()
            .cloned()
            .unwrap_or_else(|| format!("{} changed", o.name)),
        _ if n.kind == MailKind::EvaluationFailing => {
            let names: Vec<&str> = n.failing.iter().map(|(o, _)| o.name.as_str()).collect();
            match names.len() {
                0 => "evaluations succeed again".to_owned(),
                1 => format!("{} cannot be measured", names[0]),
                k => format!("{k} objectives cannot be measured"),
            }
        }
        _ => "no figures".to_owned(),
    };
    let period = match (n.objective, n.period) {
        (Some(o), Some((s, e))) => Some(period_label(o, s, e)),
        _ => None,
    };
    let title = if n.kind == MailKind::Resolved && n.objective.is_none() {
        "RESOLVED".to_owned()
    } else {
        n.kind.title().to_owned()
    };
    let name_part = match (&group, objective.as_str()) {
        (_, "") => "evaluations".to_owned(),
        (Some(g), o) => format!("{o} ({g})"),
        (None, o) => o.to_owned(),
    };
    let subject = match (n.kind, &period) {
        (MailKind::PeriodMissed, Some(p)) => {
            format!("[handoff] {title} {name_part}, {p}: {headline_text}")
        }
        _ => format!("[handoff] {title} {name_part}: {headline_text}"),
    };
    let lasted = match (n.fired_at, n.resolved_at) {
        (Some(f), Some(r)) if r >= f => Some(span((r - f).num_seconds() as f64)),
        _ => None,
    };
    let lists_of = match (n.objective, n.result) {
        (Some(o), Some(r)) if !matches!(n.kind, MailKind::Resolved | MailKind::SlaChanged) => {
            lists(o, r)
        }
        _ => Vec::new(),
    };
    let link = n.external_url.map(|base| {
        let base = base.trim_end_matches('/');
        match n.objective {
            Some(o) => format!("{base}/#objective-{}", o.name),
            None => format!("{base}/"),
        }
    });
    View {
        kind: n.kind,
        subject,
        title,
        accent: n.kind.accent().to_owned(),
        repeat: n.repeat,
        changed: n.changed_from.map(|s| {
            match s {
                "at_risk" => "was at risk",
                "breached" => "was breached",
                other => other,
            }
            .to_owned()
        }),
        objective,
        promise: promise_text,
        measure: measure_text,
        owners,
        window: window_text,
        group,
        headline: headline_text,
        latest: match (n.objective, n.latest) {
            (Some(o), Some(l)) => Some(headline(o, l)),
            _ => None,
        },
        latest_at: n
            .latest
            .and(n.objective)
            .and_then(|_| at(n.latest_measured_at)),
        held_until: at(n.held_until),
        changes: n.changes.clone(),
        statuses: n
            .statuses
            .iter()
            .map(|(g, s)| {
                if g == "all" || s.starts_with(&format!("{g} ")) {
                    s.clone()
                } else {
                    format!("{g} — {s}")
                }
            })
            .collect(),
        figures: match (n.objective, n.result) {
            (Some(_), Some(r)) if n.kind == MailKind::PeriodMissed => closed_figures(r),
            (Some(o), Some(r)) => figures(o, r),
            _ => Vec::new(),
        },
        measured_at: at(n.measured_at),
        since: at(n.since),
        fired_at: at(n.fired_at),
        resolved_at: at(n.resolved_at),
        lasted,
        was: n.resolved_status.map(|s| s.replace('_', " ")),
        action: match (n.objective, n.result) {
            (Some(o), Some(r)) if matches!(n.kind, MailKind::Breach | MailKind::AtRisk) => {
                words::action(o, r)
            }
            _ => None,
        },
        offenders: lists_of.first().cloned(),
        lists: lists_of,
        reps: match n.result {
            Some(r) if matches!(n.kind, MailKind::Breach | MailKind::AtRisk) => {
                words::top_reps(r, 5)
            }
            _ => Vec::new(),
        },
        period,
        failing: n
            .failing
            .iter()
            .map(|(o, f)| FailingObjective {
                name: o.name.clone(),
                owners: o.owner.join(", "),
                error: f.map_or_else(|| "failing".to_owned(), |f| f.message.clone()),
            })
            .collect(),
        database: n.database.to_owned(),
        link,
        ack: n.ack.clone(),
        receiver: n.receiver.to_owned(),
        origin,
        timezone: tz.name().to_owned(),
    }
}

/// A view of every field, to check templates against when they load.
fn sample(kind: MailKind) -> View {
    let f = |l: &str, v: &str| Figure {
        label: l.to_owned(),
        value: v.to_owned(),
    };
    View {
        kind,
        subject: "[handoff] sample".to_owned(),
        title: kind.title().to_owned(),
        accent: kind.accent().to_owned(),
        repeat: false,
        changed: Some("was at risk".to_owned()),
        objective: "speed-to-lead".to_owned(),
        promise: "Sales works 95% of MQLs within 4h.".to_owned(),
        measure: "speed to lead".to_owned(),
        owners: "sales".to_owned(),
        window: "the last 28d".to_owned(),
        group: Some("webinar".to_owned()),
        action: Some("Call 2 leads today; 1 is R0003 Priya Okafor's.".to_owned()),
        headline: "81% worked in 4h, target 95%".to_owned(),
        latest: Some("96% worked in 4h, target 95%".to_owned()),
        latest_at: Some("Fri 20 Nov 2026, 09:30 EST".to_owned()),
        held_until: Some("Fri 20 Nov 2026, 10:30 EST".to_owned()),
        changes: vec!["target: 95% → 90%".to_owned()],
        statuses: vec!["breached: 81.0% worked within 4h, target 90.0%".to_owned()],
        figures: vec![f("Target", "95%")],
        measured_at: Some("Fri 20 Nov 2026, 09:15 EST".to_owned()),
        since: Some("Fri 20 Nov 2026, 08:45 EST".to_owned()),
        fired_at: Some("Fri 20 Nov 2026, 09:15 EST".to_owned()),
        resolved_at: Some("Fri 20 Nov 2026, 11:15 EST".to_owned()),
        lasted: Some("2h".to_owned()),
        was: Some("breached".to_owned()),
        offenders: Some(Offenders {
            title: "MQLs without an attempt within 4h".to_owned(),
            count: "all 1".to_owned(),
            columns: vec!["Lead".to_owned()],
            rows: vec![vec!["L-1".to_owned()]],
        }),
        lists: vec![Offenders {
            title: "MQLs without an attempt within 4h".to_owned(),
            count: "all 1".to_owned(),
            columns: vec!["Lead".to_owned()],
            rows: vec![vec!["L-1".to_owned()]],
        }],
        reps: vec!["R0003 Priya Okafor: 1 of 2 late, 50% of the misses".to_owned()],
        period: Some("October 2026".to_owned()),
        failing: vec![FailingObjective {
            name: "speed-to-lead".to_owned(),
            owners: "sales".to_owned(),
            error: "database unreachable".to_owned(),
        }],
        database: "sqlite://handoff.db".to_owned(),
        link: Some("http://handoff.example/#objective-speed-to-lead".to_owned()),
        ack: Some("http://handoff.example/ack?o=speed-to-lead&g=webinar&e=1&s=0".to_owned()),
        receiver: "sales@acme.example".to_owned(),
        origin: Some("rules/acme.yaml:40".to_owned()),
        timezone: "America/New_York".to_owned(),
    }
}

/// The headers that place a mail in its thread.
#[derive(Clone, Debug, Default)]
pub struct Thread {
    /// The Message-ID that began the thread (none: this mail begins it).
    pub root: Option<String>,
    /// The Message-ID of the mail this one follows.
    pub parent: Option<String>,
}

/// One whole message: multipart text + HTML, with Message-ID, In-Reply-To and
/// References (ids without angle brackets).
///
/// # Errors
///
/// An address that is not one.
pub fn message(
    from: &Mailbox,
    to: &str,
    id: &str,
    thread: &Thread,
    date: DateTime<Utc>,
    rendered: &Rendered,
) -> Result<String, String> {
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("{to} is not a mail address: {e}"))?;
    let mut b = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject.clone())
        .message_id(Some(format!("<{id}>")))
        .date(std::time::SystemTime::from(date))
        .user_agent(format!("handoff {}", env!("CARGO_PKG_VERSION")));
    if let Some(parent) = &thread.parent {
        b = b.in_reply_to(format!("<{parent}>"));
        let refs: Vec<String> = match &thread.root {
            Some(root) if root != parent => vec![format!("<{root}>"), format!("<{parent}>")],
            _ => vec![format!("<{parent}>")],
        };
        b = b.references(refs.join(" "));
    }
    // A hint to auto-responders and mail servers that this is machine mail.
    b = b.header(AutoSubmitted);
    // No HTML (a template that failed): the text alone, not a blank HTML part
    // that clients would prefer.
    if rendered.html.is_empty() {
        let m = b
            .singlepart(
                SinglePart::builder()
                    .header(header::ContentType::TEXT_PLAIN)
                    .body(rendered.text.clone()),
            )
            .map_err(|e| e.to_string())?;
        return Ok(String::from_utf8_lossy(&m.formatted()).into_owned());
    }
    let m = b
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(header::ContentType::TEXT_PLAIN)
                        .body(rendered.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(header::ContentType::TEXT_HTML)
                        .body(rendered.html.clone()),
                ),
        )
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&m.formatted()).into_owned())
}

/// `Auto-Submitted: auto-generated` (RFC 3834).
#[derive(Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(percent(0.81), "81%");
        assert_eq!(percent(0.8126), "81.3%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(words::money(4.5, None), "4.50");
        assert_eq!(words::money(4.5, Some("EUR")), "4.50 EUR");
        assert_eq!(number(169.999_999), "170");
        assert_eq!(number(73.575), "73.6");
        assert_eq!(number(1500.0), "1,500");
        assert_eq!(words::money(12345.678, None), "12,345.68");
        assert_eq!(span(45.0), "45s");
        assert_eq!(span(720.0), "12m");
        assert_eq!(span(3.0 * 3600.0), "3h");
        assert_eq!(span(3.0 * 3600.0 + 600.0), "3h 10m");
        assert_eq!(span(2.0 * 86_400.0 + 4.0 * 3600.0 + 59.0), "2d 4h");
        let t: DateTime<Utc> = "2026-11-20T14:15:00Z".parse().unwrap();
        assert_eq!(
            when(t, chrono_tz::America::New_York),
            "Fri 20 Nov 2026, 09:15 EST"
        );
    }

    #[test]
    fn the_built_in_templates_load_and_a_bad_override_is_located() {
        Templates::load(None).expect("built-in templates");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("breach.txt.j2"),
            "Hello\n{% if headline %}\n{{ headline }\n",
        )
        .unwrap();
        let e = Templates::load(Some(dir.path().to_owned())).unwrap_err();
        assert!(e.contains("breach.txt.j2"), "{e}");
        assert!(e.contains("line 3"), "{e}");

        std::fs::write(dir.path().join("breach.txt.j2"), "{{ no_such_value }}\n").unwrap();
        let e = Templates::load(Some(dir.path().to_owned())).unwrap_err();
        assert!(
            e.contains("breach.txt.j2") && e.contains("sample breach"),
            "{e}"
        );

        std::fs::remove_file(dir.path().join("breach.txt.j2")).unwrap();
        std::fs::write(dir.path().join("breach.text.j2"), "x").unwrap();
        let e = Templates::load(Some(dir.path().to_owned())).unwrap_err();
        assert!(e.contains("did you mean `breach.txt.j2`"), "{e}");
    }

    #[test]
    fn an_override_replaces_only_its_own_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("resolved.txt.j2"),
            "All clear: {{ objective }}{% if group %} ({{ group }}){% endif %}\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path().to_owned())).unwrap();
        let mut v = sample(MailKind::Resolved);
        v.objective = "speed-to-lead".into();
        let r = t.render_view(&v).unwrap();
        assert_eq!(r.text.trim_end(), "All clear: speed-to-lead (webinar)");
        assert!(r.html.contains("<html"), "built-in HTML kept");
    }

    #[test]
    fn html_escapes_every_value_and_text_does_not() {
        let t = Templates::load(None).unwrap();
        let mut v = sample(MailKind::Breach);
        v.promise = "<script>alert(1)</script> & \"quotes\"".into();
        v.group = Some("<b>webinar</b>".into());
        v.lists = vec![Offenders {
            title: "Leads".into(),
            count: "all 1".into(),
            columns: vec!["Lead".into(), "Owner".into()],
            rows: vec![vec!["<img src=x>".into(), "O'Brien & <i>Sons</i>".into()]],
        }];
        v.action = Some("Call <u>these</u> today".into());
        v.reps = vec!["R1 <em>Ana</em>: 2 of 3 late".into()];
        let r = t.render_view(&v).unwrap();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
        assert!(
            r.html.contains("&lt;b&gt;webinar&lt;&#x2f;b&gt;")
                || r.html.contains("&lt;b&gt;webinar&lt;/b&gt;"),
            "{}",
            r.html
        );
        assert!(
            r.text.contains("<script>alert(1)</script> & \"quotes\""),
            "{}",
            r.text
        );
        assert!(
            !r.html.contains("<img") && !r.html.contains("<i>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("&lt;img src=x&gt;"), "{}", r.html);
        assert!(r.html.contains("&amp; &lt;i&gt;Sons"), "{}", r.html);
        assert!(
            r.html.contains("Call &lt;u&gt;these&lt;&#x2f;u&gt; today")
                || r.html.contains("Call &lt;u&gt;these&lt;/u&gt; today"),
            "{}",
            r.html
        );
        assert!(r.html.contains("R1 &lt;em&gt;Ana"), "{}", r.html);
        assert!(r.text.contains("Call <u>these</u> today") && r.text.contains("R1 <em>Ana</em>"));
        let mut f = sample(MailKind::EvaluationFailing);
        f.failing[0].error = "relation \"leads\" <does not exist>".into();
        let r = t.render_view(&f).unwrap();
        assert!(r.html.contains("&lt;does not exist&gt;"), "{}", r.html);
    }
}
