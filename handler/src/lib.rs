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
pub mod dispatch;
pub mod error;
pub mod event;
pub mod logging;
pub mod payload;
pub mod producer;
pub mod s3uri;
pub mod transport;
pub mod workdir;

pub use dispatch::Handler;
pub use error::HandlerError;
pub use event::Event;
pub use producer::{LocalProducer, Producer};
pub use transport::S3Transport;

use std::sync::Arc;

use hyperframes_infra::stack::env;

/// Builds the handler from the function's environment. The render bucket
/// is required: without it every URI would have to be trusted.
pub async fn from_env() -> Result<Handler, String> {
    let bucket = std::env::var(env::RENDER_BUCKET)
        .ok()
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            format!(
                "{} is not set; the stack sets it to the render bucket's name",
                env::RENDER_BUCKET
            )
        })?;
    // Started before the S3 client is built: the unpack overlaps
    // everything up to the first render.
    let producer: Arc<dyn Producer> =
        match bundled::BundledProducer::start(bundled::Settings::from_env())? {
            Some(p) => p,
            None => Arc::new(LocalProducer),
        };
    Ok(Handler {
        render_bucket: bucket,
        work_root: std::env::temp_dir(),
        transport: S3Transport::from_env().await,
        producer,
    })
}
