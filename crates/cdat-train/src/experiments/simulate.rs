//! `cdat-train simulate`: the paper's simplified model of the joint dynamics of learning rate and
//! sharpness (claim C6; the math is `cdat_core::dynamics`), in its three scenarios: constant η
//! (Fig. 4), a tuner holding `y = η λ − 2` at −0.1 (Fig. 4) and CDAT with σ = 2 and σ = 1.9
//! (Fig. 9). Writes one CSV and one plot (PNG and SVG) per scenario, `summary.csv`, and prints
//! one summary line per scenario.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use cdat_core::dynamics::{self, paper, CdatRecord, Options, Outcome, Record, Trajectory};

use crate::cli::simulate::SimulateArgs;
use crate::plot::chart::Formats;
use crate::plot::stacked::{render_stacked, StackedPanel};
use crate::plot::style::{BLUE, GREEN, RED};
use crate::run::error::{Interrupted, UserError};
use crate::run::interrupt;

/// Longest run accepted: the trajectories are held in memory and written whole, about 1.5 kB
/// of CSV/SVG and 1 kB of memory per step for the four scenarios (measured: 10⁶ steps wrote
/// 1.5 GB and peaked at 1.0 GB of memory); the paper's figures need a few thousand.
pub const MAX_STEPS: usize = 100_000;

/// One simulated scenario, flattened for the CSV, the plot and the summary.
struct Scenario {
    /// File stem.
    name: &'static str,
    /// Plot title.
    title: &'static str,
    /// CSV columns after `t`; `eta`, `lambda` and `y` are always among them.
    columns: &'static [&'static str],
    /// One row per record, in `columns` order.
    rows: Vec<(usize, Vec<f64>)>,
    outcome: Outcome,
}

impl Scenario {
    fn column(&self, name: &str) -> Vec<(f64, f64)> {
        let i = self
            .columns
            .iter()
            .position(|c| *c == name)
            .expect("known column");
        self.rows.iter().map(|(t, v)| (*t as f64, v[i])).collect()
    }

    fn last(&self, name: &str) -> f64 {
        self.column(name).last().map_or(f64::NAN, |p| p.1)
    }

    fn mean_y_tail(&self) -> f64 {
        let ys: Vec<f64> = self.column("y").into_iter().map(|p| p.1).collect();
        dynamics::tail_mean(&ys, 0.1).unwrap_or(f64::NAN)
    }
}

const COLUMNS_1D: &[&str] = &["eta", "lambda", "x", "y"];
const COLUMNS_CDAT: &[&str] = &["eta", "lambda", "x", "z", "p", "g", "y"];

fn from_1d(name: &'static str, title: &'static str, tr: Trajectory<Record>) -> Scenario {
    Scenario {
        name,
        title,
        columns: COLUMNS_1D,
        rows: tr
            .records
            .iter()
            .map(|r| (r.t, vec![r.eta, r.lambda, r.x, r.y]))
            .collect(),
        outcome: tr.outcome,
    }
}

fn from_cdat(name: &'static str, title: &'static str, tr: Trajectory<CdatRecord>) -> Scenario {
    Scenario {
        name,
        title,
        columns: COLUMNS_CDAT,
        rows: tr
            .records
            .iter()
            .map(|r| (r.t, vec![r.eta, r.lambda, r.x, r.z, r.p, r.g, r.y]))
            .collect(),
        outcome: tr.outcome,
    }
}

fn scenarios(steps: usize) -> Vec<Scenario> {
    let opts = Options::default();
    vec![
        from_1d(
            "constant-eta",
            "Constant η = 1 (a = 0.03, b = 0.3; Fig. 4)",
            dynamics::constant_lr(
                paper::CONSTANT_SHARPENING,
                paper::CONSTANT_ETA,
                paper::CONSTANT_INIT,
                steps,
                opts,
            ),
        ),
        from_1d(
            "fixed-y",
            "Tuner holding y = −0.1 (a = 1, b = 0.5, η₀ = 1; Fig. 4)",
            dynamics::fixed_y(
                paper::FIXED_Y_SHARPENING,
                paper::FIXED_Y,
                paper::FIXED_Y_INIT,
                steps,
                opts,
            ),
        ),
        from_cdat(
            "cdat-sigma-2",
            "CDAT σ = 2 (a = 0.05, b = 0.1, ν = 0.1, β = 0.9; Fig. 9)",
            dynamics::cdat(paper::cdat_model(2.0), paper::CDAT_INIT, steps, opts),
        ),
        from_cdat(
            "cdat-sigma-1.9",
            "CDAT σ = 1.9 (a = 0.05, b = 0.1, ν = 0.1, β = 0.9; Fig. 9)",
            dynamics::cdat(paper::cdat_model(1.9), paper::CDAT_INIT, steps, opts),
        ),
    ]
}

/// Runs `cdat-train simulate`; returns the summary printed to stdout.
pub fn run_simulate(args: &SimulateArgs) -> Result<String> {
    if args.steps == 0 || args.steps > MAX_STEPS {
        return Err(UserError::new(format!(
            "--steps {}: must be between 1 and {MAX_STEPS} (the simulated trajectories are held \
             in memory and written whole as CSV)",
            args.steps
        ))
        .into());
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| UserError::new(format!("--out {}: {e}", args.out.display())))?;
    let all = simulate_into(&args.out, args.steps, Formats::PngAndSvg)?;
    let mut text = format!(
        "Simplified model of learning rate and sharpness, {} steps per scenario (files in {}):\n",
        args.steps,
        args.out.display()
    );
    for s in &all {
        let status = match s.diverged_at {
            None => String::new(),
            Some(step) => format!(" — diverged at step {step}"),
        };
        writeln!(
            text,
            "  {:<15} final λ = {:.4}, final η = {:.5}, mean y over the last 10% = {:+.5}{status}",
            s.name, s.final_lambda, s.final_eta, s.mean_y_tail
        )?;
    }
    Ok(text.trim_end().to_string())
}

/// The figures of one simulated scenario.
#[derive(Clone, Debug)]
pub struct ScenarioSummary {
    /// File stem (`constant-eta`, `fixed-y`, `cdat-sigma-2`, `cdat-sigma-1.9`).
    pub name: &'static str,
    /// Title with the parameters.
    pub title: &'static str,
    /// Step of divergence, if any.
    pub diverged_at: Option<usize>,
    /// λ and η at the start.
    pub initial_lambda: f64,
    /// η of the first step.
    pub initial_eta: f64,
    /// λ at the middle of the horizon.
    pub half_lambda: f64,
    /// λ and η at the end.
    pub final_lambda: f64,
    /// η of the last step.
    pub final_eta: f64,
    /// |x| at the end.
    pub final_abs_x: f64,
    /// Mean of y = ηλ − 2 over the last 10% of steps.
    pub mean_y_tail: f64,
}

/// Runs the scenarios for `steps` steps and writes their CSVs, plots and `summary.csv` into
/// `dir`.
pub fn simulate_into(dir: &Path, steps: usize, formats: Formats) -> Result<Vec<ScenarioSummary>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let all = scenarios(steps);
    let mut summary =
        String::from("scenario,steps_done,diverged,final_lambda,final_eta,mean_y_last_10pct\n");
    let mut out = Vec::new();
    for s in &all {
        if let Some(signal) = interrupt::requested() {
            return Err(anyhow::Error::new(Interrupted { signal }).context(format!(
                "simulate stopped before scenario {} (the files of the scenarios before it are \
                 in {})",
                s.name,
                dir.display()
            )));
        }
        write_csv(s, &dir.join(format!("{}.csv", s.name)))?;
        render(s, dir, formats)?;
        let steps_done = s.rows.last().map_or(0, |r| r.0);
        let (lambda, eta, mean_y) = (s.last("lambda"), s.last("eta"), s.mean_y_tail());
        let diverged_at = match &s.outcome {
            Outcome::Completed => None,
            Outcome::Diverged { step, .. } => Some(*step),
        };
        writeln!(
            summary,
            "{},{steps_done},{},{lambda},{eta},{mean_y}",
            s.name,
            diverged_at.is_some()
        )?;
        let lambdas = s.column("lambda");
        let first = |c: &str| s.column(c).first().map_or(f64::NAN, |p| p.1);
        out.push(ScenarioSummary {
            name: s.name,
            title: s.title,
            diverged_at,
            initial_lambda: first("lambda"),
            initial_eta: first("eta"),
            half_lambda: lambdas.get(lambdas.len() / 2).map_or(f64::NAN, |p| p.1),
            final_lambda: lambda,
            final_eta: eta,
            final_abs_x: s.last("x").abs(),
            mean_y_tail: mean_y,
        });
    }
    let path = dir.join("summary.csv");
    std::fs::write(&path, summary).with_context(|| format!("writing {}", path.display()))?;
    Ok(out)
}

fn write_csv(s: &Scenario, path: &Path) -> Result<()> {
    let mut out = String::with_capacity(32 * (s.rows.len() + 1) * s.columns.len());
    out.push('t');
    for c in s.columns {
        out.push(',');
        out.push_str(c);
    }
    out.push('\n');
    for (t, values) in &s.rows {
        write!(out, "{t}")?;
        for v in values {
            // `{}` prints the shortest string that parses back to the same f64.
            write!(out, ",{v}")?;
        }
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// The figure of a scenario: λ with 2/η, η, and y with the edge of stability at 0.
fn render(s: &Scenario, dir: &Path, formats: Formats) -> Result<()> {
    let eta = s.column("eta");
    let two_over_eta: Vec<(f64, f64)> = eta
        .iter()
        .filter(|p| p.1 != 0.0)
        .map(|&(t, e)| (t, 2.0 / e))
        .collect();
    let zero = match (s.rows.first(), s.rows.last()) {
        (Some(a), Some(b)) => vec![(a.0 as f64, 0.0), (b.0 as f64, 0.0)],
        _ => Vec::new(),
    };
    let panels = [
        StackedPanel {
            label: "sharpness λ",
            curve: s.column("lambda"),
            color: RED,
            reference: Some(("2/η", two_over_eta)),
            log_y: false,
        },
        StackedPanel {
            label: "learning rate η",
            curve: eta,
            color: GREEN,
            reference: None,
            log_y: true,
        },
        StackedPanel {
            label: "y = ηλ − 2",
            curve: s.column("y"),
            color: BLUE,
            reference: Some(("edge of stability (y = 0)", zero)),
            log_y: false,
        },
    ];
    render_stacked(dir, s.name, s.title, &panels, formats)
}
