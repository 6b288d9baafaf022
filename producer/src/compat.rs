//! What of the reference's composition surface this renderer implements,
//! in one table ([`FEATURES`]), and the check that reads a project against
//! it ([`check_project`]).
//!
//! Why: a composition written for the reference that uses an attribute or
//! a runtime hook we do not implement renders without error and wrong (a
//! blank anime.js scene, a clip that should be hidden). The check names
//! each use with its file and line before anything is planned; callers
//! print the findings as warnings, or refuse the render when the user asked
//! for strictness. Attributes the reference's editor writes for itself
//! (timeline labels, picker hints) change no pixel and are listed as such,
//! so the table says what was decided for every name it knows; any other
//! `data-*` attribute is the author's own and is not reported.

use std::path::{Path, PathBuf};

use crate::errors::{ProducerError, Result};
use crate::plan::html;

/// Where a feature is used: an attribute on an element, an element
/// itself, or a name in a script (a global the reference's runtime reads
/// or an event it sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Attribute,
    Element,
    Script,
}

/// What this renderer does with a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Rendered as the reference renders it.
    Rendered,
    /// Written by the reference's editor for itself: no effect on a frame.
    EditorOnly,
    /// Not implemented; the text says what the reference does with it and
    /// what the render shows instead.
    Missing(&'static str),
}

/// One name of the reference's surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub name: &'static str,
    pub kind: Kind,
    pub support: Support,
}

const fn rendered(kind: Kind, name: &'static str) -> Feature {
    Feature {
        name,
        kind,
        support: Support::Rendered,
    }
}

const fn editor(name: &'static str) -> Feature {
    Feature {
        name,
        kind: Kind::Attribute,
        support: Support::EditorOnly,
    }
}

const fn missing(kind: Kind, name: &'static str, what: &'static str) -> Feature {
    Feature {
        name,
        kind,
        support: Support::Missing(what),
    }
}

use Kind::{Attribute as A, Element as E, Script as S};

/// Every name of the reference's composition surface this renderer has a
/// decision for.
pub const FEATURES: &[Feature] = &[
    // Timing, layout and media: rendered.
    rendered(A, "data-composition-id"),
    rendered(A, "data-width"),
    rendered(A, "data-height"),
    rendered(A, "data-duration"),
    rendered(A, "data-composition-duration"),
    rendered(A, "data-start"),
    rendered(A, "data-end"),
    rendered(A, "data-track-index"),
    rendered(A, "data-track"),
    rendered(A, "data-no-timeline"),
    rendered(A, "data-composition-src"),
    rendered(A, "data-composition-file"),
    rendered(A, "data-composition-variables"),
    rendered(A, "data-variable-values"),
    rendered(A, "data-var-text"),
    rendered(A, "data-var-src"),
    rendered(A, "data-media-start"),
    rendered(A, "data-volume"),
    rendered(A, "data-has-audio"),
    rendered(A, "data-playback-rate"),
    rendered(S, "__timelines"),
    rendered(S, "__hyperframes"),
    rendered(S, "__hfAnime"),
    rendered(S, "__hfLottie"),
    // Readiness only, as the reference's adapters: the first frame waits
    // for every registered map (its tiles need the network or the asset map).
    rendered(S, "__hfGoogleMaps"),
    rendered(S, "__hfMapbox"),
    rendered(S, "__hfMaplibre"),
    rendered(S, "__hfLeaflet"),
    // Shader transitions: composited on the page through the hooks
    // HyperShader installs (see plan::shader).
    rendered(S, "HyperShader"),
    // The reference's editor (Studio) only.
    editor("data-timeline-label"),
    editor("data-timeline-role"),
    editor("data-timeline-locked"),
    editor("data-timeline-priority"),
    editor("data-timeline-group"),
    editor("data-label"),
    editor("data-hf-id"),
    editor("data-hf-edit-base-x"),
    editor("data-hf-edit-base-y"),
    editor("data-hf-edit-original-translate"),
    editor("data-hf-autostamped"),
    editor("data-hf-studio-manual-edit-gesture"),
    editor("data-hyperframes-picker-ignore"),
    editor("data-hyperframes-picker-block"),
    editor("data-hyperframes-ignore"),
    editor("data-no-pick"),
    editor("data-no-inspect"),
    editor("data-thumbnail-url"),
    // Not implemented.
    missing(A, "data-fps", "the reference's CLI renders at the root's data-fps when --fps is not given; here the frame rate is --fps (default 30)"),
    missing(A, "data-playback-start", "the reference starts a rate-changed clip at this media time; here the clip starts at data-media-start"),
    missing(A, "data-layer", "the reference reads it as data-track-index; here it orders nothing"),
    missing(A, "data-hidden", "the reference hides the clip and mutes its audio; here it is drawn and heard"),
    missing(A, "data-audio-group", "the reference mixes the group's clips through the group's gain and effects; here each clip plays at its own data-volume"),
    missing(A, "data-fx-chain", "the reference applies the audio effects chain; here the clip plays dry"),
    missing(A, "data-automation", "the reference automates the clip's volume over time; here it plays at its data-volume"),
    missing(A, "data-loop", "the reference overrides an animated GIF's looping; here the GIF loops as the browser plays it"),
    missing(A, "data-hf-3d", "the reference draws the element with a 3D projection; here it is drawn flat"),
    missing(A, "data-requires-webgpu", "the reference renders the WebGPU (TypeGPU) scene; here the software GL has no WebGPU, so the canvas stays empty"),
    rendered(E, "iframe"),
    missing(S, "__hfThreeTime", "the reference publishes each frame's time here for three.js scenes; here it stays undefined (scenes driven by requestAnimationFrame still follow the frame clock)"),
    missing(S, "__hfTypegpuTime", "the reference publishes each frame's time here for TypeGPU scenes; here it stays undefined"),
    missing(S, "__hfD3", "the reference seeks the d3 transitions registered here; here they are not seeked"),
    missing(S, "hf-seek", "the reference sends an hf-seek event before each frame; here no such event is sent, so listeners never run"),
    missing(S, "__hfWaitForSeekCompletion", "the reference waits for the promise registered here after each seek; here it is not awaited"),
];

/// One use of a feature this renderer does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub feature: &'static str,
    pub kind: Kind,
    /// The file, relative to the project directory.
    pub file: PathBuf,
    /// 1-based line of the first use in that file.
    pub line: usize,
    /// What the reference does with it, and what the render shows instead.
    pub consequence: &'static str,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            Kind::Attribute => "attribute",
            Kind::Element => "element",
            Kind::Script => "runtime hook",
        };
        write!(
            f,
            "{}:{}: the {what} {} is not implemented: {}",
            self.file.display(),
            self.line,
            self.feature,
            self.consequence
        )
    }
}

/// The decision for `name` of `kind`, if the table has one.
pub fn lookup(kind: Kind, name: &str) -> Option<&'static Feature> {
    FEATURES
        .iter()
        .find(|f| f.kind == kind && f.name.eq_ignore_ascii_case(name))
}

/// Reads every HTML and script file of the project (not `node_modules` or
/// hidden directories) and lists each unimplemented feature once per
/// file, at its first use, in file order.
pub fn check_project(dir: &Path) -> Result<Vec<Finding>> {
    let files = project_sources(dir)?;
    let mut findings = Vec::new();
    for rel in files {
        let path = dir.join(&rel);
        let text = std::fs::read(&path).map_err(|e| ProducerError::io(&path, e))?;
        let text = String::from_utf8_lossy(&text);
        let is_html = matches!(
            rel.extension().and_then(|e| e.to_str()),
            Some("html" | "htm")
        );
        let found = if is_html {
            check_html(&text)
        } else {
            check_script(&text, 0)
        };
        findings.extend(found.into_iter().map(|(f, offset)| Finding {
            feature: f.name,
            kind: f.kind,
            file: rel.clone(),
            line: line_of(&text, offset),
            consequence: match f.support {
                Support::Missing(what) => what,
                _ => "",
            },
        }));
    }
    Ok(findings)
}

/// The project's `.html`, `.htm`, `.js` and `.mjs` files (not under
/// `node_modules` or hidden directories), relative to `dir`, sorted.
pub(crate) fn project_sources(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// The project's `.html`, `.htm`, `.js` and `.mjs` files, relative to `root`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| ProducerError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ProducerError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type().map_err(|e| ProducerError::io(&path, e))?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "node_modules" {
                collect(root, &path, out)?;
            }
        } else if kind.is_file()
            && [".html", ".htm", ".js", ".mjs"]
                .iter()
                .any(|ext| name.ends_with(ext))
        {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// Unimplemented features in a page: its elements and attributes, and the
/// bodies of its inline scripts. Each feature once, at its first use.
fn check_html(text: &str) -> Vec<(&'static Feature, usize)> {
    let mut found: Vec<(&'static Feature, usize)> = Vec::new();
    for tag in html::scan(text) {
        let attrs = tag
            .attrs
            .iter()
            .filter_map(|(name, _)| lookup(Kind::Attribute, name));
        for f in lookup(Kind::Element, &tag.name).into_iter().chain(attrs) {
            note(&mut found, f, tag.start);
        }
        if let (true, Some((start, end, _))) = (tag.name.eq_ignore_ascii_case("script"), tag.body) {
            for (f, at) in check_script(&text[start..end], start) {
                note(&mut found, f, at);
            }
        }
    }
    found.sort_by_key(|(_, at)| *at);
    found
}

/// Unimplemented runtime hooks named in script text starting at `base`.
fn check_script(text: &str, base: usize) -> Vec<(&'static Feature, usize)> {
    let mut found = Vec::new();
    for f in FEATURES.iter().filter(|f| f.kind == Kind::Script) {
        if let (Support::Missing(_), Some(at)) = (f.support, find_word(text, f.name)) {
            found.push((f, base + at));
        }
    }
    found.sort_by_key(|(_, at)| *at);
    found
}

/// Keeps the first use of each unimplemented feature.
fn note(found: &mut Vec<(&'static Feature, usize)>, f: &'static Feature, at: usize) {
    if matches!(f.support, Support::Missing(_)) && !found.iter().any(|(g, _)| g.name == f.name) {
        found.push((f, at));
    }
}

/// The first occurrence of `word` not inside a longer identifier
/// (`__hfAnime` is not found in `__hfAnimeX`).
pub(crate) fn find_word(text: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-';
    let mut from = 0;
    while let Some(p) = text[from..].find(word) {
        let at = from + p;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        if !before.is_some_and(ident) && !after.is_some_and(ident) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// One error listing every finding in project `dir`, for a caller that
/// refuses them.
pub fn refuse(dir: &Path, findings: &[Finding]) -> ProducerError {
    let list: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
    ProducerError::composition(
        dir,
        format!(
            "the composition uses {} feature(s) of the reference this renderer does not implement, so it would render differently:\n{}\nremove them, or render without --strict to get these as warnings",
            findings.len(),
            list.join("\n")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_one_decision_and_every_gap_says_what_happens() {
        for (i, f) in FEATURES.iter().enumerate() {
            assert!(
                !FEATURES[..i]
                    .iter()
                    .any(|g| g.kind == f.kind && g.name.eq_ignore_ascii_case(f.name)),
                "{} is listed twice",
                f.name
            );
            if let Support::Missing(what) = f.support {
                assert!(what.contains("here"), "{}: say what happens here", f.name);
            }
            if f.kind == Kind::Attribute {
                assert!(f.name.starts_with("data-"), "{}", f.name);
            }
        }
    }

    #[test]
    fn a_page_lists_each_gap_once_at_its_first_use() {
        let page = "<html><body>\n<div data-composition-id=\"c\" data-width=\"64\" data-timeline-label=\"x\">\n<p data-hidden>a</p><p data-hidden>b</p>\n<video data-hf-3d></video>\n<script>\nconst tl = gsap.timeline(); window.__timelines.c = tl;\nwindow.__hfD3 = [t];\nwindow.__hfD3X = 1;\n</script></div></body></html>";
        let found: Vec<(&str, usize)> = check_html(page)
            .into_iter()
            .map(|(f, at)| (f.name, line_of(page, at)))
            .collect();
        assert_eq!(
            found,
            vec![("data-hidden", 3), ("data-hf-3d", 4), ("__hfD3", 7)]
        );
    }

    #[test]
    fn a_hook_inside_a_longer_name_is_not_a_use() {
        assert_eq!(
            find_word("a.__hfD3x = 1; b.__hfD3 = []", "__hfD3"),
            Some(17)
        );
        assert_eq!(find_word("my__hfD3", "__hfD3"), None);
        assert_eq!(
            find_word("addEventListener('hf-seek', f)", "hf-seek"),
            Some(18)
        );
        assert_eq!(find_word("'hf-seeker'", "hf-seek"), None);
    }
}
