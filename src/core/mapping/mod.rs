//! Mapping files: how a CRM's export files become handoff's canonical tables.
//!
//! A mapping names, for each canonical table, the source file that feeds it and,
//! for each canonical column, the source column (by its header) or a constant,
//! with the ways to read it: date formats and the time zone of local times,
//! number separators and currency symbols, boolean words, value maps, a
//! condition, a multi-valued field's separator, and a translation through
//! another file of the folder. The shipped `hubspot` and `salesforce` mappings
//! are mapping files too (`src/core/mapping/*.yaml`, built into the binary).
//!
//! Loading checks a mapping like a rule file: every error located in the YAML,
//! with the near miss suggested. Whether the source columns exist is known only
//! with the files, so [`read::Plan::bind`] checks that against each header.

mod raw;
pub mod read;

use std::path::{Path, PathBuf};

use chrono::format::{Item, StrftimeItems};
use chrono_tz::Tz;
use schemars::generate::SchemaSettings;

use crate::model::{ColumnType, Table};
use crate::rules::yaml::{self, Loc, Sp, Value};
use crate::rules::{LoadError, LoadErrors};
use crate::suggest;
use raw::{
    Action as RawAction, RawColumn, RawCondition, RawFile, RawMapping, RawSpec, Scalar, TableName,
};

/// The mappings built into handoff: name, file name, text.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    ("hubspot", "hubspot.yaml", include_str!("hubspot.yaml")),
    (
        "salesforce",
        "salesforce.yaml",
        include_str!("salesforce.yaml"),
    ),
];

/// Date formats tried when a mapping names none (after RFC 3339).
pub const DEFAULT_DATES: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d"];

/// A checked mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// `hubspot`, or the file it was read from.
    pub name: String,
    pub description: Option<String>,
    /// The zone of local times, if the mapping names one.
    pub timezone: Option<Tz>,
    pub dates: Vec<String>,
    pub numbers: Numbers,
    pub booleans: Booleans,
    /// In reference order (reps, leads, touches, deals), then file order.
    pub files: Vec<FileMap>,
}

/// How numbers are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbers {
    pub decimal: char,
    /// `None`: no thousands separator.
    pub thousands: Option<char>,
}

/// The words for true and false, lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booleans {
    pub yes: Vec<String>,
    pub no: Vec<String>,
}

/// Where something is written in a mapping file: `hubspot.yaml:12:7`.
pub type Origin = String;

/// One source file feeding one canonical table.
#[derive(Debug, Clone)]
pub struct FileMap {
    pub file: String,
    pub table: Table,
    pub description: Option<String>,
    pub distinct: bool,
    pub filter: Vec<Condition>,
    pub columns: Vec<ColumnMap>,
    /// Canonical columns the export cannot fill, with what that means.
    pub missing: Vec<(&'static str, String)>,
    pub at: Origin,
}

/// A condition on a source column.
#[derive(Debug, Clone)]
pub struct Condition {
    pub column: String,
    /// Lowercase, trimmed.
    pub values: Vec<String>,
    /// `not_in` rather than `in`.
    pub negate: bool,
    pub at: Origin,
}

impl Condition {
    /// Whether `value` meets it.
    pub fn holds(&self, value: &str) -> bool {
        let v = value.trim().to_lowercase();
        self.values.contains(&v) != self.negate
    }
}

/// Where a canonical column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Column(String),
    Value(String),
}

/// What to do with a value that does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Keep,
    Empty,
    Skip,
    Error,
}

impl From<RawAction> for Action {
    fn from(a: RawAction) -> Action {
        match a {
            RawAction::Keep => Action::Keep,
            RawAction::Empty => Action::Empty,
            RawAction::Skip => Action::Skip,
            RawAction::Error => Action::Error,
        }
    }
}

/// A translation through another file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lookup {
    pub file: String,
    pub key: String,
    pub value: String,
}

/// One canonical column of a [`FileMap`].
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Index into the table's columns.
    pub column: usize,
    pub name: &'static str,
    pub source: Source,
    pub at: Origin,
    /// Date formats for this column (the mapping's when it names none).
    pub formats: Option<Vec<String>>,
    pub timezone: Option<Tz>,
    pub when: Option<Condition>,
    pub split: Option<String>,
    pub lookup: Option<(Lookup, Origin)>,
    pub unmatched: Action,
    /// Lowercase source value → canonical value (`None`: empty).
    pub map: Option<Vec<(String, Option<String>)>>,
    pub others: Action,
    /// The value when the result is empty.
    pub default: Option<String>,
    /// `Skip` or `Error`; `None` is the default (an error when required).
    pub if_empty: Option<Action>,
    /// `Skip`, `Empty` or `Error`.
    pub if_unknown: Action,
    pub note: Option<String>,
}

/// Loads a mapping: `hubspot` or `salesforce`, or the path of a mapping file.
///
/// # Errors
///
/// Every problem in the file, located and explained.
pub fn load(spec: &str) -> Result<Mapping, LoadErrors> {
    if let Some((name, file, text)) = BUILTIN.iter().find(|(n, _, _)| *n == spec) {
        let mut m = load_str(file, text)?;
        m.name = (*name).to_owned();
        return Ok(m);
    }
    let path = Path::new(spec);
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(spec, text.trim_start_matches('\u{feff}')),
        Err(e) => {
            let mut message = format!("cannot read the mapping file: {e}");
            if e.kind() == std::io::ErrorKind::NotFound {
                let names: Vec<&str> = BUILTIN.iter().map(|(n, _, _)| *n).collect();
                message = format!(
                    "no such mapping file, and not one of the built-in mappings ({}){}",
                    names.join(", "),
                    suggest::hint(spec, names.iter().copied())
                );
            }
            Err(LoadErrors::new(vec![LoadError::file(path, message)]))
        }
    }
}

/// Loads a mapping given as text; `name` is the file name errors show.
///
/// # Errors
///
/// As [`load`].
pub fn load_str(name: &str, text: &str) -> Result<Mapping, LoadErrors> {
    let mut c = Checker {
        path: PathBuf::from(name),
        text,
        errors: Vec::new(),
        dropped: std::collections::BTreeSet::new(),
        words: Vec::new(),
    };
    let mapping = c.mapping(name);
    match mapping {
        Some(m) if c.errors.is_empty() => Ok(m),
        _ => {
            if c.errors.is_empty() {
                c.error(Loc::TOP, "this mapping could not be read");
            }
            c.errors.sort_by_key(|e| (e.line, e.column));
            Err(LoadErrors::new(c.errors))
        }
    }
}

/// The JSON Schema (draft 2020-12) of mapping files.
pub fn json_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut root = generator.into_root_schema_for::<RawMapping>().to_value();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("title".into(), "handoff mapping file".into());
    }
    root
}

struct Checker<'a> {
    path: PathBuf,
    text: &'a str,
    errors: Vec<LoadError>,
    /// Keys dropped by recovery (already reported), by their mapping's location.
    dropped: std::collections::BTreeSet<(Loc, String)>,
    /// The boolean words, lowercase, for checking constants and map targets.
    words: Vec<String>,
}

impl Checker<'_> {
    /// A missing field, unless recovery dropped a key for it (already reported).
    fn missing(&mut self, loc: Loc, field: &str, help: String) {
        if !self.dropped.contains(&(loc, field.to_owned())) {
            self.help(loc, format!("missing field `{field}`"), Some(help));
        }
    }

    fn error(&mut self, loc: Loc, message: impl Into<String>) {
        self.help(loc, message, None);
    }

    fn help(&mut self, loc: Loc, message: impl Into<String>, help: Option<String>) {
        let loc = if loc.is_known() { loc } else { Loc::TOP };
        self.errors.push(
            LoadError::at(
                &self.path,
                self.text,
                loc.line,
                loc.column,
                loc.len.max(1),
                message.into(),
            )
            .with_help(help),
        );
    }

    fn origin(&self, loc: Loc) -> Origin {
        let name = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        format!("{name}:{}:{}", loc.line, loc.column)
    }

    fn mapping(&mut self, name: &str) -> Option<Mapping> {
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
                "empty mapping file",
                Some("a mapping starts with `version: 1` and lists its `files:`".to_owned()),
            );
            return None;
        }
        let recovered = yaml::from_node_recovering::<RawMapping>(tree);
        for e in recovered.errors {
            self.help(e.loc.unwrap_or(Loc::TOP), e.message, e.help);
        }
        self.dropped = recovered.dropped;
        let tree = recovered.tree;
        let raw = recovered.value?;
        match &raw.version {
            Some(v) if v.value != 1 => self.help(
                v.loc,
                format!("unsupported version {}", v.value),
                Some("this handoff reads version 1 mapping files: write `version: 1`".into()),
            ),
            Some(_) => {}
            None => self.help(
                tree.loc,
                "missing field `version`",
                Some("add `version: 1`".into()),
            ),
        }
        let timezone = raw.timezone.as_ref().and_then(|tz| self.timezone(tz));
        let dates = match &raw.dates {
            Some(d) => self.formats(d),
            None => DEFAULT_DATES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let numbers = self.numbers(raw.numbers.as_ref());
        let booleans = self.booleans(raw.booleans.as_ref());
        self.words = booleans.yes.iter().chain(&booleans.no).cloned().collect();
        let mut files = Vec::new();
        match &raw.files {
            None => self.help(
                tree.loc,
                "missing field `files`",
                Some("list the source files: `files: [{ file: contacts.csv, table: leads, columns: {…} }]`".into()),
            ),
            Some(list) if list.value.is_empty() => self.error(list.loc, "`files` is empty: list at least one source file"),
            Some(list) => {
                for f in &list.value {
                    if let Some(file) = self.file(f) {
                        files.push(file);
                    }
                }
            }
        }
        files.sort_by_key(|f| Table::ALL.iter().position(|&t| t == f.table));
        Some(Mapping {
            name: name.to_owned(),
            description: raw.description.clone(),
            timezone,
            dates,
            numbers,
            booleans,
            files,
        })
    }

    fn timezone(&mut self, tz: &Sp<Scalar>) -> Option<Tz> {
        let text = tz.value.0.trim();
        match text.parse::<Tz>() {
            Ok(z) => Some(z),
            Err(_) => {
                let hint = suggest::hint(text, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()));
                self.help(
                    tz.loc,
                    format!("unknown time zone `{text}`{hint}"),
                    Some("use an IANA name such as `America/New_York` or `UTC`".into()),
                );
                None
            }
        }
    }

    fn formats(&mut self, d: &Sp<raw::OneOrMany>) -> Vec<String> {
        if d.value.0.is_empty() {
            self.error(
                d.loc,
                "no date format: give at least one, such as `%m/%d/%Y %H:%M`",
            );
        }
        for f in &d.value.0 {
            if let Err(why) = check_format(f) {
                self.help(d.loc, format!("bad date format `{f}`: {why}"), Some(
                    "formats are chrono's strftime: `%Y-%m-%d %H:%M`, `%m/%d/%Y %I:%M %p`, `%d.%m.%Y`".into(),
                ));
            }
        }
        d.value.0.clone()
    }

    fn numbers(&mut self, n: Option<&Sp<raw::RawNumbers>>) -> Numbers {
        let mut out = Numbers {
            decimal: '.',
            thousands: Some(','),
        };
        let Some(n) = n else { return out };
        if let Some(d) = &n.value.decimal {
            match d.value.0.as_str() {
                "." => out.decimal = '.',
                "," => {
                    out.decimal = ',';
                    out.thousands = Some('.');
                }
                other => self.error(
                    d.loc,
                    format!("decimal separator `{other}`: expected `.` or `,`"),
                ),
            }
        }
        if let Some(t) = &n.value.thousands {
            let s = t.value.0.as_str();
            out.thousands = match s {
                "" => None,
                "," | "." | " " | "'" => s.chars().next(),
                other => {
                    self.error(t.loc, format!("thousands separator `{other}`: expected `,`, `.`, ` `, `'` or `\"\"` for none"));
                    out.thousands
                }
            };
            if out.thousands == Some(out.decimal) {
                self.error(t.loc, "the thousands separator is the decimal separator");
            }
        }
        out
    }

    fn booleans(&mut self, b: Option<&Sp<raw::RawBooleans>>) -> Booleans {
        let words = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut out = Booleans {
            yes: words(&["true", "yes", "y", "1"]),
            no: words(&["false", "no", "n", "0"]),
        };
        let Some(b) = b else { return out };
        if let Some(yes) = &b.value.yes {
            out.yes = yes
                .value
                .iter()
                .map(|s| s.value.0.trim().to_lowercase())
                .collect();
        }
        if let Some(no) = &b.value.no {
            out.no = no
                .value
                .iter()
                .map(|s| s.value.0.trim().to_lowercase())
                .collect();
        }
        if let Some(both) = out.yes.iter().find(|w| out.no.contains(w)) {
            self.error(b.loc, format!("`{both}` is listed as both true and false"));
        }
        out
    }

    fn condition(&mut self, c: &Sp<RawCondition>) -> Option<Condition> {
        let column = match &c.value.column {
            Some(col) => col.value.clone(),
            None => {
                self.help(
                    c.loc,
                    "missing field `column`",
                    Some("a condition is `{ column: HEADER, in: [values] }`".into()),
                );
                return None;
            }
        };
        let (list, negate) = match (&c.value.is_in, &c.value.not_in) {
            (Some(l), None) => (l, false),
            (None, Some(l)) => (l, true),
            (Some(_), Some(l)) => {
                self.error(l.loc, "a condition takes `in` or `not_in`, not both");
                return None;
            }
            (None, None) => {
                self.help(
                    c.loc,
                    "a condition needs `in` or `not_in`",
                    Some("e.g. `{ column: Type, in: [Call, Email] }`".into()),
                );
                return None;
            }
        };
        Some(Condition {
            column,
            values: list
                .value
                .iter()
                .map(|v| v.value.0.trim().to_lowercase())
                .collect(),
            negate,
            at: self.origin(c.loc),
        })
    }

    fn file(&mut self, f: &Sp<RawFile>) -> Option<FileMap> {
        let raw = &f.value;
        let file = match &raw.file {
            Some(name) if !name.value.trim().is_empty() => name.value.trim().to_owned(),
            Some(name) => {
                self.error(
                    name.loc,
                    "`file` is empty: name the source file, e.g. `contacts.csv`",
                );
                return None;
            }
            None => {
                self.missing(
                    f.loc,
                    "file",
                    "name the source file in the folder, e.g. `file: contacts.csv`".into(),
                );
                return None;
            }
        };
        let Some(table) = &raw.table else {
            self.missing(
                f.loc,
                "table",
                "the canonical table it feeds: reps, leads, touches or deals".into(),
            );
            return None;
        };
        let table = match table.value {
            TableName::Reps => Table::Reps,
            TableName::Leads => Table::Leads,
            TableName::Touches => Table::Touches,
            TableName::Deals => Table::Deals,
        };
        let filter = raw
            .filter
            .as_ref()
            .map(|l| l.value.iter().filter_map(|c| self.condition(c)).collect())
            .unwrap_or_default();
        let Some(cols) = &raw.columns else {
            let help = format!(
                "map at least `id`: `columns: {{ id: Record ID, … }}`; {} has {}",
                table.name(),
                column_names(table)
            );
            self.missing(f.loc, "columns", help);
            return None;
        };
        let mut columns: Vec<ColumnMap> = Vec::new();
        let mut written: Vec<usize> = Vec::new();
        for (key, spec) in &cols.value.0 {
            let Some(ci) = self.canonical(table, key) else {
                continue;
            };
            if written.contains(&ci) {
                self.error(key.loc, format!("`{}` is mapped twice", key.value));
                continue;
            }
            written.push(ci);
            if let Some(c) = self.column(table, ci, spec) {
                columns.push(c);
            }
        }
        let mut missing = Vec::new();
        if let Some(m) = &raw.missing {
            for (key, note) in &m.value.0 {
                let Some(ci) = self.canonical(table, key) else {
                    continue;
                };
                if columns.iter().any(|c| c.column == ci) {
                    self.error(
                        key.loc,
                        format!(
                            "`{}` is mapped in `columns` and listed as missing",
                            key.value
                        ),
                    );
                    continue;
                }
                match &note.value {
                    RawColumn::Header(text) => {
                        missing.push((table.columns()[ci].name, text.clone()))
                    }
                    RawColumn::Spec(_) => self.error(
                        note.loc,
                        "a missing column takes a note: what its absence means",
                    ),
                }
            }
        }
        for (ci, column) in table.columns().iter().enumerate() {
            if column.required && !written.contains(&ci) {
                let help = match column.ty {
                    ColumnType::Bool | ColumnType::Enum(_) => format!(
                        "map it to a source column, or give a constant: `{}: {{ value: {} }}`",
                        column.name,
                        example(column.ty)
                    ),
                    _ => format!("map it to a source column: `{}: HEADER`", column.name),
                };
                self.help(
                    cols.loc,
                    format!(
                        "{} needs `{}`, which is not mapped",
                        table.name(),
                        column.name
                    ),
                    Some(help),
                );
            }
        }
        Some(FileMap {
            file,
            table,
            description: raw.description.clone(),
            distinct: raw.distinct.as_ref().is_some_and(|d| d.value),
            filter,
            columns,
            missing,
            at: self.origin(f.loc),
        })
    }

    fn canonical(&mut self, table: Table, key: &Sp<String>) -> Option<usize> {
        let ci = table.column(&key.value);
        if ci.is_none() {
            let names = table.columns().iter().map(|c| c.name);
            let hint = suggest::hint(&key.value, names);
            self.help(
                key.loc,
                format!("{} has no column `{}`{hint}", table.name(), key.value),
                Some(format!(
                    "the columns of {} are {}",
                    table.name(),
                    column_names(table)
                )),
            );
        }
        ci
    }

    fn column(&mut self, table: Table, ci: usize, spec: &Sp<RawColumn>) -> Option<ColumnMap> {
        let column = table.columns()[ci];
        let mut out = ColumnMap {
            column: ci,
            name: column.name,
            source: Source::Value(String::new()),
            at: self.origin(spec.loc),
            formats: None,
            timezone: None,
            when: None,
            split: None,
            lookup: None,
            unmatched: Action::Empty,
            map: None,
            others: Action::Error,
            default: None,
            if_empty: None,
            if_unknown: Action::Error,
            note: None,
        };
        let s: &RawSpec = match &spec.value {
            RawColumn::Header(h) if h.trim().is_empty() => {
                self.error(
                    spec.loc,
                    format!("`{}` maps to an empty header", column.name),
                );
                return None;
            }
            RawColumn::Header(h) => {
                out.source = Source::Column(h.clone());
                return Some(out);
            }
            RawColumn::Spec(s) => s,
        };
        out.source = match (&s.column, &s.value) {
            (Some(c), None) => Source::Column(c.value.clone()),
            (None, Some(v)) => Source::Value(v.value.0.clone()),
            (Some(_), Some(v)) => {
                self.error(
                    v.loc,
                    "`column` and `value` together: a column comes from one or the other",
                );
                return None;
            }
            (None, None) => {
                self.help(
                    spec.loc,
                    format!(
                        "`{}` needs `column` (a source header) or `value` (a constant)",
                        column.name
                    ),
                    None,
                );
                return None;
            }
        };
        let is_time = column.ty == ColumnType::Timestamp;
        if let Some(f) = &s.format {
            if is_time {
                out.formats = Some(self.formats(f));
            } else {
                self.error(
                    f.loc,
                    format!("`format` reads dates, and `{}` is not a date", column.name),
                );
            }
        }
        if let Some(tz) = &s.timezone {
            if is_time {
                out.timezone = self.timezone(tz);
            } else {
                self.error(
                    tz.loc,
                    format!(
                        "`timezone` reads local times, and `{}` is not a date",
                        column.name
                    ),
                );
            }
        }
        out.when = s.when.as_ref().and_then(|c| self.condition(c));
        if let Some(sep) = &s.split {
            if sep.value.0.is_empty() {
                self.error(sep.loc, "`split` needs a separator, such as `;`");
            }
            out.split = Some(sep.value.0.clone());
        }
        if let Some(l) = &s.lookup {
            let part = |p: &Option<Sp<String>>| p.as_ref().map(|x| x.value.clone());
            match (
                part(&l.value.file),
                part(&l.value.key),
                part(&l.value.value),
            ) {
                (Some(file), Some(key), Some(value)) => {
                    out.lookup = Some((Lookup { file, key, value }, self.origin(l.loc)));
                }
                _ => self.help(
                    l.loc,
                    "a lookup needs `file`, `key` and `value`",
                    Some(
                        "e.g. `lookup: { file: Lead.csv, key: ConvertedOpportunityId, value: Id }`"
                            .into(),
                    ),
                ),
            }
        }
        if let Some(u) = &s.unmatched {
            if out.lookup.is_none() {
                self.error(
                    u.loc,
                    "`unmatched` applies to a `lookup`, and there is none",
                );
            }
            out.unmatched = u.value.into();
        }
        if let Some(m) = &s.map {
            let mut pairs = Vec::new();
            for (from, to) in &m.value.0 {
                let key = from.value.0.trim().to_lowercase();
                if pairs
                    .iter()
                    .any(|(k, _): &(String, Option<String>)| *k == key)
                {
                    self.error(
                        from.loc,
                        format!(
                            "`{}` is mapped twice (source values match without regard to case)",
                            from.value.0
                        ),
                    );
                    continue;
                }
                if let Some(to) = to
                    && let Err(why) = self.check_value(column.ty, &to.0)
                {
                    self.error(
                        from.loc,
                        format!("`{}` maps to `{}`: {why}", from.value.0, to.0),
                    );
                }
                pairs.push((key, to.as_ref().map(|t| t.0.clone())));
            }
            out.map = Some(pairs);
        }
        if let Some(o) = &s.others {
            if out.map.is_none() {
                self.error(o.loc, "`others` applies to a `map`, and there is none");
            }
            out.others = o.value.into();
        }
        if let Some(d) = &s.default {
            if let Err(why) = self.check_value(column.ty, &d.value.0) {
                self.error(d.loc, format!("default `{}`: {why}", d.value.0));
            }
            out.default = Some(d.value.0.clone());
        }
        if let Some(e) = &s.if_empty {
            match e.value {
                RawAction::Skip | RawAction::Error => out.if_empty = Some(e.value.into()),
                _ => self.error(e.loc, "`if_empty` is `skip` (the row) or `error`"),
            }
        }
        if let Some(u) = &s.if_unknown {
            if column.references.is_none() {
                self.error(
                    u.loc,
                    format!(
                        "`if_unknown` applies to references (owner_id, lead_id, rep_id), not `{}`",
                        column.name
                    ),
                );
            } else if u.value == RawAction::Keep {
                self.error(u.loc, "`if_unknown` is `skip` (the row), `empty` or `error`: a reference must name a row");
            } else if u.value == RawAction::Empty && column.required {
                self.error(
                    u.loc,
                    format!(
                        "`{}` is required, so it cannot be emptied: use `skip` or `error`",
                        column.name
                    ),
                );
            }
            out.if_unknown = u.value.into();
        }
        if let Source::Value(v) = &out.source
            && out.map.is_none()
            && let Err(why) = self.check_value(column.ty, v)
        {
            self.error(spec.loc, format!("`{}: {v}`: {why}", column.name));
        }
        out.note = s.note.clone();
        Some(out)
    }
}

fn column_names(table: Table) -> String {
    table
        .columns()
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn example(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Bool => "false",
        ColumnType::Enum(allowed) => allowed[0],
        _ => "…",
    }
}

impl Checker<'_> {
    /// Whether a canonical value written in the mapping (a map target, a
    /// constant or a default) fits the column: enumerations and booleans are
    /// known in advance.
    fn check_value(&self, ty: ColumnType, v: &str) -> Result<(), String> {
        if ty == ColumnType::Bool {
            let w = v.trim().to_lowercase();
            return if self.words.contains(&w) || w == "true" || w == "false" {
                Ok(())
            } else {
                Err(format!(
                    "expected a boolean word: {}",
                    self.words.join(", ")
                ))
            };
        }
        check_value(ty, v)
    }
}

/// Whether a canonical value fits an enumeration column.
fn check_value(ty: ColumnType, v: &str) -> Result<(), String> {
    match ty {
        ColumnType::Enum(allowed) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(v.trim())) => {
            Err(format!(
                "expected one of {}{}",
                allowed.join(", "),
                suggest::hint(v, allowed.iter().copied())
            ))
        }
        _ => Ok(()),
    }
}

/// Checks a strftime format: chrono understands it, and it has a day.
fn check_format(f: &str) -> Result<(), String> {
    if StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
        return Err("chrono does not understand it".to_owned());
    }
    let has = |specs: &[&str]| specs.iter().any(|s| f.contains(s));
    if !has(&["%d", "%e", "%j", "%F", "%D", "%x", "%c", "%+", "%s"]) {
        return Err("it has no day (`%d`)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mappings_load() {
        for (name, _, _) in BUILTIN {
            let m = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!m.files.is_empty());
            let order: Vec<usize> = m
                .files
                .iter()
                .map(|f| Table::ALL.iter().position(|&t| t == f.table).unwrap())
                .collect();
            assert!(order.is_sorted(), "{name}: files in reference order");
        }
    }

    /// Loading `text` gives exactly the errors `want`, as `LINE:COLUMN message`.
    fn assert_located(text: &str, want: &[&str]) {
        let errors = load_str("m.yaml", text).unwrap_err();
        let got: Vec<String> = errors
            .errors()
            .iter()
            .map(|e| format!("{}:{} {}", e.line, e.column, e.message))
            .collect();
        for w in want {
            assert!(
                got.iter().any(|g| g == w),
                "missing: {w}\ngot:\n{}",
                got.join("\n")
            );
        }
        assert_eq!(got.len(), want.len(), "{}", got.join("\n"));
    }

    /// Each class of mistake, located where it is written.
    #[test]
    fn every_mistake_is_located() {
        let text = "\
version: 2
timezone: America/New_Yrok
dates: \"%H:%M\"
numbers: { decimal: \";\" }
files:
  - file: contacts.csv
    table: lead
  - file: contacts.csv
    table: leads
    colums: {}
  - file: deals.csv
    table: deals
    columns:
      id: Record ID
      amout: Amount
      won: { column: Stage, map: { Won: sure, won: true } }
      created_at: { column: Created, value: x }
      lead_id: { column: Contact, if_unknown: keep, others: empty }
      closed_at: { column: Closed, format: \"%Q\", timezone: Mars/Base }
  - file: calls.csv
    table: touches
    columns:
      id: Id
      kind: { value: phone }
      lead_id: Contact
      occurred_at: { column: Date, split: \"\" }
      channel: Source
";
        let want = [
            "1:10 unsupported version 2",
            "2:11 unknown time zone `America/New_Yrok`; did you mean `America/New_York`?",
            "3:8 bad date format `%H:%M`: it has no day (`%d`)",
            "4:21 decimal separator `;`: expected `.` or `,`",
            "7:12 unknown value `lead` — did you mean `leads`?",
            "10:5 unknown field `colums` — did you mean `columns`?",
            "14:7 deals needs `amount`, which is not mapped",
            "15:7 deals has no column `amout`; did you mean `amount`?",
            "16:36 `Won` maps to `sure`: expected a boolean word: true, yes, y, 1, false, no, n, 0",
            "16:47 `won` is mapped twice (source values match without regard to case)",
            "17:45 `column` and `value` together: a column comes from one or the other",
            "18:47 `if_unknown` is `skip` (the row), `empty` or `error`: a reference must name a row",
            "18:61 `others` applies to a `map`, and there is none",
            "19:44 bad date format `%Q`: chrono does not understand it",
            "19:60 unknown time zone `Mars/Base`",
            "23:7 touches needs `direction`, which is not mapped",
            "23:7 touches needs `automated`, which is not mapped",
            "24:13 `kind: phone`: expected one of call, email, meeting, sms, social, other",
            "26:43 `split` needs a separator, such as `;`",
            "27:7 touches has no column `channel`",
        ];
        assert_located(text, &want);
    }

    /// The mistakes of conditions, lookups, words and separators.
    #[test]
    fn more_mistakes_are_located() {
        let text = "\
version: 1
numbers: { thousands: \"_\" }
booleans: { true: [ja, x], false: [nein, x] }
files:
  - file: t.csv
    table: touches
    where: [{ column: Type }, { column: Type, in: [a], not_in: [b] }]
    columns:
      id: Id
      lead_id: { column: Who, lookup: { file: Lead.csv, value: Id } }
      rep_id: { column: Owner, unmatched: keep, if_empty: keep }
      occurred_at: Date
      kind: { value: call }
      direction: { value: outbound }
      automated: { value: maybe }
";
        let want = [
            "2:23 thousands separator `_`: expected `,`, `.`, ` `, `'` or `\"\"` for none",
            "3:11 `x` is listed as both true and false",
            "7:13 a condition needs `in` or `not_in`",
            "7:64 a condition takes `in` or `not_in`, not both",
            "10:39 a lookup needs `file`, `key` and `value`",
            "11:43 `unmatched` applies to a `lookup`, and there is none",
            "11:59 `if_empty` is `skip` (the row) or `error`",
            "15:18 `automated: maybe`: expected a boolean word: ja, x, nein, x",
        ];
        assert_located(text, &want);
    }

    #[test]
    fn formats_are_checked() {
        assert!(check_format("%m/%d/%Y %I:%M %p").is_ok());
        assert!(check_format("%Y-%m-%d").is_ok());
        assert!(check_format("%H:%M").unwrap_err().contains("no day"));
        assert!(check_format("%Y-%m-%d %Q").is_err());
    }
}
