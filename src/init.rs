//! `handoff init`: a starter rule set where the rules are read.
//!
//! The starter is the rule set this repository ships in `rules/`: the demo
//! company's SLA, every objective kind with the reasons for its defaults in
//! comments, the tests that pin its behaviour, the field reference and the
//! JSON Schemas editors complete from. It is compiled into the binary, so an
//! installed `handoff` can start a rule set anywhere; `handoff demo` then has
//! rules to evaluate, and the user edits teams, targets and schedules to
//! theirs.

use std::path::{Path, PathBuf};

use crate::shell_word;

/// The schema reference of the shipped test files, which point into the
/// repository's `docs/`; a starter's test files use the copy beside them.
const TESTS_SCHEMA_IN_REPO: &str = "$schema=../../docs/tests.schema.json";
const TESTS_SCHEMA_BESIDE: &str = "$schema=schema.json";

/// The files written, relative to the rules directory, with their text.
pub const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../rules/README.md")),
    ("acme.yaml", include_str!("../rules/acme.yaml")),
    ("schema.json", include_str!("../rules/schema.json")),
    ("tests/acme.yaml", include_str!("../rules/tests/acme.yaml")),
    (
        "tests/escalation.yaml",
        include_str!("../rules/tests/escalation.yaml"),
    ),
    (
        "tests/leads.yaml",
        include_str!("../rules/tests/leads.yaml"),
    ),
    (
        "tests/rules/speed-no-data-alerts.yaml",
        include_str!("../rules/tests/rules/speed-no-data-alerts.yaml"),
    ),
    (
        "tests/rules/speed-target-50.yaml",
        include_str!("../rules/tests/rules/speed-target-50.yaml"),
    ),
    (
        "tests/schema.json",
        include_str!("../docs/tests.schema.json"),
    ),
];

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory exists and holds something: a starter beside other rule
    /// files would be one rule set with both.
    #[error(
        "{} already holds {}: `handoff init` starts a rule set only in a new or empty directory (give another one: `handoff init my-rules`)",
        dir.display(),
        held.join(", ")
    )]
    NotEmpty { dir: PathBuf, held: Vec<String> },
    /// A directory or file could not be made.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes the starter rule set into `dir` (made if missing), which must be
/// new or empty (but for hidden entries such as `.git`). Returns the files
/// written, in [`FILES`] order.
///
/// # Errors
///
/// [`InitError::NotEmpty`] before anything is written; [`InitError::Io`] when
/// the file system refuses (what was written before stays).
pub fn write(dir: &Path) -> Result<Vec<PathBuf>, InitError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| InitError::Io { path, source }
    };
    match std::fs::read_dir(dir) {
        // Hidden entries (`.git`) are no rules: the loader skips them too.
        Ok(_) => {
            let held = visible_entries(dir);
            if !held.is_empty() {
                return Err(InitError::NotEmpty {
                    dir: dir.to_owned(),
                    held,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    let mut written = Vec::with_capacity(FILES.len());
    for (name, text) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let text = if name.starts_with("tests/") {
            text.replacen(TESTS_SCHEMA_IN_REPO, TESTS_SCHEMA_BESIDE, 1)
        } else {
            (*text).to_owned()
        };
        std::fs::write(&path, text).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// What to run next, one `(command, what it does)` a line, every command as
/// it works when typed: `rules` is the rules directory written, named with
/// `--rules` when it is not the one in force (`in_force`: --rules,
/// HANDOFF_RULES or the default).
pub fn next_steps(rules: &Path, in_force: &Path) -> Vec<(String, &'static str)> {
    let handoff = if rules == in_force {
        "handoff".to_owned()
    } else {
        format!(
            "handoff --rules {}",
            shell_word(&rules.display().to_string())
        )
    };
    [
        ("check", "validate the rules and their tests"),
        ("test", "run the rule tests (tests/) on a simulated clock"),
        (
            "demo --build-only",
            "build the demo company (handoff.db) the starter rules describe",
        ),
        ("eval", "measure every promise once, as of now"),
        (
            "run",
            "the daemon: schedules, alerts, mail into ./outbox, a status page",
        ),
    ]
    .into_iter()
    .map(|(verb, what)| (format!("{handoff} {verb}"), what))
    .collect()
}

/// Whether `path` holds no rules at all: it does not exist, or it is a
/// directory (readable) without a rule file, as the rule loader walks it. An
/// unreadable path is not "no rules": its error says why.
pub fn has_no_rules(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(m) if m.is_dir() => {
            std::fs::read_dir(path).is_ok() && !crate::rules::holds_rule_files(path)
        }
        Ok(_) => false,
    }
}

/// A line for a verb that found no rules at `path`: where it looked and, when
/// `handoff init` could write there (the path is missing or an empty
/// directory), that command. `None` when `path` holds rule files or cannot be
/// read (their errors say the rest). `default` is the `--rules` default.
pub fn no_rules_hint(path: &Path, default: &Path) -> Option<String> {
    if !has_no_rules(path) {
        return None;
    }
    let shown = path.display().to_string();
    let looked = if path.is_relative() {
        match std::env::current_dir() {
            Ok(cwd) => format!("{shown} (in {})", cwd.display()),
            Err(_) => shown,
        }
    } else {
        shown
    };
    let mut hint =
        format!("hint: handoff reads its rules from {looked}, set by --rules or HANDOFF_RULES.");
    if visible_entries(path).is_empty() {
        let init = if path == default {
            "handoff init".to_owned()
        } else {
            format!("handoff init {}", shell_word(&path.display().to_string()))
        };
        hint.push_str(&format!(
            " `{init}` writes a starter rule set there (the demo company's SLA, commented, with its tests)."
        ));
    }
    Some(hint)
}

/// The names in `dir` that do not start with `.`, sorted; none when `dir`
/// cannot be read (or does not exist).
fn visible_entries(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under the repository's `rules/` is in the starter, and
    /// nothing else but the tests' schema: a file added there is not
    /// forgotten here.
    #[test]
    fn the_starter_is_the_shipped_rules_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut found = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path.strip_prefix(&root).unwrap();
                    found.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        found.push("tests/schema.json".to_owned());
        found.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, found);
        for (name, text) in FILES {
            if name.starts_with("tests/")
                && !name.starts_with("tests/rules/")
                && name.ends_with(".yaml")
            {
                assert!(text.contains(TESTS_SCHEMA_IN_REPO), "{name}");
            }
        }
    }
}
