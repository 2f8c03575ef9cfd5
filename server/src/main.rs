//! The `nextedit` command: with no arguments (or `--stdio`) a language server on stdio.

use std::process::ExitCode;

use nextedit::config::{self, SettingsLayers, Source};

const HELP: &str = "\
nextedit: a language server that predicts your next edit

Usage:
  nextedit [--stdio]        serve LSP over stdin/stdout (what editors run)
  nextedit --version        print the version
  nextedit --help           print this help

Settings come from ~/.config/nextedit/config.toml, <workspace>/nextedit.toml and the editor's
initializationOptions; see the README. Logs go to stderr; RUST_LOG=nextedit=debug for more.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("--stdio") => serve_stdio(),
        Some("--version" | "-V") => {
            println!("nextedit {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h" | "help") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("nextedit: unknown command `{other}`; see `nextedit --help`");
            ExitCode::from(2)
        }
    }
}

/// Loads the user's config file into a settings layer; problems are logged, not fatal.
fn user_layers() -> SettingsLayers {
    let mut layers = SettingsLayers::default();
    if let Some(path) = config::user_config_path() {
        if let Ok(text) = std::fs::read_to_string(&path) {
            match config::parse_toml(&text) {
                Ok(value) => layers.set(Source::UserFile, value),
                Err(error) => tracing::warn!("{}: {error}", path.display()),
            }
        }
    }
    layers
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("nextedit=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).try_init();
}

fn serve_stdio() -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("nextedit: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let status = runtime.block_on(nextedit::lsp::serve(tokio::io::stdin(), tokio::io::stdout(), user_layers()));
    // Don't wait for blocked stdin reads or model threads.
    runtime.shutdown_background();
    match status {
        nextedit::lsp::ExitStatus::Clean => ExitCode::SUCCESS,
        nextedit::lsp::ExitStatus::ExitWithoutShutdown => ExitCode::from(1),
    }
}
