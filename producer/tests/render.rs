//! The render harness: real Chromium (headless shell) and real ffmpeg render the
//! shared fixtures chunked and in a single pass, and the outputs are compared
//! frame by frame.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hyperframes_producer::assemble::assemble;
use hyperframes_producer::chunk::render_chunk_with;
use hyperframes_producer::compare::psnr_per_frame;
use hyperframes_producer::ffmpeg::{keyframe_times, probe_video};
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
