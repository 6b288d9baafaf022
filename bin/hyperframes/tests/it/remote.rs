//! Rendering on a deployed stack, against moto's S3 and Step Functions
//! (with its ASL interpreter on and queued render-function results):
//! sites upload once, a render runs our real state machine definition,
//! progress reads it back, and a running render is cancelled.

use hyperframes_testkit::moto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_render::execution::{self, StackTarget};
use moto::Moto;
use serde_json::{json, Value};

const BUCKET: &str = "renders";

struct Setup {
    moto: Moto,
    dir: PathBuf,
    outputs: PathBuf,
    wait_outputs: PathBuf,
    s3: aws_sdk_s3::Client,
    sfn: aws_sdk_sfn::Client,
}

fn setup() -> Setup {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("remote-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let moto = Moto::start(&dir.join("moto"));
    let creds = Credentials::new("testing", "testing", None, None, "test");
    let s3 = moto.s3_client();
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(hyperframes_cli::aws::https_client())
            .endpoint_url(&moto.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(creds)
            .build(),
    );
    let t = HyperframesRenderStack::default().synth().unwrap();
    let prefix = format!("s3://{BUCKET}/renders/");
    let spec = json!({
        "definition": t.definition("RenderStateMachine").unwrap(),
        "waitDefinition": {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}},
        // Queued render-function results, in invocation order.
        "results": [
            {"PlanProtocol": "v2", "PlanV2ManifestS3Uri": format!("{prefix}x/v2/manifest.json"),
             "PlanV2ArtifactS3Prefix": format!("{prefix}x/v2/artifacts/sha256"), "PlanHash": "a".repeat(64),
             "ChunkCount": 2, "TotalFrames": 60, "Format": "mp4", "HasAudio": false},
            {"ChunkS3Uri": format!("{prefix}x/chunks/0000.mp4"), "ChunkIndex": 0, "Sha256": "b".repeat(64), "FramesEncoded": 30},
            {"ChunkS3Uri": format!("{prefix}x/chunks/0001.mp4"), "ChunkIndex": 1, "Sha256": "c".repeat(64), "FramesEncoded": 30},
            {"OutputS3Uri": format!("s3://{BUCKET}/outputs/r.mp4"), "FramesEncoded": 60, "FileSize": 1234},
        ],
    });
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let python = moto::moto_server().with_file_name("python");
    let out = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sfn_setup.py"))
        .arg(&moto.endpoint)
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sfn_setup.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arns: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { s3.create_bucket().bucket(BUCKET).send().await.unwrap() });
    let outputs = dir.join("outputs.json");
    std::fs::write(
        &outputs,
        json!({"RenderBucketName": BUCKET, "RenderStateMachineArn": arns["stateMachineArn"]})
            .to_string(),
    )
    .unwrap();
    let wait_outputs = dir.join("wait-outputs.json");
    std::fs::write(
        &wait_outputs,
        json!({"RenderBucketName": BUCKET, "RenderStateMachineArn": arns["waitStateMachineArn"]})
            .to_string(),
    )
    .unwrap();
    Setup {
        moto,
        dir,
        outputs,
        wait_outputs,
        s3,
        sfn,
    }
}

impl Setup {
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperframes"));
        cmd.arg(program).args(args).env_remove("RUST_BACKTRACE");
        self.moto.configure(&mut cmd);
        cmd.output().unwrap()
    }

    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn wait_for(&self, arn: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let d = self
                .block(self.sfn.describe_execution().execution_arn(arn).send())
                .unwrap();
            if d.status().as_str() == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{arn} is {:?}, not {status}",
                d.status()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn sites_render_progress_and_cancel() {
    let s = setup();
    let outputs = s.outputs.to_str().unwrap();

    // sites create: uploads once, then recognises the same content.
    let project =
        hyperframes_testkit::workspace_root().join("producer/tests/fixtures/mp4-h264-sdr");
    let create_site = || {
        s.run(
            "sites",
            &[
                "create",
                project.to_str().unwrap(),
                "--outputs-file",
                outputs,
                "--json",
            ],
        )
    };
    let first = create_site();
    assert!(first.status.success(), "{}", text(&first));
    let site: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(site["uploaded"], true);
    let second = create_site();
    let again: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(
        again["uploaded"], false,
        "the second run must skip the upload"
    );
    assert_eq!(again["siteId"], site["siteId"]);
    let listed = s
        .block(
            s.s3.list_objects_v2()
                .bucket(BUCKET)
                .prefix("sites/")
                .send(),
        )
        .unwrap();
    assert_eq!(listed.contents().len(), 1);
    let bad = s.run(
        "sites",
        &["create", "/nonexistent/project", "--outputs-file", outputs],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("is not a directory"), "{}", text(&bad));

    // `render` in Lambda mode on the real definition, with queued function
    // results; the (fake) output object is put where the render writes it.
    s.block(
        s.s3.put_object()
            .bucket(BUCKET)
            .key("outputs/r.mp4")
            .body(b"rendered video".to_vec().into())
            .send(),
    )
    .unwrap();
    let download = s.dir.join("out.mp4");
    let id = execution::new_render_id();
    let r = s.run(
        "render",
        &[
            project.to_str().unwrap(),
            "--outputs-file",
            outputs,
            "--render-id",
            &id,
            "--chunk-size",
            "30",
            "--output-key",
            "outputs/r.mp4",
            "--allow-host-fonts",
            "--wait",
            "--download",
            download.to_str().unwrap(),
        ],
    );
    assert!(r.status.success(), "{}", text(&r));
    let out = text(&r);
    assert!(out.contains(&format!("render started: {id}")), "{out}");
    // moto runs the Distributed Map, but answers ListExecutions by
    // mapRunArn (how a Map Run's children are listed) with a 500: the
    // chunks' events, which are in the children's histories, are not
    // read, and progress says why. The local stack's workflow tests count
    // the children (bin/local/tests/it/workflow.rs).
    assert!(
        out.contains("[SUCCEEDED] 100% 0/2 chunks 0/60 frames"),
        "{out}"
    );
    assert!(
        out.contains("cannot list the Map Run's children")
            && out.contains("chunk counts and costs are left out"),
        "{out}"
    );
    assert_eq!(std::fs::read(&download).unwrap(), b"rendered video");
    let target = StackTarget::from_outputs_file(&s.outputs).unwrap();
    let arn = target.execution_arn(&id);
    let input = s
        .block(s.sfn.describe_execution().execution_arn(&arn).send())
        .unwrap();
    let input: Value = serde_json::from_str(input.input().unwrap()).unwrap();
    assert_eq!(
        input["ProjectS3Uri"], site["projectS3Uri"],
        "the site is reused"
    );
    assert_eq!(
        input["PlanOutputS3Prefix"],
        format!("s3://{BUCKET}/renders/{id}/")
    );
    assert_eq!(
        input["Config"],
        json!({"fps": 30, "format": "mp4", "runtimeCap": "lambda", "chunkSize": 30,
               "rejectOnSystemFonts": false}),
        "the composition decides the size; --allow-host-fonts reaches the plan stage"
    );
    assert_eq!(input["PlanProtocol"], "v2");
    // A config the producer would refuse is refused before anything starts.
    let bad = s.run(
        "render",
        &[
            project.to_str().unwrap(),
            "--outputs-file",
            outputs,
            "--fps",
            "300",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("fps"), "{}", text(&bad));

    let p = s.run("progress", &[&id, "--outputs-file", outputs, "--json"]);
    assert!(p.status.success(), "{}", text(&p));
    let p: Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(p["state"], "succeeded", "{p}");
    assert_eq!(p["fraction"], 1.0);
    // The render's own tasks (plan, assemble); the chunks are in the
    // children moto cannot list (above).
    assert_eq!(p["chunksDone"], 0);
    assert_eq!(p["chunksTotal"], 2);
    assert_eq!(p["framesDone"], 0);
    assert_eq!(p["framesTotal"], 60);
    assert_eq!(p["lambdaInvocations"], 2);
    assert_eq!(p["outputS3Uri"], format!("s3://{BUCKET}/outputs/r.mp4"));
    let transitions = p["cost"]["stateTransitions"].as_u64().unwrap();
    assert!(transitions >= 7, "{p}");
    let sfn_usd = p["cost"]["stepFunctionsUsd"].as_f64().unwrap();
    assert!((sfn_usd - transitions as f64 * 0.000025).abs() < 1e-6);
    let human = s.run("progress", &[&id, "--outputs-file", outputs]);
    assert!(
        String::from_utf8_lossy(&human.stdout)
            .starts_with("[SUCCEEDED] 100% 0/2 chunks 0/60 frames"),
        "{}",
        text(&human)
    );

    // Cancel a running render: it ends ABORTED and progress says so (exit 1).
    let wait_target = StackTarget::from_outputs_file(&s.wait_outputs).unwrap();
    let waiting = execution::new_render_id();
    let wait_arn = s
        .block(execution::start(
            &s.sfn,
            &wait_target,
            &waiting,
            "{}".into(),
        ))
        .unwrap();
    s.wait_for(&wait_arn, "RUNNING");
    let wait_outputs = s.wait_outputs.to_str().unwrap();
    let c = s.run("cancel", &[&waiting, "--outputs-file", wait_outputs]);
    assert!(c.status.success(), "{}", text(&c));
    assert!(
        text(&c).contains(&format!("renders/{waiting}/")),
        "{}",
        text(&c)
    );
    s.wait_for(&wait_arn, "ABORTED");
    let p = s.run("progress", &[&waiting, "--outputs-file", wait_outputs]);
    assert_eq!(p.status.code(), Some(1), "{}", text(&p));
    assert!(text(&p).contains("[ABORTED]"), "{}", text(&p));

    // An unknown render id is a clear error.
    let missing = s.run(
        "progress",
        &["hf-no-such-render", "--outputs-file", outputs],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("no render"), "{}", text(&missing));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn policies_cli() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_hyperframes"));
    let user = Command::new(&exe)
        .arg("policies")
        .args(["user", "--stack-name", "Renders"])
        .output()
        .unwrap();
    assert!(user.status.success());
    let doc = dir.join("user.json");
    std::fs::write(&doc, &user.stdout).unwrap();
    let ok = Command::new(&exe)
        .arg("policies")
        .args(["validate", doc.to_str().unwrap(), "--stack-name", "Renders"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok));
    let narrow = dir.join("narrow.json");
    std::fs::write(&narrow, json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}).to_string()).unwrap();
    let missing = Command::new(&exe)
        .arg("policies")
        .args(["validate", narrow.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["missing"].as_array().unwrap().iter().any(|m| m
        .as_str()
        .unwrap()
        .starts_with("cloudformation:CreateChangeSet")));
    let role = Command::new(&exe)
        .arg("policies")
        .args(["role", "--principal", "arn:aws:iam::111122223333:role/ci"])
        .output()
        .unwrap();
    let role: Value = serde_json::from_slice(&role.stdout).unwrap();
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:role/ci"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
