//! Which weights a composition draws text with, and which embedded face
//! the browser picks for each: a plan embeds those faces only. Embedding
//! exactly the face CSS font matching would pick from the whole family
//! keeps the rendering identical to embedding every face.

use std::collections::BTreeSet;

/// The weights a composition uses, as far as its CSS tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Used {
    /// Something the plan cannot read decides a weight (`bolder`, a
    /// `var()`, a script that sets one): every face.
    All,
    Weights(BTreeSet<u16>),
}

impl Default for Used {
    /// Unstyled text is 400.
    fn default() -> Self {
        Used::Weights(BTreeSet::from([400]))
    }
}

impl Used {
    /// Adds a `font-weight` value.
    pub fn add_value(&mut self, value: &str) {
        match parse(value) {
            Some(w) => self.add(w),
            None => *self = Used::All,
        }
    }

    pub fn add(&mut self, weight: u16) {
        if let Used::Weights(set) = self {
            set.insert(weight);
        }
    }

    /// The weights of a `font` shorthand before its size (`bold 20px X`).
    pub fn add_shorthand(&mut self, value: &str) {
        for token in value.split_whitespace() {
            if token.starts_with(|c: char| c.is_ascii_digit())
                && !token.chars().all(|c| c.is_ascii_digit())
            {
                return; // the size: what follows is the family
            }
            match token.to_ascii_lowercase().as_str() {
                "bold" => self.add(700),
                "bolder" | "lighter" => *self = Used::All,
                // `font: var(--weight) 52px/1 X`: a weight the plan cannot read.
                t if t.starts_with("var(") || t.starts_with("calc(") => *self = Used::All,
                t => {
                    if let Ok(w) = t.parse::<u16>() {
                        self.add(w);
                    }
                }
            }
        }
    }

    /// The faces of `available` (ascending weights) this composition needs.
    pub fn faces(&self, available: &[u16]) -> BTreeSet<u16> {
        match self {
            Used::All => available.iter().copied().collect(),
            Used::Weights(set) => set.iter().filter_map(|w| pick(*w, available)).collect(),
        }
    }
}

/// A `font-weight` value as a number; None for relative or computed ones.
fn parse(value: &str) -> Option<u16> {
    let v = value
        .trim()
        .trim_end_matches("!important")
        .trim()
        .to_ascii_lowercase();
    match v.as_str() {
        "normal" => Some(400),
        "bold" => Some(700),
        // Inherits the parent's weight, which is counted where it is set.
        "inherit" | "initial" | "unset" | "revert" => Some(400),
        _ => v
            .parse::<f32>()
            .ok()
            .filter(|w| (1.0..=1000.0).contains(w))
            .map(|w| w.round() as u16),
    }
}

/// CSS Fonts 4 font matching (§5.2, font-weight) among `available`.
pub fn pick(wanted: u16, available: &[u16]) -> Option<u16> {
    if available.contains(&wanted) {
        return Some(wanted);
    }
    let below = || available.iter().rev().copied().find(|w| *w < wanted);
    let above = |from: u16| available.iter().copied().find(|w| *w > from);
    match wanted {
        400..=500 => available
            .iter()
            .copied()
            .find(|w| *w > wanted && *w <= 500)
            .or_else(below)
            .or_else(|| above(500)),
        0..=399 => below().or_else(|| above(wanted)),
        _ => above(wanted).or_else(below),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_follows_css_fonts_4() {
        let f = [400, 700, 900];
        assert_eq!(pick(400, &f), Some(400));
        assert_eq!(pick(500, &f), Some(400));
        assert_eq!(pick(600, &f), Some(700));
        assert_eq!(pick(800, &f), Some(900));
        assert_eq!(pick(950, &f), Some(900));
        assert_eq!(pick(300, &f), Some(400));
        assert_eq!(pick(450, &[300, 500]), Some(500));
        assert_eq!(pick(700, &[400]), Some(400));
    }

    #[test]
    fn used_weights_pick_faces_and_unknowns_take_all() {
        let mut u = Used::default();
        u.add_value("bold");
        u.add_shorthand("italic 600 20px/1.2 Inter");
        assert_eq!(u.faces(&[400, 700, 900]), BTreeSet::from([400, 700]));
        u.add_value("var(--w)");
        assert_eq!(u, Used::All);
        assert_eq!(u.faces(&[400, 700]), BTreeSet::from([400, 700]));
        // The registry's `font: var(--_hf-ui-weight-semibold) 52px/1 X`.
        let mut s = Used::default();
        s.add_shorthand("var(--_hf-ui-weight-semibold) 52px/1 var(--_hf-ui-font-sans)");
        assert_eq!(s, Used::All);
        // A var() after the size is the family, not a weight.
        let mut f = Used::default();
        f.add_shorthand("600 52px/1 var(--font)");
        assert_eq!(f.faces(&[400, 700, 900]), BTreeSet::from([400, 700]));
    }
}
