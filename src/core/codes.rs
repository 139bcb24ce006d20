//! The words handoff stores: every enum that crosses the store boundary as
//! text, each encoded and decoded in one place.
//!
//! A row carries typed values ([`Status`], [`State`], [`Severity`], …); the
//! store writes [`Code::as_str`] and reads with [`Code::parse`]. A stored word
//! that is none of a type's words is an error when the row is read, naming the
//! column and the word: it is never taken for some other value, so a database
//! written by a newer release, or edited by hand, is refused rather than
//! misread.

use std::fmt;

use serde::{Serialize, Serializer};

pub use crate::eval::Status;

/// A closed set of words, as stored and shown.
pub trait Code: Sized + Copy + 'static {
    /// What a value is, for errors ("alert state").
    const WHAT: &'static str;
    /// Every value.
    const ALL: &'static [Self];

    /// The stored word.
    fn as_str(self) -> &'static str;

    /// The value a stored word names; `None` for a word that is none of them.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// The value a stored word names, or an error that quotes the word and
    /// lists the words known.
    fn decode(s: &str) -> Result<Self, UnknownCode> {
        Self::parse(s).ok_or_else(|| UnknownCode {
            what: Self::WHAT,
            word: s.to_owned(),
            known: Self::ALL.iter().map(|x| x.as_str()).collect(),
        })
    }
}

/// A stored word that is none of its type's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode {
    pub what: &'static str,
    pub word: String,
    pub known: Vec<&'static str>,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}` (known: {})",
            self.what,
            self.word,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownCode {}

impl Code for Status {
    const WHAT: &'static str = "status";
    const ALL: &'static [Status] = &Status::ALL;

    fn as_str(self) -> &'static str {
        Status::as_str(self)
    }
}

/// Declares an enum of stored words, with its [`Code`], `Display` and
/// `Serialize` (as the word).
macro_rules! codes {
    ($(#[$meta:meta])* pub enum $name:ident ($what:literal) {
        $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The stored word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The value a stored word names.
            pub fn parse(s: &str) -> Option<$name> {
                <$name as Code>::parse(s)
            }
        }

        impl Code for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [$name] = &[$($name::$variant,)+];

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

codes! {
    /// Where an alert series stands (docs/DAEMON.md, "Alerts").
    #[derive(Default)]
    pub enum State ("alert state") {
        /// No problem (or none that lasted).
        #[default]
        Inactive = "inactive",
        /// A problem, held for `for` before it fires.
        Pending = "pending",
        /// The alert is raised.
        Firing = "firing",
    }
}

codes! {
    /// How bad a problem is.
    pub enum Severity ("severity") {
        /// `at_risk`, or no data where `on_no_data: alert`.
        Warning = "warning",
        /// `breached`, or evaluations failing.
        Critical = "critical",
    }
}

codes! {
    /// What happened to an alert series: the `to_state` of the alert history.
    pub enum Change ("alert transition") {
        /// A problem began; it must last `for` before it fires.
        Pending = "pending",
        /// The alert fired.
        Firing = "firing",
        /// A firing alert changed severity (at risk ↔ breached).
        Escalated = "escalated",
        /// A pending problem cleared before it fired.
        Cancelled = "inactive",
        /// A firing alert resolved.
        Resolved = "resolved",
    }
}

codes! {
    /// What a notification log entry is about.
    pub enum Topic ("notification topic") {
        /// An alert series (one thread per firing).
        Alert = "alert",
        /// The missed calendar periods of a series.
        Period = "period",
        /// The changes of an objective's definition (group "").
        Sla = "sla",
        /// A drop of a closed period against its baseline (`trend:`); the
        /// episode is the period's start.
        Trend = "trend",
        /// The review of a closed period (objective "", group "review"); the
        /// episode is the period's start.
        Review = "review",
    }
}

codes! {
    /// What a receiver was last told, in the notification log.
    pub enum Told ("notified state") {
        /// That the alert fires (with the severity told).
        Firing = "firing",
        /// That it resolved.
        Resolved = "resolved",
        /// That a period was missed.
        Missed = "missed",
        /// Of an SLA change.
        Told = "told",
    }
}

codes! {
    /// Where a mail of the outbox stands.
    pub enum Delivery ("outbox state") {
        /// Decided, not yet taken by the mail server.
        Pending = "pending",
        /// Taken by the mail server.
        Sent = "sent",
        /// Refused for good, or out of attempts.
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Code + PartialEq + fmt::Debug>() {
        for &x in T::ALL {
            assert_eq!(T::parse(x.as_str()), Some(x), "{}", T::WHAT);
        }
        let words: std::collections::BTreeSet<_> = T::ALL.iter().map(|x| x.as_str()).collect();
        assert_eq!(
            words.len(),
            T::ALL.len(),
            "{}: two values share a word",
            T::WHAT
        );
    }

    #[test]
    fn every_word_reads_back_as_its_value() {
        round_trips::<Status>();
        round_trips::<State>();
        round_trips::<Severity>();
        round_trips::<Change>();
        round_trips::<Topic>();
        round_trips::<Told>();
        round_trips::<Delivery>();
    }

    #[test]
    fn stored_words_are_the_documented_ones() {
        assert_eq!(Status::AtRisk.as_str(), "at_risk");
        assert_eq!(Change::Cancelled.as_str(), "inactive");
        assert_eq!(Told::Missed.as_str(), "missed");
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
    }

    #[test]
    fn an_unknown_word_is_an_error_that_quotes_it() {
        assert_eq!(State::parse("Firing"), None);
        let e = State::decode("flaring").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown alert state `flaring` (known: inactive, pending, firing)"
        );
        assert!(Status::decode("").is_err());
    }
}
