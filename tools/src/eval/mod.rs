//! `nextedit eval CASES.jsonl [more files] [--out DIR]`: replays every case through the real
//! server over LSP and scores the suggestions.
//!
//! Settings come from `--config A.toml` (the keys of `initializationOptions`, as TOML) and from
//! flags (`--backend`, `--model`, `--format`, `--symbolic`, `--debounce-ms`, `--set key=value`),
//! flags last. `--compare A.toml B.toml ...` runs every case once per configuration and writes one
//! report that compares them.

pub mod calibration;
pub mod cases;
pub mod charts;
pub mod metrics;
pub mod positions;
pub mod report;
pub mod runner;
pub mod summary;
#[cfg(test)]
mod tests;

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
    /// Only every n-th case of each file (the first, the n+1-th, ...): a fixed sample.
    pub every: Option<usize>,
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
            every: None,
            filter: None,
            progress: true,
            verify_sync: false,
        }
    }
}

/// A setting value from the command line: JSON when it parses, a string otherwise.
fn setting_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn parse_on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        other => Err(format!("takes on or off, not `{other}`")),
    }
}

fn parse_setting(text: &str) -> Result<(String, Value), String> {
    let (key, value) =
        text.split_once('=').ok_or_else(|| format!("takes KEY=VALUE, not `{text}`"))?;
    Ok((key.trim().to_owned(), setting_value(value.trim())))
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("takes a number, not `{text}`"))?;
    if !(seconds > 0.0 && seconds < 1e6) {
        return Err(format!("out of range: {text}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `nextedit eval`'s command line; [`EvalCommand::into_args`] resolves it into [`EvalArgs`].
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Settings: --config files first, then --backend, --model, --format, \
--symbolic and --debounce-ms, then each --set in order.")]
pub struct EvalCommand {
    /// Case files (JSON lines); at least one
    #[arg(value_name = "CASES.jsonl")]
    pub cases: Vec<PathBuf>,
    /// Where to write report.md, summary.json, predictions.jsonl and charts/
    #[arg(long, value_name = "DIR", default_value = "eval-out")]
    pub out: PathBuf,
    /// Server settings (initializationOptions as TOML); repeat it to compare configurations
    #[arg(long = "config", value_name = "FILE.toml")]
    pub configs: Vec<PathBuf>,
    /// Run every configuration (at least two) and compare them in one report; the values end at
    /// the first one that does not end in .toml, and case files may follow
    #[arg(long, value_name = "A.toml B.toml", num_args = 1..)]
    pub compare: Vec<PathBuf>,
    /// model.backend (llama, openai, none)
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// model.path
    #[arg(long, value_name = "PATH")]
    pub model: Option<String>,
    /// model.format
    #[arg(long, value_name = "NAME")]
    pub format: Option<String>,
    /// symbolic.enabled
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    pub symbolic: Option<bool>,
    /// predict.debounce_ms
    #[arg(long, value_name = "N")]
    pub debounce_ms: Option<u64>,
    /// Any setting: a dotted key, and a JSON or string value (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, Value)>,
    /// copilot (textDocument/copilotInlineEdit), predict or code-action
    #[arg(long, value_name = "NAME", default_value = "copilot", value_parser = Method::parse)]
    pub method: Method,
    /// Per-request timeout in seconds
    #[arg(long = "timeout-secs", value_name = "N", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// The server binary (default: this executable)
    #[arg(long, value_name = "PATH")]
    pub server: Option<PathBuf>,
    /// An argument for the server (repeatable)
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Only the first N cases
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only every N-th case of each file (its 1st, N+1-th, ...): the same fixed sample each time
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub every: Option<u64>,
    /// Only cases whose id contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// No progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// After each case, check that the server's text (nextedit.debugDocument) equals `before`
    #[arg(long)]
    pub verify_sync: bool,
}

impl crate::cli::ToolCommand for EvalCommand {
    const NAME: &'static str = "eval";
    type Args = EvalArgs;

    fn into_args(self) -> Result<EvalArgs, String> {
        let mut cases = self.cases;
        let mut configs = self.configs;
        // `--compare a.toml b.toml cases.jsonl`: the configuration files end in `.toml`, and
        // what follows them is case files.
        let compared = !self.compare.is_empty();
        let mut compare = self.compare.into_iter();
        for path in compare.by_ref() {
            if path.extension().is_some_and(|extension| extension == "toml") {
                configs.push(path);
            } else {
                cases.push(path);
                break;
            }
        }
        cases.extend(compare);
        if compared && configs.len() < 2 {
            return Err("--compare needs at least two configuration files".to_owned());
        }
        if cases.is_empty() {
            return Err("no case file given".to_owned());
        }
        let mut overrides: Vec<(String, Value)> = Vec::new();
        let typed = [
            ("model.backend", self.backend.map(Value::from)),
            ("model.path", self.model.map(Value::from)),
            ("model.format", self.format.map(Value::from)),
            ("symbolic.enabled", self.symbolic.map(Value::Bool)),
            ("predict.debounce_ms", self.debounce_ms.map(Value::from)),
        ];
        overrides
            .extend(typed.into_iter().filter_map(|(key, value)| Some((key.to_owned(), value?))));
        overrides.extend(self.settings);
        Ok(EvalArgs {
            cases,
            out: self.out,
            configs,
            overrides,
            method: self.method,
            timeout: self.timeout,
            server: self.server,
            server_args: self.server_args,
            limit: self.limit,
            every: self.every.map(|every| every as usize),
            filter: self.filter,
            progress: !self.no_progress,
            verify_sync: self.verify_sync,
        })
    }
}

impl EvalArgs {
    /// Parses the arguments after `eval`.
    pub fn parse(args: &[String]) -> Result<EvalArgs, String> {
        crate::cli::parse_tool_args::<EvalCommand>(args)
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
    let silent_delta_chrf = if fired {
        score_case(&case.before, &expected, &case.before).delta_chrf
    } else {
        scores.delta_chrf
    };
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
        pure: case.is_pure_rename(),
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
        origin: replayed.ranked.as_ref().filter(|_| fired).map(|ranked| ranked.source.clone()),
        confidence: replayed.ranked.filter(|_| fired).map(|ranked| ranked.confidence),
        silent_delta_chrf,
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

/// The progress bar's layout: elapsed time, bar, count, running score (prefix), current case.
pub const PROGRESS_TEMPLATE: &str = "{elapsed_precise} [{bar:30}] {pos}/{len} {prefix} | {msg}";

/// A progress bar (on stderr, hidden when it is not a terminal) that shows the current case in
/// its message and the running score in its prefix.
pub fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The 1st, `every + 1`-th, ... case of each file, in order.
pub fn every_nth_of_each_file(cases: Vec<LoadedCase>, every: usize) -> Vec<LoadedCase> {
    let mut index_in_file = 0;
    let mut previous: Option<PathBuf> = None;
    cases
        .into_iter()
        .filter(|loaded| {
            if previous.as_ref() != Some(&loaded.source) {
                previous = Some(loaded.source.clone());
                index_in_file = 0;
            }
            let keep = index_in_file % every.max(1) == 0;
            index_in_file += 1;
            keep
        })
        .collect()
}

/// Runs an evaluation with any server launcher; `run_eval` uses the `nextedit` process.
pub fn run_eval_with(
    args: &EvalArgs,
    launcher: &dyn ServerLauncher,
) -> anyhow::Result<Vec<RunSummary>> {
    let mut cases = load_cases(&args.cases)?;
    if let Some(every) = args.every {
        cases = every_nth_of_each_file(cases, every);
    }
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
