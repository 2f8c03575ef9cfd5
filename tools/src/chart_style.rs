//! What every chart the tools draw (evaluation reports and `nextedit bench`) shares: the
//! colours, the legend's style and the error message.

use plotters::chart::{ChartContext, SeriesLabelPosition};
use plotters::coord::CoordTranslate;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::DrawingBackend;
use plotters::style::{BLACK, Color, RGBColor, WHITE};

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The colour of series `index`; the palette repeats after six.
pub fn color(index: usize) -> RGBColor {
    COLORS[index % COLORS.len()]
}

/// A drawing error as the tools report it.
pub fn chart_error<E: std::error::Error + Send + Sync + 'static>(
    error: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("cannot draw a chart: {error}")
}

/// Draws the legend of the labelled series, at `position` (the default place when `None`).
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: Option<SeriesLabelPosition>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let mut legend = chart.configure_series_labels();
    if let Some(position) = position {
        legend.position(position);
    }
    legend.background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(chart_error)
}
