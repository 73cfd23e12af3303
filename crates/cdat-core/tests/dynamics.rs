//! The simplified model of learning-rate/sharpness dynamics (`cdat_core::dynamics`): single
//! steps against hand-computed values, the closed forms of the fixed-`y` tuner, and the long-run
//! behaviour the paper reports for its Figs. 4 and 9 (claim C6), with thresholds measured on this
//! implementation (numbers in each test's comment).

use cdat_core::dynamics::{
    self, cdat, cdat_measure, constant_lr, fixed_y, paper, tail_mean, CdatInit, CdatModel,
    Coupling, Options, Outcome, Sharpening, State,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[track_caller]
fn assert_close(a: f64, b: f64, tol: f64) {
    assert!(close(a, b, tol), "{a} vs {b} (tol {tol})");
}

fn seq() -> Options {
    Options::default()
}

#[test]
fn one_step_matches_hand_computation() {
    let sh = Sharpening { a: 0.03, b: 0.3 };
    let s = State {
        lambda: 1.5,
        x: 0.2,
    };
    // x' = (1 − 1·1.5)·0.2 = −0.1.
    // Sequential: λ' = 1.5 + 1·(0.03 − 0.3·0.01) = 1.527.
    let n = dynamics::step(sh, Coupling::Sequential, s, 1.0);
    assert_close(n.x, -0.1, 1e-15);
    assert_close(n.lambda, 1.527, 1e-15);
    // Simultaneous: λ' = 1.5 + 1·(0.03 − 0.3·0.04) = 1.518.
    let n = dynamics::step(sh, Coupling::Simultaneous, s, 1.0);
    assert_close(n.x, -0.1, 1e-15);
    assert_close(n.lambda, 1.518, 1e-15);
    // η = 0.5: x' = (1 − 0.75)·0.2 = 0.05, λ' = 1.5 + 0.5·(0.03 − 0.3·0.0025) = 1.514625.
    let n = dynamics::step(sh, Coupling::Sequential, s, 0.5);
    assert_close(n.x, 0.05, 1e-15);
    assert_close(n.lambda, 1.514625, 1e-15);
}

#[test]
fn records_hold_the_state_and_the_rate_of_each_step() {
    let sh = Sharpening { a: 0.03, b: 0.3 };
    let init = State {
        lambda: 1.5,
        x: 0.2,
    };
    let tr = constant_lr(sh, 1.0, init, 3, seq());
    assert_eq!(tr.outcome, Outcome::Completed);
    assert_eq!(tr.records.len(), 4);
    for (i, r) in tr.records.iter().enumerate() {
        assert_eq!(r.t, i);
        assert_eq!(r.eta, 1.0);
        assert_close(r.y, r.eta * r.lambda - 2.0, 1e-15);
    }
    assert_eq!((tr.records[0].lambda, tr.records[0].x), (1.5, 0.2));
    assert_close(tr.records[1].lambda, 1.527, 1e-15);
    assert_close(tr.records[1].x, -0.1, 1e-15);
    // Step 2 by hand: x'' = (1 − 1.527)·(−0.1) = 0.0527; λ'' = 1.527 + 0.03 − 0.3·0.0527².
    assert_close(tr.records[2].x, 0.0527, 1e-14);
    assert_close(
        tr.records[2].lambda,
        1.527 + 0.03 - 0.3 * 0.0527 * 0.0527,
        1e-14,
    );
}

#[test]
fn fixed_y_tuner_closed_forms() {
    let (sh, y, init) = (
        paper::FIXED_Y_SHARPENING,
        paper::FIXED_Y,
        paper::FIXED_Y_INIT,
    );
    let steps = 2_000;
    let tr = fixed_y(sh, y, init, steps, seq());
    assert_eq!(tr.outcome, Outcome::Completed);
    let r = &tr.records;
    assert_close(r[0].eta, 1.0, 1e-15); // η_0 = (2 − 0.1)/1.9 = 1 (paper: η_0 = 1).
    for w in r.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        // y is pinned: η_t λ_t = 2 + y.
        assert_close(a.y, y, 1e-12);
        // x_{t+1} = −(1 + y) x_t exactly (up to rounding).
        assert!(
            (b.x + (1.0 + y) * a.x).abs() <= 1e-15 * a.x.abs(),
            "t = {}: x' = {}, −(1+y)x = {}",
            a.t,
            b.x,
            -(1.0 + y) * a.x
        );
        // λ increases by η_t (a − b x_{t+1}²).
        assert_close(
            b.lambda - a.lambda,
            a.eta * (sh.a - sh.b * b.x * b.x),
            1e-12,
        );
        // η = (2 + y)/λ.
        assert_close(b.eta, (2.0 + y) / b.lambda, 1e-15);
    }
    // |x| decays geometrically: |x_t| = 0.9^t |x_0|.
    assert_close(r[100].x.abs(), 0.9f64.powi(100), 1e-12);
    // λ grows, η falls: λ_T² / T → 2(2 + y) a = 3.8 (measured 3.80118 at T = 2,000;
    // λ_T = 87.19, η_T = 0.02179).
    let last = tr.last().unwrap();
    assert_close(
        last.lambda * last.lambda / steps as f64,
        2.0 * (2.0 + y) * sh.a,
        2e-3,
    );
    assert!(last.lambda > 80.0 && last.eta < 0.025, "{last:?}");
    assert!(r.windows(2).skip(10).all(|w| w[1].lambda > w[0].lambda));
}

#[test]
fn fixed_y_pins_any_y_in_the_stable_range() {
    // y ∈ (−2, 0): |1 + y| < 1 so x → 0 and the sharpness only grows (a > 0).
    for y in [-1.5, -0.5, -0.01] {
        let init = State {
            lambda: 2.0 + y,
            x: 0.5,
        };
        let tr = fixed_y(Sharpening { a: 0.1, b: 0.2 }, y, init, 3_000, seq());
        assert_eq!(tr.outcome, Outcome::Completed);
        let last = tr.last().unwrap();
        let expected = 0.5 * (1.0 + y).abs().powi(200);
        assert!(
            (tr.records[200].x.abs() / expected - 1.0).abs() < 1e-12,
            "y = {y}"
        );
        assert!(last.lambda > 10.0, "y = {y}: λ = {}", last.lambda);
        assert_close(last.y, y, 1e-12);
    }
}

/// Fig. 4, constant η (a = 0.03, b = 0.3, η = 1, start λ_0 = 1.8, x_0 = 0.3). Measured over
/// 20,000 steps: λ stays in [1.7966, 2.2181] (η λ in the same range around 2), the mean of y over
/// the last 10 % is 0.0096 (0.0138 at 5,000 steps), the mean of x² over the run is 0.09997 ≈ a/b,
/// |x| stays in [0.0959, 0.620].
#[test]
fn constant_lr_hovers_at_the_edge_of_stability() {
    let tr = constant_lr(
        paper::CONSTANT_SHARPENING,
        paper::CONSTANT_ETA,
        paper::CONSTANT_INIT,
        20_000,
        seq(),
    );
    assert_eq!(tr.outcome, Outcome::Completed);
    let r = &tr.records;
    // Progressive sharpening first: λ rises above its start.
    assert!(r[..20].iter().any(|s| s.lambda > 1.9));
    // Then it hovers around 2/η.
    for s in r {
        assert!(
            (1.75..2.25).contains(&s.lambda),
            "t = {}: λ = {}",
            s.t,
            s.lambda
        );
        assert!((0.05..0.7).contains(&s.x.abs()), "t = {}: x = {}", s.t, s.x);
    }
    let ys: Vec<f64> = r.iter().map(|s| s.y).collect();
    let mean_y = tail_mean(&ys, 0.1).unwrap();
    assert!(mean_y.abs() < 0.03, "mean y over the last 10 %: {mean_y}");
    // Self-stabilization balances sharpening on average: mean of b x² → a.
    let mean_x2 = r.iter().map(|s| s.x * s.x).sum::<f64>() / r.len() as f64;
    let target = paper::CONSTANT_SHARPENING.a / paper::CONSTANT_SHARPENING.b;
    assert_close(mean_x2, target, 2e-3);
}

/// The literal simultaneous map (Damian et al.'s stylized form) spirals out with the same
/// parameters: measured divergence (|x| > 1e6) at step 247 from (1.8, 0.3), and at steps 55,
/// 83, 191 from (1.5, 0.01), (1.9, 0.1), (2.0, 0.3). It is reported, not a panic, and every
/// record kept is finite.
#[test]
fn simultaneous_coupling_diverges_and_is_reported() {
    let opts = Options {
        coupling: Coupling::Simultaneous,
        ..Options::default()
    };
    for (lambda, x) in [(1.8, 0.3), (1.5, 0.01), (1.9, 0.1), (2.0, 0.3)] {
        let tr = constant_lr(
            paper::CONSTANT_SHARPENING,
            1.0,
            State { lambda, x },
            5_000,
            opts,
        );
        let Outcome::Diverged { step, reason } = &tr.outcome else {
            panic!("({lambda}, {x}) did not diverge");
        };
        assert!(*step < 1_000, "({lambda}, {x}): step {step}");
        assert!(
            reason.contains("exceeds") || reason.contains("finite"),
            "{reason}"
        );
        assert_eq!(tr.records.len(), *step);
        assert!(tr
            .records
            .iter()
            .all(|r| r.lambda.is_finite() && r.x.is_finite() && r.x.abs() <= 1e6));
    }
}

#[test]
fn divergence_is_reported_never_a_panic() {
    let sh = Sharpening { a: 0.03, b: 0.3 };
    // A small bound: y = 1 doubles |x| each step (λ barely moves), |x| passes 1 at step 4.
    let tr = constant_lr(
        sh,
        1.0,
        State {
            lambda: 3.0,
            x: 0.1,
        },
        100,
        Options {
            max_abs: 1.0,
            ..Options::default()
        },
    );
    assert!(tr.diverged());
    assert!(matches!(tr.outcome, Outcome::Diverged { step, .. } if step == 4));
    // Non-finite starts and rules that cannot be evaluated stop at step 0.
    let tr = constant_lr(
        sh,
        1.0,
        State {
            lambda: f64::NAN,
            x: 0.1,
        },
        10,
        seq(),
    );
    assert!(matches!(tr.outcome, Outcome::Diverged { step: 0, .. }));
    assert!(tr.records.is_empty());
    let tr = fixed_y(
        sh,
        -0.1,
        State {
            lambda: 0.0,
            x: 0.1,
        },
        10,
        seq(),
    );
    assert!(matches!(&tr.outcome, Outcome::Diverged { step: 0, reason } if reason.contains("λ")));
    // A sharpness pushed below 0 by a huge x stops the fixed-y tuner at that step.
    let tr = fixed_y(
        Sharpening { a: 0.0, b: 10.0 },
        -0.5,
        State {
            lambda: 1.0,
            x: 3.0,
        },
        10,
        seq(),
    );
    let Outcome::Diverged { step, reason } = &tr.outcome else {
        panic!("expected divergence")
    };
    assert_eq!(*step, 1);
    assert!(reason.contains("≤ 0"), "{reason}");
    assert_eq!(tr.records.len(), 1);
    // CDAT with σ = 2.5 leaves the model (measured: λ ≤ 0 at step 1,860 with β = 0.9).
    let tr = cdat(paper::cdat_model(2.5), paper::CDAT_INIT, 5_000, seq());
    assert!(tr.diverged(), "{:?}", tr.outcome);
    assert!(tr
        .records
        .iter()
        .all(|r| r.lambda > 0.0 && r.eta.is_finite() && r.y.is_finite()));
}

#[test]
fn cdat_first_steps_match_hand_computation() {
    // Fig. 9 start: λ_0 = 18, η_0 = 0.05, p_0 = g_0 = 4 (x_0 = z_0 = 2), a = 0.05, b = 0.1,
    // ν = 0.1, σ = 2, β = 0.9.
    let model = paper::cdat_model(2.0);
    let tr = cdat(model, paper::CDAT_INIT, 2, seq());
    let r = &tr.records;
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0].eta, r[0].lambda, r[0].x, r[0].z),
        (0.05, 18.0, 2.0, 2.0)
    );
    assert_close(r[0].y, -1.1, 1e-15);
    // Step 0 with η_0 = 0.05: x_1 = (1 − 0.9)·2 = 0.2, z_1 = (1 − 0.005)·2 = 1.99,
    // λ_1 = 18 + 0.05·(0.05 − 0.1·0.04) = 18.0023.
    assert_close(r[1].x, 0.2, 1e-14);
    assert_close(r[1].z, 1.99, 1e-15);
    assert_close(r[1].lambda, 18.0023, 1e-15);
    assert_close(r[1].p, 0.04, 1e-14);
    assert_close(r[1].g, 1.99 * 1.99, 1e-15);
    // The EMAs start at 0, so η_1 = σ n_1/d_1 exactly:
    // n_1 = λ_1² p_1 + ν² g_1, d_1 = λ_1³ p_1 + ν³ g_1.
    let l: f64 = 18.0023;
    let (n1, d1) = (
        l * l * 0.04 + 0.01 * 3.9601,
        l * l * l * 0.04 + 0.001 * 3.9601,
    );
    let (m1, e1) = cdat_measure(l, 0.1, 0.2, 1.99);
    assert_close(m1, n1, 1e-14);
    assert_close(e1, d1, 1e-14);
    assert_close(r[1].eta, 2.0 * n1 / d1, 1e-13);
    assert_close(r[1].eta, 0.111_434_409_07, 1e-10);
    // Step 1: EMAs ñ_2 = 0.9·0.1·n_1 + 0.1·n_2, likewise d̃_2 (from the recorded state).
    let (l, x1, z1) = (r[1].lambda, r[1].x, r[1].z);
    let (n1, d1) = cdat_measure(l, 0.1, x1, z1);
    let (x2, z2) = ((1.0 - r[1].eta * l) * x1, (1.0 - r[1].eta * 0.1) * z1);
    let l2 = l + r[1].eta * (0.05 - 0.1 * x2 * x2);
    let (n2, d2) = cdat_measure(l2, 0.1, x2, z2);
    let (nb, db) = (0.09 * n1 + 0.1 * n2, 0.09 * d1 + 0.1 * d2);
    assert_close(r[2].x, x2, 1e-14);
    assert_close(r[2].lambda, l2, 1e-15);
    assert_close(r[2].eta, 2.0 * nb / db, 1e-14);
}

/// Fig. 9 parameters, σ = 2, β = 0.9. Measured: η rises from 0.05 to a peak of 0.11143 and
/// settles at 0.10420 (a warm-up); |y| ≤ 0.00715 for t ≥ 1; λ ∈ [18, 19.1939] and constant
/// (to 1e-9) after ~1,000 steps; p → a/b = 0.5; the mean of y over the last 10 % is ~1e-12.
#[test]
fn cdat_on_edge_holds_y_at_zero_and_the_sharpness_stable() {
    let tr = cdat(paper::cdat_model(2.0), paper::CDAT_INIT, 5_000, seq());
    assert_eq!(tr.outcome, Outcome::Completed);
    let r = &tr.records;
    assert!(r[1].eta > 2.0 * r[0].eta, "warm-up: η_1 = {}", r[1].eta);
    for s in &r[1..] {
        assert!(s.y.abs() < 0.01, "t = {}: y = {}", s.t, s.y);
        assert!(
            (17.9..19.5).contains(&s.lambda),
            "t = {}: λ = {}",
            s.t,
            s.lambda
        );
    }
    let last = tr.last().unwrap();
    assert!(
        (last.lambda - r[2_000].lambda).abs() < 1e-6,
        "λ still moving"
    );
    assert_close(last.p, 0.5, 1e-3);
    let ys: Vec<f64> = r.iter().map(|s| s.y).collect();
    assert!(tail_mean(&ys, 0.1).unwrap().abs() < 1e-4);
}

/// Fig. 9 parameters, σ = 1.9, β = 0.9. Measured: y settles at small negative values (mean over
/// the last 10 %: −0.00768 at 2,000 steps, −0.00568 at 5,000), x → 0, and λ keeps growing:
/// 26.868 at 2,000 steps, 36.332 at 5,000 (σ = 2: 19.194 at both); η falls to 0.0549.
#[test]
fn cdat_below_edge_lets_the_sharpness_drift() {
    let below = cdat(paper::cdat_model(1.9), paper::CDAT_INIT, 5_000, seq());
    let edge = cdat(paper::cdat_model(2.0), paper::CDAT_INIT, 5_000, seq());
    assert_eq!(below.outcome, Outcome::Completed);
    let r = &below.records;
    let ys: Vec<f64> = r.iter().map(|s| s.y).collect();
    let mean_y = tail_mean(&ys, 0.1).unwrap();
    assert!(
        (-0.02..-0.002).contains(&mean_y),
        "mean y over the last 10 %: {mean_y}"
    );
    assert!(r[2_000].lambda > 25.0 && r[5_000].lambda > 34.0);
    assert!(r[5_000].lambda > r[2_000].lambda + 5.0, "no drift");
    assert!(r[5_000].lambda > edge.records[5_000].lambda + 10.0);
    assert!(r[5_000].eta < 0.06 && r[5_000].x.abs() < 1e-6);
}

#[test]
fn cdat_without_a_second_direction_is_sigma_over_lambda() {
    // g = 0: n/d = 1/λ, so η_t = σ/λ_t and y ≡ σ − 2 from step 1 on (β = 0).
    let model = CdatModel {
        sharpening: Sharpening { a: 0.05, b: 0.1 },
        nu: 0.1,
        sigma: 1.5,
        beta: 0.0,
    };
    let init = CdatInit {
        lambda: 4.0,
        eta: 0.1,
        p: 1.0,
        g: 0.0,
    };
    let tr = cdat(model, init, 50, seq());
    assert_eq!(tr.outcome, Outcome::Completed);
    for s in &tr.records[1..] {
        assert_close(s.eta, 1.5 / s.lambda, 1e-14);
        assert_close(s.y, -0.5, 1e-13);
    }
}

#[test]
fn tail_mean_takes_the_last_fraction() {
    let v: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(tail_mean(&v, 0.1), Some(10.0));
    assert_eq!(tail_mean(&v, 0.3), Some(9.0));
    assert_eq!(tail_mean(&v, 0.0), Some(10.0));
    assert_eq!(tail_mean(&v, 2.0), Some(5.5));
    assert_eq!(tail_mean(&[], 0.1), None);
}
