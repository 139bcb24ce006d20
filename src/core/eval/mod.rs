//! Evaluation: the five measures of docs/eval.md over the store, at one instant.
//!
//! ```text
//! Objective ─┐
//!            ├─► run_objective(at, timeout) ─► measure: the reads the kind needs
//! Store ─────┘        (the unit of work)          (store::Reader, one snapshot)
//!                                              ─► figures: pure arithmetic
//!                                              ─► ObjectiveResult
//! ```
//!
//! [`run_objective`] is the one function that runs one objective: `eval`, the
//! tests and the scheduler all call it. It never fails: a query error or a
//! timeout becomes a result with status `error` and a [`Failure`] with a bounded
//! [`FailureReason`]. Its time limit is enforced twice: by the database, which
//! stops the statement, and by the caller's clock, which stops waiting.
//!
//! The evaluator does no I/O except through the store, and reads only the rows of
//! each objective's window through the schema's indexes. Every event counts only
//! if its timestamp is before `at`, so evaluating at a past instant reproduces
//! what was known then. From what the store returns to figures and statuses,
//! everything is pure arithmetic in `figures`, tested without a database.

mod figures;
mod measure;
pub mod period;
mod result;
mod table;
pub mod words;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::rules::{Kind, Objective, RuleSet};
use crate::store::{ErrorKind, Store, StoreError};
use period::Period;

pub use result::{
    AttemptsDetails, Details, Evaluation, Failure, FailureReason, GroupResult, LateLead, NamedLead,
    ObjectiveResult, OverdueLead, ProfitabilityDetails, QualityDetails, RepAttempts, RepWorked,
    Status, VolumeDetails, WorkedDetails,
};

/// How long one objective's queries may take, together, before it is an error.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The same for profitability, whose cohort is months of leads (180 days by
/// default) and which runs weekly.
pub const PROFITABILITY_TIMEOUT: Duration = Duration::from_secs(180);

/// How much longer than its limit the caller waits for an objective, so that
/// the database's own stop (a clean error) arrives before the caller gives up.
const GRACE: Duration = Duration::from_secs(1);

/// The time an objective of `kind` may take: [`QUERY_TIMEOUT`], or
/// [`PROFITABILITY_TIMEOUT`] for profitability.
pub fn timeout_for(kind: Kind) -> Duration {
    match kind {
        Kind::Profitability => PROFITABILITY_TIMEOUT,
        _ => QUERY_TIMEOUT,
    }
}

/// At most this many leads are named in a result's details (violations, late leads).
pub const MAX_NAMED_LEADS: usize = 20;

/// Why an objective could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A query failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The objective's queries did not finish in time.
    #[error("queries did not finish within {}s", .0.as_secs_f64())]
    Timeout(Duration),
}

impl EvalError {
    /// The bounded reason for metrics and alerts.
    pub fn reason(&self) -> FailureReason {
        match self {
            EvalError::Timeout(_) => FailureReason::Timeout,
            EvalError::Store(e) => reason_of(e.kind()),
        }
    }
}

/// The bounded reason for a store error of `kind`.
pub fn reason_of(kind: ErrorKind) -> FailureReason {
    match kind {
        ErrorKind::Timeout => FailureReason::Timeout,
        ErrorKind::Unreachable | ErrorKind::Storage => FailureReason::DatabaseUnreachable,
        ErrorKind::Query | ErrorKind::Schema | ErrorKind::Fenced => FailureReason::QueryFailed,
        ErrorKind::Data => FailureReason::BadData,
        ErrorKind::Config => FailureReason::Configuration,
        ErrorKind::Stale => FailureReason::StaleReplica,
    }
}

/// Checks that the store holds the lead tables, before evaluating anything.
///
/// # Errors
///
/// The first of `reps`, `leads`, `touches`, `deals` that cannot be read.
pub async fn check_schema(store: &Store) -> Result<(), EvalError> {
    Ok(store.check_lead_tables().await?)
}

/// Runs one objective at `at`: every read it needs, in one consistent view of
/// the data, within `timeout`. Never fails: a failure is a result with status
/// `error` for the group `all`, carrying its reason and message.
pub async fn run_objective(
    objective: &Objective,
    store: &Store,
    at: DateTime<Utc>,
    timeout: Duration,
) -> ObjectiveResult {
    let period = Period::containing(objective.window, objective.timezone, at);
    run_in(objective, store, at, period, timeout).await
}

/// The final figures of the calendar period containing `inside`, which has
/// closed: the objective evaluated at the period's end, over the whole period.
/// (Evaluating at the end instant itself would measure the next period.)
/// Returns the period with the result.
pub async fn close_period(
    objective: &Objective,
    store: &Store,
    inside: DateTime<Utc>,
    timeout: Duration,
) -> (Period, ObjectiveResult) {
    let period = Period::containing(objective.window, objective.timezone, inside);
    let result = run_in(objective, store, period.end, period, timeout).await;
    (period, result)
}

/// The objective evaluated with its window replaced by `period`, at the
/// period's end (docs/REVIEW.md): a closed period's figures, whatever the
/// objective's own window (a rolling 28 days is measured over the month).
/// lead_quality still leaves out leads younger than `mature_after` at the
/// end; profitability's lookback ends there.
pub async fn run_over(
    objective: &Objective,
    store: &Store,
    period: Period,
    timeout: Duration,
) -> ObjectiveResult {
    run_in(objective, store, period.end, period, timeout).await
}

// Log targets keep the `handoff::` names users filter on (`--log
// handoff::eval=debug`), though this module lives in the handoff-core crate.
#[tracing::instrument(target = "handoff::eval", skip_all, fields(objective = %objective.name))]
async fn run_in(
    objective: &Objective,
    store: &Store,
    at: DateTime<Utc>,
    period: Period,
    timeout: Duration,
) -> ObjectiveResult {
    let started = Instant::now();
    let work = async {
        let mut reader = store.reader(timeout).await?;
        let results = measure::run(objective, &mut reader, at, period).await?;
        reader.finish().await?;
        Ok::<_, EvalError>(results)
    };
    let results = match tokio::time::timeout(timeout + GRACE, work).await {
        Ok(Ok(results)) => results,
        Ok(Err(e)) => vec![failed(objective, &e)],
        Err(_) => vec![failed(objective, &EvalError::Timeout(timeout))],
    };
    tracing::debug!(target: "handoff::eval", elapsed = ?started.elapsed(), "Evaluated.");
    ObjectiveResult {
        name: objective.name.clone(),
        kind: objective.kind(),
        results,
    }
}

/// The result of an objective that could not be evaluated.
fn failed(objective: &Objective, e: &EvalError) -> GroupResult {
    let message = format!(
        "failed to evaluate objective {}: {}",
        objective.name,
        crate::error_chain(e)
    );
    let failure = Failure {
        reason: e.reason(),
        message,
    };
    tracing::error!(
        target: "handoff::eval",
        objective = %objective.name,
        reason = failure.reason.as_str(),
        error = %failure.message,
        "Evaluation failed."
    );
    GroupResult::failed(failure)
}

/// Evaluates every objective of `rules` at `at`, each within its kind's
/// [`timeout_for`].
pub async fn evaluate(rules: &RuleSet, store: &Store, at: DateTime<Utc>) -> Evaluation {
    evaluate_within(rules, store, at, |o| timeout_for(o.kind())).await
}

/// As [`evaluate`], with every objective bounded by `timeout`.
pub async fn evaluate_with_timeout(
    rules: &RuleSet,
    store: &Store,
    at: DateTime<Utc>,
    timeout: Duration,
) -> Evaluation {
    evaluate_within(rules, store, at, |_| timeout).await
}

async fn evaluate_within(
    rules: &RuleSet,
    store: &Store,
    at: DateTime<Utc>,
    timeout_of: impl Fn(&Objective) -> Duration,
) -> Evaluation {
    let mut objectives = Vec::with_capacity(rules.objectives().len());
    for objective in rules.objectives() {
        objectives.push(run_objective(objective, store, at, timeout_of(objective)).await);
    }
    Evaluation {
        evaluated_at: at,
        objectives,
    }
}
