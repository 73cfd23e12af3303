//! JVP rules of `Dual<B>`'s module and activation ops (forward ops and the backward ops that
//! burn-autodiff calls), checked against central finite differences in f64 on NdArray.

mod common;
use common::jet::{check_rule, check_rule_all_and_each, jet_fn, JetFn};
use common::*;

use burn::tensor::TensorData;
use burn_backend::ops::*;
use burn_backend::tensor::{FloatTensor, IntTensor};
use burn_backend::TensorMetadata;
use cdat_core::dual::DualTensor;

type T = FloatTensor<D>;

fn r(shape: &[usize], seed: u64) -> TensorData {
    rand_data(shape, -1.0, 1.0, seed)
}

fn ints(v: Vec<i64>, shape: &[usize]) -> IntTensor<F> {
    F::int_from_data(TensorData::new(v, shape.to_vec()), &dev())
}

fn fprim(d: &TensorData) -> FloatTensor<F> {
    F::float_from_data(d.clone(), &dev())
}

/// Output shape of a backend op, to size the `output_grad` of its backward ops.
fn shape_of(t: FloatTensor<F>) -> Vec<usize> {
    t.shape().to_vec()
}

/// First- and second-order checks (see `common::jet`), all inputs active.
fn check(name: &str, inputs: Vec<TensorData>, f: JetFn) {
    check_rule(name, inputs, None, &f);
}

/// The checks with all inputs active, then with each single input active.
fn check_all_and_each(name: &str, inputs: Vec<TensorData>, f: JetFn) {
    check_rule_all_and_each(name, inputs, &f);
}

// ---------------------------------------------------------------- embedding, linear

#[test]
fn embedding_rules() {
    let idx = ints(vec![0, 2, 4, 1, 1, 3], &[2, 3]);
    let i2 = idx.clone();
    check(
        "embedding",
        vec![r(&[5, 3], 1)],
        jet_fn!((i2), |xs| D::embedding(xs[0].clone(), i2.clone())),
    );
    let i3 = idx.clone();
    check_all_and_each(
        "embedding_backward",
        vec![r(&[5, 3], 2), r(&[2, 3, 3], 3)],
        jet_fn!((i3), |xs| D::embedding_backward(
            xs[0].clone(),
            xs[1].clone(),
            i3.clone()
        )),
    );
}

#[test]
fn linear_rules() {
    let ins = vec![r(&[2, 3, 4], 1), r(&[4, 5], 2), r(&[5], 3)];
    check_all_and_each(
        "linear",
        ins,
        jet_fn!(|xs| D::linear(xs[0].clone(), xs[1].clone(), Some(xs[2].clone()))),
    );
    check_all_and_each(
        "linear (no bias)",
        vec![r(&[3, 4], 4), r(&[4, 5], 5)],
        jet_fn!(|xs| D::linear(xs[0].clone(), xs[1].clone(), None)),
    );
    check_all_and_each(
        "linear_x_backward",
        vec![r(&[4, 5], 6), r(&[2, 3, 5], 7)],
        jet_fn!(|xs| D::linear_x_backward(xs[0].clone(), xs[1].clone())),
    );
    check_all_and_each(
        "linear_weight_backward",
        vec![r(&[2, 3, 4], 8), r(&[2, 3, 5], 9)],
        jet_fn!(|xs| D::linear_weight_backward(xs[0].clone(), xs[1].clone())),
    );
    check(
        "linear_bias_backward",
        vec![r(&[2, 3, 5], 10)],
        jet_fn!(|xs| D::linear_bias_backward(xs[0].clone())),
    );
}

// ---------------------------------------------------------------- convolutions

#[test]
fn conv1d_rules() {
    for (k, opt) in [
        ConvOptions::new([1], [0], [1], 1),
        ConvOptions::new([2], [1], [1], 1),
        ConvOptions::new([1], [2], [2], 1),
        ConvOptions::new([1], [1], [1], 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, b) = (r(&[2, 4, 7], 1), r(&[6, 4 / opt.groups, 3], 2), r(&[6], 3));
        let o = opt.clone();
        check_all_and_each(
            &format!("conv1d #{k}"),
            vec![x.clone(), w.clone(), b.clone()],
            jet_fn!((o), |xs| D::conv1d(
                xs[0].clone(),
                xs[1].clone(),
                Some(xs[2].clone()),
                o.clone()
            )),
        );
        let out = shape_of(F::conv1d(fprim(&x), fprim(&w), None, opt.clone()));
        let g = r(&out, 4);
        let o = opt.clone();
        check_all_and_each(
            &format!("conv1d_x_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| D::conv1d_x_backward(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone(),
                o.clone()
            )),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv1d_weight_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| {
                D::conv1d_weight_backward(xs[0].clone(), xs[1].clone(), xs[2].clone(), o.clone())
            }),
        );
        check_all_and_each(
            &format!("conv1d_bias_backward #{k}"),
            vec![x.clone(), b.clone(), g.clone()],
            jet_fn!(|xs| D::conv1d_bias_backward(xs[0].clone(), xs[1].clone(), xs[2].clone())),
        );
    }
}

#[test]
fn conv2d_rules() {
    for (k, opt) in [
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        ConvOptions::new([2, 1], [1, 0], [1, 1], 1),
        ConvOptions::new([1, 2], [2, 1], [2, 1], 1),
        ConvOptions::new([2, 2], [1, 1], [1, 2], 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, b) = (
            r(&[2, 4, 7, 6], 1),
            r(&[6, 4 / opt.groups, 3, 2], 2),
            r(&[6], 3),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv2d #{k}"),
            vec![x.clone(), w.clone(), b.clone()],
            jet_fn!((o), |xs| D::conv2d(
                xs[0].clone(),
                xs[1].clone(),
                Some(xs[2].clone()),
                o.clone()
            )),
        );
        let o = opt.clone();
        check(
            &format!("conv2d (no bias) #{k}"),
            vec![x.clone(), w.clone()],
            jet_fn!((o), |xs| D::conv2d(
                xs[0].clone(),
                xs[1].clone(),
                None,
                o.clone()
            )),
        );
        let out = shape_of(F::conv2d(fprim(&x), fprim(&w), None, opt.clone()));
        let g = r(&out, 4);
        let o = opt.clone();
        check_all_and_each(
            &format!("conv2d_x_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| D::conv2d_x_backward(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone(),
                o.clone()
            )),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv2d_weight_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| {
                D::conv2d_weight_backward(xs[0].clone(), xs[1].clone(), xs[2].clone(), o.clone())
            }),
        );
        check_all_and_each(
            &format!("conv2d_bias_backward #{k}"),
            vec![x.clone(), b.clone(), g.clone()],
            jet_fn!(|xs| D::conv2d_bias_backward(xs[0].clone(), xs[1].clone(), xs[2].clone())),
        );
    }
}

#[test]
fn conv3d_rules() {
    for (k, opt) in [
        ConvOptions::new([1, 1, 1], [0, 0, 0], [1, 1, 1], 1),
        ConvOptions::new([2, 1, 1], [1, 0, 1], [1, 2, 1], 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, b) = (
            r(&[2, 2, 5, 5, 4], 1),
            r(&[4, 2 / opt.groups, 3, 2, 2], 2),
            r(&[4], 3),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv3d #{k}"),
            vec![x.clone(), w.clone(), b.clone()],
            jet_fn!((o), |xs| D::conv3d(
                xs[0].clone(),
                xs[1].clone(),
                Some(xs[2].clone()),
                o.clone()
            )),
        );
        let out = shape_of(F::conv3d(fprim(&x), fprim(&w), None, opt.clone()));
        let g = r(&out, 4);
        let o = opt.clone();
        check_all_and_each(
            &format!("conv3d_x_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| D::conv3d_x_backward(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone(),
                o.clone()
            )),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv3d_weight_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| {
                D::conv3d_weight_backward(xs[0].clone(), xs[1].clone(), xs[2].clone(), o.clone())
            }),
        );
        check_all_and_each(
            &format!("conv3d_bias_backward #{k}"),
            vec![x.clone(), b.clone(), g.clone()],
            jet_fn!(|xs| D::conv3d_bias_backward(xs[0].clone(), xs[1].clone(), xs[2].clone())),
        );
    }
}

#[test]
fn conv_transpose1d_rules() {
    for (k, opt) in [
        ConvTransposeOptions::new([1], [0], [0], [1], 1),
        ConvTransposeOptions::new([2], [1], [1], [2], 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, b) = (r(&[2, 4, 5], 1), r(&[4, 6 / opt.groups, 3], 2), r(&[6], 3));
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose1d #{k}"),
            vec![x.clone(), w.clone(), b.clone()],
            jet_fn!((o), |xs| {
                D::conv_transpose1d(xs[0].clone(), xs[1].clone(), Some(xs[2].clone()), o.clone())
            }),
        );
        let out = shape_of(F::conv_transpose1d(fprim(&x), fprim(&w), None, opt.clone()));
        let g = r(&out, 4);
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose1d_x_backward #{k}"),
            vec![w.clone(), g.clone()],
            jet_fn!((o), |xs| D::conv_transpose1d_x_backward(
                xs[0].clone(),
                xs[1].clone(),
                o.clone()
            )),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose1d_weight_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| {
                D::conv_transpose1d_weight_backward(
                    xs[0].clone(),
                    xs[1].clone(),
                    xs[2].clone(),
                    o.clone(),
                )
            }),
        );
        check_all_and_each(
            &format!("conv_transpose1d_bias_backward #{k}"),
            vec![x.clone(), b.clone(), g.clone()],
            jet_fn!(|xs| D::conv_transpose1d_bias_backward(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone()
            )),
        );
    }
}

#[test]
fn conv_transpose2d_rules() {
    for (k, opt) in [
        ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1),
        ConvTransposeOptions::new([2, 1], [1, 0], [1, 0], [1, 2], 1),
        ConvTransposeOptions::new([2, 2], [1, 1], [0, 1], [1, 1], 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, b) = (
            r(&[2, 4, 4, 5], 1),
            r(&[4, 6 / opt.groups, 3, 2], 2),
            r(&[6], 3),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose2d #{k}"),
            vec![x.clone(), w.clone(), b.clone()],
            jet_fn!((o), |xs| {
                D::conv_transpose2d(xs[0].clone(), xs[1].clone(), Some(xs[2].clone()), o.clone())
            }),
        );
        let out = shape_of(F::conv_transpose2d(fprim(&x), fprim(&w), None, opt.clone()));
        let g = r(&out, 4);
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose2d_x_backward #{k}"),
            vec![w.clone(), g.clone()],
            jet_fn!((o), |xs| D::conv_transpose2d_x_backward(
                xs[0].clone(),
                xs[1].clone(),
                o.clone()
            )),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose2d_weight_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| {
                D::conv_transpose2d_weight_backward(
                    xs[0].clone(),
                    xs[1].clone(),
                    xs[2].clone(),
                    o.clone(),
                )
            }),
        );
        check_all_and_each(
            &format!("conv_transpose2d_bias_backward #{k}"),
            vec![x.clone(), b.clone(), g.clone()],
            jet_fn!(|xs| D::conv_transpose2d_bias_backward(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone()
            )),
        );
    }
}

#[test]
fn conv_transpose3d_rules() {
    for (k, opt) in [
        ConvTransposeOptions::new([1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1], 1),
        ConvTransposeOptions::new([2, 1, 2], [1, 0, 0], [1, 0, 0], [1, 1, 2], 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (x, w, b) = (
            r(&[1, 2, 3, 4, 3], 1),
            r(&[2, 4 / opt.groups, 2, 2, 3], 2),
            r(&[4], 3),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose3d #{k}"),
            vec![x.clone(), w.clone(), b.clone()],
            jet_fn!((o), |xs| {
                D::conv_transpose3d(xs[0].clone(), xs[1].clone(), Some(xs[2].clone()), o.clone())
            }),
        );
        let out = shape_of(F::conv_transpose3d(fprim(&x), fprim(&w), None, opt.clone()));
        let g = r(&out, 4);
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose3d_x_backward #{k}"),
            vec![w.clone(), g.clone()],
            jet_fn!((o), |xs| D::conv_transpose3d_x_backward(
                xs[0].clone(),
                xs[1].clone(),
                o.clone()
            )),
        );
        let o = opt.clone();
        check_all_and_each(
            &format!("conv_transpose3d_weight_backward #{k}"),
            vec![x.clone(), w.clone(), g.clone()],
            jet_fn!((o), |xs| {
                D::conv_transpose3d_weight_backward(
                    xs[0].clone(),
                    xs[1].clone(),
                    xs[2].clone(),
                    o.clone(),
                )
            }),
        );
        check_all_and_each(
            &format!("conv_transpose3d_bias_backward #{k}"),
            vec![x.clone(), b.clone(), g.clone()],
            jet_fn!(|xs| D::conv_transpose3d_bias_backward(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone()
            )),
        );
    }
}

#[test]
fn unfold4d_rule() {
    for (k, opt) in [
        UnfoldOptions::new([1, 1], [0, 0], [1, 1]),
        UnfoldOptions::new([2, 1], [1, 1], [1, 2]),
    ]
    .into_iter()
    .enumerate()
    {
        check(
            &format!("unfold4d #{k}"),
            vec![r(&[2, 3, 6, 5], 1)],
            jet_fn!((opt), |xs| D::unfold4d(xs[0].clone(), [3, 2], opt.clone())),
        );
    }
}

// ---------------------------------------------------------------- pooling

#[test]
fn avg_pool_rules() {
    for (k, (include_pad, ceil)) in [(true, false), (false, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let x = r(&[2, 3, 7, 6], 1);
        let (ks, st, pd) = ([3, 2], [2, 1], [1, 1]);
        check(
            &format!("avg_pool2d #{k}"),
            vec![x.clone()],
            jet_fn!(|xs| D::avg_pool2d(xs[0].clone(), ks, st, pd, include_pad, ceil)),
        );
        let out = shape_of(F::avg_pool2d(fprim(&x), ks, st, pd, include_pad, ceil));
        check_all_and_each(
            &format!("avg_pool2d_backward #{k}"),
            vec![x.clone(), r(&out, 2)],
            jet_fn!(|xs| {
                D::avg_pool2d_backward(xs[0].clone(), xs[1].clone(), ks, st, pd, include_pad, ceil)
            }),
        );

        let x1 = r(&[2, 3, 9], 3);
        check(
            &format!("avg_pool1d #{k}"),
            vec![x1.clone()],
            jet_fn!(|xs| D::avg_pool1d(xs[0].clone(), 3, 2, 1, include_pad, ceil)),
        );
        let out = shape_of(F::avg_pool1d(fprim(&x1), 3, 2, 1, include_pad, ceil));
        check_all_and_each(
            &format!("avg_pool1d_backward #{k}"),
            vec![x1.clone(), r(&out, 4)],
            jet_fn!(|xs| {
                D::avg_pool1d_backward(xs[0].clone(), xs[1].clone(), 3, 2, 1, include_pad, ceil)
            }),
        );
    }
}

#[test]
fn adaptive_avg_pool_rules() {
    let x = r(&[2, 3, 7, 5], 1);
    check(
        "adaptive_avg_pool2d",
        vec![x.clone()],
        jet_fn!(|xs| D::adaptive_avg_pool2d(xs[0].clone(), [3, 2])),
    );
    check_all_and_each(
        "adaptive_avg_pool2d_backward",
        vec![x, r(&[2, 3, 3, 2], 2)],
        jet_fn!(|xs| D::adaptive_avg_pool2d_backward(xs[0].clone(), xs[1].clone())),
    );
    let x1 = r(&[2, 3, 7], 3);
    check(
        "adaptive_avg_pool1d",
        vec![x1.clone()],
        jet_fn!(|xs| D::adaptive_avg_pool1d(xs[0].clone(), 3)),
    );
    check_all_and_each(
        "adaptive_avg_pool1d_backward",
        vec![x1, r(&[2, 3, 3], 4)],
        jet_fn!(|xs| D::adaptive_avg_pool1d_backward(xs[0].clone(), xs[1].clone())),
    );
}

/// Step of the second difference through max pooling: x(t) leaves a window's argmax for
/// |t| between 1e-4 and 2e-4 in case #2. The op is piecewise linear: the second difference has
/// no truncation error, and its rounding error (~4ε/h² at h/2 = 5e-5) stays below 1e-6.
const MAX_POOL_H: f64 = 1e-4;

type Pool2 = ([usize; 2], [usize; 2], [usize; 2], [usize; 2], bool);

#[test]
fn max_pool2d_rules() {
    let cases: [Pool2; 5] = [
        ([2, 2], [2, 2], [0, 0], [1, 1], false),
        ([3, 3], [1, 1], [1, 1], [1, 1], false),
        ([3, 2], [2, 1], [1, 0], [1, 2], false),
        ([2, 3], [2, 2], [0, 1], [2, 1], true),
        ([3, 3], [2, 3], [1, 1], [1, 1], true),
    ];
    for (k, (ks, st, pd, dl, ceil)) in cases.into_iter().enumerate() {
        let x = r(&[2, 3, 7, 8], 10 + k as u64);
        check(
            &format!("max_pool2d #{k}"),
            vec![x.clone()],
            jet_fn!(|xs| D::max_pool2d(xs[0].clone(), ks, st, pd, dl, ceil)).with_h(MAX_POOL_H),
        );
        check(
            &format!("max_pool2d_with_indices #{k}"),
            vec![x.clone()],
            jet_fn!(|xs| D::max_pool2d_with_indices(xs[0].clone(), ks, st, pd, dl, ceil).output)
                .with_h(MAX_POOL_H),
        );
        let res = F::max_pool2d_with_indices(fprim(&x), ks, st, pd, dl, ceil);
        let out = shape_of(res.output);
        let idx = res.indices;
        check_all_and_each(
            &format!("max_pool2d_with_indices_backward #{k}"),
            vec![x.clone(), r(&out, 3)],
            jet_fn!((idx), |xs| {
                D::max_pool2d_with_indices_backward(
                    xs[0].clone(),
                    ks,
                    st,
                    pd,
                    dl,
                    ceil,
                    xs[1].clone(),
                    idx.clone(),
                )
                .x_grad
            }),
        );
    }
}

#[test]
fn max_pool1d_rules() {
    for (k, (ks, st, pd, dl, ceil)) in
        [(2, 2, 0, 1, false), (3, 1, 1, 1, false), (3, 2, 1, 2, true)]
            .into_iter()
            .enumerate()
    {
        let x = r(&[2, 3, 11], 20 + k as u64);
        check(
            &format!("max_pool1d #{k}"),
            vec![x.clone()],
            jet_fn!(|xs| D::max_pool1d(xs[0].clone(), ks, st, pd, dl, ceil)),
        );
        check(
            &format!("max_pool1d_with_indices #{k}"),
            vec![x.clone()],
            jet_fn!(|xs| D::max_pool1d_with_indices(xs[0].clone(), ks, st, pd, dl, ceil).output),
        );
        let res = F::max_pool1d_with_indices(fprim(&x), ks, st, pd, dl, ceil);
        let out = shape_of(res.output);
        let idx = res.indices;
        check_all_and_each(
            &format!("max_pool1d_with_indices_backward #{k}"),
            vec![x.clone(), r(&out, 3)],
            jet_fn!((idx), |xs| {
                D::max_pool1d_with_indices_backward(
                    xs[0].clone(),
                    ks,
                    st,
                    pd,
                    dl,
                    ceil,
                    xs[1].clone(),
                    idx.clone(),
                )
                .x_grad
            }),
        );
    }
}

// ---------------------------------------------------------------- interpolate, attention, layer norm

#[test]
fn interpolate_rules() {
    let modes = [
        InterpolateMode::Nearest,
        InterpolateMode::Bilinear,
        InterpolateMode::Bicubic,
        InterpolateMode::Lanczos3,
    ];
    for mode in modes {
        for align in [true, false] {
            for size in [[9, 4], [3, 7]] {
                let opt = InterpolateOptions::new(mode.clone()).with_align_corners(align);
                check(
                    &format!("interpolate {mode:?} align={align} {size:?}"),
                    vec![r(&[2, 3, 5, 6], 1)],
                    jet_fn!((opt), |xs| D::interpolate(xs[0].clone(), size, opt.clone())),
                );
            }
        }
    }
    // NdArray implements interpolate_backward for nearest only.
    for size in [[9, 4], [3, 7]] {
        let opt = InterpolateOptions::new(InterpolateMode::Nearest);
        check_all_and_each(
            &format!("interpolate_backward nearest {size:?}"),
            vec![r(&[2, 3, 5, 6], 1), r(&[2, 3, size[0], size[1]], 2)],
            jet_fn!((opt), |xs| D::interpolate_backward(
                xs[0].clone(),
                xs[1].clone(),
                size,
                opt.clone()
            )),
        );
    }
}

#[test]
fn attention_rule() {
    let (q, k, v, bias) = (
        r(&[2, 2, 3, 4], 1),
        r(&[2, 2, 5, 4], 2),
        r(&[2, 2, 5, 3], 3),
        r(&[2, 2, 3, 5], 4),
    );
    let opts = [
        AttentionModuleOptions::default(),
        AttentionModuleOptions {
            scale: Some(0.7),
            softcap: Some(2.0),
            is_causal: true,
        },
    ];
    for (n, opt) in opts.into_iter().enumerate() {
        check_all_and_each(
            &format!("attention #{n}"),
            vec![q.clone(), k.clone(), v.clone(), bias.clone()],
            jet_fn!(|xs| {
                D::attention(
                    xs[0].clone(),
                    xs[1].clone(),
                    xs[2].clone(),
                    None,
                    Some(xs[3].clone()),
                    opt,
                )
            }),
        );
        check(
            &format!("attention (no bias) #{n}"),
            vec![q.clone(), k.clone(), v.clone()],
            jet_fn!(|xs| D::attention(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone(),
                None,
                None,
                opt
            )),
        );
    }
    // A bool mask (true = masked), with one fully masked row.
    let mut m = vec![false; 2 * 2 * 3 * 5];
    for (i, e) in m.iter_mut().enumerate() {
        *e = i % 3 == 0 || (i / 5) % 3 == 1;
    }
    let mask = F::bool_from_data(TensorData::new(m, [2, 2, 3, 5]), &dev());
    check(
        "attention (mask)",
        vec![q, k, v],
        jet_fn!((mask), |xs| {
            D::attention(
                xs[0].clone(),
                xs[1].clone(),
                xs[2].clone(),
                Some(mask.clone()),
                None,
                Default::default(),
            )
        }),
    );
}

#[test]
fn layer_norm_rule() {
    let ins = vec![rand_data(&[2, 3, 6], -2.0, 3.0, 1), r(&[6], 2), r(&[6], 3)];
    check_all_and_each(
        "layer_norm",
        ins.clone(),
        jet_fn!(|xs| D::layer_norm(xs[0].clone(), xs[1].clone(), Some(xs[2].clone()), 1e-5)),
    );
    check_all_and_each(
        "layer_norm (no beta)",
        ins[..2].to_vec(),
        jet_fn!(|xs| D::layer_norm(xs[0].clone(), xs[1].clone(), None, 0.1)),
    );
}

// ---------------------------------------------------------------- non-contiguous input

#[test]
fn non_contiguous_inputs() {
    // x is stored [2, 3, W, H] and swapped to [2, 3, H, W]: primal and tangent are strided views.
    let (x, w) = (r(&[2, 3, 6, 7], 1), r(&[4, 3, 3, 3], 2));
    check(
        "conv2d (swapped x)",
        vec![x.clone(), w],
        jet_fn!(|xs| {
            let x = D::float_swap_dims(xs[0].clone(), 2, 3);
            D::conv2d(
                x,
                xs[1].clone(),
                None,
                ConvOptions::new([1, 2], [1, 0], [1, 1], 1),
            )
        }),
    );
    check(
        "max_pool2d (swapped x)",
        vec![x.clone()],
        jet_fn!(|xs| {
            let x = D::float_swap_dims(xs[0].clone(), 2, 3);
            D::max_pool2d(x, [3, 2], [2, 1], [1, 1], [1, 1], false)
        }),
    );
    check(
        "max_pool1d (swapped x)",
        vec![r(&[2, 9, 3], 3)],
        jet_fn!(|xs| {
            let x = D::float_swap_dims(xs[0].clone(), 1, 2);
            D::max_pool1d(x, 3, 2, 1, 1, false)
        }),
    );
    check(
        "softmax (swapped x)",
        vec![x],
        jet_fn!(|xs| D::softmax(D::float_swap_dims(xs[0].clone(), 1, 3), 3)),
    );
}

// ---------------------------------------------------------------- no tangent in, no tangent out

#[test]
fn no_tangent_stays_none() {
    let c = |d: TensorData| DualTensor::<F>::constant(fprim(&d));
    let (x, w, b) = (
        c(r(&[1, 2, 5, 5], 1)),
        c(r(&[3, 2, 3, 3], 2)),
        c(r(&[3], 3)),
    );
    let opt = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    assert!(D::conv2d(x.clone(), w.clone(), Some(b), opt.clone())
        .tangent
        .is_none());
    let g = c(r(&[1, 3, 3, 3], 4));
    assert!(
        D::conv2d_x_backward(x.clone(), w.clone(), g.clone(), opt.clone())
            .tangent
            .is_none()
    );
    assert!(D::conv2d_weight_backward(x.clone(), w.clone(), g, opt)
        .tangent
        .is_none());
    assert!(
        D::max_pool2d(x.clone(), [2, 2], [1, 1], [0, 0], [1, 1], false)
            .tangent
            .is_none()
    );
    assert!(
        D::max_pool2d_with_indices(x.clone(), [2, 2], [1, 1], [0, 0], [1, 1], false)
            .output
            .tangent
            .is_none()
    );
    assert!(
        D::avg_pool2d(x.clone(), [2, 2], [1, 1], [0, 0], true, false)
            .tangent
            .is_none()
    );
    assert!(D::relu(x.clone()).tangent.is_none());
    assert!(D::gelu(x.clone()).tangent.is_none());
    assert!(D::gelu_backward(x.clone(), x.clone()).tangent.is_none());
    assert!(D::softmax(x.clone(), 1).tangent.is_none());
    assert!(D::log_softmax(x.clone(), 1).tangent.is_none());
    assert!(D::sigmoid(x.clone()).tangent.is_none());
    assert!(D::layer_norm(x.clone(), c(r(&[5], 5)), None, 1e-5)
        .tangent
        .is_none());
    let (q, k, v) = (
        c(r(&[1, 1, 2, 3], 6)),
        c(r(&[1, 1, 4, 3], 7)),
        c(r(&[1, 1, 4, 2], 8)),
    );
    assert!(D::attention(q, k, v, None, None, Default::default())
        .tangent
        .is_none());
}

// ---------------------------------------------------------------- unsupported ops

fn deform_inputs(tangent_on_offset: bool) -> (T, T, T) {
    let (x, off, w) = (
        r(&[1, 2, 4, 4], 1),
        r(&[1, 2 * 2 * 2, 3, 3], 2),
        r(&[3, 2, 2, 2], 3),
    );
    let off_t = tangent_on_offset.then(|| fprim(&r(&[1, 8, 3, 3], 4)));
    (
        DualTensor::constant(fprim(&x)),
        DualTensor::new(fprim(&off), off_t),
        DualTensor::constant(fprim(&w)),
    )
}

#[test]
fn deform_conv2d_without_tangent_delegates() {
    let (x, off, w) = deform_inputs(false);
    let y = D::deform_conv2d(
        x,
        off,
        w,
        None,
        None,
        DeformConvOptions::new([1, 1], [0, 0], [1, 1], 1, 1),
    );
    assert_eq!(y.primal.shape().to_vec(), vec![1, 3, 3, 3]);
    assert!(y.tangent.is_none());
}

#[test]
#[should_panic(expected = "no JVP rule")]
fn deform_conv2d_with_tangent_panics() {
    let (x, off, w) = deform_inputs(true);
    let _ = D::deform_conv2d(
        x,
        off,
        w,
        None,
        None,
        DeformConvOptions::new([1, 1], [0, 0], [1, 1], 1, 1),
    );
}

#[test]
#[should_panic(expected = "no JVP rule")]
fn deform_conv2d_backward_with_tangent_panics() {
    let (x, off, w) = deform_inputs(true);
    let g = DualTensor::constant(fprim(&r(&[1, 3, 3, 3], 5)));
    let _ = D::deform_conv2d_backward(
        x,
        off,
        w,
        None,
        None,
        g,
        DeformConvOptions::new([1, 1], [0, 0], [1, 1], 1, 1),
    );
}

/// deform_conv2d (and its backward) refuse a jet that carries a coefficient, and run on jets
/// without one.
#[test]
fn deform_conv2d_refuses_jets() {
    let opt = || DeformConvOptions::new([1, 1], [0, 0], [1, 1], 1, 1);
    let (x, off, w) = (
        r(&[1, 2, 4, 4], 1),
        r(&[1, 2 * 2 * 2, 3, 3], 2),
        r(&[3, 2, 2, 2], 3),
    );
    let jet = |d: &TensorData, t: bool, s: bool, seed: u64| {
        DualTensor::<F>::jet(
            fprim(d),
            t.then(|| fprim(&r(&d.shape, seed))),
            s.then(|| fprim(&r(&d.shape, seed + 1))),
        )
    };
    for (t, s) in [(true, true), (true, false), (false, true)] {
        for on in 0..3 {
            let ins = |k: usize| {
                let d = [&x, &off, &w][k];
                if k == on {
                    jet(d, t, s, 10 + k as u64)
                } else {
                    jet(d, false, false, 0)
                }
            };
            let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = D::deform_conv2d(ins(0), ins(1), ins(2), None, None, opt());
            }))
            .err()
            .map(|e| common::jet::panic_message(&e))
            .unwrap_or_else(|| panic!("deform_conv2d: no panic (input {on}, {t}, {s})"));
            assert!(
                msg.contains("no second-order rule") || msg.contains("no JVP rule"),
                "deform_conv2d: {msg}"
            );
            let g = DualTensor::<F>::constant(fprim(&r(&[1, 3, 3, 3], 5)));
            let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = D::deform_conv2d_backward(ins(0), ins(1), ins(2), None, None, g, opt());
            }))
            .err()
            .map(|e| common::jet::panic_message(&e))
            .unwrap_or_else(|| panic!("deform_conv2d_backward: no panic (input {on}, {t}, {s})"));
            assert!(
                msg.contains("no second-order rule") || msg.contains("no JVP rule"),
                "deform_conv2d_backward: {msg}"
            );
        }
    }
    let c = |d: &TensorData| jet(d, false, false, 0);
    let y = D::deform_conv2d(c(&x), c(&off), c(&w), None, None, opt());
    assert!(y.tangent.is_none() && y.second.is_none());
}

// ---------------------------------------------------------------- activations

#[test]
fn relu_rules() {
    check(
        "relu",
        vec![r(&[4, 7], 1)],
        jet_fn!(|xs| D::relu(xs[0].clone())),
    );
    // relu_backward(output, grad) masks grad where output <= 0; random output without zeros so
    // that perturbing it does not cross the mask boundary.
    check_all_and_each(
        "relu_backward",
        vec![r(&[4, 7], 2), r(&[4, 7], 3)],
        jet_fn!(|xs| D::relu_backward(xs[0].clone(), xs[1].clone())),
    );
}

#[test]
fn gelu_rules() {
    let x = rand_data(&[5, 7], -4.0, 4.0, 1);
    check(
        "gelu",
        vec![x.clone()],
        jet_fn!(|xs| D::gelu(xs[0].clone())),
    );
    check_all_and_each(
        "gelu_backward",
        vec![x, r(&[5, 7], 2)],
        // No second-order rule yet: a jet through it must panic.
        jet_fn!(|xs| D::gelu_backward(xs[0].clone(), xs[1].clone())).no_second_rule(),
    );
}

#[test]
fn gelu_backward_is_the_derivative_of_gelu() {
    // gelu_backward(x, 1) must be the derivative of gelu (the exact erf one), so that reverse
    // mode over Dual differentiates the function it evaluates.
    let x = rand_data(&[64], -4.0, 4.0, 3);
    let ones = TensorData::new(vec![1.0f64; 64], [64]);
    let (p, jvp, _) = eval_dual(
        std::slice::from_ref(&x),
        &[Some(ones.clone())],
        &|xs: Vec<T>| D::gelu(xs[0].clone()),
    );
    let (g, _, _) = eval_dual(&[x, ones], &[None, None], &|xs: Vec<T>| {
        D::gelu_backward(xs[0].clone(), xs[1].clone())
    });
    assert_eq!(p.len(), g.len());
    for (a, b) in jvp.iter().zip(&g) {
        assert!((a - b).abs() < 1e-12, "gelu' {a} vs gelu_backward {b}");
    }
}

/// Full-precision sigmoid on the primal (NdArray evaluates `sigmoid` in f32).
fn sigmoid_ref(xs: Vec<T>) -> T {
    let x = xs[0].primal.clone();
    DualTensor::constant(F::float_recip(F::float_add_scalar(
        F::float_exp(F::float_neg(x)),
        1.0.into(),
    )))
}

#[test]
fn sigmoid_rules() {
    let x = rand_data(&[5, 7], -4.0, 4.0, 1);
    check(
        "sigmoid",
        vec![x],
        jet_fn!(|xs| D::sigmoid(xs[0].clone())).with_reference(sigmoid_ref),
    );
    let out = rand_data(&[5, 7], 0.01, 0.99, 2);
    check_all_and_each(
        "sigmoid_backward",
        vec![out, r(&[5, 7], 3)],
        // No second-order rule yet: a jet through it must panic.
        jet_fn!(|xs| D::sigmoid_backward(xs[0].clone(), xs[1].clone())).no_second_rule(),
    );
}

#[test]
fn softmax_rules() {
    let x = rand_data(&[3, 4, 5], -3.0, 3.0, 1);
    for dim in 0..3 {
        check(
            &format!("softmax dim {dim}"),
            vec![x.clone()],
            jet_fn!(|xs| D::softmax(xs[0].clone(), dim)),
        );
        check(
            &format!("log_softmax dim {dim}"),
            vec![x.clone()],
            jet_fn!(|xs| D::log_softmax(xs[0].clone(), dim)),
        );
        check(
            &format!("softmin (default) dim {dim}"),
            vec![x.clone()],
            jet_fn!(|xs| D::softmin(xs[0].clone(), dim)),
        );
    }
}

/// The activations left to the trait defaults go through the float-op rules.
#[test]
fn default_activations() {
    let x = rand_data(&[5, 7], -4.0, 4.0, 1);
    check(
        "leaky_relu (default)",
        vec![x.clone()],
        jet_fn!(|xs| D::leaky_relu(xs[0].clone(), 0.1.into())),
    );
    check_all_and_each(
        "prelu (default)",
        vec![x.clone(), r(&[7], 2)],
        jet_fn!(|xs| D::prelu(xs[0].clone(), xs[1].clone())),
    );
    check(
        "log_sigmoid (default)",
        vec![x.clone()],
        jet_fn!(|xs| D::log_sigmoid(xs[0].clone())),
    );
    check_all_and_each(
        "log_sigmoid_backward (default)",
        vec![x.clone(), r(&[5, 7], 3)],
        jet_fn!(|xs| D::log_sigmoid_backward(xs[0].clone(), xs[1].clone())),
    );
    // hard_sigmoid's default goes through f32: compare with a full-precision reference.
    check(
        "hard_sigmoid (default)",
        vec![x],
        jet_fn!(|xs| D::hard_sigmoid(xs[0].clone(), 0.2.into(), 0.5.into())).with_reference(|xs| {
            let x = xs[0].primal.clone();
            DualTensor::constant(F::float_clamp(
                F::float_add_scalar(F::float_mul_scalar(x, 0.2.into()), 0.5.into()),
                0.0.into(),
                1.0.into(),
            ))
        }),
    );
}

// ---------------------------------------------------------------- end to end: Autodiff<Dual<B>>

mod hvp {
    use super::*;
    use burn::backend::Autodiff;
    use burn::tensor::{activation, module, Tensor};
    use cdat_core::dual::Dual;

    type A = Autodiff<D>;

    fn param<const N: usize>(p: &TensorData, t: Option<&TensorData>) -> Tensor<A, N> {
        let p = Tensor::<F, N>::from_data(p.clone(), &dev());
        let d = match t {
            Some(t) => Dual::<F>::with_tangent(p, Tensor::<F, N>::from_data(t.clone(), &dev())),
            None => Dual::<F>::constant(p),
        };
        Tensor::from_inner(d).require_grad()
    }

    fn flat<const N: usize>(t: Tensor<F, N>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec::<f64>().unwrap()
    }

    /// Gradient of a small conv net's loss w.r.t. its 4 parameters, with its tangent (the
    /// Hessian-vector product along `v`), flattened and concatenated.
    fn grad_and_hvp(theta: &[TensorData], v: Option<&[TensorData]>) -> (Vec<f64>, Vec<f64>) {
        let vt = |i: usize| v.map(|v| &v[i]);
        let w: Tensor<A, 4> = param(&theta[0], vt(0));
        let b: Tensor<A, 1> = param(&theta[1], vt(1));
        let lw: Tensor<A, 2> = param(&theta[2], vt(2));
        let lb: Tensor<A, 1> = param(&theta[3], vt(3));
        let x = Tensor::<A, 4>::from_inner(Dual::<F>::constant(Tensor::from_data(
            rand_data(&[2, 2, 8, 8], -1.0, 1.0, 99),
            &dev(),
        )));
        let target = Tensor::<A, 2>::from_inner(Dual::<F>::constant(Tensor::from_data(
            rand_data(&[2, 5], 0.0, 1.0, 98),
            &dev(),
        )));

        let h = module::conv2d(
            x,
            w.clone(),
            Some(b.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        let h = activation::gelu(h);
        let h = module::max_pool2d(h, [2, 2], [2, 2], [0, 0], [1, 1], false);
        let h = module::avg_pool2d(h, [2, 2], [1, 1], [0, 0], true, false);
        let h = activation::relu(h);
        let h = activation::log_sigmoid(h);
        let h: Tensor<A, 2> = h.flatten(1, 3);
        let logits = module::linear(h, lw.clone(), Some(lb.clone()));
        let loss = (activation::log_softmax(logits, 1) * target).sum().neg();

        let grads = loss.backward();
        let mut g = Vec::new();
        let mut hv = Vec::new();
        let mut push = |(p, t): (Vec<f64>, Option<Vec<f64>>)| {
            hv.extend(t.unwrap_or_else(|| vec![0.0; p.len()]));
            g.extend(p);
        };
        let (p, t) = Dual::<F>::split(w.grad(&grads).unwrap());
        push((flat(p), t.map(flat)));
        let (p, t) = Dual::<F>::split(b.grad(&grads).unwrap());
        push((flat(p), t.map(flat)));
        let (p, t) = Dual::<F>::split(lw.grad(&grads).unwrap());
        push((flat(p), t.map(flat)));
        let (p, t) = Dual::<F>::split(lb.grad(&grads).unwrap());
        push((flat(p), t.map(flat)));
        (g, hv)
    }

    #[test]
    fn conv_net_hvp_matches_finite_difference_of_gradient() {
        // conv: 3 out channels, 2 in, 3x3; 8x8 -> 8x8 -> pool 4x4 -> avg 3x3: 27 features.
        let theta = vec![r(&[3, 2, 3, 3], 1), r(&[3], 2), r(&[27, 5], 3), r(&[5], 4)];
        let v: Vec<TensorData> = theta
            .iter()
            .enumerate()
            .map(|(i, p)| r(&p.shape, 50 + i as u64))
            .collect();
        let (_, hv) = grad_and_hvp(&theta, Some(&v));
        let h = 1e-5;
        let shift = |s: f64| -> Vec<TensorData> {
            theta
                .iter()
                .zip(&v)
                .map(|(p, d)| {
                    let pv = p.clone().to_vec::<f64>().unwrap();
                    let dv = d.clone().to_vec::<f64>().unwrap();
                    TensorData::new(
                        pv.iter()
                            .zip(&dv)
                            .map(|(a, b)| a + s * h * b)
                            .collect::<Vec<_>>(),
                        p.shape.clone(),
                    )
                })
                .collect()
        };
        let (gp, _) = grad_and_hvp(&shift(1.0), None);
        let (gm, _) = grad_and_hvp(&shift(-1.0), None);
        let fd: Vec<f64> = gp
            .iter()
            .zip(&gm)
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
        let scale = fd.iter().fold(1e-3f64, |m, x| m.max(x.abs()));
        let err = fd
            .iter()
            .zip(&hv)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(scale > 1e-2, "degenerate test: the HVP is (nearly) zero");
        assert!(
            err <= 1e-6 * scale,
            "HVP vs FD of gradient: max abs err {err:e}, scale {scale:e}"
        );
    }
}
