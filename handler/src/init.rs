//! What the function checks before it asks for its first event: its
//! environment and its package. A problem found here would fail every
//! invocation the same way, so it is one typed error, reported once as the
//! runtime's init error under the contract name `FUNCTION_MISCONFIGURED`,
//! which no stage retries (see [`report`] for how it reaches Step
//! Functions).
//!
//! Each problem is a variant of [`InitError`], and every problem found is
//! reported at once ([`InitFailure`]), each naming the package step or the
//! variable to fix.

use std::fmt;
use std::path::{Path, PathBuf};

use hyperframes_infra::contract::ErrorName;
use hyperframes_infra::stack::env;
use hyperframes_infra::ChromeSource;

use crate::bundled::{Settings, CHROME_PATH_ENV};
use crate::payload::{Manifest, MANIFEST_PATH, PACKAGE_REMEDY};

/// What the stack's template does for a variable it sets.
const TEMPLATE_SETS: &str = "the stack's template sets it in the function's environment: \
     redeploy the stack (`cargo run --bin deploy -- --stack-name <stack>`), and do not remove \
     or edit it on the function";

/// One thing that keeps the function from starting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitError {
    /// `payload/manifest.json` is absent: the package was not built by
    /// `package` (or `deploy`), so it carries no Chromium and no ffmpeg.
    #[error(
        "the package has no manifest ({MANIFEST_PATH}), so it carries no Chromium and no \
         ffmpeg: {PACKAGE_REMEDY}"
    )]
    ManifestMissing,
    /// The manifest exists but cannot be read.
    #[error("cannot read the package's manifest {}: {why}; {PACKAGE_REMEDY}", .path.display())]
    ManifestUnreadable { path: PathBuf, why: String },
    /// The manifest is not JSON of the manifest's shape.
    #[error("the package's manifest {} is malformed ({why}); {PACKAGE_REMEDY}", .path.display())]
    ManifestMalformed { path: PathBuf, why: String },
    /// A manifest of another format than this `bootstrap` reads.
    #[error(
        "the package's manifest {} has format {found}, this bootstrap reads format 1: the \
         payload and the bootstrap come from different builds; {PACKAGE_REMEDY}",
        .path.display()
    )]
    ManifestFormat { path: PathBuf, found: u32 },
    /// The manifest lacks a component the function needs (`ffmpeg`, or
    /// `chromium` with the `sparticuz` Chrome source).
    #[error(
        "the package's manifest ({MANIFEST_PATH}) has no {component} component; {PACKAGE_REMEDY}"
    )]
    ComponentMissing { component: &'static str },
    /// A payload file (an archive or a compressed binary) the manifest
    /// names is not in the package.
    #[error(
        "the package lacks {path}, the {component} payload its manifest names; {PACKAGE_REMEDY}"
    )]
    PayloadMissing { component: String, path: String },
    /// An `HF_*` variable of the producer does not parse (every bad one
    /// is in the message).
    #[error("{0}: the function's environment is the stack's (its template or your overrides)")]
    ProducerSettings(String),
    /// A variable the function needs is unset or empty; `fix` says who sets it.
    #[error("{var} is not set: {fix}")]
    EnvMissing { var: &'static str, fix: String },
    /// A variable holds a value the function cannot use.
    #[error("{var} is `{value}`, {why}: {fix}")]
    EnvInvalid {
        var: &'static str,
        value: String,
        why: String,
        fix: String,
    },
}

/// Every problem found at init, in the order checked (environment first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFailure(pub Vec<InitError>);

impl InitFailure {
    /// The contract name every init failure reaches Step Functions as.
    pub const NAME: ErrorName = ErrorName::FunctionMisconfigured;
}

impl fmt::Display for InitFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the function cannot start: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; and ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InitFailure {}

impl From<InitError> for InitFailure {
    fn from(e: InitError) -> Self {
        InitFailure(vec![e])
    }
}

/// The render bucket's name from `value`, or why it is unusable. S3's
/// rules, short of the IP-address form: 3..=63 lowercase letters, digits,
/// dots and hyphens, starting and ending with a letter or digit.
pub fn render_bucket(value: Option<&str>) -> Result<String, InitError> {
    let fix = || format!("{TEMPLATE_SETS} (it is the render bucket's name)");
    let v = value.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Err(InitError::EnvMissing {
            var: env::RENDER_BUCKET,
            fix: fix(),
        });
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = (3..=63).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(v.chars().next())
        && edge(v.chars().last());
    if !ok {
        return Err(InitError::EnvInvalid {
            var: env::RENDER_BUCKET,
            value: v.to_string(),
            why: "not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)"
                .into(),
            fix: fix(),
        });
    }
    Ok(v.to_string())
}

/// The `chrome-headless-shell` source needs the user's browser: its path
/// set, and a file there (the layer or image is mounted before init).
pub fn chrome_path(settings: &Settings) -> Result<(), InitError> {
    if settings.source != ChromeSource::ChromeHeadlessShell {
        return Ok(());
    }
    let fix = "with ChromeSource chrome-headless-shell the function runs the headless shell \
               from your layer or image: set it on the function to that binary (e.g. \
               /opt/chrome-headless-shell), or deploy with ChromeSource sparticuz";
    match &settings.chrome_path {
        None => Err(InitError::EnvMissing {
            var: CHROME_PATH_ENV,
            fix: fix.into(),
        }),
        Some(p) if !p.is_file() => Err(InitError::EnvInvalid {
            var: CHROME_PATH_ENV,
            value: p.display().to_string(),
            why: "which is not a file in the function".into(),
            fix: "check that the layer or image carrying the headless shell is attached and \
                  that the path names its binary"
                .into(),
        }),
        Some(_) => Ok(()),
    }
}

/// The components `source` needs, in unpack order.
fn needed(source: ChromeSource) -> &'static [&'static str] {
    match source {
        ChromeSource::Sparticuz => &["chromium", "ffmpeg"],
        ChromeSource::ChromeHeadlessShell => &["ffmpeg"],
    }
}

/// Every needed component is in the manifest and every file it names is
/// in the package. Only presence: the unpack, which overlaps the first
/// invocation, checks each file's SHA-256 as it streams.
pub fn check_package(
    task_root: &Path,
    manifest: &Manifest,
    source: ChromeSource,
) -> Vec<InitError> {
    let mut problems = Vec::new();
    for &name in needed(source) {
        let Some(c) = manifest.component(name) else {
            problems.push(InitError::ComponentMissing { component: name });
            continue;
        };
        for f in &c.files {
            if !task_root.join(&f.path).is_file() {
                problems.push(InitError::PayloadMissing {
                    component: name.into(),
                    path: f.path.clone(),
                });
            }
        }
    }
    problems
}

/// Reports `failure` to Lambda's Runtime API as the init error.
///
/// Why `/runtime/init/error` and not a handler that fails every event:
/// Lambda answers the invocation that met a failed init with the body the
/// runtime posted there, `errorType` included (as it does for the managed
/// runtimes' `Runtime.ImportModuleError`), with `X-Amz-Function-Error:
/// Unhandled`; a Task state takes that `errorType` as the error its Retry
/// matches, so `FUNCTION_MISCONFIGURED` stops at the first Retry entry. It
/// also keeps a broken environment from ever looking ready: Lambda
/// discards it, and nothing waits on an unpack that cannot succeed. The
/// local stack's Runtime API (`bin/local`) and the test kit's do the same
/// with the posted body. `lambda_runtime` posts `init/error` only for its
/// SnapStart hooks (its request type is private), so this posts it with
/// the API client the runtime itself uses. The header carries the same
/// name as the body. If the post fails the process still exits non-zero,
/// and Lambda reports `Runtime.ExitError`.
pub async fn report(failure: &InitFailure, under_runtime_api: bool) -> Result<(), String> {
    use lambda_runtime_api_client::{body::Body, build_request, PooledClient};
    // The client panics without it; a bootstrap run by hand has none.
    if !under_runtime_api {
        return Err("AWS_LAMBDA_RUNTIME_API is not set: not running under a Runtime API".into());
    }
    let body = serde_json::json!({
        "errorType": InitFailure::NAME.as_str(),
        "errorMessage": failure.to_string(),
        "stackTrace": [],
    });
    let req = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header(
            "lambda-runtime-function-error-type",
            InitFailure::NAME.as_str(),
        )
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .map_err(|e| format!("cannot build the init/error request: {e}"))?;
    let resp = PooledClient::builder()
        .build()
        .call(req)
        .await
        .map_err(|e| format!("cannot post init/error: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("init/error answered {}", resp.status()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Component, PayloadFile, PayloadKind};

    #[test]
    fn the_bucket_must_be_set_and_be_a_bucket_name() {
        assert_eq!(
            render_bucket(Some(" my-renders.1 ")).unwrap(),
            "my-renders.1"
        );
        for unset in [None, Some(""), Some("  ")] {
            let e = render_bucket(unset).unwrap_err();
            assert!(matches!(e, InitError::EnvMissing { var, .. } if var == env::RENDER_BUCKET));
            assert!(e.to_string().contains("stack's template sets it"), "{e}");
        }
        for bad in ["Renders", "s3://renders", "ab", "renders/x", "-renders"] {
            let e = render_bucket(Some(bad)).unwrap_err();
            assert!(matches!(e, InitError::EnvInvalid { .. }), "{bad}: {e}");
            assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
        }
    }

    fn manifest(names: &[&str]) -> Manifest {
        Manifest {
            format: 1,
            components: names
                .iter()
                .map(|n| Component {
                    name: n.to_string(),
                    origin: "test".into(),
                    files: vec![PayloadFile {
                        path: format!("payload/{n}.br"),
                        sha256: String::new(),
                        unpacked_bytes: 0,
                        kind: PayloadKind::File,
                        to: n.to_string(),
                    }],
                })
                .collect(),
        }
    }

    #[test]
    fn every_missing_component_and_file_is_named() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("payload")).unwrap();
        std::fs::write(d.path().join("payload/ffmpeg.br"), b"x").unwrap();
        let m = manifest(&["ffmpeg"]);
        assert!(check_package(d.path(), &m, ChromeSource::ChromeHeadlessShell).is_empty());
        assert_eq!(
            check_package(d.path(), &m, ChromeSource::Sparticuz),
            vec![InitError::ComponentMissing {
                component: "chromium"
            }]
        );
        let m = manifest(&["chromium", "ffmpeg"]);
        let problems = check_package(d.path(), &m, ChromeSource::Sparticuz);
        assert_eq!(
            problems,
            vec![InitError::PayloadMissing {
                component: "chromium".into(),
                path: "payload/chromium.br".into()
            }]
        );
        let msg = InitFailure(problems).to_string();
        assert!(
            msg.contains("lacks payload/chromium.br") && msg.contains("--bin deploy"),
            "{msg}"
        );
    }

    #[test]
    fn the_headless_shell_needs_its_path_and_its_file() {
        let d = tempfile::tempdir().unwrap();
        let mut s = Settings {
            task_root: d.path().into(),
            cache_root: d.path().join("tmp"),
            source: ChromeSource::ChromeHeadlessShell,
            chrome_path: None,
            inherited: Default::default(),
        };
        let e = chrome_path(&s).unwrap_err();
        assert!(
            matches!(e, InitError::EnvMissing { var, .. } if var == CHROME_PATH_ENV),
            "{e}"
        );
        s.chrome_path = Some(d.path().join("chrome-headless-shell"));
        let e = chrome_path(&s).unwrap_err();
        assert!(matches!(e, InitError::EnvInvalid { .. }), "{e}");
        std::fs::write(d.path().join("chrome-headless-shell"), b"").unwrap();
        chrome_path(&s).unwrap();
        s.source = ChromeSource::Sparticuz;
        s.chrome_path = None;
        chrome_path(&s).unwrap();
    }
}
