//! Who slipped, by name (docs/eval.md "Who slipped"): per-rep tallies, lists
//! ordered for action, sales' close reasons and the money of leakage, on
//! hand-built rows whose every figure is worked out in the comments. The same
//! rows run on SQLite, PostgreSQL and MariaDB, and each server's JSON is
//! compared byte for byte with SQLite's.

use handoff::eval::{Evaluation, GroupResult, evaluate, words};
use handoff::import::import_dir;
use handoff::progress::Progress;
use handoff::rules::{RuleSet, load_str};
use serde_json::{Value, json};

use crate::helpers::{TestDb, backend_tests, csv_dir, handoff, utc};

backend_tests!(the_reps_behind_each_figure_are_named_and_counted);

/// The evaluation instant: Friday 20 November 2026, noon UTC.
const AT: &str = "2026-11-20T12:00:00Z";

const REPS: &str = "id,name,team\nR1,Maya Chen,na\nR2,Tom Walsh,na\nR3,Priya Okafor,na\n";

// speed (1h, rolling 28d: MQLs from Oct 23 12:00; due before the instant):
//   A1 R1 worked (attempt 30 min after).      A2 R1 late, tried after 3h.
//   A3 R3 never tried, open: due 11-18 10:00, 50h overdue.
//   A4 R3 never tried, open: due 11-19 09:00, 27h overdue.
//   A5 R3 never tried, closed 11-13: late, no longer open.
//   A6 no owner, never tried, open: due 11-19 10:00, 26h overdue.
//   A7 R2 due 12:30 today: not judged yet.
//   A8 R3 never tried, accepted 11-15: late, not open.
//   A9 R2 worked.   B1, B2, B4, B5 worked at their deadline or sooner;
//   B3 no owner, never tried, closed.
// Due 13, worked 6, late 7, never tried 6, still open 3.
//   R3: due 5 (A3 A4 A5 A8 B1), worked 1, late 4, never 4, open 2.
//   R1: due 4 (A1 A2 B2 B4), worked 3, late 1.   R2: due 2, worked 2.
//   No owner: due 2 (A6 B3), late 2, never 2, open 1.
//
// persistence (3 attempts, closed in the 28 days, never connected, no deal):
//   A5 R3 0 attempts; B1 R3 1; B2 R1 3 (kept); B3 no owner 0; B4 R1 2;
//   B5 connected, not given up. Given up 5, under 3: 4 (A5 B1 B3 B4).
//   R3 2 of 2, R1 1 of 2, no owner 1 of 1. Owned first: A5 B1 B4, then B3.
//   channel-min owes paid search 1 attempt, the rest 3:
//   paid_search B1 1 (kept), B2 3 (kept), B3 0: 2 of 3, violating B3.
//   webinar A5 0, B4 2: 0 of 2, violating A5 (R3) then B4 (R1).
//
// acceptance (by channel, month from Nov 1, judged when a day old):
//   paid_search B1 rejected (unqualified), B2 accepted and closed
//   (no_response), B3 rejected (unqualified): 1 of 3; reasons
//   unqualified 2, no_response 1.
//   webinar A1–A6, A8, A9, B4, B5 (A7 too young): accepted A8 and B4, none
//   rejected: 2 of 2; reasons: A5 and B4 closed no_response, B5 closed
//   bad_timing.
const LEADS: &str = "\
id,created_at,mql_at,owner_id,channel,accepted_at,rejected_at,closed_at,close_reason
A1,2026-11-10T09:00:00Z,2026-11-10T09:00:00Z,R1,webinar,,,,
A2,2026-11-10T10:00:00Z,2026-11-10T10:00:00Z,R1,webinar,,,,
A3,2026-11-18T09:00:00Z,2026-11-18T09:00:00Z,R3,webinar,,,,
A4,2026-11-19T08:00:00Z,2026-11-19T08:00:00Z,R3,webinar,,,,
A5,2026-11-12T09:00:00Z,2026-11-12T09:00:00Z,R3,webinar,,,2026-11-13T09:00:00Z,no_response
A6,2026-11-19T09:00:00Z,2026-11-19T09:00:00Z,,webinar,,,,
A7,2026-11-20T11:30:00Z,2026-11-20T11:30:00Z,R2,webinar,,,,
A8,2026-11-15T09:00:00Z,2026-11-15T09:00:00Z,R3,webinar,2026-11-15T12:00:00Z,,,
A9,2026-11-16T09:00:00Z,2026-11-16T09:00:00Z,R2,webinar,,,,
B1,2026-11-01T09:00:00Z,2026-11-01T09:00:00Z,R3,paid_search,,2026-11-03T09:00:00Z,2026-11-05T09:00:00Z,unqualified
B2,2026-11-01T09:00:00Z,2026-11-01T09:00:00Z,R1,paid_search,2026-11-02T09:00:00Z,,2026-11-06T09:00:00Z,no_response
B3,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z,,paid_search,,2026-11-03T09:00:00Z,2026-11-04T09:00:00Z,unqualified
B4,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z,R1,webinar,2026-11-03T09:00:00Z,,2026-11-07T09:00:00Z,no_response
B5,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z,R2,webinar,,,2026-11-08T09:00:00Z,bad_timing
";

const TOUCHES: &str = "\
id,lead_id,occurred_at,kind,direction,outcome,automated
T1,A1,2026-11-10T09:30:00Z,call,outbound,no_answer,false
T2,A2,2026-11-10T13:00:00Z,call,outbound,no_answer,false
T3,A9,2026-11-16T09:10:00Z,call,outbound,no_answer,false
T4,B1,2026-11-01T10:00:00Z,call,outbound,no_answer,false
T5,B2,2026-11-01T10:00:00Z,call,outbound,no_answer,false
T6,B2,2026-11-02T10:00:00Z,call,outbound,no_answer,false
T7,B2,2026-11-03T10:00:00Z,call,outbound,no_answer,false
T8,B4,2026-11-02T10:00:00Z,call,outbound,no_answer,false
T9,B4,2026-11-03T10:00:00Z,call,outbound,voicemail,false
T10,B5,2026-11-02T10:00:00Z,call,outbound,connected,false
T11,A6,2026-11-19T09:05:00Z,email,outbound,,true
";

const RULES: &str = "version: 1
timezone: UTC
currency: EUR
teams:
  sales: { email: [sales@acme.example] }
objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
  - name: persistence
    kind: contact_attempts
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    min_attempts: 3
    target: 0.9
  - name: acceptance
    kind: lead_quality
    owner: sales
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    mature_after: 1d
    target: 0.6
  - name: speed-by-rep
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    by: rep
    respond_within: 1h
    target: 0.9
  - name: channel-min
    kind: contact_attempts
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    by: channel
    min_attempts: { paid_search: 1, default: 3 }
    target: 0.9
";

async fn load(db: &TestDb) {
    let dir = csv_dir(&[
        ("reps.csv", REPS),
        ("leads.csv", LEADS),
        ("touches.csv", TOUCHES),
        ("deals.csv", "id,lead_id,created_at,closed_at,amount,won\n"),
    ]);
    let report = import_dir(&db.store, dir.path(), &Progress::hidden())
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
}

fn rules() -> RuleSet {
    load_str("sla.yaml", RULES).unwrap_or_else(|e| panic!("{e}"))
}

fn result<'a>(e: &'a Evaluation, objective: &str, group: &str) -> &'a GroupResult {
    e.objective(objective)
        .and_then(|o| o.group(group))
        .unwrap_or_else(|| panic!("no {objective} ({group}) in {e:#?}"))
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect()
}

async fn the_reps_behind_each_figure_are_named_and_counted(db: TestDb) {
    load(&db).await;
    let rules = rules();
    let e = evaluate(&rules, &db.store, utc(AT)).await;
    assert!(!e.has_errors(), "{e:#?}");

    // speed: 6 of 13, the figure itself unchanged by the tallies.
    let speed = result(&e, "speed", "all");
    assert_eq!(
        (speed.value, speed.numerator, speed.denominator),
        (Some(6.0 / 13.0), Some(6.0), Some(13.0))
    );
    let d = speed.details_json();
    assert_eq!(
        (&d["late"], &d["never_attempted"], &d["overdue_open"]),
        (&json!(7), &json!(6), &json!(3))
    );
    assert_eq!(
        d["by_rep"],
        json!([
            {"eligible": 5, "late": 4, "name": "Priya Okafor", "never_attempted": 4, "overdue_open": 2, "rep": "R3", "worked": 1},
            {"eligible": 4, "late": 1, "name": "Maya Chen", "never_attempted": 0, "overdue_open": 0, "rep": "R1", "worked": 3},
            {"eligible": 2, "late": 0, "name": "Tom Walsh", "never_attempted": 0, "overdue_open": 0, "rep": "R2", "worked": 2},
        ])
    );
    assert_eq!(
        d["unassigned"],
        json!({"eligible": 2, "late": 2, "name": null, "never_attempted": 2, "overdue_open": 1, "rep": null, "worked": 0})
    );
    // The leads to call now, the longest overdue first, with how long.
    assert_eq!(
        d["overdue_leads"],
        json!([
            {"deadline": "2026-11-18T10:00:00Z", "id": "A3", "mql_at": "2026-11-18T09:00:00Z", "overdue_seconds": 50 * 3600, "owner": "R3", "owner_name": "Priya Okafor"},
            {"deadline": "2026-11-19T09:00:00Z", "id": "A4", "mql_at": "2026-11-19T08:00:00Z", "overdue_seconds": 27 * 3600, "owner": "R3", "owner_name": "Priya Okafor"},
            {"deadline": "2026-11-19T10:00:00Z", "id": "A6", "mql_at": "2026-11-19T09:00:00Z", "overdue_seconds": 26 * 3600, "owner": null, "owner_name": null},
        ])
    );
    // Then the rest of the misses, by hand-off.
    assert_eq!(ids(&d["late_leads"]), ["B3", "A2", "A5", "A8"]);
    assert_eq!(d["late_leads"][1]["owner_name"], "Maya Chen");
    let o = rules.objective("speed").unwrap();
    assert_eq!(
        words::action(o, speed).as_deref(),
        Some(
            "Call 3 leads today: past the deadline, never tried and still open; \
             2 are R3 Priya Okafor's; 1 has no owner: route it first."
        )
    );

    // persistence: 1 of 5 kept; R3 gave up on 2 of 2, half the violations.
    let p = result(&e, "persistence", "all");
    assert_eq!(
        (p.value, p.numerator, p.denominator),
        (Some(0.2), Some(1.0), Some(5.0))
    );
    let d = p.details_json();
    assert_eq!(
        d["by_rep"],
        json!([
            {"abandoned": 2, "name": "Priya Okafor", "rep": "R3", "violating": 2},
            {"abandoned": 2, "name": "Maya Chen", "rep": "R1", "violating": 1},
        ])
    );
    assert_eq!(
        d["unassigned"],
        json!({"abandoned": 1, "name": null, "rep": null, "violating": 1})
    );
    assert_eq!(ids(&d["violating_leads"]), ["A5", "B1", "B4", "B3"]);
    assert_eq!(
        words::top_reps(p, 3),
        [
            "R3 Priya Okafor: 2 of 2 given up under 3 attempts, 50% of violations",
            "R1 Maya Chen: 1 of 2 given up under 3 attempts, 25% of violations",
            "(no owner): 1 of 1 given up under 3 attempts, 25% of violations",
        ]
    );

    // Each channel owes its own minimum.
    let by_channel = |g| {
        let r = result(&e, "channel-min", g);
        let d = r.details_json();
        (
            r.numerator,
            r.denominator,
            d["min_attempts"].clone(),
            ids(&d["violating_leads"])
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        by_channel("paid_search"),
        (Some(2.0), Some(3.0), json!(1), vec!["B3".to_owned()])
    );
    assert_eq!(
        by_channel("webinar"),
        (
            Some(0.0),
            Some(2.0),
            json!(3),
            vec!["A5".to_owned(), "B4".to_owned()]
        )
    );

    // acceptance: paid search named, with sales' reasons.
    let paid = result(&e, "acceptance", "paid_search");
    assert_eq!(
        (paid.value, paid.numerator, paid.denominator),
        (Some(1.0 / 3.0), Some(1.0), Some(3.0))
    );
    assert_eq!(
        paid.details_json()["close_reasons"],
        json!({"no_response": 1, "unqualified": 2})
    );
    assert_eq!(
        words::reasons(paid).as_deref(),
        Some("unqualified 2, no_response 1")
    );
    let webinar = result(&e, "acceptance", "webinar");
    assert_eq!((webinar.value, webinar.denominator), (Some(1.0), Some(2.0)));
    assert_eq!(
        webinar.details_json()["close_reasons"],
        json!({"bad_timing": 1, "no_response": 2})
    );

    // by: rep: the group is the id, the name beside it.
    let r3 = result(&e, "speed-by-rep", "R3");
    assert_eq!(r3.group_name.as_deref(), Some("Priya Okafor"));
    assert_eq!((r3.numerator, r3.denominator), (Some(1.0), Some(5.0)));
    let unowned = result(&e, "speed-by-rep", "unknown");
    assert_eq!(unowned.group_name, None);
    assert_eq!(unowned.denominator, Some(2.0));

    // Every backend gives SQLite's JSON, byte for byte.
    let sqlite = TestDb::sqlite().await;
    load(&sqlite).await;
    let reference = evaluate(&rules, &sqlite.store, utc(AT)).await;
    assert_eq!(e.to_json().to_string(), reference.to_json().to_string());
}

#[tokio::test]
async fn the_table_opens_with_what_to_do_and_names_the_reps() {
    let db = TestDb::sqlite().await;
    load(&db).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sla.yaml"), RULES).unwrap();
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args(["eval", "--at", AT])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // The rep group reads as id and name.
    assert!(text.contains("\nspeed-by-rep  R3 Priya Okafor "), "{text}");
    let speed = text.split("\n  speed: ").nth(1).expect("speed's list");
    let lines: Vec<&str> = speed.lines().map(str::trim).collect();
    assert_eq!(
        lines[0],
        "7 of 13 MQLs without an attempt within 1h, 3 of them still open and never tried"
    );
    assert!(lines[1].starts_with("Call 3 leads today"), "{text}");
    assert_eq!(
        lines[2],
        "R3 Priya Okafor: 4 of 5 late (2 never tried and still open), 57% of the misses"
    );
    assert!(lines[3].starts_with("R1 Maya Chen: 1 of 4 late"), "{text}");
    assert!(lines[4].starts_with("(no owner): 2 of 2 late"), "{text}");
    // The first lead to call: due Wed 18 Nov 10:00, 2 days 2 hours overdue.
    assert_eq!(
        lines[5],
        "A3  R3 Priya Okafor  due Wed 18 Nov 10:00, overdue 2d 2h, never tried"
    );
    assert!(text.contains("acceptance (paid_search): 2 of 3 decided MQLs rejected"));
    // Paid search: B1 and B3 rejected; B2 accepted, then closed.
    assert!(
        text.contains(
            "go through the 2 rejected MQLs of paid_search with sales; the reasons sales \
             gave for the MQLs it rejected or closed: unqualified 2, no_response 1."
        ),
        "{text}"
    );
}
