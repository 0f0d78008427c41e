//! Line charts in the style of the paper's Fig. 1, as SVG and PNG (plotters).
use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans (Bitstream Vera license, assets/fonts/LICENSE-DejaVu.txt), so that PNG text
/// renders without system fonts.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One line of a chart, with the band around it when it summarizes several seeds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Series {
    pub label: String,
    /// The line: one run's values, or the median over seeds.
    pub points: Vec<(f64, f64)>,
    /// (x, lowest, highest) over seeds at each x of the line; empty for a single run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    /// A line with no band.
    pub fn line(label: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            label: label.into(),
            points,
            band: Vec::new(),
        }
    }
}

/// A chart: title, axis labels, lines.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// The x axis counts something (SGD steps): label it with integers.
    pub integer_x: bool,
    /// The y axis reaches 0, as a learning curve's loss or accuracy is read against it. Off,
    /// the axis holds only the lines and bands, so that a trend of test accuracies near 0.83
    /// shows seeds a point apart as apart.
    pub y_from_zero: bool,
    pub series: Vec<Series>,
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The largest magnitude drawn. Beyond it (a diverged loss of 1e308, a band edge of
/// ±f64::MAX) a value is left off the figure like a non-finite one: an axis range that
/// overflows to infinity would make the axis's tick search never end.
const PLOT_LIMIT: f64 = 1e12;

fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() <= PLOT_LIMIT
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &Chart) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // The axes hold every line and every band.
    let pts = c.series.iter().flat_map(|s| {
        s.points
            .iter()
            .copied()
            .chain(s.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]))
    });
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in pts.filter(|&(x, y)| plottable(x) && plottable(y)) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    // A range too narrow to tell from rounding (or empty) gets a fixed margin.
    let pad = |a: f64, b: f64| {
        if b - a > 1e-9 * a.abs().max(b.abs()).max(1.0) {
            (b - a) * 0.05
        } else {
            0.5
        }
    };
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let y_low = if c.y_from_zero { y0.min(0.0) } else { y0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(&c.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((x0 - px)..(x1 + px), (y_low - py)..(y1 + py))
        .map_err(|e| e.to_string())?;
    let integer = |x: &f64| format!("{x:.0}");
    let plain = |x: &f64| format!("{x}");
    // An integer axis over a short range (a few nights) gets one label per integer, not
    // repeated rounded fractions.
    let x_labels = if c.integer_x {
        ((x1 - x0).round() as usize + 1).clamp(2, 10)
    } else {
        10
    };
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .x_label_formatter(if c.integer_x { &integer } else { &plain })
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    // Bands first, so that every line is drawn over them.
    for (i, s) in c.series.iter().enumerate() {
        let band: Vec<(f64, f64, f64)> = s
            .band
            .iter()
            .copied()
            .filter(|&(x, lo, hi)| plottable(x) && plottable(lo) && plottable(hi))
            .collect();
        if band.len() < 2 {
            continue;
        }
        let outline: Vec<(f64, f64)> = band
            .iter()
            .map(|&(x, _, hi)| (x, hi))
            .chain(band.iter().rev().map(|&(x, lo, _)| (x, lo)))
            .collect();
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                color.mix(0.2).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }
    for (i, s) in c.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|&(x, y)| plottable(x) && plottable(y))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        if pts.len() <= 12 {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes `stem.svg` and `stem.png` in `dir`, each atomically (a planted link is replaced,
/// never written through); returns the two paths.
pub fn write(
    dir: &Path,
    stem: &str,
    c: &Chart,
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    register_font();
    let (svg, png) = (
        dir.join(format!("{stem}.svg")),
        dir.join(format!("{stem}.png")),
    );
    let size = (900, 560);
    // Each file is drawn under a temporary name beside it and renamed into place.
    crate::fsio::write_atomic_with(&svg, |tmp| {
        draw(SVGBackend::new(tmp, size).into_drawing_area(), c)
            .map_err(|e| Error::format(&svg, format!("cannot draw figure: {e}")))
    })?;
    crate::fsio::write_atomic_with(&png, |tmp| {
        draw(BitMapBackend::new(tmp, size).into_drawing_area(), c)
            .map_err(|e| Error::format(&png, format!("cannot draw figure: {e}")))
    })?;
    Ok((svg, png))
}

/// Every number an SVG figure labels an axis with.
#[cfg(test)]
pub(crate) fn axis_numbers(svg: &str) -> Vec<f64> {
    svg.split("</text>")
        .filter_map(|t| t.rsplit('>').next()?.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_axis_holds_its_values_and_a_learning_curve_axis_reaches_zero() {
        let t = tempfile::tempdir().unwrap();
        let chart = |y_from_zero| Chart {
            title: "test accuracy".into(),
            x_label: "night".into(),
            y_label: "accuracy".into(),
            integer_x: true,
            y_from_zero,
            series: vec![
                Series::line("seed 3", vec![(1.0, 0.8354), (2.0, 0.8366), (3.0, 0.8212)]),
                Series::line("seed 9", vec![(1.0, 0.8458), (2.0, 0.8432), (3.0, 0.845)]),
            ],
        };
        let lowest = |y_from_zero| {
            let (svg, _) = write(t.path(), "c", &chart(y_from_zero)).unwrap();
            let numbers = axis_numbers(&std::fs::read_to_string(svg).unwrap());
            assert!(numbers.len() >= 6, "{numbers:?}");
            numbers.into_iter().fold(f64::INFINITY, f64::min)
        };
        // Nights 1-3 and accuracies near 0.83: no label below 0.8 unless the axis reaches 0.
        assert!(lowest(false) >= 0.8);
        assert!(lowest(true) < 0.1);
    }
}
