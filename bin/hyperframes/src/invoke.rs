//! `hyperframes invoke`: run one event through the render function locally, like
//! `sam local invoke`, against the S3 API at `AWS_ENDPOINT_URL` (or AWS).
//!
//!   hyperframes invoke --event examples/events/plan.json [--render-bucket B]
//!
//! Prints the function's result as JSON. On failure prints what Lambda
//! would report (`{"errorType", "errorMessage"}`) and exits 1; a bad
//! command line exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

/// Run a render-function event locally.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event (JSON), bare or wrapped in Payload/Input.
    #[arg(long, value_name = "FILE")]
    event: PathBuf,
    /// The render bucket every URI must be in (default: $HYPERFRAMES_RENDER_BUCKET,
    /// else the bucket of the event's first S3 URI).
    #[arg(long)]
    render_bucket: Option<String>,
}

fn first_bucket(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => s
            .strip_prefix("s3://")
            .and_then(|r| r.split('/').next())
            .map(str::to_string),
        serde_json::Value::Array(a) => a.iter().find_map(first_bucket),
        serde_json::Value::Object(m) => m.values().find_map(first_bucket),
        _ => None,
    }
}

/// Runs the event on a runtime of its own.
pub fn run(cli: Args) -> ExitCode {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(invoke(cli)),
        Err(e) => {
            eprintln!("invoke: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn invoke(cli: Args) -> ExitCode {
    let text = match std::fs::read_to_string(&cli.event) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("invoke: cannot read {}: {e}", cli.event.display());
            return ExitCode::from(2);
        }
    };
    let event: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("invoke: {} is not JSON: {e}", cli.event.display());
            return ExitCode::from(2);
        }
    };
    // The function's environment, read once, as bootstrap reads it.
    let mut env = hyperframes_handler::FunctionEnv::from_lookup(|k| std::env::var(k).ok());
    let bucket = cli
        .render_bucket
        .or_else(|| env.render_bucket.clone().filter(|b| !b.trim().is_empty()))
        .or_else(|| first_bucket(&event));
    let Some(bucket) = bucket else {
        eprintln!(
            "invoke: no render bucket: pass --render-bucket or set HYPERFRAMES_RENDER_BUCKET"
        );
        return ExitCode::from(2);
    };
    env.render_bucket = Some(bucket);
    // The function's JSON log lines, on stderr as in CloudWatch.
    hyperframes_handler::logging::init(env.log_level.as_deref());
    let handler = match hyperframes_handler::start(hyperframes_handler::Host::Machine, env).await {
        Ok(h) => h,
        Err(msg) => {
            eprintln!("invoke: {msg}");
            return ExitCode::from(2);
        }
    };
    match handler.handle(event).await {
        Ok(result) => {
            println!("{}", serde_json::to_string_pretty(&result).expect("JSON"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"errorType": e.name.as_str(), "errorMessage": e.message})
                )
                .expect("JSON")
            );
            ExitCode::from(1)
        }
    }
}
