//! The arithmetic of each kind (docs/eval.md): from what the store returns (counts
//! per group, histograms, the first few offenders, first attempts) to figures and
//! statuses. Pure: no I/O, no clock; every input is an argument.

use std::collections::{BTreeMap, BinaryHeap};

use chrono::{DateTime, TimeDelta, Utc};

use super::MAX_NAMED_LEADS;
use super::period::Period;
use super::result::{
    AttemptsDetails, Details, GroupResult, LateLead, NamedLead, OverdueLead, ProfitabilityDetails,
    QualityDetails, RepAttempts, RepWorked, Status, VolumeDetails, WorkedDetails,
};
use crate::model::GroupBy;
use crate::rules::{Calendar, MinAttempts, Target, Window};
use crate::store::{Abandoned, AbandonedLead, FirstAttempt, JudgedCounts, MqlCount, Reach};

/// The name of the group a value of the `by` column falls in: `all` without
/// `by`, `unknown` for null.
pub(crate) fn group_name(by: Option<GroupBy>, value: Option<&str>) -> String {
    match (by, value) {
        (None, _) => "all".to_owned(),
        (Some(_), Some(v)) => v.to_owned(),
        (Some(_), None) => "unknown".to_owned(),
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

fn secs(d: TimeDelta) -> f64 {
    d.num_microseconds()
        .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6)
}

/// A ratio's result: `value = numerator / denominator`, `breached` below target,
/// `no_data` on an empty denominator.
fn ratio(
    group: String,
    target: Option<f64>,
    numerator: u64,
    denominator: u64,
    details: Details,
) -> GroupResult {
    let value = (denominator > 0).then(|| numerator as f64 / denominator as f64);
    let status = match (value, target) {
        (None, _) => Status::NoData,
        (Some(v), Some(goal)) if v < goal => Status::Breached,
        (Some(_), _) => Status::Ok,
    };
    GroupResult {
        group,
        group_name: None,
        status,
        value,
        target,
        numerator: Some(numerator as f64),
        denominator: Some(denominator as f64),
        details,
    }
}

/// The elapsed part of a lead_volume period at `t`: all of a rolling window; of
/// a calendar period, the share of its time (business time with a calendar)
/// before `t`. `None` when the period has no (business) time at all.
pub(crate) fn elapsed(
    window: Window,
    period: Period,
    t: DateTime<Utc>,
    calendar: Option<&Calendar>,
) -> Option<f64> {
    if !window.is_calendar_period() {
        return Some(1.0);
    }
    let (done, whole) = match calendar {
        Some(cal) => (
            cal.open_secs_between(period.start, t) as f64,
            cal.open_secs_between(period.start, period.end) as f64,
        ),
        None => (secs(t - period.start), secs(period.end - period.start)),
    };
    (whole > 0.0).then(|| (done / whole).clamp(0.0, 1.0))
}

/// lead_volume: delivered against the target, expected by now, pace.
pub(crate) fn lead_volume(
    by: Option<GroupBy>,
    target: &Target,
    warn_below: f64,
    elapsed: Option<f64>,
    period: Period,
    counts: &[MqlCount],
) -> Vec<GroupResult> {
    let mut groups: BTreeMap<String, u64> = seeded(by, Some(target));
    for c in counts {
        *groups
            .entry(group_name(by, c.group.as_deref()))
            .or_default() += c.leads;
    }
    groups
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
            GroupResult {
                group,
                group_name: None,
                status,
                value: Some(delivered as f64),
                target: goal,
                numerator: None,
                denominator: None,
                details: Details::LeadVolume(VolumeDetails {
                    attainment,
                    delivered,
                    elapsed,
                    expected,
                    pace,
                    period_end: period.end,
                    window_start: period.start,
                }),
            }
        })
        .collect()
}

/// lead_quality: accepted over judged (accepted + rejected).
pub(crate) fn lead_quality(
    by: Option<GroupBy>,
    target: &Target,
    window_start: DateTime<Utc>,
    cohort_end: DateTime<Utc>,
    counts: &[JudgedCounts],
) -> Vec<GroupResult> {
    let mut groups: BTreeMap<String, (JudgedCounts, BTreeMap<String, u64>)> =
        seeded(by, Some(target));
    for c in counts {
        let (g, reasons) = groups
            .entry(group_name(by, c.group.as_deref()))
            .or_default();
        g.cohort += c.cohort;
        g.accepted += c.accepted;
        g.rejected += c.rejected;
        if let Some(reason) = c.reason.as_ref().filter(|_| c.decided > 0) {
            *reasons.entry(reason.clone()).or_default() += c.decided;
        }
    }
    groups
        .into_iter()
        .map(|(group, (c, close_reasons))| {
            let goal = target.for_group(&group);
            let details = Details::LeadQuality(QualityDetails {
                accepted: c.accepted,
                close_reasons,
                cohort: c.cohort,
                cohort_end: cohort_end.max(window_start),
                rejected: c.rejected,
                undecided: c.cohort - c.accepted - c.rejected,
                window_start,
            });
            ratio(group, goal, c.accepted, c.accepted + c.rejected, details)
        })
        .collect()
}

/// Nearest-rank percentile of sorted values: the value at rank ⌈p·n⌉.
pub(crate) fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// A late lead, ordered by (hand-off, id) so that the heap keeps the first ones.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Late {
    mql_at: DateTime<Utc>,
    id: String,
    owner: Option<String>,
    deadline: DateTime<Utc>,
    first_attempt: Option<DateTime<Utc>>,
}

/// An overdue lead, ordered by (deadline, id) so that the heap keeps the
/// first ones.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Overdue {
    deadline: DateTime<Utc>,
    id: String,
    mql_at: DateTime<Utc>,
    owner: Option<String>,
}

/// Keeps the least `MAX_NAMED_LEADS` items pushed: a max-heap whose top goes
/// when a lesser one arrives.
fn keep_first<T: Ord>(heap: &mut BinaryHeap<T>, item: T) {
    if heap.len() < MAX_NAMED_LEADS {
        heap.push(item);
    } else if heap.peek().is_some_and(|top| item < *top) {
        heap.pop();
        heap.push(item);
    }
}

#[derive(Default)]
struct WorkedGroup {
    eligible: u64,
    worked: u64,
    never: u64,
    responses: Vec<f64>,
    late: u64,
    overdue: u64,
    /// The first late leads not overdue, by (mql_at, id).
    first_late: BinaryHeap<Late>,
    /// The first overdue leads by (deadline, id).
    first_overdue: BinaryHeap<Overdue>,
    /// Per owner (`None`: unassigned).
    reps: BTreeMap<Option<String>, RepWorked>,
}

/// Per-rep tallies in the order people act on them: the most failures first,
/// then by rep id; the unassigned apart.
fn by_failures<T>(
    mut reps: BTreeMap<Option<String>, T>,
    failures: impl Fn(&T) -> u64,
) -> (Vec<T>, Option<T>) {
    let unassigned = reps.remove(&None);
    let mut owned: Vec<(String, T)> = reps
        .into_iter()
        .filter_map(|(rep, t)| Some((rep?, t)))
        .collect();
    owned.sort_by(|(a, x), (b, y)| failures(y).cmp(&failures(x)).then_with(|| a.cmp(b)));
    (owned.into_iter().map(|(_, t)| t).collect(), unassigned)
}

/// percent_worked, folded one lead at a time.
pub(crate) struct Worked<'a> {
    by: Option<GroupBy>,
    respond_within: u64,
    calendar: Option<&'a Calendar>,
    at: DateTime<Utc>,
    groups: BTreeMap<String, WorkedGroup>,
}

impl<'a> Worked<'a> {
    pub(crate) fn new(
        by: Option<GroupBy>,
        target: &Target,
        respond_within: u64,
        calendar: Option<&'a Calendar>,
        at: DateTime<Utc>,
    ) -> Worked<'a> {
        Worked {
            by,
            respond_within,
            calendar,
            at,
            groups: seeded(by, Some(target)),
        }
    }

    /// The deadline of a lead handed over at `mql_at`: `respond_within` later,
    /// counting open hours only with a calendar. `None`: never reached.
    pub(crate) fn deadline(&self, mql_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.calendar {
            Some(cal) => cal.add_open_secs(mql_at, self.respond_within),
            None => i64::try_from(self.respond_within)
                .ok()
                .and_then(TimeDelta::try_seconds)
                .and_then(|d| mql_at.checked_add_signed(d)),
        }
    }

    /// Counts one lead handed over in the window.
    pub(crate) fn add(&mut self, lead: FirstAttempt) {
        let deadline = self.deadline(lead.mql_at);
        let g = self
            .groups
            .entry(group_name(self.by, lead.group.as_deref()))
            .or_default();
        // A deadline not yet passed (or never reached) is not judged yet.
        let Some(deadline) = deadline.filter(|d| *d < self.at) else {
            return;
        };
        let rep = g
            .reps
            .entry(lead.owner.clone())
            .or_insert_with(|| RepWorked {
                rep: lead.owner.clone(),
                ..RepWorked::default()
            });
        g.eligible += 1;
        rep.eligible += 1;
        match lead.first_attempt {
            Some(f) => g.responses.push(secs(f - lead.mql_at)),
            None => {
                g.never += 1;
                rep.never_attempted += 1;
            }
        }
        if lead.first_attempt.is_some_and(|f| f <= deadline) {
            g.worked += 1;
            rep.worked += 1;
            return;
        }
        g.late += 1;
        rep.late += 1;
        if lead.first_attempt.is_none() && lead.open {
            g.overdue += 1;
            rep.overdue_open += 1;
            let overdue = Overdue {
                deadline,
                id: lead.id,
                mql_at: lead.mql_at,
                owner: lead.owner,
            };
            keep_first(&mut g.first_overdue, overdue);
            return;
        }
        let late = Late {
            mql_at: lead.mql_at,
            id: lead.id,
            owner: lead.owner,
            deadline,
            first_attempt: lead.first_attempt,
        };
        keep_first(&mut g.first_late, late);
    }

    /// The results, one per group.
    pub(crate) fn finish(self, target: &Target, window_start: DateTime<Utc>) -> Vec<GroupResult> {
        let (calendar, at) = (self.calendar, self.at);
        // How long past its deadline a lead is: business time with a calendar.
        let overdue_secs = |deadline: DateTime<Utc>| match calendar {
            Some(cal) => cal.open_secs_between(deadline, at) as f64,
            None => secs(at - deadline),
        };
        self.groups
            .into_iter()
            .map(|(group, mut g)| {
                let goal = target.for_group(&group);
                g.responses.sort_by(f64::total_cmp);
                let late_leads = g
                    .first_late
                    .into_sorted_vec()
                    .into_iter()
                    .map(|l| LateLead {
                        deadline: l.deadline,
                        first_attempt_seconds: l.first_attempt.map(|f| secs(f - l.mql_at)),
                        id: l.id,
                        mql_at: l.mql_at,
                        owner: l.owner,
                        owner_name: None,
                    })
                    .collect();
                let overdue_leads = g
                    .first_overdue
                    .into_sorted_vec()
                    .into_iter()
                    .map(|l| OverdueLead {
                        deadline: l.deadline,
                        id: l.id,
                        mql_at: l.mql_at,
                        overdue_seconds: overdue_secs(l.deadline),
                        owner: l.owner,
                        owner_name: None,
                    })
                    .collect();
                let (by_rep, unassigned) = by_failures(g.reps, |r| r.late);
                let details = Details::PercentWorked(WorkedDetails {
                    by_rep,
                    eligible: g.eligible,
                    late: g.late,
                    late_leads,
                    never_attempted: g.never,
                    overdue_open: g.overdue,
                    overdue_leads,
                    p50_seconds: nearest_rank(&g.responses, 0.5),
                    p90_seconds: nearest_rank(&g.responses, 0.9),
                    response_seconds_sum: g.responses.iter().sum(),
                    unassigned,
                    window_start,
                    worked: g.worked,
                });
                ratio(group, goal, g.worked, g.eligible, details)
            })
            .collect()
    }
}

fn named(a: &AbandonedLead) -> NamedLead {
    NamedLead {
        attempts: a.attempts,
        closed_at: a.closed_at,
        id: a.id.clone(),
        owner: a.owner.clone(),
        owner_name: None,
    }
}

/// Per group: how many were given up on with fewer than the group's minimum
/// (`below` of the group's name),
/// how many in all, the first few of those below, and both per owner.
#[derive(Default)]
struct GivenUp {
    all: u64,
    below: u64,
    named: Vec<NamedLead>,
    reps: BTreeMap<Option<String>, RepAttempts>,
}

fn given_up(
    by: Option<GroupBy>,
    abandoned: &Abandoned,
    below: impl Fn(&str) -> u32,
) -> BTreeMap<String, GivenUp> {
    let mut groups: BTreeMap<String, GivenUp> = BTreeMap::new();
    for c in &abandoned.counts {
        let name = group_name(by, c.group.as_deref());
        let min = below(&name);
        let g = groups.entry(name).or_default();
        let rep = g
            .reps
            .entry(c.owner.clone())
            .or_insert_with(|| RepAttempts {
                rep: c.owner.clone(),
                ..RepAttempts::default()
            });
        g.all += c.leads;
        rep.abandoned += c.leads;
        if c.attempts < min {
            g.below += c.leads;
            rep.violating += c.leads;
        }
    }
    // `first` holds, per group, owned or not and number of attempts, the
    // first leads by id: the first offenders by (unowned, attempts, id) below
    // any bound are among them.
    let mut offenders: Vec<&AbandonedLead> = abandoned
        .first
        .iter()
        .filter(|a| a.attempts < below(&group_name(by, a.group.as_deref())))
        .collect();
    offenders.sort_by(|a, b| {
        (&a.group, a.owner.is_none(), a.attempts, &a.id).cmp(&(
            &b.group,
            b.owner.is_none(),
            b.attempts,
            &b.id,
        ))
    });
    for a in offenders {
        let g = groups
            .entry(group_name(by, a.group.as_deref()))
            .or_default();
        if g.named.len() < MAX_NAMED_LEADS {
            g.named.push(named(a));
        }
    }
    groups
}

/// contact_attempts: compliant over abandoned.
pub(crate) fn contact_attempts(
    by: Option<GroupBy>,
    target: &Target,
    min_attempts: &MinAttempts,
    window_start: DateTime<Utc>,
    abandoned: &Abandoned,
) -> Vec<GroupResult> {
    let mut groups: BTreeMap<String, GivenUp> = seeded(by, Some(target));
    for (name, g) in given_up(by, abandoned, |g| min_attempts.for_group(g)) {
        groups.insert(name, g);
    }
    groups
        .into_iter()
        .map(|(group, g)| {
            let goal = target.for_group(&group);
            let compliant = g.all - g.below;
            let (by_rep, unassigned) = by_failures(g.reps, |r| r.violating);
            let details = Details::ContactAttempts(AttemptsDetails {
                abandoned: g.all,
                by_rep,
                compliant,
                min_attempts: min_attempts.for_group(&group),
                unassigned,
                violating_leads: g.named,
                violations: g.below,
                window_start,
            });
            ratio(group, goal, compliant, g.all, details)
        })
        .collect()
}

/// What profitability is given besides the data.
pub(crate) struct ProfitabilityRule {
    pub by: Option<GroupBy>,
    pub cost_per_attempt: f64,
    pub min_sample: u64,
    pub min_conversions: u64,
    pub currency: Option<String>,
    /// The `min_attempts` the SLA demands (of the objective it `checks`).
    pub required: Option<MinAttempts>,
    pub window_start: DateTime<Utc>,
}

#[derive(Default)]
struct Curve {
    cohort: u64,
    converted: u64,
    revenue_cents: i64,
    /// (reach, converted) → leads.
    reach: BTreeMap<(u32, bool), u64>,
}

/// profitability: the attempt curve, the cutoff, the value of an MQL, leakage.
pub(crate) fn profitability(
    rule: &ProfitabilityRule,
    reach: &[Reach],
    abandoned: &Abandoned,
) -> Vec<GroupResult> {
    let by = rule.by;
    let mut groups: BTreeMap<String, Curve> = seeded(by, None);
    for r in reach {
        let c = groups
            .entry(group_name(by, r.group.as_deref()))
            .or_default();
        c.cohort += r.leads;
        if r.converted {
            c.converted += r.leads;
            c.revenue_cents += r.revenue_cents;
        }
        *c.reach.entry((r.reach, r.converted)).or_default() += r.leads;
    }
    groups
        .into_iter()
        .map(|(group, c)| {
            // Amounts add up exactly in cents; one division makes the mean.
            let avg_revenue =
                (c.converted > 0).then(|| c.revenue_cents as f64 / (c.converted as f64 * 100.0));
            let mql_value = (c.cohort > 0)
                .then(|| c.converted as f64 / c.cohort as f64 * avg_revenue.unwrap_or(0.0));
            // The curve, k ≥ 1: n_k = leads with reach ≥ k; c_k = converted leads
            // with conversion attempt k. Converted leads with k = 0 have reach 0
            // and so fall out of every n_k and c_k.
            let max_k = c
                .reach
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|((k, _), _)| *k)
                .max()
                .unwrap_or(0) as usize;
            let mut n = vec![0u64; max_k + 1];
            let mut conv = vec![0u64; max_k + 1];
            for (&(k, converted), &leads) in &c.reach {
                let k = k as usize;
                if converted && k >= 1 {
                    conv[k] += leads;
                }
                for n_k in &mut n[1..=k] {
                    *n_k += leads;
                }
            }
            let ev: Vec<f64> = (1..=max_k)
                .map(|k| conv[k] as f64 / n[k] as f64 * avg_revenue.unwrap_or(0.0))
                .collect();
            let cutoff = (1..=max_k)
                .rev()
                .find(|&k| n[k] >= rule.min_sample && ev[k - 1] >= rule.cost_per_attempt)
                .map(|k| u32::try_from(k).unwrap_or(u32::MAX));
            let required = rule.required.as_ref().map(|m| m.for_group(&group));
            let status = match (cutoff, required) {
                (None, _) => Status::NoData,
                // Too few sales to judge the SLA by: the curve is noise.
                _ if c.converted < rule.min_conversions => Status::NoData,
                (Some(k), Some(req)) if req > k => Status::Breached,
                _ => Status::Ok,
            };
            // Leakage: given up on with fewer attempts than pay; none without a cutoff.
            let leak = cutoff
                .map(|k| {
                    given_up(by, abandoned, |_| k)
                        .remove(&group)
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            let leakage_value = mql_value
                .filter(|_| cutoff.is_some())
                .map(|v| v * leak.below as f64);
            GroupResult {
                group,
                group_name: None,
                status,
                value: cutoff.map(f64::from),
                target: None,
                numerator: None,
                denominator: None,
                details: Details::Profitability(Box::new(ProfitabilityDetails {
                    avg_revenue,
                    cohort: c.cohort,
                    conversions_at: conv[1..].to_vec(),
                    converted: c.converted,
                    cost_per_attempt: rule.cost_per_attempt,
                    currency: rule.currency.clone(),
                    cutoff,
                    expected_value: ev,
                    leads_reaching: n[1..].to_vec(),
                    leakage: leak.below,
                    leakage_leads: leak.named,
                    leakage_value,
                    min_conversions: rule.min_conversions,
                    min_sample: rule.min_sample,
                    mql_value,
                    required_attempts: required,
                    window_start: rule.window_start,
                })),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
