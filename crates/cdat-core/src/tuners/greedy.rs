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
//!
//! ```
//! use burn::backend::NdArray;
//! use cdat_core::tuners::{GradientDescentConfig, GreedyConfig, RuleConfig};
//!
//! let tuner = GreedyConfig::new().with_max_lr(Some(10.0)).init::<NdArray, _>(GradientDescentConfig::new());
//! assert_eq!(tuner.lr_hint(), None); // known after the first step
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use super::guards::{descends, guarded_ratio};
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Greedy`].
#[derive(Config, Debug, PartialEq)]
pub struct GreedyConfig {
    /// Optional cap on η (> 0).
    #[config(default = "None")]
    pub max_lr: Option<f64>,
}

impl Default for GreedyConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleConfig for GreedyConfig {
    const NAME: &'static str = "greedy";
    const USES_CURVATURE: bool = true;
    type Rule<B: Backend> = Greedy;

    fn validate(&self) -> Result<(), ConfigError> {
        check::optional_positive("greedy.max_lr", self.max_lr)
    }

    fn rule<B: Backend>(&self) -> Greedy {
        Greedy::new(self.clone())
    }
}

/// `η = −gᵀu / uᵀHu`.
#[derive(Clone, Debug)]
pub struct Greedy {
    config: GreedyConfig,
    last_lr: Option<f64>,
}

impl Greedy {
    /// The rule (unvalidated; see [`RuleConfig::validate`]).
    pub fn new(config: GreedyConfig) -> Self {
        Self {
            config,
            last_lr: None,
        }
    }
}

impl<B: Backend> LrRule<B> for Greedy {
    /// The last η.
    type Record = Option<f64>;

    fn name(&self) -> &'static str {
        GreedyConfig::NAME
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        if !descends(ctx) {
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

    fn to_record(&self) -> Option<f64> {
        self.last_lr
    }

    fn load_record(&mut self, record: Option<f64>) {
        self.last_lr = record;
    }
}
