//! The model thread: it loads the model, owns its one long-lived context, and serves generation
//! jobs one at a time, keeping the KV cache between them.

use std::num::NonZeroU32;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaLoraAdapter, LlamaModel};
use llama_cpp_2::token::LlamaToken;

use super::{CRASH_PROMPT, LlamaConfig};
use crate::engine::model::decode::{
    self, DecodeOptions, Rng, SpeculationPolicy, Token, TokenModel,
};
use crate::engine::model::gguf::check_gguf;
use crate::engine::model::{
    BoxFuture, ContinuationScore, FinishReason, GeneratedText, Generation, GenerationRequest,
    GenerationStats, LoadProgress, ModelBackend, ModelError, ModelInfo, ScoreRequest,
};
use crate::engine::prompt::{ModelMetadata, PROBED_SPECIAL_TOKENS, detect};

/// llama.cpp's backend may be initialised once per process; every model shares it.
pub fn llama_backend() -> Result<&'static LlamaBackend, ModelError> {
    static BACKEND: OnceLock<Result<LlamaBackend, ModelError>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|error| {
                ModelError::LoadFailed(format!("cannot initialise llama.cpp: {error}"))
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Loads a model, blocking the calling thread until it is ready (use [`load_llama`] from async
/// code). The model thread keeps running until the returned backend is dropped.
pub fn load_llama_blocking(
    config: &LlamaConfig,
    progress: impl Fn(LoadProgress) + Send + 'static,
) -> Result<Arc<dyn ModelBackend>, ModelError> {
    check_gguf(&config.path)?;
    for lora in &config.lora {
        check_gguf(lora)?;
    }
    let backend = llama_backend()?;
    let (job_sender, job_receiver) = mpsc::channel::<Job>();
    let (ready_sender, ready_receiver) = mpsc::sync_channel(1);
    let alive = Arc::new(AtomicBool::new(true));
    let thread_alive = alive.clone();
    let thread_config = config.clone();
    thread::Builder::new()
        .name("nextedit-model".to_owned())
        .spawn(move || {
            model_thread(
                backend,
                &thread_config,
                Box::new(progress),
                job_receiver,
                ready_sender,
                thread_alive,
            )
        })
        .map_err(|error| {
            ModelError::LoadFailed(format!("cannot start the model thread: {error}"))
        })?;
    let (model, info) = ready_receiver.recv().unwrap_or_else(|_| {
        Err(ModelError::LoadFailed("the model thread stopped while loading".to_owned()))
    })?;
    Ok(Arc::new(LlamaHandle { jobs: job_sender, model, info, alive }))
}

struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

enum Job {
    Generate {
        request: GenerationRequest,
        reply: tokio::sync::oneshot::Sender<Result<Generation, ModelError>>,
    },
    Score {
        request: ScoreRequest,
        reply: tokio::sync::oneshot::Sender<Result<Option<Vec<ContinuationScore>>, ModelError>>,
    },
}

struct LlamaHandle {
    jobs: mpsc::Sender<Job>,
    model: Arc<LlamaModel>,
    info: ModelInfo,
    alive: Arc<AtomicBool>,
}

impl ModelBackend for LlamaHandle {
    fn generate(&self, request: GenerationRequest) -> BoxFuture<Result<Generation, ModelError>> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        if self.jobs.send(Job::Generate { request, reply }).is_err() {
            return Box::pin(async { Err(ModelError::BackendDead) });
        }
        Box::pin(async move { receiver.await.unwrap_or(Err(ModelError::BackendDead)) })
    }

    fn count_tokens(&self, text: &str) -> usize {
        tokenize(&self.model, text, false).len()
    }

    fn score(
        &self,
        request: ScoreRequest,
    ) -> BoxFuture<Result<Option<Vec<ContinuationScore>>, ModelError>> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        if self.jobs.send(Job::Score { request, reply }).is_err() {
            return Box::pin(async { Err(ModelError::BackendDead) });
        }
        Box::pin(async move { receiver.await.unwrap_or(Err(ModelError::BackendDead)) })
    }

    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }
}

fn tokenize(model: &LlamaModel, text: &str, add_bos: bool) -> Vec<LlamaToken> {
    model.vocab().tokenize(text.as_bytes(), add_bos, true)
}

type LoadResult = Result<(Arc<LlamaModel>, ModelInfo), ModelError>;

fn model_thread(
    backend: &'static LlamaBackend,
    config: &LlamaConfig,
    progress: Box<dyn Fn(LoadProgress) + Send>,
    jobs: mpsc::Receiver<Job>,
    ready: mpsc::SyncSender<LoadResult>,
    alive: Arc<AtomicBool>,
) {
    // Locals drop before parameters, so the flag is down before the job channel closes: a caller
    // who saw `BackendDead` also sees `is_alive() == false`.
    let _alive = AliveGuard(alive);
    let started = Instant::now();
    let progress: Rc<dyn Fn(LoadProgress)> = Rc::from(progress as Box<dyn Fn(LoadProgress)>);
    let callback_progress = progress.clone();
    let model_params = LlamaModelParams::default()
        .with_n_gpu_layers(config.gpu_layers)
        .with_progress_callback(move |fraction| {
            callback_progress(LoadProgress::Loading(fraction));
            true
        });
    let mut model = match LlamaModel::load_from_file(backend, &config.path, &model_params) {
        Ok(model) => model,
        Err(error) => {
            let _ = ready
                .send(Err(ModelError::LoadFailed(format!("{}: {error}", config.path.display()))));
            return;
        }
    };
    let mut adapters: Vec<LlamaLoraAdapter> = Vec::new();
    for path in &config.lora {
        match model.lora_adapter_init(path) {
            Ok(adapter) => adapters.push(adapter),
            Err(error) => {
                let _ = ready.send(Err(ModelError::LoadFailed(format!(
                    "LoRA adapter {}: {error}",
                    path.display()
                ))));
                return;
            }
        }
    }
    let model = Arc::new(model);

    progress(LoadProgress::CreatingContext);
    let threads = config.thread_count();
    let context_size = config.context_size.clamp(256, u32::MAX as usize);
    let batch_size = config.batch_size.clamp(64, context_size);
    let context_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(context_size as u32))
        .with_n_batch(batch_size as u32)
        .with_n_ubatch(batch_size as u32)
        .with_n_threads(threads as i32)
        .with_n_threads_batch(threads as i32)
        .with_swa_full(true);
    let mut context = match model.new_context(backend, context_params) {
        Ok(context) => context,
        Err(error) => {
            let _ = ready
                .send(Err(ModelError::LoadFailed(format!("cannot create a context: {error}"))));
            return;
        }
    };
    for adapter in &mut adapters {
        if let Err(error) = context.lora_adapter_set(adapter, 1.0) {
            let _ = ready
                .send(Err(ModelError::LoadFailed(format!("cannot apply a LoRA adapter: {error}"))));
            return;
        }
    }

    let mut metadata = model_metadata(&model);
    metadata.file_name = config.path.file_name().map(|name| name.to_string_lossy().into_owned());
    let detection = match config.format {
        Some(kind) => crate::engine::prompt::Detection {
            kind,
            fim_style: crate::engine::prompt::FimStyle::detect(&metadata),
            reason: "model.format in the config".to_owned(),
        },
        None => detect(&metadata),
    };
    tracing::info!(format = %detection.kind, "prompt format: {}", detection.reason);
    let info = ModelInfo {
        name: metadata.name.clone().unwrap_or_else(|| {
            config
                .path
                .file_stem()
                .map_or_else(|| "model".to_owned(), |stem| stem.to_string_lossy().into_owned())
        }),
        backend: "llama",
        path: Some(config.path.clone()),
        format: detection.kind,
        fim_style: detection.fim_style,
        format_reason: detection.reason,
        context_size,
        load_time: started.elapsed(),
        threads,
    };
    progress(LoadProgress::Ready);
    if ready.send(Ok((model.clone(), info))).is_err() {
        return;
    }

    let mut session = Session::new(&model, &mut context, batch_size, config.speculation);
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Generate { request, reply } => {
                let result = session.generate(&request, &|| reply.is_closed());
                let _ = reply.send(result);
            }
            Job::Score { request, reply } => {
                let result = session.score(&request, &|| reply.is_closed());
                let _ = reply.send(result.map(Some));
            }
        }
    }
}

/// Reads `general.name`, `general.architecture` and which probed special tokens the vocabulary
/// has: a string that is one token when special tokens are parsed and several when not.
pub fn model_metadata(model: &LlamaModel) -> ModelMetadata {
    let vocab = model.vocab();
    let special_tokens = PROBED_SPECIAL_TOKENS
        .iter()
        .filter(|token| {
            vocab.tokenize(token.as_bytes(), false, true).len() == 1
                && vocab.tokenize(token.as_bytes(), false, false).len() > 1
        })
        .map(|token| token.to_string())
        .collect();
    let other_names = [
        "general.basename",
        "general.finetune",
        "general.source.huggingface.repository",
        "general.base_model.0.name",
    ]
    .into_iter()
    .filter_map(|key| {
        let value = model.meta_val_str(key).ok()?;
        (!value.trim().is_empty()).then(|| (key.to_owned(), value))
    })
    .collect();
    ModelMetadata {
        name: model.meta_val_str("general.name").ok().filter(|name| !name.trim().is_empty()),
        architecture: model.meta_val_str("general.architecture").ok(),
        special_tokens,
        file_name: None,
        other_names,
    }
}

/// Rows of logits per batch when scoring. Every row is a vocabulary-sized vector in llama.cpp's
/// output buffer (a megabyte for Gemma 3's 262k tokens), which grows to the largest batch it has
/// seen; generation verifies at most `max_draft + 1` rows (33 by default), so scoring in batches
/// of that size needs no more memory than generation does.
const SCORE_BATCH_ROWS: usize = 32;

/// The model thread's state: the context, its batch and the mirror of the KV cache.
struct Session<'m, 'c> {
    model: &'m LlamaModel,
    context: &'c mut LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    batch_size: usize,
    /// The tokens whose KV entries are in the cache, in order (sequence 0).
    kv_tokens: Vec<Token>,
    /// Batch index of each row of logits of the last evaluation.
    logit_rows: Vec<i32>,
    policy: SpeculationPolicy,
}

impl<'m, 'c> Session<'m, 'c> {
    fn new(
        model: &'m LlamaModel,
        context: &'c mut LlamaContext<'m>,
        batch_size: usize,
        policy: SpeculationPolicy,
    ) -> Session<'m, 'c> {
        Session {
            model,
            context,
            batch: LlamaBatch::new(batch_size, 1),
            batch_size,
            kv_tokens: Vec::new(),
            logit_rows: Vec::new(),
            policy,
        }
    }

    fn generate(
        &mut self,
        request: &GenerationRequest,
        reply_dropped: &dyn Fn() -> bool,
    ) -> Result<Generation, ModelError> {
        if request.prompt == CRASH_PROMPT {
            panic!("model thread crash requested by a test");
        }
        if crate::fault::fire_once(crate::fault::Fault::ModelThreadDies) {
            panic!("model thread death injected by {}", crate::fault::FAULT_ENV_VAR);
        }
        let cancelled = || request.cancel.is_cancelled() || reply_dropped();
        let mut stats = GenerationStats::default();
        if cancelled() {
            stats.cancelled = true;
            return Ok(Generation { candidates: Vec::new(), stats });
        }
        let prompt: Vec<Token> =
            tokenize(self.model, &request.prompt, true).iter().map(|token| token.0).collect();
        let context_size = self.context_size();
        stats.prompt_tokens = prompt.len();
        if prompt.is_empty() {
            return Err(ModelError::Decode("the prompt is empty".to_owned()));
        }
        if prompt.len() + request.max_tokens.max(1) > context_size {
            return Err(ModelError::PromptTooLong { prompt_tokens: prompt.len(), context_size });
        }
        let result = self.generate_tokens(request, &prompt, &cancelled, &mut stats);
        if result.is_err() {
            // The cache no longer matches the mirror; start from scratch next time.
            self.context.clear_kv_cache();
            self.kv_tokens.clear();
        }
        let candidates = result?;
        Ok(Generation { candidates, stats })
    }

    fn generate_tokens(
        &mut self,
        request: &GenerationRequest,
        prompt: &[Token],
        cancelled: &dyn Fn() -> bool,
        stats: &mut GenerationStats,
    ) -> Result<Vec<GeneratedText>, ModelError> {
        let prefill_started = Instant::now();
        let (head, last) = prompt.split_at(prompt.len() - 1);
        let reused = self.prefill(head, cancelled)?;
        stats.reused_prompt_tokens = reused;
        stats.prefill_time = prefill_started.elapsed();
        if cancelled() {
            stats.cancelled = true;
            return Ok(Vec::new());
        }

        let draft: Vec<Token> = match &request.draft {
            Some(draft) => tokenize(self.model, draft, false).iter().map(|token| token.0).collect(),
            None => Vec::new(),
        };
        // Several candidates even for a greedy request: the first greedy, the others sampled
        // (see `candidate_sampling`); the same text twice counts once.
        let attempts = request.candidates.max(1);
        let decode_started = Instant::now();
        let mut candidates: Vec<GeneratedText> = Vec::with_capacity(attempts);
        for index in 0..attempts {
            if index > 0 {
                self.truncate(head.len())?;
            }
            let sampling = decode::candidate_sampling(&request.sampling, index);
            let options = DecodeOptions {
                max_tokens: request.max_tokens,
                stop: &request.stop,
                sampling,
                draft: &draft,
                speculate: request.draft.is_some(),
                resync_tokens: request.resync_tokens,
                policy: self.policy,
                cancelled,
            };
            let mut rng = Rng::new(sampling.seed);
            let outcome = decode::decode(self, head.len(), last[0], &options, &mut rng)?;
            self.kv_tokens.extend_from_slice(&outcome.kv_appended);
            stats.generated_tokens += outcome.tokens.len();
            stats.draft_tokens_proposed += outcome.draft_proposed;
            stats.draft_tokens_accepted += outcome.draft_accepted;
            stats.spliced_tokens += outcome.spliced_tokens;
            stats.decode_calls += outcome.decode_calls;
            if outcome.cancelled {
                stats.cancelled = true;
                stats.decode_time = decode_started.elapsed();
                return Ok(Vec::new());
            }
            if candidates.iter().any(|candidate| candidate.text == outcome.text) {
                continue;
            }
            let mean_logprob = if outcome.tokens.is_empty() {
                0.0
            } else {
                (outcome.logprob_sum / outcome.tokens.len() as f64) as f32
            };
            let finish = outcome.finish.unwrap_or(FinishReason::EndOfText);
            candidates.push(GeneratedText {
                text: outcome.text,
                mean_logprob,
                finish,
                tokens: outcome.token_logprobs,
                copy_logprob: outcome.copy_logprob,
            });
        }
        stats.decode_time = decode_started.elapsed();
        Ok(candidates)
    }

    /// Scores each continuation after the prompt: the prompt is prefilled once (reusing the cached
    /// prefix, as for generation), then each continuation is evaluated on top of it in batches
    /// with logits for every row, and its KV cells are removed again, so the cache ends up holding
    /// the prompt minus its last token, ready for a generation with the same prompt.
    fn score(
        &mut self,
        request: &ScoreRequest,
        reply_dropped: &dyn Fn() -> bool,
    ) -> Result<Vec<ContinuationScore>, ModelError> {
        let cancelled = || request.cancel.is_cancelled() || reply_dropped();
        if cancelled() {
            return Err(ModelError::Cancelled);
        }
        let prompt: Vec<Token> =
            tokenize(self.model, &request.prompt, true).iter().map(|token| token.0).collect();
        let Some((&last, head)) = prompt.split_last() else {
            return Err(ModelError::Decode("the prompt is empty".to_owned()));
        };
        let continuations: Vec<Vec<Token>> = request
            .continuations
            .iter()
            .map(|text| tokenize(self.model, text, false).iter().map(|token| token.0).collect())
            .collect();
        let longest = continuations.iter().map(Vec::len).max().unwrap_or(0);
        let context_size = self.context_size();
        if prompt.len() + longest > context_size {
            return Err(ModelError::PromptTooLong {
                prompt_tokens: prompt.len() + longest,
                context_size,
            });
        }
        let result = self.score_tokens(head, last, &continuations, &cancelled);
        if result.is_err() {
            // The cache no longer matches the mirror; start from scratch next time.
            self.context.clear_kv_cache();
            self.kv_tokens.clear();
        }
        result
    }

    fn score_tokens(
        &mut self,
        head: &[Token],
        last: Token,
        continuations: &[Vec<Token>],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Vec<ContinuationScore>, ModelError> {
        self.prefill(head, cancelled)?;
        if cancelled() {
            return Err(ModelError::Cancelled);
        }
        let mut scores = Vec::with_capacity(continuations.len());
        for continuation in continuations {
            // The inputs are the last prompt token and the continuation but its last token; row
            // `i` of the logits predicts continuation token `i`.
            let mut inputs = Vec::with_capacity(continuation.len());
            inputs.push(last);
            inputs.extend_from_slice(&continuation[..continuation.len().saturating_sub(1)]);
            let mut logprob_sum = 0.0f64;
            let mut position = 0;
            while position < continuation.len() {
                if cancelled() {
                    TokenModel::truncate(self, head.len())?;
                    return Err(ModelError::Cancelled);
                }
                let end = (position + SCORE_BATCH_ROWS).min(continuation.len());
                self.eval(head.len() + position, &inputs[position..end], 0)?;
                for (row, &target) in continuation[position..end].iter().enumerate() {
                    logprob_sum += f64::from(decode::token_logprob(self.logits(row), target));
                }
                position = end;
            }
            TokenModel::truncate(self, head.len())?;
            scores.push(ContinuationScore { logprob_sum, tokens: continuation.len() });
        }
        Ok(scores)
    }

    /// Makes the cache hold exactly `tokens`, keeping the common prefix with what it holds.
    /// Returns how many tokens were kept.
    fn prefill(
        &mut self,
        tokens: &[Token],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<usize, ModelError> {
        let common = self
            .kv_tokens
            .iter()
            .zip(tokens)
            .take_while(|(cached, wanted)| cached == wanted)
            .count();
        let kept = if self.truncate(common).is_ok() {
            common
        } else {
            self.context.clear_kv_cache();
            self.kv_tokens.clear();
            0
        };
        let mut position = kept;
        while position < tokens.len() {
            if cancelled() {
                break;
            }
            let end = (position + self.batch_size).min(tokens.len());
            let chunk = &tokens[position..end];
            self.eval(position, chunk, chunk.len())?;
            self.kv_tokens.extend_from_slice(chunk);
            position = end;
        }
        Ok(kept)
    }

    fn truncate(&mut self, len: usize) -> Result<(), ModelError> {
        self.kv_tokens.truncate(len);
        TokenModel::truncate(self, len)
    }
}

impl TokenModel for Session<'_, '_> {
    fn eval(
        &mut self,
        start: usize,
        tokens: &[Token],
        logits_from: usize,
    ) -> Result<(), ModelError> {
        self.batch.clear();
        self.logit_rows.clear();
        for (index, &token) in tokens.iter().enumerate() {
            let wants_logits = index >= logits_from;
            self.batch
                .add(LlamaToken(token), (start + index) as i32, &[0], wants_logits)
                .map_err(|error| ModelError::Decode(error.to_string()))?;
            if wants_logits {
                self.logit_rows.push(index as i32);
            }
        }
        self.context.decode(&mut self.batch).map_err(|error| ModelError::Decode(error.to_string()))
    }

    fn logits(&self, row: usize) -> &[f32] {
        self.context.get_logits_ith(self.logit_rows[row])
    }

    fn truncate(&mut self, len: usize) -> Result<(), ModelError> {
        self.context
            .kv_cache_seq_rm(0, Some(len as u32), None)
            .map_err(|error| ModelError::Decode(format!("cannot trim the KV cache: {error}")))
    }

    fn piece(&self, token: Token) -> Vec<u8> {
        self.model.vocab().token_to_piece(LlamaToken(token), true, None)
    }

    fn is_end_of_generation(&self, token: Token) -> bool {
        self.model.vocab().is_eog(LlamaToken(token))
    }

    fn context_size(&self) -> usize {
        self.context.n_ctx() as usize
    }
}
