//! Each synth-time validation rule, triggered by a bad stack, with the
//! message checked for where, what and how to fix.

use hyperframes_infra::notifications::{Destination, Notification};
use hyperframes_infra::resources::cloudwatch::{Alarm, ComparisonOperator};
use hyperframes_infra::resources::raw::Raw;
use hyperframes_infra::resources::s3::Bucket;
use hyperframes_infra::resources::sns::Topic;
use hyperframes_infra::template::Parameter;
use hyperframes_infra::{ConditionName, HyperframesRenderStack, Output, Problem, Stack, Value};
use serde_json::json;

fn problems(stack: &HyperframesRenderStack) -> Vec<Problem> {
    match stack.synth() {
        Ok(_) => panic!("the stack should not validate"),
        Err(e) => e.0,
    }
}

/// Asserts exactly one problem, at `location`/`property`, whose message
/// contains every needle.
fn assert_one(stack: &HyperframesRenderStack, location: &str, property: &str, needles: &[&str]) {
    let ps = problems(stack);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].location, location, "{}", ps[0]);
    assert_eq!(ps[0].property, property, "{}", ps[0]);
    for n in needles {
        assert!(ps[0].message.contains(n), "`{n}` not in: {}", ps[0]);
    }
}

fn stack() -> HyperframesRenderStack {
    HyperframesRenderStack::default()
}

#[test]
fn the_default_stack_validates() {
    stack().synth().unwrap();
}

#[test]
fn dangling_ref() {
    let mut s = stack();
    s.add(
        "Extra",
        Raw::new("AWS::SNS::Topic", json!({"TopicName": {"Ref": "Nope"}})),
    );
    assert_one(
        &s,
        "Extra",
        "Properties.TopicName",
        &["Ref to `Nope`", "declare it", "RenderBucket"],
    );
}

#[test]
fn dangling_get_att() {
    let mut s = stack();
    s.add(
        "Extra",
        Raw::new(
            "AWS::SNS::Topic",
            json!({"TopicName": {"Fn::GetAtt": ["Ghost", "Arn"]}}),
        ),
    );
    assert_one(
        &s,
        "Extra",
        "Properties.TopicName",
        &["Fn::GetAtt on `Ghost`"],
    );
}

#[test]
fn dangling_name_inside_sub() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(
        &f,
        "Description",
        json!({"Fn::Sub": "${Ghost.Arn} and ${!Literal} and ${AWS::Region}"}),
    );
    assert_one(
        &s,
        "RenderFunction",
        "Properties.Description",
        &["${Ghost.Arn}", "`Ghost` is not declared", "${!Ghost.Arn}"],
    );
}

#[test]
fn parameter_used_but_not_declared() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "Description", json!({"Fn::Sub": "built by ${Builder}"}));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.Description",
        &["${Builder}", "declare it"],
    );
}

#[test]
fn refs_inside_iam_conditions_are_checked() {
    let mut s = stack();
    let b = s.bucket_policy();
    s.add_property_override(
        &b,
        "PolicyDocument.Statement.0.Condition",
        json!({"StringEquals": {"aws:SourceArn": {"Ref": "Ghost"}}}),
    );
    assert_one(
        &s,
        "RenderBucketPolicy",
        "Properties.PolicyDocument.Statement.0.Condition.StringEquals.aws:SourceArn",
        &["Ref to `Ghost`"],
    );
}

#[test]
fn overrides_that_do_not_apply_are_reported() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "Tags.7.Value", json!("x"));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.Tags.7.Value",
        &["override did not apply", "out of range"],
    );
    let mut s = stack();
    s.add_deletion_override(&f, "Properties.NoSuchProperty");
    assert_one(
        &s,
        "RenderFunction",
        "Properties.NoSuchProperty",
        &["override did not apply"],
    );
}

#[test]
fn override_of_a_property_the_type_does_not_have() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "MemorySizee", json!(4096));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.MemorySizee",
        &[
            "AWS::Lambda::Function has no property `MemorySizee`",
            "did you mean `MemorySize`?",
            "add_property_override_unchecked",
        ],
    );
    // A nested path is checked at its top-level property.
    let mut s = stack();
    s.add_property_override(&f, "VpcConfg.SubnetIds", json!(["subnet-1"]));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.VpcConfg.SubnetIds",
        &["has no property `VpcConfg`", "did you mean `VpcConfig`?"],
    );
    // So are the resource attributes in front of it.
    let mut s = stack();
    s.add_override(&f, "Propertes.MemorySize", json!(4096));
    assert_one(
        &s,
        "RenderFunction",
        "Propertes.MemorySize",
        &["no attribute `Propertes`", "did you mean `Properties`?"],
    );
    // Nor are the keys of a whole `Properties` override.
    let mut s = stack();
    let q = s.add("Jobs", hyperframes_infra::resources::sqs::Queue::default());
    s.add_override(
        &q,
        "Properties",
        json!({"DelaySeconds": 5, "VisibiltyTimeout": 60}),
    );
    assert_one(
        &s,
        "Jobs",
        "Properties",
        &[
            "AWS::SQS::Queue has no property `VisibiltyTimeout`",
            "did you mean `VisibilityTimeout`?",
        ],
    );
    // A read-only attribute is not a property either.
    let mut s = stack();
    let b = s.bucket();
    s.add_property_override(&b, "Arn", json!("arn:aws:s3:::x"));
    assert_one(
        &s,
        "RenderBucket",
        "Properties.Arn",
        &["AWS::S3::Bucket has no property `Arn`"],
    );
}

#[test]
fn unchecked_overrides_and_raw_resources_pass_any_name() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override_unchecked(&f, "PropertyFromNextYear", json!({"Enabled": true}));
    s.add_override_unchecked(&f, "Metadata.Owner", json!("platform"));
    let jobs = s.add("Jobs", Raw::new("AWS::DynamoDB::Table", json!({})));
    s.add_property_override(&jobs, "BillingMode", json!("PAY_PER_REQUEST"));
    let t = s.synth().expect("unchecked names pass").into_json();
    let props = &t["Resources"]["RenderFunction"]["Properties"];
    assert_eq!(props["PropertyFromNextYear"], json!({"Enabled": true}));
    assert_eq!(
        t["Resources"]["Jobs"]["Properties"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
}

#[test]
fn notification_on_no_status() {
    let mut s = stack();
    let topic = s.add("Alerts", Topic::default());
    s.notify_on_completion("Nobody", Notification::to(Destination::Topic(topic)).on([]));
    assert_one(
        &s,
        "NobodyRule",
        "Properties.EventPattern.detail.status",
        &[
            "empty list",
            "EventBridge rejects",
            "`.on(...)` needs at least one",
        ],
    );
}

#[test]
fn empty_lists_the_service_rejects() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "Architectures", json!([]));
    s.add(
        "Deny",
        Raw::new(
            "AWS::IAM::ManagedPolicy",
            json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": {
                "Effect": "Deny", "Action": [], "Resource": []}}}),
        ),
    );
    let b = s.bucket();
    s.add_property_override(&b, "Tags", json!([]));
    let role = s.function_role();
    s.add_property_override(
        &role,
        "AssumeRolePolicyDocument.Statement.0.Principal.Service",
        json!([]),
    );
    let found: Vec<String> = problems(&s)
        .iter()
        .map(|p| format!("{}.{}", p.location, p.property))
        .collect();
    assert_eq!(
        found,
        [
            "RenderFunctionRole.Properties.AssumeRolePolicyDocument.Statement.0.Principal.Service",
            "RenderFunction.Properties.Architectures",
            "Deny.Properties.PolicyDocument.Statement.Action",
            "Deny.Properties.PolicyDocument.Statement.Resource",
        ],
        "an empty Tags list is allowed"
    );
}

#[test]
fn duplicate_logical_id() {
    let mut s = stack();
    s.add("RenderBucket", Bucket::default());
    assert_one(
        &s,
        "RenderBucket",
        "",
        &["declared more than once", "rename"],
    );
}

#[test]
fn logical_id_not_alphanumeric() {
    let mut s = stack();
    s.add("My-Bucket", Bucket::default());
    assert_one(&s, "My-Bucket", "", &["ASCII letters and digits", "rename"]);
}

#[test]
fn condition_used_but_not_defined() {
    let mut s = stack();
    let f = s.render_function();
    let missing = ConditionName::named("IsProduction");
    s.get_mut(&f).memory_size = Some(Value::if_(&missing, 10240.into(), 2048.into()));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.MemorySize",
        &["condition `IsProduction`", "not declared"],
    );

    let mut s = stack();
    let b = s.add("Extra", Bucket::default());
    s.resource_mut(&b).condition = Some(ConditionName::named("Nope"));
    assert_one(&s, "Extra", "Condition", &["condition `Nope`"]);
}

#[test]
fn memory_outside_range_or_allowed_by_the_parameter() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "MemorySize", json!(99999));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.MemorySize",
        &["99999", "128..10240 MB"],
    );

    let mut s = stack();
    let p = s.add_parameter(
        "LooseMemory",
        Parameter::with_default(64u32).allowed_values([64, 4096]),
    );
    let f = s.render_function();
    s.get_mut(&f).memory_size = Some(p.value());
    assert_one(
        &s,
        "RenderFunction",
        "Properties.MemorySize",
        &[
            "`LooseMemory`",
            "Default 64",
            "allowed value 64",
            "AllowedValues",
        ],
    );

    let mut s = stack();
    let p = s.add_parameter("UnboundedMemory", Parameter::with_default(4096u32));
    let f = s.render_function();
    s.get_mut(&f).memory_size = Some(p.value());
    assert_one(
        &s,
        "RenderFunction",
        "Properties.MemorySize",
        &["`UnboundedMemory`", "MinValue/MaxValue unset..unset"],
    );
}

#[test]
fn timeout_outside_range() {
    let mut s = stack();
    let f = s.render_function();
    s.get_mut(&f).timeout = Some(901.into());
    assert_one(
        &s,
        "RenderFunction",
        "Properties.Timeout",
        &["901", "1..900 seconds"],
    );
    let mut s = stack();
    let f = s.render_function();
    s.get_mut(&f).timeout = Some(0.into());
    assert_one(
        &s,
        "RenderFunction",
        "Properties.Timeout",
        &["0 is outside"],
    );
}

#[test]
fn reserved_concurrency_zero_or_negative() {
    for (n, needle) in [(0, "throttle every invocation"), (-5, "rejected by Lambda")] {
        let mut s = stack();
        let f = s.render_function();
        s.get_mut(&f).reserved_concurrent_executions = Some(n.into());
        assert_one(
            &s,
            "RenderFunction",
            "Properties.ReservedConcurrentExecutions",
            &[needle, "leave it unset"],
        );
    }
    // Behind the Fn::If guard, a parameter that admits values below -1.
    let mut s = stack();
    let p = s.add_parameter("LooseCap", Parameter::with_default(-1i32));
    let cond = s.add_condition(
        "HasLooseCap",
        hyperframes_infra::Condition::not(hyperframes_infra::Condition::equals(
            p.value(),
            Value::Literal(-1),
        )),
    );
    let f = s.render_function();
    s.get_mut(&f).reserved_concurrent_executions = Some(Value::if_or_absent(&cond, p.value()));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.ReservedConcurrentExecutions",
        &["`LooseCap` admits values below -1", "MinValue -1"],
    );
    // A bare Ref to a parameter defaulting to the -1 sentinel, without the Fn::If guard.
    let mut s = stack();
    let p = s.add_parameter("Cap", Parameter::with_default(-1i32));
    let f = s.render_function();
    s.get_mut(&f).reserved_concurrent_executions = Some(p.value());
    assert_one(
        &s,
        "RenderFunction",
        "Properties.ReservedConcurrentExecutions",
        &["`Cap` defaults to -1", "Fn::If"],
    );
}

#[test]
fn ephemeral_storage_outside_range() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "EphemeralStorage.Size", json!(100));
    assert_one(
        &s,
        "RenderFunction",
        "Properties.EphemeralStorage.Size",
        &["100", "512..10240 MB"],
    );
}

#[test]
fn bucket_name_rules() {
    for (name, needle) in [
        ("My_Renders", "lowercase"),
        ("ab", "3-63"),
        ("-renders", "begin and end"),
        ("renders..x", "adjacent periods"),
        ("10.0.0.1", "IP address"),
        ("xn--renders", "reserves"),
    ] {
        let mut s = stack();
        let b = s.bucket();
        s.get_mut(&b).bucket_name = Some(name.into());
        assert_one(
            &s,
            "RenderBucket",
            "Properties.BucketName",
            &[name, needle, "leave BucketName unset"],
        );
    }
    let mut s = stack();
    let b = s.bucket();
    s.get_mut(&b).bucket_name = Some("acme-renders.example".into());
    s.synth().unwrap();
}

#[test]
fn alarm_without_metric() {
    let mut s = stack();
    let f = s.render_function();
    let mut alarm: Alarm =
        f.metric_errors()
            .alarm(1u32, ComparisonOperator::GreaterThanThreshold, 1);
    alarm.metric_name = None;
    s.add("Orphan", alarm);
    assert_one(&s, "Orphan", "Properties", &["no metric", "metric_*()"]);
}

#[test]
fn asl_next_that_does_not_exist() {
    let mut s = stack();
    let sm = s.state_machine();
    s.add_property_override(
        &sm,
        "Definition.States.BuildChunkList.Next",
        json!("Nowhere"),
    );
    // Its sibling leads there too, so that SelectWorkerProtocol is cut off.
    s.add_property_override(
        &sm,
        "Definition.States.BuildChunkListWithConcurrency.Next",
        json!("BuildChunkList"),
    );
    let ps = problems(&s);
    let dangling = ps
        .iter()
        .find(|p| p.message.contains("`Nowhere`"))
        .expect("dangling Next reported");
    assert_eq!(dangling.location, "RenderStateMachine");
    assert_eq!(
        dangling.property,
        "Properties.Definition.States.BuildChunkList"
    );
    assert!(dangling.message.contains("use one of"), "{dangling}");
    // Its old successors are now unreachable, and that is reported too.
    assert!(
        ps.iter()
            .any(|p| p.property.ends_with("SelectWorkerProtocol")
                && p.message.contains("unreachable")),
        "{ps:#?}"
    );
}

#[test]
fn asl_unreachable_state() {
    let mut s = stack();
    let sm = s.state_machine();
    s.add_property_override(&sm, "Definition.States.Orphan", json!({"Type": "Succeed"}));
    assert_one(
        &s,
        "RenderStateMachine",
        "Properties.Definition.States.Orphan",
        &["unreachable"],
    );
}

#[test]
fn asl_dangling_next_inside_a_map() {
    let mut s = stack();
    let sm = s.state_machine();
    s.add_property_override(
        &sm,
        "Definition.States.RenderChunksV2.ItemProcessor.StartAt",
        json!("Missing"),
    );
    let ps = problems(&s);
    assert!(
        ps.iter().any(
            |p| p.property.ends_with("RenderChunksV2.ItemProcessor.StartAt")
                && p.message.contains("`Missing`")
        ),
        "{ps:#?}"
    );
}

#[test]
fn map_concurrency_as_number_and_path() {
    let mut s = stack();
    let sm = s.state_machine();
    s.add_property_override(
        &sm,
        "Definition.States.RenderChunksV2.MaxConcurrency",
        json!(10),
    );
    assert_one(
        &s,
        "RenderStateMachine",
        "Properties.Definition.States.RenderChunksV2",
        &["both MaxConcurrency and MaxConcurrencyPath"],
    );
}

#[test]
fn template_limits() {
    let mut s = stack();
    for i in 0..500 {
        s.add(&format!("Topic{i}"), Raw::new("AWS::SNS::Topic", json!({})));
    }
    assert_one(
        &s,
        "Resources",
        "",
        &["510 entries", "limit of 500", "nested stacks"],
    );

    let mut s = stack();
    for i in 0..200 {
        s.add_output(&format!("Out{i}"), Output::new("x".into()));
    }
    assert_one(&s, "Outputs", "", &["203 entries", "limit of 200"]);

    let mut s = stack();
    for i in 0..195 {
        s.add_parameter(&format!("P{i}"), Parameter::with_default(String::from("x")));
    }
    assert_one(&s, "Parameters", "", &["201 entries", "limit of 200"]);

    let mut s = stack();
    let big = "x".repeat(1_100_000);
    s.add(
        "Big",
        Raw::new("AWS::SNS::Topic", json!({"DisplayName": big})),
    );
    assert_one(
        &s,
        "Template",
        "",
        &["over CloudFormation's limit of 1048576"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut s = stack();
    let f = s.render_function();
    s.add_property_override(&f, "MemorySize", json!(99999));
    s.add_property_override(&f, "Timeout", json!(0));
    s.add(
        "Bad-Id",
        Raw::new("AWS::SNS::Topic", json!({"TopicName": {"Ref": "Nope"}})),
    );
    // The two a user crate got past synth before: a misspelt property
    // override and a notification on no status.
    s.add_property_override(&f, "MemorySizee", json!(4096));
    let topic = s.add("Alerts", Topic::default());
    s.notify_on_completion("Nobody", Notification::to(Destination::Topic(topic)).on([]));
    let ps = problems(&s);
    assert_eq!(ps.len(), 6, "{ps:#?}");
    let text = hyperframes_infra::ValidationErrors::from(ps).to_string();
    assert!(text.starts_with("the template has 6 problems:"), "{text}");
    assert!(text.contains("RenderFunction.Properties.MemorySizee: AWS::Lambda::Function has no property `MemorySizee`; did you mean `MemorySize`?"), "{text}");
    assert!(
        text.contains("NobodyRule.Properties.EventPattern.detail.status: empty list"),
        "{text}"
    );
}

#[test]
fn props_problems_come_with_template_problems() {
    let props = hyperframes_infra::RenderStackProps::default().project_name("no spaces allowed");
    let mut s = HyperframesRenderStack::new(props);
    let f = s.render_function();
    s.add_property_override(&f, "Timeout", json!(0));
    let ps = problems(&s);
    assert_eq!(ps[0].location, "RenderStackProps");
    assert_eq!(ps[0].property, "project_name");
    assert!(ps.iter().any(|p| p.property == "Properties.Timeout"));
}
