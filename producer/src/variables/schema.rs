//! Declarations: the JSON array in `data-composition-variables`.
//!
//! Parsed as the reference parses it (`parseCompositionVariables`): an entry
//! that is not an object, lacks a string `id`/`label`, has an unknown `type`,
//! a `default` of the wrong JSON type, or an enum without `options`, is
//! dropped. The reference drops them silently; here every drop is a
//! [`Problem`] so a user can see why a variable "does not exist".

use serde_json::Value;

use super::validate::{Problem, ProblemKind};

/// The seven variable types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Color,
    Boolean,
    Enum,
    Font,
    Image,
}

impl VarType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => VarType::String,
            "number" => VarType::Number,
            "color" => VarType::Color,
            "boolean" => VarType::Boolean,
            "enum" => VarType::Enum,
            "font" => VarType::Font,
            "image" => VarType::Image,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VarType::String => "string",
            VarType::Number => "number",
            VarType::Color => "color",
            VarType::Boolean => "boolean",
            VarType::Enum => "enum",
            VarType::Font => "font",
            VarType::Image => "image",
        }
    }

    /// Whether `default` has the JSON type the reference requires.
    fn default_fits(self, default: &Value) -> bool {
        match self {
            VarType::Number => default.is_number(),
            VarType::Boolean => default.is_boolean(),
            _ => default.is_string(),
        }
    }
}

/// One declared variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub id: String,
    pub kind: VarType,
    pub label: String,
    pub default: Value,
    /// Enum option values (`options[].value`).
    pub options: Vec<Value>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub max_length: Option<u64>,
}

/// The declarations a render's values are checked against, with the
/// problems found while reading them.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub declarations: Vec<Declaration>,
    pub problems: Vec<Problem>,
    /// Where the declarations were read, for messages ("index.html").
    pub origin: String,
}

impl Schema {
    /// The declaration of `id` (a later declarer wins, as in `getVariables`).
    pub fn get(&self, id: &str) -> Option<&Declaration> {
        self.declarations.iter().rev().find(|d| d.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.declarations.is_empty()
    }

    /// Declared defaults by id, later declarers winning.
    pub fn defaults(&self) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        for d in &self.declarations {
            out.insert(d.id.clone(), d.default.clone());
        }
        out
    }

    /// Adds the declarations of one attribute (`at` names it in problems).
    pub fn extend_from(&mut self, raw: &str, at: &str) {
        let (decls, problems) = parse_declarations(raw, at);
        self.declarations.extend(decls);
        self.problems.extend(problems);
    }
}

/// Parses one `data-composition-variables` value. `at` prefixes every
/// problem's path (e.g. `index.html <html> data-composition-variables`).
pub fn parse_declarations(raw: &str, at: &str) -> (Vec<Declaration>, Vec<Problem>) {
    let dropped = |path: String, message: String| Problem {
        path,
        kind: ProblemKind::DroppedDeclaration,
        message,
    };
    let parsed: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!("is not JSON ({e}); the whole attribute is ignored");
            return (Vec::new(), vec![dropped(at.to_string(), msg)]);
        }
    };
    let Value::Array(entries) = parsed else {
        let msg = format!(
            "must be a JSON array of declarations (got {}); the whole attribute is ignored",
            super::json_type(&parsed)
        );
        return (Vec::new(), vec![dropped(at.to_string(), msg)]);
    };
    let mut decls = Vec::new();
    let mut problems = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match declaration(entry) {
            Ok(d) => decls.push(d),
            Err(why) => problems.push(dropped(
                format!("{at}[{i}]"),
                format!("{why}; this declaration is dropped, as the reference drops it"),
            )),
        }
    }
    (decls, problems)
}

/// One entry, or why the reference would drop it.
fn declaration(entry: &Value) -> std::result::Result<Declaration, String> {
    let Value::Object(o) = entry else {
        return Err(format!("is a {}, not an object", super::json_type(entry)));
    };
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .ok_or("has no string `id`")?;
    let label = o
        .get("label")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{id}` has no string `label`"))?;
    let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
    let kind = VarType::parse(ty).ok_or_else(|| {
        format!("`{id}` has type {ty:?}; use string, number, color, boolean, enum, font or image")
    })?;
    let default = o
        .get("default")
        .ok_or_else(|| format!("`{id}` has no `default`"))?;
    if !kind.default_fits(default) {
        return Err(format!(
            "`{id}` is a {} but its default is a {}",
            kind.as_str(),
            super::json_type(default)
        ));
    }
    let options = match (kind, o.get("options")) {
        (VarType::Enum, Some(Value::Array(opts))) => opts
            .iter()
            .map(|opt| opt.get("value").cloned().unwrap_or_else(|| opt.clone()))
            .collect(),
        (VarType::Enum, _) => return Err(format!("enum `{id}` has no `options` array")),
        _ => Vec::new(),
    };
    Ok(Declaration {
        id: id.to_string(),
        kind,
        label: label.to_string(),
        default: default.clone(),
        options,
        min: o.get("min").and_then(Value::as_f64),
        max: o.get("max").and_then(Value::as_f64),
        max_length: o.get("maxLength").and_then(Value::as_u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seven_types_and_reports_every_drop() {
        let raw = r##"[
          {"id":"t","type":"string","label":"T","default":"x","maxLength":5},
          {"id":"n","type":"number","label":"N","default":1,"min":0,"max":10},
          {"id":"c","type":"color","label":"C","default":"#fff"},
          {"id":"b","type":"boolean","label":"B","default":true},
          {"id":"e","type":"enum","label":"E","default":"a","options":[{"value":"a","label":"A"}]},
          {"id":"f","type":"font","label":"F","default":"Inter"},
          {"id":"i","type":"image","label":"I","default":"logo.png"},
          7,
          {"id":"x","type":"string","label":"X","default":3},
          {"id":"y","type":"enum","label":"Y","default":"a"},
          {"id":"z","type":"colour","label":"Z","default":"red"},
          {"type":"string","label":"L","default":"s"}
        ]"##;
        let (decls, problems) = parse_declarations(raw, "dcv");
        assert_eq!(decls.len(), 7);
        assert_eq!(decls[1].max, Some(10.0));
        assert_eq!(decls[0].max_length, Some(5));
        assert_eq!(decls[4].options, vec![Value::from("a")]);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["dcv[7]", "dcv[8]", "dcv[9]", "dcv[10]", "dcv[11]"]);
        assert!(
            problems[1].message.contains("default is a number"),
            "{}",
            problems[1].message
        );
        assert!(problems
            .iter()
            .all(|p| p.kind == ProblemKind::DroppedDeclaration));
    }

    #[test]
    fn a_malformed_attribute_is_one_problem() {
        let (d, p) = parse_declarations("{", "a");
        assert!(d.is_empty() && p.len() == 1 && p[0].message.contains("not JSON"));
        let (d, p) = parse_declarations("{}", "a");
        assert!(d.is_empty() && p[0].message.contains("got object"));
    }
}
