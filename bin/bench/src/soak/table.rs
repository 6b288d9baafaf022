//! The soak's table: one row per question, its figures, and whether its
//! check held. [`print`] returns whether every check did.

use std::path::PathBuf;
use std::time::Duration;

use hyperframes_local::lambda::Record;
use hyperframes_render::progress::State;

use super::leftovers::InstanceTmp;
use super::{killed, Args, Soaked};

/// The soak's tolerance for a cancel: the execution must be ABORTED
/// within this long of the request.
const CANCEL_LIMIT: Duration = Duration::from_secs(5);

/// What is left once the stack is down.
pub struct Left {
    pub processes: Vec<(i32, String)>,
    pub mounts: Vec<String>,
    /// Measured in the warm instances just before the shutdown.
    pub instance_tmp: InstanceTmp,
    pub unreleased: usize,
    pub tmp_delta: i64,
    /// Entries in the host's `/tmp` named for this process.
    pub tmp_ours: Vec<String>,
    pub shmem_delta_kb: i64,
}

pub struct Report<'a> {
    pub args: &'a Args,
    pub projects: &'a [PathBuf; 2],
    pub soaked: Soaked,
    pub records: Vec<Record>,
    pub left: Left,
    pub wall: Duration,
}

/// One row: what, the figures, and the check's verdict (`None`: no check).
struct Row {
    what: &'static str,
    figures: String,
    ok: Option<bool>,
}

fn row(what: &'static str, figures: String, ok: Option<bool>) -> Row {
    Row { what, figures, ok }
}

/// Prints the table; true when every check held.
pub fn print(r: &Report) -> bool {
    let rows = [
        renders(r),
        s3_faults(r),
        kill(r),
        cancel(r),
        retries(r),
        outputs(r),
        bucket(r),
        leftovers(r),
        tmp_space(r),
        wall(r),
    ];
    println!("\n| what | figures | check |\n| --- | --- | --- |");
    for x in &rows {
        let verdict = match x.ok {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "-",
        };
        println!("| {} | {} | {verdict} |", x.what, x.figures);
    }
    rows.iter().all(|x| x.ok != Some(false))
}

fn name(p: &std::path::Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
}

fn renders(r: &Report) -> Row {
    let s = &r.soaked;
    let frames = |id: &str| {
        s.clean
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.progress.frames_total)
            .unwrap_or(0)
    };
    let ok: Vec<String> = s
        .soaked
        .iter()
        .map(|f| format!("{} {}", f.id, state(&f.progress.state)))
        .collect();
    let all_ok = s
        .soaked
        .iter()
        .all(|f| f.progress.state == State::Succeeded);
    row(
        "renders",
        format!(
            "A = {} ({} frames), B = {} ({} frames), {} fps, chunks of {}, {} instances at most; clean first: clean-a, clean-b; then 4 at once: {}, {} cancelled",
            name(&r.projects[0]),
            frames("clean-a"),
            name(&r.projects[1]),
            frames("clean-b"),
            r.args.fps,
            r.args.chunk_size,
            r.args.concurrency,
            ok.join(", "),
            s.cancelled.id
        ),
        Some(all_ok),
    )
}

fn state(s: &State) -> String {
    match s {
        State::Failed { error, .. } => format!("FAILED {error}"),
        other => format!("{other:?}").to_uppercase(),
    }
}

fn s3_faults(r: &Report) -> Row {
    let c = r.soaked.s3;
    row(
        "faults: S3 500s",
        format!(
            "{} of {} function S3 requests during the 4 renders (1 in {} for {} s; {} after moto had carried the request out)",
            c.faults, c.requests, r.args.s3_fail_one_in, r.args.s3_fault_secs, c.faults_after_store
        ),
        Some(c.faults > 0),
    )
}

fn kill(r: &Report) -> Row {
    let k = killed(&r.records);
    let figures = match k.first() {
        Some(rec) => format!(
            "SIGKILL to the bootstrap of soak-a1 chunk {} at {} ms ({:.0} ms into the invocation): {}",
            rec.event["ChunkIndex"],
            r.args.kill_after_ms,
            rec.duration.as_secs_f64() * 1000.0,
            rec.error_type.as_deref().unwrap_or("no error")
        ),
        None => "the kill did not happen".into(),
    };
    let ok = k.len() == 1 && k[0].error_type.as_deref() == Some("Runtime.ExitError");
    row("faults: instance killed", figures, Some(ok))
}

fn cancel(r: &Report) -> Row {
    let c = &r.soaked.cancelled;
    let strays = c
        .strays_ended_in
        .map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()));
    // The report cannot know what running invocations will still write,
    // but it must say that they run.
    let honest = c.after_strays.0 <= c.reported.0 || c.reported_running > 0;
    let ok = c.state == State::Aborted
        && c.stopped_in <= CANCEL_LIMIT
        && c.output_written.is_none()
        && honest;
    row(
        "faults: cancel",
        format!(
            "{} cancelled while its chunk {} rendered: {} in {:.2} s (limit {} s); `cancel` reported {} objects ({} bytes) under renders/{}/ and {} invocations still running; its last invocation ended {} after the cancel, leaving {} objects ({} bytes); output written: {}",
            c.id,
            c.chunk_running,
            state(&c.state),
            c.stopped_in.as_secs_f64(),
            CANCEL_LIMIT.as_secs(),
            c.reported.0,
            c.reported.1,
            c.id,
            c.reported_running,
            strays,
            c.after_strays.0,
            c.after_strays.1,
            c.output_written.as_deref().unwrap_or("no")
        ),
        Some(ok),
    )
}

fn retries(r: &Report) -> Row {
    let mut parts = Vec::new();
    let mut total = 0;
    for f in &r.soaked.soaked {
        let x = &f.progress.retries;
        total += x.failed_attempts;
        let errors: Vec<String> = x.errors.iter().map(|(e, n)| format!("{e} x{n}")).collect();
        parts.push(format!(
            "{}: {} ({}; ${:.6} of ${:.6})",
            f.id,
            x.failed_attempts,
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(", ")
            },
            x.lambda_usd,
            f.progress.cost.total_usd
        ));
    }
    let a1 = r
        .soaked
        .soaked
        .iter()
        .find(|f| f.id == "soak-a1")
        .map_or(0, |f| f.progress.retries.failed_attempts);
    row(
        "retries seen (`progress`, from the execution history)",
        format!("{total} failed attempts retried; {}", parts.join("; ")),
        Some(a1 >= 1),
    )
}

fn short(sha: &Option<String>) -> String {
    sha.as_deref()
        .map_or("none".into(), |s| s[..12.min(s.len())].to_string())
}

fn outputs(r: &Report) -> Row {
    let s = &r.soaked;
    let clean = |id: &str| {
        s.clean
            .iter()
            .find(|f| f.id == id)
            .and_then(|f| f.sha256.clone())
    };
    let mut ok = true;
    let mut parts = Vec::new();
    for f in &s.soaked {
        let reference = if f.id.starts_with("soak-a") {
            "clean-a"
        } else {
            "clean-b"
        };
        let same = f.sha256.is_some() && f.sha256 == clean(reference);
        ok &= same;
        parts.push(format!(
            "{} {} {reference} ({})",
            f.id,
            if same { "=" } else { "!=" },
            short(&f.sha256)
        ));
    }
    row("outputs compared (sha256)", parts.join(", "), Some(ok))
}

/// Outside `renders/` (whose intermediates the bucket expires) the
/// bucket holds the uploaded projects under `sites/` and exactly one
/// output per render that succeeded: none for the cancelled render, none
/// twice, nothing elsewhere.
fn bucket(r: &Report) -> Row {
    let s = &r.soaked;
    let keys = &s.keys;
    let mut expected: Vec<String> = s
        .clean
        .iter()
        .chain(&s.soaked)
        .filter(|f| f.progress.state == State::Succeeded)
        .map(|f| format!("outputs/{}.mp4", f.id))
        .collect();
    expected.sort();
    let mut outputs = keys.get("outputs").cloned().unwrap_or_default();
    outputs.sort();
    let others: Vec<&String> = keys
        .keys()
        .filter(|k| !["outputs", "renders", "sites"].contains(&k.as_str()))
        .collect();
    let count = |k: &str| keys.get(k).map_or(0, Vec::len);
    row(
        "objects in the bucket",
        format!(
            "outputs/: {} ({}); sites/: {}; renders/: {} (intermediates, expired by the bucket's rule); elsewhere: {}",
            outputs.len(),
            outputs.join(", "),
            count("sites"),
            count("renders"),
            others.len()
        ),
        Some(outputs == expected && others.is_empty()),
    )
}

fn leftovers(r: &Report) -> Row {
    let l = &r.left;
    let procs: Vec<String> = l
        .processes
        .iter()
        .map(|(p, c)| format!("{c}[{p}]"))
        .collect();
    let ok = l.processes.is_empty()
        && l.mounts.is_empty()
        && l.instance_tmp.work_dirs.is_empty()
        && l.unreleased == 0;
    row(
        "leftovers",
        format!(
            "after the stack stopped: {} processes{}; {} jail mounts in /proc/self/mountinfo; {} instances that outlived their stop; in the {} warm instances' /tmp before the stop: {} work dirs{} ({:.0} MB, the unpacked payloads)",
            l.processes.len(),
            if procs.is_empty() { String::new() } else { format!(" ({})", procs.join(", ")) },
            l.mounts.len(),
            l.unreleased,
            l.instance_tmp.instances,
            l.instance_tmp.work_dirs.len(),
            if l.instance_tmp.work_dirs.is_empty() { String::new() } else { format!(" ({})", l.instance_tmp.work_dirs.join(", ")) },
            l.instance_tmp.bytes as f64 / 1e6
        ),
        Some(ok),
    )
}

/// The host's `/tmp` files and the shared memory that holds the
/// instances' tmpfs `/tmp`, before and after: figures only, as the machine
/// is shared and other programs move both; the check is that nothing in
/// `/tmp` is named for this process.
fn tmp_space(r: &Report) -> Row {
    let l = &r.left;
    row(
        "/tmp space, before -> after",
        format!(
            "host /tmp files {:+.1} MB, {} entries named for this process{}; shared memory (holds the instances' tmpfs /tmp, read once settled) {:+.1} MB; other programs on the machine move both figures",
            l.tmp_delta as f64 / 1e6,
            l.tmp_ours.len(),
            if l.tmp_ours.is_empty() { String::new() } else { format!(" ({})", l.tmp_ours.join(", ")) },
            l.shmem_delta_kb as f64 / 1e3
        ),
        Some(l.tmp_ours.is_empty()),
    )
}

fn wall(r: &Report) -> Row {
    row(
        "wall time",
        format!(
            "clean renders {:.1} s, the 4 soak renders {:.1} s, whole bench {:.1} s (stack start and package included)",
            r.soaked.clean_wall.as_secs_f64(),
            r.soaked.soak_wall.as_secs_f64(),
            r.wall.as_secs_f64()
        ),
        None,
    )
}
