//! The render config (the `Config` object of the Lambda event contract) and its
//! validation. Validation runs before anything touches disk so a bad request
//! never leaves a half-written plan behind.

use serde::{Deserialize, Serialize};

use crate::errors::{ProducerError, Result};

/// Output container/codec families the distributed pipeline can concat losslessly.
///
/// With the `clap` feature the enums here are also command-line values, so
/// the programs' flags accept exactly the names the JSON config does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    #[serde(rename = "mp4")]
    Mp4,
    #[serde(rename = "mov")]
    Mov,
    #[serde(rename = "webm")]
    Webm,
    #[serde(rename = "png-sequence")]
    #[cfg_attr(feature = "clap", value(name = "png-sequence", alias = "png"))]
    PngSequence,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Mp4 => "mp4",
            Format::Mov => "mov",
            Format::Webm => "webm",
            Format::PngSequence => "png-sequence",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "mp4" => Ok(Format::Mp4),
            "mov" => Ok(Format::Mov),
            "webm" => Ok(Format::Webm),
            "png-sequence" | "png" => Ok(Format::PngSequence),
            other => Err(ProducerError::config(
                "format",
                format!("unknown format {other:?}; use one of mp4, mov, webm, png-sequence"),
            )),
        }
    }

    /// File extension of an assembled output ("" for a frame directory).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Mp4 => "mp4",
            Format::Mov => "mov",
            Format::Webm => "webm",
            Format::PngSequence => "",
        }
    }

    /// ffmpeg muxer name (temp files have no telling extension).
    pub fn muxer(self) -> &'static str {
        match self {
            Format::Mp4 => "mp4",
            Format::Mov => "mov",
            Format::Webm => "webm",
            Format::PngSequence => "image2",
        }
    }

    /// Alpha formats capture transparent PNGs in screenshot mode, because
    /// BeginFrame screenshots drop the alpha channel.
    pub fn has_alpha(self) -> bool {
        !matches!(self, Format::Mp4)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    H264,
    H265,
}

impl Codec {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "h264" => Ok(Codec::H264),
            "h265" => Ok(Codec::H265),
            other => Err(ProducerError::config(
                "codec",
                format!("{other:?} is unknown; use h264 or h265"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    Draft,
    #[default]
    Standard,
    High,
}

impl Quality {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "draft" => Ok(Quality::Draft),
            "standard" => Ok(Quality::Standard),
            "high" => Ok(Quality::High),
            other => Err(ProducerError::config(
                "quality",
                format!("{other:?} is unknown; use draft, standard or high"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Draft => "draft",
            Quality::Standard => "standard",
            Quality::High => "high",
        }
    }

    /// The x264/x265 preset of this quality when none is given.
    ///
    /// Standard is `veryfast` at CRF 19 (the reference: `medium`, CRF 18,
    /// from JPEG q80 frames). Frames are captured near-losslessly now
    /// (JPEG q100, or lossless PNG for flat graphics), so the CRF sets the
    /// loss. On the peer's 1080p project, measured against a BT.709
    /// reference (render-bench --peer): veryfast/19 gave SSIM 0.99985,
    /// 55.3 dB and 226 KB from PNG (57.9 dB from JPEG q100, whose rounding
    /// happens to match the reference's swscale); the peer CLI gave
    /// 0.99984, 54.6 dB and 246 KB. CRF 20 from JPEG gave 189 KB but SSIM
    /// 0.99982, below the peer's. Both use less encoder CPU than medium.
    pub fn default_preset(self) -> Preset {
        match self {
            Quality::Draft => Preset::Ultrafast,
            Quality::Standard => Preset::Veryfast,
            Quality::High => Preset::Slow,
        }
    }

    /// The CRF of this quality when none is given (mp4 and webm; the
    /// others are lossless or fixed-quality). webm keeps the reference's 18:
    /// VP9's scale is not x264's, and nothing here measured it.
    pub fn default_crf(self, format: Format) -> u32 {
        match (self, format) {
            (Quality::Draft, _) => 28,
            (Quality::Standard, Format::Mp4) => 19,
            (Quality::Standard, _) => 18,
            (Quality::High, _) => 15,
        }
    }
}

/// x264/x265 speed preset (both encoders use the same names). Faster presets
/// cost less CPU per frame at the same CRF and give up some compression;
/// the choice is frozen in the plan, so every chunk of a render uses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
    Faster,
    Fast,
    Medium,
    Slow,
    Slower,
    Veryslow,
}

impl Preset {
    pub const ALL: [Preset; 9] = [
        Preset::Ultrafast,
        Preset::Superfast,
        Preset::Veryfast,
        Preset::Faster,
        Preset::Fast,
        Preset::Medium,
        Preset::Slow,
        Preset::Slower,
        Preset::Veryslow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
            Preset::Faster => "faster",
            Preset::Fast => "fast",
            Preset::Medium => "medium",
            Preset::Slow => "slow",
            Preset::Slower => "slower",
            Preset::Veryslow => "veryslow",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Preset::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ProducerError::config(
                    "preset",
                    format!(
                        "{s:?} is unknown; use one of {}",
                        Preset::ALL.map(Preset::as_str).join(", ")
                    ),
                )
            })
    }
}

/// The caller's render settings: the one typed value a render is described
/// by, from the command line (`render`'s flags build it) through the
/// execution input and the handler's event (`Config`, camelCase as the
/// reference's clients send it) to the plan, which freezes what the
/// encoder needs into `meta/encoder.json`.
///
/// `width`/`height` are optional: absent, the composition's
/// `data-width`/`data-height` decide the size; present, they must equal it
/// (this renderer does not scale), and a plan refuses a mismatch instead of
/// rendering another size than was asked for.
///
/// Unknown fields are refused with their names ([`RenderConfig::from_json`]),
/// so a misspelled setting never silently becomes a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderConfig {
    pub fps: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub format: Format,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<Codec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// Encoder speed preset for mp4 (h264/h265); default from `quality`
    /// ([`Quality::default_preset`]: draft ultrafast, standard veryfast, high slow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crf: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel_chunks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_chunk_frames: Option<u32>,
    /// Chunks that can run at once (`render` sets the execution input's
    /// `Concurrency` here too): without chunking settings, the plan makes
    /// no more chunks than this ([`crate::plan::fan_out`]). Ignored when
    /// `chunkSize`, `maxParallelChunks` or `targetChunkFrames` decide the
    /// chunks, which the validation refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Recorded and validated as the reference records it (which runtime
    /// caps a render); neither enforces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_cap: Option<String>,
    /// `auto` or `force-sdr`: both render SDR here (HDR is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdr_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_dir_size_limit_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The composition's variable values (an object keyed by variable id).
    pub variables: Option<crate::variables::Variables>,
    /// Values too large for the execution input travel as an S3 object
    /// (`s3://bucket/key`, a JSON object like `variables`) next to the
    /// plan; the handler's plan stage reads it into `variables` before
    /// planning, so the plan (and its hash) is the same as inline values'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables_s3_uri: Option<String>,
    /// Plans never fetch a font that is not in the asset map or reachable;
    /// a failed font fetch always fails the plan here, which is this
    /// setting's `true`. `false` is refused rather than ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_closed_font_fetch: Option<bool>,
    /// Text that would be drawn with a host font (a family neither
    /// embedded nor given an `@font-face`): `true` fails the plan, `false`
    /// warns. Unset, distributed plans fail and local plans warn, as the
    /// reference's `rejectOnSystemFonts` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_on_system_fonts: Option<bool>,
}

/// Frame rates a render may use: the reference's renderer takes any whole
/// number from 1 to 240 (its regression suite has a 10 fps case); only its
/// Lambda adapter narrowed that to 24, 30 and 60, which nothing here needs.
pub const FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=240;

/// The wire names of [`RenderConfig`]'s fields (checked against serde's
/// own list by a test), for refusing every unknown one at once.
const FIELDS: &[&str] = &[
    "fps",
    "width",
    "height",
    "format",
    "codec",
    "quality",
    "preset",
    "crf",
    "bitrate",
    "chunkSize",
    "maxParallelChunks",
    "targetChunkFrames",
    "concurrency",
    "runtimeCap",
    "hdrMode",
    "entryFile",
    "planDirSizeLimitBytes",
    "variables",
    "variablesS3Uri",
    "failClosedFontFetch",
    "rejectOnSystemFonts",
];

/// Fields of the reference's `Config` that this renderer does not
/// implement, with what to do instead. Refused, never ignored: a render
/// that silently dropped one would look other than was asked for.
const NOT_IMPLEMENTED: &[(&str, &str)] = &[
    (
        "outputResolution",
        "this renderer does not scale; render at the composition's data-width/data-height",
    ),
    (
        "outputResolutionAspectAgnostic",
        "this renderer does not scale; render at the composition's size",
    ),
    (
        "videoFrameFormat",
        "the capture format is chosen per plan (lossless PNG or JPEG q100); remove it",
    ),
    ("cfr", "output is always constant frame rate; remove it"),
    (
        "engineConfig",
        "engine settings are fixed per plan; remove it",
    ),
    ("strictness", "remove it"),
];

pub const MAX_CHUNK_SIZE: u32 = 3600;
pub const MAX_PARALLEL_CHUNKS: u32 = 256;
pub const DEFAULT_MAX_PARALLEL_CHUNKS: u32 = 16;
pub const PLAN_DIR_SIZE_LIMIT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

impl RenderConfig {
    /// A config with the required fields and everything else defaulted:
    /// the composition decides the size.
    pub fn new(fps: u32, format: Format) -> Self {
        RenderConfig {
            fps,
            width: None,
            height: None,
            format,
            codec: None,
            quality: None,
            preset: None,
            crf: None,
            bitrate: None,
            chunk_size: None,
            max_parallel_chunks: None,
            target_chunk_frames: None,
            concurrency: None,
            runtime_cap: None,
            hdr_mode: None,
            entry_file: None,
            plan_dir_size_limit_bytes: None,
            variables: None,
            variables_s3_uri: None,
            fail_closed_font_fetch: None,
            reject_on_system_fonts: None,
        }
    }

    /// The same config with an explicit output size (which the plan checks
    /// against the composition's).
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = Some(width);
        self.height = Some(height);
        self
    }

    /// Parses the JSON `Config` object and validates it, naming the offending field
    /// on failure (serde's own messages name the field too). Every unknown
    /// field is named at once.
    pub fn from_json(value: &serde_json::Value) -> Result<Self> {
        let Some(object) = value.as_object() else {
            return Err(ProducerError::config("", "must be a JSON object"));
        };
        let unknown: Vec<String> = object
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .map(
                |k| match NOT_IMPLEMENTED.iter().find(|(name, _)| name == k) {
                    Some((_, what)) => format!("{k} is not implemented by this renderer: {what}"),
                    None => format!("{k} is not a field (misspelled?)"),
                },
            )
            .collect();
        if !unknown.is_empty() {
            return Err(ProducerError::InvalidConfig {
                field: "config".into(),
                message: format!(
                    "{}; the fields are {}",
                    unknown.join("; "),
                    FIELDS.join(", ")
                ),
            });
        }
        let config: RenderConfig =
            serde_json::from_value(value.clone()).map_err(|e| ProducerError::InvalidConfig {
                field: "config".into(),
                message: format!("{e} (the render config's fields are {})", FIELDS.join(", ")),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every rule, first violation wins, in the reference's order.
    pub fn validate(&self) -> Result<()> {
        if !FPS_RANGE.contains(&self.fps) {
            return Err(ProducerError::config(
                "fps",
                format!(
                    "{} is outside {}-{}; use a whole number of frames per second in that range",
                    self.fps,
                    FPS_RANGE.start(),
                    FPS_RANGE.end()
                ),
            ));
        }
        for (field, v) in [("width", self.width), ("height", self.height)] {
            if let Some(v) = v {
                validate_dimension(field, v)?;
            }
        }
        if self.width.is_some() != self.height.is_some() {
            return Err(ProducerError::config(
                if self.width.is_some() { "height" } else { "width" },
                "width and height go together; give both or neither (neither = the composition's size)",
            ));
        }
        self.validate_encoder()?;
        self.validate_chunking()?;
        self.validate_modes()
    }

    /// Codec and preset only with mp4; crf or bitrate, each well formed.
    fn validate_encoder(&self) -> Result<()> {
        if let Some(codec) = self.codec {
            if self.format != Format::Mp4 {
                return Err(ProducerError::config(
                    "codec",
                    format!(
                        "codec {codec:?} only applies to format mp4 (format is {}); remove codec",
                        self.format.as_str()
                    ),
                ));
            }
        }
        if let Some(preset) = self.preset {
            if self.format != Format::Mp4 {
                return Err(ProducerError::config(
                    "preset",
                    format!(
                        "preset {} only applies to format mp4 (h264/h265; format is {}); remove preset",
                        preset.as_str(),
                        self.format.as_str()
                    ),
                ));
            }
        }
        if self.crf.is_some() && self.bitrate.is_some() {
            return Err(ProducerError::config(
                "crf",
                "crf and bitrate are mutually exclusive; set only one",
            ));
        }
        if let Some(crf) = self.crf {
            if crf > 51 {
                return Err(ProducerError::config(
                    "crf",
                    format!("{crf} is out of range; use an integer in 0..=51"),
                ));
            }
        }
        if let Some(b) = &self.bitrate {
            if !valid_bitrate(b) {
                return Err(ProducerError::config(
                    "bitrate",
                    format!("{b:?} is not a bitrate; use digits with an optional k or M suffix, e.g. 8M"),
                ));
            }
        }
        Ok(())
    }

    /// Chunk sizes and parallelism within the plan's caps.
    fn validate_chunking(&self) -> Result<()> {
        for (field, v, max) in [
            ("chunkSize", self.chunk_size, MAX_CHUNK_SIZE),
            (
                "maxParallelChunks",
                self.max_parallel_chunks,
                MAX_PARALLEL_CHUNKS,
            ),
            (
                "targetChunkFrames",
                self.target_chunk_frames,
                MAX_CHUNK_SIZE,
            ),
        ] {
            if let Some(v) = v {
                if v == 0 || v > max {
                    return Err(ProducerError::config(
                        field,
                        format!("{v} is out of range; use a positive integer <= {max}"),
                    ));
                }
            }
        }
        self.validate_concurrency()
    }

    /// `concurrency` caps the automatic chunk count only: with a chunking
    /// setting it would be accepted and ignored, so that is refused.
    fn validate_concurrency(&self) -> Result<()> {
        let Some(k) = self.concurrency else {
            return Ok(());
        };
        if k == 0 {
            return Err(ProducerError::config(
                "concurrency",
                "0 is out of range; use a positive integer (chunks that can run at once)",
            ));
        }
        if self.chunk_size.is_some()
            || self.max_parallel_chunks.is_some()
            || self.target_chunk_frames.is_some()
        {
            return Err(ProducerError::config(
                "concurrency",
                "it caps the automatic chunk count, which chunkSize, maxParallelChunks or targetChunkFrames replace; drop one or the other",
            ));
        }
        Ok(())
    }

    /// Runtime cap, HDR mode and entry file.
    fn validate_modes(&self) -> Result<()> {
        if let Some(cap) = &self.runtime_cap {
            if !["lambda", "temporal", "cloud-run-job", "k8s-job", "none"].contains(&cap.as_str()) {
                return Err(ProducerError::config(
                    "runtimeCap",
                    format!(
                        "{cap:?} is unknown; use lambda, temporal, cloud-run-job, k8s-job or none"
                    ),
                ));
            }
        }
        if let Some(mode) = &self.hdr_mode {
            if mode == "force-hdr" {
                return Err(ProducerError::FormatNotSupported(
                    "config.hdrMode force-hdr: HDR output is not supported in distributed rendering; use auto or force-sdr".into(),
                ));
            }
            if mode != "auto" && mode != "force-sdr" {
                return Err(ProducerError::config(
                    "hdrMode",
                    format!("{mode:?} is unknown; use auto or force-sdr"),
                ));
            }
        }
        if self.fail_closed_font_fetch == Some(false) {
            return Err(ProducerError::config(
                "failClosedFontFetch",
                "false is not supported: a font that cannot be fetched always fails the plan here; remove the field or set true",
            ));
        }
        if let Some(uri) = &self.variables_s3_uri {
            if self.variables.is_some() {
                return Err(ProducerError::config(
                    "variablesS3Uri",
                    "variables and variablesS3Uri are mutually exclusive; give the values inline or as an object",
                ));
            }
            if !uri.starts_with("s3://") || uri.len() <= 5 {
                return Err(ProducerError::config(
                    "variablesS3Uri",
                    format!("{uri:?} is not an s3://bucket/key URI"),
                ));
            }
        }
        if let Some(entry) = &self.entry_file {
            if entry.is_empty() || entry.contains("..") || entry.starts_with('/') {
                return Err(ProducerError::config(
                    "entryFile",
                    format!("{entry:?} must be a relative path inside the project"),
                ));
            }
        }
        Ok(())
    }

    /// The rendered size: the composition's, which an explicit
    /// `width`/`height` must equal.
    pub fn output_size(&self, composition: (u32, u32)) -> Result<(u32, u32)> {
        match (self.width, self.height) {
            (Some(w), Some(h)) if (w, h) != composition => Err(ProducerError::config(
                "width",
                format!(
                    "{w}x{h} differs from the composition's data-width/data-height {}x{}; \
                     this renderer does not scale: omit width and height, or pass {}x{}",
                    composition.0, composition.1, composition.0, composition.1
                ),
            )),
            _ => Ok(composition),
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec.unwrap_or(Codec::H264)
    }

    pub fn quality(&self) -> Quality {
        self.quality.unwrap_or_default()
    }

    pub fn entry_file(&self) -> &str {
        self.entry_file.as_deref().unwrap_or("index.html")
    }

    pub fn plan_size_limit(&self) -> u64 {
        self.plan_dir_size_limit_bytes
            .unwrap_or(PLAN_DIR_SIZE_LIMIT_BYTES)
    }
}

/// Width/height rule shared by the config and the composition's own attributes:
/// yuv420p needs even sizes, and the bounds keep encoders and memory sane.
pub(crate) fn validate_dimension(field: &str, v: u32) -> Result<()> {
    if !(16..=7680).contains(&v) {
        return Err(ProducerError::config(
            field,
            format!("{v} is out of range; use an even integer in 16..=7680"),
        ));
    }
    if v % 2 != 0 {
        return Err(ProducerError::config(
            field,
            format!("{v} is odd; yuv420p needs an even size, use {}", v + 1),
        ));
    }
    Ok(())
}

fn valid_bitrate(s: &str) -> bool {
    let body = s.strip_suffix(['k', 'K', 'm', 'M']).unwrap_or(s);
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> serde_json::Value {
        json!({"fps": 30, "width": 1920, "height": 1080, "format": "mp4"})
    }

    fn err_field(v: serde_json::Value) -> String {
        match RenderConfig::from_json(&v) {
            Err(ProducerError::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn accepts_the_contract_example() {
        let v = json!({"fps": 30, "width": 1920, "height": 1080, "format": "webm",
            "chunkSize": 240, "maxParallelChunks": 8, "runtimeCap": "lambda", "quality": "high"});
        let c = RenderConfig::from_json(&v).unwrap();
        assert_eq!(c.format, Format::Webm);
        assert_eq!(c.chunk_size, Some(240));
        assert_eq!(c.quality(), Quality::High);
    }

    #[test]
    fn rejects_each_rule_with_its_field() {
        let mut v = base();
        v["fps"] = json!(241);
        assert_eq!(err_field(v), "config.fps");
        for (field, bad) in [
            ("width", 1921),
            ("width", 8),
            ("height", 7682),
            ("height", 15),
        ] {
            let mut v = base();
            v[field] = json!(bad);
            assert_eq!(err_field(v), format!("config.{field}"));
        }
        let mut v = base();
        v["chunkSize"] = json!(3601);
        assert_eq!(err_field(v), "config.chunkSize");
        let mut v = base();
        v["chunkSize"] = json!(0);
        assert_eq!(err_field(v), "config.chunkSize");
        let mut v = base();
        v["maxParallelChunks"] = json!(257);
        assert_eq!(err_field(v), "config.maxParallelChunks");
        let mut v = base();
        v["format"] = json!("webm");
        v["codec"] = json!("h265");
        assert_eq!(err_field(v), "config.codec");
        let mut v = base();
        v["crf"] = json!(20);
        v["bitrate"] = json!("8M");
        assert_eq!(err_field(v), "config.crf");
        let mut v = base();
        v["bitrate"] = json!("8 megabits");
        assert_eq!(err_field(v), "config.bitrate");
        let mut v = base();
        v["runtimeCap"] = json!("forever");
        assert_eq!(err_field(v), "config.runtimeCap");
        let mut v = base();
        v["format"] = json!("webm");
        v["preset"] = json!("veryfast");
        assert_eq!(err_field(v), "config.preset");
    }

    #[test]
    fn preset_names_round_trip_and_unknown_ones_are_refused() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.as_str()).unwrap(), p);
            let mut v = base();
            v["preset"] = json!(p.as_str());
            assert_eq!(RenderConfig::from_json(&v).unwrap().preset, Some(p));
        }
        match Preset::parse("turbo") {
            Err(ProducerError::InvalidConfig { field, message }) => {
                assert_eq!(field, "config.preset");
                assert!(message.contains("veryfast"), "{message}");
            }
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
        let mut v = base();
        v["preset"] = json!("placebo");
        assert!(RenderConfig::from_json(&v).is_err());
        assert_eq!(Codec::parse("h265").unwrap(), Codec::H265);
        assert_eq!(Quality::parse("draft").unwrap(), Quality::Draft);
        for (e, field) in [
            (Codec::parse("av1").unwrap_err(), "config.codec"),
            (Quality::parse("best").unwrap_err(), "config.quality"),
        ] {
            assert!(matches!(e, ProducerError::InvalidConfig { field: f, .. } if f == field));
        }
    }

    #[test]
    fn unknown_format_is_a_config_error_and_hdr_is_unsupported() {
        let mut v = base();
        v["format"] = json!("gif");
        assert_eq!(err_field(v), "config");
        let mut v = base();
        v["hdrMode"] = json!("force-hdr");
        let e = RenderConfig::from_json(&v).unwrap_err();
        assert_eq!(e.name(), "FORMAT_NOT_SUPPORTED_IN_DISTRIBUTED");
    }

    #[test]
    fn every_unknown_field_is_named_at_once() {
        let mut v = base();
        v["chunksize"] = json!(10);
        v["outputResolution"] = json!("1080p");
        v["qualty"] = json!("high");
        match RenderConfig::from_json(&v) {
            Err(ProducerError::InvalidConfig { field, message }) => {
                assert_eq!(field, "config");
                for name in ["chunksize", "outputResolution", "qualty"] {
                    assert!(message.contains(name), "{message}");
                }
                assert!(message.contains("does not scale"), "{message}");
                assert!(message.contains("chunkSize"), "{message}");
            }
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn the_field_list_is_serdes() {
        let mut c = RenderConfig::new(30, Format::Mp4).with_size(640, 360);
        c.codec = Some(Codec::H264);
        c.quality = Some(Quality::High);
        c.preset = Some(Preset::Fast);
        c.crf = Some(20);
        c.bitrate = Some("1M".into());
        c.chunk_size = Some(10);
        c.max_parallel_chunks = Some(2);
        c.target_chunk_frames = Some(10);
        c.concurrency = Some(4);
        c.runtime_cap = Some("lambda".into());
        c.hdr_mode = Some("auto".into());
        c.entry_file = Some("a.html".into());
        c.plan_dir_size_limit_bytes = Some(1);
        c.variables = Some(Default::default());
        c.variables_s3_uri = Some("s3://b/k".into());
        c.fail_closed_font_fetch = Some(true);
        c.reject_on_system_fonts = Some(false);
        let v = serde_json::to_value(&c).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, FIELDS);
    }

    /// `concurrency` caps the automatic chunk count: 0, or together with
    /// a setting that replaces that count, is refused rather than ignored.
    #[test]
    fn concurrency_is_refused_where_it_would_be_ignored() {
        let mut c = RenderConfig::new(30, Format::Mp4);
        c.concurrency = Some(8);
        assert!(c.validate().is_ok());
        c.concurrency = Some(0);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("concurrency"));
        c.concurrency = Some(8);
        c.chunk_size = Some(30);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("concurrency") && e.contains("chunkSize"), "{e}");
    }

    #[test]
    fn size_is_the_compositions_unless_it_differs() {
        let c = RenderConfig::new(30, Format::Mp4);
        assert_eq!(c.output_size((640, 360)).unwrap(), (640, 360));
        let c = c.with_size(640, 360);
        assert_eq!(c.output_size((640, 360)).unwrap(), (640, 360));
        let e = c.with_size(1920, 1080).output_size((640, 360)).unwrap_err();
        assert!(e.to_string().contains("640x360"), "{e}");
        let mut v = base();
        v.as_object_mut().unwrap().remove("height");
        assert_eq!(err_field(v), "config.height");
        let mut v = base();
        v["failClosedFontFetch"] = json!(false);
        assert_eq!(err_field(v), "config.failClosedFontFetch");
    }

    #[test]
    fn bitrate_grammar() {
        for ok in ["8M", "800k", "1.5M", "1000"] {
            assert!(valid_bitrate(ok), "{ok}");
        }
        for bad in ["", "M", "1.", ".5M", "8MB", "-1"] {
            assert!(!valid_bitrate(bad), "{bad}");
        }
    }
}
