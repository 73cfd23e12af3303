//! The training loop, generic over the backend `B`: the model lives on
//! `cdat_core::HvpBackend<B>` so that tuners and sharpness get exact Hessian-vector products.
//!
//! [`train`] is the loop; the run's state and what happens within a step are [`Training`]'s
//! (`state`, `step`, `end`), when to measure, evaluate and checkpoint is the [`schedule`]'s, so these
//! policies change without editing the loop.

mod end;
pub mod job;
mod progress;
pub mod schedule;
mod state;
mod step;
mod weights;

use std::time::Instant;

use anyhow::Result;
use burn::tensor::backend::Backend;

use self::job::{RunResult, TrainJob};
use self::state::Training;
use crate::run::backend::{BackendJob, Resolved};
use crate::run::data::loss_on;
use crate::run::interrupt;
use crate::run::metrics::StepRecord;
use crate::run::tuner_setup::TrainModel;

impl BackendJob for TrainJob<'_> {
    type Output = Result<RunResult>;

    fn run<B: Backend>(self, device: B::Device, backend: &Resolved) -> Result<RunResult> {
        train::<B>(self, device, backend)
    }
}

/// Trains `job` on `B`: steps until the end, a divergence or a signal, then writes the summary;
/// an error (a full disk) ends it as [`Training::fail`] says.
fn train<B: Backend>(
    job: TrainJob<'_>,
    device: B::Device,
    backend: &Resolved,
) -> Result<RunResult> {
    let mut training = Training::<B>::start(job, device)?;
    let ended = steps(&mut training).and_then(|()| training.finish(backend));
    ended.map_err(|e| training.fail(e, backend))
}

/// The steps of the run, until its end, a divergence or a signal.
fn steps<B: Backend>(training: &mut Training<'_, B>) -> Result<()> {
    let (loss_kind, num_outputs) = (training.cfg.loss, training.data.num_outputs());
    for step in training.steps() {
        // A SIGINT/SIGTERM stops the run between steps (the step in progress is finished).
        if let Some(sig) = interrupt::requested() {
            training.interrupt(sig);
            break;
        }
        let step_start = Instant::now();
        let (epoch, batch) = training.next_batch(step);
        let loss_fn = move |m: &TrainModel<B>| loss_on(m, &batch, loss_kind, num_outputs);
        let mut record = StepRecord {
            step,
            epoch,
            ..StepRecord::default()
        };
        training.measure(step, &loss_fn, &mut record);
        training.evaluate(step, &mut record);
        training.step(step, &loss_fn, &mut record);
        training.record(step_start, record)?;
        if training.diverged() {
            break;
        }
        training.complete(step)?;
    }
    Ok(())
}
