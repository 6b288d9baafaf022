//! Mounting sub-compositions (`data-composition-src`) the way the
//! reference's render compiler does (`inlineSubCompositions.ts`,
//! `compositionScoping.ts`, `htmlCompiler.ts`), so a host and a component
//! can both use `#root` and a component sees its own variables:
//!
//! - the component's root element is kept as a wrapper inside the host, its
//!   `id` demoted to `data-hf-authored-id` and sized to fill the host; the
//!   host gets its `data-width`/`data-height` as pixels;
//! - the component's `<style>`s move to `<head>`, every selector scoped to
//!   the host (`#root` becomes the wrapper);
//! - its inline scripts move to the end of `<body>`, each run through
//!   `__hfRunScoped`, which scopes `document` lookups to the mount and
//!   `getVariables()` to the mount's values; external scripts are appended
//!   once (a host that already loads the same URL keeps its copy);
//! - the mount's values (its own declared defaults, then the host's
//!   `data-variable-values`) go into `window.__hfVariablesByComp`.
//!
//! Two or more mounts of one component among the same host's children get
//! runtime ids of their own (`card__hf1`, `card__hf2`, as the reference
//! names them): each has its own scope, variables and timeline key, so the
//! last mount's values no longer win for all of them.

use std::path::Path;

use serde_json::{Map, Value};

use crate::errors::{ProducerError, Result};
use crate::plan::assets;
use crate::plan::html::{self, Tag};
use crate::variables::{self, Problem, UrlCheck, Variables};

/// Attributes the flattened root loses: timing and identity belong to the host.
const STRIP: &[&str] = &[
    "data-composition-id",
    "data-composition-file",
    "data-start",
    "data-duration",
    "data-end",
    "data-track-index",
    "data-track",
    "data-composition-src",
    "data-hf-authored-duration",
    "data-hf-authored-end",
];

/// The page with its sub-compositions mounted, and what the mounts found.
#[derive(Debug, Default)]
pub struct Mounted {
    pub html: String,
    /// Host values that do not fit a component's declarations (warnings).
    pub problems: Vec<Problem>,
}

/// One host to mount: its authored id, the runtime id it gets when the
/// same component is mounted more than once beside it, and its source.
#[derive(Clone, Copy)]
struct Mount<'a> {
    host: &'a Tag,
    comp_id: Option<&'a str>,
    runtime_id: Option<&'a str>,
    src: &'a str,
}

/// The ids a mounted script runs under.
#[derive(Clone, Copy)]
struct ScriptIds<'a> {
    /// The mount's scope (its runtime id when renamed).
    scope: Option<&'a str>,
    /// The component root's own `id` (`#root`).
    authored_root: Option<&'a str>,
    /// The composition id the component was written with.
    authored_comp: Option<&'a str>,
}

/// For each host, a runtime id when its composition id is mounted more
/// than once among these hosts (`id__hf1`, `id__hf2`, ... in document
/// order); None keeps the authored id.
fn runtime_ids(
    hosts: &[Tag],
    read: &[(String, std::path::PathBuf, String)],
) -> Vec<Option<String>> {
    let ids: Vec<Option<String>> = hosts
        .iter()
        .zip(read)
        .map(|(host, (_, _, text))| {
            host.attr("data-composition-id")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| {
                    html::scan(&template_content(text))
                        .iter()
                        .find_map(|t| t.attr("data-composition-id"))
                        .map(|s| s.trim().to_string())
                })
        })
        .collect();
    let mut seen: std::collections::HashMap<&str, usize> = Default::default();
    ids.iter()
        .map(|id| {
            let id = id.as_deref()?;
            if ids.iter().flatten().filter(|o| *o == id).count() < 2 {
                return None;
            }
            let n = seen.entry(id).or_insert(0);
            *n += 1;
            Some(format!("{id}__hf{n}"))
        })
        .collect()
}

#[derive(Default)]
struct Inliner {
    styles: Vec<String>,
    external_scripts: Vec<String>,
    scripts: Vec<String>,
    by_comp: Map<String, Value>,
    problems: Vec<Problem>,
}

/// Mounts every `data-composition-src` host of `html` (the entry `file`),
/// reading components from under `project_dir`; installs the variables
/// runtime when the page uses variables or mounts anything.
pub fn mount(html: &str, project_dir: &Path, file: &Path) -> Result<Mounted> {
    let mut inliner = Inliner::default();
    let body = inliner.inline(html, project_dir, file, 0)?;
    let mounted =
        !inliner.scripts.is_empty() || !inliner.styles.is_empty() || !inliner.by_comp.is_empty();
    let problems = std::mem::take(&mut inliner.problems);
    let html = if mounted || uses_variables(&body) {
        inliner.finish(body)
    } else {
        body
    };
    Ok(Mounted { html, problems })
}

/// Whether a page needs the variables runtime. Pages that do not are left
/// byte for byte as they were.
fn uses_variables(html: &str) -> bool {
    [
        "data-composition-variables",
        "data-var-",
        "data-variable-values",
        "__hyperframes",
    ]
    .iter()
    .any(|m| html.contains(m))
}

impl Inliner {
    fn inline(
        &mut self,
        html: &str,
        project_dir: &Path,
        file: &Path,
        depth: usize,
    ) -> Result<String> {
        let hosts: Vec<Tag> = html::scan(html)
            .into_iter()
            .filter(|t| t.attr("data-composition-src").is_some())
            .collect();
        if hosts.is_empty() {
            return Ok(html.to_string());
        }
        if depth >= 8 {
            return Err(ProducerError::composition(
                file,
                "data-composition-src nesting deeper than 8; is there a cycle?",
            ));
        }
        let mut read = Vec::with_capacity(hosts.len());
        for host in &hosts {
            read.push(read_component(host, project_dir, file)?);
        }
        let ids = runtime_ids(&hosts, &read);
        let mut out = html.to_string();
        for ((host, (src, path, text)), runtime) in hosts.iter().zip(&read).zip(ids).rev() {
            let content = template_content(text);
            let content = self.inline(&content, project_dir, path, depth + 1)?;
            let mount = Mount {
                host,
                comp_id: host
                    .attr("data-composition-id")
                    .map(str::trim)
                    .filter(|s| !s.is_empty()),
                runtime_id: runtime.as_deref(),
                src,
            };
            let mounted = self.mount_one(&mount, text, &content, file);
            out.replace_range(host.start..host.end, &mounted.0);
            out.insert_str(host.start + mounted.0.len(), &mounted.1);
        }
        Ok(out)
    }

    /// The host's new opening tag and the content to put inside it.
    fn mount_one(
        &mut self,
        mount: &Mount,
        text: &str,
        content: &str,
        file: &Path,
    ) -> (String, String) {
        let Mount {
            host,
            comp_id,
            runtime_id,
            src,
        } = *mount;
        let tags = html::scan(content);
        let inner = tags
            .iter()
            .find(|t| t.attr("data-composition-id").is_some());
        let authored_comp = comp_id.map(str::to_string).or_else(|| {
            inner
                .and_then(|t| t.attr("data-composition-id"))
                .map(|s| s.trim().to_string())
        });
        let scope_id = runtime_id.map(str::to_string).or(authored_comp.clone());
        let authored = inner
            .and_then(|t| t.attr("id"))
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(id) = &scope_id {
            self.variables(host, id, src, text, file);
        }
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        for tag in &tags {
            match tag.name.as_str() {
                "style" => {
                    let (b0, b1, close) = tag.body.expect("style tags carry a body span");
                    let css = &content[b0..b1];
                    self.styles.push(match &scope_id {
                        Some(id) => scope_css(css, &scope_selector(id), authored),
                        None => css.to_string(),
                    });
                    edits.push((tag.start, close, String::new()));
                }
                "script" => {
                    let (b0, b1, close) = tag.body.expect("script tags carry a body span");
                    let ids = ScriptIds {
                        scope: scope_id.as_deref(),
                        authored_root: authored,
                        authored_comp: authored_comp.as_deref(),
                    };
                    self.script(tag, &content[b0..b1], ids);
                    edits.push((tag.start, close, String::new()));
                }
                _ => {}
            }
        }
        if let Some(inner) = inner {
            // The host carries the id when it has one or gets a runtime id.
            let keep_id = comp_id.is_none() && runtime_id.is_none();
            edits.push((inner.start, inner.end, flatten_root(inner, keep_id)));
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut body = content.to_string();
        for (s, e, r) in edits {
            body.replace_range(s..e, &r);
        }
        (host_tag(host, inner, src, runtime_id), body)
    }

    /// Records the mount's values and checks the host's against the
    /// component's declarations.
    fn variables(&mut self, host: &Tag, comp_id: &str, src: &str, text: &str, file: &Path) {
        let schema = variables::schema_for_html(text, src);
        let mut merged = schema.defaults();
        let at = format!(
            "{} [data-composition-id={comp_id:?}] data-variable-values",
            file_name(file)
        );
        if let Some(raw) = host.attr("data-variable-values") {
            match Variables::parse(raw, &at) {
                Ok(values) => {
                    for p in variables::validate(&schema, &values, UrlCheck::default()) {
                        let path = match p.path.strip_prefix("variables") {
                            Some(rest) => format!("{at}{rest}"),
                            None => p.path.clone(),
                        };
                        self.problems.push(Problem { path, ..p });
                    }
                    merged.extend(values.as_map().clone());
                }
                Err(message) => self.problems.push(Problem {
                    path: at.clone(),
                    kind: variables::ProblemKind::TypeMismatch,
                    message: format!("{message}; the reference ignores the attribute"),
                }),
            }
        } else {
            self.problems.extend(schema.problems.iter().cloned());
        }
        if !merged.is_empty() {
            self.by_comp
                .insert(comp_id.to_string(), Value::Object(merged));
        }
    }

    fn script(&mut self, tag: &Tag, body: &str, ids: ScriptIds) {
        if let Some(src) = tag.attr("src").map(str::trim).filter(|s| !s.is_empty()) {
            if !self.external_scripts.iter().any(|s| s == src) {
                self.external_scripts.push(src.to_string());
            }
            return;
        }
        let body = body.replace("</script", "<\\/script");
        let renamed = ids.authored_comp.filter(|a| Some(*a) != ids.scope);
        self.scripts.push(match (ids.scope, renamed) {
            (Some(id), None) => format!(
                "__hfRunScoped({}, {}, function (document, window, __hyperframes, gsap) {{\n{body}\n}});",
                js_literal(&Value::from(id)),
                js_literal(&ids.authored_root.map_or(Value::Null, Value::from)),
            ),
            // A renamed mount: its timeline key follows the runtime id.
            (Some(id), Some(authored)) => format!(
                "__hfRunScoped({}, {}, function (document, window, __hyperframes, gsap) {{\n{body}\n}}, {});",
                js_literal(&Value::from(id)),
                js_literal(&ids.authored_root.map_or(Value::Null, Value::from)),
                js_literal(&Value::from(authored)),
            ),
            (None, _) => body,
        });
    }

    /// Installs the runtime first in `<head>`, the scoped styles last in
    /// `<head>`, and the mounts' scripts last in `<body>`.
    fn finish(self, html: String) -> String {
        let tags = html::scan(&html);
        let existing: Vec<&str> = tags
            .iter()
            .filter(|t| t.name == "script")
            .filter_map(|t| t.attr("src"))
            .map(str::trim)
            .collect();
        let mut tail = String::new();
        for src in self
            .external_scripts
            .iter()
            .filter(|s| !existing.contains(&s.as_str()))
        {
            tail.push_str(&format!(
                "<script src=\"{}\"></script>",
                html::escape_attr(src)
            ));
        }
        if !self.scripts.is_empty() {
            tail.push_str(&format!(
                "<script data-hf-mounted-scripts>\n{}\n</script>",
                self.scripts.join("\n;\n")
            ));
        }
        let runtime = variables::RUNTIME_JS
            .replace("__HF_BY_COMP__", &js_literal(&Value::Object(self.by_comp)))
            .replace(
                "__HF_AUTHORED__",
                &js_literal(&Value::from(authored_slugs(&html))),
            );
        let head_start = tags
            .iter()
            .find(|t| t.name == "head")
            .or_else(|| tags.iter().find(|t| t.name == "html"))
            .map_or(0, |t| t.end);
        let lower = html.to_ascii_lowercase();
        let head_end = lower.find("</head>").unwrap_or(head_start);
        let body_end = lower.rfind("</body>").unwrap_or(html.len());
        let mut out = String::with_capacity(html.len() + runtime.len() + tail.len());
        out.push_str(&html[..head_start]);
        out.push_str(&format!(
            "<script data-hf-variables-runtime>\n{runtime}</script>"
        ));
        out.push_str(&html[head_start..head_end.max(head_start)]);
        if !self.styles.is_empty() {
            out.push_str(&format!(
                "<style data-hf-mounted-styles>\n{}\n</style>",
                self.styles.join("\n\n")
            ));
        }
        out.push_str(&html[head_end.max(head_start)..body_end.max(head_end.max(head_start))]);
        out.push_str(&tail);
        out.push_str(&html[body_end.max(head_end.max(head_start))..]);
        out
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The custom properties the page's own `<style>`s define (`--name:`), which
/// declared defaults must not override (the reference's define-if-absent).
fn authored_slugs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html::scan(html).iter().filter(|t| t.name == "style") {
        let (b0, b1, _) = tag.body.expect("style tags carry a body span");
        let css = &html[b0..b1];
        let mut rest = css;
        while let Some(p) = rest.find("--") {
            let after = &rest[p + 2..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(after.len());
            let name = format!("--{}", &after[..len]);
            if after[len..].trim_start().starts_with(':') && !out.contains(&name) {
                out.push(name);
            }
            rest = &after[len..];
        }
    }
    out.sort();
    out
}

/// A JSON value as a script literal that cannot close its `<script>`.
fn js_literal(v: &Value) -> String {
    v.to_string().replace('<', "\\u003c")
}

fn read_component(
    host: &Tag,
    project_dir: &Path,
    file: &Path,
) -> Result<(String, std::path::PathBuf, String)> {
    let src = host.attr("data-composition-src").unwrap_or("");
    let rel = src
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_start_matches("./");
    if rel.is_empty() || rel.contains("..") || rel.starts_with('/') || assets::is_remote(src) {
        return Err(ProducerError::composition(
            file,
            format!("data-composition-src={src:?} must be a relative path inside the project"),
        ));
    }
    let path = project_dir.join(rel);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ProducerError::composition(
            file,
            format!(
                "data-composition-src={src:?}: cannot read {} ({e})",
                path.display()
            ),
        )
    })?;
    Ok((src.to_string(), path, text))
}

/// The part of a sub-composition file that belongs inside its host, as
/// the reference's `planCompositionAssembly` takes it: the first
/// `<template>` element's content, else `<body>`'s with the `<head>`'s
/// styles and scripts in front (a full-document component keeps its
/// positioning and GSAP there); the `<head>`'s stylesheet links either
/// way. The tags are found by the tag scanner, so a comment that mentions
/// `<template>` (the registry's components describe their structure in
/// one) is not taken for it.
pub(crate) fn template_content(text: &str) -> String {
    let tags = html::scan(text);
    let lower = text.to_ascii_lowercase();
    let Some((tag, templated)) = tags
        .iter()
        .find(|t| t.name == "template")
        .map(|t| (t, true))
        .or_else(|| tags.iter().find(|t| t.name == "body").map(|t| (t, false)))
    else {
        return text.to_string();
    };
    let close = if templated { "</template>" } else { "</body>" };
    let from = tag.end;
    let to = lower
        .rfind(close)
        .filter(|&e| e >= from)
        .unwrap_or(text.len());
    let mut out = String::new();
    let head_end = tags
        .iter()
        .find(|t| t.name == "body")
        .map_or(0, |b| b.start)
        .min(tag.start);
    for t in tags.iter().take_while(|t| t.start < head_end) {
        let link = t.name == "link"
            && t.attr("rel")
                .is_some_and(|r| r.trim().eq_ignore_ascii_case("stylesheet"));
        let asset = !templated && (t.name == "style" || t.name == "script");
        if link || asset {
            let stop = t.body.map_or(t.end, |(_, _, close)| close);
            out.push_str(&text[t.start..stop]);
            out.push('\n');
        }
    }
    out.push_str(&text[from..to]);
    out
}

fn write_tag(name: &str, attrs: &[(String, String)], self_closing: bool) -> String {
    let mut out = format!("<{name}");
    for (k, v) in attrs {
        out.push_str(&format!(" {k}=\"{}\"", html::escape_attr(v)));
    }
    out.push_str(if self_closing { " />" } else { ">" });
    out
}

/// The component's root as a wrapper: no timing or identity, its id kept
/// as `data-hf-authored-id`, filling the host unless it has a size.
fn flatten_root(inner: &Tag, keep_comp_id: bool) -> String {
    let mut attrs: Vec<(String, String)> = inner
        .attrs
        .iter()
        .filter(|(k, _)| {
            !(STRIP.contains(&k.as_str()) && !(keep_comp_id && k == "data-composition-id"))
        })
        .filter(|(k, _)| k != "id")
        .cloned()
        .collect();
    if let Some(id) = inner.attr("id").map(str::trim).filter(|s| !s.is_empty()) {
        attrs.push(("data-hf-authored-id".into(), id.to_string()));
    }
    attrs.push(("data-hf-inner-root".into(), "true".into()));
    let px = |k: &str| {
        inner
            .attr(k)
            .map_or("100%".to_string(), |v| format!("{v}px"))
    };
    let fill = format!("width:{};height:{}", px("data-width"), px("data-height"));
    match attrs.iter_mut().find(|(k, _)| k == "style") {
        Some((_, v)) if !v.trim().is_empty() => *v = format!("{};{fill}", v.trim()),
        Some((_, v)) => *v = fill,
        None => attrs.push(("style".into(), fill)),
    }
    write_tag(&inner.name, &attrs, false)
}

/// The host's opening tag: the component's size when it has none, that
/// size as pixels, and the file it came from.
fn host_tag(host: &Tag, inner: Option<&Tag>, src: &str, runtime_id: Option<&str>) -> String {
    let mut attrs = host.attrs.clone();
    if let Some(id) = runtime_id {
        attrs.retain(|(k, _)| k != "data-composition-id");
        attrs.push(("data-composition-id".into(), id.to_string()));
    }
    for k in ["data-width", "data-height"] {
        if host.attr(k).is_none() {
            if let Some(v) = inner.and_then(|t| t.attr(k)) {
                attrs.push((k.to_string(), v.to_string()));
            }
        }
    }
    let get = |k: &str| attrs.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    if let (Some(w), Some(h)) = (get("data-width"), get("data-height")) {
        let existing = get("style").unwrap_or_default();
        let adds: Vec<String> = [("width", w), ("height", h)]
            .into_iter()
            .filter(|(k, _)| !existing.contains(k))
            .map(|(k, v)| format!("{k}:{v}px"))
            .collect();
        if !adds.is_empty() {
            let style = if existing.is_empty() {
                adds.join(";")
            } else {
                format!("{existing};{}", adds.join(";"))
            };
            attrs.retain(|(k, _)| k != "style");
            attrs.push(("style".into(), style));
        }
    }
    attrs.retain(|(k, _)| k != "data-composition-file");
    attrs.push(("data-composition-file".into(), src.to_string()));
    write_tag(&host.name, &attrs, false)
}

fn scope_selector(comp_id: &str) -> String {
    format!(
        "[data-composition-id=\"{}\"]",
        comp_id.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Scopes every top-level rule of a component's CSS to its mount (rules in
/// `@media`/`@supports`/`@container`/`@layer` too; `@keyframes` and
/// `@font-face` stay global; nested rules inherit their parent's scope).
pub fn scope_css(css: &str, scope: &str, authored_root: Option<&str>) -> String {
    let mut out = String::with_capacity(css.len() + 64);
    let mut i = 0;
    while i < css.len() {
        let Some((stop, ch)) = find_top(css, i) else {
            out.push_str(&css[i..]);
            break;
        };
        if ch != b'{' {
            out.push_str(&css[i..=stop]);
            i = stop + 1;
            continue;
        }
        let close = matching_brace(css, stop);
        let prelude = &css[i..stop];
        let body = &css[stop + 1..close.min(css.len())];
        let (lead, rest) = split_leading_comments(prelude);
        out.push_str(lead);
        if let Some(at) = rest.strip_prefix('@') {
            let name: String = at
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
                .to_ascii_lowercase();
            out.push_str(rest);
            out.push('{');
            if ["media", "supports", "container", "layer", "document"].contains(&name.as_str()) {
                out.push_str(&scope_css(body, scope, authored_root));
            } else {
                out.push_str(body);
            }
        } else {
            let list: Vec<String> = split_selectors(rest)
                .iter()
                .map(|s| scope_one(s, scope, authored_root))
                .collect();
            out.push_str(&list.join(","));
            out.push('{');
            out.push_str(body);
        }
        if close < css.len() {
            out.push('}');
        }
        i = close + 1;
    }
    out
}

/// The next top-level `{`, `;` or `}` at or after `from` (skipping comments
/// and strings).
fn find_top(css: &str, from: usize) -> Option<(usize, u8)> {
    let b = css.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = css[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            q @ (b'"' | b'\'') => i = skip_string(b, i, q),
            c @ (b'{' | b';' | b'}') => return Some((i, c)),
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_string(b: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() && b[i] != q {
        if b[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    i
}

/// The index of the `}` closing the block opened at `open` (or the end).
fn matching_brace(css: &str, open: usize) -> usize {
    let b = css.as_bytes();
    let mut depth = 0;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = css[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            q @ (b'"' | b'\'') => i = skip_string(b, i, q),
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn split_leading_comments(prelude: &str) -> (&str, &str) {
    let mut i = 0;
    loop {
        let rest = &prelude[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("/*") {
            i += trimmed.find("*/").map_or(trimmed.len(), |p| p + 2);
        } else {
            return prelude.split_at(i);
        }
    }
}

/// Splits a selector list on commas outside brackets, parentheses and strings.
fn split_selectors(list: &str) -> Vec<&str> {
    let b = list.as_bytes();
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => i = skip_string(b, i, q),
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b',' if depth == 0 => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&list[start..]);
    out
}

/// One selector scoped to the mount (the reference's `scopeSelector`).
fn scope_one(sel: &str, scope: &str, authored_root: Option<&str>) -> String {
    let sel_root = match authored_root {
        Some(id) => replace_root_id(sel, id),
        None => sel.to_string(),
    };
    let trimmed = sel_root.trim();
    if trimmed.is_empty() || trimmed == "*" {
        return sel.to_string();
    }
    let lead = &sel_root[..sel_root.len() - sel_root.trim_start().len()];
    let trail = &sel_root[sel_root.trim_end().len()..];
    let lower = trimmed.to_ascii_lowercase();
    let bx = format!("{scope}:not(:has([data-hf-inner-root])), {scope} > [data-hf-inner-root]");
    if matches!(lower.as_str(), "html" | "body" | ":root") {
        return format!("{lead}{bx}{trail}");
    }
    let unquoted = scope.replace('"', "'");
    if trimmed.contains(scope) || trimmed.contains(&unquoted) {
        let rest = trimmed.replace(scope, "").replace(&unquoted, "");
        if rest.trim().is_empty() {
            return format!("{lead}{bx}{trail}");
        }
        return sel_root.replace(&unquoted, scope);
    }
    format!("{lead}{scope} {trimmed}{trail}")
}

/// `#id` (outside brackets and strings, not a prefix of a longer name)
/// becomes `[data-hf-authored-id="id"]`.
fn replace_root_id(sel: &str, id: &str) -> String {
    let attr = format!("[data-hf-authored-id=\"{id}\"]");
    let b = sel.as_bytes();
    let mut out = String::with_capacity(sel.len() + 32);
    let (mut i, mut depth, mut quote) = (0, 0, None::<u8>);
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q && (i == 0 || b[i - 1] != b'\\') {
                quote = None;
            }
        } else if c == b'"' || c == b'\'' {
            quote = Some(c);
        } else if c == b'[' {
            depth += 1;
        } else if c == b']' {
            depth -= 1;
        } else if c == b'#' && depth == 0 && sel[i + 1..].starts_with(id) {
            let next = sel[i + 1 + id.len()..].chars().next();
            if !next.is_some_and(|n| n.is_alphanumeric() || n == '-' || n == '_') {
                out.push_str(&attr);
                i += 1 + id.len();
                continue;
            }
        }
        let ch = sel[i..].chars().next().expect("i is on a char boundary");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: &str = "[data-composition-id=\"ad\"]";

    #[test]
    fn scopes_selectors_as_the_reference() {
        let css = "*, *::before { box-sizing: border-box; }\n#root { position: absolute; }\n.a, #root .b { color: red }\n@media (min-width: 1px) { .c { x: y } }\n@keyframes k { from { opacity: 0 } }\nbody { margin: 0 }";
        let out = scope_css(css, SCOPE, Some("root"));
        assert!(
            out.contains("*, [data-composition-id=\"ad\"] *::before {"),
            "{out}"
        );
        assert!(
            out.contains("[data-composition-id=\"ad\"] [data-hf-authored-id=\"root\"] { position"),
            "{out}"
        );
        assert!(out.contains("[data-composition-id=\"ad\"] .a, [data-composition-id=\"ad\"] [data-hf-authored-id=\"root\"] .b {"), "{out}");
        assert!(
            out.contains("@media (min-width: 1px) { [data-composition-id=\"ad\"] .c {"),
            "{out}"
        );
        assert!(
            out.contains("@keyframes k { from { opacity: 0 } }"),
            "{out}"
        );
        assert!(out.contains("[data-composition-id=\"ad\"]:not(:has([data-hf-inner-root])), [data-composition-id=\"ad\"] > [data-hf-inner-root] { margin"), "{out}");
        assert_eq!(
            replace_root_id("#rooted, #root:hover, [x='#root']", "root"),
            "#rooted, [data-hf-authored-id=\"root\"]:hover, [x='#root']"
        );
    }

    #[test]
    fn mounts_a_component_with_its_own_root_and_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.html"),
            r#"<html data-composition-variables='[{"id":"accent","type":"enum","label":"A","default":"green","options":[{"value":"green","label":"G"},{"value":"violet","label":"V"}]},{"id":"mood","type":"enum","label":"M","default":"deep","options":[{"value":"deep","label":"D"}]}]'><body><template><div id="root" data-composition-id="c" data-duration="4"><style>#root { inset: 0 }</style><p>x</p><script src="https://cdn/gsap.js"></script><script>var r = document.getElementById("root");</script></div></template></body></html>"#,
        )
        .unwrap();
        let page = r#"<html><head><title>t</title></head><body><div id="root" data-composition-id="main"><div id="m" data-composition-id="c" data-composition-src="./c.html" data-variable-values='{"accent":"violet","mood":"bright"}' data-width="100" data-height="50"></div></div><script src="https://cdn/gsap.js"></script></body></html>"#;
        let m = mount(page, dir.path(), &dir.path().join("index.html")).unwrap();
        let h = &m.html;
        assert!(h.contains(r#"<div data-hf-authored-id="root" data-hf-inner-root="true" style="width:100%;height:100%"><p>x</p>"#), "{h}");
        assert!(
            h.contains(r#"style="width:100px;height:50px" data-composition-file="./c.html""#),
            "{h}"
        );
        assert!(
            h.contains(r#"[data-composition-id="c"] [data-hf-authored-id="root"] { inset: 0 }"#),
            "{h}"
        );
        assert_eq!(h.matches("https://cdn/gsap.js").count(), 1, "{h}");
        assert!(h.contains(r#"__hfRunScoped("c", "root", function"#), "{h}");
        assert!(
            h.contains(r#""c":{"accent":"violet","mood":"bright"}"#),
            "{h}"
        );
        assert!(h.find("data-hf-variables-runtime").unwrap() < h.find("<title>").unwrap());
        // mood "bright" is not an option: a warning with its place.
        assert_eq!(m.problems.len(), 1, "{:?}", m.problems);
        assert_eq!(
            m.problems[0].path,
            r#"index.html [data-composition-id="c"] data-variable-values.mood"#
        );
    }

    #[test]
    fn pages_without_variables_or_mounts_are_untouched() {
        let page = "<html><head></head><body><div data-composition-id=\"m\"></div></body></html>";
        let m = mount(page, Path::new("."), Path::new("index.html")).unwrap();
        assert_eq!(m.html, page);
    }
}
