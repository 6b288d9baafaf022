//! `plan()`: freezes a project into a hermetic, hashed plan directory that any
//! worker can render a chunk of without the network or the original project.
//!
//! Layout (v1 execution dir, as the reference):
//! `plan.json`, `compiled/` (the page + project files), `audio.m4a` (if any),
//! `meta/{composition,encoder,chunks,videos}.json`; transport copies live in
//! `transport/` (not hashed): `plan.tar.gz` (v1) and `v2/` (content-addressed
//! blobs + canonical manifest).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::assets::AssetMap;
use crate::chunks::{duration_to_frames, plan_chunks, ChunkSlice};
use crate::compile::{self, Composition, MediaElement};
use crate::config::{Codec, Format, Preset, Quality, RenderConfig};
use crate::digest::{self, canonical_json, sha256_hex, PlanHashInputs};
use crate::errors::{ProducerError, Result};
use crate::ffmpeg::{self, EncoderSettings};
use crate::{process, v2, SEEK_BRIDGE_JS};

pub const PRODUCER_VERSION: &str = concat!("hyperframes-producer-rs/", env!("CARGO_PKG_VERSION"));
pub const WARMUP_TICKS: u32 = 60;

/// What `plan()` reports to its caller (the handler or the local runner).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOutcome {
    pub plan_dir: PathBuf,
    pub plan_hash: String,
    pub chunk_count: u32,
    pub chunks: Vec<ChunkSlice>,
    pub total_frames: u64,
    pub duration: f64,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub has_audio: bool,
    pub composition_id: String,
    /// Gzipped tar of the v1 execution dir (deterministic bytes).
    pub tarball: PathBuf,
    pub v2: v2::ManifestSummary,
}

/// Options outside the wire `Config`: where remote assets come from.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// None = [`AssetMap::discover`].
    pub asset_map: Option<AssetMap>,
}

/// `plan.json` of a v1 execution dir.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson {
    pub protocol: Value,
    pub plan_hash: String,
    pub producer_version: String,
    pub ffmpeg_version: String,
    pub font_snapshot_sha: String,
    pub dimensions: Dimensions,
    pub chunk_count: u32,
    pub total_frames: u64,
    pub duration: f64,
    pub has_audio: bool,
    pub composition_id: String,
    pub no_timeline: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dimensions {
    pub fps_num: u32,
    pub fps_den: u32,
    pub width: u32,
    pub height: u32,
    pub format: Format,
}

/// A plan read back from disk by `render_chunk` and `assemble`.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub dir: PathBuf,
    pub plan: PlanJson,
    pub encoder: Value,
    pub chunks: Vec<ChunkSlice>,
}

impl LoadedPlan {
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |rel: &str| -> Result<Vec<u8>> {
            let p = dir.join(rel);
            fs::read(&p).map_err(|e| {
                ProducerError::MissingPlanArtifact(format!(
                    "{}: {e}; is {} a plan directory written by plan()?",
                    p.display(),
                    dir.display()
                ))
            })
        };
        let bad = |rel: &str, e: serde_json::Error| {
            ProducerError::MissingPlanArtifact(format!("{}/{rel} is not valid: {e}", dir.display()))
        };
        let plan: PlanJson =
            serde_json::from_slice(&read("plan.json")?).map_err(|e| bad("plan.json", e))?;
        if plan.protocol["schemaVersion"] != json!(1) {
            return Err(ProducerError::MissingPlanArtifact(format!(
                "{}/plan.json has protocol {}; this producer reads schemaVersion 1 execution dirs (materialize v2 manifests first)",
                dir.display(),
                plan.protocol
            )));
        }
        let encoder: Value = serde_json::from_slice(&read("meta/encoder.json")?)
            .map_err(|e| bad("meta/encoder.json", e))?;
        let chunks: Vec<ChunkSlice> = serde_json::from_slice(&read("meta/chunks.json")?)
            .map_err(|e| bad("meta/chunks.json", e))?;
        let videos = read("meta/videos.json")?;
        serde_json::from_slice::<Value>(&videos)
            .ok()
            .filter(|v| v["videos"].is_array())
            .ok_or_else(|| {
                ProducerError::InvalidVideoMetadata(format!(
                    "{}/meta/videos.json must be an object with a videos array",
                    dir.display()
                ))
            })?;
        Ok(LoadedPlan {
            dir: dir.to_path_buf(),
            plan,
            encoder,
            chunks,
        })
    }

    pub fn format(&self) -> Format {
        self.plan.dimensions.format
    }

    pub fn fps(&self) -> u32 {
        self.plan.dimensions.fps_num
    }

    pub fn settings(&self) -> EncoderSettings {
        let e = &self.encoder;
        EncoderSettings {
            format: self.format(),
            codec: if e["encoder"] == "libx265-software" {
                Codec::H265
            } else {
                Codec::H264
            },
            quality: serde_json::from_value(e["quality"].clone()).unwrap_or(Quality::Standard),
            // encoder.json always names the preset; for mp4 it is what x264/x265 run with.
            preset: e["preset"].as_str().and_then(|p| Preset::parse(p).ok()),
            threads: e["encoderThreads"].as_u64().map(|t| t as u32),
            crf: e["crf"].as_u64().map(|c| c as u32),
            bitrate: e["bitrate"].as_str().map(String::from),
        }
    }

    pub fn hash_inputs(&self) -> PlanHashInputs<'_> {
        PlanHashInputs {
            font_snapshot_sha: &self.plan.font_snapshot_sha,
            producer_version: &self.plan.producer_version,
            ffmpeg_version: &self.plan.ffmpeg_version,
            fps: self.plan.dimensions.fps_num,
            width: self.plan.dimensions.width,
            height: self.plan.dimensions.height,
            format: self.plan.dimensions.format.as_str(),
        }
    }

    /// Recomputes the hash from disk; a worker refuses a plan whose bytes changed.
    pub fn verify_hash(&self) -> Result<()> {
        let actual = digest::compute_plan_hash(&self.dir, &self.hash_inputs())?;
        if actual != self.plan.plan_hash {
            return Err(ProducerError::PlanHashMismatch(format!(
                "{}: plan.json says {} but the files hash to {actual}; the plan was modified or partially copied — re-run plan()",
                self.dir.display(),
                self.plan.plan_hash
            )));
        }
        Ok(())
    }

    /// The local ffmpeg must be the build the plan was made with, or chunk bytes differ.
    pub fn verify_ffmpeg(&self) -> Result<()> {
        let local = ffmpeg::ffmpeg_version()?;
        if local != self.plan.ffmpeg_version {
            return Err(ProducerError::FfmpegVersionMismatch(format!(
                "plan was made with {:?} but this machine has {local:?}; install the same ffmpeg build on planner and workers",
                self.plan.ffmpeg_version
            )));
        }
        Ok(())
    }
}

/// Plans with the default asset map.
pub fn plan(project_dir: &Path, config: &RenderConfig, plan_dir: &Path) -> Result<PlanOutcome> {
    plan_with(project_dir, config, plan_dir, &PlanOptions::default())
}

/// Builds the plan in a staging dir beside `plan_dir` and renames it into place,
/// so a failure never leaves a partial plan behind.
pub fn plan_with(
    project_dir: &Path,
    config: &RenderConfig,
    plan_dir: &Path,
    options: &PlanOptions,
) -> Result<PlanOutcome> {
    config.validate()?;
    let entry = project_dir.join(config.entry_file());
    let html = fs::read_to_string(&entry).map_err(|e| {
        ProducerError::composition(
            &entry,
            format!(
                "cannot read the entry file ({e}); pass a project directory containing {}",
                config.entry_file()
            ),
        )
    })?;
    let html = compile::inline_subcompositions(&html, project_dir, &entry)?;
    let comp = compile::find_root(&html, &entry)?;
    let total_frames = duration_to_frames(comp.duration, config.fps);
    let map = match &options.asset_map {
        Some(m) => m.clone(),
        None => AssetMap::discover()?,
    };
    let compiled = compile::compile(&html, &entry, &map)?;
    let ffmpeg_version = ffmpeg::ffmpeg_version()?;

    if plan_dir.exists() {
        let empty = fs::read_dir(plan_dir)
            .map_err(|e| ProducerError::io(plan_dir, e))?
            .next()
            .is_none();
        if !empty && !plan_dir.join("plan.json").is_file() {
            return Err(ProducerError::config(
                "planDir",
                format!(
                    "{} exists and is not a plan directory; pass an empty or new directory",
                    plan_dir.display()
                ),
            ));
        }
    }
    // A plan dir inside the project would be copied into itself.
    if let (Ok(project), Some(Ok(parent))) = (
        project_dir.canonicalize(),
        plan_dir.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".").canonicalize()
            } else {
                p.canonicalize()
            }
        }),
    ) {
        if parent.starts_with(&project) {
            return Err(ProducerError::config(
                "planDir",
                format!(
                    "{} is inside the project {}; put the plan outside the project directory",
                    plan_dir.display(),
                    project_dir.display()
                ),
            ));
        }
    }
    let staging = sibling_temp(plan_dir, "staging");
    let result = build_plan(
        project_dir,
        config,
        &comp,
        &compiled,
        total_frames,
        &ffmpeg_version,
        &staging,
    );
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if plan_dir.exists() {
        fs::remove_dir_all(plan_dir).map_err(|e| ProducerError::io(plan_dir, e))?;
    }
    fs::rename(&staging, plan_dir).map_err(|e| ProducerError::io(plan_dir, e))?;
    Ok(PlanOutcome {
        plan_dir: plan_dir.to_path_buf(),
        tarball: plan_dir.join("transport/plan.tar.gz"),
        v2: v2::ManifestSummary {
            manifest_path: plan_dir.join("transport/v2/plan.json"),
            ..outcome.v2
        },
        ..outcome
    })
}

/// `<dir>.<what>.<pid>.<nanos>`: unique, on the same filesystem so rename is atomic.
pub(crate) fn sibling_temp(path: &Path, what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.{what}.{}.{nanos:08x}", std::process::id()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| ProducerError::io(parent, e))?;
    }
    fs::write(path, bytes).map_err(|e| ProducerError::io(path, e))
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    if dir.exists() {
        for (_, p) in digest::list_files(dir)? {
            total += fs::metadata(&p)
                .map_err(|e| ProducerError::io(&p, e))?
                .len();
        }
    }
    Ok(total)
}

fn check_size(staging: &Path, limit: u64, stage: &str) -> Result<()> {
    let compiled = dir_size(&staging.join("compiled"))?;
    let audio = fs::metadata(staging.join("audio.m4a"))
        .map(|m| m.len())
        .unwrap_or(0);
    let meta = dir_size(&staging.join("meta"))?;
    let total = compiled + audio + meta;
    if total > limit {
        return Err(ProducerError::PlanTooLarge(format!(
            "plan is {total} bytes at {stage}, over the {limit}-byte cap (compiled {compiled}, audio {audio}, metadata {meta}); shrink media in the project or raise planDirSizeLimitBytes"
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn build_plan(
    project_dir: &Path,
    config: &RenderConfig,
    comp: &Composition,
    compiled: &compile::Compiled,
    total_frames: u64,
    ffmpeg_version: &str,
    staging: &Path,
) -> Result<PlanOutcome> {
    let limit = config.plan_size_limit();
    let compiled_dir = staging.join("compiled");
    compile::copy_project(project_dir, &compiled_dir)?;
    write(&compiled_dir.join("index.html"), compiled.html.as_bytes())?;
    for (rel, bytes) in &compiled.remote_files {
        write(&compiled_dir.join(rel), bytes)?;
    }
    check_size(staging, limit, "pre-extract")?;

    let media = compile::media_elements(&compiled.html);
    let videos = media_metadata(&compiled_dir, &media, comp.duration)?;
    write(
        &staging.join("meta/videos.json"),
        (serde_json::to_string_pretty(&json!({ "videos": videos }))? + "\n").as_bytes(),
    )?;
    let has_audio = mix_audio(
        &compiled_dir,
        &media,
        comp.duration,
        &staging.join("audio.m4a"),
    )?;

    let chunk_plan = plan_chunks(
        total_frames,
        config.chunk_size,
        config.max_parallel_chunks,
        config.target_chunk_frames,
    );
    let chunk_count = chunk_plan.chunks.len() as u32;
    write(
        &staging.join("meta/chunks.json"),
        (serde_json::to_string_pretty(&chunk_plan.chunks)? + "\n").as_bytes(),
    )?;
    let count = |tag: &str| media.iter().filter(|m| m.tag == tag).count();
    let image_count = crate::html::scan(&compiled.html)
        .iter()
        .filter(|t| t.name == "img")
        .count();
    write(
        &staging.join("meta/composition.json"),
        (serde_json::to_string_pretty(&json!({
            "compositionId": comp.id,
            "durationSeconds": comp.duration,
            "width": comp.width,
            "height": comp.height,
            "fps": {"num": config.fps, "den": 1},
            "noTimeline": comp.no_timeline,
            "videoCount": count("video"),
            "audioCount": count("audio"),
            "imageCount": image_count,
        }))? + "\n")
            .as_bytes(),
    )?;

    let settings = EncoderSettings {
        format: config.format,
        codec: config.codec(),
        quality: config.quality(),
        preset: config.preset,
        threads: (config.format == Format::Mp4).then_some(crate::ffmpeg::ENCODER_THREADS),
        crf: config.crf,
        bitrate: config.bitrate.clone(),
    };
    let mut encoder = json!({
        "captureMode": if settings.capture_png() { "screenshot" } else { "beginframe" },
        "forceScreenshot": settings.capture_png(),
        "deviceScaleFactor": 1,
        "useLayeredHdrComposite": false,
        "browserGpuMode": "software",
        "warmupTicks": WARMUP_TICKS,
        "encoder": settings.encoder_name(),
        "quality": settings.quality.as_str(),
        "ffmpegVersion": ffmpeg_version,
        "preset": settings.preset(),
        "gopSize": chunk_plan.effective_chunk_size,
        "closedGop": true,
        "forceKeyframes": "n=0",
        "pixelFormat": settings.pixel_format(),
        "chunkSize": chunk_plan.effective_chunk_size,
        "chunkCount": chunk_count,
        "runtimeEnv": {},
        "seekBridgeSha256": sha256_hex(SEEK_BRIDGE_JS.as_bytes()),
    });
    if let Some(crf) = settings.effective_crf() {
        encoder["crf"] = json!(crf);
    }
    if let Some(t) = settings.threads {
        encoder["encoderThreads"] = json!(t);
    }
    if let Some(b) = &settings.bitrate {
        encoder["bitrate"] = json!(b);
    }
    if let Some(vars) = &config.variables {
        encoder["variables"] = Value::Object(vars.clone());
    }
    write(
        &staging.join("meta/encoder.json"),
        canonical_json(&encoder).as_bytes(),
    )?;

    let font_snapshot = serde_json::to_value(&compiled.inline_log.fonts)?;
    let font_snapshot_sha = sha256_hex(canonical_json(&font_snapshot).as_bytes());
    let inputs = PlanHashInputs {
        font_snapshot_sha: &font_snapshot_sha,
        producer_version: PRODUCER_VERSION,
        ffmpeg_version,
        fps: config.fps,
        width: comp.width,
        height: comp.height,
        format: config.format.as_str(),
    };
    check_size(staging, limit, "pre-freeze")?;
    let plan_hash = digest::compute_plan_hash(staging, &inputs)?;
    let plan_json = PlanJson {
        protocol: json!({"schemaVersion": 1, "artifactLayout": "plan-dir-v1", "hashSchema": "hyperframes-plan-hash-v1"}),
        plan_hash: plan_hash.clone(),
        producer_version: PRODUCER_VERSION.into(),
        ffmpeg_version: ffmpeg_version.into(),
        font_snapshot_sha,
        dimensions: Dimensions {
            fps_num: config.fps,
            fps_den: 1,
            width: comp.width,
            height: comp.height,
            format: config.format,
        },
        chunk_count,
        total_frames,
        duration: comp.duration,
        has_audio,
        composition_id: comp.id.clone(),
        no_timeline: comp.no_timeline,
    };
    write(
        &staging.join("plan.json"),
        (serde_json::to_string_pretty(&plan_json)? + "\n").as_bytes(),
    )?;
    check_size(staging, limit, "post-freeze")?;

    write_tarball(staging, &staging.join("transport/plan.tar.gz"))?;
    let v2 = v2::publish(staging, &plan_json, &staging.join("transport/v2"))?;

    Ok(PlanOutcome {
        plan_dir: staging.to_path_buf(),
        plan_hash,
        chunk_count,
        chunks: chunk_plan.chunks,
        total_frames,
        duration: comp.duration,
        fps: config.fps,
        width: comp.width,
        height: comp.height,
        format: config.format,
        has_audio,
        composition_id: comp.id.clone(),
        tarball: staging.join("transport/plan.tar.gz"),
        v2,
    })
}

impl From<serde_json::Error> for ProducerError {
    fn from(e: serde_json::Error) -> Self {
        ProducerError::RenderFailed(format!("JSON serialization failed: {e}"))
    }
}

/// A deterministic gzipped tar of the execution dir (sorted names, zero mtimes
/// and owners), so two plans of the same project have identical tarballs.
fn write_tarball(plan_dir: &Path, out: &Path) -> Result<()> {
    fs::create_dir_all(out.parent().expect("has parent")).map_err(|e| ProducerError::io(out, e))?;
    let mut members = vec!["plan.json", "compiled", "meta"];
    if plan_dir.join("audio.m4a").exists() {
        members.push("audio.m4a");
    }
    process::run_ok(
        Command::new("tar")
            .args([
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--use-compress-program=gzip -n",
                "-cf",
            ])
            .arg(out)
            .arg("-C")
            .arg(plan_dir)
            .args(&members),
        Duration::from_secs(300),
        "tar",
        ProducerError::RenderFailed,
    )?;
    Ok(())
}

/// Validates local media references and records their windows (`meta/videos.json`).
fn media_metadata(
    compiled_dir: &Path,
    media: &[MediaElement],
    duration: f64,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for m in media {
        let path = local_media_path(compiled_dir, &m.src)?;
        let probe = if crate::runtime::probes_with_ffmpeg() {
            crate::ffmpeg_probe::probe_format(&path)?
        } else {
            process::run(
                Command::new(ffmpeg::ffprobe_bin())
                    .args([
                        "-v",
                        "error",
                        "-show_entries",
                        "format=format_name,duration",
                        "-of",
                        "json",
                    ])
                    .arg(&path),
                Duration::from_secs(60),
                "ffprobe",
            )?
        };
        let v: Value = serde_json::from_slice(&probe.stdout).unwrap_or(Value::Null);
        if !probe.status.success() || v["format"]["format_name"].is_null() {
            return Err(ProducerError::NotMediaPayload(format!(
                "<{} src={:?}> is not a readable audio/video file: {}",
                m.tag,
                m.src,
                probe.stderr_tail()
            )));
        }
        let end = m.duration.map_or(duration, |d| (m.start + d).min(duration));
        if end <= m.start || m.start < 0.0 {
            return Err(ProducerError::InvalidVideoMetadata(format!(
                "<{} id={:?}> window [{}, {end}) is empty or negative; check data-start/data-duration",
                m.tag, m.id, m.start
            )));
        }
        out.push(json!({
            "id": m.id, "tag": m.tag, "src": m.src, "start": m.start, "end": end,
            "mediaStart": m.media_start, "volume": m.volume, "hasAudio": m.has_audio,
        }));
    }
    Ok(out)
}

fn local_media_path(compiled_dir: &Path, src: &str) -> Result<PathBuf> {
    let clean = src
        .split(['?', '#'])
        .next()
        .unwrap_or(src)
        .trim_start_matches("./");
    if clean.contains("..") || clean.starts_with('/') || clean.contains("://") {
        return Err(ProducerError::VideoSourceUnrenderable(format!(
            "media src {src:?} must be a relative path inside the project"
        )));
    }
    let p = compiled_dir.join(clean);
    if !p.is_file() {
        return Err(ProducerError::VideoSourceUnrenderable(format!(
            "media src {src:?} does not exist in the project"
        )));
    }
    Ok(p)
}

/// Mixes every audible media element into one 48 kHz stereo AAC track of exactly
/// the composition's length; returns false when nothing is audible.
fn mix_audio(
    compiled_dir: &Path,
    media: &[MediaElement],
    duration: f64,
    out: &Path,
) -> Result<bool> {
    let mut cmd = Command::new(ffmpeg::ffmpeg_bin());
    cmd.args(["-v", "error", "-nostdin"]);
    let mut filters = Vec::new();
    let mut n = 0;
    for m in media.iter().filter(|m| m.has_audio) {
        let path = local_media_path(compiled_dir, &m.src)?;
        if ffmpeg::probe_audio_duration(&path)?.is_none() {
            continue;
        }
        cmd.args(["-ss", &format!("{:.6}", m.media_start)]);
        if let Some(d) = m.duration {
            cmd.args(["-t", &format!("{d:.6}")]);
        }
        cmd.arg("-i").arg(&path);
        let delay = (m.start * 1000.0).round() as u64;
        filters.push(format!(
            "[{n}:a]aresample=48000,aformat=channel_layouts=stereo,volume={:.4},adelay={delay}|{delay}[a{n}]",
            m.volume
        ));
        n += 1;
    }
    if n == 0 {
        return Ok(false);
    }
    let inputs: String = (0..n).map(|i| format!("[a{i}]")).collect();
    filters.push(format!(
        "{inputs}amix=inputs={n}:normalize=0:duration=longest,apad[mix]"
    ));
    cmd.args(["-filter_complex", &filters.join(";"), "-map", "[mix]"])
        .args(["-t", &format!("{duration:.6}")])
        .args([
            "-ar",
            "48000",
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-fflags",
            "+bitexact",
            "-y",
        ])
        .arg(out);
    process::run_ok(&mut cmd, Duration::from_secs(600), "audio mix", |m| {
        ProducerError::NotMediaPayload(m)
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_temp_is_beside_the_target() {
        let t = sibling_temp(Path::new("/a/b/plan"), "staging");
        assert_eq!(t.parent(), Some(Path::new("/a/b")));
        assert!(t
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".plan.staging."));
    }
}
