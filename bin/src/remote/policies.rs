//! The IAM policy a person or CI role needs to deploy, render on, follow
//! and destroy one render stack, scoped to that stack's resources (the
//! reference hands out its 79 actions on `Resource: *`).
//!
//! CloudFormation creates the stack's resources with the caller's
//! credentials, so the caller needs the create/update/delete actions for
//! each resource type, limited by name to what this stack creates.

use serde_json::{json, Value};

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

struct Grant {
    sid: &'static str,
    actions: &'static [&'static str],
    resources: Vec<String>,
}

fn grants(s: &Scope) -> Vec<Grant> {
    let (r, a, stack, project) = (&s.region, &s.account, &s.stack_name, &s.project_name);
    // CloudFormation names generated resources `<stack>-<LogicalId>-<suffix>`;
    // bucket names are lowercased.
    let stack_lower = stack.to_lowercase();
    vec![
        Grant {
            sid: "IdentityCheck",
            actions: &["sts:GetCallerIdentity"],
            resources: vec!["*".into()],
        },
        Grant {
            sid: "ReadTemplates",
            actions: &[
                "cloudformation:ValidateTemplate",
                "cloudformation:GetTemplateSummary",
                "cloudformation:ListStacks",
            ],
            resources: vec!["*".into()],
        },
        Grant {
            sid: "DeployTheStack",
            actions: &[
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
            resources: vec![format!("arn:aws:cloudformation:{r}:{a}:stack/{stack}/*")],
        },
        Grant {
            sid: "StageHandlerPackages",
            actions: &[
                "s3:CreateBucket",
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketPolicy",
                "s3:GetObject",
                "s3:PutObject",
            ],
            resources: vec![
                format!("arn:aws:s3:::hyperframes-staging-{a}-{r}"),
                format!("arn:aws:s3:::hyperframes-staging-{a}-{r}/*"),
            ],
        },
        Grant {
            sid: "ManageTheRenderBucket",
            actions: &[
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
            resources: vec![format!("arn:aws:s3:::{stack_lower}-renderbucket-*")],
        },
        Grant {
            sid: "UseTheRenderBucket",
            actions: &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            resources: vec![format!("arn:aws:s3:::{stack_lower}-renderbucket-*/*")],
        },
        Grant {
            sid: "ManageTheStackRoles",
            actions: &[
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
            resources: vec![format!("arn:aws:iam::{a}:role/{stack}-*")],
        },
        Grant {
            sid: "ManageTheRenderFunction",
            actions: &[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:ListTags",
            ],
            resources: vec![format!("arn:aws:lambda:{r}:{a}:function:{project}-render")],
        },
        Grant {
            sid: "ManageTheStateMachine",
            actions: &[
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
            resources: vec![format!(
                "arn:aws:states:{r}:{a}:stateMachine:{project}-render"
            )],
        },
        Grant {
            sid: "FollowAndCancelRenders",
            actions: &[
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
            ],
            resources: vec![format!(
                "arn:aws:states:{r}:{a}:execution:{project}-render:*"
            )],
        },
        Grant {
            sid: "ManageTheLogGroup",
            actions: &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:TagLogGroup",
            ],
            resources: vec![format!(
                "arn:aws:logs:{r}:{a}:log-group:/aws/states/{project}-render*"
            )],
        },
        Grant {
            // Log delivery for state machines is not resource-scoped in IAM.
            sid: "StateMachineLogDelivery",
            actions: &[
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:ListLogDeliveries",
                "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies",
                "logs:PutResourcePolicy",
            ],
            resources: vec!["*".into()],
        },
        Grant {
            sid: "ManageTheAlarms",
            actions: &[
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:TagResource",
            ],
            resources: vec![format!("arn:aws:cloudwatch:{r}:{a}:alarm:{project}-*")],
        },
    ]
}

/// The user policy document.
pub fn user_policy(scope: &Scope) -> Value {
    let statements: Vec<Value> = grants(scope)
        .into_iter()
        .map(|g| {
            let mut actions: Vec<&str> = g.actions.to_vec();
            actions.sort_unstable();
            json!({"Sid": g.sid, "Effect": "Allow", "Action": actions, "Resource": if g.resources.len() == 1 { json!(g.resources[0]) } else { json!(g.resources) }})
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A role for CI: trusted by `principal`, with the user policy inline.
pub fn role(scope: &Scope, principal: &str) -> Value {
    json!({
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]
        },
        "Policies": [{"PolicyName": format!("{}-deploy-and-render", scope.stack_name), "PolicyDocument": user_policy(scope)}]
    })
}

/// Every (action, resource) pair the tools need.
pub fn required(scope: &Scope) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in grants(scope) {
        for a in g.actions {
            for r in &g.resources {
                out.push((a.to_string(), r.clone()));
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

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
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
pub fn validate(doc: &Value, scope: &Scope) -> Result<Coverage, String> {
    if doc["Version"] != "2012-10-17" {
        return Err(format!("Version must be \"2012-10-17\" (got {}); older versions do not support policy variables", doc["Version"]));
    }
    let statements: Vec<&Value> = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
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
        let doc = user_policy(&scope());
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
                    ["IdentityCheck", "ReadTemplates", "StateMachineLogDelivery"].contains(&sid),
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
