//! The symbolic engine: next edits that follow from the last ones without a model.
//!
//! Two kinds of proposals:
//!
//! - [`rename`]: the user replaced an identifier with another; the remaining occurrences that
//!   refer to the same thing follow, one at a time (Tab through them) or all at once (the group).
//! - [`repeat`]: the user made an edit that applies elsewhere too (the same line change, the same
//!   insertion between the same lines, the same token change in a similar line); the nearest
//!   other place follows.
//!
//! Both work from the document state only: the last history event's text before and after it,
//! diffed token by token, and the current syntax tree. Nothing here reparses the document, so a
//! call costs well under a millisecond on typical files (`nextedit bench` measures it).
//!
//! The engine is deliberately quiet: a wrong suggestion costs the user more than a missing one,
//! so every heuristic that could misfire makes it propose nothing.

mod rename;
mod repeat;
#[cfg(test)]
mod tests;

use std::ops::Range;
use std::time::{Duration, Instant};

use nextedit_grammars::LanguageInfo;
use similar::DiffOp;
use tree_sitter::Tree;

use crate::engine::documents::DocumentSnapshot;
use crate::engine::suggestion::Proposal;
use crate::text::{EditEvent, History, TextEdit};

/// How long the token diff of one event may take before it gives up on precision.
const TOKEN_DIFF_TIMEOUT: Duration = Duration::from_millis(2);
/// Events with more tokens than this on either side are not analysed (a paste, a reformat).
const MAX_EVENT_TOKENS: usize = 4_000;

/// Everything the symbolic engine needs from one snapshot.
pub(crate) struct Input<'a> {
    pub text: &'a str,
    pub tree: &'a Tree,
    pub language: &'static LanguageInfo,
    pub history: &'a History,
    /// Where the user's cursor is taken to be: the end of the last edit.
    pub cursor: usize,
}

/// The symbolic proposals for a snapshot, best first. Empty when the document has no syntax
/// tree, no history, or nothing follows from the last edit.
pub fn propose(snapshot: &DocumentSnapshot) -> Vec<Proposal> {
    let (Some(tree), Some(language)) = (snapshot.tree.as_ref(), snapshot.language) else {
        return Vec::new();
    };
    let Some(last) = snapshot.history.last() else { return Vec::new() };
    // The newest event's `after` is the current text; anything else means the history and the
    // document disagree, and no proposal could be placed safely.
    if last.after.len_bytes() != snapshot.rope.len_bytes() {
        return Vec::new();
    }
    let text = snapshot.rope.to_string();
    propose_for_text(&text, tree, language, &snapshot.history)
}

/// [`propose`] on a text already copied out of the rope.
pub(crate) fn propose_for_text(
    text: &str,
    tree: &Tree,
    language: &'static LanguageInfo,
    history: &History,
) -> Vec<Proposal> {
    let Some(last) = history.last() else { return Vec::new() };
    let cursor = last.last_edit_bytes.end.min(text.len());
    let input = Input { text, tree, language, history, cursor };
    let mut proposals = rename::propose(&input);
    if proposals.is_empty()
        && let Some(proposal) = repeat::propose(&input)
    {
        proposals.push(proposal);
    }
    // A stable sort: among equal scores, the engines' order (the next hunk first) stays.
    proposals.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
    proposals
}

// The tokenizer is the workspace's one word tokenizer (`text::words`), under the names this
// engine's modules use.
pub(crate) use crate::text::words::{
    Token, TokenKind, is_identifier as is_identifier_like, is_word_char, word_tokens as tokenize,
};

/// One changed stretch of a token diff: tokens `old` of the old text became tokens `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenHunk {
    pub old: Range<usize>,
    pub new: Range<usize>,
}

/// The path separator right before token `index`: `.`, or `::` (two tokens).
fn path_separator_before(text: &str, tokens: &[Token], index: usize) -> Option<&'static str> {
    let before = |back: usize| index.checked_sub(back).map(|at| tokens[at].text(text));
    match before(1)? {
        "." => Some("."),
        ":" if before(2) == Some(":") => Some("::"),
        _ => None,
    }
}

/// A name an event replaced: `old` became `new`, at `range` of the event's `after` text.
pub(crate) struct RenamedName<'d> {
    pub old: &'d str,
    pub new: &'d str,
    pub range: Range<usize>,
}

/// The touched lines of one event, before and after, tokenized and diffed.
pub(crate) struct EventDiff {
    pub old_text: String,
    pub new_text: String,
    /// Byte offset of `new_text` in the event's `after` text.
    pub new_base: usize,
    pub old_tokens: Vec<Token>,
    pub new_tokens: Vec<Token>,
    pub hunks: Vec<TokenHunk>,
}

impl EventDiff {
    pub fn new(event: &EditEvent) -> Option<EventDiff> {
        let old_text = event.old_text();
        let new_text = event.new_text();
        if old_text == new_text {
            return None;
        }
        let new_base = line_start_byte(&event.after, event.after_lines.start);
        let old_tokens = tokenize(&old_text);
        let new_tokens = tokenize(&new_text);
        if old_tokens.len() > MAX_EVENT_TOKENS || new_tokens.len() > MAX_EVENT_TOKENS {
            return None;
        }
        let hunks = diff_tokens(&old_text, &old_tokens, &new_text, &new_tokens);
        Some(EventDiff { old_text, new_text, new_base, old_tokens, new_tokens, hunks })
    }

    pub fn old_token_text(&self, index: usize) -> &str {
        self.old_tokens[index].text(&self.old_text)
    }

    pub fn new_token_text(&self, index: usize) -> &str {
        self.new_tokens[index].text(&self.new_text)
    }

    /// The identifier-for-identifier replacements of the diff, aligned token by token, as
    /// `(old token, new token)` indices. A changed stretch counts when it has as many tokens on
    /// both sides and every differing pair of tokens is two identifiers: `Self::A` -> `Code::A`
    /// inside a rewritten line is found, `f(a)` -> `g(a, b)` gives `f` -> `g` only because the
    /// diff puts `(a` between the two changes.
    pub fn aligned_replacements(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for hunk in &self.hunks {
            if hunk.old.len() != hunk.new.len() {
                if let Some(pair) = self.path_ends(hunk) {
                    pairs.push(pair);
                }
                continue;
            }
            let mut found = Vec::new();
            let aligned = hunk.old.clone().zip(hunk.new.clone()).all(|(o, n)| {
                let (old, new) = (self.old_token_text(o), self.new_token_text(n));
                if old == new {
                    return true;
                }
                let words = self.old_tokens[o].kind == TokenKind::Word
                    && self.new_tokens[n].kind == TokenKind::Word
                    && is_identifier_like(old)
                    && is_identifier_like(new);
                found.push((o, n));
                words
            });
            if aligned {
                pairs.extend(found);
            }
        }
        pairs
    }

    /// A path rewritten with its last segment (`lazycell::LazyCell` -> `once_cell::unsync::OnceCell`):
    /// the hunk changed nothing but path segments and separators, and its last tokens are names
    /// that differ, each right after the same path separator.
    /// The name a `use` or a qualified path ends with is the one its uses say.
    fn path_ends(&self, hunk: &TokenHunk) -> Option<(usize, usize)> {
        let (o, n) = (hunk.old.end.checked_sub(1)?, hunk.new.end.checked_sub(1)?);
        if o < hunk.old.start || n < hunk.new.start {
            return None;
        }
        // Nothing but path segments and separators changed.
        let path_piece = |text: &str| matches!(text, ":" | ".") || is_identifier_like(text);
        if !hunk.old.clone().all(|index| path_piece(self.old_token_text(index)))
            || !hunk.new.clone().all(|index| path_piece(self.new_token_text(index)))
        {
            return None;
        }
        let (old, new) = (self.old_token_text(o), self.new_token_text(n));
        let old_separator = path_separator_before(&self.old_text, &self.old_tokens, o)?;
        let new_separator = path_separator_before(&self.new_text, &self.new_tokens, n)?;
        let named = self.old_tokens[o].kind == TokenKind::Word
            && self.new_tokens[n].kind == TokenKind::Word
            && is_identifier_like(old)
            && is_identifier_like(new);
        (named && old != new && old_separator == new_separator).then_some((o, n))
    }

    /// The names the diff replaced ([`Self::aligned_replacements`]), and whether it did nothing
    /// else. With a `sigil` (JavaScript's private names, `#count`), a sigil right before a word
    /// belongs to the name, and adding or removing it renames: `#count` -> `count`.
    pub fn renamed_names(&self, sigil: Option<char>) -> (Vec<RenamedName<'_>>, bool) {
        let with_sigil = |text: &str, token: &Token| -> Range<usize> {
            let Some(sigil) = sigil else { return token.start..token.end };
            let before = &text[..token.start];
            match before.strip_suffix(sigil) {
                Some(rest) if !rest.chars().next_back().is_some_and(is_word_char) => {
                    rest.len()..token.end
                }
                _ => token.start..token.end,
            }
        };
        let mut names: Vec<RenamedName<'_>> = Vec::new();
        for (o, n) in self.aligned_replacements() {
            let old = with_sigil(&self.old_text, &self.old_tokens[o]);
            let new = with_sigil(&self.new_text, &self.new_tokens[n]);
            names.push(self.renamed_name(old, new));
        }
        if let Some(sigil) = sigil {
            // A hunk that only adds or removes the sigil, right before a word both sides keep.
            let is_sigil = |text: &str, token: &Token| token.text(text).starts_with(sigil);
            let word_after = |text: &str, tokens: &[Token], index: usize| {
                tokens.get(index + 1).copied().filter(|next| {
                    next.start == tokens[index].end && is_identifier_like(next.text(text))
                })
            };
            for hunk in &self.hunks {
                let (o, n) = (hunk.old.start, hunk.new.start);
                match (hunk.old.len(), hunk.new.len()) {
                    (1, 0) if is_sigil(&self.old_text, &self.old_tokens[o]) => {
                        if let (Some(word), Some(kept)) = (
                            word_after(&self.old_text, &self.old_tokens, o),
                            self.new_tokens.get(n),
                        ) {
                            let old = self.old_tokens[o].start..word.end;
                            names.push(self.renamed_name(old, kept.start..kept.end));
                        }
                    }
                    (0, 1) if is_sigil(&self.new_text, &self.new_tokens[n]) => {
                        if let (Some(word), Some(kept)) = (
                            word_after(&self.new_text, &self.new_tokens, n),
                            self.old_tokens.get(o),
                        ) {
                            let new = self.new_tokens[n].start..word.end;
                            names.push(self.renamed_name(kept.start..kept.end, new));
                        }
                    }
                    _ => {}
                }
            }
        }
        let clean = self.renames_only(names.len());
        (names, clean)
    }

    fn renamed_name(&self, old: Range<usize>, new: Range<usize>) -> RenamedName<'_> {
        RenamedName {
            old: &self.old_text[old],
            new: &self.new_text[new.clone()],
            range: self.new_base + new.start..self.new_base + new.end,
        }
    }

    /// Whether the diff is made of identifier replacements only (one rename or several), as
    /// opposed to a rewrite that renames along the way: `renamed` of its changed tokens are
    /// renames.
    fn renames_only(&self, renamed: usize) -> bool {
        let changed: usize = self
            .hunks
            .iter()
            .map(|hunk| {
                let differing = hunk
                    .old
                    .clone()
                    .zip(hunk.new.clone())
                    .filter(|&(o, n)| self.old_token_text(o) != self.new_token_text(n))
                    .count();
                differing + hunk.old.len().abs_diff(hunk.new.len())
            })
            .sum();
        renamed > 0 && changed == renamed
    }
}

/// Where `range` of the text after `events[index]` is in the text after `events[0]` (events
/// newest first, each event's `before` being the `after` of the one before it), or `None` when a
/// newer event touched its lines.
pub(crate) fn map_to_current(
    events: &[&EditEvent],
    index: usize,
    range: Range<usize>,
) -> Option<Range<usize>> {
    let mut range = range;
    for newer in (0..index).rev() {
        let event = events[newer];
        if event.before.len_bytes() != events[newer + 1].after.len_bytes() {
            return None;
        }
        let start = line_start_byte(&event.before, event.before_lines.start);
        let end = line_start_byte(&event.before, event.before_lines.end);
        if range.end <= start {
            continue;
        }
        if range.start < end.max(start + 1) {
            return None;
        }
        let delta = event.after.len_bytes() as isize - event.before.len_bytes() as isize;
        range = (range.start as isize + delta) as usize..(range.end as isize + delta) as usize;
    }
    Some(range)
}

/// Lines apart that two changes may be and still share a hunk: `git diff -U3` joins changes with
/// at most six unchanged lines between them (three lines of context after one, three before the
/// next).
pub(crate) const HUNK_JOIN_LINES: usize = 7;

/// Groups edits (sorted by start, non-overlapping) into the hunks a unified diff with three lines
/// of context would show: an edit whose first line is at most [`HUNK_JOIN_LINES`] after the last
/// line of the previous edit joins its hunk.
pub(crate) fn group_into_hunks(text: &str, edits: Vec<TextEdit>) -> Vec<Vec<TextEdit>> {
    let mut hunks: Vec<Vec<TextEdit>> = Vec::new();
    let mut line = 0;
    let mut position = 0;
    let mut last_line: Option<usize> = None;
    let mut line_of = |byte: usize| {
        let byte = byte.min(text.len()).max(position);
        line += text.as_bytes()[position..byte].iter().filter(|&&b| b == b'\n').count();
        position = byte;
        line
    };
    for edit in edits {
        let first = line_of(edit.range.start);
        let last = line_of(edit.range.end);
        match (last_line, hunks.last_mut()) {
            (Some(previous), Some(hunk)) if first <= previous + HUNK_JOIN_LINES => hunk.push(edit),
            _ => hunks.push(vec![edit]),
        }
        last_line = Some(last.max(first));
    }
    hunks
}

fn line_start_byte(rope: &ropey::Rope, line: usize) -> usize {
    if line >= rope.len_lines() { rope.len_bytes() } else { rope.line_to_byte(line) }
}

/// A token-level diff: the changed stretches between equal runs.
pub(crate) fn diff_tokens(
    old_text: &str,
    old: &[Token],
    new_text: &str,
    new: &[Token],
) -> Vec<TokenHunk> {
    let old_words: Vec<&str> = old.iter().map(|token| token.text(old_text)).collect();
    let new_words: Vec<&str> = new.iter().map(|token| token.text(new_text)).collect();
    let deadline = Instant::now().checked_add(TOKEN_DIFF_TIMEOUT);
    let ops = crate::engine::diff::diff_slices(&old_words, &new_words, deadline);
    let mut hunks: Vec<TokenHunk> = Vec::new();
    let mut open: Option<TokenHunk> = None;
    for op in ops {
        match op {
            DiffOp::Equal { .. } => {
                if let Some(hunk) = open.take() {
                    hunks.push(hunk);
                }
            }
            _ => {
                let (old_range, new_range) = (op.old_range(), op.new_range());
                match &mut open {
                    Some(hunk) => {
                        hunk.old.end = old_range.end;
                        hunk.new.end = new_range.end;
                    }
                    None => open = Some(TokenHunk { old: old_range, new: new_range }),
                }
            }
        }
    }
    if let Some(hunk) = open {
        hunks.push(hunk);
    }
    hunks
}

/// The byte offsets where `word` occurs in `text` as a whole word.
pub(crate) fn whole_word_occurrences(text: &str, word: &str) -> Vec<usize> {
    if word.is_empty() {
        return Vec::new();
    }
    text.match_indices(word)
        .map(|(start, _)| start)
        .filter(|&start| {
            let before = text[..start].chars().next_back();
            let after = text[start + word.len()..].chars().next();
            !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
        })
        .collect()
}

/// Levenshtein distance over chars, for short words.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

pub mod snapshot;
