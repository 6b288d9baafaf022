//! The function's logs: one JSON object per line on stderr, through
//! `tracing` and the subscriber crates `lambda_runtime` re-exports.
//!
//! Lambda sends stderr to CloudWatch like stdout, and the local `invoke`
//! program keeps stdout for the result. Every line logged while an event is
//! handled carries the runtime's `Lambda runtime invoke` span, so the
//! request id (`requestId`) is on each of them (under `spans`); lines from
//! the cold-start unpack come before any request and have none.
//!
//! `lambda_runtime::tracing::init_default_subscriber` writes JSON only when
//! the function's log format is set to JSON; ours always is, so CloudWatch
//! Logs Insights can query the fields whatever the function's logging
//! configuration. The level follows Lambda's advanced logging controls the
//! same way: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO.

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt;

/// Installs the JSON subscriber for this process at `level` (the
/// function's [`crate::FunctionEnv::log_level`]); a second call (or a
/// subscriber installed by the caller) is left as it is.
pub fn init(level: Option<&str>) {
    let level = level
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(level.into())
                .from_env_lossy(),
        )
        .try_init();
}
