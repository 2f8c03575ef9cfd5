//! The checks every proposal passes before the user sees it, whichever engine made it.

use std::ops::Range;

use tree_sitter::{InputEdit, Parser, Point, Tree};

use crate::syntax::count_errors_in_range;
use crate::text::sequence::{changed_line_span, sequence_changes};
use crate::text::{EditEvent, TextEdit};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The edits are out of range, overlap or are unsorted.
    Malformed,
    NoOp,
    RevertsLastEdit,
    DeletesUntouchedTrailingLines,
    DegenerateRepetition,
    NewSyntaxErrors,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed edits",
            Rejection::NoOp => "no change",
            Rejection::RevertsLastEdit => "reverts the last edit",
            Rejection::DeletesUntouchedTrailingLines => "deletes lines the user never touched",
            Rejection::DegenerateRepetition => "degenerate repetition",
            Rejection::NewSyntaxErrors => "adds syntax errors",
        }
    }
}

/// What the checks look at besides the edits.
pub struct CheckInput<'a> {
    pub text: &'a str,
    pub tree: Option<&'a Tree>,
    pub language: Option<&'static nextedit_grammars::LanguageInfo>,
    pub last_event: Option<&'a EditEvent>,
    /// The region a model rewrote, if the edits come from a region rewrite.
    pub region: Option<Range<usize>>,
}

/// Applies sorted, non-overlapping edits to `text`.
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    for edit in edits {
        if edit.range.start < position
            || edit.range.end < edit.range.start
            || edit.range.end > text.len()
        {
            return None;
        }
        out.push_str(text.get(position..edit.range.start)?);
        out.push_str(&edit.new_text);
        position = edit.range.end;
    }
    out.push_str(text.get(position..)?);
    Some(out)
}

pub fn check(input: &CheckInput<'_>, edits: &[TextEdit]) -> Result<(), Rejection> {
    let Some(new_text) = apply_edits(input.text, edits) else { return Err(Rejection::Malformed) };
    if edits.is_empty() || new_text == input.text {
        return Err(Rejection::NoOp);
    }
    if reverses_last_edit(input, &new_text) {
        return Err(Rejection::RevertsLastEdit);
    }
    if let Some(region) = &input.region
        && deletes_untouched_lines(input, edits, region)
    {
        return Err(Rejection::DeletesUntouchedTrailingLines);
    }
    if edits.iter().any(|edit| {
        is_degenerate(input.text.get(edit.range.clone()).unwrap_or_default(), &edit.new_text)
    }) || adds_doubled_lines(input.text, edits, &new_text)
    {
        return Err(Rejection::DegenerateRepetition);
    }
    if adds_syntax_errors(input, edits, &new_text) {
        return Err(Rejection::NewSyntaxErrors);
    }
    Ok(())
}

/// Whether the edits undo part of the last event ([`is_reversal`], with the event's text before it
/// as `previous`). Only the lines around the event and the edits are compared: outside them the
/// three texts agree, and the line diff of a whole large file would be slow.
fn reverses_last_edit(input: &CheckInput<'_>, new_text: &str) -> bool {
    let Some(event) = input.last_event else { return false };
    // The event is the newest, so the text is still what it left, unless it is out of date.
    if event.after.len_bytes() != input.text.len() {
        return false;
    }
    let previous = event.before.to_string();
    let [previous, before, predicted] = line_window([&previous, input.text, new_text], 3);
    is_reversal(previous, before, predicted)
}

/// The three texts without the whole lines they share at the start and at the end, keeping
/// `context` shared lines on each side.
fn line_window(texts: [&str; 3], context: usize) -> [&str; 3] {
    let [a, b, c] = texts;
    let (prefix_ab, suffix_ab) = crate::text::common_affixes(a, b);
    let (prefix_bc, suffix_bc) = crate::text::common_affixes(b, c);
    let prefix = prefix_ab.min(prefix_bc);
    let shortest = a.len().min(b.len()).min(c.len());
    let suffix = suffix_ab.min(suffix_bc).min(shortest - prefix);
    // Cut the shared head at a line start, `context` lines above the first changed line.
    let head = &b[..prefix];
    let head_starts: Vec<usize> =
        std::iter::once(0).chain(head.match_indices('\n').map(|(index, _)| index + 1)).collect();
    let cut_head = head_starts[head_starts.len().saturating_sub(context + 1)];
    // Cut the shared tail at a line start, `context` lines below the last changed line.
    let tail = &b[b.len() - suffix..];
    let tail_starts: Vec<usize> = tail.match_indices('\n').map(|(index, _)| index + 1).collect();
    let cut_tail = tail_starts.get(context).map_or(0, |start| tail.len() - start);
    [a, b, c].map(|text| &text[cut_head..text.len() - cut_tail])
}

/// Whether a prediction undoes part of the user's last edit. The last edit turned `previous` into
/// `before`; the prediction turns `before` into `predicted`. It is a reversal when the prediction
/// gives back `previous` exactly, when it deletes or rewrites text that the last edit typed (the
/// characters it inserted, compared line chunk by line chunk; characters that are not letters or
/// digits, such as a closing `}`, do not count), or when one of its changes touches the lines of
/// the last edit and there adds back a line that it deleted (lines compared trimmed; lines
/// without any letter or digit do not count). Finishing a line the user is typing, or changing
/// another part of a line they just changed, keeps what they typed and is not a reversal. Code
/// moved elsewhere by the next edit is not a reversal, because the change must be at the same
/// place.
///
/// This is the evaluation's reversal metric and the server's check, one definition for both.
pub fn is_reversal(previous: &str, before: &str, predicted: &str) -> bool {
    if predicted == previous && predicted != before {
        return true;
    }
    let Some((edit_start, edit_end)) = changed_line_span(before, previous) else { return false };
    // What the user typed, and what the prediction replaces, as byte ranges of `before`.
    let typed = changed_byte_ranges(previous, before);
    let replaced = changed_byte_ranges(predicted, before);
    let deletes_typed = typed.iter().any(|typed| {
        replaced.iter().any(|replaced| {
            let overlap = typed.start.max(replaced.start)..typed.end.min(replaced.end);
            !overlap.is_empty() && before[overlap].chars().any(char::is_alphanumeric)
        })
    });
    if deletes_typed {
        return true;
    }
    let removed_by_user = line_set_difference(previous, before);
    let before_lines: Vec<&str> = before.split('\n').collect();
    let predicted_lines: Vec<&str> = predicted.split('\n').collect();
    sequence_changes(&before_lines, &predicted_lines).into_iter().any(
        |(a_start, a_end, b_start, b_end)| {
            let touches = (a_start < edit_end && a_end > edit_start)
                || (a_start == a_end && edit_start <= a_start && a_start <= edit_end);
            touches
                && predicted_lines[b_start..b_end]
                    .iter()
                    .any(|line| is_significant(line) && removed_by_user.contains(line.trim()))
        },
    )
}

/// The byte ranges of `new` that differ from `old`: each changed chunk of lines, narrowed to the
/// characters that differ (an insertion into `new` is the inserted text; a deletion from it is
/// empty).
fn changed_byte_ranges(old: &str, new: &str) -> Vec<Range<usize>> {
    let old_lines: Vec<&str> = old.split('\n').collect();
    let new_lines: Vec<&str> = new.split('\n').collect();
    let mut starts = Vec::with_capacity(new_lines.len() + 1);
    let mut offset = 0;
    for line in &new_lines {
        starts.push(offset);
        offset += line.len() + 1;
    }
    starts.push(offset);
    let mut old_starts = Vec::with_capacity(old_lines.len() + 1);
    let mut old_offset = 0;
    for line in &old_lines {
        old_starts.push(old_offset);
        old_offset += line.len() + 1;
    }
    old_starts.push(old_offset);
    // A chunk of lines `start..end` of a text, without the line break after it.
    let chunk = |text: &'_ str, starts: &[usize], start: usize, end: usize| -> Range<usize> {
        let from = starts[start].min(text.len());
        let to = if end > start { (starts[end] - 1).min(text.len()) } else { from };
        from..to
    };
    sequence_changes(&old_lines, &new_lines)
        .into_iter()
        .map(|(a_start, a_end, b_start, b_end)| {
            let old_chunk = &old[chunk(old, &old_starts, a_start, a_end)];
            let new_range = chunk(new, &starts, b_start, b_end);
            let (prefix, suffix) = crate::text::common_affixes(old_chunk, &new[new_range.clone()]);
            new_range.start + prefix..new_range.end - suffix
        })
        .collect()
}

fn is_significant(line: &str) -> bool {
    line.chars().any(char::is_alphanumeric)
}

/// Trimmed significant lines that occur more often in `a` than in `b`.
fn line_set_difference<'a>(a: &'a str, b: &'a str) -> std::collections::HashSet<&'a str> {
    let mut counts: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for line in a.split('\n').filter(|line| is_significant(line)) {
        *counts.entry(line.trim()).or_default() += 1;
    }
    for line in b.split('\n').filter(|line| is_significant(line)) {
        *counts.entry(line.trim()).or_default() -= 1;
    }
    counts.into_iter().filter(|(_, count)| *count > 0).map(|(line, _)| line).collect()
}

/// Whether a region rewrite deletes whole non-blank lines that the user didn't just edit (a
/// model that stopped early, or one that dropped lines it should have copied).
fn deletes_untouched_lines(
    input: &CheckInput<'_>,
    edits: &[TextEdit],
    region: &Range<usize>,
) -> bool {
    edits.iter().any(|edit| {
        if edit.range.start < region.start || edit.range.end > region.end.max(region.start) {
            return false;
        }
        let removed = input.text.get(edit.range.clone()).unwrap_or_default();
        let removed_lines = removed.lines().filter(|line| !line.trim().is_empty()).count();
        let added_lines = edit.new_text.lines().filter(|line| !line.trim().is_empty()).count();
        if !removed.contains('\n') || removed_lines <= added_lines {
            return false;
        }
        // Lines that the last event touched may be removed.
        let touched = input.last_event.is_some_and(|event| {
            let rope = &event.after;
            if rope.len_bytes() != input.text.len() {
                return false;
            }
            let first = rope.byte_to_line(edit.range.start.min(rope.len_bytes()));
            let last = rope.byte_to_line(edit.range.end.min(rope.len_bytes()));
            event.after_lines.start <= first && last < event.after_lines.end.max(first + 1)
        });
        !touched
    })
}

/// Runaway output: a line repeated many times, or a short chunk repeated at the end.
fn is_degenerate(old: &str, new: &str) -> bool {
    let max_run = |text: &str| {
        let mut best = 0;
        let mut run = 0;
        let mut previous: Option<&str> = None;
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            if Some(line) == previous {
                run += 1;
            } else {
                run = 1;
                previous = Some(line);
            }
            best = best.max(run);
        }
        best
    };
    let new_run = max_run(new);
    if new_run >= 4 && new_run > max_run(old) {
        return true;
    }
    // A chunk of 1..=32 chars repeated at least 8 times at the end of the new text.
    let chars: Vec<char> = new.chars().collect();
    for period in 1..=32usize {
        let repeats = 8;
        if chars.len() < period * repeats {
            break;
        }
        let tail = &chars[chars.len() - period * repeats..];
        let chunk = &tail[..period];
        if chunk.iter().all(|c| c.is_whitespace()) {
            continue;
        }
        if tail.chunks(period).all(|piece| piece == chunk) {
            let chunk: String = chunk.iter().collect();
            if !old.contains(&chunk.repeat(repeats)) {
                return true;
            }
        }
    }
    false
}

/// Whether the edits leave more pairs of identical adjacent non-blank lines around the change than
/// there were: small models like to repeat the line they just copied.
fn adds_doubled_lines(text: &str, edits: &[TextEdit], new_text: &str) -> bool {
    let (Some(first), Some(last)) = (edits.first(), edits.last()) else { return false };
    let delta: isize =
        edits.iter().map(|edit| edit.new_text.len() as isize - edit.range.len() as isize).sum();
    let new_end = (last.range.end as isize + delta).max(first.range.start as isize) as usize;
    let doubled = |text: &str, span: Range<usize>| {
        // One line of context on each side.
        let start = text[..span.start].trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
        let end = text[span.end..].find('\n').map_or(text.len(), |i| span.end + i + 1);
        let lines: Vec<&str> = text[start..end].lines().map(str::trim).collect();
        lines.windows(2).filter(|pair| !pair[0].is_empty() && pair[0] == pair[1]).count()
    };
    doubled(new_text, line_span(new_text, first.range.start..new_end))
        > doubled(text, line_span(text, first.range.start..last.range.end))
}

/// Whether the edited text has more ERROR or MISSING nodes in the changed lines than before.
fn adds_syntax_errors(input: &CheckInput<'_>, edits: &[TextEdit], new_text: &str) -> bool {
    let (Some(tree), Some(language)) = (input.tree, input.language) else { return false };
    let Some(ts_language) = language.language() else { return false };
    let (Some(first), Some(last)) = (edits.first(), edits.last()) else { return false };
    let mut edited = tree.clone();
    // Later edits first, so each edit's coordinates are still those of the original text.
    for edit in edits.iter().rev() {
        edited.edit(&input_edit(input.text, edit));
    }
    let mut parser = Parser::new();
    if parser.set_language(&ts_language).is_err() {
        return false;
    }
    let Some(new_tree) = parser.parse(new_text, Some(&edited)) else { return false };
    let delta: isize =
        edits.iter().map(|edit| edit.new_text.len() as isize - edit.range.len() as isize).sum();
    let old_range = line_span(input.text, first.range.start..last.range.end);
    let new_end = (last.range.end as isize + delta).max(first.range.start as isize) as usize;
    let new_range = line_span(new_text, first.range.start..new_end);
    count_errors_in_range(&new_tree, new_range) > count_errors_in_range(tree, old_range)
}

/// Widens a byte range to whole lines.
fn line_span(text: &str, range: Range<usize>) -> Range<usize> {
    let start = text[..range.start.min(text.len())].rfind('\n').map_or(0, |index| index + 1);
    let end = text[range.end.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |index| range.end + index + 1);
    start..end
}

fn point_at(text: &str, byte: usize) -> Point {
    let before = &text[..byte];
    let row = before.matches('\n').count();
    let column = before.rfind('\n').map_or(byte, |index| byte - index - 1);
    Point { row, column }
}

fn input_edit(text: &str, edit: &TextEdit) -> InputEdit {
    let start_position = point_at(text, edit.range.start);
    let old_end_position = point_at(text, edit.range.end);
    let new_lines = edit.new_text.matches('\n').count();
    let new_end_position = match edit.new_text.rfind('\n') {
        Some(index) => {
            Point { row: start_position.row + new_lines, column: edit.new_text.len() - index - 1 }
        }
        None => {
            Point { row: start_position.row, column: start_position.column + edit.new_text.len() }
        }
    };
    InputEdit {
        start_byte: edit.range.start,
        old_end_byte: edit.range.end,
        new_end_byte: edit.range.start + edit.new_text.len(),
        start_position,
        old_end_position,
        new_end_position,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ropey::Rope;

    use super::*;
    use crate::text::{
        Document, History, HistoryConfig, Position, PositionEncoding, PositionRange, TextChange,
    };

    fn rust() -> &'static nextedit_grammars::LanguageInfo {
        nextedit_grammars::by_id("rust").expect("rust grammar")
    }

    /// Makes a document from `before`, applies one user change, and returns the text and history.
    fn after_user_edit(before: &str, change: (u32, u32, u32, u32, &str)) -> (String, History) {
        let mut document = Document::new("file:///t.rs", "rust", 0, before);
        let mut history = History::new(HistoryConfig::default());
        let old = document.rope().clone();
        let (sl, sc, el, ec, text) = change;
        let applied = document.apply_change(
            &TextChange {
                range: Some(PositionRange::new(Position::new(sl, sc), Position::new(el, ec))),
                text: text.into(),
            },
            PositionEncoding::Utf32,
        );
        history.record(&old, document.rope(), &applied, Instant::now(), 1);
        (document.text(), history)
    }

    fn check_edits(
        text: &str,
        history: &History,
        region: Option<Range<usize>>,
        edits: &[TextEdit],
    ) -> Result<(), Rejection> {
        let tree = crate::syntax::parse_str(rust(), text);
        let input = CheckInput {
            text,
            tree: tree.as_ref(),
            language: Some(rust()),
            last_event: history.last(),
            region,
        };
        check(&input, edits)
    }

    const BEFORE: &str =
        "fn f(count: u32) -> u32 {\n    let a = count + 1;\n    let b = count * 2;\n    a + b\n}\n";

    #[test]
    fn accepts_a_plausible_edit() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        let at = text.find("count + 1").unwrap();
        assert_eq!(
            check_edits(&text, &history, None, &[TextEdit::new(at..at + 5, "total")]),
            Ok(())
        );
    }

    #[test]
    fn rejects_no_op() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        let at = text.find("count + 1").unwrap();
        assert_eq!(
            check_edits(&text, &history, None, &[TextEdit::new(at..at + 5, "count")]),
            Err(Rejection::NoOp)
        );
        assert_eq!(check_edits(&text, &history, None, &[]), Err(Rejection::NoOp));
    }

    #[test]
    fn rejects_reverting_the_last_edit() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        assert_eq!(
            check_edits(&text, &history, None, &[TextEdit::new(5..10, "count")]),
            Err(Rejection::RevertsLastEdit)
        );
    }

    #[test]
    fn rejects_partly_reverting_the_last_edit() {
        // The user added a line; a proposal that deletes it again is a reversal.
        let (text, history) = after_user_edit(BEFORE, (1, 22, 1, 22, "\n    let c = a;"));
        let line = text.find("    let c").unwrap();
        let edits = [TextEdit::new(line..line + "    let c = a;\n".len(), "")];
        assert_eq!(check_edits(&text, &history, None, &edits), Err(Rejection::RevertsLastEdit));
        // Changing something else on a line next to it is not.
        let at = text.find("count * 2").unwrap();
        assert_eq!(check_edits(&text, &history, None, &[TextEdit::new(at..at + 5, "c")]), Ok(()));
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

    #[test]
    fn finishing_or_extending_the_line_being_typed_is_not_a_reversal() {
        // The user is typing `let total = compute` on a new line.
        let previous = "fn f() {\n    let a = 1;\n}\n";
        let before = "fn f() {\n    let a = 1;\n    let total = compute\n}\n";
        let finished = "fn f() {\n    let a = 1;\n    let total = compute(a);\n}\n";
        assert!(!is_reversal(previous, before, finished));
        // Rewriting what they typed is.
        let rewritten = "fn f() {\n    let a = 1;\n    let total = sum(a);\n}\n";
        assert!(is_reversal(previous, before, rewritten));
        // They added `, true` to a call; renaming the binding on that line keeps it.
        let previous = "    let a = compute(1, 2);\n    let b = compute(3, 4);\n";
        let before = "    let a = compute(1, 2, true);\n    let b = compute(3, 4);\n";
        let renamed = "    let d = compute(1, 2, true);\n    let b = compute(3, 4);\n";
        assert!(!is_reversal(previous, before, renamed));
        let dropped = "    let a = compute(1, 2, false);\n    let b = compute(3, 4);\n";
        assert!(is_reversal(previous, before, dropped));
    }

    #[test]
    fn the_line_window_keeps_the_changed_lines_and_their_context() {
        let lines = |range: std::ops::Range<usize>| -> String {
            range.map(|index| format!("line {index}\n")).collect()
        };
        let b = lines(0..20);
        let a = b.replace("line 9\n", "old 9\n");
        let c = b.replace("line 11\n", "new 11\n");
        let [wa, wb, wc] = line_window([&a, &b, &c], 2);
        assert_eq!(wb, lines(7..14));
        assert_eq!(wa, wb.replace("line 9\n", "old 9\n"));
        assert_eq!(wc, wb.replace("line 11\n", "new 11\n"));
        // The reversal verdict is the same on the window as on the whole texts.
        let undo = b.replace("line 9\n", "old 9\n");
        assert!(is_reversal(&a, &b, &undo));
        let [wa, wb, wundo] = line_window([&a, &b, &undo], 3);
        assert!(is_reversal(wa, wb, wundo));
        // Identical texts and texts without line breaks stay whole.
        assert_eq!(line_window(["x", "x", "x"], 3), ["x", "x", "x"]);
        assert_eq!(line_window(["ab", "ac", "ad"], 3), ["ab", "ac", "ad"]);
    }

    #[test]
    fn rejects_deleting_untouched_trailing_lines() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        let region = 0..text.len();
        let start = text.find("    let b").unwrap();
        let edits = [TextEdit::new(start..text.len(), "")];
        assert_eq!(
            check_edits(&text, &history, Some(region.clone()), &edits),
            Err(Rejection::DeletesUntouchedTrailingLines)
        );
        // A line in the middle, too.
        let line = text.find("    let a").unwrap()..text.find("    let b").unwrap();
        let edits = [TextEdit::new(line, "")];
        assert_eq!(
            check_edits(&text, &history, Some(region.clone()), &edits),
            Err(Rejection::DeletesUntouchedTrailingLines)
        );
        let _ = region;
    }

    #[test]
    fn rejects_degenerate_repetition() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        let at = text.find("    a + b").unwrap();
        let spam = "    a + b;\n".repeat(5);
        assert_eq!(
            check_edits(&text, &history, None, &[TextEdit::new(at..at, spam)]),
            Err(Rejection::DegenerateRepetition)
        );
        let line = text.find("    let b").unwrap();
        assert_eq!(
            check_edits(
                &text,
                &history,
                None,
                &[TextEdit::new(line..line, "    let b = count * 2;\n")]
            ),
            Err(Rejection::DegenerateRepetition)
        );
        let at = text.find("count + 1").unwrap();
        assert_eq!(
            check_edits(
                &text,
                &history,
                None,
                &[TextEdit::new(at..at + 5, "total))))))))))))))))")]
            ),
            Err(Rejection::DegenerateRepetition)
        );
    }

    #[test]
    fn rejects_new_syntax_errors_but_not_old_ones() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        let at = text.find("count + 1").unwrap();
        assert_eq!(
            check_edits(&text, &history, None, &[TextEdit::new(at..at + 5, "total (")]),
            Err(Rejection::NewSyntaxErrors)
        );
        // A file that is already broken elsewhere still accepts a clean edit.
        let broken = format!("{text}fn g( {{\n");
        let at = broken.find("count + 1").unwrap();
        assert_eq!(
            check_edits(&broken, &history, None, &[TextEdit::new(at..at + 5, "total")]),
            Ok(())
        );
        let _ = Rope::new();
    }

    #[test]
    fn rejects_malformed_edits() {
        let (text, history) = after_user_edit(BEFORE, (0, 5, 0, 10, "total"));
        let edits = [TextEdit::new(10..12, "x"), TextEdit::new(5..6, "y")];
        assert_eq!(check_edits(&text, &history, None, &edits), Err(Rejection::Malformed));
        assert_eq!(
            check_edits(&text, &history, None, &[TextEdit::new(0..100_000, "")]),
            Err(Rejection::Malformed)
        );
    }
}
