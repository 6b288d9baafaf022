//! Composition variables end to end (plan, Chromium, ffmpeg): the two
//! reference fixtures with and without values, and the bindings on a small
//! page. Pixels are sampled in regions (a colour, or whether a region
//! changed); nothing is compared with a stored picture of our own output.
//! The fixtures are shortened to two or three frames: what is checked is
//! the first frame's content.

use std::path::{Path, PathBuf};

use hyperframes_producer::assemble::assemble;
use hyperframes_producer::chunk::render_chunk_with;
use hyperframes_producer::variables::Variables;
use hyperframes_producer::{ChunkOptions, PlanOptions, PlanOutcome, RenderConfig};

use crate::common::*;

const REMOTE_LOGO: &str = "https://cdn.example/logo.png";
const JSDELIVR_GSAP: &str = "https://cdn.jsdelivr.net/npm/gsap@3.14.2/dist/gsap.min.js";

fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

/// A copy of a fixture with every duration set to `seconds` (and the
/// `edit` applied to each HTML file).
fn shortened(name: &str, dest: &Path, seconds: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let src = fixture(name);
    let dir = dest.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let target = dir.join(path.file_name().unwrap());
        if path.extension().is_some_and(|e| e == "html") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = regex_durations(&text, seconds);
            std::fs::write(&target, edit(text)).unwrap();
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
    dir
}

/// `data-duration="N"` and `data-composition-duration="N"` become `seconds`.
fn regex_durations(text: &str, seconds: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(p) = rest.find("duration=\"") {
        let (head, tail) = rest.split_at(p + "duration=\"".len());
        out.push_str(head);
        let end = tail.find('"').unwrap();
        out.push_str(seconds);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn plan_options(scratch: &Path) -> PlanOptions {
    let mut map = asset_map(scratch);
    map.insert(JSDELIVR_GSAP, gsap_path());
    // A remote image a variable may name (the bindings test writes it).
    map.insert(REMOTE_LOGO, scratch.join("logo.png"));
    PlanOptions {
        asset_map: Some(map),
        ..Default::default()
    }
}

/// png-sequence (lossless frames); `chunk_size` 1 gives each frame its own
/// chunk and browser.
fn png_config(fps: u32, values: Option<&str>, chunk_size: Option<u32>) -> RenderConfig {
    let mut c = RenderConfig::new(fps, hyperframes_producer::Format::PngSequence);
    c.chunk_size = chunk_size;
    c.variables = values.map(|v| Variables::parse(v, "test").unwrap());
    c
}

/// plan -> every chunk -> assembled frames.
fn render_frames(
    project: &Path,
    config: &RenderConfig,
    work: &Path,
    name: &str,
) -> (PlanOutcome, Vec<Frame>) {
    let plan_dir = work.join(format!("{name}-plan"));
    let plan = hyperframes_producer::plan_with(project, config, &plan_dir, &plan_options(work))
        .unwrap_or_else(|e| panic!("plan of {name} failed [{}]: {e}", e.name()));
    let chunks: Vec<PathBuf> = (0..plan.chunk_count)
        .map(|i| {
            render_chunk_with(
                &plan.plan_dir,
                i,
                &work.join(format!("{name}-chunks")),
                &ChunkOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{name} chunk {i} failed [{}]: {e}", e.name()))
            .path
        })
        .collect();
    let out = work.join(format!("{name}-out"));
    assemble(&plan.plan_dir, &chunks, &out).unwrap_or_else(|e| panic!("assemble {name}: {e}"));
    let frames = sorted_pngs(&out).iter().map(|p| Frame::load(p)).collect();
    (plan, frames)
}

const OVERRIDES: &str =
    r##"{"title":"Override Title","subtitle":"Override subtitle","bgColor":"#0a3d62"}"##;

#[test]
fn variables_prod_renders_its_defaults_and_the_render_values() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = shortened("variables-prod", work.path(), "0.08", |t| t);
    let (_, defaults) = render_frames(
        &project,
        &png_config(24, None, None),
        work.path(),
        "defaults",
    );
    let (plan, overridden) = render_frames(
        &project,
        &png_config(24, Some(OVERRIDES), Some(1)),
        work.path(),
        "overrides",
    );
    let (_, title_only) = render_frames(
        &project,
        &png_config(24, Some(r#"{"title":"Another Title"}"#), None),
        work.path(),
        "title",
    );
    assert!(overridden.len() >= 2, "{} frames", overridden.len());
    // Each frame came from its own chunk (its own browser): all saw the same values.
    assert!(
        overridden.iter().all(|f| f.rgb == overridden[0].rgb),
        "chunks of one plan rendered different pictures"
    );
    let (d, o, t) = (&defaults[0], &overridden[0], &title_only[0]);
    // The background is the declared default, or the render's colour.
    assert!(
        close(d.pixel(40, 40), [0x0b, 0x0b, 0x0d], 2),
        "{:?}",
        d.pixel(40, 40)
    );
    assert!(
        close(o.pixel(40, 40), [0x0a, 0x3d, 0x62], 2),
        "{:?}",
        o.pixel(40, 40)
    );
    // The title is drawn (white) in both; a different title changes only the title.
    let title = (200, 370, 1720, 530);
    let white = |f: &Frame| {
        f.region(title.0, title.1, title.2, title.3)
            .iter()
            .filter(|p| p.iter().all(|&c| c > 200))
            .count()
    };
    assert!(
        white(d) > 1000 && white(t) > 1000,
        "no title text: {} {}",
        white(d),
        white(t)
    );
    assert_ne!(
        d.region(title.0, title.1, title.2, title.3),
        t.region(title.0, title.1, title.2, title.3),
        "the title did not change"
    );
    assert_eq!(
        d.region(0, 590, 1920, 680),
        t.region(0, 590, 1920, 680),
        "the subtitle changed though its value did not"
    );
    assert_eq!(
        d.region(0, 0, 1920, 300),
        t.region(0, 0, 1920, 300),
        "the background changed though its value did not"
    );

    // The values are in the plan hash, in canonical order; the site is not.
    let reordered =
        r##"{"bgColor":"#0a3d62","subtitle":"Override subtitle","title":"Override Title"}"##;
    let again = hyperframes_producer::plan_with(
        &project,
        &png_config(24, Some(reordered), Some(1)),
        &work.path().join("re-plan"),
        &plan_options(work.path()),
    )
    .unwrap();
    assert_eq!(again.plan_hash, plan.plan_hash);
    let none = hyperframes_producer::plan_with(
        &project,
        &png_config(24, None, Some(1)),
        &work.path().join("none-plan"),
        &plan_options(work.path()),
    )
    .unwrap();
    assert_ne!(none.plan_hash, plan.plan_hash);
    assert!(
        plan.variable_problems.is_empty(),
        "{:?}",
        plan.variable_problems
    );
}

#[test]
fn nested_variables_follow_the_host_values_inside_the_host_box() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let with = |values: &'static str| {
        move |t: String| t.replace(r#"{"accent":"violet","mood":"bright"}"#, values)
    };
    let violet_bright = shortened("nested-variables", &work.path().join("a"), "0.05", |t| t);
    let violet_deep = shortened(
        "nested-variables",
        &work.path().join("b"),
        "0.05",
        with(r#"{"accent":"violet"}"#),
    );
    let defaults = shortened(
        "nested-variables",
        &work.path().join("c"),
        "0.05",
        with("{}"),
    );
    let cfg = png_config(30, None, None);
    let vb = render_frames(&violet_bright, &cfg, work.path(), "vb")
        .1
        .remove(0);
    let vd = render_frames(&violet_deep, &cfg, work.path(), "vd")
        .1
        .remove(0);
    let gd = render_frames(&defaults, &cfg, work.path(), "gd")
        .1
        .remove(0);
    // Inside the card (1440x756 at 240,162): violet is bluer than green, green greener.
    let card = (300, 220, 1620, 860);
    let m = |f: &Frame| f.mean(card.0, card.1, card.2, card.3);
    let (vb_m, vd_m, gd_m) = (m(&vb), m(&vd), m(&gd));
    assert!(
        vb_m[2] > vb_m[1] && vd_m[2] > vd_m[1],
        "violet is not violet: {vb_m:?} {vd_m:?}"
    );
    assert!(
        gd_m[1] > gd_m[0] && gd_m[1] > gd_m[2] - 4.0,
        "green default is not green: {gd_m:?}"
    );
    // Bright is brighter than deep.
    let luma = |m: [f64; 3]| 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2];
    assert!(
        luma(vb_m) > luma(vd_m) + 2.0,
        "bright {vb_m:?} vs deep {vd_m:?}"
    );
    // Outside the card nothing depends on the values: the component stays in its host's box.
    for (x0, y0, x1, y1) in [(0, 0, 1920, 120), (0, 0, 200, 1080), (1720, 0, 1920, 1080)] {
        assert_eq!(
            vb.region(x0, y0, x1, y1),
            gd.region(x0, y0, x1, y1),
            "region {x0},{y0}-{x1},{y1} changed with the values"
        );
    }
}

/// A 1x1 PNG of one colour, as a data URL.
fn png_data_url(rgb: [u8; 3]) -> String {
    use base64::Engine;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png_bytes(rgb))
    )
}

fn png_bytes(rgb: [u8; 3]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, 1, 1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&rgb).unwrap();
    }
    bytes
}

#[test]
fn bindings_and_get_variables_before_any_page_script() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("bindings");
    std::fs::create_dir_all(&dir).unwrap();
    let blue = png_data_url([0, 0, 255]);
    std::fs::write(dir.join("index.html"), format!(r##"<!doctype html>
<html data-composition-variables='[{{"id":"accent","type":"color","label":"A","default":"#ff0000"}},{{"id":"label","type":"string","label":"L","default":""}},{{"id":"logo","type":"image","label":"I","default":""}},{{"id":"evil","type":"image","label":"E","default":""}},{{"id":"remote","type":"image","label":"R","default":""}}]'>
<head><script>window.__early = window.__hyperframes.getVariables().accent;</script>
<style>html,body{{margin:0;width:64px;height:64px;background:#000;overflow:hidden}}
#a,#b,img{{position:absolute;top:0;width:16px;height:16px}} #a{{left:0;background:var(--accent)}} #b{{left:16px}} #logo{{left:32px}} #evil{{left:48px}} #remote{{left:0;top:16px}}
p{{position:absolute;left:0;top:32px;margin:0;font-size:24px;line-height:32px;color:#fff}}</style></head>
<body><div id="root" data-composition-id="main" data-width="64" data-height="64" data-duration="0.1" data-no-timeline>
<div id="a"></div><div id="b"></div><img id="logo" data-var-src="logo" src="{blue}"><img id="evil" data-var-src="evil" src="{blue}"><img id="remote" data-var-src="remote" src="{blue}"><p data-var-text="label"></p>
</div><script>document.getElementById("b").style.background = window.__early;</script></body></html>"##)).unwrap();
    let red = png_data_url([255, 0, 0]);
    // A remote image: fetched into the plan through the asset map (chunks stay offline).
    std::fs::write(work.path().join("logo.png"), png_bytes([0, 255, 0])).unwrap();
    let values = serde_json::json!({"accent": "#00ff00", "label": "WWW", "logo": red,
        "evil": "javascript:alert(1)", "remote": REMOTE_LOGO})
    .to_string();
    let f = render_frames(&dir, &png_config(30, None, None), work.path(), "defaults")
        .1
        .remove(0);
    let o = render_frames(
        &dir,
        &png_config(30, Some(&values), None),
        work.path(),
        "values",
    )
    .1
    .remove(0);
    // CSS custom property and getVariables() in a <head> script: the default, then the value.
    assert!(
        close(f.pixel(8, 8), [255, 0, 0], 2) && close(f.pixel(24, 8), [255, 0, 0], 2),
        "{:?} {:?}",
        f.pixel(8, 8),
        f.pixel(24, 8)
    );
    assert!(
        close(o.pixel(8, 8), [0, 255, 0], 2) && close(o.pixel(24, 8), [0, 255, 0], 2),
        "{:?} {:?}",
        o.pixel(8, 8),
        o.pixel(24, 8)
    );
    // data-var-src: a safe URL replaces the authored src, an unsafe one is refused.
    assert!(
        close(f.pixel(40, 8), [0, 0, 255], 2),
        "{:?}",
        f.pixel(40, 8)
    );
    assert!(
        close(o.pixel(40, 8), [255, 0, 0], 2),
        "{:?}",
        o.pixel(40, 8)
    );
    assert!(
        close(o.pixel(56, 8), [0, 0, 255], 2),
        "{:?}",
        o.pixel(56, 8)
    );
    assert!(
        close(f.pixel(8, 24), [0, 0, 255], 2),
        "{:?}",
        f.pixel(8, 24)
    );
    assert!(
        close(o.pixel(8, 24), [0, 255, 0], 2),
        "remote image: {:?}",
        o.pixel(8, 24)
    );
    // data-var-text: the text appears where the element was empty.
    assert!(f
        .region(0, 32, 64, 64)
        .iter()
        .all(|p| close(*p, [0, 0, 0], 0)));
    assert!(
        o.region(0, 32, 64, 64)
            .iter()
            .filter(|p| p.iter().all(|&c| c > 128))
            .count()
            > 20
    );
}
