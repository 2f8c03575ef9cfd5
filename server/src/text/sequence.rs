//! The longest-matching-block diff of Python's `difflib.SequenceMatcher` over lines or tokens: the
//! one definition of "which lines changed" that the evaluation metrics (parity with the reference
//! scorer), the case miner and the server's reversal check share.

use std::collections::HashMap;

/// One matching block of a line diff: `a[a_start..a_start + len] == b[b_start..b_start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MatchingBlock {
    a_start: usize,
    b_start: usize,
    len: usize,
}

/// Lines `a[a_start..a_end]` became `b[b_start..b_end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineChange {
    a_start: usize,
    a_end: usize,
    b_start: usize,
    b_end: usize,
}

/// The longest-matching-block diff of Python's `difflib.SequenceMatcher(autojunk=False)`.
///
/// Kept beside `similar` (which the engine's region diffs use) on purpose: the evaluation's scores
/// must equal the reference scorer's bit for bit, and another diff algorithm finds other, equally
/// minimal, blocks, which moves `loc_hit`, the token categories of `nextedit mine`, and the
/// reversal check the server shares with the evaluation.
struct SequenceMatcher<'a> {
    a: &'a [&'a str],
    b: &'a [&'a str],
    b_positions: HashMap<&'a str, Vec<usize>>,
}

impl<'a> SequenceMatcher<'a> {
    fn new(a: &'a [&'a str], b: &'a [&'a str]) -> SequenceMatcher<'a> {
        let mut b_positions: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, line) in b.iter().enumerate() {
            b_positions.entry(line).or_default().push(index);
        }
        SequenceMatcher { a, b, b_positions }
    }

    /// The longest block in `a[a_lo..a_hi]` and `b[b_lo..b_hi]`, the earliest in `a` and then in
    /// `b` on ties.
    fn find_longest_match(
        &self,
        a_lo: usize,
        a_hi: usize,
        b_lo: usize,
        b_hi: usize,
    ) -> MatchingBlock {
        let mut best = MatchingBlock { a_start: a_lo, b_start: b_lo, len: 0 };
        let mut lengths_ending_at: HashMap<usize, usize> = HashMap::new();
        for i in a_lo..a_hi {
            let mut next_lengths: HashMap<usize, usize> = HashMap::new();
            if let Some(positions) = self.b_positions.get(self.a[i]) {
                for &j in positions {
                    if j < b_lo {
                        continue;
                    }
                    if j >= b_hi {
                        break;
                    }
                    let previous = if j == 0 {
                        0
                    } else {
                        lengths_ending_at.get(&(j - 1)).copied().unwrap_or(0)
                    };
                    let length = previous + 1;
                    next_lengths.insert(j, length);
                    if length > best.len {
                        best = MatchingBlock {
                            a_start: i + 1 - length,
                            b_start: j + 1 - length,
                            len: length,
                        };
                    }
                }
            }
            lengths_ending_at = next_lengths;
        }
        while best.a_start > a_lo
            && best.b_start > b_lo
            && self.a[best.a_start - 1] == self.b[best.b_start - 1]
        {
            best.a_start -= 1;
            best.b_start -= 1;
            best.len += 1;
        }
        while best.a_start + best.len < a_hi
            && best.b_start + best.len < b_hi
            && self.a[best.a_start + best.len] == self.b[best.b_start + best.len]
        {
            best.len += 1;
        }
        best
    }

    fn matching_blocks(&self) -> Vec<MatchingBlock> {
        let mut queue = vec![(0, self.a.len(), 0, self.b.len())];
        let mut blocks = Vec::new();
        while let Some((a_lo, a_hi, b_lo, b_hi)) = queue.pop() {
            let block = self.find_longest_match(a_lo, a_hi, b_lo, b_hi);
            if block.len == 0 {
                continue;
            }
            blocks.push(block);
            if a_lo < block.a_start && b_lo < block.b_start {
                queue.push((a_lo, block.a_start, b_lo, block.b_start));
            }
            if block.a_start + block.len < a_hi && block.b_start + block.len < b_hi {
                queue.push((block.a_start + block.len, a_hi, block.b_start + block.len, b_hi));
            }
        }
        blocks.sort();
        let mut merged: Vec<MatchingBlock> = Vec::new();
        for block in blocks {
            match merged.last_mut() {
                Some(last)
                    if last.a_start + last.len == block.a_start
                        && last.b_start + last.len == block.b_start =>
                {
                    last.len += block.len;
                }
                _ => merged.push(block),
            }
        }
        merged.push(MatchingBlock { a_start: self.a.len(), b_start: self.b.len(), len: 0 });
        merged
    }

    /// The non-equal opcodes, in order.
    fn changes(&self) -> Vec<LineChange> {
        let mut changes = Vec::new();
        let (mut i, mut j) = (0, 0);
        for block in self.matching_blocks() {
            if i < block.a_start || j < block.b_start {
                changes.push(LineChange {
                    a_start: i,
                    a_end: block.a_start,
                    b_start: j,
                    b_end: block.b_start,
                });
            }
            i = block.a_start + block.len;
            j = block.b_start + block.len;
        }
        changes
    }
}

/// The non-equal opcodes of a longest-matching-block diff of two token or line sequences, as
/// `(a_start, a_end, b_start, b_end)`.
pub fn sequence_changes(a: &[&str], b: &[&str]) -> Vec<(usize, usize, usize, usize)> {
    SequenceMatcher::new(a, b)
        .changes()
        .into_iter()
        .map(|change| (change.a_start, change.a_end, change.b_start, change.b_end))
        .collect()
}

/// Python's `SequenceMatcher.ratio()`: twice the matched elements over the total (1 when both are
/// empty).
pub fn sequence_similarity(a: &[&str], b: &[&str]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let matched: usize =
        SequenceMatcher::new(a, b).matching_blocks().iter().map(|block| block.len).sum();
    2.0 * matched as f64 / total as f64
}

/// The lines of `before` that the change to `after` touches: from the first changed line to the
/// end of the last change (at least one line), or `None` when nothing changed.
pub fn changed_line_span(before: &str, after: &str) -> Option<(usize, usize)> {
    let a: Vec<&str> = before.split('\n').collect();
    let b: Vec<&str> = after.split('\n').collect();
    let changes = SequenceMatcher::new(&a, &b).changes();
    let first = changes.first()?;
    let last = changes.last()?;
    Some((first.a_start, last.a_end.max(first.a_start + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_spans() {
        assert_eq!(changed_line_span("a\nb\nc", "a\nb\nc"), None);
        assert_eq!(changed_line_span("a\nb\nc", "a\nB\nc"), Some((1, 2)));
        assert_eq!(changed_line_span("a\nb\nc", "a\nb\nx\nc"), Some((2, 3)));
        assert_eq!(changed_line_span("a\nb\nc", "X\nb\nc\nY"), Some((0, 3)));
    }
}
