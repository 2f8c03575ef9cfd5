//! The `nextedit` command line: with no subcommand (or `--stdio`) a language server on stdio,
//! otherwise one of the tools. Each subcommand's flags are declared next to the code that runs it.

use clap::{Parser, Subcommand};

/// The `after_help` of the top-level command.
const SETTINGS_NOTE: &str = "\
Settings come from ~/.config/nextedit/config.toml, <workspace>/nextedit.toml and the editor's
initializationOptions; see the README. Logs go to stderr; RUST_LOG=nextedit=debug for more.";

/// nextedit: a language server that predicts your next edit.
///
/// Without a subcommand it serves LSP over stdin/stdout (what editors run).
#[derive(Debug, Parser)]
#[command(name = "nextedit", version, after_help = SETTINGS_NOTE)]
pub struct Cli {
    /// Serve LSP over stdin/stdout (the default without a subcommand)
    #[arg(long)]
    pub stdio: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Predict the next edit of FILE after the edits in the PATCH files
    Suggest(crate::suggest::SuggestArgs),
    /// Show the settings, the model, its prompt format, load time and a test generation
    Doctor,
    /// Replay next-edit cases through the server and score them
    Eval(crate::eval::EvalCommand),
    /// Build evaluation cases from a git repository's history
    Mine(crate::mine::MineCommand),
    /// Measure the keystroke path, the symbolic engine and the model
    Bench(crate::bench::BenchCommand),
    /// List real next-edit models and download one from Hugging Face
    Model(crate::model::ModelCommand),
}

/// A tool's command line: its parsed flags resolve into the arguments the tool runs with.
pub trait ToolCommand: clap::Args {
    /// The subcommand's name.
    const NAME: &'static str;
    type Args;
    /// The arguments, or why the flags don't make sense together (a usage error).
    fn into_args(self) -> Result<Self::Args, String>;
}

/// Parses and resolves one tool's arguments (the words after its name).
pub fn parse_tool_args<C: ToolCommand>(args: &[String]) -> Result<C::Args, String> {
    parse_args::<C>(C::NAME, args).map_err(|error| error.to_string())?.into_args()
}

/// Parses one subcommand's arguments (the words after its name) on their own: what the tests
/// and library callers use.
pub fn parse_args<T: clap::Args>(name: &'static str, args: &[String]) -> Result<T, clap::Error> {
    let command = T::augment_args(clap::Command::new(name));
    let words = std::iter::once(name.to_owned()).chain(args.iter().cloned());
    T::from_arg_matches(&command.try_get_matches_from(words)?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
