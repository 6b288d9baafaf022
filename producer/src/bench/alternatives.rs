//! Capture paths measured against today's (BeginFrame, PNG with
//! optimizeForSpeed converted to yuv420p in process, on this flat-graphics
//! fixture; one fresh buffer per frame): capture alone and capture + encode, CPU per frame,
//! speed, and what happens to the pixels: the encoded chunk is byte-identical
//! to today's, or its PSNR against the lossless frames is given beside
//! today's.

use std::path::{Path, PathBuf};

use super::cgroup::CpuMeter;
use super::quality::{self, Quality};
use super::{plan_fresh, render_chunks, Measured};
use crate::capture::browser::{CaptureMode, ImageFormat, ImageSpec};
use crate::chunk::ChunkOptions;
use crate::config::{Format, RenderConfig};
use crate::errors::{ProducerError, Result};
use crate::plan::assets::AssetMap;

/// One way of getting frames out of the browser.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub mode: CaptureMode,
    pub image: ImageSpec,
    /// Extra browser switches; `!--name` removes one of the producer's.
    pub flags: Vec<String>,
    /// Frames by `Page.startScreencast` instead of screenshots.
    pub screencast: bool,
}

fn variant(name: &str, mode: CaptureMode, image: ImageSpec, flags: &[&str]) -> Variant {
    Variant {
        name: name.into(),
        mode,
        image,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        screencast: false,
    }
}

fn jpeg(quality: u8, fast: bool) -> ImageSpec {
    ImageSpec {
        format: ImageFormat::Jpeg,
        quality: Some(quality),
        optimize_for_speed: fast,
    }
}

/// Every alternative the bench measures; the first is today's path.
pub fn variants() -> Vec<Variant> {
    use CaptureMode::{BeginFrame, Screenshot};
    let png = |fast| ImageSpec {
        format: ImageFormat::Png,
        quality: None,
        optimize_for_speed: fast,
    };
    let webp = ImageSpec {
        format: ImageFormat::Webp,
        quality: Some(80),
        optimize_for_speed: true,
    };
    let today = ImageSpec::PNG_FAST;
    vec![
        variant(
            "today: BeginFrame png, optimizeForSpeed, converted in process",
            BeginFrame,
            today,
            &[],
        ),
        variant(
            "jpeg q100, ffmpeg converts (before)",
            BeginFrame,
            jpeg(100, true),
            &[],
        ),
        variant("png, optimizeForSpeed off", BeginFrame, png(false), &[]),
        variant(
            "jpeg q80 (the reference's)",
            BeginFrame,
            jpeg(80, true),
            &[],
        ),
        variant(
            "jpeg q80, optimizeForSpeed off",
            BeginFrame,
            jpeg(80, false),
            &[],
        ),
        variant("jpeg q90", BeginFrame, jpeg(90, true), &[]),
        variant("jpeg q95", BeginFrame, jpeg(95, true), &[]),
        variant("webp q80", BeginFrame, webp, &[]),
        variant("captureScreenshot, today's png", Screenshot, today, &[]),
        Variant {
            screencast: true,
            ..variant("screencast, today's png", BeginFrame, today, &[])
        },
        variant(
            "without --in-process-gpu",
            BeginFrame,
            today,
            &["!--in-process-gpu"],
        ),
        variant("--single-process", BeginFrame, today, &["--single-process"]),
        variant(
            "GPU compositing (SwiftShader)",
            BeginFrame,
            today,
            &["!--disable-gpu-compositing"],
        ),
    ]
}

/// Figures of one variant.
#[derive(Debug, Clone)]
pub struct AltRow {
    pub name: String,
    pub frames: u64,
    pub capture: Measured,
    pub encode: Measured,
    pub reused_frames: u64,
    /// The encoded chunk has today's bytes.
    pub identical: bool,
    pub quality: Option<Quality>,
    pub error: Option<String>,
}

/// Measures `variants` on `project` (single pass, one worker) with the
/// default encoder settings, against `lossless` PNG frames.
pub fn run(
    project: &Path,
    work: &Path,
    lossless: &Path,
    variants: &[Variant],
    asset_map: Option<AssetMap>,
    meter: &CpuMeter,
) -> Result<Vec<AltRow>> {
    let mut config = RenderConfig::new(30, Format::Mp4);
    config.max_parallel_chunks = Some(1);
    let plan_dir = work.join("alt-plan");
    let plan = plan_fresh(project, &config, &plan_dir, asset_map)?;
    let mut rows = Vec::new();
    let mut today: Option<String> = None;
    for v in variants {
        let opts = ChunkOptions {
            force_mode: Some(v.mode),
            image: Some(v.image),
            browser_flags: v.flags.clone(),
            screencast: v.screencast,
            // Reuse would hide the capture cost being measured.
            reuse_unchanged: Some(false),
            ..Default::default()
        };
        let out = work.join("alt-chunks");
        let capture_only = ChunkOptions {
            capture_only: true,
            ..opts.clone()
        };
        let measured = Measured::time(meter, || render_chunks(&plan, &out, &capture_only))
            .and_then(|(_, capture)| {
                let (chunks, encode) = Measured::time(meter, || render_chunks(&plan, &out, &opts))?;
                Ok((capture, encode, chunks))
            });
        let mut row = AltRow {
            name: v.name.clone(),
            frames: plan.total_frames,
            capture: Measured::default(),
            encode: Measured::default(),
            reused_frames: 0,
            identical: false,
            quality: None,
            error: None,
        };
        match measured {
            Ok((capture, encode, chunks)) => {
                let sha = chunks.iter().map(|c| c.sha256.as_str()).collect::<String>();
                row.capture = capture;
                row.encode = encode;
                row.identical = today.get_or_insert_with(|| sha.clone()) == &sha;
                row.quality = Some(quality::measure(&chunks[0].path, lossless, plan.fps)?);
            }
            Err(e) => row.error = Some(format!("[{}] {e}", e.name())),
        }
        let _ = std::fs::remove_dir_all(&out);
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(&plan_dir);
    Ok(rows)
}

pub fn table(rows: &[AltRow]) -> String {
    let mut s = String::from(
        "| capture path | capture CPU ms/frame | capture fps | capture+encode CPU ms/frame | capture+encode fps | pixels vs today | PSNR dB vs lossless | SSIM |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        if let Some(e) = &r.error {
            s.push_str(&format!("| {} | failed: {e} | | | | | | |\n", r.name));
            continue;
        }
        let (psnr, ssim) = r
            .quality
            .map(|q| (format!("{:.2}", q.psnr), format!("{:.5}", q.ssim)))
            .unwrap_or_default();
        s.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {psnr} | {ssim} |\n",
            r.name,
            r.capture.cpu_ms_per_frame(r.frames),
            r.capture.fps(r.frames),
            r.encode.cpu_ms_per_frame(r.frames),
            r.encode.fps(r.frames),
            if r.identical { "identical" } else { "differ" },
        ));
    }
    s
}

/// Where the lossless frames of `project` go: our png-sequence render.
pub fn lossless_frames(
    project: &Path,
    work: &Path,
    asset_map: Option<AssetMap>,
) -> Result<PathBuf> {
    let out = work.join("lossless");
    let _ = std::fs::remove_dir_all(&out);
    super::local_render(project, &out, Format::PngSequence, None, asset_map)?;
    if !out.join("frame_000001.png").is_file() {
        return Err(ProducerError::RenderFailed(format!(
            "the png-sequence render wrote no {}",
            out.join("frame_000001.png").display()
        )));
    }
    Ok(out)
}
