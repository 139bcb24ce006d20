//! Upgrades: a database made by the previous release's migrations
//! (`tests/fixtures/migrations-0.1.0/`, copies of the files as 0.1.0 shipped
//! them) is brought up to date by this release without losing a row, on all
//! three backends. A released migration edited since fails here: sqlx
//! checksums each one and this release refuses a database whose applied
//! migration differs from its own. A database of a newer release is refused
//! too, never migrated backwards.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use handoff::model::Table;
use handoff::store::{Store, StoreOptions};

use crate::helpers::utc;

/// The migrations of release 0.1.0 for `backend` (the folder names of `migrations/`).
fn released(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrations-0.1.0")
        .join(backend)
}

/// How many migrations this release has for `backend`, counted from its folder.
fn current_count(backend: &str) -> u64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sql")
        })
        .count() as u64
}

/// A timestamp as `backend`'s 0.1.0 schema holds it, for a literal.
fn literal(backend: &str, t: DateTime<Utc>) -> String {
    match backend {
        "sqlite" => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "postgres" => t.to_rfc3339(),
        _ => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
    }
}

/// Applies the 0.1.0 migrations to the empty database at `url`, writes what a
/// 0.1.0 daemon would have (a rep, a lead, a result, a fact of
/// `handoff_meta`), and returns the number of migrations applied.
async fn make_0_1_0(backend: &str, url: &str) -> u64 {
    let migrator = sqlx::migrate::Migrator::new(released(backend))
        .await
        .unwrap();
    let at = literal(backend, utc("2026-11-20T12:00:00Z"));
    let rows = [
        "INSERT INTO reps (id, name) VALUES ('R1', 'Ana')".to_owned(),
        format!(
            "INSERT INTO leads (id, created_at, mql_at, owner_id, channel) VALUES ('L1', '{at}', '{at}', 'R1', 'webinar')"
        ),
        format!(
            "INSERT INTO handoff_results (objective, grp, evaluated_at, status, value, target, numerator, denominator, details) \
             VALUES ('speed', 'all', '{at}', 'breached', 0.5, 0.9, 1, 2, '{{}}')"
        ),
        "INSERT INTO handoff_meta (name, value) VALUES ('site', 'kept')".to_owned(),
    ];
    macro_rules! on {
        ($pool:expr) => {{
            let pool = $pool;
            migrator.run(&pool).await.unwrap();
            for sql in &rows {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            pool.close().await;
        }};
    }
    match backend {
        "sqlite" => on!(sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap()),
        "postgres" => on!(sqlx::PgPool::connect(url).await.unwrap()),
        _ => on!(sqlx::MySqlPool::connect(url).await.unwrap()),
    }
    migrator.iter().count() as u64
}

async fn upgrades(backend: &str, url: &str) {
    let before = make_0_1_0(backend, url).await;
    assert_eq!(before, 4, "0.1.0 shipped four migrations");

    let store = Store::connect(url, &StoreOptions::default()).await.unwrap();
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied, current_count(backend) - before);
    // Up to date: nothing more to apply.
    assert_eq!(store.migrate().await.unwrap(), 0);

    // Every row of 0.1.0 is there and reads through this release's store.
    assert_eq!(store.count(Table::Reps).await.unwrap(), 1);
    assert_eq!(store.count(Table::Leads).await.unwrap(), 1);
    assert_eq!(store.meta("site").await.unwrap().as_deref(), Some("kept"));
    let mut results = Vec::new();
    store
        .results(
            None,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-12-01T00:00:00Z"),
            10,
            &mut |r| results.push(r),
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(
        (r.objective.as_str(), r.group.as_str(), r.evaluated_at),
        ("speed", "all", utc("2026-11-20T12:00:00Z"))
    );
    assert_eq!(r.status, handoff::codes::Status::Breached);
    assert_eq!((r.value, r.target), (Some(0.5), Some(0.9)));
    // The table 0.2.0 added is there and empty.
    assert!(store.latest_rule_set().await.unwrap().is_none());
    store.close().await;
}

/// A database that applied a migration this release does not know (made by a
/// newer release) is refused with sqlx's words, and nothing is applied.
async fn a_newer_schema_is_refused(url: &str, insert_unknown: &str) {
    let store = Store::connect(url, &StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    crate::helpers::exec_on(url, insert_unknown).await;
    let store = Store::connect(url, &StoreOptions::default()).await.unwrap();
    let e = store.migrate().await.unwrap_err();
    let said = handoff::error_chain(&e);
    assert!(
        said.contains("migration 29991231000001 was previously applied but is missing"),
        "{said}"
    );
    store.close().await;
}

const UNKNOWN: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
     VALUES (29991231000001, 'from a newer release', TRUE, X'00', 1)";

#[tokio::test]
async fn a_sqlite_database_of_0_1_0_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    upgrades("sqlite", &url).await;
    let url = format!("sqlite://{}", dir.path().join("newer.db").display());
    a_newer_schema_is_refused(&url, UNKNOWN).await;
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn a_postgres_database_of_0_1_0_upgrades() {
    upgrades("postgres", &crate::helpers::new_database("postgres").await).await;
    a_newer_schema_is_refused(
        &crate::helpers::new_database("postgres").await,
        &UNKNOWN.replace("X'00'", "'\\x00'::bytea"),
    )
    .await;
}

#[cfg(feature = "mysql-tests")]
#[tokio::test]
async fn a_mysql_database_of_0_1_0_upgrades() {
    upgrades("mysql", &crate::helpers::new_database("mysql").await).await;
    a_newer_schema_is_refused(&crate::helpers::new_database("mysql").await, UNKNOWN).await;
}
