//! AWS IAM: roles and policy documents.

use serde::ser::Serializer;
use serde::Serialize;
use serde_json::Value as Json;

use crate::handle::Handle;
use crate::resource::{ResourceType, Tag};
use crate::template::Stack;
use crate::value::{Pseudo, Value};

/// A statement's `Effect`. An explicit `Deny` beats any `Allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Grants the actions, unless some statement denies them.
    Allow,
    /// Refuses the actions, whatever other statements allow.
    Deny,
}

/// Who a statement applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// An AWS service, e.g. `lambda.amazonaws.com`.
    Service(String),
    /// A service principal that depends on the deployment, such as CloudWatch
    /// Logs' regional `logs.${AWS::Region}.amazonaws.com`.
    ServiceValue(Value<String>),
    /// An account, role or user ARN.
    Aws(Value<String>),
    /// `"*"`: everyone. Only sensible in Deny statements.
    Any,
}

impl Principal {
    /// An AWS service principal such as `states.amazonaws.com`.
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
            Principal::ServiceValue(name) => {
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

/// One IAM policy statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// `Sid`: an optional label, letters and digits only, unique within the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Effect`: allow or deny.
    pub effect: Effect,
    /// `Principal`: who the statement applies to. Only in trust and resource
    /// policies; IAM rejects it in a role's own (identity) policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// `Action`, e.g. `s3:GetObject`; written as a string when there is one.
    #[serde(serialize_with = "one_or_many")]
    pub action: Vec<String>,
    /// `Resource` ARNs the actions apply to; omitted when empty (trust policies).
    #[serde(serialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Value<String>>,
    /// `Condition` block, e.g. `{"Bool": {"aws:SecureTransport": "false"}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Json>,
}

impl Statement {
    /// Allows `actions` on `resources`: the usual least-privilege statement.
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

    /// Denies `actions` on `resources`; add a principal and condition for
    /// resource policies such as "deny non-TLS access".
    pub fn deny(
        actions: impl IntoIterator<Item = impl Into<String>>,
        resources: impl IntoIterator<Item = Value<String>>,
    ) -> Self {
        Statement {
            effect: Effect::Deny,
            ..Statement::allow(actions, resources)
        }
    }

    /// Sets `Principal` (trust and resource policies only).
    pub fn principal(mut self, p: Principal) -> Self {
        self.principal = Some(p);
        self
    }

    /// Sets `Sid`: letters and digits, unique within the policy.
    pub fn sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Sets the `Condition` block.
    pub fn condition(mut self, c: Json) -> Self {
        self.condition = Some(c);
        self
    }
}

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Always `2012-10-17`, the policy language version that supports policy variables.
    pub version: &'static str,
    /// The statements, evaluated together: any matching `Deny` wins.
    pub statement: Vec<Statement>,
}

impl PolicyDocument {
    /// A document with `statements` at the current policy language version.
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

/// A policy embedded in a role; deleted with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    /// `PolicyName`, unique within the role. Grants use `<LogicalId>Access`.
    pub policy_name: String,
    /// `PolicyDocument`. A role's inline policies share a 10,240-character quota.
    pub policy_document: PolicyDocument,
}

/// `AWS::IAM::Role`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Role {
    /// `RoleName`, up to 64 characters. Leave unset: a fixed name needs
    /// `CAPABILITY_NAMED_IAM` at deploy and forces replacement when changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<Value<String>>,
    /// `Description`, up to 1000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `AssumeRolePolicyDocument`: the trust policy, who may assume the role.
    pub assume_role_policy_document: PolicyDocument,
    /// `ManagedPolicyArns`: managed policies attached to the role (at most
    /// 10 under the default IAM quota).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_policy_arns: Vec<Value<String>>,
    /// `Policies`: inline policies; grants add to these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<InlinePolicy>,
    /// `PermissionsBoundary`: a managed policy ARN capping what the role's
    /// policies can grant, whatever they say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<Value<String>>,
    /// `Tags`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl ResourceType for Role {
    const TYPE: &'static str = "AWS::IAM::Role";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::ROLE);
}

impl Role {
    /// A role `principal` may assume, with no permissions yet.
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
    /// Adds `statement` to this role's inline policy for `target`, named
    /// `<target's logical ID>Access`: the step every `grant_*` method ends
    /// with, as in CDK. All grants on the render bucket land in
    /// `RenderBucketAccess`, readable in a template diff; a statement
    /// granted twice is kept once. Use it for grants on a type of your own.
    pub fn add_grant<T>(&self, stack: &mut impl Stack, target: &Handle<T>, statement: Statement) {
        let policy_name = format!("{}Access", target.logical_id());
        stack.get_mut(self).add_to_policy(&policy_name, statement);
    }

    /// The role's name (`Ref`).
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    /// The role's ARN (`Fn::GetAtt Arn`), what Lambda, Step Functions and trust
    /// policies need.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
