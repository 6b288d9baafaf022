//! `Value<T>`: a property value that is either a literal `T` or a CloudFormation
//! intrinsic that yields a `T` at deploy time.
//!
//! CloudFormation lets almost every property be an intrinsic, numeric and
//! boolean ones included (`MemorySize: !Ref LambdaMemoryMb`). Modelling those
//! fields as plain `u32` (as some generators do) makes the reference template
//! unrepresentable; modelling them as `serde_json::Value` loses the type. The
//! type parameter records what the intrinsic must evaluate to, and the typed
//! constructors below are the only way to build one, so a `Value<u32>` cannot
//! be given a `Fn::Join` by accident.

use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value as Json;

use crate::name::Name;

/// A literal or an intrinsic function that evaluates to a `T`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<T> {
    /// A value written into the template as is.
    Literal(T),
    /// An intrinsic CloudFormation resolves at deploy time to a `T`.
    Intrinsic(Intrinsic<T>),
}

/// An intrinsic function call. Built only through the typed constructors on
/// [`Value`], [`Param`], [`Pseudo`] and resource handles; the type parameter
/// is the type the call yields.
#[derive(Clone, PartialEq)]
pub struct Intrinsic<T> {
    expr: Expr,
    _yields: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Intrinsic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl<T> Intrinsic<T> {
    fn new(expr: Expr) -> Self {
        Intrinsic {
            expr,
            _yields: PhantomData,
        }
    }

    /// The untyped expression, for inspection and validation.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

/// The untyped shape of an intrinsic. Operands are kept as JSON because each
/// was already type-checked when its own `Value` was built.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `{"Ref": name}`: a parameter, a resource, or a pseudo parameter.
    Ref(Name),
    /// `{"Fn::GetAtt": [resource, attribute]}`.
    GetAtt(Name, Name),
    /// `{"Fn::Sub": template}` or `{"Fn::Sub": [template, {vars}]}`.
    Sub(String, IndexMap<String, Json>),
    /// `{"Fn::If": [condition, then, else]}`.
    If(Name, Json, Json),
    /// `{"Fn::Join": [separator, [parts]]}`.
    Join(String, Vec<Json>),
    /// `{"Fn::Select": [index, list]}`.
    Select(u32, Json),
    /// `{"Fn::ImportValue": name}`.
    ImportValue(Json),
    /// `{"Ref": "AWS::NoValue"}`: removes the property.
    NoValue,
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Expr::Ref(name) => m.serialize_entry("Ref", name)?,
            Expr::GetAtt(res, attr) => m.serialize_entry("Fn::GetAtt", &[res, attr])?,
            Expr::Sub(template, vars) if vars.is_empty() => {
                m.serialize_entry("Fn::Sub", template)?
            }
            Expr::Sub(template, vars) => {
                m.serialize_entry("Fn::Sub", &(template, vars))?;
            }
            Expr::If(cond, then, otherwise) => {
                m.serialize_entry("Fn::If", &(cond, then, otherwise))?
            }
            Expr::Join(sep, parts) => m.serialize_entry("Fn::Join", &(sep, parts))?,
            Expr::Select(index, list) => m.serialize_entry("Fn::Select", &(index, list))?,
            Expr::ImportValue(name) => m.serialize_entry("Fn::ImportValue", name)?,
            Expr::NoValue => m.serialize_entry("Ref", "AWS::NoValue")?,
        }
        m.end()
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Literal(v) => v.serialize(s),
            Value::Intrinsic(i) => i.expr.serialize(s),
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> Json {
    serde_json::to_value(v).expect("template values serialize to JSON")
}

impl<T> Value<T> {
    /// `Fn::If`: `then` when the named condition holds, else `otherwise`.
    pub fn if_(condition: &ConditionName, then: Value<T>, otherwise: Value<T>) -> Value<T>
    where
        T: Serialize,
    {
        Value::Intrinsic(Intrinsic::new(Expr::If(
            condition.0.clone(),
            to_json(&then),
            to_json(&otherwise),
        )))
    }

    /// `Fn::If` whose else branch removes the property (`AWS::NoValue`).
    /// Only meaningful on optional properties, which is the only place the
    /// resource structs accept it without a type error (`Option<Value<T>>`).
    pub fn if_or_absent(condition: &ConditionName, then: Value<T>) -> Value<T>
    where
        T: Serialize,
    {
        Value::Intrinsic(Intrinsic::new(Expr::If(
            condition.0.clone(),
            to_json(&then),
            to_json(&Expr::NoValue),
        )))
    }

    /// `Fn::Select` from a list-valued expression.
    pub fn select(index: u32, list: Value<Vec<T>>) -> Value<T>
    where
        T: Serialize,
    {
        Value::Intrinsic(Intrinsic::new(Expr::Select(index, to_json(&list))))
    }

    /// `Ref` to a logical name whose value is a `T`. Crate-internal: users
    /// get refs from typed handles, never from strings.
    pub(crate) fn reference(logical_id: impl Into<Name>) -> Value<T> {
        Value::Intrinsic(Intrinsic::new(Expr::Ref(logical_id.into())))
    }

    pub(crate) fn get_att(logical_id: impl Into<Name>, attribute: impl Into<Name>) -> Value<T> {
        Value::Intrinsic(Intrinsic::new(Expr::GetAtt(
            logical_id.into(),
            attribute.into(),
        )))
    }

    /// The literal, if this is one.
    pub fn as_literal(&self) -> Option<&T> {
        match self {
            Value::Literal(v) => Some(v),
            Value::Intrinsic(_) => None,
        }
    }

    /// The intrinsic expression, if this is one.
    pub fn as_expr(&self) -> Option<&Expr> {
        match self {
            Value::Literal(_) => None,
            Value::Intrinsic(i) => Some(&i.expr),
        }
    }
}

impl Value<String> {
    /// `Fn::Sub` with only `${Name}` references to parameters, resources and
    /// pseudo parameters. Synth validation checks every name resolves.
    pub fn sub(template: impl Into<String>) -> Value<String> {
        Value::Intrinsic(Intrinsic::new(Expr::Sub(template.into(), IndexMap::new())))
    }

    /// `Fn::Sub` with a variable map.
    pub fn sub_with(
        template: impl Into<String>,
        vars: impl IntoIterator<Item = (&'static str, Value<String>)>,
    ) -> Value<String> {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.to_string(), to_json(&v)))
            .collect();
        Value::Intrinsic(Intrinsic::new(Expr::Sub(template.into(), vars)))
    }

    /// `Fn::Join` of string values.
    pub fn join(separator: impl Into<String>, parts: Vec<Value<String>>) -> Value<String> {
        Value::Intrinsic(Intrinsic::new(Expr::Join(
            separator.into(),
            parts.iter().map(to_json).collect(),
        )))
    }

    /// `Fn::ImportValue` of another stack's export.
    pub fn import(export_name: Value<String>) -> Value<String> {
        Value::Intrinsic(Intrinsic::new(Expr::ImportValue(to_json(&export_name))))
    }
}

impl<T> From<T> for Value<T> {
    fn from(v: T) -> Self {
        Value::Literal(v)
    }
}

impl From<&str> for Value<String> {
    fn from(v: &str) -> Self {
        Value::Literal(v.to_string())
    }
}

/// A CloudFormation condition's name, as returned by
/// [`crate::Stack::add_condition`]; `Fn::If` only accepts these, so an
/// `If` over an undeclared condition cannot be written by accident.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConditionName(pub(crate) Name);

impl ConditionName {
    /// A condition declared outside this template model (for example by a
    /// raw override). Synth validation still checks it exists.
    pub fn named(name: impl Into<Name>) -> ConditionName {
        ConditionName(name.into())
    }

    /// The name as written in the template (`Fn::If`, `Condition:`).
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A typed reference to a template parameter: `Param<u32>` for a `Number`,
/// `Param<String>` for a `String`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Param<T> {
    name: Name,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Param<T> {
    fn clone(&self) -> Self {
        Param::new(self.name.clone())
    }
}

impl<T> Param<T> {
    pub(crate) fn new(name: impl Into<Name>) -> Self {
        Param {
            name: name.into(),
            _t: PhantomData,
        }
    }

    /// The parameter's name in the template's `Parameters` section.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `{"Ref": "<parameter>"}`.
    pub fn value(&self) -> Value<T> {
        Value::reference(self.name.clone())
    }
}

/// Pseudo parameters CloudFormation defines in every template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    /// `AWS::AccountId`: the deploying account, e.g. `123456789012`.
    AccountId,
    /// `AWS::Region`: the region the stack is deployed in, e.g. `eu-west-1`.
    Region,
    /// `AWS::Partition`: `aws`, `aws-cn` or `aws-us-gov`; use it in ARNs
    /// instead of hard-coding `aws`.
    Partition,
    /// `AWS::StackName`: the stack's name, as given at create time.
    StackName,
    /// `AWS::StackId`: the stack's ARN.
    StackId,
    /// `AWS::URLSuffix`: `amazonaws.com`, or `amazonaws.com.cn` in China regions.
    UrlSuffix,
}

impl Pseudo {
    /// The `AWS::...` name, as used in `Ref` and `${...}` inside `Fn::Sub`.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }

    /// `{"Ref": "AWS::..."}`: resolves to a string at deploy time.
    pub fn value(self) -> Value<String> {
        Value::reference(self.name())
    }
}

/// Names CloudFormation resolves without a declaration.
pub(crate) const PSEUDO_NAMES: &[&str] = &[
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NotificationARNs",
    "AWS::NoValue",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_property_holds_a_ref_or_a_literal() {
        let p: Param<u32> = Param::new("LambdaMemoryMb");
        assert_eq!(to_json(&p.value()), json!({"Ref": "LambdaMemoryMb"}));
        assert_eq!(to_json(&Value::Literal(10240u32)), json!(10240));
    }

    #[test]
    fn if_or_absent_emits_no_value() {
        let c = ConditionName::named("HasReservedConcurrency");
        let p: Param<i32> = Param::new("ReservedConcurrency");
        assert_eq!(
            to_json(&Value::if_or_absent(&c, p.value())),
            json!({"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]})
        );
    }

    #[test]
    fn sub_without_vars_is_a_string_and_with_vars_a_pair() {
        assert_eq!(
            to_json(&Value::sub("${ProjectName}-render")),
            json!({"Fn::Sub": "${ProjectName}-render"})
        );
        let v = Value::sub_with("arn:${B}", [("B", Value::from("x"))]);
        assert_eq!(to_json(&v), json!({"Fn::Sub": ["arn:${B}", {"B": "x"}]}));
    }

    #[test]
    fn join_and_pseudo() {
        let v = Value::join(":", vec![Pseudo::Region.value(), "x".into()]);
        assert_eq!(
            to_json(&v),
            json!({"Fn::Join": [":", [{"Ref": "AWS::Region"}, "x"]]})
        );
    }
}

/// A CloudFormation number that prints whole values as integers (`1`, not
/// `1.0`), as alarm thresholds are written by hand.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Number(pub f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl From<u32> for Number {
    fn from(v: u32) -> Self {
        Number(v.into())
    }
}
impl From<i32> for Number {
    fn from(v: i32) -> Self {
        Number(v.into())
    }
}
impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number(v)
    }
}
impl From<u32> for Value<Number> {
    fn from(v: u32) -> Self {
        Value::Literal(v.into())
    }
}
impl From<f64> for Value<Number> {
    fn from(v: f64) -> Self {
        Value::Literal(v.into())
    }
}
