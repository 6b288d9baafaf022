//! ffprobe as an independent oracle for the tests. The producer itself
//! probes through ffmpeg alone (`hyperframes_producer::encode::probe`), because the
//! function may spawn only its bundled Chromium and ffmpeg; the tests check
//! its outputs (and its probes) with another program.

use std::path::Path;
use std::process::Command;

use hyperframes_producer::encode::probe::VideoProbe;
use serde_json::Value;

fn ffprobe(args: &[&str], path: &Path) -> Result<Vec<u8>, String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe is not installed: run scripts/test.sh --install-only (apt ffmpeg)");
    if !out.status.success() {
        return Err(format!(
            "ffprobe {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

fn num(x: &Value) -> f64 {
    x.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| x.as_f64())
        .unwrap_or(0.0)
}

/// The first video stream, its packets counted.
pub fn probe_video(path: &Path) -> Result<VideoProbe, String> {
    let out = ffprobe(
        &[
            "-count_packets",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_packets,r_frame_rate,avg_frame_rate,codec_name,pix_fmt,duration:format=duration:format_tags:stream_tags",
            "-of",
            "json",
        ],
        path,
    )?;
    let v: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    let s = &v["streams"][0];
    let mut tags = v["format"]["tags"].as_object().cloned().unwrap_or_default();
    if let Some(st) = s["tags"].as_object() {
        for (k, val) in st {
            tags.entry(k.clone()).or_insert(val.clone());
        }
    }
    let stream_duration = num(&s["duration"]);
    Ok(VideoProbe {
        frames: num(&s["nb_read_packets"]) as u64,
        duration: if stream_duration > 0.0 {
            stream_duration
        } else {
            num(&v["format"]["duration"])
        },
        r_frame_rate: s["r_frame_rate"].as_str().unwrap_or("").into(),
        avg_frame_rate: s["avg_frame_rate"].as_str().unwrap_or("").into(),
        codec: s["codec_name"].as_str().unwrap_or("").into(),
        pix_fmt: s["pix_fmt"].as_str().unwrap_or("").into(),
        tags: tags
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    })
}

/// Duration of the first audio stream, None when there is none.
pub fn probe_audio_duration(path: &Path) -> Result<Option<f64>, String> {
    let out = ffprobe(
        &[
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=duration",
            "-of",
            "json",
        ],
        path,
    )?;
    let v: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    Ok(v["streams"].get(0).map(|s| num(&s["duration"])))
}

/// The container's format name, None when ffprobe cannot read the file.
pub fn format_name(path: &Path) -> Option<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=format_name",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe is not installed: run scripts/test.sh --install-only (apt ffmpeg)");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["format"]["format_name"].as_str().map(String::from)
}

/// Keyframe timestamps (seconds) of the first video stream.
pub fn keyframe_times(path: &Path) -> Result<Vec<f64>, String> {
    let out = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
        ],
        path,
    )?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect())
}
