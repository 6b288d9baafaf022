//! The producer's typed errors.
//!
//! The string returned by [`ProducerError::name`] is part of the contract with the
//! AWS Step Functions state machine: it decides whether a failed stage is retried.
//! The names listed in the team contract are used verbatim; the others are ours
//! and are treated as retryable by the state machine.

use std::path::PathBuf;

/// Every failure the producer reports. Messages say which input, which limit and
/// what to do about it, because they end up in a user's terminal or a Step
/// Functions execution history.
#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    /// A render config field is out of range or malformed (`config.<field>`).
    #[error("invalid render config: {field}: {message}")]
    InvalidConfig { field: String, message: String },

    /// The project or its root composition is unusable (missing file, missing attribute,
    /// zero duration, script error, no timeline).
    #[error("invalid composition {file}: {message}")]
    InvalidComposition { file: PathBuf, message: String },

    #[error("format not supported in distributed rendering: {0}")]
    FormatNotSupported(String),

    #[error("a font could not be fetched: {0}")]
    FontFetchFailed(String),

    /// A non-font remote asset (script, stylesheet, media) could not be resolved offline.
    #[error("an asset could not be fetched: {0}")]
    AssetFetchFailed(String),

    #[error("plan too large: {0}")]
    PlanTooLarge(String),

    #[error("plan hash mismatch: {0}")]
    PlanHashMismatch(String),

    #[error("ffmpeg version mismatch: {0}")]
    FfmpegVersionMismatch(String),

    #[error("plan v2 integrity check failed: {0}")]
    PlanV2Integrity(String),

    /// A chunk artifact belongs to a different plan (its embedded plan hash differs).
    #[error("artifact does not belong to this plan: {0}")]
    ArtifactDigestMismatch(String),

    #[error("browser GL is not software (SwiftShader): {0}")]
    BrowserGpuNotSoftware(String),

    #[error("Chromium headless shell unavailable: {0}")]
    ChromeBinaryUnavailable(String),

    #[error("video source cannot be rendered: {0}")]
    VideoSourceUnrenderable(String),

    #[error("invalid video metadata: {0}")]
    InvalidVideoMetadata(String),

    #[error("not a media file: {0}")]
    NotMediaPayload(String),

    /// A plan file the stage needs is absent or unreadable.
    #[error("plan artifact missing: {0}")]
    MissingPlanArtifact(String),

    #[error("chunk index out of range: {0}")]
    ChunkIndexOutOfRange(String),

    #[error("chunk missing: {0}")]
    ChunkMissing(String),

    #[error("chunks out of order: {0}")]
    ChunkOutOfOrder(String),

    /// A required external tool (ffmpeg, ffprobe, tar) is not installed.
    #[error("tool unavailable: {0}")]
    ToolUnavailable(String),

    /// An external process or browser step exceeded its time budget.
    #[error("timed out: {0}")]
    Timeout(String),

    /// Capture or encode failed for a reason that may be transient.
    #[error("render failed: {0}")]
    RenderFailed(String),

    #[error("encoding failed: {0}")]
    EncodeFailed(String),

    #[error("assemble failed: {0}")]
    AssembleFailed(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ProducerError {
    /// The stable error name the state machine matches on.
    pub fn name(&self) -> &'static str {
        match self {
            ProducerError::InvalidConfig { .. } => "INVALID_CONFIG",
            ProducerError::InvalidComposition { .. } => "INVALID_COMPOSITION",
            ProducerError::FormatNotSupported(_) => "FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED",
            ProducerError::FontFetchFailed(_) => "FONT_FETCH_FAILED",
            ProducerError::AssetFetchFailed(_) => "ASSET_FETCH_FAILED",
            ProducerError::PlanTooLarge(_) => "PLAN_TOO_LARGE",
            ProducerError::PlanHashMismatch(_) => "PLAN_HASH_MISMATCH",
            ProducerError::FfmpegVersionMismatch(_) => "FFMPEG_VERSION_MISMATCH",
            ProducerError::PlanV2Integrity(_) => "PLAN_V2_INTEGRITY_UNRECOVERABLE",
            ProducerError::ArtifactDigestMismatch(_) => "PLAN_ARTIFACT_DIGEST_MISMATCH",
            ProducerError::BrowserGpuNotSoftware(_) => "BROWSER_GPU_NOT_SOFTWARE",
            ProducerError::ChromeBinaryUnavailable(_) => "ChromeBinaryUnavailableError",
            ProducerError::VideoSourceUnrenderable(_) => "VIDEO_SOURCE_UNRENDERABLE",
            ProducerError::InvalidVideoMetadata(_) => "INVALID_VIDEO_METADATA",
            ProducerError::NotMediaPayload(_) => "NOT_MEDIA_PAYLOAD",
            ProducerError::MissingPlanArtifact(_) => "MISSING_PLAN_ARTIFACT",
            ProducerError::ChunkIndexOutOfRange(_) => "CHUNK_INDEX_OUT_OF_RANGE",
            ProducerError::ChunkMissing(_) => "CHUNK_MISSING",
            ProducerError::ChunkOutOfOrder(_) => "CHUNK_OUT_OF_ORDER",
            ProducerError::ToolUnavailable(_) => "TOOL_UNAVAILABLE",
            ProducerError::Timeout(_) => "RENDER_TIMEOUT",
            ProducerError::RenderFailed(_) => "RENDER_FAILED",
            ProducerError::EncodeFailed(_) => "ENCODE_FAILED",
            ProducerError::AssembleFailed(_) => "ASSEMBLE_FAILED",
            ProducerError::Io { .. } => "IO_ERROR",
        }
    }

    /// Whether retrying the same input could succeed: deterministic failures
    /// (bad config, bad plan, wrong binary) never will.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            ProducerError::InvalidConfig { .. }
                | ProducerError::InvalidComposition { .. }
                | ProducerError::FormatNotSupported(_)
                | ProducerError::FontFetchFailed(_)
                | ProducerError::PlanTooLarge(_)
                | ProducerError::PlanHashMismatch(_)
                | ProducerError::FfmpegVersionMismatch(_)
                | ProducerError::PlanV2Integrity(_)
                | ProducerError::ArtifactDigestMismatch(_)
                | ProducerError::BrowserGpuNotSoftware(_)
                | ProducerError::ChromeBinaryUnavailable(_)
                | ProducerError::VideoSourceUnrenderable(_)
                | ProducerError::InvalidVideoMetadata(_)
                | ProducerError::NotMediaPayload(_)
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ProducerError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(field: &str, message: impl Into<String>) -> Self {
        ProducerError::InvalidConfig {
            field: format!("config.{field}"),
            message: message.into(),
        }
    }

    pub(crate) fn composition(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ProducerError::InvalidComposition {
            file: file.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = ProducerError> = std::result::Result<T, E>;
