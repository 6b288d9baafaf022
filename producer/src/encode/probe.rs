//! Media probes, through `ffmpeg` alone: the producer's only way to read
//! container and stream facts, locally and on Lambda.
//!
//! The bundled Lambda ffmpeg (imageio-ffmpeg's static build) comes without
//! ffprobe, and shipping a second 60+ MB binary of another version only to
//! read container facts would eat into Lambda's package limit; a function
//! may spawn only its bundled Chromium and ffmpeg. ffmpeg reports the same
//! facts: `-f framecrc` lists every packet of a stream (so the count is
//! exact, like `ffprobe -count_packets`, and durations come from packet
//! timestamps), and the input description on stderr carries the format,
//! codec, pixel format, frame rate and metadata tags. The tests check these
//! probes against ffprobe on real files.

use std::path::Path;
use std::time::Duration;

use crate::encode::ffmpeg;
use crate::errors::{ProducerError, Result};
use crate::process;

/// Stream facts the harness and assemble check.
#[derive(Debug, Clone, Default)]
pub struct VideoProbe {
    pub frames: u64,
    pub duration: f64,
    pub r_frame_rate: String,
    pub avg_frame_rate: String,
    pub codec: String,
    pub pix_fmt: String,
    pub tags: serde_json::Map<String, serde_json::Value>,
}

/// Container facts of a media file.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatProbe {
    /// ffmpeg's demuxer names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub format_name: String,
    /// From the container header, when it has one.
    pub duration: Option<f64>,
}

/// What `-f framecrc` says about one stream's packets.
#[derive(Debug, Default, PartialEq)]
struct Packets {
    count: u64,
    /// End of the last packet minus start of the first, in seconds.
    duration: f64,
    /// End of the last packet minus the later of 0 and the first's start:
    /// what a player presents. An AAC stream's priming packet sits at a
    /// negative time (-1024 samples) and is not heard.
    played: f64,
}

/// Parses `-f framecrc` output: `#tb 0: 1/15360` then
/// `stream, dts, pts, duration, size, crc` lines.
fn parse_framecrc(text: &str) -> Packets {
    let mut tb = (1.0, 1.0);
    let (mut count, mut first, mut end) = (0u64, None::<i64>, i64::MIN);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#tb ") {
            if let Some((_, frac)) = rest.split_once(':') {
                if let Some((n, d)) = frac.trim().split_once('/') {
                    tb = (n.parse().unwrap_or(1.0), d.parse().unwrap_or(1.0));
                }
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() < 5 {
            continue;
        }
        let pts: i64 = f[2].parse().unwrap_or(0);
        let dur: i64 = f[3].parse().unwrap_or(0);
        count += 1;
        first = Some(first.map_or(pts, |p: i64| p.min(pts)));
        end = end.max(pts + dur);
    }
    let span = |from: i64| {
        if end > from {
            (end - from) as f64 * tb.0 / tb.1
        } else {
            0.0
        }
    };
    let (duration, played) = first.map_or((0.0, 0.0), |f| (span(f), span(f.max(0))));
    Packets {
        count,
        duration,
        played,
    }
}

/// The facts ffmpeg prints about an input on stderr.
#[derive(Debug, Default, PartialEq)]
struct InputInfo {
    format_tags: Vec<(String, String)>,
    video_tags: Vec<(String, String)>,
    codec: String,
    pix_fmt: String,
    fps: String,
    has_video: bool,
    has_audio: bool,
    /// The first audio stream has one channel.
    audio_mono: bool,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn parse_input(stderr: &str) -> InputInfo {
    let mut info = InputInfo::default();
    // Which metadata block we are in: (indent of its entries, video stream?).
    let mut block: Option<(usize, bool)> = None;
    let mut in_video = false;
    let mut in_input = false;
    for line in stderr.lines() {
        let t = line.trim();
        if line.starts_with("Input #") {
            in_input = true;
            continue;
        }
        if line.starts_with("Output #") || line.starts_with("Stream mapping") {
            in_input = false;
            block = None;
        }
        if !in_input {
            continue;
        }
        if let Some((min, video)) = block {
            if indent(line) >= min && !t.starts_with("Stream #") {
                if let Some((k, v)) = t.split_once(':') {
                    let kv = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                    if video {
                        info.video_tags.push(kv);
                    } else {
                        info.format_tags.push(kv);
                    }
                }
                continue;
            }
            block = None;
        }
        if t == "Metadata:" {
            let stream_level = indent(line) > 2;
            if !stream_level {
                block = Some((indent(line) + 2, false));
            } else if in_video {
                block = Some((indent(line) + 2, true));
            } else {
                block = Some((usize::MAX, false));
            }
            continue;
        }
        if t.starts_with("Stream #") {
            in_video = false;
            if let Some((_, desc)) = t.split_once(": Video: ") {
                if !info.has_video {
                    in_video = true;
                    info.has_video = true;
                    let parts: Vec<&str> = desc.split(", ").collect();
                    info.codec = parts[0].split_whitespace().next().unwrap_or("").into();
                    info.pix_fmt = parts
                        .get(1)
                        .map(|p| p.split('(').next().unwrap_or("").trim().to_string())
                        .unwrap_or_default();
                    info.fps = parts
                        .iter()
                        .find_map(|p| p.strip_suffix(" fps"))
                        .unwrap_or("")
                        .trim()
                        .to_string();
                }
            } else if let Some((_, desc)) = t.split_once(": Audio: ") {
                if !info.has_audio {
                    info.has_audio = true;
                    info.audio_mono = desc
                        .split(", ")
                        .any(|p| p == "mono" || p.starts_with("1 channels"));
                }
            }
        }
    }
    info
}

/// `30` -> `30/1`, `29.97` -> `30000/1001`, as ffprobe prints rates.
fn rate_fraction(fps: &str) -> String {
    match fps {
        "" => String::new(),
        "29.97" => "30000/1001".into(),
        "59.94" => "60000/1001".into(),
        "23.98" | "23.976" => "24000/1001".into(),
        f if f.parse::<u64>().is_ok() => format!("{f}/1"),
        f => f.to_string(),
    }
}

/// Lists one stream's packets; stderr describes the input.
fn framecrc(path: &Path, stream: &str) -> Result<process::Output> {
    let out = process::run(
        ffmpeg::command(ffmpeg::Talk::Describe)
            .arg("-i")
            .arg(path)
            .args(["-map", stream, "-c", "copy", "-f", "framecrc", "-"]),
        Duration::from_secs(120),
        "ffmpeg probe",
    )?;
    Ok(out)
}

/// Probes the first video stream (counting its packets, one per frame).
pub fn probe_video(path: &Path) -> Result<VideoProbe> {
    let out = framecrc(path, "0:v:0")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let info = parse_input(&stderr);
    if !out.status.success() || !info.has_video {
        return Err(ProducerError::AssembleFailed(format!(
            "ffmpeg probe of {} found no readable video stream: {}",
            path.display(),
            out.stderr_tail()
        )));
    }
    let packets = parse_framecrc(&String::from_utf8_lossy(&out.stdout));
    let mut tags = serde_json::Map::new();
    for (k, v) in info.format_tags.into_iter().chain(info.video_tags) {
        tags.entry(k).or_insert(serde_json::Value::String(v));
    }
    let rate = rate_fraction(&info.fps);
    Ok(VideoProbe {
        frames: packets.count,
        duration: packets.duration,
        r_frame_rate: rate.clone(),
        avg_frame_rate: rate,
        codec: info.codec,
        pix_fmt: info.pix_fmt,
        tags,
    })
}

/// The first audio stream of a file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioProbe {
    pub duration: f64,
    /// One channel: the mix maps it into both stereo channels at its own
    /// level (ffmpeg's default upmix lowers it by 3 dB).
    pub mono: bool,
}

/// Duration of the first audio stream, None when the file has no audio.
pub fn probe_audio_duration(path: &Path) -> Result<Option<f64>> {
    Ok(probe_audio(path)?.map(|a| a.duration))
}

/// The first audio stream, None when the file has no audio.
pub fn probe_audio(path: &Path) -> Result<Option<AudioProbe>> {
    let out = framecrc(path, "0:a:0")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let info = parse_input(&stderr);
    if !info.has_audio {
        if stderr.contains("Input #") {
            return Ok(None);
        }
        return Err(ProducerError::NotMediaPayload(format!(
            "{} is not a readable media file: {}",
            path.display(),
            out.stderr_tail()
        )));
    }
    if !out.status.success() {
        return Err(ProducerError::NotMediaPayload(format!(
            "ffmpeg probe of {} failed: {}",
            path.display(),
            out.stderr_tail()
        )));
    }
    Ok(Some(AudioProbe {
        // What is heard: the assemble copies a mix whose played length is
        // the video's (re-encoding 10 minutes of it cost 10 CPU-s).
        duration: parse_framecrc(&String::from_utf8_lossy(&out.stdout)).played,
        mono: info.audio_mono,
    }))
}

/// The container's format and duration; a file ffmpeg cannot open as
/// media is `NOT_MEDIA_PAYLOAD` with ffmpeg's reason.
pub fn probe_format(path: &Path) -> Result<FormatProbe> {
    let out = process::run(
        ffmpeg::command(ffmpeg::Talk::Describe).arg("-i").arg(path),
        Duration::from_secs(60),
        "ffmpeg probe",
    )?;
    // ffmpeg exits 1 here (no output file): readability is the Input line.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let format = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Input #0, "))
        .and_then(|l| l.rsplit_once(", from '"))
        .map(|(f, _)| f.to_string());
    let duration = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Duration: "))
        .and_then(|l| l.split(',').next())
        .and_then(parse_clock);
    match format {
        Some(format_name) => Ok(FormatProbe {
            format_name,
            duration,
        }),
        None => Err(ProducerError::NotMediaPayload(format!(
            "{} is not a readable audio/video file: {}",
            path.display(),
            out.stderr_tail()
        ))),
    }
}

/// `HH:MM:SS.ss` -> seconds.
fn parse_clock(s: &str) -> Option<f64> {
    let mut parts = s.trim().split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STDERR: &str = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'chunk.mp4':
  Metadata:
    major_brand     : isom
    hyperframes_plan_hash: abc123
    hyperframes_chunk_index: 2
  Duration: 00:00:00.50, start: 0.000000, bitrate: 1234 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 640x360 [SAR 1:1 DAR 16:9], 1200 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
      Metadata:
        handler_name    : VideoHandler
        vendor_id       : [0][0][0][0]
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 192 kb/s (default)
      Metadata:
        handler_name    : SoundHandler
Stream mapping:
  Stream #0:0 -> #0:0 (copy)
";

    #[test]
    fn input_description_gives_codec_format_rate_and_tags() {
        let i = parse_input(STDERR);
        assert!(i.has_video && i.has_audio);
        assert_eq!(i.codec, "h264");
        assert_eq!(i.pix_fmt, "yuv420p");
        assert_eq!(i.fps, "30");
        assert!(i
            .format_tags
            .contains(&("hyperframes_chunk_index".into(), "2".into())));
        assert_eq!(
            i.video_tags,
            vec![
                ("handler_name".to_string(), "VideoHandler".to_string()),
                ("vendor_id".to_string(), "[0][0][0][0]".to_string())
            ]
        );
        assert_eq!(rate_fraction("30"), "30/1");
        assert_eq!(rate_fraction("29.97"), "30000/1001");
    }

    #[test]
    fn framecrc_counts_packets_and_spans_timestamps() {
        let text = "#software: Lavf\n#tb 0: 1/15360\n#media_type 0: video\n\
                    0,       -512,          0,      512,    12345, 0x1\n\
                    0,          0,       1024,      512,      345, 0x2\n\
                    0,        512,        512,      512,      345, 0x3\n";
        let p = parse_framecrc(text);
        assert_eq!(p.count, 3);
        assert!((p.duration - 1536.0 / 15360.0).abs() < 1e-9, "{p:?}");
        assert_eq!(parse_framecrc("").count, 0);
    }

    #[test]
    fn an_aac_priming_packet_before_zero_is_not_played() {
        let text = "#tb 0: 1/48000
#media_type 0: audio
                    0,      -1024,      -1024,     1024,      6, 0x1
                    0,          0,          0,     1024,    300, 0x2
                    0,       1024,       1024,     1024,    300, 0x3
";
        let p = parse_framecrc(text);
        assert!((p.duration - 3072.0 / 48000.0).abs() < 1e-9, "{p:?}");
        assert!((p.played - 2048.0 / 48000.0).abs() < 1e-9, "{p:?}");
    }
}
