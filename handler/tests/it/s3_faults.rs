//! The handler through an S3 that answers 500 to a share of requests (the
//! fault proxy in front of moto): every stage retries through the faults,
//! including writes that S3 carried out before it said 500, and the video
//! is byte for byte the one a clean run makes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use hyperframes_handler::{Handler, LocalProducer, S3Transport};
use hyperframes_testkit::fault_proxy::FaultProxy;
use serde_json::{json, Value};

use crate::support::{env, Env, BUCKET};

async fn call(h: &Handler, event: Value) -> Value {
    let r = h
        .handle(event)
        .await
        .unwrap_or_else(|e| panic!("the stage failed: {e}"));
    serde_json::to_value(r).expect("stage results serialize")
}

/// Plan, both chunks and assemble of a 48-frame render; returns
/// the video's bytes.
async fn render(e: &Env, h: &Handler, project: &str, id: &str) -> Vec<u8> {
    let prefix = format!("s3://{BUCKET}/renders/{id}/");
    let plan = call(
        h,
        json!({"Payload": {"Action": "plan", "ProjectS3Uri": project, "PlanOutputS3Prefix": prefix,
        "Config": {"fps": 24, "format": "mp4", "chunkSize": 24}}}),
    )
    .await;
    assert_eq!(plan["ChunkCount"], 2, "{plan}");
    let (manifest, artifacts, hash) = (
        &plan["PlanV2ManifestS3Uri"],
        &plan["PlanV2ArtifactS3Prefix"],
        &plan["PlanHash"],
    );
    let mut chunks = Vec::new();
    for i in 0..2 {
        let r = call(
            h,
            json!({"Action": "renderChunk", "PlanProtocol": "v2", "ChunkIndex": i,
            "PlanV2ManifestS3Uri": manifest, "PlanV2ArtifactS3Prefix": artifacts, "PlanHash": hash,
            "ChunkOutputS3Prefix": prefix, "Format": "mp4"}),
        )
        .await;
        chunks.push(r["ChunkS3Uri"].clone());
    }
    let output = format!("s3://{BUCKET}/outputs/{id}.mp4");
    let done = call(
        h,
        json!({"Action": "assemble", "PlanProtocol": "v2", "PlanV2ManifestS3Uri": manifest,
        "PlanV2ArtifactS3Prefix": artifacts, "PlanHash": hash, "ChunkS3Uris": chunks,
        "AudioS3Uri": null, "OutputS3Uri": output, "Format": "mp4"}),
    )
    .await;
    assert_eq!(done["FramesEncoded"], 48, "{done}");
    e.get(&output).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_retry_through_s3_500s_and_render_the_same_bytes() {
    let e = env("s3-faults").await;
    let project = e.upload_project("mp4-h264-sdr").await;
    let clean = render(&e, &e.handler, &project, "clean").await;

    let moto = SocketAddr::from(([127, 0, 0, 1], e.moto.port));
    let proxy = FaultProxy::start(moto).await.unwrap();
    let work_root = e.scratch.join("tmp-faulted");
    let faulted = Handler {
        render_bucket: BUCKET.into(),
        work_root: work_root.clone(),
        transport: S3Transport::new(e.moto.s3_client_via(&proxy.endpoint)),
        producer: Arc::new(LocalProducer),
    };
    // Transfers run several at once, so a retry's place in the count is
    // a matter of timing: the last attempt is spared to keep the test
    // deterministic (the soak bench does not spare it).
    proxy.spare_last_attempts(true);
    proxy.fail_one_in(3, Duration::from_secs(600));
    let video = render(&e, &faulted, &project, "faulted").await;
    let c = proxy.counts();
    // Both kinds: refused before moto, and failed after moto wrote.
    assert!(c.faults >= 4 && c.faults_after_store >= 2, "{c:?}");
    assert!(
        video == clean,
        "the faulted render differs from the clean one ({} vs {} bytes)",
        video.len(),
        clean.len()
    );
    let left: Vec<_> = std::fs::read_dir(&work_root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != hyperframes_handler::TEMPLATE_CACHE_DIR)
        .collect();
    assert!(left.is_empty(), "work dirs left: {left:?}");

    // Without retries the same proxy's faults reach the caller: one
    // request in three fails (each request is its own last attempt, so
    // none is spared now).
    proxy.spare_last_attempts(false);
    let no_retry = aws_sdk_s3::Client::from_conf(
        e.moto
            .s3_client_via(&proxy.endpoint)
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let mut failed = 0;
    for _ in 0..6 {
        let r = no_retry.head_bucket().bucket(BUCKET).send().await;
        if let Err(err) = r {
            let status = err.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(500), "{err:?}");
            failed += 1;
        }
    }
    assert_eq!(failed, 2);
}
