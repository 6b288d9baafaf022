//! Broken packages. One whose ffmpeg is missing once unpacked: every stage
//! fails with TOOL_UNAVAILABLE; one without its manifest (and without its
//! bucket variable): `bootstrap` fails its init with FUNCTION_MISCONFIGURED.
//! No stage retries either, and each message says what is wrong with the
//! package and what to do, in terms a user has.
//!
//! Its own test binary: the installed runtime is process-wide.

use hyperframes_handler::bundled::PACKAGE_REMEDY;
use hyperframes_handler::{LocalProducer, Producer};
use hyperframes_infra::contract::{Action, ErrorName};
use hyperframes_producer::runtime::{self, Runtime};
use serde_json::json;

#[test]
fn a_package_without_ffmpeg_fails_every_stage_without_retries() {
    let d = tempfile::tempdir().unwrap();
    let ffmpeg = d.path().join("tmp/hyperframes-runtime/0123/ffmpeg/ffmpeg");
    runtime::install(Runtime {
        source: "sparticuz".into(),
        chrome: "/nonexistent/chromium".into(),
        chrome_flags: Vec::new(),
        chrome_env: Vec::new(),
        ffmpeg: ffmpeg.clone(),
        remedy: PACKAGE_REMEDY.into(),
    })
    .unwrap();
    let project = d.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        r#"<!doctype html><html><body><div data-composition-id="c" data-width="64"
           data-height="64" data-duration="1" data-no-timeline></div></body></html>"#,
    )
    .unwrap();
    let config = hyperframes_producer::RenderConfig::new(30, hyperframes_producer::Format::Mp4)
        .with_size(64, 64);
    let err = LocalProducer
        .plan(&project, &config, &d.path().join("plan"), None)
        .unwrap_err();
    assert_eq!(err.name, ErrorName::ToolUnavailable, "{err}");
    for stage in Action::ALL {
        assert!(
            err.name.is_non_retryable_in(stage),
            "{} is retried in {stage}",
            err.name
        );
    }
    for want in [
        ffmpeg.to_str().unwrap(),
        "sparticuz runtime",
        "function package is incomplete",
        "cargo run --bin deploy",
    ] {
        assert!(err.message.contains(want), "no {want:?} in: {err}");
    }
    for developer_only in ["scripts/test.sh", "apt-get", "spec/", "shared/"] {
        assert!(
            !err.message.contains(developer_only),
            "a deployed function's error names {developer_only:?}: {err}"
        );
    }
}

/// The real `bootstrap` with a package that has no manifest and no render
/// bucket: it never asks for an event, posts both problems once to the
/// Runtime API's init/error under FUNCTION_MISCONFIGURED (body and
/// header), and exits. The jail tests (`bin/local/tests/workflow.rs`) run
/// each broken case through the local stack's workflow.
#[test]
fn bootstrap_reports_a_broken_package_as_its_init_error() {
    use hyperframes_testkit::runtime_api::blocking::{Outcome, RuntimeApi};
    let d = tempfile::tempdir().unwrap();
    let api = RuntimeApi::start();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .env("LAMBDA_TASK_ROOT", d.path())
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("TMPDIR", d.path())
        .spawn()
        .unwrap();
    let outcome = api.invoke(
        json!({"Action": "plan"}),
        std::time::Duration::from_secs(60),
    );
    let status = child.wait().unwrap();
    let Outcome::InitError(body) = outcome else {
        panic!("not an init error: {outcome:?}")
    };
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errorType"], "FUNCTION_MISCONFIGURED", "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    for want in [
        "HYPERFRAMES_RENDER_BUCKET is not set: the stack's template sets it",
        "the package has no manifest (payload/manifest.json)",
        "cargo run --bin package",
    ] {
        assert!(message.contains(want), "no {want:?} in: {message}");
    }
    assert!(!message.contains("apt-get"), "{message}");
    assert_eq!(api.first_poll(), None, "it asked for an event: {message}");
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        api.init_error_type().as_deref(),
        Some("FUNCTION_MISCONFIGURED"),
        "the Lambda-Runtime-Function-Error-Type header"
    );
}
