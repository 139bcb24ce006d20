//! Upgrades: a database made by the previous release's migrations is brought
//! up to date by this release without losing a row, on all three backends.
//! The released files are pinned by their checksums (sqlx's: the SHA-384 of
//! the text), taken from the release with `sha384sum`: a released migration
//! edited since, even a comment, fails here, as it would fail every database
//! that applied it. A database of a newer release is refused, never migrated
//! backwards.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use handoff::model::Table;
use handoff::store::{Store, StoreOptions};

use crate::helpers::utc;

/// The migrations 0.1.0 shipped: backend (the folder of `migrations/`), file
/// name, and the SHA-384 of the file as released.
const RELEASED_0_1_0: [(&str, &str, &str); 12] = [
    (
        "sqlite",
        "20261125000001_canonical_schema.sql",
        "bc16b95150eb9ac211ec3f07c9b4ee5daefa0ee57992be85e0b7329d7aacbd3c03ead44e613f2fffda1de8bf74a80217",
    ),
    (
        "sqlite",
        "20261125000002_handoff_meta.sql",
        "3021fa00f5ce02cefd3dbe0468696256e33c11dcc9c9a7fba7403c0bc99a8a3627b82fcda237f3ac9490f422e00ad7f1",
    ),
    (
        "sqlite",
        "20261126000001_daemon_state.sql",
        "a93571fdb4b06234ebfad3ff87960b39419bdf9285a9e5a937d08383fdce7e753e1bcf2eaef0e45f48c9370bd76fbdc1",
    ),
    (
        "sqlite",
        "20261126000002_notifications.sql",
        "9f1faa47992f00262333394566177cdab5d10839e2cad9e9977bfe18da3944eba94c57c0890e1d302ce7397929350fcd",
    ),
    (
        "postgres",
        "20261125000001_canonical_schema.sql",
        "22f737925f5dd792cb024819d6dd4b4a049b99fc8a2838c447037655981c08628a08f037912e1e81d44d70b96cd3a15b",
    ),
    (
        "postgres",
        "20261125000002_handoff_meta.sql",
        "04f129ad70ab5e5ac5f0ef8027e7fc4d121ef013a4a2c595edee905df41dde2b216cfde38e9bcdc1457025a2d57e02f5",
    ),
    (
        "postgres",
        "20261126000001_daemon_state.sql",
        "586103373ef0d687fc6f9b8b2fae10da4d090e870be3bf94e1b7f170bf31eab4a6466af6020bada68c59f4ce3daba905",
    ),
    (
        "postgres",
        "20261126000002_notifications.sql",
        "5eaf721fb5d18b8c3d40e907639d03f5b7593472bdd68d9452927332c42444cfbce4b1d683015eac98dffe856b8110a9",
    ),
    (
        "mysql",
        "20261125000001_canonical_schema.sql",
        "837a22c2e1f59cce52b6252efff6e989715a281755f1dca472a6be298346dfdadc480bdee3a7d1bbca7c98cf48ddf973",
    ),
    (
        "mysql",
        "20261125000002_handoff_meta.sql",
        "69db25370e93039e75d7704bd130135e7ac0f1602b1419036af50c8c6953fac9be2129d6d2b940aa4e0acc3fbfc2b3cc",
    ),
    (
        "mysql",
        "20261126000001_daemon_state.sql",
        "52afadf9176d7b4afabbeef54e0a1d05760d899eb7ebb6ec67299ad1b50d10605748af8af93c88e4712346c376407a7e",
    ),
    (
        "mysql",
        "20261126000002_notifications.sql",
        "0e0e4c6b75d5858d924a6fed903f66ccca2cbbe34890340e807469ec8734650716227c9c0d854fa216528902b484a4e9",
    ),
];

fn migrations(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
}

/// The migrations of release 0.1.0 for `backend`, in a folder of their own,
/// after checking that each is the file the release shipped.
async fn released(backend: &str) -> tempfile::TempDir {
    let current = sqlx::migrate::Migrator::new(migrations(backend))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (_, name, sha384) in RELEASED_0_1_0.iter().filter(|r| r.0 == backend) {
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        let m = current
            .iter()
            .find(|m| m.version == version)
            .unwrap_or_else(|| panic!("migrations/{backend}/{name}, released in 0.1.0, is gone"));
        let hex: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex, *sha384,
            "migrations/{backend}/{name} has changed since 0.1.0 released it: \
             every database that applied it would refuse this release (migrations/README.md)"
        );
        std::fs::copy(migrations(backend).join(name), dir.path().join(name)).unwrap();
    }
    dir
}

/// How many migrations this release has for `backend`, counted from its folder.
fn current_count(backend: &str) -> u64 {
    std::fs::read_dir(migrations(backend))
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
    let files = released(backend).await;
    let migrator = sqlx::migrate::Migrator::new(files.path()).await.unwrap();
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
    let applied = crate::helpers::count_on(url, "SELECT COUNT(*) FROM _sqlx_migrations").await;
    let store = Store::connect(url, &StoreOptions::default()).await.unwrap();
    let e = store.migrate().await.unwrap_err();
    assert_eq!(e.kind(), handoff::store::ErrorKind::Schema);
    let said = handoff::error_chain(&e);
    assert!(
        said.contains("migration 29991231000001 was previously applied but is missing"),
        "{said}"
    );
    store.close().await;
    assert_eq!(
        crate::helpers::count_on(url, "SELECT COUNT(*) FROM _sqlx_migrations").await,
        applied,
        "nothing applied"
    );
}

/// A migration applied with other text than this release's, or left half
/// done, is refused with what is wrong, and the daemon would not wait for it
/// to change (a schema kind, not a passing one).
#[tokio::test]
async fn a_changed_or_unfinished_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql, said) in [
        (
            "changed",
            "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 20261125000002",
            "migration 20261125000002 was previously applied but has been modified",
        ),
        (
            "unfinished",
            "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 20261126000002",
            "migration 20261126000002 is partially applied",
        ),
    ] {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("{name}.db")).display()
        );
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        crate::helpers::exec_on(&url, sql).await;
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .unwrap();
        let e = store.migrate().await.unwrap_err();
        assert_eq!(e.kind(), handoff::store::ErrorKind::Schema, "{name}");
        assert!(handoff::error_chain(&e).contains(said), "{name}: {e:?}");
        assert!(!e.kind().is_passing());
        store.close().await;
    }
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
