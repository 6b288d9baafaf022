//! The render workflow, executed: asl-validator checks each variant's graph
//! and aws-local-stepfunctions runs the definition against stub render
//! functions, so routing, fan-out and the per-stage Retry lists are shown
//! to behave, not just to be spelled right.

use std::process::Command;

use hyperframes_infra::contract::{Action, ErrorName};
use hyperframes_infra::HyperframesRenderStack;
use hyperframes_snapshots::{
    asl_validator, node22, npm_modules, reference_template, variants, Scratch,
};
use serde_json::{json, Value};

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:hyperframes-render";

/// The definition with the function ARN substituted, as Step Functions sees it.
fn our_definition() -> Value {
    let t = HyperframesRenderStack::default().synth().unwrap();
    let text = serde_json::to_string(t.definition("RenderStateMachine").unwrap()).unwrap();
    serde_json::from_str(&text.replace("${RenderFunctionArn}", FUNCTION_ARN)).unwrap()
}

fn reference_definition() -> Value {
    let r = reference_template();
    let join = &r["Resources"]["RenderStateMachine"]["Properties"]["DefinitionString"]["Fn::Join"];
    let mut text: String = join[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for i in 1..=6 {
        text = text.replace(&format!("${{definition_substitution_{i}}}"), FUNCTION_ARN);
    }
    serde_json::from_str(&text).unwrap()
}

fn input(protocol: Option<Value>) -> Value {
    let mut i = json!({
        "ProjectS3Uri": "s3://bucket/sites/abc/project.tar.gz",
        "PlanOutputS3Prefix": "s3://bucket/renders/r1/",
        "OutputS3Uri": "s3://bucket/outputs/r1.mp4",
        "Config": {"fps": 30, "width": 1920, "height": 1080, "format": "mp4", "chunkSize": 240}
    });
    if let Some(p) = protocol {
        i["PlanProtocol"] = p;
    }
    i
}

/// Runs scenarios (each `{definition, input, chunkCount, failStage?, failError?}`
/// with `definition` a JSON value) in one node process.
fn run(scenarios: Vec<Value>) -> Vec<Value> {
    let dir = Scratch::new("sfn");
    let mut files = Vec::new();
    let scenarios: Vec<Value> = scenarios
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            let path = dir.path(&format!("definition-{i}.json"));
            std::fs::write(&path, serde_json::to_vec(&s["definition"]).unwrap()).unwrap();
            s["definition"] = json!(path);
            files.push(path);
            s
        })
        .collect();
    let spec = dir.path("scenarios.json");
    std::fs::write(&spec, serde_json::to_vec(&scenarios).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sfn/run-sfn.mjs");
    let out = Command::new(node22())
        .arg(script)
        .arg(&spec)
        .env("HF_NODE_MODULES", npm_modules())
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "run-sfn failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("run-sfn prints JSON")
}

fn scenario(definition: &Value, input: Value, chunk_count: i64) -> Value {
    json!({"definition": definition, "input": input, "chunkCount": chunk_count})
}

fn calls<'a>(r: &'a Value, action: &str) -> Vec<&'a Value> {
    r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == action)
        .map(|c| &c["payload"])
        .collect()
}

#[test]
fn asl_validator_accepts_every_variant() {
    let dir = Scratch::new("asl");
    for (name, props) in variants() {
        let t = HyperframesRenderStack::new(props).synth().unwrap();
        let path = dir.path(&format!("{name}.json"));
        let text = serde_json::to_string(t.definition("RenderStateMachine").unwrap()).unwrap();
        std::fs::write(&path, text.replace("${RenderFunctionArn}", FUNCTION_ARN)).unwrap();
        let out = Command::new(node22())
            .arg(asl_validator())
            .arg("--json-path")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: asl-validator rejected the definition:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn asl_validator_catches_a_broken_graph() {
    // The checker must be able to fail: a dangling Next is rejected.
    let mut d = our_definition();
    d["States"]["BuildChunkList"]["Next"] = json!("Nowhere");
    let dir = Scratch::new("asl-broken");
    let path = dir.path("broken.json");
    std::fs::write(&path, serde_json::to_vec(&d).unwrap()).unwrap();
    let out = Command::new(node22())
        .arg(asl_validator())
        .arg("--json-path")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "asl-validator accepted a dangling Next"
    );
}

#[test]
fn routing_fan_out_and_failures() {
    let ours = our_definition();
    let reference = reference_definition();
    let results = run(vec![
        scenario(&ours, input(None), 3),
        scenario(&reference, input(None), 3),
        scenario(&ours, input(Some(json!("v1"))), 2),
        scenario(&ours, input(Some(json!("v2"))), 5),
        scenario(&ours, input(Some(json!("v3"))), 3),
        scenario(&ours, input(Some(json!(2))), 3),
        scenario(&ours, input(None), 0),
        scenario(&ours, input(None), 1001),
    ]);

    // An absent PlanProtocol runs the v2 path end to end.
    let absent = &results[0];
    assert_eq!(absent["status"], "SUCCEEDED", "{absent}");
    assert_eq!(calls(absent, "plan")[0]["PlanProtocol"], "v2");
    let chunks = calls(absent, "renderChunk");
    let mut indexes: Vec<i64> = chunks
        .iter()
        .map(|c| c["ChunkIndex"].as_i64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, vec![0, 1, 2]);
    assert!(chunks
        .iter()
        .all(|c| c["PlanProtocol"] == "v2" && c["PlanV2ManifestS3Uri"].is_string()));
    let assemble = calls(absent, "assemble");
    assert_eq!(assemble[0]["ChunkS3Uris"].as_array().unwrap().len(), 3);
    assert_eq!(assemble[0]["AudioS3Uri"], Value::Null);
    assert_eq!(
        absent["output"]["Output"]["OutputS3Uri"],
        "s3://bucket/outputs/r1.mp4"
    );

    // The reference definition fails the same execution: the bug we fix.
    assert_eq!(results[1]["status"], "FAILED");
    assert_eq!(results[1]["error"], "States.Runtime", "{}", results[1]);

    let v1 = &results[2];
    assert_eq!(v1["status"], "SUCCEEDED", "{v1}");
    assert_eq!(calls(v1, "plan")[0]["PlanProtocol"], "v1");
    assert_eq!(calls(v1, "renderChunk").len(), 2);
    assert!(calls(v1, "renderChunk")[0]["PlanS3Uri"].is_string());
    assert_eq!(
        calls(v1, "assemble")[0]["AudioS3Uri"],
        "s3://bucket/renders/r1/audio.aac"
    );

    assert_eq!(results[3]["status"], "SUCCEEDED");
    assert_eq!(calls(&results[3], "renderChunk").len(), 5);

    for unsupported in &results[4..6] {
        assert_eq!(unsupported["status"], "FAILED");
        assert_eq!(
            unsupported["error"], "PLAN_PROTOCOL_UNSUPPORTED",
            "{unsupported}"
        );
        assert!(unsupported["calls"].as_array().unwrap().is_empty());
    }
    for too_many_or_none in &results[6..8] {
        assert_eq!(too_many_or_none["status"], "FAILED");
        assert_eq!(
            too_many_or_none["error"], "PLAN_TOO_LARGE",
            "{too_many_or_none}"
        );
        assert!(calls(too_many_or_none, "renderChunk").is_empty());
    }
}

#[test]
fn the_estimated_transition_count_is_what_the_interpreter_enters() {
    use hyperframes_infra::contract::PlanProtocol;
    let ours = our_definition();
    let counts = [1i64, 3, 8];
    let results = run(counts
        .iter()
        .map(|&n| scenario(&ours, input(Some(json!("v2"))), n))
        .collect());
    for (n, r) in counts.iter().zip(&results) {
        assert_eq!(r["status"], "SUCCEEDED", "{r}");
        let entered = r["statesEntered"].as_array().unwrap();
        let chunk_states = entered.iter().filter(|s| *s == "RenderChunkV2").count();
        assert_eq!(chunk_states as i64, *n, "{entered:?}");
        let estimated =
            hyperframes_infra::transitions::for_render(*n as u32, PlanProtocol::V2).unwrap();
        assert_eq!(
            estimated,
            entered.len() as u64,
            "{n} chunks: the interpreter entered {entered:?}"
        );
    }
}

#[test]
fn each_stage_retries_exactly_what_the_contract_allows() {
    let ours = our_definition();
    let mut cases = Vec::new();
    for stage in Action::ALL {
        for error in ErrorName::ALL {
            cases.push((stage, error));
        }
    }
    let results = run(cases
        .iter()
        .map(|(stage, error)| {
            let mut s = scenario(&ours, input(None), 1);
            s["failStage"] = json!(stage.as_str());
            s["failError"] = json!(error.as_str());
            s
        })
        .collect());
    for ((stage, error), r) in cases.iter().zip(&results) {
        assert_eq!(r["status"], "FAILED", "{stage} {error}");
        let attempts = calls(r, stage.as_str()).len();
        let expected = if error.is_non_retryable_in(*stage) {
            1
        } else {
            5
        };
        assert_eq!(
            attempts, expected,
            "{stage} failing with {error}: {attempts} attempts"
        );
        assert_eq!(r["error"], error.as_str(), "{stage} {error}: {r}");
    }
}
