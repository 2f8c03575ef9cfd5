//! The model's lifecycle: which backend the engine uses ([`ModelSlot`]), loading it from the
//! settings, the restart supervisor's events, and whether the newest request failed. Every change
//! is reported as one typed [`ModelStatus`] event; the delivery layer decides how to spell it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use super::config::{BackendConfig, BackendHooks, ConfiguredBackend, backend_config, load_backend};
use super::{LoadProgress, ModelBackend, ModelError, SupervisorEvent};
use crate::engine::{Engine, EngineEvent, MessageLevel};
use crate::locks::{read, write};

/// The model engine's state.
#[derive(Clone, Default)]
pub enum ModelSlot {
    /// No model is configured (`model.backend = "none"`).
    #[default]
    Off,
    Loading,
    Ready(Arc<dyn ModelBackend>),
    /// Loading failed or the backend died; the message says why.
    Failed(String),
}

/// What the user is told about the model (a status bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// No model is configured: renames and repeated edits only.
    Off,
    Loading,
    /// The model answers. `name` says which, where that is worth telling (a remote server).
    Ready {
        name: Option<String>,
    },
    /// Loading failed, or the model stopped answering (a remote server went away, the llama
    /// thread is being restarted).
    Error {
        message: String,
    },
}

/// The slot and the health of the newest request.
#[derive(Default)]
pub(crate) struct ModelManager {
    slot: RwLock<ModelSlot>,
    /// The newest model request failed (a remote server is down); cleared by the next success.
    failing: AtomicBool,
}

impl ModelManager {
    pub(crate) fn slot(&self) -> ModelSlot {
        read(&self.slot).clone()
    }

    pub(crate) fn set(&self, slot: ModelSlot) {
        self.failing.store(false, Ordering::Relaxed);
        *write(&self.slot) = slot;
    }

    /// A request failed: the status to report when the model was working until now.
    pub(crate) fn generation_failed(&self, error: &ModelError) -> Option<ModelStatus> {
        let was_failing = self.failing.swap(true, Ordering::Relaxed);
        (!was_failing).then(|| ModelStatus::Error { message: error.to_string() })
    }

    /// A request succeeded: the status to report when the model was failing until now.
    pub(crate) fn generation_succeeded(&self) -> Option<ModelStatus> {
        let was_failing = self.failing.swap(false, Ordering::Relaxed);
        was_failing.then_some(ModelStatus::Ready { name: None })
    }
}

/// Watches a local model load, for a progress bar. `()` watches nothing.
pub trait LoadObserver: Send {
    /// Loading starts.
    fn begin(&mut self) -> impl Future<Output = ()> + Send;
    /// `percent` of the load is done.
    fn report(&mut self, percent: u32) -> impl Future<Output = ()> + Send;
    /// Loading ended; `message` says how.
    fn finish(self, message: String) -> impl Future<Output = ()> + Send;
}

impl LoadObserver for () {
    async fn begin(&mut self) {}
    async fn report(&mut self, _percent: u32) {}
    async fn finish(self, _message: String) {}
}

impl Engine {
    /// Loads the backend the settings choose and reports [`ModelStatus`] events: `Off`, or
    /// `Loading` then `Ready` or `Error`. The slot is set, and the edited documents predicted
    /// again, before `Ready` is reported: a client that asks again on `Ready` waits for those jobs.
    pub async fn load_model(&self, mut observer: impl LoadObserver) {
        let settings = self.settings();
        let configured = match backend_config(&settings) {
            Ok(Some(configured)) => configured,
            Ok(None) => {
                self.set_model(ModelSlot::Off);
                self.notify(EngineEvent::ModelStatus(ModelStatus::Off));
                return;
            }
            Err(error) => {
                let message = error.to_string();
                if settings.model.backend == crate::config::BackendKind::Openai {
                    self.tell_user(MessageLevel::Error, format!("nextedit: {message}"));
                }
                self.notify(EngineEvent::ModelStatus(ModelStatus::Error {
                    message: message.clone(),
                }));
                self.set_model(ModelSlot::Failed(message));
                return;
            }
        };
        let ConfiguredBackend { config, warnings } = configured;
        for warning in warnings {
            self.tell_user(MessageLevel::Warning, format!("nextedit: {warning}"));
        }
        let local = matches!(config, BackendConfig::Llama(_));
        self.set_model(ModelSlot::Loading);
        self.notify(EngineEvent::ModelStatus(ModelStatus::Loading));

        let (percent_sender, mut percent_receiver) = tokio::sync::watch::channel(0u32);
        let hooks = BackendHooks {
            on_progress: Some(Box::new(move |event| {
                let percent = match event {
                    LoadProgress::Loading(fraction) => (fraction * 90.0) as u32,
                    LoadProgress::CreatingContext => 95,
                    LoadProgress::Ready => 100,
                };
                percent_sender.send_replace(percent);
            })),
            on_supervisor_event: Some(Box::new(self.supervisor_listener())),
        };
        if local {
            observer.begin().await;
        }
        let loading = load_backend(ConfiguredBackend { config, warnings: Vec::new() }, hooks);
        tokio::pin!(loading);
        let result = loop {
            tokio::select! {
                result = &mut loading => break result,
                changed = percent_receiver.changed() => {
                    if changed.is_err() {
                        break loading.await;
                    }
                    let percent = *percent_receiver.borrow();
                    if local {
                        observer.report(percent).await;
                    }
                }
            }
        };
        match result {
            Ok(ready) => {
                let info = ready.backend.info();
                tracing::info!(
                    "model {} at {} loaded in {:?} ({} format, {} threads)",
                    info.name,
                    ready.location,
                    info.load_time,
                    info.format.as_str(),
                    info.threads
                );
                if local {
                    observer.finish(format!("{} ready", info.name)).await;
                }
                for warning in &ready.warnings {
                    self.tell_user(MessageLevel::Warning, format!("nextedit: {warning}"));
                }
                let name = (!local).then(|| format!("{} at {}", info.name, ready.location));
                self.set_model(ModelSlot::Ready(ready.backend));
                self.repredict_edited();
                self.notify(EngineEvent::ModelStatus(ModelStatus::Ready { name }));
            }
            Err(error) => {
                tracing::error!("{error}");
                if local {
                    observer.finish("failed".to_owned()).await;
                    self.tell_user(
                        MessageLevel::Error,
                        format!("nextedit: {error}. Next-edit suggestions from the model are off; renames and repeated edits still work"),
                    );
                } else {
                    self.tell_user(MessageLevel::Error, format!("nextedit: {error}"));
                }
                let message = error.to_string();
                self.notify(EngineEvent::ModelStatus(ModelStatus::Error {
                    message: message.clone(),
                }));
                self.set_model(ModelSlot::Failed(message));
            }
        }
    }

    /// The restart supervisor's events as status events. A restart predicts again for the edited
    /// documents. It holds the engine weakly: the supervisor lives inside the engine.
    fn supervisor_listener(&self) -> impl Fn(SupervisorEvent) + Send + Sync + 'static {
        let shared = Arc::downgrade(&self.shared);
        // The supervisor reports from its own thread, outside the runtime.
        let runtime = tokio::runtime::Handle::try_current().ok();
        move |event| {
            let Some(shared) = shared.upgrade() else { return };
            let engine = Engine { shared };
            match event {
                SupervisorEvent::Died { .. } | SupervisorEvent::RestartFailed { .. } => {
                    engine.notify(EngineEvent::ModelStatus(ModelStatus::Error {
                        message: ModelError::Restarting.to_string(),
                    }));
                }
                SupervisorEvent::Restarted { .. } => {
                    // Scheduling jobs needs the runtime.
                    let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
                    engine.repredict_edited();
                    engine.notify(EngineEvent::ModelStatus(ModelStatus::Ready { name: None }));
                }
            }
        }
    }

    fn tell_user(&self, level: MessageLevel, message: String) {
        self.notify(EngineEvent::UserMessage { level, message });
    }
}
