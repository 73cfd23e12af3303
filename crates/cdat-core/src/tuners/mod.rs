//! Learning-rate tuners (Roulet et al., NeurIPS 2024): given a base optimizer's direction `u`
//! (the update it would take with learning rate 1), choose `η` and update `w ← w + η u`.
//!
//! Every tuner implements [`Tuner`]: the caller passes the model and a closure computing the loss
//! of a model on the current batch; the tuner returns the updated model and a [`StepReport`].
//!
//! - [`base`]: base directions from Burn's own optimizers ([`BaseConfig`]);
//! - one module per rule: [`constant`], [`schedule`], [`linesearch`], [`greedy`], [`cdat`],
//!   [`polyak`], [`hypergradient`], [`sharpness`];
//! - [`driver`]: the step they share ([`Tuned`]), [`state`]: save/restore mid-run;
//! - [`config`]: [`TunerConfig`], serde-serializable, which builds any of them.
//!
//! ```ignore
//! let mut tuner = TunerConfig::from_str("cdat")?.build::<B, Model<HvpBackend<B>>>(BaseConfig::adam())?;
//! let (model, report) = tuner.step(model, &|m| m.loss(&x, &y));
//! ```

pub mod base;
pub mod cdat;
pub mod config;
pub mod constant;
pub mod driver;
pub mod greedy;
pub mod hypergradient;
pub mod linesearch;
pub mod polyak;
pub mod schedule;
pub mod sharpness;
pub mod state;

pub use base::{BaseConfig, BaseDirection, BurnBase, GradientDescent};
pub use cdat::{Cdat, CdatConfig};
pub use config::{BoxedTuner, ConfigError, TunerConfig};
pub use constant::{Constant, ConstantConfig};
pub use driver::{LrRule, StepContext, Tuned};
pub use greedy::{Greedy, GreedyConfig};
pub use hypergradient::{Hypergradient, HypergradientConfig};
pub use linesearch::{Linesearch, LinesearchConfig};
pub use polyak::{Polyak, PolyakConfig};
pub use schedule::{Schedule, ScheduleConfig, ScheduleKind};
pub use sharpness::{SharpnessConfig, SharpnessRule};
pub use state::{RuleState, StateError, TunerRecord, VectorsRecord};

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::curvature::{CurvatureMethod, HvpBackend};

/// What one tuner step measured and spent.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    /// `f(w)` before the step.
    pub loss: f64,
    /// The learning rate `η` taken.
    pub lr: f64,
    /// `gᵀu`.
    pub slope: f64,
    /// `uᵀHu`, when the tuner computed it.
    pub curvature: Option<f64>,
    /// `‖g‖`.
    pub grad_norm: f64,
    /// `‖u‖`.
    pub dir_norm: f64,
    /// Loss evaluations (forward passes without gradient) spent.
    pub loss_evals: usize,
    /// Gradient evaluations spent.
    pub grad_evals: usize,
    /// Hessian-vector products (or directional-curvature passes) spent.
    pub hvp_evals: usize,
    /// λmax, when the tuner measured the sharpness this step.
    #[serde(default)]
    pub sharpness: Option<f64>,
    /// Why the step is unusual, when it is (non-descent direction, linesearch cap reached, ...).
    pub note: Option<String>,
}

/// A step that could not be taken; the model is returned unchanged.
#[derive(Clone, Debug, PartialEq)]
pub enum StepError {
    /// A loss, gradient, direction or curvature was NaN or infinite.
    NonFinite {
        /// Which quantity.
        what: &'static str,
        /// Its value (for scalars) or NaN.
        value: f64,
    },
}

impl core::fmt::Display for StepError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StepError::NonFinite { what, value } => {
                write!(
                    f,
                    "step rejected: {what} is not finite ({value}); parameters unchanged"
                )
            }
        }
    }
}

impl std::error::Error for StepError {}

/// The loss of a model on the current batch.
pub type LossFn<'a, B, M> = dyn Fn(&M) -> Tensor<HvpBackend<B>, 1> + 'a;

/// A learning-rate tuner over a base direction, for models on [`HvpBackend<B>`].
pub trait Tuner<B: Backend, M: AutodiffModule<HvpBackend<B>>> {
    /// One step: returns the updated model (or, on error, the unchanged model) and the report.
    fn step(&mut self, model: M, loss_fn: &LossFn<'_, B, M>) -> (M, Result<StepReport, StepError>);

    /// The tuner's name (`"cdat"`, ...).
    fn name(&self) -> &'static str {
        "custom"
    }

    /// The base optimizer's name (`"adam"`, ...).
    fn base_name(&self) -> &'static str {
        "custom"
    }

    /// The learning rate the next step will take when it is known in advance (constant,
    /// schedules, hypergradient), else the last one taken; `None` before any information.
    fn lr_hint(&self) -> Option<f64> {
        None
    }

    /// Accepted steps so far.
    fn steps(&self) -> usize {
        0
    }

    /// Chooses how the rule's `uᵀHu` is computed (default: one forward pass of a second-order
    /// jet; forward-over-reverse for a model with an op that has no second-order rule). A tuner
    /// that measures no curvature ignores it.
    fn set_curvature_method(&mut self, method: CurvatureMethod) {
        let _ = method;
    }

    /// The tuner's whole state (rule state, step count, base-optimizer state per parameter) as
    /// a Burn record's bytes. Restoring it with [`load_state`](Self::load_state) into a fresh
    /// tuner of the same config makes the next steps identical.
    fn save_state(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Restores a state saved by [`save_state`](Self::save_state); on error the tuner is
    /// unchanged.
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let _ = bytes;
        Err(StateError::Decode(
            "this tuner does not support saving its state".to_string(),
        ))
    }
}
