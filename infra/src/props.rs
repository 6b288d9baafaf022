//! The stack's props. Each knob is a type that only holds values AWS
//! accepts, so a bad value fails where it is set (with the rule it broke),
//! not twenty minutes into a deploy.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

/// A props value that breaks a rule: which field, which limit, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PropsError {
    /// The setting at fault, e.g. `project_name` or `memory_mb`.
    pub field: &'static str,
    /// What is wrong and which values are allowed.
    pub message: String,
}

impl fmt::Display for PropsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PropsError {}

fn err(field: &'static str, message: impl Into<String>) -> PropsError {
    PropsError {
        field,
        message: message.into(),
    }
}

/// Lambda memory: 2048..=10240 MB in 1024 MB steps. Rendering is CPU-bound
/// and Lambda allots CPU in proportion to memory; below 2 GB a 1080p frame
/// misses the timeout, so smaller sizes are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LambdaMemory(u32);

impl LambdaMemory {
    /// Smallest size offered: below it a 1080p frame misses the timeout.
    pub const MIN_MB: u32 = 2048;
    /// Lambda's ceiling.
    pub const MAX_MB: u32 = 10240;
    /// Sizes are whole gigabytes.
    pub const STEP_MB: u32 = 1024;
    /// 10240 MB: the most CPU Lambda gives (5.8 vCPUs).
    pub const MAX: LambdaMemory = LambdaMemory(Self::MAX_MB);
    /// 3072 MB (1.74 vCPUs), the default. Measured on the local stack, a
    /// 1080p chunk keeps every vCPU busy up to that size: its billed
    /// GB-seconds at 2048 and 3072 MB are the same (30.6 and 31.0 for a
    /// 10-s render), and 3072 is 1.5x faster. Above 2 vCPUs the model says
    /// a chunk leaves them partly idle, which is paid for; a 10-minute
    /// 1080p30 render stays within 45 s at 3072 MB (32 s modelled).
    pub const DEFAULT: LambdaMemory = LambdaMemory(3072);

    /// `mb` if it is 2048..=10240 and a multiple of 1024; the error lists the allowed sizes.
    pub fn new(mb: u32) -> Result<Self, PropsError> {
        if (Self::MIN_MB..=Self::MAX_MB).contains(&mb) && mb % Self::STEP_MB == 0 {
            Ok(LambdaMemory(mb))
        } else {
            Err(err(
                "memory_mb",
                format!(
                    "{mb} MB is not allowed; use one of {} (multiples of 1024 from 2048 to 10240)",
                    Self::allowed()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }

    /// The size in MB, as `MemorySize` takes it.
    pub fn mb(self) -> u32 {
        self.0
    }

    /// Every allowed size in MB, ascending: what the `LambdaMemoryMb` parameter's
    /// `AllowedValues` lists.
    pub fn allowed() -> impl Iterator<Item = u32> {
        (Self::MIN_MB..=Self::MAX_MB).step_by(Self::STEP_MB as usize)
    }
}

/// The size in MB, as flags and parameters spell it.
impl std::fmt::Display for LambdaMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Per-invocation timeout, 60..=900 s (900 is Lambda's ceiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LambdaTimeout(u32);

impl LambdaTimeout {
    /// Shortest allowed: a chunk needs about a minute just to launch Chromium.
    pub const MIN_SECS: u32 = 60;
    /// Lambda's ceiling.
    pub const MAX_SECS: u32 = 900;
    /// 900 s, the default: absorbs cold-start variance.
    pub const MAX: LambdaTimeout = LambdaTimeout(Self::MAX_SECS);

    /// `secs` if it is 60..=900.
    pub fn from_secs(secs: u32) -> Result<Self, PropsError> {
        if (Self::MIN_SECS..=Self::MAX_SECS).contains(&secs) {
            Ok(LambdaTimeout(secs))
        } else {
            Err(err(
                "timeout_sec",
                format!("{secs} s is outside 60..=900 s; Lambda stops at 900 s and a chunk needs at least a minute to launch Chromium"),
            ))
        }
    }

    /// The timeout in seconds, as `Timeout` takes it.
    pub fn secs(self) -> u32 {
        self.0
    }
}

/// Reserved concurrency: unreserved (the account pool) or a positive cap.
/// Zero is not representable: it would disable the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReservedConcurrency {
    /// No reservation: the function draws on the account's shared concurrency pool.
    #[default]
    Unreserved,
    /// At most this many simultaneous invocations (and so chunk renders); the
    /// cap is also reserved out of the account pool.
    Cap(NonZeroU32),
}

impl ReservedConcurrency {
    /// The reference's encoding: -1 is unreserved, positive is a cap.
    pub fn from_i64(v: i64) -> Result<Self, PropsError> {
        match v {
            -1 => Ok(ReservedConcurrency::Unreserved),
            n if n > 0 && n <= u32::MAX as i64 => Ok(ReservedConcurrency::Cap(
                NonZeroU32::new(n as u32).expect("n > 0"),
            )),
            0 => Err(err(
                "reserved_concurrency",
                "0 would throttle every invocation; use -1 for unreserved or a positive cap",
            )),
            n => Err(err(
                "reserved_concurrency",
                format!("{n} is invalid; use -1 for unreserved or a positive cap such as 50"),
            )),
        }
    }

    /// The reference's encoding: -1 for unreserved, the cap otherwise (capped at `i32::MAX`).
    pub fn as_i32(self) -> i32 {
        match self {
            ReservedConcurrency::Unreserved => -1,
            ReservedConcurrency::Cap(n) => n.get().min(i32::MAX as u32) as i32,
        }
    }
}

/// Which Chromium build the handler package carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChromeSource {
    /// The `@sparticuz/chromium` build made for Lambda (the default).
    #[default]
    Sparticuz,
    /// Google's `chrome-headless-shell` build.
    ChromeHeadlessShell,
}

impl ChromeSource {
    /// Every source, the default first.
    pub const ALL: [ChromeSource; 2] = [ChromeSource::Sparticuz, ChromeSource::ChromeHeadlessShell];

    /// The value the handler reads from `HYPERFRAMES_LAMBDA_CHROME_SOURCE`:
    /// `sparticuz` or `chrome-headless-shell`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChromeSource::Sparticuz => "sparticuz",
            ChromeSource::ChromeHeadlessShell => "chrome-headless-shell",
        }
    }
}

impl fmt::Display for ChromeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChromeSource {
    type Err = PropsError;
    fn from_str(s: &str) -> Result<Self, PropsError> {
        ChromeSource::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                err(
                    "chrome_source",
                    format!("`{s}` is not a Chrome source; use sparticuz or chrome-headless-shell"),
                )
            })
    }
}

/// Whether the knobs become CloudFormation Parameters (changeable at deploy
/// time, the SAM way) or literal values (the CDK way: one template per
/// configuration, nothing to pass at deploy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Knobs {
    /// Parameters whose defaults are the props' values.
    #[default]
    Parameters,
    /// Literals baked into the template; nothing to pass at deploy, and the
    /// template declares no Parameters.
    Baked,
}

/// Where the handler ZIP lives. `deploy` points this at the
/// content-addressed key it uploaded (`handlers/<sha256>.zip`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HandlerCode {
    /// Bucket holding the handler ZIP; must be in the stack's region (Lambda requires it).
    pub s3_bucket: String,
    /// Key of the handler ZIP. Use a new key per build: CloudFormation updates the
    /// function's code only when the key (or bucket) changes.
    pub s3_key: String,
}

impl HandlerCode {
    /// The handler ZIP at `s3://<s3_bucket>/<s3_key>`.
    pub fn s3(s3_bucket: impl Into<String>, s3_key: impl Into<String>) -> Self {
        HandlerCode {
            s3_bucket: s3_bucket.into(),
            s3_key: s3_key.into(),
        }
    }
}

impl Default for HandlerCode {
    fn default() -> Self {
        HandlerCode {
            s3_bucket: "hyperframes-artifacts".into(),
            s3_key: "handler.zip".into(),
        }
    }
}

/// How the render bucket is encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum BucketEncryptionProps {
    /// SSE-S3: S3's own keys, no KMS cost or permissions.
    #[default]
    S3Managed,
    /// SSE-KMS with a customer key; the function role gets
    /// kms:Decrypt/GenerateDataKey on it.
    Kms(KmsKey),
}

/// Which customer KMS key encrypts the bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KmsKey {
    /// The stack creates `RenderBucketKey` (rotation on). To use a key you
    /// add yourself, call `HyperframesRenderStack::encrypt_bucket_with`.
    Create,
    /// An existing key, by ARN.
    Existing(String),
}

/// Longest project name: `<name>-render` must fit Lambda's 64-character
/// function name limit.
pub const PROJECT_NAME_MAX: usize = 64 - "-render".len();

/// The props of [`crate::HyperframesRenderStack`]. Defaults equal the
/// reference template's parameter defaults.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RenderStackProps {
    /// Prefixes every resource name (`<name>-render`, alarm names, the log group):
    /// letters, digits, `-` and `_`, not starting with `-`, at most
    /// [`PROJECT_NAME_MAX`] characters. Default `hyperframes`.
    pub project_name: String,
    /// Lambda memory; CPU scales with it. Default 3072 MB
    /// ([`LambdaMemory::DEFAULT`], the lowest cost per rendered minute
    /// within the wall-time goal); 10240 MB is the fastest.
    pub memory: LambdaMemory,
    /// Per-invocation Lambda timeout: one stage (one chunk) must finish within
    /// it. Default 900 s, the maximum.
    pub timeout: LambdaTimeout,
    /// Caps simultaneous chunk renders, and so cost. Default unreserved.
    pub reserved_concurrency: ReservedConcurrency,
    /// Tells the handler which Chromium build its package carries; must match
    /// the deployed package. Default sparticuz.
    pub chrome_source: ChromeSource,
    /// Render function invocations per hour that trip the runaway alarm.
    pub chunk_invocation_alarm_threshold: u32,
    /// Whether the knobs above become Parameters (default) or literals.
    pub knobs: Knobs,
    /// Where the handler ZIP lives; `deploy` points it at the ZIP it uploaded.
    pub code: HandlerCode,
    /// How the render bucket is encrypted at rest. Default SSE-S3.
    pub encryption: BucketEncryptionProps,
}

impl Default for RenderStackProps {
    fn default() -> Self {
        RenderStackProps {
            project_name: "hyperframes".into(),
            memory: LambdaMemory::DEFAULT,
            timeout: LambdaTimeout::MAX,
            reserved_concurrency: ReservedConcurrency::Unreserved,
            chrome_source: ChromeSource::Sparticuz,
            chunk_invocation_alarm_threshold: 1000,
            knobs: Knobs::Parameters,
            code: HandlerCode::default(),
            encryption: BucketEncryptionProps::S3Managed,
        }
    }
}

impl RenderStackProps {
    /// Sets `project_name`. `..Default::default()` is not available
    /// outside this crate (the struct is `#[non_exhaustive]`, so new props
    /// are not a breaking change), so these setters chain from `default()`:
    /// `RenderStackProps::default().project_name("acme").knobs(Knobs::Baked)`.
    pub fn project_name(mut self, name: impl Into<String>) -> Self {
        self.project_name = name.into();
        self
    }

    /// Sets `memory`.
    pub fn memory(mut self, memory: LambdaMemory) -> Self {
        self.memory = memory;
        self
    }

    /// Sets `timeout`.
    pub fn timeout(mut self, timeout: LambdaTimeout) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets `reserved_concurrency`.
    pub fn reserved_concurrency(mut self, reserved: ReservedConcurrency) -> Self {
        self.reserved_concurrency = reserved;
        self
    }

    /// Sets `chrome_source`.
    pub fn chrome_source(mut self, source: ChromeSource) -> Self {
        self.chrome_source = source;
        self
    }

    /// Sets `chunk_invocation_alarm_threshold`.
    pub fn chunk_invocation_alarm_threshold(mut self, per_hour: u32) -> Self {
        self.chunk_invocation_alarm_threshold = per_hour;
        self
    }

    /// Sets `knobs`.
    pub fn knobs(mut self, knobs: Knobs) -> Self {
        self.knobs = knobs;
        self
    }

    /// Sets `code`.
    pub fn code(mut self, code: HandlerCode) -> Self {
        self.code = code;
        self
    }

    /// Sets `encryption`.
    pub fn encryption(mut self, encryption: BucketEncryptionProps) -> Self {
        self.encryption = encryption;
        self
    }

    /// Checks what the field types cannot: the project name's shape, the
    /// alarm threshold, the code location.
    pub fn validate(&self) -> Result<(), Vec<PropsError>> {
        let mut errors = Vec::new();
        let name = &self.project_name;
        if name.is_empty() || name.len() > PROJECT_NAME_MAX {
            errors.push(err("project_name", format!("`{name}` must be 1-{PROJECT_NAME_MAX} characters (it prefixes `<name>-render`, and Lambda names stop at 64)")));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || name.starts_with('-')
        {
            errors.push(err("project_name", format!("`{name}` may only contain letters, digits, `-` and `_`, and must not start with `-` (it is part of function, state machine and alarm names)")));
        }
        if self.chunk_invocation_alarm_threshold == 0 {
            errors.push(err("chunk_invocation_alarm_threshold", "0 would alarm on every invocation; use the invocations per hour you consider a runaway (default 1000)"));
        }
        if let BucketEncryptionProps::Kms(KmsKey::Existing(arn)) = &self.encryption {
            if !arn.starts_with("arn:") || !arn.contains(":kms:") || !arn.contains(":key/") {
                errors.push(err("encryption", format!("`{arn}` is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); aliases are not accepted by bucket encryption grants")));
            }
        }
        if self.code.s3_bucket.is_empty() || self.code.s3_key.is_empty() {
            errors.push(err("code", "the handler code needs an S3 bucket and key"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_accepts_only_gigabyte_steps() {
        assert_eq!(LambdaMemory::new(4096).unwrap().mb(), 4096);
        let e = LambdaMemory::new(4000).unwrap_err();
        assert_eq!(e.field, "memory_mb");
        assert!(e.message.contains("2048, 3072"), "{e}");
        assert!(LambdaMemory::new(11264).is_err());
        assert_eq!(LambdaMemory::allowed().count(), 9);
    }

    #[test]
    fn timeout_and_concurrency_bounds() {
        assert!(LambdaTimeout::from_secs(59).is_err());
        assert!(LambdaTimeout::from_secs(901).is_err());
        assert_eq!(
            ReservedConcurrency::from_i64(-1).unwrap(),
            ReservedConcurrency::Unreserved
        );
        assert_eq!(ReservedConcurrency::from_i64(5).unwrap().as_i32(), 5);
        assert!(ReservedConcurrency::from_i64(0)
            .unwrap_err()
            .message
            .contains("throttle"));
        assert!(ReservedConcurrency::from_i64(-2).is_err());
    }

    #[test]
    fn project_name_rules() {
        let mut p = RenderStackProps::default();
        assert!(p.validate().is_ok());
        p.project_name = "bad name".into();
        assert_eq!(p.validate().unwrap_err()[0].field, "project_name");
        p.project_name = "x".repeat(58);
        assert!(p.validate().is_err());
    }
}
