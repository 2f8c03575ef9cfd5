//! Command-line tools that drive the server from outside: evaluation on next-edit cases
//! (`eval`), mining cases from a git repository (`mine`) and the keystroke-path benchmark
//! (`bench`). Nothing in the server depends on this module.

pub mod bench;
pub mod bench_engine;
pub mod eval;
pub mod lsp_client;
pub mod mine;
pub mod patch;
pub mod suggest;

pub use bench::{BenchArgs, run_bench};
pub use eval::{EvalArgs, run_eval};
pub use mine::{MineArgs, run_mine};
