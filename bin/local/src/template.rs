//! What the local stack reads from a synthesized template: the render
//! function's settings and the state machine's definition, with the
//! parameters, pseudo parameters and the intrinsics they use resolved.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// Physical names the local stack gives its resources.
#[derive(Debug, Clone)]
pub struct Names {
    pub stack: String,
    pub region: String,
    pub account: String,
    pub bucket: String,
}

/// The function and state machine, resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub function_name: String,
    pub function_arn: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub ephemeral_mb: u32,
    pub environment: Vec<(String, String)>,
    pub state_machine_name: String,
    pub state_machine_arn: String,
    pub state_machine_role_arn: String,
    /// Substitutions applied.
    pub definition: Value,
    /// The EventBridge rules the local event bus runs (none without notifications).
    pub rules: Vec<crate::events::rules::Rule>,
}

/// The template with its parameters and the local physical names: what
/// intrinsics resolve against.
pub(crate) struct Ctx<'a> {
    pub(crate) template: &'a Value,
    params: HashMap<String, String>,
    names: &'a Names,
    function: String,
    function_name: String,
    state_machine: String,
    state_machine_arn: String,
}

/// The one resource of `ty` (or the one named `preferred`).
fn resource<'a>(t: &'a Value, ty: &str, preferred: &str) -> Result<(String, &'a Value)> {
    let res = t["Resources"]
        .as_object()
        .context("the template has no Resources")?;
    if let Some(r) = res.get(preferred).filter(|r| r["Type"] == ty) {
        return Ok((preferred.to_string(), r));
    }
    let all: Vec<_> = res.iter().filter(|(_, r)| r["Type"] == ty).collect();
    match all.as_slice() {
        [(id, r)] => Ok(((*id).clone(), r)),
        [] => bail!("the template has no {ty}"),
        _ => bail!("the template has several {ty} and none is named {preferred}"),
    }
}

/// The template's parameter values: deploy's resolution (every declared
/// parameter, its default unless overridden, the same refusals), so a
/// rehearsal resolves exactly what a deployment would send.
fn parameters(t: &Value, overrides: &[(String, String)]) -> Result<HashMap<String, String>> {
    Ok(hyperframes_deploy::deploy::parameters(t, overrides)?
        .into_iter()
        .collect())
}

impl Ctx<'_> {
    pub(crate) fn names(&self) -> &Names {
        self.names
    }

    /// `v` resolved to text (a string as it is, anything else as JSON).
    pub(crate) fn eval_text(&self, v: &Value) -> Result<String> {
        Ok(text(&self.eval(v)?))
    }

    /// `v` with every intrinsic inside it resolved.
    pub(crate) fn eval_deep(&self, v: &Value) -> Result<Value> {
        match v {
            Value::Object(o)
                if o.len() == 1 && o.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) =>
            {
                self.eval(v)
            }
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.eval_deep(v)?)))
                .collect::<Result<serde_json::Map<_, _>>>()
                .map(Value::Object),
            Value::Array(a) => a
                .iter()
                .map(|v| self.eval_deep(v))
                .collect::<Result<_>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    fn reference(&self, name: &str) -> Result<String> {
        let n = self.names;
        Ok(match name {
            "AWS::StackName" => n.stack.clone(),
            "AWS::Region" => n.region.clone(),
            "AWS::AccountId" => n.account.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            _ if self.params.contains_key(name) => self.params[name].clone(),
            _ if name == self.function => self.function_name.clone(),
            _ if name == self.state_machine => self.state_machine_arn.clone(),
            _ if self.template["Resources"][name]["Type"] == "AWS::S3::Bucket" => n.bucket.clone(),
            _ => bail!("cannot resolve Ref {name} locally"),
        })
    }

    fn get_att(&self, id: &str, attr: &str) -> Result<String> {
        let n = self.names;
        let ty = self.template["Resources"][id]["Type"]
            .as_str()
            .unwrap_or("");
        Ok(match (ty, attr) {
            ("AWS::Lambda::Function", "Arn") => format!(
                "arn:aws:lambda:{}:{}:function:{}",
                n.region, n.account, self.function_name
            ),
            ("AWS::IAM::Role", "Arn") => {
                format!("arn:aws:iam::{}:role/{}-{id}", n.account, n.stack)
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{}", n.bucket),
            ("AWS::StepFunctions::StateMachine", "Arn") => self.state_machine_arn.clone(),
            _ => bail!("cannot resolve Fn::GetAtt {id}.{attr} locally"),
        })
    }

    fn eval(&self, v: &Value) -> Result<Value> {
        let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
            return Ok(v.clone());
        };
        let (k, arg) = obj.iter().next().expect("one entry");
        match k.as_str() {
            "Ref" => Ok(Value::String(
                self.reference(arg.as_str().context("Ref takes a name")?)?,
            )),
            "Fn::GetAtt" => {
                let a = arg.as_array().context("Fn::GetAtt takes [id, attr]")?;
                let (id, attr) = (
                    a.first().and_then(Value::as_str).unwrap_or(""),
                    a.get(1).and_then(Value::as_str).unwrap_or(""),
                );
                Ok(Value::String(self.get_att(id, attr)?))
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) => (
                        a.first().and_then(Value::as_str).context("Fn::Sub text")?,
                        a.get(1),
                    ),
                    _ => bail!("Fn::Sub takes a string or [string, vars]"),
                };
                Ok(Value::String(self.sub(text, vars)?))
            }
            "Fn::Join" => {
                let a = arg.as_array().context("Fn::Join takes [sep, list]")?;
                let sep = a.first().and_then(Value::as_str).unwrap_or("");
                let parts = a
                    .get(1)
                    .and_then(Value::as_array)
                    .context("Fn::Join list")?
                    .iter()
                    .map(|p| self.eval(p).map(|v| text(&v)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Value::String(parts.join(sep)))
            }
            _ => Ok(v.clone()),
        }
    }

    fn sub(&self, template: &str, vars: Option<&Value>) -> Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                out.push_str("${");
                rest = lit;
                continue;
            }
            let end = after.find('}').context("Fn::Sub: an unclosed ${")?;
            let name = &after[..end];
            let value = match vars.and_then(|v| v.get(name)) {
                Some(v) => text(&self.eval(v)?),
                None => match name.split_once('.') {
                    Some((id, attr)) => self.get_att(id, attr)?,
                    None => self.reference(name)?,
                },
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value, what: &str) -> Result<u32> {
    text(v)
        .parse()
        .map_err(|_| anyhow!("{what} resolved to {v}, not a whole number"))
}

/// Resolves the render function and state machine of `template`.
pub fn resolve(
    template: &Value,
    overrides: &[(String, String)],
    names: &Names,
) -> Result<Resolved> {
    let (function, f) = resource(template, "AWS::Lambda::Function", "RenderFunction")?;
    let (state_machine, sm) = resource(
        template,
        "AWS::StepFunctions::StateMachine",
        "RenderStateMachine",
    )?;
    let mut ctx = Ctx {
        template,
        params: parameters(template, overrides)?,
        names,
        function,
        function_name: String::new(),
        state_machine,
        state_machine_arn: String::new(),
    };
    let fp = &f["Properties"];
    ctx.function_name = match fp.get("FunctionName") {
        Some(v) => text(&ctx.eval(v)?),
        None => format!("{}-{}", names.stack, ctx.function),
    };
    let smp = &sm["Properties"];
    let sm_name = match smp.get("StateMachineName") {
        Some(v) => text(&ctx.eval(v)?),
        None => format!("{}-{}", names.stack, ctx.state_machine),
    };
    ctx.state_machine_arn = format!(
        "arn:aws:states:{}:{}:stateMachine:{sm_name}",
        names.region, names.account
    );
    let memory_mb = match fp.get("MemorySize") {
        Some(v) => number(&ctx.eval(v)?, "MemorySize")?,
        None => 128,
    };
    let timeout_s = match fp.get("Timeout") {
        Some(v) => number(&ctx.eval(v)?, "Timeout")?,
        None => 3,
    };
    let ephemeral_mb = match fp["EphemeralStorage"].get("Size") {
        Some(v) => number(&ctx.eval(v)?, "EphemeralStorage.Size")?,
        None => 512,
    };
    let mut environment = Vec::new();
    if let Some(vars) = fp["Environment"]["Variables"].as_object() {
        for (k, v) in vars {
            environment.push((k.clone(), text(&ctx.eval(v)?)));
        }
    }
    let definition = definition(&ctx, smp)?;
    let role = match smp.get("RoleArn") {
        Some(v) => text(&ctx.eval(v)?),
        None => format!("arn:aws:iam::{}:role/{}-states", names.account, names.stack),
    };
    let rules = crate::events::rules::resolve(&ctx)?;
    Ok(Resolved {
        rules,
        function_arn: ctx.get_att(&ctx.function, "Arn")?,
        function_name: ctx.function_name.clone(),
        memory_mb,
        timeout_s,
        ephemeral_mb,
        environment,
        state_machine_name: sm_name,
        state_machine_arn: ctx.state_machine_arn.clone(),
        state_machine_role_arn: role,
        definition,
    })
}

/// The definition as Step Functions receives it: `Definition` (or
/// `DefinitionString`) with `DefinitionSubstitutions` applied.
fn definition(ctx: &Ctx<'_>, smp: &Value) -> Result<Value> {
    let mut text = match (smp.get("Definition"), smp.get("DefinitionString")) {
        (Some(d), _) => d.to_string(),
        (None, Some(s)) => self::text(&ctx.eval(s)?),
        (None, None) => bail!("the state machine has neither Definition nor DefinitionString"),
    };
    if let Some(subs) = smp["DefinitionSubstitutions"].as_object() {
        for (k, v) in subs {
            let value = self::text(&ctx.eval(v)?);
            // Inside the JSON text the value sits in a string literal.
            let escaped = serde_json::to_string(&value)?;
            text = text.replace(&format!("${{{k}}}"), &escaped[1..escaped.len() - 1]);
        }
    }
    serde_json::from_str(&text)
        .context("the state machine definition is not JSON after substitution")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperframes_infra::HyperframesRenderStack;

    #[test]
    fn the_default_stack_resolves_with_parameters_and_substitutions() {
        let t = HyperframesRenderStack::default()
            .synth()
            .unwrap()
            .into_json();
        let names = Names {
            stack: "s".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            bucket: "s-renderbucket-local".into(),
        };
        let r = resolve(&t, &[("LambdaMemoryMb".into(), "4096".into())], &names).unwrap();
        assert_eq!(r.function_name, "hyperframes-render");
        assert_eq!(
            r.function_arn,
            "arn:aws:lambda:eu-west-1:123456789012:function:hyperframes-render"
        );
        assert_eq!(
            (r.memory_mb, r.timeout_s, r.ephemeral_mb),
            (4096, 900, 10240)
        );
        assert!(r.environment.contains(&(
            "HYPERFRAMES_RENDER_BUCKET".into(),
            "s-renderbucket-local".into()
        )));
        assert_eq!(
            r.state_machine_arn,
            "arn:aws:states:eu-west-1:123456789012:stateMachine:hyperframes-render"
        );
        let text = r.definition.to_string();
        assert!(!text.contains("${"), "{text}");
        assert_eq!(
            r.definition["States"]["PlanV2"]["Parameters"]["FunctionName"],
            r.function_arn.as_str()
        );
        let e = resolve(&t, &[("Nope".into(), "1".into())], &names).unwrap_err();
        assert!(e.to_string().contains("Nope"), "{e}");
    }
}
