//! Calibration: precision and fire rate against `predict.min_confidence`, from the confidence the
//! server's ranker gave each delivered suggestion. The server gates only the model's own
//! suggestions on it (a symbolic one passes on `symbolic.min_score`), and when the best
//! suggestion is below the threshold it shows nothing; so a run with the threshold at 0 says what
//! any higher threshold would have shown.

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;

use crate::chart_style::{chart_error as plot_error, color, draw_legend};
use crate::eval::summary::CaseResult;

/// The thresholds of the table and the chart.
pub const THRESHOLDS: [f32; 12] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95];

/// The figures of a run had `predict.min_confidence` been `threshold`. Rates are percentages.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationRow {
    pub threshold: f32,
    pub fire_rate: f64,
    /// Exact among fired; `None` when nothing fired.
    pub precision: Option<f64>,
    pub exact: f64,
    pub delta_chrf: f64,
    /// Fire rate on the `other` category; `None` without such cases.
    pub other_fire_rate: Option<f64>,
    /// Among fired; `None` when nothing fired.
    pub reversal_ratio: Option<f64>,
    /// How many of the fired suggestions are the model's alone.
    pub model_fired: usize,
}

/// Whether a case's suggestion would still be shown at `threshold`.
fn shown_at(result: &CaseResult, threshold: f32) -> bool {
    result.fired
        && (result.origin.as_deref() != Some("model")
            || result.confidence.is_none_or(|confidence| confidence >= threshold))
}

/// The table for a run, or `None` when the server reported no confidence for any model
/// suggestion (nothing to calibrate).
pub fn calibrate(results: &[CaseResult]) -> Option<Vec<CalibrationRow>> {
    let calibrated = results
        .iter()
        .any(|result| result.origin.as_deref() == Some("model") && result.confidence.is_some());
    if !calibrated || results.is_empty() {
        return None;
    }
    let count = results.len() as f64;
    let share = |part: usize, whole: usize| (whole > 0).then(|| 100.0 * part as f64 / whole as f64);
    let rows = THRESHOLDS
        .iter()
        .map(|&threshold| {
            let shown: Vec<&CaseResult> =
                results.iter().filter(|result| shown_at(result, threshold)).collect();
            let exact = shown.iter().filter(|result| result.exact > 0.0).count();
            let reversals = shown.iter().filter(|result| result.reversal).count();
            let others = results.iter().filter(|result| result.category == "other").count();
            let other_shown = shown.iter().filter(|result| result.category == "other").count();
            CalibrationRow {
                threshold,
                fire_rate: 100.0 * shown.len() as f64 / count,
                precision: share(exact, shown.len()),
                exact: 100.0 * exact as f64 / count,
                delta_chrf: results
                    .iter()
                    .map(|result| {
                        if shown_at(result, threshold) {
                            result.delta_chrf
                        } else {
                            result.silent_delta_chrf
                        }
                    })
                    .sum::<f64>()
                    / count,
                other_fire_rate: share(other_shown, others),
                reversal_ratio: share(reversals, shown.len()),
                model_fired: shown
                    .iter()
                    .filter(|result| result.origin.as_deref() == Some("model"))
                    .count(),
            }
        })
        .collect();
    Some(rows)
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| format!("{value:.1}"))
}

/// The Markdown table.
pub fn render_table(rows: &[CalibrationRow]) -> String {
    let mut out = String::from(
        "| min_confidence | fired | precision | exact | dchrF | other fired | reversal | model-only fired |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {:.2} | {:.1} | {} | {:.1} | {:.1} | {} | {} | {} |",
            row.threshold,
            row.fire_rate,
            percent(row.precision),
            row.exact,
            row.delta_chrf,
            percent(row.other_fire_rate),
            percent(row.reversal_ratio),
            row.model_fired,
        );
    }
    out
}

/// Lines of precision, fire rate, fire rate on `other` and reversal against the threshold.
pub fn write_chart(path: &Path, title: &str, rows: &[CalibrationRow]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..1.0, 0.0..100.0)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("predict.min_confidence")
        .y_desc("%")
        .draw()
        .map_err(plot_error)?;
    type Value = fn(&CalibrationRow) -> Option<f64>;
    let lines: [(&str, Value); 5] = [
        ("precision", |row| row.precision),
        ("fired", |row| Some(row.fire_rate)),
        ("exact", |row| Some(row.exact)),
        ("fired on other", |row| row.other_fire_rate),
        ("reversal", |row| row.reversal_ratio),
    ];
    for (index, (label, value)) in lines.into_iter().enumerate() {
        let points: Vec<(f64, f64)> =
            rows.iter().filter_map(|row| Some((f64::from(row.threshold), value(row)?))).collect();
        let line_color = color(index);
        chart
            .draw_series(LineSeries::new(points, line_color.stroke_width(2)))
            .map_err(plot_error)?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 12, y)], line_color.stroke_width(2))
            });
    }
    draw_legend(&mut chart, Some(SeriesLabelPosition::UpperRight))?;
    root.present().map_err(plot_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        category: &str,
        origin: Option<&str>,
        confidence: Option<f32>,
        exact: bool,
    ) -> CaseResult {
        CaseResult {
            id: String::new(),
            predicted_after: String::new(),
            source: "cases.jsonl".into(),
            language: "rust".into(),
            category: category.into(),
            pure: false,
            fired: origin.is_some(),
            outcome: "ok".into(),
            error: None,
            latency_ms: None,
            exact: if exact { 1.0 } else { 0.0 },
            exact_ws: if exact { 1.0 } else { 0.0 },
            delta_chrf: match (exact, origin) {
                (true, _) => 100.0,
                (false, Some(_)) => 10.0,
                (false, None) => 0.0,
            },
            loc_hit: 0.0,
            reversal: false,
            edits: Vec::new(),
            origin: origin.map(str::to_owned),
            confidence,
            silent_delta_chrf: 0.0,
        }
    }

    #[test]
    fn a_threshold_drops_unconfident_model_suggestions_and_keeps_symbolic_ones() {
        let results = vec![
            result("repeated-pattern", Some("repeat"), Some(0.3), true),
            result("repeated-pattern", Some("model"), Some(0.9), true),
            result("other", Some("model"), Some(0.2), false),
            result("other", None, None, false),
        ];
        let mut results = results;
        // Had nothing been suggested, the wrong model suggestion's case would score 4.
        results[2].silent_delta_chrf = 4.0;
        let rows = calibrate(&results).unwrap();
        let at = |threshold: f32| rows.iter().find(|row| row.threshold == threshold).unwrap();
        assert_eq!(at(0.0).fire_rate, 75.0);
        assert_eq!(at(0.0).other_fire_rate, Some(50.0));
        assert!((at(0.0).precision.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        // At 0.5 the unconfident model suggestion on `other` goes, the symbolic one stays.
        assert_eq!(at(0.5).fire_rate, 50.0);
        assert_eq!(at(0.5).precision, Some(100.0));
        assert_eq!(at(0.5).other_fire_rate, Some(0.0));
        assert_eq!(at(0.5).exact, 50.0);
        assert_eq!(at(0.0).delta_chrf, 52.5);
        assert_eq!(at(0.5).delta_chrf, 51.0);
        assert_eq!(at(0.95).model_fired, 0);
        assert_eq!(at(0.95).fire_rate, 25.0);
        assert!(
            render_table(&rows).contains("| 0.50 | 50.0 | 100.0 | 50.0 | 51.0 | 0.0 | 0.0 | 1 |")
        );
        // Without any model confidence there is nothing to calibrate.
        assert_eq!(calibrate(&results[..1]), None);
    }
}
