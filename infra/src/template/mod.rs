//! The CloudFormation template: parameters, conditions, resources and
//! outputs in insertion order (so the same program emits the same bytes),
//! plus the escape hatches applied last at synth.

mod condition;
mod output;
mod overrides;
mod parameter;
mod rename;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use crate::handle::Handle;
use crate::name::Name;
use crate::resource::{Resource, ResourceType};
use crate::synth::{Synthesized, ValidationErrors};
use crate::validate;
use crate::value::{ConditionName, Param};

pub use condition::{Assertion, Condition, Rule};
pub use output::{Export, Output};
pub use parameter::{ParamKind, Parameter, ParameterDecl};

use overrides::{apply_override, Override};
use rename::rewrite_references;

/// A CloudFormation template under construction. Build it through
/// [`Stack`], which it implements; render it with [`Template::synth`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Template {
    /// `Description`, shown in the console; CloudFormation allows 1024 bytes.
    pub description: Option<String>,
    /// Declared parameters, in insertion order. Prefer [`Stack::add_parameter`],
    /// which also detects duplicate names.
    pub parameters: IndexMap<Name, ParameterDecl>,
    /// Declared conditions, in insertion order. Prefer [`Stack::add_condition`].
    pub conditions: IndexMap<Name, Condition>,
    /// Rules: assertions on parameter values that CloudFormation checks
    /// before it changes anything. Prefer [`Stack::add_rule`].
    pub rules: IndexMap<Name, Rule>,
    /// Resources by logical ID, in insertion order. Prefer [`Stack::add`] and
    /// [`Stack::add_resource`], which return typed handles.
    pub resources: IndexMap<Name, Resource>,
    /// Outputs by name, in insertion order. Prefer [`Stack::add_output`].
    pub outputs: IndexMap<Name, Output>,
    overrides: Vec<Override>,
    /// Logical IDs added twice. Kept rather than rejected at `add` so that
    /// synth can report every problem at once.
    duplicate_ids: Vec<String>,
    /// Renames applied to the rendered JSON, so references built before a
    /// rename (typed properties hold logical IDs) follow it.
    pending_renames: Vec<(Name, Name)>,
}

/// A CloudFormation stack under construction: anything that owns a
/// [`Template`]. This trait is the one way to build on a stack: the
/// [`crate::HyperframesRenderStack`], a bare [`Template`] and a construct of
/// your own that wraps either implement it by saying where their template
/// is, and get every method below. What is specific to one resource type
/// (attributes, metrics, grants) is a method of its [`Handle`], in that
/// type's module, and takes any `Stack`:
///
/// ```
/// use hyperframes_infra::resources::iam::{Principal, Role};
/// use hyperframes_infra::{HyperframesRenderStack, Pseudo, Stack};
///
/// let mut stack = HyperframesRenderStack::default();
/// let ci = stack.add("CiRole", Role::assumed_by(Principal::account(Pseudo::AccountId)));
/// stack.bucket().grant_read(&mut stack, &ci);
/// stack.get_mut(&stack.render_function()).description = Some("renders".into());
/// # stack.synth().unwrap();
/// ```
///
/// A construct of your own is a `Stack` too, so the same grants, overrides
/// and renames work on it:
///
/// ```
/// use hyperframes_infra::resources::sns::Topic;
/// use hyperframes_infra::{Handle, HyperframesRenderStack, Stack, Template};
///
/// struct PlatformStack {
///     render: HyperframesRenderStack,
///     alerts: Handle<Topic>,
/// }
///
/// impl PlatformStack {
///     fn new() -> Self {
///         let mut render = HyperframesRenderStack::default();
///         let alerts = render.add("RenderAlerts", Topic::default());
///         PlatformStack { render, alerts }
///     }
/// }
///
/// impl Stack for PlatformStack {
///     fn template(&self) -> &Template {
///         self.render.template()
///     }
///     fn template_mut(&mut self) -> &mut Template {
///         self.render.template_mut()
///     }
/// }
///
/// let mut platform = PlatformStack::new();
/// let renamed = platform.rename(&platform.render.bucket(), "VideoBucket");
/// assert_eq!(platform.render.bucket(), renamed);
/// let alerts = platform.alerts.clone();
/// platform.get_mut(&alerts).display_name = Some("Render alerts".into());
/// let template = platform.render.synth().unwrap();
/// assert_eq!(template.as_json()["Resources"]["VideoBucket"]["Type"], "AWS::S3::Bucket");
/// ```
///
/// Methods that only name a resource take its handle by reference
/// (`stack.get_mut(&h)`), so a handle is cloned only where it is stored
/// (a subscription's topic, a notification's destination). A handle read
/// from the stack can be an argument of a `&mut self` method
/// (`stack.get_mut(&stack.render_function())`): the method's receiver is
/// borrowed mutably only after its arguments are evaluated. That is not so
/// for a method reached through `DerefMut`, which is why the stack does not
/// deref to its template.
pub trait Stack {
    /// The template being built.
    fn template(&self) -> &Template;

    /// The template being built, for anything the methods below do not cover
    /// (its description, or reading every resource).
    fn template_mut(&mut self) -> &mut Template;

    /// Declares a parameter and returns a typed reference to it. A duplicate
    /// name is reported by [`Template::synth`], not here.
    fn add_parameter<T: ParamKind>(&mut self, name: &str, p: Parameter<T>) -> Param<T> {
        let t = self.template_mut();
        let name = Name::from(name);
        if t.parameters.insert(name.clone(), p.erase()).is_some() {
            t.duplicate_ids.push(name.to_string());
        }
        Param::new(name)
    }

    /// Declares a condition; the returned name is what [`crate::Value::if_`] and
    /// [`Resource::condition`] accept. A duplicate name is reported by synth.
    fn add_condition(&mut self, name: &str, c: Condition) -> ConditionName {
        let t = self.template_mut();
        let name = Name::from(name);
        if t.conditions.insert(name.clone(), c).is_some() {
            t.duplicate_ids.push(name.to_string());
        }
        ConditionName::named(name)
    }

    /// Declares a rule.
    fn add_rule(&mut self, name: &str, rule: Rule) {
        let t = self.template_mut();
        if t.rules.insert(Name::from(name), rule).is_some() {
            t.duplicate_ids.push(format!("rule {name}"));
        }
    }

    /// Adds a resource and returns its handle.
    fn add<T: ResourceType>(&mut self, logical_id: &str, properties: T) -> Handle<T> {
        self.add_resource(logical_id, Resource::new(properties))
    }

    /// Adds a resource with attributes (DeletionPolicy, DependsOn, ...).
    fn add_resource<T: ResourceType>(&mut self, logical_id: &str, resource: Resource) -> Handle<T> {
        let t = self.template_mut();
        let id = Name::from(logical_id);
        if t.resources.contains_key(logical_id) || t.parameters.contains_key(logical_id) {
            t.duplicate_ids.push(id.to_string());
        }
        t.resources.insert(id.clone(), resource);
        Handle::new(id)
    }

    /// Adds an output. A duplicate name is reported by [`Template::synth`].
    fn add_output(&mut self, name: &str, output: Output) {
        let t = self.template_mut();
        if t.outputs.insert(Name::from(name), output).is_some() {
            t.duplicate_ids.push(format!("output {name}"));
        }
    }

    /// The typed properties behind a handle.
    ///
    /// # Panics
    ///
    /// As [`Stack::get_mut`].
    fn get<T: ResourceType>(&self, h: &Handle<T>) -> &T {
        self.template()
            .resources
            .get(h.logical_id())
            .and_then(|r| r.properties.downcast_ref())
            .unwrap_or_else(|| panic!("handle {} does not name a {}", h.logical_id(), T::TYPE))
    }

    /// The typed properties behind a handle, for changing them.
    ///
    /// # Panics
    ///
    /// If the handle names no resource of type `T` in this template (a
    /// handle from another template, or one taken before a [`Stack::rename`]).
    fn get_mut<T: ResourceType>(&mut self, h: &Handle<T>) -> &mut T {
        self.template_mut()
            .resources
            .get_mut(h.logical_id())
            .and_then(|r| r.properties.downcast_mut())
            .unwrap_or_else(|| panic!("handle {} does not name a {}", h.logical_id(), T::TYPE))
    }

    /// The resource (with its attributes) behind a handle.
    fn resource_mut<T>(&mut self, h: &Handle<T>) -> &mut Resource {
        self.template_mut()
            .resources
            .get_mut(h.logical_id())
            .unwrap_or_else(|| panic!("handle {} names no resource", h.logical_id()))
    }

    /// Sets a value at a dotted path inside the rendered resource, e.g.
    /// `"Properties.MemorySize"`, `"Metadata.Owner"` or
    /// `"Properties.Tags.0.Value"` (CDK's `addOverride`). Applied after the
    /// typed model is rendered, so it always wins; validation runs after it,
    /// and refuses a resource attribute or (under `Properties`) a property
    /// the resource cannot have.
    fn add_override<T>(&mut self, h: &Handle<T>, path: &str, value: Json) {
        self.template_mut()
            .push_override(h, path, Some(value), true);
    }

    /// Removes whatever is at `path` (CDK's `addDeletionOverride`).
    fn add_deletion_override<T>(&mut self, h: &Handle<T>, path: &str) {
        self.template_mut().push_override(h, path, None, true);
    }

    /// [`Self::add_override`] under `Properties` (CDK's `addPropertyOverride`):
    /// `add_property_override(f, "MemorySize", json!(4096))`. A path that
    /// already starts with `Properties.` is taken as is.
    ///
    /// Synth refuses a property the resource type does not have (by its
    /// CloudFormation schema, [`ResourceType::PROPERTIES`]) and names the
    /// nearest one it has.
    fn add_property_override<T>(&mut self, h: &Handle<T>, path: &str, value: Json) {
        let full = under_properties(path);
        self.template_mut()
            .push_override(h, &full, Some(value), true);
    }

    /// [`Self::add_property_override`] without the schema check: for a
    /// property AWS added after this crate's schema was vendored. Synth
    /// then passes the name through as written, so a typo surfaces only at
    /// deploy.
    fn add_property_override_unchecked<T>(&mut self, h: &Handle<T>, path: &str, value: Json) {
        let full = under_properties(path);
        self.template_mut()
            .push_override(h, &full, Some(value), false);
    }

    /// [`Self::add_override`] without the check of the resource attribute
    /// and property names (see [`Self::add_property_override_unchecked`]).
    fn add_override_unchecked<T>(&mut self, h: &Handle<T>, path: &str, value: Json) {
        self.template_mut()
            .push_override(h, path, Some(value), false);
    }

    /// Renames a resource and rewrites every reference to it (Ref, GetAtt,
    /// `${Id}` and `${Id.Attr}` inside Fn::Sub, DependsOn, overrides), so a
    /// rename never leaves a dangling reference behind. Returns the new
    /// handle; a construct's own accessors (`stack.bucket()`) follow too.
    fn rename<T>(&mut self, h: &Handle<T>, new_id: &str) -> Handle<T> {
        let t = self.template_mut();
        let new_id = Name::from(new_id);
        let Some(index) = t.resources.get_index_of(h.logical_id()) else {
            return Handle::new(new_id);
        };
        let (_, resource) = t.resources.shift_remove_index(index).expect("index exists");
        if t.resources.contains_key(&*new_id) {
            t.duplicate_ids.push(new_id.to_string());
        }
        t.resources.insert(new_id.clone(), resource);
        let last = t.resources.len() - 1;
        t.resources.move_index(last, index);
        t.pending_renames.push((h.id().clone(), new_id.clone()));
        for o in &mut t.overrides {
            if o.logical_id == *h.id() {
                o.logical_id = new_id.clone();
            }
        }
        Handle::new(new_id)
    }
}

/// `path` under `Properties.`, unless it already starts there.
fn under_properties(path: &str) -> String {
    if path.starts_with("Properties.") {
        path.to_string()
    } else {
        format!("Properties.{path}")
    }
}

/// A bare template is the smallest stack.
impl Stack for Template {
    fn template(&self) -> &Template {
        self
    }

    fn template_mut(&mut self) -> &mut Template {
        self
    }
}

impl Template {
    /// An empty template: no description, parameters or resources.
    /// Synth rejects it until at least one resource is added.
    pub fn new() -> Self {
        Template::default()
    }

    /// `h` as it is named now: a handle taken before [`Stack::rename`]s
    /// follows them, which is how a construct's accessors stay current.
    pub(crate) fn follow<T>(&self, h: &Handle<T>) -> Handle<T> {
        let mut id = h.id();
        for (old, new) in &self.pending_renames {
            if id == old {
                id = new;
            }
        }
        Handle::new(id.clone())
    }

    fn push_override<T>(&mut self, h: &Handle<T>, path: &str, value: Option<Json>, checked: bool) {
        self.overrides.push(Override {
            logical_id: h.id().clone(),
            path: path.split('.').map(str::to_string).collect(),
            value,
            checked,
        });
    }

    /// Renders the template to JSON and runs synth-time validation, which
    /// reports every problem at once.
    pub fn synth(&self) -> Result<Synthesized, ValidationErrors> {
        let (json, unapplied) = self.render();
        let mut problems = validate::template_problems(&json, |check| {
            self.resources
                .get(check.logical_id())
                .map_or_else(Vec::new, |r| r.properties.validate(check))
        });
        for (id, path) in unapplied {
            problems.push(validate::unapplied_override(&id, &path));
        }
        for o in &self.overrides {
            if let Some(resource) = self.resources.get(&o.logical_id) {
                problems.extend(o.unknown_names(resource));
            }
        }
        for id in &self.duplicate_ids {
            problems.push(validate::duplicate_id(id));
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
                .get_mut(o.logical_id.as_str())
                .is_some_and(|r| apply_override(r, &o.path, o.value.clone()));
            if !applied {
                unapplied.push((o.logical_id.to_string(), o.path.join(".")));
            }
        }
        for (old, new) in &self.pending_renames {
            rewrite_references(&mut json_resources, old, new);
        }
        top.insert("Resources".into(), json_resources);
        if !self.outputs.is_empty() {
            let mut outputs = serde_json::to_value(&self.outputs).unwrap();
            for (old, new) in &self.pending_renames {
                rewrite_references(&mut outputs, old, new);
            }
            top.insert("Outputs".into(), outputs);
        }
        (Json::Object(top), unapplied)
    }
}
