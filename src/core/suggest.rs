//! "Did you mean …?" for words a person typed: CSV headers and values, rule
//! fields, time zones, team names.

/// The candidate closest to `word`, if it is close enough to be a likely typo:
/// a case difference, or an edit distance of about one in three letters.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = strsim::damerau_levenshtein(&lower, &candidate.to_lowercase());
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    let (distance, candidate) = best?;
    let allowed = (word.chars().count().max(candidate.chars().count()) / 3).max(1);
    (candidate != word && distance <= allowed && distance < candidate.chars().count())
        .then_some(candidate)
}

/// `, did you mean `x`?` or nothing, ready to append to a message.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_not_strangers() {
        let cols = ["created_at", "mql_at", "owner_id", "closed_at"];
        assert_eq!(did_you_mean("mql_ta", cols), Some("mql_at"));
        assert_eq!(did_you_mean("Created_At", cols), Some("created_at"));
        assert_eq!(did_you_mean("ownerid", cols), Some("owner_id"));
        assert_eq!(did_you_mean("revenue", cols), None);
        assert_eq!(did_you_mean("x", ["a"]), None);
    }

    #[test]
    fn finds_misspelled_rule_fields() {
        let fields = ["respond_within", "mature_after", "target", "window"];
        assert_eq!(
            did_you_mean("respnd_within", fields),
            Some("respond_within")
        );
        assert_eq!(did_you_mean("targt", fields), Some("target"));
        assert_eq!(did_you_mean("Window", fields), Some("window"));
        assert_eq!(did_you_mean("colour", fields), None);
        // A word that is right needs no suggestion.
        assert_eq!(did_you_mean("target", fields), None);
    }
}
