//! What a render will do, learned by planning it locally: the same plan
//! the Lambda plan stage makes (same config, same producer), which gives
//! the frame and chunk counts, the plan's blobs and which invocation reads
//! which. Planning is cheap (a second or so) and uploads nothing.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, Result};

use hyperframes_producer::plan::profile::CostProfile;
use hyperframes_producer::plan::v2::{self, Role};
use hyperframes_producer::plan::LoadedPlan;
use hyperframes_producer::{AssetMap, Format, PlanOptions, RenderConfig};

/// Objects and bytes one invocation reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Traffic {
    /// GET and HEAD requests.
    pub gets: u64,
    /// PUT requests.
    pub puts: u64,
    pub bytes_down: u64,
    pub bytes_up: u64,
}

impl std::ops::AddAssign for Traffic {
    fn add_assign(&mut self, o: Traffic) {
        self.gets += o.gets;
        self.puts += o.puts;
        self.bytes_down += o.bytes_down;
        self.bytes_up += o.bytes_up;
    }
}

/// The render, as planned here.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFacts {
    pub frames: u64,
    /// Frames of each chunk, in order.
    pub chunk_frames: Vec<u64>,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub format: Format,
    pub has_audio: bool,
    /// How long planning took here (ms).
    pub plan_ms: f64,
    /// The project archive `sites create` uploads.
    pub site_bytes: u64,
    /// S3 traffic of the plan stage (v2: every blob and the manifest,
    /// each checked with HEAD then written once).
    pub plan_traffic: Traffic,
    /// S3 traffic of each chunk's plan download (before its chunk upload).
    pub chunk_plan_traffic: Vec<Traffic>,
    /// S3 traffic of the assembler's plan download (before the chunks).
    pub assemble_plan_traffic: Traffic,
    /// Bytes of the plan kept under renders/ (expires with the intermediates).
    pub plan_bytes: u64,
    /// The capture and encoder settings the plan's chunks will use.
    pub profile: CostProfile,
}

impl PlanFacts {
    pub fn megapixels(&self) -> f64 {
        f64::from(self.width) * f64::from(self.height) / 1e6
    }

    pub fn chunks(&self) -> u32 {
        self.chunk_frames.len() as u32
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Plans `project` with `config` (the render's wire config) in `work`,
/// which is left for the caller to remove.
pub fn plan_locally(
    project: &Path,
    config: &RenderConfig,
    asset_map: Option<AssetMap>,
    work: &Path,
) -> Result<PlanFacts> {
    let rc = config;
    let site = work.join("site.tar.gz");
    hyperframes_handler::archive::create_tar_gz(project, &site)
        .map_err(|e| anyhow!("cannot archive {}: {e}", project.display()))?;
    let plan_dir = work.join("plan");
    let started = Instant::now();
    let outcome = hyperframes_producer::plan_with(
        project,
        rc,
        &plan_dir,
        &PlanOptions {
            asset_map,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow!("planning failed [{}]: {e}", e.name()))?;
    let plan_ms = started.elapsed().as_secs_f64() * 1000.0;
    let profile = LoadedPlan::load(&outcome.plan_dir)
        .map_err(|e| anyhow!("cannot read back the local plan: {e}"))?
        .cost_profile();
    let manifest = &outcome.v2.manifest_path;
    let manifest_bytes = file_len(manifest);
    let mut unique: Vec<(&str, u64)> = outcome
        .v2
        .artifacts
        .iter()
        .map(|a| (a.sha256.as_str(), a.size_bytes))
        .collect();
    unique.sort_unstable();
    unique.dedup();
    let blob_bytes: u64 = unique.iter().map(|(_, n)| n).sum();
    // Besides the site and the blobs: the template cache's lookup (a miss
    // on a first render) and the entry the plan then stores.
    let plan_traffic = Traffic {
        gets: 1 + unique.len() as u64 + 1 + 1,
        puts: unique.len() as u64 + 1 + 1,
        bytes_down: file_len(&site),
        bytes_up: blob_bytes + manifest_bytes,
    };
    let read = |role: Role| -> Result<Traffic> {
        let needed = v2::artifacts_for(manifest, role).map_err(|e| anyhow!("{e}"))?;
        Ok(Traffic {
            gets: 1 + needed.len() as u64,
            puts: 0,
            bytes_down: manifest_bytes + needed.iter().map(|a| a.size_bytes).sum::<u64>(),
            bytes_up: 0,
        })
    };
    let chunk_plan_traffic = outcome
        .chunks
        .iter()
        .map(|c| read(Role::Chunk(c.index)))
        .collect::<Result<Vec<_>>>()?;
    Ok(PlanFacts {
        frames: outcome.total_frames,
        chunk_frames: outcome.chunks.iter().map(|c| c.frames()).collect(),
        width: outcome.width,
        height: outcome.height,
        fps: outcome.fps,
        format: outcome.format,
        has_audio: outcome.has_audio,
        plan_ms,
        site_bytes: file_len(&site),
        plan_traffic,
        chunk_plan_traffic,
        assemble_plan_traffic: read(Role::Assembler)?,
        plan_bytes: blob_bytes + manifest_bytes,
        profile,
    })
}
