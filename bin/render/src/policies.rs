//! The IAM policy a person or CI role needs to deploy, render on, follow
//! and destroy one render stack, scoped to that stack's resources (the
//! reference hands out its 79 actions on `Resource: *`).
//!
//! CloudFormation creates the stack's resources with the caller's
//! credentials, so the caller needs the create/update/delete actions for
//! each resource type, limited by name to what this stack creates.

use hyperframes_infra::resources::iam::{PolicyDocument, Principal, Role, Statement};
use hyperframes_infra::Value;
use serde_json::Value as Json;

/// What the policy is scoped to.
#[derive(Debug, Clone)]
pub struct Scope {
    pub stack_name: String,
    pub project_name: String,
    /// `*` or one region.
    pub region: String,
    /// `*` or one account id.
    pub account: String,
}

/// One statement: a label, actions, and the resources they are scoped to.
fn allow(sid: &str, actions: &[&str], resources: impl IntoIterator<Item = String>) -> Statement {
    let mut actions = actions.to_vec();
    actions.sort_unstable();
    Statement::allow(actions, resources.into_iter().map(Value::from)).sid(sid)
}

impl Scope {
    /// CloudFormation names generated resources `<stack>-<LogicalId>-<suffix>`;
    /// bucket names are lowercased.
    fn stack_lower(&self) -> String {
        self.stack_name.to_lowercase()
    }
}

/// Who is calling, and reading templates: IAM offers no resource scope.
fn identity(_: &Scope) -> Vec<Statement> {
    vec![
        allow("IdentityCheck", &["sts:GetCallerIdentity"], ["*".into()]),
        // `render` sizes the fan-out from the account's Lambda concurrency.
        allow(
            "ReadLambdaConcurrency",
            &["lambda:GetAccountSettings"],
            ["*".into()],
        ),
        allow(
            "ReadTemplates",
            &[
                "cloudformation:ValidateTemplate",
                "cloudformation:GetTemplateSummary",
                "cloudformation:ListStacks",
            ],
            ["*".into()],
        ),
    ]
}

/// The stack itself and the staging bucket `deploy` uploads packages to.
fn stack_and_staging(s: &Scope) -> Vec<Statement> {
    let (r, a, stack) = (&s.region, &s.account, &s.stack_name);
    vec![
        allow(
            "DeployTheStack",
            &[
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DeleteStack",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResource",
                "cloudformation:DescribeStackResources",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetTemplate",
                "cloudformation:ListChangeSets",
                "cloudformation:TagResource",
            ],
            [format!("arn:aws:cloudformation:{r}:{a}:stack/{stack}/*")],
        ),
        allow(
            "StageHandlerPackages",
            &[
                "s3:CreateBucket",
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketPolicy",
                "s3:GetObject",
                "s3:PutObject",
            ],
            [
                format!("arn:aws:s3:::hyperframes-staging-{a}-{r}"),
                format!("arn:aws:s3:::hyperframes-staging-{a}-{r}/*"),
            ],
        ),
    ]
}

/// The render bucket: created and configured by the stack, used by renders.
fn render_bucket(s: &Scope) -> Vec<Statement> {
    let stack_lower = s.stack_lower();
    vec![
        allow(
            "ManageTheRenderBucket",
            &[
                "s3:CreateBucket",
                "s3:GetBucketLocation",
                "s3:GetBucketPolicy",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:GetBucketTagging",
                "s3:PutBucketTagging",
                "s3:GetBucketVersioning",
                "s3:PutBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:PutBucketPublicAccessBlock",
                "s3:GetBucketPublicAccessBlock",
                "s3:ListBucket",
            ],
            [format!("arn:aws:s3:::{stack_lower}-renderbucket-*")],
        ),
        allow(
            "UseTheRenderBucket",
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [format!("arn:aws:s3:::{stack_lower}-renderbucket-*/*")],
        ),
    ]
}

/// The stack's two roles and the render function.
fn roles_and_function(s: &Scope) -> Vec<Statement> {
    let (r, a, stack, project) = (&s.region, &s.account, &s.stack_name, &s.project_name);
    vec![
        allow(
            "ManageTheStackRoles",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PassRole",
            ],
            [format!("arn:aws:iam::{a}:role/{stack}-*")],
        ),
        allow(
            "ManageTheRenderFunction",
            &[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                // `render` reads the reserved concurrency to size the fan-out.
                "lambda:GetFunctionConcurrency",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
            ],
            [format!("arn:aws:lambda:{r}:{a}:function:{project}-render")],
        ),
    ]
}

/// The state machine, its executions (renders) and its log group.
fn workflow(s: &Scope) -> Vec<Statement> {
    let (r, a, project) = (&s.region, &s.account, &s.project_name);
    vec![
        allow(
            "ManageTheStateMachine",
            &[
                "states:CreateStateMachine",
                "states:DeleteStateMachine",
                "states:DescribeStateMachine",
                "states:UpdateStateMachine",
                "states:TagResource",
                "states:UntagResource",
                "states:ListTagsForResource",
                "states:StartExecution",
                "states:ListExecutions",
            ],
            [format!(
                "arn:aws:states:{r}:{a}:stateMachine:{project}-render"
            )],
        ),
        allow(
            "FollowAndCancelRenders",
            &[
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
                // The chunk fan-out's Map Runs (`progress`, `cancel`).
                "states:ListMapRuns",
            ],
            [format!(
                "arn:aws:states:{r}:{a}:execution:{project}-render:*"
            )],
        ),
        // Each chunk is a child execution of a Map Run: `progress` reads
        // their histories, `cancel` stops them.
        allow(
            "FollowAndCancelChunks",
            &[
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
            ],
            [format!(
                "arn:aws:states:{r}:{a}:execution:{project}-render/*"
            )],
        ),
        allow(
            "ListChunkExecutions",
            &["states:ListExecutions", "states:DescribeMapRun"],
            [format!("arn:aws:states:{r}:{a}:mapRun:{project}-render/*")],
        ),
        allow(
            "ManageTheLogGroup",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:TagLogGroup",
            ],
            [format!(
                "arn:aws:logs:{r}:{a}:log-group:/aws/states/{project}-render*"
            )],
        ),
        // Log delivery for state machines is not resource-scoped in IAM.
        allow(
            "StateMachineLogDelivery",
            &[
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:ListLogDeliveries",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:PutResourcePolicy",
            ],
            ["*".into()],
        ),
    ]
}

/// The stack's alarms.
fn alarms(s: &Scope) -> Vec<Statement> {
    let (r, a, project) = (&s.region, &s.account, &s.project_name);
    vec![allow(
        "ManageTheAlarms",
        &[
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:TagResource",
        ],
        [format!("arn:aws:cloudwatch:{r}:{a}:alarm:{project}-*")],
    )]
}

/// Every statement the tools need, in a fixed order.
fn statements(scope: &Scope) -> Vec<Statement> {
    [
        identity,
        stack_and_staging,
        render_bucket,
        roles_and_function,
        workflow,
        alarms,
    ]
    .into_iter()
    .flat_map(|part| part(scope))
    .collect()
}

/// The user policy document.
pub fn user_policy(scope: &Scope) -> PolicyDocument {
    PolicyDocument::new(statements(scope))
}

/// A role for CI: trusted by `principal`, with the user policy inline.
pub fn role(scope: &Scope, principal: &str) -> Role {
    let mut role = Role::assumed_by(Principal::Aws(principal.into()));
    let name = format!("{}-deploy-and-render", scope.stack_name);
    for s in statements(scope) {
        role.add_to_policy(&name, s);
    }
    role
}

/// Every (action, resource) pair the tools need.
pub fn required(scope: &Scope) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in statements(scope) {
        for a in &s.action {
            for r in s.resource.iter().filter_map(Value::as_literal) {
                out.push((a.clone(), r.clone()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// IAM's wildcard match: `*` any run, `?` one character, case-insensitive
/// for actions (IAM action names are), case-sensitive for resources.
fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn strings(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The result of checking a policy document against what the tools need.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Coverage {
    pub ok: bool,
    /// `action on resource` pairs the document does not allow.
    pub missing: Vec<String>,
    pub warnings: Vec<String>,
}

/// Checks that `doc` allows every required pair, honouring Deny
/// statements (an explicit Deny wins, as in IAM). Conditions are not
/// evaluated: statements with a Condition are counted with a warning.
pub fn validate(doc: &Json, scope: &Scope) -> Result<Coverage, String> {
    if doc["Version"] != "2012-10-17" {
        return Err(format!("Version must be \"2012-10-17\" (got {}); older versions do not support policy variables", doc["Version"]));
    }
    let statements: Vec<&Json> = match &doc["Statement"] {
        Json::Array(a) => a.iter().collect(),
        s @ Json::Object(_) => vec![s],
        _ => return Err("Statement must be an object or a list of objects".into()),
    };
    let mut warnings = Vec::new();
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        let effect = s["Effect"].as_str().unwrap_or("");
        if !matches!(effect, "Allow" | "Deny") {
            return Err(format!(
                "Statement[{i}]: Effect must be Allow or Deny (got {})",
                s["Effect"]
            ));
        }
        if s.get("NotAction").is_some() || s.get("NotResource").is_some() {
            warnings.push(format!(
                "Statement[{i}] uses NotAction/NotResource; it is ignored by this check"
            ));
            continue;
        }
        let actions = strings(&s["Action"]);
        let resources = strings(&s["Resource"]);
        if actions.is_empty() || resources.is_empty() {
            return Err(format!("Statement[{i}]: needs Action and Resource"));
        }
        if s.get("Condition").is_some() {
            warnings.push(format!(
                "Statement[{i}] has a Condition; it is counted as if the condition held"
            ));
        }
        if effect == "Allow" {
            allows.push((actions, resources));
        } else {
            denies.push((actions, resources));
        }
    }
    let matches = |set: &[(Vec<String>, Vec<String>)], action: &str, resource: &str| {
        set.iter().any(|(acts, ress)| {
            acts.iter().any(|p| glob(p, action, true))
                && ress.iter().any(|p| glob(p, resource, false))
        })
    };
    let missing: Vec<String> = required(scope)
        .into_iter()
        .filter(|(a, r)| !matches(&allows, a, r) || matches(&denies, a, r))
        .map(|(a, r)| format!("{a} on {r}"))
        .collect();
    Ok(Coverage {
        ok: missing.is_empty(),
        missing,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope {
            stack_name: "Renders".into(),
            project_name: "hyperframes".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn the_generated_policy_covers_itself_and_is_scoped() {
        let doc = serde_json::to_value(user_policy(&scope())).unwrap();
        let c = validate(&doc, &scope()).unwrap();
        assert!(c.ok, "{c:?}");
        let text = doc.to_string();
        assert!(text.contains("stack/Renders/*"));
        assert!(
            text.contains("renders-renderbucket-*"),
            "bucket names are lowercased"
        );
        assert!(text.contains("function:hyperframes-render"));
        // Wildcard resources only where IAM offers nothing narrower.
        for s in doc["Statement"].as_array().unwrap() {
            if s["Resource"] == "*" {
                let sid = s["Sid"].as_str().unwrap();
                assert!(
                    [
                        "IdentityCheck",
                        "ReadLambdaConcurrency",
                        "ReadTemplates",
                        "StateMachineLogDelivery"
                    ]
                    .contains(&sid),
                    "{sid}"
                );
            }
        }
    }

    #[test]
    fn wildcards_denies_and_gaps() {
        let admin = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
        assert!(validate(&admin, &scope()).unwrap().ok);
        let deny_iam = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]});
        let c = validate(&deny_iam, &scope()).unwrap();
        assert!(!c.ok);
        assert!(
            c.missing.iter().all(|m| m.starts_with("iam:")),
            "{:?}",
            c.missing
        );
        let narrow = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "states:*"], "Resource": "*"}]});
        let c = validate(&narrow, &scope()).unwrap();
        assert!(c
            .missing
            .iter()
            .any(|m| m.starts_with("cloudformation:CreateChangeSet")));
        assert!(!c.missing.iter().any(|m| m.starts_with("states:")));
        assert!(validate(&json!({"Statement": []}), &scope())
            .unwrap_err()
            .contains("Version"));
        assert!(validate(
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}),
            &scope()
        )
        .unwrap_err()
        .contains("Effect"));
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob("s3:Get*", "s3:GetObject", true));
        assert!(glob("S3:getobject", "s3:GetObject", true));
        assert!(glob("arn:aws:s3:::b-*/*", "arn:aws:s3:::b-1/k", false));
        assert!(!glob("arn:aws:s3:::b-*", "arn:aws:s3:::B-1", false));
        assert!(glob("states:?tartExecution", "states:StartExecution", true));
    }
}
