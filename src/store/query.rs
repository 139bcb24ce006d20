//! The evaluator's reads: the leads of one window, with their touches and deals.
//!
//! Every query selects leads by a range of one indexed timestamp column
//! (`leads(mql_at)` or `leads(closed_at)`) and reaches touches and deals through
//! `touches(lead_id, occurred_at)` and `deals(lead_id)`, so its cost follows the
//! rows in the window, not the history. The measures' arithmetic happens in Rust
//! (`crate::eval`) on these rows, so it is the same on every backend.
//!
//! SQL text is built only from the fixed fragments below; the group column comes
//! from an allowlist keyed by [`GroupBy`], and every value is a bound parameter.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError, backend_of, redact, sqlite_time};
use crate::rules::GroupBy;

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

/// A lead of a window, as the measures need it.
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
}

/// A touch of a window's lead.
#[derive(Clone, Debug, PartialEq)]
pub struct TouchRow {
    pub lead_id: String,
    pub occurred_at: DateTime<Utc>,
    pub outbound: bool,
    pub automated: bool,
    pub connected: bool,
}

/// A deal of a window's lead.
#[derive(Clone, Debug, PartialEq)]
pub struct DealRow {
    pub id: String,
    pub lead_id: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub amount: f64,
    pub won: Option<bool>,
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
                let rows = q
                    .fetch_all(p)
                    .await
                    .map_err(StoreError::query(doing.clone()))?;
                let $g = Sqlite;
                rows.iter()
                    .map(|$row| -> Result<_, sqlx::Error> { Ok($map) })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::query(doing))
            }
            Store::Postgres(p) => {
                let mut q = sqlx::query(AssertSqlSafe(numbered(&sql)));
                for t in times {
                    q = q.bind(*t);
                }
                let rows = q
                    .fetch_all(p)
                    .await
                    .map_err(StoreError::query(doing.clone()))?;
                let $g = Pg;
                rows.iter()
                    .map(|$row| -> Result<_, sqlx::Error> { Ok($map) })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::query(doing))
            }
            Store::MySql(p) => {
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for t in times {
                    q = q.bind(t.naive_utc());
                }
                let rows = q
                    .fetch_all(p)
                    .await
                    .map_err(StoreError::query(doing.clone()))?;
                let $g = My;
                rows.iter()
                    .map(|$row| -> Result<_, sqlx::Error> { Ok($map) })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::query(doing))
            }
        }
    }};
}

/// Per-backend decoding of the few column types the evaluator reads.
trait Get<R> {
    fn text(&self, row: &R, i: usize) -> Result<Option<String>, sqlx::Error>;
    fn time(&self, row: &R, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error>;
    fn flag(&self, row: &R, i: usize) -> Result<Option<bool>, sqlx::Error>;
    fn real(&self, row: &R, i: usize) -> Result<f64, sqlx::Error>;
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
    fn flag(&self, row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Option<bool>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(i)?.map(|v| v != 0))
    }
    fn real(&self, row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<f64, sqlx::Error> {
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
    fn flag(&self, row: &sqlx::postgres::PgRow, i: usize) -> Result<Option<bool>, sqlx::Error> {
        row.try_get(i)
    }
    fn real(&self, row: &sqlx::postgres::PgRow, i: usize) -> Result<f64, sqlx::Error> {
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
    fn flag(&self, row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Option<bool>, sqlx::Error> {
        row.try_get(i)
    }
    fn real(&self, row: &sqlx::mysql::MySqlRow, i: usize) -> Result<f64, sqlx::Error> {
        row.try_get(i)
    }
}

fn required<T>(v: Option<T>, i: usize) -> Result<T, sqlx::Error> {
    v.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: "unexpected null".into(),
    })
}

/// The SQL of [`Store::window_leads`], with `?` placeholders (start, end).
pub fn window_leads_sql(range: LeadRange, by: Option<GroupBy>) -> String {
    let (group, join) = group_sql(by);
    let col = range.column();
    format!(
        "SELECT l.id, {group}, l.owner_id, l.mql_at, l.accepted_at, l.rejected_at, l.closed_at \
         FROM leads l{join} WHERE {col} >= ? AND {col} < ?"
    )
}

/// The SQL of [`Store::window_touches`], with `?` placeholders (start, end, before).
pub fn window_touches_sql(range: LeadRange) -> String {
    let col = range.column();
    format!(
        "SELECT t.lead_id, t.occurred_at, t.direction, t.outcome, t.automated \
         FROM leads l JOIN touches t ON t.lead_id = l.id \
         WHERE {col} >= ? AND {col} < ? AND t.occurred_at < ?"
    )
}

/// The SQL of [`Store::window_deals`] on `backend`, with `?` placeholders (start, end).
pub fn window_deals_sql(range: LeadRange, backend: Backend) -> String {
    let col = range.column();
    let amount = match backend {
        Backend::Sqlite => "d.amount",
        Backend::Postgres => "CAST(d.amount AS DOUBLE PRECISION)",
        Backend::MySql => "CAST(d.amount AS DOUBLE)",
    };
    format!(
        "SELECT d.id, d.lead_id, d.created_at, d.closed_at, {amount}, d.won \
         FROM leads l JOIN deals d ON d.lead_id = l.id \
         WHERE {col} >= ? AND {col} < ?"
    )
}

impl Store {
    /// Connects to an existing database without creating or migrating anything:
    /// for `handoff eval`, which must change nothing. A SQLite file that does not
    /// exist is an error rather than a new empty database.
    ///
    /// # Errors
    ///
    /// As [`Store::connect`], and a missing SQLite file.
    pub async fn connect_existing(url: &str) -> Result<Store, StoreError> {
        match backend_of(url)? {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|source| StoreError::BadUrl {
                        url: redact(url),
                        source,
                    })?
                    .create_if_missing(false)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|source| StoreError::Connect {
                        url: redact(url),
                        source,
                    })?;
                Ok(Store::Sqlite(pool))
            }
            _ => Store::connect(url).await,
        }
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
    /// value under `by`.
    pub async fn window_leads(
        &self,
        range: LeadRange,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        by: Option<GroupBy>,
    ) -> Result<Vec<LeadRow>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        fetch!(
            self,
            window_leads_sql(range, by),
            &[start, end],
            "reading the leads of the window".to_owned(),
            |row, g| LeadRow {
                id: required(g.text(row, 0)?, 0)?,
                group: g.text(row, 1)?,
                owner_id: g.text(row, 2)?,
                mql_at: g.time(row, 3)?,
                accepted_at: g.time(row, 4)?,
                rejected_at: g.time(row, 5)?,
                closed_at: g.time(row, 6)?,
            }
        )
    }

    /// The touches before `before` of the leads whose `range` column lies in
    /// `[start, end)`.
    pub async fn window_touches(
        &self,
        range: LeadRange,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Vec<TouchRow>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        fetch!(
            self,
            window_touches_sql(range),
            &[start, end, before],
            "reading the touches of the window".to_owned(),
            |row, g| TouchRow {
                lead_id: required(g.text(row, 0)?, 0)?,
                occurred_at: required(g.time(row, 1)?, 1)?,
                outbound: g.text(row, 2)?.as_deref() == Some("outbound"),
                connected: g.text(row, 3)?.as_deref() == Some("connected"),
                automated: g.flag(row, 4)?.unwrap_or(false),
            }
        )
    }

    /// The deals of the leads whose `range` column lies in `[start, end)`.
    pub async fn window_deals(
        &self,
        range: LeadRange,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<DealRow>, StoreError> {
        if start >= end {
            return Ok(Vec::new());
        }
        fetch!(
            self,
            window_deals_sql(range, self.backend()),
            &[start, end],
            "reading the deals of the window".to_owned(),
            |row, g| DealRow {
                id: required(g.text(row, 0)?, 0)?,
                lead_id: required(g.text(row, 1)?, 1)?,
                created_at: required(g.time(row, 2)?, 2)?,
                closed_at: g.time(row, 3)?,
                amount: g.real(row, 4)?,
                won: g.flag(row, 5)?,
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
        let sql = window_leads_sql(LeadRange::MqlAt, Some(GroupBy::Owner));
        assert!(sql.contains("r.team") && sql.contains("LEFT JOIN reps r"));
        let sql = window_leads_sql(LeadRange::ClosedAt, Some(GroupBy::Segment));
        assert!(sql.contains("l.segment") && sql.contains("l.closed_at >= ?"));
    }
}
