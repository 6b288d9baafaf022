//! Plan protocol v2: the execution dir published as content-addressed SHA-256
//! blobs plus a canonical JSON manifest, so workers download only what their
//! role needs and verify every byte they get.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::errors::{ProducerError, Result};
use crate::plan::digest::{self, canonical_json, sha256_hex};
use crate::plan::files::PlanJson;

/// One blob in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub path: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// Which chunk workers need it.
    pub chunks: ChunkScope,
    pub assembler: bool,
}

/// Which chunk workers need an artifact: `"all"`, or the listed chunks
/// (`[]` for none), as the manifest spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChunkScope {
    All(AllChunks),
    Only(Vec<u32>),
}

/// The word `all` in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AllChunks {
    #[serde(rename = "all")]
    All,
}

impl ChunkScope {
    pub const ALL: ChunkScope = ChunkScope::All(AllChunks::All);

    pub fn includes(&self, chunk: u32) -> bool {
        match self {
            ChunkScope::All(_) => true,
            ChunkScope::Only(list) => list.contains(&chunk),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSummary {
    pub manifest_path: PathBuf,
    /// sha256 over `"hyperframes-plan-manifest-hash-v2\0"` + canonical manifest minus planHash.
    pub manifest_hash: String,
    pub artifacts: Vec<Artifact>,
}

const MARKER: &str = ".hyperframes-plan-v2.json";

/// The digests of the plan files a role did not fetch, by relative path,
/// as [`materialize`] recorded them from the verified manifest: the plan
/// hash covers every file, and a worker hashes these without their bytes.
/// Empty for a plan dir that was not materialized from a manifest.
pub fn absent_digests(plan_dir: &Path) -> Result<std::collections::BTreeMap<String, String>> {
    let path = plan_dir.join(MARKER);
    let Ok(text) = fs::read(&path) else {
        return Ok(Default::default());
    };
    let marker: Value = serde_json::from_slice(&text).map_err(|e| {
        ProducerError::PlanV2Integrity(format!("{}: not JSON: {e}", path.display()))
    })?;
    match marker.get("absent") {
        None => Ok(Default::default()),
        Some(a) => serde_json::from_value(a.clone()).map_err(|e| {
            ProducerError::PlanV2Integrity(format!(
                "{}: absent files unreadable: {e}",
                path.display()
            ))
        }),
    }
}

fn route(path: &str) -> (ChunkScope, bool) {
    match path {
        // LoadedPlan::load reads these four, so every role needs them.
        "plan.json" | "meta/chunks.json" | "meta/encoder.json" | "meta/videos.json" => {
            (ChunkScope::ALL, true)
        }
        // Only the assembler encodes the mix (about 1 MB a minute). A
        // chunk still checks the plan hash over it, by the digest that
        // [`materialize`] records for the files a role did not fetch.
        "audio.m4a" => (ChunkScope::Only(Vec::new()), true),
        p if p.starts_with("compiled/") || p == "meta/composition.json" => (ChunkScope::ALL, false),
        _ => (ChunkScope::ALL, true),
    }
}

fn blob_rel(sha: &str) -> String {
    format!("artifacts/sha256/{}/{sha}", &sha[..2])
}

/// Publishes `plan_dir` (a finished v1 execution dir) into `out_dir`.
pub fn publish(plan_dir: &Path, plan: &PlanJson, out_dir: &Path) -> Result<ManifestSummary> {
    let mut artifacts = Vec::new();
    for (rel, path) in digest::list_files(plan_dir)? {
        if rel.starts_with("transport/") {
            continue;
        }
        let sha = digest::sha256_file(&path)?;
        let size = fs::metadata(&path)
            .map_err(|e| ProducerError::io(&path, e))?
            .len();
        let blob = out_dir.join(blob_rel(&sha));
        if !blob.exists() {
            fs::create_dir_all(blob.parent().expect("has parent"))
                .map_err(|e| ProducerError::io(&blob, e))?;
            if fs::hard_link(&path, &blob).is_err() {
                fs::copy(&path, &blob).map_err(|e| ProducerError::io(&blob, e))?;
            }
        }
        let (chunks, assembler) = route(&rel);
        artifacts.push(Artifact {
            path: rel,
            sha256: sha,
            size_bytes: size,
            chunks,
            assembler,
        });
    }
    let mut manifest = json!({
        "protocol": {"schemaVersion": 2, "artifactLayout": "content-addressed-plan-v2",
                     "hashSchema": "hyperframes-plan-manifest-hash-v2"},
        "sourcePlanV1Hash": plan.plan_hash,
        "chunkCount": plan.chunk_count,
        "totalFrames": plan.total_frames,
        "fps": plan.dimensions.fps_num,
        "width": plan.dimensions.width,
        "height": plan.dimensions.height,
        "format": plan.dimensions.format.as_str(),
        "ffmpegVersion": plan.ffmpeg_version,
        "producerVersion": plan.producer_version,
        "limitations": {"videoDependencyMode": "full-source-pack"},
        "artifacts": serde_json::to_value(&artifacts)?,
    });
    let hash = manifest_hash(&manifest);
    manifest["planHash"] = json!(hash);
    let manifest_path = out_dir.join("plan.json");
    fs::write(&manifest_path, canonical_json(&manifest))
        .map_err(|e| ProducerError::io(&manifest_path, e))?;
    Ok(ManifestSummary {
        manifest_path,
        manifest_hash: hash,
        artifacts,
    })
}

fn manifest_hash(manifest: &Value) -> String {
    let mut m = manifest.clone();
    if let Some(o) = m.as_object_mut() {
        o.remove("planHash");
    }
    let mut bytes = b"hyperframes-plan-manifest-hash-v2\0".to_vec();
    bytes.extend_from_slice(canonical_json(&m).as_bytes());
    sha256_hex(&bytes)
}

/// Who is materializing: a chunk worker gets its subset, the assembler its own.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    Chunk(u32),
    Assembler,
    Everything,
}

impl Role {
    /// Whether this role needs the artifact.
    pub fn needs(self, a: &Artifact) -> bool {
        match self {
            Role::Everything => true,
            Role::Assembler => a.assembler,
            Role::Chunk(i) => a.chunks.includes(i),
        }
    }
}

/// Reads a manifest and checks it before anything uses it: its self-hash
/// matches its `planHash`, and every artifact digest is a lowercase 64-hex
/// SHA-256 (digests become S3 keys and local paths).
fn read_manifest(manifest_path: &Path) -> Result<(String, Vec<Artifact>)> {
    let integrity = |m: String| ProducerError::PlanV2Integrity(m);
    let text = fs::read(manifest_path)
        .map_err(|e| integrity(format!("{}: {e}", manifest_path.display())))?;
    let manifest: Value = serde_json::from_slice(&text)
        .map_err(|e| integrity(format!("{}: not JSON: {e}", manifest_path.display())))?;
    let claimed = manifest["planHash"].as_str().unwrap_or("").to_string();
    if manifest_hash(&manifest) != claimed {
        return Err(integrity(format!(
            "{}: manifest hash does not match its planHash {claimed}",
            manifest_path.display()
        )));
    }
    let artifacts: Vec<Artifact> = serde_json::from_value(manifest["artifacts"].clone())
        .map_err(|e| integrity(format!("artifacts list unreadable: {e}")))?;
    for a in &artifacts {
        let hex = a.sha256.len() == 64
            && a.sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(integrity(format!(
                "artifact {:?} has digest {:?}, not a lowercase 64-hex SHA-256",
                a.path, a.sha256
            )));
        }
    }
    Ok((claimed, artifacts))
}

/// The distinct blobs (by SHA-256) `role` needs from a manifest: what a
/// worker downloads before [`materialize`], checked first because the list
/// decides which S3 keys are fetched and which local paths are written.
pub fn artifacts_for(manifest_path: &Path, role: Role) -> Result<Vec<Artifact>> {
    let (_, artifacts) = read_manifest(manifest_path)?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(artifacts
        .into_iter()
        .filter(|a| role.needs(a) && seen.insert(a.sha256.clone()))
        .collect())
}

/// The relative path of a blob in a blob store: `artifacts/sha256/<aa>/<sha>`.
pub fn blob_path(sha: &str) -> String {
    blob_rel(sha)
}

/// Rebuilds an execution dir from a v2 manifest and its blob store, verifying
/// the manifest hash and every blob's size and SHA-256.
pub fn materialize(
    manifest_path: &Path,
    blob_root: &Path,
    dest: &Path,
    role: Role,
) -> Result<PathBuf> {
    let integrity = |m: String| ProducerError::PlanV2Integrity(m);
    let (claimed, artifacts) = read_manifest(manifest_path)?;
    let mut absent = std::collections::BTreeMap::new();
    for a in &artifacts {
        if !role.needs(a) {
            absent.insert(a.path.clone(), a.sha256.clone());
            continue;
        }
        if a.path.contains("..") || a.path.starts_with('/') {
            return Err(integrity(format!(
                "artifact path {:?} escapes the plan",
                a.path
            )));
        }
        let blob = blob_root.join(blob_rel(&a.sha256));
        let bytes = fs::read(&blob)
            .map_err(|e| integrity(format!("blob for {} ({}): {e}", a.path, blob.display())))?;
        if bytes.len() as u64 != a.size_bytes || sha256_hex(&bytes) != a.sha256 {
            return Err(integrity(format!(
                "blob for {} does not match its size/sha256 in the manifest",
                a.path
            )));
        }
        let target = dest.join(&a.path);
        fs::create_dir_all(target.parent().expect("has parent"))
            .map_err(|e| ProducerError::io(&target, e))?;
        fs::write(&target, &bytes).map_err(|e| ProducerError::io(&target, e))?;
    }
    fs::write(
        dest.join(MARKER),
        canonical_json(&json!({"planHash": claimed, "absent": absent})),
    )
    .map_err(|e| ProducerError::io(dest, e))?;
    Ok(dest.to_path_buf())
}
