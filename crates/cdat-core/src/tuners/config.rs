//! One serde-serializable config for every tuner, its validation, and the factory.
//!
//! ```toml
//! [tuner]
//! name = "cdat"        # constant, warmup-constant, linear-decay, cosine, linesearch, greedy,
//! sigma = 2.0          # cdat, polyak, hypergradient, sharpness
//! beta = 0.0
//! ```
//!
//! Omitted fields take their defaults; unknown fields are errors. `"cdat".parse::<TunerConfig>()`
//! gives a config with defaults; an unknown name's error lists the valid ones.

use std::str::FromStr;

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::base::BaseConfig;
use super::cdat::{Cdat, CdatConfig};
use super::constant::{Constant, ConstantConfig};
use super::driver::{LrRule, Tuned};
use super::greedy::{Greedy, GreedyConfig};
use super::hypergradient::{Hypergradient, HypergradientConfig};
use super::linesearch::{Linesearch, LinesearchConfig};
use super::polyak::{Polyak, PolyakConfig};
use super::schedule::{Schedule, ScheduleConfig, ScheduleKind};
use super::sharpness::{SharpnessConfig, SharpnessRule};
use super::Tuner;
use crate::curvature::HvpBackend;

/// A boxed tuner, as built from a [`TunerConfig`].
pub type BoxedTuner<B, M> = Box<dyn Tuner<B, M> + Send>;

/// The valid tuner names, for error messages.
pub const TUNER_NAMES: &[&str] = &[
    "constant",
    "warmup-constant",
    "linear-decay",
    "cosine",
    "linesearch",
    "greedy",
    "cdat",
    "polyak",
    "hypergradient",
    "sharpness",
];

/// Which tuner, with its hyperparameters. Serialized with an internal tag `name`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum TunerConfig {
    /// [`Constant`]: `η_t = lr`.
    Constant(ConstantConfig),
    /// [`Schedule`]: linear warm-up, then constant.
    WarmupConstant(ScheduleConfig),
    /// [`Schedule`]: linear warm-up, then linear decay to 0.
    LinearDecay(ScheduleConfig),
    /// [`Schedule`]: linear warm-up, then cosine decay to 0.
    Cosine(ScheduleConfig),
    /// [`Linesearch`]: Armijo backtracking.
    Linesearch(LinesearchConfig),
    /// [`Greedy`]: `η = −gᵀu / uᵀHu`.
    Greedy(GreedyConfig),
    /// [`Cdat`]: `η = σ ñ / d̃`.
    Cdat(CdatConfig),
    /// [`Polyak`]: `η = min((f − f*)/‖g‖², η_max)`.
    Polyak(PolyakConfig),
    /// [`Hypergradient`]: `η ← η (1 − β cos(g_t, u_{t−1}))`.
    Hypergradient(HypergradientConfig),
    /// [`SharpnessRule`]: `η = σ / λmax`.
    Sharpness(SharpnessConfig),
}

impl Default for TunerConfig {
    fn default() -> Self {
        Self::Cdat(CdatConfig::default())
    }
}

impl TunerConfig {
    /// The name this config parses from.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Constant(_) => "constant",
            Self::WarmupConstant(_) => "warmup-constant",
            Self::LinearDecay(_) => "linear-decay",
            Self::Cosine(_) => "cosine",
            Self::Linesearch(_) => "linesearch",
            Self::Greedy(_) => "greedy",
            Self::Cdat(_) => "cdat",
            Self::Polyak(_) => "polyak",
            Self::Hypergradient(_) => "hypergradient",
            Self::Sharpness(_) => "sharpness",
        }
    }

    /// Whether the tuner measures curvature (HVPs) each step.
    pub fn uses_curvature(&self) -> bool {
        matches!(self, Self::Greedy(_) | Self::Cdat(_) | Self::Sharpness(_))
    }

    /// Checks every hyperparameter's range; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Constant(c) => c.validate(),
            Self::WarmupConstant(c) | Self::LinearDecay(c) | Self::Cosine(c) => {
                c.validate(self.name())
            }
            Self::Linesearch(c) => c.validate(),
            Self::Greedy(c) => c.validate(),
            Self::Cdat(c) => c.validate(),
            Self::Polyak(c) => c.validate(),
            Self::Hypergradient(c) => c.validate(),
            Self::Sharpness(c) => c.validate(),
        }
    }

    /// The tuner over `base`'s direction, for models `M` on `HvpBackend<B>` (both configs are
    /// validated first).
    pub fn build<B, M>(self, base: BaseConfig) -> Result<BoxedTuner<B, M>, ConfigError>
    where
        B: Backend,
        M: AutodiffModule<HvpBackend<B>>,
    {
        self.validate()?;
        let base = base.build::<B>()?;
        fn boxed<B, M, R>(
            base: Box<dyn super::BaseDirection<B> + Send>,
            rule: R,
        ) -> BoxedTuner<B, M>
        where
            B: Backend,
            M: AutodiffModule<HvpBackend<B>>,
            R: LrRule<B>,
        {
            Box::new(Tuned::new(base, rule))
        }
        Ok(match self {
            Self::Constant(c) => boxed(base, Constant::new(c)),
            Self::WarmupConstant(c) => boxed(base, Schedule::new(ScheduleKind::WarmupConstant, c)),
            Self::LinearDecay(c) => boxed(base, Schedule::new(ScheduleKind::LinearDecay, c)),
            Self::Cosine(c) => boxed(base, Schedule::new(ScheduleKind::Cosine, c)),
            Self::Linesearch(c) => boxed(base, Linesearch::new(c)),
            Self::Greedy(c) => boxed(base, Greedy::new(c)),
            Self::Cdat(c) => boxed(base, Cdat::new(c)),
            Self::Polyak(c) => boxed(base, Polyak::new(c)),
            Self::Hypergradient(c) => boxed(base, Hypergradient::<B>::new(c)),
            Self::Sharpness(c) => boxed(base, SharpnessRule::<B>::new(c)),
        })
    }
}

impl FromStr for TunerConfig {
    type Err = ConfigError;

    /// A tuner config with default hyperparameters from its name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "constant" => Self::Constant(Default::default()),
            "warmup-constant" => Self::WarmupConstant(Default::default()),
            "linear-decay" => Self::LinearDecay(Default::default()),
            "cosine" => Self::Cosine(Default::default()),
            "linesearch" => Self::Linesearch(Default::default()),
            "greedy" => Self::Greedy(Default::default()),
            "cdat" => Self::Cdat(Default::default()),
            "polyak" => Self::Polyak(Default::default()),
            "hypergradient" => Self::Hypergradient(Default::default()),
            "sharpness" => Self::Sharpness(Default::default()),
            _ => {
                return Err(ConfigError::UnknownName {
                    kind: "tuner",
                    given: s.to_string(),
                    valid: TUNER_NAMES,
                })
            }
        })
    }
}

/// An invalid tuner or base-optimizer config.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigError {
    /// A name that is not one of `valid`.
    UnknownName {
        /// `"tuner"` or `"base optimizer"`.
        kind: &'static str,
        /// What was given.
        given: String,
        /// The valid names.
        valid: &'static [&'static str],
    },
    /// A hyperparameter out of its range.
    Invalid {
        /// The field, as `tuner.field` (e.g. `cdat.sigma`).
        field: String,
        /// Its value.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
}

impl ConfigError {
    /// An out-of-range error for `field = value`.
    pub fn invalid(field: impl Into<String>, value: f64, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            value: format!("{value}"),
            reason: reason.into(),
        }
    }

    /// The offending field, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::UnknownName { .. } => None,
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownName { kind, given, valid } => {
                write!(
                    f,
                    "unknown {kind} `{given}`; valid names: {}",
                    valid.join(", ")
                )
            }
            Self::Invalid {
                field,
                value,
                reason,
            } => write!(f, "invalid `{field}` = {value}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Range checks that name the field.
pub(crate) mod check {
    use super::ConfigError;

    pub fn finite(field: &str, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be finite"))
        }
    }

    pub fn positive(field: &str, v: f64) -> Result<(), ConfigError> {
        positive_named(field.to_string(), v)
    }

    pub fn positive_named(field: String, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be finite and > 0"))
        }
    }

    pub fn optional_positive(field: &str, v: Option<f64>) -> Result<(), ConfigError> {
        v.map_or(Ok(()), |v| positive(field, v))
    }

    pub fn at_least(field: &str, v: f64, min: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v >= min {
            Ok(())
        } else {
            Err(ConfigError::invalid(
                field,
                v,
                format!("must be finite and ≥ {min}"),
            ))
        }
    }

    /// `v ∈ [0, 1)`.
    pub fn in_unit_interval(field: &str, v: f64) -> Result<(), ConfigError> {
        if (0.0..1.0).contains(&v) {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be in [0, 1)"))
        }
    }

    /// `v ∈ (0, 1)`.
    pub fn in_open_unit(field: &str, v: f64) -> Result<(), ConfigError> {
        if v > 0.0 && v < 1.0 {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be in (0, 1)"))
        }
    }

    /// `v ∈ [0, 1]`.
    pub fn in_closed_unit_named(field: String, v: f64) -> Result<(), ConfigError> {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(ConfigError::invalid(field, v, "must be in [0, 1]"))
        }
    }
}
