//! The arithmetic of each kind (DESIGN §4), on the rows of its window.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::period::{Period, add_business, business_secs};
use super::{EvalError, GroupResult, MAX_NAMED_LEADS, Status, num};
use crate::rules::{Calendar, GroupBy, Objective, RuleSet, Spec, Target};
use crate::store::{LeadRange, LeadRow, Store};

pub(super) async fn run(
    rules: &RuleSet,
    o: &Objective,
    store: &Store,
    t: DateTime<Utc>,
) -> Result<Vec<GroupResult>, EvalError> {
    match &o.spec {
        Spec::LeadVolume {
            target,
            warn_below,
            calendar,
        } => lead_volume(o, store, t, target, *warn_below, calendar.as_deref()).await,
        Spec::LeadQuality {
            target,
            mature_after,
        } => lead_quality(o, store, t, target, mature_after.to_chrono()).await,
        Spec::PercentWorked {
            target,
            respond_within,
            calendar,
        } => {
            percent_worked(
                o,
                store,
                t,
                target,
                respond_within.as_secs(),
                calendar.as_deref(),
            )
            .await
        }
        Spec::ContactAttempts {
            target,
            min_attempts,
        } => contact_attempts(o, store, t, target, *min_attempts).await,
        Spec::Profitability {
            lookback,
            cost_per_attempt,
            min_sample,
            checks,
        } => {
            let required = checks
                .as_deref()
                .and_then(|name| rules.objective(name))
                .and_then(|c| match c.spec {
                    Spec::ContactAttempts { min_attempts, .. } => Some(min_attempts),
                    _ => None,
                });
            profitability(
                o,
                store,
                t,
                lookback.to_chrono(),
                *cost_per_attempt,
                *min_sample,
                required,
            )
            .await
        }
    }
}

/// The group a lead falls in.
fn group_of(by: Option<GroupBy>, lead: &LeadRow) -> String {
    match by {
        None => "all".to_owned(),
        Some(_) => lead.group.clone().unwrap_or_else(|| "unknown".to_owned()),
    }
}

/// Per-group accumulators, seeded with the groups that must appear even when
/// they have no rows: `all` without `by`, and every group a target names.
fn seeded<A: Default>(by: Option<GroupBy>, target: Option<&Target>) -> BTreeMap<String, A> {
    let mut groups = BTreeMap::new();
    match by {
        None => {
            groups.insert("all".to_owned(), A::default());
        }
        Some(_) => {
            if let Some(Target::PerGroup { groups: named, .. }) = target {
                for g in named.keys() {
                    groups.insert(g.clone(), A::default());
                }
            }
        }
    }
    groups
}

fn time(t: DateTime<Utc>) -> Value {
    Value::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds()
        .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6)
}

/// A ratio's result: `value = numerator / denominator`, `breached` below target,
/// `no_data` on an empty denominator.
fn ratio(group: String, target: Option<f64>, numerator: u64, denominator: u64) -> GroupResult {
    let mut r = GroupResult::new(group, Status::NoData);
    r.target = target;
    r.numerator = Some(numerator as f64);
    r.denominator = Some(denominator as f64);
    if denominator > 0 {
        let v = numerator as f64 / denominator as f64;
        r.value = Some(v);
        r.status = match target {
            Some(goal) if v < goal => Status::Breached,
            _ => Status::Ok,
        };
    }
    r
}

async fn lead_volume(
    o: &Objective,
    store: &Store,
    t: DateTime<Utc>,
    target: &Target,
    warn_below: f64,
    calendar: Option<&Calendar>,
) -> Result<Vec<GroupResult>, EvalError> {
    let period = Period::containing(o.window, o.timezone, t);
    let leads = store
        .window_leads(LeadRange::MqlAt, period.start, t, t, o.by, false)
        .await?;
    // The elapsed part of the period: all of a rolling window; of a calendar
    // period, the share of its (business) time before t.
    let elapsed = if !o.window.is_calendar_period() {
        Some(1.0)
    } else {
        let (done, whole) = match calendar {
            Some(cal) => (
                business_secs(cal, period.start, t) as f64,
                business_secs(cal, period.start, period.end) as f64,
            ),
            None => (secs(t - period.start), secs(period.end - period.start)),
        };
        (whole > 0.0).then(|| (done / whole).clamp(0.0, 1.0))
    };
    let mut groups: BTreeMap<String, u64> = seeded(o.by, Some(target));
    for lead in &leads {
        *groups.entry(group_of(o.by, lead)).or_default() += 1;
    }
    Ok(groups
        .into_iter()
        .map(|(group, delivered)| {
            let goal = target.for_group(&group);
            let expected = goal.zip(elapsed).map(|(g, e)| g * e);
            let pace = expected.filter(|e| *e > 0.0).map(|e| delivered as f64 / e);
            let attainment = goal.filter(|g| *g > 0.0).map(|g| delivered as f64 / g);
            let status = match (goal, pace) {
                (Some(_), Some(p)) if p < warn_below => Status::AtRisk,
                _ => Status::Ok,
            };
            let mut r = GroupResult::new(group, status);
            r.value = Some(delivered as f64);
            r.target = goal;
            r.details = detail_map([
                ("delivered", Value::from(delivered)),
                ("expected", num(expected)),
                ("pace", num(pace)),
                ("attainment", num(attainment)),
                ("elapsed", num(elapsed)),
                ("window_start", time(period.start)),
                ("period_end", time(period.end)),
            ]);
            r
        })
        .collect())
}

fn detail_map<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

async fn lead_quality(
    o: &Objective,
    store: &Store,
    t: DateTime<Utc>,
    target: &Target,
    mature_after: chrono::TimeDelta,
) -> Result<Vec<GroupResult>, EvalError> {
    let period = Period::containing(o.window, o.timezone, t);
    let cohort_end = t - mature_after;
    let leads = store
        .window_leads(LeadRange::MqlAt, period.start, cohort_end, t, o.by, false)
        .await?;
    #[derive(Default)]
    struct Acc {
        cohort: u64,
        accepted: u64,
        rejected: u64,
    }
    let mut groups: BTreeMap<String, Acc> = seeded(o.by, Some(target));
    for lead in &leads {
        let acc = groups.entry(group_of(o.by, lead)).or_default();
        acc.cohort += 1;
        let accepted = lead.accepted_at.is_some_and(|a| a < t);
        let rejected = lead.rejected_at.is_some_and(|r| r < t);
        if accepted {
            acc.accepted += 1;
        } else if rejected {
            acc.rejected += 1;
        }
    }
    Ok(groups
        .into_iter()
        .map(|(group, acc)| {
            let goal = target.for_group(&group);
            let mut r = ratio(group, goal, acc.accepted, acc.accepted + acc.rejected);
            r.details = detail_map([
                ("accepted", Value::from(acc.accepted)),
                ("rejected", Value::from(acc.rejected)),
                (
                    "undecided",
                    Value::from(acc.cohort - acc.accepted - acc.rejected),
                ),
                ("cohort", Value::from(acc.cohort)),
                ("window_start", time(period.start)),
                ("cohort_end", time(cohort_end.max(period.start))),
            ]);
            r
        })
        .collect())
}

/// Nearest-rank percentile of sorted values: the value at rank ⌈p·n⌉.
fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

async fn percent_worked(
    o: &Objective,
    store: &Store,
    t: DateTime<Utc>,
    target: &Target,
    respond_within: u64,
    calendar: Option<&Calendar>,
) -> Result<Vec<GroupResult>, EvalError> {
    let period = Period::containing(o.window, o.timezone, t);
    let leads = store
        .window_leads(LeadRange::MqlAt, period.start, t, t, o.by, true)
        .await?;
    #[derive(Default)]
    struct Acc {
        eligible: u64,
        worked: u64,
        never: u64,
        responses: Vec<f64>,
        late: Vec<(DateTime<Utc>, Value)>,
    }
    let mut groups: BTreeMap<String, Acc> = seeded(o.by, Some(target));
    for lead in &leads {
        let acc = groups.entry(group_of(o.by, lead)).or_default();
        let Some(mql) = lead.mql_at else { continue };
        let deadline = match calendar {
            Some(cal) => add_business(cal, mql, respond_within),
            None => Some(mql + chrono::TimeDelta::seconds(respond_within as i64)),
        };
        // A deadline not yet passed (or never reached) is not judged yet.
        let Some(deadline) = deadline.filter(|d| *d < t) else {
            continue;
        };
        acc.eligible += 1;
        let first = lead.first_attempt;
        match first {
            Some(f) => acc.responses.push(secs(f - mql)),
            None => acc.never += 1,
        }
        if first.is_some_and(|f| f <= deadline) {
            acc.worked += 1;
        } else {
            acc.late.push((
                mql,
                json!({
                    "id": lead.id,
                    "owner": lead.owner_id,
                    "mql_at": time(mql),
                    "deadline": time(deadline),
                    "first_attempt_seconds": num(first.map(|f| secs(f - mql))),
                }),
            ));
        }
    }
    Ok(groups
        .into_iter()
        .map(|(group, mut acc)| {
            let goal = target.for_group(&group);
            acc.responses.sort_by(f64::total_cmp);
            acc.late.sort_by_key(|(m, _)| *m);
            let late_count = acc.late.len();
            let late: Vec<Value> = acc
                .late
                .into_iter()
                .take(MAX_NAMED_LEADS)
                .map(|(_, v)| v)
                .collect();
            let mut r = ratio(group, goal, acc.worked, acc.eligible);
            r.details = detail_map([
                ("p50_seconds", num(nearest_rank(&acc.responses, 0.5))),
                ("p90_seconds", num(nearest_rank(&acc.responses, 0.9))),
                ("never_attempted", Value::from(acc.never)),
                ("eligible", Value::from(acc.eligible)),
                ("worked", Value::from(acc.worked)),
                ("late", Value::from(late_count)),
                ("late_leads", Value::from(late)),
                ("window_start", time(period.start)),
            ]);
            r
        })
        .collect())
}

/// An MQL sales gave up on: closed without a won deal and without ever connecting.
struct Abandoned {
    lead: LeadRow,
    closed_at: DateTime<Utc>,
    /// Attempts before `closed_at`.
    attempts: u32,
}

/// The abandoned leads with `closed_at` in `[start, t)`.
async fn abandoned(
    store: &Store,
    start: DateTime<Utc>,
    t: DateTime<Utc>,
    by: Option<GroupBy>,
) -> Result<Vec<Abandoned>, EvalError> {
    let leads = store
        .window_leads(LeadRange::ClosedAt, start, t, t, by, true)
        .await?;
    let mut out = Vec::new();
    for lead in leads {
        let (Some(mql), Some(closed)) = (lead.mql_at, lead.closed_at) else {
            continue;
        };
        // As known at t: handed over before t, no deal won by t, never
        // connected before giving up.
        let won = lead.conversion_created_at.is_some();
        let connected = lead.first_connected.is_some_and(|c| c < closed);
        if mql >= t || won || connected {
            continue;
        }
        let attempts = u32::try_from(lead.attempts_before_close).unwrap_or(u32::MAX);
        out.push(Abandoned {
            lead,
            closed_at: closed,
            attempts,
        });
    }
    Ok(out)
}

fn named_lead(a: &Abandoned) -> Value {
    json!({
        "id": a.lead.id,
        "owner": a.lead.owner_id,
        "attempts": a.attempts,
        "closed_at": time(a.closed_at),
    })
}

async fn contact_attempts(
    o: &Objective,
    store: &Store,
    t: DateTime<Utc>,
    target: &Target,
    min_attempts: u32,
) -> Result<Vec<GroupResult>, EvalError> {
    let period = Period::containing(o.window, o.timezone, t);
    let leads = abandoned(store, period.start, t, o.by).await?;
    #[derive(Default)]
    struct Acc<'a> {
        abandoned: u64,
        compliant: u64,
        violating: Vec<&'a Abandoned>,
    }
    let mut groups: BTreeMap<String, Acc> = seeded(o.by, Some(target));
    for a in &leads {
        let acc = groups.entry(group_of(o.by, &a.lead)).or_default();
        acc.abandoned += 1;
        if a.attempts >= min_attempts {
            acc.compliant += 1;
        } else {
            acc.violating.push(a);
        }
    }
    Ok(groups
        .into_iter()
        .map(|(group, mut acc)| {
            let goal = target.for_group(&group);
            // Fewest attempts first: the worst offenders lead the list.
            acc.violating
                .sort_by(|a, b| (a.attempts, &a.lead.id).cmp(&(b.attempts, &b.lead.id)));
            let named: Vec<Value> = acc
                .violating
                .iter()
                .take(MAX_NAMED_LEADS)
                .map(|a| named_lead(a))
                .collect();
            let mut r = ratio(group, goal, acc.compliant, acc.abandoned);
            r.details = detail_map([
                ("abandoned", Value::from(acc.abandoned)),
                ("compliant", Value::from(acc.compliant)),
                ("min_attempts", Value::from(min_attempts)),
                ("violations", Value::from(acc.violating.len())),
                ("violating_leads", Value::from(named)),
                ("window_start", time(period.start)),
            ]);
            r
        })
        .collect())
}

/// One cohort lead's place on the attempt curve.
struct Reach {
    /// Attempts before the conversion deal opened, or all attempts (< t) if none.
    reach: u32,
    /// The conversion deal's amount, if the lead converted.
    converted: Option<f64>,
}

async fn profitability(
    o: &Objective,
    store: &Store,
    t: DateTime<Utc>,
    lookback: chrono::TimeDelta,
    cost: f64,
    min_sample: u64,
    required: Option<u32>,
) -> Result<Vec<GroupResult>, EvalError> {
    let start = t - lookback;
    let leads = store
        .window_leads(LeadRange::MqlAt, start, t, t, o.by, true)
        .await?;
    let mut groups: BTreeMap<String, Vec<Reach>> = seeded(o.by, None);
    for lead in &leads {
        if lead.mql_at.is_none() {
            continue;
        }
        let reach = match (lead.conversion_created_at, lead.conversion_amount) {
            (Some(_), Some(amount)) => Reach {
                reach: u32::try_from(lead.attempts_before_conversion).unwrap_or(u32::MAX),
                converted: Some(amount),
            },
            _ => Reach {
                reach: u32::try_from(lead.attempts).unwrap_or(u32::MAX),
                converted: None,
            },
        };
        groups.entry(group_of(o.by, lead)).or_default().push(reach);
    }
    let leaks = abandoned(store, start, t, o.by).await?;
    let mut leaks_by_group: BTreeMap<String, Vec<&Abandoned>> = BTreeMap::new();
    for a in &leaks {
        leaks_by_group
            .entry(group_of(o.by, &a.lead))
            .or_default()
            .push(a);
    }
    Ok(groups
        .into_iter()
        .map(|(group, cohort)| {
            let converted: Vec<f64> = cohort.iter().filter_map(|r| r.converted).collect();
            let avg_revenue = (!converted.is_empty())
                .then(|| converted.iter().sum::<f64>() / converted.len() as f64);
            let mql_value = (!cohort.is_empty())
                .then(|| converted.len() as f64 / cohort.len() as f64 * avg_revenue.unwrap_or(0.0));
            // The curve, k ≥ 1. Converted leads with k = 0 have reach 0 and so
            // fall out of every n_k and c_k.
            let max_k = cohort.iter().map(|r| r.reach).max().unwrap_or(0);
            let mut n = vec![0u64; max_k as usize + 1];
            let mut c = vec![0u64; max_k as usize + 1];
            for r in &cohort {
                for n_k in &mut n[1..=r.reach as usize] {
                    *n_k += 1;
                }
                if r.converted.is_some() && r.reach >= 1 {
                    c[r.reach as usize] += 1;
                }
            }
            let ev: Vec<f64> = (1..=max_k as usize)
                .map(|k| c[k] as f64 / n[k] as f64 * avg_revenue.unwrap_or(0.0))
                .collect();
            let cutoff = (1..=max_k as usize)
                .rev()
                .find(|&k| n[k] >= min_sample && ev[k - 1] >= cost);
            let status = match (cutoff, required) {
                (None, _) => Status::NoData,
                (Some(k), Some(req)) if req as usize > k => Status::Breached,
                _ => Status::Ok,
            };
            let mut leakage: Vec<&Abandoned> = match cutoff {
                Some(k) => leaks_by_group
                    .get(&group)
                    .into_iter()
                    .flatten()
                    .filter(|a| (a.attempts as usize) < k)
                    .copied()
                    .collect(),
                None => Vec::new(),
            };
            leakage.sort_by(|a, b| (a.attempts, &a.lead.id).cmp(&(b.attempts, &b.lead.id)));
            let mut r = GroupResult::new(group, status);
            r.value = cutoff.map(|k| k as f64);
            r.details = detail_map([
                ("cutoff", num(cutoff.map(|k| k as f64))),
                ("mql_value", num(mql_value)),
                ("avg_revenue", num(avg_revenue)),
                (
                    "expected_value",
                    Value::from(ev.iter().map(|x| num(Some(*x))).collect::<Vec<_>>()),
                ),
                ("leads_reaching", Value::from(n[1..].to_vec())),
                ("conversions_at", Value::from(c[1..].to_vec())),
                ("cohort", Value::from(cohort.len())),
                ("converted", Value::from(converted.len())),
                ("cost_per_attempt", num(Some(cost))),
                ("min_sample", Value::from(min_sample)),
                ("required_attempts", num(required.map(f64::from))),
                ("leakage", Value::from(leakage.len())),
                (
                    "leakage_leads",
                    Value::from(
                        leakage
                            .iter()
                            .take(MAX_NAMED_LEADS)
                            .map(|a| named_lead(a))
                            .collect::<Vec<_>>(),
                    ),
                ),
                ("window_start", time(start)),
            ]);
            r
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_percentiles() {
        let xs = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0];
        // p50 of 10: rank ⌈5⌉ = 5 → 50; p90: rank ⌈9⌉ = 9 → 90.
        assert_eq!(nearest_rank(&xs, 0.5), Some(50.0));
        assert_eq!(nearest_rank(&xs, 0.9), Some(90.0));
        // One value is every percentile; three values: p50 rank ⌈1.5⌉ = 2.
        assert_eq!(nearest_rank(&[7.0], 0.9), Some(7.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }
}
