//! `assemble()`: stitches chunk outputs into the final video without
//! re-encoding (`-f concat -c copy`), fits the plan's audio to exactly
//! frames/fps, muxes it and applies `+faststart` for mp4.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use crate::chunk::{frame_dir_sha256, remove_path};
use crate::config::Format;
use crate::encode::ffmpeg;
use crate::errors::{ProducerError, Result};
use crate::plan::{LoadedPlan, PRODUCER_VERSION};
use crate::{encode::probe, process, staging};

mod identity;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssembleOutcome {
    pub output_path: PathBuf,
    pub frames_encoded: u64,
    pub file_size: u64,
    pub duration_ms: u128,
    pub has_audio: bool,
}

const STEP_TIMEOUT: Duration = Duration::from_secs(600);

/// Assembles with the plan's own audio (`audio.m4a`) when it has one.
pub fn assemble(plan_dir: &Path, chunks: &[PathBuf], out: &Path) -> Result<AssembleOutcome> {
    assemble_with_audio(plan_dir, chunks, plan_audio(plan_dir).as_deref(), out)
}

/// The plan's own audio track, when it has one.
fn plan_audio(plan_dir: &Path) -> Option<PathBuf> {
    let audio = plan_dir.join("audio.m4a");
    audio.is_file().then_some(audio)
}

/// [`assemble`] for chunks the caller rendered from this plan moments ago
/// into a directory of its own (the local runner): their identity check,
/// which exists for chunks that travelled (S3, a caller's list), is
/// skipped (its tags are read in process, well under a millisecond per
/// chunk; an odd chunk would cost an ffmpeg probe, about 0.14 CPU-s).
pub fn assemble_rendered_here(
    plan_dir: &Path,
    chunks: &[PathBuf],
    out: &Path,
) -> Result<AssembleOutcome> {
    let audio = plan_audio(plan_dir);
    assemble_checked(plan_dir, chunks, audio.as_deref(), out, false)
}

pub fn assemble_with_audio(
    plan_dir: &Path,
    chunks: &[PathBuf],
    audio: Option<&Path>,
    out: &Path,
) -> Result<AssembleOutcome> {
    assemble_checked(plan_dir, chunks, audio, out, true)
}

fn assemble_checked(
    plan_dir: &Path,
    chunks: &[PathBuf],
    audio: Option<&Path>,
    out: &Path,
    verify_identity: bool,
) -> Result<AssembleOutcome> {
    let started = std::time::Instant::now();
    let plan = LoadedPlan::load(plan_dir)?;
    if chunks.len() != plan.chunks.len() {
        return Err(ProducerError::ChunkMissing(format!(
            "assemble got {} chunk paths but the plan has {} chunks; pass every chunk in index order",
            chunks.len(),
            plan.chunks.len()
        )));
    }
    for (i, c) in chunks.iter().enumerate() {
        if !c.exists() {
            return Err(ProducerError::ChunkMissing(format!(
                "chunk {i} ({}) does not exist; render it with render_chunk(plan, {i}, ..)",
                c.display()
            )));
        }
    }
    if verify_identity {
        identity::verify_all_chunks(&plan, chunks)?;
    }
    if let Some(parent) = out.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| ProducerError::io(parent, e))?;
        }
    }
    // The output is built in a private directory beside `out` (with the
    // concat's intermediates) and renamed into place; the directory goes
    // on every path.
    let staging = staging::beside(out, "assemble")?;
    let tmp = staging.path().join("out");
    let frames = match plan.format() {
        Format::PngSequence => merge_frame_dirs(chunks, audio, &tmp)?,
        f => assemble_video(&plan, f, chunks, audio, &tmp, staging.path())?,
    };
    remove_path(out);
    std::fs::rename(&tmp, out).map_err(|e| ProducerError::io(out, e))?;
    let file_size = if out.is_dir() {
        crate::plan::digest::list_files(out)?
            .iter()
            .map(|(_, p)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum()
    } else {
        std::fs::metadata(out)
            .map_err(|e| ProducerError::io(out, e))?
            .len()
    };
    Ok(AssembleOutcome {
        output_path: out.to_path_buf(),
        frames_encoded: frames,
        file_size,
        duration_ms: started.elapsed().as_millis(),
        has_audio: audio.is_some(),
    })
}

fn merge_frame_dirs(chunks: &[PathBuf], audio: Option<&Path>, tmp: &Path) -> Result<u64> {
    std::fs::create_dir_all(tmp).map_err(|e| ProducerError::io(tmp, e))?;
    let mut n = 0u64;
    for c in chunks {
        for (rel, path) in crate::plan::digest::list_files(c)? {
            if !rel.ends_with(".png") || rel.contains('/') {
                continue;
            }
            n += 1;
            let dest = tmp.join(format!("frame_{n:06}.png"));
            if std::fs::hard_link(&path, &dest).is_err() {
                std::fs::copy(&path, &dest).map_err(|e| ProducerError::io(&dest, e))?;
            }
        }
    }
    if let Some(a) = audio {
        let dest = tmp.join("audio.m4a");
        std::fs::copy(a, &dest).map_err(|e| ProducerError::io(&dest, e))?;
    }
    Ok(n)
}

fn provenance(format: Format) -> Vec<String> {
    let mut v = vec![
        "-map_metadata".into(),
        "-1".into(),
        "-metadata".into(),
        "hyperframes_renderer=hyperframes".into(),
        "-metadata".into(),
        format!("hyperframes_version={PRODUCER_VERSION}"),
        "-fflags".into(),
        "+bitexact".into(),
    ];
    if format == Format::Webm {
        // Stream tags were dropped above; without alpha_mode decoders ignore the alpha plane.
        v.extend(["-metadata:s:v:0".into(), "alpha_mode=1".into()]);
    }
    v
}

fn ff() -> Command {
    ffmpeg::command(ffmpeg::Talk::Quiet)
}

fn run_ff(mut cmd: Command, what: &str) -> Result<()> {
    process::run_ok(&mut cmd, STEP_TIMEOUT, what, ProducerError::AssembleFailed)?;
    Ok(())
}

/// Concatenates the chunks (no re-encode), checks the frame count and
/// writes `tmp`, with the audio fitted to the video's length when there is
/// some. The last ffmpeg pass writes the finished file (faststart for mp4):
/// without audio that is the concat itself, one pass over the video in all.
/// Intermediates go to `work`.
fn assemble_video(
    plan: &LoadedPlan,
    format: Format,
    chunks: &[PathBuf],
    audio: Option<&Path>,
    tmp: &Path,
    work: &Path,
) -> Result<u64> {
    let fps = plan.fps().to_string();
    let Some(audio) = audio else {
        concat(plan, chunks, tmp, &output_options(format, &fps, true), work)?;
        return check_frames(plan, tmp);
    };
    let joined = work.join(format!("concat.{}", format.extension()));
    concat(
        plan,
        chunks,
        &joined,
        &output_options(format, &fps, false),
        work,
    )?;
    let frames = check_frames(plan, &joined)?;
    let fitted = fit_audio(audio, frames as f64 / f64::from(plan.fps()), work)?;
    let mut m = ff();
    m.arg("-i").arg(&joined).arg("-i").arg(&fitted);
    m.args(["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]);
    match format {
        Format::Webm => m.args(["-c:a", "libopus", "-b:a", "128k"]),
        _ => m.args(["-c:a", "copy"]),
    };
    m.args(output_options(format, &fps, true)).arg(tmp);
    run_ff(m, "mux audio")?;
    Ok(frames)
}

/// The frame count of `video`, which must be the plan's.
fn check_frames(plan: &LoadedPlan, video: &Path) -> Result<u64> {
    let frames = probe::probe_video(video)?.frames;
    if frames != plan.plan.total_frames {
        return Err(ProducerError::AssembleFailed(format!(
            "concatenated video has {frames} frames but the plan has {}",
            plan.plan.total_frames
        )));
    }
    Ok(frames)
}

/// Output options of a video pass: provenance tags, the muxer by name
/// (staging names have no telling extension), and on the `last` pass of an
/// mp4 the index in front, so players start before the whole file is
/// downloaded.
fn output_options(format: Format, fps: &str, last: bool) -> Vec<String> {
    let mut v = provenance(format);
    let flags = match format {
        Format::Mp4 if last => "+faststart+use_metadata_tags",
        Format::Mp4 | Format::Mov => "+use_metadata_tags",
        _ => "",
    };
    if !flags.is_empty() {
        v.extend(["-movflags".into(), flags.into()]);
    }
    v.extend(["-r", fps, "-f", format.muxer(), "-y"].map(String::from));
    v
}

/// `dest`: the chunks joined with `-c copy` (one input as is, several
/// through the concat demuxer), written with `output` options.
fn concat(
    plan: &LoadedPlan,
    chunks: &[PathBuf],
    dest: &Path,
    output: &[String],
    work: &Path,
) -> Result<()> {
    let fps = plan.fps().to_string();
    let mut cmd = ff();
    if chunks.len() == 1 {
        cmd.arg("-i").arg(&chunks[0]);
    } else {
        let list = work.join("list.txt");
        let mut text = String::new();
        for c in chunks {
            let abs = std::fs::canonicalize(c).map_err(|e| ProducerError::io(c, e))?;
            text.push_str(&format!(
                "file '{}'\n",
                abs.to_string_lossy().replace('\'', "'\\''")
            ));
        }
        std::fs::write(&list, text).map_err(|e| ProducerError::io(&list, e))?;
        cmd.args(["-r", &fps, "-f", "concat", "-safe", "0", "-i"])
            .arg(&list);
    }
    cmd.args(["-c", "copy"]).args(output).arg(dest);
    run_ff(cmd, "concat")
}

/// `work/audio.m4a`: the audio track at exactly `target` seconds (copied
/// when it already is, padded with silence or trimmed otherwise).
fn fit_audio(audio: &Path, target: f64, work: &Path) -> Result<PathBuf> {
    let have = probe::probe_audio_duration(audio)?.ok_or_else(|| {
        ProducerError::NotMediaPayload(format!("{} has no audio stream", audio.display()))
    })?;
    let fitted = work.join("audio.m4a");
    let mut c = ff();
    c.arg("-i").arg(audio);
    let t = format!("{target:.6}");
    if (have - target).abs() < 0.001 {
        c.args(["-c:a", "copy"]);
    } else {
        let filter = if have < target {
            format!("apad,atrim=0:{t}")
        } else {
            format!("atrim=duration={t},asetpts=PTS-STARTPTS")
        };
        c.args(["-af", &filter, "-t", &t, "-c:a", "aac", "-b:a", "192k"]);
    }
    c.args(["-fflags", "+bitexact", "-y"]).arg(&fitted);
    run_ff(c, "audio pad/trim")?;
    Ok(fitted)
}

/// Digest of an assembled output (file bytes, or the frame-dir digest).
pub fn output_sha256(path: &Path) -> Result<String> {
    if path.is_dir() {
        frame_dir_sha256(path)
    } else {
        crate::plan::digest::sha256_file(path)
    }
}
