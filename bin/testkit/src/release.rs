//! The release `bootstrap` the package, jail and workflow tests run, built
//! once per test binary into `<target>/lambda`: its own target directory,
//! since the outer `cargo test` holds the lock on the main one.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Builds (once per process) and returns the release `bootstrap`.
/// `target_tmpdir` is the calling test's `env!("CARGO_TARGET_TMPDIR")`.
pub fn bootstrap(target_tmpdir: &Path) -> &'static PathBuf {
    static BOOTSTRAP: OnceLock<PathBuf> = OnceLock::new();
    BOOTSTRAP.get_or_init(|| {
        let target = target_tmpdir
            .parent()
            .expect("target/tmp has a parent")
            .join("lambda");
        hyperframes_deploy::package::build_bootstrap(&crate::workspace_root(), &target)
            .unwrap_or_else(|e| panic!("building the release bootstrap failed: {e:#}"))
    })
}
