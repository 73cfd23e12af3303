//! Armijo backtracking linesearch, one of the classical tuners the paper studies (its
//! "linesearch" baseline; Optax's `scale_by_backtracking_linesearch`): accept the largest
//!
//! ```text
//! η = c₋ᵏ · η₀,   η₀ = min(c₊ · η_prev, η_max),   k = 0, 1, …, K
//! ```
//!
//! satisfying the sufficient-decrease (Armijo) condition
//!
//! ```text
//! f(w + η u) ≤ (1 + δ) f(w) + c · η · gᵀu .
//! ```
//!
//! Defaults as in Optax: `c = 1e-4`, `c₋ = 0.8`, `c₊ = 1.5`, `η_max = 1`, `δ = 0`, at most
//! `K = 30` backtracking steps. `c₊ = ∞` restarts every search at `η_max` (TOML: `inf`).
//!
//! Reported cases (in the step's note):
//! - `u` is not a descent direction (`gᵀu ≥ 0`): no search, `η = 0`, `η_prev` kept;
//! - the cap `K` is reached without the condition holding: the last (smallest) candidate
//!   `c₋ᴷ η₀` is taken anyway, as Optax does (or `η = 0` if its loss is not finite).
//!
//! A candidate whose loss is NaN or infinite fails the condition (it is backtracked from).
//!
//! ```
//! use burn::backend::NdArray;
//! use burn::optim::AdamConfig;
//! use cdat_core::tuners::{LinesearchConfig, RuleConfig};
//!
//! let tuner = LinesearchConfig::new().with_c_plus(f64::INFINITY).init::<NdArray, _>(AdamConfig::new());
//! assert_eq!(tuner.rule().initial_lr(), 1.0); // η_max: no previous η
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use super::guards::descends;
use crate::curvature::HvpBackend;

/// Hyperparameters of [`Linesearch`].
#[derive(Config, Debug, PartialEq)]
pub struct LinesearchConfig {
    /// Armijo constant `c` in (0, 1).
    #[config(default = 1e-4)]
    pub c: f64,
    /// Backtracking factor `c₋` in (0, 1).
    #[config(default = 0.8)]
    pub c_minus: f64,
    /// Growth factor `c₊ ≥ 1` of the initial guess (∞: restart at `η_max`).
    #[config(default = 1.5)]
    pub c_plus: f64,
    /// `η_max > 0`.
    #[config(default = 1.0)]
    pub max_lr: f64,
    /// Relaxation `δ ≥ 0` of the decrease condition.
    #[config(default = 0.0)]
    pub delta: f64,
    /// Most backtracking steps `K` per search.
    #[config(default = 30)]
    pub max_backtracks: usize,
}

impl Default for LinesearchConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RuleConfig for LinesearchConfig {
    const NAME: &'static str = "linesearch";
    type Rule<B: Backend> = Linesearch;

    fn rule<B: Backend>(&self) -> Linesearch {
        Linesearch::new(self.clone())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check::in_open_unit("linesearch.c", self.c)?;
        check::in_open_unit("linesearch.c_minus", self.c_minus)?;
        if self.c_plus.is_nan() || self.c_plus < 1.0 {
            return Err(ConfigError::invalid(
                "linesearch.c_plus",
                self.c_plus,
                "must be ≥ 1 (or inf)",
            ));
        }
        check::positive("linesearch.max_lr", self.max_lr)?;
        check::at_least("linesearch.delta", self.delta, 0.0)
    }
}

/// Armijo backtracking from `min(c₊·η_prev, η_max)`.
#[derive(Clone, Debug)]
pub struct Linesearch {
    config: LinesearchConfig,
    /// The last accepted η (`None` before the first search).
    prev_lr: Option<f64>,
}

impl Linesearch {
    /// The rule (unvalidated; see [`RuleConfig::validate`]).
    pub fn new(config: LinesearchConfig) -> Self {
        Self {
            config,
            prev_lr: None,
        }
    }

    /// The first candidate `η₀ = min(c₊ · η_prev, η_max)` (`η_max` first).
    pub fn initial_lr(&self) -> f64 {
        match self.prev_lr {
            Some(prev) if self.config.c_plus.is_finite() => {
                (self.config.c_plus * prev).min(self.config.max_lr)
            }
            _ => self.config.max_lr,
        }
    }
}

impl<B: Backend> LrRule<B> for Linesearch {
    /// The last accepted η.
    type Record = Option<f64>;

    fn name(&self) -> &'static str {
        LinesearchConfig::NAME
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        if !descends(ctx) {
            return Ok(0.0);
        }
        let c = &self.config;
        let bound = (1.0 + c.delta) * ctx.loss;
        let mut eta = self.initial_lr();
        let mut f = f64::NAN;
        for k in 0..=c.max_backtracks {
            f = ctx.loss_at(eta);
            if f.is_finite() && f <= bound + c.c * eta * ctx.slope {
                self.prev_lr = Some(eta);
                return Ok(eta);
            }
            if k < c.max_backtracks {
                eta *= c.c_minus;
            }
        }
        if !f.is_finite() {
            ctx.note(format!(
                "linesearch cap reached: Armijo condition not met after {} backtracking steps and f(w + ηu) = {f} at the smallest η = {eta:e}; η = 0",
                c.max_backtracks
            ));
            return Ok(0.0);
        }
        ctx.note(format!(
            "linesearch cap reached: Armijo condition not met after {} backtracking steps; taking the smallest candidate η = {eta:e}",
            c.max_backtracks
        ));
        self.prev_lr = Some(eta);
        Ok(eta)
    }

    fn lr_hint(&self, _steps: usize) -> Option<f64> {
        self.prev_lr
    }

    fn to_record(&self) -> Option<f64> {
        self.prev_lr
    }

    fn load_record(&mut self, record: Option<f64>) {
        self.prev_lr = record;
    }
}
