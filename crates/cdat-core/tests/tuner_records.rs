//! Tuners in Burn's shape, on every registry tuner × every base optimizer config:
//!
//! - a typed tuner (`RuleConfig::init` over Burn's own optimizer config) saved with
//!   `to_record`, written and read back by a Burn recorder, and loaded into a fresh tuner takes
//!   the same next 5 steps, bit for bit;
//! - a rejected step leaves the next 5 steps as if it never happened;
//! - AdamW's weight decay and the configs' gradient clipping reach the base direction.

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdaGradConfig, AdamConfig, AdamWConfig, RmsPropConfig, SgdConfig};
use burn::record::{BinBytesRecorder, DoublePrecisionSettings, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use cdat_core::tuners::base::clipping;
use cdat_core::tuners::{
    BaseDirection, BaseOptimizerConfig, ConfigVisitor, GradientDescentConfig, RuleConfig,
    StepReport, Tuner, TunerConfig, TUNER_NAMES,
};
use cdat_core::ParamVec;

mod common {
    pub mod vector;
}
use common::vector::{consts, values, vector, Vector, F, H};

const W0: [f64; 4] = [0.9, -1.3, 0.4, 2.1];

/// A non-quadratic loss with curvature of both signs: `Σ ¼(wᵢ² − 1)² + cᵀw`.
fn loss(m: &Vector<H>) -> Tensor<H, 1> {
    let w = m.w.val();
    let c = consts(&[0.3, -0.2, 0.1, 0.05]);
    let q = (w.clone() * w.clone()).sub_scalar(1.0);
    (q.clone() * q).mul_scalar(0.25).sum() + (w * c).sum()
}

/// The bases, each a Burn optimizer config (or `GradientDescentConfig`), with its name.
fn for_each_base(mut f: impl FnMut(&str, &dyn Fn(&TunerConfig, usize) -> Run)) {
    f("gd", &|t, k| {
        t.visit(Runner(GradientDescentConfig::new(), k))
    });
    let momentum = SgdConfig::new().with_momentum(Some(MomentumConfig::new()));
    f("momentum", &|t, k| t.visit(Runner(momentum.clone(), k)));
    f("adam", &|t, k| t.visit(Runner(AdamConfig::new(), k)));
    let adamw = AdamWConfig::new().with_weight_decay(1e-2);
    f("adamw", &|t, k| t.visit(Runner(adamw.clone(), k)));
    f("rmsprop", &|t, k| t.visit(Runner(RmsPropConfig::new(), k)));
    f("adagrad", &|t, k| t.visit(Runner(AdaGradConfig::new(), k)));
}

/// What a run measured: every step's report and the final parameters.
#[derive(Debug, PartialEq)]
struct Run {
    uninterrupted: (Vec<StepReport>, Vec<f64>),
    restored: (Vec<StepReport>, Vec<f64>),
    after_rejection: (Vec<StepReport>, Vec<f64>),
}

/// Builds the tuner typed over `O` and runs it three ways from the same start: `k` steps then 5
/// more; `k` steps, record through Burn's `BinBytesRecorder`, a fresh tuner loads it, 5 more;
/// `k` steps, a rejected step, 5 more.
struct Runner<O>(O, usize);

fn steps<T: Tuner<F, Vector<H>>>(
    tuner: &mut T,
    mut m: Vector<H>,
    n: usize,
    out: &mut Vec<StepReport>,
) -> Vector<H> {
    for _ in 0..n {
        let (next, report) = tuner.step(m, &loss);
        out.push(report.expect("step accepted"));
        m = next;
    }
    m
}

impl<O: BaseOptimizerConfig<F> + Clone> ConfigVisitor for Runner<O>
where
    O::Base: 'static,
{
    type Output = Run;

    fn visit<C: RuleConfig>(self, config: &C) -> Run {
        let Runner(base, k) = self;
        let run = |interrupt: &dyn Fn(
            &mut cdat_core::tuners::Tuned<F, C::Rule<F>, O::Base>,
            Vector<H>,
        ) -> (
            Option<cdat_core::tuners::Tuned<F, C::Rule<F>, O::Base>>,
            Vector<H>,
        )| {
            // The same random draws (the sharpness rule's first Lanczos start) in every run.
            <F as Backend>::seed(&Default::default(), 7);
            let mut tuner = config.init::<F, _>(base.clone());
            let mut reports = Vec::new();
            let m = steps(&mut tuner, vector(&W0), k, &mut reports);
            let (replaced, m) = interrupt(&mut tuner, m);
            let mut tuner = replaced.unwrap_or(tuner);
            let mut after = Vec::new();
            let m = steps(&mut tuner, m, 5, &mut after);
            (after, values(&m))
        };
        let uninterrupted = run(&|_, m| (None, m));
        let restored = run(&|tuner, m| {
            // f64 parameters: a recorder of f64 precision (Burn's "full" precision is f32).
            let recorder = BinBytesRecorder::<DoublePrecisionSettings>::default();
            let bytes = Recorder::<F>::record(&recorder, tuner.to_record(), ()).unwrap();
            let record = Recorder::<F>::load(&recorder, bytes, &Default::default()).unwrap();
            // The restored run must not depend on the random state.
            <F as Backend>::seed(&Default::default(), 99);
            let mut fresh = config.init::<F, _>(base.clone());
            fresh.load_record(record).unwrap();
            assert_eq!(fresh.steps(), tuner.steps());
            (Some(fresh), m)
        });
        let after_rejection = run(&|tuner, m| {
            // Finite loss and gradient at m, infinite second derivative: (w₁ − c)^1.5 at c.
            let c = values(&m)[0];
            let bad = move |x: &Vector<H>| {
                let w1 = x.w.val().narrow(0, 0, 1).sub_scalar(c);
                loss(x) + w1.powf_scalar(1.5).sum()
            };
            let nan = |x: &Vector<H>| loss(x).mul_scalar(f64::NAN);
            let mut bad_losses: Vec<&dyn Fn(&Vector<H>) -> Tensor<H, 1>> = vec![&nan];
            if C::USES_CURVATURE {
                bad_losses.push(&bad);
            }
            let mut m = m;
            for bad_loss in bad_losses {
                let before = values(&m);
                let (next, report) = tuner.step(m, bad_loss);
                assert!(report.is_err(), "{}: not rejected: {report:?}", C::NAME);
                assert_eq!(values(&next), before, "{}: a rejected step moved", C::NAME);
                m = next;
            }
            (None, m)
        });
        Run {
            uninterrupted,
            restored,
            after_rejection,
        }
    }
}

/// The registry's tuners with the hyperparameters of the test (defaults, small learning rates).
fn registry() -> Vec<TunerConfig> {
    TUNER_NAMES
        .iter()
        .map(|name| {
            let mut t: TunerConfig = name.parse().unwrap();
            if let Some(h) = t.horizon_mut() {
                *h = 12;
            }
            t
        })
        .collect()
}

#[test]
fn every_tuner_over_every_base_restores_and_rolls_back_bit_for_bit() {
    let mut cells = 0;
    for tuner in registry() {
        for_each_base(|base, run| {
            let r = run(&tuner, 3);
            let what = format!("{}/{base}", tuner.name());
            assert_eq!(r.uninterrupted.0.len(), 5, "{what}");
            assert_eq!(r.restored, r.uninterrupted, "{what}: restored run differs");
            assert_eq!(
                r.after_rejection, r.uninterrupted,
                "{what}: rejection left a trace"
            );
            cells += 1;
        });
    }
    assert_eq!(cells, TUNER_NAMES.len() * 6);
}

fn param_vec(values: &[f64]) -> ParamVec<F> {
    let m = vector(values);
    cdat_core::curvature::parameters(&m)
}

fn to_vec(v: &ParamVec<F>) -> Vec<f64> {
    v.entries()
        .iter()
        .flat_map(|(_, t)| t.clone().into_data().to_vec::<f64>().unwrap())
        .collect()
}

fn direction<O: BaseOptimizerConfig<F>>(config: &O, w: &[f64], g: &[f64]) -> Vec<f64> {
    let mut base = config.init_base();
    let (w, g) = (param_vec(w), param_vec(g));
    let g = ParamVec::from_entries(
        w.entries()
            .iter()
            .zip(g.entries())
            .map(|((id, _), (_, t))| (*id, t.clone()))
            .collect(),
    );
    to_vec(&base.propose(&w, &g))
}

#[test]
fn adamw_weight_decay_set_on_burns_config_reaches_the_direction() {
    let (w, g) = ([1.0, -2.0, 0.5], [0.3, 0.1, -0.7]);
    let plain = direction(&AdamWConfig::new().with_weight_decay(0.0), &w, &g);
    let decayed = direction(&AdamWConfig::new().with_weight_decay(0.1), &w, &g);
    let lambda = 0.1f32 as f64;
    for i in 0..3 {
        // Decoupled decay: u = −m̂/(√v̂ + ε) − λ·w.
        let diff = decayed[i] - plain[i];
        assert!(
            (diff + lambda * w[i]).abs() < 1e-12,
            "{i}: {diff} vs {}",
            -lambda * w[i]
        );
    }
}

#[test]
fn gradient_clipping_set_on_burns_config_reaches_the_direction() {
    let (w, g) = ([1.0, -2.0, 0.5], [2.0, -0.25, -4.0]);
    let clip = Some(GradientClippingConfig::Value(0.5));
    // u = −clamp(g, ±0.5); (w − g) − w is exact for these values.
    let expected = vec![-0.5, 0.25, 0.5];
    let sgd = SgdConfig::new().with_gradient_clipping(clip.clone());
    assert_eq!(direction(&sgd, &w, &g), expected);
    let gd = GradientDescentConfig::new().with_gradient_clipping(clip.clone());
    assert_eq!(direction(&gd, &w, &g), expected);
    assert_eq!(
        direction(&SgdConfig::new(), &w, &g),
        vec![-2.0, 0.25, 4.0],
        "no clipping unless set"
    );
    // By norm: every adaptive config's clipping is read; one coordinate per parameter here, so
    // the norm clip scales the whole gradient by 1/‖g‖: Adam's first direction is scale-free,
    // so compare the clipped gradient Burn's own rule gives.
    let norm = Some(GradientClippingConfig::Norm(1.0));
    let g_norm = (4.0f64 + 0.0625 + 16.0).sqrt();
    for (name, clipping) in [
        (
            "adam",
            clipping::configured(
                &AdamConfig::new().with_grad_clipping(norm.clone()),
                "grad_clipping",
            ),
        ),
        (
            "adamw",
            clipping::configured(
                &AdamWConfig::new().with_grad_clipping(norm.clone()),
                "grad_clipping",
            ),
        ),
        (
            "rmsprop",
            clipping::configured(
                &RmsPropConfig::new().with_grad_clipping(norm.clone()),
                "grad_clipping",
            ),
        ),
        (
            "adagrad",
            clipping::configured(
                &AdaGradConfig::new().with_grad_clipping(norm.clone()),
                "grad_clipping",
            ),
        ),
    ] {
        let clipped = to_vec(&clipping::clip(&param_vec(&g), clipping.as_ref()));
        for (c, gi) in clipped.iter().zip(g) {
            assert!(
                (c - gi / g_norm).abs() < 1e-6,
                "{name}: {c} vs {}",
                gi / g_norm
            );
        }
    }
    // RmsProp's direction at step 1 is −g/(√((1−α)g²) + ε): linear in g's scale only through
    // ε, so clipping by value changes it where |g| > c.
    let rms = RmsPropConfig::new().with_epsilon(1e-8);
    let clipped = rms.clone().with_grad_clipping(clip);
    assert_ne!(direction(&rms, &w, &g), direction(&clipped, &w, &g));
}
