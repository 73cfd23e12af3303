//! Every model under the curvature engine, in f64:
//! - the forward-over-reverse Hessian-vector product through it agrees with a finite-difference
//!   HVP — proof that every op it uses has a correct JVP rule (and its backward ops too);
//! - the second-order jet's `uᵀHu` and `gᵀu` (`directional_curvature`, default method) agree
//!   with `uᵀ·hvp(u)` and with the gradient's dot product with `u` — proof that every op it
//!   uses has a correct second-order rule.

use burn::backend::NdArray;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{
    directional_curvature, gradient, hvp, hvp_finite_difference, parameters, HvpBackend,
};
use cdat_core::ParamVec;
use cdat_models::{
    cross_entropy, sequence_cross_entropy, Activation, CharTransformerConfig, Classifier, ConvImpl,
    MixerConfig, MlpConfig, Normalization, ResNetConfig, VitConfig, VitPooling,
};

type F = NdArray<f64>;
type H = HvpBackend<F>;

fn max_rel_err(a: &ParamVec<F>, b: &ParamVec<F>) -> f64 {
    let diff = a.sub(b);
    let max = |v: &ParamVec<F>| {
        v.entries().iter().fold(0.0f64, |m, (_, t)| {
            m.max(t.clone().abs().max().into_scalar())
        })
    };
    max(&diff) / max(b).max(1e-300)
}

/// What a model is checked for.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// The forward-over-reverse HVP against a finite-difference HVP.
    FiniteDifference,
    /// The jet's `uᵀHu` and `gᵀu` against forward-over-reverse and the gradient.
    Jet,
}

fn check<M: AutodiffModule<H>>(
    what: Check,
    name: &str,
    model: M,
    loss: impl Fn(&M) -> Tensor<H, 1>,
) {
    match what {
        Check::FiniteDifference => check_fd(name, model, loss),
        Check::Jet => check_jet(name, model, loss),
    }
}

/// `|a − b| / |b|`.
fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn check_jet<M: AutodiffModule<H>>(name: &str, model: M, loss: impl Fn(&M) -> Tensor<H, 1>) {
    <F as Backend>::seed(&Default::default(), 7);
    let u = parameters(&model).random_normal_like();
    let jet = directional_curvature(&model, &loss, &u);
    let fr = hvp(&model, &loss, &u);
    let uhu = u.dot(&fr.hv);
    let (value, g) = gradient(&model, &loss);
    let gu = g.dot(&u);
    if std::env::var_os("CDAT_JET_REPORT").is_some() {
        eprintln!(
            "JET {name:<28} uHu {:+.6e} rel err {:.2e}  gu {:+.6e} rel err {:.2e} (vs hvp's gᵀu {:.2e})  loss {:.2e}",
            jet.curvature,
            rel(jet.curvature, uhu),
            jet.slope,
            rel(jet.slope, gu),
            rel(jet.slope, fr.grad_dot_v),
            rel(jet.loss, value),
        );
    }
    assert!(
        uhu.abs() > 1e-6 && gu.abs() > 1e-6,
        "{name}: degenerate check: uᵀHu = {uhu:e}, gᵀu = {gu:e}"
    );
    assert!(
        rel(jet.curvature, uhu) <= 1e-8,
        "{name}: jet uᵀHu {:e} vs uᵀ·hvp(u) {uhu:e}: rel err {:e}",
        jet.curvature,
        rel(jet.curvature, uhu)
    );
    assert!(
        rel(jet.slope, gu) <= 1e-8,
        "{name}: jet gᵀu {:e} vs gradient·u {gu:e}: rel err {:e}",
        jet.slope,
        rel(jet.slope, gu)
    );
    assert!(
        rel(jet.loss, value) <= 1e-12,
        "{name}: jet loss {:e} vs loss {value:e}",
        jet.loss
    );
}

fn check_fd<M: AutodiffModule<H>>(name: &str, model: M, loss: impl Fn(&M) -> Tensor<H, 1>) {
    <F as Backend>::seed(&Default::default(), 7);
    let u = parameters(&model).random_normal_like();
    let exact = hvp(&model, &loss, &u);
    // A small step: ReLU kinks and the strong curvature of layer norm over few channels make
    // larger steps inaccurate (measured: the FD error shrinks as h² down to h = 1e-7).
    let fd = hvp_finite_difference(&model, &loss, &u, 1e-7);
    let err = max_rel_err(&exact.hv, &fd);
    assert!(
        err < 1e-5,
        "{name}: forward-over-reverse HVP vs finite difference: rel err {err:e}"
    );
    assert!(exact.loss.is_finite() && exact.grad.is_finite());
}

fn images(n: usize, c: usize, hw: usize) -> (Tensor<H, 4>, Tensor<H, 1, Int>) {
    let dev = Default::default();
    let x = Tensor::<H, 4>::random([n, c, hw, hw], Distribution::Uniform(0.0, 1.0), &dev);
    let y = Tensor::from_data(
        TensorData::new((0..n as i64).map(|i| i % 3).collect::<Vec<_>>(), [n]),
        &dev,
    );
    (x, y)
}

fn classifier<M: AutodiffModule<H> + Classifier<H>>(
    what: Check,
    name: &str,
    model: M,
    c: usize,
    hw: usize,
) {
    let (x, y) = images(3, c, hw);
    check(what, name, model, |m: &M| {
        cross_entropy(m.logits(x.clone()), y.clone())
    });
}

fn mlp(what: Check) {
    let dev = Default::default();
    for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
        let m = MlpConfig::new()
            .with_d_input(2 * 4 * 4)
            .with_hidden(vec![6, 5])
            .with_num_classes(3)
            .with_activation(act)
            .init::<H>(&dev);
        classifier(what, &format!("mlp-{act:?}"), m, 2, 4);
    }
}

fn resnet(what: Check) {
    let dev = Default::default();
    for (norm, conv) in [
        (Normalization::None, ConvImpl::TapMatmul),
        (Normalization::LayerNorm, ConvImpl::TapMatmul),
        (Normalization::None, ConvImpl::Native),
    ] {
        let m = ResNetConfig::new()
            .with_in_channels(2)
            .with_num_classes(3)
            .with_blocks_per_stage(vec![1, 1])
            .with_base_width(4)
            .with_normalization(norm.clone())
            .with_conv_impl(conv.clone())
            .init::<H>(&dev);
        classifier(what, &format!("resnet-{norm:?}-{conv:?}"), m, 2, 8);
    }
}

fn mixer(what: Check) {
    let m = MixerConfig::new()
        .with_in_channels(2)
        .with_image_size(8)
        .with_patch_size(4)
        .with_hidden_dim(6)
        .with_tokens_mlp_dim(4)
        .with_channels_mlp_dim(8)
        .with_depth(1)
        .with_num_classes(3)
        .init::<H>(&Default::default());
    classifier(what, "mixer", m, 2, 8);
}

fn vit(what: Check) {
    for pooling in [VitPooling::ClassToken, VitPooling::Mean] {
        let m = VitConfig::new()
            .with_in_channels(2)
            .with_image_size(8)
            .with_patch_size(4)
            .with_embed_dim(8)
            .with_depth(1)
            .with_num_heads(2)
            .with_mlp_dim(8)
            .with_num_classes(3)
            .with_pooling(pooling.clone())
            .init::<H>(&Default::default());
        classifier(what, &format!("vit-{pooling:?}"), m, 2, 8);
    }
}

fn char_transformer(what: Check) {
    let dev = Default::default();
    let m = CharTransformerConfig::new()
        .with_vocab_size(7)
        .with_n_layers(1)
        .with_d_model(8)
        .with_n_heads(2)
        .with_block_size(6)
        .init::<H>(&dev);
    let tokens: Vec<i64> = (0..12).map(|i| (i * 5 % 7) as i64).collect();
    let x = Tensor::<H, 2, Int>::from_data(TensorData::new(tokens[..10].to_vec(), [2, 5]), &dev);
    let y = Tensor::<H, 2, Int>::from_data(TensorData::new(tokens[2..12].to_vec(), [2, 5]), &dev);
    check(what, "char-transformer", m, |m| {
        sequence_cross_entropy(m.forward(x.clone()), y.clone())
    });
}

#[test]
fn mlp_hvp_matches_finite_difference() {
    mlp(Check::FiniteDifference);
}

#[test]
fn resnet_hvp_matches_finite_difference() {
    resnet(Check::FiniteDifference);
}

#[test]
fn mixer_hvp_matches_finite_difference() {
    mixer(Check::FiniteDifference);
}

#[test]
fn vit_hvp_matches_finite_difference() {
    vit(Check::FiniteDifference);
}

#[test]
fn char_transformer_hvp_matches_finite_difference() {
    char_transformer(Check::FiniteDifference);
}

#[test]
fn mlp_jet_matches_forward_over_reverse() {
    mlp(Check::Jet);
}

#[test]
fn resnet_jet_matches_forward_over_reverse() {
    resnet(Check::Jet);
}

#[test]
fn mixer_jet_matches_forward_over_reverse() {
    mixer(Check::Jet);
}

#[test]
fn vit_jet_matches_forward_over_reverse() {
    vit(Check::Jet);
}

#[test]
fn char_transformer_jet_matches_forward_over_reverse() {
    char_transformer(Check::Jet);
}
