//! The registry: every tuner listed once, in [`registry!`]'s one table, from which the CLI's
//! names ([`TUNER_NAMES`]), parsing, validation and construction come. Adding a tuner is its
//! own file (a config implementing [`RuleConfig`] and its [`LrRule`](super::driver::LrRule))
//! plus one line in the table.
//!
//! [`TunerConfig`] is the serde-driven layer the CLI and config files need:
//!
//! ```toml
//! [tuner]
//! name = "cdat"        # constant, warmup-constant, linear-decay, cosine, linesearch, greedy,
//! sigma = 2.0          # cdat, polyak, hypergradient, sharpness
//! beta = 0.0
//! ```
//!
//! Omitted fields take their defaults; unknown fields are errors. `"cdat".parse::<TunerConfig>()`
//! gives a config with defaults; an unknown name's error lists the valid ones. A tuner built
//! here is boxed over a [`DynBase`](super::base::DynBase); a Burn user's own loop builds the
//! typed tuner instead (`CdatConfig::new().init(AdamConfig::new())`).

use std::str::FromStr;

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::base::BaseConfig;
use super::cdat::CdatConfig;
use super::constant::ConstantConfig;
use super::driver::{RuleConfig, Tuned};
use super::error::ConfigError;
use super::greedy::GreedyConfig;
use super::hypergradient::HypergradientConfig;
use super::linesearch::LinesearchConfig;
use super::polyak::PolyakConfig;
use super::schedule::{CosineConfig, LinearDecayConfig, WarmupConstantConfig};
use super::sharpness::SharpnessConfig;
use super::tuner::Tuner;
use crate::curvature::HvpBackend;

/// A boxed tuner, as built from a [`TunerConfig`].
pub type BoxedTuner<B, M> = Box<dyn Tuner<B, M> + Send>;

/// The key naming the tuner in a serialized [`TunerConfig`].
pub const TAG: &str = "name";

/// A generic operation on a typed rule config (see [`TunerConfig::visit`]).
pub trait ConfigVisitor {
    /// What the operation returns.
    type Output;

    /// The operation on `config`.
    fn visit<C: RuleConfig>(self, config: &C) -> Self::Output;
}

/// Generates [`TunerConfig`] and everything the CLI derives from the list of tuners.
macro_rules! registry {
    ($($variant:ident($config:ty),)*) => {
        /// Which tuner, with its hyperparameters (one variant per registered tuner).
        /// Serialized as the config's fields with the tuner's name under [`TAG`].
        #[derive(Clone, Debug, PartialEq)]
        pub enum TunerConfig {
            $(
                #[doc = concat!("[`", stringify!($config), "`].")]
                $variant($config),
            )*
        }

        /// The valid tuner names, in registry order.
        pub const TUNER_NAMES: &[&str] = &[$(<$config as RuleConfig>::NAME,)*];

        impl TunerConfig {
            /// The name this config parses from.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => <$config as RuleConfig>::NAME,)*
                }
            }

            /// Whether the tuner measures curvature (a jet pass or HVPs) each step.
            pub fn uses_curvature(&self) -> bool {
                match self {
                    $(Self::$variant(_) => <$config as RuleConfig>::USES_CURVATURE,)*
                }
            }

            /// The hyperparameter that `--lr` sets, for tuners that take a learning rate.
            pub fn lr_key(&self) -> Option<&'static str> {
                match self {
                    $(Self::$variant(_) => <$config as RuleConfig>::LR_KEY,)*
                }
            }

            /// The schedule's horizon, for tuners that have one.
            pub fn horizon_mut(&mut self) -> Option<&mut usize> {
                match self {
                    $(Self::$variant(c) => c.horizon_mut(),)*
                }
            }

            /// Checks every hyperparameter's range; the error names the field.
            pub fn validate(&self) -> Result<(), ConfigError> {
                match self {
                    $(Self::$variant(c) => c.validate(),)*
                }
            }

            /// The tuner over `base`'s direction, for models `M` on `HvpBackend<B>` (both
            /// configs are validated first).
            pub fn build<B, M>(self, base: BaseConfig) -> Result<BoxedTuner<B, M>, ConfigError>
            where
                B: Backend,
                M: AutodiffModule<HvpBackend<B>>,
            {
                self.validate()?;
                let base = base.build::<B>()?;
                Ok(match self {
                    $(Self::$variant(c) => Box::new(Tuned::new(base, c.rule::<B>())),)*
                })
            }

            /// Calls `visitor` with the typed config (a generic operation over every tuner, such
            /// as building it over a typed base: `RuleConfig::init`).
            pub fn visit<V: ConfigVisitor>(&self, visitor: V) -> V::Output {
                match self {
                    $(Self::$variant(c) => visitor.visit(c),)*
                }
            }

            /// The config with default hyperparameters of the tuner called `name`.
            pub fn default_named(name: &str) -> Option<Self> {
                $(
                    if name == <$config as RuleConfig>::NAME {
                        return Some(Self::$variant(<$config>::default()));
                    }
                )*
                None
            }

            /// The tuner called `name` from its given `fields` over its defaults.
            fn from_fields(name: &str, fields: Fields) -> Result<Self, String> {
                $(
                    if name == <$config as RuleConfig>::NAME {
                        return over_defaults::<$config>(fields).map(Self::$variant);
                    }
                )*
                Err(unknown_name(name).to_string())
            }
        }

        impl Serialize for TunerConfig {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(
                        Self::$variant(c) => Tagged {
                            name: <$config as RuleConfig>::NAME,
                            config: c,
                        }
                        .serialize(serializer),
                    )*
                }
            }
        }
    };
}

registry! {
    Constant(ConstantConfig),
    WarmupConstant(WarmupConstantConfig),
    LinearDecay(LinearDecayConfig),
    Cosine(CosineConfig),
    Linesearch(LinesearchConfig),
    Greedy(GreedyConfig),
    Cdat(CdatConfig),
    Polyak(PolyakConfig),
    Hypergradient(HypergradientConfig),
    Sharpness(SharpnessConfig),
}

impl Default for TunerConfig {
    fn default() -> Self {
        Self::Cdat(CdatConfig::default())
    }
}

impl FromStr for TunerConfig {
    type Err = ConfigError;

    /// A tuner config with default hyperparameters from its name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::default_named(&s.trim().to_ascii_lowercase()).ok_or_else(|| unknown_name(s))
    }
}

impl<'de> Deserialize<'de> for TunerConfig {
    /// A table with the tuner's name under [`TAG`]; omitted fields take their defaults and an
    /// unknown field is an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Fields::deserialize(deserializer)?;
        let name = match fields.remove(TAG) {
            Some(Some(toml::Value::String(name))) => name,
            Some(Some(other)) => {
                return Err(D::Error::custom(format!(
                    "`{TAG}` must be a string, not {other}"
                )))
            }
            Some(None) | None => return Err(D::Error::missing_field(TAG)),
        };
        Self::from_fields(&name, fields).map_err(D::Error::custom)
    }
}

/// The fields of a serialized config, as given: TOML values (which keep `inf`), or `None` for
/// a JSON `null` (an unset option).
type Fields = std::collections::BTreeMap<String, Option<toml::Value>>;

/// A config serialized with its name first.
#[derive(Serialize)]
struct Tagged<'a, C: Serialize> {
    name: &'static str,
    #[serde(flatten)]
    config: &'a C,
}

/// `C` from the given fields over its defaults: a field `C` does not have is an error naming
/// it and listing the valid ones (Burn's `Config` deserializer would ignore it).
fn over_defaults<C: RuleConfig + Serialize + for<'de> Deserialize<'de>>(
    fields: Fields,
) -> Result<C, String> {
    let default = C::default();
    // Every field's name, `None` options included (TOML would omit those).
    let known: Vec<String> = match serde_json::to_value(&default) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mut merged = match toml::Value::try_from(&default) {
        Ok(toml::Value::Table(t)) => t,
        other => {
            return Err(format!(
                "{}: default config not a table: {other:?}",
                C::NAME
            ))
        }
    };
    for (key, value) in fields {
        if !known.contains(&key) {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            return Err(format!(
                "unknown field `{key}` of tuner `{}`, expected one of {}",
                C::NAME,
                expected.join(", ")
            ));
        }
        match value {
            Some(value) => merged.insert(key, value),
            None => merged.remove(&key),
        };
    }
    C::deserialize(toml::Value::Table(merged)).map_err(|e| format!("{}: {}", C::NAME, e.message()))
}

fn unknown_name(given: &str) -> ConfigError {
    ConfigError::UnknownName {
        kind: "tuner",
        given: given.to_string(),
        valid: TUNER_NAMES,
    }
}
