//! `handoff demo`: a deterministic synthetic company with planted SLA trouble.
//!
//! Acme Analytics sells B2B software from New York. Its leads come from five
//! channels (and a few of unknown source) with different volumes, quality and
//! deal sizes. Four months before the end of the history, marketing and sales signed
//! the SLA; before that, reps behaved as the published studies found most firms
//! do (slow first responses, about 1.6 attempts per lead, a fifth of leads never
//! called). After it, most reps respond within the hour and try six times or
//! more, except the planted offenders:
//!
//! - a slow responder and a rep who gives up after one or two attempts;
//! - webinar MQLs running well behind pace in the last six weeks;
//! - paid-search MQLs that sales mostly rejects;
//! - event leads that only ever convert when reached by the second call, so more
//!   than a few attempts on them never pays.
//!
//! Every lead draws from its own random stream, seeded by the run's seed and the
//! lead's number, so the data depends only on `--seed`, `--leads`, `--months` and
//! `--end`, never on batching or timing.

use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Duration, Months, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tokio::sync::mpsc;

use crate::model::{self, Deal, Lead, Rep, Table, Touch};
use crate::progress::{Progress, Unit};
use crate::rules::{Calendar, local_instant};
use crate::store::{Encoded, Store, UpsertColumns};

/// Leads generated when `--leads` is not given: about 1000 a month for six months.
pub const DEFAULT_LEADS: u64 = 6_000;
/// Months of history when `--months` is not given.
pub const DEFAULT_MONTHS: u32 = 6;
/// Seed when `--seed` is not given.
pub const DEFAULT_SEED: u64 = 42;

/// The SLA was signed this long before the end of the history.
const SLA_AGE: Duration = Duration::days(120);
/// Webinar volume falls short over this last stretch of the history.
const WEBINAR_SLUMP: Duration = Duration::days(45);
/// Leads generated per batch handed to the writer.
const CHUNK_LEADS: u64 = 2_000;
/// The `handoff_meta` entry that marks a database as the demo's.
const META_KEY: &str = crate::store::META_DEMO;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    pub leads: u64,
    pub months: u32,
    pub seed: u64,
    /// Nothing in the data happens at or after this instant.
    pub end: DateTime<Utc>,
}

impl DemoSpec {
    /// The first instant of the history.
    pub fn start(&self) -> DateTime<Utc> {
        self.end
            .checked_sub_months(Months::new(self.months))
            .unwrap_or(self.end)
    }

    /// When the SLA took effect.
    pub fn sla_start(&self) -> DateTime<Utc> {
        self.end - SLA_AGE
    }

    /// Checks that the spec makes a company at all.
    ///
    /// # Errors
    ///
    /// No leads, or no months.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.leads == 0 || self.months == 0 {
            bail!("--leads and --months must be at least 1");
        }
        Ok(())
    }

    fn meta_value(&self) -> String {
        format!(
            "seed={} leads={} months={} end={}",
            self.seed,
            self.leads,
            self.months,
            self.end.to_rfc3339()
        )
    }
}

/// Lead sources, with what differs between them.
struct Channel {
    name: Option<&'static str>,
    /// Share of all leads.
    share: f64,
    /// Chance a lead becomes an MQL.
    mql_rate: f64,
    /// Chance sales accepts a lead it reached.
    accept: f64,
    /// Chance an accepted lead gets an opportunity.
    opportunity: f64,
    /// Chance an opportunity is won.
    win: f64,
    /// Mean lead score.
    score: f64,
    /// The last attempt at which a reached lead can still convert.
    converts_until_attempt: u32,
    campaigns: &'static [&'static str],
}

const CHANNELS: &[Channel] = &[
    Channel {
        name: Some("webinar"),
        share: 0.26,
        mql_rate: 0.62,
        accept: 0.68,
        opportunity: 0.55,
        win: 0.30,
        score: 64.0,
        converts_until_attempt: u32::MAX,
        campaigns: &[
            "webinar-pipeline-analytics",
            "webinar-forecasting-101",
            "webinar-revops-summit",
        ],
    },
    Channel {
        name: Some("paid_search"),
        share: 0.36,
        mql_rate: 0.58,
        accept: 0.42,
        opportunity: 0.50,
        win: 0.22,
        score: 47.0,
        converts_until_attempt: u32::MAX,
        campaigns: &["ps-brand", "ps-competitor", "ps-category"],
    },
    Channel {
        name: Some("events"),
        share: 0.10,
        mql_rate: 0.55,
        accept: 0.62,
        opportunity: 0.45,
        win: 0.25,
        score: 55.0,
        converts_until_attempt: 2,
        campaigns: &[
            "event-saas-connect",
            "event-revenue-week",
            "event-roadshow-nyc",
        ],
    },
    Channel {
        name: Some("content"),
        share: 0.20,
        mql_rate: 0.48,
        accept: 0.64,
        opportunity: 0.50,
        win: 0.28,
        score: 58.0,
        converts_until_attempt: u32::MAX,
        campaigns: &["ebook-sla-playbook", "blog-newsletter", "report-benchmarks"],
    },
    Channel {
        name: Some("referral"),
        share: 0.06,
        mql_rate: 0.50,
        accept: 0.82,
        opportunity: 0.65,
        win: 0.45,
        score: 75.0,
        converts_until_attempt: u32::MAX,
        campaigns: &["partner-referral", "customer-referral"],
    },
    Channel {
        name: None,
        share: 0.02,
        mql_rate: 0.50,
        accept: 0.55,
        opportunity: 0.45,
        win: 0.25,
        score: 50.0,
        converts_until_attempt: u32::MAX,
        campaigns: &[],
    },
];

const SEGMENTS: &[(&str, f64, f64)] = &[
    // name, share, median deal amount in dollars
    ("smb", 0.60, 9_000.0),
    ("mid", 0.30, 32_000.0),
    ("ent", 0.10, 140_000.0),
];

/// How a rep works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Habit {
    Typical,
    Fast,
    Slow,
    GivesUp,
}

impl Habit {
    fn of_rep(i: usize) -> Habit {
        match i % 10 {
            0 => Habit::Fast,
            1 => Habit::Slow,
            2 => Habit::GivesUp,
            _ => Habit::Typical,
        }
    }

    /// (median minutes of open business time to the first attempt, spread, chance of no attempt at all)
    fn first_response(self, under_sla: bool) -> (f64, f64, f64) {
        match (self, under_sla) {
            (Habit::Typical, false) => (90.0, 2.2, 0.22),
            (Habit::Fast, false) => (25.0, 1.2, 0.08),
            (Habit::Slow, false) => (1_200.0, 1.3, 0.30),
            (Habit::GivesUp, false) => (240.0, 1.5, 0.20),
            (Habit::Typical, true) => (40.0, 1.3, 0.03),
            (Habit::Fast, true) => (5.0, 1.0, 0.01),
            (Habit::Slow, true) => (600.0, 1.1, 0.10),
            (Habit::GivesUp, true) => (60.0, 1.3, 0.05),
        }
    }

    /// Attempts made on a lead that never answers before giving up.
    fn persistence(self, under_sla: bool, u: f64) -> u32 {
        let table: &[(u32, f64)] = match (self, under_sla) {
            (Habit::GivesUp, _) => &[(1, 0.6), (2, 0.4)],
            (_, false) => &[
                (1, 0.55),
                (2, 0.25),
                (3, 0.10),
                (4, 0.05),
                (5, 0.03),
                (6, 0.02),
            ],
            (Habit::Typical, true) => &[
                (4, 0.05),
                (5, 0.07),
                (6, 0.50),
                (7, 0.20),
                (8, 0.12),
                (10, 0.06),
            ],
            (Habit::Fast, true) => &[(6, 0.40), (7, 0.30), (8, 0.20), (10, 0.10)],
            (Habit::Slow, true) => &[(5, 0.20), (6, 0.60), (7, 0.20)],
        };
        pick(table, u)
    }
}

/// Chance that attempt `k` (1-based) reaches the lead, if the earlier ones did not.
fn connect_chance(k: u32) -> f64 {
    const BY_ATTEMPT: [f64; 10] = [0.20, 0.16, 0.13, 0.11, 0.09, 0.07, 0.04, 0.03, 0.02, 0.02];
    BY_ATTEMPT.get(k as usize - 1).copied().unwrap_or(0.01)
}

fn pick<T: Copy>(table: &[(T, f64)], u: f64) -> T {
    let mut acc = 0.0;
    for &(v, p) in table {
        acc += p;
        if u < acc {
            return v;
        }
    }
    table[table.len() - 1].0
}

const FIRST_NAMES: &[&str] = &[
    "Maya", "Tom", "Priya", "Luis", "Hannah", "Kofi", "Elena", "Sam", "Aisha", "Jonas", "Mei",
    "Diego", "Sofia", "Omar", "Grace", "Lars", "Nina", "Ravi", "Chloe", "Mateo",
];
const LAST_NAMES: &[&str] = &[
    "Chen", "Becker", "Patel", "Moreno", "Schmidt", "Mensah", "Rossi", "Walsh", "Khan", "Berg",
    "Tanaka", "Silva", "Novak", "Haddad", "Okafor", "Larsen", "Dubois", "Iyer", "Martin", "Lopez",
];

/// The reps of a company that receives `mqls_per_month` MQLs: about 45 each.
fn reps(mqls_per_month: f64) -> Vec<(Rep, Habit)> {
    let n = ((mqls_per_month / 45.0).round() as usize).max(12);
    (0..n)
        .map(|i| {
            let first = FIRST_NAMES[i % FIRST_NAMES.len()];
            let last = LAST_NAMES[(i * 7 + i / FIRST_NAMES.len()) % LAST_NAMES.len()];
            let suffix = if i < FIRST_NAMES.len() {
                String::new()
            } else {
                format!("{}", i / FIRST_NAMES.len() + 1)
            };
            let rep = Rep {
                id: format!("R{:04}", i + 1),
                name: format!(
                    "{first} {last}{}",
                    if suffix.is_empty() {
                        String::new()
                    } else {
                        format!(" {suffix}")
                    }
                ),
                email: Some(format!(
                    "{}.{}{suffix}@acme.example",
                    first.to_lowercase(),
                    last.to_lowercase()
                )),
                team: Some(if i % 3 == 2 { "sales-emea" } else { "sales-na" }.to_owned()),
            };
            (rep, Habit::of_rep(i))
        })
        .collect()
}

/// The shipped rule file, built into the binary so that the demo works from any
/// directory. The demo company works by its `office` calendar.
const ACME_RULES: &str = include_str!("../../rules/acme.yaml");

/// The `office` calendar of the shipped rules (`rules/acme.yaml`): Monday to
/// Friday, 09:00–17:00 New York time, closed on its holidays. The demo's reps
/// work exactly when the evaluator's speed-to-lead clock runs. Loaded once; a
/// shipped file that does not load, or lacks an `office` calendar open every
/// week, is a bug in the build, which `shipped_office_calendar_loads` catches.
static OFFICE: LazyLock<Arc<Calendar>> = LazyLock::new(|| {
    let rules = crate::rules::load_str("rules/acme.yaml", ACME_RULES)
        .unwrap_or_else(|e| panic!("the shipped rules/acme.yaml does not load:\n{e}"));
    let Some(office) = rules.calendars().get("office").cloned() else {
        panic!("the shipped rules/acme.yaml has no `office` calendar");
    };
    assert!(
        office.open_secs_per_week() > 0,
        "the `office` calendar of rules/acme.yaml is never open"
    );
    office
});

/// The longest wait [`Office::after`] adds: five years of 40-hour weeks. A longer
/// draw (far out in a lognormal tail) is cut to it: it is long past any history
/// the demo makes either way, and stays within the reach of
/// [`Calendar::add_open_secs`].
const MAX_WAIT_MINUTES: f64 = 5.0 * 52.0 * 40.0 * 60.0;

/// Sales works the hours of the shipped `office` calendar ([`OFFICE`]).
struct Office;

impl Office {
    /// Whether the office is open at `t`: in its hours, and not on a holiday.
    fn is_open(t: DateTime<Utc>) -> bool {
        OFFICE.is_open(t)
    }

    /// The instant `minutes` (whole seconds of them) of open office time after
    /// `t`; a `t` outside office hours waits for the next opening.
    fn after(t: DateTime<Utc>, minutes: f64) -> DateTime<Utc> {
        let secs = (minutes.clamp(0.0, MAX_WAIT_MINUTES) * 60.0) as u64;
        OFFICE
            .add_open_secs(t, secs)
            .expect("the office is open every week, so five years of office time end within ten")
    }

    /// A random office minute of the latest open day whose first opening is
    /// before `t`, or `None` when no day in the year before `t` is open.
    fn minute_before(t: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&OFFICE.timezone);
        let mut day = local.date_naive();
        if OFFICE
            .hours_on(day)
            .first()
            .is_none_or(|h| local.num_seconds_from_midnight() < h.from)
        {
            day = day.pred_opt()?;
        }
        for _ in 0..366 {
            if let Some(at) = Office::random_minute(day, rng) {
                return Some(at);
            }
            day = day.pred_opt()?;
        }
        None
    }

    /// A random minute of the open hours of `day`, each minute as likely; `None`
    /// (drawing nothing) when `day` is closed.
    fn random_minute(day: NaiveDate, rng: &mut ChaCha8Rng) -> Option<DateTime<Utc>> {
        let hours = OFFICE.hours_on(day);
        let total: u32 = hours.iter().map(|h| h.len_secs() / 60).sum();
        if total == 0 {
            return None;
        }
        let mut minute = rng.random_range(0..total);
        for h in hours {
            let len = h.len_secs() / 60;
            if minute < len {
                let time = NaiveTime::from_num_seconds_from_midnight_opt(h.from + minute * 60, 0)?;
                return Some(local_instant(OFFICE.timezone, day.and_time(time)));
            }
            minute -= len;
        }
        None
    }
}

/// What the generator hands on.
#[derive(Debug)]
pub enum Batch {
    /// The whole team; always the first batch.
    Reps(Vec<Rep>),
    /// Leads with their touches and deals.
    Rows(Chunk),
}

/// One batch of generated rows, in reference order.
#[derive(Debug, Default)]
pub struct Chunk {
    pub leads: Vec<Lead>,
    pub touches: Vec<Touch>,
    pub deals: Vec<Deal>,
}

/// Figures about the generated data, worked out while generating it.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub reps: u64,
    pub leads: u64,
    pub mqls: u64,
    pub touches: u64,
    pub deals: u64,
    pub won: u64,
    /// (MQLs, attempts on them) before and after the SLA.
    pub before_sla: (u64, u64),
    pub under_sla: (u64, u64),
    /// Converted leads, and those among them first reached by the sixth attempt.
    pub converted: u64,
    pub converted_reached_by_6: u64,
    /// MQLs whose first attempt came within an hour, over MQLs, before the SLA.
    pub within_hour_before_sla: (u64, u64),
    /// MQLs by channel over the last 28 days.
    pub recent_mqls: Vec<(String, u64)>,
}

impl Stats {
    fn add(&mut self, chunk: &Chunk) {
        self.leads += chunk.leads.len() as u64;
        self.mqls += chunk.leads.iter().filter(|l| l.mql_at.is_some()).count() as u64;
        self.touches += chunk.touches.len() as u64;
        self.deals += chunk.deals.len() as u64;
        self.won += chunk.deals.iter().filter(|d| d.won == Some(true)).count() as u64;
    }
}

/// The fixed parts of the company: its team and the weights leads are drawn by.
struct Company {
    team: Vec<(Rep, Habit)>,
    channels: Vec<(usize, f64)>,
    segments: Vec<(usize, f64)>,
}

/// Generates the company and calls `sink` with each batch, in reference order:
/// the reps first, then leads with their touches and deals. Generation stops
/// early when `sink` breaks (its writer failed).
pub fn generate(spec: &DemoSpec, sink: &mut dyn FnMut(Batch) -> ControlFlow<()>) -> Stats {
    let start = spec.start();
    let span = (spec.end - start).num_seconds().max(1) as f64;
    let months = f64::from(spec.months.max(1));
    let mql_share: f64 = CHANNELS.iter().map(|c| c.share * c.mql_rate).sum();
    let company = Company {
        team: reps(spec.leads as f64 / months * mql_share),
        channels: CHANNELS
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.share))
            .collect(),
        segments: SEGMENTS.iter().enumerate().map(|(i, s)| (i, s.1)).collect(),
    };
    let mut stats = Stats {
        reps: company.team.len() as u64,
        ..Stats::default()
    };
    if sink(Batch::Reps(
        company.team.iter().map(|(r, _)| r.clone()).collect(),
    ))
    .is_break()
    {
        return stats;
    }
    let mut recent: Vec<u64> = vec![0; CHANNELS.len()];
    let recent_from = spec.end - Duration::days(28);
    let mut i = 0;
    while i < spec.leads {
        let n = CHUNK_LEADS.min(spec.leads - i);
        let mut chunk = Chunk {
            leads: Vec::with_capacity(n as usize),
            touches: Vec::with_capacity(n as usize * 4),
            deals: Vec::new(),
        };
        for j in i..i + n {
            // Spread leads evenly over the history, each at a random point of its slot.
            let mut rng =
                ChaCha8Rng::seed_from_u64(spec.seed ^ (j + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let slot = span / spec.leads as f64;
            let created = start
                + Duration::milliseconds(((j as f64 + rng.random::<f64>()) * slot * 1000.0) as i64);
            let created = office_skew(created, start, &mut rng);
            let (channel, outcome) = lead(spec, &company, j, created, &mut rng, &mut chunk);
            if let Some(o) = outcome {
                let era = if o.under_sla {
                    &mut stats.under_sla
                } else {
                    &mut stats.before_sla
                };
                era.0 += 1;
                era.1 += u64::from(o.attempts);
                if !o.under_sla {
                    stats.within_hour_before_sla.1 += 1;
                    stats.within_hour_before_sla.0 += u64::from(o.first_attempt_within_hour);
                }
                if let Some(reached_at) = o.converted_reached_at {
                    stats.converted += 1;
                    stats.converted_reached_by_6 += u64::from(reached_at <= 6);
                }
                if o.mql_at >= recent_from {
                    recent[channel] += 1;
                }
            }
        }
        stats.add(&chunk);
        if sink(Batch::Rows(chunk)).is_break() {
            break;
        }
        i += n;
    }
    stats.recent_mqls = CHANNELS
        .iter()
        .zip(recent)
        .map(|(c, n)| (c.name.unwrap_or("unknown").to_owned(), n))
        .collect();
    stats
}

/// Most inbound leads arrive, and most nurtured leads turn into MQLs, in office
/// hours: two in three of the instants drawn while the office is closed (a night,
/// a weekend, a holiday) are moved back to a random office minute of the latest
/// open day before them, unless that is before `not_before`.
fn office_skew(t: DateTime<Utc>, not_before: DateTime<Utc>, rng: &mut ChaCha8Rng) -> DateTime<Utc> {
    if Office::is_open(t) || !rng.random_bool(0.66) {
        return t;
    }
    match Office::minute_before(t, rng) {
        Some(moved) if moved >= not_before && moved <= t => moved,
        _ => t,
    }
}

/// What one MQL's story came to, for the statistics.
struct MqlOutcome {
    mql_at: DateTime<Utc>,
    under_sla: bool,
    attempts: u32,
    first_attempt_within_hour: bool,
    /// The attempt that first reached a lead that went on to win a deal.
    converted_reached_at: Option<u32>,
}

fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

fn minutes(m: f64) -> Duration {
    Duration::seconds((m * 60.0) as i64)
}

/// Generates lead number `j` and everything that happened to it before the end.
fn lead(
    spec: &DemoSpec,
    company: &Company,
    j: u64,
    created: DateTime<Utc>,
    rng: &mut ChaCha8Rng,
    out: &mut Chunk,
) -> (usize, Option<MqlOutcome>) {
    let end = spec.end;
    let team = &company.team;
    let ci = pick(&company.channels, rng.random());
    let ch = &CHANNELS[ci];
    let (segment, _, median_amount) = SEGMENTS[pick(&company.segments, rng.random())];
    let id = format!("L{j:07}");
    let score = (ch.score + 15.0 * rng.sample::<f64, _>(StandardNormal))
        .clamp(0.0, 100.0)
        .round();
    let owner = if rng.random_bool(0.02) {
        None
    } else {
        Some(rng.random_range(0..team.len()))
    };
    let campaign = if ch.campaigns.is_empty() {
        None
    } else {
        Some(ch.campaigns[rng.random_range(0..ch.campaigns.len())].to_owned())
    };

    let mut lead = Lead {
        owner_id: owner.map(|o| team[o].0.id.clone()),
        channel: ch.name.map(str::to_owned),
        campaign,
        segment: Some(segment.to_owned()),
        score: Some(score),
        ..Lead::new(id.clone(), model::to_store_precision(created))
    };

    // Does it become an MQL, and when? Form fills hand over within minutes;
    // nurtured leads take days to weeks.
    let mut mql_rate = ch.mql_rate;
    if ch.name == Some("webinar") && created >= end - WEBINAR_SLUMP {
        mql_rate *= 0.55;
    }
    let becomes_mql = rng.random_bool(mql_rate);
    let nurtured = rng.random_bool(0.4);
    let mql_delay = if nurtured {
        minutes(lognormal(rng, 5.0 * 1440.0, 0.8))
    } else {
        minutes(rng.random_range(1.0..45.0))
    };
    let mql_at = model::to_store_precision(if nurtured {
        office_skew(created + mql_delay, created, rng)
    } else {
        created + mql_delay
    });
    let mut touch_no = 0;
    let mut touch = |out: &mut Chunk,
                     at: DateTime<Utc>,
                     rep: Option<usize>,
                     kind: &'static str,
                     direction: &'static str,
                     outcome: Option<&str>,
                     automated: bool| {
        touch_no += 1;
        out.touches.push(Touch {
            id: format!("T{j:07}-{touch_no:02}"),
            lead_id: id.clone(),
            rep_id: rep.map(|r| team[r].0.id.clone()),
            occurred_at: model::to_store_precision(at),
            kind,
            direction,
            outcome: outcome.map(str::to_owned),
            automated,
        });
    };
    // Marketing's nurture emails go out before the hand-off.
    if nurtured {
        for k in 0..rng.random_range(1..4) {
            let at = created + (mql_at - created) * (k + 1) / 4;
            if at < end {
                touch(out, at, None, "email", "outbound", None, true);
            }
        }
    }
    if !becomes_mql || mql_at >= end {
        out.leads.push(lead);
        return (ci, None);
    }
    lead.mql_at = Some(mql_at);

    // The sequence's instant auto-reply: never a human attempt.
    if rng.random_bool(0.7) && mql_at + Duration::minutes(2) < end {
        touch(
            out,
            mql_at + Duration::minutes(2),
            None,
            "email",
            "outbound",
            None,
            true,
        );
    }
    // Now and then an SDR called before the hand-off, in office hours: not an
    // attempt on the MQL.
    let sdr_call = mql_at - Duration::minutes(30);
    if rng.random_bool(0.03) && created < sdr_call && Office::is_open(sdr_call) {
        touch(
            out,
            sdr_call,
            owner,
            "call",
            "outbound",
            Some("no_answer"),
            false,
        );
    }

    let under_sla = mql_at >= spec.sla_start();
    let mut outcome = MqlOutcome {
        mql_at,
        under_sla,
        attempts: 0,
        first_attempt_within_hour: false,
        converted_reached_at: None,
    };
    let Some(rep) = owner else {
        // Nobody owns it, so nobody works it; it is closed out after a few weeks.
        close(
            &mut lead,
            mql_at + Duration::days(rng.random_range(14..28)),
            "no_response",
            end,
        );
        out.leads.push(lead);
        return (ci, Some(outcome));
    };
    let habit = team[rep].1;
    let (median, sigma, never) = habit.first_response(under_sla);
    if rng.random_bool(never) {
        close(
            &mut lead,
            mql_at + Duration::days(rng.random_range(10..21)),
            "no_response",
            end,
        );
        out.leads.push(lead);
        return (ci, Some(outcome));
    }

    // Attempts until the lead answers or the rep gives up.
    let patience = habit.persistence(under_sla, rng.random());
    let gap_median = if under_sla { 480.0 } else { 960.0 };
    let mut at = Office::after(mql_at, lognormal(rng, median, sigma));
    outcome.first_attempt_within_hour = at - mql_at <= Duration::hours(1);
    let mut reached: Option<(u32, DateTime<Utc>)> = None;
    for k in 1..=patience {
        if at >= end {
            out.leads.push(lead);
            return (ci, Some(outcome));
        }
        outcome.attempts += 1;
        let is_call = rng.random_bool(0.8);
        if is_call && rng.random_bool(connect_chance(k)) {
            touch(
                out,
                at,
                Some(rep),
                "call",
                "outbound",
                Some("connected"),
                false,
            );
            reached = Some((k, at));
            break;
        }
        if is_call {
            let o = if rng.random_bool(0.6) {
                "no_answer"
            } else {
                "voicemail"
            };
            touch(out, at, Some(rep), "call", "outbound", Some(o), false);
        } else {
            let o = if rng.random_bool(0.03) {
                Some("bounced")
            } else {
                None
            };
            touch(out, at, Some(rep), "email", "outbound", o, false);
        }
        at = Office::after(at, lognormal(rng, gap_median, 0.8));
    }

    let Some((reached_at, connected)) = reached else {
        close(
            &mut lead,
            at + Duration::hours(rng.random_range(4..72)),
            "no_response",
            end,
        );
        out.leads.push(lead);
        return (ci, Some(outcome));
    };

    // Reached: a reply now and then, a follow-up or two, then sales decides.
    if rng.random_bool(0.1) && connected + Duration::hours(3) < end {
        touch(
            out,
            connected + Duration::hours(3),
            Some(rep),
            "email",
            "inbound",
            Some("replied"),
            false,
        );
    }
    let mut t = connected;
    for _ in 0..rng.random_range(1..3) {
        t = Office::after(t, lognormal(rng, 600.0, 0.7));
        if t >= end {
            break;
        }
        outcome.attempts += 1;
        let kind = if rng.random_bool(0.5) {
            "meeting"
        } else {
            "email"
        };
        touch(
            out,
            t,
            Some(rep),
            kind,
            "outbound",
            if kind == "meeting" {
                Some("held")
            } else {
                None
            },
            false,
        );
    }
    let decided = connected + minutes(lognormal(rng, 1440.0, 0.6));
    if decided >= end {
        out.leads.push(lead);
        return (ci, Some(outcome));
    }
    if !rng.random_bool(ch.accept) {
        lead.rejected_at = Some(model::to_store_precision(decided));
        // A few rejected leads come back later and are accepted after all.
        let recycled = decided + Duration::days(rng.random_range(20..60));
        if rng.random_bool(0.02) && recycled < end {
            lead.accepted_at = Some(model::to_store_precision(recycled));
        } else {
            close(&mut lead, decided, "unqualified", end);
        }
        out.leads.push(lead);
        return (ci, Some(outcome));
    }
    lead.accepted_at = Some(model::to_store_precision(decided));
    let opened = decided + minutes(lognormal(rng, 3.0 * 1440.0, 0.6));
    let converts = reached_at <= ch.converts_until_attempt;
    if !converts || !rng.random_bool(ch.opportunity) || opened >= end {
        if opened < end {
            close(
                &mut lead,
                opened + Duration::days(rng.random_range(10..40)),
                "bad_timing",
                end,
            );
        }
        out.leads.push(lead);
        return (ci, Some(outcome));
    }
    let won = rng.random_bool(ch.win);
    let cycle_days = lognormal(rng, if segment == "ent" { 55.0 } else { 25.0 }, 0.5);
    let closed = opened + minutes(cycle_days * 1440.0);
    let amount = (lognormal(rng, median_amount, 0.5) / 10.0).round() as i64 * 1000;
    let (closed_at, won_flag) = if closed < end {
        (Some(model::to_store_precision(closed)), Some(won))
    } else {
        (None, None)
    };
    out.deals.push(Deal {
        id: format!("D{j:07}"),
        lead_id: Some(id.clone()),
        created_at: model::to_store_precision(opened),
        closed_at,
        amount_cents: amount,
        won: won_flag,
    });
    if won_flag == Some(true) {
        outcome.converted_reached_at = Some(reached_at);
    } else if won_flag == Some(false) {
        close(&mut lead, closed, "lost", end);
    }
    out.leads.push(lead);
    (ci, Some(outcome))
}

/// Closes a lead at `at`, unless that is after the end of the history.
fn close(lead: &mut Lead, at: DateTime<Utc>, reason: &str, end: DateTime<Utc>) {
    if at < end {
        lead.closed_at = Some(model::to_store_precision(at));
        lead.close_reason = Some(reason.to_owned());
    }
}

/// What `handoff demo` made.
#[derive(Debug)]
pub struct DemoSummary {
    pub spec: DemoSpec,
    /// Where the data went, for people.
    pub database: String,
    /// A command to look at the data with.
    pub look: Option<String>,
    pub stats: Stats,
    pub elapsed: StdDuration,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        let secs = self.elapsed.as_secs_f64();
        let rows = s.reps + s.leads + s.touches + s.deals;
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        let avg = |(n, a): (u64, u64)| if n == 0 { 0.0 } else { a as f64 / n as f64 };
        writeln!(
            f,
            "Built the demo company Acme Analytics in {}.",
            self.database
        )?;
        writeln!(
            f,
            "  history   {} to {} (seed {})",
            self.spec.start().format("%Y-%m-%d %H:%M"),
            self.spec.end.format("%Y-%m-%d %H:%M UTC"),
            self.spec.seed
        )?;
        writeln!(
            f,
            "  rows      {} reps, {} leads ({} MQLs), {} touches, {} deals ({} won)",
            s.reps, s.leads, s.mqls, s.touches, s.deals, s.won
        )?;
        writeln!(
            f,
            "  written   {rows} rows in {secs:.1} s ({:.0} rows/s)",
            rows as f64 / secs.max(1e-9)
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Before the SLA (signed {}):",
            self.spec.sla_start().format("%Y-%m-%d")
        )?;
        writeln!(
            f,
            "  {:.1} attempts per MQL; {:.0}% of MQLs called within an hour",
            avg(s.before_sla),
            pct(s.within_hour_before_sla.0, s.within_hour_before_sla.1)
        )?;
        writeln!(f, "Under the SLA:")?;
        writeln!(f, "  {:.1} attempts per MQL", avg(s.under_sla))?;
        writeln!(
            f,
            "Over the whole history, {:.0}% of the {} converted leads were first reached by the sixth attempt.",
            pct(s.converted_reached_by_6, s.converted),
            s.converted
        )?;
        let recent: Vec<String> = s
            .recent_mqls
            .iter()
            .map(|(channel, n)| format!("{channel} {n}"))
            .collect();
        writeln!(f, "MQLs in the last 28 days: {}.", recent.join(", "))?;
        writeln!(f)?;
        writeln!(
            f,
            "Planted trouble: webinar MQLs behind pace; paid-search MQLs mostly rejected; a slow"
        )?;
        writeln!(
            f,
            "responder (R0002) and a rep who gives up after one or two attempts (R0003); event leads"
        )?;
        writeln!(f, "that never pay back more than a few attempts.")?;
        writeln!(f)?;
        if let Some(hint) = &self.look {
            writeln!(f, "Look at it: {hint}")?;
        }
        writeln!(
            f,
            "Reproduce it: handoff demo --seed {} --leads {} --months {} --end {}",
            self.spec.seed,
            self.spec.leads,
            self.spec.months,
            self.spec.end.to_rfc3339()
        )
    }
}

/// Builds the demo company in `store`, as `handoff demo` does: migrates it,
/// then replaces its lead data.
///
/// # Errors
///
/// A database error, or a database that holds lead data the demo did not make
/// while `replace` is false.
pub async fn build(
    store: &Store,
    spec: DemoSpec,
    replace: bool,
    progress: &Progress,
) -> anyhow::Result<DemoSummary> {
    spec.check()?;
    store.migrate().await?;
    let existing = store.count(Table::Leads).await?;
    let ours = store.meta(META_KEY).await?.is_some();
    if existing > 0 && !ours && !replace {
        bail!(
            "{} already holds {existing} leads that the demo did not make; pass --replace to delete them, or --database to use another database",
            store.describe()
        );
    }
    let summary = write(store, spec, progress).await?;
    store.tidy().await?;
    Ok(summary)
}

/// Replaces the lead data of `store` with the demo company of `spec`, and
/// starts the daemon's record of it afresh.
///
/// # Errors
///
/// A database error; nothing is changed then.
pub async fn write(
    store: &Store,
    spec: DemoSpec,
    progress: &Progress,
) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let mut tx = store.begin().await?;
    tx.delete_lead_data().await?;
    // A new company: what the daemon knew of the old one (alert state, the
    // notification log, history) would keep it from telling anything anew.
    tx.delete_daemon_state().await?;

    // The generator thread also encodes the statements, so that making the next
    // batch overlaps with the database writing this one.
    let encoder = store.encoder();
    let (sender, mut receiver) = mpsc::channel::<(u64, Vec<Encoded>)>(4);
    let generator = tokio::task::spawn_blocking(move || {
        let all = UpsertColumns::all;
        generate(&spec, &mut |batch| {
            let encoded = match batch {
                Batch::Reps(reps) => (0, vec![encoder.upsert(&all(Table::Reps), &reps)]),
                Batch::Rows(c) => (
                    c.leads.len() as u64,
                    vec![
                        encoder.upsert(&all(Table::Leads), &c.leads),
                        encoder.upsert(&all(Table::Touches), &c.touches),
                        encoder.upsert(&all(Table::Deals), &c.deals),
                    ],
                ),
            };
            // A closed channel means the writer failed: stop generating.
            match sender.blocking_send(encoded) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        })
    });

    let bar = progress.bar(spec.leads, "demo leads", Unit::Rows);
    while let Some((leads, statements)) = receiver.recv().await {
        for encoded in statements {
            tx.execute(encoded).await?;
        }
        bar.inc(leads);
    }
    let stats = generator
        .await
        .context("the demo generator stopped unexpectedly")?;
    tx.set_meta(META_KEY, &spec.meta_value()).await?;
    tx.commit().await?;
    bar.finish_and_clear();
    let look = store.sqlite_file().map(|file| {
        format!(
            "sqlite3 {} 'SELECT channel, COUNT(*) FROM leads GROUP BY channel'",
            file.display()
        )
    });
    Ok(DemoSummary {
        spec,
        database: store.describe().to_owned(),
        look,
        stats,
        elapsed: started.elapsed(),
    })
}

/// Writes the demo company of `spec` as canonical CSV files into `dir`.
///
/// # Errors
///
/// A directory or file that cannot be written.
pub fn write_csv(dir: &Path, spec: DemoSpec, progress: &Progress) -> anyhow::Result<DemoSummary> {
    spec.check()?;
    let started = Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let open = |table: Table| -> anyhow::Result<csv::Writer<std::fs::File>> {
        let path = dir.join(crate::import::file_name(table));
        let mut w = csv::Writer::from_path(&path)
            .with_context(|| format!("failed to create {}", path.display()))?;
        w.write_record(table.columns().iter().map(|c| c.name))?;
        Ok(w)
    };
    let mut writers = [
        open(Table::Reps)?,
        open(Table::Leads)?,
        open(Table::Touches)?,
        open(Table::Deals)?,
    ];
    let mut failure: Option<anyhow::Error> = None;
    let bar = progress.bar(spec.leads, "demo leads", Unit::Rows);
    let stats = generate(&spec, &mut |batch| {
        let res = match batch {
            Batch::Reps(reps) => write_rows(&mut writers[0], &reps),
            Batch::Rows(chunk) => {
                bar.inc(chunk.leads.len() as u64);
                write_rows(&mut writers[1], &chunk.leads)
                    .and_then(|()| write_rows(&mut writers[2], &chunk.touches))
                    .and_then(|()| write_rows(&mut writers[3], &chunk.deals))
            }
        };
        match res {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e.context(format!("failed to write CSV files in {}", dir.display())));
    }
    for w in &mut writers {
        w.flush()
            .with_context(|| format!("failed to write CSV files in {}", dir.display()))?;
    }
    Ok(DemoSummary {
        spec,
        database: format!("CSV files in {}", dir.display()),
        // Into a database of its own: the default one may hold the demo
        // company, which import refuses to mix with other data.
        look: Some({
            let dir = dir.display().to_string();
            let name = dir.trim_end_matches('/');
            format!(
                "handoff --database {} import {}",
                crate::shell_word(&format!("sqlite://{name}.db")),
                crate::shell_word(&dir)
            )
        }),
        stats,
        elapsed: started.elapsed(),
    })
}

fn write_rows<R: crate::model::Values>(
    w: &mut csv::Writer<std::fs::File>,
    rows: &[R],
) -> anyhow::Result<()> {
    let mut fields: Vec<String> = Vec::new();
    for row in rows {
        fields.clear();
        row.visit(&mut |v| fields.push(v.to_csv()));
        w.write_record(&fields)?;
    }
    Ok(())
}

/// The time zone the demo company works in: that of its office calendar.
pub fn timezone() -> Tz {
    OFFICE.timezone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn office_time_skips_nights_and_weekends() {
        // Friday 2026-03-06 16:30 New York (EST, UTC-5) plus 60 open minutes:
        // 30 minutes on Friday, the other 30 from Monday 09:00 → Monday 09:30,
        // which is EDT (UTC-4): the clocks changed on Sunday 2026-03-08.
        assert_eq!(
            Office::after(utc("2026-03-06T21:30:00Z"), 60.0),
            utc("2026-03-09T13:30:00Z")
        );
        // Saturday night plus 10 minutes → Monday 09:10. Monday 2026-03-09 is
        // already EDT (UTC-4): the clocks changed on Sunday 2026-03-08.
        assert_eq!(
            Office::after(utc("2026-03-08T03:00:00Z"), 10.0),
            utc("2026-03-09T13:10:00Z")
        );
        // Within open hours it is plain addition.
        assert_eq!(
            Office::after(utc("2026-03-10T14:00:00Z"), 90.0),
            utc("2026-03-10T15:30:00Z")
        );
    }

    #[test]
    fn shipped_office_calendar_loads() {
        // A shipped rules/acme.yaml that does not load panics here.
        let office = LazyLock::force(&OFFICE);
        assert_eq!(office.name, "office");
        assert_eq!(office.timezone, chrono_tz::America::New_York);
        assert_eq!(timezone(), chrono_tz::America::New_York);
        assert_eq!(office.open_secs_per_week(), 5 * 8 * 3600);
        let thanksgiving = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert!(office.is_holiday(thanksgiving));
    }

    #[test]
    fn office_time_skips_holidays() {
        // Wednesday 2026-11-25 19:00 New York (EST, UTC-5), the evening before
        // Thanksgiving: Thursday 26 and Friday 27 are holidays of the office
        // calendar, then comes the weekend, so 10 open minutes end on Monday
        // 2026-11-30 at 09:10.
        assert_eq!(
            Office::after(utc("2026-11-26T00:00:00Z"), 10.0),
            utc("2026-11-30T14:10:00Z")
        );
        // Wednesday 16:50 plus 30 open minutes: 10 on Wednesday, 20 on Monday.
        assert_eq!(
            Office::after(utc("2026-11-25T21:50:00Z"), 30.0),
            utc("2026-11-30T14:20:00Z")
        );
        // Christmas Eve (Thursday) 16:30 plus 60: Christmas Day (Friday) is closed.
        assert_eq!(
            Office::after(utc("2026-12-24T21:30:00Z"), 60.0),
            utc("2026-12-28T14:30:00Z")
        );
        // A holiday at noon is closed; the day before at noon is open.
        assert!(!Office::is_open(utc("2026-11-26T17:00:00Z")));
        assert!(Office::is_open(utc("2026-11-25T17:00:00Z")));
    }

    #[test]
    fn office_skew_never_moves_onto_a_holiday() {
        // Closed instants on and after Thanksgiving: Thursday noon, Friday
        // evening, Saturday night. The latest open day before each is Wednesday
        // 2026-11-25, and every lead moved lands in its office hours.
        let wednesday = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let not_before = utc("2026-11-01T00:00:00Z");
        let mut moved = 0;
        for t in [
            utc("2026-11-26T17:00:00Z"),
            utc("2026-11-28T01:00:00Z"),
            utc("2026-11-29T03:00:00Z"),
        ] {
            for seed in 0..200 {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let s = office_skew(t, not_before, &mut rng);
                if s != t {
                    moved += 1;
                    assert!(Office::is_open(s), "{t} moved to {s}");
                    assert_eq!(s.with_timezone(&timezone()).date_naive(), wednesday);
                }
            }
        }
        // About two in three are moved.
        assert!((300..500).contains(&moved), "{moved} of 600 moved");
    }

    #[test]
    fn habits_cycle_through_the_team() {
        let team = reps(540.0);
        assert_eq!(team.len(), 12);
        assert_eq!(team[1].1, Habit::Slow);
        assert_eq!(team[2].1, Habit::GivesUp);
        assert_eq!(team[2].0.id, "R0003");
        assert!(team.iter().all(|(r, _)| {
            r.email
                .as_deref()
                .is_some_and(|e| e.ends_with("@acme.example"))
        }));
    }
}
