//! Absolute CPU speed, and how far each step is from the machine's practical limit.
//!
//! Prints, from one run per backend (`NdArray<f32>`, and Flex with `--features flex`;
//! interleaved medians):
//!
//! - the time of one large matmul `[S, S] × [S, S]` of the same backend, as a rate of
//!   multiply-adds per second: the *matmul floor* of a workload is its multiply-adds at that rate;
//! - the gradient of the MLP 784-512-512-10 (batch 1,024, mean cross-entropy) on
//!   `Autodiff<B>`;
//! - Burn's Adam step and the CDAT-over-Adam step on ResNet-8 (widths 16/32/64, no
//!   normalization, batch 128 of 32×32 images), and the two passes of the CDAT step alone (the
//!   gradient on `HvpBackend<B>` and the jet pass for `uᵀHu`);
//!
//! each in ms, then `ratio <name> <value>` lines: each time over its matmul floor (1 would be a
//! step that does nothing but its multiply-adds at large-matmul speed), the CDAT step over the
//! Adam step, and the jet pass over the gradient pass, each name suffixed with the backend
//! (`.ndarray`, `.flex`, `.flex_native`). Goals (issue 19, 2 cores):
//! `mlp_gradient_over_matmul_floor.*` ≤ 1.5, `cdat_step_over_adam_step.resnet8.*` ≤ 2,
//! `jet_pass_over_gradient_pass.resnet8.*` < 1.
//!
//! Multiply-adds counted (matmul and convolution products only, as `conv2d_channels_last`
//! evaluates them): a gradient does the forward products, one weight-gradient product per layer
//! and one input-gradient product per layer whose input depends on the parameters (not the
//! first); the jet does, per layer, `x₀W₀` and `x₀U` on the first layer and five products on
//! the others (`x₀W₀`, `x₁W₀`, `x₀U`, `x₂W₀`, `x₁U`), see `cdat_core::dual`.
//!
//! Run with `cargo bench -p cdat-models --bench cpu_speed` (`CDAT_BENCH_REPS` sets the
//! repetitions, default 5; `--features openblas` measures NdArray with the system OpenBLAS,
//! `--features flex` adds Burn's Flex CPU backend with both convolution implementations).
//!
//! # Where the time goes (NdArray, 2 cores, `perf record -e cpu-clock` of this bench)
//!
//! Share of the samples, tap-matmul convolutions (the ResNet-8 steps dominate the run):
//! matmul kernel and packing (matrixmultiply) 20%; NdArray's element-by-element copies of
//! non-contiguous arrays (`ndarray::iterators::to_vec_mapped`: the strided tap slices made
//! contiguous by `reshape`, and the permuted weights) 18%; `memmove` (cat, the zero padding,
//! copy-on-write of shared buffers) 15%; the kernel (page faults and zeroing of fresh
//! allocations) 18%; `slice_assign` and elementwise zips 6–11%; `TensorData::full` and `memset`
//! (the zero tensors of the slice backward pass, one full padded map per kernel tap) 6%. So a
//! ResNet-8 step is ~80% data movement and allocation, and ~17× the time of its multiply-adds
//! at large-matmul speed; the MLP gradient, all matmul, is 1.4–1.9× its floor.
//!
//! An im2col formulation built from Burn tensor ops (one `[N·H'·W', 9C] × [9C, O]` matmul) was
//! measured and rejected: with the taps reshaped to `[rows, C]` and concatenated along the
//! columns a ResNet-8 Adam step took 3.70 s, with the 4-D taps concatenated along the channels
//! 4.44 s, against 1.86 s for the tap matmuls in the same session: the patch matrix is 9× the
//! feature map, and NdArray moves it (and its gradient, split back by the `cat` backward) at
//! the copy speeds above, which cost more than the 8 matmul-output additions they save.

#[path = "../../cdat-core/benches/common/mod.rs"]
mod common;

use std::time::Duration;

use burn::backend::Autodiff;
use burn::nn::conv::Conv2d;
use burn::optim::AdamConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{directional_curvature, gradient, parameters, HvpBackend};
use cdat_core::tuners::{BaseConfig, CdatConfig, TunerConfig};
use cdat_models::{ConvImpl, ResNet, ResNetConfig};
use common::steps::{burn_step, tuner_step, NB};
use common::{copy_into, cross_entropy, interleaved_medians, Mlp, Net};

impl<B: Backend> Net<B> for ResNet<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(x)
    }
}

/// Side of the square matmul that sets the floor.
const FLOOR_SIDE: usize = 1536;

/// Forward multiply-adds of a network, per example, split by where the layer sits.
#[derive(Clone, Copy)]
struct Macs {
    /// Forward product of the first layer (input independent of the parameters).
    first: f64,
    /// Forward products of the other layers.
    rest: f64,
}

impl Macs {
    /// A gradient: forward, weight gradients, input gradients of all but the first layer.
    fn gradient(self) -> f64 {
        2.0 * self.first + 3.0 * self.rest
    }

    /// A jet pass (see the module docs).
    fn jet(self) -> f64 {
        2.0 * self.first + 5.0 * self.rest
    }
}

/// Forward multiply-adds of ResNet `net` on `side × side` images, per example.
fn resnet_macs<B: Backend>(net: &ResNet<B>, side: usize) -> Macs {
    // (multiply-adds, output side) of one convolution; every convolution of the ResNet maps
    // side h to (h - 1) / stride + 1 (3×3 with padding 1, or 1×1 without).
    let conv = |c: &Conv2d<B>, h: usize| {
        let [o, i, kh, kw] = c.weight.dims();
        let ho = (h - 1) / c.stride[0] + 1;
        ((ho * ho * o * i * kh * kw) as f64, ho)
    };
    let (first, mut h) = conv(&net.stem, side);
    let mut rest = 0.0;
    for block in &net.blocks {
        let (m1, h1) = conv(&block.conv1, h);
        let (m2, _) = conv(&block.conv2, h1);
        let m3 = block.shortcut.as_ref().map_or(0.0, |s| conv(s, h).0);
        rest += m1 + m2 + m3;
        h = h1;
    }
    let [i, o] = net.head.weight.dims();
    Macs {
        first,
        rest: rest + (i * o) as f64,
    }
}

fn main() {
    let reps = common::reps(5);
    measure::<NB>("ndarray", matmul_kernels(), ConvImpl::TapMatmul, reps);
    #[cfg(feature = "flex")]
    for conv in [ConvImpl::Native, ConvImpl::TapMatmul] {
        measure::<burn::backend::Flex>("flex", "gemm", conv, reps);
    }
}

/// Times and ratios of the module docs on backend `B` (named `name`, matmul kernels `kernels`),
/// with ResNet-8's convolutions evaluated by `conv`.
fn measure<B: Backend>(name: &str, kernels: &str, conv: ConvImpl, reps: usize) {
    let dev: B::Device = Default::default();
    B::seed(&dev, 0);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let s = |d: Duration| d.as_secs_f64();

    // The floor: one large matmul.
    let a = Tensor::<B, 2>::random([FLOOR_SIDE; 2], Distribution::Default, &dev);
    let b = Tensor::<B, 2>::random([FLOOR_SIDE; 2], Distribution::Default, &dev);

    // The MLP gradient.
    let n_mlp = 1024;
    let mlp = Mlp::<Autodiff<B>>::new(&dev);
    let x_mlp = Tensor::<Autodiff<B>, 4>::random([n_mlp, 1, 28, 28], Distribution::Default, &dev);
    let y_mlp = labels::<Autodiff<B>>(n_mlp, &dev);
    let mlp_macs = n_mlp as f64
        * Macs {
            first: 784.0 * 512.0,
            rest: 512.0 * 512.0 + 512.0 * 10.0,
        }
        .gradient();

    // ResNet-8: the same initial parameters on both backends.
    let n = 128;
    let config = ResNetConfig::resnet8().with_conv_impl(conv);
    let mh: ResNet<HvpBackend<B>> = config.init(&dev);
    let ma: ResNet<Autodiff<B>> = copy_into(&parameters(&mh), config.init(&dev));
    let per_example = resnet_macs(&mh, 32);
    let x = Tensor::<B, 4>::random([n, 3, 32, 32], Distribution::Default, &dev);
    let xa = Tensor::<Autodiff<B>, 4>::from_data(x.to_data(), &dev);
    let ya = labels::<Autodiff<B>>(n, &dev);
    let xh = Tensor::<HvpBackend<B>, 4>::from_data(x.to_data(), &dev);
    let yh = labels::<HvpBackend<B>>(n, &dev);
    let loss_h = |m: &ResNet<HvpBackend<B>>| cross_entropy(m.logits(xh.clone()), yh.clone());
    let u = parameters(&mh).random_normal_like();
    // A cap keeps the CDAT steps finite over the repetitions on random labels.
    let cdat = TunerConfig::Cdat(CdatConfig {
        max_lr: Some(1e-3),
        ..Default::default()
    });
    let adam = AdamConfig::new().with_epsilon(1e-8);

    let times = interleaved_medians(
        reps,
        &mut [
            Box::new(|| {
                std::hint::black_box(a.clone().matmul(b.clone()).into_data());
            }),
            Box::new(|| {
                let loss = cross_entropy(mlp.logits(x_mlp.clone()), y_mlp.clone());
                std::hint::black_box(loss.backward());
            }),
            burn_step(
                ma,
                adam.init::<Autodiff<B>, ResNet<Autodiff<B>>>(),
                &xa,
                &ya,
            ),
            tuner_step(mh.clone(), cdat, BaseConfig::adam(), &xh, &yh),
            Box::new(|| {
                std::hint::black_box(gradient(&mh, &loss_h));
            }),
            Box::new(|| {
                std::hint::black_box(directional_curvature(&mh, &loss_h, &u));
            }),
        ],
    );
    let [t_floor, t_mlp, t_adam, t_cdat, t_grad, t_jet] = times[..] else {
        unreachable!()
    };
    let rate = (FLOOR_SIDE as f64).powi(3) / s(t_floor);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tag = format!("{name}, {conv:?} convolutions");
    println!(
        "[{tag}] matmul floor: [{FLOOR_SIDE}, {FLOOR_SIDE}]² in {:.2} ms = {:.1} GFLOP/s \
         ({threads} threads available, {kernels})",
        ms(t_floor),
        2.0 * rate / 1e9,
    );
    let floor = |macs: f64| Duration::from_secs_f64(macs / rate);
    let gradient_macs = n as f64 * per_example.gradient();
    let rows = [
        (
            "mlp_gradient",
            "MLP 784-512-512-10 gradient (Autodiff)",
            t_mlp,
            mlp_macs,
        ),
        (
            "resnet8_adam_step",
            "ResNet-8 Burn Adam step (Autodiff)",
            t_adam,
            gradient_macs,
        ),
        (
            "resnet8_cdat_step",
            "ResNet-8 CDAT over Adam step (HvpBackend)",
            t_cdat,
            gradient_macs + n as f64 * per_example.jet(),
        ),
        (
            "resnet8_gradient_pass",
            "ResNet-8   of which: gradient pass (HvpBackend)",
            t_grad,
            gradient_macs,
        ),
        (
            "resnet8_jet_pass",
            "ResNet-8   of which: uᵀHu pass (jet)",
            t_jet,
            n as f64 * per_example.jet(),
        ),
    ];
    for (_, label, t, macs) in rows {
        println!(
            "[{tag}] {label:48} {:9.2} ms  (floor {:7.2} ms, {:.2} GMAC)",
            ms(t),
            ms(floor(macs)),
            macs / 1e9
        );
    }
    let key = if conv == ConvImpl::TapMatmul {
        name.to_string()
    } else {
        format!("{name}_{conv:?}").to_lowercase()
    };
    for (row, _, t, macs) in rows {
        println!(
            "ratio {row}_over_matmul_floor.{key} {:.3}",
            s(t) / s(floor(macs))
        );
    }
    println!(
        "ratio cdat_step_over_adam_step.resnet8.{key} {:.3}",
        s(t_cdat) / s(t_adam)
    );
    println!(
        "ratio jet_pass_over_gradient_pass.resnet8.{key} {:.3}",
        s(t_jet) / s(t_grad)
    );
}

/// Labels `i mod 10` for a batch of `n`.
fn labels<B: Backend>(n: usize, dev: &B::Device) -> Tensor<B, 1, Int> {
    Tensor::from_data(
        TensorData::new((0..n as i64).map(|i| i % 10).collect::<Vec<_>>(), [n]),
        dev,
    )
}

/// Which matmul kernels this build of NdArray uses.
fn matmul_kernels() -> &'static str {
    if cfg!(feature = "openblas") {
        "OpenBLAS (system)"
    } else {
        "matrixmultiply"
    }
}
