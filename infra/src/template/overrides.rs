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
    /// The problem with a checked override that sets a name the resource
    /// cannot have: an unknown resource attribute, or (for a type that
    /// knows its schema) a property the type does not have. Nested paths
    /// are checked at their top-level property; deletions are not checked
    /// (one of nothing is reported as not applied).
    pub(super) fn unknown_name(&self, resource: &Resource) -> Option<Problem> {
        if !self.checked || self.value.is_none() {
            return None;
        }
        let first = self.path.first()?;
        if !RESOURCE_KEYS.contains(&first.as_str()) {
            return Some(self.unknown(first, "a resource has no attribute", RESOURCE_KEYS));
        }
        let (Some(property), Some(known)) =
            (self.path.get(1), resource.properties.schema_properties())
        else {
            return None;
        };
        if first != "Properties" || known.contains(&property.as_str()) {
            return None;
        }
        let what = format!("{} has no property", resource.type_name());
        Some(self.unknown(property, &what, known))
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
