//! What [`Training`] does within a step: the next batch, the sharpness measurement, the
//! evaluation, the tuner's step with the divergence check, and the step's record.

use std::time::Instant;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use cdat_core::curvature::{gradient, hvp, HvpBackend};
use cdat_core::spectrum::sharpness;
use cdat_core::tuners::{LossFn, StepError};

use super::progress::progress_message;
use super::state::{Batches, Training};
use super::weights::random_start;
use crate::run::data::{evaluate, Batch};
use crate::run::metrics::{finite, Divergence, StepRecord};
use crate::run::tuner_setup::TrainModel;

impl<B: Backend> Training<'_, B> {
    /// The epoch of `step` and its batch.
    pub fn next_batch(&mut self, step: usize) -> (usize, Batch<HvpBackend<B>>) {
        match &mut self.batches {
            Batches::Full(b) => (step - 1, b.clone()),
            Batches::Mini {
                sampler,
                epoch_order,
            } => {
                let epoch = (step - 1) / self.batches_per_epoch;
                let within = (step - 1) % self.batches_per_epoch;
                if epoch_order.as_ref().map(|(e, _)| *e) != Some(epoch) {
                    *epoch_order = Some((epoch, sampler.epoch_order(epoch as u64)));
                }
                let order = &epoch_order.as_ref().expect("set above").1;
                let bs = sampler.batch_size();
                let idx = &order[within * bs..(within + 1) * bs];
                (
                    epoch,
                    self.data
                        .train_batch::<HvpBackend<B>>(Some(idx), &self.device),
                )
            }
        }
    }

    /// Measures λmax (and λmin) into `record` when the schedule says so, warm-started from the
    /// last regular measurement's eigenvector.
    pub fn measure(
        &mut self,
        step: usize,
        loss_fn: &LossFn<'_, B, TrainModel<B>>,
        record: &mut StepRecord,
    ) {
        let Some(due) = self.schedule.sharpness(step) else {
            return;
        };
        let model = self
            .model
            .as_ref()
            .expect("the model is back after each step");
        let seed = self.cfg.seed;
        let start = match &self.eigvec {
            Some(v) => v.clone(),
            None if due.regular => {
                self.measurements += 1;
                random_start::<B>(model, seed, self.measurements - 1, &self.device)
            }
            None => random_start::<B>(model, seed, u64::MAX - self.measurements, &self.device),
        };
        let pair = sharpness(model, loss_fn, Some(start), self.power);
        record.sharpness = finite(pair.value);
        record.lambda_min = pair.min_value.and_then(finite);
        record.sharpness_hvps = Some(pair.iterations);
        record.sharpness_converged = Some(pair.converged);
        // The gradient against the top eigenvector: one gradient and one HVP.
        let (_, g) = gradient(model, loss_fn);
        let (gg, vv) = (g.norm_sq(), pair.vector.norm_sq());
        if gg > 0.0 && vv > 0.0 {
            record.grad_curvature = finite(g.dot(&hvp(model, loss_fn, &g).hv) / gg);
            record.grad_alignment = finite(g.dot(&pair.vector).powi(2) / (gg * vv));
        }
        if pair.value.is_finite() {
            self.last_sharpness = Some(pair.value);
            if due.regular {
                self.eigvec = Some(pair.vector);
            }
        }
    }

    /// Train and test accuracy and loss into `record` when the schedule says so.
    pub fn evaluate(&self, step: usize, record: &mut StepRecord) {
        if !self.schedule.evaluates(step) {
            return;
        }
        let cfg = self.cfg;
        let valid = self.model().valid();
        let tr = evaluate(
            &valid,
            self.data,
            false,
            cfg.loss,
            cfg.train.eval_batch_size,
            &self.device,
        );
        let te = evaluate(
            &valid,
            self.data,
            true,
            cfg.loss,
            cfg.train.eval_batch_size,
            &self.device,
        );
        record.train_accuracy = finite(tr.accuracy);
        record.train_eval_loss = finite(tr.loss);
        record.test_accuracy = finite(te.accuracy);
        record.test_loss = finite(te.loss);
    }

    /// The tuner's step, its report into `record`, and the divergence check: a non-finite
    /// loss or step, or a loss above `divergence_factor` × the initial loss.
    pub fn step(
        &mut self,
        step: usize,
        loss_fn: &LossFn<'_, B, TrainModel<B>>,
        record: &mut StepRecord,
    ) {
        let model = self
            .model
            .take()
            .expect("the model is back after each step");
        let (next, outcome) = self.tuner.step(model, loss_fn);
        self.model = Some(next);
        match outcome {
            Ok(rep) => {
                record.loss = finite(rep.loss);
                record.lr = finite(rep.lr);
                record.slope = finite(rep.slope);
                record.curvature = rep.curvature.and_then(finite);
                record.grad_norm = finite(rep.grad_norm);
                record.dir_norm = finite(rep.dir_norm);
                record.loss_evals = rep.loss_evals;
                record.grad_evals = rep.grad_evals;
                record.hvp_evals = rep.hvp_evals;
                record.note = rep.note.clone();
                if record.sharpness.is_none() {
                    // The `sharpness` tuner measures λmax itself.
                    record.sharpness = rep.sharpness.and_then(finite);
                }
                if let (Some(s), Some(lr)) = (record.sharpness, record.lr) {
                    record.lr_times_sharpness = Some(s * lr);
                }
                if step == 1 || self.initial_loss.is_none() {
                    self.initial_loss = self.initial_loss.or(finite(rep.loss));
                }
                let factor = self.cfg.train.divergence_factor;
                if !rep.loss.is_finite() {
                    self.divergence = Some(Divergence {
                        step,
                        reason: format!("loss is not finite ({})", rep.loss),
                    });
                } else if let Some(l0) = self.initial_loss {
                    if rep.loss > factor * l0 {
                        self.divergence = Some(Divergence {
                            step,
                            reason: format!(
                                "loss {:.4e} exceeds {} × the initial loss {:.4e}",
                                rep.loss, factor, l0
                            ),
                        });
                    }
                }
            }
            Err(StepError::NonFinite { what, value }) => {
                record.note = Some(format!("step rejected: {what} is not finite ({value})"));
                self.divergence = Some(Divergence {
                    step,
                    reason: format!("{what} is not finite ({value})"),
                });
            }
        }
    }

    /// Times `record` (the step began at `step_start`), appends it to `metrics.jsonl` and the
    /// records, and moves the progress bar.
    pub fn record(&mut self, step_start: Instant, mut record: StepRecord) -> Result<()> {
        record.step_time_s = step_start.elapsed().as_secs_f64();
        record.wall_time_s = self.elapsed_before + self.started.elapsed().as_secs_f64();
        self.writer.write(&record)?;
        tracing::debug!(step = record.step, loss = ?record.loss, lr = ?record.lr, sharpness = ?record.sharpness, "step");
        self.bar.set_position(record.step as u64);
        self.bar
            .set_message(progress_message(&record, self.last_sharpness));
        self.records.push(record);
        Ok(())
    }
}
