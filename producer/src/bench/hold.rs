//! The speed-up from reusing unchanged frames, on the `hold-title` fixture
//! (a title animates in, holds still for 2 s, animates out) scaled to 1080p:
//! capture + encode with reuse on and off, interleaved, and whether the
//! chunk bytes are the same both ways.

use std::path::Path;

use super::cgroup::CpuMeter;
use super::{plan_fresh, render_chunks, scaled_copy, Measured};
use crate::chunk::{ChunkOptions, ChunkOutcome};
use crate::config::{Format, RenderConfig};
use crate::errors::Result;
use crate::plan::assets::AssetMap;

/// One reuse setting over the runs.
#[derive(Debug, Clone, Default)]
pub struct HoldRow {
    pub reuse: bool,
    pub chunking: String,
    pub frames: u64,
    pub reused_frames: u64,
    pub runs: Vec<Measured>,
    /// sha256 of every chunk, in order.
    pub chunk_sha256: Vec<String>,
}

impl HoldRow {
    pub fn wall_s(&self) -> f64 {
        Measured::median_wall_s(&self.runs)
    }
    pub fn cpu_ms_per_frame(&self) -> f64 {
        Measured::median_cpu_ms_per_frame(&self.runs, self.frames)
    }
}

/// Renders the hold fixture at `size`, single pass and in `chunk_size`
/// chunks, with reuse on and off, `runs` times each (interleaved).
pub fn run(
    fixture: &Path,
    work: &Path,
    size: (u32, u32),
    chunk_size: u32,
    runs: usize,
    asset_map: Option<AssetMap>,
    meter: &CpuMeter,
) -> Result<Vec<HoldRow>> {
    let project = scaled_copy(fixture, &work.join("hold-project"), size, Ok)?;
    let mut rows = Vec::new();
    for chunk in [None, Some(chunk_size)] {
        let mut config = RenderConfig::new(30, Format::Mp4).with_size(size.0, size.1);
        config.chunk_size = chunk;
        config.max_parallel_chunks = chunk.is_none().then_some(1);
        let plan_dir = work.join("hold-plan");
        let plan = plan_fresh(&project, &config, &plan_dir, asset_map.clone())?;
        let chunking = match chunk {
            Some(n) => format!("chunked ({n} frames)"),
            None => "single pass".to_string(),
        };
        let mut pair: Vec<HoldRow> = [true, false]
            .map(|reuse| HoldRow {
                reuse,
                chunking: chunking.clone(),
                frames: plan.total_frames,
                ..Default::default()
            })
            .to_vec();
        for _ in 0..runs.max(1) {
            for row in pair.iter_mut() {
                let opts = ChunkOptions {
                    reuse_unchanged: Some(row.reuse),
                    ..Default::default()
                };
                let out = work.join("hold-chunks");
                let (outcomes, m) = Measured::time(meter, || render_chunks(&plan, &out, &opts))?;
                let _ = std::fs::remove_dir_all(&out);
                row.runs.push(m);
                row.reused_frames = outcomes.iter().map(|o| o.reused_frames).sum();
                row.chunk_sha256 = outcomes
                    .iter()
                    .map(|o: &ChunkOutcome| o.sha256.clone())
                    .collect();
            }
        }
        let _ = std::fs::remove_dir_all(&plan_dir);
        rows.extend(pair);
    }
    Ok(rows)
}

/// Rows in pairs (reuse on, reuse off) per chunking.
pub fn table(rows: &[HoldRow]) -> String {
    let mut s = String::from(
        "| chunking | frame reuse | frames | frames reused | wall s | CPU ms/frame | speed-up | chunk bytes |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for pair in rows.chunks(2) {
        let [on, off] = pair else { continue };
        for r in [on, off] {
            let speedup = if r.reuse {
                format!("{:.2}x", off.wall_s() / r.wall_s().max(1e-9))
            } else {
                "1.00x".into()
            };
            let same = if on.chunk_sha256 == off.chunk_sha256 {
                "identical on/off"
            } else {
                "DIFFER"
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.2} | {:.1} | {speedup} | {same} |\n",
                r.chunking,
                if r.reuse { "on" } else { "off" },
                r.frames,
                r.reused_frames,
                r.wall_s(),
                r.cpu_ms_per_frame(),
            ));
        }
    }
    s
}
