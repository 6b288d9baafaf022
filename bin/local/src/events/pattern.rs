//! EventBridge event patterns, the subset the local event bus matches:
//! fields nested to any depth, lists of exact values (strings, numbers,
//! booleans, null), `{"prefix": ...}` and `{"exists": ...}`. That covers
//! every rule `notify_on_completion` synthesizes (exact `source`,
//! `detail-type`, `detail.status` and `detail.stateMachineArn`); any other
//! operator is refused when the stack comes up, so a rule is never matched
//! by rules it does not have.
//!
//! Semantics as EventBridge documents them: every field of the pattern
//! must match; within a field, any listed value does; an event field that
//! is an array matches when any element does; numbers compare as numbers.

use serde_json::Value;

/// A parsed pattern: the fields it constrains, in its order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    fields: Vec<(String, Field)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// `"detail": {...}`: the event's field must be an object matching it.
    Nested(Pattern),
    /// `"status": [...]`: any of these matches.
    AnyOf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Equals(Value),
    Prefix(String),
    Exists(bool),
}

impl Pattern {
    /// Parses an `EventPattern` (intrinsics already resolved). The error
    /// names the field and says what the local bus matches.
    pub fn parse(v: &Value) -> Result<Pattern, String> {
        parse_at(v, "EventPattern")
    }

    /// Whether `event` matches every field.
    pub fn matches(&self, event: &Value) -> bool {
        self.matches_object(Some(event))
    }

    fn matches_object(&self, v: Option<&Value>) -> bool {
        self.fields.iter().all(|(name, field)| {
            let inner = v.and_then(|o| o.as_object()).and_then(|o| o.get(name));
            match field {
                Field::Nested(p) => p.matches_object(inner),
                Field::AnyOf(ms) => ms.iter().any(|m| m.matches(inner)),
            }
        })
    }
}

fn parse_at(v: &Value, path: &str) -> Result<Pattern, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{path}: a pattern is a JSON object of fields"))?;
    let mut fields = Vec::new();
    for (name, value) in obj {
        let at = format!("{path}.{name}");
        let field = match value {
            Value::Object(_) => Field::Nested(parse_at(value, &at)?),
            Value::Array(items) if items.is_empty() => {
                return Err(format!("{at}: an empty list, which EventBridge rejects"))
            }
            Value::Array(items) => Field::AnyOf(
                items
                    .iter()
                    .map(|i| Matcher::parse(i, &at))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(format!(
                    "{at}: values to match go in a list, e.g. [\"{value}\"]"
                ))
            }
        };
        fields.push((name.clone(), field));
    }
    Ok(Pattern { fields })
}

impl Matcher {
    fn parse(v: &Value, at: &str) -> Result<Matcher, String> {
        let Some(op) = v.as_object() else {
            return match v {
                Value::Array(_) => Err(format!("{at}: a list inside a list")),
                scalar => Ok(Matcher::Equals(scalar.clone())),
            };
        };
        match op.iter().next() {
            Some((k, Value::String(p))) if op.len() == 1 && k == "prefix" => {
                Ok(Matcher::Prefix(p.clone()))
            }
            Some((k, Value::Bool(b))) if op.len() == 1 && k == "exists" => Ok(Matcher::Exists(*b)),
            _ => Err(format!(
                "{at}: the operator {v} is not matched by the local event bus (it matches exact values, prefix and exists); rehearse without it"
            )),
        }
    }

    /// `v` is the event's field, `None` when the event lacks it.
    fn matches(&self, v: Option<&Value>) -> bool {
        match (self, v) {
            (Matcher::Exists(want), v) => v.is_some() == *want,
            (_, None) => false,
            (_, Some(Value::Array(items))) => items.iter().any(|i| self.matches_one(i)),
            (_, Some(one)) => self.matches_one(one),
        }
    }

    fn matches_one(&self, v: &Value) -> bool {
        match self {
            Matcher::Equals(Value::Number(a)) => v.as_f64().is_some_and(|b| a.as_f64() == Some(b)),
            Matcher::Equals(a) => a == v,
            Matcher::Prefix(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::Exists(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:hyperframes-render";

    fn event(status: &str, sm: &str) -> Value {
        json!({
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "resources": [format!("{sm}:x")],
            "detail": {"status": status, "stateMachineArn": sm, "startDate": 1767268800000u64, "error": null}
        })
    }

    /// The pattern `notify_on_completion` synthesizes, its Ref resolved.
    fn synthesized(statuses: &[hyperframes_infra::notifications::ExecutionStatus]) -> Pattern {
        let p = hyperframes_infra::notifications::event_pattern(SM.into(), statuses);
        Pattern::parse(&serde_json::to_value(p).unwrap()).unwrap()
    }

    #[test]
    fn the_synthesized_pattern_matches_our_terminal_events_only() {
        use hyperframes_infra::notifications::ExecutionStatus;
        let p = synthesized(&ExecutionStatus::ALL);
        for s in ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] {
            assert!(p.matches(&event(s, SM)), "{s}");
        }
        assert!(!p.matches(&event("RUNNING", SM)));
        assert!(!p.matches(&event(
            "SUCCEEDED",
            "arn:aws:states:us-east-1:1:stateMachine:other"
        )));
        let mut wrong_source = event("SUCCEEDED", SM);
        wrong_source["source"] = json!("aws.lambda");
        assert!(!p.matches(&wrong_source));
        let mut no_detail = event("SUCCEEDED", SM);
        no_detail.as_object_mut().unwrap().remove("detail");
        assert!(!p.matches(&no_detail));
        let failures = synthesized(&[ExecutionStatus::Failed]);
        assert!(failures.matches(&event("FAILED", SM)));
        assert!(!failures.matches(&event("SUCCEEDED", SM)));
    }

    #[test]
    fn prefix_exists_numbers_null_and_array_fields() {
        let p = Pattern::parse(&json!({
            "resources": [{"prefix": "arn:aws:states:us-east-1:123456789012:"}],
            "detail": {"startDate": [1767268800000.0], "error": [null], "cause": [{"exists": false}]}
        }))
        .unwrap();
        assert!(p.matches(&event("FAILED", SM)));
        let mut e = event("FAILED", SM);
        e["detail"]["cause"] = json!("boom");
        assert!(!p.matches(&e), "exists: false refuses a present field");
        let mut e = event("FAILED", SM);
        e["resources"] = json!(["arn:aws:states:eu-west-1:1:x"]);
        assert!(!p.matches(&e), "no element has the prefix");
        let mut e = event("FAILED", SM);
        e["detail"]["error"] = json!("X");
        assert!(!p.matches(&e), "null matches only null");
        let exists = Pattern::parse(&json!({"detail": {"error": [{"exists": true}]}})).unwrap();
        assert!(exists.matches(&event("FAILED", SM)), "a null field exists");
    }

    #[test]
    fn what_it_cannot_match_is_refused_with_the_field() {
        for (p, needle) in [
            (json!({"detail": {"status": []}}), "EventPattern.detail.status: an empty list"),
            (json!({"source": "aws.states"}), "EventPattern.source: values to match go in a list"),
            (
                json!({"detail": {"status": [{"anything-but": "RUNNING"}]}}),
                "EventPattern.detail.status: the operator {\"anything-but\":\"RUNNING\"} is not matched",
            ),
            (json!([1]), "EventPattern: a pattern is a JSON object"),
        ] {
            let e = Pattern::parse(&p).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }
}
