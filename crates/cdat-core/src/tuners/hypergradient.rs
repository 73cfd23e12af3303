//! Multiplicative hypergradient descent (Baydin et al., 2018, "HD-M"), one of the classical
//! tuners the paper compares against. With `w_{t} = w_{t−1} + η_{t−1} u_{t−1}`, the
//! hypergradient is `∂f(w_t)/∂η_{t−1} = ∇f(w_t)ᵀu_{t−1}`; its normalized multiplicative step is
//!
//! ```text
//! η_t = η_{t−1} · (1 − β · cos(∇f(w_t), u_{t−1})),     cos(a, b) = aᵀb / (‖a‖ ‖b‖),
//! ```
//!
//! i.e. `η ← η·(1 − β·cos(∇f(w + ηu), u))` evaluated lazily at the next step (no extra gradient).
//! When successive directions agree (`u_{t−1}` still points downhill at `w_t`, so the cosine is
//! negative) `η` grows; when the last step overshot it shrinks. `β ∈ [0, 1)` keeps `η > 0`.
//! If a norm is zero the cosine is taken as 0 (η unchanged, noted).
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::optim::AdamConfig;
//! use cdat_core::tuners::{HypergradientConfig, RuleConfig};
//!
//! let tuner = HypergradientConfig::new().with_initial_lr(1e-3).init::<NdArray, _>(AdamConfig::new());
//! assert_eq!(tuner.lr_hint(), Some(1e-3));
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::record::Record;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use crate::curvature::HvpBackend;
use crate::params::ParamVec;

/// Hyperparameters of [`Hypergradient`].
#[derive(Config, Debug, PartialEq)]
pub struct HypergradientConfig {
    /// `η_0 > 0`.
    #[config(default = 1e-2)]
    pub initial_lr: f64,
    /// Hyper learning rate β in [0, 1).
    #[config(default = 1e-2)]
    pub beta: f64,
}

impl Default for HypergradientConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleConfig for HypergradientConfig {
    const NAME: &'static str = "hypergradient";
    const LR_KEY: Option<&'static str> = Some("initial_lr");
    type Rule<B: Backend> = Hypergradient<B>;

    fn validate(&self) -> Result<(), ConfigError> {
        check::positive("hypergradient.initial_lr", self.initial_lr)?;
        check::in_unit_interval("hypergradient.beta", self.beta)
    }

    fn rule<B: Backend>(&self) -> Hypergradient<B> {
        Hypergradient::new(self.clone())
    }
}

/// The state of [`Hypergradient`].
#[derive(Record, Clone, Debug)]
pub struct HypergradientRecord<B: Backend> {
    /// The current η.
    pub lr: f64,
    /// The previous step's direction `u_{t−1}`.
    pub prev_dir: Option<ParamVec<B>>,
}

/// `η ← η·(1 − β·cos(g_t, u_{t−1}))`.
#[derive(Clone, Debug)]
pub struct Hypergradient<B: Backend> {
    config: HypergradientConfig,
    lr: f64,
    prev_dir: Option<ParamVec<B>>,
}

impl<B: Backend> Hypergradient<B> {
    /// The rule (unvalidated; see [`RuleConfig::validate`]).
    pub fn new(config: HypergradientConfig) -> Self {
        Self {
            lr: config.initial_lr,
            config,
            prev_dir: None,
        }
    }

    /// The current η.
    pub fn lr(&self) -> f64 {
        self.lr
    }
}

impl<B: Backend> LrRule<B> for Hypergradient<B> {
    type Record = HypergradientRecord<B>;

    fn name(&self) -> &'static str {
        HypergradientConfig::NAME
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        if let Some(prev) = self.prev_dir.take() {
            let prev = prev.on_device_of(ctx.grad);
            let norms = ctx.grad_norm * prev.norm();
            if norms > 0.0 {
                let cos = ctx.grad.dot(&prev) / norms;
                if !cos.is_finite() {
                    return Err(StepError::NonFinite {
                        what: "hypergradient cosine",
                        value: cos,
                    });
                }
                self.lr *= 1.0 - self.config.beta * cos;
            } else {
                ctx.note("zero gradient or previous direction: cosine taken as 0, η unchanged");
            }
        }
        self.prev_dir = Some(ctx.dir.clone());
        Ok(self.lr)
    }

    fn lr_hint(&self, _steps: usize) -> Option<f64> {
        Some(self.lr)
    }

    fn to_record(&self) -> HypergradientRecord<B> {
        HypergradientRecord {
            lr: self.lr,
            prev_dir: self.prev_dir.clone(),
        }
    }

    fn load_record(&mut self, record: HypergradientRecord<B>) {
        self.lr = record.lr;
        self.prev_dir = record.prev_dir;
    }
}
