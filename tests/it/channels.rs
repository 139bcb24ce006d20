//! Beyond e-mail (docs/CHANNELS.md): silences, acknowledgements and team
//! mutes through the running daemon, their storage on every backend, and,
//! with the `http-tests` feature, webhook, Slack and Teams notices posted to
//! a real HTTP server (tests/http_sink.py) that checks their documented
//! shapes, with its faults.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use handoff::codes::Severity;
use handoff::daemon::Options;
use handoff::mail::Transport;
use handoff::store::{AckRow, Journal, SilenceRow};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::daemon::{
    NOVEMBER_LEADS, NOVEMBER_TOUCHES, SPEED_AND_VOLUME, count, eventually, get_json, http, options,
    run_all, start,
};
use crate::eval::load;
use crate::helpers::{TestDb, backend_tests, utc};

/// One request with a body; the answer's status and body.
pub(crate) async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// The rules of `teams` with `SPEED_AND_VOLUME`: at 2026-11-20 12:00 speed
/// (sales) is breached, 2 of 4 worked within the hour, and volume's webinar
/// group (marketing) at risk.
fn rules(teams: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sla.yaml"),
        format!("version: 1\ntimezone: UTC\nteams:\n{teams}objectives:\n{SPEED_AND_VOLUME}"),
    )
    .unwrap();
    dir
}

const TEAMS: &str =
    "  sales: { email: [sales@acme.example] }\n  marketing: { email: [mkt@acme.example] }\n";

/// The subjects of the mails written to `dir`, sorted, with their receiver.
fn subjects(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| {
                    let bytes = std::fs::read(e.path()).unwrap();
                    let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
                    let to = m
                        .to()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .unwrap_or_default()
                        .to_owned();
                    format!("{to}: {}", m.subject().unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn mail(opts: Options, out: &Path, ack: bool) -> Options {
    let mut m = crate::mail::mail_options(Transport::new(None, out).unwrap());
    if ack {
        m.ack = Some(std::sync::Arc::new(handoff::daemon::acks::AckKey::new(
            "a secret of more than sixteen characters",
        )));
    }
    Options {
        mail: Some(m),
        admin_token: Some("t0ken".to_owned()),
        ..opts
    }
}

fn silence(id: &str, objective: &str, until: DateTime<Utc>) -> SilenceRow {
    let at = utc("2026-11-20T11:00:00Z");
    SilenceRow {
        id: id.to_owned(),
        objective: Some(objective.to_owned()),
        group: None,
        severity: None,
        starts_at: at,
        ends_at: until,
        created_by: "Ana".to_owned(),
        comment: "the webinar list came in late".to_owned(),
        created_at: at,
        updated_at: at,
    }
}

// ------------------------------------------------------------ silences

/// A silence made before the daemon starts (as `handoff silence add`
/// writes it) holds speed's breach; volume's warning goes. The page and
/// the API show the silence and what it holds. Expired through the API,
/// the breach is told; silenced again, the breach resolves and the
/// resolution still reaches sales, who were told that it fired.
#[tokio::test]
async fn a_silence_holds_notices_and_its_alert_still_resolves_to_whoever_was_told() {
    let db = TestDb::sqlite().await;
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let dir = rules(TEAMS);
    let out = tempfile::tempdir().unwrap();
    db.store
        .record(&Journal {
            silences: vec![silence("s-speed", "speed", utc("2026-11-21T11:00:00Z"))],
            ..Journal::default()
        })
        .await
        .unwrap();
    let at = utc("2026-11-20T12:00:00Z");
    let run = start(&db, dir.path(), mail(options(at), out.path(), false)).await;
    eventually("volume's warning mailed", || async {
        !subjects(out.path()).is_empty()
    })
    .await;
    // Long enough for speed's mail, had it not been held (group_wait 0).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        subjects(out.path()),
        [
            "mkt@acme.example: [handoff] AT RISK volume (webinar): 3 MQLs, 46.2% of the 6.5 expected by now; target 10"
        ]
    );
    // Still evaluated and shown, marked silenced.
    let alerts = get_json(run.addr, "/api/v1/alerts").await;
    let speed = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["objective"] == "speed")
        .unwrap()
        .clone();
    assert_eq!(speed["state"], "firing");
    assert_eq!(speed["silenced_by"], "s-speed");
    let (_, page) = http(run.addr, "GET", "/", None).await;
    assert!(page.contains("id=\"silences\""), "the page lists silences");
    assert!(
        page.contains(
            "silenced by Ana until Sat 21 Nov 2026, 11:00 UTC: the webinar list came in late"
        ),
        "the alert says why it is quiet"
    );

    // The API: a token is needed; the list has it; it expires.
    let (status, _) = http(run.addr, "DELETE", "/api/v1/silences/s-speed", None).await;
    assert_eq!(status, 401);
    let list = get_json(run.addr, "/api/v1/silences").await;
    assert_eq!(list["silences"][0]["id"], "s-speed");
    assert_eq!(list["silences"][0]["state"], "active");
    let (status, body) = http(
        run.addr,
        "DELETE",
        "/api/v1/silences/s-speed",
        Some("t0ken"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    eventually("speed's breach mailed once the silence ended", || async {
        subjects(out.path()).len() == 2
    })
    .await;
    assert_eq!(
        subjects(out.path())[1],
        "sales@acme.example: [handoff] BREACHED speed: 50% worked in 1h, target 90%"
    );

    // Bad silences are refused with the reason.
    let (status, body) = send(
        run.addr,
        "POST",
        "/api/v1/silences",
        Some("t0ken"),
        "application/json",
        r#"{"matchers": {"objective": "sped"}, "ends_at": "2026-11-21T00:00:00Z", "created_by": "Bo", "comment": "x"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("there is no objective `sped`"), "{body}");
    let (status, body) = send(
        run.addr,
        "POST",
        "/api/v1/silences",
        Some("t0ken"),
        "application/json",
        r#"{"matchers": {"objective": "speed"}, "ends_at": "2026-11-21T00:00:00Z", "comment": "x"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("created_by"), "{body}");
    // Silenced again, through the API.
    let (status, body) = send(
        run.addr,
        "POST",
        "/api/v1/silences",
        Some("t0ken"),
        "application/json",
        r#"{"matchers": {"objective": "speed", "severity": "critical"}, "ends_at": "2026-11-22T00:00:00Z", "created_by": "Bo", "comment": "fixing the import"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let made: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(made["state"], "active");
    assert_eq!(made["matchers"]["severity"], "critical");
    let list = get_json(run.addr, "/api/v1/silences").await;
    let states: Vec<&str> = list["silences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["active", "expired"], "newest first");

    // W3 and P1 were worked in time after all: speed resolves. Sales was
    // told that it fired, so sales hears that it resolved, silence or not.
    load(
        &db,
        "",
        "T3,W3,2026-11-04T10:10:00Z,call,outbound,no_answer,false\n\
         T4,P1,2026-11-05T10:10:00Z,email,outbound,,false\n",
        "",
    )
    .await;
    run_all(&run.daemon).await;
    eventually("the resolution mailed", || async {
        subjects(out.path()).len() == 3
    })
    .await;
    assert!(
        subjects(out.path()).contains(
            &"sales@acme.example: [handoff] RESOLVED speed: 100% worked in 1h, target 90%"
                .to_owned()
        ),
        "{:?}",
        subjects(out.path())
    );
    run.stop().await;
}

// ------------------------------------------------------ acknowledgements

/// The breach mail carries a signed link; opening it asks to confirm,
/// confirming records who and when, and the API and page show it. A link
/// altered by one character acknowledges nothing.
#[tokio::test]
async fn an_acknowledgement_link_asks_then_records_who_and_when() {
    let db = TestDb::sqlite().await;
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let dir = rules(TEAMS);
    let out = tempfile::tempdir().unwrap();
    let at = utc("2026-11-20T12:00:00Z");
    let run = start(&db, dir.path(), mail(options(at), out.path(), true)).await;
    eventually("two mails", || async { subjects(out.path()).len() == 2 }).await;
    let breach = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .find(|b| String::from_utf8_lossy(b).contains("BREACHED speed"))
        .unwrap();
    let m = mail_parser::MessageParser::default()
        .parse(&breach)
        .unwrap();
    let text = m.body_text(0).unwrap().into_owned();
    let link = text
        .lines()
        .find_map(|l| l.strip_prefix("We know, stop reminding us: "))
        .unwrap_or_else(|| panic!("no acknowledgement link in {text}"))
        .trim()
        .to_owned();
    assert!(
        link.starts_with("https://handoff.acme.example/ack?o=speed&g=all&e="),
        "{link}"
    );
    let path = link.trim_start_matches("https://handoff.acme.example");
    let (status, page) = http(run.addr, "GET", path, None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<form method=\"post\" action=\"ack\">"),
        "{page}"
    );
    assert!(page.contains("is breached since"), "{page}");
    // Opening the link records nothing.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM handoff_acks").await, 0);

    // A signature altered by one digit.
    let query = path.trim_start_matches("/ack?");
    let bad = match query.strip_suffix('0') {
        Some(rest) => format!("{rest}1"),
        None => format!("{}0", &query[..query.len() - 1]),
    };
    let (status, refused) = http(run.addr, "GET", &format!("/ack?{bad}"), None).await;
    assert_eq!(status, 403);
    assert!(
        refused.starts_with("<!DOCTYPE html>")
            && refused.contains("This link does not acknowledge anything"),
        "a page a person can read: {refused}"
    );
    let (status, _) = send(
        run.addr,
        "POST",
        "/ack",
        None,
        "application/x-www-form-urlencoded",
        &format!("{bad}&by=Mallory"),
    )
    .await;
    assert_eq!(status, 403);

    let (status, page) = send(
        run.addr,
        "POST",
        "/ack",
        None,
        "application/x-www-form-urlencoded",
        &format!("{query}&by=Ana%20Reyes"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("acknowledged by <strong>Ana Reyes</strong>"),
        "{page}"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM handoff_acks").await, 1);
    let alerts = get_json(run.addr, "/api/v1/alerts").await;
    let speed = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["objective"] == "speed")
        .unwrap()
        .clone();
    assert_eq!(speed["acknowledged"]["by"], "Ana Reyes");
    let (_, page) = http(run.addr, "GET", "/", None).await;
    assert!(
        page.contains("acknowledged by Ana Reyes at"),
        "the page shows it"
    );
    // The link again: already acknowledged, by whom.
    let (_, page) = http(run.addr, "GET", path, None).await;
    assert!(page.contains("Already acknowledged"), "{page}");
    run.stop().await;
}

// ------------------------------------------------------------- mutes

/// A team muted all week hears nothing; the other team is told. The mute
/// is removed by a reload: what is still true is told then.
#[tokio::test]
async fn a_muted_team_hears_what_is_still_true_when_its_mute_ends() {
    let db = TestDb::sqlite().await;
    load(&db, NOVEMBER_LEADS, NOVEMBER_TOUCHES, "").await;
    let muted = "  sales:\n    email: [sales@acme.example]\n    mute:\n      - weekdays: mon-sun\n  marketing: { email: [mkt@acme.example] }\n";
    let dir = rules(muted);
    let out = tempfile::tempdir().unwrap();
    let at = utc("2026-11-20T12:00:00Z");
    let run = start(&db, dir.path(), mail(options(at), out.path(), false)).await;
    eventually("marketing told", || async {
        !subjects(out.path()).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(subjects(out.path()).len(), 1, "{:?}", subjects(out.path()));
    assert!(subjects(out.path())[0].starts_with("mkt@acme.example"));
    // The mute goes: sales hears of the breach that still holds.
    std::fs::write(
        dir.path().join("sla.yaml"),
        format!("version: 1\ntimezone: UTC\nteams:\n{TEAMS}objectives:\n{SPEED_AND_VOLUME}"),
    )
    .unwrap();
    eventually("sales told once the mute ended", || async {
        subjects(out.path()).len() == 2
    })
    .await;
    assert_eq!(
        subjects(out.path())[1],
        "sales@acme.example: [handoff] BREACHED speed: 50% worked in 1h, target 90%"
    );
    run.stop().await;
}

// ------------------------------------------------------ the command line

/// `handoff silence add|list|expire` on a SQLite file: made, listed with
/// who and why, ended; a typo in the objective or a missing length refused
/// with the reason (exit 2).
#[test]
fn the_silence_command_adds_lists_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    // The Slack URL's variable is not set in this shell: a silence needs
    // the objectives' names, not the secrets.
    let rules = rules(
        "  sales:\n    email: [sales@acme.example]\n    slack: ${HANDOFF_TEST_NEVER_SET_SLACK_URL}\n  marketing: { email: [mkt@acme.example] }\n",
    );
    let run = |args: &[&str]| {
        let out = crate::helpers::handoff()
            .args(["--database", &db, "--rules"])
            .arg(rules.path())
            .arg("silence")
            .args(args)
            .env("USER", "ana")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&[
        "add",
        "--objective",
        "speed",
        "--group",
        "webinar",
        "--for",
        "2h",
        "--comment",
        "webinar list late",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let id = stdout.split_whitespace().nth(1).unwrap().to_owned();
    assert_eq!(id.len(), 16, "{stdout}");
    assert!(
        stdout.contains("holds the notices of speed, group webinar until"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["list", "--format", "json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let s = &v["silences"][0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["state"], "active");
    assert_eq!(s["created_by"], "ana");
    assert_eq!(s["comment"], "webinar list late");
    assert_eq!(s["matchers"]["group"], "webinar");
    // Two hours long, to the second.
    let start = chrono::DateTime::parse_from_rfc3339(s["starts_at"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(s["ends_at"].as_str().unwrap()).unwrap();
    assert_eq!((end - start).num_seconds(), 7200);
    let (_, table, _) = run(&["list"]);
    assert!(table.contains(&id) && table.contains("active"), "{table}");

    let (code, stdout, _) = run(&["expire", &id]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("ended"), "{stdout}");
    let (_, stdout, _) = run(&["list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["silences"][0]["state"], "expired");

    let (code, _, stderr) = run(&[
        "add",
        "--objective",
        "sped",
        "--for",
        "1h",
        "--comment",
        "x",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("there is no objective `sped`"), "{stderr}");
    let (code, _, stderr) = run(&["add", "--objective", "speed", "--comment", "x"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--for 4h, or --until"), "{stderr}");
    let (code, _, stderr) = run(&["expire", "nope"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("there is no silence `nope`"), "{stderr}");
}

// ------------------------------------------------------------ storage

/// Silences and acknowledgements round-trip on every backend: a silence
/// replaced by its expiry, the first acknowledgement of an episode kept.
async fn silences_and_acks_are_stored(db: TestDb) {
    db.store.migrate().await.unwrap();
    let s = silence("s1", "speed", utc("2026-11-21T11:00:00Z"));
    db.store
        .record(&Journal {
            silences: vec![s.clone()],
            ..Journal::default()
        })
        .await
        .unwrap();
    let mut expired = s.clone();
    expired.ends_at = utc("2026-11-20T12:00:00Z");
    expired.updated_at = expired.ends_at;
    let ack = |by: &str| AckRow {
        objective: "speed".into(),
        group: "all".into(),
        episode: utc("2026-11-20T11:30:00Z"),
        severity: Severity::Critical,
        acked_by: by.into(),
        acked_at: utc("2026-11-20T11:45:00Z"),
    };
    db.store
        .record(&Journal {
            silences: vec![expired.clone()],
            acks: vec![ack("Ana")],
            ..Journal::default()
        })
        .await
        .unwrap();
    db.store
        .record(&Journal {
            acks: vec![ack("Bo")],
            ..Journal::default()
        })
        .await
        .unwrap();
    let read = db
        .store
        .silences(utc("2026-11-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(read, vec![expired]);
    // Ended before 13:00: not listed as of then.
    assert!(
        db.store
            .silences(utc("2026-11-20T13:00:00Z"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.store.acks().await.unwrap(), vec![ack("Ana")]);
}

backend_tests!(silences_and_acks_are_stored);

#[cfg(feature = "http-tests")]
mod http_sink;
