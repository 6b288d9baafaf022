//! `render-bench`: frames per second per worker of the producer, capture alone
//! and capture + encode per x264 preset, chunked and single pass (logic in
//! producer::bench); with `--peer`, end-to-end renders of the peer bench's
//! native 1080p project by HyperFrames' own CLI and by our `render`, timed
//! in the same run, with the ratio.
//!
//! cargo run --release --bin render-bench -- [--seconds 10 --chunk-size 60 --resolutions 640x360,1920x1080 --presets medium,veryfast]
//! cargo run --release --bin render-bench -- --peer [--peer-runs 3]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Parser;
use hyperframes_producer::bench::{local_render, median, run, table, BenchOptions};
use hyperframes_producer::{AssetMap, Preset};

#[derive(Parser, Debug)]
#[command(
    name = "render-bench",
    about = "Producer throughput: capture and capture+encode fps per worker, and end to end against HyperFrames' CLI"
)]
struct Args {
    /// The mp4-h264-sdr fixture directory.
    #[arg(long, default_value = "producer/tests/fixtures/mp4-h264-sdr")]
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
    /// Comma-separated x264 presets: one capture+encode row each.
    #[arg(long, default_value = "medium,veryfast")]
    presets: String,
    /// URL -> local file map (default: HF_ASSET_MAP or .tools/asset-map.json).
    #[arg(long)]
    asset_map: Option<PathBuf>,
    /// Instead of the table: time HyperFrames' CLI (the reference bench script,
    /// see --peer-script; native1080 rows) and our local render on the same
    /// project, interleaved.
    #[arg(long)]
    peer: bool,
    /// Runs of each renderer for --peer (medians are reported).
    #[arg(long, default_value_t = 3)]
    peer_runs: usize,
    /// The peer bench script (`hf_ref_bench.sh`), needed by --peer.
    #[arg(long, requires = "peer")]
    peer_script: Option<PathBuf>,
}

fn parse_presets(list: &str) -> Result<Vec<Preset>, String> {
    list.split(',')
        .map(|p| Preset::parse(p.trim()).map_err(|e| format!("--presets: {e}")))
        .collect()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let asset_map = match args.asset_map.as_deref().map(AssetMap::load).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("render-bench [{}]: {e}", e.name());
            return ExitCode::FAILURE;
        }
    };
    let presets = match parse_presets(&args.presets) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("render-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.peer {
        return peer(&args, &presets, asset_map);
    }
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
    let result = run(&BenchOptions {
        fixture: args.fixture,
        work: work.clone(),
        seconds: args.seconds,
        chunk_size: args.chunk_size,
        resolutions,
        presets,
        asset_map,
    });
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(rows) => {
            print_machine();
            println!("{}", table(&rows));
            println!("A worker is one render_chunk call (its browsers and its ffmpeg) with the whole machine to itself.");
            println!("CPU ms/frame is machine-wide busy time (/proc/stat) per frame: what a frame costs on any core count.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("render-bench failed [{}]: {e}", e.name());
            ExitCode::FAILURE
        }
    }
}

fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match hyperframes_producer::bench::load_average() {
        Some(l) => println!(
            "{cores} cores, load average {l:.2} at the end (other work on the machine slows every row)\n"
        ),
        None => println!("{cores} cores\n"),
    }
}

/// One peer result line: `native1080-300f-w1  frames=300 (want 300) wall=19.76s fps=15.2`.
fn parse_peer_line(line: &str) -> Option<(String, u64, f64)> {
    let mut it = line.split_whitespace();
    let label = it.next()?.to_string();
    let mut frames = None;
    let mut wall = None;
    for tok in it {
        if let Some(v) = tok.strip_prefix("frames=") {
            frames = v.parse().ok();
        } else if let Some(v) = tok.strip_prefix("wall=") {
            wall = v.trim_end_matches('s').parse().ok();
        }
    }
    Some((label, frames?, wall?))
}

fn peer_work_dir() -> PathBuf {
    std::env::var("HF_REF_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/hf-ref-bench")
        })
}

fn peer(args: &Args, presets: &[Preset], asset_map: Option<AssetMap>) -> ExitCode {
    let Some(script) = args.peer_script.as_deref().filter(|s| s.is_file()) else {
        eprintln!(
            "render-bench: --peer needs --peer-script PATH, an existing copy of the bench \
             script that times HyperFrames' own CLI (hf_ref_bench.sh){}",
            args.peer_script
                .as_ref()
                .map(|p| format!("; {} does not exist", p.display()))
                .unwrap_or_default()
        );
        return ExitCode::FAILURE;
    };
    // Installs the peer CLI on first use and writes the projects.
    let prep = Command::new("bash")
        .arg(script)
        .env("PREPARE_ONLY", "1")
        .status();
    if !matches!(prep, Ok(s) if s.success()) {
        eprintln!("render-bench: {} PREPARE_ONLY=1 failed; it needs npm (registry access) and Debian's chromium-headless-shell", script.display());
        return ExitCode::FAILURE;
    }
    let project = peer_work_dir().join("native1080");
    let out_dir = std::env::temp_dir().join(format!("hf-peer-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&out_dir);
    // label -> wall times; ours are keyed by preset.
    let mut peer_walls: Vec<(String, Vec<f64>)> = Vec::new();
    let mut ours: Vec<(Preset, Vec<f64>)> = presets.iter().map(|p| (*p, Vec::new())).collect();
    let mut frames = 0u64;
    for run in 0..args.peer_runs.max(1) {
        eprintln!("render-bench: run {} of {}", run + 1, args.peer_runs.max(1));
        let out = Command::new("bash")
            .arg(script)
            .arg("1")
            .env("ONLY", "native1080")
            .output();
        let out = match out {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                eprintln!(
                    "render-bench: the peer bench failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("render-bench: cannot run bash: {e}");
                return ExitCode::FAILURE;
            }
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.contains("FAILED") {
                eprintln!("render-bench: peer run failed: {line}");
                return ExitCode::FAILURE;
            }
            if let Some((label, n, wall)) = parse_peer_line(line) {
                frames = n;
                match peer_walls.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, v)) => v.push(wall),
                    None => peer_walls.push((label, vec![wall])),
                }
            }
        }
        for (preset, walls) in ours.iter_mut() {
            let started = Instant::now();
            match local_render(
                &project,
                &out_dir.join("ours.mp4"),
                Some(*preset),
                asset_map.clone(),
            ) {
                Ok(s) => {
                    walls.push(started.elapsed().as_secs_f64());
                    frames = frames.max(s.frames);
                }
                Err(e) => {
                    eprintln!("render-bench: our render failed [{}]: {e}", e.name());
                    let _ = std::fs::remove_dir_all(&out_dir);
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    if peer_walls.is_empty() {
        eprintln!("render-bench: the peer bench printed no result lines");
        return ExitCode::FAILURE;
    }
    print_machine();
    let best_peer = peer_walls
        .iter()
        .map(|(_, v)| median(v.clone()))
        .fold(f64::INFINITY, f64::min);
    println!(
        "{} at 1920x1080, {frames} frames, medians of {} runs, interleaved\n",
        Path::new(&project).display(),
        args.peer_runs.max(1)
    );
    println!("| renderer | settings | wall s | frames/s end to end | speed vs the faster peer row |\n| --- | --- | --- | --- | --- |");
    for (label, v) in &peer_walls {
        let m = median(v.clone());
        println!(
            "| hyperframes 0.8.170 | {label} | {m:.2} | {:.1} | {:.2}x |",
            frames as f64 / m,
            best_peer / m
        );
    }
    for (preset, v) in &ours {
        let m = median(v.clone());
        println!(
            "| ours (render) | default workers, preset {} | {m:.2} | {:.1} | {:.2}x |",
            preset.as_str(),
            frames as f64 / m,
            best_peer / m
        );
    }
    println!(
        "\nPeer times include its Node start; ours are plan + chunks + assemble in this process."
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_lines_parse_and_others_do_not() {
        let (l, n, w) = parse_peer_line(
            "native1080-300f-w1           frames=300 (want 300) wall=19.76s fps=15.2",
        )
        .unwrap();
        assert_eq!((l.as_str(), n, w), ("native1080-300f-w1", 300, 19.76));
        assert!(parse_peer_line("projects in /x: short long native1080").is_none());
        assert!(parse_presets("medium, veryfast").unwrap().len() == 2);
        assert!(parse_presets("medium,turbo").unwrap_err().contains("turbo"));
    }
}
