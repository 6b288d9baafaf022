//! `synth`: print the render stack's CloudFormation template
//! (the same command as `hyperframes synth`).

use std::process::ExitCode;

use clap::Parser;
use hyperframes_synth::commands::synth::{run, Args};

fn main() -> ExitCode {
    run(Args::parse())
}
