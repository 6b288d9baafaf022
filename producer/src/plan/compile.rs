//! Compiling a project's entry HTML into the hermetic page chunk workers load:
//! remote scripts and stylesheets inlined, fonts turned into data URIs, remote
//! media copied into the plan, and the root composition's timing read statically.

use std::path::{Path, PathBuf};

use crate::config::validate_dimension;
use crate::errors::{ProducerError, Result};
use crate::plan::assets::{self, AssetMap, CssBase, InlineLog};
use crate::plan::digest::sha256_hex;
use crate::plan::html::{self, Tag};

/// The root composition, read from its data attributes before any script runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Composition {
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    /// `data-no-timeline`, or a project that registers no timeline:
    /// don't wait for `window.__timelines[id]`.
    pub no_timeline: bool,
    /// The root has no `data-duration`: `duration` is 0 until the plan
    /// measures the page ([`crate::plan::timing::probe_duration`]).
    pub duration_from_page: bool,
    /// The root's opening tag, short (`<div id="root" data-composition-id="c">`),
    /// for messages about it.
    pub element: String,
}

/// Finds the root composition (the first element with `data-composition-id`)
/// and validates its size and duration; `file` is named in every error.
pub fn find_root(html: &str, file: &Path) -> Result<Composition> {
    let tags = html::scan(html);
    let root = tags
        .iter()
        .find(|t| t.attr("data-composition-id").is_some())
        .ok_or_else(|| {
            ProducerError::composition(
                file,
                "no element with data-composition-id; mark the root element with data-composition-id, data-width, data-height and data-duration",
            )
        })?;
    let id = root
        .attr("data-composition-id")
        .unwrap_or("")
        .trim()
        .to_string();
    if id.is_empty() {
        return Err(ProducerError::composition(
            file,
            "data-composition-id is empty",
        ));
    }
    let dim = |name: &str| -> Result<u32> {
        let raw = root.attr(name).ok_or_else(|| {
            ProducerError::composition(file, format!("root composition {id:?} has no {name}"))
        })?;
        let v: u32 = raw.trim().parse().map_err(|_| {
            ProducerError::composition(
                file,
                format!("{name}={raw:?} on {id:?} is not a positive integer"),
            )
        })?;
        validate_dimension(name, v).map_err(|e| ProducerError::composition(file, e.to_string()))?;
        Ok(v)
    };
    let width = dim("data-width")?;
    let height = dim("data-height")?;
    let element = describe(root, &id);
    // data-composition-duration is the reference's second source, written
    // by its generators on <html>-rooted compositions.
    let raw = root
        .attr("data-duration")
        .or_else(|| root.attr("data-composition-duration"));
    let Some(raw) = raw else {
        // The reference takes the length from the timeline.
        return Ok(Composition {
            id,
            width,
            height,
            duration: 0.0,
            no_timeline: root.attr("data-no-timeline").is_some(),
            duration_from_page: true,
            element,
        });
    };
    let duration: f64 = raw.trim().parse().map_err(|_| {
        ProducerError::composition(
            file,
            format!("data-duration={raw:?} is not a number of seconds"),
        )
    })?;
    if !duration.is_finite() || duration <= 0.0 {
        return Err(ProducerError::composition(
            file,
            format!("composition duration is {raw} — this would produce an empty or black video; set data-duration > 0"),
        ));
    }
    if duration > 86_400.0 {
        return Err(ProducerError::composition(
            file,
            format!("data-duration={raw} exceeds 24 hours"),
        ));
    }
    Ok(Composition {
        id,
        width,
        height,
        duration,
        no_timeline: root.attr("data-no-timeline").is_some(),
        duration_from_page: false,
        element,
    })
}

/// `<tag id="..." data-composition-id="...">` of the root.
fn describe(root: &Tag, id: &str) -> String {
    let own = root
        .attr("id")
        .map(|v| format!(" id={:?}", v.trim()))
        .unwrap_or_default();
    format!("<{}{own} data-composition-id={id:?}>", root.name)
}

/// Result of compiling the entry HTML.
#[derive(Debug)]
pub struct Compiled {
    pub html: String,
    pub inline_log: InlineLog,
    /// Remote media copied into `compiled/_remote/` (relative path, bytes).
    pub remote_files: Vec<(String, Vec<u8>)>,
}

const TEXT_RENDERING_STYLE: &str =
    "<style data-hyperframes-text-rendering>html,body,*{text-rendering:geometricPrecision}</style>";

/// Rewrites the entry HTML so it references nothing off-machine.
pub fn compile(html: &str, file: &Path, map: &AssetMap) -> Result<Compiled> {
    let mut c = Compiler {
        html,
        file,
        map,
        log: InlineLog::default(),
        remote_files: Vec::new(),
        edits: Vec::new(),
    };
    let mut head_insert = None;
    for tag in &html::scan(html) {
        match tag.name.as_str() {
            "head" if head_insert.is_none() => head_insert = Some(tag.end),
            "script" => c.script(tag)?,
            "style" => c.style(tag)?,
            "link" => c.link(tag)?,
            "img" | "video" | "audio" | "source" => c.media(tag)?,
            _ => {}
        }
    }
    let mut out = html.to_string();
    c.edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (s, e, r) in c.edits {
        out.replace_range(s..e, &r);
    }
    let at = head_insert.unwrap_or(0);
    // head_insert is an offset in the original; edits all lie after <head>, so it is unchanged.
    out.insert_str(at, TEXT_RENDERING_STYLE);
    Ok(Compiled {
        html: out,
        inline_log: c.log,
        remote_files: c.remote_files,
    })
}

/// One compilation: the edits found so far, as (start, end, replacement)
/// spans of the original, applied back to front at the end.
struct Compiler<'a> {
    html: &'a str,
    file: &'a Path,
    map: &'a AssetMap,
    log: InlineLog,
    remote_files: Vec<(String, Vec<u8>)>,
    edits: Vec<(usize, usize, String)>,
}

impl Compiler<'_> {
    /// A remote `<script src>` becomes an inline script.
    fn script(&mut self, tag: &Tag) -> Result<()> {
        let Some(src) = tag.attr("src").filter(|s| assets::is_remote(s)) else {
            return Ok(());
        };
        let url = assets::join_url("https://invalid/", src);
        let bytes = self.map.fetch(&url).map_err(|m| {
            ProducerError::AssetFetchFailed(format!("{} <script src>: {m}", self.file.display()))
        })?;
        let body = String::from_utf8_lossy(&bytes).replace("</script", "<\\/script");
        let (_, _, close_end) = tag.body.expect("script tags carry a body span");
        let type_attr = tag
            .attr("type")
            .map(|t| format!(" type=\"{}\"", html::escape_attr(t)))
            .unwrap_or_default();
        self.edits.push((
            tag.start,
            close_end,
            format!("<script{type_attr}>/* inlined: {url} */\n{body}\n</script>"),
        ));
        Ok(())
    }

    /// `url(...)` and `@import` inside a `<style>` are inlined.
    fn style(&mut self, tag: &Tag) -> Result<()> {
        let (b0, b1, _) = tag.body.expect("style tags carry a body span");
        let css = &self.html[b0..b1];
        if css.to_ascii_lowercase().contains("http") || css.contains("//") {
            let out = assets::inline_css(css, &CssBase::Compiled, self.map, &mut self.log, 0)?;
            if out != css {
                self.edits.push((b0, b1, out));
            }
        }
        Ok(())
    }

    /// A remote stylesheet becomes a `<style>`; other remote links
    /// (preconnect, dns-prefetch, preload) would reach for the network and go.
    fn link(&mut self, tag: &Tag) -> Result<()> {
        let rel = tag.attr("rel").unwrap_or("").to_ascii_lowercase();
        let href = tag.attr("href").unwrap_or("");
        if !assets::is_remote(href) {
            return Ok(());
        }
        if !rel.contains("stylesheet") {
            self.edits.push((tag.start, tag.end, String::new()));
            return Ok(());
        }
        let url = assets::join_url("https://invalid/", href);
        let bytes = self.map.fetch(&url).map_err(|m| {
            if assets::is_font_url(&url) {
                ProducerError::FontFetchFailed(m)
            } else {
                ProducerError::AssetFetchFailed(m)
            }
        })?;
        let base = match self.map.get(&url) {
            Some(p) => CssBase::LocalFile(p.to_path_buf()),
            None => CssBase::Remote(url.clone()),
        };
        let css = assets::inline_css(
            &String::from_utf8_lossy(&bytes),
            &base,
            self.map,
            &mut self.log,
            0,
        )?;
        self.edits.push((
            tag.start,
            tag.end,
            format!("<style>/* inlined: {url} */\n{css}\n</style>"),
        ));
        Ok(())
    }

    /// Remote media is copied into `_remote/`, named by its hash.
    fn media(&mut self, tag: &Tag) -> Result<()> {
        let Some(src) = tag.attr("src").filter(|s| assets::is_remote(s)) else {
            return Ok(());
        };
        let url = assets::join_url("https://invalid/", src);
        let bytes = self.map.fetch(&url).map_err(|m| {
            if tag.name == "img" {
                ProducerError::AssetFetchFailed(m)
            } else {
                ProducerError::VideoSourceUnrenderable(m)
            }
        })?;
        let ext = url
            .split(['?', '#'])
            .next()
            .and_then(|p| p.rsplit('/').next())
            .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_string()))
            .unwrap_or_else(|| "bin".into());
        let rel = format!("_remote/{}.{ext}", &sha256_hex(&bytes)[..16]);
        self.edits
            .push((tag.start, tag.end, replace_src(self.html, tag, &rel)));
        self.remote_files.push((rel, bytes));
        Ok(())
    }
}

fn replace_src(html: &str, tag: &Tag, new_src: &str) -> String {
    let text = &html[tag.start..tag.end];
    let mut out = format!("<{}", tag.name);
    for (k, v) in &tag.attrs {
        let v = if k == "src" { new_src } else { v.as_str() };
        out.push_str(&format!(" {k}=\"{}\"", html::escape_attr(v)));
    }
    out.push_str(if text.ends_with("/>") { " />" } else { ">" });
    out
}

/// Media elements under the root that the audio mix and media sync care about.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaElement {
    pub id: String,
    pub tag: String,
    pub src: String,
    pub start: f64,
    pub duration: Option<f64>,
    pub media_start: f64,
    pub volume: f64,
    pub has_audio: bool,
}

pub fn media_elements(html: &str) -> Vec<MediaElement> {
    let num = |t: &Tag, k: &str| t.attr(k).and_then(|v| v.trim().parse::<f64>().ok());
    html::scan(html)
        .iter()
        .filter(|t| t.name == "video" || t.name == "audio")
        .filter_map(|t| {
            let src = t.attr("src")?.to_string();
            Some(MediaElement {
                id: t.attr("id").unwrap_or("").to_string(),
                tag: t.name.clone(),
                src,
                start: num(t, "data-start").unwrap_or(0.0),
                duration: num(t, "data-duration"),
                media_start: num(t, "data-media-start").unwrap_or(0.0),
                volume: num(t, "data-volume").unwrap_or(1.0).clamp(0.0, 1.0),
                has_audio: t.name == "audio" || t.attr("data-has-audio") == Some("true"),
            })
        })
        .collect()
}

/// Top-level project entries that are build/cache output, not composition input.
pub const SKIPPED_TOP_LEVEL: &[&str] = &[
    "node_modules",
    ".git",
    ".cache",
    "output",
    "failures",
    "dist",
    ".next",
    ".turbo",
];

/// Copies the project into `dest`, dereferencing symlinks and skipping build dirs.
pub fn copy_project(src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest).map_err(|e| ProducerError::io(dest, e))?;
    walk(src, "", true, &mut |rel, path, is_dir| {
        let target = dest.join(rel);
        if is_dir {
            std::fs::create_dir_all(&target).map_err(|e| ProducerError::io(&target, e))
        } else {
            std::fs::copy(path, &target)
                .map(drop)
                .map_err(|e| ProducerError::io(path, e))
        }
    })
}

/// The files [`copy_project`] copies (relative POSIX path, source path), in
/// copy order: what a template's cache key hashes.
pub fn project_files(src: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    walk(src, "", true, &mut |rel, path, is_dir| {
        if !is_dir {
            out.push((rel.to_string(), path.to_path_buf()));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Visits the project as the plan copies it: entries sorted by name, a
/// directory before what it holds, symlinks followed, the build
/// directories at the top skipped. `visit` gets the relative POSIX path,
/// the source path and whether it is a directory.
fn walk(
    dir: &Path,
    prefix: &str,
    top: bool,
    visit: &mut dyn FnMut(&str, &Path, bool) -> Result<()>,
) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ProducerError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if top && SKIPPED_TOP_LEVEL.contains(&name.as_str()) {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| ProducerError::io(&path, e))?;
        let rel = format!("{prefix}{name}");
        if meta.is_dir() {
            visit(&rel, &path, true)?;
            walk(&path, &format!("{rel}/"), false, visit)?;
        } else if meta.is_file() {
            visit(&rel, &path, false)?;
        }
    }
    Ok(())
}

/// Raster files a page can paint: photographs, frames of video.
const RASTER_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "pjpeg", "png", "apng", "webp", "gif", "avif", "jxl", "bmp",
    "ico", "tif", "tiff", "heic", "heif", "mp4", "m4v", "webm", "mov", "mkv", "ogv",
];

/// The first bytes of raster formats, for files whose name does not say
/// (remote media saved as `_remote/<hash>.bin`): PNG, JPEG, GIF, WebP
/// (RIFF), BMP, TIFF, Matroska/WebM, Ogg; ISO BMFF (mp4, mov, avif, heic)
/// is matched by its `ftyp` box below.
const RASTER_MAGIC: &[&[u8]] = &[
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"RIFF",
    b"BM",
    b"II*\0",
    b"MM\0*",
    b"\x1a\x45\xdf\xa3",
    b"OggS",
];

/// Text in a page's files that paints pixels no CSS or SVG describes: a
/// canvas (2D or WebGL), a video, or a raster image inlined as data.
const RASTER_MARKERS: &[&str] = &[
    "<canvas",
    "getContext(",
    "<video",
    "data:image/png",
    "data:image/jpeg",
    "data:image/jpg",
    "data:image/webp",
    "data:image/gif",
    "data:image/avif",
    // An inlined asset whose type the compiler could not tell.
    "data:application/octet-stream",
];

/// What in the compiled page may paint photographic pixels (the first raster
/// file it ships, or a canvas, video or inlined raster image in its text),
/// or None for flat graphics: text, CSS and SVG. The plan captures flat
/// graphics as lossless PNG, which the browser encodes cheaper than JPEG
/// there, and everything else as JPEG, which stays cheap on photographs
/// (PNG's encode costs 1.7x JPEG's on a full-frame photo). The test is
/// deliberately coarse: a small raster logo also means JPEG.
pub fn raster_content(compiled_dir: &Path) -> Result<Option<String>> {
    const TEXT: &[&str] = &["html", "htm", "js", "mjs", "css", "svg", "json"];
    for (rel, path) in crate::plan::digest::list_files(compiled_dir)? {
        let ext = rel
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if RASTER_EXTENSIONS.contains(&ext.as_str()) {
            return Ok(Some(rel));
        }
        if !TEXT.contains(&ext.as_str()) {
            // The magic is in the first bytes; a remote video can be large.
            let head = first_bytes(&path, 8)?;
            let iso_bmff = head.get(4..8) == Some(b"ftyp");
            if iso_bmff || RASTER_MAGIC.iter().any(|m| head.starts_with(m)) {
                return Ok(Some(format!("{rel} (a raster or video file)")));
            }
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| ProducerError::io(&path, e))?;
        let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
        if let Some(m) = RASTER_MARKERS
            .iter()
            .find(|m| text.contains(&m.to_ascii_lowercase()))
        {
            return Ok(Some(format!("{rel} ({m})")));
        }
    }
    Ok(None)
}

/// Up to `n` bytes from the start of `path`.
fn first_bytes(path: &Path, n: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(n).read_to_end(&mut head))
        .map_err(|e| ProducerError::io(path, e))?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(attrs: &str) -> String {
        format!("<html><head></head><body><div {attrs}></div></body></html>")
    }

    #[test]
    fn reads_root_attributes() {
        let c = find_root(
            &root(r#"data-composition-id="main" data-width="640" data-height="360" data-duration="2""#),
            Path::new("index.html"),
        )
        .unwrap();
        assert_eq!(
            c,
            Composition {
                id: "main".into(),
                width: 640,
                height: 360,
                duration: 2.0,
                no_timeline: false,
                duration_from_page: false,
                element: r#"<div data-composition-id="main">"#.into(),
            }
        );
        // Without data-duration the length is the page's to say.
        let c = find_root(
            &root(r#"id="root" data-composition-id="m" data-width="64" data-height="64""#),
            Path::new("index.html"),
        )
        .unwrap();
        assert!(c.duration_from_page && c.duration == 0.0);
        assert_eq!(c.element, r#"<div id="root" data-composition-id="m">"#);
        let c = find_root(
            &root(r#"data-composition-id="m" data-width="64" data-height="64" data-composition-duration="1.5""#),
            Path::new("index.html"),
        )
        .unwrap();
        assert!(!c.duration_from_page && c.duration == 1.5);
    }

    #[test]
    fn bad_roots_name_the_file() {
        for (attrs, needle) in [
            ("", "no element with data-composition-id"),
            (
                r#"data-composition-id="m" data-width="640" data-height="360" data-duration="0""#,
                "duration is 0",
            ),
            (
                r#"data-composition-id="m" data-width="641" data-height="360" data-duration="1""#,
                "odd",
            ),
        ] {
            let e = find_root(&root(attrs), Path::new("/p/index.html")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("/p/index.html") && msg.contains(needle),
                "{msg}"
            );
            assert_eq!(e.name(), "INVALID_COMPOSITION");
        }
    }

    #[test]
    fn compile_inlines_mapped_script_and_strips_hints() {
        let dir = tempfile::tempdir().unwrap();
        let js = dir.path().join("lib.js");
        std::fs::write(&js, "window.LIB = '</script>';").unwrap();
        let mut map = AssetMap::default();
        map.insert("https://cdn.example/lib.js", &js);
        let html = r#"<html><head><link rel="preconnect" href="https://fonts.gstatic.com"><script src="https://cdn.example/lib.js"></script></head><body></body></html>"#;
        let c = compile(html, Path::new("index.html"), &map).unwrap();
        assert!(c.html.contains("/* inlined: https://cdn.example/lib.js */"));
        assert!(c.html.contains(r"window.LIB = '<\/script>';"));
        assert!(!c.html.contains("preconnect"));
        assert!(c.html.contains("data-hyperframes-text-rendering"));

        let err = compile(html, Path::new("index.html"), &AssetMap::default()).unwrap_err();
        assert_eq!(err.name(), "ASSET_FETCH_FAILED");
    }
}
