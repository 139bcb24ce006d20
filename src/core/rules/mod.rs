//! The SLA rule files (rules/README.md): parsing, validation with located errors, the
//! JSON Schema, and the immutable [`RuleSet`] the rest of the program receives.
//!
//! ```text
//! *.yaml ─► yaml::parse ─► Node tree ─► raw::RawFile ─► validate ─► RuleSet
//!              (syntax)      (located)     (shape)       (meaning)
//! ```
//!
//! - `yaml`: serde-saphyr parses the text into a tree whose every node knows its
//!   line and column; a serde deserializer over that tree fills the raw structs,
//!   so each value can carry its location and one broken objective does not hide
//!   the errors of the next.
//! - `raw`: the format as written; `handoff schema` is generated from it.
//! - `validate`: checks values, the fields each kind takes, and, across files,
//!   duplicate names and references; builds the model only when all is well.
//! - `model`, [`Calendar`], [`Schedule`]: the validated model.
//! - `normal`: the canonical JSON of an objective's definition and of the whole
//!   set, their keys, and the differences between two definitions.
//!
//! Loading returns a complete [`RuleSet`] or every error: never a half-applied
//! set. A reload builds a new `RuleSet`; the old one is dropped, not mutated.

mod calendar;
mod diagnostic;
pub(crate) mod hints;
mod model;
mod normal;
pub(crate) mod problem;
pub(crate) mod raw;
mod schedule;
mod schema;
pub(crate) mod validate;
pub(crate) mod values;
pub(crate) mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where results are split: a column of the lead schema, so it lives with the schema.
pub use crate::model::GroupBy;
pub use calendar::{Calendar, OpenHours, local_instant};
pub use diagnostic::{LoadError, LoadErrors};
pub use model::{
    Alert, Checks, Duration, ErrorPolicy, Kind, MinAttempts, NoDataPolicy, Objective, Origin,
    Recipient, Review, ReviewEvery, Spec, Target, Team, Trend, TrendCompare, Window,
};
pub use normal::{canonical_text, definition_changes, recorded_objectives};
pub use schedule::Schedule;
pub use schema::json_schema;

pub(crate) use diagnostic::plural;
use validate::SourceFile;

/// The whole SLA: every objective, team and calendar of the rule files, checked.
///
/// Immutable once built; share it as `Arc<RuleSet>` and replace it whole on reload.
#[derive(Clone, Debug)]
pub struct RuleSet {
    objectives: Vec<Objective>,
    currency: Option<String>,
    lead_url: Option<String>,
    review: Option<Review>,
    teams: BTreeMap<String, Team>,
    calendars: BTreeMap<String, Arc<Calendar>>,
    files: Vec<PathBuf>,
}

impl RuleSet {
    /// The objectives, in file order and then in the order each file lists them.
    pub fn objectives(&self) -> &[Objective] {
        &self.objectives
    }

    /// The objective called `name`.
    pub fn objective(&self, name: &str) -> Option<&Objective> {
        self.objectives.iter().find(|o| o.name == name)
    }

    /// The address of a lead in the CRM (`lead_url:` with the lead's id, its
    /// reserved characters percent-encoded, in place of `{id}`), if a file
    /// sets it.
    pub fn lead_url(&self, id: &str) -> Option<String> {
        let mut encoded = String::new();
        for b in id.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                encoded.push(char::from(b));
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        self.lead_url.as_ref().map(|u| u.replace("{id}", &encoded))
    }

    /// `review:` as the files set it (its defaults when none does: a monthly
    /// review, nobody mailed).
    pub fn review(&self) -> Option<&Review> {
        self.review.as_ref()
    }

    /// The period the review covers: `review.period`, else a month.
    pub fn review_every(&self) -> ReviewEvery {
        self.review
            .as_ref()
            .map_or(ReviewEvery::Month, |r| r.period)
    }

    /// Who gets the review by mail: `review.to`, or every team's addresses.
    /// Empty without `review:`.
    pub fn review_receivers(&self) -> BTreeSet<String> {
        match &self.review {
            None => BTreeSet::new(),
            Some(r) if r.to.is_empty() => self
                .teams
                .values()
                .flat_map(|t| t.email.iter().cloned())
                .collect(),
            Some(r) => self.addresses(&r.to),
        }
    }

    /// `lead_url:` as written.
    pub fn lead_url_template(&self) -> Option<&str> {
        self.lead_url.as_deref()
    }

    /// The reporting currency (`currency:`, an ISO 4217 code), if a file sets it.
    pub fn currency(&self) -> Option<&str> {
        self.currency.as_deref()
    }

    /// The teams, by name.
    pub fn teams(&self) -> &BTreeMap<String, Team> {
        &self.teams
    }

    /// The team called `name`.
    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.get(name)
    }

    /// The calendars, by name.
    pub fn calendars(&self) -> &BTreeMap<String, Arc<Calendar>> {
        &self.calendars
    }

    /// The rule files the set was loaded from, in load order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The time zone command-line times are read in: the rule files' zone,
    /// or UTC when they name different ones (or there are no objectives).
    pub fn timezone(&self) -> chrono_tz::Tz {
        let mut zones = self.objectives.iter().map(|o| o.timezone);
        match zones.next() {
            Some(first) if zones.all(|z| z == first) => first,
            _ => chrono_tz::Tz::UTC,
        }
    }

    /// The addresses an objective's alerts go to: its `notify` teams' addresses
    /// and the addresses written directly, sorted and without repeats.
    pub fn notify_addresses(&self, objective: &Objective) -> BTreeSet<String> {
        self.addresses(&objective.alert.notify)
    }

    /// The addresses of `recipients`: teams' addresses and the addresses
    /// written directly, sorted and without repeats.
    pub fn addresses(&self, recipients: &[Recipient]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for r in recipients {
            match r {
                Recipient::Email(a) => {
                    out.insert(a.clone());
                }
                Recipient::Team(t) => {
                    if let Some(team) = self.teams.get(t) {
                        out.extend(team.email.iter().cloned());
                    }
                }
            }
        }
        out
    }

    /// `5 objectives in 1 file are valid`.
    pub fn summary(&self) -> String {
        let verb = if self.objectives.len() == 1 {
            "is"
        } else {
            "are"
        };
        format!(
            "{} in {} {verb} valid",
            plural(self.objectives.len(), "objective"),
            plural(self.files.len(), "file")
        )
    }
}

/// Loads every `*.yaml` file under `path` (recursively, in name order, skipping
/// names that start with `.`), or the single file `path`.
///
/// A directory named `tests` directly under `path` is skipped: it holds the
/// rule unit tests ([`crate::ruletest`], docs/TESTS.md), which are not rule files.
///
/// Symbolic links to files are followed (as Kubernetes ConfigMap volumes need);
/// links to directories are not. A `*.yml` file is an error rather than silently
/// ignored.
///
/// # Errors
///
/// Every problem in every file, located and explained; nothing is loaded unless
/// there are none. A directory without rule files is an error too.
pub fn load_dir(path: &Path) -> Result<RuleSet, LoadErrors> {
    let mut errors = Vec::new();
    let mut paths = Vec::new();
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => paths.push(path.to_owned()),
        Ok(meta) if meta.is_dir() => {
            walk(path, &mut paths, &mut errors, true);
            if paths.is_empty() && errors.is_empty() {
                errors.push(LoadError::file(
                    path,
                    "no rule files (*.yaml) in this directory",
                ));
            }
        }
        Ok(_) => errors.push(LoadError::file(path, "not a file or directory")),
        Err(e) => errors.push(LoadError::file(
            path,
            format!("cannot read: {}", io_reason(&e)),
        )),
    }
    let mut files = Vec::new();
    for p in paths {
        match read(&p) {
            Ok(text) => files.push(SourceFile { path: p, text }),
            Err(e) => errors.push(*e),
        }
    }
    finish(&files, errors)
}

/// Whether the directory `dir` holds what [`load_dir`] would read, or report
/// (a `*.yml` file, a directory it cannot read), walked the same way.
pub fn holds_rule_files(dir: &Path) -> bool {
    let (mut paths, mut errors) = (Vec::new(), Vec::new());
    walk(dir, &mut paths, &mut errors, true);
    !paths.is_empty() || !errors.is_empty()
}

/// Loads one rule file given as text; `name` is the file name errors will show.
///
/// # Errors
///
/// As [`load_dir`].
pub fn load_str(name: &str, text: &str) -> Result<RuleSet, LoadErrors> {
    load_texts(&[(name, text)])
}

/// Loads several rule files given as `(name, text)` pairs, as one rule set.
///
/// # Errors
///
/// As [`load_dir`].
pub fn load_texts(files: &[(&str, &str)]) -> Result<RuleSet, LoadErrors> {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(name, text)| SourceFile {
            path: PathBuf::from(name),
            text: (*text).to_owned(),
        })
        .collect();
    finish(&files, Vec::new())
}

fn finish(files: &[SourceFile], mut errors: Vec<LoadError>) -> Result<RuleSet, LoadErrors> {
    match validate::check(files) {
        Ok(set) if errors.is_empty() => Ok(set),
        Ok(_) => Err(LoadErrors::new(errors)),
        Err(mut more) => {
            errors.append(&mut more);
            Err(LoadErrors::new(errors))
        }
    }
}

/// The directory under the rules directory that holds test files, not rules.
pub(crate) const TESTS_DIR: &str = "tests";

/// Collects the rule files under `dir`; `top` when `dir` is the rules
/// directory itself, whose `tests` directory is skipped. A `.yml` file is an
/// error: it would be ignored.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>, top: bool) {
    let skip = |name: &str, depth: usize| depth == 0 && top && name == TESTS_DIR;
    walk_yaml(dir, 0, &skip, errors, &mut |path, errors| {
        if path.extension().is_some_and(|e| e == "yml") {
            let mut e = LoadError::file(
                &path,
                "rule files end in `.yaml`; this file would be ignored",
            );
            e.help = Some(format!(
                "rename it to {}",
                path.with_extension("yaml").display()
            ));
            errors.push(e);
        } else {
            out.push(path);
        }
    });
}

/// Visits the `.yaml` and `.yml` files under `dir` in name order, `depth`
/// directories down, with `found`. Hidden entries are left out, and the
/// directories `skip(name, depth)` names; a symlink counts when it leads to a
/// file, and links to directories are not followed, so a link loop cannot
/// trap the walk. A directory that cannot be read is an error.
pub(crate) fn walk_yaml(
    dir: &Path,
    depth: usize,
    skip: &dyn Fn(&str, usize) -> bool,
    errors: &mut Vec<LoadError>,
    found: &mut dyn FnMut(PathBuf, &mut Vec<LoadError>),
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(LoadError::file(
                dir,
                format!("cannot read directory: {}", io_reason(&e)),
            ));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if !skip(&name, depth) {
                walk_yaml(&path, depth + 1, skip, errors, found);
            }
            continue;
        }
        let is_file = file_type.is_file() || std::fs::metadata(&path).is_ok_and(|m| m.is_file());
        if is_file && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            found(path, errors);
        }
    }
}

/// Reads a YAML file as text: UTF-8 (located error otherwise), without a byte-order mark.
pub(crate) fn read(path: &Path) -> Result<String, Box<LoadError>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Box::new(LoadError::file(
            path,
            format!("cannot read: {}", io_reason(&e)),
        ))
    })?;
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.remove(0);
            }
            Ok(text)
        }
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = String::from_utf8_lossy(valid);
            let line = valid.matches('\n').count() as u32 + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            Err(Box::new(
                LoadError::at(
                    path,
                    &text,
                    line,
                    column,
                    1,
                    "the file is not UTF-8 text".to_owned(),
                )
                .with_help(Some("save the file as UTF-8".to_owned())),
            ))
        }
    }
}

pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}
