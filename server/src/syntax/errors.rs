//! Counting ERROR and MISSING nodes: the check that rejects proposals that break the syntax.

use std::ops::Range;

use tree_sitter::{Node, Tree};

/// The number of ERROR and MISSING nodes that intersect `byte_range`.
///
/// Every such node counts once, nested ERROR nodes included. A node intersects the range when they
/// share at least one byte; a zero-width node (MISSING nodes are zero-width) or an empty range
/// intersects when it touches: `node.start <= range.end && range.start <= node.end`. The rule is
/// the same for any text, so comparing the count of the old text's range with the count of the
/// new text's range is fair.
pub fn count_errors_in_range(tree: &Tree, byte_range: Range<usize>) -> usize {
    let mut count = 0;
    visit_errors_in_range(tree, &byte_range, &mut |_| count += 1);
    count
}

/// The byte ranges of the ERROR and MISSING nodes that intersect `byte_range`, in document order
/// (for messages and tests).
pub fn error_ranges_in_range(tree: &Tree, byte_range: Range<usize>) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    visit_errors_in_range(tree, &byte_range, &mut |node| ranges.push(node.byte_range()));
    ranges
}

fn visit_errors_in_range(
    tree: &Tree,
    byte_range: &Range<usize>,
    on_error: &mut dyn FnMut(Node<'_>),
) {
    let root = tree.root_node();
    if !root.has_error() {
        return;
    }
    // An iterative walk: trees of hostile input can be deeper than the stack.
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if intersects(node.byte_range(), byte_range) && (node.has_error() || node.is_missing()) {
            if node.is_error() || node.is_missing() {
                on_error(node);
            }
            if cursor.goto_first_child() {
                continue 'walk;
            }
        }
        loop {
            // Siblings come in document order: once one starts after the range, all later do.
            if cursor.goto_next_sibling() && cursor.node().start_byte() <= byte_range.end {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

fn intersects(node_range: Range<usize>, byte_range: &Range<usize>) -> bool {
    if node_range.is_empty() || byte_range.is_empty() {
        node_range.start <= byte_range.end && byte_range.start <= node_range.end
    } else {
        node_range.start < byte_range.end && byte_range.start < node_range.end
    }
}
