//! `handoff eval`: the five measures of docs/eval.md, worked out by hand.
//!
//! Each test loads a few rows through the CSV import (so every backend holds the
//! same data), evaluates at a fixed instant and compares with figures computed
//! in the comments beside the rows. The same fixtures run on SQLite, PostgreSQL
//! and MariaDB.

use std::time::Duration;

use chrono::{DateTime, Utc};
use handoff::eval::{
    Evaluation, FailureReason, GroupResult, Status, evaluate, evaluate_with_timeout, run_objective,
};
use handoff::import::import_dir;
use handoff::model::Table;
use handoff::progress::Progress;
use handoff::rules::{RuleSet, load_str};
use handoff::store::StoreOptions;
use serde_json::Value;

use crate::helpers::{TestDb, backend_tests, csv_dir, handoff, utc};

backend_tests!(
    lead_volume_counts_the_window_and_paces_the_month,
    lead_volume_months_follow_the_time_zone_and_business_hours,
    lead_quality_judges_only_mature_leads,
    percent_worked_counts_only_human_outbound_attempts_in_time,
    percent_worked_runs_the_clock_in_office_hours,
    contact_attempts_checks_the_leads_given_up_on,
    profitability_finds_the_last_attempt_that_pays,
    a_failing_objective_is_an_error_and_the_others_still_evaluate,
    the_database_stops_a_statement_past_its_limit,
    injection_through_rules_and_data_is_inert,
);

const REPS: &str = "id,name,team\nR1,Maya Chen,sales-na\nR2,Tom Walsh,\n";
const LEAD_HEADER: &str =
    "id,created_at,mql_at,owner_id,channel,accepted_at,rejected_at,closed_at\n";
const TOUCH_HEADER: &str = "id,lead_id,occurred_at,kind,direction,outcome,automated\n";
const DEAL_HEADER: &str = "id,lead_id,created_at,closed_at,amount,won\n";

/// Imports the given CSV texts (header lines are added), failing the test on any problem.
pub(crate) async fn load(db: &TestDb, leads: &str, touches: &str, deals: &str) {
    let leads = format!("{LEAD_HEADER}{leads}");
    let touches = format!("{TOUCH_HEADER}{touches}");
    let deals = format!("{DEAL_HEADER}{deals}");
    let dir = csv_dir(&[
        ("reps.csv", REPS),
        ("leads.csv", &leads),
        ("touches.csv", &touches),
        ("deals.csv", &deals),
    ]);
    let report = import_dir(&db.store, dir.path(), &Progress::hidden())
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
}

/// A rule set of one file with the given time zone, calendars and objectives.
fn rules(timezone: &str, rest: &str) -> RuleSet {
    let text = format!(
        "version: 1\ntimezone: {timezone}\nteams:\n  sales: {{ email: [sales@acme.example] }}\n{rest}"
    );
    load_str("t.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
}

async fn eval_at(db: &TestDb, rules: &RuleSet, at: &str) -> Evaluation {
    evaluate(rules, &db.store, utc(at)).await
}

fn result<'a>(e: &'a Evaluation, objective: &str, group: &str) -> &'a GroupResult {
    e.objective(objective)
        .unwrap_or_else(|| panic!("no objective {objective}"))
        .group(group)
        .unwrap_or_else(|| panic!("no group {group} in {objective}: {e:#?}"))
}

fn groups(e: &Evaluation, objective: &str) -> Vec<String> {
    e.objective(objective)
        .unwrap()
        .results
        .iter()
        .map(|r| r.group.clone())
        .collect()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[track_caller]
fn assert_close(a: Option<f64>, b: f64) {
    assert!(close(a, b), "{a:?} != {b}");
}

/// `(status, value, numerator, denominator)` of a ratio result.
fn ratio(r: &GroupResult) -> (Status, Option<f64>, Option<f64>, Option<f64>) {
    (r.status, r.value, r.numerator, r.denominator)
}

/// A number of the details, by its JSON key.
fn detail(r: &GroupResult, key: &str) -> Option<f64> {
    r.details_json().get(key).and_then(Value::as_f64)
}

fn ids(r: &GroupResult, key: &str) -> Vec<String> {
    r.details_json()[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------- lead_volume

async fn lead_volume_counts_the_window_and_paces_the_month(db: TestDb) {
    load(
        &db,
        "\
V1,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,
V2,2026-01-01T00:00:00Z,2026-10-31T23:59:59.999999Z,R1,webinar,,,
V3,2026-01-01T00:00:00Z,2026-11-16T00:00:00Z,R1,webinar,,,
V4,2026-01-01T00:00:00Z,2026-11-10T12:00:00Z,R1,webinar,,,
V5,2026-01-01T00:00:00Z,2026-11-05T12:00:00Z,R1,,,,
V6,2026-01-01T00:00:00Z,2026-11-02T12:00:00Z,R1,paid_search,,,
V7,2026-01-01T00:00:00Z,,R1,webinar,,,
",
        "",
        "",
    )
    .await;
    let rules = rules(
        "UTC",
        "objectives:
  - name: volume
    kind: lead_volume
    owner: sales
    schedule: '0 * * * * *'
    window: month
    by: channel
    target: { webinar: 10, events: 4 }
    warn_below: 0.9
",
    );
    // t = 16 Nov 00:00 UTC: half of November's 30 days have gone, window [1 Nov, t).
    let e = eval_at(&db, &rules, "2026-11-16T00:00:00Z").await;
    // webinar: V1 (exactly at the window's start) and V4; not V2 (a microsecond
    // before it), V3 (exactly at t) or V7 (never an MQL). delivered 2,
    // expected 10 × 0.5 = 5, pace 2 / 5 = 0.4 < 0.9 → at_risk, attainment 2 / 10.
    let w = result(&e, "volume", "webinar");
    assert_eq!(
        (w.status, w.value, w.target),
        (Status::AtRisk, Some(2.0), Some(10.0))
    );
    assert_close(detail(w, "expected"), 5.0);
    assert_close(detail(w, "pace"), 0.4);
    assert_close(detail(w, "attainment"), 0.2);
    // events is named by the target and has no leads: 0 of expected 2 → at_risk.
    let ev = result(&e, "volume", "events");
    assert_eq!((ev.status, ev.value), (Status::AtRisk, Some(0.0)));
    assert_close(detail(ev, "expected"), 2.0);
    assert_close(detail(ev, "pace"), 0.0);
    // paid_search has no target: reported, never alerts; V5's null channel is `unknown`.
    let ps = result(&e, "volume", "paid_search");
    assert_eq!(
        (ps.status, ps.value, ps.target),
        (Status::Ok, Some(1.0), None)
    );
    assert_eq!(ps.details_json()["expected"], Value::Null);
    let unknown = result(&e, "volume", "unknown");
    assert_eq!((unknown.status, unknown.value), (Status::Ok, Some(1.0)));
    assert_eq!(
        groups(&e, "volume"),
        ["events", "paid_search", "unknown", "webinar"]
    );

    // --at in the past: on 3 Nov 00:00 only V1 and V6 were known. webinar 1 of
    // expected 10 × 2/30 = 0.667: pace 1.5 → ok.
    let past = eval_at(&db, &rules, "2026-11-03T00:00:00Z").await;
    let w = result(&past, "volume", "webinar");
    assert_eq!((w.status, w.value), (Status::Ok, Some(1.0)));
    assert_close(detail(w, "expected"), 10.0 * 2.0 / 30.0);
    assert!(past.objective("volume").unwrap().group("unknown").is_none());
}

async fn lead_volume_months_follow_the_time_zone_and_business_hours(db: TestDb) {
    load(
        &db,
        "\
Z1,2026-01-01T00:00:00Z,2026-11-01T03:30:00Z,R1,webinar,,,
Z2,2026-01-01T00:00:00Z,2026-11-01T04:00:00Z,R1,webinar,,,
Z3,2026-01-01T00:00:00Z,2026-11-16T04:59:59Z,R1,webinar,,,
",
        "",
        "",
    )
    .await;
    let rules = rules(
        "America/New_York",
        "calendars:
  office:
    hours: { mon-fri: '09:00-17:00' }
    holidays: [2026-11-26]
objectives:
  - name: monthly
    kind: lead_volume
    owner: sales
    schedule: '0 * * * * *'
    window: month
    target: 10
    warn_below: 0.5
  - name: weekly
    kind: lead_volume
    owner: sales
    schedule: '0 * * * * *'
    window: week
    calendar: office
    target: 8
    warn_below: 0.5
",
    );
    // t = 16 Nov 05:00 UTC = 00:00 EST. November in New York starts on 1 Nov
    // 00:00 EDT = 04:00 UTC and ends on 1 Dec 00:00 EST = 05:00 UTC: 721 hours,
    // of which 361 have gone. Z1 (23:30 on 31 Oct, local) is October's.
    let e = eval_at(&db, &rules, "2026-11-16T05:00:00Z").await;
    let m = result(&e, "monthly", "all");
    assert_eq!(m.value, Some(2.0));
    assert_close(detail(m, "expected"), 10.0 * 361.0 / 721.0);
    // The week of Wednesday 25 Nov 13:00 EST (18:00 UTC) started Monday 23 Nov.
    // Open hours so far: Mon 8 + Tue 8 + Wed 4 = 20 of the week's 32 (Thursday
    // 26 Nov is a holiday): expected 8 × 20 / 32 = 5. No leads: pace 0 → at_risk.
    let e = eval_at(&db, &rules, "2026-11-25T18:00:00Z").await;
    let w = result(&e, "weekly", "all");
    assert_eq!((w.status, w.value), (Status::AtRisk, Some(0.0)));
    assert_close(detail(w, "expected"), 5.0);
}

// ---------------------------------------------------------------- lead_quality

async fn lead_quality_judges_only_mature_leads(db: TestDb) {
    load(
        &db,
        "\
Q1,2026-01-01T00:00:00Z,2026-11-02T00:00:00Z,R1,webinar,2026-11-03T00:00:00Z,,
Q2,2026-01-01T00:00:00Z,2026-11-03T00:00:00Z,R1,webinar,,2026-11-04T00:00:00Z,
Q3,2026-01-01T00:00:00Z,2026-11-04T00:00:00Z,R1,webinar,2026-11-05T00:00:00Z,2026-11-06T00:00:00Z,
Q4,2026-01-01T00:00:00Z,2026-11-05T00:00:00Z,R1,webinar,2026-11-25T00:00:00Z,2026-11-06T00:00:00Z,
Q5,2026-01-01T00:00:00Z,2026-11-06T00:00:00Z,R1,webinar,2026-11-21T00:00:00Z,,
Q6,2026-01-01T00:00:00Z,2026-11-13T00:00:00Z,R1,webinar,,2026-11-14T00:00:00Z,
Q7,2026-01-01T00:00:00Z,2026-11-12T23:59:59Z,R1,webinar,,2026-11-14T00:00:00Z,
",
        "",
        "",
    )
    .await;
    let rules = rules(
        "UTC",
        "objectives:
  - name: quality
    kind: lead_quality
    owner: sales
    schedule: '0 * * * * *'
    window: month
    mature_after: 7d
    target: 0.6
",
    );
    // t = 20 Nov: cohort = mql_at in [1 Nov, 13 Nov) = Q1–Q5 and Q7 (Q6 is exactly
    // at the cohort's end). Accepted: Q1, Q3 (accepted and rejected counts as
    // accepted). Rejected: Q2, Q7, and Q4 (its acceptance comes after t). Q5 is
    // accepted only after t: not judged yet. 2 / (2 + 3) = 0.4 < 0.6 → breached.
    let e = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
    let q = result(&e, "quality", "all");
    assert_eq!(
        ratio(q),
        (Status::Breached, Some(0.4), Some(2.0), Some(5.0))
    );
    assert_eq!(q.details_json()["undecided"], 1);
    assert_eq!(q.details_json()["cohort"], 6);
    // --at 10 Nov: cohort [1 Nov, 3 Nov) = Q1 alone, accepted on 3 Nov: 1 / 1 → ok.
    let past = eval_at(&db, &rules, "2026-11-10T00:00:00Z").await;
    assert_eq!(
        ratio(result(&past, "quality", "all")),
        (Status::Ok, Some(1.0), Some(1.0), Some(1.0))
    );
    // --at 5 Nov: the cohort would end on 29 Oct, before the month: nothing to judge.
    let early = eval_at(&db, &rules, "2026-11-05T00:00:00Z").await;
    let r = result(&early, "quality", "all");
    assert_eq!((r.status, r.value), (Status::NoData, None));
}

// ---------------------------------------------------------------- percent_worked

async fn percent_worked_counts_only_human_outbound_attempts_in_time(db: TestDb) {
    load(
        &db,
        "\
P1,2026-01-01T00:00:00Z,2026-11-19T10:00:00Z,R1,webinar,,,
P2,2026-01-01T00:00:00Z,2026-11-19T10:00:00Z,R1,webinar,,,
P3,2026-01-01T00:00:00Z,2026-11-19T10:00:00Z,R1,webinar,,,
P4,2026-01-01T00:00:00Z,2026-11-20T11:30:00Z,R1,webinar,,,
P5,2026-01-01T00:00:00Z,2026-11-20T11:00:00Z,R1,webinar,,,
P6,2026-01-01T00:00:00Z,2026-11-19T08:00:00Z,R2,webinar,,,
P7,2026-01-01T00:00:00Z,2026-11-13T12:00:00Z,R1,webinar,,,
P8,2026-01-01T00:00:00Z,2026-11-13T11:59:59Z,R1,webinar,,,
P9,2026-01-01T00:00:00Z,2026-11-19T09:00:00Z,R2,webinar,,,
",
        "\
T1,P1,2026-11-19T10:30:00Z,call,outbound,no_answer,false
T2,P2,2026-11-19T09:50:00Z,call,outbound,no_answer,false
T3,P2,2026-11-19T10:01:00Z,email,outbound,,true
T4,P2,2026-11-19T10:05:00Z,email,inbound,replied,false
T5,P2,2026-11-19T11:30:00Z,call,outbound,voicemail,false
T6,P3,2026-11-19T11:00:00Z,call,outbound,connected,false
T7,P7,2026-11-13T12:10:00Z,call,outbound,connected,false
T8,P8,2026-11-13T12:00:00Z,call,outbound,connected,false
T9,P9,2026-11-20T13:00:00Z,call,outbound,connected,false
",
        "",
    )
    .await;
    let rules = rules(
        "UTC",
        "objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 7d
    respond_within: 1h
    target: 0.75
",
    );
    // t = 20 Nov 12:00, window [13 Nov 12:00, t). Deadlines are mql_at + 1h.
    // P1: attempt after 30 min → worked (1800 s).
    // P2: a call before mql_at, an automated email and an inbound reply do not
    //     count; its first attempt is at 11:30, after the 11:00 deadline (5400 s).
    // P3: attempt exactly at the deadline → worked (3600 s).
    // P4: deadline 12:30 is after t; P5: deadline 12:00 is t itself → not judged yet.
    // P6: never attempted. P7: at the window's start, worked (600 s). P8: before it.
    // P9: its only attempt is after t → never attempted, as known at t.
    // eligible 6 (P1 P2 P3 P6 P7 P9), worked 3 → 0.5 < 0.75 → breached.
    // Response times sorted: 600 1800 3600 5400; p50 = rank ⌈0.5·4⌉ = 2 → 1800,
    // p90 = rank ⌈0.9·4⌉ = 4 → 5400.
    let e = eval_at(&db, &rules, "2026-11-20T12:00:00Z").await;
    let r = result(&e, "speed", "all");
    assert_eq!(
        ratio(r),
        (Status::Breached, Some(0.5), Some(3.0), Some(6.0))
    );
    assert_eq!(detail(r, "p50_seconds"), Some(1800.0));
    assert_eq!(detail(r, "p90_seconds"), Some(5400.0));
    assert_eq!(r.details_json()["never_attempted"], 2);
    // Never tried and still open, to call now by deadline: P6 (due 19 Nov
    // 09:00, 27 h before t) and P9 (due 10:00, 26 h); then P2, called late.
    assert_eq!(ids(r, "overdue_leads"), ["P6", "P9"]);
    assert_eq!(
        r.details_json()["overdue_leads"][0]["overdue_seconds"],
        27 * 3600
    );
    assert_eq!(
        r.details_json()["overdue_leads"][1]["overdue_seconds"],
        26 * 3600
    );
    assert_eq!(ids(r, "late_leads"), ["P2"]);
    assert_eq!(r.details_json()["by_rep"][0]["rep"], "R2");
    assert_eq!(r.details_json()["by_rep"][0]["name"], "Tom Walsh");

    // --at 19 Nov 12:00: window [12 Nov 12:00, t). Eligible: P1 P2 P3 (deadline
    // 11:00), P6 (09:00), P7, P8 (handed over at 11:59:59, called a second
    // later), P9 (10:00). Worked: P1, P3, P7, P8 → 4 / 7. P2's 11:30 attempt is
    // late; P6 and P9 have none (P9's call is still in the future).
    let past = eval_at(&db, &rules, "2026-11-19T12:00:00Z").await;
    let r = result(&past, "speed", "all");
    assert_eq!(ratio(r).2, Some(4.0));
    assert_eq!(ratio(r).3, Some(7.0));
    assert_eq!(r.details_json()["never_attempted"], 2);
}

async fn percent_worked_runs_the_clock_in_office_hours(db: TestDb) {
    load(
        &db,
        "\
B1,2026-01-01T00:00:00Z,2026-11-20T23:00:00Z,R1,webinar,,,
B2,2026-01-01T00:00:00Z,2026-11-25T20:00:00Z,R1,webinar,,,
B3,2026-01-01T00:00:00Z,2026-10-30T20:00:00Z,R1,webinar,,,
B4,2026-01-01T00:00:00Z,2026-10-30T20:00:00Z,R1,webinar,,,
B5,2026-01-01T00:00:00Z,2026-11-01T06:30:00Z,R1,webinar,,,
",
        "\
T1,B1,2026-11-23T17:59:00Z,call,outbound,no_answer,false
T2,B2,2026-11-27T15:30:00Z,call,outbound,no_answer,false
T3,B3,2026-11-02T17:00:00Z,call,outbound,no_answer,false
T4,B4,2026-11-02T17:00:01Z,call,outbound,no_answer,false
",
        "",
    )
    .await;
    let rules = rules(
        "America/New_York",
        "calendars:
  office:
    hours: { mon-fri: '09:00-17:00' }
    holidays: [2026-11-26]
objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 30d
    respond_within: 4h
    calendar: office
    target: 0.9
",
    );
    // 4 business hours, New York office 09:00–17:00 Monday to Friday.
    // B1: Friday 20 Nov 18:00 EST. The clock starts Monday 09:00 EST (14:00 UTC):
    //     deadline 13:00 EST = 18:00 UTC. Called at 17:59 UTC → worked.
    // B2: Wednesday 25 Nov 15:00 EST: 2 h on Wednesday, Thursday is a holiday,
    //     2 h on Friday from 09:00 → deadline Fri 11:00 EST = 16:00 UTC. Called
    //     at 10:30 EST → worked.
    // B3, B4: Friday 30 Oct 16:00 EDT (20:00 UTC): 1 h on Friday; clocks go back
    //     on Sunday 1 Nov, so Monday 09:00 is EST (14:00 UTC) + 3 h → 17:00 UTC.
    //     B3 is called at exactly 17:00 UTC → worked; B4 a second later → late.
    // B5: arrives at 01:30 EDT in the night clocks go back (Sunday): the clock
    //     starts Monday 09:00 EST → deadline 18:00 UTC; never called.
    // t = 28 Nov 00:00 UTC, window [29 Oct, t): eligible 5, worked 3 → 0.6.
    let e = eval_at(&db, &rules, "2026-11-28T00:00:00Z").await;
    let r = result(&e, "speed", "all");
    assert_eq!(
        ratio(r),
        (Status::Breached, Some(0.6), Some(3.0), Some(5.0))
    );
    let details = r.details_json();
    let late = details["late_leads"].as_array().unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["id"], "B4");
    assert_eq!(late[0]["deadline"], "2026-11-02T17:00:00Z");
    // B5, never called, is overdue in office time: from Monday 2 Nov 13:00
    // EST to Friday 27 Nov 19:00 EST, 4 h that Monday, 8 h on each of the 18
    // working days after it but Thanksgiving: 4 + 18 × 8 = 148 h.
    let overdue = details["overdue_leads"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["id"], "B5");
    assert_eq!(overdue[0]["deadline"], "2026-11-02T18:00:00Z");
    assert_eq!(overdue[0]["overdue_seconds"], 148 * 3600);
    // Response times are calendar time: B1 2 d 18 h 59 m, B2 1 d 19 h 30 m,
    // B3 2 d 21 h (Friday 20:00 to Monday 17:00 UTC), B4 one second more.
    let b1 = 2.0 * 86_400.0 + 18.0 * 3_600.0 + 59.0 * 60.0;
    let b2 = 86_400.0 + 19.0 * 3_600.0 + 30.0 * 60.0;
    let b3 = (utc("2026-11-02T17:00:00Z") - utc("2026-10-30T20:00:00Z")).num_seconds() as f64;
    let b4 = b3 + 1.0;
    // Four responses: b2 < b1 < b3 < b4. p50 = rank 2 → b1; p90 = rank 4 → b4.
    assert!(b2 < b1 && b1 < b3);
    assert_eq!(detail(r, "p50_seconds"), Some(b1));
    assert_eq!(detail(r, "p90_seconds"), Some(b4));
    // Evaluated on Friday 27 Nov 15:00 UTC (10:00 EST): B2's deadline (16:00 UTC)
    // has not passed, so it is not judged yet; B1, B3, B4, B5 are.
    let past = eval_at(&db, &rules, "2026-11-27T15:00:00Z").await;
    let r = result(&past, "speed", "all");
    assert_eq!((r.numerator, r.denominator), (Some(2.0), Some(4.0)));
}

// ---------------------------------------------------------------- contact_attempts

async fn contact_attempts_checks_the_leads_given_up_on(db: TestDb) {
    load(
        &db,
        "\
C1,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
C2,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R2,webinar,,,2026-11-10T00:00:00Z
C3,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
C4,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
C5,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
C6,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
C7,2026-01-01T00:00:00Z,,R1,webinar,,,2026-11-10T00:00:00Z
C8,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,2026-10-23T00:00:00Z
C9,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-20T00:00:00Z
C10,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
C11,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,R1,webinar,,,2026-11-10T00:00:00Z
",
        "\
T01,C1,2026-11-02T00:00:00Z,call,outbound,no_answer,false
T02,C1,2026-11-03T00:00:00Z,call,outbound,no_answer,false
T03,C1,2026-11-04T00:00:00Z,email,outbound,,false
T04,C2,2026-11-02T00:00:00Z,call,outbound,no_answer,false
T05,C2,2026-11-03T00:00:00Z,call,outbound,voicemail,false
T06,C2,2026-11-04T00:00:00Z,email,outbound,,true
T07,C2,2026-11-05T00:00:00Z,email,inbound,,false
T08,C2,2026-10-31T00:00:00Z,call,outbound,no_answer,false
T09,C3,2026-11-05T00:00:00Z,email,inbound,connected,false
T10,C4,2026-11-02T00:00:00Z,call,outbound,no_answer,false
T11,C4,2026-11-11T00:00:00Z,call,outbound,connected,false
T12,C8,2026-10-02T00:00:00Z,call,outbound,no_answer,false
T13,C8,2026-10-03T00:00:00Z,call,outbound,no_answer,false
T14,C8,2026-10-04T00:00:00Z,call,outbound,no_answer,false
T15,C10,2026-11-02T00:00:00Z,call,outbound,no_answer,false
T16,C10,2026-11-03T00:00:00Z,call,outbound,no_answer,false
T17,C10,2026-11-10T00:00:00Z,call,outbound,no_answer,false
T18,C11,2026-11-02T00:00:00Z,call,outbound,no_answer,false
T19,C11,2026-11-03T00:00:00Z,call,outbound,no_answer,false
T20,C11,2026-11-04T00:00:00Z,call,outbound,no_answer,false
T21,C11,2026-11-05T00:00:00Z,call,outbound,no_answer,false
",
        "\
D1,C5,2026-11-08T00:00:00Z,2026-11-15T00:00:00Z,500,true
D2,C6,2026-11-08T00:00:00Z,2026-11-25T00:00:00Z,500,true
D3,C11,2026-11-08T00:00:00Z,2026-11-12T00:00:00Z,500,false
",
    )
    .await;
    let rules = rules(
        "UTC",
        "objectives:
  - name: persistence
    kind: contact_attempts
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 28d
    min_attempts: 3
    target: 0.8
",
    );
    // t = 20 Nov, window [23 Oct, 20 Nov) on closed_at.
    // C1: 3 attempts → compliant.
    // C2: 2 attempts (the automated email, the inbound one and the call before
    //     mql_at do not count) → violating.
    // C3: connected before closing → not abandoned.
    // C4: 1 attempt; its connected call came after closing → abandoned, violating.
    // C5: won deal closed before t → not abandoned.
    // C6: its deal is won only after t → abandoned at t, 0 attempts → violating.
    // C7: never an MQL. C8: closed exactly at the window's start, 3 attempts →
    //     compliant. C9: closed exactly at t → outside.
    // C10: 2 attempts before closing; the one at closed_at itself does not count.
    // C11: a lost deal does not save it; 4 attempts → compliant.
    // abandoned 7 (C1 C2 C4 C6 C8 C10 C11), compliant 3 → 3/7 < 0.8 → breached.
    let e = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
    let r = result(&e, "persistence", "all");
    assert_eq!(ratio(r).0, Status::Breached);
    assert_eq!((r.numerator, r.denominator), (Some(3.0), Some(7.0)));
    assert_close(r.value, 3.0 / 7.0);
    // Fewest attempts first: C6 (0), C4 (1), C10 (2) and C2 (2) by id.
    assert_eq!(ids(r, "violating_leads"), ["C6", "C4", "C10", "C2"]);
    let details = r.details_json();
    let first = &details["violating_leads"][0];
    assert_eq!(
        (first["owner"].as_str(), first["attempts"].as_u64()),
        (Some("R1"), Some(0))
    );
    // --at 16 Nov: C6's deal is still open then as now; C5's won deal has closed
    // (15 Nov) → the same 3 / 7.
    let past = eval_at(&db, &rules, "2026-11-16T00:00:00Z").await;
    assert_eq!(result(&past, "persistence", "all").denominator, Some(7.0));
    // --at 14 Nov: C5's deal was not yet won, so C5 (0 attempts) counts too: 3 / 8.
    let past = eval_at(&db, &rules, "2026-11-14T00:00:00Z").await;
    let r = result(&past, "persistence", "all");
    assert_eq!((r.numerator, r.denominator), (Some(3.0), Some(8.0)));
}

// ---------------------------------------------------------------- profitability

async fn profitability_finds_the_last_attempt_that_pays(db: TestDb) {
    load(
        &db,
        "\
W1,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,
W2,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,
W3,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,2026-11-15T00:00:00Z
W4,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,
W5,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,
W6,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R2,webinar,,,2026-11-15T00:00:00Z
W7,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,webinar,,,
E1,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,events,,,
U1,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z,R1,,,,
O1,2026-01-01T00:00:00Z,2026-08-01T00:00:00Z,R1,webinar,,,
",
        "\
T01,W1,2026-10-02T00:00:00Z,call,outbound,connected,false
T02,W2,2026-10-02T00:00:00Z,call,outbound,no_answer,false
T03,W2,2026-10-03T00:00:00Z,call,outbound,connected,false
T04,W3,2026-10-02T00:00:00Z,call,outbound,no_answer,false
T05,W3,2026-10-03T00:00:00Z,call,outbound,no_answer,false
T06,W3,2026-10-04T00:00:00Z,call,outbound,no_answer,false
T07,W5,2026-10-02T00:00:00Z,call,outbound,no_answer,false
T08,W5,2026-10-03T00:00:00Z,call,outbound,no_answer,false
T09,W6,2026-10-02T00:00:00Z,call,outbound,no_answer,false
T10,W6,2026-10-03T00:00:00Z,email,outbound,,true
T11,W6,2026-10-04T00:00:00Z,email,inbound,,false
T12,W7,2026-10-02T00:00:00Z,call,outbound,connected,false
T13,W7,2026-10-05T00:00:00Z,call,outbound,no_answer,false
T14,W7,2026-10-06T00:00:00Z,call,outbound,no_answer,false
T15,E1,2026-10-02T00:00:00Z,call,outbound,connected,false
T16,O1,2026-08-02T00:00:00Z,call,outbound,connected,false
",
        "\
D1,W1,2026-10-03T00:00:00Z,2026-10-20T00:00:00Z,1000,true
D2,W2,2026-10-04T00:00:00Z,2026-10-20T00:00:00Z,3000,true
D4,W4,2026-10-02T00:00:00Z,2026-10-20T00:00:00Z,2000,true
D5,W5,2026-10-04T00:00:00Z,2026-11-25T00:00:00Z,7000,true
D6,W6,2026-10-05T00:00:00Z,2026-10-20T00:00:00Z,4000,false
D7a,W7,2026-10-03T00:00:00Z,2026-10-20T00:00:00Z,500,true
D7b,W7,2026-10-10T00:00:00Z,2026-10-20T00:00:00Z,9999,true
DE1,E1,2026-10-03T00:00:00Z,2026-10-20T00:00:00Z,100,true
DO1,O1,2026-08-03T00:00:00Z,2026-08-20T00:00:00Z,100000,true
",
    )
    .await;
    let rules = rules(
        "UTC",
        "objectives:
  - name: persistence
    kind: contact_attempts
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 28d
    min_attempts: 3
    target: 0.8
  - name: economics
    kind: profitability
    owner: sales
    schedule: '0 * * * * *'
    by: channel
    lookback: 100d
    cost_per_attempt: 10
    min_sample: 2
    checks: persistence
",
    );
    // t = 20 Nov; cohort = mql_at in [12 Aug, 20 Nov): O1 (1 Aug) is out.
    // webinar, attempts and conversion attempt k (attempts before the deal opened):
    //   W1 1 attempt, won deal opened after it → converted, k = 1, $1000
    //   W2 2 attempts, deal opened after the 2nd → k = 2, $3000
    //   W3 3 attempts, no deal → reach 3
    //   W4 no attempt, won deal → k = 0: out of the curve, in mql_value, $2000
    //   W5 2 attempts, deal won only after t → not converted, reach 2
    //   W6 1 attempt (automated and inbound ones do not count), lost deal → reach 1
    //   W7 3 attempts, two won deals: the first opened (D7a, $500) after 1 attempt
    //      → k = 1; D7b is not its conversion deal.
    // n_1 = 6 (W1 W2 W3 W5 W6 W7), n_2 = 3 (W2 W3 W5), n_3 = 1 (W3).
    // c_1 = 2 (W1 W7), c_2 = 1 (W2), c_3 = 0.
    // avg_revenue = (1000 + 3000 + 2000 + 500) / 4 = 1625.
    // EV_1 = 2/6 × 1625 = 541.67, EV_2 = 1/3 × 1625 = 541.67, EV_3 = 0.
    // cutoff: k = 3 has n_3 = 1 < min_sample 2; k = 2 has n 3 ≥ 2 and EV ≥ 10 → 2.
    // mql_value = 4 converted / 7 cohort × 1625 = 928.57.
    // persistence demands 3 > 2 → breached.
    // Leakage: abandoned leads closed in the lookback with fewer than 2 attempts:
    //   W6 (1 attempt, lost deal, closed 15 Nov) → 1; W3 has 3.
    let e = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
    let w = result(&e, "economics", "webinar");
    assert_eq!((w.status, w.value), (Status::Breached, Some(2.0)));
    assert_eq!(detail(w, "avg_revenue"), Some(1625.0));
    assert_close(detail(w, "mql_value"), 4.0 / 7.0 * 1625.0);
    let ev: Vec<f64> = w.details_json()["expected_value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(ev.len(), 3);
    assert!(close(Some(ev[0]), 1625.0 / 3.0) && close(Some(ev[1]), 1625.0 / 3.0));
    assert_eq!(ev[2], 0.0);
    assert_eq!(
        w.details_json()["leads_reaching"],
        serde_json::json!([6, 3, 1])
    );
    assert_eq!(
        w.details_json()["conversions_at"],
        serde_json::json!([2, 1, 0])
    );
    assert_eq!(w.details_json()["leakage"], 1);
    assert_eq!(ids(w, "leakage_leads"), ["W6"]);
    // events: E1 converted at attempt 1, but n_1 = 1 < min_sample → no cutoff.
    let ev = result(&e, "economics", "events");
    assert_eq!((ev.status, ev.value), (Status::NoData, None));
    assert_eq!(detail(ev, "mql_value"), Some(100.0));
    // A null channel is the group `unknown`: one lead, no attempts → no curve.
    let u = result(&e, "economics", "unknown");
    assert_eq!(
        (u.status, detail(u, "mql_value")),
        (Status::NoData, Some(0.0))
    );
    assert_eq!(groups(&e, "economics"), ["events", "unknown", "webinar"]);

    // With the deal of W5 won (at 25 Nov, evaluated on 26 Nov): c_2 = 2, and
    // avg_revenue = (6500 + 7000) / 5 = 2700; the cutoff stays 2 (n_3 = 1).
    let later = eval_at(&db, &rules, "2026-11-26T00:00:00Z").await;
    let w = result(&later, "economics", "webinar");
    assert_eq!(detail(w, "avg_revenue"), Some(2700.0));
    assert_eq!(w.value, Some(2.0));
}

// ---------------------------------------------------------------- failures

async fn a_failing_objective_is_an_error_and_the_others_still_evaluate(db: TestDb) {
    load(
        &db,
        "F1,2026-01-01T00:00:00Z,2026-11-02T00:00:00Z,R1,webinar,,,2026-11-03T00:00:00Z\n",
        "",
        "",
    )
    .await;
    let rules = rules(
        "UTC",
        "objectives:
  - name: volume
    kind: lead_volume
    owner: sales
    schedule: '0 * * * * *'
    window: month
    target: 10
  - name: persistence
    kind: contact_attempts
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 28d
    by: owner
    min_attempts: 3
    target: 0.8
",
    );
    // Only `by: owner` reads reps: without the table, persistence fails alone.
    db.exec("DROP TABLE reps").await;
    let e = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
    assert!(e.has_errors());
    let p = result(&e, "persistence", "all");
    assert_eq!(p.status, Status::Error);
    let failure = p.failure().unwrap();
    assert_eq!(failure.reason, FailureReason::QueryFailed);
    assert!(
        failure.message.starts_with(
            "failed to evaluate objective persistence: database error while reading the leads given up on in the window: "
        ),
        "{failure:?}"
    );
    // Each cause is said once.
    let tail = failure.message.rsplit(": ").next().unwrap();
    assert_eq!(failure.message.matches(tail).count(), 1, "{failure:?}");
    // In JSON: the message under `error`, the bounded reason beside it.
    assert_eq!(p.details_json()["reason"], "query_failed");
    assert_eq!(p.details_json()["error"], failure.message.as_str());
    assert_eq!(result(&e, "volume", "all").value, Some(1.0));

    // A timeout is an error too, never a healthy reading: with its only read
    // connection held by another reader, the store cannot answer within 200 ms.
    let busy = db
        .store_with(&StoreOptions {
            read_connections: 1,
            connect_timeout: Duration::from_secs(30),
            ..StoreOptions::default()
        })
        .await;
    let held = busy.reader(Duration::from_secs(60)).await.unwrap();
    let e = evaluate_with_timeout(
        &rules,
        &busy,
        utc("2026-11-20T00:00:00Z"),
        Duration::from_millis(200),
    )
    .await;
    let v = result(&e, "volume", "all");
    assert_eq!(v.status, Status::Error);
    let failure = v.failure().unwrap();
    assert_eq!(failure.reason, FailureReason::Timeout);
    assert!(
        failure.message.contains("did not finish within 0.2s"),
        "{failure:?}"
    );
    held.finish().await.unwrap();
}

/// A statement past its limit is stopped by the database itself, not merely
/// abandoned by the caller: the error comes from the server (or SQLite's
/// engine) well before the caller would give up, and nothing is left running.
async fn the_database_stops_a_statement_past_its_limit(db: TestDb) {
    let spec = handoff::demo::DemoSpec {
        leads: 6_000,
        months: 6,
        seed: 5,
        end: utc("2026-11-20T00:00:00Z"),
    };
    handoff::demo::write(&db.store, spec, &Progress::hidden())
        .await
        .unwrap();
    let rules = rules(
        "UTC",
        "objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 180d
    respond_within: 1h
    target: 0.9
",
    );
    let objective = rules.objective("speed").unwrap();
    let at = utc("2026-11-20T00:00:00Z");
    // Unhurried, it evaluates.
    let ok = run_objective(objective, &db.store, at, Duration::from_secs(60)).await;
    assert_ne!(ok.results[0].status, Status::Error, "{ok:?}");
    assert!(ok.results[0].failure().is_none());
    // With 1 ms, the database stops it: the caller would have waited 1 s more.
    let started = std::time::Instant::now();
    let cut = run_objective(objective, &db.store, at, Duration::from_millis(1)).await;
    let failure = cut.results[0]
        .failure()
        .unwrap_or_else(|| panic!("{cut:?}"));
    assert_eq!(failure.reason, FailureReason::Timeout, "{failure:?}");
    assert!(
        !failure.message.contains("did not finish"),
        "the caller's clock, not the database, stopped it: {failure:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    if db.backend() == "postgres" {
        // Nothing of ours still runs on the server.
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%FROM leads l%' AND pid <> pg_backend_pid()",
        )
        .fetch_one(db.raw_postgres())
        .await
        .unwrap();
        assert_eq!(running, 0);
    }
    // The store is still good afterwards: its connections were not poisoned.
    let again = run_objective(objective, &db.store, at, Duration::from_secs(60)).await;
    assert_eq!(again, ok);
}

// ---------------------------------------------------------------- injection

async fn injection_through_rules_and_data_is_inert(db: TestDb) {
    let evil = "x'); DROP TABLE leads; --";
    let leads = format!(
        "I1,2026-01-01T00:00:00Z,2026-11-02T00:00:00Z,R1,\"{evil}\",,,\n\
         I2',2026-01-01T00:00:00Z,2026-11-03T00:00:00Z,R1,\"a\"\" OR 1=1 --\",,,\n"
    );
    load(&db, &leads, "", "").await;
    // Every free-text field of a rule file carries SQL: descriptions, group names
    // in the target map, team addresses. None of it may reach the SQL text.
    let rules = rules(
        "UTC",
        r#"objectives:
  - name: volume
    description: "'; DROP TABLE leads; --"
    kind: lead_volume
    owner: sales
    schedule: '0 * * * * *'
    window: month
    by: channel
    target: { "x'); DROP TABLE leads; --": 5, "' OR '1'='1": 7, "webinar; DELETE FROM reps": 3 }
  - name: persistence
    description: "\"; DELETE FROM touches; --"
    kind: contact_attempts
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 28d
    by: owner
    min_attempts: 3
    target: { "sales-na'; DROP TABLE reps; --": 0.5 }
"#,
    );
    let before = db.dump().await;
    let e = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
    assert!(!e.has_errors(), "{e:#?}");
    // The injected channel is an ordinary group holding its one lead.
    assert_eq!(result(&e, "volume", evil).value, Some(1.0));
    assert_eq!(result(&e, "volume", "a\" OR 1=1 --").value, Some(1.0));
    assert_eq!(result(&e, "volume", "' OR '1'='1").value, Some(0.0));
    assert_eq!(db.dump().await, before);
    for table in Table::ALL {
        db.store.count(table).await.unwrap();
    }
    assert_eq!(db.store.count(Table::Leads).await.unwrap(), 2);
    assert_eq!(db.store.count(Table::Reps).await.unwrap(), 2);
}

// ---------------------------------------------------------------- SQLite only

/// Every question is a range scan on its window's index, never a scan of the
/// history: leads through `leads(mql_at)` or `leads(closed_at)`, touches through
/// `touches(lead_id, occurred_at)`, deals through `deals(lead_id)`. What is
/// scanned is only the window's own rows (the `WITH` tables). The per-lead
/// rows that carry correlated subqueries are computed apart (materialized
/// before a window sort, streamed as a co-routine before the touches are
/// counted), so that each subquery runs once per lead, not again for the sort
/// or for every touch.
#[tokio::test]
async fn window_queries_use_the_indexes() {
    use handoff::rules::GroupBy;
    use handoff::store::{Backend, question_sql};
    let db = TestDb::sqlite().await;
    let pool = db.raw_sqlite();
    let plan = |question: &'static str, by| async move {
        let sql = question_sql(question, by, Backend::Sqlite);
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for _ in 0..sql.matches('?').count() {
            q = q.bind("2026-11-20T00:00:00.000000Z");
        }
        let rows: Vec<(i64, i64, i64, String)> = q.fetch_all(pool).await.unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
    };
    let cases = [
        (
            "mqls",
            "leads_mql_at (mql_at>? AND mql_at<?)",
            false,
            false,
            None,
        ),
        (
            "judged",
            "leads_mql_at (mql_at>? AND mql_at<?)",
            false,
            false,
            None,
        ),
        (
            "first_attempts",
            "leads_mql_at (mql_at>? AND mql_at<?)",
            true,
            false,
            None,
        ),
        (
            "abandoned",
            "leads_closed_at (closed_at>? AND closed_at<?)",
            true,
            true,
            Some("MATERIALIZE a"),
        ),
        (
            "reach",
            "leads_mql_at (mql_at>? AND mql_at<?)",
            true,
            true,
            Some("CO-ROUTINE c"),
        ),
        // The leads in flight (docs/LEADS.md): the scan of lead notices.
        (
            "in_flight",
            "leads_mql_at (mql_at>? AND mql_at<?)",
            true,
            false,
            None,
        ),
    ];
    for (question, leads, touches, deals, materialized) in cases {
        for by in [None, Some(GroupBy::Owner)] {
            let plan = plan(question, by).await;
            if let Some(step) = materialized {
                assert!(plan.lines().any(|l| l.trim() == step), "{question}: {plan}");
            }
            assert!(
                plan.contains(&format!("INDEX {leads}")),
                "{question}: {plan}"
            );
            if touches {
                assert!(
                    plan.contains("touches_lead_occurred (lead_id=?"),
                    "{question}: {plan}"
                );
            }
            if deals {
                assert!(
                    plan.contains("deals_lead (lead_id=?)"),
                    "{question}: {plan}"
                );
            }
            if question == "in_flight" {
                // Each lead's owner by the key of `reps`, never a scan of it.
                assert!(
                    plan.contains("SEARCH r USING PRIMARY KEY (id=?)"),
                    "{question}: {plan}"
                );
            }
            for table in ["l", "t", "d", "leads", "touches", "deals"] {
                assert!(
                    !plan.lines().any(|l| l.trim() == format!("SCAN {table}")
                        || l.trim().starts_with(&format!("SCAN {table} "))),
                    "{question} scans {table}: {plan}"
                );
            }
        }
    }
}

/// PostgreSQL's plans reach each lead's touches and deals through one index
/// probe per lead: no scan of a whole table, and one probe of each table per
/// lead where a question reads both its attempts and whether it connected, or
/// its conversion deal's date and amount. The correlated `NOT EXISTS` of the
/// earlier form planned as a sequential scan of every touch.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_window_queries_probe_each_lead_once() {
    use handoff::rules::GroupBy;
    use handoff::store::{Backend, question_sql};
    let db = TestDb::postgres().await;
    let pool = db.raw_postgres();
    let plan = |question: &'static str, by| async move {
        let sql = question_sql(question, by, Backend::Postgres);
        let params = sql.matches('$').count();
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN (COSTS OFF) {sql}")));
        for i in 1..=params {
            if question == "abandoned" && i == params {
                q = q.bind(20_i64);
            } else {
                q = q.bind(
                    "2026-11-20T00:00:00Z"
                        .parse::<chrono::DateTime<chrono::Utc>>()
                        .unwrap(),
                );
            }
        }
        let rows: Vec<(String,)> = q.fetch_all(pool).await.unwrap();
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
    };
    // (question, probes of touches_lead_occurred, probes of deals_lead)
    let cases = [
        ("mqls", 0, 0),
        ("judged", 0, 0),
        ("first_attempts", 1, 0),
        ("abandoned", 1, 1),
        ("reach", 1, 1),
        ("in_flight", 1, 0),
    ];
    for (question, touches, deals) in cases {
        for by in [None, Some(GroupBy::Owner)] {
            let plan = plan(question, by).await;
            for table in ["leads", "touches", "deals", "reps"] {
                assert!(
                    !plan.contains(&format!("Seq Scan on {table}")),
                    "{question} scans {table}: {plan}"
                );
            }
            assert!(plan.contains("leads_"), "{question}: {plan}");
            for (index, probes) in [("touches_lead_occurred", touches), ("deals_lead", deals)] {
                assert_eq!(plan.matches(index).count(), probes, "{question}: {plan}");
            }
            // Every probe is of one lead's rows.
            let lines: Vec<&str> = plan.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.contains("Index Scan on touches_lead_occurred")
                    || line.contains("using touches_lead_occurred")
                    || line.contains("Index Scan on deals_lead")
                    || line.contains("using deals_lead")
                {
                    let cond = lines.get(i + 1).copied().unwrap_or_default();
                    assert!(
                        cond.contains("Index Cond: (lead_id = l.id)")
                            || cond.contains("Index Cond: ((lead_id = l.id)"),
                        "{question}: {plan}"
                    );
                }
            }
        }
    }
}

#[test]
fn eval_never_creates_or_migrates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing.db");
    let out = handoff()
        .args(["--database", &format!("sqlite://{}", file.display())])
        .args(["--rules", concat!(env!("CARGO_MANIFEST_DIR"), "/rules")])
        .arg("eval")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("handoff migrate"), "{stderr}");
    assert!(!file.exists());

    // An existing database without the lead tables is left as it was.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let out = handoff()
        .args(["--database", &format!("sqlite://{}", empty.display())])
        .args(["--rules", concat!(env!("CARGO_MANIFEST_DIR"), "/rules")])
        .arg("eval")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("has no lead tables") && stderr.contains("handoff migrate"),
        "{stderr}"
    );
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
}

#[test]
fn eval_of_the_demo_prints_one_json_object_with_every_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let out = handoff()
        .args([
            "--database",
            &db,
            "demo",
            "--build-only",
            "--end",
            "2026-11-25T15:00:00Z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = handoff()
        .args(["--database", &db, "--rules", rules, "eval"])
        .args(["--at", "2026-11-25T10:00:00-05:00", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(json["evaluated_at"], "2026-11-25T15:00:00Z");
    let objectives = json["objectives"].as_array().unwrap();
    assert_eq!(objectives.len(), 5);
    let mut statuses = std::collections::BTreeSet::new();
    for o in objectives {
        for r in o["results"].as_array().unwrap() {
            for key in [
                "group",
                "status",
                "value",
                "target",
                "numerator",
                "denominator",
                "details",
            ] {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
            statuses.insert(r["status"].as_str().unwrap().to_owned());
            let details = &r["details"];
            let keys: &[&str] = match o["kind"].as_str().unwrap() {
                "lead_volume" => &["expected", "pace", "attainment"],
                "percent_worked" => &["p50_seconds", "p90_seconds", "never_attempted"],
                "profitability" => &["cutoff", "mql_value", "avg_revenue", "expected_value"],
                _ => &[],
            };
            for key in keys {
                assert!(details.get(*key).is_some(), "{key} missing in {details}");
            }
        }
    }
    for s in ["ok", "at_risk", "breached"] {
        assert!(statuses.contains(s), "{statuses:?}");
    }

    // The table names every objective, and eval wrote nothing.
    let out = handoff()
        .args([
            "--database",
            &db,
            "--rules",
            rules,
            "eval",
            "--at",
            "2026-11-25T15:00:00Z",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    for name in [
        "mql-volume",
        "mql-acceptance",
        "speed-to-lead",
        "persistence",
        "attempt-economics",
    ] {
        assert!(table.contains(name), "{table}");
    }
}

// ---------------------------------------------------------------- property

mod outside_windows {
    use super::*;
    use handoff::model::Lead;
    use handoff::store::UpsertColumns;
    use proptest::prelude::*;

    const RULES: &str = "objectives:
  - name: volume
    kind: lead_volume
    owner: sales
    schedule: '0 * * * * *'
    window: month
    by: channel
    target: { webinar: 10 }
  - name: quality
    kind: lead_quality
    owner: sales
    schedule: '0 * * * * *'
    window: quarter
    target: 0.6
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 28d
    respond_within: 1h
    target: 0.75
  - name: persistence
    kind: contact_attempts
    owner: sales
    schedule: '0 * * * * *'
    window: rolling 28d
    min_attempts: 3
    target: 0.8
  - name: economics
    kind: profitability
    owner: sales
    schedule: '0 * * * * *'
    by: channel
    lookback: 100d
    cost_per_attempt: 10
    min_sample: 1
    checks: persistence
";

    /// An instant outside every window of `RULES` at 20 Nov 2026: before the
    /// earliest window start (12 Aug, profitability's lookback) or at/after t.
    fn outside() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (0i64..200 * 86_400)
                .prop_map(|s| utc("2026-08-12T00:00:00Z") - chrono::TimeDelta::seconds(s + 1)),
            (0i64..30 * 86_400)
                .prop_map(|s| utc("2026-11-20T00:00:00Z") + chrono::TimeDelta::seconds(s)),
        ]
    }

    /// An extra lead: mql_at, accepted_at (also rejected_at), closed_at, channel.
    type Extra = (
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        u8,
    );

    fn extra_lead() -> impl Strategy<Value = Extra> {
        (
            proptest::option::of(outside()),
            proptest::option::of(outside()),
            proptest::option::of(outside()),
            0u8..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn adding_leads_outside_every_window_changes_nothing(extra in proptest::collection::vec(extra_lead(), 1..20)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let db = TestDb::sqlite().await;
                load(&db, BASE_LEADS, BASE_TOUCHES, BASE_DEALS).await;
                let rules = rules("UTC", RULES);
                let before = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
                assert!(!before.has_errors());
                let channels = [None, Some("webinar"), Some("events"), Some("brand-new")];
                let leads: Vec<Lead> = extra
                    .iter()
                    .enumerate()
                    .map(|(i, (mql, accepted, closed, ch))| Lead {
                        mql_at: *mql,
                        owner_id: Some("R1".into()),
                        channel: channels[*ch as usize].map(Into::into),
                        accepted_at: *accepted,
                        rejected_at: *accepted,
                        closed_at: *closed,
                        ..Lead::new(format!("X{i}"), utc("2026-01-01T00:00:00Z"))
                    })
                    .collect();
                let mut tx = db.store.begin().await.unwrap();
                tx.upsert(&UpsertColumns::all(Table::Leads), &leads).await.unwrap();
                tx.commit().await.unwrap();
                let after = eval_at(&db, &rules, "2026-11-20T00:00:00Z").await;
                assert_eq!(before, after);
            });
        }
    }

    const BASE_LEADS: &str = "\
A1,2026-01-01T00:00:00Z,2026-11-02T00:00:00Z,R1,webinar,2026-11-03T00:00:00Z,,2026-11-10T00:00:00Z
A2,2026-01-01T00:00:00Z,2026-10-02T00:00:00Z,R2,events,,2026-10-05T00:00:00Z,2026-11-12T00:00:00Z
A3,2026-01-01T00:00:00Z,2026-11-18T00:00:00Z,R1,,,,
A4,2026-01-01T00:00:00Z,2026-09-01T00:00:00Z,R1,webinar,,,
";
    const BASE_TOUCHES: &str = "\
T1,A1,2026-11-02T00:30:00Z,call,outbound,no_answer,false
T2,A2,2026-10-03T00:00:00Z,call,outbound,no_answer,false
T3,A3,2026-11-18T02:00:00Z,call,outbound,no_answer,false
T4,A4,2026-09-02T00:00:00Z,call,outbound,connected,false
";
    const BASE_DEALS: &str = "D1,A4,2026-09-03T00:00:00Z,2026-09-20T00:00:00Z,1200,true\n";
}

/// The table a person reads: every group its target names (NO_DATA when it has
/// no leads), labels that add up, and who slipped, by lead and owner. Figures
/// worked out from the rows: W1 and W2 attempted within the hour, W3 and P1
/// never; 19.5 of November's 30 days gone at 12:00 on the 20th.
#[tokio::test]
async fn the_table_names_who_slipped_and_every_group() {
    let db = TestDb::sqlite().await;
    load(
        &db,
        crate::daemon::NOVEMBER_LEADS,
        crate::daemon::NOVEMBER_TOUCHES,
        "",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sla.yaml"),
        "version: 1
timezone: UTC
teams:
  sales: { email: [s@acme.example] }
objectives:
  - name: volume
    kind: lead_volume
    owner: sales
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    target: { webinar: 10, paid_search: 1, events: 5 }
    warn_below: 0.9
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
  - name: economics
    kind: profitability
    owner: sales
    schedule: '0 0 1 1 *'
    lookback: 30d
    by: channel
    cost_per_attempt: 5
    min_sample: 1
",
    )
    .unwrap();
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args(["eval", "--at", "2026-11-20T12:00"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |objective: &str, group: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                cells.len() > 2 && cells[0] == objective && cells[1] == group
            })
            .unwrap_or_else(|| panic!("no row {objective} {group}:\n{table}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert!(
        table.starts_with("SLA at Fri 20 Nov 2026 12:00 UTC (2026-11-20T12:00:00Z)"),
        "{table}"
    );
    // webinar: 3 of 10 × 19.5/30 = 6.5 expected, pace 46.2%.
    assert_eq!(row("volume", "webinar")[2..5], ["AT_RISK", "3", "10"]);
    assert!(
        table.contains("expected by now 6.5; pace 46.2%; attainment 30.0%"),
        "{table}"
    );
    assert_eq!(row("volume", "paid_search")[2..5], ["OK", "1", "1"]);
    // events has a target and no leads: 0 of 5 × 0.65 = 3.25 expected.
    assert_eq!(row("volume", "events")[2..5], ["AT_RISK", "0", "5"]);
    assert_eq!(row("speed", "all")[2..4], ["BREACHED", "50.0%"]);
    assert!(
        table.contains("2 of 4 missed the deadline (2 of them never attempted, 2 still open)"),
        "{table}"
    );
    let slipped = table
        .split("who slipped")
        .nth(1)
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        slipped.contains("speed: 2 of 4 MQLs without an attempt within 1h"),
        "{slipped}"
    );
    // Never tried and still open: the leads to call, due an hour after the
    // hand-off, 16 days and an hour before the instant.
    assert!(
        slipped.contains("W3  R1 Maya Chen  due Wed 4 Nov 11:00, overdue 16d 1h, never tried"),
        "{slipped}"
    );
    assert!(
        slipped.contains("P1  R1 Maya Chen  due Thu 5 Nov 11:00, overdue 15d 1h, never tried"),
        "{slipped}"
    );
    // Behind pace: 10 − 3 more by the month's last day.
    assert!(
        slipped.contains(
            "Find 7 more MQLs for webinar by Mon 30 Nov to make the month's target of 10."
        ),
        "{slipped}"
    );
    assert!(!slipped.contains("W1"), "{slipped}");

    // Before the first lead: every objective still has its row.
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args(["eval", "--at", "2026-01-01"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let economics = table
        .lines()
        .find(|l| l.starts_with("economics"))
        .unwrap_or_else(|| panic!("economics left out:\n{table}"));
    assert!(
        economics.contains(" all ")
            && economics.contains("NO_DATA")
            && economics.contains("no leads in the window"),
        "{economics}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("speed ") && l.contains("NO_DATA")),
        "{table}"
    );
    assert!(!table.contains("Who slipped"), "{table}");

    // A mistake says what to type.
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args(["eval", "--at", "20/11/2026"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "`20/11/2026` is not a date or time; write 2026-11-20 (midnight), 2026-11-20T09:30"
        ),
        "{stderr}"
    );
}
