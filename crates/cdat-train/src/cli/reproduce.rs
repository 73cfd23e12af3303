//! The options of `cdat-train reproduce`.

use std::path::PathBuf;

use clap::Args;

/// Options of `cdat-train reproduce`.
#[derive(Debug, Clone, Args)]
pub struct ReproduceArgs {
    /// The reproduction plan (TOML); config paths in it are relative to its folder.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "experiments/paper/plan.toml"
    )]
    pub plan: PathBuf,
    /// Run the seconds-long version of every experiment (the plan's `quick` options: a few
    /// steps on tiny subsets). Checks the pipeline, not the science.
    #[arg(long)]
    pub quick: bool,
    /// Folder of the data sets as laid out by `scripts/fetch-datasets.sh DIR` (DIR/mnist,
    /// DIR/cifar10, DIR/tinyshakespeare).
    #[arg(long, value_name = "DIR", default_value = "data")]
    pub data_root: PathBuf,
    /// Folder for the runs (one sub-folder per suite and run; finished runs are archived to
    /// config.toml, summary.json and metrics.jsonl.gz) [default: experiments/runs, the runs
    /// committed with the repository, or runs/paper-quick with --quick].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder for the tables and plots [default: experiments/results, or <out>/results with
    /// --quick].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// The report file [default: experiments/REPORT.md, or <out>/REPORT.md with --quick].
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Only the suites named (comma-separated); the report still covers every suite that has
    /// runs on disk.
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub only: Vec<String>,
    /// Do not train: only rebuild the report from the runs on disk.
    #[arg(long)]
    pub report_only: bool,
    /// Run again even the runs whose folder already holds a finished run of the same config.
    #[arg(long)]
    pub force: bool,
    /// Hide the per-run progress bars.
    #[arg(long)]
    pub no_progress: bool,
}
