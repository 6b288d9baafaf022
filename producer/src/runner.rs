//! The local runner behind `hyperframes render`: plan, render the chunks on
//! a worker pool (one per core by default), assemble, reporting progress
//! through a callback (the program draws it). It exercises exactly the three
//! stages the Lambda handler calls, so a local render is a faithful
//! rehearsal of a distributed one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::chunk::{render_chunk_with, ChunkOptions, ChunkOutcome};
use crate::config::{RenderConfig, MAX_PARALLEL_CHUNKS};
use crate::errors::{ProducerError, Result};
use crate::plan::assets::AssetMap;
use crate::plan::{plan_with, PlanOptions, PlanOutcome};

/// Where a local render is, reported to [`RunOptions::on_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The plan is written: this many frames in this many chunks.
    Planned { frames: u64, chunks: u32 },
    /// Frames captured so far, all chunks together.
    Frames { done: u64, total: u64 },
    /// Every chunk is rendered; they are being joined.
    Assembling,
}

/// Receives [`Progress`] from the render's threads. The library draws
/// nothing itself, so a program can show a bar, log lines or JSON.
#[derive(Clone)]
pub struct ProgressSink(Arc<dyn Fn(Progress) + Send + Sync>);

impl ProgressSink {
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        ProgressSink(Arc::new(f))
    }

    fn report(&self, p: Progress) {
        (self.0)(p)
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// How often frame counts are reported while chunks render.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub project_dir: PathBuf,
    pub out: PathBuf,
    pub config: RenderConfig,
    /// Parallel chunk workers (browser + ffmpeg each); 0 = one per core.
    pub workers: usize,
    /// Render the whole video as one chunk (the baseline for chunked output).
    pub single_pass: bool,
    /// Told where the render is; `None` for a quiet render.
    pub on_progress: Option<ProgressSink>,
    pub asset_map: Option<AssetMap>,
    /// Plan the template once: see [`PlanOptions::template_cache`].
    pub template_cache: Option<crate::plan::template::TemplateCache>,
    /// Where to keep the plan and chunk files for inspection (the caller
    /// says where, and tells the user); `None`: a temporary directory,
    /// removed afterwards.
    pub keep_work: Option<PathBuf>,
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
    /// The plan's variable warnings (see [`PlanOutcome::variable_problems`]).
    pub variable_problems: Vec<crate::variables::Problem>,
    /// What the (last) plan took from the template cache.
    pub template: crate::plan::template::TemplateReuse,
    /// Text drawn with a host font (see [`PlanOutcome::host_fonts`]).
    pub host_fonts: Vec<crate::plan::fonts::HostFallback>,
    /// The composition's length and where it came from.
    pub duration: f64,
    pub duration_from: crate::plan::timing::DurationFrom,
    /// The plan's warnings (see [`PlanOutcome::warnings`]).
    pub warnings: Vec<String>,
}

impl RunSummary {
    pub fn render(&self) -> String {
        let fps = self.frames as f64 / self.render_time.as_secs_f64().max(1e-9);
        format!(
            "wrote {}\n  frames     {}\n  size       {} bytes\n  chunks     {} on {} worker(s)\n  wall time  {:.2} s ({:.1} frames/s end to end)\n  plan       {:.2} s\n  render     {:.2} s ({:.1} frames/s)\n  assemble   {:.2} s\n  plan hash  {}\n  template   {}\n  duration   {:.3} s, from {}",
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
            self.template.describe(),
            self.duration,
            self.duration_from,
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
    match &opts.keep_work {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| ProducerError::io(dir, e))?;
            run_in(opts, &config, local_chunking, dir, started)
        }
        None => {
            let work = crate::staging::temp("hf-render-")?;
            run_in(opts, &config, local_chunking, work.path(), started)
        }
    }
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
        template_cache: opts.template_cache.clone(),
        distributed: false,
    };
    let mut planned: PlanOutcome = plan_with(&opts.project_dir, config, &plan_dir, &plan_options)?;
    let longest = planned.chunks.iter().map(|c| c.frames()).max().unwrap_or(0);
    let cap = LOCAL_MAX_CHUNK_SECONDS * u64::from(planned.fps);
    if local_chunking && longest > cap {
        // One chunk per worker would leave keyframes too far apart (the
        // frame count is only known once the composition is read): plan again
        // with enough chunks, a whole number per worker so that no worker
        // renders a last chunk alone (a 30 s 1080p render on 2 workers took
        // 44-45 s in 3 chunks, 40 s in 4, at the same CPU time).
        let workers = resolve_workers(opts.workers) as u64;
        let chunks = planned
            .total_frames
            .div_ceil(cap)
            .div_ceil(workers)
            .saturating_mul(workers)
            .min(u64::from(MAX_PARALLEL_CHUNKS));
        let mut config = config.clone();
        config.max_parallel_chunks = Some(chunks as u32);
        let _ = std::fs::remove_dir_all(&plan_dir);
        planned = plan_with(&opts.project_dir, &config, &plan_dir, &plan_options)?;
    }
    let plan_time = t_plan.elapsed();
    let report = |p| {
        if let Some(sink) = &opts.on_progress {
            sink.report(p)
        }
    };
    report(Progress::Planned {
        frames: planned.total_frames,
        chunks: planned.chunk_count,
    });

    let t_render = Instant::now();
    let workers = resolve_workers(opts.workers).clamp(1, planned.chunk_count as usize);
    let outcomes = render_all(
        &planned,
        &work.join("chunks"),
        workers,
        opts.on_progress.as_ref(),
    )?;
    let render_time = t_render.elapsed();

    report(Progress::Assembling);
    let t_asm = Instant::now();
    let paths: Vec<PathBuf> = outcomes.iter().map(|o| o.path.clone()).collect();
    // Chunks this runner rendered from this plan, in its own temp dir.
    let assembled = crate::assemble::assemble_rendered_here(&plan_dir, &paths, &opts.out)?;
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
        variable_problems: planned.variable_problems,
        template: planned.template,
        host_fonts: planned.host_fonts,
        duration: planned.duration,
        duration_from: planned.duration_from,
        warnings: planned.warnings,
    })
}

/// Renders every chunk of a plan on a pool of `workers` threads (rayon);
/// after a failure no further chunk starts, and an error is returned.
pub fn render_all(
    plan: &PlanOutcome,
    out_dir: &Path,
    workers: usize,
    on_progress: Option<&ProgressSink>,
) -> Result<Vec<ChunkOutcome>> {
    let n = plan.chunk_count as usize;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers.max(1))
        .thread_name(|i| format!("hf-chunk-{i}"))
        .build()
        .map_err(|e| ProducerError::RenderFailed(format!("cannot start the chunk workers: {e}")))?;
    let done = Arc::new(AtomicU64::new(0));
    let finished = AtomicBool::new(false);
    let opts = ChunkOptions {
        frames_done: Some(done.clone()),
        // Several workers already keep the cores busy; a second capture
        // page per worker would only oversubscribe them.
        capture_pages: (workers > 1).then_some(1),
        ..Default::default()
    };
    thread::scope(|s| {
        if let Some(sink) = on_progress {
            let (done, finished) = (&done, &finished);
            s.spawn(move || report_frames(sink, done, finished, plan.total_frames));
        }
        let rendered = pool.install(|| {
            (0..n)
                .into_par_iter()
                .with_max_len(1)
                .map(|i| render_chunk_with(&plan.plan_dir, i as u32, out_dir, &opts))
                .collect::<Result<Vec<_>>>()
        });
        finished.store(true, Ordering::SeqCst);
        rendered
    })
}

/// Reports the shared frame counter whenever it moved, and once more at
/// the end, until the chunks are done.
fn report_frames(sink: &ProgressSink, done: &AtomicU64, finished: &AtomicBool, total: u64) {
    let mut last = None;
    loop {
        let is_done = finished.load(Ordering::SeqCst);
        let d = done.load(Ordering::Relaxed).min(total);
        if last != Some(d) {
            sink.report(Progress::Frames { done: d, total });
            last = Some(d);
        }
        if is_done {
            return;
        }
        thread::sleep(PROGRESS_INTERVAL);
    }
}
