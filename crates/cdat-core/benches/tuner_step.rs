//! One CDAT step against one base-optimizer step, same model and batch, on CPU (NdArray, f32).
//!
//! The base step is Burn's own optimizer on `Autodiff<NdArray>`: forward, backward, optimizer
//! update. The CDAT step is `Tuner::step` on `HvpBackend<NdArray>` over the same optimizer's
//! direction: gradient pass, base direction, one forward-over-reverse pass for `uᵀHu`, update.
//! Medians of repeated timings, all from this one run; prints `ratio <name> <value>` lines:
//!
//! - `cdat_step_over_base_step.<model>`: CDAT over Adam vs Burn's Adam (goal ≤ 2.5);
//! - `cdat_gd_step_over_sgd_step.<model>`: CDAT over GD vs Burn's Sgd;
//! - `constant_step_over_base_step.<model>`: the tuner machinery without curvature (constant η
//!   over Adam on `HvpBackend`) vs Burn's Adam.
//!
//! Run with `cargo bench -p cdat-core --bench tuner_step` (`CDAT_BENCH_REPS` sets the repetitions,
//! default 7).

use std::time::{Duration, Instant};

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{directional_curvature, gradient, parameters, HvpBackend};
use cdat_core::tuners::{BaseConfig, CdatConfig, ConstantConfig, TunerConfig};

type NB = NdArray<f32>;
type A = Autodiff<NB>;
type H = HvpBackend<NB>;

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

/// Median time of each stepper, measured round robin (one step of each per round, after a
/// warm-up step of each) so that a change in machine load affects all of them alike.
fn interleaved_medians(reps: usize, steppers: &mut [Box<dyn FnMut() + '_>]) -> Vec<Duration> {
    for f in steppers.iter_mut() {
        f(); // warm-up (and the optimizers' first step, which allocates their state)
    }
    let mut times = vec![Vec::with_capacity(reps); steppers.len()];
    for _ in 0..reps {
        for (f, t) in steppers.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            t.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[reps / 2]
        })
        .collect()
}

/// Copies values (by visiting order) into a module of another backend, keeping the ids.
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

/// One step of Burn's own optimizer `optim` on `Autodiff<NdArray>`.
fn burn_step<'a, M, O>(
    model: M,
    mut optim: O,
    x: &'a Tensor<A, 4>,
    y: &'a Tensor<A, 1, Int>,
) -> Box<dyn FnMut() + 'a>
where
    M: AutodiffModule<A> + Net<A> + 'a,
    O: Optimizer<M, A> + 'a,
{
    let mut model = Some(model);
    Box::new(move || {
        let m = model.take().unwrap();
        let grads = cross_entropy(m.logits(x.clone()), y.clone()).backward();
        let grads = GradientsParams::from_grads(grads, &m);
        model = Some(std::hint::black_box(optim.step(1e-3, m, grads)));
    })
}

/// One tuner step on `HvpBackend<NdArray>`.
fn tuner_step<'a, M>(
    model: M,
    tuner: TunerConfig,
    base: BaseConfig,
    x: &'a Tensor<H, 4>,
    y: &'a Tensor<H, 1, Int>,
) -> Box<dyn FnMut() + 'a>
where
    M: AutodiffModule<H> + Net<H> + 'a,
{
    let mut tuner = tuner.build::<NB, M>(base).unwrap();
    let mut model = Some(model);
    Box::new(move || {
        let loss = |m: &M| cross_entropy(m.logits(x.clone()), y.clone());
        let (m, r) = tuner.step(model.take().unwrap(), &loss);
        r.expect("finite step");
        model = Some(std::hint::black_box(m));
    })
}

fn bench<MA, MH>(name: &str, x_shape: [usize; 4], reps: usize, ma: MA, mh: MH)
where
    MA: AutodiffModule<A> + Net<A>,
    MH: AutodiffModule<H> + Net<H>,
{
    let dev = Default::default();
    let n = x_shape[0];
    let x = Tensor::<NB, 4>::random(x_shape, Distribution::Uniform(0.0, 1.0), &dev);
    let labels = TensorData::new((0..n as i64).map(|i| i % 10).collect::<Vec<_>>(), [n]);
    let ma = copy_into(&parameters(&mh), ma);
    let (xa, ya) = (
        Tensor::<A, 4>::from_data(x.to_data(), &dev),
        Tensor::<A, 1, Int>::from_data(labels.clone(), &dev),
    );
    let (xh, yh) = (
        Tensor::<H, 4>::from_data(x.to_data(), &dev),
        Tensor::<H, 1, Int>::from_data(labels, &dev),
    );
    // A cap keeps the CDAT steps finite over the repetitions on random labels.
    let cdat = TunerConfig::Cdat(CdatConfig {
        max_lr: Some(1e-3),
        ..Default::default()
    });
    let adam_cfg = AdamConfig::new().with_epsilon(1e-8);

    let constant = TunerConfig::Constant(ConstantConfig { lr: 1e-3 });
    // The two passes a CDAT step makes, alone: a gradient and a directional curvature.
    let loss_h = |m: &MH| cross_entropy(m.logits(xh.clone()), yh.clone());
    let u = parameters(&mh).random_normal_like();
    let times = interleaved_medians(
        reps,
        &mut [
            burn_step(ma.clone(), adam_cfg.init::<A, MA>(), &xa, &ya),
            burn_step(ma, SgdConfig::new().init::<A, MA>(), &xa, &ya),
            tuner_step(mh.clone(), cdat.clone(), BaseConfig::adam(), &xh, &yh),
            tuner_step(mh.clone(), cdat, BaseConfig::Gd, &xh, &yh),
            tuner_step(mh.clone(), constant, BaseConfig::adam(), &xh, &yh),
            Box::new(|| {
                std::hint::black_box(gradient(&mh, &loss_h));
            }),
            Box::new(|| {
                std::hint::black_box(directional_curvature(&mh, &loss_h, &u));
            }),
        ],
    );
    let [t_adam, t_sgd, t_cdat, t_cdat_gd, t_const, t_grad, t_uhu] = times[..] else {
        unreachable!()
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name}: Burn Adam step (Autodiff<NdArray>)         {:8.2} ms",
        ms(t_adam)
    );
    println!(
        "{name}: Burn Sgd step (Autodiff<NdArray>)          {:8.2} ms",
        ms(t_sgd)
    );
    println!(
        "{name}: CDAT over Adam (HvpBackend<NdArray>)       {:8.2} ms",
        ms(t_cdat)
    );
    println!(
        "{name}: CDAT over GD (HvpBackend<NdArray>)         {:8.2} ms",
        ms(t_cdat_gd)
    );
    println!(
        "{name}: constant η over Adam (HvpBackend<NdArray>) {:8.2} ms",
        ms(t_const)
    );
    println!(
        "{name}:   of which: gradient pass (HvpBackend)       {:8.2} ms",
        ms(t_grad)
    );
    println!(
        "{name}:   of which: uᵀHu pass (forward-over-reverse) {:8.2} ms",
        ms(t_uhu)
    );
    let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "ratio cdat_step_over_base_step.{name} {:.3}",
        r(t_cdat, t_adam)
    );
    println!(
        "ratio cdat_gd_step_over_sgd_step.{name} {:.3}",
        r(t_cdat_gd, t_sgd)
    );
    println!(
        "ratio constant_step_over_base_step.{name} {:.3}",
        r(t_const, t_adam)
    );
}

fn main() {
    let dev = Default::default();
    let reps: usize = std::env::var("CDAT_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
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
