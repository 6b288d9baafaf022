//! Extending the stack as a user's infra crate does: handles, grants,
//! metrics and alarms, encryption, and the escape hatches.

use hyperframes_infra::resources::cloudwatch::ComparisonOperator;
use hyperframes_infra::resources::iam::{Principal, Role};
use hyperframes_infra::resources::kms::Key;
use hyperframes_infra::resources::raw::Raw;
use hyperframes_infra::resources::sns::{Endpoint, Subscription, Topic};
use hyperframes_infra::{
    BucketEncryptionProps, HyperframesRenderStack, KmsKey, Pseudo, RenderStackProps, Stack,
};
use serde_json::{json, Value};

fn statements(t: &Value, role: &str) -> Vec<Value> {
    t["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn handles_produce_typed_intrinsics() {
    let s = HyperframesRenderStack::default();
    let j = |v: hyperframes_infra::Value<String>| serde_json::to_value(v).unwrap();
    assert_eq!(j(s.bucket().name()), json!({"Ref": "RenderBucket"}));
    assert_eq!(
        j(s.bucket().arn()),
        json!({"Fn::GetAtt": ["RenderBucket", "Arn"]})
    );
    assert_eq!(
        j(s.render_function().arn()),
        json!({"Fn::GetAtt": ["RenderFunction", "Arn"]})
    );
    assert_eq!(
        j(s.state_machine().arn()),
        json!({"Ref": "RenderStateMachine"})
    );
    assert_eq!(
        j(s.state_machine().name()),
        json!({"Fn::GetAtt": ["RenderStateMachine", "Name"]})
    );
    assert_eq!(
        j(s.log_group().arn()),
        json!({"Fn::GetAtt": ["RenderStateMachineLogGroup", "Arn"]})
    );
    assert_eq!(
        j(s.function_role().arn()),
        json!({"Fn::GetAtt": ["RenderFunctionRole", "Arn"]})
    );
    assert_eq!(
        s.state_machine_role().logical_id(),
        "RenderStateMachineRole"
    );
    assert_eq!(
        s.alarms().map(|a| a.logical_id().to_string()),
        [
            "RenderChunkInvocationAlarm",
            "RenderFunctionErrorsAlarm",
            "RenderStateMachineFailedAlarm",
        ]
    );
}

#[test]
fn grants_for_a_ci_role() {
    let mut s = HyperframesRenderStack::default();
    let ci = s.add(
        "CiRole",
        Role::assumed_by(Principal::account(Pseudo::AccountId)),
    );
    let (sm, bucket, f) = (s.state_machine(), s.bucket(), s.render_function());
    sm.grant_start_execution(&mut s, &ci);
    sm.grant_read_executions(&mut s, &ci);
    sm.grant_stop_execution(&mut s, &ci);
    bucket.grant_read(&mut s, &ci);
    bucket.grant_put(&mut s, &ci);
    f.grant_invoke(&mut s, &ci);
    let t = s.synth().unwrap().into_json();
    let st = statements(&t, "CiRole");
    let find = |action: &str| {
        st.iter()
            .find(|s| s["Action"].to_string().contains(action))
            .unwrap_or_else(|| panic!("{action} missing: {st:#?}"))
    };
    assert_eq!(
        find("states:StartExecution")["Resource"],
        json!({"Ref": "RenderStateMachine"})
    );
    assert!(find("states:GetExecutionHistory")["Resource"]
        .to_string()
        .contains(":execution:${RenderStateMachine.Name}:*"));
    assert_eq!(
        find("s3:GetObject")["Resource"],
        json!({"Fn::Sub": "${RenderBucket.Arn}/*"})
    );
    assert_eq!(
        find("s3:PutObject")["Resource"],
        json!({"Fn::Sub": "${RenderBucket.Arn}/*"})
    );
    assert_eq!(
        find("lambda:InvokeFunction")["Resource"],
        json!({"Fn::GetAtt": ["RenderFunction", "Arn"]})
    );
    assert!(
        st.iter().all(|s| s["Resource"] != "*"),
        "no wildcard resources"
    );
    let names: Vec<&str> = t["Resources"]["CiRole"]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["PolicyName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "RenderStateMachineAccess",
            "RenderBucketAccess",
            "RenderFunctionAccess"
        ]
    );
    // Only read: no delete for CI.
    assert!(!t["Resources"]["CiRole"]
        .to_string()
        .contains("s3:DeleteObject"));
}

#[test]
fn service_invoke_goes_through_a_permission() {
    let mut s = HyperframesRenderStack::default();
    let topic = s.add("Alerts", Topic::default());
    let f = s.render_function();
    let p = f.grant_invoke_by_service(
        &mut s,
        "AlertsInvoke",
        "sns.amazonaws.com",
        Some(topic.arn()),
    );
    let t = s.synth().unwrap().into_json();
    let perm = &t["Resources"][p.logical_id()];
    assert_eq!(perm["Type"], "AWS::Lambda::Permission");
    assert_eq!(perm["Properties"]["Principal"], "sns.amazonaws.com");
    assert_eq!(perm["Properties"]["SourceArn"], json!({"Ref": "Alerts"}));
}

#[test]
fn alarms_notify_a_topic_and_metrics_build_alarms() {
    let mut s = HyperframesRenderStack::default();
    let alerts = s.add("RenderAlerts", Topic::default());
    s.add(
        "OnCall",
        Subscription::new(&alerts, Endpoint::Email("oncall@example.com".into())),
    );
    for a in s.alarms() {
        s.get_mut(&a).add_alarm_action(alerts.arn());
        s.get_mut(&a).add_alarm_action(alerts.arn());
    }
    let slow = s
        .render_function()
        .metric_duration()
        .p95()
        .alarm(600_000.0, ComparisonOperator::GreaterThanThreshold, 3)
        .named("slow-renders")
        .with_action(alerts.arn());
    s.add("SlowRenders", slow);
    let timed_out = s.state_machine().metric_timed_out().alarm(
        1u32,
        ComparisonOperator::GreaterThanOrEqualToThreshold,
        1,
    );
    s.add("TimedOut", timed_out);
    let t = s.synth().unwrap().into_json();
    for a in [
        "RenderChunkInvocationAlarm",
        "RenderFunctionErrorsAlarm",
        "RenderStateMachineFailedAlarm",
    ] {
        assert_eq!(
            t["Resources"][a]["Properties"]["AlarmActions"],
            json!([{"Ref": "RenderAlerts"}]),
            "{a}"
        );
    }
    let slow = &t["Resources"]["SlowRenders"]["Properties"];
    assert_eq!(slow["ExtendedStatistic"], "p95");
    assert!(slow.get("Statistic").is_none());
    assert_eq!(slow["MetricName"], "Duration");
    assert_eq!(slow["Threshold"], 600000);
    assert_eq!(slow["EvaluationPeriods"], 3);
    let sub = &t["Resources"]["OnCall"]["Properties"];
    assert_eq!(sub["Protocol"], "email");
    assert_eq!(sub["TopicArn"], json!({"Ref": "RenderAlerts"}));
    assert_eq!(
        t["Resources"]["TimedOut"]["Properties"]["MetricName"],
        "ExecutionsTimedOut"
    );
}

#[test]
fn kms_encryption_created_by_the_stack() {
    let s = HyperframesRenderStack::new(
        RenderStackProps::default().encryption(BucketEncryptionProps::Kms(KmsKey::Create)),
    );
    let t = s.synth().unwrap().into_json();
    assert_eq!(t["Resources"]["RenderBucketKey"]["Type"], "AWS::KMS::Key");
    assert_eq!(
        t["Resources"]["RenderBucketKey"]["Properties"]["EnableKeyRotation"],
        true
    );
    assert_eq!(
        t["Resources"]["RenderBucketKey"]["DeletionPolicy"],
        "Retain"
    );
    let sse = &t["Resources"]["RenderBucket"]["Properties"]["BucketEncryption"]
        ["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"],
        json!({"Fn::GetAtt": ["RenderBucketKey", "Arn"]})
    );
    assert_eq!(sse["BucketKeyEnabled"], true);
    let st = statements(&t, "RenderFunctionRole");
    let kms = st
        .iter()
        .find(|s| s["Action"].to_string().contains("kms:Decrypt"))
        .expect("function may decrypt");
    assert!(kms["Action"].to_string().contains("kms:GenerateDataKey"));
    assert_eq!(
        kms["Resource"],
        json!({"Fn::GetAtt": ["RenderBucketKey", "Arn"]})
    );
}

#[test]
fn kms_encryption_with_a_users_key_extends_later_grants() {
    let mut s = HyperframesRenderStack::default();
    let key = s.add("MyKey", Key::default());
    s.encrypt_bucket_with(&key);
    let ci = s.add(
        "CiRole",
        Role::assumed_by(Principal::account(Pseudo::AccountId)),
    );
    let b = s.bucket();
    b.grant_read(&mut s, &ci);
    let t = s.synth().unwrap().into_json();
    let st = statements(&t, "CiRole");
    let kms = st
        .iter()
        .find(|s| s["Action"] == "kms:Decrypt")
        .expect("reader may decrypt");
    assert_eq!(kms["Resource"], json!({"Fn::GetAtt": ["MyKey", "Arn"]}));
}

#[test]
fn kms_encryption_with_an_existing_key_arn() {
    let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let s = HyperframesRenderStack::new(
        RenderStackProps::default()
            .encryption(BucketEncryptionProps::Kms(KmsKey::Existing(arn.into()))),
    );
    let t = s.synth().unwrap().into_json();
    assert!(t["Resources"].get("RenderBucketKey").is_none());
    assert!(statements(&t, "RenderFunctionRole")
        .iter()
        .any(|s| s["Resource"] == arn));

    let bad = HyperframesRenderStack::new(RenderStackProps::default().encryption(
        BucketEncryptionProps::Kms(KmsKey::Existing("alias/renders".into())),
    ));
    let e = bad.synth().unwrap_err();
    assert_eq!(e.0[0].property, "encryption");
    assert!(e.0[0].message.contains("not a KMS key ARN"));
}

#[test]
fn raw_resources_and_overrides() {
    let mut s = HyperframesRenderStack::default();
    let table = s.add(
        "Jobs",
        Raw::new(
            "AWS::DynamoDB::Table",
            json!({"BillingMode": "PAY_PER_REQUEST"}),
        ),
    );
    let f = s.render_function();
    s.add_property_override(
        &f,
        "Environment.Variables.JOBS_TABLE",
        serde_json::to_value(table.reference()).unwrap(),
    );
    s.add_property_override(
        &f,
        "Properties.Layers",
        json!(["arn:aws:lambda:us-east-1:123456789012:layer:x:1"]),
    );
    s.add_override(&f, "Metadata.Owner", json!("platform"));
    s.add_deletion_override(&f, "Properties.TracingConfig");
    s.add_property_override(&f, "Tags.1.Value", json!("renderer"));
    let t = s.synth().unwrap().into_json();
    let r = &t["Resources"]["RenderFunction"];
    assert_eq!(
        r["Properties"]["Environment"]["Variables"]["JOBS_TABLE"],
        json!({"Ref": "Jobs"})
    );
    assert_eq!(
        r["Properties"]["Environment"]["Variables"]["TMPDIR"], "/tmp",
        "siblings kept"
    );
    assert_eq!(
        r["Properties"]["Layers"][0],
        "arn:aws:lambda:us-east-1:123456789012:layer:x:1"
    );
    assert_eq!(r["Metadata"]["Owner"], "platform");
    assert!(r["Properties"].get("TracingConfig").is_none());
    assert_eq!(r["Properties"]["Tags"][1]["Value"], "renderer");
    assert_eq!(t["Resources"]["Jobs"]["Type"], "AWS::DynamoDB::Table");
}

#[test]
fn rename_keeps_every_reference() {
    let mut s = HyperframesRenderStack::default();
    let b = s.bucket();
    let f = s.render_function();
    // References written into overrides follow the rename too.
    s.add_property_override(
        &f,
        "Environment.Variables.BUCKET_ARN",
        json!({"Fn::GetAtt": "RenderBucket.Arn"}),
    );
    let renamed = s.rename(&b, "VideoBucket");
    assert_eq!(renamed.logical_id(), "VideoBucket");
    assert_eq!(s.bucket(), renamed, "the stack's handle follows the rename");
    let key = s.add("MyKey", Key::default());
    s.encrypt_bucket_with(&key);
    let t = s
        .synth()
        .expect("no dangling references after a rename")
        .into_json();
    let text = t.to_string();
    assert!(!text.contains("\"RenderBucket\""), "old id left: {text}");
    assert!(!text.contains("${RenderBucket"), "old id left in a Sub");
    assert_eq!(t["Resources"]["VideoBucket"]["DeletionPolicy"], "Retain");
    assert_eq!(
        t["Outputs"]["RenderBucketName"]["Value"],
        json!({"Ref": "VideoBucket"})
    );
    assert_eq!(
        t["Resources"]["RenderFunction"]["Properties"]["Environment"]["Variables"]
            ["HYPERFRAMES_RENDER_BUCKET"],
        json!({"Ref": "VideoBucket"})
    );
    assert_eq!(
        t["Resources"]["RenderFunction"]["Properties"]["Environment"]["Variables"]["BUCKET_ARN"],
        json!({"Fn::GetAtt": "VideoBucket.Arn"})
    );
    let keys: Vec<&String> = t["Resources"].as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "VideoBucket", "position kept");
}
