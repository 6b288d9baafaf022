//! The runtime payload of the handler package: Chromium from npm
//! `@sparticuz/chromium` and a static ffmpeg from PyPI `imageio-ffmpeg`, at
//! pinned versions and SHA-256s.
//!
//! They come through the ordinary package clients (`npm pack`, `pip
//! download`) or, offline, from a directory the user filled the same way.
//! Nothing is downloaded on Lambda. The payload is staged once per pin into
//! a cache directory laid out as `/var/task` (`payload/`, `licenses/`), so a
//! second `package` run only zips, and equal pins give equal bytes.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use hyperframes_handler::payload::{Component, Manifest, PayloadFile, PayloadKind, MANIFEST_PATH};
use sha2::{Digest, Sha256};

use crate::package::{hex, sha256_file};

/// One upstream package, pinned by version and archive digest.
#[derive(Debug, Clone, Copy)]
pub struct Pin {
    /// `npm` or `pip`: which client fetches it.
    pub client: Client,
    /// What the client is asked for.
    pub spec: &'static str,
    /// The archive the client writes.
    pub file: &'static str,
    pub sha256: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Npm,
    Pip,
}

/// Chromium 153 headless shell, its AL2023 libraries, SwiftShader, fonts.
pub const CHROMIUM: Pin = Pin {
    client: Client::Npm,
    spec: "@sparticuz/chromium@153.0.0",
    file: "sparticuz-chromium-153.0.0.tgz",
    sha256: "20e5656fcdcf4118ede85edfb9d6bb9cc1bbb7ffb8b75622fffbcf36a835c3c0",
};

/// A self-contained ffmpeg 9.0.2 (libx264, libx265, libvpx-vp9, prores_ks).
pub const FFMPEG: Pin = Pin {
    client: Client::Pip,
    spec: "imageio-ffmpeg==0.8.1",
    file: "imageio_ffmpeg-0.8.1-py3-none-manylinux_2_28_x86_64.whl",
    sha256: "050d6850601c3b3890bd2b28306f3b842b3daea390a561101174375a1c460bda",
};

/// The files `@sparticuz/chromium` ships in `bin/`, and where each goes in
/// the unpacked component (the layout its own `inflate` produces: the
/// binary with SwiftShader beside it, libraries and fonts below).
const CHROMIUM_FILES: [(&str, PayloadKind, &str); 4] = [
    ("chromium.br", PayloadKind::File, "chromium"),
    ("al2023.tar.br", PayloadKind::Tar, "al2023"),
    ("swiftshader.tar.br", PayloadKind::Tar, "."),
    ("fonts.tar.br", PayloadKind::Tar, "fonts"),
];

/// Brotli settings for ffmpeg: quality 5 with a 16 MiB window is 6% larger
/// than quality 9 (60 vs 57 MB) but compresses in seconds instead of
/// minutes, and decompression speed does not depend on it. Part of the
/// stage key, because other settings give other bytes.
const BROTLI_QUALITY: u32 = 5;
const BROTLI_LGWIN: u32 = 24;
/// Bumped whenever the staged layout changes.
const STAGE_FORMAT: u32 = 1;

/// Where the archives come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Fetch with npm/pip into the cache (once; later runs reuse the file).
    Fetch,
    /// Read them from this directory and never touch the network.
    Dir(PathBuf),
}

/// A staged payload: a directory to zip beside `bootstrap`.
#[derive(Debug, Clone)]
pub struct Staged {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Staged {
    /// Bytes the payload takes in `/tmp` once unpacked on Lambda.
    pub fn unpacked_bytes(&self) -> u64 {
        self.manifest
            .components
            .iter()
            .flat_map(|c| &c.files)
            .map(|f| f.unpacked_bytes)
            .sum()
    }
}

/// The default cache: `$XDG_CACHE_HOME/hyperframes/payloads` or
/// `~/.cache/hyperframes/payloads`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("hyperframes")
        .join("payloads")
}

/// Obtains, verifies and stages both packages; reuses an earlier stage.
pub fn stage(source: &Source, cache: &Path) -> Result<Staged> {
    let key = stage_key();
    let dir = cache.join(format!("staged-{key}"));
    if let Some(manifest) = load_stage(&dir) {
        return Ok(Staged { dir, manifest });
    }
    let chromium = obtain(&CHROMIUM, source, cache)?;
    let ffmpeg = obtain(&FFMPEG, source, cache)?;
    std::fs::create_dir_all(cache).with_context(|| format!("cannot create {}", cache.display()))?;
    // A private directory beside the stage, renamed into place when whole
    // and removed when anything fails.
    let staging = tempfile::Builder::new()
        .prefix(&format!("staged-{key}.tmp"))
        .tempdir_in(cache)
        .with_context(|| format!("cannot create a directory in {}", cache.display()))?;
    let tmp = staging.path();
    std::fs::create_dir_all(tmp.join("payload"))
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    std::fs::create_dir_all(tmp.join("licenses"))
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let built = (|| -> Result<Manifest> {
        let chromium_component = stage_chromium(&chromium, tmp)?;
        let ffmpeg_component = stage_ffmpeg(&ffmpeg, tmp)?;
        let manifest = Manifest {
            format: 1,
            components: vec![chromium_component, ffmpeg_component],
        };
        let mut json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        json.push(b'\n');
        std::fs::write(tmp.join(MANIFEST_PATH), json).context("cannot write the manifest")?;
        std::fs::write(tmp.join("licenses").join("README.txt"), LICENSES_README)
            .context("cannot write the licence notice")?;
        Ok(manifest)
    })();
    let manifest = built?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(staging.keep(), &dir)
        .with_context(|| format!("cannot move the staged payload to {}", dir.display()))?;
    Ok(Staged { dir, manifest })
}

fn stage_key() -> String {
    let mut h = Sha256::new();
    for p in [CHROMIUM, FFMPEG] {
        h.update(p.sha256.as_bytes());
    }
    h.update(format!("{BROTLI_QUALITY}/{BROTLI_LGWIN}/{STAGE_FORMAT}").as_bytes());
    hex(&h.finalize())[..16].to_string()
}

/// A stage is trusted only if its manifest parses and every payload file
/// still has the recorded digest (a cache can be damaged or edited).
fn load_stage(dir: &Path) -> Option<Manifest> {
    let (manifest, _) = Manifest::load(dir).ok()??;
    for f in manifest.components.iter().flat_map(|c| &c.files) {
        let (sha, _) = sha256_file(&dir.join(&f.path)).ok()?;
        if sha != f.sha256 {
            return None;
        }
    }
    dir.join("licenses")
        .join("README.txt")
        .is_file()
        .then_some(manifest)
}

/// The pinned archive, verified: from `--payload-dir`, the cache, or the
/// package client (which writes into the cache).
pub fn obtain(pin: &Pin, source: &Source, cache: &Path) -> Result<PathBuf> {
    let path = match source {
        Source::Dir(d) => {
            let p = d.join(pin.file);
            if !p.is_file() {
                bail!(
                    "{} is not in --payload-dir {}; fetch it there with `{}`",
                    pin.file,
                    d.display(),
                    fetch_hint(pin, d)
                );
            }
            p
        }
        Source::Fetch => {
            let downloads = cache.join("downloads");
            let p = downloads.join(pin.file);
            if !p.is_file() {
                std::fs::create_dir_all(&downloads)
                    .with_context(|| format!("cannot create {}", downloads.display()))?;
                fetch(pin, &downloads)?;
            }
            p
        }
    };
    let (sha, _) = sha256_file(&path)?;
    if sha != pin.sha256 {
        bail!(
            "{} has SHA-256 {sha}, but {} is pinned at {}; delete the file and fetch it again \
             (`{}`)",
            path.display(),
            pin.spec,
            pin.sha256,
            fetch_hint(pin, path.parent().unwrap_or(Path::new(".")))
        );
    }
    Ok(path)
}

fn fetch_hint(pin: &Pin, dir: &Path) -> String {
    match pin.client {
        Client::Npm => format!("npm pack --pack-destination {} {}", dir.display(), pin.spec),
        Client::Pip => format!(
            "python3 -m pip download --no-deps --only-binary :all: --platform manylinux_2_28_x86_64 \
             --python-version 3.12 -d {} {}",
            dir.display(),
            pin.spec
        ),
    }
}

fn fetch(pin: &Pin, dir: &Path) -> Result<()> {
    let (program, args): (&str, Vec<String>) = match pin.client {
        Client::Npm => (
            "npm",
            vec![
                "pack".into(),
                "--silent".into(),
                "--pack-destination".into(),
                dir.display().to_string(),
                pin.spec.into(),
            ],
        ),
        Client::Pip => (
            "python3",
            [
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--platform",
                "manylinux_2_28_x86_64",
                "--python-version",
                "3.12",
                "-d",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain([dir.display().to_string(), pin.spec.to_string()])
            .collect(),
        ),
    };
    eprintln!("fetching {} with {program}", pin.spec);
    // The client's chatter (npm prints the file name) goes to stderr:
    // standard output is the package report.
    let status = Command::new(program)
        .args(&args)
        .stdout(std::process::Stdio::from(io::stderr()))
        .status();
    let install = match pin.client {
        Client::Npm => "install Node.js and npm (e.g. `apt-get install npm`)",
        Client::Pip => "install Python 3 with pip (e.g. `apt-get install python3-pip`)",
    };
    match status {
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "`{program}` is not installed, and it fetches {}: {install}, or fetch it elsewhere and \
             pass --payload-dir DIR holding {}",
            pin.spec,
            pin.file
        ),
        Err(e) => bail!("cannot run {program}: {e}"),
        Ok(s) if !s.success() => bail!(
            "`{program}` failed ({s}) fetching {}; see its output above, or pass --payload-dir DIR \
             holding {}",
            pin.spec,
            pin.file
        ),
        Ok(_) => {}
    }
    if !dir.join(pin.file).is_file() {
        bail!(
            "{program} did not write {} into {}",
            pin.file,
            dir.display()
        );
    }
    Ok(())
}

/// Copies `@sparticuz/chromium`'s compressed files as they are (they are
/// already brotli) and its licence.
fn stage_chromium(tgz: &Path, into: &Path) -> Result<Component> {
    let mut files = Vec::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(
        File::open(tgz).with_context(|| format!("cannot open {}", tgz.display()))?,
    )));
    let mut found_license = false;
    for entry in ar
        .entries()
        .with_context(|| format!("{} is not a tar.gz", tgz.display()))?
    {
        let mut entry = entry.with_context(|| format!("cannot read {}", tgz.display()))?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name == "package/LICENSE" {
            let mut out = File::create(into.join("licenses/sparticuz-chromium.LICENSE"))?;
            io::copy(&mut entry, &mut out)?;
            found_license = true;
            continue;
        }
        let Some(base) = name.strip_prefix("package/bin/") else {
            continue;
        };
        if let Some((_, kind, to)) = CHROMIUM_FILES.iter().find(|(f, _, _)| *f == base) {
            let rel = format!("payload/{base}");
            let mut out = BufWriter::new(File::create(into.join(&rel))?);
            io::copy(&mut entry, &mut out)?;
            out.flush()?;
            drop(out);
            let (sha256, _) = sha256_file(&into.join(&rel))?;
            files.push(PayloadFile {
                unpacked_bytes: unpacked_size(&into.join(&rel), *kind)?,
                path: rel,
                sha256,
                kind: *kind,
                to: (*to).into(),
            });
        }
    }
    if files.len() != CHROMIUM_FILES.len() || !found_license {
        bail!(
            "{} lacks some of bin/{{chromium.br,al2023.tar.br,swiftshader.tar.br,fonts.tar.br}} or LICENSE; \
             is it really {}?",
            tgz.display(),
            CHROMIUM.spec
        );
    }
    files.sort_by_key(|f| {
        CHROMIUM_FILES
            .iter()
            .position(|(n, _, _)| f.path.ends_with(n))
    });
    Ok(Component {
        name: "chromium".into(),
        origin: CHROMIUM.spec.into(),
        files,
    })
}

/// Bytes a compressed payload file takes once unpacked (tar: its members).
fn unpacked_size(path: &Path, kind: PayloadKind) -> Result<u64> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let br = brotli::Decompressor::new(BufReader::new(f), 1 << 20);
    match kind {
        PayloadKind::File => {
            let mut br = br;
            io::copy(&mut br, &mut io::sink())
                .with_context(|| format!("{} is not valid brotli", path.display()))
        }
        PayloadKind::Tar => {
            let mut ar = tar::Archive::new(br);
            let mut n = 0;
            for e in ar
                .entries()
                .with_context(|| format!("{} is not a brotli tar", path.display()))?
            {
                n += e?.header().size()?;
            }
            Ok(n)
        }
    }
}

/// Takes the ffmpeg binary out of the wheel and brotli-compresses it.
fn stage_ffmpeg(wheel: &Path, into: &Path) -> Result<Component> {
    let f = File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f))
        .with_context(|| format!("{} is not a wheel (zip)", wheel.display()))?;
    let names: Vec<String> = zip.file_names().map(str::to_string).collect();
    let binary = names
        .iter()
        .find(|n| n.starts_with("imageio_ffmpeg/binaries/ffmpeg-linux-x86_64"))
        .with_context(|| format!("{} holds no linux x86_64 ffmpeg", wheel.display()))?
        .clone();
    if let Some(lic) = names.iter().find(|n| n.ends_with("/LICENSE")) {
        let mut out = File::create(into.join("licenses/imageio-ffmpeg.LICENSE"))?;
        io::copy(&mut zip.by_name(lic)?, &mut out)?;
    }
    let rel = "payload/ffmpeg.br";
    eprintln!("compressing {binary} (brotli quality {BROTLI_QUALITY}; once per pin, then cached)");
    let mut src = zip.by_name(&binary)?;
    let size = src.size();
    let out = BufWriter::new(File::create(into.join(rel))?);
    let mut w = brotli::CompressorWriter::new(out, 1 << 20, BROTLI_QUALITY, BROTLI_LGWIN);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = src.read(&mut buf)?;
        if k == 0 {
            break;
        }
        w.write_all(&buf[..k])?;
    }
    let mut out = w.into_inner();
    out.flush()?;
    drop(out);
    let (sha256, _) = sha256_file(&into.join(rel))?;
    Ok(Component {
        name: "ffmpeg".into(),
        origin: FFMPEG.spec.into(),
        files: vec![PayloadFile {
            path: rel.into(),
            sha256,
            unpacked_bytes: size,
            kind: PayloadKind::File,
            to: "ffmpeg".into(),
        }],
    })
}

/// Goes into the ZIP as `licenses/README.txt`.
const LICENSES_README: &str = "\
Third-party software in this package
====================================

payload/chromium.br, payload/swiftshader.tar.br, payload/al2023.tar.br,
payload/fonts.tar.br: from the npm package @sparticuz/chromium 153.0.0.
  - The packaging is MIT licensed (sparticuz-chromium.LICENSE).
  - Chromium (headless shell) is BSD-3-Clause, with the third-party
    components Chromium lists in its about:credits page.
  - SwiftShader and ANGLE (libvk_swiftshader.so, libEGL.so, libGLESv2.so)
    are Apache-2.0 / BSD-3-Clause; the Vulkan loader is Apache-2.0.
  - The Amazon Linux 2023 libraries (NSS, NSPR: MPL-2.0; expat: MIT).
  - Open Sans (fonts) is under the SIL Open Font License 1.1.

payload/ffmpeg.br: the ffmpeg 9.0.2 binary from the PyPI package
imageio-ffmpeg 0.8.1 (wrapper BSD-2-Clause, imageio-ffmpeg.LICENSE).
  - This ffmpeg build includes libx264 and libx265 and is therefore
    distributed under the GNU General Public License version 3 or later.
    Its source is available from ffmpeg.org and the imageio-binaries
    project that builds it; distributing this package means passing on
    that offer.

bootstrap: this project's handler (Apache-2.0), statically linking Rust
crates under MIT, Apache-2.0, BSD and ISC licences (see Cargo.lock and
`cargo metadata` in the source tree).
";

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory removed when the test ends, pass or fail.
    fn scratch(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("hf-payload-{name}-"))
            .tempdir()
            .unwrap()
    }

    #[test]
    fn a_missing_archive_says_how_to_fetch_it() {
        let tmp = scratch("missing");
        let d = tmp.path();
        let err = obtain(&CHROMIUM, &Source::Dir(d.to_path_buf()), &d.join("cache"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sparticuz-chromium-153.0.0.tgz"), "{err}");
        assert!(err.contains("npm pack --pack-destination"), "{err}");
        let err = obtain(&FFMPEG, &Source::Dir(d.to_path_buf()), &d.join("cache"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pip download --no-deps --only-binary :all:"),
            "{err}"
        );
    }

    #[test]
    fn an_archive_with_another_digest_is_refused() {
        let tmp = scratch("digest");
        let d = tmp.path();
        std::fs::write(d.join(FFMPEG.file), b"not the wheel").unwrap();
        let err = obtain(&FFMPEG, &Source::Dir(d.to_path_buf()), &d.join("cache"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is pinned at") && err.contains(FFMPEG.sha256),
            "{err}"
        );
    }
}
