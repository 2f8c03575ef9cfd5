//! The `nextedit` command: with no arguments (or `--stdio`) a language server on stdio.

use std::process::ExitCode;

use clap::Parser;
use nextedit::config::{self, SettingsLayers, Source};
use nextedit::engine::model::config::{BackendConfig, BackendHooks, backend_config, load_backend};
use nextedit_tools::cli::{Cli, Command, ToolCommand};

fn main() -> ExitCode {
    // Usage errors, `--help` and `--version` exit here (2 for errors, 0 otherwise).
    let cli = Cli::parse();
    match cli.command {
        None => serve_stdio(),
        Some(Command::Suggest(args)) => run_tool(args, nextedit_tools::suggest::run_suggest),
        Some(Command::Doctor) => doctor(),
        Some(Command::Eval(command)) => run_tool(command, nextedit_tools::run_eval),
        Some(Command::Mine(command)) => run_tool(command, nextedit_tools::run_mine),
        Some(Command::Bench(command)) => run_tool(command, nextedit_tools::run_bench),
        Some(Command::Model(command)) => run_tool(command, nextedit_tools::model::run_model),
    }
}

/// Runs a tool after resolving its flags; flags that don't fit together are a usage error.
fn run_tool<C: ToolCommand>(
    command: C,
    run: impl FnOnce(C::Args) -> anyhow::Result<()>,
) -> ExitCode {
    let args = match command.into_args() {
        Ok(args) => args,
        Err(message) => {
            let name = C::NAME;
            eprintln!("error: {message}\n\nFor more information, try 'nextedit {name} --help'.");
            return ExitCode::from(2);
        }
    };
    init_logging();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nextedit: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn doctor() -> ExitCode {
    init_logging();
    let settings = match nextedit_tools::suggest::cli_settings(None) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("nextedit: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("nextedit {}", env!("CARGO_PKG_VERSION"));
    match config::user_config_path() {
        Some(path) if path.is_file() => println!("user config: {}", path.display()),
        Some(path) => println!("user config: {} (not present, defaults in use)", path.display()),
        None => println!("user config: none (HOME is not set)"),
    }
    let languages: Vec<&str> =
        nextedit_grammars::compiled_languages().map(|language| language.id.as_str()).collect();
    println!("languages: {}", languages.join(", "));
    println!("symbolic engine: {}", if settings.symbolic.enabled { "on" } else { "off" });
    // The same configuration and loading as the server (llama inside the restart supervisor).
    let configured = match backend_config(&settings) {
        Ok(None) => {
            println!("model backend: none (renames and repeated edits only)");
            return ExitCode::SUCCESS;
        }
        Ok(Some(configured)) => configured,
        Err(error) => {
            let backend = match settings.model.backend {
                config::BackendKind::Openai => "openai",
                config::BackendKind::Llama | config::BackendKind::None => "llama",
            };
            println!("model backend: {backend}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match &configured.config {
        BackendConfig::OpenAi(openai) => println!(
            "model backend: openai ({})",
            nextedit::engine::model::openai::display_endpoint(&openai.endpoint)
        ),
        BackendConfig::Llama(llama) => {
            println!("model backend: llama (embedded llama.cpp)");
            println!("model file: {}", llama.path.display());
        }
    }
    let shown = configured.warnings.len();
    for warning in &configured.warnings {
        println!("warning: {warning}");
    }
    print_doctor_report(async move {
        match load_backend(configured, BackendHooks::default()).await {
            Ok(ready) => {
                for warning in ready.warnings.iter().skip(shown) {
                    println!("warning: {warning}");
                }
                nextedit_tools::doctor::doctor_report(ready.backend.as_ref()).await
            }
            Err(error) => nextedit_tools::doctor::DoctorReport::failed(error),
        }
    })
}

/// Runs the model check on a small runtime and prints its report.
fn print_doctor_report(
    report: impl std::future::Future<Output = nextedit_tools::doctor::DoctorReport>,
) -> ExitCode {
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("nextedit: {error}");
                return ExitCode::FAILURE;
            }
        };
    let report = runtime.block_on(report);
    print!("{report}");
    if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Loads the user's config file into a settings layer; problems are logged, not fatal.
fn user_layers() -> SettingsLayers {
    let mut layers = SettingsLayers::default();
    if let Some(path) = config::user_config_path()
        && let Ok(text) = std::fs::read_to_string(&path)
    {
        match config::parse_toml(&text) {
            Ok(value) => layers.set(Source::UserFile, value),
            Err(error) => eprintln!("nextedit: {}: {error}", path.display()),
        }
    }
    layers
}

fn init_logging() {
    init_logging_with(&nextedit::config::LogSettings::default());
}

/// Logs go to stderr, or to `log.file` from the user's config; `RUST_LOG` overrides `log.level`.
/// Only the user's own config file can name the log file (not a workspace file, not the editor).
fn init_logging_with(log: &nextedit::config::LogSettings) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|value| !value.trim().is_empty());
    let level = from_env.unwrap_or_else(|| {
        if log.level.contains('=') { log.level.clone() } else { format!("nextedit={}", log.level) }
    });
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("nextedit=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false);
    if let Some(path) = &log.file {
        match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(file) => {
                let _ = builder.with_writer(std::sync::Mutex::new(file)).try_init();
                return;
            }
            Err(error) => {
                eprintln!("nextedit: cannot open the log file {path}: {error}; logging to stderr")
            }
        }
    }
    let _ = builder.with_writer(std::io::stderr).try_init();
}

fn serve_stdio() -> ExitCode {
    let layers = user_layers();
    init_logging_with(&layers.resolve().0.log);
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("nextedit: cannot start the async runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
    let status =
        runtime.block_on(nextedit::lsp::serve(tokio::io::stdin(), tokio::io::stdout(), layers));
    // Don't wait for blocked stdin reads or model threads.
    runtime.shutdown_background();
    match status {
        nextedit::lsp::ExitStatus::Clean => ExitCode::SUCCESS,
        nextedit::lsp::ExitStatus::ExitWithoutShutdown => ExitCode::from(1),
    }
}
