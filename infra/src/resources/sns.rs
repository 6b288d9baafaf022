//! Amazon SNS.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::iam::PolicyDocument;
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::value::Value;

/// `AWS::SNS::Topic`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    /// `TopicName`, up to 256 characters. Unset, CloudFormation generates one;
    /// changing it replaces the topic.
    pub topic_name: Option<Value<String>>,
    /// `DisplayName`: the sender name in email and SMS notifications.
    pub display_name: Option<String>,
    /// `KmsMasterKeyId`: encrypts messages at rest. Publishers (CloudWatch
    /// alarms included) then need permission on the key, or their messages are lost.
    pub kms_master_key_id: Option<Value<String>>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Topic {
    const TYPE: &'static str = "AWS::SNS::Topic";
}

/// The protocols we type; each fixes what `Endpoint` must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// `email`: an address. AWS emails a confirmation link; nothing is delivered
    /// until someone clicks it.
    Email(String),
    /// `https`: a URL, which must confirm the subscription request it receives.
    Https(String),
    /// `sqs`: a queue ARN. The queue's policy must let the topic send to it.
    Sqs(Value<String>),
    /// `lambda`: a function ARN. The function needs a permission for
    /// `sns.amazonaws.com`: see the function handle's
    /// [`grant_invoke_by_service`](crate::Handle::grant_invoke_by_service).
    Lambda(Value<String>),
}

/// `AWS::SNS::Subscription`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    /// `TopicArn` of the topic subscribed to.
    pub topic_arn: Value<String>,
    /// `Protocol`: `email`, `https`, `sqs` or `lambda`, set by [`Subscription::new`].
    pub protocol: String,
    /// `Endpoint`: where messages go, in the protocol's form.
    pub endpoint: Value<String>,
    /// `RawMessageDelivery`: deliver the bare message instead of SNS's JSON
    /// envelope (sqs and https only).
    pub raw_message_delivery: Option<bool>,
}

impl ResourceType for Subscription {
    const TYPE: &'static str = "AWS::SNS::Subscription";
}

impl Subscription {
    /// Subscribes `endpoint` to `topic`, deriving `Protocol` from the endpoint kind.
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
    /// `Topics`: ARNs of the topics the policy applies to.
    pub topics: Vec<Value<String>>,
    /// `PolicyDocument`: a resource policy, e.g. letting a service publish.
    pub policy_document: PolicyDocument,
}

impl ResourceType for TopicPolicy {
    const TYPE: &'static str = "AWS::SNS::TopicPolicy";
}

impl Handle<Topic> {
    /// The topic's ARN (`Ref`).
    pub fn arn(&self) -> Value<String> {
        self.ref_value()
    }

    /// The topic's name (`Fn::GetAtt TopicName`).
    pub fn name(&self) -> Value<String> {
        self.att("TopicName")
    }
}
