//! The SQL store: the canonical lead tables (DESIGN §2) on SQLite, PostgreSQL or
//! MySQL/MariaDB.
//!
//! This is the only module that speaks SQL. Each backend gets its own pool type
//! rather than sqlx's `Any` driver, which can bind neither chrono types nor
//! translate placeholders; the per-backend differences (timestamp encoding,
//! upsert syntax, placeholder limits) live in the private `backend` module.
//!
//! Every statement binds its values; table and column names come only from the
//! fixed lists in [`crate::model`].

mod backend;
mod query;
pub mod sqlite_time;
mod write;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions as _};

use crate::model::Table;

pub use query::{LeadRange, LeadRow, Param, window_leads_sql};
pub use write::{Encoded, Tx, UpsertColumns};

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

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
        })
    }
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: expected sqlite://FILE, postgres://… or mysql://…")]
    UnsupportedUrl(String),
    #[error("invalid database URL `{url}`: {source}")]
    BadUrl { url: String, source: sqlx::Error },
    #[error("failed to connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("failed to migrate {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("database error while {doing}: {source}")]
    Query { doing: String, source: sqlx::Error },
}

impl StoreError {
    pub(crate) fn query(doing: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let doing = doing.into();
        move |source| StoreError::Query { doing, source }
    }
}

/// A connection pool to one database.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// Whether opening a store may create or change the database.
#[derive(Debug, Clone, Copy)]
enum Open {
    /// Create a missing SQLite file and set it up for writing.
    CreateOrWrite,
    /// Only open what exists, changing nothing (for `handoff eval`).
    Existing,
}

/// How long a connection attempt may take before the store reports the database
/// unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Connects to `url` (`sqlite://FILE`, `postgres://…`, `mysql://…` or `mariadb://…`).
    ///
    /// A SQLite file is created when missing and opened in WAL mode. For a
    /// connection that must change nothing, see [`Store::connect_existing`].
    ///
    /// # Errors
    ///
    /// An unknown scheme, a malformed URL, or a database that cannot be reached.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::open(url, Open::CreateOrWrite).await
    }

    async fn open(url: &str, mode: Open) -> Result<Store, StoreError> {
        let bad = |source| StoreError::BadUrl {
            url: redact(url),
            source,
        };
        let connect = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        // Long statements (bulk upserts, window queries) are the norm here; sqlx's
        // statement log would print each one's full text.
        match backend_of(url)? {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(bad)?
                    .busy_timeout(Duration::from_secs(10));
                let opts = match mode {
                    Open::CreateOrWrite => opts
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .pragma("cache_size", "-65536")
                        .pragma("temp_store", "memory"),
                    // Nothing that would write: not even the journal mode.
                    Open::Existing => opts
                        .create_if_missing(false)
                        .row_buffer_size(query::ROW_BUFFER),
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(opts.disable_statement_logging())
                    .await
                    .map_err(connect)?;
                Ok(Store::Sqlite(pool))
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(bad)?
                    .disable_statement_logging();
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(opts)
                    .await
                    .map_err(connect)?;
                Ok(Store::Postgres(pool))
            }
            Backend::MySql => {
                let url_mysql = url.replacen("mariadb://", "mysql://", 1);
                // Sessions run in UTC so that nothing the server does with
                // timestamps depends on its configured zone.
                let opts = MySqlConnectOptions::from_str(&url_mysql)
                    .map_err(bad)?
                    .timezone(Some("+00:00".into()))
                    .disable_statement_logging();
                let pool = MySqlPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(opts)
                    .await
                    .map_err(connect)?;
                Ok(Store::MySql(pool))
            }
        }
    }

    /// Which kind of database this is.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
            Store::MySql(_) => Backend::MySql,
        }
    }

    /// A short description for messages: the backend and database name, no secrets.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(p) => {
                let file = p.connect_options().get_filename().display().to_string();
                format!("SQLite database {file}")
            }
            Store::Postgres(p) => {
                let o = p.connect_options();
                format!(
                    "PostgreSQL database {} on {}:{}",
                    o.get_database().unwrap_or("(default)"),
                    o.get_host(),
                    o.get_port()
                )
            }
            Store::MySql(p) => {
                let o = p.connect_options();
                format!(
                    "MySQL/MariaDB database {} on {}:{}",
                    o.get_database().unwrap_or("(default)"),
                    o.get_host(),
                    o.get_port()
                )
            }
        }
    }

    /// Creates the schema, or upgrades it to the one this build knows.
    ///
    /// # Errors
    ///
    /// A migration that fails, or a database whose applied migrations differ from
    /// this build's (edited after they were applied).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let res = match self {
            Store::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await,
            Store::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await,
            Store::MySql(p) => sqlx::migrate!("migrations/mysql").run(p).await,
        };
        res.map_err(|source| StoreError::Migrate {
            url: self.describe(),
            source,
        })
    }

    /// Starts a transaction for writing canonical rows.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Tx::begin(self).await
    }

    /// Counts the rows of a canonical table.
    pub async fn count(&self, table: Table) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        let doing = format!("counting {table}");
        match self {
            Store::Sqlite(p) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(p).await,
            Store::Postgres(p) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(p).await,
            Store::MySql(p) => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(p).await,
        }
        .map_err(StoreError::query(doing))
    }

    /// Reads one value of the store's own metadata (`handoff_meta`).
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        const SQL_Q: &str = "SELECT value FROM handoff_meta WHERE name = ?";
        const SQL_PG: &str = "SELECT value FROM handoff_meta WHERE name = $1";
        let doing = format!("reading metadata {key}");
        match self {
            Store::Sqlite(p) => sqlx::query_scalar(SQL_Q).bind(key).fetch_optional(p).await,
            Store::Postgres(p) => sqlx::query_scalar(SQL_PG).bind(key).fetch_optional(p).await,
            Store::MySql(p) => sqlx::query_scalar(SQL_Q).bind(key).fetch_optional(p).await,
        }
        .map_err(StoreError::query(doing))
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(p) => p.close().await,
            Store::Postgres(p) => p.close().await,
            Store::MySql(p) => p.close().await,
        }
    }
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
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
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
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/crm"),
            "postgres://app:***@db:5432/crm"
        );
        assert_eq!(redact("postgres://app@db/crm"), "postgres://app@db/crm");
        assert_eq!(redact("sqlite://handoff.db"), "sqlite://handoff.db");
    }
}
