//! Output checks shared by the test harness and the bench: per-frame PSNR
//! between two videos (ffmpeg's psnr filter, index-aligned) and stream facts.

use std::path::Path;
use std::time::Duration;

use crate::errors::{ProducerError, Result};
use crate::{encode::ffmpeg, process};

/// PSNR (average over planes, dB; `f64::INFINITY` for identical frames) of every
/// frame of `a` against the same-index frame of `b`.
pub fn psnr_per_frame(a: &Path, b: &Path) -> Result<Vec<f64>> {
    let dir = crate::staging::temp("hf-psnr-")?;
    let stats = dir.path().join("psnr.log");
    let filter = format!(
        "[0:v]format=yuv420p,settb=1/1,setpts=N[a];[1:v]format=yuv420p,settb=1/1,setpts=N[b];[a][b]psnr=shortest=1:repeatlast=0:stats_file={}",
        stats.display()
    );
    let r = process::run_ok(
        ffmpeg::command(ffmpeg::Talk::Quiet)
            .arg("-i")
            .arg(a)
            .arg("-i")
            .arg(b)
            .args(["-filter_complex", &filter, "-f", "null", "-"]),
        Duration::from_secs(300),
        "ffmpeg psnr",
        ProducerError::RenderFailed,
    );
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    r?;
    Ok(text
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|kv| kv.strip_prefix("psnr_avg:"))
                .map(|v| {
                    if v == "inf" {
                        f64::INFINITY
                    } else {
                        v.parse().unwrap_or(0.0)
                    }
                })
        })
        .collect())
}
