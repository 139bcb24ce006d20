//! The command line: argument types and the dispatch from each verb to the library.
//!
//! Every option has a `HANDOFF_*` environment variable, so the same settings work
//! from a shell, a systemd unit or a container.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{SubsecRound as _, Timelike as _};
use clap::{Args, Parser, Subcommand};

use crate::store::{Store, StoreError, StoreOptions};

/// The database used when neither `--database` nor `HANDOFF_DATABASE` is given.
pub const DEFAULT_DATABASE: &str = "sqlite://handoff.db";

/// Keeps the marketing-to-sales SLA honest.
///
/// handoff reads lead data (reps, leads, touches, deals) from a SQL store, evaluates
/// the SLA written in YAML rule files, and tells the accountable team when a promise
/// is at risk or broken.
///
/// Start with `handoff demo`: it builds a synthetic company in SQLite with planted
/// SLA trouble. Then load your own data with `handoff import DIR`.
#[derive(Debug, Parser)]
#[command(
    name = "handoff",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every verb understands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database URL: sqlite://FILE, postgres://USER:PASSWORD@HOST:PORT/DB or
    /// mysql://USER:PASSWORD@HOST:PORT/DB.
    ///
    /// A missing SQLite file is created by the verbs that write (demo, import,
    /// migrate, run); eval reads only an existing one. [default: sqlite://handoff.db]
    #[arg(
        long,
        env = "HANDOFF_DATABASE",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,

    /// A file holding the database URL (one line), instead of --database: for
    /// systemd's LoadCredential= or a mounted secret, so that the password is
    /// in neither the command line nor the environment.
    #[arg(
        long,
        env = "HANDOFF_DATABASE_FILE",
        global = true,
        value_name = "PATH",
        conflicts_with = "database"
    )]
    pub database_file: Option<PathBuf>,

    /// A read replica of --database for the lead queries: evaluations (run,
    /// eval, backtest), the scans for lead notices (run, leads) and the review
    /// (run, review) read the leads there. Everything handoff writes, or reads
    /// back of its own, stays on --database: results history, alert state,
    /// the outbox and notification log, silences, acknowledgements, the SLA's
    /// change log, metadata and migrations. The same kind of database as
    /// --database, opened as it is: never created nor migrated.
    ///
    /// Each read first asks the replica how far behind its primary it is.
    /// Further behind than --max-replica-lag, or unable to say (replication
    /// stopped), the evaluation fails with reason stale_replica instead of
    /// showing old figures as current; `run` exports the lag as
    /// handoff_read_replica_lag_seconds. Import, demo, migrate and silence
    /// ignore it.
    #[arg(
        long,
        env = "HANDOFF_READ_DATABASE",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub read_database: Option<String>,

    /// A file holding the read replica's URL (one line), instead of
    /// --read-database.
    #[arg(
        long,
        env = "HANDOFF_READ_DATABASE_FILE",
        global = true,
        value_name = "PATH",
        conflicts_with = "read_database"
    )]
    pub read_database_file: Option<PathBuf>,

    /// How far a read replica (--read-database) may lag behind its primary
    /// for its figures to count as current: 30s, 5m, 1h. An evaluation that
    /// finds it further behind fails with reason stale_replica (the
    /// evaluation-failing alert follows, and the objective shows no figure)
    /// and is retried until the replica catches up.
    #[arg(
        long,
        env = "HANDOFF_MAX_REPLICA_LAG",
        global = true,
        value_name = "DURATION",
        default_value = "60s"
    )]
    pub max_replica_lag: crate::rules::Duration,

    /// Directory holding the SLA rule files (every *.yaml below it).
    #[arg(
        long,
        env = "HANDOFF_RULES",
        global = true,
        value_name = "DIR",
        default_value = DEFAULT_RULES
    )]
    pub rules: PathBuf,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `handoff=debug`).
    #[arg(
        long,
        env = "HANDOFF_LOG",
        global = true,
        value_name = "FILTER",
        default_value = "info"
    )]
    pub log: String,

    /// How log lines are written to stderr: `text` for a person, `json` (one
    /// object per line: timestamp, level, target, message and fields) for a
    /// log collector such as journald with a JSON parser, Loki or Elastic.
    #[arg(
        long,
        env = "HANDOFF_LOG_FORMAT",
        global = true,
        value_name = "FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Most database connections for reads: `eval` uses one (it evaluates one objective at a
    /// time), `run` one per evaluation it may run at once (--concurrency).
    #[arg(
        long,
        env = "HANDOFF_DB_CONNECTIONS",
        global = true,
        value_name = "N",
        default_value_t = StoreOptions::default().read_connections
    )]
    pub db_connections: u32,

    /// Seconds that connecting to the database, or waiting for a free connection,
    /// may take before the database counts as unreachable.
    #[arg(
        long,
        env = "HANDOFF_DB_CONNECT_TIMEOUT",
        global = true,
        value_name = "SECONDS",
        default_value_t = StoreOptions::default().connect_timeout.as_secs()
    )]
    pub db_connect_timeout: u64,

    /// SQLite: page cache per connection, in MiB. With the file mapped
    /// (--sqlite-mmap-mib) it holds only what the map does not cover; without
    /// the map every read goes through it, and peak memory grows with it.
    #[arg(
        long,
        env = "HANDOFF_SQLITE_CACHE_MIB",
        global = true,
        value_name = "MIB",
        default_value_t = StoreOptions::default().sqlite_cache_mib
    )]
    pub sqlite_cache_mib: u32,

    /// SQLite: how much of the database file each connection maps into memory,
    /// in MiB; SQLite caps it at 2 GiB. Mapped pages are the kernel's page
    /// cache: they count in RSS, not in the process's own (anonymous) memory.
    /// 0 reads through system calls: for a file on a network filesystem, or
    /// storage that may fail (a failed read of a mapped page ends the process
    /// with SIGBUS).
    #[arg(
        long,
        env = "HANDOFF_SQLITE_MMAP_MIB",
        global = true,
        value_name = "MIB",
        default_value_t = StoreOptions::default().sqlite_mmap_mib
    )]
    pub sqlite_mmap_mib: u32,
}

impl GlobalArgs {
    /// The database URL in force: `--database`, else `HANDOFF_DATABASE`, else the default.
    pub fn database_url(&self) -> &str {
        self.database.as_deref().unwrap_or(DEFAULT_DATABASE)
    }

    /// How the store uses the database, from the options.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            read_connections: self.db_connections.max(1),
            connect_timeout: std::time::Duration::from_secs(self.db_connect_timeout.max(1)),
            sqlite_cache_mib: self.sqlite_cache_mib,
            sqlite_mmap_mib: self.sqlite_mmap_mib,
            ..StoreOptions::default()
        }
    }

    /// Opens the database for writing, creating a missing SQLite file.
    async fn store(&self) -> Result<Store, StoreError> {
        Store::connect(self.database_url(), &self.store_options()).await
    }

    /// `store` with its lead reads sent to --read-database, when one is given.
    async fn with_replica(
        &self,
        store: Store,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        match self.read_database.as_deref().filter(|u| !u.is_empty()) {
            None => Ok(store),
            Some(url) => {
                store
                    .with_read_replica(url, options, self.max_replica_lag.to_std())
                    .await
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: evaluate each objective on its schedule, keep the results
    /// history and alert state, and serve /metrics, the API and a status page.
    ///
    /// On start it restores saved alert state, then evaluates every objective once
    /// so that /metrics is full within seconds; after that each objective runs on
    /// its cron `schedule` in its rule file's time zone. Results, closed periods and
    /// alert transitions are kept in `handoff_*` tables of the same database.
    ///
    /// HTTP on --listen (loopback by default): GET / (status page), /metrics,
    /// /-/healthy, /-/ready, /api/v1/objectives, /api/v1/objectives/NAME/history,
    /// /api/v1/alerts, /review and /review/PERIOD (the monthly review,
    /// docs/REVIEW.md); POST /-/reload with `Authorization: Bearer TOKEN`.
    /// With `review:` in the rules, mails each closed period's review once.
    ///
    /// Reloads the rules on SIGHUP, on a change under --rules and on POST /-/reload;
    /// invalid rules are reported and the running ones kept. Stops on SIGINT or
    /// SIGTERM, letting running evaluations finish (see --shutdown-grace).
    Run(RunArgs),

    /// Build a demo database: a synthetic company with planted SLA trouble.
    ///
    /// About six months of leads across five channels, reps with different habits
    /// (a fast responder, a slow one, one who gives up after an attempt or two),
    /// heavy-tailed response times, connect rates and attempt counts in line with
    /// published figures, and deals with realistic amounts. The same --seed, --leads,
    /// --months and --end always give the same data.
    ///
    /// Without --database it writes sqlite://handoff.db. A database that already
    /// holds lead data which demo did not make is left alone unless --replace is given.
    Demo(DemoArgs),

    /// Load canonical CSV files (reps.csv, leads.csv, touches.csv, deals.csv) from DIR.
    ///
    /// Any subset of the four files may be present; they load in dependency order
    /// (reps, leads, touches, deals). Headers are the column names, in any order;
    /// timestamps are RFC 3339 (`2026-03-02T14:05:00Z`, offsets are converted to UTC);
    /// booleans are `true`/`false`; an empty field is null. Rows are upserted by id.
    ///
    /// Every row is checked before anything is committed, and the folder is
    /// imported whole or not at all: on a bad row, every problem in that file is
    /// reported as FILE:LINE:COLUMN, the files after it are not loaded, and
    /// nothing of the folder is written (--each-file commits each good file
    /// instead). Enumerations (`call`, `outbound`, `connected`) are read
    /// without regard to case. A database holding the demo company needs
    /// --replace.
    ///
    /// With --mapping, DIR holds a CRM's export files instead: `--mapping
    /// hubspot` (contacts, deals, calls and e-mails exported from HubSpot),
    /// `--mapping salesforce` (Lead, Task, Opportunity and User exports), or
    /// `--mapping FILE` for a mapping of your own (docs/MAPPINGS.md). Problems
    /// are located in the source files; rows a mapping skips and columns it
    /// could not fill are counted after the import.
    Import(ImportArgs),

    /// Create or upgrade the database schema, then exit.
    ///
    /// Other verbs that write do this on start too. On PostgreSQL and MariaDB a
    /// `reps`, `leads`, `touches` or `deals` view that already exists is kept, so the
    /// lead tables can be views over CRM sync tables.
    Migrate,

    /// Validate SLA rule files and their tests, or a mapping file with
    /// --mapping; never touches the database.
    ///
    /// Checks every *.yaml under PATH (default: the --rules directory) as one rule
    /// set: the YAML itself, unknown or misspelled fields, the fields each kind of
    /// objective takes, cron schedules, time zones, durations, windows, targets and
    /// calendars, and that every team, calendar and objective named exists.
    ///
    /// The rule tests in PATH/tests/ (docs/TESTS.md) are checked too: each test
    /// file's fields, timestamps, durations, rows (as import checks a CSV field),
    /// paths, and that every expectation is at an instant the test evaluates at.
    /// Given a test file, or a directory named `tests`, check checks only those.
    ///
    /// All is well: prints one line (`5 objectives in 1 file are valid`), and one
    /// for the tests if there are any (`3 tests in 1 test file are valid`), exits 0.
    /// Otherwise: prints every error in every file to stderr as FILE:LINE:COLUMN with
    /// the offending line and a hint, exits 1. Fast enough for a git pre-commit hook.
    ///
    /// A single file is checked as if it were the whole rule set, so teams or
    /// calendars defined in another file count as unknown. The field reference is
    /// rules/README.md.
    ///
    /// `handoff check --mapping FILE` checks a mapping file the same way (its
    /// source columns are checked against the files' headers by import).
    Check(CheckArgs),

    /// Evaluate every objective once, print the results, change nothing.
    ///
    /// Reads the rule files and the lead data and prints, per objective and group,
    /// the measured value against its target and a status: ok, at_risk, breached,
    /// no_data or error. Only events before --at count, so an instant in the past
    /// reproduces what was known then. The database is never written: run
    /// `handoff migrate` (or `handoff demo`) first if it has no lead tables.
    ///
    /// --format json prints one JSON object:
    /// {"evaluated_at", "objectives": [{"name", "kind", "results": [{"group",
    /// "status", "value", "target", "numerator", "denominator", "details"}]}]}.
    /// Exits 1 when an objective could not be evaluated (status error).
    Eval(EvalArgs),

    /// Show the leads whose first-attempt clock runs: in flight and overdue
    /// now, by rep, for every objective with `notify_reps:` (docs/LEADS.md).
    ///
    /// Reads what the daemon's scan for lead notices reads: the leads handed
    /// over recently enough to be due ahead or overdue by less than a working
    /// day (8 business hours with a calendar, 24 hours without), untried
    /// and still open, as known at --at. Deadlines and overdue times are in the objective's
    /// business time. Sends nothing, changes nothing. --format json prints
    /// {"at", "objectives": [{"name", "untried_open", "scan_seconds",
    /// "error", "leads": {"in_flight", "overdue", "overdue_by_rep",
    /// "overdue_leads", "unowned", "unroutable", …}}]}.
    Leads(LeadsArgs),

    /// The review of a closed month or quarter, for the meeting of both teams
    /// (docs/REVIEW.md).
    ///
    /// Each promise met or missed over the period, beside the two periods
    /// before and the same period a year earlier; lead flow by channel for
    /// the year with growth against the period before; acceptance, close
    /// reasons, won deals and MQL value by channel; a table of the reps
    /// (MQLs, worked in time, median first response, given up, given up
    /// under the minimum, deals won); the economics of attempts; the alerts
    /// of the period and the SLA changes made in it, from the daemon's record.
    ///
    /// Every figure is the objective evaluated with its window replaced by
    /// the period, at the period's end: computed from the lead data, so it
    /// works on data imported a minute ago, and gives the same figures on
    /// every database. Changes nothing. Examples:
    ///
    ///   handoff review                       # the last closed month, as text
    ///   handoff review --period 2026-11 --format html --out nov.html
    ///   handoff review --period 2026-Q4 --format json
    Review(ReviewArgs),

    /// Silence alerts: their notices are held while the silence is in force.
    ///
    /// A silenced alert is still evaluated and shown on the status page
    /// (marked silenced); what it would tell waits, and goes when the silence
    /// ends if it is still true. A silenced alert that was told and then
    /// resolves still sends its resolution to everyone told that it fired.
    /// Silences are kept in the database: a running daemon on the same
    /// database reads them within 15 seconds (docs/CHANNELS.md). Examples:
    ///
    ///   handoff silence add --objective speed-to-lead --group webinar \
    ///       --for 4h --comment "webinar list imported late, fixing"
    ///   handoff silence list
    ///   handoff silence expire 3f9c0a7d12e4b588
    #[command(subcommand)]
    Silence(SilenceCommand),

    /// Run rule unit tests: lead rows, instants on a simulated clock, and the
    /// statuses, alerts and mail expected (docs/TESTS.md).
    ///
    /// Each test gets an in-process SQLite database of its own with the rows it
    /// gives, and runs through the daemon's own decision engine: objectives
    /// are evaluated at each of its instants, row changes and rule changes
    /// apply at theirs, and mail grouping (group_wait, group_interval) runs on
    /// the simulated clock, without sleeping. The mail expected at an instant is
    /// the mail the evaluation at that instant leads to, whenever grouping
    /// sends it.
    ///
    /// Prints each test as ok or FAIL; each failed expectation as
    /// FILE:LINE with what was expected and what was found. Exits 1 on any
    /// failure or invalid test file. PATH: test files or directories of them
    /// [default: the tests/ directory of --rules]. A file's `rules:` names its
    /// rules; otherwise --rules.
    Test(TestArgs),

    /// Replay the rules over past instants against the lead data, through the
    /// daemon's own engine; send nothing.
    ///
    /// Prints, per objective and group, the status at every instant (a
    /// timeline), the alerts that would have fired and resolved, and every
    /// notice that would have gone, per receiver, with its subject. Mail
    /// grouping (--group-wait, --group-interval) runs on the simulated clock.
    /// Only events before each instant count, as with `eval --at`. An
    /// objective is evaluated at an instant once its schedule would have run
    /// since its last evaluation, so a weekly objective is replayed weekly.
    ///
    /// --against DIR replays a proposed rule set beside the current one and
    /// prints both: "what would an 85% target have meant over the last six
    /// months". --record writes the results and the final figures of closed
    /// periods into the results history, so that data imported from a CRM gets
    /// its status-page charts and true "since" (alert state and mail are never
    /// written). Example:
    ///
    ///   handoff backtest --from 2026-06-01 --to 2026-11-30 --against proposed/
    Backtest(BacktestArgs),

    /// Print the JSON Schema (draft 2020-12) of rule files (or, with --mapping,
    /// of mapping files; with --tests, of rule test files) to stdout.
    ///
    /// Editors running the YAML language server use it to complete and check rule
    /// files: the shipped ones start with `# yaml-language-server: $schema=schema.json`.
    /// Refresh the shipped copy with `handoff schema > rules/schema.json`. The schema
    /// checks shape; `handoff check` also checks meaning (cron, time zones, references).
    ///
    /// `handoff schema --tests > docs/tests.schema.json` refreshes the schema of
    /// test files (docs/TESTS.md); a test file can name it in its own modeline,
    /// `# yaml-language-server: $schema=PATH`, PATH relative to the test file.
    Schema(SchemaArgs),

    /// Start a rule set: write the starter rules into DIR (default: the --rules
    /// directory, ./rules), then print what to run next.
    ///
    /// The starter is the SLA of the demo company, with the reasons for every
    /// default in its comments: lead volume and acceptance for marketing, speed
    /// to lead, persistence and attempt economics for sales. Beside it: its rule
    /// tests (tests/, run by `handoff test`), the field reference (README.md)
    /// and the JSON Schemas editors complete from. Edit teams, addresses,
    /// targets and schedules to yours; `handoff check` says what is wrong, where.
    ///
    /// DIR must be new or empty: a starter written beside other rule files would
    /// make one rule set of both.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write the rules into [default: the --rules directory].
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Test files, or directories of them [default: RULES/tests/].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The first instant: 2026-06-01 (midnight starting that day, in the rules'
    /// time zone), 2026-06-01T09:00 (a wall time) or an exact instant.
    #[arg(long, value_name = "WHEN")]
    pub from: crate::when::When,

    /// The last instant [default: now].
    #[arg(long, value_name = "WHEN")]
    pub to: Option<crate::when::When>,

    /// The step between instants: 1d, 12h, 30m, 1w.
    #[arg(long, value_name = "DURATION", default_value = "1d")]
    pub every: crate::rules::Duration,

    /// A proposed rule set (a directory or file) to replay beside the current one.
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,

    /// Write the results and closed periods into the results history (the
    /// current rules only).
    #[arg(long)]
    pub record: bool,

    /// Output: a table for people, or one JSON object for programs.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,

    /// Seconds the first mail to a receiver waits (as `run --group-wait`).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub group_wait: u64,

    /// Seconds between mail rounds to a receiver (as `run --group-interval`).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub group_interval: u64,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of mapping files rather than rule files (docs/MAPPINGS.md).
    #[arg(long, conflicts_with = "tests")]
    pub mapping: bool,

    /// The schema of rule test files rather than rule files (docs/TESTS.md):
    /// the files under RULES/tests/ that `handoff check` also checks.
    #[arg(long)]
    pub tests: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A rule file, or a directory of them and of tests in its `tests/`; or a
    /// test file, or a `tests` directory: only those [default: the --rules
    /// directory].
    #[arg(value_name = "PATH", conflicts_with = "mapping")]
    pub path: Option<PathBuf>,

    /// Check this mapping file (or a built-in mapping: hubspot, salesforce)
    /// instead of the rules.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The instant to evaluate at [default: now]: 2026-11-20 (midnight starting
    /// that day), 2026-11-20T09:30 (a wall time), both in the rules' time zone,
    /// or an exact instant such as 2026-11-20T14:30:00Z. Only events before it
    /// count.
    #[arg(long, value_name = "WHEN")]
    pub at: Option<crate::when::When>,

    /// Output: a table for people, or one JSON object for programs.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,

    /// Evaluate only this objective (repeat for several) [default: all of them].
    #[arg(long, value_name = "NAME")]
    pub objective: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LeadsArgs {
    /// The instant to look at [default: now], as `eval --at` reads it.
    #[arg(long, value_name = "WHEN")]
    pub at: Option<crate::when::When>,

    /// Output: a table for people, or one JSON object for programs.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The closed period: `last` (the last closed month, or quarter with
    /// `review.period: quarter`), a month (`2026-11`) or a quarter
    /// (`2026-Q4`), in the rules' time zone.
    #[arg(long, value_name = "PERIOD", default_value = "last")]
    pub period: String,

    /// Output: text for the terminal, one self-contained HTML page (prints on
    /// A4, reads on a phone), or one JSON object for programs.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Text)]
    pub format: ReviewFormat,

    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,

    /// Read "now" as this instant (which periods have closed), as `eval --at`
    /// reads it [default: now].
    #[arg(long, value_name = "WHEN")]
    pub at: Option<crate::when::When>,
}

/// `handoff silence …`.
#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Make a silence. Leave a matcher out to match every value; at least
    /// one of --objective, --group, --severity is needed.
    Add(SilenceAddArgs),
    /// List the silences in force, to come, and ended in the last 7 days.
    List(SilenceListArgs),
    /// End a silence now.
    Expire {
        /// The silence's id, as `handoff silence list` shows it.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct SilenceAddArgs {
    /// The objective whose alerts to silence.
    #[arg(long, value_name = "NAME")]
    pub objective: Option<String>,
    /// The group (channel, rep, …) whose alerts to silence.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Only alerts of this severity: critical (breached) or warning (at risk).
    #[arg(long, value_name = "SEVERITY")]
    pub severity: Option<String>,
    /// How long, from its start: `30m`, `4h`, `2d`, `1w`.
    #[arg(long = "for", value_name = "DURATION", conflicts_with = "until")]
    pub duration: Option<String>,
    /// When it ends, instead of --for (RFC 3339, or a wall time in the
    /// rules' time zone: `2026-12-08T09:00`).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<crate::when::When>,
    /// When it starts [default: now].
    #[arg(long, value_name = "WHEN")]
    pub from: Option<crate::when::When>,
    /// Why: shown on the status page and in the API beside who made it.
    #[arg(long, value_name = "TEXT")]
    pub comment: String,
    /// Who makes it [default: $USER].
    #[arg(long, value_name = "NAME", env = "USER", hide_env_values = true)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct SilenceListArgs {
    /// Output: a table for people, or JSON as `GET /api/v1/silences` gives it.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,
}

/// `4h`, `30m`, `1d12h`, `1w`, as a length of time.
fn parse_for(text: &str) -> Result<chrono::TimeDelta, String> {
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "`{text}` is not a length of time: write e.g. 30m, 4h, 2d, 1w"
                ));
            }
        };
        let n: i64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a length of time: write e.g. 30m, 4h, 2d, 1w"))?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| format!("`{text}` is too long"))?;
    }
    if !number.is_empty() || total == 0 {
        return Err(format!(
            "`{text}` is not a length of time: write e.g. 30m, 4h, 2d, 1w"
        ));
    }
    if total > 366 * 86_400 {
        return Err(format!(
            "`{text}` is more than a year: silence for less, and renew it"
        ));
    }
    Ok(chrono::TimeDelta::seconds(total))
}

/// How `handoff review` prints the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewFormat {
    Text,
    Html,
    Json,
}

/// How `handoff eval` prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalFormat {
    Table,
    Json,
}

/// How the daemon runs (`run`, and `demo` after it builds the database).
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Address of the HTTP server (status page, /metrics, API).
    #[arg(long, env = "HANDOFF_LISTEN", value_name = "ADDR", default_value = crate::daemon::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,

    /// Bearer token that write endpoints (POST /-/reload) require. Without it they
    /// answer 403. Prefer the environment variable: command lines are visible to
    /// other users of the machine.
    #[arg(
        long,
        env = "HANDOFF_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// A file holding the admin token (one line), instead of --admin-token.
    #[arg(
        long,
        env = "HANDOFF_ADMIN_TOKEN_FILE",
        value_name = "PATH",
        conflicts_with = "admin_token"
    )]
    pub admin_token_file: Option<PathBuf>,

    /// Days of results history and alert events to keep; older rows are pruned.
    /// The final figures of closed periods are kept.
    #[arg(
        long,
        env = "HANDOFF_RETENTION_DAYS",
        value_name = "DAYS",
        default_value_t = 400
    )]
    pub retention_days: u32,

    /// How many evaluations may query the database at the same time
    /// [default: 1 on SQLite, whose evaluations run in this process and each
    /// keep their memory; 2 on PostgreSQL and MySQL]. On SQLite the daemon reads
    /// through this many connections; on a server it opens one more, for the
    /// history API. Both within --db-connections.
    #[arg(long, env = "HANDOFF_CONCURRENCY", value_name = "N")]
    pub concurrency: Option<usize>,

    /// Seconds that running evaluations, and HTTP requests in progress, get
    /// to finish on SIGTERM. Idle and slow HTTP clients are not waited for.
    #[arg(
        long,
        env = "HANDOFF_SHUTDOWN_GRACE",
        value_name = "SECONDS",
        default_value_t = 30
    )]
    pub shutdown_grace: u64,

    /// Take a reload that removes every objective, or more than half of four
    /// or more. Without it such a reload is refused with the objectives it
    /// would remove, and the running rules are kept: a rule file cut short by a
    /// deploy or an editor would otherwise stop every alert at once.
    #[arg(long, env = "HANDOFF_ALLOW_EMPTY_RULES")]
    pub allow_empty_rules: bool,

    /// This daemon's name among several sharing one PostgreSQL or
    /// MySQL/MariaDB database (docs/DAEMON.md, "Two daemons, one mailer"):
    /// the one holding the leader's lease records and sends, the others
    /// follow and take over within 30 seconds when it stops. Shown in the
    /// logs, on the status page and in `handoff_lease`. Default: the host
    /// name and process id. On SQLite one daemon runs per file.
    #[arg(long, env = "HANDOFF_INSTANCE", value_name = "NAME")]
    pub instance: Option<String>,

    /// Seconds an HTTP client has to send a whole request head, from
    /// connecting (or from the first byte of its next request); slower
    /// clients, which hold a connection open by sending a byte now and then,
    /// are disconnected.
    #[arg(
        long,
        env = "HANDOFF_HTTP_HEADER_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub http_header_timeout: u64,

    /// Seconds a kept-alive HTTP connection may wait for its next request (and
    /// a client may take to read an answer) before it is closed.
    #[arg(
        long,
        env = "HANDOFF_HTTP_IDLE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub http_idle_timeout: u64,

    /// Most HTTP connections open at once, so that clients can never take the
    /// file descriptors the database, mail and the rules watcher need (keep it
    /// well below `ulimit -n`). One more takes the place of the connection
    /// that has waited longest without a request in progress; when all have
    /// one, new connections wait in the kernel's queue.
    #[arg(
        long,
        env = "HANDOFF_HTTP_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 128,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub http_max_connections: u64,

    /// The SMTP server alert mail goes through. The URL says how the connection
    /// is secured, never the port: smtp://HOST:PORT (none),
    /// smtp://HOST:PORT?tls=required (STARTTLS or refuse),
    /// smtp://HOST:PORT?tls=opportunistic (STARTTLS when offered),
    /// smtps://HOST:PORT (TLS from the start); USER:PASSWORD@HOST logs in
    /// (percent-encode special characters). Without it, every mail is written
    /// to --outbox-dir instead.
    #[arg(
        long,
        env = "HANDOFF_SMTP_URL",
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Alert mail"
    )]
    pub smtp_url: Option<String>,

    /// A file holding the SMTP URL (one line, with its password), instead of
    /// --smtp-url.
    #[arg(
        long,
        env = "HANDOFF_SMTP_URL_FILE",
        value_name = "PATH",
        help_heading = "Alert mail",
        conflicts_with = "smtp_url"
    )]
    pub smtp_url_file: Option<PathBuf>,

    /// Seconds the SMTP server is given for each step of sending a mail:
    /// connecting, its greeting, its reply to each command (EHLO, STARTTLS,
    /// AUTH, MAIL, RCPT, DATA, QUIT) and to the message. A send may take this
    /// long for each of its steps, and no longer; one that does not finish in
    /// time fails as a timeout and is tried again later.
    #[arg(
        long,
        env = "HANDOFF_SMTP_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Alert mail"
    )]
    pub smtp_timeout: u64,

    /// The sender of alert mail, as an address or `Name <address>`.
    #[arg(
        long,
        env = "HANDOFF_MAIL_FROM",
        value_name = "ADDRESS",
        default_value = "handoff <handoff@localhost>",
        help_heading = "Alert mail"
    )]
    pub mail_from: String,

    /// Where mail is written as `.eml` files when no --smtp-url is given (each
    /// file named by its Message-ID; open one with any mail program).
    #[arg(
        long,
        env = "HANDOFF_OUTBOX_DIR",
        value_name = "DIR",
        default_value = "outbox",
        help_heading = "Alert mail"
    )]
    pub outbox_dir: std::path::PathBuf,

    /// A directory of mail templates that replace the built-in ones of the same
    /// name (breach.txt.j2, breach.html.j2, at_risk.*, resolved.*,
    /// period_missed.*, evaluation_failing.*, sla_changed.*, lead_notice.*,
    /// layout.html.j2, parts.*.j2). They are checked on start.
    #[arg(
        long,
        env = "HANDOFF_TEMPLATES_DIR",
        value_name = "DIR",
        help_heading = "Alert mail"
    )]
    pub templates_dir: Option<std::path::PathBuf>,

    /// The address people reach the status page at (e.g.
    /// https://handoff.acme.example); mail links to it.
    #[arg(
        long,
        env = "HANDOFF_EXTERNAL_URL",
        value_name = "URL",
        help_heading = "Alert mail"
    )]
    pub external_url: Option<String>,

    /// Seconds the first mail to a receiver waits, so that what goes wrong
    /// together is told together.
    #[arg(
        long,
        env = "HANDOFF_GROUP_WAIT",
        value_name = "SECONDS",
        default_value_t = 30,
        help_heading = "Alert mail"
    )]
    pub group_wait: u64,

    /// Seconds between one mail round to a receiver and the next, while it
    /// has alerts firing.
    #[arg(
        long,
        env = "HANDOFF_GROUP_INTERVAL",
        value_name = "SECONDS",
        default_value_t = 300,
        help_heading = "Alert mail"
    )]
    pub group_interval: u64,

    /// Seconds between scans of the leads in flight for lead notices
    /// (`notify_reps:` in the rules, docs/LEADS.md). Each scan reads only the
    /// leads whose first-attempt clock runs; a reminder or a deadline is also
    /// scanned for at the instant it falls due.
    #[arg(
        long,
        env = "HANDOFF_LEAD_SCAN_EVERY",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        help_heading = "Alert mail"
    )]
    pub lead_scan_every: u64,

    /// The secret that signs acknowledgement links (docs/CHANNELS.md): each
    /// firing notice then carries a link that stops its reminders until its
    /// status changes. Needs --external-url. Any long random text; changing
    /// it voids the links already sent.
    #[arg(
        long,
        env = "HANDOFF_ACK_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        help_heading = "Alert mail"
    )]
    pub ack_secret: Option<String>,

    /// A file holding the acknowledgement secret (one line), instead of
    /// --ack-secret.
    #[arg(
        long,
        env = "HANDOFF_ACK_SECRET_FILE",
        value_name = "PATH",
        conflicts_with = "ack_secret",
        help_heading = "Alert mail"
    )]
    pub ack_secret_file: Option<PathBuf>,

    /// Seconds a post to a webhook, Slack or Teams URL may take, connecting
    /// included; a post that takes longer is tried again later.
    #[arg(
        long,
        env = "HANDOFF_POST_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=600),
        help_heading = "Alert mail"
    )]
    pub post_timeout: u64,
}

impl DaemonArgs {
    /// How many evaluations run at once on `backend`.
    pub fn concurrency(&self, backend: crate::store::Backend) -> usize {
        self.concurrency
            .unwrap_or(backend.default_concurrency())
            .max(1)
    }

    /// The daemon's options on `backend`.
    ///
    /// # Errors
    ///
    /// The mail settings are wrong: an SMTP URL, sender, external URL or
    /// template that cannot be used.
    pub fn options(
        &self,
        backend: crate::store::Backend,
    ) -> anyhow::Result<crate::daemon::Options> {
        Ok(crate::daemon::Options {
            listen: self.listen,
            admin_token: self.admin_token.clone().filter(|t| !t.is_empty()),
            retention: chrono::TimeDelta::days(i64::from(self.retention_days.max(1))),
            concurrency: self.concurrency(backend),
            shutdown_grace: std::time::Duration::from_secs(self.shutdown_grace),
            allow_empty_rules: self.allow_empty_rules,
            http: crate::daemon::HttpLimits {
                header_read: std::time::Duration::from_secs(self.http_header_timeout),
                idle: std::time::Duration::from_secs(self.http_idle_timeout),
                max_connections: usize::try_from(self.http_max_connections).unwrap_or(usize::MAX),
            },
            mail: Some(self.mail()?),
            lead_scan_every: std::time::Duration::from_secs(self.lead_scan_every),
            instance: self
                .instance
                .clone()
                .filter(|i| !i.trim().is_empty())
                .unwrap_or_else(crate::daemon::lease::default_instance),
            ..crate::daemon::Options::default()
        })
    }

    /// The alert mail settings.
    ///
    /// # Errors
    ///
    /// As [`DaemonArgs::options`].
    pub fn mail(&self) -> anyhow::Result<crate::daemon::MailOptions> {
        let transport = crate::mail::Transport::with_timeout(
            self.smtp_url.as_deref(),
            &self.outbox_dir,
            std::time::Duration::from_secs(self.smtp_timeout),
        )
        .map_err(anyhow::Error::msg)?;
        let from: lettre::message::Mailbox = self.mail_from.parse().map_err(|e| {
            anyhow::anyhow!(
                "--mail-from {:?} is not a sender: {e}; write an address (handoff@acme.example) or a name and one (handoff <handoff@acme.example>)",
                self.mail_from
            )
        })?;
        let templates = crate::mail::render::Templates::load(self.templates_dir.clone())
            .map_err(|e| anyhow::anyhow!("mail templates: {e}"))?;
        if let Some(u) = &self.external_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            anyhow::bail!(
                "--external-url {u}: write the status page's address with http:// or https://"
            );
        }
        let external_url = self.external_url.clone().filter(|u| !u.is_empty());
        let ack = match self.ack_secret.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(_) if external_url.is_none() => anyhow::bail!(
                "--ack-secret needs --external-url: acknowledgement links point at the status page"
            ),
            Some(s) if s.len() < 16 => anyhow::bail!(
                "--ack-secret is too short to sign links: give at least 16 characters (e.g. `openssl rand -hex 32`)"
            ),
            Some(s) => Some(std::sync::Arc::new(crate::daemon::acks::AckKey::new(s))),
        };
        let poster =
            crate::channels::Poster::new(std::time::Duration::from_secs(self.post_timeout))
                .map_err(anyhow::Error::msg)?;
        Ok(crate::daemon::MailOptions {
            transport,
            from,
            templates: std::sync::Arc::new(templates),
            external_url,
            ack,
            poster,
            first_retry: crate::daemon::FIRST_RETRY,
            grouping: crate::daemon::Grouping {
                group_wait: chrono::TimeDelta::seconds(
                    i64::try_from(self.group_wait).unwrap_or(i64::MAX / 1000),
                ),
                group_interval: chrono::TimeDelta::seconds(
                    i64::try_from(self.group_interval.max(1)).unwrap_or(i64::MAX / 1000),
                ),
            },
        })
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Build the database and exit, without running the daemon on it.
    #[arg(long)]
    pub build_only: bool,

    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// How many leads to generate in all.
    #[arg(long, env = "HANDOFF_DEMO_LEADS", default_value_t = crate::demo::DEFAULT_LEADS)]
    pub leads: u64,

    /// How many months of history the leads are spread over.
    #[arg(long, env = "HANDOFF_DEMO_MONTHS", default_value_t = crate::demo::DEFAULT_MONTHS)]
    pub months: u32,

    /// Seed of the random generator.
    #[arg(long, env = "HANDOFF_DEMO_SEED", default_value_t = crate::demo::DEFAULT_SEED)]
    pub seed: u64,

    /// The instant the history ends at [default: now, to the minute]: 2026-11-20,
    /// 2026-11-20T09:30 (in the demo company's zone, America/New_York) or an
    /// exact instant such as 2026-11-20T14:30:00Z.
    #[arg(long, value_name = "WHEN")]
    pub end: Option<crate::when::When>,

    /// Delete the lead data already in the database first.
    #[arg(long)]
    pub replace: bool,

    /// Write the company as canonical CSV files into DIR instead of a database
    /// (the format `handoff import` reads).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
}

impl DemoArgs {
    /// The company `handoff demo` was asked for; `--end` defaults to now, to the minute.
    ///
    /// # Errors
    ///
    /// `--end` names a wall time the demo's zone skips.
    pub fn spec(&self) -> anyhow::Result<crate::demo::DemoSpec> {
        let end = match self.end {
            Some(t) => t
                .resolve(crate::demo::timezone())
                .map_err(|e| Usage(format!("--end: {e}")))?,
            None => chrono::Utc::now().trunc_subsecs(0),
        };
        let end = end.with_second(0).unwrap_or(end);
        Ok(crate::demo::DemoSpec {
            leads: self.leads,
            months: self.months,
            seed: self.seed,
            end,
        })
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directory holding reps.csv, leads.csv, touches.csv and/or deals.csv (the
    /// case of the names does not matter; commas, semicolons or tabs separate
    /// fields).
    pub dir: PathBuf,

    /// Commit each good file on its own. By default the folder is imported
    /// whole or not at all: one bad file and nothing is written.
    #[arg(long)]
    pub each_file: bool,

    /// Delete the lead data already in the database first, in the same
    /// transaction. Needed to import into a database that holds the demo
    /// company, so that the two histories are not mixed.
    #[arg(long)]
    pub replace: bool,

    /// Read DIR as a CRM's exports through a mapping: `hubspot`, `salesforce`,
    /// or the path of a mapping file (docs/MAPPINGS.md).
    #[arg(long, value_name = "NAME|FILE")]
    pub mapping: Option<String>,

    /// The time zone of local times in the exports (CRMs write the account's
    /// zone, without an offset); wins over the mapping's `timezone` [default:
    /// the mapping's, else the rules' `timezone`].
    #[arg(long, value_name = "ZONE", requires = "mapping")]
    pub timezone: Option<chrono_tz::Tz>,
}

/// Starts the tracing subscriber that writes logs to stderr.
pub fn init_tracing(cli: &Cli) {
    // `test` and `backtest` print their own report: what the engine decides
    // on the simulated clock ("Mail decided", alert transitions) is not news,
    // so they log warnings only unless --log says otherwise.
    let quiet =
        matches!(cli.command, Command::Test(_) | Command::Backtest(_)) && cli.global.log == "info";
    let level = if quiet {
        "warn"
    } else {
        cli.global.log.as_str()
    };
    let filter = tracing_subscriber::EnvFilter::try_new(quiet_drivers(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(quiet_drivers("info")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cli.global.log_format {
        // Colours only for a person at a terminal, never into a log file or
        // journal.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// `filter`, with PostgreSQL's notices ("relation … already exists,
/// skipping", on every migrate) at warn unless the filter names sqlx itself:
/// they are the server chatting, not news for whoever reads handoff's log.
fn quiet_drivers(filter: &str) -> String {
    if filter.contains("sqlx") {
        filter.to_owned()
    } else {
        format!("{filter},sqlx::postgres::notice=warn")
    }
}

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, for a person.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// A mistake on the command line that clap cannot see (an instant that does
/// not exist, an objective the rules do not have): the binary exits with 2,
/// as for clap's own usage errors, not 1 (a failure to do the work).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

impl Cli {
    /// Reads the secrets given as files (`--database-file`,
    /// `--admin-token-file`, `--smtp-url-file`, `--ack-secret-file`) into the
    /// options they stand for.
    ///
    /// # Errors
    ///
    /// A file that cannot be read, or is empty; the error names the option
    /// and the file, never what it holds.
    pub fn read_secret_files(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.global.database_file {
            self.global.database = Some(read_secret("--database-file", path)?);
        }
        if let Some(path) = &self.global.read_database_file {
            self.global.read_database = Some(read_secret("--read-database-file", path)?);
        }
        let daemon = match &mut self.command {
            Command::Run(args) => &mut args.daemon,
            Command::Demo(args) => &mut args.daemon,
            _ => return Ok(()),
        };
        if let Some(path) = &daemon.admin_token_file {
            daemon.admin_token = Some(read_secret("--admin-token-file", path)?);
        }
        if let Some(path) = &daemon.smtp_url_file {
            daemon.smtp_url = Some(read_secret("--smtp-url-file", path)?);
        }
        if let Some(path) = &daemon.ack_secret_file {
            daemon.ack_secret = Some(read_secret("--ack-secret-file", path)?);
        }
        Ok(())
    }
}

/// The secret in `path`: its text without the line end(s) that editors and
/// `echo` add.
fn read_secret(option: &str, path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {option} {}: {e}", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.trim().is_empty() {
        anyhow::bail!("{option} {} is empty", path.display());
    }
    Ok(secret.to_owned())
}

/// Runs one verb to completion and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Migrate => {
            let store = global.store().await?;
            let applied = store.migrate().await;
            // Closing folds SQLite's write-ahead log back into the file: the
            // database is one file again.
            store.close().await;
            match applied? {
                0 => println!(
                    "schema of {} is up to date: no migration to apply",
                    store.describe()
                ),
                n => println!(
                    "applied {n} migration{} to {}: its schema is up to date",
                    if n == 1 { "" } else { "s" },
                    store.describe()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            let store = global.store().await?;
            store.migrate().await?;
            if !args.replace && store.meta(crate::store::META_DEMO).await?.is_some() {
                store.close().await;
                anyhow::bail!(
                    "{} holds the demo company (handoff demo): importing {} into it would mix your history with the demo's. \
                     Give --replace to delete the demo's lead data first, or import into another database (--database sqlite://mine.db)",
                    crate::store::redact(global.database_url()),
                    args.dir.display()
                );
            }
            let mapping = match &args.mapping {
                None => None,
                Some(spec) => match crate::mapping::load(spec) {
                    Ok(m) => Some(std::sync::Arc::new(m)),
                    Err(errors) => {
                        store.close().await;
                        eprint!("{errors}");
                        eprintln!("the mapping is not valid: {}", errors.summary());
                        return Ok(ExitCode::FAILURE);
                    }
                },
            };
            // Local times in exports: the flag, else the mapping's zone, else the
            // company's (the rules').
            let rules_zone = crate::rules::load_dir(&global.rules)
                .ok()
                .map(|r| r.timezone());
            let timezone = crate::mapping::read::Zones {
                given: args.timezone,
                fallback: rules_zone,
            };
            if let Some(m) = &mapping {
                match (args.timezone, m.timezone, rules_zone) {
                    (Some(z), _, _) => eprintln!("local times are read in {z} (--timezone)"),
                    (None, Some(z), _) => {
                        eprintln!("local times are read in {z} (the mapping's timezone)")
                    }
                    (None, None, Some(z)) => eprintln!(
                        "local times are read in {z} (the rules' timezone; --timezone to change)"
                    ),
                    (None, None, None) => eprintln!(
                        "no time zone for local times: neither --timezone, the mapping nor the rules name one; times without an offset will be refused"
                    ),
                }
            }
            let options = crate::import::ImportOptions {
                each_file: args.each_file,
                replace: args.replace,
                mapping,
                timezone,
            };
            let report = crate::import::import_dir_with(
                &store,
                &args.dir,
                &crate::progress::Progress::stderr(),
                options,
            )
            .await
            .with_context(|| format!("failed to import {}", args.dir.display()))?;
            // Files not read first: a misnamed file is often the root cause of
            // the problems reported for the others.
            for note in &report.ignored {
                eprintln!("{note}");
            }
            for file in &report.files {
                match file.outcome {
                    crate::import::Outcome::Imported { .. } => print!("{file}"),
                    _ => eprint!("{file}"),
                }
            }
            if report
                .files
                .iter()
                .any(|f| matches!(f.outcome, crate::import::Outcome::Imported { .. }))
            {
                store.tidy().await?;
            }
            store.close().await;
            Ok(if report.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Demo(args) => {
            let progress = crate::progress::Progress::stderr();
            // The rules first: a daemon without them would stop after the
            // database is built, and the history needs them.
            // --build-only without any rules builds the data alone.
            let rules = match &args.csv {
                Some(_) => None,
                None if args.build_only && crate::init::has_no_rules(&global.rules) => None,
                None => match load_rules(&global) {
                    Some(rules) => Some(rules),
                    None => return Ok(ExitCode::FAILURE),
                },
            };
            let summary = match &args.csv {
                Some(dir) => crate::demo::write_csv(dir, args.spec()?, &progress)?,
                None => {
                    let store = global.store().await?;
                    let summary =
                        crate::demo::build(&store, args.spec()?, args.replace, &progress).await?;
                    store.close().await;
                    summary
                }
            };
            print!("{summary}");
            if args.csv.is_some() {
                return Ok(ExitCode::SUCCESS);
            }
            // 90 days of results history, so that the status page's charts show
            // the trend the demo plants.
            match &rules {
                Some(rules) => {
                    let store = global.store().await?;
                    let n = crate::daemon::backfill(&store, rules, chrono::Utc::now(), 90).await?;
                    if n > 0 {
                        println!("recorded {n} results of the last 90 days as history");
                    }
                    store.close().await;
                }
                None => {
                    eprintln!(
                        "no results history recorded: no rules at {}",
                        global.rules.display()
                    );
                    no_rules_hint(&global.rules);
                }
            }
            if args.build_only {
                return Ok(ExitCode::SUCCESS);
            }
            run_daemon(&global, &args.daemon).await
        }
        Command::Run(args) => run_daemon(&global, &args.daemon).await,
        Command::Check(CheckArgs {
            mapping: Some(spec),
            ..
        }) => match crate::mapping::load(&spec) {
            Ok(m) => {
                let tables: usize = m.files.len();
                let s = if tables == 1 { "" } else { "s" };
                println!(
                    "mapping {} is valid: {tables} source file{s} to tables",
                    m.name
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprint!("{errors}");
                eprintln!("the mapping is not valid: {}", errors.summary());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Check(args) => Ok(check(args.path.as_deref().unwrap_or(&global.rules))),
        Command::Eval(args) => eval(&global, &args).await,
        Command::Leads(args) => leads(&global, &args).await,
        Command::Review(args) => review(&global, &args).await,
        Command::Silence(cmd) => silence(&global, cmd).await,
        Command::Backtest(args) => backtest(&global, &args).await,
        Command::Test(args) => rule_tests(&global, &args).await,
        Command::Init(args) => {
            let dir = args.dir.as_deref().unwrap_or(&global.rules);
            let written = crate::init::write(dir)?;
            println!(
                "wrote a starter rule set into {}: the demo company's SLA, commented, with its tests",
                dir.display()
            );
            for path in &written {
                println!("  {}", path.display());
            }
            println!("next:");
            let steps = crate::init::next_steps(dir, &global.rules);
            let width = steps.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
            for (command, what) in steps {
                println!("  {command:width$}   {what}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema(args) => {
            let schema = if args.mapping {
                crate::mapping::json_schema()
            } else if args.tests {
                crate::ruletest::schema()
            } else {
                crate::rules::json_schema()
            };
            let schema = serde_json::to_string_pretty(&schema)?;
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `handoff check PATH`: the rules at PATH and the tests in PATH/tests/, or
/// only tests when PATH is a test file or a `tests` directory.
fn check(path: &std::path::Path) -> ExitCode {
    use crate::ruletest;
    let mut ok = true;
    let tests = if ruletest::is_test_path(path) {
        Some((path.to_owned(), true))
    } else {
        match crate::rules::load_dir(path) {
            Ok(rules) => println!("{}", rules.summary()),
            Err(errors) => {
                eprint!("{errors}");
                eprintln!("rules are not valid: {}", errors.summary());
                no_rules_hint(path);
                ok = false;
            }
        }
        let dir = path.join("tests");
        (path.is_dir() && dir.is_dir()).then_some((dir, false))
    };
    if let Some((tests, given)) = tests {
        match ruletest::load_paths(std::slice::from_ref(&tests)) {
            (_, Some(errors)) => {
                eprint!("{errors}");
                eprintln!("tests are not valid: {}", errors.summary());
                ok = false;
            }
            (files, None) if files.is_empty() && given => {
                eprintln!("no test files (*.yaml) in {}", tests.display());
                ok = false;
            }
            (files, None) if files.is_empty() => {}
            (files, None) => println!("{}", ruletest::summary(&files)),
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The rule set under `--rules`, or `None` after printing every error (and,
/// when there are no rules at all, where they were looked for).
fn load_rules(global: &GlobalArgs) -> Option<crate::rules::RuleSet> {
    report_rules(global, crate::rules::load_dir(&global.rules))
}

/// Prints the errors of rules that did not load, with a hint where none
/// were found.
fn report_rules(
    global: &GlobalArgs,
    loaded: Result<crate::rules::RuleSet, crate::rules::LoadErrors>,
) -> Option<crate::rules::RuleSet> {
    match loaded {
        Ok(rules) => Some(rules),
        Err(errors) => {
            eprint!("{errors}");
            eprintln!("rules are not valid: {}", errors.summary());
            no_rules_hint(&global.rules);
            None
        }
    }
}

/// The `--rules` default.
const DEFAULT_RULES: &str = "rules/";

/// Prints where rules were looked for and how to get some, when `path` holds none.
fn no_rules_hint(path: &Path) {
    if let Some(hint) = crate::init::no_rules_hint(path, Path::new(DEFAULT_RULES)) {
        eprintln!("{hint}");
    }
}

/// `handoff run`: load the rules, start HTTP, reach the database (retrying
/// while it is away, while `/-/healthy` answers and `/-/ready` says why not),
/// bring the schema up to date, and serve until SIGINT or SIGTERM.
async fn run_daemon(global: &GlobalArgs, args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let Some(rules) = load_rules(global) else {
        return Ok(ExitCode::FAILURE);
    };
    let backend = crate::store::backend_of(global.database_url())?;
    // Mail settings are checked before anything starts.
    let mut options = args.options(backend).context("cannot start")?;
    options.banner = global.log_format == LogFormat::Text;
    tracing::info!(rules = %global.rules.display(), "{}", rules.summary());
    let concurrency = args.concurrency(backend) as u32;
    let mut store_options = global.store_options();
    store_options.read_connections = store_options
        .read_connections
        .min(backend.daemon_read_connections(concurrency));
    let database = crate::store::redact(global.database_url());
    let listening =
        crate::daemon::Listening::bind(&options, &database, rules.objectives().len()).await?;
    let stop = listening.stopping();
    let mut backoff = std::time::Duration::from_secs(1);
    let store = loop {
        let attempt = async {
            let store = Store::connect(global.database_url(), &store_options).await?;
            store.migrate().await?;
            global.with_replica(store, &store_options).await
        };
        let failed = tokio::select! {
            r = attempt => match r {
                Ok(store) => break store,
                Err(e) => e,
            },
            () = stop.cancelled() => {
                listening.shutdown(options.shutdown_grace).await;
                return Ok(ExitCode::SUCCESS);
            }
        };
        // A database that is away is waited for; one that refuses, or a
        // schema this release cannot use, is not going to change by itself.
        if !failed.kind().is_passing() {
            listening.shutdown(options.shutdown_grace).await;
            let hint = match &failed {
                StoreError::Migrate { kind, .. } if *kind == crate::store::ErrorKind::Schema => {
                    Some(
                        "the schema is not one this release can use (docs/DEPLOY.md, \"Upgrades\")",
                    )
                }
                StoreError::Migrate { .. } => Some(
                    "the schema needs migrating and this role may not do it: run `handoff migrate` as the schema's owner, then the grants (docs/DEPLOY.md)",
                ),
                _ => None,
            };
            let e = anyhow::Error::new(failed);
            return Err(match hint {
                Some(hint) => e.context(format!("cannot start: {hint}")),
                None => e.context("cannot start"),
            });
        }
        let reason = crate::error_chain(&failed);
        tracing::error!(error = %reason, retry_in = ?backoff, "Cannot reach the database; retrying.");
        listening.starting(&format!(
            "database unreachable: {reason}; retrying in {}s",
            backoff.as_secs()
        ));
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => {
                listening.shutdown(options.shutdown_grace).await;
                return Ok(ExitCode::SUCCESS);
            }
        }
        backoff = (backoff * 2).min(std::time::Duration::from_secs(60));
    };
    // One daemon per SQLite file; on a server database the lease decides.
    let _lock = match store.sqlite_file() {
        Some(file) => match crate::daemon::lease::lock_sqlite(&file) {
            Ok(lock) => Some(lock),
            Err(e) => {
                store.close().await;
                listening.shutdown(options.shutdown_grace).await;
                return Err(e.context("cannot start"));
            }
        },
        None => None,
    };
    if let Some(replica) = store.read_replica() {
        tracing::info!(
            read_database = %replica,
            max_replica_lag = %global.max_replica_lag,
            "Lead queries go to the read replica; its lag is checked before each read."
        );
    }
    crate::daemon::serve(listening, store, rules, global.rules.clone(), options).await?;
    Ok(ExitCode::SUCCESS)
}

/// `handoff eval`: load the rules, connect without creating or migrating
/// anything, evaluate once and print.
async fn eval(global: &GlobalArgs, args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let Some(rules) = load_rules(global) else {
        return Ok(ExitCode::FAILURE);
    };
    // Mistakes on the command line first: they need no database.
    let at = at_or_now(args.at, &rules)?;
    for name in &args.objective {
        if rules.objective(name).is_none() {
            let names = rules.objectives().iter().map(|o| o.name.as_str());
            let hint = match crate::suggest::did_you_mean(name, names) {
                Some(near) => format!(" — did you mean `{near}`?"),
                None => String::new(),
            };
            return Err(Usage(format!("no objective `{name}` in the rules{hint}")).into());
        }
    }
    let store = reading_store(global, "evaluate").await?;
    let mut evaluation = crate::eval::Evaluation {
        evaluated_at: at,
        objectives: Vec::new(),
    };
    for objective in rules.objectives() {
        if args.objective.is_empty() || args.objective.contains(&objective.name) {
            let timeout = crate::eval::timeout_for(objective.kind());
            let result = crate::eval::run_objective(objective, &store, at, timeout).await;
            evaluation.objectives.push(result);
        }
    }
    store.close().await;
    match args.format {
        EvalFormat::Json => println!("{}", serde_json::to_string_pretty(&evaluation.to_json())?),
        EvalFormat::Table => print!("{}", evaluation.to_table(&rules)),
    }
    Ok(if evaluation.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `--at` in the rules' time zone, or now; to the microsecond the stores keep.
fn at_or_now(
    at: Option<crate::when::When>,
    rules: &crate::rules::RuleSet,
) -> Result<chrono::DateTime<chrono::Utc>, Usage> {
    Ok(match at {
        Some(when) => when
            .resolve(rules.timezone())
            .map_err(|e| Usage(format!("--at: {e}")))?,
        None => chrono::Utc::now(),
    }
    .trunc_subsecs(6))
}

/// The lead store opened for reading only, its lead tables checked: never
/// created nor migrated. `doing` names the command in errors ("evaluate").
async fn reading_store(global: &GlobalArgs, doing: &str) -> anyhow::Result<Store> {
    // Advice only where it is the fix: a missing file or missing tables, not a
    // server that is down.
    let hint = "run `handoff migrate` to create the schema, or `handoff demo` for a demo database";
    // One question at a time, so one read connection. More would not run in
    // parallel, and on SQLite they cost: each keeps its own page cache, and a
    // round through the pool's four connections read about three times the
    // pages of a round through one and took twice as long (1M leads).
    let mut store_options = global.store_options();
    store_options.read_connections = 1;
    let store = match Store::connect_existing(global.database_url(), &store_options).await {
        Err(e @ StoreError::Missing { .. }) => {
            return Err(anyhow::Error::new(e).context(format!("cannot {doing}: {hint}")));
        }
        other => other.with_context(|| format!("cannot {doing}"))?,
    };
    let store = global
        .with_replica(store, &store_options)
        .await
        .with_context(|| format!("cannot {doing} on the read database (--read-database)"))?;
    if let Err(e) = crate::eval::check_schema(&store).await {
        let missing_tables = matches!(&e, crate::eval::EvalError::Store(s) if s.kind() == crate::store::ErrorKind::Schema);
        let e = anyhow::Error::new(e);
        // The lead tables are read where the lead reads go.
        let leads = store.read_replica().unwrap_or(store.describe());
        return Err(if missing_tables {
            e.context(format!("{leads} has no lead tables"))
                .context(format!("cannot {doing}: {hint}"))
        } else {
            e.context(format!("cannot read the lead tables of {leads}"))
        });
    }
    Ok(store)
}

/// `handoff review`: the review of a closed period (docs/REVIEW.md).
async fn silence(global: &GlobalArgs, cmd: SilenceCommand) -> anyhow::Result<ExitCode> {
    use crate::daemon::holds;
    // Names and the zone only: the webhook secrets need not be in this shell.
    let Some(rules) = report_rules(
        global,
        crate::rules::load_dir_without_secrets(&global.rules),
    ) else {
        return Ok(ExitCode::FAILURE);
    };
    let now = chrono::Utc::now().trunc_subsecs(6);
    let store = global.store().await.context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot bring the schema up to date")?;
    let result = match cmd {
        SilenceCommand::Add(a) => {
            let tz = rules.timezone();
            let from = match a.from {
                Some(w) => Some(w.resolve(tz).map_err(|e| Usage(format!("--from: {e}")))?),
                None => None,
            };
            let start = from.unwrap_or(now);
            let until = match (a.duration.as_deref(), a.until) {
                (Some(d), _) => start + parse_for(d).map_err(|e| Usage(format!("--for: {e}")))?,
                (None, Some(w)) => w.resolve(tz).map_err(|e| Usage(format!("--until: {e}")))?,
                (None, None) => {
                    return Err(Usage("say how long: --for 4h, or --until WHEN".to_owned()).into());
                }
            };
            if a.objective.is_none() && a.group.is_none() && a.severity.is_none() {
                return Err(Usage(
                    "say what to silence: --objective, --group and/or --severity (a silence of everything is the API's, with an empty matchers object)".to_owned(),
                )
                .into());
            }
            let new = holds::NewSilence {
                matchers: holds::Matchers {
                    objective: a.objective,
                    group: a.group,
                    severity: a.severity,
                },
                starts_at: from,
                ends_at: Some(until),
                created_by: a.by,
                comment: Some(a.comment),
            };
            let row = new.check(&rules, now).map_err(Usage)?;
            store
                .record(&crate::store::Journal {
                    silences: vec![row.clone()],
                    ..crate::store::Journal::default()
                })
                .await
                .context("cannot save the silence")?;
            println!(
                "silence {} holds the notices of {} until {}; a running daemon reads it within 15 s",
                row.id,
                holds::matchers_text(&row),
                crate::mail::render::when(row.ends_at, rules.timezone())
            );
            Ok(ExitCode::SUCCESS)
        }
        SilenceCommand::List(a) => {
            let all = store
                .silences(now - holds::SILENCES_SHOWN_FOR)
                .await
                .context("cannot read the silences")?;
            if a.format == EvalFormat::Json {
                let list: Vec<_> = all.iter().map(|s| holds::silence_json(s, now)).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "silences": list }))?
                );
            } else if all.is_empty() {
                println!("no silences in force, to come, or ended in the last 7 days");
            } else {
                let tz = rules.timezone();
                println!(
                    "{:<16}  {:<8}  {:<32}  {:<28}  {:<16}  COMMENT",
                    "ID", "STATE", "MATCHES", "UNTIL", "BY"
                );
                for s in &all {
                    println!(
                        "{:<16}  {:<8}  {:<32}  {:<28}  {:<16}  {}",
                        s.id,
                        holds::silence_state(s, now),
                        holds::matchers_text(s),
                        crate::mail::render::when(s.ends_at, tz),
                        s.created_by,
                        s.comment
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        SilenceCommand::Expire { id } => {
            match holds::expire_silence(&store, &id, now)
                .await
                .context("cannot expire the silence")?
            {
                holds::Expired::Unknown => {
                    return Err(Usage(format!(
                        "there is no silence `{id}`; `handoff silence list` shows them"
                    ))
                    .into());
                }
                holds::Expired::AlreadyEnded(_) => println!("silence {id} had already ended"),
                holds::Expired::Ended(_) => {
                    println!("silence {id} ended; a running daemon reads it within 15 s");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    store.close().await;
    result
}

async fn review(global: &GlobalArgs, args: &ReviewArgs) -> anyhow::Result<ExitCode> {
    let Some(rules) = load_rules(global) else {
        return Ok(ExitCode::FAILURE);
    };
    let now = at_or_now(args.at, &rules)?;
    let periods = crate::review::Periods::of(&rules);
    let period = periods
        .parse(&args.period, now)
        .map_err(|e| Usage(format!("--period: {e}")))?;
    let store = reading_store(global, "review the period").await?;
    let review = crate::review::review(&rules, &store, &period).await;
    store.close().await;
    let review = review.context(format!("cannot review {}", period.label))?;
    let text = match args.format {
        ReviewFormat::Json => format!("{}\n", serde_json::to_string_pretty(&review.to_json())?),
        ReviewFormat::Text => crate::report::text(&review, &rules),
        ReviewFormat::Html => {
            crate::report::html(&review, &rules, &crate::report::Links::default())
        }
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote the review of {} to {}", period.label, path.display());
        }
        None => {
            use std::io::Write as _;
            // A reader that stops early (`| head`) is not an error.
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("cannot write the review");
            }
        }
    }
    let failed = review
        .objectives
        .iter()
        .flat_map(|o| &o.periods)
        .flat_map(|p| &p.results)
        .any(|r| r.status == crate::codes::Status::Error);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `handoff leads`: the leads whose first-attempt clock runs, as the
/// daemon's scan for lead notices finds them (docs/LEADS.md).
async fn leads(global: &GlobalArgs, args: &LeadsArgs) -> anyhow::Result<ExitCode> {
    use crate::daemon::leads::{LeadClock, LeadNotices, read};
    let Some(rules) = load_rules(global) else {
        return Ok(ExitCode::FAILURE);
    };
    let at = at_or_now(args.at, &rules)?;
    let watched: Vec<&crate::rules::Objective> = rules
        .objectives()
        .iter()
        .filter(|o| LeadClock::of(o).is_some())
        .collect();
    if watched.is_empty() {
        eprintln!(
            "No objective has `notify_reps:`; add it to a percent_worked objective (docs/LEADS.md)."
        );
        return Ok(ExitCode::FAILURE);
    }
    let store = reading_store(global, "scan the leads").await?;
    let mut out = Vec::new();
    let mut failed = false;
    for o in watched {
        let started = std::time::Instant::now();
        let Some(scan) = read(&store, o, at).await else {
            continue;
        };
        let seconds = started.elapsed().as_secs_f64();
        let (rows, error) = (scan.leads.len(), scan.failed.clone());
        let view = LeadNotices::default()
            .scanned(&rules, o, scan, false)
            .unwrap_or_default();
        failed |= error.is_some();
        out.push((o, view, rows, seconds, error));
    }
    store.close().await;
    match args.format {
        EvalFormat::Json => {
            let objectives: Vec<serde_json::Value> = out
                .iter()
                .map(|(o, view, rows, seconds, error)| {
                    serde_json::json!({
                        "name": o.name,
                        "untried_open": rows,
                        "scan_seconds": seconds,
                        "error": error,
                        "leads": view,
                    })
                })
                .collect();
            let doc = serde_json::json!({ "at": at, "objectives": objectives });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        EvalFormat::Table => {
            for (o, view, _, seconds, error) in &out {
                print!(
                    "{}",
                    crate::daemon::leads::table(o, view, *seconds, error.as_deref())
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `handoff backtest`: replay the rules (and a proposed set) over past
/// instants, print what would have happened, optionally record the results.
async fn backtest(global: &GlobalArgs, args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let Some(rules) = load_rules(global) else {
        return Ok(ExitCode::FAILURE);
    };
    let against = match &args.against {
        None => None,
        Some(dir) => match crate::rules::load_dir(dir) {
            Ok(r) => Some(r),
            Err(errors) => {
                eprint!("{errors}");
                eprintln!(
                    "--against {}: rules are not valid: {}",
                    dir.display(),
                    errors.summary()
                );
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let tz = rules.timezone();
    let from = args
        .from
        .resolve(tz)
        .map_err(|e| Usage(format!("--from: {e}")))?
        .trunc_subsecs(6);
    let to = match args.to {
        Some(w) => w.resolve(tz).map_err(|e| Usage(format!("--to: {e}")))?,
        None => chrono::Utc::now(),
    }
    .trunc_subsecs(6);
    anyhow::ensure!(from <= to, "--from ({from}) is after --to ({to})");
    let every = args.every.to_chrono();
    anyhow::ensure!(
        every > chrono::TimeDelta::zero(),
        "--every must be longer than 0"
    );
    let options = crate::backtest::Options {
        from,
        to,
        every,
        grouping: crate::daemon::Grouping {
            group_wait: chrono::TimeDelta::seconds(args.group_wait as i64),
            group_interval: chrono::TimeDelta::seconds(args.group_interval as i64),
        },
        record: args.record,
    };
    let mut store_options = global.store_options();
    let store = if args.record {
        let store = global.store().await?;
        store.migrate().await?;
        store
    } else {
        store_options.read_connections = 1;
        Store::connect_existing(global.database_url(), &store_options)
            .await
            .context("cannot backtest: run `handoff migrate` or `handoff demo` first")?
    };
    let store = global
        .with_replica(store, &store_options)
        .await
        .context("cannot backtest on the read database (--read-database)")?;
    let progress = crate::progress::Progress::stderr();
    let current = crate::backtest::replay(
        &store,
        std::sync::Arc::new(rules),
        &global.rules.display().to_string(),
        &options,
        &progress,
    )
    .await?;
    let proposed = match (against, &args.against) {
        (Some(r), Some(dir)) => {
            let options = crate::backtest::Options {
                record: false,
                ..options.clone()
            };
            Some(
                crate::backtest::replay(
                    &store,
                    std::sync::Arc::new(r),
                    &dir.display().to_string(),
                    &options,
                    &progress,
                )
                .await?,
            )
        }
        _ => None,
    };
    store.close().await;
    match args.format {
        EvalFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&crate::backtest::json(
                &current,
                proposed.as_ref(),
                &options
            ))?
        ),
        EvalFormat::Table => print!(
            "{}",
            crate::backtest::table(&current, proposed.as_ref(), &options)
        ),
    }
    if args.record {
        let n: usize = current.replay.points.values().map(Vec::len).sum();
        eprintln!(
            "recorded {n} results into the history of {}",
            crate::store::redact(global.database_url())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `handoff test`: run the rule tests, print each, exit 1 on any failure.
async fn rule_tests(global: &GlobalArgs, args: &TestArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![global.rules.join("tests")]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        if !p.exists() {
            if args.paths.is_empty() {
                no_rules_hint(&global.rules);
            }
            anyhow::bail!(
                "{} does not exist: give test files or directories (docs/TESTS.md)",
                p.display()
            );
        }
    }
    let (files, errors) = crate::ruletest::load_paths(&paths);
    if let Some(errors) = &errors {
        eprint!("{errors}");
        eprintln!("tests are not valid: {}", errors.summary());
        return Ok(ExitCode::FAILURE);
    }
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!("no test files (*.yaml) in {}", shown.join(", "));
    }
    let mut failed = 0usize;
    let mut total = 0usize;
    for file in &files {
        let report = crate::testing::run_file(file, &global.rules)
            .await
            .with_context(|| format!("cannot run {}", file.path.display()))?;
        total += report.cases.len();
        failed += report
            .cases
            .iter()
            .filter(|c| !c.failures.is_empty())
            .count();
        print!("{report}");
    }
    if failed == 0 {
        println!("all {total} tests passed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} of {total} tests failed");
        Ok(ExitCode::FAILURE)
    }
}
