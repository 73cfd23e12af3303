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
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::optim::SgdConfig;
//! use cdat_core::tuners::{PolyakConfig, RuleConfig};
//!
//! let tuner = PolyakConfig::new().with_f_min(0.1).init::<NdArray, _>(SgdConfig::new());
//! assert_eq!(tuner.steps(), 0);
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Polyak`].
#[derive(Config, Debug, PartialEq)]
pub struct PolyakConfig {
    /// `f*`, a lower bound of the loss (finite).
    #[config(default = 0.0)]
    pub f_min: f64,
    /// `η_max > 0`.
    #[config(default = 1.0)]
    pub max_lr: f64,
}

impl Default for PolyakConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleConfig for PolyakConfig {
    const NAME: &'static str = "polyak";
    type Rule<B: Backend> = Polyak;

    fn validate(&self) -> Result<(), ConfigError> {
        check::finite("polyak.f_min", self.f_min)?;
        check::positive("polyak.max_lr", self.max_lr)
    }

    fn rule<B: Backend>(&self) -> Polyak {
        Polyak::new(self.clone())
    }
}

/// `η = min((f − f*)/‖g‖², η_max)`.
#[derive(Clone, Debug)]
pub struct Polyak {
    config: PolyakConfig,
    last_lr: Option<f64>,
}

impl Polyak {
    /// The rule (unvalidated; see [`RuleConfig::validate`]).
    pub fn new(config: PolyakConfig) -> Self {
        Self {
            config,
            last_lr: None,
        }
    }
}

impl<B: Backend> LrRule<B> for Polyak {
    /// The last η.
    type Record = Option<f64>;

    fn name(&self) -> &'static str {
        PolyakConfig::NAME
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

    fn to_record(&self) -> Option<f64> {
        self.last_lr
    }

    fn load_record(&mut self, record: Option<f64>) {
        self.last_lr = record;
    }
}
