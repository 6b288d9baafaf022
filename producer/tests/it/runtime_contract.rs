//! The rest of the reference's runtime contract (issue 24, item 3, and the
//! scoping of item 2): GSAP string selectors scoped per mount, a duration
//! taken from the timeline, pages without a timeline, and a sub-composition
//! host without an id. Tiny pages, few frames.

use crate::common::*;
use hyperframes_producer::assemble::assemble;
use hyperframes_producer::capture::browser::CaptureMode;
use hyperframes_producer::chunk::render_chunk_with;

fn frame(path: &std::path::Path) -> Frame {
    Frame::load(path)
}

fn near(px: [u8; 3], want: [u8; 3]) -> bool {
    px.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40)
}

/// Asserts each point of `f` is near its colour, naming what it shows.
fn assert_pixels(f: &Frame, points: &[(usize, usize, [u8; 3], &str)]) {
    for &(x, y, want, what) in points {
        let px = f.pixel(x, y);
        assert!(near(px, want), "({x}, {y}): {what} is {px:?}");
    }
}

#[test]
fn gsap_string_selectors_in_a_mount_reach_only_that_mount() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("scoped-gsap");
    std::fs::create_dir_all(&project).unwrap();
    let gsap = GSAP_URL;
    let host = |left: u32, color: &str| {
        format!(
            r#"<div data-composition-src="card.html" data-variable-values='{{"color":"{color}"}}' data-start="0" data-duration="1" style="position:absolute;left:{left}px;top:0;width:32px;height:32px"></div>"#
        )
    };
    // The host's own .title (green, at x 64) shares the class and the
    // #root id with both mounts.
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#123}} #root > .title {{position:absolute;left:64px;top:0;width:16px;height:16px;background:#0f0}}</style><script src="{gsap}"></script></head>
<body><div id="root" data-composition-id="main" data-width="96" data-height="32" data-duration="1">{}{}<div class="title"></div></div>
<script>const tl = gsap.timeline({{paused: true}}); window.__timelines = {{main: tl}}; tl.to({{}}, {{duration: 1}});</script></body></html>"#,
            host(0, "#ff0000"),
            host(32, "#0000ff")
        ),
    )
    .unwrap();
    // Each mount colours its .title with gsap.set(".title") and moves it
    // 16 px with tl.to("#root .title"): unscoped, both would reach every
    // .title on the page (the host's root is #root too).
    std::fs::write(
        project.join("card.html"),
        r##"<template><div id="root" data-composition-id="card" data-width="32" data-height="32" data-composition-variables='[{"id":"color","type":"color","label":"Color","default":"#00ff00"}]'>
<div class="title" style="width:16px;height:16px"></div>
<style>#root { background: #000; }</style>
<script>const tl = gsap.timeline({paused: true}); const v = window.__hyperframes.getVariables(); gsap.set(".title", {backgroundColor: v.color}); tl.to("#root .title", {x: 16, duration: 1, ease: "none"}, 0); window.__timelines = window.__timelines || {}; window.__timelines["card"] = tl;</script>
</div></template>"##,
    )
    .unwrap();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "scoped-gsap",
    );
    let frames = sorted_pngs(&out);
    let (first, last) = (frame(&frames[0]), frame(&frames[29]));
    let (red, blue, green, black) = ([255, 0, 0], [0, 0, 255], [0, 255, 0], [0, 0, 0]);
    for (at, want, what) in [
        (4, red, "left mount's title at the start"),
        (36, blue, "right mount's title at the start"),
        (72, green, "host's title"),
    ] {
        let px = first.pixel(at, 8);
        assert!(near(px, want), "frame 0: {what} at x {at} is {px:?}");
    }
    // Frame 29 (t = 0.967): each mount's title 15.5 px along, the host's in place.
    for (at, want, what) in [
        (4, black, "left mount where its title was"),
        (24, red, "left mount's moved title"),
        (36, black, "right mount where its title was"),
        (56, blue, "right mount's moved title"),
        (72, green, "host's title, unmoved"),
    ] {
        let px = last.pixel(at, 8);
        assert!(near(px, want), "frame 29: {what} at x {at} is {px:?}");
    }
}

/// The test page's box colour, #f80 (the background is #123).
fn is_orange(px: [u8; 3]) -> bool {
    px[0] > 200 && px[1] > 100 && px[2] < 60
}

#[test]
fn a_root_without_data_duration_runs_as_long_as_its_timeline() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = write_project(
        &work.path().join("no-duration"),
        r#"data-composition-id="c" data-width="64" data-height="64""#,
        r#"const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl}; tl.to('#box', {x: 40, duration: 0.5, ease: 'none'}, 0);"#,
    );
    let (p, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "no-duration",
    );
    assert_eq!((p.duration, p.total_frames), (0.5, 15));
    let from = p.duration_from.to_string();
    assert!(
        from.contains(r#"window.__timelines["c"]"#) && from.contains("no data-duration"),
        "{from}"
    );
    let frames = sorted_pngs(&out);
    assert_eq!(frames.len(), 15);
    // Frame 14 (t = 0.467): 37 px along.
    assert!(is_orange(frame(&frames[14]).pixel(45, 8)));
}

#[test]
fn a_page_without_any_timeline_renders_with_the_references_warning() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // No timeline, no data-duration: a 0.5 s CSS animation moves the box
    // and sets the length, as the reference's CSS adapter infers it.
    let project = write_project(
        &work.path().join("css-only"),
        r#"data-composition-id="c" data-width="64" data-height="64""#,
        "",
    );
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    let html = html.replace(
        "</style>",
        "@keyframes m{from{transform:translateX(0)}to{transform:translateX(40px)}} #box{animation:m 0.5s linear both}</style>",
    );
    std::fs::write(project.join("index.html"), html).unwrap();
    let (p, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "css-only",
    );
    assert_eq!(p.total_frames, 15);
    assert!(p.duration_from.to_string().contains("CSS animation"));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("Missing `window.__timelines` registration")
            && p.warnings[0].contains(r#"window.__timelines["c"]"#),
        "{}",
        p.warnings[0]
    );
    let frames = sorted_pngs(&out);
    assert!(is_orange(frame(&frames[0]).pixel(8, 8)));
    // Frame 7 (t = 0.233): 18.7 px along.
    let mid = frame(&frames[7]);
    assert!(is_orange(mid.pixel(30, 8)) && !is_orange(mid.pixel(8, 8)));
}

#[test]
fn no_length_anywhere_names_the_root_and_what_to_add() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    for (name, script, says) in [
        ("none", "", "registers no timeline"),
        (
            "empty",
            "window.__timelines = {c: gsap.timeline({paused: true})};",
            r#"window.__timelines["c"] has no length"#,
        ),
    ] {
        let project = write_project(
            &work.path().join(name),
            r#"id="root" data-composition-id="c" data-width="64" data-height="64""#,
            script,
        );
        let plan_dir = work.path().join(format!("{name}-plan"));
        let e = hyperframes_producer::plan_with(
            &project,
            &config("mp4", None),
            &plan_dir,
            &options(work.path()),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(says)
                && e.contains(r#"<div id="root" data-composition-id="c">"#)
                && e.contains(r#"add data-duration="<seconds>" to the root element"#),
            "{e}"
        );
        assert!(!plan_dir.exists(), "a failed plan leaves nothing");
    }
}

#[test]
fn a_host_without_an_id_holds_its_component_over_the_whole_frame() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("anonymous-host");
    std::fs::create_dir_all(project.join("compositions")).unwrap();
    // The reference's missing-host-comp-id case, 64 px: no margin reset on
    // the page (whose white would show in the browser's 8 px body margin),
    // a host with neither id nor size, a component whose own CSS fills its
    // root.
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>html {{ background: #fff; }}</style><script src="{GSAP_URL}"></script></head><body>
<div id="main-comp" data-composition-id="master" data-width="64" data-height="64" data-duration="0.1">
<div id="scoped-text-host" data-composition-src="compositions/scoped-text.html" data-start="0" data-duration="0.1" data-track-index="1"></div>
</div>
<script>const masterTl = gsap.timeline({{paused: true}}); masterTl.to({{}}, {{duration: 0.1}}); window.__timelines = window.__timelines || {{}}; window.__timelines["master"] = masterTl;</script>
</body></html>"#
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("compositions/scoped-text.html"),
        r#"<template id="scoped-text-template"><div data-composition-id="scoped-text" data-width="64" data-height="64" data-duration="0.1">
<div class="label"></div>
<style>[data-composition-id="scoped-text"] { width: 100%; height: 100%; display: flex; align-items: center; justify-content: center; background: rgb(12, 12, 12); }
[data-composition-id="scoped-text"] .label { width: 32px; height: 32px; background: rgb(255, 214, 10); }</style>
<script>const tl = gsap.timeline({ paused: true }); tl.to({}, { duration: 0.1 }); window.__timelines = window.__timelines || {}; window.__timelines["scoped-text"] = tl;</script>
</div></template>"#,
    )
    .unwrap();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "anonymous-host",
    );
    let f = frame(&sorted_pngs(&out)[0]);
    let (dark, yellow) = ([12, 12, 12], [255, 214, 10]);
    for (x, y) in [(0, 0), (63, 63), (0, 63), (63, 0), (15, 15), (48, 48)] {
        assert!(
            near(f.pixel(x, y), dark),
            "({x}, {y}) is {:?}",
            f.pixel(x, y)
        );
    }
    // The label centred: 16..48 on both axes.
    for (x, y) in [(16, 16), (47, 47), (32, 32)] {
        assert!(
            near(f.pixel(x, y), yellow),
            "({x}, {y}) is {:?}",
            f.pixel(x, y)
        );
    }
}

#[test]
fn gsap_draws_2d_transforms_as_under_the_references_runtime() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // Mid-tween, GSAP's default (force3D "auto") writes translate3d; the
    // reference's runtime configures it to write 2D transforms. A
    // requestAnimationFrame callback (run after each seek) paints the box
    // red when it sees a 3D one.
    let project = write_project(
        &work.path().join("flat"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="0.5""#,
        r#"const box = document.getElementById('box'); const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl}; tl.to(box, {x: 40, duration: 0.5, ease: 'none'}, 0);
function paint() { box.style.background = /3d/.test(box.style.transform) ? '#f00' : '#f80'; requestAnimationFrame(paint); } requestAnimationFrame(paint);"#,
    );
    let (_, _, out) = render_all(&project, &config("png-sequence", None), work.path(), "flat");
    // Frame 7 (t = 0.233): 18.7 px along, mid-tween.
    let px = frame(&sorted_pngs(&out)[7]).pixel(26, 8);
    assert!(
        is_orange(px),
        "the box mid-tween is {px:?}: drawn on a 3D transform"
    );
}

/// The registry's components open with a comment that describes their
/// structure and mentions `<template>`: the mount takes the real element's
/// content, so the component's scripts run, its variables apply and the
/// host's timeline registers (before, the comment's tail was mounted and
/// the render waited 30 s for a timeline).
#[test]
fn a_comment_that_mentions_template_does_not_hide_the_component() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("commented-template");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        format!(
            r##"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#123}}</style></head><body>
<div id="root" data-composition-id="demo" data-width="64" data-height="64" data-duration="0.1">
<div id="mount" data-composition-id="card" data-composition-src="./card.html" data-variable-values='{{"fill":"#ff0000"}}' data-start="0" data-duration="0.1" data-width="64" data-height="64"></div>
</div>
<script src="{GSAP_URL}"></script>
<script>window.__timelines = window.__timelines || {{}}; window.__timelines["demo"] = gsap.timeline({{ paused: true }});</script>
</body></html>"##
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("card.html"),
        format!(
            r##"<!doctype html>
<!--
  card: a host mounts the <template> contents below; #root fills the
  host box. The <body> holds nothing else.
-->
<html><head><meta charset="utf-8"></head><body>
<template><div id="root" data-composition-id="card" data-duration="0.1" data-composition-variables='[{{"id":"fill","type":"color","label":"Fill","default":"#00ff00"}}]'>
<div class="box"></div>
<style>#root {{ position: absolute; inset: 0; background: #000; }} #root .box {{ position: absolute; left: 16px; top: 16px; width: 32px; height: 32px; }}</style>
<script src="{GSAP_URL}"></script>
<script>(function () {{ var root = document.getElementById("root"); var v = window.__hyperframes.getVariables(); root.querySelector(".box").style.background = v.fill; var tl = gsap.timeline({{ paused: true }}); tl.to({{}}, {{ duration: 0.1 }}); window.__timelines = window.__timelines || {{}}; window.__timelines["card"] = tl; }})();</script>
</div></template></body></html>"##
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "commented-template",
    );
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let f = frame(&sorted_pngs(&out)[0]);
    assert_pixels(
        &f,
        &[
            (32, 32, [255, 0, 0], "the box in the host's value"),
            (4, 4, [0, 0, 0], "the component's background"),
            (60, 60, [0, 0, 0], "the component's background"),
        ],
    );
}

/// A component written as a full document (no `<template>`, as the
/// registry's overlay blocks are) keeps its `<head>`: the styles there
/// place and colour its layers, and a `<head>` script runs before the
/// body's (before, both were dropped and the overlay drew nothing).
#[test]
fn a_full_document_component_keeps_its_head_styles_and_scripts() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("full-document");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        format!(
            r##"<!doctype html><html><head><meta charset="utf-8"><script src="{GSAP_URL}"></script><style>html,body{{margin:0;background:#123}}</style></head><body>
<div id="root" data-composition-id="demo" data-width="64" data-height="64" data-duration="0.1">
<div id="overlay" data-composition-id="flash" data-composition-src="flash.html" data-start="0" data-duration="0.1" data-width="64" data-height="64" style="position:absolute;inset:0"></div>
</div>
<script>var tl = gsap.timeline({{ paused: true }}); tl.to({{}}, {{ duration: 0.1 }}); window.__timelines = window.__timelines || {{}}; window.__timelines["demo"] = tl;</script>
</body></html>"##
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("flash.html"),
        format!(
            r##"<!doctype html><html><head><meta charset="utf-8">
<script src="{GSAP_URL}"></script>
<style>html, body {{ margin: 0; background: transparent; }} #layer {{ position: absolute; left: 0; top: 0; width: 32px; height: 64px; background: #ff0000; }}</style>
<script>window.__flashColor = "#0000ff";</script>
</head><body>
<div id="flash-root" data-composition-id="flash" data-duration="0.1" data-width="64" data-height="64"><div id="layer"></div><div id="dot"></div></div>
<script>var dot = document.getElementById("dot"); dot.style.cssText = "position:absolute;left:40px;top:0;width:24px;height:64px;background:" + window.__flashColor; var tl = gsap.timeline({{ paused: true }}); tl.to({{}}, {{ duration: 0.1 }}); window.__timelines = window.__timelines || {{}}; window.__timelines["flash"] = tl;</script>
</body></html>"##
        ),
    )
    .unwrap();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "full-document",
    );
    let f = frame(&sorted_pngs(&out)[0]);
    assert_pixels(
        &f,
        &[
            (8, 32, [255, 0, 0], "the layer the head's style places"),
            (52, 32, [0, 0, 255], "the colour the head's script sets"),
            (
                36,
                32,
                [0x11, 0x22, 0x33],
                "the host's background between them",
            ),
        ],
    );
}

/// A sub-composition host before its `data-start` hides its whole
/// subtree, as the reference renders it, even a descendant whose own CSS
/// says `visibility: visible` (which escapes an ancestor's
/// `visibility: hidden`; the reference's static-volume-future-set case).
#[test]
fn a_host_before_its_start_hides_descendants_that_say_visible() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("late-host");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        format!(
            r##"<!doctype html><html><head><meta charset="utf-8"><script src="{GSAP_URL}"></script><style>html,body{{margin:0;background:#123}} #host{{position:absolute;inset:0}}</style></head><body>
<div id="root" data-composition-id="main" data-width="64" data-height="64" data-duration="0.1">
<div id="host" data-composition-id="child" data-composition-src="child.html" data-start="0.05" data-duration="0.05"></div>
</div>
<script>var tl = gsap.timeline({{ paused: true }}); tl.to({{}}, {{ duration: 0.1 }}); window.__timelines = window.__timelines || {{}}; window.__timelines.main = tl;</script>
</body></html>"##
        ),
    )
    .unwrap();
    std::fs::write(
        project.join("child.html"),
        r##"<template><div id="child-root" data-composition-id="child" data-width="64" data-height="64">
<div class="box"></div>
<style>[data-composition-id="child"] .box { position: absolute; left: 16px; top: 16px; width: 32px; height: 32px; background: #ff0000; visibility: visible; }</style>
<script>window.__timelines = window.__timelines || {}; window.__timelines.child = gsap.timeline({ paused: true });</script>
</div></template>"##,
    )
    .unwrap();
    let (_, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "late-host",
    );
    let frames = sorted_pngs(&out);
    // Frame 0 (t = 0) is before the host's start; frame 2 (t = 0.067) inside it.
    let (before, inside) = (
        frame(&frames[0]).pixel(32, 32),
        frame(&frames[2]).pixel(32, 32),
    );
    assert!(near(before, [0x11, 0x22, 0x33]), "frame 0: {before:?}");
    assert!(near(inside, [255, 0, 0]), "frame 2: {inside:?}");
}

#[test]
fn animations_that_end_before_the_first_frame_is_drawn_still_play_from_zero() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // Two 0.3 s animations without fill, started as the page loads: one
    // WAAPI, one CSS. A map stand-in that reports ready after 0.4 s keeps
    // the page loading past their end. The page's clock must not run while
    // it loads, or they end (and leave document.getAnimations()) before
    // frame 0, and whether they are drawn depends on how long loading took.
    let project = write_project(
        &work.path().join("short-animations"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="1""#,
        r#"const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl};
document.getElementById('box').animate([{transform: 'translateX(0px)'}, {transform: 'translateX(40px)'}], {duration: 300});
window.__hfLeaflet = [{whenReady: (done) => setTimeout(done, 400)}];"#,
    );
    let html = std::fs::read_to_string(project.join("index.html")).unwrap();
    let html = html
        .replace(
            "</style>",
            "@keyframes m{from{transform:translateX(0)}to{transform:translateX(40px)}} #css{position:absolute;top:40px;left:0;width:16px;height:16px;background:#f80;animation:m 0.3s linear}</style>",
        )
        .replace(r#"<div id="box""#, r#"<div id="css"></div><div id="box""#);
    std::fs::write(project.join("index.html"), html).unwrap();
    let p = plan(
        &project,
        &config("png-sequence", None),
        &work.path().join("plan"),
        work.path(),
    );
    // Both capture paths: BeginFrame (the default) and screenshots.
    for mode in [CaptureMode::BeginFrame, CaptureMode::Screenshot] {
        let opts = hyperframes_producer::ChunkOptions {
            force_mode: Some(mode),
            ..Default::default()
        };
        let dir = work.path().join(format!("{mode:?}"));
        let chunks: Vec<_> = (0..p.chunk_count)
            .map(|i| {
                render_chunk_with(&p.plan_dir, i, &dir.join("chunks"), &opts)
                    .unwrap()
                    .path
            })
            .collect();
        let out = dir.join("out");
        assemble(&p.plan_dir, &chunks, &out).unwrap();
        let frames = sorted_pngs(&out);
        for (i, x, what) in [
            (0, 8, "at 0 px"),
            (4, 29, "18 px along at 0.133 s"),
            (12, 8, "back at 0 px after its end"),
        ] {
            let f = frame(&frames[i]);
            for (y, name) in [(8, "the WAAPI box"), (48, "the CSS box")] {
                assert!(
                    is_orange(f.pixel(x, y)),
                    "{mode:?}, frame {i}: {name} should be {what}, ({x}, {y}) is {:?}",
                    f.pixel(x, y)
                );
            }
        }
    }
}
