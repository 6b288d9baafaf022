//! AWS Step Functions.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;
use serde_with::skip_serializing_none;

use super::Tag;
use crate::template::Handle;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StateMachineType {
    Standard,
    Express,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    All,
    Error,
    Fatal,
    Off,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfiguration {
    pub level: LogLevel,
    pub include_execution_data: bool,
    pub destinations: Vec<LogDestination>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogDestination {
    pub cloud_watch_logs_log_group: CloudWatchLogsLogGroup,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLogsLogGroup {
    pub log_group_arn: Value<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfiguration {
    pub enabled: bool,
}

/// `AWS::StepFunctions::StateMachine`.
///
/// The definition is emitted as the `Definition` object with
/// `DefinitionSubstitutions`, not as a `Fn::Join`ed `DefinitionString`:
/// cfn-lint validates the ASL only in the object (or plain string) form.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    pub state_machine_name: Option<Value<String>>,
    pub state_machine_type: Option<StateMachineType>,
    pub role_arn: Value<String>,
    pub definition: Option<Json>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub definition_substitutions: IndexMap<String, Value<String>>,
    pub logging_configuration: Option<LoggingConfiguration>,
    pub tracing_configuration: Option<TracingConfiguration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Handle<StateMachine> {
    /// The state machine's ARN (`Ref`).
    pub fn arn(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn name(&self) -> Value<String> {
        self.att("Name")
    }

    /// The ARN prefix of this state machine's executions, which IAM needs
    /// for DescribeExecution/GetExecutionHistory/StopExecution.
    pub fn execution_arn_pattern(&self) -> Value<String> {
        Value::sub(format!(
            "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:${{{}.Name}}:*",
            self.logical_id()
        ))
    }
}
