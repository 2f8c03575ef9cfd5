//! Tree-sitter trees for open documents: incremental parsing under a time budget, error counting,
//! syntax-aware regions and the node queries the symbolic engine needs.
//!
//! This module is pure: it does no IO and knows nothing about LSP. Offsets are UTF-8 byte offsets
//! into the document text; rows and columns, where tree-sitter wants them, are computed from a
//! [`ropey::Rope`].
//!
//! The life of a document's tree:
//!
//! ```text
//! let mut syntax = SyntaxTree::new(language, &rope)?;   // full parse
//! let edit = input_edit_for_replace(&rope, range, new_text);  // before the rope changes
//! rope.remove(..); rope.insert(..);                     // the document applies the change
//! syntax.edit(&edit);                                   // shift the old tree
//! syntax.reparse(&rope);                                // incremental parse, under the budget
//! ```
//!
//! Parsing never holds the caller longer than the budget ([`DEFAULT_PARSE_BUDGET`]). A parse that
//! runs out of budget leaves the last tree in place, marked stale (see [`SyntaxTree::is_stale`]),
//! or no tree at all when there was none yet. [`SyntaxTree::reparse`] keeps its parser, so the
//! next call picks a halted parse up where it stopped when the text has not changed in between.
//! The server's prediction jobs parse through [`DetachedParse`] instead (outside the documents
//! lock), which builds a new parser each time and so starts over: a document whose parse takes
//! longer than the budget keeps its stale tree on that path.

mod errors;
mod nodes;
mod region;

use std::ops::Range;
use std::time::{Duration, Instant};

use nextedit_grammars::LanguageInfo;
use ropey::Rope;
use tree_sitter::{InputEdit, ParseOptions, ParseState, Parser, Point, Tree};

pub use errors::{count_errors_in_range, error_ranges_in_range};
pub use nodes::{
    SourceText, SyntaxContext, context_at, enclosing_scope, identifier_at, identifiers_named,
    is_in_string_or_comment,
};
pub use region::{MAX_BYTES_PER_TOKEN, floor_char_boundary, grow_region};

/// How long one parse may run before it gives up (the same budget for full and incremental parses).
pub const DEFAULT_PARSE_BUDGET: Duration = Duration::from_millis(500);

/// What a call to [`SyntaxTree::reparse`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseOutcome {
    /// The tree matches the text.
    Complete,
    /// The budget ran out: the previous tree (if any) is kept and marked stale.
    OutOfBudget,
}

/// The syntax tree of one document, kept up to date incrementally.
pub struct SyntaxTree {
    language: &'static LanguageInfo,
    parser: Parser,
    tree: Option<Tree>,
    /// The tree does not reflect the current text (edited but not successfully reparsed).
    stale: bool,
    /// A parse halted by the budget can be resumed (no edit since it halted).
    halted_parse_resumable: bool,
    budget: Duration,
}

impl std::fmt::Debug for SyntaxTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxTree")
            .field("language", &self.language.id)
            .field("has_tree", &self.tree.is_some())
            .field("stale", &self.stale)
            .field("budget", &self.budget)
            .finish()
    }
}

impl SyntaxTree {
    /// Parses `text` with the default budget; `None` when the language's grammar is not compiled
    /// into this build.
    pub fn new(language: &'static LanguageInfo, text: &Rope) -> Option<SyntaxTree> {
        SyntaxTree::with_budget(language, text, DEFAULT_PARSE_BUDGET)
    }

    /// Like [`SyntaxTree::new`] with a parse budget of its own (used for every later reparse too).
    pub fn with_budget(
        language: &'static LanguageInfo,
        text: &Rope,
        budget: Duration,
    ) -> Option<SyntaxTree> {
        let mut parser = Parser::new();
        parser.set_language(&language.language()?).ok()?;
        let mut syntax = SyntaxTree {
            language,
            parser,
            tree: None,
            stale: true,
            halted_parse_resumable: false,
            budget,
        };
        syntax.reparse(text);
        Some(syntax)
    }

    pub fn language(&self) -> &'static LanguageInfo {
        self.language
    }

    /// The current tree. It may be stale (see [`SyntaxTree::is_stale`]) and is `None` only when no
    /// parse of this document has ever finished within its budget.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }

    /// The current tree only when it matches the text.
    pub fn fresh_tree(&self) -> Option<&Tree> {
        if self.stale { None } else { self.tree.as_ref() }
    }

    /// Whether the tree lags behind the text: edited since the last parse that finished.
    ///
    /// A stale tree has correct byte offsets for the unedited parts of the text (tree-sitter shifts
    /// them on [`SyntaxTree::edit`]) but the edited parts are not parsed yet.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    pub fn set_budget(&mut self, budget: Duration) {
        self.budget = budget;
    }

    /// Tells the tree about one edit of the text. Call it once per change, in order, before
    /// [`SyntaxTree::reparse`]; several edits may precede one reparse.
    pub fn edit(&mut self, edit: &InputEdit) {
        if let Some(tree) = &mut self.tree {
            tree.edit(edit);
        }
        self.stale = true;
        if self.halted_parse_resumable {
            // The halted parse read the old text: it cannot be resumed on the new one.
            self.parser.reset();
            self.halted_parse_resumable = false;
        }
    }

    /// Parses the current text, reusing the (edited) previous tree, for at most the budget.
    pub fn reparse(&mut self, text: &Rope) -> ParseOutcome {
        if !self.stale && self.tree.is_some() {
            return ParseOutcome::Complete;
        }
        let old_tree = if self.halted_parse_resumable { None } else { self.tree.as_ref() };
        match parse_rope(&mut self.parser, text, old_tree, self.budget) {
            Some(tree) => {
                self.tree = Some(tree);
                self.stale = false;
                self.halted_parse_resumable = false;
                ParseOutcome::Complete
            }
            None => {
                self.halted_parse_resumable = true;
                ParseOutcome::OutOfBudget
            }
        }
    }

    /// What a reparse away from this value needs (see [`DetachedParse`]), or `None` when the tree
    /// is fresh. The tree stays here; the caller installs the result with
    /// [`SyntaxTree::install`] if the text has not changed in between.
    pub fn detach_reparse(&self) -> Option<DetachedParse> {
        if !self.stale && self.tree.is_some() {
            return None;
        }
        Some(DetachedParse {
            language: self.language,
            old_tree: self.tree.clone(),
            budget: self.budget,
        })
    }

    /// Installs a tree parsed by [`DetachedParse::run`] from the current text.
    pub fn install(&mut self, tree: Tree) {
        self.tree = Some(tree);
        self.stale = false;
        if self.halted_parse_resumable {
            self.parser.reset();
            self.halted_parse_resumable = false;
        }
    }

    /// Forgets the tree and parses `text` from scratch (for a full-text change).
    pub fn replace_text(&mut self, text: &Rope) -> ParseOutcome {
        self.parser.reset();
        self.halted_parse_resumable = false;
        self.tree = None;
        self.stale = true;
        self.reparse(text)
    }
}

/// An incremental reparse that runs without the [`SyntaxTree`] (and whatever lock guards it):
/// its own parser, a copy of the edited old tree (tree-sitter trees are cheap to copy).
pub struct DetachedParse {
    language: &'static LanguageInfo,
    old_tree: Option<Tree>,
    budget: Duration,
}

impl DetachedParse {
    /// Parses `text`, the text the old tree was edited to match; `None` when the grammar is
    /// missing or the budget ran out.
    pub fn run(&self, text: &Rope) -> Option<Tree> {
        let mut parser = Parser::new();
        parser.set_language(&self.language.language()?).ok()?;
        parse_rope(&mut parser, text, self.old_tree.as_ref(), self.budget)
    }
}

/// Parses a rope from its chunks (no copy of the document) under a budget.
///
/// `None` when the budget ran out; the parser then holds the halted parse, which the next call
/// resumes unless the caller resets the parser.
pub fn parse_rope(
    parser: &mut Parser,
    text: &Rope,
    old_tree: Option<&Tree>,
    budget: Duration,
) -> Option<Tree> {
    let len_bytes = text.len_bytes();
    let mut read_chunk = |byte: usize, _position: Point| -> &[u8] {
        if byte >= len_bytes {
            return &[];
        }
        let (chunk, chunk_start_byte, _, _) = text.chunk_at_byte(byte);
        &chunk.as_bytes()[byte - chunk_start_byte..]
    };
    parse_with_budget(parser, &mut read_chunk, old_tree, budget)
}

/// Parses a candidate text in a fresh parser with the default budget; `None` when the grammar is
/// not compiled in or the budget ran out.
pub fn parse_str(language: &LanguageInfo, text: &str) -> Option<Tree> {
    parse_str_with_budget(language, text, DEFAULT_PARSE_BUDGET)
}

pub fn parse_str_with_budget(
    language: &LanguageInfo,
    text: &str,
    budget: Duration,
) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&language.language()?).ok()?;
    let bytes = text.as_bytes();
    let mut read_chunk =
        |byte: usize, _position: Point| -> &[u8] { bytes.get(byte..).unwrap_or_default() };
    parse_with_budget(&mut parser, &mut read_chunk, None, budget)
}

fn parse_with_budget<'text, F>(
    parser: &mut Parser,
    read_chunk: &mut F,
    old_tree: Option<&Tree>,
    budget: Duration,
) -> Option<Tree>
where
    F: FnMut(usize, Point) -> &'text [u8],
{
    // `checked_add` fails only for absurd budgets, which mean "no limit".
    let deadline = Instant::now().checked_add(budget);
    // Tree-sitter calls this every hundred or so parse operations; `true` halts the parse.
    let mut out_of_budget =
        |_: &ParseState| deadline.is_some_and(|deadline| Instant::now() >= deadline);
    let options = ParseOptions::new().progress_callback(&mut out_of_budget);
    parser.parse_with_options(read_chunk, old_tree, Some(options))
}

/// The tree-sitter point (row, byte column) of a byte offset, clamped to the text.
///
/// Rows follow ropey's line breaks (LF, CRLF and, with the `cr_lines` feature, a lone CR), while
/// tree-sitter itself counts only LF: in a document with lone CRs the rows of edited nodes may be
/// off. Parsing is unaffected, since tree-sitter reuses nodes by byte offset, and nextedit reads
/// only byte offsets from trees.
pub fn point_at_byte(text: &Rope, byte: usize) -> Point {
    let byte = byte.min(text.len_bytes());
    let row = text.byte_to_line(byte);
    Point { row, column: byte - text.line_to_byte(row) }
}

/// The [`InputEdit`] of a change, from the text before and after it.
///
/// `start_byte..old_end_byte` is the replaced range in `old_text`, `start_byte..new_end_byte` the
/// inserted text in `new_text`.
pub fn input_edit(
    old_text: &Rope,
    new_text: &Rope,
    start_byte: usize,
    old_end_byte: usize,
    new_end_byte: usize,
) -> InputEdit {
    InputEdit {
        start_byte,
        old_end_byte,
        new_end_byte,
        start_position: point_at_byte(old_text, start_byte),
        old_end_position: point_at_byte(old_text, old_end_byte),
        new_end_position: point_at_byte(new_text, new_end_byte),
    }
}

/// The [`InputEdit`] of replacing `old_byte_range` of `old_text` with `new_text`, computed before
/// the rope changes (no copy of the new rope needed).
pub fn input_edit_for_replace(
    old_text: &Rope,
    old_byte_range: Range<usize>,
    new_text: &str,
) -> InputEdit {
    let start_position = point_at_byte(old_text, old_byte_range.start);
    let inserted_line_breaks = ropey::str_utils::byte_to_line_idx(new_text, new_text.len());
    let new_end_position = if inserted_line_breaks == 0 {
        Point { row: start_position.row, column: start_position.column + new_text.len() }
    } else {
        let last_line_start = ropey::str_utils::line_to_byte_idx(new_text, inserted_line_breaks);
        Point {
            row: start_position.row + inserted_line_breaks,
            column: new_text.len() - last_line_start,
        }
    };
    InputEdit {
        start_byte: old_byte_range.start,
        old_end_byte: old_byte_range.end,
        new_end_byte: old_byte_range.start + new_text.len(),
        start_position,
        old_end_position: point_at_byte(old_text, old_byte_range.end),
        new_end_position,
    }
}
