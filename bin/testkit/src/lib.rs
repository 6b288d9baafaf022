//! Test support for the command-line packages: a moto server started on
//! loopback for each test, a Lambda Runtime API that runs a real
//! `bootstrap` the way Lambda does, and the `bootstrap` those tests package.

pub mod bootstrap;
pub mod moto;
pub mod runtime_api;

use std::path::{Path, PathBuf};

/// The workspace root, where `.tools`, `producer/tests/fixtures` and
/// `examples/` are.
pub fn workspace_root() -> PathBuf {
    // bin/testkit -> the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where `scripts/test.sh` installed the test tools: `HF_TOOLS_DIR`, else
/// the workspace's `.tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("HF_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools"))
}
