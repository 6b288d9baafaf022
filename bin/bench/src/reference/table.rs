//! One row per case or demo, the verdict of each, and the printed table.

use std::path::Path;

use anyhow::{anyhow, Result};
use hyperframes_producer::encode::probe::probe_video;

use super::cases::Repo;
use super::harness::{self, Meta};
use super::Peer;

/// Registry targets: average and worst-frame PSNR, and per frame the share
/// of luma samples off by more than [`OUTLIER_LEVELS`].
pub const REGISTRY_MIN_AVG_DB: f64 = 30.0;
pub const REGISTRY_MIN_WORST_DB: f64 = 25.0;
pub const OUTLIER_LEVELS: u8 = 48;
pub const MAX_OUTLIER_SHARE: f64 = 0.001;
/// Our total time over the peer's for the whole registry list.
pub const MAX_TIME_RATIO: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// Not rendered (not a case, or needs what is not offline), with why.
    Skip,
    /// The peer itself did not render it offline: nothing to compare with.
    PeerFailed,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skipped",
            Verdict::PeerFailed => "peer failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub verdict: Verdict,
    pub psnr_avg: Option<f64>,
    pub psnr_worst: Option<f64>,
    pub frames: Option<(u64, u64)>,
    pub ours_s: Option<f64>,
    pub peer_s: Option<f64>,
    pub causes: Vec<String>,
}

/// The mean of finite values (a checkpoint equal to the peer's is +inf and
/// counts as 100 dB, as ffmpeg's averages do not exist for it).
fn mean(v: &[f64]) -> f64 {
    v.iter().map(|p| p.min(100.0)).sum::<f64>() / v.len().max(1) as f64
}

impl Row {
    pub fn new(name: &str) -> Row {
        Row {
            name: name.to_string(),
            verdict: Verdict::Pass,
            psnr_avg: None,
            psnr_worst: None,
            frames: None,
            ours_s: None,
            peer_s: None,
            causes: Vec::new(),
        }
    }

    pub fn skip(mut self, reason: &str) -> Row {
        self.verdict = Verdict::Skip;
        self.causes.push(reason.to_string());
        self
    }

    fn fail(&mut self, cause: String) {
        self.verdict = Verdict::Fail;
        self.causes.push(cause);
    }

    fn probe_frames(&mut self, ours: &Path, theirs: &Path) -> Result<(u64, u64)> {
        let f = |p: &Path| probe_video(p).map(|v| v.frames).map_err(|e| anyhow!("{e}"));
        let frames = (f(ours)?, f(theirs)?);
        self.frames = Some(frames);
        Ok(frames)
    }

    /// The reference harness's rule with the case's own thresholds.
    pub fn judge_case(&mut self, ours: &Path, theirs: &Path, meta: &Meta) -> Result<()> {
        let (a, b) = self.probe_frames(ours, theirs)?;
        let frames = harness::checkpoint_frames(a.min(b), meta.fps);
        let psnr = harness::psnr_at_frames(ours, theirs, &frames)?;
        self.psnr_avg = Some(mean(&psnr));
        let (worst_at, worst) =
            psnr.iter().enumerate().fold(
                (0, f64::INFINITY),
                |m, (i, p)| if *p < m.1 { (i, *p) } else { m },
            );
        self.psnr_worst = Some(worst);
        let failed = harness::failures(&psnr, meta.min_psnr);
        if failed > meta.max_frame_failures {
            self.fail(format!(
                "{failed} of {} checkpoints below minPsnr {} dB (allowed {}); worst {worst:.2} dB at frame {}",
                psnr.len(),
                meta.min_psnr,
                meta.max_frame_failures,
                frames[worst_at]
            ));
        }
        if a != b {
            self.causes.push(format!(
                "frame count differs (ours {a}, peer {b}): compared over the shorter"
            ));
        }
        if let Some(c) = harness::audio_correlation(ours, theirs, meta.max_audio_lag_windows)? {
            if c < meta.min_audio_correlation {
                self.fail(format!(
                    "audio envelope correlation {c:.3} < minAudioCorrelation {}",
                    meta.min_audio_correlation
                ));
            }
        }
        Ok(())
    }

    /// The registry targets: every frame compared.
    pub fn judge_registry(&mut self, ours: &Path, theirs: &Path) -> Result<()> {
        let (a, b) = self.probe_frames(ours, theirs)?;
        if a != b {
            self.fail(format!("frame count: ours {a}, peer {b}"));
        }
        let psnr = harness::psnr_all_frames(ours, theirs)?;
        let (avg, worst) = (
            mean(&psnr),
            psnr.iter().copied().fold(f64::INFINITY, f64::min),
        );
        (self.psnr_avg, self.psnr_worst) = (Some(avg), Some(worst));
        if avg < REGISTRY_MIN_AVG_DB {
            self.fail(format!("average {avg:.2} dB < {REGISTRY_MIN_AVG_DB} dB"));
        }
        if worst < REGISTRY_MIN_WORST_DB {
            let at = psnr.iter().position(|p| *p == worst).unwrap_or(0);
            self.fail(format!(
                "worst frame {at}: {worst:.2} dB < {REGISTRY_MIN_WORST_DB} dB"
            ));
        }
        let outliers = harness::luma_outliers(ours, theirs, OUTLIER_LEVELS)?;
        let bad: Vec<_> = outliers
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > MAX_OUTLIER_SHARE)
            .collect();
        if let Some((at, share)) = bad.iter().max_by(|x, y| x.1.total_cmp(y.1)) {
            self.fail(format!(
                "{} frame(s) with > {:.1} % of luma off by > {OUTLIER_LEVELS} levels (worst frame {at}: {:.2} %)",
                bad.len(),
                MAX_OUTLIER_SHARE * 100.0,
                *share * 100.0
            ));
        }
        Ok(())
    }

    pub fn ratio(&self) -> Option<f64> {
        Some(self.ours_s? / self.peer_s?)
    }

    pub fn one_line(&self) -> String {
        format!(
            "{} {} {} {}",
            self.name,
            self.verdict.as_str(),
            opt(self.psnr_avg, 2),
            self.causes.join("; ")
        )
    }

    fn markdown(&self) -> String {
        let frames = self.frames.map_or("-".into(), |(a, b)| format!("{a}/{b}"));
        let ratio = self.ratio().map_or("-".into(), |r| format!("{r:.2}x"));
        format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            self.name,
            self.verdict.as_str(),
            opt(self.psnr_avg, 2),
            opt(self.psnr_worst, 2),
            frames,
            ratio,
            self.causes.join("; ")
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "case": self.name,
            "verdict": self.verdict.as_str(),
            "psnrAvg": self.psnr_avg.filter(|v| v.is_finite()),
            "psnrWorst": self.psnr_worst.filter(|v| v.is_finite()),
            "framesOurs": self.frames.map(|f| f.0),
            "framesPeer": self.frames.map(|f| f.1),
            "oursSeconds": self.ours_s,
            "peerSeconds": self.peer_s,
            "causes": self.causes,
        })
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// Prints the table (or JSON) and the summary; true when every item the
/// peer rendered passed (and, for the registry, the time target holds).
pub fn print(rows: &[Row], registry: bool, json: bool, repo: &Repo, peer: &Peer) -> bool {
    let compared: Vec<_> = rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Pass | Verdict::Fail))
        .collect();
    let passed = compared
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    let (ours, theirs): (f64, f64) = compared
        .iter()
        .filter_map(|r| Some((r.ours_s?, r.peer_s?)))
        .fold((0.0, 0.0), |s, (a, b)| (s.0 + a, s.1 + b));
    let ratio = ours / theirs;
    let time_ok = !registry || ratio <= MAX_TIME_RATIO;
    if json {
        let v = serde_json::json!({
            "repoCommit": repo.commit,
            "peer": peer.version,
            "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
            "passed": passed,
            "compared": compared.len(),
            "timeRatio": ratio.is_finite().then_some(ratio),
        });
        println!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        let what = if registry {
            "registry demos (targets: >= 30 dB average, >= 25 dB worst frame, same frames, <= 0.1 % luma off by > 48 per frame)"
        } else {
            "regression cases (each with its own meta.json thresholds, the reference harness's rule)"
        };
        println!(
            "## heygen-com/hyperframes {} at {}: ours against {}\n",
            what, &repo.commit, peer.version
        );
        println!("| case | verdict | PSNR avg dB | PSNR worst dB | frames ours/peer | time ours/peer | cause |\n| --- | --- | --- | --- | --- | --- | --- |");
        for r in rows {
            print!("{}", r.markdown());
        }
        println!(
            "\n- passed {passed} of {} compared ({} skipped, {} the peer did not render)\n- total time ours {ours:.1} s / peer {theirs:.1} s = {ratio:.2}x{}",
            compared.len(),
            rows.iter().filter(|r| r.verdict == Verdict::Skip).count(),
            rows.iter().filter(|r| r.verdict == Verdict::PeerFailed).count(),
            if registry { format!(" (target <= {MAX_TIME_RATIO}x): {}", if time_ok { "met" } else { "NOT met" }) } else { String::new() }
        );
    }
    passed == compared.len() && time_ok
}
