mod common;
use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use cdat_models::*;
use common::*;
use std::time::Instant;

fn step<M: Classifier<AD> + AutodiffModule<AD>>(name: &str, model: M, n: usize) {
    let dev = Default::default();
    let (x, y) = cifar_batch::<AD>(n, &dev);
    let mut optim = SgdConfig::new().init::<AD, M>();
    let mut model = model;
    for i in 0..3 {
        let t0 = Instant::now();
        let logits = model.logits(x.clone());
        let loss = cross_entropy(logits, y.clone());
        let _ = scalar(loss.clone());
        let t1 = Instant::now();
        let g = loss.backward();
        let t2 = Instant::now();
        let grads = GradientsParams::from_grads(g, &model);
        model = optim.step(0.01, model, grads);
        println!(
            "{name} iter {i}: fwd {:?} bwd {:?} total {:?}",
            t1 - t0,
            t2 - t1,
            t0.elapsed()
        );
    }
}

#[test]
#[ignore]
fn timing() {
    let dev = Default::default();
    let which = std::env::var("WHICH").unwrap_or_default();
    let n = 128;
    if which.contains("resnet4") {
        step(
            "resnet w4",
            ResNetConfig::new().with_base_width(4).init::<AD>(&dev),
            64,
        );
    }
    if which.contains("native") {
        step(
            "resnet w8 native",
            ResNetConfig::new()
                .with_base_width(8)
                .with_conv_impl(ConvImpl::Native)
                .init::<AD>(&dev),
            n,
        );
    }
    if which.contains("resnet8w") {
        step(
            "resnet w8",
            ResNetConfig::new().with_base_width(8).init::<AD>(&dev),
            n,
        );
    }
    if which.contains("resnet16") {
        step("resnet8", ResNetConfig::new().init::<AD>(&dev), n);
    }
    if which.contains("mlp") {
        step("mlp", MlpConfig::new().init::<AD>(&dev), n);
    }
    if which.contains("mixer") {
        step("mixer", MixerConfig::new().init::<AD>(&dev), n);
    }
    if which.contains("vit") {
        step("vit", VitConfig::new().init::<AD>(&dev), n);
    }
}

#[test]
#[ignore]
fn timing_flex() {
    type F = burn::backend::Autodiff<burn::backend::Flex>;
    let dev = Default::default();
    let (x, y) = cifar_batch::<F>(128, &dev);
    for imp in [ConvImpl::Native, ConvImpl::TapMatmul] {
        for w in [8usize, 16] {
            let mut model = ResNetConfig::new().with_base_width(w).with_conv_impl(imp).init::<F>(&dev);
            let mut optim = SgdConfig::new().init::<F, ResNet<F>>();
            for i in 0..3 {
                let t0 = Instant::now();
                let loss = cross_entropy(model.logits(x.clone()), y.clone());
                let _ = scalar(loss.clone());
                let t1 = Instant::now();
                let g = loss.backward();
                let grads = GradientsParams::from_grads(g, &model);
                model = optim.step(0.01, model, grads);
                println!("flex {imp:?} w{w} iter {i}: fwd {:?} total {:?}", t1 - t0, t0.elapsed());
            }
        }
    }
}
