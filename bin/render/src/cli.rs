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
    /// The render function's memory in MB (Lambda bills GB-seconds)
    /// [default: the stack's LambdaMemoryMb; without a stack, the stack's
    /// default, 3072].
    #[arg(long)]
    pub memory_mb: Option<u32>,
    /// USD per Lambda GB-second (x86, on demand; us-east-1 by default).
    #[arg(long, default_value_t = 0.0000166667)]
    pub lambda_gb_second_usd: f64,
    /// USD per Step Functions Standard state transition.
    #[arg(long, default_value_t = 0.000025)]
    pub transition_usd: f64,
}

impl Default for PriceArgs {
    /// The flags' defaults: us-east-1 prices at the stack's memory.
    fn default() -> Self {
        let p = Prices::default();
        PriceArgs {
            memory_mb: None,
            lambda_gb_second_usd: p.lambda_gb_second,
            transition_usd: p.state_transition,
        }
    }
}

impl PriceArgs {
    /// The prices without a stack: `--memory-mb`, else the stack's default.
    pub fn prices(&self) -> Prices {
        self.at_memory(None)
    }

    /// The prices of a render on `stack`: `--memory-mb`, else the memory
    /// the stack's function has, else the stack's default.
    pub fn prices_on(&self, stack: &StackTarget) -> Prices {
        self.at_memory(stack.memory_mb)
    }

    fn at_memory(&self, stack_mb: Option<u32>) -> Prices {
        Prices {
            lambda_gb_second: self.lambda_gb_second_usd,
            state_transition: self.transition_usd,
            memory_mb: self
                .memory_mb
                .or(stack_mb)
                .unwrap_or(Prices::default().memory_mb),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution::StackTarget;

    /// A stack's outputs file, as `deploy --outputs-file` writes it.
    fn stack(memory: serde_json::Value) -> StackTarget {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outputs.json");
        let mut v = serde_json::json!({
            "RenderBucketName": "b",
            "RenderStateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:sm",
        });
        if !memory.is_null() {
            v["LambdaMemoryMb"] = memory;
        }
        std::fs::write(&path, v.to_string()).unwrap();
        StackTarget::from_outputs_file(&path).unwrap()
    }

    #[test]
    fn billed_seconds_are_priced_at_the_flag_else_the_stacks_memory_else_the_default() {
        let none = PriceArgs::default();
        let flag = PriceArgs {
            memory_mb: Some(2048),
            ..PriceArgs::default()
        };
        // The stack's LambdaMemoryMb, as a number or as CloudFormation's string.
        for m in [serde_json::json!(6144), serde_json::json!("6144")] {
            let s = stack(m);
            assert_eq!(s.memory_mb, Some(6144));
            assert_eq!(none.prices_on(&s).memory_mb, 6144);
            assert_eq!(flag.prices_on(&s).memory_mb, 2048);
        }
        // An outputs file written before it was recorded: the default.
        let old = stack(serde_json::Value::Null);
        assert_eq!(old.memory_mb, None);
        let default = hyperframes_infra::LambdaMemory::DEFAULT.mb();
        assert_eq!(none.prices_on(&old).memory_mb, default);
        assert_eq!(none.prices().memory_mb, default);
        assert_eq!(flag.prices().memory_mb, 2048);
    }
}
