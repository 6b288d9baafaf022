//! `cancel RENDER_ID --stack-name S`: stop a render and say what it left.

use std::process::ExitCode;

use crate::cli::TargetArgs;
use crate::execution;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(version, about = "Stop a running render")]
pub struct Args {
    /// The render id `render` printed (or the execution ARN).
    render_id: String,
    #[command(flatten)]
    target: TargetArgs,
}

/// `hyperframes cancel`.
pub fn run(cli: Args) -> ExitCode {
    hyperframes_cli::cli::run("cancel", async move {
        let (aws, stack) = cli.target.connect().await?;
        let arn = stack.execution_arn(&cli.render_id);
        let children = execution::cancel(&aws.sfn, &arn).await?;
        println!("cancelled {}", cli.render_id);
        match children {
            execution::ChildrenStopped::Stopped(0) => {}
            execution::ChildrenStopped::Stopped(n) => {
                println!("stopped {n} chunk execution(s) still running")
            }
            execution::ChildrenStopped::NotListed(e) => println!(
                "note: the chunks' child executions could not be listed, so only the render was stopped (Step Functions stops its Map Run's children with it): {e}"
            ),
        }
        let id = arn.rsplit(':').next().unwrap_or(&cli.render_id);
        let (n, bytes) = execution::leftovers(&aws.s3, &stack.bucket, id).await?;
        println!(
            "left in S3: {n} objects ({bytes} bytes) under s3://{}/{} (plans and chunks; the bucket expires them after {} days)",
            stack.bucket,
            execution::render_prefix(id),
            execution::INTERMEDIATES_EXPIRY_DAYS
        );
        let running = execution::progress(&aws.sfn, &arn, Default::default())
            .await?
            .invocations_running;
        if running > 0 {
            println!(
                "{running} invocation{} still running at the stop: Lambda lets {} finish, so more objects may appear under that prefix",
                if running == 1 { " was" } else { "s were" },
                if running == 1 { "it" } else { "them" }
            );
        }
        match execution::output_written(&aws.sfn, &aws.s3, &arn).await? {
            Some(uri) => println!("the output was already written before the stop: {uri}"),
            None => println!("no output was written"),
        }
        Ok(())
    })
}
