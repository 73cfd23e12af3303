//! The training loop, generic over the backend `B`: the model lives on
//! `cdat_core::HvpBackend<B>` so that tuners and sharpness get exact Hessian-vector products.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::{AutodiffModule, Module};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use cdat_core::curvature::{parameters, HvpBackend};
use cdat_core::spectrum::{sharpness, PowerIterationConfig};
use cdat_core::tuners::StepError;
use cdat_core::ParamVec;
use cdat_data::BatchSampler;
use cdat_models::ModelConfig;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{BackendJob, Resolved};
use crate::checkpoint::{self, Checkpoint, CheckpointState};
use crate::config::RunConfig;
use crate::data::{evaluate, loss_on, RunData};
use crate::metrics::{finite, summarize, Divergence, MetricsWriter, StepRecord, Summary};
use crate::tuner_setup::{self, TrainModel};

/// Everything a run needs once inputs are checked and the output folder is ready.
pub struct TrainJob<'a> {
    /// The resolved configuration.
    pub config: &'a RunConfig,
    /// The model's full configuration.
    pub model_config: &'a ModelConfig,
    /// The data.
    pub data: &'a RunData,
    /// The output folder.
    pub out_dir: &'a Path,
    /// Continue from the output folder's checkpoint (read and verified by the caller).
    pub resume: Option<ResumeFrom>,
    /// Show the progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

/// A verified checkpoint and the step records up to it: where a resumed run starts.
#[derive(Clone, Debug)]
pub struct ResumeFrom {
    /// The checkpoint (checksum verified).
    pub checkpoint: Checkpoint,
    /// Its `state.json` (configuration hash verified).
    pub state: CheckpointState,
    /// The records of steps `1..=state.step` from `metrics.jsonl`.
    pub records: Vec<StepRecord>,
    /// Their lines, verbatim.
    pub lines: Vec<String>,
}

/// What a finished, diverged or interrupted run reports.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The summary written to `summary.json`.
    pub summary: Summary,
    /// The output folder.
    pub out_dir: PathBuf,
    /// The files of the run in the output folder, as they are at its end (relative paths;
    /// `plots/*` stands for the rendered plots).
    pub files: Vec<String>,
    /// The step of the checkpoint in the folder, if there is one.
    pub checkpoint_step: Option<usize>,
    /// The signal that interrupted the run, if one did.
    pub interrupted_by: Option<i32>,
}

impl BackendJob for TrainJob<'_> {
    type Output = Result<RunResult>;

    fn run<B: Backend>(self, device: B::Device, backend: &Resolved) -> Result<RunResult> {
        train::<B>(self, device, backend)
    }
}

type Recorder_ = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// Steps at which something measured every `every` steps is measured: step 1, every multiple
/// of `every`, and the last step (never when `every` is 0).
pub fn is_measured(step: usize, every: usize, total: usize) -> bool {
    is_regular(step, every) || (every > 0 && step == total)
}

/// Step 1 and every multiple of `every` (never when `every` is 0).
pub fn is_regular(step: usize, every: usize) -> bool {
    every > 0 && (step == 1 || step.is_multiple_of(every))
}

fn train<B: Backend>(
    job: TrainJob<'_>,
    device: B::Device,
    backend: &Resolved,
) -> Result<RunResult> {
    let cfg = job.config;
    let data = job.data;
    HvpBackend::<B>::seed(&device, cfg.seed);
    let mut model = initial_model::<B>(job.model_config, cfg.seed, &device)?;
    let num_parameters = model.num_params();

    let full_batch = cfg.train.batch_size.is_none();
    let sampler = match cfg.train.batch_size {
        Some(bs) => Some(BatchSampler::new(data.train_len(), bs, cfg.seed)?),
        None => None,
    };
    let batches_per_epoch = sampler.as_ref().map_or(1, |s| s.batches_per_epoch());
    let total_steps = cfg.total_steps(batches_per_epoch);
    let mut tuner = tuner_setup::build::<B>(&cfg.tuner, &cfg.optimizer)?;
    tuner.set_curvature_method(cfg.curvature);

    let metrics_path = job.out_dir.join("metrics.jsonl");
    let ckpt_path = job.out_dir.join(checkpoint::FILE_NAME);
    let mut start_step = 0;
    let mut initial_loss: Option<f64> = None;
    let mut elapsed_before = 0.0;
    let mut measurements: u64 = 0;
    let mut eigvec: Option<ParamVec<B>> = None;
    let config_hash = checkpoint::config_hash(cfg)?;
    let config_text = checkpoint::config_identity_text(cfg)?;
    let mut checkpoint_step: Option<usize> = None;
    let (mut writer, mut records) = if let Some(resume) = job.resume {
        let ResumeFrom {
            checkpoint: ckpt,
            state,
            records,
            lines,
        } = resume;
        let record = Recorder_::new()
            .load(
                ckpt.get("model.mpk")
                    .context("checkpoint has no model section")?
                    .to_vec(),
                &device,
            )
            .map_err(|e| anyhow::anyhow!("loading the model from the checkpoint: {e}"))?;
        model = model.load_record(record);
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

    let full = full_batch.then(|| data.train_batch::<HvpBackend<B>>(None, &device));
    let bar = progress_bar(job.progress, total_steps as u64, start_step as u64);
    let power = PowerIterationConfig {
        max_iters: cfg.sharpness.max_iters,
        rel_tol: cfg.sharpness.rel_tol,
    };
    let num_outputs = data.num_outputs();
    let started = Instant::now();
    let mut divergence: Option<Divergence> = None;
    let mut epoch_order: Option<(usize, Vec<usize>)> = None;
    let mut last_sharpness = records.iter().rev().find_map(|r| r.sharpness);
    let mut interrupted_by: Option<i32> = None;
    let mut completed = start_step;
    let checkpoint_state =
        |step: usize,
         initial_loss: Option<f64>,
         measurements: u64,
         eigvec: Option<&ParamVec<B>>| CheckpointState {
            step,
            epoch: step / batches_per_epoch,
            seed: cfg.seed,
            data_order: "ChaCha8(seed, stream = epoch) permutation per epoch; full batch: none"
                .into(),
            initial_loss,
            elapsed_s: elapsed_before + started.elapsed().as_secs_f64(),
            sharpness_measurements: measurements,
            eigvec_lengths: eigvec.map_or(Vec::new(), |v| {
                v.entries().iter().map(|(_, t)| t.dims()[0]).collect()
            }),
            config_hash: config_hash.clone(),
        };

    for step in start_step + 1..=total_steps {
        // A SIGINT/SIGTERM stops the run between steps (the step in progress is finished).
        if let Some(sig) = crate::interrupt::requested() {
            interrupted_by = Some(sig);
            break;
        }
        let step_start = Instant::now();
        let (epoch, batch) = match (&full, &sampler) {
            (Some(b), _) => (step - 1, b.clone()),
            (None, Some(s)) => {
                let epoch = (step - 1) / batches_per_epoch;
                let within = (step - 1) % batches_per_epoch;
                if epoch_order.as_ref().map(|(e, _)| *e) != Some(epoch) {
                    epoch_order = Some((epoch, s.epoch_order(epoch as u64)));
                }
                let order = &epoch_order.as_ref().expect("set above").1;
                let bs = s.batch_size();
                let idx = &order[within * bs..(within + 1) * bs];
                (epoch, data.train_batch::<HvpBackend<B>>(Some(idx), &device))
            }
            (None, None) => unreachable!("either full batch or a sampler"),
        };
        let loss_kind = cfg.loss;
        let loss_fn = move |m: &TrainModel<B>| loss_on(m, &batch, loss_kind, num_outputs);

        let mut record = StepRecord {
            step,
            epoch,
            ..StepRecord::default()
        };
        if is_measured(step, cfg.sharpness.every, total_steps) {
            // Regular measurements (step 1 and multiples of `every`) carry the warm start on;
            // the extra one at the last step leaves it as it was, so that the state after a
            // step does not depend on where the run stops (resumed runs match).
            let regular = is_regular(step, cfg.sharpness.every);
            let start = match &eigvec {
                Some(v) => v.clone(),
                None if regular => {
                    measurements += 1;
                    random_start::<B>(&model, cfg.seed, measurements - 1, &device)
                }
                None => random_start::<B>(&model, cfg.seed, u64::MAX - measurements, &device),
            };
            let pair = sharpness(&model, &loss_fn, Some(start), power);
            record.sharpness = finite(pair.value);
            record.lambda_min = pair.min_value.and_then(finite);
            record.sharpness_hvps = Some(pair.iterations);
            record.sharpness_converged = Some(pair.converged);
            if pair.value.is_finite() {
                last_sharpness = Some(pair.value);
                if regular {
                    eigvec = Some(pair.vector);
                }
            }
        }
        if is_measured(step, cfg.train.eval_every, total_steps) {
            let valid = model.valid();
            let tr = evaluate(
                &valid,
                data,
                false,
                cfg.loss,
                cfg.train.eval_batch_size,
                &device,
            );
            let te = evaluate(
                &valid,
                data,
                true,
                cfg.loss,
                cfg.train.eval_batch_size,
                &device,
            );
            record.train_accuracy = finite(tr.accuracy);
            record.train_eval_loss = finite(tr.loss);
            record.test_accuracy = finite(te.accuracy);
            record.test_loss = finite(te.loss);
        }

        let (next, outcome) = tuner.step(model, &loss_fn);
        model = next;
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
                if step == 1 || initial_loss.is_none() {
                    initial_loss = initial_loss.or(finite(rep.loss));
                }
                if !rep.loss.is_finite() {
                    divergence = Some(Divergence {
                        step,
                        reason: format!("loss is not finite ({})", rep.loss),
                    });
                } else if let Some(l0) = initial_loss {
                    if rep.loss > cfg.train.divergence_factor * l0 {
                        divergence = Some(Divergence {
                            step,
                            reason: format!(
                                "loss {:.4e} exceeds {} × the initial loss {:.4e}",
                                rep.loss, cfg.train.divergence_factor, l0
                            ),
                        });
                    }
                }
            }
            Err(StepError::NonFinite { what, value }) => {
                record.note = Some(format!("step rejected: {what} is not finite ({value})"));
                divergence = Some(Divergence {
                    step,
                    reason: format!("{what} is not finite ({value})"),
                });
            }
        }
        record.step_time_s = step_start.elapsed().as_secs_f64();
        record.wall_time_s = elapsed_before + started.elapsed().as_secs_f64();
        writer.write(&record)?;
        tracing::debug!(step, loss = ?record.loss, lr = ?record.lr, sharpness = ?record.sharpness, "step");
        bar.set_position(step as u64);
        bar.set_message(progress_message(&record, last_sharpness));
        records.push(record);
        if divergence.is_some() {
            break;
        }
        completed = step;
        let every = cfg.output.checkpoint_every;
        if (every > 0 && step % every == 0) || step == total_steps {
            let state = checkpoint_state(step, initial_loss, measurements, eigvec.as_ref());
            save_checkpoint::<B>(
                &ckpt_path,
                &state,
                &config_text,
                &model,
                &tuner,
                eigvec.as_ref(),
            )?;
            checkpoint_step = Some(step);
        }
    }
    if interrupted_by.is_some() && checkpoint_step != Some(completed) && completed > 0 {
        let state = checkpoint_state(completed, initial_loss, measurements, eigvec.as_ref());
        save_checkpoint::<B>(
            &ckpt_path,
            &state,
            &config_text,
            &model,
            &tuner,
            eigvec.as_ref(),
        )?;
        checkpoint_step = Some(completed);
    }
    bar.finish_and_clear();

    let mut summary = summarize(&records, total_steps, divergence.as_ref());
    if let Some(sig) = interrupted_by {
        summary.status = "interrupted".into();
        summary.interrupted_by = Some(crate::interrupt::signal_name(sig));
    }
    summary.backend = backend.describe();
    summary.num_parameters = num_parameters;
    summary.train_examples = data.train_len();
    summary.test_examples = data.test_len();
    checkpoint::write_atomically(
        &job.out_dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if cfg.output.plots {
        crate::plot::render_all(&records, &job.out_dir.join("plots"))?;
    }
    let mut files: Vec<String> = ["config.toml", "model.json", "metrics.jsonl", "summary.json"]
        .iter()
        .filter(|f| job.out_dir.join(f).is_file())
        .map(|f| f.to_string())
        .collect();
    if cfg.output.plots && job.out_dir.join("plots").is_dir() {
        files.push("plots/*.png|svg".into());
    }
    if ckpt_path.is_file() {
        files.push(checkpoint::FILE_NAME.into());
    } else {
        checkpoint_step = None;
    }
    Ok(RunResult {
        summary,
        out_dir: job.out_dir.to_path_buf(),
        files,
        checkpoint_step,
        interrupted_by,
    })
}

/// The model initialized on the CPU backend with `seed` and moved to `B`: the same initial
/// weights on every backend and precision.
fn initial_model<B: Backend>(
    config: &ModelConfig,
    seed: u64,
    device: &B::Device,
) -> Result<TrainModel<B>> {
    type Cpu = burn::backend::NdArray<f32>;
    let cpu = burn::backend::ndarray::NdArrayDevice::Cpu;
    <Cpu as Backend>::seed(&cpu, seed);
    let bytes = Recorder_::new()
        .record(config.init::<Cpu>(&cpu).into_record(), ())
        .map_err(|e| anyhow::anyhow!("recording the initial model: {e}"))?;
    let record = Recorder_::new()
        .load(bytes, device)
        .map_err(|e| anyhow::anyhow!("loading the initial model: {e}"))?;
    Ok(config.init::<HvpBackend<B>>(device).load_record(record))
}

fn save_checkpoint<B: Backend>(
    path: &Path,
    state: &CheckpointState,
    config_text: &str,
    model: &TrainModel<B>,
    tuner: &tuner_setup::BuiltTuner<B>,
    eigvec: Option<&ParamVec<B>>,
) -> Result<()> {
    let mut ckpt = Checkpoint::default();
    ckpt.add("state.json", serde_json::to_vec_pretty(state)?);
    let bytes = Recorder_::new()
        .record(model.clone().into_record(), ())
        .map_err(|e| anyhow::anyhow!("recording the model: {e}"))?;
    ckpt.add("model.mpk", bytes);
    ckpt.add("tuner.bin", tuner.save_state()?);
    if let Some(v) = eigvec {
        ckpt.add("eigvec.f64", checkpoint::f64s_to_bytes(&vec_to_host(v)));
    }
    ckpt.add("config.toml", config_text.as_bytes().to_vec());
    ckpt.save(path)
}

/// The entries of a parameter-space vector, concatenated in module order, as f64.
fn vec_to_host<B: Backend>(v: &ParamVec<B>) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.num_elements());
    for (_, t) in v.entries() {
        let data = t.clone().into_data().convert::<f64>();
        out.extend(data.iter::<f64>());
    }
    out
}

/// A parameter-space vector shaped like `model`'s parameters from concatenated values.
fn vec_from_host<B: Backend>(
    model: &TrainModel<B>,
    values: &[f64],
    device: &B::Device,
) -> Result<ParamVec<B>> {
    let template = parameters(model);
    anyhow::ensure!(
        template.num_elements() == values.len(),
        "checkpoint eigenvector has {} entries, the model {}",
        values.len(),
        template.num_elements()
    );
    let mut pos = 0;
    let entries = template
        .entries()
        .iter()
        .map(|(id, t)| {
            let n = t.dims()[0];
            let piece = values[pos..pos + n].to_vec();
            pos += n;
            (
                *id,
                Tensor::<B, 1>::from_data(TensorData::new(piece, [n]), device),
            )
        })
        .collect();
    Ok(ParamVec::from_entries(entries))
}

/// A standard normal start vector for the power iteration, drawn from ChaCha8(seed) on a
/// stream given by the measurement's index: independent of the backend's RNG state, so a
/// resumed run draws the same vectors as an uninterrupted one.
fn random_start<B: Backend>(
    model: &TrainModel<B>,
    seed: u64,
    index: u64,
    device: &B::Device,
) -> ParamVec<B> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5348_4152_504E_4553);
    rng.set_stream(index);
    let n = parameters(model).num_elements();
    let mut values = Vec::with_capacity(n);
    while values.len() < n {
        // Box–Muller.
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        values.push(r * (std::f64::consts::TAU * u2).cos());
        values.push(r * (std::f64::consts::TAU * u2).sin());
    }
    values.truncate(n);
    vec_from_host::<B>(model, &values, device).expect("lengths match by construction")
}

fn progress_bar(show: bool, total: u64, position: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.set_position(position);
    bar
}

fn progress_message(r: &StepRecord, last_sharpness: Option<f64>) -> String {
    let f = |x: Option<f64>| x.map_or("nan".to_string(), |v| format!("{v:.4}"));
    let s = last_sharpness.map_or("-".to_string(), |v| format!("{v:.2}"));
    format!(
        "loss {} η {} λmax {}",
        f(r.loss),
        r.lr.map_or("nan".into(), |v| format!("{v:.3e}")),
        s
    )
}
