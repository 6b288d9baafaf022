//! `hyperframes bench batch`: a batch of N rows of a 5-s 1080p template
//! (text, colour, enum and image variables; GSAP and a web font from the
//! asset map, so the plan has assets to inline; a music track, so it mixes audio) through the local stack with
//! `render-batch`, beside the same N rows rendered one `render --wait`
//! after another. Prints the wall times and costs, and the plan
//! invocations' billed time (the local Lambda service's REPORT records):
//! the first plan against the rest, which issue 25 wants at most 10 % of
//! the first once the plan reuses the template's compile.
//!
//!   hyperframes bench batch [--rows 20] [--project DIR]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};

use hyperframes_infra::contract::PlanProtocol;
use hyperframes_local::lambda::Record;
use hyperframes_local::stack::{LocalStack, Tools};
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{Format, RenderConfig};
use hyperframes_render::execution;
use hyperframes_render::pricing::Prices;
use hyperframes_render::render::{self, RemoteRender};

use crate::local::{handler_zip, offline_layer, outputs_target, stack_options, work_dir};

#[derive(Debug, Parser)]
#[command(about = "A render-batch of N rows beside N single renders, through the local stack")]
pub struct Args {
    /// Rows in the batch, and single renders beside it.
    #[arg(long, default_value_t = 20)]
    rows: usize,
    /// The template [default: a generated 5-s 1920x1080 one with variables].
    #[arg(long)]
    project: Option<PathBuf>,
    /// A handler ZIP (default: build one with the release bootstrap).
    #[arg(long)]
    package: Option<PathBuf>,
    /// Function instances at once [default: the number of cores].
    #[arg(long)]
    concurrency: Option<usize>,
    /// The batch's --max-concurrent [default: render-batch's].
    #[arg(long)]
    max_concurrent: Option<u32>,
    /// Work directory [default: target/batch-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The batch only, without the single renders.
    #[arg(long)]
    no_singles: bool,
    /// Without the warm-up render (then the batch pays the stack's cold starts).
    #[arg(long)]
    no_warmup: bool,
}

/// `hyperframes bench batch`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("batch", bench(args).map(|()| true))
}

fn bench(args: Args) -> Result<()> {
    if unsafe { libc::geteuid() } != 0 {
        bail!("bench batch needs root: the local stack's figures hold only with the function's memory limit and CPU quota enforced (writable cgroups); run it with sudo");
    }
    if args.rows == 0 {
        bail!("--rows must be at least 1");
    }
    let dir = work_dir(args.dir.clone().or_else(|| {
        Some(hyperframes_deploy::deploy::workspace_root().join("target/batch-bench"))
    }))?;
    let project = match &args.project {
        Some(p) => p.clone(),
        None => template(&dir)?,
    };
    let tools = Tools::discover();
    let zip = handler_zip(args.package.as_ref(), &tools, &dir)?;
    let layer = offline_layer(&tools, &dir)?;
    let concurrency = args
        .concurrency
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let rt = tokio::runtime::Runtime::new()?;
    let local = rt.block_on(LocalStack::start(stack_options(
        tools,
        zip,
        layer,
        &dir,
        concurrency,
    )?))?;
    let ran = both(&rt, &local, &args, &project, &dir);
    let records = local.lambda.records();
    rt.block_on(local.shutdown());
    let (batch, singles) = ran?;
    print_table(&args, concurrency, &batch, &singles, &records);
    Ok(())
}

/// What one side of the comparison did.
#[derive(Default)]
struct Side {
    wall: Duration,
    cost_usd: f64,
    /// Render ids, in row order.
    ids: Vec<String>,
    failed: usize,
}

fn both(
    rt: &tokio::runtime::Runtime,
    local: &LocalStack,
    args: &Args,
    project: &Path,
    dir: &Path,
) -> Result<(Side, Side)> {
    let outputs = dir.join("outputs.json");
    hyperframes_cli::outputs::write_file(&outputs, &local.outputs("bench"))?;
    let rows = rows_file(dir, args.rows)?;
    // Both sides start on warm instances: the stack's first renders pay
    // the payload unpack and Chromium's first start, whichever side runs
    // first. The warm-up and the singles each render a variant of the
    // template (another template key), so the batch's first row, and the
    // first single, compile their template as a user's first render would
    // instead of finding the one an earlier side planned.
    if !args.no_warmup {
        let t = Instant::now();
        single(
            rt,
            &outputs,
            &variant(project, dir, "warmup")?,
            &format!("warmup-{}", std::process::id()),
            0,
        )?;
        eprintln!("warm-up render: {:.1} s", t.elapsed().as_secs_f64());
    }
    let batch = run_batch(args, project, &rows, &outputs)?;
    let singles = if args.no_singles {
        Side::default()
    } else {
        run_singles(rt, args.rows, &variant(project, dir, "singles")?, &outputs)?
    };
    Ok((batch, singles))
}

/// A copy of `project` whose entry ends with a comment naming `label`:
/// the same pixels under another template key.
fn variant(project: &Path, dir: &Path, label: &str) -> Result<PathBuf> {
    let copy = dir.join(format!("template-{label}"));
    let _ = std::fs::remove_dir_all(&copy);
    crate::reference::cases::copy_tree(project, &copy)?;
    let entry = copy.join("index.html");
    let mut html = std::fs::read_to_string(&entry)
        .with_context(|| format!("{} has no index.html to vary", project.display()))?;
    html.push_str(&format!("\n<!-- {label} -->\n"));
    std::fs::write(&entry, html)?;
    Ok(copy)
}

/// `seconds` of a 440 Hz tone, 48 kHz stereo 16-bit PCM: the template's
/// music, so its first plan probes and mixes audio as a real template's
/// does, and the plans after it take the mix from the template.
fn tone_wav(seconds: u32) -> Vec<u8> {
    let (rate, channels) = (48_000u32, 2u16);
    let frames = rate * seconds;
    let data_len = frames * u32::from(channels) * 2;
    let mut w = Vec::with_capacity(44 + data_len as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&channels.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    w.extend_from_slice(&(channels * 2).to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(rate);
        let v = ((t * 440.0 * std::f64::consts::TAU).sin() * 8_000.0) as i16;
        for _ in 0..channels {
            w.extend_from_slice(&v.to_le_bytes());
        }
    }
    w
}

/// The generated template: 5 s at 1920x1080, a title, a background
/// colour, a mood and a logo as variables, and a music track.
fn template(dir: &Path) -> Result<PathBuf> {
    let p = dir.join("template");
    std::fs::create_dir_all(&p)?;
    std::fs::write(
        p.join("logo.svg"),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160"><circle cx="80" cy="80" r="70" fill="#fc0"/></svg>"##,
    )?;
    std::fs::write(p.join("music.wav"), tone_wav(5))?;
    std::fs::write(
        p.join("index.html"),
        r##"<!doctype html><html data-composition-variables='[{"id":"title","type":"string","label":"Title","default":"Hello"},{"id":"bg","type":"color","label":"Background","default":"#202040"},{"id":"mood","type":"enum","label":"Mood","default":"calm","options":[{"value":"calm","label":"Calm"},{"value":"loud","label":"Loud"}]},{"id":"logo","type":"image","label":"Logo","default":"logo.svg"}]'>
<head><meta charset="utf-8">
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Space+Mono:wght@400;700&display=swap">
<script src="https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.2/gsap.min.js"></script>
<style>
html,body{margin:0;width:1920px;height:1080px;overflow:hidden}
#root{width:1920px;height:1080px;position:relative;background:var(--bg)}
.t{position:absolute;top:400px;width:100%;text-align:center;font:700 120px "Space Mono",monospace;color:#fff;margin:0}
.box{position:absolute;left:0;top:800px;width:200px;height:200px;background:#f80}
</style></head>
<body><div id="root" data-composition-id="main" data-start="0" data-duration="5" data-width="1920" data-height="1080">
<h1 class="t" data-var-text="title"></h1><img data-var-src="logo" style="position:absolute;left:60px;top:60px;width:160px;height:160px"><div class="box"></div>
<audio id="music" src="music.wav" data-start="0" data-duration="5" data-track-index="0"></audio></div>
<script>
document.getElementById("root").dataset.mood = window.__hyperframes.getVariables().mood;
window.__timelines = window.__timelines || {};
const tl = gsap.timeline({ paused: true });
tl.to(".box", { x: 1700, rotation: 360, duration: 5, ease: "none" });
window.__timelines["main"] = tl;
</script></body></html>"##,
    )?;
    Ok(p)
}

/// Row `i`'s values.
fn values(i: usize) -> Value {
    json!({
        "title": format!("Customer {i}"),
        "bg": format!("#{:02x}{:02x}60", (i * 37) % 256, (i * 91) % 256),
        "mood": if i % 2 == 0 { "calm" } else { "loud" },
        "logo": "logo.svg",
    })
}

fn rows_file(dir: &Path, n: usize) -> Result<PathBuf> {
    let path = dir.join("rows.jsonl");
    let text: String = (1..=n)
        .map(|i| {
            json!({"outputKey": format!("batch/v{i}.mp4"), "variables": values(i)}).to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&path, text)?;
    // A fresh manifest each run: the bench measures renders, not a resume.
    let _ = std::fs::remove_file(dir.join("rows.manifest.jsonl"));
    Ok(path)
}

/// `render-batch` as a user runs it, timed end to end; cost and render
/// ids from its manifest.
fn run_batch(args: &Args, project: &Path, rows: &Path, outputs: &Path) -> Result<Side> {
    use clap::Parser as _;
    use hyperframes_render::commands::render_batch;
    let mut argv: Vec<String> = [
        "render-batch",
        &rows.to_string_lossy(),
        "--project",
        &project.to_string_lossy(),
        "--outputs-file",
        &outputs.to_string_lossy(),
    ]
    .map(str::to_string)
    .to_vec();
    if let Some(n) = args.max_concurrent {
        argv.extend(["--max-concurrent".into(), n.to_string()]);
    }
    let parsed = render_batch::Args::try_parse_from(&argv).context("render-batch flags")?;
    let t = Instant::now();
    let _ = render_batch::run(parsed);
    let wall = t.elapsed();
    let manifest = std::fs::read_to_string(rows.with_file_name("rows.manifest.jsonl"))
        .context("render-batch wrote no manifest")?;
    let entries: Vec<Value> = manifest
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok(Side {
        wall,
        cost_usd: entries.iter().filter_map(|e| e["costUsd"].as_f64()).sum(),
        ids: entries
            .iter()
            .filter_map(|e| e["renderId"].as_str().map(str::to_string))
            .collect(),
        failed: entries
            .iter()
            .filter(|e| e["status"] != "succeeded")
            .count(),
    })
}

/// One `render --wait` of row `i`'s values as `id`; whether it succeeded.
fn single(
    rt: &tokio::runtime::Runtime,
    outputs: &Path,
    project: &Path,
    id: &str,
    i: usize,
) -> Result<bool> {
    let mut config = RenderConfig::new(30, Format::Mp4);
    config.variables = Some(Variables::new(
        values(i).as_object().cloned().unwrap_or_default(),
    ));
    let remote = RemoteRender {
        project: Some(project.to_path_buf()),
        site_id: None,
        config,
        protocol: PlanProtocol::V2,
        render_id: Some(id.to_string()),
        output_key: Some(format!("singles/{id}.mp4")),
        wait: true,
        download: None,
        json: true,
        prices: Default::default(),
        concurrency: None,
        estimate: None,
    };
    rt.block_on(render::run(&outputs_target(outputs.to_path_buf()), remote))
}

/// The same rows, one `render --wait` after another.
fn run_singles(
    rt: &tokio::runtime::Runtime,
    n: usize,
    project: &Path,
    outputs: &Path,
) -> Result<Side> {
    let target = outputs_target(outputs.to_path_buf());
    let mut side = Side::default();
    let t = Instant::now();
    for i in 1..=n {
        let id = format!("single-{}-{i}", std::process::id());
        if !single(rt, outputs, project, &id, i)? {
            side.failed += 1;
        }
        side.ids.push(id);
    }
    side.wall = t.elapsed();
    side.cost_usd = rt.block_on(async {
        let (aws, st) = target.connect().await?;
        let mut sum = 0.0;
        for id in &side.ids {
            sum += execution::progress(&aws.sfn, &st.execution_arn(id), Prices::default())
                .await?
                .cost
                .total_usd;
        }
        anyhow::Ok(sum)
    })?;
    Ok(side)
}

/// One plan invocation: billed ms, init ms, and whether it was its
/// instance's first invocation (which unpacks the payload and starts
/// Chromium for the first time, whatever the template).
struct PlanRun {
    billed: u64,
    init: f64,
    first_use: bool,
}

/// The plan invocations of `ids`, in start order.
fn plans(records: &[Record], ids: &[String]) -> Vec<PlanRun> {
    let mut all: Vec<&Record> = records.iter().collect();
    all.sort_by_key(|r| r.started_ms);
    let mut seen = std::collections::HashSet::new();
    let prefixes: Vec<String> = ids.iter().map(|i| format!("/renders/{i}/")).collect();
    let mut out = Vec::new();
    for r in all {
        let first_use = seen.insert(r.instance.clone());
        let ev = r.event.to_string();
        if r.action.as_deref() == Some("plan") && prefixes.iter().any(|p| ev.contains(p.as_str())) {
            out.push(PlanRun {
                billed: r.billed_ms,
                init: r.init.map_or(0.0, |d| d.as_secs_f64() * 1000.0),
                first_use,
            });
        }
    }
    out
}

/// `first | rest mean / max | rest mean over first`, the rest being the
/// plans on instances that had run something before.
fn plan_cells(p: &[PlanRun]) -> [String; 3] {
    let Some((first, rest)) = p.split_first() else {
        return ["-".into(), "-".into(), "-".into()];
    };
    let note = if first.first_use {
        ", instance's first use"
    } else {
        ""
    };
    let head = format!("{} (init {:.0}{note})", first.billed, first.init);
    let warm: Vec<u64> = rest
        .iter()
        .filter(|r| !r.first_use)
        .map(|r| r.billed)
        .collect();
    if warm.is_empty() {
        return [head, "-".into(), "-".into()];
    }
    let mean = warm.iter().sum::<u64>() as f64 / warm.len() as f64;
    let max = warm.iter().max().copied().unwrap_or(0);
    let cold = rest.len() - warm.len();
    [
        head,
        format!(
            "{mean:.0} / {max} ({} warm; {cold} first uses left out)",
            warm.len()
        ),
        format!("{:.0}%", mean / first.billed.max(1) as f64 * 100.0),
    ]
}

fn print_table(args: &Args, concurrency: usize, batch: &Side, singles: &Side, records: &[Record]) {
    println!(
        "\n{} rows of a 5-s 1920x1080 template, {} cores, function concurrency {concurrency}\n",
        args.rows,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!(
        "| what | render-batch | {} single renders in sequence |\n| --- | --- | --- |",
        args.rows
    );
    let singles_ran = !args.no_singles;
    let cell = |s: &Side, f: &dyn Fn(&Side) -> String| {
        if singles_ran || std::ptr::eq(s, batch) {
            f(s)
        } else {
            "-".into()
        }
    };
    println!(
        "| wall time, s | {} | {} |",
        cell(batch, &|s| format!("{:.1}", s.wall.as_secs_f64())),
        cell(singles, &|s| format!("{:.1}", s.wall.as_secs_f64()))
    );
    println!(
        "| cost (`progress`'s, summed) | {} | {} |",
        cell(batch, &|s| format!("${:.4}", s.cost_usd)),
        cell(singles, &|s| format!("${:.4}", s.cost_usd))
    );
    println!(
        "| failed renders | {} | {} |",
        batch.failed,
        cell(singles, &|s| s.failed.to_string())
    );
    let (b, s) = (
        plan_cells(&plans(records, &batch.ids)),
        plan_cells(&plans(records, &singles.ids)),
    );
    println!("| plan billed ms, first (its init) | {} | {} |", b[0], s[0]);
    println!(
        "| plan billed ms, the rest: mean / max | {} | {} |",
        b[1], s[1]
    );
    println!(
        "| the rest over the first (issue 25: at most 10% with the plan reused) | {} | {} |",
        b[2], s[2]
    );
    println!("\nBilled ms are the REPORT lines' (init included for a cold instance); plans are in start order. An instance's first invocation unpacks the payload and starts Chromium for the first time: when the first plan is one, its billed time is mostly that, not the template's compile.");
}
