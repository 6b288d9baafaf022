//! What the reference's map adapter cases (`google-maps-adapter`,
//! `mapbox-adapter`) need: a root sized by its `data-width`/`data-height`
//! alone, as the reference's runtime sizes every root, and the maps a page
//! registers (`window.__hfGoogleMaps`, `__hfMapbox`, ...) waited for
//! before the first frame. Tiny pages, three frames.

use crate::common::*;

fn near(px: [u8; 3], want: [u8; 3]) -> bool {
    px.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40)
}

fn render_frames(project: &std::path::Path, work: &std::path::Path, name: &str) -> Vec<Frame> {
    let (_, _, out) = render_all(project, &config("png-sequence", None), work, name);
    sorted_pngs(&out).iter().map(|p| Frame::load(p)).collect()
}

#[test]
fn a_root_sized_only_by_its_attributes_holds_its_absolute_children() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("root-size");
    std::fs::create_dir_all(&project).unwrap();
    // The root's CSS gives it no size and every child is absolute: 0 px
    // tall, its overflow clips them all unless the root takes 64x64 from
    // its attributes. The bar's width is the root's --comp-width.
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#123}} [data-composition-id] {{position:relative;overflow:hidden}}</style><script src="{GSAP_URL}"></script></head>
<body><div id="root" data-composition-id="c" data-width="64" data-height="64" data-duration="0.1">
<div style="position:absolute;left:8px;top:8px;width:16px;height:16px;background:#f80"></div>
<div style="position:absolute;left:0;bottom:0;height:8px;width:var(--comp-width, 0px);background:#0f0"></div>
</div><script>const tl = gsap.timeline({{paused: true}}); window.__timelines = {{c: tl}};</script></body></html>"#
        ),
    )
    .unwrap();
    let frames = render_frames(&project, work.path(), "root-size");
    assert_eq!(frames.len(), 3);
    for (x, y, want, what) in [
        (16, 16, [255, 136, 0], "the absolute box"),
        (60, 60, [0, 255, 0], "the bar as wide as --comp-width"),
        (40, 30, [17, 34, 51], "the background"),
    ] {
        let px = frames[0].pixel(x, y);
        assert!(near(px, want), "({x}, {y}): {what} is {px:?}");
    }
}

#[test]
fn registered_maps_are_waited_for_before_the_first_frame() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    // A mock Google map and a mock Mapbox map, each ready 600 ms (wall
    // clock) after load, each painting its box when ready: unwaited, the
    // frames show the boxes' first colour.
    let script = r#"
const tl = gsap.timeline({paused: true}); window.__timelines = {c: tl};
const box = document.getElementById('box');
const bar = document.createElement('div');
bar.style.cssText = 'position:absolute;left:0;top:32px;width:64px;height:16px;background:#00f';
document.getElementById('root').appendChild(bar);
const google = { cbs: [], addListener(ev, cb) { if (ev === 'tilesloaded') this.cbs.push(cb); return { remove() {} }; } };
let loaded = false;
const mapbox = { cbs: [], loaded() { return loaded; }, on(ev, cb) { if (ev === 'load') this.cbs.push(cb); } };
setTimeout(() => { box.style.background = '#f00'; google.cbs.forEach((f) => f()); }, 600);
setTimeout(() => { bar.style.background = '#0f0'; loaded = true; mapbox.cbs.forEach((f) => f()); }, 600);
window.__hfGoogleMaps = [google];
window.__hfMapbox = [mapbox];
"#;
    let project = write_project(
        &work.path().join("maps"),
        r#"data-composition-id="c" data-width="64" data-height="64" data-duration="0.1""#,
        script,
    );
    let frames = render_frames(&project, work.path(), "maps");
    assert_eq!(frames.len(), 3);
    let (tiles, load) = (frames[0].pixel(8, 8), frames[0].pixel(32, 40));
    assert!(
        near(tiles, [255, 0, 0]),
        "frame 0 before the Google map's tilesloaded: {tiles:?}"
    );
    assert!(
        near(load, [0, 255, 0]),
        "frame 0 before the Mapbox map's load: {load:?}"
    );
}
