//! The runtime payload inside the handler package, and its cold-start unpack.
//!
//! `provided.al2023` has no Chromium and no ffmpeg, so the package carries
//! them brotli-compressed under `payload/` (the unpacked binaries would not
//! fit Lambda's 250 MiB limit). Only `/tmp` is writable there, so each
//! execution environment unpacks them into `/tmp` once.
//!
//! The unpack must survive what Lambda does to `/tmp`: it outlives a crashed
//! or timed-out runtime process, and a restarted process (or a second one
//! sharing `/tmp`, as tests do) may arrive while another is mid-write. So a
//! component is written into a private `*.partial-<pid>` directory under an
//! exclusive `flock`, every compressed input is checked against the
//! manifest's SHA-256 as it streams, a `.complete` marker is written last,
//! and the directory is renamed into place atomically: a reader either finds
//! the finished directory or none, never a half-written binary.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::init::InitError;

/// What a deployed function whose package lacks a part (or carries a
/// damaged one) must do; said in every such error.
pub const PACKAGE_REMEDY: &str = "the function package is incomplete or damaged: \
     rebuild it and redeploy (`cargo run --bin deploy -- --stack-name <stack>` packages \
     it again; `cargo run --bin package` builds it alone)";

/// Where the manifest sits inside the package (relative to `LAMBDA_TASK_ROOT`).
pub const MANIFEST_PATH: &str = "payload/manifest.json";

/// What the package carries, written by `package` and read on cold start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub components: Vec<Component>,
}

/// A unit that is unpacked together (`chromium`, `ffmpeg`), into its own
/// directory: a `chrome-headless-shell` function never pays for Chromium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    pub name: String,
    /// The upstream package and version, for logs and licences.
    pub origin: String,
    pub files: Vec<PayloadFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadFile {
    /// Path in the package, e.g. `payload/chromium.br`.
    pub path: String,
    /// SHA-256 of the compressed file as packaged.
    pub sha256: String,
    /// Bytes once decompressed (what `/tmp` must hold).
    pub unpacked_bytes: u64,
    pub kind: PayloadKind,
    /// Destination inside the component directory: a file path for `file`,
    /// a directory (`.` for the component root) for `tar`.
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadKind {
    /// One brotli-compressed executable.
    File,
    /// A brotli-compressed tar archive.
    Tar,
}

impl Manifest {
    /// The package's manifest and its digest (which names the unpack
    /// directory), or `None` when the package has none. What a missing
    /// manifest means is the caller's to say (see [`crate::Host`]).
    pub fn load(task_root: &Path) -> Result<Option<(Manifest, String)>, InitError> {
        let path = task_root.join(MANIFEST_PATH);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(InitError::ManifestUnreadable {
                    path,
                    why: e.to_string(),
                })
            }
        };
        let m: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| InitError::ManifestMalformed {
                path: path.clone(),
                why: e.to_string(),
            })?;
        if m.format != 1 {
            return Err(InitError::ManifestFormat {
                path,
                found: m.format,
            });
        }
        Ok(Some((m, hex(&Sha256::digest(&bytes))[..16].to_string())))
    }

    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

/// The result of [`unpack`]: where the component is and what it cost.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub dir: PathBuf,
    /// False when a finished directory from an earlier process was reused.
    pub unpacked: bool,
    pub millis: u128,
    pub bytes: u64,
}

/// Makes `component` available under `cache_root/<digest>/<name>` and
/// returns that directory. `finish` runs on the private directory before it
/// is published (e.g. to write a config file that names final paths).
pub fn unpack(
    task_root: &Path,
    component: &Component,
    digest: &str,
    cache_root: &Path,
    finish: &dyn Fn(&Path, &Path) -> io::Result<()>,
) -> Result<Unpacked, String> {
    let t0 = Instant::now();
    let base = cache_root.join(digest);
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    let dir = base.join(&component.name);
    let lock_path = base.join(format!("{}.lock", component.name));
    let _lock = Lock::exclusive(&lock_path)?;
    if is_complete(&dir, digest) {
        return Ok(Unpacked {
            dir,
            unpacked: false,
            millis: t0.elapsed().as_millis(),
            bytes: 0,
        });
    }
    // Leftovers of a process that died mid-unpack (we hold the lock, so no
    // one else is writing them) and a directory without its marker.
    remove_leftovers(&base, &component.name);
    let _ = std::fs::remove_dir_all(&dir);
    let partial = base.join(format!("{}.partial-{}", component.name, std::process::id()));
    std::fs::create_dir_all(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let result = (|| {
        let mut bytes = 0;
        for f in &component.files {
            bytes += unpack_file(task_root, f, &partial)?;
        }
        finish(&partial, &dir).map_err(|e| format!("cannot finish {}: {e}", component.name))?;
        std::fs::write(partial.join(".complete"), digest)
            .map_err(|e| format!("cannot write the completion marker: {e}"))?;
        std::fs::rename(&partial, &dir).map_err(|e| {
            format!(
                "cannot move {} to {}: {e}",
                partial.display(),
                dir.display()
            )
        })?;
        Ok(bytes)
    })();
    match result {
        Ok(bytes) => Ok(Unpacked {
            dir,
            unpacked: true,
            millis: t0.elapsed().as_millis(),
            bytes,
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

fn is_complete(dir: &Path, digest: &str) -> bool {
    std::fs::read_to_string(dir.join(".complete")).is_ok_and(|s| s == digest)
}

fn remove_leftovers(base: &Path, name: &str) {
    let prefix = format!("{name}.partial-");
    if let Ok(rd) = std::fs::read_dir(base) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Decompresses one payload file into `into`, hashing the compressed bytes
/// as they are read; a mismatch fails the unpack. Returns bytes written.
fn unpack_file(task_root: &Path, f: &PayloadFile, into: &Path) -> Result<u64, String> {
    let src = task_root.join(&f.path);
    let file = File::open(&src).map_err(|e| {
        format!(
            "the package lacks {} ({e}); {PACKAGE_REMEDY}",
            src.display()
        )
    })?;
    let mut hashed = HashingReader {
        inner: io::BufReader::with_capacity(1 << 20, file),
        hash: Sha256::new(),
    };
    let written = {
        let mut br = brotli_decompressor::Decompressor::new(&mut hashed, 1 << 20);
        let fail = |e: io::Error| format!("cannot unpack {}: {e}", f.path);
        match f.kind {
            PayloadKind::File => {
                let dest = safe_join(into, &f.to)?;
                if let Some(p) = dest.parent() {
                    std::fs::create_dir_all(p).map_err(fail)?;
                }
                let mut out =
                    io::BufWriter::with_capacity(1 << 20, create_executable(&dest).map_err(fail)?);
                let n = io::copy(&mut br, &mut out).map_err(fail)?;
                out.flush().map_err(fail)?;
                n
            }
            PayloadKind::Tar => {
                let dest = safe_join(into, &f.to)?;
                std::fs::create_dir_all(&dest).map_err(fail)?;
                let mut counted = CountingReader { inner: br, n: 0 };
                let mut ar = tar::Archive::new(&mut counted);
                ar.set_preserve_mtime(false);
                for entry in ar.entries().map_err(fail)? {
                    let mut entry = entry.map_err(fail)?;
                    // unpack_in refuses absolute paths and `..`.
                    entry.unpack_in(&dest).map_err(fail)?;
                }
                counted.n
            }
        }
    };
    io::copy(&mut hashed, &mut io::sink()).map_err(|e| format!("cannot read {}: {e}", f.path))?;
    let got = hex(&hashed.hash.finalize());
    if got != f.sha256 {
        return Err(format!(
            "{} has SHA-256 {got}, the manifest says {}: {PACKAGE_REMEDY}",
            f.path, f.sha256
        ));
    }
    Ok(written)
}

fn safe_join(base: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("payload destination {rel:?} leaves its directory"));
    }
    Ok(base.join(p))
}

#[cfg(unix)]
fn create_executable(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(path)
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

struct CountingReader<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// An exclusive `flock` held until drop: processes sharing `/tmp` take
/// turns, and the kernel releases it if the holder dies.
struct Lock(File);

impl Lock {
    fn exclusive(path: &Path) -> Result<Lock, String> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open the lock {}: {e}", path.display()))?;
        loop {
            // SAFETY: flock on a descriptor we own.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(Lock(f));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking our own descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

pub use hyperframes_producer::plan::digest::hex;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Stored (uncompressed) meta-blocks are valid brotli: enough to test
    /// the unpacker without a compressor in this crate.
    fn brotli(bytes: &[u8]) -> Vec<u8> {
        stored_brotli(bytes)
    }

    /// A brotli stream of uncompressed meta-blocks (RFC 7932 §9.2).
    fn stored_brotli(data: &[u8]) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(0, 1); // WBITS = 16
        for chunk in data.chunks(65536) {
            w.bits(0, 1); // ISLAST = 0
            w.bits(0, 2); // MNIBBLES = 4
            w.bits((chunk.len() - 1) as u64, 16);
            w.bits(1, 1); // ISUNCOMPRESSED
            w.align();
            w.bytes.extend_from_slice(chunk);
        }
        w.bits(1, 1); // ISLAST
        w.bits(1, 1); // ISLASTEMPTY
        w.align();
        w.bytes
    }

    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        acc: u64,
        n: u32,
    }

    impl BitWriter {
        fn bits(&mut self, v: u64, n: u32) {
            self.acc |= v << self.n;
            self.n += n;
            while self.n >= 8 {
                self.bytes.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        fn align(&mut self) {
            if self.n > 0 {
                self.bytes.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// A package root with a `tool` component: one executable and a tar.
    fn package(root: &Path, exe: &[u8]) -> Component {
        std::fs::create_dir_all(root.join("payload")).unwrap();
        let exe_br = brotli(exe);
        let tar_br = brotli(&tar_of(&[("lib/a.so", b"library"), ("conf.txt", b"x=1")]));
        std::fs::write(root.join("payload/tool.br"), &exe_br).unwrap();
        std::fs::write(root.join("payload/lib.tar.br"), &tar_br).unwrap();
        Component {
            name: "tool".into(),
            origin: "test".into(),
            files: vec![
                PayloadFile {
                    path: "payload/tool.br".into(),
                    sha256: hex(&Sha256::digest(&exe_br)),
                    unpacked_bytes: exe.len() as u64,
                    kind: PayloadKind::File,
                    to: "bin/tool".into(),
                },
                PayloadFile {
                    path: "payload/lib.tar.br".into(),
                    sha256: hex(&Sha256::digest(&tar_br)),
                    unpacked_bytes: 0,
                    kind: PayloadKind::Tar,
                    to: ".".into(),
                },
            ],
        }
    }

    fn no_finish(_: &Path, _: &Path) -> io::Result<()> {
        Ok(())
    }

    #[test]
    fn unpacks_once_and_reuses_the_finished_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let exe: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let c = package(&d.join("task"), &exe);
        let first = unpack(&d.join("task"), &c, "abc", &d.join("tmp"), &no_finish).unwrap();
        assert!(first.unpacked);
        assert_eq!(std::fs::read(first.dir.join("bin/tool")).unwrap(), exe);
        assert_eq!(
            std::fs::read(first.dir.join("lib/a.so")).unwrap(),
            b"library"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(first.dir.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "the binary is executable");
        let again = unpack(&d.join("task"), &c, "abc", &d.join("tmp"), &no_finish).unwrap();
        assert!(!again.unpacked);
        assert_eq!(again.dir, first.dir);
    }

    #[test]
    fn concurrent_unpacks_publish_one_complete_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let exe: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let c = Arc::new(package(&d.join("task"), &exe));
        let d = Arc::new(d.to_path_buf());
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (c, d, exe) = (c.clone(), d.clone(), exe.clone());
                std::thread::spawn(move || {
                    let u = unpack(&d.join("task"), &c, "abc", &d.join("tmp"), &no_finish).unwrap();
                    // Whoever returns sees the whole binary, never a prefix.
                    assert_eq!(std::fs::read(u.dir.join("bin/tool")).unwrap(), exe);
                    u.unpacked
                })
            })
            .collect();
        let unpacked: Vec<bool> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(unpacked.iter().filter(|u| **u).count(), 1, "{unpacked:?}");
        let names: Vec<String> = std::fs::read_dir(d.join("tmp/abc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
    }

    #[test]
    fn a_damaged_payload_is_refused_and_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let c = package(&d.join("task"), b"binary");
        let mut bytes = std::fs::read(d.join("task/payload/tool.br")).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x01; // inside the stored data: still valid brotli
        std::fs::write(d.join("task/payload/tool.br"), bytes).unwrap();
        let err = unpack(&d.join("task"), &c, "abc", &d.join("tmp"), &no_finish).unwrap_err();
        assert!(err.contains("SHA-256") && err.contains("damaged"), "{err}");
        assert!(!d.join("tmp/abc/tool").exists());
        assert_eq!(
            std::fs::read_dir(d.join("tmp/abc")).unwrap().count(),
            1,
            "only the lock file"
        );
    }

    #[test]
    fn a_half_written_leftover_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let c = package(&d.join("task"), b"binary");
        let stale = d.join("tmp/abc/tool.partial-999999");
        std::fs::create_dir_all(stale.join("bin")).unwrap();
        std::fs::write(stale.join("bin/tool"), b"bin").unwrap();
        // A directory without the marker is not trusted either.
        std::fs::create_dir_all(d.join("tmp/abc/tool/bin")).unwrap();
        std::fs::write(d.join("tmp/abc/tool/bin/tool"), b"bi").unwrap();
        let u = unpack(&d.join("task"), &c, "abc", &d.join("tmp"), &no_finish).unwrap();
        assert!(u.unpacked);
        assert_eq!(std::fs::read(u.dir.join("bin/tool")).unwrap(), b"binary");
        assert!(!stale.exists());
    }
}
