//! S3 transport: streamed downloads and uploads, digest-verified
//! downloads, and write-once uploads of content-addressed blobs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use hyperframes_infra::contract::ErrorName;
use tokio::io::AsyncWriteExt;

use crate::error::HandlerError;
use crate::s3uri::S3Uri;

/// Bytes moved in one invocation, for the stage log line.
#[derive(Debug, Default)]
pub struct Traffic {
    pub down: AtomicU64,
    pub up: AtomicU64,
}

/// An S3 client plus traffic counters.
#[derive(Debug, Clone)]
pub struct S3Transport {
    client: Client,
    pub traffic: Arc<Traffic>,
    /// Content-addressed blobs this instance stored or found, by URI, with
    /// their digest and when the object was written. The transport lives
    /// as long as the warm instance, so the rows of a batch that plan on it
    /// do not look up the blobs they share (fonts, media) again. A
    /// confirmation holds while the object is younger than
    /// [`REUSE_WITHIN`], as a lookup's would.
    confirmed: Arc<Mutex<HashMap<String, (String, SystemTime)>>>,
    /// [`REUSE_WITHIN`], unless a test shortens it.
    reuse_within: Duration,
}

/// How old an identical object may be and still be reused instead of
/// written again. The blob store lies under the intermediates prefix,
/// which the bucket expires [`INTERMEDIATES_EXPIRY_DAYS`] days after an
/// object was written; writing a blob again once it is this old leaves a
/// render that reads it two days at least, against a workflow timeout of
/// an hour.
///
/// [`INTERMEDIATES_EXPIRY_DAYS`]: hyperframes_infra::stack::INTERMEDIATES_EXPIRY_DAYS
pub const REUSE_WITHIN: Duration = Duration::from_secs(
    (hyperframes_infra::stack::INTERMEDIATES_EXPIRY_DAYS as u64 - 2) * 24 * 3600,
);

/// What a HEAD says about an object.
struct Head {
    size: u64,
    sha256: Option<String>,
    written: Option<SystemTime>,
}

impl Head {
    fn is(&self, size: u64, sha256: &str) -> bool {
        self.size == size && self.sha256.as_deref() == Some(sha256)
    }

    fn describe(&self) -> String {
        format!(
            "size {} / sha256 {}",
            self.size,
            self.sha256.as_deref().unwrap_or("unrecorded")
        )
    }
}

/// What a content-addressed upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Uploaded,
    /// The identical blob was already there (a retry, or a shared asset).
    Reused,
}

fn transport_error(what: &str, uri: &S3Uri, e: impl std::fmt::Display) -> HandlerError {
    HandlerError::new(ErrorName::S3TransportFailed, format!("{what} {uri}: {e}"))
}

/// SHA-256 of a file, hex (the producer's digest, so both sides agree).
pub fn sha256_file(path: &Path) -> Result<String, HandlerError> {
    Ok(hyperframes_producer::plan::digest::sha256_file(path)?)
}

impl S3Transport {
    pub fn new(client: Client) -> Self {
        S3Transport {
            client,
            traffic: Arc::default(),
            confirmed: Arc::default(),
            reuse_within: REUSE_WITHIN,
        }
    }

    /// Reuses identical objects only while younger than `age` (tests use
    /// zero to see an old blob written again).
    pub fn with_reuse_within(mut self, age: Duration) -> Self {
        self.reuse_within = age;
        self
    }

    /// Whether an object written at `written` may still be reused.
    fn fresh(&self, written: SystemTime) -> bool {
        SystemTime::now()
            .duration_since(written)
            .map_or(true, |age| age < self.reuse_within)
    }

    /// The standard credential chain and region; path-style addressing
    /// when an endpoint override (moto, MinIO, LocalStack) needs it.
    pub async fn connect(path_style: bool) -> Self {
        // rustls on ring, as the programs use: the SDK's default TLS
        // (aws-lc) is a slow C build and nothing here needs it.
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https)
            .load()
            .await;
        let mut b = aws_sdk_s3::config::Builder::from(&conf);
        if path_style {
            b = b.force_path_style(true);
        }
        S3Transport::new(Client::from_conf(b.build()))
    }

    /// Streams an object to `dest` (parent directories created).
    pub async fn download(&self, uri: &S3Uri, dest: &Path) -> Result<u64, HandlerError> {
        let resp = self
            .client
            .get_object()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .send()
            .await
            .map_err(|e| {
                let service = e.as_service_error();
                if service.is_some_and(|s| s.is_no_such_key()) {
                    // Deterministic: retrying will not make the object appear.
                    HandlerError::invalid_event(format!(
                        "{uri} does not exist; check the event's S3 URIs"
                    ))
                } else {
                    transport_error(
                        "cannot download",
                        uri,
                        aws_sdk_s3::error::DisplayErrorContext(e),
                    )
                }
            })?;
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| HandlerError::io("cannot create", parent, e))?;
        }
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| HandlerError::io("cannot create", dest, e))?;
        let mut body = resp.body.into_async_read();
        let n = tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|e| transport_error("download interrupted for", uri, e))?;
        file.flush()
            .await
            .map_err(|e| HandlerError::io("cannot write", dest, e))?;
        self.traffic.down.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// Streams an object to `dest` if it exists; `None` when it does not.
    pub async fn download_if_present(
        &self,
        uri: &S3Uri,
        dest: &Path,
    ) -> Result<Option<u64>, HandlerError> {
        match self.inspect(uri).await? {
            None => Ok(None),
            Some(_) => self.download(uri, dest).await.map(Some),
        }
    }

    /// Downloads a digest-named object and checks its bytes: a blob that
    /// does not hash to its name is deleted and reported, never used.
    pub async fn download_verified(
        &self,
        uri: &S3Uri,
        dest: &Path,
        sha256: &str,
    ) -> Result<u64, HandlerError> {
        let n = self.download(uri, dest).await?;
        let got = sha256_file(dest)?;
        if got != sha256 {
            let _ = std::fs::remove_file(dest);
            return Err(HandlerError::new(
                ErrorName::PlanArtifactDigestMismatch,
                format!("{uri} hashes to {got}, not {sha256}; the plan's blob store is corrupt, re-plan"),
            ));
        }
        Ok(n)
    }

    /// Streams a file to an object.
    pub async fn upload(
        &self,
        src: &Path,
        uri: &S3Uri,
        content_type: Option<&str>,
    ) -> Result<u64, HandlerError> {
        let size = std::fs::metadata(src)
            .map_err(|e| HandlerError::io("cannot read", src, e))?
            .len();
        let body = ByteStream::from_path(src)
            .await
            .map_err(|e| transport_error("cannot read upload source for", uri, e))?;
        self.client
            .put_object()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .set_content_type(content_type.map(str::to_string))
            .content_length(size as i64)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                transport_error(
                    "cannot upload",
                    uri,
                    aws_sdk_s3::error::DisplayErrorContext(e),
                )
            })?;
        self.traffic.up.fetch_add(size, Ordering::Relaxed);
        Ok(size)
    }

    /// Size and recorded digest of an existing object, or `None`.
    async fn inspect(&self, uri: &S3Uri) -> Result<Option<Head>, HandlerError> {
        match self
            .client
            .head_object()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .send()
            .await
        {
            Ok(h) => Ok(Some(Head {
                size: h.content_length().unwrap_or(0).max(0) as u64,
                sha256: h.metadata().and_then(|m| m.get("sha256")).cloned(),
                written: h
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok()),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(transport_error(
                "cannot inspect",
                uri,
                aws_sdk_s3::error::DisplayErrorContext(e),
            )),
        }
    }

    /// Writes a content-addressed blob once. A blob this instance already
    /// confirmed is reused without a request. Otherwise the local file is
    /// re-hashed first; an existing object with the same size and recorded
    /// digest is reused, or written again when it is older than
    /// [`REUSE_WITHIN`]; a different one is never overwritten.
    pub async fn put_content_addressed(
        &self,
        src: &Path,
        uri: &S3Uri,
        sha256: &str,
        content_type: Option<&str>,
    ) -> Result<Stored, HandlerError> {
        let key = uri.to_string();
        let known = |m: &HashMap<String, (String, SystemTime)>| {
            m.get(&key)
                .is_some_and(|(d, t)| d == sha256 && self.fresh(*t))
        };
        if known(&self.confirmed.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(Stored::Reused);
        }
        let (stored, written) = self
            .store_content_addressed(src, uri, sha256, content_type)
            .await?;
        self.confirmed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (sha256.to_string(), written));
        Ok(stored)
    }

    /// Returns what it did and when the object it leaves was written.
    async fn store_content_addressed(
        &self,
        src: &Path,
        uri: &S3Uri,
        sha256: &str,
        content_type: Option<&str>,
    ) -> Result<(Stored, SystemTime), HandlerError> {
        let local = sha256_file(src)?;
        if local != sha256 {
            return Err(HandlerError::new(
                ErrorName::PlanArtifactDigestMismatch,
                format!(
                    "{} hashes to {local}, not its declared {sha256}",
                    src.display()
                ),
            ));
        }
        let size = std::fs::metadata(src)
            .map_err(|e| HandlerError::io("cannot read", src, e))?
            .len();
        let conflict = |found: &Head| {
            HandlerError::new(
                ErrorName::PlanArtifactDigestMismatch,
                format!(
                    "immutable object {uri} already exists with {}, not size {size} / sha256 {sha256}; refusing to overwrite",
                    found.describe()
                ),
            )
        };
        // An identical object too old to reuse is written again (without
        // the condition), which restarts its expiry.
        let mut refresh = false;
        match self.inspect(uri).await? {
            Some(h) if h.is(size, sha256) => match h.written.filter(|t| self.fresh(*t)) {
                Some(t) => return Ok((Stored::Reused, t)),
                None => refresh = true,
            },
            Some(h) => return Err(conflict(&h)),
            None => {}
        }
        let body = ByteStream::from_path(src)
            .await
            .map_err(|e| transport_error("cannot read upload source for", uri, e))?;
        let put = self
            .client
            .put_object()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .set_content_type(content_type.map(str::to_string))
            .content_length(size as i64)
            .metadata("sha256", sha256)
            .set_if_none_match((!refresh).then(|| "*".to_string()))
            .body(body)
            .send()
            .await;
        match put {
            Ok(_) => {
                self.traffic.up.fetch_add(size, Ordering::Relaxed);
                Ok((Stored::Uploaded, SystemTime::now()))
            }
            // Another writer won the race: fine if it wrote the same blob.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => {
                match self.inspect(uri).await? {
                    Some(h) if h.is(size, sha256) => {
                        Ok((Stored::Reused, h.written.unwrap_or_else(SystemTime::now)))
                    }
                    Some(h) => Err(conflict(&h)),
                    None => Err(transport_error(
                        "conditional put failed and the object vanished:",
                        uri,
                        "412",
                    )),
                }
            }
            Err(e) => Err(transport_error(
                "cannot upload",
                uri,
                aws_sdk_s3::error::DisplayErrorContext(e),
            )),
        }
    }
}
