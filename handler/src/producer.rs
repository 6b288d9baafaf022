//! The seam between the handler and the renderer. The handler moves bytes
//! between S3 and local paths; a `Producer` turns local paths into video.
//! [`LocalProducer`] is the real one (Chromium + ffmpeg on this machine).

use std::path::{Path, PathBuf};

use crate::error::HandlerError;

/// What the later stages need to know about a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInfo {
    pub plan_hash: String,
    pub chunk_count: u32,
    pub total_frames: u64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub format: hyperframes_producer::Format,
    pub has_audio: bool,
    pub ffmpeg_version: String,
    pub producer_version: String,
    /// The plan's v1 tarball (the execution dir without its transport
    /// copies), written by the producer's deterministic writer.
    pub tarball: PathBuf,
    /// What the plan took from the template cache, and what it stored.
    pub template: hyperframes_producer::TemplateReuse,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// A file, or a directory of frames for png-sequence.
    pub path: PathBuf,
    pub is_frame_dir: bool,
    pub frames: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembleInfo {
    pub path: PathBuf,
    pub frames_encoded: u64,
    pub file_size: u64,
}

/// The three render stages over local paths. Blocking: the handler runs
/// them on a blocking thread.
pub trait Producer: Send + Sync + 'static {
    /// `template_cache`: plan the template once (see
    /// `hyperframes_producer::PlanOptions::template_cache`).
    fn plan(
        &self,
        project_dir: &Path,
        config: &hyperframes_producer::RenderConfig,
        plan_dir: &Path,
        template_cache: Option<&hyperframes_producer::TemplateCache>,
    ) -> Result<PlanInfo, HandlerError>;
    /// The cache key of the project's template (what [`Producer::plan`]
    /// looks up in `template_cache`).
    fn template_key(
        &self,
        project_dir: &Path,
        config: &hyperframes_producer::RenderConfig,
    ) -> Result<String, HandlerError>;
    fn render_chunk(
        &self,
        plan_dir: &Path,
        index: u32,
        out_dir: &Path,
    ) -> Result<ChunkInfo, HandlerError>;
    fn assemble(
        &self,
        plan_dir: &Path,
        chunks: &[PathBuf],
        audio: Option<&Path>,
        out: &Path,
    ) -> Result<AssembleInfo, HandlerError>;
}

/// `hyperframes-producer`, in process.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalProducer;

/// Plans with the default asset map: the offline map first, then the
/// network unless `HF_ALLOW_NETWORK=0`
/// (`HF_ALLOW_NETWORK`). What the plan
/// fetches is inlined into it, so no chunk worker ever fetches.
fn plan_info(
    project_dir: &Path,
    config: &hyperframes_producer::RenderConfig,
    plan_dir: &Path,
    template_cache: Option<&hyperframes_producer::TemplateCache>,
) -> Result<PlanInfo, HandlerError> {
    // A distributed plan: text drawn with a host font fails it unless the
    // config's rejectOnSystemFonts is false (then each place is logged).
    let options = hyperframes_producer::PlanOptions {
        asset_map: None,
        template_cache: template_cache.cloned(),
        distributed: true,
    };
    let outcome = hyperframes_producer::plan_with(project_dir, config, plan_dir, &options)?;
    for f in &outcome.host_fonts {
        lambda_runtime::tracing::warn!(family = %f.family, "host font: {f}");
    }
    // Warnings, as the reference gives them: the render goes on with the
    // values as given (`render --strict-variables` refuses them before start).
    for p in &outcome.variable_problems {
        lambda_runtime::tracing::warn!(path = %p.path, kind = ?p.kind, "variable problem: {}", p.message);
    }
    for w in &outcome.warnings {
        lambda_runtime::tracing::warn!("{w}");
    }
    lambda_runtime::tracing::info!(
        duration = outcome.duration,
        "composition length {:.3} s, from {}",
        outcome.duration,
        outcome.duration_from
    );
    let loaded = hyperframes_producer::plan::LoadedPlan::load(plan_dir)?;
    let p = &loaded.plan;
    Ok(PlanInfo {
        plan_hash: p.plan_hash.clone(),
        chunk_count: p.chunk_count,
        total_frames: p.total_frames,
        fps: p.dimensions.fps_num,
        width: p.dimensions.width,
        height: p.dimensions.height,
        format: p.dimensions.format,
        has_audio: p.has_audio,
        ffmpeg_version: p.ffmpeg_version.clone(),
        producer_version: p.producer_version.clone(),
        tarball: outcome.tarball,
        template: outcome.template,
    })
}

impl Producer for LocalProducer {
    fn plan(
        &self,
        project_dir: &Path,
        config: &hyperframes_producer::RenderConfig,
        plan_dir: &Path,
        template_cache: Option<&hyperframes_producer::TemplateCache>,
    ) -> Result<PlanInfo, HandlerError> {
        plan_info(project_dir, config, plan_dir, template_cache)
    }

    fn template_key(
        &self,
        project_dir: &Path,
        config: &hyperframes_producer::RenderConfig,
    ) -> Result<String, HandlerError> {
        Ok(hyperframes_producer::plan::template_key(
            project_dir,
            config,
            &hyperframes_producer::PlanOptions::default(),
        )?)
    }

    fn render_chunk(
        &self,
        plan_dir: &Path,
        index: u32,
        out_dir: &Path,
    ) -> Result<ChunkInfo, HandlerError> {
        let c = hyperframes_producer::render_chunk(plan_dir, index, out_dir)?;
        Ok(ChunkInfo {
            is_frame_dir: c.output_kind == "frame-dir",
            path: c.path,
            frames: c.frames,
            sha256: c.sha256,
        })
    }

    fn assemble(
        &self,
        plan_dir: &Path,
        chunks: &[PathBuf],
        audio: Option<&Path>,
        out: &Path,
    ) -> Result<AssembleInfo, HandlerError> {
        let a = hyperframes_producer::assemble_with_audio(plan_dir, chunks, audio, out)?;
        Ok(AssembleInfo {
            path: a.output_path,
            frames_encoded: a.frames_encoded,
            file_size: a.file_size,
        })
    }
}
