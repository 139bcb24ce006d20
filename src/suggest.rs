//! "Did you mean …?" for words a person typed: CSV headers, enum values, rule keys.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word_lower, &c.to_lowercase()),
                c,
            )
        })
        .filter(|&(d, c)| d <= 2.max(c.len() / 4) && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
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
}
