//! What really differs between SQLite, PostgreSQL and MySQL/MariaDB, in one trait,
//! and the sqlx plumbing every backend shares, written once.
//!
//! Everything else in the store is generic over [`Dialect`]: a statement is built
//! once with sqlx's `QueryBuilder`, which numbers placeholders the way each
//! backend wants (`?` or `$1`), and runs on whichever pool the store holds.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::query_builder::Separated;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, MySql, Pool, Postgres,
    QueryBuilder, Row as _, Sqlite, Type,
};

use std::any::Any;
use std::fmt::Write as _;

use super::write::{RowSet, UpsertColumns};
use super::{Backend, sqlite_time};
use crate::model::Value;

/// One Rust type that binds and decodes on a backend. The blanket impl holds
/// sqlx's bounds, so that generic code needs only `DB: Dialect`.
pub(crate) trait Typed<T>: Database {
    /// Binds `value` as the next parameter.
    fn bind(qb: &mut QueryBuilder<Self>, value: T);
    /// Binds `value` as the next element of a separated list (a `VALUES` tuple).
    fn bind_sep(sep: &mut Separated<'_, Self, &'static str>, value: T);
    /// Decodes column `i` of `row`.
    fn get(row: &Self::Row, i: usize) -> Result<T, sqlx::Error>;
}

impl<DB, T> Typed<T> for DB
where
    DB: Database,
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    fn bind(qb: &mut QueryBuilder<Self>, value: T) {
        qb.push_bind(value);
    }

    fn bind_sep(sep: &mut Separated<'_, Self, &'static str>, value: T) {
        sep.push_bind(value);
    }

    fn get(row: &Self::Row, i: usize) -> Result<T, sqlx::Error> {
        row.try_get(i)
    }
}

/// Running built statements on a connection, for every backend alike.
pub(crate) trait Run: Database {
    /// Executes a statement, discarding any rows.
    fn execute<'c>(
        conn: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<Self>,
    ) -> BoxFuture<'c, Result<Self::QueryResult, sqlx::Error>>;

    /// Executes a statement and streams its rows.
    fn fetch<'c>(
        conn: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<Self>,
    ) -> BoxStream<'c, Result<Self::Row, sqlx::Error>>;
}

impl<DB> Run for DB
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    fn execute<'c>(
        conn: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<Self>,
    ) -> BoxFuture<'c, Result<Self::QueryResult, sqlx::Error>> {
        Box::pin(qb.build().execute(conn))
    }

    fn fetch<'c>(
        conn: &'c mut Self::Connection,
        qb: &'c mut QueryBuilder<Self>,
    ) -> BoxStream<'c, Result<Self::Row, sqlx::Error>> {
        qb.build().fetch(conn)
    }
}

/// What a read replica says of how far behind its primary it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LagReading {
    /// Seconds: 0 for a database that is not a replica, or a replica that
    /// has applied everything its primary sent; `None` when it cannot say
    /// (replication stopped, or never started).
    pub seconds: Option<f64>,
    /// Where its replay stands, when it holds changes it has received and
    /// not yet applied. `seconds` is then the age of the last transaction it
    /// applied: a bound that a replica idle for a while and now replaying a
    /// moment's new changes overstates, until it has applied them.
    pub replaying: Option<String>,
}

impl LagReading {
    /// A reading of `seconds` with nothing known of the replay.
    pub fn settled(seconds: Option<f64>) -> LagReading {
        LagReading {
            seconds,
            replaying: None,
        }
    }
}

/// The differences between the backends, and nothing else.
pub(crate) trait Dialect:
    Database
    + Run
    + Typed<String>
    + Typed<Option<String>>
    + Typed<i64>
    + Typed<Option<i64>>
    + Typed<f64>
    + Typed<Option<f64>>
    + Typed<bool>
    + Typed<Option<bool>>
{
    /// Which backend this is, for messages.
    const BACKEND: Backend;

    /// The most bind parameters one statement may carry.
    const MAX_PARAMS: usize;

    /// The statement that opens a write transaction.
    const BEGIN_WRITE: &'static str;

    /// The statement that opens a read-only transaction: one consistent view of
    /// the data for every query of one objective.
    const BEGIN_READ: &'static str;

    /// Applies this backend's schema migrations; returns how many it applied.
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<u64, MigrateError>>;

    /// Binds a timestamp the way this backend stores it.
    fn bind_time(qb: &mut QueryBuilder<Self>, t: Option<DateTime<Utc>>);

    /// Binds a timestamp as the next element of a separated list.
    fn bind_time_sep(sep: &mut Separated<'_, Self, &'static str>, t: Option<DateTime<Utc>>);

    /// Decodes a timestamp column.
    fn get_time(row: &Self::Row, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error>;

    /// An SQL expression for `expr`, an amount column, as exact integer cents.
    fn cents(expr: &str) -> String {
        Self::int(&format!("ROUND({expr} * 100)"))
    }

    /// `expr`, a text expression, to be ordered by its bytes whatever the
    /// column's collation, so that every backend ranks ids alike.
    fn bytewise(expr: &str) -> String;

    /// Whether each lead's touches and conversion deal are read through
    /// `LATERAL` joins: one probe of `touches(lead_id, occurred_at)` gives a
    /// lead's attempts and whether it ever connected, one probe of
    /// `deals(lead_id)` its conversion deal's date and amount. PostgreSQL
    /// does; there the correlated subqueries of the other form were turned
    /// into a hash anti-join over every connected touch of the history (a
    /// sequential scan of `touches`, whatever the window) and the conversion
    /// deal was looked up three times per lead (its date for the comparison
    /// with the touches, its amount again for the sort and for the sum).
    /// MariaDB has no `LATERAL`, and SQLite runs correlated subqueries per
    /// lead anyway.
    const LATERAL: bool = false;

    /// What follows `WITH name AS` for a common table expression whose rows
    /// carry a correlated subquery (a lead's attempts) and feed a window
    /// function: SQLite otherwise evaluates the subquery again for the
    /// window's sort; materialized, once per lead (a sixth less time on a
    /// million leads, for memory that holds the window's leads).
    /// PostgreSQL reads the attempts through a `LATERAL` join instead
    /// ([`Dialect::LATERAL`]); MySQL has no such hint.
    fn materialized() -> &'static str {
        ""
    }

    /// Ends a subquery whose correlated columns (a lead's conversion deal) a
    /// later subquery compares with every touch: SQLite would fold it into
    /// the statement that reads it and evaluate those columns again for each
    /// touch; `LIMIT -1` (no limit) keeps it a co-routine that streams each
    /// lead's row once, holding nothing. PostgreSQL joins the deal `LATERAL`
    /// instead; MySQL has no such hint.
    fn streamed() -> &'static str {
        ""
    }

    /// An SQL expression for `expr`, an integer expression, as a signed 64-bit
    /// integer (PostgreSQL sums integers as `numeric`, MySQL as `DECIMAL`).
    fn int(expr: &str) -> String;

    /// Appends the clause that turns `INSERT … VALUES …` into an upsert on the
    /// primary key `key`, updating the given columns.
    fn push_upsert(qb: &mut QueryBuilder<Self>, key: &str, update: &[&str]);

    /// Statements that refresh the planner's statistics of the lead tables and
    /// leave the database compact, run after bulk loads.
    const TIDY: &'static [&'static str];

    /// Whether a database error says a statement was stopped by the limit of
    /// [`Dialect::limit_statements`].
    fn is_timeout(e: &dyn sqlx::error::DatabaseError) -> bool;

    /// Runs one statement as plain text (no prepared statement): BEGIN,
    /// COMMIT, ROLLBACK.
    fn raw<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;

    /// Whether a database error says the database cannot store anything now:
    /// a full disk, an I/O error, a read-only database.
    fn is_storage(e: &dyn sqlx::error::DatabaseError) -> bool;

    /// Whether a database error says the connection or the server went away.
    fn is_unreachable(e: &dyn sqlx::error::DatabaseError) -> bool;

    /// Whether a database error says a table the schema promises is missing.
    fn is_missing_table(e: &dyn sqlx::error::DatabaseError) -> bool;

    /// Bounds every statement on `conn` from now on by `limit`, enforced by the
    /// server (or, on SQLite, by the engine itself), so that a statement the
    /// caller gave up on does not run on.
    fn limit_statements<'c>(
        conn: &'c mut Self::Connection,
        limit: Duration,
        server: Server,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;

    /// How far behind its primary this database is, by its own account,
    /// asked on `conn` (inside the read transaction, before the lead queries).
    fn replica_lag(conn: &mut Self::Connection) -> BoxFuture<'_, Result<LagReading, sqlx::Error>>;

    /// What asking [`Dialect::replica_lag`] is, for error messages (and what
    /// the role needs for it, where that is a grant of its own).
    const REPLICA_LAG_DOING: &'static str;

    /// Encodes an upsert of canonical rows, without a connection. By default,
    /// multi-row `INSERT … ON CONFLICT` statements.
    fn encode_rows(columns: &UpsertColumns, rows: &dyn RowSet) -> Box<dyn Any + Send> {
        Box::new(insert_statements::<Self>(columns, rows))
    }

    /// Writes what [`Dialect::encode_rows`] made.
    fn write_rows<'c>(
        conn: &'c mut Self::Connection,
        encoded: Box<dyn Any + Send>,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let statements = downcast::<Vec<QueryBuilder<Self>>>(encoded)?;
            for mut qb in statements {
                Self::execute(&mut *conn, &mut qb).await?;
            }
            Ok(())
        })
    }

    /// Appends `column IN (…)` for at most [`ROWS_PER_STATEMENT`] ids, or the
    /// backend's better form of it.
    fn push_id_in(qb: &mut QueryBuilder<Self>, column: &str, ids: &[&str]) {
        qb.push(format_args!("{column} IN ("));
        let mut sep = qb.separated(", ");
        for id in ids {
            Self::bind_sep(&mut sep, (*id).to_owned());
        }
        qb.push(")");
    }

    /// How many ids [`Dialect::push_id_in`] takes at once.
    const IDS_PER_STATEMENT: usize = ROWS_PER_STATEMENT;

    /// Binds one column value of a canonical row as the next element of a
    /// `VALUES (…)` tuple.
    fn bind_value(sep: &mut Separated<'_, Self, &'static str>, value: Value<'_>) {
        match value {
            Value::Text(s) => Self::bind_sep(sep, s.map(str::to_owned)),
            Value::Timestamp(t) => Self::bind_time_sep(sep, t),
            Value::Real(x) => Self::bind_sep(sep, x),
            // Cents are bound as an integer and divided in SQL, so every backend
            // turns the same exact integer into its own number type (an exact
            // DECIMAL division on PostgreSQL and MySQL).
            Value::Amount(c) => {
                Self::bind_sep(sep, c);
                sep.push_unseparated(" / 100.0");
            }
            Value::Bool(b) => Self::bind_sep(sep, b),
        }
    }
}

/// Rows per `INSERT` statement: enough to amortise the round trip, few enough
/// that the statement stays small and within every backend's parameter limit.
pub(crate) const ROWS_PER_STATEMENT: usize = 2000;

/// Multi-row `INSERT … VALUES … ON CONFLICT` statements for `rows`.
fn insert_statements<DB: Dialect>(
    columns: &UpsertColumns,
    rows: &dyn RowSet,
) -> Vec<QueryBuilder<DB>> {
    let names = columns.names();
    let per_statement = (DB::MAX_PARAMS / names.len()).min(ROWS_PER_STATEMENT);
    let head = format!(
        "INSERT INTO {} ({}) ",
        columns.table().name(),
        names.join(", ")
    );
    let mut statements = Vec::new();
    let mut from = 0;
    while from < rows.len() {
        let to = (from + per_statement).min(rows.len());
        let mut qb = QueryBuilder::<DB>::new(head.as_str());
        qb.push_values(from..to, |mut sep, row| {
            columns.visit(rows, row, &mut |value| DB::bind_value(&mut sep, value));
        });
        DB::push_upsert(&mut qb, "id", &names[1..]);
        statements.push(qb);
        from = to;
    }
    statements
}

/// The encoded rows as the type their backend made, or an error if another
/// backend made them.
fn downcast<T: 'static>(encoded: Box<dyn Any + Send>) -> Result<T, sqlx::Error> {
    encoded
        .downcast::<T>()
        .map(|b| *b)
        .map_err(|_| sqlx::Error::Configuration("rows encoded for another backend".into()))
}

/// What the store learnt about the server when it connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Server {
    /// A MariaDB server, whose statement limit is `max_statement_time` (seconds),
    /// where MySQL's is `max_execution_time` (milliseconds).
    pub mariadb: bool,
}

/// `ON CONFLICT (key) DO UPDATE`, shared by SQLite and PostgreSQL.
fn on_conflict<DB: Database>(qb: &mut QueryBuilder<DB>, key: &str, update: &[&str]) {
    if update.is_empty() {
        qb.push(format_args!(" ON CONFLICT ({key}) DO NOTHING"));
        return;
    }
    qb.push(format_args!(" ON CONFLICT ({key}) DO UPDATE SET "));
    for (i, c) in update.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push(format_args!("{c} = excluded.{c}"));
    }
}

fn bad_time(i: usize, s: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: format!("`{s}` is not a timestamp").into(),
    }
}

/// Milliseconds for a server setting, at least 1 (0 would mean "no limit").
fn millis(limit: Duration) -> u128 {
    limit.as_millis().max(1)
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/mysql");

/// Applies what `migrator` holds that the database has not applied yet.
///
/// A database that has applied every migration, each with the checksum it
/// has here, is left alone without a statement that needs more than read
/// access to `_sqlx_migrations`: sqlx's own run starts with `CREATE TABLE IF
/// NOT EXISTS`, which a role without the right to create tables is refused
/// even when the table exists, and the daemon's least-privilege role
/// (docs/DEPLOY.md) must still start. The checks it would make are made here
/// too: a migration applied but changed since, or one this release does not
/// know, is an error, never skipped; one left half done goes to sqlx's run.
/// Returns how many migrations it applied.
async fn migrate_if_pending<DB>(
    migrator: &'static Migrator,
    pool: &Pool<DB>,
) -> Result<u64, MigrateError>
where
    DB: Database,
    DB::Connection: sqlx::migrate::Migrate,
{
    use sqlx::migrate::Migrate as _;
    let mut conn = pool.acquire().await?;
    let table = &migrator.table_name;
    // No table yet (or it cannot be read): sqlx's run creates it, or says why
    // not. A migration marked unfinished may be one another process is
    // applying right now (MySQL commits the mark first): sqlx's run waits
    // for its lock and looks again.
    let before = match conn.list_applied_migrations(table).await {
        Ok(applied) if conn.dirty_version(table).await?.is_none() => {
            let known: std::collections::HashMap<i64, &[u8]> = migrator
                .iter()
                .filter(|m| !m.migration_type.is_down_migration())
                .map(|m| (m.version, m.checksum.as_ref()))
                .collect();
            for a in &applied {
                match known.get(&a.version) {
                    None => return Err(MigrateError::VersionMissing(a.version)),
                    Some(checksum) if *checksum != a.checksum.as_ref() => {
                        return Err(MigrateError::VersionMismatch(a.version));
                    }
                    Some(_) => {}
                }
            }
            if applied.len() == known.len() {
                return Ok(0);
            }
            applied.len()
        }
        Ok(applied) => applied.len(),
        Err(_) => 0,
    };
    migrator.run_direct(None, &mut *conn, false).await?;
    let after = conn.list_applied_migrations(table).await?.len();
    Ok(after.saturating_sub(before) as u64)
}

impl Dialect for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
    // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite.
    const MAX_PARAMS: usize = 32_766;
    // IMMEDIATE takes the write lock up front: a transaction that reads first and
    // writes later could otherwise fail on a snapshot another writer moved past,
    // which the busy timeout does not retry.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // A deferred transaction: its snapshot is taken at the first read and kept.
    const BEGIN_READ: &'static str = "BEGIN";
    // A sampled ANALYZE (fast on millions of rows), then the write-ahead log
    // folded into the database file, so that the file alone is whole.
    const TIDY: &'static [&'static str] = &[
        "PRAGMA analysis_limit = 1000",
        "ANALYZE",
        "PRAGMA wal_checkpoint(TRUNCATE)",
    ];

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<u64, MigrateError>> {
        Box::pin(migrate_if_pending(&SQLITE_MIGRATIONS, pool))
    }

    fn bind_time(qb: &mut QueryBuilder<Self>, t: Option<DateTime<Utc>>) {
        qb.push_bind(t.map(sqlite_time::format));
    }

    fn bind_time_sep(sep: &mut Separated<'_, Self, &'static str>, t: Option<DateTime<Utc>>) {
        sep.push_bind(t.map(sqlite_time::format));
    }

    fn get_time(row: &Self::Row, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let s: Option<String> = row.try_get(i)?;
        s.map(|s| sqlite_time::parse(&s).ok_or_else(|| bad_time(i, &s)))
            .transpose()
    }

    fn int(expr: &str) -> String {
        format!("CAST({expr} AS INTEGER)")
    }

    // SQLite's default collation compares bytes.
    fn bytewise(expr: &str) -> String {
        expr.to_owned()
    }

    fn materialized() -> &'static str {
        "MATERIALIZED "
    }

    fn streamed() -> &'static str {
        " LIMIT -1"
    }

    fn push_upsert(qb: &mut QueryBuilder<Self>, key: &str, update: &[&str]) {
        on_conflict(qb, key, update);
    }

    fn is_timeout(e: &dyn sqlx::error::DatabaseError) -> bool {
        // SQLITE_INTERRUPT, raised when the progress handler says stop.
        e.code().as_deref() == Some("9")
    }

    fn raw<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql(sql).execute(conn).await.map(|_| ()) })
    }

    fn is_storage(e: &dyn sqlx::error::DatabaseError) -> bool {
        // The primary result code (the low byte of the extended one):
        // READONLY, IOERR, FULL.
        let code = e.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
        matches!(code & 0xff, 8 | 10 | 13)
    }

    fn is_unreachable(e: &dyn sqlx::error::DatabaseError) -> bool {
        // BUSY, LOCKED, CANTOPEN, NOTADB: the file cannot be got at.
        let code = e.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
        matches!(code & 0xff, 5 | 6 | 14 | 26)
    }

    fn is_missing_table(e: &dyn sqlx::error::DatabaseError) -> bool {
        e.message().starts_with("no such table")
    }

    fn limit_statements<'c>(
        conn: &'c mut Self::Connection,
        limit: Duration,
        _server: Server,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            // SQLite has no server to cancel a statement: the engine calls this
            // handler every few thousand instructions and interrupts the statement
            // (SQLITE_INTERRUPT) once the deadline has passed.
            let deadline = std::time::Instant::now() + limit;
            conn.lock_handle()
                .await?
                .set_progress_handler(10_000, move || std::time::Instant::now() < deadline);
            Ok(())
        })
    }

    const REPLICA_LAG_DOING: &'static str = "asking the read database how far behind it is";

    fn replica_lag(_conn: &mut Self::Connection) -> BoxFuture<'_, Result<LagReading, sqlx::Error>> {
        // A file has no primary: a copy of it is as current as it is.
        Box::pin(async { Ok(LagReading::settled(Some(0.0))) })
    }
}

/// Canonical rows of one table as COPY text data, with what the merge needs.
struct CopyBatch {
    table: &'static str,
    names: Vec<&'static str>,
    /// The rows' ids, to learn whether any already exists.
    ids: Vec<String>,
    data: Vec<u8>,
}

/// Appends one value in COPY's text format: `\N` for null, and the characters
/// that frame rows and columns escaped.
fn copy_field(out: &mut Vec<u8>, value: Value<'_>) {
    let mut text = String::new();
    let s: Option<&str> = match value {
        Value::Text(s) => s,
        // The same fixed-width RFC 3339 the SQLite store keeps, written by
        // hand: chrono's general formatter costs more than the rest of a row.
        Value::Timestamp(t) => t.map(|t| {
            text = sqlite_time::format(t);
            text.as_str()
        }),
        Value::Real(x) => x.map(|x| {
            let _ = write!(text, "{x}");
            text.as_str()
        }),
        Value::Amount(c) => {
            let sign = if c < 0 { "-" } else { "" };
            let c = c.unsigned_abs();
            let _ = write!(text, "{sign}{}.{:02}", c / 100, c % 100);
            Some(text.as_str())
        }
        Value::Bool(b) => b.map(|b| if b { "t" } else { "f" }),
    };
    let Some(s) = s else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

/// Appends `column IN (SELECT unnest($n))`, the ids one array parameter.
///
/// Not `= ANY($n)`: once a prepared statement runs on its generic plan (from
/// the sixth execution), `= ANY` on a table without statistics yet (reps,
/// looked up for every batch of an import before its closing ANALYZE) becomes
/// a sequential scan that searches the array row by row: 12 ms a batch for
/// 1,039 reps, 8 of the 62 s of a 2M-lead import. The semi-join hashes the
/// ids, or probes the primary key of a large table.
fn push_ids_in(qb: &mut QueryBuilder<Postgres>, column: &str, ids: Vec<String>) {
    qb.push(format_args!("{column} IN (SELECT unnest("));
    qb.push_bind(ids);
    qb.push("))");
}

impl Dialect for Postgres {
    const BACKEND: Backend = Backend::Postgres;
    const MAX_PARAMS: usize = 65_535;
    const BEGIN_WRITE: &'static str = "BEGIN";
    const BEGIN_READ: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    const TIDY: &'static [&'static str] = &["ANALYZE reps, leads, touches, deals"];
    const LATERAL: bool = true;

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<u64, MigrateError>> {
        Box::pin(migrate_if_pending(&POSTGRES_MIGRATIONS, pool))
    }

    // Bulk writes go through COPY into a temporary table, then one
    // INSERT … SELECT … ON CONFLICT: several times faster than INSERT statements.
    fn encode_rows(columns: &UpsertColumns, rows: &dyn RowSet) -> Box<dyn Any + Send> {
        let mut data = Vec::with_capacity(rows.len() * 64);
        let mut ids = Vec::with_capacity(rows.len());
        for row in 0..rows.len() {
            let mut first = true;
            columns.visit(rows, row, &mut |value| {
                if std::mem::take(&mut first) {
                    // `id` comes first.
                    if let Value::Text(Some(id)) = value {
                        ids.push(id.to_owned());
                    }
                } else {
                    data.push(b'\t');
                }
                copy_field(&mut data, value);
            });
            data.push(b'\n');
        }
        Box::new(CopyBatch {
            table: columns.table().name(),
            names: columns.names(),
            ids,
            data,
        })
    }

    fn write_rows<'c>(
        conn: &'c mut Self::Connection,
        encoded: Box<dyn Any + Send>,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let batch = downcast::<CopyBatch>(encoded)?;
            if batch.data.is_empty() {
                return Ok(());
            }
            let (table, cols) = (batch.table, batch.names.join(", "));
            // Rows that are all new go straight into the table, as a bulk load
            // does; only a batch that updates rows goes through the merge.
            let mut probe =
                QueryBuilder::<Self>::new(format!("SELECT COUNT(*) FROM {table} WHERE "));
            push_ids_in(&mut probe, "id", batch.ids);
            let existing: i64 = probe.build_query_scalar().fetch_one(&mut *conn).await?;
            if existing == 0 {
                let mut copy = conn
                    .copy_in_raw(&format!("COPY {table} ({cols}) FROM STDIN"))
                    .await?;
                copy.send(batch.data).await?;
                copy.finish().await?;
                return Ok(());
            }
            let stage = format!("handoff_stage_{table}");
            let setup = format!(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DROP; TRUNCATE {stage}"
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
                .execute(&mut *conn)
                .await?;
            let mut copy = conn
                .copy_in_raw(&format!("COPY {stage} ({cols}) FROM STDIN"))
                .await?;
            copy.send(batch.data).await?;
            copy.finish().await?;
            let mut qb = QueryBuilder::<Self>::new(format!(
                "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}"
            ));
            Self::push_upsert(&mut qb, "id", &batch.names[1..]);
            Self::execute(&mut *conn, &mut qb).await?;
            Ok(())
        })
    }

    // One array parameter instead of thousands: cheaper to send, parse and plan.
    const IDS_PER_STATEMENT: usize = 100_000;

    fn push_id_in(qb: &mut QueryBuilder<Self>, column: &str, ids: &[&str]) {
        push_ids_in(qb, column, ids.iter().map(|id| (*id).to_owned()).collect());
    }

    fn bind_time(qb: &mut QueryBuilder<Self>, t: Option<DateTime<Utc>>) {
        qb.push_bind(t);
    }

    fn bind_time_sep(sep: &mut Separated<'_, Self, &'static str>, t: Option<DateTime<Utc>>) {
        sep.push_bind(t);
    }

    fn get_time(row: &Self::Row, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        row.try_get(i)
    }

    fn int(expr: &str) -> String {
        format!("CAST({expr} AS BIGINT)")
    }

    fn bytewise(expr: &str) -> String {
        format!("{expr} COLLATE \"C\"")
    }

    fn push_upsert(qb: &mut QueryBuilder<Self>, key: &str, update: &[&str]) {
        on_conflict(qb, key, update);
    }

    fn is_timeout(e: &dyn sqlx::error::DatabaseError) -> bool {
        // query_canceled: statement_timeout, or a cancel request.
        e.code().as_deref() == Some("57014")
    }

    fn raw<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql(sql).execute(conn).await.map(|_| ()) })
    }

    fn is_storage(e: &dyn sqlx::error::DatabaseError) -> bool {
        // disk_full, io_error, and a write on a read-only transaction or a
        // hot standby (read_only_sql_transaction).
        e.code()
            .is_some_and(|c| matches!(&*c, "53100" | "58030" | "25006"))
    }

    fn is_unreachable(e: &dyn sqlx::error::DatabaseError) -> bool {
        // Connection exceptions (class 08); the server shutting down or the
        // session terminated (57P01–57P03).
        e.code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03"))
    }

    fn is_missing_table(e: &dyn sqlx::error::DatabaseError) -> bool {
        // undefined_table
        e.code().as_deref() == Some("42P01")
    }

    fn limit_statements<'c>(
        conn: &'c mut Self::Connection,
        limit: Duration,
        _server: Server,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            // The server cancels a statement that runs longer (SQLSTATE 57014).
            let sql = format!("SET statement_timeout = {}", millis(limit));
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    const REPLICA_LAG_DOING: &'static str =
        "asking the read replica how far behind its primary it is (pg_last_wal_replay_lsn)";

    fn replica_lag(conn: &mut Self::Connection) -> BoxFuture<'_, Result<LagReading, sqlx::Error>> {
        Box::pin(async move {
            // Not in recovery: the primary itself. A standby connected to its
            // primary (a WAL receiver runs) that has replayed all it received
            // is current, however long ago the primary last wrote. Otherwise
            // the age of the last transaction it replayed: null when it has
            // replayed none since it started. The second column is the replay
            // position while received WAL waits to be replayed.
            const LAG: &str = "SELECT CASE \
                WHEN NOT pg_is_in_recovery() THEN 0 \
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() \
                    AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0 \
                ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) \
                END::float8, \
                CASE WHEN pg_is_in_recovery() \
                    AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() \
                    THEN pg_last_wal_replay_lsn()::text END";
            let (seconds, replaying) = sqlx::query_as::<_, (Option<f64>, Option<String>)>(LAG)
                .fetch_one(conn)
                .await?;
            Ok(LagReading { seconds, replaying })
        })
    }
}

impl Dialect for MySql {
    const BACKEND: Backend = Backend::MySql;
    const MAX_PARAMS: usize = 65_535;
    const BEGIN_WRITE: &'static str = "BEGIN";
    const BEGIN_READ: &'static str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
    const TIDY: &'static [&'static str] = &["ANALYZE TABLE reps, leads, touches, deals"];

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<u64, MigrateError>> {
        Box::pin(migrate_if_pending(&MYSQL_MIGRATIONS, pool))
    }

    // DATETIME(6) holds the UTC wall clock; binding the naive value keeps the
    // server from applying any zone conversion.
    fn bind_time(qb: &mut QueryBuilder<Self>, t: Option<DateTime<Utc>>) {
        qb.push_bind(t.map(|t| t.naive_utc()));
    }

    fn bind_time_sep(sep: &mut Separated<'_, Self, &'static str>, t: Option<DateTime<Utc>>) {
        sep.push_bind(t.map(|t| t.naive_utc()));
    }

    fn get_time(row: &Self::Row, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(row
            .try_get::<Option<NaiveDateTime>, _>(i)?
            .map(|n| n.and_utc()))
    }

    fn int(expr: &str) -> String {
        format!("CAST({expr} AS SIGNED)")
    }

    fn bytewise(expr: &str) -> String {
        format!("CAST({expr} AS BINARY)")
    }

    fn push_upsert(qb: &mut QueryBuilder<Self>, key: &str, update: &[&str]) {
        qb.push(" ON DUPLICATE KEY UPDATE ");
        if update.is_empty() {
            // A no-op on one column of the key (the whole list of a composite
            // key is not an assignment).
            let first = key.split(',').next().unwrap_or(key).trim();
            qb.push(format_args!("{first} = {first}"));
            return;
        }
        for (i, c) in update.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            qb.push(format_args!("{c} = VALUES({c})"));
        }
    }

    fn is_timeout(e: &dyn sqlx::error::DatabaseError) -> bool {
        // MariaDB's ER_STATEMENT_TIMEOUT, MySQL's ER_QUERY_TIMEOUT, and a query
        // interrupted (ER_QUERY_INTERRUPTED).
        e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1969 | 3024 | 1317))
    }

    fn raw<'c>(
        conn: &'c mut Self::Connection,
        sql: &'static str,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql(sql).execute(conn).await.map(|_| ()) })
    }

    fn is_storage(e: &dyn sqlx::error::DatabaseError) -> bool {
        // ER_DISK_FULL, ER_RECORD_FILE_FULL (a table is full), and the server
        // or the transaction read-only (ER_OPTION_PREVENTS_STATEMENT,
        // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION).
        e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1021 | 1114 | 1290 | 1792))
    }

    fn is_unreachable(e: &dyn sqlx::error::DatabaseError) -> bool {
        // Connection errors (SQLSTATE 08…), too many connections (1040),
        // shutdown in progress (1053), connection killed (1927), disconnected
        // by the server (4031).
        e.code().is_some_and(|c| c.starts_with("08"))
            || e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|e| matches!(e.number(), 1040 | 1053 | 1927 | 4031))
    }

    fn is_missing_table(e: &dyn sqlx::error::DatabaseError) -> bool {
        // ER_NO_SUCH_TABLE
        e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|e| e.number() == 1146)
    }

    fn limit_statements<'c>(
        conn: &'c mut Self::Connection,
        limit: Duration,
        server: Server,
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            // MariaDB aborts a statement past max_statement_time (error 1969);
            // MySQL a SELECT past max_execution_time (error 3024).
            let sql = if server.mariadb {
                format!(
                    "SET SESSION max_statement_time = {:.3}",
                    millis(limit) as f64 / 1000.0
                )
            } else {
                format!("SET SESSION max_execution_time = {}", millis(limit))
            };
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    const REPLICA_LAG_DOING: &'static str = "asking the read replica how far behind its primary it is \
         (SHOW REPLICA STATUS: the role needs REPLICATION CLIENT on MySQL, REPLICA MONITOR on MariaDB)";

    fn replica_lag(conn: &mut Self::Connection) -> BoxFuture<'_, Result<LagReading, sqlx::Error>> {
        Box::pin(async move {
            // SHOW REPLICA STATUS (MySQL 8.0.22, MariaDB 10.5.1 and later);
            // a server that knows only the older SHOW SLAVE STATUS answers it
            // with a parse error (1064), and is asked that instead.
            let rows = match sqlx::raw_sql("SHOW REPLICA STATUS")
                .fetch_all(&mut *conn)
                .await
            {
                Err(sqlx::Error::Database(e))
                    if e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                        .is_some_and(|e| e.number() == 1064) =>
                {
                    sqlx::raw_sql("SHOW SLAVE STATUS")
                        .fetch_all(&mut *conn)
                        .await?
                }
                other => other?,
            };
            // No row: not a replica. One row per replication channel: the
            // furthest behind counts; NULL is a channel whose replication
            // is stopped.
            let mut lag = Some(0.0_f64);
            for row in &rows {
                let behind: Option<i64> = match row.try_get_unchecked("Seconds_Behind_Source") {
                    Ok(v) => v,
                    Err(sqlx::Error::ColumnNotFound(_)) => {
                        row.try_get_unchecked("Seconds_Behind_Master")?
                    }
                    Err(e) => return Err(e),
                };
                lag = match (lag, behind) {
                    (Some(l), Some(b)) => Some(l.max(b as f64)),
                    _ => None,
                };
            }
            // Seconds_Behind is the applier's own measure (the age of the
            // event it applies), not a bound to wait out.
            Ok(LagReading::settled(lag))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let mut pg = QueryBuilder::<Postgres>::new("SELECT 1 WHERE a = ");
        <Postgres as Typed<i64>>::bind(&mut pg, 1);
        pg.push(" AND b < ");
        Postgres::bind_time(&mut pg, None);
        assert_eq!(pg.sql().as_str(), "SELECT 1 WHERE a = $1 AND b < $2");
        let mut my = QueryBuilder::<MySql>::new("SELECT 1 WHERE a = ");
        <MySql as Typed<i64>>::bind(&mut my, 1);
        assert_eq!(my.sql().as_str(), "SELECT 1 WHERE a = ?");
    }

    #[test]
    fn copy_text_escapes_what_frames_rows_and_columns() {
        let field = |v| {
            let mut out = Vec::new();
            copy_field(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(field(Value::Text(None)), "\\N");
        assert_eq!(
            field(Value::Text(Some("a\\b\tc\nd\re"))),
            "a\\\\b\\tc\\nd\\re"
        );
        assert_eq!(field(Value::Text(Some("\\N"))), "\\\\N");
        assert_eq!(field(Value::Amount(-5)), "-0.05");
        assert_eq!(field(Value::Amount(123_456)), "1234.56");
        assert_eq!(field(Value::Bool(Some(false))), "f");
        let t = DateTime::parse_from_rfc3339("2026-03-02T14:35:00.123456Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            field(Value::Timestamp(Some(t))),
            "2026-03-02T14:35:00.123456Z"
        );
        assert_eq!(field(Value::Real(Some(0.1))), "0.1");
    }

    #[test]
    fn upserts_follow_the_backend() {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO t (id, a) VALUES (1, 2)");
        Sqlite::push_upsert(&mut q, "id", &["a"]);
        assert!(
            q.sql()
                .as_str()
                .ends_with("ON CONFLICT (id) DO UPDATE SET a = excluded.a")
        );
        let mut q = QueryBuilder::<MySql>::new("INSERT INTO t (id) VALUES (1)");
        MySql::push_upsert(&mut q, "id", &[]);
        assert!(
            q.sql()
                .as_str()
                .ends_with("ON DUPLICATE KEY UPDATE id = id")
        );
    }
}
