//! A fresh directory per invocation (under `TMPDIR` in Lambda), removed when dropped:
//! warm containers reuse `/tmp`, and a failed render must not leave
//! gigabytes behind for the next invocation.

use std::path::{Path, PathBuf};

use crate::error::HandlerError;

#[derive(Debug)]
pub struct WorkDir(tempfile::TempDir);

impl WorkDir {
    /// `root/<prefix>-XXXXXX`, private to this invocation.
    pub fn new(root: &Path, prefix: &str) -> Result<WorkDir, HandlerError> {
        std::fs::create_dir_all(root)
            .map_err(|e| HandlerError::io("cannot create work dir root", root, e))?;
        tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir_in(root)
            .map(WorkDir)
            .map_err(|e| HandlerError::io("cannot create work dir in", root, e))
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }
}
