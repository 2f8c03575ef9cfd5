//! One generation over HTTP: send the request, classify the answer's status, read the streamed
//! events into candidates, and turn those into a [`Generation`]; with retries around it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::logprobs::{StreamedToken, align_tokens, streamed_tokens};
use super::sse::EventStream;
use super::wire::{CompletionRequest, StreamChunk, server_error_detail};
use super::{Inner, error_text, estimate_tokens};
use crate::engine::model::{
    FinishReason, GeneratedText, Generation, GenerationRequest, GenerationStats, ModelError,
};

/// Why one attempt failed, and whether another may succeed.
enum AttemptError {
    Retry(String),
    /// The server refused the optional fields; try again at once without them.
    RefusedHints,
    /// The server refused `logprobs`; try again at once without.
    RefusedLogprobs,
    Fatal(String),
}

/// The most text one candidate may stream; far more than any editable region.
const MAX_OUTPUT_BYTES: usize = 256 << 10;

/// Candidates beyond this index are ignored.
const MAX_CANDIDATES: usize = 16;

pub(super) async fn generate_with_retries(
    inner: &Inner,
    request: &GenerationRequest,
) -> Result<Generation, ModelError> {
    let _permit = inner.in_flight.acquire().await.map_err(|_| ModelError::BackendDead)?;
    if inner.model.get().is_none()
        && let Ok(models) = super::list_models(
            &inner.client,
            &inner.base,
            inner.config.api_key.as_ref(),
            inner.config.timeout,
        )
        .await
        && let Some(first) = models.into_iter().next()
    {
        tracing::info!("the inference server at {} serves {first}", inner.shown_endpoint);
        let _ = inner.model.set(first);
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
            Err(AttemptError::RefusedLogprobs)
                if inner.send_logprobs.swap(false, Ordering::Relaxed) =>
            {
                tracing::info!(
                    "the inference server refused `logprobs` (or broke off before any text); sending requests without them (no confidence gating)"
                );
            }
            Err(AttemptError::RefusedHints | AttemptError::RefusedLogprobs) => {
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

async fn attempt_once(
    inner: &Inner,
    request: &GenerationRequest,
) -> Result<Generation, AttemptError> {
    let hints = inner.config.hints && inner.send_hints.load(Ordering::Relaxed);
    let logprobs = inner.send_logprobs.load(Ordering::Relaxed);
    let started = Instant::now();
    let response = send(inner, request, hints, logprobs).await?;
    let response = classify_status(inner, response, hints, logprobs).await?;
    let streamed = read_events(inner, response, request, logprobs).await?;
    into_generation(inner, streamed, request, started)
}

/// Posts the request. A failure here is retried: nothing was generated yet, so another attempt
/// costs nothing extra.
async fn send(
    inner: &Inner,
    request: &GenerationRequest,
    hints: bool,
    logprobs: bool,
) -> Result<reqwest::Response, AttemptError> {
    let model = inner.model.get().map(String::as_str);
    let body = CompletionRequest::new(request, model, inner.chat, hints, logprobs);
    let path = if body.is_chat() { "chat/completions" } else { "completions" };
    let mut builder = inner
        .client
        .post(format!("{}/{path}", inner.base))
        .header("accept", "text/event-stream")
        .json(&body);
    if let Some(key) = &inner.config.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    builder.send().await.map_err(|error| {
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
        AttemptError::Retry(message)
    })
}

/// Passes a successful answer on. Overload (429, 5xx) is worth another attempt; a 400 or 422 that
/// names the optional fields (or `logprobs`) means the server refuses them; anything else is
/// final.
async fn classify_status(
    inner: &Inner,
    response: reqwest::Response,
    hints: bool,
    logprobs: bool,
) -> Result<reqwest::Response, AttemptError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    if logprobs && (status.as_u16() == 400 || status.as_u16() == 422) && text.contains("logprobs") {
        return Err(AttemptError::RefusedLogprobs);
    }
    if hints
        && (status.as_u16() == 400 || status.as_u16() == 422)
        && (text.contains("prediction") || text.contains("cache_prompt"))
    {
        return Err(AttemptError::RefusedHints);
    }
    let detail = inner.redact(&server_error_detail(&text));
    let message =
        format!("the inference server at {} answered {status}: {detail}", inner.shown_endpoint);
    Err(if status.as_u16() == 429 || status.is_server_error() {
        AttemptError::Retry(message)
    } else {
        AttemptError::Fatal(message)
    })
}

/// The candidates as they stream in, and what the statistics need.
#[derive(Default)]
struct Streamed {
    outputs: Vec<Output>,
    first_token: Option<Instant>,
    /// Chunks that carried text: the closest thing to a token count without the tokenizer.
    chunks: usize,
    /// The prompt's tokens, when the server reports them.
    prompt_tokens: Option<usize>,
}

impl Streamed {
    fn apply(&mut self, chunk: StreamChunk, stops: &[String]) {
        if let Some(tokens) = chunk.usage.and_then(|usage| usage.prompt_tokens) {
            self.prompt_tokens = Some(tokens as usize);
        }
        for choice in chunk.choices.into_iter().flatten() {
            let index = choice.index.unwrap_or(0) as usize;
            if index >= MAX_CANDIDATES {
                continue;
            }
            if self.outputs.len() <= index {
                self.outputs.resize_with(index + 1, Output::default);
            }
            let output = &mut self.outputs[index];
            let text = choice.text();
            if output.finish.is_none() {
                let tokens = choice.logprobs.as_ref().and_then(streamed_tokens);
                output.add_tokens(tokens, !text.is_empty());
            }
            if !text.is_empty() && output.finish.is_none() {
                self.first_token.get_or_insert_with(Instant::now);
                self.chunks += 1;
                output.push(text, stops);
                if output.finish.is_none() && output.text.len() > MAX_OUTPUT_BYTES {
                    // A server that ignores max_tokens doesn't get to fill the memory.
                    output.finish = Some(FinishReason::Length);
                }
            }
            if output.finish.is_none() {
                output.finish = match choice.finish_reason.as_deref() {
                    Some("length") => Some(FinishReason::Length),
                    Some(_) => Some(server_stop(&output.text, stops)),
                    None => None,
                };
            }
        }
    }

    fn all_finished(&self, wanted: usize) -> bool {
        self.outputs.len() >= wanted && self.outputs.iter().all(|output| output.finish.is_some())
    }
}

/// Reads events until `[DONE]` or until every wanted candidate has finished. Returning early
/// drops the response, which closes a stream the server has not finished, so it stops decoding;
/// a finished one goes back to the pool.
async fn read_events(
    inner: &Inner,
    mut response: reqwest::Response,
    request: &GenerationRequest,
    logprobs: bool,
) -> Result<Streamed, AttemptError> {
    let broke_off = |detail: &str| {
        AttemptError::Fatal(format!(
            "the inference server at {} broke off the answer: {detail}",
            inner.shown_endpoint
        ))
    };
    let wanted = if request.sampling.is_greedy() { 1 } else { request.candidates.max(1) };
    let mut events = EventStream::default();
    let mut streamed = Streamed::default();
    while let Some(bytes) =
        response.chunk().await.map_err(|error| broke_off(&error_text(&error)))?
    {
        for data in events.push(&bytes) {
            if data.trim() == "[DONE]" {
                return Ok(streamed);
            }
            streamed.apply(parse_chunk(inner, &data)?, &request.stop);
        }
        if streamed.all_finished(wanted) {
            return Ok(streamed);
        }
    }
    // A server that breaks off before any text when asked for log-probabilities (llama-cpp-python
    // without `logits_all` fails inside its stream) is asked again without them.
    if logprobs && streamed.chunks == 0 {
        return Err(AttemptError::RefusedLogprobs);
    }
    // A connection closed without `[DONE]` is a cut answer, not a short one.
    Err(broke_off("the stream ended early"))
}

/// One event's data as a chunk; an error event fails the attempt.
fn parse_chunk(inner: &Inner, data: &str) -> Result<StreamChunk, AttemptError> {
    let chunk: StreamChunk = serde_json::from_str(data).map_err(|error| {
        let what = if error.is_data() { "of an unexpected shape" } else { "that is not JSON" };
        AttemptError::Fatal(format!(
            "the inference server at {} sent an event {what}",
            inner.shown_endpoint
        ))
    })?;
    if let Some(error) = &chunk.error {
        return Err(AttemptError::Fatal(format!(
            "the inference server at {} reported an error: {}",
            inner.shown_endpoint,
            inner.redact(&server_error_detail(&error.to_string()))
        )));
    }
    Ok(chunk)
}

fn into_generation(
    inner: &Inner,
    streamed: Streamed,
    request: &GenerationRequest,
    started: Instant,
) -> Result<Generation, AttemptError> {
    if streamed.outputs.is_empty() {
        return Err(AttemptError::Fatal(format!(
            "the inference server at {} sent no completion",
            inner.shown_endpoint
        )));
    }
    let decode_from = streamed.first_token.unwrap_or_else(Instant::now);
    let stats = GenerationStats {
        prompt_tokens: streamed.prompt_tokens.unwrap_or_else(|| estimate_tokens(&request.prompt)),
        generated_tokens: streamed.chunks,
        decode_calls: streamed.chunks,
        prefill_time: decode_from.duration_since(started),
        decode_time: decode_from.elapsed(),
        ..GenerationStats::default()
    };
    let candidates = streamed
        .outputs
        .into_iter()
        .map(|output| {
            let finish = output.finish.unwrap_or_else(|| server_stop(&output.text, &request.stop));
            let mut text = output.text;
            if let FinishReason::Stop(stop) = &finish
                && !text.ends_with(stop.as_str())
            {
                text.push_str(stop);
            }
            let streamed_tokens = if output.logprobs_complete { &output.tokens[..] } else { &[] };
            let (tokens, copy_logprob) =
                align_tokens(&text, streamed_tokens, request.draft.as_deref());
            let mean_logprob = if tokens.is_empty() {
                0.0
            } else {
                tokens.iter().map(|token| token.logprob).sum::<f32>() / tokens.len() as f32
            };
            GeneratedText { text, mean_logprob, finish, tokens, copy_logprob }
        })
        .collect();
    Ok(Generation { candidates, stats })
}

/// One candidate's text as it streams in.
struct Output {
    text: String,
    finish: Option<FinishReason>,
    /// The tokens the server reported with their log-probabilities.
    tokens: Vec<StreamedToken>,
    /// Every chunk with text came with log-probabilities (a server that sends them for some
    /// chunks only gives no usable ones).
    logprobs_complete: bool,
}

impl Default for Output {
    fn default() -> Output {
        Output { text: String::new(), finish: None, tokens: Vec::new(), logprobs_complete: true }
    }
}

impl Output {
    /// Records a chunk's tokens (`None` when it had none); `has_text` says whether it had text.
    fn add_tokens(&mut self, tokens: Option<Vec<StreamedToken>>, has_text: bool) {
        match tokens {
            Some(tokens) => self.tokens.extend(tokens),
            None if has_text => self.logprobs_complete = false,
            None => {}
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn chunks_fill_their_candidates_until_they_finish() {
        let stops = vec!["<|end|>".to_owned()];
        let chunk = |json: &str| serde_json::from_str::<StreamChunk>(json).unwrap();
        let mut streamed = Streamed::default();
        streamed
            .apply(chunk(r#"{"choices":[{"index":1,"text":"b"},{"index":0,"text":"a"}]}"#), &stops);
        assert!(!streamed.all_finished(2));
        streamed.apply(
            chunk(r#"{"choices":[{"index":0,"text":"a<|end|>x"},{"index":1,"finish_reason":"length"}],"usage":{"prompt_tokens":9}}"#),
            &stops,
        );
        assert!(streamed.all_finished(2));
        assert_eq!(streamed.prompt_tokens, Some(9));
        assert_eq!(streamed.chunks, 3);
        let texts: Vec<(&str, Option<&FinishReason>)> = streamed
            .outputs
            .iter()
            .map(|output| (output.text.as_str(), output.finish.as_ref()))
            .collect();
        assert_eq!(
            texts,
            [
                ("aa<|end|>", Some(&FinishReason::Stop("<|end|>".to_owned()))),
                ("b", Some(&FinishReason::Length))
            ]
        );
        streamed.apply(chunk(r#"{"choices":[{"index":99,"text":"ignored"}]}"#), &stops);
        assert_eq!(streamed.outputs.len(), 2);
    }
}
