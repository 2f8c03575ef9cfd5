//! `GlobalState`: what the handlers and the framing reader share, and how engine events reach the
//! client (diagnostics, messages shown once, `nextedit/status`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use ropey::Rope;
use tokio::sync::mpsc;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types as lsp;

use crate::config::SettingsLayers;
use crate::engine::model::manager::LoadObserver;
use crate::engine::suggestion::{Suggestion, summarize};
use crate::engine::{Engine, EngineEvent, MessageLevel, ModelStatus};
use crate::locks::{lock, read};
use crate::lsp::ext::{
    CopilotStatusKind, CopilotStatusNotification, CopilotStatusParams, StatusNotification,
    StatusParams, StatusState,
};
use crate::lsp::proto;
use crate::text::PositionEncoding;

/// The most distinct messages remembered as shown; past it, the memory starts again.
const MAX_SHOWN_MESSAGES: usize = 256;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClientSupport {
    pub(crate) document_changes: bool,
    pub(crate) work_done_progress: bool,
}

/// State shared by the handlers and the framing reader.
pub struct GlobalState {
    pub engine: Engine,
    pub(crate) encoding: RwLock<PositionEncoding>,
    pub(crate) initialized: AtomicBool,
    pub(crate) initialized_watch: tokio::sync::watch::Sender<bool>,
    pub(crate) shutdown_requested: AtomicBool,
    pub(crate) layers: Mutex<SettingsLayers>,
    pub(crate) support: RwLock<ClientSupport>,
    /// The client identified itself the Copilot way (`editorInfo` in its initialization options):
    /// it gets `didChangeStatus` too.
    pub(crate) copilot_client: Arc<AtomicBool>,
    client: OnceLock<Client>,
    /// Messages already shown, so each is shown once.
    shown_messages: Mutex<HashSet<String>>,
    /// Documents told they get no predictions.
    pub(crate) told_unpredictable: Mutex<HashSet<String>>,
    /// The one way `nextedit/status` goes out: a queue, sent in order by one task.
    status: mpsc::UnboundedSender<StatusParams>,
    status_queue: Mutex<Option<mpsc::UnboundedReceiver<StatusParams>>>,
}

impl GlobalState {
    pub fn new(layers: SettingsLayers) -> Arc<GlobalState> {
        let (settings, _) = layers.resolve();
        let (status, status_queue) = mpsc::unbounded_channel();
        let state = Arc::new(GlobalState {
            engine: Engine::new(settings),
            encoding: RwLock::new(PositionEncoding::Utf16),
            initialized: AtomicBool::new(false),
            initialized_watch: tokio::sync::watch::channel(false).0,
            shutdown_requested: AtomicBool::new(false),
            layers: Mutex::new(layers),
            support: RwLock::new(ClientSupport::default()),
            copilot_client: Arc::new(AtomicBool::new(false)),
            client: OnceLock::new(),
            shown_messages: Mutex::new(HashSet::new()),
            told_unpredictable: Mutex::new(HashSet::new()),
            status,
            status_queue: Mutex::new(Some(status_queue)),
        });
        let weak = Arc::downgrade(&state);
        state.engine.set_listener(move |event| {
            if let Some(state) = weak.upgrade() {
                state.on_engine_event(event);
            }
        });
        state
    }

    /// Connects the client: statuses queued from now on are sent to it, in order.
    pub(crate) fn attach_client(&self, client: Client) {
        if self.client.set(client.clone()).is_err() {
            return;
        }
        let Some(mut queue) = lock(&self.status_queue).take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let copilot_client = self.copilot_client.clone();
        runtime.spawn(async move {
            while let Some(status) = queue.recv().await {
                if copilot_client.load(Ordering::SeqCst) {
                    let copilot_status = copilot_status_params(&status);
                    client.send_notification::<CopilotStatusNotification>(copilot_status).await;
                }
                client.send_notification::<StatusNotification>(status).await;
            }
        });
    }

    pub fn initialized_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.initialized_watch.subscribe()
    }

    pub fn shutdown_requested(&self) -> bool {
        self.shutdown_requested.load(Ordering::SeqCst)
    }

    pub(crate) fn encoding(&self) -> PositionEncoding {
        *read(&self.encoding)
    }

    pub(crate) fn support(&self) -> ClientSupport {
        *read(&self.support)
    }

    pub(crate) fn client(&self) -> Option<Client> {
        self.client.get().cloned()
    }

    /// Shows an error or warning once per server run.
    pub(crate) fn show_once(&self, kind: lsp::MessageType, message: String) {
        let first = {
            let mut shown = lock(&self.shown_messages);
            if shown.len() >= MAX_SHOWN_MESSAGES {
                shown.clear();
            }
            shown.insert(message.clone())
        };
        if !first {
            return;
        }
        if let Some(client) = self.client()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move { client.show_message(kind, message).await });
        }
    }

    /// Queues `nextedit/status`; callable from any thread.
    pub(crate) fn send_status(&self, status: &ModelStatus) {
        let _ = self.status.send(status_params(status));
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
            EngineEvent::UserMessage { level, message } => {
                let kind = match level {
                    MessageLevel::Warning => lsp::MessageType::WARNING,
                    MessageLevel::Error => lsp::MessageType::ERROR,
                };
                self.show_once(kind, message);
            }
            EngineEvent::ModelStatus(status) => self.send_status(&status),
        }
    }

    /// The rope of `uri` if it is still at `version` (cloned under the documents lock: cheap, it
    /// shares structure; the work on it happens after the lock is released).
    pub(crate) fn rope_at(&self, uri: &str, version: i32) -> Option<Rope> {
        self.engine.with_documents(|documents| {
            let open = documents.get(uri)?;
            (open.document.version == version).then(|| open.document.rope().clone())
        })
    }

    fn diagnostics_for(&self, suggestion: &Suggestion) -> Vec<lsp::Diagnostic> {
        let encoding = self.encoding();
        let Some(rope) = self.rope_at(&suggestion.uri, suggestion.version) else {
            return Vec::new();
        };
        let text = rope.to_string();
        suggestion
            .edits()
            .iter()
            .take(1)
            .map(|edit| lsp::Diagnostic {
                range: proto::range_to_lsp(&rope, &edit.range, encoding),
                severity: Some(lsp::DiagnosticSeverity::HINT),
                source: Some("nextedit".to_owned()),
                message: format!("Next edit: {}", summarize(&text, suggestion.edits())),
                ..lsp::Diagnostic::default()
            })
            .collect()
    }

    pub(crate) fn apply_settings(&self) {
        let (settings, warnings) = lock(&self.layers).resolve();
        for warning in warnings {
            tracing::warn!("{warning}");
            self.show_once(lsp::MessageType::WARNING, format!("nextedit: {warning}"));
        }
        self.engine.set_settings(settings);
    }

    pub(crate) fn tell_unpredictable(&self, uri: &str) {
        let reason = self.engine.with_documents(|documents| {
            documents.get(uri).and_then(|open| open.unpredictable.clone())
        });
        if let Some(reason) = reason {
            let first = lock(&self.told_unpredictable).insert(uri.to_owned());
            if first {
                let name = self.engine.display_path(uri);
                self.show_once(
                    lsp::MessageType::INFO,
                    format!("nextedit: no next-edit suggestions for {name}: {reason}"),
                );
            }
        }
    }

    /// Loads the configured model in the background, reporting `$/progress` (when the client
    /// supports it) and `nextedit/status`.
    pub(crate) async fn load_model(self: Arc<GlobalState>) {
        let observer = ProgressObserver {
            client: self.client().filter(|_| self.support().work_done_progress),
            progress: None,
        };
        self.engine.load_model(observer).await;
    }
}

/// How `nextedit/status` spells a model status.
fn status_params(status: &ModelStatus) -> StatusParams {
    match status {
        ModelStatus::Off => StatusParams {
            state: StatusState::Off,
            message: Some("model off: renames and repeated edits only".to_owned()),
        },
        ModelStatus::Loading => StatusParams { state: StatusState::Loading, message: None },
        ModelStatus::Ready { name } => {
            StatusParams { state: StatusState::Ready, message: name.clone() }
        }
        ModelStatus::Error { message } => {
            StatusParams { state: StatusState::Error, message: Some(message.clone()) }
        }
    }
}

/// How `didChangeStatus` spells a status: off and ready are `Normal`, loading is `Normal` and busy.
fn copilot_status_params(status: &StatusParams) -> CopilotStatusParams {
    let busy = status.state == StatusState::Loading;
    let kind = match status.state {
        StatusState::Error => CopilotStatusKind::Error,
        StatusState::Off | StatusState::Loading | StatusState::Ready => CopilotStatusKind::Normal,
    };
    let message = match status.state {
        StatusState::Loading => Some("nextedit: loading the model".to_owned()),
        _ => status.message.as_ref().map(|message| format!("nextedit: {message}")),
    };
    CopilotStatusParams { busy, kind, message }
}

type Progress =
    tower_lsp_server::OngoingProgress<tower_lsp_server::Bounded, tower_lsp_server::NotCancellable>;

/// Model loading as `$/progress`.
struct ProgressObserver {
    /// The client, if it supports work-done progress.
    client: Option<Client>,
    progress: Option<Progress>,
}

impl LoadObserver for ProgressObserver {
    async fn begin(&mut self) {
        let Some(client) = &self.client else { return };
        let token = lsp::ProgressToken::String("nextedit/model".to_owned());
        let created = client
            .send_request::<lsp::request::WorkDoneProgressCreate>(
                lsp::WorkDoneProgressCreateParams { token: token.clone() },
            )
            .await;
        if created.is_ok() {
            self.progress = Some(
                client.progress(token, "nextedit: loading model").with_percentage(0).begin().await,
            );
        }
    }

    async fn report(&mut self, percent: u32) {
        if let Some(progress) = &self.progress {
            progress.report(percent).await;
        }
    }

    async fn finish(self, message: String) {
        if let Some(progress) = self.progress {
            progress.finish_with_message(message).await;
        }
    }
}
