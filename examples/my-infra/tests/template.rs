//! The example's template: snapshotted, lint-clean, and carrying what the
//! example promises.

use std::process::Command;

use hyperframes_snapshots::{cfn_lint, Scratch};
use serde_json::json;

#[test]
fn template_matches_its_snapshot() {
    let t = my_infra::build().synth().unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../../snapshots/templates");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_json_snapshot!("my_infra", t.as_json()));
}

#[test]
fn cfn_lint_reports_nothing() {
    let dir = Scratch::new("my-infra-lint");
    let path = dir.path("template.json");
    std::fs::write(&path, my_infra::build().synth().unwrap().to_json_pretty()).unwrap();
    let out = Command::new(cfn_lint())
        .arg(&path)
        .args(["--include-checks", "I"])
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "cfn-lint:\n{report}"
    );
}

#[test]
fn every_alarm_notifies_the_topic_and_ci_is_least_privilege() {
    let t = my_infra::build().synth().unwrap().into_json();
    let resources = t["Resources"].as_object().unwrap();
    let alarms: Vec<_> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    assert_eq!(alarms.len(), 4);
    for (id, a) in alarms {
        assert_eq!(
            a["Properties"]["AlarmActions"],
            json!([{"Ref": "RenderAlerts"}]),
            "{id}"
        );
    }
    assert_eq!(
        t["Resources"]["RenderAlertsOnCall"]["Properties"]["Endpoint"],
        my_infra::ONCALL_EMAIL
    );
    let ci = t["Resources"]["CiRole"].to_string();
    for allowed in [
        "states:StartExecution",
        "states:GetExecutionHistory",
        "s3:GetObject",
        "kms:Decrypt",
    ] {
        assert!(ci.contains(allowed), "{allowed}");
    }
    for denied in [
        "s3:PutObject",
        "s3:DeleteObject",
        "lambda:InvokeFunction",
        "\"*\"",
    ] {
        assert!(!ci.contains(denied), "{denied} in {ci}");
    }
}

#[test]
fn renders_notify_the_backend_and_failures_page_on_call() {
    let t = my_infra::build().synth().unwrap().into_json();
    let hook = &t["Resources"]["RenderWebhookDestination"]["Properties"];
    assert_eq!(hook["InvocationEndpoint"], my_infra::WEBHOOK_URL);
    assert_eq!(t["Parameters"]["RenderWebhookApiKey"]["NoEcho"], true);
    let failures = &t["Resources"]["RenderFailuresRule"]["Properties"];
    assert_eq!(
        failures["EventPattern"]["detail"]["status"],
        json!(["FAILED", "TIMED_OUT"])
    );
    assert_eq!(
        failures["Targets"][0]["Arn"],
        json!({"Ref": "RenderAlerts"})
    );
    // The alerts topic lets EventBridge publish, for this rule only.
    let policy = &t["Resources"]["RenderAlertsPolicy"]["Properties"]["PolicyDocument"];
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!({"Fn::GetAtt": ["RenderFailuresRule", "Arn"]})
    );
}

#[test]
fn main_prints_the_template() {
    let out = Command::new(env!("CARGO_BIN_EXE_my-infra"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, my_infra::build().synth().unwrap().into_json());
}
