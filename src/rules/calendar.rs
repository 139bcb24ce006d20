//! Business-hours calendars: open hours per weekday and holidays, as rule files
//! define them. The business-time arithmetic that uses them lives with the
//! evaluator; this module only parses and holds them.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

use super::problem::Problem;

/// One span of open hours on a day: `[from, until)` in seconds after local
/// midnight, with `until` at most 86 400 (so `00:00-24:00` is the whole day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenHours {
    /// Opening, in seconds after midnight.
    pub from: u32,
    /// Closing, in seconds after midnight; greater than `from`.
    pub until: u32,
}

impl OpenHours {
    /// The opening time of day.
    pub fn opens(self) -> NaiveTime {
        NaiveTime::from_num_seconds_from_midnight_opt(self.from, 0).unwrap_or(NaiveTime::MIN)
    }

    /// The closing time of day, or `None` when it is midnight at the end of the day.
    pub fn closes(self) -> Option<NaiveTime> {
        NaiveTime::from_num_seconds_from_midnight_opt(self.until, 0).filter(|_| self.until < 86_400)
    }

    /// Seconds of open time.
    pub fn len_secs(self) -> u32 {
        self.until - self.from
    }
}

/// When a clock that counts business time runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    /// The name objectives refer to it by.
    pub name: String,
    /// The time zone its hours and holidays are read in: that of the file
    /// defining it.
    pub timezone: Tz,
    /// Open hours by weekday, Monday first; each day's spans sorted and disjoint.
    week: [Vec<OpenHours>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// The open hours on `day`, sorted and disjoint; empty when closed all day.
    pub fn hours(&self, day: Weekday) -> &[OpenHours] {
        &self.week[day.num_days_from_monday() as usize]
    }

    /// Whether `date` is a holiday (closed all day, whatever its weekday).
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }

    /// The open hours on `date`: none on a holiday, else its weekday's.
    pub fn hours_on(&self, date: NaiveDate) -> &[OpenHours] {
        use chrono::Datelike as _;
        if self.is_holiday(date) {
            &[]
        } else {
            self.hours(date.weekday())
        }
    }

    /// Open seconds in an ordinary week (no holidays).
    pub fn open_secs_per_week(&self) -> u64 {
        self.week
            .iter()
            .flatten()
            .map(|h| u64::from(h.len_secs()))
            .sum()
    }
}

/// Builds a calendar from already parsed parts.
pub(crate) fn new(
    name: String,
    timezone: Tz,
    week: [Vec<OpenHours>; 7],
    holidays: BTreeSet<NaiveDate>,
) -> Calendar {
    Calendar {
        name,
        timezone,
        week,
        holidays,
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LONG_DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The weekday (0 = Monday) named by `piece`, a part of the key `key`.
fn day(key: &str, piece: &str) -> Result<usize, Problem> {
    let name = piece.trim();
    let lower = name.to_lowercase();
    if let Some(i) = DAYS.iter().position(|d| *d == lower) {
        return Ok(i);
    }
    if let Some(i) = LONG_DAYS.iter().position(|d| *d == lower) {
        return Ok(i);
    }
    let all = DAYS.iter().chain(LONG_DAYS.iter()).copied();
    let p = match crate::suggest::did_you_mean(&lower, all) {
        Some(near) => {
            let near = LONG_DAYS
                .iter()
                .position(|d| *d == near)
                .map_or(near, |i| DAYS[i]);
            Problem::new(format!("unknown day `{name}` — did you mean `{near}`?"))
        }
        None => Problem::new(format!("unknown day `{name}`"))
            .help("days are `mon`, `tue`, `wed`, `thu`, `fri`, `sat` and `sun`"),
    };
    Err(p.at_slice(key, name))
}

/// The weekdays (0 = Monday) named by a key of `hours:`: `mon`, `mon-fri`,
/// `sat,sun` or a mix.
pub(crate) fn parse_days(key: &str) -> Result<Vec<usize>, Problem> {
    let mut days = Vec::new();
    for part in key.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(key, a)?, day(key, b)?);
                if a > b {
                    return Err(Problem::new(format!(
                        "day range `{}` runs backwards; ranges go from Monday to Sunday",
                        part.trim()
                    ))
                    .at_slice(key, part.trim())
                    .help("split it, e.g. `fri-sun` and `mon`"));
                }
                days.extend(a..=b);
            }
            None => days.push(day(key, part)?),
        }
    }
    Ok(days)
}

fn time(text: &str) -> Result<u32, Problem> {
    let t = text.trim();
    let bad = || {
        Problem::new(format!("`{t}` is not a time of day"))
            .help("write times as HH:MM on a 24-hour clock, e.g. `09:00-17:30`")
    };
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60)
}

/// Open hours as written: `09:00-17:00`, or several spans separated by commas.
pub(crate) fn parse_hours(text: &str) -> Result<Vec<OpenHours>, Problem> {
    let mut spans: Vec<(OpenHours, &str)> = Vec::new();
    for part in text.split(',') {
        let Some((a, b)) = part.split_once('-') else {
            return Err(
                Problem::new(format!("`{}` is not a span of hours", part.trim()))
                    .at_slice(text, part.trim())
                    .help("write open hours as `HH:MM-HH:MM`, e.g. `09:00-17:00`"),
            );
        };
        let from = time(a).map_err(|p| p.at_slice(text, a.trim()))?;
        let until = time(b).map_err(|p| p.at_slice(text, b.trim()))?;
        if from >= until {
            return Err(Problem::new(format!(
                "`{}` closes before it opens",
                part.trim()
            ))
            .at_slice(text, part.trim())
            .help("spans cannot cross midnight; end the day at `24:00` and start the next at `00:00`"));
        }
        spans.push((OpenHours { from, until }, part.trim()));
    }
    spans.sort_by_key(|(h, _)| *h);
    for pair in spans.windows(2) {
        if pair[1].0.from < pair[0].0.until {
            return Err(
                Problem::new(format!("`{}` overlaps `{}`", pair[1].1, pair[0].1))
                    .at_slice(text, pair[1].1),
            );
        }
    }
    Ok(spans.into_iter().map(|(h, _)| h).collect())
}

/// A holiday as written: `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, Problem> {
    let t = text.trim();
    let well_formed = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if well_formed => Ok(d),
        _ => Err(Problem::new(format!("`{t}` is not a date"))
            .help("write dates as YYYY-MM-DD, e.g. `2026-12-25`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_keys() {
        assert_eq!(parse_days("mon-fri").unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(parse_days("sat,Sun").unwrap(), vec![5, 6]);
        assert_eq!(parse_days("wednesday").unwrap(), vec![2]);
        let p = parse_days("mon-fir").unwrap_err();
        assert_eq!(p.message, "unknown day `fir` — did you mean `fri`?");
        assert_eq!(p.part, Some((4, 3)));
        assert_eq!(parse_days("fri-mon").unwrap_err().part, Some((0, 7)));
    }

    #[test]
    fn hours() {
        let h = parse_hours("13:00-17:00, 09:00-12:00").unwrap();
        assert_eq!(
            h,
            vec![
                OpenHours {
                    from: 9 * 3600,
                    until: 12 * 3600
                },
                OpenHours {
                    from: 13 * 3600,
                    until: 17 * 3600
                }
            ]
        );
        assert_eq!(parse_hours("00:00-24:00").unwrap()[0].closes(), None);
        let p = parse_hours("09:00-17:00, 16:00-18:00").unwrap_err();
        assert_eq!(p.message, "`16:00-18:00` overlaps `09:00-17:00`");
        assert_eq!(p.part, Some((13, 11)));
        assert_eq!(
            parse_hours("17:00-09:00").unwrap_err().message,
            "`17:00-09:00` closes before it opens"
        );
        assert_eq!(
            parse_hours("9-17").unwrap_err().message,
            "`9` is not a time of day"
        );
        assert_eq!(parse_hours("09:00-25:00").unwrap_err().part, Some((6, 5)));
    }

    #[test]
    fn dates() {
        assert!(parse_date("2026-12-25").is_ok());
        assert!(parse_date("2026-2-5").is_err());
        assert_eq!(
            parse_date("2026-13-01").unwrap_err().message,
            "`2026-13-01` is not a date"
        );
    }
}
