//! JVP rules for float tensor operations.
//!
//! Notation in the comments: `x` is the primal input, `t` its tangent, `y` the primal output.
//! A tangent of `None` stands for zero; an op whose inputs all have `None` tangents only runs
//! the wrapped backend's op on the primals.

use super::rules::{dual, linear, sum_opt, P};
use super::{Dual, DualTensor};
use burn_backend::backend::{Backend, ExecutionError};
use burn_backend::get_device_settings;
use burn_backend::ops::*;
use burn_backend::tensor::{BoolTensor, Device, FloatTensor, IndexingUpdateOp, IntTensor};
use burn_backend::{
    BoolDType, Distribution, FloatDType, IntDType, Scalar, Shape, Slice, TensorData, TensorMetadata,
};
use core::future::Future;

/// An elementwise op `y = f(x)` with tangent `df(x, y, t)`.
fn unary<B: Backend>(
    x: DualTensor<B>,
    f: impl FnOnce(P<B>) -> P<B>,
    df: impl FnOnce(P<B>, P<B>, P<B>) -> P<B>,
) -> DualTensor<B> {
    match x.tangent {
        None => dual(f(x.primal), None),
        Some(t) => {
            let y = f(x.primal.clone());
            let ty = df(x.primal, y.clone(), t);
            dual(y, Some(ty))
        }
    }
}

/// Broadcasts a tangent to the output shape when a broadcasting op left it smaller.
fn fit<B: Backend>(t: P<B>, shape: &Shape) -> P<B> {
    if &t.shape() == shape {
        t
    } else {
        B::float_expand(t, shape.clone())
    }
}

fn add_opt<B: Backend>(a: Option<P<B>>, b: Option<P<B>>, shape: &Shape) -> Option<P<B>> {
    sum_opt::<B>(a.map(|a| fit::<B>(a, shape)), b.map(|b| fit::<B>(b, shape)))
}

fn zeros_like<B: Backend>(x: &P<B>) -> P<B> {
    B::float_zeros(x.shape(), &B::float_device(x), x.dtype().into())
}

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

/// `t * mask` where the mask selects the entries at which the derivative is 1.
fn keep_where<B: Backend>(t: P<B>, drop: BoolTensor<B>) -> P<B> {
    B::float_mask_fill(t, drop, scalar(0.0))
}

/// `1 / sqrt(v)`.
fn rsqrt<B: Backend>(v: P<B>) -> P<B> {
    B::float_recip(B::float_sqrt(v))
}

/// `x * x`.
fn square<B: Backend>(x: P<B>) -> P<B> {
    B::float_mul(x.clone(), x)
}

/// For a reduction or a selection that picks one element along `dim` at `indices`, the tangent
/// is the input tangent gathered at those indices.
fn gather_tangent<B: Backend>(t: Option<P<B>>, dim: usize, indices: &IntTensor<B>) -> Option<P<B>> {
    t.map(|t| B::float_gather(dim, t, indices.clone()))
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

/// Tangent of a cumulative max/min along `dim`: at each position, the tangent of the input
/// element that currently holds the running extremum (the latest position where the running
/// extremum was attained).
fn cum_extremum_tangent<B: Backend>(x: P<B>, y: P<B>, t: P<B>, dim: usize) -> P<B> {
    let shape = x.shape();
    let n = shape[dim];
    let device = B::float_device(&x);
    let idt = int_dtype::<B>(&x);
    let mut view = vec![1; shape.num_dims()];
    view[dim] = n;
    let positions = B::int_expand(
        B::int_reshape(B::int_arange(0..n as i64, &device, idt), Shape::from(view)),
        shape.clone(),
    );
    // Positions where the input equals the running extremum; elsewhere 0 (a valid lower bound).
    let record = B::float_equal(x, y, bool_dtype::<B>(&t));
    let not_record = B::bool_not(record);
    let candidates = B::int_mask_fill(positions, not_record, Scalar::from(0i64));
    let source = B::int_cummax(candidates, dim);
    B::float_gather(dim, t, source)
}

impl<B: Backend> FloatTensorOps<Self> for Dual<B> {
    fn float_from_data(data: TensorData, device: &Device<Self>) -> FloatTensor<Self> {
        dual(B::float_from_data(data, device), None)
    }

    fn float_random(
        shape: Shape,
        distribution: Distribution,
        device: &Device<Self>,
        dtype: FloatDType,
    ) -> FloatTensor<Self> {
        dual(B::float_random(shape, distribution, device, dtype), None)
    }

    fn float_zeros(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        dual(B::float_zeros(shape, device, dtype), None)
    }

    fn float_ones(shape: Shape, device: &Device<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        dual(B::float_ones(shape, device, dtype), None)
    }

    fn float_full(
        shape: Shape,
        fill_value: Scalar,
        device: &Device<Self>,
        dtype: FloatDType,
    ) -> FloatTensor<Self> {
        dual(B::float_full(shape, fill_value, device, dtype), None)
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
        dual(B::float_empty(shape, device, dtype), None)
    }

    fn float_repeat_dim(tensor: FloatTensor<Self>, dim: usize, times: usize) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_repeat_dim(p, dim, times))
    }

    fn float_add(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = B::float_add(lhs.primal, rhs.primal);
        let t = add_opt::<B>(lhs.tangent, rhs.tangent, &y.shape());
        dual(y, t)
    }

    fn float_add_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        dual(B::float_add_scalar(lhs.primal, rhs), lhs.tangent)
    }

    fn float_clamp_min(tensor: FloatTensor<Self>, min: Scalar) -> FloatTensor<Self> {
        // dy = t where x >= min, 0 below.
        unary(
            tensor,
            |x| B::float_clamp_min(x, min),
            |x, _, t| {
                let below = B::float_lower_elem(x, min, bool_dtype::<B>(&t));
                keep_where::<B>(t, below)
            },
        )
    }

    fn float_clamp_max(tensor: FloatTensor<Self>, max: Scalar) -> FloatTensor<Self> {
        // dy = t where x <= max, 0 above.
        unary(
            tensor,
            |x| B::float_clamp_max(x, max),
            |x, _, t| {
                let above = B::float_greater_elem(x, max, bool_dtype::<B>(&t));
                keep_where::<B>(t, above)
            },
        )
    }

    fn float_clamp(tensor: FloatTensor<Self>, min: Scalar, max: Scalar) -> FloatTensor<Self> {
        // dy = t inside [min, max], 0 outside.
        unary(
            tensor,
            |x| B::float_clamp(x, min, max),
            |x, _, t| {
                let bd = bool_dtype::<B>(&t);
                let below = B::float_lower_elem(x.clone(), min, bd);
                let above = B::float_greater_elem(x, max, bd);
                keep_where::<B>(keep_where::<B>(t, below), above)
            },
        )
    }

    fn float_sub(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = B::float_sub(lhs.primal, rhs.primal);
        let t = match (lhs.tangent, rhs.tangent) {
            (None, None) => None,
            (Some(a), None) => Some(fit::<B>(a, &y.shape())),
            (None, Some(b)) => Some(fit::<B>(B::float_neg(b), &y.shape())),
            (Some(a), Some(b)) => Some(fit::<B>(B::float_sub(a, b), &y.shape())),
        };
        dual(y, t)
    }

    fn float_sub_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        dual(B::float_sub_scalar(lhs.primal, rhs), lhs.tangent)
    }

    fn float_mul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // d(a b) = ta b + a tb
        let ta = lhs.tangent.map(|t| B::float_mul(t, rhs.primal.clone()));
        let tb = rhs.tangent.map(|t| B::float_mul(lhs.primal.clone(), t));
        let y = B::float_mul(lhs.primal, rhs.primal);
        let t = add_opt::<B>(ta, tb, &y.shape());
        dual(y, t)
    }

    fn float_mul_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        linear(lhs, |p| B::float_mul_scalar(p, rhs))
    }

    fn float_div(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // d(a / b) = ta / b - (a / b) tb / b
        let y = B::float_div(lhs.primal, rhs.primal.clone());
        let ta = lhs.tangent.map(|t| B::float_div(t, rhs.primal.clone()));
        let tb = rhs
            .tangent
            .map(|t| B::float_neg(B::float_div(B::float_mul(y.clone(), t), rhs.primal.clone())));
        let t = add_opt::<B>(ta, tb, &y.shape());
        dual(y, t)
    }

    fn float_div_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        linear(lhs, |p| B::float_div_scalar(p, rhs))
    }

    fn float_remainder(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // a mod b = a - floor(a / b) b, so d = ta - floor(a / b) tb (a.e.).
        let tb = rhs.tangent.map(|t| {
            let q = B::float_floor(B::float_div(lhs.primal.clone(), rhs.primal.clone()));
            B::float_neg(B::float_mul(q, t))
        });
        let y = B::float_remainder(lhs.primal, rhs.primal);
        let t = add_opt::<B>(lhs.tangent, tb, &y.shape());
        dual(y, t)
    }

    fn float_remainder_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        dual(B::float_remainder_scalar(lhs.primal, rhs), lhs.tangent)
    }

    fn float_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // d(A B) = tA B + A tB
        let ta = lhs.tangent.map(|t| B::float_matmul(t, rhs.primal.clone()));
        let tb = rhs.tangent.map(|t| B::float_matmul(lhs.primal.clone(), t));
        let y = B::float_matmul(lhs.primal, rhs.primal);
        let t = add_opt::<B>(ta, tb, &y.shape());
        dual(y, t)
    }

    fn float_cross(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        dim: usize,
    ) -> FloatTensor<Self> {
        // d(a x b) = ta x b + a x tb
        let ta = lhs
            .tangent
            .map(|t| B::float_cross(t, rhs.primal.clone(), dim));
        let tb = rhs
            .tangent
            .map(|t| B::float_cross(lhs.primal.clone(), t, dim));
        let y = B::float_cross(lhs.primal, rhs.primal, dim);
        let t = add_opt::<B>(ta, tb, &y.shape());
        dual(y, t)
    }

    fn float_neg(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        linear(tensor, B::float_neg)
    }

    fn float_recip(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d(1/x) = -t y^2
        unary(tensor, B::float_recip, |_, y, t| {
            B::float_neg(B::float_mul(t, square::<B>(y)))
        })
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
        let t = match (tensor.tangent, value.tangent) {
            (None, None) => None,
            (tt, tv) => Some(B::float_scatter_add(
                dim,
                tt.unwrap_or_else(|| zeros_like::<B>(&tensor.primal)),
                indices.clone(),
                tv.unwrap_or_else(|| zeros_like::<B>(&value.primal)),
            )),
        };
        dual(
            B::float_scatter_add(dim, tensor.primal, indices, value.primal),
            t,
        )
    }

    fn float_scatter_nd(
        data: FloatTensor<Self>,
        indices: IntTensor<Self>,
        values: FloatTensor<Self>,
        reduction: IndexingUpdateOp,
    ) -> FloatTensor<Self> {
        // Assign and Add are linear in (data, values) jointly; Mul/Min/Max have no rule here.
        let t = match (data.tangent, values.tangent) {
            (None, None) => None,
            (td, tv) => match reduction {
                IndexingUpdateOp::Assign | IndexingUpdateOp::Add => Some(B::float_scatter_nd(
                    td.unwrap_or_else(|| zeros_like::<B>(&data.primal)),
                    indices.clone(),
                    tv.unwrap_or_else(|| zeros_like::<B>(&values.primal)),
                    reduction,
                )),
                other => panic!(
                    "Dual: no JVP rule for float_scatter_nd with reduction {other:?}; \
                     forward-mode differentiation through it is not supported"
                ),
            },
        };
        dual(
            B::float_scatter_nd(data.primal, indices, values.primal, reduction),
            t,
        )
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
        let t = match (tensor.tangent, value.tangent) {
            (None, None) => None,
            (tt, tv) => Some(B::float_select_add(
                tt.unwrap_or_else(|| zeros_like::<B>(&tensor.primal)),
                dim,
                indices.clone(),
                tv.unwrap_or_else(|| zeros_like::<B>(&value.primal)),
            )),
        };
        dual(
            B::float_select_add(tensor.primal, dim, indices, value.primal),
            t,
        )
    }

    fn float_slice(tensor: FloatTensor<Self>, slices: &[Slice]) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_slice(p, slices))
    }

    fn float_slice_assign(
        tensor: FloatTensor<Self>,
        slices: &[Slice],
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let t = match (tensor.tangent, value.tangent) {
            (None, None) => None,
            (tt, tv) => Some(B::float_slice_assign(
                tt.unwrap_or_else(|| zeros_like::<B>(&tensor.primal)),
                slices,
                tv.unwrap_or_else(|| zeros_like::<B>(&value.primal)),
            )),
        };
        dual(
            B::float_slice_assign(tensor.primal, slices, value.primal),
            t,
        )
    }

    fn float_mask_where(
        tensor: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // y = value where mask, tensor elsewhere; the tangent follows the same selection.
        let y = B::float_mask_where(tensor.primal.clone(), mask.clone(), value.primal.clone());
        let t = match (tensor.tangent, value.tangent) {
            (None, None) => None,
            (tt, tv) => {
                let tt = fit::<B>(
                    tt.unwrap_or_else(|| zeros_like::<B>(&tensor.primal)),
                    &y.shape(),
                );
                let tv = tv.unwrap_or_else(|| zeros_like::<B>(&value.primal));
                Some(B::float_mask_where(tt, mask, tv))
            }
        };
        dual(y, t)
    }

    fn float_mask_fill(
        tensor: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        value: Scalar,
    ) -> FloatTensor<Self> {
        let t = tensor
            .tangent
            .map(|t| B::float_mask_fill(t, mask.clone(), scalar(0.0)));
        dual(B::float_mask_fill(tensor.primal, mask, value), t)
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
        dual(B::float_detach(tensor.primal), None)
    }

    fn float_set_require_grad(tensor: FloatTensor<Self>, require_grad: bool) -> FloatTensor<Self> {
        dual(
            B::float_set_require_grad(tensor.primal, require_grad),
            tensor.tangent,
        )
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
        let t = tensor.tangent.map(|t| {
            prod_dim_tangent::<B>(flatten::<B>(tensor.primal.clone()), flatten::<B>(t), 0)
        });
        dual(B::float_prod(tensor.primal), t)
    }

    fn float_prod_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
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
        unary(
            tensor,
            |x| B::float_cumprod(x, dim),
            |x, y, t| B::float_mul(y, B::float_cumsum(B::float_div(t, x), dim)),
        )
    }

    fn float_cummin(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(
            tensor,
            |x| B::float_cummin(x, dim),
            |x, y, t| cum_extremum_tangent::<B>(x, y, t, dim),
        )
    }

    fn float_cummax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(
            tensor,
            |x| B::float_cummax(x, dim),
            |x, y, t| cum_extremum_tangent::<B>(x, y, t, dim),
        )
    }

    fn float_cast(tensor: FloatTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_cast(p, dtype))
    }

    fn float_exp(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d exp(x) = t y
        unary(tensor, B::float_exp, |_, y, t| B::float_mul(t, y))
    }

    fn float_log(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d log(x) = t / x
        unary(tensor, B::float_log, |x, _, t| B::float_div(t, x))
    }

    fn float_log1p(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d log(1 + x) = t / (1 + x)
        unary(tensor, B::float_log1p, |x, _, t| {
            B::float_div(t, B::float_add_scalar(x, scalar(1.0)))
        })
    }

    fn float_powf(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
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
        let t = add_opt::<B>(ta, tb, &y.shape());
        dual(y, t)
    }

    fn float_powi(lhs: FloatTensor<Self>, rhs: IntTensor<Self>) -> FloatTensor<Self> {
        // d(x^n) = t n x^(n-1), n an integer tensor.
        let y = B::float_powi(lhs.primal.clone(), rhs.clone());
        let t = lhs.tangent.map(|t| {
            let n = B::int_into_float(rhs.clone(), lhs.primal.dtype().into());
            let nm1 = B::int_sub_scalar(rhs, Scalar::from(1i64));
            B::float_mul(t, B::float_mul(n, B::float_powi(lhs.primal, nm1)))
        });
        dual(y, t)
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
        // d sqrt(x) = t / (2 y)
        unary(tensor, B::float_sqrt, |_, y, t| {
            B::float_div(t, B::float_mul_scalar(y, scalar(2.0)))
        })
    }

    fn float_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d |x| = t sign(x)
        unary(tensor, B::float_abs, |x, _, t| {
            B::float_mul(t, B::float_sign(x))
        })
    }

    fn float_cos(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        unary(tensor, B::float_cos, |x, _, t| {
            B::float_neg(B::float_mul(t, B::float_sin(x)))
        })
    }

    fn float_sin(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        unary(tensor, B::float_sin, |x, _, t| {
            B::float_mul(t, B::float_cos(x))
        })
    }

    fn float_tan(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d tan(x) = t (1 + y^2)
        unary(tensor, B::float_tan, |_, y, t| {
            B::float_mul(t, B::float_add_scalar(square::<B>(y), scalar(1.0)))
        })
    }

    fn float_cosh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        unary(tensor, B::float_cosh, |x, _, t| {
            B::float_mul(t, B::float_sinh(x))
        })
    }

    fn float_sinh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        unary(tensor, B::float_sinh, |x, _, t| {
            B::float_mul(t, B::float_cosh(x))
        })
    }

    fn float_tanh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d tanh(x) = t (1 - y^2)
        unary(tensor, B::float_tanh, |_, y, t| {
            let one_minus = B::float_add_scalar(B::float_neg(square::<B>(y)), scalar(1.0));
            B::float_mul(t, one_minus)
        })
    }

    fn float_acos(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d acos(x) = -t / sqrt(1 - x^2)
        unary(tensor, B::float_acos, |x, _, t| {
            let r = rsqrt::<B>(B::float_add_scalar(
                B::float_neg(square::<B>(x)),
                scalar(1.0),
            ));
            B::float_neg(B::float_mul(t, r))
        })
    }

    fn float_acosh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d acosh(x) = t / sqrt(x^2 - 1)
        unary(tensor, B::float_acosh, |x, _, t| {
            B::float_mul(
                t,
                rsqrt::<B>(B::float_sub_scalar(square::<B>(x), scalar(1.0))),
            )
        })
    }

    fn float_asin(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d asin(x) = t / sqrt(1 - x^2)
        unary(tensor, B::float_asin, |x, _, t| {
            let r = rsqrt::<B>(B::float_add_scalar(
                B::float_neg(square::<B>(x)),
                scalar(1.0),
            ));
            B::float_mul(t, r)
        })
    }

    fn float_asinh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d asinh(x) = t / sqrt(x^2 + 1)
        unary(tensor, B::float_asinh, |x, _, t| {
            B::float_mul(
                t,
                rsqrt::<B>(B::float_add_scalar(square::<B>(x), scalar(1.0))),
            )
        })
    }

    fn float_atan(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d atan(x) = t / (1 + x^2)
        unary(tensor, B::float_atan, |x, _, t| {
            B::float_div(t, B::float_add_scalar(square::<B>(x), scalar(1.0)))
        })
    }

    fn float_atanh(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d atanh(x) = t / (1 - x^2)
        unary(tensor, B::float_atanh, |x, _, t| {
            B::float_div(
                t,
                B::float_add_scalar(B::float_neg(square::<B>(x)), scalar(1.0)),
            )
        })
    }

    fn float_atan2(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        // y = atan2(a, b): dy = (b ta - a tb) / (a^2 + b^2)
        let (a, b) = (lhs.primal, rhs.primal);
        let y = B::float_atan2(a.clone(), b.clone());
        let t = match (lhs.tangent, rhs.tangent) {
            (None, None) => None,
            (ta, tb) => {
                let den = B::float_add(square::<B>(a.clone()), square::<B>(b.clone()));
                let na = ta.map(|t| B::float_mul(b.clone(), t));
                let nb = tb.map(|t| B::float_neg(B::float_mul(a.clone(), t)));
                add_opt::<B>(na, nb, &y.shape()).map(|n| B::float_div(n, den))
            }
        };
        dual(y, t)
    }

    fn float_round(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Piecewise constant: zero derivative almost everywhere.
        dual(B::float_round(tensor.primal), None)
    }

    fn float_floor(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        dual(B::float_floor(tensor.primal), None)
    }

    fn float_ceil(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        dual(B::float_ceil(tensor.primal), None)
    }

    fn float_trunc(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        dual(B::float_trunc(tensor.primal), None)
    }

    fn float_erf(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d erf(x) = t 2/sqrt(pi) exp(-x^2)
        unary(tensor, B::float_erf, |x, _, t| {
            let g = B::float_exp(B::float_neg(square::<B>(x)));
            B::float_mul(
                t,
                B::float_mul_scalar(g, scalar(core::f64::consts::FRAC_2_SQRT_PI)),
            )
        })
    }

    fn float_cat(tensors: Vec<FloatTensor<Self>>, dim: usize) -> FloatTensor<Self> {
        let any_tangent = tensors.iter().any(|t| t.tangent.is_some());
        let (primals, tangents): (Vec<_>, Vec<_>) = tensors
            .into_iter()
            .map(|t| {
                let tangent = if any_tangent {
                    Some(t.tangent.unwrap_or_else(|| zeros_like::<B>(&t.primal)))
                } else {
                    None
                };
                (t.primal, tangent)
            })
            .unzip();
        let t = any_tangent.then(|| B::float_cat(tangents.into_iter().flatten().collect(), dim));
        dual(B::float_cat(primals, dim), t)
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
        // The k largest along `dim`, in descending order: a sort then a slice, so the tangent
        // follows the sorted indices (not every backend implements argtopk).
        match tensor.tangent {
            None => dual(B::float_topk(tensor.primal, dim, k), None),
            Some(_) => {
                let shape = tensor.primal.shape();
                let dt = int_dtype::<B>(&tensor.primal);
                let sorted = Self::float_sort_with_indices(tensor, dim, true, dt).0;
                Self::float_slice(sorted, &slices_along(&shape, dim, 0, k))
            }
        }
    }

    fn float_argmin(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        B::float_argmin(tensor.primal, dim, out_dtype)
    }

    fn float_max(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        match tensor.tangent {
            None => dual(B::float_max(tensor.primal), None),
            Some(t) => {
                Self::float_max_dim(dual(flatten::<B>(tensor.primal), Some(flatten::<B>(t))), 0)
            }
        }
    }

    fn float_max_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        match tensor.tangent {
            None => dual(B::float_max_dim(tensor.primal, dim), None),
            Some(_) => {
                let dt = int_dtype::<B>(&tensor.primal);
                Self::float_max_dim_with_indices(tensor, dim, dt).0
            }
        }
    }

    fn float_max_dim_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (y, idx) = B::float_max_dim_with_indices(tensor.primal, dim, indices_dtype);
        let t = gather_tangent::<B>(tensor.tangent, dim, &idx);
        (dual(y, t), idx)
    }

    fn float_min(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        match tensor.tangent {
            None => dual(B::float_min(tensor.primal), None),
            Some(t) => {
                Self::float_min_dim(dual(flatten::<B>(tensor.primal), Some(flatten::<B>(t))), 0)
            }
        }
    }

    fn float_min_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        match tensor.tangent {
            None => dual(B::float_min_dim(tensor.primal, dim), None),
            Some(_) => {
                let dt = int_dtype::<B>(&tensor.primal);
                Self::float_min_dim_with_indices(tensor, dim, dt).0
            }
        }
    }

    fn float_min_dim_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (y, idx) = B::float_min_dim_with_indices(tensor.primal, dim, indices_dtype);
        let t = gather_tangent::<B>(tensor.tangent, dim, &idx);
        (dual(y, t), idx)
    }

    fn float_max_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        match tensor.tangent {
            None => dual(B::float_max_abs(tensor.primal), None),
            Some(t) => {
                Self::float_max_abs_dim(dual(flatten::<B>(tensor.primal), Some(flatten::<B>(t))), 0)
            }
        }
    }

    fn float_max_abs_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // y = |x_k| at k = argmax |x|: dy = sign(x_k) t_k.
        match tensor.tangent {
            None => dual(B::float_max_abs_dim(tensor.primal, dim), None),
            Some(t) => {
                let x = tensor.primal;
                let idx = B::float_argmax(B::float_abs(x.clone()), dim, int_dtype::<B>(&x));
                let xk = B::float_gather(dim, x, idx.clone());
                let tk = B::float_gather(dim, t, idx);
                let y = B::float_abs(xk.clone());
                dual(y, Some(B::float_mul(tk, B::float_sign(xk))))
            }
        }
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
        dual(B::float_sign(tensor.primal), None)
    }

    fn float_expand(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        linear(tensor, |p| B::float_expand(p, shape.clone()))
    }

    fn float_sort(tensor: FloatTensor<Self>, dim: usize, descending: bool) -> FloatTensor<Self> {
        match tensor.tangent {
            None => dual(B::float_sort(tensor.primal, dim, descending), None),
            Some(_) => {
                let dt = int_dtype::<B>(&tensor.primal);
                Self::float_sort_with_indices(tensor, dim, descending, dt).0
            }
        }
    }

    fn float_sort_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        descending: bool,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (y, idx) = B::float_sort_with_indices(tensor.primal, dim, descending, indices_dtype);
        let t = gather_tangent::<B>(tensor.tangent, dim, &idx);
        (dual(y, t), idx)
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
            tensor.tangent.is_none() && grid.tangent.is_none(),
            "Dual: no JVP rule for float_grid_sample_2d; forward-mode differentiation through \
             it is not supported"
        );
        dual(
            B::float_grid_sample_2d(tensor.primal, grid.primal, options),
            None,
        )
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

/// `y = x^p` for a scalar exponent `p`: `dy = t p x^(p-1)`, computed with the same power op.
fn pow_scalar<B: Backend>(
    x: DualTensor<B>,
    p: Scalar,
    pow: impl Fn(P<B>, Scalar) -> P<B>,
) -> DualTensor<B> {
    let pf = to_f64(p);
    if pf == 0.0 {
        return dual(pow(x.primal, p), None);
    }
    unary(
        x,
        |x| pow(x, p),
        |x, _, t| {
            let pm1 = match p {
                Scalar::Int(n) => Scalar::Int(n - 1),
                Scalar::UInt(n) => Scalar::Int(n as i64 - 1),
                _ => scalar(pf - 1.0),
            };
            let d = if pf == 1.0 {
                t
            } else {
                B::float_mul(t, B::float_mul_scalar(pow(x, pm1), scalar(pf)))
            };
            d
        },
    )
}
