//! What one prediction job does for one version of one document: the symbolic engine, then,
//! after the debounce, the model (context -> prompt -> model -> parse -> diff -> checks), then the
//! ranking and the checks every proposal passes.

use std::time::{Duration, Instant};

use super::documents::DocumentSnapshot;
use super::rank::{self, Candidate, Scoring};
use super::suggestion::{self, Proposal};
use super::validate::{self, CheckInput};
use super::{CancelFlag, Engine, EngineEvent, MessageLevel, ModelSlot, context, diff, model};
use super::{prompt, symbolic};
use crate::config::Settings;
use crate::locks::lock;
use crate::text::EditEvent;

/// Everything a model request needs, and what its answer is read against.
pub struct ModelRequest {
    pub format: Box<dyn prompt::PromptFormat + Send + Sync>,
    pub built: prompt::BuiltPrompt,
    /// The document text the region offsets of `built` refer to.
    pub context_text: String,
    pub request: model::GenerationRequest,
}

impl Engine {
    /// The whole pipeline for one version of one document.
    pub(super) async fn run_job(
        &self,
        uri: &str,
        version: i32,
        cursor: Option<usize>,
        cancel: &CancelFlag,
        debounce: bool,
    ) -> Option<(Proposal, DocumentSnapshot)> {
        if crate::fault::fire_once(crate::fault::Fault::PanicInPrediction) {
            panic!("prediction panic injected by {}", crate::fault::FAULT_ENV_VAR);
        }
        // The reparse runs without the documents lock, so `didChange` never waits for the parser;
        // an edit that lands meanwhile makes the new tree useless, and then so is this job.
        let detached = lock(&self.shared.documents).detach_reparse(uri);
        if let Some((parsed_version, text, parse)) = detached {
            let started = Instant::now();
            let tree = parse.run(&text);
            tracing::debug!(elapsed = ?started.elapsed(), "reparse");
            if let Some(tree) = tree {
                lock(&self.shared.documents).install_tree(uri, parsed_version, tree);
            }
        }
        let (snapshot, unpredictable) = {
            let documents = lock(&self.shared.documents);
            let unpredictable = documents.get(uri).is_some_and(|open| open.unpredictable.is_some());
            (documents.snapshot(uri), unpredictable)
        };
        let mut snapshot = snapshot?;
        snapshot.cursor = cursor;
        if snapshot.version != version || unpredictable {
            return None;
        }
        let settings = self.settings();
        if !language_enabled(&settings, &snapshot) {
            return None;
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        if settings.symbolic.enabled {
            let started = Instant::now();
            let symbolic = symbolic_proposals(&snapshot);
            tracing::debug!(elapsed = ?started.elapsed(), count = symbolic.len(), "symbolic engine");
            candidates.extend(
                symbolic
                    .into_iter()
                    .filter(|p| p.score >= settings.symbolic.min_score)
                    .map(|proposal| Candidate { proposal, edit: None }),
            );
        }
        let symbolic_wins =
            candidates.iter().any(|c| c.proposal.score >= settings.symbolic.prefer_over_model);
        // A proposal below `prefer_over_model` (a rename while the new name may still be being
        // typed) waits for the debounce even without a model: the next keystroke supersedes it.
        // Without a model and without a proposal there is nothing to wait for.
        let model_ready = matches!(self.model(), ModelSlot::Ready(_));
        if !symbolic_wins && (model_ready || !candidates.is_empty()) {
            if debounce && settings.predict.debounce_ms > 0 {
                tokio::time::sleep(Duration::from_millis(settings.predict.debounce_ms)).await;
            }
            if cancel.is_cancelled() {
                return None;
            }
            let (model_candidates, scoring) =
                self.model_proposals(&snapshot, &settings, cancel).await;
            candidates.extend(model_candidates);
            let best = self.rank_and_check(&snapshot, &settings, candidates, scoring).await;
            return best.map(|proposal| (proposal, snapshot));
        }
        let best = self.rank_and_check(&snapshot, &settings, candidates, None).await;
        best.map(|proposal| (proposal, snapshot))
    }

    /// Model proposals, one per hunk of each candidate, with the edit confidence of the
    /// candidate it came from: context -> prompt -> model -> parse -> diff -> checks. Also what
    /// the ranker needs to score hunks with the model.
    async fn model_proposals(
        &self,
        snapshot: &DocumentSnapshot,
        settings: &Settings,
        cancel: &CancelFlag,
    ) -> (Vec<Candidate>, Option<Scoring>) {
        let ModelSlot::Ready(backend) = self.model() else { return (Vec::new(), None) };
        if snapshot.history.last().is_none() {
            // Nothing to go on before the user's first edit.
            return (Vec::new(), None);
        }
        if !backend.is_alive() {
            let message = model::ModelError::BackendDead.to_string();
            self.set_model(ModelSlot::Failed(message.clone()));
            self.notify(EngineEvent::UserMessage {
                level: MessageLevel::Warning,
                message: format!("nextedit: {message}"),
            });
            return (Vec::new(), None);
        }
        let Some(ModelRequest { format, built, context_text, request }) =
            self.model_request(snapshot, settings, backend.as_ref(), cancel)
        else {
            return (Vec::new(), None);
        };
        let generation = match backend.generate(request).await {
            Ok(generation) => generation,
            Err(error) => {
                tracing::warn!("model generation failed: {error}");
                self.notify(EngineEvent::UserMessage {
                    level: MessageLevel::Warning,
                    message: format!("nextedit: {error}"),
                });
                if let Some(status) = self.shared.model.generation_failed(&error) {
                    self.notify(EngineEvent::ModelStatus(status));
                }
                return (Vec::new(), None);
            }
        };
        if !generation.stats.cancelled
            && let Some(status) = self.shared.model.generation_succeeded()
        {
            tracing::info!("the model answers again");
            self.notify(EngineEvent::ModelStatus(status));
        }
        if generation.stats.cancelled || cancel.is_cancelled() {
            return (Vec::new(), None);
        }
        tracing::debug!(stats = ?generation.stats, "model generation");
        *lock(&self.shared.last_generation) = Some(generation.stats.clone());
        let input = CheckInput {
            text: &context_text,
            tree: snapshot.tree.as_ref(),
            language: snapshot.language,
            last_event: snapshot.history.last(),
            region: Some(built.region.clone()),
        };
        let mut proposals = Vec::new();
        let generated = generation.candidates.len();
        for candidate in generation.candidates {
            if !prompt::is_complete(&candidate.finish) {
                // Cut off by the token limit: the missing tail would read as a deletion.
                tracing::debug!(finish = ?candidate.finish, "model output rejected: incomplete");
                continue;
            }
            let new_region = match format.parse(&candidate.text, &built) {
                Ok(new_region) => new_region,
                Err(error) => {
                    tracing::debug!("model output rejected: {error}");
                    continue;
                }
            };
            let edits = diff::region_edits(
                &context_text,
                built.region.clone(),
                &new_region,
                Duration::from_millis(20),
            );
            if let Err(rejection) = validate::check(&input, &edits) {
                tracing::debug!(?edits, "model proposal dropped: {}", rejection.as_str());
                continue;
            }
            let score = candidate.mean_logprob.exp().clamp(0.0, 1.0);
            let edit = rank::edit_confidence(
                &candidate.text,
                &built.draft,
                &candidate.tokens,
                candidate.copy_logprob,
            );
            tracing::debug!(?edit, "model proposal");
            for hunk in symbolic::group_into_hunks(&context_text, edits) {
                let proposal = Proposal {
                    edits: hunk,
                    source: suggestion::SuggestionSource::Model,
                    score,
                    group: Vec::new(),
                };
                proposals.push(Candidate { proposal, edit });
            }
        }
        let scoring = Scoring {
            backend,
            format,
            built,
            text: context_text,
            generated,
            cancel: cancel.clone(),
        };
        (proposals, Some(scoring))
    }

    /// Builds the generation request for a snapshot, or `None` when there is nothing to ask.
    pub(super) fn model_request(
        &self,
        snapshot: &DocumentSnapshot,
        settings: &Settings,
        backend: &dyn model::ModelBackend,
        cancel: &CancelFlag,
    ) -> Option<ModelRequest> {
        let count_tokens = |text: &str| backend.count_tokens(text);
        let path = self.display_path(&snapshot.uri);
        // Other files' recent edits, as history and as snippets of where they happened. The events
        // are cloned under the documents lock (they share the ropes' structure, so this is cheap)
        // and rendered outside it: typing waits on that lock.
        let recent: Vec<(String, EditEvent)> = self.with_documents(|documents| {
            documents
                .recent_events(8)
                .into_iter()
                .filter(|(uri, _)| *uri != snapshot.uri)
                .map(|(uri, event)| (uri.to_owned(), event.clone()))
                .collect()
        });
        let other_events: Vec<context::HistoryEvent> = recent
            .iter()
            .map(|(uri, event)| context::HistoryEvent {
                path: self.display_path(uri),
                old_text: event.old_text(),
                new_text: event.new_text(),
                unified_diff: event
                    .unified_diff(context::DIFF_CONTEXT_LINES, Duration::from_millis(20)),
            })
            .collect();
        let mut related: Vec<context::RelatedSnippet> = Vec::new();
        for (uri, event) in recent.iter().rev() {
            let path = self.display_path(uri);
            if related.len() < 2 && !related.iter().any(|snippet| snippet.path == path) {
                related
                    .push(context::RelatedSnippet { path, text: event.new_text_with_context(4) });
            }
        }
        let cursor = context::cursor_after_last_edit(snapshot);
        let mut ctx = context::build(
            snapshot,
            &path,
            cursor,
            &other_events,
            &count_tokens,
            context::ContextBudget::default(),
        );
        ctx.related = related;
        let info = backend.info();
        let format = prompt::format_with_style(info.format, info.fim_style);
        let budget = prompt::PromptBudget {
            max_prompt_tokens: info
                .context_size
                .saturating_sub(settings.predict.max_tokens as usize)
                .max(256),
            max_output_tokens: settings.predict.max_tokens as usize,
            ..prompt::PromptBudget::default()
        };
        let built = match format.build(&ctx, &count_tokens, &budget) {
            Ok(built) => built,
            Err(error) => {
                tracing::debug!("no prompt: {error}");
                return None;
            }
        };
        let request = model::GenerationRequest {
            prompt: built.prompt.clone(),
            max_tokens: built.max_tokens,
            stop: built.stop.clone(),
            sampling: model::Sampling {
                temperature: settings.predict.temperature,
                top_k: settings.predict.top_k as usize,
                top_p: settings.predict.top_p,
                seed: 0,
            },
            candidates: settings.predict.candidates.max(1) as usize,
            draft: Some(built.draft.clone()),
            resync_tokens: (settings.predict.resync_tokens > 0)
                .then_some(settings.predict.resync_tokens as usize),
            cancel: cancel.clone(),
        };
        Some(ModelRequest { format, built, context_text: ctx.text, request })
    }

    /// Drops proposals that fail the checks or were rejected, ranks the rest (see [`rank`]), and
    /// returns the best if its confidence reaches `predict.min_confidence`.
    async fn rank_and_check(
        &self,
        snapshot: &DocumentSnapshot,
        settings: &Settings,
        candidates: Vec<Candidate>,
        scoring: Option<Scoring>,
    ) -> Option<Proposal> {
        if candidates.is_empty() {
            return None;
        }
        let text = snapshot.rope.to_string();
        let input = CheckInput {
            text: &text,
            tree: snapshot.tree.as_ref(),
            language: snapshot.language,
            last_event: snapshot.history.last(),
            region: None,
        };
        let mut hunks = rank::deduplicate(&text, candidates);
        hunks.retain(|hunk| {
            let proposal = &hunk.proposal;
            if self.shared.feedback.is_rejected(&snapshot.uri, &text, &proposal.edits) {
                return false;
            }
            match validate::check(&input, &proposal.edits) {
                Ok(()) => true,
                Err(rejection) => {
                    tracing::debug!(
                        source = proposal.source.as_str(),
                        "dropped proposal: {}",
                        rejection.as_str()
                    );
                    false
                }
            }
        });
        if hunks.is_empty() {
            return None;
        }
        let generated = scoring.as_ref().map_or(1, |scoring| scoring.generated);
        if let Some(scoring) = scoring.as_ref().filter(|scoring| scoring.text == text)
            && rank::worth_scoring(&hunks)
        {
            let started = Instant::now();
            rank::score_hunks(scoring, &mut hunks).await;
            tracing::debug!(elapsed = ?started.elapsed(), hunks = hunks.len(), "scored the hunks");
        }
        rank::combine(&mut hunks, generated);
        rank::sort(&mut hunks);
        let best = hunks.into_iter().next()?;
        tracing::debug!(
            source = best.proposal.source.as_str(),
            confidence = ?best.confidence,
            likelihood = ?best.likelihood,
            agreement = best.model.len(),
            "best proposal"
        );
        if !rank::passes(&best, settings.predict.min_confidence) {
            return None;
        }
        let mut proposal = best.proposal;
        if let Some(confidence) = best.confidence {
            proposal.score = confidence;
        }
        Some(proposal)
    }
}

/// Symbolic proposals (rename propagation, repeated edits).
fn symbolic_proposals(snapshot: &DocumentSnapshot) -> Vec<Proposal> {
    symbolic::propose(snapshot)
}

pub(super) fn language_enabled(settings: &Settings, snapshot: &DocumentSnapshot) -> bool {
    if settings.predict.languages.is_empty() {
        return true;
    }
    let id =
        snapshot.language.map_or(snapshot.language_id.as_str(), |language| language.id.as_str());
    settings
        .predict
        .languages
        .iter()
        .any(|language| language == id || *language == snapshot.language_id)
}

#[cfg(test)]
mod tests {
    //! The embedded backend's code path for the next-edit formats: the same three edits and the
    //! same model-shaped answers as the remote end-to-end tests, through a scripted model.

    use std::sync::Arc;
    use std::time::Duration;

    use super::super::model::ScriptedBackend;
    use super::super::model::scripted::next_edit_answer;
    use super::*;
    use crate::config::BackendKind;
    use crate::engine::prompt::PromptFormatKind;
    use crate::text::{Position, PositionEncoding, PositionRange, TextChange};

    const WAIT: Duration = Duration::from_secs(10);
    const ROOT: &str = "/home/j\u{fc}rgen/My Work";
    const URI: &str = "file:///home/j%C3%BCrgen/My%20Work/pkg/shapes.py";

    fn close_paren(line: u32) -> u32 {
        format!("value_{line} = compute({line}").len() as u32
    }

    /// Three edits as in the remote tests, then the suggestion and the prompt the model saw.
    async fn suggest(
        kind: PromptFormatKind,
        token_limit: Option<usize>,
    ) -> (Option<Vec<(usize, usize, String)>>, String) {
        let answer = |request: &model::GenerationRequest| {
            let answer = next_edit_answer(&request.prompt, "compute(25)", "compute(25, True)")
                .unwrap_or_default();
            // The model ends its answer with the format's stop string.
            format!("{answer}{}", request.stop[0])
        };
        let mut backend = ScriptedBackend::from_fn(answer).with_format(kind);
        if let Some(limit) = token_limit {
            backend = backend.with_token_limit(limit);
        }
        let backend = Arc::new(backend);
        let mut settings = Settings::default();
        settings.model.backend = BackendKind::None;
        settings.predict.debounce_ms = 0;
        settings.symbolic.enabled = false;
        let engine = Engine::new(settings);
        engine.set_workspace_root(Some(ROOT.into()));
        engine.set_model(super::super::ModelSlot::Ready(backend.clone()));
        let text: String =
            (0..30).map(|index| format!("value_{index} = compute({index})\n")).collect();
        engine.open(URI, "python", 0, &text);
        for (version, line) in [(1, 2), (2, 13), (3, 24)] {
            let at = Position::new(line, close_paren(line));
            let change =
                TextChange { range: Some(PositionRange::new(at, at)), text: ", True".to_owned() };
            engine.change(URI, version, &[change], PositionEncoding::Utf16).unwrap();
        }
        let suggestion = engine.suggestion(URI, Some(3), WAIT).await.unwrap();
        let prompt = backend.requests().last().map(|request| request.prompt.clone()).unwrap();
        let edits = suggestion.map(|suggestion| {
            suggestion
                .edits()
                .iter()
                .map(|edit| (edit.range.start, edit.range.end, edit.new_text.clone()))
                .collect()
        });
        (edits, prompt)
    }

    #[tokio::test]
    async fn each_next_edit_format_turns_its_model_answer_into_the_suggestion() {
        let text: String =
            (0..30).map(|index| format!("value_{index} = compute({index})\n")).collect();
        let text = text
            .replace("compute(2)", "compute(2, True)")
            .replace("compute(13)", "compute(13, True)")
            .replace("compute(24)", "compute(24, True)");
        let at = text.find("value_25 = compute(25").unwrap() + "value_25 = compute(25".len();
        for (kind, marker) in [
            (PromptFormatKind::Sweep, "<|file_sep|>original/pkg/shapes.py\n"),
            (PromptFormatKind::Zeta, "User edited \"pkg/shapes.py\":\n```diff\n"),
            (PromptFormatKind::Zeta2, "<filename>edit_history\n--- a/pkg/shapes.py\n"),
            (PromptFormatKind::Instinct, "User edited file \"pkg/shapes.py\"\n\n```diff\n"),
        ] {
            let (edits, prompt) = suggest(kind, None).await;
            assert_eq!(edits, Some(vec![(at, at, ", True".to_owned())]), "{kind}: {prompt}");
            assert!(prompt.contains(marker), "{kind}: {prompt}");
            assert!(prompt.contains("value_2 = compute(2, True)\n"), "{kind}: {prompt}");
        }
    }

    #[tokio::test]
    async fn a_truncated_answer_gives_no_suggestion() {
        for kind in [
            PromptFormatKind::Sweep,
            PromptFormatKind::Zeta,
            PromptFormatKind::Zeta2,
            PromptFormatKind::Instinct,
        ] {
            // The answer cut a few tokens before its end: only its last lines are missing.
            let (_, prompt) = suggest(kind, None).await;
            let answer = next_edit_answer(&prompt, "compute(25)", "compute(25, True)").unwrap();
            let limit = model::scripted::count_scripted_tokens(&answer) - 6;
            let (edits, prompt) = suggest(kind, Some(limit)).await;
            assert_eq!(edits, None, "{kind}: {prompt}");
        }
    }
}
