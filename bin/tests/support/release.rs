//! The release `bootstrap` the package tests run, built once per test
//! binary into `<target>/lambda` (its own target dir: the outer `cargo
//! test` holds the main one). Shared by bin/ and bin/local/ tests with
//! `#[path = ".../bin/tests/support/release.rs"] mod release;`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn bootstrap() -> &'static PathBuf {
    static BOOTSTRAP: OnceLock<PathBuf> = OnceLock::new();
    BOOTSTRAP.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target/tmp has a parent")
            .join("lambda");
        let workspace = hyperframes_cli::deploy::workspace_root();
        hyperframes_cli::package::build_bootstrap(&workspace, &target)
            .unwrap_or_else(|e| panic!("building the release bootstrap failed: {e:#}"))
    })
}
