//! Amazon SQS.

use serde::Serialize;

use super::iam::PolicyDocument;
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::value::Value;

/// `AWS::SQS::Queue`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Queue {
    /// `QueueName`, up to 80 characters (FIFO queues end in `.fifo`). Unset,
    /// CloudFormation generates one; changing it replaces the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<Value<String>>,
    /// `MessageRetentionPeriod` in seconds, 60..=1209600 (14 days); default 4 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_retention_period: Option<u32>,
    /// `VisibilityTimeout` in seconds, 0..=43200 (12 h); default 30. For a
    /// Lambda event source, set it to at least the function's timeout (AWS
    /// recommends six times it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<u32>,
    /// `KmsMasterKeyId`: SSE-KMS with this key; senders need permission on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<Value<String>>,
    /// `SqsManagedSseEnabled`: SSE with SQS-owned keys (the default for new queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs_managed_sse_enabled: Option<bool>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Queue {
    const TYPE: &'static str = "AWS::SQS::Queue";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::QUEUE);
}

/// `AWS::SQS::QueuePolicy`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct QueuePolicy {
    /// `Queues`: URLs (`Ref`) of the queues the policy applies to.
    pub queues: Vec<Value<String>>,
    /// `PolicyDocument`: a resource policy, e.g. letting an SNS topic send.
    pub policy_document: PolicyDocument,
}

impl QueuePolicy {
    /// `policy_document` on each of `queues` (their URLs).
    pub fn new(queues: Vec<Value<String>>, policy_document: PolicyDocument) -> Self {
        QueuePolicy {
            queues,
            policy_document,
        }
    }
}

impl ResourceType for QueuePolicy {
    const TYPE: &'static str = "AWS::SQS::QueuePolicy";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::QUEUE_POLICY);
}

impl Handle<Queue> {
    /// The queue URL (`Ref`).
    pub fn url(&self) -> Value<String> {
        self.ref_value()
    }

    /// The queue's ARN (`Fn::GetAtt Arn`): what IAM statements, SNS subscriptions
    /// and Lambda event sources need.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    /// The queue's name (`Fn::GetAtt QueueName`).
    pub fn name(&self) -> Value<String> {
        self.att("QueueName")
    }
}
