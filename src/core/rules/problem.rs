//! What a value parser says is wrong with a value.

/// A problem with one value: the message, an optional hint, and optionally the
/// part of the value's text it is about (character offset and length), so the
/// caret can point inside a cron expression or a list of hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub message: String,
    pub help: Option<String>,
    pub part: Option<(usize, usize)>,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            help: None,
            part: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// Points at `len` characters starting at character `offset` of the value.
    pub fn part(mut self, offset: usize, len: usize) -> Problem {
        self.part = Some((offset, len.max(1)));
        self
    }

    /// Points at `piece`, which must be a subslice of `whole`.
    pub fn at_slice(self, whole: &str, piece: &str) -> Problem {
        let start = (piece.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
        if start > whole.len() {
            return self;
        }
        let offset = whole[..start].chars().count();
        self.part(offset, piece.chars().count())
    }

    /// Re-bases a problem found in `piece` (a subslice of `whole`) onto `whole`:
    /// a part inside the piece keeps pointing at the same characters, and a problem
    /// without a part points at the whole piece.
    pub fn within(self, whole: &str, piece: &str) -> Problem {
        let Some((offset, len)) = self.part else {
            return self.at_slice(whole, piece);
        };
        let base = Problem::new("")
            .at_slice(whole, piece)
            .part
            .map_or(0, |(b, _)| b);
        Problem {
            part: Some((base + offset, len)),
            ..self
        }
    }
}
