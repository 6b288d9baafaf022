//! The bundled runtime on Lambda: which Chromium (`ChromeSource`), the
//! cold-start unpack, and a producer that waits for it.
//!
//! The unpack starts in a thread when the process starts, before the first
//! event arrives, and the producer only waits for it when a stage is about
//! to render: the S3 downloads of the first invocation overlap the unpack,
//! and warm invocations find it done.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use hyperframes_producer::runtime::{self, Runtime};
use hyperframes_producer::ProducerError;
use serde_json::{json, Value};

use crate::error::HandlerError;
use crate::payload::{self, Manifest};
use crate::producer::{AssembleInfo, ChunkInfo, LocalProducer, PlanInfo, Producer};

/// The stack hands `ChromeSource` to the function under this name.
pub const CHROME_SOURCE_ENV: &str = hyperframes_infra::stack::env::CHROME_SOURCE;
/// The browser binary for `chrome-headless-shell` (a layer or an image).
pub const CHROME_PATH_ENV: &str = "HYPERFRAMES_LAMBDA_CHROME_PATH";

/// Which Chromium renders: the one in the package, or one the user brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChromeSource {
    Sparticuz,
    ChromeHeadlessShell,
}

impl ChromeSource {
    /// As the reference resolves it: `chrome-headless-shell` or `shell`
    /// (any case) select the user's binary; anything else, unset included,
    /// is the bundled `@sparticuz/chromium`.
    pub fn resolve(value: Option<&str>) -> ChromeSource {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("chrome-headless-shell") | Some("shell") => ChromeSource::ChromeHeadlessShell,
            _ => ChromeSource::Sparticuz,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChromeSource::Sparticuz => "sparticuz",
            ChromeSource::ChromeHeadlessShell => "chrome-headless-shell",
        }
    }
}

/// Everything the runtime is built from, read from the environment once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub task_root: PathBuf,
    pub cache_root: PathBuf,
    pub source: ChromeSource,
    pub chrome_path: Option<PathBuf>,
}

impl Settings {
    pub fn from_env() -> Settings {
        Settings {
            task_root: std::env::var_os("LAMBDA_TASK_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/task")),
            cache_root: std::env::temp_dir().join("hyperframes-runtime"),
            source: ChromeSource::resolve(std::env::var(CHROME_SOURCE_ENV).ok().as_deref()),
            chrome_path: std::env::var_os(CHROME_PATH_ENV)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// Unpacks what `settings` needs and describes the runtime. Blocking.
pub fn prepare(settings: &Settings, manifest: &Manifest, digest: &str) -> Result<Runtime, String> {
    let t0 = Instant::now();
    let ffmpeg_component = manifest
        .component("ffmpeg")
        .ok_or("the package's payload has no ffmpeg component; rebuild it with `package`")?;
    let chrome = match settings.source {
        ChromeSource::Sparticuz => {
            let c = manifest.component("chromium").ok_or(
                "ChromeSource is sparticuz but the package carries no Chromium; rebuild it with `package`",
            )?;
            let (s, c, d) = (settings.clone(), c.clone(), digest.to_string());
            Some(std::thread::spawn(move || {
                payload::unpack(&s.task_root, &c, &d, &s.cache_root, &write_fonts_conf)
            }))
        }
        ChromeSource::ChromeHeadlessShell => None,
    };
    let ff = payload::unpack(
        &settings.task_root,
        ffmpeg_component,
        digest,
        &settings.cache_root,
        &|_, _| Ok(()),
    )?;
    log_unpack("ffmpeg", &ff);
    let ffmpeg = ff.dir.join("ffmpeg");
    let rt = match chrome {
        Some(t) => {
            let c = t
                .join()
                .map_err(|_| "the Chromium unpack thread panicked".to_string())??;
            log_unpack("chromium", &c);
            runtime::sparticuz(&c.dir, ffmpeg)
        }
        None => {
            let chrome = settings.chrome_path.clone().ok_or_else(|| {
                format!(
                    "ChromeSource is chrome-headless-shell but {CHROME_PATH_ENV} is not set; \
                     set it to the headless shell in your layer or image (e.g. /opt/chrome-headless-shell)"
                )
            })?;
            Runtime {
                source: ChromeSource::ChromeHeadlessShell.as_str().into(),
                chrome,
                chrome_flags: Vec::new(),
                chrome_env: Vec::new(),
                ffmpeg,
                ffprobe: None,
            }
        }
    };
    if !rt.chrome.is_file() {
        return Err(format!(
            "the browser {} (source={}) does not exist",
            rt.chrome.display(),
            rt.source
        ));
    }
    eprintln!(
        "{}",
        json!({"event": "runtime-ready", "source": rt.source, "chrome": rt.chrome,
               "ffmpeg": rt.ffmpeg, "ms": t0.elapsed().as_millis() as u64})
    );
    Ok(rt)
}

fn log_unpack(name: &str, u: &payload::Unpacked) {
    eprintln!(
        "{}",
        json!({"event": "payload-unpack", "component": name, "dir": u.dir,
               "unpacked": u.unpacked, "bytes": u.bytes, "ms": u.millis as u64})
    );
}

/// The package's fontconfig names `/tmp/fonts`; ours lives elsewhere under
/// `/tmp`, so it is rewritten to name the directory it will be renamed to.
fn write_fonts_conf(partial: &Path, fin: &Path) -> std::io::Result<()> {
    let fonts = fin.join("fonts");
    let conf = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>\n  \
         <dir>{}</dir>\n  <cachedir>{}</cachedir>\n  <config></config>\n</fontconfig>\n",
        fonts.join("fonts").display(),
        fin.join("fonts-cache").display()
    );
    std::fs::create_dir_all(partial.join("fonts"))?;
    std::fs::write(partial.join("fonts").join("fonts.conf"), conf)
}

/// A producer that renders with the bundled runtime once it is ready.
pub struct BundledProducer {
    pending: Mutex<Option<JoinHandle<Result<Runtime, String>>>>,
    ready: OnceLock<Result<(), String>>,
}

impl BundledProducer {
    /// Starts the unpack when the package carries a payload; `Ok(None)`
    /// when it carries none (local runs: the producer's defaults apply).
    pub fn start(settings: Settings) -> Result<Option<Arc<BundledProducer>>, String> {
        let Some((manifest, digest)) = Manifest::load(&settings.task_root)? else {
            return Ok(None);
        };
        let handle = std::thread::spawn(move || prepare(&settings, &manifest, &digest));
        Ok(Some(Arc::new(BundledProducer {
            pending: Mutex::new(Some(handle)),
            ready: OnceLock::new(),
        })))
    }

    /// Waits for the unpack (once) and installs the runtime in the producer.
    pub fn wait(&self) -> Result<(), HandlerError> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.ready.get_or_init(|| {
            let handle = pending.take().ok_or("the runtime unpack was lost")?;
            let rt = handle
                .join()
                .map_err(|_| "the runtime unpack panicked".to_string())??;
            runtime::install(rt)
        });
        drop(pending);
        r.clone().map_err(|why| {
            ProducerError::ChromeBinaryUnavailable(format!(
                "the bundled runtime is unavailable: {why}. If /tmp is full or wedged after a \
                 timeout, recycle the function (update any environment variable or redeploy)."
            ))
            .into()
        })
    }
}

impl Producer for BundledProducer {
    fn plan(
        &self,
        project_dir: &Path,
        config: &Value,
        plan_dir: &Path,
    ) -> Result<PlanInfo, HandlerError> {
        self.wait()?;
        LocalProducer.plan_allowing_network(project_dir, config, plan_dir)
    }

    fn render_chunk(
        &self,
        plan_dir: &Path,
        index: u32,
        out_dir: &Path,
    ) -> Result<ChunkInfo, HandlerError> {
        self.wait()?;
        LocalProducer.render_chunk(plan_dir, index, out_dir)
    }

    fn assemble(
        &self,
        plan_dir: &Path,
        chunks: &[PathBuf],
        audio: Option<&Path>,
        out: &Path,
    ) -> Result<AssembleInfo, HandlerError> {
        self.wait()?;
        LocalProducer.assemble(plan_dir, chunks, audio, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_source_resolves_like_the_reference() {
        assert_eq!(ChromeSource::resolve(None), ChromeSource::Sparticuz);
        assert_eq!(
            ChromeSource::resolve(Some("sparticuz")),
            ChromeSource::Sparticuz
        );
        assert_eq!(
            ChromeSource::resolve(Some("bogus")),
            ChromeSource::Sparticuz
        );
        assert_eq!(
            ChromeSource::resolve(Some(" Chrome-Headless-Shell ")),
            ChromeSource::ChromeHeadlessShell
        );
        assert_eq!(
            ChromeSource::resolve(Some("SHELL")),
            ChromeSource::ChromeHeadlessShell
        );
    }

    #[test]
    fn a_package_without_payload_keeps_the_local_producer() {
        let d = std::env::temp_dir().join(format!("hf-bundled-none-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let s = Settings {
            task_root: d.clone(),
            cache_root: d.join("tmp"),
            source: ChromeSource::Sparticuz,
            chrome_path: None,
        };
        assert!(BundledProducer::start(s).unwrap().is_none());
    }

    #[test]
    fn chrome_headless_shell_without_a_path_is_a_clear_error() {
        let d = std::env::temp_dir().join(format!("hf-bundled-shell-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("payload")).unwrap();
        let manifest = Manifest {
            format: 1,
            components: vec![payload::Component {
                name: "ffmpeg".into(),
                origin: "test".into(),
                files: vec![],
            }],
        };
        let s = Settings {
            task_root: d.clone(),
            cache_root: d.join("tmp"),
            source: ChromeSource::ChromeHeadlessShell,
            chrome_path: None,
        };
        let err = prepare(&s, &manifest, "0123").unwrap_err();
        assert!(err.contains(CHROME_PATH_ENV), "{err}");
        let s = Settings {
            source: ChromeSource::Sparticuz,
            ..s
        };
        let err = prepare(&s, &manifest, "0123").unwrap_err();
        assert!(err.contains("carries no Chromium"), "{err}");
    }
}
