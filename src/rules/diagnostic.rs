//! Load errors, written like a compiler's: `file:line:column: error: message`,
//! then the offending line with a caret under the spot, then any hint.

use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with the rule files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file, as the loader was given it (`rules/acme.yaml`).
    pub file: PathBuf,
    /// 1-based line; 0 when the error is about the file as a whole (it cannot be read).
    pub line: u32,
    /// 1-based column, in characters; 0 with `line` 0.
    pub column: u32,
    /// What is wrong: a lowercase fragment, e.g. "unknown field `respnd_within` — did
    /// you mean `respond_within`?".
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
    /// Related context, e.g. where a duplicate was first defined.
    pub note: Option<String>,
    /// The offending line of the file, for the snippet.
    source_line: Option<String>,
    /// How many characters the caret underlines.
    width: u32,
}

impl LoadError {
    /// An error about a whole file (or directory), with no position in it.
    pub(crate) fn file(file: &Path, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
            note: None,
            source_line: None,
            width: 0,
        }
    }

    /// An error at `line:column` of `text`, the contents of `file`.
    pub(crate) fn at(
        file: &Path,
        text: &str,
        line: u32,
        column: u32,
        width: u32,
        message: String,
    ) -> LoadError {
        let source_line = text.lines().nth(line.saturating_sub(1) as usize).map(|l| {
            l.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        });
        LoadError {
            file: file.to_owned(),
            line,
            column,
            message,
            help: None,
            note: None,
            source_line,
            width,
        }
    }

    pub(crate) fn with_help(mut self, help: Option<String>) -> LoadError {
        self.help = help;
        self
    }

    pub(crate) fn with_note(mut self, note: Option<String>) -> LoadError {
        self.note = note;
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        if self.line == 0 {
            writeln!(f, "{file}: error: {}", self.message)?;
        } else {
            writeln!(
                f,
                "{file}:{}:{}: error: {}",
                self.line, self.column, self.message
            )?;
        }
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        if let Some(source) = &self.source_line {
            let line_len = source.chars().count() as u32;
            let start = self.column.saturating_sub(1);
            // Underline to the end of the line at most; a bare caret when the width
            // is unknown or the spot is past the end.
            let width = self.width.min(line_len.saturating_sub(start)).max(1);
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {source}", self.line)?;
            writeln!(
                f,
                "{pad} | {}{}",
                " ".repeat(start as usize),
                "^".repeat(width as usize)
            )?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "{pad} = help: {help}")?;
        }
        if let Some(note) = &self.note {
            writeln!(f, "{pad} = note: {note}")?;
        }
        Ok(())
    }
}

/// Every error found in one load. Loading returns either a complete rule set or
/// this: never a half-applied set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadErrors {
    errors: Vec<LoadError>,
}

impl LoadErrors {
    pub(crate) fn new(errors: Vec<LoadError>) -> LoadErrors {
        LoadErrors { errors }
    }

    /// The errors, by file (in load order), then by position.
    pub fn errors(&self) -> &[LoadError] {
        &self.errors
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none (never true of a value returned by a loader).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `3 errors in 2 files`.
    pub fn summary(&self) -> String {
        let mut files: Vec<&Path> = self.errors.iter().map(|e| e.file.as_path()).collect();
        files.dedup();
        files.sort();
        files.dedup();
        format!(
            "{} in {}",
            plural(self.errors.len(), "error"),
            plural(files.len(), "file")
        )
    }
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Every error, each followed by a blank line.
impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_compiler() {
        let text = "version: 1\nobjectives:\n  - respnd_within: 4h\n";
        let e = LoadError::at(
            Path::new("rules/acme.yaml"),
            text,
            3,
            5,
            13,
            "unknown field `respnd_within` — did you mean `respond_within`?".into(),
        )
        .with_help(Some("see rules/README.md".into()));
        assert_eq!(
            e.to_string(),
            "rules/acme.yaml:3:5: error: unknown field `respnd_within` — did you mean `respond_within`?\n  \
             |\n3 |   - respnd_within: 4h\n  |     ^^^^^^^^^^^^^\n  = help: see rules/README.md\n"
        );
    }

    #[test]
    fn file_errors_have_no_snippet() {
        let e = LoadError::file(Path::new("rules/x.yml"), "rule files end in `.yaml`");
        assert_eq!(
            e.to_string(),
            "rules/x.yml: error: rule files end in `.yaml`\n"
        );
    }
}
