//! `nextedit bench` sections for the engines: the symbolic engine's latency, the model path (cold
//! prompt against KV reuse, plain greedy against speculation against speculation plus resync, the
//! prefill-bound limit), keystroke-to-suggestion latency over a scripted typing session, and
//! memory with the model loaded and 100 open documents.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::bench::BenchSection;
use nextedit::config::{BackendKind, Settings};
use nextedit::engine::model::{self, ModelBackend, ModelBenchOptions};
use nextedit::engine::{Engine, ModelSlot, llama_config, symbolic};
use nextedit::text::{PositionEncoding, TextChange};

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn row(label: impl Into<String>, value: f64, unit: &str) -> (String, f64, String) {
    (label.into(), value, unit.to_owned())
}

pub fn symbolic_section(lines: usize) -> BenchSection {
    let mut rows = Vec::new();
    for result in symbolic::bench_symbolic(lines) {
        rows.push(row(
            format!("{} ({} lines) p50", result.scenario, result.lines),
            ms(result.p50),
            "ms",
        ));
        rows.push(row(
            format!("{} ({} lines) p99", result.scenario, result.lines),
            ms(result.p99),
            "ms",
        ));
    }
    BenchSection {
        name: "symbolic engine (rename and repeat detection per change)".to_owned(),
        rows,
    }
}

/// Loads the model the user's settings name (or `NEXTEDIT_MODEL`).
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
    let report = runtime.block_on(model::bench_model(backend.as_ref(), &options))?;
    let rewrite = &report.rewrite;
    let prefill = report.prefill_rate.max(f64::MIN_POSITIVE);
    let kv = BenchSection {
        name: format!("model: KV cache reuse ({})", report.model),
        rows: vec![
            row(
                format!("cold prompt ({} tokens)", report.cold_prompt_tokens),
                ms(report.cold_time),
                "ms",
            ),
            row(
                format!(
                    "same prompt, last {} tokens changed ({} reused)",
                    report.reuse_prompt_tokens - report.reused_tokens,
                    report.reused_tokens
                ),
                ms(report.reuse_time),
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
            row("plain greedy", ms(rewrite.greedy_time), "ms"),
            row("speculative (prompt lookup)", ms(rewrite.speculative_time), "ms"),
            row("speculative + resync", ms(rewrite.resync_time), "ms"),
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
    let (embedded_p50, embedded_p95) = (embedded.percentile(0.5), embedded.percentile(0.95));
    let (remote_p50, remote_p95) = (remote.percentile(0.5), remote.percentile(0.95));
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
            row("embedded p50", ms(embedded_p50), "ms"),
            row("embedded p95", ms(embedded_p95), "ms"),
            row("remote p50", ms(remote_p50), "ms"),
            row("remote p95", ms(remote_p95), "ms"),
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
        let p50 = self.percentile(0.5);
        let p95 = self.percentile(0.95);
        let limit_p50 = percentile(&self.limits, 0.5);
        BenchSection {
            name: format!(
                "end to end: keystroke to suggestion, {steps} edits (debounce {} ms included)",
                self.debounce
            ),
            rows: vec![
                row("p50", ms(p50), "ms"),
                row("p95", ms(p95), "ms"),
                row("prefill-bound limit, p50", ms(limit_p50), "ms"),
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

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
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
    let text = crate::bench::generate_source("rust", 1_000);
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
