//! One evaluation of one objective, as the daemon, `handoff test` and
//! `handoff backtest` all make it: the objective's figures at an instant and,
//! when the period-close rule says a calendar period closed, that period's
//! final figures ([`crate::eval::period::close_due`]). The engine takes the
//! [`Outcome`]; this is the only part of a step that touches the database.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::board::Outcome;
use crate::eval::{Failure, close_period, period::close_due, run_objective};
use crate::rules::Objective;
use crate::store::Store;

/// Evaluates `objective` at `at`. `known` is the start of the period of its
/// last evaluation (the board's `period`), `definition` its definition key.
/// Returns the outcome and, when a due close could not be measured, why (the
/// close is tried again at the next evaluation).
pub async fn evaluate(
    objective: &Objective,
    definition: &str,
    store: &Store,
    at: DateTime<Utc>,
    known: Option<DateTime<Utc>>,
    timeout: Duration,
) -> (Outcome, Option<Failure>) {
    let started = std::time::Instant::now();
    let result = run_objective(objective, store, at, timeout).await;
    let step = close_due(objective.window, objective.timezone, known, at);
    let mut closed = None;
    let mut close_failure = None;
    if result.failure().is_none()
        && let Some(p) = step.close
    {
        let (period, r) = close_period(objective, store, p.start, timeout).await;
        match r.failure() {
            Some(f) => close_failure = Some(f.clone()),
            None => closed = Some((period, r)),
        }
    }
    let period = step.after(result.failure().is_none(), closed.is_some());
    let outcome = Outcome {
        definition: definition.to_owned(),
        at,
        duration: started.elapsed().as_secs_f64(),
        result,
        closed,
        period,
    };
    (outcome, close_failure)
}
