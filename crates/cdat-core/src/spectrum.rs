//! The extremes of a symmetric operator's spectrum — in practice the Hessian, through exact
//! Hessian-vector products.
//!
//! - [`sharpness`] (λmax, the *algebraically* largest eigenvalue, and an estimate of λmin) and
//!   [`preconditioned_sharpness`] (λmax of P^{-1/2} H P^{-1/2} for a diagonal P) run Lanczos
//!   with full reorthogonalization ([`extreme_eigenpair`]): the largest Ritz value of the Krylov
//!   space, stopped as the paper stops its power iteration (consecutive estimates within a
//!   relative tolerance of 1e-3), warm-started from the previous eigenvector;
//! - [`power_iteration`] finds the eigenvalue of largest *magnitude*, which is λmax only when it
//!   is positive: away from a minimum the Hessian is indefinite and its most negative eigenvalue
//!   can dominate (a transformer at initialization: −74.9), so it is not used for sharpness;
//! - [`lanczos`] gives the top `k` eigenvalues.

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

/// Result of [`extreme_eigenpair`] (and so of [`sharpness`]) or of [`power_iteration`].
#[derive(Clone, Debug)]
pub struct Eigenpair<B: Backend> {
    /// [`extreme_eigenpair`], [`sharpness`]: the algebraically largest eigenvalue λmax (the
    /// largest Ritz value). [`power_iteration`]: the eigenvalue of largest magnitude, its sign
    /// kept.
    pub value: f64,
    /// Its unit eigenvector (the Ritz vector; use it to warm-start the next call).
    pub vector: ParamVec<B>,
    /// Operator applications spent.
    pub iterations: usize,
    /// Whether the relative tolerance was met within the budget.
    pub converged: bool,
    /// [`extreme_eigenpair`]: the smallest Ritz value, an estimate of λmin from the same
    /// operator applications. It is an upper bound on λmin (Ritz values lie inside the spectrum)
    /// and is not itself checked for convergence: the iteration stops on λmax, so λmin can be
    /// unresolved when λmax converges fast. `None` for [`power_iteration`].
    pub min_value: Option<f64>,
}

/// `start / ‖start‖`; `who` names the caller in the panic on a zero or non-finite start.
fn unit<B: Backend>(start: ParamVec<B>, who: &str) -> ParamVec<B> {
    let norm = start.norm();
    assert!(
        norm > 0.0 && norm.is_finite(),
        "{who}: start vector must be nonzero and finite"
    );
    start.scale(1.0 / norm)
}

/// Power iteration on a symmetric operator: `v ← A v / ‖A v‖`, eigenvalue estimate `vᵀ A v`
/// (Rayleigh quotient). Finds the eigenvalue of largest **magnitude**: λmax only when that one
/// is positive (for λmax of an indefinite operator use [`extreme_eigenpair`]). `start` is the
/// initial vector (random or a previous eigenvector).
pub fn power_iteration<B: Backend>(
    mut apply: impl FnMut(&ParamVec<B>) -> ParamVec<B>,
    start: ParamVec<B>,
    config: PowerIterationConfig,
) -> Eigenpair<B> {
    let mut v = unit(start, "power_iteration");
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
                min_value: None,
            };
        }
        v = av.scale(1.0 / av_norm);
        if done {
            return Eigenpair {
                value,
                vector: v,
                iterations: k,
                converged: true,
                min_value: None,
            };
        }
    }
    Eigenpair {
        value,
        vector: v,
        iterations: config.max_iters.max(1),
        converged: false,
        min_value: None,
    }
}

/// Lanczos with full reorthogonalization on a symmetric operator, for the **algebraically
/// largest** eigenvalue and its vector, whatever the signs of the spectrum.
///
/// Step `j` applies the operator once to the `j`-th Lanczos vector and extends the tridiagonal
/// matrix `T_j = Q_jᵀ A Q_j`; its largest eigenvalue θ_j (Ritz value) increases with `j` towards
/// λmax and is never below the Rayleigh quotient of the power iterate of the same step. The
/// iteration stops when `|θ_j − θ_{j−1}| ≤ rel_tol · |θ_j|` (the paper's power-iteration rule,
/// same budget `max_iters`) or when the Krylov space is invariant (the Ritz values are then
/// exact). Returns θ_j, its Ritz vector `Q_j s` (unit), the smallest Ritz value as the estimate
/// of λmin, and the operator applications spent. From an eigenvector of λmax it stops after one
/// or two applications. Stores `j` vectors shaped like `start`.
pub fn extreme_eigenpair<B: Backend>(
    mut apply: impl FnMut(&ParamVec<B>) -> ParamVec<B>,
    start: ParamVec<B>,
    config: PowerIterationConfig,
) -> Eigenpair<B> {
    let max_iters = config.max_iters.max(1);
    let mut basis: Vec<ParamVec<B>> = vec![unit(start, "extreme_eigenpair")];
    let mut alpha: Vec<f64> = Vec::with_capacity(max_iters);
    let mut beta: Vec<f64> = Vec::with_capacity(max_iters);
    let mut previous = f64::NAN;
    for j in 0..max_iters {
        let mut w = apply(&basis[j]);
        let a = basis[j].dot(&w);
        alpha.push(a);
        let ritz = TridiagonalEigen::new(&alpha, &beta);
        let (top, bottom) = (ritz.largest(), ritz.smallest());
        let done = (top - previous).abs() <= config.rel_tol * top.abs();
        previous = top;
        if !a.is_finite() || done || j + 1 == max_iters {
            return ritz.pair(&basis, j + 1, done, bottom);
        }
        // Full reorthogonalization (twice is enough) against every basis vector; this also
        // removes the α_j q_j and β_{j−1} q_{j−1} components of the three-term recurrence.
        for _ in 0..2 {
            for q in &basis {
                let c = q.dot(&w);
                w = w.axpy(-c, q);
            }
        }
        let b = w.norm();
        let scale = alpha
            .iter()
            .chain(&beta)
            .fold(0.0f64, |m, x| m.max(x.abs()));
        if !b.is_finite() {
            return ritz.pair(&basis, j + 1, false, bottom);
        }
        if b <= 1e-12 * scale || b == 0.0 {
            // The Krylov space is invariant: its Ritz values are eigenvalues.
            return ritz.pair(&basis, j + 1, true, bottom);
        }
        beta.push(b);
        basis.push(w.scale(1.0 / b));
    }
    unreachable!("the loop returns at its last iteration")
}

/// Eigen-decomposition of the Lanczos tridiagonal matrix, with its extreme Ritz pairs.
struct TridiagonalEigen {
    values: Vec<f64>,
    /// Eigenvectors as columns: `vectors[i][k]` is entry `i` of eigenvector `k`.
    vectors: Vec<Vec<f64>>,
}

impl TridiagonalEigen {
    fn new(alpha: &[f64], beta: &[f64]) -> Self {
        let (values, vectors) = jacobi_eigen(tridiagonal(alpha, &beta[..alpha.len() - 1]));
        Self { values, vectors }
    }

    fn index_of(&self, better: impl Fn(f64, f64) -> bool) -> usize {
        (1..self.values.len()).fold(0, |best, k| {
            if better(self.values[k], self.values[best]) {
                k
            } else {
                best
            }
        })
    }

    fn largest(&self) -> f64 {
        self.values[self.index_of(|a, b| a > b)]
    }

    fn smallest(&self) -> f64 {
        self.values[self.index_of(|a, b| a < b)]
    }

    /// The top Ritz pair over the first `basis.len()` Lanczos vectors.
    fn pair<B: Backend>(
        &self,
        basis: &[ParamVec<B>],
        iterations: usize,
        converged: bool,
        min_value: f64,
    ) -> Eigenpair<B> {
        let top = self.index_of(|a, b| a > b);
        let mut y = basis[0].scale(self.vectors[0][top]);
        for (i, q) in basis.iter().enumerate().skip(1) {
            y = y.axpy(self.vectors[i][top], q);
        }
        let n = y.norm();
        let vector = if n > 0.0 && n.is_finite() {
            y.scale(1.0 / n)
        } else {
            basis[basis.len() - 1].clone()
        };
        Eigenpair {
            value: self.values[top],
            vector,
            iterations,
            converged,
            min_value: Some(min_value),
        }
    }
}

/// Sharpness λmax — the algebraically largest eigenvalue of the loss's Hessian — at the module's
/// parameters, by Lanczos on exact Hessian-vector products ([`extreme_eigenpair`]), with the
/// estimate of λmin alongside. `start`: a previous eigenvector (warm start) or `None` for a
/// random start (Burn's RNG for `B`).
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
    extreme_eigenpair(|v| hvp(module, &loss_fn, v).hv, start, config)
}

/// Preconditioned sharpness λmax(P^{-1/2} H P^{-1/2}), the algebraically largest eigenvalue, for
/// a diagonal preconditioner with diagonal `p` (all entries > 0), e.g. Adam's `√v̂ + ε`; by
/// Lanczos like [`sharpness`].
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
    extreme_eigenpair(
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
    jacobi_eigenvalues(tridiagonal(a, b))
}

/// The dense symmetric tridiagonal matrix with diagonal `a` and off-diagonal `b`.
fn tridiagonal(a: &[f64], b: &[f64]) -> Vec<Vec<f64>> {
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
    m
}

/// Eigenvalues of a small dense symmetric matrix (rows), by cyclic Jacobi rotations.
pub fn jacobi_eigenvalues(m: Vec<Vec<f64>>) -> Vec<f64> {
    jacobi_eigen(m).0
}

/// Eigenvalues and eigenvectors (as columns: `vectors[i][k]` is entry `i` of the `k`-th) of a
/// small dense symmetric matrix, by cyclic Jacobi rotations `M ← Pᵀ M P`, `V ← V P`.
pub fn jacobi_eigen(mut m: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = m.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        let scale: f64 = (0..n)
            .map(|i| m[i][i] * m[i][i])
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);
        if off <= 1e-30 * scale || !off.is_finite() {
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
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i][i]).collect(), v)
}
