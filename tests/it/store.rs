//! The canonical schema and the store's writes, on every backend.

use handoff::model::{Deal, Lead, Rep, Table, Touch};
use std::time::{Duration, Instant};

use handoff::store::{ErrorKind, Store, StoreOptions, UpsertColumns};

use crate::helpers::{TestDb, backend_tests, utc};

backend_tests!(
    migrating_twice_changes_nothing,
    rows_round_trip_exactly,
    ids_and_groups_are_case_sensitive,
    partial_upsert_keeps_other_columns,
    rollback_leaves_nothing,
    metadata_round_trips,
    writes_do_not_wait_for_reads,
    text_that_frames_bulk_data_round_trips,
    a_read_stops_at_its_deadline,
);

fn rep(id: &str) -> Rep {
    Rep {
        id: id.into(),
        name: format!("Rep {id}"),
        email: None,
        team: Some("sales-na".into()),
    }
}

fn lead(id: &str, channel: Option<&str>) -> Lead {
    Lead {
        id: id.into(),
        created_at: utc("2026-03-02T14:05:00Z"),
        mql_at: Some(utc("2026-03-02T14:35:00.123456Z")),
        owner_id: Some("R1".into()),
        channel: channel.map(Into::into),
        campaign: Some("ps-brand, spring".into()),
        segment: Some("mid".into()),
        score: Some(71.25),
        accepted_at: None,
        rejected_at: Some(utc("2026-03-04T09:00:00Z")),
        closed_at: None,
        close_reason: Some("unqualified — “no budget”".into()),
    }
}

async fn migrating_twice_changes_nothing(db: TestDb) {
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    for table in Table::ALL {
        assert_eq!(db.store.count(table).await.unwrap(), 0, "{table}");
    }
}

async fn rows_round_trip_exactly(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert(&UpsertColumns::all(Table::Reps), &[rep("R1")])
        .await
        .unwrap();
    tx.upsert(
        &UpsertColumns::all(Table::Leads),
        &[lead("L1", Some("paid_search")), lead("L2", None)],
    )
    .await
    .unwrap();
    let touch = Touch {
        id: "T1".into(),
        lead_id: "L1".into(),
        rep_id: Some("R1".into()),
        occurred_at: utc("2026-03-02T14:40:00.000001Z"),
        kind: "call",
        direction: "outbound",
        outcome: Some("connected".into()),
        automated: false,
    };
    let auto = Touch {
        id: "T2".into(),
        rep_id: None,
        automated: true,
        kind: "email",
        outcome: None,
        ..touch.clone()
    };
    tx.upsert(
        &UpsertColumns::all(Table::Touches),
        &[touch.clone(), auto.clone()],
    )
    .await
    .unwrap();
    // 999999999999.99 is the largest amount the schema keeps; 0.07 catches
    // binary-float rounding of cents.
    let big = Deal {
        id: "D1".into(),
        lead_id: Some("L1".into()),
        created_at: utc("2026-03-10T00:00:00Z"),
        closed_at: None,
        amount_cents: 99_999_999_999_999,
        won: None,
    };
    let small = Deal {
        id: "D2".into(),
        amount_cents: 7,
        won: Some(false),
        closed_at: Some(utc("2026-04-01T12:00:00Z")),
        ..big.clone()
    };
    tx.upsert(
        &UpsertColumns::all(Table::Deals),
        &[big.clone(), small.clone()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let dump = db.dump().await;
    assert_eq!(dump.reps, vec![rep("R1")]);
    assert_eq!(
        dump.leads,
        vec![lead("L1", Some("paid_search")), lead("L2", None)]
    );
    assert_eq!(dump.touches, vec![touch, auto]);
    assert_eq!(dump.deals, vec![big, small]);
}

async fn ids_and_groups_are_case_sensitive(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert(&UpsertColumns::all(Table::Reps), &[rep("R1")])
        .await
        .unwrap();
    // Salesforce's 15-character ids differ only in case.
    tx.upsert(
        &UpsertColumns::all(Table::Leads),
        &[
            lead("00Qa1", Some("Webinar")),
            lead("00QA1", Some("webinar")),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.store.count(Table::Leads).await.unwrap(), 2);
    let groups = db
        .counts("SELECT COUNT(*) FROM (SELECT channel FROM leads GROUP BY channel) g")
        .await;
    assert_eq!(groups, vec![vec![Some(2)]]);
}

async fn partial_upsert_keeps_other_columns(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert(&UpsertColumns::all(Table::Reps), &[rep("R1")])
        .await
        .unwrap();
    tx.upsert(
        &UpsertColumns::all(Table::Leads),
        &[lead("L1", Some("webinar"))],
    )
    .await
    .unwrap();
    // Only id, the required created_at and closed_at are written: the channel
    // and everything else stay.
    let mut update = lead("L1", None);
    update.closed_at = Some(utc("2026-05-01T10:00:00Z"));
    let closed_at = Table::Leads.column("closed_at").unwrap();
    let created_at = Table::Leads.column("created_at").unwrap();
    tx.upsert(
        &UpsertColumns::new(Table::Leads, vec![created_at, closed_at]),
        &[update],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let leads = db.leads().await;
    let mut expected = lead("L1", Some("webinar"));
    expected.closed_at = Some(utc("2026-05-01T10:00:00Z"));
    assert_eq!(leads, vec![expected]);
}

async fn rollback_leaves_nothing(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert(&UpsertColumns::all(Table::Reps), &[rep("R1"), rep("R2")])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.store.count(Table::Reps).await.unwrap(), 0);
}

async fn metadata_round_trips(db: TestDb) {
    assert_eq!(db.store.meta("demo").await.unwrap(), None);
    let mut tx = db.store.begin().await.unwrap();
    tx.set_meta("demo", "seed=1").await.unwrap();
    tx.set_meta("demo", "seed=2").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        db.store.meta("demo").await.unwrap().as_deref(),
        Some("seed=2")
    );
}

/// An import looks ids up through a prepared statement, which PostgreSQL
/// plans generically from its sixth execution; on a table without statistics
/// yet (reps, before the import's closing ANALYZE), `id = ANY($1)` was then a
/// sequential scan searching the array row by row, 12 ms a batch. The generic
/// plan must hash the ids or probe the key, never filter by the array.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_id_lookups_hash_or_probe_on_generic_plans() {
    use handoff::store::{Backend, id_lookup_sql};
    let db = TestDb::postgres().await;
    let pool = db.raw_postgres();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query(
        "INSERT INTO reps (id, name) SELECT 'R' || g, 'rep' FROM generate_series(1, 1000) g",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    for table in [Table::Reps, Table::Leads] {
        let sql = id_lookup_sql(table, Backend::Postgres);
        assert!(sql.contains("$1") && !sql.contains("$2"), "{sql}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PREPARE lookup(text[]) AS {sql}"
        )))
        .execute(&mut *conn)
        .await
        .unwrap();
        let plan: Vec<(String,)> =
            sqlx::query_as("EXPLAIN EXECUTE lookup(ARRAY['R1', 'R2', 'R3'])")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let plan = plan.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n");
        assert!(!plan.contains("= ANY"), "{table}: {plan}");
        assert!(
            plan.contains("Hash") || plan.contains("_pkey"),
            "{table}: {plan}"
        );
        sqlx::raw_sql("DEALLOCATE lookup")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}

/// The README's worked example: the canonical tables as views over CRM sync
/// tables. `migrate` must keep the views, and the store must read through them.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_crm_views_survive_migrate() {
    let db = TestDb::postgres().await;
    let pool = db.raw_postgres();
    // A fresh database holds handoff's tables already; start from the CRM's state.
    for table in ["touches", "deals", "leads", "reps"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(pool)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE SCHEMA crm;
         CREATE TABLE crm.users (id text PRIMARY KEY, full_name text, email text, sales_team text);
         CREATE TABLE crm.leads (id text PRIMARY KEY, created_date timestamptz, owner_id text, lead_source text,
             campaign_name text, company_size_band text, lead_score double precision, sql_date timestamptz,
             disqualified_date timestamptz, closed_date timestamptz, closed_reason text, is_deleted boolean);
         CREATE TABLE crm.lead_status_history (lead_id text, new_status text, changed_at timestamptz);
         CREATE TABLE crm.tasks (id text PRIMARY KEY, lead_id text, owner_id text, completed_at timestamptz,
             task_type text, is_inbound boolean, call_result text, sequence_id text);
         CREATE TABLE crm.opportunities (id text PRIMARY KEY, converted_from_lead_id text, created_date timestamptz,
             close_date timestamptz, is_closed boolean, is_won boolean, amount numeric);
         INSERT INTO crm.users VALUES ('U1', 'Maya Chen', 'maya@acme.example', 'sales-na');
         INSERT INTO crm.leads VALUES ('L1', '2026-03-01T10:00:00Z', 'U1', 'Paid Search', 'ps-brand', 'SMB', 50,
             NULL, NULL, NULL, NULL, false), ('L2', '2026-03-01T11:00:00Z', 'U1', 'Webinar', NULL, 'Mid', 60,
             NULL, NULL, NULL, NULL, true);
         INSERT INTO crm.lead_status_history VALUES ('L1', 'MQL', '2026-03-05T09:00:00Z'),
             ('L1', 'Recycled', '2026-03-20T09:00:00Z'), ('L1', 'MQL', '2026-04-02T09:00:00Z');
         INSERT INTO crm.tasks VALUES ('T1', 'L1', 'U1', '2026-03-05T09:30:00Z', 'Call', false, 'No Answer', NULL),
             ('T2', 'L1', NULL, '2026-03-05T09:01:00Z', 'Email', false, NULL, 'SEQ-1');",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
        "../../docs/crm-views-postgres.sql"
    )))
    .execute(pool)
    .await
    .unwrap();

    db.store.migrate().await.unwrap();
    let kind: String = sqlx::query_scalar("SELECT table_type FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'leads'").fetch_one(pool).await.unwrap();
    assert_eq!(kind, "VIEW");
    // L2 is deleted in the CRM; L1's clock starts at its first hand-off, not the re-qualification.
    let leads = db.leads().await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].mql_at, Some(utc("2026-03-05T09:00:00Z")));
    assert_eq!(leads[0].channel.as_deref(), Some("paid_search"));
    let touches = db.touches().await;
    assert_eq!(
        (
            touches[0].kind,
            touches[0].outcome.as_deref(),
            touches[0].automated
        ),
        ("call", Some("no_answer"), false)
    );
    assert!(touches[1].automated);
}

/// On MariaDB, too, `migrate` leaves a view of a canonical table's name alone.
#[cfg(feature = "mysql-tests")]
#[tokio::test]
async fn mysql_views_survive_migrate() {
    let db = TestDb::mysql().await;
    let pool = db.raw_mysql();
    for table in ["touches", "deals", "leads", "reps"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(pool)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE crm_users (id VARCHAR(20) PRIMARY KEY, full_name VARCHAR(100));
         INSERT INTO crm_users VALUES ('U1', 'Maya Chen');
         CREATE VIEW reps AS SELECT id, full_name AS name, CAST(NULL AS CHAR) AS email, CAST(NULL AS CHAR) AS team FROM crm_users;",
    )
    .execute(pool)
    .await
    .unwrap();
    db.store.migrate().await.unwrap();
    let kind: String = sqlx::query_scalar("SELECT table_type FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'reps'").fetch_one(pool).await.unwrap();
    assert_eq!(kind, "VIEW");
    assert_eq!(db.store.count(Table::Reps).await.unwrap(), 1);
    // The other canonical tables were created as usual.
    assert_eq!(db.store.count(Table::Leads).await.unwrap(), 0);
}

/// Reads and writes have pools of their own: with every read connection taken
/// by a long evaluation, a write still goes through at once.
async fn writes_do_not_wait_for_reads(db: TestDb) {
    let store = db
        .store_with(&StoreOptions {
            read_connections: 1,
            connect_timeout: Duration::from_secs(2),
            ..StoreOptions::default()
        })
        .await;
    let mut reading = store.reader(Duration::from_secs(60)).await.unwrap();
    // A read has started: on SQLite the snapshot and its lock are taken.
    assert_eq!(reading.count(Table::Leads).await.unwrap(), 0);
    let started = Instant::now();
    let mut tx = store.begin().await.unwrap();
    tx.set_meta("probe", "written").await.unwrap();
    tx.commit().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    reading.finish().await.unwrap();
    assert_eq!(
        store.meta("probe").await.unwrap().as_deref(),
        Some("written")
    );
}

/// A server that refuses the connection is reported at once, with the
/// system's reason, each cause said once: no waiting out a timeout.
#[tokio::test]
async fn a_refused_connection_fails_at_once_with_its_cause() {
    // Nothing listens on port 1 of the loopback address.
    let cases = [
        (
            "postgres://postgres@127.0.0.1:1/crm",
            "cannot connect to PostgreSQL database crm on 127.0.0.1:1: ",
        ),
        (
            "mysql://root@127.0.0.1:1/crm",
            "cannot connect to MySQL/MariaDB database crm on 127.0.0.1:1: ",
        ),
    ];
    for (url, head) in cases {
        let started = Instant::now();
        let err = Store::connect(url, &StoreOptions::default())
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{url}: {:?}",
            started.elapsed()
        );
        assert_eq!(err.kind(), ErrorKind::Unreachable, "{url}");
        let text = handoff::error_chain(&err);
        assert!(text.starts_with(head), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
        let tail = text.rsplit(": ").next().unwrap();
        assert_eq!(text.matches(tail).count(), 1, "{text}");
    }
}

/// Bulk writes (COPY on PostgreSQL) carry tabs, line breaks, backslashes and
/// the text `\N` as they are, and null as null.
async fn text_that_frames_bulk_data_round_trips(db: TestDb) {
    let awkward = [
        "tab\there",
        "line\nbreak",
        "back\\slash",
        "\\N",
        "cr\rlf",
        "",
    ];
    let reps: Vec<Rep> = awkward
        .iter()
        .enumerate()
        .map(|(i, name)| Rep {
            id: format!("R{i}"),
            name: (*name).to_owned(),
            email: None,
            team: Some((*name).to_owned()),
        })
        .collect();
    let mut tx = db.store.begin().await.unwrap();
    tx.upsert(&UpsertColumns::all(Table::Reps), &reps)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.reps().await, reps);
}

/// A read's time limit covers all its statements: once it has passed, the next
/// statement is not even sent, and the failure says it was the time.
async fn a_read_stops_at_its_deadline(db: TestDb) {
    let mut reading = db.store.reader(Duration::from_millis(300)).await.unwrap();
    assert_eq!(reading.count(Table::Reps).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = reading.count(Table::Reps).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.to_string(), "time limit reached before counting");
    drop(reading);
    // The store is whole afterwards.
    assert_eq!(db.store.count(Table::Reps).await.unwrap(), 0);
}
