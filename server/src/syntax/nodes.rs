//! Node queries for the symbolic engine: identifiers, strings and comments, scopes.
//!
//! The node kinds come from the language registry (`identifier-kinds`, `string-kinds`,
//! `comment-kinds`, `scope-kinds` in `grammars/languages.toml`).

use std::borrow::Cow;
use std::ops::Range;

use nextedit_grammars::LanguageInfo;
use ropey::Rope;
use tree_sitter::{Node, Tree};

/// Text a tree was parsed from: a `str` or a [`Rope`].
pub trait SourceText {
    /// The text of a byte range, `None` when the range is out of bounds or not on char boundaries.
    fn text_in(&self, byte_range: Range<usize>) -> Option<Cow<'_, str>>;
}

impl SourceText for str {
    fn text_in(&self, byte_range: Range<usize>) -> Option<Cow<'_, str>> {
        self.get(byte_range).map(Cow::Borrowed)
    }
}

impl SourceText for String {
    fn text_in(&self, byte_range: Range<usize>) -> Option<Cow<'_, str>> {
        self.as_str().text_in(byte_range)
    }
}

impl SourceText for Rope {
    fn text_in(&self, byte_range: Range<usize>) -> Option<Cow<'_, str>> {
        self.get_byte_slice(byte_range).map(Cow::from)
    }
}

/// The identifier node at a byte offset: the one containing it, or ending right at it (a cursor
/// just after a name is on that name). `None` when no identifier is there.
pub fn identifier_at<'tree>(
    tree: &'tree Tree,
    language: &LanguageInfo,
    byte: usize,
) -> Option<Node<'tree>> {
    let root = tree.root_node();
    let probes = [Some(byte), byte.checked_sub(1)];
    for probe in probes.into_iter().flatten() {
        let Some(mut node) = root.descendant_for_byte_range(probe, probe) else {
            continue;
        };
        // Identifiers are leaves in most grammars; a few wrap a leaf (CSS class names): look up
        // through the ancestors that start where the leaf starts.
        loop {
            if language.is_identifier_kind(node.kind())
                && !node.is_missing()
                && node.start_byte() <= byte
                && byte <= node.end_byte()
            {
                return Some(node);
            }
            match node.parent() {
                Some(parent) if parent.start_byte() == node.start_byte() => node = parent,
                _ => break,
            }
        }
    }
    None
}

/// The identifier nodes whose text is `name`, lying wholly inside `byte_range`, in document order.
pub fn identifiers_named<'tree, T: SourceText + ?Sized>(
    tree: &'tree Tree,
    language: &LanguageInfo,
    text: &T,
    name: &str,
    byte_range: Range<usize>,
) -> Vec<Node<'tree>> {
    let mut found = Vec::new();
    if name.is_empty() {
        return found;
    }
    let mut cursor = tree.root_node().walk();
    'walk: loop {
        let node = cursor.node();
        let overlaps = node.start_byte() < byte_range.end && byte_range.start < node.end_byte();
        if overlaps {
            let inside = byte_range.start <= node.start_byte() && node.end_byte() <= byte_range.end;
            if inside
                && node.byte_range().len() == name.len()
                && language.is_identifier_kind(node.kind())
                && text.text_in(node.byte_range()).is_some_and(|node_text| node_text == name)
            {
                found.push(node);
            }
            if cursor.goto_first_child() {
                continue 'walk;
            }
        }
        loop {
            if cursor.goto_next_sibling() && cursor.node().start_byte() < byte_range.end {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                return found;
            }
        }
    }
}

/// What kind of text surrounds a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxContext {
    Code,
    String,
    Comment,
}

/// Whether a byte offset is code, inside a string literal, or inside a comment.
///
/// Inside means between the delimiters: the offset of an opening quote is still code, the offset
/// right after `//` is comment. The end of a line comment counts as inside it (typing there
/// extends the comment); the end of a closed block comment or string does not.
pub fn context_at<T: SourceText + ?Sized>(
    tree: &Tree,
    language: &LanguageInfo,
    text: &T,
    byte: usize,
) -> SyntaxContext {
    let root = tree.root_node();
    let probes = [Some(byte), byte.checked_sub(1)];
    for probe in probes.into_iter().flatten() {
        let mut node = root.descendant_for_byte_range(probe, probe);
        while let Some(current) = node {
            let range = current.byte_range();
            let kind = current.kind();
            if language.is_comment_kind(kind)
                && range.start < byte
                && (byte < range.end
                    || byte == range.end && comment_is_open_at_end(language, text, range.clone()))
            {
                return SyntaxContext::Comment;
            }
            if language.is_string_kind(kind) && range.start < byte && byte < range.end {
                return SyntaxContext::String;
            }
            node = current.parent();
        }
    }
    SyntaxContext::Code
}

/// Whether a byte offset is inside a string literal or a comment (see [`context_at`]).
pub fn is_in_string_or_comment<T: SourceText + ?Sized>(
    tree: &Tree,
    language: &LanguageInfo,
    text: &T,
    byte: usize,
) -> bool {
    context_at(tree, language, text, byte) != SyntaxContext::Code
}

/// A comment is open at its end when it is a line comment that does not include its line break.
fn comment_is_open_at_end<T: SourceText + ?Sized>(
    language: &LanguageInfo,
    text: &T,
    comment_range: Range<usize>,
) -> bool {
    let Some(comment) = text.text_in(comment_range) else {
        return false;
    };
    if comment.ends_with('\n') {
        return false;
    }
    match (&language.line_comment, &language.block_comment) {
        (Some(line_open), _) if comment.starts_with(line_open.as_str()) => true,
        (_, Some((_, block_close))) => !comment.ends_with(block_close.as_str()),
        _ => false,
    }
}

/// The innermost scope node (function, block, class, module...) around a byte offset; the root
/// node when no scope kind encloses it.
///
/// A scope encloses an offset from its start up to, not including, its end.
pub fn enclosing_scope<'tree>(
    tree: &'tree Tree,
    language: &LanguageInfo,
    byte: usize,
) -> Node<'tree> {
    let root = tree.root_node();
    let mut node = root.descendant_for_byte_range(byte, byte);
    while let Some(current) = node {
        if language.is_scope_kind(current.kind())
            && current.start_byte() <= byte
            && byte < current.end_byte()
        {
            return current;
        }
        node = current.parent();
    }
    root
}
