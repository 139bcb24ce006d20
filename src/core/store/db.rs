//! The store's operations, written once for every backend.
//!
//! `Db<DB>` holds the two pools of one database. It implements the object-safe
//! traits `Ops`, `ReadOps` (one read-only transaction) and `TxOps` (one write
//! transaction) generically over [`Dialect`]; [`super::Store`] holds it as
//! `Arc<dyn Ops>`, so that the backend is chosen when a URL is opened and
//! nowhere else. Only opening differs per backend (`open_sqlite`,
//! `open_postgres`, `open_mysql`): each takes its own connect options.

use std::collections::HashSet;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use futures_util::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _, Database, Pool, QueryBuilder, Transaction};

use super::dialect::{Dialect, LagReading, Server, Typed};
use super::read::{Cell, Question, decode_row};
use super::state::{self, Journal, StateItem, StateRead};
use super::write::{Encoded, RowSet, UpsertColumns, encode_upsert};
use super::{Backend, ErrorKind, Open, StoreError, StoreOptions, redact};
use crate::model::Table;

/// What a store does, whatever the backend.
pub(crate) trait Ops: Send + Sync {
    fn backend(&self) -> Backend;
    fn describe(&self) -> &str;
    fn sqlite_file(&self) -> Option<PathBuf>;
    fn statement_timeout(&self) -> Duration;
    fn migrate(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn TxOps>, StoreError>>;
    fn read(&self, limit: Duration) -> BoxFuture<'_, Result<Box<dyn ReadOps>, StoreError>>;
    fn encode(&self, columns: &UpsertColumns, rows: &dyn RowSet) -> Encoded;
    fn tidy(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// One read-only transaction.
pub(crate) trait ReadOps: Send {
    fn count(&mut self, table: Table) -> BoxFuture<'_, Result<i64, StoreError>>;
    fn meta<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    fn check_lead_tables(&mut self) -> BoxFuture<'_, Result<(), StoreError>>;
    fn rep_names<'a>(
        &'a mut self,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<std::collections::BTreeMap<String, String>, StoreError>>;
    fn ask<'a>(
        &'a mut self,
        question: Question,
        each: &'a mut (dyn FnMut(Vec<Cell>) + Send),
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn state<'a>(
        &'a mut self,
        what: &'a StateRead,
        each: &'a mut (dyn FnMut(StateItem) + Send),
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// How far behind its primary the database is (see
    /// [`Dialect::replica_lag`]).
    fn replica_lag(&mut self) -> BoxFuture<'_, Result<LagReading, StoreError>>;
    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// One write transaction.
pub(crate) trait TxOps: Send {
    fn encode(&self, columns: &UpsertColumns, rows: &dyn RowSet) -> Encoded;
    fn execute(&mut self, encoded: Encoded) -> BoxFuture<'_, Result<(), StoreError>>;
    fn existing_ids<'a>(
        &'a mut self,
        table: Table,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<HashSet<String>, StoreError>>;
    fn delete_lead_data(&mut self) -> BoxFuture<'_, Result<(), StoreError>>;
    fn delete_daemon_state(&mut self) -> BoxFuture<'_, Result<(), StoreError>>;
    fn set_meta<'a>(
        &'a mut self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn delete_meta<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    fn record<'a>(
        &'a mut self,
        journal: &'a Journal,
        fence: Option<i64>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn claim<'a>(
        &'a mut self,
        holder: &'a str,
        token: Option<i64>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<super::Claim, StoreError>>;
    fn release<'a>(
        &'a mut self,
        holder: &'a str,
        token: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
    fn rollback(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// The pools of one database.
pub(crate) struct Db<DB: Database> {
    reads: Pool<DB>,
    writes: Pool<DB>,
    server: Server,
    options: StoreOptions,
    describe: String,
    sqlite_file: Option<PathBuf>,
}

/// `SELECT id FROM table WHERE id IN …` for `ids`, in the backend's form
/// ([`Dialect::push_id_in`]).
fn id_lookup<DB: Dialect>(table: Table, ids: &[&str]) -> QueryBuilder<DB> {
    let mut qb = QueryBuilder::<DB>::new(format!("SELECT id FROM {} WHERE ", table.name()));
    DB::push_id_in(&mut qb, "id", ids);
    qb
}

/// The SQL text with which an import looks up which of some ids exist in
/// `table` on `backend` (the reference checks), with its placeholders for one
/// id, for reading its plan (`EXPLAIN`).
pub fn id_lookup_sql(table: Table, backend: super::Backend) -> String {
    fn sql<DB: Dialect>(table: Table) -> String {
        id_lookup::<DB>(table, &["id"]).sql().as_str().to_owned()
    }
    match backend {
        super::Backend::Sqlite => sql::<sqlx::Sqlite>(table),
        super::Backend::Postgres => sql::<sqlx::Postgres>(table),
        super::Backend::MySql => sql::<sqlx::MySql>(table),
    }
}

/// What kind of failure a sqlx error is.
fn kind_of<DB: Dialect>(e: &sqlx::Error) -> ErrorKind {
    match e {
        sqlx::Error::Database(db) if DB::is_timeout(db.as_ref()) => ErrorKind::Timeout,
        sqlx::Error::Database(db) if DB::is_storage(db.as_ref()) => ErrorKind::Storage,
        sqlx::Error::Database(db) if DB::is_unreachable(db.as_ref()) => ErrorKind::Unreachable,
        sqlx::Error::Database(db) if DB::is_missing_table(db.as_ref()) => ErrorKind::Schema,
        sqlx::Error::Database(_) => ErrorKind::Query,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorKind::Unreachable,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => ErrorKind::Data,
        sqlx::Error::Configuration(_) | sqlx::Error::InvalidArgument(_) => ErrorKind::Config,
        _ => ErrorKind::Query,
    }
}

/// What kind of failure a migration's is: the database's own, when a
/// statement failed (away, refused: a role that may not create tables is
/// `Query`); `Schema` when the schema is not one this release can bring up to
/// date (a migration changed since it was applied, one of a newer release,
/// one left half done). Only the passing kinds are worth waiting for.
fn migrate_kind<DB: Dialect>(e: &sqlx::migrate::MigrateError) -> ErrorKind {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => kind_of::<DB>(e),
        MigrateError::VersionMissing(_)
        | MigrateError::VersionMismatch(_)
        | MigrateError::VersionNotPresent(_)
        | MigrateError::VersionTooOld(..)
        | MigrateError::VersionTooNew(..)
        | MigrateError::Dirty(_) => ErrorKind::Schema,
        _ => ErrorKind::Query,
    }
}

/// Maps a sqlx error to a [`StoreError`] that says what the store was doing.
pub(super) fn failed<DB: Dialect>(
    doing: impl Into<String>,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    let doing = doing.into();
    move |source| StoreError::Query {
        doing,
        kind: kind_of::<DB>(&source),
        source,
    }
}

impl<DB: Dialect> Db<DB> {
    fn new(
        reads: Pool<DB>,
        writes: Pool<DB>,
        server: Server,
        options: &StoreOptions,
        describe: String,
        sqlite_file: Option<PathBuf>,
    ) -> Db<DB> {
        Db {
            reads,
            writes,
            server,
            options: options.clone(),
            describe,
            sqlite_file,
        }
    }

    /// The error of a pool that could not give a connection. A pool that timed
    /// out retrying a refused or failing connection says only that it timed
    /// out; one direct attempt recovers the database's or the system's reason.
    async fn cause_of(&self, pool: &Pool<DB>, e: sqlx::Error, doing: &str) -> StoreError {
        if !matches!(e, sqlx::Error::PoolTimedOut) {
            return failed::<DB>(doing)(e);
        }
        let opts = pool.connect_options();
        match first_connection(opts.as_ref(), &self.describe, self.options.connect_timeout).await {
            Ok(conn) => {
                // The database answers: the pool was busy, not the server down.
                tokio::spawn(sqlx::Connection::close(conn));
                StoreError::Query {
                    doing: format!("{doing} (every connection was busy)"),
                    kind: ErrorKind::Timeout,
                    source: e,
                }
            }
            Err(cause) => cause,
        }
    }

    fn pool_options(connections: u32, options: &StoreOptions) -> PoolOptions<DB> {
        PoolOptions::<DB>::new()
            .max_connections(connections.max(1))
            .acquire_timeout(options.connect_timeout)
    }
}

/// What the server said, without the driver's decoration (PostgreSQL's
/// "at line N" of its own C source, which means nothing to a user).
#[derive(Debug)]
struct ServerSaid {
    message: String,
    code: Option<String>,
    /// SQLite's words: it is a library in this process, not a server.
    sqlite: bool,
}

impl std::fmt::Display for ServerSaid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = if self.sqlite { "SQLite" } else { "the server" };
        write!(f, "{who} said: {}", self.message)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerSaid {}

impl ServerSaid {
    /// What the server said in a database error, and its code: MySQL's error
    /// number where there is one (what its manual lists), else the SQLSTATE.
    fn of(db: &dyn sqlx::error::DatabaseError) -> ServerSaid {
        let number = db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(|e| e.number().to_string());
        ServerSaid {
            message: db.message().to_owned(),
            code: number.or_else(|| db.code().map(|c| c.into_owned())),
            sqlite: db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some(),
        }
    }
}

/// `e`'s words when it is a database's error: "the server said: MESSAGE
/// (CODE)" ("SQLite said: …" for SQLite), without the driver's decoration
/// (PostgreSQL's "at line N" of its own C source).
pub fn server_said(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(sqlx::Error::Database(db)) = e.downcast_ref::<sqlx::Error>() {
        return Some(ServerSaid::of(db.as_ref()).to_string());
    }
    None
}

/// `e`'s own words when its message repeats its source's (which the error
/// chain prints next): a migration error says only what it was doing.
pub fn own_words(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use sqlx::migrate::MigrateError;
    match e.downcast_ref::<MigrateError>()? {
        MigrateError::Execute(_) => Some("while executing migrations".to_owned()),
        MigrateError::ExecuteMigration(_, version) => {
            Some(format!("while executing migration {version}"))
        }
        _ => None,
    }
}

/// The error of a failed connection to `what`: a database missing on a server
/// that answered says so with how to create it; what a server said is given
/// in its own words.
fn connect_error(what: &str, source: sqlx::Error) -> StoreError {
    let sqlx::Error::Database(db) = &source else {
        return StoreError::Connect {
            what: what.to_owned(),
            source: Box::new(source),
        };
    };
    let said = ServerSaid::of(db.as_ref());
    let mysql_number = db
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(|e| e.number());
    // PostgreSQL's invalid_catalog_name; MySQL's ER_BAD_DB_ERROR.
    let missing = db.code().as_deref() == Some("3D000") || mysql_number == Some(1049);
    if missing && let Some(name) = quoted(&said.message) {
        let create = if mysql_number.is_some() {
            format!("CREATE DATABASE `{name}`")
        } else {
            format!("createdb {name}, or CREATE DATABASE \"{name}\"")
        };
        return StoreError::NoDatabase {
            what: what.to_owned(),
            name,
            create,
        };
    }
    StoreError::Connect {
        what: what.to_owned(),
        source: Box::new(said),
    }
}

/// The first quoted word of a server's message: `database "x" does not
/// exist`, `Unknown database 'x'`.
fn quoted(message: &str) -> Option<String> {
    let start = message.find(['"', '\''])?;
    let quote = message[start..].chars().next()?;
    let rest = &message[start + 1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_owned())
}

/// Connects once, without the pool's retries, so that a refused or unknown
/// server is reported at once with its own reason.
async fn first_connection<C: sqlx::ConnectOptions>(
    opts: &C,
    what: &str,
    within: Duration,
) -> Result<C::Connection, StoreError>
where
    C::Connection: Sized,
{
    match tokio::time::timeout(within, opts.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(source)) => Err(connect_error(what, source)),
        Err(_) => Err(StoreError::ConnectTimeout {
            what: what.to_owned(),
            after: within,
        }),
    }
}

/// Opens a SQLite file. Both pools share the tuning: a page cache and a memory
/// map per connection sized by the options, temporary tables in memory.
///
/// The map is SQLite's `mmap_size`: up to that many bytes of the file are read
/// through a shared read-only mapping instead of `pread` into the page cache.
/// A read of a mapped page whose storage fails (a disk error, a file truncated
/// by another process, a network filesystem gone away) raises SIGBUS and ends
/// the process, where `pread` would have returned an error; `sqlite_mmap_mib`
/// 0 turns the map off.
pub(crate) async fn open_sqlite(
    url: &str,
    options: &StoreOptions,
    mode: Open,
) -> Result<Db<sqlx::Sqlite>, StoreError> {
    let bad = |source| StoreError::BadUrl {
        url: redact(url),
        source,
    };
    let base = SqliteConnectOptions::from_str(url)
        .map_err(bad)?
        .busy_timeout(options.connect_timeout)
        .pragma(
            "cache_size",
            format!("-{}", u64::from(options.sqlite_cache_mib) * 1024),
        )
        .pragma(
            "mmap_size",
            (u64::from(options.sqlite_mmap_mib) * 1024 * 1024).to_string(),
        )
        .pragma("temp_store", "memory")
        // Long statements (bulk upserts, window queries) are the norm here;
        // sqlx's statement log would print each one's full text.
        .disable_statement_logging();
    let file = base.get_filename().to_owned();
    let describe = format!("SQLite database {}", file.display());
    let opts = match mode {
        Open::CreateOrWrite => base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal),
        // Nothing that would write: not even the journal mode.
        Open::Existing => {
            if !file.exists() {
                return Err(StoreError::Missing { path: file });
            }
            base.create_if_missing(false)
        }
    };
    let connect = |source| connect_error(&describe, source);
    // The writer connects first: it creates the file and turns on WAL. Bulk
    // loads touch every page of three indexes: the writer's cache is never
    // smaller than 64 MiB.
    let write_opts = opts.clone().pragma(
        "cache_size",
        format!("-{}", u64::from(options.sqlite_cache_mib.max(64)) * 1024),
    );
    let writes = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.connect_timeout);
    let writes = match mode {
        Open::CreateOrWrite => writes.connect_with(write_opts).await.map_err(connect)?,
        Open::Existing => writes.connect_lazy_with(write_opts),
    };
    let reads = Db::<sqlx::Sqlite>::pool_options(options.read_connections, options)
        .connect_with(opts.row_buffer_size(ROW_BUFFER))
        .await
        .map_err(connect)?;
    Ok(Db::new(
        reads,
        writes,
        Server::default(),
        options,
        describe,
        Some(file),
    ))
}

/// How long the server lets a write transaction sit idle before it ends the
/// session (PostgreSQL, MariaDB): a daemon cut off from the server mid-write
/// holds no lock longer (docs/DAEMON.md, "Two daemons, one mailer").
const IDLE_IN_WRITE: Duration = Duration::from_secs(10);

/// Rows the SQLite worker thread may queue ahead of the reader. The default (50)
/// makes a window of a million touches cost a thread hand-off every few rows.
const ROW_BUFFER: usize = 8_192;

/// Opens a PostgreSQL database.
pub(crate) async fn open_postgres(
    url: &str,
    options: &StoreOptions,
) -> Result<Db<sqlx::Postgres>, StoreError> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|source| StoreError::BadUrl {
            url: redact(url),
            source,
        })?
        .disable_statement_logging();
    let describe = format!(
        "PostgreSQL database {} on {}:{}",
        opts.get_database().unwrap_or("(default)"),
        opts.get_host(),
        opts.get_port()
    );
    let first = first_connection(&opts, &describe, options.connect_timeout).await?;
    // Closed in the background: the pools make their own connections.
    tokio::spawn(first.close());
    let pool = |n, opts: PgConnectOptions| {
        Db::<sqlx::Postgres>::pool_options(n, options).connect_lazy_with(opts)
    };
    // The evaluator's statements run once each: compiling them with JIT costs
    // more (over a second on a million leads) than it saves.
    let reads = opts.clone().options([("jit", "off")]);
    // A write transaction left open by a daemon that can no longer reach the
    // server (a partition) would hold its lock on the leader's lease, and so
    // the next leader's takeover, for as long as the server keeps the dead
    // connection: the server ends such a session after this long.
    let writes = opts.options([(
        "idle_in_transaction_session_timeout",
        format!("{}s", IDLE_IN_WRITE.as_secs()),
    )]);
    Ok(Db::new(
        pool(options.read_connections, reads),
        pool(options.write_connections, writes),
        Server::default(),
        options,
        describe,
        None,
    ))
}

/// Opens a MySQL or MariaDB database. Sessions run in UTC so that nothing the
/// server does with timestamps depends on its configured zone.
pub(crate) async fn open_mysql(
    url: &str,
    options: &StoreOptions,
) -> Result<Db<sqlx::MySql>, StoreError> {
    let opts = MySqlConnectOptions::from_str(&url.replacen("mariadb://", "mysql://", 1))
        .map_err(|source| StoreError::BadUrl {
            url: redact(url),
            source,
        })?
        .timezone(Some("+00:00".into()))
        .disable_statement_logging();
    let describe = format!(
        "MySQL/MariaDB database {} on {}:{}",
        opts.get_database().unwrap_or("(default)"),
        opts.get_host(),
        opts.get_port()
    );
    let mut first = first_connection(&opts, &describe, options.connect_timeout).await?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut first)
        .await
        .map_err(failed::<sqlx::MySql>("asking the server's version"))?;
    tokio::spawn(first.close());
    let server = Server {
        mariadb: version.contains("MariaDB"),
    };
    let pool = |n| MySqlPoolOptions::new().max_connections(u32::max(n, 1));
    let pool = |n| {
        pool(n)
            .acquire_timeout(options.connect_timeout)
            .connect_lazy_with(opts.clone())
    };
    // As on PostgreSQL: a write transaction a partitioned daemon left open
    // must not hold the leader's lease for long. MariaDB ends an idle
    // transaction; MySQL only an idle connection (the pool checks each
    // connection before use and opens another).
    let limit = if server.mariadb {
        format!(
            "SET SESSION idle_transaction_timeout = {}",
            IDLE_IN_WRITE.as_secs()
        )
    } else {
        format!("SET SESSION wait_timeout = {}", IDLE_IN_WRITE.as_secs() * 2)
    };
    let writes = MySqlPoolOptions::new()
        .max_connections(u32::max(options.write_connections, 1))
        .acquire_timeout(options.connect_timeout)
        .after_connect(move |conn, _| {
            let limit = limit.clone();
            Box::pin(async move {
                sqlx::Executor::execute(&mut *conn, sqlx::AssertSqlSafe(limit)).await?;
                Ok(())
            })
        })
        .connect_lazy_with(opts.clone());
    Ok(Db::new(
        pool(options.read_connections),
        writes,
        server,
        options,
        describe,
        None,
    ))
}

/// Reads every row of a built statement, handing each to `each`.
pub(super) async fn stream_rows<DB: Dialect>(
    conn: &mut DB::Connection,
    qb: &mut QueryBuilder<DB>,
    doing: &str,
    mut each: impl FnMut(&DB::Row) -> Result<(), sqlx::Error> + Send,
) -> Result<u64, StoreError> {
    let mut rows = DB::fetch(conn, qb);
    let mut n = 0;
    while let Some(row) = rows.try_next().await.map_err(failed::<DB>(doing))? {
        each(&row).map_err(failed::<DB>(doing))?;
        n += 1;
    }
    Ok(n)
}

impl<DB: Dialect> Ops for Db<DB> {
    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    fn describe(&self) -> &str {
        &self.describe
    }

    fn sqlite_file(&self) -> Option<PathBuf> {
        self.sqlite_file.clone()
    }

    fn statement_timeout(&self) -> Duration {
        self.options.statement_timeout
    }

    fn migrate(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            DB::migrate(&self.writes)
                .await
                .map_err(|source| StoreError::Migrate {
                    what: self.describe.clone(),
                    kind: migrate_kind::<DB>(&source),
                    source,
                })
        })
    }

    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn TxOps>, StoreError>> {
        Box::pin(async move {
            let conn = match self.writes.acquire().await {
                Ok(conn) => conn,
                Err(e) => {
                    return Err(self
                        .cause_of(&self.writes, e, "starting a write transaction")
                        .await);
                }
            };
            let mut tx = DbTx { conn, open: false };
            DB::raw(&mut tx.conn, DB::BEGIN_WRITE)
                .await
                .map_err(failed::<DB>("starting a write transaction"))?;
            tx.open = true;
            Ok(Box::new(tx) as Box<dyn TxOps>)
        })
    }

    fn read(&self, limit: Duration) -> BoxFuture<'_, Result<Box<dyn ReadOps>, StoreError>> {
        Box::pin(async move {
            let doing = "starting a read";
            let deadline = std::time::Instant::now() + limit;
            let tx = match self.reads.begin_with(DB::BEGIN_READ).await {
                Ok(tx) => tx,
                Err(e) => return Err(self.cause_of(&self.reads, e, doing).await),
            };
            Ok(Box::new(DbRead {
                tx,
                deadline,
                server: self.server,
            }) as Box<dyn ReadOps>)
        })
    }

    fn encode(&self, columns: &UpsertColumns, rows: &dyn RowSet) -> Encoded {
        encode_upsert::<DB>(columns, rows)
    }

    fn tidy(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let doing = "refreshing statistics";
            let mut conn = self.writes.acquire().await.map_err(failed::<DB>(doing))?;
            for sql in DB::TIDY {
                let mut qb = QueryBuilder::<DB>::new(*sql);
                DB::execute(&mut conn, &mut qb)
                    .await
                    .map_err(failed::<DB>(doing))?;
            }
            Ok(())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.reads.close().await;
            self.writes.close().await;
        })
    }
}

struct DbRead<DB: Database> {
    tx: Transaction<'static, DB>,
    /// When the whole read must be done: each statement gets what is left.
    deadline: std::time::Instant,
    server: Server,
}

impl<DB: Dialect> DbRead<DB> {
    /// Tells the database how long the next statement may run: whatever is
    /// left of the read's time, so that a read of several statements stops at
    /// its deadline on the server too.
    async fn limit(&mut self, doing: &str) -> Result<(), StoreError> {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(StoreError::Deadline {
                doing: doing.to_owned(),
            });
        }
        DB::limit_statements(&mut self.tx, left, self.server)
            .await
            .map_err(failed::<DB>(doing))
    }
}

impl<DB: Dialect> ReadOps for DbRead<DB> {
    fn count(&mut self, table: Table) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            self.limit("counting").await?;
            let mut qb = QueryBuilder::<DB>::new(format!("SELECT COUNT(*) FROM {}", table.name()));
            let mut n = 0;
            stream_rows(
                &mut *self.tx,
                &mut qb,
                &format!("counting {table}"),
                |row| {
                    n = <DB as Typed<i64>>::get(row, 0)?;
                    Ok(())
                },
            )
            .await?;
            Ok(n)
        })
    }

    fn meta<'a>(&'a mut self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            self.limit("reading metadata").await?;
            state::meta::<DB>(&mut self.tx, key).await
        })
    }

    fn check_lead_tables(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.limit("reading the lead tables").await?;
            for table in Table::ALL {
                let mut qb =
                    QueryBuilder::<DB>::new(format!("SELECT 1 FROM {} WHERE 1 = 0", table.name()));
                stream_rows(
                    &mut *self.tx,
                    &mut qb,
                    &format!("reading table {table}"),
                    |_| Ok(()),
                )
                .await?;
            }
            Ok(())
        })
    }

    fn state<'a>(
        &'a mut self,
        what: &'a StateRead,
        each: &'a mut (dyn FnMut(StateItem) + Send),
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.limit(what.doing()).await?;
            state::read::<DB>(&mut self.tx, what, each).await
        })
    }

    fn rep_names<'a>(
        &'a mut self,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<std::collections::BTreeMap<String, String>, StoreError>> {
        Box::pin(async move {
            let doing = "reading the names of reps";
            self.limit(doing).await?;
            let mut names = std::collections::BTreeMap::new();
            for chunk in ids.chunks(DB::IDS_PER_STATEMENT) {
                let mut qb = QueryBuilder::<DB>::new("SELECT id, name FROM reps WHERE ");
                DB::push_id_in(&mut qb, "id", chunk);
                stream_rows(&mut *self.tx, &mut qb, doing, |row| {
                    let id = <DB as Typed<String>>::get(row, 0)?;
                    let name = <DB as Typed<Option<String>>>::get(row, 1)?;
                    names.insert(id, name.unwrap_or_default());
                    Ok(())
                })
                .await?;
            }
            Ok(names)
        })
    }

    fn ask<'a>(
        &'a mut self,
        question: Question,
        each: &'a mut (dyn FnMut(Vec<Cell>) + Send),
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.limit(question.doing()).await?;
            let started = std::time::Instant::now();
            let mut qb = QueryBuilder::<DB>::new("");
            question.build(&mut qb);
            let columns = question.columns();
            // Rows are decoded as they stream in and handed on at once.
            let rows = stream_rows(&mut *self.tx, &mut qb, question.doing(), |row| {
                each(decode_row::<DB>(row, columns)?);
                Ok(())
            })
            .await?;
            tracing::debug!(target: "handoff::store", rows, elapsed = ?started.elapsed(), "Done {}.", question.doing());
            Ok(())
        })
    }

    fn replica_lag(&mut self) -> BoxFuture<'_, Result<LagReading, StoreError>> {
        Box::pin(async move {
            let doing = DB::REPLICA_LAG_DOING;
            self.limit(doing).await?;
            DB::replica_lag(&mut self.tx)
                .await
                .map_err(failed::<DB>(doing))
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            // Nothing was written; rolling back ends the snapshot the same way.
            self.tx
                .rollback()
                .await
                .map_err(failed::<DB>("ending a read"))
        })
    }
}

/// One write transaction on a connection of the write pool, begun and ended
/// by plain statements. A connection whose transaction did not end in a
/// successful COMMIT or ROLLBACK (a failed write, a full disk, a future given up
/// on) is closed rather than given back: the database rolls back what it held,
/// and the next write starts on a fresh connection, never inside a transaction
/// left open.
struct DbTx<DB: Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    /// BEGIN succeeded and neither COMMIT nor ROLLBACK has.
    open: bool,
}

impl<DB: Database> Drop for DbTx<DB> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

impl<DB: Dialect> TxOps for DbTx<DB> {
    fn encode(&self, columns: &UpsertColumns, rows: &dyn RowSet) -> Encoded {
        encode_upsert::<DB>(columns, rows)
    }

    fn execute(&mut self, encoded: Encoded) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let doing = format!("writing {}", encoded.table);
            DB::write_rows(&mut *self.conn, encoded.rows)
                .await
                .map_err(failed::<DB>(doing))
        })
    }

    fn existing_ids<'a>(
        &'a mut self,
        table: Table,
        ids: &'a [&'a str],
    ) -> BoxFuture<'a, Result<HashSet<String>, StoreError>> {
        Box::pin(async move {
            let doing = format!("looking up ids in {table}");
            let mut found = HashSet::with_capacity(ids.len());
            for chunk in ids.chunks(DB::IDS_PER_STATEMENT) {
                let mut qb = id_lookup::<DB>(table, chunk);
                stream_rows(&mut *self.conn, &mut qb, &doing, |row| {
                    found.insert(<DB as Typed<String>>::get(row, 0)?);
                    Ok(())
                })
                .await?;
            }
            Ok(found)
        })
    }

    fn delete_lead_data(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            for table in Table::ALL.iter().rev() {
                let mut qb = QueryBuilder::<DB>::new(format!("DELETE FROM {}", table.name()));
                DB::execute(&mut *self.conn, &mut qb)
                    .await
                    .map_err(failed::<DB>(format!("deleting {table}")))?;
            }
            Ok(())
        })
    }

    fn delete_daemon_state(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(state::delete_daemon_state::<DB>(&mut *self.conn))
    }

    fn record<'a>(
        &'a mut self,
        journal: &'a Journal,
        fence: Option<i64>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if let Some(token) = fence {
                super::lease::check::<DB>(&mut *self.conn, token).await?;
            }
            state::record::<DB>(&mut *self.conn, journal).await
        })
    }

    fn claim<'a>(
        &'a mut self,
        holder: &'a str,
        token: Option<i64>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<super::Claim, StoreError>> {
        Box::pin(super::lease::claim::<DB>(
            &mut *self.conn,
            holder,
            token,
            ttl,
        ))
    }

    fn release<'a>(
        &'a mut self,
        holder: &'a str,
        token: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(super::lease::release::<DB>(&mut *self.conn, holder, token))
    }

    fn set_meta<'a>(
        &'a mut self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(state::set_meta::<DB>(&mut *self.conn, name, value))
    }

    fn delete_meta<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(state::delete_meta::<DB>(&mut *self.conn, name))
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            DB::raw(&mut self.conn, "COMMIT")
                .await
                .map_err(failed::<DB>("committing"))?;
            self.open = false;
            Ok(())
        })
    }

    fn rollback(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            DB::raw(&mut self.conn, "ROLLBACK")
                .await
                .map_err(failed::<DB>("rolling back"))?;
            self.open = false;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's own limit on a memory map in this build (`SQLITE_MAX_MMAP_SIZE`,
    /// 2 GiB less 64 KiB on Linux): it takes a larger `mmap_size` as this.
    const SQLITE_MAX_MMAP_SIZE: i64 = 0x7fff_0000;

    async fn pragma(pool: &Pool<sqlx::Sqlite>, name: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
            .fetch_one(pool)
            .await
            .unwrap()
    }

    /// The defaults reach SQLite on every connection: the read connections map
    /// the whole file (as much as SQLite allows) and keep a small page cache;
    /// the writer maps it too, with a cache of at least 64 MiB for bulk loads.
    #[tokio::test]
    async fn sqlite_connections_take_the_default_cache_and_map() {
        let file =
            std::env::temp_dir().join(format!("handoff-store-defaults-{}.db", std::process::id()));
        let url = format!("sqlite://{}", file.display());
        let options = StoreOptions::default();
        let db = open_sqlite(&url, &options, Open::CreateOrWrite)
            .await
            .unwrap();
        let mapped = (i64::from(options.sqlite_mmap_mib) * 1024 * 1024).min(SQLITE_MAX_MMAP_SIZE);
        assert_eq!(
            mapped, SQLITE_MAX_MMAP_SIZE,
            "the default maps all SQLite allows"
        );
        assert_eq!(pragma(&db.reads, "mmap_size").await, mapped);
        assert_eq!(pragma(&db.writes, "mmap_size").await, mapped);
        let cache_kib = i64::from(options.sqlite_cache_mib) * 1024;
        assert_eq!(pragma(&db.reads, "cache_size").await, -cache_kib);
        assert_eq!(
            pragma(&db.writes, "cache_size").await,
            -cache_kib.max(64 * 1024)
        );
        // --sqlite-mmap-mib 0 reads through system calls.
        let unmapped = StoreOptions {
            sqlite_mmap_mib: 0,
            ..options
        };
        let db = open_sqlite(&url, &unmapped, Open::Existing).await.unwrap();
        assert_eq!(pragma(&db.reads, "mmap_size").await, 0);
        db.reads.close().await;
        db.writes.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}
