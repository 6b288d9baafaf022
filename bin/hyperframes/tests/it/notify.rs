//! Notifications rehearsed end to end, as a user runs them: `hyperframes
//! local-stack up` with synth's `--notify-queue-arn` and `--notify-webhook`
//! flags, then `hyperframes render --wait` twice. A render that succeeds and
//! one whose composition throws each deliver their completion payload to
//! the queue (in the stack's moto) and to a webhook listening on loopback,
//! with the connection's API-key header.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyperframes_deploy::handler_zip::PayloadArgs;
use hyperframes_deploy::package::Bootstrap;
use hyperframes_local::events::deliver::{LoopbackUrl, Moto};
use hyperframes_testkit::webhook::{Received, Webhook};
use serde_json::Value;

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:render-events";
const API_KEY: &str = "rehearsal-key-123";

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("it-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The handler ZIP from the workspace's `bootstrap` and the pinned
/// payloads. Their compressed stage is kept in target/tmp/payload-cache
/// (shared with the local package's tests): brotli takes most of a minute
/// once, and nothing the second time.
pub(crate) fn handler_zip(dir: &Path) -> PathBuf {
    let tools = hyperframes_local::stack::Tools::discover();
    let args = PayloadArgs {
        payload_dir: None,
        payload_cache: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("payload-cache")),
    };
    let bootstrap =
        hyperframes_testkit::bootstrap::bootstrap(Path::new(env!("CARGO_TARGET_TMPDIR")));
    hyperframes_local::stack::handler_package(
        &Bootstrap::Prebuilt(bootstrap.clone()),
        &args,
        &tools,
        &dir.join("handler.zip"),
    )
    .unwrap_or_else(|e| panic!("package failed: {e:#}"))
}

/// `local-stack up`, stopped (SIGTERM, as Ctrl-C would) when dropped.
pub(crate) struct Up {
    child: Child,
    dir: PathBuf,
}

impl Up {
    fn start(dir: &Path, zip: &Path, webhook: &str) -> Up {
        let api_key = format!("NotifyWebhookApiKey={API_KEY}");
        Up::launch(
            dir,
            zip,
            "notify",
            &[
                "--notify-queue-arn",
                QUEUE_ARN,
                "--notify-webhook",
                webhook,
                "--parameter-overrides",
                &api_key,
            ],
        )
    }

    /// `local-stack up --stack-name NAME --concurrency 2` with the test
    /// tools' asset map, the state and outputs under `dir`, and `extra` flags.
    pub(crate) fn launch(dir: &Path, zip: &Path, name: &str, extra: &[&str]) -> Up {
        let map = hyperframes_testkit::tools_dir().join("asset-map.json");
        assert!(
            map.is_file(),
            "{} is missing: run scripts/test.sh --install-only",
            map.display()
        );
        let child = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
            .args([
                "local-stack",
                "up",
                "--stack-name",
                name,
                "--concurrency",
                "2",
            ])
            .arg("--package")
            .arg(zip)
            .arg("--asset-map")
            .arg(&map)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--outputs-file")
            .arg(dir.join("outputs.json"))
            .args(extra)
            .current_dir(dir)
            .stdout(std::fs::File::create(dir.join("up.stdout")).unwrap())
            .stderr(std::fs::File::create(dir.join("up.stderr")).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .expect("start hyperframes local-stack up");
        let mut up = Up {
            child,
            dir: dir.to_path_buf(),
        };
        up.wait_until_up();
        up
    }

    pub(crate) fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    fn wait_until_up(&mut self) {
        let t = Instant::now();
        while !self.dir.join("outputs.json").is_file() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "local-stack up exited ({status}):\n{}",
                    self.log("up.stderr")
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "not up in 300 s:\n{}",
                self.log("up.stderr")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub(crate) fn outputs(&self) -> Value {
        serde_json::from_str(&self.log("outputs.json")).unwrap()
    }

    /// SIGTERM and the exit status.
    pub(crate) fn stop(&mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.stop();
        }
    }
}

/// A project of one 64x64 composition, 0.5 s (15 frames at 30 fps).
fn project(dir: &Path, name: &str, script: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("index.html"),
        format!(r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#123}}</style></head>
<body><div id="root" data-composition-id="c" data-width="64" data-height="64" data-duration="0.5" data-no-timeline>
<div style="width:16px;height:16px;background:#f80"></div></div>{script}</body></html>"#),
    )
    .unwrap();
    p
}

/// `render PROJECT --wait` on the stack; its exit code.
fn render(dir: &Path, project: &Path, id: &str) -> Option<i32> {
    let out = Command::new(env!("CARGO_BIN_EXE_hyperframes"))
        .arg("render")
        .arg(project)
        .arg("--outputs-file")
        .arg(dir.join("outputs.json"))
        .args([
            "--render-id",
            id,
            "--format",
            "mp4",
            "--chunk-size",
            "15",
            "--wait",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    eprintln!("render {id}: {}", String::from_utf8_lossy(&out.stderr));
    out.status.code()
}

/// The queue's messages by render id, polled until `n` arrived (or 30 s).
fn queue_payloads(moto_endpoint: &str, n: usize) -> Vec<Value> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto {
        endpoint: LoopbackUrl::parse(moto_endpoint).unwrap(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
    };
    let mut got = Vec::new();
    let t = Instant::now();
    while got.len() < n && t.elapsed() < Duration::from_secs(30) {
        for m in rt
            .block_on(moto.receive_messages("render-events", 0))
            .unwrap()
        {
            got.push(serde_json::from_str(m["Body"].as_str().unwrap()).unwrap());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    got
}

/// The documented payload's fields, in order, with the values both endings share.
fn assert_payload(p: &Value, id: &str, status: &str, outputs: &Value) {
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "version",
            "renderId",
            "status",
            "executionArn",
            "stateMachineArn",
            "startDate",
            "stopDate",
            "error",
            "cause",
            "output"
        ],
        "{p}"
    );
    assert_eq!(p["version"], "1");
    assert_eq!(
        (p["renderId"].as_str(), p["status"].as_str()),
        (Some(id), Some(status)),
        "{p}"
    );
    let sm = outputs["RenderStateMachineArn"].as_str().unwrap();
    assert_eq!(p["stateMachineArn"], sm);
    assert_eq!(
        p["executionArn"],
        format!("{}:{id}", sm.replace(":stateMachine:", ":execution:"))
    );
    let (start, stop) = (
        p["startDate"].as_i64().unwrap(),
        p["stopDate"].as_i64().unwrap(),
    );
    assert!(start > 1_700_000_000_000 && stop >= start, "epoch ms: {p}");
}

fn by_id<'a>(payloads: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = payloads.iter().filter(|p| p["renderId"] == id).collect();
    assert_eq!(found.len(), 1, "one payload for {id}: {payloads:#?}");
    found[0]
}

fn check_webhook_call(r: &Received) -> Value {
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/hooks/render")
    );
    assert_eq!(
        r.headers.get("x-api-key").map(String::as_str),
        Some(API_KEY),
        "{r:?}"
    );
    assert!(
        r.headers["content-type"].starts_with("application/json"),
        "{r:?}"
    );
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[test]
fn rehearsed_renders_deliver_their_endings_to_a_queue_and_a_loopback_webhook() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "local-stack's jail and cgroups need root here; CI runs as root, run it with sudo"
    );
    let t = Instant::now();
    let dir = scratch("notify");
    let zip = handler_zip(&dir);
    eprintln!("package built in {:?}", t.elapsed());
    let hook = Webhook::start("/hooks/render", &[]);
    let mut up = Up::start(&dir, &zip, &hook.url);
    eprintln!("stack up at {:?}", t.elapsed());
    let stdout = up.log("up.stdout");
    assert!(
        stdout.contains(&format!("notification    NotifyQueueRule -> SQS queue render-events (standing in for {QUEUE_ARN})"))
            && stdout.contains(&format!("notification    NotifyWebhookRule -> webhook POST {}", hook.url))
            && stdout.contains("plain HTTP is allowed for this rehearsal's loopback webhook only"),
        "{stdout}"
    );
    let outputs = up.outputs();

    let ok = project(&dir, "ok", "");
    assert_eq!(
        render(&dir, &ok, "notify-ok"),
        Some(0),
        "{}",
        up.log("up.stderr")
    );
    let broken = project(
        &dir,
        "broken",
        "<script>throw new Error('boom from the composition');</script>",
    );
    assert_eq!(
        render(&dir, &broken, "notify-broken"),
        Some(1),
        "the failed render exits 1"
    );

    eprintln!("both renders done at {:?}", t.elapsed());
    let queued = queue_payloads(outputs["EndpointUrl"].as_str().unwrap(), 2);
    let calls = hook.wait_for(2, Duration::from_secs(30));
    assert_eq!(
        (queued.len(), calls.len()),
        (2, 2),
        "one message and one call per ending:\n{}",
        up.log("state/logs/events.log")
    );
    let posted: Vec<Value> = calls.iter().map(check_webhook_call).collect();
    for payloads in [&queued, &posted] {
        let p = by_id(payloads, "notify-ok");
        assert_payload(p, "notify-ok", "SUCCEEDED", &outputs);
        assert_eq!((&p["error"], &p["cause"]), (&Value::Null, &Value::Null));
        let result: Value =
            serde_json::from_str(p["output"].as_str().expect("output is a JSON string")).unwrap();
        let bucket = outputs["RenderBucketName"].as_str().unwrap();
        assert_eq!(
            result["OutputS3Uri"],
            format!("s3://{bucket}/outputs/notify-ok.mp4")
        );
        assert_eq!(result["FramesEncoded"], 15);
        assert!(result["FileSize"].as_u64().unwrap() > 0, "{result}");
        let f = by_id(payloads, "notify-broken");
        assert_payload(f, "notify-broken", "FAILED", &outputs);
        // A chunk fails in its own child execution of the Distributed
        // Map: the render's error is the Map's, the chunk's is in the cause.
        assert_eq!(f["error"], "States.ExceedToleratedFailureThreshold", "{f}");
        let cause = f["cause"].as_str().unwrap();
        for needle in ["INVALID_EVENT", "boom from the composition"] {
            assert!(cause.contains(needle), "{needle:?} missing: {f}");
        }
        assert_eq!(f["output"], Value::Null);
    }
    // The queue's message and the webhook's body are the same text.
    assert_eq!(by_id(&queued, "notify-ok"), by_id(&posted, "notify-ok"));
    assert!(up.stop().success(), "{}", up.log("up.stderr"));
}
