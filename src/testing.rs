//! `handoff test`: rule unit tests (docs/TESTS.md) run through the daemon's
//! own engine on a simulated clock.
//!
//! Each test gets a fresh SQLite database in a temporary directory, loads its
//! rows (or a folder of canonical CSVs), and steps through its instants with
//! [`Replay`]: the changes due are applied (rows upserted, or another rule set
//! loaded as a reload), every objective is evaluated, the engine decides, and
//! grouping runs on the simulated clock. Expectations of status, value and
//! alert are checked at their instant; the mail expected at an instant is the
//! mail caused by the evaluation at that instant, whenever grouping sent it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::daemon::replay::{Pace, Replay, notices};
use crate::daemon::{Change, Grouping, State};
use crate::rules::RuleSet;
use crate::ruletest::{AlertExpect, Expect, TestCase, TestFile};
use crate::store::{Store, StoreOptions};

/// What one test found.
#[derive(Debug)]
pub struct CaseReport {
    pub name: String,
    pub line: u32,
    /// `file:line: what was expected, what was found`, one per failed
    /// expectation; empty when the test passed.
    pub failures: Vec<String>,
}

/// What one file's tests found.
#[derive(Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub cases: Vec<CaseReport>,
}

impl FileReport {
    /// Whether every test of the file passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.failures.is_empty())
    }
}

impl std::fmt::Display for FileReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failed = self.cases.iter().filter(|c| !c.failures.is_empty()).count();
        writeln!(
            f,
            "{}: {} tests, {} passed, {failed} failed",
            self.path.display(),
            self.cases.len(),
            self.cases.len() - failed
        )?;
        for c in &self.cases {
            if c.failures.is_empty() {
                writeln!(f, "  ok    {}", c.name)?;
            } else {
                writeln!(f, "  FAIL  {} ({}:{})", c.name, self.path.display(), c.line)?;
                for failure in &c.failures {
                    writeln!(f, "        {failure}")?;
                }
            }
        }
        Ok(())
    }
}

/// Runs every test of `file`. Rules come from the file's `rules:`, else from
/// `default_rules`.
///
/// # Errors
///
/// The rules do not load, or a test's database or data could not be set up
/// (a failed expectation is not an error: it is in the report).
pub async fn run_file(file: &TestFile, default_rules: &Path) -> anyhow::Result<FileReport> {
    let rules_path = file
        .rules
        .clone()
        .unwrap_or_else(|| default_rules.to_owned());
    let rules = load_rules(&rules_path)?;
    let mut cases = Vec::new();
    for case in &file.tests {
        let failures = run_case(file, case, rules.clone()).await?;
        cases.push(CaseReport {
            name: case.name.clone(),
            line: case.line,
            failures,
        });
    }
    Ok(FileReport {
        path: file.path.clone(),
        cases,
    })
}

fn load_rules(path: &Path) -> anyhow::Result<Arc<RuleSet>> {
    crate::rules::load_dir(path).map(Arc::new).map_err(|e| {
        anyhow::anyhow!(
            "{e}the rules at {} are not valid: {}",
            path.display(),
            e.summary()
        )
    })
}

async fn run_case(
    file: &TestFile,
    case: &TestCase,
    rules: Arc<RuleSet>,
) -> anyhow::Result<Vec<String>> {
    let dir = TempDir::new()?;
    let url = format!("sqlite://{}", dir.0.join("test.db").display());
    let store = Store::connect(&url, &StoreOptions::default()).await?;
    store.migrate().await?;
    crate::ruletest::load_data(&store, &case.data)
        .await
        .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.path.display(), case.line))?;
    let Some(&first) = case.instants.first() else {
        store.close().await;
        return Ok(Vec::new());
    };
    let grouping = Grouping {
        group_wait: file.grouping.group_wait,
        group_interval: file.grouping.group_interval,
    };
    let mail = notices(grouping).map_err(|e| anyhow::anyhow!(e))?;
    let mut replay = Replay::new(
        rules,
        Some(mail),
        "the test's database".to_owned(),
        first,
        Pace::Every,
    );
    replay.leads = true;
    let mut failures = Vec::new();
    let mut changes = case.changes.iter().peekable();
    for &at in &case.instants {
        while let Some(change) = changes.next_if(|c| c.at <= at) {
            // What the clock passes before the change sees the data before it.
            replay.advance(&store, change.at).await;
            crate::ruletest::load_rows(&store, &change.rows)
                .await
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.path.display(), change.line))?;
            if let Some(path) = &change.rules {
                replay.reload(&store, load_rules(path)?, change.at).await;
            }
        }
        replay.step(&store, at).await;
        for e in case.expect.iter().filter(|e| e.at == at) {
            check_state(&replay, file, e, &mut failures);
        }
    }
    // Mail that grouping sends after the last instant still counts.
    let last = *case.instants.last().unwrap_or(&first);
    replay.advance(&store, last + TimeDelta::days(2)).await;
    for e in &case.expect {
        let previous = case.instants.iter().rev().find(|t| **t < e.at).copied();
        check_mail(&replay, file, e, previous, &mut failures);
    }
    store.close().await;
    Ok(failures)
}

fn place(file: &TestFile, e: &Expect) -> String {
    let group = if e.group == "all" {
        String::new()
    } else {
        format!(" ({})", e.group)
    };
    format!(
        "{}:{}: at {}, {}{group}",
        file.path.display(),
        e.line,
        ts(e.at),
        e.objective
    )
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn check_state(replay: &Replay, file: &TestFile, e: &Expect, failures: &mut Vec<String>) {
    let point = replay
        .points
        .get(&(e.objective.clone(), e.group.clone()))
        .and_then(|ps| ps.iter().rev().find(|p| p.at == e.at));
    let needs_point = e.status.is_some() || e.value.is_some();
    let Some(p) = point else {
        if needs_point || e.alert.is_some_and(|a| a != AlertExpect::Inactive) {
            let groups: Vec<&str> = replay
                .points
                .keys()
                .filter(|(o, _)| o == &e.objective)
                .map(|(_, g)| g.as_str())
                .collect();
            let known = if groups.is_empty() {
                "it was not evaluated (is the objective in the rules?)".to_owned()
            } else {
                format!("its groups were {}", groups.join(", "))
            };
            failures.push(format!(
                "{}: no result for this group at this instant; {known}",
                place(file, e)
            ));
        }
        return;
    };
    if let Some(want) = e.status
        && p.status != want
    {
        failures.push(format!(
            "{}: status: expected {}, got {} (value {})",
            place(file, e),
            want.as_str(),
            p.status.as_str(),
            p.value.map_or("none".to_owned(), |v| v.to_string())
        ));
    }
    if let Some(want) = e.value {
        match p.value {
            Some(got) if e.value_matches(got) => {}
            got => failures.push(format!(
                "{}: value: expected {want}{}, got {}",
                place(file, e),
                e.tolerance.map_or(String::new(), |t| format!(" ± {t}")),
                got.map_or("none".to_owned(), |v| v.to_string())
            )),
        }
    }
    if let Some(want) = e.alert {
        let resolved_now = replay.transitions.iter().any(|(t, l)| {
            *t == e.at
                && l.objective == e.objective
                && l.group == e.group
                && l.transition.to == Change::Resolved
        });
        let got = if resolved_now {
            AlertExpect::Resolved
        } else {
            match p.alert {
                State::Inactive => AlertExpect::Inactive,
                State::Pending => AlertExpect::Pending,
                State::Firing => AlertExpect::Firing,
            }
        };
        if got != want {
            failures.push(format!(
                "{}: alert: expected {want}, got {got}",
                place(file, e)
            ));
        }
    }
}

fn check_mail(
    replay: &Replay,
    file: &TestFile,
    e: &Expect,
    previous: Option<DateTime<Utc>>,
    failures: &mut Vec<String>,
) {
    let lead =
        |d: &&crate::daemon::engine::Decided| d.row.kind == crate::daemon::leads::OUTBOX_KIND;
    if let Some(want) = &e.mail {
        let got = replay
            .notices
            .iter()
            .filter(|d| {
                !lead(d)
                    && d.caused_at == e.at
                    && d.row.objective == e.objective
                    && (d.row.group == e.group || d.row.group.is_empty())
            })
            .map(|d| &d.row)
            .collect();
        check_list(
            "mail",
            "no mail caused by this evaluation",
            want,
            got,
            file,
            e,
            failures,
        );
    }
    if let Some(want) = &e.lead_mail {
        let got = replay
            .notices
            .iter()
            .filter(|d| {
                lead(d)
                    && d.row.objective == e.objective
                    && d.row.created_at <= e.at
                    && previous.is_none_or(|p| d.row.created_at > p)
            })
            .map(|d| &d.row)
            .collect();
        let none = "no lead notice since the test's previous instant";
        check_list("lead_mail", none, want, got, file, e, failures);
    }
}

/// Matches the mails expected against those found; a failure lists both.
fn check_list(
    what: &str,
    none: &str,
    want: &[crate::ruletest::MailExpect],
    got: Vec<&crate::store::OutboxRow>,
    file: &TestFile,
    e: &Expect,
    failures: &mut Vec<String>,
) {
    let mut unmatched: Vec<&crate::store::OutboxRow> = got.clone();
    let mut missing = Vec::new();
    for m in want {
        match unmatched
            .iter()
            .position(|r| m.matches(&[r.receiver.as_str()], &r.subject))
        {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(m),
        }
    }
    if missing.is_empty() && unmatched.is_empty() {
        return;
    }
    let mut text = format!("{}: {what}:", place(file, e));
    for m in &missing {
        let _ = write!(
            text,
            "\n          expected (line {}): to {}, subject {}",
            m.line,
            m.to.as_deref().unwrap_or("anyone"),
            m.subject
                .as_deref()
                .map(|s| format!("{s:?}"))
                .or_else(|| m
                    .subject_contains
                    .as_deref()
                    .map(|s| format!("containing {s:?}")))
                .unwrap_or_else(|| "any".to_owned())
        );
    }
    if got.is_empty() {
        let _ = write!(text, "\n          got: {none}");
    } else {
        for r in &got {
            let _ = write!(
                text,
                "\n          got{}: to {}, subject {:?} (sent {})",
                if unmatched.iter().any(|u| std::ptr::eq(*u, *r)) {
                    " (not expected)"
                } else {
                    ""
                },
                r.receiver,
                r.subject,
                ts(r.created_at)
            );
        }
    }
    failures.push(text);
}

/// A directory of its own under the system's temporary directory, removed
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("handoff-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
