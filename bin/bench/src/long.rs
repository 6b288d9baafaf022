//! `hyperframes bench long`: issue 26's 10-minute target end to end. A
//! long 1080p30 composition with audio (the `mp4-h264-sdr` fixture
//! stretched, every frame different, a tone over its whole length) is
//! rendered through the local stack, as a user would render it on Lambda:
//! the fan-out rule's chunk count, the stack's memory size, the function
//! in the provided.al2023 jail with the CPU quota that memory buys.
//!
//! This machine cannot run 51 such instances at once, so it runs them as
//! many at a time as its cores hold at that quota (one, on 2 cores at
//! 3,072 MB), each in a fresh instance: every chunk pays its own cold
//! start, as every chunk of a wide render does on Lambda. Then the model
//! for what Lambda runs at once, from the invocations' REPORT figures:
//!
//! - wall time = the plan's billed time + the Distributed Map's start
//!   (the estimate's reported figure) + the slowest chunk's billed time
//!   (its init included) + the assemble's billed time;
//! - cost = every invocation's billed GB-s (init included) and request,
//!   the execution's state transitions (counted from its history), and the
//!   S3 requests and 7 days of storage the estimate counts for the plan.
//!
//! S3 is the local moto on loopback: transfers to and from real S3 are not
//! in the billed times (the estimate models them: a few MB per chunk).
//!
//!   hyperframes bench long [--minutes 10] [--size 1920x1080] [--memory-mb 3072]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use hyperframes_infra::contract::PlanProtocol;
use hyperframes_infra::stack::ids::PARAM_MEMORY;
use hyperframes_infra::LambdaMemory;
use hyperframes_local::lambda::Record;
use hyperframes_local::stack::{LocalStack, Tools};
use hyperframes_producer::plan::fan_out;
use hyperframes_producer::{Format, RenderConfig};
use hyperframes_render::estimate::model::{map_run_overhead_ms, vcpus, Estimate};
use hyperframes_render::estimate::{self, EstimateArgs};
use hyperframes_render::pricing::Prices;

use crate::local::{self, StackRun};
use crate::long_project::{self, FPS};

#[derive(Debug, Parser)]
#[command(
    about = "A long render through the local stack, one cold instance per chunk, and the Lambda wall time and cost per rendered minute it models"
)]
pub struct Args {
    /// The composition's length in minutes.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=60))]
    minutes: u32,
    /// Frame size, WxH.
    #[arg(long, default_value = "1920x1080", value_parser = long_project::parse_size)]
    size: (u32, u32),
    /// The function's memory in MB [default: the stack's default, 3072].
    #[arg(long)]
    memory_mb: Option<u32>,
    /// A handler ZIP (default: build one with the release bootstrap).
    #[arg(long)]
    package: Option<PathBuf>,
    /// The test fixtures directory (mp4-h264-sdr).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Work directory [default: target/local-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Issue 26's goals for a 10-minute 1080p30 render.
const WALL_GOAL_S: f64 = 45.0;
const USD_PER_MINUTE_GOAL: f64 = 0.005;

/// `hyperframes bench long`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("long", bench(args))
}

/// What the render is and how this machine runs it.
struct Setup {
    memory_mb: u32,
    seconds: u32,
    chunks: u32,
    /// Instances at once here: as many as the cores hold at the quota.
    instances: usize,
}

fn bench(args: Args) -> Result<bool> {
    if unsafe { libc::geteuid() } != 0 {
        bail!("bench long needs root: the CPU quota per memory size is a cgroup limit, which needs writable cgroups; run it with sudo");
    }
    let memory_mb = args.memory_mb.unwrap_or(LambdaMemory::DEFAULT.mb());
    LambdaMemory::new(memory_mb).map_err(|e| anyhow::anyhow!("--memory-mb {memory_mb}: {e}"))?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let seconds = args.minutes * 60;
    let (w, h) = args.size;
    let setup = Setup {
        memory_mb,
        seconds,
        chunks: fan_out::chunk_count(u64::from(seconds * FPS), w, h, None),
        instances: ((cores as f64 / vcpus(memory_mb)).floor() as usize).max(1),
    };
    let dir = local::work_dir(args.dir.clone())?.join("long");
    let project =
        long_project::write_project(args.fixtures.as_deref(), &dir, seconds, args.size, true)?;
    let mut config = RenderConfig::new(FPS, Format::Mp4);
    config.max_parallel_chunks = Some(setup.chunks);
    let prices = Prices {
        memory_mb,
        ..Prices::default()
    };
    let estimate = estimate::for_project(
        &project,
        &config,
        prices,
        PlanProtocol::V2,
        &EstimateArgs {
            estimate: true,
            concurrency: Some(setup.chunks),
            calibration: None,
        },
    )
    .context("estimating the render")?;
    let run = render(&args, &setup, &dir, &project)?;
    let model = Model::new(&run, &setup, &estimate, prices)?;
    print(&setup, &model, &estimate, cores);
    Ok(model.wall_s <= WALL_GOAL_S && model.usd_per_minute <= USD_PER_MINUTE_GOAL)
}

/// The render through the local stack, `setup.instances` at a time, no
/// instance reused.
fn render(
    args: &Args,
    setup: &Setup,
    dir: &std::path::Path,
    project: &std::path::Path,
) -> Result<StackRun> {
    let zip = local::handler_zip(args.package.as_ref(), &Tools::discover(), dir)?;
    let layer = local::offline_layer(&Tools::discover(), dir)?;
    let mut opts = local::stack_options(
        Tools::discover(),
        zip,
        layer,
        &dir.join("stack"),
        setup.instances,
    )?;
    opts.parameters = vec![(PARAM_MEMORY.to_string(), setup.memory_mb.to_string())];
    opts.reuse_instances = false;
    let rt = tokio::runtime::Runtime::new()?;
    let t = Instant::now();
    let stack = rt.block_on(LocalStack::start(opts))?;
    let (chunks, instances) = (setup.chunks, setup.instances as u32);
    let run = local::render_on_stack(&rt, stack, project, dir, |r| {
        r.config.max_parallel_chunks = Some(chunks);
        r.concurrency = Some(instances);
    })?;
    eprintln!("bench long: rendered in {:.0} s", t.elapsed().as_secs_f64());
    Ok(run)
}

/// One stage's invocations: each one's billed ms (init included),
/// ascending, and the cold starts' count and total init.
#[derive(Debug, Default)]
struct Stage {
    billed_ms: Vec<u64>,
    cold: usize,
    init_ms: f64,
}

impl Stage {
    fn of(records: &[Record], action: &str) -> Stage {
        let mut s = Stage::default();
        for r in records
            .iter()
            .filter(|r| r.action.as_deref() == Some(action))
        {
            s.billed_ms.push(r.billed_ms);
            if let Some(init) = r.init {
                s.cold += 1;
                s.init_ms += init.as_secs_f64() * 1000.0;
            }
        }
        s.billed_ms.sort_unstable();
        s
    }

    fn count(&self) -> usize {
        self.billed_ms.len()
    }

    fn total_ms(&self) -> u64 {
        self.billed_ms.iter().sum()
    }

    /// The `q` quantile of the billed times (0 = fastest, 1 = slowest).
    fn quantile_ms(&self, q: f64) -> u64 {
        let last = self.billed_ms.len().saturating_sub(1);
        self.billed_ms
            .get((last as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0)
    }

    fn max_ms(&self) -> u64 {
        self.quantile_ms(1.0)
    }
}

/// Lambda's wall time and cost for the render, from the local run.
struct Model {
    plan: Stage,
    chunks: Stage,
    assemble: Stage,
    map_start_s: f64,
    wall_s: f64,
    gb_seconds: f64,
    lambda_usd: f64,
    transitions: u64,
    step_functions_usd: f64,
    s3_usd: f64,
    total_usd: f64,
    usd_per_minute: f64,
}

impl Model {
    fn new(run: &StackRun, setup: &Setup, estimate: &Estimate, prices: Prices) -> Result<Model> {
        let records = &run.records;
        let (plan, chunks, assemble) = (
            Stage::of(records, "plan"),
            Stage::of(records, "renderChunk"),
            Stage::of(records, "assemble"),
        );
        if chunks.count() != setup.chunks as usize || chunks.cold != chunks.count() {
            bail!(
                "expected {} chunk invocations, each in a fresh instance; got {} ({} cold): a retried chunk makes the model wrong, run it again",
                setup.chunks,
                chunks.count(),
                chunks.cold
            );
        }
        let map_start_s = map_run_overhead_ms(setup.chunks) / 1000.0;
        let wall_s =
            (plan.max_ms() + chunks.max_ms() + assemble.max_ms()) as f64 / 1000.0 + map_start_s;
        let gb_seconds = local::billed_gb_seconds(records);
        let lambda_usd = local::billed_lambda_usd(records, prices.lambda_gb_second);
        let cost = &run.progress.cost;
        let s3_usd = estimate.s3_requests_usd + estimate.storage_usd;
        let total_usd = lambda_usd + cost.step_functions_usd + s3_usd;
        Ok(Model {
            plan,
            chunks,
            assemble,
            map_start_s,
            wall_s,
            gb_seconds,
            lambda_usd,
            transitions: cost.state_transitions,
            step_functions_usd: cost.step_functions_usd,
            s3_usd,
            total_usd,
            usd_per_minute: total_usd / (f64::from(setup.seconds) / 60.0),
        })
    }
}

fn print(setup: &Setup, m: &Model, e: &Estimate, cores: usize) {
    let minutes = f64::from(setup.seconds) / 60.0;
    println!(
        "\nbench long: {minutes:.0} min of {}x{} at {FPS} fps ({} frames), {} chunks, {} MB ({:.2} vCPUs), {} instance(s) at a time on {cores} cores, every chunk cold; load {}\n",
        e.width, e.height, e.frames, setup.chunks, setup.memory_mb, vcpus(setup.memory_mb), setup.instances, long_project::load()
    );
    println!("| stage | invocations | billed s (init included) | slowest s | cold starts, mean init ms |");
    println!("|---|---|---|---|---|");
    for (name, s) in [
        ("plan", &m.plan),
        ("renderChunk", &m.chunks),
        ("assemble", &m.assemble),
    ] {
        println!(
            "| {name} | {} | {:.1} | {:.2} | {}, {:.0} |",
            s.count(),
            s.total_ms() as f64 / 1000.0,
            s.max_ms() as f64 / 1000.0,
            s.cold,
            if s.cold > 0 {
                s.init_ms / s.cold as f64
            } else {
                0.0
            }
        );
    }
    println!(
        "\nchunk billed s: fastest {:.2}, median {:.2}, slowest {:.2}\n",
        m.chunks.quantile_ms(0.0) as f64 / 1000.0,
        m.chunks.quantile_ms(0.5) as f64 / 1000.0,
        m.chunks.max_ms() as f64 / 1000.0
    );
    println!("| figure | model | goal |");
    println!("|---|---|---|");
    println!(
        "| wall time on Lambda: plan {:.1} + Map start {:.1} + slowest chunk {:.1} + assemble {:.1} s | **{:.1} s** | at most {WALL_GOAL_S:.0} s |",
        m.plan.max_ms() as f64 / 1000.0,
        m.map_start_s,
        m.chunks.max_ms() as f64 / 1000.0,
        m.assemble.max_ms() as f64 / 1000.0,
        m.wall_s
    );
    println!(
        "| Lambda: {:.0} GB-s billed and {} requests | ${:.4} | |",
        m.gb_seconds,
        m.plan.count() + m.chunks.count() + m.assemble.count(),
        m.lambda_usd
    );
    println!(
        "| Step Functions: {} state transitions (execution history) | ${:.5} | |",
        m.transitions, m.step_functions_usd
    );
    println!(
        "| S3: {} GET/HEAD, {} PUT, 7 days of intermediates (the estimate's counts) | ${:.5} | |",
        e.s3_gets, e.s3_puts, m.s3_usd
    );
    println!(
        "| all-in, per rendered minute (total ${:.4}) | **${:.5}** | at most ${USD_PER_MINUTE_GOAL} |",
        m.total_usd, m.usd_per_minute
    );
    println!(
        "\nthe estimate for the same plan: {:.0} GB-s ({:.0}-{:.0}), billed {:.2}x; wall {:.0} s ({:.0}-{:.0}); ${:.4} (${:.4}-${:.4})",
        e.lambda_gb_seconds.expected,
        e.lambda_gb_seconds.low,
        e.lambda_gb_seconds.high,
        m.gb_seconds / e.lambda_gb_seconds.expected.max(1e-9),
        e.wall_seconds.expected,
        e.wall_seconds.low,
        e.wall_seconds.high,
        e.total_usd.expected,
        e.total_usd.low,
        e.total_usd.high,
    );
}
