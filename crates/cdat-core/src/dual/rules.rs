//! The jet algebra every op family's rules are written in.
//!
//! A [`DualTensor`] is a jet `x(t) = x₀ + t·x₁ + ½t²·x₂` (`x₂` tracked only when
//! `tracks_second`). An op's rule maps input jets to the output jet `y(t) = op(x(t))`; almost
//! every rule is one of four shapes:
//!
//! - [`linear`] / [`linear_n`]: `op` linear (jointly) in its float inputs: each coefficient goes
//!   through the op, `yₖ = op(xₖ)`. Selections (gather, max at fixed indices, relu's mask) are
//!   linear once the indices or the mask are fixed.
//! - [`bilinear`]: `y₁ = op(a₁, b₀) + op(a₀, b₁)`,
//!   `y₂ = op(a₂, b₀) + 2·op(a₁, b₁) + op(a₀, b₂)`; absent terms are skipped.
//! - [`smooth`]: elementwise `y = f(x)`: `y₁ = f′(x₀)·x₁`, `y₂ = f′(x₀)·x₂ + f″(x₀)·x₁²`.
//! - [`first_order`]: an op with a JVP rule but no second-order rule calls it first; it panics
//!   ("no second-order rule for …") when asked for a second coefficient, never dropping it.
//!
//! `None` coefficients are zero and cost nothing: an op on constants runs only the wrapped
//! backend's op, and a first-order dual does exactly the JVP work.

use super::DualTensor;
use burn_backend::backend::Backend;
use burn_backend::tensor::FloatTensor;
use burn_backend::{Scalar, Shape, TensorMetadata};

/// A float primitive of the wrapped backend.
pub(super) type P<B> = FloatTensor<B>;

/// A jet from its parts; `tracks` says whether the second coefficient is tracked.
pub(super) fn jet<B: Backend>(
    primal: P<B>,
    tangent: Option<P<B>>,
    second: Option<P<B>>,
    tracks: bool,
) -> DualTensor<B> {
    debug_assert!(tracks || second.is_none());
    DualTensor {
        primal,
        tangent,
        second,
        tracks_second: tracks,
    }
}

/// A jet with zero derivatives.
pub(super) fn constant<B: Backend>(primal: P<B>) -> DualTensor<B> {
    DualTensor::constant(primal)
}

/// A first-order result (the second coefficient untracked).
pub(super) fn dual<B: Backend>(primal: P<B>, tangent: Option<P<B>>) -> DualTensor<B> {
    DualTensor::new(primal, tangent)
}

/// Whether the output of an op on `xs` tracks the second coefficient: when any input does.
/// Mixing a jet with a first-order dual that carries a tangent would need the latter's unknown
/// second coefficient, so it is refused.
pub(super) fn tracks<B: Backend>(xs: &[&DualTensor<B>]) -> bool {
    let any = xs.iter().any(|x| x.tracks_second);
    if any {
        assert!(
            xs.iter().all(|x| x.tracks_second || x.tangent.is_none()),
            "Dual: an op mixes a second-order jet with a first-order dual tensor that carries a \
             tangent; set the second-order coefficient (`DualTensor::jet`) on every input"
        );
    }
    any
}

/// Whether every input is a constant (no derivative coefficient).
pub(super) fn all_constant<B: Backend>(xs: &[&DualTensor<B>]) -> bool {
    xs.iter().all(|x| x.is_constant())
}

/// Guard of a rule that only knows first order: panics when any input asks for a second
/// coefficient, i.e. is a jet carrying a derivative.
pub(super) fn first_order<B: Backend>(op: &str, xs: &[&DualTensor<B>]) {
    if xs.iter().any(|x| x.tracks_second && !x.is_constant()) {
        panic!(
            "Dual: no second-order rule for {op}; second-order forward mode (uᵀHu by a jet) \
             through it is not supported: use forward-over-reverse (`CurvatureMethod::ForwardOverReverse`)"
        );
    }
}

/// `a + b` of optional coefficients of the same shape (`None` is zero).
pub(super) fn sum_opt<B: Backend>(a: Option<P<B>>, b: Option<P<B>>) -> Option<P<B>> {
    match (a, b) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(a),
        (Some(a), Some(b)) => Some(B::float_add(a, b)),
    }
}

/// Broadcasts a coefficient to the output shape when a broadcasting op left it smaller.
pub(super) fn fit<B: Backend>(t: P<B>, shape: &Shape) -> P<B> {
    if &t.shape() == shape {
        t
    } else {
        B::float_expand(t, shape.clone())
    }
}

/// `a + b` of optional coefficients, broadcast to `shape`.
pub(super) fn add_fit<B: Backend>(a: Option<P<B>>, b: Option<P<B>>, shape: &Shape) -> Option<P<B>> {
    sum_opt::<B>(a.map(|a| fit::<B>(a, shape)), b.map(|b| fit::<B>(b, shape)))
}

/// Zeros of the shape, device and dtype of `x`.
pub(super) fn zeros_like<B: Backend>(x: &P<B>) -> P<B> {
    B::float_zeros(x.shape(), &B::float_device(x), x.dtype().into())
}

/// `x * x`.
pub(super) fn square<B: Backend>(x: P<B>) -> P<B> {
    B::float_mul(x.clone(), x)
}

/// An op linear in its only float input: each coefficient goes through the op itself.
pub(super) fn linear<B: Backend>(x: DualTensor<B>, op: impl Fn(P<B>) -> P<B>) -> DualTensor<B> {
    let tangent = x.tangent.map(&op);
    let second = x.second.map(&op);
    jet(op(x.primal), tangent, second, x.tracks_second)
}

/// An op that adds a constant to its input (`x + c`, `x mod c` a.e.): the derivatives pass.
pub(super) fn shift<B: Backend>(x: DualTensor<B>, op: impl FnOnce(P<B>) -> P<B>) -> DualTensor<B> {
    jet(op(x.primal), x.tangent, x.second, x.tracks_second)
}

/// An op linear jointly in several float inputs (scatter, slice-assign, cat, where, ...): each
/// order's coefficients go through the op together, absent ones replaced by zeros of the input's
/// shape; an order with no coefficient at all stays absent.
pub(super) fn linear_n<B: Backend>(
    xs: Vec<DualTensor<B>>,
    op: impl Fn(Vec<P<B>>) -> P<B>,
) -> DualTensor<B> {
    let refs: Vec<&DualTensor<B>> = xs.iter().collect();
    let tracks = tracks(&refs);
    let order = |pick: fn(&DualTensor<B>) -> Option<&P<B>>| -> Option<P<B>> {
        if xs.iter().all(|x| pick(x).is_none()) {
            return None;
        }
        let coefficients = xs
            .iter()
            .map(|x| {
                pick(x)
                    .cloned()
                    .unwrap_or_else(|| zeros_like::<B>(&x.primal))
            })
            .collect();
        Some(op(coefficients))
    };
    let tangent = order(|x| x.tangent.as_ref());
    let second = order(|x| x.second.as_ref());
    let primals = xs.into_iter().map(|x| x.primal).collect();
    jet(op(primals), tangent, second, tracks)
}

/// An op bilinear in two float inputs:
/// `y₁ = op(a₁, b₀) + op(a₀, b₁)` and `y₂ = op(a₂, b₀) + 2·op(a₁, b₁) + op(a₀, b₂)`.
pub(super) fn bilinear<B: Backend>(
    a: DualTensor<B>,
    b: DualTensor<B>,
    op: impl Fn(P<B>, P<B>) -> P<B>,
) -> DualTensor<B> {
    let tracks = tracks(&[&a, &b]);
    let second = if tracks {
        let cross = match (&a.tangent, &b.tangent) {
            (Some(a1), Some(b1)) => Some(B::float_mul_scalar(
                op(a1.clone(), b1.clone()),
                Scalar::from(2.0),
            )),
            _ => None,
        };
        let a2 = a.second.map(|a2| op(a2, b.primal.clone()));
        let b2 = b.second.map(|b2| op(a.primal.clone(), b2));
        sum_opt::<B>(sum_opt::<B>(a2, cross), b2)
    } else {
        None
    };
    let ta = a.tangent.map(|a1| op(a1, b.primal.clone()));
    let tb = b.tangent.map(|b1| op(a.primal.clone(), b1));
    jet(op(a.primal, b.primal), sum_opt::<B>(ta, tb), second, tracks)
}

/// An elementwise op `y = f(x)` with derivatives `d1(x, y) = f′(x)` and `d2(x, y, f′) = f″(x)`
/// (`None` when `f″ = 0`): `y₁ = f′·x₁`, `y₂ = f′·x₂ + f″·x₁²`. The derivatives are evaluated
/// only when a coefficient needs them.
pub(super) fn smooth<B: Backend>(
    x: DualTensor<B>,
    f: impl FnOnce(P<B>) -> P<B>,
    d1: impl FnOnce(&P<B>, &P<B>) -> P<B>,
    d2: impl FnOnce(&P<B>, &P<B>, &P<B>) -> Option<P<B>>,
) -> DualTensor<B> {
    if x.is_constant() {
        return jet(f(x.primal), None, None, x.tracks_second);
    }
    let y = f(x.primal.clone());
    let g1 = d1(&x.primal, &y);
    let second = if x.tracks_second {
        let curvature = match &x.tangent {
            Some(x1) => d2(&x.primal, &y, &g1).map(|g2| B::float_mul(g2, square::<B>(x1.clone()))),
            None => None,
        };
        let along = x.second.map(|x2| B::float_mul(g1.clone(), x2));
        sum_opt::<B>(along, curvature)
    } else {
        None
    };
    let tangent = x.tangent.map(|x1| B::float_mul(g1, x1));
    jet(y, tangent, second, x.tracks_second)
}
