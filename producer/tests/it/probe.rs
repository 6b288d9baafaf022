//! The producer's probes (ffmpeg alone) against ffprobe on real files.

use std::process::Command;

use crate::common::ffprobe;
use hyperframes_producer::{encode::ffmpeg, encode::probe};

#[test]
fn ffmpeg_probes_agree_with_ffprobe_on_a_real_file() {
    crate::common::require_tools();
    let dir = tempfile::tempdir().unwrap();
    let mp4 = dir.path().join("t.mp4");
    let made = Command::new(ffmpeg::ffmpeg_bin())
        .args(["-v", "error", "-y", "-f", "lavfi"])
        .args(["-i", "testsrc=size=64x48:rate=30:duration=0.5"])
        .args(["-f", "lavfi", "-i", "sine=duration=0.5:sample_rate=48000"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .args(["-shortest", "-metadata", "hyperframes_chunk_index=3"])
        .args(["-movflags", "+use_metadata_tags"])
        .arg(&mp4)
        .status()
        .expect("ffmpeg is installed by scripts/test.sh --install-only");
    assert!(made.success());

    let ours = probe::probe_video(&mp4).unwrap();
    let theirs = ffprobe::probe_video(&mp4).unwrap();
    assert_eq!(ours.frames, theirs.frames);
    assert_eq!(ours.codec, theirs.codec);
    assert_eq!(ours.pix_fmt, theirs.pix_fmt);
    assert_eq!(ours.r_frame_rate, theirs.r_frame_rate);
    assert!(
        (ours.duration - theirs.duration).abs() < 0.05,
        "{} vs {}",
        ours.duration,
        theirs.duration
    );
    assert_eq!(
        ours.tags.get("hyperframes_chunk_index"),
        theirs.tags.get("hyperframes_chunk_index")
    );
    let audio = probe::probe_audio_duration(&mp4).unwrap().unwrap();
    let want = ffprobe::probe_audio_duration(&mp4).unwrap().unwrap();
    assert!((audio - want).abs() < 0.05, "{audio} vs {want}");
    let fmt = probe::probe_format(&mp4).unwrap();
    assert_eq!(Some(fmt.format_name.clone()), ffprobe::format_name(&mp4));
    assert!((fmt.duration.unwrap() - 0.5).abs() < 0.05, "{fmt:?}");

    let not_media = dir.path().join("x.txt");
    std::fs::write(&not_media, "hello").unwrap();
    assert_eq!(ffprobe::format_name(&not_media), None);
    let e = probe::probe_format(&not_media).unwrap_err();
    assert_eq!(e.name(), "NOT_MEDIA_PAYLOAD", "{e}");
    assert!(e.to_string().contains("x.txt"), "{e}");
    assert_eq!(probe::probe_audio_duration(&not_media).ok().flatten(), None);
}
