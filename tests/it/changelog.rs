//! The SLA's change log (`handoff_rule_sets`) and when problems began
//! (`Store::episode_starts`), on every backend; the change log over HTTP
//! (docs/DAEMON.md, "Alert identity and the SLA's change log").

use chrono::{DateTime, TimeDelta, Utc};
use handoff::store::{Journal, ResultRow, RuleSetRow, Store, StoreOptions};

use crate::daemon::{get_json, http, options, rules_dir, start};
use crate::helpers::{TestDb, backend_tests, handoff, utc};

backend_tests!(
    rule_sets_are_recorded_with_the_rest_and_read_newest_first,
    pruning_keeps_the_rule_set_in_force,
    episode_starts_follow_the_latest_run_of_problems,
);

fn rule_set(at: &str, source: &str) -> RuleSetRow {
    RuleSetRow {
        loaded_at: utc(at),
        hash: format!("{:032x}", at.len()),
        source: source.to_owned(),
        // Text the backends must keep byte for byte.
        rules: format!(r#"{{"objectives":[],"teams":[{{"name":"ventes — été","at":"{at}"}}]}}"#),
    }
}

fn result(objective: &str, group: &str, at: DateTime<Utc>, status: &str) -> ResultRow {
    ResultRow {
        objective: objective.to_owned(),
        group: group.to_owned(),
        evaluated_at: at,
        status: handoff::codes::Status::parse(status).unwrap(),
        value: (status != "error").then_some(0.5),
        target: Some(0.9),
        numerator: None,
        denominator: None,
        details: "{}".to_owned(),
    }
}

async fn rule_sets_are_recorded_with_the_rest_and_read_newest_first(db: TestDb) {
    assert_eq!(db.store.latest_rule_set().await.unwrap(), None);
    let first = rule_set("2026-11-01T08:00:00Z", "start");
    let second = rule_set("2026-11-02T09:30:00.123456Z", "SIGHUP");
    let third = rule_set("2026-11-03T10:00:00Z", "a rule file changed");
    let mut journal = Journal {
        results: vec![result("speed", "all", utc("2026-11-01T08:00:00Z"), "ok")],
        rule_sets: vec![first.clone(), second.clone(), third.clone()],
        ..Journal::default()
    };
    assert_eq!(journal.rows(), 4);
    // The rule sets are not mail: they stay with the results.
    let mail = journal.take_mail();
    assert!(mail.is_empty());
    assert_eq!(journal.rule_sets.len(), 3);
    assert!(
        !Journal {
            rule_sets: vec![first.clone()],
            ..Journal::default()
        }
        .is_empty()
    );
    db.store.record(&journal).await.unwrap();

    assert_eq!(
        db.store.latest_rule_set().await.unwrap(),
        Some(third.clone())
    );
    let all = db
        .store
        .rule_sets(
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
            100,
        )
        .await
        .unwrap();
    assert_eq!(all, vec![third.clone(), second.clone(), first.clone()]);
    // `[from, to)`: the one at `to` is left out, the one at `from` is in.
    let range = db
        .store
        .rule_sets(first.loaded_at, third.loaded_at, 100)
        .await
        .unwrap();
    assert_eq!(range, vec![second.clone(), first.clone()]);
    // The limit keeps the newest.
    let newest = db
        .store
        .rule_sets(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"), 2)
        .await
        .unwrap();
    assert_eq!(newest, vec![third.clone(), second.clone()]);
    // In the same transaction as the results: both are there.
    assert_eq!(
        db.counts("SELECT COUNT(*) FROM handoff_results").await,
        vec![vec![Some(1)]]
    );

    // A second load at the same instant replaces the row.
    let again = RuleSetRow {
        source: "POST /-/reload".to_owned(),
        ..third.clone()
    };
    db.store
        .record(&Journal {
            rule_sets: vec![again.clone()],
            ..Journal::default()
        })
        .await
        .unwrap();
    assert_eq!(db.store.latest_rule_set().await.unwrap(), Some(again));
    assert_eq!(
        db.counts("SELECT COUNT(*) FROM handoff_rule_sets").await,
        vec![vec![Some(3)]]
    );
}

async fn pruning_keeps_the_rule_set_in_force(db: TestDb) {
    let prune = |before: &str| Journal {
        prune_before: Some(utc(before)),
        ..Journal::default()
    };
    // Nothing to prune is no error.
    db.store
        .record(&prune("2026-11-10T00:00:00Z"))
        .await
        .unwrap();
    let rows = [
        rule_set("2026-11-01T00:00:00Z", "start"),
        rule_set("2026-11-02T00:00:00Z", "SIGHUP"),
        rule_set("2026-11-03T00:00:00Z", "SIGHUP"),
    ];
    db.store
        .record(&Journal {
            rule_sets: rows.to_vec(),
            ..Journal::default()
        })
        .await
        .unwrap();
    let all = || async {
        db.store
            .rule_sets(
                utc("2026-01-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z"),
                100,
            )
            .await
            .unwrap()
    };
    // A cut between the second and the third: the second was in force at it
    // and stays; the first goes.
    db.store
        .record(&prune("2026-11-02T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(all().await, vec![rows[2].clone(), rows[1].clone()]);
    // A cut at the second exactly: it is not before the cut, so it stays.
    db.store
        .record(&prune("2026-11-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(all().await, vec![rows[2].clone(), rows[1].clone()]);
    // A cut after every row: the newest stays, whatever its age.
    db.store
        .record(&prune("2026-12-31T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(all().await, vec![rows[2].clone()]);
    assert_eq!(
        db.store.latest_rule_set().await.unwrap(),
        Some(rows[2].clone())
    );
}

async fn episode_starts_follow_the_latest_run_of_problems(db: TestDb) {
    let t0 = utc("2026-11-01T00:00:00Z");
    let t = |hours: i64| t0 + TimeDelta::hours(hours);
    // A sub-second instant, which every backend keeps to the microsecond.
    let t2 = t(2) + TimeDelta::microseconds(123_456);
    let history = [
        // A: ok, breached, error, at_risk → the breached one.
        ("A", t(1), "ok"),
        ("A", t2, "breached"),
        ("A", t(3), "error"),
        ("A", t(4), "at_risk"),
        // B: breached, ok → healthy now: no row.
        ("B", t(1), "breached"),
        ("B", t(2), "ok"),
        // C: never healthy → its first result.
        ("C", t(1), "breached"),
        ("C", t(2), "breached"),
        // D: at_risk, no_data, breached → no_data ends the first run.
        ("D", t(1), "at_risk"),
        ("D", t(2), "no_data"),
        ("D", t(3), "breached"),
        // E: only errors; F: ok, then an error → neither has a problem.
        ("E", t(1), "error"),
        ("E", t(2), "error"),
        ("F", t(1), "ok"),
        ("F", t(2), "error"),
        // G: an error after a problem does not end it.
        ("G", t(1), "breached"),
        ("G", t(2), "error"),
        // a: a lower-case group, after every upper-case one in byte order.
        ("a", t(5), "at_risk"),
    ];
    let mut results: Vec<ResultRow> = history
        .iter()
        .map(|(g, at, status)| result("speed", g, *at, status))
        .collect();
    // Another objective's rows change nothing for `speed`.
    results.push(result("volume", "B", t(3), "breached"));
    results.push(result("volume", "A", t(0), "breached"));
    results.push(result("volume", "A", t(6), "ok"));
    db.store
        .record(&Journal {
            results,
            ..Journal::default()
        })
        .await
        .unwrap();

    let starts = db.store.episode_starts("speed").await.unwrap();
    let want = |rows: &[(&str, DateTime<Utc>)]| -> Vec<(String, DateTime<Utc>)> {
        rows.iter().map(|(g, at)| ((*g).to_owned(), *at)).collect()
    };
    assert_eq!(
        starts,
        want(&[
            ("A", t2),
            ("C", t(1)),
            ("D", t(3)),
            ("G", t(1)),
            ("a", t(5))
        ])
    );
    assert_eq!(
        db.store.episode_starts("volume").await.unwrap(),
        want(&[("B", t(3))])
    );
    assert_eq!(db.store.episode_starts("nope").await.unwrap(), vec![]);
}

/// `handoff migrate` creates the change log.
#[test]
fn migrate_creates_the_change_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let out = handoff()
        .args(["--database", &url, "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::connect_existing(&url, &StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(store.latest_rule_set().await.unwrap(), None);
        store.close().await;
    });
}

const SPEED: &str = "  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
";

/// `GET /api/v1/rules/history`: the rule sets newest first, their rules as
/// JSON; errors as the other history endpoint gives them.
#[tokio::test]
async fn the_change_log_over_http() {
    let db = TestDb::sqlite().await;
    let dir = rules_dir(SPEED);
    let rules = handoff::rules::load_dir(dir.path()).unwrap();
    let normalized = rules.normalized();
    let row = |at: &str, source: &str| RuleSetRow {
        loaded_at: utc(at),
        hash: rules.content_hash(),
        source: source.to_owned(),
        rules: normalized.to_string(),
    };
    // October: before the daemon's clock, so that whatever it records of its
    // own start is after `to`.
    db.store
        .record(&Journal {
            rule_sets: vec![
                row("2026-10-01T08:00:00Z", "start"),
                row("2026-10-02T08:00:00.5Z", "SIGHUP"),
                row("2026-10-03T08:00:00Z", "POST /-/reload"),
            ],
            ..Journal::default()
        })
        .await
        .unwrap();
    let run = start(&db, dir.path(), options(utc("2026-11-20T12:00:00Z"))).await;

    let log = get_json(
        run.addr,
        "/api/v1/rules/history?from=2026-10-02T00:00:00Z&to=2026-11-01T00:00:00Z",
    )
    .await;
    let sets = log["rule_sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "{log}");
    assert_eq!(sets[0]["loaded_at"], "2026-10-03T08:00:00Z");
    assert_eq!(sets[0]["source"], "POST /-/reload");
    assert_eq!(sets[1]["loaded_at"], "2026-10-02T08:00:00.500Z");
    assert_eq!(sets[1]["source"], "SIGHUP");
    assert_eq!(sets[0]["hash"], rules.content_hash().as_str());
    // The rules as JSON, not as a string of it.
    assert_eq!(sets[0]["rules"], normalized);
    assert_eq!(sets[0]["rules"]["objectives"][0]["name"], "speed");
    assert_eq!(
        sets[0]["rules"]["objectives"][0]["definition"]["respond_within"],
        "1h"
    );

    // Without `from`: everything up to `to`.
    let all = get_json(run.addr, "/api/v1/rules/history?to=2026-11-01T00:00:00Z").await;
    assert_eq!(all["rule_sets"].as_array().unwrap().len(), 3, "{all}");
    assert_eq!(all["rule_sets"][2]["source"], "start");

    for (path, says) in [
        (
            "/api/v1/rules/history?from=yesterday",
            "`from` must be an RFC 3339 time",
        ),
        (
            "/api/v1/rules/history?from=2026-10-03T00:00:00Z&to=2026-10-02T00:00:00Z",
            "`from` must be before `to`",
        ),
    ] {
        let (status, body) = http(run.addr, "GET", path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    run.stop().await;
}
