//! Collecting located diagnostics while reading.

use crate::{Diagnostic, Severity};
use std::path::{Path, PathBuf};

/// A position: index into the file table, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Loc {
    /// Index into [`Diags::files`].
    pub file: u32,
    /// 1-based line (0 = the file as a whole).
    pub line: u32,
    /// 1-based column (0 = the line as a whole).
    pub col: u32,
}

/// Files read so far and the messages about them.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    /// Every file read, in order.
    pub files: Vec<PathBuf>,
    /// Messages, in the order found.
    pub list: Vec<(Severity, Loc, String)>,
    /// Unknown keywords are warnings (`--lenient`).
    pub lenient: bool,
}

impl Diags {
    /// Register a file; returns its index.
    pub fn add_file(&mut self, p: &Path) -> u32 {
        self.files.push(p.to_path_buf());
        (self.files.len() - 1) as u32
    }
    /// An error: the configuration cannot run.
    pub fn error(&mut self, loc: Loc, msg: impl Into<String>) {
        self.list.push((Severity::Error, loc, msg.into()));
    }
    /// A warning: loaded, but look.
    pub fn warn(&mut self, loc: Loc, msg: impl Into<String>) {
        self.list.push((Severity::Warning, loc, msg.into()));
    }
    /// Any error so far?
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.0 == Severity::Error)
    }
    /// Render into public diagnostics, ordered by file (in reading order),
    /// line and column; equal positions keep the order they were found in.
    pub fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        self.list.sort_by_key(|(_, l, _)| (l.file, l.line, l.col));
        let files = self.files;
        self.list
            .into_iter()
            .map(|(severity, loc, message)| Diagnostic {
                severity,
                file: files.get(loc.file as usize).cloned().unwrap_or_default(),
                line: loc.line,
                col: loc.col,
                message,
            })
            .collect()
    }
}
