//! `render_chunk()`: captures one slice of frames and encodes it into a closed-GOP
//! chunk (or a directory of PNGs). Output is written to a temp path and renamed,
//! so a failed or killed worker never leaves a file that looks finished.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::browser::{CaptureMode, ImageFormat};
use crate::config::Format;
use crate::digest::{self, sha256_hex};
use crate::errors::{ProducerError, Result};
use crate::ffmpeg;
use crate::plan::{LoadedPlan, PRODUCER_VERSION};
use crate::session::{with_session, SessionSpec};
use crate::{process, staging};

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
    pub capture_ms: u128,
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
    /// Page readiness budget (tests use a short one for broken compositions).
    pub ready_timeout: Option<Duration>,
    /// Parallel capture pages for this chunk (None = HF_CAPTURE_PAGES or 1).
    pub capture_pages: Option<usize>,
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
    if !plan_dir.join("compiled/index.html").is_file() {
        return Err(ProducerError::MissingPlanArtifact(format!(
            "{}/compiled/index.html is missing",
            plan_dir.display()
        )));
    }
    plan.verify_ffmpeg()?;
    if plan.encoder["browserGpuMode"] != "software" {
        return Err(ProducerError::BrowserGpuNotSoftware(format!(
            "plan asks for browserGpuMode {}; distributed chunks only render with software GL",
            plan.encoder["browserGpuMode"]
        )));
    }
    let t_hash = Instant::now();
    if !opts.trust_plan_hash {
        plan.verify_hash()?;
    }
    let plan_hash_ms = t_hash.elapsed().as_millis();
    std::fs::create_dir_all(out_dir).map_err(|e| ProducerError::io(out_dir, e))?;

    let format = plan.format();
    let planned_mode = if plan.encoder["captureMode"] == "screenshot" {
        CaptureMode::Screenshot
    } else {
        CaptureMode::BeginFrame
    };
    let mode = opts.force_mode.unwrap_or(planned_mode);
    let first = capture_and_encode(&plan, slice, index, out_dir, mode, opts);
    let (out, mode, timing) = match first {
        // A BeginFrame-specific failure gets one whole-chunk retry in screenshot mode.
        Err(ProducerError::RenderFailed(m))
            if mode == CaptureMode::BeginFrame && m.contains("beginFrame") =>
        {
            let r =
                capture_and_encode(&plan, slice, index, out_dir, CaptureMode::Screenshot, opts)?;
            (r.0, CaptureMode::Screenshot, r.1)
        }
        other => {
            let r = other?;
            (r.0, mode, r.1)
        }
    };
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
        session_boot_ms: timing.0,
        capture_ms: timing.1,
    })
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
    let per_frame = std::env::var("HF_CHUNK_MS_PER_FRAME")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000u64);
    Duration::from_secs(120) + Duration::from_millis(per_frame * frames)
}

type Timing = (u128, u128);

/// Browser pages capturing one chunk in parallel (interleaved frames). The
/// capture path inside one browser is serial, so a second page uses CPU the
/// first leaves idle; pixels do not depend on which page renders a frame.
/// Default: two pages for HD-or-larger chunks long enough to repay the
/// second browser's start-up, one otherwise.
fn default_capture_pages(pixels: u64, frames: u64) -> usize {
    if let Some(n) = std::env::var("HF_CAPTURE_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if pixels >= 1280 * 720 && frames >= 30 {
        2
    } else {
        1
    }
}

/// Captures `slice` with `pages` browsers (page k takes frames start+k, start+k+pages, ...)
/// and pushes frames into `sink` in order.
fn capture_frames(
    spec: &SessionSpec,
    slice: crate::chunks::ChunkSlice,
    pages: usize,
    image: ImageFormat,
    deadline: Instant,
    opts: &ChunkOptions,
    sink: &mut dyn FrameSink,
) -> Result<Timing> {
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;
    let t_start = Instant::now();
    let stop = AtomicBool::new(false);
    let boot_ms = AtomicU64::new(0);
    let (tx, rx) = sync_channel::<(u64, Result<Vec<u8>>)>(pages * 4);
    std::thread::scope(|scope| {
        for k in 0..pages {
            let tx = tx.clone();
            let stop = &stop;
            let boot_ms = &boot_ms;
            scope.spawn(move || {
                let r = with_session(spec, |cap, boot| {
                    boot_ms.fetch_max(
                        (boot.launch + boot.ready).as_millis() as u64,
                        Ordering::Relaxed,
                    );
                    let mut frame = slice.start_frame + k as u64;
                    while frame < slice.end_frame {
                        if stop.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        if Instant::now() >= deadline {
                            return Err(ProducerError::Timeout(
                                "capture did not finish in time (set HF_CHUNK_MS_PER_FRAME to allow more)".into(),
                            ));
                        }
                        let r = cap.frame(frame, image);
                        let failed = r.is_err();
                        if tx.send((frame, r)).is_err() || failed {
                            return Ok(());
                        }
                        frame += pages as u64;
                    }
                    Ok(())
                });
                if let Err(e) = r {
                    let _ = tx.send((u64::MAX, Err(e)));
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut next = slice.start_frame;
        let mut result = Ok(());
        for (frame, r) in rx.iter() {
            match r {
                Ok(bytes) => {
                    pending.insert(frame, bytes);
                    while let Some(bytes) = pending.remove(&next) {
                        if let Err(e) = sink.push(bytes) {
                            result = Err(e);
                            break;
                        }
                        if let Some(c) = &opts.frames_done {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                        next += 1;
                    }
                }
                Err(e) => result = Err(e),
            }
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        // Drain so no capture thread blocks on a full channel while we join.
        for _ in rx.iter() {}
        result?;
        if next != slice.end_frame {
            return Err(ProducerError::RenderFailed(format!(
                "capture ended at frame {next} before the chunk's end {}",
                slice.end_frame
            )));
        }
        Ok((
            u128::from(boot_ms.load(Ordering::Relaxed)),
            t_start.elapsed().as_millis(),
        ))
    })
}

fn capture_and_encode(
    plan: &LoadedPlan,
    slice: crate::chunks::ChunkSlice,
    index: u32,
    out_dir: &Path,
    mode: CaptureMode,
    opts: &ChunkOptions,
) -> Result<(PathBuf, Timing)> {
    let format = plan.format();
    let settings = plan.settings();
    let final_path = out_dir.join(chunk_file_name(index, format));
    let staging = staging::beside(&final_path, "tmp")?;
    let tmp = staging.path().join("chunk");
    let image = if settings.capture_png() {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    let comp: serde_json::Value = std::fs::read(plan.dir.join("meta/composition.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let spec = SessionSpec {
        site_root: plan.dir.join("compiled"),
        entry: "index.html".into(),
        composition_id: plan.plan.composition_id.clone(),
        no_timeline: plan.plan.no_timeline || comp["noTimeline"] == true,
        width: plan.plan.dimensions.width,
        height: plan.plan.dimensions.height,
        fps: plan.fps(),
        mode,
        transparent: format.has_alpha(),
        ready_timeout: opts.ready_timeout,
        variables: plan.encoder.get("variables").cloned(),
    };
    let deadline = Instant::now() + chunk_deadline(slice.frames());
    let fps = plan.fps();
    let metadata = vec![
        ("hyperframes_renderer", "hyperframes".to_string()),
        ("hyperframes_version", PRODUCER_VERSION.to_string()),
        ("hyperframes_plan_hash", plan.plan.plan_hash.clone()),
        ("hyperframes_chunk_index", index.to_string()),
        ("hyperframes_start_frame", slice.start_frame.to_string()),
    ];

    let pixels = u64::from(spec.width) * u64::from(spec.height);
    let pages = opts
        .capture_pages
        .unwrap_or_else(|| default_capture_pages(pixels, slice.frames()))
        .clamp(1, slice.frames().min(8) as usize);
    let result = (|| -> Result<Timing> {
        let mut sink: Box<dyn FrameSink> = if opts.capture_only {
            Box::new(NullSink)
        } else if format == Format::PngSequence {
            Box::new(PngDirSink::create(&tmp)?)
        } else {
            let mut args = settings.output_args(fps, slice.frames(), &metadata);
            args.extend(["-f".into(), format.muxer().into(), "-y".into()]);
            Box::new(FfmpegSink::spawn(fps, image, &args, &tmp, deadline)?)
        };
        let r = capture_frames(&spec, slice, pages, image, deadline, opts, sink.as_mut());
        match r {
            Ok(t) => {
                sink.finish()?;
                Ok(t)
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
    let timing = match result {
        Ok(t) => t,
        Err(e) => {
            remove_path(&tmp);
            return Err(e);
        }
    };
    if opts.capture_only {
        return Ok((final_path, timing));
    }
    if format == Format::PngSequence {
        let marker = json!({"planHash": plan.plan.plan_hash, "index": index,
            "startFrame": slice.start_frame, "endFrame": slice.end_frame});
        std::fs::write(tmp.join("chunk.json"), marker.to_string())
            .map_err(|e| ProducerError::io(&tmp, e))?;
    }
    remove_path(&final_path);
    std::fs::rename(&tmp, &final_path).map_err(|e| ProducerError::io(&final_path, e))?;
    Ok((final_path, timing))
}

pub(crate) fn remove_path(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}

trait FrameSink {
    fn push(&mut self, frame: Vec<u8>) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
    fn abort(&mut self);
}

struct NullSink;

impl FrameSink for NullSink {
    fn push(&mut self, _frame: Vec<u8>) -> Result<()> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}

/// png-sequence chunks: frames renumbered 1-based within the chunk.
struct PngDirSink {
    dir: PathBuf,
    n: u64,
}

impl PngDirSink {
    fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| ProducerError::io(dir, e))?;
        Ok(PngDirSink {
            dir: dir.to_path_buf(),
            n: 0,
        })
    }
}

impl FrameSink for PngDirSink {
    fn push(&mut self, frame: Vec<u8>) -> Result<()> {
        self.n += 1;
        let p = self.dir.join(format!("frame_{:06}.png", self.n));
        std::fs::write(&p, frame).map_err(|e| ProducerError::io(&p, e))
    }
    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}

/// The encoder runs at a lower CPU priority: the browser's capture path is the
/// serial bottleneck, and ffmpeg's many threads preempting it slow both down.
/// Priority never changes the encoded bytes.
fn encoder_niceness() -> i32 {
    std::env::var("HF_ENCODER_NICE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// Streams encoded frames into an ffmpeg process through a bounded queue, so
/// capture (browser) and encode (ffmpeg) run concurrently.
struct FfmpegSink {
    child: std::process::Child,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    writer: Option<thread::JoinHandle<std::io::Result<()>>>,
    stderr: Option<thread::JoinHandle<String>>,
    deadline: Instant,
}

impl FfmpegSink {
    fn spawn(
        fps: u32,
        image: ImageFormat,
        out_args: &[String],
        out: &Path,
        deadline: Instant,
    ) -> Result<Self> {
        let mut cmd = Command::new(ffmpeg::ffmpeg_bin());
        // No input probing: codec and rate are given, and by default ffmpeg
        // buffers up to 5 s of frames (150 at 30 fps, a whole chunk) before
        // it decodes the first one, which serializes capture and encode. The
        // encoded bytes are the same either way.
        cmd.args(["-v", "error", "-probesize", "32", "-analyzeduration", "0"])
            .args(["-f", "image2pipe", "-c:v"])
            .arg(match image {
                ImageFormat::Jpeg => "mjpeg",
                ImageFormat::Png => "png",
            })
            .args(["-framerate", &fps.to_string(), "-i", "-"])
            .args(out_args)
            .arg(out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        process::own_group(&mut cmd);
        let niceness = encoder_niceness();
        if niceness != 0 {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure only makes the setpriority syscall, which is
            // async-signal-safe, between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    libc::setpriority(libc::PRIO_PROCESS, 0, niceness);
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| process::spawn_error(&ffmpeg::ffmpeg_bin(), e))?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let (tx, rx) = sync_channel::<Vec<u8>>(16);
        let writer = thread::spawn(move || -> std::io::Result<()> {
            for frame in rx {
                stdin.write_all(&frame)?;
            }
            stdin.flush()
        });
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(FfmpegSink {
            child,
            tx: Some(tx),
            writer: Some(writer),
            stderr: Some(stderr),
            deadline,
        })
    }
}

impl FrameSink for FfmpegSink {
    fn push(&mut self, frame: Vec<u8>) -> Result<()> {
        use std::sync::mpsc::TrySendError;
        let tx = self.tx.as_ref().expect("open until finish");
        let mut frame = frame;
        // Bounded wait: an ffmpeg that stops reading without exiting must not
        // hang the worker past its deadline.
        loop {
            match tx.try_send(frame) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => {
                    return Err(ProducerError::EncodeFailed(
                        "ffmpeg stopped reading frames".into(),
                    ))
                }
                Err(TrySendError::Full(f)) => {
                    if Instant::now() >= self.deadline {
                        return Err(ProducerError::Timeout(
                            "ffmpeg stopped accepting frames before the chunk deadline".into(),
                        ));
                    }
                    frame = f;
                    thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        drop(self.tx.take());
        let write_result = self.writer.take().map(|w| w.join());
        let status = process::wait_deadline(&mut self.child, self.deadline);
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        match status {
            None => Err(ProducerError::Timeout(
                "ffmpeg did not finish encoding the chunk in time".into(),
            )),
            Some(s) if !s.success() => Err(ProducerError::EncodeFailed(format!(
                "ffmpeg exited with {s}: {}",
                process::tail(&stderr, 1500)
            ))),
            Some(_) => match write_result {
                Some(Ok(Err(e))) => Err(ProducerError::EncodeFailed(format!(
                    "writing frames to ffmpeg: {e}"
                ))),
                _ => Ok(()),
            },
        }
    }

    fn abort(&mut self) {
        drop(self.tx.take());
        process::kill_group(&mut self.child);
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

impl Drop for FfmpegSink {
    fn drop(&mut self) {
        if self.tx.is_some() || self.writer.is_some() {
            self.abort();
        }
    }
}
