//! A resource in a template: the [`ResourceType`] trait every typed
//! resource struct implements, the type-erased [`AnyResource`] the template
//! stores, and the resource attributes around it ([`Resource`]:
//! `DeletionPolicy`, `DependsOn`, `Condition`, ...).
//!
//! The template holds resources as trait objects, not as an enum of every
//! type, so this module knows no service: each service module under
//! [`crate::resources`] implements [`ResourceType`] for its own structs,
//! and a user's crate can do the same for a type we have not modelled.

use std::any::Any;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::name::Name;
use crate::synth::Problem;
use crate::validate::ResourceCheck;
use crate::value::{ConditionName, Value};

/// A CloudFormation tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Tag {
    /// `Key`: up to 128 characters; the `aws:` prefix is reserved by AWS.
    pub key: String,
    /// `Value`: up to 256 characters; may be an intrinsic (e.g. the project name parameter).
    pub value: Value<String>,
}

impl Tag {
    /// A tag; the value may be a literal or an intrinsic.
    pub fn new(key: impl Into<String>, value: impl Into<Value<String>>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A resource type's properties struct: serialized as the resource's
/// `Properties`, with its CloudFormation type name.
///
/// Implement it for a struct of your own to type a resource this crate
/// does not (the [`crate::resources::Raw`] escape hatch needs no code but
/// gives no types), with the rules synth should check next to it:
///
/// ```
/// use hyperframes_infra::validate::ResourceCheck;
/// use hyperframes_infra::{Problem, ResourceType, Stack, Template};
/// use serde::Serialize;
///
/// #[derive(Debug, Clone, PartialEq, Serialize)]
/// #[serde(rename_all = "PascalCase")]
/// struct Table {
///     billing_mode: String,
/// }
///
/// impl ResourceType for Table {
///     const TYPE: &'static str = "AWS::DynamoDB::Table";
///
///     fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
///         match check.property("BillingMode").as_str() {
///             Some("PAY_PER_REQUEST" | "PROVISIONED") | None => Vec::new(),
///             Some(other) => vec![check.problem(
///                 "BillingMode",
///                 format!("`{other}` is not a billing mode; use PAY_PER_REQUEST or PROVISIONED"),
///             )],
///         }
///     }
/// }
///
/// let mut t = Template::new();
/// let jobs = t.add("Jobs", Table { billing_mode: "PAY_PER_REQUEST".into() });
/// assert_eq!(t.synth().unwrap().as_json()["Resources"]["Jobs"]["Type"], "AWS::DynamoDB::Table");
///
/// t.get_mut(&jobs).billing_mode = "ON_DEMAND".into();
/// let problems = t.synth().unwrap_err().0;
/// assert_eq!(problems[0].to_string(), "Jobs.Properties.BillingMode: `ON_DEMAND` is not a billing mode; use PAY_PER_REQUEST or PROVISIONED");
/// ```
pub trait ResourceType: Serialize + Clone + fmt::Debug + PartialEq + 'static {
    /// The CloudFormation type name, e.g. `AWS::S3::Bucket`.
    const TYPE: &'static str;

    /// The type's writable top-level property names, from its CloudFormation
    /// resource schema. When given, synth refuses a property override whose
    /// first name is not one of them (and suggests the nearest);
    /// [`crate::Stack::add_property_override_unchecked`] bypasses the check.
    /// `None` (the default, and [`crate::resources::Raw`]'s) checks nothing.
    const PROPERTIES: Option<&'static [&'static str]> = None;

    /// The type name this value is written with: [`Self::TYPE`], except
    /// for [`crate::resources::Raw`], which carries its own.
    fn type_name(&self) -> &str {
        Self::TYPE
    }

    /// This type's own synth-time rules (ranges, name formats, required
    /// combinations), run on the resource's rendered properties, overrides
    /// included. The template-level rules (references, names, limits) run
    /// on every resource anyway; the default adds none.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let _ = check;
        Vec::new()
    }
}

/// What the template needs from any resource, object-safe.
trait Erased: fmt::Debug {
    fn type_name(&self) -> &str;
    fn schema_properties(&self) -> Option<&'static [&'static str]>;
    fn properties_json(&self) -> Json;
    fn validate(&self, check: &ResourceCheck<'_>) -> Vec<Problem>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn clone_box(&self) -> Box<dyn Erased>;
    fn eq_dyn(&self, other: &dyn Erased) -> bool;
}

impl<T: ResourceType> Erased for T {
    fn type_name(&self) -> &str {
        ResourceType::type_name(self)
    }
    fn schema_properties(&self) -> Option<&'static [&'static str]> {
        T::PROPERTIES
    }
    fn properties_json(&self) -> Json {
        serde_json::to_value(self).expect("resource properties serialize")
    }
    fn validate(&self, check: &ResourceCheck<'_>) -> Vec<Problem> {
        T::validate(check)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn Erased> {
        Box::new(self.clone())
    }
    fn eq_dyn(&self, other: &dyn Erased) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// Any resource's properties, its type erased: what the template stores.
/// [`AnyResource::downcast_ref`] gives the typed struct back, which is how
/// [`crate::Stack::get`] turns a handle into `&Bucket`.
#[derive(Debug)]
pub struct AnyResource(Box<dyn Erased>);

impl AnyResource {
    /// Erases `properties`' type.
    pub fn new<T: ResourceType>(properties: T) -> Self {
        AnyResource(Box::new(properties))
    }

    /// The CloudFormation type name, e.g. `AWS::Lambda::Function`.
    pub fn type_name(&self) -> &str {
        self.0.type_name()
    }

    /// The type's [`ResourceType::PROPERTIES`]: the property names synth
    /// accepts in an override, if it checks them.
    pub fn schema_properties(&self) -> Option<&'static [&'static str]> {
        self.0.schema_properties()
    }

    /// The `Properties` object as CloudFormation will see it (before overrides).
    pub fn properties_json(&self) -> Json {
        self.0.properties_json()
    }

    /// The rules of the type's [`ResourceType::validate`].
    pub(crate) fn validate(&self, check: &ResourceCheck<'_>) -> Vec<Problem> {
        self.0.validate(check)
    }

    /// The properties as a `T`, if they are one.
    pub fn downcast_ref<T: ResourceType>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// The properties as a `T`, for changing them, if they are one.
    pub fn downcast_mut<T: ResourceType>(&mut self) -> Option<&mut T> {
        self.0.as_any_mut().downcast_mut()
    }
}

impl Clone for AnyResource {
    fn clone(&self) -> Self {
        AnyResource(self.0.clone_box())
    }
}

impl PartialEq for AnyResource {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_dyn(other.0.as_ref())
    }
}

impl<T: ResourceType> From<T> for AnyResource {
    fn from(properties: T) -> Self {
        AnyResource::new(properties)
    }
}

/// What happens to a resource's physical resource when CloudFormation
/// deletes or replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RemovalPolicy {
    /// CloudFormation deletes the physical resource (its default for most types).
    Delete,
    /// CloudFormation leaves the physical resource in place, no longer managed by any stack.
    Retain,
    /// Like `Retain`, except that a resource created by a stack operation that rolls
    /// back is deleted, so failed creates leave nothing behind.
    RetainExceptOnCreate,
    /// CloudFormation snapshots the resource, then deletes it. Only types with
    /// snapshots (RDS, EBS volumes, ElastiCache, Redshift, ...) accept it; S3 buckets do not.
    Snapshot,
}

/// A resource with its CloudFormation resource attributes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Resource {
    /// The typed properties (or a [`crate::resources::Raw`] one).
    pub properties: AnyResource,
    /// `DeletionPolicy`: what happens on stack delete or when the resource is
    /// removed from the template. `None` means CloudFormation's default (delete).
    pub deletion_policy: Option<RemovalPolicy>,
    /// `UpdateReplacePolicy`: what happens to the old physical resource when an
    /// update replaces it. `None` means delete.
    pub update_replace_policy: Option<RemovalPolicy>,
    /// `DependsOn`: logical IDs CloudFormation creates first (and deletes after).
    /// Only needed for ordering that no `Ref`/`GetAtt` already implies; synth
    /// checks each names a resource.
    pub depends_on: Vec<Name>,
    /// `Condition`: the resource is created only when this condition holds.
    pub condition: Option<ConditionName>,
    /// `Metadata`: free-form JSON CloudFormation stores but does not act on.
    pub metadata: Option<Json>,
}

impl Resource {
    /// A resource with no attributes set: CloudFormation's defaults apply.
    pub fn new(properties: impl Into<AnyResource>) -> Self {
        Resource {
            properties: properties.into(),
            deletion_policy: None,
            update_replace_policy: None,
            depends_on: Vec::new(),
            condition: None,
            metadata: None,
        }
    }

    /// DeletionPolicy and UpdateReplacePolicy together, as CDK's
    /// `removalPolicy` does: retaining on delete but not on replacement is
    /// almost always a mistake.
    pub fn removal_policy(&mut self, policy: RemovalPolicy) -> &mut Self {
        self.deletion_policy = Some(policy);
        self.update_replace_policy = Some(policy);
        self
    }

    /// The CloudFormation type, e.g. `AWS::S3::Bucket` (or a raw resource's own).
    pub fn type_name(&self) -> &str {
        self.properties.type_name()
    }

    /// The resource as it appears under `Resources`, before overrides.
    pub(crate) fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("Type".into(), Json::String(self.type_name().to_string()));
        if let Some(p) = self.deletion_policy {
            m.insert("DeletionPolicy".into(), serde_json::to_value(p).unwrap());
        }
        if let Some(p) = self.update_replace_policy {
            m.insert(
                "UpdateReplacePolicy".into(),
                serde_json::to_value(p).unwrap(),
            );
        }
        if !self.depends_on.is_empty() {
            m.insert(
                "DependsOn".into(),
                serde_json::to_value(&self.depends_on).unwrap(),
            );
        }
        if let Some(c) = &self.condition {
            m.insert("Condition".into(), Json::String(c.name().to_string()));
        }
        if let Some(md) = &self.metadata {
            m.insert("Metadata".into(), md.clone());
        }
        let props = self.properties.properties_json();
        if props.as_object().is_some_and(|o| !o.is_empty()) {
            m.insert("Properties".into(), props);
        }
        Json::Object(m)
    }
}
