//! The reference's regression rule (`regression-harness.ts` in
//! heygen-com/hyperframes), reimplemented: 100 checkpoints spread over the
//! shorter video, the PSNR of each checkpoint's frame against the golden
//! video's frame at the same index, a case fails when more than
//! `maxFrameFailures` checkpoints fall below `minPsnr`; when both videos
//! carry audio, the RMS envelopes of their mono 16 kHz mixes (2048-sample
//! windows, hop 1024) must correlate at `minAudioCorrelation` or better at
//! some lag within `maxAudioLagWindows` windows.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use hyperframes_producer::encode::ffmpeg::{self, Talk};
use hyperframes_producer::process;

/// The reference harness samples this many checkpoints per video.
pub const CHECKPOINTS: usize = 100;

/// A case's `meta.json`: its render settings and thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub fps: u32,
    pub min_psnr: f64,
    pub max_frame_failures: usize,
    pub min_audio_correlation: f64,
    pub max_audio_lag_windows: usize,
    /// `renderConfig.variables`, when the case sets any.
    pub variables: Option<serde_json::Value>,
    /// `renderConfig.format` when not mp4 (such cases are skipped here).
    pub format: Option<String>,
    /// `renderConfig.hdr` (skipped: both renderers would need HDR).
    pub hdr: bool,
}

impl Meta {
    /// Reads the fields the rule needs; every missing or malformed field is
    /// named at once.
    pub fn parse(text: &str, source: &str) -> Result<Meta> {
        let v: serde_json::Value =
            serde_json::from_str(text).with_context(|| format!("{source}: not JSON"))?;
        let mut problems = Vec::new();
        let mut num = |key: &str| {
            let n = v[key].as_f64();
            if n.is_none() {
                problems.push(format!("'{key}' must be a number"));
            }
            n.unwrap_or(0.0)
        };
        let (min_psnr, max_ff) = (num("minPsnr"), num("maxFrameFailures"));
        let (min_corr, max_lag) = (num("minAudioCorrelation"), num("maxAudioLagWindows"));
        let fps = v["renderConfig"]["fps"].as_u64();
        if fps.is_none() {
            problems.push("'renderConfig.fps' must be a whole number".into());
        }
        if !problems.is_empty() {
            bail!("{source}: {}", problems.join("; "));
        }
        Ok(Meta {
            fps: fps.unwrap_or(30) as u32,
            min_psnr,
            max_frame_failures: max_ff as usize,
            min_audio_correlation: min_corr,
            // The reference validates >= 1; some cases say 0, which its
            // scan treats as lag 0 only.
            max_audio_lag_windows: max_lag as usize,
            variables: v["renderConfig"].get("variables").cloned(),
            format: v["renderConfig"]["format"].as_str().map(str::to_string),
            hdr: v["renderConfig"]["hdr"].as_bool().unwrap_or(false),
        })
    }
}

/// The frame each of the [`CHECKPOINTS`] samples over `frames` frames (the
/// shorter video's), as the reference picks them: checkpoint `i` at
/// `(duration - 1/fps) * i / 100` seconds, rounded to the nearest frame.
pub fn checkpoint_frames(frames: u64, fps: u32) -> Vec<u64> {
    let fps = f64::from(fps.max(1));
    let sample = ((frames as f64) / fps - 1.0 / fps).max(0.0);
    (0..CHECKPOINTS)
        .map(|i| (sample * i as f64 / CHECKPOINTS as f64 * fps).round() as u64)
        .collect()
}

/// The PSNR (ffmpeg's `psnr_avg`, all planes) of `ours` against `golden`
/// at each of `frames` (indices into both videos), in one ffmpeg pass.
pub fn psnr_at_frames(ours: &Path, golden: &Path, frames: &[u64]) -> Result<Vec<f64>> {
    let mut wanted = frames.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let select = wanted
        .iter()
        .map(|f| format!("eq(n\\,{f})"))
        .collect::<Vec<_>>()
        .join("+");
    let pick =
        |i: usize, label: &str| format!("[{i}:v]select='{select}',settb=1/1,setpts=N[{label}]");
    let by_frame = psnr_pass(ours, golden, &format!("{};{}", pick(0, "a"), pick(1, "b")))?;
    if by_frame.len() != wanted.len() {
        bail!(
            "expected PSNR for {} frames of {} against {} but ffmpeg reported {} (a video is shorter than its checkpoints)",
            wanted.len(),
            ours.display(),
            golden.display(),
            by_frame.len()
        );
    }
    Ok(frames
        .iter()
        .map(|f| by_frame[wanted.binary_search(f).expect("selected")])
        .collect())
}

/// The PSNR of every frame of `ours` against `golden`, index-aligned.
pub fn psnr_all_frames(ours: &Path, golden: &Path) -> Result<Vec<f64>> {
    psnr_pass(
        ours,
        golden,
        "[0:v]settb=1/1,setpts=N[a];[1:v]settb=1/1,setpts=N[b]",
    )
}

/// `ours`' frames at `frames` against every frame of `golden` in order
/// (goldens hold only the sampled checkpoints).
pub fn psnr_against_samples(ours: &Path, golden: &Path, frames: &[u64]) -> Result<Vec<f64>> {
    let select = frames
        .iter()
        .map(|f| format!("eq(n\\,{f})"))
        .collect::<Vec<_>>()
        .join("+");
    let graph = format!("[0:v]select='{select}',settb=1/1,setpts=N[a];[1:v]settb=1/1,setpts=N[b]");
    let v = psnr_pass(ours, golden, &graph)?;
    if v.len() != frames.len() {
        bail!(
            "{} has {} of the {} sampled frames (the render is shorter than the golden's checkpoints)",
            ours.display(),
            v.len(),
            frames.len()
        );
    }
    Ok(v)
}

/// Runs `graph` (which labels the two streams `[a]` and `[b]`) into
/// ffmpeg's psnr filter and reads its per-frame stats file.
fn psnr_pass(ours: &Path, golden: &Path, graph: &str) -> Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    let stats = dir.path().join("psnr.log");
    let escaped = stats
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace(':', "\\:");
    let filter = format!("{graph};[a][b]psnr=shortest=1:repeatlast=0:stats_file={escaped}");
    let out = process::run(
        ffmpeg::command(Talk::Quiet)
            .arg("-i")
            .arg(ours)
            .arg("-i")
            .arg(golden)
            .args(["-filter_complex", &filter, "-f", "null", "-"]),
        Duration::from_secs(600),
        "ffmpeg checkpoint PSNR",
    )
    .map_err(|e| anyhow!("{e}"))?;
    if !out.status.success() {
        bail!(
            "checkpoint PSNR of {}: {}",
            ours.display(),
            out.stderr_tail()
        );
    }
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|kv| kv.strip_prefix("psnr_avg:"))
        })
        .map(|v| match v {
            "inf" => Ok(f64::INFINITY),
            v => v
                .parse()
                .map_err(|_| anyhow!("bad PSNR {v} in ffmpeg's stats")),
        })
        .collect()
}

/// How many of `psnr` fall below `min` (a missing value counts as failed).
pub fn failures(psnr: &[f64], min: f64) -> usize {
    psnr.iter().filter(|p| p.is_nan() || **p < min).count()
}

/// The audio half of the rule: the best envelope correlation within the
/// lag window, or None when either file has no audio.
pub fn audio_correlation(ours: &Path, golden: &Path, max_lag: usize) -> Result<Option<f64>> {
    let (a, b) = (mono_pcm16(ours)?, mono_pcm16(golden)?);
    if a.is_empty() || b.is_empty() {
        return Ok(None);
    }
    Ok(Some(compare_envelopes(
        &rms_envelope(&a),
        &rms_envelope(&b),
        max_lag,
    )))
}

/// A file's audio as mono 16 kHz signed 16-bit samples; empty without audio.
fn mono_pcm16(path: &Path) -> Result<Vec<i16>> {
    let out = process::run(
        ffmpeg::command(Talk::Quiet)
            .arg("-i")
            .arg(path)
            .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"]),
        Duration::from_secs(300),
        "ffmpeg audio extraction",
    )
    .map_err(|e| anyhow!("{e}"))?;
    if !out.status.success() {
        return Ok(Vec::new());
    }
    Ok(out
        .stdout
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// RMS of 2048-sample windows every 1024 samples.
pub fn rms_envelope(samples: &[i16]) -> Vec<f64> {
    const WINDOW: usize = 2048;
    const HOP: usize = 1024;
    if samples.len() < WINDOW {
        return Vec::new();
    }
    (0..=samples.len() - WINDOW)
        .step_by(HOP)
        .map(|start| {
            let energy: f64 = samples[start..start + WINDOW]
                .iter()
                .map(|s| (f64::from(*s) / 32768.0).powi(2))
                .sum();
            (energy / WINDOW as f64).sqrt()
        })
        .collect()
}

/// The best Pearson correlation of the two envelopes over lags within
/// `max_lag` windows; 1 when either is empty or both are silent.
pub fn compare_envelopes(a: &[f64], b: &[f64], max_lag: usize) -> f64 {
    let silent = |e: &[f64]| e.iter().all(|s| s.abs() <= 1e-9);
    if a.is_empty() || b.is_empty() || (silent(a) && silent(b)) {
        return 1.0;
    }
    let max_lag = max_lag as i64;
    (-max_lag..=max_lag)
        .map(|lag| correlation_at_lag(a, b, lag))
        .fold(-1.0, f64::max)
}

fn correlation_at_lag(a: &[f64], b: &[f64], lag: i64) -> f64 {
    let (sa, sb) = (lag.max(0) as usize, (-lag).max(0) as usize);
    if sa >= a.len() || sb >= b.len() {
        return -1.0;
    }
    let n = (a.len() - sa).min(b.len() - sb);
    if n <= 32 {
        return -1.0;
    }
    let (a, b) = (&a[sa..sa + n], &b[sb..sb + n]);
    let (ma, mb) = (
        a.iter().sum::<f64>() / n as f64,
        b.iter().sum::<f64>() / n as f64,
    );
    let (mut num, mut da, mut db) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        num += (x - ma) * (y - mb);
        da += (x - ma).powi(2);
        db += (y - mb).powi(2);
    }
    if da <= 1e-12 || db <= 1e-12 {
        return -1.0;
    }
    num / (da * db).sqrt()
}

/// Per frame, the fraction of luma samples of `ours` that differ from
/// `golden`'s by more than `levels` (the registry target's "small wrong
/// element" check, which PSNR averages away). Frames are streamed as 8-bit
/// gray from two decoders in lockstep; stops at the shorter video.
pub fn luma_outliers(ours: &Path, golden: &Path, levels: u8) -> Result<Vec<f64>> {
    use std::io::Read;
    let (w, h) = dimensions(golden)?;
    let spawn = |p: &Path| {
        ffmpeg::command(Talk::Quiet)
            .arg("-i")
            .arg(p)
            .args([
                "-vf",
                &format!("scale={w}:{h}"),
                "-pix_fmt",
                "gray",
                "-f",
                "rawvideo",
                "-",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| "cannot start ffmpeg")
    };
    let (mut a, mut b) = (spawn(ours)?, spawn(golden)?);
    let (mut ra, mut rb) = (
        a.stdout.take().expect("piped"),
        b.stdout.take().expect("piped"),
    );
    let size = (w * h) as usize;
    let (mut fa, mut fb) = (vec![0u8; size], vec![0u8; size]);
    let mut out = Vec::new();
    while ra.read_exact(&mut fa).is_ok() && rb.read_exact(&mut fb).is_ok() {
        let n = fa
            .iter()
            .zip(&fb)
            .filter(|(x, y)| x.abs_diff(**y) > levels)
            .count();
        out.push(n as f64 / size as f64);
    }
    drop((ra, rb));
    let _ = a.kill();
    let _ = b.kill();
    let _ = (a.wait(), b.wait());
    Ok(out)
}

/// A video's width and height (ffmpeg's stream description).
fn dimensions(video: &Path) -> Result<(u32, u32)> {
    let out = process::run(
        ffmpeg::command(Talk::Describe).arg("-i").arg(video),
        Duration::from_secs(60),
        "ffmpeg describe",
    )
    .map_err(|e| anyhow!("{e}"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Video:"))
        .ok_or_else(|| anyhow!("{} has no video stream", video.display()))?;
    line.split([',', ' '])
        .filter_map(|t| t.split_once('x'))
        .find_map(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .ok_or_else(|| anyhow!("no WxH in {line}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_spread_over_the_video_as_the_reference_picks_them() {
        // 48 frames at 24 fps: sample duration 2 - 1/24 s, frame 0 first;
        // checkpoint 50 is 23.4999.. frames in, as in the reference.
        let f = checkpoint_frames(48, 24);
        assert_eq!(f.len(), 100);
        assert_eq!((f[0], f[50], f[99]), (0, 23, 47));
        assert!(f.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn envelopes_correlate_at_the_best_lag_and_silence_matches_silence() {
        let a: Vec<f64> = (0..200).map(|i| ((i as f64) / 7.0).sin().abs()).collect();
        let shifted: Vec<f64> = a[3..].to_vec();
        assert!(compare_envelopes(&a, &shifted, 0) < 0.9);
        assert!((compare_envelopes(&a, &shifted, 5) - 1.0).abs() < 1e-9);
        assert_eq!(compare_envelopes(&[0.0; 50], &[0.0; 50], 1), 1.0);
        assert_eq!(rms_envelope(&[16384; 4096]).len(), 3);
        assert!((rms_envelope(&[16384; 4096])[0] - 0.5).abs() < 1e-9);
    }

    #[test]
    fn meta_names_every_missing_threshold() {
        let e = Meta::parse(r#"{"minPsnr": 30, "renderConfig": {}}"#, "meta.json").unwrap_err();
        let e = e.to_string();
        for key in [
            "maxFrameFailures",
            "minAudioCorrelation",
            "maxAudioLagWindows",
            "renderConfig.fps",
        ] {
            assert!(e.contains(key), "{e}");
        }
        let m = Meta::parse(
            r#"{"minPsnr": 20, "maxFrameFailures": 10, "minAudioCorrelation": 0, "maxAudioLagWindows": 120, "renderConfig": {"fps": 24}}"#,
            "meta.json",
        )
        .unwrap();
        assert_eq!((m.fps, m.min_psnr, m.max_frame_failures), (24, 20.0, 10));
        assert_eq!(failures(&[19.0, 20.0, f64::NAN, f64::INFINITY], 20.0), 2);
    }
}
