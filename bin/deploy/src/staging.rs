//! The staging bucket for handler packages, like `sam deploy --resolve-s3`:
//! one private, encrypted bucket per account and region, created on first
//! use, holding content-addressed objects that are uploaded at most once.

use std::path::Path;

use anyhow::{bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};

use hyperframes_cli::aws::Aws;

/// `hyperframes-staging-<account>-<region>`: deterministic, so every deploy
/// from any machine finds the same bucket, and account-scoped, so the
/// global bucket namespace does not collide across users.
pub fn default_bucket_name(account: &str, region: &str) -> String {
    format!("hyperframes-staging-{account}-{region}")
}

/// Makes sure the bucket exists and is ours; creates it private and
/// SSE-S3 encrypted when missing. An existing bucket is left as it is.
pub async fn ensure_bucket(aws: &Aws, bucket: &str) -> Result<()> {
    match aws.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(()),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(404) => {}
                Some(403) => bail!(
                    "staging bucket {bucket} exists but this identity cannot use it (HTTP 403): it belongs to \
                     another account, or s3:ListBucket is missing. Choose another with --staging-bucket NAME."
                ),
                Some(301) => bail!(
                    "staging bucket {bucket} exists in another region than {}; pass --staging-bucket NAME \
                     for a bucket in {}",
                    aws.region,
                    aws.region
                ),
                _ => return Err(aws.explain("s3:ListBucket", &e)),
            }
        }
    }
    println!("creating staging bucket {bucket} (private, SSE-S3)");
    let mut create = aws.s3.create_bucket().bucket(bucket);
    if aws.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                .build(),
        );
    }
    if let Err(e) = create.send().await {
        let taken = e
            .as_service_error()
            .is_some_and(|s| s.is_bucket_already_exists());
        if taken {
            bail!(
                "the bucket name {bucket} is taken by another account; pass --staging-bucket NAME"
            );
        }
        return Err(aws.explain("s3:CreateBucket", &e));
    }
    aws.s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws.explain("s3:PutBucketPublicAccessBlock", &e))?;
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .context("building the encryption rule")?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        )
        .build()
        .context("building the encryption configuration")?;
    aws.s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(|e| aws.explain("s3:PutEncryptionConfiguration", &e))?;
    Ok(())
}

/// Whether the upload happened or the object was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    Uploaded,
    AlreadyStaged,
}

/// Uploads `file` to `s3://bucket/key` unless HeadObject finds the key:
/// keys are content hashes, so an existing key holds the same bytes.
pub async fn upload_if_missing(aws: &Aws, bucket: &str, key: &str, file: &Path) -> Result<Upload> {
    match aws.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => return Ok(Upload::AlreadyStaged),
        Err(e) => {
            let not_found = e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
            if !not_found {
                return Err(aws.explain("s3:GetObject", &e));
            }
        }
    }
    let body = ByteStream::from_path(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/zip")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(body)
        .send()
        .await
        .map_err(|e| aws.explain("s3:PutObject", &e))?;
    Ok(Upload::Uploaded)
}

/// Uploads a template too large for `TemplateBody` (51,200 bytes) and
/// returns the URL CloudFormation reads it from.
pub async fn upload_template(aws: &Aws, bucket: &str, body: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    let key = format!(
        "templates/{}.json",
        crate::package::hex(&Sha256::digest(body.as_bytes()))
    );
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .server_side_encryption(ServerSideEncryption::Aes256)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| aws.explain("s3:PutObject", &e))?;
    Ok(match &aws.endpoint {
        Some(e) => format!("{}/{bucket}/{key}", e.trim_end_matches('/')),
        None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", aws.region),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_a_valid_bucket_name() {
        let n = default_bucket_name("123456789012", "ap-southeast-4");
        assert!(n.len() <= 63, "{n}");
        assert!(n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
