//! Request and notification handlers. Thin: they convert positions, ask the engine, and convert
//! back. Every request runs under [`catch_panic`], so a bug answers -32603 instead of ending the
//! server.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use ropey::Rope;
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types as lsp;

use crate::config::{self, Source};
use crate::engine::RequestError;
use crate::engine::suggestion::{Suggestion, SuggestionSource, spanning_edit, summarize};
use crate::locks::{lock, write};
use crate::lsp::capabilities;
use crate::lsp::ext::{self, COMMAND_ACCEPT};
use crate::lsp::proto;
use crate::lsp::state::{ClientSupport, GlobalState};
use crate::lsp::sync::panic_message;
use crate::text::{PositionEncoding, position};

/// Runs a request handler, answering -32603 (internal error) if it panics.
pub async fn catch_panic<T>(method: &str, handler: impl Future<Output = Result<T>>) -> Result<T> {
    match CatchUnwind(Box::pin(handler)).await {
        Ok(result) => result,
        Err(panic) => {
            tracing::error!("{method} panicked: {}", panic_message(panic.as_ref()));
            Err(Error {
                code: ErrorCode::InternalError,
                message: format!("internal error in {method}").into(),
                data: None,
            })
        }
    }
}

/// Runs a notification handler, logging a panic.
pub async fn catch_panic_notification(method: &str, handler: impl Future<Output = ()>) {
    if let Err(panic) = CatchUnwind(Box::pin(handler)).await {
        tracing::error!("{method} panicked: {}", panic_message(panic.as_ref()));
    }
}

/// A future that turns a panic while polling the inner one into an `Err`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(context))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

pub async fn initialize(
    state: &GlobalState,
    params: lsp::InitializeParams,
) -> Result<lsp::InitializeResult> {
    let document_changes = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|workspace| workspace.workspace_edit.as_ref())
        .and_then(|edit| edit.document_changes)
        .unwrap_or(false);
    let work_done_progress = params
        .capabilities
        .window
        .as_ref()
        .and_then(|window| window.work_done_progress)
        .unwrap_or(false);
    *write(&state.support) = ClientSupport { document_changes, work_done_progress };

    let copilot_client =
        params.initialization_options.as_ref().is_some_and(config::identifies_as_copilot_client);
    let root = workspace_root(&params);
    state.engine.set_workspace_root(root.clone());
    let loaded = {
        let mut layers = lock(&state.layers);
        let loaded = root.as_deref().map(|root| layers.load_workspace(root));
        if let Some(options) = params.initialization_options {
            layers.set(Source::InitializationOptions, options);
        }
        loaded
    };
    if let Some(Err(error)) = loaded {
        state.show_once(lsp::MessageType::WARNING, format!("nextedit: {error}"));
    }
    state.apply_settings();
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|general| general.position_encodings.as_deref());
    let encoding = match state.engine.settings().lsp.position_encoding {
        Some(forced) => proto::encoding_from_setting(forced),
        // Copilot's clients convert positions as UTF-16 whatever was negotiated.
        None if copilot_client => PositionEncoding::Utf16,
        None => proto::negotiate_encoding(offered),
    };
    *write(&state.encoding) = encoding;
    state.copilot_client.store(copilot_client, Ordering::SeqCst);
    state.initialized.store(true, Ordering::SeqCst);
    state.initialized_watch.send_replace(true);
    Ok(lsp::InitializeResult {
        capabilities: capabilities::server_capabilities(encoding),
        server_info: Some(capabilities::server_info()),
        offset_encoding: None,
    })
}

/// The first workspace folder, else the root URI, as a path (`file` URIs only).
fn workspace_root(params: &lsp::InitializeParams) -> Option<PathBuf> {
    let uri = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| folder.uri.clone());
    #[allow(deprecated)]
    let uri = uri.or_else(|| params.root_uri.clone())?;
    let root = crate::text::uri::file_uri_to_path(uri.as_str());
    if root.is_none() {
        tracing::warn!("the workspace {} is not a local folder; no nextedit.toml", uri.as_str());
    }
    root
}

pub fn did_change_configuration(state: &GlobalState, params: lsp::DidChangeConfigurationParams) {
    lock(&state.layers).set(Source::DidChangeConfiguration, params.settings);
    state.apply_settings();
}

fn request_timeout(state: &GlobalState) -> Duration {
    Duration::from_millis(state.engine.settings().predict.request_timeout_ms)
}

/// A suggestion with the document text it applies to, read outside the documents lock.
struct Located {
    suggestion: Suggestion,
    rope: Rope,
}

impl Located {
    /// `None` when the document is no longer at the suggestion's version.
    /// Remembers the suggestion as delivered: the caller answers with it.
    fn new(state: &GlobalState, suggestion: Suggestion) -> Option<Located> {
        let rope = state.rope_at(&suggestion.uri, suggestion.version)?;
        state.engine.delivered(&suggestion, &rope);
        Some(Located { suggestion, rope })
    }

    /// The edits as LSP text edits; `group`: every occurrence of a rename, when there are several.
    fn lsp_edits(&self, state: &GlobalState, group: bool) -> Vec<lsp::TextEdit> {
        let encoding = state.encoding();
        let proposal = &self.suggestion.proposal;
        let edits =
            if group && !proposal.group.is_empty() { &proposal.group } else { &proposal.edits };
        edits.iter().map(|edit| proto::text_edit_to_lsp(&self.rope, edit, encoding)).collect()
    }

    fn summary(&self) -> String {
        summarize(&self.rope.to_string(), self.suggestion.edits())
    }
}

fn accept_command(suggestion: &Suggestion, title: String) -> lsp::Command {
    lsp::Command {
        title,
        command: COMMAND_ACCEPT.to_owned(),
        arguments: Some(vec![Value::from(suggestion.id)]),
    }
}

fn workspace_edit(
    state: &GlobalState,
    suggestion: &Suggestion,
    uri: &lsp::Uri,
    edits: Vec<lsp::TextEdit>,
) -> lsp::WorkspaceEdit {
    if state.support().document_changes {
        let document = lsp::OptionalVersionedTextDocumentIdentifier {
            uri: uri.clone(),
            version: Some(suggestion.version),
        };
        let edits = edits.into_iter().map(lsp::OneOf::Left).collect();
        lsp::WorkspaceEdit {
            document_changes: Some(lsp::DocumentChanges::Edits(vec![lsp::TextDocumentEdit {
                text_document: document,
                edits,
            }])),
            ..lsp::WorkspaceEdit::default()
        }
    } else {
        let mut changes = std::collections::HashMap::new();
        changes.insert(uri.clone(), edits);
        lsp::WorkspaceEdit { changes: Some(changes), ..lsp::WorkspaceEdit::default() }
    }
}

pub async fn code_action(
    state: &GlobalState,
    params: lsp::CodeActionParams,
) -> Result<Option<lsp::CodeActionResponse>> {
    if crate::fault::fire_once(crate::fault::Fault::PanicInRequest) {
        panic!("request panic injected by {}", crate::fault::FAULT_ENV_VAR);
    }
    let uri = params.text_document.uri;
    let timeout = request_timeout(state).min(Duration::from_secs(2));
    let suggestion = match state.engine.suggestion(uri.as_str(), None, timeout).await {
        Ok(Some(suggestion)) => suggestion,
        Ok(None) | Err(RequestError::UnknownDocument) => return Ok(None),
        Err(RequestError::Stale) => return Err(content_modified()),
    };
    let Some(located) = Located::new(state, suggestion) else {
        return Err(content_modified());
    };
    let suggestion = &located.suggestion;
    let edits = located.lsp_edits(state, false);
    let summary = located.summary();
    let mut actions = vec![lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
        title: format!("Next edit: {summary}"),
        kind: Some(lsp::CodeActionKind::REFACTOR_REWRITE),
        is_preferred: Some(true),
        edit: Some(workspace_edit(state, suggestion, &uri, edits)),
        command: Some(accept_command(suggestion, "Accept next edit".to_owned())),
        ..lsp::CodeAction::default()
    })];
    if suggestion.proposal.source == SuggestionSource::Rename && suggestion.proposal.group.len() > 1
    {
        let group = located.lsp_edits(state, true);
        actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: format!("Next edit: rename all {}", group.len()),
            kind: Some(lsp::CodeActionKind::REFACTOR_REWRITE),
            edit: Some(workspace_edit(state, suggestion, &uri, group)),
            command: Some(accept_command(suggestion, "Accept next edit".to_owned())),
            ..lsp::CodeAction::default()
        }));
    }
    Ok(Some(actions))
}

pub async fn copilot_inline_edit(
    state: &GlobalState,
    params: Value,
) -> Result<ext::InlineEditResult> {
    let params: ext::InlineEditParams = serde_json::from_value(params).map_err(invalid_params)?;
    let uri = params.text_document.uri;
    let none = || ext::InlineEditResult { edits: Vec::new() };
    let suggestion =
        state.engine.suggestion(&uri, params.text_document.version, request_timeout(state)).await;
    // A request that typing made stale gets no edits, not an error: the Copilot clients show an
    // error answer to the user, and they ask again after the change.
    let suggestion = match suggestion {
        Ok(Some(suggestion)) => suggestion,
        Ok(None) | Err(RequestError::Stale) => return Ok(none()),
        Err(RequestError::UnknownDocument) => return Err(unknown_document(&uri)),
    };
    let Some(located) = Located::new(state, suggestion) else { return Ok(none()) };
    let summary = located.summary();
    let suggestion = &located.suggestion;
    // A Copilot-style client gets one edit for the whole suggestion, the way Copilot answers: it
    // may apply only the first edit of the answer (copilot-lsp does). Our own plugins apply every
    // edit and draw each change, so they get the minimal edits.
    let edits = if state.copilot_client.load(Ordering::SeqCst) {
        let Some(edit) = spanning_edit(&located.rope, suggestion.edits()) else {
            return Ok(none());
        };
        vec![proto::text_edit_to_lsp(&located.rope, &edit, state.encoding())]
    } else {
        located.lsp_edits(state, false)
    };
    let edits = edits
        .into_iter()
        .map(|edit| ext::InlineEdit {
            text: edit.new_text,
            range: edit.range,
            text_document: ext::InlineEditDocument {
                uri: uri.clone(),
                version: Some(suggestion.version),
            },
            command: accept_command(suggestion, format!("Next edit: {summary}")),
            source: suggestion.proposal.source.as_str(),
        })
        .collect();
    Ok(ext::InlineEditResult { edits })
}

pub async fn inline_completion(
    state: &GlobalState,
    params: Value,
) -> Result<lsp::InlineCompletionResponse> {
    let params: proto::DocumentPositionParams =
        serde_json::from_value(params).map_err(invalid_params)?;
    let none =
        || lsp::InlineCompletionResponse::List(lsp::InlineCompletionList { items: Vec::new() });
    let uri = params.text_document.uri;
    let suggestion = match state.engine.suggestion(&uri, None, request_timeout(state)).await {
        Ok(Some(suggestion)) => suggestion,
        Ok(None) => return Ok(none()),
        Err(RequestError::Stale) => return Err(content_modified()),
        Err(RequestError::UnknownDocument) => return Err(unknown_document(&uri)),
    };
    // Ghost text only fits a single insertion on the cursor's line.
    let [edit] = suggestion.edits() else { return Ok(none()) };
    if !edit.range.is_empty() {
        return Ok(none());
    }
    let Some(rope) = state.rope_at(&uri, suggestion.version) else { return Ok(none()) };
    let at = position::byte_to_position(&rope, edit.range.start, state.encoding());
    if at.line != params.position.line {
        return Ok(none());
    }
    state.engine.delivered(&suggestion, &rope);
    let item = lsp::InlineCompletionItem {
        insert_text: edit.new_text.clone(),
        filter_text: None,
        range: Some(lsp::Range::new(proto::position_to_lsp(at), proto::position_to_lsp(at))),
        command: Some(accept_command(&suggestion, "Accept next edit".to_owned())),
        insert_text_format: None,
    };
    Ok(lsp::InlineCompletionResponse::List(lsp::InlineCompletionList { items: vec![item] }))
}

pub fn did_show_inline_edit(state: &GlobalState, params: Value) {
    match serde_json::from_value::<ext::DidShowInlineEditParams>(params) {
        Ok(params) => {
            if let Some(id) = params.suggestion_id() {
                state.engine.shown(id);
            }
        }
        Err(error) => tracing::debug!("bad didShowInlineEdit params: {error}"),
    }
}

pub async fn execute_command(
    state: &GlobalState,
    params: lsp::ExecuteCommandParams,
) -> Result<Option<lsp::LSPAny>> {
    match params.command.as_str() {
        ext::COMMAND_ACCEPT => accept(state, &params.arguments).map(Some),
        ext::COMMAND_REJECT => reject(state, &params.arguments).map(Some),
        ext::COMMAND_PREDICT => {
            let result = predict(state, &params.arguments).await?;
            Ok(result.map(|result| serde_json::to_value(result).unwrap_or(Value::Null)))
        }
        ext::COMMAND_DEBUG_DOCUMENT => {
            let result = debug_document(state, &params.arguments)?;
            Ok(Some(serde_json::to_value(result).unwrap_or(Value::Null)))
        }
        other => Err(Error::invalid_params(format!("unknown command: {other}"))),
    }
}

/// `nextedit.accept [id]`.
fn accept(state: &GlobalState, arguments: &[Value]) -> Result<Value> {
    let id =
        id_argument(arguments).ok_or_else(|| Error::invalid_params("expected a suggestion id"))?;
    Ok(Value::Bool(state.engine.accept(id)))
}

/// `nextedit.reject [id]`.
fn reject(state: &GlobalState, arguments: &[Value]) -> Result<Value> {
    let id =
        id_argument(arguments).ok_or_else(|| Error::invalid_params("expected a suggestion id"))?;
    Ok(Value::Bool(state.engine.reject(id)))
}

/// `nextedit.predict [{uri, position}]`.
async fn predict(state: &GlobalState, arguments: &[Value]) -> Result<Option<ext::PredictResult>> {
    let argument = arguments.first().cloned().unwrap_or(Value::Null);
    let arguments = serde_json::from_value::<ext::PredictArguments>(argument).ok();
    let expected = || Error::invalid_params("expected {uri, position}");
    let arguments = arguments.ok_or_else(expected)?;
    let uri = arguments
        .uri
        .or_else(|| arguments.text_document.map(|document| document.uri))
        .ok_or_else(expected)?;
    let position = arguments
        .position
        .and_then(|position| serde_json::from_value::<lsp::Position>(position).ok());
    let encoding = state.encoding();
    let cursor = position.and_then(|position| {
        state.engine.with_documents(|documents| {
            documents.get(&uri).map(|open| {
                position::position_to_byte(
                    open.document.rope(),
                    proto::position_from_lsp(position),
                    encoding,
                )
            })
        })
    });
    let suggestion = match state.engine.predict_now(&uri, cursor).await {
        Ok(Some(suggestion)) => suggestion,
        Ok(None) => return Ok(None),
        Err(RequestError::Stale) => return Err(content_modified()),
        Err(RequestError::UnknownDocument) => return Err(unknown_document(&uri)),
    };
    let Some(located) = Located::new(state, suggestion) else {
        return Err(content_modified());
    };
    let edits = located.lsp_edits(state, false);
    let title = format!("Next edit: {}", located.summary());
    let suggestion = located.suggestion;
    Ok(Some(ext::PredictResult {
        id: suggestion.id,
        uri,
        version: suggestion.version,
        edits,
        source: suggestion.proposal.source.as_str(),
        score: suggestion.proposal.score,
        title,
    }))
}

/// `nextedit.debugDocument [{uri}]`.
fn debug_document(state: &GlobalState, arguments: &[Value]) -> Result<ext::DebugDocumentResult> {
    let arguments = arguments
        .first()
        .cloned()
        .and_then(|argument| serde_json::from_value::<ext::DebugDocumentArguments>(argument).ok())
        .ok_or_else(|| Error::invalid_params("expected {uri}"))?;
    let uri = arguments.uri;
    let document = state.engine.with_documents(|documents| {
        documents.get(&uri).map(|open| (open.document.rope().clone(), open.document.version))
    });
    let (rope, version) = document.ok_or_else(|| unknown_document(&uri))?;
    let stats = state.engine.feedback_stats();
    Ok(ext::DebugDocumentResult {
        text: rope.to_string(),
        version,
        feedback: ext::FeedbackCounts {
            shown: stats.shown,
            accepted: stats.accepted,
            rejected: stats.rejected,
        },
        suggestion: arguments
            .suggestion
            .and_then(|id| state.engine.suggestion_by_id(id))
            .filter(|suggestion| suggestion.uri == uri)
            .map(|suggestion| ext::SuggestionInfo {
                source: suggestion.proposal.source.as_str(),
                score: suggestion.proposal.score,
            }),
    })
}

fn invalid_params(error: serde_json::Error) -> Error {
    Error::invalid_params(error.to_string())
}

fn content_modified() -> Error {
    Error { code: ErrorCode::ContentModified, message: "the document changed".into(), data: None }
}

fn unknown_document(uri: &str) -> Error {
    Error::invalid_params(format!("document is not open: {uri}"))
}

fn id_argument(arguments: &[Value]) -> Option<u64> {
    arguments
        .first()
        .and_then(|value| value.as_u64().or_else(|| value.get("id").and_then(Value::as_u64)))
}
