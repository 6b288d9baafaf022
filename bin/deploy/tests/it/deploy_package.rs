//! The handler package: deterministic bytes, Lambda's size limit and the
//! binary checks, through the library deploy uses (no AWS needed).

use std::io::Read;
use std::path::{Path, PathBuf};

use hyperframes_deploy::package::{self, Bootstrap};

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("package-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn elf(machine: u16, body: &str) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = 1;
    h[6] = 1;
    h[16] = 2;
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h.extend_from_slice(body.as_bytes());
    h
}

fn write(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
}

/// The same files, created in a different order and at different times,
/// in a different directory.
fn project(dir: &Path, reverse: bool) -> (PathBuf, PathBuf) {
    let boot = dir.join("bootstrap");
    write(&boot, &elf(0x3e, "handler"), 0o755);
    let runtime = dir.join("runtime");
    let mut files: Vec<(&str, Vec<u8>, u32)> = vec![
        ("bin/ffmpeg", elf(0x3e, "ffmpeg"), 0o755),
        ("chromium/chrome.br", vec![7u8; 10_000], 0o644),
        ("fonts/SpaceMono.ttf", b"font".to_vec(), 0o600),
        ("a.txt", b"first".to_vec(), 0o664),
    ];
    if reverse {
        files.reverse();
    }
    for (name, bytes, mode) in files {
        write(&runtime.join(name), &bytes, mode);
    }
    (boot, runtime)
}

#[test]
fn the_same_inputs_give_the_same_zip() {
    let a = scratch("det-a");
    let (boot_a, rt_a) = project(&a, false);
    let b = scratch("det-b");
    let (boot_b, rt_b) = project(&b, true);
    // Different modification times must not matter.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for f in [boot_b.clone(), rt_b.join("a.txt"), rt_b.join("bin/ffmpeg")] {
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    let pa = package::package(
        &Bootstrap::Prebuilt(boot_a.clone()),
        Some(&rt_a),
        &a.join("out/handler.zip"),
    )
    .unwrap();
    let pb = package::package(
        &Bootstrap::Prebuilt(boot_b),
        Some(&rt_b),
        &b.join("handler.zip"),
    )
    .unwrap();
    assert_eq!(pa.sha256, pb.sha256);
    assert_eq!(
        std::fs::read(&pa.zip_path).unwrap(),
        std::fs::read(&pb.zip_path).unwrap()
    );
    assert_eq!(pa.s3_key(), format!("handlers/{}.zip", pa.sha256));
    assert_eq!(pa.files, 5);
    assert_eq!(package::sha256_file(&pa.zip_path).unwrap().0, pa.sha256);

    // Rebuilding in place gives the same bytes too.
    let again = package::package(
        &Bootstrap::Prebuilt(boot_a.clone()),
        Some(&rt_a),
        &a.join("again.zip"),
    )
    .unwrap();
    assert_eq!(again.sha256, pa.sha256);

    // A changed byte is a different package.
    write(&rt_a.join("a.txt"), b"changed", 0o644);
    let changed = package::package(
        &Bootstrap::Prebuilt(boot_a),
        Some(&rt_a),
        &a.join("changed.zip"),
    )
    .unwrap();
    assert_ne!(changed.sha256, pa.sha256);
}

#[test]
fn the_zip_is_laid_out_for_lambda() {
    let d = scratch("layout");
    let (boot, rt) = project(&d, false);
    let p = package::package(
        &Bootstrap::Prebuilt(boot),
        Some(&rt),
        &d.join("handler.zip"),
    )
    .unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&p.zip_path).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "a.txt",
            "bin/ffmpeg",
            "bootstrap",
            "chromium/chrome.br",
            "fonts/SpaceMono.ttf"
        ],
        "sorted, /var/task layout"
    );
    for i in 0..zip.len() {
        let f = zip.by_index(i).unwrap();
        let want = if matches!(f.name(), "bootstrap" | "bin/ffmpeg") {
            0o755
        } else {
            0o644
        };
        assert_eq!(f.unix_mode().unwrap() & 0o777, want, "{}", f.name());
        let t = f.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (1980, 1, 1, 0, 0),
            "{}",
            f.name()
        );
    }
    let mut body = Vec::new();
    zip.by_name("bootstrap")
        .unwrap()
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body, elf(0x3e, "handler"));
}

#[test]
fn an_oversized_package_is_refused_naming_the_largest_files() {
    let d = scratch("big");
    let (boot, rt) = project(&d, false);
    // Sparse: 300 MiB on paper, nothing on disk, and refused before zipping.
    let big = std::fs::File::create(rt.join("chromium").join("chromium-full")).unwrap();
    big.set_len(300 * 1024 * 1024).unwrap();
    let out = d.join("handler.zip");
    let err = package::package(&Bootstrap::Prebuilt(boot), Some(&rt), &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("over Lambda's limit of 250.0 MiB"), "{err}");
    let largest = err
        .find("chromium/chromium-full")
        .expect("names the largest file");
    let second = err.find("chromium/chrome.br").expect("then the next ones");
    assert!(largest < second, "{err}");
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn binaries_that_would_not_run_on_lambda_are_refused() {
    let d = scratch("arch");
    let (boot, rt) = project(&d, false);

    let script = d.join("script-bootstrap");
    write(&script, b"#!/bin/sh\necho hi\n", 0o755);
    let err = package::package(&Bootstrap::Prebuilt(script), None, &d.join("x.zip"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a Linux executable") && err.contains("x86_64-unknown-linux-gnu"),
        "{err}"
    );

    let arm = d.join("arm-bootstrap");
    write(&arm, &elf(0xb7, "arm"), 0o755);
    let err = package::package(&Bootstrap::Prebuilt(arm), None, &d.join("x.zip"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("aarch64"), "{err}");

    write(
        &rt.join("bin").join("ffprobe"),
        &[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1],
        0o755,
    );
    let err = package::package(
        &Bootstrap::Prebuilt(boot.clone()),
        Some(&rt),
        &d.join("x.zip"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bin/ffprobe (a macOS (Mach-O) binary)"),
        "{err}"
    );

    let missing = package::package(&Bootstrap::Prebuilt(d.join("nope")), None, &d.join("x.zip"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot read the bootstrap binary"),
        "{missing}"
    );
}
