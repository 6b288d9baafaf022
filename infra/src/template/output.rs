//! Stack outputs and their exports.

use serde::Serialize;

use crate::name::Name;
use crate::value::Value;

/// A stack output, optionally exported for other stacks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Output {
    /// `Description`, shown in the console's Outputs tab.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Value`: what `describe-stacks` reports, resolved at deploy.
    pub value: Value<String>,
    /// `Export`: makes the value importable by other stacks in the same account
    /// and region (`Fn::ImportValue`); CloudFormation then refuses to delete or
    /// change it while an importer exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    /// `Condition`: the output exists only when this condition holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Name>,
}

/// An output's `Export`; names must be unique per account and region.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Export {
    /// The export name other stacks pass to `Fn::ImportValue`.
    pub name: Value<String>,
}

impl Output {
    /// An output with `value`; no description, export or condition.
    pub fn new(value: Value<String>) -> Self {
        Output {
            description: None,
            value,
            export: None,
            condition: None,
        }
    }

    /// Sets `Description`, shown in the console's Outputs tab.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Export as `<StackName>-<suffix>`, the convention of the reference stack.
    pub fn export_as_stack_suffix(mut self, suffix: &str) -> Self {
        self.export = Some(Export {
            name: Value::sub(format!("${{AWS::StackName}}-{suffix}")),
        });
        self
    }
}
