//! Turning a rewritten region back into minimal edits.

use std::hash::Hash;
use std::ops::Range;
use std::time::{Duration, Instant};

use similar::algorithms::{Capture, Replace};
use similar::{Algorithm, DiffOp, DiffTag};

use crate::text::TextEdit;
use crate::text::words::covering_tokens;

/// The edits that turn `text[region]` into `new_region`, as byte ranges of `text`. The diff runs
/// over words (so an edit doesn't split an identifier), bounded by `timeout`; edits separated by
/// only whitespace are joined.
pub fn region_edits(
    text: &str,
    region: Range<usize>,
    new_region: &str,
    timeout: Duration,
) -> Vec<TextEdit> {
    let old_region = &text[region.clone()];
    if old_region == new_region {
        return Vec::new();
    }
    let old_tokens = covering_tokens(old_region);
    let new_tokens = covering_tokens(new_region);
    let ops = diff_slices(&old_tokens, &new_tokens, Instant::now().checked_add(timeout));
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
    // The edits must rebuild the new region exactly; if they don't (a bug in the diff), one edit
    // of the changed middle is still right.
    let rebuilt = crate::engine::validate::apply_edits(text, &edits);
    let region_rebuilt = rebuilt.as_deref().and_then(|rebuilt| {
        let end = rebuilt.len().checked_sub(text.len() - region.end)?;
        rebuilt.get(region.start..end)
    });
    if region_rebuilt != Some(new_region) {
        tracing::error!("the region diff did not rebuild the new region; using one edit");
        return vec![middle_edit(text, region, new_region)];
    }
    edits
}

/// One edit replacing what differs between `text[region]` and `new_region`, after their common
/// prefix and suffix (on char boundaries).
fn middle_edit(text: &str, region: Range<usize>, new_region: &str) -> TextEdit {
    let old_region = &text[region.clone()];
    let (prefix, suffix) = crate::text::common_affixes(old_region, new_region);
    TextEdit::new(
        region.start + prefix..region.end - suffix,
        &new_region[prefix..new_region.len() - suffix],
    )
}

/// A diff of two slices as operations in order, bounded by `deadline`. `similar`'s
/// `capture_diff_*` functions compact their result, and that compaction (similar 2.7) can return
/// operations out of order and mismatched (see `out_of_order_compaction_is_avoided`); the
/// operations of the diff itself are always in order.
pub fn diff_slices<T: Hash + Eq + Ord>(
    old: &[T],
    new: &[T],
    deadline: Option<Instant>,
) -> Vec<DiffOp> {
    let mut hook = Replace::new(Capture::new());
    let Ok(()) = similar::algorithms::diff_deadline(
        Algorithm::Myers,
        &mut hook,
        old,
        0..old.len(),
        new,
        0..new.len(),
        deadline,
    );
    hook.into_inner().into_ops()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, new_region: &str, expected: &[(&str, &str)]) {
        let edits = region_edits(text, 0..text.len(), new_region, Duration::from_millis(50));
        let got: Vec<(&str, &str)> =
            edits.iter().map(|e| (&text[e.range.clone()], e.new_text.as_str())).collect();
        assert_eq!(got, expected);
        assert_eq!(crate::engine::validate::apply_edits(text, &edits).unwrap(), new_region);
    }

    #[test]
    fn word_level_minimal_edits() {
        check(
            "let count = 1;\nlet b = count;\n",
            "let count = 1;\nlet b = total;\n",
            &[("count", "total")],
        );
        check("f(a, b)\n", "f(a, b, timeout)\n", &[("", ", timeout")]);
        check("x = 1\ny = 2\n", "x = 1\ny = 2\nz = 3\n", &[("", "z = 3\n")]);
        check("same\n", "same\n", &[]);
        check("a b c d\n", "a X Y d\n", &[("b c", "X Y")]);
    }

    /// Found by the `prompt_output` fuzz target: `similar`'s compacted operations for this pair go
    /// backwards (an insert at an old index before the previous operation's end), which made
    /// `region_edits` slice `text` with a reversed range and panic.
    #[test]
    fn out_of_order_compaction_is_avoided() {
        let text = "pub struct Rect {\n    pub width: f64,\n    pub height: f64,\n}\n\nimpl Rect {\n    pub fn area(&self) -> f64 {\n        self.width * self.height\n    }\n\n    pub fn perimeter(&self) -> f64 {\n        2.0 * (self.width + self.height)\n    }\n}\n";
        let region = 18..232;
        let new_region = "*}}}}}}}\n";
        let edits = region_edits(text, region.clone(), new_region, Duration::from_secs(1));
        let mut expected = text.to_owned();
        expected.replace_range(region, new_region);
        assert_eq!(crate::engine::validate::apply_edits(text, &edits).unwrap(), expected);
        let ops = diff_slices(&covering_tokens(&text[18..232]), &covering_tokens(new_region), None);
        for pair in ops.windows(2) {
            assert_eq!(pair[0].old_range().end, pair[1].old_range().start, "{ops:?}");
            assert_eq!(pair[0].new_range().end, pair[1].new_range().start, "{ops:?}");
        }
    }

    #[test]
    fn the_middle_edit_keeps_common_ends() {
        let text = "ab😀cd";
        assert_eq!(middle_edit(text, 0..text.len(), "ab😁cd"), TextEdit::new(2..6, "😁"));
        assert_eq!(middle_edit(text, 0..text.len(), "ab"), TextEdit::new(2..text.len(), ""));
        assert_eq!(middle_edit(text, 0..2, "a"), TextEdit::new(1..2, ""));
    }
}
