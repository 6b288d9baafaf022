//! The capture loop of a chunk: browser pages seek and capture frames, and
//! the frames reach the sink in order.
//!
//! A frame whose seek moved nothing that can alter the picture (see
//! [`crate::capture::session::Change`]) is not captured: the previous frame's bytes are
//! used again. Pixels are a function of the page state, so this changes no
//! output byte; it only saves the capture (readback, image encode and the
//! compositor work behind them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::capture::browser::ImageSpec;
use crate::capture::session::{with_session, BootTimes, Capture, Change, SessionSpec};
use crate::encode::sink::{FrameBytes, FrameSink};
use crate::errors::{ProducerError, Result};
use crate::plan::chunks::ChunkSlice;

/// How a chunk captures (the plan decides the image; the rest are knobs).
#[derive(Debug, Clone)]
pub struct CapturePlan {
    pub image: ImageSpec,
    /// Browser pages capturing interleaved frames.
    pub pages: usize,
    /// Reuse the previous frame's bytes when nothing on the page changed.
    pub reuse_unchanged: bool,
    pub deadline: Instant,
    /// Incremented once per frame delivered (progress bars).
    pub frames_done: Option<Arc<AtomicU64>>,
}

/// What capturing a chunk took.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureStats {
    /// Slowest page's browser launch + page readiness.
    pub boot_ms: u128,
    /// That page's browser launch (file server and browser process up).
    pub launch_ms: u128,
    /// That page's page readiness after launch (open, navigate, fonts and
    /// the composition ready).
    pub ready_ms: u128,
    /// When the first frame went into the sink (cold start to first frame,
    /// with the caller's own start instant).
    pub first_frame_at: Option<Instant>,
    /// Opening the encoder before the capture (set by the caller that
    /// opened it: it is on the way to the first frame).
    pub encoder_start_ms: u128,
    /// From the first browser launch to the last frame delivered.
    pub capture_ms: u128,
    /// Frames whose bytes were the previous frame's, not captured.
    pub reused_frames: u64,
}

/// One page's answer for one frame.
enum Shot {
    Image(FrameBytes),
    /// Same picture as the frame before (whichever page captured that one).
    Repeat,
}

/// Whether frames may be reused: on unless `HF_REUSE_FRAMES` turned it off
/// ([`crate::settings`]).
pub fn reuse_by_default() -> bool {
    crate::settings::current().reuse_frames
}

/// Browser pages capturing one chunk in parallel (interleaved frames). The
/// capture path inside one browser is serial, so a second page uses CPU the
/// first leaves idle; pixels do not depend on which page renders a frame.
/// Default: two pages for HD-or-larger chunks long enough to repay the
/// second browser's start-up, one otherwise.
pub fn default_capture_pages(pixels: u64, frames: u64) -> usize {
    if let Some(n) = crate::settings::current().capture_pages {
        return n;
    }
    if pixels >= 1280 * 720 && frames >= 30 {
        2
    } else {
        1
    }
}

fn shoot(cap: &mut Capture<'_>, frame: u64, plan: &CapturePlan) -> Result<Shot> {
    let change = cap.seek(frame)?;
    if plan.reuse_unchanged && change == Change::None {
        cap.page.skip();
        return Ok(Shot::Repeat);
    }
    Ok(Shot::Image(Arc::new(cap.page.capture(plan.image)?)))
}

/// Page `k` of `pages`: frames start+k, start+k+pages, ... until done or told to stop.
fn page_loop(
    spec: &SessionSpec,
    slice: ChunkSlice,
    k: usize,
    plan: &CapturePlan,
    stop: &AtomicBool,
    boot: &Mutex<BootTimes>,
    tx: SyncSender<(u64, Result<Shot>)>,
) {
    let r = with_session(spec, |cap, times| {
        let mut slowest = boot.lock().unwrap_or_else(|p| p.into_inner());
        if times.launch + times.ready > slowest.launch + slowest.ready {
            *slowest = times;
        }
        drop(slowest);
        let mut frame = slice.start_frame + k as u64;
        cap.warm_before(frame)?;
        while frame < slice.end_frame && !stop.load(Ordering::Relaxed) {
            if Instant::now() >= plan.deadline {
                return Err(ProducerError::Timeout(
                    "capture did not finish in time (set HF_CHUNK_MS_PER_FRAME to allow more)"
                        .into(),
                ));
            }
            let r = shoot(cap, frame, plan);
            let failed = r.is_err();
            if tx.send((frame, r)).is_err() || failed {
                return Ok(());
            }
            frame += plan.pages as u64;
        }
        Ok(())
    });
    if let Err(e) = r {
        let _ = tx.send((u64::MAX, Err(e)));
    }
}

/// Puts frames into the sink in frame order as pages deliver them.
struct Orderer<'s> {
    sink: &'s mut dyn FrameSink,
    pending: BTreeMap<u64, Shot>,
    next: u64,
    last: Option<FrameBytes>,
    reused: u64,
    frames_done: Option<Arc<AtomicU64>>,
    /// When the first frame went into the sink.
    first_at: Option<Instant>,
}

impl Orderer<'_> {
    fn accept(&mut self, frame: u64, shot: Shot) -> Result<()> {
        self.pending.insert(frame, shot);
        while let Some(shot) = self.pending.remove(&self.next) {
            let bytes = match shot {
                Shot::Image(b) => b,
                Shot::Repeat => {
                    self.reused += 1;
                    self.last.clone().ok_or_else(|| {
                        ProducerError::RenderFailed(format!(
                            "frame {} was reported unchanged but no frame precedes it",
                            self.next
                        ))
                    })?
                }
            };
            self.last = Some(bytes.clone());
            self.sink.push(bytes)?;
            self.first_at.get_or_insert_with(Instant::now);
            if let Some(c) = &self.frames_done {
                c.fetch_add(1, Ordering::Relaxed);
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Captures `slice` with `plan.pages` browsers and pushes frames into `sink` in order.
pub fn capture_frames(
    spec: &SessionSpec,
    slice: ChunkSlice,
    plan: &CapturePlan,
    sink: &mut dyn FrameSink,
) -> Result<CaptureStats> {
    let t_start = Instant::now();
    let stop = AtomicBool::new(false);
    let boot = Mutex::new(BootTimes::default());
    let (tx, rx) = sync_channel::<(u64, Result<Shot>)>(plan.pages * 4);
    std::thread::scope(|scope| {
        for k in 0..plan.pages {
            let tx = tx.clone();
            let (stop, boot) = (&stop, &boot);
            scope.spawn(move || page_loop(spec, slice, k, plan, stop, boot, tx));
        }
        drop(tx);
        let mut order = Orderer {
            sink,
            pending: BTreeMap::new(),
            next: slice.start_frame,
            last: None,
            reused: 0,
            frames_done: plan.frames_done.clone(),
            first_at: None,
        };
        let mut result = Ok(());
        for (frame, r) in rx.iter() {
            result = r.and_then(|shot| order.accept(frame, shot));
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        // Drain so no capture thread blocks on a full channel while we join.
        for _ in rx.iter() {}
        result?;
        if order.next != slice.end_frame {
            return Err(ProducerError::RenderFailed(format!(
                "capture ended at frame {} before the chunk's end {}",
                order.next, slice.end_frame
            )));
        }
        let boot = *boot.lock().unwrap_or_else(|p| p.into_inner());
        Ok(CaptureStats {
            boot_ms: (boot.launch + boot.ready).as_millis(),
            launch_ms: boot.launch.as_millis(),
            ready_ms: boot.ready.as_millis(),
            first_frame_at: order.first_at,
            encoder_start_ms: 0,
            capture_ms: t_start.elapsed().as_millis(),
            reused_frames: order.reused,
        })
    })
}
