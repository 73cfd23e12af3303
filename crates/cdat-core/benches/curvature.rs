//! Cost of exact curvature relative to a plain gradient, on CPU (NdArray, f32).
//!
//! Prints one line per measurement and one `ratio <name> <value>` line per ratio, all measured
//! in this one run (medians of repeated timings). Run with
//! `cargo bench -p cdat-core --bench curvature`.
//! Goals (issue 2): HVP ≤ 3× a gradient, uᵀHu ≤ 2× a gradient, tangent-free overhead ≤ 5%.

use std::time::{Duration, Instant};

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::GradientsParams;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{
    directional_curvature, directional_curvature_fof, gradient, hvp, parameters, HvpBackend,
};
use cdat_core::Dual;

type NB = NdArray<f32>;
type A = Autodiff<NB>;
type H = HvpBackend<NB>;
type FF = Dual<Dual<NB>>;

trait Net<B: Backend>: Module<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2>;
}

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(784, 512).init(device),
            l2: LinearConfig::new(512, 512).init(device),
            l3: LinearConfig::new(512, 10).init(device),
        }
    }
}

impl<B: Backend> Net<B> for Mlp<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = x.flatten::<2>(1, 3);
        self.l3
            .forward(relu(self.l2.forward(relu(self.l1.forward(x)))))
    }
}

#[derive(Module, Debug)]
struct ConvNet<B: Backend> {
    c1: Conv2d<B>,
    c2: Conv2d<B>,
    pool: MaxPool2d,
    head: Linear<B>,
}

impl<B: Backend> ConvNet<B> {
    fn new(device: &B::Device) -> Self {
        Self {
            c1: Conv2dConfig::new([3, 16], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            c2: Conv2dConfig::new([16, 32], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            head: LinearConfig::new(32 * 8 * 8, 10).init(device),
        }
    }
}

impl<B: Backend> Net<B> for ConvNet<B> {
    fn logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.pool.forward(relu(self.c1.forward(x)));
        let x = self.pool.forward(relu(self.c2.forward(x)));
        self.head.forward(x.flatten::<2>(1, 3))
    }
}

fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, y: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let n = logits.dims()[0] as f64;
    log_softmax(logits, 1)
        .gather(1, y.unsqueeze_dim(1))
        .sum()
        .neg()
        .div_scalar(n)
}

fn median_time(reps: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[reps / 2]
}

/// Copies values (by visiting order) from one module into another of the same structure,
/// keeping the source's parameter ids.
fn copy_into<Src: Backend, Dst: Backend, M: Module<Dst>>(
    values: &cdat_core::ParamVec<Src>,
    module: M,
) -> M {
    struct Load<'a, S: Backend>(&'a cdat_core::ParamVec<S>, usize);
    impl<S: Backend, D: Backend> burn::module::ModuleMapper<D> for Load<'_, S> {
        fn map_float<const R: usize>(
            &mut self,
            p: burn::module::Param<Tensor<D, R>>,
        ) -> burn::module::Param<Tensor<D, R>> {
            let (_, t, mapper) = p.consume();
            let (id, src) = &self.0.entries()[self.1];
            self.1 += 1;
            let new = Tensor::<D, 1>::from_data(src.to_data(), &t.device()).reshape(t.shape());
            let new = if t.is_require_grad() {
                new.require_grad()
            } else {
                new
            };
            burn::module::Param::from_mapped_value(*id, new, mapper)
        }
    }
    module.map(&mut Load(values, 0))
}

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

    let t_grad = median_time(reps, || {
        let grads = cross_entropy(ma.logits(xa.clone()), ya.clone()).backward();
        let g = GradientsParams::from_grads(grads, &ma);
        std::hint::black_box(g);
    });
    let t_grad_h = median_time(reps, || {
        std::hint::black_box(gradient(&mh, &loss_h));
    });
    let t_hvp = median_time(reps, || {
        std::hint::black_box(hvp(&mh, &loss_h, &u));
    });
    let t_uhu_for = median_time(reps, || {
        std::hint::black_box(directional_curvature(&mh, &loss_h, &u));
    });
    let t_uhu_fof = median_time(reps, || {
        std::hint::black_box(directional_curvature_fof(&mf, &loss_f, &u));
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: gradient (Autodiff<NdArray>)        {:8.2} ms",
        ms(t_grad)
    );
    println!(
        "{name}: gradient (Autodiff<Dual<NdArray>>)  {:8.2} ms",
        ms(t_grad_h)
    );
    println!(
        "{name}: hvp (forward-over-reverse)          {:8.2} ms",
        ms(t_hvp)
    );
    println!(
        "{name}: uᵀHu forward-over-reverse           {:8.2} ms",
        ms(t_uhu_for)
    );
    println!(
        "{name}: uᵀHu forward-over-forward           {:8.2} ms",
        ms(t_uhu_fof)
    );
    let r = |a: Duration| a.as_secs_f64() / t_grad.as_secs_f64();
    println!("ratio tangent_free_overhead.{name} {:.3}", r(t_grad_h));
    println!("ratio hvp_over_grad.{name} {:.3}", r(t_hvp));
    println!("ratio uhu_for_over_grad.{name} {:.3}", r(t_uhu_for));
    println!("ratio uhu_fof_over_grad.{name} {:.3}", r(t_uhu_fof));
}

fn main() {
    let dev = Default::default();
    let reps: usize = std::env::var("CDAT_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
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
