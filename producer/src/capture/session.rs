//! A capture session: file server + browser + page, made ready and seekable.
//!
//! Readiness is polled over CDP (never via requestAnimationFrame, which the
//! bridge virtualizes), and every wait has a deadline whose error names the
//! composition file and what was missing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::capture::browser::{Browser, CaptureMode, ImageSpec, LaunchOptions, Page};
use crate::capture::server::FileServer;
use crate::errors::{ProducerError, Result};
use crate::SEEK_BRIDGE_JS;

/// What the session needs to know about the composition.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Directory served as the site root (a plan's `compiled/`).
    pub site_root: PathBuf,
    /// Entry file name under the root, used in URLs and error messages.
    pub entry: String,
    pub composition_id: String,
    pub no_timeline: bool,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub mode: CaptureMode,
    pub transparent: bool,
    /// How long to wait for the page (bridge, fonts, timeline); None = HF_READY_TIMEOUT_SECS or 30 s.
    pub ready_timeout: Option<Duration>,
    /// Render-time variable values, exposed to page scripts as
    /// `window.__hfVariables` before any of them runs (every chunk of a plan
    /// injects the same canonical bytes).
    pub variables: Option<crate::variables::Variables>,
    /// Remote image URLs among the values -> plan-relative copies
    /// (`window.__hfVariableAssets`, used by `data-var-src`).
    pub variable_assets: Option<std::collections::BTreeMap<String, String>>,
    /// Extra browser switches (bench experiments; empty for renders).
    pub extra_flags: Vec<String>,
    /// Deliver frames by screencast in this format (bench experiment).
    pub screencast: Option<ImageSpec>,
    /// Drive the page's shader-transition compositor (the plan's
    /// `pageComposite`, see [`crate::plan::shader`]): the page is told
    /// before its scripts run, the browser gets `CanvasDrawElement`, and
    /// each seek inside a transition is followed by the compositor's
    /// prepare, a paint and its resolve. Needs screenshot capture.
    pub page_composite: bool,
}

/// The browser feature the page-side compositor draws scenes with
/// (`drawElementImage`), switched on as the reference switches it on.
const DRAW_ELEMENT_FLAG: &str = "--enable-features=CanvasDrawElement";

/// Set before any page script when [`SessionSpec::page_composite`]:
/// HyperShader then installs its compositor (the reference's pre-head stub).
const PAGE_COMPOSITE_STUB: &str = "window.__HF_PAGE_SIDE_COMPOSITING__ = true;\n";

fn ready_timeout() -> Duration {
    crate::settings::current().ready_timeout
}

/// Timing of session start, for perf reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct BootTimes {
    pub launch: Duration,
    pub ready: Duration,
}

/// Builds the bridge script for a composition captured in `mode`.
pub fn bridge_script(fps: u32, composition_id: &str, mode: CaptureMode) -> String {
    SEEK_BRIDGE_JS
        .replace("__HF_FPS__", &fps.to_string())
        .replace(
            "__HF_WAIT_PRESENTED__",
            if mode == CaptureMode::Screenshot {
                "true"
            } else {
                "false"
            },
        )
        .replace(
            "__HF_ROOT_ID__",
            &serde_json::Value::String(composition_id.to_string()).to_string(),
        )
}

/// Runs `body` with a ready page; the browser and server are torn down afterwards
/// whatever `body` returns.
pub fn with_session<T>(
    spec: &SessionSpec,
    body: impl FnOnce(&mut Capture<'_>, BootTimes) -> Result<T>,
) -> Result<T> {
    let t0 = Instant::now();
    let server = FileServer::start(&spec.site_root)?;
    let mut extra_flags = spec.extra_flags.clone();
    if spec.page_composite {
        extra_flags.push(DRAW_ELEMENT_FLAG.into());
    }
    let mut browser = Browser::launch(&LaunchOptions {
        width: spec.width,
        height: spec.height,
        mode: spec.mode,
        extra_flags,
    })?;
    let launch = t0.elapsed();
    let page = Page::open(&mut browser, spec.mode, spec.width, spec.height, spec.fps)?;
    let mut cap = Capture {
        page,
        spec,
        has_media: false,
    };
    let mut script = String::new();
    if spec.page_composite {
        script.push_str(PAGE_COMPOSITE_STUB);
    }
    if let Some(vars) = &spec.variables {
        script.push_str(&format!(
            "window.__hfVariables = {};\n",
            vars.canonical_json()
        ));
    }
    if let Some(table) = &spec.variable_assets {
        let json = serde_json::to_string(table).expect("a string map serializes");
        script.push_str(&format!("window.__hfVariableAssets = {json};\n"));
    }
    script.push_str(&bridge_script(spec.fps, &spec.composition_id, spec.mode));
    cap.page.prepare(&script, spec.transparent)?;
    cap.page.assert_software_gl()?;
    cap.page.navigate(&server.url(&spec.entry))?;
    cap.wait_ready()?;
    if let Some(image) = spec.screencast {
        cap.page.start_screencast(image)?;
    }
    let ready = t0.elapsed() - launch;
    let out = body(&mut cap, BootTimes { launch, ready });
    drop(cap);
    drop(browser);
    drop(server);
    out
}

pub struct Capture<'a> {
    pub page: Page<'a>,
    spec: &'a SessionSpec,
    has_media: bool,
}

impl Capture<'_> {
    fn file(&self) -> PathBuf {
        self.spec.site_root.join(&self.spec.entry)
    }

    fn page_error(&self, errors: &serde_json::Value) -> ProducerError {
        let list: Vec<String> = errors
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let file = e["file"].as_str().unwrap_or("");
                        let file = file.rsplit('/').next().unwrap_or(file);
                        if file.is_empty() {
                            e["message"].as_str().unwrap_or("").to_string()
                        } else {
                            format!(
                                "{} ({}:{}:{})",
                                e["message"].as_str().unwrap_or(""),
                                file,
                                e["line"],
                                e["column"]
                            )
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ProducerError::composition(
            display_entry(&self.file()),
            format!("a page script threw: {}", list.join("; ")),
        )
    }

    fn wait_ready(&mut self) -> Result<()> {
        let timeout = self.spec.ready_timeout.unwrap_or_else(ready_timeout);
        let deadline = Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        let mut ready_ticks = 0;
        loop {
            self.page.idle_tick()?;
            let state = self.page.eval(
                "(() => { if (!window.__hf || !window.__hf.state) return null; if (document.body) void document.body.offsetHeight; const s = window.__hf.state(); s.media = document.querySelectorAll('video,audio').length; return s; })()",
                Duration::from_secs(10),
            );
            if let Ok(s) = state {
                if s["errors"].as_array().is_some_and(|e| !e.is_empty()) {
                    return Err(self.page_error(&s["errors"]));
                }
                let ok = s["readyState"] == "complete"
                    && s["fontsReady"] == true
                    && s["imagesReady"] == true
                    && s["hasRoot"] == true
                    && s["compositorReady"] != false
                    && s["adaptersPending"].as_array().is_none_or(|a| a.is_empty())
                    && (self.spec.no_timeline || s["hasTimeline"] == true);
                self.has_media = s["media"].as_u64().unwrap_or(0) > 0;
                last = s;
                if ok {
                    ready_ticks += 1;
                    // A couple of extra lifecycle ticks lets late style/font work settle.
                    if ready_ticks >= 3 {
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                let file = display_entry(&self.file());
                let id = &self.spec.composition_id;
                let msg = if last.is_null() {
                    format!(
                        "the page never loaded the seek bridge within {} s",
                        timeout.as_secs()
                    )
                } else if last["hasRoot"] != true {
                    format!("no element with data-composition-id={id:?} after load")
                } else if let Some(names) =
                    last["adaptersPending"].as_array().filter(|a| !a.is_empty())
                {
                    let names: Vec<String> = names
                        .iter()
                        .map(|n| format!("window.{}", n.as_str().unwrap_or("?")))
                        .collect();
                    format!(
                        "a map registered in {} never reported ready (Google Maps: tilesloaded; Mapbox, MapLibre: load; Leaflet: whenReady) within {} s; its tiles or style may need the network, which renders do not have",
                        names.join(", "),
                        timeout.as_secs()
                    )
                } else if !self.spec.no_timeline && last["hasTimeline"] != true {
                    format!(
                        "composition {id:?} never registered window.__timelines[{id:?}] within {} s; register a paused GSAP timeline under that key, or mark the root element with data-no-timeline",
                        timeout.as_secs()
                    )
                } else {
                    format!(
                        "page not ready after {} s (state {last})",
                        timeout.as_secs()
                    )
                };
                return Err(ProducerError::composition(file, msg));
            }
            if self.spec.mode == CaptureMode::Screenshot {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Seeks to absolute frame `frame` and says whether its picture may
    /// differ from this page's previous seek (see [`Change`]).
    pub fn seek(&mut self, frame: u64) -> Result<Change> {
        let t = frame as f64 / f64::from(self.spec.fps);
        // The page divides, so it seeks to exactly the double frame/fps that
        // its quantizer expects. A decimal rounded to a few places can fall
        // just below a frame boundary and seek the previous frame's time.
        let r = self.page.eval(
            &format!("window.__hf.seekFrame({frame} / {})", self.spec.fps),
            Duration::from_secs(10),
        )?;
        if r["errors"].as_u64().unwrap_or(0) > 0 {
            let errors = self
                .page
                .eval("window.__hf.errors", Duration::from_secs(5))?;
            return Err(self.page_error(&errors));
        }
        if self.has_media {
            self.wait_media(t)?;
        }
        if self.spec.page_composite && r["composite"] == true {
            self.composite()?;
        }
        Ok(match r["changed"].as_str() {
            Some("") => Change::None,
            Some(reason) => Change::Possible(reason.to_string()),
            None => Change::Possible("unknown".into()),
        })
    }

    /// The page-side compositor's protocol for a seek inside a shader
    /// transition, as the reference drives it: prepare (clone both scenes
    /// into staging canvases), a 1-pixel screenshot that makes the browser
    /// paint the clones, then resolve (draw them into the shader and show
    /// its canvas). The frame's own screenshot follows.
    fn composite(&mut self) -> Result<()> {
        self.page.eval(
            "(async () => { const f = window.__hf_page_composite_prepare; if (typeof f === 'function') await f(); })()",
            Duration::from_secs(10),
        )?;
        self.page.call(
            "Page.captureScreenshot",
            serde_json::json!({"format": "jpeg", "quality": 1,
                "clip": {"x": 0, "y": 0, "width": 1, "height": 1, "scale": 1}}),
        )?;
        self.page.eval(
            "(() => { const f = window.__hf_page_composite_resolve; return typeof f === 'function' ? f() : false; })()",
            Duration::from_secs(10),
        )?;
        Ok(())
    }

    fn wait_media(&mut self, t: f64) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self
            .page
            .eval("window.__hf.mediaSettled()", Duration::from_secs(5))?
            != true
        {
            if Instant::now() >= deadline {
                return Err(ProducerError::VideoSourceUnrenderable(format!(
                    "{}: a media element did not finish seeking to {t:.3} s within 15 s",
                    self.file().display()
                )));
            }
            self.page.idle_tick()?;
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }

    /// Draws the frame before `first` (without capturing it) before a
    /// page's first frame, so that frame is drawn after its predecessor as
    /// in a render from frame 0.
    ///
    /// Why: Chromium's raster of a `will-change: transform` layer depends
    /// on the frames drawn before (its raster scale follows the scale's
    /// history), so a chunk's fresh page drew text at a different raster
    /// than the reference's page, which renders from frame 0: in registry
    /// `components/logo-brand-close` (a wordmark settling from scale 1.04)
    /// our second chunk had up to 0.16 % of luma more than 48 levels off
    /// at serif edges in every frame; with its predecessor drawn first,
    /// none (measured: drawing frame 0 alone does not do it; all 60
    /// earlier frames do, at 60 frames' cost). One BeginFrame, no
    /// screenshot; the change tracking is not touched.
    pub fn warm_before(&mut self, first: u64) -> Result<()> {
        if first == 0 || self.page.mode != CaptureMode::BeginFrame {
            return Ok(());
        }
        self.page.eval(
            &format!("void window.__hf.seek({} / {})", first - 1, self.spec.fps),
            Duration::from_secs(10),
        )?;
        self.page.warm_frame()
    }

    /// Seeks to absolute frame `frame` and captures it.
    pub fn frame(&mut self, frame: u64, image: ImageSpec) -> Result<Vec<u8>> {
        self.seek(frame)?;
        self.page.capture(image)
    }
}

/// What a seek may have changed on the page since its previous seek.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing that can alter the picture moved: the previous frame's bytes
    /// are this frame's bytes.
    None,
    /// The picture may differ; the reason names the first source found
    /// (`dom`, `gsap`, `animation`, `raf`, `timer`, `media`, `scroll`,
    /// `opaque` content, or `first` for a page's first seek).
    Possible(String),
}

fn display_entry(p: &Path) -> PathBuf {
    p.to_path_buf()
}
