//! Claim C1: in full batch, the Armijo linesearch and the quadratically greedy tuner lower the
//! loss faster than a tuned constant η at first, but end worse.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::spread;
use crate::experiments::report::runs::Suites;
use crate::experiments::report::stats::Spread;

/// The claim, as the report states it.
pub const STATEMENT: &str = "In full batch, linesearch and quadratically greedy tuners lower the loss faster than a tuned constant η at first but end worse.";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "per suite, base optimizer and tuner, on each seed: the ratio of the tuner's loss at step T/20 to the tuned constant run's (constant chosen on that seed), and the ratio of their final losses (mean of the last 5 steps; a diverged tuner run counts as ∞). The tuner agrees when the mean over seeds of the first ratio is below 1 and of the second above 1. The linesearch is taken at the best point (lowest final loss, per seed) of the grid over its constants that the suite runs (see the plan)";

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | tuner | seeds | tuned constant η | loss at step T/20: tuner / constant | final loss: tuner / constant | agrees |\n|---|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    let mut notes = String::new();
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let edges = sr.over_seeds(|x| x.best_constant(&opt).map(|(_, e)| e));
            let at_edge = edges.iter().filter(|e| **e).count();
            if at_edge > 0 {
                let _ = writeln!(
                    notes,
                    "- `{}`/{opt}: the tuned constant learning rate lies at the edge of its grid on {at_edge} of {} seeds.",
                    s.name,
                    edges.len()
                );
            }
            let lr = Spread::of(sr.over_seeds(|x| x.best_constant(&opt)?.0.lr));
            for tuner in ["linesearch", "greedy"] {
                // (early ratio, final ratio) per seed.
                let pairs = sr.over_seeds(|x| {
                    let (base, _) = x.best_constant(&opt)?;
                    let r = x.best_of(&opt, tuner)?;
                    let t = (r.steps / 20).max(2);
                    Some((r.loss_at(t)? / base.loss_at(t)?, r.score_ratio(base)?))
                });
                if pairs.is_empty() {
                    continue;
                }
                let early = Spread::of(pairs.iter().map(|p| p.0));
                let fin = Spread::of(pairs.iter().map(|p| p.1));
                let ok = Spread::mean_of(&early).is_some_and(|e| e < 1.0)
                    && Spread::mean_of(&fin).is_some_and(|f| f > 1.0);
                total += 1;
                passed += usize::from(ok);
                let _ = writeln!(
                    body,
                    "| `{}` | {opt} | {tuner} | {} | {} | {} | {} | {} |",
                    s.name,
                    pairs.len(),
                    spread(&lr),
                    spread(&early),
                    spread(&fin),
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
        measured: format!(
            "{passed} of {total} suite/optimizer/tuner comparisons agree (seed means)"
        ),
        body,
    }
}
