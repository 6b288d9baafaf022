//! `hyperframes bench synth`: how long synthesizing the stack takes.
//!
//!   cargo run --release --bin hyperframes -- bench synth [--iterations N]
//!
//! Prints the in-process time to build, validate and serialize the stack
//! (JSON and YAML), and the end-to-end wall time of the `synth` binary that
//! sits next to this one (process start to exit), as min / median / p95.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hyperframes_infra::{HyperframesRenderStack, RenderStackProps};

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    (ms(samples[0]), at(0.5), at(0.95))
}

fn time<F: FnMut()>(iterations: usize, mut f: F) -> Vec<Duration> {
    (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect()
}

/// `hyperframes bench synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Samples per measurement.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    iterations: u64,
}

/// `hyperframes bench synth`: prints the table.
pub fn run(args: Args) {
    let iterations = args.iterations as usize;
    let build = time(iterations, || {
        std::hint::black_box(HyperframesRenderStack::new(RenderStackProps::default()));
    });
    let json = time(iterations, || {
        let s = HyperframesRenderStack::new(RenderStackProps::default());
        std::hint::black_box(s.synth().expect("default stack validates").to_json_pretty());
    });
    let yaml = time(iterations, || {
        let s = HyperframesRenderStack::new(RenderStackProps::default());
        std::hint::black_box(s.synth().expect("default stack validates").to_yaml());
    });

    println!(
        "synth-bench ({iterations} iterations{})",
        if cfg!(debug_assertions) {
            ", DEBUG build: use --release"
        } else {
            ""
        }
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9}",
        "measurement", "min ms", "median", "p95"
    );
    let row = |name: &str, s: (f64, f64, f64)| {
        println!("{name:<44} {:>9.3} {:>9.3} {:>9.3}", s.0, s.1, s.2)
    };
    row("build stack (in process)", stats(build));
    row("build + validate + JSON (in process)", stats(json));
    row("build + validate + YAML (in process)", stats(yaml));

    let synth: PathBuf = std::env::current_exe()
        .expect("own path")
        .with_file_name(format!("synth{}", std::env::consts::EXE_SUFFIX));
    if synth.exists() {
        let runs = iterations.min(100);
        let e2e = time(runs, || {
            let status = Command::new(&synth)
                .stdout(Stdio::null())
                .status()
                .expect("run synth");
            assert!(status.success());
        });
        row(
            &format!("`synth` end to end ({runs} runs, process)"),
            stats(e2e),
        );
    } else {
        println!(
            "`synth` end to end: {} not built (cargo build --release --bin synth)",
            synth.display()
        );
    }
}
