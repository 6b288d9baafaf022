//! The escape hatch: any resource type, properties as JSON. For the day AWS
//! ships a property or a resource type we have not typed yet.

use serde::Serialize;
use serde_json::Value as Json;

use crate::template::Handle;
use crate::value::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Raw {
    pub type_name: String,
    pub properties: Json,
}

impl Raw {
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
        self.att(crate::intern::intern(name))
    }
}
