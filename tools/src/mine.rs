//! `nextedit mine REPO_DIR [--out cases.jsonl]`: builds next-edit cases from the history of any
//! local git repository, the way the shared cases were built.
//!
//! A commit (not a merge) that modifies one source file in 2 to 6 hunks (`git diff -U3`) gives
//! cases: with the hunks in file order, the first k hunks are the user's edits (history) and hunk
//! k + 1 is the next edit; the same again with the hunks in reverse order (ids end in `-rev`),
//! where the next edit is above the cursor. The cursor sits at the end of the last line that the
//! last history hunk added (at the start of the hunk's place when it only deleted). Each case gets
//! a category:
//!
//! - `rename-propagation`: a history hunk swapped an identifier for another (`a -> b`, found in
//!   the token diff from its removed to its added lines), and the next edit makes the same swap;
//! - `repeated-pattern`: the next edit's token diff (removed tokens as `-t`, added as `+t`) is
//!   similar to a history hunk's (sequence ratio >= 0.6);
//! - `other`.
//!
//! Rebuilt from the shared cases' commits, this gives the same `before`, history, cursor and
//! expected text for every case, and the same category tags.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::eval::cases::{Case, CaseCursor};
use crate::patch::{FileHunk, apply_file_hunks, parse_git_diff, start_in_buffer};
use crate::safety::{PathFilter, Skip, SkipReport, has_secret, is_binary, is_generated};
use nextedit::engine::prompt::PromptFormatKind;
use nextedit::text::words::{is_identifier, word_tokens};

/// Similarity from which a next edit counts as a repeated pattern.
pub const PATTERN_SIMILARITY_THRESHOLD: f64 = 0.6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MineArgs {
    pub repo: PathBuf,
    pub out: PathBuf,
    pub rev: String,
    pub max_commits: usize,
    pub extensions: Option<Vec<String>>,
    pub min_hunks: usize,
    pub max_hunks: usize,
    pub reverse: bool,
    pub max_file_bytes: usize,
    /// Write training pairs in this format instead of cases.
    pub export: Option<PromptFormatKind>,
    pub filter: PathFilter,
    /// At most this many cases (or pairs) per file; 0 for no cap.
    pub max_per_file: usize,
    /// The percentage of commits (of files, for synthetic sequences) held out.
    pub heldout_percent: u32,
    /// Where the held-out cases go.
    pub heldout_out: Option<PathBuf>,
    /// LintSeq-style sequences from the files at `rev` instead of the history.
    pub synthetic: bool,
    pub seed: u64,
    /// The most deletions per file in a synthetic sequence.
    pub synthetic_steps: usize,
    /// Where pairs put the cursor.
    pub cursor: crate::export::CursorPlacement,
}

/// `nextedit mine`'s command line; [`MineCommand::into_args`] checks it.
#[derive(Debug, Clone, clap::Args)]
pub struct MineCommand {
    /// The git repository whose history is mined
    #[arg(value_name = "REPO_DIR")]
    pub repo: PathBuf,
    /// Where to write the cases
    #[arg(long, value_name = "FILE", default_value = "cases.jsonl")]
    pub out: PathBuf,
    /// The revision whose history is mined, or a commit range (`v1.0..HEAD`); with
    /// --synthetic, the revision whose files are used
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// How many commits to look at, newest first
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub max_commits: usize,
    /// File extensions to consider, comma separated (default: the languages nextedit knows)
    #[arg(long = "ext", value_name = "LIST", value_delimiter = ',')]
    pub extensions: Option<Vec<String>>,
    /// The fewest hunks a file change needs (at least 2)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub min_hunks: usize,
    /// The most hunks a file change may have
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub max_hunks: usize,
    /// No reverse-order cases
    #[arg(long)]
    pub no_reverse: bool,
    /// Skip larger files
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_file_bytes: usize,
    /// Write training pairs for this prompt format (sweep, zeta, zeta2, instinct, fim) instead
    /// of cases: the prompt the server sends for the case and the answer the model should give
    #[arg(long, value_name = "FORMAT")]
    pub export: Option<String>,
    /// Only files matching this glob (repeatable; `*`, `**`, `?`; no slash: any directory)
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Never files matching this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// At most this many cases or pairs per file (0: no cap)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_per_file: usize,
    /// Hold out this percentage of commits (never single cases): their cases go to
    /// --heldout-out, for `nextedit eval`
    #[arg(long, value_name = "PERCENT", default_value_t = 0)]
    pub heldout: u32,
    /// Where held-out cases go (default: next to --out, `.heldout.jsonl`)
    #[arg(long, value_name = "FILE")]
    pub heldout_out: Option<PathBuf>,
    /// LintSeq-style synthetic sequences from the files at --rev, instead of the history
    #[arg(long)]
    pub synthetic: bool,
    /// The seed of --synthetic
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// The most deletions per file with --synthetic
    #[arg(long, value_name = "N", default_value_t = 48)]
    pub synthetic_steps: usize,
    /// With --export, keep every pair at the case's cursor: no pair when the next edit lies
    /// outside the region the format builds there (by default the cursor then moves to the
    /// start of the next edit)
    #[arg(long)]
    pub keep_cursor: bool,
}

impl crate::cli::ToolCommand for MineCommand {
    const NAME: &'static str = "mine";
    type Args = MineArgs;

    fn into_args(self) -> Result<MineArgs, String> {
        if self.min_hunks < 2 || self.max_hunks < self.min_hunks {
            return Err("need 2 <= --min-hunks <= --max-hunks".to_owned());
        }
        let extensions = self.extensions.map(|extensions| {
            extensions
                .iter()
                .map(|ext| ext.trim().trim_start_matches('.').to_owned())
                .filter(|ext| !ext.is_empty())
                .collect()
        });
        let export = self.export.as_deref().map(crate::export::parse_format).transpose()?;
        if self.heldout > 90 {
            return Err("--heldout is a percentage of at most 90".to_owned());
        }
        Ok(MineArgs {
            export,
            filter: PathFilter { include: self.include, exclude: self.exclude },
            max_per_file: self.max_per_file,
            heldout_percent: self.heldout,
            heldout_out: self.heldout_out,
            synthetic: self.synthetic,
            seed: self.seed,
            synthetic_steps: self.synthetic_steps.max(1),
            cursor: if self.keep_cursor {
                crate::export::CursorPlacement::Case
            } else {
                crate::export::CursorPlacement::CaseOrEdit
            },
            repo: self.repo,
            out: self.out,
            rev: self.rev,
            max_commits: self.max_commits,
            extensions,
            min_hunks: self.min_hunks,
            max_hunks: self.max_hunks,
            reverse: !self.no_reverse,
            max_file_bytes: self.max_file_bytes,
        })
    }
}

impl MineArgs {
    /// Parses the arguments after `mine`.
    pub fn parse(args: &[String]) -> Result<MineArgs, String> {
        crate::cli::parse_tool_args::<MineCommand>(args)
    }
}

/// The language of a source file, from the grammar registry (`grammars/languages.toml`).
pub fn language_for_path(path: &str) -> Option<&'static str> {
    nextedit_grammars::by_path(path).map(|language| language.id.as_str())
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output =
        Command::new("git").arg("-C").arg(repo).args(args).output().context("cannot run git")?;
    if !output.status.success() {
        bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(output.stdout)
}

fn git_text(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    String::from_utf8(git(repo, args)?).context("git printed something that is not UTF-8")
}

/// Word tokens and single punctuation characters; whitespace separates.
fn tokens(text: &str) -> Vec<&str> {
    word_tokens(text).iter().map(|token| token.text(text)).collect()
}

/// What a hunk does at the token level: the token diff from its removed lines to its added lines.
struct EditSignature {
    /// Removed tokens as `-token`, added tokens as `+token`, in diff order.
    tokens: Vec<String>,
    /// Identifier swaps: in a replacement of n tokens by n tokens, each position where two
    /// identifiers differ.
    swaps: BTreeSet<(String, String)>,
}

fn edit_signature(hunk: &FileHunk) -> EditSignature {
    let joined = |wanted: char| {
        hunk.lines
            .iter()
            .filter(|(tag, _)| *tag == wanted)
            .map(|(_, line)| line.trim_end_matches(['\n', '\r']))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let removed_text = joined('-');
    let added_text = joined('+');
    let removed = tokens(&removed_text);
    let added = tokens(&added_text);
    let mut signature = EditSignature { tokens: Vec::new(), swaps: BTreeSet::new() };
    for (a_start, a_end, b_start, b_end) in crate::eval::metrics::sequence_changes(&removed, &added)
    {
        signature.tokens.extend(removed[a_start..a_end].iter().map(|token| format!("-{token}")));
        signature.tokens.extend(added[b_start..b_end].iter().map(|token| format!("+{token}")));
        if a_end - a_start == b_end - b_start {
            for (old, new) in removed[a_start..a_end].iter().zip(&added[b_start..b_end]) {
                if old != new && is_identifier(old) && is_identifier(new) {
                    signature.swaps.insert(((*old).to_owned(), (*new).to_owned()));
                }
            }
        }
    }
    signature
}

/// The category of a next edit given the history hunks, with its evidence.
fn categorize(history: &[(usize, &FileHunk)], target: &FileHunk) -> (String, Vec<String>, Value) {
    let mut categories = Vec::new();
    let mut evidence = serde_json::Map::new();
    let target_signature = edit_signature(target);
    let history_signatures: Vec<(usize, EditSignature)> =
        history.iter().map(|(index, hunk)| (*index, edit_signature(hunk))).collect();
    for (index, signature) in &history_signatures {
        let shared: Vec<&(String, String)> =
            signature.swaps.intersection(&target_signature.swaps).collect();
        if !shared.is_empty() {
            categories.push("rename-propagation".to_owned());
            evidence.insert(
                "rename_pairs".into(),
                json!(shared.iter().map(|(a, b)| format!("{a}->{b}")).collect::<Vec<_>>()),
            );
            evidence.insert("rename_history_hunk".into(), json!(index));
            break;
        }
    }
    let target_tokens: Vec<&str> = target_signature.tokens.iter().map(String::as_str).collect();
    let mut best: Option<(usize, f64)> = None;
    for (index, signature) in &history_signatures {
        if signature.tokens.is_empty() || target_tokens.is_empty() {
            continue;
        }
        let tokens: Vec<&str> = signature.tokens.iter().map(String::as_str).collect();
        let ratio = crate::eval::metrics::sequence_similarity(&tokens, &target_tokens);
        if best.is_none_or(|(_, best_ratio)| ratio > best_ratio) {
            best = Some((*index, ratio));
        }
    }
    if let Some((index, ratio)) = best {
        evidence.insert("pattern_similarity".into(), json!((ratio * 1000.0).round() / 1000.0));
        if ratio >= PATTERN_SIMILARITY_THRESHOLD {
            categories.push("repeated-pattern".to_owned());
            evidence.insert("pattern_history_hunk".into(), json!(index));
        }
    }
    if categories.is_empty() {
        categories.push("other".to_owned());
    }
    (categories[0].clone(), categories, Value::Object(evidence))
}

/// What is known about the commit a file change comes from.
pub struct CommitInfo<'a> {
    pub repo_name: &'a str,
    pub commit: &'a str,
    pub parent: &'a str,
    pub subject: &'a str,
    pub other_files: &'a [String],
}

/// The cases of one file change, forward order first, then reverse order.
pub fn cases_from_file_change(
    path: &str,
    language: &str,
    old_text: &str,
    hunks: &[FileHunk],
    info: &CommitInfo<'_>,
    reverse: bool,
) -> Vec<Case> {
    let old_lines: Vec<String> = old_text.split_inclusive('\n').map(str::to_owned).collect();
    let forward: Vec<usize> = (0..hunks.len()).collect();
    let backward: Vec<usize> = (0..hunks.len()).rev().collect();
    let mut orders = vec![("file", forward)];
    if reverse {
        orders.push(("reverse", backward));
    }
    let short = &info.commit[..info.commit.len().min(10)];
    let mut cases = Vec::new();
    for (order_name, order) in orders {
        for k in 1..order.len() {
            let mut applied = BTreeSet::new();
            let mut history = Vec::new();
            let mut cursor = CaseCursor::default();
            for &index in &order[..k] {
                let start = start_in_buffer(hunks, &applied, index);
                history.push(hunks[index].render(path, start));
                applied.insert(index);
                let hunk = &hunks[index];
                let new_lines = hunk.new_lines();
                // The end of the last added line, or the hunk's place when it only deleted.
                let mut line_in_hunk = None;
                let mut new_index = 0;
                for (tag, line) in &hunk.lines {
                    if *tag == '-' {
                        continue;
                    }
                    if *tag == '+' {
                        line_in_hunk = Some((new_index, line));
                    }
                    new_index += 1;
                }
                cursor = match line_in_hunk {
                    Some((offset, line)) => CaseCursor {
                        line: (start + offset) as u32,
                        character: line.trim_end_matches(['\n', '\r']).chars().count() as u32,
                    },
                    None => {
                        let first_deleted =
                            hunk.lines.iter().take_while(|(tag, _)| *tag == ' ').count();
                        CaseCursor {
                            line: (start + first_deleted.min(new_lines.len())) as u32,
                            character: 0,
                        }
                    }
                };
            }
            let target_index = order[k];
            let before = apply_file_hunks(&old_lines, hunks, &applied).concat();
            let target_start = start_in_buffer(hunks, &applied, target_index);
            applied.insert(target_index);
            let expected_after = apply_file_hunks(&old_lines, hunks, &applied).concat();
            let history_hunks: Vec<(usize, &FileHunk)> =
                order[..k].iter().map(|index| (*index, &hunks[*index])).collect();
            let (category, categories, evidence) = categorize(&history_hunks, &hunks[target_index]);
            let suffix = if order_name == "reverse" { "-rev" } else { "" };
            let mut provenance = json!({
                "source": "git-history-replay",
                "repo": info.repo_name,
                "commit": info.commit,
                "parent": info.parent,
                "commit_subject": info.subject,
                "num_hunks": hunks.len(),
                "history_hunk_indices": &order[..k],
                "target_hunk_index": target_index,
                "diff_context_lines": 3,
                "hunk_order": order_name,
                "other_files_in_commit": info.other_files,
                "cursor_convention": "0-based line, 0-based code-point column, placed after the last added line of the last history hunk",
                "categories": categories,
            });
            provenance["category_evidence"] = evidence;
            cases.push(Case {
                id: format!(
                    "{}-{short}-h{}of{}{suffix}",
                    info.repo_name,
                    target_index + 1,
                    hunks.len()
                ),
                language: language.to_owned(),
                file_path: path.to_owned(),
                before,
                history,
                cursor,
                expected_after,
                expected_patch: hunks[target_index].render(path, target_start),
                category,
                alternative_patches: Vec::new(),
                provenance,
                category_evidence: serde_json::Value::Null,
            });
        }
    }
    cases
}

/// Mines a repository; returns the cases and how many commits gave some.
pub fn mine_repository(args: &MineArgs) -> anyhow::Result<(Vec<Case>, usize)> {
    let mut skipped = SkipReport::default();
    mine_history(args, &mut skipped)
}

/// The repository's name: its top directory's.
fn repository_name(repo: &Path) -> anyhow::Result<String> {
    git(repo, &["rev-parse", "--git-dir"])
        .with_context(|| format!("{} is not a git repository", repo.display()))?;
    let top = git_text(repo, &["rev-parse", "--show-toplevel"])?;
    Ok(Path::new(top.trim())
        .file_name()
        .map_or_else(|| "repo".to_owned(), |name| name.to_string_lossy().into_owned()))
}

/// Whether the repository's ignore rules match `path`, asking git once per path.
struct IgnoreCache<'a> {
    repo: &'a Path,
    known: std::collections::HashMap<String, bool>,
}

impl IgnoreCache<'_> {
    fn is_ignored(&mut self, path: &str) -> bool {
        if let Some(&ignored) = self.known.get(path) {
            return ignored;
        }
        let ignored = !crate::safety::ignored_paths(self.repo, &[path.to_owned()]).is_empty();
        self.known.insert(path.to_owned(), ignored);
        ignored
    }
}

/// Mines the history, counting in `skipped` the files left out for safety or by the filter.
pub fn mine_history(
    args: &MineArgs,
    skipped: &mut SkipReport,
) -> anyhow::Result<(Vec<Case>, usize)> {
    let repo = &args.repo;
    let mut ignore = IgnoreCache { repo, known: std::collections::HashMap::new() };
    let repo_name = repository_name(repo)?;
    let max_count = format!("--max-count={}", args.max_commits);
    let commits = git_text(repo, &["rev-list", "--no-merges", &max_count, &args.rev])?;
    let mut cases = Vec::new();
    let mut productive_commits = 0;
    for commit in commits.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Ok(parent) =
            git_text(repo, &["rev-parse", "--verify", "--quiet", &format!("{commit}^")])
        else {
            continue;
        };
        let parent = parent.trim().to_owned();
        let changes = git_text(
            repo,
            &[
                "diff-tree",
                "-r",
                "--no-commit-id",
                "--no-renames",
                "--name-status",
                &parent,
                commit,
            ],
        )?;
        let mut source_files = Vec::new();
        let mut other_files = Vec::new();
        for line in changes.lines() {
            let Some((status, path)) = line.split_once('\t') else { continue };
            let wanted = language_for_path(path).is_some()
                && args.extensions.as_ref().is_none_or(|extensions| {
                    Path::new(path)
                        .extension()
                        .and_then(|ext| ext.to_str())
                        .is_some_and(|ext| extensions.iter().any(|wanted| wanted == ext))
                });
            if wanted {
                source_files.push((status.to_owned(), path.to_owned()));
            } else {
                other_files.push(path.to_owned());
            }
        }
        let [(status, path)] = source_files.as_slice() else { continue };
        if status != "M" {
            continue;
        }
        if !args.filter.allows(path) {
            skipped.add(Skip::Excluded.as_str());
            continue;
        }
        if ignore.is_ignored(path) {
            skipped.add(Skip::Ignored.as_str());
            continue;
        }
        let Ok(old_bytes) = git(repo, &["show", &format!("{parent}:{path}")]) else { continue };
        if is_binary(&old_bytes) {
            skipped.add(Skip::Binary.as_str());
            continue;
        }
        let Ok(old_text) = String::from_utf8(old_bytes) else {
            skipped.add(Skip::Binary.as_str());
            continue;
        };
        if old_text.len() > args.max_file_bytes {
            continue;
        }
        if is_generated(path, &old_text) {
            skipped.add(Skip::Generated.as_str());
            continue;
        }
        let diff = git_text(
            repo,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-renames",
                "-U3",
                &parent,
                commit,
                "--",
                path,
            ],
        )?;
        let hunks = parse_git_diff(&diff).map_err(anyhow::Error::msg)?;
        if hunks.len() < args.min_hunks || hunks.len() > args.max_hunks {
            continue;
        }
        // Every case text comes from the old file and the diff.
        if has_secret(&old_text) || has_secret(&diff) {
            skipped.add(Skip::Secret.as_str());
            continue;
        }
        let subject = git_text(repo, &["log", "-1", "--format=%s", commit]).unwrap_or_default();
        let info = CommitInfo {
            repo_name: &repo_name,
            commit,
            parent: &parent,
            subject: subject.trim(),
            other_files: &other_files,
        };
        let language = language_for_path(path).unwrap_or("unknown");
        let mut new_cases =
            cases_from_file_change(path, language, &old_text, &hunks, &info, args.reverse);
        // A case must replay and reach the commit's text, or it is not kept.
        new_cases.retain(|case| case.replay().is_ok());
        if !new_cases.is_empty() {
            productive_commits += 1;
        }
        cases.extend(new_cases);
    }
    Ok((cases, productive_commits))
}

/// LintSeq-style cases from the files at `args.rev` (see [`crate::lintseq`]), and what they took.
pub fn mine_synthetic(
    args: &MineArgs,
    skipped: &mut SkipReport,
) -> anyhow::Result<(Vec<Case>, SyntheticCounts)> {
    let repo = &args.repo;
    let repo_name = repository_name(repo)?;
    let commit = git_text(repo, &["rev-parse", "--verify", &format!("{}^{{commit}}", args.rev)])?;
    let commit = commit.trim();
    let listing = git(repo, &["ls-tree", "-r", "-z", "--name-only", commit])?;
    let mut paths = Vec::new();
    for path in listing.split(|byte| *byte == 0).filter(|path| !path.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let wanted = nextedit_grammars::by_path(&path)
            .is_some_and(|language| language.has_grammar())
            && args.extensions.as_ref().is_none_or(|extensions| {
                Path::new(&path)
                    .extension()
                    .and_then(|ext| ext.to_str())
                    .is_some_and(|ext| extensions.iter().any(|wanted| wanted == ext))
            });
        if !wanted {
            continue;
        }
        if !args.filter.allows(&path) {
            skipped.add(Skip::Excluded.as_str());
            continue;
        }
        paths.push(path);
    }
    let ignored = crate::safety::ignored_paths(repo, &paths);
    let mut counts = SyntheticCounts::default();
    let mut cases = Vec::new();
    for path in &paths {
        if ignored.contains(path) {
            skipped.add(Skip::Ignored.as_str());
            continue;
        }
        let Ok(bytes) = git(repo, &["show", &format!("{commit}:{path}")]) else { continue };
        if is_binary(&bytes) {
            skipped.add(Skip::Binary.as_str());
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else {
            skipped.add(Skip::Binary.as_str());
            continue;
        };
        if text.len() > args.max_file_bytes {
            continue;
        }
        if is_generated(path, &text) {
            skipped.add(Skip::Generated.as_str());
            continue;
        }
        if has_secret(&text) {
            skipped.add(Skip::Secret.as_str());
            continue;
        }
        let Some(language) = nextedit_grammars::by_path(path) else { continue };
        let seed = crate::lintseq::file_seed(args.seed, path);
        let Some(sequence) = crate::lintseq::lintseq(language, &text, seed, args.synthetic_steps)
        else {
            continue;
        };
        counts.files += 1;
        counts.rejected_states += sequence.rejected;
        let origin = crate::lintseq::SequenceOrigin {
            repo_name: &repo_name,
            commit,
            path,
            language: &language.id,
            seed: args.seed,
        };
        let mut new_cases = crate::lintseq::sequence_cases(&sequence, &origin, SYNTHETIC_HISTORY);
        new_cases.retain(|case| case.replay().is_ok());
        if !new_cases.is_empty() {
            counts.sequences += 1;
            counts.states += sequence.states.len();
        }
        cases.extend(new_cases);
    }
    Ok((cases, counts))
}

/// How many earlier steps of a synthetic sequence a case shows as history.
const SYNTHETIC_HISTORY: usize = 3;

/// What `--synthetic` made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticCounts {
    /// Files taken apart.
    pub files: usize,
    /// Files that gave cases.
    pub sequences: usize,
    /// States of those sequences, each file itself included.
    pub states: usize,
    /// Deletions refused because the result had new syntax errors.
    pub rejected_states: usize,
}

/// What decides a case's side of the held-out split: its commit, so that no commit is on both
/// sides (for a synthetic case, its file).
pub fn split_key(case: &Case) -> String {
    let provenance = &case.provenance;
    if provenance["source"] == "lintseq" {
        return format!("file:{}", case.file_path);
    }
    match provenance["commit"].as_str() {
        Some(commit) => format!("commit:{commit}"),
        None => format!("case:{}", case.id),
    }
}

/// Whether a case is held out, for `percent` percent of the split keys (a stable hash).
pub fn is_held_out(case: &Case, percent: u32) -> bool {
    percent > 0
        && crate::lintseq::file_seed(0x6e65_7874, &split_key(case)) % 100 < u64::from(percent)
}

/// What `nextedit mine` wrote, for its report.
#[derive(Debug, Default)]
pub struct MineOutput {
    pub cases: usize,
    pub heldout_cases: usize,
    pub pairs: usize,
    /// Pairs whose cursor moved to the next edit.
    pub moved_cursor: usize,
    pub duplicates: usize,
    pub capped: usize,
    pub pair_skips: std::collections::BTreeMap<&'static str, usize>,
    pub bytes: usize,
    pub export_seconds: f64,
}

/// Writes `cases` (the training side) as cases or, with `--export`, as pairs; returns the counts.
fn write_training(
    args: &MineArgs,
    cases: &[Case],
    skipped: &mut SkipReport,
) -> anyhow::Result<MineOutput> {
    let mut output = MineOutput::default();
    let mut per_file: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut below_cap = |path: &str, output: &mut MineOutput| -> bool {
        let count = per_file.entry(path.to_owned()).or_insert(0);
        if args.max_per_file > 0 && *count >= args.max_per_file {
            output.capped += 1;
            return false;
        }
        *count += 1;
        true
    };
    let mut text = String::new();
    match args.export {
        None => {
            for case in cases {
                if below_cap(&case.file_path, &mut output) {
                    text.push_str(&serde_json::to_string(case)?);
                    text.push('\n');
                    output.cases += 1;
                }
            }
        }
        Some(format) => {
            let settings = nextedit::config::Settings::default();
            let mut seen = std::collections::HashSet::new();
            let started = std::time::Instant::now();
            for case in cases {
                let pair = match crate::export::export_pair(case, format, &settings, args.cursor) {
                    Ok(pair) => pair,
                    Err(skip) => {
                        *output.pair_skips.entry(skip.as_str()).or_insert(0) += 1;
                        continue;
                    }
                };
                let line = serde_json::to_string(&pair.json)?;
                // A last check on everything written: the prompt may hold other files' text.
                if has_secret(&pair.prompt) || has_secret(&pair.completion) {
                    skipped.add(Skip::Secret.as_str());
                    continue;
                }
                let key = (pair.prompt, pair.completion);
                if !seen.insert(key) {
                    output.duplicates += 1;
                    continue;
                }
                if !below_cap(&case.file_path, &mut output) {
                    continue;
                }
                text.push_str(&line);
                text.push('\n');
                output.pairs += 1;
                if pair.json["provenance"]["cursor"]["moved_to_edit"] == true {
                    output.moved_cursor += 1;
                }
            }
            output.export_seconds = started.elapsed().as_secs_f64();
        }
    }
    output.bytes = text.len();
    std::fs::write(&args.out, text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(output)
}

/// Where held-out cases go: `--heldout-out`, else `--out` with `.heldout.jsonl`.
pub fn heldout_path(args: &MineArgs) -> PathBuf {
    args.heldout_out.clone().unwrap_or_else(|| {
        let stem = args
            .out
            .file_stem()
            .map_or_else(|| "cases".into(), |stem| stem.to_string_lossy().into_owned());
        args.out.with_file_name(format!("{stem}.heldout.jsonl"))
    })
}

/// The `mine` subcommand.
pub fn run_mine(args: MineArgs) -> anyhow::Result<()> {
    let mut skipped = SkipReport::default();
    let mut summary = String::new();
    let cases = if args.synthetic {
        let (cases, counts) = mine_synthetic(&args, &mut skipped)?;
        summary.push_str(&format!(
            "synthetic: {} files, {} sequences, {} states, {} states rejected (new syntax errors), {} cases\n",
            counts.files,
            counts.sequences,
            counts.states,
            counts.rejected_states,
            cases.len()
        ));
        cases
    } else {
        let (cases, commits) = mine_history(&args, &mut skipped)?;
        summary.push_str(&format!("{} cases from {commits} commits\n", cases.len()));
        cases
    };
    let (heldout, training): (Vec<Case>, Vec<Case>) =
        cases.into_iter().partition(|case| is_held_out(case, args.heldout_percent));
    let output = write_training(&args, &training, &mut skipped)?;
    match args.export {
        Some(format) => {
            let rate = output.pairs as f64 / output.export_seconds.max(1e-9);
            summary.push_str(&format!(
                "{} {format} pairs written to {} ({} bytes; {:.0} pairs/s)\n",
                output.pairs,
                args.out.display(),
                output.bytes,
                rate
            ));
            if output.moved_cursor > 0 {
                summary.push_str(&format!(
                    "  {} of them with the cursor moved to the next edit (outside the region at the case's cursor)\n",
                    output.moved_cursor
                ));
            }
            for (reason, count) in &output.pair_skips {
                summary.push_str(&format!("  no pair for {count} cases: {reason}\n"));
            }
            if output.duplicates > 0 {
                summary.push_str(&format!("  dropped {} duplicate pairs\n", output.duplicates));
            }
        }
        None => {
            let mut by_category = std::collections::BTreeMap::new();
            for case in &training {
                *by_category.entry(case.category.as_str()).or_insert(0) += 1;
            }
            summary.push_str(&format!(
                "{} cases written to {}\n",
                output.cases,
                args.out.display()
            ));
            for (category, count) in by_category {
                summary.push_str(&format!("  {category}: {count}\n"));
            }
        }
    }
    if output.capped > 0 {
        summary.push_str(&format!("  left out {} over --max-per-file\n", output.capped));
    }
    if args.heldout_percent > 0 {
        let path = heldout_path(&args);
        let mut text = String::new();
        for case in &heldout {
            text.push_str(&serde_json::to_string(case)?);
            text.push('\n');
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        let keys: BTreeSet<String> = heldout.iter().map(split_key).collect();
        summary.push_str(&format!(
            "{} held-out cases ({} commits or files) written to {}\n",
            heldout.len(),
            keys.len(),
            path.display()
        ));
    }
    summary.push_str(&skipped.render("files or cases"));
    crate::print_stdout(&summary)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::apply_patch;

    fn run_git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            // Fixed dates make the commit hashes, and so the held-out split by commit hash, the
            // same on every run (with the clock's time, a run now and then put every commit on
            // one side).
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    fn commit_file(dir: &Path, path: &str, text: &str, message: &str) {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
        run_git(dir, &["add", "-A"]);
        run_git(dir, &["commit", "-q", "-m", message]);
    }

    /// A file of `count` small functions, with `name` as the helper they call.
    fn functions(count: usize, name: &str, changed: &[usize]) -> String {
        let mut text = String::from("use std::fmt;\n\n");
        for index in 0..count {
            let callee = if changed.contains(&index) { name } else { "old_helper" };
            text.push_str(&format!("fn function_{index}() -> u32 {{\n    let value = {index};\n    {callee}(value)\n}}\n\n"));
        }
        text
    }

    #[test]
    fn mines_cases_from_a_small_repository() {
        let tempdir = tempfile::tempdir().unwrap();
        let dir = tempdir.path();
        run_git(dir, &["init", "-q", "-b", "main"]);
        commit_file(dir, "src/lib.rs", &functions(12, "old_helper", &[]), "first");
        // Three hunks that rename the callee: 2 forward and 2 reverse cases.
        commit_file(
            dir,
            "src/lib.rs",
            &functions(12, "new_helper", &[1, 5, 9]),
            "rename the helper",
        );
        // One hunk: no case.
        commit_file(dir, "src/lib.rs", &functions(12, "new_helper", &[1, 3, 5, 9]), "one more");
        // Two source files: no case.
        std::fs::write(dir.join("src/other.py"), "x = 1\n").unwrap();
        commit_file(dir, "src/lib.rs", &functions(12, "new_helper", &[1, 3, 5, 7, 9]), "two files");
        // Two hunks in a Python file and a README: 1 forward and 1 reverse case.
        std::fs::write(dir.join("README.md"), "docs\n").unwrap();
        let python_before = "import os\n\n\ndef a(x):\n    return x == None\n\n\n\n\n\n\n\ndef b(y):\n    return y == None\n";
        std::fs::write(dir.join("src/other.py"), python_before).unwrap();
        run_git(dir, &["add", "-A"]);
        run_git(dir, &["commit", "-q", "-m", "python"]);
        let python_after = "import os\n\n\ndef a(x):\n    return x is None\n\n\n\n\n\n\n\ndef b(y):\n    return y is None";
        std::fs::write(dir.join("README.md"), "more docs\n").unwrap();
        commit_file(dir, "src/other.py", python_after, "python change without final newline");

        let out = dir.join("cases.jsonl");
        let args = MineArgs::parse(&[
            dir.to_string_lossy().into_owned(),
            "--out".into(),
            out.to_string_lossy().into_owned(),
        ])
        .unwrap();
        run_mine(args).unwrap();
        let loaded = crate::eval::cases::load_cases(std::slice::from_ref(&out)).unwrap();
        let repo_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Ids are `{repo}-{10 hex digits of the commit}-h{target}of{hunks}[-rev]`.
        let summary: Vec<(String, String)> = loaded
            .iter()
            .map(|loaded| {
                (loaded.case.id[repo_name.len() + 12..].to_owned(), loaded.case.category.clone())
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("h2of2".to_owned(), "repeated-pattern".to_owned()),
                ("h1of2-rev".to_owned(), "repeated-pattern".to_owned()),
                ("h2of3".to_owned(), "rename-propagation".to_owned()),
                ("h3of3".to_owned(), "rename-propagation".to_owned()),
                ("h2of3-rev".to_owned(), "rename-propagation".to_owned()),
                ("h1of3-rev".to_owned(), "rename-propagation".to_owned()),
            ]
        );
        for loaded in &loaded {
            let case = &loaded.case;
            assert!(case.id.starts_with(&format!("{repo_name}-")), "{}", case.id);
            case.replay().unwrap();
            // The lenient patch format has no notion of a missing final newline.
            let patched = apply_patch(&case.before, &case.expected_patch).unwrap();
            assert_eq!(patched.trim_end(), case.expected_after.trim_end(), "{}", case.id);
            assert_ne!(case.before, case.expected_after);
        }
        let rename = &loaded[2].case;
        assert_eq!(rename.history.len(), 1);
        assert_eq!(rename.language, "rust");
        // The cursor is at the end of the line that the history hunk added.
        let cursor_line = rename.before.split('\n').nth(rename.cursor.line as usize).unwrap();
        assert_eq!(cursor_line, "    new_helper(value)");
        assert_eq!(rename.cursor.character, 21);
        assert_eq!(
            rename.provenance["category_evidence"]["rename_pairs"],
            json!(["old_helper->new_helper"])
        );
        let python = &loaded[0].case;
        assert_eq!(python.provenance["other_files_in_commit"], json!(["README.md"]));
        assert!(python.expected_after.ends_with("return y is None"));
        assert_eq!(python.provenance["category_evidence"]["pattern_similarity"], json!(1.0));
    }

    /// Rebuilds the commits behind some shared cases as a repository, mines it, and checks that
    /// the mined cases are the shared ones.
    #[test]
    fn mining_reproduces_the_shared_cases() {
        let shared_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval/dev.jsonl");
        let shared = crate::eval::cases::load_cases(std::slice::from_ref(&shared_path)).unwrap();
        let shared: Vec<&Case> = shared.iter().map(|loaded| &loaded.case).collect();
        let commit_of = |case: &Case| case.provenance["commit"].as_str().unwrap().to_owned();
        let target_of = |case: &Case| case.provenance["target_hunk_index"].as_u64().unwrap();
        let tempdir = tempfile::tempdir().unwrap();
        let dir = tempdir.path();
        run_git(dir, &["init", "-q", "-b", "main"]);
        let mut rebuilt = Vec::new();
        for case in &shared {
            let commit = commit_of(case);
            let hunks = case.provenance["num_hunks"].as_u64().unwrap();
            if target_of(case) != 1 || rebuilt.contains(&commit) {
                continue;
            }
            let Some(last) = shared
                .iter()
                .find(|other| commit_of(other) == commit && target_of(other) == hunks - 1)
            else {
                continue;
            };
            // The parent's text is the first case's text before its history; the commit's text
            // is the last case's expected text.
            let path = format!("c{}/{}", rebuilt.len(), case.file_path);
            commit_file(dir, &path, &case.replay().unwrap().initial, "parent");
            commit_file(dir, &path, &last.expected_after, &commit);
            rebuilt.push(commit);
            if rebuilt.len() == 12 {
                break;
            }
        }
        let args =
            MineArgs::parse(&[dir.to_string_lossy().into_owned(), "--no-reverse".into()]).unwrap();
        let (mined, commits) = mine_repository(&args).unwrap();
        assert_eq!(commits, rebuilt.len());
        let body = |diff: &str| diff.splitn(3, '\n').nth(2).unwrap_or("").to_owned();
        let mut compared = 0;
        for case in &mined {
            let subject = case.provenance["commit_subject"].as_str().unwrap();
            let Some(original) = shared
                .iter()
                .find(|other| commit_of(other) == subject && target_of(other) == target_of(case))
            else {
                continue;
            };
            assert_eq!(case.before, original.before, "{}", original.id);
            assert_eq!(case.expected_after, original.expected_after, "{}", original.id);
            assert_eq!(case.cursor, original.cursor, "{}", original.id);
            assert_eq!(
                case.history.iter().map(|diff| body(diff)).collect::<Vec<_>>(),
                original.history.iter().map(|diff| body(diff)).collect::<Vec<_>>(),
                "{}",
                original.id
            );
            assert_eq!(case.category, original.category, "{}", original.id);
            compared += 1;
        }
        assert!(compared >= 12, "only {compared} cases compared");
    }

    /// A planted credential: it must never reach any output.
    const PLANTED_SECRET: &str = "ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LmNb";

    /// A repository with renames, repeated edits, rewrites, a reverted and redone change, a
    /// planted secret, an ignored file and a generated file.
    fn training_repository(dir: &Path) {
        run_git(dir, &["init", "-q", "-b", "main"]);
        std::fs::write(dir.join(".gitignore"), "secrets/\n").unwrap();
        commit_file(dir, "src/lib.rs", &functions(12, "old_helper", &[]), "first");
        let python: String =
            (0..30).map(|index| format!("value_{index} = compute({index})\n")).collect();
        commit_file(dir, "pkg/values.py", &python, "values");
        // A rename of the helper, three hunks.
        commit_file(
            dir,
            "src/lib.rs",
            &functions(12, "new_helper", &[1, 5, 9]),
            "rename the helper",
        );
        // A repeated edit in Python, reverted, then made again: identical pairs.
        let repeated = python
            .replace("compute(3)", "compute(3, True)")
            .replace("compute(14)", "compute(14, True)")
            .replace("compute(25)", "compute(25, True)");
        commit_file(dir, "pkg/values.py", &repeated, "pass True");
        commit_file(dir, "pkg/values.py", &python, "revert passing True");
        commit_file(dir, "pkg/values.py", &repeated, "pass True again");
        // A file moved (no case), then rewritten in two places.
        run_git(dir, &["mv", "pkg/values.py", "pkg/numbers.py"]);
        run_git(dir, &["commit", "-q", "-m", "move"]);
        let rewritten = repeated
            .replace("value_2 = compute(2)", "value_2 = compute(2) * 2")
            .replace("value_20 = compute(20)", "value_20 = compute(20) * 2");
        commit_file(dir, "pkg/numbers.py", &rewritten, "double two values");
        // A secret in a two-hunk change.
        let with_secret = rewritten
            .replace(
                "value_5 = compute(5)",
                &format!("value_5 = compute(5)\nGITHUB_TOKEN = \"{PLANTED_SECRET}\""),
            )
            .replace("value_28 = compute(28)", "value_28 = compute(28, True)");
        commit_file(dir, "pkg/numbers.py", &with_secret, "oops, a token");
        commit_file(dir, "pkg/numbers.py", &rewritten, "remove the token");
        // An ignored file (force-added) and a generated one, each changed in two hunks.
        let ignored: String =
            (0..30).map(|index| format!("key_{index} = load({index})\n")).collect();
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/keys.py"), &ignored).unwrap();
        run_git(dir, &["add", "-f", "secrets/keys.py"]);
        run_git(dir, &["commit", "-q", "-m", "keys"]);
        std::fs::write(
            dir.join("secrets/keys.py"),
            ignored
                .replace("load(2)", "load(2, IGNORED_MARK)")
                .replace("load(22)", "load(22, IGNORED_MARK)"),
        )
        .unwrap();
        run_git(dir, &["add", "-f", "secrets/keys.py"]);
        run_git(dir, &["commit", "-q", "-m", "keys again"]);
        let generated = format!(
            "// Code generated by protoc. DO NOT EDIT.\n{}",
            functions(10, "old_helper", &[])
        );
        commit_file(dir, "src/api.rs", &generated, "generated");
        commit_file(
            dir,
            "src/api.rs",
            &generated
                .replace(
                    "function_2() -> u32 {\n    let value = 2",
                    "function_2() -> u32 {\n    let value = GENERATED_MARK",
                )
                .replace(
                    "function_8() -> u32 {\n    let value = 8",
                    "function_8() -> u32 {\n    let value = GENERATED_MARK",
                ),
            "regenerated",
        );
    }

    fn mine_args(dir: &Path, extra: &[&str]) -> MineArgs {
        let mut args = vec![dir.to_string_lossy().into_owned()];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        MineArgs::parse(&args).unwrap()
    }

    fn json_lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn a_repository_is_exported_in_every_format_with_the_split_by_commit() {
        let tempdir = tempfile::tempdir().unwrap();
        let dir = tempdir.path().join("repo");
        std::fs::create_dir_all(&dir).unwrap();
        training_repository(&dir);
        let mut skipped = SkipReport::default();
        let (cases, _) = mine_history(&mine_args(&dir, &[]), &mut skipped).unwrap();
        // The commit that adds the secret and the one that removes it.
        assert_eq!(skipped.get(Skip::Secret.as_str()), 2, "{skipped:?}");
        assert_eq!(skipped.get(Skip::Ignored.as_str()), 1, "{skipped:?}");
        assert_eq!(skipped.get(Skip::Generated.as_str()), 1, "{skipped:?}");
        let all = serde_json::to_string(&cases).unwrap();
        for mark in [PLANTED_SECRET, "IGNORED_MARK", "GENERATED_MARK"] {
            assert!(!all.contains(mark), "{mark} in the cases");
        }
        let by_id: std::collections::HashMap<&str, &Case> =
            cases.iter().map(|case| (case.id.as_str(), case)).collect();
        let output_dir = tempdir.path().join("out");
        std::fs::create_dir_all(&output_dir).unwrap();
        for format in crate::export::EXPORT_FORMATS {
            let out = output_dir.join(format!("{format}.jsonl"));
            let heldout = output_dir.join(format!("{format}.heldout.jsonl"));
            let args = mine_args(
                &dir,
                &[
                    "--export",
                    format.as_str(),
                    "--out",
                    out.to_str().unwrap(),
                    "--heldout",
                    "40",
                    "--heldout-out",
                    heldout.to_str().unwrap(),
                ],
            );
            run_mine(args).unwrap();
            let written = std::fs::read_to_string(&out).unwrap()
                + &std::fs::read_to_string(&heldout).unwrap();
            assert!(!written.contains(PLANTED_SECRET), "{format}: the planted secret was written");
            let pairs = json_lines(&out);
            let heldout_cases = json_lines(&heldout);
            assert!(
                !pairs.is_empty() && !heldout_cases.is_empty(),
                "{format}: {} pairs, {} held out",
                pairs.len(),
                heldout_cases.len()
            );
            // No commit on both sides of the split.
            let commits = |lines: &[Value], field: &str| -> BTreeSet<String> {
                lines
                    .iter()
                    .map(|line| line[field]["commit"].as_str().unwrap().to_owned())
                    .collect()
            };
            let training_commits = commits(&pairs, "provenance");
            assert!(
                training_commits.is_disjoint(&commits(&heldout_cases, "provenance")),
                "{format}"
            );
            let mut seen = BTreeSet::new();
            for pair in &pairs {
                let shape: Vec<&str> =
                    pair.as_object().unwrap().keys().map(String::as_str).collect();
                if *format == PromptFormatKind::Instinct {
                    assert_eq!(shape, ["id", "messages", "provenance"], "{pair}");
                    let messages = pair["messages"].as_array().unwrap();
                    assert_eq!(messages.last().unwrap()["role"], "assistant");
                    assert_eq!(messages[0]["role"], "system");
                } else {
                    assert_eq!(shape, ["completion", "id", "prompt", "provenance"], "{pair}");
                }
                assert!(
                    seen.insert(
                        pair.get("messages").unwrap_or(&pair["prompt"]).to_string()
                            + &pair["completion"].to_string()
                    ),
                    "{format}: a duplicate pair"
                );
                let case = by_id[pair["id"].as_str().unwrap()];
                assert_eq!(pair["provenance"]["case_id"], case.id.as_str());
            }
        }
    }

    #[test]
    fn every_pair_reads_back_as_its_case_edit() {
        let tempdir = tempfile::tempdir().unwrap();
        training_repository(tempdir.path());
        let (cases, _) = mine_repository(&mine_args(tempdir.path(), &[])).unwrap();
        let settings = nextedit::config::Settings::default();
        for format in crate::export::EXPORT_FORMATS {
            let mut pairs = 0;
            for case in &cases {
                let Ok(pair) = crate::export::export_pair(
                    case,
                    *format,
                    &settings,
                    crate::export::CursorPlacement::CaseOrEdit,
                ) else {
                    continue;
                };
                // As if the model had answered with the completion: the format's parser reads
                // it back as exactly the case's expected edit.
                let after = crate::export::pair_result(case, *format, &settings, &pair).unwrap();
                assert_eq!(after, case.expected_after, "{format} {}", case.id);
                pairs += 1;
            }
            assert!(pairs >= 3, "{format}: only {pairs} pairs");
        }
    }

    #[test]
    fn the_cap_per_file_and_the_globs_hold() {
        let tempdir = tempfile::tempdir().unwrap();
        let dir = tempdir.path().join("repo");
        std::fs::create_dir_all(&dir).unwrap();
        training_repository(&dir);
        let out = tempdir.path().join("cases.jsonl");
        run_mine(mine_args(&dir, &["--out", out.to_str().unwrap(), "--max-per-file", "2"]))
            .unwrap();
        let mut per_file = std::collections::BTreeMap::new();
        for case in json_lines(&out) {
            *per_file.entry(case["file_path"].as_str().unwrap().to_owned()).or_insert(0) += 1;
        }
        assert!(per_file.len() >= 2 && per_file.values().all(|count| *count == 2), "{per_file:?}");
        run_mine(mine_args(
            &dir,
            &["--out", out.to_str().unwrap(), "--include", "pkg/**", "--exclude", "numbers.py"],
        ))
        .unwrap();
        let files: BTreeSet<String> = json_lines(&out)
            .iter()
            .map(|case| case["file_path"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(files, BTreeSet::from(["pkg/values.py".to_owned()]));
    }

    #[test]
    fn synthetic_sequences_come_from_the_files_at_head() {
        let tempdir = tempfile::tempdir().unwrap();
        let dir = tempdir.path().join("repo");
        std::fs::create_dir_all(&dir).unwrap();
        training_repository(&dir);
        let args = mine_args(&dir, &["--synthetic", "--seed", "3"]);
        let mut skipped = SkipReport::default();
        let (cases, counts) = mine_synthetic(&args, &mut skipped).unwrap();
        // src/lib.rs and pkg/numbers.py; the generated and the ignored file are skipped.
        assert_eq!((counts.files, counts.sequences), (2, 2), "{counts:?}");
        assert_eq!(skipped.get(Skip::Generated.as_str()), 1);
        assert_eq!(skipped.get(Skip::Ignored.as_str()), 1);
        assert!(cases.len() > 10);
        assert!(counts.states >= cases.len());
        let (again, _) = mine_synthetic(&args, &mut SkipReport::default()).unwrap();
        assert_eq!(serde_json::to_string(&cases).unwrap(), serde_json::to_string(&again).unwrap());
        for case in &cases {
            case.replay().unwrap();
            assert_eq!(case.category, "synthetic");
        }
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(cases.iter().any(|case| case.expected_after == lib));
    }

    #[test]
    fn parses_arguments() {
        let args: Vec<String> = ["repo", "--ext", "rs,.py", "--no-reverse"]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
        let parsed = MineArgs::parse(&args).unwrap();
        assert_eq!(parsed.extensions, Some(vec!["rs".to_owned(), "py".to_owned()]));
        assert!(!parsed.reverse);
        assert!(MineArgs::parse(&[]).is_err());
    }
}
