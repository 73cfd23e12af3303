//! Every JVP rule of the float tensor operations against a central finite difference (f64).

mod common;

use burn_backend::ops::{BoolTensorOps, FloatTensorOps, IntTensorOps};
use burn_backend::tensor::{FloatTensor, IndexingUpdateOp, IntTensor};
use burn_backend::{get_device_settings, BoolDType, IntDType, Scalar, Shape, Slice, TensorData};
use common::jet::{check_rule, jet_fn, JetFn};
use common::*;

type T = FloatTensor<D>;

fn data(shape: &[usize], seed: u64) -> TensorData {
    rand_data(shape, -1.0, 1.0, seed)
}
fn pos(shape: &[usize], seed: u64) -> TensorData {
    rand_data(shape, 0.5, 2.0, seed)
}
fn unit(shape: &[usize], seed: u64) -> TensorData {
    rand_data(shape, -0.8, 0.8, seed)
}
fn ints(values: &[i64], shape: &[usize]) -> IntTensor<D> {
    D::int_from_data(
        TensorData::new(values.to_vec(), Shape::from(shape.to_vec())),
        &dev(),
    )
}
fn bools(values: &[bool], shape: &[usize]) -> burn_backend::tensor::BoolTensor<D> {
    D::bool_from_data(
        TensorData::new(values.to_vec(), Shape::from(shape.to_vec())),
        &dev(),
    )
}
fn idt() -> IntDType {
    get_device_settings::<D>(&dev()).int_dtype
}
fn bdt() -> BoolDType {
    get_device_settings::<D>(&dev()).bool_dtype
}
fn s(v: f64) -> Scalar {
    Scalar::from(v)
}
fn full(shape: &[usize]) -> Vec<Slice> {
    shape
        .iter()
        .map(|&n| Slice::new(0, Some(n as isize), 1))
        .collect()
}

/// A rule: its name, inputs and the op, written once over a backend `D` (see [`jet_fn!`]).
struct Row {
    name: &'static str,
    inputs: Vec<TensorData>,
    f: JetFn,
}

impl Row {
    /// The op has a JVP rule but no second-order one: a jet through it must panic.
    fn no_second_rule(mut self) -> Self {
        self.f = self.f.no_second_rule();
        self
    }

    /// NdArray's gather_nd and scatter_nd panic on non-contiguous tensors ("requires
    /// contiguous data"): skip the non-contiguous layouts.
    fn contiguous_only(mut self) -> Self {
        self.f = self.f.contiguous_only();
        self
    }
}

/// `row!(name, inputs, |x| body)`: `body` runs with `D = Dual<F>` (the rule under test) and
/// `D = Dual<Dual<F>>` (the forward-over-forward oracle).
macro_rules! row {
    ($name:expr, $inputs:expr, |$x:ident| $body:expr $(,)?) => {
        Row {
            name: $name,
            inputs: $inputs,
            f: jet_fn!(|$x| $body),
        }
    };
}

fn a<X: Clone>(xs: &[X], i: usize) -> X {
    xs[i].clone()
}

fn elementwise_rows() -> Vec<Row> {
    let sh = [3, 4];
    vec![
        row!("add", vec![data(&sh, 1), data(&sh, 2)], |x| {
            D::float_add(a(&x, 0), a(&x, 1))
        }),
        row!(
            "add_broadcast_lhs",
            vec![data(&[1, 4], 1), data(&sh, 2)],
            |x| D::float_add(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "add_broadcast_rhs",
            vec![data(&sh, 1), data(&[3, 1], 2)],
            |x| D::float_add(a(&x, 0), a(&x, 1)),
        ),
        row!("add_scalar", vec![data(&sh, 1)], |x| {
            D::float_add_scalar(a(&x, 0), s(0.3))
        }),
        row!("sub", vec![data(&sh, 1), data(&[1, 4], 2)], |x| {
            D::float_sub(a(&x, 0), a(&x, 1))
        }),
        row!(
            "sub_broadcast_lhs",
            vec![data(&[3, 1], 1), data(&sh, 2)],
            |x| D::float_sub(a(&x, 0), a(&x, 1)),
        ),
        row!("sub_scalar", vec![data(&sh, 1)], |x| {
            D::float_sub_scalar(a(&x, 0), s(0.3))
        }),
        row!("mul", vec![data(&sh, 1), data(&sh, 2)], |x| {
            D::float_mul(a(&x, 0), a(&x, 1))
        }),
        row!(
            "mul_broadcast",
            vec![data(&[3, 1], 1), data(&[1, 4], 2)],
            |x| D::float_mul(a(&x, 0), a(&x, 1)),
        ),
        row!("mul_scalar", vec![data(&sh, 1)], |x| {
            D::float_mul_scalar(a(&x, 0), s(-1.7))
        }),
        row!("div", vec![data(&sh, 1), pos(&sh, 2)], |x| {
            D::float_div(a(&x, 0), a(&x, 1))
        }),
        row!("div_broadcast", vec![data(&sh, 1), pos(&[1, 4], 2)], |x| {
            D::float_div(a(&x, 0), a(&x, 1))
        }),
        row!("div_scalar", vec![data(&sh, 1)], |x| {
            D::float_div_scalar(a(&x, 0), s(2.5))
        }),
        row!(
            "remainder",
            vec![pos(&sh, 1), rand_data(&sh, 0.3, 0.45, 2)],
            |x| D::float_remainder(a(&x, 0), a(&x, 1)),
        ),
        row!("remainder_scalar", vec![pos(&sh, 1)], |x| {
            D::float_remainder_scalar(a(&x, 0), s(0.7))
        }),
        row!("neg", vec![data(&sh, 1)], |x| D::float_neg(a(&x, 0))),
        row!("recip", vec![pos(&sh, 1)], |x| D::float_recip(a(&x, 0))),
        row!("clamp_min", vec![data(&sh, 1)], |x| {
            D::float_clamp_min(a(&x, 0), s(0.05))
        }),
        row!("clamp_max", vec![data(&sh, 1)], |x| {
            D::float_clamp_max(a(&x, 0), s(0.05))
        }),
        row!("clamp", vec![data(&sh, 1)], |x| {
            D::float_clamp(a(&x, 0), s(-0.35), s(0.45))
        }),
        row!("exp", vec![data(&sh, 1)], |x| D::float_exp(a(&x, 0))),
        row!("log", vec![pos(&sh, 1)], |x| D::float_log(a(&x, 0))),
        row!("log1p", vec![pos(&sh, 1)], |x| D::float_log1p(a(&x, 0))),
        row!("powf", vec![pos(&sh, 1), data(&sh, 2)], |x| {
            D::float_powf(a(&x, 0), a(&x, 1))
        }),
        row!("powi", vec![data(&sh, 1)], |x| {
            let n = ints(&[3, 2, 1, 0, -1, 4, 3, 2, 1, 2, 3, 5], &[3, 4]);
            D::float_powi(D::float_add_scalar(a(&x, 0), s(2.0)), n)
        }),
        row!("powi_scalar_3", vec![data(&sh, 1)], |x| {
            D::float_powi_scalar(a(&x, 0), Scalar::Int(3))
        }),
        row!("powi_scalar_2", vec![data(&sh, 1)], |x| {
            D::float_powi_scalar(a(&x, 0), Scalar::Int(2))
        }),
        row!("powi_scalar_-2", vec![pos(&sh, 1)], |x| {
            D::float_powi_scalar(a(&x, 0), Scalar::Int(-2))
        }),
        row!("powi_scalar_impl", vec![pos(&sh, 1)], |x| {
            D::float_powi_scalar_impl(a(&x, 0), Scalar::Int(5))
        }),
        row!("powf_scalar", vec![pos(&sh, 1)], |x| {
            D::float_powf_scalar(a(&x, 0), s(1.7))
        }),
        row!("powf_scalar_int_valued", vec![data(&sh, 1)], |x| {
            D::float_powf_scalar(a(&x, 0), s(3.0))
        }),
        row!("powf_scalar_impl", vec![pos(&sh, 1)], |x| {
            D::float_powf_scalar_impl(a(&x, 0), s(-0.5))
        }),
        row!("sqrt", vec![pos(&sh, 1)], |x| D::float_sqrt(a(&x, 0))),
        row!("abs", vec![data(&sh, 1)], |x| D::float_abs(a(&x, 0))),
        row!("cos", vec![data(&sh, 1)], |x| D::float_cos(a(&x, 0))),
        row!("sin", vec![data(&sh, 1)], |x| D::float_sin(a(&x, 0))),
        row!("tan", vec![unit(&sh, 1)], |x| D::float_tan(a(&x, 0))),
        row!("cosh", vec![data(&sh, 1)], |x| D::float_cosh(a(&x, 0))),
        row!("sinh", vec![data(&sh, 1)], |x| D::float_sinh(a(&x, 0))),
        row!("tanh", vec![data(&sh, 1)], |x| D::float_tanh(a(&x, 0))),
        row!("acos", vec![unit(&sh, 1)], |x| D::float_acos(a(&x, 0))),
        row!("acosh", vec![rand_data(&sh, 1.2, 3.0, 1)], |x| {
            D::float_acosh(a(&x, 0))
        }),
        row!("asin", vec![unit(&sh, 1)], |x| D::float_asin(a(&x, 0))),
        row!("asinh", vec![data(&sh, 1)], |x| D::float_asinh(a(&x, 0))),
        row!("atan", vec![data(&sh, 1)], |x| D::float_atan(a(&x, 0))),
        row!("atanh", vec![unit(&sh, 1)], |x| D::float_atanh(a(&x, 0))),
        row!("atan2", vec![data(&sh, 1), data(&sh, 2)], |x| {
            D::float_atan2(a(&x, 0), a(&x, 1))
        })
        .no_second_rule(),
        row!("erf", vec![data(&sh, 1)], |x| D::float_erf(a(&x, 0))),
        row!("cast", vec![data(&sh, 1)], |x| {
            D::float_cast(a(&x, 0), burn_backend::FloatDType::F64)
        }),
    ]
}

fn linear_algebra_rows() -> Vec<Row> {
    vec![
        row!("matmul", vec![data(&[3, 4], 1), data(&[4, 2], 2)], |x| {
            D::float_matmul(a(&x, 0), a(&x, 1))
        }),
        row!(
            "matmul_batched_broadcast",
            vec![data(&[2, 3, 4], 1), data(&[1, 4, 2], 2)],
            |x| D::float_matmul(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "matmul_transposed_input",
            vec![data(&[4, 3], 1), data(&[4, 2], 2)],
            |x| D::float_matmul(D::float_transpose(a(&x, 0)), a(&x, 1)),
        ),
        row!("cross", vec![data(&[4, 3], 1), data(&[4, 3], 2)], |x| {
            D::float_cross(a(&x, 0), a(&x, 1), 1)
        }),
    ]
}

fn layout_rows() -> Vec<Row> {
    let sh = [2, 3, 4];
    vec![
        row!("transpose", vec![data(&sh, 1)], |x| {
            D::float_transpose(a(&x, 0))
        }),
        row!("swap_dims", vec![data(&sh, 1)], |x| {
            D::float_swap_dims(a(&x, 0), 0, 2)
        }),
        row!("permute", vec![data(&sh, 1)], |x| {
            D::float_permute(a(&x, 0), &[2, 0, 1])
        }),
        row!("flip", vec![data(&sh, 1)], |x| {
            D::float_flip(a(&x, 0), &[0, 2])
        }),
        row!("reshape", vec![data(&sh, 1)], |x| {
            D::float_reshape(a(&x, 0), Shape::new([4, 6]))
        }),
        row!("reshape_of_transposed", vec![data(&sh, 1)], |x| {
            D::float_reshape(D::float_swap_dims(a(&x, 0), 1, 2), Shape::new([24]))
        }),
        row!("expand", vec![data(&[1, 3, 1], 1)], |x| {
            D::float_expand(a(&x, 0), Shape::new([2, 3, 4]))
        }),
        row!("repeat_dim", vec![data(&sh, 1)], |x| {
            D::float_repeat_dim(a(&x, 0), 1, 3)
        }),
        row!("slice", vec![data(&sh, 1)], |x| {
            D::float_slice(
                a(&x, 0),
                &[
                    Slice::new(0, Some(2), 1),
                    Slice::new(1, Some(3), 1),
                    Slice::new(0, Some(4), 2),
                ],
            )
        }),
        row!("slice_of_sliced", vec![data(&sh, 1)], |x| {
            let y = D::float_slice(
                a(&x, 0),
                &[
                    Slice::new(1, Some(2), 1),
                    Slice::new(0, Some(3), 1),
                    Slice::new(1, Some(4), 1),
                ],
            );
            D::float_exp(y)
        }),
        row!(
            "slice_assign",
            vec![data(&sh, 1), data(&[1, 2, 4], 2)],
            |x| {
                let sl = [
                    Slice::new(1, Some(2), 1),
                    Slice::new(0, Some(2), 1),
                    Slice::new(0, Some(4), 1),
                ];
                D::float_slice_assign(a(&x, 0), &sl, a(&x, 1))
            },
        ),
        row!(
            "cat",
            vec![data(&[2, 3], 1), data(&[2, 2], 2), data(&[2, 1], 3)],
            |x| D::float_cat(vec![a(&x, 0), a(&x, 1), a(&x, 2)], 1),
        ),
        row!("unfold", vec![data(&[2, 7], 1)], |x| {
            D::float_unfold(a(&x, 0), 1, 3, 2)
        }),
        row!("to_device", vec![data(&sh, 1)], |x| {
            D::float_to_device(a(&x, 0), &dev())
        }),
    ]
}

fn indexing_rows() -> Vec<Row> {
    vec![
        row!("gather", vec![data(&[3, 4], 1)], |x| {
            D::float_gather(1, a(&x, 0), ints(&[0, 3, 1, 1, 2, 2], &[3, 2]))
        }),
        row!(
            "scatter_add",
            vec![data(&[3, 4], 1), data(&[3, 2], 2)],
            |x| D::float_scatter_add(1, a(&x, 0), ints(&[0, 3, 1, 1, 2, 0], &[3, 2]), a(&x, 1)),
        ),
        row!("select", vec![data(&[4, 3], 1)], |x| {
            D::float_select(a(&x, 0), 0, ints(&[3, 0, 0, 2], &[4]))
        }),
        row!(
            "select_add",
            vec![data(&[4, 3], 1), data(&[2, 3], 2)],
            |x| D::float_select_add(a(&x, 0), 0, ints(&[1, 1], &[2]), a(&x, 1)),
        ),
        row!(
            "mask_where",
            vec![data(&[2, 3], 1), data(&[2, 3], 2)],
            |x| {
                let m = bools(&[true, false, true, false, false, true], &[2, 3]);
                D::float_mask_where(a(&x, 0), m, a(&x, 1))
            },
        ),
        row!("mask_fill", vec![data(&[2, 3], 1)], |x| {
            let m = bools(&[true, false, true, false, false, true], &[2, 3]);
            D::float_mask_fill(a(&x, 0), m, s(7.0))
        }),
        row!("gather_nd", vec![data(&[3, 4], 1)], |x| {
            D::float_gather_nd(a(&x, 0), ints(&[0, 1, 2, 3, 1, 0], &[3, 2]))
        })
        .contiguous_only(),
        row!(
            "scatter_nd_add",
            vec![data(&[3, 4], 1), data(&[2], 2)],
            |x| {
                D::float_scatter_nd(
                    a(&x, 0),
                    ints(&[0, 1, 2, 3], &[2, 2]),
                    a(&x, 1),
                    IndexingUpdateOp::Add,
                )
            },
        )
        .contiguous_only(),
        row!(
            "scatter_nd_assign",
            vec![data(&[3, 4], 1), data(&[2], 2)],
            |x| {
                D::float_scatter_nd(
                    a(&x, 0),
                    ints(&[0, 1, 2, 3], &[2, 2]),
                    a(&x, 1),
                    IndexingUpdateOp::Assign,
                )
            },
        )
        .contiguous_only(),
    ]
}

fn reduction_rows() -> Vec<Row> {
    let sh = [3, 4];
    vec![
        row!("sum", vec![data(&sh, 1)], |x| D::float_sum(a(&x, 0))),
        row!("sum_dim", vec![data(&sh, 1)], |x| {
            D::float_sum_dim(a(&x, 0), 1)
        }),
        row!("mean", vec![data(&sh, 1)], |x| D::float_mean(a(&x, 0))),
        row!("mean_dim", vec![data(&sh, 1)], |x| {
            D::float_mean_dim(a(&x, 0), 0)
        }),
        row!("mean_dim_of_transposed", vec![data(&sh, 1)], |x| {
            D::float_mean_dim(D::float_transpose(a(&x, 0)), 1)
        }),
        row!("prod", vec![data(&sh, 1)], |x| D::float_prod(a(&x, 0))).no_second_rule(),
        row!("prod_dim", vec![data(&sh, 1)], |x| {
            D::float_prod_dim(a(&x, 0), 1)
        })
        .no_second_rule(),
        row!(
            "prod_dim_with_zero",
            vec![TensorData::new(
                vec![0.0, 0.5, -1.5, 2.0, 1.0, 0.3],
                Shape::new([2, 3]),
            )],
            |x| D::float_prod_dim(a(&x, 0), 1),
        )
        .no_second_rule(),
        row!("cumsum", vec![data(&sh, 1)], |x| {
            D::float_cumsum(a(&x, 0), 1)
        }),
        row!("cumprod", vec![pos(&sh, 1)], |x| {
            D::float_cumprod(a(&x, 0), 1)
        })
        .no_second_rule(),
        row!("cummax", vec![data(&[3, 6], 1)], |x| {
            D::float_cummax(a(&x, 0), 1)
        }),
        row!("cummin", vec![data(&[6, 3], 1)], |x| {
            D::float_cummin(a(&x, 0), 0)
        }),
        row!("max", vec![data(&sh, 1)], |x| D::float_max(a(&x, 0))),
        row!("max_dim", vec![data(&sh, 1)], |x| {
            D::float_max_dim(a(&x, 0), 1)
        }),
        row!("max_dim_with_indices", vec![data(&sh, 1)], |x| {
            D::float_max_dim_with_indices(a(&x, 0), 0, idt()).0
        }),
        row!("min", vec![data(&sh, 1)], |x| D::float_min(a(&x, 0))),
        row!("min_dim", vec![data(&sh, 1)], |x| {
            D::float_min_dim(a(&x, 0), 0)
        }),
        row!("min_dim_with_indices", vec![data(&sh, 1)], |x| {
            D::float_min_dim_with_indices(a(&x, 0), 1, idt()).0
        }),
        row!("max_abs", vec![data(&sh, 1)], |x| {
            D::float_max_abs(a(&x, 0))
        }),
        row!("max_abs_dim", vec![data(&sh, 1)], |x| {
            D::float_max_abs_dim(a(&x, 0), 1)
        }),
        row!("topk", vec![data(&sh, 1)], |x| {
            D::float_topk(a(&x, 0), 1, 2)
        }),
        row!("sort", vec![data(&sh, 1)], |x| {
            D::float_sort(a(&x, 0), 1, false)
        }),
        row!("sort_desc_with_indices", vec![data(&sh, 1)], |x| {
            D::float_sort_with_indices(a(&x, 0), 0, true, idt()).0
        }),
    ]
}

fn piecewise_constant_rows() -> Vec<Row> {
    // Zero derivative almost everywhere; inputs away from the jumps.
    let sh = [3, 4];
    let away = || rand_data(&sh, 0.1, 0.4, 1);
    vec![
        row!("round", vec![away()], |x| D::float_round(a(&x, 0))),
        row!("floor", vec![away()], |x| D::float_floor(a(&x, 0))),
        row!("ceil", vec![away()], |x| D::float_ceil(a(&x, 0))),
        row!("trunc", vec![away()], |x| D::float_trunc(a(&x, 0))),
        row!("sign", vec![away()], |x| D::float_sign(a(&x, 0))),
    ]
}

fn run(rows: Vec<Row>) {
    for Row { name, inputs, f } in rows {
        check_rule(name, inputs, None, &f);
    }
}

#[test]
fn elementwise_rules_match_finite_differences() {
    run(elementwise_rows());
}

#[test]
fn linear_algebra_rules_match_finite_differences() {
    run(linear_algebra_rows());
}

#[test]
fn layout_rules_match_finite_differences() {
    run(layout_rows());
}

#[test]
fn indexing_rules_match_finite_differences() {
    run(indexing_rows());
}

#[test]
fn reduction_rules_match_finite_differences() {
    run(reduction_rows());
}

#[test]
fn piecewise_constant_rules_have_zero_tangent() {
    run(piecewise_constant_rows());
}

fn one_side_rows() -> Vec<Row> {
    vec![
        row!(
            "mul_one_side",
            vec![data(&[3, 1], 1), data(&[1, 4], 2)],
            |x| D::float_mul(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "add_one_side",
            vec![data(&[3, 1], 1), data(&[3, 4], 2)],
            |x| D::float_add(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "sub_one_side",
            vec![data(&[3, 4], 1), data(&[1, 4], 2)],
            |x| D::float_sub(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "div_one_side",
            vec![data(&[3, 4], 1), pos(&[3, 1], 2)],
            |x| D::float_div(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "matmul_one_side",
            vec![data(&[3, 4], 1), data(&[4, 2], 2)],
            |x| D::float_matmul(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "mask_where_one_side",
            vec![data(&[2, 3], 1), data(&[2, 3], 2)],
            |x| {
                let m = bools(&[true, false, true, false, false, true], &[2, 3]);
                D::float_mask_where(a(&x, 0), m, a(&x, 1))
            }
        ),
        row!(
            "cat_one_side",
            vec![data(&[2, 3], 1), data(&[2, 2], 2)],
            |x| D::float_cat(vec![a(&x, 0), a(&x, 1)], 1),
        ),
        row!(
            "powf_one_side",
            vec![pos(&[3, 4], 1), data(&[3, 4], 2)],
            |x| D::float_powf(a(&x, 0), a(&x, 1)),
        ),
        row!(
            "powf_of_expanded_one_side",
            vec![pos(&[3, 1], 1), data(&[1, 4], 2)],
            // NdArray's powf does not broadcast: expand both first.
            |x| {
                let e = |t| D::float_expand(t, Shape::new([3, 4]));
                D::float_powf(e(a(&x, 0)), e(a(&x, 1)))
            },
        ),
        row!(
            "atan2_one_side",
            vec![data(&[3, 4], 1), data(&[3, 4], 2)],
            |x| D::float_atan2(a(&x, 0), a(&x, 1)),
        )
        .no_second_rule(),
        row!(
            "slice_assign_one_side",
            vec![data(&[2, 3, 4], 1), data(&[1, 2, 4], 2)],
            |x| {
                let sl = [
                    Slice::new(1, Some(2), 1),
                    Slice::new(0, Some(2), 1),
                    Slice::new(0, Some(4), 1),
                ];
                D::float_slice_assign(a(&x, 0), &sl, a(&x, 1))
            }
        ),
        row!(
            "scatter_add_one_side",
            vec![data(&[3, 4], 1), data(&[3, 2], 2)],
            |x| D::float_scatter_add(1, a(&x, 0), ints(&[0, 3, 1, 1, 2, 0], &[3, 2]), a(&x, 1)),
        ),
        row!(
            "cross_one_side",
            vec![data(&[4, 3], 1), data(&[4, 3], 2)],
            |x| D::float_cross(a(&x, 0), a(&x, 1), 1),
        ),
        row!(
            "remainder_one_side",
            vec![pos(&[3, 4], 1), rand_data(&[3, 4], 0.3, 0.45, 2)],
            |x| D::float_remainder(a(&x, 0), a(&x, 1)),
        ),
    ]
}

#[test]
fn single_active_operand_of_binary_ops() {
    // Only one operand carries coefficients: the other terms (and the cross term of the second
    // order) must vanish, shapes must broadcast.
    for Row { name, inputs, f } in one_side_rows() {
        for active in [0usize, 1] {
            check_rule(name, inputs.clone(), Some(&[active]), &f);
        }
    }
}

/// Compositions: second coefficients produced by one rule feed the next (chain rule of order
/// 2), through broadcasting and non-contiguous intermediates.
fn composition_rows() -> Vec<Row> {
    let sh = [3, 4];
    vec![
        row!("exp_of_sin", vec![data(&sh, 1)], |x| {
            D::float_exp(D::float_sin(a(&x, 0)))
        }),
        row!("x_times_x", vec![data(&sh, 1)], |x| {
            D::float_mul(a(&x, 0), a(&x, 0))
        }),
        row!("x_div_x_plus_2", vec![data(&sh, 1)], |x| {
            D::float_div(a(&x, 0), D::float_add_scalar(a(&x, 0), s(2.0)))
        }),
        row!(
            "exp_div_cosh_broadcast",
            vec![data(&[3, 1], 1), data(&[1, 4], 2)],
            |x| D::float_div(D::float_exp(a(&x, 0)), D::float_cosh(a(&x, 1))),
        ),
        row!("normalized_exp_broadcast", vec![data(&sh, 1)], |x| {
            let e = D::float_exp(a(&x, 0));
            let z = D::float_sum_dim(e.clone(), 1);
            D::float_div(e, z)
        },),
        row!("sqrt_of_sum_of_squares", vec![data(&sh, 1)], |x| {
            let sq = D::float_mul(a(&x, 0), a(&x, 0));
            D::float_sqrt(D::float_add_scalar(D::float_sum_dim(sq, 1), s(0.5)))
        },),
        row!(
            "tanh_matmul_log",
            vec![data(&[3, 4], 1), pos(&[4, 2], 2)],
            |x| D::float_matmul(D::float_tanh(a(&x, 0)), D::float_log(a(&x, 1))),
        ),
        row!(
            "matmul_of_transposed_times_self",
            vec![data(&[4, 3], 1)],
            |x| {
                let t = D::float_transpose(a(&x, 0));
                D::float_sin(D::float_matmul(t, a(&x, 0)))
            },
        ),
        row!(
            "mul_transposed_broadcast",
            vec![data(&[4, 3], 1), data(&[1, 4], 2)],
            |x| D::float_mul(
                D::float_tanh(D::float_transpose(a(&x, 0))),
                D::float_exp(a(&x, 1))
            ),
        ),
        row!(
            "powf_of_expanded",
            vec![pos(&[3, 1], 1), data(&[1, 4], 2)],
            // NdArray's powf does not broadcast: expand both first.
            |x| {
                let e = |t| D::float_expand(t, Shape::new([3, 4]));
                D::float_powf(e(a(&x, 0)), e(a(&x, 1)))
            },
        ),
        row!(
            "sub_broadcast_both",
            vec![data(&[3, 1], 1), data(&[1, 4], 2)],
            |x| D::float_exp(D::float_sub(a(&x, 0), a(&x, 1))),
        ),
        row!(
            "mean_of_square_of_sliced_permuted",
            vec![data(&[2, 3, 4], 1)],
            |x| {
                let p = D::float_permute(a(&x, 0), &[2, 0, 1]);
                let q = D::float_slice(
                    p,
                    &[
                        Slice::new(1, Some(4), 1),
                        Slice::new(0, Some(2), 1),
                        Slice::new(0, Some(3), 2),
                    ],
                );
                D::float_mean_dim(D::float_mul(q.clone(), D::float_sin(q)), 0)
            },
        ),
        row!(
            "expand_then_mul",
            vec![data(&[1, 3, 1], 1), data(&[2, 3, 4], 2)],
            |x| {
                let e = D::float_expand(D::float_exp(a(&x, 0)), Shape::new([2, 3, 4]));
                D::float_mul(e, D::float_tanh(a(&x, 1)))
            },
        ),
        row!("gather_of_exp", vec![data(&[3, 4], 1)], |x| {
            let y = D::float_gather(
                1,
                D::float_exp(a(&x, 0)),
                ints(&[0, 3, 1, 1, 2, 2], &[3, 2]),
            );
            D::float_mul(y.clone(), y)
        },),
    ]
}

#[test]
fn composition_rules_chain_at_second_order() {
    run(composition_rows());
}

#[test]
fn comparisons_carry_no_tangent_and_match_primal() {
    let x = D::float_from_data(data(&[3, 4], 1), &dev());
    let t = F::float_from_data(data(&[3, 4], 2), &dev());
    let x = cdat_core::dual::DualTensor::new(x.primal, Some(t));
    let y = D::float_from_data(data(&[3, 4], 3), &dev());
    let read = |b| {
        burn_backend::read_sync(D::bool_into_data(b))
            .unwrap()
            .to_vec::<bool>()
            .unwrap()
    };
    let plain = |b| {
        burn_backend::read_sync(F::bool_into_data(b))
            .unwrap()
            .to_vec::<bool>()
            .unwrap()
    };
    assert_eq!(
        read(D::float_greater(x.clone(), y.clone(), bdt())),
        plain(F::float_greater(x.primal.clone(), y.primal.clone(), bdt()))
    );
    assert_eq!(
        read(D::float_lower_equal_elem(x.clone(), s(0.1), bdt())),
        plain(F::float_lower_equal_elem(x.primal.clone(), s(0.1), bdt()))
    );
    let full_slices = full(&[3, 4]);
    assert_eq!(full_slices.len(), 2);
}

#[test]
fn detach_drops_the_tangent() {
    // A stop-gradient has a zero derivative (JAX's convention), which a finite difference of
    // the undetached function cannot see: check it directly.
    let t = F::float_from_data(data(&[2, 3], 2), &dev());
    let x = cdat_core::dual::DualTensor::new(F::float_from_data(data(&[2, 3], 1), &dev()), Some(t));
    assert!(D::float_detach(x.clone()).tangent.is_none());
    assert!(D::float_set_require_grad(x, true).tangent.is_some());
}

#[test]
#[should_panic(expected = "no JVP rule")]
fn op_without_rule_fails_loudly() {
    let x = D::float_from_data(data(&[2, 3], 1), &dev());
    let t = F::float_from_data(data(&[2, 3], 2), &dev());
    let x = cdat_core::dual::DualTensor::new(x.primal, Some(t));
    let v = D::float_from_data(data(&[2], 2), &dev());
    let _ = D::float_scatter_nd(x, ints(&[0, 1, 1, 2], &[2, 2]), v, IndexingUpdateOp::Mul);
}

// ---------------------------------------------------------------- second order: special cases

fn jet_of(shape: &[usize], seed: u64, tangent: bool, second: bool) -> T {
    let p = |s: u64| F::float_from_data(data(shape, s), &dev());
    cdat_core::dual::DualTensor::jet(
        p(seed),
        tangent.then(|| p(seed + 100)),
        second.then(|| p(seed + 200)),
    )
}

#[test]
fn detach_drops_both_coefficients() {
    let x = jet_of(&[2, 3], 1, true, true);
    let d = D::float_detach(x.clone());
    assert!(d.tangent.is_none() && d.second.is_none());
    let r = D::float_set_require_grad(x, true);
    assert!(r.tangent.is_some() && r.second.is_some());
}

/// Runs `f` and returns the panic message, or `None` when it did not panic.
fn panics(f: impl FnOnce() -> T) -> Option<String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = f();
    }))
    .err()
    .map(|e| common::jet::panic_message(&e))
}

/// Ops without a second-order rule refuse a jet that carries a coefficient (tangent and/or
/// second), and run on jets without one.
#[test]
fn ops_without_second_order_rule_refuse_jets() {
    let idx = || ints(&[0, 1, 1, 2], &[2, 2]);
    for op in [
        IndexingUpdateOp::Mul,
        IndexingUpdateOp::Min,
        IndexingUpdateOp::Max,
    ] {
        for (tangent, second) in [(true, true), (true, false), (false, true)] {
            let msg = panics(|| {
                D::float_scatter_nd(
                    jet_of(&[3, 4], 1, tangent, second),
                    idx(),
                    jet_of(&[2], 2, tangent, second),
                    op,
                )
            });
            let msg = msg.unwrap_or_else(|| {
                panic!("scatter_nd {op:?} (tangent {tangent}, second {second}): no panic")
            });
            assert!(
                msg.contains("no second-order rule") || msg.contains("no JVP rule"),
                "scatter_nd {op:?}: {msg}"
            );
        }
        let y = D::float_scatter_nd(
            jet_of(&[3, 4], 1, false, false),
            idx(),
            jet_of(&[2], 2, false, false),
            op,
        );
        assert!(y.tangent.is_none() && y.second.is_none());
    }
    let grid = |t: bool, s: bool| {
        let g = rand_data(&[1, 3, 3, 2], -0.9, 0.9, 5);
        let p = |d: TensorData| F::float_from_data(d, &dev());
        cdat_core::dual::DualTensor::jet(
            p(g.clone()),
            t.then(|| p(data(&[1, 3, 3, 2], 6))),
            s.then(|| p(data(&[1, 3, 3, 2], 7))),
        )
    };
    for (tangent, second) in [(true, true), (true, false), (false, true)] {
        let msg = panics(|| {
            D::float_grid_sample_2d(
                jet_of(&[1, 2, 4, 4], 1, tangent, second),
                grid(tangent, second),
                burn_backend::ops::GridSampleOptions::default(),
            )
        })
        .unwrap_or_else(|| panic!("grid_sample_2d (tangent {tangent}, second {second}): no panic"));
        assert!(
            msg.contains("no second-order rule") || msg.contains("no JVP rule"),
            "grid_sample_2d: {msg}"
        );
    }
    let y = D::float_grid_sample_2d(
        jet_of(&[1, 2, 4, 4], 1, false, false),
        grid(false, false),
        burn_backend::ops::GridSampleOptions::default(),
    );
    assert!(y.tangent.is_none() && y.second.is_none());
}
