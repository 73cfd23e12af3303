//! Forward-mode automatic differentiation as a Burn backend decorator.
//!
//! `Dual<B>` wraps any backend `B`. Each float tensor carries a *primal* value, an optional
//! *tangent* (a directional derivative) and, for a second-order *jet*, an optional second-order
//! coefficient: the tensor stands for a curve `x(t) = x₀ + t·x₁ + ½t²·x₂` ([`DualTensor`]).
//! Every float operation maps the coefficients of its inputs to those of its output with its
//! jet rule (the JVP for the tangent; see `rules` for the algebra); int, bool and quantized
//! tensors pass straight through to `B`. An absent coefficient means zero and costs nothing but
//! a branch, and a first-order dual tensor never computes a second coefficient.
//!
//! Stacked under Burn's reverse mode, `Autodiff<Dual<B>>` computes gradients whose tangents are
//! Hessian-vector products (forward-over-reverse). A jet through a plain forward pass gives
//! `f(w + t·u)` to second order: with parameters `(w, u, 0)` the loss's coefficients are
//! `f`, `gᵀu` and `uᵀHu`, with no tape (see [`crate::curvature`]).
//!
//! This module is the only place that depends on Burn's backend traits (Burn 0.21.0).

mod activation_ops;
mod float_ops;
mod module_ops;
mod passthrough;
mod rules;
mod tensor;

use core::marker::PhantomData;

use burn::tensor::{Tensor, TensorPrimitive};
use burn_backend::backend::{Backend, BackendTypes, ExecutionError};
use burn_backend::DTypeUsageSet;

pub use tensor::DualTensor;

/// Forward-mode autodiff decorator over the backend `B` (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Dual<B> {
    _b: PhantomData<B>,
}

impl<B: Backend> BackendTypes for Dual<B> {
    type Device = B::Device;

    type FloatTensorPrimitive = DualTensor<B>;
    type FloatElem = B::FloatElem;

    type IntTensorPrimitive = B::IntTensorPrimitive;
    type IntElem = B::IntElem;

    type BoolTensorPrimitive = B::BoolTensorPrimitive;
    type BoolElem = B::BoolElem;

    type QuantizedTensorPrimitive = B::QuantizedTensorPrimitive;
}

impl<B: Backend> Backend for Dual<B> {
    fn name(device: &Self::Device) -> String {
        format!("dual<{}>", B::name(device))
    }

    fn seed(device: &Self::Device, seed: u64) {
        B::seed(device, seed)
    }

    fn sync(device: &Self::Device) -> Result<(), ExecutionError> {
        B::sync(device)
    }

    fn memory_persistent_allocations<
        Output: Send,
        Input: Send,
        Func: Fn(Input) -> Output + Send,
    >(
        device: &Self::Device,
        input: Input,
        func: Func,
    ) -> Output {
        B::memory_persistent_allocations(device, input, func)
    }

    fn memory_cleanup(device: &Self::Device) {
        B::memory_cleanup(device)
    }

    fn supports_dtype(device: &Self::Device, dtype: burn_backend::DType) -> bool {
        B::supports_dtype(device, dtype)
    }

    fn dtype_usage(device: &Self::Device, dtype: burn_backend::DType) -> DTypeUsageSet {
        B::dtype_usage(device, dtype)
    }

    fn device_count(type_id: u16) -> usize {
        B::device_count(type_id)
    }
}

/// Tensor-level helpers: attach and read tangents on `Tensor<Dual<B>, D>`.
impl<B: Backend> Dual<B> {
    /// A dual tensor with the given primal and tangent (shapes must match).
    pub fn with_tangent<const D: usize>(
        primal: Tensor<B, D>,
        tangent: Tensor<B, D>,
    ) -> Tensor<Dual<B>, D> {
        assert_eq!(
            primal.shape(),
            tangent.shape(),
            "Dual::with_tangent: primal and tangent shapes differ"
        );
        Tensor::from_primitive(TensorPrimitive::Float(DualTensor::new(
            primal.into_primitive().tensor(),
            Some(tangent.into_primitive().tensor()),
        )))
    }

    /// A dual tensor with no tangent (a constant for forward mode).
    pub fn constant<const D: usize>(primal: Tensor<B, D>) -> Tensor<Dual<B>, D> {
        Tensor::from_primitive(TensorPrimitive::Float(DualTensor::new(
            primal.into_primitive().tensor(),
            None,
        )))
    }

    /// A second-order jet with the given coefficients: the curve
    /// `primal + t·tangent + ½t²·second` (shapes must match; `None` is zero).
    pub fn with_jet<const D: usize>(
        primal: Tensor<B, D>,
        tangent: Tensor<B, D>,
        second: Option<Tensor<B, D>>,
    ) -> Tensor<Dual<B>, D> {
        assert_eq!(
            primal.shape(),
            tangent.shape(),
            "Dual::with_jet: primal and tangent shapes differ"
        );
        if let Some(s) = &second {
            assert_eq!(
                primal.shape(),
                s.shape(),
                "Dual::with_jet: primal and second-order coefficient shapes differ"
            );
        }
        Tensor::from_primitive(TensorPrimitive::Float(DualTensor::jet(
            primal.into_primitive().tensor(),
            Some(tangent.into_primitive().tensor()),
            second.map(|s| s.into_primitive().tensor()),
        )))
    }

    /// Primal, tangent and second-order coefficient of a jet (`None` where zero).
    #[allow(clippy::type_complexity)]
    pub fn split_jet<const D: usize>(
        tensor: Tensor<Dual<B>, D>,
    ) -> (Tensor<B, D>, Option<Tensor<B, D>>, Option<Tensor<B, D>>) {
        let t = tensor.into_primitive().tensor();
        let wrap = |p| Tensor::from_primitive(TensorPrimitive::Float(p));
        (wrap(t.primal), t.tangent.map(wrap), t.second.map(wrap))
    }

    /// The primal value of a dual tensor.
    pub fn primal<const D: usize>(tensor: Tensor<Dual<B>, D>) -> Tensor<B, D> {
        Self::split(tensor).0
    }

    /// Primal and tangent of a dual tensor; the tangent is `None` when it is identically zero.
    pub fn split<const D: usize>(
        tensor: Tensor<Dual<B>, D>,
    ) -> (Tensor<B, D>, Option<Tensor<B, D>>) {
        let t = tensor.into_primitive().tensor();
        (
            Tensor::from_primitive(TensorPrimitive::Float(t.primal)),
            t.tangent
                .map(|t| Tensor::from_primitive(TensorPrimitive::Float(t))),
        )
    }

    /// The tangent of a dual tensor, zeros when absent.
    pub fn tangent<const D: usize>(tensor: Tensor<Dual<B>, D>) -> Tensor<B, D> {
        let (p, t) = Self::split(tensor);
        t.unwrap_or_else(|| p.zeros_like())
    }
}
