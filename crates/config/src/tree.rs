//! Items → a tree of lines with optional `{ ... }` blocks, checking brace balance.

use crate::diag::{Diags, Loc};
use crate::lexer::{Item, Token};

/// One logical line and the block that follows it, if any.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Keyword and arguments (empty for a stray block).
    pub words: Vec<Token>,
    /// `{ ... }` after the line.
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

/// Build the tree. Unbalanced braces are reported here.
pub(crate) fn build(items: Vec<Item>, diags: &mut Diags) -> Vec<Node> {
    // Frames: (children, open loc, node words that own the block).
    let mut stack: Vec<(Vec<Node>, Loc, Vec<Token>)> =
        vec![(Vec::new(), Loc::default(), Vec::new())];
    let mut last_was_words = false;
    for item in items {
        match item {
            Item::Words(words) => {
                if let Some(top) = stack.last_mut() {
                    top.0.push(Node { words, block: None });
                }
                last_was_words = true;
            }
            Item::Open(loc) => {
                let owner = if last_was_words {
                    stack
                        .last_mut()
                        .and_then(|top| top.0.pop())
                        .map(|n| n.words)
                        .unwrap_or_default()
                } else {
                    diags.error(loc, "Unexpected '{' - no keyword before it");
                    Vec::new()
                };
                stack.push((Vec::new(), loc, owner));
                last_was_words = false;
            }
            Item::Close(loc) => {
                if stack.len() <= 1 {
                    diags.error(loc, "Extra '}' found");
                } else if let Some((children, open, words)) = stack.pop() {
                    if let Some(top) = stack.last_mut() {
                        top.0.push(Node {
                            words,
                            block: Some(Block { open, children }),
                        });
                    }
                }
                last_was_words = false;
            }
        }
    }
    while stack.len() > 1 {
        let Some((children, open, words)) = stack.pop() else {
            break;
        };
        let what = words
            .first()
            .map(|t| format!(" of '{}'", t.text))
            .unwrap_or_default();
        diags.error(
            open,
            format!("Missing '}}': the block{what} opened here is never closed"),
        );
        if let Some(top) = stack.last_mut() {
            top.0.push(Node {
                words,
                block: Some(Block { open, children }),
            });
        }
    }
    stack.pop().map(|f| f.0).unwrap_or_default()
}
