//! Turning a rewritten region back into minimal edits.

use std::ops::Range;
use std::time::Duration;

use similar::{Algorithm, DiffTag};

use crate::text::TextEdit;

/// The edits that turn `text[region]` into `new_region`, as byte ranges of `text`. The diff runs
/// over words (so an edit doesn't split an identifier), bounded by `timeout`; edits separated by
/// only whitespace are joined.
pub fn region_edits(text: &str, region: Range<usize>, new_region: &str, timeout: Duration) -> Vec<TextEdit> {
    let old_region = &text[region.clone()];
    if old_region == new_region {
        return Vec::new();
    }
    let old_tokens = tokens(old_region);
    let new_tokens = tokens(new_region);
    let deadline = std::time::Instant::now() + timeout;
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &old_tokens, &new_tokens, Some(deadline));
    let offsets = |tokens: &[&str]| {
        let mut starts = Vec::with_capacity(tokens.len() + 1);
        let mut at = 0;
        for token in tokens {
            starts.push(at);
            at += token.len();
        }
        starts.push(at);
        starts
    };
    let old_starts = offsets(&old_tokens);
    let new_starts = offsets(&new_tokens);
    let mut edits: Vec<TextEdit> = Vec::new();
    for op in &ops {
        if op.tag() == DiffTag::Equal {
            continue;
        }
        let old = op.old_range();
        let new = op.new_range();
        let old_bytes = old_starts[old.start]..old_starts[old.end];
        let new_bytes = new_starts[new.start]..new_starts[new.end];
        let range = region.start + old_bytes.start..region.start + old_bytes.end;
        let new_text = &new_region[new_bytes];
        match edits.last_mut() {
            // Join with the previous edit when only whitespace lies between them.
            Some(previous)
                if text[previous.range.end..range.start].chars().all(char::is_whitespace)
                    && !text[previous.range.end..range.start].contains('\n') =>
            {
                let gap = &text[previous.range.end..range.start];
                previous.new_text.push_str(gap);
                previous.new_text.push_str(new_text);
                previous.range.end = range.end;
            }
            _ => edits.push(TextEdit::new(range, new_text)),
        }
    }
    edits
}

/// Splits text into identifier-like runs, whitespace runs and single other characters.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut previous_class = None;
    for (index, ch) in text.char_indices() {
        let class = if ch.is_alphanumeric() || ch == '_' {
            0
        } else if ch.is_whitespace() && ch != '\n' {
            1
        } else {
            2
        };
        let joins = previous_class == Some(class) && class != 2;
        if !joins && index > start {
            out.push(&text[start..index]);
            start = index;
        }
        previous_class = Some(class);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, new_region: &str, expected: &[(&str, &str)]) {
        let edits = region_edits(text, 0..text.len(), new_region, Duration::from_millis(50));
        let got: Vec<(&str, &str)> = edits.iter().map(|e| (&text[e.range.clone()], e.new_text.as_str())).collect();
        assert_eq!(got, expected);
        assert_eq!(crate::engine::validate::apply_edits(text, &edits).unwrap(), new_region);
    }

    #[test]
    fn word_level_minimal_edits() {
        check("let count = 1;\nlet b = count;\n", "let count = 1;\nlet b = total;\n", &[("count", "total")]);
        check("f(a, b)\n", "f(a, b, timeout)\n", &[("", ", timeout")]);
        check("x = 1\ny = 2\n", "x = 1\ny = 2\nz = 3\n", &[("", "z = 3\n")]);
        check("same\n", "same\n", &[]);
        check("a b c d\n", "a X Y d\n", &[("b c", "X Y")]);
    }
}
