//! Instants typed on the command line (`eval --at`, `demo --end`): what people
//! write, not only RFC 3339.
//!
//! - `2026-11-20T14:30:00Z`, `2026-11-20T09:30:00-05:00`: that instant;
//! - `2026-11-20T09:30`, `2026-11-20 09:30`, `2026-11-20T09:30:15`: that wall
//!   time in the zone the command reads times in (the rules' time zone);
//! - `2026-11-20`: midnight starting that day, in that zone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;

/// An instant as typed: exact, or a wall time to read in a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// With its offset: that instant.
    Exact(DateTime<FixedOffset>),
    /// A date and perhaps a time, without an offset.
    Local(NaiveDateTime),
}

/// What to write, for messages and `--help`.
pub const FORMS: &str = "2026-11-20 (midnight), 2026-11-20T09:30 (a wall time in the rules' \
time zone) or 2026-11-20T14:30:00Z / 2026-11-20T09:30:00-05:00 (an exact instant)";

impl std::str::FromStr for When {
    type Err = String;

    fn from_str(s: &str) -> Result<When, String> {
        let t = s.trim();
        if let Ok(exact) = DateTime::parse_from_rfc3339(t) {
            return Ok(When::Exact(exact));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(t, format) {
                return Ok(When::Local(local));
            }
        }
        if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(When::Local(
                day.and_hms_opt(0, 0, 0).expect("midnight exists"),
            ));
        }
        Err(format!("`{s}` is not a date or time; write {FORMS}"))
    }
}

impl When {
    /// The instant, reading a wall time in `tz`. A wall time that a daylight
    /// saving change skips is an error; one it repeats is the earlier.
    ///
    /// # Errors
    ///
    /// The wall time does not exist in `tz`.
    pub fn resolve(self, tz: Tz) -> Result<DateTime<Utc>, String> {
        match self {
            When::Exact(t) => Ok(t.to_utc()),
            When::Local(local) => tz
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.to_utc())
                .ok_or_else(|| {
                    format!(
                        "{} does not exist in {} (the clocks skip it); write a later time or an exact instant such as {}Z",
                        local.format("%Y-%m-%d %H:%M"),
                        tz.name(),
                        local.format("%Y-%m-%dT%H:%M:%S")
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn what_people_type_is_read_in_the_rules_zone() {
        let ny = chrono_tz::America::New_York;
        let at = |s: &str| s.parse::<When>().unwrap().resolve(ny).unwrap();
        assert_eq!(at("2026-11-20"), utc("2026-11-20T05:00:00Z"));
        assert_eq!(at("2026-11-20T09:30"), utc("2026-11-20T14:30:00Z"));
        assert_eq!(at("2026-11-20 09:30"), utc("2026-11-20T14:30:00Z"));
        assert_eq!(at("2026-07-01T09:30:15"), utc("2026-07-01T13:30:15Z"));
        assert_eq!(at("2026-11-20T14:30:00Z"), utc("2026-11-20T14:30:00Z"));
        assert_eq!(at("2026-11-20T09:30:00-05:00"), utc("2026-11-20T14:30:00Z"));
        // 01:30 on 1 November 2026 happens twice in New York: the first.
        assert_eq!(at("2026-11-01T01:30"), utc("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn mistakes_say_what_to_type() {
        for bad in ["notadate", "2026-13-01", "20/11/2026", "2026-11-20T25:00"] {
            let e = bad.parse::<When>().unwrap_err();
            assert!(e.contains(bad) && e.contains("2026-11-20T09:30"), "{e}");
        }
        let e = "2026-03-08T02:30"
            .parse::<When>()
            .unwrap()
            .resolve(chrono_tz::America::New_York)
            .unwrap_err();
        assert!(e.contains("does not exist in America/New_York"), "{e}");
    }
}
