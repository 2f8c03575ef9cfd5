//! The embedded backend: llama.cpp through `llama-cpp-2`.
//!
//! A dedicated thread owns the model's context (one long-lived context, one sequence) and serves
//! jobs from a channel, one at a time. Async callers get a future that waits on a one-shot reply,
//! so they never block. The model itself is shared with the handle for tokenization, which
//! llama.cpp allows from any thread.
//!
//! Between requests the thread keeps the KV cache and a mirror of the tokens in it: a new prompt
//! keeps the longest common prefix and only the rest is evaluated. Gemma 3 uses sliding-window
//! attention, with which a partial cache removal silently gives wrong logits unless the context
//! keeps the full cache (`swa_full`), so it always does.
//!
//! If the thread dies (a panic), its channel closes: pending and later requests fail with
//! [`ModelError::BackendDead`] and [`ModelBackend::is_alive`] turns false; load the model again.
//!
//! The thread and everything that touches llama.cpp is in `model_thread`, behind the `llama` cargo
//! feature. Without it, the configuration and the loading functions still exist, and loading fails
//! with [`ModelError::NotBuilt`].

use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use super::decode::SpeculationPolicy;
use super::{LoadProgress, ModelBackend, ModelError};
use crate::engine::prompt::PromptFormatKind;

#[cfg(feature = "llama")]
mod model_thread;

#[cfg(feature = "llama")]
pub use self::model_thread::{llama_backend, load_llama_blocking, model_metadata};

#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub path: PathBuf,
    /// Threads for decoding and prompt processing. `None` and `Some(0)` both take half the
    /// available cores, rounded down and clamped to 1..=4 (see [`LlamaConfig::thread_count`]):
    /// llama.cpp's threads spin while they wait, and on a machine whose cores are busy (the
    /// editor, a build) more threads decode several times slower.
    pub threads: Option<usize>,
    /// Layers offloaded to a GPU (0 on CPU-only builds).
    pub gpu_layers: u32,
    /// Context window in tokens (prompt and output).
    pub context_size: usize,
    /// Tokens per prompt-processing batch.
    pub batch_size: usize,
    /// LoRA adapter GGUF files, applied with scale 1.
    pub lora: Vec<PathBuf>,
    /// The prompt format; `None` detects it from the model's metadata.
    pub format: Option<PromptFormatKind>,
    pub speculation: SpeculationPolicy,
}

impl LlamaConfig {
    pub fn new(path: impl Into<PathBuf>) -> LlamaConfig {
        LlamaConfig {
            path: path.into(),
            threads: None,
            gpu_layers: 0,
            context_size: 4096,
            batch_size: 512,
            lora: Vec::new(),
            format: None,
            speculation: SpeculationPolicy::default(),
        }
    }

    /// The threads llama.cpp gets: `threads` when it is above 0, else half the available cores
    /// (rounded down) clamped to 1..=4, and 1 when the core count is unknown.
    pub fn thread_count(&self) -> usize {
        self.threads.filter(|&threads| threads > 0).unwrap_or_else(|| {
            thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).clamp(1, 4))
        })
    }
}

/// A prompt that makes the model thread panic on purpose, so tests can check how callers see a dead
/// backend. No client can send it: a document with a NUL byte gets no predictions, and prompt
/// formats wrap the document text in their own markup.
pub const CRASH_PROMPT: &str = "\u{0}nextedit test: crash the model thread";

/// Loads a model on a new thread and waits for it without blocking the async runtime.
pub async fn load_llama(
    config: LlamaConfig,
    progress: impl Fn(LoadProgress) + Send + 'static,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    thread::Builder::new()
        .name("nextedit-model-load".to_owned())
        .spawn(move || {
            let _ = sender.send(load_llama_blocking(&config, progress));
        })
        .map_err(|error| ModelError::LoadFailed(format!("cannot start a thread: {error}")))?;
    receiver.await.unwrap_or(Err(ModelError::BackendDead))
}

/// Without the `llama` feature there is no llama.cpp to load a model with.
#[cfg(not(feature = "llama"))]
pub fn load_llama_blocking(
    _config: &LlamaConfig,
    _progress: impl Fn(LoadProgress) + Send + 'static,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    Err(ModelError::NotBuilt { feature: "llama", instead: "openai" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_takes_an_explicit_count_and_otherwise_half_the_cores_up_to_four() {
        let mut config = LlamaConfig::new("/models/x.gguf");
        config.threads = Some(3);
        assert_eq!(config.thread_count(), 3);
        config.threads = None;
        let automatic = config.thread_count();
        let cores = thread::available_parallelism().map_or(1, |cores| cores.get());
        assert!((1..=4).contains(&automatic) && automatic <= cores.max(1), "{automatic}");
        config.threads = Some(0);
        assert_eq!(config.thread_count(), automatic);
    }

    #[cfg(not(feature = "llama"))]
    #[test]
    fn loading_without_the_llama_feature_says_how_to_get_it() {
        let error = load_llama_blocking(&LlamaConfig::new("/models/x.gguf"), |_| {}).err();
        expect_test::expect![[r#"
            Some(
                "this nextedit was built without the llama feature; rebuild with default features or use model.backend = \"openai\"",
            )
        "#]]
        .assert_debug_eq(&error.map(|error| error.to_string()));
    }
}
