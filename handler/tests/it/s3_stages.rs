//! The handler end to end against S3 (a moto server on 127.0.0.1) with the
//! real producer (Chromium + ffmpeg): plan, every chunk, assemble, in both
//! plan protocols, plus the failures the contract names.

use std::path::Path;

use crate::support::{env, BUCKET};
use hyperframes_handler::archive::create_tar_gz;
use hyperframes_infra::contract::ErrorName;
use serde_json::{json, Value};

fn ffprobe_frames(path: &Path) -> u64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is installed by scripts/test.sh");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe: {}", String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_renders_a_fixture_through_s3() {
    let e = env("v2").await;
    let project = e.upload_project("mp4-h264-sdr").await;
    let prefix = format!("s3://{BUCKET}/renders/r-v2/");
    let plan = e
        .call(json!({"Payload": {"Action": "plan", "ProjectS3Uri": project, "PlanOutputS3Prefix": prefix,
                     "Config": {"fps": 30, "width": 640, "height": 360, "format": "mp4", "chunkSize": 15}}}))
        .await
        .unwrap();
    assert_eq!(plan["PlanProtocol"], "v2", "{plan}");
    assert_eq!(plan["ChunkCount"], 4);
    assert_eq!(plan["TotalFrames"], 60);
    assert_eq!(plan["AudioS3Uri"], Value::Null);
    assert!(plan.get("PlanS3Uri").is_none());
    let manifest_uri = plan["PlanV2ManifestS3Uri"].as_str().unwrap().to_string();
    assert_eq!(manifest_uri, format!("{prefix}v2/manifest.json"));
    let artifact_prefix = plan["PlanV2ArtifactS3Prefix"].as_str().unwrap().to_string();
    assert_eq!(
        artifact_prefix,
        format!(
            "s3://{BUCKET}/{}",
            hyperframes_infra::stack::ARTIFACT_STORE_PREFIX
        )
    );

    // Every blob is stored under its own digest, with the digest recorded.
    let store = format!("{}/", hyperframes_infra::stack::ARTIFACT_STORE_PREFIX);
    let blobs = e.keys(&store).await;
    assert!(!blobs.is_empty());
    for key in &blobs {
        let sha = key.rsplit('/').next().unwrap();
        assert_eq!(&key[key.len() - 64 - 3..key.len() - 65], &sha[..2], "{key}");
        let head = e
            .client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.metadata().unwrap()["sha256"], sha);
    }
    shares_the_blob_store(&e, &project, &blobs).await;

    let plan_hash = plan["PlanHash"].as_str().unwrap().to_string();
    let mut chunk_uris = Vec::new();
    for i in 0..4 {
        let r = e
            .call(json!({"Action": "renderChunk", "PlanProtocol": "v2", "ChunkIndex": i,
                         "PlanV2ManifestS3Uri": manifest_uri, "PlanV2ArtifactS3Prefix": artifact_prefix,
                         "PlanHash": plan_hash, "ChunkOutputS3Prefix": prefix, "Format": "mp4"}))
            .await
            .unwrap();
        assert_eq!(r["ChunkS3Uri"], format!("{prefix}chunks/{i:04}.mp4"));
        assert_eq!(r["ChunkIndex"], i);
        assert!(
            r.to_string().len() < 200,
            "chunk result is {} bytes: {r}",
            r.to_string().len()
        );
        chunk_uris.push(r["ChunkS3Uri"].as_str().unwrap().to_string());
    }
    let output = format!("s3://{BUCKET}/outputs/r-v2.mp4");
    let done = e
        .call(json!({"Action": "assemble", "PlanProtocol": "v2", "PlanV2ManifestS3Uri": manifest_uri,
                     "PlanV2ArtifactS3Prefix": artifact_prefix, "PlanHash": plan_hash,
                     "ChunkS3Uris": chunk_uris, "AudioS3Uri": null, "OutputS3Uri": output, "Format": "mp4"}))
        .await
        .unwrap();
    assert_eq!(done["OutputS3Uri"], output);
    assert_eq!(done["FramesEncoded"], 60);
    let video = e.get(&output).await;
    assert_eq!(done["FileSize"], video.len() as u64);
    let local = e.scratch.join("out.mp4");
    std::fs::write(&local, &video).unwrap();
    assert_eq!(ffprobe_frames(&local), 60);
    assert_eq!(
        e.work_dirs_left(),
        0,
        "work dirs are removed after each invocation"
    );

    // A chunk from a different plan hash is refused before any rendering.
    let err = e
        .call(
            json!({"Action": "renderChunk", "ChunkIndex": 0, "PlanV2ManifestS3Uri": manifest_uri,
                     "PlanV2ArtifactS3Prefix": artifact_prefix, "PlanHash": "0".repeat(64),
                     "ChunkOutputS3Prefix": prefix, "Format": "mp4"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::PlanHashMismatch, "{err}");

    // A corrupted blob is detected on download and never used.
    let victim = blobs[0].clone();
    e.put(&victim, b"tampered".to_vec()).await;
    let err = e
        .call(
            json!({"Action": "renderChunk", "ChunkIndex": 1, "PlanV2ManifestS3Uri": manifest_uri,
                     "PlanV2ArtifactS3Prefix": artifact_prefix, "PlanHash": plan_hash,
                     "ChunkOutputS3Prefix": prefix, "Format": "mp4"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::PlanArtifactDigestMismatch, "{err}");
    assert_eq!(
        e.work_dirs_left(),
        0,
        "work dirs are removed after a failure too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_png_sequence_through_s3() {
    let e = env("v1").await;
    let project = e.upload_project("png-sequence").await;
    let prefix = format!("s3://{BUCKET}/renders/r-v1/");
    let plan = e
        .call(json!({"Action": "plan", "PlanProtocol": "v1", "ProjectS3Uri": project, "PlanOutputS3Prefix": prefix,
                     "Config": {"fps": 30, "width": 640, "height": 360, "format": "png-sequence", "chunkSize": 30}}))
        .await
        .unwrap();
    assert_eq!(plan["PlanS3Uri"], format!("{prefix}plan.tar.gz"), "{plan}");
    assert!(plan.get("PlanV2ManifestS3Uri").is_none());
    assert_eq!(plan["ChunkCount"], 2);
    // The v1 tarball holds the execution dir and not its transport copies
    // (which would put the tarball inside itself).
    let plan_tarball = e.get(plan["PlanS3Uri"].as_str().unwrap()).await;
    let names: Vec<String> =
        tar::Archive::new(flate2::read::GzDecoder::new(plan_tarball.as_slice()))
            .entries()
            .unwrap()
            .map(|en| en.unwrap().path().unwrap().display().to_string())
            .collect();
    for want in ["plan.json", "compiled/index.html", "meta/chunks.json"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(
        names.iter().all(|n| !n.starts_with("transport")),
        "the v1 tarball carries transport/: {names:?}"
    );
    let (plan_uri, plan_hash) = (plan["PlanS3Uri"].clone(), plan["PlanHash"].clone());
    let mut chunks = Vec::new();
    let mut shas = Vec::new();
    for i in 0..2 {
        let r = e
            .call(json!({"Action": "renderChunk", "PlanProtocol": "v1", "ChunkIndex": i, "PlanS3Uri": plan_uri,
                         "PlanHash": plan_hash, "ChunkOutputS3Prefix": prefix, "Format": "png-sequence"}))
            .await
            .unwrap();
        assert_eq!(r["ChunkS3Uri"], format!("{prefix}chunks/{i:04}.tar.gz"));
        chunks.push(r["ChunkS3Uri"].clone());
        shas.push(r["Sha256"].clone());
    }
    // The same chunk rendered again gives the same bytes.
    let again = e
        .call(json!({"Action": "renderChunk", "PlanProtocol": "v1", "ChunkIndex": 0, "PlanS3Uri": plan_uri,
                     "PlanHash": plan_hash, "ChunkOutputS3Prefix": prefix, "Format": "png-sequence"}))
        .await
        .unwrap();
    assert_eq!(again["Sha256"], shas[0]);

    let output = format!("s3://{BUCKET}/outputs/r-v1-frames");
    let done = e
        .call(json!({"Action": "assemble", "PlanProtocol": "v1", "PlanS3Uri": plan_uri, "ChunkS3Uris": chunks,
                     "AudioS3Uri": null, "OutputS3Uri": output, "Format": "png-sequence"}))
        .await
        .unwrap();
    assert_eq!(done["FramesEncoded"], 60, "{done}");
    let tarball = e.scratch.join("frames.tar.gz");
    std::fs::write(&tarball, e.get(&output).await).unwrap();
    let frames = e.scratch.join("frames");
    hyperframes_handler::archive::extract_tar_gz(&tarball, &frames, Default::default()).unwrap();
    let pngs = std::fs::read_dir(&frames)
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert_eq!(pngs, 60);
    assert_eq!(e.work_dirs_left(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_and_during_io() {
    let e = env("refusals").await;
    // Outside the render bucket: refused before any I/O.
    let err = e
        .call(
            json!({"Action": "plan", "ProjectS3Uri": "s3://someone-else/p.tar.gz",
                     "PlanOutputS3Prefix": format!("s3://{BUCKET}/renders/x/"), "Config": {"fps": 30, "format": "mp4"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::S3UriNotAllowed);
    assert!(err.message.contains("ProjectS3Uri"), "{err}");
    let err = e
        .call(json!({"Action": "assemble", "PlanProtocol": "v1", "PlanS3Uri": format!("s3://{BUCKET}/renders/x/plan.tar.gz"),
                     "ChunkS3Uris": [format!("s3://{BUCKET}/renders/x/chunks/0000.mp4"), "s3://elsewhere/c.mp4"],
                     "AudioS3Uri": null, "OutputS3Uri": format!("s3://{BUCKET}/out.mp4"), "Format": "mp4"}))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::S3UriNotAllowed);

    // Unknown protocol and mixed locators: PLAN_PROTOCOL_UNSUPPORTED.
    let err = e
        .call(json!({"Action": "plan", "PlanProtocol": "v9"}))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::PlanProtocolUnsupported);

    // A project that does not exist is not retried.
    let err = e
        .call(json!({"Action": "plan", "ProjectS3Uri": format!("s3://{BUCKET}/sites/none/project.tar.gz"),
                     "PlanOutputS3Prefix": format!("s3://{BUCKET}/renders/x/"), "Config": {"fps": 30, "format": "mp4"}}))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidEvent);
    assert!(err.message.contains("does not exist"), "{err}");

    // A hostile archive is refused; nothing escapes the work dir.
    let evil = e.scratch.join("evil.tar.gz");
    {
        use flate2::write::GzEncoder;
        let mut b = tar::Builder::new(GzEncoder::new(
            std::fs::File::create(&evil).unwrap(),
            flate2::Compression::fast(),
        ));
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o644);
        h.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        h.set_cksum();
        b.append(&h, &b"evil"[..]).unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }
    e.put("sites/evil/project.tar.gz", std::fs::read(&evil).unwrap())
        .await;
    let err = e
        .call(json!({"Action": "plan", "ProjectS3Uri": format!("s3://{BUCKET}/sites/evil/project.tar.gz"),
                     "PlanOutputS3Prefix": format!("s3://{BUCKET}/renders/x/"), "Config": {"fps": 30, "format": "mp4"}}))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidEvent);
    assert!(err.message.contains("contains `..`"), "{err}");
    assert!(!e.work_root.join("escape").exists());

    // A v1 plan whose hash is not the event's.
    let plan_dir = e.scratch.join("fake-plan");
    std::fs::create_dir_all(&plan_dir).unwrap();
    std::fs::write(
        plan_dir.join("plan.json"),
        json!({"planHash": "1".repeat(64)}).to_string(),
    )
    .unwrap();
    let t = e.scratch.join("plan.tar.gz");
    create_tar_gz(&plan_dir, &t).unwrap();
    e.put("renders/x/plan.tar.gz", std::fs::read(&t).unwrap())
        .await;
    let err = e
        .call(json!({"Action": "renderChunk", "PlanProtocol": "v1", "ChunkIndex": 0,
                     "PlanS3Uri": format!("s3://{BUCKET}/renders/x/plan.tar.gz"), "PlanHash": "2".repeat(64),
                     "ChunkOutputS3Prefix": format!("s3://{BUCKET}/renders/x/"), "Format": "mp4"}))
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::PlanHashMismatch);
    assert_eq!(e.work_dirs_left(), 0);
}

/// A second render of the same project, on an instance that has not seen
/// it (a cold start), writes no blob: it finds every one in the shared
/// store, and its chunk renders from them.
async fn shares_the_blob_store(e: &crate::support::Env, project: &str, blobs: &[String]) {
    let written = |keys: Vec<String>| async move {
        let mut out = Vec::new();
        for key in keys {
            let at = e.written(&key).await;
            out.push((key, at));
        }
        out
    };
    let before = written(blobs.to_vec()).await;
    let cold = e.cold_handler("again");
    let call = |event: Value| {
        let cold = &cold;
        async move { serde_json::to_value(cold.handle(event).await.unwrap()).unwrap() }
    };
    let prefix = format!("s3://{BUCKET}/renders/r-v2-again/");
    let plan = call(json!({"Action": "plan", "ProjectS3Uri": project, "PlanOutputS3Prefix": prefix,
                           "Config": {"fps": 30, "width": 640, "height": 360, "format": "mp4", "chunkSize": 15}}))
        .await;
    let store = format!("{}/", hyperframes_infra::stack::ARTIFACT_STORE_PREFIX);
    assert_eq!(
        written(e.keys(&store).await).await,
        before,
        "the second plan wrote blobs"
    );
    assert_eq!(
        cold.transport
            .traffic
            .up
            .load(std::sync::atomic::Ordering::Relaxed) as usize,
        e.get(plan["PlanV2ManifestS3Uri"].as_str().unwrap())
            .await
            .len(),
        "the second plan uploaded more than its manifest"
    );
    let chunk = call(json!({"Action": "renderChunk", "PlanProtocol": "v2", "ChunkIndex": 1,
                            "PlanV2ManifestS3Uri": plan["PlanV2ManifestS3Uri"],
                            "PlanV2ArtifactS3Prefix": plan["PlanV2ArtifactS3Prefix"], "PlanHash": plan["PlanHash"],
                            "ChunkOutputS3Prefix": prefix, "Format": "mp4"}))
        .await;
    assert_eq!(chunk["FramesEncoded"], 15, "{chunk}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_addressed_puts_are_write_once() {
    let e = env("cas").await;
    let file = e.scratch.join("blob");
    std::fs::write(&file, b"hello blob").unwrap();
    let sha = hyperframes_handler::transport::sha256_file(&file).unwrap();
    let uri =
        hyperframes_handler::s3uri::S3Uri::parse("X", &format!("s3://{BUCKET}/renders/c/{sha}"))
            .unwrap();
    use hyperframes_handler::transport::Stored;
    let t = &e.handler.transport;
    assert_eq!(
        t.put_content_addressed(&file, &uri, &sha, None)
            .await
            .unwrap(),
        Stored::Uploaded
    );
    assert_eq!(
        t.put_content_addressed(&file, &uri, &sha, None)
            .await
            .unwrap(),
        Stored::Reused
    );
    // A declared digest that the file does not have.
    let err = t
        .put_content_addressed(&file, &uri, &"f".repeat(64), None)
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::PlanArtifactDigestMismatch);
    // Different bytes under an existing key are never written.
    let other = e.scratch.join("other");
    std::fs::write(&other, b"different").unwrap();
    let other_sha = hyperframes_handler::transport::sha256_file(&other).unwrap();
    let err = t
        .put_content_addressed(&other, &uri, &other_sha, None)
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::PlanArtifactDigestMismatch);
    assert_eq!(e.get(&uri.to_string()).await, b"hello blob");

    // A warm instance confirms a blob once: with the object gone behind its
    // back, the same transport still answers Reused without a request, and
    // a fresh instance (a cold start) looks and uploads it again.
    e.client
        .delete_object()
        .bucket(BUCKET)
        .key(&uri.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.put_content_addressed(&file, &uri, &sha, None)
            .await
            .unwrap(),
        Stored::Reused
    );
    let cold = hyperframes_handler::transport::S3Transport::new(e.client.clone());
    assert_eq!(
        cold.put_content_addressed(&file, &uri, &sha, None)
            .await
            .unwrap(),
        Stored::Uploaded
    );
    assert_eq!(e.get(&uri.to_string()).await, b"hello blob");
    // Another instance finds it by its size and recorded digest.
    let other_instance = hyperframes_handler::transport::S3Transport::new(e.client.clone());
    assert_eq!(
        other_instance
            .put_content_addressed(&file, &uri, &sha, None)
            .await
            .unwrap(),
        Stored::Reused
    );
    // An identical object older than the reuse window is written again,
    // which restarts the bucket's expiry of it; its bytes stay the same.
    let before = e.written(&uri.key).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let strict = hyperframes_handler::transport::S3Transport::new(e.client.clone())
        .with_reuse_within(std::time::Duration::ZERO);
    assert_eq!(
        strict
            .put_content_addressed(&file, &uri, &sha, None)
            .await
            .unwrap(),
        Stored::Uploaded
    );
    let after = e.written(&uri.key).await;
    assert!(after > before, "{before:?} -> {after:?}");
    assert_eq!(e.get(&uri.to_string()).await, b"hello blob");
}
