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

pub use nextedit::engine::validate::is_reversal;
pub use nextedit::text::sequence::{changed_line_span, sequence_changes, sequence_similarity};

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
}
