//! References between a template's entries: every `Ref`, `Fn::GetAtt`,
//! `${Name}` inside `Fn::Sub`, `Fn::If` and `Condition` must name something
//! declared, and every `DependsOn` a resource.

use serde_json::{Map, Value as Json};

use crate::synth::Problem;
use crate::value::PSEUDO_NAMES;

/// What may be referred to.
pub(super) struct Names<'a> {
    parameters: &'a Map<String, Json>,
    resources: &'a Map<String, Json>,
    conditions: &'a Map<String, Json>,
}

impl<'a> Names<'a> {
    pub(super) fn new(
        parameters: &'a Map<String, Json>,
        resources: &'a Map<String, Json>,
        conditions: &'a Map<String, Json>,
    ) -> Self {
        Names {
            parameters,
            resources,
            conditions,
        }
    }

    /// A resource's references and its `DependsOn`.
    pub(super) fn check_resource(&self, id: &str, r: &Json, out: &mut Vec<Problem>) {
        // ASL JSONPaths (`$.x`, `${Var}` substitutions) are not intrinsics,
        // in a typed state machine or a raw one.
        if r["Type"] == "AWS::StepFunctions::StateMachine" {
            let mut without = r.clone();
            if let Some(p) = without.get_mut("Properties").and_then(Json::as_object_mut) {
                p.remove("Definition");
            }
            self.check_refs(id, "", &without, out);
        } else {
            self.check_refs(id, "", r, out);
        }
        let deps: Vec<&str> = match r.get("DependsOn") {
            Some(Json::String(s)) => vec![s.as_str()],
            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
            _ => vec![],
        };
        for d in deps {
            if !self.resources.contains_key(d) {
                out.push(Problem::new(
                    id,
                    "DependsOn",
                    format!("depends on `{d}`, which is not a resource in this template"),
                ));
            }
        }
    }

    /// Walks a JSON subtree and reports references to undeclared names.
    pub(super) fn check_refs(&self, id: &str, path: &str, v: &Json, out: &mut Vec<Problem>) {
        match v {
            Json::Object(m) => {
                if let Some((k, arg)) = m.iter().next().filter(|_| m.len() == 1) {
                    match k.as_str() {
                        "Ref" => return self.check_ref(id, path, arg, out),
                        "Fn::GetAtt" => return self.check_get_att(id, path, arg, out),
                        "Fn::Sub" => return self.check_sub(id, path, arg, out),
                        "Fn::If" => {
                            if let Some(c) = arg.get(0).and_then(Json::as_str) {
                                self.check_condition(id, path, c, out);
                            }
                        }
                        _ => {}
                    }
                }
                for (k, child) in m {
                    // A string `Condition` names a template condition; an
                    // object one (an IAM statement's) may hold intrinsics.
                    if let ("Condition", Some(c)) = (k.as_str(), child.as_str()) {
                        self.check_condition(id, &join(path, k), c, out);
                        continue;
                    }
                    // DependsOn is checked separately.
                    if k == "DependsOn" {
                        continue;
                    }
                    self.check_refs(id, &join(path, k), child, out);
                }
            }
            Json::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    self.check_refs(id, &join(path, &i.to_string()), child, out);
                }
            }
            _ => {}
        }
    }

    fn check_ref(&self, id: &str, path: &str, arg: &Json, out: &mut Vec<Problem>) {
        if let Some(name) = arg.as_str() {
            if !self.ref_ok(name) {
                out.push(Problem::new(id, path, format!(
                    "Ref to `{name}`, which is neither a parameter, a resource nor a pseudo parameter; declare it or use one of: {}",
                    self.declared()
                )));
            }
        }
    }

    fn check_get_att(&self, id: &str, path: &str, arg: &Json, out: &mut Vec<Problem>) {
        let target = match arg {
            Json::Array(a) => a.first().and_then(Json::as_str),
            Json::String(s) => s.split('.').next(),
            _ => None,
        };
        if let Some(r) = target {
            if !self.resources.contains_key(r) {
                out.push(Problem::new(
                    id,
                    path,
                    format!("Fn::GetAtt on `{r}`, which is not a resource in this template"),
                ));
            }
        }
    }

    fn check_sub(&self, id: &str, path: &str, arg: &Json, out: &mut Vec<Problem>) {
        let (template, vars) = match arg {
            Json::String(s) => (Some(s.as_str()), None),
            Json::Array(a) => (
                a.first().and_then(Json::as_str),
                a.get(1).and_then(Json::as_object),
            ),
            _ => (None, None),
        };
        for name in template.map(sub_references).unwrap_or_default() {
            let base = name.split('.').next().unwrap_or(name);
            let is_var = vars.is_some_and(|v| v.contains_key(name));
            let ok = is_var
                || if name.contains('.') {
                    self.resources.contains_key(base)
                } else {
                    self.ref_ok(name)
                };
            if !ok {
                out.push(Problem::new(id, path, format!(
                    "Fn::Sub references `${{{name}}}`, but `{base}` is not declared; declare it, pass it in the variable map, or write `${{!{name}}}` for a literal"
                )));
            }
        }
        for (k, v) in vars.into_iter().flatten() {
            self.check_refs(id, &join(path, k), v, out);
        }
    }

    fn check_condition(&self, id: &str, path: &str, name: &str, out: &mut Vec<Problem>) {
        if !self.conditions.contains_key(name) {
            out.push(Problem::new(
                id,
                path,
                format!("uses condition `{name}`, which is not declared under Conditions; declare it or remove the use"),
            ));
        }
    }

    fn ref_ok(&self, name: &str) -> bool {
        PSEUDO_NAMES.contains(&name)
            || self.parameters.contains_key(name)
            || self.resources.contains_key(name)
    }

    fn declared(&self) -> String {
        let mut v: Vec<&str> = self
            .parameters
            .keys()
            .chain(self.resources.keys())
            .map(String::as_str)
            .collect();
        v.sort_unstable();
        v.join(", ")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The `${Name}` and `${Name.Attr}` references in a `Fn::Sub` template,
/// skipping `${!Literal}` escapes.
fn sub_references(template: &str) -> Vec<&str> {
    let mut refs = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = after[..end].trim();
        if !name.starts_with('!') && !name.is_empty() {
            refs.push(name);
        }
        rest = &after[end + 1..];
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_references_skip_literals() {
        assert_eq!(
            sub_references("a${X}b${!Y}c${Z.Arn}${AWS::Region}"),
            vec!["X", "Z.Arn", "AWS::Region"]
        );
    }
}
