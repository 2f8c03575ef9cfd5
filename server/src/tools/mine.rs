//! `nextedit mine`.
pub struct MineArgs;
pub fn run_mine(_args: MineArgs) -> anyhow::Result<()> { Ok(()) }
