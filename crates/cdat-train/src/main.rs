//! `cdat-train`: see `cdat-train --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cdat_train::cli::Cli::parse();
    std::process::ExitCode::from(cdat_train::main_with(cli))
}
