//! Model backends: a trait for "generate text from a prompt" and its implementations.
//!
//! - [`llama`]: llama.cpp through `llama-cpp-2`, on a dedicated thread that owns the model and one
//!   long-lived context, with KV cache prefix reuse, prompt-lookup speculation, resynchronisation
//!   and cooperative cancellation. Behind the `llama` cargo feature (on by default).
//! - [`openai`]: any OpenAI-compatible inference server, streamed over HTTP. Behind the `openai`
//!   cargo feature (on by default).
//! - [`scripted`]: canned outputs for deterministic unit tests of the pipeline.
//!
//! Async code talks to a backend through [`ModelBackend::generate`], which returns a future that
//! never blocks the executor.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use crate::engine::prompt::PromptFormatKind;

pub mod catalog;
pub mod config;
pub mod decode;
pub mod gguf;
pub mod llama;
pub mod manager;
pub mod openai;
pub mod scripted;
pub mod supervisor;
pub mod synthetic;

#[cfg(feature = "llama")]
pub use llama::llama_backend;
pub use llama::{LlamaConfig, load_llama, load_llama_blocking};
pub use openai::{ApiKey, OpenAiBackend, OpenAiConfig, load_openai};
pub use scripted::ScriptedBackend;
pub use supervisor::{Backoff, SupervisedBackend, SupervisorEvent};

/// Cancelled by a newer edit to the same document: the decode loop checks it between batches,
/// and async code awaits `cancelled()`.
pub type CancelFlag = tokio_util::sync::CancellationToken;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The file name of the default test model in the model cache directory.
pub const DEFAULT_MODEL_FILE_NAME: &str = "gemma-3-270m-q4_k_m.gguf";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// 0 means greedy decoding (the default); top-k and top-p are ignored then.
    pub temperature: f32,
    /// 0 disables top-k.
    pub top_k: usize,
    /// 1 disables top-p.
    pub top_p: f32,
    pub seed: u64,
}

impl Sampling {
    pub const GREEDY: Sampling = Sampling { temperature: 0.0, top_k: 0, top_p: 1.0, seed: 0 };

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling::GREEDY
    }
}

#[derive(Debug, Clone)]
pub struct GenerationRequest {
    pub prompt: String,
    /// The most tokens generated per candidate.
    pub max_tokens: usize,
    /// Generation ends at the first of these strings; the returned text ends with it (it is kept, so
    /// parsers can tell a finished answer from a truncated one).
    pub stop: Vec<String>,
    pub sampling: Sampling,
    /// How many candidates to generate; identical texts are returned once, so there may be fewer.
    /// The llama backend decodes the first of a greedy request greedily and samples the others
    /// (see [`decode::candidate_sampling`]); the openai backend asks for several only when
    /// sampling.
    pub candidates: usize,
    /// The output expected when nothing changes (the editable region in the format's output
    /// shape): the source of prompt-lookup draft tokens and of the tail spliced back in on
    /// resynchronisation. `None` disables speculation.
    pub draft: Option<String>,
    /// After the output has diverged from `draft` and then matched it again for this many tokens,
    /// generation stops and the rest of the draft is appended. `None` disables resynchronisation.
    pub resync_tokens: Option<usize>,
    pub cancel: CancelFlag,
}

impl GenerationRequest {
    /// A greedy request for one candidate without speculation.
    pub fn greedy(prompt: impl Into<String>, max_tokens: usize) -> GenerationRequest {
        GenerationRequest {
            prompt: prompt.into(),
            max_tokens,
            stop: Vec::new(),
            sampling: Sampling::GREEDY,
            candidates: 1,
            draft: None,
            resync_tokens: None,
            cancel: CancelFlag::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedText {
    pub text: String,
    /// Mean log-probability of the generated tokens (spliced-in draft tokens excluded); 0 for
    /// backends that do not know.
    pub mean_logprob: f32,
    pub finish: FinishReason,
    /// Every generated token in order: where it ends in `text` and its log-probability. Empty when
    /// the backend does not report log-probabilities. Text after the last token's end was not
    /// generated (a resynchronised draft tail).
    pub tokens: Vec<TokenLogprob>,
    /// At the first token where the output left the draft, the log-probability the model gave the
    /// draft's own token there: how likely copying the region unchanged was. `None` when the
    /// output never left the draft, the request had no draft, or the backend cannot tell.
    pub copy_logprob: Option<f32>,
}

impl GeneratedText {
    /// A text without log-probabilities (a backend that does not report them).
    pub fn plain(text: String, finish: FinishReason) -> GeneratedText {
        GeneratedText { text, mean_logprob: 0.0, finish, tokens: Vec::new(), copy_logprob: None }
    }
}

/// One generated token: the byte offset in [`GeneratedText::text`] where it ends, and the
/// log-probability the model gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenLogprob {
    pub end: usize,
    pub logprob: f32,
}

/// Ask how likely each continuation is after one prompt (to rank candidate regions).
#[derive(Debug, Clone)]
pub struct ScoreRequest {
    pub prompt: String,
    pub continuations: Vec<String>,
    pub cancel: CancelFlag,
}

/// The model's log-probability of one continuation after the prompt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContinuationScore {
    /// The sum of the continuation's token log-probabilities.
    pub logprob_sum: f64,
    pub tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// The text ends with this stop string.
    Stop(String),
    /// The model produced an end-of-generation token.
    EndOfText,
    /// `max_tokens` was reached (the answer is probably truncated).
    Length,
    /// The output resynchronised with the draft and the rest of the draft was spliced in.
    Resync,
    /// The context window is full.
    ContextFull,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationStats {
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV cache entries were kept from the previous request.
    pub reused_prompt_tokens: usize,
    /// Tokens the model produced (draft tokens it accepted included, spliced tokens excluded).
    pub generated_tokens: usize,
    /// Draft tokens proposed to and accepted by the model.
    pub draft_tokens_proposed: usize,
    pub draft_tokens_accepted: usize,
    /// Draft tokens appended on resynchronisation without running the model.
    pub spliced_tokens: usize,
    /// Model calls (batches) during generation.
    pub decode_calls: usize,
    pub prefill_time: Duration,
    pub decode_time: Duration,
    /// The request was cancelled; `candidates` is empty then.
    pub cancelled: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generation {
    pub candidates: Vec<GeneratedText>,
    pub stats: GenerationStats,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// `general.name`, else the file name.
    pub name: String,
    /// `llama`, `openai` or `scripted`.
    pub backend: &'static str,
    pub path: Option<PathBuf>,
    pub format: PromptFormatKind,
    /// The model's fill-in-the-middle token spelling, when its vocabulary has one.
    pub fim_style: Option<crate::engine::prompt::FimStyle>,
    /// Why `format` was chosen (`model.format` in the config, or what detection saw).
    pub format_reason: String,
    pub context_size: usize,
    pub load_time: Duration,
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadProgress {
    /// Reading the weights, `0.0..=1.0`.
    Loading(f32),
    /// Creating the context (allocating the KV cache).
    CreatingContext,
    Ready,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No model file at this path.
    #[error("model file not found: {} (run scripts/fetch-model or set model.path)", .0.display())]
    MissingFile(PathBuf),
    /// The file does not start with the GGUF magic bytes.
    #[error("not a GGUF model file: {}", .0.display())]
    NotGguf(PathBuf),
    /// The file is shorter than its header says.
    #[error("the model file is truncated or corrupt: {} ({detail})", .path.display())]
    Truncated { path: PathBuf, detail: String },
    /// llama.cpp refused the file or the context.
    #[error("failed to load the model: {0}")]
    LoadFailed(String),
    /// This build left the backend out (the cargo feature of that name is off).
    #[error(
        "this nextedit was built without the {feature} feature; rebuild with default features or use model.backend = \"{instead}\""
    )]
    NotBuilt {
        /// The cargo feature, which is also the `model.backend` value: `llama` or `openai`.
        feature: &'static str,
        /// The other backend.
        instead: &'static str,
    },
    /// The request was cancelled before it started (the built-in backends report cancellation
    /// during decoding through [`GenerationStats::cancelled`]), or a score request was cancelled.
    #[error("the generation was cancelled")]
    Cancelled,
    /// The prompt and the output do not fit the context window.
    #[error(
        "the prompt ({prompt_tokens} tokens) and its output do not fit the context of {context_size} tokens"
    )]
    PromptTooLong { prompt_tokens: usize, context_size: usize },
    /// The model thread is gone (it panicked or was shut down); load the model again.
    #[error("the model thread has stopped; the model must be loaded again")]
    BackendDead,
    /// llama.cpp failed during decoding.
    #[error("model decoding failed: {0}")]
    Decode(String),
    /// The model thread died and is being restarted (see [`supervisor`]).
    #[error("the model thread stopped and is being restarted")]
    Restarting,
    /// The inference server could not be reached, failed or answered nonsense; the message names
    /// the endpoint (never the API key).
    #[error("{0}")]
    Remote(String),
}

pub trait ModelBackend: Send + Sync {
    fn generate(&self, request: GenerationRequest) -> BoxFuture<Result<Generation, ModelError>>;

    /// Tokens `text` takes in this model's vocabulary (without a beginning-of-sequence token).
    fn count_tokens(&self, text: &str) -> usize;

    fn info(&self) -> ModelInfo;

    /// The log-probability of each of `request.continuations` after `request.prompt`, in order.
    /// `Ok(None)` when this backend cannot score text (the ranker then goes without), and
    /// [`ModelError::Cancelled`] when `request.cancel` fired before the scores were complete.
    fn score(
        &self,
        request: ScoreRequest,
    ) -> BoxFuture<Result<Option<Vec<ContinuationScore>>, ModelError>> {
        drop(request);
        Box::pin(async { Ok(None) })
    }

    /// False once the backend can no longer serve requests (its thread died).
    fn is_alive(&self) -> bool {
        true
    }
}

/// Where `scripts/fetch-model` puts the default model: `$XDG_CACHE_HOME/nextedit/models/` or
/// `~/.cache/nextedit/models/`. `None` when neither variable is set; the file may not exist.
pub fn default_model_path() -> Option<PathBuf> {
    model_cache_dir().map(|dir| dir.join(DEFAULT_MODEL_FILE_NAME))
}

pub fn model_cache_dir() -> Option<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|value| !value.is_empty()) {
        Some(cache) => PathBuf::from(cache),
        None => PathBuf::from(std::env::var_os("HOME").filter(|value| !value.is_empty())?)
            .join(".cache"),
    };
    Some(cache.join("nextedit").join("models"))
}

/// Why there is no test model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestModelError {
    #[error("neither NEXTEDIT_MODEL, XDG_CACHE_HOME nor HOME is set")]
    NoLocation,
    #[error(
        "the test model {} is missing: run scripts/fetch-model first (or set NEXTEDIT_MODEL)",
        .0.display()
    )]
    Missing(PathBuf),
}

/// The model for tests and benchmarks: `$NEXTEDIT_MODEL`, else the default model in the cache.
pub fn test_model_path() -> Result<PathBuf, TestModelError> {
    let path = match std::env::var_os("NEXTEDIT_MODEL").filter(|value| !value.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => default_model_path().ok_or(TestModelError::NoLocation)?,
    };
    if !Path::new(&path).is_file() {
        return Err(TestModelError::Missing(path));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_errors_have_clear_messages() {
        let path = PathBuf::from("/models/x.gguf");
        let messages = [
            ModelError::MissingFile(path.clone()).to_string(),
            ModelError::NotGguf(path.clone()).to_string(),
            ModelError::Truncated { path, detail: "file ends inside the header".to_owned() }
                .to_string(),
            ModelError::BackendDead.to_string(),
            ModelError::NotBuilt { feature: "openai", instead: "llama" }.to_string(),
        ];
        expect_test::expect![[r#"
            [
                "model file not found: /models/x.gguf (run scripts/fetch-model or set model.path)",
                "not a GGUF model file: /models/x.gguf",
                "the model file is truncated or corrupt: /models/x.gguf (file ends inside the header)",
                "the model thread has stopped; the model must be loaded again",
                "this nextedit was built without the openai feature; rebuild with default features or use model.backend = \"llama\"",
            ]
        "#]]
        .assert_debug_eq(&messages);
        for message in &messages {
            assert!(!message.ends_with('.'));
        }
    }
}
