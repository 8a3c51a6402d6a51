//! The control plane: keepalived.conf lexer, reader and typed `Config`.
//!
//! API contract used by the other crates (keep these names stable):
//! * [`load`] reads a configuration file tree and returns a [`Loaded`] (config +
//!   warnings) or a [`Failed`] (at least one error).
//! * [`Diagnostic`] renders as `file:line:col: error: message`.
//! * [`Config`] is serde-serialisable and is what the parent sends to children.
//!
//! ```no_run
//! let opts = keepalived_config::LoadOptions { path: "/etc/keepalived/keepalived.conf".into(), ..Default::default() };
//! match keepalived_config::load(&opts) {
//!     Ok(loaded) => {
//!         for w in &loaded.diagnostics {
//!             eprintln!("{w}"); // file:line:col: warning: ...
//!         }
//!         println!("{} vrrp_instance(s)", loaded.config.vrrp_instances.len());
//!     }
//!     Err(failed) => {
//!         for d in &failed.diagnostics {
//!             eprintln!("{d}"); // file:line:col: error: ...
//!         }
//!     }
//! }
//! ```
//!
//! Layout: `lexer` (lines → tokens: comments, quotes, braces, includes,
//! `@id`, `$NAME=`, `~SEQ`), `tree` (brace structure), `parse` (blocks →
//! [`Config`] with keepalived 2.2.7's defaults and checks), `keywords`
//! (per-block keyword sets), `values` (number/timer/address/VIP parsers),
//! [`model`] (the public types).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

pub mod auth;
mod diag;
mod keywords;
mod lexer;
pub mod model;
mod parse;
pub mod routes;
mod tree;
mod values;
pub use model::*;
pub use routes::{IpRoute, IpRule, NextHop, RouteOption, RouteType, RuleAction, TableRef};

/// How to read the configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Main configuration file (`-f`).
    pub path: PathBuf,
    /// `-i/--config-id`: selects `@id` conditional lines.
    pub config_id: Option<String>,
    /// `--lenient`: unknown keywords become warnings.
    pub lenient: bool,
}

/// Severity of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Severity {
    /// The configuration cannot run.
    Error,
    /// Loaded, but the operator should look.
    Warning,
}

/// One located message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File the problem is in.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.col,
            sev,
            self.message
        )
    }
}

/// A configuration that loaded, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The typed configuration.
    pub config: Config,
    /// Warnings only.
    pub diagnostics: Vec<Diagnostic>,
    /// Every interface the configuration names, with where (checking that
    /// they exist needs the host, so it is the caller's job).
    pub interfaces: Vec<InterfaceRef>,
    /// Every `auth_hmac` `key ID file:PATH`, with where; reading them needs
    /// the host, so `-t` and the daemon call [`auth::KeyFileRef::check`].
    pub key_files: Vec<auth::KeyFileRef>,
}

/// A configuration that did not load.
#[derive(Debug, Clone)]
pub struct Failed {
    /// Errors and warnings, in file order; at least one error.
    pub diagnostics: Vec<Diagnostic>,
}

/// Read and validate the configuration.
///
/// Pure: reads the files named by `opts.path` and its includes, nothing else
/// (when `config_id` is `None` the host name is read from
/// `/proc/sys/kernel/hostname`, as keepalived's default `-i`).
pub fn load(opts: &LoadOptions) -> Result<Loaded, Failed> {
    load_deferred(opts).0
}

/// What [`load_deferred`] leaves for the caller to free: the syntax tree
/// the configuration was read from (one node per line). Freeing it is a
/// good part of a large load (≈ 20 % of reading a 130,000-line file), so a
/// caller in a hurry (the daemon's reload) drops it once the result is on
/// its way.
pub struct Leftovers {
    _nodes: Vec<tree::Node>,
}

impl fmt::Debug for Leftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Leftovers({} top-level nodes)", self._nodes.len())
    }
}

/// [`load`], handing the syntax tree back instead of freeing it before
/// returning (see [`Leftovers`]).
pub fn load_deferred(opts: &LoadOptions) -> (Result<Loaded, Failed>, Leftovers) {
    let mut diags = diag::Diags {
        lenient: opts.lenient,
        ..Default::default()
    };
    let config_id = opts.config_id.clone().unwrap_or_else(default_config_id);
    let mut lx = lexer::Lexer::new(&mut diags, config_id);
    if !lx.read_main(&opts.path) {
        drop(lx);
        return (
            Err(Failed {
                diagnostics: diags.into_diagnostics(),
            }),
            Leftovers { _nodes: Vec::new() },
        );
    }
    let builder = std::mem::take(&mut lx.tree);
    drop(lx);
    let nodes = builder.finish(&mut diags);
    let (config, if_refs, key_refs) = parse::Parser::new(&mut diags).run(&nodes);
    let key_files = key_refs
        .into_iter()
        .map(|(instance, id, path, loc)| auth::KeyFileRef {
            instance,
            id,
            path,
            file: diags
                .files
                .get(loc.file as usize)
                .cloned()
                .unwrap_or_default(),
            line: loc.line,
            col: loc.col,
        })
        .collect();
    let failed = diags.has_errors();
    let interfaces = if_refs
        .into_iter()
        .map(|(name, used_by, loc)| InterfaceRef {
            name,
            used_by,
            file: diags
                .files
                .get(loc.file as usize)
                .cloned()
                .unwrap_or_default(),
            line: loc.line,
            col: loc.col,
        })
        .collect();
    let diagnostics = diags.into_diagnostics();
    let leftovers = Leftovers { _nodes: nodes };
    if failed {
        (Err(Failed { diagnostics }), leftovers)
    } else {
        (
            Ok(Loaded {
                config,
                diagnostics,
                interfaces,
                key_files,
            }),
            leftovers,
        )
    }
}

/// keepalived's default config-id: the host name up to the first `.`.
fn default_config_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().split('.').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &[u8], b: &[u8], row: &mut Vec<usize>) -> usize {
    // One-row Levenshtein over ASCII-lowercased bytes.
    row.clear();
    row.extend(0..=b.len());
    for (i, &ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = diag + usize::from(!ca.eq_ignore_ascii_case(&cb));
            diag = row[j + 1];
            row[j + 1] = sub.min(row[j + 1] + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// The closest candidate, if close enough to be a typo.
pub(crate) fn suggest_iter<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.as_bytes();
    let limit = (word.len() / 3).clamp(1, 3);
    let mut row = Vec::with_capacity(64);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        // Cheap filter first: the length difference is a lower bound of the distance.
        if c.len().abs_diff(w.len()) > limit {
            continue;
        }
        let d = distance(w, c.as_bytes(), &mut row);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// [`suggest_iter`] over a slice.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    suggest_iter(word, candidates.iter().copied())
}
