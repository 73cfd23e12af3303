//! Second-order harness: checks the jet (`DualTensor::jet`) of a rule against two oracles.
//!
//! A rule is written once, as a closure body over a backend named `D`, and expanded twice by
//! [`jet_fn!`](crate::common::jet::jet_fn): once with `D = Dual<F>` (the rule under test, and
//! the first-order checks) and once with `D = Dual<Dual<F>>` (the forward-over-forward oracle).
//! Int and bool tensors of both backends are those of `F`, so index and mask tensors built on
//! `F` (or `Dual<F>`) serve both expansions.
//!
//! Along the curve `x(t) = x₀ + t·v + ½t²·w` the jet's `second` must be `y″(0)` of
//! `y(t) = f(x(t))`. It is compared with
//! - the nested oracle on `Dual<Dual<F>>`: inner dual `x₀ + s·v`, outer tangent `v + s·w`; the
//!   mixed coefficient `∂²y/∂s∂r = f″[v, v] + f′[w] = y″(0)`;
//! - a central second difference of the primal along the curve, Richardson-extrapolated
//!   (`(4·D(h/2) − D(h)) / 3` with `D(h) = (f(x(h)) − 2f(x₀) + f(x(−h))) / h²`, error
//!   `O(h⁴) + O(ε/h²)`).
//!
//! Each comparison is relative to the max norm: `max|a − b| ≤ tol · max(1, max|oracle|)`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{dev, prim, rand_data, to_vec, F};
use burn::tensor::{Shape, TensorData};
use burn_backend::ops::FloatTensorOps;
use burn_backend::tensor::FloatTensor;
use burn_backend::{Slice, TensorMetadata};
use cdat_core::dual::{Dual, DualTensor};

/// The backend under test.
pub type D1 = Dual<F>;
/// The forward-over-forward oracle.
pub type D2 = Dual<Dual<F>>;

pub type Fn1 = Box<dyn Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1>>;
pub type Fn2 = Box<dyn Fn(Vec<FloatTensor<D2>>) -> FloatTensor<D2>>;

/// Tolerance of every second-order comparison (relative, max norm).
pub const TOL: f64 = 1e-6;
/// Default step of the second difference (extrapolated from `h` and `h/2`).
pub const H: f64 = 1e-3;

/// A rule written once, evaluated on both backends.
pub struct JetFn {
    /// On `Dual<F>`.
    pub d1: Fn1,
    /// On `Dual<Dual<F>>`.
    pub d2: Fn2,
    /// A full-precision reference for the primal (for ops the backend evaluates in lower
    /// precision): the finite differences are taken of it.
    pub reference: Option<Fn1>,
    /// `false`: the op has a JVP rule but no second-order one; a jet through it must panic with
    /// "no second-order rule".
    pub second_rule: bool,
    /// Step of the second difference.
    pub h: f64,
    /// Whether to also run the jet with non-contiguous coefficients.
    pub strided: bool,
}

impl JetFn {
    pub fn new(d1: Fn1, d2: Fn2) -> Self {
        Self {
            d1,
            d2,
            reference: None,
            second_rule: true,
            h: H,
            strided: true,
        }
    }

    /// The op must refuse a jet ("no second-order rule").
    pub fn no_second_rule(mut self) -> Self {
        self.second_rule = false;
        self
    }

    /// Finite differences of `reference` instead of the rule's own primal.
    pub fn with_reference(
        mut self,
        reference: impl Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1> + 'static,
    ) -> Self {
        self.reference = Some(Box::new(reference));
        self
    }

    /// Contiguous coefficients only (for ops the wrapped backend only runs on contiguous
    /// tensors).
    pub fn contiguous_only(mut self) -> Self {
        self.strided = false;
        self
    }

    /// Another step for the second difference (inputs close to a kink).
    pub fn with_h(mut self, h: f64) -> Self {
        self.h = h;
        self
    }
}

/// `jet_fn!(|xs| body)` or `jet_fn!((a, b), |xs| body)`: a [`JetFn`] whose two closures run
/// `body` with `D` naming `Dual<F>` and `Dual<Dual<F>>` in turn. The listed captures are cloned
/// into each closure (the others are moved, so must be `Copy`).
#[allow(unused_macros)]
macro_rules! jet_fn {
    (|$x:ident| $body:expr) => {
        $crate::common::jet::jet_fn!((), |$x| $body)
    };
    (($($cap:ident),* $(,)?), |$x:ident| $body:expr) => {{
        let d1 = {
            #[allow(dead_code)]
            type D = $crate::common::jet::D1;
            $(let $cap = $cap.clone();)*
            move |$x: Vec<::burn_backend::tensor::FloatTensor<D>>| $body
        };
        let d2 = {
            #[allow(dead_code)]
            type D = $crate::common::jet::D2;
            $(let $cap = $cap.clone();)*
            move |$x: Vec<::burn_backend::tensor::FloatTensor<D>>| $body
        };
        $crate::common::jet::JetFn::new(Box::new(d1), Box::new(d2))
    }};
}
#[allow(unused_imports)]
pub(crate) use jet_fn;

/// How the jet's coefficients are laid out in memory (same logical values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    Contiguous,
    /// Stored transposed (last two dims), viewed through `swap_dims` (rank 1: as `Strided`).
    Transposed,
    /// Every other element of a buffer twice as long in the last dim (a step-2 slice).
    Strided,
}

fn values(d: &TensorData) -> Vec<f64> {
    d.clone().convert::<f64>().to_vec::<f64>().unwrap()
}

/// An `F` tensor with the values of `d` in the given layout.
pub fn prim_layout(d: &TensorData, layout: Layout) -> FloatTensor<F> {
    let shape: Vec<usize> = d.shape.to_vec();
    let rank = shape.len();
    match layout {
        Layout::Contiguous => prim(d.clone()),
        Layout::Transposed if rank >= 2 => {
            let swapped = F::float_swap_dims(prim(d.clone()), rank - 2, rank - 1);
            let stored = prim(burn_backend::read_sync(F::float_into_data(swapped)).unwrap());
            F::float_swap_dims(stored, rank - 2, rank - 1)
        }
        Layout::Transposed | Layout::Strided => {
            if rank == 0 {
                return prim(d.clone());
            }
            let last = shape[rank - 1];
            let v = values(d);
            let mut buf = Vec::with_capacity(2 * v.len());
            for (i, x) in v.iter().enumerate() {
                buf.push(*x);
                buf.push(-7.0 - i as f64); // junk between the elements
            }
            let mut wide = shape.clone();
            wide[rank - 1] = 2 * last;
            let stored = prim(TensorData::new(buf, Shape::from(wide.clone())));
            let slices: Vec<Slice> = wide
                .iter()
                .enumerate()
                .map(|(k, &n)| Slice::new(0, Some(n as isize), if k == rank - 1 { 2 } else { 1 }))
                .collect();
            F::float_slice(stored, &slices)
        }
    }
}

/// Output of a jet evaluation: primal, tangent, second (absent coefficients as `None`).
pub struct JetOut {
    pub primal: Vec<f64>,
    pub tangent: Option<Vec<f64>>,
    pub second: Option<Vec<f64>>,
}

fn read_coefficient(
    name: &str,
    what: &str,
    c: Option<FloatTensor<F>>,
    shape: &Shape,
) -> Option<Vec<f64>> {
    c.map(|c| {
        assert_eq!(
            &c.shape(),
            shape,
            "{name}: {what} shape differs from the primal's"
        );
        to_vec(c)
    })
}

/// Evaluates `f` on jets: input `i` is `jet(x₀, v[i], w[i])` when either is set, else a
/// constant. `layouts` gives the layout of primal, tangent and second.
pub fn eval_jet(
    name: &str,
    inputs: &[TensorData],
    v: &[Option<TensorData>],
    w: &[Option<TensorData>],
    layouts: [Layout; 3],
    f: &dyn Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1>,
) -> JetOut {
    let args = inputs
        .iter()
        .zip(v.iter().zip(w))
        .map(|(x, (v, w))| {
            let p = prim_layout(x, layouts[0]);
            if v.is_none() && w.is_none() {
                DualTensor::constant(p)
            } else {
                DualTensor::jet(
                    p,
                    v.as_ref().map(|v| prim_layout(v, layouts[1])),
                    w.as_ref().map(|w| prim_layout(w, layouts[2])),
                )
            }
        })
        .collect();
    let out = f(args);
    let shape = out.primal.shape();
    JetOut {
        tangent: read_coefficient(name, "tangent", out.tangent, &shape),
        second: read_coefficient(name, "second", out.second, &shape),
        primal: to_vec(out.primal),
    }
}

/// Evaluates `f` on jets with every coefficient absent but tracked (`jet(x₀, None, None)`).
pub fn eval_tracked_constants(
    inputs: &[TensorData],
    f: &dyn Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1>,
) -> FloatTensor<D1> {
    f(inputs
        .iter()
        .map(|x| DualTensor::jet(prim(x.clone()), None, None))
        .collect())
}

/// The nested oracle: (primal, first-order coefficient along s, mixed coefficient).
pub fn eval_nested(
    inputs: &[TensorData],
    v: &[Option<TensorData>],
    w: &[Option<TensorData>],
    f: &dyn Fn(Vec<FloatTensor<D2>>) -> FloatTensor<D2>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let args = inputs
        .iter()
        .zip(v.iter().zip(w))
        .map(|(x, (v, w))| {
            let x0 = prim(x.clone());
            if v.is_none() && w.is_none() {
                return DualTensor::constant(DualTensor::constant(x0));
            }
            let vp = v.clone().map(prim);
            let outer_primal = vp.clone().unwrap_or_else(|| {
                F::float_zeros(x0.shape(), &dev(), burn_backend::FloatDType::F64)
            });
            let inner = DualTensor::<F>::new(x0, vp);
            let outer = DualTensor::<F>::new(outer_primal, w.clone().map(prim));
            DualTensor::<Dual<F>>::new(inner, Some(outer))
        })
        .collect();
    let out = f(args);
    let p = to_vec(out.primal.primal.clone());
    let zeros = || vec![0.0; p.len()];
    let t = out.primal.tangent.map(to_vec).unwrap_or_else(zeros);
    let mixed = out
        .tangent
        .and_then(|t| t.tangent)
        .map(to_vec)
        .unwrap_or_else(zeros);
    (p, t, mixed)
}

fn on_curve(x: &TensorData, v: &Option<TensorData>, w: &Option<TensorData>, t: f64) -> TensorData {
    let mut xs = values(x);
    if let Some(v) = v {
        for (a, b) in xs.iter_mut().zip(values(v)) {
            *a += t * b;
        }
    }
    if let Some(w) = w {
        for (a, b) in xs.iter_mut().zip(values(w)) {
            *a += 0.5 * t * t * b;
        }
    }
    TensorData::new(xs, x.shape.clone())
}

/// Primal of `f` on constants.
pub fn eval_primal(
    inputs: &[TensorData],
    f: &dyn Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1>,
) -> Vec<f64> {
    to_vec(
        f(inputs
            .iter()
            .map(|x| DualTensor::constant(prim(x.clone())))
            .collect())
        .primal,
    )
}

/// Central second differences of the primal along the curve at steps `h` and `h/2`:
/// (`D(h)`, `D(h/2)`, Richardson `(4·D(h/2) − D(h))/3`).
pub fn second_difference(
    inputs: &[TensorData],
    v: &[Option<TensorData>],
    w: &[Option<TensorData>],
    h: f64,
    f: &dyn Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let at = |t: f64| -> Vec<f64> {
        let xs: Vec<TensorData> = inputs
            .iter()
            .zip(v.iter().zip(w))
            .map(|(x, (v, w))| on_curve(x, v, w, t))
            .collect();
        eval_primal(&xs, f)
    };
    let y0 = at(0.0);
    let diff = |h: f64| -> Vec<f64> {
        let (p, m) = (at(h), at(-h));
        p.iter()
            .zip(&m)
            .zip(&y0)
            .map(|((p, m), c)| (p - 2.0 * c + m) / (h * h))
            .collect()
    };
    let (d_h, d_h2) = (diff(h), diff(h / 2.0));
    let rich = d_h
        .iter()
        .zip(&d_h2)
        .map(|(a, b)| (4.0 * b - a) / 3.0)
        .collect();
    (d_h, d_h2, rich)
}

/// `max|a − b| / max(1, max|reference|)`.
pub fn rel_err(a: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(a.len(), reference.len(), "length mismatch");
    let scale = reference.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let err = a
        .iter()
        .zip(reference)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if err.is_nan() || a.iter().any(|x| x.is_nan()) {
        return f64::INFINITY;
    }
    err / scale
}

fn head(v: &[f64]) -> &[f64] {
    &v[..v.len().min(6)]
}

fn assert_close(name: &str, what: &str, got: &[f64], oracle: &[f64], tol: f64) {
    let e = rel_err(got, oracle);
    assert!(
        e <= tol,
        "{name}: {what}: rel err {e:e} > {tol:e}\n  got   [..6] = {:?}\n  oracle[..6] = {:?}",
        head(got),
        head(oracle)
    );
}

/// Whether to print every measured error (`CDAT_JET_REPORT=1`, with `--nocapture`).
fn report() -> bool {
    std::env::var_os("CDAT_JET_REPORT").is_some()
}

/// The message of a caught panic.
pub fn panic_message(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else {
        String::from("<non-string panic>")
    }
}

/// Asserts that evaluating `f` on the jets panics with "no second-order rule".
fn assert_refuses(
    name: &str,
    what: &str,
    inputs: &[TensorData],
    v: &[Option<TensorData>],
    w: &[Option<TensorData>],
    f: &JetFn,
) {
    let r = catch_unwind(AssertUnwindSafe(|| {
        eval_jet(name, inputs, v, w, [Layout::Contiguous; 3], &*f.d1)
    }));
    match r {
        Ok(_) => panic!("{name} ({what}): expected a \"no second-order rule\" panic, got a result"),
        Err(e) => {
            let msg = panic_message(&e);
            assert!(
                msg.contains("no second-order rule"),
                "{name} ({what}): panicked, but not with \"no second-order rule\": {msg}"
            );
        }
    }
}

/// The second-order check of `f` at `inputs`, with the inputs in `active` (all when `None`)
/// carrying coefficients:
/// 1. tracked constants give an output without coefficients;
/// 2. for (v, w), (v, 0) and (0, w): the jet's primal, tangent and second agree with the
///    nested oracle, and its second with the extrapolated second difference, to [`TOL`];
/// 3. for (v, w): the same with the coefficients in non-contiguous layouts.
///
/// An op marked [`JetFn::no_second_rule`] must instead panic for (v, w) and (v, 0).
pub fn check_second(name: &str, inputs: &[TensorData], active: Option<&[usize]>, f: &JetFn) {
    let on = |i: usize| active.is_none_or(|a| a.contains(&i));
    let v: Vec<Option<TensorData>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| on(i).then(|| rand_data(&x.shape, -1.0, 1.0, 1000 + i as u64)))
        .collect();
    let w: Vec<Option<TensorData>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| on(i).then(|| rand_data(&x.shape, -1.0, 1.0, 2000 + i as u64)))
        .collect();
    let none: Vec<Option<TensorData>> = vec![None; inputs.len()];

    // 1. No coefficient in, none out (no cost when absent).
    let c = eval_tracked_constants(inputs, &*f.d1);
    assert!(
        c.tangent.is_none() && c.second.is_none(),
        "{name}: tracked constants gave an output with a coefficient (tangent {}, second {})",
        c.tangent.is_some(),
        c.second.is_some()
    );

    if !f.second_rule {
        assert_refuses(name, "v, w", inputs, &v, &w, f);
        assert_refuses(name, "v, 0", inputs, &v, &none, f);
        assert_refuses(name, "0, w", inputs, &none, &w, f);
        return;
    }

    let primal_fn: &dyn Fn(Vec<FloatTensor<D1>>) -> FloatTensor<D1> =
        f.reference.as_deref().unwrap_or(&*f.d1);
    for (label, v, w) in [("v, w", &v, &w), ("v, 0", &v, &none), ("0, w", &none, &w)] {
        let name = format!("{name} [{label}]");
        let jet = eval_jet(&name, inputs, v, w, [Layout::Contiguous; 3], &*f.d1);
        let n = jet.primal.len();
        let zeros = || vec![0.0; n];
        let (np, nt, mixed) = eval_nested(inputs, v, w, &*f.d2);
        let (d_h, d_h2, rich) = second_difference(inputs, v, w, f.h, primal_fn);
        let second = jet.second.clone().unwrap_or_else(zeros);
        let tangent = jet.tangent.clone().unwrap_or_else(zeros);
        if report() {
            eprintln!(
                "JET {name:<60} vs nested {:9.2e}  vs FD(rich h={:.0e}) {:9.2e}  FD(h) {:9.2e}  FD(h/2) {:9.2e}  nested vs FD {:9.2e}  scale {:9.2e}",
                rel_err(&second, &mixed),
                f.h,
                rel_err(&second, &rich),
                rel_err(&second, &d_h),
                rel_err(&second, &d_h2),
                rel_err(&mixed, &rich),
                mixed.iter().fold(0.0f64, |m, x| m.max(x.abs())),
            );
        }
        assert_close(&name, "primal vs nested primal", &jet.primal, &np, 1e-12);
        assert_close(&name, "tangent vs nested tangent", &tangent, &nt, TOL);
        assert_close(
            &name,
            "second vs nested mixed coefficient",
            &second,
            &mixed,
            TOL,
        );
        assert_close(&name, "second vs second difference", &second, &rich, TOL);
        if label == "v, w" && f.strided {
            for layouts in [
                [Layout::Transposed; 3],
                [Layout::Strided; 3],
                [Layout::Contiguous, Layout::Transposed, Layout::Strided],
                [Layout::Strided, Layout::Contiguous, Layout::Transposed],
            ] {
                let j = eval_jet(&name, inputs, v, w, layouts, &*f.d1);
                let what = format!("{layouts:?}");
                assert_close(&name, &format!("{what} primal"), &j.primal, &np, 1e-12);
                let t = j.tangent.unwrap_or_else(zeros);
                assert_close(&name, &format!("{what} tangent"), &t, &nt, TOL);
                let s = j.second.unwrap_or_else(zeros);
                assert_close(&name, &format!("{what} second"), &s, &mixed, TOL);
            }
        }
    }
}

/// First-order check (the existing finite-difference harness) and second-order check.
pub fn check_rule(name: &str, inputs: Vec<TensorData>, active: Option<&[usize]>, f: &JetFn) {
    match &f.reference {
        None => super::check_jvp_with(name, inputs.clone(), active, 1e-6, &*f.d1),
        Some(r) => super::check_jvp_ref(name, inputs.clone(), active, 1e-6, &*f.d1, &**r),
    }
    check_second(name, &inputs, active, f);
}

/// [`check_rule`] with every input active, then with each single input active.
pub fn check_rule_all_and_each(name: &str, inputs: Vec<TensorData>, f: &JetFn) {
    check_rule(name, inputs.clone(), None, f);
    if inputs.len() > 1 {
        for i in 0..inputs.len() {
            check_rule(
                &format!("{name} [input {i} only]"),
                inputs.clone(),
                Some(&[i]),
                f,
            );
        }
    }
}
