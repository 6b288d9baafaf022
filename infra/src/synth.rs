//! Synth-time validation and the synthesized template.
//!
//! Validation runs on the rendered JSON, after escape-hatch overrides, so
//! raw resources and overrides are checked like typed ones (cdk-nag's
//! lesson: validate what will be deployed, not what was modelled). It
//! collects every problem instead of stopping at the first, and each names
//! where, what, and how to fix it.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::fmt;

use serde_json::{Map, Value as Json};

use crate::value::PSEUDO_NAMES;

/// Most resources one template may declare (a CloudFormation quota, like
/// the limits below); synth reports more and suggests nested stacks.
pub const MAX_RESOURCES: usize = 500;
/// Most outputs one template may declare; synth reports more.
pub const MAX_OUTPUTS: usize = 200;
/// Most parameters one template may declare; synth reports more.
pub const MAX_PARAMETERS: usize = 200;
/// Largest template body, in bytes, CloudFormation accepts from S3; synth
/// reports a larger minified body.
pub const MAX_BODY_BYTES: usize = 1_048_576;
/// Largest template body, in bytes, passed inline to the API; above it,
/// upload to S3 first. Synth does not check it: deploy tooling decides.
pub const MAX_INLINE_BODY_BYTES: usize = 51_200;

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The logical ID (or template section) at fault.
    pub location: String,
    /// The property path inside it, empty when the whole entry is at fault.
    pub property: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem at `location` (a logical ID or section), `property` (a dotted
    /// path inside it, or empty), with a `message` that says how to fix it.
    pub fn new(
        location: impl Into<String>,
        property: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            location: location.into(),
            property: property.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.property.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}.{}: {}", self.location, self.property, self.message)
        }
    }
}

/// Every problem found, in template order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<Problem>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the template has {} problem{}:",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// A validated template, ready to print or deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    json: Json,
}

impl Synthesized {
    pub(crate) fn new(json: Json) -> Self {
        Synthesized { json }
    }

    /// The template as JSON, e.g. for assertions in tests.
    pub fn as_json(&self) -> &Json {
        &self.json
    }

    /// The template as JSON, by value.
    pub fn into_json(self) -> Json {
        self.json
    }

    /// Pretty JSON with a trailing newline; key order is the model's
    /// insertion order, so the same program prints the same bytes.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.json).expect("JSON serializes");
        s.push('\n');
        s
    }

    /// YAML in CloudFormation's long form (`Ref:`, `Fn::GetAtt:`), which
    /// every YAML template reader accepts.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(&self.json).expect("JSON converts to YAML")
    }

    /// The state machine definition of resource `logical_id`, if it has one.
    pub fn definition(&self, logical_id: &str) -> Option<&Json> {
        self.json["Resources"][logical_id]["Properties"].get("Definition")
    }
}

/// Validates a rendered template.
pub fn validate(t: &Json) -> Vec<Problem> {
    let mut out = Vec::new();
    let empty = Map::new();
    let section = |name: &str| t.get(name).and_then(Json::as_object).unwrap_or(&empty);
    let parameters = section("Parameters");
    let conditions = section("Conditions");
    let resources = section("Resources");
    let outputs = section("Outputs");

    check_limits(t, parameters, resources, outputs, &mut out);

    for (kind, entries) in [
        ("parameter", parameters),
        ("condition", conditions),
        ("resource", resources),
        ("output", outputs),
    ] {
        for id in entries.keys() {
            if id.is_empty() || id.len() > 255 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                out.push(Problem::new(
                    id.clone(),
                    "",
                    format!("{kind} name `{id}` must be 1-255 ASCII letters and digits (no `-`, `_` or spaces); rename it"),
                ));
            }
        }
    }
    if resources.is_empty() {
        out.push(Problem::new(
            "Resources",
            "",
            "a template needs at least one resource",
        ));
    }

    let names = Names {
        parameters,
        resources,
        conditions,
    };
    for (id, c) in conditions {
        names.check_refs(id, "", c, &mut out);
    }
    for (id, r) in section("Rules") {
        names.check_refs(id, "", r, &mut out);
    }
    for (id, r) in resources {
        if r["Type"] == "AWS::StepFunctions::StateMachine" {
            // ASL JSONPaths (`$.x`, `${Var}` substitutions) are not intrinsics.
            let mut without = r.clone();
            if let Some(p) = without.get_mut("Properties").and_then(Json::as_object_mut) {
                p.remove("Definition");
            }
            names.check_refs(id, "", &without, &mut out);
        } else {
            names.check_refs(id, "", r, &mut out);
        }
        if let Some(deps) = r.get("DependsOn") {
            let deps: Vec<&str> = match deps {
                Json::String(s) => vec![s.as_str()],
                Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
                _ => vec![],
            };
            for d in deps {
                if !resources.contains_key(d) {
                    out.push(Problem::new(
                        id.clone(),
                        "DependsOn",
                        format!("depends on `{d}`, which is not a resource in this template"),
                    ));
                }
            }
        }
        check_resource(id, r, parameters, &mut out);
    }
    for (id, o) in outputs {
        names.check_refs(id, "", o, &mut out);
    }
    out
}

fn check_limits(
    t: &Json,
    parameters: &Map<String, Json>,
    resources: &Map<String, Json>,
    outputs: &Map<String, Json>,
    out: &mut Vec<Problem>,
) {
    let limits = [
        (
            "Resources",
            resources.len(),
            MAX_RESOURCES,
            "split the stack into nested stacks",
        ),
        (
            "Outputs",
            outputs.len(),
            MAX_OUTPUTS,
            "remove outputs nobody reads",
        ),
        (
            "Parameters",
            parameters.len(),
            MAX_PARAMETERS,
            "bake values in instead of declaring parameters",
        ),
    ];
    for (section, n, max, fix) in limits {
        if n > max {
            out.push(Problem::new(
                section,
                "",
                format!("{n} entries exceed CloudFormation's limit of {max}; {fix}"),
            ));
        }
    }
    let body = serde_json::to_string(t).map(|s| s.len()).unwrap_or(0);
    if body > MAX_BODY_BYTES {
        out.push(Problem::new(
            "Template",
            "",
            format!("the minified body is {body} bytes, over CloudFormation's limit of {MAX_BODY_BYTES}; move large inline content (policies, definitions) out or split the stack"),
        ));
    }
}

struct Names<'a> {
    parameters: &'a Map<String, Json>,
    resources: &'a Map<String, Json>,
    conditions: &'a Map<String, Json>,
}

impl Names<'_> {
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

    /// Walks a JSON subtree and reports references to undeclared names.
    fn check_refs(&self, id: &str, path: &str, v: &Json, out: &mut Vec<Problem>) {
        match v {
            Json::Object(m) => {
                if m.len() == 1 {
                    let (k, arg) = m.iter().next().unwrap();
                    match k.as_str() {
                        "Ref" => {
                            if let Some(name) = arg.as_str() {
                                if !self.ref_ok(name) {
                                    out.push(Problem::new(id, path, format!(
                                        "Ref to `{name}`, which is neither a parameter, a resource nor a pseudo parameter; declare it or use one of: {}",
                                        self.declared()
                                    )));
                                }
                            }
                            return;
                        }
                        "Fn::GetAtt" => {
                            let target = match arg {
                                Json::Array(a) => a.first().and_then(Json::as_str),
                                Json::String(s) => s.split('.').next(),
                                _ => None,
                            };
                            if let Some(r) = target {
                                if !self.resources.contains_key(r) {
                                    out.push(Problem::new(id, path, format!(
                                        "Fn::GetAtt on `{r}`, which is not a resource in this template"
                                    )));
                                }
                            }
                            return;
                        }
                        "Fn::Sub" => {
                            let (template, vars) = match arg {
                                Json::String(s) => (Some(s.as_str()), None),
                                Json::Array(a) => (
                                    a.first().and_then(Json::as_str),
                                    a.get(1).and_then(Json::as_object),
                                ),
                                _ => (None, None),
                            };
                            if let Some(template) = template {
                                for name in sub_references(template) {
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
                            }
                            if let Some(vars) = vars {
                                for (k, v) in vars {
                                    self.check_refs(id, &join(path, k), v, out);
                                }
                            }
                            return;
                        }
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

    fn check_condition(&self, id: &str, path: &str, name: &str, out: &mut Vec<Problem>) {
        if !self.conditions.contains_key(name) {
            out.push(Problem::new(
                id,
                path,
                format!("uses condition `{name}`, which is not declared under Conditions; declare it or remove the use"),
            ));
        }
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
pub(crate) fn sub_references(template: &str) -> Vec<&str> {
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

/// Rewrites every reference to `old` (Ref, GetAtt, Fn::Sub names,
/// DependsOn) to `new`.
pub(crate) fn rewrite_references(v: &mut Json, old: &str, new: &str) {
    match v {
        Json::Object(m) => {
            if m.len() == 1 {
                let (k, arg) = m.iter_mut().next().unwrap();
                match (k.as_str(), arg) {
                    ("Ref", Json::String(s)) if s == old => *s = new.to_string(),
                    ("Fn::GetAtt", Json::Array(a))
                        if a.first().and_then(Json::as_str) == Some(old) =>
                    {
                        a[0] = Json::String(new.to_string());
                    }
                    ("Fn::GetAtt", Json::String(s)) if s.starts_with(&format!("{old}.")) => {
                        *s = format!("{new}{}", &s[old.len()..]);
                    }
                    ("Fn::Sub", arg) => {
                        let t = match arg {
                            Json::String(s) => Some(s),
                            Json::Array(a) => a.get_mut(0).and_then(|x| match x {
                                Json::String(s) => Some(s),
                                _ => None,
                            }),
                            _ => None,
                        };
                        if let Some(t) = t {
                            *t = t
                                .replace(&format!("${{{old}}}"), &format!("${{{new}}}"))
                                .replace(&format!("${{{old}."), &format!("${{{new}."));
                        }
                    }
                    _ => {}
                }
            }
            for (k, child) in m.iter_mut() {
                if k == "DependsOn" {
                    match child {
                        Json::String(s) if s == old => *s = new.to_string(),
                        Json::Array(a) => {
                            for d in a {
                                if d.as_str() == Some(old) {
                                    *d = Json::String(new.to_string());
                                }
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                if k != "Definition" {
                    rewrite_references(child, old, new);
                }
            }
        }
        Json::Array(a) => a.iter_mut().for_each(|c| rewrite_references(c, old, new)),
        _ => {}
    }
}

fn check_resource(id: &str, r: &Json, parameters: &Map<String, Json>, out: &mut Vec<Problem>) {
    crate::resources::events::check(id, r, out);
    let props = &r["Properties"];
    match r["Type"].as_str().unwrap_or("") {
        "AWS::Lambda::Function" => {
            check_range(
                id,
                "Properties.MemorySize",
                &props["MemorySize"],
                128,
                10240,
                "MB",
                parameters,
                out,
            );
            check_range(
                id,
                "Properties.Timeout",
                &props["Timeout"],
                1,
                900,
                "seconds",
                parameters,
                out,
            );
            check_range(
                id,
                "Properties.EphemeralStorage.Size",
                &props["EphemeralStorage"]["Size"],
                512,
                10240,
                "MB",
                parameters,
                out,
            );
            check_reserved(id, &props["ReservedConcurrentExecutions"], parameters, out);
        }
        "AWS::S3::Bucket" => {
            if let Some(name) = props["BucketName"].as_str() {
                if let Err(why) = check_bucket_name(name) {
                    out.push(Problem::new(id, "Properties.BucketName", format!("`{name}` is not a valid bucket name: {why}; or leave BucketName unset and let CloudFormation generate one")));
                }
            }
        }
        "AWS::CloudWatch::Alarm" => {
            if props.get("MetricName").is_none() && props.get("Metrics").is_none() {
                out.push(Problem::new(id, "Properties", "alarm has no metric: set MetricName and Namespace (build it from a handle's metric_*() helper) or Metrics"));
            }
            if props.get("Statistic").is_some() && props.get("ExtendedStatistic").is_some() {
                out.push(Problem::new(
                    id,
                    "Properties",
                    "alarm sets both Statistic and ExtendedStatistic; keep one",
                ));
            }
        }
        "AWS::StepFunctions::StateMachine" => {
            if let Some(d) = props.get("Definition") {
                for (state, msg) in asl_problems(d) {
                    out.push(Problem::new(
                        id,
                        format!("Properties.Definition.States.{state}"),
                        msg,
                    ));
                }
            } else if props.get("DefinitionString").is_none()
                && props.get("DefinitionS3Location").is_none()
            {
                out.push(Problem::new(
                    id,
                    "Properties",
                    "state machine has no Definition, DefinitionString or DefinitionS3Location",
                ));
            }
        }
        _ => {}
    }
}

/// Checks a numeric property: a literal must be in range; a `Ref` to a
/// parameter must not allow values outside it.
#[allow(clippy::too_many_arguments)]
fn check_range(
    id: &str,
    prop: &str,
    v: &Json,
    min: i64,
    max: i64,
    unit: &str,
    parameters: &Map<String, Json>,
    out: &mut Vec<Problem>,
) {
    let outside = |n: f64| n < min as f64 || n > max as f64;
    if let Some(n) = v.as_f64() {
        if outside(n) {
            out.push(Problem::new(
                id,
                prop,
                format!("{n} is outside {min}..{max} {unit}; set a value in that range"),
            ));
        }
        return;
    }
    let Some(pname) = v.get("Ref").and_then(Json::as_str) else {
        return;
    };
    let Some(p) = parameters.get(pname) else {
        return;
    };
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
    if !bad.is_empty() {
        out.push(Problem::new(id, prop, format!(
            "parameter `{pname}` admits values outside {min}..{max} {unit} ({}); constrain it with AllowedValues or MinValue/MaxValue",
            bad.join(", ")
        )));
    }
}

fn check_reserved(id: &str, v: &Json, parameters: &Map<String, Json>, out: &mut Vec<Problem>) {
    let prop = "Properties.ReservedConcurrentExecutions";
    let msg = |n: f64| {
        format!(
            "{n} would {}; use a positive cap, or leave it unset for unreserved concurrency",
            if n == 0.0 {
                "throttle every invocation (0 reserved = function disabled)"
            } else {
                "be rejected by Lambda"
            }
        )
    };
    if let Some(n) = v.as_f64() {
        if n <= 0.0 {
            out.push(Problem::new(id, prop, msg(n)));
        }
        return;
    }
    // Behind an Fn::If on "not -1" the parameter must at least refuse
    // values below -1, which Lambda rejects mid-deploy.
    if let Some(branch) = v.get("Fn::If").and_then(|a| a.get(1)) {
        if let Some(pname) = branch.get("Ref").and_then(Json::as_str) {
            if let Some(p) = parameters.get(pname) {
                let has_allowed = p["AllowedValues"].as_array().is_some_and(|a| !a.is_empty());
                if !has_allowed && p["MinValue"].as_f64().is_none_or(|m| m < -1.0) {
                    out.push(Problem::new(id, prop, format!(
                        "parameter `{pname}` admits values below -1, which Lambda rejects; give it MinValue -1 (or AllowedValues)"
                    )));
                }
            }
        }
        return;
    }
    // A bare Ref (no Fn::If guard) must not default to 0 or the -1 sentinel.
    if let Some(pname) = v.get("Ref").and_then(Json::as_str) {
        if let Some(d) = parameters.get(pname).and_then(|p| p["Default"].as_f64()) {
            if d <= 0.0 {
                out.push(Problem::new(id, prop, format!(
                    "parameter `{pname}` defaults to {d}, which {}; guard it with Fn::If on a condition",
                    if d == 0.0 { "disables the function" } else { "Lambda rejects" }
                )));
            }
        }
    }
}

fn check_bucket_name(name: &str) -> Result<(), &'static str> {
    let len_ok = (3..=63).contains(&name.len());
    if !len_ok {
        return Err("it must be 3-63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err("only lowercase letters, digits, `-` and `.` are allowed");
    }
    let first = name.chars().next().unwrap();
    let last = name.chars().last().unwrap();
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("it must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return Err("it must not contain two adjacent periods");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("it must not look like an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") || name.ends_with("-s3alias") {
        return Err("it uses a prefix or suffix S3 reserves");
    }
    Ok(())
}

/// Graph checks on an ASL definition (JSON): transitions that name no
/// state, unreachable states, and Map states with both concurrency keys.
/// Returns `(state path, message)` pairs.
pub fn asl_problems(definition: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    graph_problems(definition, "", &mut out);
    out
}

fn graph_problems(graph: &Json, prefix: &str, out: &mut Vec<(String, String)>) {
    let empty = Map::new();
    let states = graph["States"].as_object().unwrap_or(&empty);
    let list = || {
        states
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let start = graph["StartAt"].as_str().unwrap_or("");
    if !states.contains_key(start) {
        out.push((
            format!("{prefix}StartAt"),
            format!(
                "StartAt names `{start}`, which is not a state here; use one of: {}",
                list()
            ),
        ));
    }
    let targets = |s: &Json| -> Vec<String> {
        let mut t = Vec::new();
        for key in ["Next", "Default"] {
            if let Some(n) = s[key].as_str() {
                t.push(n.to_string());
            }
        }
        for key in ["Choices", "Catch"] {
            for c in s[key].as_array().into_iter().flatten() {
                if let Some(n) = c["Next"].as_str() {
                    t.push(n.to_string());
                }
            }
        }
        t
    };
    for (name, s) in states {
        let path = format!("{prefix}{name}");
        for t in targets(s) {
            if !states.contains_key(&t) {
                out.push((
                    path.clone(),
                    format!(
                        "transition to `{t}`, which is not a state in this scope; use one of: {}",
                        list()
                    ),
                ));
            }
        }
        let ty = s["Type"].as_str().unwrap_or("");
        let terminal = matches!(ty, "Fail" | "Succeed" | "Choice");
        if !terminal && s.get("Next").is_none() && s["End"] != Json::Bool(true) {
            out.push((
                path.clone(),
                "state has neither Next nor End: true; add one".into(),
            ));
        }
        if s.get("Next").is_some() && s["End"] == Json::Bool(true) {
            out.push((
                path.clone(),
                "state has both Next and End: true; keep one".into(),
            ));
        }
        if ty == "Map" {
            if s.get("MaxConcurrency").is_some() && s.get("MaxConcurrencyPath").is_some() {
                out.push((path.clone(), "Map sets both MaxConcurrency and MaxConcurrencyPath; keep one (MaxConcurrency::Fixed or ::Path)".into()));
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(p) = s.get(key) {
                    graph_problems(p, &format!("{path}.{key}."), out);
                }
            }
        }
        if ty == "Parallel" {
            for (i, b) in s["Branches"].as_array().into_iter().flatten().enumerate() {
                graph_problems(b, &format!("{path}.Branches.{i}."), out);
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([start.to_string()]);
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(s) = states.get(&name) {
            queue.extend(targets(s));
        }
    }
    let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
    for name in states.keys() {
        if !seen.contains(name.as_str()) {
            out.push((
                format!("{prefix}{name}"),
                "state is unreachable from StartAt; remove it or add a transition to it".into(),
            ));
        }
    }
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

    #[test]
    fn bucket_names() {
        assert!(check_bucket_name("my-renders.example").is_ok());
        assert!(check_bucket_name("My_Bucket").is_err());
        assert!(check_bucket_name("ab").is_err());
        assert!(check_bucket_name("192.168.1.1").is_err());
        assert!(check_bucket_name("a..b").is_err());
        assert!(check_bucket_name("-ab").is_err());
    }
}
