//! The stored words (statuses, alert states, severities, the notification
//! log's topics and states, the outbox's delivery states) on every backend:
//! each value comes back as itself, and a word the release does not know is
//! refused with the word and the column named, never read as another value.

use handoff::codes::{Change, Delivery, Severity, State, Status, Told, Topic};
use handoff::store::{AlertEvent, AlertRow, Journal, NotifyRow, OutboxRow, ResultRow};

use crate::helpers::{TestDb, backend_tests, utc};

backend_tests!(
    every_stored_word_reads_back_as_its_value,
    an_unknown_stored_word_is_an_error_naming_it,
);

fn alert(group: &str, state: State, severity: Option<Severity>, status: Status) -> AlertRow {
    let at = utc("2026-11-02T09:00:00Z");
    AlertRow {
        objective: "speed".to_owned(),
        group: group.to_owned(),
        state,
        severity,
        active_since: Some(at),
        fired_at: None,
        clear_since: None,
        error_since: None,
        status,
        value: Some(0.5),
        summary: format!("{group} summary"),
        definition: "d".to_owned(),
        updated_at: at,
    }
}

/// A journal with every word of every type.
pub(crate) fn journal() -> Journal {
    let at = utc("2026-11-02T09:00:00Z");
    let result = |group: &str, status| ResultRow {
        objective: "speed".to_owned(),
        group: group.to_owned(),
        evaluated_at: at,
        status,
        value: None,
        target: Some(0.9),
        numerator: None,
        denominator: None,
        details: "{}".to_owned(),
    };
    let event = |group: &str, from, to, severity| AlertEvent {
        objective: "speed".to_owned(),
        group: group.to_owned(),
        at,
        from_state: from,
        to_state: to,
        severity,
        status: Status::Breached,
        value: Some(0.5),
        summary: String::new(),
    };
    let told = |objective: &str, topic, state, severity| NotifyRow {
        receiver: "s@x".to_owned(),
        objective: objective.to_owned(),
        group: "all".to_owned(),
        topic,
        state,
        severity,
        episode: at,
        thread: "t".to_owned(),
        last_message: "m".to_owned(),
        sent_at: at,
    };
    let mail = |id: &str, state| OutboxRow {
        id: id.to_owned(),
        receiver: "s@x".to_owned(),
        objective: "speed".to_owned(),
        group: "all".to_owned(),
        kind: "breach".to_owned(),
        subject: "s".to_owned(),
        message: "m".to_owned(),
        created_at: at,
        state,
        attempts: 0,
        next_attempt_at: at,
        sent_at: None,
        last_error: None,
    };
    Journal {
        results: Status::ALL.iter().map(|s| result(s.as_str(), *s)).collect(),
        alerts: vec![
            alert("a", State::Inactive, None, Status::Ok),
            alert("b", State::Pending, Some(Severity::Warning), Status::AtRisk),
            alert(
                "c",
                State::Firing,
                Some(Severity::Critical),
                Status::Breached,
            ),
        ],
        events: vec![
            event(
                "a",
                State::Inactive,
                Change::Pending,
                Some(Severity::Warning),
            ),
            event(
                "b",
                State::Pending,
                Change::Firing,
                Some(Severity::Critical),
            ),
            event(
                "c",
                State::Firing,
                Change::Escalated,
                Some(Severity::Critical),
            ),
            event("d", State::Pending, Change::Cancelled, None),
            event("e", State::Firing, Change::Resolved, None),
        ],
        notified: vec![
            told("speed", Topic::Alert, Told::Firing, Some(Severity::Warning)),
            told("volume", Topic::Alert, Told::Resolved, None),
            told("speed", Topic::Period, Told::Missed, None),
            told("speed", Topic::Sla, Told::Told, None),
        ],
        // Only pending mail is read back.
        outbox: vec![
            mail("1", Delivery::Pending),
            mail("2", Delivery::Sent),
            mail("3", Delivery::Failed),
        ],
        ..Journal::default()
    }
}

async fn every_stored_word_reads_back_as_its_value(db: TestDb) {
    let j = journal();
    db.store.record(&j).await.unwrap();
    let mut results = Vec::new();
    let (from, to) = (utc("2026-11-01T00:00:00Z"), utc("2026-11-03T00:00:00Z"));
    db.store
        .results(None, from, to, 100, &mut |r| results.push(r))
        .await
        .unwrap();
    results.sort_by(|a, b| a.group.cmp(&b.group));
    let mut want = j.results.clone();
    want.sort_by(|a, b| a.group.cmp(&b.group));
    assert_eq!(results, want);

    let mut alerts = db.store.alert_rows().await.unwrap();
    alerts.sort_by(|a, b| a.group.cmp(&b.group));
    assert_eq!(alerts, j.alerts);

    let mut events = db.store.alert_events("speed", from, to, 100).await.unwrap();
    events.sort_by(|a, b| a.group.cmp(&b.group));
    assert_eq!(events, j.events);

    let mut log = db.store.notification_log().await.unwrap();
    log.sort_by(|a, b| (&a.objective, a.topic).cmp(&(&b.objective, b.topic)));
    let mut want = j.notified.clone();
    want.sort_by(|a, b| (&a.objective, a.topic).cmp(&(&b.objective, b.topic)));
    assert_eq!(log, want);

    let pending = db.store.pending_mail().await.unwrap();
    assert_eq!(pending, vec![j.outbox[0].clone()]);
}

/// The error `read` fails with, whole.
fn refusal<T: std::fmt::Debug>(read: Result<T, handoff::store::StoreError>) -> String {
    handoff::error_chain(&read.expect_err("an unknown word must be refused"))
}

async fn an_unknown_stored_word_is_an_error_naming_it(db: TestDb) {
    db.store.record(&journal()).await.unwrap();
    db.exec("UPDATE handoff_alerts SET state = 'flaring' WHERE grp = 'c'")
        .await;
    let e = refusal(db.store.alert_rows().await);
    assert!(e.contains("reading alert state"), "{e}");
    assert!(
        e.contains("unknown alert state `flaring` (known: inactive, pending, firing)"),
        "{e}"
    );

    db.exec("UPDATE handoff_alert_events SET severity = 'dire' WHERE grp = 'a'")
        .await;
    let (from, to) = (utc("2026-11-01T00:00:00Z"), utc("2026-11-03T00:00:00Z"));
    let e = refusal(db.store.alert_events("speed", from, to, 100).await);
    assert!(e.contains("unknown severity `dire`"), "{e}");

    db.exec("UPDATE handoff_results SET status = 'meh' WHERE grp = 'ok'")
        .await;
    let e = refusal(db.store.results(None, from, to, 100, &mut |_| {}).await);
    assert!(e.contains("unknown status `meh`"), "{e}");

    db.exec("UPDATE handoff_notifications SET topic = 'gossip' WHERE objective = 'volume'")
        .await;
    let e = refusal(db.store.notification_log().await);
    assert!(e.contains("unknown notification topic `gossip`"), "{e}");
}
