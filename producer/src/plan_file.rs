//! `plan.json`: what a v1 execution dir says about itself. Its own module
//! because both protocols read it: [`crate::plan`] writes it and
//! [`crate::v2`] copies its facts into the manifest.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Format;

/// `plan.json` of a v1 execution dir.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson {
    pub protocol: Value,
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
#[serde(rename_all = "camelCase")]
pub struct Dimensions {
    pub fps_num: u32,
    pub fps_den: u32,
    pub width: u32,
    pub height: u32,
    pub format: Format,
}
