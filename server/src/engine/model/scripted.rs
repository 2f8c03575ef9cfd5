//! A backend that answers with canned outputs, for deterministic tests of the prediction pipeline.
//! It applies stop strings and `max_tokens` the way the real backends do, counts tokens with a
//! simple deterministic rule, and records the requests it saw.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    BoxFuture, ContinuationScore, FinishReason, GeneratedText, Generation, GenerationRequest,
    GenerationStats, ModelBackend, ModelError, ModelInfo, ScoreRequest, TokenLogprob,
};
use crate::engine::prompt::PromptFormatKind;

type Script = dyn Fn(&GenerationRequest) -> String + Send + Sync;
type Scorer = dyn Fn(&str, &str) -> f64 + Send + Sync;

/// Scripted log-probabilities: every generated token that lies in the part of the output that
/// differs from the request's draft (after their common prefix and suffix) gets `changed`, every
/// other token `copied`; when the output differs from the draft, `copy_logprob` is `copy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptedLogprobs {
    pub changed: f32,
    pub copied: f32,
    pub copy: f32,
}

pub struct ScriptedBackend {
    script: Box<Script>,
    format: PromptFormatKind,
    /// A limit on generated tokens below the request's, like a server with its own cap.
    token_limit: Option<usize>,
    requests: Mutex<Vec<GenerationRequest>>,
    /// Cleared by [`ScriptedBackend::kill`]: then it fails like a llama backend whose thread died.
    alive: AtomicBool,
    logprobs: Option<ScriptedLogprobs>,
    /// `(prompt, continuation) -> logprob sum` for [`ModelBackend::score`]; `None` answers
    /// `Ok(None)` like a backend that cannot score.
    scorer: Option<Box<Scorer>>,
    scored: Mutex<Vec<ScoreRequest>>,
    /// Scripts for the second, third, ... candidate when a request asks for several.
    more_candidates: Vec<Box<Script>>,
}

impl ScriptedBackend {
    /// Answers the n-th request with `outputs[n]`; once they run out, with the draft (no change)
    /// or an empty string.
    pub fn new(outputs: Vec<String>) -> ScriptedBackend {
        let queue = Mutex::new(VecDeque::from(outputs));
        ScriptedBackend::from_fn(move |request| {
            let next = crate::locks::lock(&queue).pop_front();
            next.unwrap_or_else(|| request.draft.clone().unwrap_or_default())
        })
    }

    pub fn from_fn(
        script: impl Fn(&GenerationRequest) -> String + Send + Sync + 'static,
    ) -> ScriptedBackend {
        ScriptedBackend {
            script: Box::new(script),
            format: PromptFormatKind::Plain,
            token_limit: None,
            requests: Mutex::new(Vec::new()),
            alive: AtomicBool::new(true),
            logprobs: None,
            scorer: None,
            scored: Mutex::new(Vec::new()),
            more_candidates: Vec::new(),
        }
    }

    /// Answers a request for several candidates with this script's output as the next one.
    pub fn with_candidate(
        mut self,
        script: impl Fn(&GenerationRequest) -> String + Send + Sync + 'static,
    ) -> ScriptedBackend {
        self.more_candidates.push(Box::new(script));
        self
    }

    /// Reports per-token log-probabilities and the copy log-probability (see
    /// [`ScriptedLogprobs`]).
    pub fn with_logprobs(mut self, logprobs: ScriptedLogprobs) -> ScriptedBackend {
        self.logprobs = Some(logprobs);
        self
    }

    /// Answers [`ModelBackend::score`] with `scorer(prompt, continuation)` as the log-probability
    /// sum of each continuation.
    pub fn with_scorer(
        mut self,
        scorer: impl Fn(&str, &str) -> f64 + Send + Sync + 'static,
    ) -> ScriptedBackend {
        self.scorer = Some(Box::new(scorer));
        self
    }

    /// The score requests seen so far, oldest first.
    pub fn score_requests(&self) -> Vec<ScoreRequest> {
        crate::locks::lock(&self.scored).clone()
    }

    /// The prompt format [`ModelBackend::info`] reports (`plain` by default).
    pub fn with_format(mut self, format: PromptFormatKind) -> ScriptedBackend {
        self.format = format;
        self
    }

    /// Stops every generation after `limit` tokens whatever the request allows (the answer then
    /// ends for its length, truncated), like a server with its own cap.
    pub fn with_token_limit(mut self, limit: usize) -> ScriptedBackend {
        self.token_limit = Some(limit);
        self
    }

    /// The requests seen so far, oldest first.
    pub fn requests(&self) -> Vec<GenerationRequest> {
        crate::locks::lock(&self.requests).clone()
    }

    /// Makes the backend dead: later requests fail with [`ModelError::BackendDead`] and
    /// [`ModelBackend::is_alive`] turns false, as when the llama model thread dies.
    pub fn kill(&self) {
        self.alive.store(false, Ordering::SeqCst);
    }

    fn generate_now(&self, request: GenerationRequest) -> Generation {
        crate::locks::lock(&self.requests).push(request.clone());
        let prompt_tokens = count_scripted_tokens(&request.prompt);
        if request.cancel.is_cancelled() {
            let stats =
                GenerationStats { prompt_tokens, cancelled: true, ..GenerationStats::default() };
            return Generation { candidates: Vec::new(), stats };
        }
        let max_tokens =
            self.token_limit.map_or(request.max_tokens, |limit| limit.min(request.max_tokens));
        let scripts = std::iter::once(&self.script).chain(&self.more_candidates);
        let mut generated_tokens = 0;
        let mut candidates = Vec::new();
        for script in scripts.take(request.candidates.max(1)) {
            let (text, finish) = apply_limits(&script(&request), &request.stop, max_tokens);
            generated_tokens += count_scripted_tokens(&text);
            let mut candidate = GeneratedText::plain(text, finish);
            if let Some(logprobs) = self.logprobs {
                let draft = request.draft.as_deref().unwrap_or_default();
                (candidate.tokens, candidate.copy_logprob) =
                    scripted_logprobs(&candidate.text, draft, logprobs);
                if !candidate.tokens.is_empty() {
                    candidate.mean_logprob =
                        candidate.tokens.iter().map(|t| t.logprob).sum::<f32>()
                            / candidate.tokens.len() as f32;
                }
            }
            candidates.push(candidate);
        }
        Generation {
            candidates,
            stats: GenerationStats {
                prompt_tokens,
                generated_tokens,
                prefill_time: Duration::ZERO,
                decode_time: Duration::ZERO,
                ..GenerationStats::default()
            },
        }
    }
}

impl ModelBackend for ScriptedBackend {
    fn generate(&self, request: GenerationRequest) -> BoxFuture<Result<Generation, ModelError>> {
        if !self.is_alive() {
            return Box::pin(async { Err(ModelError::BackendDead) });
        }
        let generation = self.generate_now(request);
        Box::pin(async move { Ok(generation) })
    }

    fn count_tokens(&self, text: &str) -> usize {
        count_scripted_tokens(text)
    }

    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: "scripted".to_owned(),
            backend: "scripted",
            path: None,
            format: self.format,
            fim_style: None,
            format_reason: "the scripted backend's format".to_owned(),
            context_size: usize::MAX,
            load_time: Duration::ZERO,
            threads: 0,
        }
    }

    fn score(
        &self,
        request: ScoreRequest,
    ) -> BoxFuture<Result<Option<Vec<ContinuationScore>>, ModelError>> {
        crate::locks::lock(&self.scored).push(request.clone());
        let scores = self.scorer.as_ref().map(|scorer| {
            request
                .continuations
                .iter()
                .map(|continuation| ContinuationScore {
                    logprob_sum: scorer(&request.prompt, continuation),
                    tokens: count_scripted_tokens(continuation),
                })
                .collect()
        });
        Box::pin(async move { Ok(scores) })
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
}

/// The end of every scripted token of `text` (see [`count_scripted_tokens`]); white space other
/// than line breaks belongs to the token after it.
pub fn scripted_token_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((index, char)) = chars.next() {
        let word = |c: char| c.is_alphanumeric() || c == '_';
        if word(char) {
            let mut end = index + char.len_utf8();
            while let Some(&(next, c)) = chars.peek().filter(|&&(_, c)| word(c)) {
                end = next + c.len_utf8();
                chars.next();
            }
            ends.push(end);
        } else if !char.is_whitespace() || char == '\n' {
            ends.push(index + char.len_utf8());
        }
    }
    ends
}

fn scripted_logprobs(
    text: &str,
    draft: &str,
    logprobs: ScriptedLogprobs,
) -> (Vec<TokenLogprob>, Option<f32>) {
    let (prefix, suffix) = crate::text::common_affixes(draft, text);
    let changed = prefix..text.len() - suffix;
    let mut start = 0;
    let tokens = scripted_token_ends(text)
        .into_iter()
        .map(|end| {
            let inside = if changed.is_empty() {
                start <= changed.start && changed.start < end
            } else {
                start < changed.end && end > changed.start
            };
            start = end;
            let logprob = if inside && text != draft { logprobs.changed } else { logprobs.copied };
            TokenLogprob { end, logprob }
        })
        .collect();
    (tokens, (text != draft).then_some(logprobs.copy))
}

/// One token per word, per punctuation character and per line break.
pub fn count_scripted_tokens(text: &str) -> usize {
    let mut tokens = 0;
    let mut in_word = false;
    for char in text.chars() {
        if char.is_alphanumeric() || char == '_' {
            if !in_word {
                tokens += 1;
            }
            in_word = true;
        } else {
            in_word = false;
            if !char.is_whitespace() || char == '\n' {
                tokens += 1;
            }
        }
    }
    tokens
}

/// The answer a real next-edit model gives to `prompt` when its next edit replaces `from` by `to`
/// in its region, in that model's own shape and without the stop string (servers do not send it):
/// Sweep the new window, Zeta its start marker and the new region, Zeta 2 the new region (its stop
/// `>>>>>>> UPDATED` follows), Instinct the bare region without a final line break. The format is
/// read from the prompt (for Instinct, the chat template with its trained system prompt). `None`
/// for a prompt of no next-edit format. For the tests of both backends.
pub fn next_edit_answer(prompt: &str, from: &str, to: &str) -> Option<String> {
    let between = |start: &str, end: &str| -> Option<String> {
        let body = prompt.rfind(start)? + start.len();
        let length = prompt[body..].find(end)?;
        Some(prompt[body..body + length].to_owned())
    };
    if prompt.starts_with("<[fim-suffix]>") {
        let region = between("<<<<<<< CURRENT\n", "=======\n")?.replace("<|user_cursor|>", "");
        return Some(region.replacen(from, to, 1));
    }
    if prompt.starts_with("<|im_start|>system\nYou are Instinct") {
        let region = between("<|editable_region_start|>\n", "<|editable_region_end|>")?
            .replace("<|user_cursor_is_here|>", "");
        return Some(region.strip_suffix('\n').unwrap_or(&region).replacen(from, to, 1));
    }
    if prompt.contains("<|file_sep|>updated/") {
        let window = between("<|file_sep|>current/", "<|file_sep|>updated/")?;
        let window = &window[window.find('\n')? + 1..];
        return Some(window.replacen(from, to, 1));
    }
    if prompt.starts_with("### Instruction:") {
        let region = between("<|editable_region_start|>", "<|editable_region_end|>")?
            .replace("<|user_cursor_is_here|>", "");
        return Some(format!("<|editable_region_start|>{}", region.replacen(from, to, 1)));
    }
    None
}

/// Cuts `text` after the first stop string (kept) or after `max_tokens` scripted tokens.
fn apply_limits(text: &str, stop: &[String], max_tokens: usize) -> (String, FinishReason) {
    let first_stop = stop
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| text.find(stop.as_str()).map(|index| (index + stop.len(), stop)))
        .min_by_key(|(end, _)| *end);
    let (text, finish) = match first_stop {
        Some((end, stop)) => (&text[..end], FinishReason::Stop(stop.clone())),
        None => (text, FinishReason::EndOfText),
    };
    if count_scripted_tokens(text) <= max_tokens {
        return (text.to_owned(), finish);
    }
    let mut end = 0;
    for (index, char) in text.char_indices() {
        if count_scripted_tokens(&text[..index + char.len_utf8()]) > max_tokens {
            break;
        }
        end = index + char.len_utf8();
    }
    (text[..end].to_owned(), FinishReason::Length)
}

/// A scripted backend behind the trait object the pipeline uses.
pub fn scripted_backend(outputs: Vec<String>) -> Arc<dyn ModelBackend> {
    Arc::new(ScriptedBackend::new(outputs))
}

#[cfg(test)]
mod tests {
    use super::super::CancelFlag;
    use super::*;

    fn block_on<T>(future: BoxFuture<T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn answers_in_order_then_with_the_draft() {
        let backend =
            ScriptedBackend::new(vec!["first[[END]] tail".to_owned(), "second".to_owned()]);
        let mut request = GenerationRequest::greedy("prompt", 100);
        request.stop = vec!["[[END]]".to_owned()];
        request.draft = Some("draft[[END]]".to_owned());
        let texts: Vec<(String, FinishReason)> = (0..3)
            .map(|_| {
                let generation = block_on(backend.generate(request.clone())).unwrap();
                let candidate = generation.candidates[0].clone();
                (candidate.text, candidate.finish)
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                ("first[[END]]".to_owned(), FinishReason::Stop("[[END]]".to_owned())),
                ("second".to_owned(), FinishReason::EndOfText),
                ("draft[[END]]".to_owned(), FinishReason::Stop("[[END]]".to_owned())),
            ]
        );
        assert_eq!(backend.requests().len(), 3);
    }

    #[test]
    fn honours_max_tokens_and_cancellation() {
        let backend = ScriptedBackend::from_fn(|request| format!("echo {}", request.prompt));
        let generation =
            block_on(backend.generate(GenerationRequest::greedy("a b c d", 3))).unwrap();
        assert_eq!(generation.candidates[0].text, "echo a b ");
        assert_eq!(generation.candidates[0].finish, FinishReason::Length);

        let request = GenerationRequest::greedy("a", 3);
        request.cancel.cancel();
        let generation = block_on(backend.generate(request)).unwrap();
        assert!(generation.stats.cancelled);
        assert!(generation.candidates.is_empty());
    }

    #[test]
    fn reports_logprobs_of_the_changed_tokens_and_scores() {
        let logprobs = ScriptedLogprobs { changed: -2.0, copied: -0.1, copy: -3.0 };
        let backend = ScriptedBackend::new(vec!["let total = 1;".to_owned()])
            .with_logprobs(logprobs)
            .with_scorer(|_, continuation| -(continuation.len() as f64));
        let mut request = GenerationRequest::greedy("prompt", 100);
        request.draft = Some("let count = 1;".to_owned());
        let generation = block_on(backend.generate(request)).unwrap();
        let candidate = &generation.candidates[0];
        let ends: Vec<usize> = candidate.tokens.iter().map(|token| token.end).collect();
        assert_eq!(ends, vec![3, 9, 11, 13, 14]);
        let values: Vec<f32> = candidate.tokens.iter().map(|token| token.logprob).collect();
        assert_eq!(values, vec![-0.1, -2.0, -0.1, -0.1, -0.1]);
        assert_eq!(candidate.copy_logprob, Some(-3.0));
        let request = ScoreRequest {
            prompt: "p".to_owned(),
            continuations: vec!["ab".to_owned(), "abcd".to_owned()],
            cancel: CancelFlag::default(),
        };
        let scores = block_on(backend.score(request)).unwrap().unwrap();
        assert_eq!(scores[0].logprob_sum, -2.0);
        assert_eq!(scores[1].logprob_sum, -4.0);
        assert_eq!(backend.score_requests().len(), 1);
        // Without a scorer, the backend cannot score.
        let plain = ScriptedBackend::new(Vec::new());
        let request = ScoreRequest {
            prompt: "p".to_owned(),
            continuations: vec!["a".to_owned()],
            cancel: CancelFlag::default(),
        };
        assert_eq!(block_on(plain.score(request)).unwrap(), None);
    }

    #[test]
    fn counts_tokens_deterministically() {
        assert_eq!(count_scripted_tokens("fn main() {\n}"), 7);
        assert_eq!(count_scripted_tokens(""), 0);
    }
}
