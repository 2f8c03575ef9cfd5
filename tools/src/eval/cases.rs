//! Evaluation cases (the format of `shared/eval/README.md`), read from JSON Lines files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::patch::{Direction, apply_patch, apply_patch_steps, unapply_patch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CaseCursor {
    pub line: u32,
    /// Counted in Unicode code points.
    pub character: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    #[serde(default = "unknown")]
    pub language: String,
    #[serde(default = "unknown")]
    pub file_path: String,
    pub before: String,
    /// Oldest first. A single string of concatenated diffs is split at each `--- ` header.
    #[serde(default, deserialize_with = "history_diffs")]
    pub history: Vec<String>,
    #[serde(default)]
    pub cursor: CaseCursor,
    pub expected_after: String,
    #[serde(default)]
    pub expected_patch: String,
    #[serde(default = "unknown")]
    pub category: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternative_patches: Vec<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub provenance: serde_json::Value,
    /// Why the miner chose the category; `rename_pairs` (`"old->new"`) for renames.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub category_evidence: serde_json::Value,
}

fn history_diffs<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum History {
        Diffs(Vec<String>),
        Block(String),
        Nothing(()),
    }
    Ok(match History::deserialize(deserializer)? {
        History::Diffs(diffs) => diffs,
        History::Block(block) => split_diff_block(&block),
        History::Nothing(()) => Vec::new(),
    })
}

/// Splits concatenated diffs into one diff per `--- `/`+++ ` header pair.
pub fn split_diff_block(block: &str) -> Vec<String> {
    let lines: Vec<&str> = block.trim_end_matches('\n').split('\n').collect();
    if block.trim().is_empty() {
        return Vec::new();
    }
    let mut diffs = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let starts_diff = line.starts_with("--- ")
            && lines.get(index + 1).is_some_and(|next| next.starts_with("+++ "));
        if starts_diff && !current.is_empty() {
            diffs.push(current.join("\n") + "\n");
            current.clear();
        }
        current.push(line);
    }
    if !current.is_empty() {
        diffs.push(current.join("\n") + "\n");
    }
    diffs
}

/// Word runs (letters, digits, `_`) and single other characters: Python's `\\w+|\\W`.
fn rename_tokens(line: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let word = |c: char| c.is_alphanumeric() || c == '_';
        if word(c) {
            while chars.peek().is_some_and(|&(_, next)| word(next)) {
                chars.next();
            }
        }
        let end = chars.peek().map_or(line.len(), |&(next, _)| next);
        tokens.push(&line[index..end]);
    }
    tokens
}

fn unknown() -> String {
    "unknown".to_owned()
}

/// One case and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub case: Case,
    pub source: PathBuf,
}

/// Reads every case of every file, in order. Blank lines are skipped; a malformed line is an
/// error that names the file and line; a repeated id is an error.
pub fn load_cases(paths: &[PathBuf]) -> anyhow::Result<Vec<LoadedCase>> {
    let mut cases = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for (line_index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let case: Case = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a case", path.display(), line_index + 1))?;
            if !seen.insert(case.id.clone()) {
                bail!(
                    "{}:{}: the case id `{}` is used twice",
                    path.display(),
                    line_index + 1,
                    case.id
                );
            }
            cases.push(LoadedCase { case, source: path.clone() });
        }
    }
    Ok(cases)
}

impl Case {
    /// A rename-propagation case whose expected edit is nothing but the rename: every changed
    /// line differs from its old line only by tokens swapped along the case's rename pairs. The
    /// same test as the shared `pure_renames.py` (tokens are word runs or single other
    /// characters, lines are diffed line by line).
    pub fn is_pure_rename(&self) -> bool {
        if self.category != "rename-propagation" {
            return false;
        }
        // The miner of this repository keeps the evidence in the provenance.
        let evidence = match &self.category_evidence {
            serde_json::Value::Null => self.provenance.get("category_evidence"),
            evidence => Some(evidence),
        };
        let pairs: Vec<(&str, &str)> = evidence
            .and_then(|evidence| evidence.get("rename_pairs"))
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .filter_map(|pair| pair.split_once("->"))
            .collect();
        if pairs.is_empty() {
            return false;
        }
        let old: Vec<&str> = self.before.split('\n').collect();
        let new: Vec<&str> = self.expected_after.split('\n').collect();
        let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new);
        ops.iter().all(|op| match op {
            similar::DiffOp::Equal { .. } => true,
            similar::DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                old_len == new_len
                    && (0..*old_len).all(|offset| {
                        let (a, b) = (
                            rename_tokens(old[old_index + offset]),
                            rename_tokens(new[new_index + offset]),
                        );
                        a.len() == b.len()
                            && a.iter().zip(&b).all(|(x, y)| x == y || pairs.contains(&(*x, *y)))
                    })
            }
            _ => false,
        })
    }

    /// Every text that counts as right: `expected_after`, then each alternative patch applied to
    /// `before` (patches that do not apply are skipped, duplicates dropped).
    pub fn expected_texts(&self) -> Vec<String> {
        let mut texts = vec![self.expected_after.clone()];
        for patch in &self.alternative_patches {
            if let Ok(text) = apply_patch(&self.before, patch)
                && !texts.contains(&text)
            {
                texts.push(text);
            }
        }
        texts
    }

    /// The replay of the history: the text before the first history diff and, for each diff, the
    /// texts after each of its hunks. The last text is `before`.
    pub fn replay(&self) -> anyhow::Result<Replay> {
        let mut initial = self.before.clone();
        for (index, diff) in self.history.iter().enumerate().rev() {
            initial = unapply_patch(&initial, diff)
                .with_context(|| format!("history diff {index} cannot be undone"))?;
        }
        let mut steps = Vec::with_capacity(self.history.len());
        let mut current = initial.clone();
        for (index, diff) in self.history.iter().enumerate() {
            let hunk_texts = apply_patch_steps(&current, diff, Direction::Forward)
                .with_context(|| format!("history diff {index} does not apply"))?;
            if let Some(last) = hunk_texts.last() {
                current = last.clone();
            }
            steps.push(hunk_texts);
        }
        if current != self.before {
            bail!("replaying the history does not give `before`");
        }
        Ok(Replay { initial, steps })
    }

    /// The text before the last history diff (the state the user's last edit started from).
    pub fn text_before_last_edit(&self, replay: &Replay) -> String {
        let mut previous = replay.initial.clone();
        for hunk_texts in replay.steps.iter().rev().skip(1).rev() {
            if let Some(last) = hunk_texts.last() {
                previous = last.clone();
            }
        }
        previous
    }
}

#[derive(Debug, Clone)]
pub struct Replay {
    pub initial: String,
    /// For each history diff, the text after each of its hunks.
    pub steps: Vec<Vec<String>>,
}

/// A file name for a case source, for reports.
pub fn source_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cases_from_other_projects() {
        let line = r#"{"id": "x", "before": "a\nb\n", "expected_after": "a\nc\n", "history": "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-z\n+a\n--- a/f\n+++ b/f\n@@ -2 +2 @@\n-y\n+b\n"}"#;
        let case: Case = serde_json::from_str(line).unwrap();
        assert_eq!(case.history.len(), 2);
        assert_eq!((case.language.as_str(), case.category.as_str()), ("unknown", "unknown"));
        assert_eq!(case.replay().unwrap().initial, "z\ny\n");
        let case: Case = serde_json::from_str(
            r#"{"id": "y", "before": "", "expected_after": "a", "history": null}"#,
        )
        .unwrap();
        assert!(case.history.is_empty());
    }
}
