//! `handoff test` and `handoff backtest`, run as a user runs them: the binary,
//! on the shipped rules and tests, on the demo company and on imported CSVs.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::helpers::{TestDb, demo_database, handoff};

fn run(args: &[&str]) -> (bool, String, String) {
    let out = handoff().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The shipped tests of rules/acme.yaml pass; a wrong expectation fails with
/// its file:line, what was expected and what was found.
#[test]
fn the_shipped_rule_tests_pass_and_a_broken_expectation_names_its_line() {
    let (ok, out, err) = run(&["--rules", "rules", "test"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("all 11 tests passed"), "{out}");
    assert!(
        !err.contains("Mail decided"),
        "the report is not drowned in logs: {err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let acme = Path::new("rules/acme.yaml").canonicalize().unwrap();
    let variant = Path::new("rules/tests/rules/speed-target-50.yaml")
        .canonicalize()
        .unwrap();
    let text = std::fs::read_to_string("rules/tests/acme.yaml")
        .unwrap()
        .replace("rules: ../acme.yaml", &format!("rules: {}", acme.display()))
        .replace(
            "rules: rules/speed-target-50.yaml",
            &format!("rules: {}", variant.display()),
        );
    let wrong = r#"- { at: "2026-11-02T18:00:00Z", objective: speed-to-lead, status: no_data,"#;
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with(wrong))
        .unwrap()
        + 1;
    let text = text.replace(wrong, &wrong.replace("no_data", "ok"));
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, text).unwrap();
    let (ok, out, err) = run(&["--rules", "rules", "test", file.to_str().unwrap()]);
    assert!(!ok, "a failed expectation exits 1: {out}{err}");
    let want = format!(
        "{}:{line}: at 2026-11-02T18:00:00Z, speed-to-lead: status: expected ok, got no_data",
        file.display()
    );
    assert!(out.contains(&want), "{want}\nin\n{out}{err}");
    assert!(out.contains("1 of 5 tests failed"), "{out}");
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT00:00:00Z").to_string()
}

/// The demo's last week replayed day by day: a status per day for every
/// objective, the same figures `eval --at` gives at each instant, and the
/// notices the planted trouble would have sent.
#[test]
fn a_backtest_of_the_demo_gives_each_days_status_with_evals_figures() {
    let dir = tempfile::tempdir().unwrap();
    let url = demo_database(dir.path(), 2000);
    let to = Utc::now() - TimeDelta::days(1);
    let from = to - TimeDelta::days(6);
    let (ok, out, err) = run(&[
        "--database",
        &url,
        "--rules",
        "rules",
        "backtest",
        "--from",
        &day(from),
        "--to",
        &day(to),
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let objectives = v["current"]["objectives"].as_array().unwrap();
    assert_eq!(objectives.len(), 5);
    let speed = objectives
        .iter()
        .find(|o| o["name"] == "speed-to-lead")
        .unwrap();
    let points = speed["groups"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 7, "one evaluation a day: {points:?}");
    // Every point is what `eval --at` measures at that instant.
    for p in [&points[0], &points[6]] {
        let at = p["at"].as_str().unwrap();
        let (ok, out, err) = run(&[
            "--database",
            &url,
            "--rules",
            "rules",
            "eval",
            "--at",
            at,
            "--objective",
            "speed-to-lead",
            "--format",
            "json",
        ]);
        assert!(ok || out.contains("\"status\""), "{err}");
        let e: Value = serde_json::from_str(&out).unwrap();
        let r = &e["objectives"][0]["results"][0];
        assert_eq!(p["value"], r["value"], "{at}");
        assert_eq!(p["status"], r["status"], "{at}");
    }
    // The weekly objective is evaluated at its own pace: once in 7 days
    // unless its Monday 06:00 falls inside them.
    let economics = objectives
        .iter()
        .find(|o| o["name"] == "attempt-economics")
        .unwrap();
    let n = economics["groups"][0]["points"].as_array().unwrap().len();
    assert!((1..=2).contains(&n), "{n}");
    // The demo plants breaches: they would have been mailed, and nothing was.
    let notices = v["current"]["notices"].as_array().unwrap();
    assert!(!notices.is_empty());
    assert!(
        notices
            .iter()
            .all(|m| m["subject"].as_str().unwrap().starts_with("[handoff] "))
    );
    let (ok, table, _) = run(&[
        "--database",
        &url,
        "--rules",
        "rules",
        "backtest",
        "--from",
        &day(from),
        "--to",
        &day(to),
    ]);
    assert!(ok);
    assert!(table.contains("speed-to-lead (percent_worked)"), "{table}");
    assert!(table.contains("Nothing was sent."), "{table}");
}

/// Data imported from CSV has no history; `backtest --record` gives it one
/// that the status page and the history API read, and `--against` shows what
/// a proposed rule set would have meant over the same days.
#[tokio::test]
async fn backtest_record_fills_the_history_of_imported_data() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    let (ok, _, err) = run(&["demo", "--csv", csv.to_str().unwrap(), "--leads", "1500"]);
    assert!(ok, "{err}");
    let file = dir.path().join("crm.db");
    let url = format!("sqlite://{}", file.display());
    let (ok, _, err) = run(&["--database", &url, "import", csv.to_str().unwrap()]);
    assert!(ok, "{err}");
    let to = Utc::now() - TimeDelta::days(1);
    let from = to - TimeDelta::days(9);
    let proposed = dir.path().join("proposed");
    std::fs::create_dir(&proposed).unwrap();
    std::fs::write(
        proposed.join("acme.yaml"),
        std::fs::read_to_string("rules/acme.yaml").unwrap().replace(
            "    target: 0.9\n    alert:\n      for: 30m",
            "    target: 0.5\n    alert:\n      for: 30m",
        ),
    )
    .unwrap();
    let (ok, out, err) = run(&[
        "--database",
        &url,
        "--rules",
        "rules",
        "backtest",
        "--from",
        &day(from),
        "--to",
        &day(to),
        "--record",
        "--against",
        proposed.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let points: usize = v["current"]["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["groups"].as_array().unwrap())
        .map(|g| g["points"].as_array().unwrap().len())
        .sum();
    assert!(points > 0);
    assert!(v["against"]["objectives"].is_array(), "{v}");
    let db = TestDb::sqlite_at(&file).await;
    let recorded = db.counts("SELECT COUNT(*) FROM handoff_results").await[0][0].unwrap();
    assert_eq!(
        recorded as usize, points,
        "every point recorded, nothing else"
    );
    let speed_days = db
        .counts("SELECT COUNT(DISTINCT substr(evaluated_at, 1, 10)) FROM handoff_results WHERE objective = 'speed-to-lead'")
        .await[0][0]
        .unwrap();
    assert_eq!(speed_days, 10, "a point a day for 10 days");
    // Alert state and mail are never written by a backtest.
    for table in ["handoff_alerts", "handoff_notifications", "handoff_outbox"] {
        let n = db.counts(&format!("SELECT COUNT(*) FROM {table}")).await[0][0].unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert!(err.contains("recorded"), "{err}");
}
