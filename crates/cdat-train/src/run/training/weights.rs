//! The model's weights and parameter-space vectors on the host: the initial model (the same
//! on every backend), weights to and from checkpoint bytes, vectors to and from `f64`s, and
//! the seeded start vectors of the sharpness measurements.

use anyhow::Result;
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use cdat_core::curvature::{parameters, HvpBackend};
use cdat_core::ParamVec;
use cdat_models::ModelConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::run::tuner_setup::TrainModel;

type Recorder_ = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// The model initialized on the CPU backend with `seed` and moved to `B`: the same initial
/// weights on every backend and precision.
pub fn initial_model<B: Backend>(
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

/// `model` with the weights of a checkpoint's `model.mpk`.
pub fn load_weights<B: Backend>(
    model: TrainModel<B>,
    bytes: &[u8],
    device: &B::Device,
) -> Result<TrainModel<B>> {
    let record = Recorder_::new()
        .load(bytes.to_vec(), device)
        .map_err(|e| anyhow::anyhow!("loading the model from the checkpoint: {e}"))?;
    Ok(model.load_record(record))
}

/// The weights of `model` as a checkpoint's `model.mpk`.
pub fn weights_bytes<B: Backend>(model: &TrainModel<B>) -> Result<Vec<u8>> {
    Recorder_::new()
        .record(model.clone().into_record(), ())
        .map_err(|e| anyhow::anyhow!("recording the model: {e}"))
}

/// The entries of a parameter-space vector, concatenated in module order, as f64.
pub fn vec_to_host<B: Backend>(v: &ParamVec<B>) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.num_elements());
    for (_, t) in v.entries() {
        let data = t.clone().into_data().convert::<f64>();
        out.extend(data.iter::<f64>());
    }
    out
}

/// A parameter-space vector shaped like `model`'s parameters from concatenated values.
pub fn vec_from_host<B: Backend>(
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
pub fn random_start<B: Backend>(
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
