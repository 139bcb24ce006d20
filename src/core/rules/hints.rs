//! The small teaching texts that go with rule-file errors: field lists,
//! examples, lists for messages. (Near-miss spelling lives in `crate::suggest`.)

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
/// Only at the objective level: a test file's expectation has an `alert` field too,
/// which takes a state, not a block.
pub(crate) fn belongs_under(field: &str, expected: &[&str]) -> Option<&'static str> {
    (expected.contains(&"alert") && expected.contains(&"kind") && ALERT_FIELDS.contains(&field))
        .then_some("alert")
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
        "email" => {
            "say where the team's alerts go, e.g. `email: [sales-managers@acme.example]` or \
             `slack: ${SLACK_SALES_URL}`"
        }
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
    fn lists_read_like_prose() {
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
