//! Claim C1: in full batch, the Armijo linesearch and the quadratically greedy tuner lower the
//! loss faster than a tuned constant η at first, but end worse.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::num;
use crate::experiments::report::runs::Suites;

/// The claim, as the report states it.
pub const STATEMENT: &str = "In full batch, linesearch and quadratically greedy tuners lower the loss faster than a tuned constant η at first but end worse.";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "per suite and base optimizer, a tuner agrees when its loss at step T/20 is below the tuned constant run's and its final loss (mean of the last 5 steps) is above it. The linesearch runs use the Optax defaults (c = 1e-4, c₋ = 0.8, c₊ = 1.5, η_max = 1), not the paper's grid over c, c₊ and c₋ (reduced for the 2-core budget)";

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | tuner | tuned constant η | loss at step T/20: tuner / constant | final loss: tuner / constant | agrees |\n|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    let mut notes = String::new();
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let Some((base, at_edge)) = sr.best_constant(&opt) else {
                continue;
            };
            if at_edge {
                let _ = writeln!(
                    notes,
                    "- `{}`/{opt}: the tuned constant learning rate lies at the edge of its grid.",
                    s.name
                );
            }
            for tuner in ["linesearch", "greedy"] {
                let Some(r) = sr.find(&opt, tuner, None) else {
                    continue;
                };
                let t_early = (r.steps / 20).max(2);
                let early = r
                    .loss_at(t_early)
                    .zip(base.loss_at(t_early))
                    .map(|(a, b)| a / b);
                let fin = r.score_ratio(base);
                let ok = early.is_some_and(|e| e < 1.0) && fin.is_some_and(|f| f > 1.0);
                total += 1;
                passed += usize::from(ok);
                let _ = writeln!(
                    body,
                    "| `{}` | {opt} | {tuner} | {} | {} | {} | {} |",
                    s.name,
                    num(base.lr),
                    num(early),
                    num(fin),
                    if ok { "yes" } else { "no" }
                );
            }
        }
    }
    body.push_str(&notes);
    ClaimSection {
        id: "C1",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} tuner runs agree"),
        body,
    }
}
