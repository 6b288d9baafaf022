//! Shader transitions composited on the page, as the reference drives
//! HyperShader's page-side compositor: `__HF_PAGE_SIDE_COMPOSITING__` set
//! before page scripts, `drawElementImage` available, screenshot capture,
//! and prepare / a paint / resolve around each seek the compositor marks
//! pending. The page's compositor here is a small stand-in with the same
//! contract (the real one is the reference's bundle). 64x64, four frames.

use crate::common::*;

/// A stand-in HyperShader: with the flag, it installs the three hooks and
/// wraps `__hf.seek` from an interval, as the real one does; from
/// `cfg.from` on, resolve draws a clone of `#b` (green, hidden in the
/// page) with drawElementImage over the whole frame.
const STAND_IN: &str = r#"
window.HyperShader = { init: function (cfg) {
  if (!window.__HF_PAGE_SIDE_COMPOSITING__) return;
  var out = document.createElement('canvas');
  out.width = 64; out.height = 64;
  out.style.cssText = 'position:fixed;left:0;top:0;width:64px;height:64px;z-index:9;display:none';
  document.body.appendChild(out);
  var staging = document.createElement('canvas');
  staging.width = 64; staging.height = 64;
  staging.setAttribute('layoutsubtree', '');
  staging.style.cssText = 'position:fixed;left:0;top:0;width:64px;height:64px;z-index:-9998';
  document.body.appendChild(staging);
  window.__hf_page_composite_prepare = async function () {
    var clone = document.getElementById('b').cloneNode(true);
    // Pinned to its live box, as the real one pins it: inset:0 alone
    // is 0x0 inside the staging canvas.
    clone.style.cssText += ';visibility:visible;left:0;top:0;width:64px;height:64px';
    staging.replaceChildren(clone);
    return true;
  };
  window.__hf_page_composite_resolve = function () {
    staging.getContext('2d').drawElementImage(staging.firstElementChild, 0, 0, 64, 64);
    out.getContext('2d').drawImage(staging, 0, 0);
    out.style.display = 'block';
    window.__hf_page_composite_pending = false;
    return true;
  };
  var iv = setInterval(function () {
    if (!window.__hf || !window.__hf.seek) return;
    var seek = window.__hf.seek;
    window.__hf.seek = function (t) {
      var r = seek.call(window.__hf, t);
      out.style.display = 'none';
      window.__hf_page_composite_pending = t >= cfg.from;
      return r;
    };
    clearInterval(iv);
  }, 50);
} };
"#;

#[test]
fn a_shader_transition_is_composited_on_the_page() {
    require_tools();
    let _g = browser_lock();
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("shader");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("hyper-shader.js"), STAND_IN).unwrap();
    std::fs::write(
        project.join("index.html"),
        format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><style>html,body{{margin:0;background:#123}}</style><script src="{GSAP_URL}"></script><script src="hyper-shader.js"></script></head>
<body><div id="root" data-composition-id="c" data-width="64" data-height="64" data-duration="0.13">
<div id="a" style="position:absolute;inset:0;background:#f80"></div>
<div id="b" style="position:absolute;inset:0;background:#0f0;visibility:hidden"></div>
</div><script>const tl = gsap.timeline({{paused: true}}); HyperShader.init({{from: 0.05, timeline: tl}}); window.__timelines = {{c: tl}};</script></body></html>"#
        ),
    )
    .unwrap();
    let (p, _, out) = render_all(
        &project,
        &config("png-sequence", None),
        work.path(),
        "shader",
    );
    let encoder = std::fs::read_to_string(p.plan_dir.join("meta/encoder.json")).unwrap();
    assert!(
        encoder.contains(r#""pageComposite":true"#)
            && encoder.contains(r#""captureMode":"screenshot""#),
        "{encoder}"
    );
    let frames: Vec<Frame> = sorted_pngs(&out).iter().map(|f| Frame::load(f)).collect();
    assert_eq!(frames.len(), 4);
    let before = frames[0].pixel(32, 32);
    assert!(
        before[0] > 200 && before[1] > 100 && before[2] < 60,
        "frame 0, before the transition: scene a (orange) is {before:?}"
    );
    for (i, f) in frames.iter().enumerate().skip(2) {
        let px = f.pixel(32, 32);
        assert!(
            px[0] < 40 && px[1] > 200 && px[2] < 40,
            "frame {i}, in the transition: the compositor's canvas (scene b, green) is {px:?}"
        );
    }
}
