//! Claim C2: Under the linesearch and greedy tuners η falls by
//! orders of magnitude while λmax grows, η·λmax stays just below 2 and ‖g‖ does not explode.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::spread;
use crate::experiments::report::runs::{RunView, Suites};
use crate::experiments::report::stats::Spread;

/// The claim, as the report states it.
pub const STATEMENT: &str = "Under those tuners η falls by orders of magnitude while λmax grows and η·λmax stays just below 2; ‖g‖ does not explode.";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "per suite, base optimizer and tuner (the linesearch at its best grid point per seed, as in C1), with each figure's mean over seeds: η falls ≥ 10× (largest η of the first 10% of steps over the mean η of the last 5%), λmax grows ≥ 2× (its largest measurement after its lowest, over the lowest), for GD the median η·λmax over the second half is in [1, 2) (for a preconditioned optimizer the relevant sharpness is that of P^(-1/2) H P^(-1/2), not measured by the trainer, so this part is skipped), and max ‖g‖ < 10‖g₀‖";

/// The figures of one run: η drop, λmax growth, median η·λmax (GD only), ‖g‖ growth.
fn figures(r: &RunView) -> [Option<f64>; 4] {
    [
        r.lr_max_until(0.1).zip(r.lr_final()).map(|(a, b)| a / b),
        r.sharpness_rise_after_min(),
        // λmax is the top eigenvalue of H; for a preconditioned base optimizer the edge of
        // stability concerns P^(-1/2) H P^(-1/2), which the trainer does not measure.
        (r.optimizer == "gd")
            .then(|| r.median_edge_second_half())
            .flatten(),
        r.grad_norm_ratio(),
    ]
}

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | tuner | seeds | η max (first 10%) / η (last 5%) | λmax: largest after the lowest / lowest | median η·λmax, 2nd half | max ‖g‖ / ‖g₀‖ | agrees |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            for tuner in ["linesearch", "greedy"] {
                let per_seed = sr.over_seeds(|x| x.best_of(&opt, tuner).map(figures));
                if per_seed.is_empty() {
                    continue;
                }
                let [drop, growth, edge, g] =
                    [0, 1, 2, 3].map(|k| Spread::of(per_seed.iter().filter_map(|f| f[k])));
                let m = Spread::mean_of;
                let gd = opt == "gd";
                let ok = m(&drop).is_some_and(|d| d >= 10.0)
                    && m(&growth).is_some_and(|x| x >= 2.0)
                    && (!gd || m(&edge).is_some_and(|e| (1.0..2.0).contains(&e)))
                    && m(&g).is_some_and(|g| g < 10.0);
                total += 1;
                passed += usize::from(ok);
                let _ = writeln!(
                    body,
                    "| `{}` | {opt} | {tuner} | {} | {} | {} | {} | {} | {} |",
                    s.name,
                    per_seed.len(),
                    spread(&drop),
                    spread(&growth),
                    if gd {
                        spread(&edge)
                    } else {
                        "n/a (preconditioned)".into()
                    },
                    spread(&g),
                    if ok { "yes" } else { "no" }
                );
            }
        }
    }
    ClaimSection {
        id: "C2",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: format!(
            "{passed} of {total} suite/optimizer/tuner comparisons agree (seed means)"
        ),
        body,
    }
}
