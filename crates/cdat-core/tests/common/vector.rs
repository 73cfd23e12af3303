//! The model and helpers of the tuner tests: one parameter vector `w` on the HVP backend over
//! NdArray f64.
#![allow(dead_code)]

use burn::backend::NdArray;
use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use cdat_core::curvature::{parameters, HvpBackend};
use cdat_core::Dual;

/// The reference backend: NdArray in f64.
pub type F = NdArray<f64>;
/// The tuners' backend over it.
pub type H = HvpBackend<F>;

/// A model that is one parameter vector.
#[derive(Module, Debug)]
pub struct Vector<B: Backend> {
    pub w: Param<Tensor<B, 1>>,
}

/// The model with `w = values`.
pub fn vector(values: &[f64]) -> Vector<H> {
    let t = Tensor::<F, 1>::from_data(TensorData::from(values), &Default::default());
    Vector {
        w: Param::from_tensor(lift(t)),
    }
}

/// Its `w`.
pub fn values(m: &Vector<H>) -> Vec<f64> {
    parameters(m).entries()[0]
        .1
        .to_data()
        .to_vec::<f64>()
        .unwrap()
}

/// A constant of the tuners' backend.
pub fn lift<const D: usize>(t: Tensor<F, D>) -> Tensor<H, D> {
    Tensor::from_inner(Dual::constant(t))
}

/// A constant vector of the tuners' backend.
pub fn consts(v: &[f64]) -> Tensor<H, 1> {
    lift(Tensor::<F, 1>::from_data(
        TensorData::from(v),
        &Default::default(),
    ))
}
