//! What a plan's frames cost to make: the settings a time calibration is
//! only valid for. A calibration measured with JPEG capture and CRF 20 says
//! little about a render that captures PNG and encodes at CRF 19, so both
//! the calibration and the estimate read this from a real plan rather
//! than from defaults written down by hand.

use serde::{Deserialize, Serialize};

use crate::capture::browser::{ImageFormat, ImageSpec};
use crate::encode::ffmpeg::YuvConversion;
use crate::plan::LoadedPlan;

/// The capture and encoder settings that set a frame's CPU cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostProfile {
    /// `mp4`, `webm`, `mov`, `png-sequence`.
    pub format: String,
    /// The encoder as the plan names it (`libx264-software`, ...).
    pub encoder: String,
    /// x264/x265 preset for mp4; the other encoders' fixed mode.
    pub preset: String,
    /// None when the plan is bitrate-controlled or lossless.
    pub crf: Option<u32>,
    /// How the browser hands over each frame: `jpeg q100`, `png`, or
    /// `png fast` (PNG optimized for speed, converted to YUV in process).
    pub capture: String,
}

impl CostProfile {
    /// The fields of `self` that differ from `other`, as
    /// `field: ours vs theirs`, for a warning that says what changed.
    pub fn differences(&self, other: &CostProfile) -> Vec<String> {
        let crf = |c: Option<u32>| c.map_or("none".to_string(), |c| c.to_string());
        let pairs = [
            ("format", self.format.clone(), other.format.clone()),
            ("encoder", self.encoder.clone(), other.encoder.clone()),
            ("preset", self.preset.clone(), other.preset.clone()),
            ("crf", crf(self.crf), crf(other.crf)),
            ("capture", self.capture.clone(), other.capture.clone()),
        ];
        pairs
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(name, a, b)| format!("{name} {a} vs {b}"))
            .collect()
    }
}

impl std::fmt::Display for CostProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.format, self.encoder, self.preset)?;
        if let Some(crf) = self.crf {
            write!(f, " CRF {crf}")?;
        }
        write!(f, " from {} frames", self.capture)
    }
}

/// `jpeg q100`, `png`, `png fast`, ...
fn describe(image: ImageSpec) -> String {
    let name = match image.format {
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Png => "png",
        ImageFormat::Webp => "webp",
    };
    let mut s = name.to_string();
    if let (Some(q), false) = (image.quality, image.format == ImageFormat::Png) {
        s.push_str(&format!(" q{q}"));
    }
    if image.optimize_for_speed && image.format == ImageFormat::Png {
        s.push_str(" fast");
    }
    s
}

impl LoadedPlan {
    /// The settings this plan's chunks capture and encode with (what a
    /// chunk worker derives from `meta/encoder.json`).
    pub fn cost_profile(&self) -> CostProfile {
        let format = self.format();
        let yuv = YuvConversion::from_encoder(&self.encoder, format);
        let encoder = serde_json::to_value(self.encoder.encoder)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        CostProfile {
            format: format.as_str().to_string(),
            encoder,
            preset: self.encoder.preset.clone(),
            crf: self.encoder.crf,
            capture: describe(ImageSpec::for_encoding(format, yuv)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(crf: Option<u32>, capture: &str) -> CostProfile {
        CostProfile {
            format: "mp4".into(),
            encoder: "libx264-software".into(),
            preset: "veryfast".into(),
            crf,
            capture: capture.into(),
        }
    }

    #[test]
    fn differences_name_each_changed_setting_with_both_values() {
        let a = profile(Some(19), "png fast");
        let b = profile(Some(20), "jpeg q100");
        assert_eq!(
            a.differences(&b),
            vec!["crf 19 vs 20", "capture png fast vs jpeg q100"]
        );
        assert!(a.differences(&a.clone()).is_empty());
        assert_eq!(
            a.differences(&profile(None, "png fast")),
            vec!["crf 19 vs none"]
        );
    }

    #[test]
    fn the_capture_is_described_as_the_browser_is_asked_for_it() {
        assert_eq!(describe(ImageSpec::OPAQUE), "jpeg q100");
        assert_eq!(describe(ImageSpec::PNG), "png");
        assert_eq!(describe(ImageSpec::PNG_FAST), "png fast");
        assert_eq!(
            profile(Some(19), "png fast").to_string(),
            "mp4 libx264-software veryfast CRF 19 from png fast frames"
        );
    }
}
