//! A function whose package lacks its ffmpeg: every stage fails with
//! TOOL_UNAVAILABLE, which no stage retries, and the message says what is
//! wrong with the package and what to do, in terms a user has.
//!
//! Its own test binary: the installed runtime is process-wide.

use hyperframes_handler::bundled::PACKAGE_REMEDY;
use hyperframes_handler::{LocalProducer, Producer};
use hyperframes_infra::contract::{Action, ErrorName};
use hyperframes_producer::runtime::{self, Runtime};

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
        .plan(&project, &config, &d.path().join("plan"))
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
