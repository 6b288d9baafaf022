//! The calibration file: the one place the time model's numbers live.
//! `hyperframes bench render --calibrate` measures them on a machine and writes this
//! file; `render --estimate` reads it. The project ships one measured on
//! its development machine (`bin/render/calibration/default.json`, with its
//! provenance); a user recalibrates on a machine like theirs, or after a
//! producer change, and points `--calibration` (or `HF_CALIBRATION`) at it.
//!
//! The model: a worker with `c` cores renders a chunk of `f` frames at `m`
//! megapixels in `boot(c) + f * frame(m, c)`, where each term splits into a
//! part that does not speed up with cores and one that does (Amdahl):
//! `boot(c) = boot_serial + boot_parallel / c` and
//! `frame(m, c) = serial(m) + parallel(m) / c`, both linear in `m`.
//! Measuring at one core and at all of them fixes both parts, which is
//! what lets a 2-core measurement speak for a 6-vCPU Lambda worker (with a
//! wider range: see [`Calibration::uncertainty_for`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Which capture and encoder settings the frame costs hold for: read from
/// the calibration's own plans when it is measured, and compared with the
/// render's plan by every estimate.
pub use hyperframes_producer::plan::profile::CostProfile as Profile;

/// The file format version this build reads and writes.
///
/// Version 2 records the whole [`Profile`] (capture path and CRF besides
/// the format and preset), so an estimate can say when the render's
/// settings are not the ones measured.
pub const VERSION: u32 = 2;

/// The calibration the project ships (measured on its development machine).
pub const SHIPPED: &str = include_str!("../../calibration/default.json");

/// Environment variable naming a calibration file.
pub const ENV: &str = "HF_CALIBRATION";

/// A quantity linear in megapixels: `base + per_megapixel * m`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerMegapixel {
    pub base: f64,
    pub per_megapixel: f64,
}

impl PerMegapixel {
    pub fn at(&self, megapixels: f64) -> f64 {
        (self.base + self.per_megapixel * megapixels).max(0.0)
    }
}

/// Where the numbers came from, printed with every estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// When (UTC, RFC 3339).
    pub measured_at: String,
    /// The command that measured it.
    pub command: String,
    /// CPU model and core count of the machine.
    pub host: String,
    /// The 1-minute load average at the end (a shared machine slows every row).
    pub load_average: Option<f64>,
    /// The producer's version string.
    pub producer: String,
    /// Free text: what was rendered, caveats.
    pub notes: String,
}

/// Chunk rendering: browser boot and per-frame capture + encode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkModel {
    pub boot_serial_ms: f64,
    pub boot_parallel_ms: f64,
    pub frame_serial_ms: PerMegapixel,
    pub frame_parallel_ms: PerMegapixel,
    /// Encoded bytes per frame (chunk and output size), linear in megapixels.
    pub bytes_per_frame: PerMegapixel,
}

/// Assembling: fixed cost plus a per-chunk cost (identity checks, concat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssembleModel {
    pub fixed_ms: f64,
    pub per_chunk_ms: f64,
}

/// What the estimate assumes about Lambda and S3 that cannot be measured
/// on this machine, each with where the number comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    /// A cold start's billed init: unpacking Chromium and ffmpeg (measured
    /// by the Lambda package test, 2.1-2.2 s) plus runtime start.
    pub cold_start_ms: f64,
    /// Megabytes per second one invocation moves to or from S3.
    pub s3_mb_per_second: f64,
    /// Milliseconds per S3 request (first byte), requests overlapping 16 at a time.
    pub s3_request_ms: f64,
    /// Lambda core speed relative to the calibrating machine's cores.
    pub lambda_core_speed: f64,
    /// Where these numbers come from.
    pub source: String,
}

/// A calibration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Calibration {
    pub version: u32,
    pub provenance: Provenance,
    pub profile: Profile,
    /// The core counts measured (1 and the machine's).
    pub measured_cores: Vec<u32>,
    /// The frame sizes measured, in megapixels (smallest first). A render
    /// outside them is extrapolated along the fitted lines, so its range is
    /// wider ([`Calibration::uncertainty_at`]). Files written before this
    /// field lack it: no widening then.
    #[serde(default)]
    pub measured_megapixels: Vec<f64>,
    pub chunk: ChunkModel,
    pub assemble: AssembleModel,
    /// Plan time when no local plan was timed (site renders), ms.
    pub plan_ms: f64,
    pub platform: Platform,
    /// Relative error of the fit against its own measurements (at least 0.15).
    pub uncertainty: f64,
}

impl Calibration {
    /// The shipped calibration.
    pub fn shipped() -> Calibration {
        serde_json::from_str(SHIPPED).expect("the shipped calibration parses (tested)")
    }

    /// Reads a calibration file, refusing versions this build cannot read.
    pub fn load(path: &Path) -> Result<Calibration> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read calibration {}", path.display()))?;
        let c: Calibration = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a calibration file; write one with `hyperframes bench render --calibrate --out {}`",
                path.display(),
                path.display()
            )
        })?;
        if c.version != VERSION {
            bail!(
                "{} is calibration version {}, this build reads version {VERSION}; recalibrate with `hyperframes bench render --calibrate --out {}`",
                path.display(),
                c.version,
                path.display()
            );
        }
        Ok(c)
    }

    /// `--calibration FILE`, else `$HF_CALIBRATION`, else the shipped one;
    /// also says which it used.
    pub fn resolve(flag: Option<&Path>) -> Result<(Calibration, String)> {
        let path = flag
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(ENV).map(PathBuf::from));
        match path {
            Some(p) => Ok((Calibration::load(&p)?, p.display().to_string())),
            None => Ok((Calibration::shipped(), "shipped default".into())),
        }
    }

    /// Writes the file atomically (temp file and rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        let tmp = path.with_extension("json.tmp");
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Milliseconds for one chunk of `frames` frames at `megapixels` on `cores`.
    pub fn chunk_ms(&self, frames: u64, megapixels: f64, cores: f64) -> f64 {
        let c = self.chunk_ref();
        let cores = cores.max(0.1);
        let boot = c.boot_serial_ms + c.boot_parallel_ms / cores;
        let frame = c.frame_serial_ms.at(megapixels) + c.frame_parallel_ms.at(megapixels) / cores;
        boot + frames as f64 * frame
    }

    /// Encoded bytes of `frames` frames at `megapixels`.
    pub fn encoded_bytes(&self, frames: u64, megapixels: f64) -> f64 {
        frames as f64 * self.chunk_ref().bytes_per_frame.at(megapixels)
    }

    /// Milliseconds to assemble `chunks` chunks.
    pub fn assemble_ms(&self, chunks: u32) -> f64 {
        self.assemble.fixed_ms + self.assemble.per_chunk_ms * f64::from(chunks)
    }

    /// The relative range to put around a prediction for `cores`: the fit's
    /// own error, plus 10% for every doubling beyond the cores measured
    /// (the parallel share is extrapolated there).
    pub fn uncertainty_for(&self, cores: f64) -> f64 {
        let measured = self.measured_cores.iter().copied().max().unwrap_or(1) as f64;
        let extra = if cores > measured {
            0.10 * (cores / measured).log2()
        } else {
            0.0
        };
        self.uncertainty.max(0.15) + extra
    }

    /// [`Calibration::uncertainty_for`] `cores`, plus 10% for every
    /// doubling of the frame size beyond the sizes measured, either way:
    /// the per-frame lines are fitted through two sizes, and the local
    /// stack billed a 64x64 render at half of their value and a 4K one at
    /// about three times it (see the README's estimate section).
    pub fn uncertainty_at(&self, cores: f64, megapixels: f64) -> f64 {
        let base = self.uncertainty_for(cores);
        let (Some(lo), Some(hi)) = (
            self.measured_megapixels.iter().copied().reduce(f64::min),
            self.measured_megapixels.iter().copied().reduce(f64::max),
        ) else {
            return base;
        };
        let m = megapixels.max(1e-6);
        let doublings = if m < lo {
            (lo / m).log2()
        } else if m > hi {
            (m / hi).log2()
        } else {
            0.0
        };
        base + 0.10 * doublings
    }

    /// Whether `megapixels` lies outside the sizes measured.
    pub fn extrapolates_size(&self, megapixels: f64) -> bool {
        let v = &self.measured_megapixels;
        !v.is_empty()
            && (v.iter().all(|&m| megapixels < m * 0.999)
                || v.iter().all(|&m| megapixels > m * 1.001))
    }

    fn chunk_ref(&self) -> &ChunkModel {
        &self.chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_calibration_reads_and_says_where_it_came_from() {
        let c = Calibration::shipped();
        assert_eq!(c.version, VERSION);
        assert!(!c.provenance.measured_at.is_empty());
        assert!(c.provenance.command.contains("--calibrate"));
        assert!(!c.profile.capture.is_empty() && c.profile.crf.is_some());
        assert!(c.measured_cores.contains(&1));
        // More cores never make a chunk slower, and more pixels never faster.
        let a = c.chunk_ms(60, 2.07, 1.0);
        assert!(c.chunk_ms(60, 2.07, 6.0) <= a);
        assert!(c.chunk_ms(60, 0.23, 1.0) <= a);
    }

    #[test]
    fn sizes_outside_the_measured_ones_widen_the_range() {
        let c = Calibration::shipped();
        assert_eq!(c.measured_megapixels, [0.2304, 2.0736]);
        let base = c.uncertainty_for(2.0);
        assert_eq!(c.uncertainty_at(2.0, 1.0), base);
        assert!(!c.extrapolates_size(2.0736) && !c.extrapolates_size(0.5));
        // 4K is two doublings past 1080p; 160x90 two below 640x360.
        assert!((c.uncertainty_at(2.0, 8.2944) - base - 0.2).abs() < 1e-9);
        assert!((c.uncertainty_at(2.0, 0.0144) - base - 0.4).abs() < 1e-9);
        assert!(c.extrapolates_size(8.2944) && c.extrapolates_size(0.0041));
    }

    #[test]
    fn other_versions_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        let mut v: serde_json::Value = serde_json::from_str(SHIPPED).unwrap();
        v["version"] = 99.into();
        std::fs::write(&p, v.to_string()).unwrap();
        let e = Calibration::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("version 99") && e.contains("bench render --calibrate"),
            "{e}"
        );
        std::fs::write(&p, "{}").unwrap();
        let e = format!("{:#}", Calibration::load(&p).unwrap_err());
        assert!(e.contains("not a calibration file"), "{e}");
    }
}
