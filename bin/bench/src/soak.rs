//! `hyperframes bench soak`: faults survived, nothing lost. Through the
//! local stack (the function in the provided.al2023 jail, the synthesized
//! workflow, moto behind a fault-injecting S3 proxy), two clean renders
//! of two projects first, then four renders of them at once while:
//!
//! - the instance running one chunk of render A1 is killed (SIGKILL to
//!   its `bootstrap`) mid-chunk;
//! - S3 answers 500 to one function request in N for a while (half of
//!   those after the store carried the request out);
//! - render B2 is cancelled while one of its chunks renders.
//!
//! Checked, and the bench exits non-zero when any check fails: the three
//! other renders succeed and their outputs are byte-identical to the clean
//! ones; the cancelled one is ABORTED within 5 s, and what `cancel` reports
//! under its `renders/` prefix is listed; afterwards no instance process,
//! no jail mount and no work directory in a warm instance's `/tmp` is left;
//! `progress` shows the failed attempts the workflow retried and their cost.
//! Needs root (the jail).
//!
//!   hyperframes bench soak [--bootstrap target/debug/bootstrap] [--fps 24 --chunk-size 16]

mod leftovers;
mod renders;
mod table;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hyperframes_deploy::deploy::workspace_root;
use hyperframes_deploy::handler_zip::PayloadArgs;
use hyperframes_deploy::package::Bootstrap;
use hyperframes_local::lambda::{Fault, FaultKind, Record};
use hyperframes_local::stack::{self, LocalStack, Tools};
use hyperframes_testkit::fault_proxy::{Counts, FaultProxy};

use crate::local;
use renders::{Cancelled, Finished, Shape};

#[derive(Debug, Parser)]
#[command(
    about = "Four renders at once through the local stack with an instance killed, S3 500s and a cancel; checks nothing is lost or left"
)]
pub struct Args {
    /// The two projects, A and B [default: the producer's mp4-h264-sdr and gsap-boundary test fixtures].
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    projects: Option<Vec<PathBuf>>,
    /// Frames per second of every render, 1 to 240 (the fixtures last 2 s).
    #[arg(long, default_value_t = 24)]
    fps: u32,
    /// Frames per chunk.
    #[arg(long, default_value_t = 16)]
    chunk_size: u32,
    /// Function instances at once.
    #[arg(long, default_value_t = 3)]
    concurrency: usize,
    /// While the fault window is open, S3 answers 500 to one function request in this many.
    #[arg(long, default_value_t = 4)]
    s3_fail_one_in: u32,
    /// How long the S3 fault window stays open, in seconds from the start of the four renders.
    #[arg(long, default_value_t = 40)]
    s3_fault_secs: u64,
    /// How far into its chunk (ms) the instance running the first chunk of render A1 to start is killed (when it answers, if that is sooner).
    #[arg(long, default_value_t = 1000)]
    kill_after_ms: u64,
    /// A handler ZIP [default: one built from --bootstrap, else from a release build].
    #[arg(long)]
    package: Option<PathBuf>,
    /// A prebuilt `bootstrap` to package (e.g. target/debug/bootstrap, to skip the release build).
    #[arg(long, conflicts_with = "package")]
    bootstrap: Option<PathBuf>,
    /// Work directory [default: target/soak-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench soak`.
pub fn run(args: Args) -> ExitCode {
    match bench(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bench soak: a check failed (the table's last column says which)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench soak: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every bad flag at once, before the minutes the stack takes.
fn check_args(a: &Args) -> Result<()> {
    let mut bad = Vec::new();
    // Each flag on its own beside a valid other, so both are reported.
    for (flag, shape) in [
        (
            "--fps",
            Shape {
                fps: a.fps,
                chunk_size: 16,
            },
        ),
        (
            "--chunk-size",
            Shape {
                fps: 24,
                chunk_size: a.chunk_size,
            },
        ),
    ] {
        if let Err(e) = renders::config(shape).validate() {
            bad.push(format!("{flag}: {e}"));
        }
    }
    if a.concurrency == 0 {
        bad.push("--concurrency must be at least 1".to_string());
    }
    if a.s3_fail_one_in < 2 {
        bad.push(format!("--s3-fail-one-in is {}: it must be at least 2, or every S3 request would fail and no retry could succeed", a.s3_fail_one_in));
    }
    if !bad.is_empty() {
        bail!("{}", bad.join("; "));
    }
    Ok(())
}

/// The machine before the soak, to compare with after it.
struct Before {
    tmp_bytes: u64,
    shmem_kb: u64,
}

fn shmem_kb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Shmem:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn bench(args: Args) -> Result<bool> {
    check_args(&args)?;
    if unsafe { libc::geteuid() } != 0 {
        bail!("bench soak needs root: the function runs in the jail (namespaces, chroot, cgroups); run it with sudo");
    }
    let t_all = Instant::now();
    let dir = local::work_dir(Some(
        args.dir
            .clone()
            .unwrap_or_else(|| workspace_root().join("target/soak-bench")),
    ))?;
    let projects = projects(&args, &dir)?;
    let tools = Tools::discover();
    let zip = package(&args, &tools, &dir)?;
    let layer = local::offline_layer(&tools, &dir)?;
    let state_dir = dir.join("state");
    let before = Before {
        tmp_bytes: leftovers::tmp_bytes(),
        shmem_kb: shmem_kb(),
    };
    let rt = tokio::runtime::Runtime::new()?;
    let options = local::stack_options(tools, zip, layer, &dir, args.concurrency)?;
    let local = rt.block_on(LocalStack::start(options))?;
    let soaked = rt.block_on(soak(&local, &args, &projects, &dir));
    let instance_tmp = leftovers::instance_tmp();
    let records = local.lambda.records();
    let log = std::fs::read_to_string(local.lambda.function_log_path()).unwrap_or_default();
    rt.block_on(local.shutdown());
    drop(rt);
    let soaked = soaked?;
    let report = table::Report {
        args: &args,
        projects: &projects,
        soaked,
        records,
        left: table::Left {
            processes: settled(leftovers::descendants),
            mounts: leftovers::jail_mounts(&state_dir),
            instance_tmp,
            unreleased: leftovers::unreleased_instances(&log),
            tmp_delta: leftovers::tmp_bytes() as i64 - before.tmp_bytes as i64,
            tmp_ours: leftovers::tmp_entries_of_this_process(),
            shmem_delta_kb: settled_shmem_delta_kb(before.shmem_kb),
        },
        wall: t_all.elapsed(),
    };
    Ok(table::print(&report))
}

/// The kernel frees a stopped jail's tmpfs `/tmp` a moment after its
/// last process is gone: the delta is read once it is back within 64 MB
/// of the start, or after 15 s.
fn settled_shmem_delta_kb(before_kb: u64) -> i64 {
    let delta = || shmem_kb() as i64 - before_kb as i64;
    for _ in 0..150 {
        if delta() < 64 * 1024 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    delta()
}

/// Processes the kernel is still reaping are given up to 5 s to go.
fn settled(look: fn() -> Vec<(i32, String)>) -> Vec<(i32, String)> {
    for _ in 0..50 {
        if look().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    look()
}

/// The two projects, each a directory with an `index.html`; the default
/// fixtures are copied into the work directory as projects.
fn projects(args: &Args, dir: &Path) -> Result<[PathBuf; 2]> {
    if let Some(p) = &args.projects {
        let missing: Vec<String> = p
            .iter()
            .filter(|d| !d.join("index.html").is_file())
            .map(|d| d.display().to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "--projects: {} ha{} no index.html; pass HyperFrames project directories",
                missing.join(", "),
                if missing.len() == 1 { "s" } else { "ve" }
            );
        }
        return Ok([p[0].clone(), p[1].clone()]);
    }
    let fixtures = workspace_root().join("producer/tests/fixtures");
    let mut out = Vec::new();
    for (name, file) in [
        ("mp4-h264-sdr", "compiled.html"),
        ("gsap-boundary", "index.html"),
    ] {
        let project = dir.join("projects").join(name);
        std::fs::create_dir_all(&project)?;
        let src = fixtures.join(name).join(file);
        std::fs::copy(&src, project.join("index.html"))
            .with_context(|| format!("cannot copy {}; pass --projects A B", src.display()))?;
        out.push(project);
    }
    Ok([out[0].clone(), out[1].clone()])
}

/// `--package`, else a ZIP of `--bootstrap`, else of a release build.
fn package(args: &Args, tools: &Tools, dir: &Path) -> Result<PathBuf> {
    match &args.bootstrap {
        Some(b) => {
            if !b.is_file() {
                bail!("--bootstrap {} is not a file; build it with `cargo build -p hyperframes-handler --bin bootstrap`", b.display());
            }
            stack::handler_package(
                &Bootstrap::Prebuilt(b.clone()),
                &PayloadArgs::default(),
                tools,
                &dir.join("handler.zip"),
            )
        }
        None => local::handler_zip(args.package.as_ref(), tools, dir),
    }
}

/// What the soak produced, for the table.
pub struct Soaked {
    pub clean: Vec<Finished>,
    pub soaked: Vec<Finished>,
    pub cancelled: Cancelled,
    /// The S3 proxy's counts during the four renders.
    pub s3: Counts,
    pub clean_wall: Duration,
    pub soak_wall: Duration,
    /// The bucket's keys at the end, by first path segment.
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
}

/// The function's S3 calls go through a fault proxy in front of moto (the
/// render tools' own calls go to moto directly).
async fn proxy_s3(local: &LocalStack) -> Result<FaultProxy> {
    let port: u16 = local
        .moto_endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("moto's endpoint {} has no port", local.moto_endpoint))?;
    let proxy = FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let endpoint = proxy.endpoint.clone();
    local
        .lambda
        .update_function(&local.resolved.function_name, move |s| {
            s.environment.push(("AWS_ENDPOINT_URL".into(), endpoint));
        })
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(proxy)
}

async fn soak(
    local: &LocalStack,
    args: &Args,
    projects: &[PathBuf; 2],
    dir: &Path,
) -> Result<Soaked> {
    let outputs = dir.join("outputs.json");
    hyperframes_cli::outputs::write_file(&outputs, &local.outputs("bench"))?;
    let target = local::outputs_target(outputs);
    let proxy = proxy_s3(local).await?;
    let shape = Shape {
        fps: args.fps,
        chunk_size: args.chunk_size,
    };
    let t = Instant::now();
    renders::start(&target, &projects[0], "clean-a", shape).await?;
    renders::start(&target, &projects[1], "clean-b", shape).await?;
    let clean = renders::finish_all(&target, &["clean-a", "clean-b"], dir).await?;
    let clean_wall = t.elapsed();

    let before = proxy.counts();
    local.lambda.inject(Fault {
        action: "renderChunk".into(),
        matching: "/soak-a1/".into(),
        times: 1,
        kind: FaultKind::Kill(Duration::from_millis(args.kill_after_ms)),
    });
    proxy.fail_one_in(args.s3_fail_one_in, Duration::from_secs(args.s3_fault_secs));
    let t = Instant::now();
    for (id, p) in [
        ("soak-a1", 0),
        ("soak-b1", 1),
        ("soak-a2", 0),
        ("soak-b2", 1),
    ] {
        renders::start(&target, &projects[p], id, shape).await?;
    }
    let cancelled = renders::cancel_mid_chunk(local, &target, "soak-b2").await?;
    let soaked = renders::finish_all(&target, &["soak-a1", "soak-a2", "soak-b1"], dir).await?;
    let soak_wall = t.elapsed();
    let after = proxy.counts();
    let keys = renders::bucket_keys(&target).await?;
    Ok(Soaked {
        clean,
        soaked,
        cancelled,
        s3: Counts {
            requests: after.requests - before.requests,
            faults: after.faults - before.faults,
            faults_after_store: after.faults_after_store - before.faults_after_store,
        },
        clean_wall,
        soak_wall,
        keys,
    })
}

/// The invocations the kill fault changed.
pub fn killed(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.injected && r.action.as_deref() == Some("renderChunk"))
        .collect()
}
