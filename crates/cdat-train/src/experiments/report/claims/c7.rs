//! Claim C7: The best σ shrinks with the batch; an EMA (β = 0.9) on CDAT's numerator and
//! denominator makes σ ≈ 2 more robust across batch sizes.

use std::fmt::Write as _;

use super::verdict::{ClaimSection, Verdict};
use crate::experiments::report::format::num;
use crate::experiments::report::runs::{RunView, Suites};
use crate::experiments::report::stats::mean;

/// The claim, as the report states it.
pub const STATEMENT: &str = "In mini batch the best σ shrinks as the batch shrinks; an EMA (β=0.9) on CDAT's numerator and denominator makes σ≈2 more robust across batch sizes.";

/// The verdict rule, fixed before looking at any run and printed in the report.
pub const RULE: &str = "with each run's final loss on the whole training set averaged over seeds: for each EMA β, the best σ (lowest seed-mean loss) is non-decreasing in the batch size and not the same at both ends; and the mean over batch sizes of loss(σ=2)/best loss is lower with the EMA than without";

/// Checks the claim on the runs (see [`RULE`]); `link` is the results folder as linked from
/// the report.
pub fn check(suites: &Suites, link: &str) -> ClaimSection {
    let mut body = String::new();
    let (mut passed, mut total) = (0, 0);
    let mut measured = Vec::new();
    for (s, sr) in suites {
        let cdat: Vec<&RunView> = sr
            .runs
            .iter()
            .copied()
            .filter(|r| r.tuner == "cdat" && r.batch.is_some())
            .collect();
        if cdat.is_empty() {
            continue;
        }
        let mut batches: Vec<usize> = cdat.iter().filter_map(|r| r.batch).collect();
        batches.sort();
        batches.dedup();
        let mut betas: Vec<f64> = cdat.iter().map(|r| r.beta.unwrap_or(0.0)).collect();
        betas.sort_by(f64::total_cmp);
        betas.dedup();
        let _ = writeln!(
            body,
            "Suite `{}`: best σ (lowest final loss on the whole training set, mean over {} seeds) per batch size.\n\n| EMA β | {} | best σ grows with batch | mean loss(σ=2) / best, over batch sizes |\n|---|{}---|---|",
            s.name,
            sr.seeds().len(),
            batches
                .iter()
                .map(|b| format!("batch {b}"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(batches.len())
        );
        let mut robustness = Vec::new();
        for &beta in &betas {
            let mut bests = Vec::new();
            let mut ratios = Vec::new();
            for &b in &batches {
                let by_sigma = sr.mini_batch_means(b, beta);
                let best = by_sigma
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite())
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                if let (Some((_, bl)), Some((_, l2))) =
                    (best, by_sigma.iter().find(|p| (p.0 - 2.0).abs() < 1e-9))
                {
                    ratios.push(l2 / bl);
                }
                bests.push(best.map(|b| b.0));
            }
            let monotone = bests.iter().all(Option::is_some)
                && bests.windows(2).all(|w| w[0] <= w[1])
                && bests.first() != bests.last();
            let rob = mean(ratios.iter().copied());
            robustness.push((beta, rob));
            total += 1;
            passed += usize::from(monotone);
            let _ = writeln!(
                body,
                "| {beta} | {} | {} | {} |",
                bests
                    .iter()
                    .map(|b| num(*b))
                    .collect::<Vec<_>>()
                    .join(" | "),
                if monotone { "yes" } else { "no" },
                num(rob)
            );
        }
        let ema_helps = match (
            robustness.iter().find(|r| r.0 == 0.0).and_then(|r| r.1),
            robustness.iter().find(|r| r.0 > 0.0).and_then(|r| r.1),
        ) {
            (Some(a), Some(b)) => {
                total += 1;
                passed += usize::from(b < a);
                Some(b < a)
            }
            _ => None,
        };
        let _ = writeln!(
            body,
            "\nEMA makes σ=2 more robust across batch sizes: {}.\n\n![final loss against σ]({link}/{}/sigma_batch.png)\n",
            match ema_helps {
                Some(true) => "yes",
                Some(false) => "no",
                None => "not measured",
            },
            s.name
        );
        measured.push(format!(
            "`{}`: {}",
            s.name,
            robustness
                .iter()
                .map(|(b, r)| format!("(β={b}: σ=2 at {}× best)", num(*r)))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    ClaimSection {
        id: "C7",
        statement: STATEMENT,
        rule: RULE,
        verdict: Verdict::of(passed, total),
        measured: if measured.is_empty() {
            "no mini-batch runs".into()
        } else {
            format!("{passed} of {total} checks agree; {}", measured.join("; "))
        },
        body,
    }
}
