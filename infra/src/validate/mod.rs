//! Synth-time validation: the template-level rules, and the context
//! ([`ResourceCheck`]) in which each resource type checks its own
//! properties ([`crate::ResourceType::validate`], written next to the type).
//!
//! Validation runs on the rendered JSON, after escape-hatch overrides, so
//! what an override sets is checked like what the typed model set
//! (cdk-nag's lesson: validate what will be deployed, not what was
//! modelled), and the template-level rules cover raw resources too. It
//! collects every problem instead of stopping at the first, and each names
//! where, what, and how to fix it.

mod limits;
mod policy;
mod references;

use serde_json::{Map, Value as Json};

use crate::synth::Problem;

pub use limits::{
    MAX_BODY_BYTES, MAX_INLINE_BODY_BYTES, MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES,
};

use limits::Sections;
use references::Names;

/// Every problem in a rendered template, in template order: limits and
/// names first, then each section's references, each resource followed by
/// what `resource_rules` (its type's own rules) finds in it.
pub(crate) fn template_problems(
    t: &Json,
    resource_rules: impl Fn(&ResourceCheck<'_>) -> Vec<Problem>,
) -> Vec<Problem> {
    let empty = Map::new();
    let section = |name: &str| t.get(name).and_then(Json::as_object).unwrap_or(&empty);
    let sections = Sections {
        parameters: section("Parameters"),
        conditions: section("Conditions"),
        resources: section("Resources"),
        outputs: section("Outputs"),
    };
    let mut out = Vec::new();
    limits::check(t, &sections, &mut out);
    let Sections {
        parameters,
        conditions,
        resources,
        outputs,
    } = sections;
    let names = Names::new(parameters, resources, conditions);
    for (id, c) in conditions {
        names.check_refs(id, "", c, &mut out);
    }
    for (id, r) in section("Rules") {
        names.check_refs(id, "", r, &mut out);
    }
    for (id, r) in resources {
        names.check_resource(id, r, &mut out);
        policy::check(id, &r["Properties"], &mut out);
        out.extend(resource_rules(&ResourceCheck {
            id,
            properties: &r["Properties"],
            parameters,
        }));
    }
    for (id, o) in outputs {
        names.check_refs(id, "", o, &mut out);
    }
    out
}

/// An override that found nothing to change.
pub(crate) fn unapplied_override(id: &str, path: &str) -> Problem {
    Problem::new(
        id,
        path,
        "override did not apply: the resource does not exist, or an array index is out of range or not a number; fix the path",
    )
}

/// The dotted paths (below `prefix`) of every empty list inside `v`.
pub(crate) fn empty_lists(v: &Json, prefix: &str) -> Vec<String> {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Json::Array(items) if items.is_empty() => vec![prefix.to_string()],
        Json::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, x)| empty_lists(x, &join(&i.to_string())))
            .collect(),
        Json::Object(m) => m
            .iter()
            .flat_map(|(k, x)| empty_lists(x, &join(k)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The name in `known` nearest to `name` by edit distance (ignoring case,
/// so `memorysize` finds `MemorySize`); ties go to the first listed.
pub(crate) fn nearest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let name = name.to_ascii_lowercase();
    known
        .iter()
        .min_by_key(|k| edit_distance(&name, &k.to_ascii_lowercase()))
        .copied()
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// A parameter, condition, rule, resource or output name used twice.
pub(crate) fn duplicate_id(id: &str) -> Problem {
    Problem::new(
        id,
        "",
        format!("logical ID `{id}` is declared more than once; each parameter, resource and output needs a unique name (rename one)"),
    )
}

/// One resource as synth checks it: its logical ID, its rendered
/// `Properties` (after overrides) and the template's parameters, which a
/// property may refer to.
#[derive(Debug, Clone, Copy)]
pub struct ResourceCheck<'a> {
    id: &'a str,
    properties: &'a Json,
    parameters: &'a Map<String, Json>,
}

impl<'a> ResourceCheck<'a> {
    /// The resource's logical ID.
    pub fn logical_id(&self) -> &'a str {
        self.id
    }

    /// The whole rendered `Properties` object (`Null` if absent).
    pub fn properties(&self) -> &'a Json {
        self.properties
    }

    /// The property at a dotted `path` under `Properties` (`"MemorySize"`,
    /// `"EphemeralStorage.Size"`), if it is there.
    pub fn get(&self, path: &str) -> Option<&'a Json> {
        path.split('.').try_fold(self.properties, |v, k| v.get(k))
    }

    /// [`Self::get`], with `Null` for an absent property.
    pub fn property(&self, path: &str) -> &'a Json {
        static ABSENT: Json = Json::Null;
        self.get(path).unwrap_or(&ABSENT)
    }

    /// Whether the property at `path` is there.
    pub fn has(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// The declared parameter `name`, as rendered.
    pub fn parameter(&self, name: &str) -> Option<&'a Json> {
        self.parameters.get(name)
    }

    /// A problem with the property at `path` (empty: the whole `Properties`).
    pub fn problem(&self, path: &str, message: impl Into<String>) -> Problem {
        let property = if path.is_empty() {
            "Properties".to_string()
        } else {
            format!("Properties.{path}")
        };
        Problem::new(self.id, property, message)
    }

    /// A problem when the property at `path` is an empty list, which the
    /// service refuses (`needs` says what the list needs, and how to fix it).
    pub fn non_empty(&self, path: &str, needs: &str) -> Option<Problem> {
        let empty = self.get(path)?.as_array()?.is_empty();
        empty.then(|| self.problem(path, format!("empty list; {needs}")))
    }

    /// Checks a numeric property: a literal must lie in `min..=max`; a
    /// `Ref` to a parameter must not admit values outside it (by its
    /// `Default`, `AllowedValues`, or `MinValue`/`MaxValue`).
    pub fn range(&self, path: &str, min: i64, max: i64, unit: &str) -> Option<Problem> {
        let outside = |n: f64| n < min as f64 || n > max as f64;
        let v = self.property(path);
        if let Some(n) = v.as_f64() {
            return outside(n).then(|| {
                self.problem(
                    path,
                    format!("{n} is outside {min}..{max} {unit}; set a value in that range"),
                )
            });
        }
        let pname = v.get("Ref").and_then(Json::as_str)?;
        let p = self.parameter(pname)?;
        let bad = parameter_values_outside(p, outside);
        (!bad.is_empty()).then(|| self.problem(path, format!(
            "parameter `{pname}` admits values outside {min}..{max} {unit} ({}); constrain it with AllowedValues or MinValue/MaxValue",
            bad.join(", ")
        )))
    }
}

/// What a parameter admits that `outside` rejects: its default, allowed
/// values, or (without allowed values) an open or too wide range.
fn parameter_values_outside(p: &Json, outside: impl Fn(f64) -> bool) -> Vec<String> {
    let mut bad = Vec::new();
    if let Some(d) = p["Default"].as_f64() {
        if outside(d) {
            bad.push(format!("its Default {d}"));
        }
    }
    for a in p["AllowedValues"].as_array().into_iter().flatten() {
        if let Some(n) = a.as_f64() {
            if outside(n) {
                bad.push(format!("allowed value {n}"));
            }
        }
    }
    let has_allowed = p["AllowedValues"].as_array().is_some_and(|a| !a.is_empty());
    if !has_allowed {
        match (p["MinValue"].as_f64(), p["MaxValue"].as_f64()) {
            (Some(lo), Some(hi)) if !outside(lo) && !outside(hi) => {}
            (lo, hi) => bad.push(format!(
                "MinValue/MaxValue {}..{} (must lie within the range)",
                lo.map_or("unset".into(), |x| x.to_string()),
                hi.map_or("unset".into(), |x| x.to_string())
            )),
        }
    }
    bad
}
