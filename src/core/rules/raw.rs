//! The rule-file format as written: these structs are what the YAML is
//! deserialized into and what `handoff schema` describes, so the two cannot
//! drift. Values whose meaning needs checking (cron, durations, windows, time
//! zones, names) stay text here; `validate` turns them into the typed model.
//!
//! The doc comments on fields become the descriptions editors show on hover.
//!
//! Required fields are `Option` here and marked required for the schema only:
//! the validator reports a missing one with its own located message, and a
//! missing field never stops the rest of the file from being checked.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::model::{ErrorPolicy, Kind, NoDataPolicy};
use super::yaml::{Isolated, Sp};
use crate::model::GroupBy;

/// A handoff rule file: the SLA between marketing and sales, or part of it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RuleFile")]
pub(crate) struct RawFile {
    /// Version of the rule-file format. Always `1`.
    #[schemars(required)]
    pub version: Option<Sp<Version>>,
    /// IANA time zone (e.g. `America/New_York`) in which this file's periods
    /// (day, week, month, quarter), schedules, calendar hours and team mutes
    /// are read. Required when the file defines objectives, calendars or a
    /// team with `mute`.
    #[serde(default)]
    pub timezone: Option<Sp<Text<TimezoneText>>>,
    /// The reporting currency, as an ISO 4217 code (`USD`, `EUR`): deal amounts
    /// and `cost_per_attempt` are in it, and every money figure shows it. One
    /// per rule set.
    #[serde(default)]
    pub currency: Option<Sp<String>>,
    /// The address of a lead in the CRM, with `{id}` where the lead's id goes
    /// (`https://crm.example/leads/{id}`): lead notices link each lead to it.
    /// One per rule set.
    #[serde(default)]
    pub lead_url: Option<Sp<String>>,
    /// The monthly review (docs/REVIEW.md): which period, who gets it by
    /// mail and when. One per rule set.
    #[serde(default)]
    pub review: Option<Sp<Isolated<RawReview>>>,
    /// Business-hours calendars by name. Usable from any rule file.
    #[serde(default)]
    pub calendars: Option<Sp<Entries<Isolated<RawCalendar>>>>,
    /// Teams by name: the owners of objectives and the receivers of alerts.
    /// Usable from any rule file.
    #[serde(default)]
    pub teams: Option<Sp<Entries<Isolated<RawTeam>>>>,
    /// The promises to watch.
    #[serde(default)]
    pub objectives: Option<Sp<Vec<Sp<Isolated<RawObjective>>>>>,
}

/// The format version number.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct Version(pub u64);

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1, "description": "Version of the rule-file format. Always `1`." })
    }
}

/// A team: where its notices go (at least one of `email`, `webhook`,
/// `slack` or `msteams`) and when they wait (`mute`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Team")]
#[schemars(extend("anyOf" = [
    { "required": ["email"] },
    { "required": ["webhook"] },
    { "required": ["slack"] },
    { "required": ["msteams"] }
]))]
pub(crate) struct RawTeam {
    /// Where the team's alerts go by mail: one address or a list. Lead
    /// notices to reps and managers go by mail only.
    #[serde(default)]
    pub email: Option<Sp<Names<EmailText>>>,
    /// Webhook URLs that receive the team's alerts: one URL or a list.
    /// `${NAME}` is replaced by the environment variable NAME.
    #[serde(default)]
    pub webhook: Option<Sp<Names<UrlText>>>,
    /// Slack incoming-webhook URLs: one URL or a list. The URL is a secret:
    /// write `${NAME}` and set the environment variable NAME.
    #[serde(default)]
    pub slack: Option<Sp<Names<UrlText>>>,
    /// Microsoft Teams incoming-webhook URLs: one URL or a list. `${NAME}`
    /// is replaced by the environment variable NAME.
    #[serde(default)]
    pub msteams: Option<Sp<Names<UrlText>>>,
    /// When the team's notices wait: the team is muted while any entry holds,
    /// read in the file's time zone. A notice held by a mute goes when it ends.
    #[serde(default)]
    #[schemars(extend("minItems" = 1))]
    pub mute: Option<Sp<Vec<Sp<Isolated<RawMute>>>>>,
}

/// One entry of a team's `mute`: it holds when every field it has holds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Mute", extend("minProperties" = 1))]
pub(crate) struct RawMute {
    /// Days of the week, written as calendar `hours` keys are: a day (`mon`),
    /// a range (`mon-fri`) or a list (`sat,sun`). Default: every day.
    #[serde(default)]
    pub weekdays: Option<Sp<Text<WeekdaysText>>>,
    /// Times of day `HH:MM-HH:MM`, several separated by commas; `24:00` ends
    /// the day. A span cannot wrap midnight: write `19:00-24:00, 00:00-07:00`.
    /// Default: the whole day.
    #[serde(default)]
    pub times: Option<Sp<Text<TimesText>>>,
    /// Dates `YYYY-MM-DD` or inclusive ranges `YYYY-MM-DD..YYYY-MM-DD`: one or
    /// a list. Default: every date.
    #[serde(default)]
    pub dates: Option<Sp<Names<DateRangeText>>>,
}

/// Open hours and holidays, for clocks that run in business time only.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Calendar")]
pub(crate) struct RawCalendar {
    /// Open hours by weekday: keys are days (`mon`), ranges (`mon-fri`) or lists
    /// (`sat,sun`); values are `HH:MM-HH:MM`, several separated by commas. Days not
    /// named are closed.
    #[schemars(required)]
    pub hours: Option<Sp<Entries<Sp<Text<HoursText>>>>>,
    /// Dates (`YYYY-MM-DD`) on which the calendar is closed all day.
    #[serde(default)]
    pub holidays: Option<Sp<Vec<Sp<Text<DateText>>>>>,
}

/// One promise: what is measured, for whom, how often, and what counts as kept.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Objective")]
pub(crate) struct RawObjective {
    /// Unique across all rule files; lowercase letters, digits and `-`.
    #[schemars(required)]
    pub name: Option<Sp<Text<NameText>>>,
    /// The promise in plain words; shown in mails and on the status page.
    #[serde(default)]
    pub description: Option<Sp<String>>,
    /// What is measured.
    #[schemars(required)]
    pub kind: Option<Sp<Kind>>,
    /// The accountable team (or teams); they get the alerts unless `alert.notify` says otherwise.
    #[schemars(required)]
    pub owner: Option<Sp<Names<NameText>>>,
    /// When to evaluate: cron with seconds (`0 */15 * * * *`) or classic 5-field
    /// cron (`*/15 * * * *`), in the file's time zone. Weekdays by name (`MON-FRI`).
    #[schemars(required)]
    pub schedule: Option<Sp<Text<CronText>>>,
    /// The period measured: `day`, `week` (Monday first), `month`, `quarter`
    /// (calendar periods in the file's time zone, up to now) or `rolling 28d`.
    /// Not used by `profitability`, which has `lookback`.
    #[serde(default)]
    pub window: Option<Sp<Text<WindowText>>>,
    /// Split the figures by this lead column (`owner` = the owner's team, `rep` = the
    /// owner rep's id, shown with the name).
    #[serde(default)]
    pub by: Option<Sp<GroupBy>>,
    /// What counts as kept: a ratio 0–1 (a count for `lead_volume`), or a map of
    /// group → target with an optional `default` for groups it does not name.
    #[serde(default)]
    pub target: Option<Sp<RawTarget>>,
    /// `lead_volume` only: `at_risk` when delivered / expected-so-far falls below this (0–1].
    #[serde(default)]
    pub warn_below: Option<Sp<f64>>,
    /// `lead_volume` and `percent_worked`: count business time of this calendar only.
    #[serde(default)]
    pub calendar: Option<Sp<Text<NameText>>>,
    /// `lead_quality` only: how long sales has to accept or reject an MQL before it counts.
    #[serde(default)]
    pub mature_after: Option<Sp<Text<DurationText>>>,
    /// `percent_worked` only: the promised time from hand-off to the first human attempt.
    #[serde(default)]
    pub respond_within: Option<Sp<Text<DurationText>>>,
    /// `contact_attempts` only: attempts owed to an MQL before sales gives up on
    /// it, or a map of group → attempts with a `default` (needs `by`).
    #[serde(default)]
    pub min_attempts: Option<Sp<RawAttempts>>,
    /// `profitability` only: how far back the cohort of MQLs reaches.
    #[serde(default)]
    pub lookback: Option<Sp<Text<DurationText>>>,
    /// `profitability` only: what one attempt costs, as an amount or as
    /// `{ hourly_cost, attempts_per_hour }`.
    #[serde(default)]
    pub cost_per_attempt: Option<Sp<RawCost>>,
    /// `profitability` only: leads needed at an attempt number before it can be the cutoff.
    #[serde(default)]
    pub min_sample: Option<Sp<i64>>,
    /// `profitability` only: conversions a group needs before its cutoff can
    /// breach (below them, `no_data`). Default 3.
    #[serde(default)]
    pub min_conversions: Option<Sp<i64>>,
    /// `profitability` only: the `contact_attempts` objective whose `min_attempts` must
    /// not exceed the profitable cutoff.
    #[serde(default)]
    pub checks: Option<Sp<Text<NameText>>>,
    /// `percent_worked` only: notices about each lead, to the rep who owns it
    /// (hand-off, a reminder before the deadline) and to managers (overdue).
    #[serde(default)]
    pub notify_reps: Option<Sp<Isolated<RawNotifyReps>>>,
    /// Any kind: one "trend" notice per period when the closed period's
    /// figure drops against the one before (or the median of three) by more
    /// than `drop`, with enough volume.
    #[serde(default)]
    pub trend: Option<Sp<Isolated<RawTrend>>>,
    /// When and whom to alert.
    #[serde(default)]
    pub alert: Option<Sp<Isolated<RawAlert>>>,
}

/// `trend:` on an objective (docs/REVIEW.md, "Trends").
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Trend")]
pub(crate) struct RawTrend {
    /// What the closed period is compared with: `previous` (the period
    /// before, the default) or `median_of_3` (the median of the three before).
    #[serde(default)]
    pub compare: Option<Sp<TrendCompare>>,
    /// The drop that is news: relative for counts (`10%` of the MQLs),
    /// absolute for ratios (`0.10` = ten points of the worked share).
    /// Default `10%`.
    #[serde(default)]
    pub drop: Option<Sp<RawShare>>,
    /// The volume below which no trend is told: the denominator of a
    /// ratio, the MQLs of the baseline for `lead_volume`, the cohort for
    /// `profitability`. Default 30.
    #[serde(default)]
    pub min_denominator: Option<Sp<i64>>,
}

/// What a trend compares the closed period with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrendCompare {
    /// The period before.
    Previous,
    /// The median of the three periods before.
    #[serde(rename = "median_of_3")]
    MedianOf3,
}

/// `review:`: the monthly review's mail (docs/REVIEW.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Review")]
pub(crate) struct RawReview {
    /// The period reviewed: `month` (the default) or `quarter`.
    #[serde(default)]
    pub period: Option<Sp<String>>,
    /// Teams or addresses that get the review by mail. Default: every team.
    #[serde(default)]
    pub to: Option<Sp<Names<RecipientText>>>,
    /// Local time (`HH:MM`) on the first business day of the next period
    /// after which the review is mailed. Default `09:00`.
    #[serde(default)]
    pub send_at: Option<Sp<String>>,
    /// The calendar whose open days are business days (default Monday to
    /// Friday).
    #[serde(default)]
    pub calendar: Option<Sp<Text<NameText>>>,
}

/// Notices about each lead while its first-attempt clock runs (docs/LEADS.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NotifyReps")]
pub(crate) struct RawNotifyReps {
    /// Tell the owner the moment an MQL is theirs, with its deadline. Default `false`.
    #[serde(default)]
    pub on_handoff: Option<Sp<bool>>,
    /// Remind the owner when this share of the business time to the deadline
    /// is gone and nobody has tried the lead yet: `75%` (or `0.75`).
    #[serde(default)]
    pub before_deadline: Option<Sp<RawShare>>,
    /// Teams or addresses told which leads passed their deadline untried.
    #[serde(default)]
    pub overdue: Option<Sp<Names<RecipientText>>>,
}

/// A share of something: `75%` or `0.75`.
#[derive(Debug)]
pub(crate) enum RawShare {
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawShare {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShareVisitor;
        impl Visitor<'_> for ShareVisitor {
            type Value = RawShare;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage (`75%`) or a number between 0 and 1")
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawShare, E> {
                Ok(RawShare::Number(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawShare, E> {
                Ok(RawShare::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawShare, E> {
                Ok(RawShare::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawShare, E> {
                Ok(RawShare::Text(v.to_owned()))
            }
        }
        deserializer.deserialize_any(ShareVisitor)
    }
}

impl JsonSchema for RawShare {
    fn schema_name() -> Cow<'static, str> {
        "Share".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A share: a percentage (`75%`) or a number between 0 and 1.",
            "oneOf": [
                { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%\\s*$" }
            ],
            "examples": ["75%"]
        })
    }
}

/// When and whom to alert.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Alert")]
pub(crate) struct RawAlert {
    /// How long a problem must last before the alert fires. Default `0s`.
    #[serde(default, rename = "for")]
    pub pending_for: Option<Sp<Text<DurationText>>>,
    /// How long a fired alert stays firing after the problem clears. Default `0s`.
    #[serde(default)]
    pub keep_firing_for: Option<Sp<Text<DurationText>>>,
    /// Team names or email addresses. Default: the owner.
    #[serde(default)]
    pub notify: Option<Sp<Names<RecipientText>>>,
    /// How often a firing alert is mailed again. Default `24h`.
    #[serde(default)]
    pub repeat: Option<Sp<Text<DurationText>>>,
    /// Mail when the alert resolves. Default `true`.
    #[serde(default)]
    pub send_resolved: Option<Sp<bool>>,
    /// When an evaluation fails. Default `alert`.
    #[serde(default)]
    pub on_error: Option<Sp<ErrorPolicy>>,
    /// When there is nothing to measure. Default `ok`.
    #[serde(default)]
    pub on_no_data: Option<Sp<NoDataPolicy>>,
}

/// The fields every kind of objective accepts.
pub(crate) const COMMON_FIELDS: &[&str] = &[
    "name",
    "description",
    "kind",
    "owner",
    "schedule",
    "by",
    "trend",
    "alert",
];

/// Which kind-specific fields a kind requires and which it also allows. The
/// validator and the JSON Schema both read this table.
pub(crate) struct KindFields {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

/// Every kind-specific field, in the order the reference documents them.
pub(crate) const KIND_SPECIFIC_FIELDS: &[&str] = &[
    "window",
    "target",
    "warn_below",
    "calendar",
    "mature_after",
    "respond_within",
    "min_attempts",
    "lookback",
    "cost_per_attempt",
    "min_sample",
    "min_conversions",
    "checks",
    "notify_reps",
];

impl Kind {
    pub(crate) fn fields(self) -> KindFields {
        match self {
            Kind::LeadVolume => KindFields {
                required: &["window", "target"],
                optional: &["warn_below", "calendar"],
            },
            Kind::LeadQuality => KindFields {
                required: &["window", "target"],
                optional: &["mature_after"],
            },
            Kind::PercentWorked => KindFields {
                required: &["window", "target", "respond_within"],
                optional: &["calendar", "notify_reps"],
            },
            Kind::ContactAttempts => KindFields {
                required: &["window", "target", "min_attempts"],
                optional: &[],
            },
            Kind::Profitability => KindFields {
                required: &["cost_per_attempt"],
                optional: &["lookback", "min_sample", "min_conversions", "checks"],
            },
        }
    }

    pub(crate) fn allows(self, field: &str) -> bool {
        let f = self.fields();
        COMMON_FIELDS.contains(&field) || f.required.contains(&field) || f.optional.contains(&field)
    }
}

// ---------------------------------------------------------------------------
// Value shapes.

/// A mapping from names to values, in file order, with each key's location.
#[derive(Debug)]
pub(crate) struct Entries<V>(pub Vec<(Sp<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Sp<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for Entries<V> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Entries_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<V>();
        json_schema!({ "type": "object", "additionalProperties": value })
    }
}

/// What a text value means, for its JSON Schema.
pub(crate) trait TextKind {
    fn schema() -> Schema;
    const NAME: &'static str;
}

/// A scalar read as text, whatever YAML made of it (`30` stays "30"), so that the
/// validator can explain what is wrong with it rather than report a type mismatch.
#[derive(Debug, Clone)]
pub(crate) struct Text<K>(pub String, PhantomData<K>);

impl<K> Text<K> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<K> AsRef<str> for Text<K> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de, K> Deserialize<'de> for Text<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TextVisitor)
            .map(|s| Text(s, PhantomData))
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text value")
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<K: TextKind> JsonSchema for Text<K> {
    fn schema_name() -> Cow<'static, str> {
        K::NAME.into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        K::schema()
    }
}

macro_rules! text_kind {
    ($ty:ident, $name:literal, $schema:tt) => {
        #[derive(Debug, Clone)]
        pub(crate) struct $ty;
        impl TextKind for $ty {
            const NAME: &'static str = $name;
            fn schema() -> Schema {
                json_schema!($schema)
            }
        }
    };
}

text_kind!(NameText, "Name", {
    "type": "string",
    "pattern": "^[a-z0-9-]+$",
    "description": "A name: lowercase letters, digits and `-`."
});
text_kind!(TimezoneText, "Timezone", {
    "type": "string",
    "description": "An IANA time zone name, e.g. `America/New_York`, `Europe/Berlin`, `UTC`.",
    "examples": ["America/New_York", "Europe/London", "UTC"]
});
text_kind!(CronText, "Cron", {
    "type": "string",
    "description": "Cron with seconds (`sec min hour day-of-month month day-of-week`) or \
                    classic 5-field cron; `@hourly`, `@daily`, `@weekly`, `@monthly` also work. \
                    Write weekdays by name (`MON-FRI`).",
    "examples": ["0 */15 * * * *", "0 0 8 * * MON-FRI", "*/5 * * * *"]
});
text_kind!(DurationText, "Duration", {
    "type": "string",
    "pattern": "^(0|([0-9]+[smhdw])+)$",
    "description": "A duration: a number and a unit (s, m, h, d, w), e.g. `30m`, `4h`, `7d`, `1h30m`.",
    "examples": ["30m", "4h", "7d"]
});
text_kind!(WindowText, "Window", {
    "type": "string",
    "pattern": "^(day|week|month|quarter|rolling ([0-9]+[hdw])+)$",
    "description": "`day`, `week`, `month`, `quarter` (the calendar period up to now) or \
                    `rolling N` with N in hours, days or weeks (`rolling 28d`).",
    "examples": ["month", "rolling 28d"]
});
text_kind!(HoursText, "OpenHours", {
    "type": "string",
    "pattern": "^\\s*[0-9]{1,2}:[0-9]{2}\\s*-\\s*[0-9]{1,2}:[0-9]{2}\\s*(,\\s*[0-9]{1,2}:[0-9]{2}\\s*-\\s*[0-9]{1,2}:[0-9]{2}\\s*)*$",
    "description": "Open hours `HH:MM-HH:MM`, several separated by commas (`09:00-12:00, 13:00-17:00`).",
    "examples": ["09:00-17:00"]
});
text_kind!(TimesText, "TimesOfDay", {
    "type": "string",
    "pattern": "^\\s*[0-9]{1,2}:[0-9]{2}\\s*-\\s*[0-9]{1,2}:[0-9]{2}\\s*(,\\s*[0-9]{1,2}:[0-9]{2}\\s*-\\s*[0-9]{1,2}:[0-9]{2}\\s*)*$",
    "description": "Times of day `HH:MM-HH:MM`, several separated by commas (`19:00-24:00, 00:00-07:00`).",
    "examples": ["19:00-24:00, 00:00-07:00"]
});
text_kind!(WeekdaysText, "Weekdays", {
    "type": "string",
    "pattern": "^\\s*[A-Za-z]+\\s*(-\\s*[A-Za-z]+\\s*)?(,\\s*[A-Za-z]+\\s*(-\\s*[A-Za-z]+\\s*)?)*$",
    "description": "Days of the week: `mon`, a range `mon-fri` (Monday to Sunday) or a list `sat,sun`.",
    "examples": ["sat,sun", "mon-fri"]
});
text_kind!(DateRangeText, "DateRange", {
    "type": "string",
    "pattern": "^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*(\\.\\.\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*)?$",
    "description": "A date `YYYY-MM-DD`, or an inclusive range `YYYY-MM-DD..YYYY-MM-DD`.",
    "examples": ["2026-12-25", "2026-12-24..2026-12-31"]
});
text_kind!(UrlText, "Url", {
    "type": "string",
    "pattern": "^\\s*(https?://|\\$\\{)",
    "description": "An `http://` or `https://` URL. `${NAME}` anywhere in it is replaced by the \
                    environment variable NAME when the rules load: keep secrets such as Slack \
                    webhook URLs out of the file.",
    "examples": ["${SLACK_SALES_URL}", "https://hooks.example/handoff"]
});
text_kind!(DateText, "Date", {
    "type": "string",
    "format": "date",
    "description": "A date, `YYYY-MM-DD`."
});
text_kind!(EmailText, "Email", {
    "type": "string",
    "pattern": "^[^@\\s]+@[^@\\s]+$",
    "description": "An email address."
});
text_kind!(RecipientText, "Recipient", {
    "type": "string",
    "description": "A team name or an email address."
});

/// One name or a list of them (`owner: sales` or `owner: [sales, marketing]`).
/// A single name carries the location of the whole value.
#[derive(Debug)]
pub(crate) struct Names<K>(pub Vec<Sp<Text<K>>>);

impl<'de, K> Deserialize<'de> for Names<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamesVisitor<K>(PhantomData<K>);
        impl<'de, K> Visitor<'de> for NamesVisitor<K> {
            type Value = Names<K>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name or a list of names")
            }
            fn visit_str<E>(self, v: &str) -> Result<Names<K>, E> {
                Ok(Names(vec![Sp::new(
                    Text(v.to_owned(), PhantomData),
                    Default::default(),
                )]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names<K>, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<Sp<String>>()? {
                    names.push(Sp::new(Text(name.value, PhantomData), name.loc));
                }
                Ok(Names(names))
            }
        }
        deserializer.deserialize_any(NamesVisitor(PhantomData))
    }
}

impl<K: TextKind> JsonSchema for Names<K> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Names_{}", K::NAME).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<Text<K>>();
        json_schema!({
            "oneOf": [one, { "type": "array", "items": one, "minItems": 1 }]
        })
    }
}

/// `target: 0.9` or `target: { webinar: 150, default: 50 }`.
#[derive(Debug)]
pub(crate) enum RawTarget {
    One(f64),
    PerGroup(Vec<(Sp<String>, Sp<f64>)>),
}

impl<'de> Deserialize<'de> for RawTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TargetVisitor("a number, or a mapping of group to number"))
    }
}

/// Reads a number or a map of group → number; says `.0` when it finds
/// something else.
struct TargetVisitor(&'static str);

impl<'de> Visitor<'de> for TargetVisitor {
    type Value = RawTarget;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawTarget, E> {
        Ok(RawTarget::One(v as f64))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawTarget, E> {
        Ok(RawTarget::One(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawTarget, E> {
        Ok(RawTarget::One(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawTarget, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Sp<String>>()? {
            entries.push((key, map.next_value::<Sp<f64>>()?));
        }
        Ok(RawTarget::PerGroup(entries))
    }
}

impl JsonSchema for RawTarget {
    fn schema_name() -> Cow<'static, str> {
        "Target".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "One number for every group, or a map of group → number with an \
                            optional `default` for groups it does not name.",
            "oneOf": [
                { "type": "number", "minimum": 0 },
                {
                    "type": "object",
                    "additionalProperties": { "type": "number", "minimum": 0 },
                    "minProperties": 1
                }
            ]
        })
    }
}

/// `min_attempts: 6` or `min_attempts: { events: 3, default: 6 }`: read as
/// a target is, whole numbers checked by the loader.
#[derive(Debug)]
pub(crate) struct RawAttempts(pub RawTarget);

impl<'de> Deserialize<'de> for RawAttempts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(TargetVisitor(
                "a whole number, or a mapping of group to whole number",
            ))
            .map(RawAttempts)
    }
}

impl JsonSchema for RawAttempts {
    fn schema_name() -> Cow<'static, str> {
        "MinAttempts".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Attempts owed before giving up: one whole number, or a map of \
                            group → whole number with a `default` for groups it does not name.",
            "oneOf": [
                { "type": "integer", "minimum": 1, "maximum": 100 },
                {
                    "type": "object",
                    "additionalProperties": { "type": "integer", "minimum": 1, "maximum": 100 },
                    "required": ["default"]
                }
            ]
        })
    }
}

/// `cost_per_attempt: 4.5` or `cost_per_attempt: { hourly_cost: 45, attempts_per_hour: 10 }`.
#[derive(Debug)]
pub(crate) enum RawCost {
    Amount(f64),
    Rate(RawRate),
}

/// The cost of an attempt worked out from a rep's loaded hourly cost.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CostRate")]
pub(crate) struct RawRate {
    /// A rep's loaded cost per hour, in the reporting currency.
    #[schemars(required)]
    pub hourly_cost: Option<Sp<f64>>,
    /// Contact attempts a rep makes in an hour.
    #[schemars(required)]
    pub attempts_per_hour: Option<Sp<f64>>,
}

impl<'de> Deserialize<'de> for RawCost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CostVisitor;
        impl<'de> Visitor<'de> for CostVisitor {
            type Value = RawCost;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount, or `{ hourly_cost, attempts_per_hour }`")
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawCost, E> {
                Ok(RawCost::Amount(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawCost, E> {
                Ok(RawCost::Amount(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawCost, E> {
                Ok(RawCost::Amount(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCost, A::Error> {
                RawRate::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawCost::Rate)
            }
        }
        deserializer.deserialize_any(CostVisitor)
    }
}

impl JsonSchema for RawCost {
    fn schema_name() -> Cow<'static, str> {
        "CostPerAttempt".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let rate = generator.subschema_for::<RawRate>();
        json_schema!({
            "description": "What one contact attempt costs: an amount in the reporting \
                            currency, or `{ hourly_cost, attempts_per_hour }`.",
            "oneOf": [{ "type": "number", "exclusiveMinimum": 0 }, rate]
        })
    }
}
