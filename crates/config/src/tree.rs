//! Items → a tree of lines with optional `{ ... }` blocks, checking brace balance.

use crate::diag::{Diags, Loc};
use crate::lexer::{Item, Token};

/// One logical line and the block that follows it, if any.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Keyword and arguments (empty for a stray block).
    pub words: Vec<Token>,
    /// `{ ... }` after the line (in place: one allocation less per block).
    pub block: Option<Block>,
}

/// The contents of `{ ... }`.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Where `{` is.
    pub open: Loc,
    /// Lines inside.
    pub children: Vec<Node>,
}

impl Node {
    /// Location of the keyword.
    pub fn loc(&self) -> Loc {
        self.words
            .first()
            .map(|t| t.loc)
            .or(self.block.as_ref().map(|b| b.open))
            .unwrap_or_default()
    }
    /// The keyword.
    pub fn keyword(&self) -> &str {
        self.words.first().map(|t| t.text.as_str()).unwrap_or("")
    }
}

/// Builds the tree as the lexer produces items (no intermediate list).
/// Unbalanced braces are reported here.
///
/// The lines of every open block wait on one shared stack (`pending`); a
/// closing `}` moves its block's lines out into one exact-size vector, so
/// building a 130,000-line tree makes one allocation per block and per line
/// and no reallocation.
#[derive(Debug)]
pub(crate) struct Builder {
    /// Lines of the open blocks, innermost last.
    pending: Vec<Node>,
    /// Open blocks: (index of their first line in `pending`, open loc,
    /// words of the line that owns the block). Frame 0 is the top level.
    stack: Vec<(usize, Loc, Vec<Token>)>,
    last_was_words: bool,
    /// `{` beyond [`MAX_DEPTH`] not turned into frames (their `}` are matched against this).
    excess: usize,
    /// Where finished top-level lines go as they are read (the parser, on
    /// another thread); None: everything stays until [`Builder::finish`].
    sink: Option<std::sync::mpsc::SyncSender<Vec<Node>>>,
}

/// Top-level lines handed to the sink at a time.
const BATCH: usize = 32;

/// Deepest block nesting accepted (keepalived's grammar needs 5; the limit
/// keeps recursion in `Drop` and elsewhere bounded).
pub(crate) const MAX_DEPTH: usize = 128;

impl Default for Builder {
    fn default() -> Self {
        Builder {
            pending: Vec::new(),
            stack: vec![(0, Loc::default(), Vec::new())],
            last_was_words: false,
            excess: 0,
            sink: None,
        }
    }
}

impl Builder {
    /// Hand finished top-level lines to `sink` in batches while reading
    /// ([`Builder::finish`] still returns the last ones).
    pub fn set_sink(&mut self, sink: std::sync::mpsc::SyncSender<Vec<Node>>) {
        self.sink = Some(sink);
    }

    /// Send the finished top-level lines, all but the last one (the next
    /// item may be the `{` of its block).
    fn flush(&mut self) {
        if self.stack.len() != 1 || self.pending.len() <= BATCH {
            return;
        }
        let Some(sink) = &self.sink else {
            return;
        };
        let last = self.pending.pop();
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH + 1));
        self.pending.extend(last);
        if let Err(std::sync::mpsc::SendError(batch)) = sink.send(batch) {
            // The parser is gone: keep everything here.
            self.sink = None;
            let last = std::mem::replace(&mut self.pending, batch);
            self.pending.extend(last);
        }
    }

    /// Add one item.
    pub fn push(&mut self, item: Item, diags: &mut Diags) {
        match item {
            Item::Words(words) => {
                self.pending.push(Node { words, block: None });
                self.last_was_words = true;
                self.flush();
            }
            Item::Open(loc) => {
                if self.stack.len() > MAX_DEPTH {
                    if self.excess == 0 {
                        diags.error(
                            loc,
                            format!("blocks nest too deeply (more than {MAX_DEPTH} levels)"),
                        );
                    }
                    self.excess += 1;
                    self.last_was_words = false;
                    return;
                }
                // The previous item was a line of the current block: it owns this one.
                let owner = if self.last_was_words {
                    self.pending.pop().map(|n| n.words).unwrap_or_default()
                } else {
                    diags.error(loc, "Unexpected '{' - no keyword before it");
                    Vec::new()
                };
                self.stack.push((self.pending.len(), loc, owner));
                self.last_was_words = false;
            }
            Item::Close(loc) => {
                if self.excess > 0 {
                    self.excess -= 1;
                } else if self.stack.len() <= 1 {
                    diags.error(loc, "Extra '}' found");
                } else {
                    self.close_top();
                }
                self.last_was_words = false;
                self.flush();
            }
        }
    }

    /// Close the innermost open block (never the top level).
    fn close_top(&mut self) {
        if self.stack.len() <= 1 {
            return;
        }
        if let Some((start, open, words)) = self.stack.pop() {
            let children: Vec<Node> = self.pending.drain(start..).collect();
            self.pending.push(Node {
                words,
                block: Some(Block { open, children }),
            });
        }
    }

    /// Close what is still open (each an error) and return the top level.
    pub fn finish(mut self, diags: &mut Diags) -> Vec<Node> {
        self.sink = None;
        let unclosed = self.stack.len() - 1 + self.excess;
        if unclosed > 10 {
            let loc = self.stack.get(1).map(|f| f.1).unwrap_or_default();
            diags.error(loc, format!("There are {unclosed} missing '}}'s or extra '{{'s (the first unclosed block starts here)"));
        }
        while self.stack.len() > 1 {
            if unclosed <= 10 {
                if let Some((_, open, words)) = self.stack.last() {
                    let what = words
                        .first()
                        .map(|t| format!(" of '{}'", t.text))
                        .unwrap_or_default();
                    diags.error(
                        *open,
                        format!("Missing '}}': the block{what} opened here is never closed"),
                    );
                }
            }
            self.close_top();
        }
        self.pending
    }
}
