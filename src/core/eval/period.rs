//! Windows: the calendar periods of DESIGN §4.
//!
//! Calendar periods are found in the rule's time zone and turned into UTC
//! instants at their local midnights, so a day with a daylight-saving change is
//! 23 or 25 hours long, as the wall clock says. Business time (open hours and
//! holidays) is the calendar's own arithmetic: [`crate::rules::Calendar`].

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::rules::Window;
/// The instant a local wall-clock time names in a time zone; it lives with the
/// calendars, whose open spans are converted the same way.
pub use crate::rules::local_instant;

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

fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date.and_time(chrono::NaiveTime::MIN))
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
