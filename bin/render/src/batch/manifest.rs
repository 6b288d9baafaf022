//! The batch's manifest: one JSON object per row (JSONL), rewritten
//! atomically (a temporary file renamed over it) whenever a row changes,
//! so an interrupted batch leaves a whole file that the next run resumes
//! from. Default: next to the rows file, `ROWS.manifest.jsonl`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not started yet (waiting for a slot).
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// One row of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Physical line in the rows file.
    pub line: usize,
    /// The execution name (locally, the row's name).
    pub render_id: String,
    pub execution_arn: Option<String>,
    pub status: Status,
    pub output_key: String,
    /// Wall time of the render (the execution's, on a stack).
    pub duration_ms: Option<u64>,
    /// Accrued cost (Lambda and Step Functions; none locally).
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The output as it was when the row succeeded: what a re-run compares.
    pub output_bytes: Option<u64>,
    /// S3's ETag of the output (on a stack).
    pub output_etag: Option<String>,
    /// SHA-256 of the output file (locally).
    pub output_sha256: Option<String>,
    /// The row's hash ([`super::rows::BatchRow::hash`]): a row whose
    /// values or settings changed is a new row.
    pub row_hash: String,
}

impl Entry {
    /// A row not started yet.
    pub fn pending(row: &super::rows::BatchRow, render_id: String) -> Entry {
        Entry {
            line: row.line,
            render_id,
            execution_arn: None,
            status: Status::Pending,
            output_key: row.output_key.clone(),
            duration_ms: None,
            cost_usd: None,
            error: None,
            cause: None,
            output_bytes: None,
            output_etag: None,
            output_sha256: None,
            row_hash: row.hash.clone(),
        }
    }

    /// Marks the row failed with an error name and its cause.
    pub fn fail(&mut self, error: &str, cause: String) {
        self.status = Status::Failed;
        self.error = Some(error.to_string());
        self.cause = Some(cause);
    }
}

/// `rows.jsonl` -> `rows.manifest.jsonl`.
pub fn default_path(rows: &Path) -> PathBuf {
    let stem = rows
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rows".into());
    rows.with_file_name(format!("{stem}.manifest.jsonl"))
}

/// The entries of an earlier run (none when there is no file). A line
/// that is not an entry is skipped with a warning: its row is rendered
/// again rather than trusted.
pub fn load(path: &Path) -> Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the manifest {}", path.display()))
        }
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => out.push(e),
            Err(e) => eprintln!(
                "warning: {} line {}: not a manifest entry ({e}); that row is not resumed",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

/// The manifest's text: one entry per line, in row order.
pub fn to_jsonl(entries: &[Entry]) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str(&serde_json::to_string(e).expect("an entry serializes"));
        s.push('\n');
    }
    s
}

/// Writes the manifest through a temporary file in the same directory,
/// renamed over the old one: a reader (or a killed run) sees the old file
/// or the new one, never half of one.
pub fn write_atomic(path: &Path, entries: &[Entry]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write the manifest in {}", dir.display()))?;
    std::fs::write(tmp.path(), to_jsonl(entries))
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write the manifest {}", path.display()))?;
    Ok(())
}

/// The size and SHA-256 of a file.
pub fn file_digest(path: &Path) -> Result<(u64, String)> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, hyperframes_producer::plan::digest::hex(&h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_round_trips_and_sits_next_to_the_rows() {
        assert_eq!(
            default_path(Path::new("/x/rows.jsonl")),
            Path::new("/x/rows.manifest.jsonl")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        assert!(load(&path).unwrap().is_empty());
        let e = Entry {
            line: 3,
            render_id: "r".into(),
            execution_arn: None,
            status: Status::Failed,
            output_key: "a.mp4".into(),
            duration_ms: Some(5),
            cost_usd: None,
            error: Some("ASSET_FETCH_FAILED".into()),
            cause: Some("variables.logo: no".into()),
            output_bytes: None,
            output_etag: None,
            output_sha256: None,
            row_hash: "h".into(),
        };
        write_atomic(&path, &[e.clone(), e.clone()]).unwrap();
        assert_eq!(load(&path).unwrap(), vec![e.clone(), e]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "{\"line\":3,\"renderId\":\"r\",\"executionArn\":null,\"status\":\"failed\""
            ),
            "{text}"
        );
    }
}
