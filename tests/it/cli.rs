//! The `handoff` binary as a user runs it.

use std::process::Command;

#[cfg(any(feature = "postgres-tests", feature = "mysql-tests"))]
use crate::helpers::TestDb;
use crate::helpers::handoff;

#[test]
fn help_teaches_each_verb() {
    let out = handoff().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for verb in ["demo", "import", "migrate"] {
        assert!(help.contains(verb), "{help}");
    }
    let out = handoff().args(["import", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("FILE:LINE:COLUMN") && help.contains("HANDOFF_DATABASE"),
        "{help}"
    );
}

#[test]
fn demo_then_import_of_a_bad_file_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    let out = handoff()
        .args([
            "--database",
            &db,
            "demo",
            "--build-only",
            "--leads",
            "500",
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
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("500 leads"), "{stdout}");

    let count = |table: &str| {
        let out = Command::new("sqlite3")
            .arg(dir.path().join("h.db"))
            .arg(format!("SELECT COUNT(*) FROM {table}"))
            .output();
        out.ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let before = count("touches");

    let csv = tempfile::tempdir().unwrap();
    std::fs::write(csv.path().join("touches.csv"), "id,lead_id,occurred_at,kind,direction,automated\nNEW1,L0000001,2026-11-01T10:00:00Z,call,outbound,false\nNEW2,L0000001,yesterday,call,outbound,false\n").unwrap();
    // The demo's database: importing into it would mix two histories.
    let out = handoff()
        .env("HANDOFF_DATABASE", &db)
        .arg("import")
        .arg(csv.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("holds the demo company") && stderr.contains("--replace"),
        "{stderr}"
    );
    // With --replace, a bad file: the folder is imported whole or not at all,
    // so the demo's data is not deleted either.
    let out = handoff()
        .env("HANDOFF_DATABASE", &db)
        .args(["import", "--replace"])
        .arg(csv.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("touches.csv:3:3: invalid `occurred_at` `yesterday`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing of this file was written"),
        "{stderr}"
    );
    // Checked with the sqlite3 shell when it is installed (CI installs it).
    if let (Some(b), Some(a)) = (before, count("touches")) {
        assert_eq!(a, b);
    }
}

/// `--log handoff::eval=debug` (and `handoff::store`) picks out what it names,
/// whichever crate the code lives in: the timing lines the benchmarks and
/// operators read.
/// `migrate` says what it did, and leaves a new SQLite database as one file.
#[test]
fn migrate_says_what_it_applied_and_leaves_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("new.db").display());
    // Every migration this build ships, counted from the repository.
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sql".as_ref()))
        .count();
    assert!(shipped > 1);
    let run = || {
        let out = handoff()
            .args(["--database", &db, "migrate"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(
        first.starts_with(&format!("applied {shipped} migrations to SQLite database ")),
        "{first}"
    );
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["new.db"], "no -wal or -shm left behind");
    let again = run();
    assert!(
        again.ends_with("is up to date: no migration to apply\n"),
        "{again}"
    );
}

/// A daemon started as a user starts it, with JSON logs.
struct Daemon {
    child: crate::daemon::Child,
    /// The rest of its stderr.
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    /// Where it listens.
    addr: std::net::SocketAddr,
}

/// Starts `handoff --log-format json ARGS run --listen 127.0.0.1:0 RUN_ARGS`
/// and reads its log until it serves, checking that every line is one JSON
/// object with a timestamp, level, target and message.
fn spawn_json(args: &[&str], run_args: &[&str]) -> Daemon {
    use std::io::BufRead as _;
    let mut child = crate::daemon::Child(
        handoff()
            .args(["--log-format", "json"])
            .args(args)
            .args(["run", "--listen", "127.0.0.1:0"])
            .args(run_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(child.0.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(v.get(key).is_some(), "no {key} in {line}");
        }
        seen.push(line);
        if v["message"] == "Serving /metrics, the API and the status page." {
            let addr = v["addr"].as_str().unwrap().parse().unwrap();
            return Daemon { child, lines, addr };
        }
    }
    panic!("never served: {seen:#?}");
}

impl Daemon {
    /// SIGTERM; the rest of the log must be JSON too, and the exit 0.
    fn stop(mut self) {
        let pid = self.child.0.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        for line in self.lines {
            let line = line.unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&line).is_ok(),
                "not JSON: {line}"
            );
        }
        assert!(self.child.0.wait().unwrap().success());
    }
}

/// A new SQLite database in `dir`, migrated; its URL.
fn migrated(dir: &std::path::Path) -> String {
    let db = format!("sqlite://{}", dir.join("h.db").display());
    let out = handoff()
        .args(["--database", &db, "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    db
}

const RULES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");

/// `--log-format json`: every line on stderr is one JSON object, the daemon's
/// addresses included, with nothing for a person mixed in.
#[test]
fn json_logs_are_one_object_per_line_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path());
    let daemon = spawn_json(&["--database", &db, "--rules", RULES_DIR], &[]);
    assert_eq!(daemon.addr.ip().to_string(), "127.0.0.1");
    daemon.stop();
}

/// Secrets from files (`--database-file`, `--admin-token-file`, and their
/// `HANDOFF_…_FILE` variables): read without their line end, refused when
/// missing or empty with the option and the path, never echoed.
#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = migrated(dir.path());
    let url_file = dir.path().join("database-url");
    std::fs::write(&url_file, format!("{db}\n")).unwrap();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "s3cret-t0ken\r\n").unwrap();

    let out = handoff()
        .args(["migrate"])
        .env("HANDOFF_DATABASE_FILE", &url_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains(&dir.path().join("h.db").display().to_string()),
        "{said}"
    );

    let missing = dir.path().join("nope");
    let out = handoff()
        .arg("--database-file")
        .arg(&missing)
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "cannot read --database-file {}",
            missing.display()
        )),
        "{err}"
    );
    std::fs::write(&missing, "\n").unwrap();
    let out = handoff()
        .arg("--database-file")
        .arg(&missing)
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("is empty"));

    let out = handoff()
        .args(["--database", &db, "run", "--smtp-url-file"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains(&format!("--smtp-url-file {} is empty", missing.display()))
    );

    // A password from a file is never shown, even when the database fails.
    let pg_file = dir.path().join("pg-url");
    std::fs::write(
        &pg_file,
        "postgres://handoff:pa55-from-file@127.0.0.1:1/x\n",
    )
    .unwrap();
    let out = handoff()
        .arg("--database-file")
        .arg(&pg_file)
        .args(["--db-connect-timeout", "1", "--rules", RULES_DIR, "eval"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("pa55-from-file"), "{all}");
    assert!(all.contains("127.0.0.1"), "{all}");

    // Both the option and its file: which one was meant is not guessed.
    let out = handoff()
        .args(["--database", &db, "--database-file"])
        .arg(&url_file)
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // The admin token, read without its line end, guards the reload.
    let daemon = spawn_json(
        &[
            "--database-file",
            url_file.to_str().unwrap(),
            "--rules",
            RULES_DIR,
        ],
        &["--admin-token-file", token_file.to_str().unwrap()],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reload = |token| {
        runtime
            .block_on(crate::daemon::http(daemon.addr, "POST", "/-/reload", token))
            .0
    };
    assert_eq!(reload(Some("s3cret-t0ken")), 200);
    assert_eq!(reload(Some("s3cret-t0ke")), 401);
    assert_eq!(reload(None), 401);
    daemon.stop();
}

#[test]
fn log_filters_name_handoffs_modules() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    let built = handoff()
        .args(["--database", &db, "demo", "--build-only", "--leads", "300"])
        .args(["--end", "2026-11-25T15:00:00Z"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let eval = |filter: &str| {
        let out = handoff()
            .args([
                "--database",
                &db,
                "--log",
                filter,
                "eval",
                "--objective",
                "mql-volume",
            ])
            .args(["--at", "2026-11-25T15:00:00Z"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    };
    let log = eval("handoff::eval=debug");
    let evaluated: Vec<&str> = log.lines().filter(|l| l.contains("Evaluated.")).collect();
    assert_eq!(evaluated.len(), 1, "{log}");
    assert!(
        evaluated[0].contains("handoff::eval") && evaluated[0].contains("objective=mql-volume"),
        "{log}"
    );
    assert!(!log.contains("Done counting"), "{log}");
    let log = eval("handoff::store=debug");
    assert!(
        log.lines()
            .any(|l| l.contains("handoff::store")
                && l.contains("Done counting the MQLs of the window.")),
        "{log}"
    );
    assert!(!log.contains("Evaluated."), "{log}");
    let log = eval("handoff=debug");
    assert!(
        log.contains("Evaluated.") && log.contains("Done counting"),
        "{log}"
    );
}

#[test]
fn unknown_database_scheme_is_a_clear_error() {
    let out = handoff()
        .args(["--database", "oracle://scott:tiger@db/crm", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("unsupported database URL `oracle://scott:***@db/crm`"),
        "{stderr}"
    );
}

/// Advice goes only where it is the fix: a server that is down is not cured by
/// `handoff migrate`.
#[test]
fn eval_against_a_server_that_is_down_says_so_without_wrong_advice() {
    let out = handoff()
        .args(["--database", "postgres://postgres@127.0.0.1:1/crm"])
        .args(["--rules", concat!(env!("CARGO_MANIFEST_DIR"), "/rules")])
        .arg("eval")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: cannot evaluate: cannot connect to PostgreSQL database crm on 127.0.0.1:1: "
        ),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("migrate"), "{stderr}");
}

/// The features of every crate the binary uses, as `cargo tree` lists them,
/// with (`dev`) or without the test-only dependencies.
fn features(dev: bool) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let edges = if dev {
        "normal,build,dev"
    } else {
        "normal,build"
    };
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "-e",
            edges,
        ])
        .args(["-f", "{p}|{f}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((package, feats)) = line.split_once('|') else {
            continue;
        };
        let package = package.replace(" (*)", "").replace(" (proc-macro)", "");
        let feats = feats.trim_end_matches(" (*)");
        all.entry(package.trim().to_owned()).or_default().extend(
            feats
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
        );
    }
    all
}

/// `cargo test --release` reuses the dependencies `cargo build --release`
/// built only when the test-only dependencies turn on no feature the binary's
/// build lacks: Cargo.toml lists those features among the dependencies.
#[test]
fn the_tests_add_no_feature_to_the_binarys_dependencies() {
    let plain = features(false);
    let with_tests = features(true);
    let mut added = Vec::new();
    for (package, feats) in &plain {
        let more: Vec<&String> = with_tests[package].difference(feats).collect();
        if !more.is_empty() {
            added.push(format!("{package}: {more:?}"));
        }
    }
    assert!(
        added.is_empty(),
        "the dev-dependencies add features; list them in Cargo.toml's [dependencies]:\n{}",
        added.join("\n")
    );
    assert!(
        plain.keys().any(|p| p.starts_with("tokio ")),
        "cargo tree listed the binary's crates"
    );
}

// ---------------------------------------------------------------------------
// Rule tests (docs/TESTS.md): `check` and `schema --tests`.

const GOOD_TEST: &str = r#"rules: ../acme.yaml
tests:
  - name: a webinar lead left alone
    rows:
      reps: [{ id: R1, name: Ana, team: sales-na }]
      leads: [{ id: L1, created_at: "2026-11-02T14:00:00Z", mql_at: "2026-11-02T14:00:00Z", owner_id: R1, channel: webinar }]
    at: { from: "2026-11-02T14:00:00Z", to: "2026-11-02T20:00:00Z", every: 15m }
    expect:
      - { at: "2026-11-02T18:45:00Z", objective: speed-to-lead, status: breached, alert: firing, mail: [] }
"#;

/// A rules directory with the shipped rules and `tests/` holding `tests`.
fn rules_with_tests(tests: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("rules/acme.yaml", dir.path().join("acme.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    for (name, text) in tests {
        std::fs::write(dir.path().join("tests").join(name), text).unwrap();
    }
    dir
}

#[test]
fn check_checks_the_rule_tests_beside_the_rules() {
    let dir = rules_with_tests(&[("good.yaml", GOOD_TEST)]);
    let out = handoff()
        .arg("--rules")
        .arg(dir.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "5 objectives in 1 file are valid\n1 test in 1 test file is valid\n"
    );
}

#[test]
fn check_with_a_broken_test_file_exits_1_with_located_errors() {
    let broken = GOOD_TEST
        .replace("every: 15m", "every: 15")
        .replace("status: breached", "status: breach")
        .replace("\"2026-11-02T18:45:00Z\"", "\"2026-11-02T18:40:00Z\"");
    let dir = rules_with_tests(&[("broken.yaml", &broken), ("good.yaml", GOOD_TEST)]);
    let file = dir.path().join("tests").join("broken.yaml");
    for args in [vec![dir.path().to_owned()], vec![file.clone()]] {
        let out = handoff().arg("check").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        let f = file.display();
        let starts: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
        assert_eq!(
            starts,
            [
                format!("{f}:7:76: error: `15` has no unit"),
                format!("{f}:9:73: error: unknown value `breach` — did you mean `breached`?"),
            ],
            "{stderr}"
        );
        assert!(
            stderr.contains("= help: write e.g. `15m` for minutes"),
            "{stderr}"
        );
        assert!(
            stderr.ends_with("tests are not valid: 2 errors in 1 file\n"),
            "{stderr}"
        );
        // The rules are checked when the rules directory is, and only then.
        let rules_line = "5 objectives in 1 file are valid\n";
        assert_eq!(stdout, if args[0] == file { "" } else { rules_line });
    }

    // An expectation at an instant the test does not evaluate at.
    let off = GOOD_TEST.replace("18:45:00Z", "18:40:00Z");
    let dir = rules_with_tests(&[("off.yaml", &off)]);
    let out = handoff()
        .arg("check")
        .arg(dir.path().join("tests"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(":9:15: error: 2026-11-02T18:40:00Z is not an instant of this test")
            && stderr.contains("the nearest are 2026-11-02T18:30:00Z and 2026-11-02T18:45:00Z"),
        "{stderr}"
    );
}

#[test]
fn schema_tests_prints_the_schema_of_test_files() {
    let out = handoff().args(["schema", "--tests"]).output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, handoff::ruletest::schema());
    let shipped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/tests.schema.json").unwrap()).unwrap();
    assert_eq!(
        shipped, printed,
        "refresh it: handoff schema --tests > docs/tests.schema.json"
    );

    // It takes a good file and refuses the mistakes it can see.
    let validator = jsonschema::validator_for(&printed).unwrap();
    let json = |yaml: &str| serde_saphyr::from_str::<serde_json::Value>(yaml).unwrap();
    assert!(validator.is_valid(&json(GOOD_TEST)));
    for bad in [
        GOOD_TEST.replace("status: breached", "status: breach"),
        GOOD_TEST.replace("    rows:", "    data: d\n    rows:"),
        GOOD_TEST.replace("alert: firing, mail: []", "tolerance: 0.1"),
        GOOD_TEST.replace("team: sales-na", "tema: sales-na"),
        GOOD_TEST.replace("expect:", "expct:"),
    ] {
        assert!(!validator.is_valid(&json(&bad)), "{bad}");
    }

    // --mapping and --tests ask for two different schemas.
    let out = handoff()
        .args(["schema", "--tests", "--mapping"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = handoff().args(["schema", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("--tests") && help.contains("docs/TESTS.md"),
        "{help}"
    );
}

/// A server's first contact: `migrate` on a database already migrated says so
/// with no line of driver chatter, and a database missing on the server is
/// named with how to create it.
#[cfg(any(feature = "postgres-tests", feature = "mysql-tests"))]
fn server_first_contact_is_clean(db: &TestDb, what: &str, create: &str) {
    let out = handoff()
        .args(["--database", &db.url, "migrate"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "no notices");
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.ends_with("is up to date: no migration to apply\n"),
        "{said}"
    );

    let (base, _) = db.url.rsplit_once('/').unwrap();
    let out = handoff()
        .args([
            "--database",
            &format!("{base}/handoff_none_here"),
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&format!(
            "error: cannot connect to {what} database handoff_none_here on "
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            ": the server has no database `handoff_none_here`; create it first ({create}), then run `handoff migrate`\n"
        )),
        "{err}"
    );
}

/// A statement the server refuses is reported in the server's words with its
/// code, once, and without the driver's decoration (PostgreSQL's "at line N"
/// of its own C source).
#[cfg(any(feature = "postgres-tests", feature = "mysql-tests"))]
async fn a_refusal_is_in_the_servers_words(db: &TestDb, said: &str) {
    db.exec("DROP TABLE deals").await;
    let out = handoff()
        .args(["--database", &db.url, "--rules", RULES_DIR, "eval"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.ends_with(&format!(
            "has no lead tables: database error while reading table deals: the server said: {said}\n"
        )),
        "{err}"
    );
    assert!(!err.contains(" at line "), "{err}");
}

#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_first_contact_is_clean() {
    let db = TestDb::postgres().await;
    server_first_contact_is_clean(
        &db,
        "PostgreSQL",
        "createdb handoff_none_here, or CREATE DATABASE \"handoff_none_here\"",
    );
    a_refusal_is_in_the_servers_words(&db, "relation \"deals\" does not exist (42P01)").await;
}

#[cfg(feature = "mysql-tests")]
#[tokio::test]
async fn mysql_first_contact_is_clean() {
    let db = TestDb::mysql().await;
    server_first_contact_is_clean(&db, "MySQL/MariaDB", "CREATE DATABASE `handoff_none_here`");
    let name = db.url.rsplit_once('/').unwrap().1.to_owned();
    a_refusal_is_in_the_servers_words(&db, &format!("Table '{name}.deals' doesn't exist (1146)"))
        .await;
}

/// A mistake on the command line exits with 2, as clap's own do (README,
/// "Exit status"); a failure to do the work exits with 1.
#[test]
fn command_line_mistakes_exit_2() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("none.db").display());
    let eval = |args: &[&str]| {
        handoff()
            .args(["--database", &db, "--rules", rules, "eval"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = eval(&["--objective", "speed-to-leed"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: no objective `speed-to-leed` in the rules — did you mean `speed-to-lead`?\n"
    );
    // 02:30 on 8 March 2026 is skipped by New York's clocks (the rules' zone).
    let out = eval(&["--at", "2026-03-08 02:30"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("error: --at: 2026-03-08 02:30 does not exist in America/New_York"),
    );
    // A database that is not there is no mistake of the command line.
    let out = eval(&[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

/// The steps `handoff init` prints, as (command, what) pairs.
fn next_steps(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| *l != "next:")
        .skip(1)
        .map(|l| l.trim().split("   ").next().unwrap().trim().to_owned())
        .collect()
}

/// Runs `command` in `dir` through a shell, as a user types it, with this
/// build's `handoff` first on the PATH and no HANDOFF_ variable.
fn as_typed(dir: &std::path::Path, command: &str) -> std::process::Output {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_handoff"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", path);
    for (k, _) in std::env::vars() {
        if k.starts_with("HANDOFF_") {
            cmd.env_remove(k);
        }
    }
    cmd.output().unwrap()
}

/// From an empty directory: every verb that needs rules says where it looked
/// and names `handoff init`; `demo` says so before it builds anything; `init`
/// writes the starter, refuses to write it twice, and every step it prints
/// works as printed (all but `run`, which the README's tour runs in CI).
#[test]
fn init_starts_a_rule_set_whose_next_steps_work_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    for verb in ["check", "eval", "test", "run", "demo"] {
        let out = as_typed(dir.path(), &format!("handoff {verb}"));
        assert_eq!(out.status.code(), Some(1), "{verb}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "handoff reads its rules from rules/ (in {})",
                dir.path().canonicalize().unwrap().display()
            )) && err.contains("`handoff init` writes a starter rule set there"),
            "{verb}: {err}"
        );
    }
    assert!(
        !dir.path().join("handoff.db").exists(),
        "demo built a database it could not use"
    );

    let out = as_typed(dir.path(), "handoff init");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(dir.path().join("rules/acme.yaml").is_file());
    let steps = next_steps(&stdout);
    assert_eq!(
        steps,
        [
            "handoff check",
            "handoff test",
            "handoff demo --build-only",
            "handoff eval",
            "handoff run"
        ]
    );
    for step in steps.iter().filter(|s| !s.ends_with(" run")) {
        let out = as_typed(dir.path(), step);
        assert!(out.status.success(), "{step}: {out:?}");
    }
    // handoff.db now holds the demo company; the import `demo --csv` suggests
    // works as printed all the same.
    let out = as_typed(dir.path(), "handoff demo --csv 'acme csv' --leads 300");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let look = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Look at it: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(
        look,
        "handoff --database 'sqlite://acme csv.db' import 'acme csv'"
    );
    let out = as_typed(dir.path(), look);
    assert!(out.status.success(), "{look}: {out:?}");

    // The starter's own test file names its schema beside it.
    let tests = std::fs::read_to_string(dir.path().join("rules/tests/acme.yaml")).unwrap();
    assert!(tests.starts_with("# yaml-language-server: $schema=schema.json\n"));
    assert!(dir.path().join("rules/tests/schema.json").is_file());

    let again = as_typed(dir.path(), "handoff init");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("rules/ already holds README.md, acme.yaml"),
        "{again:?}"
    );

    // Another directory, with a space in its name: the steps name it, quoted.
    let out = as_typed(dir.path(), "handoff init 'my rules'");
    assert!(out.status.success(), "{out:?}");
    let steps = next_steps(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(steps[0], "handoff --rules 'my rules' check");
    let out = as_typed(dir.path(), &steps[0]);
    assert!(out.status.success(), "{}: {out:?}", steps[0]);
}

/// The daemon's least-privilege role (docs/DEPLOY.md): refused a table, it is
/// told in the server's words; granted what docs/deploy/postgres-grants.sql
/// grants, `migrate` finds the schema up to date without a statement that
/// needs the right to create tables; and when a migration is missing, `run`
/// stops at once with the server's refusal and what to do, rather than
/// waiting for a database that will never change by itself.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_least_privilege_role() {
    let db = TestDb::postgres().await;
    let name = db.url.rsplit_once('/').unwrap().1.to_owned();
    let role = format!("{name}_daemon");
    db.exec(&format!("CREATE ROLE {role} LOGIN")).await;
    let as_role = db
        .url
        .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    assert_ne!(as_role, db.url);
    let handoff_as_role = |args: &[&str]| {
        handoff()
            .args(["--database", &as_role, "--rules", RULES_DIR])
            .args(args)
            .output()
            .unwrap()
    };

    let out = handoff_as_role(&["eval"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.ends_with("database error while reading table reps: the server said: permission denied for table reps (42501)\n"),
        "{err}"
    );

    let grants = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/deploy/postgres-grants.sql"
    ))
    .unwrap()
    .replace("TO handoff;", &format!("TO {role};"));
    db.exec(&grants).await;
    let out = handoff_as_role(&["migrate"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .ends_with("is up to date: no migration to apply\n")
    );
    assert!(handoff_as_role(&["eval"]).status.success());

    // The newest migration undone: the role may not apply it.
    db.exec(
        "DROP TABLE handoff_rule_sets; \
         DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let started = std::time::Instant::now();
    let out = handoff_as_role(&["run", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "it waited"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("error: cannot start: the schema needs migrating and this role may not do it: run `handoff migrate` as the schema's owner, then the grants (docs/DEPLOY.md): failed to migrate PostgreSQL database"),
        "{err}"
    );
    assert!(
        err.contains(": the server said: permission denied for schema public (42501)"),
        "{err}"
    );
    db.exec(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await;
}

/// TLS to PostgreSQL (docs/DEPLOY.md, "Encryption"): `sslmode=require`
/// encrypts every connection; `sslmode=verify-full` refuses a server whose
/// certificate no trusted authority signed (the test server's is
/// self-signed), saying so.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn postgres_connections_can_require_tls() {
    let db = TestDb::postgres().await;
    let name = db.url.rsplit_once('/').unwrap().1.to_owned();
    let store = handoff::store::Store::connect(
        &format!("{}?sslmode=require", db.url),
        &handoff::store::StoreOptions::default(),
    )
    .await
    .unwrap();
    store.count(handoff::model::Table::Leads).await.unwrap();
    let counts = db
        .counts(&format!(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s USING (pid) \
             WHERE a.datname = '{name}' AND a.pid <> pg_backend_pid() AND a.application_name = ''"
        ))
        .await;
    let (ours, encrypted) = (counts[0][0].unwrap(), counts[0][1].unwrap());
    assert!(ours >= 1);
    assert_eq!(
        encrypted, ours,
        "every connection of the store is encrypted"
    );
    store.close().await;

    let out = handoff()
        .args([
            "--database",
            &format!("{}?sslmode=verify-full", db.url),
            "--rules",
            RULES_DIR,
            "eval",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot connect to PostgreSQL database"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
