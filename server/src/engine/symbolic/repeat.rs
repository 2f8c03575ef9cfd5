//! Repeated edits: the user's last edit, generalised, applied at the nearest other place where
//! it fits.
//!
//! The last event is split into line blocks (old lines -> new lines). Each block yields
//! candidates in three ways, from the most to the least literal:
//!
//! - **same lines**: the block's old lines occur elsewhere (up to indentation); they become the
//!   new lines there;
//! - **same place**: a pure insertion of lines between two lines that occur together elsewhere;
//!   the lines are inserted there too;
//! - **similar line**: a one-line change seen twice (in the last event, or in the last two),
//!   as token hunks; another line with the same token shape gets the same hunks. Tokens where
//!   the two examples agree must be there literally; names where they differ may vary, renamed
//!   consistently, and the inserted text follows the renaming. One example says nothing about
//!   what may vary, so it is never generalised.
//!
//! Lines or anchors that occur in many places are boilerplate and yield nothing, and an insertion
//! is not repeated where its text already is nearby.
//!
//! An event that changed several places (not counting blank lines) is one change made of parts:
//! it is repeated whole where all its parts fit, at the same distances, and never in part.
//!
//! The nearest candidate of the best kind wins, unless a place where the event before the last
//! one repeats is nearer: the user works through the places in order. Candidates that overlap
//! the user's own edits are skipped; syntax errors are checked later, by the engine, on every
//! proposal.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::Range;

use similar::{ChangeTag, TextDiff};

use super::{Input, Token, TokenKind, diff_tokens, is_identifier_like, is_word_char, tokenize};
use crate::engine::suggestion::{Proposal, SuggestionSource};
use crate::text::TextEdit;

/// Events with more line blocks than this are reformatting or bulk edits, not a pattern.
const MAX_BLOCKS: usize = 4;
/// Blocks with more old or new lines than this are not repeated.
const MAX_BLOCK_LINES: usize = 12;
/// How far from the cursor, in lines, similar lines are looked for.
const SIMILAR_LINE_WINDOW: usize = 600;
/// Lines to repeat must hold at least this many non-whitespace characters in all, so that a
/// lone `}` or `)` never matches.
const MIN_LINES_WEIGHT: usize = 12;
/// Two anchor lines of an insertion must hold at least this many non-whitespace characters.
const MIN_ANCHOR_WEIGHT: usize = 16;

/// Lines or anchors found in more places than this are boilerplate, not a pattern.
const MAX_MATCHES: usize = 4;
/// How close an existing copy of inserted lines makes the insertion redundant.
const NEARBY_LINES: usize = 20;

const SCORE_GROUP: f32 = 0.88;
const SCORE_SAME_LINES: f32 = 0.86;
const SCORE_SAME_PLACE: f32 = 0.84;
const SCORE_SIMILAR_LINE: f32 = 0.82;
const SCORE_SAME_CONTEXT: f32 = 0.8;
/// Tokens of context on each side of a changed stretch that `same_context` compares.
const CONTEXT_TOKENS: usize = 4;

struct Candidate {
    /// Sorted, non-overlapping.
    edits: Vec<TextEdit>,
    score: f32,
    /// Line of the candidate in the current text, to find the nearest.
    line: usize,
}

/// One changed stretch of lines of the last event.
struct Block {
    old: Vec<String>,
    new: Vec<String>,
    /// The line above the block and the line below it, in the text before the event.
    above: Option<String>,
    below: Option<String>,
    /// Where the old lines start in the text before the event.
    line: usize,
}

pub(super) fn propose(input: &Input<'_>) -> Option<Proposal> {
    let mut events = input.history.events().rev();
    let last = events.next()?;
    let blocks = event_blocks(last)?;
    let lines = line_ranges(input.text);
    // The user's own lines in the current text, where nothing is proposed.
    let own = last.after_lines.clone();
    let cursor_line = input.text.get(..input.cursor).unwrap_or_default().matches('\n').count();
    let previous = events.next();
    let previous_blocks = previous.and_then(event_blocks);
    let insertions: Vec<&Block> = blocks
        .iter()
        .chain(previous_blocks.iter().flatten())
        .filter(|block| block.old.is_empty())
        .collect();
    let mut candidates = event_candidates(input.text, &lines, &blocks, Some(&insertions), &own);
    // Similar lines need two examples of one change, newest first: they tell which words vary.
    let mut examples = line_examples(&blocks);
    let own_examples = examples.len();
    if examples.len() < 2
        && let Some(previous) = &previous_blocks
    {
        examples.extend(line_examples(previous));
    }
    if let [newest, older, ..] = examples.as_slice() {
        similar_lines(input.text, &lines, (newest, older), &own, cursor_line, &mut candidates);
        same_start(input.text, &lines, (newest, older), &own, &mut candidates);
        // The last two events made one change in two places (`target?: string` and
        // `formtarget?: string` typed alike): the places where either one's lines still are
        // follow equally, the nearest first.
        if let Some(previous) = &previous_blocks
            && examples.len() > own_examples
            && substantial_blocks(&blocks) < 2
        {
            for block in previous {
                let one_line = match (block.old.as_slice(), block.new.as_slice()) {
                    ([old], [new]) => Some((old.clone(), new.clone())),
                    _ => None,
                };
                if one_line.is_some_and(|example| one_change(newest, &example)) {
                    same_lines(input.text, &lines, block, &own, &mut candidates);
                }
            }
        }
    }
    for example in line_examples(&blocks) {
        same_context(input.text, &lines, &example, &own, cursor_line, &mut candidates);
    }
    let direction = travel_within(last, &blocks, cursor_line)
        .or_else(|| previous.and_then(|previous| travel(previous, last)));
    let mut best = best_candidate(&candidates, cursor_line, direction)?;
    // The event before the last one repeated too, and one of its places comes before the last
    // one's nearest place: the user works through places in order, so that one is next.
    let older = match (previous, &previous_blocks) {
        (Some(previous), Some(blocks)) => {
            // The user's own lines are the older event's too (moved by the last one when it was
            // above them), and whatever lies between the two.
            let shift = last.after_lines.len() as isize - last.before_lines.len() as isize;
            let moved = |line: usize| {
                if last.before_lines.end <= previous.after_lines.start {
                    line.saturating_add_signed(shift)
                } else {
                    line
                }
            };
            let start = own.start.min(moved(previous.after_lines.start));
            let end = own.end.max(moved(previous.after_lines.end));
            // The older event is one part of a change whose other part repeats (the last
            // event's candidates): its lines need no second example.
            event_candidates(input.text, &lines, blocks, None, &(start..end))
        }
        _ => Vec::new(),
    };
    if let Some(nearer) = best_candidate(&older, cursor_line, direction)
        && older[nearer].line.abs_diff(cursor_line) < candidates[best].line.abs_diff(cursor_line)
    {
        best = nearer;
        candidates = older;
    }
    let best = &candidates[best];
    Some(Proposal {
        edits: hunk_of(input.text, best, &candidates),
        source: SuggestionSource::Repeat,
        score: best.score,
        group: Vec::new(),
    })
}

/// The index of the best candidate: the best kind, then one on the side the user is moving to
/// (`direction`, down when `Greater`), then the nearest to the cursor, then the lower one.
fn best_candidate(
    candidates: &[Candidate],
    cursor_line: usize,
    direction: Option<Ordering>,
) -> Option<usize> {
    let ahead = |candidate: &Candidate| {
        direction.is_none_or(|direction| candidate.line.cmp(&cursor_line) == direction)
    };
    (0..candidates.len()).min_by(|&a, &b| {
        let (a, b) = (&candidates[a], &candidates[b]);
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(Ordering::Equal)
            .then(ahead(b).cmp(&ahead(a)))
            .then(a.line.abs_diff(cursor_line).cmp(&b.line.abs_diff(cursor_line)))
            .then(b.line.cmp(&a.line))
    })
}

/// Which way the user moved inside the `last` event, when it changed several places (edits close
/// together make one event): down when the cursor is on its last line, up when on its first.
fn travel_within(
    last: &crate::text::EditEvent,
    blocks: &[Block],
    cursor_line: usize,
) -> Option<Ordering> {
    let lines = &last.after_lines;
    if substantial_blocks(blocks) < 2 {
        None
    } else if cursor_line + 1 >= lines.end {
        Some(Ordering::Greater)
    } else if cursor_line <= lines.start {
        Some(Ordering::Less)
    } else {
        None
    }
}

/// Which way the user moved from the `previous` event to the `last` one: `Greater` when down
/// the file, `Less` when up, `None` when both touched the same lines.
fn travel(previous: &crate::text::EditEvent, last: &crate::text::EditEvent) -> Option<Ordering> {
    // Both in the lines of the text between the two events.
    let (from, to) = (&previous.after_lines, &last.before_lines);
    if to.start >= from.end.max(from.start + 1) {
        Some(Ordering::Greater)
    } else if to.end.max(to.start + 1) <= from.start {
        Some(Ordering::Less)
    } else {
        None
    }
}

/// The places where an event's blocks repeat: by same lines, same place or removed duplicates,
/// each block alone when the event changed one place, all blocks together at the same distances.
/// Lines inserted by one block alone repeat only when one of the recent `insertions` inserted
/// them too (`None`: no second example needed).
fn event_candidates(
    text: &str,
    lines: &[Range<usize>],
    blocks: &[Block],
    insertions: Option<&[&Block]>,
    own: &Range<usize>,
) -> Vec<Candidate> {
    let mut per_block: Vec<Vec<Candidate>> = Vec::new();
    // A change of several parts repeats only where all of them fit (see `block_groups`).
    let parts = substantial_blocks(blocks) >= 2;
    for block in blocks {
        let mut found = Vec::new();
        if block.old.len() <= MAX_BLOCK_LINES && block.new.len() <= MAX_BLOCK_LINES {
            if block.old.is_empty() {
                // Lines inserted once are as often a one-off (a note in one docstring, a field
                // in one test's struct) as the first of a series; twice, or as one part of a
                // change that fits another place whole, they are a pattern.
                if parts || insertions.is_none_or(|insertions| inserted_twice(block, insertions)) {
                    same_place(text, lines, block, own, &mut found);
                }
            } else if removes_a_duplicate(block) {
                duplicate_lines(text, lines, own, &mut found);
            } else {
                same_lines(text, lines, block, own, &mut found);
            }
        }
        per_block.push(found);
    }
    let mut candidates = block_groups(blocks, &per_block);
    // An event of several changes is one change made of parts: a place that takes only some of
    // them gets half of it, which is worse than nothing.
    if substantial_blocks(blocks) < 2 {
        candidates.extend(per_block.into_iter().flatten());
    }
    candidates
}

/// The edits of the hunk that holds `best`: the other candidates of its kind that a unified diff
/// with three lines of context would show with it (each whole, none overlapping another).
fn hunk_of(text: &str, best: &Candidate, candidates: &[Candidate]) -> Vec<TextEdit> {
    let mut kept: Vec<&Candidate> = vec![best];
    for candidate in candidates.iter().filter(|candidate| candidate.score == best.score) {
        let overlaps_kept = candidate.edits.iter().any(|edit| {
            kept.iter().flat_map(|other| &other.edits).any(|other| {
                other == edit
                    || edit.range.start < other.range.end.max(other.range.start + 1)
                        && other.range.start < edit.range.end.max(edit.range.start + 1)
            })
        });
        if !overlaps_kept {
            kept.push(candidate);
        }
    }
    let mut edits: Vec<TextEdit> =
        kept.iter().flat_map(|candidate| candidate.edits.clone()).collect();
    edits.sort_by_key(|edit| edit.range.start);
    // The hunks that hold the best candidate's edits: a change made of parts further apart than
    // one hunk still goes whole.
    let hunk: Vec<TextEdit> = super::group_into_hunks(text, edits)
        .into_iter()
        .filter(|hunk| best.edits.iter().any(|edit| hunk.contains(edit)))
        .flatten()
        .collect();
    // A candidate of several edits goes whole or not at all.
    let whole =
        kept.iter().filter(|candidate| candidate.edits.iter().all(|edit| hunk.contains(edit)));
    let mut edits: Vec<TextEdit> = whole.flat_map(|candidate| candidate.edits.clone()).collect();
    edits.sort_by_key(|edit| edit.range.start);
    edits
}

/// Candidates that repeat every block of a multi-block event at once: one candidate per block,
/// at the same distances in lines as the blocks had. A pattern made of parts (a placeholder in a
/// format string and its argument) is repeated whole, never half.
fn block_groups(blocks: &[Block], per_block: &[Vec<Candidate>]) -> Vec<Candidate> {
    let mut groups = Vec::new();
    if blocks.len() < 2 || per_block.iter().any(Vec::is_empty) {
        return groups;
    }
    for first in &per_block[0] {
        let mut edits = first.edits.clone();
        let complete = blocks.iter().zip(per_block).skip(1).all(|(block, found)| {
            let expected = first.line as isize + block.line as isize - blocks[0].line as isize;
            match found.iter().find(|candidate| candidate.line as isize == expected) {
                Some(candidate) => {
                    edits.extend(candidate.edits.iter().cloned());
                    true
                }
                None => false,
            }
        });
        edits.sort_by_key(|edit| edit.range.start);
        let disjoint = edits.windows(2).all(|pair| pair[0].range.end <= pair[1].range.start);
        if complete && disjoint {
            groups.push(Candidate { edits, score: SCORE_GROUP, line: first.line });
        }
    }
    groups
}

/// The blocks that change more than blank lines.
fn substantial_blocks(blocks: &[Block]) -> usize {
    blocks
        .iter()
        .filter(|block| block.old.iter().chain(&block.new).any(|line| !line.trim().is_empty()))
        .count()
}

fn event_blocks(event: &crate::text::EditEvent) -> Option<Vec<Block>> {
    let old_text = event.old_text();
    let new_text = event.new_text();
    if old_text == new_text {
        return None;
    }
    line_blocks(&old_text, &new_text, &event.before, event.before_lines.start)
}

/// One-line changes of the blocks, newest (lowest in the event) first: a block of n lines
/// changed into n lines is n one-line changes.
fn line_examples(blocks: &[Block]) -> Vec<(String, String)> {
    let mut examples: Vec<(String, String)> = blocks
        .iter()
        .filter(|block| block.old.len() == block.new.len())
        .flat_map(|block| block.old.iter().cloned().zip(block.new.iter().cloned()))
        .filter(|(old, new)| old != new)
        .collect();
    examples.reverse();
    examples
}

/// The line blocks of an event, or `None` when there are too many to be one pattern.
fn line_blocks(
    old_text: &str,
    new_text: &str,
    before: &ropey::Rope,
    first_line: usize,
) -> Option<Vec<Block>> {
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(2))
        .diff_lines(old_text, new_text);
    let line_at = |index: usize| -> Option<String> {
        (index < before.len_lines()).then(|| {
            let line = before.line(index).to_string();
            line.trim_end_matches(['\n', '\r']).to_owned()
        })
    };
    let mut blocks = Vec::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let mut block = Block {
            old: Vec::new(),
            new: Vec::new(),
            above: None,
            below: None,
            line: first_line + op.old_range().start,
        };
        for change in diff.iter_changes(op) {
            let value = change.value().trim_end_matches(['\n', '\r']).to_owned();
            match change.tag() {
                ChangeTag::Delete => block.old.push(value),
                ChangeTag::Insert => block.new.push(value),
                ChangeTag::Equal => {}
            }
        }
        let old_start = first_line + op.old_range().start;
        block.above = old_start.checked_sub(1).and_then(line_at);
        block.below = line_at(first_line + op.old_range().end);
        blocks.push(block);
        if blocks.len() > MAX_BLOCKS {
            return None;
        }
    }
    Some(blocks)
}

/// Byte ranges of the lines of `text`, without their line breaks.
fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (index, _) in text.match_indices('\n') {
        let end =
            if index > start && text.as_bytes()[index - 1] == b'\r' { index - 1 } else { index };
        lines.push(start..end);
        start = index + 1;
    }
    lines.push(start..text.len());
    lines
}

fn weight(line: &str) -> usize {
    line.chars().filter(|c| !c.is_whitespace()).count()
}

fn indentation(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Moves `line` from under `from` indentation to under `to`.
fn reindent(line: &str, from: &str, to: &str) -> String {
    match line.strip_prefix(from) {
        Some(rest) if !line.trim().is_empty() => format!("{to}{rest}"),
        _ => line.to_owned(),
    }
}

fn overlaps(lines: &Range<usize>, own: &Range<usize>) -> bool {
    lines.start < own.end.max(own.start + 1) && own.start < lines.end
}

/// The block's old lines elsewhere (up to indentation) become its new lines.
fn same_lines(
    text: &str,
    lines: &[Range<usize>],
    block: &Block,
    own: &Range<usize>,
    out: &mut Vec<Candidate>,
) {
    if block.old.iter().map(|line| weight(line)).sum::<usize>() < MIN_LINES_WEIGHT {
        return;
    }
    let mut found = Vec::new();
    let from = indentation(&block.old[0]);
    let first = block.old[0].trim_start();
    for start in 0..lines.len() {
        if start + block.old.len() > lines.len() || overlaps(&(start..start + block.old.len()), own)
        {
            continue;
        }
        let line = &text[lines[start].clone()];
        if line.trim_start() != first {
            continue;
        }
        let to = indentation(line);
        let matches =
            block.old.iter().enumerate().all(|(offset, old)| {
                text[lines[start + offset].clone()] == reindent(old, from, to)
            });
        if !matches {
            continue;
        }
        let last = start + block.old.len() - 1;
        let edit = if block.new.is_empty() {
            // Whole lines go, with their line breaks.
            let end = lines.get(last + 1).map_or(text.len(), |next| next.start);
            let start_byte = if lines.get(last + 1).is_none() && start > 0 {
                lines[start - 1].end
            } else {
                lines[start].start
            };
            TextEdit::new(start_byte..end, "")
        } else {
            let new: Vec<String> = block.new.iter().map(|line| reindent(line, from, to)).collect();
            TextEdit::new(lines[start].start..lines[last].end, new.join("\n"))
        };
        found.push(Candidate { edits: vec![edit], score: SCORE_SAME_LINES, line: start });
    }
    // Lines that occur in many places are boilerplate: changing one says little about the rest.
    if found.len() <= MAX_MATCHES {
        out.extend(found);
    }
}

/// Whether the block deletes one line that the line above or below it repeats: the user removed
/// a duplicate, and the change to repeat is "remove the duplicate", not "remove this text".
fn removes_a_duplicate(block: &Block) -> bool {
    let [line] = block.old.as_slice() else { return false };
    block.new.is_empty()
        && weight(line) >= MIN_LINES_WEIGHT
        && (block.above.as_ref() == Some(line) || block.below.as_ref() == Some(line))
}

/// Lines that repeat the line just above them (the same text and indentation) lose the repeat.
fn duplicate_lines(
    text: &str,
    lines: &[Range<usize>],
    own: &Range<usize>,
    out: &mut Vec<Candidate>,
) {
    for index in 1..lines.len() {
        let line = &text[lines[index].clone()];
        if weight(line) < MIN_LINES_WEIGHT
            || text[lines[index - 1].clone()] != *line
            || overlaps(&(index - 1..index + 1), own)
        {
            continue;
        }
        let end = lines.get(index + 1).map_or(text.len(), |next| next.start);
        let start =
            if lines.get(index + 1).is_none() { lines[index - 1].end } else { lines[index].start };
        out.push(Candidate {
            edits: vec![TextEdit::new(start..end, "")],
            score: SCORE_SAME_LINES,
            line: index,
        });
    }
}

/// Whether the lines `block` inserts were inserted by another of the recent `insertions` too
/// (indentation aside).
fn inserted_twice(block: &Block, insertions: &[&Block]) -> bool {
    let trimmed = |block: &Block| -> Vec<String> {
        block.new.iter().map(|line| line.trim().to_owned()).collect()
    };
    let lines = trimmed(block);
    insertions.iter().any(|other| !std::ptr::eq(*other, block) && trimmed(other) == lines)
}

/// A pure insertion between two lines is repeated between the same two lines elsewhere.
fn same_place(
    text: &str,
    lines: &[Range<usize>],
    block: &Block,
    own: &Range<usize>,
    out: &mut Vec<Candidate>,
) {
    let (Some(above), Some(below)) = (&block.above, &block.below) else { return };
    if weight(above) + weight(below) < MIN_ANCHOR_WEIGHT
        || weight(above).max(weight(below)) < MIN_LINES_WEIGHT
    {
        return;
    }
    // Blank lines alone are layout, not a pattern; a top-level definition inserted again would
    // define its name twice.
    if block.new.iter().all(|line| line.trim().is_empty()) || defines_top_level_name(&block.new) {
        return;
    }
    let from = indentation(above);
    let mut found = Vec::new();
    for index in 0..lines.len().saturating_sub(1) {
        if overlaps(&(index..index + 2), own) {
            continue;
        }
        let line = &text[lines[index].clone()];
        if line.trim_start() != above.trim_start() {
            continue;
        }
        let to = indentation(line);
        if text[lines[index + 1].clone()] != reindent(below, from, to) {
            continue;
        }
        let new: Vec<String> = block.new.iter().map(|line| reindent(line, from, to)).collect();
        if already_nearby(text, lines, index, &new, own) {
            continue;
        }
        let mut inserted = new.join("\n");
        inserted.push('\n');
        let at = lines[index + 1].start;
        found.push(Candidate {
            edits: vec![TextEdit::new(at..at, inserted)],
            score: SCORE_SAME_PLACE,
            line: index + 1,
        });
    }
    if found.len() <= MAX_MATCHES {
        out.extend(found);
    }
}

/// Whether the first non-blank line of `lines` is an unindented definition or assignment.
fn defines_top_level_name(lines: &[String]) -> bool {
    let Some(first) = lines.iter().find(|line| !line.trim().is_empty()) else { return false };
    if first.starts_with(char::is_whitespace) {
        return false;
    }
    const KEYWORDS: &[&str] = &[
        "fn ",
        "pub ",
        "def ",
        "class ",
        "struct ",
        "enum ",
        "const ",
        "static ",
        "let ",
        "var ",
        "function ",
        "interface ",
        "type ",
        "export ",
        "async ",
    ];
    if KEYWORDS.iter().any(|keyword| first.starts_with(keyword)) {
        return true;
    }
    // `NAME = value` or `NAME: Type = value`, not `a == b`.
    let name_end = first.find(|c: char| !is_word_char(c)).unwrap_or(first.len());
    let rest = first[name_end..].trim_start();
    name_end > 0 && (rest.starts_with('=') && !rest.starts_with("==") || rest.starts_with(':'))
}

/// Whether the weightiest of `new` lines already occurs within a few lines of `index`, outside
/// the user's own lines: that place already has what the insertion would add.
fn already_nearby(
    text: &str,
    lines: &[Range<usize>],
    index: usize,
    new: &[String],
    own: &Range<usize>,
) -> bool {
    let Some(probe) = new.iter().max_by_key(|line| weight(line)) else { return false };
    let probe = probe.trim();
    if probe.is_empty() {
        return false;
    }
    let low = index.saturating_sub(NEARBY_LINES);
    let high = (index + NEARBY_LINES).min(lines.len());
    (low..high).any(|other| !own.contains(&other) && text[lines[other].clone()].trim() == probe)
}

/// A one-line change seen twice, applied to other lines of the same token shape: tokens where
/// the two examples agree must be there literally, names where they differ may vary.
fn similar_lines(
    text: &str,
    lines: &[Range<usize>],
    examples: (&(String, String), &(String, String)),
    own: &Range<usize>,
    cursor_line: usize,
    out: &mut Vec<Candidate>,
) {
    if !one_change(examples.0, examples.1) {
        return;
    }
    let ((old, new), (other_old, _)) = examples;
    let old_tokens = tokenize(old);
    let new_tokens = tokenize(new);
    let hunks = diff_tokens(old, &old_tokens, new, &new_tokens);
    let other_old_tokens = tokenize(other_old);
    let fixed: Vec<bool> = old_tokens
        .iter()
        .zip(&other_old_tokens)
        .map(|(a, b)| a.text(old) == b.text(other_old))
        .collect();
    let low = cursor_line.saturating_sub(SIMILAR_LINE_WINDOW);
    let high = (cursor_line + SIMILAR_LINE_WINDOW).min(lines.len());
    let mut found = Vec::new();
    for index in low..high {
        if overlaps(&(index..index + 1), own) {
            continue;
        }
        let line = &text[lines[index].clone()];
        if line.len() > 4 * old.len() + 16 || line.trim() == old.trim() {
            continue;
        }
        let tokens = tokenize(line);
        let Some(renaming) = same_shape(old, &old_tokens, line, &tokens, &hunks, Some(&fixed))
        else {
            continue;
        };
        let Some(rewritten) = rewrite_line(line, &tokens, new, &new_tokens, &hunks, &renaming)
        else {
            continue;
        };
        if rewritten == line {
            continue;
        }
        let edit = TextEdit::new(lines[index].clone(), rewritten);
        found.push(Candidate { edits: vec![edit], score: SCORE_SIMILAR_LINE, line: index });
    }
    // A shape that many lines have (`name?: string | undefined` in a list of declarations) says
    // too little about which of them the user means to change next.
    if found.len() <= MAX_MATCHES {
        out.extend(found);
    }
}

/// A change at the start of a line (a keyword or a modifier: `var` -> `const`, `pub` ->
/// `pub(crate)`), made twice alike with the rest of both lines untouched. Lines at the same
/// indentation that start the same way follow: then the same token where both examples have it,
/// or a name where they have two names. Anywhere in the file (top-level declarations lie far
/// apart), unless many lines would.
fn same_start(
    text: &str,
    lines: &[Range<usize>],
    examples: (&(String, String), &(String, String)),
    own: &Range<usize>,
    out: &mut Vec<Candidate>,
) {
    /// The indentation, the changed start before and after, and the first kept token.
    fn split(old: &str, new: &str) -> Option<(usize, String, String, String)> {
        let indent = old.len() - old.trim_start().len();
        if new.len() - new.trim_start().len() != indent {
            return None;
        }
        let (old_body, new_body) = (&old[indent..], &new[indent..]);
        let old_tokens = tokenize(old_body);
        let new_tokens = tokenize(new_body);
        let hunks = diff_tokens(old_body, &old_tokens, new_body, &new_tokens);
        let [hunk] = hunks.as_slice() else { return None };
        if hunk.old.start != 0 || hunk.new.start != 0 {
            return None;
        }
        let kept = old_tokens.get(hunk.old.end)?;
        let new_kept = new_tokens.get(hunk.new.end)?;
        Some((
            indent,
            old_body[..kept.start].to_owned(),
            new_body[..new_kept.start].to_owned(),
            kept.text(old_body).to_owned(),
        ))
    }
    let ((old, new), (other_old, other_new)) = examples;
    let (Some(first), Some(second)) = (split(old, new), split(other_old, other_new)) else {
        return;
    };
    let (indent, old_start, new_start, kept) = first;
    if (indent, &old_start, &new_start) != (second.0, &second.1, &second.2)
        || !old_start.chars().chain(new_start.chars()).any(is_word_char)
    {
        return;
    }
    // The token after the change: the same in both examples, or any name.
    let anchor = (kept == second.3).then_some(kept.as_str());
    if anchor.is_none() && !(is_identifier_like(&kept) && is_identifier_like(&second.3)) {
        return;
    }
    let mut found = Vec::new();
    for (index, range) in lines.iter().enumerate() {
        if overlaps(&(index..index + 1), own) {
            continue;
        }
        let line = &text[range.clone()];
        // The indentation first: only then is `indent` a character boundary of this line.
        if line.len() - line.trim_start().len() != indent {
            continue;
        }
        let body = &line[indent..];
        if !body.starts_with(old_start.as_str()) {
            continue;
        }
        let rest = &body[old_start.len()..];
        let next = tokenize(rest).first().map(|token| token.text(rest));
        let follows = match (anchor, next) {
            (Some(anchor), Some(next)) => next == anchor,
            (None, Some(next)) => is_identifier_like(next),
            (_, None) => false,
        };
        // `var` must not match the start of `variable`.
        let whole = !old_start.ends_with(is_word_char) || !rest.starts_with(is_word_char);
        if follows && whole {
            let start = range.start + indent;
            let edit = TextEdit::new(start..start + old_start.len(), new_start.as_str());
            found.push(Candidate { edits: vec![edit], score: SCORE_SIMILAR_LINE, line: index });
        }
    }
    if found.len() <= MAX_MATCHES {
        out.extend(found);
    }
}

/// Whether two one-line changes are one change: the same token hunks on lines of the same shape,
/// and the same inserted text up to the renaming between the two lines.
fn one_change((old, new): &(String, String), (other_old, other_new): &(String, String)) -> bool {
    let old_tokens = tokenize(old);
    let new_tokens = tokenize(new);
    let hunks = diff_tokens(old, &old_tokens, new, &new_tokens);
    let other_old_tokens = tokenize(other_old);
    let other_new_tokens = tokenize(other_new);
    let other_hunks = diff_tokens(other_old, &other_old_tokens, other_new, &other_new_tokens);
    if hunks.is_empty() || hunks != other_hunks || old_tokens.len() < 3 {
        return false;
    }
    let Some(between) = same_shape(old, &old_tokens, other_old, &other_old_tokens, &hunks, None)
    else {
        return false;
    };
    rewrite_line(other_old, &other_old_tokens, new, &new_tokens, &hunks, &between)
        .is_some_and(|rewritten| rewritten.trim() == other_new.trim())
}

/// A token change inside one line, repeated where the same tokens occur with the same tokens
/// around them (at least two on each side, five in all), in any line.
fn same_context(
    text: &str,
    lines: &[Range<usize>],
    example: &(String, String),
    own: &Range<usize>,
    cursor_line: usize,
    out: &mut Vec<Candidate>,
) {
    let (old, new) = example;
    let old_tokens = tokenize(old);
    let new_tokens = tokenize(new);
    let hunks = diff_tokens(old, &old_tokens, new, &new_tokens);
    let [hunk] = hunks.as_slice() else { return };
    if hunk.old.is_empty() {
        return;
    }
    let left = hunk.old.start.saturating_sub(CONTEXT_TOKENS)..hunk.old.start;
    let right = hunk.old.end..(hunk.old.end + CONTEXT_TOKENS).min(old_tokens.len());
    if left.len() < 2 || right.len() < 2 || left.len() + right.len() < 5 {
        return;
    }
    let pattern: Vec<&str> =
        old_tokens[left.start..right.end].iter().map(|token| token.text(old)).collect();
    let replaced_start = old_tokens[hunk.old.start - 1].end;
    let replaced_end = old_tokens[hunk.old.end].start;
    let new_start = new_tokens[hunk.new.start - 1].end;
    let new_end = new_tokens[hunk.new.end].start;
    // Offsets of the replaced stretch relative to the pattern's first token.
    let before_len = replaced_start - old_tokens[left.start].start;
    let after_len = old_tokens[right.end - 1].end - replaced_end;
    let replacement = &new[new_start..new_end];
    let low = cursor_line.saturating_sub(SIMILAR_LINE_WINDOW);
    let high = (cursor_line + SIMILAR_LINE_WINDOW).min(lines.len());
    let mut found = Vec::new();
    // Lines of the example's shape (names free), wherever the context matches or not.
    let mut look_alikes = 0;
    for index in low..high {
        if overlaps(&(index..index + 1), own) {
            continue;
        }
        let line = &text[lines[index].clone()];
        if line.len() > 4 * old.len() + 16 {
            continue;
        }
        let tokens = tokenize(line);
        if same_shape(old, &old_tokens, line, &tokens, &hunks, None).is_some() {
            look_alikes += 1;
        }
        if !line.contains(pattern[0]) || line.trim() == old.trim() {
            continue;
        }
        for start in 0..tokens.len().saturating_sub(pattern.len() - 1) {
            let window = &tokens[start..start + pattern.len()];
            if !window.iter().zip(&pattern).all(|(token, expected)| token.text(line) == *expected) {
                continue;
            }
            let span_start = window[0].start;
            let span_end = window[pattern.len() - 1].end;
            // The whitespace inside the pattern must be the same too, so that the replaced
            // stretch is the same text.
            if line[span_start..span_end].len()
                != old[old_tokens[left.start].start..old_tokens[right.end - 1].end].len()
            {
                continue;
            }
            let base = lines[index].start;
            let range = base + span_start + before_len..base + span_end - after_len;
            found.push(Candidate {
                edits: vec![TextEdit::new(range, replacement)],
                score: SCORE_SAME_CONTEXT,
                line: index,
            });
        }
    }
    // Context that many places share is boilerplate, as for similar lines, and so is a line shape
    // that many places share, even when fewer of them have the same context.
    if found.len().max(look_alikes) <= MAX_MATCHES {
        out.extend(found);
    }
}

/// Whether `line` has the token shape of `old`: as many tokens, punctuation equal, names equal
/// or consistently renamed, numbers equal or not, the changed tokens equal, and the `fixed`
/// tokens equal. Returns the word renaming from `old` to `line`.
fn same_shape<'a>(
    old: &'a str,
    old_tokens: &[Token],
    line: &'a str,
    tokens: &[Token],
    hunks: &[super::TokenHunk],
    fixed: Option<&[bool]>,
) -> Option<HashMap<&'a str, &'a str>> {
    if tokens.len() != old_tokens.len() {
        return None;
    }
    let mut renaming: HashMap<&str, &str> = HashMap::new();
    let mut reverse: HashMap<&str, &str> = HashMap::new();
    let mut exact = 0;
    for (index, (a, b)) in old_tokens.iter().zip(tokens).enumerate() {
        let (a_text, b_text) = (a.text(old), b.text(line));
        let changed = hunks.iter().any(|hunk| hunk.old.contains(&index));
        let must_equal = changed || fixed.is_some_and(|fixed| fixed[index]);
        if a_text == b_text {
            exact += 1;
        } else if must_equal || a.kind != TokenKind::Word || b.kind != TokenKind::Word {
            return None;
        }
        // Names must be renamed consistently; numbers are free.
        if a.kind == TokenKind::Word
            && super::is_identifier_like(a_text)
            && (*renaming.entry(a_text).or_insert(b_text) != b_text
                || *reverse.entry(b_text).or_insert(a_text) != a_text)
        {
            return None;
        }
    }
    (exact >= 3).then_some(renaming)
}

/// `line` with the hunks of `old -> new` applied at the same token positions, the new text's
/// words renamed as `line` renames `old`'s.
fn rewrite_line(
    line: &str,
    tokens: &[Token],
    new: &str,
    new_tokens: &[Token],
    hunks: &[super::TokenHunk],
    renaming: &HashMap<&str, &str>,
) -> Option<String> {
    let mut out = String::new();
    let mut position = 0;
    let content_start = line.len() - line.trim_start().len();
    let content_end = line.trim_end().len();
    let new_content_start = new.len() - new.trim_start().len();
    let new_content_end = new.trim_end().len();
    for hunk in hunks {
        // The replaced stretch of `line` runs from the end of the token before the hunk to the
        // start of the token after it, whitespace included; the same for `new`.
        let start = hunk.old.start.checked_sub(1).map_or(content_start, |index| tokens[index].end);
        let end = tokens.get(hunk.old.end).map_or(content_end, |token| token.start);
        let new_start =
            hunk.new.start.checked_sub(1).map_or(new_content_start, |index| new_tokens[index].end);
        let new_end = new_tokens.get(hunk.new.end).map_or(new_content_end, |token| token.start);
        if start < position || end < start || new_end < new_start {
            return None;
        }
        out.push_str(&line[position..start]);
        out.push_str(&rename_words(&new[new_start..new_end], renaming));
        position = end;
    }
    out.push_str(&line[position..]);
    Some(out)
}

/// Replaces whole words of `text` that `renaming` maps to another word.
fn rename_words(text: &str, renaming: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    for token in tokenize(text) {
        if token.kind != TokenKind::Word {
            continue;
        }
        if let Some(renamed) = renaming.get(token.text(text)) {
            out.push_str(&text[position..token.start]);
            out.push_str(renamed);
            position = token.end;
        }
    }
    out.push_str(&text[position..]);
    out
}
