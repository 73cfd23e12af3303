//! Hessian-vector products and directional curvature against closed forms, finite differences
//! (f64), nested reverse mode and forward-over-forward, on quadratics and on real networks.

mod common;

use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module, ModuleMapper, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, relu, softmax, tanh};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use cdat_core::curvature::{
    apply_update, directional_curvature, directional_curvature_fof, directional_curvature_with,
    gradient, hvp, hvp_finite_difference, parameters, CurvatureMethod, HvpBackend,
};
use cdat_core::{Dual, ParamVec};
use common::{dev, rand_data, F};

type H = HvpBackend<F>;
type FF = Dual<Dual<F>>;

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    Tensor::from_data(rand_data(&shape, -1.0, 1.0, seed), &Default::default())
}

fn max_rel_err(a: &ParamVec<F>, b: &ParamVec<F>) -> f64 {
    let diff = a.sub(b);
    let scale = b.entries().iter().fold(1e-300f64, |m, (_, t)| {
        m.max(t.clone().abs().max().into_scalar())
    });
    diff.entries().iter().fold(0.0f64, |m, (_, t)| {
        m.max(t.clone().abs().max().into_scalar())
    }) / scale
}

/// Copies parameter values and ids into a module of another backend, matching parameters by
/// visiting order (the modules must have the same structure), as loading a record would.
fn load_by_order<B: Backend, M: Module<B>>(module: M, values: &ParamVec<F>) -> M {
    struct Load<'a> {
        values: &'a ParamVec<F>,
        next: usize,
    }
    impl<B: Backend> ModuleMapper<B> for Load<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (_, t, mapper) = param.consume();
            let (id, src) = &self.values.entries()[self.next];
            self.next += 1;
            let data = src.to_data();
            let new = Tensor::<B, 1>::from_data(data, &t.device()).reshape(t.shape());
            let new = if t.is_require_grad() {
                new.require_grad()
            } else {
                new
            };
            Param::from_mapped_value(*id, new, mapper)
        }
    }
    module.map(&mut Load { values, next: 0 })
}

// ---------------------------------------------------------------- closed forms

#[derive(Module, Debug)]
struct Vector<B: Backend> {
    w: Param<Tensor<B, 1>>,
}

impl<B: Backend> Vector<B> {
    fn new(w: Tensor<B, 1>) -> Self {
        Self {
            w: Param::from_tensor(w),
        }
    }
}

fn symmetric(n: usize, seed: u64) -> Tensor<F, 2> {
    let m: Tensor<F, 2> = tensor([n, n], seed);
    (m.clone() + m.transpose()).mul_scalar(0.5)
}

fn lift<const D: usize>(t: Tensor<F, D>) -> Tensor<H, D> {
    Tensor::from_inner(Dual::constant(t))
}

#[test]
fn hvp_of_quadratic_is_a_times_v() {
    let n = 7;
    let a = symmetric(n, 1);
    let b: Tensor<F, 1> = tensor([n], 2);
    let model = Vector::<H>::new(lift(tensor([n], 3)));
    let (ah, bh) = (lift(a.clone()), lift(b.clone()));
    let loss = |m: &Vector<H>| {
        let w = m.w.val();
        let aw = ah
            .clone()
            .matmul(w.clone().unsqueeze_dim(1))
            .squeeze_dim::<1>(1);
        (w.clone() * aw).sum().mul_scalar(0.5) + (bh.clone() * w).sum()
    };
    let v = ParamVec::from_entries(vec![(model.w.id, tensor::<F, 1>([n], 4))]);
    let out = hvp(&model, loss, &v);
    let vv = v.entries()[0].1.clone();
    let expected_hv = a
        .clone()
        .matmul(vv.clone().unsqueeze_dim(1))
        .squeeze_dim::<1>(1);
    let w = parameters(&model).entries()[0].1.clone();
    let expected_g = a.matmul(w.unsqueeze_dim(1)).squeeze_dim::<1>(1) + b;
    let e = ParamVec::from_entries(vec![(model.w.id, expected_hv)]);
    let g = ParamVec::from_entries(vec![(model.w.id, expected_g)]);
    assert!(
        max_rel_err(&out.hv, &e) < 1e-10,
        "Hv err {}",
        max_rel_err(&out.hv, &e)
    );
    assert!(max_rel_err(&out.grad, &g) < 1e-10);
    assert!((out.grad_dot_v - g.dot(&v)).abs() < 1e-10 * g.dot(&v).abs().max(1.0));
}

#[test]
fn hvp_of_least_squares_is_xtx_v() {
    let (n, d) = (9, 4);
    let x: Tensor<F, 2> = tensor([n, d], 5);
    let y: Tensor<F, 1> = tensor([n], 6);
    let model = Vector::<H>::new(lift(tensor([d], 7)));
    let (xh, yh) = (lift(x.clone()), lift(y));
    let loss = |m: &Vector<H>| {
        let r = xh
            .clone()
            .matmul(m.w.val().unsqueeze_dim(1))
            .squeeze_dim::<1>(1)
            - yh.clone();
        (r.clone() * r).sum().mul_scalar(0.5)
    };
    let v = ParamVec::from_entries(vec![(model.w.id, tensor::<F, 1>([d], 8))]);
    let out = hvp(&model, loss, &v);
    let vv = v.entries()[0].1.clone().unsqueeze_dim(1);
    let expected = x
        .clone()
        .transpose()
        .matmul(x.matmul(vv))
        .squeeze_dim::<1>(1);
    let e = ParamVec::from_entries(vec![(model.w.id, expected)]);
    assert!(max_rel_err(&out.hv, &e) < 1e-10);
}

#[derive(Module, Debug)]
struct Matrix<B: Backend> {
    w: Param<Tensor<B, 2>>,
}

fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let n = logits.dims()[0];
    let picked = log_softmax(logits, 1).gather(1, targets.unsqueeze_dim(1));
    picked.sum().neg().div_scalar(n as f64)
}

#[test]
fn hvp_of_softmax_cross_entropy_matches_analytic() {
    let (n, d, c) = (8, 5, 3);
    let x: Tensor<F, 2> = tensor([n, d], 9);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % c as i64).collect();
    let y = Tensor::<F, 1, Int>::from_data(TensorData::new(labels.clone(), [n]), &dev());
    let yh = Tensor::<H, 1, Int>::from_data(TensorData::new(labels, [n]), &dev());
    let model = Matrix::<H> {
        w: Param::from_tensor(lift(tensor([d, c], 10))),
    };
    let xh = lift(x.clone());
    let loss = |m: &Matrix<H>| cross_entropy(xh.clone().matmul(m.w.val()), yh.clone());
    let vm: Tensor<F, 2> = tensor([d, c], 11);
    let v = ParamVec::from_entries(vec![(model.w.id, vm.clone().flatten::<1>(0, 1))]);
    let out = hvp(&model, loss, &v);
    // H v = Xᵀ [P ⊙ (X V) − P ⊙ rowsum(P ⊙ X V)] / n
    let w = parameters(&model).entries()[0].1.clone().reshape([d, c]);
    let p = softmax(x.clone().matmul(w), 1);
    let zv = x.clone().matmul(vm);
    let pz = p.clone() * zv;
    let m = pz.clone() - p * pz.sum_dim(1);
    let expected = x
        .transpose()
        .matmul(m)
        .div_scalar(n as f64)
        .flatten::<1>(0, 1);
    let e = ParamVec::from_entries(vec![(model.w.id, expected)]);
    assert!(
        max_rel_err(&out.hv, &e) < 1e-10,
        "err {}",
        max_rel_err(&out.hv, &e)
    );
    let _ = y;
}

/// Nested reverse mode, `Autodiff<Autodiff<F>>`: an independent oracle for plain ops.
#[test]
fn hvp_equals_nested_reverse_mode() {
    type AA = Autodiff<Autodiff<F>>;
    let (n, d) = (6, 5);
    let x: Tensor<F, 2> = tensor([n, d], 12);
    let w0: Tensor<F, 1> = tensor([d], 13);
    let vt: Tensor<F, 1> = tensor([d], 14);
    // f(w) = sum(tanh(X w)^2) + sum(exp(w) * w)
    fn f<B: Backend>(x: Tensor<B, 2>, w: Tensor<B, 1>) -> Tensor<B, 1> {
        let z = tanh(x.matmul(w.clone().unsqueeze_dim(1)).squeeze_dim::<1>(1));
        (z.clone() * z).sum() + (w.clone().exp() * w).sum()
    }
    // Nested reverse: g(w) on the inner autodiff, then ∇(gᵀv).
    let w_inner = Tensor::<Autodiff<F>, 1>::from_data(w0.to_data(), &dev()).require_grad();
    let w_outer = Tensor::<AA, 1>::from_inner(w_inner.clone()).require_grad();
    let xa = Tensor::<AA, 2>::from_data(x.to_data(), &dev());
    let grads = f(xa, w_outer.clone()).backward();
    let g = w_outer.grad(&grads).expect("gradient");
    let v_inner = Tensor::<Autodiff<F>, 1>::from_data(vt.to_data(), &dev());
    let hv_nested = w_inner
        .grad(&(g * v_inner).sum().backward())
        .expect("second derivative");

    let model = Vector::<H>::new(lift(w0));
    let xh = lift(x);
    let v = ParamVec::from_entries(vec![(model.w.id, vt)]);
    let out = hvp(&model, |m: &Vector<H>| f(xh.clone(), m.w.val()), &v);
    let e = ParamVec::from_entries(vec![(model.w.id, hv_nested)]);
    assert!(
        max_rel_err(&out.hv, &e) < 1e-12,
        "err {}",
        max_rel_err(&out.hv, &e)
    );
}

// ---------------------------------------------------------------- real networks

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
    use_tanh: bool,
}

impl<B: Backend> Mlp<B> {
    fn new(use_tanh: bool, device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(6, 8).init(device),
            l2: LinearConfig::new(8, 8).init(device),
            l3: LinearConfig::new(8, 3).init(device),
            use_tanh,
        }
    }
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let act = |t: Tensor<B, 2>| if self.use_tanh { tanh(t) } else { relu(t) };
        self.l3
            .forward(act(self.l2.forward(act(self.l1.forward(x)))))
    }
}

#[derive(Module, Debug)]
struct ConvNet<B: Backend> {
    conv1: Conv2d<B>,
    pool: MaxPool2d,
    conv2: Conv2d<B>,
    gap: AdaptiveAvgPool2d,
    head: Linear<B>,
}

impl<B: Backend> ConvNet<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([2, 4], [3, 3])
                .with_padding(burn::nn::PaddingConfig2d::Same)
                .init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            conv2: Conv2dConfig::new([4, 4], [3, 3]).init(device),
            gap: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            head: LinearConfig::new(4, 3).init(device),
        }
    }
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = tanh(self.conv1.forward(x));
        let x = self.pool.forward(x);
        let x = tanh(self.conv2.forward(x));
        let x = self.gap.forward(x).flatten::<2>(1, 3);
        self.head.forward(x)
    }
}

#[derive(Module, Debug)]
struct Block<B: Backend> {
    ln: LayerNorm<B>,
    qkv: Linear<B>,
    proj: Linear<B>,
    head: Linear<B>,
}

impl<B: Backend> Block<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            ln: LayerNormConfig::new(8).init(device),
            qkv: LinearConfig::new(8, 24).init(device),
            proj: LinearConfig::new(8, 8).init(device),
            head: LinearConfig::new(8, 3).init(device),
        }
    }
    /// x: [batch, tokens, 8] → logits [batch, 3] (mean over tokens), causal single-head attention.
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 2> {
        let [b, t, d] = x.dims();
        let h = self.ln.forward(x.clone());
        let qkv = self.qkv.forward(h);
        let q = qkv.clone().slice([0..b, 0..t, 0..d]);
        let k = qkv.clone().slice([0..b, 0..t, d..2 * d]);
        let v = qkv.slice([0..b, 0..t, 2 * d..3 * d]);
        let scores = q.matmul(k.swap_dims(1, 2)).div_scalar((d as f64).sqrt());
        let mask = Tensor::<B, 2, burn::tensor::Bool>::tril_mask([t, t], 0, &scores.device());
        let scores = scores.mask_fill(mask.unsqueeze::<3>(), -1e9);
        let att = softmax(scores, 2).matmul(v);
        let y = x + self.proj.forward(att);
        self.head.forward(y.mean_dim(1).squeeze_dim::<2>(1))
    }
}

fn labels<B: Backend>(n: usize) -> Tensor<B, 1, Int> {
    Tensor::from_data(
        TensorData::new((0..n as i64).map(|i| i % 3).collect::<Vec<_>>(), [n]),
        &Default::default(),
    )
}

/// The checks every network must pass: forward-over-reverse vs finite differences,
/// symmetry, directional curvature consistency, forward-over-forward agreement.
fn check_network<M, MF>(
    name: &str,
    model: M,
    loss_h: impl Fn(&M) -> Tensor<H, 1>,
    model_ff: MF,
    loss_ff: impl Fn(&MF) -> Tensor<FF, 1>,
) where
    M: AutodiffModule<H>,
    MF: Module<FF>,
{
    let w = parameters(&model);
    let u = w.random_normal_like();
    let v = w.random_normal_like();
    let hu = hvp(&model, &loss_h, &u);
    let hv = hvp(&model, &loss_h, &v);
    let fd = hvp_finite_difference(&model, &loss_h, &u, 1e-5);
    let err = max_rel_err(&hu.hv, &fd);
    assert!(
        err < 1e-5,
        "{name}: forward-over-reverse vs finite difference: rel err {err:e}"
    );
    // Symmetry and the two curvature paths agree to ~1e-8 relative; Burn's NdArray computes a
    // few f64 ops (e.g. sigmoid) and backward steps at f32-like precision (measured: 5e-8 on the
    // transformer block even on plain Autodiff<NdArray<f64>>), so the bound is 1e-6 — any
    // wrong rule is off by O(1).
    let (a, b) = (u.dot(&hv.hv), v.dot(&hu.hv));
    assert!(
        (a - b).abs() <= 1e-6 * a.abs().max(1.0),
        "{name}: uᵀHv={a} vᵀHu={b}"
    );
    // The jet (one forward pass) against uᵀ·(H u) by forward-over-reverse. Measured: the jet
    // agrees with the independent forward-over-forward oracle below to ~1e-16 relative, and
    // both differ from forward-over-reverse by 1e-9..3e-8 relative (conv net 3e-8, MLPs
    // 1.5e-8, transformer block 1.3e-9): the reverse pass through Burn's NdArray ops is the
    // less precise side (see the slope bound below), so the bound here is 1e-7.
    let dc = directional_curvature(&model, &loss_h, &u);
    let uhu = u.dot(&hu.hv);
    assert!(
        (dc.curvature - uhu).abs() <= 1e-7 * uhu.abs().max(1.0),
        "{name}: jet {dc:?} vs forward-over-reverse uᵀHu = {uhu}"
    );
    let for_ = directional_curvature_with(&model, &loss_h, &u, CurvatureMethod::ForwardOverReverse);
    assert!(
        (for_.curvature - uhu).abs() <= 1e-12 * uhu.abs().max(1.0),
        "{name}: {for_:?} vs {uhu}"
    );
    // Burn's own reverse mode for `gather` (cross-entropy) loses precision at ~1e-8 relative
    // even on plain `Autodiff<NdArray<f64>>` (measured), hence 1e-6 for the gradient side.
    assert!(
        (dc.slope - hu.grad.dot(&u)).abs() <= 1e-6 * dc.slope.abs().max(1.0),
        "{name}: slope {} vs gᵀu {}",
        dc.slope,
        hu.grad.dot(&u)
    );
    let model_ff = load_by_order(model_ff, &w);
    let fof = directional_curvature_fof(&model_ff, &loss_ff, &u);
    assert!(
        (fof.loss - dc.loss).abs() <= 1e-12 * dc.loss.abs().max(1.0),
        "{name}: loss {fof:?} vs {dc:?}"
    );
    assert!(
        (fof.slope - dc.slope).abs() <= 1e-10 * dc.slope.abs().max(1.0),
        "{name}: slope {fof:?} vs {dc:?}"
    );
    assert!(
        (fof.curvature - dc.curvature).abs() <= 1e-12 * dc.curvature.abs().max(1.0),
        "{name}: forward-over-forward {fof:?} vs jet {dc:?}"
    );
    assert!(
        (fof.curvature - uhu).abs() <= 1e-7 * uhu.abs().max(1.0),
        "{name}: forward-over-forward {fof:?} vs forward-over-reverse {uhu}"
    );
}

fn mlp_case(use_tanh: bool) {
    <F as Backend>::seed(&dev(), 42);
    let x: Tensor<F, 2> = tensor([10, 6], 20);
    let (xh, yh) = (lift(x.clone()), labels::<H>(10));
    let xf = Tensor::<FF, 2>::from_data(x.to_data(), &dev());
    let yf = labels::<FF>(10);
    check_network(
        if use_tanh { "mlp-tanh" } else { "mlp-relu" },
        Mlp::<H>::new(use_tanh, &dev()),
        |m: &Mlp<H>| cross_entropy(m.forward(xh.clone()), yh.clone()),
        Mlp::<FF>::new(use_tanh, &dev()),
        |m: &Mlp<FF>| cross_entropy(m.forward(xf.clone()), yf.clone()),
    );
}

#[test]
fn mlp_tanh_hvp_checks() {
    mlp_case(true);
}

#[test]
fn mlp_relu_hvp_checks() {
    mlp_case(false);
}

#[test]
fn conv_net_hvp_checks() {
    <F as Backend>::seed(&dev(), 43);
    let x: Tensor<F, 4> = tensor([3, 2, 8, 8], 21);
    let (xh, yh) = (lift(x.clone()), labels::<H>(3));
    let xf = Tensor::<FF, 4>::from_data(x.to_data(), &dev());
    let yf = labels::<FF>(3);
    check_network(
        "conv-net",
        ConvNet::<H>::new(&dev()),
        |m: &ConvNet<H>| cross_entropy(m.forward(xh.clone()), yh.clone()),
        ConvNet::<FF>::new(&dev()),
        |m: &ConvNet<FF>| cross_entropy(m.forward(xf.clone()), yf.clone()),
    );
}

#[test]
fn transformer_block_hvp_checks() {
    <F as Backend>::seed(&dev(), 44);
    let x: Tensor<F, 3> = tensor([2, 5, 8], 22);
    let (xh, yh) = (lift(x.clone()), labels::<H>(2));
    let xf = Tensor::<FF, 3>::from_data(x.to_data(), &dev());
    let yf = labels::<FF>(2);
    check_network(
        "transformer-block",
        Block::<H>::new(&dev()),
        |m: &Block<H>| cross_entropy(m.forward(xh.clone()), yh.clone()),
        Block::<FF>::new(&dev()),
        |m: &Block<FF>| cross_entropy(m.forward(xf.clone()), yf.clone()),
    );
}

#[test]
fn gradients_without_tangents_equal_plain_autodiff() {
    <F as Backend>::seed(&dev(), 45);
    type A = Autodiff<F>;
    let model_h = ConvNet::<H>::new(&dev());
    let w = parameters(&model_h);
    let model_a = load_by_order(ConvNet::<A>::new(&dev()), &w);
    let x: Tensor<F, 4> = tensor([3, 2, 8, 8], 23);
    let xh = lift(x.clone());
    let xa = Tensor::<A, 4>::from_data(x.to_data(), &dev());
    let (loss_h, g_h) = gradient(&model_h, |m: &ConvNet<H>| {
        cross_entropy(m.forward(xh.clone()), labels(3))
    });
    let loss_a = cross_entropy(model_a.forward(xa), labels::<A>(3));
    let grads = loss_a.backward();
    let g_a = burn::optim::GradientsParams::from_grads(grads, &model_a);
    let ids: Vec<_> = ParamVec::<A>::from_module(&model_a)
        .entries()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    for ((_, gh), id) in g_h.entries().iter().zip(ids) {
        // `get` does not check the rank; read the values whatever the parameter's shape.
        let ga: Vec<f64> = g_a
            .get::<F, 1>(id)
            .expect("gradient of every parameter")
            .into_data()
            .to_vec()
            .unwrap();
        let gh: Vec<f64> = gh.to_data().to_vec().unwrap();
        assert_eq!(ga.len(), gh.len());
        let scale = ga.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        let diff = ga
            .iter()
            .zip(&gh)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff <= 1e-12 * scale,
            "gradient differs: {diff:e} (scale {scale:e})"
        );
    }
    assert!((loss_h - loss_a.into_scalar()).abs() <= 1e-14);
}

#[test]
fn apply_update_moves_parameters_along_u() {
    let model = Vector::<H>::new(lift(tensor([4], 30)));
    let u = ParamVec::from_entries(vec![(model.w.id, tensor::<F, 1>([4], 31))]);
    let w0 = parameters(&model);
    let moved = apply_update(model, &u, 0.25);
    let w1 = parameters(&moved);
    assert!(max_rel_err(&w1, &w0.axpy(0.25, &u)) < 1e-15);
    assert!(moved.w.val().is_require_grad());
}

#[test]
fn parameters_have_autodiff_inner_type() {
    // Compile-time check that HvpBackend is an AutodiffBackend over Dual<F>.
    fn inner<AB: AutodiffBackend<InnerBackend = Dual<F>>>() {}
    inner::<H>();
}

#[test]
#[should_panic(expected = "mixes a second-order jet with a first-order dual tensor")]
fn mixing_a_jet_with_a_first_order_tangent_fails_loudly() {
    // The first-order operand's second coefficient is unknown: adding it to a jet must not
    // silently treat it as zero.
    let x: Tensor<F, 2> = tensor([2, 3], 1);
    let jet = Dual::<F>::with_jet(x.clone(), x.clone(), None);
    let first = Dual::<F>::with_tangent(x.clone(), x);
    let _ = jet + first;
}
