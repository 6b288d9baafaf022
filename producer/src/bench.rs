//! Throughput benchmark behind `render-bench`: frames per second per worker for
//! capture alone and capture + encode, chunked and single pass, at 640x360 and
//! 1920x1080, on the `mp4-h264-sdr` fixture stretched to a longer duration.
//! Speed lives here rather than in tests (tests assert behaviour only).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::assets::AssetMap;
use crate::chunk::{render_chunk_with, ChunkOptions};
use crate::config::{Format, Preset, RenderConfig};
use crate::errors::{ProducerError, Result};
use crate::plan::{plan_with, PlanOptions};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The `mp4-h264-sdr` fixture directory.
    pub fixture: PathBuf,
    pub work: PathBuf,
    pub seconds: u32,
    pub chunk_size: u32,
    pub resolutions: Vec<(u32, u32)>,
    /// One capture+encode row per preset (mp4 h264).
    pub presets: Vec<Preset>,
    pub asset_map: Option<AssetMap>,
}

#[derive(Debug, Clone)]
pub struct BenchRow {
    pub resolution: String,
    pub stage: String,
    pub chunking: String,
    pub frames: u64,
    pub wall_s: f64,
    pub boot_s: f64,
    /// Busy CPU seconds of the machine during the row (browsers, ffmpeg and
    /// this process): what a frame costs, whatever the core count.
    pub cpu_s: f64,
}

/// Busy CPU seconds of the whole machine (every state of `/proc/stat`'s
/// `cpu` line but idle and iowait). Machine-wide on purpose: the browser's
/// renderer and GPU processes are grandchildren that are killed rather than
/// reaped, so `getrusage(RUSAGE_CHILDREN)` misses most of the capture cost.
/// Accurate when nothing else runs; the load average printed with the table
/// says whether that held.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    busy as f64 / hz
}

/// The 1-minute load average, printed with the table because the machine may be shared.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl BenchRow {
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.wall_s.max(1e-9)
    }
}

/// Writes a copy of the fixture scaled to `width`x`height` (CSS zoom, so the
/// layout is identical) and `seconds` long, with the icon rotating throughout
/// so every frame differs.
pub fn prepare_project(
    fixture: &Path,
    dest: &Path,
    width: u32,
    height: u32,
    seconds: u32,
) -> Result<PathBuf> {
    let src = fixture.join("index.html");
    let html = std::fs::read_to_string(&src).map_err(|e| ProducerError::io(&src, e))?;
    let zoom = f64::from(width) / 640.0;
    let html = html
        .replace("data-width=\"640\"", &format!("data-width=\"{width}\""))
        .replace("data-height=\"360\"", &format!("data-height=\"{height}\""))
        .replace(
            "data-duration=\"2\"",
            &format!("data-duration=\"{seconds}\""),
        )
        .replace(
            "</head>",
            &format!("<style>html{{zoom:{zoom}}}</style></head>"),
        )
        // Stretch the existing rotation tween (a second tween on the same
        // property would make frames depend on seek history).
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
    std::fs::create_dir_all(dest).map_err(|e| ProducerError::io(dest, e))?;
    let out = dest.join("index.html");
    std::fs::write(&out, html).map_err(|e| ProducerError::io(&out, e))?;
    Ok(dest.to_path_buf())
}

pub fn run(opts: &BenchOptions) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &(w, h) in &opts.resolutions {
        let project = prepare_project(
            &opts.fixture,
            &opts.work.join(format!("project-{w}x{h}")),
            w,
            h,
            opts.seconds,
        )?;
        for (chunking, chunk_size) in [
            (
                format!("chunked ({} frames)", opts.chunk_size),
                Some(opts.chunk_size),
            ),
            ("single pass".to_string(), None),
        ] {
            let mut config = RenderConfig::new(30, w, h, Format::Mp4);
            config.chunk_size = chunk_size;
            if chunk_size.is_none() {
                config.max_parallel_chunks = Some(1);
            }
            let mut stages: Vec<(String, Option<Preset>)> = vec![("capture".into(), None)];
            stages.extend(
                opts.presets
                    .iter()
                    .map(|p| (format!("capture+encode ({})", p.as_str()), Some(*p))),
            );
            for (stage, preset) in stages {
                // The preset is frozen in the plan (encoder.json), so each row plans.
                let mut config = config.clone();
                config.preset = preset;
                let plan_dir = opts.work.join(format!("plan-{w}x{h}"));
                let _ = std::fs::remove_dir_all(&plan_dir);
                let plan = plan_with(
                    &project,
                    &config,
                    &plan_dir,
                    &PlanOptions {
                        asset_map: opts.asset_map.clone(),
                    },
                )?;
                let out_dir = opts.work.join(format!("chunks-{w}x{h}"));
                let started = Instant::now();
                let cpu0 = cpu_seconds();
                let mut boot = 0u128;
                for i in 0..plan.chunk_count {
                    let o = render_chunk_with(
                        &plan.plan_dir,
                        i,
                        &out_dir,
                        &ChunkOptions {
                            capture_only: preset.is_none(),
                            trust_plan_hash: true,
                            ..Default::default()
                        },
                    )?;
                    boot += o.session_boot_ms;
                }
                rows.push(BenchRow {
                    resolution: format!("{w}x{h}"),
                    stage,
                    chunking: chunking.clone(),
                    frames: plan.total_frames,
                    wall_s: started.elapsed().as_secs_f64(),
                    boot_s: boot as f64 / 1000.0,
                    cpu_s: cpu_seconds() - cpu0,
                });
                let _ = std::fs::remove_dir_all(&out_dir);
                let _ = std::fs::remove_dir_all(&plan_dir);
            }
        }
    }
    Ok(rows)
}

pub fn table(rows: &[BenchRow]) -> String {
    let mut s = String::from(
        "| resolution | stage | chunking | frames | wall s | browser boot s | CPU ms/frame | fps per worker |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.1} |\n",
            r.resolution,
            r.stage,
            r.chunking,
            r.frames,
            r.wall_s,
            r.boot_s,
            r.cpu_s * 1000.0 / r.frames.max(1) as f64,
            r.fps()
        ));
    }
    s
}

/// One end-to-end local render of `project` at its own size, as `render`
/// runs it by default (plan, one chunk per worker, assemble), timed from
/// plan to the assembled file.
pub fn local_render(
    project: &Path,
    out: &Path,
    preset: Option<Preset>,
    asset_map: Option<AssetMap>,
) -> Result<crate::runner::RunSummary> {
    let mut config = RenderConfig::new(30, 1920, 1080, Format::Mp4);
    config.preset = preset;
    crate::runner::run(&crate::runner::RunOptions {
        project_dir: project.to_path_buf(),
        out: out.to_path_buf(),
        config,
        workers: 0,
        single_pass: false,
        on_progress: None,
        asset_map,
        keep_work: false,
    })
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
