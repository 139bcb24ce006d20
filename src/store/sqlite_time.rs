//! How SQLite holds timestamps: fixed-width RFC 3339 text in UTC,
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
//!
//! SQLite has no timestamp type. A fixed width makes text order equal time order,
//! so `mql_at >= ? AND mql_at < ?` is a range scan on the index, and SQLite's own
//! date functions (`julianday`, `unixepoch`) read the format directly.

use chrono::{DateTime, NaiveDateTime, Utc};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Formats an instant the way the SQLite store keeps it.
pub fn format(t: DateTime<Utc>) -> String {
    t.format(FORMAT).to_string()
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
    fn parses_what_it_writes_and_common_forms() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T14:05:06.25+02:00")
            .unwrap()
            .to_utc();
        assert_eq!(parse(&format(t)), Some(t));
        assert_eq!(parse("2026-03-01 12:05:06.25"), Some(t));
        assert_eq!(parse("yesterday"), None);
    }
}
