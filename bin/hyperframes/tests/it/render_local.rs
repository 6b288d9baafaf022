//! The command users run first: `render PROJECT --out FILE` on this machine,
//! with real Chromium and ffmpeg, as a newcomer would type it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use hyperframes_producer::encode::probe::probe_video;

const INSTALL_HINT: &str = "run scripts/test.sh --install-only (installs chromium-headless-shell, ffmpeg and the npm gsap/@fontsource packages)";

/// One render at a time: the machine has few cores and each render already uses them all.
static RENDERS: Mutex<()> = Mutex::new(());

/// Checks the tools and takes the render lock.
fn setup() -> MutexGuard<'static, ()> {
    // The producer's settings from this run's environment, as a program's
    // edge installs them (the library reads no variable itself).
    hyperframes_testkit::install_producer_settings();
    if let Err(e) = hyperframes_producer::capture::browser::chrome_path() {
        panic!("{e}; {INSTALL_HINT}");
    }
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "{tool} is not installed; {INSTALL_HINT}");
    }
    RENDERS.lock().unwrap_or_else(|e| e.into_inner())
}

fn repo_root() -> PathBuf {
    hyperframes_testkit::workspace_root()
}

fn asset_map() -> PathBuf {
    let tools = std::env::var("HF_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join(".tools"));
    let map = tools.join("asset-map.json");
    assert!(
        map.is_file(),
        "{} is missing; {INSTALL_HINT}",
        map.display()
    );
    map
}

fn fixture() -> PathBuf {
    repo_root().join("producer/tests/fixtures/mp4-h264-sdr")
}

/// `render PROJECT --out OUT EXTRA.. --asset-map MAP`, run through `cmd`
/// (the render binary itself, or a wrapper such as taskset).
fn render_via(mut cmd: Command, project: &Path, out: &Path, extra: &[&str]) -> Output {
    cmd.arg(project)
        .arg("--out")
        .arg(out)
        .args(extra)
        .arg("--asset-map")
        .arg(asset_map())
        .output()
        .expect("run render")
}

fn render(project: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperframes"));
    cmd.arg("render");
    render_via(cmd, project, out, extra)
}

/// A successful `render .. --json` and its summary.
fn render_json(project: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let extra: Vec<&str> = extra.iter().copied().chain(["--json"]).collect();
    json_summary(&render(project, out, &extra))
}

fn json_summary(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "render --json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Frame count and duration of the first video stream, as the producer probes them.
fn probe(path: &Path) -> (u64, f64) {
    let p = probe_video(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (p.frames, p.duration)
}

fn assert_video(path: &Path, frames: u64, seconds: f64) {
    let (n, duration) = probe(path);
    assert_eq!(n, frames, "{} frame count", path.display());
    assert!(
        (duration - seconds).abs() < 0.002,
        "{} duration {duration}",
        path.display()
    );
}

#[test]
fn chunked_render_writes_the_whole_video() {
    let _g = setup();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.mp4");
    let s = render_json(&fixture(), &out, &["--chunk-size", "15"]);
    assert_eq!(s["chunks"], 4, "{s}");
    assert_eq!(s["frames"], 60, "{s}");
    assert_video(&out, 60, 2.0);
    // veryfast at CRF 19 is the default (x264 writes its options into the stream).
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        contains(&bytes, b"subme=2") && contains(&bytes, b"crf=19.0"),
        "default preset is not veryfast at CRF 19"
    );
}

#[test]
fn webm_and_png_sequence_renders_from_the_command_line() {
    let _g = setup();
    let dir = tempfile::tempdir().unwrap();
    let webm = dir.path().join("o.webm");
    let s = render_json(&fixture(), &webm, &["--chunk-size", "15"]);
    assert_eq!(s["chunks"], 4, "{s}");
    assert_video(&webm, 60, 2.0);

    // No extension: a frame directory, numbered from 1 across chunks.
    let frames_dir = dir.path().join("frames");
    let s = render_json(&fixture(), &frames_dir, &["--chunk-size", "15"]);
    assert_eq!(s["frames"], 60, "{s}");
    let mut pngs: Vec<String> = std::fs::read_dir(&frames_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    pngs.sort();
    assert_eq!(pngs.len(), 60);
    assert_eq!(pngs.first().map(String::as_str), Some("frame_000001.png"));
    assert_eq!(pngs.last().map(String::as_str), Some("frame_000060.png"));
}

#[test]
fn without_chunk_flags_a_local_render_plans_one_chunk_per_worker() {
    let _g = setup();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.mp4");
    // Three workers: neither the core count here nor the Lambda default of 16 chunks.
    let s = render_json(&fixture(), &out, &["--workers", "3"]);
    assert_eq!(
        (s["chunks"].as_u64(), s["workers"].as_u64()),
        (Some(3), Some(3)),
        "{s}"
    );
    assert_eq!(probe(&out).0, 60);
}

#[test]
fn the_preset_reaches_the_encoder_and_bad_presets_are_refused() {
    let _g = setup();
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let out = dir.path().join("fast.mp4");
    let s = render_json(&fixture, &out, &["--preset", "veryfast"]);
    assert_eq!(s["frames"], 60);
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        contains(&bytes, b"subme=2") && contains(&bytes, b"rc_lookahead=10"),
        "the stream was not encoded with x264's veryfast settings"
    );

    // An unknown name is a usage error (exit 2, like every bad flag value)
    // that names the flag and lists the valid presets.
    let before = std::fs::read(&out).unwrap();
    let bad = render(&fixture, &out, &["--preset", "turbo"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--preset") && err.contains("turbo") && err.contains("veryfast"),
        "unhelpful error: {err}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "a refused render wrote"
    );

    let webm = dir.path().join("o.webm");
    let bad = render(&fixture, &webm, &["--preset", "veryfast"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("config.preset") && err.contains("only applies to format mp4"),
        "unhelpful error: {err}"
    );
    assert!(!webm.exists(), "a refused render wrote {}", webm.display());
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_long_local_render_keeps_keyframe_gaps_under_ten_seconds_in_whole_chunks_per_worker() {
    let _g = setup();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("long");
    std::fs::create_dir_all(&project).unwrap();
    // 21 s of a still page: two workers alone would make 10.5 s chunks;
    // three would do, and four keep both workers busy to the end.
    std::fs::write(
        project.join("index.html"),
        r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#123}</style></head>
<body><div id="root" data-composition-id="long" data-width="64" data-height="64" data-duration="21" data-no-timeline>
<div style="width:16px;height:16px;background:#f80"></div></div></body></html>"#,
    )
    .unwrap();
    let out = dir.path().join("long.mp4");
    let s = render_json(&project, &out, &["--workers", "2"]);
    assert_eq!(
        (s["chunks"].as_u64(), s["frames"].as_u64()),
        (Some(4), Some(630)),
        "{s}"
    );
    assert_video(&out, 630, 21.0);
}

#[test]
fn the_same_plan_gives_the_same_bytes_on_one_core_and_on_all_of_them() {
    let _g = setup();
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.mp4");
    let one = dir.path().join("one.mp4");
    let args = ["--chunk-size", "30", "--workers", "1", "--json"];
    json_summary(&render(&fixture(), &all, &args));
    assert!(
        Command::new("taskset")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "taskset is missing; install Debian's util-linux"
    );
    // taskset: the encoder (and the browser) see a single CPU, as on a
    // small worker; left alone x264 would pick its thread count from that.
    let mut taskset = Command::new("taskset");
    taskset.args(["-c", "0", env!("CARGO_BIN_EXE_hyperframes"), "render"]);
    json_summary(&render_via(taskset, &fixture(), &one, &args));
    let (x, y) = (std::fs::read(&all).unwrap(), std::fs::read(&one).unwrap());
    assert!(
        x == y,
        "the render on one core differs from the render on all cores ({} vs {} bytes)",
        x.len(),
        y.len()
    );
}
