//! cdat-core: forward-mode autodiff for Burn, exact Hessian-vector products and curvature,
//! and curvature-aware learning-rate tuners (Roulet et al., NeurIPS 2024).
//!
//! - [`dual`]: `Dual<B>`, forward-mode autodiff as a backend decorator;
//! - [`curvature`]: `hvp` (forward-over-reverse) and `directional_curvature` (`f`, `gᵀu`,
//!   `uᵀHu` from one forward pass of a second-order jet, or forward-over-reverse) on
//!   [`curvature::HvpBackend`] = `Autodiff<Dual<B>>`;
//! - [`spectrum`]: sharpness by power iteration, Lanczos, preconditioned sharpness;
//! - [`params`]: vectors in parameter space keyed by `ParamId`;
//! - [`dynamics`]: the paper's simplified model of the joint dynamics of learning rate and
//!   sharpness (plain `f64`), under a constant rate, a fixed-`y` tuner and CDAT.

pub mod curvature;
pub mod dual;
pub mod dynamics;
pub mod params;
pub mod spectrum;

pub use curvature::{
    directional_curvature, directional_curvature_with, hvp, CurvatureMethod, DirectionalCurvature,
    Hvp, HvpBackend,
};
pub use dual::Dual;
pub use params::ParamVec;
pub mod tuners;
pub use tuners::{BaseConfig, StepReport, Tuner, TunerConfig};
