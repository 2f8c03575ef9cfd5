//! Edit history: the user's recent edits to one document, coalesced into events.
//!
//! Each event keeps the document text before and after it. Ropes share their structure, so a
//! snapshot costs a few pointer copies, and applying a keystroke stays O(log n). Consecutive edits
//! that are close in place and time join one event. The ring keeps the newest events; the text
//! before the oldest kept event is the "original" that the Sweep prompt format shows.

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

use ropey::Rope;
use similar::{ChangeTag, TextDiff};

use crate::text::document::AppliedChange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Edits within this many lines of the last event join it.
    pub coalesce_lines: usize,
    /// Edits within this time of the last event join it.
    pub coalesce_time: Duration,
    /// How many events each document keeps.
    pub capacity: usize,
    /// How long a diff may take before `similar` falls back to a coarser one.
    pub diff_timeout: Duration,
}

impl Default for HistoryConfig {
    fn default() -> HistoryConfig {
        HistoryConfig {
            coalesce_lines: 8,
            coalesce_time: Duration::from_secs(1),
            capacity: 16,
            diff_timeout: Duration::from_millis(20),
        }
    }
}

/// One coalesced edit: the text before and after, and the lines it touched in each.
#[derive(Debug, Clone)]
pub struct EditEvent {
    /// Increases across all documents, so events of several files can be ordered.
    pub sequence: u64,
    pub before: Rope,
    pub after: Rope,
    /// Touched lines of `before` (end exclusive).
    pub before_lines: Range<usize>,
    /// Touched lines of `after` (end exclusive).
    pub after_lines: Range<usize>,
    /// Byte range in `after` that the last edit of this event inserted.
    pub last_edit_bytes: Range<usize>,
    pub first_time: Instant,
    pub last_time: Instant,
}

impl EditEvent {
    /// The touched lines before the event, with their line breaks.
    pub fn old_text(&self) -> String {
        lines_text(&self.before, &self.before_lines)
    }

    /// The touched lines after the event, with their line breaks.
    pub fn new_text(&self) -> String {
        lines_text(&self.after, &self.after_lines)
    }

    /// The touched lines after the event with `context` lines around them.
    pub fn new_text_with_context(&self, context: usize) -> String {
        lines_text(&self.after, &widen(&self.after_lines, context, self.after.len_lines()))
    }

    pub fn is_noop(&self) -> bool {
        self.old_text() == self.new_text()
    }

    /// A unified diff of the event, with `context` lines around each hunk and line numbers that
    /// match the document (`@@ -a,b +c,d @@`). No file header.
    pub fn unified_diff(&self, context: usize, timeout: Duration) -> String {
        let window_before = widen(&self.before_lines, context, self.before.len_lines());
        let window_after_start =
            self.after_lines.start.saturating_sub(self.before_lines.start - window_before.start);
        let tail = window_before.end - self.before_lines.end;
        let window_after =
            window_after_start..(self.after_lines.end + tail).min(self.after.len_lines());
        let old = lines_text(&self.before, &window_before);
        let new = lines_text(&self.after, &window_after);
        render_unified_diff(&old, &new, window_before.start, window_after.start, context, timeout)
    }
}

fn widen(lines: &Range<usize>, context: usize, len_lines: usize) -> Range<usize> {
    lines.start.saturating_sub(context)..(lines.end + context).min(len_lines)
}

fn lines_text(rope: &Rope, lines: &Range<usize>) -> String {
    let len = rope.len_lines();
    let start = lines.start.min(len);
    let end = lines.end.min(len).max(start);
    let start_char = rope.line_to_char(start);
    let end_char = if end >= len { rope.len_chars() } else { rope.line_to_char(end) };
    rope.slice(start_char..end_char).to_string()
}

/// Renders a line diff of `old` and `new` as unified diff hunks. `old_first_line` and
/// `new_first_line` are the zero-based document lines where the two texts start.
pub fn render_unified_diff(
    old: &str,
    new: &str,
    old_first_line: usize,
    new_first_line: usize,
    context: usize,
    timeout: Duration,
) -> String {
    let diff = TextDiff::configure().timeout(timeout).diff_lines(old, new);
    let mut out = String::new();
    for group in diff.grouped_ops(context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            hunk_range(old_first_line + old_range.start, old_range.len()),
            hunk_range(new_first_line + new_range.start, new_range.len()),
        ));
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                out.push(sign);
                let value = change.value();
                out.push_str(value);
                if !value.ends_with('\n') {
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    out
}

/// `start,len` with one-based start, as unified diffs write it (an empty range names the line
/// before it).
fn hunk_range(zero_based_start: usize, len: usize) -> String {
    if len == 0 {
        format!("{},0", zero_based_start)
    } else {
        format!("{},{}", zero_based_start + 1, len)
    }
}

/// The bounded, coalescing event ring of one document.
#[derive(Debug, Clone)]
pub struct History {
    config: HistoryConfig,
    events: VecDeque<EditEvent>,
    /// The next edit starts a new event (set after an accepted suggestion).
    sealed: bool,
}

impl History {
    pub fn new(config: HistoryConfig) -> History {
        History { config, events: VecDeque::new(), sealed: false }
    }

    pub fn events(&self) -> impl DoubleEndedIterator<Item = &EditEvent> + ExactSizeIterator {
        self.events.iter()
    }

    pub fn last(&self) -> Option<&EditEvent> {
        self.events.back()
    }

    /// Ends the newest event: the next edit starts a new one, however close it is.
    pub fn seal(&mut self) {
        self.sealed = true;
    }

    /// The text before the oldest kept event, if there was any edit.
    pub fn original(&self) -> Option<&Rope> {
        self.events.front().map(|event| &event.before)
    }

    /// Records one applied change. `before` is the text before it, `after` the text after.
    pub fn record(
        &mut self,
        before: &Rope,
        after: &Rope,
        change: &AppliedChange,
        now: Instant,
        sequence: u64,
    ) {
        let edit_bytes = change.start_byte..change.new_end_byte;
        let sealed = std::mem::take(&mut self.sealed);
        if let Some(last) = self.events.back_mut().filter(|_| !sealed) {
            let close_in_time =
                now.saturating_duration_since(last.last_time) <= self.config.coalesce_time;
            let near =
                ranges_within(&last.after_lines, &change.old_lines, self.config.coalesce_lines);
            if close_in_time && near {
                let region = &last.after_lines;
                let delta = region.len() as isize - last.before_lines.len() as isize;
                // Grow the event to cover the change, in `before` and in `after` coordinates;
                // lines outside the event are the same in both, shifted by `delta` below it.
                let start = region.start.min(change.old_lines.start);
                let old_end = region.end.max(change.old_lines.end);
                let before_start = if change.old_lines.start < region.start {
                    change.old_lines.start
                } else {
                    last.before_lines.start
                };
                let before_end = if change.old_lines.end > region.end {
                    (change.old_lines.end as isize - delta).max(before_start as isize) as usize
                } else {
                    last.before_lines.end
                };
                let added = change.new_lines.len() as isize - change.old_lines.len() as isize;
                let new_end = (old_end as isize + added).max(start as isize + 1) as usize;
                last.before_lines = before_start..before_end.min(last.before.len_lines());
                last.after_lines = start..new_end.min(after.len_lines());
                last.after = after.clone();
                last.last_time = now;
                last.last_edit_bytes = edit_bytes;
                last.sequence = sequence;
                return;
            }
        }
        self.events.push_back(EditEvent {
            sequence,
            before: before.clone(),
            after: after.clone(),
            before_lines: change.old_lines.clone(),
            after_lines: change.new_lines.clone(),
            last_edit_bytes: edit_bytes,
            first_time: now,
            last_time: now,
        });
        while self.events.len() > self.config.capacity {
            self.events.pop_front();
        }
    }

    /// Renders the events, oldest first, as unified diffs.
    pub fn render(&self, path: &str) -> String {
        let mut out = String::new();
        for event in &self.events {
            out.push_str(&format!("--- a/{path}\n+++ b/{path}\n"));
            out.push_str(&event.unified_diff(3, self.config.diff_timeout));
        }
        out
    }
}

/// Whether two line ranges overlap or lie within `slack` lines of each other.
fn ranges_within(a: &Range<usize>, b: &Range<usize>, slack: usize) -> bool {
    b.start <= a.end.saturating_add(slack) && a.start <= b.end.saturating_add(slack)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use expect_test::{Expect, expect};

    use super::*;
    use crate::text::document::{Document, TextChange};
    use crate::text::position::{Position, PositionEncoding, PositionRange};

    /// Applies `(line, column, end_line, end_column, text, milliseconds since start)` changes and
    /// renders the history.
    fn check(text: &str, changes: &[(u32, u32, u32, u32, &str, u64)], expect: Expect) {
        let mut document = Document::new("file:///t.rs", "rust", 0, text);
        let mut history = History::new(HistoryConfig::default());
        let start = Instant::now();
        for (sequence, &(sl, sc, el, ec, new_text, ms)) in changes.iter().enumerate() {
            let before = document.rope().clone();
            let range = PositionRange::new(Position::new(sl, sc), Position::new(el, ec));
            let applied = document.apply_change(
                &TextChange { range: Some(range), text: new_text.into() },
                PositionEncoding::Utf32,
            );
            history.record(
                &before,
                document.rope(),
                &applied,
                start + Duration::from_millis(ms),
                sequence as u64,
            );
        }
        // A blank context line is a lone space; show it, since snapshots trim trailing spaces.
        let mut out: String = history
            .render("t.rs")
            .lines()
            .map(|line| if line == " " { " ⏎\n".to_owned() } else { format!("{line}\n") })
            .collect();
        out.push_str(&format!(
            "original == first before: {}\n",
            history.original().map(|r| r.to_string()) == Some(text.to_owned())
                || history.events().len() == 0
        ));
        expect.assert_eq(&out);
    }

    const TEXT: &str = "fn a() {\n    let x = 1;\n    let y = 2;\n}\n\nfn b() {}\n";

    #[test]
    fn typing_a_word_is_one_event() {
        check(
            TEXT,
            &[
                (1, 8, 1, 9, "", 0),
                (1, 8, 1, 8, "c", 100),
                (1, 9, 1, 9, "o", 200),
                (1, 10, 1, 10, "unt", 300),
            ],
            expect![[r#"
                --- a/t.rs
                +++ b/t.rs
                @@ -1,5 +1,5 @@
                 fn a() {
                -    let x = 1;
                +    let count = 1;
                     let y = 2;
                 }
                 ⏎
                original == first before: true
            "#]],
        );
    }

    #[test]
    fn edits_far_apart_in_time_or_place_are_separate_events() {
        let text: String = (0..30).map(|i| format!("line {i}\n")).collect();
        check(
            &text,
            &[(1, 0, 1, 4, "row", 0), (1, 0, 1, 3, "LINE", 5_000), (25, 0, 25, 4, "last", 5_100)],
            expect![[r#"
                --- a/t.rs
                +++ b/t.rs
                @@ -1,5 +1,5 @@
                 line 0
                -line 1
                +row 1
                 line 2
                 line 3
                 line 4
                --- a/t.rs
                +++ b/t.rs
                @@ -1,5 +1,5 @@
                 line 0
                -row 1
                +LINE 1
                 line 2
                 line 3
                 line 4
                --- a/t.rs
                +++ b/t.rs
                @@ -23,7 +23,7 @@
                 line 22
                 line 23
                 line 24
                -line 25
                +last 25
                 line 26
                 line 27
                 line 28
                original == first before: true
            "#]],
        );
    }

    #[test]
    fn nearby_multi_line_edits_coalesce() {
        check(
            TEXT,
            &[(1, 14, 1, 14, "\n    let z = 3;", 0), (3, 12, 3, 13, "20", 500)],
            expect![[r#"
                --- a/t.rs
                +++ b/t.rs
                @@ -1,6 +1,7 @@
                 fn a() {
                     let x = 1;
                -    let y = 2;
                +    let z = 3;
                +    let y = 20;
                 }
                 ⏎
                 fn b() {}
                original == first before: true
            "#]],
        );
    }

    #[test]
    fn a_sealed_history_starts_a_new_event() {
        let mut document = Document::new("file:///t.rs", "rust", 0, TEXT);
        let mut history = History::new(HistoryConfig::default());
        let now = Instant::now();
        for (sequence, (line, text)) in [(1u32, "a"), (2, "b")].into_iter().enumerate() {
            let before = document.rope().clone();
            let range = PositionRange::new(Position::new(line, 4), Position::new(line, 4));
            let applied = document.apply_change(
                &TextChange { range: Some(range), text: text.into() },
                PositionEncoding::Utf32,
            );
            history.record(&before, document.rope(), &applied, now, sequence as u64);
            history.seal();
        }
        assert_eq!(history.events().len(), 2);
    }

    #[test]
    fn ring_is_bounded_and_original_moves() {
        let mut document = Document::new("file:///t.rs", "rust", 0, "a\n");
        let mut history = History::new(HistoryConfig { capacity: 2, ..HistoryConfig::default() });
        let start = Instant::now();
        for i in 0..5u64 {
            let before = document.rope().clone();
            let applied = document.apply_change(
                &TextChange {
                    range: Some(PositionRange::new(Position::new(0, 0), Position::new(0, 1))),
                    text: i.to_string(),
                },
                PositionEncoding::Utf16,
            );
            history.record(
                &before,
                document.rope(),
                &applied,
                start + Duration::from_secs(10 * i),
                i,
            );
        }
        assert_eq!(history.events().len(), 2);
        assert_eq!(history.original().unwrap().to_string(), "2\n");
        assert_eq!(history.last().unwrap().new_text(), "4\n");
    }
}
