//! The SQL store: the canonical lead tables (the README's "The lead store") on SQLite, PostgreSQL or
//! MySQL/MariaDB.
//!
//! This is the only module that speaks SQL, and [`Store`] is its only door. The
//! backend is chosen once, when a URL is opened; every operation behind the door
//! is written once, generically over the `Dialect` trait, which holds what really
//! differs between the backends (how a timestamp is bound and read, the upsert
//! clause, how amounts turn into exact cents, how the server is told to stop a
//! statement). sqlx's `QueryBuilder` numbers the placeholders for each backend.
//!
//! A store holds two pools: one for reads, whose every use runs in a read-only
//! transaction under a statement limit enforced by the database itself, and a
//! smaller one for writes, so that a long evaluation never starves the writes
//! that record its result.
//!
//! A store may send its lead queries to a read replica of its database
//! ([`Store::with_read_replica`]): [`Store::reader`] (the evaluator's reads,
//! the scans for lead notices, the review) then reads the replica, after
//! asking it how far behind its primary it is, while everything handoff
//! writes and reads back of its own (`handoff_*` tables, metadata,
//! migrations) stays on the primary.
//!
//! Every statement binds its values; table and column names come only from the
//! fixed lists in [`crate::model`] and the allowlists beside the queries.

mod db;
mod dialect;
mod lease;
mod read;
pub mod sqlite_time;
mod state;
mod write;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::model::Table;

pub use db::{id_lookup_sql, own_words, server_said};
pub use lease::{Claim, Lease};
pub use read::{
    Abandoned, AbandonedCount, AbandonedLead, FirstAttempt, InFlightLead, JudgedCounts, MqlCount,
    Reach, Reader, question_sql,
};
pub use state::{
    AckRow, AlertEvent, AlertRow, DAEMON_TABLES, Journal, LeadNoticeRow, NotifyRow, OutboxRow,
    PeriodRow, ResultRow, RuleSetRow, SilenceRow,
};
pub use write::{Encoded, Encoder, RowSet, Tx, UpsertColumns};

use state::{StateItem, StateRead};

use db::Ops;
use dialect::LagReading;

/// The `handoff_meta` entry present while the lead data is the demo's alone;
/// `handoff import` removes it.
pub const META_DEMO: &str = "demo";

/// The kinds of database handoff runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    /// How many evaluations may read at once by default: one on SQLite, where
    /// every read connection that has evaluated keeps its memory in this
    /// process (page cache, sort space, its thread's heap); two on a server.
    pub fn default_concurrency(self) -> usize {
        match self {
            Backend::Sqlite => 1,
            Backend::Postgres | Backend::MySql => 2,
        }
    }

    /// Read connections a daemon running `concurrency` evaluations at once
    /// opens: one per evaluation, which the history API shares on SQLite
    /// (for the memory above); a server gets one more, for the API.
    pub fn daemon_read_connections(self, concurrency: u32) -> u32 {
        match self {
            Backend::Sqlite => concurrency,
            Backend::Postgres | Backend::MySql => concurrency + 1,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
        })
    }
}

/// How a store uses its database: pool sizes, time limits, SQLite tuning.
///
/// The defaults suit `handoff eval` and a daemon beside a modest database; each
/// has a command-line option and an environment variable (see `handoff --help`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections for reads (evaluations). Evaluations beyond this wait.
    pub read_connections: u32,
    /// Connections for writes (imports, the daemon's own state). Kept apart from
    /// reads so that a long evaluation never holds up a write. SQLite takes one
    /// writer at a time whatever this says.
    pub write_connections: u32,
    /// How long connecting, or waiting for a free connection, may take.
    pub connect_timeout: Duration,
    /// The time limit of the store's own short reads (counts, metadata, the
    /// schema check). An evaluation has its objective's limit instead
    /// (`eval::timeout_for`).
    pub statement_timeout: Duration,
    /// SQLite's page cache per connection, in MiB. With the file mapped, reads
    /// go through the map and the cache holds only what the map does not: pages
    /// past its end, pages whose newest version is in the WAL, and changes.
    pub sqlite_cache_mib: u32,
    /// How much of a SQLite file each connection maps into memory, in MiB
    /// (0: read through system calls). SQLite caps it at its compile-time
    /// `SQLITE_MAX_MMAP_SIZE`, 2 GiB less 64 KiB in the bundled build.
    pub sqlite_mmap_mib: u32,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            read_connections: 4,
            write_connections: 2,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            // The whole file mapped (up to SQLite's cap), so that reads are
            // memory accesses into the kernel's page cache rather than a
            // system call and a copy into SQLite's cache per page: a round on
            // a million leads in 0.69-0.80 of the time. Mapped pages are file
            // pages, which the kernel can drop at any time, not the process's
            // own memory; that peaks at about 42 MiB for the round, against
            // 50 MiB without the map (docs/BENCHMARKS.md, run K). The cache
            // serves what the map does not, and every read with
            // `--sqlite-mmap-mib 0`.
            sqlite_cache_mib: 8,
            sqlite_mmap_mib: 2048,
        }
    }
}

/// What kind of failure a [`StoreError`] is: a bounded set, for metrics labels
/// and for deciding what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The URL or the options are wrong; retrying will not help.
    Config,
    /// The database cannot be reached, or the connection broke.
    Unreachable,
    /// A statement ran past its time limit and was stopped.
    Timeout,
    /// A table the schema promises is missing: the database was never
    /// migrated, or a view over CRM tables lacks one.
    Schema,
    /// The database refused a statement (a failed constraint, a permission).
    Query,
    /// A value read back does not have the type or form the schema promises.
    Data,
    /// The database cannot store what it is given now: the disk is full, an
    /// I/O error, or the database is read-only. Nothing is wrong with the
    /// rows; they can be written once it is fixed.
    Storage,
    /// A write of the daemon's record by a daemon that no longer holds the
    /// leader's lease: a newer leader writes instead.
    Fenced,
    /// The read replica is further behind its primary than allowed, or
    /// cannot say how far: what it holds would be read as current when it is
    /// not. Only lead reads go to a replica, so no write fails so.
    Stale,
}

impl ErrorKind {
    /// Every kind, for metrics that start each label at 0.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Config,
        ErrorKind::Unreachable,
        ErrorKind::Timeout,
        ErrorKind::Schema,
        ErrorKind::Query,
        ErrorKind::Data,
        ErrorKind::Storage,
        ErrorKind::Fenced,
        ErrorKind::Stale,
    ];

    /// Whether what failed may succeed later unchanged: the database was away,
    /// too slow, or could not store the rows for now (a full disk), or the
    /// read replica was behind. Rows that failed so are kept and written
    /// again; rows the database refused are not.
    pub fn is_passing(self) -> bool {
        matches!(
            self,
            ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::Storage | ErrorKind::Stale
        )
    }

    /// The kind as a metric label: `config`, `unreachable`, `timeout`,
    /// `schema`, `query`, `data`, `storage`, `fenced`, `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Schema => "schema",
            ErrorKind::Query => "query",
            ErrorKind::Data => "data",
            ErrorKind::Storage => "storage",
            ErrorKind::Fenced => "fenced",
            ErrorKind::Stale => "stale",
        }
    }
}

/// Errors from the store.
///
/// Each variant says what the store was doing; the database's own words are the
/// [`source`](std::error::Error::source), which `Display` leaves out:
/// [`crate::error_chain`] prints the whole chain, each cause once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: expected sqlite://FILE, postgres://… or mysql://…")]
    UnsupportedUrl(String),
    #[error("invalid database URL `{url}`")]
    BadUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("no SQLite database at {}", .path.display())]
    Missing { path: PathBuf },
    #[error("cannot connect to {what}")]
    Connect {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered, and the database named in the URL is not there.
    #[error(
        "cannot connect to {what}: the server has no database `{name}`; create it first \
         ({create}), then run `handoff migrate`"
    )]
    NoDatabase {
        what: String,
        name: String,
        create: String,
    },
    #[error("cannot connect to {what}: no answer within {}s", .after.as_secs())]
    ConnectTimeout { what: String, after: Duration },
    #[error("failed to migrate {what}")]
    Migrate {
        what: String,
        kind: ErrorKind,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("time limit reached before {doing}")]
    Deadline { doing: String },
    #[error(
        "this daemon no longer leads: the leader's lease has {}; its write (token {token}) is refused",
        match .newer {
            Some((holder, t)) => format!("token {t}, held by {holder}"),
            None => "no row".to_owned(),
        }
    )]
    Fenced {
        token: i64,
        newer: Option<(String, i64)>,
    },
    #[error("SQLite has no leader's lease: one daemon runs per SQLite file")]
    NoLease,
    /// `--read-database` names another kind of database than `--database`.
    #[error(
        "the read database is {replica} and the database {primary}: a read replica is a copy of \
         its primary, so both URLs name the same kind of database"
    )]
    ReplicaBackend { primary: Backend, replica: Backend },
    /// The read replica is further behind than allowed (`lag`, in seconds),
    /// or cannot say how far (`None`).
    #[error("{}", stale_message(*.lag, *.max))]
    StaleReplica { lag: Option<f64>, max: Duration },
    #[error("database error while {doing}")]
    Query {
        doing: String,
        kind: ErrorKind,
        #[source]
        source: sqlx::Error,
    },
}

impl StoreError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::UnsupportedUrl(_)
            | StoreError::BadUrl { .. }
            | StoreError::ReplicaBackend { .. } => ErrorKind::Config,
            StoreError::Missing { .. }
            | StoreError::Connect { .. }
            | StoreError::NoDatabase { .. }
            | StoreError::ConnectTimeout { .. } => ErrorKind::Unreachable,
            StoreError::Migrate { kind, .. } => *kind,
            StoreError::Deadline { .. } => ErrorKind::Timeout,
            StoreError::Query { kind, .. } => *kind,
            StoreError::Fenced { .. } => ErrorKind::Fenced,
            StoreError::NoLease => ErrorKind::Config,
            StoreError::StaleReplica { .. } => ErrorKind::Stale,
        }
    }
}

/// What a stale read replica is told as: its lag (whole seconds from 10 s
/// on, tenths below, rounded up so that it never reads as the most allowed)
/// against the most allowed, as the option that sets it reads.
fn stale_message(lag: Option<f64>, max: Duration) -> String {
    let max = max.as_secs();
    match lag {
        Some(lag) => {
            let lag = if lag < 10.0 {
                format!("{:.1}", (lag * 10.0).ceil() / 10.0)
            } else {
                format!("{:.0}", lag.ceil())
            };
            format!(
                "the read replica is {lag} s behind the primary (more than --max-replica-lag \
                 {max}s); figures from it would be stale"
            )
        }
        None => format!(
            "the read replica cannot say how far behind the primary it is (its replication is \
             stopped, or has not started); figures from it could be stale (--max-replica-lag {max}s)"
        ),
    }
}

/// The lag a read replica reported at its last lead read, shared by every
/// clone of the store: what `handoff_read_replica_lag_seconds` shows.
#[derive(Clone, Debug, Default)]
pub struct ReplicaLag {
    /// How many readings were taken, and the last one: seconds, or
    /// infinity when the replica could not say.
    last: Arc<std::sync::Mutex<(u64, Option<f64>)>>,
}

impl ReplicaLag {
    /// The last reading in seconds: `None` before the first, infinity when
    /// the replica could not say how far behind it is.
    pub fn seconds(&self) -> Option<f64> {
        self.lock().1
    }

    /// How many readings have been taken: a new one changes it.
    pub fn readings(&self) -> u64 {
        self.lock().0
    }

    fn set(&self, lag: Option<f64>) {
        let mut last = self.lock();
        last.0 += 1;
        last.1 = Some(lag.unwrap_or(f64::INFINITY));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Option<f64>)> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connection to one database: the door to every table handoff reads or writes.
///
/// Cheap to clone; clones share the pools. Which backend is behind it is decided
/// when it is opened and never asked again outside this module.
#[derive(Clone)]
pub struct Store {
    /// The primary: everything handoff writes, its own state, and the lead
    /// reads when there is no replica.
    db: Arc<dyn Ops>,
    /// Where the lead reads go instead, if anywhere.
    replica: Option<Arc<Replica>>,
}

/// Above this many seconds a replica's lag read while it replays is read
/// again after a pause (see [`Store::reader`]); below, the bound is close
/// enough to stand.
const REPLAY_BOUND_TRUSTED: f64 = 1.0;

/// The pauses between readings of a replica that is replaying: 1.5 s in all
/// at most, and only while its replay moves (a paused replica costs one).
const REPLAY_PAUSES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
];

/// Whether a replica's lag reading is worth taking again after a pause: it
/// is replaying changes it has received, its bound is over
/// [`REPLAY_BOUND_TRUSTED`], and its replay has moved since the `previous`
/// reading (a paused or stuck replay is as far behind as it says).
fn read_again(reading: &LagReading, previous: Option<&str>) -> bool {
    match &reading.replaying {
        Some(at) => {
            reading.seconds.is_some_and(|s| s > REPLAY_BOUND_TRUSTED)
                && previous != Some(at.as_str())
        }
        None => false,
    }
}

/// A read replica of the store's database, for the lead reads.
struct Replica {
    db: Arc<dyn Ops>,
    /// The most lag a read may start on.
    max_lag: Duration,
    lag: ReplicaLag,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = f.debug_tuple("Store");
        t.field(&self.db.describe());
        if let Some(r) = &self.replica {
            t.field(&r.db.describe());
        }
        t.finish()
    }
}

/// Whether opening a store may create or change the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Create a missing SQLite file and set it up for writing.
    CreateOrWrite,
    /// Only open what exists, changing nothing (for `handoff eval`).
    Existing,
}

impl Store {
    /// Connects to `url` (`sqlite://FILE`, `postgres://…`, `mysql://…` or `mariadb://…`).
    ///
    /// A SQLite file is created when missing and opened in WAL mode. For a
    /// connection that must change nothing, see [`Store::connect_existing`].
    ///
    /// # Errors
    ///
    /// An unknown scheme, a malformed URL, or a database that cannot be reached:
    /// a refused connection fails at once, with the server's reason.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        Store::open(url, options, Open::CreateOrWrite).await
    }

    /// Connects to an existing database without creating or changing anything:
    /// for `handoff eval`. A SQLite file that does not exist is
    /// [`StoreError::Missing`] rather than a new empty database.
    ///
    /// # Errors
    ///
    /// As [`Store::connect`], and a missing SQLite file.
    pub async fn connect_existing(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        Store::open(url, options, Open::Existing).await
    }

    async fn open(url: &str, options: &StoreOptions, mode: Open) -> Result<Store, StoreError> {
        Ok(Store {
            db: open_ops(url, options, mode).await?,
            replica: None,
        })
    }

    /// The same store with its lead reads sent to the read replica at `url`:
    /// [`Store::reader`], [`Store::count`] and [`Store::check_lead_tables`]
    /// read there; writes, migrations, metadata and handoff's own state stay
    /// on this store's database. The replica is opened as it is, changing
    /// nothing (never created nor migrated). Each [`Store::reader`] first asks
    /// the replica how far behind its primary it is, inside the read, and
    /// fails with [`StoreError::StaleReplica`] beyond `max_lag`.
    ///
    /// # Errors
    ///
    /// A URL of another kind of database than this store's
    /// ([`StoreError::ReplicaBackend`]), or as [`Store::connect_existing`].
    pub async fn with_read_replica(
        mut self,
        url: &str,
        options: &StoreOptions,
        max_lag: Duration,
    ) -> Result<Store, StoreError> {
        let replica = backend_of(url)?;
        if replica != self.backend() {
            return Err(StoreError::ReplicaBackend {
                primary: self.backend(),
                replica,
            });
        }
        self.replica = Some(Arc::new(Replica {
            db: open_ops(url, options, Open::Existing).await?,
            max_lag,
            lag: ReplicaLag::default(),
        }));
        Ok(self)
    }

    /// The read replica the lead reads go to, described as
    /// [`Store::describe`] does; `None` when they go to the database itself.
    pub fn read_replica(&self) -> Option<&str> {
        self.replica.as_ref().map(|r| r.db.describe())
    }

    /// The lag of the read replica at its last reading; `None` without one.
    pub fn replica_lag(&self) -> Option<&ReplicaLag> {
        self.replica.as_ref().map(|r| &r.lag)
    }

    /// The database the lead reads go to.
    fn leads(&self) -> &Arc<dyn Ops> {
        self.replica.as_ref().map_or(&self.db, |r| &r.db)
    }

    /// Which kind of database this is.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// A short description for messages: the backend and database name, no secrets.
    pub fn describe(&self) -> &str {
        self.db.describe()
    }

    /// Whether several daemons may share this database through the leader's
    /// lease (PostgreSQL, MySQL/MariaDB; a SQLite file has one daemon).
    pub fn shares_a_lease(&self) -> bool {
        self.backend() != Backend::Sqlite
    }

    /// The file behind a SQLite store, for commands a person can run on it.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        self.db.sqlite_file()
    }

    /// Creates the schema, or upgrades it to the one this build knows;
    /// returns how many migrations it applied (0: it was up to date).
    ///
    /// # Errors
    ///
    /// A migration that fails, or a database whose applied migrations differ from
    /// this build's (edited after they were applied).
    pub async fn migrate(&self) -> Result<u64, StoreError> {
        self.db.migrate().await
    }

    /// Starts a transaction for writing.
    ///
    /// # Errors
    ///
    /// No write connection could be had.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx::new(self.db.begin().await?))
    }

    /// Encodes upserts for this store without a connection, so that bulk loaders
    /// can encode on another thread while the database writes.
    pub fn encoder(&self) -> Encoder {
        Encoder::new(Arc::clone(&self.db))
    }

    /// Opens a consistent, read-only view of the lead data in which every
    /// statement is stopped by the database once `limit` has passed: on the
    /// read replica when there is one, after asking it how far behind its
    /// primary it is (the first statement of the read, so the view is at
    /// least that current).
    ///
    /// # Errors
    ///
    /// No read connection could be had within the connect timeout; the
    /// replica is further behind than its most allowed lag, or cannot say
    /// ([`StoreError::StaleReplica`]).
    pub async fn reader(&self, limit: Duration) -> Result<Reader, StoreError> {
        let Some(replica) = &self.replica else {
            return Ok(Reader::new(self.db.read(limit).await?));
        };
        let mut previous: Option<String> = None;
        let mut pauses = REPLAY_PAUSES.iter();
        let (read, lag) = loop {
            let mut read = replica.db.read(limit).await?;
            let reading = match read.replica_lag().await {
                Ok(reading) => reading,
                Err(e) => {
                    // The read failed already; ending it cannot say more.
                    let _ = read.finish().await;
                    return Err(e);
                }
            };
            // A replica replaying what it has just received reports the age
            // of the last transaction it applied, which overstates its lag
            // when the primary had been quiet: give it a moment, and read
            // again in a new snapshot (so the view is as current as the
            // reading), while its replay moves.
            match pauses.next() {
                Some(pause) if read_again(&reading, previous.as_deref()) => {
                    let _ = read.finish().await;
                    previous = reading.replaying;
                    tokio::time::sleep(*pause).await;
                }
                _ => break (read, reading.seconds),
            }
        };
        replica.lag.set(lag);
        if lag.is_none_or(|l| l > replica.max_lag.as_secs_f64()) {
            let _ = read.finish().await;
            return Err(StoreError::StaleReplica {
                lag,
                max: replica.max_lag,
            });
        }
        Ok(Reader::new(read))
    }

    /// Counts the rows of a canonical table (on the read replica, if any).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn count(&self, table: Table) -> Result<i64, StoreError> {
        let leads = self.leads();
        let mut r = Reader::new(leads.read(leads.statement_timeout()).await?);
        let n = r.count(table).await?;
        r.finish().await?;
        Ok(n)
    }

    /// Reads one value of the store's own metadata (`handoff_meta`).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut r = Reader::new(self.db.read(self.db.statement_timeout()).await?);
        let v = r.meta(key).await?;
        r.finish().await?;
        Ok(v)
    }

    /// Checks that the four lead tables (or views) exist and can be read, by
    /// reading no rows from each (on the read replica, if any, however far
    /// behind it is).
    ///
    /// # Errors
    ///
    /// The first table that cannot be read.
    pub async fn check_lead_tables(&self) -> Result<(), StoreError> {
        let leads = self.leads();
        let mut r = Reader::new(leads.read(leads.statement_timeout()).await?);
        r.check_lead_tables().await?;
        r.finish().await
    }

    /// Writes one step of the daemon's record (results, closed periods, alert
    /// state and events, the change log's rule sets, pruning) in one
    /// transaction: all of it or nothing.
    ///
    /// # Errors
    ///
    /// A database error; nothing was written.
    pub async fn record(&self, journal: &Journal) -> Result<(), StoreError> {
        self.record_fenced(journal, None).await
    }

    /// As [`Store::record`], by the leader holding the lease with `token`
    /// (PostgreSQL, MySQL/MariaDB): the same transaction first checks that
    /// the lease still has that token, and writes nothing once a newer
    /// leader took it ([`StoreError::Fenced`]).
    ///
    /// # Errors
    ///
    /// A database error, or the fence; nothing was written.
    pub async fn record_fenced(
        &self,
        journal: &Journal,
        token: Option<i64>,
    ) -> Result<(), StoreError> {
        if journal.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        match tx.record(journal, token).await {
            Ok(()) => tx.commit().await,
            Err(e) => {
                // The error that matters is the write's; a failed rollback
                // changes nothing the caller can act on.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Claims the leader's lease for `holder`, which holds `token` now (or
    /// none), for `ttl` by the database's clock: renews it, takes it when it
    /// ran out (the token grows by one), or says who holds it. PostgreSQL and
    /// MySQL/MariaDB only.
    ///
    /// # Errors
    ///
    /// A database error; [`StoreError::NoLease`] on SQLite.
    pub async fn claim_lease(
        &self,
        holder: &str,
        token: Option<i64>,
        ttl: Duration,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.db.begin().await?;
        match tx.claim(holder, token, ttl).await {
            Ok(claim) => {
                tx.commit().await?;
                Ok(claim)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Ends `holder`'s lease with `token` at once (a clean stop), so that
    /// another daemon takes over without waiting for it to run out.
    ///
    /// # Errors
    ///
    /// A database error; [`StoreError::NoLease`] on SQLite.
    pub async fn release_lease(&self, holder: &str, token: i64) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        match tx.release(holder, token).await {
            Ok(()) => tx.commit().await,
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Every saved alert series.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn alert_rows(&self) -> Result<Vec<AlertRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::Alerts, &mut |item| {
            if let StateItem::Alert(a) = item {
                rows.push(a);
            }
        })
        .await?;
        Ok(rows)
    }

    /// The whole notification log.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn notification_log(&self) -> Result<Vec<NotifyRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::Notifications, &mut |item| {
            if let StateItem::Notified(n) = item {
                rows.push(n);
            }
        })
        .await?;
        Ok(rows)
    }

    /// The lead notice log of the leads handed over since `since`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn lead_notices(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<LeadNoticeRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::LeadNotices { since }, &mut |item| {
            if let StateItem::LeadNotice(n) = item {
                rows.push(n);
            }
        })
        .await?;
        Ok(rows)
    }

    /// The silences that end after `ends_after` (active, future, and those
    /// ended since), newest first.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn silences(
        &self,
        ends_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<SilenceRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::Silences { ends_after }, &mut |item| {
            if let StateItem::Silence(s) = item {
                rows.push(s);
            }
        })
        .await?;
        Ok(rows)
    }

    /// Every acknowledgement.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn acks(&self) -> Result<Vec<AckRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::Acks, &mut |item| {
            if let StateItem::Ack(a) = item {
                rows.push(a);
            }
        })
        .await?;
        Ok(rows)
    }

    /// The mails still pending, oldest first.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn pending_mail(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::Outbox, &mut |item| {
            if let StateItem::Mail(m) = item {
                rows.push(m);
            }
        })
        .await?;
        Ok(rows)
    }

    /// Results with `from <= evaluated_at < to`, of one objective or of all, in
    /// time order, at most `limit`, each handed to `each` as it streams in.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn results(
        &self,
        objective: Option<&str>,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: u32,
        each: &mut (dyn FnMut(ResultRow) + Send),
    ) -> Result<(), StoreError> {
        let what = StateRead::Results {
            objective: objective.map(str::to_owned),
            from,
            to,
            limit,
        };
        self.read_state(&what, &mut |item| {
            if let StateItem::Result(r) = item {
                each(r);
            }
        })
        .await
    }

    /// `(objective, group, evaluated_at, value)` of every result with a value in
    /// `[from, to)`, in time order, each handed to `each` as it streams in.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn points(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        each: &mut (dyn FnMut(String, String, chrono::DateTime<chrono::Utc>, f64) + Send),
    ) -> Result<(), StoreError> {
        self.read_state(&StateRead::Points { from, to }, &mut |item| {
            if let StateItem::Point(o, g, t, v) = item {
                each(o, g, t, v);
            }
        })
        .await
    }

    /// The closed periods of `objective` that ended in `[from, to)`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn periods(
        &self,
        objective: &str,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PeriodRow>, StoreError> {
        let what = StateRead::Periods {
            objective: objective.to_owned(),
            from,
            to,
        };
        let mut rows = Vec::new();
        self.read_state(&what, &mut |item| {
            if let StateItem::Period(p) = item {
                rows.push(p);
            }
        })
        .await?;
        Ok(rows)
    }

    /// The alert transitions of `objective` in `[from, to)`, at most `limit`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn alert_events(
        &self,
        objective: &str,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        let what = StateRead::Events {
            objective: objective.to_owned(),
            from,
            to,
            limit,
        };
        let mut rows = Vec::new();
        self.read_state(&what, &mut |item| {
            if let StateItem::Event(e) = item {
                rows.push(e);
            }
        })
        .await?;
        Ok(rows)
    }

    /// The newest rule set of the SLA's change log, if any was recorded.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn latest_rule_set(&self) -> Result<Option<RuleSetRow>, StoreError> {
        let mut latest = None;
        self.read_state(&StateRead::LatestRuleSet, &mut |item| {
            if let StateItem::RuleSet(r) = item {
                latest = Some(r);
            }
        })
        .await?;
        Ok(latest)
    }

    /// The rule sets of the SLA's change log loaded in `[from, to)`, newest
    /// first, at most `limit`.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn rule_sets(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<RuleSetRow>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::RuleSets { from, to, limit }, &mut |item| {
            if let StateItem::RuleSet(r) = item {
                rows.push(r);
            }
        })
        .await?;
        Ok(rows)
    }

    /// When the current problem of each group of `objective` began, from the
    /// results history: for each group whose latest result (errors aside) is
    /// `at_risk` or `breached`, the `evaluated_at` of the first problem result
    /// after its latest `ok` or `no_data` one (or of its first result, if it
    /// never had one). Error results neither start nor end a run. Groups in
    /// byte order; one statement, aggregated by the database.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn episode_starts(
        &self,
        objective: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, StoreError> {
        let what = StateRead::EpisodeStarts {
            objective: objective.to_owned(),
        };
        let mut rows = Vec::new();
        self.read_state(&what, &mut |item| {
            if let StateItem::EpisodeStart(g, t) = item {
                rows.push((g, t));
            }
        })
        .await?;
        Ok(rows)
    }

    /// `(objective, group, kind, mails)`: how many mails the mail server took
    /// of those decided in `[from, to)`, by objective, group and kind
    /// (`breach`, `period_missed`, `lead`, …).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn mail_counts(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, String, String, u64)>, StoreError> {
        let mut rows = Vec::new();
        self.read_state(&StateRead::MailCounts { from, to }, &mut |item| {
            if let StateItem::MailCount(o, g, k, n) = item {
                rows.push((o, g, k, u64::try_from(n).unwrap_or(0)));
            }
        })
        .await?;
        rows.sort();
        Ok(rows)
    }

    async fn read_state(
        &self,
        what: &StateRead,
        each: &mut (dyn FnMut(StateItem) + Send),
    ) -> Result<(), StoreError> {
        let mut r = self.db.read(self.db.statement_timeout()).await?;
        r.state(what, each).await?;
        r.finish().await
    }

    /// Refreshes the planner's statistics after a bulk load, so that the
    /// evaluator's plans fit the data, and (SQLite) folds the write-ahead log
    /// into the database file, so that the file alone is a whole copy.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn tidy(&self) -> Result<(), StoreError> {
        self.db.tidy().await
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.db.close().await;
        if let Some(r) = &self.replica {
            r.db.close().await;
        }
    }
}

/// Opens the database at `url`: the one place that asks which backend a URL
/// names.
async fn open_ops(
    url: &str,
    options: &StoreOptions,
    mode: Open,
) -> Result<Arc<dyn Ops>, StoreError> {
    Ok(match backend_of(url)? {
        Backend::Sqlite => Arc::new(db::open_sqlite(url, options, mode).await?),
        Backend::Postgres => Arc::new(db::open_postgres(url, options).await?),
        Backend::MySql => Arc::new(db::open_mysql(url, options).await?),
    })
}

/// Tells the backend from a URL's scheme.
///
/// # Errors
///
/// [`StoreError::UnsupportedUrl`] for any other scheme.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        "mysql" | "mariadb" => Ok(Backend::MySql),
        _ => Err(StoreError::UnsupportedUrl(redact(url))),
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
///
/// The password is whatever lies between the first `:` of the userinfo and
/// the **last** `@` of the URL: people type passwords raw, and a raw password
/// may hold `/`, `?`, `#`, `:` or `@` itself (a host never holds `@`). A URL
/// whose path or query holds an `@` is cut there, hiding more than the
/// password rather than showing any of it. A `password=` (or `sslpassword=`)
/// query parameter is hidden too. SQLite URLs name a file and carry no
/// secret; they are kept whole.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if scheme.eq_ignore_ascii_case("sqlite") {
        return url.to_owned();
    }
    let (userinfo, host) = match rest.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, rest),
    };
    let mut out = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _password)) => {
                out.push_str(user);
                out.push_str(":***");
            }
            None => out.push_str(userinfo),
        }
        out.push('@');
    }
    match host.split_once('?') {
        Some((before, query)) => {
            out.push_str(before);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _))
                        if ["password", "sslpassword", "pass", "pwd"]
                            .iter()
                            .any(|p| k.eq_ignore_ascii_case(p)) =>
                    {
                        format!("{k}=***")
                    }
                    _ => kv.to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(host),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(backend_of("sqlite://handoff.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            backend_of("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(backend_of("mariadb://root@h/db").unwrap(), Backend::MySql);
        let err = backend_of("oracle://scott:tiger@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("oracle://scott:***@h/db"), "{err}");
    }

    #[test]
    fn a_stale_replica_says_how_far_behind_it_is_against_what() {
        let stale = |lag, max| StoreError::StaleReplica {
            lag,
            max: Duration::from_secs(max),
        };
        let e = stale(Some(95.0), 60);
        assert_eq!(
            e.to_string(),
            "the read replica is 95 s behind the primary (more than --max-replica-lag 60s); \
             figures from it would be stale"
        );
        assert_eq!(e.kind(), ErrorKind::Stale);
        assert!(e.kind().is_passing(), "it may catch up");
        assert_eq!(e.kind().as_str(), "stale");
        // Rounded up, and tenths below 10 s: a lag just past the most
        // allowed never reads as equal to it.
        for (lag, max, shown) in [
            (3.02, 3, "3.1 s"),
            (3.44, 3, "3.5 s"),
            (0.3, 0, "0.3 s"),
            (60.2, 60, "61 s"),
            (95.0, 60, "95 s"),
        ] {
            let text = stale(Some(lag), max).to_string();
            assert!(
                text.starts_with(&format!(
                    "the read replica is {shown} behind the primary (more than --max-replica-lag {max}s)"
                )),
                "{text}"
            );
        }
        assert_eq!(
            stale(None, 60).to_string(),
            "the read replica cannot say how far behind the primary it is (its replication is \
             stopped, or has not started); figures from it could be stale (--max-replica-lag 60s)"
        );
        assert!(ErrorKind::ALL.contains(&ErrorKind::Stale));
    }

    #[test]
    fn a_replaying_replica_is_read_again_while_its_replay_moves() {
        let replaying = |seconds: Option<f64>, at: &str| LagReading {
            seconds,
            replaying: Some(at.to_owned()),
        };
        // Quiet for 5 s, now applying a burst: the 5 s is a bound to wait out.
        assert!(read_again(&replaying(Some(5.0), "0/3000060"), None));
        // Its replay moved since: again.
        assert!(read_again(
            &replaying(Some(5.1), "0/3000100"),
            Some("0/3000060")
        ));
        // It did not move (replay paused or stuck): the reading stands.
        assert!(!read_again(
            &replaying(Some(5.1), "0/3000060"),
            Some("0/3000060")
        ));
        // Within a second: close enough to stand.
        assert!(!read_again(&replaying(Some(0.4), "0/3000060"), None));
        assert!(!read_again(&replaying(Some(1.0), "0/3000060"), None));
        // It cannot say, or has nothing left to replay: the reading stands.
        assert!(!read_again(&replaying(None, "0/3000060"), None));
        assert!(!read_again(&LagReading::settled(Some(30.0)), None));
    }

    #[test]
    fn the_replica_lag_keeps_the_last_reading_and_counts_them() {
        let lag = ReplicaLag::default();
        assert_eq!((lag.seconds(), lag.readings()), (None, 0));
        let shared = lag.clone();
        lag.set(Some(1.5));
        assert_eq!((shared.seconds(), shared.readings()), (Some(1.5), 1));
        // Replication stopped: infinitely far behind, never 0.
        lag.set(None);
        assert_eq!(
            (shared.seconds(), shared.readings()),
            (Some(f64::INFINITY), 2)
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/crm"),
            "postgres://app:***@db:5432/crm"
        );
        assert_eq!(redact("postgres://app@db/crm"), "postgres://app@db/crm");
        assert_eq!(redact("sqlite://handoff.db"), "sqlite://handoff.db");
        assert_eq!(redact("postgres://db/crm"), "postgres://db/crm");
        assert_eq!(redact("not a url"), "not a url");
    }

    /// Passwords as people type them (raw) and as URLs want them
    /// (percent-encoded), with each character that ends a part of a URL.
    #[test]
    fn passwords_with_special_characters_never_reach_messages() {
        for (url, shown) in [
            ("postgres://u:pa/ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa@ss@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgres://u:pa:ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa%ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa#ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa?ss@h/db", "postgres://u:***@h/db"),
            (
                "mysql://u:a/b@c:d%e#f?g@h:3306/db",
                "mysql://u:***@h:3306/db",
            ),
            (
                "postgres://u:pa%2Fss%40x%3A%25%23%3F@h/db",
                "postgres://u:***@h/db",
            ),
            (
                "smtp://u:p/w@mail.example:587?tls=required",
                "smtp://u:***@mail.example:587?tls=required",
            ),
            ("smtps://u:p?w@mail.example", "smtps://u:***@mail.example"),
            // A user name with an @ (a mail address) keeps its name.
            (
                "smtp://me@acme.example:s3cret@mail.example:25",
                "smtp://me@acme.example:***@mail.example:25",
            ),
            // The password in the query.
            (
                "postgres://h/db?user=u&password=s3cret&sslmode=require",
                "postgres://h/db?user=u&password=***&sslmode=require",
            ),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        // An @ after the host: more is hidden, never the password shown.
        let r = redact("postgres://u:s3cret@h/db?application_name=a@b");
        assert!(!r.contains("s3cret"), "{r}");
        assert!(r.starts_with("postgres://u:***@"), "{r}");
    }
}
