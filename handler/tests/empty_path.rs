//! The three stages as the function runs them, with `PATH` set to an empty
//! directory: nothing the function does may look a program up by name.
//! Chromium and ffmpeg are given by absolute path through an installed
//! producer runtime, as the bundled runtime gives them on Lambda.
//!
//! What this environment still provides: every file of this machine by
//! absolute path (`/bin/sh`, `/usr/bin/tar` would still start if a program
//! named them so), and the host's libraries and fonts. The Lambda-faithful
//! jail (a root with only what `provided.al2023` holds) covers those.
//!
//! Its own test binary: `PATH` and the installed runtime are process-wide.

#[path = "it/support/mod.rs"]
mod support;

use std::path::PathBuf;

use hyperframes_producer::runtime::{self, Runtime};
use serde_json::json;
use support::{env, BUCKET};

/// `name` on the current `PATH`, as an absolute path.
fn which(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not on PATH: run scripts/test.sh --install-only (apt {name})")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_render_and_assemble_run_with_an_empty_path() {
    let chrome = hyperframes_producer::capture::browser::chrome_path()
        .unwrap_or_else(|e| panic!("{e}; run scripts/test.sh --install-only"));
    let ffmpeg = which("ffmpeg");
    // moto (a Python program) starts before PATH goes.
    let e = env("empty-path").await;
    let project = e.upload_project("mp4-h264-sdr").await;
    runtime::install(Runtime {
        source: "host binaries by absolute path".into(),
        chrome,
        chrome_flags: Vec::new(),
        chrome_env: Vec::new(),
        ffmpeg,
        remedy: "(test runtime)".into(),
    })
    .unwrap();
    let empty = e.scratch.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    std::env::set_var("PATH", &empty);
    assert!(
        std::process::Command::new("ffmpeg").output().is_err(),
        "ffmpeg still resolves by name"
    );

    let prefix = format!("s3://{BUCKET}/renders/empty-path/");
    let plan = e
        .call(
            json!({"Action": "plan", "PlanProtocol": "v1", "ProjectS3Uri": project,
                     "PlanOutputS3Prefix": prefix,
                     "Config": {"fps": 30, "format": "mp4", "chunkSize": 30}}),
        )
        .await
        .unwrap_or_else(|err| panic!("plan: {err}"));
    assert_eq!(plan["ChunkCount"], 2, "{plan}");
    let mut chunks = Vec::new();
    for i in 0..2 {
        let r = e
            .call(
                json!({"Action": "renderChunk", "PlanProtocol": "v1", "ChunkIndex": i,
                         "PlanS3Uri": plan["PlanS3Uri"], "PlanHash": plan["PlanHash"],
                         "ChunkOutputS3Prefix": prefix, "Format": "mp4"}),
            )
            .await
            .unwrap_or_else(|err| panic!("renderChunk {i}: {err}"));
        chunks.push(r["ChunkS3Uri"].clone());
    }
    let output = format!("s3://{BUCKET}/outputs/empty-path.mp4");
    let done = e
        .call(
            json!({"Action": "assemble", "PlanProtocol": "v1", "PlanS3Uri": plan["PlanS3Uri"],
                     "PlanHash": plan["PlanHash"], "ChunkS3Uris": chunks, "AudioS3Uri": null,
                     "OutputS3Uri": output, "Format": "mp4"}),
        )
        .await
        .unwrap_or_else(|err| panic!("assemble: {err}"));
    assert_eq!(done["FramesEncoded"], 60, "{done}");
    let video = e.scratch.join("out.mp4");
    std::fs::write(&video, e.get(&output).await).unwrap();
    let probe = hyperframes_producer::encode::probe::probe_video(&video).unwrap();
    assert_eq!((probe.frames, probe.codec.as_str()), (60, "h264"));
    assert_eq!(e.work_dirs_left(), 0);
}
