//! Business-hours calendars: open hours per weekday and holidays, as rule files
//! define them, and the business-time arithmetic on them (docs/eval.md): a clock
//! that runs only in open hours. The open spans of each day are read in the
//! calendar's own time zone and turned into UTC instants with [`local_instant`],
//! so they follow daylight-saving changes as the wall clock does.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
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

    /// Whether the clock runs at `t`: `t` lies in an open span `[opens, closes)`
    /// of its local date, which is not a holiday.
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        // A span of the previous local day cannot reach past midnight.
        let date = t.with_timezone(&self.timezone).date_naive();
        self.open_spans(date)
            .any(|(open, close)| open <= t && t < close)
    }

    /// The instant `secs` seconds of open time after `from`: the clock runs only
    /// in open hours, not on holidays, and a start outside open hours waits for
    /// the next opening (so `add_open_secs(from, 0)` is `from` when open, else
    /// the next opening). `secs` that use up a span exactly end at its closing
    /// instant; a start at a closing instant waits for the next opening. `None`
    /// when there are no open hours within about ten years of `from`, or when
    /// `secs` does not fit an `i64`.
    pub fn add_open_secs(&self, from: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
        let mut left = chrono::TimeDelta::seconds(i64::try_from(secs).ok()?);
        // A span of the previous local day cannot reach past midnight, so the walk
        // starts on the local date of `from`.
        let mut date = from.with_timezone(&self.timezone).date_naive();
        for _ in 0..HORIZON_DAYS {
            for (open, close) in self.open_spans(date) {
                if close <= from {
                    continue;
                }
                let begin = open.max(from);
                let avail = close - begin;
                if left <= avail {
                    return Some(begin + left);
                }
                left -= avail;
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// The latest instant `s` with `secs` seconds of open time in `[s, to)`:
    /// the clock run backwards from `to`. A lead handed over before it has
    /// `secs` of open time behind it at `to`. `None` when there are not that
    /// many open seconds within about ten years before `to`.
    pub fn sub_open_secs(&self, to: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
        let mut left = chrono::TimeDelta::seconds(i64::try_from(secs).ok()?);
        let mut date = to.with_timezone(&self.timezone).date_naive();
        for _ in 0..HORIZON_DAYS {
            let spans: Vec<_> = self.open_spans(date).collect();
            for (open, close) in spans.into_iter().rev() {
                if open >= to {
                    continue;
                }
                let end = close.min(to);
                let avail = end - open;
                if left <= avail {
                    return Some(end - left);
                }
                left -= avail;
            }
            date = date.pred_opt()?;
        }
        None
    }

    /// Open seconds in `[from, to)`, holidays excluded; 0 when `to <= from`.
    /// Whole seconds: the sub-second part of each open stretch is dropped.
    pub fn open_secs_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut date = from.with_timezone(&self.timezone).date_naive();
        let last = to.with_timezone(&self.timezone).date_naive();
        while date <= last {
            for (open, close) in self.open_spans(date) {
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += (b - a).num_seconds();
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        total
    }

    /// The open spans of `date` (none on a holiday), as UTC instants.
    fn open_spans(
        &self,
        date: NaiveDate,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.hours_on(date).iter().map(move |h| {
            (
                local_secs(self.timezone, date, h.from),
                local_secs(self.timezone, date, h.until),
            )
        })
    }
}

/// The instant a wall clock in `tz` shows `secs` seconds after midnight of
/// `date` (86 400 is the next day's midnight), as [`local_instant`] reads it.
pub(crate) fn local_secs(tz: Tz, date: NaiveDate, secs: u32) -> DateTime<Utc> {
    let day = date + Days::new(u64::from(secs / 86_400));
    let time =
        NaiveTime::from_num_seconds_from_midnight_opt(secs % 86_400, 0).unwrap_or(NaiveTime::MIN);
    local_instant(tz, day.and_time(time))
}

/// How far ahead business-time arithmetic looks for open hours before giving up
/// (a calendar open on no day at all, or a run of holidays).
const HORIZON_DAYS: u64 = 3_700;

/// The instant a local wall-clock time names in `tz`. An ambiguous time (the
/// repeated hour when clocks go back) is its earlier instant; a time that does
/// not exist (the skipped hour when clocks go forward) is shifted forward by the
/// gap, as a wall clock would show it (02:30 → 03:30).
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.to_utc(),
        LocalResult::Ambiguous(a, _) => a.to_utc(),
        LocalResult::None => {
            // Gaps are at most a few hours; step back until the time exists and
            // carry the offset from before the gap forward.
            for h in 1..=4 {
                let before = local - chrono::TimeDelta::hours(h);
                if let Some(b) = tz.from_local_datetime(&before).earliest() {
                    return b.to_utc() + chrono::TimeDelta::hours(h);
                }
            }
            local.and_utc()
        }
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

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// `hours` on each of the weekdays `days` (0 = Monday), in New York, with
    /// the holidays `holidays`.
    fn new_york(days: &[usize], hours: &str, holidays: &[&str]) -> Calendar {
        let mut week: [Vec<OpenHours>; 7] = Default::default();
        for &d in days {
            week[d] = parse_hours(hours).unwrap();
        }
        let holidays = holidays.iter().map(|d| parse_date(d).unwrap()).collect();
        new(
            "office".to_owned(),
            chrono_tz::America::New_York,
            week,
            holidays,
        )
    }

    fn office() -> Calendar {
        new_york(&[0, 1, 2, 3, 4], "09:00-17:00", &["2026-11-26"])
    }

    #[test]
    fn open_time_runs_backwards_as_it_runs_forwards() {
        let cal = office();
        // Tuesday 24 Nov 10:30 EST back 1 h: 09:30, plain subtraction.
        assert_eq!(
            cal.sub_open_secs(utc("2026-11-24T15:30:00Z"), 3_600),
            Some(utc("2026-11-24T14:30:00Z"))
        );
        // Monday 30 Nov 10:00 EST back 4 h: 1 h on Monday, 3 h on Friday 27
        // Nov (14:00-17:00); the weekend does not count.
        assert_eq!(
            cal.sub_open_secs(utc("2026-11-30T15:00:00Z"), 4 * 3_600),
            Some(utc("2026-11-27T19:00:00Z"))
        );
        // Friday 27 Nov 10:00 back 2 h: 1 h on Friday, Thursday 26 Nov is a
        // holiday, so the other hour is Wednesday 16:00-17:00.
        assert_eq!(
            cal.sub_open_secs(utc("2026-11-27T15:00:00Z"), 7_200),
            Some(utc("2026-11-25T21:00:00Z"))
        );
        // At night: the clock stood still since the last closing.
        assert_eq!(
            cal.sub_open_secs(utc("2026-11-25T03:00:00Z"), 1_800),
            Some(utc("2026-11-24T21:30:00Z"))
        );
        // Its inverse: forward again from the instant found gives `to` back
        // when `to` is open.
        for (to, secs) in [
            ("2026-11-30T15:00:00Z", 14_400),
            ("2026-11-27T15:00:00Z", 7_200),
        ] {
            let s = cal.sub_open_secs(utc(to), secs).unwrap();
            assert_eq!(cal.add_open_secs(s, secs), Some(utc(to)));
            assert_eq!(cal.open_secs_between(s, utc(to)), secs as i64);
        }
    }

    #[test]
    fn open_time_runs_only_in_open_hours() {
        let cal = office();
        // Within open hours it is plain addition (Tuesday 2026-11-24, EST = UTC-5).
        assert_eq!(
            cal.add_open_secs(utc("2026-11-24T15:00:00Z"), 5_400),
            Some(utc("2026-11-24T16:30:00Z"))
        );
        // A start at night waits for the next opening: 03:00 + 0 is 09:00, + 1 h is 10:00.
        assert_eq!(
            cal.add_open_secs(utc("2026-11-24T08:00:00Z"), 0),
            Some(utc("2026-11-24T14:00:00Z"))
        );
        assert_eq!(
            cal.add_open_secs(utc("2026-11-24T08:00:00Z"), 3_600),
            Some(utc("2026-11-24T15:00:00Z"))
        );
        // Using up a span exactly ends at its closing; a start at the closing
        // waits for the next opening.
        assert_eq!(
            cal.add_open_secs(utc("2026-11-24T21:00:00Z"), 3_600),
            Some(utc("2026-11-24T22:00:00Z"))
        );
        assert_eq!(
            cal.add_open_secs(utc("2026-11-24T22:00:00Z"), 0),
            Some(utc("2026-11-25T14:00:00Z"))
        );
        // Wednesday 16:00 + 2 h: 1 h on Wednesday; Thursday 26 Nov is a holiday,
        // so the other hour is Friday 09:00-10:00.
        assert_eq!(
            cal.add_open_secs(utc("2026-11-25T21:00:00Z"), 7_200),
            Some(utc("2026-11-27T15:00:00Z"))
        );
        // Friday 16:30 + 1 h: 30 min on Friday, 30 on Monday, across a weekend when
        // the clocks change. Spring forward (8 Mar 2026): Monday is EDT, UTC-4.
        assert_eq!(
            cal.add_open_secs(utc("2026-03-06T21:30:00Z"), 3_600),
            Some(utc("2026-03-09T13:30:00Z"))
        );
        // Fall back (1 Nov 2026): Friday is EDT, Monday EST.
        assert_eq!(
            cal.add_open_secs(utc("2026-10-30T20:30:00Z"), 3_600),
            Some(utc("2026-11-02T14:30:00Z"))
        );
        // Sub-second parts of the start are kept.
        let t = utc("2026-11-24T15:00:00.250Z");
        assert_eq!(
            cal.add_open_secs(t, 60),
            Some(t + chrono::TimeDelta::seconds(60))
        );
    }

    #[test]
    fn open_time_needs_open_hours_in_reach() {
        let never = new_york(&[], "09:00-17:00", &[]);
        assert_eq!(never.add_open_secs(utc("2026-11-24T15:00:00Z"), 0), None);
        assert_eq!(
            never.open_secs_between(utc("2026-11-24T00:00:00Z"), utc("2026-12-24T00:00:00Z")),
            0
        );
        assert!(!never.is_open(utc("2026-11-24T15:00:00Z")));
        // Seconds beyond an i64 give no instant.
        assert_eq!(
            office().add_open_secs(utc("2026-11-24T15:00:00Z"), u64::MAX),
            None
        );
    }

    #[test]
    fn open_secs_between_counts_open_hours_only() {
        let cal = office();
        // The week of 23 Nov 2026, local midnight to local midnight: four open
        // days of 8 hours (Thursday is a holiday).
        assert_eq!(
            cal.open_secs_between(utc("2026-11-23T05:00:00Z"), utc("2026-11-30T05:00:00Z")),
            4 * 8 * 3_600
        );
        // Part of a span, and an empty or reversed range.
        assert_eq!(
            cal.open_secs_between(utc("2026-11-24T13:00:00Z"), utc("2026-11-24T15:30:00Z")),
            5_400
        );
        let t = utc("2026-11-24T15:00:00Z");
        assert_eq!(cal.open_secs_between(t, t), 0);
        assert_eq!(cal.open_secs_between(t, utc("2026-11-24T14:00:00Z")), 0);
        // Whole seconds: 1.5 s of open time count as 1.
        assert_eq!(
            cal.open_secs_between(utc("2026-11-24T15:00:00.500Z"), utc("2026-11-24T15:00:02Z")),
            1
        );
        // A week across the spring-forward change still has 5 × 8 open hours.
        assert_eq!(
            cal.open_secs_between(utc("2026-03-02T05:00:00Z"), utc("2026-03-09T04:00:00Z")),
            5 * 8 * 3_600
        );
        // But a calendar open all day has 23 hours on 8 March 2026 and 25 on 1 Nov.
        let always = new_york(&[0, 1, 2, 3, 4, 5, 6], "00:00-24:00", &[]);
        assert_eq!(
            always.open_secs_between(utc("2026-03-08T05:00:00Z"), utc("2026-03-09T04:00:00Z")),
            23 * 3_600
        );
        assert_eq!(
            always.open_secs_between(utc("2026-11-01T04:00:00Z"), utc("2026-11-02T05:00:00Z")),
            25 * 3_600
        );
        // Its clock runs straight through the skipped hour.
        assert_eq!(
            always.add_open_secs(utc("2026-03-08T06:30:00Z"), 3_600),
            Some(utc("2026-03-08T07:30:00Z"))
        );
    }

    #[test]
    fn is_open_agrees_with_the_clock() {
        let cal = new_york(
            &[0, 1, 2, 3, 4],
            "09:00-12:00, 13:00-17:00",
            &["2026-11-26"],
        );
        let start = utc("2026-11-22T00:00:00Z");
        for quarter in 0..(8 * 24 * 4) {
            let t = start + chrono::TimeDelta::minutes(15 * quarter);
            assert_eq!(cal.is_open(t), cal.add_open_secs(t, 0) == Some(t), "at {t}");
        }
        assert!(cal.is_open(utc("2026-11-25T14:00:00Z"))); // Wednesday 09:00
        assert!(!cal.is_open(utc("2026-11-25T17:30:00Z"))); // lunch
        assert!(!cal.is_open(utc("2026-11-25T22:00:00Z"))); // 17:00, closed
        assert!(!cal.is_open(utc("2026-11-26T15:00:00Z"))); // Thanksgiving
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
