//! Escape-hatch overrides: a value set or removed at a dotted path inside
//! a rendered resource, applied after the typed model (CDK's `addOverride`).

use serde_json::{Map, Value as Json};

/// An override of one property path on one resource, applied after the
/// typed model is rendered (CDK's `addPropertyOverride`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Override {
    pub(super) logical_id: &'static str,
    pub(super) path: Vec<String>,
    pub(super) value: Option<Json>,
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
