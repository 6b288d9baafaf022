//! The producer's typed errors.
//!
//! Each error has a contract name ([`ProducerError::contract_name`]): the
//! `errorType` the function reports and the state machine's Retry lists
//! match on, so the contract decides, per stage, whether it is retried. The
//! match is exhaustive, so a new variant does not compile until it has
//! one. [`ProducerError::name`] is the producer's own, finer code, shown in
//! messages (`CHUNK_MISSING`, `RENDER_TIMEOUT`, ...).

use std::path::PathBuf;

use hyperframes_infra::contract::ErrorName;

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

    /// ffmpeg is missing or does not start: locally not installed, in the
    /// function a package without its bundled ffmpeg.
    #[error("tool unavailable: {0}")]
    ToolUnavailable(String),

    /// An external process or browser step exceeded its time budget.
    #[error("timed out: {0}")]
    Timeout(String),

    /// Capture or encode failed for a reason that may be transient.
    #[error("render failed: {0}")]
    RenderFailed(String),

    /// A `HeadlessExperimental.beginFrame` step failed. The chunk is
    /// rendered again in screenshot mode, which does not use it
    /// ([`crate::chunk`]); otherwise it is a [`ProducerError::RenderFailed`].
    #[error("render failed: {0}")]
    BeginFrameFailed(String),

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
    /// The contract's name for this error, which decides per stage whether
    /// the state machine retries it. Deterministic input problems must not
    /// be retried; failures that may not recur (a crash, a killed encoder,
    /// a full disk) may.
    pub fn contract_name(&self) -> ErrorName {
        use ProducerError::*;
        match self {
            InvalidConfig { .. } | InvalidComposition { .. } | AssetFetchFailed(_) => {
                ErrorName::InvalidEvent
            }
            ChunkIndexOutOfRange(_) | ChunkMissing(_) | ChunkOutOfOrder(_) => {
                ErrorName::InvalidEvent
            }
            FormatNotSupported(_) => ErrorName::FormatNotSupportedInDistributed,
            FontFetchFailed(_) => ErrorName::FontFetchFailed,
            PlanTooLarge(_) => ErrorName::PlanTooLarge,
            PlanHashMismatch(_) => ErrorName::PlanHashMismatch,
            FfmpegVersionMismatch(_) => ErrorName::FfmpegVersionMismatch,
            PlanV2Integrity(_) | MissingPlanArtifact(_) => ErrorName::PlanV2IntegrityUnrecoverable,
            ArtifactDigestMismatch(_) => ErrorName::PlanArtifactDigestMismatch,
            BrowserGpuNotSoftware(_) => ErrorName::BrowserGpuNotSoftware,
            ChromeBinaryUnavailable(_) => ErrorName::ChromeBinaryUnavailable,
            VideoSourceUnrenderable(_) => ErrorName::VideoSourceUnrenderable,
            InvalidVideoMetadata(_) => ErrorName::InvalidVideoMetadata,
            NotMediaPayload(_) => ErrorName::NotMediaPayload,
            ToolUnavailable(_) => ErrorName::ToolUnavailable,
            Timeout(_)
            | RenderFailed(_)
            | BeginFrameFailed(_)
            | EncodeFailed(_)
            | AssembleFailed(_)
            | Io { .. } => ErrorName::RenderFailed,
        }
    }

    /// The producer's own code: the contract name, or a finer one where
    /// several producer errors share a contract name.
    pub fn name(&self) -> &'static str {
        use ProducerError::*;
        match self {
            InvalidConfig { .. } => "INVALID_CONFIG",
            InvalidComposition { .. } => "INVALID_COMPOSITION",
            AssetFetchFailed(_) => "ASSET_FETCH_FAILED",
            MissingPlanArtifact(_) => "MISSING_PLAN_ARTIFACT",
            ChunkIndexOutOfRange(_) => "CHUNK_INDEX_OUT_OF_RANGE",
            ChunkMissing(_) => "CHUNK_MISSING",
            ChunkOutOfOrder(_) => "CHUNK_OUT_OF_ORDER",
            Timeout(_) => "RENDER_TIMEOUT",
            EncodeFailed(_) => "ENCODE_FAILED",
            AssembleFailed(_) => "ASSEMBLE_FAILED",
            Io { .. } => "IO_ERROR",
            _ => self.contract_name().as_str(),
        }
    }

    /// An I/O failure on `path` (also for the render tools built on the producer).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
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
