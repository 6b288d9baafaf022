//! `package`: build the handler ZIP that `deploy` uploads (the same
//! command as `hyperframes package`).

use std::process::ExitCode;

use clap::Parser;
use hyperframes_deploy::commands::package::{run, Args};

fn main() -> ExitCode {
    run(Args::parse())
}
