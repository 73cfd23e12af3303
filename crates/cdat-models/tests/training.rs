//! A few optimizer steps on a tiny batch of real data lower the loss, for every model.

mod common;

use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor};
use cdat_models::{
    cross_entropy, mse_one_hot, sequence_cross_entropy, CharTransformerConfig, Classifier,
    MixerConfig, MlpConfig, Normalization, ResNetConfig, VitConfig,
};
use common::{cifar_batch, scalar, shakespeare_batch, AD};

const STEPS: usize = 15;

/// Trains `model` with Adam on one fixed batch; returns (initial loss, final loss).
fn train_classifier<M>(model: M, lr: f64, mse: bool) -> (f32, f32)
where
    M: Classifier<AD> + AutodiffModule<AD>,
{
    let dev = Default::default();
    let (images, labels) = cifar_batch::<AD>(64, &dev);
    let loss_of = |m: &M| -> Tensor<AD, 1> {
        let logits = m.logits(images.clone());
        if mse {
            mse_one_hot(logits, labels.clone(), 10)
        } else {
            cross_entropy(logits, labels.clone())
        }
    };
    let mut optim = AdamConfig::new().init::<AD, M>();
    let mut model = model;
    let initial = scalar(loss_of(&model));
    for _ in 0..STEPS {
        let loss = loss_of(&model);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    let last = scalar(loss_of(&model));
    (initial, last)
}

fn assert_decreases(name: &str, (initial, last): (f32, f32)) {
    println!("{name}: loss {initial:.4} -> {last:.4}");
    assert!(
        initial.is_finite() && last.is_finite(),
        "{name}: non-finite loss"
    );
    assert!(
        last < 0.9 * initial,
        "{name}: loss did not decrease enough ({initial} -> {last})"
    );
}

#[test]
fn mlp_trains_on_cifar() {
    let dev = Default::default();
    let model = MlpConfig::new().with_hidden(vec![32]).init::<AD>(&dev);
    assert_decreases("mlp/ce", train_classifier(model, 1e-3, false));
    let model = MlpConfig::new().with_hidden(vec![32]).init::<AD>(&dev);
    assert_decreases("mlp/mse", train_classifier(model, 1e-3, true));
}

#[test]
fn resnet_trains_on_cifar() {
    let dev = Default::default();
    for norm in [Normalization::None, Normalization::LayerNorm] {
        let model = ResNetConfig::new()
            .with_base_width(4)
            .with_normalization(norm)
            .init::<AD>(&dev);
        assert_decreases(
            &format!("resnet/{norm:?}"),
            train_classifier(model, 3e-3, false),
        );
    }
}

#[test]
fn mixer_trains_on_cifar() {
    let dev = Default::default();
    let model = MixerConfig::new()
        .with_patch_size(8)
        .with_hidden_dim(16)
        .with_tokens_mlp_dim(8)
        .with_channels_mlp_dim(32)
        .init::<AD>(&dev);
    assert_decreases("mixer", train_classifier(model, 3e-3, false));
}

#[test]
fn vit_trains_on_cifar() {
    let dev = Default::default();
    let model = VitConfig::new()
        .with_patch_size(8)
        .with_embed_dim(16)
        .with_num_heads(2)
        .with_mlp_dim(32)
        .init::<AD>(&dev);
    assert_decreases("vit", train_classifier(model, 3e-3, false));
}

#[test]
fn char_transformer_trains_on_shakespeare() {
    let dev = Default::default();
    let (inputs, targets, vocab) = shakespeare_batch::<AD>(8, 16, &dev);
    let mut model = CharTransformerConfig::new()
        .with_vocab_size(vocab)
        .with_d_model(32)
        .with_n_heads(4)
        .with_block_size(16)
        .init::<AD>(&dev);
    let loss_of = |m: &cdat_models::CharTransformer<AD>, x: &Tensor<AD, 2, Int>| {
        sequence_cross_entropy(m.forward(x.clone()), targets.clone())
    };
    let mut optim = AdamConfig::new().init();
    let initial = scalar(loss_of(&model, &inputs));
    for _ in 0..STEPS {
        let loss = loss_of(&model, &inputs);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    let last = scalar(loss_of(&model, &inputs));
    assert_decreases("char-transformer", (initial, last));
}
