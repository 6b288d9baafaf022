//! AWS Step Functions.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;

use super::cloudwatch::{Dimension, Metric};
use super::iam::{Role, Statement};
use crate::asl::graph;
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::synth::Problem;
use crate::template::Stack;
use crate::validate::ResourceCheck;
use crate::value::Value;

/// Execution semantics and pricing; changing it replaces the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StateMachineType {
    /// Up to a year per execution, exactly-once, history kept 90 days; billed per state transition.
    Standard,
    /// Up to 5 minutes per execution, at-least-once; billed by duration. No execution history.
    Express,
}

/// Which execution events go to CloudWatch Logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Every event.
    All,
    /// Only errors (failed states and executions).
    Error,
    /// Only events that end an execution in failure.
    Fatal,
    /// Nothing.
    Off,
}

/// `LoggingConfiguration`. The state machine's role needs the CloudWatch Logs
/// delivery permissions (on `*`; those APIs have no resource-level permissions).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfiguration {
    /// `Level`.
    pub level: LogLevel,
    /// `IncludeExecutionData`: logs state input and output too; off keeps
    /// payloads (URIs, configs) out of the logs.
    pub include_execution_data: bool,
    /// `Destinations`: exactly one log group.
    pub destinations: Vec<LogDestination>,
}

/// One log destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogDestination {
    /// `CloudWatchLogsLogGroup`.
    pub cloud_watch_logs_log_group: CloudWatchLogsLogGroup,
}

/// The log group events are sent to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLogsLogGroup {
    /// `LogGroupArn`: must end in `:*`, as a log group handle's `arn()` does.
    pub log_group_arn: Value<String>,
}

/// `TracingConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfiguration {
    /// `Enabled`: X-Ray tracing of executions; the role needs X-Ray write permission.
    pub enabled: bool,
}

/// `AWS::StepFunctions::StateMachine`.
///
/// The definition is emitted as the `Definition` object with
/// `DefinitionSubstitutions`, not as a `Fn::Join`ed `DefinitionString`:
/// cfn-lint validates the ASL only in the object (or plain string) form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct StateMachine {
    /// `StateMachineName`, up to 80 characters. Unset, CloudFormation generates
    /// one; changing it replaces the state machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_name: Option<Value<String>>,
    /// `StateMachineType`; unset means `STANDARD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_machine_type: Option<StateMachineType>,
    /// `RoleArn`: the role Step Functions assumes to run tasks (invoke Lambda,
    /// write logs).
    pub role_arn: Value<String>,
    /// `Definition`: the ASL as a JSON object, e.g. [`crate::asl::Definition::to_json`].
    /// `${Name}` placeholders in it are filled from `definition_substitutions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<Json>,
    /// `DefinitionSubstitutions`: values for the definition's `${Name}`
    /// placeholders, intrinsics allowed (how the function ARN gets in).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub definition_substitutions: IndexMap<String, Value<String>>,
    /// `LoggingConfiguration`; unset means no execution logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<LoggingConfiguration>,
    /// `TracingConfiguration`; unset means no X-Ray tracing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing_configuration: Option<TracingConfiguration>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl StateMachine {
    /// A standard state machine running `definition` (an ASL document,
    /// e.g. [`crate::asl::Definition`] as JSON) as the role `role_arn`;
    /// name, logging and tracing unset.
    pub fn new(role_arn: Value<String>, definition: Json) -> Self {
        StateMachine {
            state_machine_name: None,
            state_machine_type: None,
            role_arn,
            definition: Some(definition),
            definition_substitutions: IndexMap::new(),
            logging_configuration: None,
            tracing_configuration: None,
            tags: Vec::new(),
        }
    }
}

impl ResourceType for StateMachine {
    const TYPE: &'static str = "AWS::StepFunctions::StateMachine";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::STATE_MACHINE);

    /// A definition, and one whose graph holds together (see
    /// [`crate::asl::Definition::problems`]).
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let mut out: Vec<Problem> = if check.has("Definition") {
            graph::problems(check.property("Definition"))
                .into_iter()
                .map(|(state, msg)| check.problem(&format!("Definition.States.{state}"), msg))
                .collect()
        } else if !check.has("DefinitionString") && !check.has("DefinitionS3Location") {
            vec![check.problem(
                "",
                "state machine has no Definition, DefinitionString or DefinitionS3Location",
            )]
        } else {
            Vec::new()
        };
        out.extend(check.non_empty(
            "LoggingConfiguration.Destinations",
            "Step Functions needs one log group destination; add it, or leave LoggingConfiguration out",
        ));
        out
    }
}

impl Handle<StateMachine> {
    /// The state machine's ARN (`Ref`).
    pub fn arn(&self) -> Value<String> {
        self.ref_value()
    }

    /// The state machine's name (`Fn::GetAtt Name`).
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

    /// `AWS/States` `ExecutionsFailed`, summed per 5 minutes.
    pub fn metric_failed(&self) -> Metric {
        self.metric("ExecutionsFailed")
    }

    /// `AWS/States` `ExecutionsTimedOut`: executions past their
    /// `TimeoutSeconds` (1 hour for the render workflow), summed per 5 minutes.
    pub fn metric_timed_out(&self) -> Metric {
        self.metric("ExecutionsTimedOut")
    }

    /// `AWS/States` `ExecutionsSucceeded`: finished renders, summed per 5 minutes.
    pub fn metric_succeeded(&self) -> Metric {
        self.metric("ExecutionsSucceeded")
    }

    /// `AWS/States` `ExecutionsStarted`: renders started, summed per 5 minutes.
    pub fn metric_started(&self) -> Metric {
        self.metric("ExecutionsStarted")
    }

    fn metric(&self, name: &str) -> Metric {
        Metric::new(
            "AWS/States",
            name,
            vec![Dimension {
                name: "StateMachineArn".into(),
                value: self.arn(),
            }],
        )
    }

    /// Lets `role` start executions (renders).
    pub fn grant_start_execution(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        role.add_grant(
            stack,
            self,
            Statement::allow(["states:StartExecution"], [self.arn()]),
        );
    }

    /// Lets `role` follow executions: list them, read their status and
    /// history (what progress reporting needs).
    pub fn grant_read_executions(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        role.add_grant(
            stack,
            self,
            Statement::allow(
                ["states:ListExecutions", "states:DescribeStateMachine"],
                [self.arn()],
            ),
        );
        role.add_grant(
            stack,
            self,
            Statement::allow(
                ["states:DescribeExecution", "states:GetExecutionHistory"],
                [self.execution_arn_pattern()],
            ),
        );
    }

    /// Lets `role` stop (cancel) executions.
    pub fn grant_stop_execution(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        role.add_grant(
            stack,
            self,
            Statement::allow(["states:StopExecution"], [self.execution_arn_pattern()]),
        );
    }
}
