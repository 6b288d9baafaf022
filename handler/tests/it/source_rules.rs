//! Rules checked on the source itself.
//!
//! - User-facing messages name only what users have: no file of this
//!   repository's developers' reference material (`spec/...`, `*-spec.md`,
//!   `../shared`) and no developer script as a remedy. Every string literal
//!   outside the test modules of the function's crates (producer, handler),
//!   infra and the command-line programs is checked, so a new message that
//!   cites one fails here.
//! - The function (producer and handler) starts no program but Chromium and
//!   ffmpeg: every `Command::new` outside test modules names one of them.

use std::path::{Path, PathBuf};

/// What a user never has.
const DEVELOPER_ONLY: [&str; 5] = ["spec.md", "spec/", "shared/", "/work/", "scripts/test.sh"];

/// The string literals of Rust source `src` (plain, byte and raw), with
/// their line numbers; comments and char literals are skipped.
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let b = src.as_bytes();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let newlines = |s: &[u8]| s.iter().filter(|&&c| c == b'\n').count();
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                line += newlines(&b[i..end]);
                i = end;
                continue;
            }
            b'\'' => {
                // A char literal ('"', '\'', '\u{..}') or a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    i += src[i + 2..].find('\'').map_or(b.len(), |p| p + 3);
                    continue;
                }
                if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                    continue;
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) == Some(&b'"') {
                    let start = i + 2 + hashes;
                    let close = format!("\"{}", "#".repeat(hashes));
                    let end = src[start..].find(&close).map_or(b.len(), |p| start + p);
                    out.push((line, src[start..end].to_string()));
                    line += newlines(&b[i..end]);
                    i = end + close.len();
                    continue;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                out.push((line, src[start..j.min(b.len())].to_string()));
                line += newlines(&b[i..j.min(b.len())]);
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The source before the file's test module (tests may name developer
/// tools in their own failure messages).
fn non_test_part(src: &str) -> &str {
    src.find("#[cfg(test)]").map_or(src, |p| &src[..p])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_scanner_finds_literals_and_skips_comments() {
    let src = "// \"spec/x\"\nlet a = \"one\"; let c = '\"'; /* \"no\" */\nlet b = r#\"two \"q\"\"#;\nlet e = b\"three\\\"\";";
    let got = string_literals(src);
    assert_eq!(
        got,
        vec![
            (2, "one".to_string()),
            (3, "two \"q\"".to_string()),
            (4, "three\\\"".to_string())
        ]
    );
}

#[test]
fn no_message_names_a_developer_only_file_or_script() {
    let mut dirs = vec![
        "producer/src".to_string(),
        "handler/src".into(),
        "infra/src".into(),
    ];
    // Every command-line package's own source (testkit is test support).
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bin");
    for e in std::fs::read_dir(&bin).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name != "testkit" && bin.join(&name).join("src").is_dir() {
            dirs.push(format!("bin/{name}/src"));
        }
    }
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let files = sources(&dirs);
    assert!(files.len() > 40, "found only {} source files", files.len());
    let mut found = Vec::new();
    for (path, src) in &files {
        for (line, lit) in string_literals(src) {
            if let Some(bad) = DEVELOPER_ONLY.iter().find(|d| lit.contains(*d)) {
                found.push(format!("{}:{line}: {bad:?} in {lit:?}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "user-facing strings name files or scripts only this repository's developers have:\n{}",
        found.join("\n")
    );
}

/// The non-test source of every `.rs` file under `dirs` (relative to the
/// workspace), with its path.
fn sources(dirs: &[&str]) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .map(|f| {
            let src = std::fs::read_to_string(&f).unwrap();
            let rel = f.strip_prefix(&root).unwrap_or(&f).to_path_buf();
            (rel, non_test_part(&src).to_string())
        })
        .collect()
}

#[test]
fn the_function_spawns_only_chromium_and_ffmpeg() {
    // The browser binary (`chrome_path()`, the installed runtime's or
    // Debian's, passed on as `bin`) and `ffmpeg_bin()` (the installed
    // runtime's or HF_FFMPEG).
    const ALLOWED: [&str; 4] = [
        "Command::new(&bin)",
        "Command::new(bin)",
        "Command::new(ffmpeg_bin())",
        "Command::new(ffmpeg::ffmpeg_bin())",
    ];
    let mut spawns = 0;
    let mut found = Vec::new();
    for (path, src) in sources(&["producer/src", "handler/src"]) {
        // The bench (feature `bench`, off in the function) runs the peer's
        // CLI; bootstrap never compiles it.
        if path.starts_with("producer/src/bench") {
            continue;
        }
        for (i, line) in src.lines().enumerate() {
            let Some(at) = line.find("Command::new(") else {
                continue;
            };
            spawns += 1;
            let call = &line[at..];
            // ffmpeg starts only in `encode::ffmpeg::command` (and its
            // version probe); the browser only in `capture::browser`.
            let home = path.ends_with("producer/src/encode/ffmpeg.rs")
                || path.ends_with("producer/src/capture/browser.rs");
            if !home || !ALLOWED.iter().any(|a| call.starts_with(a)) {
                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        spawns >= 3,
        "found only {spawns} spawns; is the scan reading the sources?"
    );
    assert!(
        found.is_empty(),
        "the function may start only its bundled Chromium and ffmpeg:\n{}",
        found.join("\n")
    );
}

/// A test or doc example added where `cargo test` does not look.
fn unseen_tests(target: &serde_json::Value) -> Vec<String> {
    let src = Path::new(target["src_path"].as_str().unwrap_or_default());
    let kinds = target["kind"].to_string();
    let is_lib = kinds.contains("lib");
    let files: Vec<PathBuf> = if is_lib {
        let mut v = Vec::new();
        let dir = src.parent().unwrap();
        rust_files(dir, &mut v);
        // A package's own binaries (src/bin/) are targets of their own.
        v.retain(|p| !p.strip_prefix(dir).unwrap().starts_with("bin"));
        v
    } else if src.file_name().is_some_and(|n| n == "main.rs") {
        let mut v = Vec::new();
        rust_files(src.parent().unwrap(), &mut v);
        v
    } else {
        vec![src.to_path_buf()]
    };
    let doc_example = |l: &str| {
        let l = l.trim_start();
        (l.starts_with("///") || l.starts_with("//!"))
            && matches!(
                l[3..].trim(),
                "```" | "```rust" | "```no_run" | "```should_panic" | "```compile_fail"
            )
    };
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, l) in text.lines().enumerate() {
            let t = l.trim_start();
            let test = t.starts_with("#[test]") || t.starts_with("#[tokio::test");
            if (test && target["test"] == false)
                || (is_lib && target["doctest"] == false && doc_example(l))
            {
                found.push(format!("{}:{}: {t}", f.display(), n + 1));
            }
        }
    }
    found
}

/// Thin entries and test-free libraries have `test = false` or
/// `doctest = false` (each test binary links the whole tree again, which
/// is most of the suite's compile time); a test written there later would
/// never run, so this fails instead.
#[test]
fn no_test_hides_in_a_target_cargo_test_skips() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (mut skipped, mut unseen) = (0, Vec::new());
    for target in meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
    {
        if target["test"] == false || target["doctest"] == false {
            skipped += 1;
            unseen.extend(unseen_tests(target));
        }
    }
    assert!(
        skipped >= 8,
        "only {skipped} targets skip tests: did the manifests change?"
    );
    assert!(unseen.is_empty(), "tests that cargo test would never run (remove `test = false` / `doctest = false` from the target):\n{}", unseen.join("\n"));
}
