//! `nextedit bench`.
pub struct BenchArgs;
pub fn run_bench(_args: BenchArgs) -> anyhow::Result<()> { Ok(()) }
