//! The whole distributed render, offline: the synthesized state machine,
//! unchanged, run by aws-local-stepfunctions; its Lambda calls served by
//! the real handler package in the provided.al2023 jail (bundled Chromium
//! and ffmpeg, nothing from the host); moto S3. Renders are started and
//! followed with the `render`/`progress`/`cancel` library code, through the
//! outputs file `local-stack up` writes.
//!
//! The jail holds no tar, gzip, curl, ffprobe, fonts or GL libraries, so a
//! function that needs one fails here as it would on Lambda.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{serial, test_stack, TestStack};
use hyperframes_infra::contract::PlanProtocol;
use hyperframes_local::lambda::{Fault, FaultKind, Record};
use hyperframes_render::cli::TargetArgs;
use hyperframes_render::execution;
use hyperframes_render::pricing::Prices;
use hyperframes_render::progress::{Progress, State};
use hyperframes_render::render::{self, RemoteRender};
use serde_json::{json, Value};

pub(crate) fn target(s: &TestStack) -> TargetArgs {
    TargetArgs {
        stack_name: None,
        outputs_file: Some(s.outputs_file.clone()),
        aws: hyperframes_cli::aws::AwsArgs {
            profile: None,
            region: None,
        },
    }
}

/// A project directory holding one fixture's composition as index.html.
fn fixture_project(dir: &Path, fixture: &str) -> PathBuf {
    let project = dir.join(format!("project-{fixture}"));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(
        crate::support::workspace()
            .join(format!("producer/tests/fixtures/{fixture}/compiled.html")),
        project.join("index.html"),
    )
    .unwrap();
    project
}

pub(crate) fn remote(
    project: &Path,
    render_id: &str,
    format: &str,
    download: Option<PathBuf>,
) -> RemoteRender {
    let mut config = hyperframes_producer::RenderConfig::new(
        30,
        hyperframes_producer::Format::parse(format).expect("a known format"),
    );
    // 60 frames in chunks of 20: a Map of 3.
    config.chunk_size = Some(20);
    RemoteRender {
        project: Some(project.to_path_buf()),
        site_id: None,
        config,
        protocol: PlanProtocol::V2,
        render_id: Some(render_id.into()),
        output_key: None,
        wait: download.is_some(),
        download,
        json: true,
        prices: Default::default(),
        concurrency: None,
        estimate: None,
    }
}

/// Follows an execution to its end; returns its final progress.
pub(crate) fn wait(s: &TestStack, render_id: &str) -> Progress {
    let (aws, stack) = s.rt.block_on(target(s).connect()).unwrap();
    let arn = stack.execution_arn(render_id);
    let t = Instant::now();
    loop {
        let p =
            s.rt.block_on(execution::progress(&aws.sfn, &arn, Prices::default()))
                .unwrap();
        if p.state != State::Running {
            return p;
        }
        assert!(
            t.elapsed() < crate::support::EXECUTION_LIMIT,
            "{render_id} still running"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The service's records of one render's invocations.
pub(crate) fn invocations(s: &TestStack, render_id: &str) -> Vec<Record> {
    s.stack
        .lambda
        .records()
        .into_iter()
        .filter(|r| r.event.to_string().contains(&format!("/{render_id}")))
        .collect()
}

fn count(records: &[Record], action: &str) -> usize {
    records
        .iter()
        .filter(|r| r.action.as_deref() == Some(action))
        .count()
}

/// The most invocations of `action` that were running at the same moment.
fn max_overlap(records: &[Record], action: &str) -> usize {
    let spans: Vec<(u128, u128)> = records
        .iter()
        .filter(|r| r.action.as_deref() == Some(action))
        .map(|r| (r.started_ms, r.ended_ms))
        .collect();
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(a, b)| a <= start && start < b)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// The render's history with its chunks' child executions' histories
/// merged in, as `progress` reads it.
fn history(s: &TestStack, render_id: &str) -> Vec<Value> {
    let sfn = s.sfn();
    let (_, stack) = s.rt.block_on(target(s).connect()).unwrap();
    let arn = stack.execution_arn(render_id);
    let recorded = s.rt.block_on(execution::read(&sfn, &arn)).unwrap();
    recorded
        .events
        .iter()
        .map(|f| json!({"type": f.kind, "error": f.error, "state": f.state}))
        .collect()
}

/// The same project, with the same config as the workflow's render,
/// rendered locally with the host's Chromium and ffmpeg.
pub(crate) fn local_render(dir: &Path, project: &Path, format: &str) -> PathBuf {
    // The producer's settings from this run's environment, as a program's
    // edge installs them (the library reads no variable itself).
    hyperframes_testkit::install_producer_settings();
    let config =
        hyperframes_render::render::config(&remote(project, "local", format, None)).unwrap();
    let plan_dir = dir.join(format!("local-plan-{format}"));
    let _ = std::fs::remove_dir_all(&plan_dir);
    hyperframes_producer::plan(project, &config, &plan_dir).unwrap();
    let loaded = hyperframes_producer::plan::LoadedPlan::load(&plan_dir).unwrap();
    let chunks: Vec<PathBuf> = (0..loaded.plan.chunk_count)
        .map(|i| {
            hyperframes_producer::render_chunk(
                &plan_dir,
                i,
                &dir.join(format!("local-{format}-{i}")),
            )
            .unwrap()
            .path
        })
        .collect();
    let out = dir.join(match format {
        "png-sequence" => "local-frames".to_string(),
        f => format!("local.{f}"),
    });
    hyperframes_producer::assemble(&plan_dir, &chunks, &out).unwrap();
    out
}

/// PNG files of a directory, sorted.
fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Per-frame PSNR of the Lambda output against the local one.
pub(crate) fn psnr(dir: &Path, lambda_out: &Path, local_out: &Path, format: &str) -> Vec<f64> {
    if format != "png-sequence" {
        return hyperframes_producer::compare::psnr_per_frame(lambda_out, local_out).unwrap();
    }
    let frames = dir.join("lambda-frames");
    std::fs::create_dir_all(&frames).unwrap();
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(lambda_out).unwrap());
    tar::Archive::new(gz).unpack(&frames).unwrap();
    let (a, b) = (pngs(&frames), pngs(local_out));
    assert_eq!(a.len(), b.len(), "frame counts differ: {a:?} vs {b:?}");
    a.iter()
        .zip(&b)
        .map(|(x, y)| hyperframes_producer::compare::psnr_per_frame(x, y).unwrap()[0])
        .collect()
}

#[test]
fn fixtures_render_through_the_whole_workflow_in_the_jail() {
    let s = test_stack();
    let _g = serial();
    for (fixture, format, ext) in [
        ("mp4-h264-sdr", "mp4", "mp4"),
        ("webm-vp9", "webm", "webm"),
        ("png-sequence", "png-sequence", "tar.gz"),
    ] {
        let dir = crate::support::scratch(&format!("render-{format}"));
        let project = fixture_project(&dir, fixture);
        let id = format!("wf-{format}");
        let out = dir.join(format!("lambda.{ext}"));
        let ok =
            s.rt.block_on(render::run(
                &target(s),
                remote(&project, &id, format, Some(out.clone())),
            ))
            .unwrap_or_else(|e| panic!("{id}: {e:#}"));
        let p = wait(s, &id);
        let recs = invocations(s, &id);
        assert!(
            ok && p.state == State::Succeeded,
            "{id}: {:?}\n{recs:#?}\nfunction log: {}",
            p.state,
            s.stack.lambda.function_log_path().display()
        );
        assert_eq!((p.chunks_done, p.chunks_total), (3, Some(3)), "{id}");
        assert_eq!((p.frames_done, p.frames_total), (60, Some(60)), "{id}");
        assert_eq!(p.lambda_invocations, 5, "{id}: plan + 3 chunks + assemble");
        assert!(
            p.cost.total_usd > 0.0 && p.cost.lambda_ms > 0,
            "{id}: {:?}",
            p.cost
        );
        assert_eq!(
            (
                count(&recs, "plan"),
                count(&recs, "renderChunk"),
                count(&recs, "assemble")
            ),
            (1, 3, 1),
            "{id}: {recs:#?}"
        );
        assert_eq!(
            max_overlap(&recs, "renderChunk"),
            3,
            "{id}: the Map's chunks ran one after another: {recs:#?}"
        );
        for r in &recs {
            assert_eq!(r.outcome, "ok", "{r:?}");
            assert!(r.max_memory_used_mb > 0 && r.billed_ms > 0, "{r:?}");
        }
        let local = local_render(&dir, &project, format);
        let frames = psnr(&dir, &out, &local, format);
        assert_eq!(frames.len(), 60, "{id}: {frames:?}");
        let worst = frames.iter().cloned().fold(f64::INFINITY, f64::min);
        assert!(
            worst >= 40.0,
            "{id}: worst frame {worst:.2} dB against the local render: {frames:?}"
        );
        eprintln!(
            "[measure] {id}: worst PSNR {worst:.2} dB, {:.1} s, ${:.6}",
            p.elapsed_ms as f64 / 1000.0,
            p.cost.total_usd
        );
    }
}

/// Starts a render of a fixture and returns once it ended.
fn run_to_end(s: &TestStack, fixture: &str, id: &str) -> Progress {
    let dir = crate::support::scratch(id);
    let project = fixture_project(&dir, fixture);
    s.rt.block_on(render::run(&target(s), remote(&project, id, "mp4", None)))
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    wait(s, id)
}

#[test]
fn without_a_memory_controller_a_render_succeeds_and_reports_unenforced_memory() {
    crate::support::require_root();
    let _g = serial();
    let none = hyperframes_local::cgroup::CgroupBackend::None {
        reason: "forced by the test".into(),
    };
    let s = crate::support::start_test_stack("stack-none", none);
    let id = "wf-none";
    let project = fixture_project(&crate::support::scratch(id), "mp4-h264-sdr");
    // One chunk: the path differs from the others only in the cgroup.
    let mut r = remote(&project, id, "mp4", None);
    r.config.chunk_size = Some(60);
    s.rt.block_on(render::run(&target(&s), r))
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let p = wait(&s, id);
    let recs = invocations(&s, id);
    let log_path = s.stack.lambda.function_log_path();
    let crate::support::TestStack { rt, stack, .. } = s;
    rt.block_on(stack.shutdown());
    let log = std::fs::read_to_string(log_path).unwrap();
    assert_eq!(p.state, State::Succeeded, "{recs:#?}");
    assert_eq!(recs.len(), 3, "plan + 1 chunk + assemble: {recs:#?}");
    for r in &recs {
        assert!(!r.memory_enforced && r.max_memory_used_mb > 0, "{r:?}");
    }
    let reports: Vec<&str> = log.lines().filter(|l| l.starts_with("REPORT ")).collect();
    assert_eq!(reports.len(), 3, "{log}");
    for r in reports {
        assert!(r.contains(" MB (unenforced: rss)"), "{r}");
    }
    assert!(
        !log.contains("every process in it ended: false"),
        "an instance outlived its stop:\n{log}"
    );
}

#[test]
fn a_retryable_chunk_failure_is_retried_and_the_render_succeeds() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-retry";
    s.stack.lambda.inject(Fault {
        action: "renderChunk".into(),
        matching: format!("/{id}/"),
        times: 1,
        kind: FaultKind::FunctionError {
            error_type: "RENDER_FAILED".into(),
            message: "injected by the test: a transient render failure".into(),
        },
    });
    let p = run_to_end(s, "mp4-h264-sdr", id);
    let recs = invocations(s, id);
    assert_eq!(p.state, State::Succeeded, "{recs:#?}");
    assert_eq!(
        count(&recs, "renderChunk"),
        4,
        "3 chunks + 1 retry: {recs:#?}"
    );
    assert_eq!(recs.iter().filter(|r| r.injected).count(), 1);
    let h = history(s, id);
    assert_eq!(
        h.iter()
            .filter(|e| e["type"] == "TaskFailed" && e["error"] == "RENDER_FAILED")
            .count(),
        1,
        "{h:#?}"
    );
    assert_eq!(p.lambda_invocations, 6, "the retry is a scheduled task too");
    assert_eq!(p.retries.failed_attempts, 1, "{:?}", p.retries);
    assert_eq!(p.retries.errors["RENDER_FAILED"], 1);
    let scheduled = h.iter().filter(|e| e["type"] == "TaskScheduled").count();
    timeline_of_the_retried_render(s, id, scheduled);
}

/// `progress --timeline` on that render: one bar per invocation in the
/// execution history, the retry named, the slowest chunks marked, the
/// REPORT records of the local stack matched to every bar.
fn timeline_of_the_retried_render(s: &TestStack, id: &str, scheduled: usize) {
    use hyperframes_render::commands::progress;
    use std::process::ExitCode;
    let dir = crate::support::scratch("wf-timeline");
    let svg_path = dir.join("timeline.svg");
    let jsonl = s
        .stack
        .lambda
        .function_log_path()
        .with_file_name("invocations.jsonl");
    let run = |timeline: &Path| {
        let args = [
            "progress",
            id,
            "--outputs-file",
            s.outputs_file.to_str().unwrap(),
            "--timeline",
            timeline.to_str().unwrap(),
            "--reports",
            jsonl.to_str().unwrap(),
        ];
        <progress::Args as clap::Parser>::try_parse_from(args).map(progress::run)
    };
    assert_eq!(run(&svg_path).unwrap(), ExitCode::SUCCESS);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(scheduled, 6, "plan + 3 chunks + 1 retry + assemble");
    assert_eq!(svg.matches("<g class=\"bar\">").count(), scheduled, "{svg}");
    assert_eq!(
        svg.matches("retry/failed: RENDER_FAILED").count(),
        1,
        "{svg}"
    );
    assert_eq!(svg.matches("class=\"slowest\"").count(), 3, "{svg}");
    for frames in ["0, frames 0-19", "1, frames 20-39", "2, frames 40-59"] {
        assert!(
            svg.contains(&format!(">renderChunk {frames}</text>")),
            "{frames}: {svg}"
        );
    }
    assert!(
        svg.contains("from 6 of "),
        "every bar has its REPORT: {svg}"
    );
    // A path that cannot be written: refused, nothing written.
    let bad = dir.join("missing/timeline.svg");
    assert_eq!(run(&bad).unwrap(), ExitCode::from(1));
    assert!(!bad.parent().unwrap().exists());
}

#[test]
fn a_throwing_composition_fails_with_its_contract_error_after_one_invocation() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-throws";
    let dir = crate::support::scratch(id);
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        r#"<!doctype html><html><body><div id="root" data-composition-id="c" data-width="64" data-height="64" data-duration="1"></div>
<script>throw new Error('boom from the composition');</script></body></html>"#,
    )
    .unwrap();
    let mut r = remote(&project, id, "mp4", None);
    r.config.chunk_size = Some(30);
    s.rt.block_on(render::run(&target(s), r)).unwrap();
    let p = wait(s, id);
    let recs = invocations(s, id);
    let State::Failed { error, cause } = &p.state else {
        panic!("{id}: {:?}\n{recs:#?}", p.state)
    };
    assert_eq!(error, "INVALID_EVENT", "{cause}");
    assert!(cause.contains("boom from the composition"), "{cause}");
    assert_eq!(
        count(&recs, "renderChunk"),
        1,
        "non-retryable: one invocation: {recs:#?}"
    );
    assert_eq!(count(&recs, "plan"), 1);
    assert_eq!(count(&recs, "assemble"), 0);
}

#[test]
fn a_chunk_past_its_timeout_is_killed_and_retried() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-timeout";
    s.stack.lambda.inject(Fault {
        action: "renderChunk".into(),
        matching: format!("/{id}/"),
        times: 1,
        // The service holds back an earlier answer, so the fault fires
        // however fast the chunk is (a warm one once finished in 698 ms,
        // inside the old 700 ms race).
        kind: FaultKind::Timeout(Duration::from_millis(700)),
    });
    let p = run_to_end(s, "mp4-h264-sdr", id);
    let recs = invocations(s, id);
    assert_eq!(p.state, State::Succeeded, "{recs:#?}");
    let timed_out: Vec<&Record> = recs.iter().filter(|r| r.outcome == "timeout").collect();
    assert_eq!(timed_out.len(), 1, "{recs:#?}");
    assert_eq!(count(&recs, "renderChunk"), 4);
    let h = history(s, id);
    assert!(
        h.iter()
            .any(|e| e["type"] == "TaskFailed" && e["error"] == "Sandbox.Timedout"),
        "{h:#?}"
    );
    // The killed instance's processes (bootstrap, Chromium, ffmpeg) all
    // ended: its cgroup emptied and was removed.
    let log = std::fs::read_to_string(s.stack.lambda.function_log_path()).unwrap();
    let stream = &timed_out[0].instance;
    assert!(
        log.lines()
            .any(|l| l.contains(stream.as_str()) && l.ends_with("every process in it ended: true")),
        "no clean stop of {stream} in the function log"
    );
}

#[test]
fn a_project_in_a_foreign_bucket_is_refused() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-foreign";
    let s3 = s.s3();
    let body = {
        let dir = crate::support::scratch(id);
        let project = fixture_project(&dir, "mp4-h264-sdr");
        let tarball = dir.join("project.tar.gz");
        hyperframes_handler::archive::create_tar_gz(&project, &tarball).unwrap();
        std::fs::read(tarball).unwrap()
    };
    s.rt.block_on(async {
        s3.create_bucket()
            .bucket("someone-elses-bucket")
            .send()
            .await
            .unwrap();
        s3.put_object()
            .bucket("someone-elses-bucket")
            .key("sites/x/project.tar.gz")
            .body(body.into())
            .send()
            .await
            .unwrap();
    });
    let (_, stack) = s.rt.block_on(target(s).connect()).unwrap();
    let input = execution::input(
        &stack,
        "s3://someone-elses-bucket/sites/x/project.tar.gz",
        id,
        "outputs/wf-foreign.mp4",
        &hyperframes_producer::RenderConfig::new(30, hyperframes_producer::Format::Mp4),
        PlanProtocol::V2,
        None,
    )
    .unwrap();
    s.rt.block_on(execution::start(&s.sfn(), &stack, id, input))
        .unwrap();
    let p = wait(s, id);
    let recs = invocations(s, id);
    let State::Failed { error, .. } = &p.state else {
        panic!("{:?}", p.state)
    };
    assert_eq!(error, "S3_URI_NOT_ALLOWED");
    assert_eq!(count(&recs, "plan"), 1, "non-retryable: {recs:#?}");
}

#[test]
fn a_cancelled_render_is_aborted() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-cancel";
    let dir = crate::support::scratch(id);
    let project = fixture_project(&dir, "mp4-h264-sdr");
    s.rt.block_on(render::run(&target(s), remote(&project, id, "mp4", None)))
        .unwrap();
    let (aws, stack) = s.rt.block_on(target(s).connect()).unwrap();
    s.rt.block_on(execution::cancel(&aws.sfn, &stack.execution_arn(id)))
        .unwrap();
    let p = wait(s, id);
    assert_eq!(p.state, State::Aborted);
    let h = history(s, id);
    let last = h.last().unwrap();
    assert_eq!(last["type"], "ExecutionAborted", "{h:#?}");
    assert_eq!(last["error"], "CANCELLED");
}

/// The package at `from` again at `to`, its files hard links (the
/// payload is tens of MB): an edit must replace a file, never write into it.
fn link_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().unwrap();
        if t.is_dir() {
            link_tree(&src, &dst);
        } else if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else {
            std::fs::hard_link(&src, &dst).unwrap();
        }
    }
}

/// Puts the function's own spec back when a case ends, also on a panic.
struct Restore<'a> {
    s: &'a TestStack,
    spec: hyperframes_local::lambda::FunctionSpec,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let spec = self.spec.clone();
        self.s
            .rt
            .block_on(
                self.s
                    .stack
                    .lambda
                    .update_function(&spec.name.clone(), |f| *f = spec),
            )
            .unwrap();
    }
}

/// A package without its manifest, with a malformed one, or without a
/// payload file, and an environment without its variables: each fails
/// the function's init with FUNCTION_MISCONFIGURED, reported once through
/// the Runtime API's init/error and not retried by the workflow (one
/// invocation, one TaskFailed), and its message names what to fix.
#[test]
fn a_broken_package_or_environment_fails_at_init_without_retries() {
    let s = test_stack();
    let _g = serial();
    let name = s.stack.resolved.function_name.clone();
    let dir = crate::support::scratch("wf-init");
    let project = fixture_project(&dir, "mp4-h264-sdr");
    let manifest = "payload/manifest.json";
    type Edit = Box<dyn Fn(&Path, &mut Vec<(String, String)>)>;
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        (
            "no-manifest",
            Box::new(move |t, _| std::fs::remove_file(t.join(manifest)).unwrap()),
            vec!["the package has no manifest (payload/manifest.json)"],
        ),
        (
            "malformed-manifest",
            Box::new(move |t, _| {
                std::fs::remove_file(t.join(manifest)).unwrap();
                std::fs::write(t.join(manifest), r#"{"format": 1, "components": ["#).unwrap();
            }),
            vec!["manifest /var/task/payload/manifest.json is malformed"],
        ),
        (
            "no-ffmpeg",
            Box::new(|t, _| std::fs::remove_file(t.join("payload/ffmpeg.br")).unwrap()),
            vec!["the package lacks payload/ffmpeg.br, the ffmpeg payload"],
        ),
        (
            "no-env",
            Box::new(|_, env| {
                env.retain(|(k, _)| k != "HYPERFRAMES_RENDER_BUCKET");
                env.push((
                    "HYPERFRAMES_LAMBDA_CHROME_SOURCE".into(),
                    "chrome-headless-shell".into(),
                ));
            }),
            vec![
                "HYPERFRAMES_RENDER_BUCKET is not set: the stack's template sets it",
                "HYPERFRAMES_LAMBDA_CHROME_PATH is not set",
            ],
        ),
    ];
    let t = Instant::now();
    for (case, edit, wants) in cases {
        let id = format!("wf-init-{case}");
        let task = dir.join(case).join("task");
        let old = s.rt.block_on(s.stack.lambda.update_function(&name, |f| {
            link_tree(&f.task_dir, &task);
            edit(&task, &mut f.environment);
            f.task_dir = task.clone();
        }));
        let _restore = Restore {
            s,
            spec: old.unwrap(),
        };
        s.rt.block_on(render::run(&target(s), remote(&project, &id, "mp4", None)))
            .unwrap_or_else(|e| panic!("{id}: {e:#}"));
        let p = wait(s, &id);
        let recs = invocations(s, &id);
        let State::Failed { error, cause } = &p.state else {
            panic!("{id}: {:?}\n{recs:#?}", p.state)
        };
        assert_eq!(error, "FUNCTION_MISCONFIGURED", "{id}: {cause}");
        for want in wants.iter().chain(&["the function cannot start"]) {
            assert!(cause.contains(want), "{id}: no {want:?} in {cause}");
        }
        if case != "no-env" {
            assert!(cause.contains("cargo run --bin deploy"), "{id}: {cause}");
        }
        assert!(!cause.contains("apt-get"), "{id}: {cause}");
        assert_eq!(
            recs.len(),
            1,
            "{id}: one invocation, not retried: {recs:#?}"
        );
        assert_eq!(
            recs[0].error_type.as_deref(),
            Some("FUNCTION_MISCONFIGURED")
        );
        assert!(recs[0].init.is_some(), "{id}: it failed in init: {recs:#?}");
        assert_eq!(p.lambda_invocations, 1, "{id}");
        let h = history(s, &id);
        let failed: Vec<&Value> = h.iter().filter(|e| e["type"] == "TaskFailed").collect();
        assert_eq!(failed.len(), 1, "{id}: {h:#?}");
        assert_eq!(failed[0]["error"], "FUNCTION_MISCONFIGURED", "{id}");
    }
    eprintln!(
        "[measure] 4 broken functions, each a render that failed at init: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Puts the function's reserved concurrency back when a case ends.
struct Unreserve<'a>(&'a TestStack, String);

impl Drop for Unreserve<'_> {
    fn drop(&mut self) {
        let _ = self.0.stack.lambda.set_reserved_concurrency(&self.1, None);
    }
}

/// Issue 26 item 3: a fan-out wider than Lambda allows still renders.
/// The function may run 1 instance (reserved concurrency 1) while the
/// execution input asks for 4 chunks at once: the local Lambda service
/// throttles the other 3 with a 429, Step Functions raises
/// `Lambda.TooManyRequestsException`, and the throttle Retrier waits them
/// out (1 s, 2 s, ... with full jitter) without touching the 4 retries of
/// real failures.
#[test]
fn a_fan_out_wider_than_the_concurrency_is_throttled_and_retried_to_success() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-throttle";
    let (aws, stack) = s.rt.block_on(target(s).connect()).unwrap();
    let function = stack
        .function_arn
        .clone()
        .expect("the outputs name the function");
    s.stack
        .lambda
        .set_reserved_concurrency(&function, Some(1))
        .unwrap();
    let _restore = Unreserve(s, function.clone());
    // What `render` reads to size a fan-out, from the local Lambda service.
    let limits =
        s.rt.block_on(hyperframes_render::concurrency::read(&aws, &function))
            .unwrap();
    assert_eq!(
        (limits.account, limits.unreserved, limits.reserved),
        (3, 2, Some(1))
    );
    assert_eq!(hyperframes_render::concurrency::choose(limits), 1);

    let project = fixture_project(&crate::support::scratch(id), "mp4-h264-sdr");
    let mut r = remote(&project, id, "mp4", None);
    r.config.chunk_size = Some(15); // 60 frames: 4 chunks
    r.concurrency = Some(4); // deliberately above the function's 1
    s.rt.block_on(render::run(&target(s), r))
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let p = wait(s, id);
    let recs = invocations(s, id);
    assert_eq!(p.state, State::Succeeded, "{recs:#?}");
    assert_eq!(
        count(&recs, "renderChunk"),
        4,
        "a throttled attempt never runs: {recs:#?}"
    );
    assert_eq!(max_overlap(&recs, "renderChunk"), 1, "{recs:#?}");
    let h = history(s, id);
    let throttled = h
        .iter()
        .filter(|e| e["type"] == "TaskFailed" && e["error"] == "Lambda.TooManyRequestsException")
        .count();
    assert!(
        throttled >= 3,
        "the 3 chunks beyond the first were throttled: {h:#?}"
    );
    assert!(
        !h.iter()
            .any(|e| e["type"] == "TaskFailed" && e["error"] != "Lambda.TooManyRequestsException"),
        "only throttles failed: {h:#?}"
    );
    assert_eq!(
        p.retries.errors["Lambda.TooManyRequestsException"], throttled as u32,
        "{:?}",
        p.retries
    );
    assert_map_run(s, id, 4);
}

/// The render's Map Run as Step Functions shows a Distributed Map: one
/// Map Run in the render's own history (whose only tasks are plan and
/// assemble), `chunks` children that all succeeded, listed by
/// ListExecutions(mapRunArn) and counted by DescribeMapRun, each an
/// execution of the machine's Map Run (`execution:<machine>/...`, what the
/// state machine role may Describe/Stop).
fn assert_map_run(s: &TestStack, id: &str, chunks: usize) {
    let sfn = s.sfn();
    let (_, stack) = s.rt.block_on(target(s).connect()).unwrap();
    let arn = stack.execution_arn(id);
    let own =
        s.rt.block_on(
            sfn.get_execution_history()
                .execution_arn(&arn)
                .max_results(1000)
                .send(),
        )
        .unwrap();
    let kinds: Vec<&str> = own.events().iter().map(|e| e.r#type().as_str()).collect();
    let n = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(
        (n("MapRunStarted"), n("MapRunSucceeded")),
        (1, 1),
        "{kinds:?}"
    );
    assert_eq!(n("TaskScheduled"), 2, "plan and assemble only: {kinds:?}");
    let runs =
        s.rt.block_on(sfn.list_map_runs().execution_arn(&arn).send())
            .unwrap();
    assert_eq!(runs.map_runs().len(), 1);
    let run = runs.map_runs()[0].map_run_arn().to_string();
    let d =
        s.rt.block_on(sfn.describe_map_run().map_run_arn(&run).send())
            .unwrap();
    assert_eq!(d.status().as_str(), "SUCCEEDED");
    assert_eq!(
        d.execution_counts().map(|c| c.succeeded()),
        Some(chunks as i64)
    );
    let children =
        s.rt.block_on(execution::map_run_children(&sfn, &arn, false))
            .unwrap();
    assert_eq!(children.len(), chunks);
    let machine = stack
        .state_machine_arn
        .replacen(":stateMachine:", ":execution:", 1);
    assert!(
        children
            .iter()
            .all(|c| c.starts_with(&format!("{machine}/"))),
        "children are executions of the machine's Map Run: {children:?}"
    );
}

/// More chunks than an inline Map runs at once (40): 60 one-frame chunks
/// (`chunkSize` 1 and `maxParallelChunks` 60, the settings a user has to
/// override the fan-out rule's minimum), 3 at a time (the local account's
/// concurrency). `progress` counts all 60 from the children. About 85-110 s
/// on a 2-core machine (60 Chromium starts), too long for the suite:
/// `cargo test --workspace --test it -- --ignored a_fan_out_past_40`.
#[test]
#[ignore = "60 chunk renders take 85-110 s; run with --ignored"]
fn a_fan_out_past_40_chunks_runs_as_child_executions() {
    let s = test_stack();
    let _g = serial();
    let id = "wf-wide";
    let project = fixture_project(&crate::support::scratch(id), "mp4-h264-sdr");
    let mut r = remote(&project, id, "mp4", None);
    r.config.chunk_size = Some(1);
    r.config.max_parallel_chunks = Some(60);
    r.concurrency = Some(3);
    let t = Instant::now();
    s.rt.block_on(render::run(&target(s), r))
        .unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let p = wait(s, id);
    let recs = invocations(s, id);
    assert_eq!(p.state, State::Succeeded, "{recs:#?}");
    assert_eq!((p.chunks_done, p.chunks_total), (60, Some(60)));
    assert_eq!(p.frames_done, 60);
    assert_eq!(count(&recs, "renderChunk"), 60);
    assert!(max_overlap(&recs, "renderChunk") <= 3, "{recs:#?}");
    assert_map_run(s, id, 60);
    eprintln!(
        "[measure] {id}: 60 chunks, 3 at a time, {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
