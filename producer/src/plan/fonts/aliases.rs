//! Which family a `font-family` name resolves to: the reference's alias map
//! (`@hyperframes/parsers` `FONT_ALIAS_MAP`, read from heygen-com/hyperframes),
//! so a composition written for the reference gets the same faces here, and
//! the generic families it treats as host fonts.

use super::catalog::{Family, FAMILIES};

/// Lower-cased family name -> embedded family slug. The embedded families
/// name themselves; the rest are the reference's nearest substitutes for
/// host fonts (Arial and Helvetica -> Inter, Courier -> JetBrains Mono,
/// Times -> EB Garamond, ...).
const ALIASES: &[(&str, &str)] = &[
    ("helvetica neue", "inter"),
    ("helvetica", "inter"),
    ("arial", "inter"),
    ("helvetica bold", "inter"),
    ("futura", "montserrat"),
    ("din alternate", "montserrat"),
    ("arial black", "montserrat"),
    ("bebas neue", "league-gothic"),
    ("courier new", "jetbrains-mono"),
    ("courier", "jetbrains-mono"),
    ("garamond", "eb-garamond"),
    ("noto sans japanese", "noto-sans-jp"),
    ("segoe ui", "roboto"),
    ("sf pro", "inter"),
    ("sf pro display", "inter"),
    ("sf pro text", "inter"),
    ("sf pro rounded", "inter"),
    ("avenir", "inter"),
    ("avenir next", "inter"),
    ("lucida grande", "inter"),
    ("geneva", "inter"),
    ("optima", "inter"),
    ("verdana", "inter"),
    ("tahoma", "inter"),
    ("trebuchet ms", "inter"),
    ("calibri", "inter"),
    ("candara", "inter"),
    ("corbel", "inter"),
    ("lucida sans", "inter"),
    ("lucida sans unicode", "inter"),
    ("noto sans", "inter"),
    ("dejavu sans", "inter"),
    ("liberation sans", "inter"),
    ("sf mono", "jetbrains-mono"),
    ("menlo", "jetbrains-mono"),
    ("monaco", "jetbrains-mono"),
    ("consolas", "jetbrains-mono"),
    ("lucida console", "jetbrains-mono"),
    ("lucida sans typewriter", "jetbrains-mono"),
    ("andale mono", "jetbrains-mono"),
    ("dejavu sans mono", "jetbrains-mono"),
    ("liberation mono", "jetbrains-mono"),
    ("georgia", "eb-garamond"),
    ("palatino", "eb-garamond"),
    ("palatino linotype", "eb-garamond"),
    ("book antiqua", "eb-garamond"),
    ("cambria", "eb-garamond"),
    ("times", "eb-garamond"),
    ("times new roman", "eb-garamond"),
    ("dejavu serif", "eb-garamond"),
    ("liberation serif", "eb-garamond"),
];

/// The generic and host-UI family names: the browser maps them to a host
/// font, which differs between this machine and Lambda.
const GENERICS: &[&str] = &[
    "sans-serif",
    "serif",
    "monospace",
    "cursive",
    "fantasy",
    "system-ui",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
    "ui-rounded",
    "emoji",
    "math",
    "fangsong",
    "-apple-system",
    "blinkmacsystemfont",
];

/// The family a generic primary resolves to, as the reference resolves it
/// (`normalizeSystemFontPrimaryFamilies`: every generic primary gets Inter
/// in front, monospace and serif too), so that output matches the
/// reference's.
pub const GENERIC_PRIMARY: &str = "Inter";

/// The embedded family a name resolves to (its own or an alias).
pub fn resolve(name: &str) -> Option<&'static Family> {
    let lower = name.trim().to_ascii_lowercase();
    let slug = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map(|(_, slug)| *slug);
    FAMILIES.iter().find(|f| match slug {
        Some(s) => f.slug == s,
        None => f.name.eq_ignore_ascii_case(&lower),
    })
}

pub fn is_generic(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    GENERICS.contains(&lower.as_str())
}

/// CSS-wide keywords: the value is another element's, not a family.
pub fn is_keyword(name: &str) -> bool {
    ["inherit", "initial", "unset", "revert", "revert-layer"]
        .contains(&name.trim().to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_resolve_case_insensitively_and_generics_do_not() {
        assert_eq!(resolve("space mono").unwrap().slug, "space-mono");
        assert_eq!(resolve("Helvetica").unwrap().name, "Inter");
        assert_eq!(resolve("Courier New").unwrap().name, "JetBrains Mono");
        assert_eq!(resolve("IBM Plex Mono").unwrap().slug, "ibm-plex-mono");
        assert!(resolve("sans-serif").is_none() && is_generic("Sans-Serif"));
        assert!(resolve("Comic Sans MS").is_none() && !is_generic("Comic Sans MS"));
        // Every alias names an embedded family.
        for (alias, slug) in ALIASES {
            assert!(
                FAMILIES.iter().any(|f| f.slug == *slug),
                "{alias} -> {slug}"
            );
        }
    }
}
