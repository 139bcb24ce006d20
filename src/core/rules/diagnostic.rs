//! Load errors, written like a compiler's: `file:line:column: error: message`,
//! then the offending line with a caret under the spot, then any hint.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

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
            mask_urls(
                &l.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>(),
            )
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

    /// The bytes of `source` the caret underlines: `width` characters from `column`,
    /// clipped to the line. An empty range (the width is unknown, or the spot is at or
    /// past the end of the line) still gets a bare caret.
    fn span(&self, source: &str) -> Range<usize> {
        let line_len = source.chars().count();
        let start = (self.column.saturating_sub(1) as usize).min(line_len);
        let end = start + (self.width as usize).min(line_len - start);
        let byte = |chars: usize| {
            source
                .char_indices()
                .nth(chars)
                .map_or(source.len(), |(i, _)| i)
        };
        byte(start)..byte(end)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The header is ours, not annotate-snippets' (`error: msg` then `--> file:line:col`):
        // `file:line:col: error: msg` on one line is what editors and grep look for.
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
        // The snippet, caret, help and note: annotate-snippets, in a group without a title.
        let mut group = Group::with_level(Level::ERROR);
        if let Some(source) = &self.source_line {
            group = group.element(
                Snippet::source(source.as_str())
                    .line_start(self.line as usize)
                    .annotation(AnnotationKind::Primary.span(self.span(source))),
            );
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        if let Some(note) = &self.note {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        if !group.is_empty() {
            writeln!(f, "{}", Renderer::plain().render(&[group]))?;
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

/// `line` with what follows the host of every URL in it (the path and
/// query, where a webhook URL keeps its secret) and any user and password
/// written as `*`, one for each character, so that the caret still points
/// where it did. `${NAME}` stays: it names a variable, not its value. A
/// snippet goes to the log and the status page.
fn mask_urls(line: &str) -> String {
    let mut out: Vec<char> = line.chars().collect();
    let ends = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ']' | '}');
    let mut i = 0;
    while i + 3 <= out.len() {
        if out[i..i + 3] != [':', '/', '/'] {
            i += 1;
            continue;
        }
        let start = i + 3;
        let host_end = out[start..]
            .iter()
            .position(|c| ends(*c) || matches!(c, '/' | '?' | '#'))
            .map_or(out.len(), |p| start + p);
        // A user and password before the host.
        if let Some(at) = out[start..host_end].iter().rposition(|c| *c == '@') {
            for c in &mut out[start..start + at] {
                *c = '*';
            }
        }
        let mut j = host_end;
        let mut in_name = false;
        while j < out.len() {
            let c = out[j];
            if in_name {
                in_name = c != '}';
            } else if c == '$' && out.get(j + 1) == Some(&'{') {
                in_name = true;
                j += 1;
            } else if ends(c) {
                break;
            } else if c != '/' {
                out[j] = '*';
            }
            j += 1;
        }
        i = j.max(start);
    }
    out.into_iter().collect()
}

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
             |\n3 |   - respnd_within: 4h\n  |     ^^^^^^^^^^^^^\n  |\n  = help: see rules/README.md\n"
        );
    }

    #[test]
    fn renders_a_note_after_the_help() {
        let text = "a: 1\n".repeat(9) + "  owner: sales\n";
        let e = LoadError::at(
            Path::new("b.yaml"),
            &text,
            10,
            10,
            5,
            "`sales` is defined twice".into(),
        )
        .with_help(Some("rename one".into()))
        .with_note(Some("first defined at a.yaml:4:3".into()));
        assert_eq!(
            e.to_string(),
            "b.yaml:10:10: error: `sales` is defined twice\n   |\n10 |   owner: sales\n   \
             |          ^^^^^\n   |\n   = help: rename one\n   = note: first defined at a.yaml:4:3\n"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `é` and `—` are several bytes each; the caret still lands under `wörld`.
        let e = LoadError::at(
            Path::new("t.yaml"),
            "name: é — wörld: x\n",
            1,
            11,
            5,
            "m".into(),
        );
        assert_eq!(
            e.to_string(),
            "t.yaml:1:11: error: m\n  |\n1 | name: é — wörld: x\n  |           ^^^^^\n"
        );
    }

    #[test]
    fn the_caret_is_clipped_to_the_line() {
        let at = |column, width| {
            LoadError::at(
                Path::new("t.yaml"),
                "key: ab\n",
                1,
                column,
                width,
                "m".into(),
            )
            .to_string()
        };
        let snippet = |caret: &str| format!("  |\n1 | key: ab\n  | {caret}\n");
        // Too wide: underlined to the end of the line.
        assert_eq!(
            at(6, 10),
            format!("t.yaml:1:6: error: m\n{}", snippet("     ^^"))
        );
        // No width: a bare caret.
        assert_eq!(at(2, 0), format!("t.yaml:1:2: error: m\n{}", snippet(" ^")));
        // Just past the end (a missing value), or further: a caret after the last character.
        assert_eq!(
            at(8, 1),
            format!("t.yaml:1:8: error: m\n{}", snippet("       ^"))
        );
        assert_eq!(
            at(30, 3),
            format!("t.yaml:1:30: error: m\n{}", snippet("       ^"))
        );
    }

    #[test]
    fn control_characters_show_as_spaces() {
        let e = LoadError::at(Path::new("t.yaml"), "a:\tb\u{7}c\n", 1, 4, 1, "m".into());
        assert_eq!(
            e.to_string(),
            "t.yaml:1:4: error: m\n  |\n1 | a: b c\n  |    ^\n"
        );
    }

    #[test]
    fn snippets_never_show_what_follows_a_urls_host() {
        assert_eq!(
            mask_urls("    slack: https://hooks.slack.com/services/T0/B0/SECRET, x: 1"),
            "    slack: https://hooks.slack.com/********/**/**/******, x: 1"
        );
        assert_eq!(
            mask_urls("  webhook: 'http://u:pw@h:8080/a?t=XYZ' }"),
            "  webhook: 'http://****@h:8080/*******' }"
        );
        assert_eq!(mask_urls("target: 0.9"), "target: 0.9");
        assert_eq!(
            mask_urls("    slack: https://h.example/services/${SLACK_TOKEN}/x"),
            "    slack: https://h.example/********/${SLACK_TOKEN}/*"
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

    #[test]
    fn file_errors_keep_their_help() {
        let mut e = LoadError::file(Path::new("rules/x.yml"), "rule files end in `.yaml`");
        e.help = Some("rename it to rules/x.yaml".into());
        assert_eq!(
            e.to_string(),
            "rules/x.yml: error: rule files end in `.yaml`\n = help: rename it to rules/x.yaml\n"
        );
    }
}
