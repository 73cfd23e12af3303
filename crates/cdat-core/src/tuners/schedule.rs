//! Learning-rate schedules (the paper's scheduled baselines, as in Optax): a linear warm-up from
//! 0 to the peak `η̄` over `W = round(warmup_fraction · T)` steps, then
//!
//! ```text
//! warm-up then constant:  η_t = η̄
//! linear decay:           η_t = η̄ · (1 − (t − W)/(T − W))
//! cosine decay:           η_t = η̄ · ½(1 + cos(π (t − W)/(T − W)))
//! ```
//!
//! for `W ≤ t ≤ T` (the decays reach 0 at the horizon `T` and stay there), where the warm-up is
//! `η_t = η̄ · t / W` for `t < W` (step 0 takes η = 0, as Optax's `warmup_*_schedule`).
//! `t` counts accepted steps. Three tuners, one config each ([`WarmupConstantConfig`],
//! [`LinearDecayConfig`], [`CosineConfig`]), one rule ([`Schedule`]).
//!
//! ```
//! use burn::backend::NdArray;
//! use cdat_core::tuners::{CosineConfig, GradientDescentConfig, RuleConfig};
//!
//! let config = CosineConfig::new().with_peak_lr(1.0).with_warmup_fraction(0.0).with_horizon(4);
//! let tuner = config.init::<NdArray, _>(GradientDescentConfig::new());
//! assert_eq!(tuner.lr_hint(), Some(1.0));
//! assert!((tuner.rule().lr_at(2) - 0.5).abs() < 1e-12);
//! ```

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::driver::{LrRule, RuleConfig, StepContext};
use super::error::{check, ConfigError, StepError};
use crate::curvature::HvpBackend;

/// What follows the warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleKind {
    /// Constant at the peak.
    WarmupConstant,
    /// Linear decay to 0 at the horizon.
    LinearDecay,
    /// Cosine decay to 0 at the horizon.
    Cosine,
}

/// One config per schedule kind, with the same fields and checks.
macro_rules! schedule_config {
    ($(#[$doc:meta])* $config:ident, $kind:ident, $name:literal) => {
        $(#[$doc])*
        #[derive(Config, Debug, PartialEq)]
        pub struct $config {
            /// The peak η̄ > 0.
            #[config(default = 1e-2)]
            pub peak_lr: f64,
            /// Fraction of the horizon spent warming up, in [0, 1].
            #[config(default = 0.1)]
            pub warmup_fraction: f64,
            /// The horizon T ≥ 1 (total steps).
            #[config(default = 1000)]
            pub horizon: usize,
        }

        impl Default for $config {
            fn default() -> Self {
                Self::new()
            }
        }

        impl RuleConfig for $config {
            const NAME: &'static str = $name;
            const LR_KEY: Option<&'static str> = Some("peak_lr");
            type Rule<B: Backend> = Schedule;

            fn validate(&self) -> Result<(), ConfigError> {
                validate($name, self.peak_lr, self.warmup_fraction, self.horizon)
            }

            fn rule<B: Backend>(&self) -> Schedule {
                Schedule::new(ScheduleKind::$kind, $name, self.peak_lr, self.warmup_fraction, self.horizon)
            }

            fn horizon_mut(&mut self) -> Option<&mut usize> {
                Some(&mut self.horizon)
            }
        }
    };
}

schedule_config!(
    /// Hyperparameters of the warm-up then constant [`Schedule`].
    WarmupConstantConfig,
    WarmupConstant,
    "warmup-constant"
);
schedule_config!(
    /// Hyperparameters of the warm-up then linear decay [`Schedule`].
    LinearDecayConfig,
    LinearDecay,
    "linear-decay"
);
schedule_config!(
    /// Hyperparameters of the warm-up then cosine decay [`Schedule`].
    CosineConfig,
    Cosine,
    "cosine"
);

/// The checks every schedule config shares; errors name the field under `name`.
fn validate(
    name: &str,
    peak_lr: f64,
    warmup_fraction: f64,
    horizon: usize,
) -> Result<(), ConfigError> {
    check::positive_named(format!("{name}.peak_lr"), peak_lr)?;
    check::in_closed_unit_named(format!("{name}.warmup_fraction"), warmup_fraction)?;
    if horizon == 0 {
        return Err(ConfigError::Invalid {
            field: format!("{name}.horizon"),
            value: "0".to_string(),
            reason: "must be at least 1 step".to_string(),
        });
    }
    Ok(())
}

/// A warm-up + decay schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    kind: ScheduleKind,
    name: &'static str,
    peak_lr: f64,
    warmup: usize,
    horizon: usize,
}

impl Schedule {
    /// The rule (unvalidated); the warm-up lasts `W = round(warmup_fraction · horizon)` steps.
    pub fn new(
        kind: ScheduleKind,
        name: &'static str,
        peak_lr: f64,
        warmup_fraction: f64,
        horizon: usize,
    ) -> Self {
        Self {
            kind,
            name,
            peak_lr,
            warmup: (warmup_fraction * horizon as f64).round() as usize,
            horizon,
        }
    }

    /// `η_t`.
    pub fn lr_at(&self, t: usize) -> f64 {
        let peak = self.peak_lr;
        let horizon = self.horizon;
        let warmup = self.warmup.min(horizon);
        if t < warmup {
            return peak * t as f64 / warmup as f64;
        }
        let decay_len = (horizon - warmup) as f64;
        let progress = if decay_len == 0.0 {
            1.0
        } else {
            ((t - warmup) as f64 / decay_len).min(1.0)
        };
        match self.kind {
            ScheduleKind::WarmupConstant => peak,
            ScheduleKind::LinearDecay => peak * (1.0 - progress),
            ScheduleKind::Cosine => peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

impl<B: Backend> LrRule<B> for Schedule {
    type Record = ();

    fn name(&self) -> &'static str {
        self.name
    }

    fn choose<M: AutodiffModule<HvpBackend<B>>>(
        &mut self,
        ctx: &mut StepContext<'_, B, M>,
    ) -> Result<f64, StepError> {
        Ok(self.lr_at(ctx.step))
    }

    fn lr_hint(&self, steps: usize) -> Option<f64> {
        Some(self.lr_at(steps))
    }

    fn to_record(&self) {}

    fn load_record(&mut self, _record: ()) {}
}
