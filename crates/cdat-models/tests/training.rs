//! A few optimizer steps on a tiny batch of real data lower the loss, for every model.

mod common;

use std::sync::Mutex;

use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::{backend::Backend, s, Int, Tensor};
use cdat_models::{
    cross_entropy, mse_one_hot, sequence_cross_entropy, AnyModel, CharTransformerConfig,
    Classifier, DataSpec, MixerConfig, MlpConfig, ModelConfig, Normalization, ResNetConfig,
    VitConfig,
};
use common::{cifar_batch, scalar, shakespeare_batch, AD};

const STEPS: usize = 15;

/// Trains `model` with Adam on one fixed batch; returns (initial loss, final loss).
/// `crop`: side of a central crop of the 32x32 images (32 = no crop), to keep conv nets cheap.
fn train_classifier<M>(model: M, lr: f64, steps: usize, crop: usize, mse: bool) -> (f32, f32)
where
    M: Classifier<AD> + AutodiffModule<AD>,
{
    let dev = Default::default();
    let (images, labels) = cifar_batch::<AD>(64, &dev);
    let lo = (32 - crop) / 2;
    let images = images.slice(s![.., .., lo..lo + crop, lo..lo + crop]);
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
    for _ in 0..steps {
        let loss = loss_of(&model);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
        if std::env::var_os("CDAT_TRACE").is_some() {
            println!("  loss {}", scalar(loss_of(&model)));
        }
    }
    let last = scalar(loss_of(&model));
    (initial, last)
}

/// Builds a model with Burn's global RNG seeded to `seed` and its lazily drawn parameters drawn
/// at once, while no other test of this binary touches the RNG: the tests run in parallel and
/// share it, which made initialisations (and these tests) vary from run to run.
fn seeded<M: Module<AD>>(seed: u64, build: impl FnOnce(&burn::tensor::Device<AD>) -> M) -> M {
    static RNG: Mutex<()> = Mutex::new(());
    let _guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dev = Default::default();
    AD::seed(&dev, seed);
    let model = build(&dev);
    cdat_core::params::ensure_initialized(&model);
    model
}

fn assert_decreases(name: &str, (initial, last): (f32, f32)) {
    println!("{name}: loss {initial:.4} -> {last:.4}");
    assert!(
        initial.is_finite() && last.is_finite(),
        "{name}: non-finite loss"
    );
    assert!(
        last < 0.95 * initial,
        "{name}: loss did not decrease enough ({initial} -> {last})"
    );
}

#[test]
fn mlp_trains_on_cifar() {
    let model = seeded(7, |dev| {
        MlpConfig::new().with_hidden(vec![32]).init::<AD>(dev)
    });
    assert_decreases("mlp/ce", train_classifier(model, 1e-3, STEPS, 32, false));
    // Squared error on raw [0,1] pixels overshoots at Adam's 1e-3 for some initialisations;
    // 3e-4 lowers it by >= 25% for every seed tried (0..6).
    let model = seeded(8, |dev| {
        MlpConfig::new().with_hidden(vec![32]).init::<AD>(dev)
    });
    assert_decreases("mlp/mse", train_classifier(model, 3e-4, STEPS, 32, true));
}

#[test]
fn resnet_trains_on_cifar() {
    for norm in [Normalization::None, Normalization::LayerNorm] {
        let model = seeded(7, |dev| {
            ResNetConfig::new().with_normalization(norm).init::<AD>(dev)
        });
        assert_decreases(
            &format!("resnet/{norm:?}"),
            train_classifier(model, 1e-2, 20, 16, false),
        );
    }
}

#[test]
fn mixer_trains_on_cifar() {
    let model = seeded(7, |dev| {
        MixerConfig::new()
            .with_patch_size(8)
            .with_hidden_dim(16)
            .with_tokens_mlp_dim(8)
            .with_channels_mlp_dim(32)
            .init::<AD>(dev)
    });
    assert_decreases("mixer", train_classifier(model, 3e-3, STEPS, 32, false));
}

#[test]
fn vit_trains_on_cifar() {
    let model = seeded(7, |dev| {
        VitConfig::new()
            .with_patch_size(8)
            .with_embed_dim(16)
            .with_num_heads(2)
            .with_mlp_dim(32)
            .init::<AD>(dev)
    });
    assert_decreases("vit", train_classifier(model, 3e-3, STEPS, 32, false));
}

#[test]
fn any_model_trains_through_the_registry() {
    // The enum module works with Burn's optimizers (AutodiffModule is derived for it).
    let config = ModelConfig::from_name("mlp", &DataSpec::cifar10()).unwrap();
    let model: AnyModel<AD> = seeded(7, |dev| config.init(dev));
    assert_decreases(
        "registry/mlp",
        train_classifier(model, 1e-3, STEPS, 32, false),
    );
}

#[test]
fn char_transformer_trains_on_shakespeare() {
    let dev = Default::default();
    let (inputs, targets, vocab) = shakespeare_batch::<AD>(8, 16, &dev);
    let mut model = seeded(7, |dev| {
        CharTransformerConfig::new()
            .with_vocab_size(vocab)
            .with_d_model(32)
            .with_n_heads(4)
            .with_block_size(16)
            .init::<AD>(dev)
    });
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

/// Prints the wall time of one Adam step at batch 128 for every image model at its default
/// size (run with `cargo test -p cdat-models --test training -- --ignored --nocapture`).
#[test]
#[ignore = "timing report, not a check"]
fn default_size_step_time() {
    use std::time::Instant;
    fn time<M: Classifier<AD> + AutodiffModule<AD>>(name: &str, mut model: M) {
        let dev = Default::default();
        let (images, labels) = cifar_batch::<AD>(128, &dev);
        let mut optim = AdamConfig::new().init::<AD, M>();
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let start = Instant::now();
            let loss = cross_entropy(model.logits(images.clone()), labels.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{name}: {best:.3} s per step (batch 128)");
    }
    let dev = Default::default();
    time("mlp", MlpConfig::new().init::<AD>(&dev));
    time("resnet (default)", ResNetConfig::new().init::<AD>(&dev));
    time("mixer", MixerConfig::new().init::<AD>(&dev));
    time("vit", VitConfig::new().init::<AD>(&dev));
}
