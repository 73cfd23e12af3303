//! `cdat-train`: see `cdat-train --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cdat_train::cli::Cli::parse();
    if let Err(e) = cdat_train::run::interrupt::install() {
        eprintln!("warning: cannot handle SIGINT/SIGTERM ({e}); Ctrl-C stops without a checkpoint");
    }
    std::process::ExitCode::from(cdat_train::main_with(cli))
}
