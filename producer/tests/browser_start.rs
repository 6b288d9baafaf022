//! Starting the browser: a start-up crash gets one more start, a binary
//! that never starts is reported as unavailable. Alone in its test binary
//! because it points `HF_CHROME_PATH` (process-wide) at wrapper scripts.

#[path = "it/common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::require_tools;
use hyperframes_producer::capture::browser::{chrome_path, Browser, CaptureMode, LaunchOptions};
use hyperframes_producer::ProducerError;

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn options() -> LaunchOptions {
    LaunchOptions {
        width: 320,
        height: 180,
        mode: CaptureMode::BeginFrame,
        extra_flags: Vec::new(),
    }
}

#[test]
fn a_start_up_crash_is_started_again_and_a_binary_that_never_starts_is_unavailable() {
    require_tools();
    let real = chrome_path().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("crashed-once");
    // Crashes (exit 139, as a SIGSEGV would) on its first start only.
    let flaky = script(
        dir.path(),
        "flaky-chrome",
        &format!(
            "if [ ! -e '{m}' ]; then : > '{m}'; echo 'simulated start-up crash' >&2; exit 139; fi\nexec '{r}' \"$@\"",
            m = marker.display(),
            r = real.display()
        ),
    );
    use_chrome(&flaky);
    let mut browser = Browser::launch(&options()).expect("the second start should come up");
    assert!(marker.exists(), "the wrapper's first start did not run");
    assert!(browser.version().unwrap().contains("Chrome"));
    drop(browser);

    let broken = script(
        dir.path(),
        "broken-chrome",
        "echo 'cannot run here' >&2\nexit 1",
    );
    use_chrome(&broken);
    match Browser::launch(&options()) {
        Err(ProducerError::ChromeBinaryUnavailable(m)) => {
            assert!(m.contains("2 starts in a row"), "{m}");
            assert!(m.contains("cannot run here"), "{m}");
        }
        Err(e) => panic!("expected ChromeBinaryUnavailable, got [{}] {e}", e.name()),
        Ok(_) => panic!("a binary that exits at once was reported as started"),
    }
    std::env::remove_var("HF_CHROME_PATH");
}

/// The producer's settings with another browser (what `HF_CHROME_PATH`
/// sets at a program's start).
fn use_chrome(path: &std::path::Path) {
    let mut s = (*hyperframes_producer::settings::current()).clone();
    s.chrome = Some(path.to_path_buf());
    hyperframes_producer::settings::install(s);
}
