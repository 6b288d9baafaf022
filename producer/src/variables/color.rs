//! Whether CSS can parse a string as a `<color>`: hex, named and system
//! colours, and the colour functions with the right number of components.
//! A value with `var(` is accepted (it resolves only in the page).

const NAMED: &[&str] = &[
    "aliceblue",
    "antiquewhite",
    "aqua",
    "aquamarine",
    "azure",
    "beige",
    "bisque",
    "black",
    "blanchedalmond",
    "blue",
    "blueviolet",
    "brown",
    "burlywood",
    "cadetblue",
    "chartreuse",
    "chocolate",
    "coral",
    "cornflowerblue",
    "cornsilk",
    "crimson",
    "cyan",
    "darkblue",
    "darkcyan",
    "darkgoldenrod",
    "darkgray",
    "darkgreen",
    "darkgrey",
    "darkkhaki",
    "darkmagenta",
    "darkolivegreen",
    "darkorange",
    "darkorchid",
    "darkred",
    "darksalmon",
    "darkseagreen",
    "darkslateblue",
    "darkslategray",
    "darkslategrey",
    "darkturquoise",
    "darkviolet",
    "deeppink",
    "deepskyblue",
    "dimgray",
    "dimgrey",
    "dodgerblue",
    "firebrick",
    "floralwhite",
    "forestgreen",
    "fuchsia",
    "gainsboro",
    "ghostwhite",
    "gold",
    "goldenrod",
    "gray",
    "green",
    "greenyellow",
    "grey",
    "honeydew",
    "hotpink",
    "indianred",
    "indigo",
    "ivory",
    "khaki",
    "lavender",
    "lavenderblush",
    "lawngreen",
    "lemonchiffon",
    "lightblue",
    "lightcoral",
    "lightcyan",
    "lightgoldenrodyellow",
    "lightgray",
    "lightgreen",
    "lightgrey",
    "lightpink",
    "lightsalmon",
    "lightseagreen",
    "lightskyblue",
    "lightslategray",
    "lightslategrey",
    "lightsteelblue",
    "lightyellow",
    "lime",
    "limegreen",
    "linen",
    "magenta",
    "maroon",
    "mediumaquamarine",
    "mediumblue",
    "mediumorchid",
    "mediumpurple",
    "mediumseagreen",
    "mediumslateblue",
    "mediumspringgreen",
    "mediumturquoise",
    "mediumvioletred",
    "midnightblue",
    "mintcream",
    "mistyrose",
    "moccasin",
    "navajowhite",
    "navy",
    "oldlace",
    "olive",
    "olivedrab",
    "orange",
    "orangered",
    "orchid",
    "palegoldenrod",
    "palegreen",
    "paleturquoise",
    "palevioletred",
    "papayawhip",
    "peachpuff",
    "peru",
    "pink",
    "plum",
    "powderblue",
    "purple",
    "rebeccapurple",
    "red",
    "rosybrown",
    "royalblue",
    "saddlebrown",
    "salmon",
    "sandybrown",
    "seagreen",
    "seashell",
    "sienna",
    "silver",
    "skyblue",
    "slateblue",
    "slategray",
    "slategrey",
    "snow",
    "springgreen",
    "steelblue",
    "tan",
    "teal",
    "thistle",
    "tomato",
    "turquoise",
    "violet",
    "wheat",
    "white",
    "whitesmoke",
    "yellow",
    "yellowgreen",
    "transparent",
    "currentcolor",
    // System colours (CSS Color 4).
    "accentcolor",
    "accentcolortext",
    "activetext",
    "buttonborder",
    "buttonface",
    "buttontext",
    "canvas",
    "canvastext",
    "field",
    "fieldtext",
    "graytext",
    "highlight",
    "highlighttext",
    "linktext",
    "mark",
    "marktext",
    "selecteditem",
    "selecteditemtext",
    "visitedtext",
];

/// Whether `s` is a colour CSS accepts.
pub fn is_css_color(s: &str) -> bool {
    let v = s.trim().to_ascii_lowercase();
    if v.contains("var(") {
        return balanced(&v);
    }
    if let Some(hex) = v.strip_prefix('#') {
        return matches!(hex.len(), 3 | 4 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if NAMED.contains(&v.as_str()) {
        return true;
    }
    let Some(open) = v.find('(') else {
        return false;
    };
    if !v.ends_with(')') || !balanced(&v) {
        return false;
    }
    let name = &v[..open];
    let args = &v[open + 1..v.len() - 1];
    match name {
        "rgb" | "rgba" | "hsl" | "hsla" | "hwb" | "lab" | "lch" | "oklab" | "oklch" => {
            components_ok(args, matches!(name, "rgb" | "rgba" | "hsl" | "hsla"))
        }
        // Nested colours and colour spaces: checked for shape only.
        "color" | "color-mix" | "light-dark" => !args.trim().is_empty(),
        _ => false,
    }
}

fn balanced(v: &str) -> bool {
    let mut depth = 0i32;
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// Three components and an optional alpha: `a b c [/ d]`, or (legacy
/// syntax, rgb/hsl only) `a, b, c[, d]`.
fn components_ok(args: &str, legacy_ok: bool) -> bool {
    if args.contains("from ") || args.contains("calc(") {
        return balanced(args);
    }
    if args.contains(',') {
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        return legacy_ok && matches!(parts.len(), 3 | 4) && parts.iter().all(|p| is_component(p));
    }
    let (main, alpha) = match args.split_once('/') {
        Some((m, a)) => (m, Some(a.trim())),
        None => (args, None),
    };
    let parts: Vec<&str> = main.split_whitespace().collect();
    parts.len() == 3 && parts.iter().all(|p| is_component(p)) && alpha.is_none_or(is_component)
}

/// A number, percentage, angle or `none`.
fn is_component(p: &str) -> bool {
    if p == "none" {
        return true;
    }
    let num = ["%", "deg", "grad", "rad", "turn"]
        .iter()
        .find_map(|u| p.strip_suffix(u))
        .unwrap_or(p);
    !num.is_empty() && num.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_css_parses() {
        for ok in [
            "#fff",
            "#0a3d62",
            "#0a3d62cc",
            "#abcd",
            "red",
            "Transparent",
            "currentColor",
            "rgb(10, 20, 30)",
            "rgba(10,20,30,0.5)",
            "rgb(10 20 30 / 50%)",
            "hsl(210deg 50% 40%)",
            "oklch(70% 0.1 200)",
            "color-mix(in srgb, red 40%, blue)",
            "color(display-p3 1 0 0)",
            "var(--brand)",
            " #FFF ",
            "hwb(120 10% 20%)",
        ] {
            assert!(is_css_color(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_what_css_does_not() {
        for bad in [
            "",
            "#12345",
            "#ggg",
            "reddish",
            "rgb(1,2)",
            "rgb(1 2 3 4)",
            "rgb(1,2,3",
            "blue;",
            "url(x)",
            "12",
            "hsl(a b c)",
            "lab(1, 2, 3)",
        ] {
            assert!(!is_css_color(bad), "{bad}");
        }
    }
}
