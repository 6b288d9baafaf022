//! Amazon CloudWatch Logs.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::Tag;
use crate::template::Handle;
use crate::value::Value;

/// `AWS::Logs::LogGroup`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: Option<Value<String>>,
    pub retention_in_days: Option<Value<u32>>,
    pub kms_key_id: Option<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Handle<LogGroup> {
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
