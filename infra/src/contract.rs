//! The contract between the state machine and the render function, written
//! once: action names, payload field names, and the error names each stage
//! must not retry. The ASL builder reads the Retry lists from here and the
//! handler reads its error names from here, so the two cannot drift (the
//! reference needed a dedicated SAM-vs-CDK parity test after they did).

use std::fmt;
use std::str::FromStr;

/// The `Action` the function dispatches on; one per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `plan`: compiles the project once, hermetically, and splits it into chunks.
    Plan,
    /// `renderChunk`: renders and encodes one chunk's frames; runs once per chunk.
    RenderChunk,
    /// `assemble`: concatenates the chunks and muxes the audio into the output.
    Assemble,
}

impl Action {
    /// Every action, in pipeline order.
    pub const ALL: [Action; 3] = [Action::Plan, Action::RenderChunk, Action::Assemble];

    /// The wire name in the event's `Action` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Plan => "plan",
            Action::RenderChunk => "renderChunk",
            Action::Assemble => "assemble",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!("unknown Action `{s}`; expected one of plan, renderChunk, assemble")
            })
    }
}

/// How the plan travels between stages. v1: one tarball; v2: a manifest of
/// content-addressed blobs (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanProtocol {
    /// `v1`: the plan is one tarball at `PlanS3Uri`.
    V1,
    /// `v2`: a manifest at `PlanV2ManifestS3Uri` plus content-addressed blobs
    /// under `PlanV2ArtifactS3Prefix`.
    V2,
}

impl PlanProtocol {
    /// Every protocol.
    pub const ALL: [PlanProtocol; 2] = [PlanProtocol::V1, PlanProtocol::V2];
    /// What an execution gets when its input has no `PlanProtocol`.
    pub const DEFAULT: PlanProtocol = PlanProtocol::V2;

    /// The wire name in the `PlanProtocol` field: `v1` or `v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanProtocol::V1 => "v1",
            PlanProtocol::V2 => "v2",
        }
    }
}

impl FromStr for PlanProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PlanProtocol::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown PlanProtocol `{s}`; expected v1, v2 or absent (v2)"))
    }
}

/// Payload field names, PascalCase as on the wire.
pub mod field {
    // Execution input.
    /// Execution input: `s3://` URI of the project to render; must be in the render bucket.
    pub const PROJECT_S3_URI: &str = "ProjectS3Uri";
    /// Execution input: `s3://` prefix the plan and the chunks are written under.
    pub const PLAN_OUTPUT_S3_PREFIX: &str = "PlanOutputS3Prefix";
    /// Execution input: `s3://` URI of the final video; echoed in the assemble result.
    pub const OUTPUT_S3_URI: &str = "OutputS3Uri";
    /// Execution input: the render config object, handed to plan as is.
    pub const CONFIG: &str = "Config";
    /// Execution input, optional: `v1` or `v2`; absent means [`super::PlanProtocol::DEFAULT`].
    /// Sent in every event.
    pub const PLAN_PROTOCOL: &str = "PlanProtocol";
    /// Execution input, optional: the most chunks rendered at once (the
    /// Map's MaxConcurrency), a positive integer. `render` sets it from the
    /// account's and the function's Lambda concurrency, leaving headroom;
    /// absent means every chunk at once (the chunk count).
    pub const CONCURRENCY: &str = "Concurrency";
    // Every event.
    /// Every event: which stage to run (`plan`, `renderChunk`, `assemble`).
    pub const ACTION: &str = "Action";
    // Plan result (v1 / v2 location).
    /// v1 plan result: `s3://` URI of the plan tarball.
    pub const PLAN_S3_URI: &str = "PlanS3Uri";
    /// v2 plan result: `s3://` URI of the plan manifest.
    pub const PLAN_V2_MANIFEST_S3_URI: &str = "PlanV2ManifestS3Uri";
    /// v2 plan result: `s3://` prefix of the content-addressed plan blobs.
    pub const PLAN_V2_ARTIFACT_S3_PREFIX: &str = "PlanV2ArtifactS3Prefix";
    /// Plan result: the plan's content hash. Later stages refuse a plan whose
    /// files hash differently, and assemble refuses chunks tagged with another.
    pub const PLAN_HASH: &str = "PlanHash";
    /// Plan result: how many chunks to render; the workflow fails with
    /// `PLAN_TOO_LARGE` unless it is 1..=1000.
    pub const CHUNK_COUNT: &str = "ChunkCount";
    /// Plan result: the output format, passed on to every later stage.
    pub const FORMAT: &str = "Format";
    /// Plan result: whether the composition has audio.
    pub const HAS_AUDIO: &str = "HasAudio";
    /// v1 plan result and assemble event: `s3://` URI of the audio track (v2
    /// sends `null`; its audio travels in the manifest).
    pub const AUDIO_S3_URI: &str = "AudioS3Uri";
    // renderChunk event and result.
    /// renderChunk event and result: the chunk's 0-based index.
    pub const CHUNK_INDEX: &str = "ChunkIndex";
    /// renderChunk event: `s3://` prefix the chunk is written under.
    pub const CHUNK_OUTPUT_S3_PREFIX: &str = "ChunkOutputS3Prefix";
    /// renderChunk result: `s3://` URI of the rendered chunk.
    pub const CHUNK_S3_URI: &str = "ChunkS3Uri";
    /// renderChunk result: SHA-256 of the chunk file.
    pub const SHA256: &str = "Sha256";
    // assemble event and result.
    /// Assemble event: the chunks' URIs, in chunk order.
    pub const CHUNK_S3_URIS: &str = "ChunkS3Uris";
    /// Assemble result: frames in the final video.
    pub const FRAMES_ENCODED: &str = "FramesEncoded";
    /// Assemble result: size of the final video, in bytes.
    pub const FILE_SIZE: &str = "FileSize";
}

/// Where the state machine keeps stage results in the execution state.
pub mod state_path {
    /// The plan result (after its ResultSelector).
    pub const PLAN: &str = "$.Plan";
    /// Where BuildChunkList puts the list of chunk indexes.
    pub const ITERATOR: &str = "$.Iterator";
    /// Key of the `0..ChunkCount` index list under [`ITERATOR`]; the Map iterates it.
    pub const CHUNK_INDEXES: &str = "ChunkIndexes";
    /// Key of the Map's MaxConcurrency under [`ITERATOR`]: the input's
    /// [`super::field::CONCURRENCY`], or the chunk count when it is absent.
    pub const MAX_CONCURRENCY: &str = "MaxConcurrency";
    /// The Map's results, one per chunk, in chunk order.
    pub const CHUNKS: &str = "$.Chunks";
    /// The assemble result.
    pub const OUTPUT: &str = "$.Output";
}

/// Plan-location fields each protocol carries from plan to the later stages.
pub fn plan_location_fields(protocol: PlanProtocol) -> &'static [&'static str] {
    match protocol {
        PlanProtocol::V1 => &[field::PLAN_S3_URI],
        PlanProtocol::V2 => &[
            field::PLAN_V2_MANIFEST_S3_URI,
            field::PLAN_V2_ARTIFACT_S3_PREFIX,
        ],
    }
}

/// Every error name the handler reports as its Lambda `errorType`.
///
/// The reference lists both SCREAMING_CASE codes and Node class names
/// (`PlanTooLargeError`) because its runtime may report either; ours reports
/// exactly one name per error, so each error appears once here. The one
/// class-style name, `ChromeBinaryUnavailableError`, has no code in the
/// reference and keeps its spelling so existing alarms and runbooks match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorName {
    /// A worker's ffmpeg is not the build the plan was made with, so chunk bytes
    /// would differ. Never retried.
    FfmpegVersionMismatch,
    /// The plan's files no longer hash to its `PlanHash` (modified or partially
    /// copied). Never retried.
    PlanHashMismatch,
    /// An event's S3 URI is outside the render bucket. Never retried.
    S3UriNotAllowed,
    /// Chromium is not rasterizing WebGL in software (SwiftShader), so workers'
    /// pixels could differ. Not retried by plan and renderChunk.
    BrowserGpuNotSoftware,
    /// A font the project uses could not be fetched. Not retried by plan.
    FontFetchFailed,
    /// The plan is over its size cap, or has 0 or more than 1000 chunks (the
    /// workflow's own Fail states use this name). Never retried.
    PlanTooLarge,
    /// `PlanProtocol` is neither `v1`, `v2` nor absent. Never retried.
    PlanProtocolUnsupported,
    /// A v2 manifest or blob is unreadable or fails its hash check. Never retried.
    PlanV2IntegrityUnrecoverable,
    /// A media `src` is missing or outside the project. Not retried by plan.
    VideoSourceUnrenderable,
    /// Media metadata is malformed (e.g. an empty or negative time window). Not
    /// retried by plan and renderChunk.
    InvalidVideoMetadata,
    /// A media file is not readable audio or video. Not retried by plan.
    NotMediaPayload,
    /// A chunk was rendered from another plan than the one being assembled.
    /// Never retried.
    PlanArtifactDigestMismatch,
    /// The requested output (e.g. forced HDR) cannot be rendered distributed.
    /// Not retried by plan and assemble.
    FormatNotSupportedInDistributed,
    /// The Chromium build is missing or does not start; reported as
    /// `ChromeBinaryUnavailableError`. Never retried.
    ChromeBinaryUnavailable,
    /// A program the function runs (its bundled ffmpeg) is missing from the
    /// package or cannot start: a deployment defect that every retry would
    /// hit again. Never retried; the message says what the package lacks.
    ToolUnavailable,
    /// The function cannot start: its package has no payload manifest, a
    /// malformed one, or lacks a payload file the manifest names, or an
    /// environment variable the stack sets is missing or invalid. Found
    /// before the first event and reported as the init error, so every
    /// retry would meet it again. Never retried; the message names the
    /// package step or the variable to fix.
    FunctionMisconfigured,
    /// The event is malformed in a way no retry fixes (missing field, bad
    /// config). Non-retryable in every stage.
    InvalidEvent,
    /// A render failed for a reason that may not recur (browser crash,
    /// encoder killed, out of disk). Retryable.
    RenderFailed,
    /// S3 was unreachable or throttled. Retryable.
    S3TransportFailed,
}

impl ErrorName {
    /// Every name, in contract order: the order of each stage's non-retryable list.
    pub const ALL: [ErrorName; 19] = [
        ErrorName::FfmpegVersionMismatch,
        ErrorName::PlanHashMismatch,
        ErrorName::S3UriNotAllowed,
        ErrorName::BrowserGpuNotSoftware,
        ErrorName::FontFetchFailed,
        ErrorName::PlanTooLarge,
        ErrorName::PlanProtocolUnsupported,
        ErrorName::PlanV2IntegrityUnrecoverable,
        ErrorName::VideoSourceUnrenderable,
        ErrorName::InvalidVideoMetadata,
        ErrorName::NotMediaPayload,
        ErrorName::PlanArtifactDigestMismatch,
        ErrorName::FormatNotSupportedInDistributed,
        ErrorName::ChromeBinaryUnavailable,
        ErrorName::ToolUnavailable,
        ErrorName::FunctionMisconfigured,
        ErrorName::InvalidEvent,
        ErrorName::RenderFailed,
        ErrorName::S3TransportFailed,
    ];

    /// The name Step Functions matches in `ErrorEquals`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::FfmpegVersionMismatch => "FFMPEG_VERSION_MISMATCH",
            ErrorName::PlanHashMismatch => "PLAN_HASH_MISMATCH",
            ErrorName::S3UriNotAllowed => "S3_URI_NOT_ALLOWED",
            ErrorName::BrowserGpuNotSoftware => "BROWSER_GPU_NOT_SOFTWARE",
            ErrorName::FontFetchFailed => "FONT_FETCH_FAILED",
            ErrorName::PlanTooLarge => "PLAN_TOO_LARGE",
            ErrorName::PlanProtocolUnsupported => "PLAN_PROTOCOL_UNSUPPORTED",
            ErrorName::PlanV2IntegrityUnrecoverable => "PLAN_V2_INTEGRITY_UNRECOVERABLE",
            ErrorName::VideoSourceUnrenderable => "VIDEO_SOURCE_UNRENDERABLE",
            ErrorName::InvalidVideoMetadata => "INVALID_VIDEO_METADATA",
            ErrorName::NotMediaPayload => "NOT_MEDIA_PAYLOAD",
            ErrorName::PlanArtifactDigestMismatch => "PLAN_ARTIFACT_DIGEST_MISMATCH",
            ErrorName::FormatNotSupportedInDistributed => "FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED",
            ErrorName::ChromeBinaryUnavailable => "ChromeBinaryUnavailableError",
            ErrorName::ToolUnavailable => "TOOL_UNAVAILABLE",
            ErrorName::FunctionMisconfigured => "FUNCTION_MISCONFIGURED",
            ErrorName::InvalidEvent => "INVALID_EVENT",
            ErrorName::RenderFailed => "RENDER_FAILED",
            ErrorName::S3TransportFailed => "S3_TRANSPORT_FAILED",
        }
    }

    /// Whether a failure of `stage` with this error must not be retried.
    /// This table is the single source of the Retry lists.
    pub fn is_non_retryable_in(self, stage: Action) -> bool {
        use Action::*;
        use ErrorName::*;
        match self {
            FfmpegVersionMismatch
            | PlanHashMismatch
            | S3UriNotAllowed
            | PlanTooLarge
            | PlanProtocolUnsupported
            | PlanV2IntegrityUnrecoverable
            | PlanArtifactDigestMismatch
            | ChromeBinaryUnavailable
            | ToolUnavailable
            | FunctionMisconfigured
            | InvalidEvent => true,
            BrowserGpuNotSoftware | InvalidVideoMetadata => matches!(stage, Plan | RenderChunk),
            FontFetchFailed | VideoSourceUnrenderable | NotMediaPayload => stage == Plan,
            FormatNotSupportedInDistributed => matches!(stage, Plan | Assemble),
            RenderFailed | S3TransportFailed => false,
        }
    }

    /// The names `stage` must not retry, in contract order: the first Retry
    /// entry of that stage's Task states.
    pub fn non_retryable(stage: Action) -> Vec<ErrorName> {
        ErrorName::ALL
            .into_iter()
            .filter(|e| e.is_non_retryable_in(stage))
            .collect()
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ErrorName::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not an error name in the contract"))
    }
}

/// The errors that mean "Lambda had no room for this invocation now", not
/// "the invocation failed": the Lambda service integration raises
/// `Lambda.TooManyRequestsException` (HTTP 429) when the account's or the
/// function's concurrency is exhausted or the function scales faster than
/// Lambda adds instances (1,000 per function every 10 s). They get their
/// own Retrier ([`THROTTLE_INTERVAL_SECONDS`] and below), before the one
/// for real failures, so waiting for room never uses up those 4 retries.
///
/// Not here, on purpose: `Lambda.ServiceException`, `Lambda.AWSLambdaException`
/// and `Lambda.SdkClientException` are service or network faults, not a
/// lack of concurrency (they keep the 4 retries); `Lambda.EC2ThrottledException`
/// is raised only for functions attached to a VPC, which the render function
/// is not.
pub const THROTTLE_ERRORS: [&str; 1] = ["Lambda.TooManyRequestsException"];
/// The throttle Retrier's first wait, in seconds: short, because a burst
/// throttle clears as soon as Lambda has added instances.
pub const THROTTLE_INTERVAL_SECONDS: u32 = 1;
/// Throttle retries after the first attempt. With [`THROTTLE_BACKOFF_RATE`]
/// and [`THROTTLE_MAX_DELAY_SECONDS`] the waits are capped at 1, 2, 4, 8,
/// 16, 32, then 60 s: 603 s of caps in all, about 5 minutes on average
/// with full jitter. That outlasts a scaling burst (10 s per 1,000
/// instances) many times over, and a render that shares a small account
/// (10 concurrent) with another gets room as the other's chunks finish
/// (tens of seconds each). Each retry is 3 history events and a billed
/// state transition, which bounds how many are worth paying for.
pub const THROTTLE_MAX_ATTEMPTS: u32 = 15;
/// Multiplier of the throttle wait per retry.
pub const THROTTLE_BACKOFF_RATE: f64 = 2.0;
/// Cap on one throttle wait, in seconds.
pub const THROTTLE_MAX_DELAY_SECONDS: u32 = 60;

/// The retry policy for everything not listed as non-retryable or as a
/// throttle: Lambda service errors, timeouts, and our retryable errors. This is
/// the wait before the first retry, in seconds; the next three complete it.
pub const RETRY_INTERVAL_SECONDS: u32 = 2;
/// Retries after the first attempt.
pub const RETRY_MAX_ATTEMPTS: u32 = 4;
/// Multiplier applied to the interval after each retry (2 s, 4 s, 8 s, ...).
pub const RETRY_BACKOFF_RATE: f64 = 2.0;
/// Cap on the interval between retries, in seconds.
pub const RETRY_MAX_DELAY_SECONDS: u32 = 60;

/// What each stage returns to the state machine, typed, so the handler
/// never builds a result out of strings. The serialized names are the
/// [`field`] constants (a test checks every one), in the order the
/// reference's handler writes them.
pub mod result {
    use serde::{Serialize, Serializer};

    use super::Action;

    fn action<S: Serializer>(a: &Action, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.as_str())
    }

    /// The plan stage's result.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "PascalCase")]
    #[non_exhaustive]
    pub struct PlanResult {
        /// Always `plan`.
        #[serde(serialize_with = "action")]
        pub action: Action,
        /// Chunks to render ([`super::field::CHUNK_COUNT`]).
        pub chunk_count: u32,
        /// Frames in the video.
        pub total_frames: u64,
        /// Frames per second.
        pub fps: u32,
        /// The video's width in pixels.
        pub width: u32,
        /// The video's height in pixels.
        pub height: u32,
        /// The output format's wire name (`mp4`, `png-sequence`, ...).
        pub format: String,
        /// Whether the composition has audio.
        pub has_audio: bool,
        /// The ffmpeg build every chunk must be encoded with.
        pub ffmpeg_version: String,
        /// The producer that made the plan.
        pub producer_version: String,
        /// What the plan reused of its template (absent when the plan
        /// stage had no template cache).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub template: Option<TemplateReused>,
        /// Where the plan was published.
        #[serde(flatten)]
        pub location: PlanResultLocation,
    }

    impl PlanResult {
        /// A plan result: the plan's facts, then where it was published.
        #[allow(clippy::too_many_arguments)]
        pub fn new(
            chunk_count: u32,
            total_frames: u64,
            (fps, width, height): (u32, u32, u32),
            format: &str,
            has_audio: bool,
            (ffmpeg_version, producer_version): (String, String),
            location: PlanResultLocation,
        ) -> PlanResult {
            PlanResult {
                action: Action::Plan,
                chunk_count,
                total_frames,
                fps,
                width,
                height,
                format: format.to_string(),
                has_audio,
                ffmpeg_version,
                producer_version,
                template: None,
                location,
            }
        }

        /// The result with what the plan reused of its template.
        pub fn with_template(mut self, template: TemplateReused) -> PlanResult {
            self.template = Some(template);
            self
        }
    }

    /// What a plan took from its template's cache entry instead of doing
    /// again (the template is planned once; variables are per render).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct TemplateReused {
        /// The compiled page, media metadata and audio mix came from the cache.
        pub compile: bool,
        /// Remote files of the template taken from the cache.
        pub assets: u32,
        /// Images fetched for this render's variables.
        pub variable_assets: u32,
    }

    /// Where the plan went, per protocol. v2 names its protocol and never
    /// an audio URI (the manifest carries the audio).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(untagged)]
    pub enum PlanResultLocation {
        /// A v1 plan tarball and its audio track.
        V1 {
            /// The plan tarball.
            #[serde(rename = "PlanS3Uri")]
            plan: String,
            /// The plan's hash.
            #[serde(rename = "PlanHash")]
            plan_hash: String,
            /// The audio track, if any.
            #[serde(rename = "AudioS3Uri")]
            audio: Option<String>,
        },
        /// A v2 manifest and its content-addressed blobs.
        V2 {
            /// Always `v2`.
            #[serde(rename = "PlanProtocol")]
            protocol: &'static str,
            /// The manifest.
            #[serde(rename = "PlanV2ManifestS3Uri")]
            manifest: String,
            /// The prefix of the blobs.
            #[serde(rename = "PlanV2ArtifactS3Prefix")]
            artifact_prefix: String,
            /// The manifest's hash.
            #[serde(rename = "PlanHash")]
            plan_hash: String,
            /// Always null: the manifest carries the audio.
            #[serde(rename = "AudioS3Uri")]
            audio: (),
        },
    }

    /// One chunk's result; small on purpose, since Map results accumulate
    /// in the execution state.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "PascalCase")]
    #[non_exhaustive]
    pub struct ChunkResult {
        /// The rendered chunk.
        #[serde(rename = "ChunkS3Uri")]
        pub chunk_s3_uri: String,
        /// Its 0-based index.
        pub chunk_index: u32,
        /// SHA-256 of the chunk file.
        pub sha256: String,
        /// Frames in the chunk.
        pub frames_encoded: u64,
    }

    impl ChunkResult {
        /// A chunk's result.
        pub fn new(chunk_s3_uri: String, chunk_index: u32, sha256: String, frames: u64) -> Self {
            ChunkResult {
                chunk_s3_uri,
                chunk_index,
                sha256,
                frames_encoded: frames,
            }
        }
    }

    /// The assemble stage's result.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(rename_all = "PascalCase")]
    #[non_exhaustive]
    pub struct AssembleResult {
        /// The final video.
        #[serde(rename = "OutputS3Uri")]
        pub output_s3_uri: String,
        /// Frames in it.
        pub frames_encoded: u64,
        /// Its size in bytes.
        pub file_size: u64,
    }

    impl AssembleResult {
        /// The assemble stage's result.
        pub fn new(output_s3_uri: String, frames_encoded: u64, file_size: u64) -> Self {
            AssembleResult {
                output_s3_uri,
                frames_encoded,
                file_size,
            }
        }
    }

    /// Any stage's result, as the function returns it.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    #[serde(untagged)]
    pub enum StageResult {
        /// `plan`.
        Plan(PlanResult),
        /// `renderChunk`.
        Chunk(ChunkResult),
        /// `assemble`.
        Assemble(AssembleResult),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in ErrorName::ALL {
            assert!(seen.insert(e.as_str()), "duplicate {e}");
            assert_eq!(e.as_str().parse::<ErrorName>().unwrap(), e);
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        }
        assert!("v3".parse::<PlanProtocol>().is_err());
    }

    #[test]
    fn stage_lists_match_the_reference_semantics() {
        let names = |a| {
            ErrorName::non_retryable(a)
                .into_iter()
                .map(ErrorName::as_str)
                .collect::<Vec<_>>()
        };
        assert!(names(Action::Plan).contains(&"FONT_FETCH_FAILED"));
        assert!(!names(Action::RenderChunk).contains(&"FONT_FETCH_FAILED"));
        assert!(names(Action::Assemble).contains(&"FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED"));
        assert!(!names(Action::Assemble).contains(&"BROWSER_GPU_NOT_SOFTWARE"));
        for a in Action::ALL {
            assert!(!names(a).contains(&"RENDER_FAILED"));
            // A function package without its ffmpeg fails the same way every time.
            assert!(names(a).contains(&"TOOL_UNAVAILABLE"));
            // Nor does a broken package or environment, found at init.
            assert!(names(a).contains(&"FUNCTION_MISCONFIGURED"));
        }
    }

    #[test]
    fn stage_results_serialize_under_the_field_names() {
        use super::result::*;
        let keys = |v: serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        let v1 = PlanResultLocation::V1 {
            plan: "s3://b/p".into(),
            plan_hash: "h".into(),
            audio: None,
        };
        let plan = PlanResult::new(
            2,
            60,
            (30, 640, 360),
            "mp4",
            false,
            ("f".into(), "p".into()),
            v1,
        );
        assert_eq!(
            keys(serde_json::to_value(&plan).unwrap()),
            [
                field::ACTION,
                field::CHUNK_COUNT,
                "TotalFrames",
                "Fps",
                "Width",
                "Height",
                field::FORMAT,
                field::HAS_AUDIO,
                "FfmpegVersion",
                "ProducerVersion",
                field::PLAN_S3_URI,
                field::PLAN_HASH,
                field::AUDIO_S3_URI,
            ]
        );
        assert_eq!(serde_json::to_value(&plan).unwrap()[field::ACTION], "plan");
        let v2 = PlanResultLocation::V2 {
            protocol: PlanProtocol::V2.as_str(),
            manifest: "m".into(),
            artifact_prefix: "a".into(),
            plan_hash: "h".into(),
            audio: (),
        };
        let v = serde_json::to_value(&v2).unwrap();
        assert_eq!(
            keys(v.clone()),
            [
                field::PLAN_PROTOCOL,
                field::PLAN_V2_MANIFEST_S3_URI,
                field::PLAN_V2_ARTIFACT_S3_PREFIX,
                field::PLAN_HASH,
                field::AUDIO_S3_URI,
            ]
        );
        assert!(v[field::AUDIO_S3_URI].is_null());
        let chunk = ChunkResult::new("u".into(), 3, "s".into(), 15);
        assert_eq!(
            keys(serde_json::to_value(&chunk).unwrap()),
            [
                field::CHUNK_S3_URI,
                field::CHUNK_INDEX,
                field::SHA256,
                field::FRAMES_ENCODED
            ]
        );
        let done = AssembleResult::new("o".into(), 60, 1);
        assert_eq!(
            keys(serde_json::to_value(&done).unwrap()),
            [
                field::OUTPUT_S3_URI,
                field::FRAMES_ENCODED,
                field::FILE_SIZE
            ]
        );
    }
}
