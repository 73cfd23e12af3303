//! The object-safe face of a tuner ([`Tuner`]), what a step reports ([`StepReport`]) and the
//! loss closure it takes ([`LossFn`]). A boxed tuner (as the registry builds for the CLI) is
//! used through this trait; a typed [`Tuned`](super::driver::Tuned) also has `to_record` /
//! `load_record`.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::error::{StateError, StepError};
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

/// The loss of a model on the current batch.
pub type LossFn<'a, B, M> = dyn Fn(&M) -> Tensor<HvpBackend<B>, 1> + 'a;

/// A learning-rate tuner over a base direction, for models on [`HvpBackend<B>`].
pub trait Tuner<B: Backend, M: AutodiffModule<HvpBackend<B>>> {
    /// One step: returns the updated model (or, on error, the unchanged model) and the report.
    fn step(&mut self, model: M, loss_fn: &LossFn<'_, B, M>) -> (M, Result<StepReport, StepError>);

    /// The tuner's name (`"cdat"`, ...).
    fn name(&self) -> &'static str;

    /// The base optimizer's name (`"adam"`, ...).
    fn base_name(&self) -> &'static str;

    /// The learning rate the next step will take when it is known in advance (constant,
    /// schedules, hypergradient), else the last one taken; `None` before any information.
    fn lr_hint(&self) -> Option<f64>;

    /// Accepted steps so far.
    fn steps(&self) -> usize;

    /// Chooses how the rule's `uᵀHu` is computed (default: one forward pass of a second-order
    /// jet; forward-over-reverse for a model with an op that has no second-order rule). A tuner
    /// that measures no curvature ignores it.
    fn set_curvature_method(&mut self, method: CurvatureMethod);

    /// The tuner's whole state (rule state, step count, base-optimizer state per parameter) as
    /// the bytes of its Burn record (`Tuned::to_record`). Restoring it with
    /// [`load_state`](Self::load_state) into a fresh tuner of the same config makes the next
    /// steps identical.
    fn save_state(&self) -> Vec<u8>;

    /// Restores a state saved by [`save_state`](Self::save_state); on error the tuner is
    /// unchanged.
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), StateError>;
}
