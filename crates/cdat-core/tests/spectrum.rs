//! Sharpness, Lanczos and preconditioned sharpness on quadratics with a known spectrum.

mod common;

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use cdat_core::curvature::HvpBackend;
use cdat_core::spectrum::{
    extreme_eigenpair, jacobi_eigen, jacobi_eigenvalues, lanczos, power_iteration,
    preconditioned_sharpness, sharpness, symmetric_tridiagonal_eigenvalues, PowerIterationConfig,
};
use cdat_core::{hvp, Dual, ParamVec};
use common::{dev, rand_data, F};

type H = HvpBackend<F>;

#[derive(Module, Debug)]
struct Vector<B: Backend> {
    w: Param<Tensor<B, 1>>,
}

/// A random orthogonal matrix (Gram–Schmidt on a seeded random matrix), rows as vectors.
fn orthogonal(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let raw = rand_data(&[n, n], -1.0, 1.0, seed).to_vec::<f64>().unwrap();
    let mut q: Vec<Vec<f64>> = Vec::new();
    for i in 0..n {
        let mut v: Vec<f64> = raw[i * n..(i + 1) * n].to_vec();
        for _ in 0..2 {
            for u in &q {
                let c: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(x, y)| *x -= c * y);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        q.push(v.into_iter().map(|x| x / norm).collect());
    }
    q
}

/// A = Qᵀ diag(λ) Q.
fn with_spectrum(lambda: &[f64], seed: u64) -> Vec<Vec<f64>> {
    let n = lambda.len();
    let q = orthogonal(n, seed);
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| (0..n).map(|k| q[k][i] * lambda[k] * q[k][j]).sum())
                .collect()
        })
        .collect()
}

fn to_tensor(a: &[Vec<f64>]) -> Tensor<F, 2> {
    let n = a.len();
    Tensor::from_data(TensorData::new(a.concat(), [n, n]), &dev())
}

fn quadratic(a: &[Vec<f64>]) -> (Vector<H>, impl Fn(&Vector<H>) -> Tensor<H, 1>) {
    let n = a.len();
    let ah: Tensor<H, 2> = Tensor::from_inner(Dual::constant(to_tensor(a)));
    let w0: Tensor<F, 1> = Tensor::from_data(rand_data(&[n], -1.0, 1.0, 99), &dev());
    let model = Vector {
        w: Param::from_tensor(Tensor::from_inner(Dual::constant(w0))),
    };
    let loss = move |m: &Vector<H>| {
        let w = m.w.val();
        let aw = ah
            .clone()
            .matmul(w.clone().unsqueeze_dim(1))
            .squeeze_dim::<1>(1);
        (w * aw).sum().mul_scalar(0.5)
    };
    (model, loss)
}

const SPECTRUM: [f64; 8] = [10.0, 6.0, 4.5, 3.0, 1.0, 0.5, -0.25, -2.0];

#[test]
fn power_iteration_finds_top_eigenvalue() {
    let a = with_spectrum(&SPECTRUM, 1);
    let (model, loss) = quadratic(&a);
    let tight = PowerIterationConfig {
        max_iters: 500,
        rel_tol: 1e-13,
    };
    let e = sharpness(&model, &loss, None, tight);
    assert!((e.value - 10.0).abs() < 1e-6, "λmax = {}", e.value);
    assert!(e.converged);
    // Warm start from the eigenvector converges at once.
    let again = sharpness(
        &model,
        &loss,
        Some(e.vector.clone()),
        PowerIterationConfig::default(),
    );
    assert!(
        again.iterations <= 2,
        "warm start took {} iterations",
        again.iterations
    );
    assert!((again.value - 10.0).abs() < 1e-6);
}

#[test]
fn default_tolerance_stops_early_within_tolerance() {
    let a = with_spectrum(&SPECTRUM, 2);
    let (model, loss) = quadratic(&a);
    let e = sharpness(
        &model,
        &loss,
        None,
        PowerIterationConfig {
            max_iters: 200,
            rel_tol: 1e-3,
        },
    );
    assert!(e.converged);
    assert!((e.value - 10.0).abs() / 10.0 < 2e-2, "λ = {}", e.value);
}

#[test]
fn lanczos_finds_top_k_eigenvalues() {
    let a = with_spectrum(&SPECTRUM, 3);
    let (model, loss) = quadratic(&a);
    let start = cdat_core::spectrum::random_direction(&model);
    let top = lanczos(|v| hvp(&model, &loss, v).hv, start, 3, 8);
    for (got, want) in top.iter().zip([10.0, 6.0, 4.5]) {
        assert!((got - want).abs() < 1e-6, "top-3 {top:?}");
    }
}

#[test]
fn preconditioned_sharpness_matches_direct_computation() {
    let a = with_spectrum(&SPECTRUM, 4);
    let n = a.len();
    let (model, loss) = quadratic(&a);
    let p: Vec<f64> = rand_data(&[n], 0.2, 3.0, 5).to_vec().unwrap();
    let id = model.w.id;
    let pv = ParamVec::from_entries(vec![(
        id,
        Tensor::<F, 1>::from_data(TensorData::new(p.clone(), [n]), &dev()),
    )]);
    let tight = PowerIterationConfig {
        max_iters: 2000,
        rel_tol: 1e-14,
    };
    let e = preconditioned_sharpness(&model, &loss, &pv, None, tight);
    // Direct: eigenvalues of D A D with D = diag(p^{-1/2}).
    let dad: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| a[i][j] / (p[i] * p[j]).sqrt()).collect())
        .collect();
    let eig = jacobi_eigenvalues(dad);
    let top = eig.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let bottom = eig.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(
        (e.value - top).abs() < 1e-6 * top.abs(),
        "{} vs {top} ({eig:?})",
        e.value
    );
    let min = e.min_value.expect("λmin estimate");
    assert!(
        (min - bottom).abs() < 1e-6 * bottom.abs(),
        "{min} vs {bottom}"
    );
}

#[test]
fn jacobi_and_tridiagonal_eigenvalues_are_exact_on_known_matrices() {
    let a = with_spectrum(&SPECTRUM, 6);
    let mut eig = jacobi_eigenvalues(a);
    eig.sort_by(|x, y| y.partial_cmp(x).unwrap());
    for (got, want) in eig.iter().zip(SPECTRUM) {
        assert!((got - want).abs() < 1e-10);
    }
    // Tridiagonal [2,-1; -1,2; ...] of size 5 has eigenvalues 2 - 2cos(kπ/6).
    let mut t = symmetric_tridiagonal_eigenvalues(&[2.0; 5], &[-1.0; 4]);
    t.sort_by(|x, y| x.partial_cmp(y).unwrap());
    for (k, got) in t.iter().enumerate() {
        let want = 2.0 - 2.0 * ((k + 1) as f64 * std::f64::consts::PI / 6.0).cos();
        assert!((got - want).abs() < 1e-12);
    }
}

#[test]
fn power_iteration_on_explicit_operator() {
    // The operator need not be a Hessian: any symmetric map on ParamVecs.
    let a = to_tensor(&with_spectrum(&[3.0, 1.0, 0.5], 7));
    let id = burn::module::ParamId::new();
    let start = ParamVec::from_entries(vec![(
        id,
        Tensor::<F, 1>::from_data(TensorData::new(vec![1.0, 0.0, 0.0], [3]), &dev()),
    )]);
    let e = power_iteration(
        |v| v.map(|t| a.clone().matmul(t.unsqueeze_dim(1)).squeeze_dim::<1>(1)),
        start,
        PowerIterationConfig {
            max_iters: 500,
            rel_tol: 1e-14,
        },
    );
    assert!((e.value - 3.0).abs() < 1e-9);
}

/// An indefinite quadratic whose most negative eigenvalue has the largest magnitude: λmax = 3,
/// λmin = −8. Power iteration finds −8; the sharpness must be 3.
const INDEFINITE: [f64; 7] = [3.0, 1.5, 0.5, 0.0, -0.5, -2.0, -8.0];

#[test]
fn sharpness_is_the_algebraically_largest_eigenvalue_of_an_indefinite_quadratic() {
    let a = with_spectrum(&INDEFINITE, 11);
    let (model, loss) = quadratic(&a);
    // What the power iteration returns (the eigenvalue of largest magnitude): not λmax.
    let start = cdat_core::spectrum::random_direction(&model);
    let tight = PowerIterationConfig {
        max_iters: 500,
        rel_tol: 1e-13,
    };
    let dominant = power_iteration(|v| hvp(&model, &loss, v).hv, start, tight);
    assert!((dominant.value + 8.0).abs() < 1e-6, "{}", dominant.value);

    // The paper's budget and tolerance: λmax = 3 and λmin = −8 (7 dimensions: the Krylov space
    // is the whole space by the 7th operator application, where both are exact).
    for seed in 0..5 {
        let start = start_vector(model.w.id, INDEFINITE.len(), 100 + seed);
        let e = sharpness(&model, &loss, Some(start), PowerIterationConfig::default());
        assert!(
            e.converged,
            "seed {seed}: not converged in {}",
            e.iterations
        );
        assert!(
            (e.value - 3.0).abs() <= 3e-3 * 3.0,
            "seed {seed}: λmax = {} (want 3)",
            e.value
        );
        let e = sharpness(&model, &loss, Some(e.vector), tight);
        assert!(
            (e.value - 3.0).abs() < 1e-9,
            "seed {seed}: λmax = {}",
            e.value
        );
        let min = e.min_value.expect("λmin estimate");
        assert!(
            min >= -8.0 - 1e-9,
            "a Ritz value lies inside the spectrum: {min}"
        );
    }
    let e = sharpness(
        &model,
        &loss,
        Some(start_vector(model.w.id, INDEFINITE.len(), 7)),
        PowerIterationConfig {
            max_iters: INDEFINITE.len(),
            rel_tol: 1e-15,
        },
    );
    assert!((e.value - 3.0).abs() < 1e-9, "λmax = {}", e.value);
    assert!(
        (e.min_value.unwrap() + 8.0).abs() < 1e-9,
        "λmin = {:?}",
        e.min_value
    );
    // The vector is the eigenvector of 3: H v = 3 v.
    let hv = hvp(&model, &loss, &e.vector).hv;
    let residual = hv.axpy(-3.0, &e.vector).norm();
    assert!(residual < 1e-6, "‖Hv − 3v‖ = {residual}");
}

#[test]
fn sharpness_separates_eigenvalues_of_equal_magnitude_and_opposite_sign() {
    // ±10: power iteration's Rayleigh quotient stalls at a mixture of the two; the largest
    // Ritz value of the second Krylov space is already 10.
    let spectrum = [10.0, 4.0, 1.0, -10.0];
    let a = with_spectrum(&spectrum, 12);
    let (model, loss) = quadratic(&a);
    let start = start_vector(model.w.id, spectrum.len(), 3);
    let e = sharpness(
        &model,
        &loss,
        Some(start.clone()),
        PowerIterationConfig::default(),
    );
    assert!((e.value - 10.0).abs() < 1e-2, "λmax = {}", e.value);
    let p = power_iteration(
        |v| hvp(&model, &loss, v).hv,
        start,
        PowerIterationConfig::default(),
    );
    assert!(
        (p.value - 10.0).abs() > 1.0,
        "power iteration is expected to stall here, got {}",
        p.value
    );
}

#[test]
fn sharpness_warm_start_and_negative_definite_operator() {
    let a = with_spectrum(&INDEFINITE, 13);
    let (model, loss) = quadratic(&a);
    let tight = PowerIterationConfig {
        max_iters: 50,
        rel_tol: 1e-12,
    };
    let e = sharpness(&model, &loss, None, tight);
    let again = sharpness(
        &model,
        &loss,
        Some(e.vector),
        PowerIterationConfig::default(),
    );
    assert!(
        again.iterations <= 2,
        "warm start: {} HVPs",
        again.iterations
    );
    assert!((again.value - 3.0).abs() < 1e-6);

    // All negative: λmax is the one closest to zero.
    let negative = [-0.5, -1.0, -4.0, -9.0];
    let q = with_spectrum(&negative, 14);
    let op = to_tensor(&q);
    let id = burn::module::ParamId::new();
    let e = extreme_eigenpair(
        |v| v.map(|t| op.clone().matmul(t.unsqueeze_dim(1)).squeeze_dim::<1>(1)),
        start_vector(id, negative.len(), 5),
        PowerIterationConfig {
            max_iters: 10,
            rel_tol: 1e-14,
        },
    );
    assert!((e.value + 0.5).abs() < 1e-9, "λmax = {}", e.value);
    assert!((e.min_value.unwrap() + 9.0).abs() < 1e-9);
    assert!(e.converged && e.iterations <= negative.len());
}

#[test]
fn jacobi_eigenvectors_satisfy_the_eigen_equation() {
    let a = with_spectrum(&INDEFINITE, 15);
    let (values, vectors) = jacobi_eigen(a.clone());
    let n = a.len();
    for k in 0..n {
        for i in 0..n {
            let av: f64 = (0..n).map(|j| a[i][j] * vectors[j][k]).sum();
            assert!((av - values[k] * vectors[i][k]).abs() < 1e-10);
        }
        let norm: f64 = (0..n).map(|i| vectors[i][k] * vectors[i][k]).sum();
        assert!((norm - 1.0).abs() < 1e-12);
    }
}

fn start_vector(id: burn::module::ParamId, n: usize, seed: u64) -> ParamVec<F> {
    ParamVec::from_entries(vec![(
        id,
        Tensor::<F, 1>::from_data(rand_data(&[n], -1.0, 1.0, seed), &dev()),
    )])
}
