//! `s3://bucket/key` URIs and the render-bucket allow-list.

use std::fmt;

use crate::error::HandlerError;
use hyperframes_infra::contract::ErrorName;

/// A parsed `s3://bucket/key`. The key may end in `/` (a prefix) but is
/// never empty: a whole-bucket URI is never a valid location here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

impl S3Uri {
    /// Parses `value`, naming `field` in the error.
    pub fn parse(field: &str, value: &str) -> Result<S3Uri, HandlerError> {
        let bad = |why: &str| {
            HandlerError::invalid_event(format!(
                "{field}: `{value}` is not an S3 URI ({why}); expected s3://<bucket>/<key>"
            ))
        };
        let rest = value
            .strip_prefix("s3://")
            .ok_or_else(|| bad("no s3:// scheme"))?;
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| bad("no key after the bucket"))?;
        if bucket.is_empty() {
            return Err(bad("empty bucket"));
        }
        if key.is_empty() {
            return Err(bad("empty key"));
        }
        Ok(S3Uri {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The prefix as a directory: exactly one trailing `/`.
    pub fn as_prefix(&self) -> String {
        format!("{}/", self.key.trim_end_matches('/'))
    }

    /// A URI under this prefix.
    pub fn join(&self, relative: &str) -> S3Uri {
        S3Uri {
            bucket: self.bucket.clone(),
            key: format!("{}{relative}", self.as_prefix()),
        }
    }

    /// Refuses URIs outside `allowed` (the render bucket), so a crafted
    /// execution input cannot make the function read or write elsewhere.
    pub fn check_bucket(&self, field: &str, allowed: &str) -> Result<(), HandlerError> {
        if self.bucket == allowed {
            Ok(())
        } else {
            Err(HandlerError::new(
                ErrorName::S3UriNotAllowed,
                format!(
                    "{field}: {self} is outside the render bucket `{allowed}`; every URI must be in HYPERFRAMES_RENDER_BUCKET"
                ),
            ))
        }
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_join() {
        let p = S3Uri::parse("P", "s3://b/renders/r1").unwrap();
        assert_eq!(
            p.join("chunks/0000.mp4").to_string(),
            "s3://b/renders/r1/chunks/0000.mp4"
        );
        let p = S3Uri::parse("P", "s3://b/renders/r1//").unwrap();
        assert_eq!(p.as_prefix(), "renders/r1/");
        for bad in ["b/key", "s3://b", "s3:///key", "s3://b/"] {
            let e = S3Uri::parse("Field", bad).unwrap_err();
            assert!(e.message.starts_with("Field:"), "{e}");
            assert_eq!(e.name, ErrorName::InvalidEvent);
        }
    }

    #[test]
    fn allow_list() {
        let u = S3Uri::parse("X", "s3://other/k").unwrap();
        let e = u.check_bucket("X", "renders").unwrap_err();
        assert_eq!(e.name, ErrorName::S3UriNotAllowed);
        assert!(u.check_bucket("X", "other").is_ok());
    }
}
