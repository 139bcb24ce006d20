//! The evaluator's reads: the leads of one window, with their touches and deals.
//!
//! One query serves every measure: the leads whose `mql_at` (or `closed_at`) lies
//! in a window, found through the index on that column, each with its touches
//! and deals summed up in SQL (first attempt, attempt counts, first connected
//! touch, conversion deal) through `touches(lead_id, occurred_at)` and
//! `deals(lead_id)`. Its cost follows the rows in the window, not the history,
//! and it returns one row per lead rather than one per touch. The measures'
//! arithmetic (deadlines in business time, ratios, percentiles, the attempt
//! curve) happens in Rust (`crate::eval`) on these rows, the same on every backend.
//!
//! SQL text is built only from the fixed fragments below; the group column comes
//! from an allowlist keyed by [`GroupBy`], and every value is a bound parameter.

use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::TryStreamExt as _;
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError, sqlite_time};
use crate::rules::GroupBy;

/// Rows the SQLite worker thread may queue ahead of the reader. The default (50)
/// makes a window of a million touches cost a thread hand-off every few rows.
pub(super) const ROW_BUFFER: usize = 8_192;

/// Which indexed lead timestamp selects a window's leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadRange {
    /// `leads.mql_at` (index `leads_mql_at`).
    MqlAt,
    /// `leads.closed_at` (index `leads_closed_at`).
    ClosedAt,
}

impl LeadRange {
    fn column(self) -> &'static str {
        match self {
            LeadRange::MqlAt => "l.mql_at",
            LeadRange::ClosedAt => "l.closed_at",
        }
    }
}

/// The SQL expression a group is read from, and the join it needs. An allowlist:
/// nothing of the rule file reaches the SQL text but this choice.
fn group_sql(by: Option<GroupBy>) -> (&'static str, &'static str) {
    match by {
        // Without `by` every lead is in the group `all`; the column is read and ignored.
        None | Some(GroupBy::Channel) => ("l.channel", ""),
        Some(GroupBy::Campaign) => ("l.campaign", ""),
        Some(GroupBy::Segment) => ("l.segment", ""),
        Some(GroupBy::Owner) => ("r.team", " LEFT JOIN reps r ON r.id = l.owner_id"),
    }
}

/// A lead of a window with the facts of its touches and deals, as known at `t`.
///
/// An *attempt* is an outbound, human (not automated) touch at or after `mql_at`
/// and before `t`.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadRow {
    pub id: String,
    /// The value of the `by` column (null → `None`).
    pub group: Option<String>,
    pub owner_id: Option<String>,
    pub mql_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The first attempt.
    pub first_attempt: Option<DateTime<Utc>>,
    /// Attempts.
    pub attempts: i64,
    /// Attempts before `closed_at` (0 when the lead is not closed).
    pub attempts_before_close: i64,
    /// The first touch with outcome `connected` (any direction) before `t`.
    pub first_connected: Option<DateTime<Utc>>,
    /// When the conversion deal opened: the earliest `created_at` of the lead's
    /// deals won and closed before `t`. `None`: the lead has not converted.
    pub conversion_created_at: Option<DateTime<Utc>>,
    /// The amount of the conversion deal (the first by `created_at`, then id).
    pub conversion_amount: Option<f64>,
    /// Attempts before the conversion deal opened.
    pub attempts_before_conversion: i64,
}

/// The instants a window query binds, in placeholder order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// The evaluation instant.
    At,
    /// The window's first instant.
    Start,
    /// The window's end (exclusive).
    End,
}

/// Turns `?` placeholders into PostgreSQL's `$1, $2, …`.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `$sql` (with `?` placeholders) binding the instants `$times`, and maps each
/// row with `$map`, given per-backend getters for text, timestamps, booleans and
/// amounts.
macro_rules! fetch {
    ($store:expr, $sql:expr, $times:expr, $doing:expr, |$row:ident, $g:ident| $map:expr) => {{
        let sql: String = $sql;
        let times: &[DateTime<Utc>] = $times;
        let doing: String = $doing;
        match $store {
            Store::Sqlite(p) => {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for t in times {
                    q = q.bind(sqlite_time::format(*t));
                }
                // Rows are decoded as they stream in: a window of a million
                // leads never sits in memory as driver rows.
                let started = std::time::Instant::now();
                let $g = Sqlite;
                let mut stream = q.fetch(p);
                let mut out = Vec::new();
                while let Some(row) = stream
                    .try_next()
                    .await
                    .map_err(StoreError::query(doing.clone()))?
                {
                    let $row = &row;
                    let item = (|| -> Result<_, sqlx::Error> { Ok($map) })()
                        .map_err(StoreError::query(doing.clone()))?;
                    out.push(item);
                }
                tracing::debug!(rows = out.len(), elapsed = ?started.elapsed(), "Done {doing}.");
                Ok(out)
            }
            Store::Postgres(p) => {
                let mut q = sqlx::query(AssertSqlSafe(numbered(&sql)));
                for t in times {
                    q = q.bind(*t);
                }
                // Rows are decoded as they stream in: a window of a million
                // leads never sits in memory as driver rows.
                let started = std::time::Instant::now();
                let $g = Pg;
                let mut stream = q.fetch(p);
                let mut out = Vec::new();
                while let Some(row) = stream
                    .try_next()
                    .await
                    .map_err(StoreError::query(doing.clone()))?
                {
                    let $row = &row;
                    let item = (|| -> Result<_, sqlx::Error> { Ok($map) })()
                        .map_err(StoreError::query(doing.clone()))?;
                    out.push(item);
                }
                tracing::debug!(rows = out.len(), elapsed = ?started.elapsed(), "Done {doing}.");
                Ok(out)
            }
            Store::MySql(p) => {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for t in times {
                    q = q.bind(t.naive_utc());
                }
                // Rows are decoded as they stream in: a window of a million
                // leads never sits in memory as driver rows.
                let started = std::time::Instant::now();
                let $g = My;
                let mut stream = q.fetch(p);
                let mut out = Vec::new();
                while let Some(row) = stream
                    .try_next()
                    .await
                    .map_err(StoreError::query(doing.clone()))?
                {
                    let $row = &row;
                    let item = (|| -> Result<_, sqlx::Error> { Ok($map) })()
                        .map_err(StoreError::query(doing.clone()))?;
                    out.push(item);
                }
                tracing::debug!(rows = out.len(), elapsed = ?started.elapsed(), "Done {doing}.");
                Ok(out)
            }
        }
    }};
}

/// Per-backend decoding of the few column types the evaluator reads.
trait Get<R> {
    fn text(&self, row: &R, i: usize) -> Result<Option<String>, sqlx::Error>;
    fn time(&self, row: &R, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error>;
    fn count(&self, row: &R, i: usize) -> Result<i64, sqlx::Error>;
    fn real(&self, row: &R, i: usize) -> Result<Option<f64>, sqlx::Error>;
}

struct Sqlite;
struct Pg;
struct My;

fn bad_time(i: usize, s: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: format!("`{s}` is not a timestamp").into(),
    }
}

impl Get<sqlx::sqlite::SqliteRow> for Sqlite {
    fn text(&self, row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    fn time(
        &self,
        row: &sqlx::sqlite::SqliteRow,
        i: usize,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let s: Option<String> = row.try_get(i)?;
        s.map(|s| sqlite_time::parse(&s).ok_or_else(|| bad_time(i, &s)))
            .transpose()
    }
    fn count(&self, row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<i64, sqlx::Error> {
        row.try_get(i)
    }
    fn real(&self, row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Option<f64>, sqlx::Error> {
        row.try_get(i)
    }
}

impl Get<sqlx::postgres::PgRow> for Pg {
    fn text(&self, row: &sqlx::postgres::PgRow, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    fn time(
        &self,
        row: &sqlx::postgres::PgRow,
        i: usize,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        row.try_get(i)
    }
    fn count(&self, row: &sqlx::postgres::PgRow, i: usize) -> Result<i64, sqlx::Error> {
        row.try_get(i)
    }
    fn real(&self, row: &sqlx::postgres::PgRow, i: usize) -> Result<Option<f64>, sqlx::Error> {
        row.try_get(i)
    }
}

impl Get<sqlx::mysql::MySqlRow> for My {
    fn text(&self, row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(i)
    }
    fn time(
        &self,
        row: &sqlx::mysql::MySqlRow,
        i: usize,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(row
            .try_get::<Option<NaiveDateTime>, _>(i)?
            .map(|n| n.and_utc()))
    }
    fn count(&self, row: &sqlx::mysql::MySqlRow, i: usize) -> Result<i64, sqlx::Error> {
        row.try_get(i)
    }
    fn real(&self, row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Option<f64>, sqlx::Error> {
        row.try_get(i)
    }
}

fn required<T>(v: Option<T>, i: usize) -> Result<T, sqlx::Error> {
    v.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: "unexpected null".into(),
    })
}

/// The SQL of [`Store::window_leads`] on `backend`, with `?` placeholders, and
/// what each placeholder binds.
///
/// Built from fixed fragments only: the range column and the group expression
/// come from allowlists, every instant is a parameter.
///
/// Without `facts` it reads the leads alone (the facts read as none and zero),
/// for the measures that need no touches or deals.
pub fn window_leads_sql(
    range: LeadRange,
    by: Option<GroupBy>,
    backend: Backend,
    facts: bool,
) -> (String, Vec<Param>) {
    let (group, join) = group_sql(by);
    let col = range.column();
    if !facts {
        let sql = format!(
            "SELECT l.id, {group}, l.owner_id, l.mql_at, l.accepted_at, l.rejected_at, l.closed_at \
             FROM leads l{join} WHERE {col} >= ? AND {col} < ?"
        );
        return (sql, vec![Param::Start, Param::End]);
    }
    let amount = match backend {
        Backend::Sqlite => "d.amount",
        Backend::Postgres => "CAST(d.amount AS DOUBLE PRECISION)",
        Backend::MySql => "CAST(d.amount AS DOUBLE)",
    };
    let attempt = "t.direction = 'outbound' AND t.automated = FALSE AND t.occurred_at >= l.mql_at";
    // Correlated subqueries rather than a join: each runs per lead through
    // touches(lead_id, occurred_at) or deals(lead_id) on every backend, where a
    // join lets PostgreSQL's planner prefer a scan of the whole touches table.
    let touches = |what: &str, cond: &str| {
        format!(
            "(SELECT {what} FROM touches t WHERE t.lead_id = l.id AND t.occurred_at < ? AND {cond})"
        )
    };
    let won = "d.lead_id = l.id AND d.won = TRUE AND d.closed_at < ?";
    let conversion = format!("(SELECT MIN(d.created_at) FROM deals d WHERE {won})");
    let sql = format!(
        "SELECT l.id, {group}, l.owner_id, l.mql_at, l.accepted_at, l.rejected_at, l.closed_at, \
         {first_attempt}, {attempts}, {before_close}, {first_connected}, {conversion}, \
         (SELECT {amount} FROM deals d WHERE {won} ORDER BY d.created_at, d.id LIMIT 1), \
         CASE WHEN {conversion} IS NULL THEN 0 ELSE {before_conversion} END \
         FROM leads l{join} WHERE {col} >= ? AND {col} < ?",
        first_attempt = touches("MIN(t.occurred_at)", attempt),
        attempts = touches("COUNT(*)", attempt),
        before_close = touches(
            "COUNT(*)",
            &format!("{attempt} AND t.occurred_at < l.closed_at")
        ),
        first_connected = touches("MIN(t.occurred_at)", "t.outcome = 'connected'"),
        before_conversion = touches(
            "COUNT(*)",
            &format!("{attempt} AND t.occurred_at < {conversion}")
        ),
    );
    // Every placeholder binds t, but the last two: the window's range.
    let n = sql.matches('?').count();
    let mut params = vec![Param::At; n - 2];
    params.extend([Param::Start, Param::End]);
    (sql, params)
}

impl Store {
    /// Connects to an existing database without creating or migrating anything:
    /// for `handoff eval`, which must change nothing. A SQLite file that does not
    /// exist is an error rather than a new empty database.
    ///
    /// Sessions on MySQL/MariaDB run in UTC, as with [`Store::connect`].
    ///
    /// # Errors
    ///
    /// As [`Store::connect`], and a missing SQLite file.
    pub async fn connect_existing(url: &str) -> Result<Store, StoreError> {
        Store::open(url, super::Open::Existing).await
    }

    /// Checks that the four lead tables (or views) exist and can be read, by
    /// reading no rows from each.
    ///
    /// # Errors
    ///
    /// The first table that cannot be read.
    pub async fn check_lead_tables(&self) -> Result<(), StoreError> {
        for table in ["reps", "leads", "touches", "deals"] {
            let sql = format!("SELECT 1 FROM {table} WHERE 1 = 0");
            let doing = format!("reading table {table}");
            match self {
                Store::Sqlite(p) => sqlx::query(AssertSqlSafe(sql)).fetch_all(p).await.map(drop),
                Store::Postgres(p) => sqlx::query(AssertSqlSafe(sql)).fetch_all(p).await.map(drop),
                Store::MySql(p) => sqlx::query(AssertSqlSafe(sql)).fetch_all(p).await.map(drop),
            }
            .map_err(StoreError::query(doing))?;
        }
        Ok(())
    }

    /// The leads whose `range` column lies in `[start, end)`, with their group
    /// value under `by` and, with `facts`, the facts of their touches and deals
    /// before `at`.
    pub async fn window_leads(
        &self,
        range: LeadRange,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        at: DateTime<Utc>,
        by: Option<GroupBy>,
        facts: bool,
    ) -> Result<Vec<LeadRow>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let (sql, params) = window_leads_sql(range, by, self.backend(), facts);
        let times: Vec<DateTime<Utc>> = params
            .iter()
            .map(|p| match p {
                Param::At => at,
                Param::Start => start,
                Param::End => end,
            })
            .collect();
        fetch!(
            self,
            sql,
            &times,
            "reading the leads of the window".to_owned(),
            |row, g| LeadRow {
                id: required(g.text(row, 0)?, 0)?,
                group: g.text(row, 1)?,
                owner_id: g.text(row, 2)?,
                mql_at: g.time(row, 3)?,
                accepted_at: g.time(row, 4)?,
                rejected_at: g.time(row, 5)?,
                closed_at: g.time(row, 6)?,
                first_attempt: if facts { g.time(row, 7)? } else { None },
                attempts: if facts { g.count(row, 8)? } else { 0 },
                attempts_before_close: if facts { g.count(row, 9)? } else { 0 },
                first_connected: if facts { g.time(row, 10)? } else { None },
                conversion_created_at: if facts { g.time(row, 11)? } else { None },
                conversion_amount: if facts { g.real(row, 12)? } else { None },
                attempts_before_conversion: if facts { g.count(row, 13)? } else { 0 },
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            numbered("a >= ? AND a < ? AND b < ?"),
            "a >= $1 AND a < $2 AND b < $3"
        );
    }

    #[test]
    fn group_columns_come_from_the_allowlist() {
        let (sql, params) = window_leads_sql(
            LeadRange::MqlAt,
            Some(GroupBy::Owner),
            Backend::Postgres,
            true,
        );
        assert!(sql.contains("r.team") && sql.contains("LEFT JOIN reps r"));
        assert_eq!(sql.matches('?').count(), params.len());
        let (sql, _) = window_leads_sql(
            LeadRange::ClosedAt,
            Some(GroupBy::Segment),
            Backend::Sqlite,
            false,
        );
        assert!(sql.contains("l.segment") && sql.contains("l.closed_at >= ?"));
    }
}
