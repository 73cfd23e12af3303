//! One CDAT step against one Adam step on cdat-models' ResNet-8 (no normalization, widths
//! 16/32/64, batch 128 of 32×32 images), on CPU (NdArray, f32). The same comparison as
//! cdat-core's `tuner_step` bench (shared code); prints `ratio <name>.resnet8 <value>` lines,
//! with the goal `cdat_step_over_base_step.resnet8` ≤ 1.5.
//!
//! Run with `cargo bench -p cdat-models --bench resnet_step` (`CDAT_BENCH_REPS` sets the
//! repetitions, default 5).

#[path = "../../cdat-core/benches/common/mod.rs"]
mod common;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use cdat_models::{ResNet, ResNetConfig};
use common::steps::{bench, A, H, NB};
use common::Net;

impl<B: Backend> Net<B> for ResNet<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(x)
    }
}

fn main() {
    let dev = Default::default();
    let reps = common::reps(5);
    NB::seed(&dev, 0);
    let config = ResNetConfig::resnet8();
    bench(
        "resnet8",
        [128, 3, 32, 32],
        reps,
        config.init::<A>(&dev),
        config.init::<H>(&dev),
    );
}
