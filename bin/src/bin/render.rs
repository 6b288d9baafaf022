//! `render`: renders a HyperFrames project directory to a video locally, through
//! the same plan / render_chunk / assemble stages the Lambda handler runs.
//!
//! cargo run --bin render -- ./my-project --out out.mp4 [--chunk-size N --workers N --format F --fps F]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hyperframes_producer::runner::{run, RunOptions};
use hyperframes_producer::{AssetMap, Codec, Format, Quality, RenderConfig};

#[derive(Parser, Debug)]
#[command(
    name = "render",
    about = "Render a HyperFrames project to video (chunked, like the distributed pipeline)"
)]
struct Args {
    /// Project directory containing index.html with the root composition.
    project: PathBuf,
    /// Output file (or directory for png-sequence).
    #[arg(long)]
    out: PathBuf,
    /// mp4, mov, webm or png-sequence; default from --out's extension (none = png-sequence).
    #[arg(long)]
    format: Option<String>,
    /// h264 or h265 (mp4 only).
    #[arg(long)]
    codec: Option<String>,
    /// 24, 30 or 60.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Frames per chunk (default: automatic).
    #[arg(long)]
    chunk_size: Option<u32>,
    /// Upper bound on the number of chunks (default 16).
    #[arg(long)]
    max_parallel_chunks: Option<u32>,
    /// Parallel chunk workers (default: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// draft, standard or high.
    #[arg(long)]
    quality: Option<String>,
    /// Render in one pass without chunking (the baseline).
    #[arg(long)]
    single_pass: bool,
    /// JSON file mapping remote URLs to local files (default: HF_ASSET_MAP or .tools/asset-map.json).
    #[arg(long)]
    asset_map: Option<PathBuf>,
    /// Keep the plan and chunks next to the output (<out>.hf-work).
    #[arg(long)]
    keep_work: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match render(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("render failed [{}]: {e}", e.name());
            ExitCode::FAILURE
        }
    }
}

fn render(args: Args) -> Result<(), hyperframes_producer::ProducerError> {
    // Without --format the output name decides: .mp4/.mov/.webm, and a name
    // without an extension is a frame directory (png-sequence).
    let format = match &args.format {
        Some(f) => Format::parse(f)?,
        None => match args.out.extension().and_then(|e| e.to_str()) {
            None => Format::PngSequence,
            Some(ext) => Format::parse(&ext.to_ascii_lowercase())?,
        },
    };
    let mut config = RenderConfig::new(args.fps, 1920, 1080, format);
    config.chunk_size = args.chunk_size;
    config.max_parallel_chunks = args.max_parallel_chunks;
    config.codec = match args.codec.as_deref() {
        None => None,
        Some("h264") => Some(Codec::H264),
        Some("h265") => Some(Codec::H265),
        Some(other) => {
            return Err(hyperframes_producer::ProducerError::InvalidConfig {
                field: "config.codec".into(),
                message: format!("{other:?} is unknown; use h264 or h265"),
            })
        }
    };
    config.quality = match args.quality.as_deref() {
        None => None,
        Some("draft") => Some(Quality::Draft),
        Some("standard") => Some(Quality::Standard),
        Some("high") => Some(Quality::High),
        Some(other) => {
            return Err(hyperframes_producer::ProducerError::InvalidConfig {
                field: "config.quality".into(),
                message: format!("{other:?} is unknown; use draft, standard or high"),
            })
        }
    };
    let asset_map = match &args.asset_map {
        Some(p) => Some(AssetMap::load(p)?),
        None => None,
    };
    let summary = run(&RunOptions {
        project_dir: args.project,
        out: args.out,
        config,
        workers: args.workers,
        single_pass: args.single_pass,
        progress: !args.json,
        asset_map,
        keep_work: args.keep_work,
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "output": summary.output, "frames": summary.frames, "fileSize": summary.file_size,
                "chunks": summary.chunks, "workers": summary.workers, "planHash": summary.plan_hash,
                "wallSeconds": summary.wall.as_secs_f64(), "planSeconds": summary.plan_time.as_secs_f64(),
                "renderSeconds": summary.render_time.as_secs_f64(), "assembleSeconds": summary.assemble_time.as_secs_f64(),
            })
        );
    } else {
        println!("{}", summary.render());
    }
    Ok(())
}
