//! The local runner behind `cargo run --bin render`: plan, render the chunks on
//! a worker pool (one per core by default), assemble, with a progress bar.
//! It exercises exactly the three stages the Lambda handler calls, so a local
//! render is a faithful rehearsal of a distributed one.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::assets::AssetMap;
use crate::chunk::{render_chunk_with, ChunkOptions, ChunkOutcome};
use crate::config::{RenderConfig, MAX_PARALLEL_CHUNKS};
use crate::errors::{ProducerError, Result};
use crate::plan::{plan_with, PlanOptions, PlanOutcome};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub project_dir: PathBuf,
    pub out: PathBuf,
    pub config: RenderConfig,
    /// Parallel chunk workers (browser + ffmpeg each); 0 = one per core.
    pub workers: usize,
    /// Render the whole video as one chunk (the baseline for chunked output).
    pub single_pass: bool,
    pub progress: bool,
    pub asset_map: Option<AssetMap>,
    /// Keep the plan and chunk files (in a temp dir, printed) for inspection.
    pub keep_work: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub output: PathBuf,
    pub frames: u64,
    pub file_size: u64,
    pub chunks: u32,
    pub workers: usize,
    pub plan_hash: String,
    pub wall: Duration,
    pub plan_time: Duration,
    pub render_time: Duration,
    pub assemble_time: Duration,
    pub chunk_outcomes: Vec<ChunkOutcome>,
}

impl RunSummary {
    pub fn render(&self) -> String {
        let fps = self.frames as f64 / self.render_time.as_secs_f64().max(1e-9);
        format!(
            "wrote {}\n  frames     {}\n  size       {} bytes\n  chunks     {} on {} worker(s)\n  wall time  {:.2} s ({:.1} frames/s end to end)\n  plan       {:.2} s\n  render     {:.2} s ({:.1} frames/s)\n  assemble   {:.2} s\n  plan hash  {}",
            self.output.display(),
            self.frames,
            self.file_size,
            self.chunks,
            self.workers,
            self.wall.as_secs_f64(),
            self.frames as f64 / self.wall.as_secs_f64().max(1e-9),
            self.plan_time.as_secs_f64(),
            self.render_time.as_secs_f64(),
            fps,
            self.assemble_time.as_secs_f64(),
            self.plan_hash,
        )
    }
}

pub fn default_workers() -> usize {
    thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// `--workers 0` means one per core.
fn resolve_workers(requested: usize) -> usize {
    if requested == 0 {
        default_workers()
    } else {
        requested
    }
}

pub fn run(opts: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let mut config = opts.config.clone();
    if opts.single_pass {
        config.chunk_size = None;
        config.target_chunk_frames = None;
        config.max_parallel_chunks = Some(1);
    }
    let local_chunking = !opts.single_pass
        && config.chunk_size.is_none()
        && config.target_chunk_frames.is_none()
        && config.max_parallel_chunks.is_none();
    if local_chunking {
        // On one machine a chunk beyond one per worker buys no parallelism and
        // costs a browser start, a warmup and an encoder flush; the planner's
        // default (16 chunks) is for fanning out over Lambda.
        let chunks = resolve_workers(opts.workers).min(MAX_PARALLEL_CHUNKS as usize);
        config.max_parallel_chunks = Some(chunks as u32);
    }
    // Plan and chunks live in the system temp dir, never next to the
    // output: an output inside the project would otherwise be copied into
    // its own plan.
    let work = crate::staging::temp("hf-render-")?;
    let result = run_in(opts, &config, local_chunking, work.path(), started);
    if opts.keep_work {
        eprintln!("plan and chunks kept in {}", work.keep().display());
    }
    result
}

/// Longest local chunk, in seconds of video: a chunk is one closed GOP, so
/// this bounds the keyframe interval of a long local render.
pub const LOCAL_MAX_CHUNK_SECONDS: u64 = 10;

fn run_in(
    opts: &RunOptions,
    config: &RenderConfig,
    local_chunking: bool,
    work: &Path,
    started: Instant,
) -> Result<RunSummary> {
    let plan_dir = work.join("plan");
    let t_plan = Instant::now();
    let plan_options = PlanOptions {
        asset_map: opts.asset_map.clone(),
    };
    let mut planned: PlanOutcome = plan_with(&opts.project_dir, config, &plan_dir, &plan_options)?;
    let longest = planned.chunks.iter().map(|c| c.frames()).max().unwrap_or(0);
    let cap = LOCAL_MAX_CHUNK_SECONDS * u64::from(planned.fps);
    if local_chunking && longest > cap {
        // One chunk per worker would leave keyframes too far apart (the
        // frame count is only known once the composition is read): plan again
        // with enough chunks.
        let chunks = planned
            .total_frames
            .div_ceil(cap)
            .min(u64::from(MAX_PARALLEL_CHUNKS));
        let mut config = config.clone();
        config.max_parallel_chunks = Some(chunks as u32);
        let _ = std::fs::remove_dir_all(&plan_dir);
        planned = plan_with(&opts.project_dir, &config, &plan_dir, &plan_options)?;
    }
    let plan_time = t_plan.elapsed();

    let t_render = Instant::now();
    let workers = resolve_workers(opts.workers).clamp(1, planned.chunk_count as usize);
    let outcomes = render_all(&planned, &work.join("chunks"), workers, opts.progress)?;
    let render_time = t_render.elapsed();

    let t_asm = Instant::now();
    let paths: Vec<PathBuf> = outcomes.iter().map(|o| o.path.clone()).collect();
    let assembled = crate::assemble::assemble(&plan_dir, &paths, &opts.out)?;
    let assemble_time = t_asm.elapsed();
    Ok(RunSummary {
        output: assembled.output_path,
        frames: assembled.frames_encoded,
        file_size: assembled.file_size,
        chunks: planned.chunk_count,
        workers,
        plan_hash: planned.plan_hash,
        wall: started.elapsed(),
        plan_time,
        render_time,
        assemble_time,
        chunk_outcomes: outcomes,
    })
}

/// Renders every chunk of a plan with `workers` threads; the first failure
/// stops further chunks from starting and is returned.
pub fn render_all(
    plan: &PlanOutcome,
    out_dir: &Path,
    workers: usize,
    progress: bool,
) -> Result<Vec<ChunkOutcome>> {
    let n = plan.chunk_count as usize;
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let results: Arc<Mutex<Vec<Option<Result<ChunkOutcome>>>>> =
        Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let finished = Arc::new(AtomicBool::new(false));
    let bar = progress.then(|| {
        let done = done.clone();
        let finished = finished.clone();
        let total = plan.total_frames;
        thread::spawn(move || progress_loop(&done, &finished, total))
    });
    thread::scope(|s| {
        for _ in 0..workers {
            let next = next.clone();
            let failed = failed.clone();
            let results = results.clone();
            let done = done.clone();
            let plan_dir = plan.plan_dir.clone();
            s.spawn(move || loop {
                if failed.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let opts = ChunkOptions {
                    frames_done: Some(done.clone()),
                    // Several workers already keep the cores busy; a second
                    // capture page per worker would only oversubscribe them.
                    capture_pages: (workers > 1).then_some(1),
                    ..Default::default()
                };
                let r = render_chunk_with(&plan_dir, i as u32, out_dir, &opts);
                if r.is_err() {
                    failed.store(true, Ordering::SeqCst);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    finished.store(true, Ordering::SeqCst);
    if let Some(b) = bar {
        let _ = b.join();
    }
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    let mut out = Vec::with_capacity(n);
    let mut first_err = None;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(o)) => out.push(o),
            Some(Err(e)) => {
                if first_err.is_none() {
                    first_err = Some(e);
                }
            }
            None => {
                if first_err.is_none() {
                    first_err = Some(ProducerError::RenderFailed(format!(
                        "chunk {i} was not rendered"
                    )));
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn progress_loop(done: &AtomicU64, finished: &AtomicBool, total: u64) {
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut last_print = Instant::now() - Duration::from_secs(10);
    loop {
        let is_done = finished.load(Ordering::SeqCst);
        let d = done.load(Ordering::Relaxed).min(total);
        let every = if tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(2)
        };
        if is_done || last_print.elapsed() >= every {
            last_print = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            let fps = d as f64 / secs.max(1e-9);
            let eta = if d > 0 {
                (total - d) as f64 / fps
            } else {
                f64::NAN
            };
            let width = 30;
            let filled = (d as usize * width) / (total.max(1) as usize);
            let line = format!(
                "[{}{}] {d}/{total} frames  {fps:.1} fps  ETA {}",
                "#".repeat(filled),
                "-".repeat(width - filled),
                if eta.is_finite() {
                    format!("{eta:.1}s")
                } else {
                    "?".into()
                }
            );
            let mut err = std::io::stderr();
            if tty {
                let _ = write!(err, "\r{line}   ");
            } else {
                let _ = writeln!(err, "{line}");
            }
            let _ = err.flush();
        }
        if is_done {
            if tty {
                let _ = writeln!(std::io::stderr());
            }
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
}
