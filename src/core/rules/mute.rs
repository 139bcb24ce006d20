//! Team mutes (`mute:` on a team, rules/README.md): the weekdays, times of
//! day and dates when a team's notices wait. Days and times are read in the
//! time zone of the file that defines the team and turned into UTC instants
//! with the calendar's [`local_instant`](super::local_instant), so a mute
//! follows daylight-saving changes as the wall clock does.

use chrono::{DateTime, Datelike as _, NaiveDate, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

use super::calendar::{OpenHours, local_secs, parse_date};
use super::model::Team;
use super::problem::Problem;

/// One entry of a team's `mute:`: it holds at an instant when every field it
/// has holds there, read in `timezone`. A field it lacks holds always.
#[derive(Clone, Debug, PartialEq)]
pub struct MuteTime {
    /// The zone its days and times are read in: that of the file defining the team.
    pub timezone: Tz,
    /// `weekdays:` the days it holds on, Monday first, without repeats.
    pub weekdays: Option<Vec<Weekday>>,
    /// `times:` the spans of the day it holds in, sorted and disjoint.
    pub times: Option<Vec<OpenHours>>,
    /// `dates:` inclusive ranges of dates (one day is `(d, d)`), sorted.
    pub dates: Option<Vec<(NaiveDate, NaiveDate)>>,
}

/// The whole day, for an entry without `times:`.
static WHOLE_DAY: [OpenHours; 1] = [OpenHours {
    from: 0,
    until: 86_400,
}];

/// How far ahead [`Team::mute_ends`] looks for the end of a mute.
const MUTE_HORIZON_DAYS: i64 = 400;

impl MuteTime {
    /// Whether the entry holds at `at`.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        self.span_at(at).is_some()
    }

    /// Whether the entry's `weekdays` and `dates` take in the local date `date`.
    pub fn holds_on(&self, date: NaiveDate) -> bool {
        self.weekdays
            .as_ref()
            .is_none_or(|w| w.contains(&date.weekday()))
            && self
                .dates
                .as_ref()
                .is_none_or(|d| d.iter().any(|&(from, to)| from <= date && date <= to))
    }

    /// The span `[start, end)` of the entry that holds at `at`, as instants.
    /// A span of the day before cannot reach past midnight, so only the
    /// spans of the local date of `at` are looked at.
    fn span_at(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let date = at.with_timezone(&self.timezone).date_naive();
        if !self.holds_on(date) {
            return None;
        }
        let spans = self.times.as_deref().unwrap_or(&WHOLE_DAY);
        spans
            .iter()
            .map(|h| {
                (
                    local_secs(self.timezone, date, h.from),
                    local_secs(self.timezone, date, h.until),
                )
            })
            .find(|&(start, end)| start <= at && at < end)
    }
}

impl Team {
    /// Whether the team is muted at `at`: some entry of its `mute:` holds.
    pub fn muted_at(&self, at: DateTime<Utc>) -> bool {
        self.mute.iter().any(|m| m.holds(at))
    }

    /// When the mute that holds at `at` ends: the first instant after `at` at
    /// which the team is no longer muted, across adjoining entries and days
    /// (a weekend mute and a holiday range that follows it are one mute).
    /// `None` when the team is not muted at `at`, or when the mute still
    /// holds 400 days later (a mute every day, all day).
    ///
    /// Steps from span end to span end, not minute by minute.
    pub fn mute_ends(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let limit = at + TimeDelta::days(MUTE_HORIZON_DAYS);
        let mut t = at;
        loop {
            // Muted through the end of the longest span that holds at `t`:
            // each span holding at `t` ends after it, so `t` moves on.
            t = self
                .mute
                .iter()
                .filter_map(|m| m.span_at(t))
                .map(|(_, end)| end)
                .max()?;
            if t > limit {
                return None;
            }
            if !self.muted_at(t) {
                return Some(t);
            }
        }
    }
}

/// The weekdays a `weekdays:` value names (`mon`, `mon-fri`, `sat,sun`),
/// Monday first, without repeats.
pub(crate) fn parse_weekdays(text: &str) -> Result<Vec<Weekday>, Problem> {
    let mut days = super::calendar::parse_days(text)?;
    days.sort_unstable();
    days.dedup();
    Ok(days
        .into_iter()
        .filter_map(|d| u8::try_from(d).ok().and_then(|d| Weekday::try_from(d).ok()))
        .collect())
}

/// A `dates:` item: `YYYY-MM-DD`, or an inclusive range
/// `YYYY-MM-DD..YYYY-MM-DD` whose end is not before its start.
pub(crate) fn parse_date_range(text: &str) -> Result<(NaiveDate, NaiveDate), Problem> {
    let Some((a, b)) = text.split_once("..") else {
        let d = parse_date(text).map_err(|p| {
            p.help("write a date as YYYY-MM-DD, or a range as `2026-12-24..2026-12-26`")
        })?;
        return Ok((d, d));
    };
    let (a, b) = (a.trim(), b.trim());
    let from = parse_date(a).map_err(|p| p.at_slice(text, a))?;
    let to = parse_date(b).map_err(|p| p.at_slice(text, b))?;
    if to < from {
        return Err(
            Problem::new(format!("the range `{}` ends before it starts", text.trim()))
                .help(format!("write the earlier date first: `{b}..{a}`")),
        );
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::calendar::parse_hours;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    /// An entry in Berlin; `None` leaves a field out.
    fn entry(weekdays: Option<&str>, times: Option<&str>, dates: &[&str]) -> MuteTime {
        MuteTime {
            timezone: chrono_tz::Europe::Berlin,
            weekdays: weekdays.map(|w| parse_weekdays(w).unwrap()),
            times: times.map(|t| parse_hours(t).unwrap()),
            dates: (!dates.is_empty())
                .then(|| dates.iter().map(|d| parse_date_range(d).unwrap()).collect()),
        }
    }

    fn team(mute: Vec<MuteTime>) -> Team {
        Team {
            name: "sales".to_owned(),
            email: vec!["sales@acme.example".to_owned()],
            webhook: Vec::new(),
            slack: Vec::new(),
            msteams: Vec::new(),
            mute,
            origin: crate::rules::Origin {
                file: "t.yaml".into(),
                line: 1,
            },
        }
    }

    #[test]
    fn weekdays_and_dates_parse() {
        assert_eq!(
            parse_weekdays("sat,sun,sat").unwrap(),
            vec![Weekday::Sat, Weekday::Sun]
        );
        assert_eq!(parse_weekdays("mon-fri").unwrap().len(), 5);
        assert_eq!(
            parse_date_range("2026-12-24").unwrap(),
            (date("2026-12-24"), date("2026-12-24"))
        );
        assert_eq!(
            parse_date_range("2026-12-24 .. 2026-12-28").unwrap(),
            (date("2026-12-24"), date("2026-12-28"))
        );
        let p = parse_date_range("2026-12-28..2026-12-24").unwrap_err();
        assert_eq!(
            p.message,
            "the range `2026-12-28..2026-12-24` ends before it starts"
        );
        assert_eq!(
            p.help.as_deref(),
            Some("write the earlier date first: `2026-12-24..2026-12-28`")
        );
        // The bad half is pointed at: characters 12 to 21.
        let p = parse_date_range("2026-12-24..2026-13-01").unwrap_err();
        assert_eq!(p.message, "`2026-13-01` is not a date");
        assert_eq!(p.part, Some((12, 10)));
        assert!(parse_date_range("24.12.2026").is_err());
    }

    #[test]
    fn every_field_an_entry_has_must_hold() {
        // Weekday evenings, 19:00-24:00 Berlin time; January is CET (UTC+1).
        let e = entry(Some("mon-fri"), Some("19:00-24:00"), &[]);
        assert!(e.holds(utc("2026-01-13T18:00:00Z"))); // Tue 19:00
        assert!(e.holds(utc("2026-01-13T22:59:59Z"))); // Tue 23:59:59
        assert!(!e.holds(utc("2026-01-13T17:59:59Z"))); // Tue 18:59:59
        assert!(!e.holds(utc("2026-01-13T23:00:00Z"))); // Wed 00:00: a new day
        assert!(!e.holds(utc("2026-01-17T18:30:00Z"))); // Sat 19:30: not a weekday

        // Weekdays only: the whole of Saturday and Sunday, local time.
        let weekend = entry(Some("sat,sun"), None, &[]);
        assert!(!weekend.holds(utc("2026-01-16T22:59:59Z"))); // Fri 23:59:59
        assert!(weekend.holds(utc("2026-01-16T23:00:00Z"))); // Sat 00:00
        assert!(weekend.holds(utc("2026-01-18T22:59:59Z"))); // Sun 23:59:59
        assert!(!weekend.holds(utc("2026-01-18T23:00:00Z"))); // Mon 00:00

        // Dates and times: mornings of 24-26 Dec, both ends included.
        let e = entry(None, Some("00:00-12:00"), &["2026-12-24..2026-12-26"]);
        assert!(!e.holds(utc("2026-12-23T10:00:00Z"))); // 23 Dec 11:00
        assert!(e.holds(utc("2026-12-24T10:00:00Z"))); // 24 Dec 11:00
        assert!(e.holds(utc("2026-12-26T10:59:59Z"))); // 26 Dec 11:59:59
        assert!(!e.holds(utc("2026-12-26T11:00:00Z"))); // 26 Dec 12:00
        assert!(!e.holds(utc("2026-12-27T10:00:00Z"))); // 27 Dec 11:00

        // Weekday and date: 24-31 Dec, but only its weekend (26, 27 Dec).
        let e = entry(Some("sat,sun"), None, &["2026-12-24..2026-12-31"]);
        assert!(!e.holds(utc("2026-12-24T12:00:00Z"))); // Thursday
        assert!(e.holds(utc("2026-12-26T12:00:00Z"))); // Saturday
        assert!(e.holds(utc("2026-12-27T12:00:00Z"))); // Sunday
        assert!(!e.holds(utc("2026-12-28T12:00:00Z"))); // Monday
        assert!(!e.holds(utc("2027-01-02T12:00:00Z"))); // a Saturday after the range

        // Single dates and a list of them.
        let e = entry(None, None, &["2026-05-01", "2026-10-03"]);
        assert!(e.holds(utc("2026-05-01T12:00:00Z")));
        assert!(e.holds(utc("2026-10-03T12:00:00Z")));
        assert!(!e.holds(utc("2026-05-02T12:00:00Z")));
    }

    #[test]
    fn a_team_is_muted_when_any_entry_holds() {
        let t = team(vec![
            entry(Some("sat,sun"), None, &[]),
            entry(None, None, &["2026-12-24..2026-12-28"]),
        ]);
        assert!(t.muted_at(utc("2026-12-19T12:00:00Z"))); // a Saturday
        assert!(t.muted_at(utc("2026-12-24T12:00:00Z"))); // Thursday in the range
        assert!(!t.muted_at(utc("2026-12-22T12:00:00Z"))); // a Tuesday
        assert!(!team(Vec::new()).muted_at(utc("2026-12-19T12:00:00Z")));
    }

    #[test]
    fn mutes_follow_the_wall_clock_across_daylight_saving_changes() {
        // Nights until 08:00 Berlin time. 29 Mar 2026: 02:00 CET becomes 03:00
        // CEST, so local midnight is 23:00Z the day before and 08:00 is
        // 06:00Z: a night of 7 hours. The night before ends at 08:00 CET, 07:00Z.
        let t = team(vec![entry(None, Some("00:00-08:00"), &[])]);
        assert!(t.muted_at(utc("2026-03-28T06:59:59Z")));
        assert!(!t.muted_at(utc("2026-03-28T07:00:00Z")));
        assert!(!t.muted_at(utc("2026-03-28T22:59:59Z"))); // Sat 23:59:59 CET
        assert!(t.muted_at(utc("2026-03-28T23:00:00Z"))); // Sun 00:00 CET
        assert!(t.muted_at(utc("2026-03-29T05:59:59Z"))); // 07:59:59 CEST
        assert!(!t.muted_at(utc("2026-03-29T06:00:00Z"))); // 08:00 CEST
        assert_eq!(
            t.mute_ends(utc("2026-03-29T01:30:00Z")),
            Some(utc("2026-03-29T06:00:00Z"))
        );
        // 25 Oct 2026: 03:00 CEST becomes 02:00 CET, so midnight is 22:00Z
        // the day before and 08:00 CET is 07:00Z: a night of 9 hours.
        assert!(t.muted_at(utc("2026-10-24T22:00:00Z")));
        assert!(!t.muted_at(utc("2026-10-24T21:59:59Z")));
        assert_eq!(
            t.mute_ends(utc("2026-10-24T22:00:00Z")),
            Some(utc("2026-10-25T07:00:00Z"))
        );
        // The hour that does not exist on 29 Mar (02:00-03:00) is never muted:
        // both ends name 03:00 CEST, 01:00Z.
        let skipped = team(vec![entry(None, Some("02:00-03:00"), &[])]);
        assert!(!skipped.muted_at(utc("2026-03-29T00:59:59Z"))); // 01:59:59 CET
        assert!(!skipped.muted_at(utc("2026-03-29T01:00:00Z"))); // 03:00 CEST
        assert!(skipped.muted_at(utc("2026-03-30T00:30:00Z"))); // Mon 02:30 CEST
    }

    #[test]
    fn a_mute_ends_at_its_last_span_across_midnight() {
        // Weekday nights, written as two spans because a span cannot wrap
        // midnight. January is CET (UTC+1).
        let t = team(vec![entry(
            Some("mon-fri"),
            Some("19:00-24:00, 00:00-07:00"),
            &[],
        )]);
        // Tue 20:00 → Wed 07:00 CET (06:00Z): the evening span ends at
        // midnight, where Wednesday's morning span begins.
        assert_eq!(
            t.mute_ends(utc("2026-01-13T19:00:00Z")),
            Some(utc("2026-01-14T06:00:00Z"))
        );
        // Wed 06:59 is the same night, still ending at 07:00.
        assert_eq!(
            t.mute_ends(utc("2026-01-14T05:59:00Z")),
            Some(utc("2026-01-14T06:00:00Z"))
        );
        // Fri 20:00 → Sat 00:00 CET: Saturday is no weekday, so its morning
        // is not muted.
        assert_eq!(
            t.mute_ends(utc("2026-01-16T19:00:00Z")),
            Some(utc("2026-01-16T23:00:00Z"))
        );
        // Not muted: no end.
        assert_eq!(t.mute_ends(utc("2026-01-13T12:00:00Z")), None);
    }

    #[test]
    fn a_mute_ends_after_a_weekend_and_the_holidays_that_follow() {
        let t = team(vec![
            entry(Some("sat,sun"), None, &[]),
            entry(None, None, &["2026-12-24..2026-12-28"]),
        ]);
        // Sat 19 Dec 11:00 CET → Mon 21 Dec 00:00 CET (20 Dec 23:00Z).
        assert_eq!(
            t.mute_ends(utc("2026-12-19T10:00:00Z")),
            Some(utc("2026-12-20T23:00:00Z"))
        );
        // Thu 24 Dec: the range (Thu 24 to Mon 28, inclusive) runs into the
        // weekend (26, 27) and past it to the end of Monday 28: Tue 29 Dec
        // 00:00 CET is 28 Dec 23:00Z.
        assert_eq!(
            t.mute_ends(utc("2026-12-24T08:00:00Z")),
            Some(utc("2026-12-28T23:00:00Z"))
        );
        // Muted at its last instant, the end is one second on.
        assert_eq!(
            t.mute_ends(utc("2026-12-28T22:59:59Z")),
            Some(utc("2026-12-28T23:00:00Z"))
        );
        assert!(!t.muted_at(utc("2026-12-28T23:00:00Z")));
    }

    #[test]
    fn a_mute_that_never_ends_has_no_end() {
        let t = team(vec![entry(None, Some("00:00-24:00"), &[])]);
        assert!(t.muted_at(utc("2026-01-13T12:00:00Z")));
        assert_eq!(t.mute_ends(utc("2026-01-13T12:00:00Z")), None);
        // A long run of dates does end, within the horizon.
        let t = team(vec![entry(None, None, &["2026-01-01..2026-06-30"])]);
        // 1 Jul 2026 00:00 CEST is 30 Jun 22:00Z.
        assert_eq!(
            t.mute_ends(utc("2026-01-13T12:00:00Z")),
            Some(utc("2026-06-30T22:00:00Z"))
        );
    }
}
