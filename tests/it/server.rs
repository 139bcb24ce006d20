//! The daemon's HTTP under faults: slow and idle clients under a low limit of
//! open files, a database that is away at start, secrets in URLs, and what
//! every answer carries (security headers, JSON errors).

use std::collections::BTreeMap;
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use handoff::daemon::Options;
use serde_json::Value;

use crate::daemon::{evaluated, options, rules_dir, start};
use crate::helpers::{TestDb, handoff, utc};

const VOLUME: &str = "  - name: volume
    kind: lead_volume
    owner: marketing
    schedule: '0 0 1 1 *'
    window: month
    target: 10
";

/// A daemon process, killed if the test ends early, whose stderr is kept.
struct Daemon {
    child: std::process::Child,
    addr: Option<SocketAddr>,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts `sh -c SCRIPT` (which execs the binary with `args`) and reads the
    /// address from its banner, if it prints one within 30 s.
    fn spawn(script: &str, args: &[&str]) -> Daemon {
        let bin = env!("CARGO_BIN_EXE_handoff");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(bin)
            .args(args)
            .env_remove("HANDOFF_DATABASE")
            .env_remove("HANDOFF_RULES")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let text = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = text.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                kept.lock().unwrap().push_str(&format!("{line}\n"));
                if !sent && let Some(url) = line.trim().strip_prefix("status page: http://") {
                    let _ = tx.send(url.trim_end_matches('/').to_owned());
                    sent = true;
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .map(|a| a.parse().unwrap());
        Daemon {
            child,
            addr,
            stderr: text,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr.unwrap_or_else(|| {
            panic!(
                "the daemon printed no address: {}",
                self.stderr.lock().unwrap()
            )
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit, at most `within`.
    fn terminate(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let sent = Instant::now();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        while sent.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "still running {within:?} after SIGTERM: {}",
            self.stderr.lock().unwrap()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on a connection of its own, within `within`: the status, the
/// headers (names in lower case) and the body. `None` if no whole answer came.
fn request(
    addr: SocketAddr,
    head: &str,
    within: Duration,
) -> Option<(u16, BTreeMap<String, String>, String)> {
    let mut s = TcpStream::connect_timeout(&addr, within).ok()?;
    s.set_read_timeout(Some(within)).unwrap();
    s.set_write_timeout(Some(within)).unwrap();
    s.write_all(head.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8(buf).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some((status, headers, body.to_owned()))
}

fn get(addr: SocketAddr, path: &str) -> Option<(u16, BTreeMap<String, String>, String)> {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
        Duration::from_secs(5),
    )
}

/// How many files the process holds open.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// 300 slow clients against a daemon allowed 256 open files: some send
/// nothing, some a request head a byte at a time. /metrics and /-/healthy
/// still answer at once, the daemon's files stay bounded, the slow clients are
/// cut at the header timeout, and SIGTERM does not wait for them.
#[test]
fn slow_clients_cannot_exhaust_the_daemons_files_nor_hold_its_stop() {
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
    let rules = rules_dir(VOLUME);
    let outbox = dir.path().join("outbox");
    let mut daemon = Daemon::spawn(
        "ulimit -n 256 && exec \"$0\" \"$@\"",
        &[
            "--database",
            &url,
            "--rules",
            rules.path().to_str().unwrap(),
            "run",
            "--listen",
            "127.0.0.1:0",
            "--outbox-dir",
            outbox.to_str().unwrap(),
            "--http-header-timeout",
            "2",
            "--http-idle-timeout",
            "30",
            "--http-max-connections",
            "64",
            "--shutdown-grace",
            "5",
        ],
    );
    let addr = daemon.addr();
    let (status, _, _) = get(addr, "/-/healthy").expect("healthy before the clients");
    assert_eq!(status, 200);

    // 300 slow clients: the odd ones send nothing, the even ones a head that
    // never ends, a byte every 100 ms, for at most 6 s.
    let opened = Instant::now();
    let mut clients = Vec::new();
    for i in 0..300 {
        let s = TcpStream::connect(addr).unwrap();
        clients.push((i, s));
    }
    let cut: Arc<Mutex<Vec<Option<Duration>>>> = Arc::new(Mutex::new(vec![None; 300]));
    let mut threads = Vec::new();
    for chunk in clients.chunks(30) {
        let mut mine: Vec<(usize, TcpStream)> = chunk
            .iter()
            .map(|(i, s)| (*i, s.try_clone().unwrap()))
            .collect();
        let cut = cut.clone();
        threads.push(std::thread::spawn(move || {
            for (_, s) in &mine {
                s.set_nonblocking(true).unwrap();
            }
            let head = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
            for step in 0..60 {
                for (i, s) in &mut mine {
                    if cut.lock().unwrap()[*i].is_some() {
                        continue;
                    }
                    let mut buf = [0u8; 256];
                    let closed = match s.read(&mut buf) {
                        Ok(0) => true,
                        Ok(_) => panic!("client {i} got an answer to an unfinished head"),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            *i % 2 == 0 && s.write_all(&head[step..=step]).is_err()
                        }
                        Err(_) => true,
                    };
                    if closed {
                        cut.lock().unwrap()[*i] = Some(opened.elapsed());
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }

    // While they hold on: the daemon answers at once and its files stay
    // well within the limit (64 connections and its own few).
    std::thread::sleep(Duration::from_millis(500));
    for path in ["/metrics", "/-/healthy"] {
        let asked = Instant::now();
        let (status, _, body) = get(addr, path)
            .unwrap_or_else(|| panic!("{path} did not answer within 5 s during the slow clients"));
        assert_eq!(status, 200, "{path}: {body}");
        assert!(asked.elapsed() < Duration::from_secs(5));
    }
    let files = open_files(daemon.pid());
    assert!(files < 64 + 40, "{files} files open");

    for t in threads {
        t.join().unwrap();
    }
    // Every slow client was cut: made room for a newer one, or at the 2 s
    // header timeout; none held on for the 6 s it tried.
    let cut = cut.lock().unwrap().clone();
    let held: Vec<usize> = (0..300).filter(|i| cut[*i].is_none()).collect();
    assert!(held.is_empty(), "never cut: {held:?}");
    let latest = cut.iter().flatten().max().unwrap();
    assert!(
        *latest < Duration::from_millis(5500),
        "cut only at {latest:?}"
    );
    // Those that kept their place were cut by the timeout, not before it.
    assert!(*latest >= Duration::from_secs(2), "{latest:?}");
    drop(clients);

    // SIGTERM with slow clients connected: the stop does not wait for them.
    let slow: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut partial = TcpStream::connect(addr).unwrap();
    partial
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (status, took) = daemon.terminate(Duration::from_secs(5 + 5));
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr.lock().unwrap());
    assert!(took < Duration::from_secs(5 + 3), "{took:?}");
    drop(slow);
    let log = daemon.stderr.lock().unwrap().clone();
    assert!(!log.contains("Too many open files"), "{log}");
}

/// The database is away at start: HTTP is up all the same, /-/healthy says
/// so, /-/ready says why not, the rest answers 503 in JSON; SIGTERM exits 0.
#[test]
fn http_is_up_while_the_database_is_away() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The password percent-encoded, as a URL wants it: the daemon keeps
    // trying, and says so without it.
    let secret = "Pw1%2FPw2%40Pw3%3APw4";
    let url = format!("postgres://app:{secret}@127.0.0.1:{closed_port}/crm");
    let rules = rules_dir(VOLUME);
    let outbox = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::spawn(
        "exec \"$0\" \"$@\"",
        &[
            "--database",
            &url,
            "--rules",
            rules.path().to_str().unwrap(),
            "run",
            "--listen",
            "127.0.0.1:0",
            "--outbox-dir",
            outbox.path().to_str().unwrap(),
        ],
    );
    let addr = daemon.addr();
    let (status, _, body) = get(addr, "/-/healthy").unwrap();
    assert_eq!((status, body.as_str()), (200, "handoff is healthy\n"));
    // The first attempt is refused at once; then /-/ready says so.
    let mut ready = None;
    for _ in 0..250 {
        let (status, _, body) = get(addr, "/-/ready").unwrap();
        assert_eq!(status, 503, "{body}");
        if body.contains("refused") {
            ready = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ready = ready.expect("/-/ready names the refusal");
    assert!(
        ready.starts_with("handoff is starting: database unreachable: "),
        "{ready}"
    );
    assert!(ready.contains("retrying"), "{ready}");
    for (method, path) in [
        ("GET", "/metrics"),
        ("GET", "/api/v1/objectives"),
        ("GET", "/"),
        ("POST", "/-/reload"),
    ] {
        let (status, headers, body) = request(
            addr,
            &format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(status, 503, "{method} {path}: {body}");
        assert_eq!(headers["content-type"], "application/json", "{path}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let error = v["error"].as_str().unwrap();
        assert!(
            error.starts_with("handoff is starting: database unreachable: "),
            "{error}"
        );
    }
    let (status, took) = daemon.terminate(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", daemon.stderr.lock().unwrap());
    assert!(took < Duration::from_secs(5), "{took:?}");
    let log = daemon.stderr.lock().unwrap().clone();
    assert!(log.contains("Cannot reach the database"), "{log}");
    for part in ["Pw1", "Pw2", "Pw3", "Pw4"] {
        assert!(!log.contains(part), "{part} in {log}");
        assert!(!ready.contains(part), "{part} in {ready}");
    }
}

/// Passwords as people type them, with `/`, `@`, `:`, `%`, `#` and `?` raw,
/// appear in no output of the binary: start errors, the banner, help.
#[test]
fn passwords_in_urls_never_reach_the_output() {
    let outbox = tempfile::tempdir().unwrap();
    let rules = rules_dir(VOLUME);
    let rules = rules.path().to_str().unwrap();
    let outbox = outbox.path().to_str().unwrap();
    let database = "postgres://app:Db1/Db2@Db3:Db4%Db5#Db6?Db7@127.0.0.1:1/crm";
    let smtp = "smtp://mailer:Ml1/Ml2@Ml3:Ml4%Ml5#Ml6@127.0.0.1:25?tls=sometimes";
    let runs: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        // A bad mail setting: start fails on it, naming the URL.
        (
            "smtp",
            vec![
                "--database",
                database,
                "--rules",
                rules,
                "run",
                "--listen",
                "127.0.0.1:0",
                "--smtp-url",
                smtp,
            ],
            Some("--smtp-url smtp://mailer:***@127.0.0.1:25?tls=sometimes"),
        ),
        // The raw password is not a valid URL: start fails, naming it.
        (
            "run",
            vec![
                "--database",
                database,
                "--rules",
                rules,
                "run",
                "--listen",
                "127.0.0.1:0",
                "--outbox-dir",
                outbox,
            ],
            Some("postgres://app:***@127.0.0.1:1/crm"),
        ),
        (
            "eval",
            vec!["--database", database, "--rules", rules, "eval"],
            None,
        ),
        ("migrate", vec!["--database", database, "migrate"], None),
    ];
    for (what, args, shown) in runs {
        let out = handoff().args(&args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {text}");
        if let Some(shown) = shown {
            assert!(text.contains(shown), "{what}: {text}");
        }
        for n in 1..=7 {
            for part in [format!("Db{n}"), format!("Ml{n}")] {
                assert!(!text.contains(&part), "{what}: {part} in {text}");
            }
        }
    }
    // From the environment, --help shows neither.
    let out = handoff()
        .env("HANDOFF_DATABASE", database)
        .env("HANDOFF_SMTP_URL", smtp)
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("HANDOFF_DATABASE"), "{help}");
    assert!(!help.contains("Db1") && !help.contains("Ml1"), "{help}");
}

/// What every answer carries, and errors as JSON.
#[tokio::test]
async fn answers_carry_security_headers_and_errors_are_json() {
    let db = TestDb::sqlite().await;
    let rules = rules_dir(VOLUME);
    let mut o: Options = options(utc("2026-11-20T12:00:00Z"));
    o.admin_token = Some("s3cret".to_owned());
    let run = start(&db, rules.path(), o).await;
    let addr = run.addr;
    evaluated(addr, 1).await;
    let ask = move |head: String| async move {
        tokio::task::spawn_blocking(move || request(addr, &head, Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("an answer")
    };
    let get = |path: &str| {
        ask(format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ))
    };

    // The scheme of the token is case-insensitive.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let (status, _, body) = ask(format!(
            "POST /-/reload HTTP/1.1\r\nHost: x\r\nAuthorization: {scheme} s3cret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await;
        assert_eq!(status, 200, "{scheme}: {body}");
    }
    let (status, _, body) = ask(
        "POST /-/reload HTTP/1.1\r\nHost: x\r\nAuthorization: bearer wrong\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
    )
    .await;
    assert_eq!(status, 401, "{body}");

    // Errors: ours, axum's rejections, a wrong method, no such path.
    let errors = [
        (
            "GET /api/v1/objectives/volume/history?from=garbage",
            400,
            "`from` must be an RFC 3339 time",
        ),
        (
            "GET /api/v1/objectives/volume/history?limit=many",
            400,
            "limit",
        ),
        (
            "GET /api/v1/objectives/nope/history",
            404,
            "no objective `nope`",
        ),
        ("POST /metrics", 405, "GET"),
        ("DELETE /api/v1/alerts", 405, "GET"),
        ("GET /nope", 404, "no such endpoint"),
    ];
    for (line, code, says) in errors {
        let (status, headers, body) = ask(format!(
            "{line} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await;
        assert_eq!(status, code, "{line}: {body}");
        assert_eq!(
            headers["content-type"], "application/json",
            "{line}: {body}"
        );
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{line}: {e}: {body}"));
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(says), "{line}: {error}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{line}");
    }
    let (status, headers, _) = ask(
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned(),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "GET,HEAD");

    // Security headers on every answer; the page's policy allows its inline
    // styles and nothing else, and no framing.
    for path in [
        "/",
        "/metrics",
        "/-/healthy",
        "/-/ready",
        "/api/v1/objectives",
        "/api/v1/alerts",
    ] {
        let (status, headers, _) = get(path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    let (_, headers, page) = get("/").await;
    assert!(headers["content-type"].starts_with("text/html"));
    let policy = &headers["content-security-policy"];
    let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
    for d in [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "frame-ancestors 'none'",
    ] {
        assert!(directives.contains(&d), "{d} missing from {policy}");
    }
    assert!(!policy.contains("script"), "{policy}");
    // What the policy forbids, the page does not use.
    assert!(page.contains("<style>") && page.contains("<svg"));
    assert!(!page.contains("<script") && !page.contains("<img") && !page.contains("<link"));
    run.stop().await;
}
