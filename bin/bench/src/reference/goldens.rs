//! `--record-goldens`: the peer's frames at a sample of a case's
//! checkpoints, kept losslessly and small, with where they came from. The
//! suite's reference test renders the case with ours and applies the
//! case's thresholds against these frames, so its golden is the peer's
//! renderer, not ours.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use hyperframes_producer::encode::ffmpeg::{self, Talk};
use hyperframes_producer::encode::probe::probe_video;
use hyperframes_producer::process;

use super::cases::Repo;
use super::harness::{self, Meta};
use super::Peer;

/// Checkpoints kept: every 11th of the 100, so the first and the last.
pub const SAMPLED_CHECKPOINTS: [usize; 10] = [0, 11, 22, 33, 44, 55, 66, 77, 88, 99];

/// The golden video's name in a case's golden directory.
pub const GOLDEN_VIDEO: &str = "peer-checkpoints.mkv";
/// Its provenance.
pub const PROVENANCE: &str = "provenance.json";

/// The frames [`SAMPLED_CHECKPOINTS`] pick over `frames` frames, in order,
/// without repeats.
pub fn sampled_frames(frames: u64, fps: u32) -> Vec<u64> {
    let all = harness::checkpoint_frames(frames, fps);
    let mut picked: Vec<u64> = SAMPLED_CHECKPOINTS.iter().map(|i| all[*i]).collect();
    picked.dedup();
    picked
}

/// Writes the peer's sampled frames of `peer_video` (lossless H.264,
/// `-qp 0`: the decoded yuv420p samples exactly) and the provenance JSON
/// into `dir`.
pub fn record(
    peer_video: &Path,
    dir: &Path,
    case: &str,
    meta: &Meta,
    repo: &Repo,
    peer: &Peer,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let frames = probe_video(peer_video).map_err(|e| anyhow!("{e}"))?.frames;
    let picked = sampled_frames(frames, meta.fps);
    let select = picked
        .iter()
        .map(|f| format!("eq(n\\,{f})"))
        .collect::<Vec<_>>()
        .join("+");
    let out = dir.join(GOLDEN_VIDEO);
    let run = process::run(
        ffmpeg::command(Talk::Quiet)
            .arg("-y")
            .arg("-i")
            .arg(peer_video)
            .args([
                "-an",
                "-vf",
                &format!("select='{select}',setpts=N/TB"),
                "-fps_mode",
                "passthrough",
            ])
            .args([
                "-c:v", "libx264", "-qp", "0", "-preset", "veryslow", "-pix_fmt", "yuv420p", "-bf",
                "0",
            ])
            .arg(&out),
        Duration::from_secs(300),
        "ffmpeg golden frames",
    )
    .map_err(|e| anyhow!("{e}"))?;
    if !run.status.success() {
        bail!("cannot write {}: {}", out.display(), run.stderr_tail());
    }
    let provenance = serde_json::json!({
        "peer": peer.version,
        "peerCommand": "hyperframes render --quiet -o OUT --fps FPS [--variables JSON] . (offline: CDN gsap replaced by the install's gsap 3.12.2, Google Fonts links dropped)",
        "case": case,
        "repository": "https://github.com/heygen-com/hyperframes",
        "repoCommit": repo.commit,
        "casePath": format!("packages/producer/tests/{case}"),
        "fps": meta.fps,
        "peerFrames": frames,
        "checkpoints": harness::CHECKPOINTS,
        "sampledCheckpoints": SAMPLED_CHECKPOINTS,
        "sampledFrames": picked,
        "encoding": "libx264 -qp 0 yuv420p (lossless copy of the peer video's decoded frames, in sampledFrames order)",
        "recordedBy": "hyperframes bench reference --record-goldens",
    });
    std::fs::write(
        dir.join(PROVENANCE),
        serde_json::to_string_pretty(&provenance)? + "\n",
    )?;
    Ok(())
}

/// A render checked against a case's recorded goldens.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Frames of ours, and of the peer's video the goldens came from.
    pub frames: (u64, u64),
    /// The frames compared (the provenance's sampled checkpoints).
    pub sampled: Vec<u64>,
    pub psnr: Vec<f64>,
    /// Checkpoints below `minPsnr`.
    pub failed: usize,
    /// `maxFrameFailures` scaled from 100 checkpoints to the sampled ones
    /// (rounded down).
    pub allowed: usize,
}

impl Checked {
    /// The case's thresholds hold: same frame count as the peer, and no
    /// more sampled checkpoints below `minPsnr` than allowed.
    pub fn passed(&self) -> bool {
        self.frames.0 == self.frames.1 && self.failed <= self.allowed
    }
}

/// Applies `meta`'s thresholds to `ours` against the goldens in `dir`
/// ([`GOLDEN_VIDEO`] and [`PROVENANCE`], as [`record`] wrote them).
pub fn check(ours: &Path, dir: &Path, meta: &Meta) -> Result<Checked> {
    let text = std::fs::read_to_string(dir.join(PROVENANCE))
        .map_err(|e| anyhow!("cannot read {}/{PROVENANCE}: {e}", dir.display()))?;
    let prov: serde_json::Value = serde_json::from_str(&text)?;
    let peer_frames = prov["peerFrames"]
        .as_u64()
        .ok_or_else(|| anyhow!("{}/{PROVENANCE}: no peerFrames", dir.display()))?;
    let sampled: Vec<u64> = serde_json::from_value(prov["sampledFrames"].clone())?;
    if sampled != sampled_frames(peer_frames, meta.fps) {
        bail!(
            "{}/{PROVENANCE}: sampledFrames do not match {} frames at {} fps; re-record the goldens",
            dir.display(),
            peer_frames,
            meta.fps
        );
    }
    let frames = probe_video(ours).map_err(|e| anyhow!("{e}"))?.frames;
    let psnr = harness::psnr_against_samples(ours, &dir.join(GOLDEN_VIDEO), &sampled)?;
    Ok(Checked {
        frames: (frames, peer_frames),
        failed: harness::failures(&psnr, meta.min_psnr),
        allowed: meta.max_frame_failures * sampled.len() / harness::CHECKPOINTS,
        sampled,
        psnr,
    })
}
