//! Flags shared by the programs that act on a deployed stack.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::execution::{StackLookupError, StackTarget};
use crate::pricing::Prices;
use hyperframes_cli::aws::{Aws, AwsArgs};

/// Which stack: its outputs file (from `deploy --outputs-file`) or its name.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The stack to use (its outputs are read from CloudFormation).
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    /// The JSON file `deploy --outputs-file` wrote.
    #[arg(long, value_name = "FILE", conflicts_with = "stack_name")]
    pub outputs_file: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl TargetArgs {
    /// Connects (checking credentials) and finds the stack's bucket and state machine.
    pub async fn connect(&self) -> Result<(Aws, StackTarget)> {
        if self.stack_name.is_none() && self.outputs_file.is_none() {
            bail!("which stack? pass --stack-name NAME or --outputs-file FILE (written by `deploy --outputs-file`)");
        }
        // A local stack's outputs file says where its endpoints are; it is
        // read before any AWS call, so nothing reaches AWS for it.
        let local_file = match (&self.outputs_file, &self.stack_name) {
            (Some(f), _) => Some(f.clone()),
            (None, Some(name)) => {
                Some(hyperframes_cli::outputs::default_file(name)).filter(|f| f.is_file())
            }
            (None, None) => None,
        };
        if let Some(f) = local_file {
            let target = StackTarget::from_outputs_file(&f)?;
            if target.local.is_some() {
                let aws = Aws::connect_to(&self.aws, target.local.as_ref()).await?;
                return Ok((aws, target));
            }
        }
        let aws = Aws::connect(&self.aws).await?;
        let target = match (&self.outputs_file, &self.stack_name) {
            (Some(f), _) => StackTarget::from_outputs_file(f)?,
            (None, Some(name)) => match StackTarget::from_stack(&aws.cfn, name).await {
                Ok(t) => t,
                // A stack without outputs (an emulator's gap): what deploy wrote.
                Err(e @ StackLookupError::MissingOutput { .. }) => {
                    let file = hyperframes_cli::outputs::default_file(name);
                    if file.is_file() {
                        StackTarget::from_outputs_file(&file)?
                    } else {
                        return Err(e.into());
                    }
                }
                Err(e) => return Err(e.into()),
            },
            (None, None) => unreachable!("checked above"),
        };
        Ok((aws, target))
    }
}

/// Prices for cost estimates, overridable for other regions or discounts.
#[derive(Debug, Clone, Args)]
pub struct PriceArgs {
    /// The render function's memory in MB (Lambda bills GB-seconds).
    #[arg(long, default_value_t = 10240)]
    pub memory_mb: u32,
    /// USD per Lambda GB-second (x86, on demand; us-east-1 by default).
    #[arg(long, default_value_t = 0.0000166667)]
    pub lambda_gb_second_usd: f64,
    /// USD per Step Functions Standard state transition.
    #[arg(long, default_value_t = 0.000025)]
    pub transition_usd: f64,
}

impl PriceArgs {
    pub fn prices(&self) -> Prices {
        Prices {
            lambda_gb_second: self.lambda_gb_second_usd,
            state_transition: self.transition_usd,
            memory_mb: self.memory_mb,
        }
    }
}
