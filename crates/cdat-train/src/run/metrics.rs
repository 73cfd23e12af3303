//! `metrics.jsonl` (one line per step, flushed every step) and `summary.json`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::run::error::UserError;

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
    /// Whether the sharpness measurement met its tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpness_converged: Option<bool>,
    /// Estimate of λmin, the smallest Hessian eigenvalue, from the sharpness measurement's
    /// Krylov space (the smallest Ritz value: an upper bound on λmin, not itself checked for
    /// convergence; measured steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_min: Option<f64>,
    /// Curvature along the gradient, `gᵀHg / ‖g‖²`, at the parameters before the update
    /// (measured steps only): for GD the curvature along the step, which the edge of
    /// stability puts at 2/η (see experiments/notes/c3-edge-of-stability.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_curvature: Option<f64>,
    /// Alignment of the gradient with the top eigenvector `v` of the Hessian,
    /// `(gᵀv)² / (‖g‖² ‖v‖²)` in [0, 1] (measured steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_alignment: Option<f64>,
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

    /// Rewrites `path` with `lines` (the lines of the steps up to the checkpoint, verbatim, as
    /// [`records_for_resume`] read them) and opens it for appending.
    pub fn resume(path: &Path, lines: &[String]) -> Result<Self> {
        let mut text = String::new();
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        crate::run::checkpoint::write_atomically(path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { file })
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

/// The records a resumed run continues from.
#[derive(Clone, Debug, PartialEq)]
pub struct ResumeRecords {
    /// The records of steps `1..=checkpoint step`, in order.
    pub records: Vec<StepRecord>,
    /// Their lines, verbatim (rewritten as they were, not re-serialized).
    pub lines: Vec<String>,
    /// Lines after them (steps past the checkpoint, written before the run stopped, and a
    /// torn last line); they are dropped and the steps redone from the checkpoint.
    pub dropped_lines: usize,
}

/// Reads `metrics.jsonl` for a run resumed from a checkpoint taken after `last_step`: it must
/// hold one valid record for each step `1..=last_step`, in order. Lines after those (steps
/// the run made after its last checkpoint, and a last line torn by a crash) are counted in
/// [`ResumeRecords::dropped_lines`]. Anything else (an unreadable, repeated or out-of-order
/// line among the first `last_step` records, or a file that ends before `last_step`) is an
/// error naming the file, the line and the steps concerned: resuming would lose or misplace
/// records. The file is not modified.
pub fn records_for_resume(path: &Path, last_step: usize) -> Result<ResumeRecords> {
    let user = |m: String| -> anyhow::Error { UserError::new(m).into() };
    let shown = path.display();
    let advice = "nothing was changed; restore the file (or the lines) from a copy, or start the \
                  run over with --force instead of --resume";
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(user(format!(
                "--resume: `{shown}` is missing, but the checkpoint is at step {last_step}: the \
                 step records of the run are gone; {advice}"
            )))
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {shown}"))),
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut records: Vec<StepRecord> = Vec::with_capacity(last_step);
    let mut line_of_step: Vec<usize> = Vec::with_capacity(last_step);
    let mut kept_lines: Vec<String> = Vec::with_capacity(last_step);
    let mut dropped = 0;
    for (i, raw) in lines.iter().enumerate() {
        let number = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let complete = records.len() == last_step;
        let torn = i + 1 == lines.len() && !raw.ends_with('\n');
        match serde_json::from_str::<StepRecord>(line) {
            _ if complete => dropped += 1,
            Ok(r) => {
                let expected = records.len() + 1;
                if r.step == expected {
                    records.push(r);
                    line_of_step.push(number);
                    kept_lines.push(line.to_string());
                } else if r.step < expected {
                    let first = r
                        .step
                        .checked_sub(1)
                        .and_then(|k| line_of_step.get(k))
                        .map_or(String::new(), |l| format!(" (first on line {l})"));
                    return Err(user(format!(
                        "--resume: `{shown}` line {number} repeats the record of step {}{first}: \
                         the file mixes records of two runs or was edited; {advice}",
                        r.step
                    )));
                } else {
                    return Err(user(format!(
                        "--resume: `{shown}` line {number} holds step {} but the records of \
                         {} are missing (the checkpoint is at step {last_step}); {advice}",
                        r.step,
                        step_range(expected, r.step - 1)
                    )));
                }
            }
            Err(e) => {
                let what = if torn {
                    "is cut short (torn by a crash or a full disk)".to_string()
                } else {
                    format!("is not a valid step record ({e})")
                };
                return Err(user(format!(
                    "--resume: `{shown}` line {number} {what}, and it comes before the record \
                     of step {} (the checkpoint is at step {last_step}): resuming would lose the \
                     records of {}; {advice}",
                    records.len() + 1,
                    step_range(records.len() + 1, last_step)
                )));
            }
        }
    }
    if records.len() < last_step {
        let after = line_of_step
            .last()
            .map_or("it holds no step record".to_string(), |l| {
                format!("its last record is step {} (line {l})", records.len())
            });
        return Err(user(format!(
            "--resume: `{shown}` is incomplete: the checkpoint is at step {last_step} but {after}; \
             the records of {} are missing; {advice}",
            step_range(records.len() + 1, last_step)
        )));
    }
    Ok(ResumeRecords {
        records,
        lines: kept_lines,
        dropped_lines: dropped,
    })
}

/// `step 4` or `steps 4-9`.
fn step_range(from: usize, to: usize) -> String {
    if from >= to {
        format!("step {from}")
    } else {
        format!("steps {from}-{to}")
    }
}

/// Reads `metrics.jsonl` (or its gzip-compressed form, a path ending in `.gz`). A torn last
/// line (a crash while writing it) is ignored; any other line that is not a step record is an
/// error naming the file and the line.
pub fn read_metrics(path: &Path) -> Result<Vec<StepRecord>> {
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(file), &mut text)
            .with_context(|| format!("decompressing {}", path.display()))?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<StepRecord>(line) {
            Ok(r) => out.push(r),
            Err(_) if i + 1 == lines.len() && !raw.ends_with('\n') => break,
            Err(e) => {
                return Err(UserError::new(format!(
                    "`{}` line {}: not a valid step record ({e})",
                    path.display(),
                    i + 1
                ))
                .into())
            }
        }
    }
    Ok(out)
}

/// The `summary.json` of the run in `dir` when the run ended (completed or diverged), `None`
/// when it is missing, unreadable, or says the run was interrupted or failed.
pub fn finished_summary(dir: &Path) -> Option<Summary> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str::<Summary>(&text)
        .ok()
        .filter(|s| s.status != "interrupted" && s.status != "failed")
}

/// What `summary.json` holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `completed`, `diverged`, `interrupted` (stopped by SIGINT/SIGTERM before the last
    /// step; `--resume` continues it) or `failed` (stopped by an error such as a full disk;
    /// `--resume` continues it from its last checkpoint, or from step 0 when it has none).
    pub status: String,
    /// The signal that interrupted the run (`SIGINT`, `SIGTERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// The error that stopped a `failed` run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the plots were not drawn (the run, its records and checkpoint are complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plots_error: Option<String>,
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
mod tests;
