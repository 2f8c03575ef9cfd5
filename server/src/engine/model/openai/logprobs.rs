//! Log-probabilities from an OpenAI-compatible server: the two shapes servers send them in, the
//! tokens of a candidate aligned with its text, the copy probability at the first divergence from
//! the draft, and continuation scores from an echoed prompt.
//!
//! The shapes:
//! - one entry per token, `{"content": [{"token", "logprob", "bytes", "top_logprobs": [{"token",
//!   "logprob", "bytes"}]}]}`: chat completions everywhere, and llama.cpp's server on both
//!   endpoints;
//! - parallel arrays, `{"tokens": [..], "token_logprobs": [..], "top_logprobs": [{token:
//!   logprob}], "text_offset": [..]}`: the completions endpoint of OpenAI and vLLM.
//!
//! Reading is lenient: a shape that does not parse counts as no log-probabilities, never as an
//! error, since the text is what matters and the log-probabilities only gate it.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::engine::model::{ContinuationScore, TokenLogprob};

/// Alternatives asked for per token: the most OpenAI's completions endpoint allows.
pub const TOP_LOGPROBS: usize = 5;

/// One streamed token: its bytes, its log-probability and the alternatives the server listed.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedToken {
    pub bytes: Vec<u8>,
    pub logprob: f32,
    pub alternatives: Vec<(Vec<u8>, f32)>,
}

#[derive(Debug, Default, Deserialize)]
struct ChoiceLogprobs {
    #[serde(default)]
    content: Option<Vec<ContentEntry>>,
    #[serde(default)]
    tokens: Option<Vec<String>>,
    #[serde(default)]
    token_logprobs: Option<Vec<Option<f64>>>,
    #[serde(default)]
    top_logprobs: Option<Vec<Option<Map<String, Value>>>>,
    #[serde(default)]
    text_offset: Option<Vec<u64>>,
}

#[derive(Debug, Deserialize)]
struct ContentEntry {
    #[serde(flatten)]
    token: ContentToken,
    #[serde(default)]
    top_logprobs: Option<Vec<ContentToken>>,
}

/// A token in the per-token `content` shape: the chosen one or one of its alternatives.
#[derive(Debug, Deserialize)]
struct ContentToken {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    bytes: Option<Vec<u8>>,
    #[serde(default)]
    logprob: Option<f64>,
}

impl ContentToken {
    /// The token's bytes (`bytes` when the server sent them: exact, also for a token that ends
    /// inside a character; else the token's text) and its log-probability.
    fn into_parts(self) -> Option<(Vec<u8>, f32)> {
        let bytes = self.bytes.or_else(|| self.token.map(String::into_bytes))?;
        Some((bytes, self.logprob? as f32))
    }
}

/// The tokens of a choice's `logprobs` field, in either shape; `None` when there are none or the
/// shape is unknown. A token without a log-probability makes the whole list unusable.
pub fn streamed_tokens(logprobs: &Value) -> Option<Vec<StreamedToken>> {
    let parsed = ChoiceLogprobs::deserialize(logprobs).ok()?;
    if let Some(content) = parsed.content {
        return content
            .into_iter()
            .map(|entry| {
                let alternatives = entry
                    .top_logprobs
                    .into_iter()
                    .flatten()
                    .filter_map(ContentToken::into_parts)
                    .collect();
                let (bytes, logprob) = entry.token.into_parts()?;
                Some(StreamedToken { bytes, logprob, alternatives })
            })
            .collect();
    }
    let tokens = parsed.tokens?;
    let logprobs = parsed.token_logprobs?;
    if tokens.len() != logprobs.len() {
        return None;
    }
    let mut tops = parsed.top_logprobs.unwrap_or_default().into_iter();
    tokens
        .into_iter()
        .zip(logprobs)
        .map(|(token, logprob)| {
            let alternatives = tops
                .next()
                .flatten()
                .into_iter()
                .flatten()
                .filter_map(|(text, logprob)| Some((text.into_bytes(), logprob.as_f64()? as f32)))
                .collect();
            Some(StreamedToken {
                bytes: token.into_bytes(),
                logprob: logprob? as f32,
                alternatives,
            })
        })
        .collect()
}

/// The candidate's tokens as [`TokenLogprob`]s over its final `text`, and the copy probability.
///
/// The tokens' bytes must spell the start of `text` (or all of it and more: the server may list
/// tokens of a stop string it did not send, and nextedit cuts the text after its own stop
/// strings); otherwise the server's tokens do not describe this text and there are none. Tokens
/// that start at or after the end of `text` are dropped, a token's end is clamped to the text and
/// moved up to a character boundary.
pub fn align_tokens(
    text: &str,
    tokens: &[StreamedToken],
    draft: Option<&str>,
) -> (Vec<TokenLogprob>, Option<f32>) {
    let spelled: Vec<u8> = tokens.iter().flat_map(|token| token.bytes.iter().copied()).collect();
    let common = spelled.len().min(text.len());
    if tokens.is_empty() || spelled[..common] != text.as_bytes()[..common] {
        return (Vec::new(), None);
    }
    let mut aligned = Vec::with_capacity(tokens.len());
    let mut start = 0;
    for token in tokens {
        if start >= text.len() {
            break;
        }
        start += token.bytes.len();
        let mut end = start.min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        aligned.push(TokenLogprob { end, logprob: token.logprob });
    }
    let copy = draft.and_then(|draft| copy_logprob(tokens, draft.as_bytes()));
    (aligned, copy)
}

/// At the first token that leaves `draft`, the log-probability of the draft's own next text among
/// the alternatives (the longest alternative the draft continues with); `None` when the output
/// never leaves the draft, leaves it at its end, or the draft's text is not among the
/// alternatives.
fn copy_logprob(tokens: &[StreamedToken], draft: &[u8]) -> Option<f32> {
    let mut start = 0;
    for token in tokens {
        let rest = &draft[start.min(draft.len())..];
        if rest.starts_with(&token.bytes) {
            start += token.bytes.len();
            continue;
        }
        if rest.is_empty() {
            return None;
        }
        return token
            .alternatives
            .iter()
            .filter(|(bytes, _)| !bytes.is_empty() && rest.starts_with(bytes))
            .max_by(|a, b| a.0.len().cmp(&b.0.len()).then(a.1.total_cmp(&b.1)))
            .map(|&(_, logprob)| logprob);
    }
    None
}

/// The score of `continuation` from the answer to an echoed completion request for
/// `prompt + continuation` (the completions endpoint with `echo`, `logprobs` and one generated
/// token). `None` when the answer does not hold the log-probabilities of the prompt: the server
/// does not support `echo`.
///
/// A token belongs to the continuation when it ends after the prompt and starts before the
/// generated token; one that straddles the boundary counts, since the continuation changes it.
/// Offsets are in characters, as servers count them.
pub fn echoed_score(answer: &Value, prompt: &str, continuation: &str) -> Option<ContinuationScore> {
    let logprobs = answer.get("choices")?.get(0)?.get("logprobs")?;
    let parsed = ChoiceLogprobs::deserialize(logprobs).ok()?;
    let tokens = parsed.tokens?;
    let logprobs = parsed.token_logprobs?;
    if tokens.len() != logprobs.len() || tokens.len() < 2 {
        return None;
    }
    let starts: Vec<u64> = match parsed.text_offset {
        Some(offsets) if offsets.len() == tokens.len() => offsets,
        _ => tokens
            .iter()
            .scan(0u64, |offset, token| {
                let start = *offset;
                *offset += token.chars().count() as u64;
                Some(start)
            })
            .collect(),
    };
    let prompt_end = prompt.chars().count() as u64;
    let full_end = prompt_end + continuation.chars().count() as u64;
    // The prompt must be there from its start, and the text must reach the continuation's end.
    let last_end = starts.last()? + tokens.last()?.chars().count() as u64;
    if starts[0] != 0 || last_end < full_end {
        return None;
    }
    let mut score = ContinuationScore { logprob_sum: 0.0, tokens: 0 };
    for (index, start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(last_end);
        if end > prompt_end && *start < full_end {
            score.logprob_sum += logprobs[index]?;
            score.tokens += 1;
        }
    }
    Some(score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(text: &str, logprob: f32, alternatives: &[(&str, f32)]) -> StreamedToken {
        StreamedToken {
            bytes: text.as_bytes().to_vec(),
            logprob,
            alternatives: alternatives
                .iter()
                .map(|&(text, logprob)| (text.as_bytes().to_vec(), logprob))
                .collect(),
        }
    }

    #[test]
    fn both_shapes_are_read() {
        let content = json!({"content": [
            {"id": 5, "token": "fn", "bytes": [102, 110], "logprob": -0.5,
             "top_logprobs": [{"id": 5, "token": "fn", "bytes": [102, 110], "logprob": -0.5},
                              {"id": 6, "token": "let", "logprob": -1.5}]},
            {"token": " main", "logprob": -0.25, "top_logprobs": []}
        ]});
        assert_eq!(
            streamed_tokens(&content),
            Some(vec![
                token("fn", -0.5, &[("fn", -0.5), ("let", -1.5)]),
                token(" main", -0.25, &[])
            ])
        );
        let arrays = json!({"tokens": ["fn", " main"], "token_logprobs": [-0.5, -0.25],
            "top_logprobs": [{"fn": -0.5}, null], "text_offset": [0, 2]});
        assert_eq!(
            streamed_tokens(&arrays),
            Some(vec![token("fn", -0.5, &[("fn", -0.5)]), token(" main", -0.25, &[])])
        );
        assert_eq!(streamed_tokens(&Value::Null), None);
        assert_eq!(streamed_tokens(&json!({"content": null})), None);
        assert_eq!(streamed_tokens(&json!({"content": [{"token": "a", "logprob": null}]})), None);
        assert_eq!(streamed_tokens(&json!("garbage")), None);
    }

    #[test]
    fn tokens_align_with_the_text_and_stop_at_its_end() {
        let tokens = [token("let", -0.1, &[]), token(" x", -0.2, &[]), token(" =<|", -0.3, &[])];
        let (aligned, _) = align_tokens("let x =", &tokens, None);
        let ends: Vec<usize> = aligned.iter().map(|token| token.end).collect();
        assert_eq!(ends, [3, 5, 7]);
        // A text the tokens do not spell gets none.
        assert_eq!(align_tokens("let y =", &tokens, None), (Vec::new(), None));
        // A token that ends inside a character ends at the character's end.
        let split = [
            StreamedToken { bytes: vec![b'a', 0xC3], logprob: -0.1, alternatives: Vec::new() },
            StreamedToken { bytes: vec![0xA9, b'b'], logprob: -0.2, alternatives: Vec::new() },
        ];
        let (aligned, _) = align_tokens("aéb", &split, None);
        assert_eq!(aligned.iter().map(|token| token.end).collect::<Vec<_>>(), [3, 4]);
    }

    #[test]
    fn the_copy_logprob_is_the_drafts_text_among_the_alternatives() {
        let draft = "let x = 1;\n";
        let tokens = [
            token("let", -0.1, &[]),
            token(" x", -0.1, &[]),
            token(" +=", -0.4, &[(" +=", -0.4), (" =", -1.9), (" ", -3.0)]),
            token(" 1;\n", -0.1, &[]),
        ];
        let text = "let x += 1;\n";
        assert_eq!(align_tokens(text, &tokens, Some(draft)).1, Some(-1.9));
        // The draft's text not among the alternatives: unknown.
        let unlisted = [token("let", -0.1, &[]), token(" y", -0.5, &[(" y", -0.5)])];
        assert_eq!(align_tokens("let y", &unlisted, Some(draft)).1, None);
        // Never leaving the draft, or leaving it at its end: nothing to report.
        assert_eq!(align_tokens("let", &tokens[..1], Some(draft)).1, None);
        assert_eq!(align_tokens("let", &tokens[..1], Some("let")).1, None);
        let longer = [token("let", -0.1, &[]), token("!", -0.1, &[("x", -1.0)])];
        assert_eq!(align_tokens("let!", &longer, Some("let")).1, None);
    }

    #[test]
    fn echoed_answers_score_the_continuation_tokens() {
        let answer = json!({"choices": [{"text": "fn main() {}!", "logprobs": {
            "tokens": ["fn", " main", "()", " {", "}", "!"],
            "token_logprobs": [null, -1.0, -0.5, -0.25, -0.125, -2.0],
            "text_offset": [0, 2, 7, 9, 11, 12]
        }}]});
        let score = echoed_score(&answer, "fn main", "() {}").unwrap();
        assert_eq!(score, ContinuationScore { logprob_sum: -0.875, tokens: 3 });
        // A token straddling the boundary counts.
        let score = echoed_score(&answer, "fn ma", "in() {}").unwrap();
        assert_eq!(score.tokens, 4);
        // Without offsets, they are counted from the tokens.
        let mut no_offsets = answer.clone();
        no_offsets["choices"][0]["logprobs"]["text_offset"] = Value::Null;
        assert_eq!(
            echoed_score(&no_offsets, "fn main", "() {}"),
            Some(ContinuationScore { logprob_sum: -0.875, tokens: 3 })
        );
        // Only the generated token (a server without echo): no score.
        let unechoed = json!({"choices": [{"text": "!", "logprobs": {"content": [
            {"token": "!", "logprob": -2.0}]}}]});
        assert_eq!(echoed_score(&unechoed, "fn main", "() {}"), None);
        let short = json!({"choices": [{"logprobs": {"tokens": ["fn", " main"],
            "token_logprobs": [null, -1.0], "text_offset": [0, 2]}}]});
        assert_eq!(echoed_score(&short, "fn main", "() {}"), None);
    }
}
