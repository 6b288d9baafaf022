//! `.tar.gz` in and out. Extraction treats the archive as hostile: a
//! project archive comes from whoever can start an execution, and `/tmp`
//! is shared by every invocation of a warm container.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use hyperframes_producer::plan::tarball;
use tar::EntryType;

use crate::error::HandlerError;

/// Extraction caps: Lambda's `/tmp` is at most 10 GiB and also holds the
/// plan and the rendered chunks.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 << 30,
            max_entries: 200_000,
        }
    }
}

fn refuse(archive: &Path, msg: String) -> HandlerError {
    HandlerError::invalid_event(format!("{}: {msg}", archive.display()))
}

/// A relative path that stays inside the target: no root, no `..`.
fn safe_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Whether a symlink at `entry` pointing to `target` stays inside the root,
/// read as text (chains through other links are checked once they exist).
fn link_stays_inside(entry: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    // Relative to the link's own directory.
    let mut depth: i64 = entry.parent().map_or(0, |p| p.components().count() as i64);
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::CurDir => {}
            _ => return false,
        }
    }
    true
}

/// Extracts `archive` into `dest` (created, and emptied first if it
/// exists). Refuses absolute paths, `..`, links leaving `dest`, device
/// files, and archives over the limits; on refusal `dest` is removed, so a
/// half-extracted tree is never used.
pub fn extract_tar_gz(archive: &Path, dest: &Path, limits: Limits) -> Result<u64, HandlerError> {
    if dest.exists() {
        fs::remove_dir_all(dest).map_err(|e| HandlerError::io("cannot clear", dest, e))?;
    }
    fs::create_dir_all(dest).map_err(|e| HandlerError::io("cannot create", dest, e))?;
    let result = extract_inner(archive, dest, limits);
    if result.is_err() {
        let _ = fs::remove_dir_all(dest);
    }
    result
}

fn extract_inner(archive: &Path, dest: &Path, limits: Limits) -> Result<u64, HandlerError> {
    let file = File::open(archive).map_err(|e| HandlerError::io("cannot open", archive, e))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    let mut x = Extraction {
        archive,
        dest,
        limits,
        total: 0,
        count: 0,
        symlinks: Vec::new(),
    };
    let entries = tar
        .entries()
        .map_err(|e| refuse(archive, format!("not a readable .tar.gz: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| refuse(archive, format!("corrupt archive: {e}")))?;
        x.entry(entry)?;
    }
    x.create_symlinks()?;
    x.check_symlinks()?;
    Ok(x.total)
}

/// One extraction in progress: the caps so far, and the symlinks held
/// back until every file and directory exists.
struct Extraction<'a> {
    archive: &'a Path,
    dest: &'a Path,
    limits: Limits,
    total: u64,
    count: u64,
    symlinks: Vec<(PathBuf, PathBuf)>,
}

type Entry<'e> = tar::Entry<'e, GzDecoder<File>>;

impl Extraction<'_> {
    fn refuse(&self, why: String) -> HandlerError {
        refuse(self.archive, why)
    }

    fn entry(&mut self, mut entry: Entry<'_>) -> Result<(), HandlerError> {
        self.count += 1;
        if self.count > self.limits.max_entries {
            return Err(self.refuse(format!(
                "more than {} entries; refusing to extract (decompression bomb?)",
                self.limits.max_entries
            )));
        }
        let raw = entry
            .path()
            .map_err(|e| self.refuse(format!("unreadable entry name: {e}")))?
            .into_owned();
        let rel = safe_relative(&raw).ok_or_else(|| {
            self.refuse(format!("entry `{}` is absolute or contains `..`; archives must hold relative paths inside the project", raw.display()))
        })?;
        if rel.as_os_str().is_empty() {
            return Ok(());
        }
        let target = self.dest.join(&rel);
        match entry.header().entry_type() {
            EntryType::Directory => fs::create_dir_all(&target)
                .map_err(|e| HandlerError::io("cannot create", &target, e)),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.write_file(&mut entry, &rel, &target)
            }
            EntryType::Link => self.hard_link(&mut entry, &rel, &target),
            EntryType::Symlink => {
                // Created after every file and directory, so no write can go
                // through a link, then checked where they really lead
                // (chains included).
                let link = link_name(&mut entry, self.archive, &rel)?;
                if !link_stays_inside(&rel, &link) {
                    return Err(self.outside(&rel, &link, "points outside the project"));
                }
                self.symlinks.push((rel, link));
                Ok(())
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => Ok(()),
            other => Err(self.refuse(format!(
                "entry `{}` is a {other:?}; only files, directories and links are allowed",
                rel.display()
            ))),
        }
    }

    fn outside(&self, rel: &Path, link: &Path, what: &str) -> HandlerError {
        self.refuse(format!(
            "link `{}` -> `{}` {what}",
            rel.display(),
            link.display()
        ))
    }

    fn write_file(
        &mut self,
        entry: &mut Entry<'_>,
        rel: &Path,
        target: &Path,
    ) -> Result<(), HandlerError> {
        let size = entry.header().size().unwrap_or(0);
        self.total += size;
        if self.total > self.limits.max_bytes {
            return Err(self.refuse(format!(
                "unpacks to more than {} bytes; refusing to fill /tmp",
                self.limits.max_bytes
            )));
        }
        create_parent(target)?;
        let mut out =
            File::create(target).map_err(|e| HandlerError::io("cannot create", target, e))?;
        // Copy at most the declared size: a lying header cannot overrun the cap.
        let copied = io::copy(&mut (&mut *entry).take(size), &mut out)
            .map_err(|e| HandlerError::io("cannot write", target, e))?;
        if copied != size {
            return Err(self.refuse(format!("entry `{}` is truncated", rel.display())));
        }
        Ok(())
    }

    /// Hard links: to a file already extracted, by a plain relative path.
    /// No symlink exists on disk yet, so the path cannot be redirected.
    fn hard_link(
        &mut self,
        entry: &mut Entry<'_>,
        rel: &Path,
        target: &Path,
    ) -> Result<(), HandlerError> {
        let link = link_name(entry, self.archive, rel)?;
        let source = safe_relative(&link)
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| self.outside(rel, &link, "points outside the project"))?;
        let is_file = self
            .dest
            .join(&source)
            .symlink_metadata()
            .is_ok_and(|m| m.is_file());
        if !is_file {
            return Err(self.refuse(format!(
                "hard link `{}` -> `{}` names no file extracted before it",
                rel.display(),
                link.display()
            )));
        }
        create_parent(target)?;
        fs::hard_link(self.dest.join(&source), target)
            .map_err(|e| HandlerError::io("cannot link", target, e))
    }

    fn create_symlinks(&self) -> Result<(), HandlerError> {
        for (rel, link) in &self.symlinks {
            let target = self.dest.join(rel);
            create_parent(&target)?;
            std::os::unix::fs::symlink(link, &target).map_err(|e| {
                self.refuse(format!(
                    "cannot create link `{}`: {e} (an entry of that name already exists?)",
                    rel.display()
                ))
            })?;
        }
        Ok(())
    }

    /// Every link, followed to the end of its chain, lands inside `dest`.
    fn check_symlinks(&self) -> Result<(), HandlerError> {
        let root = fs::canonicalize(self.dest)
            .map_err(|e| HandlerError::io("cannot resolve", self.dest, e))?;
        for (rel, link) in &self.symlinks {
            let resolved = fs::canonicalize(self.dest.join(rel));
            if !resolved.as_ref().is_ok_and(|r| r.starts_with(&root)) {
                return Err(self.outside(rel, link, "resolves outside the project (or nowhere)"));
            }
        }
        Ok(())
    }
}

fn create_parent(target: &Path) -> Result<(), HandlerError> {
    match target.parent() {
        Some(parent) => {
            fs::create_dir_all(parent).map_err(|e| HandlerError::io("cannot create", parent, e))
        }
        None => Ok(()),
    }
}

fn link_name(entry: &mut Entry<'_>, archive: &Path, rel: &Path) -> Result<PathBuf, HandlerError> {
    Ok(entry
        .link_name()
        .map_err(|e| refuse(archive, format!("unreadable link: {e}")))?
        .ok_or_else(|| refuse(archive, format!("link `{}` has no target", rel.display())))?
        .into_owned())
}

/// Packs `dir` into a `.tar.gz` through the producer's deterministic
/// writer ([`hyperframes_producer::plan::tarball`]): the same tree gives the same
/// bytes (and the same SHA-256) on every worker.
pub fn create_tar_gz(dir: &Path, archive: &Path) -> Result<(), HandlerError> {
    create_tar_gz_filtered(dir, archive, &|_| true)
}

/// [`create_tar_gz`] of the entries `keep` accepts (relative paths; a
/// rejected directory is skipped with everything under it).
pub fn create_tar_gz_filtered(
    dir: &Path,
    archive: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<(), HandlerError> {
    Ok(tarball::write_tar_gz(dir, archive, keep)?)
}

/// The entries under `root/rel` that `keep` accepts, in archive order.
pub fn collect(
    root: &Path,
    rel: &Path,
    keep: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), HandlerError> {
    Ok(tarball::collect(root, rel, keep, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use tar::Header;

    /// Builds a .tar.gz with raw headers, bypassing the tar crate's own
    /// path checks, the way a hostile archive would be made.
    fn hostile(path: &Path, entries: &[(&str, EntryType, &[u8], Option<&str>)]) {
        let mut b = tar::Builder::new(GzEncoder::new(
            File::create(path).unwrap(),
            Compression::fast(),
        ));
        for (name, kind, data, link) in entries {
            let mut h = Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            {
                let gnu = h.as_gnu_mut().unwrap();
                gnu.name[..name.len()].copy_from_slice(name.as_bytes());
                if let Some(l) = link {
                    gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
                }
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn round_trip_is_deterministic() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let src = d.join("src");
        fs::create_dir_all(src.join("assets")).unwrap();
        fs::write(src.join("index.html"), "<html></html>").unwrap();
        fs::write(src.join("assets/a.css"), "body{}").unwrap();
        create_tar_gz(&src, &d.join("a.tar.gz")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(src.join("index.html"), "<html></html>").unwrap();
        create_tar_gz(&src, &d.join("b.tar.gz")).unwrap();
        assert_eq!(
            fs::read(d.join("a.tar.gz")).unwrap(),
            fs::read(d.join("b.tar.gz")).unwrap()
        );
        let n = extract_tar_gz(&d.join("a.tar.gz"), &d.join("out"), Limits::default()).unwrap();
        assert_eq!(n, 19);
        assert_eq!(
            fs::read_to_string(d.join("out/assets/a.css")).unwrap(),
            "body{}"
        );
    }

    #[test]
    fn hostile_entries_are_refused_and_nothing_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for (i, (entries, needle)) in [
            (
                vec![("../evil", EntryType::Regular, &b"x"[..], None)],
                "contains `..`",
            ),
            (
                vec![("/etc/evil", EntryType::Regular, &b"x"[..], None)],
                "absolute",
            ),
            (
                vec![("l", EntryType::Symlink, &b""[..], Some("/etc/passwd"))],
                "points outside",
            ),
            (
                vec![("a/l", EntryType::Symlink, &b""[..], Some("../../x"))],
                "points outside",
            ),
            (
                vec![("h", EntryType::Link, &b""[..], Some("../x"))],
                "points outside",
            ),
            (vec![("dev", EntryType::Char, &b""[..], None)], "only files"),
        ]
        .into_iter()
        .enumerate()
        {
            let a = d.join(format!("{i}.tar.gz"));
            hostile(&a, &entries);
            let out = d.join(format!("out{i}"));
            let e = extract_tar_gz(&a, &out, Limits::default()).unwrap_err();
            assert!(e.message.contains(needle), "{e}");
            assert!(!out.exists(), "partial extraction left behind");
        }
        assert!(!d.parent().unwrap().join("evil").exists());
    }

    #[test]
    fn symlink_chains_cannot_escape() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let a = d.join("chain.tar.gz");
        hostile(
            &a,
            &[
                ("y", EntryType::Symlink, b"", Some(".")),
                ("x", EntryType::Symlink, b"", Some("y/..")),
                ("x/pwned.txt", EntryType::Regular, b"pwned", None),
            ],
        );
        let out = d.join("out");
        let e = extract_tar_gz(&a, &out, Limits::default()).unwrap_err();
        assert!(e.message.contains("link `x`"), "{e}");
        assert!(!d.join("pwned.txt").exists(), "nothing written outside");
        assert!(!out.exists());
        let b = d.join("chain2.tar.gz");
        hostile(
            &b,
            &[
                ("y", EntryType::Symlink, b"", Some(".")),
                ("x", EntryType::Symlink, b"", Some("y/..")),
            ],
        );
        let e = extract_tar_gz(&b, &d.join("out2"), Limits::default()).unwrap_err();
        assert!(e.message.contains("resolves outside"), "{e}");
    }

    #[test]
    fn project_symlinks_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let src = d.join("src");
        fs::create_dir_all(src.join("assets")).unwrap();
        fs::write(src.join("assets/logo.svg"), "<svg/>").unwrap();
        std::os::unix::fs::symlink("logo.svg", src.join("assets/logo-link.svg")).unwrap();
        create_tar_gz(&src, &d.join("a.tar.gz")).unwrap();
        extract_tar_gz(&d.join("a.tar.gz"), &d.join("out"), Limits::default()).unwrap();
        assert_eq!(
            fs::read(d.join("out/assets/logo-link.svg")).unwrap(),
            b"<svg/>"
        );
        assert!(fs::symlink_metadata(d.join("out/assets/logo-link.svg"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn inside_links_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let a = d.join("ok.tar.gz");
        hostile(
            &a,
            &[
                ("f", EntryType::Regular, b"data", None),
                ("sub/l", EntryType::Symlink, b"", Some("../f")),
            ],
        );
        extract_tar_gz(&a, &d.join("out"), Limits::default()).unwrap();
        assert_eq!(fs::read(d.join("out/sub/l")).unwrap(), b"data");
    }

    #[test]
    fn caps_stop_bombs() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let a = d.join("big.tar.gz");
        let big = vec![0u8; 10_000];
        hostile(
            &a,
            &[
                ("a", EntryType::Regular, &big, None),
                ("b", EntryType::Regular, &big, None),
            ],
        );
        let e = extract_tar_gz(
            &a,
            &d.join("o1"),
            Limits {
                max_bytes: 15_000,
                max_entries: 10,
            },
        )
        .unwrap_err();
        assert!(e.message.contains("more than 15000 bytes"), "{e}");
        let e = extract_tar_gz(
            &a,
            &d.join("o2"),
            Limits {
                max_bytes: 1 << 20,
                max_entries: 1,
            },
        )
        .unwrap_err();
        assert!(e.message.contains("more than 1 entries"), "{e}");
    }
}
