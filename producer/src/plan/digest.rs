//! Hashing: SHA-256 helpers, canonical JSON and the plan hash.
//!
//! The plan hash framing follows the reference (`hyperframes-plan-hash-v1`) so a
//! worker can prove it renders exactly the bytes the planner froze.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::errors::{ProducerError, Result};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Streams a file through SHA-256 so large media never sits in memory whole.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).map_err(|e| ProducerError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| ProducerError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Canonical JSON: object keys sorted byte-wise, no whitespace. The workspace
/// enables serde_json's `preserve_order`, so sorting must be explicit here.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Everything besides the plan's files that the plan hash covers.
pub struct PlanHashInputs<'a> {
    pub font_snapshot_sha: &'a str,
    pub producer_version: &'a str,
    pub ffmpeg_version: &'a str,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub format: &'a str,
}

/// Files under a plan dir that are not hashed as assets: the hash's own
/// container, the separately framed inputs, and the transport copies.
fn is_hash_excluded(rel: &str) -> bool {
    rel == "plan.json"
        || rel == "meta/encoder.json"
        || rel == "compiled/index.html"
        || rel.starts_with("transport/")
        || rel == ".hyperframes-plan-v2.json"
}

/// Every regular file under `root` (symlinks skipped) as sorted POSIX relative paths.
pub fn list_files(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| ProducerError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ProducerError::io(dir, e))?;
        let ft = entry
            .file_type()
            .map_err(|e| ProducerError::io(entry.path(), e))?;
        let path = entry.path();
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_file() {
            let rel = path
                .strip_prefix(root)
                .expect("walk stays under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}

/// Recomputes the plan hash from the bytes on disk.
pub fn compute_plan_hash(plan_dir: &Path, inputs: &PlanHashInputs) -> Result<String> {
    let index = plan_dir.join("compiled/index.html");
    let encoder = plan_dir.join("meta/encoder.json");
    let index_bytes = fs::read(&index).map_err(|e| ProducerError::io(&index, e))?;
    let encoder_bytes = fs::read(&encoder).map_err(|e| ProducerError::io(&encoder, e))?;
    let mut h = Sha256::new();
    h.update(b"hyperframes-plan-hash-v1\0");
    h.update(&index_bytes);
    h.update(b"\0");
    // Files on disk by their bytes; the ones a worker's role did not fetch
    // by the digest the verified manifest gave them (see v2::absent_digests).
    let mut digests = crate::plan::v2::absent_digests(plan_dir)?;
    for (rel, path) in list_files(plan_dir)? {
        if !is_hash_excluded(&rel) {
            digests.insert(rel, sha256_file(&path)?);
        }
    }
    for (rel, digest) in digests {
        if is_hash_excluded(&rel) {
            continue;
        }
        h.update(rel.as_bytes());
        h.update(b"\0");
        h.update(digest.as_bytes());
        h.update(b"\0");
    }
    h.update(inputs.font_snapshot_sha.as_bytes());
    h.update(b"\0");
    h.update(&encoder_bytes);
    h.update(b"\0");
    h.update(inputs.producer_version.as_bytes());
    h.update(b"\0");
    h.update(inputs.ffmpeg_version.as_bytes());
    h.update(b"\0");
    h.update(
        format!(
            "{}/1x{}x{}x{}",
            inputs.fps, inputs.width, inputs.height, inputs.format
        )
        .as_bytes(),
    );
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v = json!({"b": 1, "a": {"z": [true, null], "y": "s"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"y":"s","z":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn plan_hash_changes_with_any_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("compiled")).unwrap();
        fs::create_dir_all(p.join("meta")).unwrap();
        fs::write(p.join("compiled/index.html"), "<html></html>").unwrap();
        fs::write(p.join("meta/encoder.json"), "{}").unwrap();
        fs::write(p.join("compiled/a.css"), "x").unwrap();
        fs::write(p.join("plan.json"), "ignored").unwrap();
        let inputs = PlanHashInputs {
            font_snapshot_sha: "f",
            producer_version: "0.1.0",
            ffmpeg_version: "ffmpeg version 5.1",
            fps: 30,
            width: 640,
            height: 360,
            format: "mp4",
        };
        let h0 = compute_plan_hash(p, &inputs).unwrap();
        fs::write(p.join("plan.json"), "still ignored").unwrap();
        assert_eq!(compute_plan_hash(p, &inputs).unwrap(), h0);
        fs::write(p.join("compiled/a.css"), "y").unwrap();
        let h1 = compute_plan_hash(p, &inputs).unwrap();
        assert_ne!(h1, h0);
        let h2 = compute_plan_hash(p, &PlanHashInputs { fps: 60, ..inputs }).unwrap();
        assert_ne!(h2, h1);
    }
}
