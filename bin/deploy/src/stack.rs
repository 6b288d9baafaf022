//! What a stack's name and status mean for deploy and destroy: the rules
//! are pure functions so every status CloudFormation can report is covered
//! by unit tests, not only the few a local emulator produces.

use anyhow::{bail, Result};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

use hyperframes_cli::aws::Aws;

/// CloudFormation's rule for stack names: `[a-zA-Z][-a-zA-Z0-9]*`, at most
/// 128 characters. Checked before any call so a typo costs no AWS round trip.
pub fn validate_stack_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if name.is_empty() {
        bail!("--stack-name is empty");
    }
    if name.len() > 128 {
        bail!(
            "stack name `{name}` is {} characters; CloudFormation allows at most 128",
            name.len()
        );
    }
    if !first_ok || !rest_ok {
        bail!(
            "`{name}` is not a valid stack name: CloudFormation requires a letter first, then only letters, \
             digits and hyphens (pattern [a-zA-Z][-a-zA-Z0-9]*)"
        );
    }
    Ok(())
}

/// Where a stack's last operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    InProgress,
    Succeeded,
    Failed,
}

pub fn phase(status: &str) -> Phase {
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" | "DELETE_COMPLETE" => {
            Phase::Succeeded
        }
        s if s.ends_with("_IN_PROGRESS") => Phase::InProgress,
        _ => Phase::Failed,
    }
}

/// What deploy does with the stack as it finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Create,
    Update,
    /// `--force` on a stack that cannot be updated: delete it, then create.
    DeleteThenCreate,
    Refuse(String),
}

pub fn plan(name: &str, status: Option<&str>, force: bool) -> Plan {
    let Some(status) = status else {
        return Plan::Create;
    };
    let forced = |why: String| {
        if force {
            Plan::DeleteThenCreate
        } else {
            Plan::Refuse(why)
        }
    };
    match status {
        "REVIEW_IN_PROGRESS" => forced(format!(
            "stack {name} was never created: it is REVIEW_IN_PROGRESS, holding only a change set nobody executed \
             (e.g. from another tool's dry run). It has no resources. Rerun with --force to delete it and create \
             the stack, or execute or delete that change set yourself."
        )),
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" => forced(format!(
            "stack {name} is {status}: its first creation failed, and CloudFormation cannot update such a stack. \
             Fix the cause (see its events), then rerun with --force to delete and recreate it \
             (the render bucket is retained), or run `destroy --stack-name {name}` first."
        )),
        "DELETE_FAILED" => forced(format!(
            "stack {name} is DELETE_FAILED: a previous delete did not finish. Rerun with --force to delete it \
             again and create it afresh, or fix the blocking resource (see its events) and run destroy."
        )),
        "UPDATE_ROLLBACK_FAILED" => Plan::Refuse(format!(
            "stack {name} is UPDATE_ROLLBACK_FAILED: CloudFormation could not roll back the last update. \
             Fix the resource named in its events, then run \
             `aws cloudformation continue-update-rollback --stack-name {name}` and deploy again."
        )),
        s if s.ends_with("_IN_PROGRESS") => Plan::Refuse(format!(
            "stack {name} is busy ({s}); wait for that operation to finish and deploy again"
        )),
        _ => Plan::Update,
    }
}

/// The facts about a live stack that deploy and destroy need.
#[derive(Debug, Clone)]
pub struct StackInfo {
    pub id: String,
    pub status: String,
    pub reason: Option<String>,
    pub outputs: Vec<(String, String)>,
    /// The function's memory (`LambdaMemoryMb`), for the outputs file:
    /// the CLI prices billed seconds with it.
    pub memory_mb: Option<u32>,
}

/// DescribeStacks by name or ID; `None` when there is no such live stack.
pub async fn describe(aws: &Aws, name_or_id: &str) -> Result<Option<StackInfo>> {
    match aws
        .cfn
        .describe_stacks()
        .stack_name(name_or_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.stacks().first().map(|s| StackInfo {
            id: s.stack_id().unwrap_or(name_or_id).to_string(),
            status: s
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: s.stack_status_reason().map(str::to_string),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect(),
            memory_mb: hyperframes_cli::outputs::stack_memory_mb(s),
        })),
        Err(e)
            if e.code() == Some("ValidationError")
                && e.message().is_some_and(|m| m.contains("does not exist")) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws.explain("cloudformation:DescribeStacks", &e)),
    }
}

/// One resource of a stack.
#[derive(Debug, Clone)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
}

pub async fn resources(aws: &Aws, stack: &str) -> Result<Vec<StackResource>> {
    let out = aws
        .cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws.explain("cloudformation:DescribeStackResources", &e))?;
    Ok(out
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some(StackResource {
                logical_id: r
                    .logical_resource_id()
                    .filter(|s| !s.is_empty())?
                    .to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_follow_cloudformation() {
        for ok in ["a", "hf-prod", "Render2", &"a".repeat(128)] {
            assert!(validate_stack_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "-abc",
            "my_stack",
            "my stack",
            "über",
            &"a".repeat(129),
        ] {
            assert!(validate_stack_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phases() {
        assert_eq!(phase("CREATE_COMPLETE"), Phase::Succeeded);
        assert_eq!(
            phase("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            Phase::InProgress
        );
        assert_eq!(phase("UPDATE_ROLLBACK_COMPLETE"), Phase::Failed);
        assert_eq!(phase("ROLLBACK_COMPLETE"), Phase::Failed);
        assert_eq!(phase("DELETE_FAILED"), Phase::Failed);
    }

    #[test]
    fn plans_for_every_kind_of_status() {
        assert_eq!(plan("s", None, false), Plan::Create);
        assert_eq!(plan("s", Some("CREATE_COMPLETE"), false), Plan::Update);
        assert_eq!(
            plan("s", Some("UPDATE_ROLLBACK_COMPLETE"), false),
            Plan::Update
        );
        for stuck in ["ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "DELETE_FAILED"] {
            assert!(
                matches!(plan("s", Some(stuck), false), Plan::Refuse(m) if m.contains("--force")),
                "{stuck}"
            );
            assert_eq!(
                plan("s", Some(stuck), true),
                Plan::DeleteThenCreate,
                "{stuck}"
            );
        }
        assert!(
            matches!(plan("s", Some("UPDATE_IN_PROGRESS"), true), Plan::Refuse(m) if m.contains("busy"))
        );
        assert!(
            matches!(plan("s", Some("UPDATE_ROLLBACK_FAILED"), true), Plan::Refuse(m) if m.contains("continue-update-rollback"))
        );
    }
}
