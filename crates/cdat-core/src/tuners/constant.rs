//! Constant learning rate: `η_t = η` (the paper's baseline, tuned on a log₂ grid).
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::optim::SgdConfig;
//! use cdat_core::tuners::{ConstantConfig, RuleConfig};
//!
//! let tuner = ConstantConfig::new().with_lr(0.1).init::<NdArray, _>(SgdConfig::new());
//! assert_eq!(tuner.lr_hint(), Some(0.1));
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Constant`].
#[derive(Config, Debug, PartialEq)]
pub struct ConstantConfig {
    /// η > 0.
    #[config(default = 1e-2)]
    pub lr: f64,
}

impl Default for ConstantConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleConfig for ConstantConfig {
    const NAME: &'static str = "constant";
    const LR_KEY: Option<&'static str> = Some("lr");
    type Rule<B: Backend> = Constant;

    fn validate(&self) -> Result<(), ConfigError> {
        check::positive("constant.lr", self.lr)
    }

    fn rule<B: Backend>(&self) -> Constant {
        Constant::new(self.clone())
    }
}

/// `η_t = η`.
#[derive(Clone, Debug)]
pub struct Constant {
    config: ConstantConfig,
}

impl Constant {
    /// The rule (unvalidated; see [`RuleConfig::validate`]).
    pub fn new(config: ConstantConfig) -> Self {
        Self { config }
    }
}

impl<B: Backend> LrRule<B> for Constant {
    type Record = ();

    fn name(&self) -> &'static str {
        ConstantConfig::NAME
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

    fn to_record(&self) {}

    fn load_record(&mut self, _record: ()) {}
}
