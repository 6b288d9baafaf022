//! Typed CloudFormation resources, one module per AWS service, one struct
//! per resource type, field names as CloudFormation spells them. Only what
//! the render stack and its usual extensions need is typed; [`Raw`] covers
//! everything else.

pub mod cloudwatch;
pub mod events;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod raw;
pub mod s3;
pub mod sns;
pub mod sqs;
pub mod stepfunctions;

use serde::Serialize;
use serde_json::Value as Json;

use crate::value::Value;

pub use raw::Raw;

/// A resource type's properties struct.
pub trait ResourceType: Serialize + Into<AnyResource> + Sized {
    /// The CloudFormation type name, e.g. `AWS::S3::Bucket`.
    const TYPE: &'static str;
    /// The properties if `r` holds this type; `None` otherwise. Backs
    /// [`crate::Template::get`].
    fn from_any(r: &AnyResource) -> Option<&Self>;
    /// The properties, mutably, if `r` holds this type; `None` otherwise. Backs
    /// [`crate::Template::get_mut`].
    fn from_any_mut(r: &mut AnyResource) -> Option<&mut Self>;
}

/// A CloudFormation tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// `Key`: up to 128 characters; the `aws:` prefix is reserved by AWS.
    pub key: String,
    /// `Value`: up to 256 characters; may be an intrinsic (e.g. the project name parameter).
    pub value: Value<String>,
}

impl Tag {
    /// A tag; the value may be a literal or an intrinsic.
    pub fn new(key: impl Into<String>, value: impl Into<Value<String>>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Declares the closed set of typed resources: the enum the template
/// stores, and the `ResourceType` glue for each struct. The structs
/// themselves are plain and live in their service modules.
macro_rules! any_resource {
    ($($variant:ident($ty:path) = $type_name:literal,)*) => {
        /// Any resource the template can hold. Each typed variant holds the
        /// struct of the same name from its service module (`Bucket` holds
        /// [`s3::Bucket`], an `AWS::S3::Bucket`); [`ResourceType::TYPE`] on the
        /// struct gives its CloudFormation type name.
        // Boxing the large variants would make every `get_mut` pattern
        // noisier for a size that never matters (a template holds hundreds).
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnyResource {
            $(
                /// A typed resource: the struct named after this variant.
                $variant($ty),
            )*
            /// Any other type, properties as untyped JSON (see [`Raw`]).
            Raw(Raw),
        }

        impl AnyResource {
            /// The CloudFormation type name, e.g. `AWS::Lambda::Function`.
            pub fn type_name(&self) -> &str {
                match self {
                    $(AnyResource::$variant(_) => $type_name,)*
                    AnyResource::Raw(r) => &r.type_name,
                }
            }

            /// The `Properties` object as CloudFormation will see it (before overrides).
            pub fn properties_json(&self) -> Json {
                match self {
                    $(AnyResource::$variant(p) => serde_json::to_value(p).expect("resource properties serialize"),)*
                    AnyResource::Raw(r) => r.properties.clone(),
                }
            }
        }

        $(
            impl From<$ty> for AnyResource {
                fn from(v: $ty) -> Self {
                    AnyResource::$variant(v)
                }
            }

            impl ResourceType for $ty {
                const TYPE: &'static str = $type_name;
                fn from_any(r: &AnyResource) -> Option<&Self> {
                    match r {
                        AnyResource::$variant(v) => Some(v),
                        _ => None,
                    }
                }
                fn from_any_mut(r: &mut AnyResource) -> Option<&mut Self> {
                    match r {
                        AnyResource::$variant(v) => Some(v),
                        _ => None,
                    }
                }
            }
        )*
    };
}

any_resource! {
    Bucket(s3::Bucket) = "AWS::S3::Bucket",
    BucketPolicy(s3::BucketPolicy) = "AWS::S3::BucketPolicy",
    Function(lambda::Function) = "AWS::Lambda::Function",
    Permission(lambda::Permission) = "AWS::Lambda::Permission",
    Role(iam::Role) = "AWS::IAM::Role",
    StateMachine(stepfunctions::StateMachine) = "AWS::StepFunctions::StateMachine",
    LogGroup(logs::LogGroup) = "AWS::Logs::LogGroup",
    Alarm(cloudwatch::Alarm) = "AWS::CloudWatch::Alarm",
    Topic(sns::Topic) = "AWS::SNS::Topic",
    Subscription(sns::Subscription) = "AWS::SNS::Subscription",
    TopicPolicy(sns::TopicPolicy) = "AWS::SNS::TopicPolicy",
    Key(kms::Key) = "AWS::KMS::Key",
    Alias(kms::Alias) = "AWS::KMS::Alias",
    Queue(sqs::Queue) = "AWS::SQS::Queue",
    QueuePolicy(sqs::QueuePolicy) = "AWS::SQS::QueuePolicy",
    EventRule(events::Rule) = "AWS::Events::Rule",
    EventConnection(events::Connection) = "AWS::Events::Connection",
    ApiDestination(events::ApiDestination) = "AWS::Events::ApiDestination",
}

impl ResourceType for Raw {
    const TYPE: &'static str = "(raw)";
    fn from_any(r: &AnyResource) -> Option<&Self> {
        match r {
            AnyResource::Raw(v) => Some(v),
            _ => None,
        }
    }
    fn from_any_mut(r: &mut AnyResource) -> Option<&mut Self> {
        match r {
            AnyResource::Raw(v) => Some(v),
            _ => None,
        }
    }
}

impl From<Raw> for AnyResource {
    fn from(v: Raw) -> Self {
        AnyResource::Raw(v)
    }
}
