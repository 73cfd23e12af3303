//! `metrics.jsonl` (one line per step, flushed every step) and `summary.json`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One step of a run. `loss`, `slope`, `curvature` and the norms are measured at the parameters
/// before the update of this step; `lr` is the learning rate the tuner took. Fields measured only
/// on some steps (sharpness, evaluation) are absent on the others. Non-finite numbers are written
/// as `null`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step number, from 1.
    pub step: usize,
    /// Epoch of the batch used (from 0; a full-batch step is one epoch).
    pub epoch: usize,
    /// Training loss on the batch, `f(w)`.
    pub loss: Option<f64>,
    /// Learning rate `η` taken.
    pub lr: Option<f64>,
    /// `gᵀu`.
    pub slope: Option<f64>,
    /// `uᵀHu`, when the tuner computed it.
    #[serde(default)]
    pub curvature: Option<f64>,
    /// `‖g‖`.
    pub grad_norm: Option<f64>,
    /// `‖u‖`.
    pub dir_norm: Option<f64>,
    /// Loss evaluations the tuner spent this step.
    pub loss_evals: usize,
    /// Gradient evaluations the tuner spent this step.
    pub grad_evals: usize,
    /// Hessian-vector products the tuner spent this step.
    pub hvp_evals: usize,
    /// Why the step was unusual, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Sharpness λmax at the parameters before the update (measured steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpness: Option<f64>,
    /// `η · λmax` (measured steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_times_sharpness: Option<f64>,
    /// Hessian-vector products spent measuring λmax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpness_hvps: Option<usize>,
    /// Whether the power iteration met its tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpness_converged: Option<bool>,
    /// Accuracy on the training set (evaluated steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    /// Loss on the whole training set (evaluated steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_eval_loss: Option<f64>,
    /// Accuracy on the test set (evaluated steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    /// Loss on the test set (evaluated steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_loss: Option<f64>,
    /// Seconds spent on this step (tuner step, measurements, writing).
    pub step_time_s: f64,
    /// Seconds since the run started (summed over resumptions).
    pub wall_time_s: f64,
}

/// Keeps a finite number, maps NaN and infinities to `None` (`null` in JSON).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Appends step records to `metrics.jsonl`, flushing each line.
pub struct MetricsWriter {
    file: File,
}

impl MetricsWriter {
    /// Creates (truncating) `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { file })
    }

    /// Keeps the records of steps `<= last_step` of an existing file, rewrites it with them,
    /// and opens it for appending. Returns the kept records.
    pub fn resume(path: &Path, last_step: usize) -> Result<(Self, Vec<StepRecord>)> {
        let records: Vec<StepRecord> = read_metrics(path)?
            .into_iter()
            .filter(|r| r.step <= last_step)
            .collect();
        let mut text = String::new();
        for r in &records {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        crate::checkpoint::write_atomically(path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok((Self { file }, records))
    }

    /// Writes one record as a line and flushes it to the OS.
    pub fn write(&mut self, record: &StepRecord) -> Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()?;
        Ok(())
    }
}

/// Reads `metrics.jsonl`; a torn last line (crash while writing) is ignored.
pub fn read_metrics(path: &Path) -> Result<Vec<StepRecord>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<StepRecord>(&line) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// What `summary.json` holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `completed` or `diverged`.
    pub status: String,
    /// Whether the run diverged.
    pub diverged: bool,
    /// The step at which it diverged.
    pub diverged_at_step: Option<usize>,
    /// Why it was stopped as diverged.
    pub divergence_reason: Option<String>,
    /// Steps planned.
    pub steps_planned: usize,
    /// Steps with a record in `metrics.jsonl`.
    pub steps_recorded: usize,
    /// Training loss of the last recorded step.
    pub final_loss: Option<f64>,
    /// Mean training loss over the last 5 recorded steps (the paper's selection criterion).
    pub last5_mean_loss: Option<f64>,
    /// Lowest training loss and its step.
    pub best_loss: Option<f64>,
    /// Step of the lowest training loss.
    pub best_loss_step: Option<usize>,
    /// Initial training loss.
    pub initial_loss: Option<f64>,
    /// Learning rate of the last step.
    pub final_lr: Option<f64>,
    /// Mean learning rate over the run.
    pub mean_lr: Option<f64>,
    /// Last measured sharpness.
    pub final_sharpness: Option<f64>,
    /// Largest measured sharpness.
    pub max_sharpness: Option<f64>,
    /// Last measured `η·λmax`.
    pub final_lr_times_sharpness: Option<f64>,
    /// Last train accuracy evaluated.
    pub final_train_accuracy: Option<f64>,
    /// Last test accuracy evaluated.
    pub final_test_accuracy: Option<f64>,
    /// Best test accuracy evaluated.
    pub best_test_accuracy: Option<f64>,
    /// Last test loss evaluated.
    pub final_test_loss: Option<f64>,
    /// Loss evaluations spent by the tuner, in total.
    pub total_loss_evals: usize,
    /// Gradient evaluations spent by the tuner, in total.
    pub total_grad_evals: usize,
    /// Hessian-vector products spent by the tuner, in total.
    pub total_hvp_evals: usize,
    /// Hessian-vector products spent on sharpness measurements.
    pub total_sharpness_hvps: usize,
    /// Wall time in seconds (summed over resumptions).
    pub total_time_s: f64,
    /// Backend and device.
    pub backend: String,
    /// Number of trainable scalars.
    pub num_parameters: usize,
    /// Training examples used.
    pub train_examples: usize,
    /// Test examples used.
    pub test_examples: usize,
}

/// How a run ended, when it diverged.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// The step.
    pub step: usize,
    /// Why.
    pub reason: String,
}

/// The summary of a run from its records.
pub fn summarize(
    records: &[StepRecord],
    steps_planned: usize,
    divergence: Option<&Divergence>,
) -> Summary {
    let losses: Vec<(usize, f64)> = records
        .iter()
        .filter_map(|r| r.loss.map(|l| (r.step, l)))
        .collect();
    let last5: Vec<f64> = records
        .iter()
        .rev()
        .take(5)
        .map(|r| r.loss.unwrap_or(f64::INFINITY))
        .collect();
    let last5_mean = if last5.is_empty() {
        None
    } else {
        finite(last5.iter().sum::<f64>() / last5.len() as f64)
    };
    let best = losses
        .iter()
        .copied()
        .fold(None::<(usize, f64)>, |acc, (s, l)| match acc {
            Some((_, b)) if b <= l => acc,
            _ => Some((s, l)),
        });
    let lrs: Vec<f64> = records.iter().filter_map(|r| r.lr).collect();
    let last_with = |f: fn(&StepRecord) -> Option<f64>| records.iter().rev().find_map(f);
    Summary {
        status: if divergence.is_some() {
            "diverged"
        } else {
            "completed"
        }
        .into(),
        diverged: divergence.is_some(),
        diverged_at_step: divergence.map(|d| d.step),
        divergence_reason: divergence.map(|d| d.reason.clone()),
        steps_planned,
        steps_recorded: records.len(),
        final_loss: records.last().and_then(|r| r.loss),
        last5_mean_loss: if divergence.is_some() {
            None
        } else {
            last5_mean
        },
        best_loss: best.map(|b| b.1),
        best_loss_step: best.map(|b| b.0),
        initial_loss: records.first().and_then(|r| r.loss),
        final_lr: records.last().and_then(|r| r.lr),
        mean_lr: (!lrs.is_empty()).then(|| lrs.iter().sum::<f64>() / lrs.len() as f64),
        final_sharpness: last_with(|r| r.sharpness),
        max_sharpness: records
            .iter()
            .filter_map(|r| r.sharpness)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x)))),
        final_lr_times_sharpness: last_with(|r| r.lr_times_sharpness),
        final_train_accuracy: last_with(|r| r.train_accuracy),
        final_test_accuracy: last_with(|r| r.test_accuracy),
        best_test_accuracy: records
            .iter()
            .filter_map(|r| r.test_accuracy)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x)))),
        final_test_loss: last_with(|r| r.test_loss),
        total_loss_evals: records.iter().map(|r| r.loss_evals).sum(),
        total_grad_evals: records.iter().map(|r| r.grad_evals).sum(),
        total_hvp_evals: records.iter().map(|r| r.hvp_evals).sum(),
        total_sharpness_hvps: records.iter().filter_map(|r| r.sharpness_hvps).sum(),
        total_time_s: records.last().map_or(0.0, |r| r.wall_time_s),
        ..Summary::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: usize, loss: f64) -> StepRecord {
        StepRecord {
            step,
            loss: finite(loss),
            lr: Some(0.1),
            ..StepRecord::default()
        }
    }

    #[test]
    fn summary_uses_the_mean_of_the_last_five_losses() {
        let records: Vec<StepRecord> = (1..=8).map(|s| rec(s, 10.0 - s as f64)).collect();
        let s = summarize(&records, 8, None);
        assert_eq!(s.last5_mean_loss, Some((6.0 + 5.0 + 4.0 + 3.0 + 2.0) / 5.0));
        assert_eq!(s.best_loss, Some(2.0));
        assert_eq!(s.best_loss_step, Some(8));
        assert_eq!(s.status, "completed");
    }

    #[test]
    fn diverged_runs_have_no_selection_loss() {
        let mut records: Vec<StepRecord> = (1..=3).map(|s| rec(s, 1.0)).collect();
        records.push(rec(4, f64::NAN));
        let d = Divergence {
            step: 4,
            reason: "loss is not finite".into(),
        };
        let s = summarize(&records, 10, Some(&d));
        assert!(s.diverged);
        assert_eq!(s.diverged_at_step, Some(4));
        assert_eq!(s.last5_mean_loss, None);
        let line = serde_json::to_string(&records[3]).unwrap();
        assert!(line.contains("\"loss\":null"), "{line}");
    }

    #[test]
    fn a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        let mut w = MetricsWriter::create(&p).unwrap();
        w.write(&rec(1, 1.0)).unwrap();
        w.write(&rec(2, 0.5)).unwrap();
        drop(w);
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("{\"step\":3,\"lo");
        std::fs::write(&p, text).unwrap();
        assert_eq!(read_metrics(&p).unwrap().len(), 2);
        let (_, kept) = MetricsWriter::resume(&p, 1).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(read_metrics(&p).unwrap().len(), 1);
    }
}
