//! Lead notices (docs/LEADS.md) through the engine on a simulated clock and a
//! real database: what survives a restart, and the digests as people read
//! them. The shipped rule tests (rules/tests/leads.yaml) cover the timing of
//! each notice in business time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use handoff::daemon::Grouping;
use handoff::daemon::engine::{Input, Restored};
use handoff::daemon::leads::{self, Digest, Due, NoticeKind};
use handoff::daemon::replay::{Pace, Replay, notices};
use handoff::model::{Lead, Rep, Table};
use handoff::store::{InFlightLead, UpsertColumns};

use crate::helpers::{TestDb, backend_tests, utc};

backend_tests!(a_restart_between_handoff_and_reminder_tells_each_once);

fn shipped() -> Arc<handoff::rules::RuleSet> {
    Arc::new(
        handoff::rules::load_dir(std::path::Path::new("rules")).unwrap_or_else(|e| panic!("{e}")),
    )
}

/// A replay of the shipped rules that scans leads and keeps the lead log.
fn replay(db: &TestDb, start: DateTime<Utc>) -> Replay {
    let mail = notices(Grouping::default()).unwrap();
    let mut r = Replay::new(
        shipped(),
        Some(mail),
        db.store.describe().to_owned(),
        start,
        Pace::Every,
    );
    r.leads = true;
    r.keep_record = true;
    r
}

/// (receiver, subject) of the lead notices decided since `from`.
fn told(r: &Replay, from: usize) -> Vec<(String, String)> {
    r.notices[from..]
        .iter()
        .filter(|d| d.row.kind == leads::OUTBOX_KIND)
        .map(|d| (d.row.receiver.clone(), d.row.subject.clone()))
        .collect()
}

/// L1 is handed to Ana on Friday 4 Dec at 16:30 EST; the daemon tells her,
/// writes what it told, and stops. Started again on Monday from the database,
/// it sends the reminder (11:30 EST) and the overdue notice (12:30 EST) once
/// each, and never the hand-off again.
async fn a_restart_between_handoff_and_reminder_tells_each_once(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    let ana = Rep {
        id: "R1".into(),
        name: "Ana".into(),
        email: Some("ana@acme.example".into()),
        team: Some("sales-na".into()),
    };
    tx.upsert(&UpsertColumns::all(Table::Reps), &[ana])
        .await
        .unwrap();
    let mut lead = Lead::new("L1", utc("2026-12-04T21:30:00Z"));
    lead.mql_at = Some(utc("2026-12-04T21:30:00Z"));
    lead.owner_id = Some("R1".into());
    lead.channel = Some("webinar".into());
    tx.upsert(&UpsertColumns::all(Table::Leads), &[lead])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut first = replay(&db, utc("2026-12-04T21:31:00Z"));
    first.step(&db.store, utc("2026-12-04T21:31:00Z")).await;
    first.advance(&db.store, utc("2026-12-04T21:35:00Z")).await;
    assert_eq!(
        told(&first, 0),
        [(
            "ana@acme.example".to_owned(),
            "[handoff] MQL L1 (webinar) is yours: first attempt due by Mon 7 Dec 12:30 EST"
                .to_owned()
        )]
    );
    let record = std::mem::take(&mut first.record);
    assert_eq!(record.lead_notices.len(), 1);
    db.store.record(&record).await.unwrap();

    // Started again on Monday morning from what the database holds.
    let monday = utc("2026-12-07T14:00:00Z");
    let mut second = replay(&db, monday);
    let lead_log = db
        .store
        .lead_notices(monday - leads::LOG_KEPT)
        .await
        .unwrap();
    assert_eq!(lead_log.len(), 1, "{lead_log:?}");
    assert_eq!(lead_log[0].kind, "handoff");
    second.engine.handle(Input::Restored(Box::new(Restored {
        lead_log,
        now: monday,
        ..Restored::default()
    })));
    for at in [
        "2026-12-07T14:00:00Z",
        "2026-12-07T16:29:00Z",
        "2026-12-07T16:31:00Z",
        "2026-12-07T17:31:00Z",
        "2026-12-08T17:00:00Z",
    ] {
        second.step(&db.store, utc(at)).await;
    }
    second.advance(&db.store, utc("2026-12-09T00:00:00Z")).await;
    let at: Vec<(DateTime<Utc>, String)> = second
        .notices
        .iter()
        .filter(|d| d.row.kind == leads::OUTBOX_KIND)
        .map(|d| (d.row.created_at, d.row.receiver.clone()))
        .collect();
    // 75% of 4 business hours (3 h: 30 min on Friday, 2 h 30 on Monday) is
    // 11:30 EST = 16:30 UTC; the deadline 12:30 EST = 17:30 UTC; each mailed
    // after the 30 s group wait.
    assert_eq!(
        at,
        [
            (utc("2026-12-07T16:30:30Z"), "ana@acme.example".to_owned()),
            (
                utc("2026-12-07T17:30:30Z"),
                "sales-managers@acme.example".to_owned()
            ),
        ]
    );
    let subjects = told(&second, 0);
    assert!(
        subjects[0].1.starts_with("[handoff] Reminder: MQL L1"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].1.starts_with("[handoff] Overdue: MQL L1"),
        "{subjects:?}"
    );
    // The board shows it overdue, by rep.
    let view = &second.engine.board.leads["speed-to-lead"];
    assert_eq!((view.overdue, view.in_flight), (1, 0));
    assert_eq!(view.overdue_by_rep[0].owner.as_deref(), Some("R1"));
    // 2026-12-08T17:00 UTC is 12:00 EST on Tuesday: 4 h 30 of business time
    // since the deadline (Monday 12:30-17:00) plus 3 h (Tuesday 09:00-12:00).
    assert_eq!(view.overdue_leads[0].overdue_seconds, 7 * 3600 + 1800);
}

fn lead(id: &str, mql: &str, owner: Option<(&str, &str)>) -> InFlightLead {
    InFlightLead {
        id: id.to_owned(),
        mql_at: utc(mql),
        owner: owner.map(|o| o.0.to_owned()),
        owner_name: owner.map(|o| o.1.to_owned()),
        owner_email: owner.map(|o| format!("{}@acme.example", o.1.to_lowercase())),
        owner_team: Some("sales-na".to_owned()),
        channel: Some("webinar".to_owned()),
        score: Some(82.5),
    }
}

/// A rep's digest and a manager's, as reviewed (tests/snapshots/mail/).
#[test]
fn lead_digests_read_as_reviewed() {
    let rules = shipped();
    let o = rules.objective("speed-to-lead").unwrap();
    let templates = handoff::mail::render::Templates::load(None).unwrap();
    // Monday 7 Dec, 11:45 EST = 16:45 UTC.
    let at = utc("2026-12-07T16:45:00Z");
    let due = |kind, l: InFlightLead, deadline: &str| Due {
        kind,
        also: Vec::new(),
        lead: l,
        deadline: utc(deadline),
        since: at,
    };
    let rep = Digest {
        receiver: "ana@acme.example".to_owned(),
        objective: o.name.clone(),
        lines: vec![
            // Handed over Friday 16:30 EST: due Monday 12:30 EST, 45 min left.
            due(
                NoticeKind::Reminder,
                lead("L-1", "2026-12-04T21:30:00Z", Some(("R1", "Ana"))),
                "2026-12-07T17:30:00Z",
            ),
            // Handed over Monday 11:40 EST: due 15:40 EST, 3 h 55 min left.
            due(
                NoticeKind::Handoff,
                lead("L-2", "2026-12-07T16:40:00Z", Some(("R1", "Ana"))),
                "2026-12-07T20:40:00Z",
            ),
        ],
    };
    let managers = Digest {
        receiver: "sales-managers@acme.example".to_owned(),
        objective: o.name.clone(),
        lines: vec![
            // Due Monday 09:30 EST: 2 h 15 min of business time ago.
            due(
                NoticeKind::Overdue,
                lead("L-3", "2026-12-04T19:30:00Z", Some(("R2", "Bo"))),
                "2026-12-07T14:30:00Z",
            ),
            due(
                NoticeKind::Overdue,
                lead("L-4", "2026-12-04T20:00:00Z", None),
                "2026-12-07T15:00:00Z",
            ),
        ],
    };
    let mut wrong = Vec::new();
    for (name, d) in [
        ("lead_notice_rep", &rep),
        ("lead_notice_overdue", &managers),
    ] {
        let view = leads::view(&rules, o, d, at, Some("https://handoff.acme.example/"));
        let r = templates.render_leads(&view).unwrap();
        let text = format!("Subject: {}\n\n{}", r.subject, r.text);
        wrong.extend(crate::mail::snapshot(&format!("{name}.txt"), &text));
        wrong.extend(crate::mail::snapshot(&format!("{name}.html"), &r.html));
    }
    assert!(
        wrong.is_empty(),
        "mail differs from the reviewed snapshots (HANDOFF_UPDATE_SNAPSHOTS=1 writes them anew):\n{}",
        wrong.join("\n")
    );
}
