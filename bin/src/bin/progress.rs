//! `progress RENDER_ID --stack-name S`: how far a render is and what it
//! has cost so far. Exit 1 when the render failed, timed out or was aborted.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use hyperframes_cli::remote::cli::{PriceArgs, TargetArgs};
use hyperframes_cli::remote::execution;
use hyperframes_cli::remote::progress::{self, State};

#[derive(Debug, Parser)]
#[command(
    name = "progress",
    version,
    about = "Progress and accrued cost of a render"
)]
struct Cli {
    /// The render id `render` printed (or the execution ARN).
    render_id: String,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    prices: PriceArgs,
    /// Print JSON for machines.
    #[arg(long)]
    json: bool,
    /// Keep watching until the render ends.
    #[arg(long)]
    watch: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = std::cell::Cell::new(0u8);
    let status = hyperframes_cli::cli::run("progress", async {
        let (aws, stack) = cli.target.connect().await?;
        let arn = stack.execution_arn(&cli.render_id);
        let tty = std::io::stderr().is_terminal() && !cli.json;
        loop {
            let p = execution::progress(&aws.sfn, &arn, cli.prices.prices()).await?;
            let done = p.state != State::Running;
            if cli.json {
                if done || !cli.watch {
                    println!("{}", serde_json::to_string_pretty(&p)?);
                }
            } else if tty && cli.watch && !done {
                let width = 30;
                let filled = (p.fraction * width as f64).round() as usize;
                eprint!(
                    "\r[{}{}] {}",
                    "#".repeat(filled),
                    ".".repeat(width - filled),
                    progress::line(&p)
                );
                std::io::stderr().flush()?;
            } else {
                if tty {
                    eprintln!();
                }
                println!("{}", progress::line(&p));
            }
            if done || !cli.watch {
                if let State::Failed { error, cause } = &p.state {
                    if !cli.json {
                        println!("error: {error}: {cause}");
                    }
                }
                if let Some(o) = &p.output_s3_uri {
                    if !cli.json {
                        println!("output: {o} ({} bytes)", p.output_bytes.unwrap_or(0));
                    }
                }
                if matches!(
                    p.state,
                    State::Failed { .. } | State::TimedOut | State::Aborted
                ) {
                    code.set(1);
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    if status != ExitCode::SUCCESS {
        return status;
    }
    ExitCode::from(code.get())
}
