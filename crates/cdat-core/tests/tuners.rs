//! Tuners: exact values on problems with closed forms, failure modes, Burn equivalence of the
//! base directions, record round trips, configs. f64 NdArray throughout.

use std::str::FromStr;

use burn::backend::Autodiff;
use burn::module::{Module, ModuleMapper, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, Optimizer, RmsPropConfig, SgdConfig};
use burn::tensor::activation::tanh;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use cdat_core::curvature::parameters;
use cdat_core::tuners::{
    BaseConfig, BaseDirection, BoxedTuner, Cdat, CdatConfig, ConfigError, CosineConfig, DynBase,
    Greedy, GreedyConfig, Hypergradient, HypergradientConfig, LinearDecayConfig, Linesearch,
    LinesearchConfig, Polyak, PolyakConfig, RuleConfig, SharpnessConfig, StateError, StepError,
    StepReport, Tuned, Tuner, TunerConfig, WarmupConstantConfig,
};
use cdat_core::ParamVec;

mod common {
    pub mod vector;
}
use common::vector::{consts, lift, values, vector, Vector, F, H};

// ---------------------------------------------------------------- helpers

/// `f(w) = ½ Σ λᵢ wᵢ²`.
fn diag_quadratic(lambdas: &[f64]) -> impl Fn(&Vector<H>) -> Tensor<H, 1> {
    let l = consts(lambdas);
    move |m: &Vector<H>| {
        let w = m.w.val();
        (l.clone() * w.clone() * w).sum().mul_scalar(0.5)
    }
}

fn build(tuner: TunerConfig, base: BaseConfig) -> BoxedTuner<F, Vector<H>> {
    tuner.build::<F, Vector<H>>(base).expect("valid config")
}

fn step_ok(
    tuner: &mut dyn Tuner<F, Vector<H>>,
    model: Vector<H>,
    loss: &dyn Fn(&Vector<H>) -> Tensor<H, 1>,
) -> (Vector<H>, StepReport) {
    let (m, r) = tuner.step(model, loss);
    (m, r.expect("step accepted"))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(close(a, b, tol), "{what}: {a} vs {b} (tol {tol:e})");
}

/// A base direction that goes uphill: `u = +g`.
struct Ascent(Option<(ParamVec<F>, ParamVec<F>)>);

impl BaseDirection<F> for Ascent {
    type Record = ();

    fn name(&self) -> &'static str {
        "ascent"
    }
    fn propose(&mut self, w: &ParamVec<F>, g: &ParamVec<F>) -> ParamVec<F> {
        self.0 = Some((w.clone(), g.clone()));
        g.clone()
    }
    fn accept(&mut self, eta: f64) -> ParamVec<F> {
        let (w, g) = self.0.take().unwrap();
        w.axpy(eta, &g)
    }
    fn reject(&mut self) {
        self.0 = None;
    }
    fn to_record(&self) {}
    fn load_record(&mut self, _: ()) -> Result<(), StateError> {
        Ok(())
    }
}

fn gd() -> DynBase<F> {
    BaseConfig::Gd.build::<F>().unwrap()
}

// ---------------------------------------------------------------- exact values

#[test]
fn greedy_on_scalar_quadratic_is_one_over_lambda() {
    let lambda = 3.0;
    let loss = diag_quadratic(&[lambda]);
    let mut t = build(TunerConfig::Greedy(GreedyConfig::default()), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[2.0]), &loss);
    assert_close(r.lr, 1.0 / lambda, 1e-14, "greedy η");
    assert!(
        values(&m)[0].abs() < 1e-14,
        "one-step minimum: w = {}",
        values(&m)[0]
    );
    // f = ½λw² = 6, g = λw = 6, u = −6: gᵀu = −36, uᵀHu = 108.
    assert_close(r.loss, 6.0, 1e-15, "loss");
    assert_close(r.slope, -36.0, 1e-15, "slope");
    assert_close(r.curvature.unwrap(), 108.0, 1e-14, "curvature");
    assert_eq!((r.grad_evals, r.hvp_evals, r.loss_evals), (1, 1, 0));
}

#[test]
fn cdat_sigma_two_on_scalar_quadratic_flips_the_sign() {
    let lambda = 3.0;
    let loss = diag_quadratic(&[lambda]);
    let mut t = build(TunerConfig::Cdat(CdatConfig::default()), BaseConfig::Gd);
    let mut m = vector(&[2.0]);
    for k in 0..3 {
        let (next, r) = step_ok(t.as_mut(), m, &loss);
        m = next;
        assert_close(r.lr, 2.0 / lambda, 1e-14, "CDAT η");
        let expected = if k % 2 == 0 { -2.0 } else { 2.0 };
        assert_close(
            values(&m)[0],
            expected,
            1e-14,
            "w flips sign, |w| unchanged",
        );
    }
}

#[test]
fn greedy_step_is_the_exact_line_minimum_in_2d() {
    // f(w) = ½ wᵀAw − bᵀw, A = [[3, 1], [1, 2]].
    let a = lift(Tensor::<F, 2>::from_data(
        TensorData::from([[3.0, 1.0], [1.0, 2.0]]),
        &Default::default(),
    ));
    let b = consts(&[1.0, -1.0]);
    let loss = move |m: &Vector<H>| {
        let w = m.w.val();
        let aw = a
            .clone()
            .matmul(w.clone().unsqueeze_dim(1))
            .squeeze_dim::<1>(1);
        (w.clone() * aw).sum().mul_scalar(0.5) - (b.clone() * w).sum()
    };
    let w0 = [0.7, -1.3];
    let mut t = build(TunerConfig::Greedy(GreedyConfig::default()), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&w0), &loss);
    // g = Aw − b, u = −g; the line minimum is η* = gᵀg / gᵀAg.
    let g = [3.0 * w0[0] + w0[1] - 1.0, w0[0] + 2.0 * w0[1] + 1.0];
    let ag = [3.0 * g[0] + g[1], g[0] + 2.0 * g[1]];
    let eta_star = (g[0] * g[0] + g[1] * g[1]) / (g[0] * ag[0] + g[1] * ag[1]);
    assert_close(r.lr, eta_star, 1e-14, "greedy η = line minimum");
    let w1 = values(&m);
    assert_close(w1[0], w0[0] - eta_star * g[0], 1e-14, "w1[0]");
    assert_close(w1[1], w0[1] - eta_star * g[1], 1e-14, "w1[1]");
    // The new gradient is orthogonal to the direction (the line-minimum condition).
    let g1 = [3.0 * w1[0] + w1[1] - 1.0, w1[0] + 2.0 * w1[1] + 1.0];
    assert!((g1[0] * g[0] + g1[1] * g[1]).abs() < 1e-13);
}

#[test]
fn armijo_returns_the_largest_grid_point_satisfying_the_condition() {
    let lambdas = [1.0, 4.0, 25.0];
    let loss = diag_quadratic(&lambdas);
    let w0 = [1.0, -0.5, 0.3];
    let f = |w: &[f64]| 0.5 * w.iter().zip(&lambdas).map(|(w, l)| l * w * w).sum::<f64>();
    let cfg = LinesearchConfig::default();
    let mut t = build(TunerConfig::Linesearch(cfg.clone()), BaseConfig::Gd);
    let mut w = w0.to_vec();
    let mut model = vector(&w0);
    let mut prev: Option<f64> = None;
    for _ in 0..4 {
        let g: Vec<f64> = w.iter().zip(&lambdas).map(|(w, l)| l * w).collect();
        let slope: f64 = -g.iter().map(|g| g * g).sum::<f64>();
        let eta0 = prev.map_or(cfg.max_lr, |p| (cfg.c_plus * p).min(cfg.max_lr));
        let armijo = |eta: f64| {
            let moved: Vec<f64> = w.iter().zip(&g).map(|(w, g)| w - eta * g).collect();
            f(&moved) <= f(&w) + cfg.c * eta * slope
        };
        let k = (0..=cfg.max_backtracks)
            .find(|&k| armijo(eta0 * cfg.c_minus.powi(k as i32)))
            .unwrap();
        let expected = eta0 * cfg.c_minus.powi(k as i32);
        let (m, r) = step_ok(t.as_mut(), model, &loss);
        model = m;
        assert_close(r.lr, expected, 1e-12, "Armijo η");
        assert_eq!(r.loss_evals, k + 1, "one loss evaluation per candidate");
        assert!(
            k == 0 || !armijo(r.lr / cfg.c_minus),
            "the previous grid point fails"
        );
        w = w.iter().zip(&g).map(|(w, g)| w - r.lr * g).collect();
        prev = Some(r.lr);
        for (a, b) in values(&model).iter().zip(&w) {
            assert_close(*a, *b, 1e-12, "w");
        }
    }
}

#[test]
fn polyak_matches_its_closed_form() {
    let lambdas = [2.0, 5.0];
    let loss = diag_quadratic(&lambdas);
    let w0 = [0.4, -0.9];
    let f0 = 0.5 * (2.0 * 0.16 + 5.0 * 0.81);
    let g2 = (2.0f64 * 0.4).powi(2) + (5.0f64 * 0.9).powi(2);
    let mut t = build(
        TunerConfig::Polyak(PolyakConfig {
            f_min: 0.0,
            max_lr: 1.0,
        }),
        BaseConfig::Gd,
    );
    let (_, r) = step_ok(t.as_mut(), vector(&w0), &loss);
    assert_close(r.lr, f0 / g2, 1e-14, "Polyak η");
    // With f* = 0.1 and the cap below the ratio.
    let mut t = build(
        TunerConfig::Polyak(PolyakConfig {
            f_min: 0.1,
            max_lr: 1.0,
        }),
        BaseConfig::Gd,
    );
    let (_, r) = step_ok(t.as_mut(), vector(&w0), &loss);
    assert_close(r.lr, (f0 - 0.1) / g2, 1e-14, "Polyak η with f*");
    let mut t = build(
        TunerConfig::Polyak(PolyakConfig {
            f_min: 0.0,
            max_lr: 0.01,
        }),
        BaseConfig::Gd,
    );
    let (_, r) = step_ok(t.as_mut(), vector(&w0), &loss);
    assert_eq!(r.lr, 0.01, "capped at η_max");
}

#[test]
fn cdat_ema_matches_a_hand_computation_over_three_steps() {
    // f = ½ Σ λᵢ wᵢ², GD: g = Λw, u = −Λw, n = ‖Λw‖², d = wᵀΛ³w (+ ε).
    let lambdas = [1.0, 3.0];
    let (sigma, beta, eps) = (1.7, 0.6, 0.05);
    let loss = diag_quadratic(&lambdas);
    let cfg = CdatConfig {
        sigma,
        beta,
        epsilon: eps,
        max_lr: None,
        ..Default::default()
    };
    let mut t = build(TunerConfig::Cdat(cfg), BaseConfig::Gd);
    let mut w = vec![1.0, -2.0];
    let mut model = vector(&w);
    let (mut num, mut den) = (0.0, 0.0);
    for step in 0..3 {
        let g: Vec<f64> = w.iter().zip(&lambdas).map(|(w, l)| l * w).collect();
        let n: f64 = g.iter().map(|g| g * g).sum();
        let d: f64 = g.iter().zip(&lambdas).map(|(g, l)| l * g * g).sum::<f64>() + eps;
        num = beta * num + (1.0 - beta) * n;
        den = beta * den + (1.0 - beta) * d;
        let eta = sigma * num / den;
        let (m, r) = step_ok(t.as_mut(), model, &loss);
        model = m;
        assert_close(r.lr, eta, 1e-13, &format!("η at step {step}"));
        w = w.iter().zip(&g).map(|(w, g)| w - eta * g).collect();
        for (a, b) in values(&model).iter().zip(&w) {
            assert_close(*a, *b, 1e-13, "w");
        }
    }
}

#[test]
fn schedules_follow_their_closed_forms() {
    let (peak_lr, warmup_fraction, horizon) = (0.5, 0.2, 100);
    let warm = RuleConfig::rule::<F>(&WarmupConstantConfig {
        peak_lr,
        warmup_fraction,
        horizon,
    });
    let lin = RuleConfig::rule::<F>(&LinearDecayConfig {
        peak_lr,
        warmup_fraction,
        horizon,
    });
    let cos = RuleConfig::rule::<F>(&CosineConfig {
        peak_lr,
        warmup_fraction,
        horizon,
    });
    for s in [&warm, &lin, &cos] {
        assert_eq!(s.lr_at(0), 0.0);
        assert_close(s.lr_at(10), 0.25, 1e-15, "half-way through the warm-up");
        assert_close(s.lr_at(20), 0.5, 1e-15, "peak at the end of the warm-up");
    }
    assert_eq!(warm.lr_at(1000), 0.5);
    assert_close(lin.lr_at(60), 0.25, 1e-15, "linear decay midpoint");
    assert_close(cos.lr_at(60), 0.25, 1e-15, "cosine decay midpoint");
    assert_close(
        cos.lr_at(40),
        0.5 * 0.5 * (1.0 + (std::f64::consts::PI / 4.0).cos()),
        1e-15,
        "cosine",
    );
    assert_eq!(lin.lr_at(100), 0.0);
    assert!(cos.lr_at(100).abs() < 1e-16);
    assert_eq!(lin.lr_at(150), 0.0);
    // Through the tuner: the step counter drives it.
    let loss = diag_quadratic(&[1.0]);
    let cfg = CosineConfig {
        peak_lr: 0.5,
        warmup_fraction: 0.5,
        horizon: 4,
    };
    let mut t = build(TunerConfig::Cosine(cfg), BaseConfig::Gd);
    let mut m = vector(&[1.0]);
    let mut lrs = Vec::new();
    for _ in 0..5 {
        let (next, r) = step_ok(t.as_mut(), m, &loss);
        m = next;
        lrs.push(r.lr);
    }
    let expected = [0.0, 0.25, 0.5, 0.25, 0.0];
    for (a, b) in lrs.iter().zip(expected) {
        assert_close(*a, b, 1e-15, "cosine schedule through the tuner");
    }
}

#[test]
fn hypergradient_grows_when_directions_agree_and_shrinks_after_overshoot() {
    let lambda = 2.0;
    let loss = diag_quadratic(&[lambda]);
    let beta = 0.1;
    // Small η: w keeps its sign, g_t ∥ −u_{t−1}: cos = −1, η ← η (1 + β).
    let mut t = build(
        TunerConfig::Hypergradient(HypergradientConfig {
            initial_lr: 0.1,
            beta,
        }),
        BaseConfig::Gd,
    );
    let mut m = vector(&[1.0]);
    let mut expected = 0.1;
    for _ in 0..3 {
        let (next, r) = step_ok(t.as_mut(), m, &loss);
        m = next;
        assert_close(r.lr, expected, 1e-14, "growing η");
        expected *= 1.0 + beta;
    }
    // η > 1/λ overshoots: w changes sign, cos = +1, η ← η (1 − β).
    let mut t = build(
        TunerConfig::Hypergradient(HypergradientConfig {
            initial_lr: 0.9,
            beta,
        }),
        BaseConfig::Gd,
    );
    let mut m = vector(&[1.0]);
    let mut expected = 0.9;
    for _ in 0..3 {
        let (next, r) = step_ok(t.as_mut(), m, &loss);
        m = next;
        assert_close(r.lr, expected, 1e-14, "shrinking η");
        expected *= 1.0 - beta;
    }
    // A 2-D case with a cosine strictly between: compare with the formula.
    let lambdas = [1.0, 10.0];
    let loss = diag_quadratic(&lambdas);
    let mut t = build(
        TunerConfig::Hypergradient(HypergradientConfig {
            initial_lr: 0.05,
            beta: 0.3,
        }),
        BaseConfig::Gd,
    );
    let w0 = [1.0, 1.0];
    let (m, _) = step_ok(t.as_mut(), vector(&w0), &loss);
    let u0: [f64; 2] = [-1.0, -10.0];
    let w1: [f64; 2] = [1.0 - 0.05, 1.0 - 0.5];
    let g1 = [w1[0], 10.0 * w1[1]];
    let cos = (g1[0] * u0[0] + g1[1] * u0[1]) / (g1[0].hypot(g1[1]) * u0[0].hypot(u0[1]));
    let (_, r) = step_ok(t.as_mut(), m, &loss);
    assert_close(r.lr, 0.05 * (1.0 - 0.3 * cos), 1e-14, "η₁ = η₀ (1 − β cos)");
}

#[test]
fn sharpness_rule_is_sigma_over_lambda_max() {
    let lambdas = [0.5, 2.0, 8.0];
    let loss = diag_quadratic(&lambdas);
    <F as Backend>::seed(&Default::default(), 7);
    let cfg = SharpnessConfig {
        sigma: 1.5,
        max_iters: 200,
        rel_tol: 1e-12,
        max_lr: None,
    };
    let mut t = build(TunerConfig::Sharpness(cfg), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[1.0, 1.0, 1.0]), &loss);
    assert_close(r.sharpness.unwrap(), 8.0, 1e-9, "λmax");
    assert_close(r.lr, 1.5 / 8.0, 1e-9, "η = σ/λmax");
    assert!(r.hvp_evals >= 2);
    // Warm start: the next measurement converges at once.
    let (_, r2) = step_ok(t.as_mut(), m, &loss);
    assert!(
        r2.hvp_evals <= 3,
        "warm-started power iteration took {} HVPs",
        r2.hvp_evals
    );
}

/// `f(w) = ½ c w² + k w⁴` at `w = 1` with `c + 12k = 0.01`: nearly flat curvature, steep
/// quartic walls. GD: `u = −f′(1) = 7.99`, `gᵀu = −63.8401`, `uᵀHu = 0.638401`; CDAT σ = 2
/// takes `η = 200` and lands at `w ≈ 1599` (`f ≈ 6.5e12`).
fn quartic() -> (impl Fn(&Vector<H>) -> Tensor<H, 1>, impl Fn(f64) -> f64) {
    let (c, k) = (-11.99, 1.0);
    let loss = move |m: &Vector<H>| {
        let w = m.w.val();
        let w2 = w.clone() * w;
        (w2.clone().mul_scalar(0.5 * c) + (w2.clone() * w2).mul_scalar(k)).sum()
    };
    let exact = move |w: f64| 0.5 * c * w * w + k * w.powi(4);
    (loss, exact)
}

#[test]
fn cdat_safeguard_halves_a_step_the_loss_does_not_support_and_says_so() {
    let (loss, f) = quartic();
    let (g, u) = (-7.99, 7.99);
    let (slope, curvature) = (g * u, 0.01 * u * u);
    let eta0 = 2.0 * -slope / curvature;
    assert_close(eta0, 200.0, 1e-12, "the plain rule's η");

    // The paper's plain rule takes it.
    let mut plain = build(TunerConfig::Cdat(CdatConfig::plain()), BaseConfig::Gd);
    let (m, r) = step_ok(plain.as_mut(), vector(&[1.0]), &loss);
    assert_close(r.lr, eta0, 1e-12, "plain η");
    assert_eq!(r.loss_evals, 0);
    assert!(r.note.is_none());
    assert!(f(values(&m)[0]) > 1e12, "the plain step blows the loss up");

    // The safeguard: the largest η0/2^h with f(1 + ηu) ≤ f(1) + η gᵀu + ½η² uᵀHu + η|gᵀu|.
    let f0 = f(1.0);
    let ok = |e: f64| {
        f(1.0 + e * u)
            <= f0 + e * slope + 0.5 * e * e * curvature + e * slope.abs() + 1e-6 * f0.abs()
    };
    let halvings: usize = (0..30usize)
        .find(|&h| ok(eta0 / 2f64.powi(h as i32)))
        .unwrap();
    assert!(
        halvings >= 5,
        "the example needs several halvings ({halvings})"
    );
    let expected = eta0 / 2f64.powi(halvings as i32);
    let mut t = build(TunerConfig::Cdat(CdatConfig::default()), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[1.0]), &loss);
    assert_close(r.lr, expected, 1e-12, "safeguarded η");
    assert_eq!(
        r.loss_evals,
        halvings + 1,
        "one loss evaluation per candidate"
    );
    let note = r.note.as_deref().unwrap();
    assert!(
        note.contains("safeguard") && note.contains(&format!("({halvings} halvings)")),
        "{note}"
    );
    let w1 = values(&m)[0];
    assert_close(w1, 1.0 + expected * u, 1e-12, "w");
    assert!(
        f(w1) < f0 + expected * slope.abs(),
        "no blow-up: f = {}",
        f(w1)
    );
}

#[test]
fn cdat_safeguard_checks_the_first_step_and_jumps_only() {
    // On a quadratic the model is exact: every check passes and η is the paper's. With σ = 1
    // on λ = (1, 100) from (1, 1), η alternates 0.0100, 0.990, 0.0100, ...: a ×99 leap every
    // other step.
    let run = |cfg: CdatConfig, lambdas: &[f64], steps: usize| {
        let loss = diag_quadratic(lambdas);
        let mut t = build(TunerConfig::Cdat(cfg.clone()), BaseConfig::Gd);
        let mut plain = build(
            TunerConfig::Cdat(CdatConfig {
                safeguard: false,
                ..cfg
            }),
            BaseConfig::Gd,
        );
        let (mut m, mut mp) = (vector(&[1.0, 1.0]), vector(&[1.0, 1.0]));
        let (mut evals, mut lrs) = (Vec::new(), Vec::new());
        for _ in 0..steps {
            let (next, r) = step_ok(t.as_mut(), m, &loss);
            let (next_p, rp) = step_ok(plain.as_mut(), mp, &loss);
            assert_eq!(
                r.lr, rp.lr,
                "the safeguard does not change steps on a quadratic"
            );
            assert_eq!(rp.loss_evals, 0);
            assert!(r.note.is_none(), "{:?}", r.note);
            evals.push(r.loss_evals);
            lrs.push(r.lr);
            (m, mp) = (next, next_p);
        }
        (evals, lrs)
    };
    let greedy_like = CdatConfig {
        sigma: 1.0,
        ..Default::default()
    };
    let (evals, lrs) = run(greedy_like, &[1.0, 100.0], 6);
    assert_close(lrs[1] / lrs[0], 99.0, 1e-3, "the leap");
    assert_eq!(
        evals,
        vec![1, 1, 0, 1, 0, 1],
        "checked: the first step and the leaps"
    );
    // σ = 1.5: η creeps up by ≤ 11% per step: only the first step is checked, unless the
    // growth factor is (almost) 1.
    let creeping = CdatConfig {
        sigma: 1.5,
        ..Default::default()
    };
    let (evals, _) = run(creeping.clone(), &[1.0, 100.0], 8);
    assert_eq!(evals, vec![1, 0, 0, 0, 0, 0, 0, 0]);
    let strict = CdatConfig {
        safeguard_growth: 1.0 + 1e-9,
        ..creeping
    };
    let (evals, _) = run(strict, &[1.0, 100.0], 8);
    assert!(
        evals[0] == 1 && evals[1..].iter().sum::<usize>() >= 3,
        "{evals:?}"
    );
}

#[test]
fn sharpness_rule_uses_the_largest_eigenvalue_not_the_largest_magnitude() {
    // Indefinite: the most negative eigenvalue (−8) has the largest magnitude; λmax = 3.
    let lambdas = [-8.0, 3.0, 0.5];
    let loss = diag_quadratic(&lambdas);
    <F as Backend>::seed(&Default::default(), 7);
    let cfg = SharpnessConfig {
        sigma: 1.5,
        max_iters: 20,
        rel_tol: 1e-10,
        max_lr: None,
    };
    let mut t = build(TunerConfig::Sharpness(cfg), BaseConfig::Gd);
    let (_, r) = step_ok(t.as_mut(), vector(&[1.0, 1.0, 1.0]), &loss);
    assert_close(r.sharpness.unwrap(), 3.0, 1e-9, "λmax");
    assert_close(r.lr, 1.5 / 3.0, 1e-9, "η = σ/λmax");
    assert!(r.note.is_none(), "{:?}", r.note);
    // Negative definite: λmax = −0.5 < 0, |λmax| used and said so.
    let loss = diag_quadratic(&[-8.0, -0.5]);
    let mut t = build(
        TunerConfig::Sharpness(SharpnessConfig::default()),
        BaseConfig::Gd,
    );
    let (_, r) = step_ok(t.as_mut(), vector(&[1.0, 1.0]), &loss);
    assert_close(r.sharpness.unwrap(), -0.5, 1e-9, "λmax");
    assert_close(r.lr, 1.0 / 0.5, 1e-9, "η = σ/|λmax|");
    assert!(r.note.as_deref().unwrap().contains("no positive curvature"));
}

// ---------------------------------------------------------------- failure modes

#[test]
fn non_descent_direction_gives_zero_and_says_so() {
    let loss = diag_quadratic(&[1.0, 2.0]);
    let w0 = [0.5, -0.5];
    let mut cdat = Tuned::new(Ascent(None), Cdat::new(CdatConfig::default()));
    let (m, r) = step_ok(&mut cdat, vector(&w0), &loss);
    assert_eq!(r.lr, 0.0);
    assert!(r.slope > 0.0);
    assert!(
        r.note
            .as_deref()
            .unwrap()
            .contains("not a descent direction"),
        "{:?}",
        r.note
    );
    assert_eq!(values(&m), w0.to_vec(), "η = 0 leaves w");
    let mut greedy = Tuned::new(Ascent(None), Greedy::new(GreedyConfig::default()));
    let (_, r) = step_ok(&mut greedy, vector(&w0), &loss);
    assert_eq!(r.lr, 0.0);
    assert!(r
        .note
        .as_deref()
        .unwrap()
        .contains("not a descent direction"));
    let mut ls = Tuned::new(Ascent(None), Linesearch::new(LinesearchConfig::default()));
    let (m, r) = step_ok(&mut ls, vector(&w0), &loss);
    assert_eq!(r.lr, 0.0);
    assert_eq!(r.loss_evals, 0, "no search along an ascent direction");
    assert!(
        r.note
            .as_deref()
            .unwrap()
            .contains("not a descent direction"),
        "{:?}",
        r.note
    );
    assert_eq!(values(&m), w0.to_vec());
}

#[test]
fn negative_curvature_uses_its_absolute_value() {
    // f = −½ λ w² (concave): g = −λw, u = λw, gᵀu = −λ²w², uᵀHu = −λ³w².
    let lambda = 2.0;
    let l = consts(&[lambda]);
    let loss = move |m: &Vector<H>| {
        let w = m.w.val();
        (l.clone() * w.clone() * w).sum().mul_scalar(-0.5)
    };
    let mut t = build(TunerConfig::Cdat(CdatConfig::default()), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[1.5]), &loss);
    assert_close(
        r.curvature.unwrap(),
        -lambda.powi(3) * 2.25,
        1e-14,
        "uᵀHu < 0",
    );
    assert_close(r.lr, 2.0 / lambda, 1e-14, "η = σ |gᵀu| / |uᵀHu|");
    assert!(r.note.as_deref().unwrap().contains("negative curvature"));
    assert_close(
        values(&m)[0],
        1.5 * (1.0 + 2.0),
        1e-14,
        "w moves away from the maximum",
    );
    let mut t = build(TunerConfig::Greedy(GreedyConfig::default()), BaseConfig::Gd);
    let (_, r) = step_ok(t.as_mut(), vector(&[1.5]), &loss);
    assert_close(r.lr, 1.0 / lambda, 1e-14, "greedy with |uᵀHu|");
}

/// Runs one step that must be rejected; checks the error, the parameters and the tuner state.
fn assert_rejected(
    mut t: BoxedTuner<F, Vector<H>>,
    w0: &[f64],
    loss: &dyn Fn(&Vector<H>) -> Tensor<H, 1>,
    what: &str,
) {
    let before = t.save_state();
    let (m, r) = t.step(vector(w0), loss);
    match r {
        Err(StepError::NonFinite { what: w, .. }) => {
            assert!(w.contains(what), "rejected for `{w}`, expected `{what}`")
        }
        Ok(r) => panic!("step accepted: {r:?}"),
    }
    assert_eq!(values(&m), w0.to_vec(), "parameters unchanged");
    assert_eq!(t.save_state(), before, "tuner state unchanged");
    assert_eq!(t.steps(), 0);
}

#[test]
fn non_finite_loss_gradient_or_curvature_is_rejected_unchanged() {
    let nan_loss = |m: &Vector<H>| m.w.val().sum().mul_scalar(f64::NAN);
    let inf_loss = |m: &Vector<H>| m.w.val().sum().add_scalar(f64::INFINITY);
    // f = Σ √w at w = (1, 0): finite loss, infinite gradient.
    let inf_grad = |m: &Vector<H>| m.w.val().sqrt().sum();
    // f = ½ w₂² + w₁^1.5 + w₁ at w₁ = 0: finite loss and gradient, infinite uᵀHu.
    let inf_curv = |m: &Vector<H>| {
        let w = m.w.val();
        let w1 = w.clone().narrow(0, 0, 1);
        let w2 = w.narrow(0, 1, 1);
        (w2.clone() * w2).mul_scalar(0.5).sum() + w1.clone().powf_scalar(1.5).sum() + w1.sum()
    };
    let bases = [
        BaseConfig::Gd,
        BaseConfig::momentum(),
        BaseConfig::adam(),
        BaseConfig::adamw(),
        BaseConfig::rmsprop(),
    ];
    for base in bases {
        for name in ["constant", "linesearch", "cdat", "polyak", "hypergradient"] {
            let cfg = TunerConfig::from_str(name).unwrap();
            assert_rejected(
                build(cfg.clone(), base.clone()),
                &[1.0, 2.0],
                &nan_loss,
                "loss",
            );
            assert_rejected(
                build(cfg.clone(), base.clone()),
                &[1.0, 2.0],
                &inf_loss,
                "loss",
            );
            assert_rejected(build(cfg, base.clone()), &[1.0, 0.0], &inf_grad, "gradient");
        }
        for name in ["cdat", "greedy"] {
            let cfg = TunerConfig::from_str(name).unwrap();
            assert_rejected(
                build(cfg, base.clone()),
                &[0.0, 1.0],
                &inf_curv,
                "curvature",
            );
        }
        let sharp = TunerConfig::from_str("sharpness").unwrap();
        assert_rejected(
            build(sharp, base.clone()),
            &[0.0, 1.0],
            &inf_curv,
            "sharpness",
        );
    }
}

#[test]
fn a_rejected_step_leaves_the_next_steps_as_if_it_never_happened() {
    let loss = diag_quadratic(&[1.0, 3.0]);
    let nan_loss = |m: &Vector<H>| m.w.val().sum().mul_scalar(f64::NAN);
    let cfg = TunerConfig::Cdat(CdatConfig {
        beta: 0.5,
        ..Default::default()
    });
    let mut a = build(cfg.clone(), BaseConfig::adam());
    let mut b = build(cfg, BaseConfig::adam());
    let (mut ma, mut mb) = (vector(&[1.0, -1.0]), vector(&[1.0, -1.0]));
    for k in 0..4 {
        if k == 2 {
            let (m, r) = b.step(mb, &nan_loss);
            assert!(r.is_err());
            mb = m;
        }
        ma = step_ok(a.as_mut(), ma, &loss).0;
        mb = step_ok(b.as_mut(), mb, &loss).0;
        assert_eq!(values(&ma), values(&mb));
    }
}

#[test]
fn flat_function_takes_no_step() {
    let flat = |m: &Vector<H>| m.w.val().sum().mul_scalar(0.0).add_scalar(3.0);
    let w0 = [0.3, -0.2];
    for name in [
        "constant",
        "cosine",
        "linesearch",
        "greedy",
        "cdat",
        "polyak",
        "hypergradient",
        "sharpness",
    ] {
        for base in [
            BaseConfig::Gd,
            BaseConfig::momentum(),
            BaseConfig::adam(),
            BaseConfig::rmsprop(),
        ] {
            let mut t = build(TunerConfig::from_str(name).unwrap(), base.clone());
            let mut m = vector(&w0);
            for _ in 0..3 {
                let (next, r) = step_ok(t.as_mut(), m, &flat);
                m = next;
                assert_eq!(r.grad_norm, 0.0);
                assert_eq!(r.dir_norm, 0.0, "{name}/{}", base.name());
                match name {
                    "linesearch" | "greedy" | "cdat" => {
                        assert_eq!(r.lr, 0.0);
                        assert!(
                            r.note.as_deref().unwrap().contains("not a descent"),
                            "{name}: {:?}",
                            r.note
                        )
                    }
                    "polyak" => assert!(r.note.as_deref().unwrap().contains("zero gradient")),
                    "sharpness" => assert!(r.note.as_deref().unwrap().contains("zero curvature")),
                    _ => {}
                }
            }
            assert_eq!(
                values(&m),
                w0.to_vec(),
                "{name}/{}: a flat function moves nothing",
                base.name()
            );
        }
    }
}

#[test]
fn cdat_zero_curvature_guard_and_cap() {
    // f = aᵀw: linear, uᵀHu = 0 along every direction.
    let a = consts(&[1.0, -2.0]);
    let linear = move |m: &Vector<H>| (a.clone() * m.w.val()).sum();
    let mut t = build(TunerConfig::Cdat(CdatConfig::default()), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[0.0, 0.0]), &linear);
    assert_eq!(r.lr, 0.0);
    assert!(r.note.as_deref().unwrap().contains("zero curvature"));
    assert_eq!(values(&m), vec![0.0, 0.0]);
    let capped = CdatConfig {
        max_lr: Some(0.25),
        ..Default::default()
    };
    let mut t = build(TunerConfig::Cdat(capped), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[0.0, 0.0]), &linear);
    assert_eq!(r.lr, 0.25);
    assert_eq!(values(&m), vec![-0.25, 0.5]);
    // The cap also bounds a finite ratio: on f = ½ 0.01 w², η = 2/0.01 = 200 > 1.
    let capped = CdatConfig {
        max_lr: Some(1.0),
        ..Default::default()
    };
    let mut t = build(TunerConfig::Cdat(capped), BaseConfig::Gd);
    let (_, r) = step_ok(t.as_mut(), vector(&[1.0]), &diag_quadratic(&[0.01]));
    assert_eq!(r.lr, 1.0);
    assert!(r.note.as_deref().unwrap().contains("capped"));
}

#[test]
fn linesearch_cap_is_reported() {
    // λ = 1000: Armijo needs η < 2(1 − c)/λ ≈ 2e-3, far below 0.8³.
    let loss = diag_quadratic(&[1000.0]);
    let cfg = LinesearchConfig {
        max_backtracks: 3,
        ..Default::default()
    };
    let mut t = build(TunerConfig::Linesearch(cfg), BaseConfig::Gd);
    let (m, r) = step_ok(t.as_mut(), vector(&[1.0]), &loss);
    assert_close(r.lr, 0.8f64.powi(3), 1e-15, "smallest candidate taken");
    assert_eq!(r.loss_evals, 4);
    assert!(
        r.note.as_deref().unwrap().contains("cap reached"),
        "{:?}",
        r.note
    );
    assert_close(values(&m)[0], 1.0 - 0.512 * 1000.0, 1e-12, "w");
    // The default cap (30) suffices: 0.8^30 ≈ 1.2e-3 < 2e-3.
    let mut t = build(
        TunerConfig::Linesearch(LinesearchConfig::default()),
        BaseConfig::Gd,
    );
    let (_, r) = step_ok(t.as_mut(), vector(&[1.0]), &loss);
    assert!(r.note.is_none() && r.lr < 2e-3);
}

// ---------------------------------------------------------------- Burn equivalence

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    /// A new model with its parameters drawn now: Burn draws them lazily on first use, from the
    /// global RNG that tests running in parallel also draw from, so clones of a never-used model
    /// would get different values.
    fn new(device: &B::Device) -> Self {
        let model = Self {
            l1: LinearConfig::new(3, 8).init(device),
            l2: LinearConfig::new(8, 2).init(device),
        };
        cdat_core::params::ensure_initialized(&model);
        model
    }

    fn loss(&self, x: Tensor<B, 2>, y: Tensor<B, 2>) -> Tensor<B, 1> {
        let out = self.l2.forward(tanh(self.l1.forward(x)));
        (out - y).powi_scalar(2).mean()
    }
}

fn data<B: Backend>(seed: u64) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let x: Vec<f64> = (0..16 * 3).map(|_| next()).collect();
    let y: Vec<f64> = (0..16 * 2).map(|_| next()).collect();
    let d = Default::default();
    (
        Tensor::<B, 1>::from_data(TensorData::from(x.as_slice()), &d).reshape([16, 3]),
        Tensor::<B, 1>::from_data(TensorData::from(y.as_slice()), &d).reshape([16, 2]),
    )
}

/// Copies parameter values and ids into a module of another backend, by visiting order.
fn load_by_order<B: Backend, M: Module<B>>(module: M, values: &ParamVec<F>) -> M {
    struct Load<'a> {
        values: &'a ParamVec<F>,
        next: usize,
    }
    impl<B: Backend> ModuleMapper<B> for Load<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (_, t, mapper) = param.consume();
            let (id, src) = &self.values.entries()[self.next];
            self.next += 1;
            let new = Tensor::<B, 1>::from_data(src.to_data(), &t.device()).reshape(t.shape());
            let new = if t.is_require_grad() {
                new.require_grad()
            } else {
                new
            };
            Param::from_mapped_value(*id, new, mapper)
        }
    }
    module.map(&mut Load { values, next: 0 })
}

fn max_abs_diff(a: &ParamVec<F>, b: &ParamVec<F>) -> f64 {
    a.sub(b).entries().iter().fold(0.0f64, |m, (_, t)| {
        m.max(t.clone().abs().max().into_scalar())
    })
}

/// `steps` steps of Burn's own optimizer with learning rate `lr` against the constant tuner over
/// the corresponding base; returns the largest parameter difference.
fn burn_vs_tuner<O: Optimizer<Mlp<Autodiff<F>>, Autodiff<F>>>(
    mut optim: O,
    base: BaseConfig,
    lr: f64,
    steps: usize,
) -> f64 {
    type A = Autodiff<F>;
    let device = Default::default();
    <F as Backend>::seed(&device, 3);
    let mut reference = Mlp::<A>::new(&device);
    let init = ParamVec::<A>::from_module(&reference).map(|t| t.inner());
    let mut model = load_by_order(Mlp::<H>::new(&device), &init);
    let (xa, ya) = data::<A>(11);
    let (xh, yh) = data::<H>(11);
    let mut tuner = TunerConfig::Constant(cdat_core::tuners::ConstantConfig { lr })
        .build::<F, Mlp<H>>(base)
        .unwrap();
    for _ in 0..steps {
        let grads = reference.loss(xa.clone(), ya.clone()).backward();
        let grads = GradientsParams::from_grads(grads, &reference);
        reference = optim.step(lr, reference, grads);
        let (m, r) = tuner.step(model, &|m: &Mlp<H>| m.loss(xh.clone(), yh.clone()));
        r.unwrap();
        model = m;
    }
    let ours = parameters(&model);
    let theirs = ParamVec::<A>::from_module(&reference).map(|t| t.inner());
    max_abs_diff(&ours, &theirs)
}

#[test]
fn constant_tuner_reproduces_burns_own_optimizers_exactly() {
    let lr = 0.05;
    let steps = 6;
    let sgd = SgdConfig::new().init::<Autodiff<F>, Mlp<Autodiff<F>>>();
    assert_eq!(burn_vs_tuner(sgd, BaseConfig::Gd, lr, steps), 0.0, "gd");
    let momentum = MomentumConfig::new().with_momentum(0.9).with_dampening(0.0);
    let sgdm = SgdConfig::new().with_momentum(Some(momentum)).init();
    assert_eq!(
        burn_vs_tuner(sgdm, BaseConfig::momentum(), lr, steps),
        0.0,
        "momentum"
    );
    let nesterov = MomentumConfig::new()
        .with_momentum(0.8)
        .with_dampening(0.0)
        .with_nesterov(true);
    let sgdn = SgdConfig::new().with_momentum(Some(nesterov)).init();
    let base = BaseConfig::Momentum {
        momentum: 0.8,
        nesterov: true,
    };
    assert_eq!(burn_vs_tuner(sgdn, base, lr, steps), 0.0, "nesterov");
    let adam = AdamConfig::new().with_epsilon(1e-8).init();
    assert_eq!(
        burn_vs_tuner(adam, BaseConfig::adam(), lr, steps),
        0.0,
        "adam"
    );
    let adamw = AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(1e-5)
        .init();
    assert_eq!(
        burn_vs_tuner(adamw, BaseConfig::adamw(), lr, steps),
        0.0,
        "adamw"
    );
    let rms = RmsPropConfig::new()
        .with_alpha(0.9)
        .with_epsilon(1e-8)
        .with_momentum(0.0)
        .init();
    assert_eq!(
        burn_vs_tuner(rms, BaseConfig::rmsprop(), lr, steps),
        0.0,
        "rmsprop"
    );
    let rms = RmsPropConfig::new()
        .with_alpha(0.95)
        .with_epsilon(1e-6)
        .with_momentum(0.5)
        .with_centered(true)
        .init();
    let base = BaseConfig::RmsProp {
        alpha: 0.95,
        epsilon: 1e-6,
        momentum: 0.5,
        centered: true,
    };
    assert_eq!(
        burn_vs_tuner(rms, base, lr, steps),
        0.0,
        "rmsprop centered with momentum"
    );
}

#[test]
fn base_direction_is_the_step_at_unit_learning_rate() {
    // u = step(1) − w agrees with step(η) = w + η u to rounding, for every base.
    let device = Default::default();
    <F as Backend>::seed(&device, 5);
    let w = ParamVec::<F>::from_module(&Mlp::<F>::new(&device));
    let g = w.random_normal_like();
    for base in [
        BaseConfig::Gd,
        BaseConfig::momentum(),
        BaseConfig::adam(),
        BaseConfig::adamw(),
        BaseConfig::rmsprop(),
    ] {
        let mut b = base.build::<F>().unwrap();
        let mut w = w.clone();
        for _ in 0..3 {
            let u = b.propose(&w, &g);
            let stepped = b.accept(0.37);
            let diff = max_abs_diff(&stepped, &w.axpy(0.37, &u));
            assert!(
                diff <= 1e-15,
                "{}: step(η) − (w + ηu) = {diff:e}",
                base.name()
            );
            w = stepped;
        }
        let u = b.propose(&w, &g);
        if base == BaseConfig::Gd {
            assert_eq!(max_abs_diff(&u, &g.scale(-1.0)), 0.0, "gd: u = −g exactly");
        }
    }
}

// ---------------------------------------------------------------- records

/// Every registry tuner, in registry order, with non-default hyperparameters.
fn all_configs() -> Vec<TunerConfig> {
    let configs = vec![
        TunerConfig::Constant(cdat_core::tuners::ConstantConfig { lr: 0.05 }),
        TunerConfig::WarmupConstant(WarmupConstantConfig {
            peak_lr: 0.05,
            warmup_fraction: 0.3,
            horizon: 10,
        }),
        TunerConfig::LinearDecay(LinearDecayConfig {
            peak_lr: 0.05,
            warmup_fraction: 0.3,
            horizon: 10,
        }),
        TunerConfig::Cosine(CosineConfig {
            peak_lr: 0.05,
            warmup_fraction: 0.3,
            horizon: 10,
        }),
        TunerConfig::Linesearch(LinesearchConfig::default()),
        TunerConfig::Greedy(GreedyConfig { max_lr: Some(1.0) }),
        TunerConfig::Cdat(CdatConfig {
            sigma: 1.8,
            beta: 0.7,
            epsilon: 1e-6,
            max_lr: Some(1.0),
            safeguard: true,
            safeguard_growth: 1.5,
        }),
        TunerConfig::Polyak(PolyakConfig::default()),
        TunerConfig::Hypergradient(HypergradientConfig {
            initial_lr: 0.05,
            beta: 0.05,
        }),
        TunerConfig::Sharpness(SharpnessConfig {
            max_iters: 5,
            ..Default::default()
        }),
    ];
    let names: Vec<&str> = configs.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        cdat_core::tuners::TUNER_NAMES,
        "one config per registry tuner"
    );
    configs
}

#[test]
fn toml_configs_take_defaults_keep_inf_and_name_unknown_fields() {
    let t: TunerConfig = toml::from_str("name = \"linesearch\"\nc_plus = inf").unwrap();
    assert_eq!(
        t,
        TunerConfig::Linesearch(LinesearchConfig {
            c_plus: f64::INFINITY,
            ..Default::default()
        })
    );
    let text = toml::to_string(&t).unwrap();
    assert!(text.starts_with("name = \"linesearch\""), "{text}");
    assert_eq!(toml::from_str::<TunerConfig>(&text).unwrap(), t);
    let err = toml::from_str::<TunerConfig>("name = \"cdat\"\nsigmaa = 1.0")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown field `sigmaa`") && err.contains("`sigma`"),
        "{err}"
    );
    let err = toml::from_str::<TunerConfig>("name = \"cdat\"\nsigma = \"two\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cdat") && err.contains("invalid type"),
        "{err}"
    );
    let err = toml::from_str::<TunerConfig>("name = \"cdatt\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown tuner `cdatt`"), "{err}");
    // An unset option (JSON null) is `None`; TOML omits it.
    let greedy: TunerConfig = serde_json::from_str(r#"{"name":"greedy","max_lr":null}"#).unwrap();
    assert_eq!(greedy, TunerConfig::Greedy(GreedyConfig::default()));
    assert_eq!(toml::to_string(&greedy).unwrap(), "name = \"greedy\"\n");
}

fn run_mlp(
    tuner: &mut dyn Tuner<F, Mlp<H>>,
    mut model: Mlp<H>,
    steps: usize,
    out: &mut Vec<StepReport>,
) -> Mlp<H> {
    let (x, y) = data::<H>(21);
    for _ in 0..steps {
        let (m, r) = tuner.step(model, &|m: &Mlp<H>| m.loss(x.clone(), y.clone()));
        out.push(r.unwrap());
        model = m;
    }
    model
}

#[test]
fn record_round_trip_gives_identical_next_steps() {
    let device = Default::default();
    for cfg in all_configs() {
        for base in [
            BaseConfig::Gd,
            BaseConfig::momentum(),
            BaseConfig::adam(),
            BaseConfig::adamw(),
            BaseConfig::rmsprop(),
        ] {
            let what = format!("{}/{}", cfg.name(), base.name());
            <F as Backend>::seed(&device, 1);
            let init = Mlp::<H>::new(&device);
            // Uninterrupted.
            <F as Backend>::seed(&device, 2);
            let mut a = cfg.clone().build::<F, Mlp<H>>(base.clone()).unwrap();
            let mut ra = Vec::new();
            let ma = run_mlp(a.as_mut(), init.clone(), 10, &mut ra);
            // Interrupted after 5 steps, restored into a fresh tuner.
            <F as Backend>::seed(&device, 2);
            let mut b = cfg.clone().build::<F, Mlp<H>>(base.clone()).unwrap();
            let mut rb = Vec::new();
            let mb = run_mlp(b.as_mut(), init.clone(), 5, &mut rb);
            let bytes = b.save_state();
            drop(b);
            <F as Backend>::seed(&device, 99); // the restored run must not depend on the RNG
            let mut c = cfg.clone().build::<F, Mlp<H>>(base.clone()).unwrap();
            c.load_state(&bytes)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(c.steps(), 5);
            let mc = run_mlp(c.as_mut(), mb, 5, &mut rb);
            assert_eq!(ra, rb, "{what}: reports differ");
            assert_eq!(
                max_abs_diff(&parameters(&ma), &parameters(&mc)),
                0.0,
                "{what}: parameters differ"
            );
            assert_eq!(c.save_state().len(), a.save_state().len(), "{what}");
        }
    }
}

#[test]
fn loading_a_foreign_or_broken_state_fails_cleanly() {
    let device = Default::default();
    let mut cdat = TunerConfig::from_str("cdat")
        .unwrap()
        .build::<F, Mlp<H>>(BaseConfig::adam())
        .unwrap();
    let mut r = Vec::new();
    run_mlp(cdat.as_mut(), Mlp::<H>::new(&device), 2, &mut r);
    let bytes = cdat.save_state();
    let mut greedy = TunerConfig::from_str("greedy")
        .unwrap()
        .build::<F, Mlp<H>>(BaseConfig::adam())
        .unwrap();
    assert!(matches!(
        greedy.load_state(&bytes),
        Err(StateError::Mismatch { what: "tuner", .. })
    ));
    let mut cdat_gd = TunerConfig::from_str("cdat")
        .unwrap()
        .build::<F, Mlp<H>>(BaseConfig::Gd)
        .unwrap();
    assert!(matches!(
        cdat_gd.load_state(&bytes),
        Err(StateError::Mismatch {
            what: "base optimizer",
            ..
        })
    ));
    let mut fresh = TunerConfig::from_str("cdat")
        .unwrap()
        .build::<F, Mlp<H>>(BaseConfig::adam())
        .unwrap();
    let err = fresh.load_state(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, StateError::Decode(_)), "{err}");
    assert_eq!(fresh.steps(), 0, "a failed load leaves the tuner as it was");
    assert!(fresh.load_state(b"not a record").is_err());
}

// ---------------------------------------------------------------- configs

#[test]
fn configs_parse_by_name_and_round_trip_through_serde() {
    for name in cdat_core::tuners::TUNER_NAMES {
        let cfg = TunerConfig::from_str(name).unwrap();
        assert_eq!(cfg.name(), *name);
        cfg.validate().unwrap();
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains(&format!("\"name\":\"{name}\"")), "{json}");
        assert_eq!(serde_json::from_str::<TunerConfig>(&json).unwrap(), cfg);
    }
    for cfg in all_configs() {
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<TunerConfig>(&json).unwrap(), cfg);
    }
    for name in cdat_core::tuners::base::BASE_NAMES {
        let cfg = BaseConfig::from_str(name).unwrap();
        assert_eq!(cfg.name(), *name);
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<BaseConfig>(&json).unwrap(), cfg);
    }
    // Omitted fields take their defaults.
    let cfg: TunerConfig = serde_json::from_str(r#"{"name": "cdat", "sigma": 1.5}"#).unwrap();
    assert_eq!(
        cfg,
        TunerConfig::Cdat(CdatConfig {
            sigma: 1.5,
            ..Default::default()
        })
    );
    let base: BaseConfig = serde_json::from_str(r#"{"name": "adam", "beta2": 0.99}"#).unwrap();
    assert_eq!(
        base,
        BaseConfig::Adam {
            beta1: 0.9,
            beta2: 0.99,
            epsilon: 1e-8
        }
    );
    assert_eq!(BaseConfig::from_str("sgd").unwrap(), BaseConfig::Gd);
    // Unknown fields are errors.
    assert!(serde_json::from_str::<TunerConfig>(r#"{"name": "cdat", "sigmaa": 1.5}"#).is_err());
    assert!(serde_json::from_str::<BaseConfig>(r#"{"name": "adam", "beta3": 0.5}"#).is_err());
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let err = TunerConfig::from_str("cdta").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cdta")
            && msg.contains("cdat")
            && msg.contains("linesearch")
            && msg.contains("warmup-constant"),
        "{msg}"
    );
    let msg = BaseConfig::from_str("adagrad").unwrap_err().to_string();
    assert!(
        msg.contains("adagrad") && msg.contains("adamw") && msg.contains("rmsprop"),
        "{msg}"
    );
}

#[test]
fn invalid_hyperparameters_name_the_field() {
    let cases: Vec<(TunerConfig, &str)> = vec![
        (
            TunerConfig::Cdat(CdatConfig {
                sigma: 0.0,
                ..Default::default()
            }),
            "cdat.sigma",
        ),
        (
            TunerConfig::Cdat(CdatConfig {
                sigma: -2.0,
                ..Default::default()
            }),
            "cdat.sigma",
        ),
        (
            TunerConfig::Cdat(CdatConfig {
                beta: 1.0,
                ..Default::default()
            }),
            "cdat.beta",
        ),
        (
            TunerConfig::Cdat(CdatConfig {
                beta: -0.1,
                ..Default::default()
            }),
            "cdat.beta",
        ),
        (
            TunerConfig::Cdat(CdatConfig {
                epsilon: -1e-3,
                ..Default::default()
            }),
            "cdat.epsilon",
        ),
        (
            TunerConfig::Cdat(CdatConfig {
                max_lr: Some(0.0),
                ..Default::default()
            }),
            "cdat.max_lr",
        ),
        (
            TunerConfig::Cdat(CdatConfig {
                safeguard_growth: 1.0,
                ..Default::default()
            }),
            "cdat.safeguard_growth",
        ),
        (
            TunerConfig::Constant(cdat_core::tuners::ConstantConfig { lr: -0.1 }),
            "constant.lr",
        ),
        (
            TunerConfig::Constant(cdat_core::tuners::ConstantConfig { lr: f64::NAN }),
            "constant.lr",
        ),
        (
            TunerConfig::Cosine(CosineConfig {
                peak_lr: -1.0,
                ..Default::default()
            }),
            "cosine.peak_lr",
        ),
        (
            TunerConfig::LinearDecay(LinearDecayConfig {
                warmup_fraction: 1.5,
                ..Default::default()
            }),
            "linear-decay.warmup_fraction",
        ),
        (
            TunerConfig::WarmupConstant(WarmupConstantConfig {
                horizon: 0,
                ..Default::default()
            }),
            "warmup-constant.horizon",
        ),
        (
            TunerConfig::Linesearch(LinesearchConfig {
                c_minus: 1.0,
                ..Default::default()
            }),
            "linesearch.c_minus",
        ),
        (
            TunerConfig::Linesearch(LinesearchConfig {
                c_plus: 0.5,
                ..Default::default()
            }),
            "linesearch.c_plus",
        ),
        (
            TunerConfig::Linesearch(LinesearchConfig {
                c: 0.0,
                ..Default::default()
            }),
            "linesearch.c",
        ),
        (
            TunerConfig::Linesearch(LinesearchConfig {
                max_lr: -1.0,
                ..Default::default()
            }),
            "linesearch.max_lr",
        ),
        (
            TunerConfig::Polyak(PolyakConfig {
                max_lr: 0.0,
                ..Default::default()
            }),
            "polyak.max_lr",
        ),
        (
            TunerConfig::Polyak(PolyakConfig {
                f_min: f64::NEG_INFINITY,
                ..Default::default()
            }),
            "polyak.f_min",
        ),
        (
            TunerConfig::Hypergradient(HypergradientConfig {
                beta: 1.0,
                ..Default::default()
            }),
            "hypergradient.beta",
        ),
        (
            TunerConfig::Hypergradient(HypergradientConfig {
                initial_lr: -1.0,
                ..Default::default()
            }),
            "hypergradient.initial_lr",
        ),
        (
            TunerConfig::Sharpness(SharpnessConfig {
                sigma: 0.0,
                ..Default::default()
            }),
            "sharpness.sigma",
        ),
        (
            TunerConfig::Sharpness(SharpnessConfig {
                max_iters: 0,
                ..Default::default()
            }),
            "sharpness.max_iters",
        ),
    ];
    for (cfg, field) in cases {
        let err = cfg
            .clone()
            .build::<F, Vector<H>>(BaseConfig::Gd)
            .err()
            .unwrap_or_else(|| panic!("{cfg:?} accepted"));
        assert_eq!(err.field(), Some(field), "{cfg:?}: {err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    let c_plus_inf = LinesearchConfig {
        c_plus: f64::INFINITY,
        ..Default::default()
    };
    TunerConfig::Linesearch(c_plus_inf).validate().unwrap();
    let bad_bases = [
        (
            BaseConfig::Momentum {
                momentum: 1.0,
                nesterov: false,
            },
            "momentum.momentum",
        ),
        (
            BaseConfig::Adam {
                beta1: 1.2,
                beta2: 0.999,
                epsilon: 1e-8,
            },
            "adam.beta1",
        ),
        (
            BaseConfig::Adam {
                beta1: 0.9,
                beta2: -0.1,
                epsilon: 1e-8,
            },
            "adam.beta2",
        ),
        (
            BaseConfig::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
                weight_decay: -1.0,
            },
            "adamw.weight_decay",
        ),
        (
            BaseConfig::RmsProp {
                alpha: 1.0,
                epsilon: 1e-8,
                momentum: 0.0,
                centered: false,
            },
            "rmsprop.alpha",
        ),
    ];
    for (base, field) in bad_bases {
        let err: ConfigError = TunerConfig::default()
            .build::<F, Vector<H>>(base)
            .err()
            .unwrap();
        assert_eq!(err.field(), Some(field), "{err}");
    }
}

#[test]
fn linesearch_with_infinite_growth_restarts_at_max_lr() {
    let loss = diag_quadratic(&[1.0, 30.0]);
    let cfg = LinesearchConfig {
        c_plus: f64::INFINITY,
        max_lr: 0.5,
        ..Default::default()
    };
    let mut t = build(TunerConfig::Linesearch(cfg), BaseConfig::Gd);
    let mut m = vector(&[1.0, 1.0]);
    for _ in 0..3 {
        let (next, r) = step_ok(t.as_mut(), m, &loss);
        m = next;
        // Each search starts at η_max = 0.5: the first candidate is always evaluated at 0.5.
        let k = (r.lr / 0.5).ln() / 0.8f64.ln();
        assert!(
            (k - k.round()).abs() < 1e-9 && r.loss_evals == k.round() as usize + 1,
            "η = {}",
            r.lr
        );
    }
    // Hints: the tuner exposes the last η.
    assert!(t.lr_hint().is_some());
    assert_eq!(t.name(), "linesearch");
    assert_eq!(t.base_name(), "gd");
}

#[test]
fn polyak_and_hypergradient_are_usable_directly() {
    // The rules are public and compose with any base direction.
    let loss = diag_quadratic(&[1.0]);
    let mut t = Tuned::new(gd(), Polyak::new(PolyakConfig::default()));
    let (_, r) = step_ok(&mut t, vector(&[2.0]), &loss);
    assert_close(r.lr, 0.5, 1e-15, "f/‖g‖² = ½w²/w² on λ = 1");
    let mut t = Tuned::new(
        gd(),
        Hypergradient::<F>::new(HypergradientConfig::default()),
    );
    let (_, r) = step_ok(&mut t, vector(&[2.0]), &loss);
    assert_eq!(r.lr, HypergradientConfig::default().initial_lr);
}
