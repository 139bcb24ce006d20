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

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_follows_paused_time() {
        let wall = utc(2026, 11, 2, 9, 0, 0);
        let clock = Clock::tokio_at(wall);
        clock.sleep_until(utc(2026, 11, 2, 9, 4, 30)).await;
        assert_eq!(clock.now(), utc(2026, 11, 2, 9, 4, 30));
    }
}
