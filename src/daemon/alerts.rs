//! The alert state machine of docs/DAEMON.md ("Alerts"), one series per (objective, group).
//!
//! It follows Prometheus' alerting rules: a problem makes a series `pending`;
//! held for `for`, it becomes `firing`; once the problem clears, the series stays
//! firing for `keep_firing_for` and then resolves. `at_risk` is a warning,
//! `breached` is critical. A failed evaluation says nothing about the promise: it
//! changes no state (a firing alert stays firing, a pending one keeps its start
//! and does not fire on a guess) and only marks the series as erroring.
//!
//! Everything here is pure: [`Series::step`] takes the observation and the time,
//! and returns the transition, if any, for the caller to log and record.

use chrono::{DateTime, TimeDelta, Utc};

pub use crate::codes::{Change, Severity, State};
use crate::eval::Status;
use crate::rules::{Alert, ErrorPolicy, NoDataPolicy};

/// What one evaluation says about a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The promise is kept.
    Healthy,
    /// The promise is at risk or broken.
    Problem(Severity),
    /// The evaluation failed: nothing is known.
    Error,
    /// Nothing to go on, and the rule says keep the last state.
    Keep,
}

impl Observation {
    /// What a result status means under an objective's alert settings.
    pub fn of(status: Status, alert: &Alert) -> Observation {
        match status {
            Status::Ok => Observation::Healthy,
            Status::AtRisk => Observation::Problem(Severity::Warning),
            Status::Breached => Observation::Problem(Severity::Critical),
            Status::NoData => match alert.on_no_data {
                NoDataPolicy::Ok => Observation::Healthy,
                NoDataPolicy::Alert => Observation::Problem(Severity::Warning),
                NoDataPolicy::KeepLast => Observation::Keep,
            },
            Status::Error => Observation::Error,
        }
    }
}

/// How long problems are held: an objective's `for` and `keep_firing_for`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// Pending time before firing.
    pub pending_for: TimeDelta,
    /// Firing time kept after the problem clears.
    pub keep_firing_for: TimeDelta,
}

impl Timing {
    /// The timing an objective's `alert` block sets.
    pub fn of(alert: &Alert) -> Timing {
        Timing {
            pending_for: alert.pending_for.to_chrono(),
            keep_firing_for: alert.keep_firing_for.to_chrono(),
        }
    }

    /// Whether failed evaluations of this objective count towards the
    /// "evaluation failing" alert.
    pub fn counts_errors(alert: &Alert) -> bool {
        alert.on_error == ErrorPolicy::Alert
    }
}

/// One alert series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Where it stands.
    pub state: State,
    /// The severity of the current problem, while pending or firing.
    pub severity: Option<Severity>,
    /// When the current problem began (pending start).
    pub active_since: Option<DateTime<Utc>>,
    /// When the alert fired.
    pub fired_at: Option<DateTime<Utc>>,
    /// While firing: when the problem cleared (held by `keep_firing_for`).
    pub clear_since: Option<DateTime<Utc>>,
    /// The first of the current run of failed evaluations.
    pub error_since: Option<DateTime<Utc>>,
}

/// A change of a series, to log and record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// What happened.
    pub to: Change,
    /// The severity of the problem (for `Resolved` and `Cancelled`, the one the
    /// alert had).
    pub severity: Severity,
}

impl Series {
    /// Applies one observation made at `at`.
    pub fn step(
        &mut self,
        obs: Observation,
        at: DateTime<Utc>,
        timing: Timing,
    ) -> Option<Transition> {
        let from = self.state;
        match obs {
            Observation::Keep => None,
            Observation::Error => {
                self.error_since.get_or_insert(at);
                None
            }
            Observation::Healthy => {
                self.error_since = None;
                let severity = self.severity.unwrap_or(Severity::Warning);
                match self.state {
                    State::Inactive => None,
                    State::Pending => {
                        self.clear();
                        Some(Transition {
                            from,
                            to: Change::Cancelled,
                            severity,
                        })
                    }
                    State::Firing => {
                        let cleared = *self.clear_since.get_or_insert(at);
                        if at - cleared < timing.keep_firing_for {
                            return None;
                        }
                        self.clear();
                        Some(Transition {
                            from,
                            to: Change::Resolved,
                            severity,
                        })
                    }
                }
            }
            Observation::Problem(severity) => {
                self.error_since = None;
                self.clear_since = None;
                match self.state {
                    State::Inactive => {
                        self.active_since = Some(at);
                        self.severity = Some(severity);
                        if timing.pending_for <= TimeDelta::zero() {
                            self.state = State::Firing;
                            self.fired_at = Some(at);
                            Some(Transition {
                                from,
                                to: Change::Firing,
                                severity,
                            })
                        } else {
                            self.state = State::Pending;
                            Some(Transition {
                                from,
                                to: Change::Pending,
                                severity,
                            })
                        }
                    }
                    State::Pending => {
                        self.severity = Some(severity);
                        let since = *self.active_since.get_or_insert(at);
                        if at - since < timing.pending_for {
                            return None;
                        }
                        self.state = State::Firing;
                        self.fired_at = Some(at);
                        Some(Transition {
                            from,
                            to: Change::Firing,
                            severity,
                        })
                    }
                    State::Firing => {
                        if self.severity == Some(severity) {
                            return None;
                        }
                        self.severity = Some(severity);
                        Some(Transition {
                            from,
                            to: Change::Escalated,
                            severity,
                        })
                    }
                }
            }
        }
    }

    /// Judges the series afresh at `at`, as after an SLA change: a problem
    /// fires at once and a healthy (or absent) figure ends it at once, with
    /// no `for` and no `keep_firing_for`, since the change of definition, not
    /// a change of performance, moved it. A firing series of the same
    /// severity goes on unchanged.
    pub fn judge(&mut self, obs: Observation, at: DateTime<Utc>) -> Option<Transition> {
        let from = self.state;
        match obs {
            Observation::Keep | Observation::Error => self.step(obs, at, Timing::default()),
            Observation::Healthy => {
                let severity = self.severity.unwrap_or(Severity::Warning);
                self.error_since = None;
                if self.state == State::Inactive {
                    return None;
                }
                self.clear();
                Some(Transition {
                    from,
                    to: if from == State::Firing {
                        Change::Resolved
                    } else {
                        Change::Cancelled
                    },
                    severity,
                })
            }
            Observation::Problem(severity) => {
                if self.state == State::Firing && self.severity == Some(severity) {
                    self.clear_since = None;
                    self.error_since = None;
                    return None;
                }
                if self.state == State::Firing {
                    self.step(obs, at, Timing::default())
                } else {
                    self.clear();
                    self.step(obs, at, Timing::default())
                }
            }
        }
    }

    /// Back to inactive, keeping only the error streak.
    fn clear(&mut self) {
        *self = Series {
            error_since: self.error_since,
            ..Series::default()
        };
    }

    /// Whether the series is pending or firing.
    pub fn is_active(&self) -> bool {
        self.state != State::Inactive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    use Observation::{Error as Err_, Healthy as Ok_, Keep, Problem};
    use Severity::{Critical, Warning};

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn timing(pending_min: i64, keep_min: i64) -> Timing {
        Timing {
            pending_for: TimeDelta::minutes(pending_min),
            keep_firing_for: TimeDelta::minutes(keep_min),
        }
    }

    /// Runs `steps` (minute, observation) from inactive and returns, for each
    /// step, the state after it and the change it made.
    fn run(timing: Timing, steps: &[(i64, Observation)]) -> (Series, Vec<(State, Option<Change>)>) {
        let mut s = Series::default();
        let trace = steps
            .iter()
            .map(|&(m, obs)| {
                let tr = s.step(obs, t(m), timing);
                (s.state, tr.map(|x| x.to))
            })
            .collect();
        (s, trace)
    }

    use Change as C;
    use State::{Firing as F, Inactive as I, Pending as P};

    #[test]
    fn state_machine_cases() {
        // (name, for, keep_firing_for, steps, expected states and changes)
        type Case = (
            &'static str,
            i64,
            i64,
            Vec<(i64, Observation)>,
            Vec<(State, Option<Change>)>,
        );
        let cases: Vec<Case> = vec![
            (
                "for 0 fires at once and resolves at once",
                0,
                0,
                vec![(0, Problem(Critical)), (5, Problem(Critical)), (10, Ok_)],
                vec![(F, Some(C::Firing)), (F, None), (I, Some(C::Resolved))],
            ),
            (
                "pending is held for 30m: fires at the first evaluation at or after 30m",
                30,
                0,
                vec![
                    (0, Problem(Critical)),
                    (15, Problem(Critical)),
                    (29, Problem(Critical)),
                    (30, Problem(Critical)),
                ],
                vec![
                    (P, Some(C::Pending)),
                    (P, None),
                    (P, None),
                    (F, Some(C::Firing)),
                ],
            ),
            (
                "flapping inside `for` never fires",
                30,
                0,
                vec![
                    (0, Problem(Warning)),
                    (20, Ok_),
                    (25, Problem(Warning)),
                    (50, Ok_),
                    (55, Problem(Warning)),
                ],
                vec![
                    (P, Some(C::Pending)),
                    (I, Some(C::Cancelled)),
                    (P, Some(C::Pending)),
                    (I, Some(C::Cancelled)),
                    (P, Some(C::Pending)),
                ],
            ),
            (
                "keep_firing_for holds a cleared alert 10m, a relapse resets the hold",
                0,
                10,
                vec![
                    (0, Problem(Critical)),
                    (5, Ok_),
                    (10, Problem(Critical)),
                    (12, Ok_),
                    (21, Ok_),
                    (22, Ok_),
                ],
                vec![
                    (F, Some(C::Firing)),
                    (F, None),
                    (F, None),
                    (F, None),
                    (F, None),
                    (I, Some(C::Resolved)),
                ],
            ),
            (
                "an error while firing keeps it firing, and does not count as clear",
                0,
                10,
                vec![
                    (0, Problem(Critical)),
                    (5, Err_),
                    (30, Err_),
                    (35, Ok_),
                    (44, Ok_),
                    (45, Ok_),
                ],
                vec![
                    (F, Some(C::Firing)),
                    (F, None),
                    (F, None),
                    (F, None),
                    (F, None),
                    (I, Some(C::Resolved)),
                ],
            ),
            (
                "an error while pending keeps the start but never fires on a guess",
                30,
                0,
                vec![
                    (0, Problem(Warning)),
                    (10, Err_),
                    (40, Err_),
                    (41, Problem(Warning)),
                ],
                vec![
                    (P, Some(C::Pending)),
                    (P, None),
                    (P, None),
                    (F, Some(C::Firing)),
                ],
            ),
            (
                "an error while inactive raises nothing",
                0,
                0,
                vec![(0, Err_), (60, Err_)],
                vec![(I, None), (I, None)],
            ),
            (
                "at risk to breached while firing escalates; back to at risk too",
                0,
                0,
                vec![
                    (0, Problem(Warning)),
                    (5, Problem(Critical)),
                    (10, Problem(Warning)),
                ],
                vec![
                    (F, Some(C::Firing)),
                    (F, Some(C::Escalated)),
                    (F, Some(C::Escalated)),
                ],
            ),
            (
                "keep last changes nothing",
                0,
                0,
                vec![(0, Problem(Critical)), (5, Keep), (10, Keep)],
                vec![(F, Some(C::Firing)), (F, None), (F, None)],
            ),
        ];
        for (name, pending, keep, steps, want) in cases {
            let (_, got) = run(timing(pending, keep), &steps);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn timestamps_follow_the_problem() {
        let (s, _) = run(
            timing(30, 0),
            &[(0, Problem(Warning)), (10, Err_), (30, Problem(Critical))],
        );
        assert_eq!(s.state, State::Firing);
        assert_eq!(
            s.active_since,
            Some(t(0)),
            "pending start kept through the error"
        );
        assert_eq!(s.fired_at, Some(t(30)));
        assert_eq!(s.severity, Some(Critical));
        assert_eq!(
            s.error_since, None,
            "a good evaluation ends the error streak"
        );

        let (s, _) = run(timing(0, 0), &[(0, Err_), (5, Err_)]);
        assert_eq!(
            s.error_since,
            Some(t(0)),
            "the streak starts at the first failure"
        );
    }

    #[test]
    fn a_restart_in_the_middle_continues_from_the_saved_series() {
        // Pending since minute 0 with for = 30m; the process restarts at minute
        // 12 and the copy (what the database kept) goes on from there.
        let timing = timing(30, 0);
        let mut before = Series::default();
        before.step(Problem(Warning), t(0), timing);
        let mut after = before.clone();
        assert_eq!(after.step(Problem(Warning), t(20), timing), None);
        let fired = after.step(Problem(Warning), t(30), timing);
        assert_eq!(fired.map(|x| x.to), Some(Change::Firing));
    }

    #[test]
    fn observations_follow_the_policies() {
        let mut alert = Alert {
            pending_for: crate::rules::Duration::ZERO,
            keep_firing_for: crate::rules::Duration::ZERO,
            notify: Vec::new(),
            repeat: crate::rules::Duration::from_secs(86_400),
            send_resolved: true,
            on_error: ErrorPolicy::Alert,
            on_no_data: NoDataPolicy::Ok,
        };
        assert_eq!(Observation::of(Status::Ok, &alert), Ok_);
        assert_eq!(Observation::of(Status::AtRisk, &alert), Problem(Warning));
        assert_eq!(Observation::of(Status::Breached, &alert), Problem(Critical));
        assert_eq!(Observation::of(Status::NoData, &alert), Ok_);
        assert_eq!(Observation::of(Status::Error, &alert), Err_);
        alert.on_no_data = NoDataPolicy::Alert;
        assert_eq!(Observation::of(Status::NoData, &alert), Problem(Warning));
        alert.on_no_data = NoDataPolicy::KeepLast;
        assert_eq!(Observation::of(Status::NoData, &alert), Keep);
        assert!(Timing::counts_errors(&alert));
        alert.on_error = ErrorPolicy::KeepLast;
        assert!(!Timing::counts_errors(&alert));
    }
}
