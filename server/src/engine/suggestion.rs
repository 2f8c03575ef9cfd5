//! What engines propose and what the server offers.

use ropey::Rope;

use crate::text::TextEdit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionSource {
    Model,
    Rename,
    Repeat,
}

impl SuggestionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionSource::Model => "model",
            SuggestionSource::Rename => "rename",
            SuggestionSource::Repeat => "repeat",
        }
    }
}

/// A candidate next edit from one engine, against one document snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Non-overlapping byte-range edits of the snapshot text, sorted by start.
    pub edits: Vec<TextEdit>,
    pub source: SuggestionSource,
    /// Confidence from 0 to 1.
    pub score: f32,
    /// For a rename: every remaining occurrence, so that one action can apply all of them.
    pub group: Vec<TextEdit>,
}

/// A proposal that passed the checks, tagged for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub id: u64,
    pub uri: String,
    pub version: i32,
    pub proposal: Proposal,
}

impl Suggestion {
    pub fn edits(&self) -> &[TextEdit] {
        &self.proposal.edits
    }
}

/// Shrinks each edit to the part that changes: the common prefix and suffix of the replaced text
/// and the new text are left out. A whole-line rewrite that appends `, x` becomes an insertion.
pub fn minimize_edits(text: &str, edits: &[TextEdit]) -> Vec<TextEdit> {
    let is_word = |c: Option<char>| c.is_some_and(crate::text::words::is_word_char);
    edits
        .iter()
        .filter_map(|edit| {
            let old = text.get(edit.range.clone())?;
            let new = edit.new_text.as_str();
            let (mut prefix, _) = crate::text::common_affixes(old, new);
            // Never split a word: `count` -> `amount` stays whole, not `c` -> `am`.
            while prefix > 0
                && is_word(old[..prefix].chars().next_back())
                && (is_word(old[prefix..].chars().next()) || is_word(new[prefix..].chars().next()))
            {
                prefix -= old[..prefix].chars().next_back().map_or(1, char::len_utf8);
            }
            // The suffix of what follows the (word-aligned) prefix.
            let (_, mut suffix) = crate::text::common_affixes(&old[prefix..], &new[prefix..]);
            while suffix > 0
                && is_word(old[old.len() - suffix..].chars().next())
                && (is_word(old[..old.len() - suffix].chars().next_back())
                    || is_word(new[..new.len() - suffix].chars().next_back()))
            {
                suffix -= old[old.len() - suffix..].chars().next().map_or(1, char::len_utf8);
            }
            Some(TextEdit::new(
                edit.range.start + prefix..edit.range.end - suffix,
                &new[prefix..new.len() - suffix],
            ))
        })
        .filter(|edit| !(edit.range.is_empty() && edit.new_text.is_empty()))
        .collect()
}

/// One edit that does what all of `edits` (sorted, non-overlapping byte ranges of `rope`) do: from
/// the first one's start to the last one's end, the text between them taken from the document.
/// For clients that apply only the first edit of an answer. `None` without edits, or when one does
/// not fit the document.
pub fn spanning_edit(rope: &Rope, edits: &[TextEdit]) -> Option<TextEdit> {
    let (first, last) = (edits.first()?, edits.last()?);
    let mut text = String::new();
    let mut at = first.range.start;
    for edit in edits {
        if edit.range.start < at {
            return None;
        }
        text.extend(rope.get_byte_slice(at..edit.range.start)?.chunks());
        text.push_str(&edit.new_text);
        at = edit.range.end;
    }
    rope.get_byte_slice(first.range.start..last.range.end)?;
    Some(TextEdit::new(first.range.start..last.range.end, &text))
}

/// A stable key for "the same suggestion", used to remember rejections across versions.
pub fn fingerprint(text: &str, edits: &[TextEdit]) -> String {
    let mut key = String::new();
    for edit in edits {
        let start = edit.range.start.min(text.len());
        let end = edit.range.end.min(text.len()).max(start);
        // The replaced text and the replacement identify the suggestion; positions shift as the
        // user types elsewhere.
        key.push_str(text.get(start..end).unwrap_or_default());
        key.push('\u{0}');
        key.push_str(&edit.new_text);
        key.push('\u{1}');
    }
    key
}

/// A one-line summary of the edits for titles and diagnostics.
pub fn summarize(text: &str, edits: &[TextEdit]) -> String {
    let Some(first) = edits.first() else { return "no change".to_owned() };
    let old = text.get(first.range.clone()).unwrap_or_default();
    let one_line = |s: &str| {
        let collapsed: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.chars().count() > 60 {
            format!("{}…", collapsed.chars().take(60).collect::<String>())
        } else {
            collapsed
        }
    };
    let summary = match (old.trim().is_empty(), first.new_text.trim().is_empty()) {
        (true, false) => format!("insert `{}`", one_line(&first.new_text)),
        (false, true) => format!("delete `{}`", one_line(old)),
        (true, true) => "change whitespace".to_owned(),
        (false, false) => format!("`{}` → `{}`", one_line(old), one_line(&first.new_text)),
    };
    if edits.len() > 1 { format!("{summary} (+{} more)", edits.len() - 1) } else { summary }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimized_edits_keep_only_the_change() {
        let text = "    run(5, 6)\n";
        let edits = minimize_edits(text, &[TextEdit::new(0..13, "    run(5, 6, timeout=5)")]);
        assert_eq!(edits, vec![TextEdit::new(12..12, ", timeout=5")]);
        let edits = minimize_edits("a😀b", &[TextEdit::new(0..6, "a😁b")]);
        assert_eq!(edits, vec![TextEdit::new(1..5, "😁")]);
        assert_eq!(minimize_edits("same", &[TextEdit::new(0..4, "same")]), vec![]);
        // Words stay whole.
        assert_eq!(
            minimize_edits("x = count;", &[TextEdit::new(0..10, "x = amount;")]),
            vec![TextEdit::new(4..9, "amount")]
        );
        assert_eq!(
            minimize_edits("get_item()", &[TextEdit::new(0..10, "get_items()")]),
            vec![TextEdit::new(0..8, "get_items")]
        );
    }

    #[test]
    fn a_spanning_edit_does_what_the_edits_do() {
        let rope = Rope::from_str("a = count + count\nb = 1\n");
        let edits = [TextEdit::new(4..9, "total"), TextEdit::new(12..17, "total")];
        assert_eq!(spanning_edit(&rope, &edits), Some(TextEdit::new(4..17, "total + total")));
        // Across lines, with non-ASCII text between the edits.
        let rope = Rope::from_str("é x\nü x\n");
        let edits = [TextEdit::new(3..4, "y"), TextEdit::new(8..9, "z")];
        assert_eq!(spanning_edit(&rope, &edits), Some(TextEdit::new(3..9, "y\nü z")));
        assert_eq!(spanning_edit(&rope, &[]), None);
        // Overlapping or out of the document: none.
        assert_eq!(spanning_edit(&rope, &[TextEdit::new(0..3, ""), TextEdit::new(2..3, "")]), None);
        assert_eq!(spanning_edit(&rope, &[TextEdit::new(9..99, "")]), None);
    }

    #[test]
    fn summaries() {
        let text = "let count = 1;";
        assert_eq!(summarize(text, &[TextEdit::new(4..9, "total")]), "`count` → `total`");
        assert_eq!(summarize(text, &[TextEdit::new(13..13, "\n    foo();")]), "insert `foo();`");
        assert_eq!(summarize(text, &[TextEdit::new(0..4, "")]), "delete `let`");
        assert_eq!(
            summarize(text, &[TextEdit::new(4..9, "a"), TextEdit::new(12..13, "2")]),
            "`count` → `a` (+1 more)"
        );
    }
}
