//! One invocation: parse and check the event (no I/O), then run its stage
//! in a fresh work directory, moving bytes between S3 and the producer.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_runtime::tracing;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use hyperframes_infra::contract::result::{
    AssembleResult, ChunkResult, PlanResult, PlanResultLocation, StageResult, TemplateReused,
};
use hyperframes_infra::contract::{ErrorName, PlanProtocol};
use hyperframes_infra::stack::ARTIFACT_STORE_PREFIX;
use hyperframes_producer::plan::template::{self, TemplateCache};
use hyperframes_producer::plan::v2::{self, Role};
use hyperframes_producer::Format;

use crate::archive::{self, Limits};
use crate::error::HandlerError;
use crate::event::{AssembleEvent, ChunkEvent, Event, PlanEvent, PlanLocation};
use crate::producer::{PlanInfo, Producer};
use crate::s3uri::S3Uri;
use crate::transport::{sha256_file, S3Transport};
use crate::workdir::WorkDir;

/// Concurrent blob transfers per invocation.
const TRANSFER_CONCURRENCY: usize = 16;

/// The templates this instance planned or fetched, under the work root,
/// kept between invocations: a warm instance planning a batch's rows
/// takes the template from here instead of from the bucket. It holds the
/// newest [`TEMPLATES_KEPT`] entries (a few hundred KB each).
pub const TEMPLATE_CACHE_DIR: &str = "hf-template-cache";

/// How many templates an instance keeps in [`TEMPLATE_CACHE_DIR`].
pub const TEMPLATES_KEPT: usize = 16;

/// The function: where it may read and write, how it moves bytes, what renders.
#[derive(Clone)]
pub struct Handler {
    pub render_bucket: String,
    /// Where per-invocation work directories go (`TMPDIR`, i.e. `/tmp`, in Lambda).
    pub work_root: PathBuf,
    pub transport: S3Transport,
    pub producer: Arc<dyn Producer>,
}

/// Runs `f` on a blocking thread, inside the invocation's span (so its
/// log lines carry the request id too).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HandlerError> + Send + 'static,
) -> Result<T, HandlerError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .unwrap_or_else(|e| Err(HandlerError::render(format!("render thread failed: {e}"))))
}

/// `chunks/NNNN.<ext>`, or `.tar.gz` for a png-sequence frame directory.
pub fn chunk_key(index: u32, format: Format) -> String {
    match format {
        Format::PngSequence => format!("chunks/{index:04}.tar.gz"),
        f => format!("chunks/{index:04}.{}", f.extension()),
    }
}

fn read_json(path: &Path) -> Result<Value, HandlerError> {
    let bytes = std::fs::read(path).map_err(|e| HandlerError::io("cannot read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        HandlerError::new(
            ErrorName::PlanV2IntegrityUnrecoverable,
            format!("{} is not JSON: {e}", path.display()),
        )
    })
}

fn check_plan_hash(found: Option<&str>, expected: &str, what: &str) -> Result<(), HandlerError> {
    match found {
        Some(h) if h == expected => Ok(()),
        other => Err(HandlerError::new(
            ErrorName::PlanHashMismatch,
            format!(
                "{what} has plan hash {}, the event expects {expected}; the plan was replaced or belongs to another render, re-plan",
                other.unwrap_or("(none)")
            ),
        )),
    }
}

/// The phases of a stage, timed for its log line.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Bringing inputs in: S3 downloads, archive extraction, v2 materialize.
    Download,
    /// The producer: plan, render a chunk, or assemble.
    Render,
    /// Sending results out: v2 publish, archives, S3 uploads.
    Upload,
}

/// Wall time spent in each phase of one invocation.
#[derive(Debug, Default)]
struct Phases {
    download: Duration,
    render: Duration,
    upload: Duration,
}

impl Phases {
    async fn time<T>(&mut self, phase: Phase, f: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = f.await;
        *match phase {
            Phase::Download => &mut self.download,
            Phase::Render => &mut self.render,
            Phase::Upload => &mut self.upload,
        } += started.elapsed();
        out
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl Handler {
    /// Handles one raw invocation payload.
    pub async fn handle(&self, raw: Value) -> Result<StageResult, HandlerError> {
        let started = Instant::now();
        let event = Event::parse(&raw)?;
        for (name, uri) in event.uris() {
            uri.check_bucket(name, &self.render_bucket)?;
        }
        let before = (
            self.transport.traffic.down.load(Ordering::Relaxed),
            self.transport.traffic.up.load(Ordering::Relaxed),
        );
        let mut phases = Phases::default();
        let result = match &event {
            Event::Plan(e) => self.plan(e, &mut phases).await.map(StageResult::Plan),
            Event::RenderChunk(e) => self
                .render_chunk(e, &mut phases)
                .await
                .map(StageResult::Chunk),
            Event::Assemble(e) => self
                .assemble(e, &mut phases)
                .await
                .map(StageResult::Assemble),
        };
        let chunk_index = match &event {
            Event::RenderChunk(c) => Some(c.index),
            _ => None,
        };
        let (error_type, error_message) = match &result {
            Ok(_) => (None, None),
            Err(e) => (Some(e.name.as_str()), Some(e.message.as_str())),
        };
        tracing::info!(
            event = "stage",
            action = event.action().as_str(),
            chunkIndex = chunk_index,
            outcome = if result.is_ok() { "ok" } else { "error" },
            durationMs = millis(started.elapsed()),
            downloadMs = millis(phases.download),
            renderMs = millis(phases.render),
            uploadMs = millis(phases.upload),
            bytesDown = self.transport.traffic.down.load(Ordering::Relaxed) - before.0,
            bytesUp = self.transport.traffic.up.load(Ordering::Relaxed) - before.1,
            errorType = error_type,
            errorMessage = error_message,
            "stage {}",
            if result.is_ok() { "done" } else { "failed" }
        );
        result
    }

    async fn plan(&self, e: &PlanEvent, phases: &mut Phases) -> Result<PlanResult, HandlerError> {
        let work = WorkDir::new(&self.work_root, "hf-plan")?;
        let project = work.join("project");
        phases
            .time(Phase::Download, async {
                let archive_path = work.join("project.tar.gz");
                self.transport.download(&e.project, &archive_path).await?;
                let p = project.clone();
                blocking(move || archive::extract_tar_gz(&archive_path, &p, Limits::default()))
                    .await
            })
            .await?;
        let config = phases
            .time(
                Phase::Download,
                self.inline_variables(&e.config, &work.join("variables.json")),
            )
            .await?;
        let plan_dir = work.join("plan");
        let cache = TemplateCache::new(self.work_root.join(TEMPLATE_CACHE_DIR));
        let entry = phases
            .time(
                Phase::Download,
                self.fetch_template(e, &project, &config, &cache),
            )
            .await;
        let info = {
            let (producer, config, project, plan_dir, cache) = (
                self.producer.clone(),
                config,
                project.clone(),
                plan_dir.clone(),
                cache.clone(),
            );
            phases
                .time(
                    Phase::Render,
                    blocking(move || producer.plan(&project, &config, &plan_dir, Some(&cache))),
                )
                .await?
        };
        cache.keep_newest(TEMPLATES_KEPT);
        tracing::info!(
            event = "template",
            key = info.template.key.as_deref(),
            compileReused = info.template.compile,
            assetsReused = info.template.assets,
            variableAssets = info.template.variable_assets,
            "template {}",
            info.template.describe()
        );
        if let (Some(uri), Some(stored)) = (entry, &info.template.stored) {
            phases
                .time(Phase::Upload, self.store_template(&uri, stored))
                .await;
        }
        let publish = async {
            match e.protocol {
                PlanProtocol::V1 => self.publish_v1(e, &plan_dir, &info).await,
                PlanProtocol::V2 => self.publish_v2(e, &work, &plan_dir).await,
            }
        };
        let location = phases.time(Phase::Upload, publish).await?;
        Ok(PlanResult::new(
            info.chunk_count,
            info.total_frames,
            (info.fps, info.width, info.height),
            info.format.as_str(),
            info.has_audio,
            (info.ffmpeg_version, info.producer_version),
            location,
        )
        .with_template(TemplateReused {
            compile: info.template.compile,
            assets: info.template.assets as u32,
            variable_assets: info.template.variable_assets as u32,
        }))
    }

    /// Brings the project's cached template (if the bucket has one) into
    /// `cache`; returns where it lives in S3: `templates/<key>.hft` beside
    /// the project archive (`sites/<id>/templates/`). Best effort: a
    /// failure is logged and the plan compiles the template itself.
    async fn fetch_template(
        &self,
        e: &PlanEvent,
        project: &Path,
        config: &hyperframes_producer::RenderConfig,
        cache: &TemplateCache,
    ) -> Option<S3Uri> {
        let (producer, p, c) = (self.producer.clone(), project.to_path_buf(), config.clone());
        let key = match blocking(move || producer.template_key(&p, &c)).await {
            Ok(k) => k,
            Err(err) => {
                tracing::warn!(event = "template", "no template key: {err}");
                return None;
            }
        };
        let dir = match e.project.key.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/"),
            None => String::new(),
        };
        let uri = S3Uri {
            bucket: e.project.bucket.clone(),
            key: format!("{dir}templates/{key}.{}", template::ENTRY_EXTENSION),
        };
        let local = cache.entry_path(&key);
        if local.is_file() {
            // This instance planned the template before: the key covers
            // every input, so its entry is the bucket's (the plan checks
            // it again on load and rebuilds a damaged one).
            return Some(uri);
        }
        if let Err(err) = self.transport.download_if_present(&uri, &local).await {
            tracing::warn!(
                event = "template",
                "cannot read the cached template {uri}: {err}"
            );
        }
        Some(uri)
    }

    /// Uploads a template entry the plan wrote (one PUT: readers see the
    /// old object or the whole new one). Best effort, as the read.
    async fn store_template(&self, uri: &S3Uri, entry: &Path) {
        if let Err(err) = self
            .transport
            .upload(entry, uri, Some("application/octet-stream"))
            .await
        {
            tracing::warn!(
                event = "template",
                "cannot cache the template in {uri}: {err}"
            );
        }
    }

    /// `Config.variablesS3Uri` (values too large for the execution input),
    /// read into `variables`: the plan sees the same config, and freezes
    /// the same values, as if they had come inline.
    async fn inline_variables(
        &self,
        config: &hyperframes_producer::RenderConfig,
        dest: &Path,
    ) -> Result<hyperframes_producer::RenderConfig, HandlerError> {
        let Some(raw) = &config.variables_s3_uri else {
            return Ok(config.clone());
        };
        let uri = S3Uri::parse("Config.variablesS3Uri", raw)?;
        self.transport.download(&uri, dest).await?;
        let text = std::fs::read_to_string(dest)
            .map_err(|e| HandlerError::io("the variables object", dest, e))?;
        let values = hyperframes_producer::variables::Variables::parse(
            &text,
            &format!("the variables object {raw}"),
        )
        .map_err(HandlerError::invalid_event)?;
        let mut c = config.clone();
        c.variables = Some(values);
        c.variables_s3_uri = None;
        Ok(c)
    }

    async fn publish_v1(
        &self,
        e: &PlanEvent,
        plan_dir: &Path,
        info: &PlanInfo,
    ) -> Result<PlanResultLocation, HandlerError> {
        let plan_uri = e.output_prefix.join("plan.tar.gz");
        self.transport
            .upload(&info.tarball, &plan_uri, Some("application/gzip"))
            .await?;
        let audio = plan_dir.join("audio.m4a");
        let audio_uri = if std::fs::metadata(&audio).is_ok_and(|m| m.len() > 0) {
            let uri = e.output_prefix.join("audio.m4a");
            self.transport
                .upload(&audio, &uri, Some("audio/mp4"))
                .await?;
            Some(uri.to_string())
        } else {
            None
        };
        Ok(PlanResultLocation::V1 {
            plan: plan_uri.to_string(),
            plan_hash: info.plan_hash.clone(),
            audio: audio_uri,
        })
    }

    /// Blobs first, manifest last: a manifest in S3 means every blob it
    /// names is durable.
    async fn publish_v2(
        &self,
        e: &PlanEvent,
        work: &WorkDir,
        plan_dir: &Path,
    ) -> Result<PlanResultLocation, HandlerError> {
        let store = work.join("v2");
        let summary = {
            let (d, s) = (plan_dir.to_path_buf(), store.clone());
            blocking(move || {
                let loaded = hyperframes_producer::plan::LoadedPlan::load(&d)?;
                Ok(v2::publish(&d, &loaded.plan, &s)?)
            })
            .await?
        };
        let artifacts = S3Uri {
            bucket: e.output_prefix.bucket.clone(),
            key: format!("{ARTIFACT_STORE_PREFIX}/"),
        };
        let mut blobs: Vec<(String, PathBuf)> = summary
            .artifacts
            .iter()
            .map(|a| (a.sha256.clone(), store.join(v2::blob_path(&a.sha256))))
            .collect();
        blobs.sort();
        blobs.dedup();
        transfer_all(blobs.into_iter().map(|(sha, path)| {
            let t = self.transport.clone();
            let uri = artifacts.join(&format!("{}/{sha}", &sha[..2]));
            async move {
                t.put_content_addressed(&path, &uri, &sha, None)
                    .await
                    .map(|_| ())
            }
        }))
        .await?;
        let manifest_uri = e.output_prefix.join("v2/manifest.json");
        let digest = sha256_file(&summary.manifest_path)?;
        self.transport
            .put_content_addressed(
                &summary.manifest_path,
                &manifest_uri,
                &digest,
                Some("application/json"),
            )
            .await?;
        Ok(PlanResultLocation::V2 {
            protocol: PlanProtocol::V2.as_str(),
            manifest: manifest_uri.to_string(),
            artifact_prefix: format!(
                "s3://{}/{}",
                artifacts.bucket,
                artifacts.key.trim_end_matches('/')
            ),
            plan_hash: summary.manifest_hash,
            audio: (),
        })
    }

    /// Brings the plan into `work/plan` for `role`, checking that it is
    /// the plan the event names.
    async fn fetch_plan(
        &self,
        location: &PlanLocation,
        plan_hash: Option<&str>,
        role: Role,
        work: &WorkDir,
    ) -> Result<PathBuf, HandlerError> {
        let plan_dir = work.join("plan");
        match location {
            PlanLocation::V1 { plan } => {
                let tarball = work.join("plan.tar.gz");
                self.transport.download(plan, &tarball).await?;
                let (t, d) = (tarball.clone(), plan_dir.clone());
                blocking(move || archive::extract_tar_gz(&t, &d, Limits::default())).await?;
                if let Some(expected) = plan_hash {
                    let plan_json = read_json(&plan_dir.join("plan.json"))?;
                    check_plan_hash(plan_json["planHash"].as_str(), expected, &plan.to_string())?;
                }
            }
            PlanLocation::V2 {
                manifest,
                artifact_prefix,
            } => {
                let transport_dir = work.join("plan-v2");
                let manifest_path = transport_dir.join("plan.json");
                self.transport.download(manifest, &manifest_path).await?;
                let expected = plan_hash.expect("v2 events carry PlanHash");
                check_plan_hash(
                    read_json(&manifest_path)?["planHash"].as_str(),
                    expected,
                    &manifest.to_string(),
                )?;
                let needed = {
                    let m = manifest_path.clone();
                    blocking(move || Ok(v2::artifacts_for(&m, role)?)).await?
                };
                transfer_all(needed.into_iter().map(|a| {
                    let t = self.transport.clone();
                    let uri = artifact_prefix.join(&format!("{}/{}", &a.sha256[..2], a.sha256));
                    let dest = transport_dir.join(v2::blob_path(&a.sha256));
                    async move {
                        t.download_verified(&uri, &dest, &a.sha256)
                            .await
                            .map(|_| ())
                    }
                }))
                .await?;
                let (m, d) = (manifest_path.clone(), plan_dir.clone());
                blocking(move || Ok(v2::materialize(&m, &transport_dir, &d, role)?)).await?;
            }
        }
        Ok(plan_dir)
    }

    async fn render_chunk(
        &self,
        e: &ChunkEvent,
        phases: &mut Phases,
    ) -> Result<ChunkResult, HandlerError> {
        let work = WorkDir::new(&self.work_root, "hf-chunk")?;
        let role = Role::Chunk(e.index);
        let fetch = self.fetch_plan(&e.location, Some(&e.plan_hash), role, &work);
        let plan_dir = phases.time(Phase::Download, fetch).await?;
        let out_dir = work.join("out");
        let chunk = {
            let (p, i, o, d) = (
                self.producer.clone(),
                e.index,
                out_dir.clone(),
                plan_dir.clone(),
            );
            phases
                .time(Phase::Render, blocking(move || p.render_chunk(&d, i, &o)))
                .await?
        };
        let uri = e.output_prefix.join(&chunk_key(e.index, e.format));
        let upload = self.upload_result(&chunk.path, chunk.is_frame_dir, &uri, &work, "frames");
        phases.time(Phase::Upload, upload).await?;
        Ok(ChunkResult::new(
            uri.to_string(),
            e.index,
            chunk.sha256,
            chunk.frames,
        ))
    }

    /// Uploads a rendered file, or a frame directory as one deterministic
    /// `.tar.gz` (written to `work/<name>.tar.gz` first).
    async fn upload_result(
        &self,
        path: &Path,
        is_dir: bool,
        uri: &S3Uri,
        work: &WorkDir,
        name: &str,
    ) -> Result<(), HandlerError> {
        if !is_dir {
            return self.transport.upload(path, uri, None).await.map(|_| ());
        }
        let tarball = work.join(&format!("{name}.tar.gz"));
        let (d, t) = (path.to_path_buf(), tarball.clone());
        blocking(move || archive::create_tar_gz(&d, &t)).await?;
        self.transport
            .upload(&tarball, uri, Some("application/gzip"))
            .await
            .map(|_| ())
    }

    /// The chunks, in chunk order, downloaded into `work/chunks` (frame
    /// directories of a png-sequence extracted).
    async fn download_chunks(
        &self,
        e: &AssembleEvent,
        work: &WorkDir,
    ) -> Result<Vec<PathBuf>, HandlerError> {
        let chunk_dir = work.join("chunks");
        let downloaded: Vec<(usize, PathBuf)> = e
            .chunks
            .iter()
            .enumerate()
            .map(|(i, uri)| {
                let name = uri.key.rsplit('/').next().unwrap_or("chunk");
                (i, chunk_dir.join(format!("{i:04}-{name}")))
            })
            .collect();
        transfer_all(e.chunks.iter().zip(&downloaded).map(|(uri, (_, dest))| {
            let (t, uri, dest) = (self.transport.clone(), uri.clone(), dest.clone());
            async move { t.download(&uri, &dest).await.map(|_| ()) }
        }))
        .await?;
        let mut chunks = Vec::new();
        for (i, path) in downloaded {
            if e.format == Format::PngSequence {
                let frames = chunk_dir.join(format!("frames-{i:04}"));
                let (a, f) = (path.clone(), frames.clone());
                blocking(move || archive::extract_tar_gz(&a, &f, Limits::default())).await?;
                chunks.push(frames);
            } else {
                chunks.push(path);
            }
        }
        Ok(chunks)
    }

    async fn assemble(
        &self,
        e: &AssembleEvent,
        phases: &mut Phases,
    ) -> Result<AssembleResult, HandlerError> {
        let work = WorkDir::new(&self.work_root, "hf-assemble")?;
        let inputs = async {
            let plan_dir = self
                .fetch_plan(&e.location, e.plan_hash.as_deref(), Role::Assembler, &work)
                .await?;
            let chunks = self.download_chunks(e, &work).await?;
            let audio = match &e.audio {
                Some(uri) => {
                    let dest = plan_dir.join("audio.m4a");
                    self.transport.download(uri, &dest).await?;
                    Some(dest)
                }
                None => Some(plan_dir.join("audio.m4a")).filter(|p| p.is_file()),
            };
            Ok::<_, HandlerError>((plan_dir, chunks, audio))
        };
        let (plan_dir, chunks, audio) = phases.time(Phase::Download, inputs).await?;
        let out = match e.format {
            Format::PngSequence => work.join("output-frames"),
            f => work.join(&format!("output.{}", f.extension())),
        };
        let info = {
            let (p, d, o) = (self.producer.clone(), plan_dir.clone(), out.clone());
            let assemble = blocking(move || p.assemble(&d, &chunks, audio.as_deref(), &o));
            phases.time(Phase::Render, assemble).await?
        };
        let is_dir = info.path.is_dir();
        let upload = self.upload_result(&info.path, is_dir, &e.output, &work, "output");
        phases.time(Phase::Upload, upload).await?;
        Ok(AssembleResult::new(
            e.output.to_string(),
            info.frames_encoded,
            info.file_size,
        ))
    }
}

/// Runs `transfers` as tasks, at most [`TRANSFER_CONCURRENCY`] at a time,
/// waits for every one, then reports the first failure: no task is left
/// writing into a work dir that is about to be removed.
async fn transfer_all<F>(transfers: impl IntoIterator<Item = F>) -> Result<(), HandlerError>
where
    F: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(TRANSFER_CONCURRENCY));
    let mut jobs = JoinSet::new();
    for transfer in transfers {
        let limit = limit.clone();
        jobs.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            transfer.await
        });
    }
    let mut first = None;
    while let Some(r) = jobs.join_next().await {
        let r =
            r.unwrap_or_else(|e| Err(HandlerError::render(format!("transfer task failed: {e}"))));
        if let (Err(e), None) = (r, &first) {
            first = Some(e);
        }
    }
    first.map_or(Ok(()), Err)
}
