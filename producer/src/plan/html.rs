//! A small HTML tag scanner: enough to find the root composition, media elements
//! and external `<script>`/`<link>`/`<style>` references without pulling in a
//! full HTML5 parser. It skips comments and the raw-text bodies of `<script>`
//! and `<style>` so markup inside JavaScript strings is never mistaken for tags.

/// One start tag (or self-closing tag) with its byte span in the document.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub start: usize,
    /// Byte offset just past the tag's `>`.
    pub end: usize,
    pub attrs: Vec<(String, String)>,
    /// For `<script>`/`<style>`: span of the raw body and the end of the closing tag.
    pub body: Option<(usize, usize, usize)>,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// All start tags in document order.
pub fn scan(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i + 4..]
                .find("-->")
                .map_or(bytes.len(), |p| i + 4 + p + 3);
            continue;
        }
        if i + 1 < bytes.len()
            && (bytes[i + 1] == b'/' || bytes[i + 1] == b'!' || bytes[i + 1] == b'?')
        {
            i = html[i..].find('>').map_or(bytes.len(), |p| i + p + 1);
            continue;
        }
        if i + 1 >= bytes.len() || !bytes[i + 1].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let (tag, next) = parse_tag(html, i);
        i = next;
        if let Some(mut tag) = tag {
            if tag.name == "script" || tag.name == "style" {
                let close = format!("</{}", tag.name);
                let lower_rest = html[tag.end..].to_ascii_lowercase();
                let body_end = lower_rest.find(&close).map_or(bytes.len(), |p| tag.end + p);
                let close_end = html[body_end..]
                    .find('>')
                    .map_or(bytes.len(), |p| body_end + p + 1);
                tag.body = Some((tag.end, body_end, close_end));
                i = close_end;
            }
            tags.push(tag);
        }
    }
    tags
}

fn parse_tag(html: &str, start: usize) -> (Option<Tag>, usize) {
    let bytes = html.as_bytes();
    let mut i = start + 1;
    let name_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
        i += 1;
    }
    let name = html[name_start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (None, i);
        }
        if bytes[i] == b'>' {
            i += 1;
            break;
        }
        let k_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let key = html[k_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let v_start = i + 1;
                let v_end = html[v_start..]
                    .bytes()
                    .position(|b| b == q)
                    .map_or(bytes.len(), |p| v_start + p);
                value = decode_entities(&html[v_start..v_end]);
                i = (v_end + 1).min(bytes.len());
            } else {
                let v_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[v_start..i]);
            }
        }
        if !key.is_empty() {
            attrs.push((key, value));
        }
    }
    (
        Some(Tag {
            name,
            start,
            end: i,
            attrs,
            body: None,
        }),
        i,
    )
}

/// Decodes the few entities that appear in attribute URLs.
pub fn decode_entities(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Escapes a value for a double-quoted attribute.
pub fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tags_and_skips_script_bodies_and_comments() {
        let html = r#"<html><!-- <div data-composition-id="no"> --><head>
<script src="https://x/a.js"></script><script>var s = "<div data-composition-id='fake'>";</script>
<style>@import url("x.css");</style></head>
<body><div id=main data-composition-id="main" data-width='640' data-duration="2">hi</div></body></html>"#;
        let tags = scan(html);
        let roots: Vec<_> = tags
            .iter()
            .filter(|t| t.attr("data-composition-id").is_some())
            .collect();
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].attr("id"), Some("main"));
        assert_eq!(roots[0].attr("data-width"), Some("640"));
        let scripts: Vec<_> = tags.iter().filter(|t| t.name == "script").collect();
        assert_eq!(scripts.len(), 2);
        assert_eq!(scripts[0].attr("src"), Some("https://x/a.js"));
        let (b0, b1, _) = scripts[1].body.unwrap();
        assert!(html[b0..b1].contains("fake"));
        let style = tags.iter().find(|t| t.name == "style").unwrap();
        let (s0, s1, _) = style.body.unwrap();
        assert_eq!(&html[s0..s1], r#"@import url("x.css");"#);
    }
}
