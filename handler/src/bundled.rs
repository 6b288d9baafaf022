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

use hyperframes_infra::ChromeSource;
use hyperframes_producer::runtime::{self, Runtime};
use hyperframes_producer::ProducerError;
use lambda_runtime::tracing;

use crate::error::HandlerError;
use crate::payload::{self, Manifest};
use crate::producer::{AssembleInfo, ChunkInfo, LocalProducer, PlanInfo, Producer};

/// The stack hands `ChromeSource` to the function under this name.
pub const CHROME_SOURCE_ENV: &str = hyperframes_infra::stack::env::CHROME_SOURCE;
/// The browser binary for `chrome-headless-shell` (a layer or an image).
pub const CHROME_PATH_ENV: &str = "HYPERFRAMES_LAMBDA_CHROME_PATH";

pub use crate::payload::PACKAGE_REMEDY;

/// The value of `HYPERFRAMES_LAMBDA_CHROME_SOURCE`, read as the reference
/// reads it: `chrome-headless-shell` or `shell` (any case, spaces around)
/// select the user's binary; anything else, unset included, is the bundled
/// `@sparticuz/chromium`. Lenient where [`ChromeSource`]'s `FromStr` is
/// strict: a deployed function must not fail on a value the template's
/// AllowedValues already let through.
pub fn chrome_source_from_env(value: Option<&str>) -> ChromeSource {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("chrome-headless-shell") | Some("shell") => ChromeSource::ChromeHeadlessShell,
        _ => ChromeSource::Sparticuz,
    }
}

/// Everything the runtime is built from, taken from the function's
/// environment once ([`crate::FunctionEnv`]).
#[derive(Debug, Clone)]
pub struct Settings {
    pub task_root: PathBuf,
    pub cache_root: PathBuf,
    pub source: ChromeSource,
    pub chrome_path: Option<PathBuf>,
    /// What the browser inherits that its runtime builds on.
    pub inherited: runtime::Inherited,
}

impl Settings {
    /// From the variables `get` answers (the edge passes the environment).
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Settings {
        Settings {
            task_root: get("LAMBDA_TASK_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/var/task")),
            cache_root: std::env::temp_dir().join("hyperframes-runtime"),
            source: chrome_source_from_env(get(CHROME_SOURCE_ENV).as_deref()),
            chrome_path: get(CHROME_PATH_ENV)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            inherited: runtime::Inherited {
                ld_library_path: get("LD_LIBRARY_PATH"),
                home: get("HOME").is_some(),
            },
        }
    }
}

/// A payload that cannot be unpacked: a missing component is a package
/// defect; an unpack that fails midway may also be a full or wedged `/tmp`.
fn unpack_failed(what: &str, why: String) -> String {
    format!(
        "cannot unpack the bundled {what}: {why}. If /tmp is full or wedged after a timeout, \
         recycle the function (update any environment variable or redeploy); otherwise {PACKAGE_REMEDY}"
    )
}

/// Unpacks what `settings` needs and describes the runtime. Blocking.
pub fn prepare(
    settings: &Settings,
    manifest: &Manifest,
    digest: &str,
) -> Result<Runtime, ProducerError> {
    let t0 = Instant::now();
    let ffmpeg_component = manifest.component("ffmpeg").ok_or_else(|| {
        ProducerError::ToolUnavailable(format!(
            "the package's payload ({}) has no ffmpeg; {PACKAGE_REMEDY}",
            payload::MANIFEST_PATH
        ))
    })?;
    let chrome = match settings.source {
        ChromeSource::Sparticuz => {
            let c = manifest.component("chromium").ok_or_else(|| {
                ProducerError::ChromeBinaryUnavailable(format!(
                    "ChromeSource is sparticuz but the package carries no Chromium \
                     ({} has no chromium); {PACKAGE_REMEDY}",
                    payload::MANIFEST_PATH
                ))
            })?;
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
    )
    .map_err(|e| ProducerError::ToolUnavailable(unpack_failed("ffmpeg", e)))?;
    log_unpack("ffmpeg", &ff);
    let rt = match chrome {
        Some(t) => {
            let unpacked = t
                .join()
                .unwrap_or_else(|_| Err("the unpack thread panicked".to_string()));
            let c = unpacked.map_err(|e| {
                ProducerError::ChromeBinaryUnavailable(unpack_failed("Chromium", e))
            })?;
            log_unpack("chromium", &c);
            runtime::sparticuz(
                &c.dir,
                ff.dir.join("ffmpeg"),
                PACKAGE_REMEDY,
                &settings.inherited,
            )
        }
        None => shell_runtime(settings, ff.dir.join("ffmpeg"))?,
    };
    if !rt.chrome.is_file() {
        return Err(ProducerError::ChromeBinaryUnavailable(format!(
            "the browser {} (source={}) does not exist; {}",
            rt.chrome.display(),
            rt.source,
            rt.remedy
        )));
    }
    tracing::info!(
        event = "runtime-ready",
        source = %rt.source,
        chrome = %rt.chrome.display(),
        ffmpeg = %rt.ffmpeg.display(),
        ms = t0.elapsed().as_millis() as u64,
        "runtime ready"
    );
    Ok(rt)
}

/// `chrome-headless-shell`: the user's browser (a layer or an image) with
/// the package's ffmpeg.
fn shell_runtime(settings: &Settings, ffmpeg: PathBuf) -> Result<Runtime, ProducerError> {
    let chrome = settings.chrome_path.clone().ok_or_else(|| {
        ProducerError::ChromeBinaryUnavailable(format!(
            "ChromeSource is chrome-headless-shell but {CHROME_PATH_ENV} is not set; \
             set it to the headless shell in your layer or image (e.g. /opt/chrome-headless-shell)"
        ))
    })?;
    Ok(Runtime {
        source: ChromeSource::ChromeHeadlessShell.as_str().into(),
        chrome,
        chrome_flags: Vec::new(),
        chrome_env: Vec::new(),
        ffmpeg,
        remedy: format!(
            "the browser comes from {CHROME_PATH_ENV} (check that layer or image); \
             ffmpeg from the package: {PACKAGE_REMEDY}"
        ),
    })
}

fn log_unpack(name: &str, u: &payload::Unpacked) {
    tracing::info!(
        event = "payload-unpack",
        component = name,
        dir = %u.dir.display(),
        unpacked = u.unpacked,
        bytes = u.bytes,
        ms = u.millis as u64,
        "payload unpack"
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
    pending: Mutex<Option<JoinHandle<Result<Runtime, ProducerError>>>>,
    ready: OnceLock<Result<(), HandlerError>>,
}

impl BundledProducer {
    /// Starts the unpack of a package whose manifest and payload files
    /// [`crate::init::check_package`] found; it runs in a thread, so the
    /// first invocation's downloads overlap it.
    pub fn start(settings: Settings, manifest: Manifest, digest: String) -> Arc<BundledProducer> {
        let handle = std::thread::spawn(move || prepare(&settings, &manifest, &digest));
        Arc::new(BundledProducer {
            pending: Mutex::new(Some(handle)),
            ready: OnceLock::new(),
        })
    }

    /// Waits for the unpack (once) and installs the runtime in the producer.
    /// Its failure is every invocation's failure, under its contract name.
    pub fn wait(&self) -> Result<(), HandlerError> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.ready.get_or_init(|| {
            let lost = |why: &str| {
                ProducerError::ChromeBinaryUnavailable(format!(
                    "the runtime unpack {why}; recycle the function (update any environment \
                     variable or redeploy)"
                ))
            };
            let rt = match pending.take() {
                Some(handle) => handle.join().unwrap_or_else(|_| Err(lost("panicked")))?,
                None => return Err(lost("was lost").into()),
            };
            runtime::install(rt).map_err(|why| HandlerError::from(lost(&why)))
        });
        drop(pending);
        r.clone()
    }
}

impl Producer for BundledProducer {
    fn plan(
        &self,
        project_dir: &Path,
        config: &hyperframes_producer::RenderConfig,
        plan_dir: &Path,
        template_cache: Option<&hyperframes_producer::TemplateCache>,
    ) -> Result<PlanInfo, HandlerError> {
        self.wait()?;
        LocalProducer.plan(project_dir, config, plan_dir, template_cache)
    }

    fn template_key(
        &self,
        project_dir: &Path,
        config: &hyperframes_producer::RenderConfig,
    ) -> Result<String, HandlerError> {
        self.wait()?;
        LocalProducer.template_key(project_dir, config)
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
    use hyperframes_infra::contract::ErrorName;

    #[test]
    fn chrome_source_resolves_like_the_reference() {
        assert_eq!(chrome_source_from_env(None), ChromeSource::Sparticuz);
        assert_eq!(
            chrome_source_from_env(Some("sparticuz")),
            ChromeSource::Sparticuz
        );
        assert_eq!(
            chrome_source_from_env(Some("bogus")),
            ChromeSource::Sparticuz
        );
        assert_eq!(
            chrome_source_from_env(Some(" Chrome-Headless-Shell ")),
            ChromeSource::ChromeHeadlessShell
        );
        assert_eq!(
            chrome_source_from_env(Some("SHELL")),
            ChromeSource::ChromeHeadlessShell
        );
    }

    #[test]
    fn chrome_headless_shell_without_a_path_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("payload")).unwrap();
        let manifest = Manifest {
            format: 1,
            components: vec![payload::Component {
                name: "ffmpeg".into(),
                origin: "test".into(),
                files: vec![],
            }],
        };
        let s = Settings {
            task_root: d.path().to_path_buf(),
            cache_root: d.path().join("tmp"),
            source: ChromeSource::ChromeHeadlessShell,
            chrome_path: None,
            inherited: Default::default(),
        };
        let err = prepare(&s, &manifest, "0123").unwrap_err().to_string();
        assert!(err.contains(CHROME_PATH_ENV), "{err}");
        let s = Settings {
            source: ChromeSource::Sparticuz,
            ..s
        };
        let err = prepare(&s, &manifest, "0123").unwrap_err().to_string();
        assert!(err.contains("carries no Chromium"), "{err}");
    }

    #[test]
    fn a_package_without_ffmpeg_is_a_deployment_defect() {
        let d = tempfile::tempdir().unwrap();
        let manifest = Manifest {
            format: 1,
            components: vec![],
        };
        let s = Settings {
            task_root: d.path().to_path_buf(),
            cache_root: d.path().join("tmp"),
            source: ChromeSource::Sparticuz,
            chrome_path: None,
            inherited: Default::default(),
        };
        let err = HandlerError::from(prepare(&s, &manifest, "0123").unwrap_err());
        assert_eq!(err.name, ErrorName::ToolUnavailable, "{err}");
        assert!(err.message.contains("has no ffmpeg"), "{err}");
        assert!(err.message.contains("cargo run --bin package"), "{err}");
        // Never retried, in any stage.
        for stage in hyperframes_infra::contract::Action::ALL {
            assert!(err.name.is_non_retryable_in(stage));
        }
    }
}
