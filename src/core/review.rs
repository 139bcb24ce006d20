//! The monthly review (docs/REVIEW.md): each promise over a closed calendar
//! period beside the periods before it, lead flow and acceptance by channel,
//! the reps, the economics, the alerts and the SLA's changes.
//!
//! Every figure is computed from the lead data: an objective's figures for a
//! period are the objective evaluated with its window replaced by the period
//! and `t` = the period's end ([`crate::eval::run_over`]), so a review of data
//! imported a minute ago is the same as one the daemon watched all month, on
//! every backend. Only the alerts and the changes come from the daemon's
//! record (they are empty where it has none).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::codes::Status;
use crate::eval::period::{Period, local_instant};
use crate::eval::{self, Details, GroupResult, timeout_for};
use crate::model::GroupBy;
use crate::rules::{Kind, Objective, ReviewEvery, RuleSet, Spec, Trend, TrendCompare, Window};
use crate::store::{Store, StoreError};

/// The years a period may be named in (`--period`, `/review/PERIOD`).
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// A closed calendar period the review covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReviewPeriod {
    /// `2026-11` for a month, `2026-Q4` for a quarter.
    pub label: String,
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub end: DateTime<Utc>,
    /// A month or a quarter (the label says it too).
    #[serde(skip)]
    pub every: ReviewEvery,
}

impl ReviewPeriod {
    /// The period as the evaluator takes it.
    pub fn span(&self) -> Period {
        Period {
            start: self.start,
            end: self.end,
        }
    }
}

/// The calendar of review periods: month or quarter, in one time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periods {
    pub every: ReviewEvery,
    pub tz: Tz,
}

impl Periods {
    /// The periods of `rules`: `review.period` (default month) in the rules' zone.
    pub fn of(rules: &RuleSet) -> Periods {
        Periods {
            every: rules.review_every(),
            tz: rules.timezone(),
        }
    }

    /// The period whose first day is `first` (a month's or a quarter's first day).
    fn starting(self, first: NaiveDate) -> ReviewPeriod {
        let noon = local_instant(
            self.tz,
            first.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN)),
        );
        let p = Period::containing(self.every.window(), self.tz, noon);
        let label = match self.every {
            ReviewEvery::Month => format!("{:04}-{:02}", first.year(), first.month()),
            ReviewEvery::Quarter => format!("{:04}-Q{}", first.year(), first.month0() / 3 + 1),
        };
        ReviewPeriod {
            label,
            start: p.start,
            end: p.end,
            every: self.every,
        }
    }

    /// The period containing `t`.
    pub fn containing(self, t: DateTime<Utc>) -> ReviewPeriod {
        let p = Period::containing(self.every.window(), self.tz, t);
        self.starting(p.start.with_timezone(&self.tz).date_naive())
    }

    /// The period before `p`.
    pub fn before(self, p: &ReviewPeriod) -> ReviewPeriod {
        self.containing(p.start - chrono::TimeDelta::seconds(1))
    }

    /// The same period a year before `p`.
    pub fn year_before(self, p: &ReviewPeriod) -> ReviewPeriod {
        let first = p.start.with_timezone(&self.tz).date_naive();
        let back = first
            .with_year(first.year() - 1)
            .unwrap_or(first - chrono::Days::new(365));
        self.starting(back)
    }

    /// The last period that has closed at `now`.
    pub fn last_closed(self, now: DateTime<Utc>) -> ReviewPeriod {
        self.before(&self.containing(now))
    }

    /// Reads `--period`: `last`, `2026-11` (a month) or `2026-Q4` (a
    /// quarter). The period must have closed at `now`.
    ///
    /// # Errors
    ///
    /// What was wrong with the text, or that the period has not closed yet.
    pub fn parse(self, text: &str, now: DateTime<Utc>) -> Result<ReviewPeriod, String> {
        let text = text.trim();
        let p = if text == "last" {
            self.last_closed(now)
        } else if let Some((y, q)) = text.split_once("-Q").or_else(|| text.split_once("-q")) {
            let quarter = || format!("`{text}` is not a quarter; write it as 2026-Q4");
            let (Ok(year), Ok(q)) = (y.parse::<i32>(), q.parse::<u32>()) else {
                return Err(quarter());
            };
            if !(1..=4).contains(&q) || !YEARS.contains(&year) {
                return Err(quarter());
            }
            let first = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1).ok_or_else(quarter)?;
            Periods {
                every: ReviewEvery::Quarter,
                tz: self.tz,
            }
            .starting(first)
        } else {
            let first = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
                .ok()
                .filter(|d| YEARS.contains(&d.year()))
                .ok_or_else(|| {
                    format!("`{text}` is not a period; write `last`, a month (2026-11) or a quarter (2026-Q4)")
                })?;
            Periods {
                every: ReviewEvery::Month,
                tz: self.tz,
            }
            .starting(first)
        };
        if p.end > now {
            return Err(format!(
                "{} has not closed yet: it ends {} ({}); a review is of a closed period",
                p.label,
                p.end.with_timezone(&self.tz).format("%Y-%m-%d %H:%M %Z"),
                self.tz
            ));
        }
        Ok(p)
    }

    /// The calendar of `p`: its kind, in this zone.
    pub fn of_period(self, p: &ReviewPeriod) -> Periods {
        Periods {
            every: p.every,
            tz: self.tz,
        }
    }
}

/// When the review of `period` is mailed: `review.send_at` on the first
/// business day on or after the period's end (an open day of
/// `review.calendar`, else Monday to Friday), in the rules' zone. `None`
/// without `review:`.
pub fn mail_due(rules: &RuleSet, period: &ReviewPeriod) -> Option<DateTime<Utc>> {
    let r = rules.review()?;
    let tz = rules.timezone();
    let mut date = period.end.with_timezone(&tz).date_naive();
    for _ in 0..366 {
        let open = match &r.calendar {
            Some(c) => !c.hours_on(date).is_empty(),
            None => date.weekday().number_from_monday() <= 5,
        };
        if open {
            break;
        }
        date = date.succ_opt()?;
    }
    Some(local_instant(tz, date.and_time(r.send_at)))
}

/// The whole review: `handoff review --format json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Review {
    pub period: ReviewPeriod,
    /// The rules' time zone: periods and times read in it.
    pub timezone: String,
    /// The reporting currency, if the rules name one.
    pub currency: Option<String>,
    pub objectives: Vec<ObjectiveReview>,
    /// MQLs per period and channel, the review's period last.
    pub flow: Vec<FlowPeriod>,
    pub channels: Vec<ChannelReview>,
    pub reps: Vec<RepReview>,
    /// The profitability objectives' figures for the period.
    pub economics: Vec<Economics>,
    pub alerts: Vec<AlertReview>,
    pub changes: Vec<ChangeReview>,
    /// When the daemon mails this review (`review:`; null without it): the
    /// first run after `review.send_at` on the first business day after
    /// the period.
    #[serde(serialize_with = "ser_opt_time")]
    pub mail_due: Option<DateTime<Utc>>,
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

/// One objective over the period and the periods it is compared with.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectiveReview {
    pub name: String,
    pub kind: Kind,
    pub description: Option<String>,
    pub owner: Vec<String>,
    /// The review's period first, then the two before and the same period a
    /// year earlier (profitability: the period and a year earlier).
    pub periods: Vec<PeriodFigures>,
    /// Against the period before, per group: lead_volume's growth (relative),
    /// a ratio's change in points.
    pub change: Vec<GroupChange>,
    /// The `trend:` reading of the period, when the objective has one.
    pub trend: Vec<TrendReading>,
    /// Why the figures carry no verdict, when they do not (a lead_volume
    /// target is per its own window, which is not the review's period).
    pub note: Option<String>,
}

/// An objective's figures over one period.
#[derive(Clone, Debug, Serialize)]
pub struct PeriodFigures {
    pub label: String,
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub end: DateTime<Utc>,
    /// As `handoff eval` gives them.
    pub results: Vec<GroupResult>,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// A group's figure against the period before.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupChange {
    pub group: String,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    /// Relative for counts (0.05 = 5% more), points for ratios (−0.03 =
    /// three points less); `None` when either is missing (or the previous
    /// count is 0).
    pub change: Option<f64>,
}

/// MQLs of one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowPeriod {
    pub label: String,
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub end: DateTime<Utc>,
    pub mqls: u64,
    pub by_channel: BTreeMap<String, u64>,
}

/// One channel over the period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelReview {
    pub channel: String,
    pub mqls: u64,
    pub previous_mqls: u64,
    /// mqls / previous_mqls − 1; `None` when the previous period had none.
    pub growth: Option<f64>,
    /// Accepted by sales by the period's end.
    pub accepted: u64,
    /// Rejected (and not accepted) by the period's end.
    pub rejected: u64,
    /// Neither accepted nor rejected by the period's end.
    pub undecided: u64,
    /// accepted / (accepted + rejected).
    pub acceptance: Option<f64>,
    /// `close_reason` of the leads rejected or closed by the period's end.
    pub close_reasons: BTreeMap<String, u64>,
    /// Leads of the period with a won deal closed by its end.
    pub won: u64,
    /// Their conversion deals' amounts.
    pub revenue: f64,
    /// revenue / mqls.
    pub mql_value: Option<f64>,
}

/// One rep over the period (`rep` null: the leads nobody owned).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RepReview {
    pub rep: Option<String>,
    pub name: Option<String>,
    /// MQLs handed to the rep in the period.
    pub mqls: u64,
    /// Of the percent_worked objective: leads whose deadline passed in the
    /// period's view, and those attempted in time.
    pub eligible: u64,
    pub worked: u64,
    pub worked_share: Option<f64>,
    /// Median (nearest rank) time to the first attempt, in seconds.
    pub median_response_seconds: Option<f64>,
    /// Of the contact_attempts objective: leads given up on in the period,
    /// and those given up before the minimum of attempts.
    pub given_up: u64,
    pub under_minimum: u64,
    /// Leads of the period with a won deal closed by its end.
    pub won: u64,
}

/// A profitability objective's figures for one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Economics {
    pub objective: String,
    pub group: String,
    pub status: Status,
    /// The profitable cutoff (attempts).
    pub cutoff: Option<u32>,
    /// What the SLA demands (`checks`' min_attempts).
    pub required_attempts: Option<u32>,
    pub mql_value: Option<f64>,
    pub avg_revenue: Option<f64>,
    /// Sales in the cohort, and the fewest a cutoff needs to be judged.
    pub converted: u64,
    pub min_conversions: u64,
    /// The fewest leads an attempt number needs to be the cutoff.
    pub min_sample: u64,
    /// Leads given up before the cutoff, and what they were worth at the
    /// MQL value.
    pub leakage: u64,
    pub leakage_value: Option<f64>,
}

/// One alert series over the period, from the daemon's record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertReview {
    pub objective: String,
    pub group: String,
    /// Time the evaluations read `breached`, `at_risk` or `error`, from the
    /// first evaluation in the period; each result holds until the next one
    /// (at most until the next scheduled evaluation).
    pub breached_seconds: f64,
    pub at_risk_seconds: f64,
    pub error_seconds: f64,
    /// Times the alert fired.
    pub fired: u64,
    /// Mails about it the mail server took.
    pub notices: u64,
}

/// A change of what an objective measures or its target, made in the period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeReview {
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
    /// Why the rules were loaded (`SIGHUP`, `a rule file changed`, …).
    pub source: String,
    pub objective: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// One line per difference (`target: 0.95 → 0.9`).
    pub lines: Vec<String>,
}

/// A `trend:` reading of one group at a period's close.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrendReading {
    pub group: String,
    pub compare: &'static str,
    pub value: Option<f64>,
    /// The period before, or the median of the three before.
    pub baseline: Option<f64>,
    /// As [`GroupChange::change`].
    pub change: Option<f64>,
    /// The volume the reading rests on (see [`trend_of`]).
    pub volume: u64,
    /// The drop is larger than `drop`, with enough volume: news.
    pub dropped: bool,
}

/// Whether figures of `kind` are counts (compared relatively) rather than
/// ratios (compared in points).
pub fn is_count(kind: Kind) -> bool {
    matches!(kind, Kind::LeadVolume | Kind::Profitability)
}

/// `value` against `previous`: relative for counts, points for ratios.
pub fn change_of(kind: Kind, value: Option<f64>, previous: Option<f64>) -> Option<f64> {
    let (v, p) = (value?, previous?);
    if is_count(kind) {
        (p > 0.0).then(|| (v - p) / p)
    } else {
        Some(v - p)
    }
}

/// The volume a result rests on: a ratio's denominator, a volume's count,
/// profitability's cohort.
fn volume_of(r: &GroupResult) -> u64 {
    let n = match &r.details {
        Details::LeadVolume(d) => d.delivered as f64,
        Details::Profitability(d) => d.cohort as f64,
        _ => r.denominator.unwrap_or(0.0),
    };
    if n.is_finite() && n > 0.0 {
        n as u64
    } else {
        0
    }
}

/// The `trend:` reading of a closed period's result `closed` against the
/// same group in the periods before it (`before`, nearest first; `None`
/// where the group had no result). The baseline is the period before, or
/// the median of the three before (all three needed). The volume is the
/// closed period's (for lead_volume, the baseline's MQLs: a count that fell
/// to nothing still has the volume it fell from).
pub fn trend_of(
    kind: Kind,
    trend: &Trend,
    closed: &GroupResult,
    before: &[Option<&GroupResult>],
) -> TrendReading {
    let value = closed.value.filter(|_| closed.status != Status::Error);
    let values: Vec<Option<f64>> = before
        .iter()
        .take(trend.compare.periods())
        .map(|r| r.and_then(|r| r.value.filter(|_| r.status != Status::Error)))
        .collect();
    let baseline = match trend.compare {
        TrendCompare::Previous => values.first().copied().flatten(),
        TrendCompare::MedianOf3 => {
            let mut known: Vec<f64> = values.iter().flatten().copied().collect();
            if known.len() == 3 {
                known.sort_by(f64::total_cmp);
                Some(known[1])
            } else {
                None
            }
        }
    };
    let change = change_of(kind, value, baseline);
    let volume = match kind {
        Kind::LeadVolume => baseline.map_or(0, |b| b.max(0.0) as u64),
        _ => volume_of(closed),
    };
    let dropped = volume >= trend.min_denominator
        && volume > 0
        && change.is_some_and(|c| c < -trend.drop - 1e-12);
    TrendReading {
        group: closed.group.clone(),
        compare: trend.compare.as_str(),
        value,
        baseline,
        change,
        volume,
        dropped,
    }
}

/// The objective as the review measures it over a period of `every`: a
/// lead_volume target is per the objective's own window, so over another
/// period it has no verdict (docs/REVIEW.md).
fn verdict_note(o: &Objective, every: ReviewEvery) -> Option<String> {
    (o.kind() == Kind::LeadVolume && o.window != every.window()).then(|| {
        format!(
            "its target is per {}, not per {}: the MQLs are counted, not judged",
            window_word(o.window),
            every.as_str()
        )
    })
}

fn window_word(w: Window) -> String {
    match w {
        Window::Day => "day".into(),
        Window::Week => "week".into(),
        Window::Month => "month".into(),
        Window::Quarter => "quarter".into(),
        Window::Rolling(d) => format!("rolling {d}"),
    }
}

/// The objective's figures over `period`, with no verdict where the review
/// gives none.
async fn figures(o: &Objective, store: &Store, period: &ReviewPeriod, note: bool) -> PeriodFigures {
    let mut result = eval::run_over(o, store, period.span(), timeout_for(o.kind())).await;
    if note {
        for r in &mut result.results {
            if r.status != Status::Error {
                r.status = Status::NoData;
                r.target = None;
            }
        }
    }
    PeriodFigures {
        label: period.label.clone(),
        start: period.start,
        end: period.end,
        results: result.results,
    }
}

/// How long the reads of the review's own tables may take.
const READ_LIMIT: Duration = Duration::from_secs(180);

/// Works out the review of `period` (closed) under `rules`.
///
/// # Errors
///
/// A database error of the channel, rep or history reads. An objective that
/// cannot be evaluated is not an error: its figures say `error`, as in
/// `handoff eval`.
pub async fn review(
    rules: &RuleSet,
    store: &Store,
    period: &ReviewPeriod,
) -> Result<Review, StoreError> {
    let periods = Periods::of(rules).of_period(period);
    let before = periods.before(period);
    let two_before = periods.before(&before);
    let three_before = periods.before(&two_before);
    let year_before = periods.year_before(period);

    let mut objectives = Vec::new();
    for o in rules.objectives() {
        let note = verdict_note(o, periods.every);
        // profitability's cohort is months long: the months just before
        // repeat most of its leads, so it is compared with a year earlier
        // only, unless its `trend:` asks for the periods before.
        let full = o.kind() != Kind::Profitability || o.trend.is_some();
        let compared: Vec<&ReviewPeriod> = if full {
            vec![period, &before, &two_before, &year_before]
        } else {
            vec![period, &year_before]
        };
        let mut figs = Vec::new();
        for p in compared {
            figs.push(figures(o, store, p, note.is_some()).await);
        }
        let change = if !full {
            Vec::new()
        } else {
            figs[0]
                .results
                .iter()
                .map(|r| {
                    let previous = figs[1].results.iter().find(|p| p.group == r.group);
                    let previous =
                        previous.and_then(|p| p.value.filter(|_| p.status != Status::Error));
                    let value = r.value.filter(|_| r.status != Status::Error);
                    GroupChange {
                        group: r.group.clone(),
                        value,
                        previous,
                        change: change_of(o.kind(), value, previous),
                    }
                })
                .collect()
        };
        let trend = match &o.trend {
            Some(t) => {
                // The third period before is read only for a median of three.
                let third = if t.compare == TrendCompare::MedianOf3 {
                    Some(figures(o, store, &three_before, note.is_some()).await)
                } else {
                    None
                };
                figs[0]
                    .results
                    .iter()
                    .map(|r| {
                        let find = |f: &PeriodFigures| {
                            f.results.iter().find(|x| x.group == r.group).cloned()
                        };
                        let b: Vec<Option<GroupResult>> = vec![
                            find(&figs[1]),
                            find(&figs[2]),
                            third.as_ref().and_then(find),
                        ];
                        let refs: Vec<Option<&GroupResult>> =
                            b.iter().map(Option::as_ref).collect();
                        trend_of(o.kind(), t, r, &refs)
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        objectives.push(ObjectiveReview {
            name: o.name.clone(),
            kind: o.kind(),
            description: o.description.clone(),
            owner: o.owner.clone(),
            periods: figs,
            change,
            trend,
            note,
        });
    }

    let flow = flow(store, periods, period).await?;
    let channels = channels(store, period, &before).await?;
    let reps = reps(rules, store, period, &objectives).await?;
    let economics = economics(&objectives);
    let alerts = alerts(rules, store, period).await?;
    let changes = changes(store, period).await?;
    Ok(Review {
        period: period.clone(),
        timezone: periods.tz.name().to_owned(),
        currency: rules.currency().map(str::to_owned),
        objectives,
        flow,
        channels,
        reps,
        economics,
        alerts,
        changes,
        mail_due: mail_due(rules, period),
    })
}

/// How many periods the lead-flow chart shows: a year of months, two of quarters.
fn flow_len(every: ReviewEvery) -> usize {
    match every {
        ReviewEvery::Month => 12,
        ReviewEvery::Quarter => 8,
    }
}

async fn flow(
    store: &Store,
    periods: Periods,
    period: &ReviewPeriod,
) -> Result<Vec<FlowPeriod>, StoreError> {
    let mut list = vec![period.clone()];
    while list.len() < flow_len(periods.every) {
        let earlier = periods.before(list.last().unwrap_or(period));
        list.push(earlier);
    }
    list.reverse();
    let mut reader = store.reader(READ_LIMIT).await?;
    let mut out = Vec::new();
    for p in list {
        let counts = reader
            .mql_counts(Some(GroupBy::Channel), p.start, p.end)
            .await?;
        let by_channel: BTreeMap<String, u64> = counts
            .into_iter()
            .map(|c| (c.group.unwrap_or_else(|| "unknown".into()), c.leads))
            .collect();
        out.push(FlowPeriod {
            label: p.label,
            start: p.start,
            end: p.end,
            mqls: by_channel.values().sum(),
            by_channel,
        });
    }
    reader.finish().await?;
    Ok(out)
}

fn channel_row(out: &mut BTreeMap<String, ChannelReview>, channel: String) -> &mut ChannelReview {
    out.entry(channel.clone()).or_insert_with(|| ChannelReview {
        channel,
        mqls: 0,
        previous_mqls: 0,
        growth: None,
        accepted: 0,
        rejected: 0,
        undecided: 0,
        acceptance: None,
        close_reasons: BTreeMap::new(),
        won: 0,
        revenue: 0.0,
        mql_value: None,
    })
}

fn rep_row(table: &mut BTreeMap<Option<String>, RepReview>, rep: Option<String>) -> &mut RepReview {
    table.entry(rep.clone()).or_insert_with(|| RepReview {
        rep,
        name: None,
        mqls: 0,
        eligible: 0,
        worked: 0,
        worked_share: None,
        median_response_seconds: None,
        given_up: 0,
        under_minimum: 0,
        won: 0,
    })
}

fn group_of(g: Option<String>) -> String {
    g.unwrap_or_else(|| "unknown".into())
}

async fn channels(
    store: &Store,
    period: &ReviewPeriod,
    before: &ReviewPeriod,
) -> Result<Vec<ChannelReview>, StoreError> {
    let by = Some(GroupBy::Channel);
    let mut reader = store.reader(READ_LIMIT).await?;
    let previous = reader.mql_counts(by, before.start, before.end).await?;
    let judged = reader
        .judged_counts(by, period.start, period.end, period.end)
        .await?;
    let reach = reader
        .reach(by, period.start, period.end, period.end)
        .await?;
    reader.finish().await?;

    let mut out: BTreeMap<String, ChannelReview> = BTreeMap::new();
    for j in judged {
        let ch = channel_row(&mut out, group_of(j.group));
        ch.mqls += j.cohort;
        ch.accepted += j.accepted;
        ch.rejected += j.rejected;
        if j.decided > 0 {
            let reason = j.reason.unwrap_or_else(|| "(none)".into());
            *ch.close_reasons.entry(reason).or_default() += j.decided;
        }
    }
    for m in previous {
        channel_row(&mut out, group_of(m.group)).previous_mqls += m.leads;
    }
    let mut revenue_cents: BTreeMap<String, i64> = BTreeMap::new();
    for r in reach.into_iter().filter(|r| r.converted) {
        let c = group_of(r.group);
        channel_row(&mut out, c.clone()).won += r.leads;
        *revenue_cents.entry(c).or_default() += r.revenue_cents;
    }
    for ch in out.values_mut() {
        ch.undecided = ch.mqls.saturating_sub(ch.accepted + ch.rejected);
        let judged = ch.accepted + ch.rejected;
        ch.acceptance = (judged > 0).then(|| ch.accepted as f64 / judged as f64);
        ch.growth = (ch.previous_mqls > 0)
            .then(|| (ch.mqls as f64 - ch.previous_mqls as f64) / ch.previous_mqls as f64);
        ch.revenue = revenue_cents.get(&ch.channel).copied().unwrap_or(0) as f64 / 100.0;
        ch.mql_value = (ch.mqls > 0).then(|| ch.revenue / ch.mqls as f64);
    }
    // Most MQLs first, then by name.
    let mut list: Vec<ChannelReview> = out.into_values().collect();
    list.sort_by(|a, b| b.mqls.cmp(&a.mqls).then_with(|| a.channel.cmp(&b.channel)));
    Ok(list)
}

async fn reps(
    rules: &RuleSet,
    store: &Store,
    period: &ReviewPeriod,
    objectives: &[ObjectiveReview],
) -> Result<Vec<RepReview>, StoreError> {
    let by = Some(GroupBy::Rep);
    let mut table: BTreeMap<Option<String>, RepReview> = BTreeMap::new();
    let mut reader = store.reader(READ_LIMIT).await?;
    let mqls = reader.mql_counts(by, period.start, period.end).await?;
    let reach = reader
        .reach(by, period.start, period.end, period.end)
        .await?;
    reader.finish().await?;
    for m in mqls {
        rep_row(&mut table, m.group).mqls += m.leads;
    }
    for r in reach.into_iter().filter(|r| r.converted) {
        rep_row(&mut table, r.group).won += r.leads;
    }

    // The first percent_worked objective, split by rep over the period: the
    // rep's eligible, worked and median response.
    if let Some(o) = rules
        .objectives()
        .iter()
        .find(|o| o.kind() == Kind::PercentWorked)
    {
        let mut by_rep = o.clone();
        by_rep.by = by;
        if let Spec::PercentWorked { target, .. } = &mut by_rep.spec {
            *target = crate::rules::Target::Uniform(0.0);
        }
        let result = eval::run_over(&by_rep, store, period.span(), timeout_for(o.kind())).await;
        for g in result.results {
            let Details::PercentWorked(d) = &g.details else {
                continue;
            };
            let rep = (g.group != "unknown").then(|| g.group.clone());
            let x = rep_row(&mut table, rep);
            x.eligible = d.eligible;
            x.worked = d.worked;
            x.median_response_seconds = d.p50_seconds;
        }
    }
    // The first contact_attempts objective's own figures for the period,
    // its per-rep tallies added up over its groups (each group has its own
    // minimum).
    if let Some(o) = objectives.iter().find(|o| o.kind == Kind::ContactAttempts) {
        for g in &o.periods[0].results {
            let Details::ContactAttempts(d) = &g.details else {
                continue;
            };
            for t in d.by_rep.iter().chain(d.unassigned.iter()) {
                let x = rep_row(&mut table, t.rep.clone());
                x.given_up += t.abandoned;
                x.under_minimum += t.violating;
                if x.name.is_none() {
                    x.name.clone_from(&t.name);
                }
            }
        }
    }
    let mut reader = store.reader(READ_LIMIT).await?;
    let ids: Vec<String> = table.keys().flatten().cloned().collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let names = reader.rep_names(&ids).await?;
    reader.finish().await?;
    let mut list: Vec<RepReview> = table
        .into_values()
        .map(|mut r| {
            if let Some(id) = &r.rep {
                r.name = names.get(id).cloned().or(r.name);
            }
            r.worked_share = (r.eligible > 0).then(|| r.worked as f64 / r.eligible as f64);
            r
        })
        .collect();
    // Reps by id, the unowned leads last.
    list.sort_by(|a, b| match (&a.rep, &b.rep) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.cmp(y),
    });
    Ok(list)
}

fn economics(objectives: &[ObjectiveReview]) -> Vec<Economics> {
    let mut out = Vec::new();
    for o in objectives.iter().filter(|o| o.kind == Kind::Profitability) {
        for r in &o.periods[0].results {
            let Details::Profitability(d) = &r.details else {
                continue;
            };
            out.push(Economics {
                objective: o.name.clone(),
                group: r.group.clone(),
                status: r.status,
                cutoff: d.cutoff,
                required_attempts: d.required_attempts,
                mql_value: d.mql_value,
                avg_revenue: d.avg_revenue,
                converted: d.converted,
                min_conversions: d.min_conversions,
                min_sample: d.min_sample,
                leakage: d.leakage,
                leakage_value: d.leakage_value,
            });
        }
    }
    out
}

async fn alerts(
    rules: &RuleSet,
    store: &Store,
    period: &ReviewPeriod,
) -> Result<Vec<AlertReview>, StoreError> {
    let mut out: BTreeMap<(String, String), AlertReview> = BTreeMap::new();
    let blank = |o: &str, g: &str| AlertReview {
        objective: o.to_owned(),
        group: g.to_owned(),
        breached_seconds: 0.0,
        at_risk_seconds: 0.0,
        error_seconds: 0.0,
        fired: 0,
        notices: 0,
    };
    for o in rules.objectives() {
        // Each result holds until the group's next one, or until the next
        // scheduled evaluation after it (a daemon that was down for a day
        // does not count the day), and never past the period's end.
        let mut last: BTreeMap<String, (DateTime<Utc>, Status)> = BTreeMap::new();
        let mut spans: Vec<(String, Status, f64)> = Vec::new();
        let hold = |at: DateTime<Utc>, until: DateTime<Utc>| {
            let next = o
                .schedule
                .next_after(&at.with_timezone(&o.timezone))
                .map_or(until, |n| n.to_utc());
            (until.min(next).min(period.end) - at)
                .as_seconds_f64()
                .max(0.0)
        };
        store
            .results(
                Some(&o.name),
                period.start,
                period.end,
                u32::MAX,
                &mut |r| {
                    if let Some((at, status)) =
                        last.insert(r.group.clone(), (r.evaluated_at, r.status))
                    {
                        spans.push((r.group.clone(), status, hold(at, r.evaluated_at)));
                    }
                },
            )
            .await?;
        for (group, (at, status)) in last {
            spans.push((group, status, hold(at, period.end)));
        }
        for (group, status, secs) in spans {
            let a = out
                .entry((o.name.clone(), group.clone()))
                .or_insert_with(|| blank(&o.name, &group));
            match status {
                Status::Breached => a.breached_seconds += secs,
                Status::AtRisk => a.at_risk_seconds += secs,
                Status::Error => a.error_seconds += secs,
                _ => {}
            }
        }
        for e in store
            .alert_events(&o.name, period.start, period.end, u32::MAX)
            .await?
        {
            if e.to_state == crate::codes::Change::Firing {
                out.entry((o.name.clone(), e.group.clone()))
                    .or_insert_with(|| blank(&o.name, &e.group))
                    .fired += 1;
            }
        }
    }
    let known: BTreeSet<&str> = rules.objectives().iter().map(|o| o.name.as_str()).collect();
    for (objective, group, kind, n) in store.mail_counts(period.start, period.end).await? {
        // Alert mail only (a repeat is `breach:repeat`): not lead notices,
        // SLA changes, trends or reviews.
        let alert_kind = matches!(
            kind.trim_end_matches(":repeat"),
            "breach" | "at_risk" | "resolved" | "period_missed"
        );
        if !known.contains(objective.as_str()) || !alert_kind {
            continue;
        }
        out.entry((objective.clone(), group.clone()))
            .or_insert_with(|| blank(&objective, &group))
            .notices += n;
    }
    Ok(out
        .into_values()
        .filter(|a| {
            a.breached_seconds + a.at_risk_seconds + a.error_seconds > 0.0
                || a.fired > 0
                || a.notices > 0
        })
        .collect())
}

async fn changes(store: &Store, period: &ReviewPeriod) -> Result<Vec<ChangeReview>, StoreError> {
    let mut loads = store.rule_sets(period.start, period.end, 1000).await?;
    if loads.is_empty() {
        return Ok(Vec::new());
    }
    // The rule set in force when the period began, to compare the first load with.
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let before = store.rule_sets(epoch, period.start, 1).await?;
    loads.reverse();
    let mut out = Vec::new();
    let mut previous = before.into_iter().next();
    for load in loads {
        let new = definitions(&load.rules);
        if let Some(old) = previous.as_ref().map(|p| definitions(&p.rules)) {
            let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for name in names {
                let (change, lines) = match (old.get(name), new.get(name)) {
                    (Some(a), Some(b)) if a != b => {
                        ("changed", crate::rules::definition_changes(a, b))
                    }
                    (None, Some(_)) => ("added", Vec::new()),
                    (Some(_), None) => ("removed", Vec::new()),
                    _ => continue,
                };
                out.push(ChangeReview {
                    at: load.loaded_at,
                    source: load.source.clone(),
                    objective: name.clone(),
                    change: change.to_owned(),
                    lines,
                });
            }
        }
        previous = Some(load);
    }
    Ok(out)
}

/// The definitions of a recorded rule set, by objective.
fn definitions(rules: &str) -> BTreeMap<String, serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(rules).unwrap_or_default();
    crate::rules::recorded_objectives(&v)
        .filter_map(|(name, o)| Some((name.to_owned(), o.get("definition")?.clone())))
        .collect()
}

impl Review {
    /// The review as one JSON object (docs/REVIEW.md).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The objective called `name`.
    pub fn objective(&self, name: &str) -> Option<&ObjectiveReview> {
        self.objectives.iter().find(|o| o.name == name)
    }
}

impl ObjectiveReview {
    /// Whether the period met the promise: every judged group `ok` (or
    /// `at_risk`, which a closed period is not); `None` when nothing was judged.
    pub fn met(&self) -> Option<bool> {
        met(&self.periods.first()?.results)
    }
}

/// Whether results met their promise: `Some(false)` when any judged group
/// missed, `None` when no group was judged.
pub fn met(results: &[GroupResult]) -> Option<bool> {
    let judged: Vec<bool> = results.iter().filter_map(verdict).collect();
    if judged.is_empty() {
        return None;
    }
    Some(judged.iter().all(|m| *m))
}

/// Whether one group met its promise over a closed period: a volume when it
/// delivered its target, a ratio when it reached it, profitability when the
/// SLA demands no unprofitable attempts (`ok`, not `breached`). `None`:
/// not judged (no target, no data, an error).
pub fn verdict(r: &GroupResult) -> Option<bool> {
    match (&r.details, r.status) {
        (_, Status::Error | Status::NoData) => None,
        (Details::LeadVolume(d), _) if r.target.is_some() => {
            Some(d.attainment.is_some_and(|a| a >= 1.0))
        }
        // Without `checks:` it demands nothing: nothing to judge.
        (Details::Profitability(d), _) if d.required_attempts.is_none() => None,
        (Details::Profitability(_), Status::Ok) => Some(true),
        (Details::Profitability(_), Status::Breached) => Some(false),
        (Details::Profitability(_), _) => None,
        (_, s) if r.target.is_some() => Some(s == Status::Ok),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn ny(every: ReviewEvery) -> Periods {
        Periods {
            every,
            tz: "America/New_York".parse().unwrap(),
        }
    }

    #[test]
    fn periods_are_local_months_and_quarters() {
        let p = ny(ReviewEvery::Month);
        // 7 December 2026: the last closed month is November, from 1 Nov
        // 00:00 EDT (04:00 UTC) to 1 Dec 00:00 EST (05:00 UTC).
        let now = utc("2026-12-07T16:00:00Z");
        let nov = p.parse("last", now).unwrap();
        assert_eq!(
            (nov.label.as_str(), nov.start, nov.end),
            (
                "2026-11",
                utc("2026-11-01T04:00:00Z"),
                utc("2026-12-01T05:00:00Z")
            )
        );
        assert_eq!(p.parse("2026-11", now).unwrap(), nov);
        let oct = p.before(&nov);
        assert_eq!(
            (oct.label.as_str(), oct.start, oct.end),
            (
                "2026-10",
                utc("2026-10-01T04:00:00Z"),
                utc("2026-11-01T04:00:00Z")
            )
        );
        let year = p.year_before(&nov);
        assert_eq!(
            (year.label.as_str(), year.start),
            ("2025-11", utc("2025-11-01T04:00:00Z"))
        );
        // January's period before is the last December.
        let jan = p.parse("2026-01", now).unwrap();
        assert_eq!(p.before(&jan).label, "2025-12");
        // A quarter, whatever the review's period.
        let q3 = p.parse("2026-Q3", now).unwrap();
        assert_eq!(
            (q3.label.as_str(), q3.start, q3.end),
            (
                "2026-Q3",
                utc("2026-07-01T04:00:00Z"),
                utc("2026-10-01T04:00:00Z")
            )
        );
        let q = ny(ReviewEvery::Quarter);
        assert_eq!(q.parse("last", now).unwrap(), q3);
        assert_eq!(q.before(&q3).label, "2026-Q2");
        assert_eq!(q.year_before(&q3).label, "2025-Q3");
        assert_eq!(q.of_period(&nov).every, ReviewEvery::Month);
    }

    #[test]
    fn only_a_closed_period_is_reviewed_and_bad_text_is_named() {
        let p = ny(ReviewEvery::Month);
        let now = utc("2026-12-07T16:00:00Z");
        let e = p.parse("2026-12", now).unwrap_err();
        assert!(e.contains("2026-12 has not closed yet"), "{e}");
        // The instant it closes, it is a closed period.
        assert!(p.parse("2026-11", utc("2026-12-01T05:00:00Z")).is_ok());
        assert!(p.parse("2026-11", utc("2026-12-01T04:59:59Z")).is_err());
        for bad in [
            "2026-13",
            "november",
            "2026-Q5",
            "2026-Q0",
            "-262143-01",
            "10000-01",
            "0-Q1",
        ] {
            let e = p.parse(bad, now).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    fn group(value: Option<f64>, denominator: Option<f64>) -> GroupResult {
        let mut r = GroupResult::failed(crate::eval::Failure {
            message: String::new(),
            reason: crate::eval::FailureReason::QueryFailed,
        });
        r.status = Status::Ok;
        r.group = "all".into();
        r.value = value;
        r.denominator = denominator;
        r
    }

    #[test]
    fn trends_compare_counts_relatively_and_ratios_in_points() {
        let t = Trend {
            compare: TrendCompare::Previous,
            drop: 0.10,
            min_denominator: 30,
        };
        // A ratio: 0.80 after 0.95 is 15 points down, more than 10.
        let closed = group(Some(0.80), Some(40.0));
        let before = group(Some(0.95), Some(50.0));
        let r = trend_of(Kind::PercentWorked, &t, &closed, &[Some(&before)]);
        assert_eq!(r.baseline, Some(0.95));
        assert!((r.change.unwrap() + 0.15).abs() < 1e-12);
        assert_eq!((r.volume, r.dropped), (40, true));
        // 0.86 after 0.95 is 9 points: not news.
        let closed = group(Some(0.86), Some(40.0));
        assert!(!trend_of(Kind::PercentWorked, &t, &closed, &[Some(&before)]).dropped);
        // Too few leads due: not news either.
        let closed = group(Some(0.50), Some(29.0));
        assert!(!trend_of(Kind::PercentWorked, &t, &closed, &[Some(&before)]).dropped);
        // A count, relative: 350 after 400 is 12.5% fewer; the volume is
        // the baseline's MQLs.
        let closed = group(Some(350.0), None);
        let before = group(Some(400.0), None);
        let r = trend_of(Kind::LeadVolume, &t, &closed, &[Some(&before)]);
        assert!((r.change.unwrap() + 0.125).abs() < 1e-12);
        assert_eq!((r.volume, r.dropped), (400, true));
        // 370 after 400 is 7.5% fewer.
        let closed = group(Some(370.0), None);
        assert!(!trend_of(Kind::LeadVolume, &t, &closed, &[Some(&before)]).dropped);
    }

    #[test]
    fn a_median_of_three_needs_all_three() {
        let t = Trend {
            compare: TrendCompare::MedianOf3,
            drop: 0.15,
            min_denominator: 30,
        };
        let closed = group(Some(300.0), None);
        // Before: 500, 360, 400 → median 400; 300 is 25% fewer.
        let (a, b, c) = (
            group(Some(500.0), None),
            group(Some(360.0), None),
            group(Some(400.0), None),
        );
        let r = trend_of(
            Kind::LeadVolume,
            &t,
            &closed,
            &[Some(&a), Some(&b), Some(&c)],
        );
        assert_eq!(r.baseline, Some(400.0));
        assert!((r.change.unwrap() + 0.25).abs() < 1e-12);
        assert!(r.dropped);
        // One period missing: no baseline, no trend.
        let r = trend_of(Kind::LeadVolume, &t, &closed, &[Some(&a), None, Some(&c)]);
        assert_eq!((r.baseline, r.change, r.dropped), (None, None, false));
    }

    #[test]
    fn the_mail_is_due_on_the_first_business_day() {
        let rules = crate::rules::load_str(
            "r.yaml",
            "version: 1\ntimezone: America/New_York\nteams: { t: { email: [a@b.example] } }\n\
             calendars: { office: { hours: { mon-fri: \"09:00-17:00\" }, holidays: [2027-01-01] } }\n\
             review: { send_at: \"08:30\", calendar: office }\n\
             objectives: [{ name: v, kind: lead_volume, owner: t, schedule: \"0 0 * * *\", window: month, target: 1 }]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let p = Periods::of(&rules);
        // November 2026 ends on a Tuesday: 1 Dec 08:30 EST.
        let nov = p.parse("2026-11", utc("2026-12-07T00:00:00Z")).unwrap();
        assert_eq!(mail_due(&rules, &nov), Some(utc("2026-12-01T13:30:00Z")));
        // December ends on a Friday before a holiday: Monday 4 January.
        let dec = p.parse("2026-12", utc("2027-01-07T00:00:00Z")).unwrap();
        assert_eq!(mail_due(&rules, &dec), Some(utc("2027-01-04T13:30:00Z")));
        // Without `review:`, no mail.
        let none = crate::rules::load_str(
            "r.yaml",
            "version: 1\nteams: { t: { email: [a@b.example] } }\n",
        )
        .unwrap();
        assert_eq!(mail_due(&none, &nov), None);
    }
}
