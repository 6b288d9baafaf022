//! Amazon SNS.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::iam::PolicyDocument;
use super::Tag;
use crate::template::Handle;
use crate::value::Value;

/// `AWS::SNS::Topic`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub topic_name: Option<Value<String>>,
    pub display_name: Option<String>,
    pub kms_master_key_id: Option<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// The protocols we type; each fixes what `Endpoint` must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    Email(String),
    Https(String),
    Sqs(Value<String>),
    Lambda(Value<String>),
}

/// `AWS::SNS::Subscription`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    pub topic_arn: Value<String>,
    pub protocol: String,
    pub endpoint: Value<String>,
    pub raw_message_delivery: Option<bool>,
}

impl Subscription {
    pub fn new(topic: Handle<Topic>, endpoint: Endpoint) -> Self {
        let (protocol, endpoint) = match endpoint {
            Endpoint::Email(a) => ("email", Value::Literal(a)),
            Endpoint::Https(u) => ("https", Value::Literal(u)),
            Endpoint::Sqs(arn) => ("sqs", arn),
            Endpoint::Lambda(arn) => ("lambda", arn),
        };
        Subscription {
            topic_arn: topic.arn(),
            protocol: protocol.into(),
            endpoint,
            raw_message_delivery: None,
        }
    }
}

/// `AWS::SNS::TopicPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicPolicy {
    pub topics: Vec<Value<String>>,
    pub policy_document: PolicyDocument,
}

impl Handle<Topic> {
    /// The topic's ARN (`Ref`).
    pub fn arn(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn name(&self) -> Value<String> {
        self.att("TopicName")
    }
}
