//! Policy documents, wherever a resource holds one (a role's trust and
//! inline policies, bucket, topic, queue and key policies, a raw
//! resource's): IAM refuses a statement whose action, resource or
//! principal list is empty (`MalformedPolicyDocument`), which
//! CloudFormation would report only mid-deploy.

use serde_json::Value as Json;

use crate::synth::Problem;

/// The statement keys whose list IAM needs non-empty.
const LISTS: &[&str] = &["Action", "NotAction", "Resource", "NotResource"];
/// The statement keys that map principal types to lists.
const PRINCIPALS: &[&str] = &["Principal", "NotPrincipal"];

/// Every empty list in a policy statement under resource `id`'s
/// `properties` (found by their `Statement` key, at any depth).
pub(super) fn check(id: &str, properties: &Json, out: &mut Vec<Problem>) {
    walk(id, properties, "Properties", out);
}

fn walk(id: &str, v: &Json, path: &str, out: &mut Vec<Problem>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                let at = format!("{path}.{k}");
                if k == "Statement" {
                    statements(id, x, &at, out);
                } else {
                    walk(id, x, &at, out);
                }
            }
        }
        Json::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                walk(id, x, &format!("{path}.{i}"), out);
            }
        }
        _ => {}
    }
}

/// `Statement` is a list of statements or a single one.
fn statements(id: &str, v: &Json, path: &str, out: &mut Vec<Problem>) {
    match v {
        Json::Array(items) => {
            for (i, s) in items.iter().enumerate() {
                statement(id, s, &format!("{path}.{i}"), out);
            }
        }
        single => statement(id, single, path, out),
    }
}

fn statement(id: &str, s: &Json, path: &str, out: &mut Vec<Problem>) {
    let empty = |v: &Json| v.as_array().is_some_and(Vec::is_empty);
    for key in LISTS {
        if s.get(key).is_some_and(empty) {
            out.push(Problem::new(
                id,
                format!("{path}.{key}"),
                format!("empty {key} list in a policy statement, which IAM rejects (MalformedPolicyDocument); list at least one, or remove the statement"),
            ));
        }
    }
    for key in PRINCIPALS {
        let Some(by_type) = s.get(key).and_then(Json::as_object) else {
            continue;
        };
        for kind in by_type.iter().filter(|(_, v)| empty(v)).map(|(k, _)| k) {
            out.push(Problem::new(
                id,
                format!("{path}.{key}.{kind}"),
                format!("empty {kind} principal list in a policy statement, which is rejected as an invalid principal; list at least one, or remove the statement"),
            ));
        }
    }
}
