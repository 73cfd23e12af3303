//! Claim C4: CDAT with σ = 2 matches or beats the tuned constant η and beats σ = 1
//! (σ = 2.0625 is often better still; σ = 2.5 diverges).

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::num;
use crate::experiments::report::runs::{RunView, Suites};

/// The claim, as the report states it.
pub const STATEMENT: &str = "CDAT with σ=2 matches or beats the tuned constant η and beats σ=1 (σ=2.0625 often better still; σ=2.5 diverges).";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "per suite and optimizer: final loss of CDAT σ=2 ≤ 1.05 × the tuned constant run's, and below CDAT σ=1's (ratios are final losses over the tuned constant's; a diverged run counts as ∞)";

/// Checks the claim on the runs (see [`RULE`]).
pub fn check(suites: &Suites) -> ClaimSection {
    let mut body = String::from(
        "| suite | optimizer | σ=1 / const | σ=2 / const | σ=2.0625 / const | σ=2.5 | agrees |\n|---|---|---|---|---|---|---|\n",
    );
    let (mut passed, mut total) = (0, 0);
    let mut better_2_0625 = 0;
    let mut diverged_2_5 = 0;
    for (s, sr) in suites {
        for opt in sr.optimizers() {
            let Some((base, _)) = sr.best_constant(&opt) else {
                continue;
            };
            let Some(c2) = sr.find(&opt, "cdat", Some(2.0)) else {
                continue;
            };
            let ratio = |r: Option<&RunView>| r.and_then(|r| r.score_ratio(base));
            let r1 = ratio(sr.find(&opt, "cdat", Some(1.0)));
            let r2 = ratio(Some(c2));
            let r2b = ratio(sr.find(&opt, "cdat", Some(2.0625)));
            let c25 = sr.find(&opt, "cdat", Some(2.5));
            let ok = r2.is_some_and(|x| x <= 1.05) && r1.zip(r2).is_some_and(|(a, b)| b < a);
            if r2b.zip(r2).is_some_and(|(a, b)| a < b) {
                better_2_0625 += 1;
            }
            if c25.is_some_and(|r| r.diverged()) {
                diverged_2_5 += 1;
            }
            total += 1;
            passed += usize::from(ok);
            let _ = writeln!(
                body,
                "| `{}` | {opt} | {} | {} | {} | {} | {} |",
                s.name,
                num(r1),
                num(r2),
                num(r2b),
                match c25 {
                    None => "–".to_string(),
                    Some(r) if r.diverged() => "diverged".to_string(),
                    Some(r) => format!("{} (did not diverge)", num(ratio(Some(r)))),
                },
                if ok { "yes" } else { "no" }
            );
        }
    }
    let _ = writeln!(
        body,
        "\nσ=2.0625 better than σ=2 in {better_2_0625} of {total}; σ=2.5 diverged in {diverged_2_5} of {total}."
    );
    ClaimSection {
        id: "C4",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: format!(
            "{passed} of {total} agree; σ=2.0625 better than σ=2 in {better_2_0625}, σ=2.5 diverged in {diverged_2_5}"
        ),
        body,
    }
}
