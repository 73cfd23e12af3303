//! [`Training`]: the state of a run between two steps (model, tuner, data order, records,
//! sharpness warm start, checkpoint bookkeeping) and how it starts, fresh or resumed from a
//! checkpoint (how it ends is `end`'s).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::backend::Backend;
use cdat_core::curvature::HvpBackend;
use cdat_core::spectrum::PowerIterationConfig;
use cdat_core::ParamVec;
use cdat_data::BatchSampler;
use indicatif::ProgressBar;

use super::job::{ResumeFrom, TrainJob};
use super::progress::progress_bar;
use super::schedule::Schedule;
use super::weights::{initial_model, load_weights, vec_from_host, vec_to_host, weights_bytes};
use crate::run::checkpoint::{self, Checkpoint, CheckpointState};
use crate::run::config::RunConfig;
use crate::run::data::{Batch, RunData};
use crate::run::metrics::{Divergence, MetricsWriter, StepRecord};
use crate::run::reserve::Reserve;
use crate::run::tuner_setup::{self, BuiltTuner, TrainModel};

/// Where the batches come from.
pub(super) enum Batches<B: Backend> {
    /// The whole training set, every step.
    Full(Batch<HvpBackend<B>>),
    /// Mini-batches in a seeded order per epoch (the order of the current epoch is kept).
    Mini {
        sampler: BatchSampler,
        epoch_order: Option<(usize, Vec<usize>)>,
    },
}

/// A run in progress.
pub struct Training<'a, B: Backend> {
    pub(super) cfg: &'a RunConfig,
    pub(super) data: &'a RunData,
    pub(super) out_dir: &'a Path,
    pub(super) device: B::Device,
    /// When to measure, evaluate and checkpoint.
    pub(super) schedule: Schedule,
    /// The model; `None` only while the tuner steps it.
    pub(super) model: Option<TrainModel<B>>,
    pub(super) tuner: BuiltTuner<B>,
    pub(super) batches: Batches<B>,
    pub(super) batches_per_epoch: usize,
    pub(super) num_parameters: usize,
    pub(super) power: PowerIterationConfig,
    pub(super) writer: MetricsWriter,
    pub(super) records: Vec<StepRecord>,
    /// The last step done before this process (0 for a fresh run).
    pub(super) start_step: usize,
    pub(super) initial_loss: Option<f64>,
    /// Training time of the steps before this process.
    pub(super) elapsed_before: f64,
    pub(super) started: Instant,
    /// Regular sharpness measurements started from a random vector so far.
    pub(super) measurements: u64,
    /// The warm start of the next sharpness measurement.
    pub(super) eigvec: Option<ParamVec<B>>,
    pub(super) last_sharpness: Option<f64>,
    pub(super) bar: ProgressBar,
    pub(super) ckpt_path: PathBuf,
    config_hash: String,
    config_text: String,
    /// The step of the checkpoint in the folder.
    pub(super) checkpoint_step: Option<usize>,
    /// The last step completed (written and not diverged).
    pub(super) completed: usize,
    pub(super) divergence: Option<Divergence>,
    pub(super) interrupted_by: Option<i32>,
    /// Room for `summary.json` on a full disk.
    pub(super) reserve: Reserve,
}

impl<'a, B: Backend> Training<'a, B> {
    /// The initial model, tuner and data order, or those of the checkpoint of `job.resume`;
    /// opens `metrics.jsonl` (created, or rewritten with the records up to the checkpoint).
    pub fn start(job: TrainJob<'a>, device: B::Device) -> Result<Self> {
        let cfg = job.config;
        let data = job.data;
        HvpBackend::<B>::seed(&device, cfg.seed);
        let mut model = initial_model::<B>(job.model_config, cfg.seed, &device)?;
        let num_parameters = model.num_params();

        let sampler = match cfg.train.batch_size {
            Some(bs) => Some(BatchSampler::new(data.train_len(), bs, cfg.seed)?),
            None => None,
        };
        let batches_per_epoch = sampler.as_ref().map_or(1, |s| s.batches_per_epoch());
        let total_steps = cfg.total_steps(batches_per_epoch);
        let mut tuner = tuner_setup::build::<B>(&cfg.tuner, &cfg.optimizer)?;
        tuner.set_curvature_method(cfg.curvature);

        let reserve = Reserve::take(job.out_dir)?;
        let metrics_path = job.out_dir.join("metrics.jsonl");
        let config_hash = checkpoint::config_hash(cfg)?;
        let config_text = checkpoint::config_identity_text(cfg)?;
        let mut start_step = 0;
        let mut initial_loss: Option<f64> = None;
        let mut elapsed_before = 0.0;
        let mut measurements: u64 = 0;
        let mut eigvec: Option<ParamVec<B>> = None;
        let mut checkpoint_step: Option<usize> = None;
        let (writer, records) = if let Some(resume) = job.resume {
            let ResumeFrom {
                checkpoint: ckpt,
                state,
                records,
                lines,
            } = resume;
            let weights = ckpt
                .get("model.mpk")
                .context("checkpoint has no model section")?;
            model = load_weights::<B>(model, weights, &device)?;
            tuner.load_state(ckpt.get("tuner.bin").unwrap_or(&[]))?;
            if let Some(bytes) = ckpt.get("eigvec.f64") {
                eigvec = Some(vec_from_host::<B>(
                    &model,
                    &checkpoint::bytes_to_f64s(bytes)?,
                    &device,
                )?);
            }
            start_step = state.step;
            initial_loss = state.initial_loss;
            elapsed_before = state.elapsed_s;
            measurements = state.sharpness_measurements;
            checkpoint_step = Some(start_step);
            (MetricsWriter::resume(&metrics_path, &lines)?, records)
        } else {
            (MetricsWriter::create(&metrics_path)?, Vec::new())
        };

        let batches = match sampler {
            None => Batches::Full(data.train_batch::<HvpBackend<B>>(None, &device)),
            Some(sampler) => Batches::Mini {
                sampler,
                epoch_order: None,
            },
        };
        let bar = progress_bar(job.progress, total_steps as u64, start_step as u64);
        let last_sharpness = records.iter().rev().find_map(|r| r.sharpness);
        Ok(Self {
            cfg,
            data,
            out_dir: job.out_dir,
            schedule: Schedule::new(cfg, total_steps),
            model: Some(model),
            tuner,
            batches,
            batches_per_epoch,
            num_parameters,
            power: PowerIterationConfig {
                max_iters: cfg.sharpness.max_iters,
                rel_tol: cfg.sharpness.rel_tol,
            },
            writer,
            records,
            start_step,
            initial_loss,
            elapsed_before,
            started: Instant::now(),
            measurements,
            eigvec,
            last_sharpness,
            bar,
            ckpt_path: job.out_dir.join(checkpoint::FILE_NAME),
            config_hash,
            config_text,
            checkpoint_step,
            completed: start_step,
            divergence: None,
            interrupted_by: None,
            reserve,
            device,
        })
    }

    /// The steps this process runs (if nothing stops it first).
    pub fn steps(&self) -> std::ops::RangeInclusive<usize> {
        self.start_step + 1..=self.schedule.total_steps
    }

    /// The model between steps.
    pub(super) fn model(&self) -> &TrainModel<B> {
        self.model
            .as_ref()
            .expect("the model is back after each step")
    }

    /// Stops before the next step because of signal `signal`.
    pub fn interrupt(&mut self, signal: i32) {
        self.interrupted_by = Some(signal);
    }

    /// Whether the last step diverged (the run stops).
    pub fn diverged(&self) -> bool {
        self.divergence.is_some()
    }

    /// `step` is done: writes a checkpoint when the schedule says so.
    pub fn complete(&mut self, step: usize) -> Result<()> {
        self.completed = step;
        if self.schedule.checkpoints(step) {
            self.save_checkpoint(step)?;
        }
        Ok(())
    }

    /// Writes `checkpoint.ckpt` for the state after `step`.
    pub(super) fn save_checkpoint(&mut self, step: usize) -> Result<()> {
        let state = CheckpointState {
            step,
            epoch: step / self.batches_per_epoch,
            seed: self.cfg.seed,
            data_order: "ChaCha8(seed, stream = epoch) permutation per epoch; full batch: none"
                .into(),
            initial_loss: self.initial_loss,
            elapsed_s: self.elapsed_before + self.started.elapsed().as_secs_f64(),
            sharpness_measurements: self.measurements,
            eigvec_lengths: self.eigvec.as_ref().map_or(Vec::new(), |v| {
                v.entries().iter().map(|(_, t)| t.dims()[0]).collect()
            }),
            config_hash: self.config_hash.clone(),
        };
        let mut ckpt = Checkpoint::default();
        ckpt.add("state.json", serde_json::to_vec_pretty(&state)?);
        ckpt.add("model.mpk", weights_bytes::<B>(self.model())?);
        ckpt.add("tuner.bin", self.tuner.save_state()?);
        if let Some(v) = &self.eigvec {
            ckpt.add("eigvec.f64", checkpoint::f64s_to_bytes(&vec_to_host(v)));
        }
        ckpt.add("config.toml", self.config_text.as_bytes().to_vec());
        ckpt.save(&self.ckpt_path)?;
        self.checkpoint_step = Some(step);
        Ok(())
    }
}
