//! Throughput: frames per second per worker for capture alone and capture +
//! encode per x264 preset, chunked and single pass, on the `mp4-h264-sdr`
//! fixture scaled up and stretched so every frame differs.

use std::path::{Path, PathBuf};

use super::cgroup::CpuMeter;
use super::{plan_fresh, prepare_project, render_chunks, Measured};
use crate::chunk::ChunkOptions;
use crate::config::{Format, Preset, RenderConfig};
use crate::errors::Result;
use crate::plan::assets::AssetMap;

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
    pub time: Measured,
    pub boot_s: f64,
    pub reused_frames: u64,
}

pub fn run(opts: &BenchOptions, meter: &CpuMeter) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &(w, h) in &opts.resolutions {
        let project = prepare_project(
            &opts.fixture,
            &opts.work.join(format!("project-{w}x{h}")),
            w,
            h,
            opts.seconds,
        )?;
        for chunk_size in [Some(opts.chunk_size), None] {
            let mut stages: Vec<(String, Option<Preset>)> = vec![("capture".into(), None)];
            stages.extend(
                opts.presets
                    .iter()
                    .map(|p| (format!("capture+encode ({})", p.as_str()), Some(*p))),
            );
            for (stage, preset) in stages {
                let mut row = row(opts, meter, &project, (w, h), chunk_size, preset)?;
                row.stage = stage;
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

fn row(
    opts: &BenchOptions,
    meter: &CpuMeter,
    project: &Path,
    (w, h): (u32, u32),
    chunk_size: Option<u32>,
    preset: Option<Preset>,
) -> Result<BenchRow> {
    let mut config = RenderConfig::new(30, Format::Mp4).with_size(w, h);
    config.chunk_size = chunk_size;
    if chunk_size.is_none() {
        config.max_parallel_chunks = Some(1);
    }
    // The preset is frozen in the plan (encoder.json), so each row plans.
    config.preset = preset;
    let plan_dir = opts.work.join(format!("plan-{w}x{h}"));
    let plan = plan_fresh(project, &config, &plan_dir, opts.asset_map.clone())?;
    let out_dir = opts.work.join(format!("chunks-{w}x{h}"));
    let chunk_opts = ChunkOptions {
        capture_only: preset.is_none(),
        ..Default::default()
    };
    let (outcomes, time) = Measured::time(meter, || render_chunks(&plan, &out_dir, &chunk_opts))?;
    let _ = std::fs::remove_dir_all(&out_dir);
    let _ = std::fs::remove_dir_all(&plan_dir);
    Ok(BenchRow {
        resolution: format!("{w}x{h}"),
        stage: String::new(),
        chunking: match chunk_size {
            Some(n) => format!("chunked ({n} frames)"),
            None => "single pass".into(),
        },
        frames: plan.total_frames,
        time,
        boot_s: outcomes.iter().map(|o| o.session_boot_ms).sum::<u128>() as f64 / 1000.0,
        reused_frames: outcomes.iter().map(|o| o.reused_frames).sum(),
    })
}

pub fn table(rows: &[BenchRow]) -> String {
    let mut s = String::from(
        "| resolution | stage | chunking | frames | wall s | browser boot s | CPU ms/frame | fps per worker | frames reused |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.1} | {} |\n",
            r.resolution,
            r.stage,
            r.chunking,
            r.frames,
            r.time.wall.as_secs_f64(),
            r.boot_s,
            r.time.cpu_ms_per_frame(r.frames),
            r.time.fps(r.frames),
            r.reused_frames,
        ));
    }
    s
}
