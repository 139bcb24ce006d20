//! `/metrics` (docs/DAEMON.md, "Metrics"): the board and the daemon's health in Prometheus' text
//! format, through the `prometheus` crate.
//!
//! Health counters and the evaluation histogram live in one registry for the
//! daemon's life. The per-objective gauges are drawn from the board each time it
//! changes, into a fresh registry, so that an objective or group that goes away
//! leaves no stale series behind. The encoded body is cached until the next
//! change: a scrape shares the encoded bytes and never touches the database.

use std::sync::Mutex;

use axum::body::Bytes;

use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType, Quantile, Summary};
use prometheus::{
    Encoder as _, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::board::{Board, SOURCE_GROUP};
use crate::eval::{Details, FailureReason, RepAttempts, RepWorked, Status};
use crate::store::ReplicaLag;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The daemon's own counters and the cached body.
pub struct Metrics {
    health: Registry,
    pub evaluations: IntCounterVec,
    pub failures: IntCounterVec,
    pub skipped: IntCounterVec,
    pub duration: HistogramVec,
    pub last_evaluation: prometheus::GaugeVec,
    pub reload_ok: IntGauge,
    pub leader: IntGauge,
    pub reload_time: Gauge,
    pub history_failures: IntCounterVec,
    pub history_unwritten: IntGauge,
    pub notifications: IntCounterVec,
    pub notifications_failed: IntCounterVec,
    pub outbox_pending: IntGauge,
    cache: Mutex<Option<(u64, Bytes)>>,
    /// Bumped whenever a health metric changes.
    ticks: std::sync::atomic::AtomicU64,
}

const OBJECTIVE: &[&str] = &["objective", "kind", "group"];

/// The `channel` label's values.
const CHANNELS: [&str; 4] = ["email", "webhook", "slack", "msteams"];

/// The labels of a per-rep series: the objective's and the owner rep's id.
const REP: &[&str] = &["objective", "kind", "group", "rep"];

/// The reps exported per objective and group: the most failures first, and
/// only reps with a failure, so a sales floor of hundreds adds at most this
/// many series per group (the full tally is in the API's `details.by_rep`).
pub const REP_SERIES: usize = 10;

impl Metrics {
    /// Registers the health metrics.
    ///
    /// # Panics
    ///
    /// Never in practice: the names and labels are fixed and valid.
    pub fn new() -> Metrics {
        let health = Registry::new();
        let evaluations = IntCounterVec::new(
            Opts::new(
                "handoff_evaluations_total",
                "Evaluations run, by objective.",
            ),
            &["objective"],
        )
        .expect("valid metric");
        let failures = IntCounterVec::new(
            Opts::new(
                "handoff_evaluation_failures_total",
                "Evaluations that failed, by objective and bounded reason.",
            ),
            &["objective", "reason"],
        )
        .expect("valid metric");
        let skipped = IntCounterVec::new(
            Opts::new(
                "handoff_evaluations_skipped_total",
                "Scheduled runs skipped because the previous run of the objective was still going.",
            ),
            &["objective"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "handoff_evaluation_duration_seconds",
                "How long evaluations take, by objective.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0,
            ]),
            &["objective"],
        )
        .expect("valid metric");
        let last_evaluation = prometheus::GaugeVec::new(
            Opts::new(
                "handoff_last_evaluation_timestamp_seconds",
                "When each objective was last evaluated (Unix time).",
            ),
            &["objective"],
        )
        .expect("valid metric");
        let reload_ok = IntGauge::new(
            "handoff_rules_last_reload_successful",
            "1 if the last load of the rule files succeeded, 0 if it failed and the previous rules are kept.",
        )
        .expect("valid metric");
        let leader = IntGauge::new(
            "handoff_leader",
            "1 if this daemon records and sends (it holds the leader's lease, or runs alone on a SQLite file), 0 if it follows another.",
        )
        .expect("valid metric");
        let reload_time = Gauge::new(
            "handoff_rules_last_reload_success_timestamp_seconds",
            "When the rule files were last loaded successfully (Unix time).",
        )
        .expect("valid metric");
        let history_failures = IntCounterVec::new(
            Opts::new(
                "handoff_history_write_failures_total",
                "Failed writes of the record, by reason: rows that failed for a passing reason (unreachable, timeout, storage) are kept and written later; refused rows (query, data, schema) are dropped, and so are the rows of a daemon that lost the leader's lease (fenced).",
            ),
            &["reason"],
        )
        .expect("valid metric");
        // Every reason starts at 0, so that `increase()` sees the first
        // failure; but `stale`, which only a read of a replica gives.
        for kind in crate::store::ErrorKind::ALL {
            if kind != crate::store::ErrorKind::Stale {
                history_failures.with_label_values(&[kind.as_str()]);
            }
        }
        let history_unwritten = IntGauge::new(
            "handoff_history_unwritten_rows",
            "Rows of the record (results history, alert state, notification log, outbox) waiting to be written.",
        )
        .expect("valid metric");
        let notifications = IntCounterVec::new(
            Opts::new(
                "handoff_notifications_total",
                "Notices delivered, by kind and channel: mail handed to the mail server (or written to the outbox directory), or a webhook, Slack or Teams post answered 2xx.",
            ),
            &["kind", "channel"],
        )
        .expect("valid metric");
        let notifications_failed = IntCounterVec::new(
            Opts::new(
                "handoff_notifications_failed_total",
                "Failed attempts to deliver a notice, by reason and channel: temporary (tried again), timeout (the server did not answer in time; tried again), rate_limited (HTTP 429; tried again after Retry-After), permanent (an SMTP 5xx reply, an HTTP 4xx answer), auth (the mail server refused the login).",
            ),
            &["reason", "channel"],
        )
        .expect("valid metric");
        let outbox_pending =
            IntGauge::new("handoff_outbox_pending", "Alert mails waiting to be sent.")
                .expect("valid metric");
        for kind in [
            "firing",
            "resolved",
            "repeat",
            "period_missed",
            "lead",
            "trend",
            "review",
        ] {
            for channel in CHANNELS {
                notifications.with_label_values(&[kind, channel]);
            }
        }
        for reason in ["temporary", "timeout", "rate_limited", "permanent", "auth"] {
            for channel in CHANNELS {
                notifications_failed.with_label_values(&[reason, channel]);
            }
        }
        let build = IntGaugeVec::new(
            Opts::new(
                "handoff_build_info",
                "The running handoff's version; always 1.",
            ),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for c in [
            Box::new(evaluations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failures.clone()),
            Box::new(skipped.clone()),
            Box::new(duration.clone()),
            Box::new(last_evaluation.clone()),
            Box::new(reload_ok.clone()),
            Box::new(leader.clone()),
            Box::new(reload_time.clone()),
            Box::new(history_failures.clone()),
            Box::new(history_unwritten.clone()),
            Box::new(notifications.clone()),
            Box::new(notifications_failed.clone()),
            Box::new(outbox_pending.clone()),
            Box::new(build),
        ] {
            health.register(c).expect("unique metric");
        }
        Metrics {
            health,
            evaluations,
            failures,
            skipped,
            duration,
            last_evaluation,
            reload_ok,
            leader,
            reload_time,
            history_failures,
            history_unwritten,
            notifications,
            notifications_failed,
            outbox_pending,
            cache: Mutex::new(None),
            ticks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Says that a health metric changed, so that the next scrape re-encodes.
    pub fn touch(&self) {
        self.ticks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts a failed evaluation with its bounded reason.
    pub fn failed(&self, objective: &str, reason: FailureReason) {
        self.failures
            .with_label_values(&[objective, reason.as_str()])
            .inc();
    }

    /// Starts every objective's failure counters at 0 for every reason, so that
    /// `rate()` and `increase()` see the first failure.
    pub fn declare(&self, objective: &str) {
        self.evaluations.with_label_values(&[objective]);
        self.skipped.with_label_values(&[objective]);
        for reason in FailureReason::ALL {
            self.failures
                .with_label_values(&[objective, reason.as_str()]);
        }
    }

    /// Forgets the series of an objective that was removed from the rules.
    pub fn forget(&self, objective: &str) {
        let _ = self.evaluations.remove_label_values(&[objective]);
        let _ = self.skipped.remove_label_values(&[objective]);
        let _ = self.last_evaluation.remove_label_values(&[objective]);
        let _ = self.duration.remove_label_values(&[objective]);
        for reason in FailureReason::ALL {
            let _ = self
                .failures
                .remove_label_values(&[objective, reason.as_str()]);
        }
        self.touch();
    }

    /// The body of a scrape: cached until the board, a health metric or the
    /// read replica's lag (`replica`, when the lead reads go to one) changes.
    /// `board` is consulted only when the cache is stale.
    pub fn body(&self, board: &Board, unwritten: usize, replica: Option<&ReplicaLag>) -> Bytes {
        let ticks = self.ticks.load(std::sync::atomic::Ordering::Relaxed);
        let key = board
            .generation
            .wrapping_mul(1_000_003)
            .wrapping_add(ticks)
            .wrapping_mul(1_000_033)
            .wrapping_add(unwritten as u64)
            .wrapping_mul(1_000_037)
            .wrapping_add(replica.map_or(0, ReplicaLag::readings));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, body)) = &*cache
            && *k == key
        {
            return body.clone();
        }
        self.history_unwritten.set(unwritten as i64);
        let body = Bytes::from(self.encode(board, replica));
        *cache = Some((key, body.clone()));
        body
    }

    fn encode(&self, board: &Board, replica: Option<&ReplicaLag>) -> String {
        let mut families = self.health.gather();
        families.extend(objective_families(board));
        families.extend(review_families(board));
        families.extend(replica_families(replica));
        // A family without samples cannot be encoded (and says nothing).
        families.retain(|f| !f.get_metric().is_empty());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "Could not encode metrics.");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

/// The per-objective families, drawn from the board.
/// One rep's share of a failing figure, whatever the kind: the leads behind
/// the failure and what they were out of.
struct RepTally<'a> {
    rep: Option<&'a str>,
    name: Option<&'a str>,
    failures: u64,
    leads: u64,
}

/// percent_worked: the late leads out of those due.
impl<'a> From<&'a RepWorked> for RepTally<'a> {
    fn from(t: &'a RepWorked) -> Self {
        RepTally {
            rep: t.rep.as_deref(),
            name: t.name.as_deref(),
            failures: t.late,
            leads: t.eligible,
        }
    }
}

/// contact_attempts: given up too early out of given up on.
impl<'a> From<&'a RepAttempts> for RepTally<'a> {
    fn from(t: &'a RepAttempts) -> Self {
        RepTally {
            rep: t.rep.as_deref(),
            name: t.name.as_deref(),
            failures: t.violating,
            leads: t.abandoned,
        }
    }
}

impl RepTally<'_> {
    /// The `rep` label: the id, or `unknown` for leads nobody owns.
    fn label(&self) -> &str {
        self.rep.unwrap_or("unknown")
    }
}

/// The reps a series is exported for: those with a failure, the first
/// [`REP_SERIES`] of them (the tallies come most failures first), and the
/// unowned leads when they failed.
fn bounded<'a>(
    reps: impl Iterator<Item = RepTally<'a>>,
    unassigned: Option<RepTally<'a>>,
) -> impl Iterator<Item = RepTally<'a>> {
    reps.filter(|t| t.failures > 0)
        .take(REP_SERIES)
        .chain(unassigned.filter(|t| t.failures > 0))
}

fn objective_families(board: &Board) -> Vec<prometheus::proto::MetricFamily> {
    let value = gauge(
        "handoff_objective_value",
        "The objective's value: a ratio 0–1, a count of MQLs, or an attempt number.",
        OBJECTIVE,
    );
    let target = gauge(
        "handoff_objective_target",
        "The objective's target.",
        OBJECTIVE,
    );
    let numerator = gauge(
        "handoff_objective_numerator",
        "The numerator of a ratio objective.",
        OBJECTIVE,
    );
    let denominator = gauge(
        "handoff_objective_denominator",
        "The denominator of a ratio objective.",
        OBJECTIVE,
    );
    let status = gauge(
        "handoff_objective_status",
        "1 on the objective's current status (ok, at_risk, breached, no_data, error), 0 on the others.",
        &["objective", "kind", "group", "status"],
    );
    let expected = gauge(
        "handoff_lead_volume_expected",
        "MQLs expected by now in the period, from the target and the elapsed part of the period.",
        OBJECTIVE,
    );
    let pace = gauge(
        "handoff_lead_volume_pace",
        "Delivered MQLs over the expected number by now.",
        OBJECTIVE,
    );
    let mut response = Vec::new();
    let cutoff = gauge(
        "handoff_attempt_cutoff",
        "The last attempt number whose expected value still covers its cost.",
        OBJECTIVE,
    );
    let mql_value = gauge(
        "handoff_mql_value",
        "Expected revenue of one MQL of the cohort.",
        OBJECTIVE,
    );
    let required = gauge(
        "handoff_attempt_required",
        "The minimum attempts the SLA asks for (the min_attempts of the objective a profitability objective checks), to set against the cutoff.",
        OBJECTIVE,
    );
    let leakage_value = gauge(
        "handoff_leakage_value",
        "What the MQLs given up on before the cutoff were worth: leaking leads times the MQL value, in the rules' currency (handoff_currency_info).",
        OBJECTIVE,
    );
    let currency = gauge(
        "handoff_currency_info",
        "The rules' reporting currency (ISO 4217), in which every amount is; 1 when the rules name one.",
        &["currency"],
    );
    let rep_failures = gauge(
        "handoff_rep_failures",
        "The leads behind a failing figure per owner rep, late for percent_worked, given up too early for contact_attempts: the ten reps with the most per objective and group, and rep=\"unknown\" for leads nobody owns.",
        REP,
    );
    let rep_leads = gauge(
        "handoff_rep_leads",
        "The leads the figure counts for each rep of handoff_rep_failures: due for percent_worked, given up on for contact_attempts.",
        REP,
    );
    let rep_info = gauge(
        "handoff_rep_info",
        "1 for each rep a result names, with the rep's name, to join on `rep`.",
        &["rep", "name"],
    );
    let ev = gauge(
        "handoff_attempt_expected_value",
        "Expected revenue of making attempt k (conversion rate at k times average revenue).",
        &["objective", "kind", "group", "attempt"],
    );
    let alerts = gauge(
        "handoff_alerts",
        "Pending and firing alerts, like Prometheus' ALERTS.",
        &[
            "alertname",
            "objective",
            "kind",
            "group",
            "severity",
            "alertstate",
        ],
    );

    for name in &board.order {
        let Some(e) = board.entries.get(name) else {
            continue;
        };
        let kind = e.objective.kind().as_str();
        if let Some(c) = &e.objective.currency {
            currency.with_label_values(&[c]).set(1.0);
        }
        if let Some(f) = &e.failure {
            // Nothing measured: only the status says so; stale values would
            // read as current.
            let groups: Vec<&String> = if e.latest.is_empty() {
                Vec::new()
            } else {
                e.latest.keys().collect()
            };
            let all = "all".to_owned();
            let groups = if groups.is_empty() {
                vec![&all]
            } else {
                groups
            };
            for g in groups {
                for s in Status::ALL {
                    status
                        .with_label_values(&[name, kind, g, s.as_str()])
                        .set(if s == Status::Error { 1.0 } else { 0.0 });
                }
            }
            let _ = f;
        } else if let Some(last) = &e.last {
            for r in &last.results {
                let labels = [name.as_str(), kind, r.group.as_str()];
                for (vec, v) in [
                    (&value, r.value),
                    (&target, r.target),
                    (&numerator, r.numerator),
                    (&denominator, r.denominator),
                ] {
                    if let Some(v) = v {
                        vec.with_label_values(&labels).set(v);
                    }
                }
                for s in Status::ALL {
                    status
                        .with_label_values(&[name, kind, &r.group, s.as_str()])
                        .set(if s == r.status { 1.0 } else { 0.0 });
                }
                if let Some(n) = &r.group_name {
                    rep_info.with_label_values(&[&r.group, n]).set(1.0);
                }
                let mut tallies: Vec<RepTally> = Vec::new();
                match &r.details {
                    Details::LeadVolume(d) => {
                        if let Some(x) = d.expected {
                            expected.with_label_values(&labels).set(x);
                        }
                        if let Some(x) = d.pace {
                            pace.with_label_values(&labels).set(x);
                        }
                    }
                    Details::PercentWorked(d) => {
                        response.push(response_summary(&labels, d));
                        let reps = d.by_rep.iter().map(RepTally::from);
                        tallies.extend(bounded(reps, d.unassigned.as_ref().map(RepTally::from)));
                    }
                    Details::ContactAttempts(d) => {
                        let reps = d.by_rep.iter().map(RepTally::from);
                        tallies.extend(bounded(reps, d.unassigned.as_ref().map(RepTally::from)));
                    }
                    Details::Profitability(d) => {
                        if let Some(x) = d.required_attempts {
                            required.with_label_values(&labels).set(f64::from(x));
                        }
                        if let Some(x) = d.leakage_value {
                            leakage_value.with_label_values(&labels).set(x);
                        }
                        if let Some(x) = d.cutoff {
                            cutoff.with_label_values(&labels).set(f64::from(x));
                        }
                        if let Some(x) = d.mql_value {
                            mql_value.with_label_values(&labels).set(x);
                        }
                        for (k, x) in d.expected_value.iter().enumerate() {
                            ev.with_label_values(&[name, kind, &r.group, &(k + 1).to_string()])
                                .set(*x);
                        }
                    }
                    _ => {}
                }
                for t in tallies {
                    let rl = [name.as_str(), kind, r.group.as_str(), t.label()];
                    rep_failures.with_label_values(&rl).set(t.failures as f64);
                    rep_leads.with_label_values(&rl).set(t.leads as f64);
                    if let (Some(id), Some(n)) = (t.rep, t.name) {
                        rep_info.with_label_values(&[id, n]).set(1.0);
                    }
                }
            }
        }
        for (g, s) in &e.series {
            if s.is_active() {
                let severity = s.severity.map_or("warning", |x| x.as_str());
                alerts
                    .with_label_values(&["objective", name, kind, g, severity, s.state.as_str()])
                    .set(1.0);
            }
        }
    }
    if board.source.is_active() {
        alerts
            .with_label_values(&[
                "evaluation_failing",
                "",
                "",
                SOURCE_GROUP,
                "critical",
                board.source.state.as_str(),
            ])
            .set(1.0);
    }
    let mut out = Vec::new();
    for v in [
        value,
        target,
        numerator,
        denominator,
        status,
        expected,
        pace,
        cutoff,
        required,
        mql_value,
        leakage_value,
        currency,
        ev,
        rep_failures,
        rep_leads,
        rep_info,
        alerts,
    ] {
        out.extend(prometheus::core::Collector::collect(&v));
    }
    let mut family = MetricFamily::default();
    family.set_name("handoff_response_seconds".to_owned());
    family.set_help(
        "Time from MQL to first attempt over the eligible leads that have one: nearest-rank \
         quantiles, their count and the sum of their seconds."
            .to_owned(),
    );
    family.set_field_type(MetricType::SUMMARY);
    family.set_metric(response);
    out.push(family);
    out.extend(lead_families(board));
    out.extend(hold_families(board));
    out
}

/// Silences and acknowledgements (docs/CHANNELS.md): how many silences are
/// in force, and how many firing alerts each holds back.
fn hold_families(board: &Board) -> Vec<MetricFamily> {
    let active = prometheus::IntGauge::new(
        "handoff_silences_active",
        "Silences in force now: the notices of the alerts they match are held.",
    )
    .expect("valid metric");
    active.set(i64::try_from(board.active_silences).unwrap_or(i64::MAX));
    let acked = prometheus::IntGauge::new(
        "handoff_alerts_acknowledged",
        "Firing alerts whose episode was acknowledged at its current severity: no reminders go.",
    )
    .expect("valid metric");
    let mut n = 0;
    for e in board.entries.values() {
        for (g, s) in &e.series {
            if let (super::alerts::State::Firing, Some(fired), Some(sev)) =
                (s.state, s.fired_at, s.severity)
                && board
                    .ack_of(&e.objective.name, g, fired)
                    .is_some_and(|a| a.severity == sev)
            {
                n += 1;
            }
        }
    }
    acked.set(n);
    let mut out = Vec::new();
    out.extend(prometheus::core::Collector::collect(&active));
    out.extend(prometheus::core::Collector::collect(&acked));
    out
}

/// The lead notices' families (docs/LEADS.md): notices told by kind, and
/// each objective's leads in flight and overdue as its last scan found them.
fn lead_families(board: &Board) -> Vec<MetricFamily> {
    let told = prometheus::IntCounterVec::new(
        Opts::new(
            "handoff_lead_notices_total",
            "Lead notices told (one per lead, kind and receiver), by kind: handoff, reminder, overdue.",
        ),
        &["kind"],
    )
    .expect("valid metric");
    for kind in super::leads::NoticeKind::ALL {
        told.with_label_values(&[kind.as_str()])
            .inc_by(board.lead_notices.get(&kind).copied().unwrap_or(0));
    }
    let overdue = gauge(
        "handoff_leads_overdue",
        "Leads past their first-attempt deadline by less than a working day of the objective's clock (8 business hours with a calendar, 24 hours without), untried and still open, as the last scan found them.",
        &["objective"],
    );
    let in_flight = gauge(
        "handoff_leads_in_flight",
        "Leads untried and open whose first-attempt deadline is still ahead, as the last scan found them.",
        &["objective"],
    );
    let scanned = gauge(
        "handoff_lead_scan_timestamp_seconds",
        "When the leads in flight were last scanned successfully (Unix time).",
        &["objective"],
    );
    // A failed scan keeps what the last good one found.
    for (name, v) in &board.leads {
        if let Some(t) = v.scanned_at {
            overdue.with_label_values(&[name]).set(v.overdue as f64);
            in_flight.with_label_values(&[name]).set(v.in_flight as f64);
            scanned.with_label_values(&[name]).set(t.timestamp() as f64);
        }
    }
    let mut out = Vec::new();
    out.extend(prometheus::core::Collector::collect(&told));
    for v in [overdue, in_flight, scanned] {
        out.extend(prometheus::core::Collector::collect(&v));
    }
    out
}

/// The last closed period (docs/REVIEW.md): each objective's figures over
/// it, whether each judged group met its promise, and the `trend:` change.
fn review_families(board: &Board) -> Vec<MetricFamily> {
    let Some(r) = &board.review else {
        return Vec::new();
    };
    let value = gauge(
        "handoff_period_value",
        "Each objective's value over the last closed review period (the objective evaluated over the whole period, at its end).",
        OBJECTIVE,
    );
    let target = gauge(
        "handoff_period_target",
        "Each objective's target for the last closed review period.",
        OBJECTIVE,
    );
    let met = gauge(
        "handoff_period_met",
        "1 if the group met its promise over the last closed review period, 0 if it missed; absent when not judged.",
        OBJECTIVE,
    );
    let trend = gauge(
        "handoff_objective_trend_change",
        "The last closed period against its trend baseline (objectives with trend:): relative for counts (-0.1 = 10% fewer), points for ratios (-0.1 = ten points lower).",
        OBJECTIVE,
    );
    let start = Gauge::new(
        "handoff_period_start_timestamp_seconds",
        "The start of the last closed review period the handoff_period_* figures describe (Unix time).",
    )
    .expect("valid metric");
    start.set(r.period.start.timestamp() as f64);
    for o in &r.objectives {
        let Some(p) = o.periods.first() else {
            continue;
        };
        for g in &p.results {
            let labels = [o.name.as_str(), o.kind.as_str(), g.group.as_str()];
            if g.status == Status::Error {
                continue;
            }
            if let Some(v) = g.value {
                value.with_label_values(&labels).set(v);
            }
            if let Some(t) = g.target {
                target.with_label_values(&labels).set(t);
            }
            if let Some(m) = crate::review::verdict(g) {
                met.with_label_values(&labels)
                    .set(if m { 1.0 } else { 0.0 });
            }
        }
        for t in &o.trend {
            if let Some(c) = t.change {
                trend
                    .with_label_values(&[o.name.as_str(), o.kind.as_str(), t.group.as_str()])
                    .set(c);
            }
        }
    }
    let mut out = Vec::new();
    for v in [value, target, met, trend] {
        out.extend(prometheus::core::Collector::collect(&v));
    }
    out.extend(prometheus::core::Collector::collect(&start));
    out
}

/// `handoff_read_replica_lag_seconds`: how far behind its primary the read
/// replica said it was at the start of the last lead read (an evaluation, a
/// scan for lead notices, the review); +Inf when it could not say. Absent
/// without a replica, and before its first reading.
fn replica_families(replica: Option<&ReplicaLag>) -> Vec<MetricFamily> {
    let Some(seconds) = replica.and_then(ReplicaLag::seconds) else {
        return Vec::new();
    };
    let lag = Gauge::new(
        "handoff_read_replica_lag_seconds",
        "How far behind its primary the read replica (--read-database) said it was at the start of the last read of the lead data; +Inf when it could not say (replication stopped). An evaluation on a replica further behind than --max-replica-lag fails with reason stale_replica.",
    )
    .expect("valid metric");
    lag.set(seconds);
    prometheus::core::Collector::collect(&lag)
}

/// One group's response times as a summary: p50 and p90 (nearest rank), the
/// number of leads with an attempt and the sum of their response seconds.
fn response_summary(labels: &[&str; 3], d: &crate::eval::WorkedDetails) -> Metric {
    let mut summary = Summary::default();
    summary.set_sample_count(d.eligible - d.never_attempted);
    summary.set_sample_sum(d.response_seconds_sum);
    let quantiles = [(0.5, d.p50_seconds), (0.9, d.p90_seconds)]
        .into_iter()
        .filter_map(|(q, v)| {
            let mut x = Quantile::default();
            x.set_quantile(q);
            x.set_value(v?);
            Some(x)
        })
        .collect();
    summary.set_quantile(quantiles);
    let mut metric = Metric::default();
    metric.set_label(
        OBJECTIVE
            .iter()
            .zip(labels)
            .map(|(k, v)| {
                let mut pair = LabelPair::default();
                pair.set_name((*k).to_owned());
                pair.set_value((*v).to_owned());
                pair
            })
            .collect(),
    );
    metric.set_summary(summary);
    metric
}
