//! SVG charts: bars per category for each metric (one bar per configuration), and the latency
//! distribution.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart_style::{chart_error as plot_error, color, draw_legend};
use crate::eval::summary::{GroupSummary, RunSummary};

/// One metric that gets a chart.
pub struct ChartMetric {
    pub file_stem: &'static str,
    pub title: &'static str,
    pub value: fn(&GroupSummary) -> Option<f64>,
}

pub const CHART_METRICS: [ChartMetric; 7] = [
    ChartMetric { file_stem: "exact", title: "Exact match (%)", value: |group| Some(group.exact) },
    ChartMetric {
        file_stem: "exact_ws",
        title: "Exact match ignoring whitespace (%)",
        value: |group| Some(group.exact_ws),
    },
    ChartMetric {
        file_stem: "delta_chrf",
        title: "Delta-chrF",
        value: |group| Some(group.delta_chrf),
    },
    ChartMetric {
        file_stem: "loc_hit",
        title: "Location hit (%)",
        value: |group| Some(group.loc_hit),
    },
    ChartMetric {
        file_stem: "fire_rate",
        title: "Fire rate (%)",
        value: |group| Some(group.fire_rate),
    },
    ChartMetric {
        file_stem: "precision",
        title: "Precision: exact among fired (%)",
        value: |group| group.precision,
    },
    ChartMetric {
        file_stem: "reversal_ratio",
        title: "Reversal ratio (%)",
        value: |group| group.reversal_ratio,
    },
];

/// The groups a bar chart shows: overall, then each category, then each language.
fn chart_groups(run: &RunSummary) -> Vec<&GroupSummary> {
    std::iter::once(&run.overall).chain(&run.by_category).chain(&run.by_language).collect()
}

/// Bars of one metric per group, one bar per run.
pub fn write_metric_chart(
    path: &Path,
    metric: &ChartMetric,
    runs: &[RunSummary],
) -> anyhow::Result<()> {
    let Some(first) = runs.first() else { return Ok(()) };
    let labels: Vec<String> = chart_groups(first).iter().map(|group| group.group.clone()).collect();
    let group_count = labels.len();
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(metric.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..group_count as f64, 0.0..100.0)
        .map_err(plot_error)?;
    chart.configure_mesh().disable_x_mesh().x_labels(0).draw().map_err(plot_error)?;
    // Group names under the axis, centred under their bars.
    let label_style = TextStyle::from(("sans-serif", 14)).pos(Pos::new(HPos::Center, VPos::Top));
    chart
        .draw_series(labels.iter().enumerate().map(|(index, label)| {
            Text::new(label.clone(), (index as f64 + 0.5, 0.0), label_style.clone())
        }))
        .map_err(plot_error)?;
    let bar_width = 0.8 / runs.len() as f64;
    for (run_index, run) in runs.iter().enumerate() {
        let style = color(run_index).filled();
        let groups = chart_groups(run);
        let bars = labels.iter().enumerate().filter_map(|(group_index, label)| {
            let group = groups.iter().find(|group| &group.group == label)?;
            let value = (metric.value)(group)?;
            let left = group_index as f64 + 0.1 + bar_width * run_index as f64;
            Some(Rectangle::new(
                [(left, 0.0), (left + bar_width * 0.95, value.clamp(0.0, 100.0))],
                style,
            ))
        });
        chart
            .draw_series(bars)
            .map_err(plot_error)?
            .label(run.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], style));
        // The value above each bar.
        let value_style =
            TextStyle::from(("sans-serif", 12)).pos(Pos::new(HPos::Center, VPos::Bottom));
        let values = labels.iter().enumerate().filter_map(|(group_index, label)| {
            let group = groups.iter().find(|group| &group.group == label)?;
            let value = (metric.value)(group)?;
            let center = group_index as f64 + 0.1 + bar_width * (run_index as f64 + 0.475);
            Some(Text::new(
                format!("{value:.1}"),
                (center, value.clamp(0.0, 100.0)),
                value_style.clone(),
            ))
        });
        chart.draw_series(values).map_err(plot_error)?;
    }
    if runs.len() > 1 {
        draw_legend(&mut chart, None)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

/// The cumulative distribution of request latencies, one line per run.
pub fn write_latency_chart(path: &Path, runs: &[RunSummary]) -> anyhow::Result<()> {
    let max_latency =
        runs.iter().flat_map(|run| run.latencies_ms.iter().copied()).fold(1.0_f64, f64::max);
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency: share of requests answered within x ms", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..max_latency * 1.05, 0.0..100.0)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms)")
        .y_desc("% of answered requests")
        .draw()
        .map_err(plot_error)?;
    for (run_index, run) in runs.iter().enumerate() {
        let mut sorted = run.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let count = sorted.len().max(1) as f64;
        let mut points = vec![(0.0, 0.0)];
        for (index, latency) in sorted.iter().enumerate() {
            points.push((*latency, 100.0 * index as f64 / count));
            points.push((*latency, 100.0 * (index + 1) as f64 / count));
        }
        let line_color = color(run_index);
        chart
            .draw_series(LineSeries::new(points, line_color.stroke_width(2)))
            .map_err(plot_error)?
            .label(run.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 12, y)], line_color.stroke_width(2))
            });
    }
    draw_legend(&mut chart, Some(SeriesLabelPosition::LowerRight))?;
    root.present().map_err(plot_error)?;
    Ok(())
}
