//! `package` (also `hyperframes package`): build the handler ZIP that `deploy` uploads: a release
//! `bootstrap` plus the pinned Chromium and ffmpeg payload.
//! Exit codes: 0 written, 1 failed or refused (the reason is printed), 2 bad flags.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::deploy::workspace_root;
use crate::handler_zip::{self, PayloadArgs};
use crate::package::Bootstrap;
use clap::Parser;

/// Build the Lambda handler package (deterministic: equal inputs, equal SHA-256).
#[derive(Debug, Parser)]
#[command(name = "package", version)]
pub struct Args {
    /// Where the ZIP goes.
    #[arg(long, value_name = "FILE", default_value = "dist/handler.zip")]
    out: PathBuf,
    /// Use this prebuilt x86_64 Linux `bootstrap` instead of building the handler crate.
    #[arg(long, value_name = "PATH")]
    bootstrap: Option<PathBuf>,
    /// Cargo target directory for the release build [default: $CARGO_TARGET_DIR/lambda or target/lambda].
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Zip this directory (laid out as /var/task) instead of the pinned payload.
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
    #[command(flatten)]
    payload: PayloadArgs,
}

/// Builds and describes the ZIP.
pub fn run(cli: Args) -> ExitCode {
    let bootstrap = match cli.bootstrap {
        Some(p) => Bootstrap::Prebuilt(p),
        None => Bootstrap::Build {
            workspace: workspace_root(),
            target_dir: cli.target_dir.unwrap_or_else(default_target_dir),
        },
    };
    match handler_zip::build(
        &bootstrap,
        cli.runtime_dir.as_deref(),
        &cli.payload,
        &cli.out,
    ) {
        Ok(built) => {
            for line in handler_zip::describe(&built) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("package: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn default_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("lambda")
}
