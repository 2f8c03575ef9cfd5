//! What every `nextedit bench` measurement returns, and how the results print. A leaf: the
//! measurement modules depend on it, it depends on none of them.

use std::time::Duration;

/// One group of results: rows of (label, value, unit).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchSection {
    pub name: String,
    pub rows: Vec<(String, f64, String)>,
}

/// One row of a [`BenchSection`].
pub fn row(label: impl Into<String>, value: f64, unit: &str) -> (String, f64, String) {
    (label.into(), value, unit.to_owned())
}

pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// The nearest-rank percentile of sorted durations (zero when there are none).
pub fn duration_percentile(sorted: &[Duration], percent: f64) -> Duration {
    crate::stats::percentile(sorted, percent).unwrap_or_default()
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
