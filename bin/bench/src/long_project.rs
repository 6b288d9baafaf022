//! The project `bench assemble`, `bench cold-start` and `bench long`
//! share: the producer's `mp4-h264-sdr` fixture scaled to a size and
//! stretched to a length (every frame differs), optionally with an audio
//! track over its whole length; and for the first two its plan, in a given
//! number of equal chunks the way a render on Lambda would run them (mp4,
//! 30 fps, the producer's defaults).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use hyperframes_deploy::deploy::workspace_root;
use hyperframes_producer::bench::{plan_fresh, prepare_project};
use hyperframes_producer::plan::PlanOutcome;
use hyperframes_producer::{AssetMap, Format, RenderConfig};

/// Frames per second of every bench render here (the 10-minute target's).
pub(crate) const FPS: u32 = 30;

/// What to plan: `chunks` chunks of `frames_per_chunk` frames at `size`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) chunks: u32,
    pub(crate) frames_per_chunk: u32,
    pub(crate) size: (u32, u32),
    pub(crate) audio: bool,
}

impl Shape {
    pub(crate) fn total_frames(&self) -> u64 {
        u64::from(self.chunks) * u64::from(self.frames_per_chunk)
    }

    /// The composition's length in whole seconds: the fixture's duration
    /// attribute takes whole seconds, so the frames must fill them exactly.
    fn seconds(&self) -> Result<u32> {
        let frames = self.total_frames();
        if frames % u64::from(FPS) != 0 {
            bail!(
                "--chunks x --frames-per-chunk = {frames} frames, not a whole number of seconds at {FPS} fps; pick values whose product is a multiple of {FPS} (e.g. 200 x 90)"
            );
        }
        u32::try_from(frames / u64::from(FPS)).context("the composition is too long")
    }
}

/// `WxH` (e.g. `1920x1080`), both even and non-zero (yuv420p needs even
/// sides).
pub(crate) fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let parsed = s
        .split_once('x')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 && w % 2 == 0 && h % 2 == 0 => Ok((w, h)),
        Some(_) => Err(format!(
            "--size {s:?}: both sides must be even and non-zero (yuv420p), e.g. 1920x1080"
        )),
        None => Err(format!("--size {s:?} is not WxH, e.g. 1920x1080")),
    }
}

/// The test fixtures directory of this checkout.
fn default_fixtures() -> PathBuf {
    workspace_root().join("producer/tests/fixtures")
}

/// A bench's work directory (`dir`, or `target/<default>` in the
/// workspace), created, and the plan of `shape` in it from `fixtures` (or
/// the default fixtures).
pub(crate) fn plan_in(
    dir: Option<PathBuf>,
    default: &str,
    fixtures: Option<PathBuf>,
    shape: Shape,
) -> Result<(PathBuf, PlanOutcome)> {
    let dir = dir.unwrap_or_else(|| workspace_root().join("target").join(default));
    std::fs::create_dir_all(&dir)?;
    let fixtures = fixtures.unwrap_or_else(default_fixtures);
    let plan = plan(&fixtures, &dir, shape)?;
    Ok((dir, plan))
}

/// Writes the project of `seconds` at `size` under `dir/project` (from
/// `fixtures`, or the default fixtures), with the audio track when
/// `audio`; returns its directory.
pub(crate) fn write_project(
    fixtures: Option<&Path>,
    dir: &Path,
    seconds: u32,
    (w, h): (u32, u32),
    audio: bool,
) -> Result<PathBuf> {
    let fixtures = fixtures.map_or_else(default_fixtures, Path::to_path_buf);
    let project = prepare_project(
        &fixtures.join("mp4-h264-sdr"),
        &dir.join("project"),
        w,
        h,
        seconds,
    )?;
    if audio {
        add_audio(&project, seconds)?;
    }
    Ok(project)
}

/// Writes the project under `dir/project` and plans it into `dir/plan`.
fn plan(fixtures: &Path, dir: &Path, shape: Shape) -> Result<PlanOutcome> {
    let project = write_project(
        Some(fixtures),
        dir,
        shape.seconds()?,
        shape.size,
        shape.audio,
    )?;
    let mut config = RenderConfig::new(FPS, Format::Mp4);
    config.chunk_size = Some(shape.frames_per_chunk);
    config.max_parallel_chunks = Some(shape.chunks);
    let plan = plan_fresh(
        &project,
        &config,
        &dir.join("plan"),
        AssetMap::discover().ok(),
    )?;
    if plan.chunk_count != shape.chunks || plan.has_audio != shape.audio {
        bail!(
            "the plan has {} chunks (audio: {}), not the {} asked for (audio: {})",
            plan.chunk_count,
            plan.has_audio,
            shape.chunks,
            shape.audio
        );
    }
    Ok(plan)
}

/// A 440 Hz tone over the whole composition (`tone.wav`, mono 48 kHz),
/// so the plan mixes a track as long as the video and the assemble fits
/// and muxes it.
fn add_audio(project: &Path, seconds: u32) -> Result<()> {
    let wav = project.join("tone.wav");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={seconds}"
        ))
        .args(["-ac", "1", "-c:a", "pcm_s16le", "-y"])
        .arg(&wav)
        .status()
        .context("running ffmpeg to write the bench's audio track")?;
    if !status.success() {
        bail!("ffmpeg could not write {} ({status})", wav.display());
    }
    let html_path = project.join("index.html");
    let html = std::fs::read_to_string(&html_path)?;
    let anchor = "<svg class=\"icon\"";
    if !html.contains(anchor) {
        bail!("the bench expects the mp4-h264-sdr fixture (its icon element was not found)");
    }
    let audio = format!(
        "<audio id=\"bench-track\" src=\"tone.wav\" data-start=\"0\" data-duration=\"{seconds}\" data-track-index=\"0\"></audio>\n      {anchor}"
    );
    std::fs::write(&html_path, html.replacen(anchor, &audio, 1))?;
    Ok(())
}

/// The 1-minute load average, or "?".
pub(crate) fn load() -> String {
    hyperframes_producer::bench::load_average().map_or("?".into(), |l| format!("{l:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_odd_or_malformed_ones_are_refused() {
        assert_eq!(parse_size("1920x1080"), Ok((1920, 1080)));
        assert_eq!(parse_size(" 640 x 360"), Ok((640, 360)));
        for bad in ["1920", "1920x", "x1080", "axb", "1921x1080", "0x2"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("--size"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_length_that_is_not_whole_seconds_is_refused_with_the_fix() {
        let shape = |chunks, frames_per_chunk| Shape {
            chunks,
            frames_per_chunk,
            size: (640, 360),
            audio: false,
        };
        assert_eq!(shape(200, 90).seconds().unwrap(), 600);
        let e = shape(7, 10).seconds().unwrap_err().to_string();
        assert!(
            e.contains("70 frames") && e.contains("multiple of 30"),
            "{e}"
        );
    }
}
