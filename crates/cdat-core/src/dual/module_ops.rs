//! Jet rules for module operations (convolution, pooling, embedding, ...), to second order.
//!
//! Every op here is linear or bilinear in its float inputs (max-pooling is linear in `x` once the
//! argmax indices are fixed), so each coefficient is the op itself applied to coefficients of
//! its operands (see [`super::rules`]): `y₁ = op(a₁, b) + op(a, b₁)`,
//! `y₂ = op(a₂, b) + 2·op(a₁, b₁) + op(a, b₂)`. Inputs that only provide a shape (e.g. `x` of
//! `conv2d_x_backward`) contribute nothing. A `None` coefficient is zero: when every relevant
//! input is a constant, only the wrapped backend's op runs, on the primals. `layer_norm` and
//! `attention` with derivatives are unfused into float ops, which carry their own rules.
//!
//! Ops left to the trait defaults (`layer_norm` is overridden, see below): `ctc_loss`,
//! `has_ctc_loss_backward` and `ctc_loss_backward` (the default `ctc_loss` is a composition of
//! float ops, which carry their own JVP rules; `has_ctc_loss_backward` stays `false`, so
//! `ctc_loss_backward` is never called).
//!
//! `deform_conv2d` and `deform_conv2d_backward` have no JVP rule: they delegate to the wrapped
//! backend when no input carries a tangent and panic otherwise.

use super::rules::{bilinear, constant, jet, linear, linear_n, sum_opt, tracks, P};
use super::{Dual, DualTensor};
use burn_backend::backend::Backend;
use burn_backend::ops::attention::attention_fallback;
use burn_backend::ops::*;
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};
use burn_backend::{Scalar, Shape, TensorMetadata};

/// A bias coefficient of shape `[C]` broadcast to `out_shape`, with `C` at dimension `dim`.
fn expand_bias<B: Backend>(tb: P<B>, out_shape: &Shape, dim: usize) -> P<B> {
    let rank = out_shape.num_dims();
    let dims: Vec<usize> = (0..rank)
        .map(|i| if i == dim { out_shape[i] } else { 1 })
        .collect();
    B::float_expand(B::float_reshape(tb, Shape::from(dims)), out_shape.clone())
}

/// `op(x, w, bias)` bilinear in `(x, w)` plus a bias added linearly along `bias_dim` of the
/// output:
/// `y₁ = op(x₁, w, b₁) + op(x, w₁, ·)`, `y₂ = op(x₂, w, b₂) + 2·op(x₁, w₁, ·) + op(x, w₂, ·)`
/// (each order's bias coefficient rides along with one of its terms, or is broadcast on its
/// own). The terms are computed so that each input coefficient is released after its last
/// use: a jet pass then holds no more activations than it must.
fn with_bias<B: Backend>(
    x: DualTensor<B>,
    w: DualTensor<B>,
    bias: Option<DualTensor<B>>,
    bias_dim: impl FnOnce(usize) -> usize,
    op: impl Fn(P<B>, P<B>, Option<P<B>>) -> P<B>,
) -> DualTensor<B> {
    let tracks = match &bias {
        Some(b) => tracks(&[&x, &w, b]),
        None => tracks(&[&x, &w]),
    };
    let (b0, mut b1, mut b2) = match bias {
        Some(b) => (Some(b.primal), b.tangent, b.second),
        None => (None, None, None),
    };
    let DualTensor {
        primal: x0,
        tangent: x1,
        second: x2,
        ..
    } = x;
    let DualTensor {
        primal: w0,
        tangent: w1,
        second: w2,
        ..
    } = w;
    let x2 = x2.filter(|_| tracks);
    let w2 = w2.filter(|_| tracks);
    // Terms with x₀ (then x₀ is released).
    let y = op(x0.clone(), w0.clone(), b0);
    let t_w = w1.clone().map(|w1| op(x0.clone(), w1, b1.take()));
    let s_w = w2.map(|w2| op(x0, w2, b2.take()));
    // Terms with x₂, then x₁ (released after the cross term).
    let s_x = x2.map(|x2| op(x2, w0.clone(), b2.take()));
    let cross = match (tracks, &x1, w1) {
        (true, Some(x1), Some(w1)) => Some(B::float_mul_scalar(
            op(x1.clone(), w1, None),
            Scalar::from(2.0),
        )),
        _ => None,
    };
    let t_x = x1.map(|x1| op(x1, w0, b1.take()));
    let shape = y.shape();
    let dim = bias_dim(shape.num_dims());
    let rest = |b: Option<P<B>>| b.map(|b| expand_bias::<B>(b, &shape, dim));
    let t = sum_opt::<B>(sum_opt::<B>(t_x, t_w), rest(b1));
    let s = sum_opt::<B>(sum_opt::<B>(sum_opt::<B>(s_x, s_w), cross), rest(b2));
    jet(y, t, s, tracks)
}

/// Channel dimension of a convolution output.
fn channel_dim(_rank: usize) -> usize {
    1
}

/// Tangent of a 2-d max-pool: the input tangent at the argmax of each window. `indices` index
/// the flattened `h * w` plane of each (batch, channel).
fn gather_pool2d<B: Backend>(t: P<B>, indices: &IntTensor<B>) -> P<B> {
    let [n, c, h, w] = t.shape().dims();
    let [_, _, ho, wo] = indices.shape().dims();
    let t = B::float_reshape(t, Shape::new([n, c, h * w]));
    let idx = B::int_reshape(indices.clone(), Shape::new([n, c, ho * wo]));
    B::float_reshape(B::float_gather(2, t, idx), Shape::new([n, c, ho, wo]))
}

/// Whether any input carries a derivative coefficient.
fn any_derivative<B: Backend>(xs: &[Option<&DualTensor<B>>]) -> bool {
    xs.iter().any(|x| x.is_some_and(|x| !x.is_constant()))
}

fn no_rule(op: &str) -> ! {
    panic!("Dual: no JVP rule for {op}; forward-mode differentiation through it is not supported")
}

impl<B: Backend> ModuleOps<Self> for Dual<B> {
    fn embedding(weights: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self> {
        // Linear in the weights.
        linear(weights, |w| B::embedding(w, indices.clone()))
    }

    fn embedding_backward(
        weights: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        // Linear in output_grad; the weights only give the shape.
        let w = weights.primal;
        linear(output_grad, |g| {
            B::embedding_backward(w.clone(), g, indices.clone())
        })
    }

    fn linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        with_bias(
            x,
            weight,
            bias,
            |rank| rank - 1,
            |x, w, b| B::linear(x, w, b),
        )
    }

    fn linear_x_backward(
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // output_grad @ weight^T: bilinear.
        bilinear(weight, output_grad, |w, g| B::linear_x_backward(w, g))
    }

    fn linear_weight_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // x^T @ output_grad (summed over batch dims): bilinear.
        bilinear(x, output_grad, |x, g| B::linear_weight_backward(x, g))
    }

    fn linear_bias_backward(output_grad: FloatTensor<Self>) -> FloatTensor<Self> {
        linear(output_grad, |g| B::linear_bias_backward(g))
    }

    fn conv1d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<1>,
    ) -> FloatTensor<Self> {
        with_bias(x, weight, bias, channel_dim, |x, w, b| {
            B::conv1d(x, w, b, options.clone())
        })
    }

    fn conv1d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<1>,
    ) -> FloatTensor<Self> {
        // Bilinear in (weight, output_grad); x only gives the shape.
        let x = x.primal;
        bilinear(weight, output_grad, |w, g| {
            B::conv1d_x_backward(x.clone(), w, g, options.clone())
        })
    }

    fn conv1d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<1>,
    ) -> FloatTensor<Self> {
        // Bilinear in (x, output_grad); weight only gives the shape.
        let w = weight.primal;
        bilinear(x, output_grad, |x, g| {
            B::conv1d_weight_backward(x, w.clone(), g, options.clone())
        })
    }

    fn conv1d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, b) = (x.primal, bias.primal);
        linear(output_grad, |g| {
            B::conv1d_bias_backward(x.clone(), b.clone(), g)
        })
    }

    fn conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        with_bias(x, weight, bias, channel_dim, |x, w, b| {
            B::conv2d(x, w, b, options.clone())
        })
    }

    fn conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        bilinear(weight, output_grad, |w, g| {
            B::conv2d_x_backward(x.clone(), w, g, options.clone())
        })
    }

    fn conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let w = weight.primal;
        bilinear(x, output_grad, |x, g| {
            B::conv2d_weight_backward(x, w.clone(), g, options.clone())
        })
    }

    fn conv2d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, b) = (x.primal, bias.primal);
        linear(output_grad, |g| {
            B::conv2d_bias_backward(x.clone(), b.clone(), g)
        })
    }

    fn deform_conv2d(
        x: FloatTensor<Self>,
        offset: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        mask: Option<FloatTensor<Self>>,
        bias: Option<FloatTensor<Self>>,
        options: DeformConvOptions<2>,
    ) -> FloatTensor<Self> {
        if any_derivative(&[
            Some(&x),
            Some(&offset),
            Some(&weight),
            mask.as_ref(),
            bias.as_ref(),
        ]) {
            no_rule("deform_conv2d");
        }
        constant(B::deform_conv2d(
            x.primal,
            offset.primal,
            weight.primal,
            mask.map(|m| m.primal),
            bias.map(|b| b.primal),
            options,
        ))
    }

    fn deform_conv2d_backward(
        x: FloatTensor<Self>,
        offset: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        mask: Option<FloatTensor<Self>>,
        bias: Option<FloatTensor<Self>>,
        output_grad: FloatTensor<Self>,
        options: DeformConvOptions<2>,
    ) -> DeformConv2dBackward<Self> {
        if any_derivative(&[
            Some(&x),
            Some(&offset),
            Some(&weight),
            mask.as_ref(),
            bias.as_ref(),
            Some(&output_grad),
        ]) {
            no_rule("deform_conv2d_backward");
        }
        let g = B::deform_conv2d_backward(
            x.primal,
            offset.primal,
            weight.primal,
            mask.map(|m| m.primal),
            bias.map(|b| b.primal),
            output_grad.primal,
            options,
        );
        DeformConv2dBackward::new(
            DualTensor::constant(g.x_grad),
            DualTensor::constant(g.offset_grad),
            DualTensor::constant(g.weight_grad),
            g.mask_grad.map(DualTensor::constant),
            g.bias_grad.map(DualTensor::constant),
        )
    }

    fn conv3d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<3>,
    ) -> FloatTensor<Self> {
        with_bias(x, weight, bias, channel_dim, |x, w, b| {
            B::conv3d(x, w, b, options.clone())
        })
    }

    fn conv3d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<3>,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        bilinear(weight, output_grad, |w, g| {
            B::conv3d_x_backward(x.clone(), w, g, options.clone())
        })
    }

    fn conv3d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<3>,
    ) -> FloatTensor<Self> {
        let w = weight.primal;
        bilinear(x, output_grad, |x, g| {
            B::conv3d_weight_backward(x, w.clone(), g, options.clone())
        })
    }

    fn conv3d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, b) = (x.primal, bias.primal);
        linear(output_grad, |g| {
            B::conv3d_bias_backward(x.clone(), b.clone(), g)
        })
    }

    fn conv_transpose1d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvTransposeOptions<1>,
    ) -> FloatTensor<Self> {
        with_bias(x, weight, bias, channel_dim, |x, w, b| {
            B::conv_transpose1d(x, w, b, options.clone())
        })
    }

    fn conv_transpose1d_x_backward(
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<1>,
    ) -> FloatTensor<Self> {
        bilinear(weight, output_grad, |w, g| {
            B::conv_transpose1d_x_backward(w, g, options.clone())
        })
    }

    fn conv_transpose1d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<1>,
    ) -> FloatTensor<Self> {
        let w = weight.primal;
        bilinear(x, output_grad, |x, g| {
            B::conv_transpose1d_weight_backward(x, w.clone(), g, options.clone())
        })
    }

    fn conv_transpose1d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, b) = (x.primal, bias.primal);
        linear(output_grad, |g| {
            B::conv_transpose1d_bias_backward(x.clone(), b.clone(), g)
        })
    }

    fn conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        with_bias(x, weight, bias, channel_dim, |x, w, b| {
            B::conv_transpose2d(x, w, b, options.clone())
        })
    }

    fn conv_transpose2d_x_backward(
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        bilinear(weight, output_grad, |w, g| {
            B::conv_transpose2d_x_backward(w, g, options.clone())
        })
    }

    fn conv_transpose2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        let w = weight.primal;
        bilinear(x, output_grad, |x, g| {
            B::conv_transpose2d_weight_backward(x, w.clone(), g, options.clone())
        })
    }

    fn conv_transpose2d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, b) = (x.primal, bias.primal);
        linear(output_grad, |g| {
            B::conv_transpose2d_bias_backward(x.clone(), b.clone(), g)
        })
    }

    fn conv_transpose3d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvTransposeOptions<3>,
    ) -> FloatTensor<Self> {
        with_bias(x, weight, bias, channel_dim, |x, w, b| {
            B::conv_transpose3d(x, w, b, options.clone())
        })
    }

    fn conv_transpose3d_x_backward(
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<3>,
    ) -> FloatTensor<Self> {
        bilinear(weight, output_grad, |w, g| {
            B::conv_transpose3d_x_backward(w, g, options.clone())
        })
    }

    fn conv_transpose3d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<3>,
    ) -> FloatTensor<Self> {
        let w = weight.primal;
        bilinear(x, output_grad, |x, g| {
            B::conv_transpose3d_weight_backward(x, w.clone(), g, options.clone())
        })
    }

    fn conv_transpose3d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (x, b) = (x.primal, bias.primal);
        linear(output_grad, |g| {
            B::conv_transpose3d_bias_backward(x.clone(), b.clone(), g)
        })
    }

    fn unfold4d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        options: UnfoldOptions,
    ) -> FloatTensor<Self> {
        linear(x, |x| B::unfold4d(x, kernel_size, options.clone()))
    }

    fn avg_pool1d(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        linear(x, |x| {
            B::avg_pool1d(
                x,
                kernel_size,
                stride,
                padding,
                count_include_pad,
                ceil_mode,
            )
        })
    }

    fn avg_pool1d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        linear(grad, |g| {
            B::avg_pool1d_backward(
                x.clone(),
                g,
                kernel_size,
                stride,
                padding,
                count_include_pad,
                ceil_mode,
            )
        })
    }

    fn avg_pool2d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        linear(x, |x| {
            B::avg_pool2d(
                x,
                kernel_size,
                stride,
                padding,
                count_include_pad,
                ceil_mode,
            )
        })
    }

    fn avg_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        linear(grad, |g| {
            B::avg_pool2d_backward(
                x.clone(),
                g,
                kernel_size,
                stride,
                padding,
                count_include_pad,
                ceil_mode,
            )
        })
    }

    fn adaptive_avg_pool2d(x: FloatTensor<Self>, output_size: [usize; 2]) -> FloatTensor<Self> {
        linear(x, |x| B::adaptive_avg_pool2d(x, output_size))
    }

    fn adaptive_avg_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        linear(grad, |g| B::adaptive_avg_pool2d_backward(x.clone(), g))
    }

    fn adaptive_avg_pool1d(x: FloatTensor<Self>, output_size: usize) -> FloatTensor<Self> {
        linear(x, |x| B::adaptive_avg_pool1d(x, output_size))
    }

    fn adaptive_avg_pool1d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        linear(grad, |g| B::adaptive_avg_pool1d_backward(x.clone(), g))
    }

    fn max_pool1d(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        if x.is_constant() {
            return constant(B::max_pool1d(
                x.primal,
                kernel_size,
                stride,
                padding,
                dilation,
                ceil_mode,
            ));
        }
        Self::max_pool1d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode).output
    }

    fn max_pool1d_with_indices(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> MaxPool1dWithIndices<Self> {
        // Every coefficient of the max of each window is the input's at its argmax; `indices`
        // index the (unpadded) length dimension.
        let r = B::max_pool1d_with_indices(
            x.primal.clone(),
            kernel_size,
            stride,
            padding,
            dilation,
            ceil_mode,
        );
        let d = linear(x, |c| B::float_gather(2, c, r.indices.clone()));
        let y = jet(r.output, d.tangent, d.second, d.tracks_second);
        MaxPool1dWithIndices::new(y, r.indices)
    }

    fn max_pool1d_with_indices_backward(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
        output_grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> MaxPool1dBackward<Self> {
        // Linear in output_grad for fixed indices; x only gives the shape.
        let x = x.primal;
        let g = linear(output_grad, |g| {
            B::max_pool1d_with_indices_backward(
                x.clone(),
                kernel_size,
                stride,
                padding,
                dilation,
                ceil_mode,
                g,
                indices.clone(),
            )
            .x_grad
        });
        MaxPool1dBackward::new(g)
    }

    fn max_pool2d(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> FloatTensor<Self> {
        if x.is_constant() {
            return constant(B::max_pool2d(
                x.primal,
                kernel_size,
                stride,
                padding,
                dilation,
                ceil_mode,
            ));
        }
        Self::max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode).output
    }

    fn max_pool2d_with_indices(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> MaxPool2dWithIndices<Self> {
        // `indices` index the flattened (unpadded) `h * w` plane of each (batch, channel).
        let r = B::max_pool2d_with_indices(
            x.primal.clone(),
            kernel_size,
            stride,
            padding,
            dilation,
            ceil_mode,
        );
        let d = linear(x, |c| gather_pool2d::<B>(c, &r.indices));
        let y = jet(r.output, d.tangent, d.second, d.tracks_second);
        MaxPool2dWithIndices::new(y, r.indices)
    }

    fn max_pool2d_with_indices_backward(
        x: FloatTensor<Self>,
        kernel_size: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
        output_grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> MaxPool2dBackward<Self> {
        let x = x.primal;
        let g = linear(output_grad, |g| {
            B::max_pool2d_with_indices_backward(
                x.clone(),
                kernel_size,
                stride,
                padding,
                dilation,
                ceil_mode,
                g,
                indices.clone(),
            )
            .x_grad
        });
        MaxPool2dBackward::new(g)
    }

    fn interpolate(
        x: FloatTensor<Self>,
        output_size: [usize; 2],
        options: InterpolateOptions,
    ) -> FloatTensor<Self> {
        // Every mode (nearest, bilinear, bicubic, lanczos3) is a fixed linear filter of x.
        linear(x, |x| B::interpolate(x, output_size, options.clone()))
    }

    fn interpolate_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        output_size: [usize; 2],
        options: InterpolateOptions,
    ) -> FloatTensor<Self> {
        let x = x.primal;
        linear(grad, |g| {
            B::interpolate_backward(x.clone(), g, output_size, options.clone())
        })
    }

    fn attention(
        query: FloatTensor<Self>,
        key: FloatTensor<Self>,
        value: FloatTensor<Self>,
        mask: Option<BoolTensor<Self>>,
        attn_bias: Option<FloatTensor<Self>>,
        options: AttentionModuleOptions,
    ) -> FloatTensor<Self> {
        if any_derivative(&[Some(&query), Some(&key), Some(&value), attn_bias.as_ref()]) {
            // Unfused: matmul, softcap, masking, softmax, matmul, each with its own jet rule.
            attention_fallback::<Self>(query, key, value, mask, attn_bias, options)
        } else {
            constant(B::attention(
                query.primal,
                key.primal,
                value.primal,
                mask,
                attn_bias.map(|b| b.primal),
                options,
            ))
        }
    }

    fn layer_norm(
        tensor: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        // y = x̂ γ + β with x̂ = c / s, c = x - mean(x), s = sqrt(mean(c²) + ε) (last dim).
        // d x̂ = (t_c - x̂ mean(x̂ t_c)) / s with t_c = t_x - mean(t_x);
        // d y = γ d x̂ + x̂ t_γ + t_β.
        let jet_in = match &beta {
            Some(b) => tracks(&[&tensor, &gamma, b]),
            None => tracks(&[&tensor, &gamma]),
        };
        if jet_in && any_derivative(&[Some(&tensor), Some(&gamma), beta.as_ref()]) {
            return layer_norm_jet::<B>(tensor, gamma, beta, epsilon);
        }
        let (beta_p, beta_t) = match beta {
            Some(b) => (Some(b.primal), b.tangent),
            None => (None, None),
        };
        let y = B::layer_norm(tensor.primal.clone(), gamma.primal.clone(), beta_p, epsilon);
        if tensor.tangent.is_none() && gamma.tangent.is_none() && beta_t.is_none() {
            return constant(y);
        }
        let shape = y.shape();
        let rank = shape.num_dims();
        let last = rank - 1;
        let bshape: Vec<usize> = (0..rank)
            .map(|i| if i == last { shape[last] } else { 1 })
            .collect();
        let bcast = |v: P<B>| B::float_reshape(v, Shape::from(bshape.clone()));

        let x = tensor.primal;
        let c = B::float_sub(x.clone(), B::float_mean_dim(x, last));
        let var = B::float_mean_dim(B::float_mul(c.clone(), c.clone()), last);
        let s = B::float_sqrt(B::float_add_scalar(var, epsilon.into()));
        let xhat = B::float_div(c, s.clone());

        let t_x = tensor.tangent.map(|t| {
            let tc = B::float_sub(t.clone(), B::float_mean_dim(t, last));
            let m = B::float_mean_dim(B::float_mul(xhat.clone(), tc.clone()), last);
            let txhat = B::float_div(B::float_sub(tc, B::float_mul(xhat.clone(), m)), s);
            B::float_mul(txhat, bcast(gamma.primal.clone()))
        });
        let t_g = gamma.tangent.map(|tg| B::float_mul(xhat, bcast(tg)));
        let t = sum_opt::<B>(t_x, t_g);
        let t = match (t, beta_t) {
            (t, None) => t,
            (Some(t), Some(tb)) => Some(B::float_add(t, bcast(tb))),
            (None, Some(tb)) => Some(B::float_expand(bcast(tb), shape)),
        };
        DualTensor::new(y, t)
    }

    fn rfft(
        signal: FloatTensor<Self>,
        dim: usize,
        n: Option<usize>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        // Linear (over the reals) in the signal: each coefficient has its own transform.
        let tracks = signal.tracks_second;
        let (re, im) = B::rfft(signal.primal, dim, n);
        let (t_re, t_im) = signal.tangent.map(|t| B::rfft(t, dim, n)).unzip();
        let (s_re, s_im) = signal.second.map(|s| B::rfft(s, dim, n)).unzip();
        (jet(re, t_re, s_re, tracks), jet(im, t_im, s_im, tracks))
    }

    fn irfft(
        spectrum_re: FloatTensor<Self>,
        spectrum_im: FloatTensor<Self>,
        dim: usize,
        n: Option<usize>,
    ) -> FloatTensor<Self> {
        // Linear (over the reals) in (re, im) jointly; a missing part is zero.
        linear_n(vec![spectrum_re, spectrum_im], |mut c| {
            let im = c.pop().expect("two inputs");
            let re = c.pop().expect("two inputs");
            B::irfft(re, im, dim, n)
        })
    }
}

/// `layer_norm` of a jet, unfused into float ops (each with its own jet rule):
/// `y = (x − mean(x)) / sqrt(mean((x − mean(x))²) + ε) · γ + β` over the last dimension.
fn layer_norm_jet<B: Backend>(
    x: DualTensor<B>,
    gamma: DualTensor<B>,
    beta: Option<DualTensor<B>>,
    epsilon: f64,
) -> DualTensor<B> {
    type D<B> = Dual<B>;
    let native = B::layer_norm(
        x.primal.clone(),
        gamma.primal.clone(),
        beta.as_ref().map(|b| b.primal.clone()),
        epsilon,
    );
    let shape = x.primal.shape();
    let rank = shape.num_dims();
    let last = rank - 1;
    let bshape: Vec<usize> = (0..rank)
        .map(|i| if i == last { shape[last] } else { 1 })
        .collect();
    let c = D::<B>::float_sub(x.clone(), D::<B>::float_mean_dim(x, last));
    let var = D::<B>::float_mean_dim(D::<B>::float_mul(c.clone(), c.clone()), last);
    let s = D::<B>::float_sqrt(D::<B>::float_add_scalar(var, epsilon.into()));
    let xhat = D::<B>::float_div(c, s);
    let y = D::<B>::float_mul(
        xhat,
        D::<B>::float_reshape(gamma, Shape::from(bshape.clone())),
    );
    let y = match beta {
        Some(b) => D::<B>::float_add(y, D::<B>::float_reshape(b, Shape::from(bshape))),
        None => y,
    };
    jet(native, y.tangent, y.second, y.tracks_second)
}
