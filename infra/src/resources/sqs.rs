//! Amazon SQS.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::iam::PolicyDocument;
use super::Tag;
use crate::template::Handle;
use crate::value::Value;

/// `AWS::SQS::Queue`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    pub queue_name: Option<Value<String>>,
    pub message_retention_period: Option<u32>,
    pub visibility_timeout: Option<u32>,
    pub kms_master_key_id: Option<Value<String>>,
    pub sqs_managed_sse_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// `AWS::SQS::QueuePolicy`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueuePolicy {
    pub queues: Vec<Value<String>>,
    pub policy_document: PolicyDocument,
}

impl Handle<Queue> {
    /// The queue URL (`Ref`).
    pub fn url(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    pub fn name(&self) -> Value<String> {
        self.att("QueueName")
    }
}
