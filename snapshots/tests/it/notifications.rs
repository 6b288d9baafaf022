//! Completion notifications: one template per destination kind,
//! snapshotted and linted; the rule's event pattern evaluated by moto's
//! EventBridge against Step Functions status events; the payload's
//! template checked against the documented shape; synth's refusals.

use std::process::Command;

use hyperframes_infra::notifications::{
    event_pattern, payload_transformer, Destination, ExecutionStatus,
};
use hyperframes_infra::resources::sns::Topic;
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_infra::Stack;
use hyperframes_snapshots::{lint_all, notification_variants, venv_python, webhook_stack, Scratch};
use serde_json::{json, Value};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../../templates");
    s.set_prepend_module_to_snapshot(false);
    s
}

fn resources_of_type<'a>(t: &'a Value, ty: &str) -> Vec<&'a str> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(k, _)| k.as_str())
        .collect()
}

#[test]
fn every_destination_kind_matches_its_snapshot_and_lints_clean() {
    let dir = Scratch::new("notify-lint");
    let mut paths = Vec::new();
    for (name, stack) in notification_variants() {
        let t = stack.synth().unwrap_or_else(|e| panic!("{name}: {e}"));
        settings().bind(|| insta::assert_json_snapshot!(name, t.as_json()));
        let path = dir.path(&format!("{name}.json"));
        std::fs::write(&path, t.to_json_pretty()).unwrap();
        paths.push(path);
    }
    let (code, report) = lint_all(&paths);
    assert!(code == 0 && report.trim().is_empty(), "cfn-lint:\n{report}");
}

#[test]
fn each_destination_gets_its_permission_retries_and_dead_letter_queue() {
    for (name, stack) in notification_variants() {
        let t = stack.synth().unwrap().into_json();
        let rules = resources_of_type(&t, "AWS::Events::Rule");
        assert_eq!(rules.len(), 1, "{name}");
        let rule = &t["Resources"][rules[0]]["Properties"];
        let target = &rule["Targets"][0];
        assert_eq!(target["RetryPolicy"]["MaximumRetryAttempts"], 185, "{name}");
        assert_eq!(
            target["RetryPolicy"]["MaximumEventAgeInSeconds"], 86400,
            "{name}"
        );
        let dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        assert_eq!(t["Resources"][dlq]["Type"], "AWS::SQS::Queue", "{name}");
        // Every resource policy names events.amazonaws.com and this rule only.
        let scoped = json!({"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rules[0], "Arn"]}}});
        for ty in ["AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"] {
            for id in resources_of_type(&t, ty) {
                for s in t["Resources"][id]["Properties"]["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap()
                {
                    assert_eq!(s["Principal"], json!({"Service": "events.amazonaws.com"}));
                    assert_eq!(s["Condition"], scoped, "{name} {id}");
                }
            }
        }
        let expected_policy = match name {
            "notify_topic" => Some("AWS::SNS::TopicPolicy"),
            "notify_queue" => Some("AWS::SQS::QueuePolicy"),
            "notify_function" => Some("AWS::Lambda::Permission"),
            _ => None,
        };
        if let Some(ty) = expected_policy {
            assert!(!resources_of_type(&t, ty).is_empty(), "{name} lacks {ty}");
        }
        if name.starts_with("notify_webhook") {
            let role = target["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
            let stmt = &t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
                ["Statement"][0];
            assert_eq!(stmt["Action"], "events:InvokeApiDestination");
            assert_eq!(stmt["Resource"], target["Arn"], "{name}");
            let conn = resources_of_type(&t, "AWS::Events::Connection")[0];
            assert_eq!(
                t["Resources"][conn]["Properties"]["AuthorizationType"],
                "API_KEY"
            );
        }
        if name == "notify_function" {
            let p = resources_of_type(&t, "AWS::Lambda::Permission")[0];
            let p = &t["Resources"][p]["Properties"];
            assert_eq!(p["Principal"], "events.amazonaws.com");
            assert_eq!(p["SourceArn"], json!({"Fn::GetAtt": [rules[0], "Arn"]}));
        }
    }
}

#[test]
fn the_webhook_key_is_a_no_echo_parameter_and_never_a_literal() {
    let t = webhook_stack().synth().unwrap().into_json();
    let p = &t["Parameters"]["RenderWebhookApiKey"];
    assert_eq!(p["NoEcho"], true);
    assert_eq!(
        t["Resources"]["RenderWebhookConnection"]["Properties"]["AuthParameters"]
            ["ApiKeyAuthParameters"],
        json!({"ApiKeyName": "X-Api-Key", "ApiKeyValue": {"Ref": "RenderWebhookApiKey"}})
    );
    // A literal key (through an override) is refused, as is plain HTTP.
    let mut stack = webhook_stack();
    let conn = stack.notify_on_completion(
        "Second",
        Destination::webhook("http://hooks.example.com/insecure", "X-Api-Key"),
    );
    stack.add_property_override(
        &conn.connection.unwrap(),
        "AuthParameters.ApiKeyAuthParameters.ApiKeyValue",
        json!("hunter2"),
    );
    let e = stack.synth().unwrap_err().to_string();
    assert!(
        e.contains("SecondConnection") && e.contains("plain text"),
        "{e}"
    );
    assert!(
        e.contains("SecondDestination") && e.contains("not an https:// URL"),
        "{e}"
    );
}

#[test]
fn two_notifications_on_one_topic_share_its_policy() {
    let mut stack = HyperframesRenderStack::default();
    let topic = stack.add("Renders", Topic::default());
    stack.notify_on_completion("Done", Destination::Topic(topic.clone()));
    stack.notify_on_completion(
        "Failures",
        hyperframes_infra::notifications::Notification::to(Destination::Topic(topic))
            .on([ExecutionStatus::Failed]),
    );
    let t = stack.synth().unwrap().into_json();
    let policies = resources_of_type(&t, "AWS::SNS::TopicPolicy");
    assert_eq!(policies, vec!["RendersPolicy"]);
    let statements = &t["Resources"]["RendersPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_array().unwrap().len(), 2);
}

#[test]
fn notifications_shrink_the_execution_output_to_the_result() {
    let t = webhook_stack().synth().unwrap();
    let d = t.definition("RenderStateMachine").unwrap();
    assert_eq!(d["States"]["AssembleV2"]["OutputPath"], "$.Output");
    assert_eq!(d["States"]["Assemble"]["OutputPath"], "$.Output");
    let plain = HyperframesRenderStack::default().synth().unwrap();
    assert!(
        plain.definition("RenderStateMachine").unwrap()["States"]["AssembleV2"]
            .get("OutputPath")
            .is_none()
    );
}

/// A Step Functions status event as EventBridge delivers it (the shape AWS
/// documents for `Step Functions Execution Status Change`).
fn status_event(state_machine: &str, status: &str) -> Value {
    let execution = format!(
        "{}:hf-20260101-120000-ab12cd",
        state_machine.replace(":stateMachine:", ":execution:")
    );
    let succeeded = status == "SUCCEEDED";
    let failed = status == "FAILED";
    json!({
        "version": "0",
        "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-01-01T12:01:01Z",
        "region": "us-east-1",
        "resources": [execution],
        "detail": {
            "executionArn": execution,
            "stateMachineArn": state_machine,
            "name": "hf-20260101-120000-ab12cd",
            "status": status,
            "startDate": 1767268800000u64,
            "stopDate": if status == "RUNNING" { Value::Null } else { json!(1767268861234u64) },
            "input": "{\"Config\":{}}",
            "output": if succeeded { json!("{\"OutputS3Uri\":\"s3://b/outputs/r.mp4\",\"FramesEncoded\":60,\"FileSize\":1234}") } else { Value::Null },
            "inputDetails": {"included": true},
            "outputDetails": if succeeded { json!({"included": true}) } else { Value::Null },
            "error": if failed { json!("FONT_FETCH_FAILED") } else { Value::Null },
            "cause": if failed { json!("no font for \"Space Mono\"") } else { Value::Null },
        }
    })
}

const OURS: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:hyperframes-render";
const OTHER: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:someone-else";

#[test]
fn the_rule_pattern_matches_our_terminal_events_in_moto() {
    // The pattern as synthesized, with the state machine's Ref resolved.
    let t = webhook_stack().synth().unwrap().into_json();
    let mut pattern = t["Resources"]["RenderWebhookRule"]["Properties"]["EventPattern"].clone();
    assert_eq!(
        pattern["detail"]["stateMachineArn"],
        json!([{"Ref": "RenderStateMachine"}])
    );
    pattern["detail"]["stateMachineArn"] = json!([OURS]);
    let mut cases = Vec::new();
    for status in ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "RUNNING"] {
        cases.push((OURS, status, status != "RUNNING"));
        cases.push((OTHER, status, false));
    }
    let events: Vec<Value> = cases.iter().map(|(sm, s, _)| status_event(sm, s)).collect();
    let dir = Scratch::new("pattern");
    let spec = dir.path("spec.json");
    std::fs::write(
        &spec,
        json!({"pattern": pattern, "events": events}).to_string(),
    )
    .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events/match.py");
    let out = Command::new(venv_python())
        .arg(script)
        .arg(&spec)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "match.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let delivered: Vec<bool> = serde_json::from_slice(&out.stdout).expect("match.py prints JSON");
    for ((sm, status, want), got) in cases.iter().zip(&delivered) {
        assert_eq!(got, want, "{status} from {sm}");
    }
    // Narrower rules match only what they name.
    let failures = event_pattern("arn:x".into(), &[ExecutionStatus::Failed]);
    assert_eq!(
        serde_json::to_value(failures).unwrap()["detail"]["status"],
        json!(["FAILED"])
    );
}

/// EventBridge's documented substitution in a JSON template: a placeholder
/// in value position becomes the value as JSON (strings quoted and
/// escaped, numbers and null as they are).
fn substitute(template: &str, paths: &Value, event: &Value) -> String {
    let mut out = template.to_string();
    for (name, path) in paths.as_object().unwrap() {
        let mut v = event;
        for key in path.as_str().unwrap().trim_start_matches("$.").split('.') {
            v = &v[key];
        }
        out = out.replace(&format!("<{name}>"), &v.to_string());
    }
    out
}

#[test]
fn the_payload_is_the_documented_json_for_every_ending() {
    let tr = serde_json::to_value(payload_transformer()).unwrap();
    let template = tr["InputTemplate"].as_str().unwrap();
    let paths = &tr["InputPathsMap"];
    for status in ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] {
        let event = status_event(OURS, status);
        let payload: Value = serde_json::from_str(&substitute(template, paths, &event))
            .unwrap_or_else(|e| panic!("{status}: the payload is not JSON: {e}"));
        let keys: Vec<&str> = payload
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "version",
                "renderId",
                "status",
                "executionArn",
                "stateMachineArn",
                "startDate",
                "stopDate",
                "error",
                "cause",
                "output"
            ],
            "{status}"
        );
        assert_eq!(payload["version"], "1");
        assert_eq!(payload["renderId"], "hf-20260101-120000-ab12cd");
        assert_eq!(payload["status"], status);
        assert_eq!(payload["startDate"], 1767268800000u64);
        if status == "SUCCEEDED" {
            let output: Value = serde_json::from_str(payload["output"].as_str().unwrap()).unwrap();
            assert_eq!(output["OutputS3Uri"], "s3://b/outputs/r.mp4");
            assert_eq!(payload["error"], Value::Null);
        }
        if status == "FAILED" {
            assert_eq!(payload["error"], "FONT_FETCH_FAILED");
            assert_eq!(payload["cause"], "no font for \"Space Mono\"");
            assert_eq!(payload["output"], Value::Null);
        }
    }
}
