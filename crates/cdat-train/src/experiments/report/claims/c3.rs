//! Claim C3: With a constant η, λmax first rises,
//! then hovers near 2/η.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::num;
use crate::experiments::report::runs::Suites;

/// The claim, as the report states it.
pub const STATEMENT: &str = "With a constant η, λmax first rises (progressive sharpening), then hovers near 2/η (edge of stability).";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "for the tuned constant-η GD run of each suite: λmax rises ≥ 1.5× (its largest measurement after its lowest, over the lowest: an initial drop, the catapult phase, is not sharpening), and the median η·λmax over the second half is in [1.5, 2.5]";

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | tuned constant η | λmax: largest after the lowest / lowest | median η·λmax, 2nd half | agrees |\n|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    for (s, sr) in suites {
        let Some((r, _)) = sr.best_constant("gd") else {
            continue;
        };
        let rise = r.sharpness_rise_after_min();
        let edge = r.median_edge_second_half();
        let ok = rise.is_some_and(|x| x >= 1.5) && edge.is_some_and(|e| (1.5..=2.5).contains(&e));
        total += 1;
        passed += usize::from(ok);
        let _ = writeln!(
            body,
            "| `{}` | gd | {} | {} | {} | {} |",
            s.name,
            num(r.lr),
            num(rise),
            num(edge),
            if ok { "yes" } else { "no" }
        );
    }
    ClaimSection {
        id: "C3",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: format!("{passed} of {total} suites agree"),
        body,
    }
}
