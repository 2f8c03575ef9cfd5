//! Rename propagation: the user replaced one identifier with another; the other occurrences of
//! the old name that refer to the same thing follow.
//!
//! Detection works on the last history event: its token diff must replace whole words, all with
//! the same pair `old -> new`, and nothing else (or an older event must have been such a clean
//! rename, when the last one also did other things). The renamed tokens must be whole
//! identifier nodes in the syntax tree, or words inside comments or strings.
//!
//! Which occurrences refer to the same thing:
//!
//! - a local binding (the locals query says the renamed node, or the binding a renamed use
//!   points to, is a `@local.definition`): the old-name references in the binding's scope, from
//!   where the binding is visible, minus those that an inner binding of the old name shadows;
//! - a member (field, property, attribute): the old-name member accesses and declarations, only
//!   on `self`/`this` inside the same class when the renamed access was on `self`/`this`;
//! - anything else (types, functions, imports): every old-name identifier of the same class that
//!   no local binding of the old name captures.
//!
//! Strings and comments are searched only when the user's rename was in one. Without a renamed
//! local binding to anchor it, a rename must introduce a fresh name (absent before the rename
//! began) and show itself: rename a definition or an import, or several uses alike. Otherwise
//! the user probably pointed one reference at another thing, which is not a rename.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Mutex, OnceLock};

use nextedit_grammars::LanguageInfo;
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator, Tree};

use super::{
    EventDiff, HUNK_JOIN_LINES, Input, RenamedName, edit_distance, group_into_hunks,
    map_to_current, whole_word_occurrences,
};
use crate::engine::suggestion::{Proposal, SuggestionSource};
use crate::syntax::{SyntaxContext, context_at, identifier_at};
use crate::text::{EditEvent, TextEdit};

/// How many recent events are searched for renames.
const RECENT_EVENTS: usize = 8;
/// At most this many renames (pairs of names) are followed per request, newest first.
const MAX_PAIRS: usize = 6;
/// At most this many hunks are proposed per rename.
const MAX_HUNKS: usize = 8;

const SCORE_LOCAL: f32 = 0.92;
const SCORE_GLOBAL: f32 = 0.86;
const SCORE_PROSE: f32 = 0.82;
/// A rename made once, inside a bigger rewrite, at the name's definition.
const SCORE_UNCONFIRMED_DEFINITION: f32 = 0.8;
/// An occurrence in another top-level item, where no scoping information says it is the same
/// name (a language without a locals query).
const SCORE_FILE_WIDE: f32 = 0.78;
/// While the user may still be typing the new name, the proposal waits for the debounce.
const SCORE_WHILE_TYPING: f32 = 0.7;
/// Below the default threshold: a member on a receiver of another shape, or a rename seen once
/// at a reference inside a bigger rewrite. Kept (not dropped) so that a lower threshold shows it.
const SCORE_DOUBTFUL: f32 = 0.5;

/// Statements after which a binding they declare is visible (before them, the name still means
/// an outer binding: `let x = x + 1;`, Go's `x := x + 1`).
const DECLARATION_KINDS: &[&str] = &[
    "let_declaration",
    "lexical_declaration",
    "variable_declaration",
    "short_var_declaration",
    "var_declaration",
    "const_declaration",
];

/// Languages where a later binding of the same name in the same scope shadows the earlier one
/// (`let x = 1; let x = 2;`). Elsewhere a second definition in one scope is the same variable
/// assigned again (Python) or an error.
fn same_scope_definitions_shadow(language: &LanguageInfo) -> bool {
    matches!(language.id.as_str(), "rust")
}

/// The sigil of private class members (`#count` in JavaScript and TypeScript), part of their
/// name, in the languages whose grammar has such names.
fn private_name_sigil(language: &LanguageInfo) -> Option<char> {
    language.is_identifier_kind(PRIVATE_NAME_KIND).then_some('#')
}

const PRIVATE_NAME_KIND: &str = "private_property_identifier";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameClass {
    /// A variable, type, function or module name.
    Plain,
    /// A field, property or attribute name after a dot, or declared in a struct or class body.
    Member,
    /// A name that is two things at once (shorthand `Foo { x }`) or a keyword argument: never
    /// renamed automatically.
    Ambiguous,
}

/// One rename the user made in the recent events: `old` became `new`.
struct RenamePair {
    old: String,
    new: String,
    /// The renamed tokens in the current text (those no newer event touched again).
    sites: Vec<Range<usize>>,
    /// How many tokens the user renamed this way in the recent events.
    count: usize,
    /// Whether some event with this rename did nothing but rename.
    clean: bool,
    /// The oldest event (index, newest first) seen with this rename.
    event: usize,
    /// The newest event seen with this rename.
    newest: usize,
    /// Whether an event with this rename also rewrote a line that bound the old name (`let old
    /// =`, `old :=`): the old binding may be gone.
    rebound: bool,
}

/// The renames of the recent events, newest first: every identifier that a token-aligned diff
/// of an event shows replaced by another identifier, inside a bigger rewrite too.
fn rename_pairs(input: &Input<'_>) -> Vec<RenamePair> {
    let events: Vec<&EditEvent> = input.history.events().rev().take(RECENT_EVENTS).collect();
    let mut pairs: Vec<RenamePair> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(diff) = EventDiff::new(event) else { continue };
        let (names, is_clean) = diff.renamed_names(private_name_sigil(input.language));
        for RenamedName { old, new, range } in names {
            // In a rewrite that still uses the old name, one use changed is not a rename (a
            // line copied and changed, a restructured expression).
            if !is_clean && !whole_word_occurrences(&diff.new_text, old).is_empty() {
                continue;
            }
            let position = match pairs.iter().position(|pair| pair.old == old && pair.new == new) {
                Some(position) => position,
                None => {
                    pairs.push(RenamePair {
                        old: old.to_owned(),
                        new: new.to_owned(),
                        sites: Vec::new(),
                        count: 0,
                        clean: is_clean,
                        event: index,
                        newest: index,
                        rebound: false,
                    });
                    pairs.len() - 1
                }
            };
            let pair = &mut pairs[position];
            pair.rebound |= !is_clean && binds_textually(&diff.old_text, old);
            if pair.event != index {
                pair.clean |= is_clean;
                pair.event = index;
            }
            pair.count += 1;
            if let Some(site) = map_to_current(&events, index, range)
                && input.text.get(site.clone()) == Some(new)
            {
                pair.sites.push(site);
            }
        }
    }
    // What a name became is the user's latest decision about it: of two renames of one name,
    // the newer one is followed; in one event, the one made more often, then the one that keeps
    // more of the name (a rewrite's token alignment pairs names at random too); a tie follows
    // neither.
    let swapped = |pair: &RenamePair| {
        pairs.iter().any(|other| other.old == pair.new && other.new == pair.old)
    };
    let rank = |pair: &RenamePair| {
        use std::cmp::Reverse;
        (pair.newest, Reverse(pair.count), Reverse(common_run(&pair.old, &pair.new)))
    };
    let followed = |pair: &RenamePair| {
        let rivals = pairs.iter().filter(|other| other.old == pair.old && other.new != pair.new);
        rivals.into_iter().all(|other| rank(pair) < rank(other))
    };
    let keep: Vec<bool> = pairs
        .iter()
        .map(|pair| !pair.sites.is_empty() && !swapped(pair) && followed(pair))
        .collect();
    let mut keep = keep.into_iter();
    pairs.retain(|_| keep.next().unwrap_or(false));
    pairs
}

pub(super) fn propose(input: &Input<'_>) -> Vec<Proposal> {
    let Some(last) = input.history.last() else { return Vec::new() };
    // The pending occurrences of every rename, in one list: a hunk may hold several renames, as
    // the unified diff of the user's finished change would.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut typing = false;
    for pair in rename_pairs(input).iter().take(MAX_PAIRS) {
        let Some((found, pair_typing)) = pair_candidates(input, pair, last) else { continue };
        typing |= pair_typing;
        for (range, score) in found {
            candidates.push(Candidate { range, score, new: pair.new.clone() });
        }
    }
    // Sorted by start; of two renames of one place, the newer one (listed first) stays.
    candidates.sort_by_key(|candidate| candidate.range.start);
    candidates.dedup_by(|later, earlier| later.range.start < earlier.range.end);
    if candidates.is_empty() {
        return Vec::new();
    }
    hunk_proposals(input, &candidates, typing)
}

/// The length in characters of the longest run of characters that `a` and `b` share.
fn common_run(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut best = 0;
    let mut previous = vec![0; b.len() + 1];
    for x in &a {
        let mut current = vec![0; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            if x == y {
                current[j + 1] = previous[j] + 1;
                best = best.max(current[j + 1]);
            }
        }
        previous = current;
    }
    best
}

/// An occurrence of the old name and how sure it is to mean the renamed thing.
type Scored = (Range<usize>, f32);

/// One occurrence to rename.
struct Candidate {
    range: Range<usize>,
    score: f32,
    new: String,
}

/// The occurrences that `pair` renames next, each with a score, and whether the user may still
/// be typing the new name.
fn pair_candidates(
    input: &Input<'_>,
    pair: &RenamePair,
    last: &EditEvent,
) -> Option<(Vec<Scored>, bool)> {
    let (old, new) = (pair.old.as_str(), pair.new.as_str());
    let fresh = is_fresh(input, pair, None);
    let typing = pair.sites.iter().any(|range| {
        let edit = &last.last_edit_bytes;
        edit.len() <= 2 && range.start <= edit.start && edit.end <= range.end
    });

    let mut code_nodes = Vec::new();
    let mut prose_sites = Vec::new();
    for range in &pair.sites {
        match identifier_at(input.tree, input.language, range.start) {
            Some(node) if node.byte_range() == *range => {
                code_nodes.push(Located::with_parents(node))
            }
            _ => match context_at(input.tree, input.language, input.text, range.start) {
                SyntaxContext::Code => return None,
                context => prose_sites.push((context, range.clone())),
            },
        }
    }

    let mut candidates: Vec<(Range<usize>, f32)> = Vec::new();
    if !code_nodes.is_empty() {
        // Without a local binding, a rename shows itself by renaming where the name is
        // introduced (a definition, an import) or by renaming several uses alike; one changed
        // reference is more likely pointed at something new.
        let at_definition = code_nodes.iter().any(is_binding_site);
        let evident = pair.count >= 2 || at_definition;
        // One rename may touch a name in several roles (a property's declaration, the
        // destructuring shorthand that binds it to a local, the local's uses): each role is
        // followed on its own. A shorthand place, two roles at once, only links them.
        let mut classes: Vec<NameClass> = Vec::new();
        for class in code_nodes.iter().map(name_class) {
            if class != NameClass::Ambiguous && !classes.contains(&class) {
                classes.push(class);
            }
        }
        if classes.is_empty() {
            return None;
        }
        let mut found = Vec::new();
        let mut defines = false;
        for class in classes {
            let nodes: Vec<Located<'_>> =
                code_nodes.iter().filter(|node| name_class(node) == class).cloned().collect();
            // A member's new name is fresh when no other member has it: a local or a constant
            // of that name is another thing.
            let fresh = fresh || class == NameClass::Member && is_fresh(input, pair, Some(class));
            let (class_found, class_defines) =
                code_candidates(input, &nodes, pair, fresh && evident)?;
            found.extend(class_found);
            defines |= class_defines;
        }
        found.sort_by_key(|(range, _)| range.start);
        found.dedup_by(|later, earlier| later.0 == earlier.0);
        let found = doubt_near_shorthands(input, old, found);
        // A rename made once inside a bigger rewrite is less certain: it counts when it renamed
        // a local binding (to a name its scope does not use yet) or where a name is introduced,
        // to a name that did not exist (a rewrite that swaps in an existing name restructures
        // the code; it does not rename).
        let cap = if pair.clean || pair.count >= 2 {
            1.0
        } else if defines || at_definition && fresh {
            SCORE_UNCONFIRMED_DEFINITION
        } else {
            SCORE_DOUBTFUL
        };
        candidates.extend(found.into_iter().map(|(range, score)| (range, score.min(cap))));
    }
    // Prose has no scopes to confirm a rename: only an edit that did nothing but rename, or the
    // same rename made twice, is followed there.
    if !prose_sites.is_empty() && (pair.clean || pair.count >= 2) {
        candidates.extend(prose_candidates(input, old, new, &prose_sites));
    }
    Some((candidates, typing))
}

/// Whether `pair.new` names nothing in the code but the places the user renamed: a rename
/// introduces a fresh name. Words in strings and comments don't count (a Go import aliased to
/// its path's last element, a comment that already says the new name). With a `class`, only
/// identifiers of that class count.
fn is_fresh(input: &Input<'_>, pair: &RenamePair, class: Option<NameClass>) -> bool {
    let counts = |other: NameClass| class.is_none_or(|class| other == class);
    !names_elsewhere(input, 0..input.text.len(), &pair.new, &pair.sites, counts)
}

/// Whether an identifier in `range` of a class that `counts` is called `name`, other than in
/// `sites` (a range that is not on character boundaries counts as yes: nothing is proposed from
/// it).
fn names_elsewhere(
    input: &Input<'_>,
    range: Range<usize>,
    name: &str,
    sites: &[Range<usize>],
    counts: impl Fn(NameClass) -> bool,
) -> bool {
    let Some(text) = input.text.get(range.clone()) else { return true };
    let starts: Vec<usize> = whole_word_occurrences(text, name)
        .into_iter()
        .map(|start| range.start + start)
        .filter(|start| !sites.iter().any(|site| site.contains(start)))
        .collect();
    identifiers_at_starts(input.tree, input.language, &starts, name.len())
        .iter()
        .any(|located| counts(name_class(located)))
}

/// Lowers the occurrences near a shorthand use of the old name (`{ count }`, `Foo { count }`) to
/// doubtful: a shorthand is a member and a local at once, so whether it follows (and how) is the
/// user's call, and a hunk without it would be half the change.
fn doubt_near_shorthands(input: &Input<'_>, old: &str, found: Vec<Scored>) -> Vec<Scored> {
    let starts = whole_word_occurrences(input.text, old);
    if found.is_empty() || starts.len() > MAX_OCCURRENCES {
        return found;
    }
    let shorthands: Vec<usize> =
        identifiers_at_starts(input.tree, input.language, &starts, old.len())
            .iter()
            .filter(|located| name_class(located) == NameClass::Ambiguous)
            .map(|located| located.range().start)
            .filter(|start| !found.iter().any(|(range, _)| range.start == *start))
            .collect();
    if shorthands.is_empty() {
        return found;
    }
    let breaks: Vec<usize> = input.text.match_indices('\n').map(|(index, _)| index).collect();
    let line_of = |byte: usize| breaks.partition_point(|&index| index < byte);
    let shorthand_lines: Vec<usize> = shorthands.into_iter().map(line_of).collect();
    found
        .into_iter()
        .map(|(range, score)| {
            let line = line_of(range.start);
            let near = shorthand_lines.iter().any(|other| other.abs_diff(line) <= HUNK_JOIN_LINES);
            (range, if near { score.min(SCORE_DOUBTFUL) } else { score })
        })
        .collect()
}

/// One proposal per hunk of candidates (the next hunk after the cursor first, then the ones
/// below it, then the ones above it, nearest first); a hunk scores as its least certain
/// occurrence. Every proposal carries the confident occurrences as its group.
fn hunk_proposals(input: &Input<'_>, candidates: &[Candidate], typing: bool) -> Vec<Proposal> {
    let score_of: HashMap<usize, f32> =
        candidates.iter().map(|candidate| (candidate.range.start, candidate.score)).collect();
    let edit = |candidate: &Candidate| TextEdit::new(candidate.range.clone(), &candidate.new);
    let edits: Vec<TextEdit> = candidates.iter().map(edit).collect();
    let group: Vec<TextEdit> =
        candidates.iter().filter(|candidate| candidate.score > SCORE_DOUBTFUL).map(edit).collect();
    let hunks = group_into_hunks(input.text, edits);
    let next = hunks
        .iter()
        .position(|hunk| hunk.last().is_some_and(|edit| edit.range.start >= input.cursor))
        .unwrap_or(hunks.len());
    let order = (next..hunks.len()).chain((0..next).rev()).take(MAX_HUNKS);
    let mut proposals = Vec::new();
    for (rank, index) in order.enumerate() {
        let hunk = &hunks[index];
        // The next hunk is the likeliest: each later one scores a little less, so that ranking
        // (which prefers the smaller of equal scores) keeps the order.
        let mut score = hunk
            .iter()
            .map(|edit| score_of.get(&edit.range.start).copied().unwrap_or(SCORE_DOUBTFUL))
            .fold(1.0_f32, f32::min);
        if typing {
            score = score.min(SCORE_WHILE_TYPING);
        }
        score -= 0.001 * rank as f32;
        proposals.push(Proposal {
            edits: hunk.clone(),
            source: SuggestionSource::Rename,
            score,
            group: if group.is_empty() { hunk.clone() } else { group.clone() },
        });
    }
    proposals
}

/// A word changed inside comments or strings only is worth propagating when it looks like a
/// name (`snake_case`, `camelCase`, digits) or like a typo fix, not like rewording prose.
fn prose_rename_is_plausible(old: &str, new: &str) -> bool {
    let looks_like_code = |word: &str| {
        word.contains('_')
            || word.chars().any(|c| c.is_ascii_digit())
            || word.chars().skip(1).any(char::is_uppercase) && word.chars().any(char::is_lowercase)
    };
    if looks_like_code(old) && looks_like_code(new) {
        return true;
    }
    // A typo fix; a change of case alone is judged by where it is (see `prose_candidates`).
    old.chars().count() >= 4
        && new.chars().count() >= 3
        && edit_distance(old, new) <= 2
        && old.to_lowercase() != new.to_lowercase()
}

/// Old-name words inside comments or strings of the kinds the user renamed in, with the same
/// literal text around them as a renamed word had (the run of non-blank characters, quotes
/// excluded, that holds it): `"--history-max"` -> `"--history-size"` follows to
/// `"--history-max="`, not to another `max`. A lone word follows only when the rename looks like
/// a name or a typo fix.
fn prose_candidates(
    input: &Input<'_>,
    old: &str,
    new: &str,
    sites: &[(SyntaxContext, Range<usize>)],
) -> Vec<(Range<usize>, f32)> {
    // A name spelt anew in prose (`Click` -> `click`, `Github` -> `GitHub`): a change of case
    // in the middle of a sentence, followed only in the middle of sentences too. At a sentence's
    // start it would be grammar.
    let respelt = old != new && old.to_lowercase() == new.to_lowercase();
    if respelt && !sites.iter().all(|(_, range)| mid_sentence(input.text, range.start)) {
        return Vec::new();
    }
    let plausible = respelt || prose_rename_is_plausible(old, new);
    let literals: Vec<(SyntaxContext, &str, &str)> = sites
        .iter()
        .map(|(context, range)| {
            let (prefix, suffix) = literal_around(input.text, range);
            (*context, prefix, suffix)
        })
        // A word of a compound literal (`--history-max`, `config.max_size`) is a name; a
        // short word or a word of prose (only punctuation around it) must look like one.
        .filter(|(_, prefix, suffix)| {
            plausible || old.chars().count() >= 3 && (!prefix.is_empty() || !suffix.is_empty())
        })
        .collect();
    if literals.is_empty() {
        return Vec::new();
    }
    whole_word_occurrences(input.text, old)
        .into_iter()
        .map(|start| start..start + old.len())
        .filter(|range| !respelt || mid_sentence(input.text, range.start))
        .filter(|range| {
            let (prefix, suffix) = literal_around(input.text, range);
            let context = context_at(input.tree, input.language, input.text, range.start);
            literals.iter().any(|(kind, literal_prefix, literal_suffix)| {
                *kind == context && prefix == *literal_prefix && suffix.starts_with(literal_suffix)
            })
        })
        .map(|range| (range, SCORE_PROSE))
        .collect()
}

/// Whether the word at `start` continues a sentence: a word, a comma or an opening parenthesis
/// comes before it, across whitespace, and across the quotes between concatenated string
/// literals (`"starting with "` `"Click 2.0"`). The first word of a literal starts one.
fn mid_sentence(text: &str, start: usize) -> bool {
    let is_quote = |c: char| matches!(c, '"' | '\'' | '`');
    let mut before = text[..start].chars().rev().filter(|c| !c.is_whitespace());
    loop {
        match before.next() {
            Some(c) if is_quote(c) => {
                // The literal's opening quote: only the closing quote of another literal may
                // come before it.
                if !before.next().is_some_and(is_quote) {
                    return false;
                }
            }
            Some(c) => return c.is_alphanumeric() || matches!(c, ',' | ';' | '('),
            None => return false,
        }
    }
}

/// The literal text before and after `range` within its run of non-blank, non-quote characters.
fn literal_around<'t>(text: &'t str, range: &Range<usize>) -> (&'t str, &'t str) {
    let is_literal = |c: char| !c.is_whitespace() && !matches!(c, '"' | '\'' | '`');
    let before = &text[..range.start];
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_literal(c))
        .map_or(0, |(index, c)| index + c.len_utf8());
    let after = &text[range.end..];
    let end = after.find(|c: char| !is_literal(c)).unwrap_or(after.len());
    // Sentence punctuation is not part of a literal.
    let prose = |c: char| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')');
    (before[start..].trim_start_matches(prose), after[..end].trim_end_matches(prose))
}

/// A node with its ancestors, nearest first. `Node::parent` walks down from the root each time,
/// which costs a lot in a file with many top-level items; a tree cursor knows the ancestors.
#[derive(Clone)]
struct Located<'tree> {
    node: Node<'tree>,
    ancestors: Vec<Node<'tree>>,
}

impl<'tree> Located<'tree> {
    /// For the few nodes found without a cursor.
    fn with_parents(node: Node<'tree>) -> Located<'tree> {
        let mut ancestors = Vec::new();
        let mut current = node.parent();
        while let Some(ancestor) = current {
            ancestors.push(ancestor);
            current = ancestor.parent();
        }
        Located { node, ancestors }
    }

    fn parent(&self) -> Option<Node<'tree>> {
        self.ancestors.first().copied()
    }

    fn range(&self) -> Range<usize> {
        self.node.byte_range()
    }

    /// The ancestor just below the root (the node itself at the top level).
    fn top_level(&self) -> Node<'tree> {
        match self.ancestors.len() {
            0 | 1 => self.node,
            len => self.ancestors[len - 2],
        }
    }
}

/// The code occurrences of `old` that mean what the renamed nodes meant, each with a score, and
/// whether a local binding anchors the rename (a renamed definition, or the new binding that
/// replaced the old one).
fn code_candidates(
    input: &Input<'_>,
    renamed: &[Located<'_>],
    pair: &RenamePair,
    evident: bool,
) -> Option<(Vec<Scored>, bool)> {
    let (old, new, sites) = (pair.old.as_str(), pair.new.as_str(), pair.sites.as_slice());
    let class = name_class(&renamed[0]);
    if class == NameClass::Ambiguous || renamed.iter().any(|node| name_class(node) != class) {
        return None;
    }
    let locals = locals_for(input.language);
    // The renamed local bindings (one per function when the user renamed a parameter of
    // several overloads alike).
    let renamed_definitions = match locals {
        Some(locals) if class == NameClass::Plain => definitions_among(input, locals, renamed),
        _ => Vec::new(),
    };
    // Renamed local bindings are looked for only in their scopes, which keeps big files fast.
    let search = match (
        renamed_definitions.iter().map(|binding| binding.scope.start).min(),
        renamed_definitions.iter().map(|binding| binding.scope.end).max(),
    ) {
        (Some(start), Some(end)) => start..end,
        _ => 0..input.text.len(),
    };
    let starts: Vec<usize> = whole_word_occurrences(input.text.get(search.clone())?, old)
        .into_iter()
        .map(|start| search.start + start)
        .collect();
    if starts.len() > MAX_OCCURRENCES {
        // Scoping costs grow with the square of the occurrences; a rename this wide is not one to
        // propagate a Tab at a time anyway.
        return None;
    }
    let occurrences: Vec<Located<'_>> =
        identifiers_at_starts(input.tree, input.language, &starts, old.len())
            .into_iter()
            .filter(|located| name_class(located) == class)
            .collect();
    if class == NameClass::Member {
        if !evident {
            return None;
        }
        return Some((member_candidates(input, renamed, &occurrences), false));
    }
    let Some(locals) = locals else {
        return evident.then(|| (unscoped_candidates(renamed, &occurrences), false));
    };
    let shadows = same_scope_definitions_shadow(input.language);
    let old_definitions = definitions_among(input, locals, &occurrences);
    if !renamed_definitions.is_empty() {
        // A variable of the new name already used in a binding's scope (beyond the renamed
        // places) would clash: the user is restructuring, not renaming. An attribute or a
        // field of that name (`command.callback`) is another thing.
        let clash = renamed_definitions.iter().any(|binding| {
            names_elsewhere(input, binding.scope.clone(), new, sites, |class| {
                class != NameClass::Member
            })
        });
        if clash {
            return None;
        }
        let candidates = occurrences
            .iter()
            .map(Located::range)
            .filter(|range| {
                renamed_definitions
                    .iter()
                    .any(|binding| binding.captures(range, &old_definitions, shadows))
            })
            .map(|range| (range, SCORE_LOCAL))
            .collect();
        return Some((candidates, true));
    }
    // The renamed node is a reference: to a local binding that still has the old name, or to
    // something defined elsewhere.
    let position = renamed[0].range();
    let bound_to = binding_at(&old_definitions, &position, shadows);
    if bound_to.is_none() && pair.rebound {
        let dangling =
            dangling_uses(input, locals, &position, new, &occurrences, &old_definitions, shadows);
        if !dangling.is_empty() {
            let found = dangling.into_iter().map(|range| (range, SCORE_LOCAL)).collect();
            return Some((found, true));
        }
    }
    if !evident {
        return None;
    }
    let candidates: Vec<Range<usize>> = match bound_to {
        Some(binding) => occurrences
            .iter()
            .map(Located::range)
            .filter(|range| {
                *range == binding.definition || binding.captures(range, &old_definitions, shadows)
            })
            .collect(),
        None => {
            // Renaming uses of a name defined elsewhere points them at something else while
            // the definition stays, unless a renamed place is a definition or import itself.
            let keep_definitions = !renamed.iter().any(is_binding_site);
            // A top-level item's name and a name defined inside another item (a trait's or a
            // class's method of the same name) are two things.
            let top_level = renamed.iter().any(names_top_level_item);
            occurrences
                .iter()
                .filter(|located| !(keep_definitions && is_binding_site(located)))
                .filter(|located| {
                    !(top_level && is_binding_site(located) && !names_top_level_item(located))
                })
                .map(Located::range)
                .filter(|range| !bound_by_any(range, &old_definitions, shadows))
                .collect()
        }
    };
    Some((candidates.into_iter().map(|range| (range, SCORE_GLOBAL)).collect(), false))
}

/// The user rewrote the lines that bound the old name, binding the new one instead, and renamed
/// a use: the old name's other uses where the new binding is visible are bound to nothing now
/// (no binding of the old name captures them), and follow.
fn dangling_uses(
    input: &Input<'_>,
    locals: &Locals,
    position: &Range<usize>,
    new: &str,
    occurrences: &[Located<'_>],
    old_definitions: &[Binding],
    shadows: bool,
) -> Vec<Range<usize>> {
    let starts = whole_word_occurrences(input.text, new);
    if starts.len() > MAX_OCCURRENCES {
        return Vec::new();
    }
    let named = identifiers_at_starts(input.tree, input.language, &starts, new.len());
    let new_definitions = definitions_among(input, locals, &named);
    let Some(binding) = binding_at(&new_definitions, position, shadows) else {
        return Vec::new();
    };
    occurrences
        .iter()
        .filter(|located| name_class(located) == NameClass::Plain)
        .map(Located::range)
        .filter(|range| binding.captures(range, &new_definitions, shadows))
        .filter(|range| !bound_by_any(range, old_definitions, shadows))
        .collect()
}

/// The local bindings that `nodes` define.
fn definitions_among(input: &Input<'_>, locals: &Locals, nodes: &[Located<'_>]) -> Vec<Binding> {
    nodes
        .iter()
        .filter(|located| locals.may_define(located))
        .filter_map(|located| {
            let info = analyze_node(locals, input.text, located);
            info.is_definition.then(|| binding_of(located, &info, input.text.len()))
        })
        .collect()
}

/// The innermost of `definitions` that `range` refers to.
fn binding_at<'b>(
    definitions: &'b [Binding],
    range: &Range<usize>,
    shadows: bool,
) -> Option<&'b Binding> {
    definitions
        .iter()
        .filter(|definition| definition.captures(range, definitions, shadows))
        .min_by_key(|definition| definition.scope.len())
}

/// Whether `range` is one of `definitions` or refers to one.
fn bound_by_any(range: &Range<usize>, definitions: &[Binding], shadows: bool) -> bool {
    definitions.iter().any(|definition| {
        *range == definition.definition || definition.captures(range, definitions, shadows)
    })
}

/// Whether `text` binds `name` the way most languages write it: `let name`, `let mut name`,
/// `var name`, `const name`, `name =` or `name :=` (not `name ==`).
fn binds_textually(text: &str, name: &str) -> bool {
    whole_word_occurrences(text, name).into_iter().any(|start| {
        let before = text[..start].trim_end();
        let after = text[start + name.len()..].trim_start();
        let keyword = ["let", "let mut", "var", "const"].iter().any(|keyword| {
            before.strip_suffix(keyword).is_some_and(|rest| {
                !rest.ends_with(super::is_word_char) && before.len() < text[..start].len()
            })
        });
        let assigned = after.starts_with(":=")
            || after.starts_with('=') && !after.starts_with("==") && !after.starts_with("=>");
        keyword || assigned
    })
}

/// Without a locals query, scopes are unknown. A top-level item that declares the old name
/// itself (a Go `count := 1`, a parameter) keeps its occurrences: when the renamed node is in
/// one, the rename stays there; elsewhere those items are left out. Occurrences in other items
/// score lower, unless the rename is of a top-level item's own name.
fn unscoped_candidates(
    renamed: &[Located<'_>],
    occurrences: &[Located<'_>],
) -> Vec<(Range<usize>, f32)> {
    let defining: Vec<Range<usize>> = occurrences
        .iter()
        .chain(renamed)
        .filter(|located| declares_local(located))
        .map(|located| located.top_level().byte_range())
        .collect();
    let item = renamed[0].top_level().byte_range();
    let item_wide = renamed.iter().any(names_top_level_item);
    if !item_wide && defining.contains(&item) {
        return occurrences
            .iter()
            .filter(|located| located.top_level().byte_range() == item)
            .map(|located| (located.range(), SCORE_GLOBAL))
            .collect();
    }
    occurrences
        .iter()
        .filter(|located| !defining.contains(&located.top_level().byte_range()))
        .map(|located| {
            let same_item = located.top_level().byte_range() == item;
            (located.range(), if item_wide || same_item { SCORE_GLOBAL } else { SCORE_FILE_WIDE })
        })
        .collect()
}

/// Node kinds that declare a local name in a language without a locals query (Go).
const LOCAL_DECLARATION_KINDS: &[&str] = &[
    "short_var_declaration",
    "var_spec",
    "const_spec",
    "parameter_declaration",
    "variadic_parameter_declaration",
    "range_clause",
];

/// Whether the node declares a name inside a function (not at the top level).
fn declares_local(located: &Located<'_>) -> bool {
    let in_function = located.ancestors.iter().any(|ancestor| {
        let kind = ancestor.kind();
        kind.contains("function") || kind.contains("method") || kind == "func_literal"
    });
    if !in_function {
        return false;
    }
    let mut parents = located.ancestors.iter();
    match parents.next() {
        Some(parent) if LOCAL_DECLARATION_KINDS.contains(&parent.kind()) => true,
        Some(parent) if parent.kind() == "expression_list" => parents
            .next()
            .is_some_and(|grand| matches!(grand.kind(), "short_var_declaration" | "range_clause")),
        _ => false,
    }
}

/// More occurrences of the old name than this in the searched range and no rename is proposed.
pub(crate) const MAX_OCCURRENCES: usize = 2000;

/// Node kinds whose `name` field introduces a name.
const NAMED_DEFINITION_KINDS: &[&str] = &[
    "function_item",
    "function_signature_item",
    "struct_item",
    "enum_item",
    "union_item",
    "trait_item",
    "type_item",
    "const_item",
    "static_item",
    "mod_item",
    "macro_definition",
    "field_declaration",
    "enum_variant",
    "function_definition",
    "class_definition",
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "abstract_class_declaration",
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "method_definition",
    "method_signature",
    "public_field_definition",
    "property_signature",
    "const_spec",
    "var_spec",
    "type_spec",
    "method_declaration",
    "method_spec",
];

/// Whether the node is the name of a top-level definition or import.
fn names_top_level_item(located: &Located<'_>) -> bool {
    is_binding_site(located) && located.ancestors.len() <= 3
}

/// Node kinds that import names.
const IMPORT_KINDS: &[&str] = &[
    "use_declaration",
    "extern_crate_declaration",
    "import_statement",
    "import_from_statement",
    "future_import_statement",
    "import_declaration",
    "import_clause",
    "import_specifier",
];

/// Whether the node is where a name is introduced: a definition's name, an import, or the target
/// of an assignment (`self.count = 0`, `LIMIT = 3`).
fn is_binding_site(located: &Located<'_>) -> bool {
    if let Some(parent) = located.parent()
        && NAMED_DEFINITION_KINDS.contains(&parent.kind())
        && parent.child_by_field_name("name") == Some(located.node)
    {
        return true;
    }
    let mut child = located.node;
    for ancestor in &located.ancestors {
        if IMPORT_KINDS.contains(&ancestor.kind()) {
            return true;
        }
        if ancestor.kind() == "assignment" {
            return ancestor.child_by_field_name("left") == Some(child);
        }
        if matches!(
            ancestor.kind(),
            "block"
                | "statement_block"
                | "expression_statement"
                | "function_definition"
                | "class_definition"
        ) {
            return false;
        }
        child = *ancestor;
    }
    false
}

/// The identifier nodes that span exactly `len` bytes from one of `starts` (sorted), with their
/// ancestors. One cursor moves from each occurrence to the next: up to the nearest ancestor that
/// holds the next one, then down through the children that hold it.
fn identifiers_at_starts<'tree>(
    tree: &'tree Tree,
    language: &LanguageInfo,
    starts: &[usize],
    len: usize,
) -> Vec<Located<'tree>> {
    let mut found: Vec<Located<'tree>> = Vec::new();
    let mut cursor = tree.root_node().walk();
    // The ancestors of the cursor's node, root first.
    let mut path: Vec<Node<'tree>> = Vec::new();
    let holds =
        |node: Node<'_>, start: usize| node.start_byte() <= start && start + len <= node.end_byte();
    for &start in starts {
        while !holds(cursor.node(), start) && cursor.goto_parent() {
            path.pop();
        }
        loop {
            let node = cursor.node();
            if !holds(node, start) {
                break;
            }
            if node.byte_range() == (start..start + len)
                && language.is_identifier_kind(node.kind())
                && !node.is_missing()
            {
                found.push(Located { node, ancestors: path.iter().rev().copied().collect() });
                break;
            }
            if cursor.goto_first_child_for_byte(start).is_none() {
                break;
            }
            path.push(node);
        }
    }
    found
}

/// Member occurrences: on `self`/`this` in the same class when the renamed access was. Otherwise
/// every access, those on a receiver of the same shape (the same last name: `self.r.x`, `r.x`) or
/// after a renamed declaration sure, the others doubtful.
fn member_candidates(
    input: &Input<'_>,
    renamed: &[Located<'_>],
    occurrences: &[Located<'_>],
) -> Vec<(Range<usize>, f32)> {
    // A private name (`#count`) is one member of the class whose body it is written in, on any
    // receiver.
    if occurrences.iter().any(|located| located.node.kind() == PRIVATE_NAME_KIND) {
        let class = enclosing_class(&renamed[0]).map(|node| node.byte_range());
        return occurrences
            .iter()
            .filter(|located| enclosing_class(located).map(|node| node.byte_range()) == class)
            .map(|located| (located.range(), SCORE_GLOBAL))
            .collect();
    }
    let on_self = |located: &Located<'_>| {
        member_object(input.text, located)
            .is_some_and(|object| object == "self" || object == "this")
    };
    if on_self(&renamed[0]) {
        let class = enclosing_class(&renamed[0]).map(|node| node.byte_range());
        return occurrences
            .iter()
            .filter(|located| {
                on_self(located)
                    && enclosing_class(located).map(|class| class.byte_range()) == class
            })
            .map(|located| (located.range(), SCORE_GLOBAL))
            .collect();
    }
    let shape = |located: &Located<'_>| {
        member_object(input.text, located).map(|object| {
            let end = object.trim_end_matches(|c: char| !super::is_word_char(c));
            let start = end.rfind(|c: char| !super::is_word_char(c)).map_or(0, |index| index + 1);
            &end[start..]
        })
    };
    let declared = renamed.iter().any(is_binding_site);
    let shapes: Vec<Option<&str>> = renamed.iter().map(shape).collect();
    // A member of an imported module is defined outside the file: pointing a use at another
    // member of that module (`cabc.Iterator` -> `cabc.Generator`) changes what it means.
    if !declared && shapes.iter().flatten().any(|receiver| is_imported(input, receiver)) {
        return Vec::new();
    }
    occurrences
        .iter()
        .map(|located| {
            let sure = declared || shapes.contains(&shape(located));
            (located.range(), if sure { SCORE_GLOBAL } else { SCORE_DOUBTFUL })
        })
        .collect()
}

/// Whether `name` is bound by an import of the file (`import collections.abc as cabc`).
fn is_imported(input: &Input<'_>, name: &str) -> bool {
    let starts = whole_word_occurrences(input.text, name);
    if starts.len() > MAX_OCCURRENCES {
        return false;
    }
    identifiers_at_starts(input.tree, input.language, &starts, name.len()).iter().any(|located| {
        located.ancestors.iter().any(|ancestor| IMPORT_KINDS.contains(&ancestor.kind()))
    })
}

/// The text of the object in `object.member`, when the node is the member of such an access.
fn member_object<'t>(text: &'t str, located: &Located<'_>) -> Option<&'t str> {
    let parent = located.parent()?;
    let object = match parent.kind() {
        "attribute" => parent.child_by_field_name("object")?,
        "member_expression" => parent.child_by_field_name("object")?,
        "field_expression" => parent.child_by_field_name("value")?,
        _ => return None,
    };
    text.get(object.byte_range())
}

fn enclosing_class<'tree>(located: &Located<'tree>) -> Option<Node<'tree>> {
    located.ancestors.iter().copied().find(|ancestor| {
        matches!(
            ancestor.kind(),
            "class_definition"
                | "class_declaration"
                | "class"
                | "abstract_class_declaration"
                | "impl_item"
        )
    })
}

fn name_class(located: &Located<'_>) -> NameClass {
    let node = located.node;
    match node.kind() {
        "field_identifier" | "property_identifier" | "private_property_identifier" => {
            NameClass::Member
        }
        "shorthand_field_identifier"
        | "shorthand_property_identifier"
        | "shorthand_property_identifier_pattern" => NameClass::Ambiguous,
        _ => {
            let Some(parent) = located.parent() else { return NameClass::Plain };
            let is_field =
                |field: &str| parent.child_by_field_name(field).is_some_and(|child| child == node);
            match parent.kind() {
                "attribute" if is_field("attribute") => NameClass::Member,
                "keyword_argument" if is_field("name") => NameClass::Ambiguous,
                "shorthand_field_initializer" => NameClass::Ambiguous,
                // The key of a Go composite literal: a field name, or a map key's variable.
                "literal_element"
                    if located.ancestors.get(1).is_some_and(|keyed| {
                        keyed.kind() == "keyed_element"
                            && keyed.child_by_field_name("key") == Some(parent)
                    }) =>
                {
                    NameClass::Ambiguous
                }
                _ => NameClass::Plain,
            }
        }
    }
}

/// Where a local binding lives and from where it is visible.
#[derive(Debug, Clone)]
struct Binding {
    definition: Range<usize>,
    scope: Range<usize>,
    visible_from: usize,
}

impl Binding {
    /// Whether a reference at `range` means this binding: inside its scope, after it becomes
    /// visible, not shadowed by another binding of the same name, and not a binding itself.
    fn captures(
        &self,
        range: &Range<usize>,
        definitions: &[Binding],
        same_scope_shadows: bool,
    ) -> bool {
        if !contains(&self.scope, range) || range.start < self.visible_from {
            return false;
        }
        definitions.iter().all(|other| {
            if other.definition == self.definition || !contains(&other.scope, range) {
                return true;
            }
            let inner = contains(&self.scope, &other.scope) && other.scope != self.scope;
            let later_in_same = other.scope == self.scope
                && same_scope_shadows
                && other.definition.start > self.definition.start;
            if !(inner || later_in_same) {
                return true;
            }
            // The other binding shadows from where it becomes visible; it is itself a binding.
            !(other.visible_from <= range.start || other.definition == *range)
        })
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

fn binding_of(located: &Located<'_>, info: &NodeLocals, text_len: usize) -> Binding {
    let scope = info.scopes.first().cloned().unwrap_or(0..text_len);
    // A declaration at the top of the file is visible in the whole file (Go's package scope);
    // a nested one from the end of its statement.
    let file_wide = located.ancestors.last().is_some_and(|root| root.byte_range() == scope);
    let declaration = located
        .ancestors
        .iter()
        .take_while(|ancestor| !file_wide && ancestor.byte_range() != scope)
        .take_while(|ancestor| ancestor.start_byte() >= scope.start)
        .find(|ancestor| DECLARATION_KINDS.contains(&ancestor.kind()));
    let visible_from = declaration.map_or(scope.start, |statement| statement.end_byte());
    Binding { definition: located.range(), scope, visible_from }
}

/// A compiled locals query and its capture indices.
struct Locals {
    query: Query,
    scope: Option<u32>,
    definition: Option<u32>,
    /// The outermost node kind of every pattern with a `@local.definition` capture: a name can
    /// be a definition only below one of these, a few levels up at most.
    definition_roots: Vec<String>,
}

/// How far above a defined name the outermost node of a definition pattern may be.
const DEFINITION_PATTERN_DEPTH: usize = 4;

impl Locals {
    fn may_define(&self, located: &Located<'_>) -> bool {
        located
            .ancestors
            .iter()
            .take(DEFINITION_PATTERN_DEPTH)
            .any(|ancestor| self.definition_roots.iter().any(|kind| kind == ancestor.kind()))
    }
}

/// The first node kind of each line of a query source that captures `@local.definition`.
fn definition_roots(source: &str) -> Vec<String> {
    let mut roots: Vec<String> = source
        .lines()
        .filter(|line| line.contains("@local.definition") && !line.trim_start().starts_with(';'))
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('(')?;
            let kind: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            (!kind.is_empty()).then_some(kind)
        })
        .collect();
    roots.sort();
    roots.dedup();
    roots
}

fn locals_for(language: &'static LanguageInfo) -> Option<&'static Locals> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<&'static Locals>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = crate::locks::lock(cache);
    *cache.entry(language.id.clone()).or_insert_with(|| {
        let source = language.locals_query()?;
        let query = Query::new(&language.language()?, source).ok()?;
        let scope = query.capture_index_for_name("local.scope");
        let definition = query.capture_index_for_name("local.definition");
        // Leaked once per language: queries live as long as the process.
        let definition_roots = definition_roots(source);
        Some(&*Box::leak(Box::new(Locals { query, scope, definition, definition_roots })))
    })
}

#[derive(Debug, Default)]
struct NodeLocals {
    is_definition: bool,
    /// Scopes containing the node, innermost first.
    scopes: Vec<Range<usize>>,
}

fn analyze_node(locals: &Locals, text: &str, located: &Located<'_>) -> NodeLocals {
    // Query only the top-level item that holds the node: a query from the root would walk every
    // top-level item before it, for every occurrence. The root is a scope in every locals query.
    let node = located.node;
    let mut cursor = QueryCursor::new();
    cursor.set_byte_range(node.byte_range());
    let mut info = NodeLocals::default();
    let mut captures = cursor.captures(&locals.query, located.top_level(), text.as_bytes());
    while let Some((query_match, index)) = captures.next() {
        let capture = query_match.captures[*index];
        if Some(capture.index) == locals.definition && capture.node == node {
            info.is_definition = true;
        } else if Some(capture.index) == locals.scope
            && contains(&capture.node.byte_range(), &node.byte_range())
        {
            info.scopes.push(capture.node.byte_range());
        }
    }
    if let Some(root) = located.ancestors.last() {
        info.scopes.push(root.byte_range());
    }
    info.scopes.sort_by_key(|scope| scope.len());
    info.scopes.dedup();
    info
}
