//! The test doubles, one of each, shared by the tests and the local stack:
//! the moto launcher ([`moto`]), the Lambda Runtime API on hyper
//! ([`runtime_api`], with a blocking face for tests that drive one
//! `bootstrap`), the loopback HTTP server loop the local services share
//! ([`http`]), the `bootstrap` the package tests build, a webhook
//! receiver that records what it is sent ([`webhook`]), and an S3 proxy
//! that answers 500 to a share of requests ([`fault_proxy`]).

pub mod bootstrap;
pub mod fault_proxy;
pub mod http;
pub mod moto;
pub mod runtime_api;
pub mod webhook;

use std::path::PathBuf;

pub use hyperframes_cli::workspace_root;

/// Where `scripts/test.sh` installed the test tools: `HF_TOOLS_DIR`, else
/// the workspace's `.tools`.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("HF_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools"))
}

/// The producer's settings from this run's environment (scripts/test.sh
/// sets `HF_ALLOW_NETWORK=0` and `HF_TOOLS_DIR`), installed as a program's
/// edge installs them: the library reads no variable itself.
pub fn install_producer_settings() {
    let env = |k: &str| std::env::var(k).ok();
    let settings = hyperframes_producer::settings::Settings::from_lookup(&env);
    hyperframes_producer::settings::install(settings.expect("the HF_* settings parse"));
}
