//! One prediction job per document. Every document change bumps that document's job epoch and
//! cancels its running job (in the style of helix-event's `TaskHandle`: an epoch plus a cancel
//! token). A new job runs the symbolic engine at once, then, after the debounce, the model. A
//! result is kept only if its epoch is still current, so a late result for an old version is
//! dropped. Requests wait on a `watch` channel for the job of the version they ask about.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use super::documents::DocumentSnapshot;
use super::suggestion::{Proposal, Suggestion};
use super::{CancelFlag, Engine, EngineEvent, RequestError, spawn_on_runtime};
use crate::locks::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JobStatus {
    version: i32,
    done: bool,
}

/// The job state of one document.
struct DocumentJobs {
    /// Bumped by every change; a job may only store its result while its epoch is current.
    job_epoch: u64,
    cancel: CancelFlag,
    status: watch::Sender<JobStatus>,
    best: Option<Suggestion>,
}

impl DocumentJobs {
    /// No job yet; the token belongs to no job, so cancelling it harms nothing.
    fn new(version: i32) -> DocumentJobs {
        DocumentJobs {
            job_epoch: 0,
            cancel: CancelFlag::new(),
            status: watch::channel(JobStatus { version, done: false }).0,
            best: None,
        }
    }

    /// Starts a new epoch for a job on `version`: the previous job is cancelled and its
    /// suggestion dropped. Returns the epoch, the new job's cancel token, and whether a
    /// suggestion went away.
    fn start(&mut self, version: i32) -> StartedJob {
        self.job_epoch += 1;
        self.cancel.cancel();
        self.cancel = CancelFlag::new();
        self.status.send_replace(JobStatus { version, done: false });
        let dropped_suggestion = self.best.take().is_some();
        StartedJob { job_epoch: self.job_epoch, cancel: self.cancel.clone(), dropped_suggestion }
    }
}

struct StartedJob {
    job_epoch: u64,
    cancel: CancelFlag,
    dropped_suggestion: bool,
}

/// The jobs of all documents.
#[derive(Default)]
pub(super) struct Jobs {
    documents: HashMap<String, DocumentJobs>,
}

impl Jobs {
    /// The current suggestion with this id, in any document.
    pub(super) fn suggestion_by_id(&self, id: u64) -> Option<Suggestion> {
        self.documents.values().find_map(|entry| entry.best.clone().filter(|s| s.id == id))
    }

    /// Drops the suggestion of `uri`; true when there was one.
    pub(super) fn clear_suggestion(&mut self, uri: &str) -> bool {
        self.documents.get_mut(uri).is_some_and(|entry| entry.best.take().is_some())
    }
}

impl Engine {
    /// Cancels the job of `uri` and forgets its suggestion (the document was reopened).
    pub(super) fn cancel_job(&self, uri: &str) {
        if let Some(jobs) = lock(&self.shared.jobs).documents.get_mut(uri) {
            jobs.job_epoch += 1;
            jobs.cancel.cancel();
            jobs.best = None;
        }
    }

    /// Cancels the job of `uri` and forgets it (the document was closed).
    pub(super) fn remove_jobs(&self, uri: &str) {
        let removed = lock(&self.shared.jobs).documents.remove(uri);
        if let Some(jobs) = removed {
            jobs.cancel.cancel();
        }
    }

    /// Starts a prediction job for `version`, cancelling the previous one.
    pub(super) fn schedule(&self, uri: &str, version: i32) {
        let StartedJob { job_epoch, cancel, dropped_suggestion } = lock(&self.shared.jobs)
            .documents
            .entry(uri.to_owned())
            .or_insert_with(|| DocumentJobs::new(version))
            .start(version);
        if dropped_suggestion {
            self.notify(EngineEvent::SuggestionChanged { uri: uri.to_owned(), suggestion: None });
        }
        let engine = self.clone();
        let uri = uri.to_owned();
        let task = async move {
            let proposal = engine.run_job_caught(&uri, version, None, cancel, true).await;
            engine.finish_job(&uri, version, job_epoch, proposal);
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

    /// Stores the result of the job of `job_epoch`, unless a newer change superseded it.
    pub(super) fn finish_job(
        &self,
        uri: &str,
        version: i32,
        job_epoch: u64,
        result: Option<(Proposal, DocumentSnapshot)>,
    ) {
        let suggestion = {
            let mut jobs = lock(&self.shared.jobs);
            let Some(entry) = jobs.documents.get_mut(uri) else { return };
            if entry.job_epoch != job_epoch {
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

    fn current_version(&self, uri: &str) -> Option<i32> {
        self.with_documents(|documents| documents.get(uri).map(|open| open.document.version))
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
        let Some(current) = self.current_version(uri) else {
            return Err(RequestError::UnknownDocument);
        };
        let version = version.unwrap_or(current);
        if version < current {
            return Err(RequestError::Stale);
        }
        let receiver =
            lock(&self.shared.jobs).documents.get(uri).map(|entry| entry.status.subscribe());
        let Some(mut receiver) = receiver else { return Ok(None) };
        let wait = receiver.wait_for(|status| status.done || status.version > version);
        let _ = tokio::time::timeout(timeout, wait).await;
        if self.current_version(uri) != Some(version) {
            return Err(RequestError::Stale);
        }
        let best = lock(&self.shared.jobs).documents.get(uri).and_then(|entry| entry.best.clone());
        Ok(best.filter(|suggestion| suggestion.version == version))
    }

    /// Runs a prediction now, without the debounce, and returns it. `cursor` is a byte offset.
    pub async fn predict_now(
        &self,
        uri: &str,
        cursor: Option<usize>,
    ) -> Result<Option<Suggestion>, RequestError> {
        self.release_held_now(uri);
        let version = self.current_version(uri).ok_or(RequestError::UnknownDocument)?;
        let started = {
            let mut jobs = lock(&self.shared.jobs);
            let entry =
                jobs.documents.entry(uri.to_owned()).or_insert_with(|| DocumentJobs::new(version));
            if cursor.is_none() && entry.best.as_ref().is_some_and(|best| best.version == version) {
                return Ok(entry.best.clone());
            }
            // The current suggestion stays until the new job replaces it.
            let best = entry.best.take();
            let started = entry.start(version);
            entry.best = best;
            started
        };
        let StartedJob { job_epoch, cancel, .. } = started;
        let result = self.run_job_caught(uri, version, cursor, cancel, false).await;
        self.finish_job(uri, version, job_epoch, result);
        self.suggestion(uri, Some(version), Duration::ZERO).await
    }

    /// Finds a current suggestion by id.
    pub fn suggestion_by_id(&self, id: u64) -> Option<Suggestion> {
        lock(&self.shared.jobs).suggestion_by_id(id)
    }
}

#[cfg(test)]
impl Engine {
    /// The epoch and cancel token of the newest job of `uri`.
    pub(super) fn current_job(&self, uri: &str) -> Option<(u64, CancelFlag)> {
        lock(&self.shared.jobs)
            .documents
            .get(uri)
            .map(|entry| (entry.job_epoch, entry.cancel.clone()))
    }
}
