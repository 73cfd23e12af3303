//! Quadratically greedy rule, one of the classical tuners the paper studies: the minimizer of
//! the quadratic model of `f` along `u`,
//!
//! ```text
//! η_t = −∇f(w_t)ᵀu_t / u_tᵀ ∇²f(w_t) u_t ,
//! ```
//!
//! exact on quadratics (the line minimum). It is CDAT with `σ = 1`, `β = 0`, `ε = 0`, and shares
//! its guards (each explained in the step's note): `gᵀu ≥ 0` gives `η = 0`; `uᵀHu < 0` (the
//! model has no minimizer) uses `|uᵀHu|`; `uᵀHu = 0` gives `max_lr` if set, else `η = 0`;
//! `η > max_lr` is capped. One gradient and one jet pass (`uᵀHu`, no tape) per step.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::cdat::guarded_ratio;
use super::config::{check, ConfigError};
use super::driver::{LrRule, StepContext};
use super::state::{RuleState, StateError};
use super::StepError;
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Greedy`].
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GreedyConfig {
    /// Optional cap on η (> 0).
    pub max_lr: Option<f64>,
}

impl GreedyConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check::optional_positive("greedy.max_lr", self.max_lr)
    }
}

/// `η = −gᵀu / uᵀHu`.
#[derive(Clone, Debug)]
pub struct Greedy {
    config: GreedyConfig,
    last_lr: Option<f64>,
}

impl Greedy {
    /// The rule (unvalidated; see [`GreedyConfig::validate`]).
    pub fn new(config: GreedyConfig) -> Self {
        Self {
            config,
            last_lr: None,
        }
    }
}

impl<B: Backend> LrRule<B> for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        if ctx.slope >= 0.0 {
            ctx.note(format!(
                "not a descent direction (gᵀu = {:e} ≥ 0): η = 0",
                ctx.slope
            ));
            self.last_lr = Some(0.0);
            return Ok(0.0);
        }
        let curvature = ctx.curvature()?;
        if curvature < 0.0 {
            ctx.note(format!(
                "negative curvature uᵀHu = {curvature:e}: |uᵀHu| used"
            ));
        }
        let n = -ctx.slope;
        let eta = guarded_ratio(
            &mut |s| ctx.note(s),
            1.0,
            n,
            curvature.abs(),
            self.config.max_lr,
        );
        self.last_lr = Some(eta);
        Ok(eta)
    }

    fn lr_hint(&self, _steps: usize) -> Option<f64> {
        self.last_lr
    }

    fn save(&self, state: &mut RuleState<B>) {
        state.put("last_lr", self.last_lr.unwrap_or(f64::NAN));
    }

    fn load(&mut self, state: &RuleState<B>) -> Result<(), StateError> {
        let last = state.get("last_lr")?;
        self.last_lr = (!last.is_nan()).then_some(last);
        Ok(())
    }
}
