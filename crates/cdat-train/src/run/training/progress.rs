//! The progress bar of a run and its message.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::metrics::StepRecord;

/// A bar for `total` steps at `position`, drawn on stderr when `show` (else hidden).
pub fn progress_bar(show: bool, total: u64, position: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.set_position(position);
    bar
}

/// Loss, η and the last finite λmax.
pub fn progress_message(r: &StepRecord, last_sharpness: Option<f64>) -> String {
    let f = |x: Option<f64>| x.map_or("nan".to_string(), |v| format!("{v:.4}"));
    let s = last_sharpness.map_or("-".to_string(), |v| format!("{v:.2}"));
    format!(
        "loss {} η {} λmax {}",
        f(r.loss),
        r.lr.map_or("nan".into(), |v| format!("{v:.3e}")),
        s
    )
}
