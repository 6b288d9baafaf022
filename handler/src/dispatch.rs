//! One invocation: parse and check the event (no I/O), then run its stage
//! in a fresh work directory, moving bytes between S3 and the producer.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use hyperframes_infra::contract::{field, Action, ErrorName, PlanProtocol};
use hyperframes_producer::v2::{self, Role};
use hyperframes_producer::Format;

use crate::archive::{self, Limits};
use crate::error::HandlerError;
use crate::event::{AssembleEvent, ChunkEvent, Event, PlanEvent, PlanLocation};
use crate::producer::{PlanInfo, Producer};
use crate::transport::{sha256_file, S3Transport};
use crate::workdir::WorkDir;

/// Concurrent blob transfers per invocation.
const TRANSFER_CONCURRENCY: usize = 16;

/// The function: where it may read and write, how it moves bytes, what renders.
#[derive(Clone)]
pub struct Handler {
    pub render_bucket: String,
    /// Where per-invocation work directories go (`TMPDIR`, i.e. `/tmp`, in Lambda).
    pub work_root: PathBuf,
    pub transport: S3Transport,
    pub producer: Arc<dyn Producer>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HandlerError> + Send + 'static,
) -> Result<T, HandlerError> {
    tokio::task::spawn_blocking(f)
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

impl Handler {
    /// Handles one raw invocation payload.
    pub async fn handle(&self, raw: Value) -> Result<Value, HandlerError> {
        let started = Instant::now();
        let event = Event::parse(&raw)?;
        for (name, uri) in event.uris() {
            uri.check_bucket(name, &self.render_bucket)?;
        }
        let before = (
            self.transport.traffic.down.load(Ordering::Relaxed),
            self.transport.traffic.up.load(Ordering::Relaxed),
        );
        let result = match &event {
            Event::Plan(e) => self.plan(e).await,
            Event::RenderChunk(e) => self.render_chunk(e).await,
            Event::Assemble(e) => self.assemble(e).await,
        };
        let mut log = json!({
            "event": "stage",
            "action": event.action().as_str(),
            "durationMs": started.elapsed().as_millis() as u64,
            "bytesDown": self.transport.traffic.down.load(Ordering::Relaxed) - before.0,
            "bytesUp": self.transport.traffic.up.load(Ordering::Relaxed) - before.1,
        });
        if let Event::RenderChunk(c) = &event {
            log["chunkIndex"] = json!(c.index);
        }
        match &result {
            Ok(_) => log["outcome"] = json!("ok"),
            Err(e) => {
                log["outcome"] = json!("error");
                log["errorType"] = json!(e.name.as_str());
                log["errorMessage"] = json!(e.message);
            }
        }
        // stderr: Lambda sends it to CloudWatch like stdout, and `invoke` keeps
        // stdout for the result.
        eprintln!("{log}");
        result
    }

    async fn plan(&self, e: &PlanEvent) -> Result<Value, HandlerError> {
        let work = WorkDir::new(&self.work_root, "hf-plan")?;
        let archive_path = work.join("project.tar.gz");
        self.transport.download(&e.project, &archive_path).await?;
        let project = work.join("project");
        {
            let (a, p) = (archive_path.clone(), project.clone());
            blocking(move || archive::extract_tar_gz(&a, &p, Limits::default())).await?;
        }
        let plan_dir = work.join("plan");
        let info = {
            let (producer, config, project, plan_dir) = (
                self.producer.clone(),
                e.config.clone(),
                project.clone(),
                plan_dir.clone(),
            );
            blocking(move || producer.plan(&project, &config, &plan_dir)).await?
        };
        let mut out = json!({
            field::ACTION: Action::Plan.as_str(),
            field::CHUNK_COUNT: info.chunk_count,
            "TotalFrames": info.total_frames,
            "Fps": info.fps,
            "Width": info.width,
            "Height": info.height,
            field::FORMAT: info.format.as_str(),
            field::HAS_AUDIO: info.has_audio,
            "FfmpegVersion": info.ffmpeg_version,
            "ProducerVersion": info.producer_version,
        });
        match e.protocol {
            PlanProtocol::V1 => {
                self.publish_v1(e, &work, &plan_dir, &info, &mut out)
                    .await?
            }
            PlanProtocol::V2 => self.publish_v2(e, &work, &plan_dir, &mut out).await?,
        }
        Ok(out)
    }

    async fn publish_v1(
        &self,
        e: &PlanEvent,
        work: &WorkDir,
        plan_dir: &Path,
        info: &PlanInfo,
        out: &mut Value,
    ) -> Result<(), HandlerError> {
        let tarball = work.join("plan.tar.gz");
        {
            let (d, t) = (plan_dir.to_path_buf(), tarball.clone());
            blocking(move || archive::create_tar_gz(&d, &t)).await?;
        }
        let plan_uri = e.output_prefix.join("plan.tar.gz");
        self.transport
            .upload(&tarball, &plan_uri, Some("application/gzip"))
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
        out[field::PLAN_S3_URI] = json!(plan_uri.to_string());
        out[field::PLAN_HASH] = json!(info.plan_hash);
        out[field::AUDIO_S3_URI] = json!(audio_uri);
        Ok(())
    }

    /// Blobs first, manifest last: a manifest in S3 means every blob it
    /// names is durable.
    async fn publish_v2(
        &self,
        e: &PlanEvent,
        work: &WorkDir,
        plan_dir: &Path,
        out: &mut Value,
    ) -> Result<(), HandlerError> {
        let store = work.join("v2");
        let summary = {
            let (d, s) = (plan_dir.to_path_buf(), store.clone());
            blocking(move || {
                let loaded = hyperframes_producer::plan::LoadedPlan::load(&d)?;
                Ok(v2::publish(&d, &loaded.plan, &s)?)
            })
            .await?
        };
        let artifacts = e.output_prefix.join("v2/artifacts/sha256");
        let mut blobs: Vec<(String, PathBuf)> = summary
            .artifacts
            .iter()
            .map(|a| (a.sha256.clone(), store.join(v2::blob_path(&a.sha256))))
            .collect();
        blobs.sort();
        blobs.dedup();
        let limit = Arc::new(Semaphore::new(TRANSFER_CONCURRENCY));
        let mut jobs = JoinSet::new();
        for (sha, path) in blobs {
            let (t, limit) = (self.transport.clone(), limit.clone());
            let uri = artifacts.join(&format!("{}/{sha}", &sha[..2]));
            jobs.spawn(async move {
                let _permit = limit.acquire().await.expect("semaphore open");
                t.put_content_addressed(&path, &uri, &sha, None)
                    .await
                    .map(|_| ())
            });
        }
        drain(jobs).await?;
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
        out[field::PLAN_PROTOCOL] = json!(PlanProtocol::V2.as_str());
        out[field::PLAN_V2_MANIFEST_S3_URI] = json!(manifest_uri.to_string());
        out[field::PLAN_V2_ARTIFACT_S3_PREFIX] = json!(format!(
            "s3://{}/{}",
            artifacts.bucket,
            artifacts.key.trim_end_matches('/')
        ));
        out[field::PLAN_HASH] = json!(summary.manifest_hash);
        out[field::AUDIO_S3_URI] = Value::Null;
        Ok(())
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
                let limit = Arc::new(Semaphore::new(TRANSFER_CONCURRENCY));
                let mut jobs = JoinSet::new();
                for a in needed {
                    let (t, limit) = (self.transport.clone(), limit.clone());
                    let uri = artifact_prefix.join(&format!("{}/{}", &a.sha256[..2], a.sha256));
                    let dest = transport_dir.join(v2::blob_path(&a.sha256));
                    jobs.spawn(async move {
                        let _permit = limit.acquire().await.expect("semaphore open");
                        t.download_verified(&uri, &dest, &a.sha256)
                            .await
                            .map(|_| ())
                    });
                }
                drain(jobs).await?;
                let (m, d) = (manifest_path.clone(), plan_dir.clone());
                blocking(move || Ok(v2::materialize(&m, &transport_dir, &d, role)?)).await?;
            }
        }
        Ok(plan_dir)
    }

    async fn render_chunk(&self, e: &ChunkEvent) -> Result<Value, HandlerError> {
        let work = WorkDir::new(&self.work_root, "hf-chunk")?;
        let plan_dir = self
            .fetch_plan(&e.location, Some(&e.plan_hash), Role::Chunk(e.index), &work)
            .await?;
        let out_dir = work.join("out");
        let chunk = {
            let (p, i, o, d) = (
                self.producer.clone(),
                e.index,
                out_dir.clone(),
                plan_dir.clone(),
            );
            blocking(move || p.render_chunk(&d, i, &o)).await?
        };
        let uri = e.output_prefix.join(&chunk_key(e.index, e.format));
        if chunk.is_frame_dir {
            let tarball = work.join("frames.tar.gz");
            let (d, t) = (chunk.path.clone(), tarball.clone());
            blocking(move || archive::create_tar_gz(&d, &t)).await?;
            self.transport
                .upload(&tarball, &uri, Some("application/gzip"))
                .await?;
        } else {
            self.transport.upload(&chunk.path, &uri, None).await?;
        }
        // Small on purpose: Map results accumulate in the execution state.
        Ok(json!({
            field::CHUNK_S3_URI: uri.to_string(),
            field::CHUNK_INDEX: e.index,
            field::SHA256: chunk.sha256,
            field::FRAMES_ENCODED: chunk.frames,
        }))
    }

    async fn assemble(&self, e: &AssembleEvent) -> Result<Value, HandlerError> {
        let work = WorkDir::new(&self.work_root, "hf-assemble")?;
        let plan_dir = self
            .fetch_plan(&e.location, e.plan_hash.as_deref(), Role::Assembler, &work)
            .await?;
        let chunk_dir = work.join("chunks");
        let limit = Arc::new(Semaphore::new(TRANSFER_CONCURRENCY));
        let mut jobs = JoinSet::new();
        let mut downloaded: Vec<(usize, PathBuf)> = Vec::new();
        for (i, uri) in e.chunks.iter().enumerate() {
            let name = uri.key.rsplit('/').next().unwrap_or("chunk").to_string();
            let dest = chunk_dir.join(format!("{i:04}-{name}"));
            downloaded.push((i, dest.clone()));
            let (t, uri, limit) = (self.transport.clone(), uri.clone(), limit.clone());
            jobs.spawn(async move {
                let _permit = limit.acquire().await.expect("semaphore open");
                t.download(&uri, &dest).await.map(|_| ())
            });
        }
        drain(jobs).await?;
        downloaded.sort();
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
        let audio = match &e.audio {
            Some(uri) => {
                let dest = plan_dir.join("audio.m4a");
                self.transport.download(uri, &dest).await?;
                Some(dest)
            }
            None => Some(plan_dir.join("audio.m4a")).filter(|p| p.is_file()),
        };
        let out = match e.format {
            Format::PngSequence => work.join("output-frames"),
            f => work.join(&format!("output.{}", f.extension())),
        };
        let info = {
            let (p, d, o) = (self.producer.clone(), plan_dir.clone(), out.clone());
            blocking(move || p.assemble(&d, &chunks, audio.as_deref(), &o)).await?
        };
        if info.path.is_dir() {
            let tarball = work.join("output.tar.gz");
            let (d, t) = (info.path.clone(), tarball.clone());
            blocking(move || archive::create_tar_gz(&d, &t)).await?;
            self.transport
                .upload(&tarball, &e.output, Some("application/gzip"))
                .await?;
        } else {
            self.transport.upload(&info.path, &e.output, None).await?;
        }
        Ok(json!({
            field::OUTPUT_S3_URI: e.output.to_string(),
            field::FRAMES_ENCODED: info.frames_encoded,
            field::FILE_SIZE: info.file_size,
        }))
    }
}

/// Waits for every transfer, then reports the first failure: no task is
/// left writing into a work dir that is about to be removed.
async fn drain(mut jobs: JoinSet<Result<(), HandlerError>>) -> Result<(), HandlerError> {
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
