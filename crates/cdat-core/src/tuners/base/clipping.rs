//! Gradient clipping as set on a Burn optimizer config. Burn applies it in its optimizer
//! adaptor, not in `SimpleOptimizer::step`, and the config's field is private, so it is read
//! from the config's own serialization (`grad_clipping`, or `gradient_clipping` for Sgd).

use burn::optim::grad_clipping::{GradientClipping, GradientClippingConfig};
use burn::tensor::backend::Backend;
use serde::Serialize;

use crate::params::ParamVec;

/// The clipping the config `config` sets under `key`, if any.
pub fn configured<C: Serialize>(config: &C, key: &str) -> Option<GradientClipping> {
    let value = serde_json::to_value(config).ok()?.get(key)?.clone();
    serde_json::from_value::<Option<GradientClippingConfig>>(value)
        .ok()
        .flatten()
        .map(|c| c.init())
}

/// `g` with each parameter's gradient clipped as Burn's adaptor clips it (by value, or by the
/// norm of that parameter's gradient).
pub fn clip<B: Backend>(g: &ParamVec<B>, clipping: Option<&GradientClipping>) -> ParamVec<B> {
    match clipping {
        Some(c) => g.map(|t| c.clip_gradient(t)),
        None => g.clone(),
    }
}
