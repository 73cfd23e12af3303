//! Constant learning rate: `η_t = η` (the paper's baseline, tuned on a log₂ grid).

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::config::{check, ConfigError};
use super::driver::{LrRule, StepContext};
use super::state::{RuleState, StateError};
use super::StepError;
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Constant`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConstantConfig {
    /// η > 0.
    pub lr: f64,
}

impl Default for ConstantConfig {
    fn default() -> Self {
        Self { lr: 1e-2 }
    }
}

impl ConstantConfig {
    /// Checks `lr > 0`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check::positive("constant.lr", self.lr)
    }
}

/// `η_t = η`.
#[derive(Clone, Debug)]
pub struct Constant {
    config: ConstantConfig,
}

impl Constant {
    /// The rule (unvalidated; see [`ConstantConfig::validate`]).
    pub fn new(config: ConstantConfig) -> Self {
        Self { config }
    }
}

impl<B: Backend> LrRule<B> for Constant {
    fn name(&self) -> &'static str {
        "constant"
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        _ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        Ok(self.config.lr)
    }

    fn lr_hint(&self, _steps: usize) -> Option<f64> {
        Some(self.config.lr)
    }

    fn save(&self, _state: &mut RuleState<B>) {}

    fn load(&mut self, _state: &RuleState<B>) -> Result<(), StateError> {
        Ok(())
    }
}
