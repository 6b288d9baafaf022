//! Where captured frames go: an ffmpeg encoder fed through a pipe, a
//! directory of PNGs, or nowhere (the bench's capture-only rows).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::browser::ImageSpec;
use crate::errors::{ProducerError, Result};
use crate::{ffmpeg, process};

/// One frame's encoded image. Shared, because a frame that did not change is
/// the previous frame's bytes once more.
pub type FrameBytes = Arc<Vec<u8>>;

pub trait FrameSink {
    fn push(&mut self, frame: FrameBytes) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
    fn abort(&mut self);
}

pub struct NullSink;

impl FrameSink for NullSink {
    fn push(&mut self, _frame: FrameBytes) -> Result<()> {
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}

/// Frames as files renumbered 1-based within the chunk: png-sequence chunks,
/// and the bench's copies of captured frames.
pub struct FrameDirSink {
    dir: PathBuf,
    extension: &'static str,
    n: u64,
}

impl FrameDirSink {
    pub fn create(dir: &Path, extension: &'static str) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| ProducerError::io(dir, e))?;
        Ok(FrameDirSink {
            dir: dir.to_path_buf(),
            extension,
            n: 0,
        })
    }
}

impl FrameSink for FrameDirSink {
    fn push(&mut self, frame: FrameBytes) -> Result<()> {
        self.n += 1;
        let p = self
            .dir
            .join(format!("frame_{:06}.{}", self.n, self.extension));
        std::fs::write(&p, &*frame).map_err(|e| ProducerError::io(&p, e))
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
pub struct FfmpegSink {
    child: std::process::Child,
    tx: Option<std::sync::mpsc::SyncSender<FrameBytes>>,
    writer: Option<thread::JoinHandle<std::io::Result<()>>>,
    stderr: Option<thread::JoinHandle<String>>,
    deadline: Instant,
}

impl FfmpegSink {
    pub fn spawn(
        fps: u32,
        image: ImageSpec,
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
            .arg(image.ffmpeg_decoder())
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
        let (tx, rx) = sync_channel::<FrameBytes>(16);
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
    fn push(&mut self, frame: FrameBytes) -> Result<()> {
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
