//! Deterministic fonts, as the reference's `deterministicFonts.ts` makes
//! them: a plan embeds, as `@font-face` rules with `data:` URLs in its
//! page, the faces of every family the composition names that is one of
//! the embedded families ([`catalog`]) or an alias of one ([`aliases`]),
//! only the weights it uses ([`weights`]). A `font-family` whose first
//! name is generic (`sans-serif`, `monospace`, `-apple-system`, ...) gets
//! Inter in front, as the reference does. So the page names no host font
//! for its latin text, and draws it the same on this machine, in the
//! local stack and on Lambda; the faces are in the plan's files, which
//! the plan hash covers.
//!
//! What would still fall back to a host font (a family neither embedded,
//! nor an alias, nor given an `@font-face` by the project) is returned as
//! a [`HostFallback`] naming the family and the element; the plan warns
//! or refuses ([`HostFonts`]).

pub mod aliases;
pub mod catalog;
pub(crate) mod css;
pub mod early;
pub(crate) mod weights;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine;
use serde::Serialize;

use crate::plan::compile::Compiled;
use crate::plan::digest::sha256_hex;
use crate::plan::html::{self, Tag};
use catalog::Family;
use css::Decl;
use weights::Used;

/// What a plan does about text that would be drawn with a host font.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostFonts {
    /// Plan, and report each place (local renders: the host is the viewer's).
    #[default]
    Warn,
    /// Refuse the plan (distributed renders: every machine must draw alike).
    Reject,
}

/// Text that would be drawn with a host font: `family` is the name the
/// browser would look up among the host's fonts, `element` the rule or
/// element that asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostFallback {
    pub family: String,
    pub element: String,
    pub declaration: String,
    /// The file the declaration is in, relative to the project.
    pub file: String,
}

impl std::fmt::Display for HostFallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "font {:?} is not embedded, so {} (font-family: {}, in {}) is drawn with a host font",
            self.family, self.element, self.declaration, self.file
        )
    }
}

/// What to tell the user about host fonts, with the fixes.
pub fn advice() -> String {
    let names: Vec<&str> = catalog::FAMILIES.iter().map(|f| f.name).collect();
    format!(
        "use an embedded family ({}) or an alias of one (Arial, Helvetica, Times New Roman, Courier New, ...), or give the family an @font-face with a font file in the project",
        names.join(", ")
    )
}

/// One source of CSS: a `<style>` body, a `style` attribute or a local
/// stylesheet, with its declarations.
struct Source<'t> {
    kind: SourceKind<'t>,
    text: String,
    decls: Vec<Decl>,
    /// Offsets in `text` where an embedded primary is inserted.
    inserts: BTreeSet<usize>,
}

enum SourceKind<'t> {
    Style { body_start: usize },
    Attr(&'t Tag),
    File { rel: String },
}

/// A family a page script applies at run time (a font variable's value),
/// which no stylesheet names: `label` says where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFamily {
    pub value: String,
    pub label: String,
}

/// Embeds the faces `compiled` uses into its page (and gives generic
/// primaries Inter, rewriting the project's local stylesheets in the
/// plan's copy); returns where text still falls back to a host font.
pub fn embed(
    compiled: &mut Compiled,
    entry: &Path,
    project_dir: &Path,
    runtime: &[RuntimeFamily],
) -> Vec<HostFallback> {
    let tags = html::scan(&compiled.html);
    let entry_name = entry
        .strip_prefix(project_dir)
        .unwrap_or(entry)
        .display()
        .to_string();
    let mut sources = collect_sources(&compiled.html, &tags, entry, project_dir);
    let mut found = analyse(&mut sources, &entry_name);
    add_runtime(&mut found, &sources, runtime, &entry_name);
    let used = used_weights(&sources, &tags, &compiled.html);
    let face_css = face_rules(&found.requested, &used, &mut compiled.inline_log.fonts);
    apply(compiled, &tags, sources, &face_css);
    found.fallbacks
}

/// Every `<style>`, `style` attribute and local stylesheet of the page.
fn collect_sources<'t>(
    html: &str,
    tags: &'t [Tag],
    entry: &Path,
    project_dir: &Path,
) -> Vec<Source<'t>> {
    let mut out = Vec::new();
    let dir = entry.parent().unwrap_or(project_dir);
    let rel_dir = dir.strip_prefix(project_dir).unwrap_or(Path::new(""));
    for tag in tags {
        if tag.name == "style" {
            let (b0, b1, _) = tag.body.expect("style tags carry a body span");
            out.push(source(
                SourceKind::Style { body_start: b0 },
                html[b0..b1].to_string(),
                css::sheet,
            ));
        }
        if let Some(style) = tag.attr("style") {
            out.push(source(
                SourceKind::Attr(tag),
                style.to_string(),
                css::inline,
            ));
        }
        let rel = tag.attr("rel").unwrap_or("").to_ascii_lowercase();
        let href = tag.attr("href").unwrap_or("");
        if tag.name == "link" && rel.contains("stylesheet") && !crate::plan::assets::is_remote(href)
        {
            let clean = href.split(['?', '#']).next().unwrap_or(href);
            let rel_path = rel_dir.join(clean.trim_start_matches("./"));
            if clean.contains("..") || clean.starts_with('/') {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(project_dir.join(&rel_path)) {
                let rel = rel_path.display().to_string();
                out.push(source(SourceKind::File { rel }, text, css::sheet));
            }
        }
    }
    out
}

fn source<'t>(kind: SourceKind<'t>, text: String, parse: fn(&str) -> Vec<Decl>) -> Source<'t> {
    let decls = parse(&text);
    Source {
        kind,
        text,
        decls,
        inserts: BTreeSet::new(),
    }
}

/// What the declarations ask for: the embedded families (under the names
/// the page uses, in order of first use) and the host fallbacks.
#[derive(Default)]
struct Found {
    requested: Vec<(String, &'static Family)>,
    fallbacks: Vec<HostFallback>,
}

fn analyse(sources: &mut [Source], entry_name: &str) -> Found {
    let faces: BTreeSet<String> = all_decls(sources)
        .filter(|d| d.in_font_face() && d.prop == "font-family")
        .flat_map(|d| css::families(&d.value))
        .map(|f| f.to_ascii_lowercase())
        .collect();
    let defined: BTreeSet<String> = all_decls(sources)
        .filter(|d| d.prop.starts_with("--") && !d.value.is_empty())
        .map(|d| d.prop.clone())
        .collect();
    // Generic primaries get the embedded primary in front, in the
    // declarations and in every custom property (as the reference's
    // `normalizeSystemFontPrimaryFamilies` does), also inside the fallback
    // of a `var()` whose property no rule defines.
    let mut vars = BTreeMap::new();
    let mut promoted = BTreeMap::new();
    for (si, s) in sources.iter_mut().enumerate() {
        for (di, d) in s.decls.iter().enumerate() {
            let Some(off) = family_start(d) else {
                continue;
            };
            let mut value = d.value[off..].to_string();
            // A shorthand's generic primary is left as the reference
            // leaves it (its normalizer reads `font-family` only).
            let slot = (d.prop != "font")
                .then(|| primary_slot(&value, &defined))
                .flatten();
            if let Some(at) = slot {
                value.insert_str(at, &format!("{}, ", aliases::GENERIC_PRIMARY));
                // The value as written has no comment before the slot.
                if s.text[d.value_start..].starts_with(&d.value[..off + at]) {
                    s.inserts.insert(d.value_start + off + at);
                }
            }
            if d.prop.starts_with("--") {
                vars.insert(d.prop.clone(), value);
            } else {
                promoted.insert((si, di), value);
            }
        }
    }
    let mut found = Found::default();
    for (si, s) in sources.iter().enumerate() {
        for (di, d) in s.decls.iter().enumerate() {
            let Some(value) = promoted.get(&(si, di)) else {
                continue;
            };
            let names = resolve_vars(value, &vars, 0);
            let host = first_host_family(&names, &faces, &mut found.requested);
            // A shorthand's families are embedded when the catalog has
            // them; one it leaves to a host font is not reported, as the
            // reference's check (of `font-family` only) does not.
            if let Some(family) = host.filter(|_| d.prop != "font") {
                found.fallbacks.push(HostFallback {
                    family,
                    element: describe(s, d),
                    declaration: d.value.clone(),
                    file: match &s.kind {
                        SourceKind::File { rel } => rel.clone(),
                        _ => entry_name.to_string(),
                    },
                });
            }
        }
    }
    found.fallbacks.dedup();
    found
}

/// Where a declaration's family list starts in its value: all of a
/// `font-family` or a custom property, the tail of a `font` shorthand.
fn family_start(d: &Decl) -> Option<usize> {
    if d.in_font_face() {
        return None;
    }
    match d.prop.as_str() {
        "font-family" => Some(0),
        "font" => css::shorthand_family_start(&d.value),
        p if p.starts_with("--") => Some(0),
        _ => None,
    }
}

/// Font variables' families: embedded like the stylesheets' (under the
/// value's own names); one that would be a host font is reported.
fn add_runtime(found: &mut Found, sources: &[Source], runtime: &[RuntimeFamily], entry_name: &str) {
    let faces: BTreeSet<String> = all_decls(sources)
        .filter(|d| d.in_font_face() && d.prop == "font-family")
        .flat_map(|d| css::families(&d.value))
        .map(|f| f.to_ascii_lowercase())
        .collect();
    for r in runtime {
        let names = css::families(&r.value);
        if let Some(family) = first_host_family(&names, &faces, &mut found.requested) {
            found.fallbacks.push(HostFallback {
                family,
                element: format!("the text that {} styles", r.label),
                declaration: r.value.clone(),
                file: entry_name.to_string(),
            });
        }
    }
}

fn all_decls<'a>(sources: &'a [Source]) -> impl Iterator<Item = &'a Decl> {
    sources.iter().flat_map(|s| s.decls.iter())
}

/// Where the embedded primary goes in a value (an offset into it), as the
/// reference's `systemPrimaryReplacement` decides: before a generic first
/// family, or inside the fallback of a leading `var()` whose property is
/// not defined.
fn primary_slot(value: &str, defined: &BTreeSet<String>) -> Option<usize> {
    if let Some(var) = css::var_ref(value) {
        if defined.contains(&var.name) {
            return None;
        }
        let (a, b) = var.fallback?;
        let fallback = &value[a..b];
        let lead = fallback.len() - fallback.trim_start().len();
        return primary_slot(fallback.trim(), defined).map(|at| a + lead + at);
    }
    let lead = value.len() - value.trim_start().len();
    css::families(value)
        .first()
        .is_some_and(|f| aliases::is_generic(f))
        .then_some(lead)
}

/// The names a value draws with, as the reference's
/// `resolveDeclaredFamilies` reads them: a leading `var(--x, fallback)`
/// becomes the property's families (or the fallback's when no rule
/// defines it), then the value's other names; eight levels at most.
fn resolve_vars(value: &str, vars: &BTreeMap<String, String>, depth: usize) -> Vec<String> {
    let names = css::families(value);
    let Some(var) = css::var_ref(value).filter(|_| depth < 8) else {
        return names;
    };
    let source = match (vars.get(&var.name).filter(|v| !v.is_empty()), var.fallback) {
        (Some(defined), _) => defined.as_str(),
        (None, Some((a, b))) => &value[a..b],
        (None, None) => return names,
    };
    resolve_vars(source, vars, depth + 1)
        .into_iter()
        .chain(names.into_iter().skip(1))
        .collect()
}

/// Walks a family list as the browser does: the first name that an
/// embedded face or the project's `@font-face` serves draws the text
/// (requested, if embedded); a generic name reached before that is a host
/// font, and so is an unknown name (which the host may or may not have).
fn first_host_family(
    names: &[String],
    faces: &BTreeSet<String>,
    requested: &mut Vec<(String, &'static Family)>,
) -> Option<String> {
    let mut unknown = None;
    for name in names {
        let lower = name.to_ascii_lowercase();
        if aliases::is_keyword(name) || lower.starts_with("var(") || faces.contains(&lower) {
            return None;
        }
        if let Some(family) = aliases::resolve(name) {
            if !requested.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                requested.push((name.clone(), family));
            }
            return unknown;
        }
        if aliases::is_generic(name) {
            return Some(unknown.unwrap_or_else(|| name.clone()));
        }
        unknown.get_or_insert_with(|| name.clone());
    }
    unknown
}

/// The rule or element a declaration belongs to, as a user finds it.
fn describe(s: &Source, d: &Decl) -> String {
    match &s.kind {
        SourceKind::Attr(tag) => {
            let mut out = format!("<{}", tag.name);
            for key in ["id", "class"] {
                if let Some(v) = tag.attr(key) {
                    out.push_str(&format!(" {key}=\"{v}\""));
                }
            }
            out + ">"
        }
        _ => format!("the text of `{}`", d.selector),
    }
}

/// The weights the page may draw text with (see [`Used`]).
fn used_weights(sources: &[Source], tags: &[Tag], html: &str) -> Used {
    let mut used = Used::default();
    for d in all_decls(sources).filter(|d| !d.in_font_face()) {
        match d.prop.as_str() {
            "font-weight" => used.add_value(&d.value),
            "font" => used.add_shorthand(&d.value),
            _ => {}
        }
    }
    let bold_tags = ["b", "strong", "h1", "h2", "h3", "h4", "h5", "h6", "th"];
    if tags.iter().any(|t| bold_tags.contains(&t.name.as_str())) {
        used.add(700);
    }
    // A page script that sets a weight (GSAP's fontWeight, style.fontWeight);
    // inlined libraries are not the page's.
    let scripts_set_weight = tags.iter().filter(|t| t.name == "script").any(|t| {
        let (b0, b1, _) = t.body.expect("script tags carry a body span");
        let body = &html[b0..b1];
        !body.starts_with("/* inlined: ")
            && (body.contains("fontWeight") || body.contains("font-weight"))
    });
    if scripts_set_weight {
        used = Used::All;
    }
    used
}

/// The `@font-face` rules of the requested families' used faces; each
/// face is recorded in the plan's font snapshot with its digest.
fn face_rules(
    requested: &[(String, &'static Family)],
    used: &Used,
    log: &mut BTreeMap<String, u64>,
) -> String {
    let mut out = String::new();
    for (name, family) in requested {
        let available: Vec<u16> = family.faces.iter().map(|f| f.weight).collect();
        for weight in used.faces(&available) {
            let face = family
                .faces
                .iter()
                .find(|f| f.weight == weight)
                .expect("picked from the family");
            let data = base64::engine::general_purpose::STANDARD.encode(face.bytes);
            out.push_str(&format!(
                "@font-face{{font-family:\"{}\";src:url(data:font/woff2;base64,{data}) format(\"woff2\");font-style:normal;font-weight:{weight};font-display:block}}\n",
                name.replace('\\', "\\\\").replace('"', "\\\"")
            ));
            let key = format!(
                "embedded:{}/{} as {name:?} sha256:{}",
                family.package,
                face.file,
                sha256_hex(face.bytes)
            );
            log.insert(key, face.bytes.len() as u64);
        }
    }
    out
}

/// Writes the rewritten sources and the face rules (first in `<head>`, so
/// the project's own rules come after them).
fn apply(compiled: &mut Compiled, tags: &[Tag], sources: Vec<Source>, face_css: &str) {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for s in sources.into_iter().filter(|s| !s.inserts.is_empty()) {
        let text = insert_primary(&s.text, &s.inserts);
        match s.kind {
            SourceKind::Style { body_start } => {
                edits.push((body_start, body_start + s.text.len(), text));
            }
            SourceKind::Attr(tag) => {
                if let Some((v0, v1)) = attr_value_span(&compiled.html, tag, "style") {
                    edits.push((v0, v1, html::escape_attr(&text)));
                }
            }
            SourceKind::File { rel } => compiled.remote_files.push((rel, text.into_bytes())),
        }
    }
    if !face_css.is_empty() {
        let at = tags.iter().find(|t| t.name == "head").map_or(0, |t| t.end);
        edits.push((
            at,
            at,
            format!("<style data-hyperframes-deterministic-fonts>\n{face_css}</style>"),
        ));
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (s, e, r) in edits {
        compiled.html.replace_range(s..e, &r);
    }
}

fn insert_primary(text: &str, at: &BTreeSet<usize>) -> String {
    let mut out = text.to_string();
    for offset in at.iter().rev() {
        out.insert_str(*offset, &format!("{}, ", aliases::GENERIC_PRIMARY));
    }
    out
}

/// The byte span of a quoted attribute's raw value inside its tag.
fn attr_value_span(html: &str, tag: &Tag, name: &str) -> Option<(usize, usize)> {
    let raw = &html[tag.start..tag.end];
    let lower = raw.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find(name) {
        let at = from + p;
        from = at + name.len();
        let before = lower[..at].chars().last();
        if !before.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = lower[from..].trim_start();
        let Some(after_eq) = rest.strip_prefix('=') else {
            continue;
        };
        let value = after_eq.trim_start();
        let q = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let v0 = tag.start + raw.len() - value.len() + 1;
        let len = html[v0..tag.end].find(q)?;
        return Some((v0, v0 + len));
    }
    None
}

#[cfg(test)]
mod tests;
