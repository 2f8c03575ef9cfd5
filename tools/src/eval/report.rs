//! `report.md`, `summary.json` and the charts of one evaluation (one or more configurations).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::eval::calibration::{calibrate, render_table, write_chart as write_calibration_chart};
use crate::eval::charts::{CHART_METRICS, write_latency_chart, write_metric_chart};
use crate::eval::summary::{CaseResult, GroupSummary, RunSummary, reference_table};

pub const METRIC_DEFINITIONS: &str = "\
- **exact**: the file after applying the suggestion equals the expected file (or an alternative).
- **exact_ws**: equal after collapsing every whitespace run (Python's `split()`/`join`).
- **dchrF**: delta-chrF, a character n-gram F-score (n = 1..6, beta = 2) between the change the \
suggestion makes and the expected change, deletions counted as negated n-grams, whitespace runs \
collapsed; 100 when both are no-ops. A mean over cases, in [0, 100].
- **loc_hit**: the first line the suggestion changes lies in the line span the expected edit changes.
- **fired**: the server suggested something (a non-empty edit list); **fire rate** = fired / cases.
- **precision**: exact among fired cases.
- **reversal**: among fired cases, the share whose suggestion undoes part of the user's last history \
edit: it gives back the text before that edit, deletes or rewrites characters that edit typed \
(letters and digits; finishing a line being typed keeps them), or one of its changes touches the lines \
of that edit and there adds back a line the edit deleted (lines compared trimmed; lines without a \
letter or digit, such as `}`, do not count; code moved elsewhere is not a reversal). \
On the shared cases no expected edit is a reversal and every full undo is; a next-edit engine should \
almost never do this.
- **p50/p95**: latency of the next-edit request (from sending it to its answer, debounce included), \
nearest-rank percentiles over answered requests, in milliseconds.
- **errors**: error answers, ContentModified (stale) answers and timeouts; **crashes**: the server \
died or broke the protocol during the case (it is restarted); **bad cases**: cases whose history \
does not replay. A case without an answer counts as no suggestion in every metric.

exact, exact_ws, dchrF and loc_hit are defined as in `shared/eval/score.py`; \
`python3 score.py CASES.jsonl --pred predictions.jsonl --by category` prints the same numbers.";

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.1}"))
}

fn milliseconds(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.0}"))
}

fn table_header(first_column: &str) -> String {
    format!(
        "| {first_column} | n | exact | exact_ws | dchrF | loc_hit | fired | precision | reversal | p50 ms | p95 ms | errors | crashes |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
}

fn table_row(first_column: &str, group: &GroupSummary) -> String {
    format!(
        "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} |\n",
        first_column,
        group.cases,
        group.exact,
        group.exact_ws,
        group.delta_chrf,
        group.loc_hit,
        group.fire_rate,
        percent(group.precision),
        percent(group.reversal_ratio),
        milliseconds(group.latency_p50_ms),
        milliseconds(group.latency_p95_ms),
        group.errors,
        group.crashes + group.bad_cases,
    )
}

/// The Markdown report of one or more runs over the same cases.
pub fn render_report(
    runs: &[RunSummary],
    results: &[Vec<CaseResult>],
    chart_dir: &str,
    command: &str,
    case_files: &[PathBuf],
) -> String {
    let mut out = String::from("# Next-edit evaluation\n\n");
    let _ = writeln!(out, "Command: `{command}`\n");
    out.push_str("To check the numbers with the reference scorer (one case file at a time):\n\n");
    for file in case_files {
        let _ = writeln!(
            out,
            "    python3 score.py {} --pred predictions.jsonl --by category",
            file.display()
        );
    }
    out.push('\n');
    out.push_str("Every case is replayed through the server over LSP as an editor would: open the file as it was \
                  before the history, send each history hunk as `didChange`, ask for the next edit at the cursor, \
                  apply it, compare with the expected file.\n\n");
    out.push_str("## Overall\n\n");
    out.push_str(&table_header("configuration"));
    for run in runs {
        out.push_str(&table_row(&run.name, &run.overall));
    }
    out.push('\n');
    for (index, run) in runs.iter().enumerate() {
        let _ = writeln!(out, "## {}\n", run.name);
        let _ = writeln!(
            out,
            "Server `{}`, method `{}`, position encoding `{}`, server restarts after a crash: {}.\n",
            run.server, run.method, run.position_encoding, run.server_crashes
        );
        let _ = writeln!(out, "Settings (initializationOptions): `{}`\n", run.settings);
        for (title, groups) in
            [("category", &run.by_category), ("language", &run.by_language), ("file", &run.by_file)]
        {
            if title == "file" && groups.len() < 2 {
                continue;
            }
            let _ = writeln!(out, "### By {title}\n");
            out.push_str(&table_header(title));
            out.push_str(&table_row("ALL", &run.overall));
            for group in groups {
                out.push_str(&table_row(&group.group, group));
            }
            out.push('\n');
        }
        if let Some(rows) = results.get(index).and_then(|results| calibrate(results)) {
            out.push_str("### Calibration\n\n");
            out.push_str(
                "The figures had `predict.min_confidence` been each threshold (the model's own \
                 suggestions below it are not shown; symbolic ones pass on `symbolic.min_score`). \
                 Exact only with the run's threshold at 0.\n\n",
            );
            out.push_str(&render_table(&rows));
            let _ = writeln!(out, "\n![calibration]({chart_dir}{})\n", calibration_chart(index));
        }
        if !run.notes.is_empty() {
            out.push_str("Notes:\n\n");
            for note in &run.notes {
                let _ = writeln!(out, "- {note}");
            }
            out.push('\n');
        }
    }
    for (run, run_results) in runs.iter().zip(results) {
        let failures: Vec<&CaseResult> =
            run_results.iter().filter(|result| result.outcome != "ok").collect();
        if failures.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## Failures of {} ({} cases)\n", run.name, failures.len());
        for result in failures.iter().take(30) {
            let message = result.error.as_deref().unwrap_or("").replace('\n', " ");
            let _ = writeln!(out, "- `{}`: {} {}", result.id, result.outcome, message);
        }
        if failures.len() > 30 {
            let _ = writeln!(out, "- and {} more (see predictions.jsonl)", failures.len() - 30);
        }
        out.push('\n');
    }
    out.push_str("## In the reference scorer's format\n\n");
    for (run, run_results) in runs.iter().zip(results) {
        let mut sources: Vec<&str> =
            run_results.iter().map(|result| result.source.as_str()).collect();
        sources.dedup();
        for source in sources {
            let of_source: Vec<CaseResult> =
                run_results.iter().filter(|result| result.source == source).cloned().collect();
            let _ =
                writeln!(out, "{} on {source}, `--by category` and `--by language`:\n", run.name);
            out.push_str("```\n");
            out.push_str(&reference_table(&of_source, false));
            out.push_str(&reference_table(&of_source, true));
            out.push_str("```\n\n");
        }
    }
    out.push_str("## Charts\n\n");
    for metric in &CHART_METRICS {
        let _ = writeln!(out, "![{}]({chart_dir}{}.svg)", metric.title, metric.file_stem);
    }
    let _ = writeln!(out, "![latency]({chart_dir}latency.svg)\n");
    out.push_str("## Metrics\n\n");
    out.push_str(METRIC_DEFINITIONS);
    out.push('\n');
    out
}

/// The calibration chart's file name for the run at `index`.
fn calibration_chart(index: usize) -> String {
    if index == 0 { "calibration.svg".to_owned() } else { format!("calibration-{}.svg", index + 1) }
}

/// Writes `predictions.jsonl` for one run.
pub fn write_predictions(path: &Path, results: &[CaseResult]) -> anyhow::Result<()> {
    let mut text = String::new();
    for result in results {
        text.push_str(&serde_json::to_string(result)?);
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the report, the summary and the charts into `out_dir`; returns the files written.
pub fn write_report(
    out_dir: &Path,
    runs: &[RunSummary],
    results: &[Vec<CaseResult>],
    command: &str,
    case_files: &[PathBuf],
) -> anyhow::Result<Vec<PathBuf>> {
    let chart_dir = out_dir.join("charts");
    std::fs::create_dir_all(&chart_dir)
        .with_context(|| format!("cannot create {}", chart_dir.display()))?;
    let mut written = Vec::new();
    for metric in &CHART_METRICS {
        let path = chart_dir.join(format!("{}.svg", metric.file_stem));
        write_metric_chart(&path, metric, runs)?;
        written.push(path);
    }
    for (index, (run, results)) in runs.iter().zip(results).enumerate() {
        if let Some(rows) = calibrate(results) {
            let path = chart_dir.join(calibration_chart(index));
            let title = format!("{}: precision and fire rate against min_confidence", run.name);
            write_calibration_chart(&path, &title, &rows)?;
            written.push(path);
        }
    }
    let latency_path = chart_dir.join("latency.svg");
    write_latency_chart(&latency_path, runs)?;
    written.push(latency_path);
    let report_path = out_dir.join("report.md");
    std::fs::write(&report_path, render_report(runs, results, "charts/", command, case_files))
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    written.push(report_path);
    let summary_path = out_dir.join("summary.json");
    let summary = if runs.len() == 1 {
        serde_json::to_value(&runs[0])?
    } else {
        serde_json::json!({ "runs": runs })
    };
    std::fs::write(&summary_path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    written.push(summary_path);
    Ok(written)
}
