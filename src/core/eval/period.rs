//! Windows: the calendar periods of docs/eval.md.
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

/// The period-close rule, the one the daemon, `handoff backtest` and the
/// demo's history follow: an objective with a calendar window evaluated at
/// `at`, whose last evaluation fell in the period starting `known`, closes
/// that period when `at` lies in a later one. The final figures of the
/// closed period are its evaluation at its end. Returns the period to close,
/// if one is due.
///
/// After the evaluation, the objective's known period moves to the one
/// containing `at` only if both the evaluation and the close (when one was
/// due) succeeded: see [`Step::after`]. A close that could not be measured is
/// tried again at the next evaluation, so no period's figures are skipped.
pub fn close_due(window: Window, tz: Tz, known: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Step {
    if !window.is_calendar_period() {
        return Step {
            close: None,
            current: None,
            known,
        };
    }
    let current = Period::containing(window, tz, at).start;
    let close = known
        .filter(|k| *k < current)
        .map(|k| Period::containing(window, tz, k));
    Step {
        close,
        current: Some(current),
        known,
    }
}

/// What [`close_due`] found: the period to close, if any, and where the
/// objective stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The period whose final figures are due.
    pub close: Option<Period>,
    /// The start of the period containing the evaluation (calendar windows).
    pub current: Option<DateTime<Utc>>,
    /// The start of the period of the last evaluation, before this one.
    pub known: Option<DateTime<Utc>>,
}

impl Step {
    /// The period the objective knows after this evaluation: the current one
    /// when the evaluation and any due close succeeded, else the one before.
    pub fn after(self, evaluated: bool, closed: bool) -> Option<DateTime<Utc>> {
        let close_ok = self.close.is_none() || closed;
        if evaluated && close_ok {
            self.current.or(self.known)
        } else {
            self.known
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
    fn a_period_closes_once_the_evaluation_lies_in_a_later_one() {
        let tz: Tz = "UTC".parse().unwrap();
        let nov = utc("2026-11-01T00:00:00Z");
        // First evaluation ever: nothing known, nothing to close.
        let s = close_due(Window::Month, tz, None, utc("2026-11-20T10:00:00Z"));
        assert_eq!(s.close, None);
        assert_eq!(s.after(true, false), Some(nov));
        assert_eq!(
            s.after(false, false),
            None,
            "a failed evaluation moves nothing"
        );
        // Still November: nothing to close.
        let s = close_due(Window::Month, tz, Some(nov), utc("2026-11-30T23:59:59Z"));
        assert_eq!(s.close, None);
        // 1 December: November closes, [1 Nov, 1 Dec).
        let s = close_due(Window::Month, tz, Some(nov), utc("2026-12-01T00:00:00Z"));
        assert_eq!(
            s.close,
            Some(Period {
                start: nov,
                end: utc("2026-12-01T00:00:00Z")
            })
        );
        assert_eq!(s.after(true, true), Some(utc("2026-12-01T00:00:00Z")));
        // The close failed: November stays known, and is closed next time.
        assert_eq!(s.after(true, false), Some(nov));
        // Rolling windows never close.
        let s = close_due(
            Window::Rolling(Duration::from_secs(86_400)),
            tz,
            None,
            utc("2026-12-01T00:00:00Z"),
        );
        assert_eq!((s.close, s.after(true, true)), (None, None));
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
