//! [`BaseConfig`]: which base optimizer gives the direction, as the CLI and config files name
//! it (paper defaults, serde with a `name` tag), built into Burn's own optimizer configs.

use std::str::FromStr;

use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, RmsPropConfig, SgdConfig};
use burn::tensor::backend::Backend;

use super::direction::BaseOptimizerConfig;
use super::erased::{DynBase, Erased};
use super::gradient_descent::GradientDescentConfig;
use crate::tuners::error::ConfigError;

/// Which base optimizer gives the direction, with its hyperparameters. Defaults follow the paper
/// (Optax): momentum 0.9 (no dampening), Adam β₁ = 0.9, β₂ = 0.999, ε = 1e-8, AdamW weight decay
/// 1e-5, RmsProp decay 0.9, ε = 1e-8, no momentum.
///
/// Serialized with an internal tag `name` (`{"name": "adam", "beta1": 0.9, ...}`); omitted fields
/// take their defaults. Names parse with [`FromStr`] (`"gd"`, `"momentum"`, `"adam"`, `"adamw"`,
/// `"rmsprop"`; `"sgd"` is an alias of `"gd"`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "name", rename_all = "lowercase", deny_unknown_fields)]
pub enum BaseConfig {
    /// Gradient descent: `u = −g` (the default).
    #[default]
    #[serde(alias = "sgd")]
    Gd,
    /// Heavy ball (Optax `sgd(momentum=μ)`, Burn `Sgd` with momentum and no dampening):
    /// `v ← μ·v + g`, `u = −v` (Nesterov: `u = −(μ·v + g)`).
    Momentum {
        /// μ.
        #[serde(default = "defaults::momentum")]
        momentum: f64,
        /// Nesterov's variant.
        #[serde(default)]
        nesterov: bool,
    },
    /// Adam (Burn `Adam`): `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `u = −m̂ / (√v̂ + ε)` with bias corrections.
    Adam {
        /// β₁.
        #[serde(default = "defaults::beta1")]
        beta1: f64,
        /// β₂.
        #[serde(default = "defaults::beta2")]
        beta2: f64,
        /// ε.
        #[serde(default = "defaults::epsilon")]
        epsilon: f64,
    },
    /// AdamW (Burn `AdamW`): Adam's direction plus decoupled weight decay,
    /// `u = −m̂ / (√v̂ + ε) − λ·w`.
    #[serde(rename = "adamw")]
    AdamW {
        /// β₁.
        #[serde(default = "defaults::beta1")]
        beta1: f64,
        /// β₂.
        #[serde(default = "defaults::beta2")]
        beta2: f64,
        /// ε.
        #[serde(default = "defaults::epsilon")]
        epsilon: f64,
        /// λ.
        #[serde(default = "defaults::weight_decay")]
        weight_decay: f64,
    },
    /// RmsProp (Burn `RmsProp`): `s ← α·s + (1−α)g²`, `u = −g / (√s + ε)` (with momentum μ > 0:
    /// `b ← μ·b + g/(√s + ε)`, `u = −b`; centered: `s − ḡ²` in place of `s`).
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// α (Optax's `decay`).
        #[serde(default = "defaults::rms_alpha")]
        alpha: f64,
        /// ε.
        #[serde(default = "defaults::epsilon")]
        epsilon: f64,
        /// μ (0: no momentum).
        #[serde(default)]
        momentum: f64,
        /// Centered variant.
        #[serde(default)]
        centered: bool,
    },
}

mod defaults {
    pub fn momentum() -> f64 {
        0.9
    }
    pub fn beta1() -> f64 {
        0.9
    }
    pub fn beta2() -> f64 {
        0.999
    }
    pub fn epsilon() -> f64 {
        1e-8
    }
    pub fn weight_decay() -> f64 {
        1e-5
    }
    pub fn rms_alpha() -> f64 {
        0.9
    }
}

/// The valid base names, for error messages.
pub const BASE_NAMES: &[&str] = &["gd", "momentum", "adam", "adamw", "rmsprop"];

impl BaseConfig {
    /// Heavy ball with the default μ = 0.9.
    pub fn momentum() -> Self {
        Self::Momentum {
            momentum: defaults::momentum(),
            nesterov: false,
        }
    }

    /// Adam with the default hyperparameters.
    pub fn adam() -> Self {
        Self::Adam {
            beta1: defaults::beta1(),
            beta2: defaults::beta2(),
            epsilon: defaults::epsilon(),
        }
    }

    /// AdamW with the default hyperparameters.
    pub fn adamw() -> Self {
        Self::AdamW {
            beta1: defaults::beta1(),
            beta2: defaults::beta2(),
            epsilon: defaults::epsilon(),
            weight_decay: defaults::weight_decay(),
        }
    }

    /// RmsProp with the default hyperparameters.
    pub fn rmsprop() -> Self {
        Self::RmsProp {
            alpha: defaults::rms_alpha(),
            epsilon: defaults::epsilon(),
            momentum: 0.0,
            centered: false,
        }
    }

    /// The name this config parses from.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gd => "gd",
            Self::Momentum { .. } => "momentum",
            Self::Adam { .. } => "adam",
            Self::AdamW { .. } => "adamw",
            Self::RmsProp { .. } => "rmsprop",
        }
    }

    /// Checks every hyperparameter's range; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use crate::tuners::error::check::{at_least, in_unit_interval};
        match *self {
            Self::Gd => Ok(()),
            Self::Momentum { momentum, .. } => in_unit_interval("momentum.momentum", momentum),
            Self::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                in_unit_interval("adam.beta1", beta1)?;
                in_unit_interval("adam.beta2", beta2)?;
                at_least("adam.epsilon", epsilon, 0.0)
            }
            Self::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => {
                in_unit_interval("adamw.beta1", beta1)?;
                in_unit_interval("adamw.beta2", beta2)?;
                at_least("adamw.epsilon", epsilon, 0.0)?;
                at_least("adamw.weight_decay", weight_decay, 0.0)
            }
            Self::RmsProp {
                alpha,
                epsilon,
                momentum,
                ..
            } => {
                in_unit_interval("rmsprop.alpha", alpha)?;
                at_least("rmsprop.epsilon", epsilon, 0.0)?;
                in_unit_interval("rmsprop.momentum", momentum)
            }
        }
    }

    /// The Burn optimizer config behind this config, built as a direction source (validated
    /// first).
    pub fn build<B: Backend>(&self) -> Result<DynBase<B>, ConfigError> {
        fn erased<B: Backend, C: BaseOptimizerConfig<B>>(config: C) -> DynBase<B>
        where
            C::Base: 'static,
        {
            Box::new(Erased(config.init_base()))
        }
        self.validate()?;
        Ok(match *self {
            Self::Gd => erased(GradientDescentConfig::new()),
            Self::Momentum { momentum, nesterov } => erased(
                SgdConfig::new().with_momentum(Some(
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                        .with_nesterov(nesterov),
                )),
            ),
            Self::Adam {
                beta1,
                beta2,
                epsilon,
            } => erased(
                AdamConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32),
            ),
            Self::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => erased(
                AdamWConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32)
                    .with_weight_decay(weight_decay as f32),
            ),
            Self::RmsProp {
                alpha,
                epsilon,
                momentum,
                centered,
            } => erased(
                RmsPropConfig::new()
                    .with_alpha(alpha as f32)
                    .with_epsilon(epsilon as f32)
                    .with_momentum(momentum as f32)
                    .with_centered(centered),
            ),
        })
    }
}

impl FromStr for BaseConfig {
    type Err = ConfigError;

    /// A base config with default hyperparameters from its name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gd" | "sgd" => Ok(Self::Gd),
            "momentum" => Ok(Self::momentum()),
            "adam" => Ok(Self::adam()),
            "adamw" => Ok(Self::adamw()),
            "rmsprop" => Ok(Self::rmsprop()),
            _ => Err(ConfigError::UnknownName {
                kind: "base optimizer",
                given: s.to_string(),
                valid: BASE_NAMES,
            }),
        }
    }
}
