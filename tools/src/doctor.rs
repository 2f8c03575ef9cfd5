//! `nextedit doctor`'s model section: which model, backend and prompt format are in use, how long
//! loading took, and one short test generation.

use std::fmt;
use std::time::{Duration, Instant};

use nextedit::engine::model::{
    FinishReason, GenerationRequest, ModelBackend, ModelError, ModelInfo,
};

/// The prompt of the test generation: code a base model continues predictably.
const TEST_PROMPT: &str = "fn add(a: i32, b: i32) -> i32 {\n";
const TEST_TOKENS: usize = 16;

#[derive(Debug, Clone)]
pub struct DoctorReport {
    pub info: Option<ModelInfo>,
    /// The test generation, or why it failed.
    pub test: Result<TestGeneration, ModelError>,
}

#[derive(Debug, Clone)]
pub struct TestGeneration {
    pub prompt: String,
    pub output: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_time: Duration,
    pub decode_time: Duration,
    pub total_time: Duration,
    pub finish: FinishReason,
    /// The backend reported the tokens' log-probabilities (which confidence gating needs).
    pub logprobs: bool,
}

impl TestGeneration {
    pub fn tokens_per_second(&self) -> f64 {
        let seconds = self.decode_time.as_secs_f64();
        if seconds > 0.0 { self.generated_tokens as f64 / seconds } else { 0.0 }
    }
}

impl DoctorReport {
    pub fn is_ok(&self) -> bool {
        self.info.is_some() && self.test.is_ok()
    }

    /// The report when the backend could not be set up at all.
    pub fn failed(error: ModelError) -> DoctorReport {
        DoctorReport { info: None, test: Err(error) }
    }
}

/// Runs one short greedy generation on `backend` and reports it with the backend's info.
pub async fn doctor_report(backend: &dyn ModelBackend) -> DoctorReport {
    let info = backend.info();
    let started = Instant::now();
    let result = backend.generate(GenerationRequest::greedy(TEST_PROMPT, TEST_TOKENS)).await;
    let test = result.and_then(|generation| {
        let candidate = generation.candidates.into_iter().next().ok_or(ModelError::Cancelled)?;
        Ok(TestGeneration {
            prompt: TEST_PROMPT.to_owned(),
            output: candidate.text,
            prompt_tokens: generation.stats.prompt_tokens,
            generated_tokens: generation.stats.generated_tokens,
            prefill_time: generation.stats.prefill_time,
            decode_time: generation.stats.decode_time,
            total_time: started.elapsed(),
            logprobs: !candidate.tokens.is_empty(),
            finish: candidate.finish,
        })
    });
    DoctorReport { info: Some(info), test }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.info {
            Some(info) => {
                writeln!(f, "model: {}", info.name)?;
                match &info.path {
                    Some(path) => writeln!(f, "model path: {}", path.display())?,
                    None => writeln!(f, "model path: none")?,
                }
                writeln!(f, "backend: {}", info.backend)?;
                writeln!(f, "prompt format: {} ({})", info.format, info.format_reason)?;
                if let Some(style) = info.fim_style {
                    writeln!(f, "fill-in-the-middle tokens: {}", style.family())?;
                }
                writeln!(f, "context size: {} tokens", info.context_size)?;
                writeln!(f, "threads: {}", info.threads)?;
                writeln!(f, "load time: {:.2} s", info.load_time.as_secs_f64())?;
            }
            None => writeln!(f, "model: not loaded")?,
        }
        match &self.test {
            Ok(test) => {
                writeln!(
                    f,
                    "test generation: {} prompt tokens in {:.0} ms, {} tokens in {:.0} ms ({:.1} tokens/s)",
                    test.prompt_tokens,
                    test.prefill_time.as_secs_f64() * 1000.0,
                    test.generated_tokens,
                    test.decode_time.as_secs_f64() * 1000.0,
                    test.tokens_per_second(),
                )?;
                writeln!(f, "test output: {:?}", format!("{}{}", test.prompt, test.output))?;
                if test.logprobs {
                    writeln!(f, "log-probabilities: reported (confidence gating works)")
                } else {
                    writeln!(
                        f,
                        "log-probabilities: not reported (suggestions are not gated on confidence)"
                    )
                }
            }
            Err(error) => writeln!(f, "test generation failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nextedit::engine::model::ScriptedBackend;

    #[test]
    fn reports_a_scripted_backend() {
        let backend = ScriptedBackend::new(vec!["    a + b\n}".to_owned()]);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let report = runtime.block_on(doctor_report(&backend));
        assert!(report.is_ok());
        let text = report.to_string();
        let text = text
            .lines()
            .filter(|line| !line.starts_with("test generation:"))
            .collect::<Vec<_>>()
            .join("\n");
        expect_test::expect![[r#"
            model: scripted
            model path: none
            backend: scripted
            prompt format: plain (the scripted backend's format)
            context size: 18446744073709551615 tokens
            threads: 0
            load time: 0.00 s
            test output: "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}"
            log-probabilities: not reported (suggestions are not gated on confidence)"#]]
        .assert_eq(&text);
    }

    #[cfg(feature = "llama")]
    #[test]
    fn reports_a_missing_model() {
        use nextedit::engine::model::LlamaConfig;
        use nextedit::engine::model::config::{
            BackendConfig, BackendHooks, ConfiguredBackend, load_backend,
        };

        let config = LlamaConfig::new("/nonexistent/nextedit/model.gguf");
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // What `nextedit doctor` does: load through the server's loader, report the failure.
        let configured =
            ConfiguredBackend { config: BackendConfig::Llama(config), warnings: Vec::new() };
        let report = runtime.block_on(async {
            match load_backend(configured, BackendHooks::default()).await {
                Ok(ready) => doctor_report(ready.backend.as_ref()).await,
                Err(error) => DoctorReport::failed(error),
            }
        });
        assert!(!report.is_ok());
        expect_test::expect![[r#"
            model: not loaded
            test generation failed: model file not found: /nonexistent/nextedit/model.gguf (run scripts/fetch-model or set model.path)
        "#]]
        .assert_eq(&report.to_string());
    }
}
