//! The options of `cdat-train sweep`: the grid and the options of every run.

use clap::{Args, ValueEnum};

use super::train::TrainArgs;

/// Which grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GridKind {
    /// Learning rates 2^k for k from --lr-log2-min to --lr-log2-max (tuner `constant` unless
    /// --tuner names another tuner with an `lr`).
    Lr,
    /// --sigmas × --batch-sizes (tuner `cdat` unless --tuner names another tuner with a `sigma`).
    SigmaBatch,
}

/// Options of `cdat-train sweep`.
#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// The grid to run.
    #[arg(long, value_enum, default_value = "lr", help_heading = "Grid")]
    pub grid: GridKind,
    /// Smallest learning rate of the lr grid, as a power of 2.
    #[arg(long, default_value_t = -6, allow_negative_numbers = true, value_name = "K", help_heading = "Grid")]
    pub lr_log2_min: i32,
    /// Largest learning rate of the lr grid, as a power of 2.
    #[arg(
        long,
        default_value_t = 2,
        allow_negative_numbers = true,
        value_name = "K",
        help_heading = "Grid"
    )]
    pub lr_log2_max: i32,
    /// Spacing of the lr grid in powers of 2.
    #[arg(long, default_value_t = 1, value_name = "D", help_heading = "Grid")]
    pub lr_log2_step: u32,
    /// Values of sigma for the sigma-batch grid (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1.0, 2.0], allow_negative_numbers = true, value_name = "S,...", help_heading = "Grid")]
    pub sigmas: Vec<f64>,
    /// Batch sizes for the sigma-batch grid (comma-separated; `full` = full batch).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["full".to_string()], value_name = "B,...", help_heading = "Grid")]
    pub batch_sizes: Vec<String>,
    /// Options of every run (`--out` is the sweep's folder; each run gets a sub-folder).
    #[command(flatten)]
    pub train: TrainArgs,
}
