//! `hyperframes bench render`: the producer's speed, in tables (logic in producer::bench).
//!
//! hyperframes bench render --all
//!   runs every table below, in this order, and prints markdown:
//! --throughput    capture and capture+encode fps and CPU per frame, per x264
//!                 preset, chunked and single pass (the default table)
//! --alternatives  capture paths against today's, at 1080p
//! --hold          frame reuse on the hold fixture, on and off
//! --peer          HyperFrames' CLI against our render on its native 1080p
//!                 project: time, CPU, size, PSNR/SSIM (medians of interleaved runs);
//!                 needs --peer-script (the peer bench's hf_ref_bench.sh)
//!
//! hyperframes bench render --calibrate [--out FILE --reps 3]
//!   instead of the tables, measures the cost estimate's time model and
//!   writes a calibration file.
//!
//! CPU figures come from a cgroup v1 cpuacct group holding this process and
//! everything it starts (run as root); elsewhere they fall back to the
//! machine-wide /proc/stat figure, and the output says which.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::peer;
use clap::Parser;
use hyperframes_producer::bench::cgroup::CpuMeter;
use hyperframes_producer::bench::{alternatives, hold, load_average, throughput};
use hyperframes_producer::{AssetMap, Preset, ProducerError};

#[derive(Parser, Debug)]
#[command(
    about = "Producer speed: throughput, capture alternatives, frame reuse, and end to end against HyperFrames' CLI"
)]
pub struct Args {
    /// Every table: throughput, alternatives, hold, peer.
    #[arg(long)]
    all: bool,
    /// Capture and capture+encode per preset (the default when no table is named).
    #[arg(long)]
    throughput: bool,
    /// Capture paths measured against today's.
    #[arg(long)]
    alternatives: bool,
    /// Frame reuse on and off on the hold fixture.
    #[arg(long)]
    hold: bool,
    /// Against HyperFrames' CLI on its native 1080p project.
    #[arg(long)]
    peer: bool,
    /// Instead of the tables: measure the cost estimate's time model (chunks
    /// of two lengths at 640x360 and 1920x1080, on one core and on all,
    /// assembles of 2 and 6 chunks) and write a calibration file.
    #[arg(long)]
    calibrate: bool,
    /// With --calibrate: where to write it (`render --estimate --calibration FILE`
    /// or HF_CALIBRATION reads it).
    #[arg(long, default_value = ".hyperframes/calibration.json")]
    out: PathBuf,
    /// With --calibrate: repetitions of each measurement (medians are fitted).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// The test fixtures directory (mp4-h264-sdr, hold-title).
    #[arg(long, default_value = "producer/tests/fixtures")]
    fixtures: PathBuf,
    /// Composition length in seconds (throughput and alternatives, at 30 fps).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Frames per chunk for the chunked rows.
    #[arg(long, default_value_t = 60)]
    chunk_size: u32,
    /// Comma-separated WxH list (throughput; with --calibrate, the two sizes fitted).
    #[arg(long, default_value = "640x360,1920x1080")]
    resolutions: String,
    /// Comma-separated x264 presets: one capture+encode row each (throughput).
    #[arg(long, default_value = "medium,veryfast")]
    presets: String,
    /// Our settings in the peer table: `default` and/or x264 presets.
    #[arg(long, default_value = "default")]
    peer_presets: String,
    /// Runs of each renderer in the peer and hold tables (medians are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also time the peer with --workers 1.
    #[arg(long)]
    peer_w1: bool,
    /// The peer bench script (`hf_ref_bench.sh`, which times HyperFrames' own
    /// CLI), needed by --peer and --all.
    #[arg(long)]
    peer_script: Option<PathBuf>,
    /// URL -> local file map (default: HF_ASSET_MAP or .tools/asset-map.json).
    #[arg(long)]
    asset_map: Option<PathBuf>,
}

fn parse_presets(list: &str, allow_default: bool) -> Result<Vec<Option<Preset>>, String> {
    list.split(',')
        .map(str::trim)
        .map(|p| match p {
            "default" if allow_default => Ok(None),
            p => Preset::parse(p)
                .map(Some)
                .map_err(|e| format!("presets: {e}")),
        })
        .collect()
}

fn parse_sizes(list: &str) -> Result<Vec<(u32, u32)>, String> {
    list.split(',')
        .map(|r| {
            r.split_once('x')
                .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)))
                .ok_or_else(|| format!("--resolutions entry {r:?} is not WxH (e.g. 1920x1080)"))
        })
        .collect()
}

/// The two sizes a calibration fits its per-megapixel line through,
/// smaller first.
fn calibration_sizes(list: &str) -> Result<[(u32, u32); 2], String> {
    match parse_sizes(list)?.as_slice() {
        &[a, b] if a.0 * a.1 < b.0 * b.1 => Ok([a, b]),
        &[a, b] if a.0 * a.1 > b.0 * b.1 => Ok([b, a]),
        sizes => Err(format!(
            "--calibrate fits a line through two frame sizes of different areas; --resolutions {list:?} gives {}: pass two, e.g. --resolutions 640x360,1920x1080",
            sizes.len()
        )),
    }
}

fn heading(title: &str, meter: &CpuMeter) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("\n## {title}\n");
    println!(
        "{cores} cores, load average {} at the start. {}.\n",
        load_average().map_or("?".into(), |l| format!("{l:.2}")),
        meter.source().describe()
    );
}

fn footer() {
    println!(
        "\nLoad average {} at the end.",
        load_average().map_or("?".into(), |l| format!("{l:.2}"))
    );
}

/// `hyperframes bench render`.
pub fn run(args: Args) -> ExitCode {
    if args.calibrate {
        return calibrate(&args);
    }
    let work = std::env::temp_dir().join(format!("hf-render-bench-{}", std::process::id()));
    let meter = CpuMeter::start();
    let r = run_tables(&args, &work, &meter);
    let _ = std::fs::remove_dir_all(&work);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench render: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_tables(args: &Args, work: &std::path::Path, meter: &CpuMeter) -> Result<(), String> {
    let named = args.throughput || args.alternatives || args.hold || args.peer;
    let script = (args.all || args.peer)
        .then(|| peer_script(args))
        .transpose()?;
    let asset_map = args
        .asset_map
        .as_deref()
        .map(AssetMap::load)
        .transpose()
        .map_err(|e| err(&e))?;
    if args.all || args.throughput || !named {
        tables_throughput(args, work, meter, asset_map.clone())?;
    }
    if args.all || args.alternatives {
        tables_alternatives(args, work, meter, asset_map.clone())?;
    }
    if args.all || args.hold {
        heading(
            "Frame reuse on the hold fixture (1920x1080, capture + encode, one worker)",
            meter,
        );
        let rows = hold::run(
            &args.fixtures.join("hold-title"),
            work,
            (1920, 1080),
            args.chunk_size,
            args.runs,
            asset_map.clone(),
            meter,
        )
        .map_err(|e| err(&e))?;
        println!("{}", hold::table(&rows));
        footer();
    }
    if let Some(script) = script {
        tables_peer(args, &script, work, meter, asset_map)?;
    }
    Ok(())
}

fn calibrate(args: &Args) -> ExitCode {
    use hyperframes_render::estimate::measure::{calibrate, MeasureOptions};
    let asset_map = match args.asset_map.as_deref().map(AssetMap::load).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("bench render: {}", err(&e));
            return ExitCode::FAILURE;
        }
    };
    let resolutions = match calibration_sizes(&args.resolutions) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench render: {e}");
            return ExitCode::FAILURE;
        }
    };
    let work = std::env::temp_dir().join(format!("hf-calibrate-{}", std::process::id()));
    let result = calibrate(&MeasureOptions {
        fixture: args.fixtures.join("mp4-h264-sdr"),
        work: work.clone(),
        resolutions,
        frames: [15, 75],
        reps: args.reps,
        asset_map,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        notes: "mp4-h264-sdr fixture scaled with CSS zoom and stretched so every frame differs; the producer's default settings for mp4 (see the profile), capture pages as a chunk chooses them".into(),
    });
    let _ = std::fs::remove_dir_all(&work);
    match result.and_then(|c| c.save(&args.out).map(|()| c)) {
        Ok(c) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&c).expect("calibration serializes")
            );
            eprintln!("bench render: wrote {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench render: calibration failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn err(e: &ProducerError) -> String {
    format!("[{}] {e}", e.name())
}

fn tables_throughput(
    args: &Args,
    work: &std::path::Path,
    meter: &CpuMeter,
    asset_map: Option<AssetMap>,
) -> Result<(), String> {
    let presets = parse_presets(&args.presets, false)?
        .into_iter()
        .flatten()
        .collect();
    heading(
        "Throughput (one worker, mp4-h264-sdr scaled, every frame different)",
        meter,
    );
    let rows = throughput::run(
        &throughput::BenchOptions {
            fixture: args.fixtures.join("mp4-h264-sdr"),
            work: work.to_path_buf(),
            seconds: args.seconds,
            chunk_size: args.chunk_size,
            resolutions: parse_sizes(&args.resolutions)?,
            presets,
            asset_map,
        },
        meter,
    )
    .map_err(|e| err(&e))?;
    println!("{}", throughput::table(&rows));
    println!("A worker is one render_chunk call (its browsers and its ffmpeg) with the whole machine to itself.");
    footer();
    Ok(())
}

fn tables_alternatives(
    args: &Args,
    work: &std::path::Path,
    meter: &CpuMeter,
    asset_map: Option<AssetMap>,
) -> Result<(), String> {
    heading(
        "Capture alternatives (1920x1080, single pass, one worker, default encoder)",
        meter,
    );
    let project = hyperframes_producer::bench::prepare_project(
        &args.fixtures.join("mp4-h264-sdr"),
        &work.join("alt-project"),
        1920,
        1080,
        args.seconds,
    )
    .map_err(|e| err(&e))?;
    let lossless =
        alternatives::lossless_frames(&project, work, asset_map.clone()).map_err(|e| err(&e))?;
    let rows = alternatives::run(
        &project,
        work,
        &lossless,
        &alternatives::variants(),
        asset_map,
        meter,
    )
    .map_err(|e| err(&e))?;
    println!("{}", alternatives::table(&rows));
    println!("Frame reuse is off in this table. PSNR/SSIM: the encoded chunk against our png-sequence render, in YUV 4:2:0.");
    footer();
    Ok(())
}

/// Checked before any table runs, so `--all` fails at once rather than at the end.
fn peer_script(args: &Args) -> Result<PathBuf, String> {
    match args.peer_script.as_deref() {
        Some(s) if s.is_file() => Ok(s.to_path_buf()),
        Some(s) => Err(format!("--peer-script {} does not exist", s.display())),
        None => Err(
            "--peer and --all need --peer-script PATH, an existing copy of the bench \
             script that times HyperFrames' own CLI (hf_ref_bench.sh)"
                .into(),
        ),
    }
}

fn tables_peer(
    args: &Args,
    script: &std::path::Path,
    work: &std::path::Path,
    meter: &CpuMeter,
    asset_map: Option<AssetMap>,
) -> Result<(), String> {
    let opts = peer::PeerOptions {
        script: script.to_path_buf(),
        peer_work: std::env::var("HF_REF_WORK")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                    .join(".cache/hf-ref-bench")
            }),
        work: work.join("peer"),
        runs: args.runs,
        presets: parse_presets(&args.peer_presets, true)?,
        peer_workers: if args.peer_w1 {
            vec![None, Some(1)]
        } else {
            vec![None]
        },
        asset_map,
    };
    let project = peer::prepare(&opts).map_err(|e| err(&e))?;
    heading(
        &format!(
            "Against HyperFrames' CLI ({}, 1920x1080, 300 frames; medians of {} interleaved runs)",
            project.display(),
            args.runs.max(1)
        ),
        meter,
    );
    let list = peer::run(&opts, &project, meter).map_err(|e| err(&e))?;
    println!("{}", peer::table(&list));
    println!("{}", peer::verdict(&list));
    println!("Times are whole renders: the peer's include its Node start; ours are plan + chunks + assemble in this process. CPU is each whole render's. PSNR/SSIM: each output against our png-sequence render of the project, in YUV 4:2:0.");
    footer();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_bad_entries_are_named() {
        assert_eq!(
            parse_presets("default, veryfast", true).unwrap(),
            vec![None, Some(Preset::Veryfast)]
        );
        assert!(parse_presets("default", false)
            .unwrap_err()
            .contains("default"));
        assert!(parse_presets("medium,turbo", true)
            .unwrap_err()
            .contains("turbo"));
        assert_eq!(
            parse_sizes("640x360, 1920x1080").unwrap(),
            vec![(640, 360), (1920, 1080)]
        );
        assert!(parse_sizes("1080p").unwrap_err().contains("1080p"));
    }

    #[test]
    fn calibrate_fits_the_two_sizes_given_smaller_first() {
        assert_eq!(
            calibration_sizes("3840x2160,320x180").unwrap(),
            [(320, 180), (3840, 2160)]
        );
        for bad in ["640x360", "640x360,1280x720,1920x1080", "640x360,360x640"] {
            assert!(
                calibration_sizes(bad).unwrap_err().contains("pass two"),
                "{bad}"
            );
        }
    }
}
