//! `render_chunk()`: captures one slice of frames and encodes it into a closed-GOP
//! chunk (or a directory of PNGs). Output is written to a temp path and renamed,
//! so a failed or killed worker never leaves a file that looks finished.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::capture::browser::{CaptureMode, ImageFormat, ImageSpec};
use crate::capture::frames::{
    capture_frames, default_capture_pages, reuse_by_default, CapturePlan, CaptureStats,
};
use crate::capture::session::SessionSpec;
use crate::config::Format;
use crate::encode::ffmpeg::{EncoderSettings, YuvConversion};
use crate::encode::sink::{EncoderInput, FfmpegSink, FrameDirSink, FrameSink, NullSink};
use crate::errors::{ProducerError, Result};
use crate::plan::chunks::ChunkSlice;
use crate::plan::digest::{self, sha256_hex};
use crate::plan::files::BrowserGpuMode;
use crate::plan::{LoadedPlan, PRODUCER_VERSION};
use crate::{encode::yuv, staging};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkOutcome {
    pub path: PathBuf,
    /// "file" or "frame-dir".
    pub output_kind: &'static str,
    pub index: u32,
    pub start_frame: u64,
    pub frames: u64,
    pub sha256: String,
    pub capture_mode: &'static str,
    pub duration_ms: u128,
    pub plan_hash_ms: u128,
    pub session_boot_ms: u128,
    /// Cold start to first frame, stage by stage (`hyperframes bench
    /// cold-start`): loading the plan, starting the encoder, the slowest
    /// page's browser launch and page readiness, and from the chunk's start
    /// to its first frame in the encoder.
    pub plan_load_ms: u128,
    pub encoder_start_ms: u128,
    pub browser_launch_ms: u128,
    pub page_ready_ms: u128,
    pub first_frame_ms: Option<u128>,
    pub capture_ms: u128,
    /// Frames that repeat the previous frame's bytes instead of being captured.
    pub reused_frames: u64,
}

/// Knobs for the local runner and the bench; the handler uses the defaults.
#[derive(Debug, Clone, Default)]
pub struct ChunkOptions {
    /// Incremented once per captured frame (progress bars).
    pub frames_done: Option<Arc<AtomicU64>>,
    /// Skip the plan hash recompute (the runner just wrote the plan itself).
    pub trust_plan_hash: bool,
    /// Force a capture mode instead of the plan's (bench).
    pub force_mode: Option<CaptureMode>,
    /// Capture only, discard frames (bench "capture alone").
    pub capture_only: bool,
    /// With `capture_only`: keep the captured images here, numbered from 1 (bench).
    pub keep_frames: Option<PathBuf>,
    /// Page readiness budget (tests use a short one for broken compositions).
    pub ready_timeout: Option<Duration>,
    /// Parallel capture pages for this chunk (None = HF_CAPTURE_PAGES or 1).
    pub capture_pages: Option<usize>,
    /// Reuse the previous frame's bytes when nothing on the page changed
    /// (None = on unless HF_REUSE_FRAMES=0). Output bytes are the same either way.
    pub reuse_unchanged: Option<bool>,
    /// Capture images other than the plan's (bench experiments).
    pub image: Option<ImageSpec>,
    /// Extra browser switches (bench experiments).
    pub browser_flags: Vec<String>,
    /// Deliver frames by screencast instead of screenshots (bench experiment).
    pub screencast: bool,
}

/// The file name of chunk `index` for a format (a directory for png-sequence).
pub fn chunk_file_name(index: u32, format: Format) -> String {
    match format {
        Format::PngSequence => format!("chunk_{index:04}"),
        f => format!("chunk_{index:04}.{}", f.extension()),
    }
}

/// Renders chunk `index` of the plan into `out_dir`.
pub fn render_chunk(plan_dir: &Path, index: u32, out_dir: &Path) -> Result<ChunkOutcome> {
    render_chunk_with(plan_dir, index, out_dir, &ChunkOptions::default())
}

pub fn render_chunk_with(
    plan_dir: &Path,
    index: u32,
    out_dir: &Path,
    opts: &ChunkOptions,
) -> Result<ChunkOutcome> {
    let started = Instant::now();
    let plan = LoadedPlan::load(plan_dir)?;
    let plan_load_ms = started.elapsed().as_millis();
    let slice = renderable_slice(&plan, index)?;
    let t_hash = Instant::now();
    if !opts.trust_plan_hash {
        plan.verify_hash()?;
    }
    let plan_hash_ms = t_hash.elapsed().as_millis();
    std::fs::create_dir_all(out_dir).map_err(|e| ProducerError::io(out_dir, e))?;

    let format = plan.format();
    let (out, mode, stats) = capture_with_fallback(&plan, slice, index, out_dir, opts)?;
    let sha256 = if opts.capture_only {
        String::new()
    } else if format == Format::PngSequence {
        frame_dir_sha256(&out)?
    } else {
        digest::sha256_file(&out)?
    };
    Ok(ChunkOutcome {
        path: out,
        output_kind: if format == Format::PngSequence {
            "frame-dir"
        } else {
            "file"
        },
        index,
        start_frame: slice.start_frame,
        frames: slice.frames(),
        sha256,
        capture_mode: mode.as_str(),
        duration_ms: started.elapsed().as_millis(),
        plan_hash_ms,
        session_boot_ms: stats.boot_ms,
        plan_load_ms,
        encoder_start_ms: stats.encoder_start_ms,
        browser_launch_ms: stats.launch_ms,
        page_ready_ms: stats.ready_ms,
        first_frame_ms: stats
            .first_frame_at
            .map(|t| t.saturating_duration_since(started).as_millis()),
        capture_ms: stats.capture_ms,
        reused_frames: stats.reused_frames,
    })
}

/// Chunk `index` of `plan`, if this worker can render it: the slice exists
/// and has frames, the compiled page is there, this ffmpeg is the plan's
/// and the plan asks for software GL.
fn renderable_slice(plan: &LoadedPlan, index: u32) -> Result<ChunkSlice> {
    let slice = *plan.chunks.get(index as usize).ok_or_else(|| {
        ProducerError::ChunkIndexOutOfRange(format!(
            "chunk {index} requested but the plan has {} chunks (0..{})",
            plan.chunks.len(),
            plan.chunks.len()
        ))
    })?;
    if slice.frames() == 0 {
        return Err(ProducerError::ChunkIndexOutOfRange(format!(
            "chunk {index} has no frames"
        )));
    }
    if !plan.dir.join("compiled/index.html").is_file() {
        return Err(ProducerError::MissingPlanArtifact(format!(
            "{}/compiled/index.html is missing",
            plan.dir.display()
        )));
    }
    plan.verify_ffmpeg()?;
    if plan.encoder.browser_gpu_mode != BrowserGpuMode::Software {
        return Err(ProducerError::BrowserGpuNotSoftware(format!(
            "plan asks for browserGpuMode {:?}; distributed chunks only render with software GL",
            plan.encoder.browser_gpu_mode
        )));
    }
    Ok(slice)
}

/// Captures and encodes in the plan's mode (or the forced one). A
/// BeginFrame-specific failure gets one whole-chunk retry in screenshot mode.
fn capture_with_fallback(
    plan: &LoadedPlan,
    slice: ChunkSlice,
    index: u32,
    out_dir: &Path,
    opts: &ChunkOptions,
) -> Result<(PathBuf, CaptureMode, CaptureStats)> {
    let mode = opts.force_mode.unwrap_or(plan.encoder.capture_mode);
    match capture_and_encode(plan, slice, index, out_dir, mode, opts) {
        Err(ProducerError::BeginFrameFailed(_)) if mode == CaptureMode::BeginFrame => {
            let screenshot = CaptureMode::Screenshot;
            let (out, stats) = capture_and_encode(plan, slice, index, out_dir, screenshot, opts)?;
            Ok((out, screenshot, stats))
        }
        other => other.map(|(out, stats)| (out, mode, stats)),
    }
}

/// sha256 over `name\0sha256(file)` lines (joined by `\0`) of the sorted frames.
pub fn frame_dir_sha256(dir: &Path) -> Result<String> {
    let mut lines = Vec::new();
    for (rel, path) in digest::list_files(dir)? {
        if rel.ends_with(".png") {
            lines.push(format!("{rel}\0{}", digest::sha256_file(&path)?));
        }
    }
    Ok(sha256_hex(lines.join("\0").as_bytes()))
}

fn chunk_deadline(frames: u64) -> Duration {
    let per_frame = crate::settings::current().chunk_ms_per_frame;
    Duration::from_secs(120) + Duration::from_millis(per_frame * frames)
}

fn capture_and_encode(
    plan: &LoadedPlan,
    slice: ChunkSlice,
    index: u32,
    out_dir: &Path,
    mode: CaptureMode,
    opts: &ChunkOptions,
) -> Result<(PathBuf, CaptureStats)> {
    let format = plan.format();
    let final_path = out_dir.join(chunk_file_name(index, format));
    let staging = staging::beside(&final_path, "tmp")?;
    let tmp = staging.path().join("chunk");
    let settings = plan.settings();
    let image = opts
        .image
        .unwrap_or(ImageSpec::for_encoding(format, settings.yuv));
    let spec = session_spec(plan, mode, image, opts)?;
    let deadline = Instant::now() + chunk_deadline(slice.frames());
    let pixels = u64::from(spec.width) * u64::from(spec.height);
    let capture = CapturePlan {
        image,
        pages: opts
            .capture_pages
            .unwrap_or_else(|| default_capture_pages(pixels, slice.frames()))
            .clamp(1, slice.frames().min(8) as usize),
        reuse_unchanged: opts.reuse_unchanged.unwrap_or_else(reuse_by_default),
        deadline,
        frames_done: opts.frames_done.clone(),
    };
    // The encoder's start-up is timed: it is on the way to the first frame.
    let result = (|| -> Result<CaptureStats> {
        let t_sink = Instant::now();
        let mut sink = open_sink(plan, settings, slice, index, &tmp, &capture, opts)?;
        let encoder_start_ms = t_sink.elapsed().as_millis();
        match capture_frames(&spec, slice, &capture, sink.as_mut()) {
            Ok(t) => {
                sink.finish()?;
                Ok(CaptureStats {
                    encoder_start_ms,
                    ..t
                })
            }
            Err(e) => {
                sink.abort();
                Err(e)
            }
        }
    })()
    .map_err(|e| match e {
        ProducerError::Timeout(m) => ProducerError::Timeout(format!("chunk {index}: {m}")),
        other => other,
    });
    let stats = match result {
        Ok(t) => t,
        Err(e) => {
            remove_path(&tmp);
            return Err(e);
        }
    };
    if !opts.capture_only {
        publish(plan, slice, index, &tmp, &final_path)?;
    }
    Ok((final_path, stats))
}

/// The browser session for `plan`'s page at its size.
fn session_spec(
    plan: &LoadedPlan,
    mode: CaptureMode,
    image: ImageSpec,
    opts: &ChunkOptions,
) -> Result<SessionSpec> {
    let comp = plan.composition()?;
    Ok(SessionSpec {
        site_root: plan.dir.join("compiled"),
        entry: "index.html".into(),
        composition_id: plan.plan.composition_id.clone(),
        no_timeline: plan.plan.no_timeline || comp.no_timeline,
        width: plan.plan.dimensions.width,
        height: plan.plan.dimensions.height,
        fps: plan.fps(),
        mode,
        transparent: plan.format().has_alpha(),
        ready_timeout: opts.ready_timeout,
        variables: plan.encoder.variables.clone(),
        variable_assets: plan.encoder.variable_assets.clone(),
        extra_flags: opts.browser_flags.clone(),
        screencast: opts.screencast.then_some(image),
        page_composite: plan.encoder.page_composite,
    })
}

/// The container tag holding the hash of the plan a chunk was rendered from.
pub const PLAN_HASH_TAG: &str = "hyperframes_plan_hash";
/// The container tag holding a chunk's index in its plan.
pub const CHUNK_INDEX_TAG: &str = "hyperframes_chunk_index";

/// The container tags of a video chunk: provenance, and the identity the
/// assemble checks ([`PLAN_HASH_TAG`], [`CHUNK_INDEX_TAG`]).
pub fn chunk_tags(plan_hash: &str, index: u32, start_frame: u64) -> Vec<(&'static str, String)> {
    vec![
        ("hyperframes_renderer", "hyperframes".to_string()),
        ("hyperframes_version", PRODUCER_VERSION.to_string()),
        (PLAN_HASH_TAG, plan_hash.to_string()),
        (CHUNK_INDEX_TAG, index.to_string()),
        ("hyperframes_start_frame", start_frame.to_string()),
    ]
}

/// Where the captured frames go: the chunk's encoder writing `tmp`, a PNG
/// directory at `tmp`, or (bench) nowhere or a kept-frames directory.
fn open_sink(
    plan: &LoadedPlan,
    settings: EncoderSettings,
    slice: ChunkSlice,
    index: u32,
    tmp: &Path,
    capture: &CapturePlan,
    opts: &ChunkOptions,
) -> Result<Box<dyn FrameSink>> {
    let format = plan.format();
    if opts.capture_only {
        return Ok(match &opts.keep_frames {
            Some(dir) => Box::new(FrameDirSink::create(dir, capture.image.extension())?),
            None => Box::new(NullSink),
        });
    }
    if format == Format::PngSequence {
        return Ok(Box::new(FrameDirSink::create(tmp, "png")?));
    }
    let metadata = chunk_tags(&plan.plan.plan_hash, index, slice.start_frame);
    let fps = plan.fps();
    let (settings, input) = encoder_input(plan, settings, capture.image);
    let mut args = settings.output_args(fps, slice.frames(), &metadata);
    args.extend(["-f".into(), format.muxer().into(), "-y".into()]);
    let sink = FfmpegSink::spawn(fps, input, &args, tmp, capture.deadline)?;
    Ok(Box::new(sink))
}

/// Raw frames converted here when the plan says so and the capture is PNG;
/// otherwise the images, for ffmpeg to decode and convert (a bench that
/// captures JPEG or WebP instead gets ffmpeg's BT.709 conversion).
fn encoder_input(
    plan: &LoadedPlan,
    mut settings: EncoderSettings,
    image: ImageSpec,
) -> (EncoderSettings, EncoderInput) {
    if settings.yuv != YuvConversion::Bt709InProcess {
        return (settings, EncoderInput::Images(image));
    }
    if image.format != ImageFormat::Png {
        settings.yuv = YuvConversion::Bt709;
        return (settings, EncoderInput::Images(image));
    }
    let size = yuv::Size {
        width: plan.plan.dimensions.width,
        height: plan.plan.dimensions.height,
    };
    (settings, EncoderInput::Yuv420(size))
}

/// Moves the finished chunk at `tmp` to `final_path` (a frame dir first gets
/// its `chunk.json`, the identity assemble checks), so the final name only
/// ever holds a whole chunk.
fn publish(
    plan: &LoadedPlan,
    slice: ChunkSlice,
    index: u32,
    tmp: &Path,
    final_path: &Path,
) -> Result<()> {
    if plan.format() == Format::PngSequence {
        let marker = json!({"planHash": plan.plan.plan_hash, "index": index,
            "startFrame": slice.start_frame, "endFrame": slice.end_frame});
        std::fs::write(tmp.join("chunk.json"), marker.to_string())
            .map_err(|e| ProducerError::io(tmp, e))?;
    }
    remove_path(final_path);
    std::fs::rename(tmp, final_path).map_err(|e| ProducerError::io(final_path, e))
}

pub(crate) fn remove_path(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}
