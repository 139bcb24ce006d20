//! When each objective runs: its cron schedule read in its time zone, plus a
//! small jitter that is stable per objective, so objectives sharing a schedule
//! do not all reach the database in the same second.
//!
//! A run that is still going when the next fire time comes makes that fire time
//! a skip (counted), never a queued burst: after a run the next fire time is the
//! first one whose start is still ahead.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::rules::Schedule;

/// The most a run is delayed by jitter.
pub const MAX_JITTER: TimeDelta = TimeDelta::seconds(30);

/// Skips counted at most per run, so that a tiny interval after a long outage
/// costs nothing to step over.
const MAX_SKIPS: u64 = 100_000;

/// The wall clock the scheduler reads. [`Clock::System`] in the daemon; tests
/// use [`Clock::Tokio`], which follows tokio's (pausable) clock.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// `Utc::now()`.
    System,
    /// A wall time anchored to a tokio instant: `wall + (now − instant)`.
    Tokio {
        /// The wall time at `instant`.
        wall: DateTime<Utc>,
        /// The tokio instant `wall` corresponds to.
        instant: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock reading `wall` now and following tokio's clock from here.
    pub fn tokio_at(wall: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            wall,
            instant: tokio::time::Instant::now(),
        }
    }

    /// The current wall time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { wall, instant } => {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(*instant);
                *wall + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX)
            }
        }
    }

    /// Sleeps until the wall time `at` (at once if it has passed).
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        let left = (at - self.now()).to_std().unwrap_or_default();
        tokio::time::sleep(left).await;
    }
}

/// One objective's timing.
#[derive(Clone, Debug)]
pub struct Plan {
    schedule: Schedule,
    tz: Tz,
    /// A stable fraction in [0, 1) of the objective's name.
    spread: f64,
}

impl Plan {
    /// The plan of an objective named `name`.
    pub fn new(name: &str, schedule: Schedule, tz: Tz) -> Plan {
        let h = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        Plan {
            schedule,
            tz,
            spread: (h >> 11) as f64 / (1u64 << 53) as f64,
        }
    }

    /// The first fire time strictly after `after`.
    pub fn fire_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule
            .next_after(&after.with_timezone(&self.tz))
            .map(|t| t.with_timezone(&Utc))
    }

    /// The delay added to a fire time: the objective's stable fraction of a
    /// tenth of the gap to the next fire time, at most [`MAX_JITTER`].
    pub fn jitter(&self, fire: DateTime<Utc>) -> TimeDelta {
        let Some(next) = self.fire_after(fire) else {
            return TimeDelta::zero();
        };
        let bound = ((next - fire) / 10).min(MAX_JITTER);
        let ms = (bound.num_milliseconds() as f64 * self.spread) as i64;
        TimeDelta::milliseconds(ms)
    }

    /// The next run after `after`: its fire time and the instant it starts.
    pub fn next_run(&self, after: DateTime<Utc>) -> Option<Run> {
        let fire = self.fire_after(after)?;
        Some(Run {
            fire,
            start: fire + self.jitter(fire),
        })
    }

    /// After a run that was due at `fire` and ended at `ended`: how many fire
    /// times passed while it ran (skipped), and the fire time to continue from.
    pub fn skipped_during(
        &self,
        fire: DateTime<Utc>,
        ended: DateTime<Utc>,
    ) -> (u64, DateTime<Utc>) {
        let mut skipped = 0;
        let mut last = fire;
        while let Some(run) = self.next_run(last) {
            if run.start > ended || skipped >= MAX_SKIPS {
                break;
            }
            skipped += 1;
            last = run.fire;
        }
        (skipped, last)
    }
}

/// How a failed run is retried: after `first`, doubling up to `max`, or at the
/// next scheduled run if that is sooner.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    pub first: std::time::Duration,
    pub max: std::time::Duration,
}

/// One objective's schedule, run until `token` is cancelled or the schedule
/// never fires again: once at start (if `run_on_start`), then at every run's
/// start; a failed run (`run` returns false) is retried with capped backoff.
/// Fire times whose start passes while a run goes on are skipped and reported
/// through `skipped`; `next` hears each upcoming start.
#[allow(clippy::too_many_arguments)]
pub async fn drive<R, F>(
    plan: &Plan,
    clock: Clock,
    run_on_start: bool,
    retry: Retry,
    token: &tokio_util::sync::CancellationToken,
    mut run: R,
    mut next: impl FnMut(DateTime<Utc>),
    mut skipped: impl FnMut(u64),
) where
    R: FnMut() -> F,
    F: std::future::Future<Output = bool>,
{
    let mut backoff = retry.first;
    let mut after = clock.now();
    let mut retry_at = run_on_start.then_some(after);
    loop {
        let scheduled = plan.next_run(after);
        // A retry (or the run on start) comes before the schedule if sooner.
        let (start, is_retry) = match (scheduled, retry_at) {
            (Some(s), Some(r)) if r < s.start => (r, true),
            (Some(s), _) => (s.start, false),
            (None, Some(r)) => (r, true),
            (None, None) => return,
        };
        next(start);
        tokio::select! {
            () = token.cancelled() => return,
            () = clock.sleep_until(start) => {}
        }
        let ok = run().await;
        let ended = clock.now();
        retry_at = if ok {
            backoff = retry.first;
            None
        } else {
            let at = ended + TimeDelta::from_std(backoff).unwrap_or(TimeDelta::MAX);
            backoff = (backoff * 2).min(retry.max);
            Some(at)
        };
        // Scheduled runs whose start passed while this run went on overlap
        // it: they are skipped and counted, not queued. A retry that runs into
        // the next scheduled start stands in for that run (it measured then):
        // only the starts after it count, so an outage's retries do not read
        // as an overloaded schedule.
        let mut n = 0;
        if let Some(s) = scheduled
            && (!is_retry || s.start <= ended)
        {
            (n, after) = plan.skipped_during(s.fire, ended);
        }
        if n > 0 {
            skipped(n);
        }
    }
}

/// One scheduled run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// The cron fire time.
    pub fire: DateTime<Utc>,
    /// When the run starts: the fire time plus jitter.
    pub start: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn plan(name: &str, cron: &str, tz: Tz) -> Plan {
        Plan::new(name, Schedule::parse(cron).unwrap(), tz)
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let at = utc(2026, 11, 2, 9, 0, 0);
        // Every 5 minutes: a tenth of the gap is 30 s, the cap.
        let p = plan("speed-to-lead", "*/5 * * * *", chrono_tz::UTC);
        let j = p.jitter(at);
        assert_eq!(
            j,
            plan("speed-to-lead", "*/5 * * * *", chrono_tz::UTC).jitter(at)
        );
        assert!(j >= TimeDelta::zero() && j < TimeDelta::seconds(30), "{j}");
        // Every minute: a tenth of the gap is 6 s.
        for name in ["a", "b", "mql-volume", "persistence", "x-y-z"] {
            let j = plan(name, "* * * * *", chrono_tz::UTC).jitter(at);
            assert!(
                j >= TimeDelta::zero() && j < TimeDelta::seconds(6),
                "{name}: {j}"
            );
        }
        // Names spread: ten objectives on one schedule do not share one delay.
        let delays: std::collections::BTreeSet<i64> = (0..10)
            .map(|i| {
                plan(&format!("objective-{i}"), "0 * * * *", chrono_tz::UTC)
                    .jitter(at)
                    .num_milliseconds()
            })
            .collect();
        assert!(delays.len() >= 8, "{delays:?}");
    }

    #[test]
    fn fire_times_are_read_in_the_time_zone_across_dst() {
        let ny = chrono_tz::America::New_York;
        let p = plan("daily", "0 8 * * *", ny);
        // 08:00 in New York is 12:00 UTC in summer time (EDT, −4) ...
        let r = p.next_run(utc(2026, 10, 31, 13, 0, 0)).unwrap();
        assert_eq!(
            r.fire,
            utc(2026, 11, 1, 13, 0, 0),
            "Nov 1 is the first EST day"
        );
        // ... and 13:00 UTC after the change on 2026-11-01 (EST, −5).
        let r = p.next_run(utc(2026, 11, 1, 13, 0, 0)).unwrap();
        assert_eq!(r.fire, utc(2026, 11, 2, 13, 0, 0));
        // Spring forward, 2026-03-08: 02:30 does not exist that day; the next
        // 02:30 that exists is on March 9 (06:30 UTC, EST+1h = EDT).
        let p = plan("night", "30 2 * * *", ny);
        let r = p.next_run(utc(2026, 3, 8, 5, 0, 0)).unwrap();
        assert_eq!(r.fire, utc(2026, 3, 9, 6, 30, 0));
        assert!(r.start >= r.fire && r.start - r.fire <= MAX_JITTER);
        // Fall back, 2026-11-01: 01:30 happens twice (EDT 05:30 UTC, then EST
        // 06:30 UTC); a daily 01:30 runs once that day, at the first.
        let p = plan("early", "30 1 * * *", ny);
        let r = p.next_run(utc(2026, 11, 1, 4, 0, 0)).unwrap();
        assert_eq!(r.fire, utc(2026, 11, 1, 5, 30, 0));
        let r = p.next_run(r.fire).unwrap();
        assert_eq!(
            r.fire,
            utc(2026, 11, 2, 6, 30, 0),
            "not again an hour later"
        );
    }

    #[test]
    fn a_long_run_skips_the_fire_times_it_overlapped() {
        let p = plan("slow", "*/5 * * * *", chrono_tz::UTC);
        let fire = utc(2026, 11, 2, 9, 0, 0);
        // Ended before the next start: nothing skipped.
        assert_eq!(p.skipped_during(fire, utc(2026, 11, 2, 9, 1, 0)), (0, fire));
        // Ran 12 minutes: 09:05 and 09:10 passed (their jitter is < 30 s).
        let (skipped, from) = p.skipped_during(fire, utc(2026, 11, 2, 9, 12, 0));
        assert_eq!(skipped, 2);
        assert_eq!(from, utc(2026, 11, 2, 9, 10, 0));
        assert_eq!(p.next_run(from).unwrap().fire, utc(2026, 11, 2, 9, 15, 0));
    }

    /// The loop on paused time: a run on start, a run that outlasts two fire
    /// times, a failure retried after 5 s then 10 s, and the schedule resumed.
    #[tokio::test(start_paused = true)]
    async fn the_loop_runs_on_start_skips_overlaps_and_retries_with_backoff() {
        use std::sync::{Arc, Mutex};
        let start = utc(2026, 11, 2, 9, 0, 0);
        let clock = Clock::tokio_at(start);
        let p = plan("loop", "*/5 * * * *", chrono_tz::UTC);
        let j = |fire: DateTime<Utc>| fire + p.jitter(fire);
        // Each run: how long it takes (minutes) and whether it succeeds.
        let script: Arc<Mutex<Vec<(i64, bool)>>> = Arc::new(Mutex::new(vec![
            (0, true),
            (12, true),
            (0, false),
            (0, false),
            (0, true),
            (0, true),
        ]));
        let starts = Arc::new(Mutex::new(Vec::new()));
        let skips = Arc::new(Mutex::new(Vec::new()));
        let token = tokio_util::sync::CancellationToken::new();
        let retry = Retry {
            first: std::time::Duration::from_secs(5),
            max: std::time::Duration::from_secs(300),
        };
        drive(
            &p,
            clock,
            true,
            retry,
            &token,
            || {
                let (script, starts, token) = (script.clone(), starts.clone(), token.clone());
                async move {
                    starts.lock().unwrap().push(clock.now());
                    let step = script.lock().unwrap().pop_front_or_cancel(&token);
                    match step {
                        Some((minutes, ok)) => {
                            tokio::time::sleep(std::time::Duration::from_secs(minutes as u64 * 60))
                                .await;
                            ok
                        }
                        None => true,
                    }
                }
            },
            |_| {},
            |n| skips.lock().unwrap().push(n),
        )
        .await;
        let starts = starts.lock().unwrap().clone();
        let after_long = j(utc(2026, 11, 2, 9, 5, 0)) + TimeDelta::minutes(12);
        let failed_at = j(utc(2026, 11, 2, 9, 20, 0));
        assert_eq!(
            starts,
            vec![
                start,                                  // on start
                j(utc(2026, 11, 2, 9, 5, 0)),           // 09:05, runs 12 min
                failed_at,                              // 09:10 and 09:15 skipped; 09:20 fails
                failed_at + TimeDelta::seconds(5),      // retried after 5 s, fails
                failed_at + TimeDelta::seconds(5 + 10), // retried after 10 s, succeeds
                j(utc(2026, 11, 2, 9, 25, 0)),          // the schedule again
            ]
        );
        assert!(after_long < failed_at);
        assert_eq!(*skips.lock().unwrap(), vec![2]);
    }

    trait Script {
        fn pop_front_or_cancel(
            &mut self,
            token: &tokio_util::sync::CancellationToken,
        ) -> Option<(i64, bool)>;
    }

    impl Script for Vec<(i64, bool)> {
        /// The next step; the last one also stops the loop.
        fn pop_front_or_cancel(
            &mut self,
            token: &tokio_util::sync::CancellationToken,
        ) -> Option<(i64, bool)> {
            if self.len() <= 1 {
                token.cancel();
            }
            (!self.is_empty()).then(|| self.remove(0))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let wall = utc(2026, 11, 2, 9, 0, 0);
        let clock = Clock::tokio_at(wall);
        clock.sleep_until(utc(2026, 11, 2, 9, 4, 30)).await;
        assert_eq!(clock.now(), utc(2026, 11, 2, 9, 4, 30));
    }
}
