//! A backend that restarts its inner backend when it dies.
//!
//! The llama backend runs on a thread of its own; if that thread dies (a panic in llama.cpp's
//! wrapper, an abort caught as a panic), the handle turns dead and every later request fails. The
//! supervisor notices (a request answers [`ModelError::BackendDead`] or the backend says it is not
//! alive), and reloads the model on a thread of its own after a wait that doubles with each death
//! that follows another without a successful generation in between (1 s, 2 s, 4 s, ... capped at
//! 60 s by default). Until the new backend is ready, requests fail at once with
//! [`ModelError::Restarting`]; the engine reports that to the user once and goes on with the
//! symbolic engine.
//!
//! The supervisor itself always says it is alive: it never gives up.

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use super::{
    BoxFuture, ContinuationScore, Generation, GenerationRequest, ModelBackend, ModelError,
    ModelInfo, ScoreRequest,
};

/// Loads a fresh backend (blocking; the supervisor calls it on its own thread).
pub type BackendLoader = dyn Fn() -> Result<Arc<dyn ModelBackend>, ModelError> + Send + Sync;

/// How long to wait before a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const DEFAULT: Backoff =
        Backoff { first: Duration::from_secs(1), max: Duration::from_secs(60) };

    /// The wait before restart attempt `attempt` (zero-based): `first` doubled `attempt` times,
    /// at most `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.first.checked_mul(factor).map_or(self.max, |delay| delay.min(self.max))
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::DEFAULT
    }
}

/// What the supervisor did, for logs and status reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorEvent {
    /// The backend died; the first restart attempt follows after `retry_in`.
    Died { retry_in: Duration },
    /// A restart attempt failed; the next follows after `retry_in`.
    RestartFailed { error: ModelError, retry_in: Duration },
    /// A new backend serves requests. `restarts` counts the restarts so far.
    Restarted { restarts: u32 },
}

type Listener = dyn Fn(SupervisorEvent) + Send + Sync;

pub struct SupervisedBackend {
    shared: Arc<Shared>,
}

struct Shared {
    current: RwLock<Arc<dyn ModelBackend>>,
    state: Mutex<RestartState>,
    loader: Box<BackendLoader>,
    backoff: Backoff,
    listener: Box<Listener>,
}

#[derive(Debug, Default)]
struct RestartState {
    restarting: bool,
    /// Deaths since the last successful generation: the exponent of the next wait.
    deaths_without_success: u32,
    restarts: u32,
}

impl SupervisedBackend {
    pub fn new(
        backend: Arc<dyn ModelBackend>,
        loader: impl Fn() -> Result<Arc<dyn ModelBackend>, ModelError> + Send + Sync + 'static,
        backoff: Backoff,
        listener: impl Fn(SupervisorEvent) + Send + Sync + 'static,
    ) -> SupervisedBackend {
        SupervisedBackend {
            shared: Arc::new(Shared {
                current: RwLock::new(backend),
                state: Mutex::new(RestartState::default()),
                loader: Box::new(loader),
                backoff,
                listener: Box::new(listener),
            }),
        }
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u32 {
        self.shared.state().restarts
    }

    /// Whether a restart is under way.
    pub fn is_restarting(&self) -> bool {
        self.shared.state().restarting
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, RestartState> {
        crate::locks::lock(&self.state)
    }

    fn current(&self) -> Arc<dyn ModelBackend> {
        crate::locks::read(&self.current).clone()
    }

    /// `dead` died: starts a restart, unless one is under way or `dead` was already replaced.
    fn on_death(self: &Arc<Shared>, dead: &Arc<dyn ModelBackend>) {
        if !same_backend(&self.current(), dead) {
            return;
        }
        let attempt = {
            let mut state = self.state();
            if state.restarting {
                return;
            }
            state.restarting = true;
            let attempt = state.deaths_without_success;
            state.deaths_without_success += 1;
            attempt
        };
        let retry_in = self.backoff.delay(attempt);
        tracing::error!("the model backend died; restarting it in {retry_in:?}");
        (self.listener)(SupervisorEvent::Died { retry_in });
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("nextedit-model-restart".to_owned())
            .spawn(move || restart_loop(weak, attempt, retry_in));
        if let Err(error) = spawned {
            tracing::error!("cannot start the model restart thread: {error}");
            self.state().restarting = false;
        }
    }
}

/// Waits, reloads, and on failure waits longer, until a backend loads or the supervisor is gone.
fn restart_loop(shared: Weak<Shared>, mut attempt: u32, mut wait: Duration) {
    loop {
        std::thread::sleep(wait);
        let Some(shared) = shared.upgrade() else { return };
        match (shared.loader)() {
            Ok(backend) => {
                *crate::locks::write(&shared.current) = backend;
                let restarts = {
                    let mut state = shared.state();
                    state.restarting = false;
                    state.restarts += 1;
                    state.restarts
                };
                tracing::info!("the model backend was restarted ({restarts} restarts so far)");
                (shared.listener)(SupervisorEvent::Restarted { restarts });
                return;
            }
            Err(error) => {
                attempt = attempt.saturating_add(1);
                wait = shared.backoff.delay(attempt);
                tracing::error!(
                    "restarting the model backend failed: {error}; trying again in {wait:?}"
                );
                (shared.listener)(SupervisorEvent::RestartFailed { error, retry_in: wait });
            }
        }
    }
}

fn same_backend(a: &Arc<dyn ModelBackend>, b: &Arc<dyn ModelBackend>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

impl ModelBackend for SupervisedBackend {
    fn generate(&self, request: GenerationRequest) -> BoxFuture<Result<Generation, ModelError>> {
        let backend = self.shared.current();
        if self.shared.state().restarting {
            return Box::pin(async { Err(ModelError::Restarting) });
        }
        if !backend.is_alive() {
            self.shared.on_death(&backend);
            return Box::pin(async { Err(ModelError::Restarting) });
        }
        let shared = self.shared.clone();
        let generation = backend.generate(request);
        Box::pin(async move {
            match generation.await {
                Err(ModelError::BackendDead) => {
                    shared.on_death(&backend);
                    Err(ModelError::Restarting)
                }
                Ok(generation) => {
                    shared.state().deaths_without_success = 0;
                    Ok(generation)
                }
                Err(error) => Err(error),
            }
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.shared.current().count_tokens(text)
    }

    fn info(&self) -> ModelInfo {
        self.shared.current().info()
    }

    fn score(
        &self,
        request: ScoreRequest,
    ) -> BoxFuture<Result<Option<Vec<ContinuationScore>>, ModelError>> {
        if self.shared.state().restarting {
            return Box::pin(async { Err(ModelError::Restarting) });
        }
        self.shared.current().score(request)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::engine::model::ScriptedBackend;

    const BOUND: Duration = Duration::from_secs(30);

    fn block_on<T>(future: BoxFuture<T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    fn generate(backend: &dyn ModelBackend) -> Result<String, ModelError> {
        block_on(backend.generate(GenerationRequest::greedy("prompt", 10)))
            .map(|generation| generation.candidates[0].text.clone())
    }

    /// A supervisor over scripted backends that answer `"backend N"`; `fail_first` loads fail.
    struct Harness {
        supervisor: SupervisedBackend,
        backends: Arc<Mutex<Vec<Arc<ScriptedBackend>>>>,
        events: mpsc::Receiver<SupervisorEvent>,
    }

    fn harness(fail_first: u32) -> Harness {
        let backends: Arc<Mutex<Vec<Arc<ScriptedBackend>>>> = Arc::default();
        let make = {
            let backends = backends.clone();
            move || {
                let mut backends = backends.lock().unwrap();
                let name = format!("backend {}", backends.len());
                let backend = Arc::new(ScriptedBackend::from_fn(move |_| name.clone()));
                backends.push(backend.clone());
                backend
            }
        };
        let first = make();
        let loads = Mutex::new(0u32);
        let loader = move || {
            let mut loads = loads.lock().unwrap();
            *loads += 1;
            if *loads <= fail_first {
                return Err(ModelError::LoadFailed(format!("load {} failed", *loads)));
            }
            Ok(make() as Arc<dyn ModelBackend>)
        };
        let (sender, events) = mpsc::channel();
        let sender = Mutex::new(sender);
        let backoff = Backoff { first: Duration::from_millis(1), max: Duration::from_millis(8) };
        let supervisor = SupervisedBackend::new(first, loader, backoff, move |event| {
            let _ = sender.lock().unwrap().send(event);
        });
        Harness { supervisor, backends, events }
    }

    impl Harness {
        fn kill(&self, index: usize) {
            self.backends.lock().unwrap()[index].kill();
        }

        fn next_event(&self) -> SupervisorEvent {
            self.events.recv_timeout(BOUND).expect("a supervisor event")
        }
    }

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let delays: Vec<u64> =
            (0..9).map(|attempt| Backoff::DEFAULT.delay(attempt).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(Backoff::DEFAULT.delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn a_dead_backend_is_restarted_and_serves_again() {
        let harness = harness(0);
        assert_eq!(generate(&harness.supervisor), Ok("backend 0".to_owned()));
        harness.kill(0);
        // The request that finds the backend dead fails, and so do requests during the restart.
        assert_eq!(generate(&harness.supervisor), Err(ModelError::Restarting));
        assert_eq!(harness.next_event(), SupervisorEvent::Died { retry_in: ms(1) });
        assert_eq!(harness.next_event(), SupervisorEvent::Restarted { restarts: 1 });
        assert!(harness.supervisor.is_alive());
        assert_eq!(generate(&harness.supervisor), Ok("backend 1".to_owned()));
        assert_eq!(harness.supervisor.restarts(), 1);
        assert_eq!(harness.supervisor.info().backend, "scripted");
    }

    #[test]
    fn failed_restarts_wait_longer_each_time() {
        let harness = harness(4);
        harness.kill(0);
        assert_eq!(generate(&harness.supervisor), Err(ModelError::Restarting));
        let events: Vec<SupervisorEvent> = (0..6).map(|_| harness.next_event()).collect();
        let failed = |load: u32, retry_in: u64| SupervisorEvent::RestartFailed {
            error: ModelError::LoadFailed(format!("load {load} failed")),
            retry_in: ms(retry_in),
        };
        assert_eq!(
            events,
            [
                SupervisorEvent::Died { retry_in: ms(1) },
                failed(1, 2),
                failed(2, 4),
                failed(3, 8),
                failed(4, 8),
                SupervisorEvent::Restarted { restarts: 1 },
            ]
        );
        assert_eq!(generate(&harness.supervisor), Ok("backend 1".to_owned()));
    }

    #[test]
    fn a_backend_that_keeps_dying_waits_longer_until_it_serves() {
        let harness = harness(0);
        harness.kill(0);
        assert_eq!(generate(&harness.supervisor), Err(ModelError::Restarting));
        assert_eq!(harness.next_event(), SupervisorEvent::Died { retry_in: ms(1) });
        assert_eq!(harness.next_event(), SupervisorEvent::Restarted { restarts: 1 });
        // The new backend dies before it served anything: the wait doubles.
        harness.kill(1);
        assert_eq!(generate(&harness.supervisor), Err(ModelError::Restarting));
        assert_eq!(harness.next_event(), SupervisorEvent::Died { retry_in: ms(2) });
        assert_eq!(harness.next_event(), SupervisorEvent::Restarted { restarts: 2 });
        // After a successful generation the next death waits the first delay again.
        assert_eq!(generate(&harness.supervisor), Ok("backend 2".to_owned()));
        harness.kill(2);
        assert_eq!(generate(&harness.supervisor), Err(ModelError::Restarting));
        assert_eq!(harness.next_event(), SupervisorEvent::Died { retry_in: ms(1) });
        assert_eq!(harness.next_event(), SupervisorEvent::Restarted { restarts: 3 });
        assert_eq!(generate(&harness.supervisor), Ok("backend 3".to_owned()));
    }

    #[test]
    fn many_requests_to_a_dead_backend_start_one_restart() {
        let harness = harness(0);
        harness.kill(0);
        for _ in 0..3 {
            let _ = generate(&harness.supervisor);
        }
        assert_eq!(harness.next_event(), SupervisorEvent::Died { retry_in: ms(1) });
        assert_eq!(harness.next_event(), SupervisorEvent::Restarted { restarts: 1 });
        assert_eq!(generate(&harness.supervisor), Ok("backend 1".to_owned()));
        assert!(harness.events.try_recv().is_err(), "exactly one restart");
        assert_eq!(harness.backends.lock().unwrap().len(), 2);
    }
}
