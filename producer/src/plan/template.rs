//! Planning a template once: the part of a plan that depends on the
//! project and not on the render's variables, kept in a cache entry and
//! reused by later plans of the same project.
//!
//! What is reused: the compiled page (remote scripts and stylesheets
//! inlined, fonts turned into data URIs), the remote media the compile
//! fetched (`compiled/_remote/`), `meta/videos.json` (every media element
//! probed) and `audio.m4a` (the mix). What is done for every plan: reading
//! the root composition, validating the variables, fetching the images a
//! variable names, copying the project, the encoder settings, the hash and
//! the transport copies. A plan made from an entry is byte-identical to a
//! plan made without one.
//!
//! The entry is one file, `<key>.hft`: a magic line, the SHA-256 of the
//! rest, a JSON header naming the files and their lengths, then their
//! bytes. An entry whose digest or framing does not check out is refused
//! and rebuilt, never used. Entries are written to a temporary file in the
//! cache directory and renamed into place, so two plans of one template
//! writing at once each leave a whole entry (the same bytes).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::{ProducerError, Result};
use crate::plan::assets::AssetMap;
use crate::plan::digest::{canonical_json, hex};

/// The first line of an entry; a new layout gets a new line.
const MAGIC: &str = "hf-template 1\n";

/// File name extension of an entry.
pub const ENTRY_EXTENSION: &str = "hft";

/// The variable-independent artifacts of a plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    /// The font snapshot of the compile (URL -> inlined bytes).
    pub fonts: BTreeMap<String, u64>,
    /// `compiled/index.html`, the compiled page.
    pub html: String,
    /// Remote media under `compiled/` (relative path, bytes).
    pub remote_files: Vec<(String, Vec<u8>)>,
    /// `meta/videos.json`, as written.
    pub videos_json: Vec<u8>,
    /// `audio.m4a`, when the page has audible media.
    pub audio: Option<Vec<u8>>,
}

/// An entry's header: what follows it, in order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Header {
    key: String,
    fonts: BTreeMap<String, u64>,
    html_len: u64,
    remote_files: Vec<(String, u64)>,
    videos_json_len: u64,
    audio_len: Option<u64>,
}

/// The cache key of a project's template: the producer and ffmpeg builds,
/// the entry file, the project's bytes (as the plan copies them) and the
/// asset map (what the compile fetches through). The render's variables
/// and the other settings are not in it: they do not change the template.
pub fn key(
    project_dir: &Path,
    entry_file: &str,
    map: &AssetMap,
    ffmpeg_version: &str,
) -> Result<String> {
    let inputs = serde_json::json!({
        "layout": MAGIC.trim_end(),
        "producer": crate::plan::PRODUCER_VERSION,
        "compiler": compiler_digest(),
        "ffmpeg": ffmpeg_version,
        "entry": entry_file,
        "project": project_digest(project_dir)?,
        "assetMap": map.fingerprint(),
        "allowNetwork": map.allow_network,
    });
    let digest = Sha256::digest(canonical_json(&inputs).as_bytes());
    Ok(hex(&digest)[..32].to_string())
}

/// SHA-256 of the code that makes a template (compile, mount, asset
/// inlining, the variables runtime, the media probe and audio mix): the
/// producer's version string does not change with every build, and an
/// entry written by other code must not be reused, on this machine or in a
/// stack's bucket after a redeploy.
fn compiler_digest() -> &'static str {
    static DIGEST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DIGEST.get_or_init(|| {
        let sources = [
            include_str!("mod.rs"),
            include_str!("compile.rs"),
            include_str!("mount.rs"),
            include_str!("assets.rs"),
            include_str!("html.rs"),
            include_str!("template.rs"),
            include_str!("../variables/runtime.js"),
            include_str!("../encode/probe.rs"),
        ];
        let mut h = Sha256::new();
        for s in sources {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        hex(&h.finalize())
    })
}

/// SHA-256 over the files the plan copies from the project (path, NUL,
/// length, bytes, in copy order).
fn project_digest(project_dir: &Path) -> Result<String> {
    let mut h = Sha256::new();
    for (rel, path) in crate::plan::compile::project_files(project_dir)? {
        let bytes = std::fs::read(&path).map_err(|e| ProducerError::io(&path, e))?;
        h.update(rel.as_bytes());
        h.update([0u8]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex(&h.finalize()))
}

impl Template {
    /// The entry's bytes: magic, digest line, header, files.
    fn encode(&self, key: &str) -> Result<Vec<u8>> {
        let header = Header {
            key: key.to_string(),
            fonts: self.fonts.clone(),
            html_len: self.html.len() as u64,
            remote_files: self
                .remote_files
                .iter()
                .map(|(rel, b)| (rel.clone(), b.len() as u64))
                .collect(),
            videos_json_len: self.videos_json.len() as u64,
            audio_len: self.audio.as_ref().map(|a| a.len() as u64),
        };
        let mut body = serde_json::to_vec(&header)?;
        body.push(b'\n');
        body.extend_from_slice(self.html.as_bytes());
        for (_, bytes) in &self.remote_files {
            body.extend_from_slice(bytes);
        }
        body.extend_from_slice(&self.videos_json);
        if let Some(a) = &self.audio {
            body.extend_from_slice(a);
        }
        let mut out = format!("{MAGIC}sha256:{}\n", hex(&Sha256::digest(&body))).into_bytes();
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads an entry back; `Err` says why it cannot be trusted.
    fn decode(bytes: &[u8], key: &str) -> std::result::Result<Template, String> {
        let rest = bytes
            .strip_prefix(MAGIC.as_bytes())
            .ok_or("it does not start with the entry magic")?;
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("it has no digest line")?;
        let digest = std::str::from_utf8(&rest[..nl])
            .ok()
            .and_then(|l| l.strip_prefix("sha256:"))
            .ok_or("its digest line is malformed")?;
        let body = &rest[nl + 1..];
        let actual = hex(&Sha256::digest(body));
        if actual != digest {
            return Err(format!(
                "its bytes hash to {actual}, not the recorded {digest} (truncated or corrupt)"
            ));
        }
        let nl = body
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("it has no header")?;
        let header: Header = serde_json::from_slice(&body[..nl])
            .map_err(|e| format!("its header is not readable: {e}"))?;
        if header.key != key {
            return Err(format!("it is the entry of {}, not {key}", header.key));
        }
        let mut files = &body[nl + 1..];
        let mut take = |n: u64| -> std::result::Result<Vec<u8>, String> {
            let n = usize::try_from(n).map_err(|_| "a length overflows")?;
            if n > files.len() {
                return Err("it is shorter than its header says".into());
            }
            let (head, tail) = files.split_at(n);
            files = tail;
            Ok(head.to_vec())
        };
        let html =
            String::from_utf8(take(header.html_len)?).map_err(|_| "the page is not UTF-8")?;
        let mut remote_files = Vec::new();
        for (rel, len) in &header.remote_files {
            remote_files.push((rel.clone(), take(*len)?));
        }
        let videos_json = take(header.videos_json_len)?;
        let audio = header.audio_len.map(&mut take).transpose()?;
        if !files.is_empty() {
            return Err("it is longer than its header says".into());
        }
        Ok(Template {
            fonts: header.fonts,
            html,
            remote_files,
            videos_json,
            audio,
        })
    }
}

/// A directory of template entries (`<dir>/<key>.hft`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateCache {
    pub dir: PathBuf,
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Template),
    Missing,
    /// An entry that failed its checks (the reason); it is rebuilt.
    Refused(String),
}

impl TemplateCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TemplateCache { dir: dir.into() }
    }

    /// Where `key`'s entry lives.
    pub fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ENTRY_EXTENSION}"))
    }

    pub(crate) fn load(&self, key: &str) -> Lookup {
        let path = self.entry_path(key);
        let mut bytes = Vec::new();
        match std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Missing,
            Err(e) => return Lookup::Refused(format!("{} cannot be read: {e}", path.display())),
        }
        match Template::decode(&bytes, key) {
            Ok(t) => Lookup::Hit(t),
            Err(why) => Lookup::Refused(format!("{}: {why}", path.display())),
        }
    }

    /// Removes all but the `n` most recently written entries (and any
    /// temporary file a crash left), so a long-lived cache stays bounded.
    /// Best effort: what cannot be listed or removed is left.
    pub fn keep_newest(&self, n: usize) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for e in dir.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(&path);
            } else if name.ends_with(&format!(".{ENTRY_EXTENSION}")) {
                let written = e.metadata().and_then(|m| m.modified());
                entries.push((written.unwrap_or(std::time::UNIX_EPOCH), path));
            }
        }
        entries.sort_by(|a, b| b.cmp(a));
        for (_, path) in entries.into_iter().skip(n) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Writes the entry through a temporary file renamed into place.
    pub(crate) fn store(&self, key: &str, template: &Template) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ProducerError::io(&self.dir, e))?;
        let bytes = template.encode(key)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{key}."))
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| ProducerError::io(&self.dir, e))?;
        std::io::Write::write_all(&mut tmp, &bytes)
            .map_err(|e| ProducerError::io(tmp.path(), e))?;
        let path = self.entry_path(key);
        tmp.persist(&path)
            .map_err(|e| ProducerError::io(&path, e.error))?;
        Ok(path)
    }
}

/// What a plan took from the template cache (in [`crate::PlanOutcome`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateReuse {
    /// The template's cache key; `None` when the plan had no cache.
    pub key: Option<String>,
    /// The compiled page, its media metadata and audio mix came from the cache.
    pub compile: bool,
    /// Remote files of the template taken from the cache.
    pub assets: usize,
    /// Images fetched for this render's variables (never cached).
    pub variable_assets: usize,
    /// Why a cached entry was refused and rebuilt.
    pub refused: Option<String>,
    /// The entry this plan wrote (after a miss or a refusal).
    pub stored: Option<PathBuf>,
    /// Why writing the entry failed (the plan itself went on).
    pub store_failed: Option<String>,
}

impl TemplateReuse {
    /// One line for the plan's log.
    pub fn describe(&self) -> String {
        let Some(key) = &self.key else {
            return format!(
                "not cached (no cache directory); {} variable asset(s) fetched",
                self.variable_assets
            );
        };
        let mut s = if self.compile {
            format!(
                "{key} reused: compile, media and audio, {} asset(s)",
                self.assets
            )
        } else {
            format!("{key} planned")
        };
        if let Some(why) = &self.refused {
            s.push_str(&format!(" (cached entry refused: {why})"));
        }
        if let Some(p) = &self.stored {
            s.push_str(&format!("; cached in {}", p.display()));
        }
        if let Some(why) = &self.store_failed {
            s.push_str(&format!("; not cached: {why}"));
        }
        s.push_str(&format!(
            "; {} variable asset(s) fetched for this render",
            self.variable_assets
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Template {
        Template {
            fonts: [("https://f/a.woff2".to_string(), 12)].into(),
            html: "<html>é</html>".into(),
            remote_files: vec![("_remote/ab.png".into(), vec![1, 2, 3])],
            videos_json: b"{\"videos\": []}\n".to_vec(),
            audio: Some(vec![9; 5]),
        }
    }

    #[test]
    fn an_instance_keeps_only_its_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TemplateCache::new(dir.path());
        let t = sample();
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            let path = cache.store(key, &t).unwrap();
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000 + i as u64);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        std::fs::write(dir.path().join(".d.x.tmp"), b"torn").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        cache.keep_newest(2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b.hft", "c.hft", "notes.txt"]);
        assert!(matches!(cache.load("c"), Lookup::Hit(_)));
    }

    #[test]
    fn an_entry_reads_back_and_any_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TemplateCache::new(dir.path());
        let path = cache.store("k1", &sample()).unwrap();
        match cache.load("k1") {
            Lookup::Hit(t) => assert_eq!(t, sample()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(cache.load("k2"), Lookup::Missing));
        let good = std::fs::read(&path).unwrap();
        let truncated = &good[..good.len() - 2];
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        for (bad, want) in [(truncated, "hash"), (&flipped[..], "hash"), (b"x", "magic")] {
            std::fs::write(&path, bad).unwrap();
            match cache.load("k1") {
                Lookup::Refused(why) => assert!(why.contains(want), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        // Another key's (intact) entry under this name is refused too.
        std::fs::write(&path, sample().encode("k9").unwrap()).unwrap();
        assert!(matches!(cache.load("k1"), Lookup::Refused(w) if w.contains("k9")));
        // No temporary file is left behind.
        cache.store("k1", &sample()).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k1.hft"]);
    }
}
