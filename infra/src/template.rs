//! The CloudFormation template: parameters, conditions, resources and
//! outputs in insertion order (so the same program emits the same bytes),
//! plus the escape hatches applied last at synth.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::handle::Handle;
use crate::intern::intern;
use crate::resource::{Resource, ResourceType};
use crate::synth::{self, Synthesized, ValidationErrors};
use crate::value::{ConditionName, Param, Value};

/// What a `Parameter<T>`'s `T` is called in CloudFormation.
pub trait ParamKind: Serialize {
    /// The parameter `Type` CloudFormation checks deploy-time values against:
    /// `String` or `Number`.
    const CFN_TYPE: &'static str;
}
impl ParamKind for String {
    const CFN_TYPE: &'static str = "String";
}
impl ParamKind for u32 {
    const CFN_TYPE: &'static str = "Number";
}
impl ParamKind for i32 {
    const CFN_TYPE: &'static str = "Number";
}
impl ParamKind for i64 {
    const CFN_TYPE: &'static str = "Number";
}
impl ParamKind for crate::value::Number {
    const CFN_TYPE: &'static str = "Number";
}
impl ParamKind for f64 {
    const CFN_TYPE: &'static str = "Number";
}

/// A template parameter whose values are `T`s.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter<T> {
    /// `Default`: used when the deployer passes no value; without one the parameter is required.
    pub default: Option<T>,
    /// `AllowedValues`: CloudFormation rejects any other value at deploy. Empty means unrestricted.
    pub allowed_values: Vec<T>,
    /// `MinValue`, for `Number` parameters.
    pub min_value: Option<f64>,
    /// `MaxValue`, for `Number` parameters.
    pub max_value: Option<f64>,
    /// `AllowedPattern`: a Java regex every `String` value must match in full.
    pub allowed_pattern: Option<String>,
    /// `MinLength` in characters, for `String` parameters.
    pub min_length: Option<u32>,
    /// `MaxLength` in characters, for `String` parameters.
    pub max_length: Option<u32>,
    /// `ConstraintDescription`: the message CloudFormation shows when a value
    /// breaks a constraint, instead of the bare regex or range.
    pub constraint_description: Option<String>,
    /// `Description`: shown next to the parameter in the console.
    pub description: Option<String>,
    /// `NoEcho`: CloudFormation masks the value as `****` in the console and API.
    /// It does not encrypt it; use Secrets Manager for secrets.
    pub no_echo: bool,
}

impl<T> Default for Parameter<T> {
    fn default() -> Self {
        Parameter {
            default: None,
            allowed_values: Vec::new(),
            min_value: None,
            max_value: None,
            allowed_pattern: None,
            min_length: None,
            max_length: None,
            constraint_description: None,
            description: None,
            no_echo: false,
        }
    }
}

impl<T: ParamKind> Parameter<T> {
    /// A parameter with `Default` set, so deployers may omit it.
    pub fn with_default(default: T) -> Self {
        Parameter {
            default: Some(default),
            ..Default::default()
        }
    }

    /// Sets `Description`, shown next to the parameter in the console.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Restricts deploy-time values to these (`AllowedValues`); synth's range
    /// checks read them when the parameter feeds a numeric property.
    pub fn allowed_values(mut self, v: impl IntoIterator<Item = T>) -> Self {
        self.allowed_values = v.into_iter().collect();
        self
    }

    /// A regex and the message CloudFormation shows when a value fails it.
    pub fn pattern(mut self, regex: &str, constraint_description: &str) -> Self {
        self.allowed_pattern = Some(regex.into());
        self.constraint_description = Some(constraint_description.into());
        self
    }

    /// `MinLength`/`MaxLength` in characters; only meaningful on `String` parameters.
    pub fn length(mut self, min: u32, max: u32) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }

    /// `MinValue` alone: the smallest value CloudFormation accepts for a
    /// `Number` parameter.
    pub fn min_value(mut self, min: f64) -> Self {
        self.min_value = Some(min);
        self
    }

    /// `MinValue`/`MaxValue`, inclusive; only meaningful on `Number` parameters.
    /// Synth's range checks read them when no `AllowedValues` are set.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min_value = Some(min);
        self.max_value = Some(max);
        self
    }

    fn erase(self) -> ParameterDecl {
        let j = |v: &T| serde_json::to_value(v).expect("parameter values serialize");
        ParameterDecl {
            cfn_type: T::CFN_TYPE,
            default: self.default.as_ref().map(j),
            allowed_values: self.allowed_values.iter().map(j).collect(),
            min_value: self.min_value,
            max_value: self.max_value,
            allowed_pattern: self.allowed_pattern,
            min_length: self.min_length,
            max_length: self.max_length,
            constraint_description: self.constraint_description,
            description: self.description,
            no_echo: self.no_echo,
        }
    }
}

/// A declared parameter, its type erased to its CloudFormation spelling.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterDecl {
    /// `Type`: `String` or `Number`, from [`ParamKind::CFN_TYPE`].
    #[serde(rename = "Type")]
    pub cfn_type: &'static str,
    /// `Default`, already serialized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Json>,
    /// `AllowedValues`, already serialized; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<Json>,
    /// `MinValue`; whole numbers print as integers.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_num")]
    pub min_value: Option<f64>,
    /// `MaxValue`; whole numbers print as integers.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_num")]
    pub max_value: Option<f64>,
    /// `AllowedPattern`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// `MinLength`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// `MaxLength`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// `ConstraintDescription`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
    /// `Description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `NoEcho`; omitted when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_echo: bool,
}

/// Whole numbers print as integers (`60`, not `60.0`), as in hand-written templates.
pub(crate) fn ser_num<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => s.serialize_i64(*n as i64),
        Some(n) => s.serialize_f64(*n),
        None => s.serialize_none(),
    }
}

/// A condition expression (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
/// `{"Condition": name}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `Fn::Equals` of two serialized operands; build it with [`Condition::equals`]
    /// so both sides have the same type.
    Equals(Json, Json),
    /// `Fn::Not`.
    Not(Box<Condition>),
    /// `Fn::And`: CloudFormation accepts 2 to 10 conditions.
    And(Vec<Condition>),
    /// `Fn::Or`: CloudFormation accepts 2 to 10 conditions.
    Or(Vec<Condition>),
    /// `{"Condition": name}`: reuses another declared condition.
    Named(ConditionName),
}

impl Condition {
    /// Both sides are of the same type, so `Ref ReservedConcurrency == -1`
    /// type-checks and `Ref ProjectName == -1` does not.
    pub fn equals<T: Serialize>(a: Value<T>, b: Value<T>) -> Condition {
        let j = |v: &Value<T>| serde_json::to_value(v).expect("condition operands serialize");
        Condition::Equals(j(&a), j(&b))
    }

    /// `Fn::Not` of `c`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(c: Condition) -> Condition {
        Condition::Not(Box::new(c))
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Condition::Equals(a, b) => m.serialize_entry("Fn::Equals", &(a, b))?,
            Condition::Not(c) => m.serialize_entry("Fn::Not", &[c])?,
            Condition::And(cs) => m.serialize_entry("Fn::And", cs)?,
            Condition::Or(cs) => m.serialize_entry("Fn::Or", cs)?,
            Condition::Named(n) => m.serialize_entry("Condition", n.name())?,
        }
        m.end()
    }
}

/// A template rule: assertions on parameter values, checked by
/// CloudFormation before a create or update touches any resource (what
/// `AllowedValues`/`MinValue` cannot say, such as "not 0").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    /// When the rule applies (rule-specific intrinsics); always when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_condition: Option<Json>,
    /// What must hold.
    pub assertions: Vec<Assertion>,
}

/// One rule assertion and the message CloudFormation shows when it fails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Assertion {
    /// A rule-specific intrinsic (`Fn::Equals`, `Fn::Not`, `Fn::Contains`, ...).
    pub assert: Json,
    /// Shown to the user when the assertion fails.
    pub assert_description: String,
}

/// A stack output, optionally exported for other stacks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    /// `Description`, shown in the console's Outputs tab.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Value`: what `describe-stacks` reports, resolved at deploy.
    pub value: Value<String>,
    /// `Export`: makes the value importable by other stacks in the same account
    /// and region (`Fn::ImportValue`); CloudFormation then refuses to delete or
    /// change it while an importer exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    /// `Condition`: the output exists only when this condition holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<&'static str>,
}

/// An output's `Export`; names must be unique per account and region.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Export {
    /// The export name other stacks pass to `Fn::ImportValue`.
    pub name: Value<String>,
}

impl Output {
    /// An output with `value`; no description, export or condition.
    pub fn new(value: Value<String>) -> Self {
        Output {
            description: None,
            value,
            export: None,
            condition: None,
        }
    }

    /// Sets `Description`, shown in the console's Outputs tab.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Export as `<StackName>-<suffix>`, the convention of the reference stack.
    pub fn export_as_stack_suffix(mut self, suffix: &str) -> Self {
        self.export = Some(Export {
            name: Value::sub(format!("${{AWS::StackName}}-{suffix}")),
        });
        self
    }
}

/// An override of one property path on one resource, applied after the
/// typed model is rendered (CDK's `addPropertyOverride`).
#[derive(Debug, Clone, PartialEq)]
struct Override {
    logical_id: &'static str,
    path: Vec<String>,
    value: Option<Json>,
}

/// A CloudFormation template under construction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    /// `Description`, shown in the console; CloudFormation allows 1024 bytes.
    pub description: Option<String>,
    /// Declared parameters, in insertion order. Prefer [`Template::add_parameter`],
    /// which also detects duplicate names.
    pub parameters: IndexMap<&'static str, ParameterDecl>,
    /// Declared conditions, in insertion order. Prefer [`Template::add_condition`].
    pub conditions: IndexMap<&'static str, Condition>,
    /// Rules: assertions on parameter values that CloudFormation checks
    /// before it changes anything. Prefer [`Template::add_rule`].
    pub rules: IndexMap<&'static str, Rule>,
    /// Resources by logical ID, in insertion order. Prefer [`Template::add`] and
    /// [`Template::add_resource`], which return typed handles.
    pub resources: IndexMap<&'static str, Resource>,
    /// Outputs by name, in insertion order. Prefer [`Template::add_output`].
    pub outputs: IndexMap<&'static str, Output>,
    overrides: Vec<Override>,
    /// Logical IDs added twice. Kept rather than rejected at `add` so that
    /// synth can report every problem at once.
    duplicate_ids: Vec<String>,
    /// Renames applied to the rendered JSON, so references built before a
    /// rename (typed properties hold logical IDs) follow it.
    pending_renames: Vec<(&'static str, &'static str)>,
}

impl Template {
    /// An empty template: no description, parameters or resources.
    /// Synth rejects it until at least one resource is added.
    pub fn new() -> Self {
        Template::default()
    }

    /// Declares a parameter and returns a typed reference to it. A duplicate
    /// name is reported by [`Template::synth`], not here.
    pub fn add_parameter<T: ParamKind>(&mut self, name: &str, p: Parameter<T>) -> Param<T> {
        let name = intern(name);
        if self.parameters.insert(name, p.erase()).is_some() {
            self.duplicate_ids.push(name.to_string());
        }
        Param::new(name)
    }

    /// Declares a condition; the returned name is what [`Value::if_`] and
    /// [`Resource::condition`] accept. A duplicate name is reported by synth.
    pub fn add_condition(&mut self, name: &str, c: Condition) -> ConditionName {
        let name = intern(name);
        if self.conditions.insert(name, c).is_some() {
            self.duplicate_ids.push(name.to_string());
        }
        ConditionName::named(name)
    }

    /// Declares a rule.
    pub fn add_rule(&mut self, name: &str, rule: Rule) {
        let name = intern(name);
        if self.rules.insert(name, rule).is_some() {
            self.duplicate_ids.push(format!("rule {name}"));
        }
    }

    /// Adds a resource and returns its handle.
    pub fn add<T: ResourceType>(&mut self, logical_id: &str, properties: T) -> Handle<T> {
        self.add_resource(logical_id, Resource::new(properties))
    }

    /// Adds a resource with attributes (DeletionPolicy, DependsOn, ...).
    pub fn add_resource<T: ResourceType>(
        &mut self,
        logical_id: &str,
        resource: Resource,
    ) -> Handle<T> {
        let id = intern(logical_id);
        if self.resources.contains_key(id) || self.parameters.contains_key(id) {
            self.duplicate_ids.push(id.to_string());
        }
        self.resources.insert(id, resource);
        Handle::new(id)
    }

    /// Adds an output. A duplicate name is reported by [`Template::synth`].
    pub fn add_output(&mut self, name: &str, output: Output) {
        let name = intern(name);
        if self.outputs.insert(name, output).is_some() {
            self.duplicate_ids.push(format!("output {name}"));
        }
    }

    /// The typed properties behind a handle.
    pub fn get<T: ResourceType>(&self, h: Handle<T>) -> &T {
        self.resources
            .get(h.logical_id())
            .and_then(|r| r.properties.downcast_ref())
            .unwrap_or_else(|| panic!("handle {} does not name a {}", h.logical_id(), T::TYPE))
    }

    /// The typed properties behind a handle, for changing them.
    ///
    /// # Panics
    ///
    /// If the handle names no resource of type `T` in this template (a
    /// handle from another template, or one taken before a [`Template::rename`]).
    pub fn get_mut<T: ResourceType>(&mut self, h: Handle<T>) -> &mut T {
        self.resources
            .get_mut(h.logical_id())
            .and_then(|r| r.properties.downcast_mut())
            .unwrap_or_else(|| panic!("handle {} does not name a {}", h.logical_id(), T::TYPE))
    }

    /// The resource (with its attributes) behind a handle.
    pub fn resource_mut<T>(&mut self, h: Handle<T>) -> &mut Resource {
        self.resources
            .get_mut(h.logical_id())
            .unwrap_or_else(|| panic!("handle {} names no resource", h.logical_id()))
    }

    /// Sets a value at a dotted path inside the rendered resource, e.g.
    /// `"Properties.MemorySize"`, `"Metadata.Owner"` or
    /// `"Properties.Tags.0.Value"` (CDK's `addOverride`). Applied after the
    /// typed model is rendered, so it always wins; validation runs after it.
    pub fn add_override<T>(&mut self, h: Handle<T>, path: &str, value: Json) {
        self.push_override(h, path, Some(value));
    }

    /// Removes whatever is at `path` (CDK's `addDeletionOverride`).
    pub fn add_deletion_override<T>(&mut self, h: Handle<T>, path: &str) {
        self.push_override(h, path, None);
    }

    /// [`Self::add_override`] under `Properties` (CDK's `addPropertyOverride`):
    /// `add_property_override(f, "MemorySize", json!(4096))`. A path that
    /// already starts with `Properties.` is taken as is.
    pub fn add_property_override<T>(&mut self, h: Handle<T>, path: &str, value: Json) {
        let full = if path.starts_with("Properties.") {
            path.to_string()
        } else {
            format!("Properties.{path}")
        };
        self.push_override(h, &full, Some(value));
    }

    fn push_override<T>(&mut self, h: Handle<T>, path: &str, value: Option<Json>) {
        self.overrides.push(Override {
            logical_id: h.logical_id(),
            path: path.split('.').map(str::to_string).collect(),
            value,
        });
    }

    /// Renames a resource and rewrites every reference to it (Ref, GetAtt,
    /// `${Id}` and `${Id.Attr}` inside Fn::Sub, DependsOn, overrides), so a
    /// rename never leaves a dangling reference behind. Returns the new handle.
    pub fn rename<T>(&mut self, h: Handle<T>, new_id: &str) -> Handle<T> {
        let new_id = intern(new_id);
        let Some(index) = self.resources.get_index_of(h.logical_id()) else {
            return Handle::new(new_id);
        };
        let (_, resource) = self
            .resources
            .shift_remove_index(index)
            .expect("index exists");
        if self.resources.contains_key(new_id) {
            self.duplicate_ids.push(new_id.to_string());
        }
        self.resources.insert(new_id, resource);
        let last = self.resources.len() - 1;
        self.resources.move_index(last, index);
        self.pending_renames.push((h.logical_id(), new_id));
        for o in &mut self.overrides {
            if o.logical_id == h.logical_id() {
                o.logical_id = new_id;
            }
        }
        Handle::new(new_id)
    }

    /// Renders the template to JSON and runs synth-time validation, which
    /// reports every problem at once.
    pub fn synth(&self) -> Result<Synthesized, ValidationErrors> {
        let (json, unapplied) = self.render();
        let mut problems = synth::validate(&json);
        for (id, path) in unapplied {
            problems.push(synth::Problem::new(
                id,
                path,
                "override did not apply: the resource does not exist, or an array index is out of range or not a number; fix the path",
            ));
        }
        for id in &self.duplicate_ids {
            problems.push(synth::Problem::new(
                id.clone(),
                "",
                format!("logical ID `{id}` is declared more than once; each parameter, resource and output needs a unique name (rename one)"),
            ));
        }
        if problems.is_empty() {
            Ok(Synthesized::new(json))
        } else {
            Err(ValidationErrors(problems))
        }
    }

    /// Renders without validation (for inspecting a template that does not
    /// validate yet).
    pub fn to_json(&self) -> Json {
        self.render().0
    }

    /// The rendered template and the overrides that did not apply
    /// (logical ID, path).
    fn render(&self) -> (Json, Vec<(String, String)>) {
        let mut unapplied = Vec::new();
        let mut top = Map::new();
        top.insert("AWSTemplateFormatVersion".into(), "2010-09-09".into());
        if let Some(d) = &self.description {
            top.insert("Description".into(), Json::String(d.clone()));
        }
        if !self.parameters.is_empty() {
            top.insert(
                "Parameters".into(),
                serde_json::to_value(&self.parameters).unwrap(),
            );
        }
        if !self.rules.is_empty() {
            top.insert("Rules".into(), serde_json::to_value(&self.rules).unwrap());
        }
        if !self.conditions.is_empty() {
            top.insert(
                "Conditions".into(),
                serde_json::to_value(&self.conditions).unwrap(),
            );
        }
        let mut resources = Map::new();
        for (id, r) in &self.resources {
            resources.insert(id.to_string(), r.to_json());
        }
        let mut json_resources = Json::Object(resources);
        // Overrides first, so references inside override values follow
        // renames too.
        for o in &self.overrides {
            let applied = json_resources
                .get_mut(o.logical_id)
                .is_some_and(|r| apply_override(r, &o.path, o.value.clone()));
            if !applied {
                unapplied.push((o.logical_id.to_string(), o.path.join(".")));
            }
        }
        for (old, new) in &self.pending_renames {
            synth::rewrite_references(&mut json_resources, old, new);
        }
        top.insert("Resources".into(), json_resources);
        if !self.outputs.is_empty() {
            let mut outputs = serde_json::to_value(&self.outputs).unwrap();
            for (old, new) in &self.pending_renames {
                synth::rewrite_references(&mut outputs, old, new);
            }
            top.insert("Outputs".into(), outputs);
        }
        (Json::Object(top), unapplied)
    }
}

/// Applies one override; false when the path cannot be applied (an array
/// index out of range or not a number, a deletion of nothing), so synth
/// can say so instead of silently ignoring it.
fn apply_override(target: &mut Json, path: &[String], value: Option<Json>) -> bool {
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
