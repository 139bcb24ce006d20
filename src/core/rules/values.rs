//! Parsers for the small textual values of rule files: durations, windows,
//! names, time zones and addresses. Each says what it expected.

use std::str::FromStr;

use chrono_tz::Tz;

use super::hints;
use super::model::{ChannelKind, Duration, Endpoint, Window};
use super::problem::Problem;

/// The longest duration accepted: ten years, far beyond any sensible window.
const MAX_SECS: u64 = 3650 * 86_400;

const UNITS_HELP: &str = "a duration is a whole number and a unit: s (seconds), m (minutes), \
                          h (hours), d (days) or w (weeks), e.g. `30m`, `4h`, `7d`, `1h30m`";

/// Parses `30m`, `4h`, `7d`, `2w`, `1h30m` or `0`.
pub(crate) fn duration(text: &str) -> Result<Duration, Problem> {
    duration_with_units(text, "smhdw")
}

/// Parses a duration whose units are limited to `units` (a string of unit letters).
pub(crate) fn duration_with_units(text: &str, units: &str) -> Result<Duration, Problem> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Problem::new("empty duration").help(UNITS_HELP));
    }
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return Err(Problem::new(format!("`{t}` has no unit")).help(format!(
            "write e.g. `{t}m` for minutes or `{t}h` for hours; {UNITS_HELP}"
        )));
    }
    let mut secs: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if number.is_empty() {
            return Err(Problem::new(format!("`{t}` is not a duration")).help(UNITS_HELP));
        }
        if unit.starts_with('.') || unit.starts_with(',') {
            return Err(Problem::new(format!("`{t}` has a fraction"))
                .help("use a smaller unit instead, e.g. `90m` rather than `1.5h`"));
        }
        let size = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "M" | "mo" | "month" | "months" => {
                return Err(
                    Problem::new(format!("`{unit}` (months) is not a duration unit"))
                        .at_slice(text, unit)
                        .help(
                            "months differ in length; use `window: month` for calendar months, \
                           or days such as `30d`",
                        ),
                );
            }
            "y" | "Y" | "year" | "years" => {
                return Err(
                    Problem::new(format!("`{unit}` (years) is not a duration unit"))
                        .at_slice(text, unit)
                        .help("write days, e.g. `365d`"),
                );
            }
            other => {
                let near = suggest_unit(other);
                return Err(Problem::new(format!("unknown duration unit `{other}`"))
                    .at_slice(text, other)
                    .help(match near {
                        Some(u) => format!("did you mean `{number}{u}`? {UNITS_HELP}"),
                        None => UNITS_HELP.to_owned(),
                    }));
            }
        };
        if !units.contains(unit) {
            return Err(Problem::new(format!("`{unit}` is too fine a unit here"))
                .at_slice(text, unit)
                .help(format!("use one of {}", hints::list(&units_list(units)))));
        }
        let n: u64 = number.parse().unwrap_or(u64::MAX);
        secs = n
            .checked_mul(size)
            .and_then(|v| secs.checked_add(v))
            .unwrap_or(u64::MAX);
        if secs > MAX_SECS {
            return Err(Problem::new(format!(
                "`{t}` is too long; the longest duration is 3650d"
            )));
        }
        rest = next;
    }
    Ok(Duration::from_secs(secs))
}

fn units_list(units: &str) -> Vec<&'static str> {
    ["s", "m", "h", "d", "w"]
        .into_iter()
        .filter(|u| units.contains(u))
        .collect()
}

fn suggest_unit(unit: &str) -> Option<&'static str> {
    let u = unit.trim().to_lowercase();
    Some(match u.as_str() {
        "sec" | "secs" | "second" | "seconds" => "s",
        "min" | "mins" | "minute" | "minutes" => "m",
        "hr" | "hrs" | "hour" | "hours" => "h",
        "day" | "days" => "d",
        "wk" | "wks" | "week" | "weeks" => "w",
        _ => return None,
    })
}

/// Parses `day`, `week`, `month`, `quarter` or `rolling 28d`.
pub(crate) fn window(text: &str) -> Result<Window, Problem> {
    const NAMES: [&str; 5] = ["day", "week", "month", "quarter", "rolling"];
    let t = text.trim();
    match t {
        "day" => return Ok(Window::Day),
        "week" => return Ok(Window::Week),
        "month" => return Ok(Window::Month),
        "quarter" => return Ok(Window::Quarter),
        _ => {}
    }
    let help = "a window is `day`, `week`, `month`, `quarter` or `rolling` and a length, \
                e.g. `rolling 28d`";
    if let Some(length) = t.strip_prefix("rolling") {
        let length = length.trim();
        if length.is_empty() {
            return Err(Problem::new("a rolling window needs a length").help("e.g. `rolling 28d`"));
        }
        let d = duration_with_units(length, "hdw").map_err(|p| p.within(text, length))?;
        if d == Duration::ZERO {
            return Err(Problem::new("a rolling window cannot be empty").at_slice(text, length));
        }
        return Ok(Window::Rolling(d));
    }
    if duration(t).is_ok() {
        return Err(Problem::new(format!("`{t}` is a length, not a window"))
            .help(format!("did you mean `rolling {t}`?")));
    }
    let lower = t.to_lowercase();
    let mut guess = crate::suggest::did_you_mean(&lower, NAMES);
    if guess.is_none() {
        guess = match lower.as_str() {
            "daily" | "today" => Some("day"),
            "weekly" => Some("week"),
            "monthly" => Some("month"),
            "quarterly" => Some("quarter"),
            _ => None,
        };
    }
    Err(match guess {
        Some("rolling") => Problem::new(format!("unknown window `{t}`")).help(help),
        Some(near) => Problem::new(format!("unknown window `{t}` — did you mean `{near}`?")),
        None => Problem::new(format!("unknown window `{t}`")).help(help),
    })
}

/// Checks a name of an objective, team or calendar: `[a-z0-9-]+`.
pub(crate) fn name(text: &str, what: &str) -> Result<(), Problem> {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Ok(());
    }
    let slug: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let p = Problem::new(if text.is_empty() {
        format!("empty {what} name")
    } else {
        format!("{what} name `{text}` may contain only lowercase letters, digits and `-`")
    });
    Err(if slug.is_empty() {
        p
    } else {
        p.help(format!("e.g. `{slug}`"))
    })
}

/// US and European abbreviations people write for a zone, and the zone they mean.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("ET", "America/New_York"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("CT", "America/Chicago"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("MT", "America/Denver"),
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("PT", "America/Los_Angeles"),
    ("HST", "Pacific/Honolulu"),
    ("BST", "Europe/London"),
    ("CEST", "Europe/Berlin"),
];

/// Parses an IANA time zone name.
pub(crate) fn timezone(text: &str) -> Result<Tz, Problem> {
    let t = text.trim();
    if let Some((_, city)) = ABBREVIATIONS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(t))
    {
        return Err(Problem::new(format!(
            "`{t}` is an abbreviation, not a time zone with daylight-saving rules"
        ))
        .help(format!("use a place name, e.g. `{city}`")));
    }
    if let Ok(tz) = Tz::from_str(t) {
        return Ok(tz);
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    Err(match crate::suggest::did_you_mean(t, names) {
        Some(near) => Problem::new(format!("unknown time zone `{t}` — did you mean `{near}`?")),
        None => Problem::new(format!("unknown time zone `{t}`"))
            .help("use an IANA name such as `America/New_York`, `Europe/Berlin` or `UTC`"),
    })
}

/// Checks the shape of an email address: something, `@`, something, no spaces.
pub(crate) fn email(text: &str) -> Result<(), Problem> {
    let ok = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !text
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::new(format!("`{text}` is not an email address"))
            .help("write a bare address, e.g. `sales-managers@acme.example`"))
    }
}

/// Looks up an environment variable; `None` when it is unset (or unreadable).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A team's webhook, Slack or Teams URL as written: each `${NAME}` is
/// replaced by the environment variable NAME (its value trimmed), and the
/// result must be an `http://` or `https://` URL with a host. No message
/// ever holds the expanded URL (a Slack webhook URL is a credential); they
/// name the variables instead.
pub(crate) fn endpoint(kind: ChannelKind, text: &str, env: Env) -> Result<Endpoint, Problem> {
    let written = text.trim();
    let (url, vars) = expand(text, written, env)?;
    let from_vars = match vars.as_slice() {
        [] => String::new(),
        [one] => format!(" (it comes from environment variable {one})"),
        many => format!(" (it comes from environment variables {})", and_list(many)),
    };
    let field = kind.as_str();
    let help = "write an `http://` or `https://` URL with a host, e.g. \
                `https://hooks.example/handoff`; the URL is not shown, as it may hold a secret";
    let bad = |what: &str| Problem::new(format!("the `{field}` URL {what}{from_vars}")).help(help);
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err(bad("does not start with `http://` or `https://`"));
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains spaces or control characters"));
    }
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    // Whatever comes before an `@` is a user name and password: never shown.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if !valid_host(host) {
        return Err(bad("has no valid host"));
    }
    let host = host.to_ascii_lowercase();
    Ok(Endpoint::new(kind, written, url.clone(), scheme, &host))
}

/// `written` (a trimmed slice of `text`) with each `${NAME}` replaced, and
/// the names replaced.
fn expand<'t>(text: &str, written: &'t str, env: Env) -> Result<(String, Vec<&'t str>), Problem> {
    const NAME_HELP: &str = "`${NAME}` is replaced by the environment variable NAME: letters, \
                             digits and `_`, not starting with a digit, e.g. `${SLACK_SALES_URL}`";
    let mut out = String::new();
    let mut vars = Vec::new();
    let mut rest = written;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(close) = after.find('}') else {
            return Err(Problem::new("`${` has no closing `}`")
                .at_slice(text, &rest[start..])
                .help(NAME_HELP));
        };
        let name = &after[..close];
        let whole = &rest[start..start + 2 + close + 1];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(
                Problem::new(format!("`{whole}` is not an environment variable"))
                    .at_slice(text, whole)
                    .help(NAME_HELP),
            );
        }
        match env(name).map(|v| v.trim().to_owned()) {
            Some(value) if !value.is_empty() => out.push_str(&value),
            _ => {
                return Err(
                    Problem::new(format!("environment variable {name} is not set"))
                        .at_slice(text, whole)
                        .help(format!(
                            "set {name} to the URL in the environment handoff runs in; \
                             an empty value counts as unset"
                        )),
                );
            }
        }
        if !vars.contains(&name) {
            vars.push(name);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok((out, vars))
}

/// A host name or address, with an optional port: `hooks.slack.com`,
/// `10.0.0.5:8080`, `[::1]:9000`.
fn valid_host(host: &str) -> bool {
    let port = match host.strip_prefix('[') {
        Some(v6) => {
            let Some((addr, after)) = v6.split_once(']') else {
                return false;
            };
            let addr_ok = !addr.is_empty()
                && addr
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            if !addr_ok {
                return false;
            }
            match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => return false,
            }
        }
        None => {
            let (name, port) = match host.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (host, None),
            };
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
            if !name_ok {
                return false;
            }
            port
        }
    };
    port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `a`, `b` and `c`, unquoted.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `30m`, `4h`, `7d`, `2w`, `1h30m` or `0`, as rule files write durations
/// (for command-line options).
impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Duration, String> {
        duration(s).map_err(|p| match p.help {
            Some(h) => format!("{}: {h}", p.message),
            None => p.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: &str) -> u64 {
        duration(t).unwrap().as_secs()
    }

    #[test]
    fn durations() {
        assert_eq!(secs("30m"), 1800);
        assert_eq!(secs("4h"), 14_400);
        assert_eq!(secs("7d"), 604_800);
        assert_eq!(secs("2w"), 1_209_600);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("0"), 0);
        assert_eq!(secs("0s"), 0);
        assert_eq!(duration("90m").unwrap().to_string(), "1h30m");
        assert_eq!(duration("28d").unwrap().to_string(), "28d");
    }

    #[test]
    fn duration_mistakes_are_explained() {
        assert_eq!(duration("30").unwrap_err().message, "`30` has no unit");
        let p = duration("1M").unwrap_err();
        assert_eq!(p.message, "`M` (months) is not a duration unit");
        assert_eq!(p.part, Some((1, 1)));
        assert_eq!(
            duration("1.5h").unwrap_err().message,
            "`1.5h` has a fraction"
        );
        assert!(
            duration("4hrs")
                .unwrap_err()
                .help
                .unwrap()
                .starts_with("did you mean `4h`?")
        );
        assert_eq!(duration("h").unwrap_err().message, "`h` is not a duration");
        assert!(duration("99999999999999999999d").is_err());
        assert!(duration("4 h").is_err());
    }

    #[test]
    fn windows() {
        assert_eq!(window("month").unwrap(), Window::Month);
        assert_eq!(
            window("rolling 28d").unwrap(),
            Window::Rolling(Duration::from_secs(28 * 86_400))
        );
        assert_eq!(window("rolling 2w").unwrap().to_string(), "rolling 14d");
        assert_eq!(
            window("monthly").unwrap_err().message,
            "unknown window `monthly` — did you mean `month`?"
        );
        assert_eq!(
            window("28d").unwrap_err().help.as_deref(),
            Some("did you mean `rolling 28d`?")
        );
        let p = window("rolling 30m").unwrap_err();
        assert_eq!(p.message, "`m` is too fine a unit here");
        assert_eq!(p.part, Some((10, 1)));
        assert_eq!(
            window("rolling").unwrap_err().message,
            "a rolling window needs a length"
        );
    }

    #[test]
    fn names_and_zones() {
        assert!(name("speed-to-lead", "objective").is_ok());
        let p = name("Speed To Lead", "objective").unwrap_err();
        assert_eq!(p.help.as_deref(), Some("e.g. `speed-to-lead`"));
        assert_eq!(
            timezone("America/New_York").unwrap(),
            chrono_tz::America::New_York
        );
        assert_eq!(
            timezone("America/New_Yrok").unwrap_err().message,
            "unknown time zone `America/New_Yrok` — did you mean `America/New_York`?"
        );
        assert_eq!(
            timezone("PST").unwrap_err().help.as_deref(),
            Some("use a place name, e.g. `America/Los_Angeles`")
        );
        assert!(email("a@b.example").is_ok());
        assert!(email("sales").is_err());
    }
}
