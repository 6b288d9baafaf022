//! ffmpeg: which binary, version pinning, and per-format encoder arguments.
//! Probing is in [`crate::encode::probe`].
//!
//! Chunk encodes lock the GOP to the chunk (closed, keyframe at the chunk's first
//! frame, no B-frames / alt-ref, headers repeated) so `-f concat -c copy` can
//! stitch chunks without re-encoding.

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::{Codec, Format, Preset, Quality};
use crate::errors::{ProducerError, Result};
use crate::plan::files::{EncoderMeta, EncoderName, FrameInput, YuvMatrix};
use crate::process;

pub const FFMPEG_TIMEOUT_SHORT: Duration = Duration::from_secs(30);

pub fn ffmpeg_bin() -> String {
    if let Some(rt) = crate::runtime::installed() {
        return rt.ffmpeg.display().to_string();
    }
    crate::settings::current()
        .ffmpeg
        .as_ref()
        .map_or_else(|| "ffmpeg".into(), |p| p.display().to_string())
}

/// How an ffmpeg run talks: what it logs and whether stdin is its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Talk {
    /// Errors only, stdin closed: a conversion into a file (audio mix,
    /// concat, mux, PSNR). The error text is the failure's message.
    Quiet,
    /// The input described on stderr, no banner, stdin closed: a probe
    /// reads the description.
    Describe,
    /// Statistics and filter summaries on stderr (PSNR and SSIM lines),
    /// stdin closed: a quality measurement.
    Measure,
    /// Errors only, frames on stdin, no input probing: a chunk's encoder.
    Piped,
}

/// Every ffmpeg command starts here: the binary ([`ffmpeg_bin`], the
/// bundled one on Lambda) and the flags of how it talks. Callers add
/// their inputs and outputs; encoder settings come from
/// [`EncoderSettings::output_args`].
pub fn command(talk: Talk) -> Command {
    let mut cmd = Command::new(ffmpeg_bin());
    match talk {
        Talk::Quiet => cmd.args(["-v", "error", "-nostdin"]),
        Talk::Describe => cmd.args(["-hide_banner", "-nostdin"]),
        Talk::Measure => cmd.args(["-hide_banner", "-nostats", "-nostdin", "-v", "info"]),
        // No input probing: codec and rate are given, and by default ffmpeg
        // buffers up to 5 s of frames (150 at 30 fps, a whole chunk) before
        // it decodes the first one, which serializes capture and encode. The
        // encoded bytes are the same either way.
        Talk::Piped => cmd.args(["-v", "error", "-probesize", "32", "-analyzeduration", "0"]),
    };
    cmd
}

/// First line of `ffmpeg -version`: pinned in the plan because encoder output
/// (and so chunk determinism) depends on the exact build. Asked once per
/// binary and process: a warm function plans and renders chunks in one
/// process, and every start of a dynamically linked ffmpeg costs 60-250 ms.
pub fn ffmpeg_version() -> Result<String> {
    static KNOWN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let bin = ffmpeg_bin();
    // Held across the run: a second caller waits for this answer instead of
    // starting ffmpeg too.
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, v)) = known.iter().find(|(b, _)| *b == bin) {
        return Ok(v.clone());
    }
    let out = process::run(
        Command::new(&bin).arg("-version"),
        FFMPEG_TIMEOUT_SHORT,
        "ffmpeg -version",
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if !out.status.success() || line.is_empty() {
        return Err(ProducerError::ToolUnavailable(
            crate::runtime::missing_binary(
                "ffmpeg",
                std::path::Path::new(&bin),
                "printed no version",
            ),
        ));
    }
    known.push((bin, line.clone()));
    Ok(line)
}

/// How the full-range captures become the video's YCbCr, and which colour
/// tags the stream declares. Pinned in the plan (`yuvMatrix` in
/// `meta/encoder.json`): the two give different pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YuvConversion {
    /// Plans written before `yuvMatrix`, kept so their chunks keep their
    /// bytes. mp4 ran the reference's `scale=in_range=pc:out_range=tv`,
    /// which narrows the range only: JPEG frames kept JFIF's BT.601
    /// coefficients under BT.709 tags, so players shifted saturated colours
    /// (the title #6366f1 played as #606bf4). webm and mov got swscale's
    /// default, BT.601, and no tags, which ffmpeg decodes as BT.601 and
    /// Chrome as BT.709.
    Legacy,
    /// Plans with `yuvMatrix: bt709` but no `frameLabels` (written for one
    /// day, mp4 only): the BT.709 conversion without `setparams`, so their
    /// chunks keep their bytes (under ffmpeg 9, primaries and transfer
    /// `unknown`).
    Bt709Unlabelled,
    /// BT.709 limited-range samples under BT.709 tags, in every format.
    /// For mp4, swscale converts JPEG's BT.601 YCbCr to BT.709 and narrows
    /// the range in one pass, 1.5 ms per 1080p frame more than the
    /// range-only pass in ffmpeg 5.1.
    Bt709,
    /// mp4 of flat graphics: the browser captures lossless PNG, this
    /// process converts it to yuv420p BT.709 ([`crate::encode::yuv`]) and ffmpeg
    /// reads raw frames, so it only labels and encodes them. Pinned as
    /// `frameInput: yuv420p` beside `yuvMatrix: bt709`.
    Bt709InProcess,
}

impl YuvConversion {
    /// The conversion a plan's `meta/encoder.json` pins for `format`;
    /// plans from before each of its fields keep the conversion and labels
    /// they were written with. [`YuvConversion::pin`] is the other half.
    pub fn from_encoder(e: &EncoderMeta, format: Format) -> YuvConversion {
        if e.yuv_matrix.is_none() {
            return YuvConversion::Legacy;
        }
        if e.frame_input == Some(FrameInput::Yuv420p) && format == Format::Mp4 {
            YuvConversion::Bt709InProcess
        } else if e.frame_labels == Some(YuvMatrix::Bt709) {
            YuvConversion::Bt709
        } else {
            YuvConversion::Bt709Unlabelled
        }
    }

    /// The pin for `format` (png-sequence has none): `yuvMatrix`,
    /// `frameLabels` when the frames are labelled BT.709 (`setparams`)
    /// before the encoder, `frameInput` for the in-process path.
    pub fn pin(self, format: Format) -> (Option<YuvMatrix>, Option<YuvMatrix>, Option<FrameInput>) {
        if format == Format::PngSequence || self == YuvConversion::Legacy {
            return (None, None, None);
        }
        (
            Some(YuvMatrix::Bt709),
            (self != YuvConversion::Bt709Unlabelled).then_some(YuvMatrix::Bt709),
            (self == YuvConversion::Bt709InProcess).then_some(FrameInput::Yuv420p),
        )
    }

    /// The `-vf` value for `format`, if it converts explicitly.
    /// `in_color_matrix` applies to JPEG's YCbCr frames (mp4); the RGB
    /// frames of webm and mov have no matrix and only need the output's.
    /// `setparams` labels the frames themselves: ffmpeg 9 (the bundled one)
    /// lets the frames' unset primaries and transfer override `-color_*`,
    /// and ffmpeg 5.1's prores_ks reads only the frames'. Without it those
    /// files said `unknown`. It leaves 5.1's mp4 bytes as they were.
    fn filter(self, format: Format) -> Option<&'static str> {
        match (self, format) {
            (_, Format::PngSequence) => None,
            (YuvConversion::Legacy, Format::Mp4) => Some("scale=in_range=pc:out_range=tv"),
            (YuvConversion::Legacy, Format::Webm | Format::Mov) => None,
            (YuvConversion::Bt709Unlabelled, Format::Mp4) => {
                Some("scale=in_color_matrix=bt601:out_color_matrix=bt709:in_range=pc:out_range=tv")
            }
            (YuvConversion::Bt709Unlabelled, Format::Webm | Format::Mov) => {
                Some("scale=out_color_matrix=bt709:out_range=tv")
            }
            (YuvConversion::Bt709, Format::Mp4) => Some(
                "scale=in_color_matrix=bt601:out_color_matrix=bt709:in_range=pc:out_range=tv,\
                 setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
            ),
            (YuvConversion::Bt709, Format::Webm | Format::Mov) => Some(
                "scale=out_color_matrix=bt709:out_range=tv,\
                 setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
            ),
            (YuvConversion::Bt709InProcess, _) => {
                Some("setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv")
            }
        }
    }

    /// The `-vf` (if any) and the colour tags for `format`. mp4 always
    /// carried the BT.709 tags; webm and mov carry them from this pin on.
    fn args(self, format: Format, a: &mut Vec<String>) {
        if let Some(f) = self.filter(format) {
            push(a, &["-vf", f]);
        }
        if format == Format::Mp4
            || (self != YuvConversion::Legacy && matches!(format, Format::Webm | Format::Mov))
        {
            push(a, BT709_TAGS);
        }
    }
}

/// Encoder threads pinned in new plans: x264's own choice on 2 cores (so
/// chunks from before the pin keep their bytes there), and enough for the
/// encoder to keep up with capture on a 6-vCPU Lambda.
pub const ENCODER_THREADS: u32 = 3;

/// Encoder settings frozen into `meta/encoder.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSettings {
    pub format: Format,
    pub codec: Codec,
    pub quality: Quality,
    /// Explicit x264/x265 preset (mp4 only); None = from quality.
    pub preset: Option<Preset>,
    /// x264 threads / x265 frame threads. They change the bitstream, and
    /// left to the encoder they follow the core count, so a plan pins them:
    /// a chunk is then byte-identical on a 2-core laptop and a 6-vCPU Lambda.
    /// None (plans written before the pin) = the encoder's choice.
    pub threads: Option<u32>,
    pub crf: Option<u32>,
    pub bitrate: Option<String>,
    /// Captured frames to the mp4's YCbCr.
    pub yuv: YuvConversion,
}

impl EncoderSettings {
    pub fn encoder_name(&self) -> EncoderName {
        match (self.format, self.codec) {
            (Format::Mp4, Codec::H264) => EncoderName::Libx264,
            (Format::Mp4, Codec::H265) => EncoderName::Libx265,
            (Format::Webm, _) => EncoderName::Vp9,
            (Format::Mov, _) => EncoderName::Prores,
            (Format::PngSequence, _) => EncoderName::PngSequence,
        }
    }

    pub fn preset(&self) -> &'static str {
        match self.format {
            Format::Mp4 => self
                .preset
                .unwrap_or(self.quality.default_preset())
                .as_str(),
            Format::Webm => "good",
            Format::Mov => "4444",
            Format::PngSequence => "lossless",
        }
    }

    pub fn effective_crf(&self) -> Option<u32> {
        if self.bitrate.is_some() {
            return None;
        }
        match self.format {
            Format::Mp4 | Format::Webm => {
                Some(self.crf.unwrap_or(self.quality.default_crf(self.format)))
            }
            _ => None,
        }
    }

    pub fn pixel_format(&self) -> &'static str {
        match self.format {
            Format::Mp4 => "yuv420p",
            Format::Webm => "yuva420p",
            Format::Mov => "yuva444p10le",
            Format::PngSequence => "rgba",
        }
    }

    /// Output arguments (after the input) for a chunk of `gop` frames.
    /// `metadata` pairs are written as container tags.
    pub fn output_args(&self, fps: u32, gop: u64, metadata: &[(&str, String)]) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        push(&mut a, &["-r", &fps.to_string()]);
        let crf = self.effective_crf().map(|c| c.to_string());
        match self.format {
            Format::Mp4 => {
                match self.codec {
                    Codec::H264 => self.h264_args(&mut a, gop, crf.as_deref()),
                    Codec::H265 => self.h265_args(&mut a, gop, crf.as_deref()),
                }
                self.yuv.args(self.format, &mut a);
                push(&mut a, MP4_CONTAINER);
            }
            Format::Webm => {
                self.webm_args(&mut a, gop, crf);
                self.yuv.args(self.format, &mut a);
            }
            Format::Mov => {
                push(&mut a, MOV_PRORES_4444);
                self.yuv.args(self.format, &mut a);
            }
            Format::PngSequence => {}
        }
        // Bit-exact output across runs: no encoder/muxer version strings that could drift.
        push(&mut a, &["-fflags", "+bitexact"]);
        for (k, v) in metadata {
            a.extend(["-metadata".into(), format!("{k}={v}")]);
        }
        if matches!(self.format, Format::Mp4 | Format::Mov) {
            push(&mut a, &["-movflags", "+use_metadata_tags"]);
        }
        a
    }

    /// libx264 with a closed, fixed GOP (a keyframe every `gop` frames, no
    /// B-frames), so chunks concatenate without re-encoding.
    fn h264_args(&self, a: &mut Vec<String>, gop: u64, crf: Option<&str>) {
        let preset = self.preset();
        push(a, &["-c:v", "libx264", "-preset", preset]);
        if let Some(t) = self.threads {
            push(a, &["-threads", &t.to_string()]);
        }
        self.rate_args(a, crf);
        let mut x264 = String::from("aq-mode=3");
        if preset != "ultrafast" {
            x264.push_str(":aq-strength=0.8:deblock=1,1");
        }
        x264.push_str(
            ":colorprim=bt709:transfer=bt709:colormatrix=bt709:scenecut=0:open-gop=0:repeat-headers=1",
        );
        let gop_s = gop.to_string();
        push(
            a,
            &[
                "-g",
                &gop_s,
                "-keyint_min",
                &gop_s,
                "-sc_threshold",
                "0",
                "-force_key_frames",
                &format!("expr:eq(mod(n,{gop}),0)"),
                "-bf",
                "0",
                "-x264-params",
                &x264,
            ],
        );
    }

    /// libx265 with the same GOP rules as [`Self::h264_args`], tagged `hvc1`
    /// so Apple players accept it.
    fn h265_args(&self, a: &mut Vec<String>, gop: u64, crf: Option<&str>) {
        push(a, &["-c:v", "libx265", "-preset", self.preset()]);
        self.rate_args(a, crf);
        let x265 = format!(
            "log-level=error:keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:repeat-headers=1:colorprim=bt709:transfer=bt709:colormatrix=bt709{}",
            self.threads.map(|t| format!(":frame-threads={t}")).unwrap_or_default()
        );
        push(
            a,
            &[
                "-g",
                &gop.to_string(),
                "-bf",
                "0",
                "-x265-params",
                &x265,
                "-tag:v",
                "hvc1",
            ],
        );
    }

    /// VP9 with alpha; a bitrate wins over a CRF.
    fn webm_args(&self, a: &mut Vec<String>, gop: u64, crf: Option<String>) {
        push(a, &["-c:v", "libvpx-vp9"]);
        match (&self.bitrate, crf) {
            (Some(b), _) => a.extend(["-b:v".to_string(), b.clone()]),
            (None, Some(c)) => a.extend(["-b:v".into(), "0".into(), "-crf".into(), c]),
            (None, None) => {}
        }
        let gop_s = gop.to_string();
        push(
            a,
            &[
                "-deadline",
                "good",
                "-row-mt",
                "1",
                "-cpu-used",
                "4",
                "-g",
                &gop_s,
                "-keyint_min",
                &gop_s,
                "-auto-alt-ref",
                "0",
                "-metadata:s:v:0",
                "alpha_mode=1",
                "-pix_fmt",
                "yuva420p",
                "-avoid_negative_ts",
                "make_zero",
            ],
        );
    }

    fn rate_args(&self, a: &mut Vec<String>, crf: Option<&str>) {
        match (&self.bitrate, crf) {
            (Some(b), _) => a.extend(["-b:v".to_string(), b.clone()]),
            (None, Some(c)) => a.extend(["-crf".to_string(), c.to_string()]),
            (None, None) => {}
        }
    }
}

fn push(a: &mut Vec<String>, xs: &[&str]) {
    a.extend(xs.iter().map(|s| s.to_string()));
}

/// BT.709 tags on a limited-range stream (the capture is full range; the
/// `-vf` before these converts it).
const BT709_TAGS: &[&str] = &[
    "-colorspace:v",
    "bt709",
    "-color_primaries:v",
    "bt709",
    "-color_trc:v",
    "bt709",
    "-color_range",
    "tv",
];

/// The 90 kHz timescale concat needs, and yuv420p for every player.
const MP4_CONTAINER: &[&str] = &[
    "-video_track_timescale",
    "90000",
    "-pix_fmt",
    "yuv420p",
    "-avoid_negative_ts",
    "make_zero",
];

/// ProRes 4444 with alpha, 10-bit.
const MOV_PRORES_4444: &[&str] = &[
    "-c:v",
    "prores_ks",
    "-profile:v",
    "4444",
    "-vendor",
    "apl0",
    "-pix_fmt",
    "yuva444p10le",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(format: Format, codec: Codec) -> EncoderSettings {
        EncoderSettings {
            format,
            codec,
            quality: Quality::Standard,
            preset: None,
            threads: Some(ENCODER_THREADS),
            crf: None,
            bitrate: None,
            yuv: YuvConversion::Bt709,
        }
    }

    fn args(s: &EncoderSettings) -> String {
        s.output_args(30, 15, &[]).join(" ")
    }

    #[test]
    fn h264_chunk_args_lock_the_gop() {
        let s = args(&settings(Format::Mp4, Codec::H264));
        assert!(s.contains("-c:v libx264 -preset veryfast -threads 3 -crf 19 -g 15 -keyint_min 15"));
        assert!(s.contains("-force_key_frames expr:eq(mod(n,15),0) -bf 0"));
        assert!(s.contains("open-gop=0:repeat-headers=1"));
        assert!(s.contains("-pix_fmt yuv420p"));
    }

    #[test]
    fn an_explicit_preset_replaces_the_quality_default() {
        let mut s = settings(Format::Mp4, Codec::H264);
        s.preset = Some(Preset::Medium);
        let a = args(&s);
        assert!(
            a.contains("-c:v libx264 -preset medium -threads 3 -crf 19"),
            "{a}"
        );
        s.codec = Codec::H265;
        let a = args(&s);
        assert!(a.contains("-c:v libx265 -preset medium"), "{a}");
        s.quality = Quality::High;
        s.preset = None;
        assert_eq!(s.preset(), "slow");
    }

    #[test]
    fn other_formats_use_their_codecs() {
        let s = settings(Format::Webm, Codec::H264)
            .output_args(30, 15, &[])
            .join(" ");
        assert!(
            s.contains("libvpx-vp9") && s.contains("-auto-alt-ref 0") && s.contains("yuva420p")
        );
        let s = settings(Format::Mov, Codec::H264)
            .output_args(30, 15, &[])
            .join(" ");
        assert!(s.contains("prores_ks -profile:v 4444"));
        let s = settings(Format::Mp4, Codec::H265)
            .output_args(30, 15, &[])
            .join(" ");
        assert!(
            s.contains("libx265")
                && s.contains("keyint=15:min-keyint=15")
                && s.contains(":frame-threads=3")
                && s.contains("hvc1")
        );
    }

    #[test]
    fn frames_become_bt709_samples_and_old_plans_keep_the_range_only_pass() {
        let mut s = settings(Format::Mp4, Codec::H264);
        assert!(args(&s).contains(
            "-vf scale=in_color_matrix=bt601:out_color_matrix=bt709:in_range=pc:out_range=tv,\
             setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv -colorspace:v bt709"
        ));
        s.yuv = YuvConversion::Bt709Unlabelled;
        assert!(args(&s).contains(
            "-vf scale=in_color_matrix=bt601:out_color_matrix=bt709:in_range=pc:out_range=tv -colorspace:v bt709"
        ));
        s.yuv = YuvConversion::Legacy;
        assert!(args(&s).contains("-vf scale=in_range=pc:out_range=tv -colorspace:v bt709"));
    }

    #[test]
    fn alpha_formats_convert_to_bt709_and_say_so_unless_the_plan_predates_it() {
        for format in [Format::Webm, Format::Mov] {
            let mut s = settings(format, Codec::H264);
            assert!(
                args(&s).contains(
                    "-vf scale=out_color_matrix=bt709:out_range=tv,setparams=colorspace=bt709:\
                     color_primaries=bt709:color_trc=bt709:range=tv -colorspace:v bt709"
                ),
                "{format:?}: {}",
                args(&s)
            );
            s.yuv = YuvConversion::Legacy;
            let a = args(&s);
            assert!(
                !a.contains("-vf") && !a.contains("bt709"),
                "{format:?}: {a}"
            );
        }
    }
}
