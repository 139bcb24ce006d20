//! The validated rule model: what the evaluator, the alerter and the daemon
//! receive. Every value here has been checked; there is no raw YAML left.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::calendar::Calendar;
use super::mute::MuteTime;
use super::schedule::Schedule;
use crate::model::GroupBy;

/// What an objective measures (docs/eval.md).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Marketing delivers a number of MQLs per period (`target` is a count).
    LeadVolume,
    /// Sales accepts a share of the MQLs it has had time to judge (`target` is a ratio).
    LeadQuality,
    /// Sales makes a first human attempt within `respond_within` (`target` is a ratio).
    PercentWorked,
    /// Sales makes `min_attempts` attempts before giving up on an MQL (`target` is a ratio).
    ContactAttempts,
    /// Finds the attempt number past which another attempt costs more than it is
    /// expected to earn, and checks the SLA does not demand more.
    Profitability,
}

impl Kind {
    /// Every kind, in the order the reference lists them.
    pub const ALL: [Kind; 5] = [
        Kind::LeadVolume,
        Kind::LeadQuality,
        Kind::PercentWorked,
        Kind::ContactAttempts,
        Kind::Profitability,
    ];

    /// The name used in rule files, JSON and metric labels (`lead_volume`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LeadVolume => "lead_volume",
            Kind::LeadQuality => "lead_quality",
            Kind::PercentWorked => "percent_worked",
            Kind::ContactAttempts => "contact_attempts",
            Kind::Profitability => "profitability",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an alert does when an evaluation fails (`alert.on_error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorPolicy {
    /// After `for`, raise the "evaluation failing" alert for the data source.
    #[default]
    Alert,
    /// Keep the objective's last alert state and raise nothing; the failure still
    /// shows as status `error` and in the failure counter.
    KeepLast,
}

/// What an alert does when there is nothing to measure (`alert.on_no_data`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoDataPolicy {
    /// Treat it as healthy: no alert, and a firing alert resolves.
    #[default]
    Ok,
    /// Treat it as a problem: after `for`, fire a warning.
    Alert,
    /// Keep the last alert state.
    KeepLast,
}

/// A length of time, to the second (`30m`, `4h`, `28d`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    secs: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { secs: 0 };

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Duration {
        Duration { secs }
    }

    /// The length in seconds.
    pub const fn as_secs(self) -> u64 {
        self.secs
    }

    /// The same length as a [`std::time::Duration`].
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.secs)
    }

    /// The same length as a [`chrono::TimeDelta`], for instant arithmetic.
    pub fn to_chrono(self) -> chrono::TimeDelta {
        // Parsing caps durations far below i64::MAX seconds.
        chrono::TimeDelta::seconds(i64::try_from(self.secs).unwrap_or(i64::MAX / 1000))
    }
}

/// Formats as the rule files write it, in days, hours, minutes and seconds
/// (`1h30m`, `28d`, `0s`).
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.secs;
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

/// The period an objective measures (docs/eval.md: windows are half-open `[start, end)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    /// The calendar day containing the evaluation instant, up to it.
    Day,
    /// The week (Monday first) containing the evaluation instant, up to it.
    Week,
    /// The calendar month containing the evaluation instant, up to it.
    Month,
    /// The calendar quarter containing the evaluation instant, up to it.
    Quarter,
    /// `[t − d, t)`: the whole window has always elapsed.
    Rolling(Duration),
}

impl Window {
    /// The longest the window can be: a rolling window's length, or the longest
    /// calendar period of its kind (31 days for a month, 92 for a quarter).
    pub fn max_len(self) -> Duration {
        const DAY: u64 = 86_400;
        Duration::from_secs(match self {
            Window::Day => DAY,
            Window::Week => 7 * DAY,
            Window::Month => 31 * DAY,
            Window::Quarter => 92 * DAY,
            Window::Rolling(d) => d.as_secs(),
        })
    }

    /// Whether the window is a calendar period that fills up over time (as
    /// opposed to a rolling window that has always fully elapsed).
    pub fn is_calendar_period(self) -> bool {
        !matches!(self, Window::Rolling(_))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Day => f.write_str("day"),
            Window::Week => f.write_str("week"),
            Window::Month => f.write_str("month"),
            Window::Quarter => f.write_str("quarter"),
            Window::Rolling(d) => write!(f, "rolling {d}"),
        }
    }
}

/// What counts as kept: a ratio in 0–1, or a count for `lead_volume`.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The same target for every group (or for the single group `all`).
    Uniform(f64),
    /// A target per group value; groups not named take `default`, or have no
    /// target (they are reported but never alert).
    PerGroup {
        /// Group value → target.
        groups: BTreeMap<String, f64>,
        /// The target of groups not in `groups`.
        default: Option<f64>,
    },
}

impl Target {
    /// The target of `group`, if it has one.
    pub fn for_group(&self, group: &str) -> Option<f64> {
        match self {
            Target::Uniform(t) => Some(*t),
            Target::PerGroup { groups, default } => groups.get(group).copied().or(*default),
        }
    }
}

/// `min_attempts`: one number for every group, or one per group with a
/// `default` for the groups the map does not name (a lead given up on always
/// has a minimum to meet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MinAttempts {
    /// The same minimum everywhere.
    Uniform(u32),
    /// A minimum per group value of the objective's `by`.
    PerGroup {
        /// Group value → minimum.
        groups: BTreeMap<String, u32>,
        /// The minimum of groups not in `groups`.
        default: u32,
    },
}

impl MinAttempts {
    /// The minimum `group` owes.
    pub fn for_group(&self, group: &str) -> u32 {
        match self {
            MinAttempts::Uniform(n) => *n,
            MinAttempts::PerGroup { groups, default } => {
                groups.get(group).copied().unwrap_or(*default)
            }
        }
    }

    /// Whether the minimum differs by group.
    pub fn is_per_group(&self) -> bool {
        matches!(self, MinAttempts::PerGroup { .. })
    }
}

/// The kind-specific part of an objective.
#[derive(Clone, Debug)]
pub enum Spec {
    /// `lead_volume` (rules/README.md, docs/eval.md).
    LeadVolume {
        /// MQLs per period (per group with `by`).
        target: Target,
        /// `at_risk` when pace falls below this; in (0, 1].
        warn_below: f64,
        /// With a calendar period, the elapsed part counts business time only.
        calendar: Option<Arc<Calendar>>,
    },
    /// `lead_quality` (rules/README.md, docs/eval.md).
    LeadQuality {
        /// Accepted / (accepted + rejected), 0–1.
        target: Target,
        /// MQLs younger than this are not judged yet.
        mature_after: Duration,
    },
    /// `percent_worked` (rules/README.md, docs/eval.md).
    PercentWorked {
        /// Share of MQLs worked in time, 0–1.
        target: Target,
        /// Deadline after `mql_at` for the first human attempt.
        respond_within: Duration,
        /// When set, the deadline clock runs in open hours only.
        calendar: Option<Arc<Calendar>>,
    },
    /// `contact_attempts` (rules/README.md, docs/eval.md).
    ContactAttempts {
        /// Share of abandoned MQLs that got `min_attempts`, 0–1.
        target: Target,
        /// Attempts owed before giving up.
        min_attempts: MinAttempts,
    },
    /// `profitability` (rules/README.md, docs/eval.md).
    Profitability {
        /// How far back the cohort reaches (also the objective's rolling window).
        lookback: Duration,
        /// The cost of one attempt, in the reporting currency.
        cost_per_attempt: f64,
        /// Leads needed at an attempt number before it can be the cutoff.
        min_sample: u64,
        /// Conversions a group needs before its cutoff can breach: below
        /// them the status is `no_data`, whatever the cutoff.
        min_conversions: u64,
        /// The contact_attempts objective whose `min_attempts` must not exceed the
        /// cutoff, resolved when the rules load.
        checks: Option<Checks>,
    },
}

/// The contact_attempts objective a profitability objective checks, and the
/// attempts it demands, as the rule set holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checks {
    /// Its name.
    pub objective: String,
    /// Its `min_attempts`: per group only when both objectives split by the
    /// same `by` (the loader refuses the rest).
    pub min_attempts: MinAttempts,
}

impl Spec {
    /// The kind this spec belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Spec::LeadVolume { .. } => Kind::LeadVolume,
            Spec::LeadQuality { .. } => Kind::LeadQuality,
            Spec::PercentWorked { .. } => Kind::PercentWorked,
            Spec::ContactAttempts { .. } => Kind::ContactAttempts,
            Spec::Profitability { .. } => Kind::Profitability,
        }
    }

    /// The target, for every kind but profitability.
    pub fn target(&self) -> Option<&Target> {
        match self {
            Spec::LeadVolume { target, .. }
            | Spec::LeadQuality { target, .. }
            | Spec::PercentWorked { target, .. }
            | Spec::ContactAttempts { target, .. } => Some(target),
            Spec::Profitability { .. } => None,
        }
    }

    /// The business-hours calendar, for the kinds that take one.
    pub fn calendar(&self) -> Option<&Arc<Calendar>> {
        match self {
            Spec::LeadVolume { calendar, .. } | Spec::PercentWorked { calendar, .. } => {
                calendar.as_ref()
            }
            _ => None,
        }
    }
}

/// Who hears of an alert.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// A team defined under `teams:`; mail goes to its addresses.
    Team(String),
    /// An address written directly in `notify`.
    Email(String),
}

/// When and whom to alert, with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// How long a problem must last before the alert fires (`for`). Default 0.
    pub pending_for: Duration,
    /// How long a fired alert stays firing after the problem clears. Default 0.
    pub keep_firing_for: Duration,
    /// Receivers. Default: the owner teams.
    pub notify: Vec<Recipient>,
    /// How often a firing alert is mailed again. Default 24h.
    pub repeat: Duration,
    /// Mail when the alert resolves. Default true.
    pub send_resolved: bool,
    /// What a failed evaluation does. Default [`ErrorPolicy::Alert`].
    pub on_error: ErrorPolicy,
    /// What "nothing to measure" does. Default [`NoDataPolicy::Ok`].
    pub on_no_data: NoDataPolicy,
}

/// Where something was defined, for messages and the status page.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The rule file, as the loader was given it (`rules/acme.yaml`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One promise, validated and with defaults filled in.
#[derive(Clone, Debug)]
pub struct Objective {
    /// Unique across all rule files; `[a-z0-9-]+`.
    pub name: String,
    /// The promise in plain words, if the file gives one.
    pub description: Option<String>,
    /// The accountable teams (at least one), by name; each exists in the rule set.
    pub owner: Vec<String>,
    /// When to evaluate; fire times are read in `timezone`.
    pub schedule: Schedule,
    /// The time zone of the objective's file: periods, schedule and (unless the
    /// calendar says otherwise) business hours are read in it.
    pub timezone: Tz,
    /// The rule set's reporting currency (ISO 4217), in which deal amounts
    /// and costs are; `None` when no file says.
    pub currency: Option<String>,
    /// The period measured. Profitability's is `Rolling(lookback)`.
    pub window: Window,
    /// The lead column results are split by; `None` means the single group `all`.
    pub by: Option<GroupBy>,
    /// Kind-specific settings.
    pub spec: Spec,
    /// Alerting, with defaults filled in.
    pub alert: Alert,
    /// Notices about each lead while its clock runs (`percent_worked` only).
    pub notify_reps: Option<NotifyReps>,
    /// Trend notices at each period close (`trend:`). Not part of what the
    /// objective measures.
    pub trend: Option<Trend>,
    /// Where the objective is defined.
    pub origin: Origin,
}

/// `notify_reps`: who hears of each lead while its first-attempt clock runs
/// (docs/LEADS.md). Not part of what the objective measures.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifyReps {
    /// Tell the owner when the lead becomes theirs.
    pub on_handoff: bool,
    /// Remind the owner when this share (0–1, exclusive) of the business
    /// time to the deadline is gone and the lead is still untried.
    pub before_deadline: Option<f64>,
    /// Who is told of the leads that passed their deadline untried.
    pub overdue: Vec<Recipient>,
}

/// `trend:`: what a closed period is compared with, and the drop that is
/// news (docs/REVIEW.md, "Trends").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    pub compare: TrendCompare,
    /// Relative for counts (0.10 = ten percent fewer), absolute for ratios
    /// (0.10 = ten points).
    pub drop: f64,
    /// No trend is told below this volume.
    pub min_denominator: u64,
}

/// What a trend compares the closed period with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrendCompare {
    /// The period before.
    Previous,
    /// The median of the three periods before.
    MedianOf3,
}

impl TrendCompare {
    /// The word of the rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            TrendCompare::Previous => "previous",
            TrendCompare::MedianOf3 => "median_of_3",
        }
    }

    /// How many periods before the closed one it reads.
    pub fn periods(self) -> usize {
        match self {
            TrendCompare::Previous => 1,
            TrendCompare::MedianOf3 => 3,
        }
    }
}

/// The calendar period the review covers (`review.period`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReviewEvery {
    #[default]
    Month,
    Quarter,
}

impl ReviewEvery {
    /// The calendar window of that period.
    pub fn window(self) -> Window {
        match self {
            ReviewEvery::Month => Window::Month,
            ReviewEvery::Quarter => Window::Quarter,
        }
    }

    /// The word of the rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewEvery::Month => "month",
            ReviewEvery::Quarter => "quarter",
        }
    }
}

/// `review:`: the review's period and its mail (docs/REVIEW.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub period: ReviewEvery,
    /// Who gets it by mail; empty: every team.
    pub to: Vec<Recipient>,
    /// Local time on the first business day after which it is mailed.
    pub send_at: chrono::NaiveTime,
    /// Whose open days are business days (default Monday to Friday).
    pub calendar: Option<Arc<Calendar>>,
    /// The calendar's name, as written.
    pub calendar_name: Option<String>,
}

impl Default for Review {
    fn default() -> Review {
        Review {
            period: ReviewEvery::Month,
            to: Vec::new(),
            send_at: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(chrono::NaiveTime::MIN),
            calendar: None,
            calendar_name: None,
        }
    }
}

impl Objective {
    /// What the objective measures.
    pub fn kind(&self) -> Kind {
        self.spec.kind()
    }

    /// The target, for every kind but profitability.
    pub fn target(&self) -> Option<&Target> {
        self.spec.target()
    }
}

/// A team: an owner of objectives and a receiver of alerts.
#[derive(Clone, Debug, PartialEq)]
pub struct Team {
    /// Unique across all rule files.
    pub name: String,
    /// Where its mail goes; may be empty when the team has another channel.
    pub email: Vec<String>,
    /// Generic webhooks (`webhook:`).
    pub webhook: Vec<Endpoint>,
    /// Slack incoming webhooks (`slack:`).
    pub slack: Vec<Endpoint>,
    /// Microsoft Teams incoming webhooks (`msteams:`).
    pub msteams: Vec<Endpoint>,
    /// When the team's notices wait (`mute:`): muted while any entry holds.
    pub mute: Vec<MuteTime>,
    /// Where the team is defined.
    pub origin: Origin,
}

impl Team {
    /// Its webhook, Slack and Teams endpoints, in that order.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.webhook.iter().chain(&self.slack).chain(&self.msteams)
    }

    /// Its receivers: its e-mail addresses, then its endpoints' ids.
    pub fn receivers(&self) -> impl Iterator<Item = &str> {
        self.email
            .iter()
            .map(String::as_str)
            .chain(self.endpoints().map(|e| e.id.as_str()))
    }

    /// Whether the team lists `receiver`, an e-mail address or an endpoint id.
    pub fn lists(&self, receiver: &str) -> bool {
        self.receivers().any(|r| r == receiver)
    }
}

/// The kind of a team's endpoint: the field it is written under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChannelKind {
    /// `webhook:`: a generic webhook.
    Webhook,
    /// `slack:`: a Slack incoming webhook.
    Slack,
    /// `msteams:`: a Microsoft Teams incoming webhook.
    MsTeams,
}

impl ChannelKind {
    /// Every kind, in the order teams list them.
    pub const ALL: [ChannelKind; 3] = [
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::MsTeams,
    ];

    /// The field of the rule files, which starts the endpoint's id:
    /// `webhook`, `slack` or `msteams`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::MsTeams => "msteams",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook, Slack or Teams URL of a team.
///
/// The URL may hold a credential (a Slack webhook URL is one), so only
/// [`Endpoint::url`] gives it, for sending; `Debug`, [`Endpoint::id`] and
/// [`Endpoint::shown`] never contain more of it than its scheme and host.
#[derive(Clone, PartialEq)]
pub struct Endpoint {
    pub kind: ChannelKind,
    /// The receiver's name in the notification log, outbox, logs and pages:
    /// `{kind}:{host}/{h}`, with `h` the first 10 hex digits of the xxh3-64
    /// hash of the URL as written (so `${SLACK_SALES}` keeps its name when
    /// the secret behind it rotates). The same URL written in two teams is
    /// one id. Never contains the secret.
    pub id: String,
    /// What may be shown: `https://hooks.slack.com/…` (scheme and host only),
    /// or the text as written when it is exactly one `${NAME}`, e.g.
    /// `${SLACK_SALES}`.
    pub shown: String,
    /// The URL with `${NAME}` expanded: a secret.
    url: String,
}

impl Endpoint {
    /// An endpoint of `kind` written as `written` (trimmed) whose URL, once
    /// expanded, is `url`, with `scheme` and `host` (with its port, if any)
    /// taken from it.
    pub(crate) fn new(
        kind: ChannelKind,
        written: &str,
        url: String,
        scheme: &str,
        host: &str,
    ) -> Endpoint {
        let hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(written.as_bytes()));
        let id = format!("{kind}:{host}/{}", &hash[..10]);
        let one_variable = written.starts_with("${")
            && written.ends_with('}')
            && written.matches("${").count() == 1
            && written.find('}') == Some(written.len() - 1);
        let shown = if one_variable {
            written.to_owned()
        } else if url.len() == scheme.len() + 3 + host.len() {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}/…")
        };
        Endpoint {
            kind,
            id,
            shown,
            url,
        }
    }

    /// The URL to send to, with `${NAME}` expanded. A secret: only for
    /// sending, never for logs, pages or messages.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Shows the kind, id and shown form; never the URL.
impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}
