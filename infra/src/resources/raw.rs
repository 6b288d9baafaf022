//! The escape hatch: any resource type, properties as JSON. For the day AWS
//! ships a property or a resource type we have not typed yet.

use serde::Serialize;
use serde_json::Value as Json;

use crate::handle::Handle;
use crate::resource::ResourceType;
use crate::value::Value;

/// A resource of any type, its properties untyped. Synth still checks its
/// `Ref`/`GetAtt`/`Fn::Sub` references and CloudFormation's limits, but not
/// its properties, so typos in property names surface only at deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw {
    /// The CloudFormation type, e.g. `AWS::Events::Rule`.
    pub type_name: String,
    /// The `Properties` object, written as is (omitted when empty).
    pub properties: Json,
}

/// A raw resource serializes as its `Properties`, like every resource type.
impl Serialize for Raw {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.properties.serialize(s)
    }
}

impl ResourceType for Raw {
    /// Not a CloudFormation type: a raw resource is written with its own
    /// [`Raw::type_name`].
    const TYPE: &'static str = "(raw)";

    fn type_name(&self) -> &str {
        &self.type_name
    }
}

impl Raw {
    /// A raw resource; build `properties` with `serde_json::json!`.
    pub fn new(type_name: impl Into<String>, properties: Json) -> Self {
        Raw {
            type_name: type_name.into(),
            properties,
        }
    }
}

impl Handle<Raw> {
    /// `Ref` of the raw resource; what it returns depends on its type.
    pub fn reference(&self) -> Value<String> {
        self.ref_value()
    }

    /// `Fn::GetAtt` of any attribute. Synth validation cannot know a raw
    /// type's attributes, so a typo here shows up only at deploy.
    pub fn attribute(&self, name: &str) -> Value<String> {
        self.att(name)
    }
}
