//! The `handoff` binary as a user runs it.

use std::process::Command;

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
