//! The decode loop, independent of llama.cpp: token choice (greedy or sampled), prompt-lookup
//! speculation, resynchronisation with the draft, stop strings, limits and cancellation.
//!
//! Every step evaluates one batch: the pending token (chosen but not yet in the KV cache) followed
//! by up to `k` draft tokens, with logits for every row. Row `i` gives the choice after the pending
//! token and the first `i` draft tokens; draft tokens are accepted while they equal the choice, and
//! the first choice that differs (or the one after the last draft token) becomes the new pending
//! token. Each accepted token is exactly what one-token-at-a-time decoding would have chosen from
//! the same logits, so greedy output does not depend on speculation (up to llama.cpp's batched
//! arithmetic, which can flip near-ties).
//!
//! Drafting follows the output through the draft: while the output matches it, the next draft
//! tokens are proposed positionally; after a divergence, the last 2-4 output tokens are looked up
//! in the draft and what follows the match is proposed (nothing when there is no match). The draft
//! length adapts: it doubles after a fully accepted draft and halves after a rejection.
//!
//! Resynchronisation: once the output has diverged from the draft and its last `K` tokens, all
//! produced after the divergence, match the draft at or after the divergence point, the rest of the
//! draft is appended without running the model.

use super::{FinishReason, ModelError, Sampling, TokenLogprob};

pub type Token = i32;

/// What the decode loop needs from a model and its context.
pub trait TokenModel {
    /// Evaluates `tokens` at positions `start..start + tokens.len()`; the KV cache must hold exactly
    /// `start` tokens. Logits are computed for rows `logits_from..tokens.len()` only.
    fn eval(
        &mut self,
        start: usize,
        tokens: &[Token],
        logits_from: usize,
    ) -> Result<(), ModelError>;
    /// Logits of row `row` of the last [`TokenModel::eval`] (which must have asked for it).
    fn logits(&self, row: usize) -> &[f32];
    /// Drops the KV cache from position `len` on.
    fn truncate(&mut self, len: usize) -> Result<(), ModelError>;
    /// The bytes of a token (special tokens rendered as their text).
    fn piece(&self, token: Token) -> Vec<u8>;
    fn is_end_of_generation(&self, token: Token) -> bool;
    fn context_size(&self) -> usize;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeculationPolicy {
    pub initial_draft: usize,
    pub min_draft: usize,
    pub max_draft: usize,
    /// Longest n-gram looked up to re-align with the draft; the shortest is 2.
    pub max_ngram: usize,
}

impl Default for SpeculationPolicy {
    fn default() -> SpeculationPolicy {
        SpeculationPolicy { initial_draft: 16, min_draft: 4, max_draft: 32, max_ngram: 4 }
    }
}

pub struct DecodeOptions<'a> {
    pub max_tokens: usize,
    pub stop: &'a [String],
    pub sampling: Sampling,
    /// Draft tokens; empty disables speculation and resynchronisation.
    pub draft: &'a [Token],
    pub speculate: bool,
    pub resync_tokens: Option<usize>,
    pub policy: SpeculationPolicy,
    /// Checked between batches.
    pub cancelled: &'a dyn Fn() -> bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeOutcome {
    /// Tokens produced by the model (spliced draft tokens excluded).
    pub tokens: Vec<Token>,
    /// The output text, cut after a stop string, with any spliced draft tail.
    pub text: String,
    pub finish: Option<FinishReason>,
    /// The sum of the log-probabilities of `tokens`.
    pub logprob_sum: f64,
    /// One entry per token of `tokens`: where it ends in `text` and its log-probability.
    pub token_logprobs: Vec<TokenLogprob>,
    /// At the first output token that left the draft, the log-probability of the draft's token.
    pub copy_logprob: Option<f32>,
    pub draft_proposed: usize,
    pub draft_accepted: usize,
    pub spliced_tokens: usize,
    pub decode_calls: usize,
    pub cancelled: bool,
    /// Tokens now in the KV cache after the `kv_len` it started with.
    pub kv_appended: Vec<Token>,
}

/// A small deterministic random number generator (SplitMix64): a seed gives the same numbers on
/// every machine (sampling, and the synthetic sequences of `nextedit mine`).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0.0..1.0`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The temperature of the extra candidates of a greedy request. Below 1 the distribution is
/// sharpened: where the model is sure (copying the unchanged lines, most of a region) the samples
/// still follow the greedy text, and they only branch where a few tokens are close (which is where
/// the edit is). At 1 or above, a small model sampling a region of a hundred tokens or more
/// almost always derails somewhere in the copy, and such candidates only cost time.
pub const CANDIDATE_TEMPERATURE: f32 = 0.6;

/// The nucleus of the extra candidates of a greedy request: it cuts the long tail of unlikely
/// tokens that a rare draw would otherwise pick.
pub const CANDIDATE_TOP_P: f32 = 0.95;

/// How candidate `index` of a request is decoded. A greedy request's first candidate is greedy
/// and the others are sampled at [`CANDIDATE_TEMPERATURE`]; a sampled request samples every
/// candidate at its own settings. Candidate `index` draws with the seed `sampling.seed + index`,
/// so a request's candidates are the same every time for the same seed.
pub fn candidate_sampling(sampling: &Sampling, index: usize) -> Sampling {
    let seed = sampling.seed.wrapping_add(index as u64);
    if !sampling.is_greedy() {
        return Sampling { seed, ..*sampling };
    }
    if index == 0 {
        return Sampling { seed, ..Sampling::GREEDY };
    }
    Sampling { temperature: CANDIDATE_TEMPERATURE, top_k: 0, top_p: CANDIDATE_TOP_P, seed }
}

/// Chooses a token from logits: the argmax when greedy, else a sample after temperature, top-k and
/// top-p. Returns the token and its log-probability under the unmodified distribution.
pub fn choose_token(logits: &[f32], sampling: &Sampling, rng: &mut Rng) -> (Token, f32) {
    let (argmax, max) =
        logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (index, &logit)| {
            if logit > best.1 { (index, logit) } else { best }
        });
    let log_sum = log_sum_exp(logits, max);
    if sampling.is_greedy() || logits.is_empty() {
        return (argmax as Token, logits.get(argmax).map_or(0.0, |&logit| logit - log_sum));
    }
    let top_k = if sampling.top_k == 0 { 64 } else { sampling.top_k.min(logits.len()) };
    let mut candidates: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
    let nth = top_k.saturating_sub(1).min(candidates.len() - 1);
    candidates.select_nth_unstable_by(nth, |a, b| b.1.total_cmp(&a.1));
    candidates.truncate(top_k);
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    let temperature = sampling.temperature.max(1e-3);
    let scaled_max = candidates[0].1 / temperature;
    let mut weights: Vec<f64> = candidates
        .iter()
        .map(|&(_, logit)| f64::from(logit / temperature - scaled_max).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    if sampling.top_p < 1.0 {
        let mut cumulative = 0.0;
        let mut keep = weights.len();
        for (index, weight) in weights.iter().enumerate() {
            cumulative += weight / total;
            if cumulative >= f64::from(sampling.top_p) {
                keep = index + 1;
                break;
            }
        }
        weights.truncate(keep);
        candidates.truncate(keep);
    }
    let total: f64 = weights.iter().sum();
    let mut threshold = rng.next_f64() * total;
    let mut chosen = candidates[candidates.len() - 1].0;
    for (index, weight) in weights.iter().enumerate() {
        if threshold < *weight {
            chosen = candidates[index].0;
            break;
        }
        threshold -= weight;
    }
    (chosen as Token, logits[chosen] - log_sum)
}

/// `ln(sum(exp(logits)))`, given the largest logit.
fn log_sum_exp(logits: &[f32], max: f32) -> f32 {
    max + logits.iter().map(|&logit| (logit - max).exp()).sum::<f32>().ln()
}

/// The log-probability of `token` under the softmax of `logits` (the raw logits: no temperature).
/// Negative infinity for a token outside the vocabulary.
pub fn token_logprob(logits: &[f32], token: Token) -> f32 {
    let Some(&logit) = usize::try_from(token).ok().and_then(|index| logits.get(index)) else {
        return f32::NEG_INFINITY;
    };
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    logit - log_sum_exp(logits, max)
}

/// Tracks where the output stands relative to the draft.
struct DraftTracker<'a> {
    draft: &'a [Token],
    policy: SpeculationPolicy,
    /// The draft index the next output token is expected to match, while aligned.
    aligned: Option<usize>,
    draft_length: usize,
    /// The draft index at the first divergence: resynchronisation matches start there or later.
    first_divergence: Option<usize>,
    /// Output length at the latest divergence.
    last_divergence_output_len: usize,
}

impl<'a> DraftTracker<'a> {
    fn new(draft: &'a [Token], policy: SpeculationPolicy) -> DraftTracker<'a> {
        DraftTracker {
            draft,
            policy,
            aligned: Some(0),
            draft_length: policy.initial_draft,
            first_divergence: None,
            last_divergence_output_len: 0,
        }
    }

    /// Draft tokens to verify next, at most `limit`.
    fn propose(&mut self, output: &[Token], limit: usize) -> &'a [Token] {
        let limit = limit.min(self.draft_length);
        if limit == 0 || self.draft.is_empty() {
            return &[];
        }
        if self.aligned.is_none() {
            self.aligned = self.lookup(output);
        }
        match self.aligned {
            Some(start) if start < self.draft.len() => {
                let end = (start + limit).min(self.draft.len());
                &self.draft[start..end]
            }
            _ => &[],
        }
    }

    /// The draft index after the longest (2 to `max_ngram` tokens) match of the output's tail,
    /// preferring the first match at or after the first divergence.
    fn lookup(&self, output: &[Token]) -> Option<usize> {
        let floor = self.first_divergence.unwrap_or(0);
        for n in (2..=self.policy.max_ngram.min(output.len())).rev() {
            let tail = &output[output.len() - n..];
            let mut first_any = None;
            for start in 0..self.draft.len().saturating_sub(n - 1) {
                if &self.draft[start..start + n] == tail {
                    if start >= floor {
                        return Some(start + n);
                    }
                    first_any.get_or_insert(start + n);
                }
            }
            if first_any.is_some() {
                return first_any;
            }
        }
        None
    }

    /// Records one output token (`output_len` counts it).
    fn observe(&mut self, token: Token, output_len: usize) {
        match self.aligned {
            Some(index) if self.draft.get(index) == Some(&token) => self.aligned = Some(index + 1),
            Some(index) => {
                self.first_divergence.get_or_insert(index);
                self.last_divergence_output_len = output_len;
                self.aligned = None;
            }
            // Not aligned: the divergence was recorded when alignment was lost.
            None => {}
        }
    }

    fn verified(&mut self, proposed: usize, accepted: usize) {
        if proposed == 0 {
            return;
        }
        self.draft_length = if accepted == proposed {
            (self.draft_length * 2).min(self.policy.max_draft)
        } else {
            (self.draft_length / 2).max(self.policy.min_draft)
        };
    }

    /// Where the rest of the draft starts, once the output has resynchronised with it: its last
    /// `k` tokens occur exactly once in the draft from the divergence on. An n-gram that occurs
    /// several times (repetitive code) does not say where the output is, so it waits for a unique
    /// one.
    fn resync_point(&self, output: &[Token], k: usize) -> Option<usize> {
        let floor = self.first_divergence?;
        if k == 0 || output.len() < self.last_divergence_output_len + k {
            return None;
        }
        let tail = &output[output.len() - k..];
        let mut matches = (floor..self.draft.len().saturating_sub(k - 1))
            .filter(|&start| &self.draft[start..start + k] == tail);
        let first = matches.next()?;
        match matches.next() {
            Some(_) => None,
            None => Some(first + k),
        }
    }
}

/// Generates one candidate. The KV cache holds `kv_len` tokens and `pending` (the last prompt
/// token) is not yet in it.
pub fn decode(
    model: &mut dyn TokenModel,
    kv_len: usize,
    pending: Token,
    options: &DecodeOptions<'_>,
    rng: &mut Rng,
) -> Result<DecodeOutcome, ModelError> {
    let mut outcome = DecodeOutcome::default();
    let mut tracker = DraftTracker::new(options.draft, options.policy);
    let mut bytes: Vec<u8> = Vec::new();
    // Where each token of `outcome.tokens` ends in `bytes`, and its log-probability.
    let mut token_ends: Vec<usize> = Vec::new();
    let mut logprobs: Vec<f32> = Vec::new();
    // The output has matched the draft token for token so far (the copy probability is taken at
    // the first token where it stops doing so).
    let mut copying = !options.draft.is_empty();
    let mut kv_len = kv_len;
    let mut pending = pending;
    let max_stop_len = options.stop.iter().map(String::len).max().unwrap_or(0);
    let context_size = model.context_size();

    loop {
        if (options.cancelled)() {
            outcome.cancelled = true;
            break;
        }
        let remaining = options.max_tokens.saturating_sub(outcome.tokens.len());
        if remaining == 0 {
            outcome.finish = Some(FinishReason::Length);
            break;
        }
        if kv_len + 1 > context_size {
            outcome.finish = Some(FinishReason::ContextFull);
            break;
        }
        let room = (context_size - kv_len - 1).min(remaining - 1);
        let draft = if options.speculate { tracker.propose(&outcome.tokens, room) } else { &[] };

        let mut batch = Vec::with_capacity(draft.len() + 1);
        batch.push(pending);
        batch.extend_from_slice(draft);
        model.eval(kv_len, &batch, 0)?;
        outcome.decode_calls += 1;
        outcome.kv_appended.push(pending);
        kv_len += 1;

        // Accept draft tokens while they equal the model's choice; the first differing choice (or
        // the choice after the last draft token) becomes the next pending token.
        let mut new_tokens = Vec::with_capacity(draft.len() + 1);
        let mut accepted = 0;
        let mut next_pending = None;
        for row in 0..=draft.len() {
            let logits = model.logits(row);
            let (token, logprob) = choose_token(logits, &options.sampling, rng);
            // Row `row` chooses output token number `outcome.tokens.len() + row`: every earlier
            // choice of this batch was an accepted draft token, which is kept unless generation
            // ends, and then nothing after it matters.
            if copying {
                match options.draft.get(outcome.tokens.len() + row) {
                    Some(&expected) if expected == token => {}
                    Some(&expected) => {
                        outcome.copy_logprob = Some(token_logprob(logits, expected));
                        copying = false;
                    }
                    None => copying = false,
                }
            }
            new_tokens.push((token, logprob));
            if row < draft.len() && draft[row] == token {
                accepted += 1;
            } else {
                next_pending = Some(token);
                break;
            }
        }
        outcome.draft_proposed += draft.len();
        outcome.draft_accepted += accepted;
        tracker.verified(draft.len(), accepted);
        if accepted < draft.len() {
            model.truncate(kv_len + accepted)?;
        }
        outcome.kv_appended.extend_from_slice(&draft[..accepted]);
        kv_len += accepted;

        let mut finished = false;
        for &(token, logprob) in &new_tokens {
            if model.is_end_of_generation(token) {
                outcome.finish = Some(FinishReason::EndOfText);
                finished = true;
                break;
            }
            outcome.tokens.push(token);
            outcome.logprob_sum += f64::from(logprob);
            tracker.observe(token, outcome.tokens.len());
            let checked_from = bytes.len().saturating_sub(max_stop_len);
            bytes.extend_from_slice(&model.piece(token));
            token_ends.push(bytes.len());
            logprobs.push(logprob);
            if let Some(end) = find_stop(&bytes, checked_from, options.stop) {
                bytes.truncate(end.0);
                outcome.finish = Some(FinishReason::Stop(end.1));
                finished = true;
                break;
            }
            if outcome.tokens.len() >= options.max_tokens {
                outcome.finish = Some(FinishReason::Length);
                finished = true;
                break;
            }
            if let Some(k) = options.resync_tokens
                && let Some(rest) = tracker.resync_point(&outcome.tokens, k)
            {
                let tail = &options.draft[rest..];
                outcome.spliced_tokens = tail.len();
                let checked_from = bytes.len().saturating_sub(max_stop_len);
                for &token in tail {
                    bytes.extend_from_slice(&model.piece(token));
                }
                outcome.finish = Some(match find_stop(&bytes, checked_from, options.stop) {
                    Some((end, stop)) => {
                        bytes.truncate(end);
                        FinishReason::Stop(stop)
                    }
                    None => FinishReason::Resync,
                });
                finished = true;
                break;
            }
        }
        if finished {
            break;
        }
        // The loop above always ends on a choice that is not an accepted draft token.
        let Some(next_pending) = next_pending else {
            return Err(ModelError::Decode("speculation lost its pending token".to_owned()));
        };
        pending = next_pending;
    }
    // A stop string can end inside the last token.
    for end in &mut token_ends {
        *end = (*end).min(bytes.len());
    }
    let (text, text_ends) = text_and_offsets(&bytes, &token_ends);
    outcome.text = text;
    outcome.token_logprobs = text_ends
        .into_iter()
        .zip(logprobs)
        .map(|(end, logprob)| TokenLogprob { end, logprob })
        .collect();
    Ok(outcome)
}

/// The text of `bytes` as [`String::from_utf8_lossy`] makes it, and each of the sorted `offsets`
/// into `bytes` mapped into that text: an offset inside a character (a token can end in the middle
/// of a multi-byte character) or inside an invalid sequence moves to the end of that character or
/// of its replacement character, so every mapped offset is a character boundary.
fn text_and_offsets(bytes: &[u8], offsets: &[usize]) -> (String, Vec<usize>) {
    let mut text = String::with_capacity(bytes.len());
    // (end in `bytes`, end in `text`) of every character.
    let mut char_ends: Vec<(usize, usize)> = Vec::with_capacity(bytes.len());
    let mut raw_end = 0;
    for chunk in bytes.utf8_chunks() {
        for character in chunk.valid().chars() {
            raw_end += character.len_utf8();
            text.push(character);
            char_ends.push((raw_end, text.len()));
        }
        if !chunk.invalid().is_empty() {
            raw_end += chunk.invalid().len();
            text.push(char::REPLACEMENT_CHARACTER);
            char_ends.push((raw_end, text.len()));
        }
    }
    let mapped = offsets
        .iter()
        .map(|&offset| {
            let index = char_ends.partition_point(|&(raw, _)| raw < offset);
            match (offset, char_ends.get(index)) {
                (0, _) => 0,
                (_, Some(&(_, text_end))) => text_end,
                (_, None) => text.len(),
            }
        })
        .collect();
    (text, mapped)
}

/// The end of the first stop string found in `bytes` at or after `from`, and the stop string.
fn find_stop(bytes: &[u8], from: usize, stop: &[String]) -> Option<(usize, String)> {
    stop.iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| {
            let needle = stop.as_bytes();
            bytes[from..]
                .windows(needle.len())
                .position(|window| window == needle)
                .map(|index| (from + index + needle.len(), stop.clone()))
        })
        .min_by_key(|(end, _)| *end)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const NOT_CANCELLED: &dyn Fn() -> bool = &|| false;

    /// A toy model over a byte vocabulary (token = byte). It "wants" to write `target` after the
    /// prompt: while the output so far is a prefix of `target`, the next target byte gets the top
    /// logit; once the output leaves `target`, it writes `'?'`. Token 0 ends generation.
    pub(crate) struct ToyModel {
        pub prompt_len: usize,
        pub target: Vec<u8>,
        pub sequence: Vec<Token>,
        pub rows: Vec<Vec<f32>>,
        pub evals: usize,
        pub evaluated_tokens: usize,
    }

    impl ToyModel {
        pub(crate) fn new(prompt: &[Token], target: &str) -> ToyModel {
            ToyModel {
                prompt_len: prompt.len(),
                target: target.bytes().chain([0]).collect(),
                sequence: prompt[..prompt.len() - 1].to_vec(),
                rows: Vec::new(),
                evals: 0,
                evaluated_tokens: 0,
            }
        }

        fn next_logits(&self, sequence: &[Token]) -> Vec<f32> {
            let output = &sequence[self.prompt_len.min(sequence.len())..];
            let follows_target = output.len() < self.target.len()
                && output
                    .iter()
                    .zip(&self.target)
                    .all(|(&token, &byte)| token == Token::from(byte));
            let wanted = if follows_target {
                Token::from(self.target[output.len()])
            } else {
                Token::from(b'?')
            };
            let mut logits = vec![0.0; 256];
            logits[wanted as usize] = 10.0;
            logits
        }
    }

    impl TokenModel for ToyModel {
        fn eval(
            &mut self,
            start: usize,
            tokens: &[Token],
            logits_from: usize,
        ) -> Result<(), ModelError> {
            assert_eq!(start, self.sequence.len(), "the KV cache must hold exactly `start` tokens");
            self.evals += 1;
            self.evaluated_tokens += tokens.len();
            self.rows.clear();
            for (row, &token) in tokens.iter().enumerate() {
                self.sequence.push(token);
                if row >= logits_from {
                    self.rows.push(self.next_logits(&self.sequence));
                }
            }
            Ok(())
        }

        fn logits(&self, row: usize) -> &[f32] {
            &self.rows[row]
        }

        fn truncate(&mut self, len: usize) -> Result<(), ModelError> {
            self.sequence.truncate(len);
            Ok(())
        }

        fn piece(&self, token: Token) -> Vec<u8> {
            vec![token as u8]
        }

        fn is_end_of_generation(&self, token: Token) -> bool {
            token == 0
        }

        fn context_size(&self) -> usize {
            4096
        }
    }

    fn tokens(text: &str) -> Vec<Token> {
        text.bytes().map(Token::from).collect()
    }

    fn run(
        target: &str,
        draft: &str,
        speculate: bool,
        resync: Option<usize>,
        stop: &[&str],
    ) -> (DecodeOutcome, usize) {
        let prompt = tokens("PROMPT:");
        let mut model = ToyModel::new(&prompt, target);
        let draft = tokens(draft);
        let stop: Vec<String> = stop.iter().map(|stop| stop.to_string()).collect();
        let options = DecodeOptions {
            max_tokens: 400,
            stop: &stop,
            sampling: Sampling::GREEDY,
            draft: &draft,
            speculate,
            resync_tokens: resync,
            policy: SpeculationPolicy::default(),
            cancelled: NOT_CANCELLED,
        };
        let outcome = decode(
            &mut model,
            prompt.len() - 1,
            *prompt.last().unwrap(),
            &options,
            &mut Rng::new(0),
        )
        .unwrap();
        // The KV mirror must match the toy model's sequence.
        let mut expected = prompt[..prompt.len() - 1].to_vec();
        expected.extend_from_slice(&outcome.kv_appended);
        assert_eq!(model.sequence, expected);
        (outcome, model.evals)
    }

    const REGION: &str = "fn area(w: f64, h: f64) -> f64 {\n    w * h\n}\n\nfn perimeter(w: f64, h: f64) -> f64 {\n    2.0 * (w + h)\n}\n[[END]]";

    #[test]
    fn speculation_gives_the_same_output_with_fewer_calls() {
        let target = REGION.replace("fn area(w: f64", "fn area(width: f64");
        let (plain, plain_calls) = run(&target, REGION, false, None, &["[[END]]"]);
        let (speculative, speculative_calls) = run(&target, REGION, true, None, &["[[END]]"]);
        assert_eq!(plain.text, target);
        assert_eq!(speculative.text, plain.text);
        assert_eq!(speculative.tokens, plain.tokens);
        assert_eq!(plain_calls, target.len());
        assert!(
            speculative_calls * 4 < plain_calls,
            "{speculative_calls} calls against {plain_calls}"
        );
        assert!(speculative.draft_accepted > target.len() / 2);
    }

    #[test]
    fn resync_splices_the_rest_of_the_draft() {
        let target = REGION.replace("fn area(w: f64", "fn area(width: f64");
        let (plain, plain_calls) = run(&target, REGION, false, None, &["[[END]]"]);
        let (resynced, calls) = run(&target, REGION, true, Some(16), &["[[END]]"]);
        assert_eq!(resynced.text, plain.text);
        assert_eq!(resynced.finish, Some(FinishReason::Stop("[[END]]".to_owned())));
        assert!(resynced.spliced_tokens > 50, "{}", resynced.spliced_tokens);
        assert!(calls * 2 < plain_calls, "{calls}");
        // Without speculation, resynchronisation alone also stops early.
        let (unspeculated, unspeculated_calls) =
            run(&target, REGION, false, Some(16), &["[[END]]"]);
        assert_eq!(unspeculated.text, plain.text);
        assert!(unspeculated_calls * 2 < plain_calls, "{unspeculated_calls}");
    }

    #[test]
    fn resync_waits_for_an_unambiguous_match() {
        // The draft lost a line whose text repeats further down: matching the repeated text must
        // not resynchronise with the later copy.
        let draft = "a = 1;\nX = 0;\nc = 3;\nb = 2;\nd = 4;\nb = 2;\ne = 5;\n[[END]]";
        let target = "a = 1;\nb = 2;\nc = 3;\nb = 2;\nd = 4;\nb = 2;\ne = 5;\n[[END]]";
        let (plain, _) = run(target, draft, false, None, &["[[END]]"]);
        let (resynced, _) = run(target, draft, true, Some(6), &["[[END]]"]);
        assert_eq!(plain.text, target);
        assert_eq!(resynced.text, target);
    }

    #[test]
    fn resync_waits_for_a_divergence() {
        // Unchanged output: never resynchronised, generated (speculatively) to the end.
        let (unchanged, _) = run(REGION, REGION, true, Some(4), &["[[END]]"]);
        assert_eq!(unchanged.text, REGION);
        assert_eq!(unchanged.spliced_tokens, 0);
    }

    #[test]
    fn deletions_and_insertions_realign_the_draft() {
        let deleted = REGION.replace("fn area(w: f64, h: f64) -> f64 {\n    w * h\n}\n\n", "");
        let inserted = REGION.replace("    w * h\n", "    let a = w * h;\n    a\n");
        for target in [deleted, inserted] {
            let (plain, _) = run(&target, REGION, false, None, &["[[END]]"]);
            let (speculative, _) = run(&target, REGION, true, None, &["[[END]]"]);
            let (resynced, _) = run(&target, REGION, true, Some(16), &["[[END]]"]);
            assert_eq!(plain.text, target);
            assert_eq!(speculative.text, target);
            assert_eq!(resynced.text, target);
        }
    }

    #[test]
    fn stops_on_end_of_generation_and_max_tokens() {
        let (outcome, _) = run("short", REGION, true, None, &[]);
        assert_eq!(outcome.text, "short");
        assert_eq!(outcome.finish, Some(FinishReason::EndOfText));

        let prompt = tokens("P");
        let mut model = ToyModel::new(&prompt, REGION);
        let draft = tokens(REGION);
        let options = DecodeOptions {
            max_tokens: 10,
            stop: &[],
            sampling: Sampling::GREEDY,
            draft: &draft,
            speculate: true,
            resync_tokens: None,
            policy: SpeculationPolicy::default(),
            cancelled: NOT_CANCELLED,
        };
        let outcome = decode(&mut model, 0, prompt[0], &options, &mut Rng::new(0)).unwrap();
        assert_eq!(outcome.text, &REGION[..10]);
        assert_eq!(outcome.finish, Some(FinishReason::Length));
    }

    #[test]
    fn a_set_cancel_flag_stops_before_any_work() {
        let prompt = tokens("P");
        let mut model = ToyModel::new(&prompt, REGION);
        let options = DecodeOptions {
            max_tokens: 10,
            stop: &[],
            sampling: Sampling::GREEDY,
            draft: &[],
            speculate: false,
            resync_tokens: None,
            policy: SpeculationPolicy::default(),
            cancelled: &|| true,
        };
        let outcome = decode(&mut model, 0, prompt[0], &options, &mut Rng::new(0)).unwrap();
        assert!(outcome.cancelled);
        assert_eq!(model.evals, 0);
    }

    /// Checks the invariants of `token_logprobs` and returns the logprobs.
    fn check_token_logprobs(outcome: &DecodeOutcome) -> Vec<f32> {
        assert_eq!(outcome.token_logprobs.len(), outcome.tokens.len());
        let ends: Vec<usize> = outcome.token_logprobs.iter().map(|token| token.end).collect();
        assert!(ends.windows(2).all(|pair| pair[0] < pair[1]), "{ends:?}");
        assert!(ends.iter().all(|&end| outcome.text.is_char_boundary(end)));
        let logprobs: Vec<f32> = outcome.token_logprobs.iter().map(|token| token.logprob).collect();
        assert!(logprobs.iter().all(|&logprob| logprob <= 0.0), "{logprobs:?}");
        let sum: f64 = logprobs.iter().map(|&logprob| f64::from(logprob)).sum();
        assert!((sum - outcome.logprob_sum).abs() < 1e-3, "{sum} {}", outcome.logprob_sum);
        logprobs
    }

    #[test]
    fn every_generated_token_has_its_end_and_logprob_with_or_without_speculation() {
        let target = REGION.replace("fn area(w: f64", "fn area(width: f64");
        let (plain, _) = run(&target, REGION, false, None, &["[[END]]"]);
        let (speculative, _) = run(&target, REGION, true, None, &["[[END]]"]);
        // Byte tokens: token `i` ends at byte `i + 1`, and the last one ends the text.
        let plain_logprobs = check_token_logprobs(&plain);
        assert_eq!(plain.token_logprobs.last().unwrap().end, plain.text.len());
        assert_eq!(plain.token_logprobs[4].end, 5);
        // Accepted draft tokens carry the logprob of their verification row: the same numbers.
        assert_eq!(check_token_logprobs(&speculative), plain_logprobs);
        assert_eq!(speculative.token_logprobs, plain.token_logprobs);
        // The toy model gives the wanted byte logit 10 and the 255 others 0.
        let wanted = 10.0 - (10.0f32.exp() + 255.0).ln();
        assert!(plain_logprobs.iter().all(|&logprob| (logprob - wanted).abs() < 1e-4));
    }

    #[test]
    fn a_resynchronised_tail_has_no_tokens() {
        let target = REGION.replace("fn area(w: f64", "fn area(width: f64");
        let (resynced, _) = run(&target, REGION, true, Some(16), &["[[END]]"]);
        check_token_logprobs(&resynced);
        let generated = resynced.token_logprobs.last().unwrap().end;
        assert_eq!(generated, resynced.tokens.len());
        assert!(generated + 50 < resynced.text.len(), "{generated}");
    }

    #[test]
    fn the_copy_logprob_is_taken_where_the_output_first_leaves_the_draft() {
        let copy = 0.0 - (10.0f32.exp() + 255.0).ln();
        let target = REGION.replace("fn area(w: f64", "fn area(width: f64");
        for speculate in [false, true] {
            let (changed, _) = run(&target, REGION, speculate, None, &["[[END]]"]);
            let logprob = changed.copy_logprob.expect("the output left the draft");
            assert!((logprob - copy).abs() < 1e-4, "{logprob}");
        }
        // Ending early leaves the draft too: the draft's token was the copy.
        let (short, _) = run(&REGION[..20], REGION, true, None, &["[[END]]"]);
        assert_eq!(short.text, &REGION[..20]);
        assert!((short.copy_logprob.unwrap() - copy).abs() < 1e-4);
        // Unchanged output, or no draft: nothing to report.
        let (unchanged, _) = run(REGION, REGION, true, None, &["[[END]]"]);
        assert_eq!(unchanged.copy_logprob, None);
        let (undrafted, _) = run(&target, "", false, None, &["[[END]]"]);
        assert_eq!(undrafted.copy_logprob, None);
    }

    #[test]
    fn offsets_map_into_the_lossy_text_at_character_boundaries() {
        // "é" is two bytes: an offset between them moves to the end of the character.
        let (text, offsets) = text_and_offsets("aé€".as_bytes(), &[0, 1, 2, 3, 5, 6]);
        assert_eq!(text, "aé€");
        assert_eq!(offsets, [0, 1, 3, 3, 6, 6]);
        // An invalid byte becomes one replacement character (three bytes).
        let (text, offsets) = text_and_offsets(b"a\xffb", &[1, 2, 3]);
        assert_eq!(text, "a\u{FFFD}b");
        assert_eq!(offsets, [1, 4, 5]);
    }

    #[test]
    fn sampled_tokens_report_the_logprob_of_the_raw_logits() {
        let mut logits = vec![0.0f32; 100];
        logits[7] = 3.0;
        logits[8] = 2.5;
        let sampling = Sampling { temperature: 2.0, top_k: 0, top_p: 1.0, seed: 3 };
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let (token, logprob) = choose_token(&logits, &sampling, &mut rng);
            assert!((logprob - token_logprob(&logits, token)).abs() < 1e-5);
        }
        assert_eq!(token_logprob(&logits, 1000), f32::NEG_INFINITY);
    }

    #[test]
    fn a_greedy_request_samples_its_extra_candidates_with_their_own_seeds() {
        let greedy = Sampling { seed: 40, ..Sampling::GREEDY };
        assert_eq!(candidate_sampling(&greedy, 0), Sampling { seed: 40, ..Sampling::GREEDY });
        let second = candidate_sampling(&greedy, 2);
        assert!(!second.is_greedy());
        assert_eq!(second.temperature, CANDIDATE_TEMPERATURE);
        assert_eq!(second.seed, 42);
        let sampled = Sampling { temperature: 1.2, top_k: 5, top_p: 0.5, seed: u64::MAX };
        assert_eq!(candidate_sampling(&sampled, 1), Sampling { seed: 0, ..sampled });
    }

    #[test]
    fn sampling_respects_top_k_and_is_deterministic_per_seed() {
        let mut logits = vec![0.0f32; 100];
        logits[7] = 5.0;
        logits[8] = 4.9;
        logits[9] = 4.8;
        let sampling = Sampling { temperature: 1.0, top_k: 2, top_p: 1.0, seed: 1 };
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..50).map(|_| choose_token(&logits, &sampling, &mut rng).0).collect::<Vec<_>>()
        };
        let first = draw(1);
        assert_eq!(first, draw(1));
        assert!(first.iter().all(|&token| token == 7 || token == 8));
        assert!(first.contains(&7) && first.contains(&8));
        let (greedy, logprob) = choose_token(&logits, &Sampling::GREEDY, &mut Rng::new(0));
        assert_eq!(greedy, 7);
        assert!(logprob < 0.0 && logprob > -2.0);
    }
}
