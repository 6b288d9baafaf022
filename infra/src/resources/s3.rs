//! Amazon S3.

use serde::Serialize;
use serde_with::skip_serializing_none;

use super::iam::PolicyDocument;
use super::Tag;
use crate::template::Handle;
use crate::value::Value;

/// `AWS::S3::Bucket`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    /// Leave unset unless you must: CloudFormation generates a unique name,
    /// and a fixed name blocks replacement and collides across regions.
    pub bucket_name: Option<Value<String>>,
    pub bucket_encryption: Option<BucketEncryption>,
    pub public_access_block_configuration: Option<PublicAccessBlockConfiguration>,
    pub versioning_configuration: Option<VersioningConfiguration>,
    pub lifecycle_configuration: Option<LifecycleConfiguration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlockConfiguration {
    pub block_public_acls: bool,
    pub block_public_policy: bool,
    pub ignore_public_acls: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockConfiguration {
    pub fn block_all() -> Self {
        PublicAccessBlockConfiguration {
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VersioningStatus {
    Enabled,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersioningConfiguration {
    pub status: VersioningStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleConfiguration {
    pub rules: Vec<LifecycleRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleStatus {
    Enabled,
    Disabled,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleRule {
    pub id: Option<String>,
    pub status: RuleStatus,
    pub prefix: Option<String>,
    pub expiration_in_days: Option<Value<u32>>,
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortIncompleteMultipartUpload {
    pub days_after_initiation: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketEncryption {
    pub server_side_encryption_configuration: Vec<ServerSideEncryptionRule>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerSideEncryptionRule {
    pub server_side_encryption_by_default: ServerSideEncryptionByDefault,
    pub bucket_key_enabled: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerSideEncryptionByDefault {
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: String,
    #[serde(rename = "KMSMasterKeyID")]
    pub kms_master_key_id: Option<Value<String>>,
}

impl BucketEncryption {
    /// SSE-S3 (AES256), S3's own keys.
    pub fn s3_managed() -> Self {
        BucketEncryption {
            server_side_encryption_configuration: vec![ServerSideEncryptionRule {
                server_side_encryption_by_default: ServerSideEncryptionByDefault {
                    sse_algorithm: "AES256".into(),
                    kms_master_key_id: None,
                },
                bucket_key_enabled: None,
            }],
        }
    }

    /// SSE-KMS with a customer key; the bucket key cuts KMS request costs.
    pub fn kms(key_arn: Value<String>) -> Self {
        BucketEncryption {
            server_side_encryption_configuration: vec![ServerSideEncryptionRule {
                server_side_encryption_by_default: ServerSideEncryptionByDefault {
                    sse_algorithm: "aws:kms".into(),
                    kms_master_key_id: Some(key_arn),
                },
                bucket_key_enabled: Some(true),
            }],
        }
    }
}

/// `AWS::S3::BucketPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Value<String>,
    pub policy_document: PolicyDocument,
}

impl Handle<Bucket> {
    /// The bucket's name (`Ref`).
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    /// `arn:<partition>:s3:::<name>` (`Fn::GetAtt Arn`).
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }

    /// The ARN of objects matching `pattern` (`*` for all objects).
    pub fn arn_for_objects(&self, pattern: &str) -> Value<String> {
        Value::sub(format!("${{{}.Arn}}/{pattern}", self.logical_id()))
    }
}
