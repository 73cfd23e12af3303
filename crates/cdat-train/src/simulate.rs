//! `cdat-train simulate`: the paper's simplified model of the joint dynamics of learning rate and
//! sharpness (claim C6; the math is `cdat_core::dynamics`), in its three scenarios: constant η
//! (Fig. 4), a tuner holding `y = η λ − 2` at −0.1 (Fig. 4) and CDAT with σ = 2 and σ = 1.9
//! (Fig. 9). Writes one CSV and one plot (PNG and SVG) per scenario, `summary.csv`, and prints
//! one summary line per scenario.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use cdat_core::dynamics::{self, paper, CdatRecord, Options, Outcome, Record, Trajectory};
use clap::Args;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::UserError;
use crate::plot::{padded_ranges, register_font, BLUE, FAMILY, GREEN, GREY, RED};

/// Options of `cdat-train simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Output folder (created if needed): <scenario>.csv, <scenario>.png, <scenario>.svg for
    /// each scenario, and summary.csv. Existing files of the same names are replaced.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of steps of each scenario (the CSVs have N + 1 rows: t = 0..=N); at most
    /// 100,000 (measured at 100,000: 142 MB of files, 124 MB of memory, 1 s).
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub steps: usize,
}

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
    let all = simulate_into(&args.out, args.steps)?;
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
pub fn simulate_into(dir: &Path, steps: usize) -> Result<Vec<ScenarioSummary>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let all = scenarios(steps);
    let mut summary =
        String::from("scenario,steps_done,diverged,final_lambda,final_eta,mean_y_last_10pct\n");
    let mut out = Vec::new();
    for s in &all {
        write_csv(s, &dir.join(format!("{}.csv", s.name)))?;
        render(s, dir)?;
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

/// One panel: a curve and an optional dashed reference curve.
struct Panel {
    label: &'static str,
    curve: Vec<(f64, f64)>,
    color: RGBColor,
    reference: Option<(&'static str, Vec<(f64, f64)>)>,
    log_y: bool,
}

fn render(s: &Scenario, dir: &Path) -> Result<()> {
    register_font();
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
        Panel {
            label: "sharpness λ",
            curve: s.column("lambda"),
            color: RED,
            reference: Some(("2/η", two_over_eta)),
            log_y: false,
        },
        Panel {
            label: "learning rate η",
            curve: eta,
            color: GREEN,
            reference: None,
            log_y: true,
        },
        Panel {
            label: "y = ηλ − 2",
            curve: s.column("y"),
            color: BLUE,
            reference: Some(("edge of stability (y = 0)", zero)),
            log_y: false,
        },
    ];
    let png = dir.join(format!("{}.png", s.name));
    {
        let root = BitMapBackend::new(&png, (1000, 1100)).into_drawing_area();
        figure(&root, s.title, &panels)?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    let svg = dir.join(format!("{}.svg", s.name));
    {
        let root = SVGBackend::new(&svg, (1000, 1100)).into_drawing_area();
        figure(&root, s.title, &panels)?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    Ok(())
}

fn figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
) -> Result<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(title, (FAMILY, 26)).map_err(e)?;
    for (area, p) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        draw(area, p)?;
    }
    Ok(())
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<()> {
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
        let a = y.abs();
        if a <= 1e-9 * span.abs() {
            "0".to_string()
        } else if !(1e-3..1e4).contains(&a) {
            format!("{y:.1e}")
        } else if a >= 100.0 {
            format!("{y:.0}")
        } else if a >= 1.0 {
            format!("{y:.2}")
        } else {
            format!("{y:.3}")
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
