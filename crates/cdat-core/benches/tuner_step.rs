//! One CDAT step against one base-optimizer step, same model and batch, on CPU (NdArray, f32).
//!
//! The base step is Burn's own optimizer on `Autodiff<NdArray>`: forward, backward, optimizer
//! update. The CDAT step is `Tuner::step` on `HvpBackend<NdArray>` over the same optimizer's
//! direction: gradient pass, base direction, one forward pass of a second-order jet for `uᵀHu`,
//! update. Medians of interleaved timings, all from this one run; prints
//! `ratio <name> <value>` lines:
//!
//! - `cdat_step_over_base_step.<model>`: CDAT over Adam vs Burn's Adam (goals: mlp ≤ 2.2,
//!   convnet ≤ 1.5; the ResNet-8 row is in `cdat-models`' `resnet_step` bench);
//! - `cdat_gd_step_over_sgd_step.<model>`: CDAT over GD vs Burn's Sgd;
//! - `constant_step_over_base_step.<model>`: the tuner machinery without curvature (constant η
//!   over Adam on `HvpBackend`) vs Burn's Adam (goal ≤ 1.10).
//!
//! Run with `cargo bench -p cdat-core --bench tuner_step` (`CDAT_BENCH_REPS` sets the repetitions,
//! default 7).

mod common;

use burn::tensor::backend::Backend;
use common::steps::{bench, A, H, NB};
use common::{ConvNet, Mlp};

fn main() {
    let dev = Default::default();
    let reps = common::reps(7);
    NB::seed(&dev, 0);
    bench(
        "mlp",
        [1024, 1, 28, 28],
        reps,
        Mlp::<A>::new(&dev),
        Mlp::<H>::new(&dev),
    );
    bench(
        "convnet",
        [128, 3, 32, 32],
        reps,
        ConvNet::<A>::new(&dev),
        ConvNet::<H>::new(&dev),
    );
}
