//! The top of a symmetric operator's spectrum — in practice the Hessian, through exact
//! Hessian-vector products: power iteration (sharpness λmax, as in the paper: relative tolerance
//! 1e-3, warm start from the previous eigenvector), Lanczos for the top k, and the
//! preconditioned sharpness λmax(P^{-1/2} H P^{-1/2}) for a diagonal preconditioner P.

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::curvature::{hvp, HvpBackend};
use crate::params::ParamVec;

/// Budget and stopping rule of the power iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerIterationConfig {
    /// Most operator applications.
    pub max_iters: usize,
    /// Stop when consecutive eigenvalue estimates differ by at most `rel_tol · |λ|`.
    pub rel_tol: f64,
}

impl Default for PowerIterationConfig {
    fn default() -> Self {
        Self {
            max_iters: 20,
            rel_tol: 1e-3,
        }
    }
}

/// Result of a power iteration.
#[derive(Clone, Debug)]
pub struct Eigenpair<B: Backend> {
    /// The eigenvalue of largest magnitude (its sign kept).
    pub value: f64,
    /// Its unit eigenvector (use it to warm-start the next call).
    pub vector: ParamVec<B>,
    /// Operator applications spent.
    pub iterations: usize,
    /// Whether the relative tolerance was met within the budget.
    pub converged: bool,
}

/// Power iteration on a symmetric operator: `v ← A v / ‖A v‖`, eigenvalue estimate `vᵀ A v`
/// (Rayleigh quotient). Finds the eigenvalue of largest magnitude; for a Hessian near a minimum
/// that is λmax. `start` is the initial vector (random or a previous eigenvector).
pub fn power_iteration<B: Backend>(
    mut apply: impl FnMut(&ParamVec<B>) -> ParamVec<B>,
    start: ParamVec<B>,
    config: PowerIterationConfig,
) -> Eigenpair<B> {
    let norm = start.norm();
    assert!(
        norm > 0.0 && norm.is_finite(),
        "power_iteration: start vector must be nonzero and finite"
    );
    let mut v = start.scale(1.0 / norm);
    let mut value = f64::NAN;
    for k in 1..=config.max_iters.max(1) {
        let av = apply(&v);
        let estimate = v.dot(&av);
        let av_norm = av.norm();
        let done = (estimate - value).abs() <= config.rel_tol * estimate.abs();
        value = estimate;
        if av_norm == 0.0 || !av_norm.is_finite() {
            return Eigenpair {
                value,
                vector: v,
                iterations: k,
                converged: av_norm == 0.0,
            };
        }
        v = av.scale(1.0 / av_norm);
        if done {
            return Eigenpair {
                value,
                vector: v,
                iterations: k,
                converged: true,
            };
        }
    }
    Eigenpair {
        value,
        vector: v,
        iterations: config.max_iters.max(1),
        converged: false,
    }
}

/// Sharpness λmax of the loss's Hessian at the module's parameters, by power iteration on
/// exact Hessian-vector products. `start`: a previous eigenvector (warm start) or `None` for a
/// random start.
pub fn sharpness<B, M>(
    module: &M,
    loss_fn: impl Fn(&M) -> Tensor<HvpBackend<B>, 1>,
    start: Option<ParamVec<B>>,
    config: PowerIterationConfig,
) -> Eigenpair<B>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    let start = start.unwrap_or_else(|| random_direction(module));
    power_iteration(|v| hvp(module, &loss_fn, v).hv, start, config)
}

/// Preconditioned sharpness λmax(P^{-1/2} H P^{-1/2}) for a diagonal preconditioner with
/// diagonal `p` (all entries > 0), e.g. Adam's `√v̂ + ε`.
pub fn preconditioned_sharpness<B, M>(
    module: &M,
    loss_fn: impl Fn(&M) -> Tensor<HvpBackend<B>, 1>,
    p: &ParamVec<B>,
    start: Option<ParamVec<B>>,
    config: PowerIterationConfig,
) -> Eigenpair<B>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    let d = p.map(|t| t.sqrt().recip());
    let start = start.unwrap_or_else(|| random_direction(module));
    power_iteration(
        |v| d.mul(&hvp(module, &loss_fn, &d.mul(v)).hv),
        start,
        config,
    )
}

/// A random normal direction shaped like the module's parameters.
pub fn random_direction<B, M>(module: &M) -> ParamVec<B>
where
    B: Backend,
    M: AutodiffModule<HvpBackend<B>>,
{
    crate::curvature::parameters(module).random_normal_like()
}

/// The top `k` eigenvalues of a symmetric operator, by `m`-step Lanczos with full
/// reorthogonalization (`m ≥ k`; the operator is applied `m` times), largest first.
pub fn lanczos<B: Backend>(
    mut apply: impl FnMut(&ParamVec<B>) -> ParamVec<B>,
    start: ParamVec<B>,
    k: usize,
    m: usize,
) -> Vec<f64> {
    assert!(k >= 1 && m >= k, "lanczos: need 1 <= k <= m");
    let norm = start.norm();
    assert!(
        norm > 0.0 && norm.is_finite(),
        "lanczos: start vector must be nonzero and finite"
    );
    let mut basis: Vec<ParamVec<B>> = vec![start.scale(1.0 / norm)];
    let mut alpha = Vec::with_capacity(m);
    let mut beta: Vec<f64> = Vec::with_capacity(m);
    for j in 0..m {
        let mut w = apply(&basis[j]);
        let a = basis[j].dot(&w);
        alpha.push(a);
        // Full reorthogonalization (twice is enough) against every basis vector.
        for _ in 0..2 {
            for q in &basis {
                let c = q.dot(&w);
                w = w.axpy(-c, q);
            }
        }
        if j + 1 == m {
            break;
        }
        let b = w.norm();
        if b <= 1e-12 * a.abs().max(1.0) {
            break; // invariant subspace found: the Ritz values are exact
        }
        beta.push(b);
        basis.push(w.scale(1.0 / b));
    }
    let mut values = symmetric_tridiagonal_eigenvalues(&alpha, &beta[..alpha.len() - 1]);
    values.sort_by(|a, b| b.partial_cmp(a).unwrap_or(core::cmp::Ordering::Equal));
    values.truncate(k);
    values
}

/// Eigenvalues of the symmetric tridiagonal matrix with diagonal `a` and off-diagonal `b`, by
/// cyclic Jacobi rotations on the dense matrix (sizes here are a few dozen).
pub fn symmetric_tridiagonal_eigenvalues(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = a.len();
    assert_eq!(
        b.len() + 1,
        n.max(1),
        "tridiagonal: off-diagonal length must be n - 1"
    );
    let mut m = vec![vec![0.0; n]; n];
    for i in 0..n {
        m[i][i] = a[i];
        if i + 1 < n {
            m[i][i + 1] = b[i];
            m[i + 1][i] = b[i];
        }
    }
    jacobi_eigenvalues(m)
}

/// Eigenvalues of a small dense symmetric matrix (rows), by cyclic Jacobi rotations.
pub fn jacobi_eigenvalues(mut m: Vec<Vec<f64>>) -> Vec<f64> {
    let n = m.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        let scale: f64 = (0..n)
            .map(|i| m[i][i] * m[i][i])
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q] == 0.0 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k][p], m[k][q]);
                    m[k][p] = c * mkp - s * mkq;
                    m[k][q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p][k], m[q][k]);
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
            }
        }
    }
    (0..n).map(|i| m[i][i]).collect()
}
