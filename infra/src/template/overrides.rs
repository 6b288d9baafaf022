//! Escape-hatch overrides: a value set or removed at a dotted path inside
//! a rendered resource, applied after the typed model (CDK's `addOverride`).

use serde_json::{Map, Value as Json};

use crate::name::Name;
use crate::resource::Resource;
use crate::synth::Problem;

/// An override of one property path on one resource, applied after the
/// typed model is rendered (CDK's `addPropertyOverride`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Override {
    pub(super) logical_id: Name,
    pub(super) path: Vec<String>,
    pub(super) value: Option<Json>,
    /// Whether synth checks the path's names against the resource's schema
    /// (false for the `_unchecked` escape hatch).
    pub(super) checked: bool,
}

/// What may follow the logical ID in a resource: CloudFormation's resource
/// attributes and `Properties`.
const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "Metadata",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "CreationPolicy",
    "UpdatePolicy",
];

impl Override {
    /// The problems with a checked override that sets a name the resource
    /// cannot have: an unknown resource attribute, or (for a type that
    /// knows its schema) a property the type does not have, named by the
    /// path or, for an override of the whole `Properties`, by a key of its
    /// value. Nested paths are checked at their top-level property;
    /// deletions are not checked (one of nothing is reported as not applied).
    pub(super) fn unknown_names(&self, resource: &Resource) -> Vec<Problem> {
        let (true, Some(value), Some(first)) = (self.checked, &self.value, self.path.first())
        else {
            return Vec::new();
        };
        if !RESOURCE_KEYS.contains(&first.as_str()) {
            return vec![self.unknown(first, "a resource has no attribute", RESOURCE_KEYS)];
        }
        let Some(known) = resource.properties.schema_properties() else {
            return Vec::new();
        };
        let properties: Vec<&str> = match self.path.get(1) {
            _ if first != "Properties" => Vec::new(),
            Some(property) => vec![property.as_str()],
            None => value
                .as_object()
                .map_or_else(Vec::new, |m| m.keys().map(String::as_str).collect()),
        };
        let what = format!("{} has no property", resource.type_name());
        properties
            .into_iter()
            .filter(|p| !known.contains(p))
            .map(|p| self.unknown(p, &what, known))
            .collect()
    }

    fn unknown(&self, name: &str, what: &str, known: &[&str]) -> Problem {
        let nearest = crate::validate::nearest(name, known).unwrap_or_default();
        Problem::new(
            self.logical_id.as_str(),
            self.path.join("."),
            format!(
                "{what} `{name}`; did you mean `{nearest}`? (For a property newer than this crate's schema, use add_property_override_unchecked.)"
            ),
        )
    }
}

/// Applies one override; false when the path cannot be applied (an array
/// index out of range or not a number, a deletion of nothing), so synth
/// can say so instead of silently ignoring it.
pub(super) fn apply_override(target: &mut Json, path: &[String], value: Option<Json>) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = target;
    for seg in parents {
        cur = match cur {
            Json::Array(items) => match seg.parse::<usize>() {
                Ok(i) if i < items.len() => &mut items[i],
                _ => return false,
            },
            _ => {
                if !cur.is_object() {
                    *cur = Json::Object(Map::new());
                }
                cur.as_object_mut()
                    .unwrap()
                    .entry(seg.clone())
                    .or_insert_with(|| Json::Object(Map::new()))
            }
        };
    }
    match (cur, value) {
        (Json::Array(items), Some(v)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items[i] = v;
                true
            }
            Ok(i) if i == items.len() => {
                items.push(v);
                true
            }
            _ => false,
        },
        (Json::Array(items), None) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        (Json::Object(m), Some(v)) => {
            m.insert(last.clone(), v);
            true
        }
        (Json::Object(m), None) => m.shift_remove(last).is_some(),
        (other, Some(v)) => {
            let mut m = Map::new();
            m.insert(last.clone(), v);
            *other = Json::Object(m);
            true
        }
        (_, None) => false,
    }
}
