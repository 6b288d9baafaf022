//! Shader transitions (the reference's HyperShader): whether a page uses
//! them, read from its inline scripts as the reference reads them.
//!
//! Why: in the reference's render mode HyperShader only flips the scenes'
//! opacity and leaves the shader blend to the renderer. For mp4 the
//! reference sets `window.__HF_PAGE_SIDE_COMPOSITING__` before any page
//! script, and HyperShader then installs a WebGL compositor on the page
//! with three hooks (`__hf_page_composite_pending`, `_prepare`, `_resolve`)
//! that the renderer drives around each seek, capturing by screenshot.
//! Without them a transition renders as a hard cut (9.9 dB against the
//! reference at its worst frame). The plan records the answer
//! (`pageComposite` in `meta/encoder.json`), so every chunk drives them.

use crate::plan::html;

/// True when an inline script (one without `src`) calls
/// `HyperShader.init(` or assigns `__hf.transitions`, comments aside: the
/// reference's test (`detectShaderTransitionUsage`).
pub fn uses_shader_transitions(page: &str) -> bool {
    html::scan(page).iter().any(|tag| {
        if !tag.name.eq_ignore_ascii_case("script") || tag.attr("src").is_some() {
            return false;
        }
        let Some((start, end, _)) = tag.body else {
            return false;
        };
        let code = strip_comments(&page[start..end]);
        calls_init(&code) || assigns_transitions(&code)
    })
}

/// `[window.|globalThis.]HyperShader . init (`, spaces allowed around the dot.
fn calls_init(code: &str) -> bool {
    tokens_follow(code, "HyperShader", &[".", "init", "("])
}

/// `__hf . transitions =`.
fn assigns_transitions(code: &str) -> bool {
    tokens_follow(code, "__hf", &[".", "transitions", "="])
}

/// Whether `first` occurs as a whole word followed by `rest`, each after
/// optional whitespace.
fn tokens_follow(code: &str, first: &str, rest: &[&str]) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    while let Some(p) = code[from..].find(first) {
        let at = from + p;
        from = at + first.len();
        if code[..at].chars().next_back().is_some_and(word) {
            continue;
        }
        let mut tail = &code[from..];
        let all = rest.iter().all(|t| {
            let trimmed = tail.trim_start();
            let ok = trimmed.starts_with(t)
                && !(t.chars().all(word) && trimmed[t.len()..].chars().next().is_some_and(word));
            if ok {
                tail = &trimmed[t.len()..];
            }
            ok
        });
        if all {
            return true;
        }
    }
    false
}

/// The code with `//` and `/* */` comments removed (strings are not
/// parsed: a `//` inside a string cuts its line, which only loses matches
/// after it on that line).
fn strip_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    loop {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(l), b) if b.is_none_or(|b| l < b) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |n| &rest[l + n..]);
            }
            (_, Some(b)) => {
                out.push_str(&rest[..b]);
                rest = rest[b + 2..]
                    .find("*/")
                    .map_or("", |e| &rest[b + 2 + e + 2..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_init_and_transitions_only() {
        let page = |s: &str| format!("<html><body><script>{s}</script></body></html>");
        assert!(uses_shader_transitions(&page("HyperShader.init({})")));
        assert!(uses_shader_transitions(&page(
            "window.HyperShader . init ({})"
        )));
        assert!(uses_shader_transitions(&page(
            "window.__hf.transitions = []"
        )));
        assert!(!uses_shader_transitions(&page("// HyperShader.init({})")));
        assert!(!uses_shader_transitions(&page(
            "/* HyperShader.init( */ x()"
        )));
        assert!(!uses_shader_transitions(&page("MyHyperShader.init({})")));
        assert!(!uses_shader_transitions(&page(
            "HyperShader.initialize({})"
        )));
        assert!(!uses_shader_transitions(
            r#"<script src="hyper-shader.js">HyperShader.init({})</script>"#
        ));
    }
}
