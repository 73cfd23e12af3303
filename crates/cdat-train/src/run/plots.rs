//! The plots of a run (in its `plots/` folder): training loss, learning rate η, sharpness
//! λmax with the 2/η line, and η·λmax with the line at 2, each on its own and together in
//! `overview`.

use std::path::Path;

use anyhow::Result;

use crate::plot::chart::{render_overview, render_panels, Formats, Panel, Series};
use crate::plot::style::{BLUE, GREEN, GREY, ORANGE, RED};
use crate::run::metrics::StepRecord;

/// Renders every plot as `<dir>/<name>.png` and `<dir>/<name>.svg`.
pub fn render_run_plots(records: &[StepRecord], dir: &Path) -> Result<()> {
    let panels = panels(records);
    render_panels(&panels, dir, Formats::PngAndSvg)?;
    render_overview(&panels, dir, "overview", Formats::PngAndSvg)
}

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
