//! Every model under the curvature engine: the forward-over-reverse Hessian-vector product
//! through it agrees with a finite-difference HVP in f64 — proof that every op it uses has a
//! correct JVP rule (and its backward ops too).

use burn::backend::NdArray;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{hvp, hvp_finite_difference, parameters, HvpBackend};
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

fn check<M: AutodiffModule<H>>(name: &str, model: M, loss: impl Fn(&M) -> Tensor<H, 1>) {
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

fn classifier<M: AutodiffModule<H> + Classifier<H>>(name: &str, model: M, c: usize, hw: usize) {
    let (x, y) = images(3, c, hw);
    check(name, model, |m: &M| {
        cross_entropy(m.logits(x.clone()), y.clone())
    });
}

#[test]
fn mlp_hvp_matches_finite_difference() {
    let dev = Default::default();
    for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
        let m = MlpConfig::new()
            .with_d_input(2 * 4 * 4)
            .with_hidden(vec![6, 5])
            .with_num_classes(3)
            .with_activation(act)
            .init::<H>(&dev);
        classifier(&format!("mlp-{act:?}"), m, 2, 4);
    }
}

#[test]
fn resnet_hvp_matches_finite_difference() {
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
        classifier(&format!("resnet-{norm:?}-{conv:?}"), m, 2, 8);
    }
}

#[test]
fn mixer_hvp_matches_finite_difference() {
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
    classifier("mixer", m, 2, 8);
}

#[test]
fn vit_hvp_matches_finite_difference() {
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
        classifier(&format!("vit-{pooling:?}"), m, 2, 8);
    }
}

#[test]
fn char_transformer_hvp_matches_finite_difference() {
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
    check("char-transformer", m, |m| {
        sequence_cross_entropy(m.forward(x.clone()), y.clone())
    });
}
