//! Canonical CSV import: `reps.csv`, `leads.csv`, `touches.csv`, `deals.csv`.
//!
//! Each file is read by a blocking parser thread that validates every field and
//! sends batches of good rows over a bounded channel to the writer, which checks
//! references against the database and upserts inside one transaction per file.
//! Only a few batches are in flight at a time; what grows with a file is the
//! duplicate-id check, 16 bytes per row (an id fingerprint and its line). A file with any bad row
//! is rolled back whole; its problems are all reported, located as
//! `FILE:LINE:COLUMN`, and the files that depend on it are not loaded.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use tokio::sync::mpsc;

use crate::mapping::read::{Lookups, Plan, RowOutcome, Zones};
use crate::mapping::{Action, Mapping};
use crate::model::{self, Column, ColumnType, GenericRow, OwnedValue, Table};
use crate::progress::{Progress, Unit};
use crate::store::{Encoded, Encoder, Store, StoreError, Tx, UpsertColumns};
use crate::suggest;

/// Rows per batch sent from the parser to the writer.
const BATCH_ROWS: usize = 10_000;
/// Batches the parser may run ahead of the writer.
const BATCHES_IN_FLIGHT: usize = 4;
/// Problems kept per file for the report; the rest are only counted.
const MAX_REPORTED_ERRORS: usize = 1_000;

/// Errors that stop an import as a whole (as opposed to bad rows, which are
/// reported in the [`ImportReport`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("no reps.csv, leads.csv, touches.csv or deals.csv in {0}")]
    NothingToImport(PathBuf),
    #[error("none of the files the mapping {mapping} reads ({files}) is in {dir}")]
    NothingMapped {
        mapping: String,
        files: String,
        dir: PathBuf,
    },
    #[error("{0}")]
    Lookup(String),
    #[error("failed to read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the CSV parser for {0} stopped unexpectedly")]
    ParserDied(PathBuf),
}

/// One problem in a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowError {
    /// 1-based line of the record (its first line, if a quoted field spans several).
    pub line: u64,
    /// 1-based field number.
    pub column: usize,
    pub message: String,
}

/// What happened to one file.
#[derive(Debug)]
pub enum Outcome {
    /// Every row was written.
    Imported {
        rows: u64,
        elapsed: Duration,
        /// Through a mapping: rows skipped and columns it could not fill.
        notes: Vec<String>,
    },
    /// Bad rows were found; nothing of the file was written.
    Rejected {
        /// The problems, by line: the first 1,000.
        errors: Vec<RowError>,
        /// How many problems there were in all.
        total: u64,
    },
    /// The file could not be read, or the database failed while loading it;
    /// nothing of it was written.
    Failed { error: String },
    /// Not attempted because a file it depends on was rejected or failed.
    Skipped { because: String },
    /// Every row was good, but another file of the folder was not, and the
    /// folder is imported whole or not at all: nothing was written.
    RolledBack { rows: u64, because: String },
}

/// The result for one file.
#[derive(Debug)]
pub struct FileReport {
    /// The file name as shown in messages (`leads.csv`).
    pub name: String,
    pub table: Table,
    /// Read through a mapping (the file may feed several tables).
    pub mapped: bool,
    pub outcome: Outcome,
}

/// The result of importing a directory.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
    /// `*.csv` files in the directory that are not canonical, with a hint.
    pub ignored: Vec<String>,
}

impl ImportReport {
    /// Whether every file present was imported.
    pub fn is_success(&self) -> bool {
        self.files
            .iter()
            .all(|f| matches!(f.outcome, Outcome::Imported { .. }))
    }

    /// Rows written, over all files.
    pub fn rows(&self) -> u64 {
        self.files
            .iter()
            .map(|f| match f.outcome {
                Outcome::Imported { rows, .. } => rows,
                _ => 0,
            })
            .sum()
    }
}

impl FileReport {
    /// `leads.csv`, or `contacts.csv → leads` for a file read through a mapping.
    pub fn title(&self) -> String {
        if self.mapped {
            format!("{} → {}", self.name, self.table.name())
        } else {
            self.name.clone()
        }
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = self.title();
        match &self.outcome {
            Outcome::Imported {
                rows,
                elapsed,
                notes,
            } => {
                let secs = elapsed.as_secs_f64();
                let rate = if secs > 0.0 { *rows as f64 / secs } else { 0.0 };
                writeln!(
                    f,
                    "{title}: {rows} rows imported in {secs:.2} s ({rate:.0} rows/s)"
                )?;
                for note in notes {
                    writeln!(f, "  {note}")?;
                }
                Ok(())
            }
            Outcome::Rejected { errors, total } => {
                for e in errors {
                    writeln!(f, "{}:{}:{}: {}", self.name, e.line, e.column, e.message)?;
                }
                if *total > errors.len() as u64 {
                    writeln!(
                        f,
                        "{}: … and {} more problems",
                        self.name,
                        total - errors.len() as u64
                    )?;
                }
                let s = if *total == 1 { "" } else { "s" };
                writeln!(
                    f,
                    "{title}: {total} problem{s}; nothing of this file was written"
                )
            }
            Outcome::Failed { error } => {
                writeln!(f, "{title}: {error}; nothing of this file was written")
            }
            Outcome::Skipped { because } => writeln!(f, "{title}: not imported: {because}"),
            Outcome::RolledBack { rows, because } => writeln!(
                f,
                "{title}: {rows} good rows not written: {because}, and a folder is imported whole or not at all (--each-file commits each good file)"
            ),
        }
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Files not read come first: a misnamed file is often why the others
        // name unknown rows.
        for note in &self.ignored {
            writeln!(f, "{note}")?;
        }
        for file in &self.files {
            write!(f, "{file}")?;
        }
        Ok(())
    }
}

/// How a folder is imported.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Commit each good file on its own (a bad file then leaves the files
    /// before it written). Default: the folder whole or not at all.
    pub each_file: bool,
    /// Delete the lead data already in the database first (in the same
    /// transaction, when the folder is imported whole).
    pub replace: bool,
    /// Read the folder through this mapping rather than as canonical files.
    pub mapping: Option<Arc<Mapping>>,
    /// The zones of local times: given for this import, and the one used when
    /// neither the mapping nor the flag names one.
    pub timezone: Zones,
}

/// One file to import: the table, the file, how its rows are read.
type Job = (Table, PathBuf, Reading);

/// Where a file's rows come from.
#[derive(Clone, Debug)]
enum Reading {
    /// A canonical file: the header names canonical columns.
    Canonical,
    /// Through `mapping.files[file]`.
    Mapped {
        mapping: Arc<Mapping>,
        file: usize,
        lookups: Arc<Lookups>,
        timezone: Zones,
    },
}

/// The path of `name` in `dir`: the file of that name, or else the one file
/// whose name differs only in case (`Leads.csv`, as exports write it).
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The file name each table is read from.
pub fn file_name(table: Table) -> String {
    format!("{}.csv", table.name())
}

/// Imports every canonical CSV file in `dir`, in reference order, whole or not
/// at all.
///
/// # Errors
///
/// As [`import_dir_with`].
pub async fn import_dir(
    store: &Store,
    dir: &Path,
    progress: &Progress,
) -> Result<ImportReport, ImportError> {
    import_dir_with(store, dir, progress, ImportOptions::default()).await
}

/// Imports every canonical CSV file in `dir` (`reps.csv`, `leads.csv`,
/// `touches.csv`, `deals.csv`, matched without regard to case), in reference
/// order: in one transaction, or one per file with `each_file`.
///
/// # Errors
///
/// A missing directory or no canonical file in it. Bad rows, an unreadable file
/// and a database failure are not errors: they are in the returned report.
pub async fn import_dir_with(
    store: &Store,
    dir: &Path,
    progress: &Progress,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::NotADirectory(dir.to_owned()));
    }
    let mut report = ImportReport::default();
    let (jobs, read_names) = match &options.mapping {
        None => {
            let jobs: Vec<Job> = Table::ALL
                .into_iter()
                .filter_map(|t| find_file(dir, &file_name(t)).map(|p| (t, p, Reading::Canonical)))
                .collect();
            let names: Vec<String> = Table::ALL.iter().map(|&t| file_name(t)).collect();
            (jobs, names)
        }
        Some(mapping) => mapped_jobs(dir, mapping, options.timezone, &mut report)?,
    };
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let read = read_names.iter().any(|n| n.eq_ignore_ascii_case(&name));
        if name.to_ascii_lowercase().ends_with(".csv") && !read {
            let hint = suggest::hint(&name, read_names.iter().map(String::as_str));
            let what = match &options.mapping {
                None => "not a canonical file".to_owned(),
                Some(m) => format!("the mapping {} does not read it", m.name),
            };
            report
                .ignored
                .push(format!("{name}: ignored, {what}{hint}"));
        }
    }
    report.ignored.sort();
    if jobs.is_empty() {
        return Err(match &options.mapping {
            None => ImportError::NothingToImport(dir.to_owned()),
            Some(m) => ImportError::NothingMapped {
                mapping: m.name.clone(),
                files: read_names.join(", "),
                dir: dir.to_owned(),
            },
        });
    }

    let mut whole = if options.each_file {
        if options.replace {
            let mut db = store.begin().await?;
            db.delete_lead_data().await?;
            db.commit().await?;
        }
        None
    } else {
        let mut db = store.begin().await?;
        if options.replace {
            db.delete_lead_data().await?;
        }
        Some(db)
    };
    let mut failed: Option<String> = None;
    for (table, path, reading) in jobs {
        let name = path
            .file_name()
            .map_or_else(|| file_name(table), |n| n.to_string_lossy().into_owned());
        let mapped = matches!(reading, Reading::Mapped { .. });
        let outcome = match (&failed, whole.as_mut()) {
            (Some(bad), _) => Outcome::Skipped {
                because: format!("{bad} was not imported, and rows here may refer to it"),
            },
            (None, Some(db)) => {
                match import_into(store, db, table, &path, progress, &reading).await {
                    Ok(outcome) => outcome,
                    Err(e) => Outcome::Failed {
                        error: crate::error_chain(&e),
                    },
                }
            }
            // A failure here still reports the files already committed.
            (None, None) => match import_file_as(store, table, &path, progress, &reading).await {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Failed {
                    error: crate::error_chain(&e),
                },
            },
        };
        let report_file = FileReport {
            name,
            table,
            mapped,
            outcome,
        };
        if matches!(
            report_file.outcome,
            Outcome::Rejected { .. } | Outcome::Failed { .. }
        ) {
            failed = Some(report_file.title());
        }
        report.files.push(report_file);
    }
    if let Some(db) = whole {
        match &failed {
            None => db.commit().await?,
            Some(bad) => {
                // The error that matters is the file's; a failed rollback
                // writes nothing either.
                let _ = db.rollback().await;
                for f in &mut report.files {
                    if let Outcome::Imported { rows, .. } = f.outcome {
                        f.outcome = Outcome::RolledBack {
                            rows,
                            because: format!("{bad} was not imported"),
                        };
                    }
                }
            }
        }
    }
    Ok(report)
}

/// Rows that parsed, with the lines they came from and their upsert statements,
/// encoded on the parser thread while the database works on the previous batch.
struct Batch {
    lines: Vec<u64>,
    rows: Vec<GenericRow>,
    encoded: Encoded,
    bytes_read: u64,
}

/// What the parser thread sends to the writer.
enum Msg {
    /// The header was good. Sent once, before any rows.
    Header(Header),
    Rows(Batch),
    Error(RowError),
    /// At the end of a file read through a mapping.
    Stats(Stats),
}

/// What the writer needs to know of a file's columns.
struct Header {
    /// For each table column, its 1-based field number in the file, or 0 when
    /// the file lacks it.
    fields: Vec<usize>,
    /// For each table column, what a reference to no row does.
    on_unknown: Vec<Action>,
    /// The columns written, to encode a batch again after rows were skipped.
    upsert: UpsertColumns,
    /// Optional columns with a note: how many rows they were set in is reported.
    noted: Vec<(usize, String)>,
}

/// Rows skipped and columns filled, for a file read through a mapping.
#[derive(Default)]
struct Stats {
    /// Why → how many rows.
    skipped: BTreeMap<String, u64>,
    /// Optional columns with a note: name, note, rows they were set in.
    filled: Vec<(&'static str, String, u64)>,
    /// Canonical columns the export lacks, with their notes.
    missing: Vec<(&'static str, String)>,
    /// Optional columns the mapping reads that the file lacks.
    unbound: Vec<String>,
}

impl Stats {
    fn notes(&self, written: u64) -> Vec<String> {
        let mut out = Vec::new();
        for (why, n) in &self.skipped {
            let s = if *n == 1 { "" } else { "s" };
            out.push(format!("{n} row{s} skipped: {why}"));
        }
        for (name, note, filled) in &self.filled {
            out.push(format!(
                "`{name}` set in {filled} of {written} rows: {note}"
            ));
        }
        for (name, note) in &self.missing {
            out.push(format!("`{name}` is not in this export: {note}"));
        }
        out.extend(self.unbound.iter().cloned());
        out
    }
}

/// Imports one CSV file into `table` in one transaction.
///
/// # Errors
///
/// An unreadable file or a database error; bad rows give [`Outcome::Rejected`].
pub async fn import_file(
    store: &Store,
    table: Table,
    path: &Path,
    progress: &Progress,
) -> Result<Outcome, ImportError> {
    import_file_as(store, table, path, progress, &Reading::Canonical).await
}

async fn import_file_as(
    store: &Store,
    table: Table,
    path: &Path,
    progress: &Progress,
    reading: &Reading,
) -> Result<Outcome, ImportError> {
    let mut db = store.begin().await?;
    let outcome = match import_into(store, &mut db, table, path, progress, reading).await {
        Ok(o) => o,
        Err(e) => {
            let _ = db.rollback().await;
            return Err(e);
        }
    };
    if matches!(outcome, Outcome::Imported { .. }) {
        db.commit().await?;
    } else {
        db.rollback().await?;
    }
    Ok(outcome)
}

/// The files a mapping reads from `dir`, in reference order, with the lookups
/// they need loaded; and every file name the mapping reads (for the report of
/// files ignored). A file the mapping names that is not there is noted in the
/// report.
fn mapped_jobs(
    dir: &Path,
    mapping: &Arc<Mapping>,
    timezone: Zones,
    report: &mut ImportReport,
) -> Result<(Vec<Job>, Vec<String>), ImportError> {
    let mut names: Vec<String> = Vec::new();
    let mut present = Vec::new();
    for (i, f) in mapping.files.iter().enumerate() {
        if !names.contains(&f.file) {
            names.push(f.file.clone());
        }
        for c in &f.columns {
            if let Some((l, _)) = &c.lookup
                && !names.contains(&l.file)
            {
                names.push(l.file.clone());
            }
        }
        match find_file(dir, &f.file) {
            Some(path) => present.push((i, path)),
            None => report.ignored.push(format!(
                "{}: not in {}; the {} it feeds ({}) are not imported",
                f.file,
                dir.display(),
                f.table.name(),
                f.at
            )),
        }
    }
    let mut lookups = Lookups::new();
    for (i, _) in &present {
        for c in &mapping.files[*i].columns {
            let Some((l, at)) = &c.lookup else { continue };
            if lookups.contains_key(l) {
                continue;
            }
            let Some(path) = find_file(dir, &l.file) else {
                return Err(ImportError::Lookup(format!(
                    "{at}: the lookup reads {}, which is not in {}",
                    l.file,
                    dir.display()
                )));
            };
            let table =
                read_lookup(&path, l).map_err(|e| ImportError::Lookup(format!("{at}: {e}")))?;
            lookups.insert(l.clone(), Arc::new(table));
        }
    }
    let lookups = Arc::new(lookups);
    let jobs = present
        .into_iter()
        .map(|(i, path)| {
            let reading = Reading::Mapped {
                mapping: mapping.clone(),
                file: i,
                lookups: lookups.clone(),
                timezone,
            };
            (mapping.files[i].table, path, reading)
        })
        .collect();
    Ok((jobs, names))
}

/// Reads a lookup's `key` → `value` pairs from its file; rows with either empty
/// are left out, and the first row of a repeated key wins.
fn read_lookup(path: &Path, l: &crate::mapping::Lookup) -> Result<HashMap<String, String>, String> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut records = Records::open(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut record = csv::ByteRecord::new();
    let header: Vec<String> = match records.next(&mut record) {
        Ok(Some(_)) => header_names(&record),
        Ok(None) => return Err(format!("{name} is empty")),
        Err(e) => return Err(format!("cannot read {name}: {e}")),
    };
    let column = |wanted: &str| {
        let exact = header.iter().position(|h| h == wanted);
        exact
            .or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(wanted)))
            .ok_or_else(|| {
                let hint = suggest::hint(wanted, header.iter().map(String::as_str));
                format!("the lookup's column `{wanted}` is not in the header of {name}{hint}")
            })
    };
    let (k, v) = (column(&l.key)?, column(&l.value)?);
    let mut out = HashMap::new();
    loop {
        match records.next(&mut record) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(format!("cannot read {name}: {e}"));
            }
            Err(_) => continue, // reported when the file itself is imported
        }
        let field = |i: usize| {
            String::from_utf8_lossy(record.get(i).unwrap_or_default())
                .trim()
                .to_owned()
        };
        let (key, value) = (field(k), field(v));
        if !key.is_empty() && !value.is_empty() {
            out.entry(key).or_insert(value);
        }
    }
    Ok(out)
}

/// The header's names: a byte-order mark and surrounding spaces dropped.
fn header_names(header: &csv::ByteRecord) -> Vec<String> {
    header
        .iter()
        .map(|raw| {
            String::from_utf8_lossy(raw)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_owned()
        })
        .collect()
}

/// Reads one CSV file into `table` within the transaction `db`: every row
/// written when every row is good ([`Outcome::Imported`]), else none and the
/// problems ([`Outcome::Rejected`]); the caller commits or rolls back.
async fn import_into(
    store: &Store,
    db: &mut Tx,
    table: Table,
    path: &Path,
    progress: &Progress,
    reading: &Reading,
) -> Result<Outcome, ImportError> {
    let started = Instant::now();
    let io_err = |source| ImportError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let label = match reading {
        Reading::Canonical => file_name(table),
        Reading::Mapped { .. } => format!(
            "{} → {}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            table.name()
        ),
    };
    let bar = progress.bar(len, &label, Unit::Bytes);

    let (tx, mut rx) = mpsc::channel::<Msg>(BATCHES_IN_FLIGHT);
    let encoder = store.encoder();
    let owned_path = path.to_owned();
    let owned_reading = reading.clone();
    let parser = tokio::task::spawn_blocking(move || {
        parse_file(table, &encoder, &owned_path, &tx, &owned_reading)
    });

    let encoder = store.encoder();
    let mut errors = Errors::default();
    let mut header: Option<Header> = None;
    let mut written: u64 = 0;
    let mut stats = Stats::default();
    let mut unknown_skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut filled: Vec<u64> = Vec::new();
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Error(e) => errors.push(e),
            Msg::Header(h) => {
                filled = vec![0; h.noted.len()];
                header = Some(h);
            }
            Msg::Stats(s) => stats = s,
            Msg::Rows(mut batch) => {
                let Some(h) = &header else { continue };
                let checked = check_references(db, table, h, &mut batch, &mut errors).await?;
                if checked.changed {
                    // Rows were skipped or references emptied: write what is left.
                    batch.encoded = encoder.upsert(&h.upsert, &batch.rows);
                }
                for (why, n) in checked.skipped {
                    *unknown_skipped.entry(why).or_default() += n;
                }
                for ((ci, _), n) in h.noted.iter().zip(&mut filled) {
                    let null = OwnedValue::null(table.columns()[*ci].ty);
                    *n += batch.rows.iter().filter(|r| r.values[*ci] != null).count() as u64;
                }
                // After the first problem nothing more is written: the file will be
                // rolled back, and the rest is read only to report every problem.
                if errors.total == 0 {
                    written += batch.rows.len() as u64;
                    if !batch.rows.is_empty() {
                        db.execute(batch.encoded).await?;
                    }
                }
                bar.set_position(batch.bytes_read);
            }
        }
    }
    parser
        .await
        .map_err(|_| ImportError::ParserDied(path.to_owned()))?
        .map_err(io_err)?;
    bar.finish_and_clear();

    if errors.total == 0 {
        // The database now holds rows the demo did not make.
        db.delete_meta(crate::store::META_DEMO).await?;
    }
    if errors.total > 0 {
        let Errors { mut list, total } = errors;
        list.sort();
        return Ok(Outcome::Rejected {
            errors: list,
            total,
        });
    }
    for (why, n) in unknown_skipped {
        *stats.skipped.entry(why).or_default() += n;
    }
    if let Some(h) = &header {
        stats.filled = h
            .noted
            .iter()
            .zip(filled)
            .map(|((ci, note), n)| (table.columns()[*ci].name, note.clone(), n))
            .collect();
    }
    Ok(Outcome::Imported {
        rows: written,
        elapsed: started.elapsed(),
        notes: stats.notes(written),
    })
}

/// The field separator of a CSV file, from its header line: a comma, or a
/// semicolon or tab where the header has more of those than commas (spreadsheets
/// in many locales save CSV with semicolons).
fn delimiter_of(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let mut quoted = false;
    let mut counts = [0usize; 3];
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    match counts {
        [c, s, t] if s > c && s >= t => b';',
        [c, _, t] if t > c => b'\t',
        _ => b',',
    }
}

/// The problems of one file: the first [`MAX_REPORTED_ERRORS`] and a count.
#[derive(Default)]
struct Errors {
    list: Vec<RowError>,
    total: u64,
}

impl Errors {
    fn push(&mut self, e: RowError) {
        self.total += 1;
        if self.list.len() < MAX_REPORTED_ERRORS {
            self.list.push(e);
        }
    }
}

/// Checks each reference (`owner_id`, `lead_id`, `rep_id`) against the rows
/// that exist. One that names no row is an error, or, as the mapping says,
/// emptied or its row skipped: the skipped rows leave `batch`, and the reasons
/// are returned with their counts.
async fn check_references(
    db: &mut Tx,
    table: Table,
    header: &Header,
    batch: &mut Batch,
    errors: &mut Errors,
) -> Result<Checked, StoreError> {
    let mut skip = vec![false; batch.rows.len()];
    let mut checked = Checked::default();
    for (ci, column) in table.columns().iter().enumerate() {
        let Some(target) = column.references else {
            continue;
        };
        let found = {
            let ids: HashSet<&str> = batch
                .rows
                .iter()
                .filter_map(|r| r.values[ci].text())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let ids: Vec<&str> = ids.into_iter().collect();
            db.existing_ids(target, &ids).await?
        };
        let what = match target {
            Table::Reps => "rep",
            Table::Leads => "lead",
            _ => target.name(),
        };
        let mut skipped = 0;
        for (i, (row, &line)) in batch.rows.iter_mut().zip(&batch.lines).enumerate() {
            let Some(id) = row.values[ci].text() else {
                continue;
            };
            if found.contains(id) {
                continue;
            }
            match header.on_unknown[ci] {
                Action::Skip => {
                    if !skip[i] {
                        skipped += 1;
                    }
                    skip[i] = true;
                }
                Action::Empty => {
                    row.values[ci] = OwnedValue::null(column.ty);
                    checked.changed = true;
                }
                Action::Keep | Action::Error => errors.push(RowError {
                    line,
                    column: header.fields[ci],
                    message: format!("unknown {what} `{id}`: no row with this id in {} (import {} first or in the same run)", target.name(), file_name(target)),
                }),
            }
        }
        if skipped > 0 {
            checked.skipped.push((
                format!("{} names no {what} (if_unknown: skip)", column.name),
                skipped,
            ));
        }
    }
    if skip.iter().any(|&s| s) {
        let mut keep = skip.iter().map(|&s| !s);
        batch.rows.retain(|_| keep.next().unwrap_or(true));
        let mut keep = skip.iter().map(|&s| !s);
        batch.lines.retain(|_| keep.next().unwrap_or(true));
        checked.changed = true;
    }
    Ok(checked)
}

/// What [`check_references`] did to a batch.
#[derive(Default)]
struct Checked {
    /// Rows were skipped or references emptied: the batch must be encoded again.
    changed: bool,
    /// Why rows were skipped, and how many.
    skipped: Vec<(String, u64)>,
}

/// How a record of one file becomes a row: the header's canonical columns,
/// or a mapping bound to the header.
enum RowReader {
    Canonical {
        columns: &'static [Column],
        mapping: Vec<usize>,
    },
    Mapped(Box<Plan>),
}

impl RowReader {
    fn row(&self, record: &csv::ByteRecord) -> RowOutcome {
        match self {
            RowReader::Mapped(plan) => plan.row(record),
            RowReader::Canonical { columns, mapping } => {
                let mut values: Vec<OwnedValue> =
                    columns.iter().map(|c| OwnedValue::null(c.ty)).collect();
                let mut bad = Vec::new();
                for (fi, raw) in record.iter().enumerate() {
                    let ci = mapping[fi];
                    match parse_field(&columns[ci], raw) {
                        Ok(v) => values[ci] = v,
                        Err(message) => bad.push((fi + 1, message)),
                    }
                }
                if bad.is_empty() {
                    RowOutcome::Row(values)
                } else {
                    RowOutcome::Bad(bad)
                }
            }
        }
    }

    /// The row's id, for confirming a suspected duplicate.
    fn id_of(&self, record: &csv::ByteRecord) -> Option<String> {
        match self.row(record) {
            RowOutcome::Row(values) => values[0].text().map(str::to_owned),
            _ => None,
        }
    }
}

/// Reads the header and decides how records become rows; `None` when the
/// header is wrong (its problems have been sent).
fn row_reader(
    table: Table,
    header: &csv::ByteRecord,
    reading: &Reading,
    send: &dyn Fn(Msg) -> bool,
) -> Option<(RowReader, Header)> {
    let columns = table.columns();
    match reading {
        Reading::Canonical => {
            let mapping = match map_header(table, header) {
                Ok(m) => m,
                Err(errs) => {
                    for e in errs {
                        send(Msg::Error(e));
                    }
                    return None;
                }
            };
            let mut fields = vec![0; columns.len()];
            for (fi, &ci) in mapping.iter().enumerate() {
                fields[ci] = fi + 1;
            }
            let h = Header {
                fields,
                on_unknown: vec![Action::Error; columns.len()],
                upsert: UpsertColumns::new(table, mapping.clone()),
                noted: Vec::new(),
            };
            Some((RowReader::Canonical { columns, mapping }, h))
        }
        Reading::Mapped {
            mapping,
            file,
            lookups,
            timezone,
        } => {
            let names = header_names(header);
            match Plan::bind(mapping, &mapping.files[*file], &names, lookups, *timezone) {
                Ok(plan) => {
                    let h = Header {
                        fields: plan.fields(),
                        on_unknown: plan.on_unknown(),
                        upsert: UpsertColumns::new(table, plan.present()),
                        noted: plan.noted(),
                    };
                    Some((RowReader::Mapped(Box::new(plan)), h))
                }
                Err(errs) => {
                    for (column, message) in errs {
                        send(Msg::Error(RowError {
                            line: 1,
                            column,
                            message,
                        }));
                    }
                    None
                }
            }
        }
    }
}

/// Reads, validates and batches one file. Runs on a blocking thread.
fn parse_file(
    table: Table,
    encoder: &Encoder,
    path: &Path,
    out: &mpsc::Sender<Msg>,
    reading: &Reading,
) -> std::io::Result<()> {
    let mut reader = Records::open(path)?;
    let mut record = csv::ByteRecord::new();
    let send = |msg| out.blocking_send(msg).is_ok();

    // The header.
    let header = match reader.next(&mut record) {
        Ok(Some(_)) => record.clone(),
        Ok(None) => {
            send(Msg::Error(RowError {
                line: 1,
                column: 1,
                message: "the file is empty: expected a header line naming the columns".into(),
            }));
            return Ok(());
        }
        Err(e) => return csv_error(e, out),
    };
    let Some((rows, head)) = row_reader(table, &header, reading, &send) else {
        return Ok(());
    };
    let upsert = head.upsert.clone();
    let id_field = head.fields[0].max(1);
    let (distinct, missing, unbound) = match (&rows, reading) {
        (RowReader::Mapped(plan), Reading::Mapped { mapping, file, .. }) => (
            plan.distinct,
            mapping.files[*file].missing.clone(),
            plan.unbound.clone(),
        ),
        _ => (false, Vec::new(), Vec::new()),
    };
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    if !send(Msg::Header(head)) {
        return Ok(());
    }
    let mut lines = Vec::with_capacity(BATCH_ROWS);
    let mut lines_of_suspects = Vec::new();
    let encode = |lines: &mut Vec<u64>, rows: &mut Vec<GenericRow>, bytes_read| {
        let rows = std::mem::replace(rows, Vec::with_capacity(BATCH_ROWS));
        let encoded = encoder.upsert(&upsert, &rows);
        Msg::Rows(Batch {
            lines: std::mem::replace(lines, Vec::with_capacity(BATCH_ROWS)),
            rows,
            encoded,
            bytes_read,
        })
    };
    // The duplicate-id check keeps an 8-byte fingerprint and the line of every id,
    // not the ids themselves. A repeated fingerprint is only a suspect: the rows
    // are held back and confirmed against the file's text at the end. A
    // `distinct` file (owners named on every contact) keeps its ids, which are few.
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let mut seen_distinct: HashSet<String> = HashSet::new();
    let mut suspects: Vec<(u64, GenericRow)> = Vec::new();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    loop {
        let line = match reader.next(&mut record) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                // A malformed record (such as invalid UTF-8 in a quoted field) is
                // reported, and reading goes on with the next one.
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return csv_error(e, out);
                }
                let (line, column) = e.position().map(|p| (p.line(), 1)).unwrap_or((0, 1));
                if !send(Msg::Error(RowError {
                    line,
                    column,
                    message: format!("unreadable record: {e}"),
                })) {
                    return Ok(());
                }
                continue;
            }
        };
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        if record.len() != header.len() {
            let e = RowError {
                line,
                column: 1,
                message: format!(
                    "expected {} fields as in the header, found {}",
                    header.len(),
                    record.len()
                ),
            };
            if !send(Msg::Error(e)) {
                return Ok(());
            }
            continue;
        }
        let values = if distinct {
            // Owners named on every contact: an empty or repeated id is not a row.
            let id = match rows.row(&record) {
                RowOutcome::Row(values) => match values[0].text() {
                    Some(id) if seen_distinct.contains(id) => None,
                    Some(id) => {
                        seen_distinct.insert(id.to_owned());
                        Some(RowOutcome::Row(values))
                    }
                    None => None,
                },
                other => Some(other),
            };
            match id {
                Some(outcome) => outcome,
                None => continue,
            }
        } else {
            rows.row(&record)
        };
        let values = match values {
            RowOutcome::Row(values) => values,
            RowOutcome::Skip(why) => {
                *skipped.entry(why).or_default() += 1;
                continue;
            }
            RowOutcome::Bad(problems) => {
                for (column, message) in problems {
                    if !send(Msg::Error(RowError {
                        line,
                        column,
                        message,
                    })) {
                        return Ok(());
                    }
                }
                continue;
            }
        };
        if !distinct && let Some(id) = values[0].text() {
            let key = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
            if let Some(&first) = seen.get(&key) {
                suspects.push((first, GenericRow { values }));
                lines_of_suspects.push(line);
                continue;
            }
            seen.insert(key, line);
        }
        lines.push(line);
        batch.push(GenericRow { values });
        if batch.len() == BATCH_ROWS {
            let bytes_read = reader.bytes_read();
            if !send(encode(&mut lines, &mut batch, bytes_read)) {
                return Ok(());
            }
        }
    }
    drop(seen);
    drop(seen_distinct);
    // Confirm the suspects: read the ids on the lines they collided with.
    if !suspects.is_empty() {
        let wanted: HashSet<u64> = suspects.iter().map(|(first, _)| *first).collect();
        let ids_at = ids_on_lines(Records::open(path)?, &wanted, &rows)?;
        // Suspects that turn out distinct from the row they collided with may
        // still repeat one another: those are compared exactly.
        let mut cleared: HashMap<String, u64> = HashMap::new();
        for ((first, row), line) in suspects.into_iter().zip(lines_of_suspects) {
            let id = row.values[0].text().unwrap_or_default().to_owned();
            let earlier = if ids_at.get(&first) == Some(&id) {
                Some(first)
            } else {
                cleared.get(&id).copied()
            };
            if let Some(first) = earlier {
                let message = format!("duplicate id `{id}`: line {first} has it already");
                if !send(Msg::Error(RowError {
                    line,
                    column: id_field,
                    message,
                })) {
                    return Ok(());
                }
            } else {
                // Two different ids with one fingerprint: a good row after all.
                cleared.insert(id, line);
                lines.push(line);
                batch.push(row);
            }
        }
    }
    if !batch.is_empty() {
        send(encode(&mut lines, &mut batch, reader.bytes_read()));
    }
    if let Reading::Mapped { .. } = reading {
        send(Msg::Stats(Stats {
            skipped,
            filled: Vec::new(),
            missing,
            unbound,
        }));
    }
    Ok(())
}

/// The ids of the records that start on `lines`.
fn ids_on_lines(
    mut records: Records,
    lines: &HashSet<u64>,
    rows: &RowReader,
) -> std::io::Result<HashMap<u64, String>> {
    let mut record = csv::ByteRecord::new();
    let mut found = HashMap::new();
    let _ = records.next(&mut record); // the header
    loop {
        let line = match records.next(&mut record) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => match e.into_kind() {
                csv::ErrorKind::Io(io) => return Err(io),
                _ => continue,
            },
        };
        if lines.contains(&line)
            && let Some(id) = rows.id_of(&record)
        {
            found.insert(line, id);
        }
    }
    Ok(found)
}

/// A CSV file read record by record, knowing the line each record starts on
/// whatever its line endings (LF or CRLF), blank lines, or line breaks inside
/// quoted fields. (The csv crate's own record position is where it started
/// reading, which can be a blank line or the end of the previous CRLF.)
struct Records {
    reader: csv::Reader<BufReader<File>>,
    len: u64,
    ends_with_newline: bool,
}

impl Records {
    fn open(path: &Path) -> std::io::Result<Records> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut head = vec![0; 64 * 1024];
        let n = file.read(&mut head)?;
        if head[..n].contains(&b'\r') && !head[..n].contains(&b'\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "its lines end in a bare carriage return (classic Mac); save it with LF or CRLF line endings",
            ));
        }
        let mut last = [0u8; 1];
        let ends_with_newline = len > 0 && {
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            last[0] == b'\n'
        };
        file.seek(SeekFrom::Start(0))?;
        let delimiter = delimiter_of(&head[..n]);
        // Records end at LF; a CR before it is stripped from the last field.
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(BufReader::with_capacity(1 << 20, file));
        Ok(Records {
            reader,
            len,
            ends_with_newline,
        })
    }

    /// Reads the next record; returns the line it starts on, or `None` at the end.
    fn next(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, csv::Error> {
        if !self.reader.read_byte_record(record)? {
            return Ok(None);
        }
        if let Some(last) = record.iter().next_back()
            && last.last() == Some(&b'\r')
        {
            let kept = last[..last.len() - 1].to_vec();
            record.truncate(record.len() - 1);
            record.push_field(&kept);
        }
        let end = self.reader.position();
        let breaks_inside: u64 = record
            .iter()
            .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum();
        // The reader stands past the record's own line break, except after a last
        // record that has none.
        let terminated = end.byte() != self.len || self.ends_with_newline;
        Ok(Some(end.line() - breaks_inside - u64::from(terminated)))
    }

    /// How far into the file the reader is, in bytes.
    fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }
}

fn csv_error(e: csv::Error, out: &mpsc::Sender<Msg>) -> std::io::Result<()> {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Err(io),
        other => {
            let _ = out.blocking_send(Msg::Error(RowError {
                line: 1,
                column: 1,
                message: format!("unreadable CSV: {other:?}"),
            }));
            Ok(())
        }
    }
}

/// Maps each header field to a table column, or explains what is wrong.
fn map_header(table: Table, header: &csv::ByteRecord) -> Result<Vec<usize>, Vec<RowError>> {
    let columns = table.columns();
    let names = columns.iter().map(|c| c.name);
    let mut errors = Vec::new();
    let mut mapping = Vec::with_capacity(header.len());
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for (fi, raw) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(raw);
        // Spreadsheet exports often start with a byte-order mark.
        let name = name.trim_start_matches('\u{feff}').trim();
        let at = |message| RowError {
            line: 1,
            column: fi + 1,
            message,
        };
        match table.column(name) {
            Some(ci) => {
                if let Some(first) = seen.insert(ci, fi + 1) {
                    errors.push(at(format!(
                        "column `{name}` appears twice (also field {first})"
                    )));
                }
                mapping.push(ci);
            }
            None => {
                let hint = suggest::hint(name, names.clone());
                let expected = names.clone().collect::<Vec<_>>().join(", ");
                errors.push(at(format!(
                    "unknown column `{name}`; {} has {expected}{hint}",
                    table.name()
                )));
                mapping.push(usize::MAX);
            }
        }
    }
    for (ci, column) in columns.iter().enumerate() {
        if column.required && !seen.contains_key(&ci) {
            errors.push(RowError {
                line: 1,
                column: 1,
                message: format!("missing required column `{}`", column.name),
            });
        }
    }
    if errors.is_empty() {
        Ok(mapping)
    } else {
        Err(errors)
    }
}

/// Parses one field. An empty field is null; a null in a required column is an error.
pub(crate) fn parse_field(column: &Column, raw: &[u8]) -> Result<OwnedValue, String> {
    let Ok(s) = std::str::from_utf8(raw) else {
        return Err(format!("`{}` is not valid UTF-8", column.name));
    };
    if let Some(c) = s
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!(
            "`{}` holds the control character U+{:04X}",
            column.name,
            u32::from(c)
        ));
    }
    if s.is_empty() {
        if column.required {
            return Err(format!("`{}` is required but empty", column.name));
        }
        return Ok(OwnedValue::null(column.ty));
    }
    match column.ty {
        ColumnType::Id => {
            if s.trim() != s {
                // MySQL/MariaDB compare `R1` and `R1 ` as equal, the others do not:
                // a padded id would mean different rows on different backends.
                return Err(format!(
                    "`{}` `{s}` has spaces around it; ids are matched exactly, so remove them",
                    column.name
                ));
            }
            if s.chars().count() > model::MAX_ID_CHARS {
                return Err(format!(
                    "`{}` is longer than {} characters",
                    column.name,
                    model::MAX_ID_CHARS
                ));
            }
            Ok(OwnedValue::Text(Some(s.to_owned())))
        }
        ColumnType::Text => {
            // Surrounding spaces are dropped, so that `webinar ` groups with
            // `webinar` on every backend.
            let s = s.trim();
            if s.is_empty() {
                return if column.required {
                    Err(format!("`{}` is required but blank", column.name))
                } else {
                    Ok(OwnedValue::null(column.ty))
                };
            }
            if s.chars().count() > model::MAX_TEXT_CHARS {
                return Err(format!(
                    "`{}` is longer than {} characters",
                    column.name,
                    model::MAX_TEXT_CHARS
                ));
            }
            Ok(OwnedValue::Text(Some(s.to_owned())))
        }
        // CRM exports write `Call` and `Email`: the case does not matter.
        ColumnType::Enum(allowed) => {
            match allowed.iter().find(|a| a.eq_ignore_ascii_case(s.trim())) {
                Some(a) => Ok(OwnedValue::Text(Some((*a).to_owned()))),
                None => {
                    let hint = suggest::hint(s, allowed.iter().copied());
                    Err(format!(
                        "unknown {} `{s}`; expected one of {}{hint}",
                        column.name,
                        allowed.join(", ")
                    ))
                }
            }
        }
        ColumnType::Timestamp => parse_timestamp(s)
            .map(|t| OwnedValue::Timestamp(Some(t)))
            .map_err(|why| format!("invalid `{}` `{s}`: {why}", column.name)),
        ColumnType::Real => match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(OwnedValue::Real(Some(x))),
            _ => Err(format!(
                "invalid `{}` `{s}`: expected a number such as 72.5",
                column.name
            )),
        },
        ColumnType::Amount => parse_cents(s)
            .map(OwnedValue::Amount)
            .map_err(|why| format!("invalid `{}` `{s}`: {why}", column.name)),
        ColumnType::Bool => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(OwnedValue::Bool(Some(true))),
            "false" => Ok(OwnedValue::Bool(Some(false))),
            _ => Err(format!(
                "invalid `{}` `{s}`: expected true or false",
                column.name
            )),
        },
    }
}

/// Parses an RFC 3339 instant, to the microsecond, in UTC.
pub fn parse_timestamp(s: &str) -> Result<DateTime<chrono::Utc>, &'static str> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.to_utc();
        // Every backend keeps years 1 to 9999 (MySQL's DATETIME, SQLite's text).
        if !(1..=9999).contains(&chrono::Datelike::year(&t)) {
            return Err("outside the years 1 to 9999 (in UTC)");
        }
        return Ok(model::to_store_precision(t));
    }
    if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Err(
            "a date alone is not an instant; expected RFC 3339 such as 2026-03-02T14:05:00Z",
        );
    }
    if NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok()
    {
        return Err("no UTC offset; add `Z` or an offset such as `+01:00` (RFC 3339)");
    }
    Err("expected an RFC 3339 timestamp such as 2026-03-02T14:05:00Z")
}

/// Parses a non-negative decimal amount with at most two decimals into cents.
pub fn parse_cents(s: &str) -> Result<i64, &'static str> {
    if s.starts_with('-') {
        return Err("amounts cannot be negative");
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || (s.contains('.') && frac.is_empty())
    {
        return Err("expected a plain decimal amount such as 12500 or 12500.50");
    }
    if frac.len() > 2 {
        return Err("more than two decimals; amounts are kept to the cent");
    }
    if whole.trim_start_matches('0').len() > 12 {
        return Err("too large; at most 12 digits before the decimal point");
    }
    let whole: i64 = whole.parse().map_err(|_| "too large")?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| "bad decimals")?;
    Ok(whole * 100 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_separator_is_read_from_the_header() {
        assert_eq!(delimiter_of(b"id,name,team\nR1,A;B,x\n"), b',');
        assert_eq!(delimiter_of(b"id;name;team\nR1;\"A, B\";x\n"), b';');
        assert_eq!(delimiter_of(b"id\tname\tteam\n"), b'\t');
        assert_eq!(delimiter_of(b"\"a;b\",c\n"), b',');
        assert_eq!(delimiter_of(b"id\n"), b',');
    }

    #[test]
    fn cents_are_exact() {
        assert_eq!(parse_cents("12500"), Ok(1_250_000));
        assert_eq!(parse_cents("12500.5"), Ok(1_250_050));
        assert_eq!(parse_cents("0.07"), Ok(7));
        assert_eq!(parse_cents("999999999999.99"), Ok(model::MAX_AMOUNT_CENTS));
        assert!(parse_cents("-1").unwrap_err().contains("negative"));
        assert!(parse_cents("1.005").unwrap_err().contains("two decimals"));
        assert!(parse_cents("1e3").is_err());
        assert!(parse_cents("1.").is_err());
        assert!(parse_cents(".5").is_err());
        assert!(
            parse_cents("1000000000000")
                .unwrap_err()
                .contains("12 digits")
        );
    }

    #[test]
    fn timestamps_need_an_offset() {
        let t = parse_timestamp("2026-03-02T14:05:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-02T13:05:00+00:00");
        let t = parse_timestamp("2026-03-02T14:05:00.1234567Z").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_000);
        assert!(
            parse_timestamp("2026-03-02")
                .unwrap_err()
                .contains("date alone")
        );
        assert!(
            parse_timestamp("2026-03-02T14:05:00")
                .unwrap_err()
                .contains("offset")
        );
        assert!(
            parse_timestamp("03/02/2026")
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
