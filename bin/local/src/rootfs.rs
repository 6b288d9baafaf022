//! The jail's root filesystem: what `provided.al2023` gives a function and
//! nothing more, assembled from this machine's files. JAIL.md (beside this
//! package's Cargo.toml) lists every entry and where it comes from.
//!
//! Layout follows AL2023 (libraries in `/usr/lib64`, `/lib64`, `/bin` and
//! `/lib` as links into `/usr`), with one addition the host's loader needs:
//! Debian's `ld.so` searches `/usr/lib/x86_64-linux-gnu` by default where
//! AL2023's searches `/usr/lib64`, so that directory links to `lib64`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Bumped when the file list changes, so an old root is rebuilt.
const LAYOUT_VERSION: &str = "al2023-minimal-1";

/// Where the host keeps its shared libraries (Debian multiarch, then the
/// merged-/usr and RPM-style paths).
const HOST_LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
];

/// The shared libraries AL2023-minimal's glibc, libgcc, libstdc++ and zlib
/// packages install: (soname, required). Optional ones are copied when the
/// host has them (Debian ships some in other packages or not at all).
pub const LIBRARIES: &[(&str, bool)] = &[
    // glibc
    ("ld-linux-x86-64.so.2", true),
    ("libc.so.6", true),
    ("libm.so.6", true),
    ("libmvec.so.1", true),
    ("libdl.so.2", true),
    ("libpthread.so.0", true),
    ("librt.so.1", true),
    ("libresolv.so.2", true),
    ("libutil.so.1", true),
    ("libanl.so.1", false),
    ("libBrokenLocale.so.1", false),
    ("libc_malloc_debug.so.0", false),
    ("libthread_db.so.1", false),
    ("libnss_files.so.2", false),
    ("libnss_dns.so.2", false),
    ("libnss_compat.so.2", false),
    // libgcc, libstdc++, zlib
    ("libgcc_s.so.1", true),
    ("libstdc++.so.6", true),
    ("libz.so.1", true),
];

/// The host's CA bundle (Debian, then Fedora/AL2023 paths).
const HOST_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// The host's POSIX shell (AL2023's is bash; Debian's /bin/sh is dash,
/// which needs only libc).
const HOST_SHELLS: &[&str] = &["/usr/bin/dash", "/bin/dash"];

/// Lambda's function user (`sbx_user1051`) and its group.
pub const FUNCTION_UID: u32 = 993;
pub const FUNCTION_GID: u32 = 990;

/// Empty directories the jail mounts over or that AL2023 has.
const DIRS: &[&str] = &[
    "usr/bin",
    "usr/lib64",
    "usr/lib",
    "etc/pki/tls/certs",
    "tmp",
    "proc",
    "dev",
    "var/task",
    "var/runtime",
    "var/lang",
    "opt",
];

/// Device nodes bound from the host (file mount points here).
pub const DEVICES: &[&str] = &["null", "zero", "random", "urandom", "full"];

/// A built root.
#[derive(Debug, Clone)]
pub struct RootFs {
    pub dir: PathBuf,
}

/// Builds the root under `dir` (reused when an identical one is there).
pub fn build(dir: &Path) -> Result<RootFs> {
    let stamp = dir.join(".hyperframes-rootfs");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == LAYOUT_VERSION) {
        return Ok(RootFs {
            dir: dir.to_path_buf(),
        });
    }
    let parent = dir
        .parent()
        .context("the jail root needs a parent directory")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = parent.join(format!(".rootfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    populate(&tmp)?;
    std::fs::write(tmp.join(".hyperframes-rootfs"), LAYOUT_VERSION)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)
        .with_context(|| format!("cannot move the jail root to {}", dir.display()))?;
    Ok(RootFs {
        dir: dir.to_path_buf(),
    })
}

fn populate(root: &Path) -> Result<()> {
    for d in DIRS {
        std::fs::create_dir_all(root.join(d))?;
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib64", "usr/lib64"),
        ("lib", "usr/lib"),
        ("usr/lib/x86_64-linux-gnu", "../lib64"),
        ("etc/ssl", "pki/tls"),
        ("etc/pki/tls/cert.pem", "certs/ca-bundle.crt"),
    ] {
        let at = root.join(link);
        if let Some(p) = at.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::os::unix::fs::symlink(target, &at)
            .with_context(|| format!("cannot link {}", at.display()))?;
    }
    for (name, required) in LIBRARIES {
        match find_host_library(name) {
            Some(src) => copy(&src, &root.join("usr/lib64").join(name), 0o755)?,
            None if *required => bail!(
                "the host has no {name} (looked in {}); the jail needs it because provided.al2023 has it",
                HOST_LIB_DIRS.join(", ")
            ),
            None => {}
        }
    }
    let ca = first_existing(HOST_CA_BUNDLES).with_context(|| {
        format!(
            "no CA bundle on this machine (looked for {}); install it with `apt-get install ca-certificates`",
            HOST_CA_BUNDLES.join(", ")
        )
    })?;
    copy(&ca, &root.join("etc/pki/tls/certs/ca-bundle.crt"), 0o644)?;
    let sh = first_existing(HOST_SHELLS).with_context(|| {
        format!(
            "no dash on this machine (looked for {}); install it with `apt-get install dash`",
            HOST_SHELLS.join(", ")
        )
    })?;
    copy(&sh, &root.join("usr/bin/sh"), 0o755)?;
    std::fs::write(
        root.join("etc/passwd"),
        format!(
            "root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:{FUNCTION_UID}:{FUNCTION_GID}::/home/sbx_user1051:/sbin/nologin\n"
        ),
    )?;
    std::fs::write(
        root.join("etc/group"),
        format!("root:x:0:\nsbx_user1051:x:{FUNCTION_GID}:\n"),
    )?;
    std::fs::write(
        root.join("etc/hosts"),
        "127.0.0.1   localhost localhost.localdomain\n::1         localhost localhost.localdomain\n",
    )?;
    for d in DEVICES {
        std::fs::write(root.join("dev").join(d), "")?;
    }
    Ok(())
}

fn find_host_library(name: &str) -> Option<PathBuf> {
    HOST_LIB_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Copies the file a path resolves to (never the link itself).
fn copy(src: &Path, dest: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(src, dest)
        .with_context(|| format!("cannot copy {} to {}", src.display(), dest.display()))?;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Every path in the root, relative, sorted: what the jail test and the
/// docs check against.
pub fn list(root: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let ty = e.file_type()?;
            out.push(rel);
            if ty.is_dir() && !ty.is_symlink() {
                walk(root, &p, out)?;
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}
