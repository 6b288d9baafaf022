//! Where a composition's length and clock come from when its root does not
//! say: the reference renders a root without `data-duration` for as long as
//! its timeline runs, and a page that registers no timeline at all with a
//! warning (its CSS animations and clocks still follow the frame time).
//!
//! Why a browser at plan time: a timeline's length exists only once the
//! page's scripts have run. The probe loads the plan's own compiled page
//! (hermetic: the same bytes every chunk loads, offline, on the virtual
//! clock) in the runtime's Chromium, the bundled one in the Lambda plan
//! stage, and only for roots without `data-duration`, so other plans start
//! no browser.

use std::path::Path;

use crate::capture::browser::CaptureMode;
use crate::capture::session::{with_session, SessionSpec};
use crate::config::RenderConfig;
use crate::errors::{ProducerError, Result};
use crate::plan::compile::Composition;

/// Where the plan's duration came from, for its log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DurationFrom {
    /// The root's `data-duration`.
    #[default]
    Attribute,
    /// Measured on the page (the root has no `data-duration`); the text
    /// says what set it.
    Page(String),
}

/// As its log line.
impl serde::Serialize for DurationFrom {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for DurationFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DurationFrom::Attribute => f.write_str("the root's data-duration"),
            DurationFrom::Page(what) => f.write_str(what),
        }
    }
}

/// The runtime hooks through which a page hands the renderer something to
/// seek; a project that names none registers no timeline.
const REGISTRIES: [&str; 3] = ["__timelines", "__hfAnime", "__hfLottie"];

/// Whether any of the project's pages and scripts registers a timeline
/// (or an anime.js/Lottie instance), read as the reference's lint reads it
/// (`missing_timeline_registry`): by the registry's name in the source.
pub fn registers_timeline(project_dir: &Path) -> Result<bool> {
    for rel in crate::compat::project_sources(project_dir)? {
        let path = project_dir.join(&rel);
        let text = std::fs::read(&path).map_err(|e| ProducerError::io(&path, e))?;
        let text = String::from_utf8_lossy(&text);
        if REGISTRIES
            .iter()
            .any(|r| crate::compat::find_word(&text, r).is_some())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The warning for a page without any timeline, in the reference's words.
pub fn no_timeline_warning(entry: &str, comp_id: &str) -> String {
    format!(
        "{entry}: Missing `window.__timelines` registration. Rendered as the reference renders it: CSS animations, requestAnimationFrame and the page's clocks follow the frame time, nothing else is seeked. Register each composition timeline on `window.__timelines[compositionId]` (here window.__timelines[{comp_id:?}]), or mark the root with data-no-timeline if the page needs none"
    )
}

/// What the probe reads on the loaded page: the root's timeline (or the
/// only one registered, as the reference falls back to it), and the floors
/// the reference's runtime raises a duration to: the end of the root's
/// timed media and sub-compositions, and of its finite CSS/Web animations.
const PROBE_JS: &str = r#"(() => {
  const id = __ID__;
  const tls = window.__timelines || {};
  const usable = (t) => !!t && typeof t.duration === "function";
  let key = id, tl = tls[id];
  if (!usable(tl)) {
    const keys = Object.keys(tls).filter((k) => usable(tls[k]) && typeof tls[k].pause === "function");
    key = keys.length === 1 ? keys[0] : null;
    tl = key === null ? null : tls[key];
  }
  let timeline = 0;
  try { timeline = tl ? Number(tl.duration()) || 0 : 0; } catch (e) {}
  const root = document.querySelector('[data-composition-id="' + id.replace(/["\\]/g, "\\$&") + '"]');
  let floor = 0, floorWhat = "";
  const timed = root ? root.querySelectorAll("video[data-start], audio[data-start], [data-composition-id][data-start], [data-composition-file][data-start]") : [];
  for (const el of timed) {
    const s = Number(el.getAttribute("data-start")), d = Number(el.getAttribute("data-duration"));
    if (!isFinite(s) || !isFinite(d) || d <= 0) continue;
    const end = Math.max(0, s) + d;
    if (end > floor) { floor = end; floorWhat = "<" + el.tagName.toLowerCase() + (el.id ? ' id="' + el.id + '"' : "") + ">"; }
  }
  let animations = 0;
  for (const a of (document.getAnimations ? document.getAnimations() : [])) {
    const t = a.effect && a.effect.getComputedTiming ? a.effect.getComputedTiming() : null;
    if (t && isFinite(t.endTime) && t.endTime / 1000 > animations) animations = t.endTime / 1000;
  }
  return { key, timeline, floor, floorWhat, animations, keys: Object.keys(tls) };
})()"#;

/// The shortest usable length (the reference's 1/60 s).
const MIN_SECONDS: f64 = 1.0 / 60.0;

/// Loads the compiled page in `compiled_dir` and measures the root's
/// length as the reference's runtime does: its timeline's duration raised
/// to the floors above, or the floors alone without a timeline. An error
/// names the root and what to add when nothing gives a length.
pub fn probe_duration(
    compiled_dir: &Path,
    comp: &Composition,
    config: &RenderConfig,
    variable_assets: Option<std::collections::BTreeMap<String, String>>,
    entry: &Path,
) -> Result<(f64, DurationFrom)> {
    let spec = SessionSpec {
        site_root: compiled_dir.to_path_buf(),
        entry: "index.html".into(),
        composition_id: comp.id.clone(),
        no_timeline: comp.no_timeline,
        width: comp.width,
        height: comp.height,
        fps: config.fps,
        mode: CaptureMode::for_format(config.format),
        transparent: false,
        ready_timeout: None,
        variables: config.variables.clone(),
        variable_assets,
        extra_flags: Vec::new(),
        screencast: None,
        page_composite: false,
    };
    let id = serde_json::Value::String(comp.id.clone()).to_string();
    let probe = PROBE_JS.replace("__ID__", &id);
    let found = with_session(&spec, |cap, _| {
        cap.page.eval(&probe, std::time::Duration::from_secs(10))
    })?;
    decide(&found, comp, entry)
}

/// The length and its source from the probe's report, or the error.
fn decide(
    found: &serde_json::Value,
    comp: &Composition,
    entry: &Path,
) -> Result<(f64, DurationFrom)> {
    let num = |k: &str| found[k].as_f64().filter(|v| v.is_finite()).unwrap_or(0.0);
    let (timeline, floor, animations) = (num("timeline"), num("floor"), num("animations"));
    let key = found["key"].as_str().unwrap_or("").to_string();
    let mut best = (0.0, String::new());
    if timeline > MIN_SECONDS {
        best = (
            timeline,
            format!("the timeline window.__timelines[{key:?}]"),
        );
    }
    if floor > best.0 && floor > MIN_SECONDS {
        let what = found["floorWhat"].as_str().unwrap_or("a timed element");
        best = (
            floor,
            format!("the end of {what} (data-start + data-duration)"),
        );
    }
    if animations > best.0 && animations > MIN_SECONDS {
        best = (
            animations,
            "the end of the page's longest CSS animation".into(),
        );
    }
    if best.0 > 86_400.0 {
        return Err(ProducerError::composition(
            entry,
            format!(
                "root composition {:?} runs {:.0} s by {}, over 24 hours; set data-duration on it",
                comp.id, best.0, best.1
            ),
        ));
    }
    if best.0 > 0.0 {
        return Ok((
            best.0,
            DurationFrom::Page(format!(
                "{} (measured in the browser: the root has no data-duration)",
                best.1
            )),
        ));
    }
    let keys: Vec<String> = found["keys"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str())
                .map(|k| format!("{k:?}"))
                .collect()
        })
        .unwrap_or_default();
    let why = match (key.is_empty(), keys.is_empty()) {
        (false, _) => {
            format!("its timeline window.__timelines[{key:?}] has no length ({timeline} s)")
        }
        (true, true) => "the page registers no timeline in window.__timelines".to_string(),
        (true, false) => format!(
            "window.__timelines has no timeline under {:?} (registered: {})",
            comp.id,
            keys.join(", ")
        ),
    };
    Err(ProducerError::composition(
        entry,
        format!(
            "the root element {} has no data-duration and its length cannot be taken from the page: {why}, and no timed media or finite animation gives one; add data-duration=\"<seconds>\" to the root element, or register a paused GSAP timeline with tweens under window.__timelines[{:?}]",
            comp.element, comp.id
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn comp() -> Composition {
        Composition {
            id: "c".into(),
            width: 64,
            height: 64,
            duration: 0.0,
            no_timeline: false,
            duration_from_page: true,
            element: "<div id=\"root\" data-composition-id=\"c\">".into(),
        }
    }

    #[test]
    fn the_timeline_sets_the_length_raised_to_the_floors() {
        let entry = Path::new("index.html");
        let (d, from) = decide(
            &json!({"key": "c", "timeline": 1.5, "floor": 0.5, "animations": 0, "keys": ["c"]}),
            &comp(),
            entry,
        )
        .unwrap();
        assert_eq!(d, 1.5);
        assert!(
            from.to_string().contains("window.__timelines[\"c\"]"),
            "{from}"
        );
        let (d, from) = decide(
            &json!({"key": "c", "timeline": 1.5, "floor": 2.0, "floorWhat": "<audio id=\"a\">", "animations": 0, "keys": ["c"]}),
            &comp(),
            entry,
        )
        .unwrap();
        assert_eq!(d, 2.0);
        assert!(from.to_string().contains("<audio id=\"a\">"), "{from}");
    }

    #[test]
    fn nothing_to_measure_names_the_root_and_what_to_add() {
        let entry = Path::new("index.html");
        for (found, says) in [
            (
                json!({"key": null, "timeline": 0, "floor": 0, "animations": 0, "keys": []}),
                "registers no timeline",
            ),
            (
                json!({"key": "c", "timeline": 0, "floor": 0, "animations": 0, "keys": ["c"]}),
                "has no length",
            ),
            (
                json!({"key": null, "timeline": 0, "floor": 0, "animations": 0, "keys": ["a", "b"]}),
                "registered: \"a\", \"b\"",
            ),
        ] {
            let e = decide(&found, &comp(), entry).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            assert!(
                e.contains("data-composition-id=\"c\"") && e.contains("add data-duration"),
                "{e}"
            );
        }
    }
}
