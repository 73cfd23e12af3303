//! Jet rules for float tensor operations (first and second order).
//!
//! Notation in the comments: `x` is the primal input, `x₁` its tangent, `x₂` its second-order
//! coefficient, `y` the primal output (see [`super::rules`] for the jet algebra). A `None`
//! coefficient stands for zero; an op whose inputs are all constants only runs the wrapped
//! backend's op on the primals.

use super::rules::{
    add_fit, all_constant, bilinear, constant, dual, first_order, fit, jet, linear, linear_n,
    shift, smooth, square, tracks, P,
};
use super::{Dual, DualTensor};
use burn_backend::backend::{Backend, ExecutionError};
use burn_backend::get_device_settings;
use burn_backend::ops::*;
use burn_backend::tensor::{BoolTensor, Device, FloatTensor, IndexingUpdateOp, IntTensor};
use burn_backend::{
    BoolDType, Distribution, FloatDType, IntDType, Scalar, Shape, Slice, TensorData, TensorMetadata,
};
use core::future::Future;

fn bool_dtype<B: Backend>(x: &P<B>) -> BoolDType {
    get_device_settings::<B>(&B::float_device(x)).bool_dtype
}

fn int_dtype<B: Backend>(x: &P<B>) -> IntDType {
    get_device_settings::<B>(&B::float_device(x)).int_dtype
}

fn scalar(v: f64) -> Scalar {
    Scalar::from(v)
}

fn to_f64(s: Scalar) -> f64 {
    s.elem::<f64>()
}

/// Zero where `drop` holds: the derivative of a piecewise-linear selection, applied to every
/// coefficient (the mask is locally constant).
fn drop_where<B: Backend>(x: DualTensor<B>, drop: BoolTensor<B>) -> DualTensor<B> {
    linear(x, |c| B::float_mask_fill(c, drop.clone(), scalar(0.0)))
}

/// `1 / x`, correctly rounded on every backend. Burn-ndarray's `float_recip` on f32 is the
/// SIMD approximation `rcpps` (about 12 bits; measured max relative error 5.4e-5) on the part
/// of the buffer its vector loop covers and an exact division on the head and tail it leaves;
/// which entries those are depends on the buffer's address and on whether the buffer is
/// updated in place (uniquely owned), so gradients through `log`, `div` and `recip` differed
/// between two runs of the same seed (issue 11, item 5). A division is exact everywhere.
fn recip<B: Backend>(x: P<B>) -> P<B> {
    let ones = B::float_ones(x.shape(), &B::float_device(&x), x.dtype().into());
    B::float_div(ones, x)
}

/// `1 / sqrt(v)`.
fn rsqrt<B: Backend>(v: P<B>) -> P<B> {
    recip::<B>(B::float_sqrt(v))
}

/// `1 - x²`, `x² - 1` or `x² + 1` as `sign·x² + c`.
fn square_plus<B: Backend>(x: &P<B>, sign: f64, c: f64) -> P<B> {
    let x2 = square::<B>(x.clone());
    let x2 = if sign < 0.0 { B::float_neg(x2) } else { x2 };
    B::float_add_scalar(x2, scalar(c))
}

/// The second derivative `k·x / q^{3/2}` of `asin`, `acos`, `acosh`, `asinh` with `q = sign·x² + c`.
fn inverse_trig_d2<B: Backend>(x: &P<B>, q: P<B>, k: f64) -> P<B> {
    let r = rsqrt::<B>(q.clone());
    let r3 = B::float_div(r, q);
    B::float_mul_scalar(B::float_mul(x.clone(), r3), scalar(k))
}

/// For a reduction or a selection that picks one element along `dim` at `indices`, every
/// coefficient is the input's gathered at those indices.
fn gather_at<B: Backend>(
    primal: P<B>,
    x: DualTensor<B>,
    dim: usize,
    indices: &IntTensor<B>,
) -> DualTensor<B> {
    let gathered = linear(x, |c| B::float_gather(dim, c, indices.clone()));
    jet(
        primal,
        gathered.tangent,
        gathered.second,
        gathered.tracks_second,
    )
}

fn flatten<B: Backend>(x: P<B>) -> P<B> {
    let n = x.shape().num_elements();
    B::float_reshape(x, Shape::new([n]))
}

/// Tangent of a product over `dim` without dividing by the inputs (exact at zeros):
/// `d prod_i x_i = sum_i t_i * prod_{j<i} x_j * prod_{j>i} x_j`, via exclusive cumulative
/// products from both ends.
fn prod_dim_tangent<B: Backend>(x: P<B>, t: P<B>, dim: usize) -> P<B> {
    let exclusive_cumprod = |x: P<B>| -> P<B> {
        let shape = x.shape();
        let n = shape[dim];
        let mut one_shape = shape.clone();
        one_shape[dim] = 1;
        let ones = B::float_ones(one_shape, &B::float_device(&x), x.dtype().into());
        let head = B::float_slice(
            B::float_cumprod(x, dim),
            &slices_along(&shape, dim, 0, n - 1),
        );
        B::float_cat(vec![ones, head], dim)
    };
    let left = exclusive_cumprod(x.clone());
    let right = B::float_flip(exclusive_cumprod(B::float_flip(x, &[dim])), &[dim]);
    B::float_sum_dim(B::float_mul(t, B::float_mul(left, right)), dim)
}

fn slices_along(shape: &Shape, dim: usize, start: usize, end: usize) -> Vec<Slice> {
    shape
        .iter()
        .enumerate()
        .map(|(d, &n)| {
            if d == dim {
                Slice::new(start as isize, Some(end as isize), 1)
            } else {
                Slice::new(0, Some(n as isize), 1)
            }
        })
        .collect()
}

/// Cumulative max/min along `dim`: at each position, every coefficient of the input element
/// that currently holds the running extremum (the latest position where it was attained).
fn cum_extremum<B: Backend>(
    x: DualTensor<B>,
    dim: usize,
    cum: impl Fn(P<B>, usize) -> P<B>,
) -> DualTensor<B> {
    let y = cum(x.primal.clone(), dim);
    if x.is_constant() {
        return constant(y);
    }
    let shape = x.primal.shape();
    let n = shape[dim];
    let device = B::float_device(&x.primal);
    let idt = int_dtype::<B>(&x.primal);
    let mut view = vec![1; shape.num_dims()];
    view[dim] = n;
    let positions = B::int_expand(
        B::int_reshape(B::int_arange(0..n as i64, &device, idt), Shape::from(view)),
        shape.clone(),
    );
    // Positions where the input equals the running extremum; elsewhere 0 (a valid lower bound).
    let record = B::float_equal(x.primal.clone(), y.clone(), bool_dtype::<B>(&y));
    let not_record = B::bool_not(record);
    let candidates = B::int_mask_fill(positions, not_record, Scalar::from(0i64));
    let source = B::int_cummax(candidates, dim);
    gather_at(y, x, dim, &source)
}

/// `y = a / b`: `y₁ = (a₁ − y·b₁) / b`, `y₂ = (a₂ − 2·y₁·b₁ − y·b₂) / b` (from `a = y·b`).
fn divide<B: Backend>(a: DualTensor<B>, b: DualTensor<B>) -> DualTensor<B> {
    let tracks = tracks(&[&a, &b]);
    let y = B::float_div(a.primal, b.primal.clone());
    let shape = y.shape();
    let over_b = |n: P<B>| B::float_div(n, b.primal.clone());
    let yb1 = b
        .tangent
        .clone()
        .map(|b1| B::float_neg(B::float_mul(y.clone(), b1)));
    let y1 = add_fit::<B>(a.tangent, yb1, &shape).map(over_b);
    let y2 = if tracks {
        let cross = match (&y1, &b.tangent) {
            (Some(y1), Some(b1)) => Some(B::float_mul_scalar(
                B::float_mul(y1.clone(), b1.clone()),
                scalar(-2.0),
            )),
            _ => None,
        };
        let yb2 = b.second.map(|b2| B::float_neg(B::float_mul(y.clone(), b2)));
        add_fit::<B>(add_fit::<B>(a.second, cross, &shape), yb2, &shape).map(over_b)
    } else {
        None
    };
    jet(y, y1, y2, tracks)
}

/// `y = x^p` for a scalar exponent `p`: `f′ = p·x^(p−1)`, `f″ = p(p−1)·x^(p−2)`, computed with
/// the same power op.
fn pow_scalar<B: Backend>(
    x: DualTensor<B>,
    p: Scalar,
    pow: impl Fn(P<B>, Scalar) -> P<B>,
) -> DualTensor<B> {
    let pf = to_f64(p);
    if pf == 0.0 {
        return jet(pow(x.primal, p), None, None, x.tracks_second);
    }
    let minus = |k: i64| match p {
        Scalar::Int(n) => Scalar::Int(n - k),
        Scalar::UInt(n) => Scalar::Int(n as i64 - k),
        _ => scalar(pf - k as f64),
    };
    let power = |x: &P<B>, k: i64| -> P<B> {
        if pf == k as f64 {
            B::float_ones(x.shape(), &B::float_device(x), x.dtype().into())
        } else {
            pow(x.clone(), minus(k))
        }
    };
    smooth(
        x,
        |x| pow(x, p),
        |x, _| {
            if pf == 1.0 {
                B::float_ones(x.shape(), &B::float_device(x), x.dtype().into())
            } else {
                B::float_mul_scalar(power(x, 1), scalar(pf))
            }
        },
        |x, _, _| (pf != 1.0).then(|| B::float_mul_scalar(power(x, 2), scalar(pf * (pf - 1.0)))),
    )
}

/// The jet of `op(x)` computed by the composition `composed` of ops that carry their own rules,
/// with the primal taken from the wrapped backend's native `op` (for ops whose second-order rule
/// is their decomposition).
fn by_composition<B: Backend>(native: P<B>, composed: DualTensor<B>) -> DualTensor<B> {
    jet(
        native,
        composed.tangent,
        composed.second,
        composed.tracks_second,
    )
}

impl<B: Backend> FloatTensorOps<Self> for Dual<B> {
    fn float_from_data(data: TensorData, device: &Device<Self>) -> FloatTensor<Self> {
        constant(B::float_from_data(data, device))
    }

    fn float_random(
        shape: Shape,
        distribution: Distribution,
        device: &Device<Self>,
        dtype: FloatDType,
    ) -> FloatTensor<Self> {
        constant(B::float_random(shape, distribution, device, dtype))
    }

    fn float_zeros(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        constant(B::float_zeros(shape, device, dtype))
    }

    fn float_ones(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        constant(B::float_ones(shape, device, dtype))
    }

    fn float_full(
        shape: Shape,
        fill_value: Scalar,
        device: &Device<Self>,
        dtype: FloatDType,
    ) -> FloatTensor<Self> {
        constant(B::float_full(shape, fill_value, device, dtype))
    }

    fn float_into_data(
        tensor: FloatTensor<Self>,
    ) -> impl Future<Output = Result<TensorData, ExecutionError>> + Send {
        B::float_into_data(tensor.primal)
    }

    fn float_device(tensor: &FloatTensor<Self>) -> Device<Self> {
        B::float_device(&tensor.primal)
    }

    fn float_to_device(tensor: FloatTensor<Self>, device: &Device<Self>) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_to_device(p, device))
    }

    fn float_into_int(tensor: FloatTensor<Self>, out_dtype: IntDType) -> IntTensor<Self> {
        B::float_into_int(tensor.primal, out_dtype)
    }

    fn float_empty(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        constant(B::float_empty(shape, device, dtype))
    }

    fn float_repeat_dim(tensor: FloatTensor<Self>, dim: usize, times: usize) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_repeat_dim(p, dim, times))
    }

    fn float_add(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        let tracks = tracks(&[&lhs, &rhs]);
        let y = B::float_add(lhs.primal, rhs.primal);
        let shape = y.shape();
        let t = add_fit::<B>(lhs.tangent, rhs.tangent, &shape);
        let s = add_fit::<B>(lhs.second, rhs.second, &shape);
        jet(y, t, s, tracks)
    }

    fn float_add_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        shift(lhs, |x| B::float_add_scalar(x, rhs))
    }

    fn float_clamp_min(tensor: FloatTensor<Self>, min: Scalar) -> FloatTensor<Self> {
        // Every coefficient passes where x >= min, 0 below.
        if tensor.is_constant() {
            return constant(B::float_clamp_min(tensor.primal, min));
        }
        let below =
            B::float_lower_elem(tensor.primal.clone(), min, bool_dtype::<B>(&tensor.primal));
        let y = B::float_clamp_min(tensor.primal.clone(), min);
        let d = drop_where(tensor, below);
        jet(y, d.tangent, d.second, d.tracks_second)
    }

    fn float_clamp_max(tensor: FloatTensor<Self>, max: Scalar) -> FloatTensor<Self> {
        // Every coefficient passes where x <= max, 0 above.
        if tensor.is_constant() {
            return constant(B::float_clamp_max(tensor.primal, max));
        }
        let above =
            B::float_greater_elem(tensor.primal.clone(), max, bool_dtype::<B>(&tensor.primal));
        let y = B::float_clamp_max(tensor.primal.clone(), max);
        let d = drop_where(tensor, above);
        jet(y, d.tangent, d.second, d.tracks_second)
    }

    fn float_clamp(tensor: FloatTensor<Self>, min: Scalar, max: Scalar) -> FloatTensor<Self> {
        // Every coefficient passes inside [min, max], 0 outside.
        if tensor.is_constant() {
            return constant(B::float_clamp(tensor.primal, min, max));
        }
        let bd = bool_dtype::<B>(&tensor.primal);
        let below = B::float_lower_elem(tensor.primal.clone(), min, bd);
        let above = B::float_greater_elem(tensor.primal.clone(), max, bd);
        let outside = B::bool_or(below, above);
        let y = B::float_clamp(tensor.primal.clone(), min, max);
        let d = drop_where(tensor, outside);
        jet(y, d.tangent, d.second, d.tracks_second)
    }

    fn float_sub(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        let tracks = tracks(&[&lhs, &rhs]);
        let y = B::float_sub(lhs.primal, rhs.primal);
        let shape = y.shape();
        let diff = |a: Option<P<B>>, b: Option<P<B>>| match (a, b) {
            (None, None) => None,
            (Some(a), None) => Some(fit::<B>(a, &shape)),
            (None, Some(b)) => Some(fit::<B>(B::float_neg(b), &shape)),
            (Some(a), Some(b)) => Some(fit::<B>(B::float_sub(a, b), &shape)),
        };
        let t = diff(lhs.tangent, rhs.tangent);
        let s = diff(lhs.second, rhs.second);
        jet(y, t, s, tracks)
    }

    fn float_sub_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        shift(lhs, |x| B::float_sub_scalar(x, rhs))
    }

    fn float_mul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        bilinear(lhs, rhs, B::float_mul)
    }

    fn float_mul_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        linear(lhs, |p| B::float_mul_scalar(p, rhs))
    }

    fn float_div(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        divide(lhs, rhs)
    }

    fn float_div_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        linear(lhs, |p| B::float_div_scalar(p, rhs))
    }

    fn float_remainder(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // a mod b = a - q b with q = floor(a / b) locally constant (a.e.): yₖ = aₖ - q bₖ.
        let tracks = tracks(&[&lhs, &rhs]);
        let q = (rhs.tangent.is_some() || rhs.second.is_some())
            .then(|| B::float_floor(B::float_div(lhs.primal.clone(), rhs.primal.clone())));
        let y = B::float_remainder(lhs.primal, rhs.primal);
        let shape = y.shape();
        let minus_q = |b: Option<P<B>>| {
            b.map(|b| B::float_neg(B::float_mul(q.clone().expect("q is set"), b)))
        };
        let t = add_fit::<B>(lhs.tangent, minus_q(rhs.tangent), &shape);
        let s = add_fit::<B>(lhs.second, minus_q(rhs.second), &shape);
        jet(y, t, s, tracks)
    }

    fn float_remainder_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        shift(lhs, |x| B::float_remainder_scalar(x, rhs))
    }

    fn float_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        bilinear(lhs, rhs, B::float_matmul)
    }

    fn float_cross(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        dim: usize,
    ) -> FloatTensor<Self> {
        bilinear(lhs, rhs, |a, b| B::float_cross(a, b, dim))
    }

    fn float_neg(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        linear(tensor, B::float_neg)
    }

    fn float_recip(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = -y², f'' = 2 y³.
        smooth(
            tensor,
            recip::<B>,
            |_, y| B::float_neg(square::<B>(y.clone())),
            |_, y, d1| {
                Some(B::float_mul_scalar(
                    B::float_mul(d1.clone(), y.clone()),
                    scalar(-2.0),
                ))
            },
        )
    }

    fn float_transpose(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        linear(tensor, B::float_transpose)
    }

    fn float_swap_dims(tensor: FloatTensor<Self>, dim1: usize, dim2: usize) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_swap_dims(p, dim1, dim2))
    }

    fn float_permute(tensor: FloatTensor<Self>, axes: &[usize]) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_permute(p, axes))
    }

    fn float_flip(tensor: FloatTensor<Self>, axes: &[usize]) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_flip(p, axes))
    }

    fn float_reshape(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_reshape(p, shape.clone()))
    }

    fn float_gather(
        dim: usize,
        tensor: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_gather(dim, p, indices.clone()))
    }

    fn float_scatter_add(
        dim: usize,
        tensor: FloatTensor<Self>,
        indices: IntTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // Linear in (tensor, value) jointly.
        linear_n(vec![tensor, value], |mut c| {
            let v = c.pop().expect("two inputs");
            let t = c.pop().expect("two inputs");
            B::float_scatter_add(dim, t, indices.clone(), v)
        })
    }

    fn float_scatter_nd(
        data: FloatTensor<Self>,
        indices: IntTensor<Self>,
        values: FloatTensor<Self>,
        reduction: IndexingUpdateOp,
    ) -> FloatTensor<Self> {
        // Assign and Add are linear in (data, values) jointly; Mul/Min/Max have no rule here.
        match reduction {
            IndexingUpdateOp::Assign | IndexingUpdateOp::Add => {
                linear_n(vec![data, values], |mut c| {
                    let v = c.pop().expect("two inputs");
                    let d = c.pop().expect("two inputs");
                    B::float_scatter_nd(d, indices.clone(), v, reduction)
                })
            }
            other => {
                if !all_constant(&[&data, &values]) {
                    panic!(
                        "Dual: no JVP rule for float_scatter_nd with reduction {other:?}; \
                         forward-mode differentiation through it is not supported"
                    );
                }
                constant(B::float_scatter_nd(
                    data.primal,
                    indices,
                    values.primal,
                    reduction,
                ))
            }
        }
    }

    fn float_gather_nd(data: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self> {
        linear(data, |p| B::float_gather_nd(p, indices.clone()))
    }

    fn float_select(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_select(p, dim, indices.clone()))
    }

    fn float_select_add(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        linear_n(vec![tensor, value], |mut c| {
            let v = c.pop().expect("two inputs");
            let t = c.pop().expect("two inputs");
            B::float_select_add(t, dim, indices.clone(), v)
        })
    }

    fn float_slice(tensor: FloatTensor<Self>, slices: &[Slice]) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_slice(p, slices))
    }

    fn float_slice_assign(
        tensor: FloatTensor<Self>,
        slices: &[Slice],
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        linear_n(vec![tensor, value], |mut c| {
            let v = c.pop().expect("two inputs");
            let t = c.pop().expect("two inputs");
            B::float_slice_assign(t, slices, v)
        })
    }

    fn float_mask_where(
        tensor: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // y = value where mask, tensor elsewhere; every coefficient follows the same selection.
        let shape =
            B::float_mask_where(tensor.primal.clone(), mask.clone(), value.primal.clone()).shape();
        linear_n(vec![tensor, value], |mut c| {
            let v = c.pop().expect("two inputs");
            let t = fit::<B>(c.pop().expect("two inputs"), &shape);
            B::float_mask_where(t, mask.clone(), v)
        })
    }

    fn float_mask_fill(
        tensor: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        value: Scalar,
    ) -> FloatTensor<Self> {
        let y = B::float_mask_fill(tensor.primal.clone(), mask.clone(), value);
        let d = drop_where(tensor, mask);
        jet(y, d.tangent, d.second, d.tracks_second)
    }

    fn float_equal(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_equal(lhs.primal, rhs.primal, out_dtype)
    }

    fn float_not_equal(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_not_equal(lhs.primal, rhs.primal, out_dtype)
    }

    fn float_equal_elem(
        lhs: FloatTensor<Self>,
        rhs: Scalar,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_equal_elem(lhs.primal, rhs, out_dtype)
    }

    fn float_not_equal_elem(
        lhs: FloatTensor<Self>,
        rhs: Scalar,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_not_equal_elem(lhs.primal, rhs, out_dtype)
    }

    fn float_greater(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_greater(lhs.primal, rhs.primal, out_dtype)
    }

    fn float_greater_elem(
        lhs: FloatTensor<Self>,
        rhs: Scalar,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_greater_elem(lhs.primal, rhs, out_dtype)
    }

    fn float_greater_equal(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_greater_equal(lhs.primal, rhs.primal, out_dtype)
    }

    fn float_greater_equal_elem(
        lhs: FloatTensor<Self>,
        rhs: Scalar,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_greater_equal_elem(lhs.primal, rhs, out_dtype)
    }

    fn float_lower(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_lower(lhs.primal, rhs.primal, out_dtype)
    }

    fn float_lower_elem(
        lhs: FloatTensor<Self>,
        rhs: Scalar,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_lower_elem(lhs.primal, rhs, out_dtype)
    }

    fn float_lower_equal(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_lower_equal(lhs.primal, rhs.primal, out_dtype)
    }

    fn float_lower_equal_elem(
        lhs: FloatTensor<Self>,
        rhs: Scalar,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_lower_equal_elem(lhs.primal, rhs, out_dtype)
    }

    fn float_detach(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // A stop-gradient has a zero derivative, in forward mode too (as in JAX).
        jet(
            B::float_detach(tensor.primal),
            None,
            None,
            tensor.tracks_second,
        )
    }

    fn float_set_require_grad(tensor: FloatTensor<Self>, require_grad: bool) -> FloatTensor<Self> {
        shift(tensor, |x| B::float_set_require_grad(x, require_grad))
    }

    fn float_is_require_grad(tensor: &FloatTensor<Self>) -> bool {
        B::float_is_require_grad(&tensor.primal)
    }

    fn float_sum(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        linear(tensor, B::float_sum)
    }

    fn float_sum_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_sum_dim(p, dim))
    }

    fn float_prod(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        first_order("float_prod", &[&tensor]);
        let t = tensor.tangent.map(|t| {
            prod_dim_tangent::<B>(flatten::<B>(tensor.primal.clone()), flatten::<B>(t), 0)
        });
        dual(B::float_prod(tensor.primal), t)
    }

    fn float_prod_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        first_order("float_prod_dim", &[&tensor]);
        let t = tensor
            .tangent
            .map(|t| prod_dim_tangent::<B>(tensor.primal.clone(), t, dim));
        dual(B::float_prod_dim(tensor.primal, dim), t)
    }

    fn float_mean(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        linear(tensor, B::float_mean)
    }

    fn float_mean_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_mean_dim(p, dim))
    }

    fn float_cumsum(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_cumsum(p, dim))
    }

    fn float_cumprod(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // y_i = prod_{k<=i} x_k, so dy = y * cumsum(t / x). Undefined where x has exact zeros.
        first_order("float_cumprod", &[&tensor]);
        let y = B::float_cumprod(tensor.primal.clone(), dim);
        let t = tensor.tangent.map(|t| {
            B::float_mul(
                y.clone(),
                B::float_cumsum(B::float_div(t, tensor.primal), dim),
            )
        });
        dual(y, t)
    }

    fn float_cummin(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        cum_extremum(tensor, dim, B::float_cummin)
    }

    fn float_cummax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        cum_extremum(tensor, dim, B::float_cummax)
    }

    fn float_cast(tensor: FloatTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_cast(p, dtype))
    }

    fn float_exp(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = f'' = y.
        smooth(
            tensor,
            B::float_exp,
            |_, y| y.clone(),
            |_, y, _| Some(y.clone()),
        )
    }

    fn float_log(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/x, f'' = -1/x².
        smooth(
            tensor,
            B::float_log,
            |x, _| recip::<B>(x.clone()),
            |_, _, d1| Some(B::float_neg(square::<B>(d1.clone()))),
        )
    }

    fn float_log1p(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/(1+x), f'' = -1/(1+x)².
        smooth(
            tensor,
            B::float_log1p,
            |x, _| recip::<B>(B::float_add_scalar(x.clone(), scalar(1.0))),
            |_, _, d1| Some(B::float_neg(square::<B>(d1.clone()))),
        )
    }

    fn float_powf(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        if tracks(&[&lhs, &rhs]) && !all_constant(&[&lhs, &rhs]) {
            // a^b = exp(b ln a), through the rules of exp, mul and log.
            let native = B::float_powf(lhs.primal.clone(), rhs.primal.clone());
            let composed = Self::float_exp(Self::float_mul(rhs, Self::float_log(lhs)));
            return by_composition(native, composed);
        }
        // d(a^b) = ta b a^(b-1) + tb a^b ln a
        let y = B::float_powf(lhs.primal.clone(), rhs.primal.clone());
        let ta = lhs.tangent.map(|t| {
            let d = B::float_mul(
                rhs.primal.clone(),
                B::float_powf(
                    lhs.primal.clone(),
                    B::float_sub_scalar(rhs.primal.clone(), scalar(1.0)),
                ),
            );
            B::float_mul(t, d)
        });
        let tb = rhs
            .tangent
            .map(|t| B::float_mul(t, B::float_mul(y.clone(), B::float_log(lhs.primal.clone()))));
        let t = add_fit::<B>(ta, tb, &y.shape());
        dual(y, t)
    }

    fn float_powi(lhs: FloatTensor<Self>, rhs: IntTensor<Self>) -> FloatTensor<Self> {
        // x^n, n an integer tensor: f' = n x^(n-1), f'' = n (n-1) x^(n-2).
        let float_n = |x: &P<B>| B::int_into_float(rhs.clone(), x.dtype().into());
        smooth(
            lhs,
            |x| B::float_powi(x, rhs.clone()),
            |x, _| {
                let nm1 = B::int_sub_scalar(rhs.clone(), Scalar::from(1i64));
                B::float_mul(float_n(x), B::float_powi(x.clone(), nm1))
            },
            |x, _, _| {
                let nm2 = B::int_sub_scalar(rhs.clone(), Scalar::from(2i64));
                let n = float_n(x);
                let n_nm1 = B::float_mul(n.clone(), B::float_sub_scalar(n, scalar(1.0)));
                Some(B::float_mul(n_nm1, B::float_powi(x.clone(), nm2)))
            },
        )
    }

    fn float_powi_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        pow_scalar::<B>(lhs, rhs, B::float_powi_scalar)
    }

    fn float_powi_scalar_impl(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        pow_scalar::<B>(lhs, rhs, B::float_powi_scalar_impl)
    }

    fn float_powf_scalar(tensor: FloatTensor<Self>, value: Scalar) -> FloatTensor<Self> {
        pow_scalar::<B>(tensor, value, B::float_powf_scalar)
    }

    fn float_powf_scalar_impl(tensor: FloatTensor<Self>, value: Scalar) -> FloatTensor<Self> {
        pow_scalar::<B>(tensor, value, B::float_powf_scalar_impl)
    }

    fn float_sqrt(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/(2y), f'' = -1/(4y³) = -f' / (2 y²)... written as -2 f'³.
        smooth(
            tensor,
            B::float_sqrt,
            |_, y| recip::<B>(B::float_mul_scalar(y.clone(), scalar(2.0))),
            |_, _, d1| {
                let d1_3 = B::float_mul(square::<B>(d1.clone()), d1.clone());
                Some(B::float_mul_scalar(d1_3, scalar(-2.0)))
            },
        )
    }

    fn float_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = sign(x), f'' = 0 (a.e.).
        smooth(
            tensor,
            B::float_abs,
            |x, _| B::float_sign(x.clone()),
            |_, _, _| None,
        )
    }

    fn float_cos(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = -sin x, f'' = -y.
        smooth(
            tensor,
            B::float_cos,
            |x, _| B::float_neg(B::float_sin(x.clone())),
            |_, y, _| Some(B::float_neg(y.clone())),
        )
    }

    fn float_sin(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = cos x, f'' = -y.
        smooth(
            tensor,
            B::float_sin,
            |x, _| B::float_cos(x.clone()),
            |_, y, _| Some(B::float_neg(y.clone())),
        )
    }

    fn float_tan(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1 + y², f'' = 2 y f'.
        smooth(
            tensor,
            B::float_tan,
            |_, y| square_plus::<B>(y, 1.0, 1.0),
            |_, y, d1| {
                Some(B::float_mul_scalar(
                    B::float_mul(y.clone(), d1.clone()),
                    scalar(2.0),
                ))
            },
        )
    }

    fn float_cosh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = sinh x, f'' = y.
        smooth(
            tensor,
            B::float_cosh,
            |x, _| B::float_sinh(x.clone()),
            |_, y, _| Some(y.clone()),
        )
    }

    fn float_sinh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = cosh x, f'' = y.
        smooth(
            tensor,
            B::float_sinh,
            |x, _| B::float_cosh(x.clone()),
            |_, y, _| Some(y.clone()),
        )
    }

    fn float_tanh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1 - y², f'' = -2 y f'.
        smooth(
            tensor,
            B::float_tanh,
            |_, y| square_plus::<B>(y, -1.0, 1.0),
            |_, y, d1| {
                Some(B::float_mul_scalar(
                    B::float_mul(y.clone(), d1.clone()),
                    scalar(-2.0),
                ))
            },
        )
    }

    fn float_acos(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = -1/sqrt(1 - x²), f'' = -x / (1 - x²)^{3/2}.
        smooth(
            tensor,
            B::float_acos,
            |x, _| B::float_neg(rsqrt::<B>(square_plus::<B>(x, -1.0, 1.0))),
            |x, _, _| {
                Some(inverse_trig_d2::<B>(
                    x,
                    square_plus::<B>(x, -1.0, 1.0),
                    -1.0,
                ))
            },
        )
    }

    fn float_acosh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/sqrt(x² - 1), f'' = -x / (x² - 1)^{3/2}.
        smooth(
            tensor,
            B::float_acosh,
            |x, _| rsqrt::<B>(square_plus::<B>(x, 1.0, -1.0)),
            |x, _, _| {
                Some(inverse_trig_d2::<B>(
                    x,
                    square_plus::<B>(x, 1.0, -1.0),
                    -1.0,
                ))
            },
        )
    }

    fn float_asin(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/sqrt(1 - x²), f'' = x / (1 - x²)^{3/2}.
        smooth(
            tensor,
            B::float_asin,
            |x, _| rsqrt::<B>(square_plus::<B>(x, -1.0, 1.0)),
            |x, _, _| Some(inverse_trig_d2::<B>(x, square_plus::<B>(x, -1.0, 1.0), 1.0)),
        )
    }

    fn float_asinh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/sqrt(x² + 1), f'' = -x / (x² + 1)^{3/2}.
        smooth(
            tensor,
            B::float_asinh,
            |x, _| rsqrt::<B>(square_plus::<B>(x, 1.0, 1.0)),
            |x, _, _| Some(inverse_trig_d2::<B>(x, square_plus::<B>(x, 1.0, 1.0), -1.0)),
        )
    }

    fn float_atan(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/(1 + x²), f'' = -2x f'².
        smooth(
            tensor,
            B::float_atan,
            |x, _| recip::<B>(square_plus::<B>(x, 1.0, 1.0)),
            |x, _, d1| {
                let v = B::float_mul(x.clone(), square::<B>(d1.clone()));
                Some(B::float_mul_scalar(v, scalar(-2.0)))
            },
        )
    }

    fn float_atanh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 1/(1 - x²), f'' = 2x f'².
        smooth(
            tensor,
            B::float_atanh,
            |x, _| recip::<B>(square_plus::<B>(x, -1.0, 1.0)),
            |x, _, d1| {
                let v = B::float_mul(x.clone(), square::<B>(d1.clone()));
                Some(B::float_mul_scalar(v, scalar(2.0)))
            },
        )
    }

    fn float_atan2(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // y = atan2(a, b): dy = (b ta - a tb) / (a^2 + b^2)
        first_order("float_atan2", &[&lhs, &rhs]);
        let (a, b) = (lhs.primal, rhs.primal);
        let y = B::float_atan2(a.clone(), b.clone());
        let t = match (lhs.tangent, rhs.tangent) {
            (None, None) => None,
            (ta, tb) => {
                let den = B::float_add(square::<B>(a.clone()), square::<B>(b.clone()));
                let na = ta.map(|t| B::float_mul(b.clone(), t));
                let nb = tb.map(|t| B::float_neg(B::float_mul(a.clone(), t)));
                add_fit::<B>(na, nb, &y.shape()).map(|n| B::float_div(n, den))
            }
        };
        dual(y, t)
    }

    fn float_round(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Piecewise constant: zero derivatives almost everywhere.
        constant(B::float_round(tensor.primal))
    }

    fn float_floor(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        constant(B::float_floor(tensor.primal))
    }

    fn float_ceil(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        constant(B::float_ceil(tensor.primal))
    }

    fn float_trunc(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        constant(B::float_trunc(tensor.primal))
    }

    fn float_erf(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = 2/sqrt(pi) exp(-x²), f'' = -2x f'.
        smooth(
            tensor,
            B::float_erf,
            |x, _| {
                let g = B::float_exp(B::float_neg(square::<B>(x.clone())));
                B::float_mul_scalar(g, scalar(core::f64::consts::FRAC_2_SQRT_PI))
            },
            |x, _, d1| {
                Some(B::float_mul_scalar(
                    B::float_mul(x.clone(), d1.clone()),
                    scalar(-2.0),
                ))
            },
        )
    }

    fn float_cat(tensors: Vec<FloatTensor<Self>>, dim: usize) -> FloatTensor<Self> {
        linear_n(tensors, |c| B::float_cat(c, dim))
    }

    fn float_argmax(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        B::float_argmax(tensor.primal, dim, out_dtype)
    }

    fn float_argtopk(
        tensor: FloatTensor<Self>,
        dim: usize,
        k: usize,
        out_dtype: IntDType,
    ) -> IntTensor<Self> {
        B::float_argtopk(tensor.primal, dim, k, out_dtype)
    }

    fn float_topk(tensor: FloatTensor<Self>, dim: usize, k: usize) -> FloatTensor<Self> {
        // The k largest along `dim`, in descending order: a sort then a slice, so the
        // coefficients follow the sorted indices (not every backend implements argtopk).
        if tensor.is_constant() {
            return jet(
                B::float_topk(tensor.primal, dim, k),
                None,
                None,
                tensor.tracks_second,
            );
        }
        let shape = tensor.primal.shape();
        let dt = int_dtype::<B>(&tensor.primal);
        let sorted = Self::float_sort_with_indices(tensor, dim, true, dt).0;
        Self::float_slice(sorted, &slices_along(&shape, dim, 0, k))
    }

    fn float_argmin(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        B::float_argmin(tensor.primal, dim, out_dtype)
    }

    fn float_max(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        if tensor.is_constant() {
            return constant(B::float_max(tensor.primal));
        }
        Self::float_max_dim(linear(tensor, flatten::<B>), 0)
    }

    fn float_max_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        if tensor.is_constant() {
            return constant(B::float_max_dim(tensor.primal, dim));
        }
        let dt = int_dtype::<B>(&tensor.primal);
        Self::float_max_dim_with_indices(tensor, dim, dt).0
    }

    fn float_max_dim_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (y, idx) = B::float_max_dim_with_indices(tensor.primal.clone(), dim, indices_dtype);
        (gather_at(y, tensor, dim, &idx), idx)
    }

    fn float_min(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        if tensor.is_constant() {
            return constant(B::float_min(tensor.primal));
        }
        Self::float_min_dim(linear(tensor, flatten::<B>), 0)
    }

    fn float_min_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        if tensor.is_constant() {
            return constant(B::float_min_dim(tensor.primal, dim));
        }
        let dt = int_dtype::<B>(&tensor.primal);
        Self::float_min_dim_with_indices(tensor, dim, dt).0
    }

    fn float_min_dim_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (y, idx) = B::float_min_dim_with_indices(tensor.primal.clone(), dim, indices_dtype);
        (gather_at(y, tensor, dim, &idx), idx)
    }

    fn float_max_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        if tensor.is_constant() {
            return constant(B::float_max_abs(tensor.primal));
        }
        Self::float_max_abs_dim(linear(tensor, flatten::<B>), 0)
    }

    fn float_max_abs_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // y = |x_k| at k = argmax |x|: yᵢ = sign(x_k)·(xᵢ)_k for each coefficient.
        if tensor.is_constant() {
            return constant(B::float_max_abs_dim(tensor.primal, dim));
        }
        let x = tensor.primal.clone();
        let idx = B::float_argmax(B::float_abs(x.clone()), dim, int_dtype::<B>(&x));
        let xk = B::float_gather(dim, x, idx.clone());
        let sign = B::float_sign(xk.clone());
        let picked = linear(tensor, |c| {
            B::float_mul(B::float_gather(dim, c, idx.clone()), sign.clone())
        });
        jet(
            B::float_abs(xk),
            picked.tangent,
            picked.second,
            picked.tracks_second,
        )
    }

    fn float_any(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        B::float_any(tensor.primal, out_dtype)
    }

    fn float_any_dim(
        tensor: FloatTensor<Self>,
        dim: usize,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_any_dim(tensor.primal, dim, out_dtype)
    }

    fn float_all(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        B::float_all(tensor.primal, out_dtype)
    }

    fn float_all_dim(
        tensor: FloatTensor<Self>,
        dim: usize,
        out_dtype: BoolDType,
    ) -> BoolTensor<Self> {
        B::float_all_dim(tensor.primal, dim, out_dtype)
    }

    fn float_sign(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        constant(B::float_sign(tensor.primal))
    }

    fn float_expand(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_expand(p, shape.clone()))
    }

    fn float_sort(tensor: FloatTensor<Self>, dim: usize, descending: bool) -> FloatTensor<Self> {
        if tensor.is_constant() {
            return constant(B::float_sort(tensor.primal, dim, descending));
        }
        let dt = int_dtype::<B>(&tensor.primal);
        Self::float_sort_with_indices(tensor, dim, descending, dt).0
    }

    fn float_sort_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        descending: bool,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (y, idx) =
            B::float_sort_with_indices(tensor.primal.clone(), dim, descending, indices_dtype);
        (gather_at(y, tensor, dim, &idx), idx)
    }

    fn float_argsort(
        tensor: FloatTensor<Self>,
        dim: usize,
        descending: bool,
        out_dtype: IntDType,
    ) -> IntTensor<Self> {
        B::float_argsort(tensor.primal, dim, descending, out_dtype)
    }

    fn float_grid_sample_2d(
        tensor: FloatTensor<Self>,
        grid: FloatTensor<Self>,
        options: GridSampleOptions,
    ) -> FloatTensor<Self> {
        assert!(
            all_constant(&[&tensor, &grid]),
            "Dual: no JVP rule for float_grid_sample_2d; forward-mode differentiation through \
             it is not supported"
        );
        constant(B::float_grid_sample_2d(tensor.primal, grid.primal, options))
    }

    fn float_unfold(
        tensor: FloatTensor<Self>,
        dim: usize,
        size: usize,
        step: usize,
    ) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_unfold(p, dim, size, step))
    }

    fn float_is_nan(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        B::float_is_nan(tensor.primal, out_dtype)
    }

    fn float_is_inf(tensor: FloatTensor<Self>, out_dtype: BoolDType) -> BoolTensor<Self> {
        B::float_is_inf(tensor.primal, out_dtype)
    }
}
