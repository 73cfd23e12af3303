//! The protocol of a direction source ([`BaseDirection`]), the configs that build one
//! ([`BaseOptimizerConfig`]) and the recorder their states are saved with.

use burn::record::{DoublePrecisionSettings, NamedMpkBytesRecorder, Record};
use burn::tensor::backend::Backend;

use crate::params::ParamVec;
use crate::tuners::error::StateError;

/// A source of update directions `u(w, g, state)` with learning rate 1.
///
/// The protocol for one tuner step is `propose` (state update kept pending), then either
/// `accept(η)` (state committed, new parameter values returned) or `reject` (state unchanged).
pub trait BaseDirection<B: Backend>: Send {
    /// The committed state, as a Burn record.
    type Record: Record<B>;

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

    /// The committed state.
    fn to_record(&self) -> Self::Record;

    /// Restores a state from [`to_record`](Self::to_record) (tensors may be on another device:
    /// they are moved to the gradient's device at the next step); on error nothing changes.
    fn load_record(&mut self, record: Self::Record) -> Result<(), StateError>;
}

/// A config that builds a direction source: Burn's optimizer configs and
/// [`GradientDescentConfig`].
///
/// ```
/// use burn::backend::NdArray;
/// use burn::optim::AdamConfig;
/// use cdat_core::tuners::{BaseDirection, BaseOptimizerConfig};
///
/// let base = BaseOptimizerConfig::<NdArray>::init_base(&AdamConfig::new().with_amsgrad(true));
/// assert_eq!(base.name(), "adam");
/// ```
pub trait BaseOptimizerConfig<B: Backend> {
    /// The direction source.
    type Base: BaseDirection<B>;

    /// Builds it (no state yet).
    fn init_base(&self) -> Self::Base;
}

/// The recorder of tuner and base states as bytes (named MessagePack, f64 precision: bitwise
/// round trips for f32 and f64 backends).
pub fn recorder() -> NamedMpkBytesRecorder<DoublePrecisionSettings> {
    NamedMpkBytesRecorder::default()
}
