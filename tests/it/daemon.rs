//! `handoff run`: the daemon over a real database, spoken to over real HTTP.
//!
//! Each test runs the daemon in-process on port 0 with a clock anchored at a
//! fixed instant (it then runs at real speed), loads a few hand-made rows, and
//! checks what /metrics, the API, the page and the `handoff_` tables say against
//! figures worked out beside the rows. Schedules are yearly, so that only the
//! run on start (or a run the test asks for) happens.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use handoff::daemon::{Clock, Daemon, Options};
use handoff::store::StoreOptions;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::eval::load;
use crate::helpers::{TestDb, backend_tests, handoff, utc};

backend_tests!(
    the_daemon_measures_alerts_records_and_serves,
    alert_state_and_closed_periods_survive_a_restart,
);

// ------------------------------------------------------------------ plumbing

/// A plain HTTP/1.1 request; returns the status and the body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
}

pub(crate) async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http(addr, "GET", path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The value of the sample of `name` whose labels include `labels`, from a
/// scrape in the text format.
pub fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = match series.split_once('{') {
                Some((m, r)) => (m, r.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let have: Vec<(&str, &str)> = rest
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once("=\"")?;
                    Some((k, v.trim_end_matches('"')))
                })
                .collect();
            labels
                .iter()
                .all(|l| have.contains(l))
                .then(|| value.parse().unwrap())
        })
}

/// Polls `check` every 20 ms for up to 30 s.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

pub(crate) struct Running {
    pub daemon: Arc<Daemon>,
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn stop(self) {
        self.daemon.stop();
        self.task.await.unwrap().unwrap();
    }
}

pub(crate) fn options(at: DateTime<Utc>) -> Options {
    Options {
        clock: Clock::tokio_at(at),
        watch_interval: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(10),
        ..Options::default()
    }
}

pub(crate) async fn start(db: &TestDb, rules_dir: &Path, options: Options) -> Running {
    let rules = handoff::rules::load_dir(rules_dir).unwrap_or_else(|e| panic!("{e}"));
    // A store of its own: the daemon closes it when it stops.
    let store = db.store_with(&StoreOptions::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let daemon = Daemon::new(store, rules, rules_dir.to_owned(), options);
    let task = tokio::spawn(handoff::daemon::run_with(daemon.clone(), listener));
    Running { daemon, addr, task }
}

/// Waits until every objective has been evaluated (`at` or later).
pub(crate) async fn evaluated(addr: SocketAddr, n: usize) {
    eventually("the first evaluations", || async move {
        let v = get_json(addr, "/api/v1/objectives").await;
        let objectives = v["objectives"].as_array().unwrap();
        objectives.len() == n && objectives.iter().all(|o| !o["evaluated_at"].is_null())
    })
    .await;
}

pub(crate) fn rules_dir(objectives: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_rules(dir.path(), objectives);
    dir
}

pub(crate) fn write_rules(dir: &Path, objectives: &str) {
    std::fs::write(dir.join("sla.yaml"), rules_text(objectives)).unwrap();
}

/// A rule file of `objectives`, with the teams `sales` and `marketing`.
pub(crate) fn rules_text(objectives: &str) -> String {
    format!(
        "version: 1\ntimezone: UTC\nteams:\n  sales: {{ email: [sales@acme.example] }}\n  marketing: {{ email: [mkt@acme.example] }}\nobjectives:\n{objectives}"
    )
}

pub(crate) async fn count(db: &TestDb, sql: &str) -> i64 {
    db.counts(sql).await[0][0].unwrap()
}

// ---------------------------------------------------------------- the tests

/// Volume and speed-to-lead in November 2026, evaluated at 2026-11-20 12:00 UTC.
pub(crate) const SPEED_AND_VOLUME: &str = "  - name: volume
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    by: channel
    target: { webinar: 10, paid_search: 1 }
    warn_below: 0.9
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 0 1 1 *'
    window: rolling 28d
    respond_within: 1h
    target: 0.9
";

/// SPEED_AND_VOLUME after an edit: volume's webinar target lowered to 2, and
/// a lead_quality objective added.
pub(crate) fn reloaded_rules() -> String {
    format!(
        "{}  - name: quality
    kind: lead_quality
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    mature_after: 1d
    target: 0.5
",
        SPEED_AND_VOLUME.replace("webinar: 10", "webinar: 2")
    )
}

/// Two webinar MQLs this month: W1 worked within the hour, W2 never.
pub(crate) const TWO_WEBINAR_LEADS: &str = "\
W1,2026-01-01T00:00:00Z,2026-11-02T10:00:00Z,R1,webinar,,,
W2,2026-01-01T00:00:00Z,2026-11-03T10:00:00Z,R1,webinar,,,
";
pub(crate) const TWO_WEBINAR_TOUCHES: &str =
    "T1,W1,2026-11-02T10:30:00Z,call,outbound,no_answer,false\n";

/// Four MQLs this month: W1 and W2 worked within the hour, W3 and P1 never.
pub(crate) const NOVEMBER_LEADS: &str = "\
W1,2026-01-01T00:00:00Z,2026-11-02T10:00:00Z,R1,webinar,,,
W2,2026-01-01T00:00:00Z,2026-11-03T10:00:00Z,R1,webinar,,,
W3,2026-01-01T00:00:00Z,2026-11-04T10:00:00Z,R1,webinar,,,
P1,2026-01-01T00:00:00Z,2026-11-05T10:00:00Z,R1,paid_search,,,
";
pub(crate) const NOVEMBER_TOUCHES: &str = "\
T1,W1,2026-11-02T10:30:00Z,call,outbound,no_answer,false
T2,W2,2026-11-03T10:20:00Z,call,outbound,connected,false
";

async fn the_daemon_measures_alerts_records_and_serves(db: TestDb) {
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    db.exec("UPDATE reps SET name = 'Ada Obi' WHERE id = 'R1'")
        .await;
    let dir = rules_dir(SPEED_AND_VOLUME);
    let run = start(&db, dir.path(), options(utc("2026-11-20T12:00:00Z"))).await;
    evaluated(run.addr, 2).await;

    // speed: 4 eligible, 2 worked → 0.5 < 0.9: breached, critical, fires at once (for 0).
    // volume: 19.5 of 30 days elapsed → webinar expects 10 × 0.65 = 6.5, has 3,
    // pace 3 / 6.5 = 0.4615 < 0.9: at risk (warning); paid_search expects 0.65,
    // has 1: ok.
    let (status, scrape) = http(run.addr, "GET", "/metrics", None).await;
    assert_eq!(status, 200);
    let speed = [
        ("objective", "speed"),
        ("group", "all"),
        ("kind", "percent_worked"),
    ];
    assert_eq!(
        sample(&scrape, "handoff_objective_value", &speed),
        Some(0.5)
    );
    assert_eq!(
        sample(&scrape, "handoff_objective_target", &speed),
        Some(0.9)
    );
    assert_eq!(
        sample(&scrape, "handoff_objective_numerator", &speed),
        Some(2.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_objective_denominator", &speed),
        Some(4.0)
    );
    let with = |extra: (&'static str, &'static str)| {
        let mut l = speed.to_vec();
        l.push(extra);
        l
    };
    assert_eq!(
        sample(
            &scrape,
            "handoff_objective_status",
            &with(("status", "breached"))
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_objective_status", &with(("status", "ok"))),
        Some(0.0)
    );
    // Response times of the worked leads: W1 30 min, W2 20 min. Nearest rank
    // of [1200, 1800]: p50 rank ⌈1⌉ = 1 → 1200, p90 rank ⌈1.8⌉ = 2 → 1800.
    let q = |q: &'static str| with(("quantile", q));
    assert_eq!(
        sample(&scrape, "handoff_response_seconds", &q("0.5")),
        Some(1200.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_response_seconds", &q("0.9")),
        Some(1800.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_response_seconds_count", &speed),
        Some(2.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_response_seconds_sum", &speed),
        Some(3000.0)
    );
    // Who slipped: R1 owns all four due leads, W3 and P1 late; one info
    // series carries R1's name for a dashboard to join on `rep`.
    let r1 = with(("rep", "R1"));
    assert_eq!(sample(&scrape, "handoff_rep_failures", &r1), Some(2.0));
    assert_eq!(sample(&scrape, "handoff_rep_leads", &r1), Some(4.0));
    assert_eq!(
        sample(
            &scrape,
            "handoff_rep_info",
            &[("rep", "R1"), ("name", "Ada Obi")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_rep_failures", &with(("rep", "unknown"))),
        None,
        "every lead has an owner"
    );
    let webinar = [("objective", "volume"), ("group", "webinar")];
    assert_eq!(
        sample(&scrape, "handoff_objective_value", &webinar),
        Some(3.0)
    );
    let expected = sample(&scrape, "handoff_lead_volume_expected", &webinar).unwrap();
    // The clock runs on past 12:00 before the run: connecting (a TLS handshake
    // on a server) can take a second. 1e-4 MQL of the 10 that November's 30
    // days expect is about 26 s of it.
    assert!((expected - 6.5).abs() < 1e-4, "{expected}");
    let pace = sample(&scrape, "handoff_lead_volume_pace", &webinar).unwrap();
    assert!((pace - 3.0 / 6.5).abs() < 1e-4, "{pace}");
    let paid = [("objective", "volume"), ("group", "paid_search")];
    assert_eq!(sample(&scrape, "handoff_objective_value", &paid), Some(1.0));
    let firing = |o: &'static str, g: &'static str, sev: &'static str| {
        sample(
            &scrape,
            "handoff_alerts",
            &[
                ("objective", o),
                ("group", g),
                ("severity", sev),
                ("alertstate", "firing"),
            ],
        )
    };
    assert_eq!(firing("speed", "all", "critical"), Some(1.0));
    assert_eq!(firing("volume", "webinar", "warning"), Some(1.0));
    assert_eq!(
        sample(&scrape, "handoff_alerts", &[("group", "paid_search")]),
        None
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_evaluations_total",
            &[("objective", "speed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_evaluation_failures_total",
            &[("objective", "speed"), ("reason", "timeout")]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&scrape, "handoff_rules_last_reload_successful", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );

    // The alerts API says the same.
    let alerts = get_json(run.addr, "/api/v1/alerts").await;
    let mut got: Vec<(String, String, String, String)> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
            (s("objective"), s("group"), s("state"), s("severity"))
        })
        .collect();
    got.sort();
    let want = |o: &str, g: &str, sev: &str| {
        (
            o.to_owned(),
            g.to_owned(),
            "firing".to_owned(),
            sev.to_owned(),
        )
    };
    assert_eq!(
        got,
        vec![
            want("speed", "all", "critical"),
            want("volume", "webinar", "warning")
        ]
    );

    // The latest results, as eval prints them.
    let objectives = get_json(run.addr, "/api/v1/objectives").await;
    let speed_json = &objectives["objectives"][1];
    assert_eq!(speed_json["name"], "speed");
    assert_eq!(speed_json["results"][0]["status"], "breached");
    assert_eq!(speed_json["results"][0]["details"]["never_attempted"], 2);

    // History: one result and one alert event, from the handoff_ tables,
    // written just after the board shows the run.
    eventually("the record written", || async {
        count(&db, "SELECT COUNT(*) FROM handoff_results").await == 3
    })
    .await;
    let h = get_json(
        run.addr,
        "/api/v1/objectives/speed/history?from=2026-11-01T00:00:00Z",
    )
    .await;
    assert_eq!(h["results"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h["results"][0]["value"], 0.5);
    assert_eq!(h["results"][0]["details"]["eligible"], 4);
    assert_eq!(h["alerts"][0]["to_state"], "firing");
    assert_eq!(h["truncated"], false);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM handoff_results").await, 3);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_alerts WHERE state = 'firing'"
        )
        .await,
        2
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM handoff_alert_events").await,
        2
    );

    // The page names every objective, with its chart.
    let (status, page) = http(run.addr, "GET", "/", None).await;
    assert_eq!(status, 200);
    for name in ["speed", "volume"] {
        let at = page
            .find(&format!("id=\"objective-{name}\""))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(page[at..].contains("<svg"), "{name} has no chart");
    }
    assert!(!page.contains("<script"));

    // The rest of the surface.
    assert_eq!(http(run.addr, "GET", "/-/healthy", None).await.0, 200);
    assert_eq!(http(run.addr, "GET", "/-/ready", None).await.0, 200);
    assert_eq!(
        http(run.addr, "POST", "/-/reload", None).await.0,
        403,
        "no token configured"
    );
    assert_eq!(
        http(run.addr, "GET", "/api/v1/objectives/nope/history", None)
            .await
            .0,
        404
    );
    assert_eq!(
        http(
            run.addr,
            "GET",
            "/api/v1/objectives/speed/history?from=yesterday",
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(http(run.addr, "GET", "/nope", None).await.0, 404);
    run.stop().await;
}

/// Volume with a one-hour `for`, across the end of October 2026.
const PENDING_VOLUME: &str = "  - name: volume
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    target: 10
    warn_below: 0.9
    alert: { for: 1h }
";

/// Two MQLs by 23:00 on October 31, a third at 23:30, none in November yet.
pub(crate) const OCTOBER_LEADS: &str = "\
O1,2026-01-01T00:00:00Z,2026-10-05T10:00:00Z,R1,webinar,,,
O2,2026-01-01T00:00:00Z,2026-10-10T10:00:00Z,R1,webinar,,,
O3,2026-01-01T00:00:00Z,2026-10-31T23:30:00Z,R1,webinar,,,
";

async fn alert_state_and_closed_periods_survive_a_restart(db: TestDb) {
    load(&db, OCTOBER_LEADS, "", "").await;
    let dir = rules_dir(PENDING_VOLUME);

    // 23:00 on Oct 31: 2 of an expected 10 × (30d 23h / 31d) = 9.987: at risk,
    // pending for an hour.
    let first = start(&db, dir.path(), options(utc("2026-10-31T23:00:00Z"))).await;
    evaluated(first.addr, 1).await;
    let alerts = get_json(first.addr, "/api/v1/alerts").await;
    assert_eq!(alerts["alerts"][0]["state"], "pending", "{alerts}");
    let since = alerts["alerts"][0]["active_since"]
        .as_str()
        .unwrap()
        .to_owned();
    first.stop().await;

    // Restarted at 01:00 on Nov 1 without a run: the pending alert is back with
    // its start.
    let mut o = options(utc("2026-11-01T01:00:00Z"));
    o.run_on_start = false;
    let second = start(&db, dir.path(), o).await;
    eventually("restored state", || async {
        get_json(second.addr, "/api/v1/alerts").await["alerts"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
    })
    .await;
    let alerts = get_json(second.addr, "/api/v1/alerts").await;
    assert_eq!(alerts["alerts"][0]["state"], "pending");
    assert_eq!(
        alerts["alerts"][0]["active_since"].as_str(),
        Some(since.as_str())
    );

    // A run now: November has 0 of 10 × (1h / 30d): still at risk, and pending
    // since 23:00, two hours ago: it fires. October closed: its final figures
    // count O3 too (3 of 10), evaluated over the whole month.
    let rules = second.daemon.rules();
    let objective = rules.objective("volume").unwrap();
    let def = handoff::daemon::definition(objective);
    assert!(
        second
            .daemon
            .run(objective, &def, &tokio_util::sync::CancellationToken::new())
            .await
    );
    // The record is written by the writer task, not by the run.
    assert!(second.daemon.flush().await);
    let alerts = get_json(second.addr, "/api/v1/alerts").await;
    assert_eq!(alerts["alerts"][0]["state"], "firing", "{alerts}");
    assert_eq!(
        alerts["alerts"][0]["active_since"].as_str(),
        Some(since.as_str())
    );
    let h = get_json(
        second.addr,
        "/api/v1/objectives/volume/history?from=2026-10-01T00:00:00Z",
    )
    .await;
    let periods = h["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1, "{h}");
    assert_eq!(
        utc(periods[0]["period_start"].as_str().unwrap()),
        utc("2026-10-01T00:00:00Z")
    );
    assert_eq!(
        utc(periods[0]["period_end"].as_str().unwrap()),
        utc("2026-11-01T00:00:00Z")
    );
    assert_eq!(periods[0]["value"], 3.0);
    assert_eq!(periods[0]["details"]["attainment"], 0.3);
    assert_eq!(periods[0]["details"]["expected"], 10.0);
    let states: Vec<&str> = h["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending", "firing"]);
    second.stop().await;

    // And a firing alert stays firing across a restart.
    let mut o = options(utc("2026-11-01T02:00:00Z"));
    o.run_on_start = false;
    let third = start(&db, dir.path(), o).await;
    eventually("restored firing alert", || async {
        get_json(third.addr, "/api/v1/alerts").await["alerts"][0]["state"] == "firing"
    })
    .await;
    third.stop().await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM handoff_periods").await, 1);
}

// ------------------------------------------------------------- SQLite only

#[tokio::test]
async fn a_broken_reload_keeps_the_running_rules_and_unchanged_objectives_keep_their_state() {
    let db = TestDb::sqlite().await;
    load(&db, TWO_WEBINAR_LEADS, TWO_WEBINAR_TOUCHES, "").await;
    let dir = rules_dir(SPEED_AND_VOLUME);
    let mut o = options(utc("2026-11-20T12:00:00Z"));
    o.admin_token = Some("s3cret".to_owned());
    let run = start(&db, dir.path(), o).await;
    evaluated(run.addr, 2).await;
    let fired_at = |alerts: &Value, objective: &str, group: &str| -> Option<String> {
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["objective"] == objective && a["group"] == group)
            .and_then(|a| a["fired_at"].as_str().map(str::to_owned))
    };
    let before = get_json(run.addr, "/api/v1/alerts").await;
    // speed: 1 of 2 worked; volume: webinar 2 of an expected 6.5, paid_search
    // 0 of 0.65 (a group the target names is measured even without leads).
    let speed_fired = fired_at(&before, "speed", "all").expect("speed fires");
    assert!(fired_at(&before, "volume", "webinar").is_some(), "{before}");
    assert!(
        fired_at(&before, "volume", "paid_search").is_some(),
        "{before}"
    );

    // Tokens: none or wrong → 401.
    assert_eq!(http(run.addr, "POST", "/-/reload", None).await.0, 401);
    assert_eq!(
        http(run.addr, "POST", "/-/reload", Some("s3creT")).await.0,
        401
    );

    // A broken file: the reload fails with located errors, the running rules stay.
    std::fs::write(
        dir.path().join("sla.yaml"),
        "version: 1\ntimezone: UTC\nobjectives:\n  - name: speed\n    respnd_within: 1h\n",
    )
    .unwrap();
    let (status, body) = http(run.addr, "POST", "/-/reload", Some("s3cret")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("sla.yaml:5:5"), "{body}");
    assert!(body.contains("respond_within"), "did-you-mean in {body}");
    let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
    assert_eq!(
        sample(&scrape, "handoff_rules_last_reload_successful", &[]),
        Some(0.0)
    );
    assert_eq!(
        get_json(run.addr, "/api/v1/objectives").await["objectives"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, page) = http(run.addr, "GET", "/", None).await;
    assert!(
        page.contains("id=\"reload-error\""),
        "the page says the reload failed"
    );
    assert_eq!(
        fired_at(&get_json(run.addr, "/api/v1/alerts").await, "speed", "all"),
        Some(speed_fired),
        "the running state is kept"
    );

    // A good file that changes volume's target and adds an objective.
    write_rules(dir.path(), &reloaded_rules());
    let (status, body) = http(run.addr, "POST", "/-/reload", Some("s3cret")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("1 unchanged, 2 new, changed or rescheduled, 0 removed"),
        "{body}"
    );
    // What the reload does to each objective's alerts (unchanged kept,
    // changed judged afresh) is the engine's: tests/it/engine.rs.
    evaluated(run.addr, 3).await;
    let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
    assert_eq!(
        sample(&scrape, "handoff_rules_last_reload_successful", &[]),
        Some(1.0)
    );
    assert!(
        sample(
            &scrape,
            "handoff_objective_status",
            &[("objective", "quality"), ("status", "no_data")]
        )
        .is_some()
    );
    run.stop().await;

    // A file change alone reloads too (the watcher): remove quality.
    let run = start(&db, dir.path(), options(utc("2026-11-20T12:00:00Z"))).await;
    evaluated(run.addr, 3).await;
    write_rules(dir.path(), SPEED_AND_VOLUME);
    eventually("the watcher's reload", || async {
        get_json(run.addr, "/api/v1/objectives").await["objectives"]
            .as_array()
            .unwrap()
            .len()
            == 2
    })
    .await;
    let (_, scrape) = http(run.addr, "GET", "/metrics", None).await;
    assert_eq!(
        sample(
            &scrape,
            "handoff_objective_status",
            &[("objective", "quality")]
        ),
        None,
        "no stale series"
    );
    run.stop().await;
}

/// A daemon process that is killed if the test ends early.
pub(crate) struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary: SIGTERM stops it with 0; SIGKILL and a restart keep alert state.
#[test]
fn the_binary_stops_on_sigterm_and_keeps_state_across_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::demo_database(dir.path(), 2000);
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");

    // Mail: first to an SMTP port where nothing listens, so that the mails
    // decided wait in the outbox when the daemon is killed; after the restart,
    // into a directory.
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp = format!("smtp://127.0.0.1:{closed_port}");
    let outbox = tempfile::tempdir().unwrap();
    let outbox_dir = outbox.path().to_str().unwrap().to_owned();
    let spawn = |mail: [&str; 2]| {
        let mut child = handoff()
            .args([
                "--database",
                &url,
                "--rules",
                rules,
                "run",
                "--listen",
                "127.0.0.1:0",
                "--group-wait",
                "0",
                mail[0],
                mail[1],
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The first lines name the address.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut sent = false;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if !sent && let Some(url) = line.trim().strip_prefix("status page: http://") {
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                    sent = true;
                }
            }
        });
        let addr: SocketAddr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the daemon prints its address")
            .parse()
            .unwrap();
        (Child(child), addr)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let firing = |addr: SocketAddr| -> Vec<(String, String, String)> {
        rt.block_on(async move {
            for _ in 0..1500 {
                // HTTP is up before the database is reached: 503 until then.
                let (status, body) = http(addr, "GET", "/api/v1/alerts", None).await;
                if status == 503 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                assert_eq!(status, 200, "{body}");
                let v: Value = serde_json::from_str(&body).unwrap();
                let mut out: Vec<_> = v["alerts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|a| a["state"] == "firing")
                    .map(|a| {
                        (
                            a["objective"].to_string(),
                            a["group"].to_string(),
                            a["fired_at"].to_string(),
                        )
                    })
                    .collect();
                if !out.is_empty() {
                    out.sort();
                    return out;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("no firing alert");
        })
    };

    let (mut child, addr) = spawn(["--smtp-url", &smtp]);
    let before = firing(addr);
    // Kill only once the database holds what the API showed: state is written
    // after every run, and that is what a SIGKILL must not lose.
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        eventually("alert state on disk", || async {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT objective, grp FROM handoff_alerts WHERE state = 'firing'")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            before.iter().all(|(o, g, _)| {
                rows.iter()
                    .any(|(ro, rg)| format!("{ro:?}") == *o && format!("{rg:?}") == *g)
            })
        })
        .await;
        eventually("mail decided and waiting", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM handoff_outbox WHERE state = 'pending' AND attempts > 0",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            n > 0
        })
        .await;
        pool.close().await;
    });
    let pending = |state: &str| -> Vec<(String, String, String, String, String)> {
        rt.block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let rows = sqlx::query_as(
                "SELECT id, receiver, objective, grp, kind FROM handoff_outbox WHERE state = ?1 ORDER BY id",
            )
            .bind(state)
            .fetch_all(&pool)
            .await
            .unwrap();
            pool.close().await;
            rows
        })
    };
    // SIGKILL: nothing flushed on the way out; what was written after each run stays.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let waiting = pending("pending");
    assert!(!waiting.is_empty());

    let (child, addr) = spawn(["--outbox-dir", &outbox_dir]);
    let after = firing(addr);
    for alert in &before {
        assert!(
            after.contains(alert),
            "{alert:?} lost across SIGKILL: {after:?}"
        );
    }
    // The mail that waited is delivered after the restart, each once: the
    // notification log knew it was decided, so nothing is decided again.
    let files = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(outbox.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml"))
            .collect();
        names.sort();
        names
    };
    rt.block_on(eventually("the waiting mail delivered", || async {
        let names = files();
        waiting
            .iter()
            .all(|w| names.contains(&format!("{}.eml", w.0)))
    }));
    std::thread::sleep(Duration::from_secs(2));
    let sent = pending("sent");
    assert!(pending("pending").is_empty());
    let mut sent_files: Vec<String> = sent.iter().map(|r| format!("{}.eml", r.0)).collect();
    sent_files.sort();
    assert_eq!(files(), sent_files, "one file per mail in the outbox table");
    for w in &waiting {
        assert!(sent.contains(w), "{w:?} was not delivered");
        let same: Vec<_> = sent
            .iter()
            .filter(|s| (&s.1, &s.2, &s.3, &s.4) == (&w.1, &w.2, &w.3, &w.4))
            .collect();
        assert_eq!(same.len(), 1, "told twice: {same:?}");
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = child;
    let code = child.0.wait().unwrap();
    assert_eq!(code.code(), Some(0), "SIGTERM exits 0");
}

// ------------------------------------------------- faults: PostgreSQL, MariaDB

/// A TCP proxy in front of the database that the test can cut and restore, or
/// hang: a network fault between the daemon and a real server.
pub(crate) struct Proxy {
    pub addr: SocketAddr,
    on: Arc<std::sync::atomic::AtomicBool>,
    links: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    /// While true, nothing passes either way and no connection closes: a
    /// partition, not a refusal.
    hung: tokio::sync::watch::Sender<bool>,
}

/// Waits until the proxy's hang is `state`.
async fn until(hung: &mut tokio::sync::watch::Receiver<bool>, state: bool) {
    let _ = hung.wait_for(|h| *h == state).await;
}

impl Proxy {
    pub(crate) async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let on = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (hung, _) = tokio::sync::watch::channel(false);
        let (on2, links2, hung2) = (on.clone(), links.clone(), hung.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !on2.load(std::sync::atomic::Ordering::SeqCst) {
                    // Cut: the connection is closed at once.
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut hung = hung2.subscribe();
                let link = tokio::spawn(async move {
                    // A connection made while hung waits, unanswered.
                    until(&mut hung, false).await;
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let mut watch = hung.clone();
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            () = until(&mut watch, true) => {
                                // Hung: both sockets stay open, silent, until
                                // the hang ends; then they close.
                                until(&mut hung, false).await;
                            }
                        }
                    }
                });
                links2.lock().unwrap().push(link.abort_handle());
            }
        });
        Proxy {
            addr,
            on,
            links,
            hung,
        }
    }

    /// Breaks every open connection and refuses new ones.
    pub(crate) fn cut(&self) {
        self.on.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub(crate) fn restore(&self) {
        self.on.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Stops every byte both ways without closing anything.
    pub(crate) fn hang(&self) {
        self.hung.send_replace(true);
    }

    /// Ends the hang: the held connections close, new ones pass.
    pub(crate) fn release(&self) {
        self.hung.send_replace(false);
    }
}

/// Runs every objective once, now, then tries to write the record (which the
/// writer task would do soon after).
pub(crate) async fn run_all(daemon: &Arc<Daemon>) -> Vec<bool> {
    let rules = daemon.rules();
    let token = tokio_util::sync::CancellationToken::new();
    let mut ok = Vec::new();
    for o in rules.objectives() {
        let def = handoff::daemon::definition(o);
        ok.push(daemon.run(o, &def, &token).await);
    }
    daemon.flush().await;
    ok
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_going_away_gives_errors_and_the_failing_alert_then_recovers() {
    a_database_that_goes_away(TestDb::postgres().await).await;
}

#[cfg(feature = "mysql-tests")]
#[tokio::test]
async fn mysql_going_away_gives_errors_and_the_failing_alert_then_recovers() {
    a_database_that_goes_away(TestDb::mysql().await).await;
}

#[allow(dead_code)]
async fn a_database_that_goes_away(db: TestDb) {
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    // The daemon reaches the server through the proxy.
    let (scheme, rest) = db.url.split_once('@').unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host.to_owned()).await;
    let url = format!("{scheme}@{}/{path}", proxy.addr);
    let store_options = StoreOptions {
        connect_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    };
    let store = handoff::store::Store::connect(&url, &store_options)
        .await
        .unwrap();
    let dir = rules_dir(SPEED_AND_VOLUME);
    let rules = handoff::rules::load_dir(dir.path()).unwrap();
    let mut o = options(utc("2026-11-20T12:00:00Z"));
    o.run_on_start = false;
    let mail_dir = tempfile::tempdir().unwrap();
    o.mail = Some(crate::mail::mail_options(handoff::mail::Transport::Dir(
        mail_dir.path().to_owned(),
    )));
    let mails = |n: usize| {
        let dir = mail_dir.path().to_owned();
        async move {
            let mut got = Vec::new();
            for _ in 0..1500 {
                got = crate::mail::received_in(&dir);
                if got.len() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            got
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let daemon = Daemon::new(store, rules, dir.path().to_owned(), o);
    let task = tokio::spawn(handoff::daemon::run_with(daemon.clone(), listener));

    assert_eq!(run_all(&daemon).await, [true, true]);
    assert_eq!(mails(2).await.len(), 2, "the breach and the volume at risk");
    let alerts = get_json(addr, "/api/v1/alerts").await;
    let speed = |alerts: &Value| -> Value {
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["objective"] == "speed")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let fired = speed(&alerts)["fired_at"].clone();
    assert_eq!(speed(&alerts)["state"], "firing", "{alerts}");

    // The server goes away: errors, never healthy; the breach stays firing and
    // the "evaluation failing" alert fires (for 0).
    proxy.cut();
    assert_eq!(run_all(&daemon).await, [false, false]);
    let (_, scrape) = http(addr, "GET", "/metrics", None).await;
    let status = |o: &'static str, s: &'static str| {
        sample(
            &scrape,
            "handoff_objective_status",
            &[("objective", o), ("status", s)],
        )
    };
    assert_eq!(status("speed", "error"), Some(1.0), "{scrape}");
    assert_eq!(status("speed", "breached"), Some(0.0));
    assert_eq!(
        sample(
            &scrape,
            "handoff_objective_value",
            &[("objective", "speed")]
        ),
        None,
        "no stale value"
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_evaluation_failures_total",
            &[("objective", "speed"), ("reason", "database_unreachable")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "handoff_alerts",
            &[
                ("alertname", "evaluation_failing"),
                ("alertstate", "firing")
            ]
        ),
        Some(1.0)
    );
    let alerts = get_json(addr, "/api/v1/alerts").await;
    assert_eq!(speed(&alerts)["state"], "firing");
    assert_eq!(speed(&alerts)["fired_at"], fired);
    assert_eq!(
        speed(&alerts)["inhibited"],
        true,
        "stale breach held back: {alerts}"
    );
    assert_eq!(alerts["alerts"][0]["alertname"], "evaluation_failing");
    assert_eq!(http(addr, "GET", "/-/ready", None).await.0, 503);
    assert!(sample(&scrape, "handoff_history_unwritten_rows", &[]).unwrap() > 0.0);

    // Mail goes out while the database is away: one "evaluation failing" mail
    // to the receivers of each failing objective.
    let got = mails(4).await;
    let failing: Vec<_> = got
        .iter()
        .filter(|m| m.1.contains("EVALUATION FAILING"))
        .collect();
    assert_eq!(
        failing.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["mkt@acme.example", "sales@acme.example"],
        "{got:#?}"
    );
    for m in &failing {
        assert_eq!(
            m.1,
            "[handoff] EVALUATION FAILING evaluations: 2 objectives cannot be measured"
        );
        assert!(
            m.3.contains("- speed (owned by sales)")
                && m.3.contains("- volume (owned by marketing)"),
            "{}",
            m.3
        );
    }

    // It comes back: results again, the failing alert resolves, the breach was
    // never resolved, and what could not be written while away is written now.
    proxy.restore();
    assert_eq!(run_all(&daemon).await, [true, true]);
    let alerts = get_json(addr, "/api/v1/alerts").await;
    assert_eq!(speed(&alerts)["fired_at"], fired);
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["alertname"] != "evaluation_failing"),
        "{alerts}"
    );
    assert_eq!(http(addr, "GET", "/-/ready", None).await.0, 200);
    // One "resolved" to each, in the thread of its "evaluation failing" mail,
    // and nothing else (a second look after more mail rounds).
    let got = mails(6).await;
    assert_eq!(got.len(), 6, "{got:#?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(mails(6).await.len(), 6);
    for m in got.iter().filter(|m| m.1.contains("RESOLVED")) {
        assert_eq!(
            m.1,
            "[handoff] RESOLVED evaluations: evaluations succeed again"
        );
        let first = failing.iter().find(|f| f.0 == m.0).unwrap();
        assert_eq!(m.5.as_deref(), Some(first.2.as_str()));
    }
    // Its mail is recorded too, now that the database is back.
    eventually("the outbox written", || async {
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_outbox WHERE state = 'sent'",
        )
        .await
            == 6
    })
    .await;
    // 3 results of the first round, 2 failures (one per objective), 3 again.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM handoff_results").await, 8);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_results WHERE status = 'error'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM handoff_alert_events WHERE grp = 'database'"
        )
        .await,
        2,
        "the failing alert fired and resolved"
    );
    let events: Vec<Vec<Option<i64>>> = db
        .counts("SELECT COUNT(*) FROM handoff_alert_events WHERE objective = 'speed'")
        .await;
    assert_eq!(events[0][0], Some(1), "speed fired once and never resolved");

    // PostgreSQL: every connection of the database killed between runs; the pool
    // reconnects and the next runs succeed.
    if db.url.starts_with("postgres") {
        db.exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
        let first = run_all(&daemon).await;
        let second = run_all(&daemon).await;
        assert_eq!(
            second,
            [true, true],
            "recovered after the kill (first round: {first:?})"
        );
        let alerts = get_json(addr, "/api/v1/alerts").await;
        assert_eq!(speed(&alerts)["fired_at"], fired);
    }
    daemon.stop();
    task.await.unwrap().unwrap();
}
