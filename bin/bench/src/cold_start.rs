//! `hyperframes bench cold-start`: from a chunk's start to its first frame
//! in the encoder, and what that time is spent on, for every chunk of a
//! 1080p30 render run as the function runs a chunk (`render_chunk` with the
//! handler's defaults: plan loaded and its hash checked, encoder started,
//! a fresh browser launched per capture page, the page made ready, then
//! frames), in this process. Each chunk pays its browser's and encoder's
//! start as a new Lambda instance would.
//!
//! What happens before `render_chunk` only in the function (the runtime's
//! init, the payload unpack of Chromium and ffmpeg, the plan's download)
//! is not here: `bench local` prints it per invocation from the REPORT
//! lines (init ms) and the function log (`payload-unpack`).
//!
//!   hyperframes bench cold-start [--chunks 4] [--frames-per-chunk 90]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use hyperframes_producer::{render_chunk_with, ChunkOptions, ChunkOutcome};

use crate::long_project::{self, Shape};

#[derive(Debug, Parser)]
#[command(about = "Cold start to first frame per chunk, stage by stage, measured in process")]
pub struct Args {
    /// Chunks to render.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    chunks: u32,
    /// Frames per chunk (chunks x frames must be whole seconds at 30 fps).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3600))]
    frames_per_chunk: u32,
    /// Frame size, WxH.
    #[arg(long, default_value = "1920x1080", value_parser = long_project::parse_size)]
    size: (u32, u32),
    /// The test fixtures directory (mp4-h264-sdr).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Work directory [default: target/cold-start-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench cold-start`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("cold-start", bench(args).map(|()| true))
}

fn bench(args: Args) -> Result<()> {
    let shape = Shape {
        chunks: args.chunks,
        frames_per_chunk: args.frames_per_chunk,
        size: args.size,
        audio: false,
    };
    let load_before = long_project::load();
    let (dir, plan) = long_project::plan_in(
        args.dir.clone(),
        "cold-start-bench",
        args.fixtures.clone(),
        shape,
    )?;
    let out = dir.join("chunks");
    let _ = std::fs::remove_dir_all(&out);
    let outcomes = (0..plan.chunk_count)
        .map(|i| render_chunk_with(&plan.plan_dir, i, &out, &ChunkOptions::default()))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "{} chunks x {} frames at {}x{} {} fps, one after the other; {} cores, load average before {load_before}, after {}.\n",
        shape.chunks,
        shape.frames_per_chunk,
        shape.size.0,
        shape.size.1,
        long_project::FPS,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        long_project::load()
    );
    print!("{}", table(&outcomes));
    Ok(())
}

/// Milliseconds as they are (the small stages take a few).
fn s(ms: u128) -> String {
    ms.to_string()
}

/// One row per chunk, then the medians. "other" is the first frame's time
/// not in the named stages: its seek and capture, and the chunk's setup
/// (work dir, session spec, threads).
fn table(outcomes: &[ChunkOutcome]) -> String {
    let mut t = String::from(
        "| chunk | plan load ms | plan hash check ms | encoder start ms | browser launch ms | page ready ms | other ms | first frame ms | chunk ms (frames) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); 8];
    for o in outcomes {
        let first = o.first_frame_ms.unwrap_or(0);
        let named = o.plan_load_ms
            + o.plan_hash_ms
            + o.encoder_start_ms
            + o.browser_launch_ms
            + o.page_ready_ms;
        let cells = [
            o.plan_load_ms,
            o.plan_hash_ms,
            o.encoder_start_ms,
            o.browser_launch_ms,
            o.page_ready_ms,
            first.saturating_sub(named),
            first,
            o.duration_ms,
        ];
        for (col, v) in columns.iter_mut().zip(cells) {
            col.push(v as f64);
        }
        let c: Vec<String> = cells.iter().map(|&v| s(v)).collect();
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |\n",
            o.index, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], o.frames
        ));
    }
    let med: Vec<String> = columns
        .into_iter()
        .map(|c| s(hyperframes_producer::bench::median(c).round() as u128))
        .collect();
    t.push_str(&format!(
        "| median | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        med[0], med[1], med[2], med[3], med[4], med[5], med[6], med[7]
    ));
    t.push_str("\nBrowser launch and page ready are the slowest capture page's (a 1080p chunk of 30 frames or more captures with two browsers started at once); first frame is from the chunk's start to its first frame in the encoder. Every chunk starts a fresh browser and encoder, but the plan was made in this process: ffmpeg's version is known (a new instance asks it once, one ffmpeg start, 60-250 ms) and the binaries are in the page cache. Not here, only in the function: the runtime's init, the payload unpack and the plan's download (`bench local`).\n");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(index: u32, first: Option<u128>) -> ChunkOutcome {
        ChunkOutcome {
            path: PathBuf::new(),
            output_kind: "file",
            index,
            start_frame: 0,
            frames: 90,
            sha256: String::new(),
            capture_mode: "screenshot",
            duration_ms: 9000,
            plan_hash_ms: 100,
            session_boot_ms: 1500,
            plan_load_ms: 20,
            encoder_start_ms: 30,
            browser_launch_ms: 500,
            page_ready_ms: 1000,
            first_frame_ms: first,
            capture_ms: 8000,
            reused_frames: 0,
        }
    }

    #[test]
    fn the_table_splits_the_first_frame_and_adds_medians() {
        let t = table(&[
            outcome(0, Some(1850)),
            outcome(1, Some(2050)),
            outcome(2, None),
        ]);
        assert!(
            t.contains("| 0 | 20 | 100 | 30 | 500 | 1000 | 200 | 1850 | 9000 (90) |"),
            "{t}"
        );
        // A chunk without a first-frame time shows 0 and no negative rest.
        assert!(
            t.contains("| 2 | 20 | 100 | 30 | 500 | 1000 | 0 | 0 |"),
            "{t}"
        );
        assert!(
            t.contains("| median | 20 | 100 | 30 | 500 | 1000 | 200 | 1850 | 9000 |"),
            "{t}"
        );
    }
}
