//! The embedded llama backend against the real test model (Gemma 3 270M, Q4_K_M), through the
//! library's public API. The tests fail, with a message saying to run `scripts/fetch-model`, when
//! the model file is missing: `$NEXTEDIT_MODEL`, else the model cache directory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use nextedit::engine::model::llama::CRASH_PROMPT;
use nextedit::engine::model::synthetic::{REWRITE_TOKENS, rewrite_prompt, synthetic_code};
use nextedit::engine::model::{
    CancelFlag, ContinuationScore, FinishReason, GeneratedText, Generation, GenerationRequest,
    LlamaConfig, LoadProgress, ModelBackend, ModelError, ScoreRequest, llama_backend, load_llama,
    load_llama_blocking, test_model_path,
};
use nextedit::engine::prompt::PromptFormatKind;

fn model_path() -> PathBuf {
    test_model_path().unwrap_or_else(|message| panic!("{message}"))
}

fn config() -> LlamaConfig {
    let mut config = LlamaConfig::new(model_path());
    config.context_size = 2048;
    config
}

/// One backend shared by the tests that do not care what else is in its cache.
fn shared_backend() -> Arc<dyn ModelBackend> {
    static BACKEND: OnceLock<Arc<dyn ModelBackend>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            load_llama_blocking(&config(), |_| {}).unwrap_or_else(|error| panic!("{error}"))
        })
        .clone()
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
}

fn generate(backend: &dyn ModelBackend, request: GenerationRequest) -> Generation {
    block_on(backend.generate(request)).unwrap_or_else(|error| panic!("{error}"))
}

fn text(generation: &Generation) -> &str {
    &generation.candidates[0].text
}

#[test]
fn model_loads_reports_progress_and_generates() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let recorded = events.clone();
    let backend =
        block_on(load_llama(config(), move |progress| recorded.lock().unwrap().push(progress)))
            .unwrap_or_else(|error| panic!("{error}"));
    let events = events.lock().unwrap().clone();
    assert!(matches!(events.first(), Some(LoadProgress::Loading(_))), "{events:?}");
    assert_eq!(events.last(), Some(&LoadProgress::Ready));

    let info = backend.info();
    assert_eq!(info.format, PromptFormatKind::Plain, "{info:?}");
    assert_eq!(info.backend, "llama");
    assert!(info.name.to_lowercase().contains("gemma"), "{info:?}");
    assert!(backend.count_tokens("fn main() {}") > 2);

    let generation = generate(
        backend.as_ref(),
        GenerationRequest::greedy("fn add(a: i32, b: i32) -> i32 {\n", 12),
    );
    assert_eq!(generation.candidates.len(), 1);
    assert!(!text(&generation).is_empty());
    assert!(generation.stats.generated_tokens > 0 && generation.stats.generated_tokens <= 12);
    assert!(generation.stats.prompt_tokens > 5);
    assert!(generation.candidates[0].mean_logprob < 0.0);
}

#[test]
fn kv_cache_reuse_gives_the_same_greedy_output_as_a_cold_run() {
    // Its own backend: the test asserts what the cache holds.
    let backend = load_llama_blocking(&config(), |_| {}).unwrap_or_else(|error| panic!("{error}"));
    let base = synthetic_code(10, 12);
    let changed =
        format!("{}{}", &base[..base.len() - synthetic_code(21, 1).len()], synthetic_code(77, 1));
    let request = |prompt: &str| GenerationRequest::greedy(format!("{prompt}fn scale_"), 24);

    let first = generate(backend.as_ref(), request(&base));
    assert!(first.stats.reused_prompt_tokens <= 1, "{:?}", first.stats);
    let reused = generate(backend.as_ref(), request(&changed));
    let common = reused.stats.prompt_tokens - 2 * backend.count_tokens(&synthetic_code(77, 1));
    assert!(reused.stats.reused_prompt_tokens > common, "{:?}", reused.stats);

    // Evict the cache with an unrelated prompt, then run the changed prompt from scratch.
    generate(backend.as_ref(), GenerationRequest::greedy("Unrelated text.", 2));
    let cold = generate(backend.as_ref(), request(&changed));
    assert!(cold.stats.reused_prompt_tokens <= 1, "{:?}", cold.stats);
    assert_eq!(text(&reused), text(&cold));

    // The same prompt twice: everything but the last token is reused.
    let again = generate(backend.as_ref(), request(&changed));
    assert_eq!(again.stats.reused_prompt_tokens, again.stats.prompt_tokens - 1);
    assert_eq!(text(&again), text(&cold));
}

#[test]
fn speculation_and_resync_give_the_same_greedy_output_as_plain_decoding() {
    // Batched verification and one-token decoding are not bit-identical in llama.cpp, and a
    // near-tie in the logits could flip a choice. The model writes this output with high
    // confidence at every token (no near-ties), so the outputs must match exactly.
    let backend = shared_backend();
    let request = GenerationRequest::greedy(rewrite_prompt(), REWRITE_TOKENS);

    let plain = generate(backend.as_ref(), request.clone());
    let output = text(&plain).to_owned();
    let lines: Vec<&str> = output.split_inclusive('\n').collect();
    assert!(lines.len() >= 12, "the model should write several functions: {output:?}");
    assert_eq!(plain.candidates[0].finish, FinishReason::Length);

    let mut speculative = request.clone();
    speculative.draft = Some(output.clone());
    let speculative = generate(backend.as_ref(), speculative);
    assert_eq!(text(&speculative), output);
    assert!(
        speculative.stats.draft_tokens_accepted > speculative.stats.generated_tokens / 2,
        "{:?}",
        speculative.stats
    );
    assert!(
        speculative.stats.decode_calls * 3 < plain.stats.decode_calls,
        "{:?}",
        speculative.stats
    );

    // A draft that differs from the output in its second line: the output diverges there,
    // resynchronises after K tokens, and the rest of the draft is spliced in.
    let mut stale_lines = lines.clone();
    stale_lines[1] = "    // a line the model did not write\n";
    let mut resync = request.clone();
    resync.draft = Some(stale_lines.concat());
    resync.resync_tokens = Some(8);
    let resynced = generate(backend.as_ref(), resync.clone());
    assert_eq!(text(&resynced), output);
    assert!(resynced.stats.spliced_tokens > 100, "{:?}", resynced.stats);
    assert!(resynced.stats.generated_tokens < plain.stats.generated_tokens, "{:?}", resynced.stats);

    // Speculation alone with the stale draft re-aligns after the change.
    resync.resync_tokens = None;
    let speculative_stale = generate(backend.as_ref(), resync);
    assert_eq!(text(&speculative_stale), output);
}

#[test]
fn cancellation_stops_the_decode_loop() {
    let backend = shared_backend();
    let request = GenerationRequest::greedy(synthetic_code(300, 3), 1500);
    let cancel = request.cancel.clone();
    let future = backend.generate(request);
    cancel.cancel();
    let generation = block_on(future).unwrap_or_else(|error| panic!("{error}"));
    assert!(generation.stats.cancelled, "{:?}", generation.stats);
    assert!(generation.candidates.is_empty());
    assert!(generation.stats.generated_tokens < 1500);

    // The backend keeps serving after a cancellation.
    let after = generate(backend.as_ref(), GenerationRequest::greedy("fn main() {", 4));
    assert!(!after.stats.cancelled);
}

#[test]
fn broken_model_files_give_clear_errors() {
    let dir = std::env::temp_dir().join(format!("nextedit-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.gguf");
    let not_gguf = dir.join("not-gguf.gguf");
    std::fs::write(&not_gguf, "this is not a model\n").unwrap();
    let truncated = dir.join("truncated.gguf");
    let real = std::fs::read(model_path()).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 3]).unwrap();
    let header_only = dir.join("header-only.gguf");
    std::fs::write(&header_only, &real[..100]).unwrap();

    let load = |path: &PathBuf| match load_llama_blocking(&LlamaConfig::new(path.clone()), |_| {}) {
        Ok(_) => panic!("{} should not load", path.display()),
        Err(error) => error,
    };
    assert_eq!(load(&missing), ModelError::MissingFile(missing.clone()));
    assert_eq!(load(&not_gguf), ModelError::NotGguf(not_gguf.clone()));
    for path in [&truncated, &header_only] {
        let error = load(path);
        assert!(matches!(error, ModelError::Truncated { .. }), "{error}");
        assert!(error.to_string().contains("truncated"), "{error}");
    }
    let mut with_missing_lora = config();
    with_missing_lora.lora = vec![missing.clone()];
    assert!(matches!(
        load_llama_blocking(&with_missing_lora, |_| {}),
        Err(ModelError::MissingFile(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn llama_backend_is_initialised_once_and_shared() {
    let first = llama_backend().unwrap() as *const _;
    let second = llama_backend().unwrap() as *const _;
    assert_eq!(first, second);
    // Two models in one process share it.
    let one = shared_backend();
    let two = load_llama_blocking(&config(), |_| {}).unwrap_or_else(|error| panic!("{error}"));
    let prompt = "fn main() {\n    println!(";
    assert_eq!(
        text(&generate(one.as_ref(), GenerationRequest::greedy(prompt, 6))),
        text(&generate(two.as_ref(), GenerationRequest::greedy(prompt, 6)))
    );
}

#[test]
fn a_dead_model_thread_gives_backend_dead() {
    let backend = load_llama_blocking(&config(), |_| {}).unwrap_or_else(|error| panic!("{error}"));
    assert!(backend.is_alive());
    let crashed = block_on(backend.generate(GenerationRequest::greedy(CRASH_PROMPT, 1)));
    assert_eq!(crashed, Err(ModelError::BackendDead));
    let later = block_on(backend.generate(GenerationRequest::greedy("fn main() {", 4)));
    assert_eq!(later, Err(ModelError::BackendDead));
    assert!(!backend.is_alive());
}

#[test]
fn oversized_prompts_are_refused() {
    let backend = shared_backend();
    let result = block_on(backend.generate(GenerationRequest::greedy(synthetic_code(0, 200), 16)));
    assert!(matches!(result, Err(ModelError::PromptTooLong { .. })), "{result:?}");
}

/// Checks that `tokens` cover the generated text in order with log-probabilities, and returns
/// where the generated part ends.
fn check_token_logprobs(candidate: &GeneratedText) -> usize {
    let tokens = &candidate.tokens;
    assert!(!tokens.is_empty(), "{candidate:?}");
    assert!(tokens.windows(2).all(|pair| pair[0].end <= pair[1].end), "{tokens:?}");
    assert!(tokens[0].end > 0, "{tokens:?}");
    assert!(tokens.iter().all(|token| candidate.text.is_char_boundary(token.end)), "{tokens:?}");
    assert!(tokens.iter().all(|token| token.logprob <= 0.0), "{tokens:?}");
    tokens.last().unwrap().end
}

#[test]
fn generated_tokens_report_their_ends_and_log_probabilities() {
    let backend = shared_backend();
    let request = GenerationRequest::greedy(rewrite_prompt(), 60);
    let plain = generate(backend.as_ref(), request.clone());
    let candidate = &plain.candidates[0];
    assert_eq!(candidate.finish, FinishReason::Length);
    assert_eq!(candidate.tokens.len(), plain.stats.generated_tokens);
    assert_eq!(check_token_logprobs(candidate), candidate.text.len());
    let mean = candidate.tokens.iter().map(|token| token.logprob).sum::<f32>()
        / candidate.tokens.len() as f32;
    assert!((mean - candidate.mean_logprob).abs() < 1e-4, "{mean} {}", candidate.mean_logprob);
    assert_eq!(candidate.copy_logprob, None);

    // With the output as the draft, accepted draft tokens carry the logprobs of their
    // verification rows: the same numbers up to llama.cpp's batched arithmetic.
    let mut speculative = request.clone();
    speculative.draft = Some(candidate.text.clone());
    let speculative = generate(backend.as_ref(), speculative);
    let drafted = &speculative.candidates[0];
    assert_eq!(drafted.text, candidate.text);
    assert!(speculative.stats.draft_tokens_accepted > 0, "{:?}", speculative.stats);
    assert_eq!(check_token_logprobs(drafted), drafted.text.len());
    let ends = |candidate: &GeneratedText| -> Vec<usize> {
        candidate.tokens.iter().map(|token| token.end).collect()
    };
    assert_eq!(ends(drafted), ends(candidate));
    for (fast, slow) in drafted.tokens.iter().zip(&candidate.tokens) {
        assert!((fast.logprob - slow.logprob).abs() < 0.05, "{fast:?} {slow:?}");
    }
    assert_eq!(drafted.copy_logprob, None, "the output never left the draft");

    // A draft whose second line the model would not write: the copy probability at the
    // divergence is far below the probability of what the model wrote there.
    let mut lines: Vec<&str> = candidate.text.split_inclusive('\n').collect();
    lines[1] = "    // a line the model did not write\n";
    let mut stale = request.clone();
    stale.draft = Some(lines.concat());
    stale.resync_tokens = Some(8);
    let resynced = generate(backend.as_ref(), stale);
    let resynced = &resynced.candidates[0];
    assert_eq!(resynced.text, candidate.text);
    let generated = check_token_logprobs(resynced);
    assert!(generated < resynced.text.len(), "a spliced tail follows the generated tokens");
    let copy = resynced.copy_logprob.expect("the output left the draft");
    let diverged = lines[0].len() + 4;
    let chosen = resynced.tokens.iter().find(|token| token.end > diverged).unwrap();
    assert!(copy < chosen.logprob - 2.0, "copy {copy}, chosen {chosen:?}");
}

fn score(
    backend: &dyn ModelBackend,
    prompt: &str,
    continuations: &[&str],
) -> Vec<ContinuationScore> {
    let request = ScoreRequest {
        prompt: prompt.to_owned(),
        continuations: continuations.iter().map(|text| text.to_string()).collect(),
        cancel: CancelFlag::default(),
    };
    block_on(backend.score(request))
        .unwrap_or_else(|error| panic!("{error}"))
        .expect("the llama backend scores text")
}

#[test]
fn scores_prefer_the_likely_continuation_and_match_generation() {
    let backend = shared_backend();
    let prompt = rewrite_prompt();
    let generation = generate(backend.as_ref(), GenerationRequest::greedy(prompt.clone(), 40));
    let greedy = &generation.candidates[0];

    // A continuation that copies text from the prompt, and the same characters garbled.
    let copied = synthetic_code(7, 1);
    let garbled: String =
        copied.split_inclusive(' ').map(|word| word.chars().rev().collect::<String>()).collect();
    let scores = score(backend.as_ref(), &prompt, &[&greedy.text, &copied, &garbled, ""]);
    assert_eq!(scores.len(), 4);
    let per_token = |score: &ContinuationScore| score.logprob_sum / score.tokens as f64;
    assert!(per_token(&scores[1]) > per_token(&scores[2]) + 1.0, "{scores:?}");
    assert!(scores.iter().all(|score| score.logprob_sum <= 0.0), "{scores:?}");
    assert_eq!(scores[3], ContinuationScore { logprob_sum: 0.0, tokens: 0 });

    // The greedy text scores what generation reported for its tokens.
    assert_eq!(scores[0].tokens, greedy.tokens.len());
    let generated: f64 = greedy.tokens.iter().map(|token| f64::from(token.logprob)).sum();
    let tolerance = 0.02 * greedy.tokens.len() as f64;
    assert!((scores[0].logprob_sum - generated).abs() < tolerance, "{scores:?} {generated}");

    // Scoring leaves the cache holding the prompt: the next generation is unchanged.
    let again = generate(backend.as_ref(), GenerationRequest::greedy(prompt.clone(), 40));
    assert_eq!(text(&again), greedy.text);
    assert_eq!(again.stats.reused_prompt_tokens + 1, again.stats.prompt_tokens);

    // A cancelled request answers Cancelled.
    let cancel = CancelFlag::default();
    cancel.cancel();
    let request =
        ScoreRequest { prompt, continuations: vec![copied.clone()], cancel: cancel.clone() };
    assert_eq!(block_on(backend.score(request)), Err(ModelError::Cancelled));
}

#[test]
fn a_greedy_request_for_several_candidates_gets_distinct_ones_deterministically() {
    // Its own backend: the same seed gives the same draws only from the same logits, and the
    // logits of a prompt prefilled in other batch shapes (after another test's requests evicted
    // the cache) can differ in the last bits, enough to move a sampled draw across a boundary.
    let backend = load_llama_blocking(&config(), |_| {}).unwrap_or_else(|error| panic!("{error}"));
    let prompt = "// A small command-line tool.\nfn main() {\n";
    let greedy = generate(backend.as_ref(), GenerationRequest::greedy(prompt, 16));
    let request = |seed: u64| {
        let mut request = GenerationRequest::greedy(prompt, 16);
        request.candidates = 4;
        request.sampling.seed = seed;
        request
    };
    let texts = |generation: &Generation| -> Vec<String> {
        generation.candidates.iter().map(|candidate| candidate.text.clone()).collect()
    };
    let first = generate(backend.as_ref(), request(7));
    let first_texts = texts(&first);
    assert_eq!(first_texts[0], text(&greedy), "the first candidate is the greedy one");
    assert!((2..=4).contains(&first_texts.len()), "{first_texts:?}");
    for (index, candidate) in first_texts.iter().enumerate() {
        assert!(!first_texts[..index].contains(candidate), "duplicates: {first_texts:?}");
    }
    for candidate in &first.candidates {
        check_token_logprobs(candidate);
    }
    assert_eq!(texts(&generate(backend.as_ref(), request(7))), first_texts, "same seed");
    assert_ne!(texts(&generate(backend.as_ref(), request(1000))), first_texts, "another seed");
}
