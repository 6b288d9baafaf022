//! The render function: one `bootstrap` that runs `plan`, `renderChunk`
//! and `assemble` for the Step Functions workflow.
//!
//! The library holds everything but the Lambda runtime loop, so tests and
//! the local `invoke` program call [`Handler::handle`] directly. Event
//! field names, action names and error names all come from
//! `hyperframes_infra::contract`, the same module the state machine's
//! Retry lists are generated from.

pub mod archive;
pub mod bundled;
pub(crate) mod dispatch;
pub(crate) mod error;
pub(crate) mod event;
mod function_env;
pub mod init;
pub mod logging;
pub mod payload;
pub(crate) mod producer;
pub mod s3uri;
pub mod transport;
pub(crate) mod workdir;

pub use dispatch::{Handler, TEMPLATE_CACHE_DIR};
pub use error::HandlerError;
pub use event::Event;
pub use function_env::FunctionEnv;
pub use producer::{LocalProducer, Producer};
pub use transport::S3Transport;

use std::sync::Arc;

use init::{InitError, InitFailure};

/// Where the handler runs, which decides what a package without a payload
/// manifest means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// A Lambda execution environment (`bootstrap`, also in the local
    /// stack's jail): it has no Chromium or ffmpeg but the package's, so a
    /// package without its manifest is an init error, never a fallback to
    /// host tools that are not there.
    Lambda,
    /// In process on this machine (the `invoke` program): the package's
    /// payload when `LAMBDA_TASK_ROOT` holds one, else this machine's
    /// Chromium and ffmpeg.
    Machine,
}

/// Builds the handler from the function's environment (read once by the
/// caller), checking everything a later invocation would otherwise fail
/// on: the render bucket (without it every URI would have to be trusted),
/// the producer's settings, the browser path a `chrome-headless-shell`
/// function needs, and the package's manifest and payload files. Every
/// problem found is in the error.
pub async fn start(host: Host, env: FunctionEnv) -> Result<Handler, InitFailure> {
    let settings = env.bundled;
    let mut problems = Vec::new();
    match env.producer {
        Ok(s) => hyperframes_producer::settings::install(s),
        Err(e) => problems.push(InitError::ProducerSettings(e)),
    }
    let bucket = init::render_bucket(env.render_bucket.as_deref())
        .map_err(|e| problems.push(e))
        .ok();
    if let Err(e) = init::chrome_path(&settings) {
        problems.push(e);
    }
    let payload = payload_of(host, &settings)
        .map_err(|e| problems.extend(e))
        .ok();
    let (Some(bucket), Some(payload), true) = (bucket, payload, problems.is_empty()) else {
        return Err(InitFailure(problems));
    };
    // Started before the S3 client is built: the unpack overlaps
    // everything up to the first render.
    let producer: Arc<dyn Producer> = match payload {
        Some((manifest, digest)) => bundled::BundledProducer::start(settings, manifest, digest),
        None => Arc::new(LocalProducer),
    };
    Ok(Handler {
        render_bucket: bucket,
        work_root: std::env::temp_dir(),
        transport: S3Transport::connect(env.s3_path_style).await,
        producer,
    })
}

/// The package's manifest (and its digest) once its payload files are
/// all there; `None` only on [`Host::Machine`] without a manifest, where
/// this machine's tools render.
fn payload_of(
    host: Host,
    settings: &bundled::Settings,
) -> Result<Option<(payload::Manifest, String)>, Vec<InitError>> {
    let loaded = payload::Manifest::load(&settings.task_root).map_err(|e| vec![e])?;
    let Some((manifest, digest)) = loaded else {
        return match host {
            Host::Lambda => Err(vec![InitError::ManifestMissing]),
            Host::Machine => Ok(None),
        };
    };
    let problems = init::check_package(&settings.task_root, &manifest, settings.source);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Some((manifest, digest)))
}
