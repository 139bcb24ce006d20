//! Fresh databases for tests, and reading rows back independently of the store's
//! own code paths.

use chrono::{DateTime, NaiveDateTime, Utc};
use handoff::model::{DIRECTIONS, Deal, Lead, Rep, TOUCH_KINDS, Touch};
use handoff::store::{Store, StoreOptions, sqlite_time};
use sqlx::Row;

/// Runs each listed `async fn name(db: TestDb)` once per enabled backend, as
/// `<module>::sqlite::name`, `<module>::postgres::name` and `<module>::mysql::name`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::helpers::TestDb::sqlite().await).await
                }
            )*
        }
        #[cfg(feature = "postgres-tests")]
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::helpers::TestDb::postgres().await).await
                }
            )*
        }
        #[cfg(feature = "mysql-tests")]
        mod mysql {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::helpers::TestDb::mysql().await).await
                }
            )*
        }
    };
}
pub(crate) use backend_tests;

/// A database of its own for one test, migrated.
///
/// Besides the store under test it holds a pool of its own, opened from the URL
/// with plain sqlx, so that tests read and change the database without going
/// through the code they test.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    raw: Raw,
    _dir: Option<tempfile::TempDir>,
}

/// The test's own connection pool.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "handoff_t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// The URL of a new, empty database of its own on the test server of
/// `backend` (`postgres` or `mysql`), made through the server's admin URL.
pub async fn new_database(backend: &str) -> String {
    let name = unique_name();
    let (admin, server) = if backend == "postgres" {
        (
            std::env::var("HANDOFF_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
            "PostgreSQL",
        )
    } else {
        (
            std::env::var("HANDOFF_TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
            "MySQL/MariaDB",
        )
    };
    macro_rules! create {
        ($pool:ty) => {{
            let pool = <$pool>::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("{server} at {admin} is required for this suite: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }};
    }
    if backend == "postgres" {
        create!(sqlx::PgPool)
    } else {
        create!(sqlx::MySqlPool)
    }
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
    format!("{base}/{name}")
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        TestDb::open(url, Some(dir)).await
    }

    /// A SQLite database in the file `path` (its folder is the caller's).
    #[allow(dead_code)]
    pub async fn sqlite_at(path: &std::path::Path) -> TestDb {
        TestDb::open(format!("sqlite://{}", path.display()), None).await
    }

    #[allow(dead_code)]
    pub async fn postgres() -> TestDb {
        TestDb::open(new_database("postgres").await, None).await
    }

    #[allow(dead_code)]
    pub async fn mysql() -> TestDb {
        TestDb::open(new_database("mysql").await, None).await
    }

    async fn open(url: String, dir: Option<tempfile::TempDir>) -> TestDb {
        TestDb::open_with(url, dir, &StoreOptions::default()).await
    }

    /// The same database through a store with other options.
    pub async fn store_with(&self, options: &StoreOptions) -> Store {
        Store::connect(&self.url, options).await.unwrap()
    }

    async fn open_with(
        url: String,
        dir: Option<tempfile::TempDir>,
        options: &StoreOptions,
    ) -> TestDb {
        let store = Store::connect(&url, options).await.unwrap();
        store.migrate().await.unwrap();
        let raw = if url.starts_with("sqlite") {
            Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap())
        } else if url.starts_with("postgres") {
            Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap())
        } else {
            Raw::MySql(sqlx::MySqlPool::connect(&url).await.unwrap())
        };
        TestDb {
            store,
            url,
            raw,
            _dir: dir,
        }
    }

    /// Runs one statement on the test's own connection.
    pub async fn exec(&self, sql: &str) {
        let q = || sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
        match &self.raw {
            Raw::Sqlite(p) => q().execute(p).await.map(drop),
            Raw::Postgres(p) => q().execute(p).await.map(drop),
            Raw::MySql(p) => q().execute(p).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The test's own SQLite pool (panics on another backend).
    pub fn raw_sqlite(&self) -> &sqlx::SqlitePool {
        match &self.raw {
            Raw::Sqlite(p) => p,
            _ => panic!("not a SQLite test"),
        }
    }

    /// The test's own PostgreSQL pool (panics on another backend).
    #[allow(dead_code)]
    pub fn raw_postgres(&self) -> &sqlx::PgPool {
        match &self.raw {
            Raw::Postgres(p) => p,
            _ => panic!("not a PostgreSQL test"),
        }
    }

    /// The test's own MySQL/MariaDB pool (panics on another backend).
    #[allow(dead_code)]
    pub fn raw_mysql(&self) -> &sqlx::MySqlPool {
        match &self.raw {
            Raw::MySql(p) => p,
            _ => panic!("not a MySQL/MariaDB test"),
        }
    }

    /// Which backend the test runs on: `sqlite`, `postgres` or `mysql`.
    pub fn backend(&self) -> &'static str {
        match &self.raw {
            Raw::Sqlite(_) => "sqlite",
            Raw::Postgres(_) => "postgres",
            Raw::MySql(_) => "mysql",
        }
    }

    /// Every row of the four tables, read back with plain SQL, ordered by id.
    pub async fn dump(&self) -> Dump {
        Dump {
            reps: self.reps().await,
            leads: self.leads().await,
            touches: self.touches().await,
            deals: self.deals().await,
        }
    }

    async fn rows(&self, sqlite: &str, postgres: &str, mysql: &str) -> Vec<Vec<Cell>> {
        match &self.raw {
            Raw::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sqlite))
                .fetch_all(p)
                .await
                .unwrap()
                .iter()
                .map(cells_sqlite)
                .collect(),
            Raw::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(postgres))
                .fetch_all(p)
                .await
                .unwrap()
                .iter()
                .map(cells_pg)
                .collect(),
            Raw::MySql(p) => sqlx::query(sqlx::AssertSqlSafe(mysql))
                .fetch_all(p)
                .await
                .unwrap()
                .iter()
                .map(cells_mysql)
                .collect(),
        }
    }

    pub async fn reps(&self) -> Vec<Rep> {
        let q = "SELECT id, name, email, team FROM reps ORDER BY id";
        self.rows(q, q, q)
            .await
            .into_iter()
            .map(|r| Rep {
                id: r[0].s(),
                name: r[1].s(),
                email: r[2].os(),
                team: r[3].os(),
            })
            .collect()
    }

    pub async fn leads(&self) -> Vec<Lead> {
        let q = "SELECT id, created_at, mql_at, owner_id, channel, campaign, segment, score, accepted_at, rejected_at, closed_at, close_reason FROM leads ORDER BY id";
        self.rows(q, q, q)
            .await
            .into_iter()
            .map(|r| Lead {
                id: r[0].s(),
                created_at: r[1].t(),
                mql_at: r[2].ot(),
                owner_id: r[3].os(),
                channel: r[4].os(),
                campaign: r[5].os(),
                segment: r[6].os(),
                score: r[7].of(),
                accepted_at: r[8].ot(),
                rejected_at: r[9].ot(),
                closed_at: r[10].ot(),
                close_reason: r[11].os(),
            })
            .collect()
    }

    pub async fn touches(&self) -> Vec<Touch> {
        let q = "SELECT id, lead_id, rep_id, occurred_at, kind, direction, outcome, automated FROM touches ORDER BY id";
        self.rows(q, q, q)
            .await
            .into_iter()
            .map(|r| Touch {
                id: r[0].s(),
                lead_id: r[1].s(),
                rep_id: r[2].os(),
                occurred_at: r[3].t(),
                kind: TOUCH_KINDS.iter().find(|k| **k == r[4].s()).unwrap(),
                direction: DIRECTIONS.iter().find(|k| **k == r[5].s()).unwrap(),
                outcome: r[6].os(),
                automated: r[7].ob().unwrap(),
            })
            .collect()
    }

    pub async fn deals(&self) -> Vec<Deal> {
        // Amounts come back as exact integer cents on every backend.
        let sqlite = "SELECT id, lead_id, created_at, closed_at, CAST(ROUND(amount * 100) AS INTEGER), won FROM deals ORDER BY id";
        let pg = "SELECT id, lead_id, created_at, closed_at, CAST(amount * 100 AS BIGINT), won FROM deals ORDER BY id";
        let my = "SELECT id, lead_id, created_at, closed_at, CAST(amount * 100 AS SIGNED), won FROM deals ORDER BY id";
        self.rows(sqlite, pg, my)
            .await
            .into_iter()
            .map(|r| Deal {
                id: r[0].s(),
                lead_id: r[1].os(),
                created_at: r[2].t(),
                closed_at: r[3].ot(),
                amount_cents: r[4].oi().unwrap(),
                won: r[5].ob(),
            })
            .collect()
    }

    /// Runs a query whose columns are all integers (counts), on any backend.
    pub async fn counts(&self, sql: &str) -> Vec<Vec<Option<i64>>> {
        self.rows(sql, sql, sql)
            .await
            .into_iter()
            .map(|r| r.iter().map(Cell::oi).collect())
            .collect()
    }

    /// The first column of a query's rows, as text; NULL as "".
    #[cfg_attr(not(feature = "http-tests"), allow(dead_code))]
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        self.rows(sql, sql, sql)
            .await
            .into_iter()
            .map(|r| r.first().and_then(Cell::os).unwrap_or_default())
            .collect()
    }
}

/// The whole lead store, as plain rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    pub reps: Vec<Rep>,
    pub leads: Vec<Lead>,
    pub touches: Vec<Touch>,
    pub deals: Vec<Deal>,
}

/// One value read back, decoded by the backend-specific readers below.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Time(DateTime<Utc>),
    Bool(bool),
}

impl Cell {
    fn s(&self) -> String {
        self.os().expect("a non-null text")
    }
    fn os(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Text(s) => Some(s.clone()),
            other => panic!("expected text, found {other:?}"),
        }
    }
    fn t(&self) -> DateTime<Utc> {
        self.ot().expect("a non-null timestamp")
    }
    fn ot(&self) -> Option<DateTime<Utc>> {
        match self {
            Cell::Null => None,
            Cell::Time(t) => Some(*t),
            Cell::Text(s) => {
                Some(sqlite_time::parse(s).unwrap_or_else(|| panic!("not a timestamp: {s}")))
            }
            other => panic!("expected a timestamp, found {other:?}"),
        }
    }
    fn of(&self) -> Option<f64> {
        match self {
            Cell::Null => None,
            Cell::Float(x) => Some(*x),
            Cell::Int(i) => Some(*i as f64),
            other => panic!("expected a number, found {other:?}"),
        }
    }
    pub fn oi(&self) -> Option<i64> {
        match self {
            Cell::Null => None,
            Cell::Int(i) => Some(*i),
            Cell::Bool(b) => Some(i64::from(*b)),
            other => panic!("expected an integer, found {other:?}"),
        }
    }
    fn ob(&self) -> Option<bool> {
        match self {
            Cell::Null => None,
            Cell::Bool(b) => Some(*b),
            Cell::Int(i) => Some(*i != 0),
            other => panic!("expected a boolean, found {other:?}"),
        }
    }
}

fn cells_sqlite(row: &sqlx::sqlite::SqliteRow) -> Vec<Cell> {
    use sqlx::{TypeInfo, ValueRef};
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i).unwrap();
            if raw.is_null() {
                return Cell::Null;
            }
            match raw.type_info().name() {
                "INTEGER" => Cell::Int(row.get(i)),
                "REAL" => Cell::Float(row.get(i)),
                _ => Cell::Text(row.get(i)),
            }
        })
        .collect()
}

fn cells_pg(row: &sqlx::postgres::PgRow) -> Vec<Cell> {
    use sqlx::{TypeInfo, ValueRef};
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i).unwrap();
            if raw.is_null() {
                return Cell::Null;
            }
            match raw.type_info().name() {
                "INT8" => Cell::Int(row.get(i)),
                "INT4" => Cell::Int(i64::from(row.get::<i32, _>(i))),
                "FLOAT8" => Cell::Float(row.get(i)),
                "BOOL" => Cell::Bool(row.get(i)),
                "TIMESTAMPTZ" => Cell::Time(row.get(i)),
                "TEXT" | "VARCHAR" => Cell::Text(row.get(i)),
                other => panic!("unexpected PostgreSQL type {other}"),
            }
        })
        .collect()
}

fn cells_mysql(row: &sqlx::mysql::MySqlRow) -> Vec<Cell> {
    use sqlx::{TypeInfo, ValueRef};
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i).unwrap();
            if raw.is_null() {
                return Cell::Null;
            }
            match raw.type_info().name() {
                "BIGINT" | "INT" => Cell::Int(row.get(i)),
                "BOOLEAN" | "TINYINT" => Cell::Bool(row.get(i)),
                "DOUBLE" => Cell::Float(row.get(i)),
                "DATETIME" => Cell::Time(row.get::<NaiveDateTime, _>(i).and_utc()),
                // utf8mb4_bin columns report as binary types.
                "VARCHAR" | "TEXT" | "CHAR" | "VARBINARY" | "BINARY" | "BLOB" => {
                    Cell::Text(row.get(i))
                }
                other => panic!("unexpected MySQL type {other}"),
            }
        })
        .collect()
}

/// The `handoff` binary, with none of the user's `HANDOFF_*` settings.
pub fn handoff() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_handoff"));
    cmd.env_remove("HANDOFF_DATABASE")
        .env_remove("HANDOFF_RULES")
        .env_remove("HANDOFF_READ_DATABASE")
        .env_remove("HANDOFF_READ_DATABASE_FILE")
        .env_remove("HANDOFF_MAX_REPLICA_LAG");
    cmd
}

/// Writes `files` (name, content) into a fresh directory.
pub fn csv_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

/// An instant from RFC 3339 text.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Builds the demo company with `leads` leads in a SQLite file in `dir`
/// (`handoff demo --build-only`, the binary as a user runs it); its URL.
#[allow(dead_code)]
pub fn demo_database(dir: &std::path::Path, leads: u32) -> String {
    let url = format!("sqlite://{}", dir.join("demo.db").display());
    let out = handoff()
        .args([
            "--database",
            &url,
            "demo",
            "--build-only",
            "--leads",
            &leads.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    url
}

/// Runs `sql` on the database at `url` through a connection of its own.
#[allow(dead_code)]
pub async fn exec_on(url: &str, sql: &str) {
    macro_rules! on {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .map(drop);
            pool.close().await;
            done
        }};
    }
    let done = if url.starts_with("sqlite") {
        on!(sqlx::SqlitePool)
    } else if url.starts_with("postgres") {
        on!(sqlx::PgPool)
    } else {
        on!(sqlx::MySqlPool)
    };
    done.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The one integer `sql` returns on the database at `url`.
#[allow(dead_code)]
pub async fn count_on(url: &str, sql: &str) -> i64 {
    macro_rules! on {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }};
    }
    if url.starts_with("sqlite") {
        on!(sqlx::SqlitePool)
    } else if url.starts_with("postgres") {
        on!(sqlx::PgPool)
    } else {
        on!(sqlx::MySqlPool)
    }
}

/// A test server written in Python (`tests/smtp_sink.py`,
/// `tests/http_sink.py`), stopped when dropped.
#[cfg(any(feature = "smtp-tests", feature = "http-tests"))]
pub struct Sink(std::process::Child);

#[cfg(any(feature = "smtp-tests", feature = "http-tests"))]
impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tests/SCRIPT PORT DIR` with Debian's python3
/// (`HANDOFF_TEST_PYTHON`) and waits for its `ready`; `needs` says what to
/// install when it cannot start.
#[cfg(any(feature = "smtp-tests", feature = "http-tests"))]
pub fn sink(script: &str, port: u16, dir: &std::path::Path, needs: &str) -> Sink {
    use std::io::BufRead as _;
    let python =
        std::env::var("HANDOFF_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_owned());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let mut child = std::process::Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect(needs);
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the test server did not start");
    Sink(child)
}

/// A port nothing listens on now.
#[cfg(any(feature = "smtp-tests", feature = "http-tests"))]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
