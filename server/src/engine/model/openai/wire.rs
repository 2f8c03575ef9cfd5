//! The JSON shapes of the OpenAI API that nextedit sends and reads: the body of a streamed
//! `/v1/completions` or `/v1/chat/completions` request, the streamed chunks, the model list and
//! error bodies.
//!
//! Reading is lenient, since servers differ: a field may be missing or null, and unknown fields
//! are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::logprobs::TOP_LOGPROBS;
use crate::engine::model::GenerationRequest;

/// The body of a streamed completion request. Fields that do not apply are left out, not sent as
/// `null`.
#[derive(Debug, Serialize)]
pub struct CompletionRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<&'a str>,
    /// The prompt of `/v1/completions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<&'a str>,
    /// The messages of `/v1/chat/completions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<ChatMessage>>,
    pub max_tokens: usize,
    pub temperature: f32,
    pub stream: bool,
    /// Sampling only; greedy decoding sends no `top_p`, `top_k`, `n` or `seed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Left out when 0 (top-k disabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// At most four stop strings, OpenAI's limit.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    /// A hint for llama-server: keep the prompt's KV cache for the next request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_prompt: Option<bool>,
    /// A hint: OpenAI's predicted output, the editable region as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction<'a>>,
    /// Log-probabilities of the generated tokens: the number of alternatives per token for
    /// `/completions`, `true` for `/chat/completions` (which takes the number in `top_logprobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// `{"type": "content", "content": …}`.
#[derive(Debug, Serialize)]
pub struct Prediction<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub content: &'a str,
}

impl<'a> CompletionRequest<'a> {
    /// The body for `request`. `chat` asks for a chat request, which it becomes when the prompt is
    /// a chat template (see [`chat_messages`]); `hints` adds `cache_prompt` and `prediction`;
    /// `logprobs` asks for the tokens' log-probabilities with [`TOP_LOGPROBS`] alternatives.
    pub fn new(
        request: &'a GenerationRequest,
        model: Option<&'a str>,
        chat: bool,
        hints: bool,
        logprobs: bool,
    ) -> CompletionRequest<'a> {
        let sampling = &request.sampling;
        let sampled = !sampling.is_greedy();
        let messages = if chat { chat_messages(&request.prompt) } else { None };
        let is_chat = messages.is_some();
        CompletionRequest {
            model,
            prompt: if messages.is_none() { Some(&request.prompt) } else { None },
            messages,
            max_tokens: request.max_tokens,
            temperature: sampling.temperature,
            stream: true,
            top_p: sampled.then_some(sampling.top_p),
            top_k: (sampled && sampling.top_k > 0).then_some(sampling.top_k),
            n: sampled.then_some(request.candidates.max(1)),
            seed: sampled.then_some(sampling.seed),
            stop: &request.stop[..request.stop.len().min(4)],
            cache_prompt: hints.then_some(true),
            prediction: request
                .draft
                .as_deref()
                .filter(|_| hints)
                .map(|content| Prediction { kind: "content", content }),
            logprobs: logprobs
                .then(|| if is_chat { Value::Bool(true) } else { Value::from(TOP_LOGPROBS) }),
            top_logprobs: (logprobs && is_chat).then_some(TOP_LOGPROBS),
        }
    }

    /// Whether this goes to `/chat/completions` rather than `/completions`.
    pub fn is_chat(&self) -> bool {
        self.messages.is_some()
    }
}

/// A chat-template prompt (`<|im_start|>role\n…<|im_end|>`, ending with an open assistant turn)
/// as chat messages; `None` when the prompt is not one.
pub fn chat_messages(prompt: &str) -> Option<Vec<ChatMessage>> {
    const START: &str = "<|im_start|>";
    const END: &str = "<|im_end|>";
    let rest = prompt.strip_suffix(&format!("{START}assistant\n"))?;
    let mut messages = Vec::new();
    for turn in rest.split(START).skip(1) {
        let turn = turn.trim_end_matches('\n');
        let turn = turn.strip_suffix(END)?;
        let (role, content) = turn.split_once('\n')?;
        messages.push(ChatMessage { role: role.to_owned(), content: content.to_owned() });
    }
    if !rest.starts_with(START) || messages.is_empty() {
        return None;
    }
    Some(messages)
}

/// One streamed event of either endpoint.
#[derive(Debug, Default, Deserialize)]
pub struct StreamChunk {
    #[serde(default)]
    pub choices: Option<Vec<StreamChoice>>,
    /// Sent by some servers, in the last chunk or in every one.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// An error reported in the middle of a stream; an [`ErrorBody`] of its own.
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamChoice {
    /// Which candidate this continues; 0 when missing.
    #[serde(default)]
    pub index: Option<u64>,
    /// The new text, from `/completions`.
    #[serde(default)]
    pub text: Option<String>,
    /// The new text, from `/chat/completions`.
    #[serde(default)]
    pub delta: Option<Delta>,
    /// `length` when the token limit ended the candidate; `stop` or another reason otherwise.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// The log-probabilities of this chunk's tokens, in one of the shapes
    /// [`super::logprobs::streamed_tokens`] reads; kept raw so that an unknown shape is no error.
    #[serde(default)]
    pub logprobs: Option<Value>,
}

impl StreamChoice {
    /// The text this chunk adds to its candidate, whichever endpoint sent it.
    pub fn text(&self) -> &str {
        self.text.as_deref().or_else(|| self.delta.as_ref()?.content.as_deref()).unwrap_or_default()
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
}

/// The answer of `/v1/models`.
#[derive(Debug, Default, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub data: Option<Vec<ModelEntry>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ModelEntry {
    #[serde(default)]
    pub id: Option<String>,
}

impl ModelList {
    /// The listed model ids, in order.
    pub fn ids(self) -> Vec<String> {
        self.data.into_iter().flatten().filter_map(|model| model.id).collect()
    }
}

/// An error answer. Servers disagree on its shape: OpenAI, vLLM and llama-server send
/// `{"error": {"message": …}}`, FastAPI-based servers `{"detail": …}`, others `{"message": …}`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: Option<NestedError>,
    #[serde(default)]
    pub message: Option<Value>,
    #[serde(default)]
    pub detail: Option<Value>,
}

/// The `error` field: an object with a `message`, or anything else (then unused).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NestedError {
    Object {
        #[serde(default)]
        message: Option<Value>,
    },
    Other(serde::de::IgnoredAny),
}

impl ErrorBody {
    /// The most specific message: `error.message`, else `message`, else `detail`.
    pub fn message(&self) -> Option<String> {
        let nested = match &self.error {
            Some(NestedError::Object { message }) => message.as_ref(),
            _ => None,
        };
        let message = nested.or(self.message.as_ref()).or(self.detail.as_ref())?;
        Some(match message {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }
}

/// The message of an error body (see [`ErrorBody`]), or the start of the body: at most 200
/// characters, without control characters.
pub fn server_error_detail(body: &str) -> String {
    let message = serde_json::from_str::<ErrorBody>(body)
        .ok()
        .and_then(|body| body.message())
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
    use crate::engine::model::Sampling;

    fn body(request: &GenerationRequest, model: Option<&str>, chat: bool, hints: bool) -> String {
        serde_json::to_string_pretty(&CompletionRequest::new(request, model, chat, hints, false))
            .unwrap()
    }

    #[test]
    fn a_greedy_completion_request_sends_no_sampling_fields() {
        let mut request = GenerationRequest::greedy("fn main() {", 32);
        request.stop = ["a", "b", "c", "d", "e"].map(str::to_owned).to_vec();
        request.draft = Some("region".to_owned());
        expect_test::expect![[r#"
            {
              "model": "m",
              "prompt": "fn main() {",
              "max_tokens": 32,
              "temperature": 0.0,
              "stream": true,
              "stop": [
                "a",
                "b",
                "c",
                "d"
              ],
              "cache_prompt": true,
              "prediction": {
                "type": "content",
                "content": "region"
              }
            }"#]]
        .assert_eq(&body(&request, Some("m"), false, true));
        expect_test::expect![[r#"
            {
              "prompt": "fn main() {",
              "max_tokens": 32,
              "temperature": 0.0,
              "stream": true,
              "stop": [
                "a",
                "b",
                "c",
                "d"
              ]
            }"#]]
        .assert_eq(&body(&request, None, true, false));
    }

    #[test]
    fn a_sampled_chat_request_sends_messages_and_sampling_fields() {
        let mut request = GenerationRequest::greedy(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
            8,
        );
        request.sampling = Sampling { temperature: 0.5, top_k: 0, top_p: 0.75, seed: 7 };
        request.candidates = 3;
        let built = CompletionRequest::new(&request, Some("m"), true, false, false);
        assert!(built.is_chat());
        expect_test::expect![[r#"
            {
              "model": "m",
              "messages": [
                {
                  "role": "system",
                  "content": "Be brief."
                },
                {
                  "role": "user",
                  "content": "hi"
                }
              ],
              "max_tokens": 8,
              "temperature": 0.5,
              "stream": true,
              "top_p": 0.75,
              "n": 3,
              "seed": 7
            }"#]]
        .assert_eq(&body(&request, Some("m"), true, false));
        request.sampling.top_k = 40;
        assert!(body(&request, Some("m"), true, false).contains("\"top_k\": 40"));
    }

    #[test]
    fn log_probabilities_are_asked_for_in_each_endpoints_own_way() {
        let request = GenerationRequest::greedy("fn main() {", 8);
        let completion = CompletionRequest::new(&request, None, false, false, true);
        let completion = serde_json::to_value(&completion).unwrap();
        assert_eq!(completion["logprobs"], serde_json::json!(TOP_LOGPROBS));
        assert!(completion.get("top_logprobs").is_none());
        let chat_request =
            GenerationRequest::greedy("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", 8);
        let chat = CompletionRequest::new(&chat_request, None, true, false, true);
        let chat = serde_json::to_value(&chat).unwrap();
        assert_eq!(chat["logprobs"], serde_json::json!(true));
        assert_eq!(chat["top_logprobs"], serde_json::json!(TOP_LOGPROBS));
    }

    #[test]
    fn chat_prompts_become_messages() {
        let prompt = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nline 1\nline 2<|im_end|>\n<|im_start|>assistant\n";
        let message = |role: &str, content: &str| ChatMessage {
            role: role.to_owned(),
            content: content.to_owned(),
        };
        assert_eq!(
            chat_messages(prompt),
            Some(vec![message("system", "Be brief."), message("user", "line 1\nline 2")])
        );
        assert_eq!(chat_messages("plain prompt"), None);
    }

    #[test]
    fn stream_chunks_of_both_endpoints_are_read() {
        let chunk: StreamChunk = serde_json::from_str(
            r#"{"choices":[{"index":1,"text":"a","finish_reason":null}],"usage":{"prompt_tokens":7},"error":null}"#,
        )
        .unwrap();
        let choices = chunk.choices.unwrap();
        assert_eq!((choices[0].index, choices[0].text()), (Some(1), "a"));
        assert_eq!(chunk.usage.unwrap().prompt_tokens, Some(7));
        assert!(chunk.error.is_none());
        let chunk: StreamChunk = serde_json::from_str(
            r#"{"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}],"usage":null}"#,
        )
        .unwrap();
        let choices = chunk.choices.unwrap();
        assert_eq!((choices[0].index, choices[0].text()), (None, "b"));
        assert_eq!(choices[0].finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn model_lists_keep_the_ids() {
        let list: ModelList = serde_json::from_str(
            r#"{"object":"list","data":[{"id":"a"},{"object":"model"},{"id":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(list.ids(), ["a", "b"]);
        assert!(serde_json::from_str::<ModelList>("{}").unwrap().ids().is_empty());
    }

    #[test]
    fn server_errors_are_summarised() {
        assert_eq!(
            server_error_detail(r#"{"error":{"message":"model not found"}}"#),
            "model not found"
        );
        assert_eq!(server_error_detail(r#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(server_error_detail(r#"{"error":"busy","message":"try later"}"#), "try later");
        assert_eq!(server_error_detail(r#"{"error":{"code":5}}"#), r#"{"error":{"code":5}}"#);
        assert_eq!(server_error_detail("Bad Gateway\n"), "Bad Gateway");
        assert_eq!(server_error_detail(""), "no details");
    }
}
