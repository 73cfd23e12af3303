//! Base directions: the update `u` a base optimizer would take with learning rate 1.
//!
//! Every optimizer in `burn::optim` that implements [`SimpleOptimizer`] (Sgd with or without
//! momentum, Adam, AdamW, RmsProp, ...) takes steps that are affine in the learning rate, with a
//! state update that does not depend on it:
//!
//! ```text
//! step(η, w, g, s) = w + η·u(w, g, s),     s' = s'(w, g, s)   (independent of η)
//! ```
//!
//! so the direction is exactly `u = step(1, w, g, s) − w`, and the step a tuner takes with its
//! own `η` is Burn's own `step(η, w, g, s)` (bitwise what Burn's optimizer would do). The state
//! is kept per parameter (keyed by [`ParamId`], on flattened tensors: every supported optimizer
//! is elementwise) and is committed only when the tuner accepts the step.
//!
//! Plain gradient descent is special-cased: `u = −g` exactly, no state.
//!
//! One difference from Burn's optimizers: a parameter the loss does not depend on gets a zero
//! gradient here (and its optimizer state advances, e.g. Adam's step count), where Burn's
//! adaptor skips it.

use std::collections::HashMap;
use std::str::FromStr;

use burn::module::ParamId;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, RmsPropConfig, SgdConfig, SimpleOptimizer};
use burn::record::{DoublePrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::config::ConfigError;
use super::state::StateError;
use crate::params::ParamVec;

/// A source of update directions `u(w, g, state)` with learning rate 1.
///
/// The protocol for one tuner step is `propose` (state update kept pending), then either
/// `accept(η)` (state committed, new parameter values returned) or `reject` (state unchanged).
pub trait BaseDirection<B: Backend>: Send {
    /// Short name (`"gd"`, `"adam"`, ...).
    fn name(&self) -> &'static str;

    /// The direction `u` for parameters `w` and gradient `g`; the optimizer's state update is
    /// kept pending until [`accept`](Self::accept) or [`reject`](Self::reject).
    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B>;

    /// Commits the pending state and returns the parameters after the step `w + η·u`, computed
    /// as the base optimizer's own step with learning rate `η`.
    fn accept(&mut self, eta: f64) -> ParamVec<B>;

    /// Drops the pending state: the next `propose` starts from the last committed state.
    fn reject(&mut self);

    /// The committed state as bytes (a Burn record).
    fn save(&self) -> Vec<u8>;

    /// Restores a state saved by [`save`](Self::save) (on the default device; it is moved to the
    /// gradient's device at the next step).
    fn load(&mut self, bytes: &[u8]) -> Result<(), StateError>;
}

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
        use super::config::check::{at_least, in_unit_interval};
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

    /// The Burn optimizer behind this config, as a direction source (validated first).
    pub fn build<B: Backend>(&self) -> Result<Box<dyn BaseDirection<B> + Send>, ConfigError> {
        self.validate()?;
        Ok(match *self {
            Self::Gd => Box::new(GradientDescent::<B>::default()),
            Self::Momentum { momentum, nesterov } => {
                let m = MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov);
                Box::new(BurnBase::new(
                    "momentum",
                    SgdConfig::new().with_momentum(Some(m)).build::<B>(),
                ))
            }
            Self::Adam {
                beta1,
                beta2,
                epsilon,
            } => Box::new(BurnBase::new(
                "adam",
                AdamConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32)
                    .build(),
            )),
            Self::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => Box::new(BurnBase::new(
                "adamw",
                AdamWConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32)
                    .with_weight_decay(weight_decay as f32)
                    .build(),
            )),
            Self::RmsProp {
                alpha,
                epsilon,
                momentum,
                centered,
            } => Box::new(BurnBase::new(
                "rmsprop",
                RmsPropConfig::new()
                    .with_alpha(alpha as f32)
                    .with_epsilon(epsilon as f32)
                    .with_momentum(momentum as f32)
                    .with_centered(centered)
                    .build(),
            )),
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

// ---------------------------------------------------------------- gradient descent

/// `u = −g`, no state. The step `w + η·u` is bitwise Burn's `Sgd` step `w − η·g`.
#[derive(Clone, Debug)]
pub struct GradientDescent<B: Backend> {
    pending: Option<(ParamVec<B>, ParamVec<B>)>,
}

impl<B: Backend> Default for GradientDescent<B> {
    fn default() -> Self {
        Self { pending: None }
    }
}

impl<B: Backend> BaseDirection<B> for GradientDescent<B> {
    fn name(&self) -> &'static str {
        "gd"
    }

    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B> {
        self.pending = Some((w.clone(), g.clone()));
        g.map(|t| t.neg())
    }

    fn accept(&mut self, eta: f64) -> ParamVec<B> {
        let (w, g) = self
            .pending
            .take()
            .expect("GradientDescent::accept without propose");
        w.zip_map(&g, |w, g| w - g.mul_scalar(eta))
    }

    fn reject(&mut self) {
        self.pending = None;
    }

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    fn load(&mut self, _bytes: &[u8]) -> Result<(), StateError> {
        self.pending = None;
        Ok(())
    }
}

// ---------------------------------------------------------------- any Burn SimpleOptimizer

/// Any Burn [`SimpleOptimizer`] as a direction source: `u = step(1, w, g, s) − w`; the accepted
/// step is `step(η, w, g, s)` itself. Its state is one `O::State<1>` per parameter.
pub struct BurnBase<B: Backend, O: SimpleOptimizer<B>> {
    name: &'static str,
    optim: O,
    states: HashMap<ParamId, O::State<1>>,
    pending: Option<Pending<B, O>>,
}

struct Pending<B: Backend, O: SimpleOptimizer<B>> {
    w: ParamVec<B>,
    g: ParamVec<B>,
    states: Vec<(ParamId, Option<O::State<1>>)>,
}

impl<B: Backend, O: SimpleOptimizer<B>> BurnBase<B, O> {
    /// Wraps `optim` under a name (reported in records and errors).
    pub fn new(name: &'static str, optim: O) -> Self {
        Self {
            name,
            optim,
            states: HashMap::new(),
            pending: None,
        }
    }

    /// The wrapped optimizer.
    pub fn optim(&self) -> &O {
        &self.optim
    }

    fn state_on(&self, id: &ParamId, like: &Tensor<B, 1>) -> Option<O::State<1>> {
        self.states
            .get(id)
            .cloned()
            .map(|s| O::to_device(s, &like.device()))
    }
}

impl<B, O> BaseDirection<B> for BurnBase<B, O>
where
    B: Backend,
    O: SimpleOptimizer<B>,
    O::State<1>: Send,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn propose(&mut self, w: &ParamVec<B>, g: &ParamVec<B>) -> ParamVec<B> {
        let mut u = Vec::with_capacity(w.entries().len());
        let mut states = Vec::with_capacity(w.entries().len());
        for ((id, wi), (gid, gi)) in w.entries().iter().zip(g.entries()) {
            assert_eq!(
                id, gid,
                "BurnBase::propose: parameter ids of w and g differ"
            );
            let (stepped, state) =
                self.optim
                    .step(1.0, wi.clone(), gi.clone(), self.state_on(id, wi));
            u.push((*id, stepped - wi.clone()));
            states.push((*id, state));
        }
        self.pending = Some(Pending {
            w: w.clone(),
            g: g.clone(),
            states,
        });
        ParamVec::from_entries(u)
    }

    fn accept(&mut self, eta: f64) -> ParamVec<B> {
        let pending = self
            .pending
            .take()
            .expect("BurnBase::accept without propose");
        let mut out = Vec::with_capacity(pending.w.entries().len());
        for ((id, wi), (_, gi)) in pending.w.entries().iter().zip(pending.g.entries()) {
            let (stepped, _) = self
                .optim
                .step(eta, wi.clone(), gi.clone(), self.state_on(id, wi));
            out.push((*id, stepped));
        }
        for (id, state) in pending.states {
            match state {
                Some(s) => {
                    self.states.insert(id, s);
                }
                None => {
                    self.states.remove(&id);
                }
            }
        }
        ParamVec::from_entries(out)
    }

    fn reject(&mut self) {
        self.pending = None;
    }

    fn save(&self) -> Vec<u8> {
        let mut entries: Vec<(String, O::State<1>)> = self
            .states
            .iter()
            .map(|(id, s)| (id.serialize(), s.clone()))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Recorder::<B>::record(&recorder(), entries, ())
            .expect("encoding a base-optimizer record cannot fail")
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let entries: Vec<(String, O::State<1>)> =
            Recorder::<B>::load(&recorder(), bytes.to_vec(), &Default::default())
                .map_err(|e| StateError::Decode(format!("{} state: {e}", self.name)))?;
        self.states = entries
            .into_iter()
            .map(|(id, s)| (ParamId::deserialize(&id), s))
            .collect();
        self.pending = None;
        Ok(())
    }
}

pub(crate) fn recorder() -> NamedMpkBytesRecorder<DoublePrecisionSettings> {
    NamedMpkBytesRecorder::default()
}
