//! Conditions (`Fn::Equals`, `Fn::Not`, ...) and rules (assertions on
//! parameter values CloudFormation checks before it changes anything).

use serde::Serialize;
use serde_json::Value as Json;

use crate::value::{ConditionName, Value};

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
