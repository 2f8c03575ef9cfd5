//! `nextedit bench`: speed of the paths a user waits on. Each module measures one thing and
//! returns [`BenchSection`]s:
//!
//! - [`keystroke`]: one `didChange` and the incremental reparse, against a full reparse;
//! - [`symbolic`]: the symbolic engine's latency after an edit;
//! - [`model`]: KV cache reuse, speculation, keystroke-to-suggestion latency and memory with the
//!   model loaded.
//!
//! [`report`] (the section type and the table) and [`sources`] (the generated files) are leaves
//! that the measurement modules share.

pub mod keystroke;
pub mod model;
pub mod report;
pub mod sources;
pub mod symbolic;

use std::path::PathBuf;

use anyhow::Context;

pub use report::{BenchSection, render_table};

use keystroke::{keystroke_section, measure_all, write_keystroke_chart};

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be positive".to_owned()),
        Ok(number) => Ok(number),
        Err(_) => Err(format!("takes a number, not `{text}`")),
    }
}

/// `nextedit bench`'s command line; [`BenchCommand::into_args`] resolves it into [`BenchArgs`].
#[derive(Debug, Clone, clap::Args)]
pub struct BenchCommand {
    /// Small files and few keystrokes (for CI): --sizes 200,1000 --keystrokes 60 unless given
    #[arg(long)]
    pub smoke: bool,
    /// File sizes in lines, comma separated [default: 1000,10000,50000]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_positive)]
    pub sizes: Option<Vec<usize>>,
    /// Keystrokes per file [default: 400]
    #[arg(long, value_name = "N", value_parser = parse_positive)]
    pub keystrokes: Option<usize>,
    /// Languages of the generated files, comma separated
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "rust,python",
        value_parser = ["rust", "python"]
    )]
    pub languages: Vec<String>,
    /// Skip the model sections (cold vs KV reuse, speculation, end to end)
    #[arg(long)]
    pub no_model: bool,
    /// Also run the end-to-end session through an OpenAI-compatible server serving the same
    /// model, and compare it with the embedded backend
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Print the results as JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Where to write the keystroke chart; `none` for no chart
    #[arg(long, value_name = "PATH", default_value = "bench-keystroke.svg")]
    pub svg: String,
}

impl crate::cli::ToolCommand for BenchCommand {
    const NAME: &'static str = "bench";
    type Args = BenchArgs;

    fn into_args(self) -> Result<BenchArgs, String> {
        let (sizes, keystrokes) =
            if self.smoke { (vec![200, 1_000], 60) } else { (vec![1_000, 10_000, 50_000], 400) };
        Ok(BenchArgs {
            sizes: self.sizes.unwrap_or(sizes),
            keystrokes: self.keystrokes.unwrap_or(keystrokes),
            languages: self.languages,
            json: self.json,
            svg: (self.svg != "none").then(|| PathBuf::from(self.svg)),
            smoke: self.smoke,
            model: !self.no_model,
            remote: self.remote,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchArgs {
    pub sizes: Vec<usize>,
    pub keystrokes: usize,
    pub languages: Vec<String>,
    pub json: bool,
    pub svg: Option<PathBuf>,
    pub smoke: bool,
    pub model: bool,
    /// An OpenAI-compatible server with the same model, for the embedded-against-remote section.
    pub remote: Option<String>,
}

impl BenchArgs {
    /// Parses the arguments after `bench`.
    pub fn parse(args: &[String]) -> Result<BenchArgs, String> {
        crate::cli::parse_tool_args::<BenchCommand>(args)
    }
}

/// The `bench` subcommand.
pub fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let measurements = measure_all(&args.languages, &args.sizes, args.keystrokes)?;
    let mut sections = vec![keystroke_section(&measurements)];
    sections.push(symbolic::symbolic_section(if args.smoke { 1_000 } else { 5_000 }));
    if args.model {
        sections.extend(model::model_sections(args.smoke, args.remote.as_deref())?);
    }
    if args.json {
        crate::print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "sections": sections }))?
        ))?;
    } else {
        crate::print_stdout(&render_table(&sections))?;
    }
    if let Some(path) = &args.svg {
        write_keystroke_chart(path, &measurements)
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !args.json {
            crate::print_stdout(&format!("chart: {}\n", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::keystroke::keystroke_section;

    #[test]
    fn smoke_bench_measures_every_keystroke_and_writes_a_chart() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let args = BenchArgs::parse(&[
            "--smoke".to_owned(),
            "--svg".to_owned(),
            dir.join("chart.svg").to_string_lossy().into_owned(),
        ])
        .unwrap();
        let measurements = measure_all(&args.languages, &args.sizes, args.keystrokes).unwrap();
        assert_eq!(measurements.len(), 4);
        for measurement in &measurements {
            assert_eq!(measurement.incremental.len(), 60);
            assert_eq!(measurement.text_and_history.len(), 60);
            assert!(!measurement.full_reparse.is_empty());
            assert!(measurement.has_tree);
        }
        let section = keystroke_section(&measurements);
        assert_eq!(section.rows.len(), 4 * 10);
        assert!(render_table(&[section]).contains("rust 1k lines: didChange p50"));
        write_keystroke_chart(args.svg.as_deref().unwrap(), &measurements).unwrap();
        assert!(std::fs::read_to_string(dir.join("chart.svg")).unwrap().starts_with("<svg"));
    }
}
