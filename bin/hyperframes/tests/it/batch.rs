//! `render-batch` through real parts: the local stack (`local-stack up`:
//! the function in its jail, Step Functions, moto) and the local pipeline.
//! One stack serves every stack scenario: validation that starts nothing,
//! a dry run, a batch interrupted by SIGKILL and re-run (no successful row
//! rendered twice, by the local Lambda service's invocation records), the
//! bound on renders in flight (from the executions' start and stop
//! times), a failing row that fails alone, and the batch notification.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hyperframes_testkit::webhook::Webhook;
use serde_json::{json, Value};

use crate::notify::{handler_zip, Up};

/// A red 1x1 PNG.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0,
    0, 0, 144, 119, 83, 222, 0, 0, 0, 12, 73, 68, 65, 84, 120, 156, 99, 248, 207, 192, 0, 0, 3, 1,
    1, 0, 201, 254, 146, 239, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// The variable that is valid but cannot be fetched offline.
const UNREACHABLE: &str = "https://unreachable.invalid/logo.png";

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("it-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 64x64, 0.3 s template (9 frames, one chunk) with a text, a colour,
/// an enum and an image variable.
fn template(dir: &Path) -> PathBuf {
    let p = dir.join("template");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("a.png"), PNG).unwrap();
    std::fs::write(p.join("b.png"), PNG).unwrap();
    std::fs::write(
        p.join("index.html"),
        r##"<!doctype html><html data-composition-variables='[{"id":"title","type":"string","label":"T","default":"Hi","maxLength":12},{"id":"bg","type":"color","label":"B","default":"#123456"},{"id":"mood","type":"enum","label":"M","default":"calm","options":[{"value":"calm","label":"C"},{"value":"loud","label":"L"}]},{"id":"logo","type":"image","label":"L","default":"a.png"}]'><head><meta charset="utf-8"><style>html,body{margin:0}#root{background:var(--bg)}</style></head>
<body><div id="root" data-composition-id="c" data-width="64" data-height="64" data-duration="0.3" data-no-timeline>
<p data-var-text="title" style="margin:0;font-size:10px;color:#fff"></p><img data-var-src="logo" width="16" height="16"></div>
<script>document.getElementById("root").dataset.mood = window.__hyperframes.getVariables().mood;</script></body></html>"##,
    )
    .unwrap();
    p
}

/// Seven rows, a blank line among them; line 5 is the one that fails at render.
fn rows(dir: &Path) -> PathBuf {
    let row = |i: usize, title: &str, bg: &str, mood: &str, logo: &str| {
        json!({"outputKey": format!("videos/v{i}.mp4"), "variables": {"title": title, "bg": bg, "mood": mood, "logo": logo}}).to_string()
    };
    let lines = [
        row(1, "Anna", "#ff0000", "calm", "a.png"),
        row(2, "Ben", "#00ff00", "loud", "b.png"),
        String::new(),
        row(3, "Cleo", "rgb(0,0,255)", "calm", "a.png"),
        row(4, "Dev", "#101010", "loud", UNREACHABLE),
        row(5, "Eve", "hsl(120 50% 50%)", "calm", "b.png"),
        row(6, "Finn", "#abcdef", "loud", "a.png"),
        row(7, "Gus", "#fedcba", "calm", "b.png"),
    ];
    let path = dir.join("rows.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn batch(dir: &Path, rows: &Path, template: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperframes"));
    cmd.arg("render-batch")
        .arg(rows)
        .arg("--project")
        .arg(template)
        .args(extra)
        .current_dir(dir)
        .env("HF_ALLOW_NETWORK", "0");
    cmd
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn manifest(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn count(m: &[Value], status: &str) -> usize {
    m.iter().filter(|e| e["status"] == status).count()
}

/// The manifest's fields, in order: the same on a stack and locally.
const FIELDS: [&str; 13] = [
    "line",
    "renderId",
    "executionArn",
    "status",
    "outputKey",
    "durationMs",
    "costUsd",
    "error",
    "cause",
    "outputBytes",
    "outputEtag",
    "outputSha256",
    "rowHash",
];

fn assert_fields(e: &Value) {
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, FIELDS, "{e}");
}

/// The failing row and the others, as a finished batch leaves them.
fn assert_outcome(m: &[Value]) {
    assert_eq!(m.len(), 7, "{m:#?}");
    let lines: Vec<u64> = m.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 4, 5, 6, 7, 8], "physical lines");
    for e in m {
        assert_fields(e);
        if e["line"] == 5 {
            assert_eq!(e["status"], "failed", "{e}");
            // Locally the producer's error name; on a stack the handler's
            // (INVALID_EVENT), with the producer's in the cause.
            assert!(
                e["error"] == "ASSET_FETCH_FAILED" || e["error"] == "INVALID_EVENT",
                "{e}"
            );
            assert!(
                e["cause"].as_str().unwrap().contains("ASSET_FETCH_FAILED")
                    || e["error"] == "ASSET_FETCH_FAILED",
                "{e}"
            );
            let cause = e["cause"].as_str().unwrap();
            assert!(
                cause.contains("variables.logo") && cause.contains("unreachable.invalid"),
                "{e}"
            );
        } else {
            assert_eq!(e["status"], "succeeded", "{e}");
            assert!(e["outputBytes"].as_u64().unwrap() > 0, "{e}");
        }
    }
}

/// The render ids of each plan, assemble and renderChunk invocation the
/// local Lambda service recorded (from the event's plan prefix).
fn invocations(state: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(state.join("logs/invocations.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|r| {
            let action = r["action"].as_str()?.to_string();
            let ev = r["event"].to_string();
            let at = ev.find("/renders/")? + "/renders/".len();
            let id: String = ev[at..].chars().take_while(|c| *c != '/').collect();
            Some((action, id))
        })
        .collect()
}

/// The most executions running at once, from their start and stop times.
fn max_in_flight(outputs: &Path) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let target = hyperframes_render::cli::TargetArgs {
            stack_name: None,
            outputs_file: Some(outputs.to_path_buf()),
            aws: hyperframes_cli::aws::AwsArgs {
                profile: None,
                region: None,
            },
        };
        let (aws, stack) = target.connect().await.unwrap();
        let list = aws
            .sfn
            .list_executions()
            .state_machine_arn(&stack.state_machine_arn)
            .max_results(100)
            .send()
            .await
            .unwrap();
        let mut edges = Vec::new();
        for x in list.executions() {
            let start = x.start_date().to_millis().unwrap();
            let stop = x
                .stop_date()
                .expect("every execution ended")
                .to_millis()
                .unwrap();
            edges.push((start, 1i32));
            edges.push((stop, -1i32));
        }
        // At equal times an end comes before a start.
        edges.sort();
        let (mut now, mut most) = (0, 0);
        for (_, d) in edges {
            now += d;
            most = most.max(now);
        }
        most as usize
    })
}

#[test]
fn a_batch_on_the_local_stack_resumes_after_a_kill_and_bounds_renders_in_flight() {
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "local-stack's jail and cgroups need root here; CI runs as root, run it with sudo"
    );
    let t = Instant::now();
    let dir = scratch("batch");
    let zip = handler_zip(&dir);
    let hook = Webhook::start("/hooks/batch", &[]);
    let up = Up::launch(&dir, &zip, "batch", &[]);
    eprintln!("stack up at {:?}", t.elapsed());
    let outputs = dir.join("outputs.json");
    let o = outputs.to_str().unwrap().to_string();
    let tpl = template(&dir);
    let rows = rows(&dir);
    let m_path = dir.join("rows.manifest.jsonl");

    validation_starts_nothing(&dir, &tpl, &o);
    let dry = batch(&dir, &rows, &tpl, &["--outputs-file", &o, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains("7 row(s): 7 to start") && text(&dry).contains("batch: 7 row(s), $"),
        "{}",
        text(&dry)
    );
    assert!(!m_path.exists(), "a dry run writes no manifest");
    assert_eq!(
        invocations(&dir.join("state")).len(),
        0,
        "a dry run starts nothing"
    );

    // The first run, killed once two rows have succeeded.
    let args = [
        "--outputs-file",
        o.as_str(),
        "--max-concurrent",
        "2",
        "--notify-webhook",
        hook.url.as_str(),
    ];
    let mut child = batch(&dir, &rows, &tpl, &args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("run1.stderr")).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while count(&manifest(&m_path), "succeeded") < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the batch ended before the kill"
        );
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{}",
            up.log("up.stderr")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = manifest(&m_path);
    eprintln!(
        "killed at {:?}: {} succeeded",
        t.elapsed(),
        count(&killed, "succeeded")
    );
    assert!(count(&killed, "succeeded") < 7);

    // The re-run finishes the batch; the failed row fails alone.
    let second = batch(&dir, &rows, &tpl, &args).output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(1),
        "one row failed:\n{}",
        text(&second)
    );
    let m = manifest(&m_path);
    assert_outcome(&m);
    assert!(
        text(&second).contains("line 5 (videos/v4.mp4) failed: INVALID_EVENT"),
        "{}",
        text(&second)
    );
    no_successful_row_rendered_twice(&dir, &m);

    // A third run skips every row that succeeded and restarts the failed
    // one under a new name.
    let failed_id = m[3]["renderId"].as_str().unwrap().to_string();
    let third = batch(&dir, &rows, &tpl, &args).output().unwrap();
    assert_eq!(third.status.code(), Some(1), "{}", text(&third));
    assert!(
        text(&third).contains(
            "7 row(s): 1 to start, 0 running or ended (followed), 6 done by an earlier run"
        ),
        "{}",
        text(&third)
    );
    let m3 = manifest(&m_path);
    assert_outcome(&m3);
    let retried = m3[3]["renderId"].as_str().unwrap();
    assert!(
        retried.starts_with(failed_id.split("-r").next().unwrap()) && retried != failed_id,
        "{retried} after {failed_id}"
    );
    no_successful_row_rendered_twice(&dir, &m3);

    let most = max_in_flight(&outputs);
    assert_eq!(
        most, 2,
        "--max-concurrent 2: at most 2 renders in flight, and the bound was reached"
    );
    // The batch's own notification, once per finished run.
    let calls = hook.wait_for(2, Duration::from_secs(10));
    assert_eq!(calls.len(), 2, "{calls:?}");
    let body: Value = serde_json::from_str(&calls[1].body).unwrap();
    assert_eq!(
        (
            body["kind"].as_str(),
            body["rows"].as_u64(),
            body["failed"].as_u64(),
            body["skipped"].as_u64()
        ),
        (Some("batch"), Some(7), Some(1), Some(6)),
        "{body}"
    );
    assert_eq!(
        body["manifestS3Uri"].as_str().unwrap(),
        format!(
            "s3://{}/videos/rows.manifest.jsonl",
            up.outputs()["RenderBucketName"].as_str().unwrap()
        )
    );
    eprintln!("done at {:?}", t.elapsed());
}

/// Bad rows: every problem at once, by physical line; nothing uploaded or started.
fn validation_starts_nothing(dir: &Path, tpl: &Path, outputs: &str) {
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        [
            r#"{"outputKey":"videos/a.mp4","variables":{"title":"ok"}}"#,
            "",
            r#"{"outputKey":"videos/b.mp4","variables":{"title":"much too long a title","mood":"angry"}}"#,
            r#"{"outputKey":"videos/a.mp4","colour":"red"}"#,
            r#"{"outputKey":"videos/c.mp4","variables":{"bg":"not a colour"},"fps":300}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let o = batch(
        dir,
        &bad,
        tpl,
        &["--outputs-file", outputs, "--strict-variables"],
    )
    .output()
    .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for needle in [
        "5 problem(s) in",
        "nothing was uploaded or started",
        "line 3: variables.title: is 21 characters, over the declared maxLength 12",
        "line 3: variables.mood: must be one of",
        "line 4: unknown field `colour`",
        "line 5: variables.bg:",
        "line 5: invalid render config: config.fps",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from:\n{out}");
    }
    assert!(!dir.join("bad.manifest.jsonl").exists());
    assert_eq!(invocations(&dir.join("state")).len(), 0);
}

/// Each succeeded row's render planned, rendered and assembled once over
/// all the runs (its name has no retry), by the service's records.
fn no_successful_row_rendered_twice(dir: &Path, m: &[Value]) {
    let mut by_id: HashMap<String, Vec<String>> = HashMap::new();
    for (action, id) in invocations(&dir.join("state")) {
        by_id.entry(id).or_default().push(action);
    }
    for e in m.iter().filter(|e| e["status"] == "succeeded") {
        let id = e["renderId"].as_str().unwrap();
        let mut actions = by_id.get(id).cloned().unwrap_or_default();
        actions.sort();
        assert_eq!(
            actions,
            ["assemble", "plan", "renderChunk"],
            "{id}: {by_id:#?}"
        );
        let retries = by_id
            .keys()
            .filter(|k| k.starts_with(&format!("{id}-r")))
            .count();
        assert_eq!(retries, 0, "{id} was started again");
    }
}

#[test]
fn a_local_batch_writes_the_same_manifest_and_skips_what_it_rendered() {
    let dir = scratch("batch-local");
    let tpl = template(&dir);
    let rows = rows(&dir);
    let out = dir.join("out");
    let map = hyperframes_testkit::tools_dir().join("asset-map.json");
    let args = [
        "--out-dir",
        out.to_str().unwrap(),
        "--asset-map",
        map.to_str().unwrap(),
        "--workers",
        "1",
    ];
    let first = batch(&dir, &rows, &tpl, &args).output().unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    // Locally the asset map says in advance that the URL cannot be fetched.
    assert!(
        text(&first).contains("line 5: variables.logo:"),
        "{}",
        text(&first)
    );
    let m = manifest(&dir.join("rows.manifest.jsonl"));
    assert_outcome(&m);
    for e in m.iter().filter(|e| e["status"] == "succeeded") {
        let file = out.join(e["outputKey"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            e["outputBytes"].as_u64().unwrap()
        );
        assert_eq!(e["outputSha256"].as_str().unwrap().len(), 64);
    }
    // Again: the six files are still what the manifest says, so only the
    // failed row is rendered; a file changed since is rendered again.
    std::fs::write(out.join("videos/v1.mp4"), b"not the render").unwrap();
    let mtime = |k: &str| std::fs::metadata(out.join(k)).unwrap().modified().unwrap();
    let before = mtime("videos/v2.mp4");
    let second = batch(&dir, &rows, &tpl, &[&args[..], &["--json"]].concat())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let events: Vec<Value> = String::from_utf8_lossy(&second.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let end = events.last().unwrap();
    assert_eq!(
        (
            end["event"].as_str(),
            end["skipped"].as_u64(),
            end["failed"].as_u64()
        ),
        (Some("batch"), Some(5), Some(1)),
        "{end}"
    );
    assert_eq!(
        mtime("videos/v2.mp4"),
        before,
        "an unchanged row is not rendered again"
    );
    assert_outcome(&manifest(&dir.join("rows.manifest.jsonl")));
}
