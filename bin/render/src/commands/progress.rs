//! `progress RENDER_ID --stack-name S`: how far a render is and what it
//! has cost so far. Exit 1 when the render failed, timed out or was aborted.

use std::process::ExitCode;

use crate::cli::{PriceArgs, TargetArgs};
use crate::execution;
use crate::progress::{self, State};
use crate::render::follow;
use clap::Parser;
use hyperframes_cli::bars;

#[derive(Debug, Parser)]
#[command(version, about = "Progress and accrued cost of a render")]
pub struct Args {
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

/// `hyperframes progress`.
pub fn run(cli: Args) -> ExitCode {
    let code = std::cell::Cell::new(0u8);
    let status = hyperframes_cli::cli::run("progress", async {
        let (aws, stack) = cli.target.connect().await?;
        let arn = stack.execution_arn(&cli.render_id);
        let prices = cli.prices.prices();
        let p = if cli.watch {
            follow(&aws.sfn, &arn, prices, cli.json).await?
        } else {
            execution::progress(&aws.sfn, &arn, prices).await?
        };
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&p)?);
        } else {
            // Without a bar, `follow` already printed the last line.
            if !cli.watch || bars::interactive() {
                println!("{}", progress::line(&p));
            }
            if let State::Failed { error, cause } = &p.state {
                println!("error: {error}: {cause}");
            }
            if let Some(o) = &p.output_s3_uri {
                println!("output: {o} ({} bytes)", p.output_bytes.unwrap_or(0));
            }
        }
        if matches!(
            p.state,
            State::Failed { .. } | State::TimedOut | State::Aborted
        ) {
            code.set(1);
        }
        Ok(())
    });
    if status != ExitCode::SUCCESS {
        return status;
    }
    ExitCode::from(code.get())
}
