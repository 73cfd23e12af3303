//! The comparison plots of a suite (in `<results>/<suite>/`): loss, η, λmax and η·λmax of
//! the highlighted runs, and the mini-batch grid's final loss against σ.

use std::path::Path;

use anyhow::Result;

use super::format::num;
use super::runs::{RunView, SuiteRuns};
use crate::plot::chart::{render_panels, Panel, Series};
use crate::plot::style::{GREY, PALETTE};
use crate::run::metrics::StepRecord;

/// The plots of a suite: file stem and what it shows (the report links those that exist).
pub const PLOT_FILES: [(&str, &str); 5] = [
    ("loss", "training loss"),
    ("lr", "learning rate"),
    ("sharpness", "sharpness"),
    ("lr_sharpness", "η·λmax"),
    ("sigma_batch", "final loss against σ per batch size"),
];

/// The runs compared in a suite's plots: the tuned constant run per optimizer, the classical
/// tuners, and CDAT without EMA in full batch.
fn highlighted<'a>(sr: &SuiteRuns<'a>) -> Vec<(String, &'a RunView)> {
    let mut out = Vec::new();
    for opt in sr.optimizers() {
        if let Some((best, _)) = sr.best_constant(&opt) {
            out.push((format!("{opt} η={}", num(best.lr)), best));
        }
        for tuner in ["linesearch", "greedy"] {
            if let Some(r) = sr.find(&opt, tuner, None) {
                out.push((format!("{opt} {tuner}"), r));
            }
        }
        let mut cdat: Vec<&RunView> = sr
            .full_batch()
            .filter(|r| r.optimizer == opt && r.tuner == "cdat" && r.beta.unwrap_or(0.0) == 0.0)
            .collect();
        cdat.sort_by(|a, b| a.sigma.unwrap_or(0.0).total_cmp(&b.sigma.unwrap_or(0.0)));
        for r in cdat {
            out.push((format!("{opt} CDAT σ={}", r.sigma.unwrap_or(0.0)), r));
        }
    }
    out
}

/// Renders the plots of a suite into `dir`.
pub fn suite_plots(sr: &SuiteRuns, dir: &Path) -> Result<()> {
    let runs = highlighted(sr);
    if runs.is_empty() {
        return match sigma_batch_panel(sr) {
            Some(p) => render_panels(&[p], dir),
            None => Ok(()),
        };
    }
    let series = |f: &dyn Fn(&StepRecord) -> Option<f64>| -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(i, (label, r))| Series {
                label: label.clone(),
                points: r
                    .records
                    .iter()
                    .filter_map(|x| f(x).map(|y| (x.step as f64, y)))
                    .collect(),
                color: PALETTE[i % PALETTE.len()],
                markers: false,
                dashed: false,
            })
            .collect()
    };
    let panel = |file: &str, title: &str, y: &str, log_y: bool, series: Vec<Series>| Panel {
        file: file.into(),
        title: title.into(),
        x_label: "step".into(),
        y_label: y.into(),
        log_y,
        series,
    };
    let mut edge = series(&|r| r.lr_times_sharpness);
    let last_step = sr.runs.iter().map(|r| r.steps).max().unwrap_or(1).max(1) as f64;
    edge.insert(
        0,
        Series {
            label: "2".into(),
            points: vec![(1.0, 2.0), (last_step, 2.0)],
            color: GREY,
            markers: false,
            dashed: true,
        },
    );
    let mut panels = vec![
        panel("loss", "Training loss", "loss", true, series(&|r| r.loss)),
        panel("lr", "Learning rate η", "η", true, series(&|r| r.lr)),
        panel(
            "sharpness",
            "Sharpness λmax",
            "λmax",
            true,
            series(&|r| r.sharpness),
        ),
        panel(
            "lr_sharpness",
            "η·λmax (edge of stability at 2)",
            "η·λmax",
            false,
            edge,
        ),
    ];
    if let Some(p) = sigma_batch_panel(sr) {
        panels.push(p);
    }
    render_panels(&panels, dir)
}

/// Final loss against σ, one curve per (batch size, EMA β), for the mini-batch CDAT grid.
fn sigma_batch_panel(sr: &SuiteRuns) -> Option<Panel> {
    let mut keys: Vec<(usize, u64)> = sr
        .runs
        .iter()
        .filter(|r| r.tuner == "cdat" && r.batch.is_some())
        .map(|r| (r.batch.unwrap_or(0), r.beta.unwrap_or(0.0).to_bits()))
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return None;
    }
    let series = keys
        .iter()
        .enumerate()
        .map(|(i, &(b, beta))| {
            let mut pts: Vec<(f64, f64)> = sr
                .runs
                .iter()
                .filter(|r| {
                    r.tuner == "cdat"
                        && r.batch == Some(b)
                        && r.beta.unwrap_or(0.0).to_bits() == beta
                })
                .filter_map(|r| Some((r.sigma?, r.score()?)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label: format!("batch {b}, β={}", f64::from_bits(beta)),
                points: pts,
                color: PALETTE[i % PALETTE.len()],
                markers: true,
                dashed: f64::from_bits(beta) > 0.0,
            }
        })
        .collect();
    Some(Panel {
        file: "sigma_batch".into(),
        title: "Mini batch: final training loss against σ".into(),
        x_label: "σ".into(),
        y_label: "training loss (whole set)".into(),
        log_y: true,
        series,
    })
}
