//! Checking a render's values against the composition's declarations.
//!
//! The reference checks names, JSON types and enum membership; this also
//! checks `min`/`max`/`maxLength` (hints there), colours (any string passes
//! there), and image and font URLs: unsafe schemes, and URLs a hermetic plan
//! could not load. Every problem is returned, each with its JSON path.

use std::path::Path;

use serde_json::Value;

use super::schema::{Declaration, Schema, VarType};
use super::{is_css_color, json_type, Variables};
use crate::plan::assets::{self, AssetMap};

/// What is wrong, in the words of the reference's issue kinds where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    Undeclared,
    TypeMismatch,
    EnumOutOfRange,
    BelowMin,
    AboveMax,
    TooLong,
    InvalidColor,
    UnsafeUrl,
    UnreachableUrl,
    /// A declaration the reference drops without a word.
    DroppedDeclaration,
    /// No declarations to check against (an error only when strict).
    NoSchema,
}

/// One problem, with the JSON path of the offending value or declaration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub kind: ProblemKind,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Where image and font URLs must be loadable from: relative URLs from the
/// project directory, remote ones through the plan's asset map (or the
/// network, when the map allows it). A `None` skips that check.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlCheck<'a> {
    pub project_dir: Option<&'a Path>,
    pub assets: Option<&'a AssetMap>,
}

/// Every problem with `values` against `schema` (the schema's own
/// declaration problems included), in a stable order.
pub fn validate(schema: &Schema, values: &Variables, urls: UrlCheck) -> Vec<Problem> {
    let mut out = schema.problems.clone();
    for (id, value) in values.iter() {
        let path = value_path(id);
        match schema.get(id) {
            None => {
                let known: Vec<&str> = schema.declarations.iter().map(|d| d.id.as_str()).collect();
                out.push(problem(
                    &path,
                    ProblemKind::Undeclared,
                    format!(
                        "variable not declared in data-composition-variables of {} (declared: {})",
                        display_origin(schema),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            Some(d) => check_value(d, value, &path, urls, &mut out),
        }
    }
    out
}

fn display_origin(schema: &Schema) -> &str {
    if schema.origin.is_empty() {
        "the composition"
    } else {
        &schema.origin
    }
}

/// `variables.id`, or `variables["odd id"]` when the id is not a plain name.
fn value_path(id: &str) -> String {
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !id.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("variables.{id}")
    } else {
        format!("variables[{}]", Value::from(id))
    }
}

fn problem(path: &str, kind: ProblemKind, message: String) -> Problem {
    Problem {
        path: path.to_string(),
        kind,
        message,
    }
}

fn mismatch(path: &str, expected: &str, got: &Value) -> Problem {
    problem(
        path,
        ProblemKind::TypeMismatch,
        format!("expected {expected}, got {}", json_type(got)),
    )
}

fn check_value(d: &Declaration, v: &Value, path: &str, urls: UrlCheck, out: &mut Vec<Problem>) {
    match d.kind {
        VarType::String => match v.as_str() {
            Some(s) => check_length(d, s, path, out),
            None => out.push(mismatch(path, "a string", v)),
        },
        VarType::Number => match v.as_f64() {
            Some(n) => check_range(d, n, path, out),
            None => out.push(mismatch(path, "a finite number", v)),
        },
        VarType::Boolean if !v.is_boolean() => out.push(mismatch(path, "a boolean", v)),
        VarType::Boolean => {}
        VarType::Color => match v.as_str() {
            Some(s) if !is_css_color(s) => out.push(problem(
                path,
                ProblemKind::InvalidColor,
                format!("{s:?} is not a colour CSS can parse (use #rrggbb, rgb(), hsl(), a named colour, ...)"),
            )),
            Some(_) => {}
            None => out.push(mismatch(path, "a colour string", v)),
        },
        VarType::Enum => check_enum(d, v, path, out),
        VarType::Font => check_font(v, path, urls, out),
        VarType::Image => check_image(v, path, urls, out),
    }
}

fn check_length(d: &Declaration, s: &str, path: &str, out: &mut Vec<Problem>) {
    // JavaScript counts UTF-16 code units, as the composition's own code will.
    let len = s.encode_utf16().count() as u64;
    if let Some(max) = d.max_length.filter(|&m| len > m) {
        out.push(problem(
            path,
            ProblemKind::TooLong,
            format!("is {len} characters, over the declared maxLength {max}"),
        ));
    }
}

fn check_range(d: &Declaration, n: f64, path: &str, out: &mut Vec<Problem>) {
    if let Some(min) = d.min.filter(|&m| n < m) {
        out.push(problem(
            path,
            ProblemKind::BelowMin,
            format!("{n} is below the declared min {min}"),
        ));
    }
    if let Some(max) = d.max.filter(|&m| n > m) {
        out.push(problem(
            path,
            ProblemKind::AboveMax,
            format!("{n} is above the declared max {max}"),
        ));
    }
}

fn check_enum(d: &Declaration, v: &Value, path: &str, out: &mut Vec<Problem>) {
    let Some(s) = v.as_str() else {
        return out.push(mismatch(path, "a string (one of the enum's options)", v));
    };
    if !d.options.iter().any(|o| o.as_str() == Some(s)) {
        let allowed: Vec<String> = d.options.iter().map(|o| o.to_string()).collect();
        out.push(problem(
            path,
            ProblemKind::EnumOutOfRange,
            format!("must be one of {} (got {s:?})", allowed.join(", ")),
        ));
    }
}

fn check_image(v: &Value, path: &str, urls: UrlCheck, out: &mut Vec<Problem>) {
    match v {
        Value::String(url) => check_url(url, path, UrlUse::Image, urls, out),
        Value::Object(o) => match o.get("url") {
            Some(Value::String(url)) => {
                check_url(url, &format!("{path}.url"), UrlUse::Image, urls, out)
            }
            _ => out.push(mismatch(
                path,
                "an image URL string or {\"url\": string}",
                v,
            )),
        },
        _ => out.push(mismatch(
            path,
            "an image URL string or {\"url\": string}",
            v,
        )),
    }
}

fn check_font(v: &Value, path: &str, urls: UrlCheck, out: &mut Vec<Problem>) {
    match v {
        Value::String(_) => {}
        Value::Object(o) => match (o.get("name"), o.get("source")) {
            (Some(Value::String(_)), Some(Value::String(src))) => {
                check_url(src, &format!("{path}.source"), UrlUse::Font, urls, out)
            }
            _ => out.push(mismatch(
                path,
                "a font family string or {\"name\": string, \"source\": string}",
                v,
            )),
        },
        _ => out.push(mismatch(
            path,
            "a font family string or {\"name\": string, \"source\": string}",
            v,
        )),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum UrlUse {
    Image,
    Font,
}

/// The reference's `isSafeMediaUrl`: relative, `http(s):`, `blob:` or
/// `data:image/*`, after stripping control characters.
pub fn is_safe_media_url(url: &str) -> bool {
    // As the browser (and the reference): ASCII controls and spaces go first.
    let clean: String = url.chars().filter(|&c| c > ' ').collect();
    let lower = clean.to_ascii_lowercase();
    match scheme(&lower) {
        None => true,
        Some(s) => matches!(s, "http" | "https" | "blob") || lower.starts_with("data:image/"),
    }
}

/// A font stylesheet's URL: relative, `http(s):`, or CSS/font data.
fn is_safe_font_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match scheme(&lower) {
        None => true,
        Some(s) => {
            matches!(s, "http" | "https")
                || lower.starts_with("data:text/css")
                || lower.starts_with("data:font/")
        }
    }
}

/// The URL's scheme, if it has one (`//host` counts as http).
fn scheme(lower: &str) -> Option<&str> {
    if lower.starts_with("//") {
        return Some("http");
    }
    let colon = lower.find(':')?;
    let s = &lower[..colon];
    let first_ok = s.starts_with(|c: char| c.is_ascii_alphabetic());
    (first_ok
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
    .then_some(s)
}

fn check_url(url: &str, path: &str, what: UrlUse, urls: UrlCheck, out: &mut Vec<Problem>) {
    let safe = match what {
        UrlUse::Image => is_safe_media_url(url),
        UrlUse::Font => is_safe_font_url(url),
    };
    if !safe {
        let allowed = match what {
            UrlUse::Image => "a relative path, http(s):, blob: or data:image/",
            UrlUse::Font => "a relative path, http(s):, data:text/css or data:font/",
        };
        return out.push(problem(
            path,
            ProblemKind::UnsafeUrl,
            format!("{url:?} is not a safe URL; use {allowed}"),
        ));
    }
    if let Some(why) = unreachable(url, urls) {
        out.push(problem(path, ProblemKind::UnreachableUrl, why));
    }
}

/// Why a plan could not load `url`, or None when it can (or cannot tell).
fn unreachable(url: &str, urls: UrlCheck) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("data:") {
        return None;
    }
    if lower.starts_with("blob:") {
        return Some(format!("{url:?} is a blob: URL, which only exists inside the browser that made it; pass the file or an http(s) URL"));
    }
    if assets::is_remote(url) {
        let map = urls.assets?;
        if map
            .get(&assets::join_url("https://invalid/", url))
            .is_some()
            || map.allow_network
        {
            return None;
        }
        return Some(format!("{url:?} is not in the offline asset map and this plan may not fetch (HF_ALLOW_NETWORK=0); add it to the map or put the file in the project"));
    }
    let dir = urls.project_dir?;
    let rel = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_start_matches("./");
    if rel.contains("..") || rel.starts_with('/') || !dir.join(rel).is_file() {
        return Some(format!(
            "{url:?} is not a file in the project directory {}",
            dir.display()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(decls: &str) -> Schema {
        let mut s = Schema::default();
        s.extend_from(decls, "index.html <html> data-composition-variables");
        s
    }

    fn vars(v: Value) -> Variables {
        Variables::new(v.as_object().unwrap().clone())
    }

    fn kinds(p: &[Problem]) -> Vec<(String, ProblemKind)> {
        p.iter().map(|p| (p.path.clone(), p.kind)).collect()
    }

    const DECLS: &str = r##"[
      {"id":"title","type":"string","label":"T","default":"x","maxLength":5},
      {"id":"count","type":"number","label":"N","default":1,"min":0,"max":10},
      {"id":"bg","type":"color","label":"C","default":"#fff"},
      {"id":"on","type":"boolean","label":"B","default":true},
      {"id":"accent","type":"enum","label":"E","default":"a","options":[{"value":"a","label":"A"},{"value":"b","label":"B"}]},
      {"id":"font","type":"font","label":"F","default":"Inter"},
      {"id":"logo","type":"image","label":"I","default":"logo.png"}
    ]"##;

    fn one(v: Value) -> Vec<(String, ProblemKind)> {
        kinds(&validate(&schema(DECLS), &vars(v), UrlCheck::default()))
    }

    #[test]
    fn valid_values_have_no_problem() {
        assert!(one(
            json!({"title":"abc","count":3,"bg":"rgb(1 2 3 / 50%)","on":false,"accent":"b",
            "font":{"name":"Inter","source":"https://x/f.css"},"logo":{"url":"https://x/l.png"}})
        )
        .is_empty());
    }

    #[test]
    fn undeclared() {
        assert_eq!(
            one(json!({"nope": 1})),
            [("variables.nope".into(), ProblemKind::Undeclared)]
        );
        assert_eq!(one(json!({"a b": 1}))[0].0, r#"variables["a b"]"#);
    }

    #[test]
    fn type_mismatch_for_each_type() {
        let p = one(
            json!({"title":1,"count":"1","bg":2,"on":"yes","accent":1,"font":{"name":"x"},"logo":[1]}),
        );
        assert_eq!(p.len(), 7);
        assert!(
            p.iter().all(|(_, k)| *k == ProblemKind::TypeMismatch),
            "{p:?}"
        );
    }

    #[test]
    fn enum_out_of_range() {
        assert_eq!(
            one(json!({"accent":"c"})),
            [("variables.accent".into(), ProblemKind::EnumOutOfRange)]
        );
    }

    #[test]
    fn min_max_and_max_length() {
        assert_eq!(
            one(json!({"count": -1})),
            [("variables.count".into(), ProblemKind::BelowMin)]
        );
        assert_eq!(
            one(json!({"count": 11})),
            [("variables.count".into(), ProblemKind::AboveMax)]
        );
        assert_eq!(
            one(json!({"title": "toolong"})),
            [("variables.title".into(), ProblemKind::TooLong)]
        );
    }

    #[test]
    fn colours_css_cannot_parse() {
        assert_eq!(
            one(json!({"bg": "not-a-colour"})),
            [("variables.bg".into(), ProblemKind::InvalidColor)]
        );
        assert_eq!(
            one(json!({"bg": "#12345"})),
            [("variables.bg".into(), ProblemKind::InvalidColor)]
        );
    }

    #[test]
    fn unsafe_urls() {
        assert_eq!(
            one(json!({"logo": "javascript:alert(1)"})),
            [("variables.logo".into(), ProblemKind::UnsafeUrl)]
        );
        assert_eq!(
            one(json!({"logo": {"url":"data:text/html,<b>"}})),
            [("variables.logo.url".into(), ProblemKind::UnsafeUrl)]
        );
        assert_eq!(
            one(json!({"font": {"name":"x","source":"file:///etc/passwd"}})),
            [("variables.font.source".into(), ProblemKind::UnsafeUrl)]
        );
        assert!(!is_safe_media_url("java\tscript:x"));
    }

    #[test]
    fn unreachable_urls_in_a_hermetic_plan() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logo.png"), b"png").unwrap();
        let mut map = AssetMap::default();
        map.insert(
            "https://cdn.example/mapped.png",
            dir.path().join("logo.png"),
        );
        let urls = UrlCheck {
            project_dir: Some(dir.path()),
            assets: Some(&map),
        };
        let check = |v: Value| kinds(&validate(&schema(DECLS), &vars(v), urls));
        assert!(check(json!({"logo": "logo.png"})).is_empty());
        assert!(check(json!({"logo": "https://cdn.example/mapped.png"})).is_empty());
        assert!(check(json!({"logo": "data:image/png;base64,AAAA"})).is_empty());
        assert_eq!(
            check(json!({"logo": "https://cdn.example/other.png"})),
            [("variables.logo".into(), ProblemKind::UnreachableUrl)]
        );
        assert_eq!(
            check(json!({"logo": "missing.png"})),
            [("variables.logo".into(), ProblemKind::UnreachableUrl)]
        );
        assert_eq!(
            check(json!({"logo": "blob:https://x/1"})),
            [("variables.logo".into(), ProblemKind::UnreachableUrl)]
        );
    }

    #[test]
    fn dropped_declarations_are_problems_too() {
        let s = schema(r#"[{"id":"x","type":"string","label":"X","default":1}]"#);
        let p = validate(&s, &vars(json!({"x": "v"})), UrlCheck::default());
        assert_eq!(
            kinds(&p),
            [
                (
                    "index.html <html> data-composition-variables[0]".into(),
                    ProblemKind::DroppedDeclaration
                ),
                ("variables.x".into(), ProblemKind::Undeclared),
            ]
        );
    }

    #[test]
    fn all_problems_at_once() {
        let p = one(
            json!({"nope":1,"accent":"z","bg":"nah","count":99,"title":"123456","logo":"javascript:x"}),
        );
        assert_eq!(p.len(), 6, "{p:?}");
    }
}
