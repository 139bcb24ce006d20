//! Who is told what, and when (docs/MAIL.md): the daemon's side of alert mail.
//!
//! Mail follows state, not events. After every evaluation (and every second)
//! the [`Planner`] compares what each receiver should know — the alerts firing
//! now, the periods missed lately — with the notification log, what each
//! receiver was last told. A difference is a mail: a new firing alert (its own
//! thread), a change of severity, a reminder once `repeat` has passed, a
//! resolution, a missed period. As in Alertmanager, mail to one receiver is
//! grouped in time: the first waits `group_wait` so that what fires together
//! is told together, later ones wait until `group_interval` has passed since
//! the last; what is told is the state at that moment, so an alert that comes
//! and goes within the wait is not mailed at all.
//!
//! A decided mail and the log entry that records it are written together, in
//! the same transaction as the rest of the record; the mail waits in the
//! outbox until the server takes it. So a restart neither loses a mail (the
//! outbox is delivered, and an alert the log does not know of is told) nor
//! sends one twice (the log knows what was told). A crash in the instant
//! between the server's acceptance and the outbox's update sends that one
//! mail again, with the same Message-ID, which mail clients show once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use super::alerts::Severity;
use crate::codes::{Delivery, Told, Topic};
use crate::store::{NotifyRow, PeriodRow, SilenceRow};

/// The notification log key: (receiver, objective, group, topic).
pub type Key = (String, String, String, Topic);

/// How long mail to one receiver waits (Alertmanager's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// Before the first mail of a quiet receiver.
    pub group_wait: TimeDelta,
    /// Between one mail round of a receiver and the next.
    pub group_interval: TimeDelta,
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping {
            group_wait: TimeDelta::seconds(30),
            group_interval: TimeDelta::minutes(5),
        }
    }
}

/// A firing alert, as mail sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    /// "" for the "evaluation failing" alert.
    pub objective: String,
    pub group: String,
    pub severity: Severity,
    pub fired_at: DateTime<Utc>,
    pub receivers: BTreeSet<String>,
    /// How often it is told again while it fires.
    pub repeat: TimeDelta,
    /// A problem again, not firing yet (`fired_at` is its start): a
    /// resolution not yet told waits, since it would not be true.
    pub pending: bool,
}

/// What should be known now, for [`Planner::plan`].
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The alerts firing (and those pending again, which hold a resolution).
    pub live: &'a [Live],
    /// The objectives in the rules.
    pub known: &'a Known,
    /// The objectives whose alerts are held while evaluations fail.
    pub inhibited: &'a BTreeSet<String>,
    /// The periods missed lately.
    pub missed: &'a [Missed],
    /// The SLA changes not yet told.
    pub sla: &'a [SlaNotice],
    /// The silences in force: the alerts and missed periods they match are
    /// not told (a resolution of what was told still is).
    pub silences: &'a [SilenceRow],
    /// Acknowledged episodes, (objective, group, fired_at), with the
    /// severity acknowledged: no reminders while it stays at it.
    pub acked: &'a BTreeMap<(String, String, DateTime<Utc>), Severity>,
    /// Receivers whose teams are all muted now: nothing goes to them until
    /// the mute ends, when what is still true is told.
    pub muted: &'a BTreeSet<String>,
}

impl Facts<'_> {
    /// Whether a silence in force matches the alert (or, without a
    /// severity, the missed period) of `objective` and `group`.
    pub fn silenced(&self, objective: &str, group: &str, severity: Option<Severity>) -> bool {
        self.silences
            .iter()
            .any(|s| s.matches(objective, group, severity))
    }
}

/// An SLA change to tell the receivers of its objective.
#[derive(Clone, Debug, PartialEq)]
pub struct SlaNotice {
    pub objective: String,
    /// When the change was loaded.
    pub at: DateTime<Utc>,
    pub receivers: BTreeSet<String>,
    /// Judged under the new definition: the notice can say where it stands.
    pub ready: bool,
}

/// A closed period that missed its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Missed {
    pub row: PeriodRow,
    pub receivers: BTreeSet<String>,
}

/// What a mail tells.
#[derive(Clone, Debug, PartialEq)]
pub enum What {
    /// The alert fires: first told, changed severity, or a reminder.
    Firing {
        severity: Severity,
        repeat: bool,
        changed_from: Option<Severity>,
    },
    /// The alert told as firing is no longer firing. `send` is false when the
    /// objective says `send_resolved: false`: the log moves on, no mail goes.
    Resolved { severity: Severity, send: bool },
    /// A period closed below target.
    PeriodMissed(Box<PeriodRow>),
    /// What the objective measures or its target changed.
    SlaChanged,
    /// The alert told as firing fired again before its resolution was told:
    /// for the receiver it never stopped, so the log moves on to the new
    /// episode and no mail goes.
    Continued { severity: Severity },
}

/// One mail to write, or (a silent resolution) one log entry to move on.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub receiver: String,
    pub objective: String,
    pub group: String,
    pub what: What,
    /// The alert's `fired_at`, or the period's start.
    pub episode: DateTime<Utc>,
    /// The thread it continues: (root, last) Message-IDs.
    pub thread: Option<(String, String)>,
}

impl Decision {
    /// The log topic it belongs to.
    pub fn topic(&self) -> Topic {
        match self.what {
            What::PeriodMissed(_) => Topic::Period,
            What::SlaChanged => Topic::Sla,
            _ => Topic::Alert,
        }
    }
}

/// The grouping clock of one receiver.
#[derive(Clone, Copy, Debug, Default)]
struct Clock {
    /// Since when something has waited to be told.
    waiting_since: Option<DateTime<Utc>>,
    /// When the receiver's last mail round went.
    last_round: Option<DateTime<Utc>>,
}

/// What each receiver was told, and the grouping clocks.
#[derive(Debug, Default)]
pub struct Planner {
    pub log: BTreeMap<Key, NotifyRow>,
    clocks: HashMap<String, Clock>,
    /// Log entries dropped since the last [`Planner::take_forgotten`], to
    /// delete from the saved log too.
    forgotten: Vec<Key>,
}

/// An objective in the rules, as the planner needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownObjective {
    /// Its `alert.send_resolved`.
    pub send_resolved: bool,
    /// Whether it has been measured under its current definition: until then
    /// an alert that is not firing may only not have been evaluated yet.
    pub measured: bool,
    /// Removed by a reload and kept for its return: what its receivers were
    /// told stays as it is, neither resolved nor forgotten.
    pub parked: bool,
    /// Its SLA changed and not every receiver has been told: what they were
    /// told of its alerts is left alone until its "SLA changed" notice, which
    /// sets it to where the objective stands under the new definition.
    pub settling: bool,
}

/// The objectives in the rules, by name.
pub type Known = HashMap<String, KnownObjective>;

impl Planner {
    /// A planner that knows what the saved log says was told.
    pub fn with_log(rows: Vec<NotifyRow>) -> Planner {
        Planner {
            log: rows
                .into_iter()
                .map(|r| {
                    (
                        (
                            r.receiver.clone(),
                            r.objective.clone(),
                            r.group.clone(),
                            r.topic,
                        ),
                        r,
                    )
                })
                .collect(),
            clocks: HashMap::new(),
            forgotten: Vec::new(),
        }
    }

    /// The log entries dropped since the last call.
    pub fn take_forgotten(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.forgotten)
    }

    /// Drops, from memory, log entries settled before `before` (the saved
    /// log is pruned with the rest of the history). Entries of alerts still
    /// firing and of missed periods stay: they are what keeps a mail from
    /// being sent twice.
    pub fn prune(&mut self, before: DateTime<Utc>) {
        self.log.retain(|k, t| {
            // Missed periods, reviews and trends are told once per
            // period, however long ago.
            matches!(k.3, Topic::Period | Topic::Review | Topic::Trend)
                || t.state == Told::Firing
                || t.sent_at >= before
        });
    }

    /// Decides what to tell now, of what should be known (`facts`).
    pub fn plan(
        &mut self,
        facts: &Facts<'_>,
        now: DateTime<Utc>,
        grouping: Grouping,
    ) -> Vec<Decision> {
        let Facts {
            live,
            known,
            inhibited,
            missed,
            sla,
            acked,
            muted,
            ..
        } = *facts;
        let mut wanted: BTreeMap<String, Vec<Decision>> = BTreeMap::new();
        let mut firing: BTreeSet<(&str, &str)> = BTreeSet::new();
        let settling = |o: &str| known.get(o).is_some_and(|k| k.settling);
        for l in live {
            firing.insert((&l.objective, &l.group));
            if inhibited.contains(&l.objective)
                || l.pending
                || settling(&l.objective)
                || facts.silenced(&l.objective, &l.group, Some(l.severity))
            {
                continue;
            }
            for r in &l.receivers {
                let key = (
                    r.clone(),
                    l.objective.clone(),
                    l.group.clone(),
                    Topic::Alert,
                );
                let told = self.log.get(&key);
                // The same series fired again before its end was told (it
                // resolved and fired within the wait): for the receiver it
                // never stopped. Its thread goes on; only a new severity is
                // news.
                if let Some(t) = told
                    && t.state == Told::Firing
                    && t.episode != l.fired_at
                {
                    let was = t.severity;
                    let what = if was == Some(l.severity) {
                        What::Continued {
                            severity: l.severity,
                        }
                    } else {
                        What::Firing {
                            severity: l.severity,
                            repeat: false,
                            changed_from: was,
                        }
                    };
                    wanted.entry(r.clone()).or_default().push(Decision {
                        receiver: r.clone(),
                        objective: l.objective.clone(),
                        group: l.group.clone(),
                        what,
                        episode: l.fired_at,
                        thread: Some((t.thread.clone(), t.last_message.clone())),
                    });
                    continue;
                }
                let what = match told {
                    Some(t) if t.state == Told::Firing && t.episode == l.fired_at => {
                        let was = t.severity;
                        if was != Some(l.severity) {
                            Some(What::Firing {
                                severity: l.severity,
                                repeat: false,
                                changed_from: was,
                            })
                        } else if now - t.sent_at >= l.repeat
                            && acked.get(&(l.objective.clone(), l.group.clone(), l.fired_at))
                                != Some(&l.severity)
                        {
                            Some(What::Firing {
                                severity: l.severity,
                                repeat: true,
                                changed_from: None,
                            })
                        } else {
                            None
                        }
                    }
                    _ => Some(What::Firing {
                        severity: l.severity,
                        repeat: false,
                        changed_from: None,
                    }),
                };
                if let Some(what) = what {
                    let thread = match (told, &what) {
                        (
                            Some(t),
                            What::Firing {
                                repeat,
                                changed_from,
                                ..
                            },
                        ) if t.state == Told::Firing
                            && t.episode == l.fired_at
                            && (*repeat || changed_from.is_some()) =>
                        {
                            Some((t.thread.clone(), t.last_message.clone()))
                        }
                        _ => None,
                    };
                    wanted.entry(r.clone()).or_default().push(Decision {
                        receiver: r.clone(),
                        objective: l.objective.clone(),
                        group: l.group.clone(),
                        what,
                        episode: l.fired_at,
                        thread,
                    });
                }
            }
        }
        // Alerts told as firing that no longer fire.
        let mut forget = Vec::new();
        for (key, t) in &self.log {
            if key.3 != Topic::Alert || t.state != Told::Firing {
                continue;
            }
            let (receiver, objective, group, _) = key;
            if settling(objective) {
                continue;
            }
            if firing.contains(&(objective.as_str(), group.as_str())) {
                // Still firing: a receiver no longer in `notify` simply stops
                // hearing of it. The "evaluation failing" alert's receivers
                // are those of the objectives failing now, fewer as they
                // recover one by one: whoever was told hears it resolve.
                if !objective.is_empty()
                    && !live.iter().any(|l| {
                        &l.objective == objective
                            && &l.group == group
                            && l.receivers.contains(receiver)
                    })
                {
                    forget.push(key.clone());
                }
                continue;
            }
            let send = match (objective.as_str(), known.get(objective)) {
                ("", _) => true,
                // Removed for now: told nothing until it is back or forgotten.
                (_, Some(k)) if k.parked => continue,
                // Changed (a reload, a new release) and not measured since:
                // whether it still fires is not known yet.
                (_, Some(k)) if !k.measured => continue,
                (_, Some(k)) => k.send_resolved,
                // The objective left the rules: nobody is told of its end.
                (_, None) => {
                    forget.push(key.clone());
                    continue;
                }
            };
            if inhibited.contains(objective) {
                continue;
            }
            let severity = t.severity.unwrap_or(Severity::Critical);
            wanted.entry(receiver.clone()).or_default().push(Decision {
                receiver: receiver.clone(),
                objective: objective.clone(),
                group: group.clone(),
                what: What::Resolved { severity, send },
                episode: t.episode,
                thread: Some((t.thread.clone(), t.last_message.clone())),
            });
        }
        for key in forget {
            self.log.remove(&key);
            self.forgotten.push(key);
        }
        for m in missed {
            if facts.silenced(&m.row.objective, &m.row.group, None) {
                continue;
            }
            for r in &m.receivers {
                let key = (
                    r.clone(),
                    m.row.objective.clone(),
                    m.row.group.clone(),
                    Topic::Period,
                );
                if self
                    .log
                    .get(&key)
                    .is_some_and(|t| t.episode >= m.row.period_start)
                {
                    continue;
                }
                wanted.entry(r.clone()).or_default().push(Decision {
                    receiver: r.clone(),
                    objective: m.row.objective.clone(),
                    group: m.row.group.clone(),
                    what: What::PeriodMissed(Box::new(m.row.clone())),
                    episode: m.row.period_start,
                    thread: None,
                });
            }
        }

        for c in sla.iter().filter(|c| c.ready) {
            for r in &c.receivers {
                let key = (r.clone(), c.objective.clone(), String::new(), Topic::Sla);
                if self.log.get(&key).is_some_and(|t| t.episode >= c.at) {
                    continue;
                }
                wanted.entry(r.clone()).or_default().push(Decision {
                    receiver: r.clone(),
                    objective: c.objective.clone(),
                    group: String::new(),
                    what: What::SlaChanged,
                    episode: c.at,
                    thread: None,
                });
            }
        }

        let mut out = Vec::new();
        let receivers: BTreeSet<String> = self
            .clocks
            .keys()
            .cloned()
            .chain(wanted.keys().cloned())
            .collect();
        for r in receivers {
            let clock = self.clocks.entry(r.clone()).or_default();
            let Some(decisions) = wanted.remove(&r) else {
                clock.waiting_since = None;
                continue;
            };
            let since = *clock.waiting_since.get_or_insert(now);
            if muted.contains(&r) {
                continue;
            }
            // A receiver that has been told of an alert still firing is an
            // active group: it hears every `group_interval`. A quiet one waits
            // `group_wait` from the first thing to tell.
            let active = self
                .log
                .iter()
                .any(|(k, t)| k.0 == r && k.3 == Topic::Alert && t.state == Told::Firing);
            let due = match clock.last_round {
                Some(last) if active => now >= last + grouping.group_interval,
                _ => now >= since + grouping.group_wait,
            };
            if due {
                clock.last_round = Some(now);
                clock.waiting_since = None;
                out.extend(decisions);
            }
        }
        out
    }

    /// Records that `d` was decided, as mail `message_id`: the log entry to
    /// save.
    pub fn note(&mut self, d: &Decision, message_id: &str, now: DateTime<Utc>) -> NotifyRow {
        let (state, severity) = match &d.what {
            What::Firing { severity, .. } | What::Continued { severity } => {
                (Told::Firing, Some(*severity))
            }
            What::Resolved { .. } => (Told::Resolved, None),
            What::PeriodMissed(_) => (Told::Missed, None),
            What::SlaChanged => (Told::Told, None),
        };
        let thread = d
            .thread
            .as_ref()
            .map_or_else(|| message_id.to_owned(), |(root, _)| root.clone());
        let row = NotifyRow {
            receiver: d.receiver.clone(),
            objective: d.objective.clone(),
            group: d.group.clone(),
            topic: d.topic(),
            state,
            severity,
            episode: d.episode,
            thread,
            last_message: message_id.to_owned(),
            sent_at: now,
        };
        self.log.insert(
            (
                row.receiver.clone(),
                row.objective.clone(),
                row.group.clone(),
                row.topic,
            ),
            row.clone(),
        );
        row
    }

    /// After an "SLA changed" notice (`message`) to `receiver`: what it was
    /// told of `objective`'s alerts becomes where they stand now, `firing`
    /// under the new definition, in the notice's thread; an alert told as
    /// firing that no longer fires is settled as resolved. No mail goes.
    /// Returns the log entries to save.
    pub fn settle(
        &mut self,
        receiver: &str,
        objective: &str,
        firing: &[&Live],
        message: &str,
        now: DateTime<Utc>,
    ) -> Vec<NotifyRow> {
        let mut out = Vec::new();
        for l in firing {
            let d = Decision {
                receiver: receiver.to_owned(),
                objective: objective.to_owned(),
                group: l.group.clone(),
                what: What::Continued {
                    severity: l.severity,
                },
                episode: l.fired_at,
                thread: Some((message.to_owned(), message.to_owned())),
            };
            out.push(self.note(&d, message, now));
        }
        let stale: Vec<Key> = self
            .log
            .iter()
            .filter(|(k, t)| {
                k.0 == receiver
                    && k.1 == objective
                    && k.3 == Topic::Alert
                    && t.state == Told::Firing
                    && !firing.iter().any(|l| l.group == k.2)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(t) = self.log.get_mut(&k) {
                t.state = Told::Resolved;
                t.severity = None;
                t.sent_at = now;
                out.push(t.clone());
            }
        }
        out
    }

    /// The earliest instant at which a receiver with something waiting is
    /// due a mail round.
    pub fn next_due(&self, grouping: Grouping) -> Option<DateTime<Utc>> {
        self.clocks
            .iter()
            .filter_map(|(r, c)| {
                let since = c.waiting_since?;
                let active = self
                    .log
                    .iter()
                    .any(|(k, t)| &k.0 == r && k.3 == Topic::Alert && t.state == Told::Firing);
                Some(match c.last_round {
                    Some(last) if active => last + grouping.group_interval,
                    _ => since + grouping.group_wait,
                })
            })
            .min()
    }
}

/// A Message-ID (without angle brackets) for a decided mail, in the sender's
/// domain. It depends only on what the mail tells and the mail it follows
/// (receiver, alert, episode, what, parent), never on the clock: a mail decided
/// again because its record was lost (the daemon stopped while the database was
/// away) gets the same Message-ID, and mail clients show it once.
pub fn message_id(d: &Decision, domain: &str) -> String {
    let what = match &d.what {
        What::Firing {
            severity,
            repeat,
            changed_from,
        } => format!("firing:{severity}:{repeat}:{changed_from:?}"),
        What::Resolved { severity, .. } => format!("resolved:{severity}"),
        What::PeriodMissed(r) => format!("missed:{}", r.period_end.timestamp_micros()),
        What::SlaChanged => "sla".to_owned(),
        What::Continued { severity } => format!("continued:{severity}"),
    };
    let text = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        d.receiver,
        d.objective,
        d.group,
        d.topic(),
        d.episode.timestamp_micros(),
        what,
        d.thread.as_ref().map_or("", |t| t.1.as_str()),
    );
    let h = xxhash_rust::xxh3::xxh3_128(text.as_bytes());
    let what = match &d.what {
        What::Firing { .. } | What::Continued { .. } => "alert",
        What::Resolved { .. } => "resolved",
        What::PeriodMissed(_) => "period",
        What::SlaChanged => "sla",
    };
    format!("handoff.{what}.{h:032x}@{domain}")
}

/// The first retry of a mail that could not be delivered comes this soon.
pub const FIRST_RETRY: TimeDelta = TimeDelta::seconds(10);

/// When a mail that failed for the `attempts`th time is tried again: `first`,
/// doubling, at most 10 minutes later.
pub fn retry_after(attempts: i64, first: TimeDelta) -> TimeDelta {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    (first * 2i32.pow(doublings)).min(TimeDelta::minutes(10))
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)] // `&[a.clone()]` reads as the list it is
mod tests {
    use super::*;

    /// `min` minutes after 2026-09-21 14:13:20 UTC.
    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap() + TimeDelta::minutes(min)
    }

    fn live(objective: &str, group: &str, severity: Severity, fired: i64, to: &[&str]) -> Live {
        Live {
            objective: objective.into(),
            group: group.into(),
            severity,
            fired_at: t(fired),
            receivers: to.iter().map(|s| (*s).to_owned()).collect(),
            repeat: TimeDelta::hours(24),
            pending: false,
        }
    }

    fn known(names: &[(&str, bool)]) -> Known {
        names
            .iter()
            .map(|(n, s)| {
                (
                    (*n).to_owned(),
                    KnownObjective {
                        send_resolved: *s,
                        measured: true,
                        parked: false,
                        settling: false,
                    },
                )
            })
            .collect()
    }

    /// Plans at `now` and notes every decision, as the daemon does.
    fn step(p: &mut Planner, live: &[Live], k: &Known, missed: &[Missed], now: i64) -> Vec<String> {
        step_with(p, live, k, missed, now, &Held::default())
    }

    /// What holds notices back: silences, acknowledgements, mutes.
    #[derive(Default)]
    struct Held {
        silences: Vec<SilenceRow>,
        acked: BTreeMap<(String, String, DateTime<Utc>), Severity>,
        muted: BTreeSet<String>,
    }

    fn step_with(
        p: &mut Planner,
        live: &[Live],
        k: &Known,
        missed: &[Missed],
        now: i64,
        held: &Held,
    ) -> Vec<String> {
        let g = Grouping::default();
        let facts = Facts {
            live,
            known: k,
            inhibited: &BTreeSet::new(),
            missed,
            sla: &[],
            silences: &held.silences,
            acked: &held.acked,
            muted: &held.muted,
        };
        let ds = p.plan(&facts, t(now), g);
        ds.iter()
            .map(|d| {
                let id = message_id(d, "acme.example");
                p.note(d, &id, t(now));
                let what = match &d.what {
                    What::Firing {
                        severity,
                        repeat: true,
                        ..
                    } => format!("repeat {severity}"),
                    What::Firing {
                        severity,
                        changed_from: Some(c),
                        ..
                    } => {
                        format!("{c}->{severity}")
                    }
                    What::Firing { severity, .. } => format!("firing {severity}"),
                    What::Resolved { send: true, .. } => "resolved".to_owned(),
                    What::Resolved { send: false, .. } => "resolved silently".to_owned(),
                    What::PeriodMissed(r) => format!("missed {}", r.period_start.format("%H:%M")),
                    What::SlaChanged => "sla changed".to_owned(),
                    What::Continued { severity } => format!("continued {severity}"),
                };
                let threaded = if d.thread.is_some() {
                    " (threaded)"
                } else {
                    ""
                };
                format!(
                    "{} {}/{}: {what}{threaded}",
                    d.receiver, d.objective, d.group
                )
            })
            .collect()
    }

    #[test]
    fn the_first_mail_waits_group_wait_and_tells_what_fired_together() {
        let mut p = Planner::default();
        let k = known(&[("speed", true), ("volume", true)]);
        let a = live("speed", "webinar", Severity::Critical, 0, &["sales@x"]);
        // Nothing goes before group_wait (30 s) has passed.
        assert!(step(&mut p, &[a.clone()], &k, &[], 0).is_empty());
        let b = live("volume", "all", Severity::Warning, 0, &["sales@x", "mkt@x"]);
        assert!(step(&mut p, &[a.clone(), b.clone()], &k, &[], 0).is_empty());
        // At 1 minute both go to sales together; mkt's wait began at 0 too.
        let sent = step(&mut p, &[a.clone(), b.clone()], &k, &[], 1);
        assert_eq!(
            sent,
            [
                "mkt@x volume/all: firing warning",
                "sales@x speed/webinar: firing critical",
                "sales@x volume/all: firing warning",
            ]
        );
        // Told once: nothing more while nothing changes, until `repeat`.
        assert!(step(&mut p, &[a.clone(), b.clone()], &k, &[], 2).is_empty());
        assert!(step(&mut p, &[a.clone(), b.clone()], &k, &[], 60 * 24).is_empty());
        let sent = step(&mut p, &[a.clone(), b.clone()], &k, &[], 60 * 24 + 1);
        assert_eq!(
            sent,
            [
                "mkt@x volume/all: repeat warning (threaded)",
                "sales@x speed/webinar: repeat critical (threaded)",
                "sales@x volume/all: repeat warning (threaded)",
            ]
        );
    }

    #[test]
    fn later_changes_wait_for_group_interval_and_tell_the_state_then() {
        let mut p = Planner::default();
        let k = known(&[("speed", true), ("volume", true)]);
        let a = live("speed", "webinar", Severity::Warning, 0, &["s@x"]);
        assert!(step(&mut p, &[a.clone()], &k, &[], 0).is_empty());
        assert_eq!(
            step(&mut p, &[a.clone()], &k, &[], 1),
            ["s@x speed/webinar: firing warning"]
        );
        // Escalation 2 minutes later waits for the interval (5 min after 1).
        let mut a2 = a.clone();
        a2.severity = Severity::Critical;
        let b = live("volume", "all", Severity::Warning, 2, &["s@x"]);
        assert!(step(&mut p, &[a2.clone(), b.clone()], &k, &[], 3).is_empty());
        // b came and went within the wait: never told.
        assert!(step(&mut p, &[a2.clone()], &k, &[], 5).is_empty());
        assert_eq!(
            step(&mut p, &[a2.clone()], &k, &[], 6),
            ["s@x speed/webinar: warning->critical (threaded)"]
        );
        // Resolution: told in the same thread, at the next interval.
        assert!(step(&mut p, &[], &k, &[], 8).is_empty());
        assert_eq!(
            step(&mut p, &[], &k, &[], 11),
            ["s@x speed/webinar: resolved (threaded)"]
        );
        // Now quiet: a new alert waits group_wait, not the interval.
        let c = live("speed", "webinar", Severity::Critical, 12, &["s@x"]);
        assert!(step(&mut p, &[c.clone()], &k, &[], 12).is_empty());
        assert_eq!(
            step(&mut p, &[c.clone()], &k, &[], 13),
            ["s@x speed/webinar: firing critical"],
            "a new firing is a new thread"
        );
    }

    #[test]
    fn resolutions_follow_the_rules() {
        let mut p = Planner::default();
        let a = live("speed", "all", Severity::Critical, 0, &["s@x"]);
        let b = live("persistence", "all", Severity::Critical, 0, &["s@x"]);
        let gone = live("old", "all", Severity::Critical, 0, &["s@x"]);
        let k = known(&[("speed", true), ("persistence", false), ("old", true)]);
        assert!(step(&mut p, &[a.clone(), b.clone(), gone.clone()], &k, &[], 0).is_empty());
        assert_eq!(
            step(&mut p, &[a.clone(), b.clone(), gone.clone()], &k, &[], 1).len(),
            3
        );
        // `old` left the rules; persistence says send_resolved: false.
        let k = known(&[("speed", true), ("persistence", false)]);
        assert_eq!(
            step(&mut p, &[], &k, &[], 7),
            [
                "s@x persistence/all: resolved silently (threaded)",
                "s@x speed/all: resolved (threaded)",
            ]
        );
        assert!(!p.log.keys().any(|k| k.1 == "old"), "{:?}", p.log.keys());
        assert!(step(&mut p, &[], &k, &[], 20).is_empty(), "told once");
    }

    #[test]
    fn a_receiver_removed_from_notify_stops_hearing_and_inhibited_alerts_wait() {
        let mut p = Planner::default();
        let k = known(&[("speed", true)]);
        let a = live("speed", "all", Severity::Critical, 0, &["a@x", "b@x"]);
        assert!(step(&mut p, &[a.clone()], &k, &[], 0).is_empty());
        assert_eq!(step(&mut p, &[a.clone()], &k, &[], 1).len(), 2);
        let only_a = live("speed", "all", Severity::Critical, 0, &["a@x"]);
        assert!(step(&mut p, &[only_a.clone()], &k, &[], 10).is_empty());
        assert!(!p.log.keys().any(|k| k.0 == "b@x"));
        assert_eq!(
            p.take_forgotten(),
            [("b@x".into(), "speed".into(), "all".into(), Topic::Alert)],
            "deleted from the saved log too"
        );
        assert!(p.take_forgotten().is_empty());
        // While evaluations fail the alert is inhibited: no reminder, and an
        // alert frozen as firing is not resolved either.
        let inhibited: BTreeSet<String> = ["speed".to_owned()].into();
        let g = Grouping::default();
        assert!(
            p.plan(
                &Facts {
                    live: &[only_a.clone()],
                    known: &k,
                    inhibited: &inhibited,
                    missed: &[],
                    sla: &[],
                    silences: &[],
                    acked: &BTreeMap::new(),
                    muted: &BTreeSet::new(),
                },
                t(60 * 25),
                g
            )
            .is_empty()
        );
        let facts = Facts {
            live: &[],
            known: &k,
            inhibited: &inhibited,
            missed: &[],
            sla: &[],
            silences: &[],
            acked: &BTreeMap::new(),
            muted: &BTreeSet::new(),
        };
        assert!(p.plan(&facts, t(60 * 26), g).is_empty());
        // Once evaluations succeed, the reminder that is due goes.
        assert_eq!(
            step(&mut p, &[only_a], &k, &[], 60 * 27),
            ["a@x speed/all: repeat critical (threaded)"]
        );
    }

    #[test]
    fn a_series_that_fires_again_before_its_resolution_was_told_goes_on() {
        let mut p = Planner::default();
        let k = known(&[("speed", true)]);
        let a = live("speed", "all", Severity::Critical, 0, &["s@x"]);
        assert!(step(&mut p, &[a.clone()], &k, &[], 0).is_empty());
        assert_eq!(step(&mut p, &[a], &k, &[], 1).len(), 1);
        // It resolved and fired again between two rounds (for: 0): for the
        // receiver it never stopped. The log moves to the new episode quietly.
        let again = live("speed", "all", Severity::Critical, 4, &["s@x"]);
        assert_eq!(
            step(&mut p, &[again.clone()], &k, &[], 6),
            ["s@x speed/all: continued critical (threaded)"]
        );
        let key = ("s@x".into(), "speed".into(), "all".into(), Topic::Alert);
        assert_eq!(p.log[&key].episode, t(4));
        assert!(step(&mut p, &[again.clone()], &k, &[], 12).is_empty());
        // Fired again at another severity: that is news, in the same thread.
        let warning = live("speed", "all", Severity::Warning, 20, &["s@x"]);
        assert_eq!(
            step(&mut p, &[warning], &k, &[], 21),
            ["s@x speed/all: critical->warning (threaded)"]
        );
        // A pending problem holds a resolution back.
        let mut pending = live("speed", "all", Severity::Critical, 30, &["s@x"]);
        pending.pending = true;
        assert!(step(&mut p, &[pending], &k, &[], 40).is_empty());
        assert_eq!(
            step(&mut p, &[], &k, &[], 41),
            ["s@x speed/all: resolved (threaded)"]
        );
    }

    #[test]
    fn a_changed_objective_is_not_resolved_before_it_is_measured_again() {
        let mut p = Planner::default();
        let k = known(&[("speed", true)]);
        let a = live("speed", "all", Severity::Critical, 0, &["s@x"]);
        assert!(step(&mut p, &[a.clone()], &k, &[], 0).is_empty());
        assert_eq!(step(&mut p, &[a], &k, &[], 1).len(), 1);
        // A reload changed its target: no series until it is measured.
        let mut changed = k.clone();
        changed.get_mut("speed").unwrap().measured = false;
        assert!(step(&mut p, &[], &changed, &[], 10).is_empty());
        // Measured: it still fires (for the receiver it never stopped).
        let b = live("speed", "all", Severity::Critical, 11, &["s@x"]);
        assert_eq!(
            step(&mut p, &[b], &k, &[], 12),
            ["s@x speed/all: continued critical (threaded)"],
            "no mail: the log moves on"
        );
    }

    #[test]
    fn message_ids_follow_what_is_told_not_the_clock() {
        let d = Decision {
            receiver: "s@x".into(),
            objective: "speed".into(),
            group: "all".into(),
            what: What::Firing {
                severity: Severity::Critical,
                repeat: false,
                changed_from: None,
            },
            episode: t(0),
            thread: None,
        };
        let id = message_id(&d, "acme.example");
        assert!(
            id.starts_with("handoff.alert.") && id.ends_with("@acme.example"),
            "{id}"
        );
        assert_eq!(
            message_id(&d.clone(), "acme.example"),
            id,
            "decided again: the same id"
        );
        let mut reminder = d.clone();
        reminder.what = What::Firing {
            severity: Severity::Critical,
            repeat: true,
            changed_from: None,
        };
        reminder.thread = Some((id.clone(), id.clone()));
        let first = message_id(&reminder, "acme.example");
        assert_ne!(first, id);
        reminder.thread = Some((id.clone(), first.clone()));
        assert_ne!(
            message_id(&reminder, "acme.example"),
            first,
            "each reminder its own"
        );
        let mut other = d.clone();
        other.receiver = "m@x".into();
        assert_ne!(message_id(&other, "acme.example"), id);
    }

    #[test]
    fn everyone_told_that_evaluations_fail_hears_them_recover() {
        let mut p = Planner::default();
        let k = known(&[("speed", true), ("volume", true)]);
        let failing = |to: &[&str]| live("", "database", Severity::Critical, 0, to);
        assert!(step(&mut p, &[failing(&["m@x", "s@x"])], &k, &[], 0).is_empty());
        assert_eq!(
            step(&mut p, &[failing(&["m@x", "s@x"])], &k, &[], 1).len(),
            2
        );
        // volume recovers first: only speed's receivers are still concerned.
        assert!(step(&mut p, &[failing(&["s@x"])], &k, &[], 2).is_empty());
        assert_eq!(
            step(&mut p, &[], &k, &[], 8),
            [
                "m@x /database: resolved (threaded)",
                "s@x /database: resolved (threaded)",
            ]
        );
    }

    #[test]
    fn a_missed_period_is_told_once() {
        let mut p = Planner::default();
        let k = known(&[("volume", true)]);
        let row = |start: i64| PeriodRow {
            objective: "volume".into(),
            group: "webinar".into(),
            period_start: t(start),
            period_end: t(start + 60),
            status: crate::eval::Status::AtRisk,
            value: Some(90.0),
            target: Some(100.0),
            numerator: None,
            denominator: None,
            details: "{}".into(),
            recorded_at: t(start + 60),
        };
        let m = |start: i64| Missed {
            row: row(start),
            receivers: ["m@x".to_owned()].into(),
        };
        assert!(step(&mut p, &[], &k, &[m(0)], 60).is_empty());
        assert_eq!(
            step(&mut p, &[], &k, &[m(0)], 61),
            ["m@x volume/webinar: missed 14:13"]
        );
        assert!(step(&mut p, &[], &k, &[m(0)], 70).is_empty());
        // After a restart, the saved log still knows.
        let mut q = Planner::with_log(p.log.values().cloned().collect());
        assert!(step(&mut q, &[], &k, &[m(0)], 80).is_empty());
        assert!(step(&mut q, &[], &k, &[m(0)], 81).is_empty());
        // The next period is told.
        assert!(step(&mut q, &[], &k, &[m(0), m(60)], 120).is_empty());
        assert_eq!(
            step(&mut q, &[], &k, &[m(0), m(60)], 121),
            ["m@x volume/webinar: missed 15:13"]
        );
    }

    #[test]
    fn after_a_restart_what_was_told_is_not_told_again() {
        let mut p = Planner::default();
        let k = known(&[("speed", true)]);
        let a = live("speed", "all", Severity::Critical, 0, &["s@x"]);
        assert!(step(&mut p, &[a.clone()], &k, &[], 0).is_empty());
        assert_eq!(step(&mut p, &[a.clone()], &k, &[], 1).len(), 1);
        let mut q = Planner::with_log(p.log.values().cloned().collect());
        assert!(step(&mut q, &[a.clone()], &k, &[], 2).is_empty());
        assert!(step(&mut q, &[a.clone()], &k, &[], 10).is_empty());
        // A firing the log never heard of (the mail was not yet decided when
        // the daemon stopped) is told.
        let b = live("speed", "webinar", Severity::Warning, 1, &["s@x"]);
        assert!(step(&mut q, &[a.clone(), b.clone()], &k, &[], 11).is_empty());
        assert_eq!(
            step(&mut q, &[a, b], &k, &[], 12),
            ["s@x speed/webinar: firing warning"]
        );
    }

    #[test]
    fn retries_back_off_to_ten_minutes() {
        assert_eq!(retry_after(1, FIRST_RETRY), TimeDelta::seconds(10));
        assert_eq!(retry_after(2, FIRST_RETRY), TimeDelta::seconds(20));
        assert_eq!(retry_after(4, FIRST_RETRY), TimeDelta::seconds(80));
        assert_eq!(retry_after(7, FIRST_RETRY), TimeDelta::minutes(10));
        assert_eq!(retry_after(1000, FIRST_RETRY), TimeDelta::minutes(10));
        assert_eq!(retry_after(3, TimeDelta::seconds(1)), TimeDelta::seconds(4));
    }

    fn silence(objective: Option<&str>, severity: Option<Severity>) -> SilenceRow {
        SilenceRow {
            id: "s1".into(),
            objective: objective.map(str::to_owned),
            group: None,
            severity,
            starts_at: t(0),
            ends_at: t(600),
            created_by: "ana".into(),
            comment: "known: the webinar list is late".into(),
            created_at: t(0),
            updated_at: t(0),
        }
    }

    #[test]
    fn a_silenced_alert_is_not_told_but_its_resolution_is() {
        let mut p = Planner::default();
        let k = known(&[("speed", true), ("volume", true)]);
        let a = live("speed", "webinar", Severity::Critical, 0, &["s@x"]);
        assert!(
            step(&mut p, &[a.clone()], &k, &[], 0).is_empty(),
            "group_wait"
        );
        // Told before the silence.
        assert_eq!(
            step(&mut p, &[a.clone()], &k, &[], 1),
            ["s@x speed/webinar: firing critical"]
        );
        let held = Held {
            silences: vec![silence(Some("speed"), None)],
            ..Held::default()
        };
        // Silenced: the reminder due after 24 h does not go …
        assert!(step_with(&mut p, &[a.clone()], &k, &[], 60 * 24 + 1, &held).is_empty());
        // … nor does a new alert the silence matches …
        let b = live("speed", "paid", Severity::Warning, 60 * 24, &["s@x"]);
        assert!(step_with(&mut p, &[a.clone(), b.clone()], &k, &[], 60 * 24 + 2, &held).is_empty());
        // … but one it does not match does.
        let c = live("volume", "all", Severity::Warning, 60 * 24, &["s@x"]);
        assert_eq!(
            step_with(&mut p, &[a.clone(), c.clone()], &k, &[], 60 * 24 + 8, &held),
            ["s@x volume/all: firing warning"]
        );
        // The silenced alert that was told resolves: everyone told hears it,
        // silence or not; `paid`, never told, is not resolved to anyone.
        assert_eq!(
            step_with(&mut p, &[c.clone()], &k, &[], 60 * 24 + 14, &held),
            ["s@x speed/webinar: resolved (threaded)"]
        );
    }

    #[test]
    fn a_silence_ending_releases_what_is_still_true() {
        let mut p = Planner::default();
        let k = known(&[("speed", true)]);
        let a = live("speed", "webinar", Severity::Warning, 0, &["s@x"]);
        let held = Held {
            // Warnings only: the alert fires as a warning, then breaks.
            silences: vec![silence(None, Some(Severity::Warning))],
            ..Held::default()
        };
        assert!(step_with(&mut p, &[a.clone()], &k, &[], 0, &held).is_empty());
        assert!(step_with(&mut p, &[a.clone()], &k, &[], 5, &held).is_empty());
        // Now critical: the warning silence does not match it.
        let crit = Live {
            severity: Severity::Critical,
            ..a.clone()
        };
        assert!(step_with(&mut p, &[crit.clone()], &k, &[], 6, &held).is_empty());
        assert_eq!(
            step_with(&mut p, &[crit.clone()], &k, &[], 7, &held),
            ["s@x speed/webinar: firing critical"]
        );
    }

    #[test]
    fn an_acknowledged_episode_gets_no_reminders_until_its_severity_changes() {
        let mut p = Planner::default();
        let k = known(&[("speed", true)]);
        let a = live("speed", "webinar", Severity::Warning, 0, &["s@x"]);
        assert!(
            step(&mut p, &[a.clone()], &k, &[], 0).is_empty(),
            "group_wait"
        );
        assert_eq!(
            step(&mut p, &[a.clone()], &k, &[], 1),
            ["s@x speed/webinar: firing warning"]
        );
        let mut held = Held::default();
        held.acked
            .insert(("speed".into(), "webinar".into(), t(0)), Severity::Warning);
        // The reminder due at 24 h 1 min does not go, nor later.
        assert!(step_with(&mut p, &[a.clone()], &k, &[], 60 * 24 + 1, &held).is_empty());
        assert!(step_with(&mut p, &[a.clone()], &k, &[], 60 * 72, &held).is_empty());
        // It breaks: a change of status is news, and reminders come again.
        let crit = Live {
            severity: Severity::Critical,
            ..a.clone()
        };
        assert_eq!(
            step_with(&mut p, &[crit.clone()], &k, &[], 60 * 72 + 1, &held),
            ["s@x speed/webinar: warning->critical (threaded)"]
        );
        assert_eq!(
            step_with(&mut p, &[crit.clone()], &k, &[], 60 * 96 + 2, &held),
            ["s@x speed/webinar: repeat critical (threaded)"]
        );
        // Another episode of the same series is not acknowledged.
        let mut q = Planner::default();
        let later = live("speed", "webinar", Severity::Warning, 5, &["s@x"]);
        step(&mut q, &[later.clone()], &k, &[], 5);
        assert_eq!(
            step(&mut q, &[later.clone()], &k, &[], 6),
            ["s@x speed/webinar: firing warning"]
        );
        assert_eq!(
            step_with(&mut q, &[later], &k, &[], 60 * 24 + 7, &held),
            ["s@x speed/webinar: repeat warning (threaded)"]
        );
    }

    #[test]
    fn a_muted_receiver_hears_what_is_still_true_when_the_mute_ends() {
        let mut p = Planner::default();
        let k = known(&[("speed", true), ("volume", true)]);
        let a = live("speed", "webinar", Severity::Critical, 0, &["s@x", "m@x"]);
        let b = live("volume", "all", Severity::Warning, 0, &["s@x"]);
        let held = Held {
            muted: ["s@x".to_owned()].into(),
            ..Held::default()
        };
        assert!(step_with(&mut p, &[a.clone(), b.clone()], &k, &[], 0, &held).is_empty());
        // m@x is told; s@x, muted, is not.
        assert_eq!(
            step_with(&mut p, &[a.clone(), b.clone()], &k, &[], 1, &held),
            ["m@x speed/webinar: firing critical"]
        );
        // `volume` resolves during the mute: s@x was never told of it.
        assert!(step_with(&mut p, &[a.clone()], &k, &[], 30, &held).is_empty());
        // The mute ends: s@x hears only what is still true, at once (its
        // wait began when the first notice was held).
        assert_eq!(
            step(&mut p, &[a.clone()], &k, &[], 31),
            ["s@x speed/webinar: firing critical"]
        );
    }
}

// ---------------------------------------------------------------------------
// The daemon's mail round: plan, write, record, deliver.

use std::sync::Arc;

use lettre::message::Mailbox;

use super::Daemon;
use crate::eval::{Details, GroupResult, VolumeDetails};
use crate::mail::render::Templates;
use crate::mail::{SendError, Transport};
use crate::rules::Kind;
use crate::store::OutboxRow;

/// How alert mail is sent.
#[derive(Clone, Debug)]
pub struct MailOptions {
    pub transport: Transport,
    pub from: Mailbox,
    pub templates: Arc<Templates>,
    /// The status page's base URL, for links in mail.
    pub external_url: Option<String>,
    pub grouping: Grouping,
    /// The first retry of an undelivered mail ([`FIRST_RETRY`]); later ones
    /// double, up to 10 minutes.
    pub first_retry: TimeDelta,
    /// The key of acknowledgement links (`--ack-secret`); without it, or
    /// without `external_url`, notices carry none.
    pub ack: Option<Arc<super::acks::AckKey>>,
    /// Posts webhook, Slack and Teams notices.
    pub poster: crate::channels::Poster,
}

/// How long after its close a missed period is still told (a daemon stopped
/// over the close tells it when it starts again).
pub const MISSED_TOLD_FOR: TimeDelta = TimeDelta::days(7);

/// How often the mail round runs without being woken by an evaluation.
const MAIL_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Mail state in memory: the planner, the outbox not yet delivered, and a
/// pause after the server could not be reached.
#[derive(Debug, Default)]
pub struct MailState {
    pub planner: Planner,
    pub pending: Vec<OutboxRow>,
    pub pause_until: Option<DateTime<Utc>>,
    /// Webhook, Slack and Teams receivers that could not be reached or
    /// asked to wait (HTTP 429): until when their notices wait. The mail
    /// server's pause does not hold them, nor theirs the mail.
    pub held: BTreeMap<String, DateTime<Utc>>,
    /// Receivers whose mail is being delivered.
    pub busy: BTreeSet<String>,
}

impl MailState {
    /// Whether `receiver`'s notices wait at `now`: the mail server's pause
    /// for an address, its own hold for an endpoint.
    pub fn waits(&self, receiver: &str, now: DateTime<Utc>) -> bool {
        if crate::channels::is_endpoint(receiver) {
            self.held.get(receiver).is_some_and(|t| *t > now)
        } else {
            self.pause_until.is_some_and(|p| p > now)
        }
    }
}

/// Whether a closed period of a `lead_volume` objective missed its target.
pub fn missed(kind: Kind, row: &PeriodRow) -> bool {
    kind == Kind::LeadVolume && matches!((row.value, row.target), (Some(v), Some(t)) if v < t)
}

/// The final figures of a closed volume period, from its saved row.
pub(super) fn volume_result(row: &PeriodRow) -> GroupResult {
    let d: serde_json::Value = serde_json::from_str(&row.details).unwrap_or_default();
    let num = |k: &str| d.get(k).and_then(serde_json::Value::as_f64);
    let delivered = d
        .get("delivered")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| row.value.unwrap_or(0.0) as u64);
    GroupResult {
        denominator: row.denominator,
        details: Details::LeadVolume(VolumeDetails {
            attainment: num("attainment"),
            delivered,
            elapsed: num("elapsed"),
            expected: num("expected"),
            pace: num("pace"),
            period_end: row.period_end,
            window_start: row.period_start,
        }),
        group: row.group.clone(),
        group_name: None,
        numerator: row.numerator,
        status: row.status,
        target: row.target,
        value: row.value,
    }
}

pub(super) fn status_word(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "at_risk",
        Severity::Critical => "breached",
    }
}

impl Daemon {
    /// Decides mail until stop: every second, and at once after an
    /// evaluation. Deciding never waits for the database or for the server:
    /// what is decided goes into the record (written by the writer task) and
    /// to the delivery task.
    pub(super) async fn mail_loop(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(MAIL_TICK) => {}
                () = self.mail_wake.notified() => {}
            }
            self.decide_mail();
        }
    }

    /// Hands due mail to the server until stop: every second, and at once
    /// after mail was decided. Each receiver's mail goes in order on a task of
    /// its own, so a server slow to take one receiver's mail holds up no other.
    pub(super) async fn delivery_loop(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep(MAIL_TICK) => {}
                () = self.deliver_wake.notified() => {}
            }
            let now = self.now();
            let due = self.engine().receivers_due(now);
            for receiver in due {
                let d = self.clone();
                self.tracker.spawn(async move {
                    d.deliver_to(&receiver).await;
                    d.engine().done_with(&receiver);
                    // Mail decided for it meanwhile goes at once.
                    d.deliver_wake.notify_one();
                });
            }
        }
    }

    /// Decides what to tell and delivers what is due, waiting for the
    /// deliveries (the loops do the same without waiting).
    pub async fn mail_round(&self) {
        self.decide_mail();
        let now = self.now();
        let receivers = self.engine().receivers_due(now);
        let deliveries = receivers.iter().map(|r| self.deliver_to(r));
        futures_util::future::join_all(deliveries).await;
        let mut engine = self.engine();
        for r in &receivers {
            engine.done_with(r);
        }
    }

    /// Decides what to tell now: the mails go into the outbox in memory and
    /// into the record, which the writer task writes.
    fn decide_mail(&self) {
        if self.options.mail.is_none() {
            return;
        }
        let now = self.now();
        let effects = self.engine().handle(super::engine::Input::Tick(now));
        let decided = !effects.notices.is_empty();
        self.carry_out(effects);
        if decided {
            self.deliver_wake.notify_one();
        }
    }

    /// Hands one receiver's due mail to the server, oldest first, and never a
    /// mail before an older one of its thread (receiver, objective, group)
    /// still waiting: a resolution does not overtake the breach it answers.
    /// Each mail's new state goes into the record as soon as the server has
    /// answered for it, so a crash repeats at most the mail in flight.
    async fn deliver_to(&self, receiver: &str) {
        let Some(mail) = &self.options.mail else {
            return;
        };
        // Threads whose mail failed in this pass: their later mail waits.
        let mut failed_threads: BTreeSet<(String, String)> = BTreeSet::new();
        loop {
            // Only the leader sends, and only while its lease lasts.
            if self.shutdown.is_cancelled() || !self.sends() {
                return;
            }
            let now = self.now();
            let Some(mut m) = self.engine().next_mail(receiver, now, &failed_threads) else {
                return;
            };
            let endpoint = self.engine().rules().endpoint(&m.receiver).cloned();
            let via = endpoint
                .as_ref()
                .map_or_else(|| mail.transport.describe(), |e| e.shown.clone());
            let channel = endpoint.as_ref().map_or("email", |e| e.kind.as_str());
            let slots = if endpoint.is_some() {
                &self.post_slots
            } else {
                &self.smtp_slots
            };
            let Ok(_slot) = slots.acquire().await else {
                return;
            };
            let _busy = super::Busy::new(&self.busy_deliveries);
            let result = match &endpoint {
                Some(e) => mail.poster.post(e, &m.message).await,
                // An endpoint the rules no longer list: nowhere to post.
                None if crate::channels::is_endpoint(&m.receiver) => Err(SendError {
                    permanent: true,
                    reason: "permanent",
                    connection: false,
                    message: format!("{} is no longer in the rules", m.receiver),
                    retry_after: None,
                }),
                None => {
                    mail.transport
                        .send(&m.id, &mail.from.email, &m.receiver, m.message.as_bytes())
                        .await
                }
            };
            m.attempts += 1;
            let mut pause = None;
            match result {
                Ok(()) => {
                    m.state = Delivery::Sent;
                    m.sent_at = Some(self.now());
                    m.last_error = None;
                    let label = match m.kind.as_str() {
                        k if k.ends_with(":repeat") => "repeat",
                        "resolved" => "resolved",
                        "period_missed" => "period_missed",
                        "sla_changed" => "sla_changed",
                        super::leads::OUTBOX_KIND => "lead",
                        "trend" => "trend",
                        "review" => "review",
                        _ => "firing",
                    };
                    self.metrics
                        .notifications
                        .with_label_values(&[label, channel])
                        .inc();
                    tracing::info!(receiver = %m.receiver, message_id = %m.id, subject = %m.subject, via = %via, channel, "Notice delivered.");
                }
                Err(e) if e.permanent => {
                    m.state = Delivery::Failed;
                    m.last_error = Some(e.message.clone());
                    self.metrics
                        .notifications_failed
                        .with_label_values(&[e.reason, channel])
                        .inc();
                    tracing::error!(receiver = %m.receiver, message_id = %m.id, subject = %m.subject, via = %via, channel, error = %e, "A notice was refused for good; it is not tried again.");
                }
                Err(e) => {
                    let now = self.now();
                    m.next_attempt_at = self.engine().retry_at(m.attempts, now);
                    // The server asked for a wait: at least that.
                    if let Some(wait) = e.retry_after.and_then(|w| TimeDelta::from_std(w).ok()) {
                        m.next_attempt_at = m.next_attempt_at.max(now + wait);
                    }
                    m.last_error = Some(e.message.clone());
                    self.metrics
                        .notifications_failed
                        .with_label_values(&[e.reason, channel])
                        .inc();
                    tracing::warn!(receiver = %m.receiver, message_id = %m.id, via = %via, channel, error = %e, reason = e.reason, attempts = m.attempts, retry_at = %m.next_attempt_at, "A notice could not be delivered; it is tried again.");
                    failed_threads.insert((m.objective.clone(), m.group.clone()));
                    if e.connection || e.retry_after.is_some() || e.reason == "rate_limited" {
                        // The server itself is not answering, or asked for
                        // a wait: the mail server's pause holds every
                        // address's mail; an endpoint's, its own notices.
                        pause = Some(m.next_attempt_at);
                    }
                }
            }
            let effects = self.engine().handle(super::engine::Input::Delivered {
                row: Box::new(m),
                pause_until: pause,
            });
            self.carry_out(effects);
            if pause.is_some() {
                return;
            }
        }
    }
}
