//! Amazon SNS.

use serde::Serialize;

use super::iam::PolicyDocument;
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::value::Value;

/// `AWS::SNS::Topic`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Topic {
    /// `TopicName`, up to 256 characters. Unset, CloudFormation generates one;
    /// changing it replaces the topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<Value<String>>,
    /// `DisplayName`: the sender name in email and SMS notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `KmsMasterKeyId`: encrypts messages at rest. Publishers (CloudWatch
    /// alarms included) then need permission on the key, or their messages are lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<Value<String>>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Topic {
    const TYPE: &'static str = "AWS::SNS::Topic";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::TOPIC);
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Subscription {
    /// `TopicArn` of the topic subscribed to.
    pub topic_arn: Value<String>,
    /// `Protocol`: `email`, `https`, `sqs` or `lambda`, set by [`Subscription::new`].
    pub protocol: String,
    /// `Endpoint`: where messages go, in the protocol's form.
    pub endpoint: Value<String>,
    /// `RawMessageDelivery`: deliver the bare message instead of SNS's JSON
    /// envelope (sqs and https only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_message_delivery: Option<bool>,
}

impl ResourceType for Subscription {
    const TYPE: &'static str = "AWS::SNS::Subscription";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::SUBSCRIPTION);
}

impl Subscription {
    /// Subscribes `endpoint` to `topic`, deriving `Protocol` from the endpoint kind.
    pub fn new(topic: &Handle<Topic>, endpoint: Endpoint) -> Self {
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
#[non_exhaustive]
pub struct TopicPolicy {
    /// `Topics`: ARNs of the topics the policy applies to.
    pub topics: Vec<Value<String>>,
    /// `PolicyDocument`: a resource policy, e.g. letting a service publish.
    pub policy_document: PolicyDocument,
}

impl TopicPolicy {
    /// `policy_document` on each of `topics` (their ARNs).
    pub fn new(topics: Vec<Value<String>>, policy_document: PolicyDocument) -> Self {
        TopicPolicy {
            topics,
            policy_document,
        }
    }
}

impl ResourceType for TopicPolicy {
    const TYPE: &'static str = "AWS::SNS::TopicPolicy";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::TOPIC_POLICY);
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
