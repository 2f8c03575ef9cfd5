//! `nextedit eval CASES.jsonl [more files] [--out DIR]`: replays every case through the real
//! server over LSP and scores the suggestions.
//!
//! Settings come from `--config A.toml` (the keys of `initializationOptions`, as TOML) and from
//! flags (`--backend`, `--model`, `--format`, `--symbolic`, `--debounce-ms`, `--set key=value`),
//! flags last. `--compare A.toml B.toml ...` runs every case once per configuration and writes one
//! report that compares them.

pub mod cases;
pub mod charts;
pub mod metrics;
pub mod positions;
pub mod report;
pub mod runner;
pub mod summary;
#[cfg(test)]
pub(crate) mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::eval::cases::{LoadedCase, load_cases, source_name};
use crate::eval::metrics::{is_reversal, score_case};
use crate::eval::runner::{
    Method, Outcome, ProcessLauncher, Replayed, Runner, RunnerOptions, ServerLauncher,
};
use crate::eval::summary::{CaseResult, RunSummary, summarize_run};

pub const EVAL_USAGE: &str = "\
usage: nextedit eval CASES.jsonl [more.jsonl ...] [options]

  --out DIR             where to write report.md, summary.json, predictions.jsonl, charts/ (default eval-out)
  --config FILE.toml    server settings (initializationOptions as TOML)
  --compare A.toml B.toml ...
                        run every configuration and compare them in one report
  --backend NAME        model.backend (llama, openai, none)
  --model PATH          model.path
  --format NAME         model.format
  --symbolic on|off     symbolic.enabled
  --debounce-ms N       predict.debounce_ms
  --set KEY=VALUE       any setting, dotted key, JSON or string value
  --method NAME         copilot (textDocument/copilotInlineEdit, default), predict, code-action
  --timeout-secs N      per-request timeout (default 30)
  --server PATH         the server binary (default: this executable)
  --server-arg ARG      an argument for the server (repeatable)
  --limit N             only the first N cases
  --filter TEXT         only cases whose id contains TEXT
  --no-progress         no progress bar
  --verify-sync         after each case, check the server's text (nextedit.debugDocument) equals `before`";

#[derive(Debug, Clone, PartialEq)]
pub struct EvalArgs {
    pub cases: Vec<PathBuf>,
    pub out: PathBuf,
    /// Configuration files; with more than one, runs are compared.
    pub configs: Vec<PathBuf>,
    /// Dotted keys set after the configuration files.
    pub overrides: Vec<(String, Value)>,
    pub method: Method,
    pub timeout: Duration,
    pub server: Option<PathBuf>,
    pub server_args: Vec<String>,
    pub limit: Option<usize>,
    pub filter: Option<String>,
    pub progress: bool,
    pub verify_sync: bool,
}

impl Default for EvalArgs {
    fn default() -> EvalArgs {
        EvalArgs {
            cases: Vec::new(),
            out: PathBuf::from("eval-out"),
            configs: Vec::new(),
            overrides: Vec::new(),
            method: Method::Copilot,
            timeout: Duration::from_secs(30),
            server: None,
            server_args: Vec::new(),
            limit: None,
            filter: None,
            progress: true,
            verify_sync: false,
        }
    }
}

fn flag_value<'a>(args: &'a [String], index: &mut usize, flag: &str) -> Result<&'a str, String> {
    *index += 1;
    args.get(*index).map(String::as_str).ok_or_else(|| format!("{flag} needs a value"))
}

/// A setting value from the command line: JSON when it parses, a string otherwise.
fn setting_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl EvalArgs {
    /// Parses the arguments after `eval`.
    pub fn parse(args: &[String]) -> Result<EvalArgs, String> {
        let mut parsed = EvalArgs::default();
        let mut index = 0;
        while index < args.len() {
            let arg = args[index].as_str();
            match arg {
                "--help" | "-h" => return Err(EVAL_USAGE.to_owned()),
                "--out" => parsed.out = PathBuf::from(flag_value(args, &mut index, arg)?),
                "--config" => {
                    parsed.configs.push(PathBuf::from(flag_value(args, &mut index, arg)?))
                }
                "--compare" => {
                    let start = index + 1;
                    // Configuration files end in `.toml`; the case files may follow.
                    while index + 1 < args.len()
                        && !args[index + 1].starts_with("--")
                        && args[index + 1].ends_with(".toml")
                    {
                        index += 1;
                        parsed.configs.push(PathBuf::from(&args[index]));
                    }
                    if index + 1 - start < 2 && parsed.configs.len() < 2 {
                        return Err("--compare needs at least two configuration files".to_owned());
                    }
                }
                "--backend" => parsed
                    .overrides
                    .push(("model.backend".into(), flag_value(args, &mut index, arg)?.into())),
                "--model" => parsed
                    .overrides
                    .push(("model.path".into(), flag_value(args, &mut index, arg)?.into())),
                "--format" => parsed
                    .overrides
                    .push(("model.format".into(), flag_value(args, &mut index, arg)?.into())),
                "--symbolic" => {
                    let enabled = match flag_value(args, &mut index, arg)? {
                        "on" | "true" => true,
                        "off" | "false" => false,
                        other => return Err(format!("--symbolic takes on or off, not `{other}`")),
                    };
                    parsed.overrides.push(("symbolic.enabled".into(), Value::Bool(enabled)));
                }
                "--debounce-ms" => {
                    let value = flag_value(args, &mut index, arg)?;
                    let milliseconds: u64 = value
                        .parse()
                        .map_err(|_| format!("--debounce-ms takes a number, not `{value}`"))?;
                    parsed.overrides.push(("predict.debounce_ms".into(), milliseconds.into()));
                }
                "--set" => {
                    let value = flag_value(args, &mut index, arg)?;
                    let (key, value) = value
                        .split_once('=')
                        .ok_or_else(|| format!("--set takes KEY=VALUE, not `{value}`"))?;
                    parsed.overrides.push((key.trim().to_owned(), setting_value(value.trim())));
                }
                "--method" => parsed.method = Method::parse(flag_value(args, &mut index, arg)?)?,
                "--timeout-secs" => {
                    let value = flag_value(args, &mut index, arg)?;
                    let seconds: f64 = value
                        .parse()
                        .map_err(|_| format!("--timeout-secs takes a number, not `{value}`"))?;
                    if !(seconds > 0.0 && seconds < 1e6) {
                        return Err(format!("--timeout-secs out of range: {value}"));
                    }
                    parsed.timeout = Duration::from_secs_f64(seconds);
                }
                "--server" => {
                    parsed.server = Some(PathBuf::from(flag_value(args, &mut index, arg)?))
                }
                "--server-arg" => {
                    parsed.server_args.push(flag_value(args, &mut index, arg)?.to_owned())
                }
                "--limit" => {
                    let value = flag_value(args, &mut index, arg)?;
                    parsed.limit = Some(
                        value
                            .parse()
                            .map_err(|_| format!("--limit takes a number, not `{value}`"))?,
                    );
                }
                "--filter" => parsed.filter = Some(flag_value(args, &mut index, arg)?.to_owned()),
                "--no-progress" => parsed.progress = false,
                "--verify-sync" => parsed.verify_sync = true,
                flag if flag.starts_with("--") => {
                    return Err(format!("unknown option `{flag}`\n\n{EVAL_USAGE}"));
                }
                path => parsed.cases.push(PathBuf::from(path)),
            }
            index += 1;
        }
        if parsed.cases.is_empty() {
            return Err(format!("no case file given\n\n{EVAL_USAGE}"));
        }
        Ok(parsed)
    }
}

/// Sets `value` at a dotted key, creating objects on the way.
pub fn set_dotted(settings: &mut Value, key: &str, value: Value) {
    let mut current = settings;
    let parts: Vec<&str> = key.split('.').collect();
    for (index, part) in parts.iter().enumerate() {
        if !current.is_object() {
            *current = Value::Object(Default::default());
        }
        let object = current.as_object_mut().expect("made an object above");
        if index + 1 == parts.len() {
            object.insert((*part).to_owned(), value);
            return;
        }
        current =
            object.entry((*part).to_owned()).or_insert_with(|| Value::Object(Default::default()));
    }
}

/// One configuration to evaluate: a name and the settings sent as `initializationOptions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Configuration {
    pub name: String,
    pub settings: Value,
}

pub fn load_configuration(
    path: Option<&Path>,
    overrides: &[(String, Value)],
) -> anyhow::Result<Configuration> {
    let (name, mut settings) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .with_context(|| format!("{} is not valid TOML", path.display()))?;
            let name = path.file_stem().map_or_else(
                || path.display().to_string(),
                |stem| stem.to_string_lossy().into_owned(),
            );
            (name, serde_json::to_value(table)?)
        }
        None => ("default".to_owned(), Value::Object(Default::default())),
    };
    for (key, value) in overrides {
        set_dotted(&mut settings, key, value.clone());
    }
    Ok(Configuration { name, settings })
}

/// Scores one replayed case.
pub fn score_replayed(loaded: &LoadedCase, replayed: Replayed) -> CaseResult {
    let case = &loaded.case;
    let expected = case.expected_texts();
    let scores = score_case(&case.before, &expected, &replayed.predicted_after);
    let fired = !replayed.edits.is_empty();
    let reversal = fired
        && is_reversal(&replayed.text_before_last_edit, &case.before, &replayed.predicted_after);
    let error = match &replayed.outcome {
        Outcome::Answered => None,
        Outcome::Stale => Some("ContentModified".to_owned()),
        Outcome::TimedOut => Some("no answer within the timeout".to_owned()),
        other => other.message().map(str::to_owned),
    };
    CaseResult {
        id: case.id.clone(),
        predicted_after: replayed.predicted_after,
        source: source_name(&loaded.source),
        language: case.language.clone(),
        category: case.category.clone(),
        fired,
        outcome: replayed.outcome.label().to_owned(),
        error,
        latency_ms: replayed.latency.map(|latency| latency.as_secs_f64() * 1000.0),
        exact: scores.exact,
        exact_ws: scores.exact_ws,
        delta_chrf: scores.delta_chrf,
        loc_hit: scores.loc_hit,
        reversal,
        edits: replayed.edits,
    }
}

/// Runs every case against one configuration.
pub fn evaluate_configuration(
    launcher: &dyn ServerLauncher,
    configuration: &Configuration,
    cases: &[LoadedCase],
    args: &EvalArgs,
    workspace: &Path,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<(RunSummary, Vec<CaseResult>)> {
    let method = args.method;
    let options = RunnerOptions {
        method,
        timeout: args.timeout,
        settings: configuration.settings.clone(),
        workspace: workspace.to_owned(),
        verify_sync: args.verify_sync,
        model_load_timeout: Duration::from_secs(600),
    };
    let mut runner = Runner::new(launcher, options);
    runner
        .ensure_started()
        .with_context(|| format!("cannot start the server for `{}`", configuration.name))?;
    let mut results = Vec::with_capacity(cases.len());
    let (mut exact_sum, mut chrf_sum) = (0.0, 0.0);
    for loaded in cases {
        if let Some(bar) = progress {
            bar.set_message(format!("{} | {}", configuration.name, loaded.case.id));
        }
        let replayed = runner.run_case(loaded);
        let result = score_replayed(loaded, replayed);
        exact_sum += result.exact;
        chrf_sum += result.delta_chrf;
        results.push(result);
        if let Some(bar) = progress {
            let count = results.len() as f64;
            bar.set_prefix(format!(
                "exact {:.1}% dchrF {:.1}",
                100.0 * exact_sum / count,
                chrf_sum / count
            ));
            bar.inc(1);
        }
    }
    let encoding = runner.encoding().name();
    let crashes = runner.crashes;
    let notes = runner.finish();
    let summary = summarize_run(
        &configuration.name,
        &configuration.settings,
        method.name(),
        encoding,
        &launcher.describe(),
        crashes,
        notes,
        &results,
    );
    Ok((summary, results))
}

/// A fresh empty directory that stands for the workspace of the replayed files.
fn make_workspace(out_dir: &Path) -> anyhow::Result<PathBuf> {
    let workspace = std::fs::canonicalize(out_dir)?.join("workspace");
    if workspace.exists() {
        std::fs::remove_dir_all(&workspace)
            .with_context(|| format!("cannot clear {}", workspace.display()))?;
    }
    std::fs::create_dir_all(&workspace)?;
    Ok(workspace)
}

/// A progress bar (on stderr, hidden when it is not a terminal) that shows the current case in
/// its message and the running score in its prefix.
pub fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} {prefix} | {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs an evaluation with any server launcher; `run_eval` uses the `nextedit` process.
pub fn run_eval_with(
    args: &EvalArgs,
    launcher: &dyn ServerLauncher,
) -> anyhow::Result<Vec<RunSummary>> {
    let mut cases = load_cases(&args.cases)?;
    if let Some(filter) = &args.filter {
        cases.retain(|loaded| loaded.case.id.contains(filter.as_str()));
    }
    if let Some(limit) = args.limit {
        cases.truncate(limit);
    }
    if cases.is_empty() {
        bail!("no cases to evaluate");
    }
    let configurations: Vec<Configuration> = if args.configs.is_empty() {
        vec![load_configuration(None, &args.overrides)?]
    } else {
        args.configs
            .iter()
            .map(|path| load_configuration(Some(path), &args.overrides))
            .collect::<anyhow::Result<_>>()?
    };
    let mut names = std::collections::HashSet::new();
    for configuration in &configurations {
        if !names.insert(configuration.name.clone()) {
            bail!("two configurations are named `{}`: rename one file", configuration.name);
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let workspace = make_workspace(&args.out)?;
    let progress = args.progress.then(|| progress_bar((cases.len() * configurations.len()) as u64));
    let mut runs = Vec::new();
    let mut all_results = Vec::new();
    for configuration in &configurations {
        let (summary, results) = evaluate_configuration(
            launcher,
            configuration,
            &cases,
            args,
            &workspace,
            progress.as_ref(),
        )?;
        let run_dir = if configurations.len() == 1 {
            args.out.clone()
        } else {
            args.out.join(&configuration.name)
        };
        std::fs::create_dir_all(&run_dir)?;
        report::write_predictions(&run_dir.join("predictions.jsonl"), &results)?;
        runs.push(summary);
        all_results.push(results);
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let _ = std::fs::remove_dir_all(&workspace);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    report::write_report(&args.out, &runs, &all_results, &command, &args.cases)?;
    if configurations.len() > 1 {
        for (run, results) in runs.iter().zip(&all_results) {
            report::write_report(
                &args.out.join(&run.name),
                std::slice::from_ref(run),
                std::slice::from_ref(results),
                &command,
                &args.cases,
            )?;
        }
    }
    Ok(runs)
}

/// The `eval` subcommand.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let program = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find this executable")?,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let launcher = ProcessLauncher {
        program,
        args: args.server_args.clone(),
        stderr_log: Some(args.out.join("server.log")),
    };
    let runs = run_eval_with(&args, &launcher)?;
    let mut summary = String::new();
    for run in &runs {
        let overall = &run.overall;
        summary.push_str(&format!(
            "{}: {} cases, exact {:.1}%, exact_ws {:.1}%, dchrF {:.1}, loc_hit {:.1}%, fired {:.1}%, precision {}, reversal {}, p50 {} ms, p95 {} ms, errors {}, crashes {}",
            run.name,
            overall.cases,
            overall.exact,
            overall.exact_ws,
            overall.delta_chrf,
            overall.loc_hit,
            overall.fire_rate,
            overall.precision.map_or("-".to_owned(), |value| format!("{value:.1}%")),
            overall.reversal_ratio.map_or("-".to_owned(), |value| format!("{value:.1}%")),
            overall.latency_p50_ms.map_or("-".to_owned(), |value| format!("{value:.0}")),
            overall.latency_p95_ms.map_or("-".to_owned(), |value| format!("{value:.0}")),
            overall.errors,
            overall.crashes,
        ));
        summary.push('\n');
    }
    summary.push_str(&format!("report: {}\n", args.out.join("report.md").display()));
    crate::print_stdout(&summary)
}
