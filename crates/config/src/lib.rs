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
    _nodes: Vec<Vec<tree::Node>>,
}

impl fmt::Debug for Leftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n: usize = self._nodes.iter().map(Vec::len).sum();
        write!(f, "Leftovers({n} top-level nodes)")
    }
}

/// [`load`], handing the syntax tree back instead of freeing it before
/// returning (see [`Leftovers`]).
///
/// For a main file of 256 KiB or more, reading (lexer + tree) runs on a
/// helper thread and hands finished top-level blocks to the parser on the
/// calling thread as it goes, so the two overlap on a machine with two
/// CPUs. The diagnostics are the same, in the same order, as reading
/// everything first: the reader's come before the parser's, then all are
/// sorted by position. Smaller files, or when no thread can be created:
/// everything on the calling thread.
pub fn load_deferred(opts: &LoadOptions) -> (Result<Loaded, Failed>, Leftovers) {
    let config_id = opts.config_id.clone().unwrap_or_else(default_config_id);
    // A thread and its hand-offs cost more than they save on a small file
    // (and a fuzzer's thousands of small loads would mostly wait on them).
    let big = std::fs::metadata(&opts.path).is_ok_and(|m| m.len() >= THREADED_FROM);
    if big {
        load_threaded(opts, config_id)
    } else {
        load_here(opts, config_id)
    }
}

/// Main files from this size on are read on a helper thread (256 KiB:
/// about 2,000 real servers).
const THREADED_FROM: u64 = 256 * 1024;

/// Reader on a helper thread, parser on this one (see [`load_deferred`]).
fn load_threaded(opts: &LoadOptions, config_id: String) -> (Result<Loaded, Failed>, Leftovers) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<tree::Node>>(16);
    let id = config_id.clone();
    std::thread::scope(|s| {
        let reader = std::thread::Builder::new()
            .name("ka-config-read".into())
            .spawn_scoped(s, move || read(opts, id, Some(tx)));
        let Ok(reader) = reader else {
            return load_here(opts, config_id);
        };
        let mut pdiags = diag::Diags {
            lenient: opts.lenient,
            ..Default::default()
        };
        let mut parser = parse::Parser::new(&mut pdiags);
        let mut batches = Vec::new();
        for batch in rx.iter() {
            parser.roots(&batch);
            batches.push(batch);
        }
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        if !read.ok {
            return (
                Err(Failed {
                    diagnostics: read.diags.into_diagnostics(),
                }),
                Leftovers { _nodes: batches },
            );
        }
        parser.roots(&read.rest);
        let parsed = parser.done();
        batches.push(read.rest);
        let mut diags = read.diags;
        diags.list.append(&mut pdiags.list);
        result(parsed, diags, batches)
    })
}

/// The reader's output.
struct Read {
    /// The main file could be read.
    ok: bool,
    /// Top-level lines not handed to the sink.
    rest: Vec<tree::Node>,
    /// The reader's diagnostics and file table.
    diags: diag::Diags,
}

/// Lexer + tree over the whole file tree; finished top-level lines go to
/// `sink` when there is one.
fn read(
    opts: &LoadOptions,
    config_id: String,
    sink: Option<std::sync::mpsc::SyncSender<Vec<tree::Node>>>,
) -> Read {
    let mut diags = diag::Diags {
        lenient: opts.lenient,
        ..Default::default()
    };
    let mut lx = lexer::Lexer::new(&mut diags, config_id);
    if let Some(sink) = sink {
        lx.tree.set_sink(sink);
    }
    let ok = lx.read_main(&opts.path);
    let builder = std::mem::take(&mut lx.tree);
    drop(lx);
    let rest = if ok {
        builder.finish(&mut diags)
    } else {
        Vec::new()
    };
    Read { ok, rest, diags }
}

/// Everything on the calling thread: read, then parse.
fn load_here(opts: &LoadOptions, config_id: String) -> (Result<Loaded, Failed>, Leftovers) {
    let read = read(opts, config_id, None);
    let mut diags = read.diags;
    if !read.ok {
        return (
            Err(Failed {
                diagnostics: diags.into_diagnostics(),
            }),
            Leftovers { _nodes: Vec::new() },
        );
    }
    let parsed = parse::Parser::new(&mut diags).run(&read.rest);
    result(parsed, diags, vec![read.rest])
}

/// The parser's output and every diagnostic → what [`load_deferred`] returns.
fn result(
    parsed: parse::Parsed,
    diags: diag::Diags,
    nodes: Vec<Vec<tree::Node>>,
) -> (Result<Loaded, Failed>, Leftovers) {
    let (config, if_refs, key_refs) = parsed;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of loading give the same configuration and the same
    /// diagnostics in the same order.
    fn same_both_ways(path: &std::path::Path, lenient: bool) {
        let opts = LoadOptions {
            path: path.to_path_buf(),
            config_id: Some("node1".into()),
            lenient,
        };
        let (threaded, _) = load_threaded(&opts, "node1".into());
        let (here, _) = load_here(&opts, "node1".into());
        match (threaded, here) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.config, b.config, "{}", path.display());
                assert_eq!(a.diagnostics, b.diagnostics, "{}", path.display());
                assert_eq!(a.interfaces, b.interfaces, "{}", path.display());
            }
            (Err(a), Err(b)) => assert_eq!(a.diagnostics, b.diagnostics, "{}", path.display()),
            (a, b) => panic!(
                "{}: threaded ok={} here ok={}",
                path.display(),
                a.is_ok(),
                b.is_ok()
            ),
        }
    }

    #[test]
    fn threaded_load_matches_reading_then_parsing() {
        let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/samples");
        let mut n = 0;
        for e in std::fs::read_dir(samples).unwrap() {
            let p = e.unwrap().path();
            same_both_ways(&p, false);
            same_both_ways(&p, true);
            n += 1;
        }
        assert!(n >= 20, "{n} samples");
        // Many top-level blocks (several batches) with errors and warnings
        // spread over them, an error inside the last one, an unclosed block.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.conf");
        let mut text = String::from("global_defs {\n router_id X\n}\n");
        for i in 0..300 {
            text.push_str(&format!(
                "virtual_server 192.0.2.{} {} {{\n lb_algo rr\n{}{} real_server 198.51.100.{} 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n",
                i % 250 + 1,
                1000 + i,
                if i % 7 == 0 { "" } else { " lb_kind NAT\n" },
                if i % 50 == 3 { " bogus_keyword 1\n" } else { " protocol TCP\n" },
                i % 250 + 1,
            ));
            if i % 97 == 5 {
                text.push_str("}\n");
            }
        }
        std::fs::write(&p, &text).unwrap();
        same_both_ways(&p, false);
        same_both_ways(&p, true);
        text.push_str("virtual_server 192.0.2.1 9 {\n lb_algo rr\n");
        std::fs::write(&p, &text).unwrap();
        same_both_ways(&p, false);
        // Warnings only (loads).
        let mut ok = String::new();
        for i in 0..100 {
            ok.push_str(&format!(
                "virtual_server 192.0.2.{} 80 {{\n real_server 198.51.100.1 80 {{\n }}\n}}\n",
                i + 1
            ));
        }
        std::fs::write(&p, &ok).unwrap();
        same_both_ways(&p, false);
        let (r, _) = load_deferred(&LoadOptions {
            path: p.clone(),
            ..Default::default()
        });
        let loaded = r.unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
        assert_eq!(loaded.config.virtual_servers.len(), 100);
        assert_eq!(
            loaded.diagnostics.len(),
            300,
            "3 default warnings per service"
        );
        // A missing main file.
        same_both_ways(&dir.path().join("missing.conf"), false);
    }
}
