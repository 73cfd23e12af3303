//! Data-parallel measurement: each of N peers holds a replica of the model and a shard of
//! every batch, and a tuner that is given an [`AllReduce`] replaces every quantity it measures
//! on its shard by the mean over the peers before using it:
//!
//! ```text
//! f, g           (the loss and gradient: a step's only tensor traffic, as in any data-parallel step)
//! uᵀHu           (one scalar: the jet pass on the shard)
//! f(w + ηu)      (one scalar per linesearch or safeguard probe)
//! H·v            (one vector per Lanczos step of the sharpness rule)
//! ```
//!
//! With equal shards of a loss that is a mean over examples, each mean is the full batch's
//! value, so every peer takes the same direction (the base optimizer's state is replicated), the
//! same η and the same update as one device on the whole batch. Every peer calls the reductions
//! in the same order (the rules branch only on reduced values), as a collective requires.
//! [`Collective`](super::collective::Collective) implements it on Burn's `burn-collective`.

use burn::tensor::backend::Backend;

use crate::params::ParamVec;

/// The mean over data-parallel peers of a value each peer computed on its shard (every peer
/// receives the same result).
pub trait AllReduce<B: Backend>: Send {
    /// The mean of each peer's `v`.
    fn mean(&self, v: ParamVec<B>) -> ParamVec<B>;

    /// The mean of each peer's `x`.
    fn mean_scalar(&self, x: f64) -> f64;
}
