//! The ranker: every proposal, from the symbolic engine or the model, becomes one hunk with one
//! confidence in 0..1, and only the best above `predict.min_confidence` is shown.
//!
//! The evidence for a hunk:
//!
//! - **edit confidence** (model hunks): the log-probabilities of the generated tokens that differ
//!   from the draft (the unchanged region in the format's answer shape), found by aligning the
//!   output with the draft; their mean and minimum; and the copy log-probability, how likely the
//!   model found copying the region unchanged where its output left it;
//! - **likelihood** (hunks inside the model's region, when the backend can score): the model's
//!   log-probability of the answer with only that hunk applied, minus that of the unchanged
//!   answer, given the same prompt;
//! - **agreement**: how many of the model's candidates contain the same hunk;
//! - the symbolic engine's own score, and the checks of `validate.rs`, which every hunk passes.
//!
//! They combine as follows. The model's belief in a hunk is the geometric mean of the
//! probabilities it has: the mean probability of the changed tokens `exp(mean)`, the probability
//! of not copying at the divergence `1 - exp(copy)`, and the two-way preference of the hunk over
//! no change `sigmoid(likelihood)`; times the share of model candidates that contain the hunk.
//! A hunk that both engines propose is as likely as either being right (`1 - (1 - s)(1 - m)`).
//! A model hunk without any of these numbers (a backend without log-probabilities) is not gated.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use super::model::{CancelFlag, ModelBackend, ScoreRequest, TokenLogprob};
use super::prompt::{BuiltPrompt, PromptFormat};
use super::suggestion::{Proposal, SuggestionSource};
use crate::text::TextEdit;

/// How sure the model was of the tokens of its edit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EditConfidence {
    /// Mean log-probability of the generated tokens that overlap the changed bytes of the output
    /// (for a pure deletion, the token at the deletion point).
    pub mean_logprob: f32,
    pub min_logprob: f32,
    /// How many tokens that is.
    pub tokens: usize,
    /// The log-probability of copying the draft where the output left it.
    pub copy_logprob: Option<f32>,
}

/// The edit confidence of a generated `output` against the `draft` it rewrites, from the tokens
/// the backend reported. `None` when it reported none, or none overlaps the change.
pub fn edit_confidence(
    output: &str,
    draft: &str,
    tokens: &[TokenLogprob],
    copy_logprob: Option<f32>,
) -> Option<EditConfidence> {
    if tokens.is_empty() || output == draft {
        return None;
    }
    let changed = changed_output_ranges(output, draft);
    let mut start = 0;
    let mut values = Vec::new();
    for token in tokens {
        let span = start..token.end.max(start);
        start = span.end;
        let overlaps = changed.iter().any(|range| {
            if range.is_empty() {
                span.start <= range.start && range.start < span.end
            } else {
                span.start < range.end && span.end > range.start
            }
        });
        if overlaps && token.logprob.is_finite() {
            values.push(token.logprob);
        }
    }
    if values.is_empty() {
        return None;
    }
    let mean_logprob = values.iter().sum::<f32>() / values.len() as f32;
    let min_logprob = values.iter().copied().fold(f32::INFINITY, f32::min);
    Some(EditConfidence { mean_logprob, min_logprob, tokens: values.len(), copy_logprob })
}

/// The byte ranges of `output` that differ from `draft` (a word diff); a pure deletion is the
/// empty range at the point of deletion.
fn changed_output_ranges(output: &str, draft: &str) -> Vec<Range<usize>> {
    let edits = super::diff::region_edits(draft, 0..draft.len(), output, Duration::from_millis(20));
    let mut delta: isize = 0;
    edits
        .iter()
        .map(|edit| {
            let start = (edit.range.start as isize + delta).max(0) as usize;
            delta += edit.new_text.len() as isize - edit.range.len() as isize;
            start..start + edit.new_text.len()
        })
        .collect()
}

/// One proposal before ranking, with what the model said about it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub proposal: Proposal,
    /// For a model hunk: the edit confidence of the generated text it came from.
    pub edit: Option<EditConfidence>,
}

/// What scoring hunks with the model needs: the prompt the model answered and its format.
pub struct Scoring {
    pub backend: Arc<dyn ModelBackend>,
    pub format: Box<dyn PromptFormat + Send + Sync>,
    pub built: BuiltPrompt,
    /// The text the region of `built` refers to.
    pub text: String,
    /// How many candidates the model generated (the denominator of agreement).
    pub generated: usize,
    pub cancel: CancelFlag,
}

/// A distinct hunk and its evidence.
#[derive(Debug, Clone)]
pub struct RankedHunk {
    pub proposal: Proposal,
    /// The best score of the symbolic proposals with these edits.
    pub symbolic: Option<f32>,
    /// The edit confidence of each model candidate with these edits (`None` for one without
    /// log-probabilities).
    pub model: Vec<Option<EditConfidence>>,
    /// Log-probability of the answer with this hunk minus the unchanged answer's.
    pub likelihood: Option<f64>,
    /// The combined confidence; `None` when nothing is known (not gated).
    pub confidence: Option<f32>,
}

/// Merges candidates with the same edits (after minimising them against `text`) into hunks.
pub fn deduplicate(text: &str, candidates: Vec<Candidate>) -> Vec<RankedHunk> {
    let mut hunks: Vec<RankedHunk> = Vec::new();
    for Candidate { mut proposal, edit } in candidates {
        proposal.edits = super::suggestion::minimize_edits(text, &proposal.edits);
        proposal.group = super::suggestion::minimize_edits(text, &proposal.group);
        let symbolic = (proposal.source != SuggestionSource::Model).then_some(proposal.score);
        match hunks.iter_mut().find(|hunk| hunk.proposal.edits == proposal.edits) {
            Some(hunk) => {
                if let Some(score) = symbolic {
                    hunk.symbolic = Some(hunk.symbolic.map_or(score, |best| best.max(score)));
                    // A symbolic proposal carries its group and its source.
                    if hunk.proposal.source == SuggestionSource::Model
                        || score > hunk.proposal.score
                    {
                        hunk.proposal = proposal;
                    }
                } else {
                    hunk.model.push(edit);
                    if hunk.proposal.source == SuggestionSource::Model
                        && proposal.score > hunk.proposal.score
                    {
                        hunk.proposal.score = proposal.score;
                    }
                }
            }
            None => hunks.push(RankedHunk {
                model: if symbolic.is_none() { vec![edit] } else { Vec::new() },
                proposal,
                symbolic,
                likelihood: None,
                confidence: None,
            }),
        }
    }
    hunks
}

/// Asks the model how likely the answer with each hunk is against the unchanged answer, for the
/// hunks inside its region. Hunks it cannot score keep `likelihood: None`.
///
/// Only what differs is scored: the answers' common prefix (up to a line start) goes into the
/// prompt, where the backend's reused prefix makes it free, and each answer is cut a line after
/// its last difference (the rest copies the region, the same for every answer).
pub async fn score_hunks(scoring: &Scoring, hunks: &mut [RankedHunk]) {
    let region = scoring.built.region.clone();
    let Some(region_text) = scoring.text.get(region.clone()) else { return };
    let mut answers = vec![scoring.format.answer(region_text, &scoring.built)];
    let mut scored = Vec::new();
    for (index, hunk) in hunks.iter().enumerate() {
        if let Some(new_region) = region_with_hunk(region_text, &region, hunk) {
            answers.push(scoring.format.answer(&new_region, &scoring.built));
            scored.push(index);
        }
    }
    if scored.is_empty() {
        return;
    }
    let (prefix, cut) = differing_span(&answers);
    let continuations =
        answers.iter().map(|answer| answer[prefix..answer.len() - cut].to_owned()).collect();
    let request = ScoreRequest {
        prompt: format!("{}{}", scoring.built.prompt, &answers[0][..prefix]),
        continuations,
        cancel: scoring.cancel.clone(),
    };
    let scores = match scoring.backend.score(request).await {
        Ok(Some(scores)) if scores.len() == scored.len() + 1 => scores,
        Ok(_) => return,
        Err(error) => {
            tracing::debug!("scoring the hunks failed: {error}");
            return;
        }
    };
    let unchanged = scores[0].logprob_sum;
    for (index, score) in scored.into_iter().zip(&scores[1..]) {
        hunks[index].likelihood = Some(score.logprob_sum - unchanged);
    }
}

/// The region with only this hunk applied, when the hunk lies inside it.
fn region_with_hunk(region_text: &str, region: &Range<usize>, hunk: &RankedHunk) -> Option<String> {
    let edits = &hunk.proposal.edits;
    let inside =
        edits.iter().all(|edit| edit.range.start >= region.start && edit.range.end <= region.end);
    if !inside || edits.is_empty() {
        return None;
    }
    let local: Vec<TextEdit> = edits
        .iter()
        .map(|edit| {
            TextEdit::new(
                edit.range.start - region.start..edit.range.end - region.start,
                edit.new_text.clone(),
            )
        })
        .collect();
    super::validate::apply_edits(region_text, &local)
}

/// Whether scoring could change which hunk is shown: two or more hunks that only the model
/// proposes (a symbolic hunk ranks first whatever the model thinks of it).
pub fn worth_scoring(hunks: &[RankedHunk]) -> bool {
    hunks.iter().filter(|hunk| hunk.symbolic.is_none() && !hunk.model.is_empty()).count() >= 2
}

/// What of the answers to score: the length of their common prefix, cut back to a line start,
/// and how much of their common suffix to leave off, keeping the line break that ends their last
/// difference and one more line.
fn differing_span(answers: &[String]) -> (usize, usize) {
    let Some(first) = answers.first() else { return (0, 0) };
    let first = first.as_bytes();
    let mut common_prefix = first.len();
    let mut common_suffix = first.len();
    for answer in &answers[1..] {
        let answer = answer.as_bytes();
        common_prefix =
            common_prefix.min(first.iter().zip(answer).take_while(|(a, b)| a == b).count());
        common_suffix = common_suffix
            .min(first.iter().rev().zip(answer.iter().rev()).take_while(|(a, b)| a == b).count());
    }
    let shortest = answers.iter().map(String::len).min().unwrap_or(0);
    let common_suffix = common_suffix.min(shortest - common_prefix);
    let prefix =
        first[..common_prefix].iter().rposition(|&byte| byte == b'\n').map_or(0, |at| at + 1);
    let tail = &first[first.len() - common_suffix..];
    let keep = tail
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .nth(1)
        .map_or(tail.len(), |(at, _)| at + 1);
    (prefix, common_suffix - keep)
}

fn sigmoid(value: f64) -> f64 {
    1.0 / (1.0 + (-value).exp())
}

/// The model's belief in a hunk (see the module documentation), or `None` without evidence.
fn model_belief(hunk: &RankedHunk, generated: usize) -> Option<f64> {
    if hunk.model.is_empty() {
        return None;
    }
    // The most confident of the candidates that made it.
    let best = hunk.model.iter().flatten().max_by(|a, b| a.mean_logprob.total_cmp(&b.mean_logprob));
    let mut parts: Vec<f64> = Vec::new();
    if let Some(edit) = best {
        parts.push(f64::from(edit.mean_logprob).exp());
        if let Some(copy) = edit.copy_logprob {
            parts.push(1.0 - f64::from(copy).exp());
        }
    }
    if let Some(likelihood) = hunk.likelihood {
        parts.push(sigmoid(likelihood));
    }
    if parts.is_empty() {
        return None;
    }
    let geometric =
        parts.iter().map(|part| part.clamp(1e-9, 1.0).ln()).sum::<f64>() / parts.len() as f64;
    let agreement = hunk.model.len() as f64 / generated.max(hunk.model.len()).max(1) as f64;
    Some(geometric.exp() * agreement)
}

/// Sets each hunk's confidence.
pub fn combine(hunks: &mut [RankedHunk], generated: usize) {
    for hunk in hunks {
        let model = model_belief(hunk, generated);
        let symbolic = hunk.symbolic.map(f64::from);
        hunk.confidence = match (symbolic, model) {
            (None, None) => None,
            (symbolic, model) => {
                let doubt = (1.0 - symbolic.unwrap_or(0.0)) * (1.0 - model.unwrap_or(0.0));
                Some((1.0 - doubt).clamp(0.0, 1.0) as f32)
            }
        };
    }
}

/// Sorts hunks best first: renames, then repeated edits, then the model's hunks (so a symbolic
/// proposal is only ever beaten by a better symbolic one, as without a model), then by
/// confidence, then by the model's likelihood, then the smaller change.
pub fn sort(hunks: &mut [RankedHunk]) {
    let key = |hunk: &RankedHunk| {
        let size: usize =
            hunk.proposal.edits.iter().map(|edit| edit.range.len() + edit.new_text.len()).sum();
        let source_rank = match hunk.proposal.source {
            SuggestionSource::Rename => 2,
            SuggestionSource::Repeat => 1,
            SuggestionSource::Model => 0,
        };
        (
            source_rank,
            hunk.confidence.unwrap_or(hunk.proposal.score),
            hunk.likelihood.unwrap_or(f64::NEG_INFINITY),
            -(size as i64),
        )
    };
    hunks.sort_by(|a, b| key(b).partial_cmp(&key(a)).unwrap_or(std::cmp::Ordering::Equal));
}

/// Whether a hunk may be shown: one the symbolic engine proposes (it passed `symbolic.min_score`),
/// or a model hunk whose confidence reaches `min_confidence` or that has no evidence to gate on.
pub fn passes(hunk: &RankedHunk, min_confidence: f32) -> bool {
    hunk.symbolic.is_some() || hunk.confidence.is_none_or(|confidence| confidence >= min_confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(ends_and_logprobs: &[(usize, f32)]) -> Vec<TokenLogprob> {
        ends_and_logprobs.iter().map(|&(end, logprob)| TokenLogprob { end, logprob }).collect()
    }

    #[test]
    fn edit_confidence_reads_the_changed_tokens_only() {
        // "let total = 1;" against "let count = 1;": only " total" changed.
        let tokens = tokens(&[(3, -0.1), (9, -2.0), (11, -0.1), (13, -0.2), (14, -0.1)]);
        let confidence =
            edit_confidence("let total = 1;", "let count = 1;", &tokens, Some(-3.0)).unwrap();
        assert_eq!(confidence.mean_logprob, -2.0);
        assert_eq!(confidence.min_logprob, -2.0);
        assert_eq!(confidence.tokens, 1);
        assert_eq!(confidence.copy_logprob, Some(-3.0));
        // A pure deletion: the token at the deletion point.
        let tokens_after = [(3, -0.1), (5, -1.5), (6, -0.1)];
        let deleted =
            edit_confidence("a;\nb;\n", "a;\nx;\nb;\n", &super::tests::tokens(&tokens_after), None);
        assert_eq!(deleted.map(|c| c.mean_logprob), Some(-1.5));
        // No tokens: nothing to say.
        assert_eq!(edit_confidence("let total", "let count", &[], None), None);
    }

    fn model_hunk(text: &str, edit: Option<EditConfidence>) -> Candidate {
        Candidate {
            proposal: Proposal {
                edits: vec![TextEdit::new(0..1, text)],
                source: SuggestionSource::Model,
                score: 0.5,
                group: Vec::new(),
            },
            edit,
        }
    }

    fn confident(mean_logprob: f32) -> Option<EditConfidence> {
        Some(EditConfidence {
            mean_logprob,
            min_logprob: mean_logprob,
            tokens: 1,
            copy_logprob: None,
        })
    }

    #[test]
    fn agreement_raises_the_confidence_of_a_hunk() {
        let candidates = vec![
            model_hunk("b", confident(-0.5)),
            model_hunk("c", confident(-0.5)),
            model_hunk("b", confident(-0.7)),
        ];
        let mut hunks = deduplicate("a", candidates);
        assert_eq!(hunks.len(), 2);
        combine(&mut hunks, 3);
        sort(&mut hunks);
        assert_eq!(hunks[0].proposal.edits[0].new_text, "b");
        assert_eq!(hunks[0].model.len(), 2);
        let (agreed, alone) = (hunks[0].confidence.unwrap(), hunks[1].confidence.unwrap());
        assert!((agreed - 2.0 / 3.0 * (-0.5f32).exp()).abs() < 1e-5, "{agreed}");
        assert!((alone - (-0.5f32).exp() / 3.0).abs() < 1e-5, "{alone}");
    }

    #[test]
    fn a_symbolic_hunk_the_model_agrees_with_gains_and_stays_first() {
        let symbolic = Candidate {
            proposal: Proposal {
                edits: vec![TextEdit::new(0..1, "b")],
                source: SuggestionSource::Rename,
                score: 0.8,
                group: Vec::new(),
            },
            edit: None,
        };
        let candidates =
            vec![model_hunk("c", confident(-0.01)), model_hunk("b", confident(-0.7)), symbolic];
        let mut hunks = deduplicate("a", candidates);
        combine(&mut hunks, 2);
        sort(&mut hunks);
        assert_eq!(hunks[0].proposal.source, SuggestionSource::Rename);
        let expected = 1.0 - 0.2 * (1.0 - (-0.7f64).exp() / 2.0);
        assert!((f64::from(hunks[0].confidence.unwrap()) - expected).abs() < 1e-5);
    }

    #[test]
    fn only_what_differs_between_the_answers_is_scored() {
        let answers: Vec<String> = [
            "fn f() {\n    a();\n}\n\nfn g() {\n    b();\n}\n<stop>",
            "fn f() {\n    a(1);\n}\n\nfn g() {\n    b();\n}\n<stop>",
            "fn f() {\n    a();\n    c();\n}\n\nfn g() {\n    b();\n}\n<stop>",
        ]
        .map(str::to_owned)
        .to_vec();
        let (prefix, cut) = differing_span(&answers);
        // The shared first line goes into the prompt; the differing lines, the line break after
        // them and one more line are scored; the rest is left off.
        assert_eq!(&answers[0][..prefix], "fn f() {\n");
        let scored: Vec<&str> =
            answers.iter().map(|answer| &answer[prefix..answer.len() - cut]).collect();
        assert_eq!(scored, ["    a();\n}\n", "    a(1);\n}\n", "    a();\n    c();\n}\n"]);
        // Answers that differ at their very start and end are scored whole.
        let answers = vec!["a\nb".to_owned(), "c\nd".to_owned()];
        assert_eq!(differing_span(&answers), (0, 0));
    }

    #[test]
    fn scoring_is_asked_for_only_between_model_hunks() {
        let symbolic = Candidate {
            proposal: Proposal {
                edits: vec![TextEdit::new(0..1, "b")],
                source: SuggestionSource::Rename,
                score: 0.7,
                group: Vec::new(),
            },
            edit: None,
        };
        let one = deduplicate("a", vec![model_hunk("c", confident(-0.5)), symbolic.clone()]);
        assert!(!worth_scoring(&one));
        let two = deduplicate("a", vec![model_hunk("c", confident(-0.5)), model_hunk("d", None)]);
        assert!(worth_scoring(&two));
        // A symbolic hunk is not gated on the model's confidence.
        let mut hunks = deduplicate("a", vec![symbolic]);
        combine(&mut hunks, 1);
        assert!(passes(&hunks[0], 0.99));
    }

    #[test]
    fn a_hunk_without_evidence_is_not_gated() {
        let mut hunks = deduplicate("a", vec![model_hunk("b", None)]);
        combine(&mut hunks, 1);
        assert_eq!(hunks[0].confidence, None);
        assert!(passes(&hunks[0], 0.99));
        let mut hunks = deduplicate("a", vec![model_hunk("b", confident(-3.0))]);
        combine(&mut hunks, 1);
        assert!(!passes(&hunks[0], 0.5));
    }
}
