//! A titled page of panels stacked vertically, each a curve with an optional dashed
//! reference curve (the simulator's figures). The vertical range of a panel ignores its first
//! 1 % of steps; points outside it are drawn at its border.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::Formats;
use super::style::{draw_legend, format_number, padded_ranges, register_font, FAMILY, GREY};

/// One panel: a curve and an optional dashed reference curve.
pub struct StackedPanel {
    /// Legend entry and vertical axis label.
    pub label: &'static str,
    pub curve: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Legend entry and points of the reference curve.
    pub reference: Option<(&'static str, Vec<(f64, f64)>)>,
    pub log_y: bool,
}

/// Renders `panels` under `title` as `<dir>/<file>.png` and (with [`Formats::PngAndSvg`])
/// `<dir>/<file>.svg`.
pub fn render_stacked(
    dir: &Path,
    file: &str,
    title: &str,
    panels: &[StackedPanel],
    formats: Formats,
) -> Result<()> {
    register_font();
    let png = dir.join(format!("{file}.png"));
    {
        let root = BitMapBackend::new(&png, (1000, 1100)).into_drawing_area();
        figure(&root, title, panels)?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    let svg = dir.join(format!("{file}.svg"));
    if formats == Formats::PngAndSvg {
        let root = SVGBackend::new(&svg, (1000, 1100)).into_drawing_area();
        figure(&root, title, panels)?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    Ok(())
}

fn figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[StackedPanel],
) -> Result<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(title, (FAMILY, 26)).map_err(e)?;
    for (area, p) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        draw(area, p)?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &StackedPanel) -> Result<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let tf = |y: f64| if p.log_y { y.log10() } else { y };
    let keep = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        pts.iter()
            .filter(|(_, y)| y.is_finite() && (!p.log_y || *y > 0.0))
            .map(|&(x, y)| (x, tf(y)))
            .collect()
    };
    let curve = keep(&p.curve);
    let reference = p.reference.as_ref().map(|(l, pts)| (*l, keep(pts)));
    let mut all = curve.clone();
    if let Some((_, r)) = &reference {
        all.extend(r.iter().copied());
    }
    if all.is_empty() {
        return Ok(());
    }
    let (mut x0, mut x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), q| (a.min(q.0), b.max(q.0)));
    // The vertical range ignores the first 1 % of the steps (CDAT's one-step warm-up from
    // η_0 would flatten everything else); points outside it are drawn at its border.
    let skip = x0 + ((x1 - x0) * 0.01).ceil().max(1.0);
    let settled: Vec<&(f64, f64)> = all.iter().filter(|q| q.0 >= skip).collect();
    let ranged: Vec<&(f64, f64)> = if settled.is_empty() {
        all.iter().collect()
    } else {
        settled
    };
    let (mut y0, mut y1) = ranged
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), q| (a.min(q.1), b.max(q.1)));
    ((x0, x1), (y0, y1)) = padded_ranges((x0, x1), (y0, y1));
    let clamp = |pts: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        pts.into_iter().map(|(x, y)| (x, y.clamp(y0, y1))).collect()
    };
    let curve = clamp(curve);
    let reference = reference.map(|(l, pts)| (l, clamp(pts)));
    let span = y1 - y0;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    let log_y = p.log_y;
    let y_fmt = move |v: &f64| {
        let y = if log_y { 10f64.powf(*v) } else { *v };
        // Ticks within 1e-9 of the span from 0 are 0 (rounding of the axis arithmetic).
        if y.abs() <= 1e-9 * span.abs() {
            "0".to_string()
        } else {
            format_number(y)
        }
    };
    chart
        .configure_mesh()
        .x_desc("step t")
        .y_desc(if log_y {
            format!("{} (log scale)", p.label)
        } else {
            p.label.to_string()
        })
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .y_label_formatter(&y_fmt)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(e)?;
    if let Some((label, pts)) = reference {
        if !pts.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(
                    pts,
                    8,
                    6,
                    ShapeStyle::from(&GREY).stroke_width(2),
                ))
                .map_err(e)?
                .label(label)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREY.stroke_width(2)));
        }
    }
    let color = p.color;
    chart
        .draw_series(LineSeries::new(
            curve,
            ShapeStyle::from(&color).stroke_width(2),
        ))
        .map_err(e)?
        .label(p.label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    draw_legend(&mut chart).map_err(e)?;
    Ok(())
}
