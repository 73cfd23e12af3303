//! Polyak step size (SPS_max; Optax's `polyak_sgd`), one of the classical tuners the paper
//! compares against:
//!
//! ```text
//! η_t = min( (f(w_t) − f*) / ‖∇f(w_t)‖² , η_max )
//! ```
//!
//! with `f*` a lower bound of the loss (0 by default: interpolating models). The formula is the
//! gradient-descent one whatever the base: with another base direction the same `η` scales `u`.
//! Guards (in the step's note): `f < f*` gives `η = 0` (the bound is wrong); `‖g‖ = 0`
//! (stationary point) gives `η = 0`.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::config::{check, ConfigError};
use super::driver::{LrRule, StepContext};
use super::state::{RuleState, StateError};
use super::StepError;
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Polyak`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolyakConfig {
    /// `f*`, a lower bound of the loss (finite).
    pub f_min: f64,
    /// `η_max > 0`.
    pub max_lr: f64,
}

impl Default for PolyakConfig {
    fn default() -> Self {
        Self {
            f_min: 0.0,
            max_lr: 1.0,
        }
    }
}

impl PolyakConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check::finite("polyak.f_min", self.f_min)?;
        check::positive("polyak.max_lr", self.max_lr)
    }
}

/// `η = min((f − f*)/‖g‖², η_max)`.
#[derive(Clone, Debug)]
pub struct Polyak {
    config: PolyakConfig,
    last_lr: Option<f64>,
}

impl Polyak {
    /// The rule (unvalidated; see [`PolyakConfig::validate`]).
    pub fn new(config: PolyakConfig) -> Self {
        Self {
            config,
            last_lr: None,
        }
    }
}

impl<B: Backend> LrRule<B> for Polyak {
    fn name(&self) -> &'static str {
        "polyak"
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        let gap = ctx.loss - self.config.f_min;
        let g2 = ctx.grad_norm * ctx.grad_norm;
        let eta = if gap < 0.0 {
            ctx.note(format!(
                "loss {:e} below f* = {:e}: η = 0",
                ctx.loss, self.config.f_min
            ));
            0.0
        } else if g2 == 0.0 {
            ctx.note("zero gradient (stationary point): η = 0");
            0.0
        } else {
            (gap / g2).min(self.config.max_lr)
        };
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
