//! The guards the curvature rules share (CDAT, greedy, sharpness): a zero denominator and the
//! optional cap on η, each explained in the step's note.

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
