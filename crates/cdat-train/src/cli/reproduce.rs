//! The options of `cdat-train reproduce`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

/// Which version of the reproduction: the CPU plan, whose runs are committed, or the
/// paper-scale plan for a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// `experiments/paper/plan.toml`: sizes for 2 CPU cores (NdArray); runs, tables and
    /// report in `experiments/`.
    Cpu,
    /// `experiments/paper/plan-gpu.toml`: paper-scale sizes on `--backend wgpu`, after a
    /// device check (exit status 2 with the reason when no device answers); runs, tables and
    /// report in `runs/paper-gpu/`.
    Gpu,
}

/// Options of `cdat-train reproduce`.
#[derive(Debug, Clone, Args)]
pub struct ReproduceArgs {
    /// The plan and folders to use.
    #[arg(long, value_enum, default_value_t = Profile::Cpu)]
    pub profile: Profile,
    /// The reproduction plan (TOML); config paths in it are relative to its folder [default:
    /// experiments/paper/plan.toml, or plan-gpu.toml with --profile gpu].
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
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
    /// committed with the repository; runs/paper-gpu with --profile gpu; runs/paper-quick or
    /// runs/paper-gpu-quick with --quick].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder for the tables and plots [default: experiments/results, or <out>/results with
    /// --profile gpu or --quick].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// The report file [default: experiments/REPORT.md, or <out>/REPORT.md with --profile gpu
    /// or --quick].
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

impl ReproduceArgs {
    /// The plan file: `--plan`, or the profile's.
    pub fn plan_file(&self) -> PathBuf {
        self.plan.clone().unwrap_or_else(|| {
            Path::new("experiments/paper").join(match self.profile {
                Profile::Cpu => "plan.toml",
                Profile::Gpu => "plan-gpu.toml",
            })
        })
    }
}
