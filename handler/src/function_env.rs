//! What the function takes from its environment, read once at its edge
//! (`bootstrap`'s start, `hyperframes invoke`'s) through the lookup the
//! edge passes in; nothing below it reads a variable itself.

use hyperframes_infra::stack::env;
use hyperframes_producer::settings::Settings as ProducerSettings;

use crate::bundled;

/// The function's environment, parsed.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    /// `HYPERFRAMES_RENDER_BUCKET`, as set (checked by [`crate::start`]).
    pub render_bucket: Option<String>,
    /// The package's location and the browser it asks for.
    pub bundled: bundled::Settings,
    /// The producer's `HF_*` settings, or every bad one named.
    pub producer: Result<ProducerSettings, String>,
    /// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`.
    pub log_level: Option<String>,
    /// Whether a Runtime API is there to report an init error to.
    pub under_runtime_api: bool,
    /// S3 needs path-style addressing: an endpoint override (moto, MinIO,
    /// LocalStack) is set.
    pub s3_path_style: bool,
}

impl FunctionEnv {
    /// Reads every variable through `get` (the edge passes
    /// the process environment; tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> FunctionEnv {
        FunctionEnv {
            render_bucket: get(env::RENDER_BUCKET),
            bundled: bundled::Settings::from_lookup(&get),
            producer: ProducerSettings::from_lookup(&get).map_err(|e| e.to_string()),
            log_level: get("AWS_LAMBDA_LOG_LEVEL").or_else(|| get("RUST_LOG")),
            under_runtime_api: get("AWS_LAMBDA_RUNTIME_API").is_some(),
            s3_path_style: get("AWS_ENDPOINT_URL").is_some()
                || get("AWS_ENDPOINT_URL_S3").is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn each_variable_lands_where_the_function_uses_it() {
        let vars: HashMap<&str, &str> = [
            ("HYPERFRAMES_RENDER_BUCKET", "renders"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("LD_LIBRARY_PATH", "/opt/lib"),
            ("RUST_LOG", "debug"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("HF_CAPTURE_PAGES", "two"),
        ]
        .into_iter()
        .collect();
        let e = FunctionEnv::from_lookup(|k| vars.get(k).map(|v| v.to_string()));
        assert_eq!(e.render_bucket.as_deref(), Some("renders"));
        assert_eq!(
            e.bundled.inherited.ld_library_path.as_deref(),
            Some("/opt/lib")
        );
        assert!(!e.bundled.inherited.home);
        assert_eq!(e.log_level.as_deref(), Some("debug"));
        assert!(e.under_runtime_api && e.s3_path_style);
        assert!(e.producer.unwrap_err().contains("HF_CAPTURE_PAGES"));
        let bare = FunctionEnv::from_lookup(|_| None);
        assert!(!bare.under_runtime_api && !bare.s3_path_style && bare.producer.is_ok());
    }
}
