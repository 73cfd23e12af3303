//! The comparison plots of a suite (in `<results>/<suite>/`): loss, η, λmax and η·λmax of
//! the highlighted runs of the first seed, the edge-of-stability page (per tuner: η, λmax
//! against 2/η, η·λmax against 2; the paper's view), and the mini-batch grid's final loss
//! against σ (seed means).

use std::path::Path;

use anyhow::Result;

use super::format::num;
use super::runs::{RunView, SuiteRuns};
use crate::plot::chart::{render_grid, render_panels, Formats, Panel, Series};
use crate::plot::style::{GREY, PALETTE};
use crate::run::metrics::StepRecord;

/// The plots of a suite: file stem and what it shows (the report links those that exist).
pub const PLOT_FILES: [(&str, &str); 6] = [
    (
        EDGE_FILE,
        "per tuner (GD, first seed): η; λmax against 2/η; η·λmax against 2",
    ),
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
            if let Some(r) = sr.best_of(&opt, tuner) {
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

/// The file of the edge-of-stability page.
const EDGE_FILE: &str = "edge";

/// The page of the paper's figures for GD: one column per tuner (tuned constant, greedy,
/// linesearch at its best grid point, CDAT σ=2), with η, then λmax and 2/η, then η·λmax and
/// the line at 2. `None` when the suite has none of these runs.
fn edge_page(sr: &SuiteRuns) -> Option<Vec<Panel>> {
    let columns: Vec<(String, &RunView)> = [
        sr.best_constant("gd")
            .map(|(r, _)| (format!("constant η={}", num(r.lr)), r)),
        sr.best_of("gd", "greedy")
            .map(|r| ("greedy".to_string(), r)),
        sr.best_of("gd", "linesearch")
            .map(|r| ("linesearch".to_string(), r)),
        sr.find("gd", "cdat", Some(2.0))
            .map(|r| ("CDAT σ=2".to_string(), r)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if columns.is_empty() {
        return None;
    }
    let line = |label: &str, points: Vec<(f64, f64)>, color, dashed| Series {
        label: label.into(),
        points,
        color,
        markers: false,
        dashed,
    };
    let panel = |title: String, y: &str, log_y, series| Panel {
        file: String::new(),
        title,
        x_label: "step".into(),
        y_label: y.into(),
        log_y,
        series,
    };
    let (mut lr, mut sharp, mut edge) = (Vec::new(), Vec::new(), Vec::new());
    for (name, r) in &columns {
        let at = |f: &dyn Fn(&StepRecord) -> Option<f64>| -> Vec<(f64, f64)> {
            r.records
                .iter()
                .filter_map(|x| f(x).map(|y| (x.step as f64, y)))
                .collect()
        };
        let ends = vec![(1.0, 2.0), (r.steps.max(1) as f64, 2.0)];
        lr.push(panel(
            format!("{name}: η"),
            "η",
            true,
            vec![line("η", at(&|x| x.lr), PALETTE[0], false)],
        ));
        sharp.push(panel(
            format!("{name}: λmax and 2/η"),
            "curvature",
            true,
            vec![
                line("2/η", at(&|x| x.lr.map(|l| 2.0 / l)), GREY, true),
                line("λmax", at(&|x| x.sharpness), PALETTE[1], false),
                line("gᵀHg/‖g‖²", at(&|x| x.grad_curvature), PALETTE[2], false),
            ],
        ));
        edge.push(panel(
            format!("{name}: η·λmax"),
            "η·λmax",
            false,
            vec![
                line("2", ends, GREY, true),
                line("η·λmax", at(&|x| x.lr_times_sharpness), PALETTE[1], false),
            ],
        ));
    }
    Some(lr.into_iter().chain(sharp).chain(edge).collect())
}

/// Renders the plots of a suite into `dir`: the curves of its first seed's runs, the final
/// losses of its mini-batch grid averaged over seeds.
pub fn suite_plots(sr: &SuiteRuns, dir: &Path) -> Result<()> {
    let first = sr.of_seed(sr.seeds().first().copied().unwrap_or_default());
    if let Some(page) = edge_page(&first) {
        let cols = page.len() / 3;
        render_grid(&page, dir, EDGE_FILE, (3, cols), Formats::Png)?;
    }
    let runs = highlighted(&first);
    if runs.is_empty() {
        return match sigma_batch_panel(sr) {
            Some(p) => render_panels(&[p], dir, Formats::Png),
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
    render_panels(&panels, dir, Formats::Png)
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
            // Mean over seeds; a σ with a diverged seed (mean ∞) is left out.
            let pts: Vec<(f64, f64)> = sr
                .mini_batch_means(b, f64::from_bits(beta))
                .into_iter()
                .filter(|p| p.1.is_finite())
                .collect();
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
        title: "Mini batch: final training loss against σ (mean over seeds)".into(),
        x_label: "σ".into(),
        y_label: "training loss (whole set)".into(),
        log_y: true,
        series,
    })
}
