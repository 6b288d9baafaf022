//! Composition variables: the typed values a render is given, the
//! declarations a composition makes (`data-composition-variables`), and the
//! checks between them.
//!
//! Values reach the page as `window.__hfVariables` (see
//! [`crate::capture::session`]); the compiled page's variables runtime
//! ([`RUNTIME_JS`]) merges them over the declared defaults and binds them
//! (`data-var-text`, `data-var-src`, CSS custom properties,
//! `window.__hyperframes.getVariables()`), as the reference's runtime does.

mod color;
mod project;
mod schema;
mod validate;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

pub use color::is_css_color;
pub use project::{schema_for_html, schema_for_project};
pub use schema::{parse_declarations, Declaration, Schema, VarType};
pub use validate::{is_safe_media_url, validate, Problem, ProblemKind, UrlCheck};

/// The page-side variables runtime, compiled into pages that use variables.
pub const RUNTIME_JS: &str = include_str!("runtime.js");

/// A render's variable values: a JSON object keyed by variable id.
///
/// Serialized with its keys in canonical (byte-wise sorted) order, so the
/// same values give the same bytes (and the same plan hash) whatever order
/// the caller wrote them in.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Variables(Map<String, Value>);

impl Serialize for Variables {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        sorted(&Value::Object(self.0.clone())).serialize(s)
    }
}

impl Variables {
    pub fn new(map: Map<String, Value>) -> Self {
        Variables(map)
    }

    /// Parses the text of `--variables` or a variables file; `source` names
    /// it in the error ("--variables", "--variables-file x.json").
    pub fn parse(text: &str, source: &str) -> std::result::Result<Self, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON in {source}: {e}"))?;
        match v {
            Value::Object(m) => Ok(Variables(m)),
            other => Err(format!(
                "{source} must be a JSON object keyed by variable id, like {{\"title\":\"Hello\"}} (got {})",
                json_type(&other)
            )),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, id: &str) -> Option<&Value> {
        self.0.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Canonical JSON (sorted keys, no whitespace): what the plan hashes and
    /// what every chunk injects.
    pub fn canonical_json(&self) -> String {
        crate::plan::digest::canonical_json(&Value::Object(self.0.clone()))
    }
}

impl From<Map<String, Value>> for Variables {
    fn from(m: Map<String, Value>) -> Self {
        Variables(m)
    }
}

/// `v` with every object's keys in byte-wise order (the workspace keeps
/// insertion order otherwise).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The JSON type of a value as messages name it (`null`, `array`, ...).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_in_canonical_order_whatever_the_input_order() {
        let a = Variables::parse(r#"{"b":1,"a":{"z":1,"y":2}}"#, "x").unwrap();
        let b = Variables::parse(r#"{"a":{"y":2,"z":1},"b":1}"#, "x").unwrap();
        assert_eq!(a.canonical_json(), b.canonical_json());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"a":{"y":2,"z":1},"b":1}"#
        );
        assert_eq!(a.canonical_json(), r#"{"a":{"y":2,"z":1},"b":1}"#);
    }

    #[test]
    fn only_an_object_is_a_set_of_values() {
        for (text, needle) in [
            ("[1]", "got array"),
            ("null", "got null"),
            ("\"x\"", "got string"),
            ("{", "invalid JSON in --variables"),
        ] {
            let e = Variables::parse(text, "--variables").unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }
}

#[cfg(test)]
mod wire_tests {
    use crate::RenderConfig;
    use serde_json::json;

    #[test]
    fn the_wire_field_is_an_object_and_errors_name_it() {
        let c = RenderConfig::from_json(
            &json!({"fps": 30, "format": "mp4", "variables": {"b": 1, "a": "x"}}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap()["variables"],
            json!({"a": "x", "b": 1})
        );
        let e = RenderConfig::from_json(&json!({"fps": 30, "format": "mp4", "variables": [1]}))
            .unwrap_err();
        assert!(e.to_string().contains("variables"), "{e}");
    }
}
