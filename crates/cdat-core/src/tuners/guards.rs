//! The guards the rules share, each explained in the step's note: a direction that does not
//! descend (linesearch, greedy, CDAT), and a zero denominator and the optional cap on η (the
//! curvature rules: CDAT, greedy, sharpness).

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use super::driver::StepContext;
use crate::curvature::HvpBackend;

/// Whether `u` descends (`gᵀu < 0`); if not, notes that the rule takes `η = 0`.
pub fn descends<B: Backend, M: AutodiffModule<HvpBackend<B>>>(
    ctx: &mut StepContext<'_, B, M>,
) -> bool {
    let descends = ctx.slope < 0.0;
    if !descends {
        ctx.note(format!(
            "not a descent direction (gᵀu = {:e} ≥ 0): η = 0",
            ctx.slope
        ));
    }
    descends
}

/// `scale · n / d` with the shared guards of the curvature rules: zero denominator, cap.
pub fn guarded_ratio(
    ctx_note: &mut dyn FnMut(String),
    scale: f64,
    n: f64,
    d: f64,
    max_lr: Option<f64>,
) -> f64 {
    if d == 0.0 {
        return match max_lr {
            Some(cap) if n > 0.0 => {
                ctx_note(format!(
                    "zero curvature: η undefined, using the cap max_lr = {cap:e}"
                ));
                cap
            }
            _ => {
                ctx_note(
                    "zero curvature: η undefined, η = 0 (set max_lr to step anyway)".to_string(),
                );
                0.0
            }
        };
    }
    let eta = scale * n / d;
    match max_lr {
        Some(cap) if eta > cap => {
            ctx_note(format!("η = {eta:e} capped at max_lr = {cap:e}"));
            cap
        }
        _ => eta,
    }
}
