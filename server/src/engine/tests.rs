//! The scheduler, the pipeline and the feedback, driven directly: no LSP client, no model file
//! (the model is a `ScriptedBackend`).

use std::sync::Arc;
use std::time::Duration;

use super::feedback::MAX_REJECTIONS_PER_DOCUMENT;
use super::model::manager::ModelManager;
use super::model::{ModelError, ScriptedBackend};
use super::suggestion::{Proposal, Suggestion, SuggestionSource};
use super::*;
use crate::config::BackendKind;
use crate::text::{Position, PositionRange, TextEdit, position};

const URI: &str = "file:///project/src/counter.rs";
const TEXT: &str =
    "fn main() {\n    let count = 1;\n    consume(count);\n    consume(count + 1);\n}\n";
const WAIT: Duration = Duration::from_secs(10);

fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.model.backend = BackendKind::None;
    settings.predict.debounce_ms = 0;
    settings
}

fn change(start: (u32, u32), end: (u32, u32), text: &str) -> TextChange {
    TextChange {
        range: Some(PositionRange::new(
            Position::new(start.0, start.1),
            Position::new(end.0, end.1),
        )),
        text: text.to_owned(),
    }
}

fn document_text(engine: &Engine) -> String {
    engine.with_documents(|documents| documents.get(URI).unwrap().document.text())
}

/// Applies a suggestion the way a client does: as a `didChange` of its edits.
fn apply(engine: &Engine, suggestion: &Suggestion, version: i32) {
    let rope =
        engine.with_documents(|documents| documents.get(URI).unwrap().document.rope().clone());
    let changes: Vec<TextChange> = suggestion
        .edits()
        .iter()
        .rev()
        .map(|edit| {
            let start = position::byte_to_position(&rope, edit.range.start, PositionEncoding::Utf8);
            let end = position::byte_to_position(&rope, edit.range.end, PositionEncoding::Utf8);
            TextChange { range: Some(PositionRange::new(start, end)), text: edit.new_text.clone() }
        })
        .collect();
    engine.change(URI, version, &changes, PositionEncoding::Utf8).unwrap();
}

/// `count` -> `total` in the declaration: the engine proposes the next use.
fn renamed(engine: &Engine) {
    renamed_in(engine, TEXT);
}

/// `count` -> `total` in the declaration of `text` (whose line 1 is `    let count = 1;`).
fn renamed_in(engine: &Engine, text: &str) {
    engine.open(URI, "rust", 0, text);
    engine.change(URI, 1, &[change((1, 8), (1, 13), "total")], PositionEncoding::Utf16).unwrap();
}

fn proposal(source: SuggestionSource, score: f32, new_text: &str) -> Proposal {
    Proposal { edits: vec![TextEdit::new(0..0, new_text)], source, score, group: Vec::new() }
}

#[tokio::test]
async fn accept_chains_the_next_prediction() {
    let engine = Engine::new(settings());
    renamed(&engine);
    let first = engine.suggestion(URI, Some(1), WAIT).await.unwrap().expect("a rename");
    assert_eq!(first.proposal.source, SuggestionSource::Rename);
    assert!(engine.accept(first.id));
    assert_eq!(engine.feedback_stats().accepted, 1);
    apply(&engine, &first, 2);
    // One suggestion is one hunk: both uses, a line apart, went together.
    assert_eq!(document_text(&engine), TEXT.replace("count", "total"));
    // The next prediction runs on the accepted text; nothing is left to rename.
    let second = engine.suggestion(URI, Some(2), WAIT).await.unwrap();
    assert!(second.is_none(), "{second:?}");
}

#[tokio::test]
async fn accepting_an_unknown_id_is_not_counted() {
    let engine = Engine::new(settings());
    engine.open(URI, "rust", 0, TEXT);
    assert!(!engine.accept(12345));
    assert!(!engine.reject(12345));
    engine.shown(12345);
    assert_eq!(engine.feedback_stats(), feedback::FeedbackStats::default());
}

/// The suggestion of the rename, remembered as delivered to a client.
async fn delivered_rename(engine: &Engine) -> Suggestion {
    delivered_rename_in(engine, TEXT).await
}

async fn delivered_rename_in(engine: &Engine, text: &str) -> Suggestion {
    renamed_in(engine, text);
    let suggestion = engine.suggestion(URI, Some(1), WAIT).await.unwrap().expect("a rename");
    let rope =
        engine.with_documents(|documents| documents.get(URI).unwrap().document.rope().clone());
    engine.delivered(&suggestion, &rope);
    suggestion
}

#[tokio::test]
async fn an_accept_after_the_edit_counts_once() {
    let engine = Engine::new(settings());
    let first = delivered_rename(&engine).await;
    // The edit and a keystroke in one change: never exactly the result, so no implied accept.
    let rope =
        engine.with_documents(|documents| documents.get(URI).unwrap().document.rope().clone());
    let edit = &first.edits()[0];
    let start = position::byte_to_position(&rope, edit.range.start, PositionEncoding::Utf8);
    let end = position::byte_to_position(&rope, edit.range.end, PositionEncoding::Utf8);
    let changes = [
        TextChange { range: Some(PositionRange::new(start, end)), text: edit.new_text.clone() },
        change((0, 0), (0, 0), " "),
    ];
    engine.change(URI, 2, &changes, PositionEncoding::Utf8).unwrap();
    assert_eq!(engine.feedback_stats().accepted, 0);
    assert!(engine.suggestion_by_id(first.id).is_none(), "the change replaced the suggestion");
    assert!(engine.accept(first.id));
    assert!(engine.accept(first.id), "a repeated accept still answers true");
    assert_eq!(engine.feedback_stats().accepted, 1);
}

#[tokio::test]
async fn a_change_into_a_delivered_result_is_its_accept() {
    // The second use is more than 6 lines below the first, so it is a hunk of its own.
    let text = format!(
        "fn main() {{\n    let count = 1;\n    consume(count);\n{}    consume(count + 1);\n}}\n",
        "    step();\n".repeat(8)
    );
    let engine = Engine::new(settings());
    let first = delivered_rename_in(&engine, &text).await;
    assert_eq!(first.edits().len(), 1, "{first:?}");
    apply(&engine, &first, 2);
    assert_eq!(engine.feedback_stats().accepted, 1);
    assert!(engine.accept(first.id), "the command arriving later");
    assert_eq!(engine.feedback_stats().accepted, 1);
    // The chain goes on.
    let second = engine.suggestion(URI, Some(2), WAIT).await.unwrap().expect("the next use");
    assert_ne!(second.id, first.id);
    // Closing forgets what was delivered.
    engine.close(URI);
    assert!(!engine.accept(second.id));
}

#[tokio::test]
async fn delivered_suggestions_are_bounded() {
    let engine = Engine::new(settings());
    let first = delivered_rename(&engine).await;
    let rope =
        engine.with_documents(|documents| documents.get(URI).unwrap().document.rope().clone());
    for id in 0..feedback::MAX_DELIVERED as u64 {
        let other = Suggestion { id: 1_000 + id, ..first.clone() };
        engine.delivered(&other, &rope);
    }
    // The oldest is forgotten: once the document moves on, its accept is not found.
    engine.change(URI, 2, &[change((0, 0), (0, 0), " ")], PositionEncoding::Utf16).unwrap();
    assert!(!engine.accept(first.id));
    assert!(engine.accept(1_000));
}

#[tokio::test]
async fn a_newer_change_cancels_the_older_job() {
    let engine = Engine::new(settings());
    renamed(&engine);
    let (epoch, cancel) = engine.current_job(URI).unwrap();
    engine.change(URI, 2, &[change((0, 0), (0, 0), "\n")], PositionEncoding::Utf16).unwrap();
    assert!(cancel.is_cancelled(), "the job of version 1 is cancelled");
    let (newer_epoch, newer_cancel) = engine.current_job(URI).unwrap();
    assert!(newer_epoch > epoch);
    assert!(!newer_cancel.is_cancelled());
    // A request about the old version is stale.
    assert_eq!(engine.suggestion(URI, Some(1), WAIT).await, Err(RequestError::Stale));
}

#[tokio::test]
async fn a_stale_result_is_dropped() {
    let engine = Engine::new(settings());
    renamed(&engine);
    let (old_epoch, _) = engine.current_job(URI).unwrap();
    let snapshot = engine.with_documents(|documents| documents.snapshot(URI)).unwrap();
    engine.change(URI, 2, &[change((0, 0), (0, 0), "// x\n")], PositionEncoding::Utf16).unwrap();
    // The job for version 1 finishes after version 2 arrived: its result is not stored.
    let late = proposal(SuggestionSource::Model, 1.0, "late");
    engine.finish_job(URI, 1, old_epoch, Some((late, snapshot)));
    let current = engine.suggestion(URI, Some(2), WAIT).await.unwrap();
    assert!(
        current.as_ref().is_none_or(
            |suggestion| suggestion.version == 2 && suggestion.edits()[0].new_text != "late"
        ),
        "{current:?}"
    );
}

#[test]
fn ranking_puts_symbolic_before_model_then_score() {
    let candidates = [
        proposal(SuggestionSource::Model, 0.99, "model high"),
        proposal(SuggestionSource::Repeat, 0.7, "repeat"),
        proposal(SuggestionSource::Model, 0.5, "model low"),
        proposal(SuggestionSource::Rename, 0.6, "rename"),
        proposal(SuggestionSource::Model, 0.5, "model low but longer"),
    ];
    let candidates =
        candidates.into_iter().map(|proposal| rank::Candidate { proposal, edit: None }).collect();
    let mut hunks = rank::deduplicate("", candidates);
    rank::combine(&mut hunks, 3);
    rank::sort(&mut hunks);
    let order: Vec<&str> =
        hunks.iter().map(|hunk| hunk.proposal.edits[0].new_text.as_str()).collect();
    assert_eq!(order, ["rename", "repeat", "model high", "model low", "model low but longer"]);
}

#[tokio::test]
async fn the_model_proposes_through_the_pipeline_and_symbolic_wins() {
    let backend = Arc::new(ScriptedBackend::from_fn(|request| {
        request.draft.clone().unwrap_or_default().replace("count + 1", "count + 2")
    }));
    let engine = Engine::new(settings());
    engine.set_model(ModelSlot::Ready(backend.clone()));
    engine.open(URI, "rust", 0, TEXT);
    // An edit the symbolic engine has nothing for: a new line at the end.
    engine.change(URI, 1, &[change((5, 0), (5, 0), "// done\n")], PositionEncoding::Utf16).unwrap();
    let suggestion = engine.suggestion(URI, Some(1), WAIT).await.unwrap();
    assert!(!backend.requests().is_empty(), "the model was asked");
    if let Some(suggestion) = &suggestion {
        assert_eq!(suggestion.proposal.source, SuggestionSource::Model, "{suggestion:?}");
    }
    // A rename (in a fresh history: edits close together join one event): the symbolic engine's
    // proposal wins over whatever the model says.
    renamed(&engine);
    let suggestion = engine.suggestion(URI, Some(1), WAIT).await.unwrap().expect("a rename");
    assert_eq!(suggestion.proposal.source, SuggestionSource::Rename);
}

#[tokio::test]
async fn rejection_memory_is_bounded_and_forgotten_on_close() {
    let engine = Engine::new(settings());
    renamed(&engine);
    let suggestion = engine.suggestion(URI, Some(1), WAIT).await.unwrap().expect("a rename");
    assert!(engine.reject(suggestion.id));
    assert_eq!(engine.shared.feedback.remembered(URI), 1);
    // The same rename is not offered again for the same text.
    let again = engine.predict_now(URI, None).await.unwrap();
    assert!(again.is_none_or(|again| again.edits() != suggestion.edits()), "offered again");
    for index in 0..MAX_REJECTIONS_PER_DOCUMENT * 3 {
        let fake = Suggestion {
            id: 1_000_000 + index as u64,
            uri: URI.to_owned(),
            version: 1,
            proposal: proposal(SuggestionSource::Model, 0.5, &format!("edit {index}")),
        };
        engine.shared.feedback.remember_rejection_for_test(URI, &fake);
    }
    assert_eq!(engine.shared.feedback.remembered(URI), MAX_REJECTIONS_PER_DOCUMENT);
    engine.close(URI);
    assert_eq!(engine.shared.feedback.remembered(URI), 0);
}

#[test]
fn model_health_reports_only_changes() {
    let manager = ModelManager::default();
    assert_eq!(manager.generation_succeeded(), None, "working, still working");
    let status = manager.generation_failed(&ModelError::BackendDead);
    assert!(matches!(status, Some(ModelStatus::Error { .. })), "{status:?}");
    assert_eq!(manager.generation_failed(&ModelError::BackendDead), None, "still failing");
    assert_eq!(manager.generation_succeeded(), Some(ModelStatus::Ready { name: None }));
}

#[tokio::test]
async fn loading_without_a_backend_reports_off() {
    let engine = Engine::new(settings());
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    engine.set_listener(move |event| {
        if let EngineEvent::ModelStatus(status) = event {
            seen.lock().unwrap().push(status);
        }
    });
    engine.load_model(()).await;
    assert_eq!(*events.lock().unwrap(), vec![ModelStatus::Off]);
    assert!(matches!(engine.model(), ModelSlot::Off));

    let mut settings = settings();
    settings.model.backend = BackendKind::Openai;
    engine.set_settings(settings);
    engine.load_model(()).await;
    assert!(
        matches!(events.lock().unwrap().last(), Some(ModelStatus::Error { message }) if message.contains("openai.endpoint")),
        "{events:?}"
    );
}

/// The suggestion for a model that adds `done();` after the user added a line in the function, with these log-probabilities and scores, at this `min_confidence`.
async fn model_suggestion(
    logprobs: Option<super::model::scripted::ScriptedLogprobs>,
    scorer: Option<fn(&str, &str) -> f64>,
    min_confidence: f32,
) -> (Option<Suggestion>, Arc<ScriptedBackend>) {
    // The region is the function's last line.
    let mut backend = ScriptedBackend::from_fn(|request| {
        request.draft.clone().unwrap_or_default().replacen("}", "    done();\n}", 1)
    });
    if let Some(logprobs) = logprobs {
        backend = backend.with_logprobs(logprobs);
    }
    if let Some(scorer) = scorer {
        backend = backend.with_scorer(scorer);
    }
    if scorer.is_some() {
        // A second candidate that adds another call: two hunks to choose from, worth scoring.
        backend = backend.with_candidate(|request| {
            request.draft.clone().unwrap_or_default().replacen("}", "    other();\n}", 1)
        });
    }
    let backend = Arc::new(backend);
    let mut settings = settings();
    settings.predict.min_confidence = min_confidence;
    settings.predict.candidates = 2;
    let engine = Engine::new(settings);
    engine.set_model(ModelSlot::Ready(backend.clone()));
    engine.open(URI, "rust", 0, TEXT);
    engine
        .change(URI, 1, &[change((4, 0), (4, 0), "    step();\n")], PositionEncoding::Utf16)
        .unwrap();
    (engine.suggestion(URI, Some(1), WAIT).await.unwrap(), backend)
}

#[tokio::test]
async fn a_confident_edit_is_shown_and_an_unconfident_one_is_not() {
    use super::model::scripted::ScriptedLogprobs;
    let confident = ScriptedLogprobs { changed: -0.05, copied: -0.01, copy: -4.0 };
    let (suggestion, _) = model_suggestion(Some(confident), None, 0.5).await;
    let suggestion = suggestion.expect("a confident edit is shown");
    assert!(suggestion.edits()[0].new_text.contains("done();"), "{suggestion:?}");
    assert!(suggestion.proposal.score > 0.9, "{suggestion:?}");
    // The same edit, but the model barely preferred it to copying the line.
    let unconfident = ScriptedLogprobs { changed: -2.5, copied: -0.01, copy: -0.2 };
    let (suggestion, _) = model_suggestion(Some(unconfident), None, 0.5).await;
    assert_eq!(suggestion, None);
    // Without log-probabilities there is nothing to gate on.
    let (suggestion, _) = model_suggestion(None, None, 0.5).await;
    assert!(suggestion.is_some());
}

#[tokio::test]
async fn the_models_likelihood_of_each_hunk_against_no_change_chooses_between_candidates() {
    use super::model::scripted::ScriptedLogprobs;
    let logprobs = ScriptedLogprobs { changed: -0.3, copied: -0.01, copy: -2.0 };
    // The answer with `done();` is far more likely than the unchanged one, `other();` no more.
    let likes_it: fn(&str, &str) -> f64 =
        |_, answer| if answer.contains("done();") { -1.0 } else { -9.0 };
    let (liked, backend) = model_suggestion(Some(logprobs), Some(likes_it), 0.0).await;
    let requests = backend.score_requests();
    assert_eq!(requests.len(), 1, "one score request for the unchanged answer and the hunks");
    let continuations = &requests[0].continuations;
    assert_eq!(continuations.len(), 3);
    assert!(!continuations[0].contains("();"), "{continuations:?}");
    assert!(continuations[1..].iter().any(|answer| answer.contains("done();")));
    assert!(continuations[1..].iter().any(|answer| answer.contains("other();")));
    // Only what differs is scored: the shared start of the answers is part of the prompt.
    let generated = &backend.requests()[0];
    assert!(requests[0].prompt.starts_with(&generated.prompt));
    assert!(continuations.iter().all(|answer| !answer.contains("step();")), "{continuations:?}");
    let liked = liked.expect("a suggestion");
    assert!(liked.edits()[0].new_text.contains("done();"), "{liked:?}");
    let dislikes_it: fn(&str, &str) -> f64 =
        |_, answer| if answer.contains("done();") { -9.0 } else { -1.0 };
    let (disliked, _) = model_suggestion(Some(logprobs), Some(dislikes_it), 0.0).await;
    let disliked = disliked.expect("a suggestion");
    assert!(disliked.edits()[0].new_text.contains("other();"), "{disliked:?}");
    assert!(liked.proposal.score > disliked.proposal.score, "{liked:?} {disliked:?}");
}

/// What the model's suggestion is when it inserts `line` before the closing brace after the user
/// deleted `consume(count + 1);` (the region is the function's last line).
async fn after_deleting_a_line(line: &'static str) -> Option<Suggestion> {
    let backend = Arc::new(ScriptedBackend::from_fn(move |request| {
        request.draft.clone().unwrap_or_default().replacen("}", &format!("{line}}}"), 1)
    }));
    let engine = Engine::new(settings());
    engine.set_model(ModelSlot::Ready(backend.clone()));
    engine.open(URI, "rust", 0, TEXT);
    engine.change(URI, 1, &[change((3, 0), (4, 0), "")], PositionEncoding::Utf16).unwrap();
    let suggestion = engine.suggestion(URI, Some(1), WAIT).await.unwrap();
    assert!(!backend.requests().is_empty(), "the model was asked");
    suggestion
}

#[tokio::test]
async fn a_model_edit_that_restores_a_line_the_user_deleted_is_dropped() {
    assert_eq!(after_deleting_a_line("    consume(count + 1);\n").await, None);
    // Another line at the same place is a suggestion.
    assert!(after_deleting_a_line("    consume(count * 2);\n").await.is_some());
}
