//! `progress RENDER_ID --stack-name S`: how far a render is and what it
//! has cost so far. Exit 1 when the render failed, timed out or was aborted.
//! `--timeline FILE.svg` also draws its invocations on a time axis.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{PriceArgs, TargetArgs};
use crate::execution;
use crate::progress::{self, State};
use crate::render::follow;
use crate::timeline;
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
    /// Also draw the render's invocations on a time axis into FILE.svg:
    /// one bar per invocation (init, stage, failed attempts, throttles),
    /// the slowest chunks marked with their frames and cost. With
    /// --watch, drawn once the render ended.
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
    /// The function's REPORT data: the local stack's
    /// `logs/invocations.jsonl` (under its state dir), or the JSON of `aws
    /// logs filter-log-events --log-group-name /aws/lambda/FUNCTION
    /// --filter-pattern '"REPORT RequestId"'`. The Lambda cost and the
    /// billed GB-seconds (set beside the estimate) then come from each
    /// invocation's Billed Duration, cold starts' Init Duration included,
    /// and the timeline draws init. Without it, billed time is each
    /// invocation's wall time in the history.
    #[arg(long, value_name = "FILE")]
    reports: Option<PathBuf>,
}

/// Reads `--reports` and checks `--timeline` can be written, before any
/// AWS call; every problem at once.
fn check_timeline_args(cli: &Args) -> anyhow::Result<Option<Vec<timeline::Report>>> {
    let mut problems = Vec::new();
    if let Some(path) = &cli.timeline {
        if let Err(e) = timeline::check_writable(path) {
            problems.push(format!("{e:#}"));
        }
    }
    let reports = match &cli.reports {
        Some(path) => match read_reports(path) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(format!("{e:#}"));
                None
            }
        },
        None => None,
    };
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    Ok(reports)
}

fn read_reports(path: &Path) -> anyhow::Result<Vec<timeline::Report>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--reports {}: cannot read it ({e})", path.display()))?;
    timeline::reports::parse(&text, &path.display().to_string())
}

/// Builds and writes the timeline of a recorded execution.
fn draw(
    path: &Path,
    r: &execution::Recorded,
    reports: Option<&[timeline::Report]>,
    prices: crate::pricing::Prices,
) -> anyhow::Result<()> {
    let t = timeline::build(
        &r.events,
        (r.started_ms, r.stopped_ms, execution::now_ms()),
        reports,
        prices,
    )?;
    timeline::write_atomic(path, &timeline::svg::render(&t))?;
    eprintln!(
        "timeline: {} ({} invocations)",
        path.display(),
        t.bars.len()
    );
    Ok(())
}

/// `hyperframes progress`.
pub fn run(cli: Args) -> ExitCode {
    let code = std::cell::Cell::new(0u8);
    let status = hyperframes_cli::cli::run("progress", async {
        let reports = check_timeline_args(&cli)?;
        let (aws, stack) = cli.target.connect().await?;
        let arn = stack.execution_arn(&cli.render_id);
        let prices = cli.prices.prices_on(&stack);
        let (mut p, mut recorded) = if cli.watch {
            (follow(&aws.sfn, &arn, prices, cli.json).await?, None)
        } else {
            let r = execution::read(&aws.sfn, &arn).await?;
            (execution::progress_of(&r, prices), Some(r))
        };
        if let Some(reports) = &reports {
            let r = match recorded.take() {
                Some(r) => r,
                None => execution::read(&aws.sfn, &arn).await?,
            };
            execution::bill_from_reports(&mut p, &r, reports, prices);
            recorded = Some(r);
        }
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&p)?);
        } else {
            // Without a bar, `follow` already printed the last line (but
            // not the REPORT figures).
            if !cli.watch || bars::interactive() || reports.is_some() {
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
        if let Some(path) = &cli.timeline {
            let r = match recorded {
                Some(r) => r,
                None => execution::read(&aws.sfn, &arn).await?,
            };
            draw(path, &r, reports.as_deref(), prices)?;
        }
        Ok(())
    });
    if status != ExitCode::SUCCESS {
        return status;
    }
    ExitCode::from(code.get())
}
