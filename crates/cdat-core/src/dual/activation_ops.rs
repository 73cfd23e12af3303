//! Jet rules for activation operations.
//!
//! relu, gelu, sigmoid, softmax and log_softmax (and the backward ops reverse mode calls:
//! relu_backward, gelu_backward, sigmoid_backward) run the wrapped backend's native op for the
//! primal and carry explicit coefficients: all of them to second order except gelu_backward and
//! sigmoid_backward (first order only; reverse mode over a jet is not a use case). leaky_relu, prelu, hard_sigmoid, log_sigmoid,
//! log_sigmoid_backward and softmin keep the trait defaults: those are compositions of float ops
//! (and of `softmax`), which carry their own JVP rules.

use super::rules::{dual, first_order, jet, linear, smooth, square, sum_opt, P};
use super::Dual;
use burn_backend::backend::Backend;
use burn_backend::get_device_settings;
use burn_backend::ops::*;
use burn_backend::tensor::FloatTensor;
use burn_backend::TensorMetadata;
use core::f64::consts::{PI, SQRT_2};

/// Standard normal density `φ(x) = exp(-x²/2) / sqrt(2π)`.
fn normal_pdf<B: Backend>(x: P<B>) -> P<B> {
    let x2 = B::float_mul(x.clone(), x);
    let e = B::float_exp(B::float_mul_scalar(x2, (-0.5).into()));
    B::float_mul_scalar(e, (1.0 / (2.0 * PI).sqrt()).into())
}

/// Standard normal distribution function `Φ(x) = (1 + erf(x / sqrt 2)) / 2`.
fn normal_cdf<B: Backend>(x: P<B>) -> P<B> {
    let e = B::float_erf(B::float_div_scalar(x, SQRT_2.into()));
    B::float_mul_scalar(B::float_add_scalar(e, 1.0.into()), 0.5.into())
}

/// `gelu'(x) = Φ(x) + x φ(x)` for the exact (erf) GELU, given `φ(x)`.
fn gelu_d1<B: Backend>(x: P<B>, pdf: P<B>) -> P<B> {
    B::float_add(normal_cdf::<B>(x.clone()), B::float_mul(x, pdf))
}

/// `gelu''(x) = φ(x) (2 - x²)`, given `φ(x)`.
fn gelu_d2<B: Backend>(x: P<B>, pdf: P<B>) -> P<B> {
    let x2 = B::float_mul(x.clone(), x);
    let two_minus_x2 = B::float_add_scalar(B::float_neg(x2), 2.0.into());
    B::float_mul(pdf, two_minus_x2)
}

/// `sum(a * b, dim)` (kept as a size-1 dimension).
fn dot_dim<B: Backend>(a: P<B>, b: P<B>, dim: usize) -> P<B> {
    B::float_sum_dim(B::float_mul(a, b), dim)
}

/// The coefficients `(z₁, z₂)` of `z = log_softmax(x)` along `dim`, given `s = softmax(x)`:
/// `z₁ = x₁ − ⟨s, x₁⟩` and `z₂ = x₂ − ⟨s₁, x₁⟩ − ⟨s, x₂⟩` with `s₁ = s·z₁` (the second only for
/// a jet). Softmax's coefficients follow from `y = s`: `y₁ = s·z₁`, `y₂ = s₁·z₁ + s·z₂`.
fn log_softmax_coefficients<B: Backend>(
    s: &P<B>,
    x1: Option<P<B>>,
    x2: Option<P<B>>,
    tracks: bool,
    dim: usize,
) -> (Option<P<B>>, Option<P<B>>, Option<P<B>>) {
    let z1 = x1.clone().map(|x1| {
        let c = dot_dim::<B>(s.clone(), x1.clone(), dim);
        B::float_sub(x1, c)
    });
    let s1 = z1.clone().map(|z1| B::float_mul(s.clone(), z1));
    let z2 = if tracks {
        let from_x1 = match (&s1, x1) {
            (Some(s1), Some(x1)) => Some(B::float_neg(dot_dim::<B>(s1.clone(), x1, dim))),
            _ => None,
        };
        let from_x2 = x2.map(|x2| {
            let c = dot_dim::<B>(s.clone(), x2.clone(), dim);
            B::float_sub(x2, c)
        });
        let shape = s.shape();
        sum_opt::<B>(from_x2, from_x1.map(|v| B::float_expand(v, shape.clone())))
    } else {
        None
    };
    (z1, z2, s1)
}

impl<B: Backend> ActivationOps<Self> for Dual<B> {
    fn relu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Every coefficient passes where x > 0, else 0.
        if tensor.is_constant() {
            return jet(B::relu(tensor.primal), None, None, tensor.tracks_second);
        }
        let bool_dtype = get_device_settings::<B>(&B::float_device(&tensor.primal)).bool_dtype;
        let off = B::float_lower_equal_elem(tensor.primal.clone(), 0f32.into(), bool_dtype);
        let tracks = tensor.tracks_second;
        let mask = |c: P<B>| B::float_mask_fill(c, off.clone(), 0f32.into());
        // The input's primal is released into the op (which may then work in place).
        let y = B::relu(tensor.primal);
        jet(y, tensor.tangent.map(mask), tensor.second.map(mask), tracks)
    }

    fn relu_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // grad masked where output <= 0: linear in grad, the mask is locally constant in output.
        let out = output.primal;
        linear(grad, |g| B::relu_backward(out.clone(), g))
    }

    fn gelu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Exact (erf) GELU: f' = Φ(x) + x φ(x), f'' = φ(x) (2 - x²).
        smooth(
            tensor,
            B::gelu,
            |x, _| gelu_d1::<B>(x.clone(), normal_pdf::<B>(x.clone())),
            |x, _, _| Some(gelu_d2::<B>(x.clone(), normal_pdf::<B>(x.clone()))),
        )
    }

    fn gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // grad * gelu'(x) for the exact (erf) GELU that `gelu` computes, always evaluated here
        // rather than by `B::gelu_backward`: Burn's default `gelu_backward` differentiates the
        // tanh approximation instead (off by up to ~1e-3), which would make the gradient
        // inconsistent with its own tangent below.
        // d = t_grad gelu'(x) + grad gelu''(x) t_x, with gelu''(x) = φ(x) (2 - x²).
        first_order("gelu_backward", &[&x, &grad]);
        let (xp, g) = (x.primal, grad.primal);
        let pdf = normal_pdf::<B>(xp.clone());
        let d1 = gelu_d1::<B>(xp.clone(), pdf.clone());
        let t_g = grad.tangent.map(|tg| B::float_mul(tg, d1.clone()));
        let t_x = x
            .tangent
            .map(|tx| B::float_mul(B::float_mul(g.clone(), gelu_d2::<B>(xp, pdf)), tx));
        dual(B::float_mul(g, d1), sum_opt::<B>(t_g, t_x))
    }

    fn sigmoid(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // f' = σ (1 - σ), f'' = f' (1 - 2σ).
        smooth(
            tensor,
            B::sigmoid,
            |_, s| B::float_sub(s.clone(), square::<B>(s.clone())),
            |_, s, d1| {
                let one_minus_2s =
                    B::float_add_scalar(B::float_mul_scalar(s.clone(), (-2.0).into()), 1.0.into());
                Some(B::float_mul(d1.clone(), one_minus_2s))
            },
        )
    }

    fn sigmoid_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // grad o (1 - o): d = t_grad o (1 - o) + grad (1 - 2 o) t_o.
        first_order("sigmoid_backward", &[&output, &grad]);
        let (o, g) = (output.primal, grad.primal);
        let t_g = grad.tangent.map(|tg| B::sigmoid_backward(o.clone(), tg));
        let t_o = output.tangent.map(|to| {
            let one_minus_2o =
                B::float_add_scalar(B::float_mul_scalar(o.clone(), (-2.0).into()), 1.0.into());
            B::float_mul(B::float_mul(g.clone(), one_minus_2o), to)
        });
        dual(B::sigmoid_backward(o, g), sum_opt::<B>(t_g, t_o))
    }

    fn softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // y = s = softmax(x), z = log s: y₁ = s·z₁, y₂ = s₁·z₁ + s·z₂.
        let s = B::softmax(tensor.primal, dim);
        let tracks = tensor.tracks_second;
        let (z1, z2, s1) =
            log_softmax_coefficients::<B>(&s, tensor.tangent, tensor.second, tracks, dim);
        let y2 = if tracks {
            let a = match (s1.clone(), z1) {
                (Some(s1), Some(z1)) => Some(B::float_mul(s1, z1)),
                _ => None,
            };
            sum_opt::<B>(a, z2.map(|z2| B::float_mul(s.clone(), z2)))
        } else {
            None
        };
        jet(s, s1, y2, tracks)
    }

    fn log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // z₁ = x₁ − ⟨s, x₁⟩, z₂ = x₂ − ⟨s₁, x₁⟩ − ⟨s, x₂⟩, s = softmax(x) = exp(z).
        let z = B::log_softmax(tensor.primal, dim);
        if tensor.tangent.is_none() && tensor.second.is_none() {
            return jet(z, None, None, tensor.tracks_second);
        }
        let s = B::float_exp(z.clone());
        let tracks = tensor.tracks_second;
        let (z1, z2, _) =
            log_softmax_coefficients::<B>(&s, tensor.tangent, tensor.second, tracks, dim);
        jet(z, z1, z2, tracks)
    }
}
