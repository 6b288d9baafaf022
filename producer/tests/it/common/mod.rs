//! Shared setup for the producer's integration tests: locating the real tools
//! (a missing one is a failure telling how to install it, never a skip), the
//! fixtures, and the offline asset map built from the npm packages that
//! scripts/test.sh installs.

#![allow(dead_code)]

pub mod ffprobe;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hyperframes_producer::capture::browser::CaptureMode;
use hyperframes_producer::capture::session::SessionSpec;

use hyperframes_producer::assemble::assemble;
use hyperframes_producer::chunk::render_chunk_with;
use hyperframes_producer::{
    AssetMap, ChunkOptions, ChunkOutcome, PlanOptions, PlanOutcome, RenderConfig,
};

pub const GSAP_URL: &str = "https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.2/gsap.min.js";
pub const SPACE_MONO_URL: &str =
    "https://fonts.googleapis.com/css2?family=Space+Mono:wght@400;700&display=swap";
const INSTALL_HINT: &str = "run scripts/test.sh --install-only (installs chromium-headless-shell, ffmpeg and the npm gsap/@fontsource packages)";

/// Browser tests take turns: two cores are shared with other work, and a
/// queue of browsers makes every per-step timeout meaningless.
static BROWSER_LOCK: Mutex<()> = Mutex::new(());

pub fn browser_lock() -> MutexGuard<'static, ()> {
    BROWSER_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The producer's settings from this run's environment (scripts/test.sh
/// sets `HF_ALLOW_NETWORK=0` and `HF_TOOLS_DIR`), installed once, as a
/// program's edge installs them: the library reads no variable itself.
pub fn install_settings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let env = |k: &str| std::env::var(k).ok();
        let settings = hyperframes_producer::settings::Settings::from_lookup(&env);
        hyperframes_producer::settings::install(settings.expect("the HF_* settings parse"));
    });
}

pub use hyperframes_testkit::tools_dir;

pub fn fixtures_dir() -> PathBuf {
    install_settings();
    if let Ok(d) = std::env::var("HF_FIXTURES_DIR") {
        return PathBuf::from(d);
    }
    // Vendored (Apache-2.0) so a clean checkout tests without ../shared.
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    assert!(
        d.is_dir(),
        "fixtures not found at {} (or set HF_FIXTURES_DIR)",
        d.display()
    );
    d
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// Fails (with the install command) unless Chromium, ffmpeg and the npm assets exist.
pub fn require_tools() {
    install_settings();
    let chrome = hyperframes_producer::capture::browser::chrome_path();
    assert!(chrome.is_ok(), "{}; {INSTALL_HINT}", chrome.unwrap_err());
    for tool in ["ffmpeg", "ffprobe"] {
        let ok = std::process::Command::new(tool)
            .arg("-version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "{tool} is not installed; {INSTALL_HINT}");
    }
    for f in [gsap_path(), space_mono_dir().join("latin-400.css")] {
        assert!(f.is_file(), "{} is missing; {INSTALL_HINT}", f.display());
    }
}

pub fn gsap_path() -> PathBuf {
    tools_dir().join("npm/node_modules/gsap/dist/gsap.min.js")
}

pub fn space_mono_dir() -> PathBuf {
    tools_dir().join("npm/node_modules/@fontsource/space-mono")
}

/// The offline map the fixtures need: CDN gsap -> npm gsap, the Google Fonts
/// import -> a stylesheet importing @fontsource/space-mono.
pub fn asset_map(scratch: &Path) -> AssetMap {
    let css = scratch.join("space-mono.css");
    let dir = space_mono_dir();
    std::fs::write(
        &css,
        format!(
            "@import url(\"{}\");\n@import url(\"{}\");\n",
            dir.join("latin-400.css").display(),
            dir.join("latin-700.css").display()
        ),
    )
    .unwrap();
    let mut map = AssetMap::default();
    map.insert(GSAP_URL, gsap_path());
    map.insert(SPACE_MONO_URL, css);
    map
}

pub fn options(scratch: &Path) -> PlanOptions {
    PlanOptions {
        asset_map: Some(asset_map(scratch)),
        ..Default::default()
    }
}

pub fn config(format: &str, chunk_size: Option<u32>) -> RenderConfig {
    let mut c = RenderConfig::new(30, hyperframes_producer::Format::parse(format).unwrap());
    c.chunk_size = chunk_size;
    c
}

pub fn single_pass(mut c: RenderConfig) -> RenderConfig {
    c.chunk_size = None;
    c.max_parallel_chunks = Some(1);
    c
}

pub fn plan(project: &Path, config: &RenderConfig, plan_dir: &Path, scratch: &Path) -> PlanOutcome {
    hyperframes_producer::plan_with(project, config, plan_dir, &options(scratch))
        .unwrap_or_else(|e| panic!("plan of {} failed [{}]: {e}", project.display(), e.name()))
}

pub fn render_chunks(plan: &PlanOutcome, out_dir: &Path) -> Vec<ChunkOutcome> {
    (0..plan.chunk_count)
        .map(|i| {
            render_chunk_with(&plan.plan_dir, i, out_dir, &ChunkOptions::default())
                .unwrap_or_else(|e| panic!("render_chunk {i} failed [{}]: {e}", e.name()))
        })
        .collect()
}

/// plan -> every chunk -> assemble; returns (plan, chunks, output path).
pub fn render_all(
    project: &Path,
    config: &RenderConfig,
    work: &Path,
    name: &str,
) -> (PlanOutcome, Vec<ChunkOutcome>, PathBuf) {
    let plan_dir = work.join(format!("{name}-plan"));
    let p = plan(project, config, &plan_dir, work);
    let chunks = render_chunks(&p, &work.join(format!("{name}-chunks")));
    let ext = config.format.extension();
    let out = if ext.is_empty() {
        work.join(format!("{name}-out"))
    } else {
        work.join(format!("{name}.{ext}"))
    };
    let paths: Vec<PathBuf> = chunks.iter().map(|c| c.path.clone()).collect();
    assemble(&p.plan_dir, &paths, &out)
        .unwrap_or_else(|e| panic!("assemble failed [{}]: {e}", e.name()));
    (p, chunks, out)
}

/// Writes a one-file project with the given body script.
pub fn write_project(dir: &Path, root_attrs: &str, script: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let html = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;width:64px;height:64px;background:#123}}</style>
<script src="{GSAP_URL}"></script></head>
<body><div id="root" {root_attrs}><div id="box" style="width:16px;height:16px;background:#f80"></div></div>
<script>{script}</script></body></html>"#
    );
    std::fs::write(dir.join("index.html"), html).unwrap();
    dir.to_path_buf()
}

/// A capture session on a plan's compiled page (BeginFrame, no extras).
pub fn session_spec(
    plan: &PlanOutcome,
    composition_id: &str,
    width: u32,
    height: u32,
) -> SessionSpec {
    SessionSpec {
        site_root: plan.plan_dir.join("compiled"),
        entry: "index.html".into(),
        composition_id: composition_id.into(),
        no_timeline: false,
        width,
        height,
        fps: 30,
        mode: CaptureMode::BeginFrame,
        transparent: false,
        ready_timeout: Some(Duration::from_secs(20)),
        variables: None,
        variable_assets: None,
        extra_flags: Vec::new(),
        screencast: None,
        page_composite: false,
    }
}

pub fn sorted_pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    v.sort();
    v
}

/// A decoded RGB frame.
pub struct Frame {
    pub width: usize,
    pub rgb: Vec<u8>,
}

impl Frame {
    pub fn load(path: &Path) -> Frame {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Frame {
            width: info.width as usize,
            rgb,
        }
    }

    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The region's pixels, row by row.
    pub fn region(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Vec<[u8; 3]> {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .map(|(x, y)| self.pixel(x, y))
            .collect()
    }

    /// Mean R, G, B over a region.
    pub fn mean(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> [f64; 3] {
        let px = self.region(x0, y0, x1, y1);
        let n = px.len() as f64;
        let sum = px.iter().fold([0.0; 3], |a, p| {
            [a[0] + p[0] as f64, a[1] + p[1] as f64, a[2] + p[2] as f64]
        });
        [sum[0] / n, sum[1] / n, sum[2] / n]
    }
}
