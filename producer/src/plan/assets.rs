//! Offline asset resolution: the URL -> local file map consulted before any
//! network access, and the CSS inliner that turns remote stylesheets and fonts
//! into self-contained `<style>` text with `data:` URIs.
//!
//! Chunk workers must never touch the network (plans are hermetic), so
//! everything remote is resolved once, here, at plan time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::errors::{ProducerError, Result};
use crate::plan::fetch::{self, FetchLimits};

/// The environment variable that decides whether a plan may fetch remote
/// assets its offline map lacks: `0` forbids it, anything else (or unset)
/// allows it. See [`network_allowed`].
pub const ALLOW_NETWORK_ENV: &str = "HF_ALLOW_NETWORK";

/// The network policy, the same for the Lambda function and the local
/// `render`: plans may fetch what the offline map lacks, unless
/// `HF_ALLOW_NETWORK=0`.
///
/// Why on by default: the plan stage is where a render becomes hermetic.
/// What it fetches (a CDN script, a Google Fonts stylesheet and its font
/// files) is inlined into the plan, and `render_chunk` and `assemble` never
/// consult the map, so chunk workers never touch the network whatever this
/// says. The reference's plan stage fetches the same way, so a project that
/// renders there renders here without extra setup. Set `HF_ALLOW_NETWORK=0`
/// to make plans fail closed on anything unmapped (CI, air-gapped
/// accounts; the test suite runs that way).
pub fn network_allowed() -> bool {
    crate::settings::current().allow_network
}

/// URL -> local file. Loaded from JSON (`{"<url>": "<path>"}`, paths relative
/// to the map file) so test setups and users can pin CDN scripts and Google
/// Fonts to packaged copies.
///
/// [`AssetMap::load`] and [`AssetMap::discover`] take the network policy
/// from [`network_allowed`]; `AssetMap::default()` is an empty map that
/// fetches nothing, for callers that build the map themselves.
#[derive(Debug, Clone, Default)]
pub struct AssetMap {
    entries: BTreeMap<String, PathBuf>,
    /// Fetch unmapped URLs over HTTP(S) ([`crate::plan::fetch`]).
    pub allow_network: bool,
    /// Where the map came from, for error messages.
    pub source: Option<PathBuf>,
}

impl AssetMap {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| ProducerError::io(path, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            ProducerError::config("assetMap", format!("{}: not JSON: {e}", path.display()))
        })?;
        let obj = v
            .get("assets")
            .and_then(|a| a.as_object())
            .or_else(|| v.as_object())
            .ok_or_else(|| {
                ProducerError::config(
                    "assetMap",
                    format!("{}: expected an object of URL -> path", path.display()),
                )
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut map = AssetMap {
            source: Some(path.to_path_buf()),
            allow_network: network_allowed(),
            ..Default::default()
        };
        for (url, p) in obj {
            if url == "assets" {
                continue;
            }
            let p = p.as_str().ok_or_else(|| {
                ProducerError::config("assetMap", format!("{url}: path must be a string"))
            })?;
            map.entries.insert(url.clone(), base.join(p));
        }
        Ok(map)
    }

    /// The map users get by default: `HF_ASSET_MAP`, else `asset-map.json` in the
    /// tools dir (`HF_TOOLS_DIR`, or a `.tools` dir above the current directory),
    /// else empty; the network policy is [`network_allowed`].
    pub fn discover() -> Result<Self> {
        if let Some(p) = crate::settings::current().asset_map.clone() {
            AssetMap::load(&p)
        } else if let Some(p) = default_map_path() {
            AssetMap::load(&p)
        } else {
            Ok(AssetMap {
                allow_network: network_allowed(),
                ..AssetMap::default()
            })
        }
    }

    pub fn insert(&mut self, url: impl Into<String>, path: impl Into<PathBuf>) {
        self.entries.insert(url.into(), path.into());
    }

    pub fn get(&self, url: &str) -> Option<&Path> {
        self.entries.get(url).map(|p| p.as_path())
    }

    /// What the map answers, for a template's cache key: each URL with
    /// the SHA-256 of its file ("unreadable" when it cannot be read, so
    /// the plan's own fetch reports it). By content, not path or time: a
    /// map rewritten with the same files keeps the key.
    pub fn fingerprint(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|(url, p)| {
                let digest = crate::plan::digest::sha256_file(p)
                    .unwrap_or_else(|_| "unreadable".to_string());
                (url.clone(), digest)
            })
            .collect()
    }

    /// Bytes of a remote URL: the map first, then (if allowed) the network.
    pub fn fetch(&self, url: &str) -> std::result::Result<Vec<u8>, String> {
        if let Some(p) = self.get(url) {
            return std::fs::read(p).map_err(|e| {
                format!(
                    "{url} is mapped to {} but it cannot be read: {e}",
                    p.display()
                )
            });
        }
        if !self.allow_network {
            return Err(format!(
                "{url} is not in the offline asset map ({}) and fetching is off ({ALLOW_NETWORK_ENV}=0); add it to the map (HF_ASSET_MAP, JSON url -> local path) or allow the plan to fetch it",
                self.source
                    .as_ref()
                    .map_or("none loaded".to_string(), |p| p.display().to_string())
            ));
        }
        fetch::fetch(url, &FetchLimits::DEFAULT)
    }
}

fn default_map_path() -> Option<PathBuf> {
    if let Some(t) = crate::settings::current().tools_dir.clone() {
        let p = t.join("asset-map.json");
        if p.is_file() {
            return Some(p);
        }
    }
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let p = dir.join(".tools/asset-map.json");
        if p.is_file() {
            return Some(p);
        }
        if !dir.pop() {
            return None;
        }
    }
}

pub fn is_remote(url: &str) -> bool {
    let l = url.trim().to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("//")
}

/// Resolves `rel` against a remote base URL (just enough of RFC 3986 for CSS).
pub fn join_url(base: &str, rel: &str) -> String {
    if is_remote(rel) {
        return if rel.starts_with("//") {
            format!("https:{rel}")
        } else {
            rel.to_string()
        };
    }
    let scheme_end = base.find("://").map_or(0, |p| p + 3);
    if let Some(path) = rel.strip_prefix('/') {
        let host_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |p| scheme_end + p);
        return format!("{}/{}", &base[..host_end], path);
    }
    let no_query = base.split(['?', '#']).next().unwrap_or(base);
    let dir_end = no_query.rfind('/').map_or(no_query.len(), |p| p + 1);
    format!("{}{}", &no_query[..dir_end], rel)
}

pub fn mime_for(path_or_url: &str) -> &'static str {
    let l = path_or_url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = l.rsplit('.').next().unwrap_or("");
    match ext {
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "m4a" | "aac" => "audio/mp4",
        "wav" => "audio/wav",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

pub fn is_font_url(url: &str) -> bool {
    let l = url.to_ascii_lowercase();
    l.contains("fonts.googleapis.com")
        || l.contains("fonts.gstatic.com")
        || ["font/woff2", "font/woff", "font/ttf", "font/otf"].contains(&mime_for(&l))
}

pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Where a stylesheet's relative URLs point.
#[derive(Debug, Clone)]
pub enum CssBase {
    /// Inline `<style>` in the compiled HTML: relative URLs stay relative
    /// (the files are served from `compiled/`).
    Compiled,
    /// A remote stylesheet: relative URLs resolve against it.
    Remote(String),
    /// A local stylesheet outside the project (from the asset map): relative
    /// URLs resolve against its directory and are inlined.
    LocalFile(PathBuf),
}

/// Collects what inlining did, for the plan's font snapshot.
#[derive(Debug, Default)]
pub struct InlineLog {
    /// URL (or mapped path) -> inlined byte length, for each font.
    pub fonts: BTreeMap<String, u64>,
}

/// Rewrites CSS so it references nothing remote: `@import`s are replaced by the
/// imported text and `url()`s become data URIs.
pub fn inline_css(
    css: &str,
    base: &CssBase,
    map: &AssetMap,
    log: &mut InlineLog,
    depth: usize,
) -> Result<String> {
    if depth > 8 {
        return Err(ProducerError::AssetFetchFailed(
            "stylesheet @import nesting deeper than 8; is there an import cycle?".into(),
        ));
    }
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(pos) = find_ci(rest, "@import") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + "@import".len()..];
        // URLs may contain ';' (Google Fonts' `wght@400;700`): end the statement
        // at the first ';' after the URL token, not inside it.
        let url_end = import_url_end(after);
        let stmt_end = after[url_end..]
            .find(';')
            .map_or(after.len(), |p| url_end + p + 1);
        let stmt = &after[..stmt_end];
        rest = &after[stmt_end..];
        let target = first_url(stmt).unwrap_or_default();
        match resolve_ref(&target, base) {
            Ref::Keep => {
                out.push_str("@import");
                out.push_str(stmt);
            }
            Ref::Remote(url) => {
                let bytes = map.fetch(&url).map_err(|m| fetch_error(&url, m))?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let sub_base = match map.get(&url) {
                    Some(p) => CssBase::LocalFile(p.to_path_buf()),
                    None => CssBase::Remote(url.clone()),
                };
                out.push_str(&format!("/* inlined: {url} */\n"));
                out.push_str(&inline_css(&text, &sub_base, map, log, depth + 1)?);
                out.push('\n');
            }
            Ref::Local(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    ProducerError::AssetFetchFailed(format!("{}: {e}", path.display()))
                })?;
                out.push_str(&inline_css(
                    &text,
                    &CssBase::LocalFile(path),
                    map,
                    log,
                    depth + 1,
                )?);
                out.push('\n');
            }
        }
    }
    out.push_str(rest);
    inline_urls(&out, base, map, log)
}

enum Ref {
    Keep,
    Remote(String),
    Local(PathBuf),
}

fn resolve_ref(target: &str, base: &CssBase) -> Ref {
    let t = target.trim();
    if t.is_empty() || t.starts_with("data:") || t.starts_with('#') {
        return Ref::Keep;
    }
    match base {
        CssBase::Compiled => {
            if is_remote(t) {
                Ref::Remote(join_url("https://invalid/", t))
            } else {
                Ref::Keep
            }
        }
        CssBase::Remote(b) => Ref::Remote(join_url(b, t)),
        CssBase::LocalFile(p) => {
            if is_remote(t) {
                Ref::Remote(join_url("https://invalid/", t))
            } else {
                let clean = t.split(['?', '#']).next().unwrap_or(t);
                Ref::Local(p.parent().unwrap_or(Path::new(".")).join(clean))
            }
        }
    }
}

fn fetch_error(url: &str, message: String) -> ProducerError {
    if is_font_url(url) {
        ProducerError::FontFetchFailed(message)
    } else {
        ProducerError::AssetFetchFailed(message)
    }
}

fn inline_urls(css: &str, base: &CssBase, map: &AssetMap, log: &mut InlineLog) -> Result<String> {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(pos) = find_ci(rest, "url(") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 4..];
        let close = after.find(')').map_or(after.len(), |p| p);
        let raw = &after[..close];
        let target = raw.trim().trim_matches(['"', '\'']).to_string();
        rest = &after[(close + 1).min(after.len())..];
        let (bytes, key) = match resolve_ref(&target, base) {
            Ref::Keep => {
                out.push_str("url(");
                out.push_str(raw);
                out.push(')');
                continue;
            }
            Ref::Remote(url) => (map.fetch(&url).map_err(|m| fetch_error(&url, m))?, url),
            Ref::Local(path) => (
                std::fs::read(&path).map_err(|e| {
                    fetch_error(
                        &path.to_string_lossy(),
                        format!("{} (referenced from a stylesheet): {e}", path.display()),
                    )
                })?,
                path.display().to_string(),
            ),
        };
        let mime = mime_for(&key);
        if mime.starts_with("font/") {
            log.fonts.insert(key.clone(), bytes.len() as u64);
        }
        out.push_str(&format!("url(\"{}\")", data_uri(mime, &bytes)));
    }
    out.push_str(rest);
    Ok(out)
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.to_ascii_lowercase().find(needle)
}

/// Byte offset just past the URL token of an `@import` (quotes respected).
fn import_url_end(after: &str) -> usize {
    let trimmed = after.trim_start();
    let lead = after.len() - trimmed.len();
    let b = trimmed.as_bytes();
    let quoted_end = |start: usize| -> Option<usize> {
        let q = *b.get(start)?;
        if q == b'"' || q == b'\'' {
            trimmed[start + 1..]
                .find(q as char)
                .map(|p| start + 1 + p + 1)
        } else {
            None
        }
    };
    let end = if trimmed.len() >= 4 && trimmed[..4].eq_ignore_ascii_case("url(") {
        let inner = 4 + (trimmed[4..].len() - trimmed[4..].trim_start().len());
        let after_q = quoted_end(inner).unwrap_or(inner);
        trimmed[after_q..].find(')').map(|p| after_q + p + 1)
    } else {
        quoted_end(0)
    };
    lead + end.unwrap_or(0)
}

/// The URL in an `@import` statement: `url("x")`, `url(x)` or `"x"`.
fn first_url(stmt: &str) -> Option<String> {
    let s = stmt.trim_start();
    if let Some(p) = find_ci(s, "url(") {
        let after = &s[p + 4..];
        let close = after.find(')')?;
        return Some(after[..close].trim().trim_matches(['"', '\'']).to_string());
    }
    let q = s.chars().next()?;
    if q == '"' || q == '\'' {
        let end = s[1..].find(q)?;
        return Some(s[1..1 + end].to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joining() {
        assert_eq!(
            join_url("https://a.com/x/y.css", "f.woff2"),
            "https://a.com/x/f.woff2"
        );
        assert_eq!(
            join_url("https://a.com/x/y.css?q=1", "/f.woff2"),
            "https://a.com/f.woff2"
        );
        assert_eq!(
            join_url("https://a.com/x/y.css", "//b.com/z"),
            "https://b.com/z"
        );
    }

    #[test]
    fn inlines_mapped_import_and_fonts_and_fails_closed_on_fonts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/f.woff2"), b"FONTDATA").unwrap();
        std::fs::write(
            dir.path().join("font.css"),
            "@font-face{font-family:'X';src:url(./files/f.woff2) format('woff2')}",
        )
        .unwrap();
        let url = "https://fonts.googleapis.com/css2?family=X:wght@400";
        let mut map = AssetMap::default();
        map.insert(format!("{url};700"), dir.path().join("font.css"));
        let mut log = InlineLog::default();
        let css = format!("@import url(\"{url};700\");\nbody{{background:url(img.png)}}");
        let out = inline_css(&css, &CssBase::Compiled, &map, &mut log, 0).unwrap();
        assert!(out.contains("data:font/woff2;base64,Rk9OVERBVEE="), "{out}");
        assert!(out.contains("url(img.png)"));
        assert_eq!(log.fonts.len(), 1);

        let err = inline_css(
            "@import url('https://fonts.googleapis.com/css2?family=Missing');",
            &CssBase::Compiled,
            &AssetMap::default(),
            &mut InlineLog::default(),
            0,
        )
        .unwrap_err();
        assert_eq!(err.name(), "FONT_FETCH_FAILED");
        assert!(err.to_string().contains("HF_ASSET_MAP"));
    }
}
