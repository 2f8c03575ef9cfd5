//! `nextedit bench`: speed of the paths a user waits on. This module measures the keystroke path:
//! one `didChange` as the server handles it (`Documents::apply_changes`: rope edit, edit history,
//! the tree's edit), the incremental reparse that the next prediction job runs, on generated files of 1k, 10k and 50k lines, next to a full reparse of
//! the same text. Other sections (model, symbolic engine) plug in as functions that return a
//! [`BenchSection`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use plotters::prelude::*;
use ropey::Rope;

use nextedit::engine::documents::Documents;
use nextedit::text::{
    Document, History, HistoryConfig, Position, PositionEncoding, PositionRange, TextChange,
};

pub const BENCH_USAGE: &str = "\
usage: nextedit bench [options]

  --smoke               small files and few keystrokes (for CI)
  --sizes LIST          file sizes in lines, comma separated (default 1000,10000,50000)
  --keystrokes N        keystrokes per file (default 400)
  --languages LIST      rust,python (default both)
  --no-model            skip the model sections (cold vs KV reuse, speculation, end to end)
  --remote URL          also run the end-to-end session through an OpenAI-compatible server
                        serving the same model, and compare it with the embedded backend
  --json                print the results as JSON instead of a table
  --svg PATH            write a chart (default bench-keystroke.svg; `none` for no chart)";

/// One group of results: rows of (label, value, unit).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchSection {
    pub name: String,
    pub rows: Vec<(String, f64, String)>,
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

impl Default for BenchArgs {
    fn default() -> BenchArgs {
        BenchArgs {
            sizes: vec![1_000, 10_000, 50_000],
            keystrokes: 400,
            languages: vec!["rust".to_owned(), "python".to_owned()],
            json: false,
            svg: Some(PathBuf::from("bench-keystroke.svg")),
            smoke: false,
            model: true,
            remote: None,
        }
    }
}

impl BenchArgs {
    /// Parses the arguments after `bench`.
    pub fn parse(args: &[String]) -> Result<BenchArgs, String> {
        let mut parsed = BenchArgs::default();
        let mut index = 0;
        while index < args.len() {
            let arg = args[index].as_str();
            let mut value = || {
                index += 1;
                args.get(index).cloned().ok_or_else(|| format!("{arg} needs a value"))
            };
            match arg {
                "--help" | "-h" => return Err(BENCH_USAGE.to_owned()),
                "--smoke" => {
                    parsed.sizes = vec![200, 1_000];
                    parsed.keystrokes = 60;
                    parsed.smoke = true;
                }
                "--sizes" => {
                    let text = value()?;
                    parsed.sizes = text
                        .split(',')
                        .map(|size| {
                            size.trim()
                                .parse::<usize>()
                                .map_err(|_| format!("--sizes takes numbers, not `{text}`"))
                        })
                        .collect::<Result<_, _>>()?;
                    if parsed.sizes.contains(&0) {
                        return Err("--sizes must be positive".to_owned());
                    }
                }
                "--keystrokes" => {
                    let text = value()?;
                    parsed.keystrokes = text
                        .parse()
                        .map_err(|_| format!("--keystrokes takes a number, not `{text}`"))?;
                    if parsed.keystrokes == 0 {
                        return Err("--keystrokes must be positive".to_owned());
                    }
                }
                "--languages" => {
                    parsed.languages =
                        value()?.split(',').map(|language| language.trim().to_owned()).collect();
                    if let Some(unknown) = parsed
                        .languages
                        .iter()
                        .find(|language| !["rust", "python"].contains(&language.as_str()))
                    {
                        return Err(format!("no generator for `{unknown}` (rust, python)"));
                    }
                }
                "--json" => parsed.json = true,
                "--no-model" => parsed.model = false,
                "--remote" => parsed.remote = Some(value()?),
                "--svg" => {
                    let path = value()?;
                    parsed.svg = (path != "none").then(|| PathBuf::from(path));
                }
                other => return Err(format!("unknown option `{other}`\n\n{BENCH_USAGE}")),
            }
            index += 1;
        }
        Ok(parsed)
    }
}

/// A plausible source file of `lines` lines.
pub fn generate_source(language: &str, lines: usize) -> String {
    let mut out = String::new();
    let mut line_count = 0;
    let mut index = 0;
    while line_count < lines {
        let block = match language {
            "python" => format!(
                "class Item{index}:\n    \"\"\"An item with a value.\"\"\"\n\n    def __init__(self, value):\n        self.value = value  # keep it\n\n    def total(self, other):\n        if other is None:\n            return self.value\n        return self.value + other.value * {index}\n\n\n"
            ),
            _ => format!(
                "/// An item with a value.\n#[derive(Debug, Clone)]\npub struct Item{index} {{\n    value: u64,\n    name: String,\n}}\n\nimpl Item{index} {{\n    pub fn total(&self, other: &Item{index}) -> u64 {{\n        let scaled = other.value * {index};\n        self.value + scaled // keep it\n    }}\n}}\n\n"
            ),
        };
        line_count += block.lines().count();
        out.push_str(&block);
        index += 1;
    }
    out
}

fn uri_for(language: &str) -> &'static str {
    if language == "python" { "file:///bench/generated.py" } else { "file:///bench/generated.rs" }
}

/// What typing costs on one file.
#[derive(Debug, Clone)]
pub struct KeystrokeMeasurement {
    pub language: String,
    pub lines: usize,
    /// Each keystroke through `Documents::apply_changes` (what `didChange` does), sorted.
    pub incremental: Vec<Duration>,
    /// The incremental reparse after each keystroke (`Documents::ensure_parsed`: the parse the
    /// next prediction job runs), sorted.
    pub reparse: Vec<Duration>,
    /// The same keystrokes through the text and history parts only (no syntax), sorted.
    pub text_and_history: Vec<Duration>,
    /// Keystrokes after which the tree was stale (the incremental parse ran out of budget).
    pub stale_after: usize,
    /// A full parse of the text from scratch, sorted.
    pub full_reparse: Vec<Duration>,
    pub initial_parse: Duration,
    pub has_tree: bool,
}

/// The text typed in the middle of the file, one character a keystroke.
fn typed_text(language: &str) -> &'static str {
    if language == "python" {
        "        result = self.total(other) + 1\n"
    } else {
        "        let result = self.total(other) + 1;\n"
    }
}

/// Types `keystrokes` characters in the middle of a generated file, each through the server's
/// document path; then times full parses of the final text.
pub fn measure_keystrokes(
    language: &str,
    lines: usize,
    keystrokes: usize,
) -> anyhow::Result<KeystrokeMeasurement> {
    let text = generate_source(language, lines);
    let uri = uri_for(language);
    let mut documents = Documents::new(HistoryConfig::default());
    let started = Instant::now();
    documents.open(uri, language, 0, &text);
    let initial_parse = started.elapsed();
    let has_tree = documents
        .get(uri)
        .is_some_and(|open| open.syntax.as_ref().is_some_and(|syntax| syntax.tree().is_some()));
    // Start typing at the start of a line in the middle of the file.
    let mut line = (text.lines().count() / 2) as u32;
    let mut column = 0u32;
    let typed: Vec<char> = typed_text(language).chars().collect();
    let mut incremental = Vec::with_capacity(keystrokes);
    let mut reparse = Vec::with_capacity(keystrokes);
    let mut changes = Vec::with_capacity(keystrokes);
    let mut stale_after = 0;
    let mut now = Instant::now();
    for keystroke in 0..keystrokes {
        let character = typed[keystroke % typed.len()];
        let position = Position::new(line, column);
        let change = TextChange {
            range: Some(PositionRange::new(position, position)),
            text: character.to_string(),
        };
        // Typing speed: a keystroke every 80 ms, so edits coalesce as they would.
        now += Duration::from_millis(80);
        let started = Instant::now();
        let applied = documents.apply_changes(
            uri,
            keystroke as i32 + 1,
            std::slice::from_ref(&change),
            PositionEncoding::Utf8,
            now,
        );
        incremental.push(started.elapsed());
        applied.map_err(|error| anyhow::anyhow!("a generated keystroke was refused: {error}"))?;
        let started = Instant::now();
        documents.ensure_parsed(uri);
        reparse.push(started.elapsed());
        if documents
            .get(uri)
            .and_then(|open| open.syntax.as_ref())
            .is_some_and(|syntax| syntax.is_stale())
        {
            stale_after += 1;
        }
        changes.push(change);
        if character == '\n' {
            line += 1;
            column = 0;
        } else {
            column += character.len_utf8() as u32;
        }
    }
    // The same keystrokes without syntax: the rope edit and the history alone.
    let mut document = Document::new(uri, language, 0, &text);
    let mut history = History::new(HistoryConfig::default());
    let mut text_and_history = Vec::with_capacity(keystrokes);
    let mut now = Instant::now();
    for (sequence, change) in changes.iter().enumerate() {
        now += Duration::from_millis(80);
        let started = Instant::now();
        let before = document.rope().clone();
        let applied = document.apply_change(change, PositionEncoding::Utf8);
        history.record(&before, document.rope(), &applied, now, sequence as u64);
        text_and_history.push(started.elapsed());
    }
    let final_text = documents
        .get(uri)
        .map(|open| open.document.rope().clone())
        .unwrap_or_else(|| Rope::from_str(&text));
    let mut full_reparse = Vec::new();
    let grammar = nextedit_grammars::for_document(language, uri).and_then(|info| info.language());
    let mut parser = tree_sitter::Parser::new();
    if let Some(grammar) = grammar
        && parser.set_language(&grammar).is_ok()
    {
        let repeats = (keystrokes / 10).clamp(5, 40);
        for _ in 0..repeats {
            let started = Instant::now();
            let tree = nextedit::syntax::parse_rope(
                &mut parser,
                &final_text,
                None,
                Duration::from_secs(30),
            );
            full_reparse.push(started.elapsed());
            anyhow::ensure!(tree.is_some(), "a full parse of {lines} lines ran out of time");
        }
    }
    incremental.sort();
    reparse.sort();
    text_and_history.sort();
    full_reparse.sort();
    Ok(KeystrokeMeasurement {
        language: language.to_owned(),
        lines,
        incremental,
        reparse,
        text_and_history,
        stale_after,
        full_reparse,
        initial_parse,
        has_tree,
    })
}

fn percentile(sorted: &[Duration], percent: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn size_label(lines: usize) -> String {
    if lines >= 1000 && lines.is_multiple_of(1000) {
        format!("{}k", lines / 1000)
    } else {
        lines.to_string()
    }
}

/// The keystroke section: p50/p99 of one `didChange` and of a full reparse, per file.
pub fn keystroke_section(measurements: &[KeystrokeMeasurement]) -> BenchSection {
    let mut rows = Vec::new();
    for measurement in measurements {
        let name = format!("{} {} lines", measurement.language, size_label(measurement.lines));
        let micro = "us".to_owned();
        rows.push((
            format!("{name}: didChange p50"),
            micros(percentile(&measurement.incremental, 50.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: didChange p99"),
            micros(percentile(&measurement.incremental, 99.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: incremental reparse p50"),
            micros(percentile(&measurement.reparse, 50.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: incremental reparse p99"),
            micros(percentile(&measurement.reparse, 99.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: text + history only p50"),
            micros(percentile(&measurement.text_and_history, 50.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: text + history only p99"),
            micros(percentile(&measurement.text_and_history, 99.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: keystrokes leaving a stale tree"),
            measurement.stale_after as f64,
            "count".to_owned(),
        ));
        rows.push((
            format!("{name}: full reparse p50"),
            micros(percentile(&measurement.full_reparse, 50.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: full reparse p99"),
            micros(percentile(&measurement.full_reparse, 99.0)),
            micro.clone(),
        ));
        rows.push((
            format!("{name}: open (first parse)"),
            micros(measurement.initial_parse),
            micro.clone(),
        ));
        if !measurement.has_tree {
            rows.push((
                format!("{name}: no syntax tree (parse budget or grammar missing)"),
                0.0,
                String::new(),
            ));
        }
    }
    BenchSection { name: "keystroke path (didChange: rope, history, tree edit; then the incremental reparse a prediction runs)".to_owned(), rows }
}

/// Renders sections as a plain text table.
pub fn render_table(sections: &[BenchSection]) -> String {
    let width = sections
        .iter()
        .flat_map(|section| section.rows.iter())
        .map(|row| row.0.len())
        .max()
        .unwrap_or(10);
    let mut out = String::new();
    for section in sections {
        out.push_str(&format!("{}\n", section.name));
        for (label, value, unit) in &section.rows {
            out.push_str(&format!("  {label:width$}  {value:>12.1} {unit}\n"));
        }
        out.push('\n');
    }
    out
}

/// A grouped bar chart (log scale): per file, didChange p50/p99 next to full reparse p50/p99.
pub fn write_keystroke_chart(
    path: &Path,
    measurements: &[KeystrokeMeasurement],
) -> anyhow::Result<()> {
    let draw_error = |error: DrawingAreaErrorKind<std::io::Error>| {
        anyhow::anyhow!("cannot draw the chart: {error}")
    };
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    type Series = (&'static str, fn(&KeystrokeMeasurement) -> Duration);
    let series: [Series; 4] = [
        ("didChange p50", |m| percentile(&m.incremental, 50.0)),
        ("didChange p99", |m| percentile(&m.incremental, 99.0)),
        ("full reparse p50", |m| percentile(&m.full_reparse, 50.0)),
        ("full reparse p99", |m| percentile(&m.full_reparse, 99.0)),
    ];
    let max = measurements
        .iter()
        .flat_map(|measurement| series.iter().map(move |(_, value)| micros(value(measurement))))
        .fold(10.0_f64, f64::max);
    let groups = measurements.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption("Keystroke path vs full reparse (microseconds, log scale)", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..groups as f64, (0.5..max * 2.0).log_scale())
        .map_err(draw_error)?;
    chart.configure_mesh().disable_x_mesh().x_labels(0).y_desc("us").draw().map_err(draw_error)?;
    let label_style =
        TextStyle::from(("sans-serif", 14)).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
    chart
        .draw_series(measurements.iter().enumerate().map(|(index, measurement)| {
            let label = format!("{} {}", measurement.language, size_label(measurement.lines));
            Text::new(label, (index as f64 + 0.5, 0.5), label_style.clone())
        }))
        .map_err(draw_error)?;
    let bar_width = 0.8 / series.len() as f64;
    for (series_index, (name, value)) in series.iter().enumerate() {
        let style = crate::eval::charts::color(series_index).filled();
        let bars = measurements.iter().enumerate().map(|(index, measurement)| {
            let left = index as f64 + 0.1 + bar_width * series_index as f64;
            Rectangle::new(
                [(left, 0.5), (left + bar_width * 0.95, micros(value(measurement)).max(0.5))],
                style,
            )
        });
        chart
            .draw_series(bars)
            .map_err(draw_error)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw_error)?;
    root.present().map_err(draw_error)?;
    Ok(())
}

/// Measures every language and size.
pub fn measure_all(args: &BenchArgs) -> anyhow::Result<Vec<KeystrokeMeasurement>> {
    let mut measurements = Vec::new();
    for language in &args.languages {
        for &lines in &args.sizes {
            measurements.push(measure_keystrokes(language, lines, args.keystrokes)?);
        }
    }
    Ok(measurements)
}

/// The `bench` subcommand (its keystroke part).
pub fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let measurements = measure_all(&args)?;
    let mut sections = vec![keystroke_section(&measurements)];
    sections.push(crate::bench_engine::symbolic_section(if args.smoke { 1_000 } else { 5_000 }));
    if args.model {
        sections.extend(crate::bench_engine::model_sections(args.smoke, args.remote.as_deref())?);
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

    #[test]
    fn generated_files_have_the_asked_size_and_parse_cleanly() {
        for language in ["rust", "python"] {
            let text = generate_source(language, 300);
            let lines = text.lines().count();
            assert!((300..330).contains(&lines), "{language}: {lines}");
            let info = nextedit_grammars::for_document(language, uri_for(language)).unwrap();
            let tree = nextedit::syntax::parse_str(info, &text).unwrap();
            assert!(!tree.root_node().has_error(), "{language}");
        }
    }

    #[test]
    fn smoke_bench_measures_every_keystroke_and_writes_a_chart() {
        let dir = crate::eval::tests::temp_dir("bench");
        let args = BenchArgs::parse(&[
            "--smoke".to_owned(),
            "--svg".to_owned(),
            dir.join("chart.svg").to_string_lossy().into_owned(),
        ])
        .unwrap();
        let measurements = measure_all(&args).unwrap();
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
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn typing_goes_through_the_document_path() {
        let mut documents = Documents::new(HistoryConfig::default());
        let uri = uri_for("rust");
        documents.open(uri, "rust", 0, "fn a() {}\n");
        let position = Position::new(0, 9);
        let change = TextChange {
            range: Some(PositionRange::new(position, position)),
            text: " ".to_owned(),
        };
        documents.apply_changes(uri, 1, &[change], PositionEncoding::Utf8, Instant::now()).unwrap();
        let open = documents.get(uri).unwrap();
        assert_eq!(open.document.text(), "fn a() {} \n");
        assert_eq!(open.history.events().len(), 1);
    }
}
