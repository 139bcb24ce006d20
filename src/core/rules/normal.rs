//! The rules in a canonical JSON form (docs/DAEMON.md, "Alert identity and the
//! SLA's change log"): what an objective measures and its target, a key
//! hashed from it, and the whole rule set as the change log keeps it.
//!
//! Everything here is written field by field from the typed model, with the
//! names rule files use (`lead_volume`, `4h`, `month`), never from `Debug`
//! output: a release that renames a Rust type changes no key and no hash.
//! Maps are serde_json's default, sorted by key, so the compact text of a
//! value is the same however it was built.

use serde_json::{Map, Value, json};

use super::RuleSet;
use super::calendar::{Calendar, OpenHours};
use super::model::{
    Checks, Duration, ErrorPolicy, MinAttempts, NoDataPolicy, Objective, Spec, Target, Team,
};
use super::mute::MuteTime;

/// The weekday keys of a calendar's `hours`, Monday first.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Objective {
    /// What the objective measures and its target, in the canonical form of
    /// docs/DAEMON.md: `kind`, `window`, `by`, `timezone`, and the settings of
    /// its kind (the target with its per-group map, `warn_below`,
    /// `mature_after`, `respond_within`, `min_attempts`, `lookback`,
    /// `cost_per_attempt`, `min_sample`, `checks`) with the content of its
    /// business calendar. Who hears of it, when it runs and how its alerts move
    /// (`for`, `repeat`, …) are not part of it.
    pub fn definition_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), self.kind().as_str().into());
        m.insert("window".into(), self.window.to_string().into());
        m.insert(
            "by".into(),
            self.by.map_or(Value::Null, |b| b.as_str().into()),
        );
        m.insert("timezone".into(), self.timezone.name().into());
        match &self.spec {
            Spec::LeadVolume {
                target,
                warn_below,
                calendar,
            } => {
                m.insert("target".into(), target_json(target));
                m.insert("warn_below".into(), number(*warn_below));
                m.insert("calendar".into(), calendar_json(calendar.as_deref()));
            }
            Spec::LeadQuality {
                target,
                mature_after,
            } => {
                m.insert("target".into(), target_json(target));
                m.insert("mature_after".into(), duration(*mature_after));
            }
            Spec::PercentWorked {
                target,
                respond_within,
                calendar,
            } => {
                m.insert("target".into(), target_json(target));
                m.insert("respond_within".into(), duration(*respond_within));
                m.insert("calendar".into(), calendar_json(calendar.as_deref()));
            }
            Spec::ContactAttempts {
                target,
                min_attempts,
            } => {
                m.insert("target".into(), target_json(target));
                m.insert("min_attempts".into(), min_attempts_json(min_attempts));
            }
            Spec::Profitability {
                lookback,
                cost_per_attempt,
                min_sample,
                min_conversions,
                checks,
            } => {
                m.insert("lookback".into(), duration(*lookback));
                m.insert("cost_per_attempt".into(), number(*cost_per_attempt));
                m.insert("min_sample".into(), (*min_sample).into());
                m.insert("min_conversions".into(), (*min_conversions).into());
                m.insert("checks".into(), checks_json(checks.as_ref()));
            }
        }
        Value::Object(m)
    }

    /// 16 hex digits of the xxh3-64 hash of the compact text of
    /// [`Objective::definition_json`]: with the objective's name and a group,
    /// the identity of an alert series.
    pub fn definition_key(&self) -> String {
        format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(canonical_text(&self.definition_json()).as_bytes())
        )
    }
}

impl RuleSet {
    /// The whole rule set as the change log keeps it (docs/DAEMON.md): the
    /// teams, sorted by name, and each objective in load order with its
    /// definition and everything else the files say of it.
    pub fn normalized(&self) -> Value {
        let teams: Vec<Value> = self.teams().values().map(team_json).collect();
        let objectives: Vec<Value> = self
            .objectives()
            .iter()
            .map(|o| {
                let a = &o.alert;
                let mut v = json!({
                    "name": o.name,
                    "origin": o.origin.to_string(),
                    "definition": o.definition_json(),
                    "description": o.description,
                    "owner": o.owner,
                    "calendar": o.spec.calendar().map(|c| c.name.clone()),
                    "notify": self.notify_receivers(o),
                    "schedule": o.schedule.as_str(),
                    "alert": {
                        "for": duration(a.pending_for),
                        "keep_firing_for": duration(a.keep_firing_for),
                        "repeat": duration(a.repeat),
                        "send_resolved": a.send_resolved,
                        "on_error": error_policy(a.on_error),
                        "on_no_data": no_data_policy(a.on_no_data),
                    },
                });
                // Only when set, so that rule sets written before it keep
                // their hash.
                if let (Some(n), Value::Object(m)) = (&o.notify_reps, &mut v) {
                    m.insert(
                        "notify_reps".into(),
                        json!({
                            "on_handoff": n.on_handoff,
                            "before_deadline": n.before_deadline.map(number),
                            "overdue": self.addresses(&n.overdue),
                        }),
                    );
                }
                if let (Some(t), Value::Object(m)) = (&o.trend, &mut v) {
                    m.insert(
                        "trend".into(),
                        json!({
                            "compare": t.compare.as_str(),
                            "drop": number(t.drop),
                            "min_denominator": t.min_denominator,
                        }),
                    );
                }
                v
            })
            .collect();
        let mut set =
            json!({ "currency": self.currency(), "teams": teams, "objectives": objectives });
        if let (Some(u), Value::Object(m)) = (&self.lead_url_template(), &mut set) {
            m.insert("lead_url".into(), (*u).into());
        }
        if let (Some(r), Value::Object(m)) = (self.review(), &mut set) {
            let to = self.review_receivers();
            m.insert(
                "review".into(),
                json!({
                    "period": r.period.as_str(),
                    "to": to,
                    "send_at": r.send_at.format("%H:%M").to_string(),
                    "calendar": r.calendar_name,
                }),
            );
        }
        set
    }

    /// 32 hex digits of the xxh3-128 hash of the compact text of
    /// [`RuleSet::normalized`]: equal exactly when the change log would
    /// record the same rules.
    pub fn content_hash(&self) -> String {
        format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(canonical_text(&self.normalized()).as_bytes())
        )
    }
}

/// The differences between two definitions ([`Objective::definition_json`]),
/// one line each, in key order, as a person reads them:
/// `target.webinar: 0.95 → 0.9`, `window: month → week`,
/// `target.events: (none) → 0.8`.
///
/// Objects are compared key by key, with dotted paths; a key that is missing
/// or null reads `(none)` (so a whole value that appears, such as a calendar
/// where there was none, is listed key by key). Text is shown bare, numbers as
/// stored (the caller formats ratios), a list as its items joined with `, `
/// (`(none)` when empty), and a value whose shape changed (one target for
/// every group against a map) as compact JSON.
pub fn definition_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", old, new, &mut out);
    out
}

fn diff(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    let as_object = |v: &Value| match v {
        Value::Object(m) => Some(m.clone()),
        Value::Null => Some(Map::new()),
        _ => None,
    };
    let either_object = old.is_object() || new.is_object();
    if let (true, Some(a), Some(b)) = (either_object, as_object(old), as_object(new)) {
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for k in keys {
            let sub = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            diff(
                &sub,
                a.get(k).unwrap_or(&Value::Null),
                b.get(k).unwrap_or(&Value::Null),
                out,
            );
        }
        return;
    }
    let (old, new) = (shown(old), shown(new));
    // A missing value against an empty list reads the same: no change worth a line.
    if old != new {
        let name = if path.is_empty() { "definition" } else { path };
        out.push(format!("{name}: {old} → {new}"));
    }
}

/// A value as one line of [`definition_changes`] shows it.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".to_owned(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(shown).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// Each objective of a recorded rule set ([`RuleSet::normalized`], as the
/// change log keeps it): its name and its whole object.
pub fn recorded_objectives(rules: &Value) -> impl Iterator<Item = (&str, &Value)> {
    rules
        .get("objectives")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| Some((o.get("name")?.as_str()?, o)))
}

/// The compact JSON text of `v` with every object's keys in byte order: what
/// serde_json writes of its default (sorted) map, and the same should a
/// dependency turn on its `preserve_order` feature.
pub fn canonical_text(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// A duration as rule files write it: `4h`, `1h30m`, `0s`.
fn duration(d: Duration) -> Value {
    d.to_string().into()
}

/// A number as JSON holds it (the model's numbers are finite once validated).
fn number(x: f64) -> Value {
    Value::from(x)
}

/// One number for every group, or `{group: number, …, "default": number}`.
fn min_attempts_json(m: &MinAttempts) -> Value {
    match m {
        MinAttempts::Uniform(n) => (*n).into(),
        MinAttempts::PerGroup { groups, default } => {
            let mut m: Map<String, Value> = groups
                .iter()
                .map(|(g, n)| (g.clone(), (*n).into()))
                .collect();
            m.insert("default".into(), (*default).into());
            Value::Object(m)
        }
    }
}

fn target_json(t: &Target) -> Value {
    match t {
        Target::Uniform(x) => number(*x),
        Target::PerGroup { groups, default } => {
            let mut m: Map<String, Value> = groups
                .iter()
                .map(|(g, x)| (g.clone(), number(*x)))
                .collect();
            if let Some(d) = default {
                m.insert("default".into(), number(*d));
            }
            Value::Object(m)
        }
    }
}

/// What defines a calendar's clock: its zone, the open hours of each weekday
/// (every day present, `[]` when closed) and its holidays. Not its name: a
/// renamed calendar measures the same.
fn calendar_json(c: Option<&Calendar>) -> Value {
    let Some(c) = c else {
        return Value::Null;
    };
    let hours: Map<String, Value> = DAYS
        .iter()
        .zip(weekdays())
        .map(|(key, day)| {
            let spans: Vec<Value> = c.hours(day).iter().map(|h| span(*h).into()).collect();
            ((*key).to_owned(), Value::Array(spans))
        })
        .collect();
    let holidays: Vec<Value> = c
        .holidays()
        .map(|d| d.format("%Y-%m-%d").to_string().into())
        .collect();
    json!({
        "timezone": c.timezone.name(),
        "hours": hours,
        "holidays": holidays,
    })
}

fn weekdays() -> impl Iterator<Item = chrono::Weekday> {
    use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    [Mon, Tue, Wed, Thu, Fri, Sat, Sun].into_iter()
}

/// `09:00-17:00`; a span to the end of the day ends at `24:00`.
fn span(h: OpenHours) -> String {
    let hm = |s: u32| format!("{:02}:{:02}", s / 3600, s % 3600 / 60);
    format!("{}-{}", hm(h.from), hm(h.until))
}

/// A team: its name and addresses, and, only when it has them (so that
/// rule sets written before them keep their hash), its endpoints as they
/// may be shown (never their URLs) and its mute.
fn team_json(t: &Team) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), t.name.clone().into());
    m.insert("email".into(), t.email.clone().into());
    for (key, list) in [
        ("webhook", &t.webhook),
        ("slack", &t.slack),
        ("msteams", &t.msteams),
    ] {
        if !list.is_empty() {
            let shown: Vec<Value> = list.iter().map(|e| e.shown.clone().into()).collect();
            m.insert(key.into(), Value::Array(shown));
        }
    }
    if !t.mute.is_empty() {
        m.insert(
            "mute".into(),
            Value::Array(t.mute.iter().map(mute_json).collect()),
        );
    }
    Value::Object(m)
}

/// A mute entry: its zone and the fields it has, each in one spelling:
/// weekdays Monday first (`["sat", "sun"]`), times sorted (`19:00-24:00`),
/// dates sorted, a single day as `2026-12-25` and a range as
/// `2026-12-24..2026-12-26`.
fn mute_json(m: &MuteTime) -> Value {
    let mut v = Map::new();
    v.insert("timezone".into(), m.timezone.name().into());
    if let Some(days) = &m.weekdays {
        let days: Vec<Value> = days
            .iter()
            .map(|d| DAYS[d.num_days_from_monday() as usize].into())
            .collect();
        v.insert("weekdays".into(), Value::Array(days));
    }
    if let Some(times) = &m.times {
        let times: Vec<Value> = times.iter().map(|h| span(*h).into()).collect();
        v.insert("times".into(), Value::Array(times));
    }
    if let Some(dates) = &m.dates {
        let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let dates: Vec<Value> = dates
            .iter()
            .map(|&(from, to)| {
                if from == to {
                    day(from).into()
                } else {
                    format!("{}..{}", day(from), day(to)).into()
                }
            })
            .collect();
        v.insert("dates".into(), Value::Array(dates));
    }
    Value::Object(v)
}

fn checks_json(c: Option<&Checks>) -> Value {
    c.map_or(
        Value::Null,
        |c| json!({ "objective": c.objective, "min_attempts": min_attempts_json(&c.min_attempts) }),
    )
}

fn error_policy(p: ErrorPolicy) -> &'static str {
    match p {
        ErrorPolicy::Alert => "alert",
        ErrorPolicy::KeepLast => "keep_last",
    }
}

fn no_data_policy(p: NoDataPolicy) -> &'static str {
    match p {
        NoDataPolicy::Ok => "ok",
        NoDataPolicy::Alert => "alert",
        NoDataPolicy::KeepLast => "keep_last",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One rule file: two teams, the calendar `office` open `hours` on
    /// weekdays, and `objective` (one list item, indented by two).
    fn rules(objective: &str, hours: &str) -> RuleSet {
        let text = format!(
            "version: 1
timezone: America/New_York
teams:
  sales: {{ email: [sales@acme.example] }}
  marketing: {{ email: [mkt@acme.example, cmo@acme.example] }}
calendars:
  office:
    hours: {{ mon-fri: \"{hours}\" }}
    holidays: [2026-12-25]
objectives:
{objective}"
        );
        super::super::load_str("sla.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
    }

    const SPEED: &str = "  - name: speed
    description: Every MQL worked within four business hours.
    kind: percent_worked
    owner: sales
    schedule: '0 */15 * * * *'
    window: month
    by: channel
    target: { webinar: 0.95, default: 0.8 }
    respond_within: 4h
    calendar: office
    alert: { for: 1h, repeat: 24h }
";

    fn speed(replace: &[(&str, &str)], hours: &str) -> Objective {
        let mut text = SPEED.to_owned();
        for (from, to) in replace {
            assert!(text.contains(from), "{from}");
            text = text.replace(from, to);
        }
        rules(&text, hours).objectives()[0].clone()
    }

    const HOURS: &str = "09:00-17:00";

    #[test]
    fn the_definition_is_what_is_measured() {
        let o = speed(&[], HOURS);
        assert_eq!(
            o.definition_json(),
            json!({
                "kind": "percent_worked",
                "window": "month",
                "by": "channel",
                "timezone": "America/New_York",
                "target": { "webinar": 0.95, "default": 0.8 },
                "respond_within": "4h",
                "calendar": {
                    "timezone": "America/New_York",
                    "hours": {
                        "mon": ["09:00-17:00"], "tue": ["09:00-17:00"],
                        "wed": ["09:00-17:00"], "thu": ["09:00-17:00"],
                        "fri": ["09:00-17:00"], "sat": [], "sun": [],
                    },
                    "holidays": ["2026-12-25"],
                },
            })
        );
    }

    #[test]
    fn the_key_ignores_what_does_not_change_the_measurement() {
        let base = speed(&[], HOURS).definition_key();
        for change in [
            ("Every MQL worked", "Each MQL worked"),
            ("owner: sales", "owner: [sales, marketing]"),
            ("'0 */15 * * * *'", "'0 0 * * * *'"),
            ("for: 1h", "for: 2h"),
            ("repeat: 24h", "repeat: 4h"),
            (
                "alert: { for: 1h, repeat: 24h }",
                "alert: { for: 1h, repeat: 24h, notify: [cro@acme.example], send_resolved: false, on_error: keep_last, on_no_data: alert, keep_firing_for: 30m }",
            ),
        ] {
            assert_eq!(speed(&[change], HOURS).definition_key(), base, "{change:?}");
        }
    }

    #[test]
    fn the_key_follows_what_is_measured() {
        let base = speed(&[], HOURS).definition_key();
        for change in [
            ("webinar: 0.95", "webinar: 0.9"),
            ("default: 0.8", "events: 0.8"),
            ("window: month", "window: week"),
            ("by: channel", "by: segment"),
            ("respond_within: 4h", "respond_within: 1h"),
        ] {
            assert_ne!(speed(&[change], HOURS).definition_key(), base, "{change:?}");
        }
        assert_ne!(speed(&[], "08:00-17:00").definition_key(), base);
        assert_ne!(
            speed(&[], "09:00-12:00, 13:00-17:00").definition_key(),
            base
        );
    }

    #[test]
    fn a_renamed_calendar_measures_the_same() {
        let text = "version: 1
timezone: UTC
teams:
  sales: { email: [sales@acme.example] }
calendars:
  NAME:
    hours: { mon-fri: \"09:00-17:00\" }
objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 * * * *'
    window: week
    respond_within: 4h
    target: 0.9
    calendar: NAME
";
        let key = |name: &str| {
            super::super::load_str("a.yaml", &text.replace("NAME", name))
                .unwrap()
                .objectives()[0]
                .definition_key()
        };
        assert_eq!(key("office"), key("floor"));
    }

    #[test]
    fn the_key_is_stable() {
        let text = "version: 1
timezone: UTC
teams:
  sales: { email: [sales@acme.example] }
objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 * * * *'
    window: month
    respond_within: 4h
    target: 0.9
";
        let o = super::super::load_str("a.yaml", text).unwrap().objectives()[0].clone();
        // The canonical text, written out by hand: keys in byte order.
        let canonical = r#"{"by":null,"calendar":null,"kind":"percent_worked","respond_within":"4h","target":0.9,"timezone":"UTC","window":"month"}"#;
        assert_eq!(canonical_text(&o.definition_json()), canonical);
        assert_eq!(
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(canonical.as_bytes())),
            KEY
        );
        assert_eq!(o.definition_key(), KEY);
    }

    /// xxh3-64 of the canonical text in `the_key_is_stable`. A release that
    /// changes it moves every alert series to a new identity.
    const KEY: &str = "9af3681ea25aa1f5";

    #[test]
    fn canonical_text_sorts_keys_at_every_depth() {
        let v = json!({ "b": [{ "z": 1, "a": 2 }], "a": null });
        assert_eq!(canonical_text(&v), r#"{"a":null,"b":[{"a":2,"z":1}]}"#);
    }

    #[test]
    fn changes_read_as_dotted_paths() {
        let old = json!({
            "kind": "percent_worked",
            "window": "month",
            "by": "channel",
            "target": { "webinar": 0.95, "default": 0.8 },
            "respond_within": "4h",
            "calendar": null,
        });
        let new = json!({
            "kind": "percent_worked",
            "window": "week",
            "by": "channel",
            "target": { "webinar": 0.9, "events": 0.8 },
            "respond_within": "4h",
            "calendar": { "timezone": "UTC", "hours": { "mon": ["09:00-12:00", "13:00-17:00"] }, "holidays": [] },
        });
        assert_eq!(
            definition_changes(&old, &new),
            vec![
                "calendar.hours.mon: (none) → 09:00-12:00, 13:00-17:00",
                "calendar.timezone: (none) → UTC",
                "target.default: 0.8 → (none)",
                "target.events: (none) → 0.8",
                "target.webinar: 0.95 → 0.9",
                "window: month → week",
            ]
        );
        assert!(definition_changes(&old, &old).is_empty());
        // A shape that changed shows whole.
        let uniform = json!({ "target": 0.9 });
        let per_group = json!({ "target": { "webinar": 0.95 } });
        assert_eq!(
            definition_changes(&uniform, &per_group),
            vec![r#"target: 0.9 → {"webinar":0.95}"#]
        );
        assert_eq!(
            definition_changes(&json!({ "min_attempts": 6 }), &json!({ "min_attempts": 4 })),
            vec!["min_attempts: 6 → 4"]
        );
    }

    #[test]
    fn the_rule_set_as_the_change_log_keeps_it() {
        let set = rules(SPEED, HOURS);
        let n = set.normalized();
        assert_eq!(
            n["teams"],
            json!([
                { "name": "marketing", "email": ["mkt@acme.example", "cmo@acme.example"] },
                { "name": "sales", "email": ["sales@acme.example"] },
            ])
        );
        let o = &n["objectives"][0];
        assert_eq!(o["name"], "speed");
        assert_eq!(o["origin"], "sla.yaml:11");
        assert_eq!(o["definition"], set.objectives()[0].definition_json());
        assert_eq!(
            o["description"],
            "Every MQL worked within four business hours."
        );
        assert_eq!(o["owner"], json!(["sales"]));
        assert_eq!(o["calendar"], "office");
        assert_eq!(o["notify"], json!(["sales@acme.example"]));
        assert_eq!(o["schedule"], "0 */15 * * * *");
        assert_eq!(
            o["alert"],
            json!({
                "for": "1h",
                "keep_firing_for": "0s",
                "repeat": "1d",
                "send_resolved": true,
                "on_error": "alert",
                "on_no_data": "ok",
            })
        );
        let hash = set.content_hash();
        assert_eq!(hash.len(), 32);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            hash,
            format!(
                "{:032x}",
                xxhash_rust::xxh3::xxh3_128(canonical_text(&n).as_bytes())
            )
        );
        // The same rules loaded again hash the same; a new description does not.
        assert_eq!(rules(SPEED, HOURS).content_hash(), hash);
        let described = rules(&SPEED.replace("Every MQL", "Each MQL"), HOURS);
        assert_ne!(described.content_hash(), hash);
    }

    #[test]
    fn teams_show_endpoints_but_never_their_urls_and_mutes_in_one_spelling() {
        let env = |name: &str| {
            (name == "SLACK_SALES_URL")
                .then(|| "https://hooks.slack.com/services/T000/B000/SECRETTOKEN123".to_owned())
        };
        let text = "version: 1
timezone: Europe/Berlin
teams:
  sales:
    slack: ${SLACK_SALES_URL}
    webhook: https://hooks.acme.example/handoff/TOKEN777
    mute:
      - { weekdays: 'sun, sat', times: '00:00-07:00, 19:00-24:00' }
      - dates: [2026-12-31, 2026-12-24 .. 2026-12-26]
";
        let set = super::super::load_texts_with_env(&[("t.yaml", text)], &env).unwrap();
        assert_eq!(
            set.normalized()["teams"],
            json!([{
                "name": "sales",
                "email": [],
                "webhook": ["https://hooks.acme.example/…"],
                "slack": ["${SLACK_SALES_URL}"],
                "mute": [
                    {
                        "timezone": "Europe/Berlin",
                        "weekdays": ["sat", "sun"],
                        "times": ["00:00-07:00", "19:00-24:00"],
                    },
                    {
                        "timezone": "Europe/Berlin",
                        "dates": ["2026-12-24..2026-12-26", "2026-12-31"],
                    },
                ],
            }])
        );
        let text = set.normalized().to_string();
        assert!(!text.contains("SECRETTOKEN123") && !text.contains("TOKEN777"));
    }
}
