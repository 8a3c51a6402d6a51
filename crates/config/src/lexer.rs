//! Reader: physical lines → tokens with keepalived's rules (anatomy §2.1).
//!
//! Handles comments (`!`, `#` outside quotes), `include*` with globs and brace
//! expansion (relative to the including file's directory, as keepalived's
//! chdir does), `@id`/`@^id` conditional lines, `$NAME=value` definitions
//! (multi-line with a trailing `\`), `$NAME`/`${NAME}` substitution,
//! `~SEQ(...)`/`~LST(...)` repetition, and `{`/`}` wherever they appear
//! outside quotes. The output is a flat stream of [`Item`]s from all files;
//! every token keeps its file, line and column.

use crate::diag::{Diags, Loc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One word of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Text, without the surrounding quotes when quoted.
    pub text: Text,
    /// Where it starts.
    pub loc: Loc,
    /// It was written in double quotes.
    pub quoted: bool,
}

/// Token text: inline up to 22 bytes (most keywords and values), so that a
/// 200,000-line configuration does not make 300,000 small allocations.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Text {
    /// Short text stored in place.
    Inline(u8, [u8; 22]),
    /// Longer text.
    Heap(Box<str>),
}

impl Text {
    /// Store `s`.
    pub fn new(s: &str) -> Self {
        if s.len() <= 22 {
            let mut buf = [0u8; 22];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            Text::Inline(s.len() as u8, buf)
        } else {
            Text::Heap(s.into())
        }
    }
    /// The bytes of the text (no UTF-8 check: for comparisons).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Inline(n, b) => &b[..(*n as usize).min(b.len())],
            Text::Heap(s) => s.as_bytes(),
        }
    }
    /// The text.
    pub fn as_str(&self) -> &str {
        match self {
            // Always valid: copied from a &str of exactly this length.
            Text::Inline(n, b) => std::str::from_utf8(&b[..*n as usize]).unwrap_or_default(),
            Text::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, o: &&str) -> bool {
        self.as_bytes() == o.as_bytes()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new(s)
    }
}

/// A lexical item: a line of words, or a brace.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// The words of one logical line (never empty).
    Words(Vec<Token>),
    /// `{`.
    Open(Loc),
    /// `}`.
    Close(Loc),
}

/// A line being processed: text plus where each byte came from.
///
/// `cols` is `None` on the fast path (an ASCII line copied unchanged): the
/// column of byte `i` is then `base + i`. Otherwise it holds the original
/// 1-based column of every byte.
#[derive(Debug, Clone)]
struct LineBuf<'a> {
    text: Cow<'a, str>,
    cols: Option<Vec<u32>>,
    base: u32,
    file: u32,
    line: u32,
}

impl<'a> LineBuf<'a> {
    fn col_at(&self, byte: usize) -> u32 {
        match &self.cols {
            None => self.base + byte as u32,
            Some(c) => c
                .get(byte)
                .copied()
                .or_else(|| c.last().map(|c| c + 1))
                .unwrap_or(self.base),
        }
    }
    fn loc_at(&self, byte: usize) -> Loc {
        Loc {
            file: self.file,
            line: self.line,
            col: self.col_at(byte),
        }
    }
    /// Drop the first `n` bytes.
    fn skip(&mut self, n: usize) {
        match &mut self.text {
            Cow::Borrowed(s) => *s = &s[n..],
            Cow::Owned(s) => {
                s.drain(..n);
            }
        }
        match &mut self.cols {
            None => self.base += n as u32,
            Some(c) => {
                c.drain(..n);
            }
        }
    }
    fn trim_start(&mut self) {
        let n = self.text.len() - self.text.trim_start_matches([' ', '\t']).len();
        self.skip(n);
    }
    fn trim_end(&mut self) {
        let n = self.text.trim_end_matches([' ', '\t']).len();
        match &mut self.text {
            Cow::Borrowed(s) => *s = &s[..n],
            Cow::Owned(s) => s.truncate(n),
        }
        if let Some(c) = &mut self.cols {
            c.truncate(n);
        }
    }
    /// Bytes `a..b` as a line of their own.
    fn slice(&self, a: usize, b: usize) -> LineBuf<'static> {
        LineBuf {
            text: Cow::Owned(self.text[a..b].to_string()),
            cols: self.cols.as_ref().map(|c| c[a..b].to_vec()),
            base: self.base + a as u32,
            file: self.file,
            line: self.line,
        }
    }
    /// Column of every byte, materialised.
    fn all_cols(&self) -> Vec<u32> {
        match &self.cols {
            Some(c) => c.clone(),
            None => (0..self.text.len() as u32).map(|i| self.base + i).collect(),
        }
    }
}

const MAX_INCLUDE_DEPTH: usize = 32;
const MAX_SUBST_DEPTH: usize = 32;
const MAX_LINE: usize = 1024 * 64;
const MAX_GENERATED: usize = 1_000_000;

/// Reads a file tree into a [`crate::tree::Builder`].
#[derive(Debug)]
pub(crate) struct Lexer<'d> {
    diags: &'d mut Diags,
    config_id: String,
    defs: HashMap<String, String>,
    /// Output: the tree under construction.
    pub tree: crate::tree::Builder,
    stack: Vec<PathBuf>,
    /// Multi-line definition being collected: name, value so far.
    pending_def: Option<(String, String)>,
    rng: u64,
    /// First non-breaking space seen in the current file, and how many.
    nbsp: Option<Loc>,
    nbsp_count: usize,
    /// Reused token buffer.
    scratch: Vec<Token>,
    /// Lines generated by ~SEQ/~LST so far (bounded).
    generated: usize,
    overflowed: bool,
}

impl<'d> Lexer<'d> {
    /// A lexer for `config_id` (selects `@id` lines).
    pub fn new(diags: &'d mut Diags, config_id: String) -> Self {
        let seed = std::process::id() as u64 ^ 0x9E37_79B9_7F4A_7C15;
        Lexer {
            diags,
            config_id,
            defs: HashMap::new(),
            tree: Default::default(),
            stack: Vec::new(),
            pending_def: None,
            rng: seed,
            nbsp: None,
            nbsp_count: 0,
            scratch: Vec::new(),
            generated: 0,
            overflowed: false,
        }
    }

    /// Read the main file. Returns false when it cannot be read.
    pub fn read_main(&mut self, path: &Path) -> bool {
        if let Err(why) = readable_config(path) {
            if path.exists() {
                let f = self.diags.add_file(path);
                self.diags.error(
                    Loc {
                        file: f,
                        line: 0,
                        col: 0,
                    },
                    format!("Configuration file '{}' {why}", path.display()),
                );
                return false;
            }
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                self.read_bytes(path, &bytes);
                true
            }
            Err(e) => {
                let f = self.diags.add_file(path);
                self.diags.error(
                    Loc {
                        file: f,
                        line: 0,
                        col: 0,
                    },
                    format!("Unable to find configuration file {} ({e})", path.display()),
                );
                false
            }
        }
    }

    fn read_bytes(&mut self, path: &Path, bytes: &[u8]) {
        let file = self.diags.add_file(path);
        let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.stack.push(canon);
        // The usual file is valid UTF-8 (checked much faster than the
        // lossy conversion walks it); ASCII without `\` or NUL lets every
        // line skip its own checks.
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        let has_nul = text.contains('\0');
        let simple = text.is_ascii() && !text.contains('\\');
        let outer_nbsp = (self.nbsp.take(), std::mem::take(&mut self.nbsp_count));
        for (i, raw) in text.split('\n').enumerate() {
            let line = (i + 1) as u32;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if has_nul && raw.contains('\0') {
                self.diags.warn(
                    Loc { file, line, col: 1 },
                    "configuration appears to have embedded NULs - ignoring line",
                );
                continue;
            }
            if raw.len() > MAX_LINE {
                self.diags
                    .error(Loc { file, line, col: 1 }, "line too long - ignoring");
                continue;
            }
            self.physical_line(raw, simple, file, line, path);
        }
        if let Some((name, value)) = self.pending_def.take() {
            self.defs.insert(name, value);
        }
        if let Some(loc) = self.nbsp.take() {
            self.diags.warn(
                loc,
                format!(
                    "{} non-breaking space(s) (U+00A0) in this file treated as blanks; keepalived 2.2.7 rejects such lines with \"Unknown keyword ' '\"",
                    self.nbsp_count
                ),
            );
        }
        (self.nbsp, self.nbsp_count) = outer_nbsp;
        self.stack.pop();
    }

    /// `simple`: the whole file is ASCII without `\` (so is this line).
    fn physical_line(&mut self, raw: &str, simple: bool, file: u32, line: u32, path: &Path) {
        let Some(lb) = self.decomment(raw, simple, file, line) else {
            return;
        };
        // Continuation of a multi-line $NAME= definition.
        if let Some((name, mut value)) = self.pending_def.take() {
            if lb.text.is_empty() {
                self.defs.insert(name, value);
                return;
            }
            if let Some(stripped) = lb.text.strip_suffix('\\') {
                value.push('\n');
                value.push_str(stripped);
                self.pending_def = Some((name, value));
            } else {
                value.push('\n');
                value.push_str(&lb.text);
                self.defs.insert(name, value);
            }
            return;
        }
        if lb.text.is_empty() {
            return;
        }
        if let Some((flag, rest_at)) = include_word(&lb.text) {
            let mut pat = lb.text[rest_at..].trim().to_string();
            if pat.len() >= 2 && pat.starts_with('"') && pat.ends_with('"') {
                pat = pat[1..pat.len() - 1].to_string();
            }
            let loc = lb.loc_at(0);
            self.include(&pat, flag, loc, path);
            return;
        }
        self.logical(lb, 0);
    }

    /// `@`, `$NAME=`, substitution, `~SEQ`, then tokens.
    fn logical(&mut self, mut lb: LineBuf<'_>, depth: usize) {
        if self.overflowed {
            return;
        }
        if depth > MAX_SUBST_DEPTH {
            self.diags.error(
                lb.loc_at(0),
                "definitions nest too deeply (recursive definition?)",
            );
            return;
        }
        if lb.text.starts_with('@') {
            let (neg, start) = if lb.text.starts_with("@^") {
                (true, 2)
            } else {
                (false, 1)
            };
            let end = lb.text.find([' ', '\t']).unwrap_or(lb.text.len());
            let id = &lb.text[start..end];
            let matched = (id == self.config_id) != neg;
            if !matched || end == lb.text.len() {
                return;
            }
            lb.skip(end);
            lb.trim_start();
            if lb.text.is_empty() {
                return;
            }
        }
        if lb.text.starts_with('$') {
            if let Some((name, value)) = definition(&lb.text) {
                if let Some(v) = value.strip_suffix('\\') {
                    self.pending_def = Some((name, v.to_string()));
                } else {
                    self.defs.insert(name, value);
                }
                return;
            }
        }
        if lb.text.starts_with("~SEQ") || lb.text.starts_with("~LST") {
            self.sequence(lb, depth);
            return;
        }
        if lb.text.contains('$') {
            if let Some(new) = self.substitute(&lb) {
                // A multi-line definition expands into several lines.
                let parts: Vec<LineBuf<'static>> = split_lines(new);
                self.generated += parts.len() - 1;
                if self.generated > MAX_GENERATED {
                    self.too_many(lb.loc_at(0));
                    return;
                }
                for mut p in parts {
                    p.trim_start();
                    p.trim_end();
                    if !p.text.is_empty() {
                        self.logical(p, depth + 1);
                    }
                }
                return;
            }
        }
        self.tokenise(&lb);
    }

    /// Report (once) that ~SEQ / definitions generated too many lines.
    fn too_many(&mut self, loc: Loc) {
        if !self.overflowed {
            self.overflowed = true;
            self.diags.error(
                loc,
                format!("~SEQ/~LST/definition expansion exceeds {MAX_GENERATED} lines - stopping"),
            );
        }
    }

    /// Strip comments outside quotes, handle `\#`/`\!`, trim. None = error reported, drop.
    fn decomment<'r>(
        &mut self,
        raw: &'r str,
        simple: bool,
        file: u32,
        line: u32,
    ) -> Option<LineBuf<'r>> {
        // Fast path: ASCII without escapes: cut at the first comment
        // character outside quotes, no per-byte column table.
        if simple || (raw.is_ascii() && !raw.contains('\\')) {
            let b = raw.as_bytes();
            let mut in_quote = false;
            let mut quote_col = 0;
            let mut end = b.len();
            for (i, &c) in b.iter().enumerate() {
                match c {
                    b'"' => {
                        in_quote = !in_quote;
                        quote_col = i as u32 + 1;
                    }
                    b'!' | b'#' if !in_quote => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            if in_quote {
                self.diags.error(
                    Loc {
                        file,
                        line,
                        col: quote_col,
                    },
                    format!("Unterminated quote '{}'", raw.trim()),
                );
                return None;
            }
            let mut lb = LineBuf {
                text: Cow::Borrowed(&raw[..end]),
                cols: None,
                base: 1,
                file,
                line,
            };
            lb.trim_start();
            lb.trim_end();
            return Some(lb);
        }
        let mut text = String::with_capacity(raw.len());
        let mut cols = Vec::with_capacity(raw.len());
        let mut in_quote = false;
        let mut quote_col = 0;
        let mut col = 0u32;
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            col += 1;
            if c == '"' {
                in_quote = !in_quote;
                quote_col = col;
            } else if !in_quote {
                if c == '\u{a0}' {
                    // Non-breaking space pasted from a web page: a blank (with a warning).
                    let start = text.len();
                    text.push(' ');
                    cols.resize(start + 1, col);
                    self.nbsp.get_or_insert(Loc { file, line, col });
                    self.nbsp_count += 1;
                    continue;
                }
                if c == '!' || c == '#' {
                    break;
                }
                if c == '\\' && matches!(chars.peek(), Some('#') | Some('!')) {
                    let n = chars.next().unwrap_or('#');
                    let start = text.len();
                    text.push(n);
                    cols.resize(start + n.len_utf8(), col);
                    col += 1;
                    continue;
                }
            }
            let start = text.len();
            text.push(c);
            cols.resize(start + c.len_utf8(), col);
        }
        let mut lb = LineBuf {
            text: Cow::Owned(text),
            cols: Some(cols),
            base: 1,
            file,
            line,
        };
        if in_quote {
            self.diags.error(
                Loc {
                    file,
                    line,
                    col: quote_col,
                },
                format!("Unterminated quote '{}'", raw.trim()),
            );
            return None;
        }
        lb.trim_start();
        lb.trim_end();
        Some(lb)
    }

    fn include(&mut self, pattern: &str, flag: Option<char>, loc: Loc, path: &Path) {
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags
                .error(loc, format!("include nesting too deep at '{pattern}'"));
            return;
        }
        if pattern.is_empty() {
            self.diags.error(loc, "include: missing file name");
            return;
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let wildcard = pattern.contains(['*', '?', '[']);
        let mut matched_any = false;
        for alt in brace_expand(pattern) {
            let full = if Path::new(&alt).is_absolute() || base.as_os_str().is_empty() {
                alt.clone()
            } else {
                format!("{}/{}", glob::Pattern::escape(&base.to_string_lossy()), alt)
            };
            let mut files: Vec<PathBuf> = match glob::glob(&full) {
                Ok(paths) => paths.filter_map(Result::ok).collect(),
                Err(e) => {
                    self.diags
                        .error(loc, format!("include: invalid pattern '{alt}': {e}"));
                    continue;
                }
            };
            files.sort();
            if files.is_empty() && flag == Some('b') {
                self.diags
                    .error(loc, format!("include: no file matches '{alt}'"));
            }
            for f in files {
                matched_any = true;
                let canon = f.canonicalize().unwrap_or_else(|_| f.clone());
                if self.stack.contains(&canon) {
                    self.diags.error(
                        loc,
                        format!("include loop: '{}' includes itself", f.display()),
                    );
                    continue;
                }
                if let Err(why) = readable_config(&f) {
                    // keepalived 2.2.7 skips these with this wording (lib/parser.c).
                    let msg = format!("Configuration file '{}' {why} - skipping", f.display());
                    if flag == Some('r') {
                        self.diags.error(loc, msg);
                    } else {
                        self.diags.warn(loc, msg);
                    }
                    continue;
                }
                match std::fs::read(&f) {
                    Ok(bytes) => self.read_bytes(&f, &bytes),
                    Err(e) => {
                        let msg = format!("include: cannot read '{}': {e}", f.display());
                        if flag == Some('r') {
                            self.diags.error(loc, msg);
                        } else {
                            self.diags.warn(loc, msg);
                        }
                    }
                }
            }
        }
        if !matched_any {
            let msg = format!("include '{pattern}' matches no file");
            let strict = match flag {
                Some('w') | Some('a') => true,
                Some('m') => !wildcard,
                _ => false,
            };
            if strict {
                self.diags.error(loc, msg);
            } else {
                self.diags.warn(loc, msg);
            }
        }
    }

    /// Replace `$NAME` / `${NAME}`; None when nothing changed.
    fn substitute(&mut self, lb: &LineBuf<'_>) -> Option<LineBuf<'static>> {
        let t = &lb.text;
        let b = t.as_bytes();
        let mut out = String::with_capacity(t.len());
        let mut cols = Vec::with_capacity(t.len());
        let src_cols = lb.all_cols();
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            if b[i] == b'$' {
                let col = src_cols[i];
                // ${NAME [params]}
                if b.get(i + 1) == Some(&b'{') {
                    if let Some(end) = t[i + 2..].find('}') {
                        let inner = &t[i + 2..i + 2 + end];
                        if let Some(v) = self.lookup_braced(inner) {
                            out.push_str(&v);
                            cols.resize(out.len(), col);
                            i += 3 + end;
                            changed = true;
                            continue;
                        }
                    }
                } else {
                    let n = b[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                        .count();
                    let next = b.get(i + 1 + n).copied();
                    if n > 0
                        && matches!(
                            next,
                            None | Some(b' ') | Some(b'\t') | Some(b',') | Some(b')')
                        )
                    {
                        let name = &t[i + 1..i + 1 + n];
                        if let Some(v) = self.defs.get(name) {
                            out.push_str(v);
                            cols.resize(out.len(), col);
                            i += 1 + n;
                            changed = true;
                            continue;
                        }
                    }
                }
            }
            let c = t[i..].chars().next().unwrap_or(' ');
            out.push(c);
            cols.resize(out.len(), src_cols[i]);
            i += c.len_utf8();
        }
        if out.len() > MAX_LINE {
            self.diags.error(
                lb.loc_at(0),
                format!("Parameter substitution would exceed the maximum line length ({MAX_LINE} bytes) - ignoring line"),
            );
            return Some(LineBuf {
                text: Cow::Owned(String::new()),
                cols: Some(Vec::new()),
                base: lb.base,
                file: lb.file,
                line: lb.line,
            });
        }
        changed.then_some(LineBuf {
            text: Cow::Owned(out),
            cols: Some(cols),
            base: lb.base,
            file: lb.file,
            line: lb.line,
        })
    }

    fn lookup_braced(&mut self, inner: &str) -> Option<String> {
        let mut words = inner.split_whitespace();
        let name = words.next()?;
        if let Some(v) = self.defs.get(name) {
            return Some(v.clone());
        }
        match name {
            "_PWD" => {
                let dir = self
                    .stack
                    .last()
                    .and_then(|p| p.parent())
                    .map(|p| p.display().to_string());
                Some(dir.unwrap_or_default())
            }
            "_INSTANCE" => Some(self.config_id.clone()),
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_ENV" => Some(
                words
                    .next()
                    .and_then(|n| std::env::var(n).ok())
                    .unwrap_or_default(),
            ),
            "_RANDOM" => {
                let min: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let max: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(32767);
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                let span = max.saturating_sub(min) + 1;
                Some((min + self.rng % span).to_string())
            }
            _ => None,
        }
    }

    /// `~SEQ(var, [start,] [step,] end) text`, `~SEQx(...)`, `~LST(var, v1, v2...) text`.
    fn sequence(&mut self, mut lb: LineBuf<'_>, depth: usize) {
        let loc = lb.loc_at(0);
        let hex = lb.text.starts_with("~SEQx");
        let is_lst = lb.text.starts_with("~LST");
        let open = if hex { 5 } else { 4 };
        if lb.text.as_bytes().get(open) != Some(&b'(') {
            self.diags
                .error(loc, format!("Invalid sequence specification '{}'", lb.text));
            return;
        }
        let Some(close) = lb.text.find(')') else {
            self.diags.error(
                loc,
                format!("Invalid ~SEQ specification '{}' (missing ')')", lb.text),
            );
            return;
        };
        let spec = lb.slice(open + 1, close);
        let spec = self.substitute(&spec).unwrap_or(spec);
        let args: Vec<String> = split_top_commas(&spec.text);
        lb.skip(close + 1);
        lb.trim_start();
        if args.len() < 2 || args[0].is_empty() {
            self.diags.error(
                loc,
                "Invalid ~SEQ/~LST specification: expected (var, ...)".to_string(),
            );
            return;
        }
        let unbrace = |a: &str| -> Option<Vec<String>> {
            let inner = a.strip_prefix('{')?.strip_suffix('}')?;
            Some(inner.split(',').map(|x| x.trim().to_string()).collect())
        };
        let vars: Vec<String> = if is_lst {
            unbrace(&args[0]).unwrap_or_else(|| vec![args[0].clone()])
        } else {
            vec![args[0].clone()]
        };
        let values: Vec<Vec<String>> = if is_lst {
            let mut out = Vec::with_capacity(args.len() - 1);
            for a in &args[1..] {
                let tuple = if vars.len() > 1 {
                    unbrace(a)
                } else {
                    Some(vec![a.clone()])
                };
                match tuple {
                    Some(t) if t.len() == vars.len() => out.push(t),
                    _ => {
                        self.diags.error(
                            loc,
                            format!(
                                "Invalid ~LST specification - '{a}' does not give {} values",
                                vars.len()
                            ),
                        );
                        return;
                    }
                }
            }
            out
        } else {
            let nums: Option<Vec<i64>> = args[1..].iter().map(|a| a.parse::<i64>().ok()).collect();
            let Some(nums) = nums else {
                self.diags.error(
                    loc,
                    format!(
                        "Invalid ~SEQ specification - non-numeric value in '{}'",
                        args[1..].join(",")
                    ),
                );
                return;
            };
            let (start, step, end) = match nums.as_slice() {
                [end] => (1, 1, *end),
                [start, end] => (*start, 1, *end),
                [start, step, end] => (*start, *step, *end),
                _ => {
                    self.diags
                        .error(loc, "Invalid ~SEQ specification - too many values");
                    return;
                }
            };
            if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
                self.diags.error(
                    loc,
                    format!("Invalid ~SEQ specification - start {start}, step {step}, end {end}"),
                );
                return;
            }
            if hex && (start < 0 || end < 0) {
                self.diags
                    .error(loc, "~SEQx is only valid for positive numbers");
                return;
            }
            let count = (end as i128 - start as i128) / step as i128 + 1;
            if self.generated as i128 + count > MAX_GENERATED as i128 {
                self.too_many(loc);
                return;
            }
            if count > 1_000_000 {
                self.diags
                    .error(loc, "~SEQ would generate more than 1000000 lines");
                return;
            }
            let mut v = Vec::with_capacity(count as usize);
            let mut n = start;
            while (step > 0 && n <= end) || (step < 0 && n >= end) {
                v.push(vec![if hex { format!("{n:x}") } else { n.to_string() }]);
                match n.checked_add(step) {
                    Some(x) => n = x,
                    None => break,
                }
            }
            v
        };
        if lb.text.is_empty() {
            return;
        }
        for tuple in values {
            self.generated += 1;
            if self.generated > MAX_GENERATED {
                self.too_many(loc);
                return;
            }
            for (var, v) in vars.iter().zip(tuple) {
                self.defs.insert(var.clone(), v);
            }
            self.logical(lb.clone(), depth + 1);
        }
    }

    /// Split into words and braces.
    fn tokenise(&mut self, lb: &LineBuf<'_>) {
        let t = &lb.text;
        let b = t.as_bytes();
        let mut words: Vec<Token> = std::mem::take(&mut self.scratch);
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b' ' || c == b'\t' {
                i += 1;
                continue;
            }
            if c == b'{' || c == b'}' {
                if !words.is_empty() {
                    // Exact-size copy out of the scratch buffer: one allocation per line.
                    let w = take_exact(&mut words);
                    self.tree.push(Item::Words(w), self.diags);
                }
                let loc = lb.loc_at(i);
                let item = if c == b'{' {
                    Item::Open(loc)
                } else {
                    Item::Close(loc)
                };
                self.tree.push(item, self.diags);
                i += 1;
                continue;
            }
            let loc = lb.loc_at(i);
            if c == b'"' {
                match t[i + 1..].find('"') {
                    Some(end) => {
                        words.push(Token {
                            text: Text::new(&t[i + 1..i + 1 + end]),
                            loc,
                            quoted: true,
                        });
                        i += end + 2;
                    }
                    None => {
                        self.diags
                            .error(loc, format!("Unmatched quote: '{}'", &t[i..]));
                        words.push(Token {
                            text: Text::new(&t[i + 1..]),
                            loc,
                            quoted: true,
                        });
                        i = b.len();
                    }
                }
                continue;
            }
            let start = i;
            while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'{' | b'}') {
                i += 1;
            }
            words.push(Token {
                text: Text::new(&t[start..i]),
                loc,
                quoted: false,
            });
        }
        if !words.is_empty() {
            let w = take_exact(&mut words);
            self.tree.push(Item::Words(w), self.diags);
        }
        self.scratch = words;
    }
}

/// Largest configuration file read (a guard against `include /dev/zero`-like mistakes).
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Ok when `p` is a regular, non-executable file of sane size; else why not.
fn readable_config(p: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(p).map_err(|e| format!("cannot be read ({e})"))?;
    if m.is_dir() {
        return Err("is a directory".into());
    }
    if !m.is_file() || m.permissions().mode() & 0o111 != 0 {
        return Err("is not a regular non-executable file".into());
    }
    if m.len() > MAX_FILE {
        return Err(format!("is larger than {} MiB", MAX_FILE / 1024 / 1024));
    }
    Ok(())
}

/// Split `a, {b, c}, d` at commas outside braces, trimming each part.
fn split_top_commas(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim().to_string());
    out
}

/// Move the tokens out into a Vec of exactly their number, keeping the
/// buffer's capacity for the next line (one allocation per line).
fn take_exact(words: &mut Vec<Token>) -> Vec<Token> {
    let mut w = Vec::with_capacity(words.len());
    w.append(words);
    w
}

/// `include`, `includer`, `includem`, `includew`, `includeb`, `includea` + blank.
fn include_word(text: &str) -> Option<(Option<char>, usize)> {
    let rest = text.strip_prefix("include")?;
    let (flag, n) = match rest.as_bytes().first() {
        Some(b' ') | Some(b'\t') => (None, 7),
        Some(c @ (b'r' | b'm' | b'w' | b'b' | b'a'))
            if matches!(rest.as_bytes().get(1), Some(b' ') | Some(b'\t')) =>
        {
            (Some(*c as char), 8)
        }
        _ => return None,
    };
    Some((flag, n))
}

/// `$NAME=VALUE` (no blank before `=`).
fn definition(text: &str) -> Option<(String, String)> {
    let rest = &text[1..];
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    Some((
        name.to_string(),
        rest[eq + 1..].trim_start_matches([' ', '\t']).to_string(),
    ))
}

fn split_lines(lb: LineBuf<'static>) -> Vec<LineBuf<'static>> {
    if !lb.text.contains('\n') {
        return vec![lb];
    }
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in lb.text.char_indices() {
        if c == '\n' {
            out.push(lb.slice(start, i));
            start = i + 1;
        }
    }
    out.push(lb.slice(start, lb.text.len()));
    out
}

/// Shell-style `{a,b}` expansion (GLOB_BRACE), left to right, nested.
pub(crate) fn brace_expand(p: &str) -> Vec<String> {
    let b = p.as_bytes();
    let Some(open) = b.iter().position(|&c| c == b'{') else {
        return vec![p.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![p.to_string()];
    };
    if commas.is_empty() {
        // `{x}` is literal; expand what follows.
        return brace_expand(&p[close + 1..])
            .into_iter()
            .map(|s| format!("{}{}", &p[..=close], s))
            .collect();
    }
    let mut out = Vec::new();
    let mut s = open + 1;
    for &e in commas.iter().chain(std::iter::once(&close)) {
        let alt = format!("{}{}{}", &p[..open], &p[s..e], &p[close + 1..]);
        out.extend(brace_expand(&alt));
        s = e + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand() {
        assert_eq!(brace_expand("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            brace_expand("{x,y}/{1,2}"),
            vec!["x/1", "x/2", "y/1", "y/2"]
        );
        assert_eq!(brace_expand("plain"), vec!["plain"]);
    }

    #[test]
    fn definitions_need_no_space() {
        assert_eq!(definition("$A=1"), Some(("A".into(), "1".into())));
        assert_eq!(definition("$A =1"), None);
        assert_eq!(definition("$_x9= v"), Some(("_x9".into(), "v".into())));
    }
}
