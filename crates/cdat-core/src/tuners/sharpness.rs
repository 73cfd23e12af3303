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
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::optim::SgdConfig;
//! use cdat_core::tuners::{RuleConfig, SharpnessConfig};
//!
//! let tuner = SharpnessConfig::new().with_sigma(2.0).init::<NdArray, _>(SgdConfig::new());
//! assert_eq!(tuner.rule().last_sharpness(), None); // measured at the first step
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::record::Record;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use super::guards::guarded_ratio;
use crate::curvature::HvpBackend;
use crate::params::ParamVec;
use crate::spectrum::PowerIterationConfig;

/// Hyperparameters of [`SharpnessRule`].
#[derive(Config, Debug, PartialEq)]
pub struct SharpnessConfig {
    /// σ > 0.
    #[config(default = 1.0)]
    pub sigma: f64,
    /// Most Lanczos steps (HVPs) per tuner step, ≥ 1 (the default of
    /// [`PowerIterationConfig`]).
    #[config(default = 20)]
    pub max_iters: usize,
    /// Relative tolerance on consecutive λmax estimates, > 0 (the default of
    /// [`PowerIterationConfig`]).
    #[config(default = 1e-3)]
    pub rel_tol: f64,
    /// Optional cap on η (> 0).
    #[config(default = "None")]
    pub max_lr: Option<f64>,
}

impl Default for SharpnessConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The state of [`SharpnessRule`].
#[derive(Record, Clone, Debug)]
pub struct SharpnessRecord<B: Backend> {
    /// The last η.
    pub last_lr: Option<f64>,
    /// The last λmax.
    pub last_sharpness: Option<f64>,
    /// The last eigenvector (the next measurement's warm start).
    pub eigenvector: Option<ParamVec<B>>,
}

impl RuleConfig for SharpnessConfig {
    const NAME: &'static str = "sharpness";
    const USES_CURVATURE: bool = true;
    type Rule<B: Backend> = SharpnessRule<B>;

    fn rule<B: Backend>(&self) -> SharpnessRule<B> {
        SharpnessRule::new(self.clone())
    }

    fn validate(&self) -> Result<(), ConfigError> {
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
    /// The rule (unvalidated; see [`RuleConfig::validate`]).
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
    type Record = SharpnessRecord<B>;

    fn name(&self) -> &'static str {
        SharpnessConfig::NAME
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        let start = self.eigenvector.take().map(|v| v.on_device_of(ctx.grad));
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

    fn to_record(&self) -> SharpnessRecord<B> {
        SharpnessRecord {
            last_lr: self.last_lr,
            last_sharpness: self.last_sharpness,
            eigenvector: self.eigenvector.clone(),
        }
    }

    fn load_record(&mut self, record: SharpnessRecord<B>) {
        self.last_lr = record.last_lr;
        self.last_sharpness = record.last_sharpness;
        self.eigenvector = record.eigenvector;
    }
}
