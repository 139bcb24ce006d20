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
//! Two crates. `handoff-core` (`src/core/`) holds everything that reads or
//! writes lead data: [`model`], [`rules`], [`ruletest`], [`store`], [`eval`],
//! [`import`], [`mapping`], [`demo`], [`when`], [`suggest`] and [`progress`]; this crate
//! re-exports them under the same names. This crate adds what runs on top:
//!
//! - [`cli`]: the command line (`handoff demo|import|migrate|check|eval|run|…`),
//!   thin glue over the modules.
//! - [`daemon`]: `handoff run`: schedules, the results history, alert states,
//!   the metrics and HTTP endpoints, the status page.
//! - [`mail`]: alert mail: templates, rendering, delivery over SMTP.
//! - [`channels`]: the same notices as webhooks (Alertmanager's payload),
//!   Slack and Teams messages.
//!
//! The split keeps each compiler process under 1 GB on a first build; the
//! invariants are the core's (see its crate documentation): only [`store`]
//! speaks SQL, with bound parameters; [`eval::run_objective`] never fails; every
//! timestamp is a UTC instant.

pub use handoff_core::{
    codes, demo, error_chain, eval, import, mapping, model, progress, review, rules, ruletest,
    shell_word, store, suggest, when,
};

pub mod backtest;
pub mod channels;
pub mod cli;
pub mod daemon;
pub mod init;
pub mod mail;
pub mod report;
pub mod testing;
