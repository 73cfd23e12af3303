//! The runs of a plan as found on disk ([`RunView`]: configuration, records, summary), the
//! figures the claims read off one run, and a suite's runs grouped ([`SuiteRuns`]).

use std::path::Path;

use anyhow::Result;

use super::stats::{mean, median};
use crate::experiments::archive::ARCHIVED_METRICS;
use crate::experiments::plan::{Layout, Plan, Suite};
use crate::run::config::RunConfig;
use crate::run::metrics::{finished_summary, read_metrics, StepRecord, Summary};
use crate::run::tuner_setup::variant_name;

/// A run of the plan as found on disk.
#[derive(Debug, Clone)]
pub struct RunView {
    /// Suite name.
    pub suite: String,
    /// Run name (ends in `_seed<k>`).
    pub name: String,
    /// The run's seed.
    pub seed: u64,
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
    /// The summary (a run is loaded only once it has ended).
    pub summary: Summary,
}

fn tuner_number(config: &RunConfig, key: &str) -> Option<f64> {
    let v = toml::Value::try_from(&config.tuner).ok()?;
    v.get(key)
        .and_then(|x| x.as_float().or_else(|| x.as_integer().map(|i| i as f64)))
}

impl RunView {
    /// `None` when the run has not been made or has not ended (no readable config, no
    /// metrics, no summary or an interrupted one): the report covers ended runs only, so that
    /// it does not change while a plan runs. Records (`metrics.jsonl`, or `metrics.jsonl.gz`
    /// once archived) with a damaged line are an error naming the file (their records would be
    /// lost from the report).
    fn load(suite: &str, name: &str, dir: &Path) -> Result<Option<Self>> {
        let Ok(config) = RunConfig::from_file(&dir.join("config.toml")) else {
            return Ok(None);
        };
        let Some(metrics) = ["metrics.jsonl", ARCHIVED_METRICS]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        let Some(summary) = finished_summary(dir) else {
            return Ok(None);
        };
        let records = read_metrics(&metrics)?;
        let steps = summary.steps_planned;
        Ok(Some(Self {
            suite: suite.into(),
            name: name.into(),
            seed: config.seed,
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

    pub fn diverged(&self) -> bool {
        self.summary.diverged
    }

    /// The selection score, lower is better: in full batch the mean training loss over the
    /// last 5 steps (the paper's rule); in mini batch the last loss on the whole training set
    /// (batch losses are too noisy). `None` for a diverged run.
    pub fn score(&self) -> Option<f64> {
        let s = &self.summary;
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
    pub fn score_ratio(&self, base: &RunView) -> Option<f64> {
        match (self.score(), base.score()) {
            (Some(a), Some(b)) => Some(a / b),
            (None, Some(_)) if self.diverged() => Some(f64::INFINITY),
            _ => None,
        }
    }

    /// Training loss at `step` (the last record at or before it).
    pub fn loss_at(&self, step: usize) -> Option<f64> {
        self.records
            .iter()
            .take_while(|r| r.step <= step)
            .filter_map(|r| r.loss)
            .last()
    }

    pub fn lr_first(&self) -> Option<f64> {
        self.records.iter().find_map(|r| r.lr)
    }

    /// Mean η over the last 5% of the recorded steps (at least one).
    pub fn lr_final(&self) -> Option<f64> {
        let n = (self.records.len() / 20).max(1);
        mean(self.records.iter().rev().take(n).filter_map(|r| r.lr))
    }

    /// Largest η over the steps up to `frac` of the horizon.
    pub fn lr_max_until(&self, frac: f64) -> Option<f64> {
        let end = ((self.steps as f64 * frac).ceil() as usize).max(1);
        self.records
            .iter()
            .filter(|r| r.step <= end)
            .filter_map(|r| r.lr)
            .reduce(f64::max)
    }

    pub fn sharpness(&self) -> Vec<(usize, f64)> {
        self.records
            .iter()
            .filter_map(|r| r.sharpness.map(|s| (r.step, s)))
            .collect()
    }

    /// How much λmax rose after its lowest measurement: the largest measurement at or after the
    /// lowest one, divided by the lowest (a large initial λmax that first drops, the catapult
    /// phase, is not counted as sharpening).
    pub fn sharpness_rise_after_min(&self) -> Option<f64> {
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

    /// Median of `figure` over the steps in the second half of the run that have it.
    pub fn median_second_half(&self, figure: impl Fn(&StepRecord) -> Option<f64>) -> Option<f64> {
        let half = self.steps / 2;
        median(
            self.records
                .iter()
                .filter(|r| r.step > half)
                .filter_map(figure)
                .collect(),
        )
    }

    /// Median of η·λmax over the measured steps in the second half of the run.
    pub fn median_edge_second_half(&self) -> Option<f64> {
        self.median_second_half(|r| r.lr_times_sharpness)
    }

    /// Median of η·gᵀHg/‖g‖², η times the curvature along the gradient, over the measured
    /// steps in the second half of the run.
    pub fn median_grad_edge_second_half(&self) -> Option<f64> {
        self.median_second_half(|r| Some(r.lr? * r.grad_curvature?))
    }

    pub fn grad_norm_ratio(&self) -> Option<f64> {
        let g0 = self.records.iter().find_map(|r| r.grad_norm)?;
        let max = self
            .records
            .iter()
            .filter_map(|r| r.grad_norm)
            .reduce(f64::max)?;
        (g0 > 0.0).then(|| max / g0)
    }
}

/// The runs of a suite, grouped.
pub struct SuiteRuns<'a> {
    /// The suite's runs found on disk, in plan order.
    pub runs: Vec<&'a RunView>,
}

impl<'a> SuiteRuns<'a> {
    /// The seeds of the suite's runs, in increasing order.
    pub fn seeds(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.runs.iter().map(|r| r.seed).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The runs of one seed.
    pub fn of_seed(&self, seed: u64) -> SuiteRuns<'a> {
        SuiteRuns {
            runs: self
                .runs
                .iter()
                .copied()
                .filter(|r| r.seed == seed)
                .collect(),
        }
    }

    pub fn full_batch(&self) -> impl Iterator<Item = &'a RunView> + '_ {
        self.runs.iter().copied().filter(|r| r.batch.is_none())
    }

    /// The tuned constant learning rate for `optimizer` (full batch): the completed constant
    /// run with the lowest score, and whether it lies at the edge of the grid.
    pub fn best_constant(&self, optimizer: &str) -> Option<(&'a RunView, bool)> {
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

    /// Mini-batch CDAT at `batch` and EMA `beta`: per σ, in increasing order, the mean over
    /// seeds of the final loss on the whole training set (the score); a diverged seed makes the
    /// mean ∞.
    pub fn mini_batch_means(&self, batch: usize, beta: f64) -> Vec<(f64, f64)> {
        let at: Vec<&RunView> = self
            .runs
            .iter()
            .copied()
            .filter(|r| {
                r.tuner == "cdat" && r.batch == Some(batch) && r.beta.unwrap_or(0.0) == beta
            })
            .collect();
        let mut sigmas: Vec<f64> = at.iter().filter_map(|r| r.sigma).collect();
        sigmas.sort_by(f64::total_cmp);
        sigmas.dedup();
        sigmas
            .into_iter()
            .filter_map(|sg| {
                let scores = at
                    .iter()
                    .filter(|r| r.sigma == Some(sg))
                    .map(|r| r.score().unwrap_or(f64::INFINITY));
                Some((sg, mean(scores)?))
            })
            .collect()
    }

    /// Applies `figure` to the runs of each seed, in seed order; seeds where it gives nothing
    /// are left out.
    pub fn over_seeds<T>(&self, figure: impl Fn(&SuiteRuns<'a>) -> Option<T>) -> Vec<T> {
        self.seeds()
            .into_iter()
            .filter_map(|seed| figure(&self.of_seed(seed)))
            .collect()
    }

    /// The full-batch run of `tuner` over `optimizer` with the lowest score (a tuner run over
    /// a grid of its constants, as the linesearch is, is taken at its best grid point).
    pub fn best_of(&self, optimizer: &str, tuner: &str) -> Option<&'a RunView> {
        self.full_batch()
            .filter(|r| r.optimizer == optimizer && r.tuner == tuner)
            .filter_map(|r| Some((r, r.score()?)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(r, _)| r)
            .or_else(|| self.find(optimizer, tuner, None))
    }

    pub fn find(&self, optimizer: &str, tuner: &str, sigma: Option<f64>) -> Option<&'a RunView> {
        self.full_batch().find(|r| {
            r.optimizer == optimizer
                && r.tuner == tuner
                && sigma.is_none_or(|s| r.sigma.is_some_and(|x| (x - s).abs() < 1e-9))
                && (tuner != "cdat" || r.beta.unwrap_or(0.0) == 0.0)
        })
    }

    pub fn optimizers(&self) -> Vec<String> {
        let mut v: Vec<String> = self.runs.iter().map(|r| r.optimizer.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The suites of a plan with their runs.
pub type Suites<'a> = [(&'a Suite, SuiteRuns<'a>)];

/// Loads the plan's runs from disk (runs not made yet are left out).
pub fn load_runs(plan: &Plan, layout: &Layout) -> Result<Vec<RunView>> {
    let mut out = Vec::new();
    for s in &plan.suite {
        for r in plan.runs(s) {
            let dir = layout.out.join(&s.name).join(&r.name);
            if let Some(v) = RunView::load(&s.name, &r.name, &dir)? {
                out.push(v);
            }
        }
    }
    Ok(out)
}
