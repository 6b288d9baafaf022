//! Which browser and ffmpeg the producer runs, described once per process.
//!
//! Locally nothing is installed here and the producer keeps its defaults
//! (Debian's `chromium-headless-shell`, `ffmpeg` on `PATH`, or the
//! `HF_CHROME_PATH`/`HF_FFMPEG` overrides). On Lambda the handler
//! unpacks the bundled payload and [`install`]s a [`Runtime`] that points at
//! it, so the same render code runs both places without forks: only this
//! description differs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The binaries (and what they need around them) for this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// Where it came from, for logs and error messages (`sparticuz`,
    /// `chrome-headless-shell`, ...).
    pub source: String,
    pub chrome: PathBuf,
    /// Flags merged over the producer's own (see [`merge_chrome_args`]):
    /// a packaged Chromium can need flags Debian's does not.
    pub chrome_flags: Vec<String>,
    /// Environment for the browser process (library and font paths of an
    /// unpacked payload).
    pub chrome_env: Vec<(String, String)>,
    pub ffmpeg: PathBuf,
    /// What to do when one of these binaries is missing or will not start,
    /// for error messages: the installer of the runtime knows (e.g. "rebuild
    /// the function package").
    pub remedy: String,
}

static INSTALLED: OnceLock<Runtime> = OnceLock::new();

/// Makes `runtime` the one this process renders with. It can be set once:
/// switching binaries between a plan and its chunks would break the plan's
/// pinned ffmpeg version. A second call with an equal value is accepted.
pub fn install(runtime: Runtime) -> Result<(), String> {
    let set = INSTALLED.get_or_init(|| runtime.clone());
    if *set == runtime {
        Ok(())
    } else {
        Err(format!(
            "a different runtime ({}: {}) is already installed in this process",
            set.source,
            set.chrome.display()
        ))
    }
}

/// The installed runtime, `None` for the local defaults.
pub fn installed() -> Option<&'static Runtime> {
    INSTALLED.get()
}

/// How to get the binaries when no runtime is installed (a local machine).
pub const LOCAL_REMEDY: &str = "install ffmpeg and chromium-headless-shell \
     (Debian: apt-get install ffmpeg chromium-headless-shell) or point HF_FFMPEG / \
     HF_CHROME_PATH at them";

/// The message for a binary the producer needs and cannot find or start:
/// which binary, where it was looked for, why, and what to do about it (the
/// installed runtime's remedy, or [`LOCAL_REMEDY`]).
pub fn missing_binary(what: &str, path: &Path, why: &str) -> String {
    match installed() {
        Some(rt) => format!(
            "{what} {} ({} runtime) {why}; {}",
            path.display(),
            rt.source,
            rt.remedy
        ),
        None => format!("{what} {} {why}; {LOCAL_REMEDY}", path.display()),
    }
}

/// Applies the installed runtime's flags to the producer's Chromium args.
pub fn chrome_args(base: Vec<String>) -> Vec<String> {
    match installed() {
        Some(r) if !r.chrome_flags.is_empty() => merge_chrome_args(base, &r.chrome_flags),
        _ => base,
    }
}

/// Sets the installed runtime's browser environment on `cmd`.
pub fn apply_chrome_env(cmd: &mut Command) {
    if let Some(r) = installed() {
        cmd.envs(r.chrome_env.iter().map(|(k, v)| (k, v)));
    }
}

/// `--name[=value]` -> `name`; positional arguments have none.
fn switch_name(arg: &str) -> Option<&str> {
    let s = arg.strip_prefix("--")?;
    Some(s.split_once('=').map_or(s, |(n, _)| n))
}

/// Chromium keeps only the last value of a repeated switch, so appending a
/// second `--disable-features` would silently drop the producer's list.
/// Feature lists are therefore united; any other switch the extra flags
/// name replaces the producer's value in place; new switches go before the
/// first positional argument (the start URL).
pub fn merge_chrome_args(mut base: Vec<String>, extra: &[String]) -> Vec<String> {
    const LISTS: [&str; 2] = ["disable-features", "enable-features"];
    for flag in extra {
        let Some(name) = switch_name(flag) else {
            continue;
        };
        match base.iter().position(|b| switch_name(b) == Some(name)) {
            Some(i) if LISTS.contains(&name) => {
                let mut items: Vec<String> = base[i]
                    .split_once('=')
                    .map(|(_, v)| v.split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                for item in flag.split_once('=').map_or("", |(_, v)| v).split(',') {
                    if !item.is_empty() && !items.iter().any(|x| x == item) {
                        items.push(item.to_string());
                    }
                }
                base[i] = format!("--{name}={}", items.join(","));
            }
            Some(i) => base[i] = flag.clone(),
            None => {
                let at = base
                    .iter()
                    .position(|b| !b.starts_with('-'))
                    .unwrap_or(base.len());
                base.insert(at, flag.clone());
            }
        }
    }
    base
}

/// `@sparticuz/chromium`'s launch flags (its `build/index.js`, graphics on),
/// the ones its headless shell needs to start at all in a sandbox-less
/// single-process environment. Pinned with the payload version.
pub fn sparticuz_flags() -> Vec<String> {
    [
        "--ash-no-nudges",
        "--disable-domain-reliability",
        "--disable-print-preview",
        "--disk-cache-size=33554432",
        "--no-default-browser-check",
        "--no-pings",
        "--single-process",
        "--font-render-hinting=none",
        "--disable-features=AudioServiceOutOfProcess,IsolateOrigins,site-per-process",
        "--enable-features=SharedArrayBuffer",
        "--ignore-gpu-blocklist",
        "--in-process-gpu",
        "--use-gl=angle",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--allow-running-insecure-content",
        "--disable-setuid-sandbox",
        "--disable-site-isolation-trials",
        "--disable-web-security",
        "--headless=shell",
        "--no-sandbox",
        "--no-zygote",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// What the browser would inherit from this process that its runtime
/// builds on; the caller reads it at its edge and passes it in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inherited {
    /// `LD_LIBRARY_PATH`, kept after the payload's own libraries.
    pub ld_library_path: Option<String>,
    /// Whether `HOME` is set (Lambda sets none).
    pub home: bool,
}

/// The runtime of an unpacked `@sparticuz/chromium` payload: the binary at
/// `dir/chromium` with SwiftShader beside it, its shared libraries in
/// `dir/al2023/lib` and its fontconfig in `dir/fonts`.
pub fn sparticuz(dir: &Path, ffmpeg: PathBuf, remedy: &str, inherited: &Inherited) -> Runtime {
    let lib = dir.join("al2023").join("lib");
    let ld = match inherited.ld_library_path.as_deref() {
        Some(old) if !old.is_empty() => format!("{}:{old}", lib.display()),
        _ => lib.display().to_string(),
    };
    let mut chrome_env = vec![
        ("LD_LIBRARY_PATH".to_string(), ld),
        (
            "FONTCONFIG_PATH".to_string(),
            dir.join("fonts").display().to_string(),
        ),
    ];
    // Lambda sets no HOME; Chromium wants somewhere writable for it.
    if !inherited.home {
        chrome_env.push((
            "HOME".to_string(),
            std::env::temp_dir().display().to_string(),
        ));
    }
    Runtime {
        source: "sparticuz".into(),
        chrome: dir.join("chromium"),
        chrome_flags: sparticuz_flags(),
        chrome_env,
        ffmpeg,
        remedy: remedy.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn feature_lists_are_united_and_switches_replaced() {
        let base = v(&[
            "--headless",
            "--disable-features=Translate,IsolateOrigins",
            "--use-gl=angle",
            "about:blank",
        ]);
        let out = merge_chrome_args(
            base,
            &v(&[
                "--headless=shell",
                "--disable-features=IsolateOrigins,site-per-process",
                "--single-process",
            ]),
        );
        assert_eq!(
            out,
            v(&[
                "--headless=shell",
                "--disable-features=Translate,IsolateOrigins,site-per-process",
                "--use-gl=angle",
                "--single-process",
                "about:blank",
            ])
        );
    }

    #[test]
    fn sparticuz_runtime_points_inside_the_payload() {
        let r = sparticuz(
            Path::new("/tmp/rt/chromium"),
            PathBuf::from("/tmp/rt/ffmpeg"),
            "rebuild it",
            &Inherited {
                ld_library_path: Some("/opt/lib".into()),
                home: false,
            },
        );
        assert_eq!(r.chrome, Path::new("/tmp/rt/chromium/chromium"));
        assert!(r.chrome_flags.contains(&"--single-process".to_string()));
        let env: std::collections::HashMap<_, _> = r.chrome_env.iter().cloned().collect();
        assert_eq!(
            env["LD_LIBRARY_PATH"],
            "/tmp/rt/chromium/al2023/lib:/opt/lib"
        );
        assert!(
            env.contains_key("HOME"),
            "Lambda sets no HOME; the browser gets one"
        );
        assert_eq!(env["FONTCONFIG_PATH"], "/tmp/rt/chromium/fonts");
        assert_eq!(r.remedy, "rebuild it");
    }
}
