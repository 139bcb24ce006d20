//! Evaluation schedules: cron expressions, checked for the traps between cron
//! dialects before the `cron` crate sees them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};

use super::problem::Problem;

/// When an objective is evaluated: a cron expression with seconds.
///
/// Rule files may write classic 5-field cron (`*/15 * * * *`); it is stored with a
/// leading `0` seconds field. Fire times are computed in the objective's time zone.
#[derive(Clone)]
pub struct Schedule {
    text: String,
    cron: cron::Schedule,
}

impl Schedule {
    /// Parses and checks a schedule as a rule file writes it.
    ///
    /// # Errors
    ///
    /// Returns a message fit for the user when the expression is malformed, uses a
    /// numeric weekday (ambiguous between cron dialects), restricts both day fields,
    /// fires more than once a minute, has a year field, or never fires.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        parse(text).map_err(|p| p.message)
    }

    /// The expression as written in the rule file.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire time strictly after `after`, read in `after`'s time zone.
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>) -> Option<DateTime<Z>> {
        self.cron.after(after).next()
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Schedule").field(&self.text).finish()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

const SHORTHANDS: &[&str] = &["@hourly", "@daily", "@weekly", "@monthly", "@yearly"];

const FIELDS_HELP: &str = "cron with seconds has 6 fields: `sec min hour day-of-month month \
                           day-of-week`, e.g. `0 */15 * * * *`; classic 5-field cron \
                           (`*/15 * * * *`) also works";

pub(crate) fn parse(text: &str) -> Result<Schedule, Problem> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Problem::new("empty schedule").help(FIELDS_HELP));
    }
    if trimmed.starts_with('@') {
        if !SHORTHANDS.contains(&trimmed) {
            let mut p = Problem::new(format!("unknown schedule shorthand `{trimmed}`"));
            p = match crate::suggest::did_you_mean(trimmed, SHORTHANDS.iter().copied()) {
                Some(near) => p.help(format!("did you mean `{near}`?")),
                None => p.help(format!(
                    "the shorthands are {}",
                    super::hints::list(SHORTHANDS)
                )),
            };
            return Err(p);
        }
        return finish(text, trimmed.to_owned());
    }

    let fields: Vec<&str> = text.split_whitespace().collect();
    let six: Vec<&str> = match fields.len() {
        6 => fields.clone(),
        5 => std::iter::once("0").chain(fields.iter().copied()).collect(),
        7 => {
            return Err(Problem::new("a year field is not supported")
                .at_slice(text, fields[6])
                .help("a schedule runs for as long as the rule exists; remove the 7th field"));
        }
        n => {
            return Err(
                Problem::new(format!("expected 6 cron fields (or 5), found {n}")).help(FIELDS_HELP),
            );
        }
    };
    // Positions of the user's own fields, for pointing inside the expression.
    let own = |i: usize| -> Option<&str> {
        if fields.len() == 6 {
            fields.get(i).copied()
        } else {
            i.checked_sub(1).and_then(|j| fields.get(j).copied())
        }
    };
    let point = |p: Problem, i: usize| match own(i) {
        Some(f) => p.at_slice(text, f),
        None => p,
    };

    let seconds = six[0];
    if !seconds.chars().all(|c| c.is_ascii_digit()) {
        return Err(point(
            Problem::new(format!(
                "the seconds field `{seconds}` fires more than once a minute"
            ))
            .help(
                "an SLA is measured in minutes and hours; put one second in the first field, \
                   e.g. `0 */5 * * * *`",
            ),
            0,
        ));
    }

    let day_of_week = six[5];
    for part in day_of_week.split(',') {
        let range = part.split('/').next().unwrap_or(part);
        if range.chars().any(|c| c.is_ascii_digit()) {
            return Err(point(
                Problem::new(format!(
                    "numeric day-of-week `{day_of_week}` is ambiguous: classic cron counts \
                     0 = Sunday and 1 = Monday, handoff's cron counts 1 = Sunday"
                ))
                .help(format!(
                    "write days by name, e.g. `MON-FRI`, `SAT,SUN` or `MON`{}",
                    classic_names(day_of_week)
                        .map(|n| format!(" (in classic cron `{day_of_week}` is `{n}`)"))
                        .unwrap_or_default()
                )),
                5,
            ));
        }
    }

    let day_of_month = six[3];
    let restricted = |f: &str| f != "*" && f != "?";
    if restricted(day_of_month) && restricted(day_of_week) {
        return Err(point(
            Problem::new(format!(
                "both day-of-month `{day_of_month}` and day-of-week `{day_of_week}` are \
                 restricted: here both must match, while classic cron fires when either does"
            ))
            .help("restrict only one of the two day fields and put `*` in the other"),
            3,
        ));
    }

    finish(text, six.join(" "))
}

fn finish(text: &str, normalized: String) -> Result<Schedule, Problem> {
    let cron = cron::Schedule::from_str(&normalized).map_err(|e| {
        Problem::new(format!(
            "invalid cron expression: {}",
            strip_prefix(&e.to_string())
        ))
        .help(FIELDS_HELP)
    })?;
    if cron.upcoming(Utc).next().is_none() {
        return Err(Problem::new("this schedule never fires")
            .help("check the day and month fields, e.g. February has no 30th"));
    }
    Ok(Schedule {
        text: text.trim().to_owned(),
        cron,
    })
}

fn strip_prefix(message: &str) -> &str {
    message
        .strip_prefix("Invalid expression: ")
        .unwrap_or(message)
}

/// The classic-cron reading of a numeric day-of-week field, in names, when it is
/// simple enough to translate (`1-5` → `MON-FRI`).
fn classic_names(field: &str) -> Option<String> {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let name = |s: &str| s.parse::<usize>().ok().and_then(|n| NAMES.get(n).copied());
    let parts: Option<Vec<String>> = field
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => Some(format!("{}-{}", name(a)?, name(b)?)),
            None => name(part).map(str::to_owned),
        })
        .collect();
    parts.map(|p| p.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn problem(text: &str) -> Problem {
        parse(text)
            .err()
            .unwrap_or_else(|| panic!("`{text}` should be rejected"))
    }

    #[test]
    fn accepts_both_widths_and_shorthands() {
        for ok in [
            "0 */15 * * * *",
            "*/15 * * * *",
            "0 0 8 * * MON-FRI",
            "0 9 * * mon",
            "@daily",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {:?}", parse(ok).err());
        }
    }

    #[test]
    fn five_fields_fire_on_the_minute_in_the_given_zone() {
        let s = parse("30 8 * * MON-FRI").unwrap();
        let tz = chrono_tz::America::New_York;
        let friday_evening = tz.with_ymd_and_hms(2026, 3, 6, 18, 0, 0).unwrap();
        let next = s.next_after(&friday_evening).unwrap();
        assert_eq!(next, tz.with_ymd_and_hms(2026, 3, 9, 8, 30, 0).unwrap());
    }

    #[test]
    fn numeric_weekdays_are_refused_with_their_classic_names() {
        let p = problem("0 9 * * 1-5");
        assert!(
            p.message
                .starts_with("numeric day-of-week `1-5` is ambiguous"),
            "{}",
            p.message
        );
        assert_eq!(p.part, Some((8, 3)));
        assert!(
            p.help
                .unwrap()
                .contains("in classic cron `1-5` is `MON-FRI`")
        );
        assert_eq!(problem("0 0 9 * * 0").part, Some((10, 1)));
    }

    #[test]
    fn other_traps() {
        assert_eq!(problem("* * * * * *").part, Some((0, 1)));
        assert!(
            problem("0 0 9 1 * MON")
                .message
                .contains("both day-of-month")
        );
        assert_eq!(
            problem("0 0 0 1 1 * 2030").message,
            "a year field is not supported"
        );
        assert_eq!(problem("0 0 0 30 2 *").message, "this schedule never fires");
        assert_eq!(
            problem("0 0 9 * *  * *  *").message,
            "expected 6 cron fields (or 5), found 8"
        );
        assert!(
            problem("0 61 * * * *")
                .message
                .starts_with("invalid cron expression")
        );
        assert_eq!(
            problem("@dayly").help.as_deref(),
            Some("did you mean `@daily`?")
        );
    }
}
