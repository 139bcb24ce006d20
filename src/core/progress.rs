//! Progress reporting for long work (import, demo generation).
//!
//! Bars draw on stderr only when it is a terminal, so logs and pipes stay clean.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars on stderr (hidden by indicatif when stderr is not a terminal).
    pub fn stderr() -> Progress {
        Progress { visible: true }
    }

    /// No bars at all, for tests and library use.
    pub fn hidden() -> Progress {
        Progress { visible: false }
    }

    /// A bar counting `len` units (rows or bytes), labelled `what`.
    pub fn bar(&self, len: u64, what: &str, unit: Unit) -> ProgressBar {
        let target = if self.visible {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        let template = match unit {
            Unit::Rows => {
                "{prefix:>14} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, {eta} left"
            }
            Unit::Bytes => {
                "{prefix:>14} [{bar:30}] {bytes}/{total_bytes}, {bytes_per_sec}, {eta} left"
            }
            Unit::Instants => {
                "{prefix:>14} [{bar:30}] {human_pos}/{human_len} instants, {eta} left"
            }
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }
}

/// What a bar counts.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    Rows,
    Bytes,
    /// Instants of a replay (`handoff backtest`).
    Instants,
}
