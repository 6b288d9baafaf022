//! What `bench reference` renders: the reference repository's producer
//! regression cases (`packages/producer/tests/<case>/{meta.json,src}`) and
//! its registry demos ([`REGISTRY_DEMOS`]), each copied into an offline
//! project both renderers can draw without the network.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The registry corpus: components (most mount a sub-composition through
/// `data-composition-src` with `data-variable-values`), plain components
/// and blocks, all of which render offline once gsap is local. Short ones
/// (1-4 s), so the whole list renders in minutes.
pub const REGISTRY_DEMOS: &[&str] = &[
    // Components mounting themselves with variable values.
    "components/before-after-wipe",
    "components/cta-close",
    "components/cursor-glyph-trail",
    "components/decline-chart",
    "components/echo-trail",
    "components/gloss-sweep",
    "components/iris-reveal",
    "components/light-sweep-pass",
    "components/locked-nucleus-orbit",
    "components/logo-brand-close",
    "components/match-cut",
    "components/modal-morph",
    "components/press-ripple",
    "components/scroll-feed",
    "components/stitched-text-draw",
    "components/stop-motion-cadence",
    "components/titlecard-lockup",
    "components/touch-indicator",
    "components/trust-strip",
    "components/type-match-cut",
    "components/typed-prompt",
    "components/variable-axis-type",
    "components/whip-pan-cut",
    // Components mounted twice (two variants side by side).
    "components/count-up",
    "components/cut-the-curve",
    "components/focus-swap",
    "components/logo-sting",
    "components/spring-pop",
    "components/rubber-band-bumper",
    "components/icon-morph-beat",
    "components/gesture-tap",
    "components/scramble-reveal",
    "components/native-notification-pop",
    // Plain components (no mount).
    "components/blur-in",
    "components/bottom-up-letters",
    "components/hw-arrow",
    "components/inline-highlight",
    "components/separator",
    "components/social-proof-card",
    // Blocks, four of them hosting a sub-composition.
    "blocks/camcorder-hud",
    "blocks/editorial-flash-overlay",
    "blocks/freeze-frame-dressing",
    "blocks/organic-light-leak-overlay",
    "blocks/split-flap-board",
    "blocks/hw-scribble-transition",
    "blocks/mk-clone-wall-transition",
];

/// The registry target's fps (demos carry no render config).
pub const REGISTRY_FPS: u32 = 30;

/// The reference's sources on disk, and the commit they are from.
pub struct Repo {
    pub root: PathBuf,
    pub commit: String,
}

/// `dir` as given: a checkout (with `packages/producer/tests`), or a bare
/// mirror whose HEAD's cases and registry are extracted under `work`.
pub fn open_repo(dir: &Path, work: &Path) -> Result<Repo> {
    if dir.join("packages/producer/tests").is_dir() {
        let commit = git(&["-C", &dir.display().to_string(), "rev-parse", "HEAD"])
            .unwrap_or_else(|_| "unknown (not a git checkout)".into());
        return Ok(Repo {
            root: dir.to_path_buf(),
            commit,
        });
    }
    let git_dir = format!("--git-dir={}", dir.display());
    let commit = git(&[&git_dir, "rev-parse", "HEAD"]).with_context(|| {
        format!(
            "--repo {}: neither a checkout of heygen-com/hyperframes (no packages/producer/tests) nor a git mirror of it",
            dir.display()
        )
    })?;
    let root = work.join(format!("repo-{}", &commit[..12.min(commit.len())]));
    if !root.join("packages/producer/tests").is_dir() {
        std::fs::create_dir_all(&root)?;
        let archive = Command::new("git")
            .args([
                &git_dir,
                "archive",
                "HEAD",
                "packages/producer/tests",
                "registry",
            ])
            .output()?;
        if !archive.status.success() {
            bail!(
                "git archive of {}: {}",
                dir.display(),
                String::from_utf8_lossy(&archive.stderr)
            );
        }
        let mut tar = Command::new("tar")
            .args(["-x", "-C"])
            .arg(&root)
            .stdin(std::process::Stdio::piped())
            .spawn()?;
        std::io::Write::write_all(tar.stdin.as_mut().expect("piped"), &archive.stdout)?;
        drop(tar.stdin.take());
        if !tar.wait()?.success() {
            bail!(
                "cannot unpack {}'s cases into {}",
                dir.display(),
                root.display()
            );
        }
    }
    Ok(Repo { root, commit })
}

fn git(args: &[&str]) -> Result<String> {
    let out = Command::new("git").args(args).output()?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Every directory under the repo's `packages/producer/tests`, and the
/// cases one level down in a directory that is not a case itself
/// (`distributed/<case>`), sorted.
pub fn case_names(repo: &Repo) -> Result<Vec<String>> {
    let dir = repo.root.join("packages/producer/tests");
    let mut names = Vec::new();
    for top in subdirs(&dir)? {
        let path = dir.join(&top);
        let nested: Vec<String> = if path.join("meta.json").is_file() {
            Vec::new()
        } else {
            subdirs(&path)?
                .into_iter()
                .filter(|n| path.join(n).join("meta.json").is_file())
                .map(|n| format!("{top}/{n}"))
                .collect()
        };
        if nested.is_empty() {
            names.push(top);
        } else {
            names.extend(nested);
        }
    }
    names.sort();
    Ok(names)
}

fn subdirs(dir: &Path) -> Result<Vec<String>> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
}

/// Hosts named in sources that nothing fetches (namespaces, licence
/// notices, comments).
const NOT_FETCHED: &[&str] = &[
    "www.w3.org",
    "gsap.com",
    "greensock.com",
    "hertzen.com",
    "github.com",
    "localhost",
    "minio:",
    "opensource.org",
    "apache.org",
    "mozilla.org",
    "developer.",
    "schema.org",
];

/// Copies `from` (a case directory, or a registry item) to `to` and makes
/// it offline: CDN gsap becomes a `gsap.min.js` beside each file that
/// loads it (the peer install's own copy), Google Fonts links and imports
/// are dropped (both renderers then choose the face themselves). Returns
/// why the copy still cannot render offline, if it cannot.
/// Top-level entries named in `leave` are not copied (a case's golden
/// `output/`, which the repository stores as Git LFS pointers).
pub fn offline_copy(from: &Path, to: &Path, gsap: &Path, leave: &[&str]) -> Result<Option<String>> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let e = e?;
        if leave.iter().any(|l| e.file_name() == *l) {
            continue;
        }
        copy_entry(&e, &to.join(e.file_name()))?;
    }
    for file in walk(to)? {
        if file.is_file() && is_lfs_pointer(&file) {
            let rel = file.strip_prefix(to).unwrap_or(&file).display().to_string();
            return Ok(Some(format!(
                "{rel} is a Git LFS pointer in the repository (its media is not stored)"
            )));
        }
    }
    let mut remote = Vec::new();
    for file in text_files(to)? {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let (local, loads_gsap) = localize(&text);
        if loads_gsap {
            let beside = file
                .parent()
                .expect("a file has a parent")
                .join("gsap.min.js");
            std::fs::copy(gsap, &beside)
                .with_context(|| format!("cannot copy {}", gsap.display()))?;
        }
        if local != text {
            std::fs::write(&file, &local)?;
        }
        remote.extend(remote_urls(&local));
    }
    remote.sort();
    remote.dedup();
    Ok((!remote.is_empty()).then(|| {
        let shown: Vec<_> = remote.iter().take(2).cloned().collect();
        format!(
            "needs the network ({} remote URL{}: {}); no asset-map entry serves {}",
            remote.len(),
            if remote.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if remote.len() == 1 { "it" } else { "them" }
        )
    }))
}

fn is_lfs_pointer(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 40];
    std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map(|n| head[..n].starts_with(b"version https://git-lfs"))
        .unwrap_or(false)
}

/// The text with CDN gsap pointed at `gsap.min.js` and Google Fonts
/// removed; true when it loads gsap.
pub fn localize(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut loads = false;
    let mut rest = text;
    while let Some(at) = rest.find("https://") {
        let end = at
            + rest[at..]
                .find(['"', '\'', ')', ' ', '>'])
                .unwrap_or(rest.len() - at);
        let url = &rest[at..end];
        out.push_str(&rest[..at]);
        if is_gsap(url) {
            out.push_str("gsap.min.js");
            loads = true;
        } else {
            out.push_str(url);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    (drop_google_fonts(&out), loads)
}

fn is_gsap(url: &str) -> bool {
    (url.starts_with("https://cdn.jsdelivr.net/npm/gsap@") && url.ends_with("/dist/gsap.min.js"))
        || (url.starts_with("https://cdnjs.cloudflare.com/ajax/libs/gsap/")
            && url.ends_with("/gsap.min.js"))
        || url == "https://unpkg.com/gsap/dist/gsap.min.js"
}

/// Removes `<link>` tags and `@import` rules that name Google Fonts.
fn drop_google_fonts(text: &str) -> String {
    let mut s = text.to_string();
    for (open, close) in [("<link", ">"), ("@import", ";")] {
        let mut from = 0;
        while let Some(i) = s[from..].find(open).map(|i| i + from) {
            let Some(j) = s[i..].find(close).map(|j| i + j + close.len()) else {
                break;
            };
            if s[i..j].contains("fonts.googleapis.com") || s[i..j].contains("fonts.gstatic.com") {
                s.replace_range(i..j, "");
                from = i;
            } else {
                from = j;
            }
        }
    }
    s
}

/// Remote URLs a page would fetch (hosts in [`NOT_FETCHED`] aside).
fn remote_urls(text: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for scheme in ["https://", "http://"] {
        let mut rest = text;
        while let Some(at) = rest.find(scheme) {
            let tail = &rest[at..];
            let end = tail
                .find(['"', '\'', ')', ' ', '>', '\n', '`', '<'])
                .unwrap_or(tail.len());
            let url = &tail[..end];
            let host = url[scheme.len()..].split('/').next().unwrap_or("");
            let named = |h: &&str| host.starts_with(*h) || host.ends_with(&format!(".{h}"));
            if host.len() > 3 && !NOT_FETCHED.iter().any(named) {
                urls.push(url.to_string());
            }
            rest = &tail[end.max(1)..];
        }
    }
    urls
}

/// The files a page loads as text (a registry item's JSON is its catalogue
/// entry, with preview URLs nothing renders).
fn text_files(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(walk(dir)?
        .into_iter()
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("html" | "htm" | "css" | "js" | "mjs" | "svg")
                )
        })
        .collect())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Copies a tree, keeping symlinks as symlinks (a case may test them).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let e = e?;
        copy_entry(&e, &to.join(e.file_name()))?;
    }
    Ok(())
}

fn copy_entry(e: &std::fs::DirEntry, dst: &Path) -> Result<()> {
    let (src, kind) = (e.path(), e.file_type()?);
    if kind.is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(&src)?, dst)?;
    } else if kind.is_dir() {
        copy_tree(&src, dst)?;
    } else {
        std::fs::copy(&src, dst).with_context(|| format!("cannot copy {}", src.display()))?;
    }
    Ok(())
}

/// A registry item as a project: its files with the demo page (or, for a
/// block without one, its own page) as `index.html`.
pub fn registry_project(repo: &Repo, item: &str, to: &Path, gsap: &Path) -> Result<Option<String>> {
    let dir = repo.root.join("registry").join(item);
    if !dir.is_dir() {
        bail!("registry item {item} is not in {} (REGISTRY_DEMOS names one the repository no longer has)", repo.root.display());
    }
    let skip = offline_copy(&dir, to, gsap, &[])?;
    let name = item.rsplit('/').next().unwrap_or(item);
    let entry = ["demo.html".to_string(), format!("{name}.html")]
        .into_iter()
        .find(|f| to.join(f).is_file())
        .with_context(|| format!("registry item {item} has neither demo.html nor {name}.html"))?;
    if entry != "index.html" {
        std::fs::copy(to.join(&entry), to.join("index.html"))?;
    }
    Ok(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdn_gsap_becomes_local_and_google_fonts_go() {
        let html = r#"<link href="https://fonts.googleapis.com/css2?family=Inter&display=swap" rel="stylesheet"><script src="https://cdn.jsdelivr.net/npm/gsap@3.14.2/dist/gsap.min.js"></script><style>@import url("https://fonts.googleapis.com/css2?family=X");
body{}</style><img src="https://example.org/a.png">"#;
        let (out, gsap) = localize(html);
        assert!(gsap);
        assert_eq!(
            out,
            "<script src=\"gsap.min.js\"></script><style>\nbody{}</style><img src=\"https://example.org/a.png\">"
        );
        assert_eq!(
            remote_urls(&out),
            vec!["https://example.org/a.png".to_string()]
        );
        assert!(remote_urls(r#"<svg xmlns="http://www.w3.org/2000/svg">"#).is_empty());
        assert!(remote_urls("/* see https://html2canvas.hertzen.com */").is_empty());
    }
}
