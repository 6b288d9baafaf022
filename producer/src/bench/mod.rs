//! The benchmarks behind `hyperframes bench render`. Speed lives here rather than in
//! tests (tests assert behaviour only):
//!
//! - [`throughput`]: capture and capture + encode fps and CPU per frame;
//! - [`alternatives`]: capture paths measured against today's (CPU, speed,
//!   and whether the pixels stay the same);
//! - [`hold`]: the speed-up from reusing frames that do not change;
//! - the peer table (`hyperframes_render::peer`, with render-bench: it runs
//!   bash and node) builds on [`quality`], [`cgroup`] and [`local_render`].
//!
//! CPU comes from a cgroup ([`cgroup::CpuMeter`]), so work elsewhere on the
//! machine does not count; it still slows wall times, which is why the peer
//! comparison interleaves its runs and every table prints the load average.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod alternatives;
pub mod cgroup;
pub mod hold;
pub mod quality;
pub mod throughput;

use crate::chunk::{render_chunk_with, ChunkOptions, ChunkOutcome};
use crate::config::{Format, Preset, RenderConfig};
use crate::errors::{ProducerError, Result};
use crate::plan::assets::AssetMap;
use crate::plan::{plan_with, PlanOptions, PlanOutcome};
use cgroup::CpuMeter;

/// The 1-minute load average, printed with the table because the machine may be shared.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Wall and CPU time of one measured piece of work.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub wall: Duration,
    pub cpu: Duration,
}

impl Measured {
    /// Runs `f`, timing it on the wall clock and on `meter`.
    pub fn time<T>(meter: &CpuMeter, f: impl FnOnce() -> Result<T>) -> Result<(T, Measured)> {
        let (t0, c0) = (Instant::now(), meter.used());
        let out = f()?;
        Ok((
            out,
            Measured {
                wall: t0.elapsed(),
                cpu: meter.used().saturating_sub(c0),
            },
        ))
    }

    pub fn cpu_ms_per_frame(&self, frames: u64) -> f64 {
        self.cpu.as_secs_f64() * 1000.0 / frames.max(1) as f64
    }

    pub fn fps(&self, frames: u64) -> f64 {
        frames as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// The median wall time of repeated runs, in seconds.
    pub fn median_wall_s(runs: &[Measured]) -> f64 {
        median(runs.iter().map(|m| m.wall.as_secs_f64()).collect())
    }

    /// The median CPU per frame of repeated runs of `frames` frames.
    pub fn median_cpu_ms_per_frame(runs: &[Measured], frames: u64) -> f64 {
        median(runs.iter().map(|m| m.cpu_ms_per_frame(frames)).collect())
    }
}

/// Copies a single-file composition scaled to `width`x`height` with CSS zoom
/// (the layout stays identical), `edit` applied to its HTML.
pub fn scaled_copy(
    fixture: &Path,
    dest: &Path,
    (width, height): (u32, u32),
    edit: impl FnOnce(String) -> Result<String>,
) -> Result<PathBuf> {
    let src = fixture.join("index.html");
    let html = std::fs::read_to_string(&src).map_err(|e| ProducerError::io(&src, e))?;
    let (w0, h0) = (attr(&html, "data-width"), attr(&html, "data-height"));
    let (Some(w0), Some(h0)) = (w0, h0) else {
        return Err(ProducerError::composition(
            &src,
            "the bench needs data-width and data-height on the root element",
        ));
    };
    let zoom = f64::from(width) / f64::from(w0);
    let html = html
        .replacen(
            &format!("data-width=\"{w0}\""),
            &format!("data-width=\"{width}\""),
            1,
        )
        .replacen(
            &format!("data-height=\"{h0}\""),
            &format!("data-height=\"{height}\""),
            1,
        )
        .replacen(
            "</head>",
            &format!("<style>html{{zoom:{zoom}}}</style></head>"),
            1,
        );
    if (f64::from(h0) * zoom).round() as u32 != height {
        return Err(ProducerError::composition(
            &src,
            format!("{width}x{height} is not {w0}x{h0} scaled"),
        ));
    }
    let html = edit(html)?;
    std::fs::create_dir_all(dest).map_err(|e| ProducerError::io(dest, e))?;
    let out = dest.join("index.html");
    std::fs::write(&out, html).map_err(|e| ProducerError::io(&out, e))?;
    Ok(dest.to_path_buf())
}

fn attr(html: &str, name: &str) -> Option<u32> {
    let rest = &html[html.find(&format!("{name}=\""))? + name.len() + 2..];
    rest[..rest.find('"')?].parse().ok()
}

/// Writes a copy of the `mp4-h264-sdr` fixture scaled to `width`x`height`
/// and `seconds` long, with the icon rotating throughout so every frame
/// differs.
pub fn prepare_project(
    fixture: &Path,
    dest: &Path,
    width: u32,
    height: u32,
    seconds: u32,
) -> Result<PathBuf> {
    let src = fixture.join("index.html");
    scaled_copy(fixture, dest, (width, height), |html| {
        // Stretch the existing rotation tween (a second tween on the same
        // property would make frames depend on seek history).
        let html = html
            .replace(
                "data-duration=\"2\"",
                &format!("data-duration=\"{seconds}\""),
            )
            .replace(
                "tl.to(icon, { rotation: 360, duration: 2, ease: \"none\" }, 0);",
                &format!(
                    "tl.to(icon, {{ rotation: {}, duration: {seconds}, ease: \"none\" }}, 0);",
                    180 * seconds
                ),
            );
        if !html.contains(&format!("rotation: {}, duration: {seconds}", 180 * seconds)) {
            return Err(ProducerError::composition(
                &src,
                "bench expects the mp4-h264-sdr fixture (its icon rotation tween was not found)",
            ));
        }
        Ok(html)
    })
}

/// One end-to-end local render of `project` at its own size, as `render`
/// runs it by default (plan, one chunk per worker, assemble), timed from
/// plan to the assembled file.
pub fn local_render(
    project: &Path,
    out: &Path,
    format: Format,
    preset: Option<Preset>,
    asset_map: Option<AssetMap>,
) -> Result<crate::runner::RunSummary> {
    let mut config = RenderConfig::new(30, format);
    config.preset = preset;
    crate::runner::run(&crate::runner::RunOptions {
        project_dir: project.to_path_buf(),
        out: out.to_path_buf(),
        config,
        workers: 0,
        single_pass: false,
        on_progress: None,
        asset_map,
        keep_work: None,
    })
}

/// Plans `project` into `plan_dir`, replacing whatever was there.
pub fn plan_fresh(
    project: &Path,
    config: &RenderConfig,
    plan_dir: &Path,
    asset_map: Option<AssetMap>,
) -> Result<PlanOutcome> {
    let _ = std::fs::remove_dir_all(plan_dir);
    let options = PlanOptions {
        asset_map,
        distributed: false,
    };
    plan_with(project, config, plan_dir, &options)
}

/// Renders every chunk of a plan one after the other: one worker with the
/// machine to itself.
pub fn render_chunks(
    plan: &PlanOutcome,
    out_dir: &Path,
    opts: &ChunkOptions,
) -> Result<Vec<ChunkOutcome>> {
    let opts = ChunkOptions {
        trust_plan_hash: true,
        ..opts.clone()
    };
    (0..plan.chunk_count)
        .map(|i| render_chunk_with(&plan.plan_dir, i, out_dir, &opts))
        .collect()
}

/// The median of a non-empty list.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
