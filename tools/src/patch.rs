//! Unified diffs: the workspace's one reader and applier, in two modes.
//!
//! The lenient mode ([`parse_patch`], [`apply_patch`], [`unapply_patch`]) follows the reference
//! scorer's `patchutil.py`, so that alternative patches and history diffs apply the same way here
//! and there:
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

/// The numbers of a hunk header `@@ -a[,b] +c[,d] @@` (a missing count is 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HunkHeader {
    old_start: usize,
    old_count: usize,
    new_start: usize,
}

fn parse_hunk_header(line: &str) -> Option<HunkHeader> {
    let rest = line.strip_prefix("@@ -")?;
    let (old_start, rest) = take_number(rest)?;
    let (old_count, rest) = optional_count(rest)?;
    let rest = rest.strip_prefix(" +")?;
    let (new_start, rest) = take_number(rest)?;
    let (_, rest) = optional_count(rest)?;
    rest.starts_with(" @@").then_some(HunkHeader { old_start, old_count, new_start })
}

fn take_number(text: &str) -> Option<(usize, &str)> {
    let digits = text.bytes().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

fn optional_count(text: &str) -> Option<(usize, &str)> {
    match text.strip_prefix(',') {
        Some(rest) => take_number(rest),
        None => Some((1, text)),
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
            let (old_start_hint, new_start_hint) = parse_hunk_header(line)
                .map_or((0, 0), |header| (header.old_start, header.new_start));
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

/// One hunk of git's own output (`git diff`), read exactly: its place comes from the header, and
/// its lines keep their line breaks, so that `\ No newline at end of file` is honoured. The case
/// miner uses this mode; it needs the exact place of each hunk in the old file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHunk {
    /// Zero-based line of the old file where the hunk starts.
    pub old_start: usize,
    /// The hunk's lines, tagged ' ', '-' or '+'.
    pub lines: Vec<(char, String)>,
}

impl FileHunk {
    pub fn old_lines(&self) -> Vec<&str> {
        self.lines.iter().filter(|(tag, _)| *tag != '+').map(|(_, line)| line.as_str()).collect()
    }

    pub fn new_lines(&self) -> Vec<&str> {
        self.lines.iter().filter(|(tag, _)| *tag != '-').map(|(_, line)| line.as_str()).collect()
    }

    /// How many lines the hunk adds (negative when it removes more than it adds).
    pub fn delta(&self) -> isize {
        self.new_lines().len() as isize - self.old_lines().len() as isize
    }

    /// Renders the hunk as a one-hunk unified diff, starting at zero-based line `start` of the
    /// buffer it applies to.
    pub fn render(&self, path: &str, start: usize) -> String {
        let old_count = self.old_lines().len();
        let new_count = self.new_lines().len();
        let header_start = |count: usize| if count == 0 { start } else { start + 1 };
        let mut out = format!(
            "--- a/{path}\n+++ b/{path}\n@@ -{},{} +{},{} @@\n",
            header_start(old_count),
            old_count,
            header_start(new_count),
            new_count
        );
        for (tag, line) in &self.lines {
            out.push(*tag);
            match line.strip_suffix('\n') {
                Some(body) => {
                    out.push_str(body);
                    out.push('\n');
                }
                None => {
                    out.push_str(line);
                    out.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
        out
    }
}

/// Reads the hunks of a one-file unified diff as git prints it.
pub fn parse_git_diff(diff: &str) -> Result<Vec<FileHunk>, String> {
    let mut hunks: Vec<FileHunk> = Vec::new();
    let mut in_hunk = false;
    for line in diff.split_inclusive('\n') {
        if line.starts_with("@@ ") {
            let header = parse_hunk_header(line.trim_end())
                .ok_or_else(|| format!("a bad hunk header: `{}`", line.trim_end()))?;
            // `-a,0` names the line before an insertion.
            let old_start = if header.old_count == 0 {
                header.old_start
            } else {
                header.old_start.saturating_sub(1)
            };
            hunks.push(FileHunk { old_start, lines: Vec::new() });
            in_hunk = true;
            continue;
        }
        if !in_hunk {
            continue;
        }
        let hunk = hunks.last_mut().expect("in a hunk");
        match line.chars().next() {
            Some(tag @ (' ' | '-' | '+')) => hunk.lines.push((tag, line[1..].to_owned())),
            Some('\\') => {
                if let Some((_, last)) = hunk.lines.last_mut()
                    && last.ends_with('\n')
                {
                    last.pop();
                }
            }
            _ => in_hunk = false,
        }
    }
    Ok(hunks)
}

/// Applies the hunks whose indices are in `applied` to `old_lines` (lines with their breaks),
/// each at its header's place, and returns the new lines.
pub fn apply_file_hunks(
    old_lines: &[String],
    hunks: &[FileHunk],
    applied: &std::collections::BTreeSet<usize>,
) -> Vec<String> {
    let mut lines = old_lines.to_vec();
    // From the bottom up, so each hunk's old start is still right.
    for index in applied.iter().rev() {
        let hunk = &hunks[*index];
        let old_count = hunk.old_lines().len();
        let start = hunk.old_start.min(lines.len());
        let end = (start + old_count).min(lines.len());
        lines.splice(start..end, hunk.new_lines().into_iter().map(str::to_owned));
    }
    lines
}

/// Where hunk `index` starts in the buffer that has the `applied` hunks.
pub fn start_in_buffer(
    hunks: &[FileHunk],
    applied: &std::collections::BTreeSet<usize>,
    index: usize,
) -> usize {
    let shift: isize =
        applied.iter().filter(|other| **other < index).map(|other| hunks[*other].delta()).sum();
    (hunks[index].old_start as isize + shift).max(0) as usize
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
    fn git_hunks_keep_their_place_and_line_breaks() {
        let diff = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+top\n@@ -2,2 +3,2 @@\n b\n-c\n+C\n\\ No newline at end of file\n";
        let hunks = parse_git_diff(diff).unwrap();
        assert_eq!(hunks[0].old_start, 0);
        assert_eq!(hunks[1].old_start, 1);
        let lines = [(' ', "b\n".to_owned()), ('-', "c\n".to_owned()), ('+', "C".to_owned())];
        assert_eq!(hunks[1].lines, lines);
        let old: Vec<String> = ["a\n", "b\n", "c\n"].map(str::to_owned).to_vec();
        let all = (0..hunks.len()).collect();
        assert_eq!(apply_file_hunks(&old, &hunks, &all).concat(), "top\na\nb\nC");
        assert_eq!(start_in_buffer(&hunks, &[0].into(), 1), 2);
        assert!(parse_git_diff("@@ -x +1 @@\n").is_err());
    }

    #[test]
    fn annotation_lines_are_dropped() {
        let patch = "@@ -1,2 +1,2 @@\n a\n#   ^[CURSOR_POSITION]\n-b\n+c\n";
        assert_eq!(apply_patch("a\nb", patch).unwrap(), "a\nc");
    }
}
