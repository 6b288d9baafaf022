//! `synth-bench`: how long synthesizing the stack takes.
//!
//!   cargo run --release --bin synth-bench [-- --iterations N]
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

fn main() {
    let mut iterations = 200usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iterations" => {
                iterations = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| {
                        eprintln!("synth-bench: --iterations needs a positive number");
                        std::process::exit(2)
                    })
            }
            other => {
                eprintln!("synth-bench: unknown argument `{other}` (use --iterations N)");
                std::process::exit(2)
            }
        }
    }
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
