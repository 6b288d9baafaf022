//! plan(): hermetic compile, plan files, hashes, v2 manifest and its failures.

use crate::common::*;
use hyperframes_producer::plan::v2::{materialize, Role};
use hyperframes_producer::plan::LoadedPlan;
use hyperframes_producer::{plan_with, render_chunk, AssetMap, PlanOptions};

#[test]
fn plan_writes_a_hermetic_hashed_v1_dir_and_v2_manifest() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let p = plan(
        &fixture("mp4-h264-sdr"),
        &config("mp4", Some(15)),
        &work.path().join("plan"),
        work.path(),
    );
    assert_eq!(
        (p.total_frames, p.chunk_count, p.width, p.height),
        (60, 4, 640, 360)
    );
    assert!(!p.has_audio);
    for f in [
        "plan.json",
        "compiled/index.html",
        "meta/encoder.json",
        "meta/chunks.json",
        "meta/composition.json",
        "meta/videos.json",
    ] {
        assert!(p.plan_dir.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(p.plan_dir.join("compiled/index.html")).unwrap();
    assert!(
        !html.contains("src=\"https://"),
        "remote script left in the compiled page"
    );
    assert!(
        !html.contains("fonts.googleapis.com/css2?family=Space+Mono:wght@400;700&display=swap\")"),
        "font import left"
    );
    assert!(
        html.contains("data:font/woff2;base64,"),
        "Space Mono not inlined"
    );
    assert!(html
        .contains("/* inlined: https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.2/gsap.min.js */"));

    let loaded = LoadedPlan::load(&p.plan_dir).unwrap();
    loaded.verify_hash().unwrap();
    assert_eq!(loaded.plan.plan_hash, p.plan_hash);
    let encoder = std::fs::read_to_string(p.plan_dir.join("meta/encoder.json")).unwrap();
    assert!(
        !encoder.contains(' ') || encoder.contains("ffmpeg version"),
        "encoder.json is not canonical"
    );
    assert!(encoder.contains("\"gopSize\":15"));

    // Planning again gives the same hash and a byte-identical tarball.
    let q = plan(
        &fixture("mp4-h264-sdr"),
        &config("mp4", Some(15)),
        &work.path().join("plan2"),
        work.path(),
    );
    assert_eq!(q.plan_hash, p.plan_hash);
    assert_eq!(
        std::fs::read(&q.tarball).unwrap(),
        std::fs::read(&p.tarball).unwrap()
    );
    assert_eq!(q.v2.manifest_hash, p.v2.manifest_hash);
    // The tarball is the execution dir, without the transport copies (the
    // tarball itself and the v2 blobs).
    let names: Vec<String> = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&p.tarball).unwrap(),
    ))
    .entries()
    .unwrap()
    .map(|e| e.unwrap().path().unwrap().display().to_string())
    .collect();
    for want in ["plan.json", "compiled/index.html", "meta/encoder.json"] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert!(
        names.iter().all(|n| !n.starts_with("transport")),
        "the v1 tarball carries transport/: {names:?}"
    );

    // The settings are part of the hash.
    let r = plan(
        &fixture("mp4-h264-sdr"),
        &config("webm", Some(15)),
        &work.path().join("plan3"),
        work.path(),
    );
    assert_ne!(r.plan_hash, p.plan_hash);

    // v2: a chunk worker materializes its subset and gets an identical, valid v1 dir.
    let blobs = p.v2.manifest_path.parent().unwrap();
    let dest = work.path().join("materialized");
    materialize(&p.v2.manifest_path, blobs, &dest, Role::Chunk(0)).unwrap();
    LoadedPlan::load(&dest).unwrap().verify_hash().unwrap();
    // A tampered blob is refused.
    let victim =
        p.v2.artifacts
            .iter()
            .find(|a| a.path == "meta/chunks.json")
            .unwrap();
    let blob = blobs.join(format!(
        "artifacts/sha256/{}/{}",
        &victim.sha256[..2],
        victim.sha256
    ));
    std::fs::remove_file(&blob).unwrap(); // may be a hard link into the plan dir
    std::fs::write(&blob, b"[]").unwrap();
    let e = materialize(
        &p.v2.manifest_path,
        blobs,
        &work.path().join("m2"),
        Role::Assembler,
    )
    .unwrap_err();
    assert_eq!(e.name(), "PLAN_V2_INTEGRITY_UNRECOVERABLE");
}

#[test]
fn modified_plan_is_refused_before_rendering() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let p = plan(
        &fixture("gsap-boundary"),
        &config("mp4", Some(30)),
        &work.path().join("plan"),
        work.path(),
    );
    std::fs::write(p.plan_dir.join("meta/composition.json"), "{}").unwrap();
    let e = render_chunk(&p.plan_dir, 0, &work.path().join("out")).unwrap_err();
    assert_eq!(e.name(), "PLAN_HASH_MISMATCH", "{e}");
    let e = render_chunk(&p.plan_dir, 9, &work.path().join("out")).unwrap_err();
    assert_eq!(e.name(), "CHUNK_INDEX_OUT_OF_RANGE", "{e}");

    // A plan made with another ffmpeg build is refused before anything runs.
    let plan_json = p.plan_dir.join("plan.json");
    let text = std::fs::read_to_string(&plan_json).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["ffmpegVersion"] = serde_json::json!("ffmpeg version 0.0-other");
    std::fs::write(&plan_json, v.to_string()).unwrap();
    let e = render_chunk(&p.plan_dir, 0, &work.path().join("out")).unwrap_err();
    assert_eq!(e.name(), "FFMPEG_VERSION_MISMATCH", "{e}");
    assert!(!work.path().join("out").join("chunk_0000.mp4").exists());
}

#[test]
fn unmapped_font_fails_closed_and_nothing_is_written() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let mut map = AssetMap::default();
    map.insert(GSAP_URL, gsap_path());
    let plan_dir = work.path().join("plan");
    let e = plan_with(
        &fixture("mp4-h264-sdr"),
        &config("mp4", Some(15)),
        &plan_dir,
        &PlanOptions {
            asset_map: Some(map),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.name(), "FONT_FETCH_FAILED");
    assert!(e.to_string().contains("fonts.googleapis.com"), "{e}");
    assert!(!plan_dir.exists());
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "staging left behind"
    );
}

#[test]
fn plans_over_the_size_cap_are_refused() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let mut c = config("mp4", Some(15));
    c.plan_dir_size_limit_bytes = Some(10_000);
    let e = plan_with(
        &fixture("mp4-h264-sdr"),
        &c,
        &work.path().join("plan"),
        &options(work.path()),
    )
    .unwrap_err();
    assert_eq!(e.name(), "PLAN_TOO_LARGE");
    assert!(e.to_string().contains("planDirSizeLimitBytes"));
}

#[test]
fn bad_projects_and_configs_give_named_errors() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let zero = write_project(
        &work.path().join("zero"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="0""#,
        "",
    );
    let e = plan_with(
        &zero,
        &config("mp4", None),
        &work.path().join("p1"),
        &options(work.path()),
    )
    .unwrap_err();
    assert_eq!(e.name(), "INVALID_COMPOSITION");
    assert!(
        e.to_string().contains("index.html") && e.to_string().contains("duration"),
        "{e}"
    );

    let e = plan_with(
        &work.path().join("missing"),
        &config("mp4", None),
        &work.path().join("p2"),
        &options(work.path()),
    )
    .unwrap_err();
    assert_eq!(e.name(), "INVALID_COMPOSITION");

    let mut bad = config("mp4", None);
    bad.fps = 0;
    let e = plan_with(&zero, &bad, &work.path().join("p3"), &options(work.path())).unwrap_err();
    assert_eq!(e.name(), "INVALID_CONFIG");
    assert!(e.to_string().contains("config.fps"));
}

#[test]
fn audio_is_mixed_into_the_plan_and_muxed_at_assemble() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("audio-project");
    std::fs::create_dir_all(&project).unwrap();
    // 1.5 s of tone, shorter than the 2 s composition: assemble must pad it.
    let st = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1.5",
            "-c:a",
            "aac",
            "-y",
        ])
        .arg(project.join("tone.m4a"))
        .status()
        .unwrap();
    assert!(st.success());
    write_project(
        &project,
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="2""#,
        r#"const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl}; tl.to('#box', {x: 40, duration: 2}, 0);"#,
    );
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    std::fs::write(
        project.join("index.html"),
        html.replace(
            "</body>",
            r#"<audio id="a1" src="tone.m4a" data-start="0.25"></audio></body>"#,
        ),
    )
    .unwrap();
    let (p, _, out) = render_all(&project, &config("mp4", Some(30)), work.path(), "audio");
    assert!(p.has_audio);
    let audio = crate::common::ffprobe::probe_audio_duration(&out)
        .unwrap()
        .expect("audio stream");
    assert!(
        (audio - 2.0).abs() < 0.05,
        "audio is {audio}s, expected 2.0"
    );
    let v = crate::common::ffprobe::probe_video(&out).unwrap();
    assert_eq!(v.frames, 60);
    // The plan's mix is the composition's length, so the assemble copies
    // it: the output's audio packets are the mix's (re-encoding 10 minutes
    // of audio cost 10 CPU-s, for a second generation of AAC).
    assert_eq!(
        audio_packets(&out),
        audio_packets(&p.plan_dir.join("audio.m4a")),
        "the output's audio is not the plan's mix, copied"
    );
    // The mono tone plays at its own level in both channels, as the page
    // plays it: ffmpeg's default upmix would make it 3 dB quieter.
    let source = mean_volume_db(&project.join("tone.m4a"), 0.1, 1.4);
    let mixed = mean_volume_db(&out, 0.35, 1.65);
    assert!(
        (mixed - source).abs() < 0.5,
        "the mix is {mixed:.2} dB, its mono source {source:.2} dB"
    );
}

#[test]
fn the_timeline_registry_exists_before_page_scripts_run() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // Registers into window.__timelines without creating it, as the
    // reference's compositions may.
    let project = write_project(
        &work.path().join("registry"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1""#,
        r#"const tl = gsap.timeline({paused: true}); window.__timelines["c"] = tl; tl.to('#box', {x: 40, duration: 1}, 0);"#,
    );
    let (p, _, out) = render_all(&project, &config("mp4", None), work.path(), "registry");
    assert_eq!(p.total_frames, 30);
    assert_eq!(
        crate::common::ffprobe::probe_video(&out).unwrap().frames,
        30
    );
}

#[test]
fn a_set_at_time_zero_is_on_frame_zero() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // The box starts hidden; the timeline shows it at 0 and moves it later.
    let project = write_project(
        &work.path().join("set0"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1""#,
        r#"document.getElementById('box').style.opacity = 0; const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl}; tl.set('#box', {opacity: 1}, 0); tl.to('#box', {x: 40, duration: 0.5}, 0.5);"#,
    );
    let (_, _, out) = render_all(&project, &config("png-sequence", None), work.path(), "set0");
    // The box's centre (8, 8): orange #f80, not the background #123.
    let px = pixel(&sorted_pngs(&out)[0], 8, 8);
    assert!(
        is_orange(px),
        "frame 0 at the box is {px:?}; the set() at 0 is missing"
    );
}

#[test]
fn a_hand_written_timeline_object_is_driven_through_its_seek() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = write_project(
        &work.path().join("handwritten"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1""#,
        r#"const box = document.getElementById('box'); window.__timelines = window.__timelines || {}; window.__timelines.c = { duration: function () { return 1; }, pause: function () {}, seek: function (t) { box.style.transform = 'translateX(' + Math.round(t * 40) + 'px)'; } };"#,
    );
    let (_, _, out) = render_all(&project, &config("png-sequence", None), work.path(), "hw");
    let frames = sorted_pngs(&out);
    assert_eq!(frames.len(), 30);
    // t = 0: the box at x 0-16; t = 0.5 (frame 15): moved 20 px right.
    assert!(is_orange(pixel(&frames[0], 8, 8)));
    assert!(!is_orange(pixel(&frames[15], 8, 8)));
    assert!(is_orange(pixel(&frames[15], 28, 8)));
}

#[test]
fn anime_and_lottie_instances_registered_for_the_reference_are_seeked() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // No GSAP timeline: an anime.js-like instance (seek in ms) moves the
    // box, a lottie-web-like player (goToAndStop in ms) its colour, each
    // registered as the reference's adapters expect.
    let project = write_project(
        &work.path().join("adapters"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1""#,
        r#"const box = document.getElementById('box');
window.__hfAnime = window.__hfAnime || [];
window.__hfAnime.push({ pause: function () {}, seek: function (ms) { box.style.transform = 'translateX(' + Math.round(ms / 25) + 'px)'; } });
window.__hfLottie = window.__hfLottie || [];
window.__hfLottie.push({ goToAndStop: function (ms, isFrame) { if (!isFrame) box.style.background = ms >= 500 ? '#0f0' : '#f80'; } });"#,
    );
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "adapters",
    );
    let frames = sorted_pngs(&out);
    assert_eq!(frames.len(), 30);
    assert!(is_orange(pixel(&frames[0], 8, 8)));
    // Frame 15 is 500 ms: moved 20 px, and green.
    let px = pixel(&frames[15], 28, 8);
    assert!(px[1] > 200 && px[0] < 60, "frame 15 at x 28 is {px:?}");
    assert!(!is_orange(pixel(&frames[15], 8, 8)));
}

#[test]
fn animations_inside_an_iframe_follow_the_frame_clock() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = write_project(
        &work.path().join("iframe"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1" data-no-timeline"#,
        "",
    );
    // A same-origin frame whose script moves its box 40 px a second, on
    // requestAnimationFrame and performance.now (CSS animations in frames
    // already follow the compositor's frame time).
    let inner = r#"<!doctype html><html><head><style>html,body{margin:0;background:#123}#b{width:16px;height:16px;background:#f80}</style></head><body><div id="b"></div><script>const b = document.getElementById('b'); function f() { b.style.transform = 'translateX(' + Math.round(performance.now() / 25) + 'px)'; requestAnimationFrame(f); } f();</script></body></html>"#;
    std::fs::write(project.join("inner.html"), inner).unwrap();
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    let html = html.replace(
        r#"<div id="box" style="width:16px;height:16px;background:#f80"></div>"#,
        r#"<iframe src="inner.html" style="border:0;width:64px;height:64px;display:block"></iframe>"#,
    );
    std::fs::write(project.join("index.html"), html).unwrap();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "iframe",
    );
    let frames = sorted_pngs(&out);
    assert_eq!(frames.len(), 30);
    assert!(is_orange(pixel(&frames[0], 8, 8)), "frame 0");
    // 0.5 s in: 20 px along, whatever the wall clock did.
    assert!(is_orange(pixel(&frames[15], 28, 8)), "frame 15 at x 28");
    assert!(!is_orange(pixel(&frames[15], 8, 8)), "frame 15 at x 8");
}

#[test]
fn two_mounts_of_one_component_keep_their_own_values_and_timelines() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("twice");
    std::fs::create_dir_all(&project).unwrap();
    let gsap = crate::common::GSAP_URL;
    let host = |left: u32, color: &str| {
        format!(
            r#"<div data-composition-src="card.html" data-variable-values='{{"color":"{color}"}}' data-start="0" data-duration="1" style="position:absolute;left:{left}px;top:0;width:32px;height:32px"></div>"#
        )
    };
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#123}}</style><script src="{gsap}"></script></head>
<body><div id="root" data-composition-id="main" data-width="64" data-height="32" data-duration="1">{}{}</div>
<script>const tl = gsap.timeline({{paused: true}}); window.__timelines = {{main: tl}}; tl.to({{}}, {{duration: 1}});</script></body></html>"#,
            host(0, "#ff0000"),
            host(32, "#0000ff")
        ),
    )
    .unwrap();
    // Both mounts declare `const tl`, use #root, and register as "card".
    std::fs::write(
        project.join("card.html"),
        r##"<template><div id="root" data-composition-id="card" data-width="32" data-height="32" data-composition-variables='[{"id":"color","type":"color","label":"Color","default":"#00ff00"}]'>
<div class="fill" style="width:32px;height:32px"></div>
<style>#root { background: #000; }</style>
<script>const tl = gsap.timeline({paused: true}); const v = window.__hyperframes.getVariables(); document.querySelector('.fill').style.background = v.color; window.__timelines = window.__timelines || {}; window.__timelines["card"] = tl; tl.to({}, {duration: 1});</script>
</div></template>"##,
    )
    .unwrap();
    let (p, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "twice",
    );
    let compiled = std::fs::read_to_string(p.plan_dir.join("compiled/index.html")).unwrap();
    assert!(
        compiled.contains("card__hf1") && compiled.contains("card__hf2"),
        "each mount has a runtime id of its own"
    );
    let first = &sorted_pngs(&out)[0];
    let (left, right) = (pixel(first, 16, 16), pixel(first, 48, 16));
    assert!(
        left[0] > 200 && left[2] < 60,
        "left mount is {left:?}, not its red"
    );
    assert!(
        right[2] > 200 && right[0] < 60,
        "right mount is {right:?}, not its blue"
    );
}

/// The RGB of pixel (x, y) of a PNG frame.
fn pixel(path: &std::path::Path, x: usize, y: usize) -> [u8; 3] {
    crate::common::Frame::load(path).pixel(x, y)
}

/// The test page's box colour, #f80 (the background is #123).
fn is_orange(px: [u8; 3]) -> bool {
    px[0] > 200 && px[1] > 100 && px[2] < 60
}

#[test]
fn any_whole_frame_rate_the_reference_renders_is_rendered() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = write_project(
        &work.path().join("fps10"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="2""#,
        r#"const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl}; tl.to('#box', {x: 40, duration: 2}, 0);"#,
    );
    let mut c = config("mp4", Some(10));
    c.fps = 10;
    let (p, chunks, out) = render_all(&project, &c, work.path(), "fps10");
    assert_eq!((p.total_frames, chunks.len()), (20, 2));
    let v = crate::common::ffprobe::probe_video(&out).unwrap();
    assert_eq!(v.frames, 20);
    assert_eq!(v.r_frame_rate, "10/1");
    assert!((v.duration - 2.0).abs() < 0.01, "{} s", v.duration);
}

/// Mean volume (dB) of a file's audio from `from` to `to` seconds.
fn mean_volume_db(path: &std::path::Path, from: f64, to: f64) -> f64 {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-i"])
        .arg(path)
        .args([
            "-af",
            &format!("atrim={from}:{to},volumedetect"),
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no mean_volume for {}: {text}", path.display()))
}

#[test]
fn unusable_media_is_refused_at_plan_time() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1" data-no-timeline"#;
    let cases = [
        (
            "not-media",
            r#"<video src="clip.mp4"></video>"#,
            true,
            "NOT_MEDIA_PAYLOAD",
        ),
        (
            "missing",
            r#"<video src="gone.mp4"></video>"#,
            false,
            "VIDEO_SOURCE_UNRENDERABLE",
        ),
        (
            "remote",
            r#"<video src="https://example.invalid/v.mp4"></video>"#,
            false,
            "VIDEO_SOURCE_UNRENDERABLE",
        ),
        (
            "window",
            r#"<audio src="clip.mp4" data-start="5"></audio>"#,
            false,
            "INVALID_VIDEO_METADATA",
        ),
    ];
    // A real (silent) clip for the window case; a text file posing as media for the first.
    let real = work.path().join("real.m4a");
    let st = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=d=1",
            "-c:a",
            "aac",
            "-y",
        ])
        .arg(&real)
        .status()
        .unwrap();
    assert!(st.success());
    for (name, tag, fake, want) in cases {
        let project = write_project(&work.path().join(name), attrs, "");
        if fake {
            std::fs::write(project.join("clip.mp4"), "this is not a video").unwrap();
        } else {
            std::fs::copy(&real, project.join("clip.mp4")).unwrap();
        }
        let html = std::fs::read_to_string(project.join("index.html")).unwrap();
        std::fs::write(
            project.join("index.html"),
            html.replace("</body>", &format!("{tag}</body>")),
        )
        .unwrap();
        let e = plan_with(
            &project,
            &config("mp4", None),
            &work.path().join(format!("{name}-plan")),
            &options(work.path()),
        )
        .unwrap_err();
        assert_eq!(e.name(), want, "{name}: {e}");
    }
}

#[test]
fn the_encoder_preset_is_frozen_in_encoder_json_and_the_plan_hash() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let project = fixture("mp4-h264-sdr");
    let default = plan(
        &project,
        &config("mp4", Some(15)),
        &work.path().join("default"),
        work.path(),
    );
    let mut medium = config("mp4", Some(15));
    medium.preset = Some(hyperframes_producer::Preset::Medium);
    let medium = plan(&project, &medium, &work.path().join("medium"), work.path());
    let encoder = |p: &hyperframes_producer::PlanOutcome| {
        std::fs::read_to_string(p.plan_dir.join("meta/encoder.json")).unwrap()
    };
    assert!(encoder(&default).contains("\"preset\":\"veryfast\""));
    // x264's thread count changes the bitstream, so the plan pins it.
    assert!(encoder(&default).contains("\"encoderThreads\":3"));
    assert!(encoder(&medium).contains("\"preset\":\"medium\""));
    assert_ne!(default.plan_hash, medium.plan_hash);
    // A chunk worker reads the preset back from the plan, not from its own config.
    let loaded = LoadedPlan::load(&medium.plan_dir).unwrap();
    assert_eq!(loaded.settings().preset(), "medium");
}

/// Flat graphics (text, CSS, SVG) are captured as lossless PNG and
/// converted in process; a page that can paint photographic pixels keeps
/// JPEG, which stays cheap on photographs. The choice is in the plan hash.
#[test]
fn the_capture_image_follows_what_the_page_can_paint() {
    require_tools();
    let work = tempfile::tempdir().unwrap();
    let attrs = r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1" data-no-timeline"#;
    let encoder = |name: &str, extra: &dyn Fn(&std::path::Path)| {
        let project = write_project(&work.path().join(name), attrs, "");
        extra(&project);
        let p = plan(
            &project,
            &config("mp4", None),
            &work.path().join(format!("{name}-plan")),
            work.path(),
        );
        let e: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.plan_dir.join("meta/encoder.json")).unwrap())
                .unwrap();
        (e, p.plan_hash)
    };
    let (flat, _) = encoder("flat", &|_| {});
    assert_eq!(flat["frameInput"], "yuv420p", "{flat}");
    assert_eq!(flat["yuvMatrix"], "bt709", "{flat}");
    assert_eq!(flat["frameLabels"], "bt709", "{flat}");
    let add_html = |p: &std::path::Path, tag: &str| {
        let html = std::fs::read_to_string(p.join("index.html")).unwrap();
        std::fs::write(
            p.join("index.html"),
            html.replace("</body>", &format!("{tag}</body>")),
        )
        .unwrap();
    };
    type AddRaster<'a> = &'a dyn Fn(&std::path::Path);
    let raster: [(&str, AddRaster); 4] = [
        ("photo", &|p| {
            std::fs::write(p.join("photo.JPG"), b"not decoded at plan time").unwrap()
        }),
        // A remote image saved without a telling name.
        ("nameless", &|p| {
            std::fs::write(p.join("asset.bin"), b"\xff\xd8\xff\xe0 a JPEG").unwrap()
        }),
        ("canvas", &|p| {
            add_html(p, "<canvas width=8 height=8></canvas>")
        }),
        ("inline", &|p| {
            add_html(
                p,
                r#"<div style="background:url('data:image/png;base64,iVBORw0KGgo=')"></div>"#,
            )
        }),
    ];
    for (name, extra) in raster {
        let (e, _) = encoder(name, extra);
        assert!(e.get("frameInput").is_none(), "{name}: {e}");
        assert_eq!(e["yuvMatrix"], "bt709", "{name}: {e}");
        assert_eq!(e["frameLabels"], "bt709", "{name}: {e}");
    }
    // Other formats never convert in process.
    let project = work.path().join("flat");
    let p = plan(
        &project,
        &config("webm", None),
        &work.path().join("webm-plan"),
        work.path(),
    );
    let e = std::fs::read_to_string(p.plan_dir.join("meta/encoder.json")).unwrap();
    assert!(!e.contains("frameInput"), "{e}");
}

/// The audio stream's packets (timestamps, sizes, CRCs) as ffmpeg lists them.
fn audio_packets(file: &std::path::Path) -> String {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:a", "-c", "copy", "-f", "framecrc", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let packets: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(packets.len() > 10, "{text}");
    packets.join("\n")
}
