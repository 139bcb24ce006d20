//! Each kind's reads (docs/eval.md): which windows it asks the store about, at
//! which instants. The arithmetic on the answers is in `figures`.

use chrono::{DateTime, Utc};

use super::figures::{self, ProfitabilityRule, Worked};
use super::period::Period;
use super::result::GroupResult;
use super::{EvalError, MAX_NAMED_LEADS};
use crate::rules::{Objective, Spec};
use crate::store::Reader;

/// Reads what `o` needs at `t` through `reader` and works out its results, for
/// the calendar period `period` (the one containing `t`, or one that closed at
/// `t`).
pub(super) async fn run(
    o: &Objective,
    reader: &mut Reader,
    t: DateTime<Utc>,
    period: Period,
) -> Result<Vec<GroupResult>, EvalError> {
    let mut results = match &o.spec {
        Spec::LeadVolume {
            target,
            warn_below,
            calendar,
        } => {
            let counts = reader.mql_counts(o.by, period.start, t).await?;
            let elapsed = figures::elapsed(o.window, period, t, calendar.as_deref());
            figures::lead_volume(o.by, target, *warn_below, elapsed, period, &counts)
        }
        Spec::LeadQuality {
            target,
            mature_after,
        } => {
            let cohort_end = t - mature_after.to_chrono();
            let counts = reader
                .judged_counts(o.by, period.start, cohort_end, t)
                .await?;
            figures::lead_quality(o.by, target, period.start, cohort_end, &counts)
        }
        Spec::PercentWorked {
            target,
            respond_within,
            calendar,
        } => {
            let mut worked = Worked::new(
                o.by,
                target,
                respond_within.as_secs(),
                calendar.as_deref(),
                t,
            );
            reader
                .first_attempts(o.by, period.start, t, t, &mut |lead| worked.add(lead))
                .await?;
            worked.finish(target, period.start)
        }
        Spec::ContactAttempts {
            target,
            min_attempts,
        } => {
            let abandoned = reader
                .abandoned(o.by, period.start, t, t, MAX_NAMED_LEADS)
                .await?;
            figures::contact_attempts(o.by, target, min_attempts, period.start, &abandoned)
        }
        Spec::Profitability {
            lookback,
            cost_per_attempt,
            min_sample,
            min_conversions,
            checks,
        } => {
            let start = t - lookback.to_chrono();
            let reach = reader.reach(o.by, start, t, t).await?;
            let abandoned = reader.abandoned(o.by, start, t, t, MAX_NAMED_LEADS).await?;
            let rule = ProfitabilityRule {
                by: o.by,
                cost_per_attempt: *cost_per_attempt,
                min_sample: *min_sample,
                min_conversions: *min_conversions,
                currency: o.currency.clone(),
                required: checks.as_ref().map(|c| c.min_attempts.clone()),
                window_start: start,
            };
            figures::profitability(&rule, &reach, &abandoned)
        }
    };
    // Every rep named gets the name beside the id: one read of the reps the
    // results name, however many leads they count.
    let by_rep = o.by == Some(crate::model::GroupBy::Rep);
    let mut ids = std::collections::BTreeSet::new();
    for r in &results {
        r.rep_ids(by_rep, &mut ids);
    }
    let ids: Vec<&str> = ids.into_iter().collect();
    let names = reader.rep_names(&ids).await?;
    drop(ids);
    for r in &mut results {
        r.name_reps(by_rep, &names);
    }
    Ok(results)
}
