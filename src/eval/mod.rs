//! Evaluation: the five measures of DESIGN §4 over the store, at one instant.
//!
//! ```text
//! RuleSet ─┐
//!          ├─► evaluate(at) ─► per objective: read the window's rows (store)
//! Store ───┘                   ─► arithmetic here (measure) ─► Evaluation
//! ```
//!
//! The evaluator does no I/O except through the store, and reads only the rows of
//! each objective's window through the schema's indexes. Every event counts only
//! if its timestamp is before `at`, so evaluating at a past instant reproduces
//! what was known then. One objective that fails (a query error, a timeout)
//! becomes a result with status `error` and its cause; the others still evaluate.

mod measure;
pub mod period;
mod table;

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::rules::{Kind, Objective, RuleSet};
use crate::store::{Store, StoreError};

/// How long one objective's queries may take, together, before it is an error.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The same for profitability, whose cohort is months of leads (180 days by
/// default, ~20 s on a million-lead SQLite store) and which runs weekly.
pub const PROFITABILITY_TIMEOUT: Duration = Duration::from_secs(180);

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
    #[error("queries did not finish within {}s", .0.as_secs())]
    Timeout(Duration),
}

/// The state of one objective for one group (DESIGN §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// The promise is kept.
    Ok,
    /// On course to miss it (lead volume behind pace).
    AtRisk,
    /// Broken.
    Breached,
    /// Nothing to measure yet (a zero denominator, no cutoff).
    NoData,
    /// The evaluation failed.
    Error,
}

impl Status {
    /// The name used in JSON and metric labels (`at_risk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::AtRisk => "at_risk",
            Status::Breached => "breached",
            Status::NoData => "no_data",
            Status::Error => "error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One objective's figures for one group.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupResult {
    /// The value of the `by` column, `unknown` for null, or `all` without `by`.
    pub group: String,
    pub status: Status,
    /// The measured value: a count (lead_volume), a ratio, or the cutoff.
    pub value: Option<f64>,
    /// The target, when the group has one.
    pub target: Option<f64>,
    /// For ratios: what was counted over what it was counted among.
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// Kind-specific figures (DESIGN §7), as JSON.
    pub details: Map<String, Value>,
}

impl GroupResult {
    fn new(group: impl Into<String>, status: Status) -> GroupResult {
        GroupResult {
            group: group.into(),
            status,
            value: None,
            target: None,
            numerator: None,
            denominator: None,
            details: Map::new(),
        }
    }

    /// A number of the details, if present and numeric.
    pub fn detail(&self, key: &str) -> Option<f64> {
        self.details.get(key).and_then(Value::as_f64)
    }
}

/// One objective's results, one per group.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveResult {
    pub name: String,
    pub kind: Kind,
    pub results: Vec<GroupResult>,
}

impl ObjectiveResult {
    /// The result of `group`, if there is one.
    pub fn group(&self, group: &str) -> Option<&GroupResult> {
        self.results.iter().find(|r| r.group == group)
    }
}

/// Every objective of a rule set, evaluated at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub evaluated_at: DateTime<Utc>,
    pub objectives: Vec<ObjectiveResult>,
}

impl Evaluation {
    /// The results of the objective called `name`.
    pub fn objective(&self, name: &str) -> Option<&ObjectiveResult> {
        self.objectives.iter().find(|o| o.name == name)
    }

    /// Whether any objective failed to evaluate.
    pub fn has_errors(&self) -> bool {
        self.objectives
            .iter()
            .flat_map(|o| &o.results)
            .any(|r| r.status == Status::Error)
    }

    /// The JSON object of DESIGN §7: `{"evaluated_at", "objectives": [...]}`.
    pub fn to_json(&self) -> Value {
        let objectives: Vec<Value> = self
            .objectives
            .iter()
            .map(|o| {
                let results: Vec<Value> = o
                    .results
                    .iter()
                    .map(|r| {
                        json!({
                            "group": r.group,
                            "status": r.status.as_str(),
                            "value": num(r.value),
                            "target": num(r.target),
                            "numerator": num(r.numerator),
                            "denominator": num(r.denominator),
                            "details": Value::Object(r.details.clone()),
                        })
                    })
                    .collect();
                json!({ "name": o.name, "kind": o.kind.as_str(), "results": results })
            })
            .collect();
        json!({
            "evaluated_at": self.evaluated_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "objectives": objectives,
        })
    }

    /// The table a person reads: objective, group, status, value against target,
    /// and the key details.
    pub fn to_table(&self) -> String {
        table::render(self)
    }
}

/// A number as JSON: whole numbers without a fraction, absent or non-finite as null.
pub(crate) fn num(x: Option<f64>) -> Value {
    match x {
        Some(x) if x.is_finite() => {
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                Value::from(x as i64)
            } else {
                Value::from(x)
            }
        }
        _ => Value::Null,
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

/// Evaluates every objective of `rules` at `at`, each within its kind's
/// [`timeout_for`].
pub async fn evaluate(rules: &RuleSet, store: &Store, at: DateTime<Utc>) -> Evaluation {
    evaluate_within(rules, store, at, |o| timeout_for(o.kind())).await
}

/// As [`evaluate`], with every objective's queries bounded by `timeout`.
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
        let timeout = timeout_of(objective);
        let started = std::time::Instant::now();
        let outcome =
            tokio::time::timeout(timeout, evaluate_objective(rules, objective, store, at)).await;
        tracing::debug!(objective = %objective.name, elapsed = ?started.elapsed(), "Evaluated.");
        let results = match outcome {
            Ok(Ok(results)) => results,
            Ok(Err(e)) => error_result(objective, &e),
            Err(_) => error_result(objective, &EvalError::Timeout(timeout)),
        };
        objectives.push(ObjectiveResult {
            name: objective.name.clone(),
            kind: objective.kind(),
            results,
        });
    }
    Evaluation {
        evaluated_at: at,
        objectives,
    }
}

fn error_result(objective: &Objective, e: &EvalError) -> Vec<GroupResult> {
    tracing::error!(objective = %objective.name, error = %e, "Evaluation failed.");
    let mut r = GroupResult::new("all", Status::Error);
    r.details.insert(
        "error".into(),
        Value::from(format!(
            "failed to evaluate objective {}: {e}",
            objective.name
        )),
    );
    vec![r]
}

/// Evaluates one objective at `at`: one result per group.
///
/// # Errors
///
/// A query that fails. No timeout is applied here; [`evaluate`] applies one.
pub async fn evaluate_objective(
    rules: &RuleSet,
    objective: &Objective,
    store: &Store,
    at: DateTime<Utc>,
) -> Result<Vec<GroupResult>, EvalError> {
    measure::run(rules, objective, store, at).await
}
