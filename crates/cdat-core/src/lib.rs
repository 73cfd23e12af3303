//! cdat-core: forward-mode autodiff for Burn, exact Hessian-vector products and curvature,
//! and curvature-aware learning-rate tuners (Roulet et al., NeurIPS 2024).

pub mod dual;
