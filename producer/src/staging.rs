//! Private directories for work in progress: a result is built in one and
//! renamed into place, so a failure never leaves a partial plan, chunk or
//! output where a reader would take it for a finished one.

use std::path::Path;

use tempfile::TempDir;

use crate::errors::{ProducerError, Result};

/// A fresh directory beside `target` (`.<name>.<what>.XXXXXX` in the same
/// parent, hence on the same file system, so renaming out of it is atomic),
/// removed with whatever is left in it when dropped.
pub fn beside(target: &Path, what: &str) -> Result<TempDir> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|e| ProducerError::io(parent, e))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    tempfile::Builder::new()
        .prefix(&format!(".{name}.{what}."))
        .tempdir_in(parent)
        .map_err(|e| ProducerError::io(parent, e))
}

/// A fresh directory under the system temp dir, removed when dropped.
pub fn temp(prefix: &str) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| ProducerError::io(std::env::temp_dir(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_is_a_private_sibling_removed_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("plan");
        let t = beside(&target, "staging").unwrap();
        assert_eq!(t.path().parent(), Some(d.path()));
        assert!(t
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".plan.staging."));
        std::fs::write(t.path().join("x"), "partial").unwrap();
        let kept = t.path().to_path_buf();
        drop(t);
        assert!(!kept.exists());
    }
}
