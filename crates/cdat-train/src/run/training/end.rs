//! How a run ends: [`Training::finish`] after its last step, a divergence or a signal (final
//! checkpoint, summary, plots), and [`Training::fail`] after an error such as a full disk (no
//! temporary file left, the last checkpoint kept, a `failed` summary with the error).
//!
//! The order protects what cannot be redone: metrics and checkpoint are on disk before the
//! summary, and the summary before the plots, whose failure (a font, an encoder, the disk) is
//! reported and recorded but loses nothing.

use anyhow::{anyhow, Result};
use burn::tensor::backend::Backend;

use super::job::RunResult;
use super::state::Training;
use crate::run::backend::Resolved;
use crate::run::checkpoint;
use crate::run::interrupt;
use crate::run::metrics::{summarize, Summary};
use crate::run::plots;

impl<B: Backend> Training<'_, B> {
    /// Ends the run: a checkpoint of the last completed step when a signal stopped it, then
    /// `summary.json` and the plots.
    pub fn finish(&mut self, backend: &Resolved) -> Result<RunResult> {
        if self.interrupted_by.is_some()
            && self.checkpoint_step != Some(self.completed)
            && self.completed > 0
        {
            self.save_checkpoint(self.completed)?;
        }
        self.bar.finish_and_clear();

        let out_dir = self.out_dir;
        let mut summary = self.summary(backend);
        if let Some(sig) = self.interrupted_by {
            summary.status = "interrupted".into();
            summary.interrupted_by = Some(interrupt::signal_name(sig));
        }
        self.reserve.release();
        write_summary(out_dir, &summary)?;
        let plots = self.cfg.output.plots;
        if plots {
            if let Err(e) = draw_plots(&self.records, &out_dir.join("plots")) {
                let e = format!("{e:#}");
                eprintln!(
                    "warning: the plots of {} were not drawn: {e}; metrics.jsonl, summary.json \
                     and the checkpoint are complete",
                    out_dir.display()
                );
                summary.plots_error = Some(e);
                if let Err(e) = write_summary(out_dir, &summary) {
                    eprintln!("warning: summary.json could not record the plot error: {e:#}");
                }
            }
        }
        let mut files: Vec<String> = ["config.toml", "model.json", "metrics.jsonl", "summary.json"]
            .iter()
            .filter(|f| out_dir.join(f).is_file())
            .map(|f| f.to_string())
            .collect();
        if plots && summary.plots_error.is_none() && out_dir.join("plots").is_dir() {
            files.push("plots/*.png|svg".into());
        }
        let mut checkpoint_step = self.checkpoint_step;
        if self.ckpt_path.is_file() {
            files.push(checkpoint::FILE_NAME.into());
        } else {
            checkpoint_step = None;
        }
        Ok(RunResult {
            summary,
            out_dir: out_dir.to_path_buf(),
            files,
            checkpoint_step,
            interrupted_by: self.interrupted_by,
        })
    }

    /// Ends a run that `err` stopped: removes the temporary files this process left in the
    /// folder, keeps the last checkpoint (checkpoints are replaced atomically, so it is valid),
    /// frees the reserve and writes `summary.json` with status `failed` and the error (or says
    /// on stderr why it could not). Returns `err` with what was kept and how to continue.
    pub fn fail(&mut self, err: anyhow::Error, backend: &Resolved) -> anyhow::Error {
        self.bar.abandon();
        let out_dir = self.out_dir;
        let removed = checkpoint::remove_own_temp_files(out_dir);
        self.reserve.release();
        let mut summary = self.summary(backend);
        summary.status = "failed".into();
        summary.error = Some(format!("{err:#}"));
        let summary_note = match write_summary(out_dir, &summary) {
            Ok(()) => "summary.json says `failed`".to_string(),
            Err(e) => {
                eprintln!(
                    "error: summary.json could not be written either ({e:#}); the run's records \
                     are in metrics.jsonl"
                );
                "no summary.json could be written".to_string()
            }
        };
        let records = match self.records.len() {
            0 => "metrics.jsonl holds no step".to_string(),
            n => format!("metrics.jsonl holds steps 1-{n}"),
        };
        let (kept, resume) = match self.checkpoint_step.filter(|_| self.ckpt_path.is_file()) {
            Some(step) => (
                format!("checkpoint.ckpt of step {step} kept"),
                format!("continues from step {step}"),
            ),
            None => (
                "no checkpoint yet".to_string(),
                "starts it over from step 0".to_string(),
            ),
        };
        let cleaned = if removed.is_empty() {
            String::new()
        } else {
            format!("; temporary file(s) removed: {}", removed.join(", "))
        };
        err.context(format!(
            "the run in {} failed after step {} ({records}; {kept}; {summary_note}{cleaned}); \
             once the cause is fixed, the same options with --resume --out {} {resume}",
            out_dir.display(),
            self.completed,
            out_dir.display()
        ))
    }

    /// The summary of the records so far, with the run's backend, size and data.
    fn summary(&self, backend: &Resolved) -> Summary {
        let mut summary = summarize(
            &self.records,
            self.schedule.total_steps,
            self.divergence.as_ref(),
        );
        summary.backend = backend.describe();
        summary.num_parameters = self.num_parameters;
        summary.train_examples = self.data.train_len();
        summary.test_examples = self.data.test_len();
        summary
    }
}

fn write_summary(out_dir: &std::path::Path, summary: &Summary) -> Result<()> {
    checkpoint::write_atomically(
        &out_dir.join("summary.json"),
        serde_json::to_string_pretty(summary)?.as_bytes(),
    )
}

/// The run's plots; a panic in the drawing code is an error like any other.
fn draw_plots(records: &[crate::run::metrics::StepRecord], dir: &std::path::Path) -> Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        plots::render_run_plots(records, dir)
    }))
    .unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        Err(anyhow!("drawing failed: {what}"))
    })
}
