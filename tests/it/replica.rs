//! `--read-database`: the lead queries read a replica, handoff's own state
//! stays on the primary, and figures from a replica further behind than
//! `--max-replica-lag` are never shown as current.
//!
//! On SQLite the "replica" is a second file holding other leads, so that
//! every figure says which database it was read from. With the
//! `replica-tests` feature, a real PostgreSQL streaming replica
//! (`.ci/replica-setup`: the cluster on 5432 streaming to one on 5433) is
//! paused and resumed under a running daemon.

use std::time::Duration;

use handoff::store::{ErrorKind, Store, StoreError, StoreOptions};

use crate::daemon::{
    NOVEMBER_LEADS, NOVEMBER_TOUCHES, TWO_WEBINAR_LEADS, TWO_WEBINAR_TOUCHES, count, evaluated,
    http, options, rules_dir, rules_text, sample,
};
use crate::eval::load;
use crate::helpers::{TestDb, backend_tests, handoff, utc};

backend_tests!(a_database_read_as_its_own_replica_is_current);

/// Lead volume by channel in November 2026, evaluated once on start.
const VOLUME: &str = "  - name: volume
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    target: { webinar: 10, paid_search: 1 }
";

/// A database given as its own read replica: not one (not in recovery, no
/// replication status), so 0 s behind, on every backend: the lag is asked
/// with each backend's own statement, and the figures are read after it.
async fn a_database_read_as_its_own_replica_is_current(db: TestDb) {
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let store = db
        .store
        .clone()
        .with_read_replica(&db.url, &StoreOptions::default(), Duration::ZERO)
        .await
        .unwrap();
    let rules = handoff::rules::load_str("t.yaml", &rules_text(VOLUME)).unwrap();
    let volume = rules.objective("volume").unwrap();
    let at = utc("2026-11-20T12:00:00Z");
    let result = handoff::eval::run_objective(volume, &store, at, Duration::from_secs(30)).await;
    assert!(result.failure().is_none(), "{result:?}");
    let webinar = result
        .results
        .iter()
        .find(|r| r.group == "webinar")
        .unwrap();
    assert_eq!(webinar.value, Some(3.0));
    assert_eq!(store.replica_lag().unwrap().seconds(), Some(0.0));
    store.close().await;
}

/// The primary and its "replica": two SQLite files with different leads.
/// The primary holds November's four MQLs (3 webinar, 1 paid search), the
/// replica two webinar MQLs.
async fn two_files() -> (TestDb, TestDb, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let primary = TestDb::sqlite_at(&dir.path().join("primary.db")).await;
    let replica = TestDb::sqlite_at(&dir.path().join("replica.db")).await;
    load(&primary, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    load(&replica, TWO_WEBINAR_LEADS, TWO_WEBINAR_TOUCHES, "").await;
    (primary, replica, dir)
}

#[tokio::test]
async fn the_daemon_reads_leads_from_the_replica_and_keeps_its_state_on_the_primary() {
    let (primary, replica, _dir) = two_files().await;
    let rules = rules_dir(VOLUME);
    let store = Store::connect(&primary.url, &StoreOptions::default())
        .await
        .unwrap()
        .with_read_replica(
            &replica.url,
            &StoreOptions::default(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let set = handoff::rules::load_dir(rules.path()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let daemon = handoff::daemon::Daemon::new(
        store,
        set,
        rules.path().to_owned(),
        options(utc("2026-11-20T12:00:00Z")),
    );
    let task = tokio::spawn(handoff::daemon::run_with(daemon.clone(), listener));
    evaluated(addr, 1).await;

    // The replica's two webinar MQLs, not the primary's three; the primary's
    // paid-search MQL is nowhere.
    let (status, scrape) = http(addr, "GET", "/metrics", None).await;
    assert_eq!(status, 200);
    let webinar = [("objective", "volume"), ("group", "webinar")];
    assert_eq!(
        sample(&scrape, "handoff_objective_value", &webinar),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_objective_value",
            &[("objective", "volume"), ("group", "paid_search")]
        ),
        Some(0.0),
        "the target names paid_search; the replica has none of its MQLs"
    );
    // A file has no primary to lag behind.
    assert_eq!(
        sample(&scrape, "handoff_read_replica_lag_seconds", &[]),
        Some(0.0)
    );
    assert!(
        scrape.contains("# HELP handoff_read_replica_lag_seconds "),
        "{scrape}"
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_evaluation_failures_total",
            &[("objective", "volume"), ("reason", "stale_replica")]
        ),
        Some(0.0),
        "every reason starts at 0"
    );

    // The record goes to the primary only: results history, alert state,
    // the change log.
    daemon.stop();
    task.await.unwrap().unwrap();
    for table in ["handoff_results", "handoff_alerts", "handoff_rule_sets"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert!(count(&primary, &sql).await > 0, "{table} on the primary");
        assert_eq!(count(&replica, &sql).await, 0, "{table} on the replica");
    }
    // The results history holds the replica's figure.
    assert_eq!(
        count(
            &primary,
            "SELECT CAST(value AS INTEGER) FROM handoff_results WHERE objective = 'volume' AND grp = 'webinar'"
        )
        .await,
        2
    );
}

/// Without a replica the lag is not exported at all.
#[tokio::test]
async fn no_lag_metric_without_a_replica() {
    let db = TestDb::sqlite().await;
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let rules = rules_dir(VOLUME);
    let run = crate::daemon::start(&db, rules.path(), options(utc("2026-11-20T12:00:00Z"))).await;
    evaluated(run.addr, 1).await;
    let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
    assert!(
        !scrape.contains("handoff_read_replica_lag_seconds"),
        "{scrape}"
    );
    // The primary's three webinar MQLs.
    let webinar = [("objective", "volume"), ("group", "webinar")];
    assert_eq!(
        sample(&scrape, "handoff_objective_value", &webinar),
        Some(3.0)
    );
    run.stop().await;
}

#[tokio::test]
async fn the_store_sends_lead_reads_to_the_replica_and_state_reads_to_the_primary() {
    let (primary, replica, dir) = two_files().await;
    primary
        .exec("INSERT INTO handoff_meta (name, value) VALUES ('site', 'primary')")
        .await;
    replica
        .exec("INSERT INTO handoff_meta (name, value) VALUES ('site', 'replica')")
        .await;
    let store = Store::connect(&primary.url, &StoreOptions::default())
        .await
        .unwrap()
        .with_read_replica(&replica.url, &StoreOptions::default(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        store.read_replica(),
        Some(
            format!(
                "SQLite database {}",
                dir.path().join("replica.db").display()
            )
            .as_str()
        )
    );
    // Leads: 2 on the replica (4 on the primary). A lag of 0 is not more
    // than a --max-replica-lag of 0.
    assert_eq!(store.count(handoff::model::Table::Leads).await.unwrap(), 2);
    let mut r = store.reader(Duration::from_secs(30)).await.unwrap();
    let counts = r
        .mql_counts(
            None,
            utc("2026-11-01T00:00:00Z"),
            utc("2026-12-01T00:00:00Z"),
        )
        .await
        .unwrap();
    r.finish().await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].leads, 2);
    assert_eq!(store.replica_lag().unwrap().seconds(), Some(0.0));
    assert_eq!(store.replica_lag().unwrap().readings(), 1);
    // Metadata is the primary's own.
    assert_eq!(
        store.meta("site").await.unwrap().as_deref(),
        Some("primary")
    );
}

#[tokio::test]
async fn a_replica_of_another_kind_of_database_is_a_configuration_error() {
    let db = TestDb::sqlite().await;
    // Refused before anything connects: no server answers at this port.
    let err = db
        .store
        .clone()
        .with_read_replica(
            "postgres://handoff:s3cret@127.0.0.1:1/crm",
            &StoreOptions::default(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(matches!(err, StoreError::ReplicaBackend { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the read database is PostgreSQL and the database SQLite: a read replica is a copy of \
         its primary, so both URLs name the same kind of database"
    );
}

#[tokio::test]
async fn a_missing_sqlite_replica_is_never_created() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("replica.db");
    let err = db
        .store
        .clone()
        .with_read_replica(
            &format!("sqlite://{}", missing.display()),
            &StoreOptions::default(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(!missing.exists());
}

/// `handoff eval --read-database`: the replica's figures; an unknown kind of
/// replica URL is refused with the reason.
#[tokio::test]
async fn eval_reads_the_replica_given_on_the_command_line() {
    let (primary, replica, dir) = two_files().await;
    let rules = rules_dir(VOLUME);
    let run = |extra: &[&str]| {
        handoff()
            .args(["--database", &primary.url, "--rules"])
            .arg(rules.path())
            .args(extra)
            .args(["eval", "--at", "2026-11-20T12:00:00Z", "--format", "json"])
            .output()
            .unwrap()
    };
    let webinar = |out: &std::process::Output| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        v["objectives"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["group"] == "webinar")
            .unwrap()["value"]
            .clone()
    };
    // The primary alone: its three webinar MQLs.
    assert_eq!(webinar(&run(&[])), 3);
    // With the replica: its two.
    let out = run(&["--read-database", &replica.url, "--max-replica-lag", "5s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(webinar(&out), 2);
    // The same from the environment.
    let out = handoff()
        .args(["--database", &primary.url, "--rules"])
        .arg(rules.path())
        .env("HANDOFF_READ_DATABASE", &replica.url)
        .args(["eval", "--at", "2026-11-20T12:00:00Z", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(webinar(&out), 2);
    // And from a file, as systemd's LoadCredential= hands it over.
    let file = dir.path().join("read-database-url");
    std::fs::write(&file, format!("{}\n", replica.url)).unwrap();
    let out = handoff()
        .args(["--database", &primary.url, "--rules"])
        .arg(rules.path())
        .env("HANDOFF_READ_DATABASE_FILE", &file)
        .args(["eval", "--at", "2026-11-20T12:00:00Z", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(webinar(&out), 2);

    let out = run(&["--read-database", "mysql://root:pw@127.0.0.1:1/crm"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot evaluate on the read database (--read-database)")
            && stderr.contains("the read database is MySQL/MariaDB and the database SQLite"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw@"), "{stderr}");
    let out = run(&["--max-replica-lag", "soon"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

/// A real streaming replica: `.ci/replica-setup` makes the cluster on 5433
/// stream from the one on 5432. The daemon reads the replica while it is
/// current, fails with `stale_replica` while its replay is paused and the
/// primary moves on, and counts the new leads once it is resumed.
#[cfg(feature = "replica-tests")]
mod streaming {
    use super::*;
    use crate::daemon::{get_json, run_all};

    fn replica_url(database: &str) -> String {
        let base = std::env::var("HANDOFF_TEST_REPLICA_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5433/test".into());
        let base = base.rsplit_once('/').map(|(b, _)| b).unwrap().to_owned();
        format!("{base}/{database}")
    }

    /// Runs one statement on the replica's `postgres` database (replay
    /// control is per cluster).
    async fn on_replica(sql: &str) {
        let pool = sqlx::PgPool::connect(&replica_url("postgres"))
            .await
            .unwrap_or_else(|e| {
                panic!("the replica is required for this suite (.ci/replica-setup): {e}")
            });
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    }

    /// A store on `primary` reading the leads from `replica`.
    async fn replica_store(primary: &str, replica: &str, max_lag: Duration) -> Store {
        Store::connect(primary, &StoreOptions::default())
            .await
            .unwrap()
            .with_read_replica(replica, &StoreOptions::default(), max_lag)
            .await
            .unwrap()
    }

    /// Polls `check` every 200 ms for up to `secs` seconds.
    async fn within<F, Fut>(secs: u64, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let until = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < until {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("timed out after {secs} s waiting for {what}");
    }

    async fn scrape(addr: std::net::SocketAddr) -> String {
        let (status, body) = http(addr, "GET", "/metrics", None).await;
        assert_eq!(status, 200);
        body
    }

    fn webinar(v: &serde_json::Value) -> (String, serde_json::Value, String) {
        let r = v["objectives"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["group"] == "webinar" || r["group"] == "all")
            .unwrap()
            .clone();
        (
            r["status"].as_str().unwrap_or_default().to_owned(),
            r["value"].clone(),
            r["details"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    #[tokio::test]
    async fn a_paused_replica_is_stale_and_counts_again_once_resumed() {
        // A replica left paused by an earlier run would never catch up.
        on_replica("SELECT pg_wal_replay_resume()").await;
        let primary = TestDb::postgres().await;
        load(&primary, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
        let database = primary.url.rsplit_once('/').unwrap().1.to_owned();
        let replica_url = replica_url(&database);

        // The new database and its leads reach the replica.
        within(60, "the leads on the replica", || {
            let url = replica_url.clone();
            async move {
                let Ok(pool) = sqlx::PgPool::connect(&url).await else {
                    return false;
                };
                let n: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
                    .fetch_one(&pool)
                    .await;
                pool.close().await;
                matches!(n, Ok(4))
            }
        })
        .await;

        let max_lag = Duration::from_secs(3);
        let store = replica_store(&primary.url, &replica_url, max_lag).await;
        assert!(
            store.read_replica().unwrap().contains(":5433"),
            "{:?}",
            store.read_replica()
        );
        let rules = rules_dir(VOLUME);
        let set = handoff::rules::load_dir(rules.path()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The clock starts at 2026-11-20 12:00; the schedule is yearly, so
        // the test runs each evaluation after the first (`run_all`).
        let opts = options(utc("2026-11-20T12:00:00Z"));
        let daemon = handoff::daemon::Daemon::new(store, set, rules.path().to_owned(), opts);
        let task = tokio::spawn(handoff::daemon::run_with(daemon.clone(), listener));
        evaluated(addr, 1).await;

        // Current: the three webinar MQLs of November; the lag a few seconds
        // at most (0 when the replica has replayed all it received).
        let (status, value, _) = webinar(&get_json(addr, "/api/v1/objectives").await);
        assert_ne!(status, "error");
        assert_eq!(value, 3);
        let body = scrape(addr).await;
        let lag = sample(&body, "handoff_read_replica_lag_seconds", &[]).unwrap();
        eprintln!("lag while streaming: {lag} s");
        assert!((0.0..=2.0).contains(&lag), "{lag}");

        // Replay paused; the primary moves on (a new webinar MQL, and the
        // daemon's own record every second): the replica receives WAL it
        // does not apply, and its last replayed transaction ages.
        on_replica("SELECT pg_wal_replay_pause()").await;
        primary
            .exec(
                "INSERT INTO leads (id, created_at, mql_at, owner_id, channel) \
                 VALUES ('W4', '2026-01-01 00:00:00+00', '2026-11-06 10:00:00+00', 'R1', 'webinar')",
            )
            .await;
        let d = daemon.clone();
        within(30, "stale_replica", || {
            let d = d.clone();
            async move {
                run_all(&d).await;
                let (status, _, reason) = webinar(&get_json(addr, "/api/v1/objectives").await);
                status == "error" && reason == "stale_replica"
            }
        })
        .await;
        let v = get_json(addr, "/api/v1/objectives").await;
        let r = &v["objectives"][0]["results"][0];
        assert_eq!(r["group"], "all", "a failure is one result: {r}");
        assert!(r["value"].is_null(), "no figure from a stale replica: {r}");
        let message = r["details"]["error"].as_str().unwrap();
        assert!(
            message.contains("s behind the primary (more than --max-replica-lag 3s); figures from it would be stale"),
            "{message}"
        );
        eprintln!("{message}");
        let body = scrape(addr).await;
        let lag = sample(&body, "handoff_read_replica_lag_seconds", &[]).unwrap();
        eprintln!("lag while paused: {lag} s");
        assert!(lag > 3.0, "{lag}");
        assert!(
            sample(
                &body,
                "handoff_evaluation_failures_total",
                &[("objective", "volume"), ("reason", "stale_replica")]
            )
            .unwrap()
                >= 1.0
        );
        assert_eq!(
            sample(
                &body,
                "handoff_objective_status",
                &[("objective", "volume"), ("status", "error")]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &body,
                "handoff_objective_value",
                &[("objective", "volume"), ("group", "webinar")]
            ),
            None,
            "the stale figure is gone, not kept"
        );
        // Stale is not unreachable: the database answered.
        assert_eq!(http(addr, "GET", "/-/ready", None).await.0, 200);

        // Resumed: it catches up, and the new MQL counts.
        on_replica("SELECT pg_wal_replay_resume()").await;
        within(30, "the new lead counted", || {
            let d = d.clone();
            async move {
                run_all(&d).await;
                let (status, value, _) = webinar(&get_json(addr, "/api/v1/objectives").await);
                status != "error" && value == 4
            }
        })
        .await;
        let body = scrape(addr).await;
        let lag = sample(&body, "handoff_read_replica_lag_seconds", &[]).unwrap();
        eprintln!("lag once resumed: {lag} s");
        assert!((0.0..=3.0).contains(&lag), "{lag}");

        daemon.stop();
        task.await.unwrap().unwrap();

        // A replica that has had nothing to replay for a while and is now
        // applying a burst of changes is current a moment later: its reading
        // is not the age of the last transaction it applied before the burst
        // (over 5 s here), and the read that follows the reading sees the
        // burst. The read starts at once after the resume, while the replica
        // replays.
        let store = replica_store(&primary.url, &replica_url, max_lag).await;
        on_replica("SELECT pg_wal_replay_pause()").await;
        primary
            .exec(
                "INSERT INTO leads (id, created_at, mql_at, owner_id, channel) \
                 SELECT 'B' || g, '2026-01-01 00:00:00+00', '2026-11-07 10:00:00+00', 'R1', 'webinar' \
                 FROM generate_series(1, 100000) g",
            )
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        // Resumed on a connection already open, so the read follows within
        // a round trip.
        let control = sqlx::PgPool::connect(&self::replica_url("postgres"))
            .await
            .unwrap();
        sqlx::query("SELECT pg_wal_replay_resume()")
            .execute(&control)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let mut read = store.reader(Duration::from_secs(10)).await.unwrap();
        let waited = started.elapsed();
        let leads = read.count(handoff::model::Table::Leads).await.unwrap();
        read.finish().await.unwrap();
        let lag = store.replica_lag().unwrap().seconds().unwrap();
        eprintln!("lag just after a resume: {lag} s, read after {waited:?}, {leads} leads read");
        assert!(lag <= 1.0, "{lag}");
        assert_eq!(leads, 5 + 100_000, "the read is as current as its reading");
        control.close().await;

        // The results history is the primary's: the failures are in it too.
        assert!(
            count(
                &primary,
                "SELECT COUNT(*) FROM handoff_results WHERE status = 'error'"
            )
            .await
                > 0
        );
    }
}
