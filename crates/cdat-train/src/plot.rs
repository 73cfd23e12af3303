//! Plots of a run (PNG and SVG, rendered with plotters and the embedded DejaVu Sans font):
//! training loss, learning rate η, sharpness λmax with the 2/η line, and η·λmax with the line
//! at 2, each on its own and together in `overview`.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::metrics::StepRecord;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();
/// The font family every plot uses (the embedded DejaVu Sans).
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font under [`FAMILY`] (once).
pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// A curve or a set of points.
pub(crate) struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub markers: bool,
    pub dashed: bool,
}

/// One chart.
pub(crate) struct Panel {
    /// File stem (`<file>.png`, `<file>.svg`).
    pub file: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
}

pub(crate) const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub(crate) const GREEN: RGBColor = RGBColor(44, 160, 44);
pub(crate) const RED: RGBColor = RGBColor(214, 39, 40);
pub(crate) const GREY: RGBColor = RGBColor(90, 90, 90);

/// Colours for comparison plots, in order (matplotlib's tab10).
pub(crate) const PALETTE: [RGBColor; 8] = [
    BLUE,
    ORANGE,
    GREEN,
    RED,
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn points(records: &[StepRecord], f: impl Fn(&StepRecord) -> Option<f64>) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|r| f(r).map(|y| (r.step as f64, y)))
        .collect()
}

fn panels(records: &[StepRecord]) -> Vec<Panel> {
    vec![
        Panel {
            file: "loss".into(),
            title: "Training loss".into(),
            y_label: "loss".into(),
            x_label: "step".into(),
            log_y: true,
            series: vec![
                Series {
                    label: "train loss (batch)".into(),
                    points: points(records, |r| r.loss),
                    color: BLUE,
                    markers: false,
                    dashed: false,
                },
                Series {
                    label: "test loss".into(),
                    points: points(records, |r| r.test_loss),
                    color: ORANGE,
                    markers: true,
                    dashed: false,
                },
            ],
        },
        Panel {
            file: "lr".into(),
            title: "Learning rate η".into(),
            y_label: "η".into(),
            x_label: "step".into(),
            log_y: true,
            series: vec![Series {
                label: "η".into(),
                points: points(records, |r| r.lr),
                color: GREEN,
                markers: false,
                dashed: false,
            }],
        },
        Panel {
            file: "sharpness".into(),
            title: "Sharpness λmax and 2/η".into(),
            y_label: "λmax".into(),
            x_label: "step".into(),
            log_y: true,
            series: vec![
                Series {
                    label: "2/η".into(),
                    points: points(records, |r| r.lr.filter(|l| *l > 0.0).map(|l| 2.0 / l)),
                    color: GREY,
                    markers: false,
                    dashed: true,
                },
                Series {
                    label: "λmax".into(),
                    points: points(records, |r| r.sharpness),
                    color: RED,
                    markers: true,
                    dashed: false,
                },
            ],
        },
        Panel {
            file: "lr_sharpness".into(),
            title: "η · λmax (edge of stability at 2)".into(),
            y_label: "η·λmax".into(),
            x_label: "step".into(),
            log_y: false,
            series: vec![
                Series {
                    label: "2".into(),
                    points: if records.is_empty() {
                        Vec::new()
                    } else {
                        vec![
                            (records[0].step as f64, 2.0),
                            (records[records.len() - 1].step as f64, 2.0),
                        ]
                    },
                    color: GREY,
                    markers: false,
                    dashed: true,
                },
                Series {
                    label: "η·λmax".into(),
                    points: points(records, |r| r.lr_times_sharpness),
                    color: RED,
                    markers: true,
                    dashed: false,
                },
            ],
        },
    ]
}

/// Renders every plot as `<dir>/<name>.png` and `<dir>/<name>.svg`.
pub fn render_all(records: &[StepRecord], dir: &Path) -> Result<()> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let panels = panels(records);
    render_panels(&panels, dir)?;
    let png = dir.join("overview.png");
    {
        let root = BitMapBackend::new(&png, (1600, 1000)).into_drawing_area();
        overview(&root, &panels)?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    let svg = dir.join("overview.svg");
    {
        let root = SVGBackend::new(&svg, (1600, 1000)).into_drawing_area();
        overview(&root, &panels)?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    Ok(())
}

/// Renders each panel as `<dir>/<file>.png` and `<dir>/<file>.svg`.
pub(crate) fn render_panels(panels: &[Panel], dir: &Path) -> Result<()> {
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
        {
            let root = SVGBackend::new(&svg, (900, 560)).into_drawing_area();
            draw(&root, p).with_context(|| format!("drawing {}", svg.display()))?;
            root.present()
                .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
        }
    }
    Ok(())
}

fn overview<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, panels: &[Panel]) -> Result<()> {
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    for (area, p) in root.split_evenly((2, 2)).iter().zip(panels) {
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
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 15))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(e)?;
    Ok(())
}

/// Axis ranges for data spanning `x` and `y`: an empty x range widened by ±0.5, the y range
/// padded by 5% (or by max(0.5, 5% of |y|) when it is a single value).
pub(crate) fn padded_ranges(
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> ((f64, f64), (f64, f64)) {
    let x = if x1 <= x0 {
        (x0 - 0.5, x1 + 0.5)
    } else {
        (x0, x1)
    };
    let pad = if y1 > y0 {
        0.05 * (y1 - y0)
    } else {
        0.5_f64.max(0.05 * y0.abs())
    };
    (x, (y0 - pad, y1 + pad))
}

fn format_number(y: f64) -> String {
    let a = y.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{y:.1e}")
    } else if a >= 100.0 {
        format!("{y:.0}")
    } else if a >= 1.0 {
        format!("{y:.2}")
    } else {
        format!("{y:.3}")
    }
}
