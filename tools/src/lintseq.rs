//! LintSeq-style synthetic edit sequences (`nextedit mine --synthetic`): a file at HEAD is taken
//! apart backwards, one syntax node (a statement, an item, an argument, a list element) at a time,
//! keeping only the states that parse with no more ERROR or MISSING nodes than the file had. Read
//! forwards, the states are a sequence of edits that each leave the program free of syntax
//! errors; every step after the first becomes a case whose history is the steps before it.
//! Deterministic for a seed.

use std::time::Duration;

use serde_json::json;
use tree_sitter::Node;

use crate::eval::cases::{Case, CaseCursor};
use nextedit::engine::model::decode::Rng;
use nextedit::syntax::count_errors_in_range;
use nextedit::syntax::parse_str;
use nextedit::text::affixes::common_affixes;
use nextedit_grammars::LanguageInfo;

/// A number below `bound` (0 when `bound` is 0).
fn below(rng: &mut Rng, bound: usize) -> usize {
    (rng.next_u64() % bound.max(1) as u64) as usize
}

/// A stable seed for one file from the run's seed and the file's path (FNV-1a).
pub fn file_seed(seed: u64, path: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Parent kinds whose named children are units a programmer adds one at a time.
const LIST_KIND_ENDINGS: &[&str] = &[
    "block",
    "body",
    "list",
    "arguments",
    "parameters",
    "source_file",
    "program",
    "module",
    "array",
    "object",
    "compound_statement",
    "statement_block",
    "declaration_list",
    "field_declaration_list",
    "enum_variant_list",
    "match_block",
    "dictionary",
    "tuple",
];

fn is_list_kind(kind: &str) -> bool {
    LIST_KIND_ENDINGS.iter().any(|ending| kind.ends_with(ending))
}

/// The byte range deleting `node` removes: its whole lines when it has them to itself, else the
/// node with one separating comma (after it, or else before it) and the spaces next to it.
fn deletion_range(text: &str, node: Node<'_>) -> std::ops::Range<usize> {
    let (start, end) = (node.start_byte(), node.end_byte());
    let line_start = text[..start].rfind('\n').map_or(0, |index| index + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |index| end + index + 1);
    let blank = |part: &str| part.chars().all(|c| c == ' ' || c == '\t');
    let after = &text[end..line_end];
    let after_content = after.trim_end_matches(['\n', '\r']);
    if blank(&text[line_start..start])
        && (blank(after_content)
            || blank(after_content.trim_start().trim_start_matches([',', ';'])))
    {
        return line_start..line_end;
    }
    let rest = &text[end..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    if let Some(stripped) = trimmed.strip_prefix(',') {
        let spaces = stripped.len() - stripped.trim_start_matches([' ', '\t']).len();
        return start..end + (rest.len() - trimmed.len()) + 1 + spaces;
    }
    let head = &text[..start];
    let head_trimmed = head.trim_end_matches([' ', '\t']);
    if let Some(stripped) = head_trimmed.strip_suffix(',') {
        return stripped.len()..end;
    }
    start..end
}

/// The nodes that may be deleted from `tree`: named children of list-like nodes, not errors.
fn candidates<'tree>(root: Node<'tree>) -> Vec<Node<'tree>> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        let list_like = is_list_kind(node.kind());
        for child in node.named_children(&mut cursor) {
            if list_like
                && !child.is_error()
                && !child.is_missing()
                && !child.byte_range().is_empty()
            {
                found.push(child);
            }
            stack.push(child);
        }
    }
    found.sort_by_key(|node| (node.start_byte(), node.end_byte()));
    found
}

/// The states of one file taken apart: `states[0]` is the file, each next one has one more node
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintSeq {
    pub states: Vec<String>,
    /// Deletions tried and refused because the result had more syntax errors than the file.
    pub rejected: usize,
}

/// How many deletions are tried at one state before the sequence ends there.
const TRIES_PER_STEP: usize = 24;

/// Takes `text` apart (at most `max_steps` deletions). `None` when the grammar is not compiled in
/// or the file does not parse within the budget.
pub fn lintseq(
    language: &LanguageInfo,
    text: &str,
    seed: u64,
    max_steps: usize,
) -> Option<LintSeq> {
    let errors = |text: &str| {
        parse_str(language, text).map(|tree| count_errors_in_range(&tree, 0..text.len()))
    };
    let allowed = errors(text)?;
    let mut rng = Rng::new(seed);
    let mut states = vec![text.to_owned()];
    let mut rejected = 0;
    while states.len() <= max_steps {
        let current = states.last().expect("the file is the first state");
        if current.trim().is_empty() {
            break;
        }
        let Some(tree) = parse_str(language, current) else { break };
        let mut options: Vec<std::ops::Range<usize>> = Vec::new();
        for node in candidates(tree.root_node()) {
            let range = deletion_range(current, node);
            if !range.is_empty() && !options.contains(&range) {
                options.push(range);
            }
        }
        let mut next = None;
        for _ in 0..TRIES_PER_STEP {
            if options.is_empty() {
                break;
            }
            let range = options.swap_remove(below(&mut rng, options.len()));
            let mut candidate = current.clone();
            candidate.replace_range(range, "");
            if errors(&candidate).is_some_and(|count| count <= allowed) {
                next = Some(candidate);
                break;
            }
            rejected += 1;
        }
        match next {
            Some(next) => states.push(next),
            None => break,
        }
    }
    Some(LintSeq { states, rejected })
}

/// A unified diff from `old` to `new` with a git-style header.
fn file_diff(path: &str, old: &str, new: &str) -> String {
    let body =
        nextedit::text::history::render_unified_diff(old, new, 0, 0, 3, Duration::from_millis(200));
    format!("--- a/{path}\n+++ b/{path}\n{body}")
}

/// The cursor after the edit from `old` to `new`: the end of the text it inserted.
fn cursor_after(old: &str, new: &str) -> CaseCursor {
    let (_, suffix) = common_affixes(old, new);
    let end = new.len() - suffix;
    let before = &new[..end];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    CaseCursor { line, character: before[line_start..].chars().count() as u32 }
}

/// What a synthetic case's provenance records.
pub struct SequenceOrigin<'a> {
    pub repo_name: &'a str,
    pub commit: &'a str,
    pub path: &'a str,
    pub language: &'a str,
    pub seed: u64,
}

/// The cases of one sequence, read forwards (from the smallest state to the file): for each step
/// after the first, up to `history` earlier steps as history and the step as the next edit.
pub fn sequence_cases(
    sequence: &LintSeq,
    origin: &SequenceOrigin<'_>,
    history: usize,
) -> Vec<Case> {
    let forward: Vec<&String> = sequence.states.iter().rev().collect();
    let steps = forward.len().saturating_sub(1);
    let diffs: Vec<String> =
        forward.windows(2).map(|pair| file_diff(origin.path, pair[0], pair[1])).collect();
    let slug: String = origin
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
        .collect();
    let mut cases = Vec::new();
    for step in 1..steps {
        let first = step.saturating_sub(history);
        let case = Case {
            id: format!("{}-lintseq-{slug}-s{}of{steps}", origin.repo_name, step + 1),
            language: origin.language.to_owned(),
            file_path: origin.path.to_owned(),
            before: forward[step].clone(),
            history: diffs[first..step].to_vec(),
            cursor: cursor_after(forward[step - 1], forward[step]),
            expected_after: forward[step + 1].clone(),
            expected_patch: diffs[step].clone(),
            category: "synthetic".to_owned(),
            alternative_patches: Vec::new(),
            provenance: json!({
                "source": "lintseq",
                "repo": origin.repo_name,
                "commit": origin.commit,
                "file": origin.path,
                "seed": origin.seed,
                "step": step,
                "steps": steps,
                "rejected_states": sequence.rejected,
            }),
            category_evidence: serde_json::Value::Null,
        };
        cases.push(case);
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(language: &str) -> (&'static LanguageInfo, &'static str) {
        let text = match language {
            "rust" => include_str!("../tests/fixtures/lintseq/shapes.rs"),
            "python" => include_str!("../tests/fixtures/lintseq/inventory.py"),
            "typescript" => include_str!("../tests/fixtures/lintseq/router.ts"),
            "go" => include_str!("../tests/fixtures/lintseq/stack.go"),
            other => panic!("no fixture for {other}"),
        };
        (nextedit_grammars::by_id(language).unwrap(), text)
    }

    #[test]
    fn every_state_parses_and_the_sequence_rebuilds_the_file() {
        for language in ["rust", "python", "typescript", "go"] {
            let (info, text) = fixture(language);
            let sequence = lintseq(info, text, 7, 400).unwrap();
            assert!(sequence.states.len() > 10, "{language}: {} states", sequence.states.len());
            assert_eq!(sequence.states[0], text);
            for state in &sequence.states {
                let tree = parse_str(info, state).unwrap();
                assert_eq!(count_errors_in_range(&tree, 0..state.len()), 0, "{language}:\n{state}");
            }
            // Each state is the one after it with one piece of text put back.
            for pair in sequence.states.windows(2) {
                let (prefix, suffix) = common_affixes(&pair[0], &pair[1]);
                assert_eq!(prefix + suffix, pair[1].len(), "{language}: not a pure deletion");
            }
            // The cases replay, and the last one's expected text is the file.
            let origin = SequenceOrigin {
                repo_name: "fixtures",
                commit: "0000000",
                path: "src/file",
                language,
                seed: 7,
            };
            let cases = sequence_cases(&sequence, &origin, 3);
            assert_eq!(cases.len(), sequence.states.len() - 2);
            for case in &cases {
                let replay = case.replay().unwrap();
                assert!(!replay.steps.is_empty());
                assert_eq!(
                    crate::patch::apply_patch(&case.before, &case.expected_patch).unwrap(),
                    case.expected_after,
                    "{}",
                    case.id
                );
            }
            assert_eq!(cases.last().unwrap().expected_after, text, "{language}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let (info, text) = fixture("python");
        let first = lintseq(info, text, 11, 50).unwrap();
        assert_eq!(first, lintseq(info, text, 11, 50).unwrap());
        assert_ne!(first.states, lintseq(info, text, 12, 50).unwrap().states);
    }

    #[test]
    fn a_deletion_that_breaks_the_syntax_is_refused() {
        let info = nextedit_grammars::by_id("rust").unwrap();
        // Deleting the only type argument leaves `Vec<>`, a syntax error: never a state.
        let text = "fn main() {\n    let v: Vec<u8> = Vec::new();\n}\n";
        let mut rejected = 0;
        for seed in 0..16 {
            let sequence = lintseq(info, text, seed, 10).unwrap();
            for state in &sequence.states {
                assert!(!state.contains("Vec<>"), "{state:?}");
                let tree = parse_str(info, state).unwrap();
                assert_eq!(count_errors_in_range(&tree, 0..state.len()), 0, "{state:?}");
            }
            rejected += sequence.rejected;
        }
        assert!(rejected > 0);
    }
}
