//! `nextedit bench`'s model sections: prompt processing from scratch against KV cache reuse, plain
//! greedy decoding against speculation and resynchronisation on a region rewrite (the
//! prefill-bound limit next to them), keystroke-to-suggestion latency over a scripted typing
//! session (embedded, and optionally against a remote server), and memory with the model loaded
//! and 100 open documents. The inputs are generated deterministically, so runs compare.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::bench::report::{BenchSection, duration_percentile, millis, row};
use nextedit::config::{BackendKind, Settings};
use nextedit::engine::model::synthetic::{REWRITE_TOKENS, rewrite_prompt, synthetic_code};
use nextedit::engine::model::{self, Generation, GenerationRequest, ModelBackend, ModelError};
use nextedit::engine::{Engine, ModelSlot, llama_config};
use nextedit::text::{PositionEncoding, TextChange};

#[derive(Debug, Clone)]
pub struct ModelBenchOptions {
    /// Prompt length for the reuse measurement, in tokens (approximately).
    pub prompt_tokens: usize,
    /// Tokens changed at the end of the prompt for the reuse measurement (approximately).
    pub changed_tokens: usize,
    /// K for the resynchronisation run.
    pub resync_tokens: usize,
}

impl Default for ModelBenchOptions {
    fn default() -> ModelBenchOptions {
        ModelBenchOptions { prompt_tokens: 1500, changed_tokens: 100, resync_tokens: 8 }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ModelBenchReport {
    pub model: String,
    pub cold_prompt_tokens: usize,
    pub cold_time: Duration,
    pub reuse_prompt_tokens: usize,
    pub reused_tokens: usize,
    pub reuse_time: Duration,
    /// Prompt tokens per second, from the cold run.
    pub prefill_rate: f64,
    pub rewrite: RewriteBench,
}

#[derive(Debug, Clone, Default)]
pub struct RewriteBench {
    pub output_tokens: usize,
    pub greedy_time: Duration,
    pub speculative_time: Duration,
    pub speculative_accepted: usize,
    pub speculative_proposed: usize,
    pub resync_time: Duration,
    pub resync_generated: usize,
    pub resync_spliced: usize,
    /// Whether the three runs produced the same text.
    pub outputs_equal: bool,
    /// The change between the draft and the output, as described to the reader.
    pub note: String,
}

impl ModelBenchReport {
    pub fn reuse_speedup(&self) -> f64 {
        ratio(self.cold_time, self.reuse_time)
    }
}

impl RewriteBench {
    pub fn speculative_speedup(&self) -> f64 {
        ratio(self.greedy_time, self.speculative_time)
    }

    pub fn resync_speedup(&self) -> f64 {
        ratio(self.greedy_time, self.resync_time)
    }
}

fn ratio(slow: Duration, fast: Duration) -> f64 {
    if fast.is_zero() { 0.0 } else { slow.as_secs_f64() / fast.as_secs_f64() }
}

async fn timed(
    backend: &dyn ModelBackend,
    request: GenerationRequest,
) -> Result<(Generation, Duration), ModelError> {
    let started = Instant::now();
    let generation = backend.generate(request).await?;
    Ok((generation, started.elapsed()))
}

/// Runs the measurements. Takes tens of seconds with the 270M model on two cores.
pub async fn measure_model(
    backend: &dyn ModelBackend,
    options: &ModelBenchOptions,
) -> Result<ModelBenchReport, ModelError> {
    let mut report = ModelBenchReport { model: backend.info().name, ..ModelBenchReport::default() };

    // Grow the synthetic file until it has the wanted number of tokens.
    let tokens_per_function = backend.count_tokens(&synthetic_code(100, 1)).max(1);
    let functions = options.prompt_tokens / tokens_per_function + 1;
    let changed_functions = (options.changed_tokens / tokens_per_function).max(1);
    let base = synthetic_code(100, functions);
    let cut =
        base.len() - synthetic_code(100 + functions - changed_functions, changed_functions).len();
    let changed = format!("{}{}", &base[..cut], synthetic_code(500, changed_functions));

    // Fill the cache with something unrelated, so the first measured run starts from scratch.
    timed(backend, GenerationRequest::greedy("// warm-up\nfn main() {}\n", 1)).await?;
    let (cold, cold_time) = timed(backend, GenerationRequest::greedy(base.clone(), 1)).await?;
    let (reuse, reuse_time) = timed(backend, GenerationRequest::greedy(changed, 1)).await?;
    report.cold_prompt_tokens = cold.stats.prompt_tokens;
    report.cold_time = cold_time;
    report.prefill_rate =
        cold.stats.prompt_tokens as f64 / cold.stats.prefill_time.as_secs_f64().max(1e-9);
    report.reuse_prompt_tokens = reuse.stats.prompt_tokens;
    report.reused_tokens = reuse.stats.reused_prompt_tokens;
    report.reuse_time = reuse_time;

    report.rewrite = bench_rewrite(backend, options).await?;
    Ok(report)
}

/// A region rewrite: plain greedy output first, then the same request with a draft equal to that
/// output except for its second line (as if the model's answer edited that line). The output
/// diverges from the draft there and resynchronises right after.
async fn bench_rewrite(
    backend: &dyn ModelBackend,
    options: &ModelBenchOptions,
) -> Result<RewriteBench, ModelError> {
    let request = GenerationRequest::greedy(rewrite_prompt(), REWRITE_TOKENS);

    // Warm the cache with the prompt, so the three runs share the same prefill.
    let mut warm = request.clone();
    warm.max_tokens = 1;
    timed(backend, warm).await?;

    let (greedy, greedy_time) = timed(backend, request.clone()).await?;
    let output =
        greedy.candidates.first().map(|candidate| candidate.text.clone()).unwrap_or_default();
    let mut lines: Vec<&str> = output.split_inclusive('\n').collect();
    let note;
    let draft = if lines.len() > 2 {
        note = format!("the draft differs from the output in line 2 of {}", lines.len());
        lines[1] = "    // a line the model did not write\n";
        lines.concat()
    } else {
        note = "the model did not copy the region; the draft equals its output".to_owned();
        output.clone()
    };

    let mut speculative_request = request.clone();
    speculative_request.draft = Some(draft);
    let (speculative, speculative_time) = timed(backend, speculative_request.clone()).await?;
    let mut resync_request = speculative_request;
    resync_request.resync_tokens = Some(options.resync_tokens);
    let (resync, resync_time) = timed(backend, resync_request).await?;

    let text = |generation: &Generation| {
        generation.candidates.first().map(|candidate| candidate.text.clone())
    };
    Ok(RewriteBench {
        output_tokens: greedy.stats.generated_tokens,
        greedy_time,
        speculative_time,
        speculative_accepted: speculative.stats.draft_tokens_accepted,
        speculative_proposed: speculative.stats.draft_tokens_proposed,
        resync_time,
        resync_generated: resync.stats.generated_tokens,
        resync_spliced: resync.stats.spliced_tokens,
        outputs_equal: text(&greedy) == text(&speculative) && text(&greedy) == text(&resync),
        note,
    })
}

impl fmt::Display for ModelBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model: {}", self.model)?;
        writeln!(
            f,
            "prompt from scratch: {} tokens in {:.0} ms ({:.0} tokens/s)",
            self.cold_prompt_tokens,
            self.cold_time.as_secs_f64() * 1000.0,
            self.prefill_rate
        )?;
        writeln!(
            f,
            "prompt with its end changed, KV cache reused: {} tokens ({} reused) in {:.0} ms, {:.1}x faster",
            self.reuse_prompt_tokens,
            self.reused_tokens,
            self.reuse_time.as_secs_f64() * 1000.0,
            self.reuse_speedup()
        )?;
        let rewrite = &self.rewrite;
        writeln!(
            f,
            "region rewrite, plain greedy: {} tokens in {:.0} ms",
            rewrite.output_tokens,
            rewrite.greedy_time.as_secs_f64() * 1000.0
        )?;
        writeln!(
            f,
            "region rewrite, speculation: {:.0} ms, {:.1}x faster ({} of {} draft tokens accepted)",
            rewrite.speculative_time.as_secs_f64() * 1000.0,
            rewrite.speculative_speedup(),
            rewrite.speculative_accepted,
            rewrite.speculative_proposed
        )?;
        writeln!(
            f,
            "region rewrite, speculation and resync: {:.0} ms, {:.1}x faster ({} tokens generated, {} spliced)",
            rewrite.resync_time.as_secs_f64() * 1000.0,
            rewrite.resync_speedup(),
            rewrite.resync_generated,
            rewrite.resync_spliced
        )?;
        writeln!(f, "region rewrite: outputs equal: {} ({})", rewrite.outputs_equal, rewrite.note)
    }
}

/// Loads the model the user's settings name (or `NEXTEDIT_MODEL`), always the embedded backend and
/// without the restart supervisor: this section measures llama.cpp itself (KV reuse, speculation).
fn load_model() -> Result<Arc<dyn ModelBackend>> {
    let mut settings: Settings = crate::suggest::cli_settings(None)?;
    if let Some(path) = std::env::var_os("NEXTEDIT_MODEL").filter(|path| !path.is_empty()) {
        settings.model.path = Some(path.to_string_lossy().into_owned());
    }
    if settings.model.backend != BackendKind::Llama {
        settings.model.backend = BackendKind::Llama;
    }
    let (config, _) = llama_config(&settings).map_err(|message| anyhow!(message))?;
    let path = config.path.clone();
    model::load_llama_blocking(&config, |_| {})
        .with_context(|| format!("loading {} (run scripts/fetch-model)", path.display()))
}

pub fn model_sections(smoke: bool, remote: Option<&str>) -> Result<Vec<BenchSection>> {
    let backend = load_model()?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let options = if smoke {
        ModelBenchOptions { prompt_tokens: 400, changed_tokens: 50, resync_tokens: 8 }
    } else {
        ModelBenchOptions::default()
    };
    let report = runtime.block_on(measure_model(backend.as_ref(), &options))?;
    let rewrite = &report.rewrite;
    let prefill = report.prefill_rate.max(f64::MIN_POSITIVE);
    let kv = BenchSection {
        name: format!("model: KV cache reuse ({})", report.model),
        rows: vec![
            row(
                format!("cold prompt ({} tokens)", report.cold_prompt_tokens),
                millis(report.cold_time),
                "ms",
            ),
            row(
                format!(
                    "same prompt, last {} tokens changed ({} reused)",
                    report.reuse_prompt_tokens - report.reused_tokens,
                    report.reused_tokens
                ),
                millis(report.reuse_time),
                "ms",
            ),
            row("speed-up from reuse", report.reuse_speedup(), "x"),
            row("prefill rate", report.prefill_rate, "tokens/s"),
        ],
    };
    let limit = rewrite.output_tokens as f64 / prefill;
    let decoding = BenchSection {
        name: format!("model: region rewrite of {} tokens", rewrite.output_tokens),
        rows: vec![
            row("plain greedy", millis(rewrite.greedy_time), "ms"),
            row("speculative (prompt lookup)", millis(rewrite.speculative_time), "ms"),
            row("speculative + resync", millis(rewrite.resync_time), "ms"),
            row("prefill-bound limit (output tokens / prefill rate)", limit * 1000.0, "ms"),
            row("speed-up, speculative", rewrite.speculative_speedup(), "x"),
            row("speed-up, speculative + resync", rewrite.resync_speedup(), "x"),
            row("outputs identical", if rewrite.outputs_equal { 1.0 } else { 0.0 }, "bool"),
        ],
    };
    let steps = if smoke { 3 } else { 10 };
    let session = runtime.block_on(typing_session(backend.clone(), steps, prefill))?;
    let mut sections = vec![kv, decoding, session.section(steps, prefill)];
    if let Some(endpoint) = remote {
        let remote_backend = runtime.block_on(load_remote(endpoint))?;
        let remote_session = runtime.block_on(typing_session(remote_backend, steps, prefill))?;
        sections.push(compare_backends(&session, &remote_session, endpoint));
    }
    sections.push(runtime.block_on(memory_with_documents(backend, 100)));
    Ok(sections)
}

/// The remote backend for `endpoint`, serving the model `NEXTEDIT_MODEL` names (or whatever it
/// serves), with the embedded backend's prompt format so that both do the same work.
async fn load_remote(endpoint: &str) -> Result<Arc<dyn ModelBackend>> {
    let config = model::OpenAiConfig {
        format: Some(nextedit::engine::prompt::PromptFormatKind::Plain),
        timeout: Duration::from_secs(300),
        ..model::OpenAiConfig::new(endpoint)
    };
    let (backend, warning) =
        model::load_openai(config).await.map_err(|error| anyhow!("{error}"))?;
    if let Some(warning) = warning {
        return Err(anyhow!(warning));
    }
    Ok(Arc::new(backend))
}

/// The same typing session through both backends: latency of each and their ratio.
fn compare_backends(
    embedded: &TypingSession,
    remote: &TypingSession,
    endpoint: &str,
) -> BenchSection {
    let (embedded_p50, embedded_p95) = (embedded.percentile(50.0), embedded.percentile(95.0));
    let (remote_p50, remote_p95) = (remote.percentile(50.0), remote.percentile(95.0));
    let ratio = |remote: Duration, embedded: Duration| {
        if embedded.is_zero() { 0.0 } else { remote.as_secs_f64() / embedded.as_secs_f64() }
    };
    BenchSection {
        name: format!(
            "embedded against remote: the same {}-edit session, the same model ({})",
            embedded.latencies.len(),
            nextedit::engine::model::openai::display_endpoint(endpoint)
        ),
        rows: vec![
            row("embedded p50", millis(embedded_p50), "ms"),
            row("embedded p95", millis(embedded_p95), "ms"),
            row("remote p50", millis(remote_p50), "ms"),
            row("remote p95", millis(remote_p95), "ms"),
            row("remote / embedded, p50", ratio(remote_p50, embedded_p50), "x"),
            row("remote / embedded, p95", ratio(remote_p95, embedded_p95), "x"),
            row("suggestions, embedded", embedded.suggestions as f64, "count"),
            row("suggestions, remote", remote.suggestions as f64, "count"),
        ],
    }
}

/// Latencies of one typing session.
struct TypingSession {
    latencies: Vec<Duration>,
    limits: Vec<Duration>,
    suggestions: usize,
    debounce: u64,
}

impl TypingSession {
    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    fn section(&self, steps: usize, _prefill_rate: f64) -> BenchSection {
        let p50 = self.percentile(50.0);
        let p95 = self.percentile(95.0);
        let limit_p50 = percentile(&self.limits, 50.0);
        BenchSection {
            name: format!(
                "end to end: keystroke to suggestion, {steps} edits (debounce {} ms included)",
                self.debounce
            ),
            rows: vec![
                row("p50", millis(p50), "ms"),
                row("p95", millis(p95), "ms"),
                row("prefill-bound limit, p50", millis(limit_p50), "ms"),
                row(
                    "p50 / limit",
                    if limit_p50.is_zero() {
                        0.0
                    } else {
                        p50.as_secs_f64() / limit_p50.as_secs_f64()
                    },
                    "x",
                ),
            ],
        }
    }
}

/// The nearest-rank percentile of unsorted durations.
fn percentile(values: &[Duration], percent: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    duration_percentile(&sorted, percent)
}

/// A scripted typing session in a Python file: each step types a change, and the time until the
/// model's suggestion for that version is ready is measured, debounce included. The prefill-bound
/// limit of a step is (prompt tokens not reused + tokens generated) / prefill rate.
async fn typing_session(
    backend: Arc<dyn ModelBackend>,
    steps: usize,
    prefill_rate: f64,
) -> Result<TypingSession> {
    let mut settings = Settings::default();
    settings.symbolic.enabled = false;
    // Greedy decoding and the plain format on both backends, so they do the same work.
    settings.predict.request_timeout_ms = 300_000;
    let debounce = settings.predict.debounce_ms;
    let engine = Engine::new(settings);
    engine.set_model(ModelSlot::Ready(backend));
    let uri = "file:///bench/session.py";
    let text: String = (0..40)
        .map(|index| format!("def handler_{index}(request):\n    value = request.get(\"k{index}\")\n    return value\n\n"))
        .collect();
    engine.open(uri, "python", 0, &text);
    let mut latencies = Vec::new();
    let mut limits = Vec::new();
    let mut suggestions = 0;
    for step in 0..steps {
        // Rename `value` to `item` in the step's function, at the assignment.
        let line = (step * 4 + 1) as u32;
        let change = TextChange {
            range: Some(nextedit::text::PositionRange::new(
                nextedit::text::Position::new(line, 4),
                nextedit::text::Position::new(line, 9),
            )),
            text: "item".to_owned(),
        };
        let version = step as i32 + 1;
        let started = Instant::now();
        engine
            .change(uri, version, &[change], PositionEncoding::Utf8)
            .map_err(|error| anyhow!("{error}"))?;
        if let Ok(Some(_)) = engine.suggestion(uri, Some(version), Duration::from_secs(300)).await {
            suggestions += 1;
        }
        latencies.push(started.elapsed());
        if let Some(stats) = engine.last_generation() {
            let tokens = stats.prompt_tokens.saturating_sub(stats.reused_prompt_tokens)
                + stats.generated_tokens;
            limits
                .push(Duration::from_secs_f64(tokens as f64 / prefill_rate.max(f64::MIN_POSITIVE)));
        }
    }
    Ok(TypingSession { latencies, limits, suggestions, debounce })
}

/// Resident memory with the model loaded and `documents` open documents of 1,000 lines.
async fn memory_with_documents(backend: Arc<dyn ModelBackend>, documents: usize) -> BenchSection {
    let engine = Engine::new(Settings::default());
    engine.set_model(ModelSlot::Ready(backend));
    let before = resident_memory_mib();
    let text = crate::bench::sources::generate_source("rust", 1_000);
    for index in 0..documents {
        engine.open(&format!("file:///bench/memory/{index}.rs"), "rust", 0, &text);
    }
    let after = resident_memory_mib();
    BenchSection {
        name: "memory".to_owned(),
        rows: vec![
            row("RSS with the model loaded", before, "MiB"),
            row(
                format!("RSS with the model and {documents} open documents of 1k lines"),
                after,
                "MiB",
            ),
        ],
    }
}

/// VmRSS from /proc (0 where it isn't available).
fn resident_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
