//! The CloudFormation template: parameters, conditions, resources and
//! outputs in insertion order (so the same program emits the same bytes),
//! plus the escape hatches applied last at synth.

mod condition;
mod output;
mod overrides;
mod parameter;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use crate::handle::Handle;
use crate::intern::intern;
use crate::resource::{Resource, ResourceType};
use crate::synth::{self, Synthesized, ValidationErrors};
use crate::value::{ConditionName, Param};

pub use condition::{Assertion, Condition, Rule};
pub use output::{Export, Output};
pub use parameter::{ParamKind, Parameter, ParameterDecl};

use overrides::{apply_override, Override};

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
