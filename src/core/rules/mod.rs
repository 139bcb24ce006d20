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
mod mute;
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

use chrono::{DateTime, Utc};

/// Where results are split: a column of the lead schema, so it lives with the schema.
pub use crate::model::GroupBy;
pub use calendar::{Calendar, OpenHours, local_instant};
pub use diagnostic::{LoadError, LoadErrors};
pub use model::{
    Alert, ChannelKind, Checks, Duration, Endpoint, ErrorPolicy, Kind, MinAttempts, NoDataPolicy,
    Objective, Origin, Recipient, Review, ReviewEvery, Spec, Target, Team, Trend, TrendCompare,
    Window,
};
pub use mute::MuteTime;
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

    /// Who gets the review: the receivers ([`RuleSet::receivers`]) of
    /// `review.to`, or of every team when `to` is empty. Empty without
    /// `review:`.
    pub fn review_receivers(&self) -> BTreeSet<String> {
        match &self.review {
            None => BTreeSet::new(),
            Some(r) if r.to.is_empty() => self
                .teams
                .values()
                .flat_map(|t| t.receivers().map(str::to_owned))
                .collect(),
            Some(r) => self.receivers(&r.to),
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

    /// The e-mail addresses an objective's alerts go to: its `notify` teams'
    /// addresses and the addresses written directly, sorted and without
    /// repeats. Without the teams' endpoints: see [`RuleSet::notify_receivers`].
    pub fn notify_addresses(&self, objective: &Objective) -> BTreeSet<String> {
        self.addresses(&objective.alert.notify)
    }

    /// The e-mail addresses of `recipients`: teams' addresses and the
    /// addresses written directly, sorted and without repeats. Lead notices
    /// go to these only.
    pub fn addresses(&self, recipients: &[Recipient]) -> BTreeSet<String> {
        self.gather(recipients, |team| {
            Box::new(team.email.iter().map(String::as_str))
        })
    }

    /// The addresses written directly in `recipients`, and what `of` gives
    /// for each team named, sorted and without repeats.
    fn gather<'a>(
        &'a self,
        recipients: &[Recipient],
        of: impl Fn(&'a Team) -> Box<dyn Iterator<Item = &'a str> + 'a>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for r in recipients {
            match r {
                Recipient::Email(a) => {
                    out.insert(a.clone());
                }
                Recipient::Team(t) => {
                    if let Some(team) = self.teams.get(t) {
                        out.extend(of(team).map(str::to_owned));
                    }
                }
            }
        }
        out
    }

    /// Everyone an objective's alerts go to: [`RuleSet::receivers`] of its
    /// `notify`.
    pub fn notify_receivers(&self, objective: &Objective) -> BTreeSet<String> {
        self.receivers(&objective.alert.notify)
    }

    /// The receivers of `recipients`: the named teams' e-mail addresses and
    /// endpoint ids ([`Endpoint::id`]), and the addresses written directly,
    /// sorted and without repeats. An endpoint two teams list is one receiver.
    pub fn receivers(&self, recipients: &[Recipient]) -> BTreeSet<String> {
        self.gather(recipients, |team| Box::new(team.receivers()))
    }

    /// The endpoint whose id is `receiver`; `None` for an e-mail address.
    pub fn endpoint(&self, receiver: &str) -> Option<&Endpoint> {
        self.teams
            .values()
            .flat_map(Team::endpoints)
            .find(|e| e.id == receiver)
    }

    /// The names of the teams that list `receiver` (an e-mail address or an
    /// endpoint id), sorted.
    pub fn receiver_teams(&self, receiver: &str) -> Vec<&str> {
        self.teams
            .values()
            .filter(|t| t.lists(receiver))
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Whether notices to `receiver` wait at `at`: some team lists it and
    /// every team that lists it is muted ([`Team::muted_at`]). Never for a
    /// receiver no team lists (an address written directly in `notify`).
    pub fn muted(&self, receiver: &str, at: DateTime<Utc>) -> bool {
        let mut listing = self.teams.values().filter(|t| t.lists(receiver)).peekable();
        listing.peek().is_some() && listing.all(|t| t.muted_at(at))
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
    load_dir_with(path, &|name| std::env::var(name).ok())
}

/// [`load_dir`] for a command that needs the rules' names and zones but
/// sends nothing (`handoff silence`): a `${NAME}` in a URL that the
/// environment does not set stands for `https://unset.invalid/NAME`, so that
/// the command works without the webhook secrets in the shell.
///
/// # Errors
///
/// As [`load_dir`], an unset variable aside.
pub fn load_dir_without_secrets(path: &Path) -> Result<RuleSet, LoadErrors> {
    load_dir_with(path, &|name| {
        Some(
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| format!("https://unset.invalid/{name}")),
        )
    })
}

fn load_dir_with(path: &Path, env: values::Env) -> Result<RuleSet, LoadErrors> {
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
    finish_with(&files, errors, env)
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

/// [`load_texts`] with `${NAME}` in URLs read from `env` rather than the
/// process environment.
#[cfg(test)]
pub(crate) fn load_texts_with_env(
    files: &[(&str, &str)],
    env: values::Env,
) -> Result<RuleSet, LoadErrors> {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(name, text)| SourceFile {
            path: PathBuf::from(name),
            text: (*text).to_owned(),
        })
        .collect();
    validate::check_with_env(&files, env).map_err(LoadErrors::new)
}

fn finish(files: &[SourceFile], errors: Vec<LoadError>) -> Result<RuleSet, LoadErrors> {
    finish_with(files, errors, &|name| std::env::var(name).ok())
}

fn finish_with(
    files: &[SourceFile],
    mut errors: Vec<LoadError>,
    env: values::Env,
) -> Result<RuleSet, LoadErrors> {
    match validate::check_with_env(files, env) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN123";

    /// The environment of these tests: two Slack URLs and an ops webhook.
    fn env(name: &str) -> Option<String> {
        match name {
            "SLACK_SALES_URL" => Some(SECRET.to_owned()),
            "SLACK_OTHER" => {
                Some(" https://hooks.slack.com/services/T000/B111/OTHERTOKEN456\n".to_owned())
            }
            "OPS_HOST" => Some("ops.acme.example:8443".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn load(text: &str) -> RuleSet {
        load_texts_with_env(&[("t.yaml", text)], &env).unwrap_or_else(|e| panic!("{e}"))
    }

    fn load_err(text: &str) -> String {
        load_texts_with_env(&[("t.yaml", text)], &env)
            .expect_err("should not load")
            .to_string()
    }

    const TEAMS: &str = "version: 1
timezone: Europe/Berlin
teams:
  sales:
    email: sales@acme.example
    slack: ${SLACK_SALES_URL}
    webhook: https://${OPS_HOST}/hooks/handoff?key=abc
    mute:
      - { weekdays: 'sat,sun' }
  marketing:
    email: [mkt@acme.example, sales@acme.example]
    slack: ['${SLACK_SALES_URL}', 'https://hooks.slack.com/services/T000/B000/LITERAL999']
  ops:
    msteams: ${SLACK_OTHER}
    mute:
      - { dates: 2026-12-19..2026-12-20 }
review: { to: [ops, cro@acme.example] }
objectives:
  - name: speed
    kind: percent_worked
    owner: sales
    schedule: '0 */15 * * * *'
    window: month
    respond_within: 4h
    target: 0.9
    alert: { notify: [sales, marketing, cro@acme.example] }
";

    #[test]
    fn endpoints_are_named_without_their_secret() {
        let set = load(TEAMS);
        let sales = set.team("sales").unwrap();
        let slack = &sales.slack[0];
        assert_eq!(slack.kind, ChannelKind::Slack);
        assert_eq!(slack.url(), SECRET);
        // The id hashes the URL as written, `${SLACK_SALES_URL}`: 10 hex digits.
        let hash = format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64("${SLACK_SALES_URL}".as_bytes())
        );
        assert_eq!(slack.id, format!("slack:hooks.slack.com/{}", &hash[..10]));
        assert_eq!(slack.shown, "${SLACK_SALES_URL}");
        // Written with a variable inside: the expanded host (with its port),
        // scheme and host shown, the rest hidden.
        let hook = &sales.webhook[0];
        assert_eq!(
            hook.url(),
            "https://ops.acme.example:8443/hooks/handoff?key=abc"
        );
        assert!(hook.id.starts_with("webhook:ops.acme.example:8443/"));
        assert_eq!(hook.shown, "https://ops.acme.example:8443/…");
        // A value is trimmed.
        let teams_url = &set.team("ops").unwrap().msteams[0];
        assert_eq!(
            teams_url.url(),
            "https://hooks.slack.com/services/T000/B111/OTHERTOKEN456"
        );
        assert!(teams_url.id.starts_with("msteams:hooks.slack.com/"));
        // A literal URL shows scheme and host only.
        let literal = &set.team("marketing").unwrap().slack[1];
        assert_eq!(literal.shown, "https://hooks.slack.com/…");

        for e in set.teams().values().flat_map(Team::endpoints) {
            for text in [&e.id, &e.shown, &format!("{e:?}")] {
                for secret in ["SECRETTOKEN123", "OTHERTOKEN456", "LITERAL999", "key=abc"] {
                    assert!(!text.contains(secret), "{text}");
                }
            }
        }
        let debug = format!("{set:?}");
        for secret in ["SECRETTOKEN123", "OTHERTOKEN456", "LITERAL999", "key=abc"] {
            assert!(!debug.contains(secret), "{secret} in the rule set's Debug");
        }
        let normalized = set.normalized().to_string();
        for secret in ["SECRETTOKEN123", "OTHERTOKEN456", "LITERAL999", "key=abc"] {
            assert!(!normalized.contains(secret), "{secret} in {normalized}");
        }
    }

    /// The id of `slack: ${SLACK_SALES_URL}` (rules/README.md shows it): a
    /// release that changes it renames every endpoint in the notification
    /// log and the outbox.
    #[test]
    fn endpoint_ids_are_stable() {
        let set = load(TEAMS);
        assert_eq!(
            set.team("sales").unwrap().slack[0].id,
            "slack:hooks.slack.com/51a3186cf0"
        );
    }

    #[test]
    fn the_same_url_in_two_teams_is_one_receiver() {
        let set = load(TEAMS);
        let a = &set.team("sales").unwrap().slack[0];
        let b = &set.team("marketing").unwrap().slack[0];
        assert_eq!(a.id, b.id);
        // sales: 1 address + slack + webhook; marketing adds mkt@ and its
        // literal Slack URL (sales@ and the shared Slack URL are told once);
        // cro@ is written directly: 6 receivers.
        let o = set.objective("speed").unwrap();
        let receivers = set.notify_receivers(o);
        assert_eq!(receivers.len(), 6, "{receivers:?}");
        assert!(receivers.contains(&a.id));
        assert!(receivers.contains("cro@acme.example"));
        // Addresses stay e-mail only.
        assert_eq!(
            set.notify_addresses(o).into_iter().collect::<Vec<_>>(),
            ["cro@acme.example", "mkt@acme.example", "sales@acme.example"]
        );
        assert_eq!(set.endpoint(&a.id), Some(a));
        assert_eq!(set.endpoint("sales@acme.example"), None);
        assert_eq!(set.receiver_teams(&a.id), ["marketing", "sales"]);
        assert_eq!(
            set.receiver_teams("sales@acme.example"),
            ["marketing", "sales"]
        );
        assert!(set.receiver_teams("cro@acme.example").is_empty());
        // The review goes to ops's Teams URL and to cro@.
        let ops = &set.team("ops").unwrap().msteams[0];
        assert_eq!(
            set.review_receivers(),
            BTreeSet::from([ops.id.clone(), "cro@acme.example".to_owned()])
        );
    }

    #[test]
    fn a_receiver_is_muted_when_every_team_listing_it_is() {
        let set = load(TEAMS);
        let shared = set.team("sales").unwrap().slack[0].id.clone();
        let webhook = set.team("sales").unwrap().webhook[0].id.clone();
        let ops = set.team("ops").unwrap().msteams[0].id.clone();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        // Saturday 12 Dec 2026: sales is muted, marketing (no mute) is not.
        let saturday = at("2026-12-12T12:00:00Z");
        assert!(set.team("sales").unwrap().muted_at(saturday));
        assert!(set.muted(&webhook, saturday), "only sales lists it");
        assert!(!set.muted(&shared, saturday), "marketing lists it too");
        assert!(!set.muted("sales@acme.example", saturday));
        assert!(!set.muted("mkt@acme.example", saturday));
        // An address written directly is in no team: never muted.
        assert!(!set.muted("cro@acme.example", saturday));
        assert!(!set.muted("nobody@acme.example", saturday));
        // Saturday 19 Dec: ops is muted too (its dates), so its URL is.
        let later = at("2026-12-19T12:00:00Z");
        assert!(set.muted(&ops, later));
        assert!(!set.muted(&ops, saturday));
        // Monday: nobody.
        assert!(!set.muted(&webhook, at("2026-12-14T12:00:00Z")));
    }

    #[test]
    fn a_team_needs_a_channel() {
        let team = |t: &str| format!("version: 1\nteams:\n  sales: {t}\n");
        let set = load(&team("{ slack: '${SLACK_SALES_URL}' }"));
        assert!(set.team("sales").unwrap().email.is_empty());
        let e = load_err(&team("{ mute: [] }"));
        assert!(
            e.contains("team `sales` has no `email`, `webhook`, `slack` or `msteams`"),
            "{e}"
        );
        let e = load_err(&team("{ email: [], slack: '${SLACK_SALES_URL}' }"));
        assert!(e.contains("`email` is empty"), "{e}");
    }

    #[test]
    fn url_errors_name_the_variable_and_never_the_url() {
        let team = |t: &str| format!("version: 1\nteams:\n  sales: {{ {t} }}\n");
        let e = load_err(&team("slack: '${SLACK_NOPE}'"));
        assert!(
            e.contains("environment variable SLACK_NOPE is not set"),
            "{e}"
        );
        let e = load_err(&team("slack: '${EMPTY}'"));
        assert!(e.contains("environment variable EMPTY is not set"), "{e}");
        let e = load_err(&team("slack: 'https://${SLACK_SALES_URL'"));
        assert!(e.contains("`${` has no closing `}`"), "{e}");
        let e = load_err(&team("slack: '${1X}'"));
        assert!(e.contains("`${1X}` is not an environment variable"), "{e}");
        // A URL that expands to a bad one names the variable only.
        let e = load_err(&team("webhook: 'ftp://${OPS_HOST}/x'"));
        assert!(
            e.contains(
                "the `webhook` URL does not start with `http://` or `https://` (it comes from \
                 environment variable OPS_HOST)"
            ),
            "{e}"
        );
        let e = load_err(&team("webhook: '${OPS_HOST}${SLACK_SALES_URL}'"));
        assert!(
            e.contains(
                "does not start with `http://` or `https://` (it comes from environment \
                 variables OPS_HOST and SLACK_SALES_URL)"
            ),
            "{e}"
        );
        assert!(
            !e.contains("SECRETTOKEN123") && !e.contains("hooks.slack"),
            "{e}"
        );
        // A variable used twice is named once.
        let e = load_err(&team("webhook: 'https://${OPS_HOST}${OPS_HOST}/x'"));
        assert!(
            e.contains("has no valid host (it comes from environment variable OPS_HOST)"),
            "{e}"
        );
        let e = load_err(&team("msteams: https://"));
        assert!(e.contains("the `msteams` URL has no valid host"), "{e}");
        let e = load_err(&team("msteams: 'https://a b.example/x'"));
        assert!(e.contains("contains spaces or control characters"), "{e}");
        let e = load_err(&team("msteams: 'https://user:pw@/x'"));
        assert!(e.contains("has no valid host"), "{e}");
    }

    #[test]
    fn mutes_need_a_zone_and_a_field() {
        let e = load_err(
            "version: 1\nteams:\n  sales: { email: s@acme.example, mute: [{ weekdays: sat }] }\n",
        );
        assert!(e.contains("missing field `timezone`"), "{e}");
        let e = load_err(
            "version: 1\ntimezone: UTC\nteams:\n  sales: { email: s@acme.example, mute: [{}] }\n",
        );
        assert!(
            e.contains("a `mute` entry needs `weekdays`, `times` or `dates`"),
            "{e}"
        );
        // A misspelled field is reported once, not also as an empty entry.
        let e = load_texts_with_env(
            &[(
                "t.yaml",
                "version: 1\ntimezone: UTC\nteams:\n  sales: { email: s@acme.example, mute: [{ weekday: sat }] }\n",
            )],
            &env,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e}");
        assert!(e.errors()[0].message.contains("did you mean `weekdays`?"));
    }
}
