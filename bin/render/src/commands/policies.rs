//! `policies user | role | validate`: the IAM policy deploy, render,
//! progress, cancel and destroy need, scoped to one stack.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::policies::{self, Scope};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Least-privilege IAM policies for the HyperFrames tools"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct ScopeArgs {
    /// The stack the policy is for.
    #[arg(long, default_value = "hyperframes")]
    stack_name: String,
    /// The stack's ProjectName (prefix of function, state machine and alarm names).
    #[arg(long, default_value = "hyperframes")]
    project_name: String,
    /// Region, or * for any.
    #[arg(long, default_value = "*")]
    region: String,
    /// Account id, or * for any.
    #[arg(long, default_value = "*")]
    account: String,
}

impl ScopeArgs {
    fn scope(&self) -> Scope {
        Scope {
            stack_name: self.stack_name.clone(),
            project_name: self.project_name.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The policy document to attach to a user or group.
    User(ScopeArgs),
    /// A role for CI: trust policy plus the same permissions inline.
    Role {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Who may assume the role (an account root or role ARN).
        #[arg(long, default_value = "arn:aws:iam::123456789012:root")]
        principal: String,
    },
    /// Check that a policy document allows everything the tools need.
    Validate {
        /// The policy document (JSON).
        file: PathBuf,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `hyperframes policies`.
pub fn run(cli: Args) -> ExitCode {
    match cli.command {
        Command::User(s) => print(&policies::user_policy(&s.scope())),
        Command::Role { scope, principal } => print(&policies::role(&scope.scope(), &principal)),
        Command::Validate { file, scope, json } => {
            let doc = match std::fs::read_to_string(&file)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not JSON: {e}")))
            {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("policies: cannot read {}: {e}", file.display());
                    return ExitCode::from(1);
                }
            };
            match policies::validate(&doc, &scope.scope()) {
                Err(e) => {
                    eprintln!("policies: {}: {e}", file.display());
                    ExitCode::from(1)
                }
                Ok(c) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&c).expect("JSON"));
                    } else {
                        for w in &c.warnings {
                            eprintln!("warning: {w}");
                        }
                        if c.ok {
                            println!("{} allows everything deploy, render, progress, cancel and destroy need", file.display());
                        } else {
                            println!(
                                "{} is missing {} permissions:",
                                file.display(),
                                c.missing.len()
                            );
                            for m in &c.missing {
                                println!("  {m}");
                            }
                            println!("print a complete policy with: hyperframes policies user --stack-name {}", scope.stack_name);
                        }
                    }
                    ExitCode::from(if c.ok { 0 } else { 1 })
                }
            }
        }
    }
}

/// Prints a document; a closed pipe (`| head`) is not an error worth a panic.
fn print(v: &impl serde::Serialize) -> ExitCode {
    let text = serde_json::to_string_pretty(v).expect("policy documents serialize");
    match writeln!(std::io::stdout(), "{text}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("policies: cannot write standard output: {e}");
            ExitCode::from(1)
        }
    }
}
