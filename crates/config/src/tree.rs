//! Items → a tree of lines with optional `{ ... }` blocks, checking brace balance.

use crate::diag::{Diags, Loc};
use crate::lexer::{Item, Token};

/// One logical line and the block that follows it, if any.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Keyword and arguments (empty for a stray block).
    pub words: Vec<Token>,
    /// `{ ... }` after the line.
    pub block: Option<Box<Block>>,
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
#[derive(Debug)]
pub(crate) struct Builder {
    /// Frames: (children, open loc, words of the line that owns the block).
    stack: Vec<(Vec<Node>, Loc, Vec<Token>)>,
    last_was_words: bool,
    /// `{` beyond [`MAX_DEPTH`] not turned into frames (their `}` are matched against this).
    excess: usize,
}

/// Deepest block nesting accepted (keepalived's grammar needs 5; the limit
/// keeps recursion in `Drop` and elsewhere bounded).
pub(crate) const MAX_DEPTH: usize = 128;

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack: vec![(Vec::new(), Loc::default(), Vec::new())],
            last_was_words: false,
            excess: 0,
        }
    }
}

impl Builder {
    /// Add one item.
    pub fn push(&mut self, item: Item, diags: &mut Diags) {
        match item {
            Item::Words(words) => {
                if let Some(top) = self.stack.last_mut() {
                    top.0.push(Node { words, block: None });
                }
                self.last_was_words = true;
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
                let owner = if self.last_was_words {
                    self.stack
                        .last_mut()
                        .and_then(|top| top.0.pop())
                        .map(|n| n.words)
                        .unwrap_or_default()
                } else {
                    diags.error(loc, "Unexpected '{' - no keyword before it");
                    Vec::new()
                };
                self.stack.push((Vec::new(), loc, owner));
                self.last_was_words = false;
            }
            Item::Close(loc) => {
                if self.excess > 0 {
                    self.excess -= 1;
                } else if self.stack.len() <= 1 {
                    diags.error(loc, "Extra '}' found");
                } else if let Some((children, open, words)) = self.stack.pop() {
                    if let Some(top) = self.stack.last_mut() {
                        top.0.push(Node {
                            words,
                            block: Some(Box::new(Block { open, children })),
                        });
                    }
                }
                self.last_was_words = false;
            }
        }
    }

    /// Close what is still open (each an error) and return the top level.
    pub fn finish(mut self, diags: &mut Diags) -> Vec<Node> {
        let unclosed = self.stack.len() - 1 + self.excess;
        if unclosed > 10 {
            let loc = self.stack.get(1).map(|f| f.1).unwrap_or_default();
            diags.error(loc, format!("There are {unclosed} missing '}}'s or extra '{{'s (the first unclosed block starts here)"));
        }
        while self.stack.len() > 1 {
            let Some((children, open, words)) = self.stack.pop() else {
                break;
            };
            if unclosed <= 10 {
                let what = words
                    .first()
                    .map(|t| format!(" of '{}'", t.text))
                    .unwrap_or_default();
                diags.error(
                    open,
                    format!("Missing '}}': the block{what} opened here is never closed"),
                );
            }
            if let Some(top) = self.stack.last_mut() {
                top.0.push(Node {
                    words,
                    block: Some(Box::new(Block { open, children })),
                });
            }
        }
        self.stack.pop().map(|f| f.0).unwrap_or_default()
    }
}
