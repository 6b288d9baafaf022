//! Typed CloudFormation resources, one module per AWS service, one struct
//! per resource type, field names as CloudFormation spells them. Each
//! module also holds what a handle to its types can do: attributes
//! (`arn()`, `name()`), metrics and grants. Only what the render stack and
//! its usual extensions need is typed; [`Raw`] covers everything else.

pub mod cloudwatch;
pub mod events;
pub mod iam;
pub mod kms;
pub mod lambda;
mod lambda_kinds;
pub mod logs;
pub mod raw;
pub mod s3;
mod schema;
pub mod sns;
pub mod sqs;
pub mod stepfunctions;

pub use raw::Raw;
