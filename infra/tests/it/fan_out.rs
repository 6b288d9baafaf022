//! The chunk fan-out: a Distributed Map fed from the plan result, and the
//! state machine role's permissions on its own child executions only.

use hyperframes_infra::{HyperframesRenderStack, Knobs, RenderStackProps};
use serde_json::{json, Value};

fn role_statements(t: &Value) -> Vec<Value> {
    t["Resources"]["RenderStateMachineRole"]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .collect()
}

fn statement_with(statements: &[Value], action: &str) -> Value {
    let has = |s: &&Value| match &s["Action"] {
        Value::String(a) => a == action,
        Value::Array(a) => a.iter().any(|x| x == action),
        _ => false,
    };
    let found: Vec<&Value> = statements.iter().filter(has).collect();
    assert_eq!(found.len(), 1, "{action} in {statements:?}");
    found[0].clone()
}

/// Both fan-outs are Distributed Maps with STANDARD children whose items
/// come from the plan result through ItemsPath, without the features that
/// would change the output's shape or need S3 permissions (ItemReader,
/// ItemBatcher, ResultWriter), and with the input's concurrency as limit.
#[test]
fn both_fan_outs_are_distributed_maps_over_the_plan_result() {
    let t = HyperframesRenderStack::default().synth().unwrap();
    let d = &t.as_json()["Resources"]["RenderStateMachine"]["Properties"]["Definition"];
    for name in ["RenderChunks", "RenderChunksV2"] {
        let m = &d["States"][name];
        assert_eq!(
            m["ItemProcessor"]["ProcessorConfig"],
            json!({"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}),
            "{name}"
        );
        assert_eq!(m["ItemsPath"], "$.Iterator.ChunkIndexes", "{name}");
        assert_eq!(
            m["MaxConcurrencyPath"], "$.Iterator.MaxConcurrency",
            "{name}"
        );
        for absent in ["ItemReader", "ItemBatcher", "ResultWriter", "Iterator"] {
            assert!(m.get(absent).is_none(), "{name} has {absent}");
        }
    }
}

/// StartExecution only on the machine itself, Describe/StopExecution only
/// on its Map Run children (`execution:<name>/...`), built from the
/// machine's name so the role does not refer to the machine (which refers
/// to the role): no circular dependency.
#[test]
fn child_execution_permissions_are_scoped_to_the_machines_own_executions() {
    let baked = HyperframesRenderStack::new(
        RenderStackProps::default()
            .project_name("acme")
            .knobs(Knobs::Baked),
    );
    let t = baked.synth().unwrap().as_json().clone();
    let s = role_statements(&t);
    let name = json!({"MachineName": "acme-render"});
    let start = statement_with(&s, "states:StartExecution");
    assert_eq!(start["Action"], "states:StartExecution");
    assert_eq!(
        start["Resource"],
        json!({"Fn::Sub": ["arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${MachineName}", name]})
    );
    let children = statement_with(&s, "states:StopExecution");
    assert_eq!(
        children["Action"],
        json!(["states:DescribeExecution", "states:StopExecution"])
    );
    assert_eq!(
        children["Resource"],
        json!({"Fn::Sub": ["arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${MachineName}/*", name]})
    );
    // The machine's name is the one those ARNs are built from.
    let machine = &t["Resources"]["RenderStateMachine"]["Properties"];
    assert_eq!(machine["StateMachineName"], "acme-render");
    // No other states: action anywhere in the role.
    let states_actions: Vec<&Value> = s
        .iter()
        .filter(|st| st["Action"].to_string().contains("states:"))
        .collect();
    assert_eq!(states_actions.len(), 2, "{states_actions:?}");
    // And nothing in the role refers to the machine.
    let role = t["Resources"]["RenderStateMachineRole"].to_string();
    assert!(!role.contains("RenderStateMachine\""), "{role}");

    // With the project name a parameter, the same ARN follows it.
    let t = HyperframesRenderStack::default()
        .synth()
        .unwrap()
        .as_json()
        .clone();
    let start = statement_with(&role_statements(&t), "states:StartExecution");
    assert_eq!(
        start["Resource"]["Fn::Sub"][1]["MachineName"],
        json!({"Fn::Sub": "${ProjectName}-render"})
    );
}
