//! The command users run first: `render PROJECT --out FILE` on this machine,
//! with real Chromium and ffmpeg, as a newcomer would type it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

const INSTALL_HINT: &str = "run scripts/test.sh --install-only (installs chromium-headless-shell, ffmpeg and the npm gsap/@fontsource packages)";

/// One render at a time: the machine has few cores and each render already uses them all.
static RENDERS: Mutex<()> = Mutex::new(());

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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

fn require_tools() {
    let chrome = std::env::var("HF_CHROME_PATH")
        .unwrap_or_else(|_| "/usr/lib/chromium/chromium-headless-shell".into());
    assert!(
        Path::new(&chrome).is_file(),
        "{chrome} is missing; {INSTALL_HINT}"
    );
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "{tool} is not installed; {INSTALL_HINT}");
    }
}

fn render(args: &[&str]) -> Output {
    render_with(Command::new(env!("CARGO_BIN_EXE_render")), args)
}

fn render_with(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args)
        .arg("--asset-map")
        .arg(asset_map())
        .output()
        .expect("run render")
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

/// Frame count (packets) and duration of the first video stream.
fn probe(path: &Path) -> (u64, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_packets:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let frames = v["streams"][0]["nb_read_packets"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("packet count");
    let duration = v["format"]["duration"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("duration");
    (frames, duration)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn chunked_render_writes_the_whole_video() {
    require_tools();
    let _g = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.mp4");
    let fixture = fixture();
    let s = json_summary(&render(&[
        path_str(&fixture),
        "--out",
        path_str(&out),
        "--chunk-size",
        "15",
        "--json",
    ]));
    assert_eq!(s["chunks"], 4, "{s}");
    assert_eq!(s["frames"], 60, "{s}");
    let (frames, duration) = probe(&out);
    assert_eq!(frames, 60);
    assert!((duration - 2.0).abs() < 0.002, "duration {duration}");
    // medium is the default preset (x264 writes its options into the stream).
    let bytes = std::fs::read(&out).unwrap();
    assert!(contains(&bytes, b"subme=7"), "default preset is not medium");
}

#[test]
fn webm_and_png_sequence_renders_from_the_command_line() {
    require_tools();
    let _g = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let webm = dir.path().join("o.webm");
    let s = json_summary(&render(&[
        path_str(&fixture),
        "--out",
        path_str(&webm),
        "--chunk-size",
        "15",
        "--json",
    ]));
    assert_eq!(s["chunks"], 4, "{s}");
    let (frames, duration) = probe(&webm);
    assert_eq!(frames, 60);
    assert!((duration - 2.0).abs() < 0.002, "duration {duration}");

    // No extension: a frame directory, numbered from 1 across chunks.
    let frames_dir = dir.path().join("frames");
    let s = json_summary(&render(&[
        path_str(&fixture),
        "--out",
        path_str(&frames_dir),
        "--chunk-size",
        "15",
        "--json",
    ]));
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
    require_tools();
    let _g = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.mp4");
    let fixture = fixture();
    // Three workers: neither the core count here nor the Lambda default of 16 chunks.
    let s = json_summary(&render(&[
        path_str(&fixture),
        "--out",
        path_str(&out),
        "--workers",
        "3",
        "--json",
    ]));
    assert_eq!(
        (s["chunks"].as_u64(), s["workers"].as_u64()),
        (Some(3), Some(3)),
        "{s}"
    );
    assert_eq!(probe(&out).0, 60);
}

#[test]
fn the_preset_reaches_the_encoder_and_bad_presets_are_refused() {
    require_tools();
    let _g = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fast.mp4");
    let fixture = fixture();
    let s = json_summary(&render(&[
        path_str(&fixture),
        "--out",
        path_str(&out),
        "--preset",
        "veryfast",
        "--json",
    ]));
    assert_eq!(s["frames"], 60);
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        contains(&bytes, b"subme=2") && contains(&bytes, b"rc_lookahead=10"),
        "the stream was not encoded with x264's veryfast settings"
    );

    let bad = render(&[
        path_str(&fixture),
        "--out",
        path_str(&out),
        "--preset",
        "turbo",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("config.preset") && err.contains("veryfast"),
        "unhelpful error: {err}"
    );

    let webm = dir.path().join("o.webm");
    let bad = render(&[
        path_str(&fixture),
        "--out",
        path_str(&webm),
        "--preset",
        "veryfast",
    ]);
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
fn a_long_local_render_keeps_chunks_and_so_keyframe_gaps_under_ten_seconds() {
    require_tools();
    let _g = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("long");
    std::fs::create_dir_all(&project).unwrap();
    // 21 s of a still page: two workers alone would make 10.5 s chunks.
    std::fs::write(
        project.join("index.html"),
        r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#123}</style></head>
<body><div id="root" data-composition-id="long" data-width="64" data-height="64" data-duration="21" data-no-timeline>
<div style="width:16px;height:16px;background:#f80"></div></div></body></html>"#,
    )
    .unwrap();
    let out = dir.path().join("long.mp4");
    let s = json_summary(&render(&[
        path_str(&project),
        "--out",
        path_str(&out),
        "--workers",
        "2",
        "--json",
    ]));
    assert_eq!(
        (s["chunks"].as_u64(), s["frames"].as_u64()),
        (Some(3), Some(630)),
        "{s}"
    );
    let (frames, duration) = probe(&out);
    assert_eq!(frames, 630);
    assert!((duration - 21.0).abs() < 0.002, "duration {duration}");
}

#[test]
fn the_same_plan_gives_the_same_bytes_on_one_core_and_on_all_of_them() {
    require_tools();
    let _g = RENDERS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let all = dir.path().join("all.mp4");
    let one = dir.path().join("one.mp4");
    let args = |out: &Path| {
        vec![
            path_str(&fixture).to_string(),
            "--out".into(),
            path_str(out).to_string(),
            "--chunk-size".into(),
            "30".into(),
            "--workers".into(),
            "1".into(),
            "--json".into(),
        ]
    };
    let a = args(&all);
    json_summary(&render(&a.iter().map(String::as_str).collect::<Vec<_>>()));
    // taskset: the encoder (and the browser) see a single CPU, as on a
    // small worker; left alone x264 would pick its thread count from that.
    assert!(
        Command::new("taskset")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "taskset is missing; install Debian's util-linux"
    );
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0", env!("CARGO_BIN_EXE_render")]);
    let b = args(&one);
    let out = render_with(cmd, &b.iter().map(String::as_str).collect::<Vec<_>>());
    json_summary(&out);
    let (x, y) = (std::fs::read(&all).unwrap(), std::fs::read(&one).unwrap());
    assert!(
        x == y,
        "the render on one core differs from the render on all cores ({} vs {} bytes)",
        x.len(),
        y.len()
    );
}
