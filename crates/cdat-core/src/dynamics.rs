//! The simplified model of the joint dynamics of the learning rate and the sharpness (Roulet et
//! al., NeurIPS 2024, arXiv 2407.06183: the paper's Eq. 4 and its Fig. 4; the CDAT version, the
//! paper's Eq. 10 and Fig. 9), as a small `f64` simulator. No tensors: three scalars per step.
//!
//! Sources: the equation and figure numbers and the figure parameters are those cited in this
//! project's issue (claim C6); the stored copies of the paper available here stop before its
//! model section, so the formulas below are reconstructed from Damian et al. (2023) and the
//! paper's descriptions, and every choice that could not be checked is marked **derived** or
//! **chosen here**, with what was measured.
//!
//! # The model (paper Eq. 4, after Damian et al. 2023, "Self-stabilization")
//!
//! `λ_t` is the sharpness (largest Hessian eigenvalue), `x_t` the coordinate of the iterate along
//! its eigenvector (measured from the stable point), `η_t` the learning rate:
//!
//! ```text
//! x_{t+1} = (1 − η_t λ_t) x_t                  gradient step on ½ λ_t x² along the top direction
//! λ_{t+1} = λ_t + η_t (a − b x_{t+1}²)         a > 0: progressive sharpening, b > 0: self-stabilization
//! y_t     = η_t λ_t − 2                        normalized centered sharpness (edge of stability: y = 0)
//! ```
//!
//! so that `x_{t+1} = −(1 + y_t) x_t`: `|x|` shrinks while `y < 0` (and `y > −2`), grows while
//! `y > 0`, and a large `x` pulls `λ` down.
//!
//! **Coupling (measured, not copied).** The update of `λ` above uses the *new* coordinate
//! `x_{t+1}` ([`Coupling::Sequential`], the default): in the variables `(log|x|, y)` with a
//! constant `η` the step is then a composition of two shears, hence area-preserving, and the
//! orbits around the fixed point `(x² = a/b, y = 0)` stay closed: `λ` hovers around `2/η`.
//! Using the *old* `x_t` ([`Coupling::Simultaneous`], the literal form of Damian et al.'s
//! stylized map) gives at that fixed point a Jacobian of determinant `1 + 2η²a > 1`: every orbit
//! spirals out, and with the parameters of the paper's Fig. 4 (`a = 0.03, b = 0.3, η = 1`) it
//! diverges within a few hundred steps from every start we tried. The stored excerpts of the paper
//! (arXiv HTML) do not reach its Section with Eq. 4, so which ordering it prints is unconfirmed;
//! the sequential one is the one that reproduces its Fig. 4 (stabilization at `2/η`).
//!
//! # The three learning-rate rules
//!
//! - [`constant_lr`]: `η_t = η` (Fig. 4): progressive sharpening, then `λ` hovers at `2/η`
//!   (`y` oscillates around 0; over a long run the mean of `b x²` balances `a`).
//! - [`fixed_y`]: `η_t = (2 + y)/λ_t` for a fixed `y ∈ (−2, 0)`, the idealized classical tuner
//!   that keeps `η λ` a little under 2, as the linesearch and greedy tuners do (Fig. 4). Then
//!   exactly `x_{t+1} = −(1 + y) x_t`, `x → 0` geometrically, the self-stabilization term
//!   vanishes, `λ` grows (`λ_t² ≈ 2(2 + y) a t`) and `η` falls like `1/√t`.
//! - [`cdat`]: CDAT, `η = σ ñ/d̃` (Eq. 10, Fig. 9), on a model with two eigen-directions.
//!
//! # CDAT on the model (two directions; **derived**, the paper's Eq. 10 itself was not available)
//!
//! With one direction only, `n/d = 1/λ` and CDAT would simply be `η = σ/λ`, i.e. `y ≡ σ − 2`;
//! the paper's CDAT model has a second eigen-direction of fixed curvature `ν < λ`, with weights
//! `p` and `g` (as cited in the issue); here `p = x²` (top direction) and `g = z²` (second
//! direction). The state follows gradient descent on `½ λ x² + ½ ν z²` with the same sharpness
//! update, and CDAT measures the gradient along the base direction `u = −∇f`:
//!
//! ```text
//! x_{t+1} = (1 − η_t λ_t) x_t,   z_{t+1} = (1 − η_t ν) z_t,   λ_{t+1} = λ_t + η_t (a − b x_{t+1}²)
//! n_{t+1} = −∇fᵀu = λ_{t+1}² x_{t+1}² + ν² z_{t+1}²        (p = x², g = z²)
//! d_{t+1} = uᵀHu  = λ_{t+1}³ x_{t+1}² + ν³ z_{t+1}²
//! ñ_{t+1} = β ñ_t + (1 − β) n_{t+1},   d̃_{t+1} = β d̃_t + (1 − β) d_{t+1},   ñ_0 = d̃_0 = 0
//! η_{t+1} = σ ñ_{t+1} / d̃_{t+1}                          (η_0 given: the first step's rate)
//! ```
//!
//! the EMAs being those of the paper's CDAT rule (see [`crate::tuners::cdat`]). Measured with the
//! Fig. 9 parameters (`a = 0.05, b = 0.1, ν = 0.1, λ_0 = 18, η_0 = 0.05, p_0 = g_0 = 4`) and
//! `β = 0.9`: `σ = 2` warms `η` up from 0.05 to ≈ 0.104 and holds `|y| ≤ 0.0072`, `p → a/b` and
//! `λ` settles at ≈ 19.19; with `σ = 1.9`, `y` stays slightly negative (mean over the last 10 %:
//! −0.0077 of 2,000 steps, −0.0057 of 5,000), `x → 0`, and `λ` keeps growing (≈ 26.9 after 2,000
//! steps, ≈ 36.3 after 5,000), as the paper describes for Fig. 9. The EMA matters in this model:
//! without it (`β = 0`) `σ = 2` still pins `y` at 0 but `p` freezes below `a/b` (at ≈ 0.06) and
//! `λ` drifts up (≈ 26.0 after 2,000 steps); the lag of the EMAs is what turns a rising `λ` into
//! `y > 0`, hence into self-stabilization. With `σ = 2.0625` or `2.5` the model diverges
//! (`y > 0` persists, `x` grows, `λ` collapses: steps 1,758 and 1,860 with `β = 0.9`).
//!
//! # Divergence
//!
//! A trajectory stops, and says so in [`Trajectory::outcome`], when a value stops being finite,
//! when `|x|` (or `|z|`) exceeds [`Options::max_abs`], or when a rule needs `λ > 0` (fixed `y`,
//! CDAT) or `d̃ > 0` (CDAT) and does not get it. The state that broke the rule is not recorded:
//! every record is finite. Nothing here panics.

/// Which `x` the sharpness update sees (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Coupling {
    /// `λ_{t+1} = λ_t + η_t (a − b x_{t+1}²)`: area-preserving at constant `η`, orbits stay
    /// closed (the default; reproduces the paper's Fig. 4).
    #[default]
    Sequential,
    /// `λ_{t+1} = λ_t + η_t (a − b x_t²)`: Damian et al.'s literal stylized map; spirals out.
    Simultaneous,
}

/// Sharpening `a` and self-stabilization `b` of the sharpness update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sharpening {
    /// Progressive sharpening rate `a`.
    pub a: f64,
    /// Self-stabilization strength `b`.
    pub b: f64,
}

/// The state `(λ, x)` of the one-direction model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct State {
    /// Sharpness `λ`.
    pub lambda: f64,
    /// Coordinate `x` along the top eigenvector.
    pub x: f64,
}

/// One record of a one-direction trajectory: the state at step `t` and the learning rate the
/// step from it uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Record {
    /// Step index (0: the initial state).
    pub t: usize,
    /// `η_t`.
    pub eta: f64,
    /// `λ_t`.
    pub lambda: f64,
    /// `x_t`.
    pub x: f64,
    /// `y_t = η_t λ_t − 2`.
    pub y: f64,
}

/// How a trajectory ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// All requested steps were taken.
    Completed,
    /// Step `step` (the transition from `t = step − 1`) broke the model; the records stop at
    /// `t = step − 1`.
    Diverged {
        /// The step that broke the model.
        step: usize,
        /// What broke.
        reason: String,
    },
}

/// Records `t = 0, …, steps` (fewer when diverged) and how the simulation ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory<R> {
    /// One record per step, the initial state first.
    pub records: Vec<R>,
    /// Completed or diverged.
    pub outcome: Outcome,
}

impl<R> Trajectory<R> {
    /// Whether the simulation stopped early.
    pub fn diverged(&self) -> bool {
        matches!(self.outcome, Outcome::Diverged { .. })
    }

    /// The last record, if any.
    pub fn last(&self) -> Option<&R> {
        self.records.last()
    }
}

/// Simulation options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Which `x` the sharpness update uses.
    pub coupling: Coupling,
    /// `|x|` (and `|z|`) above this bound counts as divergence.
    pub max_abs: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            coupling: Coupling::Sequential,
            max_abs: 1e6,
        }
    }
}

/// One step of the model (paper Eq. 4) with learning rate `eta`: returns `(λ_{t+1}, x_{t+1})`.
pub fn step(sharpening: Sharpening, coupling: Coupling, state: State, eta: f64) -> State {
    let x = (1.0 - eta * state.lambda) * state.x;
    let seen = match coupling {
        Coupling::Sequential => x,
        Coupling::Simultaneous => state.x,
    };
    let lambda = state.lambda + eta * (sharpening.a - sharpening.b * seen * seen);
    State { lambda, x }
}

fn record(t: usize, eta: f64, s: State) -> Record {
    Record {
        t,
        eta,
        lambda: s.lambda,
        x: s.x,
        y: eta * s.lambda - 2.0,
    }
}

/// `v > 0` (false for NaN).
fn positive(v: f64) -> bool {
    v > 0.0
}

fn broken(values: &[(&str, f64)], bounded: &[(&str, f64)], max_abs: f64) -> Option<String> {
    for (name, v) in values {
        if !v.is_finite() {
            return Some(format!("{name} = {v} is not finite"));
        }
    }
    for (name, v) in bounded {
        if v.abs() > max_abs {
            return Some(format!("|{name}| = {:e} exceeds {max_abs:e}", v.abs()));
        }
    }
    None
}

/// Runs a one-direction model whose learning rate is `rule(λ_t)`; `needs_positive_lambda`
/// stops it when `λ ≤ 0`.
fn run_1d(
    sharpening: Sharpening,
    init: State,
    steps: usize,
    opts: Options,
    needs_positive_lambda: bool,
    rule: impl Fn(f64) -> f64,
) -> Trajectory<Record> {
    let mut records = Vec::with_capacity(steps + 1);
    let check = |s: State, eta: f64| -> Option<String> {
        if let Some(r) = broken(&[("λ", s.lambda), ("x", s.x)], &[("x", s.x)], opts.max_abs) {
            return Some(r);
        }
        if needs_positive_lambda && s.lambda <= 0.0 {
            return Some(format!(
                "λ = {} ≤ 0: the learning-rate rule is undefined",
                s.lambda
            ));
        }
        broken(&[("η", eta)], &[], opts.max_abs)
    };
    let diverged = |step: usize, reason: String, records: Vec<Record>| Trajectory {
        records,
        outcome: Outcome::Diverged { step, reason },
    };
    let mut state = init;
    let mut eta = if needs_positive_lambda && !positive(state.lambda) {
        f64::NAN
    } else {
        rule(state.lambda)
    };
    if let Some(reason) = check(state, eta) {
        return diverged(0, format!("initial state: {reason}"), records);
    }
    records.push(record(0, eta, state));
    for t in 0..steps {
        let next = step(sharpening, opts.coupling, state, eta);
        let next_eta = if needs_positive_lambda && !positive(next.lambda) {
            f64::NAN
        } else {
            rule(next.lambda)
        };
        if let Some(reason) = check(next, next_eta) {
            return diverged(t + 1, reason, records);
        }
        state = next;
        eta = next_eta;
        records.push(record(t + 1, eta, state));
    }
    Trajectory {
        records,
        outcome: Outcome::Completed,
    }
}

/// Gradient descent with a constant learning rate `eta` on the model (paper Eq. 4; Fig. 4 uses
/// `a = 0.03, b = 0.3, η = 1`), for `steps` steps from `init`.
pub fn constant_lr(
    sharpening: Sharpening,
    eta: f64,
    init: State,
    steps: usize,
    opts: Options,
) -> Trajectory<Record> {
    run_1d(sharpening, init, steps, opts, false, |_| eta)
}

/// The idealized classical tuner: `η_t = (2 + y)/λ_t` each step, which holds `η_t λ_t − 2 = y`
/// exactly (paper Fig. 4 uses `y = −0.1`, `a = 1, b = 0.5, η_0 = 1`, i.e. `λ_0 = 1.9`). Needs
/// `λ_t > 0`.
pub fn fixed_y(
    sharpening: Sharpening,
    y: f64,
    init: State,
    steps: usize,
    opts: Options,
) -> Trajectory<Record> {
    run_1d(sharpening, init, steps, opts, true, |lambda| {
        (2.0 + y) / lambda
    })
}

/// Parameters of the two-direction model under CDAT (see the module documentation; derived).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdatModel {
    /// Sharpness update of the top direction.
    pub sharpening: Sharpening,
    /// Fixed curvature `ν` of the second direction (`0 ≤ ν < λ`).
    pub nu: f64,
    /// CDAT scaling `σ` (2: on edge, 1: quadratically greedy).
    pub sigma: f64,
    /// EMA factor `β ∈ [0, 1)` of the numerator and denominator (0: none).
    pub beta: f64,
}

/// Initial state of the two-direction model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdatInit {
    /// `λ_0`.
    pub lambda: f64,
    /// The learning rate of the first step, `η_0` (CDAT has measured nothing yet).
    pub eta: f64,
    /// Weight `p_0 = x_0²` of the top direction (`x_0 = √p_0`).
    pub p: f64,
    /// Weight `g_0 = z_0²` of the second direction (`z_0 = √g_0`).
    pub g: f64,
}

/// One record of a CDAT trajectory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdatRecord {
    /// Step index (0: the initial state).
    pub t: usize,
    /// `η_t` (the rate of the step from this state).
    pub eta: f64,
    /// `λ_t`.
    pub lambda: f64,
    /// `x_t` (top direction).
    pub x: f64,
    /// `z_t` (second direction).
    pub z: f64,
    /// `p_t = x_t²`.
    pub p: f64,
    /// `g_t = z_t²`.
    pub g: f64,
    /// `y_t = η_t λ_t − 2`.
    pub y: f64,
}

/// `(n, d) = (−∇fᵀu, uᵀHu)` for `u = −∇f` on `½ λ x² + ½ ν z²`.
pub fn cdat_measure(lambda: f64, nu: f64, x: f64, z: f64) -> (f64, f64) {
    let (p, g) = (x * x, z * z);
    (
        lambda * lambda * p + nu * nu * g,
        lambda * lambda * lambda * p + nu * nu * nu * g,
    )
}

/// CDAT on the two-direction model (paper Eq. 10 and Fig. 9, derived: see the module
/// documentation), for `steps` steps.
pub fn cdat(
    model: CdatModel,
    init: CdatInit,
    steps: usize,
    opts: Options,
) -> Trajectory<CdatRecord> {
    let mut records = Vec::with_capacity(steps + 1);
    let rec = |t: usize, eta: f64, lambda: f64, x: f64, z: f64| CdatRecord {
        t,
        eta,
        lambda,
        x,
        z,
        p: x * x,
        g: z * z,
        y: eta * lambda - 2.0,
    };
    let diverged = |step: usize, reason: String, records: Vec<CdatRecord>| Trajectory {
        records,
        outcome: Outcome::Diverged { step, reason },
    };
    let check = |lambda: f64, x: f64, z: f64, eta: f64| -> Option<String> {
        broken(
            &[("λ", lambda), ("x", x), ("z", z)],
            &[("x", x), ("z", z)],
            opts.max_abs,
        )
        .or_else(|| (lambda <= 0.0).then(|| format!("λ = {lambda} ≤ 0: outside the model")))
        .or_else(|| broken(&[("η", eta)], &[], opts.max_abs))
    };
    let (mut lambda, mut eta) = (init.lambda, init.eta);
    let (mut x, mut z) = (init.p.sqrt(), init.g.sqrt());
    if let Some(reason) = check(lambda, x, z, eta) {
        return diverged(0, format!("initial state: {reason}"), records);
    }
    records.push(rec(0, eta, lambda, x, z));
    let (mut num, mut den) = (0.0_f64, 0.0_f64);
    let (a, b, nu) = (model.sharpening.a, model.sharpening.b, model.nu);
    for t in 0..steps {
        let nx = (1.0 - eta * lambda) * x;
        let nz = (1.0 - eta * nu) * z;
        let seen = match opts.coupling {
            Coupling::Sequential => nx,
            Coupling::Simultaneous => x,
        };
        let nl = lambda + eta * (a - b * seen * seen);
        let (n, d) = cdat_measure(nl, nu, nx, nz);
        let (nn, nd) = (
            model.beta * num + (1.0 - model.beta) * n,
            model.beta * den + (1.0 - model.beta) * d,
        );
        let ne = model.sigma * nn / nd;
        let reason = check(nl, nx, nz, ne)
            .or_else(|| (!positive(nd)).then(|| format!("d̃ = {nd:e} ≤ 0: η = σ ñ/d̃ is undefined")));
        if let Some(reason) = reason {
            return diverged(t + 1, reason, records);
        }
        (lambda, x, z, eta, num, den) = (nl, nx, nz, ne, nn, nd);
        records.push(rec(t + 1, eta, lambda, x, z));
    }
    Trajectory {
        records,
        outcome: Outcome::Completed,
    }
}

/// Mean of the last `fraction` of `values` (at least one value); `None` when `values` is empty.
pub fn tail_mean(values: &[f64], fraction: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let k = ((values.len() as f64 * fraction).round() as usize).clamp(1, values.len());
    let tail = &values[values.len() - k..];
    Some(tail.iter().sum::<f64>() / k as f64)
}

/// The parameters of the paper's figures, with the initial states this project uses where the
/// paper's were not available (marked below).
pub mod paper {
    use super::{CdatInit, CdatModel, Sharpening, State};

    /// Fig. 4, constant learning rate: `a = 0.03, b = 0.3`.
    pub const CONSTANT_SHARPENING: Sharpening = Sharpening { a: 0.03, b: 0.3 };
    /// Fig. 4, constant learning rate: `η = 1`.
    pub const CONSTANT_ETA: f64 = 1.0;
    /// Initial state for the constant-η run: `λ_0 = 1.8, x_0 = 0.3` (**chosen here**: below the
    /// edge `2/η`, so the run shows sharpening and then the hovering at `2/η`).
    pub const CONSTANT_INIT: State = State {
        lambda: 1.8,
        x: 0.3,
    };

    /// Fig. 4, tuner with fixed `y`: `a = 1, b = 0.5`.
    pub const FIXED_Y_SHARPENING: Sharpening = Sharpening { a: 1.0, b: 0.5 };
    /// Fig. 4, tuner with fixed `y`: `y = −0.1`.
    pub const FIXED_Y: f64 = -0.1;
    /// Fig. 4, tuner with fixed `y`: `η_0 = 1`, hence `λ_0 = (2 + y)/η_0 = 1.9`; `x_0 = 1` is
    /// **chosen here**.
    pub const FIXED_Y_INIT: State = State {
        lambda: 1.9,
        x: 1.0,
    };

    /// Fig. 9: `a = 0.05, b = 0.1, ν = 0.1` and the given `σ`, with the EMA `β = 0.9` (**chosen
    /// here**; see the module documentation for `β = 0`).
    pub fn cdat_model(sigma: f64) -> CdatModel {
        CdatModel {
            sharpening: Sharpening { a: 0.05, b: 0.1 },
            nu: 0.1,
            sigma,
            beta: 0.9,
        }
    }

    /// Fig. 9: `λ_0 = 18, η_0 = 0.05, p_0 = g_0 = 4`.
    pub const CDAT_INIT: CdatInit = CdatInit {
        lambda: 18.0,
        eta: 0.05,
        p: 4.0,
        g: 4.0,
    };
}
