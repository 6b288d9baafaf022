//! `sites create ./project --stack-name S`: upload a project once,
//! content-addressed, so renders reuse it (`render --site-id ID`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::TargetArgs;
use crate::site;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Upload HyperFrames projects to a render stack's bucket"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Upload a project directory (skipped when the same content is already there).
    Create {
        /// The project directory (with index.html).
        project: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
        /// Print the site as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `hyperframes sites`.
pub fn run(cli: Args) -> ExitCode {
    let Command::Create {
        project,
        target,
        json,
    } = cli.command;
    hyperframes_cli::cli::run("sites", async move {
        // Fail on a bad directory before touching AWS.
        site::site_id(&project)?;
        let (aws, stack) = target.connect().await?;
        let s = site::create(&aws.s3, &stack.bucket, &project).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            println!(
                "{}",
                if s.uploaded {
                    "site uploaded"
                } else {
                    "site already up to date (upload skipped)"
                }
            );
            println!("  site id  {}", s.site_id);
            println!("  uri      {}", s.project_s3_uri);
            println!("  bytes    {}", s.bytes);
            println!(
                "render it: hyperframes render --site-id {} --stack-name <stack> ...",
                s.site_id
            );
        }
        Ok(())
    })
}
