//! `hyperframes bench local`: one project rendered through the local stack (the
//! whole workflow, the function in the provided.al2023 jail) and with the
//! local `render`, on the same machine in the same run. Prints a table:
//! wall times; per stage (cold start with the payload unpack, plan, each
//! chunk, assemble); invocations, billed GB-s and the cost `progress`
//! reports. Needs root: the figures count only with the memory limit and
//! the CPU quota enforced, which need writable cgroups.
//!
//!   PREPARE_ONLY=1 ../shared/bench/hf_ref_bench.sh      # writes the native1080 project
//!   hyperframes bench local [--project DIR]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Parser;
use hyperframes_cli::aws::AwsArgs;
use hyperframes_deploy::deploy::workspace_root;
use hyperframes_deploy::handler_zip::PayloadArgs;
use hyperframes_deploy::package::{self, Bootstrap};
use hyperframes_infra::contract::PlanProtocol;
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_local::cgroup::{CgroupBackend, CgroupChoice, Mounts};
use hyperframes_local::lambda::Record;
use hyperframes_local::stack::{self, LocalStack, StackOptions, Tools};
use hyperframes_render::cli::TargetArgs;
use hyperframes_render::execution;
use hyperframes_render::pricing::Prices;
use hyperframes_render::progress::{Progress, State};
use hyperframes_render::render::{self, RemoteRender};

#[derive(Debug, Parser)]
#[command(about = "The local stack against the local render, same project, same run")]
pub struct Args {
    /// The project [default: the peer bench's native1080 project, 1920x1080, 300 frames].
    #[arg(long)]
    project: Option<PathBuf>,
    /// A handler ZIP (default: build one with the release bootstrap).
    #[arg(long)]
    package: Option<PathBuf>,
    /// Function instances at once [default: the number of cores].
    #[arg(long)]
    concurrency: Option<usize>,
    /// Work directory [default: target/local-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench local`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("local", bench(args).map(|()| true))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub(crate) fn default_project() -> PathBuf {
    std::env::var("HF_REF_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/hf-ref-bench")
        })
        .join("native1080")
}

fn bench(args: Args) -> Result<()> {
    if unsafe { libc::geteuid() } != 0 {
        bail!("local-bench needs root: its figures hold only with the function's memory limit and CPU quota enforced, which needs writable cgroups; run it with sudo");
    }
    let project = args.project.clone().unwrap_or_else(default_project);
    check_project(&project)?;
    let tools = Tools::discover();
    let dir = work_dir(args.dir.clone())?;
    let zip = handler_zip(args.package.as_ref(), &tools, &dir)?;
    let layer = offline_layer(&tools, &dir)?;
    let load_before = load_average();
    let rt = tokio::runtime::Runtime::new()?;
    let concurrency = args
        .concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let t_up = Instant::now();
    let local = rt.block_on(LocalStack::start(stack_options(
        tools,
        zip,
        layer,
        &dir,
        concurrency,
    )?))?;
    let up = t_up.elapsed();
    let stack = render_on_stack(&rt, local, &project, &dir, |_| {})?;
    let (local, local_wall) = render_locally(&project, &dir, &stack.config)?;
    print_table(&Bench {
        project: &project,
        concurrency,
        load_before,
        up,
        stack,
        local,
        local_wall,
    });
    Ok(())
}

/// Fails before the minutes a stack takes to come up: the default project
/// exists only once the peer bench script has prepared it.
pub(crate) fn check_project(project: &Path) -> Result<()> {
    if !project.join("index.html").is_file() {
        bail!(
            "{} has no index.html; pass --project DIR, a HyperFrames project (the 300-frame 1080p bench project is the one the peer bench script prepares with PREPARE_ONLY=1)",
            project.display()
        );
    }
    Ok(())
}

/// Canonical, so the paths handed to the stack and written into
/// outputs.json do not depend on the directory the bench was started from.
pub(crate) fn work_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    let dir = given.unwrap_or_else(|| workspace_root().join("target/local-bench"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.canonicalize()?)
}

/// Without `--package`, a ZIP built from the release bootstrap, so the
/// bench measures the function as it would ship rather than a debug build.
pub(crate) fn handler_zip(given: Option<&PathBuf>, tools: &Tools, dir: &Path) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    let b = package::build_bootstrap(&workspace_root(), &workspace_root().join("target/lambda"))?;
    stack::handler_package(
        &Bootstrap::Prebuilt(b),
        &PayloadArgs::default(),
        tools,
        &dir.join("handler.zip"),
    )
}

/// The jail has no network, so when the tools hold an asset map the
/// function gets a layer with just the files it maps (bound at `/opt`).
pub(crate) fn offline_layer(tools: &Tools, dir: &Path) -> Result<Option<PathBuf>> {
    let asset_map = tools.dir.join("asset-map.json");
    asset_map
        .is_file()
        .then(|| stack::asset_layer(&asset_map, &dir.join("layer")))
        .transpose()
}

/// The stack as deploy would create it (the synthesized template, no
/// parameters); built inside the start-up timing, as the synth is part of
/// bringing a stack up.
pub(crate) fn stack_options(
    tools: Tools,
    package: PathBuf,
    layer: Option<PathBuf>,
    dir: &Path,
    concurrency: usize,
) -> Result<StackOptions> {
    Ok(StackOptions {
        stack_name: "bench".into(),
        template: HyperframesRenderStack::default()
            .synth()
            .map_err(|p| anyhow::anyhow!("{p}"))?
            .into_json(),
        parameters: Vec::new(),
        package,
        state_dir: dir.join("state"),
        tools,
        helper: std::env::current_exe()?,
        concurrency,
        region: "us-east-1".into(),
        // The function finds the layer's map only when told where it is.
        extra_env: layer
            .iter()
            .map(|_| {
                (
                    "HF_ASSET_MAP".to_string(),
                    "/opt/asset-map.json".to_string(),
                )
            })
            .collect(),
        layer,
        echo_reports: false,
        ports: (0, 0, 0),
        cgroups: enforcing_cgroups()?,
        reuse_instances: true,
    })
}

/// The bench compares times and memory, which mean nothing without the
/// limits Lambda applies.
fn enforcing_cgroups() -> Result<CgroupBackend> {
    let b = CgroupBackend::choose(CgroupChoice::Auto, &Mounts::read())?;
    if !b.enforced() {
        bail!(
            "local-bench needs the memory limit and CPU quota enforced: {}",
            b.describe()
        );
    }
    Ok(b)
}

/// What the stack's render leaves for the table.
pub(crate) struct StackRun {
    pub(crate) wall: Duration,
    /// The render config the stack got, for the local render to reuse.
    pub(crate) config: hyperframes_producer::RenderConfig,
    pub(crate) progress: Progress,
    pub(crate) records: Vec<Record>,
    pub(crate) log: String,
}

/// Renders through the stack as a user would (`render --wait --download`,
/// timed end to end), then shuts the stack down, whether the render
/// worked or not. The invocation records and the function log are read
/// first because they go with the stack.
pub(crate) fn render_on_stack(
    rt: &tokio::runtime::Runtime,
    local: LocalStack,
    project: &Path,
    dir: &Path,
    adjust: impl FnOnce(&mut RemoteRender),
) -> Result<StackRun> {
    let rendered = render_and_follow(rt, &local, project, dir, adjust);
    let records = local.lambda.records();
    let log = std::fs::read_to_string(local.lambda.function_log_path()).unwrap_or_default();
    rt.block_on(local.shutdown());
    let (ok, wall, config, progress) = rendered?;
    if !ok || progress.state != State::Succeeded {
        bail!(
            "the render on the local stack did not succeed: {:?}",
            progress.state
        );
    }
    Ok(StackRun {
        wall,
        config,
        progress,
        records,
        log,
    })
}

/// The render on `local`: whether `render --wait` succeeded, its wall
/// time, the config it got, and the execution's progress.
fn render_and_follow(
    rt: &tokio::runtime::Runtime,
    local: &LocalStack,
    project: &Path,
    dir: &Path,
    adjust: impl FnOnce(&mut RemoteRender),
) -> Result<(bool, Duration, hyperframes_producer::RenderConfig, Progress)> {
    let outputs = dir.join("outputs.json");
    hyperframes_cli::outputs::write_file(&outputs, &local.outputs("bench"))?;
    let target = outputs_target(outputs);
    let id = format!("bench-{}", std::process::id());
    let out = dir.join("stack.mp4");
    let t = Instant::now();
    let mut remote = remote_render(project, &id, out);
    adjust(&mut remote);
    // The local render gets the config the stack's render got.
    let config = render::config(&remote)?;
    let ok = rt.block_on(render::run(&target, remote))?;
    let wall = t.elapsed();
    let progress = rt.block_on(async {
        let (aws, st) = target.connect().await?;
        execution::progress(&aws.sfn, &st.execution_arn(&id), Prices::default()).await
    })?;
    Ok((ok, wall, config, progress))
}

/// The render tools find the local stack only through its outputs file,
/// as with `render --outputs-file`; no profile or region is involved.
pub(crate) fn outputs_target(outputs: PathBuf) -> TargetArgs {
    TargetArgs {
        stack_name: None,
        outputs_file: Some(outputs),
        aws: AwsArgs {
            profile: None,
            region: None,
        },
    }
}

/// The stack's render with the command's defaults (mp4, 30 fps, the
/// composition's size), waited for and downloaded so its wall time covers
/// what the local render's does: a finished file on disk.
fn remote_render(project: &Path, id: &str, out: PathBuf) -> RemoteRender {
    RemoteRender {
        project: Some(project.to_path_buf()),
        site_id: None,
        config: hyperframes_producer::RenderConfig::new(30, hyperframes_producer::Format::Mp4),
        protocol: PlanProtocol::V2,
        render_id: Some(id.to_string()),
        output_key: None,
        wait: true,
        download: Some(out),
        json: true,
        prices: Default::default(),
        concurrency: None,
        estimate: None,
    }
}

/// The same project rendered in this process with the stack's config, so
/// the two wall times compare like for like.
fn render_locally(
    project: &Path,
    dir: &Path,
    config: &hyperframes_producer::RenderConfig,
) -> Result<(hyperframes_producer::runner::RunSummary, Duration)> {
    let t = Instant::now();
    let summary = hyperframes_producer::runner::run(&hyperframes_producer::runner::RunOptions {
        project_dir: project.to_path_buf(),
        out: dir.join("local.mp4"),
        config: config.clone(),
        workers: 0,
        single_pass: false,
        on_progress: None,
        asset_map: hyperframes_producer::AssetMap::discover().ok(),
        template_cache: None,
        keep_work: None,
    })
    .map_err(|e| anyhow::anyhow!("the local render failed: {e}"))?;
    Ok((summary, t.elapsed()))
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

/// Everything the table reports, gathered so nothing is printed until both
/// renders have finished.
struct Bench<'a> {
    project: &'a Path,
    concurrency: usize,
    load_before: String,
    /// The stack's start-up, kept out of its render's wall time.
    up: Duration,
    stack: StackRun,
    local: hyperframes_producer::runner::RunSummary,
    local_wall: Duration,
}

fn print_table(b: &Bench) {
    print_context(b);
    print_comparison(b);
    print_invocations(&b.stack.records);
    print_unpacks(&b.stack.log);
}

/// The load average before and after says whether something else on the
/// machine skewed the times.
fn print_context(b: &Bench) {
    println!(
        "{} ({} frames), {} cores, function concurrency {}; load average before {}, after {}\n",
        b.project.display(),
        b.local.frames,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        b.concurrency,
        b.load_before,
        load_average()
    );
}

/// Stage by stage, the stack's times from the REPORT lines (cold starts
/// included) beside the local render's own, then what Lambda would bill.
fn print_comparison(b: &Bench) {
    let (p, records, local) = (&b.stack.progress, &b.stack.records, &b.local);
    println!(
        "| what | local stack (jail, Step Functions, moto) | local `render` |\n| --- | --- | --- |"
    );
    println!(
        "| wall time, s | {} (render --wait --download; stack start {} s not included) | {} |",
        secs(b.stack.wall),
        secs(b.up),
        secs(b.local_wall)
    );
    println!(
        "| chunks | {} | {} |",
        p.chunks_total.unwrap_or(0),
        local.chunks
    );
    println!(
        "| plan, s | {} | {} |",
        stage(records, "plan"),
        secs(local.plan_time)
    );
    println!(
        "| chunks (all), s | {} | {} |",
        span(records, "renderChunk"),
        secs(local.render_time)
    );
    println!(
        "| assemble, s | {} | {} |",
        stage(records, "assemble"),
        secs(local.assemble_time)
    );
    println!("| invocations | {} | - |", records.len());
    println!(
        "| billed GB-s (REPORT lines, init included) | {:.1} | - |",
        billed_gb_seconds(records)
    );
    println!(
        "| cost `progress` reports | ${:.4} ({:.1} GB-s, {} transitions) | - |",
        p.cost.total_usd, p.cost.lambda_gb_seconds, p.cost.state_transitions
    );
}

/// Lambda's price per request (us-east-1).
const LAMBDA_REQUEST_USD: f64 = 0.0000002;

/// What Lambda bills for `records`: their billed GB-s at `gb_second_usd`
/// and one request each.
pub(crate) fn billed_lambda_usd(records: &[Record], gb_second_usd: f64) -> f64 {
    billed_gb_seconds(records) * gb_second_usd + records.len() as f64 * LAMBDA_REQUEST_USD
}

/// From the REPORT lines themselves, to check the GB-s `progress` derives
/// from the execution history.
pub(crate) fn billed_gb_seconds(records: &[Record]) -> f64 {
    records
        .iter()
        .map(|r| r.billed_ms as f64 / 1000.0 * r.memory_size_mb as f64 / 1024.0)
        .sum()
}

/// In start order (records arrive in completion order), so cold starts and
/// instance reuse read top to bottom.
fn print_invocations(records: &[Record]) {
    println!("\nper invocation (REPORT):\n\n| # | action | chunk | instance | init ms | duration ms | billed ms | max memory MB |\n| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| r.started_ms);
    for (i, r) in sorted.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} |",
            i + 1,
            r.action.as_deref().unwrap_or("?"),
            r.event["ChunkIndex"]
                .as_u64()
                .map_or("-".into(), |c| c.to_string()),
            &r.instance[r.instance.len().saturating_sub(4)..],
            r.init.map_or("warm".into(), |d| format!(
                "{:.0}",
                d.as_secs_f64() * 1000.0
            )),
            r.duration.as_secs_f64() * 1000.0,
            r.billed_ms,
            r.max_memory_used_mb
        );
    }
}

/// A cold start unpacks the bundled payloads into `/tmp`; the init times
/// do not separate that cost, the handler's own log lines do.
fn print_unpacks(log: &str) {
    let unpacks: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("payload-unpack"))
        .collect();
    if !unpacks.is_empty() {
        println!("\ncold-start payload unpacks (function log):");
        for l in unpacks {
            println!("  {l}");
        }
    }
}

/// Total seconds of one stage's invocations.
fn stage(records: &[Record], action: &str) -> String {
    let d: Duration = records
        .iter()
        .filter(|r| r.action.as_deref() == Some(action))
        .map(|r| r.duration + r.init.unwrap_or_default())
        .sum();
    secs(d)
}

/// First start to last end of a stage's invocations.
fn span(records: &[Record], action: &str) -> String {
    let rs: Vec<&Record> = records
        .iter()
        .filter(|r| r.action.as_deref() == Some(action))
        .collect();
    let (Some(a), Some(b)) = (
        rs.iter().map(|r| r.started_ms).min(),
        rs.iter().map(|r| r.ended_ms).max(),
    ) else {
        return "-".into();
    };
    format!(
        "{:.2} (wall, first start to last end)",
        (b - a) as f64 / 1000.0
    )
}
