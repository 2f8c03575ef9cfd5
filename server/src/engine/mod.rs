//! Prediction: context -> prompt -> model -> parse -> diff -> validate -> rank, plus the symbolic
//! engine. Pure with respect to LSP: it takes plain structs, URIs as strings and byte offsets.
//!
//! Scheduling: every document change bumps that document's generation and cancels its running
//! job. A new job runs the symbolic engine at once, then, after the debounce, the model. A result
//! is kept only if its generation is still current, so a late result for an old version is
//! dropped. Requests wait on a `watch` channel for the job of the version they ask about.

pub mod context;
pub mod diff;
pub mod documents;
pub mod model;
pub mod prompt;
pub mod suggestion;
pub mod symbolic;
pub mod validate;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::Settings;
use crate::text::{HistoryConfig, PositionEncoding, TextChange};
use documents::{ChangeOutcome, DocumentSnapshot, Documents, SyncError};
use suggestion::{Proposal, Suggestion, fingerprint};
use validate::CheckInput;

pub use model::CancelFlag;

/// Something the delivery layer may want to know about.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// The best suggestion for a document changed (or went away).
    SuggestionChanged { uri: String, suggestion: Option<Suggestion> },
    /// A prediction failed in a way the user should hear about once.
    Problem { message: String },
    /// The model went from working to failing (`"error"`, with why) or back (`"ready"`): an
    /// inference server that went away and came back.
    ModelHealth { state: &'static str, message: Option<String> },
}

/// Why a request for a suggestion has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    UnknownDocument,
    /// The document changed since the version the request names.
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JobStatus {
    version: i32,
    done: bool,
}

struct DocumentJobs {
    generation: u64,
    cancel: CancelFlag,
    status: watch::Sender<JobStatus>,
    best: Option<Suggestion>,
}

impl DocumentJobs {
    /// No job yet; the flag belongs to no job, so cancelling it harms nothing.
    fn new(version: i32) -> DocumentJobs {
        DocumentJobs {
            generation: 0,
            cancel: CancelFlag::new(),
            status: watch::channel(JobStatus { version, done: false }).0,
            best: None,
        }
    }
}

type Listener = Box<dyn Fn(EngineEvent) + Send + Sync>;

/// The model engine's state.
#[derive(Clone)]
pub enum ModelSlot {
    /// No model is configured (`model.backend = "none"`).
    Off,
    Loading,
    Ready(Arc<dyn model::ModelBackend>),
    /// Loading failed or the backend died; the message says why.
    Failed(String),
}

impl ModelSlot {
    pub fn state_name(&self) -> &'static str {
        match self {
            ModelSlot::Off => "off",
            ModelSlot::Loading => "loading",
            ModelSlot::Ready(_) => "ready",
            ModelSlot::Failed(_) => "error",
        }
    }
}

struct Shared {
    documents: Mutex<Documents>,
    settings: RwLock<Settings>,
    jobs: Mutex<HashMap<String, DocumentJobs>>,
    rejected: Mutex<HashSet<String>>,
    next_id: AtomicU64,
    listener: RwLock<Option<Listener>>,
    model: RwLock<ModelSlot>,
    /// The statistics of the newest model generation, for benchmarks and logs.
    last_generation: Mutex<Option<model::GenerationStats>>,
    accepted: AtomicU64,
    shown: AtomicU64,
    /// The newest model request failed (a remote server is down); cleared by the next success.
    model_failing: AtomicBool,
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
                jobs: Mutex::new(HashMap::new()),
                rejected: Mutex::new(HashSet::new()),
                next_id: AtomicU64::new(1),
                listener: RwLock::new(None),
                model: RwLock::new(ModelSlot::Off),
                last_generation: Mutex::new(None),
                accepted: AtomicU64::new(0),
                shown: AtomicU64::new(0),
                model_failing: AtomicBool::new(false),
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

    pub fn model(&self) -> ModelSlot {
        read(&self.shared.model).clone()
    }

    /// The statistics of the newest model generation.
    pub fn last_generation(&self) -> Option<model::GenerationStats> {
        lock(&self.shared.last_generation).clone()
    }

    pub fn set_model(&self, slot: ModelSlot) {
        *write(&self.shared.model) = slot;
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
        if let Some(jobs) = lock(&self.shared.jobs).remove(uri) {
            jobs.cancel.cancel();
        }
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
        match lock(&self.shared.documents).apply_changes(
            uri,
            version,
            changes,
            encoding,
            Instant::now(),
        )? {
            ChangeOutcome::Applied { version } => self.schedule(uri, version),
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
                engine.schedule(&uri, version);
            }
        };
        spawn_on_runtime(task, "release held changes");
    }

    fn cancel_job(&self, uri: &str) {
        if let Some(jobs) = lock(&self.shared.jobs).get_mut(uri) {
            jobs.generation += 1;
            jobs.cancel.cancel();
            jobs.best = None;
        }
    }

    /// Starts a prediction job for `version`, cancelling the previous one.
    fn schedule(&self, uri: &str, version: i32) {
        let cancel: CancelFlag = CancelFlag::new();
        let generation = {
            let mut jobs = lock(&self.shared.jobs);
            let entry = jobs.entry(uri.to_owned()).or_insert_with(|| DocumentJobs::new(version));
            entry.generation += 1;
            // Cancel the previous job (a fresh entry's flag belongs to no job).
            entry.cancel.cancel();
            entry.cancel = cancel.clone();
            let had_suggestion = entry.best.take().is_some();
            entry.status.send_replace(JobStatus { version, done: false });
            if had_suggestion {
                self.notify(EngineEvent::SuggestionChanged {
                    uri: uri.to_owned(),
                    suggestion: None,
                });
            }
            entry.generation
        };
        let engine = self.clone();
        let uri = uri.to_owned();
        let task = async move {
            let proposal = engine.run_job_caught(&uri, version, None, cancel, true).await;
            engine.finish_job(&uri, version, generation, proposal);
        };
        spawn_on_runtime(task, "run predictions");
    }

    /// [`Engine::run_job`] in a task of its own, so that a panic inside it is caught and reported
    /// here, and the requests waiting for the job still get their answer.
    async fn run_job_caught(
        &self,
        uri: &str,
        version: i32,
        cursor: Option<usize>,
        cancel: CancelFlag,
        debounce: bool,
    ) -> Option<(Proposal, DocumentSnapshot)> {
        let engine = self.clone();
        let uri = uri.to_owned();
        let job =
            tokio::spawn(
                async move { engine.run_job(&uri, version, cursor, &cancel, debounce).await },
            );
        job.await.unwrap_or_else(|error| {
            tracing::error!("prediction job failed: {error}");
            None
        })
    }

    /// The whole pipeline for one version of one document.
    async fn run_job(
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
        let mut snapshot = lock(&self.shared.documents).snapshot(uri)?;
        snapshot.cursor = cursor;
        if snapshot.version != version
            || self.with_documents(|d| d.get(uri).is_some_and(|open| open.unpredictable.is_some()))
        {
            return None;
        }
        let settings = self.settings();
        if !language_enabled(&settings, &snapshot) {
            return None;
        }
        let mut candidates = Vec::new();
        if settings.symbolic.enabled {
            let started = Instant::now();
            let symbolic = self.symbolic_proposals(&snapshot);
            tracing::debug!(elapsed = ?started.elapsed(), count = symbolic.len(), "symbolic engine");
            candidates
                .extend(symbolic.into_iter().filter(|p| p.score >= settings.symbolic.min_score));
        }
        let symbolic_wins =
            candidates.iter().any(|p| p.score >= settings.symbolic.prefer_over_model);
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
            candidates.extend(self.model_proposals(&snapshot, &settings, cancel).await);
        }
        let best = self.rank_and_check(&snapshot, candidates);
        best.map(|proposal| (proposal, snapshot))
    }

    /// Symbolic proposals (rename propagation, repeated edits).
    fn symbolic_proposals(&self, snapshot: &DocumentSnapshot) -> Vec<Proposal> {
        symbolic::propose(snapshot)
    }

    /// Model proposals: context -> prompt -> model -> parse -> diff -> checks.
    async fn model_proposals(
        &self,
        snapshot: &DocumentSnapshot,
        settings: &Settings,
        cancel: &CancelFlag,
    ) -> Vec<Proposal> {
        let ModelSlot::Ready(backend) = self.model() else { return Vec::new() };
        if snapshot.history.last().is_none() {
            // Nothing to go on before the user's first edit.
            return Vec::new();
        }
        if !backend.is_alive() {
            let message = model::ModelError::BackendDead.to_string();
            self.set_model(ModelSlot::Failed(message.clone()));
            self.notify(EngineEvent::Problem { message: format!("nextedit: {message}") });
            return Vec::new();
        }
        let Some(request) = self.model_request(snapshot, settings, backend.as_ref(), cancel) else {
            return Vec::new();
        };
        let (format, built, context_text, request) = request;
        let generation = match backend.generate(request).await {
            Ok(generation) => generation,
            Err(error) => {
                tracing::warn!("model generation failed: {error}");
                self.notify(EngineEvent::Problem { message: format!("nextedit: {error}") });
                if !self.shared.model_failing.swap(true, Ordering::Relaxed) {
                    self.notify(EngineEvent::ModelHealth {
                        state: "error",
                        message: Some(error.to_string()),
                    });
                }
                return Vec::new();
            }
        };
        if !generation.stats.cancelled && self.shared.model_failing.swap(false, Ordering::Relaxed) {
            tracing::info!("the model answers again");
            self.notify(EngineEvent::ModelHealth { state: "ready", message: None });
        }
        if generation.stats.cancelled || cancel.is_cancelled() {
            return Vec::new();
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
        for candidate in generation.candidates {
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
                tracing::debug!("model proposal dropped: {}", rejection.as_str());
                continue;
            }
            let score = candidate.mean_logprob.exp().clamp(0.0, 1.0);
            proposals.push(Proposal {
                edits,
                cursor_after: None,
                source: suggestion::SuggestionSource::Model,
                score,
                group: Vec::new(),
            });
        }
        proposals
    }

    /// Builds the generation request for a snapshot, or `None` when there is nothing to ask.
    #[allow(clippy::type_complexity)]
    fn model_request(
        &self,
        snapshot: &DocumentSnapshot,
        settings: &Settings,
        backend: &dyn model::ModelBackend,
        cancel: &CancelFlag,
    ) -> Option<(
        Box<dyn prompt::PromptFormat + Send + Sync>,
        prompt::BuiltPrompt,
        String,
        model::GenerationRequest,
    )> {
        let count_tokens = |text: &str| backend.count_tokens(text);
        let path = display_path(&snapshot.uri);
        // Other files' recent edits, as history and as snippets of where they happened.
        let (other_events, related) = self.with_documents(|documents| {
            let recent: Vec<_> = documents
                .recent_events(8)
                .into_iter()
                .filter(|(uri, _)| *uri != snapshot.uri)
                .collect();
            let events: Vec<context::HistoryEvent> = recent
                .iter()
                .map(|(uri, event)| context::HistoryEvent {
                    path: display_path(uri),
                    old_text: event.old_text(),
                    new_text: event.new_text(),
                    unified_diff: event.unified_diff(2, Duration::from_millis(20)),
                })
                .collect();
            let mut related: Vec<context::RelatedSnippet> = Vec::new();
            for (uri, event) in recent.iter().rev() {
                let path = display_path(uri);
                if related.len() < 2 && !related.iter().any(|snippet| snippet.path == path) {
                    related.push(context::RelatedSnippet {
                        path,
                        text: event.new_text_with_context(4),
                    });
                }
            }
            (events, related)
        });
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
        let format = prompt::format_for(info.format, &prompt::ModelMetadata::default());
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
        Some((format, built, ctx.text, request))
    }

    /// Drops proposals that fail the checks or were rejected, and returns the best of the rest.
    fn rank_and_check(
        &self,
        snapshot: &DocumentSnapshot,
        mut candidates: Vec<Proposal>,
    ) -> Option<Proposal> {
        let text = snapshot.rope.to_string();
        candidates.sort_by(|a, b| {
            rank_key(b).partial_cmp(&rank_key(a)).unwrap_or(std::cmp::Ordering::Equal)
        });
        let rejected = lock(&self.shared.rejected).clone();
        let input = CheckInput {
            text: &text,
            tree: snapshot.tree.as_ref(),
            language: snapshot.language,
            last_event: snapshot.history.last(),
            region: None,
        };
        for proposal in &mut candidates {
            proposal.edits = suggestion::minimize_edits(&text, &proposal.edits);
            proposal.group = suggestion::minimize_edits(&text, &proposal.group);
        }
        candidates.into_iter().find(|proposal| {
            if rejected.contains(&rejection_key(&snapshot.uri, &text, &proposal.edits)) {
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
        })
    }

    fn finish_job(
        &self,
        uri: &str,
        version: i32,
        generation: u64,
        result: Option<(Proposal, DocumentSnapshot)>,
    ) {
        let suggestion = {
            let mut jobs = lock(&self.shared.jobs);
            let Some(entry) = jobs.get_mut(uri) else { return };
            if entry.generation != generation {
                // A newer change superseded this job; its own job reports.
                return;
            }
            let suggestion = result.map(|(proposal, _)| Suggestion {
                id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
                uri: uri.to_owned(),
                version,
                proposal,
            });
            entry.best = suggestion.clone();
            entry.status.send_replace(JobStatus { version, done: true });
            suggestion
        };
        if suggestion.is_some() {
            self.notify(EngineEvent::SuggestionChanged { uri: uri.to_owned(), suggestion });
        }
    }

    /// The suggestion for `version` of `uri` (the current version when `None`), waiting up to
    /// `timeout` for a running job.
    pub async fn suggestion(
        &self,
        uri: &str,
        version: Option<i32>,
        timeout: Duration,
    ) -> Result<Option<Suggestion>, RequestError> {
        self.release_held_now(uri);
        let current =
            self.with_documents(|documents| documents.get(uri).map(|open| open.document.version));
        let Some(current) = current else { return Err(RequestError::UnknownDocument) };
        let version = version.unwrap_or(current);
        if version < current {
            return Err(RequestError::Stale);
        }
        let receiver = {
            let jobs = lock(&self.shared.jobs);
            match jobs.get(uri) {
                Some(entry) => entry.status.subscribe(),
                None => return Ok(None),
            }
        };
        let mut receiver = receiver;
        let wait = receiver.wait_for(|status| status.done || status.version > version);
        let _ = tokio::time::timeout(timeout, wait).await;
        let now =
            self.with_documents(|documents| documents.get(uri).map(|open| open.document.version));
        if now != Some(version) {
            return Err(RequestError::Stale);
        }
        let jobs = lock(&self.shared.jobs);
        Ok(jobs
            .get(uri)
            .and_then(|entry| entry.best.clone())
            .filter(|suggestion| suggestion.version == version))
    }

    /// Runs a prediction now, without the debounce, and returns it. `cursor` is a byte offset.
    pub async fn predict_now(
        &self,
        uri: &str,
        cursor: Option<usize>,
    ) -> Result<Option<Suggestion>, RequestError> {
        self.release_held_now(uri);
        let version = self
            .with_documents(|documents| documents.get(uri).map(|open| open.document.version))
            .ok_or(RequestError::UnknownDocument)?;
        let generation = {
            let mut jobs = lock(&self.shared.jobs);
            let entry = jobs.entry(uri.to_owned()).or_insert_with(|| DocumentJobs::new(version));
            if cursor.is_none() && entry.best.as_ref().is_some_and(|best| best.version == version) {
                return Ok(entry.best.clone());
            }
            entry.generation += 1;
            entry.cancel.cancel();
            entry.cancel = CancelFlag::new();
            entry.status.send_replace(JobStatus { version, done: false });
            (entry.generation, entry.cancel.clone())
        };
        let result = self.run_job_caught(uri, version, cursor, generation.1.clone(), false).await;
        self.finish_job(uri, version, generation.0, result);
        self.suggestion(uri, Some(version), Duration::ZERO).await
    }

    /// Finds a current suggestion by id.
    pub fn suggestion_by_id(&self, id: u64) -> Option<Suggestion> {
        lock(&self.shared.jobs).values().find_map(|entry| entry.best.clone().filter(|s| s.id == id))
    }

    /// The user accepted a suggestion. The edit itself arrives as a `didChange`, which chains the
    /// next prediction.
    pub fn accept(&self, id: u64) -> bool {
        self.shared.accepted.fetch_add(1, Ordering::Relaxed);
        let Some(suggestion) = self.suggestion_by_id(id) else { return false };
        // The user's next edit starts a new history event instead of joining the accepted one.
        lock(&self.shared.documents).seal_history(&suggestion.uri);
        true
    }

    /// The user rejected a suggestion: it is not offered again.
    pub fn reject(&self, id: u64) -> bool {
        let Some(suggestion) = self.suggestion_by_id(id) else { return false };
        let text = self.with_documents(|documents| {
            documents.get(&suggestion.uri).map(|open| open.document.text())
        });
        if let Some(text) = text {
            lock(&self.shared.rejected).insert(rejection_key(
                &suggestion.uri,
                &text,
                suggestion.edits(),
            ));
        }
        let mut jobs = lock(&self.shared.jobs);
        if let Some(entry) = jobs.get_mut(&suggestion.uri) {
            entry.best = None;
        }
        drop(jobs);
        self.notify(EngineEvent::SuggestionChanged { uri: suggestion.uri, suggestion: None });
        true
    }

    pub fn shown(&self, _id: u64) {
        self.shared.shown.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> (u64, u64) {
        (self.shared.shown.load(Ordering::Relaxed), self.shared.accepted.load(Ordering::Relaxed))
    }

    fn notify(&self, event: EngineEvent) {
        if let Some(listener) = read(&self.shared.listener).as_ref() {
            listener(event);
        }
    }
}

/// The llama backend's configuration from the settings. The second value is a warning for an
/// unknown `model.format` (which falls back to detection).
pub fn llama_config(settings: &Settings) -> Result<(model::LlamaConfig, Option<String>), String> {
    let path = settings
        .model
        .path
        .clone()
        .map(std::path::PathBuf::from)
        .or_else(model::default_model_path)
        .ok_or(
            "no model.path is set and no cache directory is known (set HOME or XDG_CACHE_HOME)",
        )?;
    let (format, warning) = format_setting(&settings.model.format);
    let config = model::LlamaConfig {
        threads: settings.model.threads.map(|threads| threads.max(1) as usize),
        gpu_layers: settings.model.gpu_layers,
        context_size: settings.model.context_size as usize,
        lora: settings.model.lora.iter().map(std::path::PathBuf::from).collect(),
        format,
        ..model::LlamaConfig::new(path)
    };
    Ok((config, warning))
}

/// The remote backend's configuration from the settings. The second value is a warning (an unknown
/// `model.format`, or an API key variable that is not set).
pub fn openai_config(settings: &Settings) -> Result<(model::OpenAiConfig, Option<String>), String> {
    let openai = &settings.openai;
    let endpoint = openai
        .endpoint
        .clone()
        .filter(|endpoint| !endpoint.trim().is_empty())
        .ok_or("model.backend is \"openai\" but openai.endpoint is not set (in the user config or initializationOptions)")?;
    let mut warnings = Vec::new();
    let (format, format_warning) = format_setting(&settings.model.format);
    warnings.extend(format_warning);
    let api_key = match openai.api_key_env.as_deref().filter(|name| !name.is_empty()) {
        None => None,
        Some(name) => match std::env::var(name) {
            Ok(key) if !key.is_empty() => Some(model::ApiKey::new(key)),
            _ => {
                warnings.push(format!("the environment variable {name} (openai.api_key_env) is not set; requests go without an API key"));
                None
            }
        },
    };
    let config = model::OpenAiConfig {
        model: openai.model.clone().filter(|model| !model.is_empty()),
        api_key,
        format,
        chat: openai.chat,
        context_size: settings.model.context_size as usize,
        connect_timeout: Duration::from_millis(openai.connect_timeout_ms.max(1)),
        timeout: Duration::from_millis(openai.timeout_ms.max(1)),
        retries: openai.retries.min(10),
        max_in_flight: openai.max_in_flight.max(1) as usize,
        hints: openai.hints,
        ca_file: openai
            .ca_file
            .clone()
            .filter(|path| !path.is_empty())
            .map(std::path::PathBuf::from),
        ..model::OpenAiConfig::new(endpoint)
    };
    Ok((config, (!warnings.is_empty()).then(|| warnings.join("; "))))
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

/// `model.format` as a format, or `None` for detection; the warning names an unknown format.
fn format_setting(format: &str) -> (Option<prompt::PromptFormatKind>, Option<String>) {
    match format {
        "auto" | "" => (None, None),
        name => match name.parse::<prompt::PromptFormatKind>() {
            Ok(kind) => (Some(kind), None),
            Err(_) => (
                None,
                Some(format!("unknown model.format `{name}`, detecting it from the model instead")),
            ),
        },
    }
}

/// A path for prompts: the file name part of a URI's path, percent-encoding left as is.
pub fn display_path(uri: &str) -> String {
    let path = documents::uri_path(uri);
    path.rsplit('/').next().filter(|name| !name.is_empty()).unwrap_or(path).to_owned()
}

/// Rejections are remembered per document: the same change may be right in another file.
fn rejection_key(uri: &str, text: &str, edits: &[crate::text::TextEdit]) -> String {
    format!("{uri}\u{0}{}", fingerprint(text, edits))
}

fn rank_key(proposal: &Proposal) -> (u8, f32, i64) {
    let source_rank = match proposal.source {
        suggestion::SuggestionSource::Rename => 2,
        suggestion::SuggestionSource::Repeat => 1,
        suggestion::SuggestionSource::Model => 0,
    };
    // On a tie, the smaller change first.
    let size: usize =
        proposal.edits.iter().map(|edit| edit.range.len() + edit.new_text.len()).sum();
    (source_rank, proposal.score, -(size as i64))
}

fn language_enabled(settings: &Settings, snapshot: &DocumentSnapshot) -> bool {
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

/// Locks a mutex, recovering from poisoning: a panic in one job must not take the server down.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}
