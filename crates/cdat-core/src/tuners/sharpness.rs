//! Exact-sharpness rule: `η_t = σ / λmax(∇²f(w_t))`, with λmax — the algebraically largest
//! eigenvalue — by Lanczos on exact Hessian-vector products ([`crate::spectrum::sharpness`]),
//! warm-started from the previous step's eigenvector and stopped as the paper stops its power
//! iteration (relative tolerance 1e-3). `σ = 1` is the classical `1/L` step of an
//! `L`-smooth objective; `σ = 2` is the edge of stability of gradient descent, which the paper
//! shows constant learning rates self-stabilize at (`η·λmax ≈ 2`).
//!
//! The rule measures the Hessian, not the preconditioned Hessian: with an adaptive base (Adam,
//! RmsProp) `σ/λmax` is not the stability threshold of the preconditioned step.
//!
//! Guards (in the step's note): `λmax < 0` (no direction of positive curvature: the loss is
//! locally concave) uses `|λmax|`; `λmax = 0` gives `max_lr` if set, else `η = 0`;
//! `η > max_lr` is capped. Costs `iterations` HVPs per step (reported).

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::cdat::guarded_ratio;
use super::config::{check, ConfigError};
use super::driver::{LrRule, StepContext};
use super::state::{on_device_of, RuleState, StateError};
use super::StepError;
use crate::curvature::HvpBackend;
use crate::params::ParamVec;
use crate::spectrum::PowerIterationConfig;

/// Hyperparameters of [`SharpnessRule`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharpnessConfig {
    /// σ > 0.
    pub sigma: f64,
    /// Most Lanczos steps (HVPs) per tuner step, ≥ 1.
    pub max_iters: usize,
    /// Relative tolerance on consecutive λmax estimates, > 0.
    pub rel_tol: f64,
    /// Optional cap on η (> 0).
    pub max_lr: Option<f64>,
}

impl Default for SharpnessConfig {
    fn default() -> Self {
        let p = PowerIterationConfig::default();
        Self {
            sigma: 1.0,
            max_iters: p.max_iters,
            rel_tol: p.rel_tol,
            max_lr: None,
        }
    }
}

impl SharpnessConfig {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check::positive("sharpness.sigma", self.sigma)?;
        if self.max_iters == 0 {
            return Err(ConfigError::invalid(
                "sharpness.max_iters",
                0.0,
                "must be at least 1",
            ));
        }
        check::positive("sharpness.rel_tol", self.rel_tol)?;
        check::optional_positive("sharpness.max_lr", self.max_lr)
    }
}

/// `η = σ / λmax`.
#[derive(Clone, Debug)]
pub struct SharpnessRule<B: Backend> {
    config: SharpnessConfig,
    eigenvector: Option<ParamVec<B>>,
    last_sharpness: Option<f64>,
    last_lr: Option<f64>,
}

impl<B: Backend> SharpnessRule<B> {
    /// The rule (unvalidated; see [`SharpnessConfig::validate`]).
    pub fn new(config: SharpnessConfig) -> Self {
        Self {
            config,
            eigenvector: None,
            last_sharpness: None,
            last_lr: None,
        }
    }

    /// The last measured λmax.
    pub fn last_sharpness(&self) -> Option<f64> {
        self.last_sharpness
    }
}

impl<B: Backend> LrRule<B> for SharpnessRule<B> {
    fn name(&self) -> &'static str {
        "sharpness"
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        let start = self.eigenvector.take().map(|v| on_device_of(v, ctx.grad));
        let config = PowerIterationConfig {
            max_iters: self.config.max_iters,
            rel_tol: self.config.rel_tol,
        };
        let pair = ctx.sharpness(start, config)?;
        let lambda = pair.value;
        if lambda < 0.0 {
            ctx.note(format!(
                "λmax = {lambda:e} < 0 (no positive curvature): |λmax| used"
            ));
        }
        if !pair.converged {
            ctx.note(format!(
                "λmax not converged in {} iterations",
                pair.iterations
            ));
        }
        self.eigenvector = Some(pair.vector);
        self.last_sharpness = Some(lambda);
        let eta = guarded_ratio(
            &mut |s| ctx.note(s),
            self.config.sigma,
            1.0,
            lambda.abs(),
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
        state.put("last_sharpness", self.last_sharpness.unwrap_or(f64::NAN));
        state.put_vec("eigenvector", self.eigenvector.as_ref());
    }

    fn load(&mut self, state: &RuleState<B>) -> Result<(), StateError> {
        let last = state.get("last_lr")?;
        self.last_lr = (!last.is_nan()).then_some(last);
        let s = state.get("last_sharpness")?;
        self.last_sharpness = (!s.is_nan()).then_some(s);
        self.eigenvector = state.get_vec("eigenvector");
        Ok(())
    }
}
