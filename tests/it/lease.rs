//! The leader's lease (docs/DAEMON.md, "Two daemons, one mailer"): claimed,
//! renewed, taken over once it ran out with the next token, released, and the
//! fence that refuses the writes of a daemon whose token is no longer the
//! lease's. On SQLite there is no lease, and a second daemon on one file
//! refuses to start.

use std::time::Duration;

use chrono::{DateTime, Utc};
use handoff::codes::Status;
use handoff::store::{Claim, ErrorKind, Journal, ResultRow, StoreError};

use crate::helpers::{TestDb, backend_tests, count_on, handoff, utc};

fn result(at: DateTime<Utc>) -> ResultRow {
    ResultRow {
        objective: "speed".to_owned(),
        group: "all".to_owned(),
        evaluated_at: at,
        status: Status::Ok,
        value: Some(0.9),
        target: Some(0.8),
        numerator: None,
        denominator: None,
        details: "{}".to_owned(),
    }
}

fn holder_and_token(claim: &Claim) -> (bool, &str, i64) {
    match claim {
        Claim::Held(l) => (true, l.holder.as_str(), l.token),
        Claim::Other(l) => (false, l.holder.as_str(), l.token),
    }
}

async fn lease_is_claimed_renewed_taken_and_fenced(db: TestDb) {
    db.store.migrate().await.unwrap();
    let ttl = Duration::from_millis(1500);
    if db.url.starts_with("sqlite") {
        let e = db.store.claim_lease("a", None, ttl).await.unwrap_err();
        assert!(matches!(e, StoreError::NoLease), "{e}");
        return;
    }
    // The first claim ever takes the lease with token 1 (the row starts at
    // 0, run out).
    let a = db.store.claim_lease("a", None, ttl).await.unwrap();
    assert_eq!(holder_and_token(&a), (true, "a", 1));
    if let Claim::Held(l) = &a {
        // 1.5 s by the database's clock, give or take a statement.
        let left = (l.expires_at - l.acquired_at).num_milliseconds();
        assert!((1400..=1600).contains(&left), "{left} ms");
    }
    // b finds a holding it; a renews it and keeps its token.
    let b = db.store.claim_lease("b", None, ttl).await.unwrap();
    assert_eq!(holder_and_token(&b), (false, "a", 1));
    let a = db.store.claim_lease("a", Some(1), ttl).await.unwrap();
    assert_eq!(holder_and_token(&a), (true, "a", 1));
    // A claim by a's name without its token is someone else (a restart):
    // it waits for the lease to run out like anyone.
    let again = db.store.claim_lease("a", None, ttl).await.unwrap();
    assert_eq!(holder_and_token(&again), (false, "a", 1));

    // a writes with its token.
    let t0 = utc("2026-11-20T10:00:00Z");
    db.store
        .record_fenced(
            &Journal {
                results: vec![result(t0)],
                ..Journal::default()
            },
            Some(1),
        )
        .await
        .unwrap();

    // a stops renewing: once the lease ran out b takes it with token 2.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let b = db.store.claim_lease("b", None, ttl).await.unwrap();
    assert_eq!(holder_and_token(&b), (true, "b", 2));

    // a's next write is refused, and nothing of it is written.
    let t1 = utc("2026-11-20T10:05:00Z");
    let e = db
        .store
        .record_fenced(
            &Journal {
                results: vec![result(t1)],
                ..Journal::default()
            },
            Some(1),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Fenced);
    match &e {
        StoreError::Fenced { token, newer } => {
            assert_eq!(*token, 1);
            assert_eq!(newer.as_ref(), Some(&("b".to_owned(), 2)));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("token 2, held by b"), "{e}");
    assert_eq!(
        count_on(&db.url, "SELECT COUNT(*) FROM handoff_results").await,
        1
    );
    // b's write goes; a's renewal finds b.
    db.store
        .record_fenced(
            &Journal {
                results: vec![result(t1)],
                ..Journal::default()
            },
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!(
        count_on(&db.url, "SELECT COUNT(*) FROM handoff_results").await,
        2
    );
    let a = db.store.claim_lease("a", Some(1), ttl).await.unwrap();
    assert_eq!(holder_and_token(&a), (false, "b", 2));

    // A release by a daemon that no longer holds it changes nothing; b's
    // own release lets a take over at once, with token 3.
    db.store.release_lease("a", 1).await.unwrap();
    let a = db.store.claim_lease("a", None, ttl).await.unwrap();
    assert_eq!(holder_and_token(&a), (false, "b", 2));
    db.store.release_lease("b", 2).await.unwrap();
    let a = db.store.claim_lease("a", None, ttl).await.unwrap();
    assert_eq!(holder_and_token(&a), (true, "a", 3));
    // Writes without a token (people's silences and acknowledgements, the
    // command line) are not fenced.
    db.store
        .record(&Journal {
            results: vec![result(utc("2026-11-20T10:10:00Z"))],
            ..Journal::default()
        })
        .await
        .unwrap();
}

backend_tests!(lease_is_claimed_renewed_taken_and_fenced);

/// A second `handoff run` on the SQLite file a daemon runs on refuses to
/// start, names the first, and changes nothing; once the first stops, a
/// daemon starts on the file again.
#[test]
fn a_second_daemon_on_one_sqlite_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    crate::daemon::write_rules(&rules, crate::daemon::SPEED_AND_VOLUME);
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let start = |port: u16| {
        handoff()
            .args(["--rules", rules.to_str().unwrap(), "--database", &url])
            .args(["run", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--outbox-dir")
            .arg(dir.path().join("outbox"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let port = crate::helpers::free_port();
    let mut first = start(port);
    // Ready once it serves: it has connected, migrated and locked the file.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        || !std::fs::exists(dir.path().join("h.db.lock")).unwrap()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first daemon never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let second = start(crate::helpers::free_port())
        .wait_with_output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{said}");
    assert!(
        said.contains("another handoff daemon runs on SQLite database")
            && said.contains(&format!("pid {}", first.id()))
            && said.contains("one daemon"),
        "{said}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The lock went with the process: a new daemon starts.
    let port = crate::helpers::free_port();
    let mut third = start(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            third.try_wait().unwrap().is_none(),
            "the daemon after the first one's end exited"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the third daemon never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        third.try_wait().unwrap().is_none(),
        "the third daemon exited"
    );
    third.kill().unwrap();
    third.wait().unwrap();
}
