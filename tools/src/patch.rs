//! A lenient unified diff reader and applier, with the same rules as the reference scorer's
//! `patchutil.py`, so that alternative patches and history diffs apply the same way here and there.
//!
//! - Hunk headers are hints: a hunk applies where its old lines (context and `-` lines) occur
//!   exactly, at the occurrence nearest to the header's line. Header counts are ignored.
//! - A line that is empty or starts with none of ` `, `+`, `-`, `@`, `\` is a context line with its
//!   full text.
//! - Annotation lines of hand-written cases (`[CURSOR_POSITION]`, `[SELECTION]`, `[CURSOR]`) are
//!   dropped.
//! - A body without any `@@` header is one hunk.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// One-based line of the old text where the hunk starts, from the header (0 if unknown).
    pub old_start_hint: usize,
    /// One-based line of the new text where the hunk starts, from the header (0 if unknown).
    pub new_start_hint: usize,
    pub old_lines: Vec<String>,
    pub new_lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    pub hunk_index: usize,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hunk {} does not apply", self.hunk_index)
    }
}

impl std::error::Error for PatchError {}

fn strip_annotations(patch: &str) -> String {
    let mut kept = Vec::new();
    for line in patch.split('\n') {
        let is_annotation = line.contains("[CURSOR_POSITION]")
            || line.contains("[SELECTION]")
            || line.contains("[CURSOR]");
        let starts_like_diff = [" ", "+", "-", "@"].iter().any(|prefix| line.starts_with(prefix));
        if is_annotation && !starts_like_diff {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// Reads `@@ -a[,b] +c[,d] @@`, returning `a` and `c`.
fn parse_hunk_header(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old_start, rest) = take_number(rest)?;
    let rest = skip_optional_count(rest)?;
    let rest = rest.strip_prefix(" +")?;
    let (new_start, rest) = take_number(rest)?;
    let rest = skip_optional_count(rest)?;
    rest.starts_with(" @@").then_some((old_start, new_start))
}

fn take_number(text: &str) -> Option<(usize, &str)> {
    let digits = text.bytes().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

fn skip_optional_count(text: &str) -> Option<&str> {
    match text.strip_prefix(',') {
        Some(rest) => take_number(rest).map(|(_, rest)| rest),
        None => Some(text),
    }
}

/// Splits a unified diff into hunks.
pub fn parse_patch(patch: &str) -> Vec<Hunk> {
    let stripped = strip_annotations(patch);
    // The final newline ends the last line; it is not a blank context line.
    let body = stripped.strip_suffix('\n').unwrap_or(&stripped);
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut in_hunk = false;
    for line in body.split('\n') {
        if line.starts_with("--- ") || line.starts_with("+++ ") || line.starts_with("diff --git") {
            continue;
        }
        if line.starts_with("@@") {
            let (old_start_hint, new_start_hint) = parse_hunk_header(line).unwrap_or((0, 0));
            hunks.push(Hunk {
                old_start_hint,
                new_start_hint,
                old_lines: Vec::new(),
                new_lines: Vec::new(),
            });
            in_hunk = true;
            continue;
        }
        if line.starts_with('\\') {
            continue;
        }
        if !in_hunk {
            hunks.push(Hunk {
                old_start_hint: 0,
                new_start_hint: 0,
                old_lines: Vec::new(),
                new_lines: Vec::new(),
            });
            in_hunk = true;
        }
        let hunk = hunks.last_mut().expect("a hunk was pushed above");
        if let Some(body) = line.strip_prefix(' ') {
            hunk.old_lines.push(body.to_owned());
            hunk.new_lines.push(body.to_owned());
        } else if let Some(body) = line.strip_prefix('-') {
            hunk.old_lines.push(body.to_owned());
        } else if let Some(body) = line.strip_prefix('+') {
            hunk.new_lines.push(body.to_owned());
        } else {
            hunk.old_lines.push(line.to_owned());
            hunk.new_lines.push(line.to_owned());
        }
    }
    hunks.retain(|hunk| !hunk.old_lines.is_empty() || !hunk.new_lines.is_empty());
    hunks
}

/// The index where `block` occurs in `lines` nearest to the one-based `hint`, the first such on a
/// tie. An empty block goes at the hint itself.
fn find_block(lines: &[&str], block: &[String], hint: usize) -> Option<usize> {
    if block.is_empty() {
        return Some(hint.min(lines.len()));
    }
    if block.len() > lines.len() {
        return None;
    }
    let target = hint as i64 - 1;
    let mut best: Option<usize> = None;
    for start in 0..=lines.len() - block.len() {
        let matches = lines[start..start + block.len()]
            .iter()
            .zip(block)
            .all(|(line, wanted)| *line == wanted);
        if !matches {
            continue;
        }
        let closer = match best {
            None => true,
            Some(best_start) => (start as i64 - target).abs() < (best_start as i64 - target).abs(),
        };
        if closer {
            best = Some(start);
        }
    }
    best
}

/// Which way to apply a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    /// Undo the patch: its new lines are replaced by its old lines.
    Reverse,
}

/// Applies every hunk in order and returns the text after each hunk.
pub fn apply_patch_steps(
    text: &str,
    patch: &str,
    direction: Direction,
) -> Result<Vec<String>, PatchError> {
    let mut hunks = parse_patch(patch);
    if direction == Direction::Reverse {
        // Undo from the last hunk to the first, so each header still names the right place.
        hunks.reverse();
    }
    let mut current = text.to_owned();
    let mut steps = Vec::with_capacity(hunks.len());
    for (hunk_index, hunk) in hunks.iter().enumerate() {
        let (old, new, hint) = match direction {
            Direction::Forward => (&hunk.old_lines, &hunk.new_lines, hunk.old_start_hint),
            Direction::Reverse => (&hunk.new_lines, &hunk.old_lines, hunk.new_start_hint),
        };
        let lines: Vec<&str> = current.split('\n').collect();
        let start = find_block(&lines, old, hint).ok_or(PatchError { hunk_index })?;
        let mut next: Vec<&str> = Vec::with_capacity(lines.len() + new.len());
        next.extend_from_slice(&lines[..start]);
        next.extend(new.iter().map(String::as_str));
        next.extend_from_slice(&lines[start + old.len()..]);
        current = next.join("\n");
        steps.push(current.clone());
    }
    Ok(steps)
}

/// Applies a patch the way `patchutil.apply_patch` does (without context trimming).
pub fn apply_patch(text: &str, patch: &str) -> Result<String, PatchError> {
    let steps = apply_patch_steps(text, patch, Direction::Forward)?;
    Ok(steps.last().cloned().unwrap_or_else(|| text.to_owned()))
}

/// Undoes a patch: the text before it, given the text after it.
pub fn unapply_patch(text: &str, patch: &str) -> Result<String, PatchError> {
    let steps = apply_patch_steps(text, patch, Direction::Reverse)?;
    Ok(steps.last().cloned().unwrap_or_else(|| text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_at_the_nearest_occurrence_and_reverses() {
        let text = "a\nx\nb\nx\nc\n";
        let patch = "--- a/f\n+++ b/f\n@@ -4,1 +4,2 @@\n-x\n+y\n+z\n";
        let after = apply_patch(text, patch).unwrap();
        assert_eq!(after, "a\nx\nb\ny\nz\nc\n");
        assert_eq!(unapply_patch(&after, patch).unwrap(), text);
    }

    #[test]
    fn headerless_bodies_and_unprefixed_context_lines() {
        let patch = "fn a() {\n-    1\n+    2\n\n}";
        let hunks = parse_patch(patch);
        assert_eq!(hunks.len(), 1);
        assert_eq!(hunks[0].old_lines, ["fn a() {", "    1", "", "}"]);
        assert_eq!(apply_patch("fn a() {\n    1\n\n}\n", patch).unwrap(), "fn a() {\n    2\n\n}\n");
    }

    #[test]
    fn a_hunk_that_does_not_match_is_an_error() {
        let error = apply_patch("a\nb\n", "@@ -1 +1 @@\n-c\n+d\n").unwrap_err();
        assert_eq!(error.to_string(), "hunk 0 does not apply");
    }

    #[test]
    fn annotation_lines_are_dropped() {
        let patch = "@@ -1,2 +1,2 @@\n a\n#   ^[CURSOR_POSITION]\n-b\n+c\n";
        assert_eq!(apply_patch("a\nb", patch).unwrap(), "a\nc");
    }
}
