//! Continuation scores from the server: for each continuation, one `/completions` request for the
//! prompt and the continuation with `echo`, `logprobs` and a single generated token, whose answer
//! holds the log-probabilities of the prompt's tokens (see [`super::logprobs::echoed_score`]).
//! One token and not zero: vLLM refuses `max_tokens: 0`, and one more token costs next to nothing.
//!
//! A server that cannot do this (llama.cpp's server ignores `echo`; a chat-only server refuses
//! the request) is remembered after its first answer, and scoring returns `Ok(None)` from then on,
//! without asking again.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::logprobs::echoed_score;
use super::wire::server_error_detail;
use super::{Inner, error_text};
use crate::engine::model::{ContinuationScore, ModelError, ScoreRequest};

pub(super) async fn score(
    inner: &Inner,
    request: &ScoreRequest,
) -> Result<Option<Vec<ContinuationScore>>, ModelError> {
    if inner.chat || !inner.scores.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let _permit = inner.in_flight.acquire().await.map_err(|_| ModelError::BackendDead)?;
    let mut scores = Vec::with_capacity(request.continuations.len());
    for continuation in &request.continuations {
        let answer = echo(inner, &format!("{}{continuation}", request.prompt)).await?;
        match answer.and_then(|answer| echoed_score(&answer, &request.prompt, continuation)) {
            Some(score) => scores.push(score),
            None => {
                if inner.scores.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        "the inference server at {} does not return the log-probabilities of an echoed prompt; candidates are ranked without model scores",
                        inner.shown_endpoint
                    );
                }
                return Ok(None);
            }
        }
    }
    Ok(Some(scores))
}

/// The answer to one echoed completion request; `None` when the server refused it (a 4xx answer),
/// which means it cannot score.
async fn echo(inner: &Inner, text: &str) -> Result<Option<Value>, ModelError> {
    let mut body = json!({
        "prompt": text,
        "max_tokens": 1,
        "temperature": 0.0,
        "echo": true,
        "logprobs": 1,
        "stream": false,
    });
    if let Some(model) = inner.model.get() {
        body["model"] = Value::from(model.as_str());
    }
    let mut builder = inner
        .client
        .post(format!("{}/completions", inner.base))
        .timeout(inner.config.timeout)
        .json(&body);
    if let Some(key) = &inner.config.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    let failed = |detail: String| {
        ModelError::Remote(format!(
            "the scoring request to the inference server at {} failed: {detail}",
            inner.shown_endpoint
        ))
    };
    let response = builder.send().await.map_err(|error| failed(error_text(&error)))?;
    let status = response.status();
    if status.is_client_error() && status.as_u16() != 429 {
        return Ok(None);
    }
    let text = response.text().await.map_err(|error| failed(error_text(&error)))?;
    if !status.is_success() {
        let detail = inner.redact(&server_error_detail(&text));
        return Err(failed(format!("{status}: {detail}")));
    }
    Ok(serde_json::from_str(&text).ok())
}
