//! Output quality against a lossless capture: PSNR and SSIM of a video's
//! frames against the same frames as PNGs, and file size.
//!
//! Both sides are compared in YUV 4:2:0 limited range, the PNGs converted
//! with the BT.709 matrix: the one the videos declare (ours and the peer
//! CLI's are tagged BT.709), so what a player shows. A video that holds
//! BT.601 samples under BT.709 tags (the reference's conversion, which only
//! narrows the range of JFIF's BT.601 frames) shows its colour shift here
//! as lost dB, as it does on screen.

use std::path::Path;
use std::time::Duration;

use crate::errors::{ProducerError, Result};
use crate::{encode::ffmpeg, process};

/// Quality of one output against the lossless frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Mean PSNR over all frames, luma and chroma weighted (ffmpeg's "average"), dB.
    pub psnr: f64,
    /// Mean luma PSNR, dB.
    pub psnr_y: f64,
    /// Mean SSIM over all planes (ffmpeg's "All"), 0..1.
    pub ssim: f64,
}

/// Compares `video` frame by frame (index-aligned) with `png_dir`'s
/// `frame_%06d.png` (numbered from 1).
pub fn measure(video: &Path, png_dir: &Path, fps: u32) -> Result<Quality> {
    let pattern = png_dir.join("frame_%06d.png");
    let filter = "[0:v]format=yuv420p,settb=1/1,setpts=N,split[a1][a2];\
         [1:v]scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,settb=1/1,setpts=N,split[b1][b2];\
         [a1][b1]psnr=shortest=1:repeatlast=0;[a2][b2]ssim=shortest=1:repeatlast=0";
    let out = process::run(
        ffmpeg::command(ffmpeg::Talk::Measure)
            .arg("-i")
            .arg(video)
            .args(["-framerate", &fps.to_string(), "-start_number", "1", "-i"])
            .arg(&pattern)
            .args(["-filter_complex", filter, "-f", "null", "-"]),
        Duration::from_secs(600),
        "ffmpeg psnr/ssim",
    )?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(ProducerError::RenderFailed(format!(
            "comparing {} with {}: {}",
            video.display(),
            pattern.display(),
            process::tail(&text, 800)
        )));
    }
    parse_summary(&text).ok_or_else(|| {
        ProducerError::RenderFailed(format!(
            "ffmpeg printed no PSNR/SSIM summary comparing {}: {}",
            video.display(),
            process::tail(&text, 800)
        ))
    })
}

fn field(line: &str, key: &str) -> Option<f64> {
    let v = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key))?;
    if v == "inf" {
        Some(f64::INFINITY)
    } else {
        v.parse().ok()
    }
}

/// Reads the summary lines of ffmpeg's psnr and ssim filters.
fn parse_summary(stderr: &str) -> Option<Quality> {
    let psnr = stderr.lines().find(|l| l.contains("PSNR y:"))?;
    let ssim = stderr.lines().find(|l| l.contains("SSIM Y:"))?;
    Some(Quality {
        psnr: field(psnr, "average:")?,
        psnr_y: field(psnr, "y:")?,
        ssim: field(ssim, "All:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_parse() {
        let text = "[Parsed_psnr_6 @ 0x1] PSNR y:44.10 u:47.20 v:46.90 average:44.95 min:40.1 max:50.2\n\
                    [Parsed_ssim_7 @ 0x2] SSIM Y:0.991 (20.4) U:0.990 (20.0) V:0.989 (19.5) All:0.9905 (20.2)\n";
        let q = parse_summary(text).unwrap();
        assert_eq!((q.psnr, q.psnr_y, q.ssim), (44.95, 44.10, 0.9905));
        assert!(parse_summary("no summary").is_none());
    }
}
