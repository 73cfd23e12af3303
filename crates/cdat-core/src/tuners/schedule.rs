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
//! `t` counts accepted steps.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::config::{check, ConfigError};
use super::driver::{LrRule, StepContext};
use super::state::{RuleState, StateError};
use super::StepError;
use crate::curvature::HvpBackend;

/// What follows the warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// Constant at the peak.
    WarmupConstant,
    /// Linear decay to 0 at the horizon.
    LinearDecay,
    /// Cosine decay to 0 at the horizon.
    Cosine,
}

impl ScheduleKind {
    /// The tuner name.
    pub fn name(self) -> &'static str {
        match self {
            Self::WarmupConstant => "warmup-constant",
            Self::LinearDecay => "linear-decay",
            Self::Cosine => "cosine",
        }
    }
}

/// Hyperparameters of a [`Schedule`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The peak η̄ > 0.
    pub peak_lr: f64,
    /// Fraction of the horizon spent warming up, in [0, 1].
    pub warmup_fraction: f64,
    /// The horizon T ≥ 1 (total steps).
    pub horizon: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            peak_lr: 1e-2,
            warmup_fraction: 0.1,
            horizon: 1000,
        }
    }
}

impl ScheduleConfig {
    /// Checks the ranges; errors name the field under `prefix` (the tuner name).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        check::positive_named(format!("{prefix}.peak_lr"), self.peak_lr)?;
        check::in_closed_unit_named(format!("{prefix}.warmup_fraction"), self.warmup_fraction)?;
        if self.horizon == 0 {
            return Err(ConfigError::Invalid {
                field: format!("{prefix}.horizon"),
                value: "0".to_string(),
                reason: "must be at least 1 step".to_string(),
            });
        }
        Ok(())
    }

    /// The warm-up length `W = round(warmup_fraction · T)`.
    pub fn warmup_steps(&self) -> usize {
        (self.warmup_fraction * self.horizon as f64).round() as usize
    }
}

/// A warm-up + decay schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    kind: ScheduleKind,
    config: ScheduleConfig,
}

impl Schedule {
    /// The rule (unvalidated; see [`ScheduleConfig::validate`]).
    pub fn new(kind: ScheduleKind, config: ScheduleConfig) -> Self {
        Self { kind, config }
    }

    /// `η_t`.
    pub fn lr_at(&self, t: usize) -> f64 {
        let peak = self.config.peak_lr;
        let horizon = self.config.horizon;
        let warmup = self.config.warmup_steps().min(horizon);
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
    fn name(&self) -> &'static str {
        self.kind.name()
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

    fn save(&self, _state: &mut RuleState<B>) {}

    fn load(&mut self, _state: &RuleState<B>) -> Result<(), StateError> {
        Ok(())
    }
}
