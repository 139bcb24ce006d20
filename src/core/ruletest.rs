//! Rule unit tests (docs/TESTS.md): the files that say, for given lead data and
//! given instants, what the SLA must find: an objective's status and value, its
//! alert's state, the mail it sends.
//!
//! ```text
//! *.yaml ─► yaml::parse ─► Node tree ─► RawFile ─► Checker ─► TestFile
//!              (syntax)      (located)    (shape)   (meaning)
//! ```
//!
//! Test files are read with the located YAML layer of the rule files
//! ([`crate::rules`]), so their errors read the same way: `file:line:column`,
//! the line, a caret, a hint, every error of every file at once. Rows written
//! in a test file are checked as `handoff import` checks a CSV field when the
//! file is loaded, and their references when they are stored ([`load_rows`]).
//!
//! This module knows the format only; running the tests against the alert
//! engine is done on top of these types.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::eval::Status;
use crate::import::{self, ImportError};
use crate::model::{self, ColumnType, Deal, Lead, OwnedValue, Rep, Table, Touch, Values};
use crate::progress::Progress;
use crate::rules::problem::Problem;
use crate::rules::raw::{DurationText, EmailText, NameText, Text, TextKind};
use crate::rules::yaml::{self, DeError, Isolated, Loc, Sp, Value};
use crate::rules::{self, Duration, LoadError, LoadErrors, hints, values};
use crate::store::{Store, StoreError, Tx, UpsertColumns};

/// The most instants one test may evaluate at (a week at one a minute is 10,081).
pub const MAX_INSTANTS: usize = 100_000;

// ---------------------------------------------------------------------------
// The format, checked.

/// One test file: the rules it tests, how mail is grouped, and its tests.
#[derive(Clone, Debug, PartialEq)]
pub struct TestFile {
    /// The file, as it was given.
    pub path: PathBuf,
    /// `rules:`, a rule file or directory, resolved against the test file's
    /// folder. `None`: the rules directory given to the command (`--rules`).
    pub rules: Option<PathBuf>,
    /// How alert mail is grouped in time, as `handoff run --group-wait
    /// --group-interval` does.
    pub grouping: Grouping,
    /// The tests, in file order.
    pub tests: Vec<TestCase>,
}

/// How long mail to one receiver waits (docs/MAIL.md): `grouping:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// Before the first mail to a quiet receiver. Default 30s.
    pub group_wait: TimeDelta,
    /// Between one mail round to a receiver and the next. Default 5m; never 0.
    pub group_interval: TimeDelta,
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping {
            group_wait: TimeDelta::seconds(30),
            group_interval: TimeDelta::minutes(5),
        }
    }
}

/// One test: data, the instants to evaluate at, changes on the way, and what
/// must be found.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    /// What the test shows, in words; unique in its file.
    pub name: String,
    /// The line the test starts on.
    pub line: u32,
    /// The lead data at the start.
    pub data: Data,
    /// When to evaluate: sorted, without repeats (a range `from`–`to` includes
    /// both ends when `every` lands on `to`).
    pub instants: Vec<DateTime<Utc>>,
    /// Changes to the data or the rules, sorted by time; none is later than the
    /// last instant.
    pub changes: Vec<Change>,
    /// What must be found, in file order; each `at` is one of `instants`.
    pub expect: Vec<Expect>,
}

/// The lead data a test starts from.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `rows:` written in the test file (no `rows` and no `data`: no rows).
    Rows(Rows),
    /// `data:` a folder of canonical CSV files (`reps.csv`, `leads.csv`,
    /// `touches.csv`, `deals.csv`), resolved against the test file's folder;
    /// stored as `handoff import` stores it.
    Dir(PathBuf),
}

/// Rows of the four canonical tables, as a test file writes them.
///
/// A row gives some of its table's columns: the columns it leaves out keep
/// their value on a row that exists already (a change that updates a lead), and
/// are empty on a new one, as in a CSV file without those columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub reps: Vec<Rep>,
    pub leads: Vec<Lead>,
    pub touches: Vec<Touch>,
    pub deals: Vec<Deal>,
    /// Where the rows were written and which columns each gives. `None` for
    /// rows made in code: they are written whole, and errors about them name
    /// no place in a file.
    pub source: Option<Arc<RowSource>>,
}

impl Rows {
    /// How many rows there are, in all tables.
    pub fn len(&self) -> usize {
        self.reps.len() + self.leads.len() + self.touches.len() + self.deals.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where rows were written in a test file.
#[derive(Clone, Debug, PartialEq)]
pub struct RowSource {
    /// The test file, as it was given.
    pub file: PathBuf,
    /// Its text, for the line an error shows.
    pub text: Arc<str>,
    /// Per table, in [`Table::ALL`] order, one entry per row in the row's
    /// order: `tables[1][i]` is about `leads[i]`.
    pub tables: [Vec<RowAt>; 4],
}

/// Where one row is written, and the columns it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowAt {
    /// Where the row's mapping starts.
    pub at: Span,
    /// The columns the row gives, as indexes into [`Table::columns`] in
    /// ascending order, each with where its value is written.
    pub cells: Vec<(usize, Span)>,
}

/// A place in a file: 1-based line and column (in characters) and how many
/// characters the thing there spans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub width: u32,
}

impl From<Loc> for Span {
    fn from(loc: Loc) -> Span {
        Span {
            line: loc.line,
            column: loc.column,
            width: loc.len,
        }
    }
}

/// A change during a test: from `at` on, these rows are in the store too (and
/// rows of the same id are updated), and the rules are those of `rules`.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// From when: evaluations at this instant or later see the change.
    pub at: DateTime<Utc>,
    /// The line the change is written on.
    pub line: u32,
    /// The rows it adds or updates (maybe none).
    pub rows: Rows,
    /// From `at` on, evaluate with this rule file or directory instead
    /// (resolved against the test file's folder), as a reload would.
    pub rules: Option<PathBuf>,
}

/// What one objective must show at one instant. Each field that is `None` is
/// not checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// The instant: one of the test's instants.
    pub at: DateTime<Utc>,
    /// The line of the expectation (its list item).
    pub line: u32,
    /// The objective's name.
    pub objective: String,
    /// The group (`webinar` with `by: channel`); `all` when the objective is
    /// not split, the default.
    pub group: String,
    /// The status the evaluation finds.
    pub status: Option<Status>,
    /// The measured value.
    pub value: Option<f64>,
    /// How far the value may be from `value` (absolute); `None`: exactly.
    pub tolerance: Option<f64>,
    /// The state of the objective's alert for the group.
    pub alert: Option<AlertExpect>,
    /// The mail sent about the objective and group at this instant; `Some(vec![])`: none.
    pub mail: Option<Vec<MailExpect>>,
    /// The lead notices (docs/LEADS.md) of the objective decided after the
    /// test's previous instant, up to and at this one; `Some(vec![])`: none.
    pub lead_mail: Option<Vec<MailExpect>>,
}

impl Expect {
    /// Whether `found` is the expected value: within the tolerance, or exactly
    /// without one. `true` when no value is expected.
    pub fn value_matches(&self, found: f64) -> bool {
        match (self.value, self.tolerance) {
            (None, _) => true,
            (Some(v), None) => v == found,
            (Some(v), Some(t)) => (v - found).abs() <= t,
        }
    }
}

/// The state of an objective's alert for a group (docs/MAIL.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertExpect {
    /// Nothing wrong, and nothing was.
    Inactive,
    /// Wrong, for less than the alert's `for`.
    Pending,
    /// Wrong for at least `for` (or still within `keep_firing_for`).
    Firing,
    /// Was firing, is no more.
    Resolved,
}

impl AlertExpect {
    /// Every state.
    pub const ALL: [AlertExpect; 4] = [
        AlertExpect::Inactive,
        AlertExpect::Pending,
        AlertExpect::Firing,
        AlertExpect::Resolved,
    ];

    /// The name a test file writes (`firing`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertExpect::Inactive => "inactive",
            AlertExpect::Pending => "pending",
            AlertExpect::Firing => "firing",
            AlertExpect::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertExpect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One mail that must be sent. Fields that are `None` match any mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailExpect {
    /// The line of the item.
    pub line: u32,
    /// An address the mail is sent to.
    pub to: Option<String>,
    /// The whole subject, exactly.
    pub subject: Option<String>,
    /// Text the subject contains.
    pub subject_contains: Option<String>,
}

impl MailExpect {
    /// Whether a mail to `to` with `subject` is this one.
    pub fn matches(&self, to: &[&str], subject: &str) -> bool {
        self.to.as_deref().is_none_or(|t| to.contains(&t))
            && self.subject.as_deref().is_none_or(|s| s == subject)
            && self
                .subject_contains
                .as_deref()
                .is_none_or(|s| subject.contains(s))
    }
}

// ---------------------------------------------------------------------------
// Loading.

/// Loads one test file.
///
/// # Errors
///
/// Every problem in the file, located (`file:line:column`) and explained: the
/// YAML, unknown or misspelled fields, timestamps, durations, statuses, rows
/// (as `handoff import` checks a field), paths that do not exist, expectations
/// at instants the test does not evaluate at.
pub fn load_file(path: &Path) -> Result<TestFile, LoadErrors> {
    let text = rules::read(path).map_err(|e| LoadErrors::new(vec![*e]))?;
    load_str(path, &text)
}

/// Loads a test file given as text. `path` is where it is taken to be: errors
/// name it, and the paths it holds are read from its folder.
///
/// # Errors
///
/// As [`load_file`].
pub fn load_str(path: &Path, text: &str) -> Result<TestFile, LoadErrors> {
    let mut c = Checker {
        path,
        dir: path.parent().map(Path::to_owned).unwrap_or_default(),
        text,
        shared: Arc::from(text),
        errors: Vec::new(),
        dropped: BTreeSet::new(),
    };
    let file = c.file();
    match file {
        Some(f) if c.errors.is_empty() => Ok(f),
        _ => {
            if c.errors.is_empty() {
                c.error(Loc::TOP, "this test file could not be read");
            }
            c.errors.sort_by_key(|e| (e.line, e.column));
            c.errors.dedup_by(|a, b| {
                a.line == b.line && a.column == b.column && a.message == b.message
            });
            Err(LoadErrors::new(c.errors))
        }
    }
}

/// Loads the test files at `paths`: each file given, and every `*.yaml` and
/// `*.yml` file below each directory given (recursively, in name order,
/// skipping names that start with `.`).
///
/// Returns the files that loaded, and the errors of those that did not
/// (`None` when there are none). A directory without test files adds no file
/// and no error.
pub fn load_paths(paths: &[PathBuf]) -> (Vec<TestFile>, Option<LoadErrors>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut files, &mut errors),
            Ok(_) => files.push(path.clone()),
            Err(e) => errors.push(LoadError::file(
                path,
                format!("cannot read: {}", rules::io_reason(&e)),
            )),
        }
    }
    let mut loaded = Vec::new();
    for f in files {
        match load_file(&f) {
            Ok(t) => loaded.push(t),
            Err(e) => errors.extend(e.errors().iter().cloned()),
        }
    }
    let errors = (!errors.is_empty()).then(|| LoadErrors::new(errors));
    (loaded, errors)
}

/// `3 tests in 2 files are valid`.
pub fn summary(files: &[TestFile]) -> String {
    let tests: usize = files.iter().map(|f| f.tests.len()).sum();
    let verb = if tests == 1 { "is" } else { "are" };
    format!(
        "{} in {} {verb} valid",
        rules::plural(tests, "test"),
        rules::plural(files.len(), "test file")
    )
}

/// Whether `path` holds rule tests rather than rules, for `handoff check
/// PATH`: a directory named `tests`; a file whose top level has `tests:`; or,
/// when its top level says neither `tests:` nor `version:` (it is broken), a
/// file in a directory named `tests`.
pub fn is_test_path(path: &Path) -> bool {
    let named_tests = |p: &Path| p.file_name().is_some_and(|n| n == rules::TESTS_DIR);
    if path.is_dir() {
        return named_tests(path);
    }
    let in_tests = path.parent().is_some_and(named_tests);
    let Ok(text) = std::fs::read_to_string(path) else {
        return in_tests;
    };
    match yaml::parse(text.trim_start_matches('\u{feff}')) {
        Ok(tree) if tree.get("tests").is_some() => true,
        Ok(tree) if tree.get("version").is_some() => false,
        _ => in_tests,
    }
}

/// The directory, anywhere below a tests directory, that holds rule files
/// tests load (a changed SLA), skipped when looking for tests.
pub const RULES_DIR: &str = "rules";

/// Collects the test files under `dir`, leaving out the `rules/` folders
/// that hold the rule sets tests switch to (`changes: … rules:`).
fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    let skip = |name: &str, _depth: usize| name == RULES_DIR;
    rules::walk_yaml(dir, 0, &skip, errors, &mut |path, _| out.push(path));
}

// ---------------------------------------------------------------------------
// Storing rows.

/// Why a test's data could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Rows that name a row that does not exist, located in the test file.
    #[error("{0}")]
    Rows(LoadErrors),
    /// The data folder was not imported; the import's report says why.
    #[error("{dir} was not imported:\n{report}")]
    Import { dir: PathBuf, report: String },
    #[error(transparent)]
    ImportFailed(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores a test's data: its rows, or its folder of CSV files (as `handoff
/// import` does, whole or not at all).
///
/// # Errors
///
/// As [`load_rows`]; for a folder, a file the import rejects.
pub async fn load_data(store: &Store, data: &Data) -> Result<(), DataError> {
    match data {
        Data::Rows(rows) => load_rows(store, rows).await,
        Data::Dir(dir) => {
            let report = import::import_dir(store, dir, &Progress::hidden()).await?;
            if report.is_success() {
                Ok(())
            } else {
                Err(DataError::Import {
                    dir: dir.clone(),
                    report: report.to_string(),
                })
            }
        }
    }
}

/// Upserts `rows` in one transaction, in reference order (reps, leads,
/// touches, deals), each row writing the columns it gives (see [`Rows`]).
///
/// Every reference (`owner_id`, `lead_id`, `rep_id`) must name a row in the
/// store or among `rows`, as `handoff import` requires; otherwise nothing is
/// written and each bad reference is reported where it is written.
///
/// # Errors
///
/// [`DataError::Rows`] for references to no row; [`DataError::Store`] when the
/// database fails.
pub async fn load_rows(store: &Store, rows: &Rows) -> Result<(), DataError> {
    let mut db = store.begin().await?;
    let mut errors = Vec::new();
    let source = rows.source.as_deref();
    write(&mut db, &rows.reps, source, &mut errors).await?;
    write(&mut db, &rows.leads, source, &mut errors).await?;
    write(&mut db, &rows.touches, source, &mut errors).await?;
    write(&mut db, &rows.deals, source, &mut errors).await?;
    if errors.is_empty() {
        if !rows.is_empty() {
            // As after an import: the store now holds rows the demo did not make.
            db.delete_meta(crate::store::META_DEMO).await?;
        }
        db.commit().await?;
        Ok(())
    } else {
        // The error that matters is the rows'; a failed rollback writes nothing either.
        let _ = db.rollback().await;
        Err(DataError::Rows(LoadErrors::new(errors)))
    }
}

/// Writes the rows of one table, grouped by the columns they give, then checks
/// their references.
async fn write<R: model::Record + Clone + Sync>(
    db: &mut Tx,
    rows: &[R],
    source: Option<&RowSource>,
    errors: &mut Vec<LoadError>,
) -> Result<(), StoreError> {
    let table = R::TABLE;
    let index = Table::ALL.iter().position(|&t| t == table).unwrap_or(0);
    let places = source
        .map(|s| s.tables[index].as_slice())
        .filter(|p| p.len() == rows.len());
    let all: Vec<usize> = (0..table.columns().len()).collect();
    let given = |i: usize| -> Vec<usize> {
        places.map_or_else(
            || all.clone(),
            |p| p[i].cells.iter().map(|(c, _)| *c).collect(),
        )
    };
    let mut groups: Vec<(Vec<usize>, Vec<R>)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let columns = given(i);
        match groups.iter_mut().find(|(c, _)| *c == columns) {
            Some((_, group)) => group.push(row.clone()),
            None => groups.push((columns, vec![row.clone()])),
        }
    }
    for (columns, group) in &groups {
        db.upsert(
            &UpsertColumns::new(table, columns.clone()),
            group.as_slice(),
        )
        .await?;
    }
    for (ci, column) in table.columns().iter().enumerate() {
        let Some(target) = column.references else {
            continue;
        };
        let mut named: Vec<(usize, String)> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if !given(i).contains(&ci) {
                continue;
            }
            if let Some(id) = text_at(row, ci) {
                named.push((i, id));
            }
        }
        if named.is_empty() {
            continue;
        }
        let ids: Vec<&str> = named.iter().map(|(_, id)| id.as_str()).collect();
        let found = db.existing_ids(target, &ids).await?;
        for (i, id) in &named {
            if found.contains(id) {
                continue;
            }
            let what = match target {
                Table::Reps => "rep",
                Table::Leads => "lead",
                other => other.name(),
            };
            let message = format!(
                "unknown {what} `{id}`: no row with this id in {}",
                target.name()
            );
            let help = format!(
                "give the {what} in the test's `rows` (or `data`), or in a change at or before this one"
            );
            let e = match (source, places) {
                (Some(s), Some(p)) => {
                    let span = p[*i]
                        .cells
                        .iter()
                        .find(|(c, _)| *c == ci)
                        .map_or(p[*i].at, |(_, s)| *s);
                    LoadError::at(
                        &s.file,
                        &s.text,
                        span.line,
                        span.column,
                        span.width,
                        message,
                    )
                }
                _ => LoadError::file(Path::new(table.name()), message),
            };
            errors.push(e.with_help(Some(help)));
        }
    }
    Ok(())
}

/// The text of column `ci` of `row`, when it is text and not empty.
fn text_at<R: Values>(row: &R, ci: usize) -> Option<String> {
    let mut i = 0;
    let mut out = None;
    row.visit(&mut |v| {
        if i == ci
            && let model::Value::Text(Some(s)) = v
        {
            out = Some(s.to_owned());
        }
        i += 1;
    });
    out
}

// ---------------------------------------------------------------------------
// The JSON Schema.

/// The JSON Schema (draft 2020-12) of test files, as `handoff schema --tests`
/// prints it. Editors with the YAML language server use it from the modeline
/// `# yaml-language-server: $schema=…` at the top of a test file.
///
/// It checks shape; loading also checks meaning (timestamps, durations, that
/// paths exist, that each expectation's `at` is one of the test's instants).
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut root = generator.into_root_schema_for::<RawFile>().to_value();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("title".into(), "handoff rule test file".into());
    }
    root
}

// ---------------------------------------------------------------------------
// Checking.

struct Checker<'a> {
    /// The file, as given.
    path: &'a Path,
    /// Its folder: relative paths are read from here.
    dir: PathBuf,
    text: &'a str,
    /// The same text, shared by the rows' sources.
    shared: Arc<str>,
    errors: Vec<LoadError>,
    /// Keys dropped by recovery (already reported), by their mapping's location.
    dropped: BTreeSet<(Loc, String)>,
}

/// Paths in a test file, and what they must be.
#[derive(Clone, Copy)]
enum PathIs {
    /// A rule file or a directory of them.
    Rules,
    /// A folder of canonical CSV files.
    Data,
}

impl Checker<'_> {
    fn error(&mut self, loc: Loc, message: impl Into<String>) {
        self.help(loc, message, None);
    }

    fn help(&mut self, loc: Loc, message: impl Into<String>, help: Option<String>) {
        let loc = if loc.is_known() { loc } else { Loc::TOP };
        self.errors.push(
            LoadError::at(
                self.path,
                self.text,
                loc.line,
                loc.column,
                loc.len.max(1),
                message.into(),
            )
            .with_help(help),
        );
    }

    /// A problem with a text value, pointing inside it when the problem names a part.
    fn problem(&mut self, loc: Loc, text: &str, p: Problem) {
        let loc = match p.part {
            Some((offset, len)) => rules::validate::part_loc(loc, text, offset, len),
            None => loc,
        };
        self.help(loc, p.message, p.help);
    }

    /// A missing field, unless recovery dropped a key for it (already reported).
    fn missing(&mut self, map: Loc, field: &str, help: &str) {
        if !self.dropped.contains(&(map, field.to_owned())) {
            self.help(
                map,
                format!("missing field `{field}`"),
                Some(help.to_owned()),
            );
        }
    }

    fn file(&mut self) -> Option<TestFile> {
        let tree = match yaml::parse(self.text) {
            Ok(tree) => tree,
            Err(e) => {
                self.error(e.loc, e.message);
                return None;
            }
        };
        if matches!(tree.value, Value::Null) {
            self.help(
                Loc::TOP,
                "empty test file",
                Some("a test file lists its tests under `tests:` (docs/TESTS.md)".to_owned()),
            );
            return None;
        }
        if tree.get("tests").is_none()
            && let Some((key, _)) = tree.entry("version")
        {
            self.help(
                key.loc,
                "this is a rule file, not a test file",
                Some(format!(
                    "test files list `tests:` (docs/TESTS.md); rule files that tests use \
                     belong outside the `{}` folder",
                    rules::TESTS_DIR
                )),
            );
            return None;
        }
        let recovered = yaml::from_node_recovering::<RawFile>(tree);
        for e in recovered.errors {
            self.de_error(e);
        }
        self.dropped = recovered.dropped;
        let tree = recovered.tree;
        let raw = recovered.value?;

        let rules = raw
            .rules
            .as_ref()
            .and_then(|r| self.path_value(r, PathIs::Rules));
        let grouping = self.grouping(raw.grouping.as_ref());
        let mut tests = Vec::new();
        match &raw.tests {
            None => self.missing(
                tree.loc,
                "tests",
                "list the tests: `tests: [{ name: …, rows: …, at: …, expect: […] }]`",
            ),
            Some(list) if list.value.is_empty() => {
                self.error(list.loc, "`tests` is empty: give at least one test");
            }
            Some(list) => {
                let mut names: HashMap<String, u32> = HashMap::new();
                for item in &list.value {
                    let Some(raw) = &item.value.0 else { continue };
                    if let Some(name) = &raw.name {
                        let n = name.as_str().trim().to_owned();
                        if let Some(first) = names.get(&n) {
                            self.help(
                                name.loc,
                                format!("two tests are called `{n}`"),
                                Some(format!(
                                    "line {first} has one already; names tell tests apart in reports"
                                )),
                            );
                        } else {
                            names.insert(n, name.loc.line);
                        }
                    }
                    if let Some(t) = self.test(raw, item.loc) {
                        tests.push(t);
                    }
                }
            }
        }
        Some(TestFile {
            path: self.path.to_owned(),
            rules,
            grouping,
            tests,
        })
    }

    fn de_error(&mut self, e: DeError) {
        self.help(e.loc.unwrap_or(Loc::TOP), e.message, e.help);
    }

    fn grouping(&mut self, raw: Option<&Sp<RawGrouping>>) -> Grouping {
        let mut out = Grouping::default();
        let Some(g) = raw else { return out };
        if let Some(wait) = &g.value.group_wait
            && let Some(d) = self.duration(wait)
        {
            out.group_wait = d.to_chrono();
        }
        if let Some(interval) = &g.value.group_interval
            && let Some(d) = self.duration(interval)
        {
            if d == Duration::ZERO {
                self.help(
                    interval.loc,
                    "`group_interval` cannot be 0",
                    Some("mail rounds to a receiver are at least a second apart, e.g. `5m`".into()),
                );
            } else {
                out.group_interval = d.to_chrono();
            }
        }
        out
    }

    fn duration(&mut self, d: &Sp<Text<DurationText>>) -> Option<Duration> {
        match values::duration(d.as_str()) {
            Ok(d) => Some(d),
            Err(p) => {
                self.problem(d.loc, d.as_str(), p);
                None
            }
        }
    }

    fn timestamp(&mut self, t: &Sp<Text<TimestampText>>) -> Option<DateTime<Utc>> {
        self.instant(t.as_str(), t.loc)
    }

    fn instant(&mut self, text: &str, loc: Loc) -> Option<DateTime<Utc>> {
        match import::parse_timestamp(text.trim()) {
            Ok(t) => Some(t),
            Err(why) => {
                self.error(loc, format!("invalid instant `{text}`: {why}"));
                None
            }
        }
    }

    /// A path of the file, resolved against its folder, if it is what it must be.
    fn path_value(&mut self, p: &Sp<Text<PathText>>, is: PathIs) -> Option<PathBuf> {
        let text = p.as_str().trim();
        if text.is_empty() {
            self.error(p.loc, "empty path");
            return None;
        }
        let path = self.dir.join(text);
        let relative = || {
            Some(format!(
                "paths are read from the folder of this file: this one is {}",
                path.display()
            ))
        };
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) => {
                self.help(
                    p.loc,
                    format!("cannot read `{text}`: {}", rules::io_reason(&e)),
                    relative(),
                );
                return None;
            }
        };
        match is {
            PathIs::Rules if !meta.is_file() && !meta.is_dir() => {
                self.error(p.loc, format!("`{text}` is not a file or directory"));
                None
            }
            PathIs::Rules => Some(path),
            PathIs::Data if !meta.is_dir() => {
                self.help(
                    p.loc,
                    format!("`{text}` is not a directory"),
                    Some(
                        "`data` names a folder of canonical CSV files: reps.csv, leads.csv, \
                         touches.csv, deals.csv"
                            .into(),
                    ),
                );
                None
            }
            PathIs::Data => {
                let names: Vec<String> = Table::ALL.iter().map(|&t| import::file_name(t)).collect();
                let any = std::fs::read_dir(&path).is_ok_and(|entries| {
                    entries.flatten().any(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        names.iter().any(|c| c.eq_ignore_ascii_case(&n))
                    })
                });
                if any {
                    Some(path)
                } else {
                    self.help(
                        p.loc,
                        format!("no reps.csv, leads.csv, touches.csv or deals.csv in `{text}`"),
                        relative(),
                    );
                    None
                }
            }
        }
    }

    fn test(&mut self, raw: &RawTest, loc: Loc) -> Option<TestCase> {
        let name = match &raw.name {
            Some(n) if !n.as_str().trim().is_empty() => Some(n.as_str().trim().to_owned()),
            Some(n) => {
                self.error(n.loc, "empty test name");
                None
            }
            None => {
                self.missing(
                    loc,
                    "name",
                    "say what the test shows, e.g. `name: a webinar lead left alone pages sales`",
                );
                None
            }
        };
        let data = match (&raw.rows, &raw.data) {
            (Some(_), Some(d)) => {
                self.help(
                    d.loc,
                    "give `rows` or `data`, not both",
                    Some(
                        "`rows` writes the rows in this file; `data` names a folder of CSV files"
                            .into(),
                    ),
                );
                None
            }
            (Some(rows), None) => self.rows(&rows.value.tables()).map(Data::Rows),
            (None, Some(d)) => self.path_value(d, PathIs::Data).map(Data::Dir),
            (None, None) => Some(Data::Rows(Rows::default())),
        };
        let instants = match &raw.at {
            Some(at) => self.instants(at),
            None => {
                self.missing(
                    loc,
                    "at",
                    "say when to evaluate: a list, `at: [\"2026-11-02T14:00:00Z\"]`, or a range, \
                     `at: { from: \"2026-11-02T14:00:00Z\", to: \"2026-11-02T20:00:00Z\", every: 15m }`",
                );
                None
            }
        };
        let changes = match &raw.changes {
            Some(c) => self.changes(c, instants.as_deref()),
            None => Some(Vec::new()),
        };
        let mut expect = Vec::new();
        let mut expect_ok = true;
        match &raw.expect {
            None => {
                self.missing(
                    loc,
                    "expect",
                    "say what must be found, e.g. `expect: [{ at: \"2026-11-02T18:45:00Z\", \
                     objective: speed-to-lead, status: breached }]`",
                );
                expect_ok = false;
            }
            Some(list) if list.value.is_empty() => {
                self.error(
                    list.loc,
                    "`expect` is empty: a test checks at least one thing",
                );
                expect_ok = false;
            }
            Some(list) => {
                for item in &list.value {
                    let Some(raw) = &item.value.0 else {
                        expect_ok = false;
                        continue;
                    };
                    match self.expect(raw, item.loc, instants.as_deref()) {
                        Some(e) => expect.push(e),
                        None => expect_ok = false,
                    }
                }
            }
        }
        let (name, data, instants, changes) = (name?, data?, instants?, changes?);
        expect_ok.then_some(TestCase {
            name,
            line: loc.line,
            data,
            instants,
            changes,
            expect,
        })
    }

    fn instants(&mut self, at: &Sp<RawAt>) -> Option<Vec<DateTime<Utc>>> {
        match &at.value {
            RawAt::List(items) => {
                if items.is_empty() {
                    self.help(
                        at.loc,
                        "no instants",
                        Some("list at least one, or give a range `{ from, to, every }`".into()),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.timestamp(item));
                }
                let mut out: Vec<DateTime<Utc>> = out.into_iter().collect::<Option<_>>()?;
                out.sort_unstable();
                out.dedup();
                Some(out)
            }
            RawAt::Range(r) => {
                let range_help = "e.g. `at: { from: \"2026-11-02T14:00:00Z\", to: \
                                  \"2026-11-02T20:00:00Z\", every: 15m }`";
                let field = |c: &mut Self, v: &Option<Sp<Text<TimestampText>>>, name| match v {
                    Some(t) => c.timestamp(t),
                    None => {
                        c.missing(at.loc, name, range_help);
                        None
                    }
                };
                let from = field(self, &r.from, "from");
                let to = field(self, &r.to, "to");
                let every = match &r.every {
                    Some(e) => match self.duration(e) {
                        Some(d) if d == Duration::ZERO => {
                            self.error(e.loc, "`every` cannot be 0");
                            None
                        }
                        other => other,
                    },
                    None => {
                        self.missing(at.loc, "every", range_help);
                        None
                    }
                };
                let (from, to, every) = (from?, to?, every?);
                if to < from {
                    let loc = r.to.as_ref().map_or(at.loc, |t| t.loc);
                    self.error(loc, "`to` is before `from`");
                    return None;
                }
                let step = every.to_chrono();
                let count = (to - from).num_seconds() / step.num_seconds().max(1) + 1;
                if count > MAX_INSTANTS as i64 {
                    let loc = r.every.as_ref().map_or(at.loc, |e| e.loc);
                    self.help(
                        loc,
                        format!("{count} instants is too many; a test has at most {MAX_INSTANTS}"),
                        Some("evaluate less often, or over a shorter range".into()),
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
                let mut t = from;
                while t <= to {
                    out.push(t);
                    t += step;
                }
                Some(out)
            }
        }
    }

    fn changes(
        &mut self,
        raw: &Sp<RawChanges>,
        instants: Option<&[DateTime<Utc>]>,
    ) -> Option<Vec<Change>> {
        let mut out: Vec<Change> = Vec::new();
        let mut ok = true;
        let mut seen: HashMap<DateTime<Utc>, u32> = HashMap::new();
        for (key, item) in &raw.value.0 {
            let at = self.instant(&key.value, key.loc);
            let Some(change) = &item.value.0 else {
                ok = false;
                continue;
            };
            if let Some(at) = at {
                if let Some(first) = seen.get(&at) {
                    self.help(
                        key.loc,
                        format!("two changes at {}", show(at)),
                        Some(format!("line {first} has one already; merge them")),
                    );
                    ok = false;
                } else {
                    seen.insert(at, key.loc.line);
                }
                if let Some(&last) = instants.and_then(|i| i.last())
                    && at > last
                {
                    self.help(
                        key.loc,
                        format!(
                            "this change comes after the last instant, {}: no evaluation sees it",
                            show(last)
                        ),
                        None,
                    );
                    ok = false;
                }
            }
            let tables = change.tables();
            if tables.iter().all(Option::is_none) && change.rules.is_none() {
                self.help(
                    item.loc,
                    "this change changes nothing",
                    Some("give rows (`reps`, `leads`, `touches`, `deals`) or `rules`".into()),
                );
                ok = false;
                continue;
            }
            let rows = self.rows(&tables);
            let rules = match &change.rules {
                Some(r) => self.path_value(r, PathIs::Rules).map(Some),
                None => Some(None),
            };
            match (at, rows, rules) {
                (Some(at), Some(rows), Some(rules)) => out.push(Change {
                    at,
                    line: key.loc.line,
                    rows,
                    rules,
                }),
                _ => ok = false,
            }
        }
        out.sort_by_key(|c| c.at);
        ok.then_some(out)
    }

    fn expect(
        &mut self,
        raw: &RawExpect,
        loc: Loc,
        instants: Option<&[DateTime<Utc>]>,
    ) -> Option<Expect> {
        let mut ok = true;
        let at = match &raw.at {
            Some(t) => match (self.timestamp(t), instants) {
                (Some(at), Some(instants)) if instants.binary_search(&at).is_err() => {
                    self.help(
                        t.loc,
                        format!("{} is not an instant of this test", show(at)),
                        Some(not_an_instant(at, instants)),
                    );
                    None
                }
                (at, _) => at,
            },
            None => {
                self.missing(
                    loc,
                    "at",
                    "say when, e.g. `at: \"2026-11-02T18:45:00Z\"`: one of the test's instants",
                );
                None
            }
        };
        let objective = match &raw.objective {
            Some(o) => match values::name(o.as_str(), "objective") {
                Ok(()) => Some(o.as_str().to_owned()),
                Err(p) => {
                    self.problem(o.loc, o.as_str(), p);
                    None
                }
            },
            None => {
                self.missing(
                    loc,
                    "objective",
                    "name the objective, e.g. `objective: speed-to-lead`",
                );
                None
            }
        };
        let group = match &raw.group {
            Some(g) if g.as_str().trim().is_empty() => {
                self.help(
                    g.loc,
                    "empty group",
                    Some("leave `group` out for an objective without `by:`".into()),
                );
                ok = false;
                String::new()
            }
            Some(g) => g.as_str().trim().to_owned(),
            None => "all".to_owned(),
        };
        let value = match &raw.value {
            Some(v) if !v.value.is_finite() => {
                self.error(v.loc, "`value` must be a finite number");
                ok = false;
                None
            }
            Some(v) => Some(v.value),
            None => None,
        };
        let tolerance = match &raw.tolerance {
            Some(t) if raw.value.is_none() => {
                self.help(
                    t.loc,
                    "`tolerance` without `value`",
                    Some("the tolerance is how far the value may be from `value`".into()),
                );
                ok = false;
                None
            }
            Some(t) if !t.value.is_finite() || t.value < 0.0 => {
                self.error(t.loc, "`tolerance` must be a number, 0 or more");
                ok = false;
                None
            }
            Some(t) => Some(t.value),
            None => None,
        };
        let mut mails = |list: &Option<Sp<Vec<Sp<Isolated<RawMail>>>>>| {
            let list = list.as_ref()?;
            let mut out = Vec::new();
            for item in &list.value {
                match item.value.0.as_ref().and_then(|m| self.mail(m, item.loc)) {
                    Some(m) => out.push(m),
                    None => ok = false,
                }
            }
            Some(out)
        };
        let mail = mails(&raw.mail);
        let lead_mail = mails(&raw.lead_mail);
        let status = raw.status.as_ref().map(|s| s.value.status());
        let alert = raw.alert.as_ref().map(|a| a.value.state());
        let checks = ["status", "value", "alert", "mail", "lead_mail"];
        let dropped = checks
            .iter()
            .any(|c| self.dropped.contains(&(loc, (*c).to_owned())));
        if status.is_none()
            && raw.value.is_none()
            && alert.is_none()
            && mail.is_none()
            && lead_mail.is_none()
            && !dropped
        {
            self.help(
                loc,
                "this expectation checks nothing",
                Some("give `status`, `value`, `alert`, `mail` or `lead_mail`".into()),
            );
            ok = false;
        }
        let (at, objective) = (at?, objective?);
        ok.then_some(Expect {
            at,
            line: loc.line,
            objective,
            group,
            status,
            value,
            tolerance,
            alert,
            mail,
            lead_mail,
        })
    }

    fn mail(&mut self, raw: &RawMail, loc: Loc) -> Option<MailExpect> {
        let mut ok = true;
        let to = match &raw.to {
            Some(t) => match values::email(t.as_str().trim()) {
                Ok(()) => Some(t.as_str().trim().to_owned()),
                Err(p) => {
                    self.problem(t.loc, t.as_str(), p);
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let subject = raw.subject.as_ref().map(|s| s.as_str().to_owned());
        let subject_contains = match &raw.subject_contains {
            Some(s) if raw.subject.is_some() => {
                self.help(
                    s.loc,
                    "give `subject` or `subject_contains`, not both",
                    Some("`subject` is the whole subject; `subject_contains` a part of it".into()),
                );
                ok = false;
                None
            }
            Some(s) if s.as_str().is_empty() => {
                self.error(s.loc, "`subject_contains` is empty");
                ok = false;
                None
            }
            Some(s) => Some(s.as_str().to_owned()),
            None => None,
        };
        ok.then_some(MailExpect {
            line: loc.line,
            to,
            subject,
            subject_contains,
        })
    }

    /// Checks the rows of the four tables and makes them model rows.
    fn rows(&mut self, tables: &[Option<RawTable<'_>>; 4]) -> Option<Rows> {
        let mut out = Rows::default();
        let mut places: [Vec<RowAt>; 4] = Default::default();
        let mut ok = true;
        for (t, (table, list)) in Table::ALL.iter().zip(tables).enumerate() {
            let Some(list) = list else { continue };
            let mut ids: HashMap<String, u32> = HashMap::new();
            for (loc, cells) in list {
                let Some((values, at)) = self.row(*table, *loc, cells, &mut ids) else {
                    ok = false;
                    continue;
                };
                match table {
                    Table::Reps => out.reps.push(rep(&values)),
                    Table::Leads => out.leads.push(lead(&values)),
                    Table::Touches => out.touches.push(touch(&values)),
                    Table::Deals => out.deals.push(deal(&values)),
                }
                places[t].push(at);
            }
        }
        out.source = Some(Arc::new(RowSource {
            file: self.path.to_owned(),
            text: Arc::clone(&self.shared),
            tables: places,
        }));
        ok.then_some(out)
    }

    /// Checks one row as import checks a CSV record: each value as its column's
    /// field, every required column given, no id twice.
    fn row(
        &mut self,
        table: Table,
        row_loc: Loc,
        row: &Cells,
        ids: &mut HashMap<String, u32>,
    ) -> Option<(Vec<OwnedValue>, RowAt)> {
        let columns = table.columns();
        let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        let mut values: Vec<OwnedValue> = columns.iter().map(|c| OwnedValue::null(c.ty)).collect();
        let mut cells: Vec<(usize, Span)> = Vec::new();
        let mut mentioned: BTreeSet<usize> = BTreeSet::new();
        let mut ok = true;
        for (key, value) in &row.0 {
            let Some(ci) = table.column(&key.value) else {
                let near = crate::suggest::did_you_mean(&key.value, names.iter().copied());
                match near {
                    Some(near) => {
                        mentioned.extend(table.column(near));
                        self.error(
                            key.loc,
                            format!("unknown column `{}` — did you mean `{near}`?", key.value),
                        );
                    }
                    None => self.help(
                        key.loc,
                        format!("unknown column `{}`", key.value),
                        Some(format!("{} have {}", table.name(), hints::list(&names))),
                    ),
                }
                ok = false;
                continue;
            };
            mentioned.insert(ci);
            let text = value.value.as_ref().map_or("", |c| c.0.as_str());
            let loc = if value.loc.is_known() {
                value.loc
            } else {
                key.loc
            };
            match import::parse_field(&columns[ci], text.as_bytes()) {
                Ok(v) => {
                    values[ci] = v;
                    cells.push((ci, loc.into()));
                }
                Err(message) => {
                    self.error(loc, message);
                    ok = false;
                }
            }
        }
        let missing: Vec<&str> = columns
            .iter()
            .enumerate()
            .filter(|(ci, c)| c.required && !mentioned.contains(ci))
            .map(|(_, c)| c.name)
            .collect();
        for name in &missing {
            let required: Vec<&str> = columns
                .iter()
                .filter(|c| c.required)
                .map(|c| c.name)
                .collect();
            self.help(
                row_loc,
                format!("missing required column `{name}`"),
                Some(format!(
                    "each row of {} gives {}",
                    table.name(),
                    hints::list(&required)
                )),
            );
            ok = false;
        }
        if let Some(id) = values[0].text() {
            let line = row_loc.line;
            if let Some(first) = ids.get(id) {
                let loc = row
                    .0
                    .iter()
                    .find(|(k, _)| k.value == "id")
                    .map_or(
                        row_loc,
                        |(k, v)| if v.loc.is_known() { v.loc } else { k.loc },
                    );
                self.help(
                    loc,
                    format!("duplicate id `{id}`: line {first} has it already"),
                    Some(
                        "a row appears once in a list; a later change may give it again to update it"
                            .into(),
                    ),
                );
                ok = false;
            } else {
                ids.insert(id.to_owned(), line);
            }
        }
        cells.sort_by_key(|(ci, _)| *ci);
        ok.then(|| {
            (
                values,
                RowAt {
                    at: row_loc.into(),
                    cells,
                },
            )
        })
    }
}

/// An instant as RFC 3339 in UTC (`2026-11-02T14:00:00Z`).
fn show(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The help for an expectation at an instant the test does not evaluate at.
fn not_an_instant(at: DateTime<Utc>, instants: &[DateTime<Utc>]) -> String {
    let i = instants.partition_point(|&t| t < at);
    let before = i.checked_sub(1).and_then(|i| instants.get(i));
    let after = instants.get(i);
    let nearest = match (before, after) {
        (Some(b), Some(a)) => format!("the nearest are {} and {}", show(*b), show(*a)),
        (Some(b), None) => format!("the last is {}", show(*b)),
        (None, Some(a)) => format!("the first is {}", show(*a)),
        (None, None) => String::new(),
    };
    let n = instants.len();
    let s = if n == 1 { "" } else { "s" };
    format!(
        "expectations are checked where the test evaluates, at {n} instant{s} (`at:`); {nearest}"
    )
}

fn text(v: &OwnedValue) -> Option<String> {
    v.text().map(str::to_owned)
}

fn time(v: &OwnedValue) -> Option<DateTime<Utc>> {
    match v {
        OwnedValue::Timestamp(t) => *t,
        _ => None,
    }
}

fn one_of(v: &OwnedValue, words: &'static [&'static str]) -> &'static str {
    words
        .iter()
        .find(|w| v.text() == Some(**w))
        .copied()
        .unwrap_or(words[words.len() - 1])
}

// The values come from `import::parse_field`, one per column in schema order,
// and the required ones were given: the fallbacks are never used.

fn rep(v: &[OwnedValue]) -> Rep {
    Rep {
        id: text(&v[0]).unwrap_or_default(),
        name: text(&v[1]).unwrap_or_default(),
        email: text(&v[2]),
        team: text(&v[3]),
    }
}

fn lead(v: &[OwnedValue]) -> Lead {
    Lead {
        id: text(&v[0]).unwrap_or_default(),
        created_at: time(&v[1]).unwrap_or_default(),
        mql_at: time(&v[2]),
        owner_id: text(&v[3]),
        channel: text(&v[4]),
        campaign: text(&v[5]),
        segment: text(&v[6]),
        score: match v[7] {
            OwnedValue::Real(x) => x,
            _ => None,
        },
        accepted_at: time(&v[8]),
        rejected_at: time(&v[9]),
        closed_at: time(&v[10]),
        close_reason: text(&v[11]),
    }
}

fn touch(v: &[OwnedValue]) -> Touch {
    Touch {
        id: text(&v[0]).unwrap_or_default(),
        lead_id: text(&v[1]).unwrap_or_default(),
        rep_id: text(&v[2]),
        occurred_at: time(&v[3]).unwrap_or_default(),
        kind: one_of(&v[4], model::TOUCH_KINDS),
        direction: one_of(&v[5], model::DIRECTIONS),
        outcome: text(&v[6]),
        automated: matches!(v[7], OwnedValue::Bool(Some(true))),
    }
}

fn deal(v: &[OwnedValue]) -> Deal {
    Deal {
        id: text(&v[0]).unwrap_or_default(),
        lead_id: text(&v[1]),
        created_at: time(&v[2]).unwrap_or_default(),
        closed_at: time(&v[3]),
        amount_cents: match v[4] {
            OwnedValue::Amount(c) => c,
            _ => 0,
        },
        won: match v[5] {
            OwnedValue::Bool(b) => b,
            _ => None,
        },
    }
}

// ---------------------------------------------------------------------------
// The format as written: what the YAML is deserialized into and what the JSON
// Schema describes. Required fields are `Option` here and marked required for
// the schema only: the checker reports a missing one with its own message.

/// A file of rule unit tests (docs/TESTS.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TestFile")]
struct RawFile {
    /// The rule file or directory the tests run against, relative to this
    /// file's folder. Default: the rules directory given to the command (`--rules`).
    #[serde(default)]
    rules: Option<Sp<Text<PathText>>>,
    /// How alert mail is grouped in time, as `handoff run --group-wait` and
    /// `--group-interval` do. Default `{ group_wait: 30s, group_interval: 5m }`.
    #[serde(default)]
    grouping: Option<Sp<RawGrouping>>,
    /// The tests.
    #[schemars(required, length(min = 1))]
    tests: Option<Sp<Vec<Sp<Isolated<RawTest>>>>>,
}

/// How alert mail is grouped in time (docs/MAIL.md).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Grouping")]
struct RawGrouping {
    /// How long the first mail to a quiet receiver waits. Default `30s`.
    #[serde(default)]
    group_wait: Option<Sp<Text<DurationText>>>,
    /// How long later mail to a receiver waits after the last. Default `5m`; not 0.
    #[serde(default)]
    group_interval: Option<Sp<Text<DurationText>>>,
}

/// One test: data, when to evaluate, changes on the way, what must be found.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Test", extend("not" = { "required": ["rows", "data"] }))]
struct RawTest {
    /// What the test shows, in words; unique in the file.
    #[schemars(required)]
    name: Option<Sp<Text<TestNameText>>>,
    /// The lead data, written here: rows of `reps`, `leads`, `touches` and
    /// `deals`, checked as `handoff import` checks a CSV file. Not with `data`.
    #[serde(default)]
    rows: Option<Sp<RawRows>>,
    /// The lead data, as a folder of canonical CSV files (`reps.csv`,
    /// `leads.csv`, `touches.csv`, `deals.csv`) relative to this file's folder.
    /// Not with `rows`.
    #[serde(default)]
    data: Option<Sp<Text<PathText>>>,
    /// When to evaluate: a list of instants, or `{ from, to, every }` (both ends included).
    #[schemars(required)]
    at: Option<Sp<RawAt>>,
    /// Instant → change: rows added or updated, and/or other `rules`, seen by
    /// every evaluation from that instant on.
    #[serde(default)]
    changes: Option<Sp<RawChanges>>,
    /// What must be found.
    #[schemars(required, length(min = 1))]
    expect: Option<Sp<Vec<Sp<Isolated<RawExpect>>>>>,
}

/// Rows of the canonical tables.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rows")]
struct RawRows {
    /// Sales reps.
    #[serde(default)]
    reps: Option<Sp<Vec<Sp<RawRow<RepsTable>>>>>,
    /// Leads.
    #[serde(default)]
    leads: Option<Sp<Vec<Sp<RawRow<LeadsTable>>>>>,
    /// Touches: calls, emails, meetings, …
    #[serde(default)]
    touches: Option<Sp<Vec<Sp<RawRow<TouchesTable>>>>>,
    /// Deals.
    #[serde(default)]
    deals: Option<Sp<Vec<Sp<RawRow<DealsTable>>>>>,
}

/// The rows of one table: where each starts, and its cells.
type RawTable<'a> = Vec<(Loc, &'a Cells)>;

/// A table's rows without their table marker (which only feeds the schema).
fn untyped<T>(rows: &Option<Sp<Vec<Sp<RawRow<T>>>>>) -> Option<RawTable<'_>> {
    rows.as_ref()
        .map(|list| list.value.iter().map(|r| (r.loc, &r.value.0)).collect())
}

impl RawRows {
    fn tables(&self) -> [Option<RawTable<'_>>; 4] {
        [
            untyped(&self.reps),
            untyped(&self.leads),
            untyped(&self.touches),
            untyped(&self.deals),
        ]
    }
}

/// A change during a test.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Change", extend("minProperties" = 1))]
struct RawChange {
    /// Reps added or updated.
    #[serde(default)]
    reps: Option<Sp<Vec<Sp<RawRow<RepsTable>>>>>,
    /// Leads added or updated (a lead given again keeps the columns it leaves out).
    #[serde(default)]
    leads: Option<Sp<Vec<Sp<RawRow<LeadsTable>>>>>,
    /// Touches added or updated.
    #[serde(default)]
    touches: Option<Sp<Vec<Sp<RawRow<TouchesTable>>>>>,
    /// Deals added or updated.
    #[serde(default)]
    deals: Option<Sp<Vec<Sp<RawRow<DealsTable>>>>>,
    /// From this instant on, evaluate with this rule file or directory
    /// (relative to this file's folder), as a reload would.
    #[serde(default)]
    rules: Option<Sp<Text<PathText>>>,
}

impl RawChange {
    fn tables(&self) -> [Option<RawTable<'_>>; 4] {
        [
            untyped(&self.reps),
            untyped(&self.leads),
            untyped(&self.touches),
            untyped(&self.deals),
        ]
    }
}

/// Instant → change, with each key's location.
#[derive(Debug)]
struct RawChanges(Vec<(Sp<String>, Sp<Isolated<RawChange>>)>);

impl<'de> Deserialize<'de> for RawChanges {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChangesVisitor;
        impl<'de> Visitor<'de> for ChangesVisitor {
            type Value = RawChanges;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of instants to changes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawChanges, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Sp<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(RawChanges(entries))
            }
        }
        deserializer.deserialize_map(ChangesVisitor)
    }
}

impl schemars::JsonSchema for RawChanges {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Changes".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let change = generator.subschema_for::<RawChange>();
        schemars::json_schema!({
            "description": "Instant (RFC 3339) → change.",
            "type": "object",
            "additionalProperties": change
        })
    }
}

/// `at: [t1, t2]` or `at: { from, to, every }`.
#[derive(Debug)]
enum RawAt {
    List(Vec<Sp<Text<TimestampText>>>),
    Range(RawRange),
}

/// Instants from `from` to `to`, `every` apart.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Range")]
struct RawRange {
    /// The first instant.
    #[schemars(required)]
    from: Option<Sp<Text<TimestampText>>>,
    /// The last instant, included when `every` lands on it.
    #[schemars(required)]
    to: Option<Sp<Text<TimestampText>>>,
    /// The step, e.g. `15m`.
    #[schemars(required)]
    every: Option<Sp<Text<DurationText>>>,
}

impl<'de> Deserialize<'de> for RawAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AtVisitor;
        impl<'de> Visitor<'de> for AtVisitor {
            type Value = RawAt;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of instants, or `{ from, to, every }`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawAt, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawAt::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAt, A::Error> {
                RawRange::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawAt::Range)
            }
        }
        deserializer.deserialize_any(AtVisitor)
    }
}

impl schemars::JsonSchema for RawAt {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Instants".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = generator.subschema_for::<Text<TimestampText>>();
        let range = generator.subschema_for::<RawRange>();
        schemars::json_schema!({
            "description": "A list of instants, or a range `{ from, to, every }`.",
            "oneOf": [{ "type": "array", "items": one, "minItems": 1 }, range]
        })
    }
}

/// What one objective must show at one instant; give at least one of
/// `status`, `value`, `alert` and `mail`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "Expectation",
    extend(
        "anyOf" = [
            { "required": ["status"] },
            { "required": ["value"] },
            { "required": ["alert"] },
            { "required": ["mail"] },
            { "required": ["lead_mail"] }
        ],
        "dependentRequired" = { "tolerance": ["value"] }
    )
)]
struct RawExpect {
    /// The instant: one of the test's instants.
    #[schemars(required)]
    at: Option<Sp<Text<TimestampText>>>,
    /// The objective's name.
    #[schemars(required)]
    objective: Option<Sp<Text<NameText>>>,
    /// The group (`webinar` for an objective with `by: channel`). Default `all`.
    #[serde(default)]
    group: Option<Sp<Text<GroupText>>>,
    /// The status the evaluation finds.
    #[serde(default)]
    status: Option<Sp<RawStatus>>,
    /// The measured value (a ratio 0–1, or a count for `lead_volume`).
    #[serde(default)]
    value: Option<Sp<f64>>,
    /// How far the measured value may be from `value`. Default: 0, exactly.
    #[serde(default)]
    #[schemars(range(min = 0))]
    tolerance: Option<Sp<f64>>,
    /// The state of the objective's alert for the group.
    #[serde(default)]
    alert: Option<Sp<RawAlertState>>,
    /// Every mail sent about this objective and group at this instant; `[]`: none.
    #[serde(default)]
    mail: Option<Sp<Vec<Sp<Isolated<RawMail>>>>>,
    /// Every lead notice of the objective (`notify_reps`) decided after the
    /// test's previous instant, up to and at this one; `[]`: none.
    #[serde(default)]
    lead_mail: Option<Sp<Vec<Sp<Isolated<RawMail>>>>>,
}

/// A mail that must be sent; each field given must match.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    rename = "Mail",
    extend("not" = { "required": ["subject", "subject_contains"] })
)]
struct RawMail {
    /// An address it is sent to.
    #[serde(default)]
    to: Option<Sp<Text<EmailText>>>,
    /// The whole subject, exactly.
    #[serde(default)]
    subject: Option<Sp<Text<SubjectText>>>,
    /// Text the subject contains.
    #[serde(default)]
    subject_contains: Option<Sp<Text<SubjectText>>>,
}

/// An objective's status.
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Status")]
enum RawStatus {
    /// The promise is kept.
    Ok,
    /// On course to miss it.
    AtRisk,
    /// Broken.
    Breached,
    /// Nothing to measure.
    NoData,
    /// The evaluation failed.
    Error,
}

impl RawStatus {
    fn status(self) -> Status {
        match self {
            RawStatus::Ok => Status::Ok,
            RawStatus::AtRisk => Status::AtRisk,
            RawStatus::Breached => Status::Breached,
            RawStatus::NoData => Status::NoData,
            RawStatus::Error => Status::Error,
        }
    }
}

/// The state of an alert.
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "AlertState")]
enum RawAlertState {
    /// Nothing wrong.
    Inactive,
    /// Wrong, for less than the alert's `for`.
    Pending,
    /// Wrong for at least `for`.
    Firing,
    /// Was firing, is no more.
    Resolved,
}

impl RawAlertState {
    fn state(self) -> AlertExpect {
        match self {
            RawAlertState::Inactive => AlertExpect::Inactive,
            RawAlertState::Pending => AlertExpect::Pending,
            RawAlertState::Firing => AlertExpect::Firing,
            RawAlertState::Resolved => AlertExpect::Resolved,
        }
    }
}

/// A table, for the schema of its rows.
trait TableKind {
    const TABLE: Table;
    /// The name of the schema of one row.
    const ROW: &'static str;
}

macro_rules! table_kind {
    ($ty:ident, $table:expr, $row:literal) => {
        #[derive(Debug)]
        struct $ty;
        impl TableKind for $ty {
            const TABLE: Table = $table;
            const ROW: &'static str = $row;
        }
    };
}

table_kind!(RepsTable, Table::Reps, "RepRow");
table_kind!(LeadsTable, Table::Leads, "LeadRow");
table_kind!(TouchesTable, Table::Touches, "TouchRow");
table_kind!(DealsTable, Table::Deals, "DealRow");

/// One row of table `T`: its cells.
#[derive(Debug)]
struct RawRow<T>(Cells, PhantomData<T>);

/// Column → value, in file order, with each key's location. A value left
/// empty (`~`) is null.
#[derive(Debug)]
struct Cells(Vec<(Sp<String>, Sp<Option<Cell>>)>);

impl<'de, T> Deserialize<'de> for RawRow<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowVisitor<T>(PhantomData<T>);
        impl<'de, T> Visitor<'de> for RowVisitor<T> {
            type Value = RawRow<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row: a mapping of column to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRow<T>, A::Error> {
                let mut cells = Vec::new();
                while let Some(key) = map.next_key::<Sp<String>>()? {
                    cells.push((key, map.next_value()?));
                }
                Ok(RawRow(Cells(cells), PhantomData))
            }
        }
        deserializer.deserialize_map(RowVisitor(PhantomData))
    }
}

impl<T: TableKind> schemars::JsonSchema for RawRow<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::ROW.into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use serde_json::json;
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for c in T::TABLE.columns() {
            let mut s = match c.ty {
                ColumnType::Id => {
                    json!({ "type": ["string", "integer"], "maxLength": model::MAX_ID_CHARS })
                }
                ColumnType::Text => {
                    json!({ "type": ["string", "number"], "maxLength": model::MAX_TEXT_CHARS })
                }
                ColumnType::Timestamp => json!({
                    "type": "string",
                    "format": "date-time",
                    "description": "RFC 3339, with an offset: `2026-11-02T14:00:00Z`."
                }),
                ColumnType::Real => json!({ "type": "number" }),
                ColumnType::Amount => json!({
                    "description": "In the reporting currency, at most two decimals.",
                    "oneOf": [
                        { "type": "number", "minimum": 0 },
                        { "type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$" }
                    ]
                }),
                ColumnType::Bool => json!({ "type": "boolean" }),
                ColumnType::Enum(words) => json!({ "enum": words }),
            };
            if c.required {
                required.push(c.name);
            } else {
                s = json!({ "anyOf": [s, { "type": "null" }] });
            }
            properties.insert(c.name.to_owned(), s);
        }
        schemars::json_schema!({
            "description": format!("A row of {}, as a line of {}.", T::TABLE.name(), import::file_name(T::TABLE)),
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false
        })
    }
}

/// One value of a row: text, a number or a boolean, read as the text a CSV
/// field would hold (`false`, `12500.5`).
#[derive(Debug)]
struct Cell(String);

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellVisitor;
        impl Visitor<'_> for CellVisitor {
            type Value = Cell;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("one value (text, a number, `true` or `false`)")
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
                Ok(Cell(v.to_owned()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
                Ok(Cell(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
                Ok(Cell(v.to_string()))
            }
        }
        deserializer.deserialize_any(CellVisitor)
    }
}

macro_rules! text_kind {
    ($ty:ident, $name:literal, $schema:tt) => {
        #[derive(Debug, Clone)]
        struct $ty;
        impl TextKind for $ty {
            const NAME: &'static str = $name;
            fn schema() -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}

text_kind!(TimestampText, "Instant", {
    "type": "string",
    "format": "date-time",
    "description": "An instant, RFC 3339 with an offset: `2026-11-02T14:00:00Z`.",
    "examples": ["2026-11-02T14:00:00Z"]
});
text_kind!(PathText, "Path", {
    "type": "string",
    "minLength": 1,
    "description": "A path, relative to the test file's folder."
});
text_kind!(TestNameText, "TestName", {
    "type": "string",
    "minLength": 1,
    "description": "What the test shows, in words."
});
text_kind!(GroupText, "Group", {
    "type": "string",
    "minLength": 1,
    "description": "A group of an objective's results: `all`, or a value of its `by:` column."
});
text_kind!(SubjectText, "Subject", {
    "type": "string",
    "description": "A mail subject, or part of one."
});

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A directory of its own for one test, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "handoff-ruletest-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        import::parse_timestamp(s).unwrap()
    }

    /// A scratch directory with a rule file, a variant and a data folder, and
    /// the test file `tests/t.yaml` holding `text`.
    fn setup(text: &str) -> (Scratch, PathBuf) {
        let s = Scratch::new();
        s.write("acme.yaml", "version: 1\n");
        s.write("variants/lower.yaml", "version: 1\n");
        s.write("data/leads.csv", "id,created_at\nL1,2026-11-02T14:00:00Z\n");
        let path = s.write("tests/t.yaml", text);
        (s, path)
    }

    /// `line:column: message` of every error of loading `text`.
    fn errors(text: &str) -> Vec<String> {
        let (_s, path) = setup(text);
        let e = load_file(&path).expect_err("the file should not load");
        e.errors()
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect()
    }

    const EXAMPLE: &str = r#"rules: ../acme.yaml
grouping: { group_wait: 1m }
tests:
  - name: a webinar lead left alone pages sales
    rows:
      reps: [{id: R1, name: Ana, email: ana@acme.example, team: sales-na}]
      leads:
        - {id: L1, created_at: "2026-11-02T14:00:00Z", mql_at: "2026-11-02T14:00:00Z", owner_id: R1, channel: webinar}
    at: { from: "2026-11-02T14:00:00Z", to: "2026-11-02T15:00:00Z", every: 15m }
    changes:
      "2026-11-02T14:40:00Z": { rules: ../variants/lower.yaml }
      2026-11-02T14:20:00Z:
        touches: [{id: T1, lead_id: L1, rep_id: R1, occurred_at: "2026-11-02T14:10:00Z", kind: Call, direction: outbound, automated: false}]
    expect:
      - at: "2026-11-02T14:15:00Z"
        objective: speed-to-lead
        status: breached
        value: 0
        alert: pending
      - at: 2026-11-02T15:00:00Z
        objective: speed-to-lead
        group: webinar
        value: 0.5
        tolerance: 0.01
        mail: [{to: sales-managers@acme.example, subject_contains: BREACHED}]
  - name: no data at all
    data: ../data
    at: ["2026-11-03T09:00:00Z", "2026-11-03T08:00:00+00:00", "2026-11-03T10:00:00+01:00"]
    expect:
      - { at: "2026-11-03T08:00:00Z", objective: speed-to-lead, mail: [] }
"#;

    #[test]
    fn a_test_file_loads_with_every_field() {
        let (s, path) = setup(EXAMPLE);
        let f = load_file(&path).unwrap();
        let tests_dir = s.0.join("tests");
        assert_eq!(f.path, path);
        assert_eq!(f.rules, Some(tests_dir.join("../acme.yaml")));
        assert_eq!(
            f.grouping,
            Grouping {
                group_wait: TimeDelta::minutes(1),
                group_interval: TimeDelta::minutes(5),
            }
        );
        assert_eq!(f.tests.len(), 2);

        let a = &f.tests[0];
        assert_eq!(a.name, "a webinar lead left alone pages sales");
        assert_eq!(a.line, 4);
        let Data::Rows(rows) = &a.data else {
            panic!("rows expected")
        };
        assert_eq!(rows.reps[0].email.as_deref(), Some("ana@acme.example"));
        assert_eq!(rows.leads[0].mql_at, Some(t("2026-11-02T14:00:00Z")));
        assert_eq!(rows.leads[0].channel.as_deref(), Some("webinar"));
        assert_eq!(rows.leads[0].segment, None);
        let source = rows.source.as_ref().unwrap();
        assert_eq!(source.tables[1][0].at.line, 8);
        let given: Vec<usize> = source.tables[1][0].cells.iter().map(|c| c.0).collect();
        assert_eq!(given, [0, 1, 2, 3, 4]);

        // From 14:00 to 15:00 every 15 minutes, both ends included.
        assert_eq!(a.instants.len(), 5);
        assert_eq!(a.instants[0], t("2026-11-02T14:00:00Z"));
        assert_eq!(a.instants[4], t("2026-11-02T15:00:00Z"));

        // Sorted by time, whatever the file's order.
        assert_eq!(a.changes.len(), 2);
        let (touch, reload) = (&a.changes[0], &a.changes[1]);
        assert_eq!((touch.at, touch.line), (t("2026-11-02T14:20:00Z"), 12));
        assert_eq!(touch.rows.touches[0].kind, "call");
        assert!(!touch.rows.touches[0].automated);
        assert_eq!(touch.rules, None);
        assert_eq!((reload.at, reload.line), (t("2026-11-02T14:40:00Z"), 11));
        assert!(reload.rows.is_empty());
        assert_eq!(reload.rules, Some(tests_dir.join("../variants/lower.yaml")));

        let first = &a.expect[0];
        assert_eq!(first.line, 15);
        assert_eq!(first.group, "all");
        assert_eq!(first.status, Some(Status::Breached));
        assert_eq!(first.value, Some(0.0));
        assert_eq!(first.alert, Some(AlertExpect::Pending));
        assert_eq!(first.mail, None);
        let second = &a.expect[1];
        assert_eq!(second.group, "webinar");
        assert!(second.value_matches(0.505) && !second.value_matches(0.52));
        let mail = &second.mail.as_ref().unwrap()[0];
        assert_eq!(mail.line, 25);
        assert!(mail.matches(
            &["sales-managers@acme.example"],
            "[handoff] BREACHED speed-to-lead"
        ));
        assert!(!mail.matches(&["ana@acme.example"], "[handoff] BREACHED speed-to-lead"));

        let b = &f.tests[1];
        assert_eq!(b.data, Data::Dir(tests_dir.join("../data")));
        // Sorted, and the same instant written twice is one.
        assert_eq!(
            b.instants,
            [t("2026-11-03T08:00:00Z"), t("2026-11-03T09:00:00Z")]
        );
        assert_eq!(b.expect[0].mail, Some(Vec::new()));
        assert_eq!(summary(&[f]), "2 tests in 1 test file are valid");
    }

    #[test]
    fn a_range_expands_to_every_step_from_to() {
        let text = "tests:\n  - name: r\n    at: { from: \"2026-11-02T14:00:00Z\", to: \"2026-11-02T14:59:00Z\", every: 15m }\n    expect: [{ at: \"2026-11-02T14:45:00Z\", objective: o, status: ok }]\n";
        let (_s, path) = setup(text);
        let f = load_file(&path).unwrap();
        // 14:59 is not on a step: the last instant is 14:45.
        assert_eq!(f.tests[0].instants.len(), 4);
        assert_eq!(f.tests[0].instants[3], t("2026-11-02T14:45:00Z"));
        assert_eq!(f.rules, None);
        assert_eq!(f.grouping, Grouping::default());
    }

    #[test]
    fn unknown_fields_are_located_with_a_suggestion() {
        let text = "tests:\n  - name: t\n    at: [\"2026-11-02T14:00:00Z\"]\n    expct:\n      - { at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }\n";
        assert_eq!(
            errors(text),
            ["4:5: unknown field `expct` — did you mean `expect`?"]
        );
        let text = "grouping: { group_wiat: 1m }\ntests:\n  - name: t\n    at: [\"2026-11-02T14:00:00Z\"]\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, alert: firing, notify: x }]\n";
        assert_eq!(
            errors(text),
            [
                "1:13: unknown field `group_wiat` — did you mean `group_wait`?",
                "5:73: unknown field `notify`",
            ]
        );
    }

    #[test]
    fn an_expectation_field_does_not_send_you_under_alert() {
        let (_s, path) = setup(
            "tests:\n  - name: t\n    at: [\"2026-11-02T14:00:00Z\"]\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, alert: firing, repeat: 1h }]\n",
        );
        let e = load_file(&path).unwrap_err();
        let help = e.errors()[0].help.clone().unwrap();
        assert!(
            help.starts_with("the fields allowed here are `at`"),
            "{help}"
        );
    }

    #[test]
    fn bad_timestamps_durations_and_statuses_are_located() {
        let text = r#"tests:
  - name: t
    at: { from: "2026-11-02T14:00:00", to: "2026-11-02T15:00:00Z", every: 15 }
    expect:
      - at: "2026-11-02"
        objective: o
        status: breach
"#;
        assert_eq!(
            errors(text),
            [
                "3:17: invalid instant `2026-11-02T14:00:00`: no UTC offset; add `Z` or an offset such as `+01:00` (RFC 3339)",
                "3:75: `15` has no unit",
                "5:13: invalid instant `2026-11-02`: a date alone is not an instant; expected RFC 3339 such as 2026-03-02T14:05:00Z",
                "7:17: unknown value `breach` — did you mean `breached`?",
            ]
        );
    }

    #[test]
    fn an_expectation_must_be_at_an_instant_of_its_test() {
        let text = r#"tests:
  - name: t
    at: { from: "2026-11-02T14:00:00Z", to: "2026-11-02T15:00:00Z", every: 15m }
    expect:
      - at: "2026-11-02T14:20:00Z"
        objective: o
        status: ok
"#;
        let (_s, path) = setup(text);
        let e = &load_file(&path).unwrap_err().errors()[0].clone();
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (5, 13, "2026-11-02T14:20:00Z is not an instant of this test")
        );
        assert_eq!(
            e.help.as_deref(),
            Some(
                "expectations are checked where the test evaluates, at 5 instants (`at:`); \
                 the nearest are 2026-11-02T14:15:00Z and 2026-11-02T14:30:00Z"
            )
        );
    }

    #[test]
    fn at_is_a_list_or_a_range() {
        let text = "tests:\n  - name: t\n    at: \"2026-11-02T14:00:00Z\"\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        assert_eq!(
            errors(text),
            [
                "3:9: expected a list of instants, or `{ from, to, every }`, found the text \"2026-11-02T14:00:00Z\""
            ]
        );
        let text = "tests:\n  - name: t\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        assert_eq!(errors(text), ["2:5: missing field `at`"]);
        let text = "tests:\n  - name: t\n    at: { from: \"2026-11-02T14:00:00Z\", every: 1h }\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        assert_eq!(errors(text), ["3:9: missing field `to`"]);
        let text = "tests:\n  - name: t\n    at: []\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        assert_eq!(errors(text), ["3:9: no instants"]);
    }

    #[test]
    fn rows_and_data_exclude_each_other() {
        let text = "tests:\n  - name: t\n    rows: { reps: [{ id: R1, name: Ana }] }\n    data: ../data\n    at: [\"2026-11-02T14:00:00Z\"]\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        assert_eq!(errors(text), ["4:11: give `rows` or `data`, not both"]);
    }

    #[test]
    fn rows_are_checked_as_import_checks_a_field() {
        let text = r#"tests:
  - name: t
    rows:
      leads:
        - { id: L1, mql_at: "2026-11-02T14:00:00Z" }
        - { id: L2, created_at: "2026-11-02T14:00:00Z", ownr_id: R1 }
        - { id: L1, created_at: "2026-11-02T14:00:00Z", score: high }
      touches:
        - { id: T1, lead_id: L1, occurred_at: "2026-11-02T14:00:00Z", kind: phone, direction: outbound, automated: ~ }
    at: ["2026-11-02T14:00:00Z"]
    expect: [{ at: "2026-11-02T14:00:00Z", objective: o, status: ok }]
"#;
        assert_eq!(
            errors(text),
            [
                "5:11: missing required column `created_at`",
                "6:57: unknown column `ownr_id` — did you mean `owner_id`?",
                "7:17: duplicate id `L1`: line 5 has it already",
                "7:64: invalid `score` `high`: expected a number such as 72.5",
                "9:77: unknown kind `phone`; expected one of call, email, meeting, sms, social, other",
                "9:116: `automated` is required but empty",
            ]
        );
    }

    #[test]
    fn paths_must_exist_and_changes_must_change_something_in_time() {
        let text = r#"rules: ../nowhere.yaml
tests:
  - name: t
    data: ../acme.yaml
    at: ["2026-11-02T14:00:00Z"]
    changes:
      "2026-11-02T13:00:00Z": {}
      "2026-11-02T15:00:00Z": { rules: ../variants/lower.yaml }
    expect: [{ at: "2026-11-02T14:00:00Z", objective: o }]
"#;
        assert_eq!(
            errors(text),
            [
                "1:8: cannot read `../nowhere.yaml`: no such file or directory",
                "4:11: `../acme.yaml` is not a directory",
                "7:31: this change changes nothing",
                "8:7: this change comes after the last instant, 2026-11-02T14:00:00Z: no evaluation sees it",
                "9:14: this expectation checks nothing",
            ]
        );
    }

    #[test]
    fn a_rule_file_is_not_a_test_file() {
        assert_eq!(
            errors("version: 1\ntimezone: UTC\nobjectives: []\n"),
            ["1:1: this is a rule file, not a test file"]
        );
        assert_eq!(errors(""), ["1:1: empty test file"]);
        let syntax = errors("tests: [\n");
        assert!(
            syntax.len() == 1 && syntax[0].contains(": invalid YAML: "),
            "{syntax:?}"
        );
    }

    #[test]
    fn test_names_are_unique() {
        let one = "  - name: same\n    at: [\"2026-11-02T14:00:00Z\"]\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        assert_eq!(
            errors(&format!("tests:\n{one}{one}")),
            ["5:11: two tests are called `same`"]
        );
    }

    #[test]
    fn errors_render_like_the_rule_files() {
        let (_s, path) = setup(
            "tests:\n  - name: t\n    at: [\"2026-11-02T14:00:00Z\"]\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: breach }]\n",
        );
        let text = load_file(&path).unwrap_err().to_string();
        let head = format!(
            "{}:4:66: error: unknown value `breach` — did you mean `breached`?\n",
            path.display()
        );
        assert!(text.starts_with(&head), "{text}");
        assert!(text.contains("^^^^^^"), "{text}");
        assert!(
            text.contains(
                "= help: expected one of `ok`, `at_risk`, `breached`, `no_data` and `error`"
            ),
            "{text}"
        );
    }

    #[test]
    fn load_paths_walks_directories_in_name_order() {
        let s = Scratch::new();
        let good = "tests:\n  - name: t\n    at: [\"2026-11-02T14:00:00Z\"]\n    expect: [{ at: \"2026-11-02T14:00:00Z\", objective: o, status: ok }]\n";
        s.write("tests/b.yaml", good);
        s.write("tests/a/a.yml", good);
        s.write("tests/.hidden.yaml", "not: a test");
        s.write("tests/notes.txt", "not yaml");
        s.write("tests/c.yaml", "tests: []\n");
        let (files, errors) = load_paths(&[s.0.join("tests"), s.0.join("missing.yaml")]);
        let names: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(names, [s.0.join("tests/a/a.yml"), s.0.join("tests/b.yaml")]);
        let errors = errors.unwrap();
        let found: Vec<(PathBuf, u32, &str)> = errors
            .errors()
            .iter()
            .map(|e| (e.file.clone(), e.line, e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    s.0.join("missing.yaml"),
                    0,
                    "cannot read: no such file or directory"
                ),
                (
                    s.0.join("tests/c.yaml"),
                    1,
                    "`tests` is empty: give at least one test"
                ),
            ]
        );
        assert!(is_test_path(&s.0.join("tests")));
        assert!(is_test_path(&s.0.join("tests/b.yaml")));
        let elsewhere = s.write("elsewhere.yaml", good);
        assert!(is_test_path(&elsewhere));
        let rules = s.write("rules.yaml", "version: 1\n");
        assert!(!is_test_path(&rules) && !is_test_path(&s.0));
        // What a file says wins over where it is.
        let rules = s.write("tests/rules.yaml", "version: 1\n");
        assert!(!is_test_path(&rules));
        let broken = s.write("tests/broken.yaml", "tsts: [\n");
        assert!(is_test_path(&broken));
    }

    #[test]
    fn the_rule_loader_skips_the_tests_directory() {
        let s = Scratch::new();
        s.write(
            "rules/a.yaml",
            "version: 1\nteams: { sales: { email: s@acme.example } }\n",
        );
        s.write("rules/tests/t.yaml", "tests: []\n");
        s.write("rules/tests/odd.yml", "tests: []\n");
        s.write("rules/more/tests/x.yaml", "version: 1\n");
        let set = rules::load_dir(&s.0.join("rules")).unwrap();
        assert_eq!(
            set.files(),
            [
                s.0.join("rules/a.yaml"),
                s.0.join("rules/more/tests/x.yaml")
            ]
        );
    }

    #[test]
    fn the_schema_is_draft_2020_12_and_closed() {
        let schema = schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["title"], "handoff rule test file");
        assert_eq!(schema["additionalProperties"], false);
        let defs = &schema["$defs"];
        for def in [
            "Test",
            "Expectation",
            "Mail",
            "Range",
            "Change",
            "Grouping",
            "Rows",
        ] {
            assert_eq!(defs[def]["additionalProperties"], false, "{def}");
        }
        assert_eq!(defs["Test"]["not"]["required"][0], "rows");
        assert_eq!(defs["LeadRow"]["required"][1], "created_at");
        assert_eq!(defs["TouchRow"]["properties"]["kind"]["enum"][0], "call");
        assert_eq!(defs["Status"]["oneOf"][1]["const"], "at_risk");
    }

    async fn store(dir: &Path) -> Store {
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let store = Store::connect(&url, &crate::store::StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn rows_are_stored_and_a_change_updates_only_what_it_gives() {
        let text = r#"tests:
  - name: t
    rows:
      reps: [{ id: R1, name: Ana, team: sales-na }]
      leads: [{ id: L1, created_at: "2026-11-02T14:00:00Z", owner_id: R1, channel: webinar }]
      deals: [{ id: D1, lead_id: L1, created_at: "2026-11-02T14:00:00Z", amount: 12500.5 }]
    at: ["2026-11-02T14:00:00Z", "2026-11-02T15:00:00Z"]
    changes:
      "2026-11-02T15:00:00Z":
        leads: [{ id: L1, created_at: "2026-11-02T14:00:00Z", accepted_at: "2026-11-02T14:30:00Z", channel: ~ }]
        touches: [{ id: T1, lead_id: L1, occurred_at: "2026-11-02T14:10:00Z", kind: call, direction: outbound, automated: true }]
    expect: [{ at: "2026-11-02T15:00:00Z", objective: o, status: ok }]
"#;
        let (s, path) = setup(text);
        let f = load_file(&path).unwrap();
        let db = store(&s.0).await;
        let case = &f.tests[0];
        load_data(&db, &case.data).await.unwrap();
        load_rows(&db, &case.changes[0].rows).await.unwrap();
        assert_eq!(db.count(Table::Touches).await.unwrap(), 1);
        assert_eq!(db.count(Table::Deals).await.unwrap(), 1);
        db.close().await;

        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", s.0.join("t.db").display()))
            .await
            .unwrap();
        let (owner, channel, accepted): (Option<String>, Option<String>, Option<String>) =
            sqlx::query_as("SELECT owner_id, channel, accepted_at FROM leads WHERE id = 'L1'")
                .fetch_one(&pool)
                .await
                .unwrap();
        // Left out: kept. Given empty: emptied. Given: set.
        assert_eq!(owner.as_deref(), Some("R1"));
        assert_eq!(channel, None);
        assert!(accepted.is_some_and(|a| a.starts_with("2026-11-02")));
        let (cents,): (i64,) =
            sqlx::query_as("SELECT CAST(ROUND(amount * 100) AS INTEGER) FROM deals")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(cents, 1_250_050);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_reference_to_no_row_is_located_and_nothing_is_written() {
        let text = r#"tests:
  - name: t
    rows:
      leads: [{ id: L1, created_at: "2026-11-02T14:00:00Z", owner_id: R9 }]
      touches: [{ id: T1, lead_id: L2, occurred_at: "2026-11-02T14:10:00Z", kind: call, direction: outbound, automated: true }]
    at: ["2026-11-02T14:00:00Z"]
    expect: [{ at: "2026-11-02T14:00:00Z", objective: o, status: ok }]
"#;
        let (s, path) = setup(text);
        let f = load_file(&path).unwrap();
        let db = store(&s.0).await;
        let Err(DataError::Rows(e)) = load_data(&db, &f.tests[0].data).await else {
            panic!("the references should be refused");
        };
        let found: Vec<String> = e
            .errors()
            .iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect();
        assert_eq!(
            found,
            [
                "4:71: unknown rep `R9`: no row with this id in reps",
                "5:36: unknown lead `L2`: no row with this id in leads",
            ]
        );
        assert_eq!(e.errors()[0].file, path);
        assert_eq!(db.count(Table::Leads).await.unwrap(), 0);

        // A folder of CSV files goes through import.
        let dir = s.0.join("data");
        load_data(&db, &Data::Dir(dir)).await.unwrap();
        assert_eq!(db.count(Table::Leads).await.unwrap(), 1);
        db.close().await;
    }
}
