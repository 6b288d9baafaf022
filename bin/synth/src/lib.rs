//! The stack's props as command-line flags, shared by `synth` and `deploy`
//! so both accept the same knobs with the same rules.

pub mod commands;
mod notify_args;

pub use notify_args::NotifyArgs;

use clap::Args;
use hyperframes_infra::{
    ChromeSource, HandlerCode, Knobs, LambdaMemory, LambdaTimeout, RenderStackProps,
    ReservedConcurrency,
};

fn parse_memory(s: &str) -> Result<LambdaMemory, String> {
    let mb: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of MB"))?;
    LambdaMemory::new(mb).map_err(|e| e.message)
}

fn parse_timeout(s: &str) -> Result<LambdaTimeout, String> {
    let secs: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of seconds"))?;
    LambdaTimeout::from_secs(secs).map_err(|e| e.message)
}

fn parse_reserved(s: &str) -> Result<ReservedConcurrency, String> {
    let n: i64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not an integer; use -1 for unreserved or a positive cap"))?;
    ReservedConcurrency::from_i64(n).map_err(|e| e.message)
}

fn parse_chrome(s: &str) -> Result<ChromeSource, String> {
    s.parse::<ChromeSource>().map_err(|e| e.message)
}

fn parse_threshold(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(0) => Err(
            "0 would alarm on every invocation; use a positive number of invocations per hour"
                .into(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a positive whole number")),
    }
}

/// Flags for [`RenderStackProps`]. Defaults are the reference template's.
#[derive(Debug, Clone, Args)]
pub struct StackArgs {
    /// Prefix of every created resource name.
    #[arg(long, default_value = "hyperframes")]
    pub project_name: String,
    /// Lambda memory in MB: 2048..=10240 in steps of 1024 (the default,
    /// 3072, costs least per rendered minute; 10240 is the fastest).
    #[arg(long, default_value_t = LambdaMemory::DEFAULT, value_parser = parse_memory)]
    pub memory_mb: LambdaMemory,
    /// Per-invocation timeout in seconds, 60..=900.
    #[arg(long, default_value = "900", value_parser = parse_timeout)]
    pub timeout_sec: LambdaTimeout,
    /// -1 for unreserved, or a positive cap on concurrent invocations.
    #[arg(long, default_value = "-1", allow_hyphen_values = true, value_parser = parse_reserved)]
    pub reserved_concurrency: ReservedConcurrency,
    /// Chromium build in the handler package: sparticuz or chrome-headless-shell.
    #[arg(long, default_value = "sparticuz", value_parser = parse_chrome)]
    pub chrome_source: ChromeSource,
    /// Invocations per hour that trip the runaway alarm.
    #[arg(long, default_value = "1000", value_parser = parse_threshold)]
    pub alarm_threshold: u32,
    /// Bake the values into the template instead of declaring Parameters.
    #[arg(long)]
    pub no_parameters: bool,
    /// S3 bucket holding the handler ZIP.
    #[arg(long, default_value = "hyperframes-artifacts")]
    pub code_s3_bucket: String,
    /// S3 key of the handler ZIP.
    #[arg(long, default_value = "handler.zip")]
    pub code_s3_key: String,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

impl StackArgs {
    pub fn props(&self) -> RenderStackProps {
        // Settings without a flag (bucket encryption, ...) keep their defaults.
        RenderStackProps::default()
            .project_name(self.project_name.clone())
            .memory(self.memory_mb)
            .timeout(self.timeout_sec)
            .reserved_concurrency(self.reserved_concurrency)
            .chrome_source(self.chrome_source)
            .chunk_invocation_alarm_threshold(self.alarm_threshold)
            .knobs(if self.no_parameters {
                Knobs::Baked
            } else {
                Knobs::Parameters
            })
            .code(HandlerCode::s3(
                self.code_s3_bucket.clone(),
                self.code_s3_key.clone(),
            ))
    }
}
