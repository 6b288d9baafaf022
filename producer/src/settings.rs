//! The producer's settings from the environment (`HF_*`), read in one place.
//!
//! The programs read them once at their edge ([`Settings::from_lookup`]
//! over the process environment, at the start of `hyperframes` and of the
//! Lambda handler's init) and
//! [`install`] them; the library then asks [`current`] and never reads an
//! `HF_*` variable itself. A value that does not parse is an error naming
//! the variable (every bad one at once), where it used to be ignored.
//!
//! Why installed rather than passed to every call: like the bundled
//! runtime ([`crate::runtime::install`]), these are facts about the process
//! (which browser, how patient, whether the plan may fetch), the same for
//! every plan and chunk it renders. A library user who installs nothing
//! gets the defaults: the library itself reads no variable, so a setting
//! is never picked up from wherever the process happens to run.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use crate::errors::{ProducerError, Result};

/// Everything the producer takes from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// `HF_ALLOW_NETWORK` (`0` forbids): may a plan fetch what the offline
    /// asset map lacks ([`crate::plan::assets`] says why it is on by default).
    pub allow_network: bool,
    /// `HF_ASSET_MAP`: the offline asset map (URL -> local file).
    pub asset_map: Option<PathBuf>,
    /// `HF_TOOLS_DIR`: where the default asset map (`asset-map.json`) is.
    pub tools_dir: Option<PathBuf>,
    /// `HF_CHROME_PATH`: the headless shell, when no runtime is installed.
    pub chrome: Option<PathBuf>,
    /// `HF_FFMPEG`: ffmpeg, when no runtime is installed (default: on `PATH`).
    pub ffmpeg: Option<PathBuf>,
    /// `HF_REUSE_FRAMES` (`0`, `false` or `off` turns it off): an unchanged
    /// frame is not captured again.
    pub reuse_frames: bool,
    /// `HF_CAPTURE_PAGES`: browser pages per chunk (default: by size).
    pub capture_pages: Option<usize>,
    /// `HF_ENCODER_NICE`: the encoder's niceness (default 10).
    pub encoder_nice: i32,
    /// `HF_CHUNK_MS_PER_FRAME`: a chunk's time budget per frame, on top of
    /// two minutes (default 2000 ms).
    pub chunk_ms_per_frame: u64,
    /// `HF_READY_TIMEOUT_SECS`: how long a page may take to be ready (30 s).
    pub ready_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_network: true,
            asset_map: None,
            tools_dir: None,
            chrome: None,
            ffmpeg: None,
            reuse_frames: true,
            capture_pages: None,
            encoder_nice: 10,
            chunk_ms_per_frame: 2000,
            ready_timeout: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// Reads every `HF_*` variable the producer knows through `get`: the
    /// edge passes the process environment, tests a map.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Settings> {
        let mut problems = Vec::new();
        let mut s = Settings::default();
        let path = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        s.asset_map = path("HF_ASSET_MAP");
        s.tools_dir = path("HF_TOOLS_DIR");
        s.chrome = path("HF_CHROME_PATH");
        s.ffmpeg = path("HF_FFMPEG");
        if let Some(v) = get("HF_ALLOW_NETWORK") {
            s.allow_network = v.trim() != "0";
        }
        if let Some(v) = get("HF_REUSE_FRAMES") {
            s.reuse_frames = !matches!(v.trim(), "0" | "false" | "off");
        }
        let mut number = |k: &str, what: &str| -> Option<u64> {
            let v = get(k)?;
            match v.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(format!("{k}={v:?} is not {what}"));
                    None
                }
            }
        };
        if let Some(n) = number("HF_CAPTURE_PAGES", "a whole number of pages (1-8)") {
            s.capture_pages = Some(n as usize);
        }
        if let Some(n) = number("HF_CHUNK_MS_PER_FRAME", "a whole number of milliseconds") {
            s.chunk_ms_per_frame = n;
        }
        if let Some(n) = number("HF_READY_TIMEOUT_SECS", "a whole number of seconds") {
            s.ready_timeout = Duration::from_secs(n);
        }
        if let Some(v) = get("HF_ENCODER_NICE") {
            match v.trim().parse::<i32>() {
                Ok(n) if (-20..=19).contains(&n) => s.encoder_nice = n,
                _ => problems.push(format!("HF_ENCODER_NICE={v:?} is not a niceness (-20..19)")),
            }
        }
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(ProducerError::InvalidConfig {
                field: "environment".into(),
                message: format!("{}; fix or unset them", problems.join("; ")),
            })
        }
    }
}

static INSTALLED: RwLock<Option<Arc<Settings>>> = RwLock::new(None);
static DEFAULT: LazyLock<Arc<Settings>> = LazyLock::new(|| Arc::new(Settings::default()));

/// Makes `settings` the producer's, for every later call (the edge calls
/// this once; a test may call it again to change one setting).
pub fn install(settings: Settings) {
    *INSTALLED.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(settings));
}

/// The installed settings, or the defaults when nothing was installed.
pub fn current() -> Arc<Settings> {
    match INSTALLED.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(s) => s.clone(),
        None => DEFAULT.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&|k| m.get(k).cloned())
    }

    #[test]
    fn each_variable_lands_in_its_field() {
        let s = with(&[
            ("HF_ALLOW_NETWORK", "0"),
            ("HF_ASSET_MAP", "/m.json"),
            ("HF_CHROME_PATH", "/c"),
            ("HF_REUSE_FRAMES", "off"),
            ("HF_CAPTURE_PAGES", "2"),
            ("HF_ENCODER_NICE", "5"),
            ("HF_CHUNK_MS_PER_FRAME", "100"),
            ("HF_READY_TIMEOUT_SECS", "7"),
        ])
        .unwrap();
        assert!(!s.allow_network && !s.reuse_frames);
        assert_eq!(s.asset_map, Some(PathBuf::from("/m.json")));
        assert_eq!(s.chrome, Some(PathBuf::from("/c")));
        assert_eq!(s.capture_pages, Some(2));
        assert_eq!((s.encoder_nice, s.chunk_ms_per_frame), (5, 100));
        assert_eq!(s.ready_timeout, Duration::from_secs(7));
        assert_eq!(with(&[]).unwrap(), Settings::default());
    }

    #[test]
    fn every_bad_value_is_named_at_once() {
        let e = with(&[
            ("HF_CAPTURE_PAGES", "two"),
            ("HF_ENCODER_NICE", "99"),
            ("HF_READY_TIMEOUT_SECS", "-1"),
        ])
        .unwrap_err()
        .to_string();
        for k in [
            "HF_CAPTURE_PAGES",
            "HF_ENCODER_NICE",
            "HF_READY_TIMEOUT_SECS",
        ] {
            assert!(e.contains(k), "{e}");
        }
    }
}
