//! Web fonts that are loaded before the page's first script runs.
//!
//! An `@font-face` rule loads its face lazily and asynchronously, even
//! from a `data:` URL: the face is fetched when a layout first needs it and
//! is ready some time later. A page script that measures text while it
//! runs (GSAP reading an element's `translate(-50%, -50%)` as pixels and
//! deciding from its width whether it was a percentage) sees the fallback
//! font's metrics or the face's own, depending on which came first. Seen
//! here as a title placed 0.08 px apart in about one chunk in ten, so the
//! same plan gave two different videos.
//!
//! A `FontFace` built from bytes is loaded synchronously. So the plan
//! moves every top-level `@font-face` of its `<style>` elements whose
//! source is a `data:` URL or a font file in the project into one script
//! at the top of `<head>` that adds those faces to `document.fonts` before
//! any script of the page runs. Text is then laid out with its own face
//! from the first layout on, in every chunk, on every machine.
//!
//! A family is moved only when all its rules can be (a rule the script
//! cannot reproduce stays, and with it the family's other rules, so their
//! order keeps deciding which face wins). Rules inside `@media` or
//! `@supports`, in a `<style media>` or a `<template>`, or whose source is
//! remote or `local()`, stay as they are.

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;

use super::css::skip_string;
use crate::plan::compile::Compiled;
use crate::plan::html::{self, Tag};

/// CSS descriptors of `@font-face` and their `FontFace` dictionary names.
const DESCRIPTORS: [(&str, &str); 10] = [
    ("font-style", "style"),
    ("font-weight", "weight"),
    ("font-stretch", "stretch"),
    ("unicode-range", "unicodeRange"),
    ("font-feature-settings", "featureSettings"),
    ("font-display", "display"),
    ("ascent-override", "ascentOverride"),
    ("descent-override", "descentOverride"),
    ("line-gap-override", "lineGapOverride"),
    ("size-adjust", "sizeAdjust"),
];

/// Fonts larger than this are left to their rule: the script carries
/// every moved face as base64 in the page.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// One `@font-face` rule found in a `<style>` body.
struct Rule {
    /// Byte span of the whole rule in the page.
    span: (usize, usize),
    /// Lower-cased family name, for grouping.
    key: String,
    /// `None` when the script cannot reproduce the rule.
    face: Option<Face>,
}

/// What the script needs to add one face.
struct Face {
    family: String,
    base64: String,
    /// `(FontFace key, CSS name, value)`.
    descriptors: Vec<(&'static str, &'static str, String)>,
}

/// Moves the convertible `@font-face` rules of `compiled`'s page into a
/// script at the top of its `<head>`; returns how many faces it moved.
/// `base` is the page's directory, `project_dir` the limit of the files a
/// relative `url()` may read.
pub fn load_before_scripts(compiled: &mut Compiled, base: &Path, project_dir: &Path) -> usize {
    let tags = html::scan(&compiled.html);
    let rules = style_rules(&compiled.html, &tags, base, project_dir);
    let blocked: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.face.is_none())
        .map(|r| r.key.as_str())
        .collect();
    let moved: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.face.is_some() && !blocked.contains(r.key.as_str()))
        .collect();
    if moved.is_empty() {
        return 0;
    }
    let script = script(moved.iter().filter_map(|r| r.face.as_ref()));
    let at = script_position(&compiled.html, &tags);
    let mut edits: Vec<(usize, usize, String)> = moved
        .iter()
        .map(|r| (r.span.0, r.span.1, String::new()))
        .collect();
    edits.push((at, at, script));
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (s, e, r) in edits {
        compiled.html.replace_range(s..e, &r);
    }
    moved.len()
}

/// Every top-level `@font-face` of the page's active `<style>` elements.
fn style_rules(html: &str, tags: &[Tag], base: &Path, project_dir: &Path) -> Vec<Rule> {
    let templates = template_spans(html, tags);
    let mut out = Vec::new();
    for tag in tags.iter().filter(|t| t.name == "style") {
        let inert = tag.attr("media").is_some_and(|m| !m.trim().is_empty())
            || templates.iter().any(|(a, b)| (*a..*b).contains(&tag.start));
        let Some((b0, b1, _)) = tag.body else {
            continue;
        };
        for (s, e, body) in font_face_blocks(&html[b0..b1]) {
            let decls = declarations(body);
            let family = decls
                .iter()
                .find(|(k, _)| k == "font-family")
                .map(|(_, v)| unquote(v));
            let Some(family) = family else { continue };
            let face = (!inert)
                .then(|| face(&family, &decls, base, project_dir))
                .flatten();
            out.push(Rule {
                span: (b0 + s, b0 + e),
                key: family.to_lowercase(),
                face,
            });
        }
    }
    out
}

/// Spans from each `<template>` to its closing tag: their styles are inert.
fn template_spans(html: &str, tags: &[Tag]) -> Vec<(usize, usize)> {
    let lower = html.to_ascii_lowercase();
    tags.iter()
        .filter(|t| t.name == "template")
        .map(|t| {
            let end = lower[t.end..]
                .find("</template")
                .map_or(html.len(), |p| t.end + p);
            (t.start, end)
        })
        .collect()
}

/// The face a rule declares, when the script can add it as the rule would.
fn face(family: &str, decls: &[(String, String)], base: &Path, project_dir: &Path) -> Option<Face> {
    let mut base64 = None;
    let mut descriptors = Vec::new();
    for (name, value) in decls {
        match name.as_str() {
            "font-family" => {}
            "src" => base64 = Some(source_bytes(value, base, project_dir)?),
            _ => {
                let (css, key) = DESCRIPTORS.iter().find(|(css, _)| css == name)?;
                descriptors.push((*key, *css, value.clone()));
            }
        }
    }
    Some(Face {
        family: family.to_string(),
        base64: base64?,
        descriptors,
    })
}

/// The font of a `src` whose first source is a base64 `data:` URL or a
/// file in the project, as base64.
fn source_bytes(src: &str, base: &Path, project_dir: &Path) -> Option<String> {
    let rest = src.trim_start();
    let rest = rest
        .get(..4)?
        .eq_ignore_ascii_case("url(")
        .then(|| &rest[4..])?;
    let close = rest.find(')')?;
    let url = unquote(rest[..close].trim());
    if let Some(data) = url.strip_prefix("data:") {
        let (meta, payload) = data.split_once(',')?;
        if !meta.to_ascii_lowercase().ends_with(";base64") {
            return None;
        }
        let clean: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(&clean)
            .ok()
            .map(|_| clean);
    }
    if url.is_empty() || url.contains(':') || url.starts_with('/') || url.contains(['?', '#']) {
        return None;
    }
    let path = base.join(url);
    let real = path.canonicalize().ok()?;
    let root = project_dir.canonicalize().ok()?;
    if !real.starts_with(&root) || real.metadata().ok()?.len() > MAX_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(&real).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The script that adds `faces` to `document.fonts`. A face whose
/// descriptors `FontFace` refuses falls back to its rule, as CSS keeps a
/// face whose descriptor it ignores.
fn script<'f>(faces: impl Iterator<Item = &'f Face>) -> String {
    let list: Vec<serde_json::Value> = faces
        .map(|f| {
            let desc: serde_json::Map<String, serde_json::Value> = f
                .descriptors
                .iter()
                .map(|(k, _, v)| (k.to_string(), v.clone().into()))
                .collect();
            let css: String = f
                .descriptors
                .iter()
                .map(|(_, c, v)| format!("{c}:{v};"))
                .collect();
            serde_json::json!([f.family, f.base64, desc, css])
        })
        .collect();
    // `</` cannot end the script early.
    let json = serde_json::to_string(&list)
        .expect("strings serialize")
        .replace("</", "<\\/");
    format!(
        "<script data-hyperframes-font-faces>(function(){{var F={json};if(typeof FontFace!==\"function\"||!document.fonts)return;for(var i=0;i<F.length;i++){{var f=F[i];try{{var b=atob(f[1]),u=new Uint8Array(b.length);for(var j=0;j<b.length;j++)u[j]=b.charCodeAt(j);document.fonts.add(new FontFace(f[0],u,f[2]));}}catch(e){{var s=document.createElement(\"style\");s.textContent=\"@font-face{{font-family:\"+JSON.stringify(f[0])+\";src:url(data:font/woff2;base64,\"+f[1]+\");\"+f[3]+\"}}\";(document.head||document.documentElement).appendChild(s);}}}}}})();</script>"
    )
}

/// Where the script goes: first in `<head>` (before any page script),
/// else after `<html>`, else after the doctype, so the page keeps its mode.
fn script_position(html: &str, tags: &[Tag]) -> usize {
    for name in ["head", "html"] {
        if let Some(t) = tags.iter().find(|t| t.name == name) {
            return t.end;
        }
    }
    let lower = html.trim_start().to_ascii_lowercase();
    if lower.starts_with("<!doctype") {
        let lead = html.len() - html.trim_start().len();
        return html[lead..].find('>').map_or(0, |p| lead + p + 1);
    }
    0
}

/// `(start, end, body)` of every `@font-face { ... }` at the top level of
/// a style sheet (not inside `@media` or `@supports`).
fn font_face_blocks(css: &str) -> Vec<(usize, usize, &str)> {
    let bytes = css.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = css[i + 2..].find("*/").map_or(bytes.len(), |p| i + 4 + p);
                continue;
            }
            q @ (b'"' | b'\'') => i = skip_string(bytes, i, q),
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'@' if depth == 0
                && css
                    .get(i..i + 10)
                    .is_some_and(|s| s.eq_ignore_ascii_case("@font-face")) =>
            {
                let Some(open) = css[i..].find('{').map(|p| i + p) else {
                    break;
                };
                let Some(close) = block_end(bytes, open) else {
                    break;
                };
                out.push((i, close + 1, &css[open + 1..close]));
                i = close + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Index of the `}` closing the block opened at `open`.
fn block_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => i = skip_string(bytes, i, q),
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `name: value` pairs of a rule body, split at `;` outside strings,
/// parentheses (a `data:` URL holds one) and comments.
fn declarations(body: &str) -> Vec<(String, String)> {
    let bytes = body.as_bytes();
    let mut parts = Vec::new();
    let (mut start, mut parens, mut i) = (0, 0usize, 0);
    let mut text = String::new();
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                text.push_str(&body[start..i]);
                i = body[i + 2..].find("*/").map_or(bytes.len(), |p| i + 4 + p);
                start = i;
                continue;
            }
            q @ (b'"' | b'\'') => i = skip_string(bytes, i, q),
            b'(' => parens += 1,
            b')' => parens = parens.saturating_sub(1),
            b';' if parens == 0 => {
                text.push_str(&body[start..i]);
                parts.push(std::mem::take(&mut text));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    text.push_str(&body[start.min(body.len())..]);
    parts.push(text);
    parts
        .iter()
        .filter_map(|p| {
            let (k, v) = p.split_once(':')?;
            let k = k.trim().to_ascii_lowercase();
            (!k.is_empty()).then(|| (k, v.trim().to_string()))
        })
        .collect()
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.replace(&format!("\\{q}"), &q.to_string());
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Compiled {
        Compiled {
            html: html.to_string(),
            inline_log: Default::default(),
            remote_files: Vec::new(),
        }
    }

    const DATA: &str = "url(data:font/woff2;base64,AAEC) format(\"woff2\")";

    #[test]
    fn data_faces_move_into_a_script_first_in_head() {
        let mut c = page(&format!(
            "<!doctype html><html><head><script>x()</script><style>/* a */@font-face{{font-family:\"Brand One\";src:{DATA};font-weight:700;font-display:swap}}\n.t{{color:red}}</style></head><body></body></html>"
        ));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_before_scripts(&mut c, dir.path(), dir.path()), 1);
        let h = &c.html;
        let script = h.find("<script data-hyperframes-font-faces>").unwrap();
        assert!(script < h.find("<script>x()").unwrap(), "{h}");
        assert!(!h.contains("@font-face{font-family:\"Brand One\""), "{h}");
        assert!(h.contains(".t{color:red}"), "{h}");
        assert!(
            h.contains(r#"["Brand One","AAEC",{"weight":"700","display":"swap"},"font-weight:700;font-display:swap;"]"#),
            "{h}"
        );
    }

    #[test]
    fn a_family_with_a_rule_the_script_cannot_reproduce_stays_whole() {
        let html = format!(
            "<html><head><style>@font-face{{font-family:A;src:{DATA}}}@font-face{{font-family:a;src:url(https://x.test/a.woff2)}}@font-face{{font-family:B;src:local(B)}}@font-face{{font-family:C;src:{DATA};font-variant:small-caps}}@media print{{@font-face{{font-family:D;src:{DATA}}}}}</style><style media=print>@font-face{{font-family:E;src:{DATA}}}</style></head><template><style>@font-face{{font-family:G;src:{DATA}}}</style></template></html>"
        );
        let mut c = page(&html);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_before_scripts(&mut c, dir.path(), dir.path()), 0);
        assert_eq!(c.html, html);
    }

    #[test]
    fn a_project_file_is_read_and_a_path_out_of_the_project_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        std::fs::create_dir_all(project.join("fonts")).unwrap();
        std::fs::write(project.join("fonts/b.woff2"), [1u8, 2, 3]).unwrap();
        std::fs::write(dir.path().join("out.woff2"), [9u8]).unwrap();
        let mut c = page(
            "<head><style>@font-face{font-family:'B</script>';src:url('fonts/b.woff2')}@font-face{font-family:O;src:url(../out.woff2)}</style></head>",
        );
        assert_eq!(load_before_scripts(&mut c, &project, &project), 1);
        assert!(
            c.html.contains(r#"["B<\/script>","AQID",{},""]"#),
            "{}",
            c.html
        );
        assert!(c.html.contains("@font-face{font-family:O;"), "{}", c.html);
    }

    #[test]
    fn no_head_puts_the_script_after_the_doctype() {
        let mut c = page(&format!(
            "<!DOCTYPE html>\n<style>@font-face{{font-family:A;src:{DATA}}}</style>"
        ));
        let dir = tempfile::tempdir().unwrap();
        load_before_scripts(&mut c, dir.path(), dir.path());
        assert!(
            c.html
                .starts_with("<!DOCTYPE html><script data-hyperframes-font-faces>"),
            "{}",
            c.html
        );
    }
}
