//! AWS IAM: roles and policy documents.

use serde::ser::Serializer;
use serde::Serialize;
use serde_json::Value as Json;
use serde_with::skip_serializing_none;

use super::Tag;
use crate::template::Handle;
use crate::value::{Pseudo, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Who a statement applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// An AWS service, e.g. `lambda.amazonaws.com`.
    Service(String),
    /// An account, role or user ARN.
    Aws(Value<String>),
    /// `"*"`: everyone. Only sensible in Deny statements.
    Any,
}

impl Principal {
    pub fn service(name: impl Into<String>) -> Self {
        Principal::Service(name.into())
    }

    /// The root of an account (`arn:<partition>:iam::<account>:root`).
    pub fn account(account: Pseudo) -> Self {
        Principal::Aws(Value::sub(format!(
            "arn:${{AWS::Partition}}:iam::${{{}}}:root",
            account.name()
        )))
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Principal::Any => s.serialize_str("*"),
            Principal::Service(name) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("Service", name)?;
                m.end()
            }
            Principal::Aws(arn) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("AWS", arn)?;
                m.end()
            }
        }
    }
}

/// One element or a list, as IAM writes it: a single action is a string.
fn one_or_many<S: Serializer, T: Serialize>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    if v.len() == 1 {
        v[0].serialize(s)
    } else {
        v.serialize(s)
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principal>,
    #[serde(serialize_with = "one_or_many")]
    pub action: Vec<String>,
    #[serde(serialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Value<String>>,
    pub condition: Option<Json>,
}

impl Statement {
    pub fn allow(
        actions: impl IntoIterator<Item = impl Into<String>>,
        resources: impl IntoIterator<Item = Value<String>>,
    ) -> Self {
        Statement {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            action: actions.into_iter().map(Into::into).collect(),
            resource: resources.into_iter().collect(),
            condition: None,
        }
    }

    pub fn deny(
        actions: impl IntoIterator<Item = impl Into<String>>,
        resources: impl IntoIterator<Item = Value<String>>,
    ) -> Self {
        Statement {
            effect: Effect::Deny,
            ..Statement::allow(actions, resources)
        }
    }

    pub fn principal(mut self, p: Principal) -> Self {
        self.principal = Some(p);
        self
    }

    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    pub fn condition(mut self, c: Json) -> Self {
        self.condition = Some(c);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statements: Vec<Statement>) -> Self {
        PolicyDocument {
            version: "2012-10-17",
            statement: statements,
        }
    }

    /// A trust policy letting `principal` assume the role.
    pub fn assume_role(principal: Principal) -> Self {
        PolicyDocument::new(vec![Statement {
            principal: Some(principal),
            ..Statement::allow(["sts:AssumeRole"], [])
        }])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

/// `AWS::IAM::Role`.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: Option<Value<String>>,
    pub description: Option<String>,
    pub assume_role_policy_document: PolicyDocument,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
    pub permissions_boundary: Option<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Role {
    pub fn assumed_by(principal: Principal) -> Self {
        Role {
            role_name: None,
            description: None,
            assume_role_policy_document: PolicyDocument::assume_role(principal),
            managed_policy_arns: Vec::new(),
            policies: Vec::new(),
            permissions_boundary: None,
            tags: Vec::new(),
        }
    }

    /// An AWS managed policy by name, e.g. `service-role/AWSLambdaBasicExecutionRole`.
    pub fn with_aws_managed_policy(mut self, name: &str) -> Self {
        self.managed_policy_arns.push(Value::sub(format!(
            "arn:${{AWS::Partition}}:iam::aws:policy/{name}"
        )));
        self
    }

    /// Adds statements to the inline policy `policy_name`, creating it if
    /// needed. Grants use this, so repeated grants land in one policy.
    pub fn add_to_policy(&mut self, policy_name: &str, statement: Statement) {
        if let Some(p) = self
            .policies
            .iter_mut()
            .find(|p| p.policy_name == policy_name)
        {
            if !p.policy_document.statement.contains(&statement) {
                p.policy_document.statement.push(statement);
            }
        } else {
            self.policies.push(InlinePolicy {
                policy_name: policy_name.to_string(),
                policy_document: PolicyDocument::new(vec![statement]),
            });
        }
    }
}

impl Handle<Role> {
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
