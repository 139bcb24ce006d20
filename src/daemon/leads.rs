//! Lead notices (docs/LEADS.md): while a lead's first-attempt clock runs,
//! its owner hears that it is theirs (`on_handoff`), is reminded when a share
//! of the time is gone and nobody has tried it (`before_deadline`), and the
//! managers hear when it passes its deadline untried (`overdue`).
//!
//! The shell scans the leads in flight (handed over, untried, open) with
//! [`Reader::in_flight`](crate::store::Reader::in_flight) and hands each scan
//! to the engine as a [`Scan`]. What this module decides from a scan is pure:
//! which notices are due, which that were waiting are no longer true (an
//! attempt, a close, an acceptance or a rejection took the lead out of the
//! scan; a new owner took it from the old one), and which digests are ready
//! (`group_wait` after the receiver's first notice waiting). Each (lead,
//! kind, owner, receiver) is told once: the log of what was told is written
//! with the mail that tells it, and read back on start.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::mail::render::{self, LeadLine, LeadView};
use crate::rules::{Calendar, Objective, RuleSet, Spec};
use crate::store::{InFlightLead, LeadNoticeRow};

/// How long after its deadline an untried lead is still told as overdue,
/// and shown as overdue now: a working day of the clock, 8 business hours
/// with a calendar (a lead due on Friday afternoon is still overdue on
/// Monday morning), 24 hours without one. The scan reads no further back:
/// its cost follows this (docs/BENCHMARKS.md, "The lead scan").
const OVERDUE_BUSINESS_SECS: u64 = 8 * 3600;
const OVERDUE_WALL_SECS: u64 = 24 * 3600;

/// The furthest back a scan reaches, whatever the calendar: a response
/// window that long in business time is a rule mistake, not a lead in flight.
pub const MAX_REACH: TimeDelta = TimeDelta::days(14);

/// How long the lead notice log keeps what it told (by the lead's hand-off):
/// longer than any scan reaches, so that nothing is told twice.
pub const LOG_KEPT: TimeDelta = TimeDelta::days(30);

/// How often the leads in flight are scanned by default (also at every
/// instant a reminder or a deadline falls due, and when a digest is ready).
pub const DEFAULT_SCAN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The outbox's `kind` of a lead digest.
pub const OUTBOX_KIND: &str = "lead_notice";

/// The outbox's group of a lead digest: no objective's group is empty.
pub const OUTBOX_GROUP: &str = "";

/// The most overdue leads an objective's board keeps by name.
const NAMED_OVERDUE: usize = 50;

/// What a notice tells about a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The lead is yours; the first attempt is due by its deadline.
    Handoff,
    /// A share of the time is gone and nobody has tried the lead.
    Reminder,
    /// The deadline passed and nobody has tried the lead.
    Overdue,
}

impl NoticeKind {
    /// Every kind, for metrics.
    pub const ALL: [NoticeKind; 3] = [
        NoticeKind::Handoff,
        NoticeKind::Reminder,
        NoticeKind::Overdue,
    ];

    /// Its name in the log, in metrics and in test files.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Handoff => "handoff",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Overdue => "overdue",
        }
    }

    /// The kind a log row names; `None` for a word this release does not know.
    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The first-attempt clock of an objective that notifies reps.
#[derive(Clone, Copy, Debug)]
pub struct LeadClock<'a> {
    respond_within: u64,
    calendar: Option<&'a Calendar>,
}

impl<'a> LeadClock<'a> {
    /// The clock of `o`, if it is a percent_worked objective with
    /// `notify_reps`.
    pub fn of(o: &'a Objective) -> Option<LeadClock<'a>> {
        o.notify_reps.as_ref()?;
        match &o.spec {
            Spec::PercentWorked {
                respond_within,
                calendar,
                ..
            } => Some(LeadClock {
                respond_within: respond_within.as_secs(),
                calendar: calendar.as_deref(),
            }),
            _ => None,
        }
    }

    /// `secs` of the clock's time after `from`: business time with a
    /// calendar. `None`: never.
    pub fn after(&self, from: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
        match self.calendar {
            Some(cal) => cal.add_open_secs(from, secs),
            None => i64::try_from(secs)
                .ok()
                .and_then(TimeDelta::try_seconds)
                .and_then(|d| from.checked_add_signed(d)),
        }
    }

    /// The deadline of a lead handed over at `mql_at` (as `percent_worked`
    /// judges it).
    pub fn deadline(&self, mql_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.after(mql_at, self.respond_within)
    }

    /// When the reminder of a lead handed over at `mql_at` falls due: `share`
    /// of the time to its deadline, to the second.
    pub fn reminder(&self, mql_at: DateTime<Utc>, share: f64) -> Option<DateTime<Utc>> {
        self.after(mql_at, (share * self.respond_within as f64).round() as u64)
    }

    /// The clock's seconds in `[from, to)`: business seconds with a calendar.
    pub fn secs_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        match self.calendar {
            Some(cal) => cal.open_secs_between(from, to),
            None => (to - from).num_seconds().max(0),
        }
    }

    /// Whether the clock counts business time only.
    pub fn business(&self) -> bool {
        self.calendar.is_some()
    }

    /// The first hand-off a scan at `at` reads: every lead whose deadline is
    /// still ahead, or passed less than [`LeadClock::overdue_for`] of the
    /// clock's time ago, was handed over at or after it (never more than
    /// [`MAX_REACH`] before `at`).
    pub fn scan_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let back = self.respond_within + self.overdue_for();
        let start = match self.calendar {
            Some(cal) => cal.sub_open_secs(at, back),
            None => i64::try_from(back)
                .ok()
                .and_then(TimeDelta::try_seconds)
                .and_then(|d| at.checked_sub_signed(d)),
        };
        start.unwrap_or(at - MAX_REACH).max(at - MAX_REACH)
    }

    /// How long after its deadline an untried lead is told and shown as
    /// overdue, in the clock's seconds: a working day (8 business hours with
    /// a calendar, 24 hours without).
    pub fn overdue_for(&self) -> u64 {
        if self.business() {
            OVERDUE_BUSINESS_SECS
        } else {
            OVERDUE_WALL_SECS
        }
    }

    /// Whether a lead due at `deadline` is overdue now at `at`: past it by
    /// less than [`LeadClock::overdue_for`] of the clock's time.
    pub fn overdue_now(&self, deadline: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        deadline <= at && self.secs_between(deadline, at) < self.overdue_for() as i64
    }

    /// How long a lead stays overdue now, in words: `8 business hours`.
    pub fn horizon_words(&self) -> &'static str {
        if self.business() {
            "8 business hours"
        } else {
            "24 hours"
        }
    }
}

/// One scan of an objective's leads in flight.
#[derive(Clone, Debug)]
pub struct Scan {
    pub objective: String,
    pub at: DateTime<Utc>,
    /// The leads handed over since the clock's scan start, untried and open.
    pub leads: Vec<InFlightLead>,
    /// Why the scan failed; its leads are then empty and nothing changes.
    pub failed: Option<String>,
}

/// One notice due to one receiver.
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub kind: NoticeKind,
    /// Kinds this line also tells (a hand-off not told yet when the reminder
    /// falls due): logged as told with it.
    pub also: Vec<NoticeKind>,
    pub lead: InFlightLead,
    pub deadline: DateTime<Utc>,
    /// When a scan first found it due.
    pub since: DateTime<Utc>,
}

impl Due {
    fn key(&self, objective: &str, receiver: &str) -> Told {
        (
            objective.to_owned(),
            self.lead.id.clone(),
            self.kind,
            self.lead.owner.clone().unwrap_or_default(),
            receiver.to_owned(),
        )
    }
}

/// (objective, lead, kind, owner or "", receiver): the log's key.
type Told = (String, String, NoticeKind, String, String);

/// An untried lead past its deadline, as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverdueLead {
    pub id: String,
    pub owner: Option<String>,
    pub owner_name: Option<String>,
    pub mql_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// How long past its deadline, in the clock's time.
    pub overdue_seconds: i64,
}

/// Overdue leads of one owner.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverdueRep {
    pub owner: Option<String>,
    pub owner_name: Option<String>,
    pub leads: u64,
    /// The earliest deadline among them.
    pub oldest_deadline: DateTime<Utc>,
}

/// What the last scan of an objective found: the page, the API and
/// `/metrics` read it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InFlightView {
    /// The last scan that succeeded.
    pub scanned_at: Option<DateTime<Utc>>,
    /// The first hand-off the scan read.
    pub scan_start: Option<DateTime<Utc>>,
    /// Untried, open, deadline ahead.
    pub in_flight: u64,
    /// Untried, open, deadline passed less than [`LeadClock::overdue_for`]
    /// of the clock's time ago.
    pub overdue: u64,
    /// Overdue leads by owner: the most first, the unowned last.
    pub overdue_by_rep: Vec<OverdueRep>,
    /// The overdue leads longest past their deadline first, at most 50.
    pub overdue_leads: Vec<OverdueLead>,
    /// Leads in flight nobody owns (told to nobody but the `overdue`
    /// receivers).
    pub unowned: u64,
    /// Leads in flight whose owner has neither an address nor a team with
    /// one: their rep notices go nowhere.
    pub unroutable: u64,
    /// Why the last scan failed.
    pub error: Option<String>,
}

/// A digest ready to render: one receiver, one objective, its lines.
#[derive(Clone, Debug)]
pub struct Digest {
    pub receiver: String,
    pub objective: String,
    pub lines: Vec<Due>,
}

/// The lead notices' state: what was told, what waits, what the last scans
/// found.
#[derive(Debug, Default)]
pub struct LeadNotices {
    /// The log: what was told, with the lead's hand-off (to prune by).
    told: BTreeMap<Told, DateTime<Utc>>,
    /// Notices due, per (receiver, objective), until their digest goes.
    waiting: BTreeMap<(String, String), Vec<Due>>,
    /// The next instant a reminder or a deadline of a lead in flight falls
    /// due, per objective.
    next_due: BTreeMap<String, DateTime<Utc>>,
    /// The last scan's instant.
    pub last_scan: Option<DateTime<Utc>>,
}

impl LeadNotices {
    /// Brings back the log.
    pub fn restore(&mut self, rows: Vec<LeadNoticeRow>) {
        for r in rows {
            let Some(kind) = NoticeKind::parse(&r.kind) else {
                tracing::warn!(kind = %r.kind, lead = %r.lead_id, "A lead notice of a kind this release does not know is ignored.");
                continue;
            };
            self.told.insert(
                (r.objective, r.lead_id, kind, r.owner, r.receiver),
                r.mql_at,
            );
        }
    }

    /// Forgets what was told about leads handed over before `before`.
    pub fn prune(&mut self, before: DateTime<Utc>) {
        self.told.retain(|_, mql_at| *mql_at >= before);
    }

    /// How many (lead, kind, owner, receiver) the log holds.
    pub fn told_len(&self) -> usize {
        self.told.len()
    }

    /// Drops what waits for objectives that no longer notify reps.
    pub fn keep_objectives(&mut self, rules: &RuleSet) {
        let keep = |name: &str| {
            rules
                .objective(name)
                .is_some_and(|o| LeadClock::of(o).is_some())
        };
        self.waiting.retain(|(_, o), _| keep(o));
        self.next_due.retain(|o, _| keep(o));
    }

    /// The earliest instant after `now` at which a scan has something to
    /// decide: a digest's `group_wait` ends, or a reminder or deadline of a
    /// lead in flight falls due.
    pub fn next_wake(&self, now: DateTime<Utc>, group_wait: TimeDelta) -> Option<DateTime<Utc>> {
        let digests = self
            .waiting
            .values()
            .filter_map(|lines| lines.iter().map(|d| d.since).min())
            .map(|since| since + group_wait);
        digests
            .chain(self.next_due.values().copied())
            .filter(|t| *t > now)
            .min()
    }

    /// Takes one scan: works out what is due and what the board shows, and
    /// replaces what waited for the objective with what is still true.
    /// Returns the view. With `mail` false nothing waits (nothing is told).
    pub fn scanned(
        &mut self,
        rules: &RuleSet,
        o: &Objective,
        scan: Scan,
        mail: bool,
    ) -> Option<InFlightView> {
        let (Some(clock), Some(notify)) = (LeadClock::of(o), o.notify_reps.as_ref()) else {
            return None;
        };
        let at = scan.at;
        self.last_scan = Some(self.last_scan.map_or(at, |l| l.max(at)));
        if let Some(e) = scan.failed {
            return Some(InFlightView {
                error: Some(e),
                ..InFlightView::default()
            });
        }
        let start = clock.scan_start(at);
        let mut view = InFlightView {
            scanned_at: Some(at),
            scan_start: Some(start),
            ..InFlightView::default()
        };
        // What was told of leads the scans no longer reach is kept in the
        // database (for a restart), not in memory: memory follows the leads
        // in flight, not a month of them. A day's margin covers a rule
        // change that reaches a little further back.
        let keep_from = start - TimeDelta::days(1);
        self.told
            .retain(|k, mql_at| k.0 != o.name || *mql_at >= keep_from);
        let overdue_to = rules.addresses(&notify.overdue);
        let mut due: BTreeMap<String, Vec<Due>> = BTreeMap::new();
        let mut next: Option<DateTime<Utc>> = None;
        let mut soonest = |t: DateTime<Utc>| {
            if t > at {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        let mut by_rep: BTreeMap<Option<String>, OverdueRep> = BTreeMap::new();
        let mut overdue_leads = Vec::new();
        for lead in scan.leads {
            let Some(deadline) = clock.deadline(lead.mql_at) else {
                continue;
            };
            let passed = deadline <= at;
            if passed && !clock.overdue_now(deadline, at) {
                continue;
            }
            let reps = rep_receivers(rules, &lead);
            if lead.owner.is_none() {
                view.unowned += 1;
            } else if reps.is_empty() {
                view.unroutable += 1;
            }
            if passed {
                view.overdue += 1;
                let rep = by_rep.entry(lead.owner.clone()).or_insert(OverdueRep {
                    owner: lead.owner.clone(),
                    owner_name: lead.owner_name.clone(),
                    leads: 0,
                    oldest_deadline: deadline,
                });
                rep.leads += 1;
                rep.oldest_deadline = rep.oldest_deadline.min(deadline);
                overdue_leads.push(OverdueLead {
                    id: lead.id.clone(),
                    owner: lead.owner.clone(),
                    owner_name: lead.owner_name.clone(),
                    mql_at: lead.mql_at,
                    deadline,
                    overdue_seconds: clock.secs_between(deadline, at),
                });
            } else {
                view.in_flight += 1;
                if !overdue_to.is_empty() {
                    soonest(deadline);
                }
            }
            let reminder = notify
                .before_deadline
                .and_then(|share| clock.reminder(lead.mql_at, share));
            if let Some(r) = reminder
                && !reps.is_empty()
                && !passed
            {
                soonest(r);
            }
            // A hand-off is told when the clock starts: at once in open
            // hours, at the next opening when handed over at night.
            let starts = clock.after(lead.mql_at, 0).unwrap_or(lead.mql_at);
            if notify.on_handoff && !reps.is_empty() {
                soonest(starts);
            }
            if !mail {
                continue;
            }
            let mut lines = Vec::new();
            for receiver in &reps {
                let told = |kind| self.is_told(&o.name, &lead, kind, receiver);
                let handoff = notify.on_handoff && starts <= at && !told(NoticeKind::Handoff);
                let remind =
                    reminder.is_some_and(|r| r <= at) && !passed && !told(NoticeKind::Reminder);
                let (kind, also) = match (handoff, remind) {
                    (_, true) => (
                        NoticeKind::Reminder,
                        if handoff {
                            vec![NoticeKind::Handoff]
                        } else {
                            Vec::new()
                        },
                    ),
                    (true, false) => (NoticeKind::Handoff, Vec::new()),
                    (false, false) => continue,
                };
                lines.push((receiver.clone(), kind, also));
            }
            if passed {
                for receiver in &overdue_to {
                    if !self.is_told(&o.name, &lead, NoticeKind::Overdue, receiver) {
                        lines.push((receiver.clone(), NoticeKind::Overdue, Vec::new()));
                    }
                }
            }
            for (receiver, kind, also) in lines {
                due.entry(receiver).or_default().push(Due {
                    kind,
                    also,
                    lead: lead.clone(),
                    deadline,
                    since: at,
                });
            }
        }
        // What waited and is still due keeps its place in the queue; what
        // is no longer due (tried, closed, judged, handed to someone else)
        // is dropped.
        let old: Vec<(String, Vec<Due>)> = self
            .waiting
            .iter()
            .filter(|((_, obj), _)| *obj == o.name)
            .map(|((r, _), lines)| (r.clone(), lines.clone()))
            .collect();
        self.waiting.retain(|(_, obj), _| *obj != o.name);
        let mut cancelled = 0;
        for (receiver, lines) in old {
            for line in lines {
                let key = line.key(&o.name, &receiver);
                let still = due
                    .get_mut(&receiver)
                    .and_then(|d| d.iter_mut().find(|n| n.key(&o.name, &receiver) == key));
                match still {
                    Some(n) => n.since = n.since.min(line.since),
                    None => cancelled += 1,
                }
            }
        }
        if cancelled > 0 {
            tracing::debug!(objective = %o.name, cancelled, "Lead notices no longer true were dropped before they were told.");
        }
        for (receiver, lines) in due {
            self.waiting.insert((receiver, o.name.clone()), lines);
        }
        match next {
            Some(t) => self.next_due.insert(o.name.clone(), t),
            None => self.next_due.remove(&o.name),
        };
        let mut reps: Vec<OverdueRep> = by_rep.into_values().collect();
        reps.sort_by(|a, b| {
            (a.owner.is_none(), std::cmp::Reverse(a.leads), &a.owner).cmp(&(
                b.owner.is_none(),
                std::cmp::Reverse(b.leads),
                &b.owner,
            ))
        });
        view.overdue_by_rep = reps;
        overdue_leads.sort_by(|a, b| (a.deadline, &a.id).cmp(&(b.deadline, &b.id)));
        overdue_leads.truncate(NAMED_OVERDUE);
        view.overdue_leads = overdue_leads;
        Some(view)
    }

    fn is_told(&self, objective: &str, lead: &InFlightLead, kind: NoticeKind, to: &str) -> bool {
        self.told.contains_key(&(
            objective.to_owned(),
            lead.id.clone(),
            kind,
            lead.owner.clone().unwrap_or_default(),
            to.to_owned(),
        ))
    }

    /// The digests of `objective` whose `group_wait` has passed at `at`,
    /// taken out of the queue and logged as told.
    pub fn ready(
        &mut self,
        objective: &str,
        at: DateTime<Utc>,
        group_wait: TimeDelta,
    ) -> Vec<Digest> {
        let keys: Vec<(String, String)> = self
            .waiting
            .iter()
            .filter(|((_, o), lines)| {
                o == objective
                    && lines
                        .iter()
                        .map(|d| d.since)
                        .min()
                        .is_some_and(|s| s + group_wait <= at)
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for key in keys {
            let Some(mut lines) = self.waiting.remove(&key) else {
                continue;
            };
            // The most urgent first: overdue, then reminders, then new
            // leads; each by deadline.
            lines.sort_by(|a, b| {
                (std::cmp::Reverse(a.kind), a.deadline, &a.lead.id).cmp(&(
                    std::cmp::Reverse(b.kind),
                    b.deadline,
                    &b.lead.id,
                ))
            });
            out.push(Digest {
                receiver: key.0,
                objective: key.1,
                lines,
            });
        }
        out
    }

    /// Logs a digest as told by the mail `message_id` at `at`: its rows for
    /// the record.
    pub fn told(&mut self, d: &Digest, message_id: &str, at: DateTime<Utc>) -> Vec<LeadNoticeRow> {
        let mut rows = Vec::new();
        for line in &d.lines {
            for kind in std::iter::once(line.kind).chain(line.also.iter().copied()) {
                let owner = line.lead.owner.clone().unwrap_or_default();
                self.told.insert(
                    (
                        d.objective.clone(),
                        line.lead.id.clone(),
                        kind,
                        owner.clone(),
                        d.receiver.clone(),
                    ),
                    line.lead.mql_at,
                );
                rows.push(LeadNoticeRow {
                    objective: d.objective.clone(),
                    lead_id: line.lead.id.clone(),
                    kind: kind.as_str().to_owned(),
                    owner,
                    receiver: d.receiver.clone(),
                    mql_at: line.lead.mql_at,
                    told_at: at,
                    message_id: message_id.to_owned(),
                });
            }
        }
        rows
    }
}

/// A lead's owner as lists name it: `R0003 Priya Okafor`, or `no owner`.
pub fn owner_label(owner: Option<&str>, name: Option<&str>) -> String {
    match owner {
        Some(id) => crate::eval::words::rep_label(Some(id), name),
        None => "no owner".to_owned(),
    }
}

/// Where a lead's owner hears of it: the rep's own address, else the
/// addresses of the rep's team (a team of the rules); none without an owner.
pub fn rep_receivers(rules: &RuleSet, lead: &InFlightLead) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if lead.owner.is_none() {
        return out;
    }
    if let Some(e) = lead
        .owner_email
        .as_deref()
        .map(str::trim)
        .filter(|e| e.contains('@'))
    {
        out.insert(e.to_owned());
        return out;
    }
    if let Some(team) = lead
        .owner_team
        .as_deref()
        .and_then(|t| rules.teams().get(t))
    {
        out.extend(team.email.iter().cloned());
    }
    out
}

/// The mail of a digest, every value formatted in the rules' zone.
pub fn view(
    rules: &RuleSet,
    o: &Objective,
    d: &Digest,
    at: DateTime<Utc>,
    external_url: Option<&str>,
) -> LeadView {
    use crate::eval::words;
    let tz = o.timezone;
    let clock = LeadClock::of(o);
    let business = clock.is_some_and(|c| c.business());
    let left = |deadline: DateTime<Utc>| -> (String, i64) {
        let (from, to, ahead) = if deadline > at {
            (at, deadline, true)
        } else {
            (deadline, at, false)
        };
        let secs = clock.map_or((to - from).num_seconds(), |c| c.secs_between(from, to));
        let span = words::overdue(secs as f64, business);
        if ahead {
            (format!("{span} left"), secs)
        } else {
            (format!("overdue by {span}"), -secs)
        }
    };
    let managers = d.lines.iter().any(|l| l.kind == NoticeKind::Overdue);
    let owner = |l: &Due| match &l.lead.owner {
        Some(id) => words::rep_label(Some(id), l.lead.owner_name.as_deref()),
        None => "nobody yet".to_owned(),
    };
    let leads: Vec<LeadLine> = d
        .lines
        .iter()
        .map(|l| {
            let (what, accent) = match (l.kind, l.deadline > at) {
                (NoticeKind::Handoff, true) => ("New: yours to call", "#1d4ed8"),
                (NoticeKind::Handoff, false) => ("Yours, and already past its deadline", "#b91c1c"),
                (NoticeKind::Reminder, _) => ("Reminder: nobody has tried it yet", "#b45309"),
                (NoticeKind::Overdue, _) => ("Overdue: nobody has tried it", "#b91c1c"),
            };
            LeadLine {
                id: l.lead.id.clone(),
                url: rules.lead_url(&l.lead.id),
                kind: l.kind.as_str().to_owned(),
                what: what.to_owned(),
                accent: accent.to_owned(),
                channel: l.lead.channel.clone(),
                score: l.lead.score.map(render::score),
                owner: managers.then(|| owner(l)),
                handed_off: render::lead_time(l.lead.mql_at, tz),
                due_by: render::lead_time(l.deadline, tz),
                left: left(l.deadline).0,
            }
        })
        .collect();
    let count = |k: NoticeKind| d.lines.iter().filter(|l| l.kind == k).count();
    let (new, remind, late) = (
        count(NoticeKind::Handoff),
        count(NoticeKind::Reminder),
        count(NoticeKind::Overdue),
    );
    let n = d.lines.len();
    let first_due = d
        .lines
        .iter()
        .filter(|l| l.deadline > at)
        .map(|l| l.deadline)
        .min();
    let one = d.lines.first();
    let lead_words = |l: &Due| {
        let mut parts = Vec::new();
        if let Some(c) = &l.lead.channel {
            parts.push(c.clone());
        }
        if let Some(s) = l.lead.score {
            parts.push(format!("score {}", render::score(s)));
        }
        if parts.is_empty() {
            format!("MQL {}", l.lead.id)
        } else {
            format!("MQL {} ({})", l.lead.id, parts.join(", "))
        }
    };
    let (title, heading, subject) = match (n, one) {
        (1, Some(l)) => {
            let due = render::lead_time(l.deadline, tz);
            let (left_words, _) = left(l.deadline);
            match l.kind {
                NoticeKind::Handoff if l.deadline > at => (
                    "NEW MQL",
                    format!("MQL {} is yours", l.lead.id),
                    format!("{} is yours: first attempt due by {due}", lead_words(l)),
                ),
                NoticeKind::Handoff => (
                    "NEW MQL",
                    format!("MQL {} is yours", l.lead.id),
                    format!(
                        "{} is yours and past its deadline ({due}): call it now",
                        lead_words(l)
                    ),
                ),
                NoticeKind::Reminder => (
                    "REMINDER",
                    format!("MQL {} is still untried", l.lead.id),
                    format!(
                        "Reminder: {} is untried, first attempt due by {due} ({left_words})",
                        lead_words(l)
                    ),
                ),
                NoticeKind::Overdue => (
                    "OVERDUE",
                    format!("MQL {} is overdue", l.lead.id),
                    format!(
                        "Overdue: MQL {} untried past its deadline ({due}), owner {}",
                        l.lead.id,
                        owner(l)
                    ),
                ),
            }
        }
        _ if late == n => (
            "OVERDUE",
            format!("{n} MQLs are overdue"),
            format!(
                "{n} MQLs overdue for {}: untried past their first-attempt deadline",
                o.name
            ),
        ),
        _ => {
            let mut parts = Vec::new();
            if new > 0 {
                parts.push(format!("{new} new"));
            }
            if remind > 0 {
                parts.push(format!("{remind} due soon"));
            }
            if late > 0 {
                parts.push(format!("{late} overdue"));
            }
            let first = first_due.map_or_else(
                || "; all past their deadline: call them now".to_owned(),
                |t| format!("; the first due by {}", render::lead_time(t, tz)),
            );
            (
                "MQLS TO CALL",
                format!("{n} MQLs to call"),
                format!("{n} MQLs to call: {}{first}", parts.join(", ")),
            )
        }
    };
    let unowned = d.lines.iter().filter(|l| l.lead.owner.is_none()).count();
    let intro = if managers && late == n {
        let mut s = "These MQLs passed their first-attempt deadline and nobody has tried them: \
                     have them called now, or hand them to someone who can."
            .to_owned();
        if unowned > 0 {
            s.push_str(&format!(
                " {unowned} {} no owner: route {} first.",
                if unowned == 1 { "has" } else { "have" },
                if unowned == 1 { "it" } else { "them" },
            ));
        }
        s
    } else {
        let by = first_due
            .map(|t| {
                format!(
                    "Make the first attempt by {} ({}).",
                    render::lead_time(t, tz),
                    left(t).0
                )
            })
            .unwrap_or_else(|| "Make the first attempt now: the deadline has passed.".to_owned());
        format!(
            "{by} Any outbound touch by a person counts (a call, an e-mail, a meeting, an SMS); \
             automated sequences do not."
        )
    };
    let why = if managers {
        format!(
            "You get this mail as a receiver of the overdue leads of {} ({}).",
            o.name, o.origin
        )
    } else {
        format!(
            "You get this mail as the owner of these leads ({}, {}).",
            o.name, o.origin
        )
    };
    let link =
        external_url.map(|base| format!("{}/#objective-{}", base.trim_end_matches('/'), o.name));
    LeadView {
        subject: format!("[handoff] {subject}"),
        title: title.to_owned(),
        accent: match title {
            "NEW MQL" => "#1d4ed8",
            "REMINDER" => "#b45309",
            _ => "#b91c1c",
        }
        .to_owned(),
        heading,
        intro,
        objective: o.name.clone(),
        promise: render::promise(o),
        leads,
        link,
        receiver: d.receiver.clone(),
        why,
        timezone: tz.name().to_owned(),
    }
}

/// What a scan found, as `handoff leads` prints it for people.
pub fn table(o: &Objective, v: &InFlightView, seconds: f64, error: Option<&str>) -> String {
    use crate::eval::words;
    let tz = o.timezone;
    let clock = LeadClock::of(o);
    let business = clock.is_some_and(|c| c.business());
    let horizon = clock.map_or("24 hours", |c| c.horizon_words());
    let mut s = format!("{}\n", o.name);
    if let Some(e) = error {
        s.push_str(&format!("  the scan failed: {e}\n\n"));
        return s;
    }
    s.push_str(&format!(
        "  {} untried with the deadline ahead, {} overdue now (past the deadline by less than {horizon}, untried, still open)\n",
        v.in_flight, v.overdue
    ));
    if let Some(start) = v.scan_start {
        s.push_str(&format!(
            "  read the leads handed over since {} in {:.3} s\n",
            render::lead_time(start, tz),
            seconds
        ));
    }
    if v.unowned > 0 {
        s.push_str(&format!("  {} with no owner: route them\n", v.unowned));
    }
    if v.unroutable > 0 {
        s.push_str(&format!(
            "  {} whose owner has no address and no team with one: the rep hears nothing\n",
            v.unroutable
        ));
    }
    if !v.overdue_by_rep.is_empty() {
        s.push_str("\n  REP                                OVERDUE  OLDEST DEADLINE\n");
        for r in &v.overdue_by_rep {
            let rep = owner_label(r.owner.as_deref(), r.owner_name.as_deref());
            s.push_str(&format!(
                "  {rep:<34} {:>7}  {}\n",
                r.leads,
                render::lead_time(r.oldest_deadline, tz)
            ));
        }
        s.push_str("\n  LEAD           OWNER                              DEADLINE              OVERDUE BY\n");
        for l in &v.overdue_leads {
            let owner = owner_label(l.owner.as_deref(), l.owner_name.as_deref());
            s.push_str(&format!(
                "  {:<14} {owner:<34} {:<21} {}\n",
                l.id,
                render::lead_time(l.deadline, tz),
                words::overdue(l.overdue_seconds as f64, business)
            ));
        }
        if v.overdue as usize > v.overdue_leads.len() {
            s.push_str(&format!(
                "  … and {} more\n",
                v.overdue as usize - v.overdue_leads.len()
            ));
        }
    }
    s.push('\n');
    s
}

/// The Message-ID of a digest: a hash of what it tells (receiver,
/// objective, and each lead with its kind and owner), so that a digest
/// decided again after a crash that came before its record was written
/// carries the same Message-ID, which mail clients show once.
pub fn message_id(d: &Digest, domain: &str) -> String {
    let mut text = format!("{}|{}", d.receiver, d.objective);
    for l in &d.lines {
        text.push_str(&format!(
            "|{}:{}:{}",
            l.lead.id,
            l.kind.as_str(),
            l.lead.owner.as_deref().unwrap_or("")
        ));
    }
    let h = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
    format!("handoff.leads.{h:032x}@{domain}")
}

/// Reads the leads in flight of `o` at `at` (the shell's part of a scan):
/// `None` when `o` does not notify reps; a failed read is a scan that says
/// why.
pub async fn read(store: &crate::store::Store, o: &Objective, at: DateTime<Utc>) -> Option<Scan> {
    let clock = LeadClock::of(o)?;
    let start = clock.scan_start(at);
    let mut found = Vec::new();
    let read = async {
        let mut r = store
            .reader(crate::eval::timeout_for(crate::rules::Kind::PercentWorked))
            .await?;
        r.in_flight(start, at, &mut |l| found.push(l)).await?;
        r.finish().await
    }
    .await;
    let failed = match read {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(objective = %o.name, error = %e, "The leads in flight could not be read; lead notices wait for the next scan.");
            found.clear();
            Some(e.to_string())
        }
    };
    Some(Scan {
        objective: o.name.clone(),
        at,
        leads: found,
        failed,
    })
}
