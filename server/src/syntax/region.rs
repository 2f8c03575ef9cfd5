//! The editable region around the cursor: whole lines, grown along the syntax tree.

use std::ops::Range;

use tree_sitter::{Node, Tree};

/// No tokenizer makes fewer tokens than one per this many bytes of source; a candidate region
/// longer than `max_tokens * MAX_BYTES_PER_TOKEN` is rejected without counting its tokens (this
/// keeps growth cheap when the next enclosing node is a whole large file).
pub const MAX_BYTES_PER_TOKEN: usize = 32;

/// The region of whole lines around `cursor_byte` to send to the model, at most `max_tokens`
/// tokens as `count_tokens` counts them.
///
/// The region starts as the cursor's line (which it always contains, even when that line alone is
/// over budget). With a tree, it grows to the whole lines of ever larger named nodes around the
/// cursor while they fit; when the next enclosing node is too large, it takes in that node's
/// children next to the region, alternately after and before, while they fit. Without a tree, it
/// grows line by line, alternately below and above. A stale tree is fine: its ranges are clamped
/// to the text.
pub fn grow_region(
    tree: Option<&Tree>,
    text: &str,
    cursor_byte: usize,
    count_tokens: impl Fn(&str) -> usize,
    max_tokens: usize,
) -> Range<usize> {
    let cursor_byte = floor_char_boundary(text, cursor_byte);
    let fits = |range: &Range<usize>| {
        range.len() <= max_tokens.saturating_mul(MAX_BYTES_PER_TOKEN)
            && count_tokens(&text[range.clone()]) <= max_tokens
    };
    let cursor_line = line_start(text, cursor_byte)..line_end(text, cursor_byte);
    if !fits(&cursor_line) {
        return cursor_line;
    }
    match tree {
        Some(tree) => grow_along_tree(tree, text, cursor_byte, cursor_line, &fits),
        None => grow_by_lines(text, cursor_line, &fits),
    }
}

fn grow_along_tree(
    tree: &Tree,
    text: &str,
    cursor_byte: usize,
    mut region: Range<usize>,
    fits: &dyn Fn(&Range<usize>) -> bool,
) -> Range<usize> {
    let root = tree.root_node();
    let Some(mut node) = root.named_descendant_for_byte_range(cursor_byte, cursor_byte) else {
        return grow_by_lines(text, region, fits);
    };
    loop {
        let candidate = union(&region, &whole_lines(text, node.byte_range()));
        if !fits(&candidate) {
            return grow_with_children(text, node, region, fits);
        }
        region = candidate;
        match node.parent() {
            Some(parent) => node = parent,
            None => return region,
        }
    }
}

/// Adds the children of `node` next to `region`, alternately after and before, while they fit.
fn grow_with_children(
    text: &str,
    node: Node<'_>,
    mut region: Range<usize>,
    fits: &dyn Fn(&Range<usize>) -> bool,
) -> Range<usize> {
    let mut cursor = node.walk();
    let children: Vec<Range<usize>> =
        node.children(&mut cursor).map(|child| whole_lines(text, child.byte_range())).collect();
    let (initial_start, initial_end) = (region.start, region.end);
    let mut after = children.iter().filter(|child| child.end > initial_end);
    let mut before = children.iter().rev().filter(|child| child.start < initial_start);
    let mut after_open = true;
    let mut before_open = true;
    while after_open || before_open {
        if after_open {
            after_open = match after.next() {
                Some(child) => try_extend(&mut region, child, fits),
                None => false,
            };
        }
        if before_open {
            before_open = match before.next() {
                Some(child) => try_extend(&mut region, child, fits),
                None => false,
            };
        }
    }
    region
}

/// Grows `region` one whole line at a time, alternately below and above, while it fits.
fn grow_by_lines(
    text: &str,
    mut region: Range<usize>,
    fits: &dyn Fn(&Range<usize>) -> bool,
) -> Range<usize> {
    let mut below_open = true;
    let mut above_open = true;
    while below_open || above_open {
        if below_open {
            let next_line = region.end..line_end(text, region.end);
            below_open = !next_line.is_empty() && try_extend(&mut region, &next_line, fits);
        }
        if above_open {
            above_open = region.start > 0 && {
                let previous_line = line_start(text, region.start - 1)..region.start;
                try_extend(&mut region, &previous_line, fits)
            };
        }
    }
    region
}

fn try_extend(
    region: &mut Range<usize>,
    addition: &Range<usize>,
    fits: &dyn Fn(&Range<usize>) -> bool,
) -> bool {
    let candidate = union(region, addition);
    if fits(&candidate) {
        *region = candidate;
        true
    } else {
        false
    }
}

fn union(a: &Range<usize>, b: &Range<usize>) -> Range<usize> {
    a.start.min(b.start)..a.end.max(b.end)
}

/// The smallest run of whole lines (each with its line break) that covers `range`, clamped to
/// the text. A range that ends right after a line break does not take in the next line.
fn whole_lines(text: &str, range: Range<usize>) -> Range<usize> {
    let start = floor_char_boundary(text, range.start);
    let end = floor_char_boundary(text, range.end.max(range.start));
    let lines_end =
        if end > start && text.as_bytes()[end - 1] == b'\n' { end } else { line_end(text, end) };
    line_start(text, start)..lines_end
}

/// The start of the line holding `byte` (a char boundary).
fn line_start(text: &str, byte: usize) -> usize {
    text[..byte].rfind('\n').map_or(0, |newline| newline + 1)
}

/// The end of the line holding `byte`, after its line break (a char boundary).
fn line_end(text: &str, byte: usize) -> usize {
    text[byte..].find('\n').map_or(text.len(), |newline| byte + newline + 1)
}

/// The largest char boundary of `text` at or before `byte` (clamped to the text).
pub fn floor_char_boundary(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}
