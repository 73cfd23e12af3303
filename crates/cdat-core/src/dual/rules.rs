//! Building blocks shared by the JVP rules of every op family.

use super::DualTensor;
use burn_backend::backend::Backend;
use burn_backend::tensor::FloatTensor;

/// A float primitive of the wrapped backend.
pub(super) type P<B> = FloatTensor<B>;

/// A dual tensor from its parts.
pub(super) fn dual<B: Backend>(primal: P<B>, tangent: Option<P<B>>) -> DualTensor<B> {
    DualTensor::new(primal, tangent)
}

/// An op linear in its only float input: the tangent goes through the op itself.
pub(super) fn linear<B: Backend>(x: DualTensor<B>, op: impl Fn(P<B>) -> P<B>) -> DualTensor<B> {
    let tangent = x.tangent.map(&op);
    dual(op(x.primal), tangent)
}

/// Sum of two optional tangents of the same shape (`None` is zero).
pub(super) fn sum_opt<B: Backend>(a: Option<P<B>>, b: Option<P<B>>) -> Option<P<B>> {
    match (a, b) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(a),
        (Some(a), Some(b)) => Some(B::float_add(a, b)),
    }
}
