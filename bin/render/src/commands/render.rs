//! `render`: renders a HyperFrames project directory to a video locally, through
//! the same plan / render_chunk / assemble stages the Lambda handler runs; or,
//! given a stack (`--stack-name` / `--outputs-file`) or a site (`--site-id`),
//! on that stack's Lambda function, like `remotion lambda render`.
//!
//! hyperframes render ./my-project --out out.mp4 [--chunk-size N --workers N --format F --fps F]
//! hyperframes render ./my-project --stack-name S [--wait [--download out.mp4]]

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{PriceArgs, TargetArgs};
use crate::estimate::{self, EstimateArgs};
use crate::render::RemoteRender;
use crate::variables::VariableArgs;
use clap::Parser;
use hyperframes_cli::bars;
use hyperframes_infra::contract::PlanProtocol;
use hyperframes_producer::runner::{self, Progress, ProgressSink, RunOptions};
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{AssetMap, Codec, Format, Preset, ProducerError, Quality, RenderConfig};

#[derive(Parser, Debug)]
#[command(about = "Render a HyperFrames project to video (chunked, like the distributed pipeline)")]
pub struct Args {
    /// Project directory containing index.html with the root composition.
    project: Option<PathBuf>,
    /// Output file (or directory for png-sequence); local renders only.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Default from --out's extension (none = png-sequence).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// mp4 only.
    #[arg(long, value_enum)]
    codec: Option<Codec>,
    /// Frames per second, a whole number from 1 to 240.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Frames per chunk (default: automatic).
    #[arg(long)]
    chunk_size: Option<u32>,
    /// Upper bound on the number of chunks. Default: on a stack (and for
    /// --estimate) the fan-out rule picks the count for the video's length
    /// and size (see the README); locally, one chunk per worker.
    #[arg(long)]
    max_parallel_chunks: Option<u32>,
    /// Parallel chunk workers (default: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Encoder quality (CRF per format).
    #[arg(long, value_enum)]
    quality: Option<Quality>,
    /// x264/x265 speed preset for mp4; default from --quality (standard:
    /// veryfast). Faster presets cost less CPU per frame at the same CRF.
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Render in one pass without chunking (the baseline).
    #[arg(long)]
    single_pass: bool,
    /// JSON file mapping remote URLs to local files (default: HF_ASSET_MAP or .tools/asset-map.json).
    #[arg(long)]
    asset_map: Option<PathBuf>,
    /// Keep the plan and chunks (in a temp dir, printed) for inspection.
    #[arg(long)]
    keep_work: bool,
    /// Render text whose font is neither embedded nor given an @font-face
    /// with the host's fonts (`rejectOnSystemFonts: false`). A render on a
    /// stack refuses such text without it: Lambda's fonts are not this
    /// machine's. Locally it is a warning either way.
    #[arg(long)]
    allow_host_fonts: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Refuse a composition that uses an attribute or runtime hook of the
    /// reference this renderer does not implement (without it, each is a
    /// warning and the render goes on).
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    vars: VariableArgs,
    #[command(flatten)]
    lambda: LambdaArgs,
    #[command(flatten)]
    estimate: EstimateArgs,
    /// The checked variable values (from `vars`), set before dispatch.
    #[arg(skip)]
    values: Option<Variables>,
}

/// Rendering on a deployed stack instead of this machine.
#[derive(clap::Args, Debug)]
struct LambdaArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Render a site uploaded with `sites create` instead of a local directory.
    #[arg(long, conflicts_with = "project")]
    site_id: Option<String>,
    /// Follow the render until it ends (progress, cost, exit 1 on failure).
    #[arg(long)]
    wait: bool,
    /// With --wait: download the output here when it succeeds.
    #[arg(long, requires = "wait")]
    download: Option<PathBuf>,
    /// The render id (execution name; default hf-<time>-<hex>).
    #[arg(long)]
    render_id: Option<String>,
    /// Output key in the render bucket (default outputs/<render id>.<ext>, kept; renders/ expires).
    #[arg(long)]
    output_key: Option<String>,
    /// How the plan travels between stages.
    #[arg(long, default_value = "v2", value_parser = parse_protocol)]
    plan_protocol: PlanProtocol,
    #[command(flatten)]
    prices: PriceArgs,
}

fn parse_protocol(s: &str) -> Result<PlanProtocol, String> {
    s.parse()
}

impl LambdaArgs {
    fn requested(&self) -> bool {
        self.target.stack_name.is_some()
            || self.target.outputs_file.is_some()
            || self.site_id.is_some()
    }
}

/// `hyperframes render`.
pub fn run(mut args: Args) -> ExitCode {
    // Before anything is planned, uploaded or started.
    match check_variables(&args) {
        Ok(values) => args.values = values,
        Err(e) => {
            eprintln!("render: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(project) = args.project.as_deref() {
        if let Err(e) = check_compat(project, args.strict) {
            eprintln!("render: {e}");
            return ExitCode::FAILURE;
        }
    }
    if args.estimate.estimate {
        return estimate_only(args);
    }
    if args.lambda.requested() {
        return render_on_lambda(args);
    }
    if args.project.is_none() || args.out.is_none() {
        eprintln!("render: a local render needs a project directory and --out FILE; to render on a stack pass --stack-name NAME or --outputs-file FILE");
        return ExitCode::from(2);
    }
    match render(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("render failed [{}]: {e}", e.name());
            ExitCode::FAILURE
        }
    }
}

/// The reference features the project uses and this renderer does not
/// implement: warnings, or with `--strict` one error listing them all.
/// Read from the project's files, before anything is planned or uploaded.
pub(crate) fn check_compat(project: &std::path::Path, strict: bool) -> Result<(), ProducerError> {
    let findings = hyperframes_producer::compat::check_project(project)?;
    if strict && !findings.is_empty() {
        return Err(hyperframes_producer::compat::refuse(project, &findings));
    }
    for f in &findings {
        eprintln!("render: warning: {f}");
    }
    Ok(())
}

/// The variable values, checked against the project's declarations: a
/// local render checks image and font URLs against its asset map too; a
/// stack's plan has its own map, so only project files are checked there.
fn check_variables(args: &Args) -> anyhow::Result<Option<Variables>> {
    let local = !args.lambda.requested() && !args.estimate.estimate;
    let assets = match (&args.asset_map, local) {
        (Some(p), true) => Some(AssetMap::load(p)?),
        (None, true) => Some(AssetMap::discover()?),
        (_, false) => None,
    };
    crate::variables::check(
        &args.vars,
        args.project.as_deref(),
        RenderConfig::new(args.fps, Format::Mp4).entry_file(),
        assets.as_ref(),
    )
}

/// The render settings the flags describe: one typed value, the same for
/// a local render and a stack's (where it is the execution input's
/// `Config`). `format` is decided by the caller (from `--format` or the
/// output's name).
fn render_config(args: &Args, format: Format) -> RenderConfig {
    let mut config = RenderConfig::new(args.fps, format);
    config.codec = args.codec;
    config.quality = args.quality;
    config.preset = args.preset;
    config.chunk_size = args.chunk_size;
    config.max_parallel_chunks = args.max_parallel_chunks;
    config.variables = args.values.clone();
    config.reject_on_system_fonts = args.allow_host_fonts.then_some(false);
    config
}

/// The remote render the flags describe (also what `--estimate` prices).
fn remote_render(args: Args) -> (RemoteRender, LambdaArgs) {
    let format = args.format.unwrap_or_else(|| {
        match args
            .lambda
            .download
            .as_ref()
            .and_then(|d| d.extension())
            .and_then(|e| e.to_str())
        {
            Some("mov") => Format::Mov,
            Some("webm") => Format::Webm,
            Some("gz") | Some("tgz") => Format::PngSequence,
            _ => Format::Mp4,
        }
    });
    let config = render_config(&args, format);
    let l = args.lambda;
    let remote = RemoteRender {
        project: args.project,
        site_id: l.site_id.clone(),
        config,
        protocol: l.plan_protocol,
        render_id: l.render_id.clone(),
        output_key: l.output_key.clone(),
        wait: l.wait,
        download: l.download.clone(),
        json: args.json,
        prices: l.prices.clone(),
        concurrency: args.estimate.concurrency,
        estimate: None,
    };
    (remote, l)
}

fn render_on_lambda(args: Args) -> ExitCode {
    if args.out.is_some() {
        eprintln!("render: --out is for local renders; on a stack use --wait --download FILE");
        return ExitCode::from(2);
    }
    let estimate_args = args.estimate.clone();
    let (mut remote, l) = remote_render(args);
    remote.estimate = Some(estimate_args);
    let ok = std::cell::Cell::new(true);
    let code = hyperframes_cli::cli::run("render", async {
        ok.set(crate::render::run(&l.target, remote).await?);
        Ok(())
    });
    if code == ExitCode::SUCCESS && !ok.get() {
        return ExitCode::from(1);
    }
    code
}

/// `render --estimate`: plans locally and prints the price; uploads nothing.
fn estimate_only(args: Args) -> ExitCode {
    if args.project.is_none() {
        eprintln!("render: --estimate plans the project locally; pass its directory (site renders cannot be estimated)");
        return ExitCode::from(2);
    }
    let estimate_args = args.estimate.clone();
    let json = args.json;
    let (remote, _) = remote_render(args);
    let result = crate::render::config(&remote).and_then(|config| {
        let config = crate::render::cap_fan_out(config, estimate_args.concurrency);
        let project = remote.project.as_deref().expect("checked above");
        estimate::for_project(
            project,
            &config,
            remote.prices.prices(),
            remote.protocol,
            &estimate_args,
        )
    });
    match result {
        Ok(e) if json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&e).expect("estimate serializes")
            );
            ExitCode::SUCCESS
        }
        Ok(e) => {
            print!("{}", estimate::model::render_text(&e));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render: cannot estimate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Draws the local render's progress on standard error: a bar on a
/// terminal; otherwise a line per stage and per tenth of the frames, so CI
/// logs show it moving.
fn progress_bar() -> ProgressSink {
    let bar = bars::frames(0);
    let tenth = std::sync::atomic::AtomicU64::new(0);
    ProgressSink::new(move |p| match p {
        Progress::Planned { frames, chunks } => {
            bar.set_length(frames);
            bar.suspend(|| eprintln!("planned {frames} frames in {chunks} chunk(s)"));
        }
        Progress::Frames { done, total } => {
            bar.set_position(done);
            let step = done * 10 / total.max(1);
            if bar.is_hidden() && step > tenth.swap(step, std::sync::atomic::Ordering::Relaxed) {
                eprintln!("{done}/{total} frames");
            }
        }
        Progress::Assembling => {
            bar.finish_and_clear();
            eprintln!("assembling");
        }
    })
}

/// Where local renders keep planned templates (see the README's "Plan the
/// template once"): `$XDG_CACHE_HOME/hyperframes/templates`, else
/// `~/.cache/hyperframes/templates`; none without a home directory.
pub(crate) fn template_cache() -> Option<hyperframes_producer::TemplateCache> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(hyperframes_producer::TemplateCache::new(
        base.join("hyperframes/templates"),
    ))
}

fn render(args: Args) -> Result<(), ProducerError> {
    let (Some(project), Some(out)) = (args.project.clone(), args.out.clone()) else {
        unreachable!("main checks project and out");
    };
    // Without --format the output name decides: .mp4/.mov/.webm, and a name
    // without an extension is a frame directory (png-sequence).
    let format = match args.format {
        Some(f) => f,
        None => match out.extension().and_then(|e| e.to_str()) {
            None => Format::PngSequence,
            Some(ext) => Format::parse(&ext.to_ascii_lowercase())?,
        },
    };
    let config = render_config(&args, format);
    let keep_work = if args.keep_work {
        let dir = tempfile::Builder::new()
            .prefix("hf-render-")
            .tempdir()
            .map_err(|e| ProducerError::io(std::env::temp_dir(), e))?
            .keep();
        eprintln!("the plan and chunks are kept in {}", dir.display());
        Some(dir)
    } else {
        None
    };
    let asset_map = match &args.asset_map {
        Some(p) => Some(AssetMap::load(p)?),
        None => None,
    };
    let summary = runner::run(&RunOptions {
        project_dir: project,
        out,
        config,
        workers: args.workers,
        single_pass: args.single_pass,
        on_progress: (!args.json).then(progress_bar),
        asset_map,
        template_cache: template_cache(),
        keep_work,
    })?;
    // The values were checked before the plan; what only the plan sees is
    // a mount's data-variable-values against its component's declarations.
    for p in summary
        .variable_problems
        .iter()
        .filter(|p| p.path.contains("data-variable-values"))
    {
        eprintln!("warning: {p}");
    }
    for f in &summary.host_fonts {
        eprintln!("warning: {f}; on a stack this fails the render unless --allow-host-fonts");
    }
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "output": summary.output, "frames": summary.frames, "fileSize": summary.file_size,
                "chunks": summary.chunks, "workers": summary.workers, "planHash": summary.plan_hash,
                "wallSeconds": summary.wall.as_secs_f64(), "planSeconds": summary.plan_time.as_secs_f64(),
                "renderSeconds": summary.render_time.as_secs_f64(), "assembleSeconds": summary.assemble_time.as_secs_f64(),
                "duration": summary.duration, "durationFrom": summary.duration_from.to_string(), "warnings": summary.warnings,
                "captureModes": summary.chunk_outcomes.iter().map(|c| c.capture_mode).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("{}", summary.render());
    }
    Ok(())
}
