//! `deploy`: create or update the render stack through a change set.
//! See README "Deploy". Exit codes: 0 deployed, up to date or dry run;
//! 1 failed or refused (the reason is printed); 2 bad flags.

use std::process::ExitCode;

use clap::Parser;
use hyperframes_deploy::deploy::{self, DeployArgs};

#[derive(Debug, Parser)]
#[command(
    name = "deploy",
    version,
    about = "Deploy the HyperFrames render stack through a CloudFormation change set"
)]
struct Cli {
    #[command(flatten)]
    args: DeployArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hyperframes_cli::cli::run("deploy", deploy::run(cli.args))
}
