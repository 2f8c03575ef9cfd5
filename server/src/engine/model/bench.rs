//! Measurements of the model backend for `nextedit bench`: prompt processing from scratch against
//! KV cache reuse, and plain greedy decoding against speculation and resynchronisation on a region
//! rewrite. The inputs are generated here, deterministically, so runs compare.

use std::fmt;
use std::time::{Duration, Instant};

use super::{Generation, GenerationRequest, ModelBackend, ModelError};

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

/// Synthetic code: `count` small functions numbered from `first`, in a fixed style.
pub fn synthetic_code(first: usize, count: usize) -> String {
    let mut code = String::new();
    for index in first..first + count {
        code.push_str(&format!(
            "fn scale_{index}(values: &mut Vec<f64>, factor: f64) -> usize {{\n    let mut changed = 0;\n    for value in values.iter_mut() {{\n        *value *= factor + {index}.0;\n        changed += 1;\n    }}\n    changed\n}}\n\n"
        ));
    }
    code
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
pub async fn bench_model(
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

/// A prompt whose greedy continuation is long and confident: a file of similar functions, which
/// the model continues with the next ones. The expected continuation plays the editable region.
pub fn rewrite_prompt() -> String {
    synthetic_code(1, 6)
}

/// Tokens generated in the rewrite measurement (about four functions).
pub const REWRITE_TOKENS: usize = 240;

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
