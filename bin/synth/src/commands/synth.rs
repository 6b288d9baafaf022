//! `synth` (also `hyperframes synth`): print the render stack's CloudFormation template.
//!
//! Exit codes: 0 template written, 1 the template does not validate (every
//! problem is printed, nothing is written), 2 bad flags.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::StackArgs;
use clap::{Parser, ValueEnum};
use hyperframes_infra::HyperframesRenderStack;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Yaml,
}

/// Synthesize the HyperframesRenderStack CloudFormation template.
#[derive(Debug, Parser)]
#[command(name = "synth", version)]
pub struct Args {
    #[command(flatten)]
    stack: StackArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Synthesizes, validates and writes the template.
pub fn run(cli: Args) -> ExitCode {
    let mut stack = HyperframesRenderStack::new(cli.stack.props());
    cli.stack.notify.apply(&mut stack);
    let template = match stack.synth() {
        Ok(t) => t,
        Err(problems) => {
            eprint!("synth: {problems}");
            return ExitCode::from(1);
        }
    };
    let text = match cli.format {
        Format::Json => template.to_json_pretty(),
        Format::Yaml => template.to_yaml(),
    };
    let written = match &cli.out {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let target = cli
                .out
                .as_ref()
                .map_or("standard output".to_string(), |p| p.display().to_string());
            eprintln!("synth: cannot write {target}: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes beside the target and renames, so a failed write never leaves a
/// truncated template where a good one was.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "--out needs a file name")
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
