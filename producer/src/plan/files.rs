//! The plan on disk, typed: `plan.json` and the `meta/*.json` files of a v1
//! execution dir. [`crate::plan`] writes them and every worker reads them
//! back through these structs, so a plan that lacks a field, names one this
//! producer does not know, or holds a value of the wrong kind is refused
//! with the file and the field, never filled in with a default.
//!
//! The format's version is `plan.json`'s `protocol`
//! ([`PlanFormat::CURRENT`]). Fields that later producers added
//! (`encoderThreads`, `yuvMatrix`, `frameLabels`, `frameInput`) are
//! optional: their absence is how a plan written before them says which
//! conversion and threads its chunks were encoded with, so those plans
//! keep their bytes.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::capture::browser::CaptureMode;
use crate::config::{Format, Preset, Quality};
use crate::errors::{ProducerError, Result};

/// `plan.json`'s `protocol`: which layout and hash schema the dir follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanFormat {
    pub schema_version: u32,
    pub artifact_layout: String,
    pub hash_schema: String,
}

impl PlanFormat {
    /// The only format this producer writes and reads.
    pub fn current() -> PlanFormat {
        PlanFormat {
            schema_version: 1,
            artifact_layout: "plan-dir-v1".into(),
            hash_schema: "hyperframes-plan-hash-v1".into(),
        }
    }
}

/// `plan.json` of a v1 execution dir.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanJson {
    pub protocol: PlanFormat,
    pub plan_hash: String,
    pub producer_version: String,
    pub ffmpeg_version: String,
    pub font_snapshot_sha: String,
    pub dimensions: Dimensions,
    pub chunk_count: u32,
    pub total_frames: u64,
    pub duration: f64,
    pub has_audio: bool,
    pub composition_id: String,
    pub no_timeline: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dimensions {
    pub fps_num: u32,
    pub fps_den: u32,
    pub width: u32,
    pub height: u32,
    pub format: Format,
}

/// `meta/composition.json`: what the page is, for workers and reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompositionMeta {
    pub composition_id: String,
    pub duration_seconds: f64,
    pub width: u32,
    pub height: u32,
    pub fps: FrameRate,
    pub no_timeline: bool,
    pub video_count: usize,
    pub audio_count: usize,
    pub image_count: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

/// `meta/videos.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideosMeta {
    pub videos: Vec<MediaWindow>,
}

/// One media element of the page, checked and windowed on the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaWindow {
    pub id: String,
    pub tag: String,
    pub src: String,
    pub start: f64,
    pub end: f64,
    pub media_start: f64,
    pub volume: f64,
    pub has_audio: bool,
}

/// The browser's GL backend. Distributed chunks render with software GL
/// only (the same pixels on every worker); the other value is the
/// reference's, refused by workers with its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserGpuMode {
    Software,
    Hardware,
}

/// Which encoder a plan's chunks are made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncoderName {
    #[serde(rename = "libx264-software")]
    Libx264,
    #[serde(rename = "libx265-software")]
    Libx265,
    #[serde(rename = "libvpx-vp9-software")]
    Vp9,
    #[serde(rename = "prores-software")]
    Prores,
    #[serde(rename = "png-sequence")]
    PngSequence,
}

/// The one value of `yuvMatrix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YuvMatrix {
    Bt709,
}

/// The one value of `frameInput`: raw frames converted in process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameInput {
    Yuv420p,
}

/// `meta/encoder.json` (canonical, hashed): every setting a chunk worker
/// captures and encodes with, so chunks of one plan are alike everywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncoderMeta {
    pub capture_mode: CaptureMode,
    pub force_screenshot: bool,
    pub device_scale_factor: u32,
    pub use_layered_hdr_composite: bool,
    pub browser_gpu_mode: BrowserGpuMode,
    pub warmup_ticks: u32,
    pub encoder: EncoderName,
    pub quality: Quality,
    pub ffmpeg_version: String,
    /// The x264/x265 preset for mp4; `good`, `4444` or `lossless` for the
    /// other formats (what their encoders are run with).
    pub preset: String,
    pub gop_size: u64,
    pub closed_gop: bool,
    pub force_keyframes: String,
    pub pixel_format: String,
    pub chunk_size: u64,
    pub chunk_count: usize,
    pub runtime_env: BTreeMap<String, String>,
    pub seek_bridge_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crf: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<String>,
    /// None in plans written before the pin: the encoder's own choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder_threads: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yuv_matrix: Option<YuvMatrix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_labels: Option<YuvMatrix>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_input: Option<FrameInput>,
    /// The caller's composition variables, as given (canonical key order,
    /// so the plan hash does not depend on the order they were written in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<crate::variables::Variables>,
    /// Remote image URLs among the values -> their copies in the plan
    /// (`compiled/_remote/...`), which the page binds instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_assets: Option<BTreeMap<String, String>>,
    /// The page's shader transitions are composited on the page: chunks
    /// set `window.__HF_PAGE_SIDE_COMPOSITING__`, enable the browser's
    /// `CanvasDrawElement` and drive the compositor's hooks around each
    /// seek (see `plan::shader`). Absent (false) in other plans.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_composite: bool,
}

impl EncoderMeta {
    /// What serde cannot see: the settings agree with the plan's format.
    /// Every disagreement is listed at once.
    pub fn check(&self, format: Format) -> Vec<String> {
        let mut problems = Vec::new();
        let expected: &[EncoderName] = match format {
            Format::Mp4 => &[EncoderName::Libx264, EncoderName::Libx265],
            Format::Webm => &[EncoderName::Vp9],
            Format::Mov => &[EncoderName::Prores],
            Format::PngSequence => &[EncoderName::PngSequence],
        };
        if !expected.contains(&self.encoder) {
            problems.push(format!(
                "encoder {:?} does not make {}",
                self.encoder,
                format.as_str()
            ));
        }
        if format == Format::Mp4 && Preset::parse(&self.preset).is_err() {
            problems.push(format!(
                "preset {:?} is not an x264/x265 preset",
                self.preset
            ));
        }
        let rate_controlled = matches!(format, Format::Mp4 | Format::Webm);
        if rate_controlled && self.crf.is_none() == self.bitrate.is_none() {
            problems.push(format!(
                "a {} plan names exactly one of crf and bitrate",
                format.as_str()
            ));
        }
        if self.chunk_size == 0 || self.gop_size == 0 {
            problems.push("chunkSize and gopSize must be positive".into());
        }
        problems
    }
}

/// Reads one typed plan file, naming the file on every failure.
pub(crate) fn read<T: serde::de::DeserializeOwned>(dir: &Path, rel: &str) -> Result<T> {
    let path = dir.join(rel);
    let bytes = std::fs::read(&path).map_err(|e| {
        ProducerError::MissingPlanArtifact(format!(
            "{}: {e}; is {} a plan directory written by plan()?",
            path.display(),
            dir.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ProducerError::MissingPlanArtifact(format!(
            "{}/{rel} is not a plan file of this producer ({e}); re-plan the project with this version",
            dir.display()
        ))
    })
}
