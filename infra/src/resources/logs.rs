//! Amazon CloudWatch Logs.

use serde::Serialize;

use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::value::Value;

/// `AWS::Logs::LogGroup`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct LogGroup {
    /// `LogGroupName`, up to 512 characters. Unset, CloudFormation generates one;
    /// changing it replaces the group (and loses its events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<Value<String>>,
    /// `RetentionInDays`: one of CloudWatch's fixed values (1, 3, 5, 7, 14, 30,
    /// 60, 90, ... 3653). Unset means events never expire, and are billed forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<Value<u32>>,
    /// `KmsKeyId`: a key ARN; its key policy must let the CloudWatch Logs service
    /// principal use it, or creation fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Value<String>>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for LogGroup {
    const TYPE: &'static str = "AWS::Logs::LogGroup";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::LOG_GROUP);
}

impl Handle<LogGroup> {
    /// The group's name (`Ref`).
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    /// The group's ARN (`Fn::GetAtt Arn`). It ends in `:*`, which is the form
    /// Step Functions logging and IAM statements accept.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
