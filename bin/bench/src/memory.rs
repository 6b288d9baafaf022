//! `hyperframes bench memory`: one project through the local stack at
//! several Lambda memory sizes. The local Lambda service gives each
//! instance the CPU Lambda gives its memory (1,769 MB per vCPU, as a
//! cgroup quota), so billed GB-seconds and chunk times follow `MemorySize`
//! as they would on Lambda, up to this machine's cores. Prints, per size,
//! the billed GB-s, the Lambda cost per rendered minute and the slowest
//! chunk; `render --estimate` models the sizes this machine cannot give.
//!
//!   hyperframes bench memory [--project DIR] [--sizes 2048,4096,10240]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use hyperframes_infra::stack::ids::PARAM_MEMORY;
use hyperframes_infra::LambdaMemory;
use hyperframes_local::lambda::Record;
use hyperframes_local::stack::{LocalStack, Tools};
use hyperframes_render::estimate::model::vcpus;
use hyperframes_render::pricing::Prices;

use crate::local::{self, StackRun};

#[derive(Debug, Parser)]
#[command(about = "The same render on the local stack at several Lambda memory sizes")]
pub struct Args {
    /// The project [default: the peer bench's native1080 project, 1920x1080, 300 frames].
    #[arg(long)]
    project: Option<PathBuf>,
    /// A handler ZIP (default: build one with the release bootstrap).
    #[arg(long)]
    package: Option<PathBuf>,
    /// Memory sizes in MB, sizes the stack takes (2048-10240 in 1024 steps).
    #[arg(long, value_delimiter = ',', default_values_t = [2048, 4096, 10240])]
    sizes: Vec<u32>,
    /// Work directory [default: target/local-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// One memory size's run.
struct Row {
    memory_mb: u32,
    wall_s: f64,
    gb_seconds: f64,
    usd: f64,
    usd_per_minute: f64,
    slowest_chunk_ms: u64,
    max_memory_mb: u64,
}

/// `hyperframes bench memory`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("memory", bench(args).map(|()| true))
}

fn bench(args: Args) -> Result<()> {
    if unsafe { libc::geteuid() } != 0 {
        bail!("bench memory needs root: the CPU quota per memory size is a cgroup limit, which needs writable cgroups; run it with sudo");
    }
    let problems: Vec<String> = args
        .sizes
        .iter()
        .filter_map(|&mb| {
            LambdaMemory::new(mb)
                .err()
                .map(|e| format!("--sizes {mb}: {e}"))
        })
        .collect();
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let project = args.project.clone().unwrap_or_else(local::default_project);
    local::check_project(&project)?;
    let dir = local::work_dir(args.dir.clone())?;
    let zip = local::handler_zip(args.package.as_ref(), &Tools::discover(), &dir)?;
    let layer = local::offline_layer(&Tools::discover(), &dir)?;
    let rt = tokio::runtime::Runtime::new()?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut rows = Vec::new();
    for &mb in &args.sizes {
        let run_dir = dir.join(format!("memory-{mb}"));
        let mut opts = local::stack_options(
            Tools::discover(),
            zip.clone(),
            layer.clone(),
            &run_dir,
            cores,
        )?;
        opts.parameters = vec![(PARAM_MEMORY.to_string(), mb.to_string())];
        let t = Instant::now();
        let stack = rt.block_on(LocalStack::start(opts))?;
        let run = local::render_on_stack(&rt, stack, &project, &run_dir, |_| {})
            .with_context(|| format!("at {mb} MB"))?;
        eprintln!(
            "bench memory: {mb} MB done in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        rows.push(row(mb, &run));
    }
    print(&rows, cores, &project);
    Ok(())
}

fn row(memory_mb: u32, run: &StackRun) -> Row {
    let gb_seconds = local::billed_gb_seconds(&run.records);
    let usd = local::billed_lambda_usd(&run.records, Prices::default().lambda_gb_second);
    let frames = run.progress.frames_total.unwrap_or(0) as f64;
    let minutes = frames / f64::from(run.config.fps) / 60.0;
    let chunk = |r: &&Record| r.action.as_deref() == Some("renderChunk");
    Row {
        memory_mb,
        wall_s: run.wall.as_secs_f64(),
        gb_seconds,
        usd,
        usd_per_minute: usd / minutes.max(1e-9),
        slowest_chunk_ms: run
            .records
            .iter()
            .filter(chunk)
            .map(|r| r.billed_ms)
            .max()
            .unwrap_or(0),
        max_memory_mb: run
            .records
            .iter()
            .map(|r| r.max_memory_used_mb)
            .max()
            .unwrap_or(0),
    }
}

fn print(rows: &[Row], cores: usize, project: &std::path::Path) {
    println!(
        "project {} on {cores} cores; instances get Lambda's CPU share of their memory, capped by the host\n",
        project.display()
    );
    println!("| memory MB | vCPUs | wall s | billed GB-s | Lambda $ | $ per rendered minute | slowest chunk ms | max memory MB |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {:.2} | {:.1} | {:.1} | {:.5} | {:.5} | {} | {} |",
            r.memory_mb,
            vcpus(r.memory_mb),
            r.wall_s,
            r.gb_seconds,
            r.usd,
            r.usd_per_minute,
            r.slowest_chunk_ms,
            r.max_memory_mb
        );
    }
    println!("\nAbove {cores} vCPUs the host cannot give the quota: those rows are the host's cores, not Lambda's; `render --estimate` models them.");
}
