//! The `bootstrap` the package, jail and workflow tests run.
//!
//! It is the one `cargo test --workspace` has just built into
//! `<target>/debug`: cargo builds a package's binaries for its integration
//! tests, and the handler has some. The suite so compiles the handler once,
//! not a second time with `--release` in a target directory of its own
//! (the outer `cargo test` holds the lock on this one): that build took
//! 3.5 min on CI and 10 min here while the installs ran. It is the same
//! code as the deployed binary, without the optimiser (the crates that do
//! heavy lifting in the tests, brotli, sha2 and miniz_oxide, are optimised
//! in the dev profile too); `deploy` and `package` build with `--release`.
//!
//! A test run of another package alone does not rebuild the handler, so a
//! binary older than any source it is built from is refused, with the
//! command that rebuilds it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

/// Where the sources of `bootstrap` live, relative to the workspace root.
/// Not the workspace's `Cargo.toml` and `Cargo.lock`: any other package's
/// new dependency touches them and the handler's build stays fresh (cargo
/// rightly does not relink it), so the binary would be refused for nothing.
/// A dependency bump of the handler's own is rebuilt by the whole suite.
const SOURCES: &[&str] = &[
    "handler/src",
    "handler/Cargo.toml",
    "producer/src",
    "producer/Cargo.toml",
    "infra/src",
    "infra/Cargo.toml",
];

/// The workspace's dev-profile `bootstrap`, checked once per process.
/// `target_tmpdir` is the calling test's `env!("CARGO_TARGET_TMPDIR")`.
pub fn bootstrap(target_tmpdir: &Path) -> &'static PathBuf {
    static BOOTSTRAP: OnceLock<PathBuf> = OnceLock::new();
    BOOTSTRAP.get_or_init(|| {
        let path = target_tmpdir
            .parent()
            .expect("target/tmp has a parent")
            .join("debug")
            .join("bootstrap");
        let rebuild = "run the whole suite (`cargo test --workspace`, or scripts/test.sh), \
                       or first `cargo build -p hyperframes-handler --bin bootstrap`";
        let built = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| panic!("{} does not exist: {rebuild}", path.display()));
        let root = crate::workspace_root();
        if let Some((newer, _)) = SOURCES
            .iter()
            .filter_map(|s| newest(&root.join(s)))
            .filter(|(_, t)| *t > built)
            .max_by_key(|(_, t)| *t)
        {
            panic!(
                "{} is older than {}: {rebuild}",
                path.display(),
                newer.display()
            );
        }
        path
    })
}

/// The most recently modified file under `p`, or `p` itself.
fn newest(p: &Path) -> Option<(PathBuf, SystemTime)> {
    let meta = std::fs::symlink_metadata(p).ok()?;
    if !meta.is_dir() {
        return Some((p.to_path_buf(), meta.modified().ok()?));
    }
    std::fs::read_dir(p)
        .ok()?
        .filter_map(|e| newest(&e.ok()?.path()))
        .max_by_key(|(_, t)| *t)
}
