//! The one `.tar.gz` writer: v1 plans, png-sequence chunks and outputs,
//! and project archives all go through it.
//!
//! The bytes depend on the tree's names and contents only: entries sorted
//! by name at each level (a directory before what it holds), mtime 0,
//! owner 0:0 with no user or group names, modes reduced to 0644/0755 (0755
//! when any execute bit is set) and 0777 for symlinks, and a gzip header
//! without a file name or timestamp. Two workers that render the same chunk
//! therefore upload the same SHA-256, and two plans of the same project
//! give the same tarball. It is written in process (the `tar` and `flate2`
//! crates): the function's base image has no `tar` or `gzip`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use tar::{EntryType, Header};

use crate::errors::{ProducerError, Result};

/// Packs the entries under `root` that `keep` accepts (paths relative to
/// `root`; a rejected directory is skipped with everything under it) into
/// `out`, deterministically (see the module doc).
pub fn write_tar_gz(root: &Path, out: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<()> {
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(|e| ProducerError::io(parent, e))?;
    }
    let file = File::create(out).map_err(|e| ProducerError::io(out, e))?;
    // GzBuilder writes no name and mtime 0 unless told otherwise.
    let gz = GzBuilder::new().write(BufWriter::new(file), Compression::default());
    let mut builder = tar::Builder::new(gz);
    let mut entries = Vec::new();
    collect(root, Path::new(""), keep, &mut entries)?;
    for rel in entries {
        append(&mut builder, root, &rel)?;
    }
    let gz = builder
        .into_inner()
        .map_err(|e| ProducerError::io(out, e))?;
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(|e| ProducerError::io(out, e))
}

/// Packs everything under `root`.
pub fn write_tar_gz_all(root: &Path, out: &Path) -> Result<()> {
    write_tar_gz(root, out, &|_| true)
}

fn append<W: Write>(builder: &mut tar::Builder<W>, root: &Path, rel: &Path) -> Result<()> {
    let path = root.join(rel);
    let meta = fs::symlink_metadata(&path).map_err(|e| ProducerError::io(&path, e))?;
    let mut h = Header::new_gnu();
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    let written = if meta.file_type().is_symlink() {
        // Kept as a link; its size is that of the link text, not the target.
        let link = fs::read_link(&path).map_err(|e| ProducerError::io(&path, e))?;
        h.set_entry_type(EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        builder.append_link(&mut h, rel, &link)
    } else if meta.is_dir() {
        h.set_entry_type(EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        builder.append_data(&mut h, rel, io::empty())
    } else {
        let executable = meta.permissions().mode() & 0o111 != 0;
        h.set_entry_type(EntryType::Regular);
        h.set_mode(if executable { 0o755 } else { 0o644 });
        h.set_size(meta.len());
        let f = File::open(&path).map_err(|e| ProducerError::io(&path, e))?;
        builder.append_data(&mut h, rel, f)
    };
    written.map_err(|e| ProducerError::io(&path, e))
}

/// The entries under `root/rel` that `keep` accepts, sorted by name at each
/// level, directories before their contents. Symlinks to directories are
/// listed, not followed.
pub fn collect(
    root: &Path,
    rel: &Path,
    keep: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
) -> Result<()> {
    let dir = root.join(rel);
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| ProducerError::io(&dir, e))? {
        names.push(entry.map_err(|e| ProducerError::io(&dir, e))?.file_name());
    }
    names.sort();
    for name in names {
        let child = rel.join(&name);
        if !keep(&child) {
            continue;
        }
        out.push(child.clone());
        let is_real_dir = root
            .join(&child)
            .symlink_metadata()
            .is_ok_and(|m| m.is_dir());
        if is_real_dir {
            collect(root, &child, keep, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::write(root.join("z.txt"), "last").unwrap();
        fs::write(root.join("a.txt"), "first").unwrap();
        fs::write(root.join("b/c/deep.bin"), [0u8, 1, 2]).unwrap();
        fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("link")).unwrap();
    }

    fn entries(archive: &Path) -> Vec<(String, EntryType, u32, u64, u64)> {
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(File::open(archive).unwrap()));
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_tree_gives_the_same_bytes_wherever_it_was_made() {
        let d = tempfile::tempdir().unwrap();
        let (x, y) = (d.path().join("x"), d.path().join("y"));
        tree(&x);
        // Same names and bytes, made in another order, at another time, with other modes.
        fs::create_dir_all(y.join("b/c")).unwrap();
        std::os::unix::fs::symlink("a.txt", y.join("link")).unwrap();
        fs::write(y.join("run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(y.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(y.join("b/c/deep.bin"), [0u8, 1, 2]).unwrap();
        fs::write(y.join("a.txt"), "first").unwrap();
        fs::write(y.join("z.txt"), "last").unwrap();
        fs::set_permissions(y.join("z.txt"), fs::Permissions::from_mode(0o600)).unwrap();
        write_tar_gz_all(&x, &d.path().join("x.tar.gz")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write_tar_gz_all(&y, &d.path().join("y.tar.gz")).unwrap();
        let (bx, by) = (
            fs::read(d.path().join("x.tar.gz")).unwrap(),
            fs::read(d.path().join("y.tar.gz")).unwrap(),
        );
        assert_eq!(bx, by, "same tree, different bytes");
        // gzip header: no FNAME flag, MTIME 0.
        assert_eq!(&bx[..3], &[0x1f, 0x8b, 8]);
        assert_eq!(bx[3] & 0x08, 0, "gzip header carries a file name");
        assert_eq!(&bx[4..8], &[0, 0, 0, 0], "gzip header carries a time");

        let got = entries(&d.path().join("x.tar.gz"));
        let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "a.txt",
                "b",
                "b/c",
                "b/c/deep.bin",
                "link",
                "run.sh",
                "z.txt"
            ]
        );
        for (name, kind, mode, mtime, uid) in &got {
            assert_eq!((*mtime, *uid), (0, 0), "{name}");
            let want = match name.as_str() {
                "b" | "b/c" | "run.sh" => 0o755,
                "link" => 0o777,
                _ => 0o644,
            };
            assert_eq!(*mode, want, "{name}");
            if name == "link" {
                assert_eq!(*kind, EntryType::Symlink);
            }
        }
    }

    #[test]
    fn rejected_directories_are_skipped_whole() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("plan");
        tree(&root);
        fs::create_dir_all(root.join("transport/v2")).unwrap();
        fs::write(root.join("transport/plan.tar.gz"), "x").unwrap();
        let out = d.path().join("p.tar.gz");
        write_tar_gz(&root, &out, &|p| p != Path::new("transport")).unwrap();
        let got = entries(&out);
        assert!(got.iter().all(|e| !e.0.starts_with("transport")), "{got:?}");
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(File::open(&out).unwrap()));
        let mut deep = String::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap() == Path::new("z.txt") {
                e.read_to_string(&mut deep).unwrap();
            }
        }
        assert_eq!(deep, "last");
    }
}
