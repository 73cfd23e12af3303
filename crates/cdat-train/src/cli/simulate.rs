//! The options of `cdat-train simulate`.

use std::path::PathBuf;

use clap::Args;

/// Options of `cdat-train simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Output folder (created if needed): <scenario>.csv, <scenario>.png, <scenario>.svg for
    /// each scenario, and summary.csv. Existing files of the same names are replaced.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of steps of each scenario (the CSVs have N + 1 rows: t = 0..=N); at most
    /// 100,000 (measured at 100,000: 142 MB of files, 124 MB of memory, 1 s).
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub steps: usize,
}
