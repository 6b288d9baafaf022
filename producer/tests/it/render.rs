//! The render harness: real Chromium (headless shell) and real ffmpeg render the
//! shared fixtures chunked and in a single pass, and the outputs are compared
//! frame by frame.

use std::path::Path;
use std::time::Duration;

use crate::common::ffprobe::{keyframe_times, probe_video};
use crate::common::*;
use hyperframes_producer::assemble::assemble;
use hyperframes_producer::chunk::render_chunk_with;
use hyperframes_producer::compare::psnr_per_frame;
use hyperframes_producer::{render_chunk, ChunkOptions, Codec, Format};

fn assert_video(path: &Path, frames: u64, keyframes: &[f64]) {
    let p = probe_video(path).unwrap();
    assert_eq!(p.frames, frames, "{} frame count", path.display());
    assert_eq!(p.r_frame_rate, "30/1");
    assert!(
        (p.duration - frames as f64 / 30.0).abs() < 0.0015,
        "{} duration {} != {}",
        path.display(),
        p.duration,
        frames as f64 / 30.0
    );
    let keys = keyframe_times(path).unwrap();
    for k in keyframes {
        assert!(
            keys.iter().any(|t| (t - k).abs() < 1e-3),
            "{}: no keyframe at {k}s (keyframes {keys:?})",
            path.display()
        );
    }
}

fn assert_psnr_every_frame(a: &Path, b: &Path, frames: usize, min_db: f64) {
    let psnr = psnr_per_frame(a, b).unwrap();
    assert_eq!(psnr.len(), frames, "PSNR compared {} frames", psnr.len());
    for (i, v) in psnr.iter().enumerate() {
        assert!(
            *v >= min_db,
            "frame {i}: PSNR {v:.2} dB < {min_db} dB (chunked vs single pass)"
        );
    }
}

#[test]
fn mp4_chunked_matches_single_pass_and_chunks_are_deterministic() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = fixture("mp4-h264-sdr");
    let (plan, chunks, chunked) =
        render_all(&project, &config("mp4", Some(15)), work.path(), "chunked");
    assert_eq!(plan.chunk_count, 4);
    assert_eq!(chunks.iter().map(|c| c.frames).sum::<u64>(), 60);
    assert!(
        chunks.iter().all(|c| c.capture_mode == "beginframe"),
        "mp4 chunks should be captured with BeginFrame"
    );
    assert_video(&chunked, 60, &[0.0, 0.5, 1.0, 1.5]);

    let (_, _, single) = render_all(
        &project,
        &single_pass(config("mp4", None)),
        work.path(),
        "single",
    );
    assert_video(&single, 60, &[0.0]);
    assert_psnr_every_frame(&chunked, &single, 60, 40.0);

    // A retry of the same chunk on the same machine is byte-identical.
    let again = render_chunk(&plan.plan_dir, 2, &work.path().join("retry")).unwrap();
    assert_eq!(
        again.sha256, chunks[2].sha256,
        "chunk 2 differs between two runs"
    );
    assert_eq!(again.start_frame, 30);
    // Frames do not depend on which capture page renders them or what it rendered before.
    let opts = ChunkOptions {
        capture_pages: Some(2),
        ..Default::default()
    };
    let paged = render_chunk_with(&plan.plan_dir, 2, &work.path().join("paged"), &opts).unwrap();
    assert_eq!(
        paged.sha256, chunks[2].sha256,
        "chunk 2 differs when captured by two pages"
    );
}

#[test]
fn webm_chunked_matches_single_pass() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = fixture("webm-vp9");
    let (plan, chunks, chunked) =
        render_all(&project, &config("webm", Some(15)), work.path(), "chunked");
    assert_eq!(plan.format, Format::Webm);
    assert_video(&chunked, 60, &[0.0, 0.5, 1.0, 1.5]);
    let (_, _, single) = render_all(
        &project,
        &single_pass(config("webm", None)),
        work.path(),
        "single",
    );
    assert_psnr_every_frame(&chunked, &single, 60, 40.0);
    let again = render_chunk(&plan.plan_dir, 1, &work.path().join("retry")).unwrap();
    assert_eq!(
        again.sha256, chunks[1].sha256,
        "webm chunk 1 differs between two runs"
    );
}

#[test]
fn png_sequence_chunked_frames_are_byte_identical_to_single_pass() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = fixture("png-sequence");
    let (plan, chunks, chunked) = render_all(
        &project,
        &config("png-sequence", Some(15)),
        work.path(),
        "chunked",
    );
    let (_, _, single) = render_all(
        &project,
        &single_pass(config("png-sequence", None)),
        work.path(),
        "single",
    );
    let a = sorted_pngs(&chunked);
    let b = sorted_pngs(&single);
    assert_eq!(a.len(), 60);
    assert_eq!(b.len(), 60);
    assert_eq!(a[0].file_name().unwrap(), "frame_000001.png");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    let again = render_chunk(&plan.plan_dir, 3, &work.path().join("retry")).unwrap();
    assert_eq!(again.sha256, chunks[3].sha256);
    assert_eq!(again.output_kind, "frame-dir");
}

#[test]
fn gsap_css_and_waapi_boundaries_are_seamless() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    for name in ["gsap-boundary", "css-boundary", "waapi-boundary"] {
        let project = fixture(name);
        let dir = work.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let (_, _, chunked) = render_all(&project, &config("png-sequence", Some(15)), &dir, "c15");
        let (_, _, single) = render_all(&project, &config("png-sequence", Some(60)), &dir, "c60");
        let a = sorted_pngs(&chunked);
        let b = sorted_pngs(&single);
        assert_eq!(a.len(), 60, "{name}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{name}: {} differs between chunkSize 15 and 60",
                x.file_name().unwrap().to_string_lossy()
            );
        }
        // The animation really moves: first and last frames differ.
        assert_ne!(
            std::fs::read(&a[0]).unwrap(),
            std::fs::read(&a[59]).unwrap(),
            "{name} is static"
        );
    }
}

#[test]
fn h265_and_prores_chunks_concat_losslessly() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let mut h265 = config("mp4", Some(30));
    h265.codec = Some(Codec::H265);
    let (_, _, out) = render_all(&fixture("gsap-boundary"), &h265, work.path(), "h265");
    assert_video(&out, 60, &[0.0, 1.0]);
    assert_eq!(probe_video(&out).unwrap().codec, "hevc");
    let (_, _, mov) = render_all(
        &fixture("gsap-boundary"),
        &config("mov", Some(30)),
        work.path(),
        "mov",
    );
    assert_video(&mov, 60, &[0.0, 1.0]);
    assert_eq!(probe_video(&mov).unwrap().codec, "prores");
}

#[test]
fn broken_compositions_fail_with_the_file_named() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1""#;
    let cases = [
        (
            "throws",
            "throw new Error('boom from the composition');",
            "boom from the composition",
        ),
        (
            "no-timeline",
            "window.__timelines = {};",
            "never registered window.__timelines",
        ),
    ];
    for (name, script, needle) in cases {
        let project = write_project(&work.path().join(name), attrs, script);
        let p = plan(
            &project,
            &config("mp4", None),
            &work.path().join(format!("{name}-plan")),
            work.path(),
        );
        let opts = ChunkOptions {
            ready_timeout: Some(Duration::from_secs(3)),
            ..Default::default()
        };
        let err = render_chunk_with(
            &p.plan_dir,
            0,
            &work.path().join(format!("{name}-out")),
            &opts,
        )
        .expect_err(name);
        let msg = err.to_string();
        assert_eq!(err.name(), "INVALID_COMPOSITION", "{name}: {msg}");
        assert!(
            msg.contains("index.html") && msg.contains(needle),
            "{name}: {msg}"
        );
        // No partial output is left behind.
        let out = work.path().join(format!("{name}-out"));
        assert!(
            std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0) == 0,
            "{name} left files"
        );
    }
}

#[test]
fn assemble_refuses_missing_reordered_or_foreign_chunks() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = fixture("gsap-boundary");
    let p = plan(
        &project,
        &config("mp4", Some(30)),
        &work.path().join("plan"),
        work.path(),
    );
    let chunks = render_chunks(&p, &work.path().join("chunks"));
    let paths: Vec<_> = chunks.iter().map(|c| c.path.clone()).collect();
    let out = work.path().join("out.mp4");

    let e = assemble(&p.plan_dir, &paths[..1], &out).unwrap_err();
    assert_eq!(e.name(), "CHUNK_MISSING");
    let e = assemble(
        &p.plan_dir,
        &[paths[0].clone(), work.path().join("nope.mp4")],
        &out,
    )
    .unwrap_err();
    assert_eq!(e.name(), "CHUNK_MISSING");
    let e = assemble(&p.plan_dir, &[paths[1].clone(), paths[0].clone()], &out).unwrap_err();
    assert_eq!(e.name(), "CHUNK_OUT_OF_ORDER");
    // Cut short in transfer (the index at the end is gone): unreadable.
    let cut = work.path().join("cut.mp4");
    let bytes = std::fs::read(&paths[1]).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = assemble(&p.plan_dir, &[paths[0].clone(), cut], &out).unwrap_err();
    assert_eq!(e.name(), "CHUNK_MISSING", "{e}");
    assert!(e.to_string().contains("is not a readable video"), "{e}");

    // Same project, different fps: a different plan whose chunks must not mix in.
    let mut other_cfg = config("mp4", Some(30));
    other_cfg.fps = 24;
    let other = plan(
        &project,
        &other_cfg,
        &work.path().join("plan24"),
        work.path(),
    );
    let foreign = render_chunk(&other.plan_dir, 1, &work.path().join("chunks24")).unwrap();
    let e = assemble(&p.plan_dir, &[paths[0].clone(), foreign.path], &out).unwrap_err();
    assert_eq!(e.name(), "PLAN_ARTIFACT_DIGEST_MISMATCH");
    assert!(!out.exists(), "a failed assemble must not leave an output");

    let ok = assemble(&p.plan_dir, &paths, &out).unwrap();
    assert_eq!(ok.frames_encoded, 60);
    assert!(ok.file_size > 0);
}

#[test]
fn video_elements_are_seeked_per_frame_and_seamless_across_chunks() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("video-project");
    std::fs::create_dir_all(&project).unwrap();
    let st = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=30:duration=2",
        ])
        .args([
            "-c:v",
            "libvpx-vp9",
            "-g",
            "10",
            "-pix_fmt",
            "yuv420p",
            "-y",
        ])
        .arg(project.join("clip.webm"))
        .status()
        .unwrap();
    assert!(st.success());
    let html = r#"<!doctype html><html><head><style>html,body{margin:0;width:64px;height:64px;background:#000}</style></head>
<body><div data-composition-id="v" data-width="64" data-height="64" data-duration="2" data-no-timeline>
<video id="clip" src="clip.webm" data-start="0" muted playsinline style="width:64px;height:64px"></video></div></body></html>"#;
    std::fs::write(project.join("index.html"), html).unwrap();
    let (_, _, chunked) = render_all(
        &project,
        &config("png-sequence", Some(15)),
        work.path(),
        "c15",
    );
    let (_, _, single) = render_all(
        &project,
        &config("png-sequence", Some(60)),
        work.path(),
        "c60",
    );
    let a = sorted_pngs(&chunked);
    let b = sorted_pngs(&single);
    assert_eq!(a.len(), 60);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    let distinct: std::collections::HashSet<Vec<u8>> =
        a.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(
        distinct.len() > 30,
        "video did not advance: {} distinct frames",
        distinct.len()
    );
}

#[test]
fn clips_are_visible_only_inside_their_window() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="2" data-no-timeline"#;
    let project = write_project(&work.path().join("clips"), attrs, "");
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    let clips = r#"<div id="a" class="clip" data-start="0.5" data-duration="0.5" style="position:absolute;left:0;top:32px;width:32px;height:32px;background:#0f0"></div>
<div id="b" class="clip" data-start="a + 0.25" data-duration="0.25" style="position:absolute;left:32px;top:32px;width:32px;height:32px;background:#00f"></div></body>"#;
    std::fs::write(project.join("index.html"), html.replace("</body>", clips)).unwrap();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", Some(30)),
        work.path(),
        "clips",
    );
    let frames: Vec<Vec<u8>> = sorted_pngs(&out)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(frames.len(), 60);
    // frame n shows t = n/30: a is on in [15, 30), b (a's end + 0.25 s) in [38, 45).
    assert_eq!(
        frames[0], frames[14],
        "nothing should change before a starts"
    );
    assert_ne!(frames[14], frames[15], "a should appear at 0.5 s");
    assert_eq!(frames[15], frames[29]);
    assert_eq!(frames[30], frames[0], "a should be gone at 1.0 s");
    assert_eq!(frames[37], frames[0], "b starts at 1.25 s, after frame 37");
    assert_ne!(frames[38], frames[0], "b should be visible at frame 38");
    assert_eq!(frames[45], frames[0], "b should be gone at 1.5 s");
}

#[test]
fn nested_compositions_are_inlined_and_seeked_in_their_window() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="root" data-width="64" data-height="64" data-duration="2""#;
    let project = write_project(
        &work.path().join("nested"),
        attrs,
        "const tl = gsap.timeline({paused: true}); window.__timelines = window.__timelines || {}; window.__timelines.root = tl; tl.to({}, {duration: 2}, 0);",
    );
    std::fs::create_dir_all(project.join("compositions")).unwrap();
    std::fs::write(
        project.join("compositions/sub.html"),
        r##"<template><div id="sub-box" style="position:absolute;left:0;top:40px;width:12px;height:12px;background:#0ff"></div>
<script>const sub = gsap.timeline({paused: true}); window.__timelines = window.__timelines || {}; window.__timelines.sub = sub; sub.to("#sub-box", {x: 40, duration: 1, ease: "none"}, 0);</script></template>"##,
    )
    .unwrap();
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    let host = r#"<div id="sub-host" data-composition-id="sub" data-composition-src="./compositions/sub.html" data-start="1" data-duration="1"></div></div>"#;
    std::fs::write(
        project.join("index.html"),
        html.replacen("</div></div>", &format!("</div>{host}"), 1),
    )
    .unwrap();

    let (_, _, chunked) = render_all(
        &project,
        &config("png-sequence", Some(15)),
        work.path(),
        "c15",
    );
    let (_, _, single) = render_all(
        &project,
        &config("png-sequence", Some(60)),
        work.path(),
        "c60",
    );
    let a: Vec<Vec<u8>> = sorted_pngs(&chunked)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let b: Vec<Vec<u8>> = sorted_pngs(&single)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(
        a, b,
        "nested composition frames differ between chunked and single pass"
    );
    assert_eq!(
        a[0], a[29],
        "the nested composition must be hidden before its start"
    );
    assert_ne!(a[30], a[0], "the nested composition must appear at 1 s");
    assert_ne!(
        a[45], a[30],
        "the nested timeline must move (seeked relative to its host)"
    );
}

#[test]
fn every_frame_is_seeked_to_its_own_time() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="3""#;
    let script = "const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl}; tl.to('#box', {x: 30, duration: 3, ease: 'none'}, 0);";
    let project = write_project(&work.path().join("p"), attrs, script);
    let p = plan(
        &project,
        &config("mp4", None),
        &work.path().join("plan"),
        work.path(),
    );
    let times = hyperframes_producer::capture::session::with_session(
        &session_spec(&p, "c", 64, 64),
        |cap, _| {
            (0..90)
                .map(|f| {
                    cap.seek(f)?;
                    cap.page
                        .eval("window.__timelines.c.totalTime()", Duration::from_secs(5))
                        .map(|v| v.as_f64().unwrap_or(f64::NAN))
                })
                .collect::<Result<Vec<f64>, _>>()
        },
    )
    .unwrap();
    for (f, t) in times.iter().enumerate() {
        // GSAP keeps times to 7 decimals; a decimal time rounded below the
        // frame boundary would have seeked frame f - 1, 33 ms earlier.
        assert!(
            (t - f as f64 / 30.0).abs() < 1e-6,
            "frame {f} was seeked to {t} s"
        );
    }
}

/// Runs `cmd` and returns its stdout; a failure shows its stderr.
fn stdout_of(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Decodes frame 0 of `video` to RGB the way a player does, by the
/// stream's own colour tags.
fn first_frame_rgb(video: &Path) -> Vec<u8> {
    stdout_of(
        std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(video)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]),
    )
}

/// The stream's colour tags as ffprobe prints them: range, space,
/// transfer, primaries.
fn colour_tags(video: &Path) -> String {
    let out = stdout_of(
        std::process::Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .args(["stream=color_space,color_range,color_primaries,color_transfer"])
            .args(["-of", "csv=p=0"])
            .arg(video),
    );
    String::from_utf8_lossy(&out).trim().to_string()
}

/// Every format's video declares BT.709 and holds BT.709 samples, so
/// every player decodes it alike. Before, mp4 held BT.601 under BT.709 tags
/// (#00c000 played as #00a300), and webm and mov held untagged BT.601,
/// which ffmpeg decodes as BT.601 and Chrome as BT.709.
#[test]
fn colours_play_back_as_the_page_drew_them_in_every_format() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1" data-no-timeline"#;
    let project = write_project(&work.path().join("colours"), attrs, "");
    // Four flat quadrants of saturated colours, where a BT.601/BT.709 mix-up
    // shows most. Capture, conversion and the encoders keep them within 5 levels.
    let colours: [(u32, u32, [u8; 3]); 4] = [
        (0, 0, [0x63, 0x66, 0xf1]),
        (32, 0, [0xff, 0x00, 0x00]),
        (0, 32, [0x00, 0xc0, 0x00]),
        (32, 32, [0xf0, 0xc0, 0x20]),
    ];
    let quads: String = colours
        .iter()
        .map(|(x, y, [r, g, b])| {
            format!(
                r#"<div style="position:absolute;left:{x}px;top:{y}px;width:32px;height:32px;background:rgb({r},{g},{b})"></div>"#
            )
        })
        .collect();
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    std::fs::write(
        project.join("index.html"),
        html.replace("</body>", &format!("{quads}</body>")),
    )
    .unwrap();
    // mp4 twice: flat graphics convert PNG captures in process; a page that
    // ships a raster file is captured as JPEG and ffmpeg converts it.
    let photo_project = work.path().join("colours-with-photo");
    std::fs::create_dir_all(&photo_project).unwrap();
    std::fs::copy(project.join("index.html"), photo_project.join("index.html")).unwrap();
    std::fs::write(photo_project.join("unused.jpg"), b"only shipped").unwrap();
    let cases = [
        ("mp4", &project, true),
        ("mp4", &photo_project, false),
        ("webm", &project, false),
        ("mov", &project, false),
    ];
    for (i, (format, project, in_process)) in cases.into_iter().enumerate() {
        let name = format!("{format}-{i}");
        let (p, _, out) = render_all(project, &config(format, None), work.path(), &name);
        let encoder = std::fs::read_to_string(p.plan_dir.join("meta/encoder.json")).unwrap();
        assert_eq!(
            encoder.contains(r#""frameInput":"yuv420p""#),
            in_process,
            "{name}: {encoder}"
        );
        assert_eq!(
            colour_tags(&out),
            "tv,bt709,bt709,bt709",
            "{name}: the stream's colour range, space, transfer, primaries"
        );
        let rgb = first_frame_rgb(&out);
        assert_eq!(rgb.len(), 64 * 64 * 3);
        for (x, y, want) in colours {
            // The middle of each quadrant, clear of chroma subsampling at edges.
            let i = (((y + 16) * 64 + x + 16) * 3) as usize;
            let got = &rgb[i..i + 3];
            for c in 0..3 {
                assert!(
                    (i32::from(got[c]) - i32::from(want[c])).abs() <= 5,
                    "{name}, quadrant at ({x},{y}): page drew {want:?}, the video plays {got:?}"
                );
            }
        }
    }
}
