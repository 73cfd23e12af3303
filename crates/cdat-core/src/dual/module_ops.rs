//! JVP rules for module operations (convolution, pooling, embedding, ...).
//!
//! Every op here is linear or bilinear in its float inputs (max-pooling is linear in `x` once the
//! argmax indices are fixed), so each tangent is the op itself applied with one operand replaced
//! by its tangent: `d op(a, b) = op(t_a, b) + op(a, t_b)`. Inputs that only provide a shape
//! (e.g. `x` of `conv2d_x_backward`) contribute nothing. A `None` tangent is zero: when every
//! relevant tangent is `None`, only the wrapped backend's op runs, on the primals.
//!
//! Ops left to the trait defaults (`layer_norm` is overridden, see below): `ctc_loss`,
//! `has_ctc_loss_backward` and `ctc_loss_backward` (the default `ctc_loss` is a composition of
//! float ops, which carry their own JVP rules; `has_ctc_loss_backward` stays `false`, so
//! `ctc_loss_backward` is never called).
//!
//! `deform_conv2d` and `deform_conv2d_backward` have no JVP rule: they delegate to the wrapped
//! backend when no input carries a tangent and panic otherwise.

use super::rules::{dual, linear, sum_opt, P};
use super::{Dual, DualTensor};
use burn_backend::backend::Backend;
use burn_backend::ops::attention::attention_fallback;
use burn_backend::ops::*;
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};
use burn_backend::{Shape, TensorMetadata};

/// An op bilinear in two float inputs: `d op(a, b) = op(t_a, b) + op(a, t_b)`.
fn bilinear<B: Backend>(
    a: DualTensor<B>,
    b: DualTensor<B>,
    op: impl Fn(P<B>, P<B>) -> P<B>,
) -> DualTensor<B> {
    let ta = a.tangent.map(|ta| op(ta, b.primal.clone()));
    let tb = b.tangent.map(|tb| op(a.primal.clone(), tb));
    dual(op(a.primal, b.primal), sum_opt::<B>(ta, tb))
}

/// A bias tangent of shape `[C]` broadcast to `out_shape`, with `C` at dimension `dim`.
fn expand_bias<B: Backend>(tb: P<B>, out_shape: &Shape, dim: usize) -> P<B> {
    let rank = out_shape.num_dims();
    let dims: Vec<usize> = (0..rank)
        .map(|i| if i == dim { out_shape[i] } else { 1 })
        .collect();
    B::float_expand(B::float_reshape(tb, Shape::from(dims)), out_shape.clone())
}

/// `op(x, w, bias)` bilinear in `(x, w)` plus a bias that is added linearly along `bias_dim` of
/// the output: `d op = op(t_x, w, t_b) + op(x, t_w, None)` (the bias tangent rides along with the
/// first term present, or is broadcast on its own).
fn with_bias<B: Backend>(
    x: DualTensor<B>,
    w: DualTensor<B>,
    bias: Option<DualTensor<B>>,
    bias_dim: impl FnOnce(usize) -> usize,
    op: impl Fn(P<B>, P<B>, Option<P<B>>) -> P<B>,
) -> DualTensor<B> {
    let (b_p, mut b_t) = match bias {
        Some(b) => (Some(b.primal), b.tangent),
        None => (None, None),
    };
    let tx = x.tangent.map(|tx| op(tx, w.primal.clone(), b_t.take()));
    let tw = w.tangent.map(|tw| op(x.primal.clone(), tw, b_t.take()));
    let y = op(x.primal, w.primal, b_p);
    let t = match (sum_opt::<B>(tx, tw), b_t) {
        (t, None) => t,
        (None, Some(tb)) => {
            let shape = y.shape();
            let dim = bias_dim(shape.num_dims());
            Some(expand_bias::<B>(tb, &shape, dim))
        }
        (Some(_), Some(_)) => unreachable!("the bias tangent is consumed by the first term"),
    };
    dual(y, t)
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

fn any_tangent<B: Backend>(xs: &[Option<&DualTensor<B>>]) -> bool {
    xs.iter().any(|x| x.is_some_and(|x| x.tangent.is_some()))
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
        if any_tangent(&[
            Some(&x),
            Some(&offset),
            Some(&weight),
            mask.as_ref(),
            bias.as_ref(),
        ]) {
            no_rule("deform_conv2d");
        }
        dual(
            B::deform_conv2d(
                x.primal,
                offset.primal,
                weight.primal,
                mask.map(|m| m.primal),
                bias.map(|b| b.primal),
                options,
            ),
            None,
        )
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
        if any_tangent(&[
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
        match x.tangent {
            None => dual(
                B::max_pool1d(x.primal, kernel_size, stride, padding, dilation, ceil_mode),
                None,
            ),
            Some(_) => {
                Self::max_pool1d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode)
                    .output
            }
        }
    }

    fn max_pool1d_with_indices(
        x: FloatTensor<Self>,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> MaxPool1dWithIndices<Self> {
        // The tangent of the max of each window is the tangent at its argmax; `indices` index
        // the (unpadded) length dimension.
        let r =
            B::max_pool1d_with_indices(x.primal, kernel_size, stride, padding, dilation, ceil_mode);
        let t = x.tangent.map(|t| B::float_gather(2, t, r.indices.clone()));
        MaxPool1dWithIndices::new(dual(r.output, t), r.indices)
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
        match x.tangent {
            None => dual(
                B::max_pool2d(x.primal, kernel_size, stride, padding, dilation, ceil_mode),
                None,
            ),
            Some(_) => {
                Self::max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode)
                    .output
            }
        }
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
        let r =
            B::max_pool2d_with_indices(x.primal, kernel_size, stride, padding, dilation, ceil_mode);
        let t = x.tangent.map(|t| gather_pool2d::<B>(t, &r.indices));
        MaxPool2dWithIndices::new(dual(r.output, t), r.indices)
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
        if any_tangent(&[Some(&query), Some(&key), Some(&value), attn_bias.as_ref()]) {
            // Unfused: matmul, softcap, masking, softmax, matmul, each with its own JVP rule.
            attention_fallback::<Self>(query, key, value, mask, attn_bias, options)
        } else {
            dual(
                B::attention(
                    query.primal,
                    key.primal,
                    value.primal,
                    mask,
                    attn_bias.map(|b| b.primal),
                    options,
                ),
                None,
            )
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
        let (beta_p, beta_t) = match beta {
            Some(b) => (Some(b.primal), b.tangent),
            None => (None, None),
        };
        let y = B::layer_norm(tensor.primal.clone(), gamma.primal.clone(), beta_p, epsilon);
        if tensor.tangent.is_none() && gamma.tangent.is_none() && beta_t.is_none() {
            return dual(y, None);
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
        dual(y, t)
    }

    fn rfft(
        signal: FloatTensor<Self>,
        dim: usize,
        n: Option<usize>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        // Linear (over the reals) in the signal.
        let (re, im) = B::rfft(signal.primal, dim, n);
        match signal.tangent.map(|t| B::rfft(t, dim, n)) {
            None => (dual(re, None), dual(im, None)),
            Some((t_re, t_im)) => (dual(re, Some(t_re)), dual(im, Some(t_im))),
        }
    }

    fn irfft(
        spectrum_re: FloatTensor<Self>,
        spectrum_im: FloatTensor<Self>,
        dim: usize,
        n: Option<usize>,
    ) -> FloatTensor<Self> {
        // Linear (over the reals) in (re, im) jointly; a missing tangent part is zero.
        let zeros = |p: &P<B>| B::float_zeros(p.shape(), &B::float_device(p), p.dtype().into());
        let t = match (spectrum_re.tangent, spectrum_im.tangent) {
            (None, None) => None,
            (t_re, t_im) => {
                let t_re = t_re.unwrap_or_else(|| zeros(&spectrum_re.primal));
                let t_im = t_im.unwrap_or_else(|| zeros(&spectrum_im.primal));
                Some(B::irfft(t_re, t_im, dim, n))
            }
        };
        dual(B::irfft(spectrum_re.primal, spectrum_im.primal, dim, n), t)
    }
}
