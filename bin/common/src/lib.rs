//! What the AWS command-line programs (`deploy`, `destroy`, `render`,
//! `sites`, `progress`, `cancel`) share: one way to load credentials and
//! explain SDK errors, one `main` wrapper, and the stack outputs file that
//! `deploy` writes and the render tools read.

pub mod aws;
pub mod bars;
pub mod cli;
pub mod outputs;

use std::path::{Path, PathBuf};

/// The workspace these programs were built in: where the handler crate,
/// the default runtime directory, `.tools` and the test fixtures are.
/// The one definition: the programs and the test support both use it.
pub fn workspace_root() -> PathBuf {
    // bin/common -> the workspace.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
