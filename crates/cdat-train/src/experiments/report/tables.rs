//! The report's tables: `runs.csv` and `runs.md` (every run's figures), `claims.csv` (every
//! claim's verdict).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::claims::verdict::ClaimSection;
use super::format::num;
use super::runs::RunView;
use crate::run::checkpoint::write_atomically;

/// Writes `runs.csv` and `runs.md` into `dir`.
pub fn write_run_tables(runs: &[RunView], dir: &Path) -> Result<()> {
    let mut csv = String::from(
        "suite,run,seed,backend,optimizer,tuner,lr,sigma,beta,batch_size,status,score,initial_loss,final_lr,first_sharpness,max_sharpness,last_sharpness,median_lr_sharpness_2nd_half,time_s\n",
    );
    let mut md = String::from(
        "| suite | run | status | score | η (last 5%) | λmax first → max → last | median η·λmax, 2nd half | time (s) |\n|---|---|---|---|---|---|---|---|\n",
    );
    let o = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    for r in runs {
        let sh = r.sharpness();
        let first = sh.first().map(|p| p.1);
        let last = sh.last().map(|p| p.1);
        let max = sh.iter().map(|p| p.1).reduce(f64::max);
        let s = &r.summary;
        let status = if s.diverged {
            format!("diverged at {}", s.diverged_at_step.unwrap_or(0))
        } else {
            "completed".into()
        };
        let time = s.total_time_s;
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.suite,
            r.name,
            r.seed,
            // The device's description has commas (`wgpu (name — DiscreteGpu, Vulkan, f32)`).
            format!("\"{}\"", s.backend.replace('"', "\"\"")),
            r.optimizer,
            r.tuner,
            o(r.lr),
            o(r.sigma),
            o(r.beta),
            r.batch.map_or("full".into(), |b| b.to_string()),
            status,
            o(r.score()),
            o(s.initial_loss),
            o(r.lr_final()),
            o(first),
            o(max),
            o(last),
            o(r.median_edge_second_half()),
            o(Some(time))
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} → {} → {} | {} | {} |",
            r.suite,
            r.name,
            status,
            num(r.score()),
            num(r.lr_final()),
            num(first),
            num(max),
            num(last),
            num(r.median_edge_second_half()),
            format!("{time:.0}")
        );
    }
    write_atomically(&dir.join("runs.csv"), csv.as_bytes())?;
    write_atomically(&dir.join("runs.md"), md.as_bytes())?;
    Ok(())
}

/// Writes `claims.csv`: one line per claim with its verdict and headline figure.
pub fn write_claims_csv(claims: &[ClaimSection], dir: &Path) -> Result<()> {
    let mut csv = String::from("claim,verdict,measured\n");
    for c in claims {
        let _ = writeln!(
            csv,
            "{},{},\"{}\"",
            c.id,
            c.verdict.text(),
            c.measured.replace('"', "'")
        );
    }
    write_atomically(&dir.join("claims.csv"), csv.as_bytes())?;
    Ok(())
}
