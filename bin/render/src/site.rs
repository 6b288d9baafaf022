//! Sites: a project directory uploaded once, content-addressed, so many
//! renders (and retries) reuse it (`sites create ./project`).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

use hyperframes_handler::archive;

/// Root-level directories that are build output or tooling, not the
/// composition: left out of both the site id and the archive, so they can
/// neither change the id nor bloat the upload.
pub const SKIPPED_ROOT_DIRS: &[&str] = &[
    ".git",
    ".cache",
    ".next",
    ".turbo",
    "node_modules",
    "output",
    "failures",
    "dist",
];

fn keep(rel: &Path) -> bool {
    let mut parts = rel.components();
    let first = parts
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let at_root = parts.next().is_none();
    !(at_root && first.is_some_and(|f| SKIPPED_ROOT_DIRS.contains(&f.as_str())))
}

/// The files of a site, in archive order (regular files only).
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    archive::collect(dir, Path::new(""), &keep, &mut all).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(all
        .into_iter()
        .filter(|rel| dir.join(rel).symlink_metadata().is_ok_and(|m| m.is_file()))
        .collect())
}

/// The site id: the first 16 hex digits of SHA-256 over every file's
/// relative path, a NUL, and its bytes, in archive order.
pub fn site_id(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        bail!(
            "{} is not a directory; pass the project directory (the one with index.html)",
            dir.display()
        );
    }
    if !dir.join("index.html").is_file() {
        bail!(
            "{} has no index.html; a HyperFrames project's root composition is index.html",
            dir.display()
        );
    }
    let mut h = Sha256::new();
    for rel in files(dir)? {
        h.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
        h.update([0u8]);
        let mut f = std::fs::File::open(dir.join(&rel))
            .with_context(|| format!("cannot read {}", rel.display()))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        h.update(&buf);
    }
    Ok(hyperframes_producer::plan::digest::hex(&h.finalize())[..16].to_string())
}

/// Where a site lives in the render bucket.
pub fn site_key(id: &str) -> String {
    format!("sites/{id}/project.tar.gz")
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    pub site_id: String,
    pub project_s3_uri: String,
    pub bytes: u64,
    /// False when an identical site was already there.
    pub uploaded: bool,
}

/// Uploads `dir` as a site unless HeadObject finds it already.
pub async fn create(s3: &aws_sdk_s3::Client, bucket: &str, dir: &Path) -> Result<Site> {
    let id = site_id(dir)?;
    let key = site_key(&id);
    let uri = format!("s3://{bucket}/{key}");
    match s3.head_object().bucket(bucket).key(&key).send().await {
        Ok(h) => {
            return Ok(Site {
                site_id: id,
                project_s3_uri: uri,
                bytes: h.content_length().unwrap_or(0).max(0) as u64,
                uploaded: false,
            });
        }
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => bail!(
            "cannot check s3://{bucket}/{key}: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        ),
    }
    // Removed when dropped, whether the upload worked or not.
    let tarball = tempfile::Builder::new()
        .prefix(&format!("hf-site-{id}-"))
        .suffix(".tar.gz")
        .tempfile()
        .context("cannot create a temporary file for the site archive")?;
    archive::create_tar_gz_filtered(dir, tarball.path(), &keep)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bytes = std::fs::metadata(tarball.path())?.len();
    let body = ByteStream::from_path(tarball.path())
        .await
        .context("cannot read the site archive")?;
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/gzip")
        .body(body)
        .send()
        .await;
    put.map_err(|e| {
        anyhow::anyhow!(
            "cannot upload {uri}: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })?;
    Ok(Site {
        site_id: id,
        project_s3_uri: uri,
        bytes,
        uploaded: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_id_ignores_tooling_dirs_and_tracks_content() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("assets")).unwrap();
        std::fs::write(d.join("index.html"), "<html>").unwrap();
        std::fs::write(d.join("assets/a.css"), "a{}").unwrap();
        let id = site_id(d).unwrap();
        assert_eq!(id.len(), 16);
        std::fs::create_dir_all(d.join("node_modules/x")).unwrap();
        std::fs::write(d.join("node_modules/x/y.js"), "junk").unwrap();
        assert_eq!(
            site_id(d).unwrap(),
            id,
            "node_modules does not change the id"
        );
        std::fs::write(d.join("assets/a.css"), "a{color:red}").unwrap();
        assert_ne!(site_id(d).unwrap(), id);
        assert!(site_id(&d.join("assets"))
            .unwrap_err()
            .to_string()
            .contains("no index.html"));
    }
}
