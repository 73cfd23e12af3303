//! Learning-rate tuners (Roulet et al., NeurIPS 2024): given a base optimizer's direction `u`
//! (the update it would take with learning rate 1), choose `η` and update `w ← w + η u`.
//!
//! Every tuner implements [`Tuner`]: the caller passes the model and a closure computing the loss
//! of a model on the current batch; the tuner returns the updated model and a [`StepReport`].

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::curvature::HvpBackend;

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
                write!(f, "step rejected: {what} is not finite ({value}); parameters unchanged")
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
}
