//! `render-bench`: frames per second per worker of the producer, capture alone
//! and capture + encode, chunked and single pass (logic in producer::bench).
//!
//! cargo run --release --bin render-bench -- [--seconds 10 --chunk-size 60 --resolutions 640x360,1920x1080]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use hyperframes_producer::bench::{run, table, BenchOptions};
use hyperframes_producer::AssetMap;

#[derive(Parser, Debug)]
#[command(
    name = "render-bench",
    about = "Producer throughput: capture and capture+encode fps per worker"
)]
struct Args {
    /// The mp4-h264-sdr fixture directory.
    #[arg(long, default_value = "../shared/fixtures/mp4-h264-sdr")]
    fixture: PathBuf,
    /// Composition length in seconds (at 30 fps).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Frames per chunk for the chunked rows.
    #[arg(long, default_value_t = 60)]
    chunk_size: u32,
    /// Comma-separated WxH list.
    #[arg(long, default_value = "640x360,1920x1080")]
    resolutions: String,
    /// URL -> local file map (default: HF_ASSET_MAP or .tools/asset-map.json).
    #[arg(long)]
    asset_map: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut resolutions = Vec::new();
    for r in args.resolutions.split(',') {
        let parsed = r
            .split_once('x')
            .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
        match parsed {
            Some(wh) => resolutions.push(wh),
            None => {
                eprintln!("render-bench: --resolutions entry {r:?} is not WxH (e.g. 1920x1080)");
                return ExitCode::FAILURE;
            }
        }
    }
    let work = std::env::temp_dir().join(format!("hf-render-bench-{}", std::process::id()));
    let asset_map = match args.asset_map.as_deref().map(AssetMap::load).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("render-bench [{}]: {e}", e.name());
            return ExitCode::FAILURE;
        }
    };
    let result = run(&BenchOptions {
        fixture: args.fixture,
        work: work.clone(),
        seconds: args.seconds,
        chunk_size: args.chunk_size,
        resolutions,
        asset_map,
    });
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(rows) => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            match hyperframes_producer::bench::load_average() {
                Some(l) => println!("{cores} cores, load average {l:.2} at the end (other work on the machine slows every row)\n"),
                None => println!("{cores} cores\n"),
            }
            println!("{}", table(&rows));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render-bench failed [{}]: {e}", e.name());
            ExitCode::FAILURE
        }
    }
}
