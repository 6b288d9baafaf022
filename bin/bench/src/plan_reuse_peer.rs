//! `bench plan-reuse --peer`: the variables-prod fixture rendered with its
//! meta.json values (`renderConfig.fps` and `.variables`) by ours and by
//! the peer CLI (`--fps`, `--variables`), interleaved; the time ratio of
//! the medians (target <= 0.5x) and the PSNR of our video against the
//! peer's frames (target >= 30 dB, the reference's threshold for this
//! fixture). Both render one offline copy: the CDN gsap replaced by the
//! peer install's own file, as the peer bench script does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use hyperframes_producer::bench::quality;
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{process, Format, RenderConfig};

use crate::peer;
use crate::plan_reuse::median;

const FIXTURE_GSAP: &str = "https://cdn.jsdelivr.net/npm/gsap@3.14.2/dist/gsap.min.js";

/// Renders both sides `runs` times and prints the comparison; false when a
/// target is missed.
pub fn compare(fixture: &Path, script: &Path, work: &Path, runs: usize) -> Result<bool> {
    let peer_work = std::env::var("HF_REF_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/hf-ref-bench")
        });
    peer::install(script, &peer_work).map_err(|e| anyhow!("{e}"))?;
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.join("meta.json"))
            .with_context(|| format!("cannot read {}/meta.json", fixture.display()))?,
    )?;
    let fps = meta["renderConfig"]["fps"].as_u64().unwrap_or(30) as u32;
    let values = meta["renderConfig"]["variables"].clone();
    let project = offline_copy(fixture, &peer_work, work)?;
    let (ours_out, peer_out) = (work.join("ours.mp4"), work.join("peer.mp4"));
    let mut config = RenderConfig::new(fps, Format::Mp4);
    config.variables =
        Some(Variables::parse(&values.to_string(), "meta.json").map_err(|e| anyhow!("{e}"))?);
    let peer_args = vec![
        "--fps".to_string(),
        fps.to_string(),
        "--variables".into(),
        values.to_string(),
    ];
    let (mut ours_s, mut peer_s) = (Vec::new(), Vec::new());
    for run in 0..runs {
        eprintln!(
            "bench plan-reuse: peer comparison, run {} of {runs}",
            run + 1
        );
        let t = Instant::now();
        peer::render_with_peer(&peer_work, &project, &peer_out, &peer_args)
            .map_err(|e| anyhow!("{e}"))?;
        peer_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        ours(&project, &ours_out, &config)?;
        ours_s.push(t.elapsed().as_secs_f64());
    }
    let frames = work.join("peer-frames");
    extract_frames(&peer_out, &frames)?;
    let q = quality::measure(&ours_out, &frames, fps).map_err(|e| anyhow!("{e}"))?;
    let ratio = median(&ours_s) / median(&peer_s);
    println!(
        "## variables-prod with its meta.json values ({fps} fps, {values}) against HyperFrames' CLI 0.8.170 --variables (medians of {runs})\n\n\
         | renderer | wall s (median) | runs s |\n| --- | --- | --- |\n\
         | ours (render) | {:.2} | {} |\n| peer (`render --variables`) | {:.2} | {} |\n\n\
         - time: {ratio:.2}x (target <= 0.50x): {}\n\
         - PSNR of ours against the peer's frames: {:.2} dB (PSNR-Y {:.2}, SSIM {:.5}) (target >= 30 dB): {}\n",
        median(&ours_s),
        list(&ours_s),
        median(&peer_s),
        list(&peer_s),
        met(ratio <= 0.5),
        q.psnr,
        q.psnr_y,
        q.ssim,
        met(q.psnr >= 30.0),
    );
    Ok(ratio <= 0.5 && q.psnr >= 30.0)
}

fn list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// The fixture with the peer install's gsap beside it instead of the CDN's.
fn offline_copy(fixture: &Path, peer_work: &Path, work: &Path) -> Result<PathBuf> {
    let dir = work.join("variables-prod");
    std::fs::create_dir_all(&dir)?;
    let gsap = peer_work.join("node/node_modules/gsap/dist/gsap.min.js");
    std::fs::copy(&gsap, dir.join("gsap.min.js"))
        .with_context(|| format!("cannot copy {}", gsap.display()))?;
    std::fs::copy(fixture.join("silence.wav"), dir.join("silence.wav"))?;
    let html = std::fs::read_to_string(fixture.join("index.html"))?;
    if !html.contains(FIXTURE_GSAP) {
        bail!(
            "{}/index.html no longer loads {FIXTURE_GSAP}",
            fixture.display()
        );
    }
    std::fs::write(
        dir.join("index.html"),
        html.replace(FIXTURE_GSAP, "gsap.min.js"),
    )?;
    Ok(dir)
}

/// Our local render (default settings, no template cache: a first render).
fn ours(project: &Path, out: &Path, config: &RenderConfig) -> Result<()> {
    hyperframes_producer::runner::run(&hyperframes_producer::runner::RunOptions {
        project_dir: project.to_path_buf(),
        out: out.to_path_buf(),
        config: config.clone(),
        workers: 0,
        single_pass: false,
        on_progress: None,
        asset_map: None,
        template_cache: None,
        keep_work: None,
    })
    .map_err(|e| anyhow!("our render failed [{}]: {e}", e.name()))?;
    Ok(())
}

/// The peer's video as `frame_%06d.png` (from 1), what `quality::measure` reads.
fn extract_frames(video: &Path, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-i"])
        .arg(video)
        .arg(dir.join("frame_%06d.png"));
    let out = process::run(
        &mut cmd,
        Duration::from_secs(300),
        "ffmpeg frame extraction",
    )
    .map_err(|e| anyhow!("{e}"))?;
    if !out.status.success() {
        bail!("cannot extract the peer's frames: {}", out.stderr_tail());
    }
    Ok(())
}
