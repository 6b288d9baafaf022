//! `hyperframes bench assemble`: the producer's assemble as the function's
//! assemble stage runs it (every chunk's identity checked, the chunks
//! concatenated without re-encoding, the plan's audio mix fitted and muxed,
//! faststart), in this process, on the chunks of a long render: by default
//! 200 chunks of 90 frames of 1080p30 (10 minutes) with an audio track over
//! the whole length. Prints wall time, CPU (ffmpeg included) and the bytes
//! read and written per run, with and without the identity checks.
//!
//! The inputs are the ones a real render hands the assemble: the plan is
//! planned from a 10-minute project with its audio mixed by the planner,
//! chunk 0 is rendered for real with the plan's encoder settings, and the
//! other chunks are copies of it (`-c copy`) carrying their own chunk index,
//! which is what the assemble reads from a chunk besides its packets.
//! Network transfers (S3 download of the chunks, upload of the output) are
//! not included: they are the handler's, not the assemble's.
//!
//!   hyperframes bench assemble [--chunks 200] [--frames-per-chunk 90] [--runs 3]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use clap::Parser;
use hyperframes_producer::bench::cgroup::CpuMeter;
use hyperframes_producer::bench::Measured;
use hyperframes_producer::chunk::{chunk_file_name, render_chunk_with};
use hyperframes_producer::plan::PlanOutcome;
use hyperframes_producer::{ChunkOptions, Format};

use crate::io_counters::IoCounters;
use crate::long_project::{self, Shape};

#[derive(Debug, Parser)]
#[command(about = "The assemble of a long render's chunks with audio, measured in process")]
pub struct Args {
    /// Chunks to assemble.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=256))]
    chunks: u32,
    /// Frames per chunk (chunks x frames must be whole seconds at 30 fps).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3600))]
    frames_per_chunk: u32,
    /// Frame size, WxH.
    #[arg(long, default_value = "1920x1080", value_parser = long_project::parse_size)]
    size: (u32, u32),
    /// Assembles per variant (with and without the identity checks).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    runs: u32,
    /// The test fixtures directory (mp4-h264-sdr).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Work directory [default: target/assemble-bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `hyperframes bench assemble`.
pub fn run(args: Args) -> ExitCode {
    crate::exit("assemble", bench(args).map(|()| true))
}

/// One measured assemble.
struct Row {
    verified: bool,
    time: Measured,
    io: IoCounters,
    output_bytes: u64,
}

fn bench(args: Args) -> Result<()> {
    let shape = Shape {
        chunks: args.chunks,
        frames_per_chunk: args.frames_per_chunk,
        size: args.size,
        audio: true,
    };
    let load_before = long_project::load();
    eprintln!("bench assemble: planning {} frames", shape.total_frames());
    let (dir, plan) = long_project::plan_in(
        args.dir.clone(),
        "assemble-bench",
        args.fixtures.clone(),
        shape,
    )?;
    eprintln!("bench assemble: rendering chunk 0 and copying it");
    let chunks = chunk_files(&plan, &dir.join("chunks"))?;
    let meter = CpuMeter::start();
    let mut rows = Vec::new();
    for _ in 0..args.runs {
        for verified in [true, false] {
            rows.push(assemble_once(&plan, &chunks, &dir, &meter, verified)?);
        }
    }
    let inputs = input_bytes(&plan, &chunks)?;
    println!(
        "{} chunks x {} frames at {}x{} {} fps with audio ({} frames), inputs {:.1} MB (chunks and the plan's audio mix); {} cores, load average before {load_before}, after {}. {}.\n",
        shape.chunks,
        shape.frames_per_chunk,
        shape.size.0,
        shape.size.1,
        long_project::FPS,
        shape.total_frames(),
        inputs as f64 / 1e6,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        long_project::load(),
        meter.source().describe()
    );
    print!("{}", table(&rows));
    Ok(())
}

/// Chunk 0 rendered from the plan, then chunks 1.. as its copies with
/// their own index and start frame.
fn chunk_files(plan: &PlanOutcome, out: &Path) -> Result<Vec<PathBuf>> {
    let _ = std::fs::remove_dir_all(out);
    let first = render_chunk_with(&plan.plan_dir, 0, out, &ChunkOptions::default())?;
    let mut files = vec![first.path.clone()];
    for slice in plan.chunks.iter().skip(1) {
        let dest = out.join(chunk_file_name(slice.index, Format::Mp4));
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&first.path)
            .args(["-map", "0", "-c", "copy", "-map_metadata", "0"])
            .args([
                "-metadata",
                &format!("hyperframes_chunk_index={}", slice.index),
            ])
            .args([
                "-metadata",
                &format!("hyperframes_start_frame={}", slice.start_frame),
            ])
            .args(["-movflags", "+use_metadata_tags", "-f", "mp4", "-y"])
            .arg(&dest)
            .status()
            .context("running ffmpeg to copy chunk 0")?;
        if !status.success() {
            bail!("ffmpeg could not write {} ({status})", dest.display());
        }
        files.push(dest);
    }
    Ok(files)
}

/// One assemble into a fresh output, timed and counted.
fn assemble_once(
    plan: &PlanOutcome,
    chunks: &[PathBuf],
    dir: &Path,
    meter: &CpuMeter,
    verified: bool,
) -> Result<Row> {
    let out = dir.join("output.mp4");
    let _ = std::fs::remove_file(&out);
    let io0 = IoCounters::read()?;
    let (outcome, time) = Measured::time(meter, || {
        if verified {
            hyperframes_producer::assemble(&plan.plan_dir, chunks, &out)
        } else {
            hyperframes_producer::assemble::assemble_rendered_here(&plan.plan_dir, chunks, &out)
        }
    })?;
    let io = IoCounters::read()?.since(&io0);
    if !outcome.has_audio || outcome.frames_encoded != plan.total_frames {
        bail!(
            "the assemble wrote {} frames (audio: {}); the plan has {} with audio",
            outcome.frames_encoded,
            outcome.has_audio,
            plan.total_frames
        );
    }
    Ok(Row {
        verified,
        time,
        io,
        output_bytes: outcome.file_size,
    })
}

/// The bytes an assemble starts from: every chunk and the audio mix.
fn input_bytes(plan: &PlanOutcome, chunks: &[PathBuf]) -> Result<u64> {
    let mut total = std::fs::metadata(plan.plan_dir.join("audio.m4a"))?.len();
    for c in chunks {
        total += std::fs::metadata(c)?.len();
    }
    Ok(total)
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| assemble | wall s | CPU s | read MB | written MB | output MB |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |\n",
            if r.verified {
                "as the function runs it (identity check per chunk)"
            } else {
                "without the identity checks (the local render's)"
            },
            r.time.wall.as_secs_f64(),
            r.time.cpu.as_secs_f64(),
            r.io.read_bytes as f64 / 1e6,
            r.io.written_bytes as f64 / 1e6,
            r.output_bytes as f64 / 1e6
        ));
    }
    s.push_str("\nRead and written: bytes through read/write calls of this process and the ffmpeg processes it waited for (/proc/self/io rchar, wchar), page cache included.\n");
    s
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_table_has_a_row_per_run_in_megabytes_and_seconds() {
        let row = |verified| Row {
            verified,
            time: Measured {
                wall: Duration::from_millis(24_660),
                cpu: Duration::from_millis(27_010),
            },
            io: IoCounters {
                read_bytes: 191_100_000,
                written_bytes: 93_900_000,
            },
            output_bytes: 30_100_000,
        };
        let t = table(&[row(true), row(false)]);
        assert!(
            t.contains("| as the function runs it (identity check per chunk) | 24.66 | 27.01 | 191.1 | 93.9 | 30.1 |"),
            "{t}"
        );
        assert!(
            t.contains("| without the identity checks (the local render's) | 24.66 |"),
            "{t}"
        );
        assert_eq!(t.lines().filter(|l| l.starts_with("| ")).count(), 4, "{t}");
    }
}
