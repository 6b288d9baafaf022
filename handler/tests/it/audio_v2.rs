//! A project with its own audio file, planned and rendered through S3 (v2):
//! the chunk rebuilds the plan from the blobs its role needs (not the audio
//! mix, which only the assembler encodes) and the plan hash still holds;
//! the assembler muxes the mix.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_with_an_audio_file_plans_and_renders_its_chunks_through_s3() {
    let e = env("audio-v2").await;
    let project = e.scratch.join("site");
    std::fs::create_dir_all(&project).unwrap();
    let wav = project.join("music.wav");
    let out = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-ac",
            "2",
        ])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        project.join("index.html"),
        r#"<!doctype html><html><head><meta charset="utf-8"></head><body>
<div id="root" data-composition-id="main" data-width="64" data-height="36" data-duration="0.5" data-no-timeline>
<div style="width:16px;height:16px;background:#f80"></div>
<audio id="music" src="music.wav" data-start="0" data-duration="0.5" data-track-index="0"></audio></div></body></html>"#,
    )
    .unwrap();
    let archive = e.scratch.join("site.tar.gz");
    hyperframes_handler::archive::create_tar_gz(&project, &archive).unwrap();
    e.put(
        "sites/audio/project.tar.gz",
        std::fs::read(&archive).unwrap(),
    )
    .await;
    let prefix = format!("s3://{BUCKET}/renders/r-audio/");
    let plan = e
        .call(json!({"Action": "plan", "ProjectS3Uri": format!("s3://{BUCKET}/sites/audio/project.tar.gz"),
                     "PlanOutputS3Prefix": prefix, "Config": {"fps": 30, "format": "mp4"}}))
        .await
        .unwrap();
    assert_eq!(plan["HasAudio"], true, "{plan}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&e.get(plan["PlanV2ManifestS3Uri"].as_str().unwrap()).await)
            .unwrap();
    let mix = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "audio.m4a")
        .unwrap_or_else(|| panic!("no audio.m4a in {manifest}"));
    assert_eq!(mix["chunks"], json!([]), "{mix}");
    let down = || {
        e.handler
            .transport
            .traffic
            .down
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = down();
    let chunk = e
        .call(json!({"Action": "renderChunk", "PlanProtocol": "v2", "ChunkIndex": 0,
                     "PlanV2ManifestS3Uri": plan["PlanV2ManifestS3Uri"], "PlanV2ArtifactS3Prefix": plan["PlanV2ArtifactS3Prefix"],
                     "PlanHash": plan["PlanHash"], "ChunkOutputS3Prefix": prefix, "Format": "mp4"}))
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let fetched = down() - before;
    let others: u64 = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["path"] != "audio.m4a")
        .map(|a| a["sizeBytes"].as_u64().unwrap())
        .sum();
    assert!(
        fetched <= others + manifest.to_string().len() as u64 * 2,
        "the chunk fetched {fetched} bytes; the plan without its mix is {others}"
    );
    let output = format!("s3://{BUCKET}/outputs/r-audio.mp4");
    e.call(json!({"Action": "assemble", "PlanProtocol": "v2", "PlanV2ManifestS3Uri": plan["PlanV2ManifestS3Uri"],
                  "PlanV2ArtifactS3Prefix": plan["PlanV2ArtifactS3Prefix"], "PlanHash": plan["PlanHash"],
                  "ChunkS3Uris": [chunk["ChunkS3Uri"]], "AudioS3Uri": null, "OutputS3Uri": output, "Format": "mp4"}))
        .await
        .unwrap_or_else(|err| panic!("{err:?}"));
    let local = e.scratch.join("out.mp4");
    std::fs::write(&local, e.get(&output).await).unwrap();
    let streams = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(&local)
        .output()
        .unwrap();
    let streams = String::from_utf8_lossy(&streams.stdout);
    assert_eq!(
        streams.split_whitespace().collect::<Vec<_>>(),
        ["video", "audio"],
        "{streams}"
    );
}
