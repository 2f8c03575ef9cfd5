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

use super::{EventDiff, Input, edit_distance, whole_word_occurrences};
use crate::engine::suggestion::{Proposal, SuggestionSource};
use crate::syntax::{SyntaxContext, context_at, identifier_at};
use crate::text::{EditEvent, TextEdit};

/// How many recent events may confirm a rename that the last event mixed with other changes.
const CONFIRMING_EVENTS: usize = 4;

const SCORE_LOCAL: f32 = 0.92;
const SCORE_GLOBAL: f32 = 0.86;
const SCORE_PROSE: f32 = 0.82;
/// While the user may still be typing the new name, the proposal waits for the debounce.
const SCORE_WHILE_TYPING: f32 = 0.7;

/// Statements after which a binding they declare is visible (before them, the name still means
/// an outer binding: `let x = x + 1;`).
const DECLARATION_KINDS: &[&str] =
    &["let_declaration", "lexical_declaration", "variable_declaration"];

/// Languages where a later binding of the same name in the same scope shadows the earlier one
/// (`let x = 1; let x = 2;`). Elsewhere a second definition in one scope is the same variable
/// assigned again (Python) or an error.
fn same_scope_definitions_shadow(language: &LanguageInfo) -> bool {
    matches!(language.id.as_str(), "rust")
}

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

pub(super) fn propose(input: &Input<'_>) -> Option<Proposal> {
    let events: Vec<&EditEvent> = input.history.events().rev().take(CONFIRMING_EVENTS).collect();
    let last = *events.first()?;
    let diff = EventDiff::new(last)?;
    let replacements = diff.word_replacements();
    let (_, old, new) = *replacements.first()?;
    if replacements.iter().any(|&(_, o, n)| o != old || n != new) {
        return None;
    }
    let clean = replacements.len() == diff.hunks.len();
    // The text before the rename began, to tell whether the new name is fresh.
    let mut origin = &last.before;
    let mut confirmed = clean;
    let mut renamed_count = replacements.len();
    for event in &events[1..] {
        let Some(older) = EventDiff::new(event) else { break };
        let count =
            older.word_replacements().iter().filter(|&&(_, o, n)| o == old && n == new).count();
        if count == 0 {
            break;
        }
        renamed_count += count;
        origin = &event.before;
        confirmed |= is_clean_rename(&older, old, new);
    }
    if !confirmed {
        return None;
    }
    let renamed: Vec<Range<usize>> = replacements
        .iter()
        .map(|&(hunk, _, _)| {
            let token = diff.new_tokens[diff.hunks[hunk].new.start];
            diff.new_base + token.start..diff.new_base + token.end
        })
        .collect();
    if renamed.iter().any(|range| input.text.get(range.clone()) != Some(new)) {
        return None;
    }
    let fresh = whole_word_occurrences(&origin.to_string(), new).is_empty();
    let typing = renamed.iter().any(|range| {
        let edit = &last.last_edit_bytes;
        edit.len() <= 2 && range.start <= edit.start && edit.end <= range.end
    });

    let mut code_nodes = Vec::new();
    let mut prose_contexts = Vec::new();
    for range in &renamed {
        match identifier_at(input.tree, input.language, range.start) {
            Some(node) if node.byte_range() == *range => {
                code_nodes.push(Located::with_parents(node))
            }
            _ => match context_at(input.tree, input.language, input.text, range.start) {
                SyntaxContext::Code => return None,
                context => prose_contexts.push(context),
            },
        }
    }

    let (mut candidates, mut score) = if code_nodes.is_empty() {
        if !prose_rename_is_plausible(old, new) {
            return None;
        }
        (Vec::new(), SCORE_PROSE)
    } else {
        // Without a local binding, a rename shows itself by renaming where the name is
        // introduced (a definition, an import) or by renaming several uses alike; one changed
        // reference is more likely pointed at something new.
        let evident = renamed_count >= 2 || code_nodes.iter().any(is_binding_site);
        code_candidates(input, &code_nodes, old, fresh && evident)?
    };
    if !prose_contexts.is_empty() {
        candidates.extend(prose_candidates(input, old, &prose_contexts));
    }
    candidates.sort_by_key(|range| range.start);
    candidates.dedup();
    if candidates.is_empty() {
        return None;
    }
    if typing {
        score = score.min(SCORE_WHILE_TYPING);
    }
    let next =
        candidates.iter().find(|range| range.start >= input.cursor).or(candidates.first())?.clone();
    Some(Proposal {
        edits: vec![TextEdit::new(next.clone(), new)],
        source: SuggestionSource::Rename,
        score,
        group: candidates.iter().map(|range| TextEdit::new(range.clone(), new)).collect(),
    })
}

fn is_clean_rename(diff: &EventDiff, old: &str, new: &str) -> bool {
    let replacements = diff.word_replacements();
    !replacements.is_empty()
        && replacements.len() == diff.hunks.len()
        && replacements.iter().all(|&(_, o, n)| o == old && n == new)
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
    old.chars().count() >= 4 && new.chars().count() >= 3 && edit_distance(old, new) <= 2
}

/// Old-name words inside comments or strings of the given kinds.
fn prose_candidates(input: &Input<'_>, old: &str, contexts: &[SyntaxContext]) -> Vec<Range<usize>> {
    whole_word_occurrences(input.text, old)
        .into_iter()
        .filter(|&start| {
            let context = context_at(input.tree, input.language, input.text, start);
            contexts.contains(&context)
        })
        .map(|start| start..start + old.len())
        .collect()
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

/// The code occurrences of `old` that mean what the renamed nodes meant, and the score.
fn code_candidates(
    input: &Input<'_>,
    renamed: &[Located<'_>],
    old: &str,
    evident: bool,
) -> Option<(Vec<Range<usize>>, f32)> {
    let class = name_class(&renamed[0]);
    if class == NameClass::Ambiguous || renamed.iter().any(|node| name_class(node) != class) {
        return None;
    }
    let locals = locals_for(input.language);
    let analyze = |located: &Located<'_>| match locals {
        Some(locals) => analyze_node(locals, input.text, located),
        None => NodeLocals::default(),
    };
    let renamed_definition = if class == NameClass::Plain {
        renamed.iter().find_map(|located| {
            let info = analyze(located);
            info.is_definition.then(|| binding_of(located, &info, input.text.len()))
        })
    } else {
        None
    };
    // A renamed local binding is looked for only in its scope, which keeps big files fast.
    // Without a locals query, scopes are unknown: a plain name stays within its top-level item,
    // unless the rename is of that item's own name.
    let search = match &renamed_definition {
        Some(binding) => binding.scope.clone(),
        None if locals.is_none()
            && class == NameClass::Plain
            && !renamed.iter().any(names_top_level_item) =>
        {
            renamed[0].top_level().byte_range()
        }
        None => 0..input.text.len(),
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
        return Some((member_candidates(input, &renamed[0], &occurrences), SCORE_GLOBAL));
    }
    let shadows = same_scope_definitions_shadow(input.language);
    let old_definitions: Vec<Binding> = occurrences
        .iter()
        .filter(|located| locals.is_some_and(|locals| locals.may_define(located)))
        .filter_map(|located| {
            let info = analyze(located);
            info.is_definition.then(|| binding_of(located, &info, input.text.len()))
        })
        .collect();
    if let Some(binding) = renamed_definition {
        let candidates = occurrences
            .iter()
            .map(Located::range)
            .filter(|range| binding.captures(range, &old_definitions, shadows))
            .collect();
        return Some((candidates, SCORE_LOCAL));
    }
    if !evident {
        return None;
    }
    // The renamed node is a reference: to a local binding that still has the old name, or to
    // something defined elsewhere.
    let position = renamed[0].range();
    let bound_to = old_definitions
        .iter()
        .filter(|definition| definition.captures(&position, &old_definitions, shadows))
        .min_by_key(|definition| definition.scope.len());
    let candidates: Vec<Range<usize>> = match bound_to {
        Some(binding) => occurrences
            .iter()
            .map(Located::range)
            .filter(|range| {
                *range == binding.definition || binding.captures(range, &old_definitions, shadows)
            })
            .collect(),
        None => occurrences
            .iter()
            .map(Located::range)
            .filter(|range| {
                !old_definitions.iter().any(|definition| {
                    *range == definition.definition
                        || definition.captures(range, &old_definitions, shadows)
                })
            })
            .collect(),
    };
    Some((candidates, SCORE_GLOBAL))
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

/// Member occurrences: on `self`/`this` in the same class when the renamed access was, anywhere
/// otherwise.
fn member_candidates(
    input: &Input<'_>,
    renamed: &Located<'_>,
    occurrences: &[Located<'_>],
) -> Vec<Range<usize>> {
    let on_self = |located: &Located<'_>| {
        member_object(input.text, located)
            .is_some_and(|object| object == "self" || object == "this")
    };
    if !on_self(renamed) {
        return occurrences.iter().map(Located::range).collect();
    }
    let class = enclosing_class(renamed).map(|node| node.byte_range());
    occurrences
        .iter()
        .filter(|located| {
            on_self(located) && enclosing_class(located).map(|class| class.byte_range()) == class
        })
        .map(Located::range)
        .collect()
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
    let mut visible_from = scope.start;
    for ancestor in &located.ancestors {
        if ancestor.start_byte() < scope.start || ancestor.byte_range() == scope {
            break;
        }
        if DECLARATION_KINDS.contains(&ancestor.kind()) {
            visible_from = ancestor.end_byte();
            break;
        }
    }
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
