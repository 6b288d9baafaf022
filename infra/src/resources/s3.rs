//! Amazon S3.

use serde::Serialize;

use super::iam::{PolicyDocument, Role, Statement};
use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::synth::Problem;
use crate::template::Stack;
use crate::validate::ResourceCheck;
use crate::value::Value;

/// `AWS::S3::Bucket`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Bucket {
    /// Leave unset unless you must: CloudFormation generates a unique name,
    /// and a fixed name blocks replacement and collides across regions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_name: Option<Value<String>>,
    /// `BucketEncryption`: default encryption of new objects. Unset, S3 still
    /// applies SSE-S3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_encryption: Option<BucketEncryption>,
    /// `PublicAccessBlockConfiguration`: overrides any policy or ACL that would
    /// make objects public. Use [`PublicAccessBlockConfiguration::block_all`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_access_block_configuration: Option<PublicAccessBlockConfiguration>,
    /// `VersioningConfiguration`. Unset, a new bucket is unversioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning_configuration: Option<VersioningConfiguration>,
    /// `LifecycleConfiguration`: expiry rules S3 applies on its own, about once a day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_configuration: Option<LifecycleConfiguration>,
    /// `LoggingConfiguration`: server access logs, delivered to another bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_configuration: Option<LoggingConfiguration>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Bucket {
    const TYPE: &'static str = "AWS::S3::Bucket";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::BUCKET);

    /// A literal `BucketName` must follow S3's naming rules.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let Some(name) = check.property("BucketName").as_str() else {
            return Vec::new();
        };
        match bucket_name_problem(name) {
            Ok(()) => Vec::new(),
            Err(why) => vec![check.problem("BucketName", format!("`{name}` is not a valid bucket name: {why}; or leave BucketName unset and let CloudFormation generate one"))],
        }
    }
}

/// S3's rules for bucket names, each as the reason a name breaks it.
fn bucket_name_problem(name: &str) -> Result<(), &'static str> {
    let len_ok = (3..=63).contains(&name.len());
    if !len_ok {
        return Err("it must be 3-63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err("only lowercase letters, digits, `-` and `.` are allowed");
    }
    let first = name.chars().next().unwrap();
    let last = name.chars().last().unwrap();
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("it must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return Err("it must not contain two adjacent periods");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("it must not look like an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.ends_with("-s3alias") {
        return Err("it uses a prefix or suffix S3 reserves");
    }
    Ok(())
}

/// The bucket's four public-access switches; S3 applies all four to new
/// buckets by default.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlockConfiguration {
    /// `BlockPublicAcls`: S3 rejects requests that set a public ACL.
    pub block_public_acls: bool,
    /// `BlockPublicPolicy`: S3 rejects bucket policies that grant public access.
    pub block_public_policy: bool,
    /// `IgnorePublicAcls`: S3 ignores public ACLs already present.
    pub ignore_public_acls: bool,
    /// `RestrictPublicBuckets`: while the bucket policy is public, only AWS
    /// services and this account's principals can access the bucket.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockConfiguration {
    /// All four switches on: nothing in the bucket can be made public.
    pub fn block_all() -> Self {
        PublicAccessBlockConfiguration {
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
        }
    }
}

/// A bucket's versioning state. A bucket that was ever `Enabled` can only be
/// `Suspended`, never unversioned again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum VersioningStatus {
    /// S3 keeps every version of every object: overwrites and deletes are recoverable, and billed.
    Enabled,
    /// New writes get no version; versions created while enabled are kept.
    Suspended,
}

/// `VersioningConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersioningConfiguration {
    /// `Status`.
    pub status: VersioningStatus,
}

/// `LoggingConfiguration`: S3 server access logging. The destination bucket
/// must be in the same region and let `logging.s3.amazonaws.com` put objects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfiguration {
    /// `DestinationBucketName`: where the log objects go.
    pub destination_bucket_name: Value<String>,
    /// `LogFilePrefix`, e.g. `render-bucket/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file_prefix: Option<String>,
}

/// `LifecycleConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleConfiguration {
    /// `Rules`, up to 1000.
    pub rules: Vec<LifecycleRule>,
}

/// Whether S3 applies a lifecycle rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleStatus {
    /// S3 applies the rule.
    Enabled,
    /// The rule is kept but S3 ignores it.
    Disabled,
}

/// One lifecycle rule: which objects (by prefix) and what S3 does to them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleRule {
    /// `Id`, up to 255 characters; shows in S3's lifecycle listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Status`.
    pub status: RuleStatus,
    /// `Prefix`: the rule applies to keys starting with this; unset means every object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `ExpirationInDays`: S3 deletes objects this many days after creation (in a
    /// versioned bucket it makes them noncurrent instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_in_days: Option<Value<u32>>,
    /// `AbortIncompleteMultipartUpload`: parts of abandoned uploads are billed
    /// until aborted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortIncompleteMultipartUpload>,
}

/// Aborts multipart uploads left unfinished.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortIncompleteMultipartUpload {
    /// `DaysAfterInitiation`: days after an upload starts before S3 aborts it
    /// and deletes its parts.
    pub days_after_initiation: u32,
}

/// `BucketEncryption`: the default encryption S3 applies to new objects.
/// Build it with [`BucketEncryption::s3_managed`] or [`BucketEncryption::kms`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketEncryption {
    /// `ServerSideEncryptionConfiguration`: one rule.
    pub server_side_encryption_configuration: Vec<ServerSideEncryptionRule>,
}

/// One default-encryption rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerSideEncryptionRule {
    /// `ServerSideEncryptionByDefault`: the algorithm and key.
    pub server_side_encryption_by_default: ServerSideEncryptionByDefault,
    /// `BucketKeyEnabled`: S3 uses a bucket-level key, cutting KMS requests (and
    /// their cost) for SSE-KMS. No effect with SSE-S3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
}

/// The algorithm and key S3 encrypts new objects with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerSideEncryptionByDefault {
    /// `SSEAlgorithm`: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS).
    #[serde(rename = "SSEAlgorithm")]
    pub sse_algorithm: String,
    /// `KMSMasterKeyID`, only with `aws:kms`: a key ARN. Unset, S3 uses the
    /// AWS-managed `aws/s3` key. Readers and writers need KMS permission on it.
    #[serde(rename = "KMSMasterKeyID")]
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[non_exhaustive]
pub struct BucketPolicy {
    /// `Bucket`: the bucket's name (`Ref`), not its ARN.
    pub bucket: Value<String>,
    /// `PolicyDocument`: a resource policy; each statement needs a `Principal`.
    pub policy_document: PolicyDocument,
}

impl BucketPolicy {
    /// `policy_document` on `bucket` (its name).
    pub fn new(bucket: Value<String>, policy_document: PolicyDocument) -> Self {
        BucketPolicy {
            bucket,
            policy_document,
        }
    }
}

impl ResourceType for BucketPolicy {
    const TYPE: &'static str = "AWS::S3::BucketPolicy";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::BUCKET_POLICY);
}

impl Bucket {
    /// The customer KMS key the bucket encrypts with, if any: readers and
    /// writers need it too, or every GetObject fails with AccessDenied.
    fn kms_key_arn(&self) -> Option<Value<String>> {
        self.bucket_encryption
            .as_ref()?
            .server_side_encryption_configuration
            .iter()
            .find_map(|r| {
                r.server_side_encryption_by_default
                    .kms_master_key_id
                    .clone()
            })
    }
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

    /// Lets `role` list the bucket and read its objects.
    pub fn grant_read(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        self.grant(stack, role, &["s3:GetObject"], &["kms:Decrypt"]);
    }

    /// Lets `role` write objects (not read or delete them): for uploaders
    /// such as a CI job staging project archives.
    pub fn grant_put(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        self.grant(
            stack,
            role,
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            // Multipart uploads to an SSE-KMS bucket also need kms:Decrypt.
            &["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
        );
    }

    /// Lets `role` read, write and delete objects and list the bucket.
    pub fn grant_read_write(&self, stack: &mut impl Stack, role: &Handle<Role>) {
        self.grant(
            stack,
            role,
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            &["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"],
        );
    }

    /// `object_actions` on every object, listing on the bucket, and
    /// `kms_actions` on its customer key when it has one.
    fn grant(
        &self,
        stack: &mut impl Stack,
        role: &Handle<Role>,
        object_actions: &[&str],
        kms_actions: &[&str],
    ) {
        role.add_grant(
            stack,
            self,
            Statement::allow(object_actions.iter().copied(), [self.arn_for_objects("*")]),
        );
        role.add_grant(
            stack,
            self,
            Statement::allow(["s3:ListBucket", "s3:GetBucketLocation"], [self.arn()]),
        );
        if let Some(key) = stack.get(self).kms_key_arn() {
            role.add_grant(
                stack,
                self,
                Statement::allow(kms_actions.iter().copied(), [key]),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::iam::Principal;
    use crate::template::Template;
    use serde_json::json;

    #[test]
    fn bucket_names() {
        assert!(bucket_name_problem("my-renders.example").is_ok());
        assert!(bucket_name_problem("My_Bucket").is_err());
        assert!(bucket_name_problem("ab").is_err());
        assert!(bucket_name_problem("192.168.1.1").is_err());
        assert!(bucket_name_problem("a..b").is_err());
        assert!(bucket_name_problem("-ab").is_err());
    }

    #[test]
    fn grants_are_scoped_and_deduplicated() {
        let mut t = Template::new();
        let b = t.add("B", Bucket::default());
        let r = t.add(
            "R",
            Role::assumed_by(Principal::service("ec2.amazonaws.com")),
        );
        b.grant_read(&mut t, &r);
        b.grant_read(&mut t, &r);
        let j = t.to_json();
        let policies = &j["Resources"]["R"]["Properties"]["Policies"];
        assert_eq!(policies.as_array().unwrap().len(), 1);
        assert_eq!(policies[0]["PolicyName"], "BAccess");
        let st = &policies[0]["PolicyDocument"]["Statement"];
        assert_eq!(st.as_array().unwrap().len(), 2, "{st}");
        assert_eq!(st[0]["Action"], "s3:GetObject");
        assert_eq!(st[0]["Resource"], json!({"Fn::Sub": "${B.Arn}/*"}));
    }
}
