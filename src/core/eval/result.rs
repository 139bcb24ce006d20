//! What an evaluation finds: typed results that serialize to the JSON of
//! the README's "Commands".
//!
//! Numbers follow one rule in JSON: a whole number is written without a
//! fraction, and an absent or non-finite one is `null`. Keys come out in
//! alphabetical order, as `eval --format json` has always printed them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::rules::Kind;

/// The state of one objective for one group (docs/eval.md).
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
    /// Every status, in order of the metric's label values.
    pub const ALL: [Status; 5] = [
        Status::Ok,
        Status::AtRisk,
        Status::Breached,
        Status::NoData,
        Status::Error,
    ];

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

    /// The status a name names (`at_risk`).
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why an evaluation failed: a small fixed set, fit for a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// The queries ran past the objective's time limit.
    Timeout,
    /// The database could not be reached, or the connection broke.
    DatabaseUnreachable,
    /// The database refused a query (a missing table or column, say).
    QueryFailed,
    /// A value read back was not of the form the schema promises.
    BadData,
    /// The database URL or options are wrong.
    Configuration,
    /// The read replica is further behind its primary than
    /// `--max-replica-lag`, or cannot say how far: its figures would be
    /// stale, so none are given.
    StaleReplica,
}

impl FailureReason {
    /// Every reason.
    pub const ALL: [FailureReason; 6] = [
        FailureReason::Timeout,
        FailureReason::DatabaseUnreachable,
        FailureReason::QueryFailed,
        FailureReason::BadData,
        FailureReason::Configuration,
        FailureReason::StaleReplica,
    ];

    /// The label value (`database_unreachable`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Timeout => "timeout",
            FailureReason::DatabaseUnreachable => "database_unreachable",
            FailureReason::QueryFailed => "query_failed",
            FailureReason::BadData => "bad_data",
            FailureReason::Configuration => "configuration",
            FailureReason::StaleReplica => "stale_replica",
        }
    }
}

impl Serialize for FailureReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An evaluation that failed: why, in a word, and what happened, in a sentence.
/// In JSON: `{"error": message, "reason": reason}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    #[serde(rename = "error")]
    pub message: String,
    pub reason: FailureReason,
}

/// `x` as JSON: a whole number without a fraction, absent or non-finite as null.
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

fn ser_num<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    num(*x).serialize(s)
}

fn ser_f64<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    num(Some(*x)).serialize(s)
}

fn ser_nums<S: Serializer>(xs: &[f64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(xs.iter().map(|x| num(Some(*x))))
}

/// An instant as RFC 3339 UTC, with a fraction only when it has one.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// lead_volume's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumeDetails {
    /// delivered / target.
    #[serde(serialize_with = "ser_num")]
    pub attainment: Option<f64>,
    pub delivered: u64,
    /// The elapsed part of the period, 0–1 (business time with a calendar).
    #[serde(serialize_with = "ser_num")]
    pub elapsed: Option<f64>,
    /// target × elapsed.
    #[serde(serialize_with = "ser_num")]
    pub expected: Option<f64>,
    /// delivered / expected.
    #[serde(serialize_with = "ser_num")]
    pub pace: Option<f64>,
    #[serde(serialize_with = "ser_time")]
    pub period_end: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub window_start: DateTime<Utc>,
}

/// lead_quality's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityDetails {
    pub accepted: u64,
    /// Sales' feedback: how many cohort leads were rejected or closed with
    /// each `close_reason` (leads without a reason are not counted).
    pub close_reasons: std::collections::BTreeMap<String, u64>,
    pub cohort: u64,
    /// Leads handed over after this are not judged yet (`mature_after`).
    #[serde(serialize_with = "ser_time")]
    pub cohort_end: DateTime<Utc>,
    pub rejected: u64,
    /// Cohort leads neither accepted nor rejected yet.
    pub undecided: u64,
    #[serde(serialize_with = "ser_time")]
    pub window_start: DateTime<Utc>,
}

/// A lead not worked within the promise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LateLead {
    #[serde(serialize_with = "ser_time")]
    pub deadline: DateTime<Utc>,
    /// Seconds from hand-off to the first attempt; null: never attempted.
    #[serde(serialize_with = "ser_num")]
    pub first_attempt_seconds: Option<f64>,
    pub id: String,
    #[serde(serialize_with = "ser_time")]
    pub mql_at: DateTime<Utc>,
    pub owner: Option<String>,
    /// The owner's name, from `reps`.
    pub owner_name: Option<String>,
}

/// A lead past its deadline that nobody has tried yet and that is still
/// open: someone can call it now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverdueLead {
    #[serde(serialize_with = "ser_time")]
    pub deadline: DateTime<Utc>,
    pub id: String,
    #[serde(serialize_with = "ser_time")]
    pub mql_at: DateTime<Utc>,
    /// How long past the deadline at the evaluation instant, in seconds of
    /// business time when the objective has a calendar.
    #[serde(serialize_with = "ser_f64")]
    pub overdue_seconds: f64,
    pub owner: Option<String>,
    pub owner_name: Option<String>,
}

/// One owner's share of a percent_worked figure (`rep` null: the leads no
/// rep owns, a routing failure rather than a rep's).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RepWorked {
    pub eligible: u64,
    /// Eligible leads not worked in time (including those never attempted).
    pub late: u64,
    pub name: Option<String>,
    pub never_attempted: u64,
    /// Of the late: never attempted and still open.
    pub overdue_open: u64,
    pub rep: Option<String>,
    pub worked: u64,
}

/// One owner's share of a contact_attempts figure (`rep` null: unassigned).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RepAttempts {
    pub abandoned: u64,
    pub name: Option<String>,
    pub rep: Option<String>,
    /// Given up on with fewer than `min_attempts` attempts.
    pub violating: u64,
}

/// percent_worked's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkedDetails {
    /// Per owner rep, the most late leads first (then by id); unassigned
    /// leads are in `unassigned`.
    pub by_rep: Vec<RepWorked>,
    /// Leads whose deadline has passed.
    pub eligible: u64,
    /// Eligible leads not worked in time (including those never attempted).
    pub late: u64,
    /// The first late leads that are not in `overdue_leads` (attempted after
    /// the deadline, or closed without an attempt), by hand-off time, then id.
    pub late_leads: Vec<LateLead>,
    pub never_attempted: u64,
    /// Late leads never attempted and still open: the ones to call now.
    pub overdue_open: u64,
    /// The first of them by deadline, then id.
    pub overdue_leads: Vec<OverdueLead>,
    #[serde(serialize_with = "ser_num")]
    pub p50_seconds: Option<f64>,
    #[serde(serialize_with = "ser_num")]
    pub p90_seconds: Option<f64>,
    /// The sum of (first attempt − `mql_at`) over the eligible leads that have
    /// an attempt, in seconds: with `eligible − never_attempted` it gives the
    /// mean, and it is the `_sum` of the `handoff_response_seconds` summary.
    pub response_seconds_sum: f64,
    /// The leads no rep owns (`rep` null); null when there are none.
    pub unassigned: Option<RepWorked>,
    #[serde(serialize_with = "ser_time")]
    pub window_start: DateTime<Utc>,
    pub worked: u64,
}

/// A lead given up on, named in the details.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedLead {
    pub attempts: u32,
    #[serde(serialize_with = "ser_time")]
    pub closed_at: DateTime<Utc>,
    pub id: String,
    pub owner: Option<String>,
    pub owner_name: Option<String>,
}

/// contact_attempts' figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttemptsDetails {
    pub abandoned: u64,
    /// Per owner rep, the most violations first (then by id); unassigned
    /// leads are in `unassigned`.
    pub by_rep: Vec<RepAttempts>,
    pub compliant: u64,
    pub min_attempts: u32,
    /// The leads no rep owns (`rep` null); null when there are none.
    pub unassigned: Option<RepAttempts>,
    /// The first violating leads: owned ones first, then by attempts (the
    /// fewest first), then id.
    pub violating_leads: Vec<NamedLead>,
    pub violations: u64,
    #[serde(serialize_with = "ser_time")]
    pub window_start: DateTime<Utc>,
}

/// profitability's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProfitabilityDetails {
    /// Mean amount of the conversion deals.
    #[serde(serialize_with = "ser_num")]
    pub avg_revenue: Option<f64>,
    pub cohort: u64,
    /// c_k for k = 1, 2, …
    pub conversions_at: Vec<u64>,
    pub converted: u64,
    #[serde(serialize_with = "ser_f64")]
    pub cost_per_attempt: f64,
    /// The reporting currency of every amount here (ISO 4217), if the rules say.
    pub currency: Option<String>,
    pub cutoff: Option<u32>,
    /// EV_k for k = 1, 2, …
    #[serde(serialize_with = "ser_nums")]
    pub expected_value: Vec<f64>,
    /// n_k for k = 1, 2, …
    pub leads_reaching: Vec<u64>,
    /// Abandoned leads with fewer attempts than the cutoff.
    pub leakage: u64,
    /// The first of them: owned ones first, then by attempts, then id.
    pub leakage_leads: Vec<NamedLead>,
    /// What the leakage cost: leakage × mql_value.
    #[serde(serialize_with = "ser_num")]
    pub leakage_value: Option<f64>,
    /// Conversions needed before the cutoff can breach.
    pub min_conversions: u64,
    pub min_sample: u64,
    #[serde(serialize_with = "ser_num")]
    pub mql_value: Option<f64>,
    /// The `min_attempts` of the objective this one `checks`.
    pub required_attempts: Option<u32>,
    #[serde(serialize_with = "ser_time")]
    pub window_start: DateTime<Utc>,
}

/// The kind-specific figures of one result (the README's "Commands" `details`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Details {
    LeadVolume(VolumeDetails),
    LeadQuality(QualityDetails),
    PercentWorked(WorkedDetails),
    ContactAttempts(AttemptsDetails),
    Profitability(Box<ProfitabilityDetails>),
    Failed(Failure),
}

/// One objective's figures for one group.
///
/// Fields are in alphabetical order, as the JSON prints them, so that
/// serializing a result directly gives the same text as
/// [`Evaluation::to_json`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupResult {
    #[serde(serialize_with = "ser_num")]
    pub denominator: Option<f64>,
    pub details: Details,
    /// The value of the `by` column, `unknown` for null, or `all` without `by`.
    pub group: String,
    /// With `by: rep`, the rep's name (the group is the rep's id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// For ratios: what was counted over what it was counted among.
    #[serde(serialize_with = "ser_num")]
    pub numerator: Option<f64>,
    pub status: Status,
    /// The target, when the group has one.
    #[serde(serialize_with = "ser_num")]
    pub target: Option<f64>,
    /// The measured value: a count (lead_volume), a ratio, or the cutoff.
    #[serde(serialize_with = "ser_num")]
    pub value: Option<f64>,
}

impl GroupResult {
    /// The result of an objective that could not be evaluated: group `all`,
    /// status `error`.
    pub fn failed(failure: Failure) -> GroupResult {
        GroupResult {
            group: "all".to_owned(),
            group_name: None,
            status: Status::Error,
            value: None,
            target: None,
            numerator: None,
            denominator: None,
            details: Details::Failed(failure),
        }
    }

    /// The failure, when the evaluation failed.
    pub fn failure(&self) -> Option<&Failure> {
        match &self.details {
            Details::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// The ids of the reps the result names: its group with `by: rep`, the
    /// per-rep tallies and the owners of the leads it lists.
    pub(crate) fn rep_ids<'a>(
        &'a self,
        by_rep: bool,
        out: &mut std::collections::BTreeSet<&'a str>,
    ) {
        if by_rep && self.group != "unknown" {
            out.insert(&self.group);
        }
        let mut add = |id: &'a Option<String>| {
            if let Some(id) = id {
                out.insert(id);
            }
        };
        match &self.details {
            Details::PercentWorked(d) => {
                d.by_rep.iter().for_each(|r| add(&r.rep));
                d.overdue_leads.iter().for_each(|l| add(&l.owner));
                d.late_leads.iter().for_each(|l| add(&l.owner));
            }
            Details::ContactAttempts(d) => {
                d.by_rep.iter().for_each(|r| add(&r.rep));
                d.violating_leads.iter().for_each(|l| add(&l.owner));
            }
            Details::Profitability(d) => d.leakage_leads.iter().for_each(|l| add(&l.owner)),
            _ => {}
        }
    }

    /// Writes the names of the reps it names beside their ids.
    pub(crate) fn name_reps(
        &mut self,
        by_rep: bool,
        names: &std::collections::BTreeMap<String, String>,
    ) {
        let name = |id: &Option<String>| id.as_ref().and_then(|id| names.get(id)).cloned();
        if by_rep {
            self.group_name = names.get(&self.group).cloned();
        }
        match &mut self.details {
            Details::PercentWorked(d) => {
                d.by_rep.iter_mut().for_each(|r| r.name = name(&r.rep));
                d.overdue_leads
                    .iter_mut()
                    .for_each(|l| l.owner_name = name(&l.owner));
                d.late_leads
                    .iter_mut()
                    .for_each(|l| l.owner_name = name(&l.owner));
            }
            Details::ContactAttempts(d) => {
                d.by_rep.iter_mut().for_each(|r| r.name = name(&r.rep));
                d.violating_leads
                    .iter_mut()
                    .for_each(|l| l.owner_name = name(&l.owner));
            }
            Details::Profitability(d) => d
                .leakage_leads
                .iter_mut()
                .for_each(|l| l.owner_name = name(&l.owner)),
            _ => {}
        }
    }

    /// The details as the JSON object `eval --format json` prints.
    pub fn details_json(&self) -> Value {
        serde_json::to_value(&self.details).unwrap_or(Value::Null)
    }
}

/// One objective's results, one per group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectiveResult {
    #[serde(serialize_with = "ser_kind")]
    pub kind: Kind,
    pub name: String,
    pub results: Vec<GroupResult>,
}

fn ser_kind<S: Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl ObjectiveResult {
    /// Why the objective could not be evaluated, if it could not: then its one
    /// result (group `all`) has status `error`, and every group it had before
    /// is unknown rather than healthy.
    pub fn failure(&self) -> Option<&Failure> {
        self.results.iter().find_map(GroupResult::failure)
    }

    /// The result of `group`, if there is one.
    pub fn group(&self, group: &str) -> Option<&GroupResult> {
        self.results.iter().find(|r| r.group == group)
    }
}

/// Every objective of a rule set, evaluated at one instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    #[serde(serialize_with = "ser_time")]
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

    /// The JSON object of the README's "Commands": `{"evaluated_at", "objectives": [...]}`,
    /// every object's keys in alphabetical order.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The table a person reads: objective, group, status, value against target,
    /// and the key details, then the first leads behind each failing figure.
    /// `rules` are those evaluated: their targets name the groups that show as
    /// `NO_DATA` when nothing was measured, their zones the times of leads.
    pub fn to_table(&self, rules: &crate::rules::RuleSet) -> String {
        super::table::render(self, rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_stale_replica_is_a_reason_of_its_own() {
        assert_eq!(
            crate::eval::reason_of(crate::store::ErrorKind::Stale),
            FailureReason::StaleReplica
        );
        assert_eq!(FailureReason::StaleReplica.as_str(), "stale_replica");
        assert!(FailureReason::ALL.contains(&FailureReason::StaleReplica));
        let labels: std::collections::BTreeSet<_> =
            FailureReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), FailureReason::ALL.len());
    }

    #[test]
    fn numbers_are_whole_when_they_can_be_and_null_when_absent() {
        assert_eq!(num(Some(3.0)).to_string(), "3");
        assert_eq!(num(Some(0.25)).to_string(), "0.25");
        assert_eq!(num(Some(f64::NAN)), Value::Null);
        assert_eq!(num(None), Value::Null);
    }

    #[test]
    fn a_failure_reads_as_error_and_reason() {
        let r = GroupResult::failed(Failure {
            reason: FailureReason::DatabaseUnreachable,
            message: "failed to evaluate objective x: cannot connect".into(),
        });
        let text = r#"{"denominator":null,"details":{"error":"failed to evaluate objective x: cannot connect","reason":"database_unreachable"},"group":"all","numerator":null,"status":"error","target":null,"value":null}"#;
        assert_eq!(serde_json::to_string(&r).unwrap(), text);
        // Directly or through the JSON value eval prints: the same text.
        let e = Evaluation {
            evaluated_at: utc("2026-11-25T15:00:00Z"),
            objectives: vec![ObjectiveResult {
                kind: Kind::LeadVolume,
                name: "v".into(),
                results: vec![r],
            }],
        };
        assert_eq!(serde_json::to_string(&e).unwrap(), e.to_json().to_string());
    }

    #[test]
    fn details_keep_their_key_names_and_number_forms() {
        let d = Details::LeadVolume(VolumeDetails {
            attainment: Some(0.5),
            delivered: 5,
            elapsed: Some(1.0),
            expected: Some(10.0),
            pace: None,
            period_end: utc("2026-12-01T05:00:00Z"),
            window_start: utc("2026-11-01T04:00:00.5Z"),
        });
        assert_eq!(
            serde_json::to_value(&d).unwrap().to_string(),
            r#"{"attainment":0.5,"delivered":5,"elapsed":1,"expected":10,"pace":null,"period_end":"2026-12-01T05:00:00Z","window_start":"2026-11-01T04:00:00.500Z"}"#
        );
    }
}
