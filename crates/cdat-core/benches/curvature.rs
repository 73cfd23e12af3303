//! Cost of exact curvature relative to a plain gradient, on CPU (NdArray, f32).
//!
//! Prints one line per measurement and one `ratio <name> <value>` line per ratio, all measured
//! in this one run (medians of interleaved timings). Run with
//! `cargo bench -p cdat-core --bench curvature` (`CDAT_BENCH_REPS` sets the repetitions).
//!
//! Goals (issue 9): `uhu_jet_over_grad.mlp` ≤ 1.1, `uhu_jet_over_grad.convnet` ≤ 0.35,
//! `tangent_free_overhead.*` ≤ 1.05, and the peak memory of a jet pass no larger than that of a
//! gradient pass (`peak_memory_jet_over_grad.*` ≤ 1, counted by the global allocator).

mod common;

use std::time::Duration;

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{
    directional_curvature, directional_curvature_fof, directional_curvature_with, gradient, hvp,
    parameters, CurvatureMethod, HvpBackend,
};
use cdat_core::Dual;
use common::{copy_into, cross_entropy, interleaved_medians, ConvNet, Mlp, Net, PeakAlloc};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

type NB = NdArray<f32>;
type A = Autodiff<NB>;
type H = HvpBackend<NB>;
type FF = Dual<Dual<NB>>;

fn bench<MA, MH, MF>(name: &str, x_shape: [usize; 4], reps: usize, ma: MA, mh: MH, mf: MF)
where
    MA: AutodiffModule<A> + Net<A>,
    MH: AutodiffModule<H> + Net<H>,
    MF: Module<FF> + Net<FF>,
{
    let dev = Default::default();
    let n = x_shape[0];
    let x = Tensor::<NB, 4>::random(x_shape, Distribution::Uniform(0.0, 1.0), &dev);
    let labels = TensorData::new((0..n as i64).map(|i| i % 10).collect::<Vec<_>>(), [n]);
    let w = parameters(&mh);
    let ma = copy_into(&w, ma);
    let mf = copy_into(&w, mf);
    let u = w.random_normal_like();

    let (xa, ya) = (
        Tensor::<A, 4>::from_data(x.to_data(), &dev),
        Tensor::<A, 1, Int>::from_data(labels.clone(), &dev),
    );
    let (xh, yh) = (
        Tensor::<H, 4>::from_data(x.to_data(), &dev),
        Tensor::<H, 1, Int>::from_data(labels.clone(), &dev),
    );
    let (xf, yf) = (
        Tensor::<FF, 4>::from_data(x.to_data(), &dev),
        Tensor::<FF, 1, Int>::from_data(labels, &dev),
    );
    let loss_h = |m: &MH| cross_entropy(m.logits(xh.clone()), yh.clone());
    let loss_f = |m: &MF| cross_entropy(m.logits(xf.clone()), yf.clone());
    let grad_a = || {
        let grads = cross_entropy(ma.logits(xa.clone()), ya.clone()).backward();
        std::hint::black_box(GradientsParams::from_grads(grads, &ma));
    };
    let jet = || {
        std::hint::black_box(directional_curvature(&mh, &loss_h, &u));
    };

    let times = interleaved_medians(
        reps,
        &mut [
            Box::new(grad_a),
            Box::new(|| {
                std::hint::black_box(gradient(&mh, &loss_h));
            }),
            Box::new(|| {
                std::hint::black_box(hvp(&mh, &loss_h, &u));
            }),
            Box::new(jet),
            Box::new(|| {
                std::hint::black_box(directional_curvature_with(
                    &mh,
                    &loss_h,
                    &u,
                    CurvatureMethod::ForwardOverReverse,
                ));
            }),
            Box::new(|| {
                std::hint::black_box(directional_curvature_fof(&mf, &loss_f, &u));
            }),
        ],
    );
    let [t_grad, t_grad_h, t_hvp, t_jet, t_for, t_fof] = times[..] else {
        unreachable!()
    };
    let peak_grad = ALLOC.peak_during(grad_a);
    let peak_jet = ALLOC.peak_during(jet);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    for (what, t) in [
        ("gradient (Autodiff<NdArray>)      ", t_grad),
        ("gradient (Autodiff<Dual<NdArray>>)", t_grad_h),
        ("hvp (forward-over-reverse)        ", t_hvp),
        ("uᵀHu jet (one forward pass)       ", t_jet),
        ("uᵀHu forward-over-reverse         ", t_for),
        ("uᵀHu forward-over-forward         ", t_fof),
    ] {
        println!("{name}: {what} {:8.2} ms", ms(t));
    }
    println!(
        "{name}: peak memory above the model: gradient {:.1} MiB, jet {:.1} MiB",
        mib(peak_grad),
        mib(peak_jet)
    );
    let r = |a: Duration| a.as_secs_f64() / t_grad.as_secs_f64();
    println!("ratio tangent_free_overhead.{name} {:.3}", r(t_grad_h));
    println!("ratio hvp_over_grad.{name} {:.3}", r(t_hvp));
    println!("ratio uhu_jet_over_grad.{name} {:.3}", r(t_jet));
    println!("ratio uhu_for_over_grad.{name} {:.3}", r(t_for));
    println!("ratio uhu_fof_over_grad.{name} {:.3}", r(t_fof));
    println!(
        "ratio peak_memory_jet_over_grad.{name} {:.3}",
        peak_jet as f64 / peak_grad as f64
    );
}

fn main() {
    let dev = Default::default();
    let reps = common::reps(9);
    bench(
        "mlp",
        [1024, 1, 28, 28],
        reps,
        Mlp::<A>::new(&dev),
        Mlp::<H>::new(&dev),
        Mlp::<FF>::new(&dev),
    );
    bench(
        "convnet",
        [128, 3, 32, 32],
        reps,
        ConvNet::<A>::new(&dev),
        ConvNet::<H>::new(&dev),
        ConvNet::<FF>::new(&dev),
    );
}
