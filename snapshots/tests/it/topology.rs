//! The topology facts of `shared/spec/topology.md`, read off the
//! synthesized template (what the reference's own tests check, and more).

use hyperframes_infra::contract::{Action, ErrorName};
use hyperframes_infra::{HyperframesRenderStack, RenderStackProps, Stack};
use hyperframes_snapshots::variants;
use serde_json::{json, Value};

fn template() -> Value {
    HyperframesRenderStack::default()
        .synth()
        .unwrap()
        .into_json()
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

#[test]
fn resource_counts() {
    let t = template();
    for (ty, n) in [
        ("AWS::S3::Bucket", 1),
        ("AWS::S3::BucketPolicy", 1),
        ("AWS::Lambda::Function", 1),
        ("AWS::IAM::Role", 2),
        ("AWS::StepFunctions::StateMachine", 1),
        ("AWS::Logs::LogGroup", 1),
        ("AWS::CloudWatch::Alarm", 3),
    ] {
        assert_eq!(of_type(&t, ty).len(), n, "{ty}");
    }
    assert_eq!(t["Resources"].as_object().unwrap().len(), 10);
    assert!(
        t.get("Transform").is_none(),
        "plain CloudFormation, no SAM transform"
    );
}

#[test]
fn parameters_and_condition() {
    let t = template();
    let p = &t["Parameters"];
    assert_eq!(p["ProjectName"]["Default"], "hyperframes");
    assert_eq!(p["LambdaMemoryMb"]["Default"], 3072);
    assert_eq!(
        p["LambdaMemoryMb"]["AllowedValues"],
        json!([2048, 3072, 4096, 5120, 6144, 7168, 8192, 9216, 10240])
    );
    assert_eq!(p["LambdaTimeoutSec"]["Default"], 900);
    assert_eq!(p["LambdaTimeoutSec"]["MinValue"], 60);
    assert_eq!(p["LambdaTimeoutSec"]["MaxValue"], 900);
    assert_eq!(p["ReservedConcurrency"]["Default"], -1);
    assert_eq!(p["ChromeSource"]["Default"], "sparticuz");
    assert_eq!(
        p["ChromeSource"]["AllowedValues"],
        json!(["sparticuz", "chrome-headless-shell"])
    );
    assert_eq!(p["ChunkInvocationAlarmThreshold"]["Default"], 1000);
    // Beyond: 0 reserved concurrency (a disabled function) is refused by a rule.
    assert_eq!(p["ReservedConcurrency"]["MinValue"], -1);
    assert_eq!(
        t["Rules"]["ReservedConcurrencyIsNotZero"]["Assertions"][0]["Assert"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "0"]}]})
    );
    assert_eq!(
        t["Conditions"]["HasReservedConcurrency"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, -1]}]})
    );
}

#[test]
fn bucket_is_retained_private_and_expires_intermediates() {
    let t = template();
    let b = &t["Resources"]["RenderBucket"];
    assert_eq!(b["DeletionPolicy"], "Retain");
    assert_eq!(b["UpdateReplacePolicy"], "Retain");
    let p = &b["Properties"];
    assert!(
        p.get("BucketName").is_none(),
        "CloudFormation names the bucket"
    );
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(p["PublicAccessBlockConfiguration"][flag], true, "{flag}");
    }
    assert_eq!(p["VersioningConfiguration"]["Status"], "Suspended");
    let rule = &p["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["Id"], "ExpireIntermediates");
    assert_eq!(rule["Status"], "Enabled");
    assert_eq!(rule["Prefix"], "renders/");
    assert_eq!(rule["ExpirationInDays"], 7);
    assert_eq!(
        p["Tags"],
        json!([{"Key": "Project", "Value": {"Ref": "ProjectName"}}, {"Key": "HyperFramesComponent", "Value": "lambda-renderer"}])
    );
    // Beyond the reference: encryption at rest, TLS only.
    assert_eq!(
        p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "AES256"
    );
    let deny =
        &t["Resources"]["RenderBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
}

#[test]
fn function_runtime_env_and_limits() {
    let t = template();
    let f = &t["Resources"]["RenderFunction"]["Properties"];
    assert_eq!(
        f["FunctionName"],
        json!({"Fn::Sub": "${ProjectName}-render"})
    );
    assert_eq!(f["Runtime"], "provided.al2023");
    assert_eq!(f["Handler"], "bootstrap");
    assert_eq!(f["MemorySize"], json!({"Ref": "LambdaMemoryMb"}));
    assert_eq!(f["Timeout"], json!({"Ref": "LambdaTimeoutSec"}));
    assert_eq!(f["Architectures"], json!(["x86_64"]));
    assert_eq!(f["TracingConfig"]["Mode"], "Active");
    assert_eq!(f["EphemeralStorage"]["Size"], 10240);
    assert_eq!(
        f["ReservedConcurrentExecutions"],
        json!({"Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]})
    );
    let env = &f["Environment"]["Variables"];
    assert_eq!(env["TMPDIR"], "/tmp");
    assert_eq!(
        env["HYPERFRAMES_RENDER_BUCKET"],
        json!({"Ref": "RenderBucket"})
    );
    assert_eq!(
        env["HYPERFRAMES_LAMBDA_CHROME_SOURCE"],
        json!({"Ref": "ChromeSource"})
    );
    assert_eq!(
        f["Role"],
        json!({"Fn::GetAtt": ["RenderFunctionRole", "Arn"]})
    );
}

/// Every statement's resources, with `*` called out.
fn statements(role: &Value) -> Vec<&Value> {
    role["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect()
}

#[test]
fn function_role_is_scoped_to_the_bucket() {
    let t = template();
    let role = &t["Resources"]["RenderFunctionRole"];
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    for s in statements(role) {
        let text = s["Resource"].to_string();
        assert!(
            text.contains("RenderBucket"),
            "statement not scoped to the bucket: {s}"
        );
        assert!(!s["Action"].to_string().contains("logs:*"));
        assert!(!s["Action"].to_string().contains("s3:*"));
    }
    let managed = role["Properties"]["ManagedPolicyArns"].to_string();
    assert!(managed.contains("AWSLambdaBasicExecutionRole"));
    assert!(managed.contains("AWSXrayWriteOnlyAccess"));
}

#[test]
fn state_machine_role_invokes_only_the_function() {
    let t = template();
    let role = &t["Resources"]["RenderStateMachineRole"];
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "states.amazonaws.com"
    );
    let st = statements(role);
    let invoke = st
        .iter()
        .find(|s| s["Action"] == "lambda:InvokeFunction")
        .unwrap();
    assert_eq!(
        invoke["Resource"],
        json!({"Fn::GetAtt": ["RenderFunction", "Arn"]})
    );
    for s in &st {
        if s["Resource"] == "*" {
            let actions = s["Action"].to_string();
            assert!(
                actions.contains("logs:CreateLogDelivery")
                    || actions.contains("xray:PutTraceSegments"),
                "only log delivery and X-Ray may use `*`: {s}"
            );
        }
    }
}

#[test]
fn log_group_and_state_machine() {
    let t = template();
    let lg = &t["Resources"]["RenderStateMachineLogGroup"]["Properties"];
    assert_eq!(
        lg["LogGroupName"],
        json!({"Fn::Sub": "/aws/states/${ProjectName}-render"})
    );
    assert_eq!(lg["RetentionInDays"], 30);
    let sm = &t["Resources"]["RenderStateMachine"]["Properties"];
    assert_eq!(
        sm["StateMachineName"],
        json!({"Fn::Sub": "${ProjectName}-render"})
    );
    assert_eq!(sm["StateMachineType"], "STANDARD");
    assert_eq!(sm["TracingConfiguration"]["Enabled"], true);
    assert_eq!(sm["LoggingConfiguration"]["Level"], "ERROR");
    assert_eq!(sm["LoggingConfiguration"]["IncludeExecutionData"], false);
    assert_eq!(
        sm["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"],
        json!({"Fn::GetAtt": ["RenderStateMachineLogGroup", "Arn"]})
    );
    assert_eq!(
        sm["RoleArn"],
        json!({"Fn::GetAtt": ["RenderStateMachineRole", "Arn"]})
    );
    assert_eq!(
        sm["DefinitionSubstitutions"]["RenderFunctionArn"],
        json!({"Fn::GetAtt": ["RenderFunction", "Arn"]})
    );
    assert_eq!(sm["Definition"]["TimeoutSeconds"], 3600);
}

#[test]
fn alarms() {
    let t = template();
    let r = &t["Resources"];
    let runaway = &r["RenderChunkInvocationAlarm"]["Properties"];
    assert_eq!(
        runaway["AlarmName"],
        json!({"Fn::Sub": "${ProjectName}-runaway-chunk-invocations"})
    );
    assert_eq!(runaway["Namespace"], "AWS/Lambda");
    assert_eq!(runaway["MetricName"], "Invocations");
    assert_eq!(
        runaway["Dimensions"],
        json!([{"Name": "FunctionName", "Value": {"Ref": "RenderFunction"}}])
    );
    assert_eq!(runaway["Statistic"], "Sum");
    assert_eq!(runaway["Period"], 3600);
    assert_eq!(runaway["EvaluationPeriods"], 1);
    assert_eq!(
        runaway["Threshold"],
        json!({"Ref": "ChunkInvocationAlarmThreshold"})
    );
    assert_eq!(runaway["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(runaway["TreatMissingData"], "notBreaching");

    let errors = &r["RenderFunctionErrorsAlarm"]["Properties"];
    assert_eq!(
        errors["AlarmName"],
        json!({"Fn::Sub": "${ProjectName}-render-function-errors"})
    );
    assert_eq!(errors["MetricName"], "Errors");
    assert_eq!(errors["Period"], 300);
    assert_eq!(errors["Threshold"], 1);
    assert_eq!(
        errors["ComparisonOperator"],
        "GreaterThanOrEqualToThreshold"
    );
    assert_eq!(errors["TreatMissingData"], "notBreaching");

    let failed = &r["RenderStateMachineFailedAlarm"]["Properties"];
    assert_eq!(
        failed["AlarmName"],
        json!({"Fn::Sub": "${ProjectName}-render-state-machine-failed"})
    );
    assert_eq!(failed["Namespace"], "AWS/States");
    assert_eq!(failed["MetricName"], "ExecutionsFailed");
    assert_eq!(
        failed["Dimensions"],
        json!([{"Name": "StateMachineArn", "Value": {"Ref": "RenderStateMachine"}}])
    );
    assert_eq!(failed["Period"], 300);
    assert_eq!(failed["Threshold"], 1);
}

#[test]
fn outputs_are_exported_with_the_stack_name() {
    let t = template();
    let o = &t["Outputs"];
    assert_eq!(
        o["RenderBucketName"]["Value"],
        json!({"Ref": "RenderBucket"})
    );
    assert_eq!(
        o["RenderBucketName"]["Export"]["Name"],
        json!({"Fn::Sub": "${AWS::StackName}-RenderBucket"})
    );
    assert_eq!(
        o["RenderFunctionArn"]["Value"],
        json!({"Fn::GetAtt": ["RenderFunction", "Arn"]})
    );
    assert_eq!(
        o["RenderFunctionArn"]["Export"]["Name"],
        json!({"Fn::Sub": "${AWS::StackName}-RenderFunctionArn"})
    );
    assert_eq!(
        o["RenderStateMachineArn"]["Value"],
        json!({"Ref": "RenderStateMachine"})
    );
    assert_eq!(
        o["RenderStateMachineArn"]["Export"]["Name"],
        json!({"Fn::Sub": "${AWS::StackName}-RenderStateMachineArn"})
    );
}

fn tasks(d: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (name, s) in d["States"].as_object().unwrap() {
        if s["Type"] == "Task" {
            out.push((name.clone(), s));
        }
        if s["Type"] == "Map" {
            for (inner, st) in s["ItemProcessor"]["States"].as_object().unwrap() {
                out.push((inner.clone(), st));
            }
        }
    }
    out
}

#[test]
fn workflow_states_and_transitions() {
    let t = template();
    let d = &t["Resources"]["RenderStateMachine"]["Properties"]["Definition"];
    assert_eq!(d["StartAt"], "SelectPlanProtocol");
    let names: Vec<&str> = d["States"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for s in [
        "SelectPlanProtocol",
        "UnsupportedPlanProtocol",
        "Plan",
        "PlanV2",
        "BuildChunkList",
        "BuildChunkListWithConcurrency",
        "SelectConcurrency",
        "AssertChunkCount",
        "PlanProducedZeroChunks",
        "SelectWorkerProtocol",
        "RenderChunks",
        "RenderChunksV2",
        "Assemble",
        "AssembleV2",
    ] {
        assert!(names.contains(&s), "missing state {s}");
    }
    let s = &d["States"];
    // An absent PlanProtocol is tested first (not IsPresent) and goes to v2.
    assert_eq!(
        s["SelectPlanProtocol"]["Choices"][0],
        json!({"Not": {"Variable": "$.PlanProtocol", "IsPresent": true}, "Next": "PlanV2"})
    );
    assert_eq!(
        s["SelectPlanProtocol"]["Default"],
        "UnsupportedPlanProtocol"
    );
    assert_eq!(
        s["UnsupportedPlanProtocol"]["Error"],
        "PLAN_PROTOCOL_UNSUPPORTED"
    );
    assert_eq!(s["PlanProducedZeroChunks"]["Error"], "PLAN_TOO_LARGE");
    assert_eq!(
        s["BuildChunkList"]["Parameters"]["ChunkIndexes.$"],
        "States.ArrayRange(0, States.MathAdd($.Plan.ChunkCount, -1), 1)"
    );
    assert_eq!(s["BuildChunkList"]["ResultPath"], "$.Iterator");
    // The Maps' limit: the input's Concurrency, else every chunk at once.
    assert_eq!(
        s["SelectConcurrency"]["Choices"][0],
        json!({"Not": {"Variable": "$.Concurrency", "IsPresent": true}, "Next": "BuildChunkList"})
    );
    assert_eq!(
        s["BuildChunkList"]["Parameters"]["MaxConcurrency.$"],
        "$.Plan.ChunkCount"
    );
    assert_eq!(
        s["BuildChunkListWithConcurrency"]["Parameters"]["MaxConcurrency.$"],
        "$.Concurrency"
    );
    for map in ["RenderChunks", "RenderChunksV2"] {
        let m = &s[map];
        assert_eq!(m["Type"], "Map");
        assert_eq!(m["ItemsPath"], "$.Iterator.ChunkIndexes");
        assert_eq!(m["MaxConcurrencyPath"], "$.Iterator.MaxConcurrency");
        assert_eq!(m["ItemSelector"]["ChunkIndex.$"], "$$.Map.Item.Value");
        // Beyond the reference (INLINE, at most 40 at once): a Distributed
        // Map of STANDARD child executions, fed the same way (ItemsPath).
        assert_eq!(
            m["ItemProcessor"]["ProcessorConfig"],
            json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
        );
        assert_eq!(m["ResultPath"], "$.Chunks");
    }
    assert_eq!(
        s["AssembleV2"]["Parameters"]["Payload"]["ChunkS3Uris.$"],
        "$.Chunks[*].ChunkS3Uri"
    );
    assert_eq!(s["AssembleV2"]["ResultPath"], "$.Output");
    assert_eq!(s["AssembleV2"]["End"], true);
    assert_eq!(
        s["Plan"]["ResultSelector"]["AudioS3Uri.$"],
        "$.Payload.AudioS3Uri"
    );
    assert_eq!(s["PlanV2"]["ResultSelector"]["PlanProtocol"], "v2");
}

#[test]
fn every_task_retries_per_the_contract_in_order() {
    let t = template();
    let d = &t["Resources"]["RenderStateMachine"]["Properties"]["Definition"];
    let all = tasks(d);
    assert_eq!(all.len(), 6);
    for (name, task) in all {
        let action: Action = task["Parameters"]["Payload"]["Action"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let retry = task["Retry"].as_array().unwrap();
        assert_eq!(retry.len(), 3, "{name}");
        let expected: Vec<&str> = ErrorName::non_retryable(action)
            .into_iter()
            .map(ErrorName::as_str)
            .collect();
        assert_eq!(retry[0]["ErrorEquals"], json!(expected), "{name}");
        assert_eq!(retry[0]["MaxAttempts"], 0, "{name}");
        // Throttles: their own long, jittered retries, before the 4 for failures.
        assert_eq!(
            retry[1],
            json!({"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 15, "BackoffRate": 2, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}),
            "{name}"
        );
        assert_eq!(
            retry[2],
            json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 2, "MaxDelaySeconds": 60}),
            "{name}"
        );
        assert_eq!(task["Resource"], "arn:aws:states:::lambda:invoke");
        assert_eq!(task["Parameters"]["FunctionName"], "${RenderFunctionArn}");
    }
}

#[test]
fn baked_values_replace_parameters() {
    for (name, props) in variants() {
        let t = HyperframesRenderStack::new(props.clone())
            .synth()
            .unwrap()
            .into_json();
        let f = &t["Resources"]["RenderFunction"]["Properties"];
        match name {
            "baked" => {
                assert!(t.get("Parameters").is_none());
                assert!(t.get("Conditions").is_none());
                assert_eq!(f["MemorySize"], 3072);
                assert_eq!(f["Timeout"], 900);
                assert_eq!(f["FunctionName"], "hyperframes-render");
                assert!(f.get("ReservedConcurrentExecutions").is_none());
                assert_eq!(
                    f["Environment"]["Variables"]["HYPERFRAMES_LAMBDA_CHROME_SOURCE"],
                    "sparticuz"
                );
                assert_eq!(
                    t["Resources"]["RenderChunkInvocationAlarm"]["Properties"]["Threshold"],
                    1000
                );
            }
            "baked_reserved_concurrency" => assert_eq!(f["ReservedConcurrentExecutions"], 5),
            "reserved_concurrency" => {
                assert_eq!(t["Parameters"]["ReservedConcurrency"]["Default"], 5)
            }
            _ => {}
        }
    }
}

#[test]
fn props_flow_into_parameter_defaults() {
    let props = RenderStackProps::default()
        .project_name("acme")
        .memory(hyperframes_infra::LambdaMemory::new(4096).unwrap());
    let t = HyperframesRenderStack::new(props)
        .synth()
        .unwrap()
        .into_json();
    assert_eq!(t["Parameters"]["ProjectName"]["Default"], "acme");
    assert_eq!(t["Parameters"]["LambdaMemoryMb"]["Default"], 4096);
}

/// Every property the typed model writes is in its type's vendored
/// CloudFormation schema (the names property overrides are checked
/// against), in every variant and in the user crate: a typed field the
/// schema lacks would mean a stale or wrong list.
#[test]
fn typed_properties_are_in_the_vendored_schema() {
    let mut stacks: Vec<(String, HyperframesRenderStack)> = variants()
        .into_iter()
        .map(|(name, props)| (name.to_string(), HyperframesRenderStack::new(props)))
        .collect();
    for (name, stack) in hyperframes_snapshots::notification_variants() {
        stacks.push((name.to_string(), stack));
    }
    stacks.push(("hardened".into(), hyperframes_snapshots::hardened()));
    stacks.push(("my_infra".into(), my_infra::build()));
    let mut checked = std::collections::BTreeSet::new();
    for (name, stack) in &stacks {
        for (id, r) in &stack.template().resources {
            let Some(known) = r.properties.schema_properties() else {
                continue;
            };
            checked.insert(r.type_name().to_string());
            let props = r.properties.properties_json();
            for key in props.as_object().into_iter().flat_map(|m| m.keys()) {
                assert!(
                    known.contains(&key.as_str()),
                    "{name}: {id} ({}) writes `{key}`, which is not in its schema list",
                    r.type_name()
                );
            }
        }
    }
    assert!(checked.len() >= 17, "typed types seen: {checked:?}");
}
