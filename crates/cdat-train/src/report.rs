//! The reproduction report: reads the runs of a plan (`config.toml`, `metrics.jsonl`,
//! `summary.json`), computes the figure behind each claim of the paper, and writes
//! `runs.csv`/`runs.md`, `claims.csv`, comparison plots per suite, and `REPORT.md`.
//!
//! Every number in the report comes from the metrics files; the verdict rules are fixed here,
//! before looking at any run, and printed in the report next to each claim.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::checkpoint::write_atomically;
use crate::config::RunConfig;
use crate::metrics::{read_metrics, StepRecord, Summary};
use crate::plot::{render_panels, Panel, Series, GREY, PALETTE};
use crate::reproduce::{Layout, Plan};
use crate::tuner_setup::variant_name;

/// A run of the plan as found on disk.
#[derive(Debug, Clone)]
pub struct RunView {
    /// Suite name.
    pub suite: String,
    /// Run name.
    pub name: String,
    /// Base optimizer (`gd`, `rmsprop`, ...).
    pub optimizer: String,
    /// Tuner (`constant`, `cdat`, ...).
    pub tuner: String,
    /// `lr` of a constant tuner.
    pub lr: Option<f64>,
    /// `sigma` of CDAT.
    pub sigma: Option<f64>,
    /// EMA `beta` of CDAT.
    pub beta: Option<f64>,
    /// Batch size (`None`: full batch).
    pub batch: Option<usize>,
    /// Steps planned.
    pub steps: usize,
    /// The records.
    pub records: Vec<StepRecord>,
    /// The summary, when the run finished.
    pub summary: Option<Summary>,
}

fn tuner_number(config: &RunConfig, key: &str) -> Option<f64> {
    let v = toml::Value::try_from(&config.tuner).ok()?;
    v.get(key)
        .and_then(|x| x.as_float().or_else(|| x.as_integer().map(|i| i as f64)))
}

impl RunView {
    /// `None` when the run has not been made (no readable config or no metrics); a
    /// `metrics.jsonl` with a damaged line is an error naming it (its records would be lost
    /// from the report).
    fn load(suite: &str, name: &str, dir: &Path) -> Result<Option<Self>> {
        let Ok(config) = RunConfig::from_file(&dir.join("config.toml")) else {
            return Ok(None);
        };
        let metrics = dir.join("metrics.jsonl");
        if !metrics.is_file() {
            return Ok(None);
        }
        let records = read_metrics(&metrics)?;
        let summary = std::fs::read_to_string(dir.join("summary.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let steps = summary
            .as_ref()
            .map_or(records.len(), |s: &Summary| s.steps_planned);
        Ok(Some(Self {
            suite: suite.into(),
            name: name.into(),
            optimizer: variant_name(&config.optimizer).unwrap_or_default(),
            tuner: variant_name(&config.tuner).unwrap_or_default(),
            lr: tuner_number(&config, "lr"),
            sigma: tuner_number(&config, "sigma"),
            beta: tuner_number(&config, "beta"),
            batch: config.train.batch_size,
            steps,
            records,
            summary,
        }))
    }

    fn diverged(&self) -> bool {
        self.summary.as_ref().is_some_and(|s| s.diverged)
    }

    /// The selection score, lower is better: in full batch the mean training loss over the
    /// last 5 steps (the paper's rule); in mini batch the last loss on the whole training set
    /// (batch losses are too noisy). `None` for a diverged or unfinished run.
    pub fn score(&self) -> Option<f64> {
        let s = self.summary.as_ref()?;
        if s.diverged {
            return None;
        }
        if self.batch.is_some() {
            if let Some(l) = self.records.iter().rev().find_map(|r| r.train_eval_loss) {
                return Some(l);
            }
        }
        s.last5_mean_loss
    }

    /// This run's score over `base`'s; ∞ when this run diverged and `base` did not.
    fn score_ratio(&self, base: &RunView) -> Option<f64> {
        match (self.score(), base.score()) {
            (Some(a), Some(b)) => Some(a / b),
            (None, Some(_)) if self.diverged() => Some(f64::INFINITY),
            _ => None,
        }
    }

    /// Training loss at `step` (the last record at or before it).
    fn loss_at(&self, step: usize) -> Option<f64> {
        self.records
            .iter()
            .take_while(|r| r.step <= step)
            .filter_map(|r| r.loss)
            .last()
    }

    fn lr_first(&self) -> Option<f64> {
        self.records.iter().find_map(|r| r.lr)
    }

    /// Mean η over the last 5% of the recorded steps (at least one).
    fn lr_final(&self) -> Option<f64> {
        let n = (self.records.len() / 20).max(1);
        mean(self.records.iter().rev().take(n).filter_map(|r| r.lr))
    }

    /// Largest η over the steps up to `frac` of the horizon.
    fn lr_max_until(&self, frac: f64) -> Option<f64> {
        let end = ((self.steps as f64 * frac).ceil() as usize).max(1);
        self.records
            .iter()
            .filter(|r| r.step <= end)
            .filter_map(|r| r.lr)
            .reduce(f64::max)
    }

    fn sharpness(&self) -> Vec<(usize, f64)> {
        self.records
            .iter()
            .filter_map(|r| r.sharpness.map(|s| (r.step, s)))
            .collect()
    }

    /// How much λmax rose after its lowest measurement: the largest measurement at or after the
    /// lowest one, divided by the lowest (a large initial λmax that first drops, the catapult
    /// phase, is not counted as sharpening).
    fn sharpness_rise_after_min(&self) -> Option<f64> {
        let sh = self.sharpness();
        let (i, min) = sh
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1 > 0.0)
            .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
            .map(|(i, p)| (i, p.1))?;
        sh[i..]
            .iter()
            .map(|p| p.1)
            .reduce(f64::max)
            .map(|m| m / min)
    }

    /// Median of η·λmax over the measured steps in the second half of the run.
    fn median_edge_second_half(&self) -> Option<f64> {
        let half = self.steps / 2;
        median(
            self.records
                .iter()
                .filter(|r| r.step > half)
                .filter_map(|r| r.lr_times_sharpness)
                .collect(),
        )
    }

    fn grad_norm_ratio(&self) -> Option<f64> {
        let g0 = self.records.iter().find_map(|r| r.grad_norm)?;
        let max = self
            .records
            .iter()
            .filter_map(|r| r.grad_norm)
            .reduce(f64::max)?;
        (g0 > 0.0).then(|| max / g0)
    }
}

fn mean(it: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) => format!("{v:.2e}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every comparison agrees with the paper.
    Reproduced,
    /// Some do.
    Partly,
    /// None do.
    NotReproduced,
    /// The runs needed are missing.
    NotRun,
}

impl Verdict {
    fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Partly => "partly",
            Verdict::NotReproduced => "not reproduced",
            Verdict::NotRun => "not run",
        }
    }

    fn of(passed: usize, total: usize) -> Self {
        match (passed, total) {
            (_, 0) => Verdict::NotRun,
            (p, t) if p == t => Verdict::Reproduced,
            (0, _) => Verdict::NotReproduced,
            _ => Verdict::Partly,
        }
    }
}

/// One claim's section of the report.
struct ClaimSection {
    id: &'static str,
    statement: &'static str,
    rule: &'static str,
    verdict: Verdict,
    /// The headline figure.
    measured: String,
    /// Markdown table and notes.
    body: String,
}

/// The runs of a suite, grouped.
struct SuiteRuns<'a> {
    runs: Vec<&'a RunView>,
}

impl<'a> SuiteRuns<'a> {
    fn full_batch(&self) -> impl Iterator<Item = &'a RunView> + '_ {
        self.runs.iter().copied().filter(|r| r.batch.is_none())
    }

    /// The tuned constant learning rate for `optimizer` (full batch): the completed constant
    /// run with the lowest score, and whether it lies at the edge of the grid.
    fn best_constant(&self, optimizer: &str) -> Option<(&'a RunView, bool)> {
        let mut grid: Vec<&RunView> = self
            .full_batch()
            .filter(|r| r.tuner == "constant" && r.optimizer == optimizer && r.lr.is_some())
            .collect();
        grid.sort_by(|a, b| a.lr.unwrap_or(0.0).total_cmp(&b.lr.unwrap_or(0.0)));
        let (i, best) = grid
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.score().map(|s| (i, *r, s)))
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(i, r, _)| (i, r))?;
        Some((best, grid.len() > 1 && (i == 0 || i + 1 == grid.len())))
    }

    fn find(&self, optimizer: &str, tuner: &str, sigma: Option<f64>) -> Option<&'a RunView> {
        self.full_batch().find(|r| {
            r.optimizer == optimizer
                && r.tuner == tuner
                && sigma.is_none_or(|s| r.sigma.is_some_and(|x| (x - s).abs() < 1e-9))
                && (tuner != "cdat" || r.beta.unwrap_or(0.0) == 0.0)
        })
    }

    fn optimizers(&self) -> Vec<String> {
        let mut v: Vec<String> = self.runs.iter().map(|r| r.optimizer.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Loads the plan's runs from disk (runs not made yet are left out).
pub fn load_runs(plan: &Plan, layout: &Layout) -> Result<Vec<RunView>> {
    let mut out = Vec::new();
    for s in &plan.suite {
        for r in s.expand() {
            let dir = layout.out.join(&s.name).join(&r.name);
            if let Some(v) = RunView::load(&s.name, &r.name, &dir)? {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// Writes tables, plots and the report; returns a short text for the terminal.
pub fn write_report(plan: &Plan, _plan_dir: &Path, layout: &Layout, quick: bool) -> Result<String> {
    let runs = load_runs(plan, layout)?;
    std::fs::create_dir_all(&layout.results)?;
    let suites: Vec<(&crate::reproduce::Suite, SuiteRuns)> = plan
        .suite
        .iter()
        .map(|s| {
            (
                s,
                SuiteRuns {
                    runs: runs.iter().filter(|r| r.suite == s.name).collect(),
                },
            )
        })
        .collect();
    write_run_tables(&runs, &layout.results)?;
    for (s, sr) in &suites {
        if !sr.runs.is_empty() {
            suite_plots(sr, &layout.results.join(&s.name))?;
        }
    }
    let link = relative_link(&layout.report, &layout.results);
    let claims = vec![
        claim_c1(&suites),
        claim_c2(&suites),
        claim_c3(&suites),
        claim_c4(&suites),
        claim_c5(&suites),
        claim_c6(&layout.results.join("dynamics"), &link)?,
        claim_c7(&suites, &link),
    ];
    let mut csv = String::from("claim,verdict,measured\n");
    for c in &claims {
        let _ = writeln!(
            csv,
            "{},{},\"{}\"",
            c.id,
            c.verdict.text(),
            c.measured.replace('"', "'")
        );
    }
    write_atomically(&layout.results.join("claims.csv"), csv.as_bytes())?;

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Reproduction report: Roulet et al., *Stepping on the Edge* (NeurIPS 2024)\n"
    );
    let _ = writeln!(
        md,
        "Generated by `cdat-train reproduce{}` from the runs' `metrics.jsonl`; do not edit by hand \
         (rerun `scripts/reproduce.sh{}` to regenerate). Sizes are scaled down from the paper's \
         to run on 2 CPU cores; the verdicts hold for these sizes only.\n",
        if quick { " --quick" } else { "" },
        if quick { " --quick" } else { "" }
    );
    if quick {
        let _ = writeln!(
            md,
            "**Quick mode**: a few steps per run on tiny subsets. This checks the pipeline; \
             the verdicts below mean nothing.\n"
        );
    }
    let _ = writeln!(md, "## Setup\n");
    let _ = writeln!(
        md,
        "| suite | what | runs found | steps | backend | total time (s) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (s, sr) in &suites {
        let steps = sr.runs.iter().map(|r| r.steps).max().unwrap_or(0);
        let backend = sr
            .runs
            .iter()
            .find_map(|r| r.summary.as_ref().map(|s| s.backend.clone()))
            .unwrap_or_default();
        let time: f64 = sr
            .runs
            .iter()
            .filter_map(|r| r.summary.as_ref().map(|s| s.total_time_s))
            .sum();
        let _ = writeln!(
            md,
            "| `{}` | {} | {} of {} | {} | {} | {:.0} |",
            s.name,
            s.title,
            sr.runs.len(),
            s.expand().len(),
            steps,
            backend,
            time
        );
    }
    let _ = writeln!(
        md,
        "\nEvery run's figures: [`runs.md`]({link}/runs.md) (CSV: [`runs.csv`]({link}/runs.csv)). \
         Selection rule for a tuned constant learning rate (the paper's): lowest mean training \
         loss over the last 5 steps on a log₂ grid; a best point at the grid's edge is flagged.\n"
    );
    let _ = writeln!(md, "## Verdicts\n");
    let _ = writeln!(md, "| claim | statement | measured | verdict |");
    let _ = writeln!(md, "|---|---|---|---|");
    for c in &claims {
        let _ = writeln!(
            md,
            "| {} | {} | {} | **{}** |",
            c.id,
            c.statement,
            c.measured,
            c.verdict.text()
        );
    }
    for c in &claims {
        let _ = writeln!(md, "\n## {}: {}\n", c.id, c.statement);
        let _ = writeln!(md, "Rule: {}\n", c.rule);
        let _ = writeln!(md, "Verdict: **{}** — {}\n", c.verdict.text(), c.measured);
        md.push_str(&c.body);
    }
    let _ = writeln!(md, "\n## Plots per suite\n");
    for (s, sr) in &suites {
        if sr.runs.is_empty() {
            continue;
        }
        let _ = writeln!(md, "### `{}`: {}\n", s.name, s.title);
        for (file, what) in PLOT_FILES {
            if layout
                .results
                .join(&s.name)
                .join(format!("{file}.png"))
                .is_file()
            {
                let _ = writeln!(md, "![{what}]({link}/{}/{file}.png)", s.name);
            }
        }
        let _ = writeln!(md);
    }
    write_atomically(&layout.report, md.as_bytes())?;
    let mut out = String::new();
    for c in &claims {
        let _ = writeln!(out, "{}: {} — {}", c.id, c.verdict.text(), c.measured);
    }
    let _ = write!(
        out,
        "Report: {}; tables and plots: {}",
        layout.report.display(),
        layout.results.display()
    );
    Ok(out)
}

const PLOT_FILES: [(&str, &str); 5] = [
    ("loss", "training loss"),
    ("lr", "learning rate"),
    ("sharpness", "sharpness"),
    ("lr_sharpness", "η·λmax"),
    ("sigma_batch", "final loss against σ per batch size"),
];

/// The path of `target` as a link from the folder of `file`.
fn relative_link(file: &Path, target: &Path) -> String {
    let base = file.parent().unwrap_or(Path::new(""));
    match target.strip_prefix(base) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => std::path::absolute(target)
            .unwrap_or_else(|_| target.to_path_buf())
            .display()
            .to_string(),
    }
}

fn write_run_tables(runs: &[RunView], dir: &Path) -> Result<()> {
    let mut csv = String::from(
        "suite,run,optimizer,tuner,lr,sigma,beta,batch_size,status,score,initial_loss,final_lr,first_sharpness,max_sharpness,last_sharpness,median_lr_sharpness_2nd_half,time_s\n",
    );
    let mut md = String::from(
        "| suite | run | status | score | η (last 5%) | λmax first → max → last | median η·λmax, 2nd half | time (s) |\n|---|---|---|---|---|---|---|---|\n",
    );
    let o = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    for r in runs {
        let sh = r.sharpness();
        let first = sh.first().map(|p| p.1);
        let last = sh.last().map(|p| p.1);
        let max = sh.iter().map(|p| p.1).reduce(f64::max);
        let status = match &r.summary {
            None => "unfinished".to_string(),
            Some(s) if s.diverged => format!("diverged at {}", s.diverged_at_step.unwrap_or(0)),
            Some(_) => "completed".into(),
        };
        let time = r.summary.as_ref().map(|s| s.total_time_s);
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.suite,
            r.name,
            r.optimizer,
            r.tuner,
            o(r.lr),
            o(r.sigma),
            o(r.beta),
            r.batch.map_or("full".into(), |b| b.to_string()),
            status,
            o(r.score()),
            o(r.summary.as_ref().and_then(|s| s.initial_loss)),
            o(r.lr_final()),
            o(first),
            o(max),
            o(last),
            o(r.median_edge_second_half()),
            o(time)
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} → {} → {} | {} | {} |",
            r.suite,
            r.name,
            status,
            num(r.score()),
            num(r.lr_final()),
            num(first),
            num(max),
            num(last),
            num(r.median_edge_second_half()),
            time.map_or("–".into(), |t| format!("{t:.0}"))
        );
    }
    write_atomically(&dir.join("runs.csv"), csv.as_bytes())?;
    write_atomically(&dir.join("runs.md"), md.as_bytes())?;
    Ok(())
}

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

fn suite_plots(sr: &SuiteRuns, dir: &Path) -> Result<()> {
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

type Suites<'a> = [(&'a crate::reproduce::Suite, SuiteRuns<'a>)];

fn claim_c1(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | tuner | tuned constant η | loss at step T/20: tuner / constant | final loss: tuner / constant | agrees |\n|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    let mut notes = String::new();
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let Some((base, at_edge)) = sr.best_constant(&opt) else {
                continue;
            };
            if at_edge {
                let _ = writeln!(
                    notes,
                    "- `{}`/{opt}: the tuned constant learning rate lies at the edge of its grid.",
                    s.name
                );
            }
            for tuner in ["linesearch", "greedy"] {
                let Some(r) = sr.find(&opt, tuner, None) else {
                    continue;
                };
                let t_early = (r.steps / 20).max(2);
                let early = r
                    .loss_at(t_early)
                    .zip(base.loss_at(t_early))
                    .map(|(a, b)| a / b);
                let fin = r.score_ratio(base);
                let ok = early.is_some_and(|e| e < 1.0) && fin.is_some_and(|f| f > 1.0);
                total += 1;
                passed += usize::from(ok);
                let _ = writeln!(
                    body,
                    "| `{}` | {opt} | {tuner} | {} | {} | {} | {} |",
                    s.name,
                    num(base.lr),
                    num(early),
                    num(fin),
                    if ok { "yes" } else { "no" }
                );
            }
        }
    }
    body.push_str(&notes);
    ClaimSection {
        id: "C1",
        statement: "In full batch, linesearch and quadratically greedy tuners lower the loss faster than a tuned constant η at first but end worse.",
        rule: "per suite and base optimizer, a tuner agrees when its loss at step T/20 is below the tuned constant run's and its final loss (mean of the last 5 steps) is above it. The linesearch runs use the Optax defaults (c = 1e-4, c₋ = 0.8, c₊ = 1.5, η_max = 1), not the paper's grid over c, c₊ and c₋ (reduced for the 2-core budget)",
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} tuner runs agree"),
        body,
    }
}

fn claim_c2(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | run | η max (first 10%) / η (last 5%) | λmax: largest after the lowest / lowest | median η·λmax, 2nd half | max ‖g‖ / ‖g₀‖ | agrees |\n|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        for r in sr
            .full_batch()
            .filter(|r| r.tuner == "linesearch" || r.tuner == "greedy")
        {
            let drop = r.lr_max_until(0.1).zip(r.lr_final()).map(|(a, b)| a / b);
            let growth = r.sharpness_rise_after_min();
            // λmax is the top eigenvalue of H; for a preconditioned base optimizer the edge of
            // stability concerns P^(-1/2) H P^(-1/2), which the trainer does not measure.
            let edge = (r.optimizer == "gd")
                .then(|| r.median_edge_second_half())
                .flatten();
            let g = r.grad_norm_ratio();
            let ok = drop.is_some_and(|d| d >= 10.0)
                && growth.is_some_and(|x| x >= 2.0)
                && (r.optimizer != "gd" || edge.is_some_and(|e| (1.0..2.0).contains(&e)))
                && g.is_some_and(|g| g < 10.0);
            total += 1;
            passed += usize::from(ok);
            let _ = writeln!(
                body,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                s.name,
                r.name,
                num(drop),
                num(growth),
                if r.optimizer == "gd" {
                    num(edge)
                } else {
                    "n/a (preconditioned)".into()
                },
                num(g),
                if ok { "yes" } else { "no" }
            );
        }
    }
    ClaimSection {
        id: "C2",
        statement: "Under those tuners η falls by orders of magnitude while λmax grows and η·λmax stays just below 2; ‖g‖ does not explode.",
        rule: "a run agrees when η falls ≥ 10× (largest η of the first 10% of steps over the mean η of the last 5%), λmax grows ≥ 2× (its largest measurement after its lowest, over the lowest), for GD the median η·λmax over the second half is in [1, 2) (for a preconditioned optimizer the relevant sharpness is that of P^(-1/2) H P^(-1/2), not measured by the trainer, so this part is skipped), and max ‖g‖ < 10‖g₀‖",
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} tuner runs agree"),
        body,
    }
}

fn claim_c3(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | tuned constant η | λmax: largest after the lowest / lowest | median η·λmax, 2nd half | agrees |\n|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        let Some((r, _)) = sr.best_constant("gd") else {
            continue;
        };
        let rise = r.sharpness_rise_after_min();
        let edge = r.median_edge_second_half();
        let ok = rise.is_some_and(|x| x >= 1.5) && edge.is_some_and(|e| (1.5..=2.5).contains(&e));
        total += 1;
        passed += usize::from(ok);
        let _ = writeln!(
            body,
            "| `{}` | gd | {} | {} | {} | {} |",
            s.name,
            num(r.lr),
            num(rise),
            num(edge),
            if ok { "yes" } else { "no" }
        );
    }
    ClaimSection {
        id: "C3",
        statement: "With a constant η, λmax first rises (progressive sharpening), then hovers near 2/η (edge of stability).",
        rule: "for the tuned constant-η GD run of each suite: λmax rises ≥ 1.5× (its largest measurement after its lowest, over the lowest: an initial drop, the catapult phase, is not sharpening), and the median η·λmax over the second half is in [1.5, 2.5]",
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} suites agree"),
        body,
    }
}

fn claim_c4(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | σ=1 / const | σ=2 / const | σ=2.0625 / const | σ=2.5 | agrees |\n|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    let mut better_2_0625 = 0;
    let mut diverged_2_5 = 0;
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let Some((base, _)) = sr.best_constant(&opt) else {
                continue;
            };
            let Some(c2) = sr.find(&opt, "cdat", Some(2.0)) else {
                continue;
            };
            let ratio = |r: Option<&RunView>| r.and_then(|r| r.score_ratio(base));
            let r1 = ratio(sr.find(&opt, "cdat", Some(1.0)));
            let r2 = ratio(Some(c2));
            let r2b = ratio(sr.find(&opt, "cdat", Some(2.0625)));
            let c25 = sr.find(&opt, "cdat", Some(2.5));
            let ok = r2.is_some_and(|x| x <= 1.05) && r1.zip(r2).is_some_and(|(a, b)| b < a);
            if r2b.zip(r2).is_some_and(|(a, b)| a < b) {
                better_2_0625 += 1;
            }
            if c25.is_some_and(|r| r.diverged()) {
                diverged_2_5 += 1;
            }
            total += 1;
            passed += usize::from(ok);
            let _ = writeln!(
                body,
                "| `{}` | {opt} | {} | {} | {} | {} | {} |",
                s.name,
                num(r1),
                num(r2),
                num(r2b),
                match c25 {
                    None => "–".to_string(),
                    Some(r) if r.diverged() => "diverged".to_string(),
                    Some(r) => format!("{} (did not diverge)", num(ratio(Some(r)))),
                },
                if ok { "yes" } else { "no" }
            );
        }
    }
    let _ = writeln!(
        body,
        "\nσ=2.0625 better than σ=2 in {better_2_0625} of {total}; σ=2.5 diverged in {diverged_2_5} of {total}."
    );
    ClaimSection {
        id: "C4",
        statement: "CDAT with σ=2 matches or beats the tuned constant η and beats σ=1 (σ=2.0625 often better still; σ=2.5 diverges).",
        rule: "per suite and optimizer: final loss of CDAT σ=2 ≤ 1.05 × the tuned constant run's, and below CDAT σ=1's (ratios are final losses over the tuned constant's; a diverged run counts as ∞)",
        verdict: Verdict::of(passed, total),
        measured: format!(
            "{passed} of {total} agree; σ=2.0625 better than σ=2 in {better_2_0625}, σ=2.5 diverged in {diverged_2_5}"
        ),
        body,
    }
}

fn claim_c5(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | η max (first 25%) / η first | λmax change over the 2nd half | agrees |\n|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let Some(r) = sr.find(&opt, "cdat", Some(2.0)) else {
                continue;
            };
            let rise = r.lr_max_until(0.25).zip(r.lr_first()).map(|(a, b)| a / b);
            let sh = r.sharpness();
            let half = r.steps / 2;
            let drift = sh
                .iter()
                .find(|p| p.0 > half)
                .zip(sh.last())
                .map(|(a, b)| (b.1 - a.1) / a.1);
            let ok = rise.is_some_and(|x| x >= 2.0) && drift.is_some_and(|d| d.abs() <= 0.25);
            total += 1;
            passed += usize::from(ok);
            let _ = writeln!(
                body,
                "| `{}` | {opt} | {} | {} | {} |",
                s.name,
                num(rise),
                drift.map_or("–".into(), |d| format!("{:+.1}%", 100.0 * d)),
                if ok { "yes" } else { "no" }
            );
        }
    }
    ClaimSection {
        id: "C5",
        statement: "CDAT's η rises early like a warm-up, and λmax stabilises.",
        rule: "for CDAT σ=2 (full batch, no EMA): the largest η of the first 25% of steps is ≥ 2× the first η, and λmax changes by at most 25% between the first measurement of the second half and the last",
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} runs agree"),
        body,
    }
}

fn claim_c7(suites: &Suites, link: &str) -> ClaimSection {
    let mut body = String::new();
    let (mut passed, mut total) = (0, 0);
    let mut measured = Vec::new();
    for (s, sr) in suites {
        let cdat: Vec<&RunView> = sr
            .runs
            .iter()
            .copied()
            .filter(|r| r.tuner == "cdat" && r.batch.is_some())
            .collect();
        if cdat.is_empty() {
            continue;
        }
        let mut batches: Vec<usize> = cdat.iter().filter_map(|r| r.batch).collect();
        batches.sort();
        batches.dedup();
        let mut betas: Vec<f64> = cdat.iter().map(|r| r.beta.unwrap_or(0.0)).collect();
        betas.sort_by(f64::total_cmp);
        betas.dedup();
        let _ = writeln!(
            body,
            "Suite `{}`: best σ (lowest final loss on the whole training set) per batch size.\n\n| EMA β | {} | best σ grows with batch | mean loss(σ=2) / best, over batch sizes |\n|---|{}---|---|",
            s.name,
            batches
                .iter()
                .map(|b| format!("batch {b}"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(batches.len())
        );
        let mut robustness = Vec::new();
        for &beta in &betas {
            let mut bests = Vec::new();
            let mut ratios = Vec::new();
            for &b in &batches {
                let at: Vec<&RunView> = cdat
                    .iter()
                    .copied()
                    .filter(|r| r.batch == Some(b) && r.beta.unwrap_or(0.0) == beta)
                    .collect();
                let best = at
                    .iter()
                    .filter_map(|r| Some((r.sigma?, r.score()?)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                if let (Some((_, bl)), Some(r2)) = (
                    best,
                    at.iter()
                        .find(|r| r.sigma.is_some_and(|s| (s - 2.0).abs() < 1e-9)),
                ) {
                    ratios.push(r2.score().map_or(f64::INFINITY, |x| x / bl));
                }
                bests.push(best.map(|b| b.0));
            }
            let monotone = bests.iter().all(Option::is_some)
                && bests.windows(2).all(|w| w[0] <= w[1])
                && bests.first() != bests.last();
            let rob = mean(ratios.iter().copied());
            robustness.push((beta, rob));
            total += 1;
            passed += usize::from(monotone);
            let _ = writeln!(
                body,
                "| {beta} | {} | {} | {} |",
                bests
                    .iter()
                    .map(|b| num(*b))
                    .collect::<Vec<_>>()
                    .join(" | "),
                if monotone { "yes" } else { "no" },
                num(rob)
            );
        }
        let ema_helps = match (
            robustness.iter().find(|r| r.0 == 0.0).and_then(|r| r.1),
            robustness.iter().find(|r| r.0 > 0.0).and_then(|r| r.1),
        ) {
            (Some(a), Some(b)) => {
                total += 1;
                passed += usize::from(b < a);
                Some(b < a)
            }
            _ => None,
        };
        let _ = writeln!(
            body,
            "\nEMA makes σ=2 more robust across batch sizes: {}.\n\n![final loss against σ]({link}/{}/sigma_batch.png)\n",
            match ema_helps {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not measured",
            },
            s.name
        );
        measured.push(format!(
            "`{}`: {}",
            s.name,
            robustness
                .iter()
                .map(|(b, r)| format!("(β={b}: σ=2 at {}× best)", num(*r)))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    ClaimSection {
        id: "C7",
        statement: "In mini batch the best σ shrinks as the batch shrinks; an EMA (β=0.9) on CDAT's numerator and denominator makes σ≈2 more robust across batch sizes.",
        rule: "for each EMA β: the best σ is non-decreasing in the batch size and not the same at both ends; and the mean over batch sizes of loss(σ=2)/best loss is lower with the EMA than without",
        verdict: Verdict::of(passed, total),
        measured: if measured.is_empty() {
            "no mini-batch runs".into()
        } else {
            format!("{passed} of {total} checks agree; {}", measured.join("; "))
        },
        body,
    }
}

/// Steps of the simplified-model simulations behind C6.
const DYNAMICS_STEPS: usize = 2_000;

fn claim_c6(dir: &Path, link: &str) -> Result<ClaimSection> {
    let sims = crate::simulate::simulate_into(dir, DYNAMICS_STEPS)?;
    let get = |name: &str| sims.iter().find(|s| s.name == name);
    let drift =
        |s: &crate::simulate::ScenarioSummary| (s.final_lambda - s.half_lambda) / s.half_lambda;
    let mut body = String::from(
        "| scenario | diverged | λ first → half → last | η first → last | mean y, last 10% | agrees |\n|---|---|---|---|---|---|\n",
    );
    let mut checks = Vec::new();
    for s in &sims {
        let ok = s.diverged_at.is_none()
            && match s.name {
                // λ hovers at 2/η: y averages ≈ 0 and λ stays within 20% of 2/η.
                "constant-eta" => {
                    s.mean_y_tail.abs() < 0.1
                        && (s.final_lambda * s.final_eta / 2.0 - 1.0).abs() < 0.2
                }
                // y pinned below 0: x → 0, λ grows ≥ 10×, η falls ≥ 10×.
                "fixed-y" => {
                    s.final_abs_x < 1e-3
                        && s.final_lambda >= 10.0 * s.initial_lambda
                        && s.final_eta <= s.initial_eta / 10.0
                }
                // On edge: y ≈ 0 and λ changes < 5% over the second half.
                "cdat-sigma-2" => s.mean_y_tail.abs() < 0.05 && drift(s).abs() < 0.05,
                // Below edge: λ keeps drifting (≥ 5% over the second half).
                _ => drift(s) >= 0.05,
            };
        checks.push(ok);
        let _ = writeln!(
            body,
            "| `{}`: {} | {} | {} → {} → {} | {} → {} | {:+.4} | {} |",
            s.name,
            s.title,
            s.diverged_at
                .map_or("no".to_string(), |t| format!("at step {t}")),
            num(Some(s.initial_lambda)),
            num(Some(s.half_lambda)),
            num(Some(s.final_lambda)),
            num(Some(s.initial_eta)),
            num(Some(s.final_eta)),
            s.mean_y_tail,
            if ok { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        body,
        "\nThe paper's Eq. 4 and Eq. 10 were not available offline: the model is reconstructed from \
         Damian et al.'s self-stabilization model with the sharpness update using x_(t+1) (the \
         literal simultaneous update spirals out for the Fig. 4 parameters), and the CDAT version \
         (gradient descent on ½λx² + ½νz², n = λ²x² + ν²z², d = λ³x² + ν³z², EMA β = 0.9) is \
         derived; initial states are chosen, not the paper's. See `cdat_core::dynamics`. \
         {DYNAMICS_STEPS} steps per scenario; curves in [`dynamics/`]({link}/dynamics/).\n"
    );
    for s in &sims {
        let _ = writeln!(body, "![{}]({link}/dynamics/{}.png)", s.title, s.name);
    }
    let passed = checks.iter().filter(|c| **c).count();
    let sigma2 = get("cdat-sigma-2");
    let sigma19 = get("cdat-sigma-1.9");
    Ok(ClaimSection {
        id: "C6",
        statement: "In the simplified model, a constant η stabilises λ near 2/η; holding y = ηλ − 2 below 0 drives x to 0 while λ grows and η falls; CDAT σ=2 holds y near 0 with λ stable, σ=1.9 drifts.",
        rule: "constant η: |mean y| < 0.1 over the last 10% and ηλ/2 within 20% of 1 at the end; fixed y: |x| < 1e-3, λ grows ≥ 10× and η falls ≥ 10×; CDAT σ=2: |mean y| < 0.05 and λ changes < 5% over the second half; CDAT σ=1.9: λ grows ≥ 5% over the second half",
        verdict: Verdict::of(passed, checks.len()),
        measured: format!(
            "reconstructed model (Eq. 4/10 unavailable): {passed} of {} scenarios agree; λ change over the 2nd half: σ=2 {}, σ=1.9 {}",
            checks.len(),
            sigma2.map_or("–".into(), |s| format!("{:+.1}%", 100.0 * drift(s))),
            sigma19.map_or("–".into(), |s| format!("{:+.1}%", 100.0 * drift(s)))
        ),
        body,
    })
}
