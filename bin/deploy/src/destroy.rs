//! `destroy`: delete the stack, following its events, then say plainly
//! what is left: the render bucket is retained on purpose (it holds the
//! renders), so the user gets its name and the command that removes it.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};
use clap::Args;
use hyperframes_infra::stack::ids;

use crate::events::{self, EventCursor};
use crate::stack;
use hyperframes_cli::aws::{Aws, AwsArgs};

/// Delete the render stack; the render bucket is retained.
#[derive(Debug, Clone, Args)]
pub struct DestroyArgs {
    /// The stack to delete.
    #[arg(long, value_name = "NAME")]
    pub stack_name: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Delete without asking. Required when standard input is not a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub async fn run(args: DestroyArgs) -> Result<()> {
    stack::validate_stack_name(&args.stack_name)?;
    // Decided before any AWS call: a CI job without --yes must not hang on
    // a prompt nobody answers, nor delete without the flag.
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        bail!("refusing to delete stack {} without confirmation: standard input is not a terminal; pass --yes", args.stack_name);
    }
    let aws = Aws::connect(&args.aws).await?;
    let Some(info) = stack::describe(&aws, &args.stack_name).await? else {
        println!(
            "no stack named {} in {}; nothing to delete",
            args.stack_name,
            aws.describe_target()
        );
        return Ok(());
    };
    let bucket = render_bucket(&aws, &info).await;

    if !args.yes {
        print!(
            "Delete stack {} ({}) in {}?{} [y/N] ",
            args.stack_name,
            info.status,
            aws.describe_target(),
            bucket
                .as_deref()
                .map(|b| format!(" The render bucket {b} is kept."))
                .unwrap_or_default()
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            println!("not deleted");
            return Ok(());
        }
    }

    let mut cursor = EventCursor::start(&aws, &info.id).await?;
    println!("deleting stack {}", args.stack_name);
    aws.cfn
        .delete_stack()
        .stack_name(&info.id)
        .send()
        .await
        .map_err(|e| aws.explain("cloudformation:DeleteStack", &e))?;
    let outcome = events::wait(&aws, &mut cursor, &args.stack_name, true, 0).await?;
    if outcome.status != "DELETE_COMPLETE" {
        bail!(
            "destroy of {} failed\n{}",
            args.stack_name,
            outcome.failure_report(&args.stack_name)
        );
    }
    println!("stack {} deleted", args.stack_name);

    match bucket {
        Some(b) => {
            let exists = aws.s3.head_bucket().bucket(&b).send().await.is_ok();
            if exists {
                println!(
                    "render bucket {b} was retained (DeletionPolicy Retain) with its renders.\n\
                     To empty and remove it: aws s3 rb s3://{b} --force {}",
                    aws.cli_flags()
                );
            } else {
                println!("render bucket {b} no longer exists");
            }
        }
        None => println!("the stack had no render bucket to retain"),
    }
    Ok(())
}

/// The render bucket's name, from the resource or else the output.
async fn render_bucket(aws: &Aws, info: &stack::StackInfo) -> Option<String> {
    if let Some((_, v)) = info
        .outputs
        .iter()
        .find(|(k, _)| k == ids::OUTPUT_BUCKET_NAME)
    {
        return Some(v.clone());
    }
    let resources = stack::resources(aws, &info.id).await.ok()?;
    resources
        .into_iter()
        .find(|r| r.logical_id == ids::RENDER_BUCKET)
        .map(|r| r.physical_id)
        .filter(|p| !p.is_empty())
}
