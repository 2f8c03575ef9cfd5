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

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{
    BoxFuture, FinishReason, GeneratedText, Generation, GenerationRequest, GenerationStats,
    ModelBackend, ModelError, ModelInfo,
};
use crate::engine::prompt::PromptFormatKind;

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<hidden>)")
    }
}

#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The server's base URL, with or without a trailing `/v1`.
    pub endpoint: String,
    /// The `model` field of requests; when `None`, the first model `/v1/models` lists.
    pub model: Option<String>,
    pub api_key: Option<ApiKey>,
    /// The prompt format; when `None`, guessed from the model's name.
    pub format: Option<PromptFormatKind>,
    /// Send chat requests (`/v1/chat/completions`), for formats written as a chat template; when
    /// `None`, only for the instinct format.
    pub chat: Option<bool>,
    /// The model's context window in tokens, for prompt budgets.
    pub context_size: usize,
    pub connect_timeout: Duration,
    /// The most one request may take, retries and waiting for a free slot included.
    pub timeout: Duration,
    /// Further attempts after a connection failure or an overload answer.
    pub retries: u32,
    pub max_in_flight: usize,
    /// Send the editable region as a predicted output (`prediction`) and ask the server to keep the
    /// prompt cached (`cache_prompt`). Servers that refuse these fields get requests without them.
    pub hints: bool,
    /// A PEM file of extra root certificates (a private CA); the system's and the bundled web
    /// roots are trusted as well.
    pub ca_file: Option<std::path::PathBuf>,
}

impl OpenAiConfig {
    pub fn new(endpoint: impl Into<String>) -> OpenAiConfig {
        OpenAiConfig {
            endpoint: endpoint.into(),
            model: None,
            api_key: None,
            format: None,
            chat: None,
            context_size: 4096,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            retries: 2,
            max_in_flight: 2,
            hints: true,
            ca_file: None,
        }
    }
}

/// The endpoint for display: scheme, host, port and path, without user or password.
pub fn display_endpoint(endpoint: &str) -> String {
    match reqwest::Url::parse(endpoint) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string().trim_end_matches('/').to_owned()
        }
        Err(_) => "<invalid endpoint>".to_owned(),
    }
}

/// Builds the client and asks the server which models it serves. An unreachable server is not an
/// error here (it may start later); the second value then says what went wrong.
pub async fn load_openai(
    mut config: OpenAiConfig,
) -> Result<(OpenAiBackend, Option<String>), ModelError> {
    let started = Instant::now();
    let base = api_base(&config.endpoint)?;
    let mut builder = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(config.max_in_flight.max(1))
        .tcp_nodelay(true);
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|error| {
            ModelError::LoadFailed(format!(
                "cannot read openai.ca_file {}: {error}",
                path.display()
            ))
        })?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            ModelError::LoadFailed(format!(
                "openai.ca_file {} holds no PEM certificate",
                path.display()
            ))
        })?;
        if certificates.is_empty() {
            return Err(ModelError::LoadFailed(format!(
                "openai.ca_file {} holds no PEM certificate",
                path.display()
            )));
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    let client = builder.build().map_err(|error| {
        ModelError::LoadFailed(format!("cannot create the HTTP client: {}", error_text(&error)))
    })?;
    let shown = display_endpoint(&config.endpoint);
    let mut warning = None;
    match list_models(&client, &base, config.api_key.as_ref(), config.timeout).await {
        Ok(models) => {
            if config.model.is_none() {
                config.model = models.into_iter().next();
            }
        }
        Err(message) => {
            warning = Some(format!(
                "the inference server at {shown} did not answer ({message}); nextedit will try again on the next edit"
            ))
        }
    }
    let name = config.model.clone().unwrap_or_else(|| "the server's model".to_owned());
    let format = config.format.unwrap_or_else(|| guess_format(&name));
    let chat = config.chat.unwrap_or(format == PromptFormatKind::Instinct);
    let info = ModelInfo {
        name,
        backend: "openai",
        path: None,
        format,
        context_size: config.context_size,
        load_time: started.elapsed(),
        threads: 0,
    };
    let model = std::sync::OnceLock::new();
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
        info,
        shown_endpoint: shown,
    };
    Ok((OpenAiBackend { inner: Arc::new(inner) }, warning))
}

/// The prompt format a model's name suggests.
pub fn guess_format(model: &str) -> PromptFormatKind {
    let metadata =
        crate::engine::prompt::ModelMetadata { name: Some(model.to_owned()), ..Default::default() };
    let detected = crate::engine::prompt::detect_format(&metadata);
    let lower = model.to_ascii_lowercase();
    if detected == PromptFormatKind::Plain
        && (lower.contains("coder") || lower.contains("starcoder") || lower.contains("fim"))
    {
        return PromptFormatKind::Fim;
    }
    detected
}

pub struct OpenAiBackend {
    inner: Arc<Inner>,
}

struct Inner {
    config: OpenAiConfig,
    /// The `model` of requests: the configured one, or the first one the server lists, asked
    /// again before each request until the server has answered (it may start after nextedit).
    model: std::sync::OnceLock<String>,
    /// `…/v1`, without a trailing slash.
    base: String,
    client: reqwest::Client,
    chat: bool,
    /// Cleared when the server refuses the optional fields.
    send_hints: AtomicBool,
    in_flight: Semaphore,
    info: ModelInfo,
    shown_endpoint: String,
}

impl Inner {
    /// A server may echo the key it was sent (in an "invalid key" error, say); it never reaches a
    /// message or a log from here.
    fn redact(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "<hidden>"),
            _ => text.to_owned(),
        }
    }
}

impl ModelBackend for OpenAiBackend {
    fn generate(&self, request: GenerationRequest) -> BoxFuture<Result<Generation, ModelError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + inner.config.timeout;
            let cancel = request.cancel.clone();
            let work = generate_with_retries(&inner, &request);
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

    fn info(&self) -> ModelInfo {
        self.inner.info.clone()
    }
}

/// Without the server's tokenizer, a cautious estimate: code averages three to four bytes a
/// token, so three over-counts slightly and prompts stay inside the context window.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// Why one attempt failed, and whether another may succeed.
enum AttemptError {
    Retry(String),
    /// The server refused the optional fields; try again at once without them.
    RefusedHints,
    Fatal(String),
}

async fn generate_with_retries(
    inner: &Inner,
    request: &GenerationRequest,
) -> Result<Generation, ModelError> {
    let _permit = inner.in_flight.acquire().await.map_err(|_| ModelError::BackendDead)?;
    if inner.model.get().is_none() {
        let listed = list_models(
            &inner.client,
            &inner.base,
            inner.config.api_key.as_ref(),
            inner.config.timeout,
        )
        .await;
        if let Some(first) = listed.ok().and_then(|models| models.into_iter().next()) {
            tracing::info!("the inference server at {} serves {first}", inner.shown_endpoint);
            let _ = inner.model.set(first);
        }
    }
    let mut attempt = 0;
    loop {
        match attempt_once(inner, request).await {
            Ok(generation) => return Ok(generation),
            Err(AttemptError::RefusedHints) if inner.send_hints.swap(false, Ordering::Relaxed) => {
                tracing::info!(
                    "the inference server refused `prediction`/`cache_prompt`; sending requests without them"
                );
            }
            Err(AttemptError::RefusedHints) => {
                return Err(ModelError::Remote(format!(
                    "the inference server at {} refused the request",
                    inner.shown_endpoint
                )));
            }
            Err(AttemptError::Retry(message)) if attempt < inner.config.retries => {
                let backoff = Duration::from_millis(100 << attempt.min(6));
                tracing::debug!("inference request failed ({message}); retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                attempt += 1;
            }
            Err(AttemptError::Retry(message) | AttemptError::Fatal(message)) => {
                return Err(ModelError::Remote(message));
            }
        }
    }
}

/// The JSON body of a request, and whether it is a chat request (a chat format's prompt, sent as
/// messages).
fn request_body(inner: &Inner, request: &GenerationRequest, hints: bool) -> (Value, bool) {
    let mut body = json!({
        "max_tokens": request.max_tokens,
        "temperature": request.sampling.temperature,
        "stream": true,
    });
    let object = body.as_object_mut().expect("a JSON object");
    if let Some(model) = inner.model.get() {
        object.insert("model".to_owned(), json!(model));
    }
    if !request.sampling.is_greedy() {
        object.insert("top_p".to_owned(), json!(request.sampling.top_p));
        if request.sampling.top_k > 0 {
            object.insert("top_k".to_owned(), json!(request.sampling.top_k));
        }
        object.insert("n".to_owned(), json!(request.candidates.max(1)));
        object.insert("seed".to_owned(), json!(request.sampling.seed));
    }
    if !request.stop.is_empty() {
        // The OpenAI API takes at most four.
        object.insert("stop".to_owned(), json!(request.stop.iter().take(4).collect::<Vec<_>>()));
    }
    let messages = if inner.chat { chat_messages(&request.prompt) } else { None };
    let chat = messages.is_some();
    match messages {
        Some(messages) => {
            let messages: Vec<Value> = messages
                .into_iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect();
            object.insert("messages".to_owned(), Value::Array(messages));
        }
        None => {
            object.insert("prompt".to_owned(), json!(request.prompt));
        }
    }
    if hints {
        object.insert("cache_prompt".to_owned(), json!(true));
        if let Some(draft) = &request.draft {
            object.insert("prediction".to_owned(), json!({"type": "content", "content": draft}));
        }
    }
    (body, chat)
}

async fn attempt_once(
    inner: &Inner,
    request: &GenerationRequest,
) -> Result<Generation, AttemptError> {
    let hints = inner.config.hints && inner.send_hints.load(Ordering::Relaxed);
    let (body, chat) = request_body(inner, request, hints);
    let url = format!("{}/{}", inner.base, if chat { "chat/completions" } else { "completions" });
    let started = Instant::now();
    let mut builder = inner.client.post(&url).header("accept", "text/event-stream").json(&body);
    if let Some(key) = &inner.config.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    let mut response = builder.send().await.map_err(|error| {
        let message = if error.is_connect() {
            format!(
                "cannot reach the inference server at {}: {}",
                inner.shown_endpoint,
                error_text(&error)
            )
        } else {
            format!(
                "the request to the inference server at {} failed: {}",
                inner.shown_endpoint,
                error_text(&error)
            )
        };
        // Nothing was generated yet, so another attempt costs nothing extra.
        AttemptError::Retry(message)
    })?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let detail = inner.redact(&server_error_detail(&text));
        if hints
            && (status.as_u16() == 400 || status.as_u16() == 422)
            && (text.contains("prediction") || text.contains("cache_prompt"))
        {
            return Err(AttemptError::RefusedHints);
        }
        let message =
            format!("the inference server at {} answered {status}: {detail}", inner.shown_endpoint);
        return Err(if status.as_u16() == 429 || status.is_server_error() {
            AttemptError::Retry(message)
        } else {
            AttemptError::Fatal(message)
        });
    }

    let mut stream = EventStream::default();
    let mut outputs: Vec<Output> = Vec::new();
    let mut first_token: Option<Instant> = None;
    let mut chunks = 0usize;
    let mut usage_prompt_tokens = None;
    let mut complete = false;
    loop {
        let chunk = response.chunk().await.map_err(|error| {
            AttemptError::Fatal(format!(
                "the inference server at {} broke off the answer: {}",
                inner.shown_endpoint,
                error_text(&error)
            ))
        })?;
        let Some(chunk) = chunk else { break };
        let mut done = false;
        for data in stream.push(&chunk) {
            if data.trim() == "[DONE]" {
                done = true;
                break;
            }
            let event: Value = serde_json::from_str(&data).map_err(|_| {
                AttemptError::Fatal(format!(
                    "the inference server at {} sent an event that is not JSON",
                    inner.shown_endpoint
                ))
            })?;
            if let Some(error) = event.get("error") {
                return Err(AttemptError::Fatal(format!(
                    "the inference server at {} reported an error: {}",
                    inner.shown_endpoint,
                    inner.redact(&server_error_detail(&error.to_string()))
                )));
            }
            if let Some(tokens) = event.pointer("/usage/prompt_tokens").and_then(Value::as_u64) {
                usage_prompt_tokens = Some(tokens as usize);
            }
            let Some(choices) = event.get("choices").and_then(Value::as_array) else { continue };
            for choice in choices {
                let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                if index >= 16 {
                    continue;
                }
                while outputs.len() <= index {
                    outputs.push(Output::default());
                }
                let text = choice
                    .get("text")
                    .or_else(|| choice.pointer("/delta/content"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let output = &mut outputs[index];
                if !text.is_empty() && output.finish.is_none() {
                    first_token.get_or_insert_with(Instant::now);
                    chunks += 1;
                    output.push(text, &request.stop);
                    if output.finish.is_none() && output.text.len() > MAX_OUTPUT_BYTES {
                        // A server that ignores max_tokens doesn't get to fill the memory.
                        output.finish = Some(FinishReason::Length);
                    }
                }
                if output.finish.is_none() {
                    output.finish = match choice.get("finish_reason").and_then(Value::as_str) {
                        Some("length") => Some(FinishReason::Length),
                        Some(_) => Some(server_stop(&output.text, &request.stop)),
                        None => None,
                    };
                }
            }
        }
        let wanted = if request.sampling.is_greedy() { 1 } else { request.candidates.max(1) };
        let all_finished =
            outputs.len() >= wanted && outputs.iter().all(|output| output.finish.is_some());
        if done || all_finished {
            complete = true;
            // Dropping the response closes a stream the server has not finished, so it stops
            // decoding; a finished one goes back to the pool.
            break;
        }
    }
    if !complete {
        // A connection closed without `[DONE]` is a cut answer, not a short one.
        return Err(AttemptError::Fatal(format!(
            "the inference server at {} broke off the answer: the stream ended early",
            inner.shown_endpoint
        )));
    }
    if outputs.is_empty() {
        return Err(AttemptError::Fatal(format!(
            "the inference server at {} sent no completion",
            inner.shown_endpoint
        )));
    }
    let decode_from = first_token.unwrap_or_else(Instant::now);
    let stats = GenerationStats {
        prompt_tokens: usage_prompt_tokens.unwrap_or_else(|| estimate_tokens(&request.prompt)),
        generated_tokens: chunks,
        decode_calls: chunks,
        prefill_time: decode_from.duration_since(started),
        decode_time: decode_from.elapsed(),
        ..GenerationStats::default()
    };
    let candidates = outputs
        .into_iter()
        .map(|output| {
            let finish = output.finish.unwrap_or_else(|| server_stop(&output.text, &request.stop));
            let mut text = output.text;
            if let FinishReason::Stop(stop) = &finish
                && !text.ends_with(stop.as_str())
            {
                text.push_str(stop);
            }
            GeneratedText { text, mean_logprob: 0.0, finish }
        })
        .collect();
    Ok(Generation { candidates, stats })
}

/// The most text one candidate may stream; far more than any editable region.
const MAX_OUTPUT_BYTES: usize = 256 << 10;

/// One candidate's text as it streams in.
#[derive(Default)]
struct Output {
    text: String,
    finish: Option<FinishReason>,
}

impl Output {
    /// Appends streamed text, ending the candidate at the first stop string (kept at the end).
    fn push(&mut self, text: &str, stops: &[String]) {
        let search_from =
            self.text.len().saturating_sub(stops.iter().map(String::len).max().unwrap_or(0));
        let search_from = crate::syntax::floor_char_boundary(&self.text, search_from);
        self.text.push_str(text);
        let found = stops
            .iter()
            .filter(|stop| !stop.is_empty())
            .filter_map(|stop| {
                self.text[search_from..].find(stop.as_str()).map(|at| (search_from + at, stop))
            })
            .min_by_key(|(at, _)| *at);
        if let Some((at, stop)) = found {
            self.text.truncate(at + stop.len());
            self.finish = Some(FinishReason::Stop(stop.clone()));
        }
    }
}

/// The server ended a candidate on its own. OpenAI servers drop the stop string they stopped at
/// and report an end-of-text token the same way; the first stop string stands for both, so the
/// parsers see a finished answer.
fn server_stop(text: &str, stops: &[String]) -> FinishReason {
    if let Some(stop) = stops.iter().find(|stop| !stop.is_empty() && text.ends_with(stop.as_str()))
    {
        return FinishReason::Stop(stop.clone());
    }
    match stops.first() {
        Some(stop) if !stop.is_empty() => FinishReason::Stop(stop.clone()),
        _ => FinishReason::EndOfText,
    }
}

/// Splits a byte stream into server-sent events and returns each event's `data`.
#[derive(Default)]
pub struct EventStream {
    buffer: Vec<u8>,
}

impl EventStream {
    /// The most bytes one event may take; a server that sends more without a blank line is broken.
    const MAX_EVENT: usize = 4 << 20;

    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some((end, separator)) = find_event_end(&self.buffer) {
            let raw: Vec<u8> = self.buffer.drain(..end + separator).take(end).collect();
            let raw = String::from_utf8_lossy(&raw);
            let data: Vec<&str> = raw
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|data| data.strip_prefix(' ').unwrap_or(data))
                .collect();
            if !data.is_empty() {
                events.push(data.join("\n"));
            }
        }
        if self.buffer.len() > Self::MAX_EVENT {
            self.buffer.clear();
            events.push("{\"error\":{\"message\":\"an event over 4 MiB\"}}".to_owned());
        }
        events
    }
}

/// Where the first event ends, and the length of the blank line after it.
fn find_event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|window| window == b"\n\n").map(|at| (at, 2));
    let crlf = buffer.windows(4).position(|window| window == b"\r\n\r\n").map(|at| (at, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// A chat-template prompt (`<|im_start|>role\n…<|im_end|>`, ending with an open assistant turn)
/// as chat messages; `None` when the prompt is not one.
pub fn chat_messages(prompt: &str) -> Option<Vec<(String, String)>> {
    const START: &str = "<|im_start|>";
    const END: &str = "<|im_end|>";
    let rest = prompt.strip_suffix(&format!("{START}assistant\n"))?;
    let mut messages = Vec::new();
    for turn in rest.split(START).skip(1) {
        let turn = turn.trim_end_matches('\n');
        let turn = turn.strip_suffix(END)?;
        let (role, content) = turn.split_once('\n')?;
        messages.push((role.to_owned(), content.to_owned()));
    }
    if !rest.starts_with(START) || messages.is_empty() {
        return None;
    }
    Some(messages)
}

fn api_base(endpoint: &str) -> Result<String, ModelError> {
    let url = reqwest::Url::parse(endpoint.trim()).map_err(|error| {
        ModelError::LoadFailed(format!("openai.endpoint is not a URL ({error})"))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ModelError::LoadFailed(format!(
            "openai.endpoint must be http or https, not {}",
            url.scheme()
        )));
    }
    let base = url.as_str().trim_end_matches('/');
    Ok(if base.ends_with("/v1") { base.to_owned() } else { format!("{base}/v1") })
}

async fn list_models(
    client: &reqwest::Client,
    base: &str,
    api_key: Option<&ApiKey>,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let mut builder = client.get(format!("{base}/models")).timeout(timeout);
    if let Some(key) = api_key {
        builder = builder.bearer_auth(key.expose());
    }
    let response = builder.send().await.map_err(|error| error_text(&error))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{status}"));
    }
    let value: Value =
        response.json().await.map_err(|_| "the model list is not JSON".to_owned())?;
    Ok(value
        .get("data")
        .and_then(Value::as_array)
        .map(|models| {
            models.iter().filter_map(|model| model.get("id")?.as_str().map(str::to_owned)).collect()
        })
        .unwrap_or_default())
}

/// The innermost cause of a transport error (`connection refused`), without the URL.
fn error_text(error: &reqwest::Error) -> String {
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

/// The `message` of an OpenAI-style error body, or the start of the body.
fn server_error_detail(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|value| {
            value
                .pointer("/error/message")
                .or_else(|| value.get("message"))
                .or_else(|| value.get("detail"))
        })
        .map(|message| match message {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .unwrap_or_else(|| body.trim().to_owned());
    let mut message: String = message.chars().filter(|c| !c.is_control()).take(200).collect();
    if message.is_empty() {
        message = "no details".to_owned();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let mut stream = EventStream::default();
        assert!(stream.push(b"data: {\"a\"").is_empty());
        assert_eq!(
            stream.push(b":1}\n\ndata: x\r\n\r\n: comment\n\n"),
            vec!["{\"a\":1}".to_owned(), "x".to_owned()]
        );
        assert_eq!(stream.push(b"data: [DONE]\n\n"), vec!["[DONE]".to_owned()]);
    }

    #[test]
    fn events_do_not_depend_on_where_the_stream_is_cut() {
        let whole: &[u8] = b"data: {\"a\":\"\xc3\xa9\"}\n\n: keep-alive\r\n\r\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
        let expected = EventStream::default().push(whole);
        assert_eq!(expected.len(), 3);
        for first in 0..whole.len() {
            for second in first..whole.len() {
                let mut stream = EventStream::default();
                let mut events = stream.push(&whole[..first]);
                events.extend(stream.push(&whole[first..second]));
                events.extend(stream.push(&whole[second..]));
                assert_eq!(events, expected, "cut at {first} and {second}");
            }
        }
    }

    #[test]
    fn stop_strings_end_the_text_even_across_chunks() {
        let stops = vec!["<|end|>".to_owned()];
        let mut output = Output::default();
        output.push("let x = 1;<|e", &stops);
        assert!(output.finish.is_none());
        output.push("nd|>tail", &stops);
        assert_eq!(output.text, "let x = 1;<|end|>");
        assert_eq!(output.finish, Some(FinishReason::Stop("<|end|>".to_owned())));
    }

    #[test]
    fn chat_prompts_become_messages() {
        let prompt = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nline 1\nline 2<|im_end|>\n<|im_start|>assistant\n";
        assert_eq!(
            chat_messages(prompt),
            Some(vec![
                ("system".to_owned(), "Be brief.".to_owned()),
                ("user".to_owned(), "line 1\nline 2".to_owned())
            ])
        );
        assert_eq!(chat_messages("plain prompt"), None);
    }

    #[test]
    fn endpoints_and_secrets_print_safely() {
        assert_eq!(api_base("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080/v1");
        assert_eq!(api_base("https://host/v1/").unwrap(), "https://host/v1");
        assert!(api_base("file:///etc/passwd").is_err());
        assert_eq!(display_endpoint("https://user:secret@host:8443/v1"), "https://host:8443/v1");
        assert_eq!(format!("{:?}", ApiKey::new("sk-123".to_owned())), "ApiKey(<hidden>)");
    }

    #[test]
    fn formats_are_guessed_from_model_names() {
        assert_eq!(guess_format("zed-industries/zeta"), PromptFormatKind::Zeta);
        assert_eq!(guess_format("sweep-next-edit-1.5b"), PromptFormatKind::Sweep);
        assert_eq!(guess_format("Qwen2.5-Coder-1.5B"), PromptFormatKind::Fim);
        assert_eq!(guess_format("gemma-3-270m"), PromptFormatKind::Plain);
    }

    #[test]
    fn server_errors_are_summarised() {
        assert_eq!(
            server_error_detail(r#"{"error":{"message":"model not found"}}"#),
            "model not found"
        );
        assert_eq!(server_error_detail(""), "no details");
    }
}
