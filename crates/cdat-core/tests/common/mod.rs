//! Shared test harness: checks a forward-mode tangent against a central finite difference in f64.
#![allow(dead_code)]

use burn::backend::NdArray;
use burn::tensor::{Distribution, Shape, TensorData};
use burn_backend::ops::FloatTensorOps;
use burn_backend::tensor::FloatTensor;
use burn_backend::TensorMetadata;
use cdat_core::dual::{Dual, DualTensor};

pub mod jet;

/// The reference backend: NdArray in f64.
pub type F = NdArray<f64>;
/// Forward mode over it.
pub type D = Dual<F>;

pub fn dev() -> <F as burn_backend::backend::BackendTypes>::Device {
    Default::default()
}

/// Deterministic pseudo-random data in `[lo, hi)` (xorshift, seeded), as f64 `TensorData`.
pub fn rand_data(shape: &[usize], lo: f64, hi: f64, seed: u64) -> TensorData {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect();
    TensorData::new(v, Shape::from(shape.to_vec()))
}

fn prim(data: TensorData) -> FloatTensor<F> {
    F::float_from_data(data, &dev())
}

fn to_vec(t: FloatTensor<F>) -> Vec<f64> {
    burn_backend::read_sync(F::float_into_data(t))
        .unwrap()
        .convert::<f64>()
        .to_vec()
        .unwrap()
}

/// Evaluates `f` on the inputs with the given tangents and returns (primal, tangent) as vectors.
pub fn eval_dual(
    inputs: &[TensorData],
    tangents: &[Option<TensorData>],
    f: &dyn Fn(Vec<FloatTensor<D>>) -> FloatTensor<D>,
) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    let args = inputs
        .iter()
        .zip(tangents)
        .map(|(x, t)| DualTensor::new(prim(x.clone()), t.clone().map(prim)))
        .collect();
    let out = f(args);
    let shape = out.shape().to_vec();
    let p = to_vec(out.primal.clone());
    let t = match out.tangent {
        Some(t) => {
            assert_eq!(
                t.shape(),
                out.primal.shape(),
                "tangent shape differs from primal shape"
            );
            to_vec(t)
        }
        None => vec![0.0; p.len()],
    };
    (p, t, shape)
}

fn shifted(x: &TensorData, t: &TensorData, h: f64) -> TensorData {
    let xv = x.clone().convert::<f64>().to_vec::<f64>().unwrap();
    let tv = t.clone().convert::<f64>().to_vec::<f64>().unwrap();
    let v: Vec<f64> = xv.iter().zip(&tv).map(|(a, b)| a + h * b).collect();
    TensorData::new(v, x.shape.clone())
}

/// Checks the JVP of `f` at `inputs` along random tangents (one per input, or only for the
/// inputs whose index is in `active`, when given) against a central finite difference.
/// Relative tolerance `tol` on the max-norm; panics with `name` on mismatch.
pub fn check_jvp_with(
    name: &str,
    inputs: Vec<TensorData>,
    active: Option<&[usize]>,
    tol: f64,
    f: impl Fn(Vec<FloatTensor<D>>) -> FloatTensor<D>,
) {
    let tangents: Vec<Option<TensorData>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let on = active.map_or(true, |a| a.contains(&i));
            on.then(|| rand_data(&x.shape, -1.0, 1.0, 1000 + i as u64))
        })
        .collect();
    let (_, jvp, _) = eval_dual(&inputs, &tangents, &f);
    let h = 1e-5;
    let at = |sign: f64| -> Vec<f64> {
        let xs: Vec<TensorData> = inputs
            .iter()
            .zip(&tangents)
            .map(|(x, t)| match t {
                Some(t) => shifted(x, t, sign * h),
                None => x.clone(),
            })
            .collect();
        let none = vec![None; xs.len()];
        eval_dual(&xs, &none, &f).0
    };
    let (plus, minus) = (at(1.0), at(-1.0));
    let fd: Vec<f64> = plus
        .iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    assert_eq!(fd.len(), jvp.len(), "{name}: length mismatch");
    let scale = fd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let err = fd
        .iter()
        .zip(&jvp)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= tol * scale,
        "{name}: JVP differs from finite difference: max abs err {err:e}, scale {scale:e}\n jvp[..6]={:?}\n fd [..6]={:?}",
        &jvp[..jvp.len().min(6)],
        &fd[..fd.len().min(6)]
    );
}

/// [`check_jvp_with`] with every input active and tolerance 1e-6.
pub fn check_jvp(
    name: &str,
    inputs: Vec<TensorData>,
    f: impl Fn(Vec<FloatTensor<D>>) -> FloatTensor<D>,
) {
    check_jvp_with(name, inputs, None, 1e-6, f)
}

/// Random normal data (for convenience in tests that want Burn's RNG).
pub fn normal(shape: &[usize]) -> TensorData {
    let t = F::float_random(
        Shape::from(shape.to_vec()),
        Distribution::Normal(0.0, 1.0),
        &dev(),
        burn_backend::FloatDType::F64,
    );
    burn_backend::read_sync(F::float_into_data(t)).unwrap()
}

/// Like [`check_jvp_with`], but the finite difference is taken of `f_ref`, a full-precision
/// reference for the same function (for ops that the backend evaluates in lower precision, e.g.
/// NdArray's sigmoid, which goes through f32 even for f64 tensors). The primal of `f` must also
/// match `f_ref` to `tol` relative. Only the primal of `f_ref` is used.
pub fn check_jvp_ref(
    name: &str,
    inputs: Vec<TensorData>,
    active: Option<&[usize]>,
    tol: f64,
    f: impl Fn(Vec<FloatTensor<D>>) -> FloatTensor<D>,
    f_ref: impl Fn(Vec<FloatTensor<D>>) -> FloatTensor<D>,
) {
    let tangents: Vec<Option<TensorData>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let on = active.is_none_or(|a| a.contains(&i));
            on.then(|| rand_data(&x.shape, -1.0, 1.0, 1000 + i as u64))
        })
        .collect();
    let (primal, jvp, _) = eval_dual(&inputs, &tangents, &f);
    let none = vec![None; inputs.len()];
    let (primal_ref, _, _) = eval_dual(&inputs, &none, &f_ref);
    let pscale = primal_ref.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let perr = primal
        .iter()
        .zip(&primal_ref)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        perr <= tol * pscale,
        "{name}: primal differs from the reference: max abs err {perr:e}"
    );
    let h = 1e-5;
    let at = |sign: f64| -> Vec<f64> {
        let xs: Vec<TensorData> = inputs
            .iter()
            .zip(&tangents)
            .map(|(x, t)| match t {
                Some(t) => shifted(x, t, sign * h),
                None => x.clone(),
            })
            .collect();
        eval_dual(&xs, &none, &f_ref).0
    };
    let (plus, minus) = (at(1.0), at(-1.0));
    let fd: Vec<f64> = plus
        .iter()
        .zip(&minus)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    assert_eq!(fd.len(), jvp.len(), "{name}: length mismatch");
    let scale = fd.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let err = fd
        .iter()
        .zip(&jvp)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= tol * scale,
        "{name}: JVP differs from finite difference of the reference: max abs err {err:e}, scale {scale:e}\n jvp[..6]={:?}\n fd [..6]={:?}",
        &jvp[..jvp.len().min(6)],
        &fd[..fd.len().min(6)]
    );
}
