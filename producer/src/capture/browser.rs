//! Launching and driving `chromium-headless-shell` for deterministic capture.
//!
//! The real binary under /usr/lib/chromium is spawned directly (Debian's
//! /usr/bin names are shell wrappers that fork, so killing them orphans the
//! browser), in its own process group, with a fresh profile and every
//! background-network feature off. [`Browser`]'s Drop closes it over CDP, kills
//! the group and reaps it, whatever happened before.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::capture::cdp::Cdp;
use crate::config::Format;
use crate::encode::ffmpeg::YuvConversion;
use crate::errors::{ProducerError, Result};
use crate::process;

pub const DEFAULT_CHROME: &str = "/usr/lib/chromium/chromium-headless-shell";
const CALL: Duration = Duration::from_secs(30);

/// The headless-shell binary: `HF_CHROME_PATH` or Debian's real binary.
pub fn chrome_path() -> Result<PathBuf> {
    let p = match crate::runtime::installed() {
        Some(rt) => rt.chrome.clone(),
        None => crate::settings::current()
            .chrome
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROME)),
    };
    if !p.is_file() {
        return Err(ProducerError::ChromeBinaryUnavailable(
            crate::runtime::missing_binary("the browser", &p, "does not exist"),
        ));
    }
    Ok(p)
}

/// How frames are produced (`captureMode` in the plan's encoder settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    /// `HeadlessExperimental.beginFrame` drives the compositor: fastest, opaque only.
    BeginFrame,
    /// `Page.captureScreenshot`: keeps alpha (transparent PNG).
    Screenshot,
}

impl CaptureMode {
    /// The mode chunks of `format` capture in (the plan records it): alpha
    /// formats need `Page.captureScreenshot`, since BeginFrame screenshots
    /// have no transparent background; opaque ones take the cheaper
    /// BeginFrame path. [`ImageSpec::for_encoding`] is the image half of
    /// the same choice.
    pub fn for_format(format: Format) -> CaptureMode {
        if format.has_alpha() {
            CaptureMode::Screenshot
        } else {
            CaptureMode::BeginFrame
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::BeginFrame => "beginframe",
            CaptureMode::Screenshot => "screenshot",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub width: u32,
    pub height: u32,
    pub mode: CaptureMode,
    /// Switches merged over the producer's own, `!--name` to drop one
    /// (bench experiments).
    pub extra_flags: Vec<String>,
}

pub struct Browser {
    child: Option<Child>,
    cdp: Option<Cdp>,
    /// Held only to be removed after the browser is gone (fields drop
    /// after `Drop::drop`).
    _profile: tempfile::TempDir,
    stderr_tail: Arc<Mutex<Vec<String>>>,
}

fn chrome_args(o: &LaunchOptions, profile: &Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-setuid-sandbox",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-breakpad",
        "--disable-crash-reporter",
        "--disable-hang-monitor",
        "--disable-ipc-flooding-protection",
        "--disable-popup-blocking",
        "--disable-print-preview",
        "--disable-component-extensions-with-background-pages",
        "--metrics-recording-only",
        "--no-pings",
        "--no-zygote",
        "--mute-audio",
        "--hide-scrollbars",
        "--enable-webgl",
        "--ignore-gpu-blocklist",
        "--use-gl=angle",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--disable-gpu-compositing",
        // The GPU thread in the browser process: byte-identical frames,
        // 5-8% less wall time on the 1080p peer project (3 interleaved
        // pairs); @sparticuz/chromium on Lambda runs this way too.
        "--in-process-gpu",
        "--font-render-hinting=none",
        "--force-color-profile=srgb",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--disable-background-media-suspend",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-features=AudioServiceOutOfProcess,IsolateOrigins,site-per-process,Translate,BackForwardCache,IntensiveWakeUpThrottling,MediaRouter,OptimizationHints",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(format!("--window-size={},{}", o.width, o.height));
    a.push(format!("--user-data-dir={}", profile.display()));
    match o.mode {
        CaptureMode::BeginFrame => a.extend(
            [
                "--deterministic-mode",
                "--enable-begin-frame-control",
                "--disable-new-content-rendering-timeout",
                "--run-all-compositor-stages-before-draw",
                "--disable-threaded-animation",
                "--disable-threaded-scrolling",
                "--disable-checker-imaging",
                "--disable-image-animation-resync",
                "--enable-surface-synchronization",
            ]
            .iter()
            .map(|s| s.to_string()),
        ),
        CaptureMode::Screenshot => a.extend(
            ["--disable-gpu-vsync", "--disable-frame-rate-limit"]
                .iter()
                .map(|s| s.to_string()),
        ),
    }
    a.push("about:blank".into());
    a
}

/// How long a starting browser may take to print its DevTools URL. It
/// starts in about a second; on a host running several renders at once, a
/// jailed cold start was seen past 20 s, so the wait is generous and a
/// browser still starting after it fails retryably (RENDER_FAILED), while
/// one that exited is a broken binary (never retried).
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts of a browser that exits before printing its DevTools URL. A
/// binary that cannot run exits every time; Debian's Chromium 156 also
/// crashes now and then as it starts (a general protection fault in
/// glibc's `getenv`, a setenv race among its start-up threads: twice in a
/// day of test runs here, in the kernel log), and a second start tells
/// the two apart.
const START_ATTEMPTS: usize = 2;

/// How one start of the browser ended.
enum Start {
    Up(Box<Browser>),
    /// It exited before printing its DevTools URL; its stderr.
    Exited(String),
}

impl Browser {
    pub fn launch(o: &LaunchOptions) -> Result<Self> {
        let bin = chrome_path()?;
        let mut stderr = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::start(o, &bin)? {
                Start::Up(b) => return Ok(*b),
                Start::Exited(e) => stderr = e,
            }
        }
        Err(ProducerError::ChromeBinaryUnavailable(format!(
            "{} exited before printing its DevTools URL, {START_ATTEMPTS} starts in a row: {stderr}",
            bin.display()
        )))
    }

    fn start(o: &LaunchOptions, bin: &Path) -> Result<Start> {
        let profile = crate::staging::temp("hf-chrome-")?;
        let mut cmd = Command::new(bin);
        crate::runtime::apply_chrome_env(&mut cmd);
        // Bench experiments: `!--name` drops one of the producer's switches.
        let (drop, add): (Vec<&String>, Vec<&String>) =
            o.extra_flags.iter().partition(|f| f.starts_with('!'));
        let add: Vec<String> = add.into_iter().cloned().collect();
        let mut args = crate::runtime::merge_chrome_args(chrome_args(o, profile.path()), &add);
        args.retain(|a| !drop.iter().any(|d| d[1..] == *a));
        cmd.args(crate::runtime::chrome_args(args))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        process::own_group(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| {
            ProducerError::ChromeBinaryUnavailable(crate::runtime::missing_binary(
                "the browser",
                bin,
                &format!("cannot be started ({e})"),
            ))
        })?;
        let stderr = child.stderr.take().expect("piped");
        let tail = Arc::new(Mutex::new(Vec::new()));
        let tail2 = tail.clone();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if !sent {
                    if let Some(p) = line.find("ws://") {
                        let _ = tx.send(line[p..].trim().to_string());
                        sent = true;
                        continue;
                    }
                }
                let mut t = tail2.lock().unwrap_or_else(|e| e.into_inner());
                t.push(line);
                if t.len() > 40 {
                    t.remove(0);
                }
            }
        });
        let mut browser = Browser {
            child: Some(child),
            cdp: None,
            _profile: profile,
            stderr_tail: tail,
        };
        let url = match rx.recv_timeout(LAUNCH_TIMEOUT) {
            Ok(u) => u,
            // stderr closed without a URL: the browser exited.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(Start::Exited(browser.stderr())),
            // Still starting: an overloaded host, which a retry may not meet.
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(ProducerError::RenderFailed(format!(
                    "{} was still starting after {} s (no DevTools URL yet; the host is overloaded?): {}",
                    bin.display(),
                    LAUNCH_TIMEOUT.as_secs(),
                    browser.stderr()
                )))
            }
        };
        browser.cdp = Some(Cdp::connect(&url, Duration::from_secs(10))?);
        Ok(Start::Up(Box::new(browser)))
    }

    pub fn stderr(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|t| t.join("\n"))
            .unwrap_or_default()
    }

    pub fn cdp(&mut self) -> &mut Cdp {
        self.cdp.as_mut().expect("connected in launch")
    }

    pub fn version(&mut self) -> Result<String> {
        let v = self
            .cdp()
            .call(None, "Browser.getVersion", json!({}), CALL)?;
        Ok(v["product"].as_str().unwrap_or("").to_string())
    }

    /// Opens a page target with BeginFrame control and attaches a flat session.
    pub fn new_page(&mut self, mode: CaptureMode) -> Result<String> {
        let mut params = json!({"url": "about:blank"});
        if mode == CaptureMode::BeginFrame {
            params["enableBeginFrameControl"] = json!(true);
        }
        let t = self.cdp().call(None, "Target.createTarget", params, CALL)?;
        let target = t["targetId"].as_str().unwrap_or("").to_string();
        let s = self.cdp().call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            CALL,
        )?;
        Ok(s["sessionId"].as_str().unwrap_or("").to_string())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(mut cdp) = self.cdp.take() {
            let _ = cdp.try_call(None, "Browser.close", json!({}), Duration::from_secs(2));
            cdp.close();
        }
        if let Some(mut child) = self.child.take() {
            // Give Browser.close a moment, then make sure the whole group is gone.
            let _ =
                process::wait_deadline(&mut child, Instant::now() + Duration::from_millis(1500));
            process::kill_group(&mut child);
        }
    }
}

/// A page being captured: seek, then grab pixels.
pub struct Page<'b> {
    pub browser: &'b mut Browser,
    pub session: String,
    pub mode: CaptureMode,
    pub width: u32,
    pub height: u32,
    /// Frame interval in ms (1000 / fps).
    pub interval: f64,
    tick: u64,
    last_frame: Option<Vec<u8>>,
    /// Frames arrive as `Page.screencastFrame` events instead of screenshots.
    screencast: bool,
}

/// Image format of captured frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
}

/// How the browser encodes a captured frame (CDP screenshot parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec {
    pub format: ImageFormat,
    /// JPEG/WebP quality, 0-100; PNG ignores it.
    pub quality: Option<u8>,
    pub optimize_for_speed: bool,
}

impl ImageSpec {
    /// Opaque frames (mp4): JPEG at quality 100, near-lossless (luma about
    /// 75 dB from the page), so the encoder's CRF, not the capture, sets the
    /// quality. The reference captures q80, whose ringing around text kept
    /// SSIM below the peer CLI's at any CRF. Lossless PNG costs the same on
    /// flat graphics but 1.4x the time on photographic frames (1080p: 25 s
    /// against 18 s for 120 frames), and q95's noise made the video 20-30%
    /// larger at the same CRF (render-bench --alternatives, issue 16 notes).
    pub const OPAQUE: ImageSpec = ImageSpec {
        format: ImageFormat::Jpeg,
        quality: Some(100),
        optimize_for_speed: true,
    };
    /// Alpha formats: PNG keeps the transparency.
    pub const PNG: ImageSpec = ImageSpec {
        format: ImageFormat::Png,
        quality: None,
        optimize_for_speed: false,
    };
    /// Flat graphics in mp4 (the plan decides, see
    /// [`YuvConversion::Bt709InProcess`]): lossless and, with
    /// optimizeForSpeed, cheaper for the browser than JPEG q100 on such
    /// frames (about 66 against 75 CPU-ms per 1080p frame, capture alone,
    /// on the peer's project). On a full-frame photo it costs 268 against
    /// 160, hence only for graphics.
    pub const PNG_FAST: ImageSpec = ImageSpec {
        format: ImageFormat::Png,
        quality: None,
        optimize_for_speed: true,
    };
    /// What a chunk of `format` converted by `yuv` captures;
    /// [`CaptureMode::for_format`] is the mode half of the same choice.
    pub fn for_encoding(format: Format, yuv: YuvConversion) -> ImageSpec {
        if format.has_alpha() {
            ImageSpec::PNG
        } else if yuv == YuvConversion::Bt709InProcess {
            ImageSpec::PNG_FAST
        } else {
            ImageSpec::OPAQUE
        }
    }

    fn params(&self) -> Value {
        let mut p = json!({"format": match self.format {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }});
        if let Some(q) = self.quality {
            p["quality"] = json!(q);
        }
        if self.optimize_for_speed {
            p["optimizeForSpeed"] = json!(true);
        }
        p
    }

    /// File name extension of one image.
    pub fn extension(&self) -> &'static str {
        match self.format {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    /// The ffmpeg decoder for a pipe of these images.
    pub fn ffmpeg_decoder(&self) -> &'static str {
        match self.format {
            ImageFormat::Jpeg => "mjpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }
}

impl<'b> Page<'b> {
    pub fn open(
        browser: &'b mut Browser,
        mode: CaptureMode,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<Self> {
        let session = browser.new_page(mode)?;
        Ok(Page {
            browser,
            session,
            mode,
            width,
            height,
            interval: 1000.0 / f64::from(fps),
            tick: 0,
            last_frame: None,
            screencast: false,
        })
    }

    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let s = self.session.clone();
        self.browser.cdp().call(Some(&s), method, params, CALL)
    }

    pub fn eval(&mut self, expr: &str, timeout: Duration) -> Result<Value> {
        let s = self.session.clone();
        self.browser.cdp().eval(&s, expr, timeout)
    }

    /// Viewport, transparency and the injected bridge, before navigation.
    pub fn prepare(&mut self, bridge_js: &str, transparent: bool) -> Result<()> {
        self.call("Page.enable", json!({}))?;
        self.call("Runtime.enable", json!({}))?;
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        if transparent {
            self.call(
                "Emulation.setDefaultBackgroundColorOverride",
                json!({"color": {"r": 0, "g": 0, "b": 0, "a": 0}}),
            )?;
        }
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": bridge_js}),
        )?;
        // The document timeline stands still: the bridge seeks every
        // animation, and without this a WAAPI or CSS animation started while
        // the page loads runs on the wall clock until the first seek. One
        // without fill that ends by then leaves `document.getAnimations()`
        // and is never drawn, so the output would depend on how long the
        // page took to load.
        self.call("Animation.setPlaybackRate", json!({"playbackRate": 0}))?;
        if self.mode == CaptureMode::BeginFrame {
            let s = self.session.clone();
            // Older builds need enable; newer ones dropped it. Either is fine.
            let _ = self.browser.cdp().try_call(
                Some(&s),
                "HeadlessExperimental.enable",
                json!({}),
                CALL,
            )?;
        }
        Ok(())
    }

    /// Reads the WebGL renderer: chunk workers must rasterize in software so
    /// every worker produces the same pixels.
    pub fn assert_software_gl(&mut self) -> Result<String> {
        let v = self.eval(
            "(() => { const c = document.createElement('canvas'); const gl = c.getContext('webgl') || c.getContext('experimental-webgl'); if (!gl) return {vendor: '', renderer: 'no webgl'}; const e = gl.getExtension('WEBGL_debug_renderer_info'); return e ? {vendor: gl.getParameter(e.UNMASKED_VENDOR_WEBGL), renderer: gl.getParameter(e.UNMASKED_RENDERER_WEBGL)} : {vendor: gl.getParameter(gl.VENDOR), renderer: gl.getParameter(gl.RENDERER)}; })()",
            CALL,
        )?;
        let renderer = v["renderer"].as_str().unwrap_or("").to_string();
        if !renderer.to_ascii_lowercase().contains("swiftshader") {
            return Err(ProducerError::BrowserGpuNotSoftware(format!(
                "WebGL renderer is {renderer:?} (vendor {:?}); chunk workers must use SwiftShader (--use-angle=swiftshader)",
                v["vendor"]
            )));
        }
        Ok(renderer)
    }

    /// Sends one BeginFrame tick without drawing (keeps the page's lifecycle moving).
    pub fn idle_tick(&mut self) -> Result<()> {
        if self.mode != CaptureMode::BeginFrame {
            return Ok(());
        }
        self.tick += 1;
        let t = self.tick as f64 * self.interval;
        let s = self.session.clone();
        let r = self.browser.cdp().try_call(
            Some(&s),
            "HeadlessExperimental.beginFrame",
            json!({"frameTimeTicks": t, "interval": self.interval, "noDisplayUpdates": true}),
            CALL,
        )?;
        if let Err(e) = r {
            return Err(ProducerError::BeginFrameFailed(format!(
                "beginFrame failed: {}",
                e.message
            )));
        }
        Ok(())
    }

    pub fn navigate(&mut self, url: &str) -> Result<()> {
        let r = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(e) = r["errorText"].as_str() {
            return Err(ProducerError::RenderFailed(format!(
                "navigation to {url} failed: {e}"
            )));
        }
        Ok(())
    }

    /// Draws one BeginFrame (committed and drawn, no screenshot); see
    /// [`crate::capture::session::Capture::warm_before`].
    pub fn warm_frame(&mut self) -> Result<()> {
        if self.mode != CaptureMode::BeginFrame {
            return Ok(());
        }
        self.tick += 1;
        let t = self.tick as f64 * self.interval;
        self.call(
            "HeadlessExperimental.beginFrame",
            json!({"frameTimeTicks": t, "interval": self.interval}),
        )
        .map_err(|e| ProducerError::BeginFrameFailed(format!("beginFrame failed: {e}")))?;
        Ok(())
    }

    /// Accounts for a frame whose capture was skipped: the BeginFrame clock
    /// still advances, so later frames get the ticks they would have had.
    pub fn skip(&mut self) {
        if self.mode == CaptureMode::BeginFrame {
            self.tick += 1;
        }
    }

    /// Delivers frames through `Page.startScreencast` (the compositor's
    /// frame capturer, which keeps a pool of buffers) instead of screenshots;
    /// BeginFrame mode only. A bench experiment.
    pub fn start_screencast(&mut self, image: ImageSpec) -> Result<()> {
        let mut p = image.params();
        p["everyNthFrame"] = json!(1);
        self.browser.cdp().keep_events("Page.screencastFrame");
        self.call("Page.startScreencast", p)?;
        self.screencast = true;
        Ok(())
    }

    /// BeginFrame without a screenshot, then the screencast frame it produced
    /// (None when nothing was damaged).
    fn screencast_frame(&mut self) -> Result<Option<String>> {
        self.tick += 1;
        let t = self.tick as f64 * self.interval;
        let r = self
            .call(
                "HeadlessExperimental.beginFrame",
                json!({"frameTimeTicks": t, "interval": self.interval}),
            )
            .map_err(|e| ProducerError::BeginFrameFailed(e.to_string()))?;
        if r["hasDamage"] != true {
            return Ok(None);
        }
        let Some(ev) = self
            .browser
            .cdp()
            .wait_event("Page.screencastFrame", Duration::from_secs(5))?
        else {
            return Err(ProducerError::BeginFrameFailed(
                "beginFrame had damage but no screencast frame arrived within 5 s".into(),
            ));
        };
        let ack = ev["params"]["sessionId"].clone();
        self.call("Page.screencastFrameAck", json!({"sessionId": ack}))?;
        Ok(ev["params"]["data"].as_str().map(String::from))
    }

    /// Captures the current state as an encoded image.
    pub fn capture(&mut self, image: ImageSpec) -> Result<Vec<u8>> {
        let fmt = image.params();
        let data = match self.mode {
            CaptureMode::BeginFrame if self.screencast => self.screencast_frame()?,
            CaptureMode::BeginFrame => {
                self.tick += 1;
                let t = self.tick as f64 * self.interval;
                let s = self.session.clone();
                let mut attempt = 0;
                loop {
                    let r = self.browser.cdp().try_call(
                        Some(&s),
                        "HeadlessExperimental.beginFrame",
                        json!({"frameTimeTicks": t, "interval": self.interval, "screenshot": fmt}),
                        CALL,
                    )?;
                    match r {
                        Ok(v) => break v["screenshotData"].as_str().map(String::from),
                        Err(e) if e.message.contains("pending") && attempt < 5 => {
                            thread::sleep(Duration::from_millis(50 << attempt));
                            attempt += 1;
                        }
                        Err(e) => {
                            return Err(ProducerError::BeginFrameFailed(format!(
                                "beginFrame failed: {}",
                                e.message
                            )))
                        }
                    }
                }
            }
            CaptureMode::Screenshot => {
                let mut p = json!({"fromSurface": true, "captureBeyondViewport": false,
                    "clip": {"x": 0, "y": 0, "width": self.width, "height": self.height, "scale": 1}});
                for (k, v) in fmt.as_object().expect("object") {
                    p[k] = v.clone();
                }
                let r = self.call("Page.captureScreenshot", p)?;
                r["data"].as_str().map(String::from)
            }
        };
        let bytes = match data {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| {
                    ProducerError::RenderFailed(format!("screenshot is not base64: {e}"))
                })?,
            // No damage since the last frame: the previous image is still
            // correct. With no previous image (a chunk's first frame, seen on
            // a 1080x1920 page holding only a video), BeginFrame gave nothing
            // to start from: a BeginFrame failure, which the chunk retries
            // in screenshot mode rather than failing the render.
            None => self.last_frame.clone().ok_or_else(|| {
                ProducerError::BeginFrameFailed("first BeginFrame produced no screenshot".into())
            })?,
        };
        self.last_frame = Some(bytes.clone());
        Ok(bytes)
    }
}
