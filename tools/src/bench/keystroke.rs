//! `nextedit bench`'s keystroke section: one `didChange` as the server handles it
//! (`Documents::apply_changes`: rope edit, edit history, the tree's edit), the incremental reparse
//! that the next prediction job runs, on generated files of 1k, 10k and 50k lines, next to a full
//! reparse of the same text; and its chart.

use std::path::Path;
use std::time::{Duration, Instant};

use plotters::prelude::*;
use ropey::Rope;

use crate::bench::report::{BenchSection, duration_percentile, micros, row};
use crate::bench::sources::generate_source;
use crate::chart_style::{chart_error, draw_legend};
use nextedit::engine::documents::Documents;
use nextedit::text::{
    Document, History, HistoryConfig, Position, PositionEncoding, PositionRange, TextChange,
};

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

fn size_label(lines: usize) -> String {
    if lines >= 1000 && lines.is_multiple_of(1000) {
        format!("{}k", lines / 1000)
    } else {
        lines.to_string()
    }
}

/// The keystroke section: p50/p99 of one `didChange` and of a full reparse, per file.
pub fn keystroke_section(measurements: &[KeystrokeMeasurement]) -> BenchSection {
    type Samples = fn(&KeystrokeMeasurement) -> &[Duration];
    let distributions: [(&str, Samples); 4] = [
        ("didChange", |m| &m.incremental),
        ("incremental reparse", |m| &m.reparse),
        ("text + history only", |m| &m.text_and_history),
        ("full reparse", |m| &m.full_reparse),
    ];
    let mut rows = Vec::new();
    for measurement in measurements {
        let name = format!("{} {} lines", measurement.language, size_label(measurement.lines));
        let percentiles = |rows: &mut Vec<_>, (label, samples): &(&str, Samples)| {
            for percent in [50.0, 99.0] {
                let value = micros(duration_percentile(samples(measurement), percent));
                rows.push(row(format!("{name}: {label} p{percent}"), value, "us"));
            }
        };
        distributions[..3].iter().for_each(|distribution| percentiles(&mut rows, distribution));
        let stale = format!("{name}: keystrokes leaving a stale tree");
        rows.push(row(stale, measurement.stale_after as f64, "count"));
        percentiles(&mut rows, &distributions[3]);
        rows.push(row(
            format!("{name}: open (first parse)"),
            micros(measurement.initial_parse),
            "us",
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

/// A grouped bar chart (log scale): per file, didChange p50/p99 next to full reparse p50/p99.
pub fn write_keystroke_chart(
    path: &Path,
    measurements: &[KeystrokeMeasurement],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    type Series = (&'static str, fn(&KeystrokeMeasurement) -> Duration);
    let series: [Series; 4] = [
        ("didChange p50", |m| duration_percentile(&m.incremental, 50.0)),
        ("didChange p99", |m| duration_percentile(&m.incremental, 99.0)),
        ("full reparse p50", |m| duration_percentile(&m.full_reparse, 50.0)),
        ("full reparse p99", |m| duration_percentile(&m.full_reparse, 99.0)),
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
        .map_err(chart_error)?;
    chart.configure_mesh().disable_x_mesh().x_labels(0).y_desc("us").draw().map_err(chart_error)?;
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
        .map_err(chart_error)?;
    let bar_width = 0.8 / series.len() as f64;
    for (series_index, (name, value)) in series.iter().enumerate() {
        let style = crate::chart_style::color(series_index).filled();
        let bars = measurements.iter().enumerate().map(|(index, measurement)| {
            let left = index as f64 + 0.1 + bar_width * series_index as f64;
            Rectangle::new(
                [(left, 0.5), (left + bar_width * 0.95, micros(value(measurement)).max(0.5))],
                style,
            )
        });
        chart
            .draw_series(bars)
            .map_err(chart_error)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], style));
    }
    draw_legend(&mut chart, Some(SeriesLabelPosition::UpperLeft))?;
    root.present().map_err(chart_error)?;
    Ok(())
}

/// Measures every language and size.
pub fn measure_all(
    languages: &[String],
    sizes: &[usize],
    keystrokes: usize,
) -> anyhow::Result<Vec<KeystrokeMeasurement>> {
    let mut measurements = Vec::new();
    for language in languages {
        for &lines in sizes {
            measurements.push(measure_keystrokes(language, lines, keystrokes)?);
        }
    }
    Ok(measurements)
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
