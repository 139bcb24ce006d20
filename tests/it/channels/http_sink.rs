//! Webhook, Slack and Teams notices posted to a real HTTP server
//! (tests/http_sink.py, Python's standard library) that checks each body
//! against the documented shape: Alertmanager's webhook payload version 4,
//! Slack's Block Kit, a Teams workflow's Adaptive Card. Its faults: 500s,
//! a 429 with Retry-After, a 400, a server that quotes the URL, and a
//! server that is down. URLs carry a secret that must show nowhere.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::{NOVEMBER_LEADS, NOVEMBER_TOUCHES, mail, rules, subjects};
use crate::daemon::{eventually, get_json, http, options, run_all, sample, start};
use crate::eval::load;
use crate::helpers::{TestDb, free_port, utc};

/// Starts the HTTP server on `port`, writing what it receives into `dir`.
fn sink(port: u16, dir: &Path) -> crate::helpers::Sink {
    crate::helpers::sink("http_sink.py", port, dir, "python3")
}

/// What the server recorded, in order.
fn requests(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn to<'a>(all: &'a [Value], path_start: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with(path_start))
        .collect()
}

/// The secret part of every URL in these tests: a Slack webhook URL's
/// token is a credential.
const SECRET: &str = "XOXSECRET7f3a9c";

fn teams(port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}");
    format!(
        "  sales:
    email: [sales@acme.example]
    webhook: {base}/webhook/ok-sales/{SECRET}
    slack: {base}/slack/ok-sales/T0000/B0000/{SECRET}
    msteams: {base}/teams/ok-sales/{SECRET}
  marketing:
    email: [mkt@acme.example]
    webhook: {base}/webhook/fail500-2-mkt/{SECRET}
    slack: {base}/slack/ratelimit-2-mkt/{SECRET}
    msteams: [{base}/teams/bad-mkt/{SECRET}, {base}/teams/echo-mkt/{SECRET}]
"
    )
}

/// Every channel gets the breach, and later its resolution, in the shape
/// its documentation gives; the failing endpoints behave as documented: two
/// 500s then delivered, a 429 waited out (at least its Retry-After), a 400
/// and a 404 given up after one try each. The secret is in no page,
/// metric, API answer, stored row or error.
#[tokio::test]
async fn chat_and_webhook_receivers_get_documented_payloads_and_faults_behave() {
    let db = TestDb::sqlite().await;
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let got = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = sink(port, got.path());
    let dir = rules(&teams(port));
    let out = tempfile::tempdir().unwrap();
    let at = utc("2026-11-20T12:00:00Z");
    let run = start(&db, dir.path(), mail(options(at), out.path(), true)).await;

    // sales: speed breached → webhook, Slack, Teams. marketing: volume at
    // risk → webhook after two 500s, Slack after a 429, Teams refused (400)
    // and refused with the URL quoted (404).
    eventually("every post answered", || async {
        let all = requests(got.path());
        to(&all, "/webhook/ok-sales").len() == 1
            && to(&all, "/slack/ok-sales").len() == 1
            && to(&all, "/teams/ok-sales").len() == 1
            && to(&all, "/webhook/fail500").len() == 3
            && to(&all, "/slack/ratelimit").len() == 2
            && to(&all, "/teams/bad").len() == 1
            && to(&all, "/teams/echo").len() == 1
    })
    .await;
    let all = requests(got.path());
    for r in &all {
        assert_eq!(r["problems"], serde_json::json!([]), "{r:#}");
        assert_eq!(r["headers"]["content-type"], "application/json", "{r:#}");
    }
    // Alertmanager's webhook: one alert, firing, with its labels.
    let w = &to(&all, "/webhook/ok-sales")[0]["body"];
    assert_eq!(w["version"], "4");
    assert_eq!(w["status"], "firing");
    assert_eq!(w["receiver"], "sales");
    let a = &w["alerts"][0];
    assert_eq!(a["labels"]["alertname"], "HandoffObjectiveBreached");
    assert_eq!(a["labels"]["objective"], "speed");
    assert_eq!(a["labels"]["group"], "all");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(
        a["annotations"]["summary"],
        "[handoff] BREACHED speed: 50% worked in 1h, target 90%"
    );
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(w["externalURL"], "https://handoff.acme.example/");
    // Slack: the header says what and where; the first button acknowledges.
    let s = &to(&all, "/slack/ok-sales")[0]["body"];
    assert_eq!(s["blocks"][0]["text"]["text"], "BREACHED: speed");
    let buttons = s["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap()["elements"]
        .clone();
    assert_eq!(buttons[0]["text"]["text"], "Acknowledge");
    assert!(
        buttons[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://handoff.acme.example/ack?o=speed&g=all&e="),
        "{buttons}"
    );
    // Teams: an Adaptive Card whose first line is the same.
    let t = &to(&all, "/teams/ok-sales")[0]["body"];
    assert_eq!(
        t["attachments"][0]["content"]["body"][0]["text"],
        "BREACHED: speed"
    );
    // The 429's wait was kept: the retry came at least 2 s after it.
    let rl = to(&all, "/slack/ratelimit");
    assert_eq!(rl[0]["answer"], 429);
    assert_eq!(rl[1]["answer"], 200);
    let waited = rl[1]["at"].as_f64().unwrap() - rl[0]["at"].as_f64().unwrap();
    assert!(waited >= 2.0, "retried after {waited} s");
    let fails: Vec<i64> = to(&all, "/webhook/fail500")
        .iter()
        .map(|r| r["answer"].as_i64().unwrap())
        .collect();
    assert_eq!(fails, [500, 500, 200]);

    // Recorded as the channels answered.
    let rows = db
        .counts(
            "SELECT COUNT(*) FROM handoff_outbox WHERE state = 'failed' AND receiver LIKE 'msteams:%'",
        )
        .await;
    assert_eq!(rows[0][0], Some(2), "the 400 and the 404, tried once each");
    let errors = db
        .texts("SELECT last_error FROM handoff_outbox WHERE last_error IS NOT NULL")
        .await;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("answered HTTP 404: Cannot POST /…")),
        "the 404 is kept, the URL it quoted scrubbed: {errors:?}"
    );
    let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
    let metric = |name: &str, labels: &[(&str, &str)]| sample(&scrape, name, labels);
    assert_eq!(
        metric(
            "handoff_notifications_total",
            &[("kind", "firing"), ("channel", "slack")]
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            "handoff_notifications_failed_total",
            &[("reason", "rate_limited"), ("channel", "slack")]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            "handoff_notifications_failed_total",
            &[("reason", "temporary"), ("channel", "webhook")]
        ),
        Some(2.0)
    );
    assert_eq!(
        metric(
            "handoff_notifications_failed_total",
            &[("reason", "permanent"), ("channel", "msteams")]
        ),
        Some(2.0)
    );

    // Resolved: W3 and P1 were worked in time after all.
    load(
        &db,
        "",
        "T3,W3,2026-11-04T10:10:00Z,call,outbound,no_answer,false\n\
         T4,P1,2026-11-05T10:10:00Z,email,outbound,,false\n",
        "",
    )
    .await;
    run_all(&run.daemon).await;
    eventually("the resolutions posted", || async {
        let all = requests(got.path());
        to(&all, "/webhook/ok-sales").len() == 2
            && to(&all, "/slack/ok-sales").len() == 2
            && to(&all, "/teams/ok-sales").len() == 2
    })
    .await;
    let all = requests(got.path());
    let w = &to(&all, "/webhook/ok-sales")[1]["body"];
    assert_eq!(w["status"], "resolved");
    let first = &to(&all, "/webhook/ok-sales")[0]["body"]["alerts"][0];
    let a = &w["alerts"][0];
    assert_eq!(
        a["fingerprint"], first["fingerprint"],
        "one series, one fingerprint"
    );
    assert_eq!(a["startsAt"], first["startsAt"]);
    assert_ne!(a["endsAt"], "0001-01-01T00:00:00Z");
    let s = &to(&all, "/slack/ok-sales")[1]["body"];
    assert_eq!(s["blocks"][0]["text"]["text"], "RESOLVED: speed");
    assert!(
        !s.to_string().contains("Acknowledge"),
        "nothing to acknowledge in a resolution"
    );

    // The secret shows nowhere the daemon writes.
    let (_, page) = http(run.addr, "GET", "/", None).await;
    let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
    let api = format!(
        "{}{}",
        get_json(run.addr, "/api/v1/alerts").await,
        get_json(run.addr, "/api/v1/objectives").await
    );
    let stored = db
        .texts("SELECT receiver || ' ' || COALESCE(last_error, '') FROM handoff_outbox")
        .await
        .join("\n");
    let log = db
        .texts("SELECT receiver FROM handoff_notifications")
        .await
        .join("\n");
    let rule_sets = db
        .texts("SELECT rules FROM handoff_rule_sets")
        .await
        .join("\n");
    for (what, text) in [
        ("the page", &page),
        ("/metrics", &scrape),
        ("the API", &api),
        ("the outbox", &stored),
        ("the notification log", &log),
        ("the change log of the rules", &rule_sets),
    ] {
        assert!(!text.contains(SECRET), "{what} holds the secret");
    }
    assert!(
        stored.contains(&format!("slack:127.0.0.1:{port}/")),
        "receivers by id: {stored}"
    );
    run.stop().await;
    // Mail went too.
    assert!(subjects(out.path()).len() >= 2);
}

/// The binary, killed with SIGKILL once the posts are recorded as sent and
/// started again: nothing is posted twice; its log never holds the
/// secret, nor does an error for a server that is down.
#[tokio::test]
async fn nothing_is_posted_twice_across_sigkill_and_logs_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::sqlite_at(&dir.path().join("h.db")).await;
    // The binary judges now: four MQLs of the last days, two worked within
    // the hour (speed: 50%, breached).
    let now = chrono::Utc::now();
    let t = |hours: i64, minutes: i64| {
        (now - chrono::TimeDelta::hours(hours) + chrono::TimeDelta::minutes(minutes))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let leads = format!(
        "W1,{c},{a},R1,webinar,,,\nW2,{c},{b},R1,webinar,,,\nW3,{c},{b},R1,webinar,,,\nW4,{c},{b},R1,webinar,,,\n",
        c = t(100, 0),
        a = t(50, 0),
        b = t(49, 0),
    );
    let touches = format!(
        "T1,W1,{},call,outbound,no_answer,false\nT2,W2,{},call,outbound,connected,false\n",
        t(50, 20),
        t(49, 20),
    );
    load(&db, &leads, &touches, "").await;
    let got = tempfile::tempdir().unwrap();
    let port = free_port();
    let down = free_port();
    let _server = sink(port, got.path());
    let base = format!("http://127.0.0.1:{port}");
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("sla.yaml"),
        format!(
            "version: 1
timezone: UTC
teams:
  sales:
    webhook: {base}/webhook/ok-sales/{SECRET}
    slack: [{base}/slack/ok-sales/{SECRET}, http://127.0.0.1:{down}/services/{SECRET}]
  marketing:
    msteams: {base}/teams/ok-mkt/{SECRET}
objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
    alert: {{ notify: [sales, marketing] }}
"
        ),
    )
    .unwrap();
    let logs = tempfile::tempdir().unwrap();
    let spawn = |n: u32| {
        crate::helpers::handoff()
            .args(["--database", &db.url, "--rules"])
            .arg(rules.path())
            .args(["run", "--listen", "127.0.0.1:0", "--group-wait", "0"])
            .args(["--outbox-dir"])
            .arg(dir.path().join("outbox"))
            .env("HANDOFF_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.path().join(format!("{n}.log"))).unwrap())
            .spawn()
            .unwrap()
    };
    let mut child = spawn(1);
    let start = std::time::Instant::now();
    loop {
        let sent = db
            .counts("SELECT COUNT(*) FROM handoff_outbox WHERE state = 'sent'")
            .await;
        if sent[0][0] == Some(3) && requests(got.path()).len() >= 3 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "three posts sent and recorded: {:?}",
            requests(got.path())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before: Vec<String> = requests(got.path())
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();

    let mut child = spawn(2);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = child.kill();
    let _ = child.wait();
    let after: Vec<String> = requests(got.path())
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(after, before, "nothing posted twice after SIGKILL");
    // The endpoint that is down is still waiting, its error without the URL's path.
    let pending = db
        .texts("SELECT last_error FROM handoff_outbox WHERE state = 'pending'")
        .await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(
        pending[0].starts_with(&format!("cannot reach http://127.0.0.1:{down}/…")),
        "{pending:?}"
    );
    for n in [1, 2] {
        let log = std::fs::read_to_string(logs.path().join(format!("{n}.log"))).unwrap();
        assert!(log.contains("Notice delivered") || n == 2, "{log}");
        assert!(!log.contains(SECRET), "run {n}'s log holds the secret");
    }
}
