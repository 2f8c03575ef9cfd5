//! What a prediction sees: a snapshot of the document around the cursor, the editable region, and
//! the user's recent edits. Prompt formats turn this into a prompt; it holds no LSP types.

use std::ops::Range;

/// One recent edit, already rendered, oldest first in [`PredictionContext::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Path relative to the workspace root where known, else the file name.
    pub path: String,
    /// The touched lines before the edit (with line breaks).
    pub old_text: String,
    /// The touched lines after the edit (with line breaks).
    pub new_text: String,
    /// The edit as unified diff hunks (`@@ -a,b +c,d @@` lines and bodies, no file header).
    pub unified_diff: String,
}

/// A snippet of another file, shown to the model as context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedSnippet {
    pub path: String,
    pub text: String,
}

/// A document before its most recent edit, and the lines that edit touched, so a window of the
/// current text can be mapped to the same lines before the edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousText {
    pub text: String,
    /// The touched lines in `text` (end exclusive).
    pub before_lines: Range<usize>,
    /// The same lines in the current text.
    pub after_lines: Range<usize>,
}

impl PreviousText {
    /// The lines of `text` that hold what current lines `lines` held before the edit: lines above
    /// the edit stay, lines below shift by the lines it added or removed, and a window edge inside
    /// the edit moves to the edge of the edit.
    pub fn map_lines(&self, lines: Range<usize>) -> Range<usize> {
        let (before, after) = (&self.before_lines, &self.after_lines);
        let map = |line: usize, at_start: bool| {
            if line <= after.start {
                line
            } else if line >= after.end {
                line + before.end - after.end
            } else if at_start {
                before.start
            } else {
                before.end
            }
        };
        let start = map(lines.start, true);
        start..map(lines.end, false).max(start)
    }
}

/// Everything a prompt format needs. Byte offsets index into `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictionContext {
    pub path: String,
    /// The registry id of the language (`rust`, `python`, ...), if known.
    pub language: Option<String>,
    /// The whole current text of the document.
    pub text: String,
    /// The cursor, as a byte offset into `text`.
    pub cursor: usize,
    /// The region the model may rewrite: whole lines around the cursor.
    pub editable_region: Range<usize>,
    /// A larger window around the region shown as read-only context: whole lines.
    pub excerpt: Range<usize>,
    /// Recent edits, oldest first; the current file's events are included, as are other files'.
    pub events: Vec<HistoryEvent>,
    /// This document before its most recent edit (for Sweep's `original/` window), if any edit
    /// was made.
    pub previous: Option<PreviousText>,
    pub related: Vec<RelatedSnippet>,
}

impl PredictionContext {
    pub fn region_text(&self) -> &str {
        &self.text[self.editable_region.clone()]
    }

    pub fn excerpt_text(&self) -> &str {
        &self.text[self.excerpt.clone()]
    }
}

/// Context lines around each hunk of a history diff: Zeta's reference renders three.
pub const DIFF_CONTEXT_LINES: usize = 3;

/// Token budgets for a prediction context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextBudget {
    /// The editable region.
    pub region_tokens: usize,
    /// The excerpt, including the region.
    pub excerpt_tokens: usize,
    /// All history events together.
    pub history_tokens: usize,
    /// At most this many events.
    pub max_events: usize,
}

impl Default for ContextBudget {
    fn default() -> ContextBudget {
        ContextBudget {
            region_tokens: 160,
            excerpt_tokens: 480,
            history_tokens: 500,
            max_events: 6,
        }
    }
}

/// The cursor: the caller's, or else the end of the text the user's last edit inserted.
pub fn cursor_after_last_edit(snapshot: &crate::engine::documents::DocumentSnapshot) -> usize {
    let len = snapshot.rope.len_bytes();
    if let Some(cursor) = snapshot.cursor {
        return cursor.min(len);
    }
    snapshot.history.last().map_or(0, |event| event.last_edit_bytes.end.min(len))
}

/// Builds the context for a prediction at `cursor` in `snapshot`. `other_events` are recent edits
/// to other files (path, event), newest last.
pub fn build(
    snapshot: &crate::engine::documents::DocumentSnapshot,
    path: &str,
    cursor: usize,
    other_events: &[HistoryEvent],
    count_tokens: &dyn Fn(&str) -> usize,
    budget: ContextBudget,
) -> PredictionContext {
    let text = snapshot.rope.to_string();
    let cursor = crate::syntax::floor_char_boundary(&text, cursor);
    let editable_region = crate::syntax::grow_region(
        snapshot.tree.as_ref(),
        &text,
        cursor,
        count_tokens,
        budget.region_tokens,
    );
    let excerpt = grow_lines(&text, editable_region.clone(), count_tokens, budget.excerpt_tokens);

    // The current file's events, newest first until the budget is spent, then oldest first.
    let timeout = std::time::Duration::from_millis(20);
    let mut events: Vec<HistoryEvent> = Vec::new();
    let mut spent = 0;
    let own = snapshot.history.events().rev().filter(|event| !event.is_noop()).map(|event| {
        HistoryEvent {
            path: path.to_owned(),
            old_text: event.old_text(),
            new_text: event.new_text(),
            unified_diff: event.unified_diff(DIFF_CONTEXT_LINES, timeout),
        }
    });
    for event in own.chain(other_events.iter().rev().cloned()) {
        if events.len() >= budget.max_events {
            break;
        }
        let cost = count_tokens(&event.unified_diff);
        if spent + cost > budget.history_tokens {
            if events.is_empty() {
                // The newest event alone is over budget: skip it rather than show nothing newer.
                continue;
            }
            break;
        }
        spent += cost;
        events.push(event);
    }
    events.reverse();
    PredictionContext {
        path: path.to_owned(),
        language: snapshot.language.map(|language| language.id.clone()),
        text: text.clone(),
        cursor,
        editable_region,
        excerpt,
        events,
        previous: snapshot.history.last().map(|event| PreviousText {
            text: event.before.to_string(),
            before_lines: event.before_lines.clone(),
            after_lines: event.after_lines.clone(),
        }),
        related: Vec::new(),
    }
}

/// Widens `range` by whole lines, alternately above and below, while the budget allows.
fn grow_lines(
    text: &str,
    range: Range<usize>,
    count_tokens: &dyn Fn(&str) -> usize,
    max_tokens: usize,
) -> Range<usize> {
    let mut range = range;
    let mut used = count_tokens(&text[range.clone()]);
    let mut grow_up = true;
    let mut stuck = 0;
    while stuck < 2 {
        let candidate = if grow_up {
            (range.start > 0)
                .then(|| text[..range.start - 1].rfind('\n').map_or(0, |i| i + 1)..range.start)
        } else {
            (range.end < text.len()).then(|| {
                range.end..text[range.end..].find('\n').map_or(text.len(), |i| range.end + i + 1)
            })
        };
        grow_up = !grow_up;
        let Some(line) = candidate else {
            stuck += 1;
            continue;
        };
        let cost = count_tokens(&text[line.clone()]);
        if used + cost > max_tokens {
            stuck += 1;
            continue;
        }
        stuck = 0;
        used += cost;
        range = range.start.min(line.start)..range.end.max(line.end);
    }
    range
}

#[cfg(test)]
mod tests {
    use super::PreviousText;

    fn previous(
        before_lines: std::ops::Range<usize>,
        after_lines: std::ops::Range<usize>,
    ) -> PreviousText {
        PreviousText { text: String::new(), before_lines, after_lines }
    }

    #[test]
    fn windows_map_through_the_latest_edit() {
        // One line inserted at line 1: a window below it starts a line earlier before the edit.
        let inserted = previous(1..1, 1..2);
        assert_eq!(inserted.map_lines(15..30), 14..29);
        // A window that holds the insertion holds the lines around it before the edit.
        assert_eq!(inserted.map_lines(0..5), 0..4);
        // Two lines deleted at lines 5 and 6: the window before the edit shows them.
        let deleted = previous(5..7, 5..5);
        assert_eq!(deleted.map_lines(3..8), 3..10);
        assert_eq!(deleted.map_lines(0..5), 0..5);
        // A line changed in place maps to itself, and a window ending inside an edit that grew
        // from one line to three ends at the end of the old line.
        assert_eq!(previous(24..25, 24..25).map_lines(14..30), 14..30);
        assert_eq!(previous(10..11, 10..13).map_lines(0..12), 0..11);
        // Windows above the edit stay.
        assert_eq!(previous(20..21, 20..25).map_lines(0..10), 0..10);
    }
}
