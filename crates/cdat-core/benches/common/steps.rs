//! The step comparison shared by the `tuner_step` benches (cdat-core's MLP and conv net,
//! cdat-models' ResNet-8): Burn's own optimizer step against tuner steps on the same model and
//! batch, timed interleaved, printing `ratio <name> <value>` lines.

use std::time::Duration;

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use cdat_core::curvature::{directional_curvature, gradient, parameters, HvpBackend};
use cdat_core::tuners::{BaseConfig, CdatConfig, ConstantConfig, TunerConfig};

use super::{copy_into, cross_entropy, interleaved_medians, Net};

pub type NB = NdArray<f32>;
pub type A = Autodiff<NB>;
pub type H = HvpBackend<NB>;

/// One step of Burn's own optimizer `optim` on an autodiff backend `AB` (`Autodiff<NdArray>`
/// in these benches).
pub fn burn_step<'a, AB, M, O>(
    model: M,
    mut optim: O,
    x: &'a Tensor<AB, 4>,
    y: &'a Tensor<AB, 1, Int>,
) -> Box<dyn FnMut() + 'a>
where
    AB: AutodiffBackend,
    M: AutodiffModule<AB> + Net<AB> + 'a,
    O: Optimizer<M, AB> + 'a,
{
    let mut model = Some(model);
    Box::new(move || {
        let m = model.take().unwrap();
        let grads = cross_entropy(m.logits(x.clone()), y.clone()).backward();
        let grads = GradientsParams::from_grads(grads, &m);
        model = Some(std::hint::black_box(optim.step(1e-3, m, grads)));
    })
}

/// One tuner step on `HvpBackend<B>` (`HvpBackend<NdArray>` in these benches).
pub fn tuner_step<'a, B, M>(
    model: M,
    tuner: TunerConfig,
    base: BaseConfig,
    x: &'a Tensor<HvpBackend<B>, 4>,
    y: &'a Tensor<HvpBackend<B>, 1, Int>,
) -> Box<dyn FnMut() + 'a>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>> + Net<HvpBackend<B>> + 'a,
{
    let mut tuner = tuner.build::<B, M>(base).unwrap();
    let mut model = Some(model);
    Box::new(move || {
        let loss = |m: &M| cross_entropy(m.logits(x.clone()), y.clone());
        let (m, r) = tuner.step(model.take().unwrap(), &loss);
        r.expect("finite step");
        model = Some(std::hint::black_box(m));
    })
}

pub fn bench<MA, MH>(name: &str, x_shape: [usize; 4], reps: usize, ma: MA, mh: MH)
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
        "{name}:   of which: uᵀHu pass (jet)                  {:8.2} ms",
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
