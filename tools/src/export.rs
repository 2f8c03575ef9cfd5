//! Training pairs from next-edit cases (`nextedit mine --export FORMAT`): each case is replayed
//! into an in-process [`Engine`] as an editor would send it, and the engine's own model-request
//! step builds the prompt, so the exported prompt is the one the server sends for that case. The
//! completion is the format's answer for the case's expected region, stop marker included, and is
//! checked to read back (through the format's parser) as exactly the expected edit.

use std::path::Path;

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use crate::eval::cases::Case;
use crate::eval::positions::{case_cursor_offset, minimal_replacement};
use nextedit::config::Settings;
use nextedit::engine::Engine;
use nextedit::engine::model::openai::estimate_tokens;
use nextedit::engine::model::openai::wire::chat_messages;
use nextedit::engine::model::{
    BoxFuture, Generation, GenerationRequest, ModelBackend, ModelError, ModelInfo,
};
use nextedit::engine::pipeline::ModelRequest;
use nextedit::engine::prompt::PromptFormatKind;
use nextedit::text::affixes::common_affixes;
use nextedit::text::{Position, PositionEncoding, PositionRange, TextChange};

/// The workspace the replayed documents live in; prompts name files relative to it.
const WORKSPACE_ROOT: &str = "/workspace";

/// The formats a training pair can be written in.
pub const EXPORT_FORMATS: &[PromptFormatKind] = &[
    PromptFormatKind::Sweep,
    PromptFormatKind::Zeta,
    PromptFormatKind::Zeta2,
    PromptFormatKind::Instinct,
    PromptFormatKind::Fim,
];

/// The model side of an export: the format, the token counter and the context size of a model
/// served over the OpenAI-compatible API with these settings (no tokenizer is at hand, so tokens
/// are estimated the way that backend estimates them). It generates nothing.
pub struct ExportBackend {
    format: PromptFormatKind,
    context_size: usize,
}

impl ExportBackend {
    pub fn new(format: PromptFormatKind, settings: &Settings) -> ExportBackend {
        ExportBackend { format, context_size: settings.model.context_size as usize }
    }
}

impl ModelBackend for ExportBackend {
    fn generate(&self, _request: GenerationRequest) -> BoxFuture<Result<Generation, ModelError>> {
        Box::pin(async {
            Err(ModelError::LoadFailed("an export backend generates nothing".into()))
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        estimate_tokens(text)
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: format!("export-{}", self.format),
            backend: "export",
            path: None,
            format: self.format,
            fim_style: None,
            format_reason: "the export format".to_owned(),
            context_size: self.context_size,
            load_time: std::time::Duration::ZERO,
            threads: 0,
        }
    }
}

/// Why a case gave no pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PairSkip {
    /// The case's history does not replay.
    BadCase,
    /// The format built no prompt (a region over budget, a reserved token in it).
    NoPrompt,
    /// The expected edit lies outside the region the format lets the model rewrite.
    OutsideRegion,
    /// The answer does not read back as the expected edit.
    NoRoundTrip,
}

impl PairSkip {
    pub fn as_str(self) -> &'static str {
        match self {
            PairSkip::BadCase => "history does not replay",
            PairSkip::NoPrompt => "no prompt (region over budget or holding a reserved token)",
            PairSkip::OutsideRegion => "next edit outside the format's region",
            PairSkip::NoRoundTrip => "answer does not parse back to the edit",
        }
    }
}

/// One training pair, and what its answer is read against.
pub struct Pair {
    /// The JSON line: `{id, prompt, completion, provenance}` or, for chat formats,
    /// `{id, messages, provenance}` (the last message is the assistant's answer).
    pub json: Value,
    pub prompt: String,
    pub completion: String,
    /// The cursor the prompt was built at (a byte offset of `before`).
    pub cursor: usize,
    /// The byte range of the case's `before` that the completion's region replaces.
    pub region: std::ops::Range<usize>,
}

/// One change of a `didChange`: the byte range it replaces and the new text.
pub type ByteChange = (usize, usize, String);

/// The byte-level changes of one `didChange` per history diff (one change per hunk, each in the
/// text left by the one before), as an editor sends them; and the text they start from.
pub fn history_changes(case: &Case) -> anyhow::Result<(String, Vec<Vec<ByteChange>>)> {
    let replay = case.replay()?;
    let mut current = replay.initial.clone();
    let mut notifications = Vec::new();
    for hunk_texts in &replay.steps {
        let mut changes = Vec::new();
        for next in hunk_texts {
            let (start, end, new_text) = minimal_replacement(&current, next);
            changes.push((start, end, new_text.to_owned()));
            current.clone_from(next);
        }
        notifications.push(changes);
    }
    Ok((replay.initial, notifications))
}

/// A byte offset of `text` as a UTF-8 position.
fn utf8_position(text: &str, offset: usize) -> Position {
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1);
    Position::new(line, column as u32)
}

/// Replays `case` into a fresh engine and returns the model request it builds at the case's
/// cursor.
fn replayed_request(
    case: &Case,
    cursor: usize,
    settings: &Settings,
    backend: &ExportBackend,
) -> Result<ModelRequest, PairSkip> {
    let (initial, notifications) = history_changes(case).map_err(|_| PairSkip::BadCase)?;
    // The engine schedules a prediction after each change; this runtime never runs them, and
    // dropping it drops them.
    let runtime =
        tokio::runtime::Builder::new_current_thread().build().map_err(|_| PairSkip::NoPrompt)?;
    let _entered = runtime.enter();
    let engine = Engine::new(settings.clone());
    let root = Path::new(WORKSPACE_ROOT);
    engine.set_workspace_root(Some(root.to_path_buf()));
    let uri = nextedit::text::uri::path_to_file_uri(&root.join(&case.file_path));
    engine.open(&uri, &case.language, 0, &initial);
    let mut current = initial;
    for (index, changes) in notifications.iter().enumerate() {
        let mut text_changes = Vec::with_capacity(changes.len());
        for (start, end, new_text) in changes {
            let range =
                PositionRange::new(utf8_position(&current, *start), utf8_position(&current, *end));
            text_changes.push(TextChange { range: Some(range), text: new_text.clone() });
            current.replace_range(*start..*end, new_text);
        }
        engine
            .change(&uri, index as i32 + 1, &text_changes, PositionEncoding::Utf8)
            .map_err(|_| PairSkip::BadCase)?;
    }
    engine.model_request_now(&uri, Some(cursor), backend).ok_or(PairSkip::NoPrompt)
}

/// The new text of `region` (a range of `before`) once the case's next edit is made, or `None`
/// when the edit reaches outside it.
pub fn expected_region(case: &Case, region: &std::ops::Range<usize>) -> Option<String> {
    let (before, after) = (&case.before, &case.expected_after);
    let (prefix, suffix) = common_affixes(before, after);
    if prefix < region.start || before.len() - suffix > region.end {
        return None;
    }
    let end = region.end + after.len() - before.len();
    after.get(region.start..end).map(str::to_owned)
}

/// Where the cursor is put for a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorPlacement {
    /// The case's cursor (the end of the last history edit) only.
    Case,
    /// The case's cursor, or, when the next edit lies outside the region the format builds
    /// there, the start of the next edit (as if the user had moved there).
    CaseOrEdit,
}

/// The byte offset where the case's next edit starts in `before`.
pub fn edit_start(case: &Case) -> usize {
    common_affixes(&case.before, &case.expected_after).0
}

/// The training pair of `case` in `format`, with `settings` as the server's.
pub fn export_pair(
    case: &Case,
    format: PromptFormatKind,
    settings: &Settings,
    placement: CursorPlacement,
) -> Result<Pair, PairSkip> {
    let case_cursor = case_cursor_offset(&case.before, case.cursor.line, case.cursor.character);
    match pair_at(case, format, settings, case_cursor) {
        Err(PairSkip::OutsideRegion | PairSkip::NoRoundTrip)
            if placement == CursorPlacement::CaseOrEdit && edit_start(case) != case_cursor =>
        {
            pair_at(case, format, settings, edit_start(case))
        }
        result => result,
    }
}

/// The training pair of `case` with the cursor at the byte offset `cursor` of `before`.
fn pair_at(
    case: &Case,
    format: PromptFormatKind,
    settings: &Settings,
    cursor: usize,
) -> Result<Pair, PairSkip> {
    let backend = ExportBackend::new(format, settings);
    let ModelRequest { format: prompt_format, built, context_text, request } =
        replayed_request(case, cursor, settings, &backend)?;
    if context_text != case.before {
        return Err(PairSkip::BadCase);
    }
    let new_region = expected_region(case, &built.region).ok_or(PairSkip::OutsideRegion)?;
    let completion = prompt_format.answer(&new_region, &built);
    match prompt_format.parse(&completion, &built) {
        Ok(parsed) if parsed == new_region => {}
        _ => return Err(PairSkip::NoRoundTrip),
    }
    let mut provenance = match &case.provenance {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    let position = utf8_position(&case.before, cursor);
    let line_start = case.before[..cursor].rfind('\n').map_or(0, |index| index + 1);
    provenance["case_id"] = json!(case.id);
    provenance["file_path"] = json!(case.file_path);
    provenance["language"] = json!(case.language);
    provenance["category"] = json!(case.category);
    provenance["format"] = json!(format.as_str());
    provenance["cursor"] = json!({
        "line": position.line,
        "character": case.before[line_start..cursor].chars().count(),
        "moved_to_edit": cursor != case_cursor_offset(&case.before, case.cursor.line, case.cursor.character),
    });
    let json = match chat_messages(&request.prompt) {
        Some(messages) => {
            let mut messages: Vec<Value> = messages
                .into_iter()
                .map(|message| json!({"role": message.role, "content": message.content}))
                .collect();
            // The chat template closes the assistant's turn itself.
            let answer = built
                .stop
                .iter()
                .find_map(|stop| completion.strip_suffix(stop.as_str()))
                .unwrap_or(&completion);
            messages.push(json!({"role": "assistant", "content": answer}));
            json!({"id": case.id, "messages": messages, "provenance": provenance})
        }
        None => json!({
            "id": case.id,
            "prompt": request.prompt,
            "completion": completion,
            "provenance": provenance,
        }),
    };
    Ok(Pair { json, prompt: request.prompt, completion, cursor, region: built.region })
}

/// Parses `--export`'s value.
pub fn parse_format(name: &str) -> Result<PromptFormatKind, String> {
    EXPORT_FORMATS.iter().copied().find(|kind| kind.as_str() == name).ok_or_else(|| {
        let names: Vec<&str> = EXPORT_FORMATS.iter().map(|kind| kind.as_str()).collect();
        format!("unknown export format `{name}` (expected one of {})", names.join(", "))
    })
}

/// Reads a pair back as the model's answer: the completion, through the format's own parser,
/// applied to `before`. For tests and checks.
pub fn pair_result(
    case: &Case,
    format: PromptFormatKind,
    settings: &Settings,
    pair: &Pair,
) -> anyhow::Result<String> {
    let backend = ExportBackend::new(format, settings);
    let request = replayed_request(case, pair.cursor, settings, &backend)
        .map_err(|skip| anyhow!("no request: {}", skip.as_str()))?;
    let parsed = request
        .format
        .parse(&pair.completion, &request.built)
        .map_err(|error| anyhow!("{error}"))
        .context("the completion does not parse")?;
    let mut text = case.before.clone();
    text.replace_range(request.built.region.clone(), &parsed);
    Ok(text)
}
