//! `invoke` runs the shipped sample events through the real handler
//! against S3 (moto), like `sam local invoke`.

use hyperframes_testkit::moto;

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;
use moto::Moto;
use serde_json::Value;

const BUCKET: &str = "hyperframes-renders-example";

fn events_dir() -> PathBuf {
    hyperframes_testkit::workspace_root().join("examples/events")
}

#[test]
fn every_sample_event_parses_and_stays_in_its_bucket() {
    let mut seen = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let e = hyperframes_handler::Event::parse(&v)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (field, uri) in e.uris() {
            uri.check_bucket(field, BUCKET).unwrap();
        }
        seen += 1;
    }
    assert_eq!(seen, 6, "three actions x two protocols");
}

#[test]
fn invoke_runs_the_plan_sample_against_s3() {
    let scratch =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("invoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let moto = Moto::start(&scratch.join("moto"));

    // The project the sample plan event names.
    let project = scratch.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let fixture = hyperframes_testkit::workspace_root()
        .join("producer/tests/fixtures/mp4-h264-sdr/compiled.html");
    std::fs::copy(fixture, project.join("index.html")).unwrap();
    let archive = scratch.join("project.tar.gz");
    hyperframes_handler::archive::create_tar_gz(&project, &archive).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s3 = moto.s3_client();
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        s3.put_object()
            .bucket(BUCKET)
            .key("sites/example/project.tar.gz")
            .body(ByteStream::from(std::fs::read(&archive).unwrap()))
            .send()
            .await
            .unwrap();
    });

    let run = |event: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperframes"));
        cmd.arg("invoke")
            .arg("--event")
            .arg(events_dir().join(event))
            .env("TMPDIR", &scratch)
            .env_remove("HYPERFRAMES_RENDER_BUCKET");
        moto.configure(&mut cmd);
        cmd.output().unwrap()
    };
    let out = run("plan.json");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["ChunkCount"], 4);
    assert_eq!(
        result["PlanV2ManifestS3Uri"],
        format!("s3://{BUCKET}/renders/example/v2/manifest.json")
    );

    // The chunk sample carries a placeholder hash: refused, as Lambda would report it.
    let out = run("render-chunk.json");
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["errorType"], "PLAN_HASH_MISMATCH", "{err}");
    let _ = std::fs::remove_dir_all(&scratch);
}
