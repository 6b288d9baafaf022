//! The stack's outputs after a deploy, printed and written to the outputs
//! file (`hyperframes_cli::outputs`) that the render tools read.
//!
//! CloudFormation's DescribeStacks is the source. When it returns no
//! Outputs although the template declares some (moto does this for every
//! stack created through a change set), the values are resolved from the
//! template's `Ref`/`Fn::GetAtt` expressions and DescribeStackResources,
//! and labelled as such; anything that cannot be resolved that way is
//! reported as missing instead of guessed.

use serde_json::{json, Map, Value as Json};

use crate::stack::StackResource;

/// Where the values came from, printed so a user knows what to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    DescribeStacks,
    StackResources,
}

#[derive(Debug, Clone)]
pub struct Outputs {
    /// In the template's order; `None` = declared but not resolvable.
    pub values: Vec<(String, Option<String>)>,
    pub source: Source,
}

/// Outputs from DescribeStacks when it has them, else resolved.
pub fn collect(
    template: &Json,
    described: &[(String, String)],
    resources: impl FnOnce() -> Vec<StackResource>,
    region: &str,
    account: &str,
) -> Outputs {
    let declared: Vec<String> = template
        .get("Outputs")
        .and_then(Json::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    if !described.is_empty() || declared.is_empty() {
        let mut values: Vec<(String, Option<String>)> = declared
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    described
                        .iter()
                        .find(|(d, _)| d == k)
                        .map(|(_, v)| v.clone()),
                )
            })
            .collect();
        for (k, v) in described {
            if !declared.contains(k) {
                values.push((k.clone(), Some(v.clone())));
            }
        }
        return Outputs {
            values,
            source: Source::DescribeStacks,
        };
    }
    let resources = resources();
    let values = declared
        .iter()
        .map(|k| {
            let expr = &template["Outputs"][k]["Value"];
            (
                k.clone(),
                resolve(expr, template, &resources, region, account),
            )
        })
        .collect();
    Outputs {
        values,
        source: Source::StackResources,
    }
}

/// Resolves the two expression shapes our outputs use: `Ref` of a resource
/// (its physical ID) and `Fn::GetAtt [Function, Arn]`.
pub fn resolve(
    expr: &Json,
    template: &Json,
    resources: &[StackResource],
    region: &str,
    account: &str,
) -> Option<String> {
    let physical = |id: &str| {
        resources
            .iter()
            .find(|r| r.logical_id == id)
            .map(|r| r.physical_id.clone())
            .filter(|p| !p.is_empty())
    };
    if let Some(id) = expr.get("Ref").and_then(Json::as_str) {
        return physical(id);
    }
    let getatt = expr.get("Fn::GetAtt")?.as_array()?;
    let (id, attr) = (getatt.first()?.as_str()?, getatt.get(1)?.as_str()?);
    let ty = template["Resources"][id]["Type"].as_str()?;
    let p = physical(id)?;
    match (ty, attr) {
        ("AWS::Lambda::Function", "Arn") if p.starts_with("arn:") => Some(p),
        ("AWS::Lambda::Function", "Arn") => Some(format!(
            "arn:{}:lambda:{region}:{account}:function:{p}",
            partition(region)
        )),
        ("AWS::StepFunctions::StateMachine", "Arn") if p.starts_with("arn:") => Some(p),
        ("AWS::S3::Bucket", "Arn") => Some(format!("arn:{}:s3:::{p}", partition(region))),
        _ => None,
    }
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

impl Outputs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn print(&self) {
        if self.values.is_empty() {
            println!("outputs: none declared");
            return;
        }
        match self.source {
            Source::DescribeStacks => println!("outputs:"),
            Source::StackResources => println!(
                "outputs (CloudFormation returned none, so these are resolved from the stack's resources; \
                 AWS itself always returns them, this is a local emulator's gap):"
            ),
        }
        let w = self.values.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.values {
            match v {
                Some(v) => println!("  {k:<w$}  {v}"),
                None => println!("  {k:<w$}  (not available: CloudFormation did not return it)"),
            }
        }
    }

    /// `{"StackName", "Region", "AccountId", <output>: <value>...}`, flat so
    /// `render` and shell scripts (`jq -r .RenderStateMachineArn`) read it directly.
    pub fn to_json(&self, stack_name: &str, region: &str, account: &str) -> Json {
        let mut m = Map::new();
        m.insert("StackName".into(), json!(stack_name));
        m.insert("Region".into(), json!(region));
        m.insert("AccountId".into(), json!(account));
        for (k, v) in &self.values {
            if let Some(v) = v {
                m.insert(k.clone(), json!(v));
            }
        }
        Json::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Json {
        json!({
            "Resources": {
                "RenderBucket": {"Type": "AWS::S3::Bucket"},
                "RenderFunction": {"Type": "AWS::Lambda::Function"},
                "RenderStateMachine": {"Type": "AWS::StepFunctions::StateMachine"}
            },
            "Outputs": {
                "RenderBucketName": {"Value": {"Ref": "RenderBucket"}},
                "RenderFunctionArn": {"Value": {"Fn::GetAtt": ["RenderFunction", "Arn"]}},
                "RenderStateMachineArn": {"Value": {"Ref": "RenderStateMachine"}},
                "Other": {"Value": {"Fn::Sub": "${AWS::StackName}"}}
            }
        })
    }

    fn res(l: &str, p: &str) -> StackResource {
        StackResource {
            logical_id: l.into(),
            physical_id: p.into(),
            resource_type: String::new(),
        }
    }

    #[test]
    fn described_outputs_win() {
        let described = vec![("RenderBucketName".to_string(), "b".to_string())];
        let o = collect(
            &template(),
            &described,
            || panic!("not needed"),
            "us-east-1",
            "1",
        );
        assert_eq!(o.source, Source::DescribeStacks);
        assert_eq!(o.get("RenderBucketName"), Some("b"));
        assert_eq!(o.get("RenderFunctionArn"), None);
    }

    #[test]
    fn missing_outputs_are_resolved_from_resources() {
        let resources = vec![
            res("RenderBucket", "s-renderbucket-abc"),
            res("RenderFunction", "hf-render"),
            res(
                "RenderStateMachine",
                "arn:aws:states:eu-west-1:1:stateMachine:hf-render",
            ),
        ];
        let o = collect(&template(), &[], || resources, "eu-west-1", "123456789012");
        assert_eq!(o.source, Source::StackResources);
        assert_eq!(o.get("RenderBucketName"), Some("s-renderbucket-abc"));
        assert_eq!(
            o.get("RenderFunctionArn"),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:hf-render")
        );
        assert_eq!(
            o.get("RenderStateMachineArn"),
            Some("arn:aws:states:eu-west-1:1:stateMachine:hf-render")
        );
        assert_eq!(
            o.get("Other"),
            None,
            "unsupported expressions are not guessed"
        );
        let file = o.to_json("s", "eu-west-1", "123456789012");
        assert_eq!(file["RenderBucketName"], "s-renderbucket-abc");
        assert_eq!(file["StackName"], "s");
        assert!(file.get("Other").is_none());
    }
}
