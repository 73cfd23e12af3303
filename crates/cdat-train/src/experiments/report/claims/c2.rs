//! Claim C2: Under the linesearch and greedy tuners η falls by
//! orders of magnitude while λmax grows, η·λmax stays just below 2 and ‖g‖ does not explode.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::num;
use crate::experiments::report::runs::Suites;

/// The claim, as the report states it.
pub const STATEMENT: &str = "Under those tuners η falls by orders of magnitude while λmax grows and η·λmax stays just below 2; ‖g‖ does not explode.";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "a run agrees when η falls ≥ 10× (largest η of the first 10% of steps over the mean η of the last 5%), λmax grows ≥ 2× (its largest measurement after its lowest, over the lowest), for GD the median η·λmax over the second half is in [1, 2) (for a preconditioned optimizer the relevant sharpness is that of P^(-1/2) H P^(-1/2), not measured by the trainer, so this part is skipped), and max ‖g‖ < 10‖g₀‖";

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | run | η max (first 10%) / η (last 5%) | λmax: largest after the lowest / lowest | median η·λmax, 2nd half | max ‖g‖ / ‖g₀‖ | agrees |\n|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        for r in sr
            .full_batch()
            .filter(|r| r.tuner == "linesearch" || r.tuner == "greedy")
        {
            let drop = r.lr_max_until(0.1).zip(r.lr_final()).map(|(a, b)| a / b);
            let growth = r.sharpness_rise_after_min();
            // λmax is the top eigenvalue of H; for a preconditioned base optimizer the edge of
            // stability concerns P^(-1/2) H P^(-1/2), which the trainer does not measure.
            let edge = (r.optimizer == "gd")
                .then(|| r.median_edge_second_half())
                .flatten();
            let g = r.grad_norm_ratio();
            let ok = drop.is_some_and(|d| d >= 10.0)
                && growth.is_some_and(|x| x >= 2.0)
                && (r.optimizer != "gd" || edge.is_some_and(|e| (1.0..2.0).contains(&e)))
                && g.is_some_and(|g| g < 10.0);
            total += 1;
            passed += usize::from(ok);
            let _ = writeln!(
                body,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                s.name,
                r.name,
                num(drop),
                num(growth),
                if r.optimizer == "gd" {
                    num(edge)
                } else {
                    "n/a (preconditioned)".into()
                },
                num(g),
                if ok { "yes" } else { "no" }
            );
        }
    }
    ClaimSection {
        id: "C2",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} tuner runs agree"),
        body,
    }
}
