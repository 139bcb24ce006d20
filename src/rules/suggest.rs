//! Near-miss suggestions and the small teaching texts that go with errors.

/// The candidate closest to `word`, if it is close enough to be a likely typo
/// (a case difference, or an edit distance of about one in three letters).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = if candidate.to_lowercase() == lower {
            0
        } else {
            strsim::damerau_levenshtein(&lower, &candidate.to_lowercase())
        };
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    let (distance, candidate) = best?;
    let allowed = (word.chars().count().max(candidate.chars().count()) / 3).max(1);
    (candidate != word && distance <= allowed).then_some(candidate)
}

/// `a`, `b` and `c`, for a message.
pub(crate) fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The fields of an objective's `alert:` block.
pub(crate) const ALERT_FIELDS: &[&str] = &[
    "for",
    "keep_firing_for",
    "notify",
    "repeat",
    "send_resolved",
    "on_error",
    "on_no_data",
];

/// When a field is unknown here but is a field of a block that is allowed here,
/// the name of that block (`repeat` at the objective level belongs under `alert:`).
pub(crate) fn belongs_under(field: &str, expected: &[&str]) -> Option<&'static str> {
    (expected.contains(&"alert") && ALERT_FIELDS.contains(&field)).then_some("alert")
}

/// A one-line example of a required field, shown when it is missing.
pub(crate) fn example_for(field: &str) -> Option<&'static str> {
    Some(match field {
        "version" => "every rule file starts with `version: 1`",
        "name" => "name the objective, e.g. `name: speed-to-lead` (lowercase letters, digits, `-`)",
        "kind" => {
            "say what is measured: `kind: lead_volume`, `lead_quality`, `percent_worked`, \
             `contact_attempts` or `profitability`"
        }
        "owner" => "name the accountable team, e.g. `owner: sales` or `owner: [sales, marketing]`",
        "schedule" => {
            "say when to evaluate, as cron with seconds, e.g. `schedule: \"0 */15 * * * *\"` \
             (every 15 minutes)"
        }
        "email" => "say where the team's alerts go, e.g. `email: [sales-managers@acme.example]`",
        "hours" => "give the open hours, e.g. `hours: { mon-fri: \"09:00-17:00\" }`",
        "hourly_cost" => "e.g. `cost_per_attempt: { hourly_cost: 45, attempts_per_hour: 10 }`",
        "attempts_per_hour" => {
            "e.g. `cost_per_attempt: { hourly_cost: 45, attempts_per_hour: 10 }`"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_but_not_strangers() {
        let fields = ["respond_within", "mature_after", "target", "window"];
        assert_eq!(closest("respnd_within", fields), Some("respond_within"));
        assert_eq!(closest("targt", fields), Some("target"));
        assert_eq!(closest("Window", fields), Some("window"));
        assert_eq!(closest("colour", fields), None);
        assert_eq!(closest("target", fields), None);
    }

    #[test]
    fn lists_read_like_prose() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
