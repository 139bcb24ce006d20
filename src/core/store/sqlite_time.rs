//! How SQLite holds timestamps: fixed-width RFC 3339 text in UTC,
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
//!
//! SQLite has no timestamp type. A fixed width makes text order equal time order,
//! so `mql_at >= ? AND mql_at < ?` is a range scan on the index, and SQLite's own
//! date functions (`julianday`, `unixepoch`) read the format directly.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Formats an instant the way the SQLite store keeps it.
///
/// Written out by hand: bulk loads format millions of timestamps, and chrono's
/// general formatter parses the pattern anew each time.
pub fn format(t: DateTime<Utc>) -> String {
    let (d, tm) = (t.date_naive(), t.time());
    let year = d.year();
    if !(0..=9999).contains(&year) {
        return t.format(FORMAT).to_string();
    }
    let mut buf = [0u8; 27];
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, d.month());
    put(8, 2, d.day());
    put(11, 2, tm.hour());
    put(14, 2, tm.minute());
    put(17, 2, tm.second());
    // A leap second shows as nanoseconds ≥ 1e9; keep it within the field.
    put(20, 6, (tm.nanosecond() / 1_000).min(999_999));
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'.';
    buf[26] = b'Z';
    String::from_utf8_lossy(&buf).into_owned()
}

/// Parses a stored timestamp. Besides the canonical form it accepts any RFC 3339
/// text and SQLite's own `YYYY-MM-DD HH:MM:SS[.fff]` (read as UTC), so that views
/// over other tables work too.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_time_order() {
        let a = DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .to_utc();
        let b = DateTime::parse_from_rfc3339("2026-03-01T09:00:00.000001Z")
            .unwrap()
            .to_utc();
        let c = DateTime::parse_from_rfc3339("2026-03-01T09:00:01Z")
            .unwrap()
            .to_utc();
        assert_eq!(format(a), "2026-03-01T09:00:00.000000Z");
        assert!(format(a) < format(b) && format(b) < format(c));
    }

    #[test]
    fn hand_formatting_matches_chrono() {
        for s in [
            "2026-03-01T09:00:00Z",
            "0999-12-31T23:59:59.999999Z",
            "2024-02-29T00:00:00.000001Z",
            "2026-11-25T15:04:05.5Z",
        ] {
            let t = DateTime::parse_from_rfc3339(s).unwrap().to_utc();
            assert_eq!(format(t), t.format(FORMAT).to_string());
        }
    }

    #[test]
    fn parses_what_it_writes_and_common_forms() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T14:05:06.25+02:00")
            .unwrap()
            .to_utc();
        assert_eq!(parse(&format(t)), Some(t));
        assert_eq!(parse("2026-03-01 12:05:06.25"), Some(t));
        assert_eq!(parse("yesterday"), None);
    }
}
