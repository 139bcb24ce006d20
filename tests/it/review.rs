//! The monthly review (docs/REVIEW.md) on hand-built rows: every section's
//! figures worked out by hand in the comments. The same rows run on SQLite,
//! PostgreSQL and MariaDB, and each server's JSON is compared byte for byte
//! with SQLite's. Then the review against `handoff eval` over the same month,
//! and the page as a file.

use handoff::codes::{Change, Delivery, Severity, State, Status};
use handoff::import::import_dir;
use handoff::progress::Progress;
use handoff::review::{Periods, review};
use handoff::rules::{RuleSet, canonical_text, load_str};
use handoff::store::{AlertEvent, Journal, OutboxRow, ResultRow, RuleSetRow};
use serde_json::{Value, json};

use crate::helpers::{TestDb, backend_tests, csv_dir, handoff, utc};

backend_tests!(
    a_month_reviewed_by_hand,
    a_review_is_eval_over_the_closed_month
);

/// "Now": a week into December 2026 (UTC rules), so November has closed.
const NOW: &str = "2026-12-07T12:00:00Z";

pub(crate) const REPS: &str = "id,name,team\nR1,Maya Chen,na\nR2,Tom Walsh,na\n";

// October (the period before): O1–O3 webinar, O4 paid search, each tried
// within 1h (speed 4 of 4); O1 accepted.
//
// November (the review's period):
//   N1 webinar R1 09:00 Nov 2, tried 09:30 and Nov 3 09:00, accepted, a deal
//      opened Nov 10 (after 2 attempts) and won Nov 20 for 1000.
//   N2 webinar R2 Nov 3 09:00, first tried 11:00 (2h: late), rejected and
//      closed `unqualified` with 1 attempt: given up under the minimum of 2.
//   N3 paid search R1 Nov 10 09:00, tried 09:10 (connected); undecided.
//   N4 paid search, no owner, Nov 12, never tried, closed `no_response`
//      Nov 20: given up with 0 attempts.
//   N5 webinar R1 Nov 30 23:30: its deadline (Dec 1 00:30) is after the
//      period's end, so speed does not judge it; too young for acceptance.
//   N6 webinar R2 Nov 15 09:00, tried 09:20, 10:00, 11:00, closed
//      `no_response` Nov 18: given up after 3 attempts, enough.
pub(crate) const LEADS: &str = "\
id,created_at,mql_at,owner_id,channel,accepted_at,rejected_at,closed_at,close_reason
O1,2026-10-05T10:00:00Z,2026-10-05T10:00:00Z,R1,webinar,2026-10-06T10:00:00Z,,,
O2,2026-10-06T10:00:00Z,2026-10-06T10:00:00Z,R1,webinar,,,,
O3,2026-10-07T10:00:00Z,2026-10-07T10:00:00Z,R2,webinar,,,,
O4,2026-10-08T10:00:00Z,2026-10-08T10:00:00Z,R2,paid_search,,,,
N1,2026-11-02T09:00:00Z,2026-11-02T09:00:00Z,R1,webinar,2026-11-03T12:00:00Z,,,
N2,2026-11-03T09:00:00Z,2026-11-03T09:00:00Z,R2,webinar,,2026-11-04T09:00:00Z,2026-11-05T09:00:00Z,unqualified
N3,2026-11-10T09:00:00Z,2026-11-10T09:00:00Z,R1,paid_search,,,,
N4,2026-11-12T09:00:00Z,2026-11-12T09:00:00Z,,paid_search,,,2026-11-20T09:00:00Z,no_response
N5,2026-11-30T23:30:00Z,2026-11-30T23:30:00Z,R1,webinar,,,,
N6,2026-11-15T09:00:00Z,2026-11-15T09:00:00Z,R2,webinar,,,2026-11-18T09:00:00Z,no_response
";

pub(crate) const TOUCHES: &str = "\
id,lead_id,occurred_at,kind,direction,outcome,automated
T1,O1,2026-10-05T10:30:00Z,call,outbound,no_answer,false
T2,O2,2026-10-06T10:20:00Z,call,outbound,no_answer,false
T3,O3,2026-10-07T10:40:00Z,call,outbound,no_answer,false
T4,O4,2026-10-08T10:50:00Z,call,outbound,no_answer,false
T5,N1,2026-11-02T09:30:00Z,call,outbound,no_answer,false
T6,N1,2026-11-03T09:00:00Z,call,outbound,no_answer,false
T7,N2,2026-11-03T11:00:00Z,call,outbound,no_answer,false
T8,N3,2026-11-10T09:10:00Z,call,outbound,connected,false
T9,N6,2026-11-15T09:20:00Z,call,outbound,no_answer,false
T10,N6,2026-11-15T10:00:00Z,call,outbound,no_answer,false
T11,N6,2026-11-15T11:00:00Z,call,outbound,no_answer,false
";

pub(crate) const DEALS: &str = "\
id,lead_id,created_at,closed_at,amount,won
D1,N1,2026-11-10T09:00:00Z,2026-11-20T09:00:00Z,1000,true
";

pub(crate) const RULES: &str = "version: 1
timezone: UTC
currency: EUR
teams:
  sales: { email: [sales@acme.example] }
  marketing: { email: [marketing@acme.example] }
review: { to: [sales, marketing] }
objectives:
  - name: volume
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    target: { webinar: 3, paid_search: 2 }
    trend: { compare: previous, drop: 20%, min_denominator: 1 }
  - name: acceptance
    kind: lead_quality
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    mature_after: 1d
    target: 0.5
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 0 * * *'
    window: rolling 28d
    respond_within: 1h
    target: 0.7
    trend: { compare: previous, drop: 0.1, min_denominator: 1 }
  - name: persistence
    kind: contact_attempts
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    min_attempts: 2
    target: 0.5
  - name: economics
    kind: profitability
    owner: [sales, marketing]
    schedule: '0 0 1 1 *'
    lookback: 60d
    cost_per_attempt: 10
    min_sample: 1
    min_conversions: 1
    checks: persistence
";

pub(crate) async fn load(db: &TestDb) {
    let dir = csv_dir(&[
        ("reps.csv", REPS),
        ("leads.csv", LEADS),
        ("touches.csv", TOUCHES),
        ("deals.csv", DEALS),
    ]);
    let report = import_dir(&db.store, dir.path(), &Progress::hidden())
        .await
        .unwrap();
    assert!(report.is_success(), "{report:?}");
}

fn rules_text(speed_target: &str) -> String {
    RULES.replace(
        "    target: 0.7\n",
        &format!("    target: {speed_target}\n"),
    )
}

fn rules() -> RuleSet {
    load_str("sla.yaml", RULES).unwrap_or_else(|e| panic!("{e}"))
}

fn result(objective: &str, group: &str, at: &str, status: Status) -> ResultRow {
    ResultRow {
        objective: objective.into(),
        group: group.into(),
        evaluated_at: utc(at),
        status,
        value: None,
        target: None,
        numerator: None,
        denominator: None,
        details: "{}".into(),
    }
}

fn event(at: &str, from: State, to: Change) -> AlertEvent {
    AlertEvent {
        objective: "speed".into(),
        group: "all".into(),
        at: utc(at),
        from_state: from,
        to_state: to,
        severity: Some(Severity::Critical),
        status: Status::Breached,
        value: Some(0.5),
        summary: String::new(),
    }
}

fn mail(
    id: &str,
    objective: &str,
    group: &str,
    kind: &str,
    at: &str,
    state: Delivery,
) -> OutboxRow {
    OutboxRow {
        id: id.into(),
        receiver: "sales@acme.example".into(),
        objective: objective.into(),
        group: group.into(),
        kind: kind.into(),
        subject: "s".into(),
        message: "m".into(),
        created_at: utc(at),
        state,
        attempts: 1,
        next_attempt_at: utc(at),
        sent_at: (state == Delivery::Sent).then(|| utc(at)),
        last_error: None,
    }
}

fn rule_set(at: &str, source: &str, text: &str) -> RuleSetRow {
    let rs = load_str("sla.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    RuleSetRow {
        loaded_at: utc(at),
        hash: rs.content_hash(),
        source: source.into(),
        rules: canonical_text(&rs.normalized()),
    }
}

/// The daemon's record of November: results, alert events, mail, rule loads.
async fn record(db: &TestDb) {
    let mut j = Journal::default();
    use Status::{AtRisk, Breached, Ok};
    // speed (daily at midnight): breached Nov 12 and 13 (a day each, to
    // the next result), Nov 20 (the daemon then stopped until Nov 25: the
    // result holds to its next scheduled run, Nov 21, one day); at risk
    // Nov 26 (a day). 3 days breached, 1 at risk. October's result is
    // before the period.
    j.results
        .push(result("speed", "all", "2026-10-31T00:00:00Z", Breached));
    for day in 10..=30 {
        if (21..=24).contains(&day) {
            continue;
        }
        let status = match day {
            12 | 13 | 20 => Breached,
            26 => AtRisk,
            _ => Ok,
        };
        j.results.push(result(
            "speed",
            "all",
            &format!("2026-11-{day:02}T00:00:00Z"),
            status,
        ));
    }
    // volume (webinar), yearly schedule: at risk from Nov 15 12:00 to the
    // period's end, 15.5 days.
    j.results
        .push(result("volume", "webinar", "2026-11-15T12:00:00Z", AtRisk));
    // speed fired twice in November (once in October).
    j.events.push(event(
        "2026-10-31T00:00:00Z",
        State::Inactive,
        Change::Firing,
    ));
    j.events.push(event(
        "2026-11-12T00:00:00Z",
        State::Inactive,
        Change::Firing,
    ));
    j.events.push(event(
        "2026-11-14T00:00:00Z",
        State::Firing,
        Change::Resolved,
    ));
    j.events.push(event(
        "2026-11-20T00:00:00Z",
        State::Inactive,
        Change::Firing,
    ));
    j.events.push(event(
        "2026-11-25T00:00:00Z",
        State::Firing,
        Change::Resolved,
    ));
    // Mail: speed 5 sent in November (a failed repeat, October's, a lead
    // notice, an SLA change and a trend notice do not count), volume
    // (webinar) 1.
    #[rustfmt::skip]
    let mails = [
        ("m1", "speed", "all", "breach", "2026-10-31T00:00:30Z", Delivery::Sent),
        ("m2", "speed", "all", "breach", "2026-11-12T00:00:30Z", Delivery::Sent),
        ("m3", "speed", "all", "resolved", "2026-11-14T00:00:30Z", Delivery::Sent),
        ("m4", "speed", "all", "breach", "2026-11-20T00:00:30Z", Delivery::Sent),
        ("m5", "speed", "all", "breach:repeat", "2026-11-21T00:00:30Z", Delivery::Failed),
        ("m6", "speed", "all", "resolved", "2026-11-25T00:00:30Z", Delivery::Sent),
        ("m7", "speed", "", "lead_notice", "2026-11-25T00:00:30Z", Delivery::Sent),
        ("m8", "volume", "webinar", "at_risk", "2026-11-15T12:00:30Z", Delivery::Sent),
        ("m9", "speed", "", "sla_changed", "2026-11-15T10:00:30Z", Delivery::Sent),
        ("m10", "speed", "all", "trend", "2026-11-01T00:00:30Z", Delivery::Sent),
        ("m11", "speed", "all", "breach:repeat", "2026-11-13T00:00:30Z", Delivery::Sent),
    ];
    for (id, o, g, kind, at, state) in mails {
        j.outbox.push(mail(id, o, g, kind, at, state));
    }
    // The rules: speed's target 0.8 from October, 0.7 from Nov 15 (an SLA
    // change), a description edited Nov 20 (not one), a load in December.
    j.rule_sets.push(rule_set(
        "2026-10-01T00:00:00Z",
        "start",
        &rules_text("0.8"),
    ));
    j.rule_sets
        .push(rule_set("2026-11-15T10:00:00Z", "SIGHUP", RULES));
    j.rule_sets.push(rule_set(
        "2026-11-20T10:00:00Z",
        "a rule file changed",
        &RULES.replace(
            "owner: [sales, marketing]\n",
            "owner: [sales, marketing]\n    description: Where calls stop paying.\n",
        ),
    ));
    j.rule_sets
        .push(rule_set("2026-12-02T10:00:00Z", "start", RULES));
    db.store.record(&j).await.unwrap();
}

async fn november(db: &TestDb) -> Value {
    let rules = rules();
    let period = Periods::of(&rules).parse("2026-11", utc(NOW)).unwrap();
    review(&rules, &db.store, &period).await.unwrap().to_json()
}

fn objective<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// One group's figure: (group, status, value).
type Figure = (String, String, Value);

/// `(label, [(group, status, value)])` of each period of an objective.
fn periods(r: &Value, name: &str) -> Vec<(String, Vec<Figure>)> {
    objective(r, name)["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let groups = p["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    (
                        g["group"].as_str().unwrap().to_owned(),
                        g["status"].as_str().unwrap().to_owned(),
                        g["value"].clone(),
                    )
                })
                .collect();
            (p["label"].as_str().unwrap().to_owned(), groups)
        })
        .collect()
}

fn g(group: &str, status: &str, value: Value) -> Figure {
    (group.to_owned(), status.to_owned(), value)
}

async fn a_month_reviewed_by_hand(db: TestDb) {
    load(&db).await;
    record(&db).await;
    let r = november(&db).await;

    assert_eq!(
        r["period"],
        json!({"label": "2026-11", "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"})
    );

    // volume: webinar N1 N2 N5 N6 = 4 of 3, paid search N3 N4 = 2 of 2;
    // October 3 and 1; September and November 2025 had none.
    let v = periods(&r, "volume");
    let labels: Vec<&str> = v.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["2026-11", "2026-10", "2026-09", "2025-11"]);
    assert_eq!(
        v[0].1,
        [
            g("paid_search", "ok", json!(2)),
            g("webinar", "ok", json!(4))
        ]
    );
    assert_eq!(
        v[1].1,
        [
            g("paid_search", "at_risk", json!(1)),
            g("webinar", "ok", json!(3))
        ]
    );
    // Growth: paid search 2 after 1 (+100%), webinar 4 after 3 (+33%).
    let change = &objective(&r, "volume")["change"];
    assert_eq!(change[0]["group"], "paid_search");
    assert!((change[0]["change"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!((change[1]["change"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    // Both grew: no trend drop.
    let trend = objective(&r, "volume")["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2);
    assert!(trend.iter().all(|t| t["dropped"] == false));

    // acceptance (cohort to Nov 30 00:00, judged by Dec 1): webinar N1
    // accepted, N2 rejected: 1 of 2; paid search none judged.
    let a = periods(&r, "acceptance");
    assert_eq!(
        a[0].1,
        [
            g("paid_search", "no_data", Value::Null),
            g("webinar", "ok", json!(0.5))
        ]
    );
    // October: webinar O1 accepted of 1 judged.
    assert_eq!(a[1].1[1], g("webinar", "ok", json!(1)));

    // speed over November at Dec 1: due N1 N2 N3 N4 N6 (not N5), worked
    // N1 N3 N6: 3 of 5 = 0.6, below 0.7. October 4 of 4.
    let s = periods(&r, "speed");
    assert_eq!(s[0].1, [g("all", "breached", json!(0.6))]);
    assert_eq!(s[1].1, [g("all", "ok", json!(1))]);
    // 0.6 after 1.0: 40 points down, more than 10, on 5 leads due.
    let t = &objective(&r, "speed")["trend"][0];
    assert_eq!(
        (&t["baseline"], &t["volume"], &t["dropped"]),
        (&json!(1.0), &json!(5), &json!(true))
    );
    assert!((t["change"].as_f64().unwrap() + 0.4).abs() < 1e-12);

    // persistence: given up in November N2 (1 attempt), N4 (0), N6 (3):
    // 1 of 3 kept the minimum of 2. October: none given up.
    let p = periods(&r, "persistence");
    assert_eq!(p[0].1, [g("all", "breached", json!(1.0 / 3.0))]);
    assert_eq!(p[1].1, [g("all", "no_data", Value::Null)]);

    // economics: the period and a year before only.
    let e = periods(&r, "economics");
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].1, [g("all", "ok", json!(2))]);

    // Channels (every MQL of November, judged by its end): webinar N1 N2 N5
    // N6 after 3 (+33%), accepted N1, rejected N2, undecided N5 N6;
    // reasons of the rejected or closed: N2 unqualified, N6 no_response;
    // N1 won 1000: 250 per MQL. Paid search N3 N4 after 1 (+100%), none
    // judged, N4 closed no_response.
    let ch = r["channels"].as_array().unwrap();
    assert_eq!(
        ch[0],
        json!({"channel": "webinar", "mqls": 4, "previous_mqls": 3, "growth": 1.0 / 3.0,
               "accepted": 1, "rejected": 1, "undecided": 2, "acceptance": 0.5,
               "close_reasons": {"no_response": 1, "unqualified": 1},
               "won": 1, "revenue": 1000.0, "mql_value": 250.0})
    );
    assert_eq!(
        ch[1],
        json!({"channel": "paid_search", "mqls": 2, "previous_mqls": 1, "growth": 1.0,
               "accepted": 0, "rejected": 0, "undecided": 2, "acceptance": null,
               "close_reasons": {"no_response": 1},
               "won": 0, "revenue": 0.0, "mql_value": 0.0})
    );

    // Reps: R1 N1 N3 N5, both due worked, first tries 30 and 10 minutes
    // (median, nearest rank of 2: the first, 600 s), won N1. R2 N2 N6: 1 of 2
    // in time (2h and 20 min: median 1200 s), gave up on both, N2 under the
    // minimum. No owner: N4, never tried, given up with 0 attempts.
    assert_eq!(
        r["reps"],
        json!([
            {"rep": "R1", "name": "Maya Chen", "mqls": 3, "eligible": 2, "worked": 2, "worked_share": 1.0,
             "median_response_seconds": 600.0, "given_up": 0, "under_minimum": 0, "won": 1},
            {"rep": "R2", "name": "Tom Walsh", "mqls": 2, "eligible": 2, "worked": 1, "worked_share": 0.5,
             "median_response_seconds": 1200.0, "given_up": 2, "under_minimum": 1, "won": 0},
            {"rep": null, "name": null, "mqls": 1, "eligible": 1, "worked": 0, "worked_share": 0.0,
             "median_response_seconds": null, "given_up": 1, "under_minimum": 1, "won": 0},
        ])
    );

    // Economics (60 days to Dec 1: O1–O4 and N1–N6, 10 leads): N1
    // converted at its 2nd attempt; reaching 1: 8, 2: 2 (N1 N6). EV_2 =
    // 1/2 × 1000 = 500 ≥ 10, EV_3 = 0: cutoff 2, what persistence demands.
    // MQL value 1/10 × 1000 = 100; leaking (given up under 2 attempts): N2,
    // N4, worth 2 × 100.
    assert_eq!(
        r["economics"],
        json!([{"objective": "economics", "group": "all", "status": "ok", "cutoff": 2,
                "required_attempts": 2, "mql_value": 100.0, "avg_revenue": 1000.0,
                "converted": 1, "min_conversions": 1, "min_sample": 1,
                "leakage": 2, "leakage_value": 200.0}])
    );

    // Alerts: speed breached 3 days, at risk 1, fired twice, 5 mails sent
    // (m2, m3, m4, m6 and the repeat m11);
    // volume (webinar) at risk 15.5 days, 1 mail.
    assert_eq!(
        r["alerts"],
        json!([
            {"objective": "speed", "group": "all", "breached_seconds": 3.0 * 86400.0,
             "at_risk_seconds": 86400.0, "error_seconds": 0.0, "fired": 2, "notices": 5},
            {"objective": "volume", "group": "webinar", "breached_seconds": 0.0,
             "at_risk_seconds": 15.5 * 86400.0, "error_seconds": 0.0, "fired": 0, "notices": 1},
        ])
    );

    // Changes: speed's target, Nov 15; the description edit is no change.
    assert_eq!(
        r["changes"],
        json!([{"at": "2026-11-15T10:00:00Z", "source": "SIGHUP", "objective": "speed",
                "change": "changed", "lines": ["target: 0.8 → 0.7"]}])
    );

    // Met: volume, acceptance, economics; missed: speed, persistence.
    let review = {
        let rules = rules();
        let period = Periods::of(&rules).parse("2026-11", utc(NOW)).unwrap();
        review(&rules, &db.store, &period).await.unwrap()
    };
    let met: Vec<(&str, Option<bool>)> = review
        .objectives
        .iter()
        .map(|o| (o.name.as_str(), o.met()))
        .collect();
    assert_eq!(
        met,
        [
            ("volume", Some(true)),
            ("acceptance", Some(true)),
            ("speed", Some(false)),
            ("persistence", Some(false)),
            ("economics", Some(true)),
        ]
    );
    assert_eq!(
        handoff::report::subject(&review),
        "[handoff] Review of November 2026: 3 promises met, 2 missed"
    );

    // Every backend gives SQLite's JSON, byte for byte.
    if db.backend() != "sqlite" {
        let sqlite = TestDb::sqlite().await;
        load(&sqlite).await;
        record(&sqlite).await;
        let reference = november(&sqlite).await;
        assert_eq!(r.to_string(), reference.to_string());
    }
}

/// The review's figures for a month are `handoff eval` at the month's end
/// with a window of exactly that month (UTC, 30 days), objective by
/// objective, from imported data and no daemon history.
async fn a_review_is_eval_over_the_closed_month(db: TestDb) {
    load(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let monthly = dir.path().join("monthly");
    let rolling = dir.path().join("rolling");
    std::fs::create_dir_all(&monthly).unwrap();
    std::fs::create_dir_all(&rolling).unwrap();
    std::fs::write(monthly.join("sla.yaml"), RULES).unwrap();
    std::fs::write(
        rolling.join("sla.yaml"),
        RULES
            .replace("window: month", "window: rolling 30d")
            .replace("window: rolling 28d", "window: rolling 30d"),
    )
    .unwrap();
    let run = |rules: &std::path::Path, args: &[&str]| -> Value {
        let out = handoff()
            .args(["--database", &db.url, "--rules"])
            .arg(rules)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let r = run(
        &monthly,
        &[
            "review", "--period", "2026-11", "--format", "json", "--at", NOW,
        ],
    );
    let e = run(
        &rolling,
        &["eval", "--at", "2026-12-01T00:00:00Z", "--format", "json"],
    );
    for (o, evaluated) in r["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .zip(e["objectives"].as_array().unwrap())
    {
        assert_eq!(o["name"], evaluated["name"]);
        let ours = &o["periods"][0]["results"];
        let theirs = &evaluated["results"];
        assert!(ours.as_array().is_some_and(|a| !a.is_empty()));
        // Everything but the window's own description (a rolling window
        // says it has always fully elapsed).
        let strip = |v: &Value| {
            let mut v = v.clone();
            for g in v.as_array_mut().unwrap() {
                if let Some(d) = g["details"].as_object_mut() {
                    d.remove("elapsed");
                }
            }
            v
        };
        assert_eq!(strip(ours), strip(theirs), "{}", o["name"]);
    }
}

/// The page is one file: no script, nothing fetched; every section there.
#[tokio::test]
async fn the_page_is_one_self_contained_file() {
    let db = TestDb::sqlite().await;
    load(&db).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sla.yaml"), RULES).unwrap();
    let page = dir.path().join("nov.html");
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args([
            "review", "--period", "2026-11", "--format", "html", "--at", NOW, "--out",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for absent in ["<script", "src=", "http://", "https://", "@import", "url("] {
        assert!(!html.contains(absent), "the page holds {absent}");
    }
    for present in [
        "<h1>Review of November 2026</h1>",
        "<h2>Promises</h2>",
        "<h2>Lead flow</h2>",
        "<svg",
        "<h2>Channels</h2>",
        "<h2>Reps</h2>",
        "<h2>Economics</h2>",
        "<h2>Alerts</h2>",
        "<h2>SLA changes</h2>",
        "@page{size:A4",
        "R2 Tom Walsh",
        "Trend: all fell 40 pts against the period before.",
    ] {
        assert!(html.contains(present), "no {present} in the page");
    }
    // The text report says the same.
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args(["review", "--period", "2026-11", "--at", NOW])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Review of November 2026 "), "{text}");
    assert!(
        text.contains("Met: volume, acceptance, economics. Missed: speed, persistence."),
        "{text}"
    );
    assert!(text.contains("economics (all): attempts pay up to 2 attempts (the SLA demands 2 attempts); an MQL is worth 100.00 EUR"), "{text}");
    // A period that has not closed is refused, and says why.
    let out = handoff()
        .args(["--database", &db.url, "--rules"])
        .arg(dir.path())
        .args(["review", "--period", "2026-12", "--at", NOW])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2026-12 has not closed yet"), "{err}");
}

/// profitability is compared with a year earlier only, unless its `trend:`
/// needs the periods before: then it gets all four, and a reading.
#[tokio::test]
async fn profitability_with_a_trend_reads_the_periods_before() {
    let db = TestDb::sqlite().await;
    load(&db).await;
    let rules = load_str(
        "sla.yaml",
        &RULES.replace(
            "    checks: persistence\n",
            "    checks: persistence\n    trend: { compare: previous, drop: 0.5, min_denominator: 1 }\n",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let period = Periods::of(&rules).parse("2026-11", utc(NOW)).unwrap();
    let r = review(&rules, &db.store, &period).await.unwrap().to_json();
    let e = periods(&r, "economics");
    let labels: Vec<&str> = e.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["2026-11", "2026-10", "2026-09", "2025-11"]);
    // October's 60 days (O1–O4) converted nobody: no cutoff, no baseline.
    assert_eq!(e[1].1, [g("all", "no_data", Value::Null)]);
    let t = &objective(&r, "economics")["trend"][0];
    assert_eq!(
        (&t["value"], &t["baseline"], &t["dropped"]),
        (&json!(2.0), &Value::Null, &json!(false))
    );
}
