//! cdat-train: the trainer of the project. It wires the curvature engine and tuners
//! (`cdat-core`), the models (`cdat-models`) and the data (`cdat-data`) together: configs and
//! flags, backend choice, the training loop with sharpness tracking, metrics, plots,
//! checkpoints and sweeps. It writes no math of its own.
//!
//! Layers, each naming only those below it (checked by `tests/layout.rs`):
//!
//! - this file: the commands, dispatched from the parsed command line;
//! - [`experiments`]: sweep, reproduce (plan and report), simulate;
//! - [`cli`]: every command's options;
//! - [`run`]: one training run (configuration, data, backend, training loop, checkpoints,
//!   metrics, run plots);
//! - [`plot`]: the drawing of every figure.

pub mod cli;
pub mod experiments;
pub mod plot;
pub mod run;

use anyhow::Result;

use crate::cli::train::TrainArgs;
use crate::cli::{Cli, Command};
use crate::experiments::{reproduce, simulate, sweep};
use crate::run::data::RunData;
use crate::run::error;
use crate::run::execute::{self, RunOptions};
use crate::run::interrupt;

/// Runs the command line; returns the process exit status.
pub fn main_with(cli: Cli) -> u8 {
    init_tracing();
    let result = match &cli.command {
        Some(Command::Sweep(args)) => sweep::run_sweep(args).map(|text| println!("{text}")),
        Some(Command::Reproduce(args)) => {
            reproduce::run_reproduce(args).map(|text| println!("{text}"))
        }
        Some(Command::Simulate(args)) => {
            simulate::run_simulate(args).map(|text| println!("{text}"))
        }
        None => match train_command(&cli.train) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            error::exit_code(&e)
        }
    }
}

/// `cdat-train [OPTIONS]`: one run. Returns the exit status: 0, or 128 + N when signal N
/// interrupted the run (its checkpoint and summary are written).
pub fn train_command(args: &TrainArgs) -> Result<u8> {
    let config = args.resolve()?;
    if args.print_config {
        config.validate()?;
        print!("{}", config.to_toml_string()?);
        return Ok(0);
    }
    if args.resume && config.output.dir.is_none() {
        return Err(error::UserError::new(
            "--resume needs --out DIR (the folder of the run to continue)",
        )
        .into());
    }
    config.validate()?;
    let data = RunData::load(&config)?;
    let prepared = execute::prepare(config, &data, execute::default_out_dir)?;
    let backend = execute::resolve_backend(&prepared.config)?;
    let opts = RunOptions {
        resume: args.resume,
        force: args.force,
        progress: !args.no_progress,
    };
    let result = execute::execute(&prepared, &data, &backend, opts)?;
    println!("{}", execute::report(&result));
    Ok(result.interrupted_by.map_or(0, interrupt::exit_status))
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
