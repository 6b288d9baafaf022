//! The template's `AWS::Events::Rule`s as the local event bus runs them:
//! patterns with their intrinsics resolved, and each target turned into a
//! delivery the rehearsal can make on this machine (a queue or topic in
//! moto, a webhook on loopback). What it cannot rehearse (a Lambda target,
//! a key in Secrets Manager, a webhook elsewhere) is refused when the stack
//! comes up, every problem at once, rather than dropped.

use anyhow::{bail, Result};
use serde_json::Value;

use super::deliver::LoopbackUrl;
use super::pattern::Pattern;
use super::transform::{RuleFacts, TargetInput};
use crate::template::Ctx;

/// Retries after a failed delivery, at most (EventBridge's default is 185
/// over 24 hours; a rehearsal wants the outcome in seconds).
pub const LOCAL_RETRIES: u32 = 2;

/// One enabled rule on the default bus.
#[derive(Debug, Clone)]
pub struct Rule {
    pub logical_id: String,
    pub facts: RuleFacts,
    pub pattern: Pattern,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub delivery: Delivery,
    pub input: TargetInput,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The dead-letter queue's name in moto.
    pub dead_letter: Option<String>,
}

/// Where a target's input goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// A queue in moto; `stands_in` is the ARN of a queue outside the
    /// template, which the rehearsal creates under the same name.
    Queue {
        name: String,
        stands_in: Option<String>,
    },
    /// A topic in moto, likewise.
    Topic {
        name: String,
        stands_in: Option<String>,
    },
    /// An API destination on loopback, with its connection's headers.
    Webhook {
        url: LoopbackUrl,
        method: String,
        headers: Vec<(String, String)>,
    },
}

const TARGET_KEYS: [&str; 9] = [
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "RetryPolicy",
    "DeadLetterConfig",
    "HttpParameters",
];

/// The rules the bus matches status events against; every problem at once.
pub(crate) fn resolve(ctx: &Ctx<'_>) -> Result<Vec<Rule>> {
    let (mut rules, mut problems) = (Vec::new(), Vec::new());
    let Some(resources) = ctx.template["Resources"].as_object() else {
        return Ok(rules);
    };
    for (id, r) in resources {
        let p = &r["Properties"];
        let on_default_bus = p["EventBusName"].as_str().is_none_or(|b| b == "default");
        if r["Type"] != "AWS::Events::Rule"
            || p["State"] == "DISABLED"
            || p.get("EventPattern").is_none()
            || !on_default_bus
        {
            continue;
        }
        match rule(ctx, id, p) {
            Ok(rule) => rules.push(rule),
            Err(mut e) => problems.append(&mut e),
        }
    }
    if !problems.is_empty() {
        bail!(
            "the template's notification rules cannot be rehearsed:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(rules)
}

fn rule(ctx: &Ctx<'_>, id: &str, p: &Value) -> Result<Rule, Vec<String>> {
    let mut problems = Vec::new();
    let n = ctx.names();
    let name = match p.get("Name") {
        Some(v) => ctx
            .eval_text(v)
            .map_err(|e| vec![format!("{id}.Name: {e:#}")])?,
        None => truncated(format!("{}-{id}", n.stack), 64),
    };
    let facts = RuleFacts {
        arn: format!("arn:aws:events:{}:{}:rule/{name}", n.region, n.account),
        name,
    };
    let pattern = match ctx.eval_deep(&p["EventPattern"]) {
        Ok(v) => Pattern::parse(&v).map_err(|e| format!("{id}: {e}")),
        Err(e) => Err(format!("{id}.EventPattern: {e:#}")),
    };
    let mut targets = Vec::new();
    for (i, t) in p["Targets"].as_array().into_iter().flatten().enumerate() {
        match target(ctx, t) {
            Ok(t) => targets.push(t),
            Err(e) => problems.push(format!("{id}.Targets.{i}: {e}")),
        }
    }
    match pattern {
        Ok(pattern) if problems.is_empty() => Ok(Rule {
            logical_id: id.to_string(),
            facts,
            pattern,
            targets,
        }),
        Ok(_) => Err(problems),
        Err(e) => {
            problems.insert(0, e);
            Err(problems)
        }
    }
}

fn target(ctx: &Ctx<'_>, t: &Value) -> Result<Target, String> {
    let mut keys = t.as_object().ok_or("a target is an object")?.keys();
    if let Some(k) = keys.find(|k| !TARGET_KEYS.contains(&k.as_str())) {
        return Err(format!("{k} is not rehearsed by the local event bus"));
    }
    let delivery = delivery(ctx, &t["Arn"], &t["HttpParameters"])?;
    let input_fields: serde_json::Map<String, Value> = ["Input", "InputPath", "InputTransformer"]
        .into_iter()
        .filter_map(|k| t.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let input_fields = ctx
        .eval_deep(&Value::Object(input_fields))
        .map_err(|e| format!("{e:#}"))?;
    let input = TargetInput::from_target(&input_fields)?;
    let dead_letter = match t["DeadLetterConfig"].get("Arn") {
        Some(arn) => match delivery_of_arn(ctx, arn)? {
            Delivery::Queue { name, .. } => Some(name),
            _ => return Err("DeadLetterConfig.Arn is not an SQS queue".into()),
        },
        None => None,
    };
    let retries = t["RetryPolicy"]["MaximumRetryAttempts"]
        .as_u64()
        .map_or(LOCAL_RETRIES, |n| (n as u32).min(LOCAL_RETRIES));
    Ok(Target {
        id: t["Id"].as_str().unwrap_or("").to_string(),
        delivery,
        input,
        retries,
        dead_letter,
    })
}

fn delivery(ctx: &Ctx<'_>, arn: &Value, http: &Value) -> Result<Delivery, String> {
    let d = delivery_of_arn(ctx, arn)?;
    let Delivery::Webhook {
        url,
        method,
        mut headers,
    } = d
    else {
        return Ok(d);
    };
    if let Some(h) = http.as_object() {
        if let Some(k) = h.keys().find(|k| *k != "HeaderParameters") {
            return Err(format!(
                "HttpParameters.{k} is not rehearsed by the local event bus"
            ));
        }
        for (k, v) in h["HeaderParameters"].as_object().into_iter().flatten() {
            let v = ctx.eval_text(v).map_err(|e| format!("{e:#}"))?;
            headers.push((k.clone(), v));
        }
    }
    Ok(Delivery::Webhook {
        url,
        method,
        headers,
    })
}

/// `{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}`: the resource named.
fn referenced(v: &Value) -> Option<&str> {
    v.get("Ref")
        .and_then(Value::as_str)
        .or_else(|| v.get("Fn::GetAtt").and_then(|a| a[0].as_str()))
}

fn delivery_of_arn(ctx: &Ctx<'_>, arn: &Value) -> Result<Delivery, String> {
    if let Some(id) = referenced(arn) {
        let r = &ctx.template["Resources"][id];
        return match r["Type"].as_str().unwrap_or("") {
            "AWS::SQS::Queue" => Ok(Delivery::Queue {
                name: physical_name(ctx, id, "QueueName", 80)?,
                stands_in: None,
            }),
            "AWS::SNS::Topic" => Ok(Delivery::Topic {
                name: physical_name(ctx, id, "TopicName", 256)?,
                stands_in: None,
            }),
            "AWS::Events::ApiDestination" => webhook(ctx, id, &r["Properties"]),
            other => Err(format!(
                "the target {id} ({other}) is not rehearsed: the local event bus delivers to SQS queues, SNS topics and webhooks on this machine"
            )),
        };
    }
    let text = ctx.eval_text(arn).map_err(|e| format!("Arn: {e:#}"))?;
    let name = text.rsplit(':').next().unwrap_or("").to_string();
    match text.split(':').nth(2) {
        Some("sqs") => Ok(Delivery::Queue { name, stands_in: Some(text) }),
        Some("sns") => Ok(Delivery::Topic { name, stands_in: Some(text) }),
        _ => Err(format!(
            "the target {text} is not rehearsed: the local event bus delivers to SQS queues, SNS topics and webhooks on this machine"
        )),
    }
}

fn webhook(ctx: &Ctx<'_>, id: &str, p: &Value) -> Result<Delivery, String> {
    let url = ctx
        .eval_text(&p["InvocationEndpoint"])
        .map_err(|e| format!("{id}.InvocationEndpoint: {e:#}"))?;
    let url = LoopbackUrl::parse(&url).map_err(|e| format!("{id}: {e}"))?;
    let conn_id = referenced(&p["ConnectionArn"])
        .ok_or_else(|| format!("{id}.ConnectionArn does not name a connection in the template"))?;
    let c = &ctx.template["Resources"][conn_id]["Properties"];
    if c["AuthorizationType"] != "API_KEY" {
        return Err(format!(
            "{conn_id}: only API_KEY connections are rehearsed, not {}",
            c["AuthorizationType"]
        ));
    }
    let auth = &c["AuthParameters"]["ApiKeyAuthParameters"];
    let header = auth["ApiKeyName"].as_str().unwrap_or("").to_string();
    let key = ctx
        .eval_text(&auth["ApiKeyValue"])
        .map_err(|e| format!("{conn_id}.ApiKeyValue: {e:#}"))?;
    if key.starts_with("{{resolve:") {
        return Err(format!(
            "{conn_id}: the API key comes from Secrets Manager ({key}), which the rehearsal cannot read; give it as a NoEcho parameter instead (synth without --notify-webhook-secret, then local-stack up --parameter-overrides <Name>ApiKey=KEY)"
        ));
    }
    Ok(Delivery::Webhook {
        url,
        method: p["HttpMethod"].as_str().unwrap_or("POST").to_string(),
        headers: vec![(header, key)],
    })
}

/// The resource's name property, or the `<stack>-<LogicalId>` a local
/// stack gives it (CloudFormation adds a random suffix too).
fn physical_name(ctx: &Ctx<'_>, id: &str, prop: &str, max: usize) -> Result<String, String> {
    match ctx.template["Resources"][id]["Properties"].get(prop) {
        Some(v) => ctx.eval_text(v).map_err(|e| format!("{id}.{prop}: {e:#}")),
        None => Ok(truncated(format!("{}-{id}", ctx.names().stack), max)),
    }
}

fn truncated(mut s: String, max: usize) -> String {
    s.truncate(max);
    s
}

impl Delivery {
    /// For `up`'s summary and the delivery log.
    pub fn describe(&self) -> String {
        match self {
            Delivery::Queue {
                name,
                stands_in: None,
            } => format!("SQS queue {name}"),
            Delivery::Queue {
                name,
                stands_in: Some(arn),
            } => {
                format!("SQS queue {name} (standing in for {arn})")
            }
            Delivery::Topic {
                name,
                stands_in: None,
            } => format!("SNS topic {name}"),
            Delivery::Topic {
                name,
                stands_in: Some(arn),
            } => {
                format!("SNS topic {name} (standing in for {arn})")
            }
            Delivery::Webhook { url, method, .. } => format!("webhook {method} {}", url.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{resolve as resolve_template, Names};
    use hyperframes_infra::notifications::{Destination, Webhook, WebhookSecret};
    use hyperframes_infra::resources::lambda::{Code, Function};
    use hyperframes_infra::{HyperframesRenderStack, Stack};
    use serde_json::json;

    fn names() -> Names {
        Names {
            stack: "s".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            bucket: "s-renderbucket-local".into(),
        }
    }

    /// The webhook URL as local-stack puts it back after synth.
    fn plain_http(mut t: Value, id: &str, url: &str) -> Value {
        t["Resources"][id]["Properties"]["InvocationEndpoint"] = json!(url);
        t
    }

    #[test]
    fn the_default_stack_has_no_rules() {
        let t = HyperframesRenderStack::default()
            .synth()
            .unwrap()
            .into_json();
        assert!(resolve_template(&t, &[], &names())
            .unwrap()
            .rules
            .is_empty());
    }

    #[test]
    fn queue_and_webhook_notifications_resolve_to_local_deliveries() {
        let mut stack = HyperframesRenderStack::default();
        let arn = "arn:aws:sqs:us-east-1:111122223333:render-events";
        stack.notify_on_completion("NotifyQueue", Destination::ExistingQueue(arn.into()));
        stack.notify_on_completion(
            "NotifyWebhook",
            Destination::webhook("https://127.0.0.1:9/hook", "X-Api-Key"),
        );
        let t = plain_http(
            stack.synth().unwrap().into_json(),
            "NotifyWebhookDestination",
            "http://127.0.0.1:9/hook",
        );
        let key = [("NotifyWebhookApiKey".to_string(), "k-123".to_string())];
        let r = resolve_template(&t, &key, &names()).unwrap();
        let [queue, hook] = r.rules.as_slice() else {
            panic!("{:#?}", r.rules)
        };
        assert_eq!(queue.logical_id, "NotifyQueueRule");
        assert_eq!(
            queue.facts.arn,
            "arn:aws:events:us-east-1:123456789012:rule/s-NotifyQueueRule"
        );
        let q = &queue.targets[0];
        assert_eq!(
            q.delivery,
            Delivery::Queue {
                name: "render-events".into(),
                stands_in: Some(arn.into())
            }
        );
        assert_eq!(
            q.dead_letter.as_deref(),
            Some("s-NotifyQueueDeadLetterQueue")
        );
        assert_eq!(q.retries, LOCAL_RETRIES);
        assert!(matches!(q.input, TargetInput::Transformer { .. }));
        let Delivery::Webhook {
            url,
            method,
            headers,
        } = &hook.targets[0].delivery
        else {
            panic!("{:?}", hook.targets[0].delivery)
        };
        assert_eq!(
            (url.text.as_str(), method.as_str()),
            ("http://127.0.0.1:9/hook", "POST")
        );
        assert_eq!(headers, &[("X-Api-Key".to_string(), "k-123".to_string())]);
        let event = json!({
            "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
            "detail": {"status": "SUCCEEDED", "stateMachineArn": r.state_machine_arn}
        });
        assert!(queue.pattern.matches(&event) && hook.pattern.matches(&event));
    }

    #[test]
    fn what_cannot_be_rehearsed_is_refused_all_at_once() {
        let mut stack = HyperframesRenderStack::default();
        let role = stack.function_role();
        let f = stack.add("OnDone", Function::new(Code::s3("b", "k.zip"), role.arn()));
        stack.notify_on_completion("ToFunction", Destination::Function(f));
        stack.notify_on_completion(
            "Secret",
            Destination::Webhook(Webhook::new("https://127.0.0.1:9/h", "X-Api-Key").secret(
                WebhookSecret::SecretsManager {
                    secret_id: "hooks".into(),
                    json_key: None,
                },
            )),
        );
        stack.notify_on_completion(
            "Elsewhere",
            Destination::webhook("https://hooks.example.com/h", "X-Api-Key"),
        );
        let t = stack.synth().unwrap().into_json();
        let t = plain_http(t, "SecretDestination", "http://127.0.0.1:9/h");
        let e = format!(
            "{:#}",
            resolve_template(&t, &[("ElsewhereApiKey".into(), "k".into())], &names()).unwrap_err()
        );
        assert!(e.contains("ToFunctionRule.Targets.0: the target OnDone (AWS::Lambda::Function) is not rehearsed"), "{e}");
        assert!(
            e.contains("SecretConnection: the API key comes from Secrets Manager"),
            "{e}"
        );
        assert!(e.contains("ElsewhereDestination: `https://hooks.example.com/h` is not a plain-HTTP URL on this machine"), "{e}");
    }
}
