//! Base directions: the update `u` a base optimizer would take with learning rate 1.
//!
//! Every optimizer in `burn::optim` that implements [`SimpleOptimizer`](burn::optim::SimpleOptimizer)
//! (Sgd with or without momentum, Adam, AdamW, RmsProp, AdaGrad) takes steps that are affine in
//! the learning rate, with a state update that does not depend on it:
//!
//! ```text
//! step(η, w, g, s) = w + η·u(w, g, s),     s' = s'(w, g, s)   (independent of η)
//! ```
//!
//! so the direction is exactly `u = step(1, w, g, s) − w`, and the step a tuner takes with its
//! own `η` is Burn's own `step(η, w, g, s)` (bitwise what Burn's optimizer would do).
//!
//! - [`BaseOptimizerConfig`]: a Burn optimizer config (`AdamConfig`, `SgdConfig`, ...) or our
//!   [`GradientDescentConfig`] turned into a direction source, with Burn's settings untouched
//!   (weight decay, AMSGrad, gradient clipping);
//! - [`burn_base`]: any Burn `SimpleOptimizer` as a direction ([`BurnBase`]);
//! - [`gradient_descent`]: `u = −g` exactly ([`GradientDescent`]);
//! - [`config`]: [`BaseConfig`], the serde-driven choice the CLI needs, built as a [`DynBase`]
//!   ([`erased`]).
//!
//! Module order (each file imports only from files before it): `direction`, `clipping`,
//! `burn_base`, `gradient_descent`, `erased`, `config`; this file only re-exports.

pub mod burn_base;
pub mod clipping;
pub mod config;
pub mod direction;
pub mod erased;
pub mod gradient_descent;

pub use burn_base::BurnBase;
pub use config::{BaseConfig, BASE_NAMES};
pub use direction::{recorder, BaseDirection, BaseOptimizerConfig};
pub use erased::{DynBase, Erased};
pub use gradient_descent::{GradientDescent, GradientDescentConfig};
