//! Just enough CSS to find the declarations fonts depend on: every
//! `property: value` of a style sheet or a `style` attribute, with the
//! selector it applies to (named in warnings) and where its value starts
//! (so a generic primary can be given an embedded family in place).
//! Comments and strings are skipped; nesting (`@media`, `@supports`) is
//! followed; `@font-face` blocks are told apart.

/// One declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// Lower-cased property name (custom properties keep their case).
    pub prop: String,
    /// The value, comments removed, trimmed.
    pub value: String,
    /// Byte offset in the scanned text where the value's first character is.
    pub value_start: usize,
    /// The innermost rule's selector (`.title`, `@font-face`), empty for a
    /// `style` attribute.
    pub selector: String,
}

impl Decl {
    pub fn in_font_face(&self) -> bool {
        self.selector.eq_ignore_ascii_case("@font-face")
    }
}

/// Every declaration of a style sheet, in order.
pub fn sheet(css: &str) -> Vec<Decl> {
    scan(css, false)
}

/// Every declaration of a `style` attribute's value.
pub fn inline(style: &str) -> Vec<Decl> {
    scan(style, true)
}

fn scan(css: &str, inline: bool) -> Vec<Decl> {
    let bytes = css.as_bytes();
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = css[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |p| i + 2 + p + 2);
                continue;
            }
            q @ (b'"' | b'\'') => i = skip_string(bytes, i, q),
            b'{' => {
                stack.push(strip_comments(&css[start..i]).trim().to_string());
                start = i + 1;
            }
            b';' => {
                if inline || !stack.is_empty() {
                    push_decl(css, start, i, stack.last(), &mut out);
                }
                start = i + 1;
            }
            b'}' => {
                push_decl(css, start, i, stack.last(), &mut out);
                stack.pop();
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if inline {
        push_decl(css, start, bytes.len(), None, &mut out);
    }
    out
}

/// Index of a string's closing quote (or the end).
pub(crate) fn skip_string(bytes: &[u8], open: usize, quote: u8) -> usize {
    let mut j = open + 1;
    while j < bytes.len() && bytes[j] != quote {
        if bytes[j] == b'\\' {
            j += 1;
        }
        j += 1;
    }
    j.min(bytes.len().saturating_sub(1))
}

fn push_decl(css: &str, start: usize, end: usize, selector: Option<&String>, out: &mut Vec<Decl>) {
    let text = &css[start..end];
    let Some(colon) = colon_outside_comments(text) else {
        return;
    };
    let prop = strip_comments(&text[..colon]).trim().to_string();
    if prop.is_empty() || prop.contains(['{', '}', ' ', '\n']) {
        return;
    }
    let raw = &text[colon + 1..];
    let lead = raw.len() - raw.trim_start().len();
    out.push(Decl {
        prop: if prop.starts_with("--") {
            prop
        } else {
            prop.to_ascii_lowercase()
        },
        value: strip_comments(raw).trim().to_string(),
        value_start: start + colon + 1 + lead,
        selector: selector.cloned().unwrap_or_default(),
    });
}

/// The first `:` that is not inside a comment (a comment before a
/// declaration may hold one: `/* tokens: override */ --font: Inter`).
fn colon_outside_comments(text: &str) -> Option<usize> {
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |p| p + 2);
            continue;
        }
        let c = rest.chars().next()?;
        if c == ':' {
            return Some(i);
        }
        i += c.len_utf8();
    }
    None
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find("/*") {
        out.push_str(&rest[..p]);
        rest = rest[p + 2..]
            .find("*/")
            .map_or("", |q| &rest[p + 2 + q + 2..]);
    }
    out.push_str(rest);
    out
}

/// Where the family list of a `font` shorthand starts (a byte offset into
/// `value`): after the size and its optional `/ line-height`. None for a
/// system font keyword (`caption`, ...) or a value the plan cannot read
/// (a `var()` before the size).
pub fn shorthand_family_start(value: &str) -> Option<usize> {
    const SIZES: [&str; 11] = [
        "xx-small",
        "x-small",
        "small",
        "medium",
        "large",
        "x-large",
        "xx-large",
        "xxx-large",
        "larger",
        "smaller",
        "math",
    ];
    let b = value.as_bytes();
    let mut i = 0;
    let mut after_size = false;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        if after_size && b[i] != b'/' {
            return Some(i);
        }
        let start = i;
        let mut depth = 0i32;
        while i < b.len() && (depth > 0 || !b[i].is_ascii_whitespace()) {
            match b[i] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                b'/' if depth == 0 && after_size && i > start => break,
                _ => {}
            }
            i += 1;
        }
        let token = value[start..i].to_ascii_lowercase();
        if token.ends_with('/') && !after_size {
            // `40px/ 1.2`: the line height is the next token.
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        if after_size {
            // `/ 1.2` or `/1.2`: the line height, then the families.
            if token == "/" {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            continue;
        }
        let size = token.split('/').next().unwrap_or("");
        let numeric = size.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && !size.chars().all(|c| c.is_ascii_digit());
        if numeric || size.starts_with("calc(") || SIZES.contains(&size) {
            after_size = true;
        } else if size.starts_with("var(") {
            return None;
        }
    }
    None
}

/// A `font-family` value's names in order, unquoted; commas inside quotes
/// or parentheses (`var(--f, serif)`) do not split.
pub fn families(value: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match (quote, c) {
            (Some(_), b'\\') => i += 1,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'(') => depth += 1,
            (None, b')') => depth = (depth - 1).max(0),
            (None, b',') if depth == 0 => {
                pieces.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    pieces.push(&value[start..]);
    pieces
        .into_iter()
        .map(|p| {
            let p = p.trim();
            let p = p.strip_prefix(['"', '\'']).unwrap_or(p);
            let p = p.strip_suffix(['"', '\'']).unwrap_or(p);
            p.trim().to_string()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// A value's leading `var(--name[, fallback])`, as the reference's
/// `primaryCssVariable` reads it: `fallback` is the byte span (in the
/// value) of everything after the first comma up to the matching `)`.
#[derive(Debug, Clone, PartialEq)]
pub struct VarRef {
    pub name: String,
    pub fallback: Option<(usize, usize)>,
}

pub fn var_ref(value: &str) -> Option<VarRef> {
    let lead = value.len() - value.trim_start().len();
    let trimmed = value.trim();
    if !trimmed.get(..4)?.eq_ignore_ascii_case("var(") {
        return None;
    }
    let mut depth = 0i32;
    let close = trimmed.char_indices().find_map(|(i, c)| {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        None
    })?;
    let inner = &trimmed[4..close];
    let comma = inner.find(',');
    let name = inner[..comma.unwrap_or(inner.len())].trim();
    let valid = name.len() > 2
        && name.starts_with("--")
        && name[2..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then(|| VarRef {
        name: name.to_string(),
        fallback: comma.map(|c| (lead + 4 + c + 1, lead + close)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorthand_family_list_starts_after_the_size_and_line_height() {
        fn at(v: &str) -> Option<&str> {
            shorthand_family_start(v).map(|i| &v[i..])
        }
        assert_eq!(
            at("700 40px \"Space Mono\", monospace"),
            Some("\"Space Mono\", monospace")
        );
        assert_eq!(
            at("italic bold 12px/30px Georgia, serif"),
            Some("Georgia, serif")
        );
        assert_eq!(at("1.5em / 1.2 Inter"), Some("Inter"));
        assert_eq!(at("40px /1.2 Inter"), Some("Inter"));
        assert_eq!(at("40px/ 1.2 Inter"), Some("Inter"));
        assert_eq!(at("small-caps x-large var(--f)"), Some("var(--f)"));
        assert_eq!(at("calc(2 * 10px) Lato"), Some("Lato"));
        assert_eq!(at("caption"), None);
        assert_eq!(at("var(--size) Inter"), None);
    }

    #[test]
    fn declarations_carry_their_selector_and_value_offset() {
        let css = "/* a; b { */ @media (min-width: 1px) { .t, p { font-family: \"A;B\", serif; color: red } }\n@font-face { font-family: X; src: url(x.woff2) }\n:root{--f:'Inter'}";
        let d = sheet(css);
        let ff: Vec<_> = d.iter().filter(|d| d.prop == "font-family").collect();
        assert_eq!(ff.len(), 2, "{d:?}");
        assert_eq!(ff[0].selector, ".t, p");
        assert_eq!(ff[0].value, "\"A;B\", serif");
        assert!(css[ff[0].value_start..].starts_with("\"A;B\""));
        assert!(ff[1].in_font_face());
        let var = d.iter().find(|d| d.prop == "--f").unwrap();
        assert_eq!(
            (var.value.as_str(), var.selector.as_str()),
            ("'Inter'", ":root")
        );
        let c = sheet("#r {\n /* tokens: override in the host */\n --f: \"Inter\", sans-serif; }");
        assert_eq!(
            (c[0].prop.as_str(), c[0].value.as_str()),
            ("--f", "\"Inter\", sans-serif")
        );
        let i = inline("color: red; font-family: Foo /* x */ , monospace");
        assert_eq!(i[1].value, "Foo  , monospace");
        assert_eq!(i[1].selector, "");
    }

    #[test]
    fn family_lists_split_at_top_level_commas_only() {
        assert_eq!(
            families(" \"Space Mono\", 'A, B', var(--x, serif), monospace "),
            ["Space Mono", "A, B", "var(--x, serif)", "monospace"]
        );
        assert_eq!(
            var_ref("var( --brand-font , Inter)")
                .map(|v| v.name)
                .as_deref(),
            Some("--brand-font")
        );
        assert_eq!(var_ref("Inter"), None);
        let v = " var(--f, var(--g, Inter), serif) x";
        let r = var_ref(v).unwrap();
        assert_eq!(r.name, "--f");
        let (a, b) = r.fallback.unwrap();
        assert_eq!(&v[a..b], " var(--g, Inter), serif");
        assert_eq!(var_ref("var(--f)").unwrap().fallback, None);
        assert_eq!(var_ref("var(f, serif)"), None);
        assert_eq!(var_ref("var(--f, serif"), None);
    }
}
