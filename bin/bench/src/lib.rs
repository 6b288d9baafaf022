//! `hyperframes bench`: every benchmark of the project in one package, each
//! printing a table from real runs (speed and memory targets live here,
//! not in timed tests).
//!
//! - [`render`]: the producer (throughput, capture alternatives, frame
//!   reuse, quality, calibration) and the end-to-end comparison with
//!   HyperFrames' own CLI ([`peer`]);
//! - [`local`]: one render through the local stack beside the same render
//!   in process;
//! - [`soak`]: four renders at once through the local stack with an
//!   instance killed, S3 500s and a cancel, checked for losses and leftovers;
//! - [`batch`]: a render-batch beside the same renders one by one, and
//!   the plan's billed time for the first row against the rest;
//! - [`synth`]: how long synthesizing the stack takes;
//! - [`assemble`]: the assemble of a long render's chunks with audio;
//! - [`cold_start`]: a chunk's start to its first frame, stage by stage;
//! - [`long`]: a 10-minute render through the local stack, a cold instance
//!   per chunk, and the Lambda wall time and cost per minute it models;
//! - [`estimate`]: the cost estimate against what the same renders bill;
//! - [`plan_reuse`]: plan time with the template planned once against
//!   compiling it every time, and variables against the peer CLI;
//! - [`reference`]: the reference's own regression cases and registry
//!   demos, ours against the peer CLI with each case's thresholds.

pub mod assemble;
pub mod batch;
pub mod cold_start;
pub mod estimate;
mod io_counters;
pub mod local;
pub mod long;
mod long_project;
pub mod memory;
pub mod peer;
pub mod plan_reuse;
mod plan_reuse_handler;
mod plan_reuse_peer;
pub mod reference;
pub mod render;
pub mod soak;
pub mod synth;

/// A bench's exit status: 0 when it ran and met its checks, 1 when a check
/// missed (its table says which) or it could not run (the error is
/// printed with the bench's name).
pub fn exit(name: &str, outcome: anyhow::Result<bool>) -> std::process::ExitCode {
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench {name}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
