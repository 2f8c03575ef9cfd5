//! Per-case metrics, defined exactly as the reference scorer (`shared/eval/score.py`) defines
//! them, so that both give the same numbers on the same predictions:
//!
//! - exact: the predicted text equals an expected text;
//! - exact_ws: equal once whitespace runs are collapsed and the ends trimmed;
//! - delta_chrf: a character n-gram F-score (n = 1..6, beta = 2) between the change from the
//!   original to the expected text and the change from the original to the predicted text,
//!   with deletions counted as negated n-grams and whitespace runs collapsed; 100 when all three
//!   texts are equal;
//! - loc_hit: the first changed line of the prediction lies in the line span that the expected
//!   edit changes, with line spans taken from a longest-matching-block line diff (the algorithm of
//!   Python's `difflib.SequenceMatcher` without junk heuristics).
//!
//! Each metric is the best over the expected text and the case's alternative texts.

use std::collections::HashMap;

const ORDER: usize = 6;
const BETA: f64 = 2.0;

/// Python's `str.isspace`: Unicode white space plus the four ASCII information separators.
pub fn is_python_space(character: char) -> bool {
    character.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&character)
}

/// Collapses runs of whitespace other than newlines into one space and runs of newlines into one
/// newline.
fn collapse_whitespace(text: &str) -> Vec<char> {
    #[derive(PartialEq)]
    enum Last {
        Space,
        Newline,
        Other,
    }
    let mut out = Vec::with_capacity(text.len());
    let mut last = Last::Other;
    for character in text.chars() {
        if character == '\n' {
            if last != Last::Newline {
                out.push('\n');
                last = Last::Newline;
            }
        } else if is_python_space(character) {
            if last != Last::Space {
                out.push(' ');
                last = Last::Space;
            }
        } else {
            out.push(character);
            last = Last::Other;
        }
    }
    out
}

/// The changed middle of `a` and `b` (after their common prefix and suffix), widened by
/// `ORDER - 1` characters of context on each side; both empty when the texts are equal.
fn changed_region<'a>(a: &'a [char], b: &'a [char]) -> (&'a [char], &'a [char]) {
    let shorter = a.len().min(b.len());
    let mut prefix = 0;
    while prefix < shorter && a[prefix] == b[prefix] {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < shorter - prefix && a[a.len() - 1 - suffix] == b[b.len() - 1 - suffix] {
        suffix += 1;
    }
    if prefix >= a.len() - suffix && prefix >= b.len() - suffix {
        return (&[], &[]);
    }
    let context = ORDER - 1;
    let widen = |text: &'a [char]| {
        let start = prefix.saturating_sub(context);
        let end = (text.len() - suffix + context).min(text.len());
        &text[start..end.max(start)]
    };
    (widen(a), widen(b))
}

/// An n-gram with its sign: deletions are negated n-grams.
type SignedGram<'a> = (bool, &'a [char]);

fn delta_counts<'a>(
    before: &'a [char],
    after: &'a [char],
    n: usize,
) -> HashMap<SignedGram<'a>, i64> {
    let mut difference: HashMap<&'a [char], i64> = HashMap::new();
    if after.len() >= n {
        for gram in after.windows(n) {
            *difference.entry(gram).or_default() += 1;
        }
    }
    if before.len() >= n {
        for gram in before.windows(n) {
            *difference.entry(gram).or_default() -= 1;
        }
    }
    let mut out = HashMap::new();
    for (gram, count) in difference {
        if count > 0 {
            out.insert((true, gram), count);
        } else if count < 0 {
            out.insert((false, gram), -count);
        }
    }
    out
}

/// Delta-chrF in [0, 100].
pub fn delta_chrf(original: &str, expected: &str, actual: &str) -> f64 {
    if original == expected && expected == actual {
        return 100.0;
    }
    let original = collapse_whitespace(original);
    let expected = collapse_whitespace(expected);
    let actual = collapse_whitespace(actual);
    let (original_for_expected, expected_region) = changed_region(&original, &expected);
    let (original_for_actual, actual_region) = changed_region(&original, &actual);
    let mut precision_sum = 0.0;
    let mut recall_sum = 0.0;
    for n in 1..=ORDER {
        let expected_delta = delta_counts(original_for_expected, expected_region, n);
        let actual_delta = delta_counts(original_for_actual, actual_region, n);
        if expected_delta.is_empty() && actual_delta.is_empty() {
            precision_sum += 1.0;
            recall_sum += 1.0;
            continue;
        }
        let true_positives: i64 = expected_delta
            .iter()
            .map(|(gram, count)| (*count).min(actual_delta.get(gram).copied().unwrap_or(0)))
            .sum();
        let false_positives = actual_delta.values().sum::<i64>() - true_positives;
        let false_negatives = expected_delta.values().sum::<i64>() - true_positives;
        if true_positives + false_positives != 0 {
            precision_sum += true_positives as f64 / (true_positives + false_positives) as f64;
        }
        if true_positives + false_negatives != 0 {
            recall_sum += true_positives as f64 / (true_positives + false_negatives) as f64;
        }
    }
    let precision = precision_sum / ORDER as f64;
    let recall = recall_sum / ORDER as f64;
    if precision + recall == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + BETA * BETA) * precision * recall / (BETA * BETA * precision + recall)
}

/// The non-whitespace words of a text, as Python's `str.split()` gives them.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_python_space).filter(|word| !word.is_empty())
}

pub fn exact_ignoring_whitespace(a: &str, b: &str) -> bool {
    words(a).eq(words(b))
}

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
/// Kept instead of `similar` (which the engine's diffs use) on purpose: the scores must equal the
/// reference scorer's bit for bit, and another diff algorithm finds other, equally minimal,
/// blocks, which moves `loc_hit` and the token categories of `nextedit mine`.
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

/// The four reference metrics of one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CaseScores {
    pub exact: f64,
    pub exact_ws: f64,
    pub delta_chrf: f64,
    pub loc_hit: f64,
}

/// Scores `predicted` against every acceptable text (`expected[0]` is `expected_after`).
pub fn score_case(before: &str, expected: &[String], predicted: &str) -> CaseScores {
    let exact = expected.iter().any(|text| text == predicted);
    let exact_ws = expected.iter().any(|text| exact_ignoring_whitespace(text, predicted));
    let delta_chrf = expected
        .iter()
        .map(|text| delta_chrf(before, text, predicted))
        .fold(f64::NEG_INFINITY, f64::max);
    let predicted_span = changed_line_span(before, predicted);
    let mut loc_hit = false;
    if let Some((predicted_start, _)) = predicted_span {
        for text in expected {
            if let Some((start, end)) = changed_line_span(before, text)
                && start <= predicted_start
                && predicted_start < end.max(start + 1)
            {
                loc_hit = true;
            }
        }
    }
    CaseScores {
        exact: f64::from(u8::from(exact)),
        exact_ws: f64::from(u8::from(exact_ws)),
        delta_chrf,
        loc_hit: f64::from(u8::from(loc_hit)),
    }
}

/// Whether a prediction undoes part of the user's last edit. The last edit turned `previous` into
/// `before`; the prediction turns `before` into `predicted`. It is a reversal when the prediction
/// gives back `previous` exactly, or when one of its changes touches the lines of the last edit
/// and there deletes a line that the last edit added or adds back a line that it deleted (lines
/// compared trimmed; lines without any letter or digit, such as `}`, do not count). Code moved
/// elsewhere by the next edit is not a reversal, because the change must be at the same place.
pub fn is_reversal(previous: &str, before: &str, predicted: &str) -> bool {
    if predicted == previous && predicted != before {
        return true;
    }
    let Some((edit_start, edit_end)) = changed_line_span(before, previous) else { return false };
    let added_by_user = line_set_difference(before, previous);
    let removed_by_user = line_set_difference(previous, before);
    let before_lines: Vec<&str> = before.split('\n').collect();
    let predicted_lines: Vec<&str> = predicted.split('\n').collect();
    for change in SequenceMatcher::new(&before_lines, &predicted_lines).changes() {
        let touches = (change.a_start < edit_end && change.a_end > edit_start)
            || (change.a_start == change.a_end
                && edit_start <= change.a_start
                && change.a_start <= edit_end);
        if !touches {
            continue;
        }
        let deletes_added = before_lines[change.a_start..change.a_end]
            .iter()
            .any(|line| is_significant(line) && added_by_user.contains(line.trim()));
        let restores_removed = predicted_lines[change.b_start..change.b_end]
            .iter()
            .any(|line| is_significant(line) && removed_by_user.contains(line.trim()));
        if deletes_added || restores_removed {
            return true;
        }
    }
    false
}

fn is_significant(line: &str) -> bool {
    line.chars().any(char::is_alphanumeric)
}

/// Trimmed significant lines that occur more often in `a` than in `b`.
fn line_set_difference<'a>(a: &'a str, b: &'a str) -> std::collections::HashSet<&'a str> {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for line in a.split('\n').filter(|line| is_significant(line)) {
        *counts.entry(line.trim()).or_default() += 1;
    }
    for line in b.split('\n').filter(|line| is_significant(line)) {
        *counts.entry(line.trim()).or_default() -= 1;
    }
    counts.into_iter().filter(|(_, count)| *count > 0).map(|(line, _)| line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_chrf_extremes() {
        assert_eq!(delta_chrf("a", "a", "a"), 100.0);
        assert_eq!(delta_chrf("let x = 1;", "let x = 2;", "let x = 2;"), 100.0);
        assert_eq!(delta_chrf("let x = 1;", "let x = 2;", "let x = 1;"), 0.0);
    }

    #[test]
    fn whitespace_insensitive_equality() {
        assert!(exact_ignoring_whitespace(" a  b\n\tc ", "a b c"));
        assert!(exact_ignoring_whitespace("a\u{1f}b", "a b"));
        assert!(!exact_ignoring_whitespace("ab", "a b"));
    }

    #[test]
    fn line_spans() {
        assert_eq!(changed_line_span("a\nb\nc", "a\nb\nc"), None);
        assert_eq!(changed_line_span("a\nb\nc", "a\nB\nc"), Some((1, 2)));
        assert_eq!(changed_line_span("a\nb\nc", "a\nb\nx\nc"), Some((2, 3)));
        assert_eq!(changed_line_span("a\nb\nc", "X\nb\nc\nY"), Some((0, 3)));
    }

    #[test]
    fn reversals() {
        let previous = "fn a() {\n    one();\n}\n\nfn b() {\n    two();\n}\n";
        // The user changed `one()` into `three()`.
        let before = "fn a() {\n    three();\n}\n\nfn b() {\n    two();\n}\n";
        assert!(is_reversal(previous, before, previous));
        assert!(is_reversal(
            previous,
            before,
            "fn a() {\n    one();\n    three();\n}\n\nfn b() {\n    two();\n}\n"
        ));
        assert!(is_reversal(previous, before, "fn a() {\n}\n\nfn b() {\n    two();\n}\n"));
        // Changing code elsewhere, or the same line in another place, is not.
        assert!(!is_reversal(
            previous,
            before,
            "fn a() {\n    three();\n}\n\nfn b() {\n    three();\n}\n"
        ));
        assert!(!is_reversal(
            previous,
            before,
            "fn a() {\n    three();\n}\n\nfn b() {\n    two();\n    one();\n}\n"
        ));
        // A blank line that was added and is removed again is a reversal only as a full undo.
        assert!(is_reversal("a\nb\n", "a\n\nb\n", "a\nb\n"));
    }
}
