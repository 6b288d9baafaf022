//! Deterministic fonts at plan time: the faces a composition uses are in
//! the plan's page (so the plan hash covers them), and text that would be
//! drawn with a host font is a warning locally and an error in a
//! distributed plan unless the config allows it, naming family and element.

use std::path::Path;

use base64::Engine;
use hyperframes_producer::plan::fonts::catalog::FAMILIES;
use hyperframes_producer::plan::LoadedPlan;
use hyperframes_producer::{plan_with, PlanOptions, RenderConfig};

use crate::common::{self, config};

fn encoded(slug: &str, weight: u16) -> String {
    let family = FAMILIES.iter().find(|f| f.slug == slug).unwrap();
    let face = family.faces.iter().find(|f| f.weight == weight).unwrap();
    base64::engine::general_purpose::STANDARD.encode(face.bytes)
}

fn options(distributed: bool) -> PlanOptions {
    PlanOptions {
        asset_map: Some(Default::default()),
        distributed,
        ..Default::default()
    }
}

#[test]
fn the_plan_holds_the_used_faces_and_its_hash_covers_them() {
    let work = tempfile::tempdir().unwrap();
    let plan_dir = work.path().join("plan");
    let out = plan_with(
        &common::fixture("fonts"),
        &config("mp4", None),
        &plan_dir,
        &options(true),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.host_fonts.is_empty(), "{:?}", out.host_fonts);
    let page_path = plan_dir.join("compiled/index.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    // Space Mono and Inter (named, and for the generics).
    for (slug, weight) in [
        ("space-mono", 400),
        ("space-mono", 700),
        ("inter", 400),
        ("inter", 700),
        ("inter", 900),
    ] {
        assert!(
            page.contains(&encoded(slug, weight)),
            "{slug} {weight} is not embedded"
        );
    }
    // Weights are the page's (400, 700, 900), matched in each family:
    // Space Mono has no 900, so its 700 serves it; no family the page
    // does not name is embedded.
    // The faces are added by the script that runs before the page's own
    // (see `a_page_script_measures_text_in_its_embedded_face`), not by rules.
    assert_eq!(page.matches("\"display\":\"block\"").count(), 5);
    for family in ["Space Mono", "Inter"] {
        assert!(!page.contains(&format!("@font-face{{font-family:\"{family}")));
    }
    assert!(
        !page.contains(&encoded("jetbrains-mono", 400)),
        "no JetBrains Mono is named"
    );
    assert!(
        page.contains("font-family: Inter, monospace;"),
        "the generic primary gets Inter"
    );
    let loaded = LoadedPlan::load(&plan_dir).unwrap();
    loaded.verify_hash().unwrap();
    // Other font data (one byte of the embedded Space Mono changed) is
    // another plan: the worker's hash check refuses it.
    let face = encoded("space-mono", 700);
    let other = format!(
        "{}{}",
        &face[..100],
        if &face[100..101] == "A" { "B" } else { "A" }
    );
    std::fs::write(&page_path, page.replacen(&face[..101], &other, 1)).unwrap();
    let err = loaded.verify_hash().unwrap_err();
    assert_eq!(err.name(), "PLAN_HASH_MISMATCH", "{err}");
}

fn project_with_unknown_font(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        r#"<html><head><style>.title { font-family: "Comic Neue", cursive }</style></head>
<body><div id="main" data-composition-id="main" data-width="320" data-height="180" data-duration="1" data-no-timeline>
<h1 class="title">hi</h1><p id="note" style="font-family: Papyrus">x</p></div></body></html>"#,
    )
    .unwrap();
}

#[test]
fn host_fonts_warn_locally_and_fail_a_distributed_plan_unless_allowed() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    project_with_unknown_font(&project);
    let cfg = config("mp4", None);
    let local = plan_with(&project, &cfg, &work.path().join("p1"), &options(false)).unwrap();
    let named: Vec<(&str, &str)> = local
        .host_fonts
        .iter()
        .map(|f| (f.family.as_str(), f.element.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("Comic Neue", "the text of `.title`"),
            ("Papyrus", "<p id=\"note\">")
        ]
    );

    let err = plan_with(&project, &cfg, &work.path().join("p2"), &options(true)).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.name(), "INVALID_COMPOSITION", "{msg}");
    for part in [
        "\"Comic Neue\"",
        ".title",
        "\"Papyrus\"",
        "<p id=\"note\">",
        "rejectOnSystemFonts: false",
        "--allow-host-fonts",
    ] {
        assert!(msg.contains(part), "{part} missing from: {msg}");
    }
    assert!(
        !work.path().join("p2").exists(),
        "a refused plan leaves nothing behind"
    );

    let mut allowed: RenderConfig = cfg.clone();
    allowed.reject_on_system_fonts = Some(false);
    let ok = plan_with(&project, &allowed, &work.path().join("p3"), &options(true)).unwrap();
    assert_eq!(ok.host_fonts.len(), 2);
    let mut strict = cfg;
    strict.reject_on_system_fonts = Some(true);
    assert!(plan_with(&project, &strict, &work.path().join("p4"), &options(false)).is_err());
}

/// The registry's `var(--font-body, Inter, system-ui, sans-serif)` with no
/// rule defining `--font-body` draws with the fallback's Inter, as the
/// reference embeds it; and `var(--font-mono, ui-monospace, monospace)`
/// gets Inter in its fallback, as the reference promotes generic
/// primaries. One frame, three 32-px rows of the same word: the two
/// `var()` rows must be pixel for pixel the row that names Inter.
#[test]
fn var_fallbacks_draw_with_the_embedded_face() {
    common::require_tools();
    let _g = common::browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("var-fonts");
    std::fs::create_dir_all(&project).unwrap();
    let rows = [
        "Inter",
        "var(--font-body, Inter, system-ui, sans-serif)",
        "var(--font-mono, ui-monospace, monospace)",
    ];
    let body: String = rows
        .iter()
        .map(|f| format!(r#"<p style="font-family: {f}">Hamburg</p>"#))
        .collect();
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#fff}} p{{margin:0;height:32px;font-size:24px;line-height:32px;color:#000}}</style></head>
<body><div id="root" data-composition-id="t" data-width="96" data-height="96" data-duration="0.034" data-no-timeline>{body}</div></body></html>"#
        ),
    )
    .unwrap();
    let (_, _, out) = common::render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "var-fonts",
    );
    let f = common::Frame::load(&common::sorted_pngs(&out)[0]);
    let inter = f.region(0, 0, 96, 32);
    let ink = inter.iter().filter(|p| p[0] < 128).count();
    assert!(ink > 50, "the text is drawn ({ink} dark pixels)");
    for (row, family) in rows.iter().enumerate().skip(1) {
        let got = f.region(0, 32 * row, 96, 32 * (row + 1));
        let off = got
            .iter()
            .zip(&inter)
            .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 8))
            .count();
        assert_eq!(off, 0, "{family}: {off} pixels differ from Inter's row");
    }
}

/// A `font` shorthand whose weight is a `var()` (the registry's
/// `font: var(--_hf-ui-weight-semibold) 52px/1 ...`) may draw any weight:
/// the plan embeds every face, as the reference does, instead of 400 only
/// (which Chromium then thickened into a synthetic bold).
#[test]
fn a_shorthand_weight_from_a_variable_embeds_every_face() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        r#"<html><head><style>:root { --semibold: 600 } body { font-family: Inter, sans-serif } h1 { font: var(--semibold) 52px/1 Inter, sans-serif }</style></head>
<body><div id="main" data-composition-id="main" data-width="320" data-height="180" data-duration="1" data-no-timeline><h1>hi</h1></div></body></html>"#,
    )
    .unwrap();
    let plan_dir = work.path().join("plan");
    plan_with(&project, &config("mp4", None), &plan_dir, &options(false))
        .unwrap_or_else(|e| panic!("{e}"));
    let page = std::fs::read_to_string(plan_dir.join("compiled/index.html")).unwrap();
    for weight in [400, 700, 900] {
        assert!(
            page.contains(&encoded("inter", weight)),
            "Inter {weight} is not embedded"
        );
    }
}

/// A custom property after a comment that holds a colon (the registry's
/// `/* ---- mk tokens: override in the host ---- */ --mk-font: "Inter", ...`)
/// is read, so the family it names is embedded (it was not, and the text
/// fell back to a host face).
#[test]
fn a_font_variable_after_a_comment_with_a_colon_is_embedded() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("index.html"),
        r#"<html><head><style>#main {
  /* ---- tokens: override in the host ---- */
  --mk-font: "Inter", -apple-system, sans-serif;
}
.row { font-family: var(--mk-font); }</style></head>
<body><div id="main" data-composition-id="main" data-width="320" data-height="180" data-duration="1" data-no-timeline><p class="row">hi</p></div></body></html>"#,
    )
    .unwrap();
    let plan_dir = work.path().join("plan");
    let out = plan_with(&project, &config("mp4", None), &plan_dir, &options(true))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.host_fonts.is_empty(), "{:?}", out.host_fonts);
    let page = std::fs::read_to_string(plan_dir.join("compiled/index.html")).unwrap();
    assert!(
        page.contains(&encoded("inter", 400)),
        "Inter is not embedded"
    );
}

/// A page script that measures text as it runs sees the embedded face's
/// metrics, not a fallback's: the faces are loaded before any page script
/// (GSAP reads a `translate(-50%, -50%)` this way, and a race with the
/// face's load once placed a title 0.08 px apart in one chunk in ten).
/// The bar is green when the width measured during parsing equals the
/// width at the first seek, red otherwise.
#[test]
fn a_page_script_measures_text_in_its_embedded_face() {
    common::require_tools();
    let _g = common::browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("measure");
    std::fs::create_dir_all(&project).unwrap();
    let html = format!(
        r##"<!doctype html><html><head><meta charset="utf-8"><script src="{gsap}"></script>
<style>html,body{{margin:0;width:64px;height:32px;background:#000}}
#t{{position:absolute;left:0;top:0;font:700 40px "Space Mono",monospace;color:#fff;white-space:nowrap}}
#bar{{position:absolute;left:0;top:24px;width:64px;height:8px;background:#00f}}</style></head>
<body><div id="root" data-composition-id="root" data-width="64" data-height="32" data-duration="0.1">
<div id="t">HOLD</div><div id="bar"></div></div>
<script>
const parsed = document.getElementById("t").getBoundingClientRect().width;
const tl = gsap.timeline({{ paused: true }});
tl.to({{}}, {{ duration: 0.1 }});
tl.eventCallback("onUpdate", () => {{
  const now = document.getElementById("t").getBoundingClientRect().width;
  document.getElementById("bar").style.background = now === parsed ? "#0f0" : "#f00";
}});
window.__timelines = {{ root: tl }};
</script></body></html>"##,
        gsap = common::GSAP_URL
    );
    std::fs::write(project.join("index.html"), html).unwrap();
    let (_, _, out) = common::render_all(&project, &config("png-sequence", None), work.path(), "m");
    let frames = common::sorted_pngs(&out);
    for f in &frames {
        let px = common::Frame::load(f).pixel(32, 28);
        assert_eq!(
            px,
            [0, 255, 0],
            "{}: the text's width while the page parsed differs from its width once loaded (bar {px:?}; blue: never seeked)",
            f.display()
        );
    }
    assert!(!frames.is_empty());
}
