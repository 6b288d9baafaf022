//! `destroy`: delete the render stack, keeping the render bucket.
//! Exit codes: 0 deleted (or nothing to delete, or declined); 1 failed or
//! refused; 2 bad flags.

use std::process::ExitCode;

use clap::Parser;
use hyperframes_deploy::destroy::{self, DestroyArgs};

#[derive(Debug, Parser)]
#[command(
    name = "destroy",
    version,
    about = "Delete the HyperFrames render stack (the render bucket is retained)"
)]
struct Cli {
    #[command(flatten)]
    args: DestroyArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hyperframes_cli::cli::run("destroy", destroy::run(cli.args))
}
