//! Windows and business time: the calendar arithmetic of DESIGN §4.
//!
//! Calendar periods are found in the rule's time zone and turned into UTC
//! instants at their local midnights, so a day with a daylight-saving change is
//! 23 or 25 hours long, as the wall clock says. Business time walks the
//! calendar's open spans day by day, each span converted to UTC the same way.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::rules::{Calendar, Window};

/// The half-open span `[start, end)` of a window at `t`.
///
/// For a calendar period, `end` is the end of the whole period (after `t`); the
/// measured part is `[start, t)`. For a rolling window, `end` is `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first instant of the window.
    pub start: DateTime<Utc>,
    /// The end of the whole period.
    pub end: DateTime<Utc>,
}

impl Period {
    /// The window of `window` containing `t`, read in `tz`.
    pub fn containing(window: Window, tz: Tz, t: DateTime<Utc>) -> Period {
        let today = t.with_timezone(&tz).date_naive();
        let (first, next) = match window {
            Window::Rolling(d) => {
                return Period {
                    start: t - d.to_chrono(),
                    end: t,
                };
            }
            Window::Day => (today, today + Days::new(1)),
            Window::Week => {
                let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
                (monday, monday + Days::new(7))
            }
            Window::Month => {
                let first = today.with_day(1).unwrap_or(today);
                (first, first + chrono::Months::new(1))
            }
            Window::Quarter => {
                let month = (today.month0() / 3) * 3 + 1;
                let first = NaiveDate::from_ymd_opt(today.year(), month, 1).unwrap_or(today);
                (first, first + chrono::Months::new(3))
            }
        };
        Period {
            start: local_midnight(tz, first),
            end: local_midnight(tz, next),
        }
    }
}

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

fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date.and_time(chrono::NaiveTime::MIN))
}

/// The open spans of `date` in `cal`, as UTC instants.
fn open_spans(
    cal: &Calendar,
    date: NaiveDate,
) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
    cal.hours_on(date).iter().map(move |h| {
        let at = |secs: u32| {
            let day = date + Days::new(u64::from(secs / 86_400));
            let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs % 86_400, 0)
                .unwrap_or(chrono::NaiveTime::MIN);
            local_instant(cal.timezone, day.and_time(time))
        };
        (at(h.from), at(h.until))
    })
}

/// How far ahead business-time arithmetic looks for open hours before giving up
/// (a calendar open on no day at all, or a run of holidays).
const HORIZON_DAYS: u64 = 3_700;

/// The instant `secs` seconds of open time after `from`: the clock runs only in
/// `cal`'s open hours, not on holidays, and a start outside open hours waits for
/// the next opening. `None` when the calendar has no open hours in reach.
pub fn add_business(cal: &Calendar, from: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
    let mut left = chrono::TimeDelta::seconds(i64::try_from(secs).ok()?);
    // A span of the previous local day cannot reach past midnight, so the walk
    // starts on the local date of `from`.
    let mut date = from.with_timezone(&cal.timezone).date_naive();
    for _ in 0..HORIZON_DAYS {
        for (open, close) in open_spans(cal, date) {
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

/// Open seconds of `cal` in `[from, to)`.
pub fn business_secs(cal: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    if to <= from {
        return 0;
    }
    let mut total = 0;
    let mut date = from.with_timezone(&cal.timezone).date_naive();
    let last = to.with_timezone(&cal.timezone).date_naive();
    while date <= last {
        for (open, close) in open_spans(cal, date) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Duration;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn calendar_periods_follow_local_midnights() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 2026-11-25 10:00 in New York (UTC−5).
        let t = utc("2026-11-25T15:00:00Z");
        let p = Period::containing(Window::Month, ny, t);
        assert_eq!(p.start, utc("2026-11-01T04:00:00Z")); // 1 Nov 00:00 EDT (UTC−4)
        assert_eq!(p.end, utc("2026-12-01T05:00:00Z")); // 1 Dec 00:00 EST
        let w = Period::containing(Window::Week, ny, t);
        assert_eq!(w.start, utc("2026-11-23T05:00:00Z")); // Monday
        let q = Period::containing(Window::Quarter, ny, t);
        assert_eq!(q.start, utc("2026-10-01T04:00:00Z"));
        assert_eq!(q.end, utc("2027-01-01T05:00:00Z"));
        // The day clocks go back (1 Nov 2026) is 25 hours long.
        let d = Period::containing(Window::Day, ny, utc("2026-11-01T12:00:00Z"));
        assert_eq!((d.end - d.start).num_hours(), 25);
        let r = Period::containing(Window::Rolling(Duration::from_secs(86_400)), ny, t);
        assert_eq!(r.start, utc("2026-11-24T15:00:00Z"));
        assert_eq!(r.end, t);
    }

    #[test]
    fn skipped_hours_shift_forward() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let local = NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        // 02:30 does not exist on 8 March 2026; it reads as 03:30 EDT = 07:30 UTC.
        assert_eq!(local_instant(ny, local), utc("2026-03-08T07:30:00Z"));
    }
}
