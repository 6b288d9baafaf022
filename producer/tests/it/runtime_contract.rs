//! The rest of the reference's runtime contract (issue 24, item 3, and the
//! scoping of item 2): GSAP string selectors scoped per mount, a duration
//! taken from the timeline, pages without a timeline, and a sub-composition
//! host without an id. Tiny pages, few frames.

use crate::common::*;

fn frame(path: &std::path::Path) -> Frame {
    Frame::load(path)
}

fn near(px: [u8; 3], want: [u8; 3]) -> bool {
    px.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40)
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
