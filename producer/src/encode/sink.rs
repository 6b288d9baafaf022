//! Where captured frames go: an ffmpeg encoder fed through a pipe, a
//! directory of PNGs, or nowhere (the bench's capture-only rows).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::capture::browser::ImageSpec;
use crate::errors::{ProducerError, Result};
use crate::{encode::ffmpeg, encode::yuv, process};

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
    crate::settings::current().encoder_nice
}

/// What the encoder reads from its pipe.
#[derive(Debug, Clone, Copy)]
pub enum EncoderInput {
    /// The captured images as they are; ffmpeg decodes them (`image2pipe`).
    Images(ImageSpec),
    /// yuv420p frames this process converts from lossless PNG captures
    /// ([`crate::encode::yuv`]) on the writer thread, beside capture and x264.
    Yuv420(yuv::Size),
}

impl EncoderInput {
    fn ffmpeg_args(self, fps: u32) -> Vec<String> {
        let mut a: Vec<String> = match self {
            EncoderInput::Images(image) => ["-f", "image2pipe", "-c:v", image.ffmpeg_decoder()]
                .map(String::from)
                .into(),
            EncoderInput::Yuv420(size) => vec![
                "-f".into(),
                "rawvideo".into(),
                "-pix_fmt".into(),
                "yuv420p".into(),
                "-video_size".into(),
                format!("{}x{}", size.width, size.height),
            ],
        };
        a.extend([
            "-framerate".into(),
            fps.to_string(),
            "-i".into(),
            "-".into(),
        ]);
        a
    }
}

/// Writes each frame to ffmpeg's stdin, converted first for
/// [`EncoderInput::Yuv420`]. A repeated frame (the same shared bytes as the
/// one before) reuses the previous conversion.
fn write_frames(
    rx: Receiver<FrameBytes>,
    mut stdin: impl Write,
    input: EncoderInput,
) -> std::io::Result<()> {
    let mut last: Option<FrameBytes> = None;
    let mut converted = Vec::new();
    for frame in rx {
        match input {
            EncoderInput::Images(_) => stdin.write_all(&frame)?,
            EncoderInput::Yuv420(size) => {
                if !last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &frame)) {
                    yuv::png_to_yuv420(&frame, size, &mut converted)
                        .map_err(std::io::Error::other)?;
                }
                stdin.write_all(&converted)?;
                last = Some(frame);
            }
        }
    }
    stdin.flush()
}

/// What a finished writer thread says went wrong, if anything: a frame
/// that would not convert (the frame's own error), a panic, or another
/// write error. `None` also when it was never joined.
fn writer_failure(joined: Option<thread::Result<std::io::Result<()>>>) -> Option<ProducerError> {
    match joined? {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(ProducerError::EncodeFailed(
            match e
                .get_ref()
                .and_then(|i| i.downcast_ref::<yuv::FrameError>())
            {
                Some(frame) => frame.to_string(),
                None => format!("writing frames to ffmpeg: {e}"),
            },
        )),
        Err(_) => Some(ProducerError::EncodeFailed(
            "the thread writing frames to ffmpeg panicked".into(),
        )),
    }
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
        input: EncoderInput,
        out_args: &[String],
        out: &Path,
        deadline: Instant,
    ) -> Result<Self> {
        let mut cmd = ffmpeg::command(ffmpeg::Talk::Piped);
        cmd.args(input.ffmpeg_args(fps))
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
        let stdin = child.stdin.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let (tx, rx) = sync_channel::<FrameBytes>(16);
        let writer = thread::spawn(move || write_frames(rx, stdin, input));
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

    /// Why the writer thread stopped taking frames: a frame that would not
    /// convert, the thread's panic, or ffmpeg's exit (then with the end of
    /// what ffmpeg printed).
    fn writer_error(&mut self) -> ProducerError {
        if let Some(e) = writer_failure(self.writer.take().map(|w| w.join())) {
            return e;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = process::wait_deadline(&mut self.child, deadline);
        let stderr = self.stderr.take().and_then(|h| h.join().ok());
        ProducerError::EncodeFailed(format!(
            "ffmpeg stopped reading frames (exit {}): {}",
            status.map_or("still running".into(), |s| s.to_string()),
            process::tail(stderr.as_deref().unwrap_or(""), 1500)
        ))
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
                Err(TrySendError::Disconnected(_)) => return Err(self.writer_error()),
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
            Some(_) => match writer_failure(write_result) {
                Some(e) => Err(e),
                None => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(rgb: [u8; 3], size: yuv::Size) -> Vec<u8> {
        let pixels: Vec<u8> = (0..size.width * size.height).flat_map(|_| rgb).collect();
        yuv::test_png(&pixels, size, png::ColorType::Rgb, png::BitDepth::Eight)
    }

    #[test]
    fn raw_frames_are_converted_once_and_repeated_frames_reuse_it() {
        let size = yuv::Size {
            width: 4,
            height: 2,
        };
        let (tx, rx) = sync_channel::<FrameBytes>(4);
        let red = Arc::new(png_of([255, 0, 0], size));
        tx.send(red.clone()).unwrap();
        tx.send(red).unwrap();
        tx.send(Arc::new(png_of([0, 0, 0], size))).unwrap();
        drop(tx);
        let mut out = Vec::new();
        write_frames(rx, &mut out, EncoderInput::Yuv420(size)).unwrap();
        let n = size.yuv420_len();
        assert_eq!(out.len(), 3 * n);
        assert_eq!(out[..n], out[n..2 * n]);
        // BT.709 limited: red is Y 63, Cb 102, Cr 240; black is Y 16.
        assert_eq!([out[0], out[8], out[10]], [63, 102, 240]);
        assert_eq!(out[2 * n], 16);
    }

    #[test]
    fn a_frame_that_is_no_png_stops_the_writer_with_a_reason() {
        let (tx, rx) = sync_channel::<FrameBytes>(1);
        tx.send(Arc::new(b"\xff\xd8 a jpeg".to_vec())).unwrap();
        drop(tx);
        let size = yuv::Size {
            width: 4,
            height: 2,
        };
        let joined =
            thread::spawn(move || write_frames(rx, std::io::sink(), EncoderInput::Yuv420(size)))
                .join();
        let e = writer_failure(Some(joined)).unwrap();
        assert!(
            e.to_string().contains("captured PNG frame: ")
                && !e.to_string().contains("writing frames"),
            "{e}"
        );
    }
}
