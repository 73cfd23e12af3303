//! Claim C5: Its η rises early like a warm-up, and λmax stabilises.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::spread;
use crate::experiments::report::runs::{RunView, Suites};
use crate::experiments::report::stats::Spread;

/// The claim, as the report states it.
pub const STATEMENT: &str = "CDAT's η rises early like a warm-up, and λmax stabilises.";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "for CDAT σ=2 (full batch, no EMA), per suite and optimizer with each figure's mean over seeds: the largest η of the first 25% of steps is ≥ 2× the first η, and λmax changes by at most 25% (in absolute value) between the first measurement of the second half and the last";

/// η's early rise and λmax's relative change over the second half of one run.
fn figures(r: &RunView) -> (Option<f64>, Option<f64>) {
    let rise = r.lr_max_until(0.25).zip(r.lr_first()).map(|(a, b)| a / b);
    let sh = r.sharpness();
    let half = r.steps / 2;
    let drift = sh
        .iter()
        .find(|p| p.0 > half)
        .zip(sh.last())
        .map(|(a, b)| (b.1 - a.1) / a.1);
    (rise, drift)
}

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | seeds | η max (first 25%) / η first | λmax relative change over the 2nd half | agrees |\n|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let per_seed = sr.over_seeds(|x| x.find(&opt, "cdat", Some(2.0)).map(figures));
            if per_seed.is_empty() {
                continue;
            }
            let rise = Spread::of(per_seed.iter().filter_map(|f| f.0));
            let drift = Spread::of(per_seed.iter().filter_map(|f| f.1));
            let ok = Spread::mean_of(&rise).is_some_and(|x| x >= 2.0)
                && Spread::mean_of(&drift).is_some_and(|d| d.abs() <= 0.25);
            total += 1;
            passed += usize::from(ok);
            let _ = writeln!(
                body,
                "| `{}` | {opt} | {} | {} | {} | {} |",
                s.name,
                per_seed.len(),
                spread(&rise),
                spread(&drift),
                if ok { "yes" } else { "no" }
            );
        }
    }
    ClaimSection {
        id: "C5",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} suite/optimizer pairs agree (seed means)"),
        body,
    }
}
