//! What a rule target receives: the whole event, a constant `Input`, the
//! part of the event at `InputPath`, or an `InputTransformer`'s template
//! filled from the event, as EventBridge documents it: in a JSON template a
//! placeholder in value position becomes the value as JSON (strings quoted,
//! numbers and objects as they are, a missing path `null`), one inside a
//! string is spliced in as string content; in a plain-text template values
//! are spliced in raw. Paths are the dotted `$.a.b` form (what
//! `payload_transformer` uses); any other is refused when the stack comes up.

use serde_json::Value;

/// How a target's input is made from a matched event.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetInput {
    /// No input settings: the event itself.
    Event,
    /// `Input`: this text, whatever the event.
    Constant(String),
    /// `InputPath`: the event's value at this path.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer {
        paths: Vec<(String, JsonPath)>,
        template: String,
    },
}

/// A dotted JSON path: `$` or `$.detail.status`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath(Vec<String>);

impl JsonPath {
    pub fn parse(p: &str) -> Result<JsonPath, String> {
        let keys = match p.strip_prefix('$') {
            Some("") => Vec::new(),
            Some(rest) if rest.starts_with('.') => {
                rest[1..].split('.').map(str::to_string).collect()
            }
            _ => return Err(format!("the path `{p}` is not `$` or `$.a.b`")),
        };
        let plain = |k: &String| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        };
        if !keys.iter().all(plain) {
            return Err(format!(
                "the path `{p}` uses JSONPath beyond dotted field names, which the local event bus does not evaluate"
            ));
        }
        Ok(JsonPath(keys))
    }

    fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(v, |v, k| v.get(k))
    }
}

/// Rule facts the reserved variables `<aws.events.rule-name>` and
/// `<aws.events.rule-arn>` stand for.
#[derive(Debug, Clone, Default)]
pub struct RuleFacts {
    pub name: String,
    pub arn: String,
}

impl TargetInput {
    /// From a rule target's JSON (intrinsics resolved).
    pub fn from_target(t: &Value) -> Result<TargetInput, String> {
        if let Some(text) = t["Input"].as_str() {
            return Ok(TargetInput::Constant(text.to_string()));
        }
        if let Some(p) = t["InputPath"].as_str() {
            return JsonPath::parse(p).map(TargetInput::Path);
        }
        let tr = &t["InputTransformer"];
        if tr.is_null() {
            return Ok(TargetInput::Event);
        }
        let mut paths = Vec::new();
        if let Some(map) = tr["InputPathsMap"].as_object() {
            for (name, p) in map {
                let p = p.as_str().ok_or("InputPathsMap values are paths")?;
                paths.push((name.clone(), JsonPath::parse(p)?));
            }
        }
        let template = tr["InputTemplate"]
            .as_str()
            .ok_or("InputTransformer has no InputTemplate")?
            .to_string();
        Ok(TargetInput::Transformer { paths, template })
    }

    /// The text the target receives for `event`.
    pub fn render(&self, event: &Value, rule: &RuleFacts) -> String {
        match self {
            TargetInput::Event => event.to_string(),
            TargetInput::Constant(s) => s.clone(),
            TargetInput::Path(p) => p.get(event).map_or("null".into(), Value::to_string),
            TargetInput::Transformer { paths, template } => {
                fill(template, &|name| lookup(name, paths, event, rule))
            }
        }
    }
}

/// A placeholder's value: `None` when the name is not a variable (the
/// text stays as written), `Some(None)` when its path finds nothing.
fn lookup(
    name: &str,
    paths: &[(String, JsonPath)],
    event: &Value,
    rule: &RuleFacts,
) -> Option<Option<Value>> {
    match name {
        "aws.events.rule-name" => Some(Some(Value::from(rule.name.as_str()))),
        "aws.events.rule-arn" => Some(Some(Value::from(rule.arn.as_str()))),
        "aws.events.event.json" => Some(Some(event.clone())),
        _ => paths
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.get(event).cloned()),
    }
}

/// Fills `<name>` placeholders, tracking whether each one sits inside a
/// JSON string of the template.
fn fill(template: &str, value_of: &dyn Fn(&str) -> Option<Option<Value>>) -> String {
    let json = template.trim_start().starts_with(['{', '[', '"']);
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            if let Some(end) = rest.find('>') {
                if let Some(v) = value_of(&rest[1..end]) {
                    out.push_str(&splice(v.as_ref(), json, in_string));
                    rest = &rest[end + 1..];
                    continue;
                }
            }
        }
        if json {
            (in_string, escaped) = match (c, escaped) {
                (_, true) => (in_string, false),
                ('\\', false) => (in_string, in_string),
                ('"', false) => (!in_string, false),
                _ => (in_string, false),
            };
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn splice(v: Option<&Value>, json: bool, in_string: bool) -> String {
    let raw = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (v, json, in_string) {
        (None, true, false) => "null".into(),
        (None, _, _) => String::new(),
        (Some(v), true, false) => v.to_string(),
        (Some(v), true, true) => {
            let quoted = Value::String(raw(v)).to_string();
            quoted[1..quoted.len() - 1].to_string()
        }
        (Some(v), false, _) => raw(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "source": "aws.states",
            "detail": {
                "name": "hf-1", "status": "FAILED", "startDate": 1767268800000u64,
                "error": "INVALID_EVENT", "cause": "boom \"quoted\"\nline", "output": null,
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:sm:hf-1"
            }
        })
    }

    fn transformer() -> TargetInput {
        let t =
            serde_json::to_value(hyperframes_infra::notifications::payload_transformer()).unwrap();
        TargetInput::from_target(&json!({ "InputTransformer": t })).unwrap()
    }

    #[test]
    fn the_synthesized_transformer_gives_the_documented_payload() {
        let text = transformer().render(&event(), &RuleFacts::default());
        let p: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(p["version"], "1");
        assert_eq!(p["renderId"], "hf-1");
        assert_eq!(p["status"], "FAILED");
        assert_eq!(p["startDate"], 1767268800000u64);
        assert_eq!(p["cause"], "boom \"quoted\"\nline");
        assert_eq!(p["output"], Value::Null);
        assert_eq!(p["stopDate"], Value::Null, "a missing path is null");
    }

    #[test]
    fn placeholders_inside_strings_plain_text_and_reserved_names() {
        let rule = RuleFacts {
            name: "r".into(),
            arn: "arn:aws:events:us-east-1:123456789012:rule/r".into(),
        };
        let tr = TargetInput::Transformer {
            paths: vec![
                ("n".into(), JsonPath::parse("$.detail.name").unwrap()),
                ("c".into(), JsonPath::parse("$.detail.cause").unwrap()),
            ],
            template: r#"{"text": "render <n> by <aws.events.rule-name>: <c>", "<kept>": <n>}"#
                .into(),
        };
        let p: Value = serde_json::from_str(&tr.render(&event(), &rule)).unwrap();
        assert_eq!(p["text"], "render hf-1 by r: boom \"quoted\"\nline");
        assert_eq!(p["<kept>"], "hf-1", "an unknown name stays as written");
        let text = TargetInput::Transformer {
            paths: vec![("s".into(), JsonPath::parse("$.detail.status").unwrap())],
            template: "Render <s> (<aws.events.rule-arn>)".into(),
        };
        assert_eq!(
            text.render(&event(), &rule),
            "Render FAILED (arn:aws:events:us-east-1:123456789012:rule/r)"
        );
    }

    #[test]
    fn event_constant_and_path_inputs() {
        let e = event();
        let r = RuleFacts::default();
        assert_eq!(
            TargetInput::from_target(&json!({})).unwrap().render(&e, &r),
            e.to_string()
        );
        assert_eq!(
            TargetInput::from_target(&json!({"Input": "{\"k\":1}"}))
                .unwrap()
                .render(&e, &r),
            "{\"k\":1}"
        );
        let path = TargetInput::from_target(&json!({"InputPath": "$.detail.status"})).unwrap();
        assert_eq!(path.render(&e, &r), "\"FAILED\"");
        for bad in ["$.detail[0]", "detail.status", "$..name"] {
            let err = TargetInput::from_target(&json!({"InputPath": bad})).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
