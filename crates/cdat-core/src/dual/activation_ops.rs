//! JVP rules for activation operations.
//!
//! relu, gelu, sigmoid, softmax and log_softmax (and the backward ops reverse mode calls:
//! relu_backward, gelu_backward, sigmoid_backward) run the wrapped backend's native op for the
//! primal and carry an explicit tangent. leaky_relu, prelu, hard_sigmoid, log_sigmoid,
//! log_sigmoid_backward and softmin keep the trait defaults: those are compositions of float ops
//! (and of `softmax`), which carry their own JVP rules.

use super::rules::{dual, sum_opt, P};
use super::Dual;
use burn_backend::backend::Backend;
use burn_backend::get_device_settings;
use burn_backend::ops::*;
use burn_backend::tensor::FloatTensor;
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

/// `s * (t - sum(s * t, dim))`: the tangent of softmax with output `s`.
fn softmax_tangent<B: Backend>(s: P<B>, t: P<B>, dim: usize) -> P<B> {
    let st = B::float_sum_dim(B::float_mul(s.clone(), t.clone()), dim);
    B::float_mul(s, B::float_sub(t, st))
}

impl<B: Backend> ActivationOps<Self> for Dual<B> {
    fn relu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // d relu(x) = t where x > 0, else 0.
        let y = B::relu(tensor.primal.clone());
        let t = tensor.tangent.map(|t| {
            let bool_dtype = get_device_settings::<B>(&B::float_device(&tensor.primal)).bool_dtype;
            let off = B::float_lower_equal_elem(tensor.primal, 0f32.into(), bool_dtype);
            B::float_mask_fill(t, off, 0f32.into())
        });
        dual(y, t)
    }

    fn relu_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // grad masked where output <= 0: linear in grad, the mask is locally constant in output.
        let out = output.primal;
        let t = grad.tangent.map(|t| B::relu_backward(out.clone(), t));
        dual(B::relu_backward(out, grad.primal), t)
    }

    fn gelu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Exact (erf) GELU: d gelu(x) = t (Φ(x) + x φ(x)).
        let x = tensor.primal;
        let t = tensor
            .tangent
            .map(|t| B::float_mul(t, gelu_d1::<B>(x.clone(), normal_pdf::<B>(x.clone()))));
        dual(B::gelu(x), t)
    }

    fn gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // grad * gelu'(x) for the exact (erf) GELU that `gelu` computes, always evaluated here
        // rather than by `B::gelu_backward`: Burn's default `gelu_backward` differentiates the
        // tanh approximation instead (off by up to ~1e-3), which would make the gradient
        // inconsistent with its own tangent below.
        // d = t_grad gelu'(x) + grad gelu''(x) t_x, with gelu''(x) = φ(x) (2 - x²).
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
        // d σ(x) = t σ (1 - σ) = sigmoid_backward(σ, t).
        let s = B::sigmoid(tensor.primal);
        let t = tensor.tangent.map(|t| B::sigmoid_backward(s.clone(), t));
        dual(s, t)
    }

    fn sigmoid_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        // grad o (1 - o): d = t_grad o (1 - o) + grad (1 - 2 o) t_o.
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
        // d softmax(x) = s (t - sum(s t)).
        let s = B::softmax(tensor.primal, dim);
        let t = tensor
            .tangent
            .map(|t| softmax_tangent::<B>(s.clone(), t, dim));
        dual(s, t)
    }

    fn log_softmax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        // d log_softmax(x) = t - sum(softmax(x) t), softmax(x) = exp(y).
        let y = B::log_softmax(tensor.primal, dim);
        let t = tensor.tangent.map(|t| {
            let s = B::float_exp(y.clone());
            let st = B::float_sum_dim(B::float_mul(s, t.clone()), dim);
            B::float_sub(t, st)
        });
        dual(y, t)
    }
}
