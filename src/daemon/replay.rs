//! The engine on a simulated clock: `handoff backtest`, `handoff test` and
//! the demo's history all step through past instants with it.
//!
//! At each instant the objectives due are evaluated against the store (the
//! same [`evaluate`](super::evaluate::evaluate) step as the daemon's), their
//! outcomes go into the [`Engine`], and the clock then moves through every
//! instant before the next at which grouping lets mail go (`group_wait`,
//! `group_interval`), so that the notices decided are those the daemon would
//! have sent, when it would have sent them. Nothing is sent: a notice decided
//! is marked delivered at once. Nothing sleeps.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::alerts::{Change, State};
use super::board::Logged;
use super::engine::{Decided, Effects, Engine, Input, definition};
use super::evaluate::evaluate;
use super::notify::{Grouping, MailOptions};
use crate::codes::Delivery;
use crate::eval::{Status, timeout_for};
use crate::mail::render::Templates;
use crate::rules::{Objective, RuleSet};
use crate::store::{Journal, Store, StoreError};

/// Which objectives an instant evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Every objective at every instant (`handoff test`: the instants are
    /// the test's).
    Every,
    /// An objective at an instant only once its schedule would have run
    /// since its last evaluation (`handoff backtest`, the demo's history): a
    /// weekly objective is evaluated weekly, however fine the instants.
    Schedule,
}

/// One evaluation, as the replay saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub status: Status,
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// The alert state after it: inactive, pending or firing (resolved is
    /// told by the transitions).
    pub alert: State,
}

/// An engine being replayed, and what it decided so far.
pub struct Replay {
    pub engine: Engine,
    /// Each objective's last evaluation, for [`Pace::Schedule`].
    last: BTreeMap<String, DateTime<Utc>>,
    pace: Pace,
    /// The simulated clock: the last instant stepped or ticked.
    now: Option<DateTime<Utc>>,
    /// The points, by (objective, group), in time order.
    pub points: BTreeMap<(String, String), Vec<Point>>,
    /// Every alert transition, in order.
    pub transitions: Vec<(DateTime<Utc>, Logged)>,
    /// Every notice decided, in order.
    pub notices: Vec<Decided>,
    /// Results and closed periods, for `--record`.
    pub record: Journal,
    /// Keep the record (results, closed periods and the lead notice log) in
    /// [`Replay::record`].
    pub keep_record: bool,
    /// Scan the leads in flight for lead notices (docs/LEADS.md), at every
    /// instant and whenever one falls due (`handoff test`).
    pub leads: bool,
}

/// Mail options for a replay: nothing is sent, so only what the notices say
/// matters.
///
/// # Errors
///
/// The built-in templates did not load (a bug).
pub fn notices(grouping: Grouping) -> Result<MailOptions, String> {
    Ok(MailOptions {
        transport: crate::mail::Transport::Dir(std::path::PathBuf::new()),
        from: "handoff <handoff@localhost>"
            .parse()
            .map_err(|e| format!("{e}"))?,
        templates: Arc::new(Templates::load(None)?),
        external_url: None,
        grouping,
        first_retry: super::notify::FIRST_RETRY,
        ack: None,
        poster: crate::channels::Poster::new(crate::channels::POST_TIMEOUT)?,
    })
}

impl Replay {
    /// A replay of `rules` from `start`, deciding mail with `mail`.
    pub fn new(
        rules: Arc<RuleSet>,
        mail: Option<MailOptions>,
        database: String,
        start: DateTime<Utc>,
        pace: Pace,
    ) -> Replay {
        Replay {
            engine: Engine::new(rules, mail, database, start),
            last: BTreeMap::new(),
            pace,
            now: None,
            points: BTreeMap::new(),
            transitions: Vec::new(),
            notices: Vec::new(),
            record: Journal::default(),
            keep_record: false,
            leads: false,
        }
    }

    /// Whether `o` is evaluated at `at`.
    fn due(&self, o: &Objective, at: DateTime<Utc>) -> bool {
        match (self.pace, self.last.get(&o.name)) {
            (Pace::Every, _) | (Pace::Schedule, None) => true,
            (Pace::Schedule, Some(last)) => o
                .schedule
                .next_after(&last.with_timezone(&o.timezone))
                .is_some_and(|next| next.to_utc() <= at),
        }
    }

    /// Takes a new rule set at `at`, as a reload does.
    pub async fn reload(&mut self, store: &Store, rules: Arc<RuleSet>, at: DateTime<Utc>) {
        self.advance(store, at).await;
        let effects = self.engine.handle(Input::Reloaded {
            rules,
            at,
            why: "a test change".to_owned(),
        });
        self.now = Some(at);
        // A changed or new objective is evaluated at once.
        for o in &effects.start {
            self.last.remove(&o.name);
        }
        self.take(at, effects);
    }

    /// Evaluates the objectives due at `at` and lets the engine decide. A
    /// failed evaluation is an `error` result, as in the daemon.
    pub async fn step(&mut self, store: &Store, at: DateTime<Utc>) {
        self.advance(store, at).await;
        let rules = self.engine.rules().clone();
        for o in rules.objectives() {
            if !self.due(o, at) {
                continue;
            }
            self.last.insert(o.name.clone(), at);
            let known = self
                .engine
                .board
                .entries
                .get(&o.name)
                .and_then(|e| e.period);
            let (outcome, _) =
                evaluate(o, &definition(o), store, at, known, timeout_for(o.kind())).await;
            let effects = self.engine.handle(Input::Evaluated(Box::new(outcome)));
            self.take(at, effects);
            if let Some(e) = self.engine.board.entries.get(&o.name)
                && let Some(last) = &e.last
                && e.evaluated_at == Some(at)
            {
                for r in &last.results {
                    let alert = e.series.get(&r.group).map_or(State::Inactive, |s| s.state);
                    self.points
                        .entry((o.name.clone(), r.group.clone()))
                        .or_default()
                        .push(Point {
                            at,
                            status: r.status,
                            value: r.value,
                            target: r.target,
                            alert,
                        });
                }
            } else if let Some(e) = self.engine.board.entries.get(&o.name)
                && e.failure.is_some()
            {
                for g in e.latest.keys() {
                    self.points
                        .entry((o.name.clone(), g.clone()))
                        .or_default()
                        .push(Point {
                            at,
                            status: Status::Error,
                            value: None,
                            target: None,
                            alert: e.series.get(g).map_or(State::Inactive, |s| s.state),
                        });
                }
            }
        }
        self.scan(store, at).await;
        let effects = self.engine.handle(Input::Tick(at));
        self.take(at, effects);
        self.now = Some(at);
    }

    /// Scans the leads in flight at `at`, when the replay does.
    async fn scan(&mut self, store: &Store, at: DateTime<Utc>) {
        if !self.leads {
            return;
        }
        let rules = self.engine.rules().clone();
        for o in rules.objectives() {
            if let Some(scan) = super::leads::read(store, o, at).await {
                let effects = self.engine.handle(Input::Scanned(Box::new(scan)));
                self.take(at, effects);
            }
        }
    }

    /// Moves the clock up to (not including) `until`: every instant at which
    /// grouping lets mail go, or (with [`Replay::leads`]) a lead notice
    /// falls due.
    pub async fn advance(&mut self, store: &Store, until: DateTime<Utc>) {
        loop {
            let Some(now) = self.now else {
                return;
            };
            let mail = self.engine.next_wake(now);
            let leads = if self.leads {
                self.engine.next_lead_scan(now)
            } else {
                None
            };
            let Some(at) = [mail, leads].into_iter().flatten().min() else {
                return;
            };
            if at >= until {
                return;
            }
            if leads == Some(at) {
                self.scan(store, at).await;
            }
            let effects = self.engine.handle(Input::Tick(at));
            self.take(at, effects);
            self.now = Some(at);
        }
    }

    /// Keeps what the engine decided: transitions, notices (marked
    /// delivered), and the results to record.
    fn take(&mut self, at: DateTime<Utc>, effects: Effects) {
        for t in effects.transitions {
            self.transitions.push((at, t));
        }
        if self.keep_record {
            self.record.results.extend(effects.record.results);
            self.record.periods.extend(effects.record.periods);
            self.record.lead_notices.extend(effects.record.lead_notices);
        }
        for d in effects.notices {
            let mut row = d.row.clone();
            row.state = Delivery::Sent;
            row.sent_at = Some(at);
            row.attempts = 1;
            self.engine.handle(Input::Delivered {
                row: Box::new(row),
                pause_until: None,
            });
            self.notices.push(d);
        }
    }

    /// The alerts that fired, in order.
    pub fn alerts(&self) -> Vec<Fired> {
        let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut out: Vec<Fired> = Vec::new();
        for (at, l) in &self.transitions {
            let key = (l.objective.clone(), l.group.clone());
            match l.transition.to {
                Change::Firing => {
                    open.insert(key, out.len());
                    out.push(Fired {
                        objective: l.objective.clone(),
                        group: l.group.clone(),
                        fired_at: *at,
                        resolved_at: None,
                    });
                }
                Change::Resolved => {
                    if let Some(i) = open.remove(&key) {
                        out[i].resolved_at = Some(*at);
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// An alert that fired during a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    pub objective: String,
    pub group: String,
    pub fired_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The instants from `from` to `to` (both included) every `every`.
pub fn instants(from: DateTime<Utc>, to: DateTime<Utc>, every: TimeDelta) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    if every <= TimeDelta::zero() {
        return out;
    }
    let mut t = from;
    while t <= to {
        out.push(t);
        t += every;
    }
    out
}

/// Fills the results history of the `days` before `now` with what each
/// objective measured then (one evaluation a day, or at its schedule's pace
/// when slower), and the final figures of the calendar periods that closed,
/// through the same engine as the daemon. `handoff demo` uses it so that the
/// status page's charts and the alerts' "since" are true at once. Does
/// nothing if there is history already. Returns how many results were
/// recorded.
///
/// # Errors
///
/// The database could not be read or written.
pub async fn backfill(
    store: &Store,
    rules: &RuleSet,
    now: DateTime<Utc>,
    days: i64,
) -> Result<usize, StoreError> {
    use chrono::SubsecRound as _;
    let from = (now - TimeDelta::days(days)).trunc_subsecs(6);
    let mut any = false;
    store
        .results(None, from, now + TimeDelta::days(1), 1, &mut |_| any = true)
        .await?;
    if any {
        return Ok(0);
    }
    let mut replay = Replay::new(
        Arc::new(rules.clone()),
        None,
        store.describe().to_owned(),
        from,
        Pace::Schedule,
    );
    replay.keep_record = true;
    let mut written = 0;
    for at in instants(from, now - TimeDelta::days(1), TimeDelta::days(1)) {
        replay.step(store, at).await;
        let journal = std::mem::take(&mut replay.record);
        written += journal.results.len();
        store.record(&journal).await?;
    }
    Ok(written)
}
