//! handoff's core: everything that reads or writes lead data, without the
//! command line, the daemon or mail (those are in the `handoff` crate, which
//! re-exports these modules under the same names).
//!
//! ```text
//! rule files ─► rules::RuleSet ─┐
//!                                ├─► eval ─► results
//! lead data ─► store::Store ────┘
//! ```
//!
//! Modules:
//!
//! - [`model`]: the canonical rows (`Rep`, `Lead`, `Touch`, `Deal`), their value
//!   types, and [`model::GroupBy`], shared by import, the demo, rules and the store.
//! - [`store`]: the SQL store on SQLite, PostgreSQL or MySQL/MariaDB behind one
//!   [`store::Store`]: migrations, batched upserts, the evaluator's reads, and
//!   handoff's own tables. The only module that speaks SQL.
//! - [`import`]: loading canonical CSV files, validating every row before any of a
//!   folder is committed; [`mapping`] reads CRM exports through a mapping file.
//! - [`demo`]: a deterministic synthetic company with planted SLA trouble, built
//!   through a store it is given, on the calendar of the rules it ships.
//! - [`rules`]: the YAML rule files: parsing, validation with located errors, the
//!   JSON Schema, business-hours calendars, and the immutable [`rules::RuleSet`].
//! - [`eval`]: the five measures (docs/eval.md): [`eval::run_objective`] runs one
//!   objective at one instant; the arithmetic on what the store returns is pure.
//! - [`ruletest`]: the format of rule unit tests (docs/TESTS.md): data, instants,
//!   changes and what must be found, loaded with located errors like rule files.
//! - [`codes`]: the words stored for statuses, alert states, severities and the
//!   notification log, each encoded and decoded in one place.
//! - [`when`]: reading the instants people type; [`suggest`]: did-you-mean;
//!   [`progress`]: progress reporting for long work.
//!
//! Invariants:
//!
//! - Nothing outside [`store`] builds SQL or asks which database it talks to, and
//!   nothing read from a rule file or a CSV file is ever spliced into SQL text:
//!   values are bound parameters.
//! - One function runs one objective, [`eval::run_objective`]; it never fails, it
//!   returns failure as data with a bounded reason.
//! - Every enum stored as text goes through [`codes::Code`]: an unknown stored
//!   word is an error on read, never mapped to some other value.
//! - Every timestamp is a UTC instant ([`chrono::DateTime<Utc>`]) with microsecond
//!   precision, on every backend.

pub mod codes;
pub mod demo;
pub mod eval;
pub mod import;
pub mod mapping;
pub mod model;
pub mod progress;
pub mod review;
pub mod rules;
pub mod ruletest;
pub mod store;
pub mod suggest;
pub mod when;

/// `s` as a POSIX shell word: unchanged when it needs no quoting, else in
/// single quotes, so that a command printed for a user to type works as
/// printed.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+,:@%=".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// An error and its causes as one line, `outer: inner: root`, each said once.
///
/// Some libraries' errors repeat their source's text in their own message
/// (sqlx's "error returned from database: X" has X as its source); a cause
/// whose text the line already ends with is left out. What a database server
/// said is given in its own words ([`store::server_said`]), without the
/// driver's decoration, and ends the line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(e);
    while let Some(c) = next {
        let (text, last) = match store::server_said(c) {
            Some(said) => (said, true),
            None => (store::own_words(c).unwrap_or_else(|| c.to_string()), false),
        };
        if !text.is_empty() && !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        if last {
            break;
        }
        next = c.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("my-rules/"), "my-rules/");
        assert_eq!(shell_word("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        assert_eq!(shell_word("my rules"), "'my rules'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
