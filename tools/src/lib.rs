//! The `nextedit` command's library: the command line ([`cli`]) and the tools that drive the
//! server from outside: prediction on a file (`suggest`), the model check (`doctor`), evaluation
//! on next-edit cases (`eval`), mining cases from a git repository (`mine`), the benchmarks
//! (`bench`) and the model catalogue and download (`model`), with what they share (the
//! blocking LSP client and its framing, unified diffs, percentiles, chart colours). Nothing in
//! the server depends on this crate.

pub mod bench;
pub mod chart_style;
pub mod cli;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod lintseq;
pub mod lsp_client;
pub mod lsp_framing;
pub mod mine;
pub mod model;
pub mod patch;
pub mod safety;
pub mod stats;
pub mod suggest;

pub use bench::{BenchArgs, run_bench};
pub use eval::{EvalArgs, run_eval};
pub use mine::{MineArgs, run_mine};

/// Prints to stdout; a closed pipe (`nextedit bench | head`) ends the output quietly instead of
/// panicking.
pub(crate) fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}
