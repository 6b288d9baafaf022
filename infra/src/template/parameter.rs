//! Template parameters: typed declarations (`Parameter<u32>` is a
//! `Number`), erased to their CloudFormation spelling when added.

use serde::Serialize;
use serde_json::Value as Json;

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
#[non_exhaustive]
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

    pub(super) fn erase(self) -> ParameterDecl {
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
#[non_exhaustive]
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
fn ser_num<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => s.serialize_i64(*n as i64),
        Some(n) => s.serialize_f64(*n),
        None => s.serialize_none(),
    }
}
