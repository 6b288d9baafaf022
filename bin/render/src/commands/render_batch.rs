//! `render-batch ROWS.jsonl --project DIR`: one render of the template per
//! row, on a stack (`--stack-name` / `--outputs-file`) or on this machine
//! (`--out-dir DIR`). See [`crate::batch`] for what it guarantees.
//!
//! hyperframes render-batch rows.jsonl --project ./template --stack-name S [--max-concurrent N]
//! hyperframes render-batch rows.jsonl --project ./template --out-dir ./videos

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use hyperframes_producer::{AssetMap, Codec, Format, Preset, Quality, RenderConfig};

use crate::batch::{self, board::Board, manifest, rows};
use crate::cli::{PriceArgs, TargetArgs};
use crate::estimate::EstimateArgs;
use hyperframes_infra::contract::PlanProtocol;

#[derive(Parser, Debug)]
#[command(about = "Render one template once per row of a JSONL file, resumably")]
pub struct Args {
    /// The rows: one JSON object per line, e.g.
    /// {"outputKey":"videos/anna.mp4","variables":{"name":"Anna"}}; also
    /// renderId (or executionName), fps, format, quality. Blank lines are skipped.
    pub rows: PathBuf,
    /// The template: the project directory every row renders.
    #[arg(long)]
    pub project: PathBuf,
    /// Render on this machine, each row to DIR/<outputKey>.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// The manifest (JSONL, one entry per row) [default: ROWS.manifest.jsonl next to ROWS].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Most renders in flight at once [stack default: the Lambda
    /// concurrency over the chunks per render; local default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent: Option<u32>,
    /// Check every row (settings, variables, input size), print the
    /// batch's estimate and what a run would do; start nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// JSON lines for machines: one per row change, the summary last.
    #[arg(long)]
    pub json: bool,
    /// Frames per second, 1 to 240 (a row's `fps` overrides it).
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Default from each outputKey's extension (a row's `format` overrides it).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Encoder quality (a row's `quality` overrides it).
    #[arg(long, value_enum)]
    pub quality: Option<Quality>,
    #[arg(long, value_enum)]
    pub codec: Option<Codec>,
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Frames per chunk (default: automatic).
    #[arg(long)]
    pub chunk_size: Option<u32>,
    #[arg(long)]
    pub max_parallel_chunks: Option<u32>,
    /// Fail (before anything starts) on any variable problem of any row.
    #[arg(long)]
    pub strict_variables: bool,
    /// Refuse a template that uses an attribute or runtime hook of the
    /// reference this renderer does not implement (as `render --strict`).
    #[arg(long)]
    pub strict: bool,
    /// Render text whose font is neither embedded nor given an @font-face
    /// with the host's fonts, as `render --allow-host-fonts`.
    #[arg(long)]
    pub allow_host_fonts: bool,
    /// Local: the offline asset map (URL -> file) for plans.
    #[arg(long, value_name = "FILE")]
    pub asset_map: Option<PathBuf>,
    /// Local: chunk workers per render (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// POST the batch's summary (JSON) here when it ends.
    #[arg(long, value_name = "URL")]
    pub notify_webhook: Option<String>,
    /// Sent as the notification's x-api-key header.
    #[arg(long, requires = "notify_webhook")]
    pub notify_api_key: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// How the plan travels between stages.
    #[arg(long, default_value = "v2", value_parser = parse_protocol)]
    pub plan_protocol: PlanProtocol,
    #[command(flatten)]
    pub prices: PriceArgs,
    /// Lambda concurrency per render (the execution input's Concurrency)
    /// [default: read from the account and the function].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Calibration file for the estimate.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
}

fn parse_protocol(s: &str) -> Result<PlanProtocol, String> {
    s.parse()
}

impl Args {
    fn on_stack(&self) -> bool {
        self.target.stack_name.is_some() || self.target.outputs_file.is_some()
    }

    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.manifest
            .clone()
            .unwrap_or_else(|| manifest::default_path(&self.rows))
    }

    pub(crate) fn estimate_args(&self) -> EstimateArgs {
        EstimateArgs {
            estimate: true,
            concurrency: self.concurrency,
            calibration: self.calibration.clone(),
        }
    }

    /// Flags that do not fit the target, all at once (a flag accepted and
    /// ignored would be a defect).
    fn misfits(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.on_stack() {
            for (given, flag) in [
                (self.out_dir.is_some(), "--out-dir"),
                (self.asset_map.is_some(), "--asset-map"),
                (self.workers.is_some(), "--workers"),
            ] {
                if given {
                    out.push(format!("{flag} is for a local batch; on a stack the function renders (drop {flag}, or drop --stack-name/--outputs-file to render here)"));
                }
            }
        } else {
            if self.out_dir.is_none() {
                out.push("where to? pass --out-dir DIR to render here, or --stack-name NAME / --outputs-file FILE to render on a stack".into());
            }
            if self.concurrency.is_some() {
                out.push("--concurrency is the Lambda concurrency of a render on a stack; locally use --workers".into());
            }
        }
        if let Some(u) = &self.notify_webhook {
            if let Err(e) = batch::notify::check_url(u) {
                out.push(format!("{e:#}"));
            }
        }
        out
    }
}

/// `hyperframes render-batch`.
pub fn run(args: Args) -> ExitCode {
    let misfits = args.misfits();
    if !misfits.is_empty() {
        eprintln!("render-batch: {}", misfits.join("\n  "));
        return ExitCode::from(2);
    }
    if let Err(e) = crate::commands::render::check_compat(&args.project, args.strict) {
        eprintln!("render-batch: {e}");
        return ExitCode::FAILURE;
    }
    let (site_id, checked) = match prepare(&args) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("render-batch: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if args.on_stack() {
        let ok = std::cell::Cell::new(false);
        let code = hyperframes_cli::cli::run("render-batch", async {
            ok.set(crate::batch::target::on_stack(&args, &site_id, checked.rows).await?);
            Ok(())
        });
        if code != ExitCode::SUCCESS || ok.get() {
            return code;
        }
        return ExitCode::FAILURE;
    }
    match crate::batch::target::locally(&args, checked.rows) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("render-batch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads and checks every row against the template: every problem at
/// once, before any upload or start.
fn prepare(args: &Args) -> anyhow::Result<(String, rows::Checked)> {
    let text = std::fs::read_to_string(&args.rows)
        .map_err(|e| anyhow::anyhow!("cannot read the rows file {}: {e}", args.rows.display()))?;
    let site_id = crate::site::site_id(&args.project)?;
    let assets = match (&args.asset_map, args.on_stack()) {
        (_, true) => None,
        (Some(p), false) => Some(AssetMap::load(p)?),
        (None, false) => Some(AssetMap::discover()?),
    };
    let defaults = rows::Defaults {
        fps: args.fps,
        format: args.format,
        quality: args.quality,
        codec: args.codec,
        preset: args.preset,
        chunk_size: args.chunk_size,
        max_parallel_chunks: args.max_parallel_chunks,
        lambda: args.on_stack(),
        allow_host_fonts: args.allow_host_fonts,
    };
    let entry_config = RenderConfig::new(args.fps, Format::Mp4);
    let vars = rows::VarCheck {
        project: &args.project,
        entry: entry_config.entry_file(),
        assets: assets.as_ref(),
        strict: args.strict_variables,
    };
    let mut result = rows::check(&text, &site_id, &defaults, &vars);
    if let Ok(c) = &result {
        let local_png: Vec<String> = c
            .rows
            .iter()
            .filter(|r| !args.on_stack() && r.config.format == Format::PngSequence)
            .map(|r| format!("line {}: png-sequence is for a batch on a stack (a .tar.gz of frames); locally use mp4, mov or webm", r.line))
            .collect();
        if !local_png.is_empty() {
            result = Err(local_png);
        }
    }
    let checked = result.map_err(|problems| {
        anyhow::anyhow!(
            "{} problem(s) in {}; nothing was uploaded or started:\n  {}",
            problems.len(),
            args.rows.display(),
            problems.join("\n  ")
        )
    })?;
    for w in &checked.warnings {
        eprintln!("warning: {w}");
    }
    Ok((site_id, checked))
}

/// The rows' previous entries (by output key, the row's identity within
/// a batch), for resuming.
pub(crate) fn previous(
    path: &Path,
) -> anyhow::Result<std::collections::HashMap<String, manifest::Entry>> {
    Ok(manifest::load(path)?
        .into_iter()
        .map(|e| (e.output_key.clone(), e))
        .collect())
}

/// Prints the board's summary and posts the batch notification.
pub(crate) fn finish(
    args: &Args,
    board: &Board,
    wall_ms: u64,
    manifest_uri: Option<String>,
) -> bool {
    board.finish();
    let summary = board.summary(
        wall_ms,
        args.manifest_path().display().to_string(),
        manifest_uri,
    );
    if args.json {
        let mut v = serde_json::to_value(&summary).expect("a summary serializes");
        v["event"] = "batch".into();
        println!("{v}");
    } else {
        print!("{}", summary.text());
    }
    if let Some(url) = &args.notify_webhook {
        if let Err(e) = batch::notify::post(url, args.notify_api_key.as_deref(), &summary) {
            eprintln!("warning: {e:#}");
        }
    }
    summary.failed == 0 && summary.succeeded == summary.rows
}
