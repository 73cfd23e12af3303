//! The one place where the trainer meets the tuners of `cdat-core`: names, configs, the flags
//! that set their hyperparameters, construction, and state save/load.

use anyhow::{anyhow, Result};
use burn::tensor::backend::Backend;
use cdat_core::curvature::{CurvatureMethod, HvpBackend};
use cdat_core::tuners::{BoxedTuner, LossFn, StepError, StepReport};
use cdat_models::AnyModel;
use serde::Serialize;

pub use cdat_core::tuners::{BaseConfig, TunerConfig};

/// The model type every tuner trains.
pub type TrainModel<B> = AnyModel<HvpBackend<B>>;

/// Tuner names accepted by `--tuner`.
pub const TUNER_NAMES: &[&str] = cdat_core::tuners::TUNER_NAMES;

/// Base optimizer names accepted by `--optimizer`.
pub const BASE_NAMES: &[&str] = cdat_core::tuners::base::BASE_NAMES;

/// The key naming the variant in a `[tuner]` or `[optimizer]` table.
pub const TAG: &str = cdat_core::tuners::registry::TAG;
/// The tuner hyperparameter set by `--sigma`.
pub const SIGMA_KEY: &str = "sigma";
/// The schedule hyperparameter that the run length fills in unless given.
pub const HORIZON_KEY: &str = "horizon";

/// The hyperparameter `--lr` sets for a tuner: `lr` (constant), `peak_lr` (schedules),
/// `initial_lr` (hypergradient); `None` for tuners that choose η themselves.
pub fn lr_key(tuner: &TunerConfig) -> Option<&'static str> {
    tuner.lr_key()
}

/// Whether the tuner is a schedule with a horizon.
pub fn has_horizon(tuner: &TunerConfig) -> bool {
    tuner.clone().horizon_mut().is_some()
}

/// Sets a schedule's horizon to the run length.
pub fn set_horizon(tuner: &mut TunerConfig, steps: usize) {
    if let Some(horizon) = tuner.horizon_mut() {
        *horizon = steps.max(1);
    }
}

/// The variant name of a tuner or optimizer configuration (`cdat`, `gd`, ...).
pub fn variant_name<T: Serialize>(config: &T) -> Option<String> {
    toml::Value::try_from(config)
        .ok()?
        .get(TAG)?
        .as_str()
        .map(str::to_string)
}

/// The default configuration of the tuner called `name`.
pub fn default_tuner(name: &str) -> Result<TunerConfig> {
    name.parse::<TunerConfig>().map_err(|e| anyhow!("{e}"))
}

/// The default configuration of the base optimizer called `name`.
pub fn default_base(name: &str) -> Result<BaseConfig> {
    name.parse::<BaseConfig>().map_err(|e| anyhow!("{e}"))
}

/// Checks hyperparameters; the message names the offending key.
pub fn validate(tuner: &TunerConfig, base: &BaseConfig) -> Result<()> {
    tuner.validate().map_err(|e| anyhow!("[tuner] {e}"))?;
    base.validate().map_err(|e| anyhow!("[optimizer] {e}"))?;
    Ok(())
}

/// A tuner with its base optimizer, ready to step.
pub struct BuiltTuner<B: Backend> {
    tuner: BoxedTuner<B, TrainModel<B>>,
}

impl<B: Backend> BuiltTuner<B> {
    /// One step.
    pub fn step(
        &mut self,
        model: TrainModel<B>,
        loss_fn: &LossFn<'_, B, TrainModel<B>>,
    ) -> (TrainModel<B>, Result<StepReport, StepError>) {
        self.tuner.step(model, loss_fn)
    }

    /// How the tuner computes `uᵀHu`.
    pub fn set_curvature_method(&mut self, method: CurvatureMethod) {
        self.tuner.set_curvature_method(method);
    }

    /// The tuner's and base optimizer's state, as bytes.
    pub fn save_state(&self) -> Result<Vec<u8>> {
        Ok(self.tuner.save_state())
    }

    /// Restores what [`BuiltTuner::save_state`] wrote.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        self.tuner
            .load_state(bytes)
            .map_err(|e| anyhow!("restoring the tuner state from the checkpoint: {e}"))
    }
}

/// Builds the tuner over its base optimizer.
pub fn build<B: Backend>(tuner: &TunerConfig, base: &BaseConfig) -> Result<BuiltTuner<B>> {
    let tuner = tuner
        .clone()
        .build::<B, TrainModel<B>>(base.clone())
        .map_err(|e| anyhow!("building the tuner: {e}"))?;
    Ok(BuiltTuner { tuner })
}
