//! The stack outputs file: what `deploy` writes after a deploy and the
//! render tools (`render`, `sites`, `progress`, `cancel`, `policies`) read,
//! so they find the bucket and the state machine without CloudFormation.
//!
//! It is flat JSON: `{"StackName", "Region", "AccountId", <output>: <value>...}`,
//! so shell scripts read it too (`jq -r .RenderStateMachineArn`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value as Json;

/// The render function's memory (`LambdaMemoryMb`) a stack was deployed
/// with, from DescribeStacks' parameters: `render` and `progress` price
/// billed seconds with it, and `deploy` writes it to the outputs file.
/// `None` when the stack does not report it (moto reports no parameters).
pub fn stack_memory_mb(stack: &aws_sdk_cloudformation::types::Stack) -> Option<u32> {
    stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(hyperframes_infra::stack::ids::PARAM_MEMORY))
        .and_then(|p| p.parameter_value()?.parse().ok())
}

/// Where `deploy` writes a stack's outputs by default, relative to the
/// directory it runs in.
pub fn default_file(stack_name: &str) -> PathBuf {
    PathBuf::from(".hyperframes").join(format!("stack-{stack_name}.json"))
}

/// Writes beside the target and renames, so `render` never reads half a file.
pub fn write_file(path: &Path, value: &Json) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write the outputs file {}", path.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .map_err(anyhow::Error::from)
        .and_then(|()| tmp.persist(path).map(drop).map_err(anyhow::Error::from))
        .with_context(|| format!("cannot write the outputs file {}", path.display()))
}
