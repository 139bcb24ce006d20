//! `handoff run`: the daemon (docs/DAEMON.md).
//!
//! ```text
//!            ┌──────────── one task per objective ─────────────┐
//! rules/ ──► │ schedule (cron + stable jitter) ─► run_objective │ ──► board ──► /metrics, /api, /
//!  reload    │   bounded by a semaphore, with its timeout      │       │
//!  (SIGHUP,  └─────────────────────────────────────────────────┘       └─► store.record (history,
//!   a file change, POST /-/reload)                                          alert state, events)
//! ```
//!
//! Each objective runs on its own schedule; a run that would overlap the
//! previous one of the same objective is skipped and counted. Every result goes
//! on the board (memory, which HTTP reads) and into the record (the `handoff_`
//! tables), which a writer task of its own writes: nothing else ever waits for
//! a write, so evaluations, mail, reloads and HTTP go on while the database
//! hangs or its disk is full. A database that goes away makes `error` results,
//! never a crash: failed objectives retry with capped backoff, rows not yet
//! written wait in memory, and alert state is never resolved by an error. Mail
//! is decided by one task and delivered by another, a task per receiver
//! (`notify`). On start, saved alert state comes back, then every objective
//! runs once.

pub mod acks;
mod alerts;
mod board;
pub mod engine;
pub mod evaluate;
pub mod holds;
mod http;
pub mod leads;
pub mod lease;
mod metrics;
mod notify;
pub mod page;
pub mod replay;
mod schedule;
mod server;
mod view;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::eval::{FailureReason, timeout_for};
use crate::rules::{Objective, RuleSet};
use crate::store::{Journal, Store};

pub use alerts::{Change, Observation, Series, Severity, State, Timing, Transition};
pub use board::{Board, Entry, summarize};
pub use engine::{Effects, Engine, Input, definition};
pub use notify::{FIRST_RETRY, Grouping, MailOptions};
pub use schedule::{Clock, Plan};
pub use server::Limits as HttpLimits;

pub use board::Outcome as Evaluation;
use board::log_transition;

/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9477";

/// How the daemon runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where HTTP listens.
    pub listen: SocketAddr,
    /// HTTP timeouts and connection limit.
    pub http: HttpLimits,
    /// The bearer token of write endpoints; none: they answer 403.
    pub admin_token: Option<String>,
    /// How long results history and alert events are kept.
    pub retention: TimeDelta,
    /// How many evaluations may query the database at once.
    pub concurrency: usize,
    /// How long in-flight evaluations may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// How often the rules directory is checked for changes.
    pub watch_interval: Duration,
    /// The wall clock (tests use tokio's).
    pub clock: Clock,
    /// Evaluate every objective once on start.
    pub run_on_start: bool,
    /// Alert mail; none: no mail at all.
    pub mail: Option<MailOptions>,
    /// Accept a reload that removes every objective, or more than half of
    /// them ([`dropped_too_many`]); without it such a reload is refused.
    pub allow_empty_rules: bool,
    /// Print the addresses for a person on stderr when listening; off when
    /// the logs are JSON, whose stream must hold nothing else.
    pub banner: bool,
    /// How often the leads in flight are scanned for lead notices (also at
    /// every instant one falls due).
    pub lead_scan_every: Duration,
    /// This daemon's name as the holder of the leader's lease
    /// (docs/DAEMON.md, "Two daemons, one mailer").
    pub instance: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: DEFAULT_LISTEN.parse().expect("valid address"),
            http: HttpLimits::default(),
            admin_token: None,
            retention: TimeDelta::days(400),
            concurrency: 2,
            shutdown_grace: Duration::from_secs(30),
            watch_interval: Duration::from_secs(2),
            clock: Clock::System,
            run_on_start: true,
            mail: None,
            allow_empty_rules: false,
            banner: true,
            lead_scan_every: leads::DEFAULT_SCAN_EVERY,
            instance: lease::default_instance(),
        }
    }
}

/// The first retry of a failed objective comes this soon, doubling up to
/// [`MAX_BACKOFF`] (but never later than its schedule).
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How long one write of the record may take before the database counts as
/// away and the rows wait for the next write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The first retry of a write of the record that failed, doubling up to
/// [`MAX_WRITE_BACKOFF`] while it fails.
const FIRST_WRITE_BACKOFF: Duration = Duration::from_secs(1);
const MAX_WRITE_BACKOFF: Duration = Duration::from_secs(30);

/// How many mails may be handed to the server at once (one per receiver).
const MAIL_CONNECTIONS: usize = 4;

/// Webhook, Slack and Teams posts at once (each receiver's in order).
const POST_CONNECTIONS: usize = 8;

/// How often history older than the retention is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// The running daemon, shared by its tasks and HTTP handlers.
pub struct Daemon {
    store: Store,
    rules_dir: PathBuf,
    options: Options,
    /// What the daemon decides: alert state, mail, the snapshot HTTP reads.
    engine: Mutex<Engine>,
    /// The record not yet written (bounded while the database is away).
    unwritten: Mutex<Journal>,
    metrics: metrics::Metrics,
    permits: Semaphore,
    /// The running task of each objective: its definition and its stop switch.
    tasks: Mutex<HashMap<String, (String, CancellationToken)>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// Writes of the record, one at a time and in order.
    writer: tokio::sync::Mutex<()>,
    /// Wakes the writer: rows wait in `unwritten`.
    write_wake: tokio::sync::Notify,
    /// Why the last write of the record failed, while rows that failed wait
    /// for the next: `/-/ready` says so.
    write_failing: Mutex<Option<String>>,
    /// Whether the last contact with the database succeeded.
    database_ok: std::sync::atomic::AtomicBool,
    /// Serialises reloads.
    reloading: tokio::sync::Mutex<()>,
    /// What the rules directory held when the running rules were loaded.
    rules_seen: Mutex<Fingerprint>,
    /// Wakes the mail round after an evaluation.
    mail_wake: tokio::sync::Notify,
    /// Wakes delivery after mail was decided.
    deliver_wake: tokio::sync::Notify,
    /// Mail being handed to the server at once, across receivers.
    smtp_slots: Semaphore,
    /// Webhook, Slack and Teams posts under way at once, across receivers.
    post_slots: Semaphore,
    /// Evaluations and mail deliveries under way, for the stop's log.
    busy_evaluations: std::sync::atomic::AtomicUsize,
    busy_deliveries: std::sync::atomic::AtomicUsize,
    /// Reviews worked out, by period label: (content hash of the rules,
    /// when, the review). One computation at a time.
    reviews: tokio::sync::Mutex<ReviewCache>,
    /// Wakes the review loop (a reload).
    review_wake: tokio::sync::Notify,
    /// Alone on a SQLite file, or leader or follower by the lease.
    role: Mutex<lease::Role>,
}

/// Reviews worked out, by period label: the content hash of the rules they
/// were worked out under, when, and the review.
type ReviewCache =
    std::collections::BTreeMap<String, (String, DateTime<Utc>, Arc<crate::review::Review>)>;

/// How long a worked-out review is served before it is worked out again
/// (lead data of a closed period can still change: late imports, deals won).
const REVIEW_FRESH: TimeDelta = TimeDelta::hours(6);

/// How many reviews of other periods `/review/{period}` keeps.
const REVIEWS_KEPT: usize = 12;

type Fingerprint = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

impl Daemon {
    /// A daemon over `store` with the rule set loaded from `rules_dir`.
    pub fn new(store: Store, rules: RuleSet, rules_dir: PathBuf, options: Options) -> Arc<Daemon> {
        let metrics = metrics::Metrics::new();
        let now = options.clock.now();
        metrics.reload_ok.set(1);
        metrics.reload_time.set(now.timestamp() as f64);
        for o in rules.objectives() {
            metrics.declare(&o.name);
        }
        let mut engine = Engine::new(
            Arc::new(rules),
            options.mail.clone(),
            store.describe().to_owned(),
            now,
        );
        // Several daemons may share a server database: each starts as a
        // follower and decides notices only once it holds the lease.
        let role = if store.backend() == crate::store::Backend::Sqlite {
            lease::Role::Alone
        } else {
            engine.follow();
            lease::Role::Follower { leader: None }
        };
        metrics.leader.set(i64::from(role.records()));
        Arc::new(Daemon {
            store,
            rules_dir: rules_dir.clone(),
            permits: Semaphore::new(options.concurrency.max(1)),
            options,
            engine: Mutex::new(engine),
            unwritten: Mutex::new(Journal::default()),
            metrics,
            tasks: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            writer: tokio::sync::Mutex::new(()),
            write_wake: tokio::sync::Notify::new(),
            write_failing: Mutex::new(None),
            database_ok: std::sync::atomic::AtomicBool::new(true),
            reloading: tokio::sync::Mutex::new(()),
            rules_seen: Mutex::new(fingerprint(&rules_dir)),
            mail_wake: tokio::sync::Notify::new(),
            deliver_wake: tokio::sync::Notify::new(),
            smtp_slots: Semaphore::new(MAIL_CONNECTIONS),
            post_slots: Semaphore::new(POST_CONNECTIONS),
            busy_evaluations: std::sync::atomic::AtomicUsize::new(0),
            busy_deliveries: std::sync::atomic::AtomicUsize::new(0),
            reviews: tokio::sync::Mutex::new(std::collections::BTreeMap::new()),
            review_wake: tokio::sync::Notify::new(),
            role: Mutex::new(role),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The rule set in force.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.engine().rules().clone()
    }

    /// Locks the engine.
    pub fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the board (the engine's snapshot).
    pub fn board(&self) -> BoardGuard<'_> {
        BoardGuard(self.engine())
    }

    /// Locks the record not yet written.
    pub fn unwritten(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.unwritten.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Carries out what the engine decided: rows to write, transitions to
    /// log, schedules to start and stop, mail to deliver.
    fn carry_out(&self, effects: Effects) {
        let leads = self.records();
        for l in &effects.transitions {
            if leads {
                log_transition(l);
            }
        }
        if effects.unbuildable > 0 {
            self.metrics
                .notifications_failed
                .with_label_values(&["permanent"])
                .inc_by(effects.unbuildable);
        }
        let pending = self.engine().mail.pending.len();
        self.metrics.outbox_pending.set(pending as i64);
        // A follower records nothing: the leader does.
        if !effects.record.is_empty() && leads {
            board::merge_journal(&mut self.unwritten(), effects.record);
            self.record_soon();
        }
        if !effects.notices.is_empty() && leads {
            self.deliver_wake.notify_one();
        }
        self.metrics.touch();
    }

    /// The current wall time.
    pub fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    /// Whether the last contact with the database succeeded.
    pub fn database_ok(&self) -> bool {
        self.database_ok.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Asks every task to stop.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Whether stop was asked.
    pub fn stopping(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Brings back saved state: alert series, the notification log and the
    /// outbox, the periods missed lately, the episodes still open in the
    /// results history, and the definitions of the last rule set recorded.
    ///
    /// # Errors
    ///
    /// The database could not be read.
    pub async fn restore(&self) -> Result<(), crate::store::StoreError> {
        let now = self.now();
        let rules = self.rules();
        let alerts = self.store.alert_rows().await?;
        let n = alerts.len();
        let mut restored = engine::Restored {
            alerts,
            now,
            ..engine::Restored::default()
        };
        for o in rules.objectives() {
            for (group, start) in self.store.episode_starts(&o.name).await? {
                restored.episodes.push((o.name.clone(), group, start));
            }
            if o.kind() == crate::rules::Kind::LeadVolume {
                restored.periods.extend(
                    self.store
                        .periods(
                            &o.name,
                            now - notify::MISSED_TOLD_FOR,
                            now + TimeDelta::days(1),
                        )
                        .await?,
                );
            }
        }
        let last = self.store.latest_rule_set().await?;
        restored.last_definitions = last
            .as_ref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.rules).ok())
            .map(|rules| engine::recorded_definitions(&rules));
        restored.last_rule_set = last.map(|r| r.hash);
        if self.engine().decides_notices() {
            restored.log = self.store.notification_log().await?;
            restored.pending = self.store.pending_mail().await?;
            restored.lead_log = self.store.lead_notices(now - leads::LOG_KEPT).await?;
        }
        restored.silences = self.store.silences(now - holds::SILENCES_SHOWN_FOR).await?;
        restored.acks = self.store.acks().await?;
        let (log, pending) = (restored.log.len(), restored.pending.len());
        let effects = self.engine().handle(Input::Restored(Box::new(restored)));
        tracing::info!(
            alert_series = n,
            notification_log = log,
            outbox_pending = pending,
            "Restored alert state, the notification log and the outbox."
        );
        self.carry_out(effects);
        Ok(())
    }

    /// Brings back the chart points of the last 90 days from the results
    /// history, a row at a time (value and time only).
    ///
    /// # Errors
    ///
    /// The database could not be read.
    pub async fn restore_charts(&self) -> Result<(), crate::store::StoreError> {
        let now = self.now();
        let from = now - TimeDelta::days(board::CHART_DAYS);
        let mut n = 0u64;
        self.store
            .points(from, now, &mut |objective, group, at, value| {
                let mut board = self.board();
                if let Some(e) = board.entries.get_mut(&objective) {
                    e.chart_point(&group, at, value, now);
                    n += 1;
                }
            })
            .await?;
        self.board().generation += 1;
        tracing::info!(points = n, "Restored chart history.");
        Ok(())
    }

    /// Starts the task of every objective, and the housekeeping tasks.
    pub fn start(self: &Arc<Self>) {
        let rules = self.rules();
        for o in rules.objectives() {
            self.spawn_objective(o.clone());
        }
        let d = self.clone();
        self.tracker.spawn(async move { d.writer_loop().await });
        let d = self.clone();
        self.tracker.spawn(async move { d.housekeeping().await });
        let d = self.clone();
        self.tracker.spawn(async move { d.watch_rules().await });
        let d = self.clone();
        self.tracker.spawn(async move { d.lead_loop().await });
        let d = self.clone();
        self.tracker.spawn(async move { d.review_loop().await });
        let d = self.clone();
        self.tracker.spawn(async move { d.holds_loop().await });
        if matches!(self.role(), lease::Role::Follower { .. }) {
            tracing::info!(instance = %self.options.instance, "Sharing the database with other daemons: this one follows until it holds the leader's lease.");
            let d = self.clone();
            self.tracker.spawn(async move { d.lease_loop().await });
        }
        if let Some(mail) = &self.options.mail {
            tracing::info!(via = %mail.transport.describe(), from = %mail.from, "Alert mail is on.");
            let d = self.clone();
            self.tracker.spawn(async move { d.mail_loop().await });
            let d = self.clone();
            self.tracker.spawn(async move { d.delivery_loop().await });
        }
    }

    /// Starts every objective's task afresh: each evaluates at once (with
    /// `run_on_start`), as after a start.
    fn restart_objectives(self: &Arc<Self>) {
        for o in self.rules().objectives() {
            self.spawn_objective(o.clone());
        }
    }

    fn spawn_objective(self: &Arc<Self>, objective: Objective) {
        let def = definition(&objective);
        let token = self.shutdown.child_token();
        {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, old)) =
                tasks.insert(objective.name.clone(), (def.clone(), token.clone()))
            {
                old.cancel();
            }
        }
        let d = self.clone();
        self.tracker
            .spawn(async move { d.objective_loop(objective, def, token).await });
    }

    /// One objective's life: run on start, then on every scheduled run, with
    /// capped backoff after a failure.
    async fn objective_loop(
        self: Arc<Self>,
        objective: Objective,
        def: String,
        token: CancellationToken,
    ) {
        let plan = Plan::new(
            &objective.name,
            objective.schedule.clone(),
            objective.timezone,
        );
        let timing = schedule::Retry {
            first: FIRST_BACKOFF,
            max: MAX_BACKOFF,
        };
        let name = objective.name.as_str();
        schedule::drive(
            &plan,
            self.options.clock,
            self.options.run_on_start,
            timing,
            &token,
            || self.run(&objective, &def, &token),
            |start| {
                if let Some(e) = self.board().entries.get_mut(name) {
                    e.next_run = Some(start);
                }
            },
            |skipped| {
                self.metrics
                    .skipped
                    .with_label_values(&[name])
                    .inc_by(skipped);
                self.metrics.touch();
                tracing::warn!(
                    objective = name,
                    skipped,
                    "A run outlasted the schedule's interval; the runs it overlapped were skipped."
                );
            },
        )
        .await;
        tracing::debug!(objective = name, "Schedule stopped.");
    }

    /// Runs one objective now and puts the outcome on the board and into the
    /// record. Returns whether the evaluation succeeded.
    pub async fn run(&self, objective: &Objective, def: &str, token: &CancellationToken) -> bool {
        let Ok(permit) = self.permits.acquire().await else {
            return false;
        };
        if token.is_cancelled() {
            return true;
        }
        let _busy = Busy::new(&self.busy_evaluations);
        let at = self.now().trunc_subsecs(6);
        let timeout = timeout_for(objective.kind());
        let name = objective.name.as_str();
        let known = self.board().entries.get(name).and_then(|e| e.period);
        let (outcome, close_failure) =
            evaluate::evaluate(objective, def, &self.store, at, known, timeout).await;
        drop(permit);
        let failure = outcome.result.failure().cloned();
        if let Some(f) = &close_failure {
            tracing::warn!(
                objective = name,
                error = %f.message,
                "The final figures of a closed period could not be measured; tried again next run."
            );
            self.metrics.failed(name, f.reason);
        }
        if let Some((p, _)) = &outcome.closed {
            tracing::info!(
                objective = name,
                period_start = %p.start,
                period_end = %p.end,
                "A period closed; its final figures are recorded."
            );
        }
        self.metrics.evaluations.with_label_values(&[name]).inc();
        self.metrics
            .duration
            .with_label_values(&[name])
            .observe(outcome.duration);
        self.metrics
            .last_evaluation
            .with_label_values(&[name])
            .set(at.timestamp() as f64);
        if let Some(f) = &failure {
            self.metrics.failed(name, f.reason);
        }
        self.note_database(failure.as_ref().map(|f| f.reason));
        let effects = self.engine().handle(Input::Evaluated(Box::new(outcome)));
        self.carry_out(effects);
        // Neither deciding mail nor the next run waits for the database.
        self.mail_wake.notify_one();
        failure.is_none()
    }

    fn note_database(&self, reason: Option<FailureReason>) {
        let ok = !matches!(reason, Some(FailureReason::DatabaseUnreachable));
        let was = self
            .database_ok
            .swap(ok, std::sync::atomic::Ordering::Relaxed);
        if was != ok {
            if ok {
                tracing::info!("The database is reachable again.");
            } else {
                tracing::error!("The database is unreachable; evaluations fail until it returns.");
            }
        }
    }

    /// Asks the writer task to write the record soon; returns at once.
    pub fn record_soon(&self) {
        self.write_wake.notify_one();
    }

    /// Why the record cannot be written now, if it cannot.
    pub fn write_failing(&self) -> Option<String> {
        self.write_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Writes the record whenever asked, and again with capped backoff while
    /// writes fail. Nothing else waits for a write: evaluations, mail, reloads
    /// and HTTP go on while the database hangs or its disk is full.
    async fn writer_loop(self: Arc<Self>) {
        let mut backoff: Option<Duration> = None;
        loop {
            match backoff {
                None => tokio::select! {
                    () = self.shutdown.cancelled() => return,
                    () = self.write_wake.notified() => {}
                },
                // While writes fail, new rows wait for the retry.
                Some(wait) => tokio::select! {
                    () = self.shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                },
            }
            backoff = if self.flush().await {
                None
            } else {
                Some(backoff.map_or(FIRST_WRITE_BACKOFF, |b| (b * 2).min(MAX_WRITE_BACKOFF)))
            };
        }
    }

    /// Writes the record not yet written, now: the notification log and the
    /// outbox in one transaction, the rest (results, periods, alert state and
    /// events) in another, so that rows the database refuses in one never
    /// cost the other. Rows that failed for a passing reason (the database
    /// away or too slow, a full disk, an I/O error, a read-only file) stay in
    /// memory (bounded) and go with the next write; rows the database refused
    /// are dropped, since trying them again would block every later write.
    /// Returns whether nothing is left waiting.
    pub async fn flush(&self) -> bool {
        let _turn = self.writer.lock().await;
        let mut rest = std::mem::take(&mut *self.unwritten());
        if rest.is_empty() {
            return true;
        }
        let role = self.role();
        if !matches!(role, lease::Role::Alone | lease::Role::Leader { .. }) {
            // Decided while this daemon led; the leader now writes its own.
            return true;
        }
        let fence = role.fence();
        let mail = rest.take_mail();
        let mut failing = None;
        for (part, what) in [
            (mail, "the notification log and the outbox"),
            (rest, "results history and alert state"),
        ] {
            if part.is_empty() {
                continue;
            }
            let error =
                match tokio::time::timeout(WRITE_TIMEOUT, self.store.record_fenced(&part, fence))
                    .await
                {
                    Ok(Ok(())) => continue,
                    Ok(Err(e @ crate::store::StoreError::Fenced { .. })) => {
                        self.metrics
                            .history_failures
                            .with_label_values(&[e.kind().as_str()])
                            .inc();
                        self.step_down(&crate::error_chain(&e));
                        return true;
                    }
                    Ok(Err(e)) => e,
                    Err(_) => crate::store::StoreError::Deadline {
                        doing: format!("writing {what} within {}s", WRITE_TIMEOUT.as_secs()),
                    },
                };
            let kind = error.kind();
            self.metrics
                .history_failures
                .with_label_values(&[kind.as_str()])
                .inc();
            let rows = part.rows();
            if kind.is_passing() && !self.records() {
                // Stepped down meanwhile: the new leader writes its own.
                continue;
            }
            if kind.is_passing() {
                tracing::warn!(
                    error = %crate::error_chain(&error),
                    reason = kind.as_str(),
                    rows,
                    "Could not write {what}; kept in memory and written when the database can take it."
                );
                failing = Some(format!(
                    "cannot write {what} ({}): {}",
                    kind.as_str(),
                    crate::error_chain(&error)
                ));
                let mut unwritten = self.unwritten();
                let newer = std::mem::take(&mut *unwritten);
                *unwritten = part;
                board::merge_journal(&mut unwritten, newer);
                drop(unwritten);
                self.board().generation += 1;
            } else {
                tracing::error!(
                    error = %crate::error_chain(&error),
                    reason = kind.as_str(),
                    rows,
                    "The database refused {what}; these rows are dropped."
                );
            }
        }
        let ok = failing.is_none();
        let was = std::mem::replace(
            &mut *self.write_failing.lock().unwrap_or_else(|e| e.into_inner()),
            failing,
        );
        if ok && was.is_some() {
            tracing::info!("The record is written again; nothing waits in memory.");
        }
        self.metrics.touch();
        ok
    }

    /// Prunes old history now and then.
    async fn housekeeping(self: Arc<Self>) {
        loop {
            let before = self.now() - self.options.retention;
            let effects = self.engine().handle(Input::Prune(before));
            self.carry_out(effects);
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(PRUNE_EVERY) => {}
            }
        }
    }

    /// Scans the leads in flight of every objective with `notify_reps`
    /// (docs/LEADS.md) until stop: every `--lead-scan-every`, and at the
    /// instant a reminder, a deadline or a digest falls due.
    async fn lead_loop(self: Arc<Self>) {
        let every = TimeDelta::from_std(self.options.lead_scan_every)
            .unwrap_or(TimeDelta::minutes(1))
            .max(TimeDelta::seconds(1));
        loop {
            let now = self.now().trunc_subsecs(6);
            self.scan_leads(now).await;
            let next = self
                .engine()
                .next_lead_scan(now)
                .map_or(now + every, |t| t.min(now + every));
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = self.options.clock.sleep_until(next) => {}
            }
        }
    }

    /// Scans the leads in flight of every objective with `notify_reps` at
    /// `at`, and lets the engine decide.
    pub async fn scan_leads(&self, at: DateTime<Utc>) {
        let rules = self.rules();
        for o in rules.objectives() {
            if leads::LeadClock::of(o).is_none() {
                continue;
            }
            let Ok(_permit) = self.permits.acquire().await else {
                return;
            };
            let Some(scan) = leads::read(&self.store, o, at).await else {
                continue;
            };
            let effects = self.engine().handle(Input::Scanned(Box::new(scan)));
            let decided = !effects.notices.is_empty();
            self.carry_out(effects);
            if decided {
                self.deliver_wake.notify_one();
            }
        }
    }

    /// The review of the closed `period` under the running rules
    /// (docs/REVIEW.md), worked out at most once per [`REVIEW_FRESH`] and
    /// rule set.
    ///
    /// # Errors
    ///
    /// The database error that stopped it, as text.
    pub async fn review_of(
        &self,
        period: &crate::review::ReviewPeriod,
    ) -> Result<Arc<crate::review::Review>, String> {
        let rules = self.rules();
        let hash = rules.content_hash();
        let mut cache = self.reviews.lock().await;
        let now = self.now();
        if let Some((h, at, r)) = cache.get(&period.label)
            && *h == hash
            && now.signed_duration_since(*at) < REVIEW_FRESH
            && *at >= period.end
        {
            return Ok(r.clone());
        }
        let started = std::time::Instant::now();
        let review = crate::review::review(&rules, &self.store, period)
            .await
            .map_err(|e| crate::error_chain(&e))?;
        tracing::info!(period = %period.label, elapsed = ?started.elapsed(), "Review worked out.");
        let review = Arc::new(review);
        cache.insert(period.label.clone(), (hash, now, review.clone()));
        while cache.len() > REVIEWS_KEPT {
            let oldest = cache
                .iter()
                .min_by_key(|(_, (_, at, _))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => cache.remove(&k),
                None => break,
            };
        }
        Ok(review)
    }

    /// Works out the review of the last closed period (docs/REVIEW.md) when
    /// a period closes, after a reload, and every hour (a cached one is
    /// reused for [`REVIEW_FRESH`]), and hands it to the engine: the
    /// closed-period metrics, trend notices, and the review's mail once due.
    async fn review_loop(self: Arc<Self>) {
        loop {
            let now = self.now().trunc_subsecs(6);
            let rules = self.rules();
            let periods = crate::review::Periods::of(&rules);
            let period = periods.last_closed(now);
            let mut next = periods.containing(now).end.min(now + TimeDelta::hours(1));
            // Beside the scheduled evaluations, not in their place: one
            // review at a time (the cache's lock).
            let worked = self.review_of(&period).await;
            match worked {
                Ok(review) => {
                    let effects = self.engine().handle(Input::Reviewed { review, at: now });
                    let decided = !effects.notices.is_empty();
                    self.carry_out(effects);
                    if decided {
                        self.deliver_wake.notify_one();
                    }
                    if let Some(due) = crate::review::mail_due(&rules, &period)
                        && due > now
                    {
                        next = next.min(due);
                    }
                }
                Err(e) => {
                    tracing::warn!(period = %period.label, error = %e, "The review could not be worked out; trying again in 5 minutes.");
                    next = next.min(now + TimeDelta::minutes(5));
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = self.options.clock.sleep_until(next) => {}
                () = self.review_wake.notified() => {}
            }
        }
    }

    /// Reloads the rules when a file under the rules directory changes.
    async fn watch_rules(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(self.options.watch_interval) => {}
            }
            let now = fingerprint(&self.rules_dir);
            if now == *self.rules_seen.lock().unwrap_or_else(|e| e.into_inner()) {
                continue;
            }
            // Let an editor or a deploy finish writing: wait until the
            // directory holds still for half an interval.
            tokio::time::sleep(self.options.watch_interval / 2).await;
            if fingerprint(&self.rules_dir) != now {
                continue;
            }
            // A failed load is remembered too, so that it is reported once,
            // not on every check.
            *self.rules_seen.lock().unwrap_or_else(|e| e.into_inner()) = now;
            let _ = self.reload("a rule file changed").await;
        }
    }

    /// Loads the rules again. A rule set that fails validation keeps the running
    /// one. Objectives whose definition did not change keep their alert state and
    /// schedule; changed ones start afresh; removed ones stop.
    ///
    /// # Errors
    ///
    /// The located errors of the rule files, as text.
    pub async fn reload(self: &Arc<Self>, why: &str) -> Result<String, String> {
        let _one = self.reloading.lock().await;
        *self.rules_seen.lock().unwrap_or_else(|e| e.into_inner()) = fingerprint(&self.rules_dir);
        let loaded = {
            let dir = self.rules_dir.clone();
            tokio::task::spawn_blocking(move || crate::rules::load_dir(&dir))
                .await
                .map_err(|e| e.to_string())?
        };
        let rules = match loaded {
            Ok(r) => r,
            Err(errors) => {
                for e in errors.errors() {
                    tracing::error!(error = %e, "Invalid rule file.");
                }
                let message = format!("{errors}rules are not valid: {}", errors.summary());
                tracing::error!(why, "Reload failed; the running rules are kept.");
                self.metrics.reload_ok.set(0);
                self.metrics.touch();
                let mut board = self.board();
                board.reload_error = Some(message.clone());
                board.generation += 1;
                return Err(message);
            }
        };
        if !self.options.allow_empty_rules
            && let Some(message) = dropped_too_many(&self.rules(), &rules)
        {
            tracing::error!(why, error = %message, "Reload refused; the running rules are kept.");
            self.metrics.reload_ok.set(0);
            self.metrics.touch();
            let mut board = self.board();
            board.reload_error = Some(message.clone());
            board.generation += 1;
            return Err(message);
        }
        let rules = Arc::new(rules);
        let now = self.now();
        let effects = self.engine().handle(Input::Reloaded {
            rules: rules.clone(),
            at: now,
            why: why.to_owned(),
        });
        let (start, stop) = (effects.start.clone(), effects.stop.clone());
        {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            for name in &stop {
                if let Some((_, token)) = tasks.remove(name) {
                    token.cancel();
                }
                self.metrics.forget(name);
            }
        }
        for o in &start {
            self.metrics.declare(&o.name);
            self.spawn_objective(o.clone());
        }
        let kept = rules.objectives().len() - start.len();
        self.metrics.reload_ok.set(1);
        self.metrics.reload_time.set(now.timestamp() as f64);
        // A reload never waits for the database.
        self.carry_out(effects);
        self.review_wake.notify_one();
        let summary = format!(
            "rules reloaded: {kept} unchanged, {} new, changed or rescheduled, {} removed",
            start.len(),
            stop.len()
        );
        tracing::info!(
            why,
            unchanged = kept,
            started = start.len(),
            removed = stop.len(),
            "Rules reloaded."
        );
        Ok(summary)
    }

    /// Stops: no new runs, in-flight runs get the grace period, the record is
    /// flushed.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(self.options.shutdown_grace, self.tracker.wait())
            .await
            .is_err()
        {
            let evaluations = self
                .busy_evaluations
                .load(std::sync::atomic::Ordering::Relaxed);
            let deliveries = self
                .busy_deliveries
                .load(std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                grace = ?self.options.shutdown_grace,
                evaluations,
                deliveries,
                "Work still running after the grace period is abandoned (evaluations, and mail being handed to the server: a mail abandoned so is tried again after the restart)."
            );
        }
        if tokio::time::timeout(self.options.shutdown_grace, self.flush())
            .await
            .is_err()
        {
            tracing::warn!("The last write did not finish within the grace period.");
        }
        let left = self.unwritten().rows();
        if left > 0 {
            tracing::error!(
                rows = left,
                "Stopping with rows of the record that could not be written."
            );
        }
        self.release_lease().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.store.close()).await;
    }
}

/// Why a reload from `old` to `new` removes too many objectives to be taken
/// without `--allow-empty-rules`: all of them, or more than half of four or
/// more. A rule file cut short (a deploy copying half a file, an editor saving
/// an empty buffer) looks like this, and taking it would stop every alert.
pub fn dropped_too_many(old: &RuleSet, new: &RuleSet) -> Option<String> {
    let dropped: Vec<&Objective> = old
        .objectives()
        .iter()
        .filter(|o| new.objective(&o.name).is_none())
        .collect();
    let running = old.objectives().len();
    let everything = !dropped.is_empty() && new.objectives().is_empty();
    let most = running >= 4 && dropped.len() * 2 > running;
    if !everything && !most {
        return None;
    }
    let mut message = format!(
        "the new rules remove {} of the {running} running objectives, so they are not taken; \
         the running rules are kept:\n",
        dropped.len()
    );
    for o in &dropped {
        message.push_str(&format!("  {} (was at {})\n", o.name, o.origin));
    }
    message.push_str(
        "A rule file cut short by a deploy or an editor looks like this. To remove them on \
         purpose, remove fewer at a time, or start handoff with --allow-empty-rules.",
    );
    Some(message)
}

/// Counts a piece of work while it runs.
struct Busy<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Busy<'a> {
    fn new(counter: &'a std::sync::atomic::AtomicUsize) -> Busy<'a> {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Busy(counter)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What the rules directory holds: every file's path, size and modification
/// time, to notice a change.
fn fingerprint(dir: &std::path::Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            if let Ok(m) = std::fs::metadata(&d) {
                out.push((d, m.len(), m.modified().ok()));
            }
            continue;
        };
        for e in read.flatten() {
            let path = e.path();
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => out.push((path, m.len(), m.modified().ok())),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// HTTP up before the daemon proper: it binds first, so that `/-/healthy`
/// answers (and `/-/ready` says why not) while the database is reached, and
/// it owns the stop signals from then on.
pub struct Listening {
    server: server::Server,
    addr: SocketAddr,
    status: http::Starting,
    stop: CancellationToken,
    daemon: Arc<std::sync::OnceLock<Arc<Daemon>>>,
}

impl Listening {
    /// Binds `options.listen`, serves the endpoints of a daemon that is
    /// starting, prints the addresses, and takes SIGINT, SIGTERM and SIGHUP.
    /// `database` names the database for people (without its password) and
    /// `objectives` counts the rules loaded.
    ///
    /// # Errors
    ///
    /// The listen address cannot be bound.
    pub async fn bind(
        options: &Options,
        database: &str,
        objectives: usize,
    ) -> anyhow::Result<Listening> {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
        let addr = listener.local_addr()?;
        let status = http::Starting::default();
        let server = server::Server::start(
            listener,
            http::starting(status.clone()),
            options.http.clone(),
        );
        let banner = format!(
            "handoff is watching {database} ({objectives} objectives)\n  status page: http://{addr}/\n  metrics:     http://{addr}/metrics\n  alerts:      http://{addr}/api/v1/alerts\n  review:      http://{addr}/review\nCtrl-C (or SIGTERM) stops it.\n",
        );
        if options.banner {
            // One write, and a closed stderr is no reason to stop.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
        }
        let listening = Listening {
            server,
            addr,
            status,
            stop: CancellationToken::new(),
            daemon: Arc::default(),
        };
        signals(listening.stop.clone(), listening.daemon.clone());
        Ok(listening)
    }

    /// The address HTTP listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What `/-/ready` and the other endpoints say while the daemon starts.
    pub fn starting(&self, why: &str) {
        self.status.set(why);
    }

    /// Cancelled by SIGINT or SIGTERM.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Stops HTTP before the daemon started.
    pub async fn shutdown(self, grace: Duration) {
        self.server.shutdown(grace).await;
    }
}

/// Runs the daemon on HTTP that is already up until SIGINT or SIGTERM: saved
/// state, then the schedules.
///
/// # Errors
///
/// None yet; the result leaves room for start-up failures.
pub async fn serve(
    listening: Listening,
    store: Store,
    rules: RuleSet,
    rules_dir: PathBuf,
    options: Options,
) -> anyhow::Result<()> {
    let daemon = Daemon::new(store, rules, rules_dir, options);
    let _ = listening.daemon.set(daemon.clone());
    let stop = listening.stop.clone();
    let d = daemon.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        d.stop();
    });
    listening.server.replace(http::router(daemon.clone()));
    run_on(daemon, listening.server, listening.addr).await
}

/// As [`serve`], on a listener already bound (tests bind port 0).
///
/// # Errors
///
/// The listener has no address.
pub async fn run_with(
    daemon: Arc<Daemon>,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let server = server::Server::start(
        listener,
        http::router(daemon.clone()),
        daemon.options.http.clone(),
    );
    run_on(daemon, server, addr).await
}

async fn run_on(
    daemon: Arc<Daemon>,
    server: server::Server,
    addr: SocketAddr,
) -> anyhow::Result<()> {
    tracing::info!(%addr, database = %daemon.store().describe(), "Serving /metrics, the API and the status page.");
    // Saved state first, so that a restart continues where it stopped.
    let mut backoff = FIRST_BACKOFF;
    loop {
        match daemon.restore().await {
            Ok(()) => break,
            Err(e) => {
                daemon.note_database(Some(crate::eval::reason_of(e.kind())));
                if e.kind() == crate::store::ErrorKind::Data {
                    // A stored word this release does not know (a newer
                    // release's, or a hand edit) is never read as another.
                    tracing::error!(error = %crate::error_chain(&e), retry_in = ?backoff, "Could not read saved alert state: a saved value is not one this release knows; correct or delete that row (docs/DAEMON.md, \"What survives what\").");
                } else {
                    tracing::error!(error = %crate::error_chain(&e), retry_in = ?backoff, "Could not read saved alert state.");
                }
                tokio::select! {
                    () = daemon.shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    if !daemon.shutdown.is_cancelled() {
        daemon.start();
        // Charts are for people: they load after the schedules start, and a
        // failure to load them costs only the lines drawn so far.
        if let Err(e) = daemon.restore_charts().await {
            tracing::warn!(error = %crate::error_chain(&e), "Could not load the chart history.");
        }
    }
    daemon.shutdown.cancelled().await;
    tracing::info!("Stopping.");
    // HTTP stops beside the evaluations: requests in progress finish, idle
    // and slow clients are not waited for.
    tokio::join!(
        daemon.shutdown(),
        server.shutdown(daemon.options.shutdown_grace)
    );
    tracing::info!("Stopped.");
    Ok(())
}

/// SIGINT/SIGTERM cancel `stop`; SIGHUP reloads the daemon once it runs.
fn signals(stop: CancellationToken, daemon: Arc<std::sync::OnceLock<Arc<Daemon>>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        tokio::spawn(async move {
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                match daemon.get() {
                    Some(d) => {
                        let _ = d.reload("SIGHUP").await;
                    }
                    None => tracing::info!(
                        "SIGHUP received while starting: the rules are read once the database is reached."
                    ),
                }
            }
        });
        tokio::spawn(async move {
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received."),
                _ = int.recv() => tracing::info!("SIGINT received."),
            }
            stop.cancel();
            // A second signal while stopping does not wait for the grace period.
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::warn!("Second stop signal: exiting without waiting for running work.");
            std::process::exit(1);
        });
    }
    #[cfg(not(unix))]
    {
        let _ = daemon;
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
    }
}

pub use replay::backfill;

/// The board, locked: the engine's snapshot, as HTTP, `/metrics` and the
/// status page read it.
pub struct BoardGuard<'a>(std::sync::MutexGuard<'a, Engine>);

impl std::ops::Deref for BoardGuard<'_> {
    type Target = Board;
    fn deref(&self) -> &Board {
        &self.0.board
    }
}

impl std::ops::DerefMut for BoardGuard<'_> {
    fn deref_mut(&mut self) -> &mut Board {
        &mut self.0.board
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Details, GroupResult, ObjectiveResult, Status, VolumeDetails};
    use board::Outcome;
    use chrono::TimeZone as _;

    fn rules(objective: &str) -> RuleSet {
        let text = format!(
            "version: 1\ntimezone: UTC\nteams:\n  sales: {{ email: [s@acme.example] }}\n  \
             mkt: {{ email: [m@acme.example] }}\nobjectives:\n{objective}"
        );
        crate::rules::load_str("t.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
    }

    const BASE: &str = "  - name: volume
    description: MQLs by channel.
    kind: lead_volume
    owner: sales
    schedule: '0 * * * *'
    window: month
    by: channel
    target: { webinar: 10, default: 10 }
    alert: { for: 1h, keep_firing_for: 2h, repeat: 24h }
";

    fn def(text: &str) -> String {
        definition(&rules(text).objectives()[0])
    }

    #[test]
    fn definition_counts_what_is_measured_and_its_target() {
        let base = def(BASE);
        for same in [
            BASE.replace("MQLs by channel.", "Leads by channel."),
            BASE.replace("owner: sales", "owner: mkt"),
            BASE.replace("'0 * * * *'", "'*/5 * * * *'"),
            BASE.replace("repeat: 24h", "repeat: 4h"),
            // Alert timing is not what the SLA measures: no SLA change.
            BASE.replace("for: 1h", "for: 2h"),
            BASE.replace("keep_firing_for: 2h", "keep_firing_for: 1h"),
            format!("\n{BASE}"),
        ] {
            assert_eq!(def(&same), base, "{same}");
        }
        for changed in [
            BASE.replace("webinar: 10", "webinar: 12"),
            BASE.replace("window: month", "window: week"),
            BASE.replace("by: channel", "by: segment"),
        ] {
            assert_ne!(def(&changed), base, "{changed}");
        }
    }

    #[test]
    fn unwritten_results_are_bounded_by_bytes_and_keep_the_newest() {
        let mut unwritten = Journal::default();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 10, 9, 0, 0).unwrap();
        // 20 results of 1 MiB of details each: 16 MiB hold 15 of them (each row
        // also counts 256 bytes and its names), the 15 newest.
        for i in 0..20 {
            board::merge_journal(
                &mut unwritten,
                Journal {
                    results: vec![crate::store::ResultRow {
                        objective: "o".to_owned(),
                        group: "all".to_owned(),
                        evaluated_at: t0 + TimeDelta::minutes(i),
                        status: crate::eval::Status::Ok,
                        value: None,
                        target: None,
                        numerator: None,
                        denominator: None,
                        details: "x".repeat(1 << 20),
                    }],
                    ..Journal::default()
                },
            );
        }
        let kept: Vec<i64> = unwritten
            .results
            .iter()
            .map(|r| (r.evaluated_at - t0).num_minutes())
            .collect();
        assert_eq!(kept, (5..20).collect::<Vec<_>>());
    }

    fn volume(group: &str, status: Status) -> GroupResult {
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        GroupResult {
            group: group.to_owned(),
            group_name: None,
            status,
            value: Some(1.0),
            target: Some(10.0),
            numerator: None,
            denominator: None,
            details: Details::LeadVolume(VolumeDetails {
                attainment: Some(0.1),
                delivered: 1,
                elapsed: Some(0.5),
                expected: Some(5.0),
                pace: Some(0.2),
                period_end: t,
                window_start: t,
            }),
        }
    }

    #[test]
    fn a_group_that_disappears_has_no_data_and_keeps_firing_for_its_hold() {
        // for 1h, keep_firing_for 2h, on_no_data ok: a vanished group is
        // healthy, so its firing alert is held 2h and then resolves.
        let rs = rules(BASE);
        let o = rs.objectives()[0].clone();
        let d = definition(&o);
        let mut board = Board::default();
        board.order.push(o.name.clone());
        board
            .entries
            .insert(o.name.clone(), Entry::new(o.clone(), d.clone()));
        let at =
            |h: i64| Utc.with_ymd_and_hms(2026, 11, 10, 9, 0, 0).unwrap() + TimeDelta::hours(h);
        let apply = |board: &mut Board, h: i64, groups: Vec<GroupResult>| {
            board
                .apply(
                    "volume",
                    Outcome {
                        definition: d.clone(),
                        at: at(h),
                        duration: 0.0,
                        result: ObjectiveResult {
                            name: "volume".to_owned(),
                            kind: o.kind(),
                            results: groups,
                        },
                        closed: None,
                        period: None,
                    },
                )
                .unwrap()
        };
        let state = |board: &Board, g: &str| board.entries["volume"].series.get(g).map(|s| s.state);
        apply(&mut board, 0, vec![volume("webinar", Status::AtRisk)]);
        apply(&mut board, 1, vec![volume("webinar", Status::AtRisk)]);
        assert_eq!(state(&board, "webinar"), Some(State::Firing));
        // webinar vanishes: held by keep_firing_for (2h from hour 2).
        apply(&mut board, 2, vec![volume("events", Status::Ok)]);
        assert_eq!(state(&board, "webinar"), Some(State::Firing));
        apply(&mut board, 3, vec![volume("events", Status::Ok)]);
        assert_eq!(state(&board, "webinar"), Some(State::Firing));
        let (logged, journal) = apply(&mut board, 4, vec![volume("events", Status::Ok)]);
        assert_eq!(state(&board, "webinar"), None, "resolved and forgotten");
        assert_eq!(logged[0].transition.to, Change::Resolved);
        assert!(
            journal
                .forget
                .contains(&("volume".to_owned(), "webinar".to_owned()))
        );
    }
}
