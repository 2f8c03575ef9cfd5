//! Request and notification handlers. Thin: they convert positions, ask the engine, and convert
//! back.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types as lsp;
use tower_lsp_server::{Client, LanguageServer};

use crate::config::BackendKind;
use crate::config::{self, SettingsLayers, Source};
use crate::engine::suggestion::{Suggestion, SuggestionSource, summarize};
use crate::engine::{Engine, EngineEvent, ModelSlot, RequestError, model};
use crate::lsp::proto;
use crate::lsp::transport::SyncSink;
use crate::text::{PositionEncoding, TextChange, position};

pub const COMMAND_ACCEPT: &str = "nextedit.accept";
pub const COMMAND_REJECT: &str = "nextedit.reject";
pub const COMMAND_PREDICT: &str = "nextedit.predict";
/// Returns the server's copy of a document (`{uri}` -> `{text, version}`), for tests and bug reports.
pub const COMMAND_DEBUG_DOCUMENT: &str = "nextedit.debugDocument";

#[derive(Debug, Clone, Copy, Default)]
struct ClientSupport {
    document_changes: bool,
    work_done_progress: bool,
}

/// State shared by the handlers and the framing reader.
pub struct GlobalState {
    pub engine: Engine,
    encoding: RwLock<PositionEncoding>,
    initialized: AtomicBool,
    initialized_watch: tokio::sync::watch::Sender<bool>,
    shutdown_requested: AtomicBool,
    layers: Mutex<SettingsLayers>,
    support: RwLock<ClientSupport>,
    client: OnceLock<Client>,
    /// Messages already shown, so each is shown once.
    shown_messages: Mutex<HashSet<String>>,
    /// Documents told they get no predictions.
    told_unpredictable: Mutex<HashSet<String>>,
}

impl GlobalState {
    pub fn new(layers: SettingsLayers) -> Arc<GlobalState> {
        let (settings, _) = layers.resolve();
        let state = Arc::new(GlobalState {
            engine: Engine::new(settings),
            encoding: RwLock::new(PositionEncoding::Utf16),
            initialized: AtomicBool::new(false),
            initialized_watch: tokio::sync::watch::channel(false).0,
            shutdown_requested: AtomicBool::new(false),
            layers: Mutex::new(layers),
            support: RwLock::new(ClientSupport::default()),
            client: OnceLock::new(),
            shown_messages: Mutex::new(HashSet::new()),
            told_unpredictable: Mutex::new(HashSet::new()),
        });
        let weak = Arc::downgrade(&state);
        state.engine.set_listener(move |event| {
            if let Some(state) = weak.upgrade() {
                state.on_engine_event(event);
            }
        });
        state
    }

    pub fn initialized_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.initialized_watch.subscribe()
    }

    pub fn shutdown_requested(&self) -> bool {
        self.shutdown_requested.load(Ordering::SeqCst)
    }

    fn encoding(&self) -> PositionEncoding {
        *self.encoding.read().unwrap_or_else(|e| e.into_inner())
    }

    fn support(&self) -> ClientSupport {
        *self.support.read().unwrap_or_else(|e| e.into_inner())
    }

    fn client(&self) -> Option<Client> {
        self.client.get().cloned()
    }

    /// Shows an error or warning once per server run.
    fn show_once(&self, kind: lsp::MessageType, message: String) {
        let first =
            self.shown_messages.lock().unwrap_or_else(|e| e.into_inner()).insert(message.clone());
        if !first {
            return;
        }
        if let Some(client) = self.client()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move { client.show_message(kind, message).await });
        }
    }

    fn on_engine_event(&self, event: EngineEvent) {
        match event {
            EngineEvent::SuggestionChanged { uri, suggestion } => {
                if !self.engine.settings().diagnostics {
                    return;
                }
                let diagnostics = suggestion.map(|s| self.diagnostics_for(&s)).unwrap_or_default();
                let (Some(client), Ok(uri)) = (self.client(), uri.parse::<lsp::Uri>()) else {
                    return;
                };
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(async move {
                        client.publish_diagnostics(uri, diagnostics, None).await
                    });
                }
            }
            EngineEvent::Problem { message } => self.show_once(lsp::MessageType::WARNING, message),
            EngineEvent::ModelHealth { state, message } => self.send_status(state, message),
        }
    }

    /// Sends `nextedit/status` from code that is not async (engine events), on the current runtime.
    fn send_status(&self, state: &str, message: Option<String>) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            self.send_status_on(&handle, state, message);
        }
    }

    /// Sends `nextedit/status` through `runtime`, from any thread (the model supervisor's).
    fn send_status_on(
        &self,
        runtime: &tokio::runtime::Handle,
        state: &str,
        message: Option<String>,
    ) {
        if let Some(client) = self.client() {
            let status = json!({"state": state, "message": message});
            runtime
                .spawn(async move { client.send_notification::<StatusNotification>(status).await });
        }
    }

    fn diagnostics_for(&self, suggestion: &Suggestion) -> Vec<lsp::Diagnostic> {
        let encoding = self.encoding();
        self.engine.with_documents(|documents| {
            let Some(open) = documents.get(&suggestion.uri) else { return Vec::new() };
            if open.document.version != suggestion.version {
                return Vec::new();
            }
            let rope = open.document.rope();
            let text = rope.to_string();
            suggestion
                .edits()
                .iter()
                .take(1)
                .map(|edit| lsp::Diagnostic {
                    range: proto::range_to_lsp(rope, &edit.range, encoding),
                    severity: Some(lsp::DiagnosticSeverity::HINT),
                    source: Some("nextedit".to_owned()),
                    message: format!("Next edit: {}", summarize(&text, suggestion.edits())),
                    ..lsp::Diagnostic::default()
                })
                .collect()
        })
    }

    fn apply_settings(&self) {
        let (settings, warnings) = self.layers.lock().unwrap_or_else(|e| e.into_inner()).resolve();
        for warning in warnings {
            tracing::warn!("{warning}");
            self.show_once(lsp::MessageType::WARNING, format!("nextedit: {warning}"));
        }
        self.engine.set_settings(settings);
    }

    fn tell_unpredictable(&self, uri: &str) {
        let reason = self.engine.with_documents(|documents| {
            documents.get(uri).and_then(|open| open.unpredictable.clone())
        });
        if let Some(reason) = reason {
            let first = self
                .told_unpredictable
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(uri.to_owned());
            if first {
                let name = uri.rsplit('/').next().unwrap_or(uri);
                self.show_once(
                    lsp::MessageType::INFO,
                    format!("nextedit: no next-edit suggestions for {name}: {reason}"),
                );
            }
        }
    }
}

impl SyncSink for GlobalState {
    fn sync_notification(&self, method: &str, params: Value) {
        if !self.initialized.load(Ordering::SeqCst) {
            tracing::warn!("{method} before initialize, ignored");
            return;
        }
        match method {
            "textDocument/didOpen" => match serde_json::from_value::<proto::SyncDidOpen>(params) {
                Ok(params) => {
                    let item = params.text_document;
                    self.engine.open(&item.uri, &item.language_id, item.version, &item.text);
                    self.tell_unpredictable(&item.uri);
                }
                Err(error) => tracing::warn!("bad didOpen params: {error}"),
            },
            "textDocument/didChange" => {
                match serde_json::from_value::<proto::SyncDidChange>(params) {
                    Ok(params) => {
                        let changes: Vec<TextChange> = params
                            .content_changes
                            .into_iter()
                            .map(|change| TextChange {
                                range: change.range.map(proto::range_from_lsp),
                                text: change.text,
                            })
                            .collect();
                        let uri = params.text_document.uri;
                        match self.engine.change(
                            &uri,
                            params.text_document.version,
                            &changes,
                            self.encoding(),
                        ) {
                            Ok(()) => self.tell_unpredictable(&uri),
                            Err(error) => tracing::warn!("{error}; ignored"),
                        }
                    }
                    Err(error) => tracing::warn!("bad didChange params: {error}"),
                }
            }
            "textDocument/didClose" => {
                match serde_json::from_value::<proto::SyncDidClose>(params) {
                    Ok(params) => {
                        self.engine.close(&params.text_document.uri);
                        self.told_unpredictable
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&params.text_document.uri);
                    }
                    Err(error) => tracing::warn!("bad didClose params: {error}"),
                }
            }
            _ => {}
        }
    }
}

pub struct Server {
    client: Client,
    state: Arc<GlobalState>,
}

impl Server {
    pub fn new(client: Client, state: Arc<GlobalState>) -> Server {
        let _ = state.client.set(client.clone());
        Server { client, state }
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.state.engine.settings().predict.request_timeout_ms)
    }

    /// The edits of a suggestion as LSP text edits, if the document is still at its version.
    fn lsp_edits(&self, suggestion: &Suggestion, group: bool) -> Option<Vec<lsp::TextEdit>> {
        let encoding = self.state.encoding();
        self.state.engine.with_documents(|documents| {
            let open = documents.get(&suggestion.uri)?;
            if open.document.version != suggestion.version {
                return None;
            }
            let rope = open.document.rope();
            let edits = if group && !suggestion.proposal.group.is_empty() {
                &suggestion.proposal.group
            } else {
                &suggestion.proposal.edits
            };
            Some(edits.iter().map(|edit| proto::text_edit_to_lsp(rope, edit, encoding)).collect())
        })
    }

    fn summary(&self, suggestion: &Suggestion) -> String {
        self.state.engine.with_documents(|documents| {
            documents
                .get(&suggestion.uri)
                .map(|open| summarize(&open.document.text(), suggestion.edits()))
                .unwrap_or_default()
        })
    }

    fn accept_command(suggestion: &Suggestion) -> lsp::Command {
        lsp::Command {
            title: "Accept next edit".to_owned(),
            command: COMMAND_ACCEPT.to_owned(),
            arguments: Some(vec![json!(suggestion.id)]),
        }
    }

    fn workspace_edit(
        &self,
        suggestion: &Suggestion,
        uri: &lsp::Uri,
        edits: Vec<lsp::TextEdit>,
    ) -> lsp::WorkspaceEdit {
        if self.state.support().document_changes {
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

    async fn copilot_inline_edit(&self, params: Value) -> Result<Value> {
        let params: proto::InlineEditParams =
            serde_json::from_value(params).map_err(invalid_params)?;
        let uri = params.text_document.uri;
        let suggestion = self
            .state
            .engine
            .suggestion(&uri, params.text_document.version, self.request_timeout())
            .await;
        let suggestion = match suggestion {
            Ok(suggestion) => suggestion,
            Err(RequestError::Stale) => return Err(content_modified()),
            Err(RequestError::UnknownDocument) => return Err(unknown_document(&uri)),
        };
        let Some(suggestion) = suggestion else { return Ok(json!({"edits": []})) };
        let Some(edits) = self.lsp_edits(&suggestion, false) else {
            return Err(content_modified());
        };
        let summary = self.summary(&suggestion);
        let items: Vec<Value> = edits
            .into_iter()
            .map(|edit| {
                json!({
                    "text": edit.new_text,
                    "range": edit.range,
                    "textDocument": {"uri": uri, "version": suggestion.version},
                    "command": {"title": format!("Next edit: {summary}"), "command": COMMAND_ACCEPT, "arguments": [suggestion.id]},
                    "source": suggestion.proposal.source.as_str(),
                })
            })
            .collect();
        Ok(json!({"edits": items}))
    }

    async fn inline_completion(&self, params: Value) -> Result<Value> {
        let params: proto::DocumentPositionParams =
            serde_json::from_value(params).map_err(invalid_params)?;
        let uri = params.text_document.uri;
        let suggestion =
            match self.state.engine.suggestion(&uri, None, self.request_timeout()).await {
                Ok(Some(suggestion)) => suggestion,
                Ok(None) => return Ok(json!({"items": []})),
                Err(RequestError::Stale) => return Err(content_modified()),
                Err(RequestError::UnknownDocument) => return Err(unknown_document(&uri)),
            };
        // Ghost text only fits a single insertion on the cursor's line.
        let [edit] = suggestion.edits() else { return Ok(json!({"items": []})) };
        if !edit.range.is_empty() {
            return Ok(json!({"items": []}));
        }
        let encoding = self.state.encoding();
        let item = self.state.engine.with_documents(|documents| {
            let open = documents.get(&uri)?;
            if open.document.version != suggestion.version {
                return None;
            }
            let at = position::byte_to_position(open.document.rope(), edit.range.start, encoding);
            (at.line == params.position.line).then(|| {
                json!({
                    "insertText": edit.new_text,
                    "range": lsp::Range::new(proto::position_to_lsp(at), proto::position_to_lsp(at)),
                    "command": {"title": "Accept next edit", "command": COMMAND_ACCEPT, "arguments": [suggestion.id]},
                })
            })
        });
        Ok(json!({"items": item.into_iter().collect::<Vec<_>>()}))
    }

    async fn did_show_inline_edit(&self, params: Value) {
        if let Some(id) = params.pointer("/item/command/arguments/0").and_then(Value::as_u64) {
            self.state.engine.shown(id);
        }
    }
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

fn workspace_root(params: &lsp::InitializeParams) -> Option<PathBuf> {
    let uri = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| folder.uri.clone());
    #[allow(deprecated)]
    let uri = uri.or_else(|| params.root_uri.clone())?;
    uri.as_str().strip_prefix("file://").map(PathBuf::from)
}

impl LanguageServer for Server {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        let encoding = proto::negotiate_encoding(
            params
                .capabilities
                .general
                .as_ref()
                .and_then(|general| general.position_encodings.as_deref()),
        );
        *self.state.encoding.write().unwrap_or_else(|e| e.into_inner()) = encoding;
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
        *self.state.support.write().unwrap_or_else(|e| e.into_inner()) =
            ClientSupport { document_changes, work_done_progress };

        {
            let mut layers = self.state.layers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(root) = workspace_root(&params) {
                let path = root.join("nextedit.toml");
                if let Ok(text) = std::fs::read_to_string(&path) {
                    match config::parse_toml(&text) {
                        Ok(value) => layers.set_workspace(&root, value),
                        Err(error) => self.state.show_once(
                            lsp::MessageType::WARNING,
                            format!("nextedit: {}: {error}", path.display()),
                        ),
                    }
                }
            }
            if let Some(options) = params.initialization_options.clone() {
                layers.set(Source::InitializationOptions, options);
            }
        }
        self.state.apply_settings();
        self.state.initialized.store(true, Ordering::SeqCst);
        self.state.initialized_watch.send_replace(true);

        let capabilities = lsp::ServerCapabilities {
            position_encoding: Some(proto::encoding_to_lsp(encoding)),
            text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
                lsp::TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                    ..lsp::TextDocumentSyncOptions::default()
                },
            )),
            code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
                lsp::CodeActionOptions {
                    code_action_kinds: Some(vec![lsp::CodeActionKind::REFACTOR_REWRITE]),
                    ..lsp::CodeActionOptions::default()
                },
            )),
            execute_command_provider: Some(lsp::ExecuteCommandOptions {
                commands: vec![
                    COMMAND_ACCEPT.into(),
                    COMMAND_REJECT.into(),
                    COMMAND_PREDICT.into(),
                    COMMAND_DEBUG_DOCUMENT.into(),
                ],
                ..lsp::ExecuteCommandOptions::default()
            }),
            inline_completion_provider: Some(lsp::OneOf::Left(true)),
            experimental: Some(json!({"copilotInlineEdit": true})),
            ..lsp::ServerCapabilities::default()
        };
        Ok(lsp::InitializeResult {
            capabilities,
            server_info: Some(lsp::ServerInfo {
                name: "nextedit".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: lsp::InitializedParams) {
        let state = self.state.clone();
        let client = self.client.clone();
        tokio::spawn(async move { load_model(state, client).await });
    }

    async fn shutdown(&self) -> Result<()> {
        self.state.shutdown_requested.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn did_change_configuration(&self, params: lsp::DidChangeConfigurationParams) {
        self.state
            .layers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set(Source::DidChangeConfiguration, params.settings);
        self.state.apply_settings();
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<lsp::CodeActionResponse>> {
        let uri = params.text_document.uri;
        let timeout = self.request_timeout().min(Duration::from_secs(2));
        let suggestion = match self.state.engine.suggestion(uri.as_str(), None, timeout).await {
            Ok(Some(suggestion)) => suggestion,
            Ok(None) | Err(RequestError::UnknownDocument) => return Ok(None),
            Err(RequestError::Stale) => return Err(content_modified()),
        };
        let Some(edits) = self.lsp_edits(&suggestion, false) else {
            return Err(content_modified());
        };
        let summary = self.summary(&suggestion);
        let mut actions = vec![lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: format!("Next edit: {summary}"),
            kind: Some(lsp::CodeActionKind::REFACTOR_REWRITE),
            is_preferred: Some(true),
            edit: Some(self.workspace_edit(&suggestion, &uri, edits)),
            command: Some(Self::accept_command(&suggestion)),
            ..lsp::CodeAction::default()
        })];
        if suggestion.proposal.source == SuggestionSource::Rename
            && suggestion.proposal.group.len() > 1
            && let Some(group) = self.lsp_edits(&suggestion, true)
        {
            actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                title: format!("Next edit: rename all {}", group.len()),
                kind: Some(lsp::CodeActionKind::REFACTOR_REWRITE),
                edit: Some(self.workspace_edit(&suggestion, &uri, group)),
                command: Some(Self::accept_command(&suggestion)),
                ..lsp::CodeAction::default()
            }));
        }
        Ok(Some(actions))
    }

    async fn execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> Result<Option<lsp::LSPAny>> {
        match params.command.as_str() {
            COMMAND_ACCEPT => {
                let id = id_argument(&params.arguments)
                    .ok_or_else(|| Error::invalid_params("expected a suggestion id"))?;
                Ok(Some(json!(self.state.engine.accept(id))))
            }
            COMMAND_REJECT => {
                let id = id_argument(&params.arguments)
                    .ok_or_else(|| Error::invalid_params("expected a suggestion id"))?;
                Ok(Some(json!(self.state.engine.reject(id))))
            }
            COMMAND_PREDICT => {
                let argument = params.arguments.first().cloned().unwrap_or(Value::Null);
                let uri = argument
                    .get("uri")
                    .or_else(|| argument.pointer("/textDocument/uri"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::invalid_params("expected {uri, position}"))?
                    .to_owned();
                let position = argument.get("position").and_then(|position| {
                    serde_json::from_value::<lsp::Position>(position.clone()).ok()
                });
                let encoding = self.state.encoding();
                let cursor = position.and_then(|position| {
                    self.state.engine.with_documents(|documents| {
                        documents.get(&uri).map(|open| {
                            position::position_to_byte(
                                open.document.rope(),
                                proto::position_from_lsp(position),
                                encoding,
                            )
                        })
                    })
                });
                match self.state.engine.predict_now(&uri, cursor).await {
                    Ok(Some(suggestion)) => {
                        let Some(edits) = self.lsp_edits(&suggestion, false) else {
                            return Err(content_modified());
                        };
                        Ok(Some(json!({
                            "id": suggestion.id,
                            "uri": uri,
                            "version": suggestion.version,
                            "edits": edits,
                            "source": suggestion.proposal.source.as_str(),
                            "score": suggestion.proposal.score,
                            "title": format!("Next edit: {}", self.summary(&suggestion)),
                        })))
                    }
                    Ok(None) => Ok(None),
                    Err(RequestError::Stale) => Err(content_modified()),
                    Err(RequestError::UnknownDocument) => Err(unknown_document(&uri)),
                }
            }
            COMMAND_DEBUG_DOCUMENT => {
                let uri = params
                    .arguments
                    .first()
                    .and_then(|argument| argument.get("uri"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::invalid_params("expected {uri}"))?;
                let document = self.state.engine.with_documents(|documents| {
                    documents.get(uri).map(|open| json!({"text": open.document.text(), "version": open.document.version}))
                });
                document.map(Some).ok_or_else(|| unknown_document(uri))
            }
            other => Err(Error::invalid_params(format!("unknown command: {other}"))),
        }
    }
}

/// Loads the configured model in the background, reporting `$/progress` and `nextedit/status`.
async fn load_model(state: Arc<GlobalState>, client: Client) {
    let settings = state.engine.settings();
    let send_status = |slot: &ModelSlot| {
        let message = match slot {
            ModelSlot::Failed(message) => Some(message.clone()),
            ModelSlot::Off => Some("model off: renames and repeated edits only".to_owned()),
            _ => None,
        };
        json!({"state": slot.state_name(), "message": message})
    };
    match settings.model.backend {
        BackendKind::None => {
            state.engine.set_model(ModelSlot::Off);
            client.send_notification::<StatusNotification>(send_status(&ModelSlot::Off)).await;
            return;
        }
        BackendKind::Openai => {
            load_remote_model(&state, &client, &settings).await;
            return;
        }
        BackendKind::Llama => {}
    }
    let config = match crate::engine::llama_config(&settings) {
        Ok((config, warning)) => {
            if let Some(warning) = warning {
                state.show_once(lsp::MessageType::WARNING, format!("nextedit: {warning}"));
            }
            config
        }
        Err(message) => {
            let slot = ModelSlot::Failed(message);
            client.send_notification::<StatusNotification>(send_status(&slot)).await;
            state.engine.set_model(slot);
            return;
        }
    };
    state.engine.set_model(ModelSlot::Loading);
    client.send_notification::<StatusNotification>(send_status(&ModelSlot::Loading)).await;

    let progress = if state.support().work_done_progress {
        let token = lsp::ProgressToken::String("nextedit/model".to_owned());
        let created = client
            .send_request::<lsp::request::WorkDoneProgressCreate>(
                lsp::WorkDoneProgressCreateParams { token: token.clone() },
            )
            .await;
        match created {
            Ok(()) => Some(
                client.progress(token, "nextedit: loading model").with_percentage(0).begin().await,
            ),
            Err(_) => None,
        }
    } else {
        None
    };
    let (percent_sender, mut percent_receiver) = tokio::sync::watch::channel(0u32);
    let reload_config = config.clone();
    let loading = model::load_llama(config, move |event| {
        let percent = match event {
            model::LoadProgress::Loading(fraction) => (fraction * 90.0) as u32,
            model::LoadProgress::CreatingContext => 95,
            model::LoadProgress::Ready => 100,
        };
        percent_sender.send_replace(percent);
    });
    tokio::pin!(loading);
    let result = loop {
        tokio::select! {
            result = &mut loading => break result,
            changed = percent_receiver.changed() => {
                if changed.is_err() {
                    break loading.await;
                }
                let percent = *percent_receiver.borrow();
                if let Some(progress) = &progress {
                    progress.report(percent).await;
                }
            }
        }
    };
    let slot = match result {
        Ok(backend) => {
            let info = backend.info();
            tracing::info!(
                "model {} loaded in {:?} ({} format, {} threads)",
                info.name,
                info.load_time,
                info.format.as_str(),
                info.threads
            );
            if let Some(progress) = progress {
                progress.finish_with_message(format!("{} ready", info.name)).await;
            }
            ModelSlot::Ready(supervise(backend, reload_config, &state))
        }
        Err(error) => {
            tracing::error!("{error}");
            if let Some(progress) = progress {
                progress.finish_with_message("failed").await;
            }
            state.show_once(
                lsp::MessageType::ERROR,
                format!("nextedit: {error}. Next-edit suggestions from the model are off; renames and repeated edits still work"),
            );
            ModelSlot::Failed(error.to_string())
        }
    };
    // The model first, then the new jobs, then the status: a client that asks again on "ready"
    // waits for these jobs.
    let status = send_status(&slot);
    let ready = matches!(slot, ModelSlot::Ready(_));
    state.engine.set_model(slot);
    if ready {
        state.engine.repredict_edited();
    }
    client.send_notification::<StatusNotification>(status).await;
}

/// Wraps a loaded llama backend so that its thread is restarted (with backoff) if it dies. A restart
/// reports `nextedit/status` (error while down, ready again after) and predicts again for edited
/// documents.
fn supervise(
    backend: Arc<dyn model::ModelBackend>,
    config: model::LlamaConfig,
    state: &Arc<GlobalState>,
) -> Arc<dyn model::ModelBackend> {
    // The supervisor reports from its own thread, outside the runtime.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return backend };
    let state = Arc::downgrade(state);
    let loader = move || model::load_llama_blocking(&config, |_| {});
    let listener = move |event: model::SupervisorEvent| {
        let Some(state) = state.upgrade() else { return };
        match event {
            model::SupervisorEvent::Died { .. } | model::SupervisorEvent::RestartFailed { .. } => {
                state.send_status_on(
                    &runtime,
                    "error",
                    Some(model::ModelError::Restarting.to_string()),
                );
            }
            model::SupervisorEvent::Restarted { .. } => {
                // Scheduling jobs needs the runtime too.
                let _entered = runtime.enter();
                state.engine.repredict_edited();
                state.send_status_on(&runtime, "ready", None);
            }
        }
    };
    Arc::new(model::SupervisedBackend::new(backend, loader, model::Backoff::DEFAULT, listener))
}

/// Connects the remote backend: no weights to load, but the server is asked which model it serves,
/// and an unreachable server is reported (suggestions start once it answers).
async fn load_remote_model(
    state: &Arc<GlobalState>,
    client: &Client,
    settings: &crate::config::Settings,
) {
    let status = |slot: &ModelSlot, message: Option<String>| json!({"state": slot.state_name(), "message": message});
    let loaded = async {
        let (config, warning) = crate::engine::openai_config(settings)?;
        if let Some(warning) = warning {
            state.show_once(lsp::MessageType::WARNING, format!("nextedit: {warning}"));
        }
        let endpoint = model::openai::display_endpoint(&config.endpoint);
        state.engine.set_model(ModelSlot::Loading);
        client.send_notification::<StatusNotification>(status(&ModelSlot::Loading, None)).await;
        let (backend, warning) =
            model::load_openai(config).await.map_err(|error| error.to_string())?;
        Ok::<_, String>((backend, warning, endpoint))
    };
    match loaded.await {
        Ok((backend, warning, endpoint)) => {
            let info = model::ModelBackend::info(&backend);
            tracing::info!("model {} at {endpoint} ({} format)", info.name, info.format.as_str());
            let slot = ModelSlot::Ready(Arc::new(backend));
            let message = match warning {
                Some(warning) => {
                    state.show_once(lsp::MessageType::WARNING, format!("nextedit: {warning}"));
                    Some(warning)
                }
                None => Some(format!("{} at {endpoint}", info.name)),
            };
            state.engine.set_model(slot.clone());
            state.engine.repredict_edited();
            client.send_notification::<StatusNotification>(status(&slot, message)).await;
        }
        Err(message) => {
            state.show_once(lsp::MessageType::ERROR, format!("nextedit: {message}"));
            let slot = ModelSlot::Failed(message.clone());
            client.send_notification::<StatusNotification>(status(&slot, Some(message))).await;
            state.engine.set_model(slot);
        }
    }
}

/// `nextedit/status`: model loading, ready, error or off, for status bars.
pub enum StatusNotification {}

impl lsp::notification::Notification for StatusNotification {
    type Params = Value;
    const METHOD: &'static str = "nextedit/status";
}

/// Registers the custom methods next to the standard ones.
pub fn build_service(
    state: Arc<GlobalState>,
) -> (tower_lsp_server::LspService<Server>, tower_lsp_server::ClientSocket) {
    tower_lsp_server::LspService::build(move |client| Server::new(client, state.clone()))
        .custom_method("textDocument/copilotInlineEdit", Server::copilot_inline_edit)
        .custom_method("textDocument/inlineCompletion", Server::inline_completion)
        .custom_method("textDocument/didShowInlineEdit", Server::did_show_inline_edit)
        .finish()
}
