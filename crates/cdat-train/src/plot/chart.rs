//! Charts of labelled series: one chart per file ([`render_panels`]), the first four on one
//! page ([`render_overview`]), or a page of rows × columns ([`render_grid`]). A log-scale
//! chart leaves out values ≤ 0; a chart with nothing to draw says so.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{draw_legend, format_number, padded_ranges, register_font, FAMILY};

/// A curve or a set of points.
pub struct Series {
    /// Legend entry.
    pub label: String,
    /// `(x, y)` in data coordinates.
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Draw a dot at each point (when there are at most 400).
    pub markers: bool,
    pub dashed: bool,
}

/// One chart.
pub struct Panel {
    /// File stem (`<file>.png`, `<file>.svg`).
    pub file: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
}

/// The files a figure is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formats {
    /// `<file>.png` and `<file>.svg` (a run's plots, `simulate`: the SVG scales for papers).
    PngAndSvg,
    /// `<file>.png` only (the report's figures, committed: the repository keeps them small).
    Png,
}

/// Renders each panel as `<dir>/<file>.png` and, with [`Formats::PngAndSvg`],
/// `<dir>/<file>.svg`.
pub fn render_panels(panels: &[Panel], dir: &Path, formats: Formats) -> Result<()> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for p in panels {
        let png = dir.join(format!("{}.png", p.file));
        let svg = dir.join(format!("{}.svg", p.file));
        {
            let root = BitMapBackend::new(&png, (900, 560)).into_drawing_area();
            draw(&root, p).with_context(|| format!("drawing {}", png.display()))?;
            root.present()
                .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
        }
        if formats == Formats::PngAndSvg {
            let root = SVGBackend::new(&svg, (900, 560)).into_drawing_area();
            draw(&root, p).with_context(|| format!("drawing {}", svg.display()))?;
            root.present()
                .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
        }
    }
    Ok(())
}

/// Renders the first four panels on one 2 × 2 page as `<dir>/<file>.png` and, with
/// [`Formats::PngAndSvg`], `<dir>/<file>.svg`.
pub fn render_overview(panels: &[Panel], dir: &Path, file: &str, formats: Formats) -> Result<()> {
    render_grid(panels, dir, file, (2, 2), formats)
}

/// Renders the panels on one page of `rows × cols` charts (row by row; 800 × 500 pixels each)
/// as `<dir>/<file>.png` and, with [`Formats::PngAndSvg`], `<dir>/<file>.svg`.
pub fn render_grid(
    panels: &[Panel],
    dir: &Path,
    file: &str,
    (rows, cols): (usize, usize),
    formats: Formats,
) -> Result<()> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let size = (800 * cols as u32, 500 * rows as u32);
    let png = dir.join(format!("{file}.png"));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        grid(&root, panels, (rows, cols))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    let svg = dir.join(format!("{file}.svg"));
    if formats == Formats::PngAndSvg {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        grid(&root, panels, (rows, cols))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    Ok(())
}

fn grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel],
    shape: (usize, usize),
) -> Result<()> {
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    for (area, p) in root.split_evenly(shape).iter().zip(panels) {
        draw(area, p)?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    area.fill(&WHITE).map_err(e)?;
    let tf = |y: f64| if panel.log_y { y.log10() } else { y };
    let usable: Vec<Vec<(f64, f64)>> = panel
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|(_, y)| y.is_finite() && (!panel.log_y || *y > 0.0))
                .map(|&(x, y)| (x, tf(y)))
                .collect()
        })
        .collect();
    let all: Vec<(f64, f64)> = usable.iter().flatten().copied().collect();
    if all.is_empty() {
        let style = TextStyle::from((FAMILY, 22).into_font()).color(&BLACK);
        area.draw_text(
            &format!("{}: nothing measured", panel.title),
            &style,
            (40, 40),
        )
        .map_err(e)?;
        return Ok(());
    }
    let (mut x0, mut x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut y0, mut y1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    ((x0, x1), (y0, y1)) = padded_ranges((x0, x1), (y0, y1));
    if !panel.log_y && panel.series.iter().any(|s| s.label == "2") {
        y0 = y0.min(0.0);
    }
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 24))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(76)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    let log_y = panel.log_y;
    let y_fmt = move |v: &f64| {
        let y = if log_y { 10f64.powf(*v) } else { *v };
        format_number(y)
    };
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(if log_y {
            format!("{} (log scale)", panel.y_label)
        } else {
            panel.y_label.to_string()
        })
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .y_label_formatter(&y_fmt)
        .x_labels(((x1 - x0).round() as usize + 1).clamp(2, 10))
        .x_label_formatter(&|v| {
            if x1 - x0 >= 10.0 {
                format!("{v:.0}")
            } else {
                format_number(*v)
            }
        })
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    for (s, pts) in panel.series.iter().zip(&usable) {
        if pts.is_empty() {
            continue;
        }
        let color = s.color;
        let style = ShapeStyle::from(&color).stroke_width(2);
        let anno = if s.dashed {
            let dashed: Vec<(f64, f64)> = pts.clone();
            chart
                .draw_series(DashedLineSeries::new(dashed, 8, 6, style))
                .map_err(e)?
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(e)?
        };
        anno.label(&s.label).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
        });
        if s.markers && pts.len() <= 400 {
            chart
                .draw_series(
                    pts.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                )
                .map_err(e)?;
        }
    }
    draw_legend(&mut chart).map_err(e)?;
    Ok(())
}
