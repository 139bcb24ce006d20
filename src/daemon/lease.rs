//! Two daemons, one mailer (docs/DAEMON.md): which daemon records and sends.
//!
//! On PostgreSQL and MySQL/MariaDB every daemon claims the leader's lease
//! (`handoff_lease`) every [`RENEW_EVERY`] for [`LEASE_TTL`], judged by the
//! database's clock. The one that holds it *leads*: it records results,
//! alert state and the outbox, closes periods and sends notices, each write
//! fenced by its token. The others *follow*: they evaluate for their own
//! page, API and `/metrics`, decide no notices and write nothing of the
//! record. When the leader dies or is cut off, its lease runs out and a
//! follower takes it with the next token, reads the record back as a
//! restart does, and carries on.
//!
//! A leader counts its lease from the moment it *sent* the renewal, so its
//! own reckoning runs out before the database's: it stops sending
//! [`LOCAL_MARGIN`] before any other daemon can take over.
//!
//! On SQLite one daemon runs per file: it holds a lock on a file beside the
//! database for as long as it runs ([`lock_sqlite`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::Daemon;
use crate::store::{Claim, Lease};

/// How long a claimed lease lasts, by the database's clock.
pub const LEASE_TTL: Duration = Duration::from_secs(15);

/// How often the leader renews its lease, and a follower tries to take it.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// The leader steps down this long before its lease can run out in the
/// database.
pub const LOCAL_MARGIN: Duration = Duration::from_secs(2);

/// The leader sends only within this long of its last renewal (sent): one
/// renewal that fails pauses sending until the next succeeds, so a leader cut
/// off from the database stops sending long before another can take over,
/// and before an evaluation that waits for the database has timed out.
pub const SEND_FRESH: Duration = Duration::from_secs(7);

/// What this daemon is.
#[derive(Clone, Debug)]
pub enum Role {
    /// The only daemon on its SQLite file: it records and sends.
    Alone,
    /// It holds the lease with `token`, last renewed by a claim sent at
    /// `renewed` (its own clock): it records until the lease runs out
    /// ([`LEASE_TTL`] less [`LOCAL_MARGIN`] after that) and sends within
    /// [`SEND_FRESH`] of it.
    Leader {
        token: i64,
        renewed: Instant,
        since: DateTime<Utc>,
    },
    /// Another daemon leads, or none does yet: `leader` is the lease as last
    /// read, if it was.
    Follower { leader: Option<Lease> },
}

impl Role {
    /// Whether this daemon records: alone on its file, or holding the
    /// lease (its writes are fenced by the database).
    pub fn records(&self) -> bool {
        matches!(self, Role::Alone | Role::Leader { .. })
    }

    /// Whether this daemon may send now: alone on its file, or holding the
    /// lease renewed within [`SEND_FRESH`].
    pub fn sends(&self) -> bool {
        match self {
            Role::Alone => true,
            Role::Leader { renewed, .. } => Instant::now() < *renewed + SEND_FRESH,
            Role::Follower { .. } => false,
        }
    }

    /// The token every write of the record carries (none on SQLite).
    pub fn fence(&self) -> Option<i64> {
        match self {
            Role::Leader { token, .. } => Some(*token),
            Role::Alone | Role::Follower { .. } => None,
        }
    }

    /// For the page and the API: `alone`, `leader` or `follower`.
    pub fn word(&self) -> &'static str {
        match self {
            Role::Alone => "alone",
            Role::Leader { .. } => "leader",
            Role::Follower { .. } => "follower",
        }
    }
}

impl Daemon {
    /// What this daemon is now.
    pub fn role(&self) -> Role {
        self.role.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether this daemon records the record: alone on its SQLite file, or
    /// holding the lease.
    pub fn records(&self) -> bool {
        self.role
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .records()
    }

    /// Whether this daemon may send now (see [`Role::sends`]).
    pub fn sends(&self) -> bool {
        self.role.lock().unwrap_or_else(|e| e.into_inner()).sends()
    }

    fn set_role(&self, role: Role) {
        let leads = role.records();
        *self.role.lock().unwrap_or_else(|e| e.into_inner()) = role;
        self.metrics.leader.set(i64::from(leads));
        self.board().generation += 1;
        self.metrics.touch();
    }

    /// Claims the lease until stop: renews it while this daemon leads, takes
    /// it when it ran out, and steps down when it cannot be renewed in time
    /// or another daemon holds it.
    pub(super) async fn lease_loop(self: Arc<Self>) {
        let instance = self.options.instance.clone();
        let mut held: Option<i64> = None;
        loop {
            let sent = Instant::now();
            let answer = tokio::time::timeout(
                RENEW_EVERY,
                self.store.claim_lease(&instance, held, LEASE_TTL),
            )
            .await;
            let mut next = sent + RENEW_EVERY;
            match answer {
                Ok(Ok(Claim::Held(lease))) => {
                    let same =
                        matches!(self.role(), Role::Leader { token, .. } if token == lease.token);
                    held = Some(lease.token);
                    if same {
                        if let Role::Leader { token, since, .. } = self.role() {
                            self.set_role(Role::Leader {
                                token,
                                renewed: sent,
                                since,
                            });
                            // Mail held while the renewal was late goes now.
                            self.deliver_wake.notify_one();
                        }
                    } else if self.take_over(&lease, sent).await.is_err() {
                        // Holding the lease without the record read back:
                        // try again soon, still not sending.
                        next = sent + Duration::from_secs(1);
                    }
                }
                Ok(Ok(Claim::Other(lease))) => {
                    held = None;
                    if matches!(self.role(), Role::Leader { .. }) {
                        self.step_down(&format!(
                            "{} holds the leader's lease (token {})",
                            lease.holder, lease.token
                        ));
                    }
                    self.set_role(Role::Follower {
                        leader: Some(lease),
                    });
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::error_chain(&e), "Could not claim the leader's lease.");
                }
                Err(_) => {
                    tracing::warn!(
                        within = ?RENEW_EVERY,
                        "Could not claim the leader's lease: the database did not answer in time."
                    );
                }
            }
            if let Role::Leader { renewed, .. } = self.role() {
                let until = renewed + LEASE_TTL - LOCAL_MARGIN;
                if Instant::now() >= until {
                    held = None;
                    self.step_down("its lease could not be renewed before it ran out");
                    self.set_role(Role::Follower { leader: None });
                } else {
                    // Step down at the instant the lease runs out, if no
                    // renewal came first.
                    next = next.min(until);
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
        }
    }

    /// This daemon took the lease: the record as the database holds it is
    /// read back (alert state, notification log, outbox) into an engine that
    /// decides notices, and every objective is evaluated at once.
    async fn take_over(self: &Arc<Self>, lease: &Lease, renewed: Instant) -> Result<(), ()> {
        let now = self.now();
        {
            let rules = self.rules();
            let engine = super::Engine::new(
                rules,
                self.options.mail.clone(),
                self.store.describe().to_owned(),
                now,
            );
            *self.engine() = engine;
            *self.unwritten() = crate::store::Journal::default();
        }
        let read = tokio::time::timeout(RENEW_EVERY, async {
            self.restore().await?;
            self.restore_charts().await
        })
        .await;
        match read {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %crate::error_chain(&e), "Took the leader's lease but could not read the record back; trying again.");
                return Err(());
            }
            Err(_) => {
                tracing::error!(
                    "Took the leader's lease but reading the record back took too long; trying again."
                );
                return Err(());
            }
        }
        tracing::info!(
            instance = %self.options.instance,
            token = lease.token,
            "This daemon leads now: it records and sends."
        );
        self.set_role(Role::Leader {
            token: lease.token,
            renewed,
            since: now,
        });
        self.restart_objectives();
        self.mail_wake.notify_one();
        self.deliver_wake.notify_one();
        self.review_wake.notify_one();
        self.record_soon();
        Ok(())
    }

    /// This daemon no longer leads: it stops deciding notices and drops the
    /// record not yet written (the new leader evaluates and records for
    /// itself, and what was not recorded is decided again from the record).
    pub(super) fn step_down(&self, why: &str) {
        let dropped = self.unwritten().rows();
        *self.unwritten() = crate::store::Journal::default();
        self.engine().follow();
        tracing::warn!(
            instance = %self.options.instance,
            why,
            dropped_rows = dropped,
            "This daemon no longer leads: it follows, evaluating for its page and metrics; another daemon records and sends."
        );
        self.set_role(Role::Follower { leader: None });
    }

    /// Ends the lease at a clean stop, after the last write, so that another
    /// daemon takes over at once.
    pub(super) async fn release_lease(&self) {
        if let Role::Leader { token, .. } = self.role() {
            match tokio::time::timeout(
                Duration::from_secs(5),
                self.store.release_lease(&self.options.instance, token),
            )
            .await
            {
                Ok(Ok(())) => tracing::info!(token, "Released the leader's lease."),
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::error_chain(&e), "Could not release the leader's lease; it runs out by itself.");
                }
                Err(_) => tracing::warn!(
                    "Could not release the leader's lease in time; it runs out by itself."
                ),
            }
        }
    }
}

/// A lock held on `FILE.lock` beside a SQLite database while a daemon runs
/// on it: a second daemon on the same file refuses to start.
#[derive(Debug)]
pub struct SqliteLock {
    _file: std::fs::File,
}

/// Takes the lock of the daemon on the SQLite file `db`, or says which
/// process holds it.
///
/// # Errors
///
/// Another daemon runs on the file, or the lock file cannot be made.
pub fn lock_sqlite(db: &std::path::Path) -> anyhow::Result<SqliteLock> {
    use std::io::{Read as _, Seek as _, Write as _};
    let mut path = db.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| {
            anyhow::anyhow!("cannot open the daemon's lock file {}: {e}", path.display())
        })?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut who = String::new();
        let _ = file.read_to_string(&mut who);
        let who = who.trim();
        anyhow::bail!(
            "another handoff daemon runs on SQLite database {} ({}); a SQLite file has one daemon. \
             Stop that one first, or run several daemons on one PostgreSQL or MySQL/MariaDB database, \
             where they share the work through the leader's lease (docs/DAEMON.md, \"Two daemons, one mailer\")",
            db.display(),
            if who.is_empty() {
                format!("it holds {}", path.display())
            } else {
                who.to_owned()
            }
        );
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(
        file,
        "pid {}, started {}",
        std::process::id(),
        Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = file.flush();
    Ok(SqliteLock { _file: file })
}

/// The default name of this daemon as the lease's holder: host and process.
pub fn default_instance() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "handoff".to_owned());
    format!("{host}:{}", std::process::id())
}
