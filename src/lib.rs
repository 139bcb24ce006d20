//! handoff keeps the service-level agreement between marketing and sales honest.
//!
//! The data flows one way:
//!
//! ```text
//! rule files ─► rules::RuleSet ─┐
//!                                ├─► (evaluation) ─► results ─► metrics / alerts / mail
//! lead data ─► store::Store ────┘
//! ```
//!
//! Modules:
//!
//! - [`cli`]: the command line (`handoff demo|import|migrate|check|eval|schema`), thin glue
//!   over the modules below.
//! - [`model`]: the canonical rows (`Rep`, `Lead`, `Touch`, `Deal`) and their value
//!   types, shared by import, the demo generator and the store.
//! - [`store`]: the SQL store on SQLite, PostgreSQL or MySQL/MariaDB: connecting,
//!   migrations, and batched upserts of canonical rows. The only module that speaks SQL.
//! - [`import`]: loading canonical CSV files, validating every row before any of a
//!   file is committed.
//! - [`demo`]: a deterministic synthetic company with planted SLA trouble.
//! - [`rules`]: the YAML rule files: parsing, validation with located errors, the
//!   JSON Schema, and the immutable [`rules::RuleSet`] the rest of the program receives.
//! - [`eval`]: the five measures (DESIGN §4) evaluated at one instant: windows in
//!   the rule's time zone, business-time deadlines, one result per objective and
//!   group. Does no I/O except through the store.
//! - [`progress`]: progress reporting for long work.
//!
//! Invariants:
//!
//! - Nothing outside [`store`] builds SQL, and nothing read from a rule file or a CSV
//!   file is ever spliced into SQL text: values are bound parameters.
//! - Every timestamp is a UTC instant ([`chrono::DateTime<Utc>`]) with microsecond
//!   precision, on every backend.

pub mod cli;
pub mod demo;
pub mod eval;
pub mod import;
pub mod model;
pub mod progress;
pub mod rules;
pub mod store;
pub mod suggest;
