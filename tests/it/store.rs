//! The canonical schema and the store's writes, on every backend.

use handoff::model::{Deal, Lead, Rep, Table, Touch};
use handoff::store::UpsertColumns;

use crate::helpers::{TestDb, backend_tests, utc};

backend_tests!(
    migrating_twice_changes_nothing,
    rows_round_trip_exactly,
    ids_and_groups_are_case_sensitive,
    partial_upsert_keeps_other_columns,
    rollback_leaves_nothing,
    metadata_round_trips,
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
