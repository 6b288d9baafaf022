//! The handler package: `bootstrap` plus the runtime payload (Chromium,
//! ffmpeg, fonts) zipped for Lambda's `provided.al2023` runtime.
//!
//! The ZIP is deterministic (sorted entries, fixed timestamps and modes, one
//! compression level) so its SHA-256 names its content: the staging key is
//! `handlers/<sha256>.zip`, an unchanged build is never uploaded twice, and
//! an unchanged template + package gives CloudFormation nothing to update.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use object::read::elf::ElfFile64;
use object::{Architecture, Endianness, FileKind, Object, ReadCache, ReadRef};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Lambda's limit on the unzipped deployment package (function code plus
/// layers), in bytes: 250 MiB.
pub const LAMBDA_UNZIPPED_LIMIT: u64 = 262_144_000;

/// The Rust target Lambda's x86_64 `provided.al2023` runtime executes.
pub const LAMBDA_TARGET: &str = "x86_64-unknown-linux-gnu";

/// One file going into the package.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path inside the ZIP (`/`-separated), i.e. relative to `/var/task`.
    pub name: String,
    pub source: PathBuf,
    pub size: u64,
    pub executable: bool,
}

/// A built package: where the ZIP is and what it holds.
#[derive(Debug, Clone)]
pub struct Package {
    pub zip_path: PathBuf,
    pub sha256: String,
    pub zipped_bytes: u64,
    pub unzipped_bytes: u64,
    pub files: usize,
}

impl Package {
    /// Content-addressed S3 key: equal bytes, equal key.
    pub fn s3_key(&self) -> String {
        format!("handlers/{}.zip", self.sha256)
    }
}

/// Where `bootstrap` comes from.
#[derive(Debug, Clone)]
pub enum Bootstrap {
    /// A binary built elsewhere (CI artifact, cross build, test fixture).
    Prebuilt(PathBuf),
    /// `cargo build --release --target x86_64-unknown-linux-gnu` of the
    /// handler crate in `workspace`, into `target_dir`.
    Build {
        workspace: PathBuf,
        target_dir: PathBuf,
    },
}

/// Builds (or takes) `bootstrap`, collects the runtime payload, checks the
/// size limit and writes the ZIP to `out`.
pub fn package(bootstrap: &Bootstrap, runtime_dir: Option<&Path>, out: &Path) -> Result<Package> {
    let bootstrap_path = match bootstrap {
        Bootstrap::Prebuilt(p) => p.clone(),
        Bootstrap::Build {
            workspace,
            target_dir,
        } => build_bootstrap(workspace, target_dir)?,
    };
    let mut entries = vec![entry_for_bootstrap(&bootstrap_path)?];
    if let Some(dir) = runtime_dir {
        entries.extend(collect_runtime(dir)?);
    }
    if let Some(dup) = entries.iter().skip(1).find(|e| e.name == "bootstrap") {
        bail!("the runtime directory contains its own `bootstrap` ({}); remove it, the handler binary goes there", dup.source.display());
    }
    check_limit(&entries, LAMBDA_UNZIPPED_LIMIT)?;
    check_executables(&entries)?;
    write_zip(&mut entries, out)
}

/// Runs cargo for the handler's `bootstrap` and returns the binary's path.
pub fn build_bootstrap(workspace: &Path, target_dir: &Path) -> Result<PathBuf> {
    if !workspace.join("handler").join("Cargo.toml").is_file() {
        bail!(
            "cannot build the handler: {} is not the hyperframes workspace (no handler/Cargo.toml). \
             Run deploy from the checkout, or pass --bootstrap PATH to a prebuilt x86_64 Linux binary.",
            workspace.display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building the handler: cargo build --release -p hyperframes-handler --bin bootstrap --target {LAMBDA_TARGET}");
    let status = Command::new(&cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "-p",
            "hyperframes-handler",
            "--bin",
            "bootstrap",
            "--target",
            LAMBDA_TARGET,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    if !status.success() {
        bail!(
            "building the handler failed ({status}); see cargo's output above. If the target is missing, \
             run `rustup target add {LAMBDA_TARGET}`, or pass --bootstrap PATH to a prebuilt binary."
        );
    }
    let path = target_dir
        .join(LAMBDA_TARGET)
        .join("release")
        .join("bootstrap");
    if !path.is_file() {
        bail!("cargo succeeded but {} does not exist", path.display());
    }
    Ok(path)
}

fn entry_for_bootstrap(path: &Path) -> Result<Entry> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the bootstrap binary {}", path.display()))?;
    if !meta.is_file() {
        bail!("bootstrap {} is not a file", path.display());
    }
    match elf_machine(path)? {
        Some(ElfKind::X86_64) => {}
        Some(ElfKind::Other(what)) => bail!(
            "{} is {what}, but Lambda's x86_64 runtime needs an ELF64 x86-64 binary; build with --target {LAMBDA_TARGET}",
            path.display()
        ),
        None => bail!(
            "{} is not a Linux executable (no ELF header); Lambda's provided.al2023 runtime runs `bootstrap` directly. \
             Build it with --target {LAMBDA_TARGET}.",
            path.display()
        ),
    }
    if let Some(minor) = max_glibc_minor(path)? {
        if minor > AL2023_GLIBC_MINOR {
            bail!(
                "{} needs GLIBC_2.{minor}, but Lambda's provided.al2023 has glibc 2.{AL2023_GLIBC_MINOR}: \
                 it would fail to start there. Build it on an older glibc, pin the glibc version \
                 (`cargo zigbuild --target {LAMBDA_TARGET}.2.34`, from PyPI cargo-zigbuild + ziglang), \
                 or build for x86_64-unknown-linux-musl.",
                path.display()
            );
        }
    }
    Ok(Entry {
        name: "bootstrap".into(),
        source: path.to_path_buf(),
        size: meta.len(),
        executable: true,
    })
}

/// glibc minor version of Amazon Linux 2023 (glibc 2.34).
pub const AL2023_GLIBC_MINOR: u32 = 34;

/// The newest `GLIBC_2.N` symbol version a dynamically linked binary asks
/// for: a binary built on a newer distribution than the Lambda runtime
/// links and then dies at start with "GLIBC_2.N not found". `None` for a
/// static binary or a file that is not ELF.
pub fn max_glibc_minor(path: &Path) -> Result<Option<u32>> {
    Ok(needed_versions(path)?
        .iter()
        .filter_map(|v| v.strip_prefix("GLIBC_2."))
        .filter_map(|rest| rest.split('.').next()?.parse::<u32>().ok())
        .max())
}

/// The symbol versions an ELF64 file needs from its shared libraries: the
/// names in its `SHT_GNU_verneed` section (what the dynamic loader checks),
/// read from the section headers rather than by scanning for strings, which
/// would also match text the program merely contains. Reads only the parts
/// of the file it needs, so it is cheap on a 200 MB Chromium.
pub fn needed_versions(path: &Path) -> Result<Vec<String>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let data = ReadCache::new(file);
    if FileKind::parse(&data).ok() != Some(FileKind::Elf64) {
        return Ok(Vec::new());
    }
    let bad =
        |e: object::Error| anyhow!("{} has a malformed ELF section table: {e}", path.display());
    let elf = ElfFile64::<Endianness, _>::parse(&data).map_err(bad)?;
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let mut out = Vec::new();
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, &data).map_err(bad)? {
        let strings = sections.strings(endian, &data, link).map_err(bad)?;
        while let Some((_, mut aux)) = needs.next().map_err(bad)? {
            while let Some(v) = aux.next().map_err(bad)? {
                let name = v.name(endian, strings).map_err(bad)?;
                out.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Walks the runtime directory; its layout is `/var/task`'s (e.g.
/// `bin/ffmpeg`, `chromium/...`). Symlinks are followed so the package
/// holds real files wherever the payload was assembled.
pub fn collect_runtime(dir: &Path) -> Result<Vec<Entry>> {
    if !dir.is_dir() {
        bail!("--runtime-dir {} is not a directory", dir.display());
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?;
        for item in rd {
            let item = item.with_context(|| format!("cannot list {}", d.display()))?;
            let path = item.path();
            let meta = std::fs::metadata(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(dir).expect("walked under dir");
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .with_context(|| format!("{} is not valid UTF-8; rename it", path.display()))?
                .join("/");
            out.push(Entry {
                name,
                size: meta.len(),
                executable: is_executable(&meta),
                source: path,
            });
        }
    }
    Ok(out)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Refuses a package over Lambda's unzipped limit before anything is
/// zipped or uploaded, naming the largest files (what to trim first).
pub fn check_limit(entries: &[Entry], limit: u64) -> Result<()> {
    let total: u64 = entries.iter().map(|e| e.size).sum();
    if total <= limit {
        return Ok(());
    }
    let mut largest: Vec<&Entry> = entries.iter().collect();
    largest.sort_by(|a, b| b.size.cmp(&a.size).then(a.name.cmp(&b.name)));
    let list: Vec<String> = largest
        .iter()
        .take(5)
        .map(|e| format!("  {:>10}  {}", human_bytes(e.size), e.name))
        .collect();
    bail!(
        "the handler package is {} unzipped ({total} bytes), over Lambda's limit of {} ({limit} bytes) by {}.\n\
         Largest files:\n{}\n\
         Trim the runtime directory (e.g. a brotli-compressed Chromium, a static ffmpeg without ffplay).",
        human_bytes(total),
        human_bytes(limit),
        human_bytes(total - limit),
        list.join("\n")
    )
}

/// Catches the macOS/arm64 mistake (hyperframes#1057): a Mach-O or aarch64
/// ffmpeg in the payload only fails at run time with "cannot execute".
fn check_executables(entries: &[Entry]) -> Result<()> {
    let mut wrong = Vec::new();
    for e in entries.iter().skip(1) {
        if let Some(ElfKind::Other(what)) = elf_machine(&e.source)? {
            wrong.push(format!("  {} ({what})", e.name));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        bail!(
            "these runtime files are not x86-64 Linux binaries and would not run on Lambda:\n{}",
            wrong.join("\n")
        )
    }
}

enum ElfKind {
    X86_64,
    Other(String),
}

/// What kind of binary a file is: `None` for a non-executable format (a
/// script, a font), so only real foreign binaries are refused.
fn elf_machine(path: &Path) -> Result<Option<ElfKind>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let data = ReadCache::new(file);
    let kind = match FileKind::parse(&data) {
        Ok(k) => k,
        // Too short to parse: the magic number still tells a binary.
        Err(_) => {
            return Ok(match data.read_bytes_at(0, 4).unwrap_or_default() {
                b"\x7fELF" => Some(ElfKind::Other("a truncated ELF file".into())),
                [0xcf, 0xfa, 0xed, 0xfe] | [0xca, 0xfe, 0xba, 0xbe] => {
                    Some(ElfKind::Other("a macOS (Mach-O) binary".into()))
                }
                _ => None,
            });
        }
    };
    Ok(match kind {
        FileKind::Elf64 => Some(match object::File::parse(&data).map(|f| f.architecture()) {
            Ok(Architecture::X86_64) => ElfKind::X86_64,
            Ok(Architecture::Aarch64) => ElfKind::Other("an aarch64 ELF binary".into()),
            Ok(a) => ElfKind::Other(format!("an ELF binary for {a:?}")),
            Err(_) => ElfKind::Other("a truncated ELF file".into()),
        }),
        FileKind::Elf32 => Some(ElfKind::Other("a 32-bit ELF binary".into())),
        FileKind::MachO32 | FileKind::MachO64 | FileKind::MachOFat32 | FileKind::MachOFat64 => {
            Some(ElfKind::Other("a macOS (Mach-O) binary".into()))
        }
        _ => None,
    })
}

/// Writes entries in name order with the DOS epoch as every timestamp and
/// modes reduced to 0755/0644, hashing the ZIP as it is written.
pub fn write_zip(entries: &mut [Entry], out: &Path) -> Result<Package> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // Written beside `out` and renamed, so a reader never sees half a ZIP;
    // removed if anything fails on the way.
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".hyperframes-zip-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write a ZIP in {}", dir.display()))?;
    let mut zip = ZipWriter::new(BufWriter::new(tmp.as_file()));
    let epoch = DateTime::default();
    let mut unzipped = 0;
    let mut buf = vec![0u8; 1 << 16];
    for e in entries.iter() {
        // Brotli payloads do not deflate; storing them saves time both
        // here and in Lambda's unzip.
        let stored = e.name.ends_with(".br");
        let options = SimpleFileOptions::default()
            .compression_method(if stored {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            })
            .compression_level(if stored { None } else { Some(6) })
            .last_modified_time(epoch)
            .unix_permissions(if e.executable { 0o755 } else { 0o644 })
            .large_file(e.size >= u32::MAX as u64);
        zip.start_file(e.name.as_str(), options)
            .with_context(|| format!("cannot add {} to the ZIP", e.name))?;
        let mut src = BufReader::new(
            File::open(&e.source).with_context(|| format!("cannot open {}", e.source.display()))?,
        );
        loop {
            let k = src
                .read(&mut buf)
                .with_context(|| format!("cannot read {}", e.source.display()))?;
            if k == 0 {
                break;
            }
            zip.write_all(&buf[..k]).context("cannot write the ZIP")?;
            unzipped += k as u64;
        }
    }
    let mut inner = zip.finish().context("cannot finish the ZIP")?;
    inner.flush().context("cannot write the ZIP")?;
    drop(inner);
    tmp.persist(out)
        .with_context(|| format!("cannot move the ZIP to {}", out.display()))?;
    let (sha256, zipped) = sha256_file(out)?;
    Ok(Package {
        zip_path: out.to_path_buf(),
        sha256,
        zipped_bytes: zipped,
        unzipped_bytes: unzipped,
        files: entries.len(),
    })
}

/// Hex SHA-256 (the producer's streamed digest) and length of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let sha = hyperframes_producer::plan::digest::sha256_file(path).map_err(|e| anyhow!("{e}"))?;
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    Ok((sha, len))
}

pub use hyperframes_producer::plan::digest::hex;

/// Binary units, one decimal: what `du -h` users expect.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: u64) -> Entry {
        Entry {
            name: name.into(),
            source: PathBuf::from(name),
            size,
            executable: false,
        }
    }

    #[test]
    fn limit_error_names_the_largest_files_first() {
        let entries = vec![
            entry("bootstrap", 10),
            entry("bin/ffmpeg", 200),
            entry("chromium/chrome", 300),
            entry("fonts/a.ttf", 1),
        ];
        assert!(check_limit(&entries, 1000).is_ok());
        let msg = check_limit(&entries, 400).unwrap_err().to_string();
        let chrome = msg.find("chromium/chrome").unwrap();
        let ffmpeg = msg.find("bin/ffmpeg").unwrap();
        assert!(chrome < ffmpeg, "{msg}");
        assert!(msg.contains("over Lambda's limit"), "{msg}");
    }

    #[test]
    fn glibc_versions_come_from_the_verneed_section() {
        // A real dynamically linked program of this machine.
        let sh = Path::new("/bin/sh");
        let versions = needed_versions(sh).unwrap();
        assert!(
            versions.iter().any(|v| v.starts_with("GLIBC_2.")),
            "{versions:?}"
        );
        assert!(max_glibc_minor(sh).unwrap().is_some());
        // Text that merely contains a version string is not a requirement.
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("not-a-program");
        std::fs::write(&p, b"\x7fELF..GLIBC_2.99\0").unwrap();
        assert_eq!(max_glibc_minor(&p).unwrap(), None);
        std::fs::write(&p, b"static binary").unwrap();
        assert_eq!(max_glibc_minor(&p).unwrap(), None);
    }

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(LAMBDA_UNZIPPED_LIMIT), "250.0 MiB");
    }
}
