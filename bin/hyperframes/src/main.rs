//! `hyperframes`: every program of the project as one command, like
//! `remotion` or `rg`: `render` (locally or on a stack), `sites`,
//! `progress`, `cancel`, `policies`, `invoke`, `local-stack`, `bench`,
//! and `synth`, `deploy`, `destroy`, `package` (which also keep their own
//! binaries, so `cargo run --bin synth` and `cargo run --bin deploy` work
//! as documented).
//!
//!   cargo install --path bin/hyperframes
//!   hyperframes render ./my-project --out out.mp4

mod invoke;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hyperframes_bench::{
    local as local_bench, render as render_bench, soak as soak_bench, synth as synth_bench,
};
use hyperframes_deploy::{deploy::DeployArgs, destroy::DestroyArgs};
use hyperframes_local::commands::local_stack;
use hyperframes_render::commands::{cancel, policies, progress, render, render_batch, sites};
use hyperframes_synth::commands::synth;

/// HyperFrames' distributed video rendering on AWS.
#[derive(Debug, Parser)]
#[command(name = "hyperframes", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a project to video, on this machine or on a deployed stack.
    Render(Box<render::Args>),
    /// Render one template once per row of a JSONL file (resumable).
    RenderBatch(Box<render_batch::Args>),
    /// Upload a project once as a content-addressed site.
    Sites(sites::Args),
    /// A render's state, progress and accrued cost.
    Progress(progress::Args),
    /// Stop a running render and report what it left in S3.
    Cancel(cancel::Args),
    /// The least-privilege IAM policies the programs need.
    Policies(policies::Args),
    /// Run one render-function event on this machine, like `sam local invoke`.
    Invoke(invoke::Args),
    /// Rehearse the stack offline: a Lambda-like jail, Step Functions and S3.
    LocalStack(local_stack::Args),
    /// Benchmarks that print tables (render, local stack, synth).
    #[command(subcommand)]
    Bench(Bench),
    /// Print the render stack's CloudFormation template.
    Synth(synth::Args),
    /// Deploy the stack through a CloudFormation change set.
    Deploy(Box<DeployArgs>),
    /// Delete the stack (the render bucket is retained).
    Destroy(DestroyArgs),
    /// Build the Lambda handler package that `deploy` uploads.
    Package(hyperframes_deploy::commands::package::Args),
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// The producer: peer comparison, throughput, hold frames, calibration.
    Render(Box<render_bench::Args>),
    /// A render through the local stack beside the same render in process.
    Local(local_bench::Args),
    /// One render through the local stack at several Lambda memory sizes:
    /// billed GB-s and cost per rendered minute at each.
    Memory(hyperframes_bench::memory::Args),
    /// A long render (10 minutes of 1080p30 with audio) through the local
    /// stack, a cold instance per chunk: Lambda's wall time and cost per
    /// rendered minute, modelled from the billed invocations.
    Long(hyperframes_bench::long::Args),
    /// Four renders at once through the local stack with an instance
    /// killed, S3 500s and a cancel: nothing lost, nothing left.
    Soak(soak_bench::Args),
    /// How long synthesizing the stack takes.
    Synth(synth_bench::Args),
    /// A render-batch beside the same renders one by one (local stack).
    Batch(hyperframes_bench::batch::Args),
    /// The cost estimate against the GB-seconds the same renders bill.
    Estimate(hyperframes_bench::estimate::Args),
    /// Plan time with the template planned once against compiling it
    /// every time (and variables against the peer CLI).
    PlanReuse(hyperframes_bench::plan_reuse::Args),
    /// The reference's regression cases (or registry demos) against its own renderer.
    Reference(hyperframes_bench::reference::Args),
    /// The assemble of a long render's chunks with audio (200 chunks of
    /// 1080p30 by default): wall, CPU, bytes read and written.
    Assemble(hyperframes_bench::assemble::Args),
    /// A chunk's start to its first frame, stage by stage (plan load,
    /// encoder start, browser launch, page ready, first capture).
    ColdStart(hyperframes_bench::cold_start::Args),
}

fn main() -> ExitCode {
    // The local Lambda service starts each instance through this
    // executable (`hyperframes jail-init ... -- bootstrap`); that entry
    // is not a user's command, so it is not in the help.
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "jail-init") {
        return hyperframes_local::jail::main(&argv[2..]);
    }
    let cli = Cli::parse();
    // The producer's `HF_*` settings, read once here (every bad one named).
    match hyperframes_producer::settings::Settings::from_lookup(&|k| std::env::var(k).ok()) {
        Ok(s) => hyperframes_producer::settings::install(s),
        Err(e) => {
            eprintln!("hyperframes: {e}");
            return ExitCode::from(2);
        }
    }
    match cli.command {
        Command::Render(a) => render::run(*a),
        Command::RenderBatch(a) => render_batch::run(*a),
        Command::Sites(a) => sites::run(a),
        Command::Progress(a) => progress::run(a),
        Command::Cancel(a) => cancel::run(a),
        Command::Policies(a) => policies::run(a),
        Command::Invoke(a) => invoke::run(a),
        Command::LocalStack(a) => local_stack::run(a),
        Command::Bench(Bench::Render(a)) => render_bench::run(*a),
        Command::Bench(Bench::Local(a)) => local_bench::run(a),
        Command::Bench(Bench::Memory(a)) => hyperframes_bench::memory::run(a),
        Command::Bench(Bench::Long(a)) => hyperframes_bench::long::run(a),
        Command::Bench(Bench::Estimate(a)) => hyperframes_bench::estimate::run(a),
        Command::Bench(Bench::Soak(a)) => soak_bench::run(a),
        Command::Bench(Bench::PlanReuse(a)) => hyperframes_bench::plan_reuse::run(a),
        Command::Bench(Bench::Reference(a)) => hyperframes_bench::reference::run(a),
        Command::Bench(Bench::Batch(a)) => hyperframes_bench::batch::run(a),
        Command::Bench(Bench::Assemble(a)) => hyperframes_bench::assemble::run(a),
        Command::Bench(Bench::ColdStart(a)) => hyperframes_bench::cold_start::run(a),
        Command::Bench(Bench::Synth(a)) => {
            synth_bench::run(a);
            ExitCode::SUCCESS
        }
        Command::Synth(a) => synth::run(a),
        Command::Deploy(a) => {
            hyperframes_cli::cli::run("deploy", hyperframes_deploy::deploy::run(*a))
        }
        Command::Destroy(a) => {
            hyperframes_cli::cli::run("destroy", hyperframes_deploy::destroy::run(a))
        }
        Command::Package(a) => hyperframes_deploy::commands::package::run(a),
    }
}
