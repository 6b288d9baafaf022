//! Throughput benchmark behind `render-bench`: frames per second per worker for
//! capture alone and capture + encode, chunked and single pass, at 640x360 and
//! 1920x1080, on the `mp4-h264-sdr` fixture stretched to a longer duration.
//! Speed lives here rather than in tests (tests assert behaviour only).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::assets::AssetMap;
use crate::chunk::{render_chunk_with, ChunkOptions};
use crate::config::{Format, RenderConfig};
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
    pub asset_map: Option<AssetMap>,
}

#[derive(Debug, Clone)]
pub struct BenchRow {
    pub resolution: String,
    pub stage: &'static str,
    pub chunking: String,
    pub frames: u64,
    pub wall_s: f64,
    pub boot_s: f64,
    /// CPU seconds (user + system) of this process and every reaped child
    /// (browsers, ffmpeg): what a frame costs regardless of other load.
    pub cpu_s: f64,
}

/// User + system CPU seconds of this process plus its waited-for descendants.
fn cpu_seconds() -> f64 {
    let mut total = 0.0;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut ru) } == 0 {
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            total += tv(ru.ru_utime) + tv(ru.ru_stime);
        }
    }
    total
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
            let plan_dir = opts
                .work
                .join(format!("plan-{w}x{h}-{}", chunk_size.unwrap_or(0)));
            let plan = plan_with(
                &project,
                &config,
                &plan_dir,
                &PlanOptions {
                    asset_map: opts.asset_map.clone(),
                },
            )?;
            for (stage, capture_only) in [("capture", true), ("capture+encode", false)] {
                let out_dir = opts.work.join(format!("chunks-{w}x{h}-{stage}"));
                let started = Instant::now();
                let cpu0 = cpu_seconds();
                let mut boot = 0u128;
                for i in 0..plan.chunk_count {
                    let o = render_chunk_with(
                        &plan.plan_dir,
                        i,
                        &out_dir,
                        &ChunkOptions {
                            capture_only,
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
            }
            let _ = std::fs::remove_dir_all(&plan_dir);
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
