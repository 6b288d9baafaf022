use super::*;
use crate::plan::assets::InlineLog;

fn compiled(html: &str) -> Compiled {
    Compiled {
        html: html.to_string(),
        inline_log: InlineLog::default(),
        remote_files: Vec::new(),
    }
}

fn run(html: &str) -> (Compiled, Vec<HostFallback>) {
    let mut c = compiled(html);
    let dir = Path::new("/nonexistent-project");
    let found = embed(&mut c, &dir.join("index.html"), dir, &[]);
    (c, found)
}

/// `(family as named, weight)` of each embedded face, from the page.
fn faces(html: &str) -> Vec<(String, u16)> {
    html.split("@font-face{font-family:\"")
        .skip(1)
        .map(|rule| {
            let name = rule.split('"').next().unwrap().to_string();
            let weight = rule.split("font-weight:").nth(1).unwrap();
            (name, weight.split(';').next().unwrap().parse().unwrap())
        })
        .collect()
}

fn family(slug: &str) -> &'static Family {
    catalog::FAMILIES.iter().find(|f| f.slug == slug).unwrap()
}

#[test]
fn only_the_named_families_and_used_weights_are_embedded() {
    let html = r#"<html><head><style>
.a { font-family: "Space Mono", monospace; font-weight: 700 }
.b { font-family: Helvetica, Arial, sans-serif }
</style></head><body><p class="a">x</p><p class="b">y</p></body></html>"#;
    let (c, found) = run(html);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(
        faces(&c.html),
        [
            ("Space Mono".into(), 400),
            ("Space Mono".into(), 700),
            ("Helvetica".into(), 400),
            ("Helvetica".into(), 700)
        ]
    );
    // Helvetica is Inter's data under the page's name; no 900, no other family.
    let inter = base64::engine::general_purpose::STANDARD.encode(family("inter").faces[0].bytes);
    assert!(c.html.contains(&inter));
    let black = base64::engine::general_purpose::STANDARD.encode(family("inter").faces[2].bytes);
    assert!(!c.html.contains(&black));
    // The faces come first in <head>, before the page's own rules.
    assert!(c
        .html
        .starts_with("<html><head><style data-hyperframes-deterministic-fonts>"));
    // Each face is in the font snapshot with its package and digest.
    assert_eq!(c.inline_log.fonts.len(), 4, "{:?}", c.inline_log.fonts);
    let key = c
        .inline_log
        .fonts
        .keys()
        .find(|k| k.contains("space-mono-latin-700"))
        .unwrap();
    assert!(key.contains("@fontsource/space-mono@5.3.0"), "{key}");
    assert!(
        key.contains(&sha256_hex(family("space-mono").faces[1].bytes)),
        "{key}"
    );
}

#[test]
fn a_page_without_named_families_is_left_alone() {
    let html = "<html><head><style>.a{color:red}</style></head><body>x</body></html>";
    let (c, found) = run(html);
    assert_eq!(c.html, html);
    assert!(found.is_empty() && c.inline_log.fonts.is_empty());
}

#[test]
fn generic_primaries_get_inter_in_rules_attributes_and_font_variables() {
    let html = r#"<html><head><style>
:root { --ui: -apple-system, sans-serif; --kind: serif }
.t { font-family: var(--ui) }
code { font-family: monospace; font-weight: 900 }
</style></head><body><p style="font-family: sans-serif" id="p">x</p><code>y</code></body></html>"#;
    let (c, found) = run(html);
    assert!(found.is_empty(), "{found:?}");
    assert!(
        c.html.contains("--ui: Inter, -apple-system, sans-serif;"),
        "{}",
        c.html
    );
    // Every custom property, as the reference promotes them.
    assert!(c.html.contains("--kind: Inter, serif }"));
    assert!(c.html.contains("font-family: Inter, monospace;"));
    assert!(c.html.contains(r#"style="font-family: Inter, sans-serif""#));
    assert_eq!(
        faces(&c.html),
        [("Inter".into(), 400), ("Inter".into(), 900)]
    );
}

/// The registry's stacks: `var(--font-body, Inter, system-ui, sans-serif)`
/// with no rule defining `--font-body` draws with the fallback's Inter, so
/// Inter is embedded; a generic fallback gets Inter in front, inside the
/// `var()`; a defined property's value decides instead of the fallback.
#[test]
fn var_fallbacks_of_undefined_properties_are_resolved_as_the_reference() {
    let html = r#"<html><head><style>
.a { font-family: var(--font-body, Inter, system-ui, sans-serif) }
.m { font-family: var(--font-mono, ui-monospace, "SF Mono", monospace) }
.n { font-family: var(--outer, var(--inner, monospace)) }
.d { --brand: "Space Mono", monospace; font-family: var(--brand, serif) }
</style></head><body><p class="a">x</p></body></html>"#;
    let (c, found) = run(html);
    assert!(found.is_empty(), "{found:?}");
    assert!(
        c.html
            .contains(r#"var(--font-mono, Inter, ui-monospace, "SF Mono", monospace)"#),
        "{}",
        c.html
    );
    assert!(
        c.html
            .contains("var(--outer, var(--inner, Inter, monospace))"),
        "{}",
        c.html
    );
    assert!(c.html.contains("var(--brand, serif)"), "{}", c.html);
    let named: Vec<String> = faces(&c.html).into_iter().map(|(n, _)| n).collect();
    assert!(named.contains(&"Inter".to_string()), "{named:?}");
    assert!(named.contains(&"Space Mono".to_string()), "{named:?}");
}

#[test]
fn the_projects_own_font_faces_are_used_and_not_replaced() {
    let html = r#"<html><head><style>
@font-face { font-family: "Space Mono"; src: url(data:font/woff2;base64,AAAA) }
@font-face { font-family: Brand; src: url(brand.woff2) }
h1 { font-family: "Space Mono", monospace } p { font-family: Brand, serif }
</style></head><body><h1>x</h1><p>y</p></body></html>"#;
    let (c, found) = run(html);
    assert!(found.is_empty(), "{found:?}");
    assert!(faces(&c.html)
        .iter()
        .all(|(n, _)| n != "Space Mono" && n != "Brand"));
}

#[test]
fn text_that_falls_back_to_a_host_font_is_named_with_its_element() {
    let html = r#"<html><head><style>
.x { font-family: "Comic Neue", cursive }
.y { font-family: Inter, "Unknown Face" }
@media (min-width: 1px) { .z { font-family: Papyrus } }
</style></head><body><p id="t" class="big red" style="font-family: 'Foo Sans', sans-serif">x</p></body></html>"#;
    let (_, found) = run(html);
    let got: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f.family.as_str(), f.element.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("Comic Neue", "the text of `.x`"),
            ("Papyrus", "the text of `.z`"),
            ("Foo Sans", "<p id=\"t\" class=\"big red\">"),
        ]
    );
    let message = found[0].to_string();
    assert!(
        message.contains("\"Comic Neue\"")
            && message.contains(".x")
            && message.contains("index.html"),
        "{message}"
    );
}

#[test]
fn a_script_that_sets_weights_embeds_every_weight() {
    let html = r#"<html><head><style>.a{font-family:Inter}</style></head><body><p class="a">x</p>
<script>gsap.to(".a", {fontWeight: 900})</script></body></html>"#;
    let (c, _) = run(html);
    assert_eq!(faces(&c.html).len(), 3);
}

#[test]
fn the_embedded_bytes_are_the_pinned_files_from_the_pinned_packages() {
    let sums = include_str!("../../../fonts/faces.sha256");
    let lock = include_str!("../../../fonts/packages.lock");
    let mut files = 0;
    for family in catalog::FAMILIES {
        let (package, version) = family.package.rsplit_once('@').unwrap();
        let line = lock
            .lines()
            .find(|l| l.starts_with(&format!("{package} ")))
            .unwrap_or_else(|| panic!("{package} is not in packages.lock"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], version, "{line}");
        let weights: Vec<String> = family.faces.iter().map(|f| f.weight.to_string()).collect();
        assert_eq!(fields[3], weights.join(","), "{line}");
        for face in family.faces {
            let want = format!("{}  {}", sha256_hex(face.bytes), face.file);
            assert!(
                sums.lines().any(|l| l == want),
                "{} does not match faces.sha256",
                face.file
            );
            files += 1;
        }
    }
    assert_eq!(files, sums.lines().count());
    assert_eq!(catalog::FAMILIES.len(), 18);
}

#[test]
fn font_variables_are_embedded_or_reported_by_name() {
    let html =
        "<html><head><style>.t{color:red}</style></head><body><h1 class=\"t\">x</h1></body></html>";
    let mut c = compiled(html);
    let dir = Path::new("/nonexistent-project");
    let runtime = [
        RuntimeFamily {
            value: "Montserrat, sans-serif".into(),
            label: "font variable \"headline\"".into(),
        },
        RuntimeFamily {
            value: "Wingdings".into(),
            label: "font variable \"body\"".into(),
        },
    ];
    let found = embed(&mut c, &dir.join("index.html"), dir, &runtime);
    // h1 is bold: 400 for other text, 700 for the heading.
    assert_eq!(
        faces(&c.html),
        [("Montserrat".into(), 400), ("Montserrat".into(), 700)]
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].family, "Wingdings");
    assert!(
        found[0].to_string().contains("font variable \"body\""),
        "{}",
        found[0]
    );
}

/// The `font` shorthand names families too: after its size and line
/// height. A family of the catalog is embedded; a generic primary is left
/// alone and a host family is not reported, as the reference reads
/// `font-family` only (its peer draws such text with the host's fonts).
#[test]
fn families_in_the_font_shorthand_are_embedded_and_generics_left_as_the_reference_leaves_them() {
    let html = r#"<html><head><style>
.a { font: 700 40px "Space Mono", monospace }
.b { font: italic 12px/1.2 sans-serif }
.c { font: 20px Papyrus }
.d { font: caption }
</style></head><body></body></html>"#;
    let (c, found) = run(html);
    assert!(found.is_empty(), "{found:?}");
    assert!(
        c.html.contains("font: italic 12px/1.2 sans-serif }"),
        "{}",
        c.html
    );
    assert_eq!(
        faces(&c.html),
        [("Space Mono".into(), 400), ("Space Mono".into(), 700)]
    );
}
