//! Command-line interface: `cdat-train [OPTIONS]` trains one run, `cdat-train sweep`,
//! `reproduce` and `simulate` run the experiments. This module holds every command's options
//! (one file per command) and names no command: the crate root dispatches them.

pub mod reproduce;
pub mod simulate;
pub mod sweep;
pub mod train;

use clap::{Parser, Subcommand};

use self::reproduce::ReproduceArgs;
use self::simulate::SimulateArgs;
use self::sweep::SweepArgs;
use self::train::TrainArgs;

const ABOUT: &str =
    "Train a model with a curvature-aware learning-rate tuner (Roulet et al., NeurIPS 2024) \
and record loss, learning rate and sharpness.";

const LONG_ABOUT: &str = "Train a model with a curvature-aware learning-rate tuner (Roulet et al., NeurIPS 2024) \
and record loss, learning rate and sharpness.

With no options it trains a small MLP (784-128-128-10) on the MNIST subset shipped with the project \
(2,048 training images, full batch) with CDAT (sigma = 2) over gradient descent, for 500 steps, on \
the `auto` backend, and writes its files to runs/<date>-<time>-mlp-cdat/.

Settings come from built-in defaults, then the --config TOML file, then the options given here \
(options win). The resolved configuration is saved as config.toml in the output folder; \
`cdat-train --config <run>/config.toml` repeats a run.

Output folder: config.toml, model.json, metrics.jsonl (one JSON line per step, flushed each step), \
summary.json, plots/{loss,lr,sharpness,lr_sharpness,overview}.{png,svg}, checkpoint.ckpt (with a \
SHA-256 checksum and the hash of the resolved config; --resume refuses a damaged checkpoint, an \
edited config.toml and damaged or missing step records, naming the file and line). A run holds \
the lock file .cdat-train.lock (its PID) in its folder: a second run on the folder is refused; \
the lock of a process that no longer runs is taken over.

Ctrl-C / SIGTERM: the run finishes the current step, then writes its metrics, a checkpoint and \
summary.json (status `interrupted`) and exits with 130 (SIGINT) or 143 (SIGTERM); --resume \
continues it. A second signal stops at once.

GPU: --backend wgpu needs a Vulkan driver; on Debian/Ubuntu the software one installs with \
`apt-get install mesa-vulkan-drivers`.

Logging: RUST_LOG=cdat_train=debug prints one line per step (quiet by default).
Failures during a run (a full disk, any I/O error): the temporary files the run made are removed, \
the last checkpoint is kept, summary.json says `failed` with the error (64 KiB are held back in \
.cdat-train.reserve for it), and the same options with --resume continue from the checkpoint, or \
start over from step 0 in the same folder when there is none yet. A plot that cannot be drawn \
(font, encoder, disk) is reported and recorded as `plots_error` in summary.json; the run is kept.

Exit status, the same for every command (train, sweep, reproduce, simulate): 0 done (also when \
a run diverged: see summary.json), 1 failed during the run, 2 refused before starting (invalid \
input: the message names the flag or file), 130/143 interrupted by SIGINT/SIGTERM.";

/// `cdat-train`.
#[derive(Debug, Parser)]
#[command(name = "cdat-train", version, about = ABOUT, long_about = LONG_ABOUT, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand (none: train one run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of a single run.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a grid of trainings sequentially (a log2 grid of learning rates, or sigma × batch
    /// size), one output folder per grid point, and write sweep.csv and sweep.md with the best
    /// point (lowest mean training loss over the last 5 steps).
    Sweep(SweepArgs),
    /// Reproduce the paper's claims: run every experiment of a plan (experiments/paper/
    /// plan.toml; runs already finished are skipped), then write tables, plots and
    /// experiments/REPORT.md from the runs' metrics. --quick runs a seconds-long version.
    Reproduce(ReproduceArgs),
    /// Simulate the paper's simplified model of learning rate and sharpness (Figs. 4 and 9):
    /// constant η, a tuner holding y = ηλ − 2 at −0.1, and CDAT with σ = 2 and σ = 1.9; write
    /// one CSV (t,eta,lambda,x,...,y) and one plot (PNG, SVG) per scenario and summary.csv into
    /// --out, and print final λ, final η and the mean of y over the last 10% of steps.
    Simulate(SimulateArgs),
}
