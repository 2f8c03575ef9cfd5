//! The remote backend: any server that speaks OpenAI's `/v1/completions` (llama.cpp's
//! `llama-server`, llama-cpp-python, vLLM, Ollama, TGI), or `/v1/chat/completions` for chat
//! formats.
//!
//! Every request streams (server-sent events), so a newer edit cancels it by dropping the response,
//! which closes the connection and lets the server stop decoding. Stop strings are watched on this
//! side too, so the text ends with the stop string exactly as with the embedded backend. A request
//! never outlives `timeout`; connection failures and overload answers (429, 5xx) before the first
//! token are retried with exponential backoff inside that time; at most `max_in_flight` requests
//! are open at once.
//!
//! The API key comes from an environment variable and lives in [`ApiKey`], whose `Debug` hides it;
//! error messages are built here from the server's answer and never include request headers.
//!
//! - `config`: [`OpenAiConfig`], [`ApiKey`], endpoints and the format guess;
//! - [`wire`]: the JSON shapes sent and read;
//! - [`sse`]: the server-sent events parser;
//! - [`logprobs`]: the servers' log-probability shapes, aligned with the text, and echo scores;
//! - `stream`: one generation (send, status, events, candidates) and its retries;
//! - `score`: continuation scores from an echoed prompt, where the server supports it.
//!
//! The HTTP client (reqwest) is behind the `openai` cargo feature (on by default). Without it,
//! the configuration remains and [`load_openai`] fails with [`ModelError::NotBuilt`].

mod config;
#[cfg(feature = "openai")]
pub mod logprobs;
#[cfg(feature = "openai")]
mod score;
#[cfg(feature = "openai")]
pub mod sse;
#[cfg(feature = "openai")]
mod stream;
#[cfg(feature = "openai")]
pub mod wire;

pub use config::{ApiKey, OpenAiConfig, display_endpoint, guess_format};
#[cfg(feature = "openai")]
pub use sse::EventStream;
#[cfg(feature = "openai")]
pub use wire::chat_messages;

#[cfg(feature = "openai")]
pub use self::client::{OpenAiBackend, load_openai};
#[cfg(not(feature = "openai"))]
pub use self::disabled::{OpenAiBackend, load_openai};

/// Without the server's tokenizer, a cautious estimate: code averages three to four bytes a
/// token, so three over-counts slightly and prompts stay inside the context window.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

#[cfg(feature = "openai")]
use self::client::{Inner, error_text, list_models};

#[cfg(feature = "openai")]
mod client {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, OnceLock};
    use std::time::{Duration, Instant};

    use tokio::sync::Semaphore;

    use super::config::api_base;
    use super::wire::ModelList;
    use super::{ApiKey, OpenAiConfig, estimate_tokens, guess_format, score, stream};
    use crate::engine::model::{
        BoxFuture, ContinuationScore, Generation, GenerationRequest, GenerationStats, ModelBackend,
        ModelError, ModelInfo, ScoreRequest,
    };
    use crate::engine::prompt::PromptFormatKind;

    /// Builds the client and asks the server which models it serves. An unreachable server is not
    /// an error here (it may start later); the second value then says what went wrong.
    pub async fn load_openai(
        mut config: OpenAiConfig,
    ) -> Result<(OpenAiBackend, Option<String>), ModelError> {
        let started = Instant::now();
        let base = api_base(&config.endpoint)?;
        let client = http_client(&config)?;
        let shown = super::display_endpoint(&config.endpoint);
        let mut warning = None;
        match list_models(&client, &base, config.api_key.as_ref(), config.timeout).await {
            Ok(models) => {
                if config.model.is_none() {
                    config.model = models.into_iter().next();
                }
            }
            Err(error) => {
                warning = Some(format!(
                    "the inference server at {shown} did not answer ({error}); nextedit will try again on the next edit"
                ))
            }
        }
        let name = config.model.clone().unwrap_or_else(|| "the server's model".to_owned());
        let detection = match config.format {
            Some(format) => crate::engine::prompt::Detection {
                kind: format,
                fim_style: None,
                reason: "model.format in the config".to_owned(),
            },
            None => guess_format(&name),
        };
        let format = detection.kind;
        let chat = config.chat.unwrap_or(format == PromptFormatKind::Instinct);
        let info = ModelInfo {
            name,
            backend: "openai",
            path: None,
            format,
            fim_style: detection.fim_style,
            format_reason: detection.reason,
            context_size: config.context_size,
            load_time: started.elapsed(),
            threads: 0,
        };
        let model = OnceLock::new();
        if let Some(name) = &config.model {
            let _ = model.set(name.clone());
        }
        let inner = Inner {
            model,
            in_flight: Semaphore::new(config.max_in_flight.max(1)),
            config,
            base,
            client,
            chat,
            send_hints: AtomicBool::new(true),
            send_logprobs: AtomicBool::new(true),
            scores: AtomicBool::new(true),
            info,
            shown_endpoint: shown,
        };
        Ok((OpenAiBackend { inner: Arc::new(inner) }, warning))
    }

    fn http_client(config: &OpenAiConfig) -> Result<reqwest::Client, ModelError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(config.max_in_flight.max(1))
            .tcp_nodelay(true);
        if let Some(path) = &config.ca_file {
            let no_certificate = || {
                ModelError::LoadFailed(format!(
                    "openai.ca_file {} holds no PEM certificate",
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|error| {
                ModelError::LoadFailed(format!(
                    "cannot read openai.ca_file {}: {error}",
                    path.display()
                ))
            })?;
            let certificates =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| no_certificate())?;
            if certificates.is_empty() {
                return Err(no_certificate());
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder.build().map_err(|error| {
            ModelError::LoadFailed(format!("cannot create the HTTP client: {}", error_text(&error)))
        })
    }

    pub struct OpenAiBackend {
        inner: Arc<Inner>,
    }

    pub(super) struct Inner {
        pub(super) config: OpenAiConfig,
        /// The `model` of requests: the configured one, or the first one the server lists, asked
        /// again before each request until the server has answered (it may start after nextedit).
        pub(super) model: OnceLock<String>,
        /// `…/v1`, without a trailing slash.
        pub(super) base: String,
        pub(super) client: reqwest::Client,
        pub(super) chat: bool,
        /// Cleared when the server refuses the optional fields.
        pub(super) send_hints: AtomicBool,
        /// Cleared when the server refuses `logprobs`.
        pub(super) send_logprobs: AtomicBool,
        /// Cleared when the server cannot score text (no `echo` with log-probabilities).
        pub(super) scores: AtomicBool,
        pub(super) in_flight: Semaphore,
        pub(super) info: ModelInfo,
        pub(super) shown_endpoint: String,
    }

    impl Inner {
        /// A server may echo the key it was sent (in an "invalid key" error, say); it never
        /// reaches a message or a log from here.
        pub(super) fn redact(&self, text: &str) -> String {
            match &self.config.api_key {
                Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "<hidden>"),
                _ => text.to_owned(),
            }
        }
    }

    impl ModelBackend for OpenAiBackend {
        fn generate(
            &self,
            request: GenerationRequest,
        ) -> BoxFuture<Result<Generation, ModelError>> {
            let inner = self.inner.clone();
            Box::pin(async move {
                let deadline = tokio::time::Instant::now() + inner.config.timeout;
                let cancel = request.cancel.clone();
                let work = stream::generate_with_retries(&inner, &request);
                tokio::select! {
                    result = tokio::time::timeout_at(deadline, work) => match result {
                        Ok(result) => result,
                        Err(_) => Err(ModelError::Remote(format!(
                            "the inference server at {} gave no complete answer within {} ms",
                            inner.shown_endpoint,
                            inner.config.timeout.as_millis()
                        ))),
                    },
                    () = cancel.cancelled() => Ok(Generation {
                        candidates: Vec::new(),
                        stats: GenerationStats { cancelled: true, ..GenerationStats::default() },
                    }),
                }
            })
        }

        fn count_tokens(&self, text: &str) -> usize {
            estimate_tokens(text)
        }

        fn score(
            &self,
            request: ScoreRequest,
        ) -> BoxFuture<Result<Option<Vec<ContinuationScore>>, ModelError>> {
            let inner = self.inner.clone();
            Box::pin(async move {
                let cancel = request.cancel.clone();
                tokio::select! {
                    result = score::score(&inner, &request) => result,
                    () = cancel.cancelled() => Err(ModelError::Cancelled),
                }
            })
        }

        fn info(&self) -> ModelInfo {
            self.inner.info.clone()
        }
    }

    /// Why `/v1/models` gave no list.
    #[derive(Debug, thiserror::Error)]
    pub(super) enum ListError {
        #[error("{0}")]
        Transport(String),
        #[error("{0}")]
        Status(reqwest::StatusCode),
        #[error("the model list is not JSON")]
        NotJson,
    }

    pub(super) async fn list_models(
        client: &reqwest::Client,
        base: &str,
        api_key: Option<&ApiKey>,
        timeout: Duration,
    ) -> Result<Vec<String>, ListError> {
        let mut builder = client.get(format!("{base}/models")).timeout(timeout);
        if let Some(key) = api_key {
            builder = builder.bearer_auth(key.expose());
        }
        let response =
            builder.send().await.map_err(|error| ListError::Transport(error_text(&error)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ListError::Status(status));
        }
        let list: ModelList = response.json().await.map_err(|_| ListError::NotJson)?;
        Ok(list.ids())
    }

    /// The innermost cause of a transport error (`connection refused`), without the URL.
    pub(super) fn error_text(error: &reqwest::Error) -> String {
        let mut source: &dyn std::error::Error = error;
        while let Some(next) = source.source() {
            source = next;
        }
        let text = source.to_string();
        if error.is_timeout() {
            return "timed out".to_owned();
        }
        if text.is_empty() { "unknown error".to_owned() } else { text }
    }
}

#[cfg(not(feature = "openai"))]
mod disabled {
    use std::convert::Infallible;

    use super::OpenAiConfig;
    use crate::engine::model::{
        BoxFuture, Generation, GenerationRequest, ModelBackend, ModelError, ModelInfo,
    };

    /// Without the `openai` feature no backend of this type can exist.
    pub struct OpenAiBackend {
        never: Infallible,
    }

    /// Without the `openai` feature there is no HTTP client to reach a server with.
    pub async fn load_openai(
        _config: OpenAiConfig,
    ) -> Result<(OpenAiBackend, Option<String>), ModelError> {
        Err(ModelError::NotBuilt { feature: "openai", instead: "llama" })
    }

    impl ModelBackend for OpenAiBackend {
        fn generate(
            &self,
            _request: GenerationRequest,
        ) -> BoxFuture<Result<Generation, ModelError>> {
            match self.never {}
        }

        fn count_tokens(&self, _text: &str) -> usize {
            match self.never {}
        }

        fn info(&self) -> ModelInfo {
            match self.never {}
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn loading_without_the_openai_feature_says_how_to_get_it() {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let loaded = runtime
                .block_on(super::load_openai(super::OpenAiConfig::new("http://127.0.0.1:1")));
            assert_eq!(
                loaded.err().map(|error| error.to_string()).as_deref(),
                Some(
                    "this nextedit was built without the openai feature; rebuild with default features or use model.backend = \"llama\""
                )
            );
        }
    }
}
