//! Prediction: context -> prompt -> model -> parse -> diff -> validate -> rank, plus the symbolic
//! engine. Pure with respect to LSP: it takes plain structs, URIs as strings and byte offsets.
//!
//! `Engine` is the handle the delivery layer holds. Its parts live in their own modules:
//! [`scheduler`] (one job per document, job epochs, waiting requests), [`pipeline`] (what one job
//! does), [`feedback`] (accept, reject, shown) and [`model::manager`] (the model's lifecycle).

pub mod context;
pub mod diff;
pub mod documents;
mod export;
pub mod feedback;
pub mod model;
pub mod pipeline;
pub mod prompt;
pub mod rank;
pub mod scheduler;
pub mod suggestion;
pub mod symbolic;
pub mod validate;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::config::Settings;
use crate::locks::{lock, read, write};
use crate::text::{HistoryConfig, PositionEncoding, TextChange};
use documents::{ChangeOutcome, Documents, SyncError};
use feedback::Feedback;
use model::manager::ModelManager;
use scheduler::Jobs;

pub use model::CancelFlag;
pub use model::config::{llama_config, openai_config};
pub use model::manager::{ModelSlot, ModelStatus};

/// Something the delivery layer may want to know about.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// The best suggestion for a document changed (or went away).
    SuggestionChanged { uri: String, suggestion: Option<Suggestion> },
    /// Something the user should hear about once (a failed prediction, a setting that was ignored).
    UserMessage { level: MessageLevel, message: String },
    /// The model's state changed.
    ModelStatus(ModelStatus),
}

/// How serious a [`EngineEvent::UserMessage`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLevel {
    Warning,
    Error,
}

/// Why a request for a suggestion has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    UnknownDocument,
    /// The document changed since the version the request names.
    Stale,
}

use suggestion::Suggestion;

type Listener = Box<dyn Fn(EngineEvent) + Send + Sync>;

struct Shared {
    documents: Mutex<Documents>,
    settings: RwLock<Settings>,
    /// The workspace the documents belong to, for the paths the model sees.
    workspace_root: RwLock<Option<PathBuf>>,
    jobs: Mutex<Jobs>,
    feedback: Feedback,
    next_id: AtomicU64,
    listener: RwLock<Option<Listener>>,
    model: ModelManager,
    /// The statistics of the newest model generation, for benchmarks and logs.
    last_generation: Mutex<Option<model::GenerationStats>>,
}

/// The prediction engine. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl Engine {
    pub fn new(settings: Settings) -> Engine {
        Engine {
            shared: Arc::new(Shared {
                documents: Mutex::new(Documents::new(HistoryConfig::default())),
                settings: RwLock::new(settings),
                workspace_root: RwLock::new(None),
                jobs: Mutex::new(Jobs::default()),
                feedback: Feedback::default(),
                next_id: AtomicU64::new(1),
                listener: RwLock::new(None),
                model: ModelManager::default(),
                last_generation: Mutex::new(None),
            }),
        }
    }

    pub fn set_listener(&self, listener: impl Fn(EngineEvent) + Send + Sync + 'static) {
        *write(&self.shared.listener) = Some(Box::new(listener));
    }

    pub fn settings(&self) -> Settings {
        read(&self.shared.settings).clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *write(&self.shared.settings) = settings;
    }

    /// Sets the workspace root: prompts then name files relative to it.
    pub fn set_workspace_root(&self, root: Option<PathBuf>) {
        *write(&self.shared.workspace_root) = root;
    }

    pub fn workspace_root(&self) -> Option<PathBuf> {
        read(&self.shared.workspace_root).clone()
    }

    /// The path the model sees for `uri` (see [`crate::text::uri::display_path`]).
    pub fn display_path(&self, uri: &str) -> String {
        crate::text::uri::display_path(uri, read(&self.shared.workspace_root).as_deref())
    }

    pub fn model(&self) -> ModelSlot {
        self.shared.model.slot()
    }

    pub fn set_model(&self, slot: ModelSlot) {
        self.shared.model.set(slot);
    }

    /// The statistics of the newest model generation.
    pub fn last_generation(&self) -> Option<model::GenerationStats> {
        lock(&self.shared.last_generation).clone()
    }

    /// Runs `f` with the documents locked. Keep `f` short: typing waits on this lock.
    pub fn with_documents<R>(&self, f: impl FnOnce(&Documents) -> R) -> R {
        f(&lock(&self.shared.documents))
    }

    pub fn open(&self, uri: &str, language_id: &str, version: i32, text: &str) {
        lock(&self.shared.documents).open(uri, language_id, version, text);
        self.cancel_job(uri);
    }

    pub fn close(&self, uri: &str) {
        lock(&self.shared.documents).close(uri);
        self.remove_jobs(uri);
        self.shared.feedback.forget_document(uri);
        self.notify(EngineEvent::SuggestionChanged { uri: uri.to_owned(), suggestion: None });
    }

    /// Applies one `didChange` and schedules a prediction. Must be called in arrival order.
    pub fn change(
        &self,
        uri: &str,
        version: i32,
        changes: &[TextChange],
        encoding: PositionEncoding,
    ) -> Result<(), SyncError> {
        // The result is bound first, so the documents lock is released before scheduling.
        let outcome = {
            let mut documents = lock(&self.shared.documents);
            if crate::fault::fire_once(crate::fault::Fault::PanicInSync) {
                panic!("document sync panic injected by {}", crate::fault::FAULT_ENV_VAR);
            }
            documents.apply_changes(uri, version, changes, encoding, Instant::now())?
        };
        match outcome {
            ChangeOutcome::Applied { version } => {
                self.notice_implied_accept(uri);
                self.schedule(uri, version);
            }
            ChangeOutcome::Held => {
                tracing::debug!(uri, version, "change arrived before an earlier version; held");
                self.release_held_later(uri);
            }
        }
        Ok(())
    }

    /// Applies the changes of `uri` that wait for an earlier version at once: a request about the
    /// document says the client is past them, so the missing versions were skipped.
    fn release_held_now(&self, uri: &str) {
        let released = lock(&self.shared.documents).release_held(uri, Instant::now());
        if let Some(version) = released {
            tracing::debug!(uri, version, "held changes applied for a request");
            self.notice_implied_accept(uri);
            self.schedule(uri, version);
        }
    }

    /// After [`documents::HOLD_OUT_OF_ORDER`], applies the changes of `uri` that still wait for an
    /// earlier version (the client skipped it) and predicts for the result.
    fn release_held_later(&self, uri: &str) {
        let engine = self.clone();
        let uri = uri.to_owned();
        let task = async move {
            tokio::time::sleep(documents::HOLD_OUT_OF_ORDER).await;
            let deadline = Instant::now()
                .checked_sub(documents::HOLD_OUT_OF_ORDER)
                .unwrap_or_else(Instant::now);
            let released = lock(&engine.shared.documents).release_held(&uri, deadline);
            if let Some(version) = released {
                tracing::debug!(
                    uri,
                    version,
                    "held changes applied without the versions they waited for"
                );
                engine.notice_implied_accept(&uri);
                engine.schedule(&uri, version);
            }
        };
        spawn_on_runtime(task, "release held changes");
    }

    /// Predicts again for every document the user has edited (after the model became ready, so that
    /// edits typed while it loaded get its suggestions).
    pub fn repredict_edited(&self) {
        let edited: Vec<(String, i32)> = self.with_documents(|documents| {
            documents
                .uris()
                .filter_map(|uri| documents.get(uri).map(|open| (uri, open)))
                .filter(|(_, open)| open.history.last().is_some())
                .map(|(uri, open)| (uri.to_owned(), open.document.version))
                .collect()
        });
        for (uri, version) in edited {
            self.schedule(&uri, version);
        }
    }

    fn notify(&self, event: EngineEvent) {
        if let Some(listener) = read(&self.shared.listener).as_ref() {
            listener(event);
        }
    }
}

/// A path for prompts: the file name of a URI's path, percent-decoded. Prefer
/// [`Engine::display_path`], which knows the workspace root.
pub fn display_path(uri: &str) -> String {
    crate::text::uri::display_path(uri, None)
}

/// Spawns `task` on the current async runtime; without one (a caller outside it), logs that
/// there is nothing to `what` on.
fn spawn_on_runtime(task: impl std::future::Future<Output = ()> + Send + 'static, what: &str) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(task);
        }
        Err(_) => tracing::error!("no async runtime to {what} on"),
    }
}
